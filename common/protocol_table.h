/* The protocol defined once: every message that crosses a socketpair or the refresher's
 * socket, its fields, which of them are required, which are secret, who sends it and who
 * receives it. Encoding is common/protocol.h's POK/1 framing; this table says what a framed
 * message may hold. Every program checks what it receives against it before any work:
 * an unknown command, an unknown field, a missing required field or a value of the wrong
 * kind is refused with a reason that names fields, never shows a value.
 *
 * Adding a request is a one-place change: one R(...) entry below (and, for a new field, one
 * X(...) line in PROTOCOL_FIELDS). The receiving program then needs a handler for it (its
 * dispatch table refuses what it has none for), and docs/ARCHITECTURE.md's protocol section
 * is regenerated from this table (`tests/unit/test_protocol_table --markdown`; a test
 * compares them). Plain libc: the module uses it. */
#ifndef POK_PROTOCOL_TABLE_H
#define POK_PROTOCOL_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/protocol.h"

/* How far a field's value may travel:
 *   SECRET  wiped with every copy, never logged, never shown (codes, verifiers, secrets);
 *   PUBLIC  may appear in a debug log, not shown to the user;
 *   SHOWN   shown to the user or written to root's log: the module keeps only printable
 *           ASCII of it (login_flow.c make_reply_printable).
 * Every value is wiped when a message is cleared all the same (protocol_message_clear).
 *
 * What a value must look like:
 *   TEXT       anything the framing allows;
 *   FLAG       exactly "1" (absent means no);
 *   COUNT      decimal digits, at most 18 (seconds, milliseconds);
 *   UNIX_TIME  decimal digits, at most 18: Unix seconds, 0 when unknown;
 *   DELAY      whole seconds up to a day (oauth/retry_after.h caps what it parses there);
 *   OUTCOME    one of the outcome names (protocol_outcome_is_known). */
enum protocol_exposure { PROTOCOL_SECRET, PROTOCOL_PUBLIC, PROTOCOL_SHOWN };
enum protocol_kind {
    PROTOCOL_TEXT,
    PROTOCOL_FLAG,
    PROTOCOL_COUNT,
    PROTOCOL_UNIX_TIME,
    PROTOCOL_DELAY,
    PROTOCOL_OUTCOME
};

