#!/bin/bash
# A refresh token the provider no longer honours (revoked at the IdP): the login whose session
# refreshes the due token gets invalid_grant, removes the dead items, and oauth-keyring token
# then exits 2 (no tokens); the next login asks again (prompt=missing) and stores a new pair.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_refresh_test 10

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
login first
[ -n "$(keyring_token)" ] || fail "the first login stored nothing: $(cat "$WORK/out/first.log")"
refresh_token=$("$PYTHON" "$WORK/bin/keyring_tool.py" dump | "$PYTHON" -c '
import json, sys
for item in json.load(sys.stdin):
    if item["attributes"].get("service") == sys.argv[1] + "/refresh":
        print(json.loads(item["secret"])["refresh_token"])' "$SERVICE")
curl -sS --cacert "$CA_FILE" -o /dev/null -d "token=$refresh_token" -d "client_id=$CLIENT_ID" \
    -d "client_secret=$CLIENT_SECRET" "$IDP_URL/revoke" || fail "cannot revoke at the IdP"
unset refresh_token
age_pair 6   # lifetime 10 s: due after 5 s
login revoked # due, and the refresh token is dead: invalid_grant
grep -q "invalid_grant" "$WORK/out/revoked.log" || fail "no invalid_grant after revocation: $(cat "$WORK/out/revoked.log")"
[ -z "$(keyring_token)" ] || fail "the dead items were not removed"
cli_token gone
[ "$(cat "$WORK/out/gone.status")" = 2 ] || fail "no tokens: oauth-keyring token exited $(cat "$WORK/out/gone.status")"
login asks-again
prompted asks-again || fail "after invalid_grant the next login did not ask"
[ -n "$(keyring_token)" ] || fail "the new sign-in stored nothing"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "invalid_grant: items removed, oauth-keyring token exits 2, the next login asks"
