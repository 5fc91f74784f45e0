#include "config.h"

#include "pam_module/provider_config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secret_memory.h"
#include "common/text_checks.h"

#define CONFIG_MAX_ENTRIES 256
#define CONFIG_MAX_VALUE 4096
/* The most of a key an error message quotes: longer than any known key. */
#define CONFIG_KEY_SHOWN_MAX 24

/* One "key = value" line of the file, decoded, with where it came from. */
struct config_entry {
    const char *group; /* points into parsed_file.groups */
    char *key;
    char *value;
    unsigned line;
};

/* A [name] line: every error about the group as a whole names this line. */
struct config_group {
    char *name;
    unsigned line;
};

struct parsed_file {
    const char *path;
    struct config_entry entries[CONFIG_MAX_ENTRIES];
    size_t entry_count;
    struct config_group groups[CONFIG_MAX_ENTRIES];
    size_t group_count;
};

struct snyk_region {
    const char *name;
    const char *app_host;
    const char *api_host;
};

/* From Snyk's documentation of its regions (docs/ and shared reference). */
static const struct snyk_region snyk_regions[] = {
    {"SNYK-US-01", "app.snyk.io", "api.snyk.io"},
    {"SNYK-US-02", "app.us.snyk.io", "api.us.snyk.io"},
    {"SNYK-EU-01", "app.eu.snyk.io", "api.eu.snyk.io"},
    {"SNYK-AU-01", "app.au.snyk.io", "api.au.snyk.io"},
    {"SNYK-GOV-01", "app.snykgov.io", "api.snykgov.io"},
};

enum value_kind { VALUE_TEXT, VALUE_HTTPS_URL, VALUE_SECONDS };

struct key_spec {
    const char *key;
    size_t offset;
    enum value_kind kind;
};

#define FIELD(name) offsetof(struct provider_config, name)
static const struct key_spec key_specs[] = {
    {"preset", FIELD(preset), VALUE_TEXT},
    {"region", FIELD(region), VALUE_TEXT},
    {"authorize_url", FIELD(authorize_url), VALUE_HTTPS_URL},
    {"token_url", FIELD(token_url), VALUE_HTTPS_URL},
    {"revoke_url", FIELD(revoke_url), VALUE_HTTPS_URL},
    {"client_id", FIELD(client_id), VALUE_TEXT},
    {"client_secret", FIELD(client_secret), VALUE_TEXT},
    {"redirect_uri", FIELD(redirect_uri), VALUE_TEXT},
    {"scope", FIELD(scope), VALUE_TEXT},
    {"issuer", FIELD(issuer), VALUE_TEXT},
    {"ca_file", FIELD(ca_file), VALUE_TEXT},
    {"keyring_service", FIELD(keyring_service), VALUE_TEXT},
    {"timeout", FIELD(timeout), VALUE_SECONDS},
    {"refresh_margin", FIELD(refresh_margin), VALUE_SECONDS},
    {"device_authorization_url", FIELD(device_authorization_url), VALUE_HTTPS_URL},
    {"sign_in", FIELD(sign_in_text), VALUE_TEXT},
};
#define KEY_SPEC_COUNT (sizeof(key_specs) / sizeof(key_specs[0]))

/* Building the chosen group's configuration: where it and each of its keys were set. */
struct provider_build {
    const char *path;
    const struct config_group *group;
    unsigned key_lines[KEY_SPEC_COUNT]; /* 0: the key is not set */
    bool check_files;                   /* provider_config_load: check the files keys name */
};

static int fail(struct config_error *error, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct config_error *error, const char *format, ...)
{
    va_list arguments;

    va_start(arguments, format);
    text_vset_why(error->message, sizeof(error->message), format, arguments);
    va_end(arguments);
    return -1;
}

static void parsed_file_clear(struct parsed_file *file)
{
    for (size_t i = 0; i < file->entry_count; i++) {
        free(file->entries[i].key);
        secret_free_string(&file->entries[i].value);
    }
    for (size_t i = 0; i < file->group_count; i++)
        free(file->groups[i].name);
    file->entry_count = 0;
    file->group_count = 0;
}

