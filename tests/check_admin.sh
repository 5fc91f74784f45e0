#!/bin/bash
# oauth-keyring check, the admin's pre-flight (issue 22), against real components: a
# `make install DESTDIR` tree, the test IdP over TLS, PAM stacks in a directory of the test's
# own (never /etc/pam.d), a python listener on the redirect port. Each case is a failure the
# check is meant to find, and each was seen to fail with its check removed (the commit says).
set -u
. "${top_srcdir:-.}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root: the check reads a root-only configuration and drops to nobody"
require_tools make python3
make_workdir
unset MAKEFLAGS MFLAGS MAKELEVEL
make -s -C "$top_builddir" install DESTDIR="$WORK/root" >"$WORK/install.out" 2>&1 ||
    fail "make install: $(tail -5 "$WORK/install.out")"
CLI=$(find "$WORK/root" -name oauth-keyring -type f)
HELPER=$(find "$WORK/root" -name pam_oauth_keyring_helper -type f)
[ -x "$CLI" ] && [ -n "$HELPER" ] || fail "make install installed no oauth-keyring or no helper"

REDIRECT_PORT=$(free_port)
REDIRECT_URI="http://127.0.0.1:$REDIRECT_PORT/callback"
SERVICE=pok-check
start_idp right-secret-$RANDOM
write_config "$WORK/pok.conf" </dev/null

# A Debian-like directory: common-auth ending in requisite pam_deny, the module after it in
# login with only_if=login, pam_gnome_keyring in the session.
GOOD_PAM="$WORK/pam.good"
mkdir -p "$GOOD_PAM"
cat >"$GOOD_PAM/common-auth" <<'PAM'
auth [success=1 default=ignore] pam_unix.so nullok
auth requisite pam_deny.so
auth required pam_permit.so
PAM
cat >"$GOOD_PAM/common-session" <<'PAM'
session required pam_unix.so
PAM
cat >"$GOOD_PAM/login" <<'PAM'
@include common-auth
auth     optional pam_gnome_keyring.so
auth     optional pam_oauth_keyring.so only_if=login
@include common-session
session  optional pam_gnome_keyring.so auto_start
session  optional pam_oauth_keyring.so only_if=login
PAM
cat >"$GOOD_PAM/sudo" <<'PAM'
@include common-auth
PAM
# A line continued with a backslash, as libpam reads it: in the stack, not a warning's subject.
cat >"$GOOD_PAM/gdm-password" <<'PAM'
auth substack login
session include \
    login
PAM

# run_check NAME [options]: --json into $WORK/NAME.json, the exit status in $WORK/NAME.rc,
# the seconds taken in $WORK/NAME.seconds; fails unless the output parses as JSON.
run_check() {
    local name=$1 start
    shift
    start=$(date +%s%N)
    timeout 60 "$CLI" check --json --destdir "$WORK/root" "$@" >"$WORK/$name.json" 2>"$WORK/$name.err"
    echo $? >"$WORK/$name.rc"
    echo $((($(date +%s%N) - start) / 1000000000)) >"$WORK/$name.seconds"
    "$PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))' "$WORK/$name.json" ||
        fail "$name: --json did not parse: $(head -c 2000 "$WORK/$name.json")"
}
# result NAME CHECK [SCOPE]: the result of one check ("pass", ...), "none" when absent.
result() {
    "$PYTHON" - "$WORK/$1.json" "$2" "${3:-}" <<'PY'
import json, sys
checks = [c for c in json.load(open(sys.argv[1])) if c["check"] == sys.argv[2]
          and (not sys.argv[3] or c["scope"] == sys.argv[3])]
print(" ".join(sorted({c["result"] for c in checks})) or "none")
PY
}
messages() { # messages NAME CHECK: every message and fix of that check
    "$PYTHON" -c 'import json, sys
for c in json.load(open(sys.argv[1])):
    if c["check"] == sys.argv[2]: print(c["message"], c["fix"] or "")' "$WORK/$1.json" "$2"
}
expect() { # expect NAME CHECK RESULT
    local got
    got=$(result "$1" "$2")
    [ "$got" = "$3" ] || fail "$1: $2 is '$got', not '$3': $(messages "$1" "$2") $(cat "$WORK/$1.err")"
}
exit_is() { # exit_is NAME STATUS
    [ "$(cat "$WORK/$1.rc")" = "$2" ] ||
        fail "$1: exit $(cat "$WORK/$1.rc"), not $2: $(cat "$WORK/$1.json")"
}

