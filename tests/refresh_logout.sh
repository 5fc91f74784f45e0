#!/bin/bash
# oauth-keyring logout, with the refresher running: the refresh token is revoked at the IdP
# and both items are removed. The login state file is the module's (issue 10, finding 8): the
# logout shows in it from the next session open on, so the login right after is not asked and
# its session tells the user; the one after that asks, and stores a new pair.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_refresh_test 10

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
login first pok-refresher
[ -n "$(keyring_token)" ] || fail "the first login stored nothing: $(cat "$WORK/out/first.log")"
revokes=$(idp_stat 's["requests"]["revoke"]')
live_before=$(idp_stat 's["live_refresh_tokens"]')
"$CLI" logout --service "$SERVICE" >"$WORK/out/logout.out" 2>&1 || fail "logout: $(cat "$WORK/out/logout.out")"
[ "$(idp_stat 's["requests"]["revoke"]')" = $((revokes + 1)) ] || fail "logout did not revoke at the IdP"
[ "$(idp_stat 's["live_refresh_tokens"]')" = $((live_before - 1)) ] ||
    fail "the refresh token is still live after logout"
[ -z "$(keyring_token)" ] || fail "logout left the access item"
"$PYTHON" "$WORK/bin/keyring_tool.py" dump | grep -q "$SERVICE/refresh" && fail "logout left the refresh item"
login after-logout
prompted after-logout && fail "the login right after the logout was asked (its auth read the old state)"
grep -q "you will be asked at the next login" "$WORK/out/after-logout.out" ||
    fail "after logout the session did not tell the user: $(cat "$WORK/out/after-logout.out")"
login asks-after-logout
prompted asks-after-logout || fail "after logout and one session the next login did not ask"
[ -n "$(keyring_token)" ] || fail "the sign-in after the logout stored nothing"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "logout revoked at the IdP and removed both items; the login after the next session asks"
