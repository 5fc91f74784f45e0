#!/bin/bash
# An admin who set sign_in = browser (against device-code phishing, RFC 8628 5.4) is not got
# round by `oauth-keyring login --device`: the provider's metadata names a device endpoint, but
# the refresher refuses the device grant ("unavailable", naming sign_in) and asks the provider
# for no device code.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_device_test browser

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
session_login none browser-only pok-refresher
grep -q "pam_open_session: Success" "$WORK/out/browser-only.out" || fail "no session"
wait_until 10 refresher_count_is 1 || fail "no refresher after the login"
timeout 30 "$CLI" login --device --service "$SERVICE" </dev/null >"$WORK/out/cli.out" 2>"$WORK/out/cli.err"
status=$?
[ "$status" = 4 ] || fail "login --device: exit $status: $(cat "$WORK/out/cli.out" "$WORK/out/cli.err")"
grep -q "sign_in = browser" "$WORK/out/cli.err" || fail "the refusal does not say why: $(cat "$WORK/out/cli.err")"
[ "$(idp_stat 's["requests"]["device_authorization"]')" = 0 ] ||
    fail "a device code was asked for although the admin allows only the browser"
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "sign_in = browser: login --device refused (exit 4, sign_in named), no device code asked for"