/* clang-format off */
/* Every field name: X(ID, "name", exposure, kind). Code names a field FIELD_ID. */
#define PROTOCOL_FIELDS(X)                                                            \
    X(AUTHORIZE_URL,         "authorize_url",         PUBLIC, TEXT)                   \
    X(CLIENT_ID,             "client_id",             PUBLIC, TEXT)                   \
    X(CLIENT_SECRET,         "client_secret",         SECRET, TEXT)                   \
    X(REDIRECT_URI,          "redirect_uri",          PUBLIC, TEXT)                   \
    X(SCOPE,                 "scope",                 PUBLIC, TEXT)                   \
    X(CA_FILE,               "ca_file",               PUBLIC, TEXT)                   \
    X(QR,                    "qr",                    PUBLIC, TEXT)                   \
    X(URL,                   "url",                   SHOWN,  TEXT)                   \
    X(VERIFIER,              "verifier",              SECRET, TEXT)                   \
    X(STATE,                 "state",                 SECRET, TEXT)                   \
    X(ANSWER,                "answer",                SECRET, TEXT)                   \
    X(ISSUER,                "issuer",                PUBLIC, TEXT)                   \
    X(PRESET,                "preset",                PUBLIC, TEXT)                   \
    X(CODE,                  "code",                  SECRET, TEXT)                   \
    X(INSTANCE,              "instance",              PUBLIC, TEXT)                   \
    X(TOKEN_URL,             "token_url",             PUBLIC, TEXT)                   \
    X(TOKEN_URL_FROM_PRESET, "token_url_from_preset", PUBLIC, FLAG)                   \
    X(TIMEOUT,               "timeout",               PUBLIC, COUNT)                  \
    X(REFRESH_MARGIN,        "refresh_margin",        PUBLIC, COUNT)                  \
    X(REVOKE_URL,            "revoke_url",            PUBLIC, TEXT)                   \
    X(KEYRING_SERVICE,       "keyring_service",       PUBLIC, TEXT)                   \
    X(USERNAME,              "username",              PUBLIC, TEXT)                   \
    X(DISPLAY_NAME,          "display_name",          PUBLIC, TEXT)                   \
    X(START_REFRESHER,       "start_refresher",       PUBLIC, FLAG)                   \
    X(DEADLINE,              "deadline",              PUBLIC, COUNT)                  \
    X(MIN_VALID,             "min_valid",             PUBLIC, COUNT)                  \
    X(OUTCOME,               "outcome",               SHOWN,  OUTCOME)                \
    X(MESSAGE,               "message",               SHOWN,  TEXT)                   \
    X(REASON,                "reason",                SHOWN,  TEXT)                   \
    X(REFRESH_EXPIRES_AT,    "refresh_expires_at",    PUBLIC, UNIX_TIME)               \
    X(RETRY_AFTER,           "retry_after",           PUBLIC, DELAY)                  \
    X(SIGN_IN,               "sign_in",               PUBLIC, TEXT)                   \
    X(LISTENING,             "listening",             SHOWN,  TEXT)                   \
    X(START_URL,             "start_url",             SHOWN,  TEXT)                   \
    X(SIGNED_IN_SINCE,       "signed_in_since",       PUBLIC, UNIX_TIME)               \
    X(SIGNED_IN,             "signed_in",             PUBLIC, FLAG)                   \
    X(AUTHORIZE_RESULT,      "authorize_result",      SHOWN,  TEXT)                   \
    X(AUTHORIZE_MESSAGE,     "authorize_message",     SHOWN,  TEXT)                   \
    X(GRANT_RESULT,          "grant_result",          SHOWN,  TEXT)                   \
    X(GRANT_MESSAGE,         "grant_message",         SHOWN,  TEXT)                   \
    X(DISCOVER,              "discover",              PUBLIC, FLAG)                   \
    X(ACCESS_TOKEN,          "access_token",          SECRET, TEXT)                   \
    X(SOLE_SERVICE,          "sole_service",          PUBLIC, FLAG)                   \
    X(DEVICE_AUTHORIZATION_URL, "device_authorization_url", PUBLIC, TEXT)             \
    X(GRANT,                 "grant",                 PUBLIC, TEXT)                   \
    X(DEVICE_CODE,           "device_code",           SECRET, TEXT)                   \
    X(USER_CODE,             "user_code",             SHOWN,  TEXT)                   \
    X(VERIFICATION_URI,      "verification_uri",      SHOWN,  TEXT)                   \
    X(VERIFICATION_URI_COMPLETE, "verification_uri_complete", SHOWN, TEXT)            \
    X(INTERVAL,              "interval",              PUBLIC, COUNT)                  \
    X(EXPIRES_AT,            "expires_at",            PUBLIC, UNIX_TIME)               \
    X(DEVICE_RESULT,         "device_result",         SHOWN,  TEXT)                   \
    X(DEVICE_MESSAGE,        "device_message",        SHOWN,  TEXT)

/* What the helper needs to store, refresh and revoke for one provider and user (the module's
 * provider_config and the user's name). */
#define PROTOCOL_PROVIDER_FIELDS                                                      \
    F(TOKEN_URL, OPTIONAL) F(CLIENT_ID, REQUIRED) F(CLIENT_SECRET, OPTIONAL)          \
    F(CA_FILE, OPTIONAL) F(TIMEOUT, OPTIONAL) F(REFRESH_MARGIN, OPTIONAL)             \
    F(REVOKE_URL, OPTIONAL) F(KEYRING_SERVICE, REQUIRED) F(USERNAME, REQUIRED)        \
    F(DISPLAY_NAME, REQUIRED) F(PRESET, OPTIONAL) F(TOKEN_URL_FROM_PRESET, OPTIONAL)  \
    F(ISSUER, OPTIONAL) F(DISCOVER, OPTIONAL)

/* What the refresher needs to run a sign-in for `oauth-keyring login` (refresher/sign_in.h):
 * the module sends it with every exchange and session, the helper hands it on. */
#define PROTOCOL_SIGN_IN_FIELDS                                                       \
    F(AUTHORIZE_URL, OPTIONAL) F(SCOPE, OPTIONAL) F(DEVICE_AUTHORIZATION_URL, OPTIONAL)  \
    F(GRANT, OPTIONAL)

