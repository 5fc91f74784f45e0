#!/bin/bash
# Issue 10, finding 7: the module must not change the application's SIGCHLD handling, nor
# signal or wait by a pid that may have been reaped and reused.
#   1. two threads, each running 40 logins with their own PAM handles (a display manager with
#      two seats): the application's SIGCHLD handler is still its own afterwards (saving and
#      restoring it process-wide from two threads at once loses it), no login failed, no child
#      is left;
#   2. an application whose handler reaps every child (waitpid(-1)) and one that ignores
#      SIGCHLD: the helper's exit status is theirs, the login still works from the reply.
# The real helper runs (as nobody when root): the authorization URL in auth, the session
# check in session, which finds no keyring here and says so.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

make_workdir
stage_artifacts
if [ "$(id -u)" = 0 ]; then TARGET=nobody; else TARGET=$(id -un); fi
write_stand_in_config "$WORK/pam.conf"
mkdir -p "$WORK/pam.d" "$WORK/state"
cat >"$WORK/pam.d/pok-seats" <<PAM
auth     required pam_permit.so
auth     optional $MODULE config=$WORK/pam.conf minimum_uid=1 state_dir=$WORK/state prompt=always debug
account  required pam_permit.so
session  required pam_permit.so
session  optional $MODULE config=$WORK/pam.conf minimum_uid=1 state_dir=$WORK/state refresher=no debug
PAM
drive() { # drive NAME [driver arguments]
    local name=$1
    shift
    driver_login "$name" --dir "$WORK" --service pok-seats --user "$TARGET" --no-answer \
        --timeout 120 --session "$WORK/nowhere" "unix:path=$WORK/nobus" -- "$@"
}
hygiene_clean() {
    grep -Eq "^hygiene: children left 0, fds before ([0-9]+) after \1, sigchld handler preserved$" \
        "$WORK/$1.out"
}

# --- 1 -------------------------------------------------------------------------------------
drive threads --threads 2 --cycles 40
grep -q "^cycle 40: .*failed logins 0$" "$WORK/threads.out" ||
    fail "threads: logins failed: $(grep '^cycle 40' "$WORK/threads.out")"
urls=$(grep -c "^\[info\] https://127.0.0.1:1/authorize?" "$WORK/threads.out")
[ "$urls" = 80 ] || fail "threads: $urls authorization URLs shown, want 80 (one per login)"
hygiene_clean threads || fail "threads: $(grep hygiene "$WORK/threads.out")"
note "1. 2 threads x 40 logins: 80 URLs from the helper; $(grep hygiene "$WORK/threads.out")"

# --- 2 -------------------------------------------------------------------------------------
for handling in reap ignore; do
    drive "$handling" --sigchld "$handling"
    grep -q "pam_open_session: Success" "$WORK/$handling.out" || fail "$handling: no session"
    grep -q "^\[info\] https://127.0.0.1:1/authorize?" "$WORK/$handling.out" ||
        fail "$handling: the helper's URL was not shown: $(cat "$WORK/$handling.out" "$WORK/$handling.log")"
    grep -q "keyring-unreachable" "$WORK/$handling.log" ||
        fail "$handling: the session helper's answer was lost: $(cat "$WORK/$handling.log")"
    hygiene_clean "$handling" || fail "$handling: $(grep hygiene "$WORK/$handling.out")"
    note "2. SIGCHLD $handling: URL shown, session answer read; $(grep hygiene "$WORK/$handling.out")"
done
pass "the application's SIGCHLD handling is left alone, also with two PAM handles at once"
