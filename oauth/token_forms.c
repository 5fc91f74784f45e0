#include "config.h"

#include "oauth/token_forms.h"

#include <glib.h>
#include <string.h>

/* RFC 3986 unreserved characters stay, everything else is %XX: what the form encoding of
 * RFC 6749 appendix B needs. */
static int append_escaped(struct capped_buffer *form, const char *text)
{
    char *escaped = g_uri_escape_string(text, NULL, FALSE);
    int rv;

    if (escaped == NULL)
        return -1;
    rv = capped_buffer_append_string(form, escaped);
    secret_wipe(escaped, strlen(escaped));
    g_free(escaped);
    return rv;
}

/* Appends name=value, both percent-encoded. */
static int form_append(struct capped_buffer *form, const char *name, const char *value)
{
    int rv = 0;

    if (form->length > 0)
        rv |= capped_buffer_append_string(form, "&");
    rv |= append_escaped(form, name);
    rv |= capped_buffer_append_string(form, "=");
    rv |= append_escaped(form, value);
    return rv == 0 ? 0 : -1;
}

/* The client's own fields, which end the refresh and revoke forms. */
static int append_client(struct capped_buffer *form, const struct oauth_client *client)
{
    int rv = form_append(form, "client_id", client->client_id);

    if (client->client_secret != NULL)
        rv |= form_append(form, "client_secret", client->client_secret);
    return rv;
}

int token_form_authorization_code(struct capped_buffer *form, const struct oauth_client *client,
                                  const char *code, const char *redirect_uri,
                                  const char *code_verifier)
{
    int rv = capped_buffer_init(form, FORM_MAX_BYTES);

    if (rv != 0 || code == NULL || redirect_uri == NULL || code_verifier == NULL ||
        client->client_id == NULL)
        return -1;
    rv |= form_append(form, "grant_type", "authorization_code");
    rv |= form_append(form, "code", code);
    rv |= form_append(form, "redirect_uri", redirect_uri);
    rv |= append_client(form, client);
    rv |= form_append(form, "code_verifier", code_verifier);
    return rv == 0 ? 0 : -1;
}

int token_form_refresh(struct capped_buffer *form, const struct oauth_client *client,
                       const char *refresh_token)
{
    int rv = capped_buffer_init(form, FORM_MAX_BYTES);

    if (rv != 0 || refresh_token == NULL || client->client_id == NULL)
        return -1;
    rv |= form_append(form, "grant_type", "refresh_token");
    rv |= form_append(form, "refresh_token", refresh_token);
    rv |= append_client(form, client);
    return rv == 0 ? 0 : -1;
}

int token_form_revoke(struct capped_buffer *form, const struct oauth_client *client,
                      const char *refresh_token)
{
    int rv = capped_buffer_init(form, FORM_MAX_BYTES);

    if (rv != 0 || refresh_token == NULL || client->client_id == NULL)
        return -1;
    rv |= form_append(form, "token", refresh_token);
    rv |= form_append(form, "token_type_hint", "refresh_token");
    rv |= append_client(form, client);
    return rv == 0 ? 0 : -1;
}

int token_form_device_authorization(struct capped_buffer *form, const struct oauth_client *client,
                                    const char *scope)
{
    int rv = capped_buffer_init(form, FORM_MAX_BYTES);

    if (rv != 0 || client->client_id == NULL)
        return -1;
    rv |= append_client(form, client);
    if (scope != NULL)
        rv |= form_append(form, "scope", scope);
    return rv == 0 ? 0 : -1;
}

int token_form_device_code(struct capped_buffer *form, const struct oauth_client *client,
                           const char *device_code)
{
    int rv = capped_buffer_init(form, FORM_MAX_BYTES);

    if (rv != 0 || device_code == NULL || client->client_id == NULL)
        return -1;
    rv |= form_append(form, "grant_type", TOKEN_GRANT_DEVICE_CODE);
    rv |= form_append(form, "device_code", device_code);
    rv |= append_client(form, client);
    return rv == 0 ? 0 : -1;
}