/* A device sign-in waiting for the user's approval (oauth/device_grant.h): the device code
 * (secret), the interval to poll at, when the code expires; what the user was shown. */
#define PROTOCOL_DEVICE_FIELDS(presence)                                              \
    F(DEVICE_CODE, presence) F(INTERVAL, presence) F(EXPIRES_AT, presence)            \
    F(USER_CODE, OPTIONAL) F(VERIFICATION_URI, OPTIONAL)                              \
    F(VERIFICATION_URI_COMPLETE, OPTIONAL)

/* A device authorization's answer, for who shows it: the user code, where to enter it, the
 * device code to poll with, the interval, when it expires. */
#define PROTOCOL_DEVICE_REPLY_FIELDS                                                  \
    F(DEVICE_CODE, REQUIRED) F(USER_CODE, REQUIRED) F(VERIFICATION_URI, REQUIRED)     \
    F(VERIFICATION_URI_COMPLETE, OPTIONAL) F(INTERVAL, REQUIRED) F(EXPIRES_AT, REQUIRED)

/* Every request: R(ID, CHANNEL, "command", replies, request fields, "ok" reply fields).
 * replies: OK_OR_ERROR, or ERROR_ONLY for a request that is answered only when refused.
 * Every "error" reply carries a reason and a message (PROTOCOL_ERROR_FIELDS). Code names a
 * request REQUEST_ID. A command is unique within what one program reads (the table test). */
