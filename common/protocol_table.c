#include "config.h"

#include "common/protocol_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text_checks.h"

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))
/* A list's rules, without its END_OF_LIST. */
#define RULE_COUNT(list) (COUNT_OF(list) - 1)

struct field_spec {
    const char *name;
    enum protocol_exposure exposure;
    enum protocol_kind kind;
};

static const struct field_spec fields[PROTOCOL_FIELD_COUNT] = {
#define X(id, name, exposure, kind) [FIELD_##id] = {name, PROTOCOL_##exposure, PROTOCOL_##kind},
    PROTOCOL_FIELDS(X)
#undef X
};

/* Each request's two lists of field rules, then the requests themselves. */
#define F(field, presence) {FIELD_##field, PROTOCOL_##presence},
/* Each list ends in an entry for no field, so that an empty list is still an array. */
#define END_OF_LIST                                                                                \
    {                                                                                              \
        PROTOCOL_FIELD_COUNT, PROTOCOL_OPTIONAL                                                    \
    }
#define R(id, channel, command, replies, request_fields, ok_fields)                                \
    static const struct protocol_field_rule id##_fields[] = {request_fields END_OF_LIST};          \
    static const struct protocol_field_rule id##_ok_fields[] = {ok_fields END_OF_LIST};
PROTOCOL_REQUESTS(R)
#undef R

static const struct protocol_field_rule error_fields[] = {PROTOCOL_ERROR_FIELDS END_OF_LIST};
static const struct protocol_field_rule device_fields[] = {PROTOCOL_DEVICE_FIELDS(REQUIRED)
                                                               END_OF_LIST};
#undef F