static void trim(const char **start, const char **end)
{
    while (*start < *end && (**start == ' ' || **start == '\t'))
        (*start)++;
    while (*end > *start && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r'))
        (*end)--;
}

/* The byte a GKeyFile escape stands for, or -1 for an escape GKeyFile does not know. */
static int unescape(char escaped)
{
    switch (escaped) {
    case 's':
        return ' ';
    case 'n':
        return '\n';
    case 't':
        return '\t';
    case 'r':
        return '\r';
    case '\\':
        return '\\';
    default:
        return -1;
    }
}

/* Decodes GKeyFile's escapes (\s \n \t \r \\) into a new string; NULL on a bad escape. */
static char *decode_value(const char *start, const char *end)
{
    char *decoded = calloc(1, (size_t)(end - start) + 1);
    size_t out = 0;

    for (const char *p = start; decoded != NULL && p < end; p++) {
        int c = (unsigned char)*p;
        if (c == '\\') {
            c = p + 1 < end ? unescape(p[1]) : -1;
            if (c < 0) {
                secret_free_string(&decoded);
                break;
            }
            p++;
        }
        decoded[out++] = (char)c;
    }
    return decoded;
}

static int add_group(struct parsed_file *file, unsigned line, const char *start, const char *end,
                     struct config_error *error)
{
    size_t length = (size_t)(end - start);

    if (length == 0 || length > 64 || text_has_control_byte(start, length) ||
        memchr(start, '[', length) != NULL || memchr(start, '/', length) != NULL)
        return fail(error, "%s:%u: invalid group name", file->path, line);
    for (size_t i = 0; i < file->group_count; i++) {
        if (strlen(file->groups[i].name) == length &&
            memcmp(file->groups[i].name, start, length) == 0)
            return fail(error, "%s:%u: group [%.*s] appears twice", file->path, line, (int)length,
                        start);
    }
    if (file->group_count >= CONFIG_MAX_ENTRIES)
        return fail(error, "%s:%u: too many groups", file->path, line);
    file->groups[file->group_count].name = secret_strndup(start, length);
    file->groups[file->group_count].line = line;
    if (file->groups[file->group_count].name == NULL)
        return fail(error, "%s: out of memory", file->path);
    file->group_count++;
    return 0;
}

static bool is_key_byte(char c)
{
    return (c >= 'a' && c <= 'z') || c == '_';
}

static const struct key_spec *find_key_spec(const char *key, size_t length)
{
    for (size_t i = 0; i < KEY_SPEC_COUNT; i++) {
        if (strlen(key_specs[i].key) == length && memcmp(key_specs[i].key, key, length) == 0)
            return &key_specs[i];
    }
    return NULL;
}

/* A line that is not "key = value" may be a value on a line of its own, or with its '='
 * mistyped: a client secret. Its text is never quoted; only a known key it starts with. */
static int refuse_line(const struct parsed_file *file, unsigned line, const char *start,
                       const char *end, struct config_error *error)
{
    size_t length = 0;

    while (start + length < end && is_key_byte(start[length]))
        length++;
    if (find_key_spec(start, length) == NULL)
        return fail(error, "%s:%u: not a \"key = value\" line (keys are a-z and _)", file->path,
                    line);
    return fail(error, "%s:%u: not a \"key = value\" line (key '%.*s')", file->path, line,
                (int)length, start);
}

/* Keys are made of a-z and _, like every key the module knows; anything else is refused. */
static bool is_key_text(const char *start, const char *end)
{
    for (const char *p = start; p < end; p++) {
        if (!is_key_byte(*p))
            return false;
    }
    return end > start;
}

/* A value in double quotes ("org.read") means the text between them: GKeyFile keeps the
 * quotes, which then reach the provider (scope=%22org.read%22). A quote at either end must
 * be one of such a pair with no other quote inside; a quote inside an unquoted value is the
 * value's own. 0 with *start and *end moved inside the quotes, or -1; the value is never
 * quoted in the message. */
static int unquote(const struct parsed_file *file, unsigned line, const char *key,
                   size_t key_length, const char **start, const char **end,
                   struct config_error *error)
{
    size_t length = (size_t)(*end - *start);

    if (length == 0 || ((*start)[0] != '"' && (*end)[-1] != '"'))
        return 0;
    if (length < 2 || (*start)[0] != '"' || (*end)[-1] != '"' ||
        memchr(*start + 1, '"', length - 2) != NULL)
        return fail(error,
                    "%s:%u: key '%.*s': unbalanced double quote (write the value bare, or "
                    "whole in one pair of double quotes)",
                    file->path, line,
                    (int)(key_length < CONFIG_KEY_SHOWN_MAX ? key_length : CONFIG_KEY_SHOWN_MAX),
                    key);
    (*start)++;
    (*end)--;
    return 0;
}

static int add_entry(struct parsed_file *file, unsigned line, const char *start, const char *end,
                     struct config_error *error)
{
    const char *equals = memchr(start, '=', (size_t)(end - start));
    const char *key_end = equals, *value_start = equals != NULL ? equals + 1 : NULL;
    struct config_entry *entry;

    if (file->group_count == 0)
        return fail(error, "%s:%u: a key before the first [group]", file->path, line);
    if (equals != NULL)
        trim(&start, &key_end);
    if (equals == NULL || !is_key_text(start, key_end))
        return refuse_line(file, line, start, end, error);
    if (file->entry_count >= CONFIG_MAX_ENTRIES)
        return fail(error, "%s:%u: too many keys", file->path, line);
    trim(&value_start, &end);
    if (unquote(file, line, start, (size_t)(key_end - start), &value_start, &end, error) != 0)
        return -1;
    if ((size_t)(end - value_start) > CONFIG_MAX_VALUE)
        return fail(error, "%s:%u: overlong value", file->path, line);
    entry = &file->entries[file->entry_count];
    entry->group = file->groups[file->group_count - 1].name;
    entry->line = line;
    entry->key = secret_strndup(start, (size_t)(key_end - start));
    entry->value = decode_value(value_start, end);
    file->entry_count++;
    if (entry->key == NULL || entry->value == NULL)
        return fail(error, "%s:%u: invalid escape sequence or out of memory", file->path, line);
    if (text_has_control_byte(entry->value, strlen(entry->value)))
        return fail(error, "%s:%u: key '%.*s': control characters are not allowed", file->path,
                    line, CONFIG_KEY_SHOWN_MAX, entry->key);
    return 0;
}

static int parse_lines(struct parsed_file *file, const char *text, size_t length,
                       struct config_error *error)
{
    const char *position = text, *end = text + length;
    const char *nul = memchr(text, '\0', length);
    unsigned line = 0;
    int rv = 0;

    if (nul != NULL) {
        for (const char *p = text; p < nul; p++)
            line += *p == '\n';
        return fail(error, "%s:%u: contains a NUL byte", file->path, line + 1);
    }
    while (rv == 0 && position < end) {
        const char *newline = memchr(position, '\n', (size_t)(end - position));
        const char *line_end = newline != NULL ? newline : end;
        const char *start = position;

        line++;
        trim(&start, &line_end);
        if (start == line_end || *start == '#')
            rv = 0;
        else if (*start == '[' && line_end[-1] == ']')
            rv = add_group(file, line, start + 1, line_end - 1, error);
        else
            rv = add_entry(file, line, start, line_end, error);
        position = newline != NULL ? newline + 1 : end;
    }
    return rv;
}

/* The names of the groups found, "[a], [b]", cut with ", ..." to fit: names only, never a
 * value, for the messages that say the wanted group is not there. */
static void list_groups(const struct parsed_file *file, char *list, size_t size)
{
    static const char more[] = ", ...";
    size_t used = 0;

    list[0] = '\0';
    for (size_t i = 0; i < file->group_count; i++) {
        const char *separator = i > 0 ? ", " : "";
        size_t needed = strlen(separator) + strlen(file->groups[i].name) + 2 + sizeof(more);

        if (used + needed > size) {
            snprintf(list + used, size - used, "%s...", separator);
            return;
        }
        used +=
            (size_t)snprintf(list + used, size - used, "%s[%s]", separator, file->groups[i].name);
    }
}

static const struct config_group *select_group(const struct parsed_file *file, const char *provider,
                                               struct config_error *error)
{
    char groups[256];

    if (provider != NULL) {
        for (size_t i = 0; i < file->group_count; i++) {
            if (strcmp(file->groups[i].name, provider) == 0)
                return &file->groups[i];
        }
    } else if (file->group_count == 1) {
        return &file->groups[0];
    }
    list_groups(file, groups, sizeof(groups));
    if (provider != NULL && file->group_count == 0)
        fail(error, "%s: no [%s] group for provider=%s (the file has none)", file->path, provider,
             provider);
    else if (provider != NULL)
        fail(error, "%s: no [%s] group for provider=%s (groups: %s)", file->path, provider,
             provider, groups);
    else if (file->group_count == 0)
        fail(error, "%s: no provider group (a group starts with a [name] line)", file->path);
    else
        fail(error, "%s: several provider groups (%s); name one with the provider= module argument",
             file->path, groups);
    return NULL;
}

bool provider_url_is_https(const char *url)
{
    size_t length = strlen(url);
    const char *host = url + 8;

    if (length <= 8 || strncasecmp(url, "https://", 8) != 0 || text_has_control_byte(url, length) ||
        strchr(url, ' ') != NULL)
        return false;
    /* A host must follow the scheme: not empty, not userinfo. */
    return *host != '/' && *host != ':' && *host != '?' && *host != '#' &&
           strcspn(host, "@") >= strcspn(host, "/?#");
}

/* Where the chosen group set a key (a name of key_specs); 0 when it did not. */
static unsigned key_line(const struct provider_build *build, const char *key)
{
    const struct key_spec *spec = find_key_spec(key, strlen(key));

    return spec != NULL ? build->key_lines[spec - key_specs] : 0;
}

/* Whole seconds within the key's range: timeout 1..120, refresh_margin 0..86400. */
static int apply_seconds(const struct config_entry *entry, const char *path, long *target,
                         struct config_error *error)
{
    bool is_timeout = strcmp(entry->key, "timeout") == 0;
    long minimum = is_timeout ? 1 : 0;
    long maximum = is_timeout ? CONFIG_MAX_TIMEOUT : CONFIG_MAX_REFRESH_MARGIN;
    char *end = NULL;
    long value;

    errno = 0;
    value = strtol(entry->value, &end, 10);
    if (errno != 0 || end == entry->value || *end != '\0' || value < minimum || value > maximum)
        return fail(error, "%s:%u: key '%s': expected whole seconds from %ld to %ld", path,
                    entry->line, entry->key, minimum, maximum);
    *target = value;
    return 0;
}

static int apply_entry(const struct config_entry *entry, struct provider_build *build,
                       struct provider_config *config, struct config_error *error)
{
    const struct key_spec *spec = find_key_spec(entry->key, strlen(entry->key));
    const char *path = build->path;
    size_t index;
    char **slot;

    /* The key is a-z and _ (add_entry); a long one is cut: it may be a value after all. */
    if (spec == NULL)
        return fail(error, "%s:%u: unknown key '%.*s%s'", path, entry->line, CONFIG_KEY_SHOWN_MAX,
                    entry->key, strlen(entry->key) > CONFIG_KEY_SHOWN_MAX ? "..." : "");
    index = (size_t)(spec - key_specs);
    if (build->key_lines[index] != 0)
        return fail(error, "%s:%u: key '%s' appears twice", path, entry->line, entry->key);
    build->key_lines[index] = entry->line;
    if (spec->kind == VALUE_SECONDS)
        return apply_seconds(entry, path, (long *)(void *)((char *)config + spec->offset), error);
    if (spec->kind == VALUE_HTTPS_URL && !provider_url_is_https(entry->value))
        return fail(error, "%s:%u: key '%s': only https:// URLs are allowed", path, entry->line,
                    entry->key);
    if (entry->value[0] == '\0')
        return fail(error, "%s:%u: key '%s': empty value", path, entry->line, entry->key);
    slot = (char **)((char *)config + spec->offset);
    *slot = secret_strndup(entry->value, CONFIG_MAX_VALUE);
    return *slot == NULL ? fail(error, "%s: out of memory", path) : 0;
}

static char *format_url(const char *host, const char *path)
{
    size_t size = strlen("https://") + strlen(host) + strlen(path) + 1;
    char *url = malloc(size);

    if (url != NULL)
        snprintf(url, size, "https://%s%s", host, path);
    return url;
}

static int fail_unknown_region(const struct provider_build *build, struct config_error *error)
{
    char known[128] = "";
    size_t used = 0;

    for (size_t i = 0; i < sizeof(snyk_regions) / sizeof(snyk_regions[0]) && used < sizeof(known);
         i++)
        used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s", i > 0 ? ", " : "",
                                 snyk_regions[i].name);
    return fail(error, "%s:%u: [%s]: key 'region': unknown Snyk region (known: %s)", build->path,
                key_line(build, "region"), build->group->name, known);
}

