#!/bin/bash
# Hostile answers at the prompt, through the real libpam: 1 MiB, a control byte, a NUL, two
# code= parameters, %00 and %0A in the code, a state encoded twice (not this login's), an iss
# of another issuer, and a state from another login. Each is refused with a message to the
# user, nothing is spent at the provider, and the session opens.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

make_workdir
stage_artifacts
cp "$top_srcdir/tests/mangle_answer.py" "$WORK/bin/" && chmod 755 "$WORK/bin/mangle_answer.py"
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-hostile-test-$$ # unique: runs of other trees may share this machine and user
prepare_private_user prompt=always refresher=no </dev/null

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
hostile() { # hostile MODE EXPECTED-MESSAGE [browser mode instead of mangling]
    local mode=$1 expected=$2 command requests
    command="$PYTHON $WORK/bin/browser.py --ca $CA_FILE --mode url | $PYTHON $WORK/bin/mangle_answer.py $mode"
    [ -n "${3:-}" ] && command="$PYTHON $WORK/bin/browser.py --ca $CA_FILE --mode $3"
    requests=$(idp_stat 's["requests"]["token"]')
    driver_login "$mode" --answer-command "$command" --session "$XDG_RUNTIME_DIR" "$DBUS_SESSION_BUS_ADDRESS"
    grep -q "pam_open_session: Success" "$WORK/out/$mode.out" || fail "$mode: no session"
    grep -q "^\[error\] .*$expected" "$WORK/out/$mode.out" ||
        fail "$mode: the user was not told '$expected': $(cat "$WORK/out/$mode.out" "$WORK/out/$mode.log")"
    [ "$(idp_stat 's["requests"]["token"]')" = "$requests" ] || fail "$mode: a code was spent"
    echo "--- $mode: refused ($(grep -o "^\[error\] .*" "$WORK/out/$mode.out" | head -1 | cut -c9-90))"
}
hostile huge "too long or holds control characters"
hostile control "too long or holds control characters"
hostile nul "another sign-in (state does not match)"
hostile two-codes "holds 'code' twice"
hostile percent-nul "not well formed"
hostile percent-line "malformed 'code'"
hostile double-state "another sign-in (state does not match)"
hostile other-issuer "another issuer than the one configured"
hostile other-login "another sign-in (state does not match)" wrong-state
echo done >"$WORK/out/scenario.done"
SCENARIO
run_private_session "$WORK/scenario.sh" 120
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
assert_no_secret_in "$WORK"/out/*.log
pass "9 hostile answers refused with a message, nothing spent, session open"
