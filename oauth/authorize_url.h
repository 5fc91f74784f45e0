/* The authorization request URL (RFC 6749 section 4.1.1 with RFC 7636 PKCE). */
#ifndef POK_AUTHORIZE_URL_H
#define POK_AUTHORIZE_URL_H

struct authorize_request {
    const char *authorize_url; /* the endpoint; may already carry a query */
    const char *client_id;
    const char *redirect_uri;
    const char *scope; /* NULL: none sent */
    const char *state;
    const char *code_challenge;
};

/* A new string (g_free) with every parameter percent-encoded; NULL on failure. */
char *authorize_url_build(const struct authorize_request *request);

/* One sign-in's secrets and the URL that starts it: the login helper's "authorize" and the
 * refresher's sign-in both begin here. */
struct authorization {
    char *url;
    char *verifier; /* secret: wiped by authorization_clear */
    char *state;
};

/* A fresh PKCE verifier (S256) and state from getrandom, and the URL with request's endpoint,
 * client, redirect and scope (its state and code_challenge are ignored). 0, or -1 with
 * nothing to clear. */
int authorization_begin(const struct authorize_request *request,
                        struct authorization *authorization);
void authorization_clear(struct authorization *authorization);

#endif
