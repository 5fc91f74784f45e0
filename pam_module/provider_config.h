/* The configuration file: GKeyFile/INI syntax, one group per provider.
 *
 * Parsed by the module (as root) because it holds the client secret, which the user must not
 * be able to read. Plain libc: the module links nothing but libpam and libc. */
#ifndef POK_PROVIDER_CONFIG_H
#define POK_PROVIDER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CONFIG_MAX_FILE_SIZE (64 * 1024)
#define CONFIG_DEFAULT_TIMEOUT 10
#define CONFIG_MAX_TIMEOUT 120
#define CONFIG_DEFAULT_REFRESH_MARGIN 300
#define CONFIG_MAX_REFRESH_MARGIN 86400

/* How users sign in (key sign_in): the browser's authorization code (RFC 6749 4.1, the
 * default), the device grant (RFC 8628: a code approved on another device), or both offered
 * at the prompt. */
enum provider_sign_in { SIGN_IN_BROWSER, SIGN_IN_DEVICE, SIGN_IN_BOTH };

struct provider_config {
    char *name;         /* the group's name */
    char *preset;       /* "snyk" or NULL */
    char *region;       /* Snyk region when preset = snyk */
    char *display_name; /* for labels and messages: "Snyk" or the group's name */
    char *authorize_url;
    char *token_url;
    char *revoke_url;
    char *client_id;
    char *client_secret; /* secret: wiped by provider_config_clear */
    char *redirect_uri;
    char *scope;
    char *issuer;
    char *ca_file;
    char *keyring_service;          /* default: the group's name */
    char *device_authorization_url; /* RFC 8628 3.1; NULL: none, or from discovery */
    char *sign_in_text;             /* the sign_in key as written; NULL: not set */
    enum provider_sign_in sign_in;
    long timeout;               /* seconds for one exchange */
    long refresh_margin;        /* refresh when less than this many seconds are left */
    bool token_url_from_preset; /* the Snyk preset chose token_url: instance= may move it */
    /* issuer without authorize_url or token_url: the user's helper and refresher take the
     * missing endpoints from the issuer's metadata (oauth/discovery.h); explicit keys stand */
    bool discover;
};

struct config_error {
    char message[512];
    bool world_readable; /* a warning, not an error: the file is readable by others */
    char warning[256];   /* a warning about the group, for the log; empty when none */
};

/* Checks the opened file (regular, owned by root - or by the caller itself when the module
 * does not run as root - and not writable by group or others), parses it and fills config
 * for provider (NULL: the only group). 0 on success; -1 with error->message naming the file,
 * line and key. */
int provider_config_load(const char *path, const char *provider, struct provider_config *config,
                         struct config_error *error);

/* The same from bytes already read, for tests and fuzzing; path only names the source. */
int provider_config_parse(const char *path, const char *text, size_t length, const char *provider,
                          struct provider_config *config, struct config_error *error);

/* The names of the file's groups, in file order, for `oauth-keyring check`, which checks
 * each of them: at most max_names, each a new string the caller frees. 0 with *count set;
 * -1 with error->message when the text does not parse. */
int provider_config_group_names(const char *path, const char *text, size_t length, char **names,
                                size_t max_names, size_t *count, struct config_error *error);

/* Frees every string; the client secret is wiped first. Safe on a zeroed or cleared struct. */
void provider_config_clear(struct provider_config *config);

/* Whether the provider's sign-in uses the browser, and the device grant. */
bool provider_uses_browser(const struct provider_config *config);
bool provider_uses_device(const struct provider_config *config);

/* Whether a URL is acceptable for an endpoint: https, a host, no space or control byte. */
bool provider_url_is_https(const char *url);

/* Where this login's code is spent: always derived here, from the configuration, never taken
 * from the helper. instance is Snyk's instance= from the pasted address (NULL: none); it
 * counts only with the Snyk preset, and must pass snyk_instance_host (common/text_checks.h).
 * When the preset chose token_url, an instance moves it to that region's API host; when the
 * admin set token_url, an instance must name its host. 0 with a new string in *token_url
 * (NULL with discovery and no token_url: the helper takes it from the issuer's metadata);
 * -1 with why set to a sentence for the user and the log (hosts named, nothing secret). */
int provider_token_url_for_login(const struct provider_config *config, const char *instance,
                                 char **token_url, char *why, size_t why_size);

#endif