#define PROTOCOL_REQUESTS(R)                                                          \
    /* module -> login helper; with signed_in_since (prompt=missing, the login state   \
     * says a sign-in is needed, written then), signed_in=1 in the reply when the       \
     * user's SERVICE.status records a sign-in at or after it */                        \
    R(AUTHORIZE, LOGIN, "authorize", OK_OR_ERROR,                                     \
      F(AUTHORIZE_URL, OPTIONAL) F(CLIENT_ID, REQUIRED) F(REDIRECT_URI, REQUIRED)     \
      F(SCOPE, OPTIONAL) F(CA_FILE, OPTIONAL) F(QR, OPTIONAL)                         \
      F(KEYRING_SERVICE, OPTIONAL) F(SIGNED_IN_SINCE, OPTIONAL)                       \
      F(ISSUER, OPTIONAL) F(DISCOVER, OPTIONAL) F(TIMEOUT, OPTIONAL)                  \
      F(DEADLINE, OPTIONAL),                                                          \
      F(URL, REQUIRED) F(VERIFIER, REQUIRED) F(STATE, REQUIRED) F(QR, OPTIONAL)       \
      F(SIGNED_IN, OPTIONAL))                                                         \
    /* module -> login helper, for sign_in = device or both: the device authorization   \
     * request (RFC 8628 3.1) as the user; the module shows user code and address and    \
     * keeps the device code for the session. signed_in as for authorize */             \
    R(DEVICE_AUTHORIZE, LOGIN, "device-authorize", OK_OR_ERROR,                       \
      F(DEVICE_AUTHORIZATION_URL, OPTIONAL) F(CLIENT_ID, REQUIRED)                    \
      F(CLIENT_SECRET, OPTIONAL) F(SCOPE, OPTIONAL) F(CA_FILE, OPTIONAL)              \
      F(QR, OPTIONAL) F(KEYRING_SERVICE, OPTIONAL) F(SIGNED_IN_SINCE, OPTIONAL)       \
      F(ISSUER, OPTIONAL) F(DISCOVER, OPTIONAL) F(TIMEOUT, OPTIONAL)                  \
      F(DEADLINE, OPTIONAL),                                                          \
      PROTOCOL_DEVICE_REPLY_FIELDS F(QR, OPTIONAL) F(SIGNED_IN, OPTIONAL))            \
    R(ANSWER, LOGIN, "answer", OK_OR_ERROR,                                           \
      F(ANSWER, REQUIRED) F(STATE, REQUIRED) F(ISSUER, OPTIONAL) F(PRESET, OPTIONAL), \
      F(CODE, REQUIRED) F(INSTANCE, OPTIONAL))                                        \
    R(EXCHANGE, LOGIN, "exchange", OK_OR_ERROR,                                       \
      F(CODE, REQUIRED) F(VERIFIER, REQUIRED) F(REDIRECT_URI, REQUIRED)               \
      PROTOCOL_PROVIDER_FIELDS F(START_REFRESHER, OPTIONAL) F(DEADLINE, OPTIONAL)     \
      PROTOCOL_SIGN_IN_FIELDS,                                                        \
      F(MESSAGE, REQUIRED) F(OUTCOME, OPTIONAL) F(REFRESH_EXPIRES_AT, OPTIONAL))      \
    /* module -> login helper at session open after a device sign-in's prompt: one poll  \
     * (approved already: stored as after an exchange); still pending, the refresher      \
     * polls on (outcome device-pending) */                                               \
    R(DEVICE_SESSION, LOGIN, "device-session", OK_OR_ERROR,                           \
      PROTOCOL_DEVICE_FIELDS(REQUIRED) PROTOCOL_PROVIDER_FIELDS                       \
      F(START_REFRESHER, OPTIONAL) F(DEADLINE, OPTIONAL) F(REDIRECT_URI, OPTIONAL)    \
      PROTOCOL_SIGN_IN_FIELDS,                                                        \
      F(MESSAGE, REQUIRED) F(OUTCOME, OPTIONAL) F(REFRESH_EXPIRES_AT, OPTIONAL))      \
    R(SESSION, LOGIN, "session", OK_OR_ERROR,                                         \
      PROTOCOL_PROVIDER_FIELDS F(START_REFRESHER, OPTIONAL) F(DEADLINE, OPTIONAL)     \
      F(REDIRECT_URI, OPTIONAL) PROTOCOL_SIGN_IN_FIELDS,                              \
      F(OUTCOME, REQUIRED) F(MESSAGE, REQUIRED) F(REFRESH_EXPIRES_AT, OPTIONAL))      \
    /* login helper -> a new refresher; code and verifier only when it is to finish a  \
     * login's exchange (the keyring was not up yet) */                               \
    R(START_REFRESHER, START, "refresher", ERROR_ONLY,                                \
      PROTOCOL_PROVIDER_FIELDS F(CODE, OPTIONAL) F(VERIFIER, OPTIONAL)                \
      F(REDIRECT_URI, OPTIONAL) PROTOCOL_SIGN_IN_FIELDS                               \
      PROTOCOL_DEVICE_FIELDS(OPTIONAL),                                               \
      )                                                                               \
    /* refresher -> its short-lived child */                                          \
    /* retry_after: a 429/503 said to wait this long (store/schedule.h) */        \
    R(CHILD_REFRESH, CHILD, "refresh", OK_OR_ERROR,                                   \
      PROTOCOL_PROVIDER_FIELDS F(MIN_VALID, OPTIONAL),                                \
      F(OUTCOME, REQUIRED) F(MESSAGE, REQUIRED) F(RETRY_AFTER, OPTIONAL))             \
    R(CHILD_LOGOUT, CHILD, "logout", OK_OR_ERROR,                                     \
      PROTOCOL_PROVIDER_FIELDS,                                                       \
      F(OUTCOME, REQUIRED) F(MESSAGE, REQUIRED))                                      \
    /* the issuer's metadata for a refresher whose configuration names only the issuer   \
     * (discover=1): the document's endpoints, which it keeps where it has none */       \
    R(CHILD_DISCOVER, CHILD, "discover", OK_OR_ERROR,                                 \
      PROTOCOL_PROVIDER_FIELDS,                                                       \
      F(AUTHORIZE_URL, OPTIONAL) F(TOKEN_URL, REQUIRED) F(REVOKE_URL, OPTIONAL)       \
      F(DEVICE_AUTHORIZATION_URL, OPTIONAL))                                          \
    /* a device sign-in's start for oauth-keyring login --device (RFC 8628 3.1) */     \
    R(CHILD_DEVICE_AUTHORIZE, CHILD, "device-authorize", OK_OR_ERROR,                 \
      PROTOCOL_PROVIDER_FIELDS F(SCOPE, OPTIONAL) F(DEVICE_AUTHORIZATION_URL, OPTIONAL), \
      PROTOCOL_DEVICE_REPLY_FIELDS)                                                   \
    /* one poll of a device sign-in (RFC 8628 3.4); approved: the pair stored. Every    \
     * verdict is an "ok" naming it (oauth/device_grant.h), with a 429's retry_after */  \
    R(CHILD_DEVICE_POLL, CHILD, "device-poll", OK_OR_ERROR,                           \
      F(DEVICE_CODE, REQUIRED) PROTOCOL_PROVIDER_FIELDS,                              \
      F(OUTCOME, REQUIRED) F(MESSAGE, REQUIRED) F(RETRY_AFTER, OPTIONAL))             \
    R(CHILD_EXCHANGE, CHILD, "exchange", OK_OR_ERROR,                                 \
      F(CODE, REQUIRED) F(VERIFIER, REQUIRED) F(REDIRECT_URI, REQUIRED)               \
      PROTOCOL_PROVIDER_FIELDS,                                                       \
      F(MESSAGE, REQUIRED) F(OUTCOME, OPTIONAL) F(REFRESH_EXPIRES_AT, OPTIONAL))      \
    /* oauth-keyring -> the refresher, over SERVICE.sock */                           \
    R(SOCKET_REFRESH, SOCKET, "refresh", OK_OR_ERROR,                                 \
      F(MIN_VALID, REQUIRED),                                                         \
      F(OUTCOME, REQUIRED) F(MESSAGE, REQUIRED))                                      \
    /* the token from the refresher's memory (refresher/token_cache.h), valid for       \
     * min_valid seconds by the refresh rule; sole_service when it is the only service  \
     * the keyring holds for the user. Refused (reason no-token) when it has none such:  \
     * the caller then reads the keyring itself, as before */                           \
    R(SOCKET_TOKEN, SOCKET, "token", OK_OR_ERROR,                                     \
      F(MIN_VALID, REQUIRED),                                                         \
      F(OUTCOME, REQUIRED) F(MESSAGE, REQUIRED) F(ACCESS_TOKEN, REQUIRED)             \
      F(PRESET, OPTIONAL) F(SOLE_SERVICE, OPTIONAL))                                  \
    R(SOCKET_LOGOUT, SOCKET, "logout", OK_OR_ERROR,                                   \
      ,                                                                               \
      F(OUTCOME, REQUIRED) F(MESSAGE, REQUIRED))                                      \
    /* oauth-keyring login (refresher/sign_in.h): start one; wait for its outcome on a   \
     * connection the refresher holds (closing it cancels); hand in a pasted answer      \
     * (refused: error bad-answer, the sign-in waits on); cancel. sign_in names it.     \
     * url is the authorize URL (state, challenge: shown only on request, never argv);  \
     * start_url, with listening, the listener's one-use start address for the browser. */ \
    R(SOCKET_SIGN_IN, SOCKET, "sign-in", OK_OR_ERROR,                                 \
      F(GRANT, OPTIONAL),                                                             \
      F(URL, REQUIRED) F(SIGN_IN, REQUIRED) F(LISTENING, OPTIONAL)                    \
      F(START_URL, OPTIONAL) F(MESSAGE, OPTIONAL) F(USER_CODE, OPTIONAL)              \
      F(VERIFICATION_URI, OPTIONAL) F(VERIFICATION_URI_COMPLETE, OPTIONAL)            \
      F(EXPIRES_AT, OPTIONAL))                                                        \
    /* a login's device sign-in still waiting, handed to the refresher that runs by the  \
     * one a newer login started (which then exits): it polls on */                      \
    R(SOCKET_DEVICE_WAIT, SOCKET, "device-wait", OK_OR_ERROR,                         \
      PROTOCOL_DEVICE_FIELDS(REQUIRED),                                               \
      F(MESSAGE, REQUIRED))                                                           \
    /* the device sign-in waiting now, if any, for oauth-keyring status and login       \
     * --desktop's notification: its code and address and until when */                  \
    R(SOCKET_DEVICE_STATUS, SOCKET, "device-status", OK_OR_ERROR,                     \
      ,                                                                               \
      F(MESSAGE, REQUIRED) F(USER_CODE, OPTIONAL) F(VERIFICATION_URI, OPTIONAL)       \
      F(VERIFICATION_URI_COMPLETE, OPTIONAL) F(EXPIRES_AT, OPTIONAL)                  \
      F(SIGN_IN, OPTIONAL))                                                           \
    R(SOCKET_SIGN_IN_WAIT, SOCKET, "sign-in-wait", OK_OR_ERROR,                       \
      F(SIGN_IN, REQUIRED),                                                           \
      F(OUTCOME, REQUIRED) F(MESSAGE, REQUIRED))                                      \
    R(SOCKET_SIGN_IN_ANSWER, SOCKET, "sign-in-answer", OK_OR_ERROR,                   \
      F(SIGN_IN, REQUIRED) F(ANSWER, REQUIRED),                                       \
      F(OUTCOME, REQUIRED) F(MESSAGE, REQUIRED))                                      \
    R(SOCKET_SIGN_IN_CANCEL, SOCKET, "sign-in-cancel", OK_OR_ERROR,                   \
      F(SIGN_IN, REQUIRED),                                                           \
      F(OUTCOME, REQUIRED) F(MESSAGE, REQUIRED))                                      \
    /* a refresher a newer login started, finding one running: plan from the keyring now */ \
    R(SOCKET_WAKE, SOCKET, "wake", OK_OR_ERROR,                                       \
      ,                                                                               \
      F(MESSAGE, REQUIRED))                                                           \
    /* oauth-keyring check (root) -> the helper as an unprivileged uid: the provider   \
     * for real, nothing stored. authorize_result: "answered" or why not (the https      \
     * transport's reason); grant_result: the OAuth error the token endpoint gave a      \
     * deliberately invalid code (invalid_grant: the client authenticated), or why none; \
     * with discover=1 the endpoints it lacks come from the issuer's metadata first.     \
     * grant (the configured sign_in): with device or both, device_result says what the  \
     * device authorization endpoint answered (a user code issued and dropped, or why    \
     * not); with device alone, no authorization endpoint (authorize_result not-used)    \
     * and the token endpoint is sent an invalid device code instead of a code */        \
    R(PROBE, CHECK, "probe", OK_OR_ERROR,                                             \
      F(AUTHORIZE_URL, OPTIONAL) F(TOKEN_URL, OPTIONAL) F(CLIENT_ID, REQUIRED)        \
      F(CLIENT_SECRET, OPTIONAL) F(REDIRECT_URI, OPTIONAL) F(CA_FILE, OPTIONAL)       \
      F(TIMEOUT, OPTIONAL) F(ISSUER, OPTIONAL) F(DISCOVER, OPTIONAL)                  \
      F(GRANT, OPTIONAL) F(DEVICE_AUTHORIZATION_URL, OPTIONAL) F(SCOPE, OPTIONAL),    \
      F(AUTHORIZE_RESULT, REQUIRED) F(AUTHORIZE_MESSAGE, REQUIRED)                    \
      F(GRANT_RESULT, REQUIRED) F(GRANT_MESSAGE, REQUIRED)                            \
      F(DEVICE_RESULT, OPTIONAL) F(DEVICE_MESSAGE, OPTIONAL))

