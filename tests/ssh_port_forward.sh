#!/bin/bash
# ssh, the second way (issue 13, item 5): `ssh -L PORT:127.0.0.1:PORT host`, then
# `oauth-keyring login` in that session; the laptop's browser, sent to the redirect address,
# reaches the refresher's listener through the tunnel and the sign-in completes by itself.
# A real sshd with docs/recipes.md's sshd recipe (lib.sh start_recipe_sshd). The refresher
# holds 127.0.0.1:PORT on this one machine, so the laptop's end of the tunnel is 127.0.0.2:PORT
# and its browser (curl --connect-to) connects there while asking for 127.0.0.1:PORT, exactly
# what a browser on the laptop sends; without the tunnel nothing answers at 127.0.0.2:PORT.
#   1. the forwarding ssh session starts the refresher; oauth-keyring login prints the address;
#   2. the user approves at the IdP (browser.py); the browser follows the redirect through the
#      tunnel: the listener's "Signed in" page; the CLI exits 0 without anything pasted;
#   3. the pair is stored (secret-tool reads the issued token), one code exchange.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (creates a user, runs sshd)"
require_tools useradd chpasswd runuser dbus-daemon gnome-keyring-daemon secret-tool curl
[ -f /etc/pam.d/sshd ] || fail "/etc/pam.d/sshd is missing (openssh-server; tools/install-deps.sh installs it)"

make_workdir
stage_artifacts
PORT=$(free_port)
REDIRECT_URI="http://127.0.0.1:$PORT/callback"
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-ssh-forward-$$ # unique: runs of other trees may share this machine
start_recipe_sshd "poksshf$RANDOM"
laptop() { # the laptop's browser: to the tunnel's end, asking for the redirect's own host
    curl -sS --max-time 20 --connect-to "127.0.0.1:$PORT:127.0.0.2:$PORT" "$@"
}
! laptop -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null || fail "something answers at 127.0.0.2:$PORT without the tunnel"

# The session stays open after the login, as an interactive one would (the tunnel with it),
# until a line comes on its stdin; nothing is pasted: the sign-in must complete by itself.
mkfifo "$WORK/out/stdin"
exec 7<>"$WORK/out/stdin"
ssh_as_user -L "127.0.0.2:$PORT:127.0.0.1:$PORT" \
    "$CLI login --service $SERVICE; echo \"login exit \$?\"; read -r line" \
    <"$WORK/out/stdin" >"$WORK/out/login.out" 2>"$WORK/out/login.err" &
ssh_pid=$!
wait_until 15 grep -q "^https://" "$WORK/out/login.out" ||
    fail "no address in the ssh session: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
grep -q "comes back to http://127.0.0.1:$PORT/callback" "$WORK/out/login.out" ||
    fail "the refresher does not listen: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
pgrep -u "$USER_NAME" -f "pam_oauth_keyring_refresher $SERVICE" >/dev/null || fail "no refresher"
note "1. ssh -L 127.0.0.2:$PORT:127.0.0.1:$PORT, oauth-keyring login: the address, the refresher listening"

wait_until 10 laptop -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null ||
    fail "the tunnel does not answer at 127.0.0.2:$PORT"
# The laptop's browser opens the printed start address through the tunnel (the listener's
# cookie goes into its jar), signs in at the IdP, and follows the redirect back.
start=$(grep -o "http://127.0.0.1:$PORT/start/[A-Za-z0-9_-]*" "$WORK/out/login.out" | head -n 1)
[ -n "$start" ] || fail "no start address in the ssh session: $(cat "$WORK/out/login.out")"
authorize=$(laptop -c "$WORK/out/cookies" -o /dev/null -w '%{redirect_url}' "$start") ||
    fail "the start address through the tunnel"
redirect=$(printf '%s\n' "$authorize" | "$PYTHON" "$WORK/bin/browser.py" --ca "$CA_FILE" --mode url) ||
    fail "the browser failed"
laptop -L --max-redirs 2 -b "$WORK/out/cookies" -c "$WORK/out/cookies" -o "$WORK/out/page" \
    -w '%{http_code} %{num_redirects}\n' "$redirect" \
    >"$WORK/out/final" || fail "the browser could not follow the redirect through the tunnel"
[ "$(cat "$WORK/out/final")" = "200 1" ] || fail "the browser ended with $(cat "$WORK/out/final")"
grep -q "<h1>Signed in" "$WORK/out/page" || fail "the browser's page: $(cat "$WORK/out/page")"
wait_until 30 grep -q "^login exit" "$WORK/out/login.out" || fail "login did not end: $(cat "$WORK/out/login.err")"
echo >&7 # the user ends the ssh session
wait_until 10 eval '! kill -0 "$ssh_pid" 2>/dev/null' || fail "the ssh session did not end"
exec 7>&-
grep -qx "login exit 0" "$WORK/out/login.out" || fail "login: $(cat "$WORK/out/login.out" "$WORK/out/login.err")"
grep -q "^Signed in" "$WORK/out/login.out" || fail "login: $(cat "$WORK/out/login.out")"
note "2. the laptop's browser through the tunnel: '$(grep -o '<h1>[^<]*' "$WORK/out/page" | cut -c5-)'; login: '$(grep "^Signed in" "$WORK/out/login.out")'"

[ "$(as_user secret-tool lookup service "$SERVICE" username "$USER_NAME")" = "$(idp_stat 's["issued"]["access_tokens"][-1]')" ] ||
    fail "secret-tool does not read the issued access token"
[ "$(idp_stat 's["requests"]["token_authorization_code"]')" = 1 ] || fail "not exactly one code exchange"
assert_no_secret_in "$WORK/out/login.out" "$WORK/out/login.err" "$SSH_DIR/sshd.log"
note "3. stored (secret-tool reads the issued token), one code exchange, no secret in the outputs"
pass "ssh -L: the laptop's browser reaches the refresher's listener through the tunnel; the pair is stored"
