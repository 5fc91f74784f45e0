#include "config.h"

#include "cli/login.h"

#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/desktop_signin.h"
#include "cli/device_offer.h"
#include "cli/refresher_client.h"
#include "common/deadline.h"
#include "common/message_socket.h"
#include "common/protocol_table.h"
#include "common/secret_memory.h"
#include "common/text_checks.h"
#include "oauth/answer.h"
#include "oauth/qr_text.h"
#include "store/user_state.h"

/* Exit statuses, as oauth-keyring documents them. */
#define LOGIN_OK 0
#define LOGIN_NOT_SIGNED_IN 2
#define LOGIN_KEYRING 3
#define LOGIN_UNREACHABLE 4

/* How long the refresher may take to answer "sign-in": a browser sign-in answers at once
 * (after a discovery of at most 4 s), a device sign-in after its device authorization request,
 * which a child of the refresher makes (refresher.c DEVICE_START_MS, 12 s). Without --device
 * the refresher still chooses the device grant for a provider whose only grant it is, which
 * this side cannot know beforehand: every start may take that long. */
#define START_WAIT_MS 15000
/* "device-status": the refresher answers it from memory. */
#define DEVICE_STATUS_WAIT_MS 3000
/* The outcome once the waiting connection is readable; a cancel; a pasted answer (that one
 * includes the exchange: the provider's timeout, at most 120 s, and the keyring). */
#define OUTCOME_WAIT_MS 5000
#define CANCEL_WAIT_MS 5000
#define ANSWER_WAIT_MS 150000
#define QR_MAX_BYTES (64 * 1024)
#define INPUT_MAX (ANSWER_MAX_BYTES + 2)

struct line_reader {
    int fd;
    size_t used;
    bool ended;
    char data[INPUT_MAX];
};

struct login {
    const char *service;
    const struct login_options *options;
    char name[64]; /* the sign-in's, from the refresher */
    int waiter;    /* the "sign-in-wait" connection: its answer is the outcome */
    bool device;   /* a device sign-in (RFC 8628): offer says where, with which code */
    struct device_offer offer;
    struct line_reader input; /* what the user pastes: secret, wiped */
    bool input_open;
    bool too_long; /* the pasted line being read is longer than any answer */
};

static volatile sig_atomic_t interrupted;

static void on_interrupt(int signal_number)
{
    (void)signal_number;
    interrupted = 1;
}

/* The next whole line (without '\n') out of what reader holds, into line: true when there was
 * one. A line that cannot fit is cut at the buffer's size. */
static bool take_line(struct line_reader *reader, char *line, size_t size)
{
    char *newline = memchr(reader->data, '\n', reader->used);
    size_t length = newline != NULL ? (size_t)(newline - reader->data) : reader->used;

    if (newline == NULL && reader->used < sizeof(reader->data) && !reader->ended)
        return false;
    if (length == 0 && newline == NULL)
        return false;
    snprintf(line, size, "%.*s", (int)length, reader->data);
    length = newline != NULL ? length + 1 : length;
    memmove(reader->data, reader->data + length, reader->used - length);
    reader->used -= length;
    secret_wipe(reader->data + reader->used, length);
    return true;
}

/* Reads what fd has; ended at EOF or an error. */
static void fill(struct line_reader *reader)
{
    ssize_t got =
        read(reader->fd, reader->data + reader->used, sizeof(reader->data) - reader->used);

    if (got < 0 && errno == EINTR)
        return;
    if (got <= 0)
        reader->ended = true;
    else
        reader->used += (size_t)got;
}

/* One sign-in request (sign_in named, answer when not NULL) and its checked answer. */
static int call(const struct login *login, enum protocol_request request, const char *answer,
                long timeout_ms, struct protocol_message *reply)
{
    struct protocol_message message;
    int rv = protocol_request_init(&message, request);

    rv |= protocol_set(&message, FIELD_SIGN_IN, login->name[0] != '\0' ? login->name : NULL);
    rv |= protocol_set(&message, FIELD_ANSWER, answer);
    if (rv == 0)
        rv = refresher_call(login->service, &message, timeout_ms, reply);
    protocol_message_clear(&message);
    return rv;
}