#define PROTOCOL_ERROR_FIELDS F(REASON, REQUIRED) F(MESSAGE, REQUIRED)
/* clang-format on */

enum protocol_field_id {
#define X(id, name, exposure, kind) FIELD_##id,
    PROTOCOL_FIELDS(X)
#undef X
        PROTOCOL_FIELD_COUNT
};

enum protocol_request {
#define R(id, channel, command, replies, fields, ok_fields) REQUEST_##id,
    PROTOCOL_REQUESTS(R)
#undef R
        PROTOCOL_REQUEST_COUNT
};

/* Where a request travels, and so who sends it and which program reads it. */
enum protocol_channel {
    CHANNEL_LOGIN = 1 << 0,  /* the module -> pam_oauth_keyring_helper, its stdin */
    CHANNEL_START = 1 << 1,  /* the login helper -> a new pam_oauth_keyring_refresher, stdin */
    CHANNEL_CHILD = 1 << 2,  /* the refresher -> its child (the refresher program), stdin */
    CHANNEL_SOCKET = 1 << 3, /* oauth-keyring -> the refresher, SERVICE.sock */
    CHANNEL_CHECK = 1 << 4,  /* oauth-keyring check -> pam_oauth_keyring_helper, its stdin */
};
#define PROTOCOL_CHANNEL_COUNT 5

