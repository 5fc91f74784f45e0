#!/bin/bash
# The keyring is the user's to edit: a token URL planted in the refresh item must not receive
# the refresh (and the client secret with it); the configured endpoint does.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_refresh_test 10

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
login first
[ -n "$(keyring_token)" ] || fail "the first login stored nothing: $(cat "$WORK/out/first.log")"
"$PYTHON" "$WORK/bin/keyring_tool.py" edit-refresh "$SERVICE" token_url \
    "https://127.0.0.1:1/planted" || fail "cannot edit the refresh item"
age_pair 6 # lifetime 10 s: due after 5 s
login planted
[ "$(refresh_requests)" = 1 ] ||
    fail "the refresh did not go to the configured endpoint: $(cat "$WORK/out/planted.log")"
works_at_idp "$(keyring_token)" || fail "no working token after the planted URL was ignored"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "a token URL planted in the keyring is ignored; the configured endpoint refreshed"
