#include "config.h"

#include "cli/desktop_signin.h"

#include <gio/gio.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

/* A notification server answers at once; one that hangs must not hold the sign-in back. */
#define NOTIFY_TIMEOUT_MS 3000
#define NOTIFY_TEXT_MAX 512

bool desktop_signin_turned_off(void)
{
    static const char *const no[] = {"no", "false", "off", "0"};
    const char *value = getenv("OAUTH_KEYRING_DESKTOP_SIGNIN");

    for (size_t i = 0; value != NULL && i < sizeof(no) / sizeof(no[0]); i++) {
        if (strcasecmp(value, no[i]) == 0)
            return true;
    }
    return false;
}

/* The host the browser is sent to: what the user can check in its address bar. */
static char *url_host(const char *url)
{
    GUri *uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
    char *host = uri != NULL && g_uri_get_host(uri) != NULL ? g_strdup(g_uri_get_host(uri)) : NULL;

    if (uri != NULL)
        g_uri_unref(uri);
    return host != NULL ? host : g_strdup("the provider's sign-in page");
}

/* One Notify call: (app_name, replaces_id, app_icon, summary, body, actions, hints,
 * expire_timeout) -> (id). The body is escaped: servers may read it as markup. */
static int notify(GDBusConnection *bus, const char *summary, const char *body)
{
    static const char *const no_actions[] = {NULL};
    char *escaped = g_markup_escape_text(body, -1);
    GVariantBuilder hints;
    GVariant *reply;
    GError *error = NULL;

    g_variant_builder_init(&hints, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&hints, "{sv}", "urgency", g_variant_new_byte(1));
    g_variant_builder_add(&hints, "{sv}", "desktop-entry",
                          g_variant_new_string("oauth-keyring-login"));
    reply = g_dbus_connection_call_sync(
        bus, "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
        "org.freedesktop.Notifications", "Notify",
        g_variant_new("(susss^asa{sv}i)", "oauth-keyring", 0u, "dialog-password", summary, escaped,
                      no_actions, &hints, -1),
        G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, NOTIFY_TIMEOUT_MS, NULL, &error);
    g_free(escaped);
    g_clear_error(&error);
    if (reply == NULL)
        return -1;
    g_variant_unref(reply);
    return 0;
}

/* One notification on the session bus; -1 when no server took it. */
static int notify_on_session_bus(const char *summary, const char *body)
{
    GDBusConnection *bus = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, NULL);
    int rv = bus != NULL ? notify(bus, summary, body) : -1;

    if (bus != NULL)
        g_object_unref(bus);
    return rv;
}

int desktop_notify_signin(const char *service, const char *url)
{
    char *host = url_host(url);
    char summary[NOTIFY_TEXT_MAX], body[NOTIFY_TEXT_MAX];
    int rv;

    snprintf(summary, sizeof(summary), "Sign in to keep your %s token", service);
    snprintf(body, sizeof(body),
             "Your browser opens %s now. Sign in there; the token is then kept in your keyring "
             "for your tools.",
             host);
    rv = notify_on_session_bus(summary, body);
    g_free(host);
    return rv;
}

int desktop_notify_use_terminal(const char *service)
{
    char summary[NOTIFY_TEXT_MAX], body[NOTIFY_TEXT_MAX];

    snprintf(summary, sizeof(summary), "Sign in to keep your %s token", service);
    snprintf(body, sizeof(body),
             "The sign-in cannot come back to this computer now. Run oauth-keyring login in a "
             "terminal and paste the address the browser ends on.");
    return notify_on_session_bus(summary, body);
}

int desktop_notify_device(const char *service, const struct device_offer *offer)
{
    char summary[NOTIFY_TEXT_MAX], body[NOTIFY_TEXT_MAX * 2], host[256], until[16];

    device_offer_host(offer, host, sizeof(host));
    device_offer_until(offer, until, sizeof(until));
    snprintf(summary, sizeof(summary), "Approve the sign-in to keep your %s token", service);
    snprintf(body, sizeof(body),
             "On your phone or another computer, open %s and enter the code %s (only on a page "
             "of %s), until %s. The token is then kept in your keyring for your tools.",
             offer->verification_uri, offer->user_code, host, until);
    return notify_on_session_bus(summary, body);
}
