#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/child_runner.h"
#include "common/deadline.h"
#include "common/secret_memory.h"

#define ANSWER_CAP 4096

/* One run of `sh -c script` with message on its stdin. */
struct run {
    struct capped_buffer answer;
    struct child_outcome outcome;
    char why[256];
    int rv;
    long long took_ms;
};

static void run_script(const char *script, const char *message, long long timeout_ms,
                       struct run *run)
{
    char sh[] = "sh", dash_c[] = "-c";
    char *script_copy = strdup(script);
    char *const arguments[] = {sh, dash_c, script_copy, NULL};
    const struct child_program program = {
        .path = "/bin/sh", .arguments = arguments, .name = "test child"};
    long long start = monotonic_now_ms();

    assert_non_null(script_copy);
    memset(run, 0, sizeof(*run));
    assert_int_equal(capped_buffer_init(&run->answer, ANSWER_CAP), 0);
    run->rv = child_run(&program, message, strlen(message), start + timeout_ms, &run->answer,
                        &run->outcome, run->why, sizeof(run->why));
    run->took_ms = monotonic_now_ms() - start;
    free(script_copy);
}

/* Our child is gone: no zombie left, nothing of ours to wait for. */
static void assert_reaped(pid_t pid)
{
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    assert_int_equal(kill(pid, 0), -1);
}

static void test_child_that_answers(void **state)
{
    struct run run;

    (void)state;
    run_script("read -r line; printf 'got %s\\n' \"$line\"; exit 0", "hello\n", 5000, &run);
    assert_int_equal(run.rv, 0);
    assert_true(run.outcome.answered);
    assert_false(run.outcome.timed_out);
    assert_true(run.outcome.status_known);
    assert_int_equal(run.outcome.exit_code, 0);
    assert_string_equal(run.answer.data, "got hello\n");
    assert_reaped(run.outcome.pid);
    capped_buffer_wipe(&run.answer);
}

/* The message reaches the child whole and then end of file: `cat` ends by itself. */
static void test_message_then_end_of_file(void **state)
{
    struct run run;

    (void)state;
    run_script("exec cat", "line one\nline two\n", 5000, &run);
    assert_int_equal(run.rv, 0);
    assert_string_equal(run.answer.data, "line one\nline two\n");
    assert_int_equal(run.outcome.exit_code, 0);
    capped_buffer_wipe(&run.answer);
}

static void test_child_that_never_answers(void **state)
{
    struct run run;

    (void)state;
    run_script("exec sleep 60", "", 300, &run);
    assert_int_equal(run.rv, -1);
    assert_true(run.outcome.timed_out);
    assert_false(run.outcome.stuck);
    assert_true(run.took_ms >= 300);
    assert_true(run.took_ms < 300 + CHILD_TERM_GRACE_MS);
    assert_true(run.outcome.status_known);
    assert_int_equal(run.outcome.exit_signal, SIGTERM);
    assert_non_null(strstr(run.why, "the test child did not answer in time and was killed"));
    assert_reaped(run.outcome.pid);
    capped_buffer_wipe(&run.answer);
}

/* An answer, then the child lingers: the deadline still holds for its exit. */
static void test_child_that_answers_and_lingers(void **state)
{
    struct run run;

    (void)state;
    run_script("echo early; exec 1>&- 0<&-; exec sleep 60", "", 300, &run);
    assert_int_equal(run.rv, -1);
    assert_true(run.outcome.answered);
    assert_true(run.outcome.timed_out);
    assert_true(run.took_ms < 300 + CHILD_TERM_GRACE_MS);
    assert_reaped(run.outcome.pid);
    capped_buffer_wipe(&run.answer);
}

