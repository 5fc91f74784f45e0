/* The https transport: libcurl, built as a loadable module (pam_oauth_keyring_https.so)
 * beside the helper. Only a process that actually talks to the provider loads it, so the
 * valid-token paths (a session hook, `oauth-keyring token`) and an idle refresher never map
 * libcurl and the ~30 libraries it brings (TLS stacks, Kerberos, LDAP): those cost about
 * 9 ms of start-up per process and 5 MiB of resident memory (docs/PERFORMANCE.md). */
#ifndef POK_HTTPS_TRANSPORT_H
#define POK_HTTPS_TRANSPORT_H

#include <stdbool.h>

#include "common/secret_memory.h"
#include "oauth/retry_after.h"
#include "oauth/token_exchange.h"

/* Bumped whenever the structures below change: the helper refuses a module built from
 * other sources (say, half-way through a package upgrade) instead of misreading it. */
#define HTTPS_TRANSPORT_ABI 3
#define HTTPS_TRANSPORT_MODULE "pam_oauth_keyring_https.so"

struct https_request {
    const char *url; /* must be https:// */
    const char *ca_file;
    long timeout_ms;                  /* bounds connect, TLS, request and answer together */
    const struct capped_buffer *form; /* NULL: a GET (oauth-keyring check's look at the
                                       * authorization endpoint), else a POST of it */
    const char *endpoint;             /* names it in failure messages; NULL: "the token endpoint" */
};

struct https_answer {
    bool completed; /* an HTTP answer arrived; if not, failure says why */
    long status;
    bool json_content; /* Content-Type: application/json */
    /* The one Retry-After header of the answer, as sent; empty when there was none, more
     * than one, or one longer than RETRY_AFTER_VALUE_MAX (oauth/retry_after.h parses it). */
    char retry_after[RETRY_AFTER_VALUE_MAX + 1];
    struct capped_buffer body;
    enum exchange_outcome failure;
    char failure_reason[48];
    char failure_message[320];
};

/* The module's two exports (looked up by these names). */
typedef int https_transport_abi_function(void);
typedef void https_post_form_function(const struct https_request *request,
                                      struct https_answer *answer);
#define HTTPS_TRANSPORT_ABI_SYMBOL "pok_https_transport_abi"
#define HTTPS_POST_FORM_SYMBOL "pok_https_post_form"

#define HTTPS_TRANSPORT_EXPORT __attribute__((visibility("default")))
HTTPS_TRANSPORT_EXPORT int pok_https_transport_abi(void);
HTTPS_TRANSPORT_EXPORT void pok_https_post_form(const struct https_request *request,
                                                struct https_answer *answer);

#endif
