#include "config.h"

#include "oauth/pkce.h"

#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/random.h>

#include "common/secret_memory.h"

char *base64url_encode(const unsigned char *bytes, size_t count)
{
    char *encoded = g_base64_encode(bytes, count);
    size_t length;

    if (encoded == NULL)
        return NULL;
    /* base64 to base64url (RFC 4648 section 5): two letters differ, no padding. */
    for (char *p = encoded; *p != '\0'; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
    }
    length = strlen(encoded);
    while (length > 0 && encoded[length - 1] == '=')
        encoded[--length] = '\0';
    return encoded;
}

static int fill_random(unsigned char *bytes, size_t count)
{
    size_t filled = 0;

    while (filled < count) {
        ssize_t got = getrandom(bytes + filled, count - filled, 0);
        if (got < 0 && errno != EINTR)
            return -1;
        if (got > 0)
            filled += (size_t)got;
    }
    return 0;
}

char *random_base64url(size_t count)
{
    unsigned char bytes[64];
    char *encoded = NULL;

    if (count <= sizeof(bytes) && fill_random(bytes, count) == 0)
        encoded = base64url_encode(bytes, count);
    secret_wipe(bytes, sizeof(bytes));
    return encoded;
}

char *pkce_challenge_s256(const char *verifier)
{
    guint8 digest[32];
    gsize digest_length = sizeof(digest);
    GChecksum *checksum = g_checksum_new(G_CHECKSUM_SHA256);
    char *challenge = NULL;

    if (checksum == NULL)
        return NULL;
    g_checksum_update(checksum, (const guchar *)verifier, (gssize)strlen(verifier));
    g_checksum_get_digest(checksum, digest, &digest_length);
    /* GChecksum does not wipe its block buffer on free; the verifier it saw is sent to the
     * provider moments later by this short-lived, non-dumpable process anyway. */
    g_checksum_free(checksum);
    if (digest_length == sizeof(digest))
        challenge = base64url_encode(digest, digest_length);
    secret_wipe(digest, sizeof(digest));
    return challenge;
}