static void test_child_that_exits_without_answering(void **state)
{
    struct run run;

    (void)state;
    run_script("exit 3", "not read\n", 5000, &run);
    assert_int_equal(run.rv, 0);
    assert_true(run.outcome.answered);
    assert_int_equal(run.answer.length, 0);
    assert_true(run.outcome.status_known);
    assert_int_equal(run.outcome.exit_code, 3);
    assert_true(run.took_ms < 5000);
    assert_reaped(run.outcome.pid);
    capped_buffer_wipe(&run.answer);
}

static void test_child_that_ignores_sigterm(void **state)
{
    struct run run;

    (void)state;
    run_script("trap '' TERM; exec sleep 60", "", 200, &run);
    assert_int_equal(run.rv, -1);
    assert_true(run.outcome.timed_out);
    assert_false(run.outcome.stuck);
    assert_int_equal(run.outcome.exit_signal, SIGKILL);
    assert_true(run.took_ms >= 200 + CHILD_TERM_GRACE_MS);
    assert_true(run.took_ms < 200 + CHILD_TERM_GRACE_MS + CHILD_KILL_GRACE_MS);
    assert_reaped(run.outcome.pid);
    capped_buffer_wipe(&run.answer);
}

static void test_child_that_answers_too_much(void **state)
{
    struct run run;

    (void)state;
    run_script("while :; do echo 0123456789abcdef0123456789abcdef; done", "", 5000, &run);
    assert_int_equal(run.rv, -1);
    assert_false(run.outcome.answered);
    assert_false(run.outcome.timed_out);
    assert_true(run.answer.length <= ANSWER_CAP);
    assert_non_null(strstr(run.why, "the test child's reply is larger than 4096 bytes"));
    assert_true(run.took_ms < 5000);
    assert_reaped(run.outcome.pid);
    capped_buffer_wipe(&run.answer);
}

static void test_program_that_cannot_be_executed(void **state)
{
    char name[] = "missing";
    char *const arguments[] = {name, NULL};
    const struct child_program program = {
        .path = "/nonexistent/program", .arguments = arguments, .name = "test child"};
    struct capped_buffer answer;
    struct child_outcome outcome;
    char why[256];

    (void)state;
    assert_int_equal(capped_buffer_init(&answer, ANSWER_CAP), 0);
    assert_int_equal(
        child_run(&program, "", 0, monotonic_now_ms() + 5000, &answer, &outcome, why, sizeof(why)),
        0);
    assert_int_equal(outcome.exit_code, CHILD_EXIT_EXEC);
    assert_reaped(outcome.pid);
    capped_buffer_wipe(&answer);
}

static int refuse_to_start(const void *context)
{
    return *(const int *)context;
}

/* The preparation step runs in the child, and its failure is the child's exit status. */
static void test_preparation_step_decides(void **state)
{
    static const int status = 42;
    char sh[] = "sh", dash_c[] = "-c", script[] = "echo ran";
    char *const arguments[] = {sh, dash_c, script, NULL};
    const struct child_program program = {.path = "/bin/sh",
                                          .arguments = arguments,
                                          .name = "test child",
                                          .prepare = refuse_to_start,
                                          .prepare_context = &status};
    struct capped_buffer answer;
    struct child_outcome outcome;
    char why[256];

    (void)state;
    assert_int_equal(capped_buffer_init(&answer, ANSWER_CAP), 0);
    assert_int_equal(
        child_run(&program, "", 0, monotonic_now_ms() + 5000, &answer, &outcome, why, sizeof(why)),
        0);
    assert_int_equal(outcome.exit_code, 42);
    assert_int_equal(answer.length, 0);
    capped_buffer_wipe(&answer);
}

/* The child gets nothing of ours but stdin, stdout and stderr. */
static void test_child_inherits_no_other_descriptor(void **state)
{
    int pipe_ends[2];
    struct run run;

    (void)state;
    assert_int_equal(pipe(pipe_ends), 0);
    run_script("ls /proc/self/fd | tr '\\n' ' '", "", 5000, &run);
    assert_int_equal(run.rv, 0);
    /* ls's own directory fd is the 3 it lists. */
    assert_string_equal(run.answer.data, "0 1 2 3 ");
    close(pipe_ends[0]);
    close(pipe_ends[1]);
    capped_buffer_wipe(&run.answer);
}