# --- 1. everything right: exit 0 --------------------------------------------------------------
run_check good --config "$WORK/pok.conf" --pam-dir "$GOOD_PAM"
for check in config.file config.parse config.urls config.redirect_uri config.ca_file \
    install.helper install.refresher install.https_module install.module install.autostart \
    pam.service pam.auth_order pam.keyring provider.authorize provider.token port; do
    expect good "$check" pass
done
exit_is good 0
messages good provider.token | grep -q invalid_grant || fail "right secret: no invalid_grant named"
messages good pam.service | grep -qx "gdm-password: auth 5/5 (login:3), session 3/3 (login:6) " ||
    fail "substack, include and a continued line not followed: $(messages good pam.service)"
note "1. a right configuration: every check passes, exit 0; the token endpoint said invalid_grant"

# --- 2. a wrong client secret: invalid_client, exit 1 ------------------------------------------
sed 's/^client_secret = .*/client_secret = wrong-secret/' "$WORK/pok.conf" >"$WORK/wrong.conf"
chmod 600 "$WORK/wrong.conf"
run_check wrong-secret --config "$WORK/wrong.conf" --pam-dir "$GOOD_PAM"
expect wrong-secret provider.token fail
messages wrong-secret provider.token | grep -q invalid_client ||
    fail "wrong secret: invalid_client not named: $(messages wrong-secret provider.token)"
exit_is wrong-secret 1
note "2. a wrong client secret: provider.token fails naming invalid_client, exit 1"

# --- 2b. a redirect_uri the provider has not registered: the authorization request refused ---
sed "s|^redirect_uri = .*|redirect_uri = http://127.0.0.1:$(free_port)/unregistered|" \
    "$WORK/pok.conf" >"$WORK/unregistered.conf"
chmod 600 "$WORK/unregistered.conf"
run_check unregistered --config "$WORK/unregistered.conf" --pam-dir "$GOOD_PAM"
expect unregistered provider.authorize warn
messages unregistered provider.authorize | grep -q "HTTP 400.*redirect_uri is registered" ||
    fail "unregistered redirect_uri: $(messages unregistered provider.authorize)"
expect unregistered provider.token pass
exit_is unregistered 5
note "2b. an unregistered redirect_uri: the authorization endpoint's 400 warned about, exit 5"

# --- 3. an unreachable token endpoint (a closed port): a failure within the bound -------------
CLOSED_PORT=$(free_port)
sed "s|^token_url = .*|token_url = https://127.0.0.1:$CLOSED_PORT/token|; s|^timeout = .*|timeout = 3|" \
    "$WORK/pok.conf" >"$WORK/closed.conf"
chmod 600 "$WORK/closed.conf"
run_check closed --config "$WORK/closed.conf" --pam-dir "$GOOD_PAM"
expect closed provider.token fail
expect closed provider.authorize pass
exit_is closed 1
[ "$(cat "$WORK/closed.seconds")" -le 11 ] ||
    fail "closed port: the check took $(cat "$WORK/closed.seconds") s, beyond 2 x timeout + 5 s"
note "3. token endpoint on a closed port: provider.token fails in $(cat "$WORK/closed.seconds") s: $(messages closed provider.token | head -1)"