static int exit_for(const char *outcome)
{
    static const char *const not_signed_in[] = {"denied", "cancelled", "timed-out", "superseded",
                                                "expired"};

    if (strcmp(outcome, "signed-in") == 0)
        return LOGIN_OK;
    for (size_t i = 0; i < sizeof(not_signed_in) / sizeof(not_signed_in[0]); i++) {
        if (strcmp(outcome, not_signed_in[i]) == 0)
            return LOGIN_NOT_SIGNED_IN;
    }
    return strcmp(outcome, "keyring-failed") == 0 ? LOGIN_KEYRING : LOGIN_UNREACHABLE;
}

/* The refresher's answer with the sign-in's outcome: told to the user, turned into a status. */
static int report_outcome(const struct login *login, const struct protocol_message *reply)
{
    bool ok = strcmp(reply->command, "ok") == 0;
    char outcome[64], message[512];
    int status;

    text_copy_printable(outcome, sizeof(outcome),
                        protocol_get(reply, ok ? FIELD_OUTCOME : FIELD_REASON));
    text_copy_printable(message, sizeof(message), protocol_get(reply, FIELD_MESSAGE));
    status = ok ? exit_for(outcome) : LOGIN_UNREACHABLE;
    if (status == LOGIN_OK)
        printf("Signed in: the %s tokens are in your keyring.\n", login->service);
    else
        fprintf(stderr, "oauth-keyring: not signed in (%s): %s\n", outcome, message);
    return status;
}

/* The browser command for url: the first entry of $BROWSER (a colon-separated list, an
 * argument "%s" standing for the URL, else the URL appended), as gh, gcloud (Python's
 * webbrowser) and git web--browse honour it: the user's own choice; else xdg-open, the
 * desktop's default browser. A new vector (g_strfreev), or NULL when $BROWSER does not parse. */
static char **browser_command(const char *url)
{
    const char *browser = getenv("BROWSER");
    const char *chosen = browser != NULL ? browser : "";
    char *first = g_strndup(chosen, strcspn(chosen, ":"));
    char **argv = NULL;
    int argc = 0;
    bool placed = false;

    if (first[0] == '\0' || !g_shell_parse_argv(first, &argc, &argv, NULL)) {
        g_strfreev(argv);
        argv = g_new0(char *, 2);
        argv[0] = g_strdup("xdg-open");
        argc = 1;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "%s") == 0) {
            g_free(argv[i]);
            argv[i] = g_strdup(url);
            placed = true;
        }
    }
    if (!placed) {
        argv = g_renew(char *, argv, argc + 2);
        argv[argc] = g_strdup(url);
        argv[argc + 1] = NULL;
    }
    g_free(first);
    return argv;
}

/* Runs the browser on url, detached, its output discarded; not waited for (a browser may live
 * on). */
static void open_browser(const char *url)
{
    char **argv = browser_command(url);
    GError *error = NULL;

    if (!g_spawn_async(NULL, argv, NULL,
                       G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                           G_SPAWN_STDERR_TO_DEV_NULL | G_SPAWN_STDIN_FROM_DEV_NULL,
                       NULL, NULL, NULL, &error)) {
        fprintf(stderr, "oauth-keyring: cannot open a browser (%s): %s\n", argv[0], error->message);
        g_clear_error(&error);
    }
    g_strfreev(argv);
}

static bool graphical_session(void)
{
    const char *wayland = getenv("WAYLAND_DISPLAY"), *x11 = getenv("DISPLAY");

    return (wayland != NULL && wayland[0] != '\0') || (x11 != NULL && x11[0] != '\0');
}

/* The authorize URL (state and PKCE challenge in it) in the user's own terminal, with its QR
 * code when asked: for a browser on another device, whose final address is then pasted. */
static void show_authorize_url(const struct login *login, const char *url)
{
    char *drawing = login->options->qr ? qr_text_render(url, QR_MAX_BYTES) : NULL;

    printf("%s\n", url);
    if (drawing != NULL)
        printf("%s\n", drawing);
    else if (login->options->qr)
        fprintf(stderr, "oauth-keyring: the address is too long for a QR code\n");
    secret_free_string(&drawing);
}

/* The addresses, the browser, and how the sign-in comes back. The browser gets the listener's
 * one-use start address, never the authorize URL: a command line is readable by every local
 * user, and the state and the PKCE challenge in that URL would let another user sign in to
 * their own account and have any program of this user deliver the code (issue 19). The
 * authorize URL is printed only when no browser here is started for the user (--no-browser,
 * no graphical session: the browser may be on another device), when a QR code is asked for (a
 * phone cannot reach this computer's loopback), or when nothing listens (paste only). */