/* Fills the URLs a preset knows unless the file set them explicitly. */
static int apply_preset(const struct provider_build *build, struct provider_config *config,
                        struct config_error *error)
{
    const struct snyk_region *region = NULL;
    const char *path = build->path, *group = build->group->name;
    const char *wanted;

    if (config->preset == NULL) {
        if (config->region != NULL)
            return fail(error, "%s:%u: [%s]: key 'region' needs preset = snyk", path,
                        key_line(build, "region"), group);
        return 0;
    }
    /* Neither value is quoted: a value in the wrong key may be the client secret. */
    if (strcasecmp(config->preset, "snyk") != 0)
        return fail(error, "%s:%u: [%s]: key 'preset': unknown preset (known: snyk)", path,
                    key_line(build, "preset"), group);
    /* Matched in any case, like the regions; kept as the one spelling the helper knows. */
    memcpy(config->preset, "snyk", sizeof("snyk"));
    wanted = config->region != NULL ? config->region : "SNYK-US-01";
    for (size_t i = 0; i < sizeof(snyk_regions) / sizeof(snyk_regions[0]); i++) {
        if (strcasecmp(snyk_regions[i].name, wanted) == 0)
            region = &snyk_regions[i];
    }
    if (region == NULL)
        return fail_unknown_region(build, error);
    if (config->authorize_url == NULL)
        config->authorize_url = format_url(region->app_host, "/oauth2/authorize");
    config->token_url_from_preset = config->token_url == NULL;
    if (config->token_url == NULL)
        config->token_url = format_url(region->api_host, "/oauth2/token");
    if (config->revoke_url == NULL)
        config->revoke_url = format_url(region->api_host, "/oauth2/revoke");
    if (config->authorize_url == NULL || config->token_url == NULL || config->revoke_url == NULL)
        return fail(error, "%s: out of memory", path);
    return 0;
}