/* What each program reads: a request of another channel is refused there. */
#define PROTOCOL_LOGIN_HELPER_READS (CHANNEL_LOGIN | CHANNEL_CHECK)
#define PROTOCOL_REFRESHER_READS (CHANNEL_START | CHANNEL_CHILD)
#define PROTOCOL_REFRESHER_SOCKET_READS CHANNEL_SOCKET

enum protocol_presence { PROTOCOL_REQUIRED, PROTOCOL_OPTIONAL };
enum protocol_replies { PROTOCOL_OK_OR_ERROR, PROTOCOL_ERROR_ONLY };

struct protocol_field_rule {
    enum protocol_field_id field;
    enum protocol_presence presence;
};

struct protocol_request_spec {
    enum protocol_request request;
    enum protocol_channel channel;
    const char *command;
    enum protocol_replies replies;
    const struct protocol_field_rule *fields; /* field_count entries */
    size_t field_count;
    const struct protocol_field_rule *ok_fields; /* ok_field_count entries */
    size_t ok_field_count;
};

struct protocol_channel_spec {
    enum protocol_channel channel;
    const char *name;     /* "login" */
    const char *sender;   /* "module" */
    const char *receiver; /* "helper": "the helper's reply to 'answer' lacks 'code'" */
    const char *program;  /* the program that reads it: "pam_oauth_keyring_helper" */
    const char *carrier;  /* "socketpair (stdin)" */
};

