#!/bin/bash
# The fault matrix, through the real libpam, in a private session of an unprivileged user
# (nobody as root): every provider fault and every local fault we can stage. Each case
# asserts: the session opens, and its phase takes at most timeout + 1 s; the keyring items
# are byte-identical to before; one log line names the cause; no child, fd or SIGCHLD change
# is left in the login process. The configured timeout is 2 s.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-fault-test-$$ # unique: runs of other trees may share this machine and user
prepare_private_user prompt=always refresher=no < <(echo "timeout = 2")

# A second provider whose certificate names another host (signed by the trusted CA).
"$PYTHON" "$top_srcdir/tests/idp/idp.py" --cert "$WORK/ca/wrong-host.pem" \
    --key "$WORK/ca/wrong-host.key" --port-file "$WORK/wrong-host.port" --client-id "$CLIENT_ID" \
    --client-secret="$CLIENT_SECRET" --redirect-uri "$REDIRECT_URI" 2>"$WORK/wrong-host.log" &
on_exit "kill $!"
wait_until 10 test -s "$WORK/wrong-host.port" || fail "the wrong-host IdP did not start"
chmod 644 "$WORK/ca/other-ca.pem"

# One service per configuration variant: NAME and extra config lines.
variant() {
    local name=$1 lines=$2
    { printf '%s\n' "$lines" | grep . || true; } | write_config "$WORK/$name.conf"
    sed "s|$WORK/pam.conf|$WORK/$name.conf|" "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-$name"
    [ "$RUN_AS" = nobody ] && chown nobody "$WORK/$name.conf"
    chmod a+r "$WORK/pam.d/pok-$name"
}
variant refused "token_url = https://127.0.0.1:1/token"
variant untrusted "ca_file = $WORK/ca/other-ca.pem"
variant wrong-host "token_url = https://127.0.0.1:$(cat "$WORK/wrong-host.port")/token"
variant plain-http "token_url = http://127.0.0.1:$(cat "$WORK/idp.port")/token"
variant unresolvable "token_url = https://no-such-host.invalid/token"
# Configuration files the module must refuse.
sed "s|$WORK/pam.conf|$WORK/missing.conf|" "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-missing"
variant unparsable ""
echo "this line is not ini" >>"$WORK/unparsable.conf"
variant world-writable ""
chmod 666 "$WORK/world-writable.conf"
variant group-writable ""
chmod 660 "$WORK/group-writable.conf"
if [ "$(id -u)" = 0 ]; then
    variant other-owner ""
    chown daemon "$WORK/other-owner.conf" # neither root nor the user the module runs as
    chmod 644 "$WORK/other-owner.conf"  # readable, so that the owner check is what refuses it
