#!/bin/bash
# Quick start, command 1: a whole login through pam_oauth_keyring against the bundled test
# identity provider, into a private keyring, as an unprivileged user (you, or "nobody" when
# run as root). Shows what the user sees, then reads the token back with secret-tool.
set -u
cd "$(dirname "$0")"
tools/install-deps.sh demo && tools/build.sh --demo || exit 1
top_srcdir=$PWD
top_builddir=$PWD
. tests/lib.sh

make_workdir
stage_artifacts
start_idp "demo-client-secret-$RANDOM"
SERVICE=pam-oauth-keyring-demo
echo "== A test OAuth2 provider runs on $IDP_URL (HTTPS, with a throwaway CA)."
echo "== A login through the real libpam, module in auth and session. What the user sees"
echo "   (a script plays the browser: it opens the URL and pastes the address it lands on):"
echo
private_login
sed 's/^/   /' "$WORK/out/driver.out"
echo
echo "== As $RUN_AS, in that keyring: secret-tool lookup service $SERVICE username $RUN_AS"
token=$(cat "$WORK/out/secret-tool.out")
[ -n "$token" ] || fail "no token in the keyring; module log: $(cat "$WORK/out/module.log")"
echo "   $token"
echo "== The test provider accepts it: GET /userinfo -> HTTP $(idp_userinfo_status "$token")"