/* sign_in = browser | device | both; the browser when not set (what every release before
 * the device grant did). */
static int check_sign_in(const struct provider_build *build, struct provider_config *config,
                         struct config_error *error)
{
    static const struct {
        const char *word;
        enum provider_sign_in sign_in;
    } words[] = {{"browser", SIGN_IN_BROWSER}, {"device", SIGN_IN_DEVICE}, {"both", SIGN_IN_BOTH}};

    config->sign_in = SIGN_IN_BROWSER;
    if (config->sign_in_text == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcmp(config->sign_in_text, words[i].word) == 0) {
            config->sign_in = words[i].sign_in;
            return 0;
        }
    }
    return fail(error, "%s:%u: key 'sign_in': must be browser, device or both", build->path,
                key_line(build, "sign_in"));
}

bool provider_uses_browser(const struct provider_config *config)
{
    return config->sign_in != SIGN_IN_DEVICE;
}

bool provider_uses_device(const struct provider_config *config)
{
    return config->sign_in != SIGN_IN_BROWSER;
}

/* The first endpoint the chosen sign-in needs that the configuration does not name, or NULL:
 * the token endpoint always, the authorization endpoint for the browser, the device
 * authorization endpoint for the device grant. */
static const char *missing_endpoint(const struct provider_config *config)
{
    if (provider_uses_browser(config) && config->authorize_url == NULL)
        return "authorize_url";
    if (config->token_url == NULL)
        return "token_url";
    if (provider_uses_device(config) && config->device_authorization_url == NULL)
        return "device_authorization_url";
    return NULL;
}

