#!/bin/bash
# A locked keyring: the login whose token is due spends no refresh token (nothing is read, so
# nothing is sent) and logs that the keyring is locked; oauth-keyring token exits 3.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_refresh_test 10

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
login first
[ -n "$(keyring_token)" ] || fail "the first login stored nothing: $(cat "$WORK/out/first.log")"
age_pair 6 # lifetime 10 s: due after 5 s
"$PYTHON" "$WORK/bin/keyring_tool.py" lock || fail "cannot lock the keyring"
before=$(refresh_requests)
login locked
[ "$(refresh_requests)" = "$before" ] || fail "a refresh token was spent with the keyring locked"
grep -q "keyring is locked" "$WORK/out/locked.log" || fail "locked keyring not logged"
cli_token locked
[ "$(cat "$WORK/out/locked.status")" = 3 ] || fail "locked keyring: oauth-keyring token exited $(cat "$WORK/out/locked.status")"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "locked keyring: no refresh request, oauth-keyring token exits 3"