fi
sed 's|debug|debug bogus_argument=1|' "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-unknown-arg"
chmod a+r "$WORK"/pam.d/*

# A session bus on which no Secret Service can be had (no service activation).
cat >"$WORK/no-secrets-bus.conf" <<BUS
<busconfig>
  <type>session</type>
  <listen>unix:path=$WORK/runtime/no-secrets-bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
BUS
chmod a+r "$WORK/no-secrets-bus.conf"

# Helpers whose https module (libcurl, loaded only to talk to the provider) is missing, or
# is not the one built with them (oauth/https_transport.h).
mkdir -p "$WORK/no-https" "$WORK/other-https"
cp "$HELPER" "$WORK/no-https/"
cp "$HELPER" "$WORK/other-https/"
printf 'int pok_https_transport_abi(void) { return 999; }\n' >"$WORK/other-https/abi.c"
cc -shared -fPIC -o "$WORK/other-https/pam_oauth_keyring_https.so" "$WORK/other-https/abi.c" ||
    fail "cannot build the stand-in https module"
chmod -R a+rX "$WORK/no-https" "$WORK/other-https"
protect_helper "$WORK/no-https/pam_oauth_keyring_helper" "$WORK/other-https/pam_oauth_keyring_helper"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
# The extra buses this scenario starts end with it, whatever happens.
trap 'kill $(cat "$WORK"/out/*bus.pid 2>/dev/null) 2>/dev/null' EXIT
snapshot() { "$PYTHON" "$WORK/bin/keyring_tool.py" dump; }
case_login() { # case_login NAME SERVICE EXPECTED-LOG-TEXT [BUS [KEYRING: same|changed]]
    local name=$1 service=$2 expected=$3 bus=${4:-$DBUS_SESSION_BUS_ADDRESS} keyring=${5:-same}
    local before session_ms requests
    before=$(snapshot)
    requests=$(idp_stat 's["requests"]["token"]')
    driver_login "$name" --service "$service" --helper "${CASE_HELPER:-$HELPER}" --timeout 30 \
        --session "${CASE_RUNTIME:-$XDG_RUNTIME_DIR}" "$bus"
    grep -q "pam_open_session: Success" "$WORK/out/$name.out" ||
        fail "$name: no session: $(cat "$WORK/out/$name.out" "$WORK/out/$name.log")"
    session_ms=$(sed -n 's/^timing: pam_open_session \([0-9]*\) ms$/\1/p' "$WORK/out/$name.out")
    [ "$session_ms" -le 3000 ] || fail "$name: the session phase took $session_ms ms (timeout 2 s + 1 s)"
    grep -Eq "^hygiene: children left 0, fds before ([0-9]+) after \1, sigchld handler preserved$" \
        "$WORK/out/$name.out" || fail "$name: $(grep hygiene "$WORK/out/$name.out")"
    if [ "$keyring" = same ]; then
        [ "$(snapshot)" = "$before" ] || fail "$name: the keyring changed"
    elif [ "$keyring" = locked ]; then # unreadable: the proof is that the code was not spent
        [ "$(idp_stat 's["requests"]["token"]')" = "$requests" ] || fail "$name: the code was spent"
    else
        grep -q "is now in your keyring" "$WORK/out/$name.out" || fail "$name: the login did not store"
    fi
    grep -q -- "$expected" "$WORK/out/$name.log" || fail "$name: no '$expected' in: $(cat "$WORK/out/$name.log")"
    # A sign-in that was not stored says what happens next (issue 11, item 6).
    if grep -q "could not be stored" "$WORK/out/$name.out"; then
        grep -q "asked to sign in to .* again at your next login" "$WORK/out/$name.out" ||
            fail "$name: the user is not told what happens next: $(cat "$WORK/out/$name.out")"
        NEXT_STEP_TOLD=$((${NEXT_STEP_TOLD:-0} + 1))
    fi
    echo "--- $name: session ${session_ms} ms, keyring $keyring; log: $(grep -o -- "$expected.*" "$WORK/out/$name.log" | head -1 | cut -c1-110)"
}
fault() { idp_control "{\"reset\": true, \"fault\": \"$1\"}"; }

# A good login first, so that there is something to keep unchanged.
session_login url first
grep -q "is now in your keyring" "$WORK/out/first.out" || fail "the first login failed: $(cat "$WORK/out/first.log")"

# --- the provider ---
case_login refused pok-refused "cannot reach the token endpoint"
fault blackhole;          case_login black-hole pok-private "Timeout was reached"
fault slow_drip;          case_login slow-drip pok-private "Timeout was reached"
fault http500;            case_login http-500 pok-private "failed (HTTP 500)"
fault invalid_grant;      case_login invalid-grant pok-private "refused: invalid_grant"
fault invalid_client;     case_login invalid-client pok-private "refused: invalid_client"
fault invalid_json;       case_login invalid-json pok-private "not a JSON object"
fault truncated;          case_login truncated pok-private "not a JSON object"
fault no_access_token;    case_login no-access-token pok-private "no valid access_token"
fault token_type_mac;     case_login token-type-mac pok-private "token_type is not bearer"
fault huge_body;          case_login huge-body pok-private "larger than 65536 bytes"
fault wrong_content_type; case_login wrong-content-type pok-private "did not answer with JSON"
fault redirect_http;      case_login redirect-http pok-private "redirect (HTTP 302), which is not followed"
idp_control '{"reset": true}'
case_login untrusted-cert pok-untrusted "TLS identity was not accepted"
case_login wrong-host pok-wrong-host "TLS identity was not accepted"
case_login plain-http pok-plain-http "only https:// URLs are allowed"
case_login unresolvable pok-unresolvable "cannot reach the token endpoint"

# --- the machine ---
case_login no-bus pok-private "not reachable on the session bus" "unix:path=$WORK/runtime/no-such-bus"
dbus-daemon --config-file="$WORK/no-secrets-bus.conf" --fork --print-pid >"$WORK/out/no-secrets-bus.pid"
case_login no-secret-service pok-private "not reachable on the session bus" "unix:path=$WORK/runtime/no-secrets-bus"
kill "$(cat "$WORK/out/no-secrets-bus.pid")"
# A bus on which the Secret Service can be started (activatable) but is not running: a login
# must not start it (a gnome-keyring started without the password can make a login keyring
# that the password then fails to unlock), and the code is not spent.
dbus-daemon --session --address="unix:path=$WORK/runtime/idle-bus" --fork --print-pid \
    >"$WORK/out/idle-bus.pid"
bus_call() { # bus_call METHOD [ARG]: a call to the idle bus's daemon
    dbus-send --bus="unix:path=$WORK/runtime/idle-bus" --print-reply --dest=org.freedesktop.DBus \
        /org/freedesktop/DBus "org.freedesktop.DBus.$1" ${2:+"$2"}
}
bus_call ListActivatableNames | grep -q '"org.freedesktop.secrets"' ||
    fail "the Secret Service is not activatable on a session bus here (gnome-keyring missing?)"
# (Its own runtime directory: this session's has the control socket of a gnome-keyring daemon,
# which the module rightly lets activation attach to, as after pam_gnome_keyring.)
mkdir -m 700 "$WORK/runtime/idle-session"
CASE_RUNTIME="$WORK/runtime/idle-session" case_login secret-service-not-running pok-private \
    "no Secret Service is running" "unix:path=$WORK/runtime/idle-bus"
bus_call NameHasOwner string:org.freedesktop.secrets | grep -q "boolean false" ||
    fail "the login started the Secret Service"
kill "$(cat "$WORK/out/idle-bus.pid")"
CASE_HELPER="$WORK/no-https/pam_oauth_keyring_helper" \
    case_login https-module-missing pok-private "cannot load the https module"
CASE_HELPER="$WORK/other-https/pam_oauth_keyring_helper" \
    case_login https-module-other-version pok-private "does not belong to this helper's version"
case_login config-missing pok-missing "missing.conf: cannot open"
case_login config-unparsable pok-unparsable 'unparsable.conf:12: not a "key = value" line'
case_login config-world-writable pok-world-writable "must not be writable by group or others"
case_login config-group-writable pok-group-writable "must not be writable by group or others"
[ -f "$WORK/pam.d/pok-other-owner" ] &&
    case_login config-other-owner pok-other-owner "must be owned by root"
# An unknown argument is logged, and the login works as usual (it stores a new pair).
case_login unknown-argument pok-unknown-arg "unknown module argument: bogus_argument=1" \
    "$DBUS_SESSION_BUS_ADDRESS" changed
"$PYTHON" "$WORK/bin/keyring_tool.py" lock || fail "cannot lock the keyring"
case_login locked-keyring pok-private "keyring is locked" "$DBUS_SESSION_BUS_ADDRESS" locked
[ "${NEXT_STEP_TOLD:-0}" -ge 10 ] || fail "only ${NEXT_STEP_TOLD:-0} failed sign-ins said what happens next"
echo "--- ${NEXT_STEP_TOLD} failed sign-ins each told the user they will be asked at the next login"
echo done >"$WORK/out/scenario.done"
SCENARIO
run_private_session "$WORK/scenario.sh" 300
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
assert_no_secret_in "$WORK"/out/*.log "$WORK"/out/*.out
pass "every provider and machine fault: session open within timeout + 1 s, keyring unchanged, cause logged"
