/* PKCE (RFC 7636) with S256, and the random state value (RFC 6749 section 10.12). */
#ifndef POK_PKCE_H
#define POK_PKCE_H

#include <stddef.h>

#define PKCE_VERIFIER_BYTES 32 /* 43 characters once base64url-encoded */
#define STATE_BYTES 24

/* base64url without padding of count bytes; a new string (g_free-compatible, wipe first if
 * it is secret), NULL on failure. */
char *base64url_encode(const unsigned char *bytes, size_t count);

/* A fresh random value of count bytes from getrandom, base64url-encoded; NULL on failure. */
char *random_base64url(size_t count);

/* BASE64URL(SHA256(verifier)), the S256 code challenge; NULL on failure. */
char *pkce_challenge_s256(const char *verifier);

#endif