/* An issuer without the endpoints: they come from its metadata (OpenID Connect Discovery
 * 1.0, RFC 8414), which the user's own helper and refresher fetch (oauth/discovery.h); this
 * module (root) only checks that the issuer can name a metadata address: an https URL with a
 * host and no query or fragment (RFC 8414 section 2). An issuer beside both endpoints keeps
 * its old meaning only: the iss check of RFC 9207, no discovery. */
static int check_discovery(const struct provider_build *build, struct provider_config *config,
                           struct config_error *error)
{
    config->discover = config->issuer != NULL && missing_endpoint(config) != NULL;
    if (config->discover &&
        (!provider_url_is_https(config->issuer) || strpbrk(config->issuer, "?#") != NULL))
        return fail(error,
                    "%s:%u: key 'issuer': to discover the endpoints it must be an https URL "
                    "without query or fragment",
                    build->path, key_line(build, "issuer"));
    return 0;
}

static int check_required(const struct provider_build *build, struct provider_config *config,
                          struct config_error *error)
{
    const char *path = build->path, *group = build->group->name;
    unsigned line = build->group->line;
    const char *endpoint = config->discover ? NULL : missing_endpoint(config);
    /* The device grant alone has no redirect. */
    const char *missing = config->client_id == NULL ? "client_id"
                          : config->redirect_uri == NULL && provider_uses_browser(config)
                              ? "redirect_uri"
                              : NULL;

