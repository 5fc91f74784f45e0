#!/bin/bash
# oauth-keyring exec (issue 13, item 6): `oauth-keyring exec -- COMMAND...` runs COMMAND with
# the fresh token in COMMAND's environment only, in a private session of an unprivileged user
# (nobody; root is needed to read the non-dumpable CLI's /proc/PID/environ):
#   1. Snyk preset (recorded in the refresh item): COMMAND sees SNYK_OAUTH_TOKEN = the stored
#      token, and no OAUTH_ACCESS_TOKEN; its arguments arrive as given; its exit status (7) is
#      the CLI's;
#   2. while COMMAND runs, neither the CLI nor the shell holds SNYK_OAUTH_TOKEN=<token> anywhere
#      in its memory (tests/process_memory.py reads /proc/PID/mem: the live environment, heap,
#      stack - so a setenv or putenv of the token in the CLI is caught, which the environ
#      files alone, the blocks the processes started with, would miss), their
#      /proc/PID/environ hold no token either, and the shell has no token variable after;
#   3. no preset: OAUTH_ACCESS_TOKEN, replacing (not duplicating) one already set;
#   4. COMMAND killed by SIGTERM: 143; not found: 127; no tokens: exit 2 and COMMAND not run.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip "reading the CLI's /proc/PID/environ needs root"
require_tools dbus-run-session gnome-keyring-daemon secret-tool

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-cli-exec-$$ # unique: runs of other trees may share this machine and user
prepare_private_user refresher=no < <(printf 'preset = snyk\nscope = org.read\n')

cat >"$WORK/child.sh" <<'CHILD'
# COMMAND of step 1: records what it got, then waits until the test has looked at its parent.
printf '%s' "${SNYK_OAUTH_TOKEN-}" >"$WORK/out/child-token"
env | cut -d= -f1 | sort >"$WORK/out/child-names"
printf '%s\n' "$@" >"$WORK/out/child-args"
echo "$PPID" >"$WORK/out/cli.pid.new"
mv "$WORK/out/cli.pid.new" "$WORK/out/cli.pid"
wait_until 30 test -e "$WORK/out/go" || exit 99
exit 7
CHILD

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
echo $$ >"$WORK/out/shell.pid"
session_login url first || true
grep -q "is now in your keyring" "$WORK/out/first.out" ||
    fail "login: $(cat "$WORK/out/first.out" "$WORK/out/first.log")"
secret-tool lookup service "$SERVICE" username "$RUN_AS" >"$WORK/out/stored-token"

# 1, 2: the outer test reads /proc while child.sh waits.
"$CLI" exec -- bash -c '. "$WORK/bin/lib.sh"; trap - EXIT; . "$WORK/child.sh"' child.sh \
    "two words" '$HOME' >"$WORK/out/exec.out" 2>&1
echo $? >"$WORK/out/exec.status"
env | grep -E '^(SNYK_OAUTH_TOKEN|OAUTH_ACCESS_TOKEN)=' >"$WORK/out/shell-after" || true

# 3: an item without a refresh item records no preset.
"$PYTHON" -c '
import sys, secretstorage
bus = secretstorage.dbus_init()
collection = secretstorage.get_default_collection(bus)
collection.create_item("generic", {"xdg:schema": "io.github.pam_oauth_keyring.Token",
                       "service": sys.argv[1], "username": sys.argv[2]}, b"generic-token-4711",
                       replace=True)' "$SERVICE-generic" "$RUN_AS" || fail "cannot store the generic item"
OAUTH_ACCESS_TOKEN=stale "$CLI" exec --service "$SERVICE-generic" -- \
    sh -c 'env | grep -E "^(OAUTH_ACCESS_TOKEN|SNYK_OAUTH_TOKEN)="' >"$WORK/out/generic.out" 2>&1
echo $? >"$WORK/out/generic.status"

# 4
"$CLI" exec --service "$SERVICE" -- sh -c 'kill -TERM $$' >"$WORK/out/signal.out" 2>&1
echo $? >"$WORK/out/signal.status"
"$CLI" exec --service "$SERVICE" -- /nonexistent/command >"$WORK/out/missing.out" 2>&1
echo $? >"$WORK/out/missing.status"
"$CLI" exec --service "$SERVICE-none" -- touch "$WORK/out/ran" >"$WORK/out/none.out" 2>&1
echo $? >"$WORK/out/none.status"
SCENARIO

run_private_session "$WORK/scenario.sh" 90 &
SESSION=$!
on_exit "kill $SESSION"
wait_until 60 test -s "$WORK/out/cli.pid" || fail "COMMAND did not start: $(cat "$WORK"/out/*.out 2>&1)"
CLI_PID=$(cat "$WORK/out/cli.pid")
SHELL_PID=$(cat "$WORK/out/shell.pid")
tr '\0' '\n' <"/proc/$CLI_PID/cmdline" >"$WORK/cli.cmdline"
sed -n 1p "$WORK/cli.cmdline" | grep -q 'oauth-keyring$' && sed -n 2p "$WORK/cli.cmdline" | grep -qx exec ||
    fail "COMMAND's parent is not the CLI: $(cat "$WORK/cli.cmdline")"