static void show_start(struct login *login, const char *url, const char *start_url,
                       const char *listening)
{
    bool browser = !login->options->no_browser && graphical_session();

    if (start_url != NULL) {
        printf("To sign in to %s, open this address in a browser on this computer (it works "
               "once):\n%s\n",
               login->service, start_url);
    } else {
        printf("To sign in to %s, open this address in a browser:\n", login->service);
        show_authorize_url(login, url);
    }
    if (start_url != NULL && (!browser || login->options->qr)) {
        printf("In a browser elsewhere, open this one instead, then paste the address it ends "
               "on:\n");
        show_authorize_url(login, url);
    }
    if (listening != NULL)
        printf("The sign-in completes by itself when the browser comes back to %s.\n", listening);
    if (login->input_open)
        printf("Or paste the code or the address the browser was sent to here, then Enter:\n");
    fflush(stdout);
    if (browser && start_url == NULL)
        fprintf(stderr, "oauth-keyring: no browser is started for you: its command line would "
                        "show this sign-in's address to every user of this computer; open the "
                        "address above yourself\n");
    if (browser && start_url != NULL) {
        /* After a graphical login a browser window nobody asked for needs a word first. */
        if (login->options->desktop && desktop_notify_signin(login->service, url) != 0)
            fprintf(stderr, "oauth-keyring: no desktop notification (no server answered)\n");
        open_browser(start_url);
    }
}

/* A line the user typed or pasted, handed to the refresher: -1 while the sign-in goes on (the
 * answer was refused, or nothing was sent), else the command's exit status. */
static int send_pasted(struct login *login, const char *line)
{
    struct protocol_message reply;
    char message[512];
    int status = -1;

    memset(&reply, 0, sizeof(reply));
    if (strlen(line) > ANSWER_MAX_BYTES) {
        fprintf(stderr, "oauth-keyring: that is longer than any code or address\n");
    } else if (line[0] != '\0') {
        if (call(login, REQUEST_SOCKET_SIGN_IN_ANSWER, line, ANSWER_WAIT_MS, &reply) != 0) {
            fprintf(stderr, "oauth-keyring: the refresher did not answer\n");
            status = LOGIN_UNREACHABLE;
        } else if (strcmp(reply.command, "ok") == 0) {
            status = report_outcome(login, &reply);
        } else {
            text_copy_printable(message, sizeof(message), protocol_get(&reply, FIELD_MESSAGE));
            fprintf(stderr, "oauth-keyring: not accepted: %s\n", message);
        }
    }
    protocol_message_clear(&reply);
    return status;
}

/* Every whole line on stdin so far; -1 while the sign-in goes on. */
static int take_input(struct login *login)
{
    char line[INPUT_MAX + 1];
    int status = -1;

    fill(&login->input);
    while (status < 0 && take_line(&login->input, line, sizeof(line))) {
        size_t length = strlen(line);
        bool cut =
            length >= INPUT_MAX && memchr(login->input.data, '\n', login->input.used) == NULL;
        if (length > 0 && line[length - 1] == '\r')
            line[--length] = '\0';
        /* The rest of a line too long to take arrives next: it belongs to the same paste. */
        if (!login->too_long)
            status = send_pasted(login, line);
        login->too_long = cut;
        secret_wipe(line, sizeof(line));
    }
    if (login->input.ended)
        login->input_open = false;
    return status;
}

/* Cancels the sign-in in the refresher; its answer says how it ended. */
static int cancel(struct login *login)
{
    struct protocol_message reply;
    int status = LOGIN_NOT_SIGNED_IN;

    memset(&reply, 0, sizeof(reply));
    if (call(login, REQUEST_SOCKET_SIGN_IN_CANCEL, NULL, CANCEL_WAIT_MS, &reply) == 0)
        status = report_outcome(login, &reply);
    else
        fprintf(stderr, "oauth-keyring: the refresher did not confirm the cancel\n");
    protocol_message_clear(&reply);
    return status;
}

/* The outcome on the waiting connection. */
static int waited_outcome(struct login *login)
{
    struct protocol_message reply;
    int status = LOGIN_UNREACHABLE;

    memset(&reply, 0, sizeof(reply));
    if (refresher_receive(login->waiter, REQUEST_SOCKET_SIGN_IN_WAIT,
                          monotonic_now_ms() + OUTCOME_WAIT_MS, &reply) == 0)
        status = report_outcome(login, &reply);
    else
        fprintf(stderr, "oauth-keyring: the refresher ended the sign-in without an outcome\n");
    protocol_message_clear(&reply);
    return status;
}

