#include "config.h"

#include "pam_module/module_options.h"

#include <errno.h>
#include <security/pam_ext.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#if !defined(POK_DEFAULT_CONFIG) || !defined(POK_STATE_DIR)
#error "POK_DEFAULT_CONFIG and POK_STATE_DIR must be defined by the build"
#endif

/* When argument is "prefix...", points *target at the rest and says so. */
static bool take_value(const char *argument, const char *prefix, const char **target)
{
    size_t length = strlen(prefix);

    if (strncmp(argument, prefix, length) != 0)
        return false;
    *target = argument + length;
    return true;
}

/* A boolean argument: the name alone, or "name=value"; points *value at the value ("yes"
 * for the name alone) and says so. */
static bool take_flag(const char *argument, const char *name, const char **value)
{
    size_t length = strlen(name);

    if (strncmp(argument, name, length) != 0 ||
        (argument[length] != '\0' && argument[length] != '='))
        return false;
    *value = argument[length] == '=' ? argument + length + 1 : "yes";
    return true;
}

/* yes/no, true/false, on/off, 1/0 in any case; anything else is logged and the value kept. */
static void parse_boolean(pam_handle_t *pamh, const char *name, const char *text, bool *target)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *target = true;
            return;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *target = false;
            return;
        }
    }
    pam_syslog(pamh, LOG_ERR, "invalid %s=%s (yes, no, true, false, on, off, 1 or 0), keeping %s",
               name, text, *target ? "yes" : "no");
}

static void parse_minimum_uid(pam_handle_t *pamh, const char *text, struct module_options *options)
{
    char *end = NULL;
    unsigned long value;

    errno = 0;
    value = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value > (uid_t)-2)
        pam_syslog(pamh, LOG_ERR, "invalid minimum_uid=%s, keeping %u", text,
                   (unsigned)options->minimum_uid);
    else
        options->minimum_uid = (uid_t)value;
}

static void parse_prompt(pam_handle_t *pamh, const char *text, struct module_options *options)
{
    static const char *const names[] = {
        [PROMPT_MISSING] = "missing", [PROMPT_ALWAYS] = "always", [PROMPT_NEVER] = "never"};

    if (strcmp(text, "missing") == 0)
        options->prompt = PROMPT_MISSING;
    else if (strcmp(text, "always") == 0)
        options->prompt = PROMPT_ALWAYS;
    else if (strcmp(text, "never") == 0)
        options->prompt = PROMPT_NEVER;
    else /* the value kept: the default, or an earlier prompt= */
        pam_syslog(pamh, LOG_ERR, "invalid prompt=%s (missing, always or never), keeping %s", text,
                   names[options->prompt]);
}

void module_options_parse(pam_handle_t *pamh, int argc, const char **argv,
                          struct module_options *options)
{
    options->config_path = POK_DEFAULT_CONFIG;
    options->provider = NULL;
    options->only_if = NULL;
    options->state_dir = POK_STATE_DIR;
    options->prompt = PROMPT_MISSING;
    options->start_refresher = true;
    options->minimum_uid = OPTIONS_DEFAULT_MINIMUM_UID;
    options->debug = false;
    options->show_qr = false;
    options->desktop_signin = true;
    for (int i = 0; i < argc; i++) {
        const char *minimum_uid = NULL, *prompt = NULL, *refresher = NULL, *qr = NULL,
                   *debug = NULL, *desktop_signin = NULL;
        bool known = take_flag(argv[i], "debug", &debug) || take_flag(argv[i], "qr", &qr) ||
                     take_flag(argv[i], "refresher", &refresher) ||
                     take_flag(argv[i], "desktop_signin", &desktop_signin) ||
                     take_value(argv[i], "config=", &options->config_path) ||
                     take_value(argv[i], "provider=", &options->provider) ||
                     take_value(argv[i], "only_if=", &options->only_if) ||
                     take_value(argv[i], "minimum_uid=", &minimum_uid) ||
                     take_value(argv[i], "prompt=", &prompt) ||
                     take_value(argv[i], "state_dir=", &options->state_dir);
        if (!known)
            pam_syslog(pamh, LOG_ERR, "unknown module argument: %s", argv[i]);
        if (minimum_uid != NULL)
            parse_minimum_uid(pamh, minimum_uid, options);
        if (prompt != NULL)
            parse_prompt(pamh, prompt, options);
        if (debug != NULL)
            parse_boolean(pamh, "debug", debug, &options->debug);
        if (qr != NULL)
            parse_boolean(pamh, "qr", qr, &options->show_qr);
        if (refresher != NULL)
            parse_boolean(pamh, "refresher", refresher, &options->start_refresher);
        if (desktop_signin != NULL)
            parse_boolean(pamh, "desktop_signin", desktop_signin, &options->desktop_signin);
    }
}

bool module_options_serves(const struct module_options *options, const char *service)
{
    const char *position = options->only_if;
    size_t length;

    if (position == NULL)
        return true;
    if (service == NULL)
        return false;
    length = strlen(service);
    while (*position != '\0') {
        size_t item = strcspn(position, ",");
        if (item == length && strncmp(position, service, length) == 0)
            return true;
        position += item;
        if (*position == ',')
            position++;
    }
    return false;
}
