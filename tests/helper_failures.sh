#!/bin/bash
# The module's side of the helper contract, with stand-in helpers that misbehave: one that
# hangs, one that is killed by a signal, one that writes garbage, one that floods its
# stdout, one that does not exist. Each time the login goes on within the bounded wait,
# the reason is logged, no child and no fd is left behind, and the application's SIGCHLD
# handler is still in place. Both phases run the helper (auth: for the URL; session: to
# refresh earlier tokens). (As root the module drops to "nobody" to run them.)
set -u
. "${top_srcdir:-.}/tests/lib.sh"

make_workdir
stage_artifacts
if [ "$(id -u)" = 0 ]; then TARGET=nobody; else TARGET=$(id -un); fi
write_stand_in_config "$WORK/pam.conf"
# Its own state_dir: the default is the system one once built with --localstatedir=/var (dh).
mkdir -p "$WORK/pam.d" "$WORK/state"
cat >"$WORK/pam.d/pok-stand-in" <<PAM
auth     required pam_permit.so
auth     optional $MODULE config=$WORK/pam.conf minimum_uid=1 state_dir=$WORK/state
account  required pam_permit.so
session  required pam_permit.so
session  optional $MODULE config=$WORK/pam.conf minimum_uid=1 state_dir=$WORK/state
PAM

stand_in() { # stand_in NAME BODY: a helper script
    printf '#!/bin/sh\n%s\n' "$2" >"$WORK/bin/$1"
    chmod 755 "$WORK/bin/$1"
}
stand_in hangs 'exec sleep 600'
stand_in killed 'kill -9 $$'
stand_in garbage 'cat >/dev/null; echo "this is not the protocol"; exit 0'
stand_in floods 'cat >/dev/null; exec yes POK'
stand_in lies 'cat >/dev/null; printf "POK/1 ok\nend\n"; exit 1'
stand_in not-executable 'exit 0'
chmod 644 "$WORK/bin/not-executable"

run_with() { # run_with HELPER EXPECTED-LOG-TEXT MAX-SECONDS
    local start end out="$WORK/$1.out" log="$WORK/$1.log"
    start=$(date +%s%N)
    driver_login "$1" --dir "$WORK" --service pok-stand-in --user "$TARGET" --helper "$WORK/bin/$1" \
        --stand-in --no-answer --timeout 30
    end=$(date +%s%N)
    elapsed_ms=$(((end - start) / 1000000))
    grep -q "pam_open_session: Success" "$out" || fail "$1: the login did not go on: $(cat "$out")"
    grep -q "$2" "$log" || fail "$1: expected '$2' in the log: $(cat "$log")"
    grep -Eq "^hygiene: children left 0, fds before ([0-9]+) after \1, sigchld handler preserved$" \
        "$out" || fail "$1: $(grep hygiene "$out")"
    [ "$elapsed_ms" -le $(($3 * 1000)) ] || fail "$1: the login took $elapsed_ms ms (limit $3 s)"
    note "$1: login went on after $elapsed_ms ms; logged: $(grep -o "$2.*" "$log" | head -1)"
}

# The auth phase's helper calls are local work, bounded at 5 s; the session's at the timeout
# (1 s here) + 1 s for another process's refresh + 0.8 s grace.
run_with hangs "did not answer in time" 9
run_with killed "killed by signal 9" 3
run_with garbage "without a valid reply" 3
run_with floods "larger than 65536 bytes" 3
run_with lies "does not agree with its exit" 3
run_with missing "could not be executed" 3
run_with not-executable "could not be executed" 3

# The real helper as a file the user can read (issue 10, finding 1): the module refuses to
# start it, before anything is sent; told to accept it (the test build only), the helper itself
# refuses its dumpable start (exit 4), and the module says why.
install -m 0755 "$HELPER" "$WORK/bin/readable-helper"
driver_login readable --dir "$WORK" --service pok-stand-in --user "$TARGET" \
    --helper "$WORK/bin/readable-helper" --no-answer --timeout 30
grep -q "pam_open_session: Success" "$WORK/readable.out" || fail "readable helper: no session"
grep -q "refusing to run the helper .*readable-helper: it must be a file the user cannot read" \
    "$WORK/readable.log" || fail "a readable helper was started: $(cat "$WORK/readable.log")"
if [ "$(id -u)" = 0 ]; then
    driver_login dumpable --dir "$WORK" --service pok-stand-in --user "$TARGET" \
        --helper "$WORK/bin/readable-helper" --stand-in --no-answer --timeout 30
    grep -q "refused to run: the user can read .*readable-helper.*root:root, mode 0711" \
        "$WORK/dumpable.log" || fail "a dumpable start was not refused: $(cat "$WORK/dumpable.log")"
    note "a readable helper: refused by the module; started anyway, it refused itself (exit 4)"
fi

# A module that runs as neither root nor the target user (here: as nobody, for daemon) must
# not start the helper at all.
if [ "$(id -u)" = 0 ]; then
    cp "$WORK/pam.conf" "$WORK/nobody.conf"
    chown nobody "$WORK/nobody.conf"
    sed "s|$WORK/pam.conf|$WORK/nobody.conf|" "$WORK/pam.d/pok-stand-in" >"$WORK/pam.d/pok-other-uid"
    chmod -R a+rX "$WORK/pam.d"
    touch "$WORK/other-uid.log" && chown nobody "$WORK/other-uid.log"
    driver_login other-uid --dir "$WORK" --service pok-other-uid --user daemon \
        --helper "$WORK/bin/hangs" --stand-in --no-answer --timeout 30 --under "runuser -u nobody --"
    grep -q "pam_open_session: Success" "$WORK/other-uid.out" || fail "other uid: no session"
    grep -q "runs as uid $(id -u nobody), neither root nor the user" "$WORK/other-uid.log" ||
        fail "other uid: not refused: $(cat "$WORK/other-uid.log")"
    note "a module running as nobody for daemon refused to start the helper"
fi
pass "every misbehaving helper was bounded, reaped and reported"
