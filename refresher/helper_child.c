#include "config.h"

#include "refresher/helper_child.h"

#include <stdio.h>

#include "common/child_runner.h"
#include "common/deadline.h"
#include "common/secret_memory.h"

/* This program started afresh: /proc/self/exe, not a path that may have been replaced. */
#define SELF_PROGRAM "/proc/self/exe"

/* The arguments are only for `ps`: "pam_oauth_keyring_refresher refresh SERVICE". */
int helper_child_call(const struct protocol_message *request, const char *service, long timeout_ms,
                      struct protocol_message *reply)
{
    char program_name[] = "pam_oauth_keyring_refresher";
    char command_argument[PROTOCOL_MAX_NAME + 1], service_argument[256];
    char *const arguments[] = {program_name, command_argument, service_argument, NULL};
    const struct child_program self = {
        .path = SELF_PROGRAM, .arguments = arguments, .name = "refresher's child"};
    long long deadline_ms = monotonic_now_ms() + timeout_ms;
    struct capped_buffer encoded = {0}, received = {0};
    struct child_outcome outcome;
    char why[256];
    int rv = -1;

    snprintf(command_argument, sizeof(command_argument), "%s", request->command);
    snprintf(service_argument, sizeof(service_argument), "%s", service);
    if (capped_buffer_init(&encoded, PROTOCOL_MAX_MESSAGE) != 0 ||
        capped_buffer_init(&received, PROTOCOL_MAX_MESSAGE) != 0 ||
        protocol_encode(request, &encoded) != 0)
        goto out;
    if (child_run(&self, encoded.data, encoded.length, deadline_ms, &received, &outcome, why,
                  sizeof(why)) == 0)
        rv = protocol_decode(received.data, received.length, reply);
out:
    capped_buffer_wipe(&encoded);
    capped_buffer_wipe(&received);
    return rv;
}