/* Ctrl-C, SIGTERM or SIGHUP (the terminal closed, the ssh connection lost) while a device
 * sign-in waits: only this program stops. The user may still approve on the phone; the
 * refresher polls until the code expires and stores the pair then. */
static int stop_waiting(const struct login *login)
{
    char until[16];

    device_offer_until(&login->offer, until, sizeof(until));
    fprintf(stderr,
            "oauth-keyring: stopped waiting; the sign-in to %s goes on until %s: approve it and "
            "the token is stored (oauth-keyring status shows it waiting)\n",
            login->service, until);
    return LOGIN_NOT_SIGNED_IN;
}

/* Until the sign-in ends: the outcome on the waiting connection, the user's pastes, an
 * interruption. */
static int wait_for_outcome(struct login *login, const sigset_t *unblocked)
{
    int status = -1;

    while (status < 0) {
        struct pollfd fds[2] = {{login->waiter, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
        int ready = ppoll(fds, login->input_open ? 2 : 1, NULL, unblocked);
        if (ready < 0 && errno == EINTR && interrupted)
            status = login->device ? stop_waiting(login) : cancel(login);
        else if (ready > 0 && fds[0].revents != 0)
            status = waited_outcome(login);
        else if (ready > 0 && login->input_open && fds[1].revents != 0)
            status = take_input(login);
    }
    return status;
}

/* SIGINT, SIGTERM, SIGHUP: blocked but while waiting in ppoll, so none is missed. */
static void catch_interrupts(sigset_t *previous, sigset_t *unblocked)
{
    struct sigaction action;
    sigset_t blocked;

    memset(&action, 0, sizeof(action));
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGHUP);
    sigprocmask(SIG_BLOCK, &blocked, previous);
    *unblocked = *previous;
    sigdelset(unblocked, SIGINT);
    sigdelset(unblocked, SIGTERM);
    sigdelset(unblocked, SIGHUP);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
}

/* The autostart entry's run with nothing listening: no browser may be started with the
 * authorize URL (show_start) and nobody can paste (no terminal), so waiting would achieve
 * nothing for the sign-in's 300 s, and hold the next service's turn. The user is told where it
 * works, and the sign-in is cancelled. */
static int desktop_cannot_sign_in(struct login *login)
{
    if (desktop_notify_use_terminal(login->service) != 0)
        fprintf(stderr, "oauth-keyring: no desktop notification (no server answered)\n");
    return cancel(login);
}

/* "sign-in" (grant=device with --device) and its checked answer, within START_WAIT_MS. */
static int ask_sign_in(const struct login *login, struct protocol_message *reply)
{
    struct protocol_message message;
    int rv = protocol_request_init(&message, REQUEST_SOCKET_SIGN_IN);

    rv |= protocol_set(&message, FIELD_GRANT, login->options->device ? "device" : NULL);
    if (rv == 0)
        rv = refresher_call(login->service, &message, START_WAIT_MS, reply);
    protocol_message_clear(&message);
    return rv;
}

/* With --device or --desktop, a device sign-in the refresher already polls for (a login's,
 * shown at its prompt) is joined, never replaced: a new one would end the polling for the code
 * the user may be typing on the phone right now. true when one waits (login->offer). */
static bool join_waiting_device(struct login *login)
{
    if (login->options->device || login->options->desktop)
        login->device =
            device_offer_ask_waiting(login->service, DEVICE_STATUS_WAIT_MS, &login->offer) == 1;
    return login->device;
}

/* Opens the "sign-in-wait" connection for login->name: its answer is the outcome. 0, or -1
 * (said). */
static int hold_wait(struct login *login)
{
    struct protocol_message wait;
    int rv = -1;

    memset(&wait, 0, sizeof(wait));
    login->waiter = refresher_connect(login->service);
    if (login->waiter >= 0 && protocol_request_init(&wait, REQUEST_SOCKET_SIGN_IN_WAIT) == 0 &&
        protocol_set(&wait, FIELD_SIGN_IN, login->name) == 0 &&
        message_socket_send(login->waiter, &wait, monotonic_now_ms() + OUTCOME_WAIT_MS) == 0)
        rv = 0;
    else
        fprintf(stderr, "oauth-keyring: the refresher for %s stopped answering\n", login->service);
    protocol_message_clear(&wait);
    return rv;
}

/* The autostart entry's run with a device sign-in: the notification is the whole offer. Nothing
 * is waited for here: the refresher polls and stores the pair when the user approves, and a
 * wait would hold the next service's turn for as long as the code lives. 0 once offered. */
static int desktop_device_offered(const struct login *login, const char *until)
{
    if (desktop_notify_device(login->service, &login->offer) != 0)
        fprintf(stderr, "oauth-keyring: no desktop notification (no server answered)\n");
    printf("The token is stored when you approve (until %s).\n", until);
    return LOGIN_OK;
}

/* A device sign-in (RFC 8628): where to approve it and the code, in the module's shape; never a
 * browser (this may be an ssh session, or a computer without one). Then the wait for its
 * outcome (-1), nothing pasted: the approval happens at the provider. */
static int show_device(struct login *login)
{
    char until[16];

    snprintf(login->name, sizeof(login->name), "%s", login->offer.name);
    login->input_open = false;
    device_offer_until(&login->offer, until, sizeof(until));
    device_offer_print(&login->offer, login->service, login->options->qr);
    if (login->options->desktop)
        return desktop_device_offered(login, until);
    if (hold_wait(login) != 0)
        return LOGIN_UNREACHABLE;
    printf("Waiting for your approval until %s; Ctrl-C stops waiting, the sign-in goes on until "
           "then.\n",
           until);
    fflush(stdout);
    return -1;
}

/* A browser sign-in: the waiting connection, the addresses, the browser. -1 when it runs. */
static int show_browser(struct login *login, const struct protocol_message *reply)
{
    const char *listening = protocol_get(reply, FIELD_LISTENING);
    const char *why = protocol_get(reply, FIELD_MESSAGE);

    snprintf(login->name, sizeof(login->name), "%s", protocol_get(reply, FIELD_SIGN_IN));
    if (hold_wait(login) != 0)
        return LOGIN_UNREACHABLE;
    if (listening == NULL)
        fprintf(stderr, "oauth-keyring: the browser cannot come back here (%s): paste\n",
                why != NULL ? why : "no listener");
    show_start(login, protocol_get(reply, FIELD_URL), protocol_get(reply, FIELD_START_URL),
               listening);
    if (login->options->desktop && protocol_get(reply, FIELD_START_URL) == NULL)
        return desktop_cannot_sign_in(login);
    return -1;
}

/* Starts the sign-in, or joins a device sign-in that waits; -1 when it runs. A reply with a
 * user code is a device sign-in: --device asked for it, or the provider has no other grant. */
static int start(struct login *login)
{
    struct protocol_message reply;
    int status;

    memset(&reply, 0, sizeof(reply));
    if (join_waiting_device(login)) {
        status = show_device(login);
    } else if (ask_sign_in(login, &reply) != 0) {
        fprintf(stderr, "oauth-keyring: the refresher for %s did not start a sign-in\n",
                login->service);
        status = LOGIN_UNREACHABLE;
    } else if (strcmp(reply.command, "ok") != 0) {
        status = report_outcome(login, &reply);
    } else if (device_offer_take(&reply, &login->offer) == 0) {
        login->device = true;
        status = show_device(login);
    } else {
        status = show_browser(login, &reply);
    }
    protocol_message_clear(&reply);
    return status;
}

int login_run(const char *service, const struct login_options *options)
{
    struct login *login = g_new0(struct login, 1);
    sigset_t previous, unblocked;
    int status;

    login->service = service;
    login->options = options;
    login->input.fd = STDIN_FILENO;
    login->input_open = true;
    login->waiter = -1;
    if (!refresher_is_running(service)) {
        fprintf(stderr,
                "oauth-keyring: no refresher is running for %s: sign in at your next login, or "
                "ask your admin to enable the module for this service\n",
                service);
        g_free(login);
        return LOGIN_UNREACHABLE;
    }
    catch_interrupts(&previous, &unblocked);
    status = start(login);
    if (status < 0)
        status = wait_for_outcome(login, &unblocked);
    if (login->waiter >= 0)
        close(login->waiter);
    device_offer_clear(&login->offer);
    sigprocmask(SIG_SETMASK, &previous, NULL);
    secret_wipe(login, sizeof(*login));
    g_free(login);
    return status;
}

bool login_interrupted(void)
{
    return interrupted != 0;
}
