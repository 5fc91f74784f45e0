#!/bin/bash
# oauth-keyring token's exit codes with no refresher running (2 and 3 are in
# refresh_invalid_grant.sh and refresh_locked_keyring.sh): 0 and the token while it is valid,
# also from a refresh item of an older format (without the access token in it); 4 and nothing
# printed for a pair torn between its two writes; 1 for bad usage; 4 and nothing printed for a
# due token nobody can refresh, with no request sent.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_refresh_test 10

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
exits() { # exits NAME STATUS: oauth-keyring token NAME exited STATUS
    [ "$(cat "$WORK/out/$1.status")" = "$2" ] ||
        fail "$1: oauth-keyring token exited $(cat "$WORK/out/$1.status"), want $2: $(cat "$WORK/out/$1.err")"
}
login first
token=$(keyring_token)
[ -n "$token" ] || fail "the first login stored nothing: $(cat "$WORK/out/first.log")"

cli_token valid --min-valid 1
exits valid 0
[ "$(cat "$WORK/out/valid.token")" = "$token" ] || fail "valid: printed another token"
# A refresh item from before it carried the access token: the access item is read, and
# believed only while it is the token the refresh item's fingerprint names.
"$PYTHON" "$WORK/bin/keyring_tool.py" drop-refresh-key "$SERVICE" access_token ||
    fail "cannot edit the refresh item"
cli_token older-format --min-valid 1
exits older-format 0
[ "$(cat "$WORK/out/older-format.token")" = "$token" ] || fail "older refresh item: printed another token"
"$PYTHON" "$WORK/bin/keyring_tool.py" set-access "$SERVICE" "$RUN_AS" "torn-$RANDOM" ||
    fail "cannot edit the access item"
cli_token torn --min-valid 1
exits torn 4
[ ! -s "$WORK/out/torn.token" ] || fail "a torn pair: printed '$(cat "$WORK/out/torn.token")'"
# Mended, the pair is valid again: the 4 above was the tear, and the one below is the due time.
"$PYTHON" "$WORK/bin/keyring_tool.py" set-access "$SERVICE" "$RUN_AS" "$token" ||
    fail "cannot edit the access item"
cli_token mended --min-valid 1
exits mended 0

"$CLI" frobnicate >/dev/null 2>&1
[ $? = 1 ] || fail "oauth-keyring with a bad command does not exit 1"

age_pair 6 # lifetime 10 s: due after 5 s
cli_token norefresher
exits norefresher 4
[ ! -s "$WORK/out/norefresher.token" ] || fail "a due token was printed although nobody could refresh it"
[ "$(refresh_requests)" = 0 ] || fail "oauth-keyring refreshed by itself"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "oauth-keyring token: 0 with a valid token (also from an older refresh item), 1 on bad usage, 4 when due or torn and no refresher (nothing printed)"