/* The table itself, for the code that walks it (the tests, the docs). */
const struct protocol_request_spec *protocol_request_spec(enum protocol_request request);
const struct protocol_channel_spec *protocol_channel_spec(enum protocol_channel channel);
const struct protocol_field_rule *protocol_error_fields(size_t *count);
/* A device sign-in's fields (PROTOCOL_DEVICE_FIELDS): the device code and what goes with it,
 * for whoever hands one on or keeps a copy. */
const struct protocol_field_rule *protocol_device_fields(size_t *count);
const char *protocol_field_name(enum protocol_field_id field);
enum protocol_exposure protocol_field_exposure(enum protocol_field_id field);
enum protocol_kind protocol_field_kind(enum protocol_field_id field);

/* The field called name; false when the table has none. */
bool protocol_field_from_name(const char *name, enum protocol_field_id *field);

/* The request command names among the channels (a mask); NULL when there is none. */
const struct protocol_request_spec *protocol_request_find(unsigned channels, const char *command);

/* Starts an empty request, or an "ok" / "error" reply. */
int protocol_request_init(struct protocol_message *message, enum protocol_request request);
int protocol_reply_init(struct protocol_message *message, bool ok);

/* protocol_message_add and protocol_message_get by the table's field. */
int protocol_set(struct protocol_message *message, enum protocol_field_id field, const char *value);
const char *protocol_get(const struct protocol_message *message, enum protocol_field_id field);

/* Adds to message every field of source that spec's request lists, except skip (a field
 * the caller sets itself; PROTOCOL_FIELD_COUNT: none). -1 when one does not fit. */
int protocol_copy_fields(struct protocol_message *message, const struct protocol_request_spec *spec,
                         const struct protocol_message *source, enum protocol_field_id skip);

/* Whether a received request is one a program reading channels takes, complete and well
 * formed, before any work: its command known there, every field one its request lists,
 * every required one present, each value of its kind. 0 with *spec set, or -1 with why
 * ("'refresh' is not a request pam_oauth_keyring_helper takes", "the 'exchange' request
 * lacks 'code'"), fit for a log: it names fields, never shows a value. */
int protocol_request_accept(unsigned channels, const struct protocol_message *request,
                            const struct protocol_request_spec **spec, char *why, size_t why_size);

/* Checks a decoded reply to the request spec (NULL: a request the table does not have): an
 * "ok" (when the request has one) carries every field its ok fields require, an "error" a
 * reason and a message; no field the table does not list there, none empty, each value of
 * its kind. A reader that checked it finds every field it needs. 0, or -1 with why ("the
 * helper's reply to 'answer' lacks 'code'") fit for the log. */
int protocol_reply_check(const struct protocol_request_spec *spec,
                         const struct protocol_message *reply, char *why, size_t why_size);

/* Whether outcome is a name a reply's outcome field may hold: one of store/refresh.h's
 * refresh outcomes, "deferred" or "logged-out". */
bool protocol_outcome_is_known(const char *outcome);

#endif
