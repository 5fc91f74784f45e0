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

#endif
