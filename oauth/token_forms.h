/* The forms we POST to a provider, each built in one place: the authorization-code grant
 * (RFC 6749 4.1.3 with RFC 7636's code_verifier), the refresh (RFC 6749 6), the revocation
 * (RFC 7009 2.1), and the device grant's two (RFC 8628 3.1 and 3.4).
 * application/x-www-form-urlencoded (RFC 6749 appendix B): every byte but RFC 3986's unreserved
 * ones is %XX, fields in the order written here. The client authenticates in the body
 * (client_secret_post); client_secret is sent only when one is configured (a public client sends
 * client_id alone). */
#ifndef POK_TOKEN_FORMS_H
#define POK_TOKEN_FORMS_H

#include "common/secret_memory.h"

/* The cap of every form: codes and tokens are at most a few KiB. */
#define FORM_MAX_BYTES (48 * 1024)

struct oauth_client {
    const char *client_id;
    const char *client_secret; /* NULL: a public client */
};

/* Each initialises form (capped at FORM_MAX_BYTES) and fills it; 0 on success, -1 when a
 * required value is missing or the form does not fit. The form holds secrets either way:
 * the caller wipes it with capped_buffer_wipe.
 *
 * grant_type=authorization_code&code=&redirect_uri=&client_id=[&client_secret=]&code_verifier= */
int token_form_authorization_code(struct capped_buffer *form, const struct oauth_client *client,
                                  const char *code, const char *redirect_uri,
                                  const char *code_verifier);

/* grant_type=refresh_token&refresh_token=&client_id=[&client_secret=] */
int token_form_refresh(struct capped_buffer *form, const struct oauth_client *client,
                       const char *refresh_token);

/* token=&token_type_hint=refresh_token&client_id=[&client_secret=] */
int token_form_revoke(struct capped_buffer *form, const struct oauth_client *client,
                      const char *refresh_token);

/* client_id=[&client_secret=][&scope=]: the device authorization request (RFC 8628 3.1; a
 * confidential client authenticates as at the token endpoint, RFC 6749 2.3.1). */
int token_form_device_authorization(struct capped_buffer *form, const struct oauth_client *client,
                                    const char *scope);

#define TOKEN_GRANT_DEVICE_CODE "urn:ietf:params:oauth:grant-type:device_code"

/* grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code=&client_id=
 * [&client_secret=]: one poll of the token endpoint (RFC 8628 3.4). */
int token_form_device_code(struct capped_buffer *form, const struct oauth_client *client,
                           const char *device_code);

#endif
