#!/bin/bash
# A whole login through the real libpam as an unprivileged user into a private, unlocked
# gnome-keyring on a private session bus: the module runs as that user (as in a screen locker),
# the helper exchanges the code at the test IdP and stores the pair where secret-tool and
# Python's keyring read it. As root, the same runs as the unprivileged user "nobody".
set -u
. "${top_srcdir:-.}/tests/lib.sh"

require_tools dbus-run-session gnome-keyring-daemon secret-tool openssl curl

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-private-test-$$ # unique: runs of other trees may share this machine and user

private_login
cat "$WORK/out/driver.out"

grep -q "pam_open_session: Success" "$WORK/out/driver.out" || fail "the session did not open"
grep -Eq "^hygiene: children left 0, fds before ([0-9]+) after \1, sigchld handler preserved$" \
    "$WORK/out/driver.out" || fail "the module left a child or an fd behind, or changed SIGCHLD"
grep -q "is now in your keyring" "$WORK/out/driver.out" || fail "the user was not told of success"
issued=$(idp_stat 's["issued"]["access_tokens"][-1]')
token=$(cat "$WORK/out/secret-tool.out")
[ -n "$token" ] && [ "$token" = "$issued" ] || fail "secret-tool does not print the issued token"
[ "$(cat "$WORK/out/keyring.out")" = "$issued" ] || fail "Python keyring does not return it"
[ "$(idp_userinfo_status "$token")" = 200 ] || fail "the stored token does not work at the IdP"
[ "$(idp_stat 's["requests"]["token_authorization_code"]')" = 1 ] || fail "not exactly one exchange"
"$PYTHON" - "$WORK/out/dump.json" "$SERVICE" "$(idp_stat 's["issued"]["refresh_tokens"][-1]')" <<'PY' ||
import json, sys
items, service, refresh = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
ours = [i for i in items if i["attributes"].get("service") in (service, service + "/refresh")]
assert len(ours) == 2, ours
document = json.loads([i for i in ours if i["attributes"]["service"].endswith("/refresh")][0]["secret"])
assert document["refresh_token"] == refresh, "refresh item does not hold the issued token"
assert document["access_expires_at"] > document["obtained_at"]
PY
    fail "the keyring does not hold exactly the access and refresh items"
assert_no_secret_in "$WORK/out/module.log" "$WORK/out/driver.out"
pass "login as $RUN_AS stored the issued pair in a private keyring"
