#!/bin/bash
# Quick start, command 1: pam_oauth_keyring against the bundled test identity provider, into a
# private keyring, as an unprivileged user (you, or "nobody" when run as root), the way a
# graphical login goes: Enter at the greeter's prompt (the URL cannot be used there), then,
# inside the session, `oauth-keyring login` - its browser (a script here) comes back to the
# session's refresher on the loopback - and the next login asks nothing. Ends with secret-tool
# reading the token back.
set -u
cd "$(dirname "$0")"
tools/install-deps.sh demo && tools/build.sh --demo || exit 1
top_srcdir=$PWD
top_builddir=$PWD
. tests/lib.sh

make_workdir
stage_artifacts
cp tests/loopback_client.py tests/signin_lib.sh "$WORK/bin/" && chmod a+r "$WORK/bin/"*.py "$WORK/bin/"*.sh
PORT=$(free_port)
REDIRECT_URI="http://127.0.0.1:$PORT/callback"
start_idp "demo-client-secret-$RANDOM"
SERVICE=pam-oauth-keyring-demo
prepare_private_user refresher=yes </dev/null
cat >"$WORK/demo-session.sh" <<'INNER'
. "$WORK/bin/signin_lib.sh"
session_login empty greeter || true
wait_until 10 refresher_count_is 1 || fail "no refresher: $(cat "$WORK/out/greeter.log")"
start_login signin
callback=$(callback_url url) # the browser: the IdP approves and sends it back to the listener
loopback_get "$callback" --location >"$WORK/out/callback.answer"
loopback_get "http://127.0.0.1:$SIGNIN_PORT/callback" --body "$WORK/out/page.html" >/dev/null
finish_login 30
session_login empty next || true
secret-tool lookup service "$SERVICE" username "$RUN_AS" >"$WORK/out/secret-tool.out" || true
INNER
run_private_session "$WORK/demo-session.sh"
echo "== A test OAuth2 provider runs on $IDP_URL (HTTPS, with a throwaway CA)."
echo "== 1. A login through the real libpam; the user presses Enter at the prompt (as at a greeter, where the address cannot be opened):"
sed 's/^/   /' "$WORK/out/greeter.out"
echo "== 2. In the session: oauth-keyring login (the browser is a script that signs in)"
sed 's/^/   /' "$WORK/out/signin.out" "$WORK/out/signin.err"
echo "   The browser came back to the refresher's listener: HTTP $(cut -d' ' -f1 "$WORK/out/callback.answer")," \
    "then its page: $(sed -n 's:.*<h1>\(.*\)</h1>.*:\1:p' "$WORK/out/page.html")"
echo "== 3. The next login asks nothing:"
sed 's/^/   /' "$WORK/out/next.out"
echo "== As $RUN_AS, in that keyring: secret-tool lookup service $SERVICE username $RUN_AS"
token=$(cat "$WORK/out/secret-tool.out")
[ -n "$token" ] || fail "no token in the keyring; module log: $(cat "$WORK/out/greeter.log")"
echo "   $token"
status=$(idp_userinfo_status "$token")
echo "== The test provider accepts it: GET /userinfo -> HTTP $status"
[ "$status" = 200 ] || fail "the provider refused the token read back from the keyring"