    if (endpoint != NULL)
        return fail(error,
                    "%s:%u: [%s]: required key '%s' is missing (or give 'issuer' alone: the "
                    "endpoints then come from its metadata)",
                    path, line, group, endpoint);
    if (missing != NULL)
        return fail(error, "%s:%u: [%s]: required key '%s' is missing", path, line, group, missing);
    /* A Snyk App made in Snyk's UI is a confidential client: Snyk hands it its clientSecret
     * at creation and its token requests send it (snyk-oauth2.md: "grant_type=
     * authorization_code&code=…&redirect_uri=…&client_id=…&client_secret=…&code_verifier=…").
     * But the same reference says "(public clients send no client_secret)", and Snyk has
     * public clients (its own CLI's): refusing would break those. A warning at every load
     * tells the admin before a user's sign-in fails for it (issue 11, item 4). */
    if (config->preset != NULL && config->client_secret == NULL)
        snprintf(error->warning, sizeof(error->warning),
                 "%s:%u: [%s]: preset = snyk without client_secret: only a public client "
                 "works so; a Snyk App made in Snyk's UI needs its client secret",
                 path, line, group);
    if (config->keyring_service == NULL)
        config->keyring_service = secret_strndup(group, CONFIG_MAX_VALUE);
    config->display_name =
        secret_strndup(config->preset != NULL ? "Snyk" : group, CONFIG_MAX_VALUE);
    if (config->timeout == 0)
        config->timeout = CONFIG_DEFAULT_TIMEOUT;
    if (config->refresh_margin < 0)
        config->refresh_margin = CONFIG_DEFAULT_REFRESH_MARGIN;
    if (config->keyring_service == NULL || config->display_name == NULL)
        return fail(error, "%s: out of memory", path);
    return 0;
}

/* Why a file the module relies on may not be trusted, in why; false when it may be. The rule
 * of the configuration file and of ca_file: a regular file, owned by root - or by the module's
 * own euid when the module does not run as root - and not writable by group or others. */
static bool file_untrusted(const struct stat *info, char *why, size_t why_size)
{
    uid_t trusted_owner = geteuid();

    if (!S_ISREG(info->st_mode))
        text_set_why(why, why_size, "not a regular file");
    else if (info->st_uid != 0 && info->st_uid != trusted_owner && trusted_owner == 0)
        text_set_why(why, why_size, "must be owned by root (owner is uid %u)",
                     (unsigned)info->st_uid);
    else if (info->st_uid != 0 && info->st_uid != trusted_owner)
        text_set_why(
            why, why_size,
            "must be owned by root or by uid %u, which the module runs as (owner is uid %u)",
            (unsigned)trusted_owner, (unsigned)info->st_uid);
    else if ((info->st_mode & (S_IWGRP | S_IWOTH)) != 0)
        text_set_why(why, why_size, "must not be writable by group or others (mode %04o)",
                     (unsigned)(info->st_mode & 07777));
    else
        return false;
    return true;
}