# --- 3b. a token endpoint that accepts and never answers: a failure at the configured timeout.
# The listener also records the uid that owns each connecting socket (/proc/net/tcp's uid
# column): the provider is reached as nobody, never as root.
"$PYTHON" - "$WORK/silent.port" "$WORK/connections" <<'PY' &
import socket, sys, time
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(8)
port = listener.getsockname()[1]
open(sys.argv[1], "w").write(str(port))
held = []
while True:
    connection, (host, peer_port) = listener.accept()
    held.append(connection)  # never answered, never closed: the client's timeout ends it
    for line in open("/proc/net/tcp").readlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        remote_port = int(fields[2].split(":")[1], 16)
        if local_port == peer_port and remote_port == port:
            with open(sys.argv[2], "a") as out:
                out.write(fields[7] + "\n")
PY
SILENT=$!
on_exit "kill $SILENT"
wait_until 10 test -s "$WORK/silent.port" || fail "the silent listener did not start"
sed "s|^token_url = .*|token_url = https://127.0.0.1:$(cat "$WORK/silent.port")/token|; s|^timeout = .*|timeout = 2|" \
    "$WORK/pok.conf" >"$WORK/silent.conf"
chmod 600 "$WORK/silent.conf"
run_check silent --config "$WORK/silent.conf" --pam-dir "$GOOD_PAM"
expect silent provider.token fail
messages silent provider.token | grep -q timeout ||
    fail "silent endpoint: not a timeout: $(messages silent provider.token)"
[ "$(cat "$WORK/silent.seconds")" -le 9 ] ||
    fail "silent endpoint: the check took $(cat "$WORK/silent.seconds") s, beyond 2 x timeout + 5 s"
NOBODY_UID=$(id -u nobody)
[ -s "$WORK/connections" ] || fail "the silent endpoint recorded no connection"
[ -z "$(grep -vx "$NOBODY_UID" "$WORK/connections")" ] ||
    fail "the provider was reached as uid(s) $(sort -u "$WORK/connections" | tr '\n' ' ')not nobody ($NOBODY_UID)"
note "3b. a token endpoint that never answers: provider.token fails at the timeout, in $(cat "$WORK/silent.seconds") s; the connection came from uid $NOBODY_UID (nobody)"

# --- 4. a misordered stack: before pam_unix, in common-auth without only_if -------------------
BAD_PAM="$WORK/pam.bad"
mkdir -p "$BAD_PAM"
cat >"$BAD_PAM/common-auth" <<'PAM'
auth optional pam_oauth_keyring.so
auth [success=1 default=ignore] pam_unix.so nullok
auth requisite pam_deny.so
auth required pam_permit.so
PAM
cat >"$BAD_PAM/login" <<PAM
@include common-auth
session optional pam_oauth_keyring.so config=$WORK/pok.conf
PAM
cat >"$BAD_PAM/sshd" <<'PAM'
auth required pam_unix.so
auth requisite pam_deny.so
auth optional pam_oauth_keyring.so
PAM
run_check misordered --config "$WORK/pok.conf" --pam-dir "$BAD_PAM"
expect misordered pam.auth_order warn
messages misordered pam.auth_order | grep -q "before the password check" ||
    fail "misordered: the order is not what is warned about: $(messages misordered pam.auth_order)"
expect misordered pam.shared_stack warn
messages misordered pam.shared_stack | grep -q "common-auth:1" ||
    fail "misordered: the shared line not named: $(messages misordered pam.shared_stack)"
expect misordered pam.keyring warn
expect misordered pam.sshd warn
messages misordered pam.sshd | grep -q PAM_TEXT_INFO || fail "sshd: the reason is not given"
expect misordered pam.arguments warn
messages misordered pam.arguments | grep -q "config=(default) at common-auth:1 but config=$WORK/pok.conf at login:2" ||
    fail "misordered: the differing config= not named: $(messages misordered pam.arguments)"
exit_is misordered 5
note "4. module before pam_unix in common-auth without only_if: auth_order and shared_stack warn; no keyring line, sshd's auth line, auth and session reading different config= warned; exit 5"

# --- 4b. without --config: the configuration the module's lines name is checked --------------
NAMED_PAM="$WORK/pam.named"
cp -r "$GOOD_PAM" "$NAMED_PAM"
sed -i "s|pam_oauth_keyring.so only_if=login|pam_oauth_keyring.so only_if=login config=$WORK/wrong.conf|" \
    "$NAMED_PAM/login"
