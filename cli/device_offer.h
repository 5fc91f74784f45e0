/* A device sign-in (RFC 8628) as oauth-keyring shows it: what the refresher's replies to
 * "sign-in" (a device sign-in) and "device-status" say about it, and its lines in the shape
 * the module prints at a login's prompt (pam_module/login_flow.c show_device_offer), so that
 * one reader takes both (tests/device_user.py --show-from). */
#ifndef POK_CLI_DEVICE_OFFER_H
#define POK_CLI_DEVICE_OFFER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/protocol.h"

/* Nothing in it is secret: the device code stays in the refresher. */
struct device_offer {
    char *name;                      /* the sign-in's, for "sign-in-wait" */
    char *user_code;                 /* what the user types on the phone */
    char *verification_uri;          /* where they type it */
    char *verification_uri_complete; /* the address with the code in it; NULL when not given */
    long long expires_at;            /* Unix seconds: the provider forgets the code then */
};

/* 0 when reply, an "ok" to "sign-in" or "device-status", describes a device sign-in (a name,
 * a user code, a verification address, an expiry); offer then holds copies. -1 otherwise
 * (a browser sign-in, none waiting), offer empty. Clear it with device_offer_clear either way. */
int device_offer_take(const struct protocol_message *reply, struct device_offer *offer);

void device_offer_clear(struct device_offer *offer);

/* The device sign-in the service's refresher polls for, asked with "device-status" within
 * timeout_ms: 1 when one waits (offer filled), 0 when none does, -1 when the refresher gave
 * no usable answer. */
int device_offer_ask_waiting(const char *service, long timeout_ms, struct device_offer *offer);

/* The complete address when the provider gave one (the code is in it: a phone's camera needs
 * nothing else), else the verification address. */
const char *device_offer_complete_address(const struct device_offer *offer);

/* "HOST[:PORT]" of the verification address, into host: the page the code belongs on. */
void device_offer_host(const struct device_offer *offer, char *host, size_t size);

/* The expiry as the local "HH:MM", into out. */
void device_offer_until(const struct device_offer *offer, char *out, size_t size);

/* On stdout: "To sign in to SERVICE, approve ..." then the "open" and "code" lines, and with
 * qr the QR code of the complete address. */
void device_offer_print(const struct device_offer *offer, const char *service, bool qr);

#endif
