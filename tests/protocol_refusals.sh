#!/bin/bash
# Each program takes only the requests the protocol's table sends it (common/protocol_table.h,
# issue 12): the login helper, the program the module runs, refuses the refresher's requests
# (refresher, refresh, logout) before any work - nothing sent to the provider, no refresher
# started - and the refresher program refuses the module's (session, authorize) and
# oauth-keyring check's (probe). Each time:
# an "error" reply with reason bad-request that names the request and the program, exit 1.
# The controls: the helper still answers the module's authorize, and the refresher program a
# refresh of its own (keyring-failed here: no keyring, and so nothing sent either).
set -u
. "${top_srcdir:-.}/tests/lib.sh"

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
if [ "$(id -u)" = 0 ]; then
    as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
else
    as_user=()
fi

# request COMMAND FIELD=VALUE...: the POK/1 bytes (common/protocol.h).
request() {
    "$PYTHON" - "$@" <<'PY'
import sys
out = b"POK/1 " + sys.argv[1].encode() + b"\n"
for pair in sys.argv[2:]:
    name, value = pair.split("=", 1)
    out += b"%s %d\n%s\n" % (name.encode(), len(value.encode()), value.encode())
sys.stdout.buffer.write(out + b"end\n")
PY
}
SETTINGS=(token_url="$IDP_URL/token" client_id="$CLIENT_ID" client_secret="$CLIENT_SECRET"
    ca_file="$CA_FILE" timeout=5 keyring_service=pok-protocol-$$ username=nobody display_name=Test)

# ask PROGRAM NAME COMMAND FIELD=VALUE...: its reply in $WORK/NAME.reply, its exit in NAME.status.
ask() {
    local program=$1 name=$2
    shift 2
    request "$@" >"$WORK/$name.request"
    chmod a+r "$WORK/$name.request"
    "${as_user[@]}" env -i PATH=/usr/bin:/bin HOME=/nonexistent XDG_RUNTIME_DIR="$WORK/runtime" \
        DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent timeout 20 "$program" \
        <"$WORK/$name.request" >"$WORK/$name.reply" 2>/dev/null
    echo $? >"$WORK/$name.status"
}
# refused NAME REQUEST PROGRAM: refused as the table says, with exit 1.
refused() {
    local expected="'$2' is not a request $3 takes"
    [ "$(cat "$WORK/$1.status")" = 1 ] || fail "$1: exit $(cat "$WORK/$1.status"), expected 1"
    head -c 40 "$WORK/$1.reply" | grep -qa "^POK/1 error" || fail "$1: not refused: $(cat -v "$WORK/$1.reply")"
    grep -qa "^bad-request$" "$WORK/$1.reply" || fail "$1: no bad-request: $(cat -v "$WORK/$1.reply")"
    grep -qaF "$expected" "$WORK/$1.reply" || fail "$1: the reason does not say '$expected'"
    note "$1: $expected"
}
mkdir -m 0777 "$WORK/runtime"

HELPER_TEST="$WORK/bin/pam_oauth_keyring_helper_test"
REFRESHER_TEST="$WORK/bin/pam_oauth_keyring_refresher_test"
ask "$HELPER_TEST" helper-refresh refresh "${SETTINGS[@]}" min_valid=86400
refused helper-refresh refresh pam_oauth_keyring_helper
ask "$HELPER_TEST" helper-logout logout "${SETTINGS[@]}" revoke_url="$IDP_URL/revoke"
refused helper-logout logout pam_oauth_keyring_helper
ask "$HELPER_TEST" helper-refresher refresher "${SETTINGS[@]}"
refused helper-refresher refresher pam_oauth_keyring_helper
ask "$REFRESHER_TEST" refresher-session session "${SETTINGS[@]}"
refused refresher-session session pam_oauth_keyring_refresher
ask "$REFRESHER_TEST" refresher-authorize authorize authorize_url="$IDP_URL/authorize" \
    client_id="$CLIENT_ID" redirect_uri="$REDIRECT_URI"
refused refresher-authorize authorize pam_oauth_keyring_refresher
# oauth-keyring check's probe (issue 22) is the login helper's alone.
ask "$REFRESHER_TEST" refresher-probe probe authorize_url="$IDP_URL/authorize" \
    token_url="$IDP_URL/token" client_id="$CLIENT_ID" client_secret="$CLIENT_SECRET" \
    redirect_uri="$REDIRECT_URI" ca_file="$CA_FILE"
refused refresher-probe probe pam_oauth_keyring_refresher

# Nothing was spent or started: no request reached the provider, no refresher runs.
for kind in token_refresh_token token_authorization_code revoke authorize; do
    [ "$(idp_stat "s['requests'].get('$kind', 0)")" = 0 ] || fail "the provider saw a $kind request"
done
! pgrep -f "pam_oauth_keyring_refresher pok-protocol-$$" >/dev/null || fail "a refresher was started"
[ -z "$(ls -A "$WORK/runtime")" ] || fail "the refused requests left files: $(ls -A "$WORK/runtime")"

# The controls: each program still takes its own requests.
ask "$HELPER_TEST" helper-authorize authorize authorize_url="$IDP_URL/authorize" \
    client_id="$CLIENT_ID" redirect_uri="$REDIRECT_URI"
[ "$(cat "$WORK/helper-authorize.status")" = 0 ] && head -c 9 "$WORK/helper-authorize.reply" | grep -qa "^POK/1 ok" ||
    fail "the helper refused the module's authorize: $(cat -v "$WORK/helper-authorize.reply")"
ask "$REFRESHER_TEST" refresher-refresh refresh "${SETTINGS[@]}" min_valid=0
[ "$(cat "$WORK/refresher-refresh.status")" = 0 ] && grep -qa "^keyring-failed$" "$WORK/refresher-refresh.reply" ||
    fail "the refresher program refused its own refresh: $(cat -v "$WORK/refresher-refresh.reply")"
[ "$(idp_stat "s['requests'].get('token_refresh_token', 0)")" = 0 ] || fail "a refresh without a keyring was sent"
pass "the login helper refuses the refresher's requests and the refresher the module's, before any work"