/* The CA file decides which servers every served user's helper trusts: a file another user
 * can write lets them add trust anchors for everyone, and a missing one fails every exchange
 * after the user has signed in. The path is named only once it names a file: a value that
 * names none may be a secret typed into the wrong key. Whether the user can read the file is
 * the helper's check. */
static int check_ca_file(const struct provider_build *build, const char *ca_file,
                         struct config_error *error)
{
    unsigned line = key_line(build, "ca_file");
    struct stat info;
    char why[128];

    if (ca_file[0] != '/')
        return fail(error, "%s:%u: key 'ca_file': must be an absolute path", build->path, line);
    if (stat(ca_file, &info) != 0)
        return fail(error, "%s:%u: key 'ca_file': cannot use the file it names: %s", build->path,
                    line, strerror(errno));
    if (file_untrusted(&info, why, sizeof(why)))
        return fail(error, "%s:%u: key 'ca_file': %s: %s", build->path, line, ca_file, why);
    return 0;
}

static int build_provider(const struct parsed_file *file, struct provider_build *build,
                          struct provider_config *config, struct config_error *error)
{
    int rv = 0;

    config->refresh_margin = -1; /* not set yet: the default applies */
    config->name = secret_strndup(build->group->name, CONFIG_MAX_VALUE);
    if (config->name == NULL)
        return fail(error, "%s: out of memory", file->path);
    for (size_t i = 0; rv == 0 && i < file->entry_count; i++) {
        if (file->entries[i].group == build->group->name)
            rv = apply_entry(&file->entries[i], build, config, error);
    }
    if (rv == 0)
        rv = apply_preset(build, config, error);
    if (rv == 0)
        rv = check_sign_in(build, config, error);
    if (rv == 0)
        rv = check_discovery(build, config, error);
    if (rv == 0)
        rv = check_required(build, config, error);
    if (rv == 0 && build->check_files && config->ca_file != NULL)
        rv = check_ca_file(build, config->ca_file, error);
    return rv;
}

/* provider_config_parse, and with check_files the checks of the files the keys name. */
static int parse_config(const char *path, const char *text, size_t length, const char *provider,
                        bool check_files, struct provider_config *config,
                        struct config_error *error)
{
    struct parsed_file *file = calloc(1, sizeof(*file));
    struct provider_build build = {.path = path, .check_files = check_files};
    int rv = -1;

    memset(config, 0, sizeof(*config));
    error->message[0] = '\0';
    error->warning[0] = '\0';
    if (file == NULL) {
        fail(error, "%s: out of memory", path);
        goto out;
    }
    file->path = path;
    if (parse_lines(file, text, length, error) != 0)
        goto out;
    build.group = select_group(file, provider, error);
    if (build.group == NULL || build_provider(file, &build, config, error) != 0)
        goto out;
    rv = 0;
out:
    if (file != NULL) {
        parsed_file_clear(file);
        free(file);
    }
    if (rv != 0)
        provider_config_clear(config);
    return rv;
}

int provider_config_parse(const char *path, const char *text, size_t length, const char *provider,
                          struct provider_config *config, struct config_error *error)
{
    return parse_config(path, text, length, provider, false, config, error);
}

int provider_config_group_names(const char *path, const char *text, size_t length, char **names,
                                size_t max_names, size_t *count, struct config_error *error)
{
    struct parsed_file *file = calloc(1, sizeof(*file));
    int rv = -1;

    *count = 0;
    error->message[0] = '\0';
    if (file == NULL) {
        fail(error, "%s: out of memory", path);
        goto out;
    }
    file->path = path;
    if (parse_lines(file, text, length, error) != 0)
        goto out;
    for (size_t i = 0; i < file->group_count && *count < max_names; i++) {
        names[*count] = strdup(file->groups[i].name);
        if (names[*count] != NULL)
            (*count)++;
    }
    rv = 0;
out:
    if (file != NULL) {
        parsed_file_clear(file);
        free(file);
    }
    return rv;
}