static const struct protocol_request_spec requests[PROTOCOL_REQUEST_COUNT] = {
#define R(id, channel_name, command_name, replies_kind, request_rules, ok_rules)                   \
    [REQUEST_##id] = {.request = REQUEST_##id,                                                     \
                      .channel = CHANNEL_##channel_name,                                           \
                      .command = command_name,                                                     \
                      .replies = PROTOCOL_##replies_kind,                                          \
                      .fields = id##_fields,                                                       \
                      .field_count = RULE_COUNT(id##_fields),                                      \
                      .ok_fields = id##_ok_fields,                                                 \
                      .ok_field_count = RULE_COUNT(id##_ok_fields)},
    PROTOCOL_REQUESTS(R)
#undef R
};

static const struct protocol_channel_spec channels[PROTOCOL_CHANNEL_COUNT] = {
    {CHANNEL_LOGIN, "login", "module", "helper", "pam_oauth_keyring_helper",
     "socketpair (stdin, stdout)"},
    {CHANNEL_START, "start", "helper", "refresher", "pam_oauth_keyring_refresher",
     "socketpair (stdin)"},
    {CHANNEL_CHILD, "child", "refresher", "refresher's child", "pam_oauth_keyring_refresher",
     "socketpair (stdin, stdout)"},
    {CHANNEL_SOCKET, "socket", "oauth-keyring", "refresher", "pam_oauth_keyring_refresher",
     "SERVICE.sock"},
    {CHANNEL_CHECK, "check", "oauth-keyring check", "helper", "pam_oauth_keyring_helper",
     "socketpair (stdin, stdout)"},
};

static const char *const outcome_names[] = {
    /* store/refresh.h refresh_outcome_name; test_refresh_schedule keeps the lists together. */
    "not-due",
    "refreshed",
    "authorization-needed",
    "provider-unreachable",
    "provider-error",
    "outcome-unknown",
    "keyring-failed",
    "lock-timeout",
    "deferred",   /* the keyring is not running yet: the refresher finishes the work */
    "logged-out", /* a logout */
    /* how a sign-in of oauth-keyring login ended (refresher/sign_in.h) */
    "signed-in",
    "denied",
    "cancelled",
    "timed-out",
    "superseded",
    "unavailable",
    /* a device sign-in (RFC 8628, oauth/device_grant.h): waiting, and how a poll ended */
    "device-pending",
    "authorization-pending",
    "slow-down",
    "expired",
};

/* Decimal digits that fit a long long (strtoll takes them whole). */
#define DIGITS_MAX 18
#define DELAY_MAX_SECONDS 86400

const struct protocol_request_spec *protocol_request_spec(enum protocol_request request)
{
    return (unsigned)request < PROTOCOL_REQUEST_COUNT ? &requests[request] : NULL;
}

const struct protocol_channel_spec *protocol_channel_spec(enum protocol_channel channel)
{
    for (size_t i = 0; i < PROTOCOL_CHANNEL_COUNT; i++) {
        if (channels[i].channel == channel)
            return &channels[i];
    }
    return NULL;
}

const struct protocol_field_rule *protocol_error_fields(size_t *count)
{
    *count = RULE_COUNT(error_fields);
    return error_fields;
}

const struct protocol_field_rule *protocol_device_fields(size_t *count)
{
    *count = RULE_COUNT(device_fields);
    return device_fields;
}

const char *protocol_field_name(enum protocol_field_id field)
{
    return (unsigned)field < PROTOCOL_FIELD_COUNT ? fields[field].name : "";
}

enum protocol_exposure protocol_field_exposure(enum protocol_field_id field)
{
    return (unsigned)field < PROTOCOL_FIELD_COUNT ? fields[field].exposure : PROTOCOL_SECRET;
}

enum protocol_kind protocol_field_kind(enum protocol_field_id field)
{
    return (unsigned)field < PROTOCOL_FIELD_COUNT ? fields[field].kind : PROTOCOL_TEXT;
}

bool protocol_field_from_name(const char *name, enum protocol_field_id *field)
{
    for (size_t i = 0; i < PROTOCOL_FIELD_COUNT; i++) {
        if (strcmp(fields[i].name, name) == 0) {
            *field = (enum protocol_field_id)i;
            return true;
        }
    }
    return false;
}

const struct protocol_request_spec *protocol_request_find(unsigned channel_mask,
                                                          const char *command)
{
    for (size_t i = 0; i < PROTOCOL_REQUEST_COUNT; i++) {
        if ((requests[i].channel & channel_mask) != 0 && strcmp(requests[i].command, command) == 0)
            return &requests[i];
    }
    return NULL;
}

int protocol_request_init(struct protocol_message *message, enum protocol_request request)
{
    const struct protocol_request_spec *spec = protocol_request_spec(request);

    if (spec == NULL) {
        memset(message, 0, sizeof(*message));
        return -1;
    }
    return protocol_message_init(message, spec->command);
}

int protocol_reply_init(struct protocol_message *message, bool ok)
{
    return protocol_message_init(message, ok ? "ok" : "error");
}

int protocol_set(struct protocol_message *message, enum protocol_field_id field, const char *value)
{
    if ((unsigned)field >= PROTOCOL_FIELD_COUNT)
        return -1;
    return protocol_message_add(message, fields[field].name, value);
}

const char *protocol_get(const struct protocol_message *message, enum protocol_field_id field)
{
    if ((unsigned)field >= PROTOCOL_FIELD_COUNT)
        return NULL;
    return protocol_message_get(message, fields[field].name);
}

/* The rule for field among count rules; NULL when the list does not have it. */
static const struct protocol_field_rule *rule_for(const struct protocol_field_rule *rules,
                                                  size_t count, enum protocol_field_id field)
{
    for (size_t i = 0; i < count; i++) {
        if (rules[i].field == field)
            return &rules[i];
    }
    return NULL;
}

int protocol_copy_fields(struct protocol_message *message, const struct protocol_request_spec *spec,
                         const struct protocol_message *source, enum protocol_field_id skip)
{
    int rv = 0;

    for (size_t i = 0; i < spec->field_count && rv == 0; i++) {
        enum protocol_field_id field = spec->fields[i].field;
        if (field != skip)
            rv = protocol_set(message, field, protocol_get(source, field));
    }
    return rv;
}

static bool is_digits(const char *value, size_t length)
{
    if (length == 0 || length > DIGITS_MAX)
        return false;
    for (size_t i = 0; i < length; i++) {
        if (value[i] < '0' || value[i] > '9')
            return false;
    }
    return true;
}

bool protocol_outcome_is_known(const char *outcome)
{
    for (size_t i = 0; outcome != NULL && i < COUNT_OF(outcome_names); i++) {
        if (strcmp(outcome_names[i], outcome) == 0)
            return true;
    }
    return false;
}

/* What is wrong with a value of field's kind, or NULL: "is not Unix seconds". */
static const char *kind_problem(enum protocol_field_id field, const struct protocol_field *value)
{
    switch (fields[field].kind) {
    case PROTOCOL_FLAG:
        return strcmp(value->value, "1") == 0 ? NULL : "that is not \"1\"";
    case PROTOCOL_COUNT:
        return is_digits(value->value, value->length) ? NULL : "that is not a whole number";
    case PROTOCOL_UNIX_TIME:
        return is_digits(value->value, value->length) ? NULL : "that is not Unix seconds";
    case PROTOCOL_DELAY:
        return value->length <= 5 && is_digits(value->value, value->length) &&
                       strtol(value->value, NULL, 10) <= DELAY_MAX_SECONDS
                   ? NULL
                   : "that is not whole seconds up to a day";
    case PROTOCOL_OUTCOME:
        return protocol_outcome_is_known(value->value) ? NULL : "that is not a known outcome";
    default:
        return NULL;
    }
}

/* Every field of message listed in rules, none empty when refuse_empty (a request's text may
 * be empty), each of its kind;
 * every required rule present. what names the message in why: "the helper's reply to
 * 'answer'", "the 'exchange' request". Names are [a-z0-9_-] (protocol_decode made sure):
 * safe to log. */
static int check_fields(const struct protocol_message *message,
                        const struct protocol_field_rule *rules, size_t count, bool refuse_empty,
                        const char *what, char *why, size_t why_size)
{
    for (size_t i = 0; i < count; i++) {
        const char *name = fields[rules[i].field].name;
        if (rules[i].presence == PROTOCOL_REQUIRED && protocol_message_get(message, name) == NULL)
            return text_set_why(why, why_size, "%s lacks '%s'", what, name);
    }
    for (size_t i = 0; i < message->field_count; i++) {
        const struct protocol_field *value = &message->fields[i];
        enum protocol_field_id field;
        const char *problem;
        if (!protocol_field_from_name(value->name, &field) || rule_for(rules, count, field) == NULL)
            return text_set_why(why, why_size, "%s carries an unexpected '%s'", what, value->name);
        if (refuse_empty && value->length == 0)
            return text_set_why(why, why_size, "%s has an empty '%s'", what, value->name);
        problem = kind_problem(field, value);
        if (problem != NULL && field == FIELD_OUTCOME)
            return text_set_why(why, why_size, "%s has an unknown outcome", what);
        if (problem != NULL && (field == FIELD_REFRESH_EXPIRES_AT || field == FIELD_RETRY_AFTER))
            return text_set_why(why, why_size, "%s has a %s %s", what, value->name, problem);
        if (problem != NULL)
            return text_set_why(why, why_size, "%s has a '%s' %s", what, value->name, problem);
    }
    return 0;
}

/* The programs that read channels, for a refusal: "pam_oauth_keyring_helper". */
static const char *reader_of(unsigned channel_mask)
{
    for (size_t i = 0; i < PROTOCOL_CHANNEL_COUNT; i++) {
        if ((channels[i].channel & channel_mask) != 0)
            return channels[i].program;
    }
    return "this program";
}

int protocol_request_accept(unsigned channel_mask, const struct protocol_message *request,
                            const struct protocol_request_spec **spec, char *why, size_t why_size)
{
    char what[PROTOCOL_MAX_NAME + 32];

    *spec = protocol_request_find(channel_mask, request->command);
    if (*spec == NULL && protocol_request_find(~0U, request->command) != NULL)
        return text_set_why(why, why_size, "'%s' is not a request %s takes", request->command,
                            reader_of(channel_mask));
    if (*spec == NULL)
        return text_set_why(why, why_size, "unknown command '%s'", request->command);
    snprintf(what, sizeof(what), "the '%s' request", request->command);
    if (check_fields(request, (*spec)->fields, (*spec)->field_count, false, what, why, why_size) !=
        0) {
        *spec = NULL;
        return -1;
    }
    return 0;
}

int protocol_reply_check(const struct protocol_request_spec *spec,
                         const struct protocol_message *reply, char *why, size_t why_size)
{
    const struct protocol_channel_spec *channel =
        spec != NULL ? protocol_channel_spec(spec->channel) : NULL;
    char what[PROTOCOL_MAX_NAME + 64];
    bool ok = strcmp(reply->command, "ok") == 0;

    snprintf(what, sizeof(what), "the %s's reply to '%s'",
             channel != NULL ? channel->receiver : "helper",
             spec != NULL ? spec->command : "an unknown request");
    if (spec == NULL ||
        !(strcmp(reply->command, "error") == 0 || (ok && spec->replies == PROTOCOL_OK_OR_ERROR)))
        return text_set_why(why, why_size, "%s is not one the protocol has", what);
    if (ok)
        return check_fields(reply, spec->ok_fields, spec->ok_field_count, true, what, why,
                            why_size);
    return check_fields(reply, error_fields, RULE_COUNT(error_fields), true, what, why, why_size);
}