run_check named --pam-dir "$NAMED_PAM"
messages named config.file | grep -qF "$WORK/wrong.conf" ||
    fail "without --config: not the PAM lines' config=: $(messages named config.file)"
expect named provider.token fail
note "4b. without --config, the config= of the module's lines is the one checked (its wrong secret found)"

# --- 5. a readable helper (0755) in the install tree -----------------------------------------
chmod 0755 "$HELPER"
run_check readable --config "$WORK/pok.conf" --pam-dir "$GOOD_PAM"
chmod 0711 "$HELPER"
expect readable install.helper fail
messages readable install.helper | grep -q "0755" || fail "readable helper: its mode not named"
exit_is readable 1
note "5. a helper of mode 0755: install.helper fails, exit 1"

# --- 6. the redirect port taken: its holder named ---------------------------------------------
"$PYTHON" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); open(sys.argv[2], "w").close(); time.sleep(60)' \
    "$REDIRECT_PORT" "$WORK/listening" &
SQUATTER=$!
on_exit "kill $SQUATTER"
wait_until 10 test -e "$WORK/listening" || fail "the python listener did not start"
run_check port-taken --config "$WORK/pok.conf" --pam-dir "$GOOD_PAM"
kill "$SQUATTER"
expect port-taken port fail
messages port-taken port | grep -q "pid $SQUATTER (python3" ||
    fail "taken port: the holder (pid $SQUATTER) not named: $(messages port-taken port)"
exit_is port-taken 1
note "6. the redirect port taken: port fails naming pid $SQUATTER (python3)"

# --- 6b. only the issuer (discovery, issue 21): the probe fetches the metadata first ----------
grep -v '^\(authorize_url\|token_url\|revoke_url\|issuer\) ' "$WORK/pok.conf" >"$WORK/discovery.conf"
echo "issuer = $IDP_URL/realms/test" >>"$WORK/discovery.conf"
chmod 600 "$WORK/discovery.conf"
run_check discovery --config "$WORK/discovery.conf" --pam-dir "$GOOD_PAM"
for check in config.parse config.urls provider.authorize provider.token; do
    expect discovery "$check" pass
done
messages discovery provider.token | grep -q invalid_grant || fail "discovery: no invalid_grant named"
idp_control '{"discovery": "other_issuer"}'
run_check other-issuer --config "$WORK/discovery.conf" --pam-dir "$GOOD_PAM"
idp_control '{"discovery": "good"}'
expect other-issuer provider fail
messages other-issuer provider | grep -qF "names the issuer $IDP_URL/realms/test/someone-else, not the configured $IDP_URL/realms/test" ||
    fail "another issuer: not named: $(messages other-issuer provider)"
note "6b. the issuer alone: the endpoints discovered and probed; a document naming another issuer fails, both named"

# --- 7. as a user: says it needs root, checks what a user can ---------------------------------
runuser -u nobody -- env -i PATH=/usr/bin:/bin "$CLI" check --pam-dir "$GOOD_PAM" \
    --destdir "$WORK/root" >"$WORK/user.out" 2>&1
grep -q "SKIP  config.*needs root" "$WORK/user.out" || fail "as a user: no 'needs root': $(cat "$WORK/user.out")"
grep -q "user.keyring" "$WORK/user.out" || fail "as a user: the keyring not checked: $(cat "$WORK/user.out")"
note "7. as nobody: the configuration skipped (needs root), the user's keyring checked"

# --- 8. configuration mistakes: an unknown key, a ca_file users cannot read, a world-readable
# file, a redirect_uri that is no loopback address; the autostart entry turned off on purpose
{ cat "$WORK/pok.conf"; echo "client_secert = typo"; } >"$WORK/unknown.conf"
chmod 600 "$WORK/unknown.conf"
run_check unknown-key --config "$WORK/unknown.conf" --pam-dir "$GOOD_PAM"
expect unknown-key config.parse fail
messages unknown-key config.parse | grep -q "unknown key 'client_secert'" ||
    fail "unknown key: not named: $(messages unknown-key config.parse)"