/* The file holds the client secret and decides where tokens go: only its owner may write. */
static int check_file_trust(const char *path, const struct stat *info, struct config_error *error)
{
    char why[128];

    if (file_untrusted(info, why, sizeof(why)))
        return fail(error, "%s: %s", path, why);
    if (info->st_size > CONFIG_MAX_FILE_SIZE)
        return fail(error, "%s: larger than %d bytes", path, CONFIG_MAX_FILE_SIZE);
    error->world_readable = (info->st_mode & S_IROTH) != 0;
    return 0;
}

static int read_whole_file(int fd, const char *path, struct capped_buffer *content,
                           struct config_error *error)
{
    char chunk[4096];
    ssize_t got;

    do {
        got = read(fd, chunk, sizeof(chunk));
        if (got > 0 && capped_buffer_append(content, chunk, (size_t)got) != 0)
            got = -2;
    } while (got > 0 || (got == -1 && errno == EINTR));
    secret_wipe(chunk, sizeof(chunk));
    if (got == -2)
        return fail(error, "%s: larger than %d bytes", path, CONFIG_MAX_FILE_SIZE);
    if (got < 0)
        return fail(error, "%s: cannot read: %s", path, strerror(errno));
    return 0;
}

int provider_config_load(const char *path, const char *provider, struct provider_config *config,
                         struct config_error *error)
{
    struct capped_buffer content = {0};
    struct stat info;
    int fd = -1;
    int rv = -1;

    memset(config, 0, sizeof(*config));
    error->world_readable = false;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        fail(error, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &info) != 0) {
        fail(error, "%s: cannot stat: %s", path, strerror(errno));
        goto out;
    }
    if (check_file_trust(path, &info, error) != 0)
        goto out;
    if (capped_buffer_init(&content, CONFIG_MAX_FILE_SIZE) != 0) {
        fail(error, "%s: out of memory", path);
        goto out;
    }
    if (read_whole_file(fd, path, &content, error) != 0)
        goto out;
    rv = parse_config(path, content.data, content.length, provider, true, config, error);
out:
    if (fd >= 0)
        close(fd);
    capped_buffer_wipe(&content);
    return rv;
}

void provider_config_clear(struct provider_config *config)
{
    char **strings[] = {
        &config->name,         &config->preset,          &config->region,
        &config->display_name, &config->authorize_url,   &config->token_url,
        &config->revoke_url,   &config->client_id,       &config->client_secret,
        &config->redirect_uri, &config->scope,           &config->issuer,
        &config->ca_file,      &config->keyring_service, &config->device_authorization_url,
        &config->sign_in_text};

    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        secret_free_string(strings[i]);
    config->timeout = 0;
    config->refresh_margin = 0;
    config->token_url_from_preset = false;
    config->discover = false;
    config->sign_in = SIGN_IN_BROWSER;
}

int provider_token_url_for_login(const struct provider_config *config, const char *instance,
                                 char **token_url, char *why, size_t why_size)
{
    bool snyk = config->preset != NULL && strcmp(config->preset, "snyk") == 0;
    char regional[SNYK_TOKEN_URL_MAX] = "";
    int rv = 0;

    *token_url = NULL;
    /* Only the Snyk preset knows instance=; with any other, the helper has none to give. */
    if (instance != NULL && snyk)
        rv = snyk_token_url_for_instance(config->token_url, config->token_url_from_preset, instance,
                                         regional, sizeof(regional), why, why_size);
    /* Discovery without a token_url: none here, the helper finds it in the issuer's metadata
     * at the exchange (the Snyk preset never discovers). */
    if (rv == 0 && config->token_url == NULL)
        return 0;
    if (rv == 0) {
        *token_url = strdup(regional[0] != '\0' ? regional : config->token_url);
        if (*token_url == NULL)
            rv = text_set_why(why, why_size, "Out of memory.");
    }
    return rv;
}
