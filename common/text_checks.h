/* The byte-level checks every parser here needs, in one place: what is a control byte, what
 * is a token character, how provider text is made safe to show, which Snyk hosts may receive
 * a code. Plain libc: the module uses them too. */
#ifndef POK_TEXT_CHECKS_H
#define POK_TEXT_CHECKS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Any byte below 0x20, or 0x7f, among length bytes (UTF-8 bytes are not control bytes). */
bool text_has_control_byte(const char *text, size_t length);

/* Every one of length bytes is printable ASCII, 0x20 to 0x7e (space allowed). */
bool text_is_printable(const char *text, size_t length);

/* Every one of length bytes is visible ASCII, 0x21 to 0x7e: codes and tokens. */
bool text_is_visible(const char *text, size_t length);

/* Copies text (NULL: "") into out, bounded, with every byte that is not printable ASCII
 * replaced by '?': for provider messages shown to users and written to logs. */
void text_copy_printable(char *out, size_t size, const char *text);

/* A QR code as the helper draws it (oauth/qr_text.h): lines of one width made only of the
 * half blocks U+2580, U+2584, U+2588 and spaces, joined by '\n', none empty, no '\n' at the
 * end. The only text other than printable ASCII that the module shows. */
bool text_is_block_drawing(const char *text, size_t length);

/* Room for the longest host snyk_instance_host accepts, and for its token URL. */
#define SNYK_HOST_MAX 253
#define SNYK_TOKEN_URL_MAX (sizeof("https://") + SNYK_HOST_MAX + sizeof("/oauth2/token"))

/* Snyk's instance= redirect parameter names the regional API host to spend a code at. The
 * host it names (a host or an https:// URL, any case, at most one trailing '/'), lower-cased
 * into host, when it is an api. host under snyk.io or snykgov.io - the hosts Snyk's own CLI
 * accepts; false otherwise (host is then empty). The one check, for helper and module. */
bool snyk_instance_host(const char *instance, char *host, size_t host_size);

/* https://<that host>/oauth2/token into url; false when snyk_instance_host refuses. */
bool snyk_instance_token_url(const char *instance, char *url, size_t url_size);

/* Where a code with Snyk's instance= goes (the module's login and the refresher's sign-in):
 * with the preset's token URL (token_url_from_preset), that region's, into chosen; with the
 * admin's, only when instance names its host (issue 11: the admin's choice stands), and then
 * chosen is empty (the configured URL itself, path and port included). 0, or -1 with why set
 * to a sentence for the user and the log (hosts named, nothing secret). */
int snyk_token_url_for_instance(const char *token_url, bool token_url_from_preset,
                                const char *instance, char *chosen, size_t chosen_size, char *why,
                                size_t why_size);

/* The one setter of a "why" message (for the log, the user, a reply): formats into why, cut
 * to why_size and always terminated (why may be NULL or why_size 0: nothing is written), and
 * returns -1, so that a failing path can end with `return text_set_why(...)`. A failure's text
 * is set through it directly (why, why_size) or through a setter that also records an outcome
 * and hands its format on with text_vset_why (refresh.c report_set, token_exchange.c
 * set_result, answer.c refuse, provider_config.c fail, https_transport.c set_failure). */
int text_set_why(char *why, size_t why_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
int text_vset_why(char *why, size_t why_size, const char *format, va_list arguments)
    __attribute__((format(printf, 3, 0)));

#endif