cp "$CA_FILE" "$WORK/private-ca.pem"
chmod 600 "$WORK/private-ca.pem"
sed "s|^ca_file = .*|ca_file = $WORK/private-ca.pem|; s|^redirect_uri = .*|redirect_uri = https://example.org/callback|" \
    "$WORK/pok.conf" >"$WORK/ca.conf"
chmod 644 "$WORK/ca.conf"
AUTOSTART=$(find "$WORK/root" -name oauth-keyring-login.desktop)
echo "Hidden=true" >>"$AUTOSTART"
run_check ca-file --config "$WORK/ca.conf" --pam-dir "$GOOD_PAM"
expect ca-file config.ca_file fail
expect ca-file config.file warn
expect ca-file config.redirect_uri warn
expect ca-file install.autostart pass
messages ca-file install.autostart | grep -q "turned off on purpose" ||
    fail "Hidden=true: $(messages ca-file install.autostart)"
rm "$AUTOSTART"
run_check no-autostart --config "$WORK/pok.conf" --pam-dir "$GOOD_PAM"
expect no-autostart install.autostart warn
exit_is no-autostart 5
mkfifo -m 600 "$WORK/fifo.conf"
run_check fifo --config "$WORK/fifo.conf" --pam-dir "$GOOD_PAM"
expect fifo config.file fail
[ "$(cat "$WORK/fifo.seconds")" -le 5 ] || fail "a FIFO as the configuration held the check $(cat "$WORK/fifo.seconds") s"
note "8. an unknown key, a ca_file of mode 0600, a config readable by others, a redirect to example.org, the autostart entry hidden (pass) and missing (warn, exit 5); a FIFO as the configuration (fail, at once)"

# --- 8b. the device grant (issue 21): the issuer alone with sign_in = device -------------------
# No authorization endpoint, no redirect: the device authorization endpoint from the metadata
# is asked for a user code (dropped) and the token endpoint is sent an invalid device code.
# Then the provider refuses the client the grant: provider.device fails naming why.
cat >"$WORK/device.conf" <<CONF
[pok-check]
issuer = $IDP_URL
client_id = $CLIENT_ID
client_secret = $CLIENT_SECRET
ca_file = $CA_FILE
sign_in = device
CONF
chmod 600 "$WORK/device.conf"
run_check device --config "$WORK/device.conf" --pam-dir "$GOOD_PAM"
expect device provider.device pass
expect device provider.token pass
expect device provider.authorize none
expect device port skip
exit_is device 5 # warnings only: case 8 removed the autostart entry
device_codes=$(idp_stat 's["requests"]["device_authorization"]')
[ "$device_codes" -ge 1 ] || fail "device: the device authorization endpoint was not asked"
idp_control '{"device_fault": "invalid_client"}'
run_check device-refused --config "$WORK/device.conf" --pam-dir "$GOOD_PAM"
idp_control '{"device_fault": null}'
expect device-refused provider.device fail
messages device-refused provider.device | grep -q "invalid_client" ||
    fail "device refused: $(messages device-refused provider.device)"
exit_is device-refused 1
note "8b. sign_in = device from the issuer alone: a user code issued (provider.device pass), an invalid device code got invalid_grant, no authorize or port check; the grant refused: provider.device fails, exit 1"

# --- 9. no output of any run holds the client secret -----------------------------------------
for output in "$WORK"/*.json "$WORK"/*.err "$WORK/user.out"; do
    ! grep -qF -e "$CLIENT_SECRET" -e wrong-secret "$output" || fail "$output holds the client secret"
done
note "9. no output (text, JSON, stderr) holds the client secret"
pass "oauth-keyring check finds a wrong secret, an unreachable token endpoint, a misordered stack, a readable helper, a taken port and metadata of another issuer"
