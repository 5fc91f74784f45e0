#include "config.h"

#include "cli/device_offer.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/refresher_client.h"
#include "common/protocol_table.h"
#include "common/secret_memory.h"
#include "common/text_checks.h"
#include "oauth/qr_text.h"

#define QR_MAX_BYTES (64 * 1024)

/* A copy of field's value when it is visible ASCII (codes and addresses: nothing a terminal
 * would take as a control sequence, even from a provider that sent one); else NULL. */
static char *visible_copy(const struct protocol_message *reply, enum protocol_field_id field)
{
    const char *value = protocol_get(reply, field);

    return value != NULL && text_is_visible(value, strlen(value)) ? g_strdup(value) : NULL;
}

int device_offer_take(const struct protocol_message *reply, struct device_offer *offer)
{
    const char *expires_at = protocol_get(reply, FIELD_EXPIRES_AT);

    memset(offer, 0, sizeof(*offer));
    if (strcmp(reply->command, "ok") != 0 || expires_at == NULL)
        return -1;
    offer->name = visible_copy(reply, FIELD_SIGN_IN);
    offer->user_code = visible_copy(reply, FIELD_USER_CODE);
    offer->verification_uri = visible_copy(reply, FIELD_VERIFICATION_URI);
    offer->verification_uri_complete = visible_copy(reply, FIELD_VERIFICATION_URI_COMPLETE);
    offer->expires_at = strtoll(expires_at, NULL, 10);
    if (offer->name != NULL && offer->user_code != NULL && offer->verification_uri != NULL)
        return 0;
    device_offer_clear(offer);
    return -1;
}

void device_offer_clear(struct device_offer *offer)
{
    g_free(offer->name);
    g_free(offer->user_code);
    g_free(offer->verification_uri);
    g_free(offer->verification_uri_complete);
    memset(offer, 0, sizeof(*offer));
}

int device_offer_ask_waiting(const char *service, long timeout_ms, struct device_offer *offer)
{
    struct protocol_message request, reply;
    int rv = -1;

    memset(&request, 0, sizeof(request));
    memset(&reply, 0, sizeof(reply));
    memset(offer, 0, sizeof(*offer));
    if (protocol_request_init(&request, REQUEST_SOCKET_DEVICE_STATUS) == 0 &&
        refresher_call(service, &request, timeout_ms, &reply) == 0 &&
        strcmp(reply.command, "ok") == 0)
        rv = device_offer_take(&reply, offer) == 0 ? 1 : 0;
    protocol_message_clear(&request);
    protocol_message_clear(&reply);
    return rv;
}

const char *device_offer_complete_address(const struct device_offer *offer)
{
    return offer->verification_uri_complete != NULL ? offer->verification_uri_complete
                                                    : offer->verification_uri;
}

/* As the module's address_host: what follows "https://" up to the path. */
void device_offer_host(const struct device_offer *offer, char *host, size_t size)
{
    const char *address = offer->verification_uri;
    const char *start = strncmp(address, "https://", 8) == 0 ? address + 8 : address;
    size_t length = strcspn(start, "/?#");

    snprintf(host, size, "%.*s", (int)(length < size ? length : size - 1), start);
}

void device_offer_until(const struct device_offer *offer, char *out, size_t size)
{
    time_t expires_at = (time_t)offer->expires_at;
    struct tm local;

    if (size > 0)
        out[0] = '\0';
    if (localtime_r(&expires_at, &local) != NULL)
        strftime(out, size, "%H:%M", &local);
}

void device_offer_print(const struct device_offer *offer, const char *service, bool qr)
{
    char host[256];
    char *drawing = qr ? qr_text_render(device_offer_complete_address(offer), QR_MAX_BYTES) : NULL;

    device_offer_host(offer, host, sizeof(host));
    printf("To sign in to %s, approve this sign-in on your phone or another computer:\n"
           "  open   %s\n"
           "  code   %s   (only on a page of %s)\n",
           service, offer->verification_uri, offer->user_code, host);
    if (drawing != NULL)
        printf("%s\n", drawing);
    else if (qr)
        fprintf(stderr, "oauth-keyring: the address is too long for a QR code\n");
    fflush(stdout);
    secret_free_string(&drawing);
}