/* A sibling that has exited stays unreaped for its owner: the runner waits for its own pid
 * (or pidfd) only. */
static void test_reaps_only_its_own_child(void **state)
{
    siginfo_t info;
    pid_t sibling = fork();
    struct run run;
    int status = 0;

    (void)state;
    if (sibling == 0)
        _exit(7);
    assert_true(sibling > 0);
    /* Wait for the sibling's exit without reaping it. */
    memset(&info, 0, sizeof(info));
    assert_int_equal(waitid(P_PID, (id_t)sibling, &info, WEXITED | WNOWAIT), 0);
    run_script("exit 0", "", 5000, &run);
    assert_int_equal(run.rv, 0);
    capped_buffer_wipe(&run.answer);
    run_script("exec sleep 60", "", 100, &run);
    assert_true(run.outcome.timed_out);
    assert_int_equal(waitpid(sibling, &status, WNOHANG), sibling);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 7);
    capped_buffer_wipe(&run.answer);
}

static void count_signal(int signal_number)
{
    (void)signal_number;
}

static void test_sigchld_disposition_untouched(void **state)
{
    struct sigaction mine, after;
    sigset_t mask_before, mask_after;
    struct run run;

    (void)state;
    memset(&mine, 0, sizeof(mine));
    mine.sa_handler = count_signal;
    mine.sa_flags = SA_RESTART;
    assert_int_equal(sigaction(SIGCHLD, &mine, NULL), 0);
    assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &mask_before), 0);
    run_script("exec sleep 60", "", 100, &run);
    assert_true(run.outcome.timed_out);
    capped_buffer_wipe(&run.answer);
    run_script("echo fine", "", 5000, &run);
    assert_int_equal(run.rv, 0);
    capped_buffer_wipe(&run.answer);
    assert_int_equal(sigaction(SIGCHLD, NULL, &after), 0);
    assert_ptr_equal(after.sa_handler, count_signal);
    assert_int_equal(after.sa_flags & SA_RESTART, SA_RESTART);
    assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &mask_after), 0);
    assert_int_equal(sigismember(&mask_after, SIGCHLD), sigismember(&mask_before, SIGCHLD));
    signal(SIGCHLD, SIG_DFL);
}

/* An application that ignores SIGCHLD has its children reaped by the kernel: the answer still
 * counts, the status is unknown, and nothing hangs. */
static void test_application_ignores_sigchld(void **state)
{
    struct run run;

    (void)state;
    signal(SIGCHLD, SIG_IGN);
    run_script("echo answer", "", 5000, &run);
    signal(SIGCHLD, SIG_DFL);
    assert_int_equal(run.rv, 0);
    assert_string_equal(run.answer.data, "answer\n");
    assert_false(run.outcome.status_known);
    assert_true(run.took_ms < 5000);
    capped_buffer_wipe(&run.answer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_that_answers),
        cmocka_unit_test(test_message_then_end_of_file),
        cmocka_unit_test(test_child_that_never_answers),
        cmocka_unit_test(test_child_that_answers_and_lingers),
        cmocka_unit_test(test_child_that_exits_without_answering),
        cmocka_unit_test(test_child_that_ignores_sigterm),
        cmocka_unit_test(test_child_that_answers_too_much),
        cmocka_unit_test(test_program_that_cannot_be_executed),
        cmocka_unit_test(test_preparation_step_decides),
        cmocka_unit_test(test_child_inherits_no_other_descriptor),
        cmocka_unit_test(test_reaps_only_its_own_child),
        cmocka_unit_test(test_sigchld_disposition_untouched),
        cmocka_unit_test(test_application_ignores_sigchld),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