tr '\0' '\n' <"/proc/$CLI_PID/environ" >"$WORK/cli.environ" || fail "cannot read the CLI's environ"
tr '\0' '\n' <"/proc/$SHELL_PID/environ" >"$WORK/shell.environ" || fail "cannot read the shell's environ"
[ -s "$WORK/cli.environ" ] || fail "the CLI's environ read empty"
[ -s "$WORK/out/stored-token" ] || fail "no token stored before exec"
# The exact string a setenv, putenv or environ edit would leave in the CLI (and exec's own
# NAME=token, wiped once COMMAND is started); and, to show the search sees the environment at
# all, the HOME=... both started with.   memory_counts PID FILE: the two counts, a line each
memory_counts() {
    printf 'SNYK_OAUTH_TOKEN=%s\nHOME=%s\n' "$(cat "$WORK/out/stored-token")" "$WORK/home" |
        "$PYTHON" "$top_srcdir/tests/process_memory.py" "$1" >"$2" || fail "cannot read the memory of $1"
    [ "$(sed -n 2p "$2")" -ge 1 ] || fail "the memory search of $1 does not even find HOME=$WORK/home"
}
memory_counts "$CLI_PID" "$WORK/cli.memory"
memory_counts "$SHELL_PID" "$WORK/shell.memory"
touch "$WORK/out/go"
wait "$SESSION" || fail "the scenario failed: $(cat "$WORK"/out/*.out)"

TOKEN=$(cat "$WORK/out/stored-token")
[ -n "$TOKEN" ] || fail "no token stored"
[ "$(cat "$WORK/out/child-token")" = "$TOKEN" ] ||
    fail "COMMAND's SNYK_OAUTH_TOKEN is not the stored token: $(cat "$WORK/out/exec.out")"
! grep -qx OAUTH_ACCESS_TOKEN "$WORK/out/child-names" || fail "Snyk preset: OAUTH_ACCESS_TOKEN set too"
printf 'two words\n$HOME\n' | cmp -s - "$WORK/out/child-args" ||
    fail "COMMAND's arguments changed: $(cat "$WORK/out/child-args")"
[ "$(cat "$WORK/out/exec.status")" = 7 ] || fail "exit $(cat "$WORK/out/exec.status"), not COMMAND's 7"
note "1. COMMAND got SNYK_OAUTH_TOKEN (the stored token) and its arguments; exit 7 passed on"

[ "$(sed -n 1p "$WORK/cli.memory")" = 0 ] ||
    fail "SNYK_OAUTH_TOKEN=<token> is in the CLI's memory $(sed -n 1p "$WORK/cli.memory") times (its environment?)"
[ "$(sed -n 1p "$WORK/shell.memory")" = 0 ] ||
    fail "SNYK_OAUTH_TOKEN=<token> is in the shell's memory $(sed -n 1p "$WORK/shell.memory") times"
grep -F -e "$TOKEN" -e TOKEN= "$WORK/cli.environ" && fail "the token is in the CLI's /proc/$CLI_PID/environ"
grep -F -e "$TOKEN" -e TOKEN= "$WORK/shell.environ" && fail "the token is in the shell's environ"
[ ! -s "$WORK/out/shell-after" ] || fail "the shell has a token variable: $(cat "$WORK/out/shell-after")"
note "2. no SNYK_OAUTH_TOKEN=<token> in the memory of the CLI or the shell; no token in /proc/$CLI_PID/environ (the CLI, $(wc -l <"$WORK/cli.environ") variables) nor the shell's"

[ "$(cat "$WORK/out/generic.status")" = 0 ] && [ "$(cat "$WORK/out/generic.out")" = OAUTH_ACCESS_TOKEN=generic-token-4711 ] ||
    fail "no preset: exit $(cat "$WORK/out/generic.status"): $(cat "$WORK/out/generic.out")"
note "3. no preset: OAUTH_ACCESS_TOKEN, once, replacing the stale one"

[ "$(cat "$WORK/out/signal.status")" = 143 ] || fail "SIGTERM: exit $(cat "$WORK/out/signal.status")"
[ "$(cat "$WORK/out/missing.status")" = 127 ] && grep -q "cannot run /nonexistent/command" "$WORK/out/missing.out" ||
    fail "not found: exit $(cat "$WORK/out/missing.status"): $(cat "$WORK/out/missing.out")"
[ "$(cat "$WORK/out/none.status")" = 2 ] && [ ! -e "$WORK/out/ran" ] ||
    fail "no tokens: exit $(cat "$WORK/out/none.status"): $(cat "$WORK/out/none.out")"
note "4. killed by SIGTERM: 143; not found: 127; no tokens: exit 2, COMMAND not run"
pass "oauth-keyring exec gives the token to COMMAND only"
