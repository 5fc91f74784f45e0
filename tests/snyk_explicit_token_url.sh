#!/bin/bash
# Issue 11, item 3, for refreshes: with the Snyk preset and an explicit token_url, the admin's
# endpoint stands. A Snyk regional token URL in the user's refresh item (the user can edit it,
# or an earlier sign-in followed instance=) must not receive the refresh token and the client
# secret: the refresh goes to the configured endpoint. (With the preset's own token URL, a
# Snyk region is followed, as before.)
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session gnome-keyring-daemon

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM" --access-ttl 2
SERVICE=pok-snyk-explicit-$$
prepare_private_user refresher=no < <(printf 'preset = snyk\nscope = org.read\n')
# write_config's group is [testidp]; it carries explicit authorize_url and token_url.
grep -q "^token_url = $IDP_URL/token$" "$WORK/pam.conf" || fail "no explicit token_url"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
session_login url first || true
grep -q "is now in your keyring" "$WORK/out/first.out" ||
    fail "first login: $(cat "$WORK/out/first.out" "$WORK/out/first.log")"
"$PYTHON" "$WORK/bin/keyring_tool.py" edit-refresh "$SERVICE" token_url \
    "https://api.eu.snyk.io/oauth2/token" || fail "cannot edit the refresh item"
age_pair 2 # the 2 s access token is due
session_login url due || true
grep -q "pam_open_session: Success" "$WORK/out/due.out" || fail "no session"
SCENARIO
run_private_session "$WORK/scenario.sh" 60 || fail "the scenario failed"
refreshes=$(idp_stat 's["requests"]["token_refresh_token"]')
note "refresh requests at the configured endpoint: $refreshes; log: $(grep -o 'session refresh: .*' "$WORK/out/due.log")"
[ "$refreshes" = 1 ] ||
    fail "the refresh did not go to the configured token_url: $(cat "$WORK/out/due.log")"
pass "an explicit token_url stands: the stored Snyk regional URL was not used"
