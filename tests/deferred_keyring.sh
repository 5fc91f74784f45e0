#!/bin/bash
# A login whose keyring is not up yet when the session hook runs: Debian's gdm-password and
# lightdm start gnome-keyring (pam_gnome_keyring ... auto_start) after `@include
# common-session`, where the pam-auth-update profile puts this module. The session must not
# start a Secret Service itself (one started without the password makes a login keyring the
# password cannot unlock) and must not wait: it hands the code to the refresher, which waits
# for the keyring (at most 30 s), has it exchanged, and stays. Here the keyring is started as
# pam_gnome_keyring starts it (`--login`, unlocked, registered on the bus only once D-Bus
# activation asks), once the session has opened and the refresher waits for it; and in a second
# login, never.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool openssl curl

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-deferred-test-$$ # unique: runs of other trees may share this machine and user
prepare_private_user refresher=yes </dev/null
# DEFERRED_DISCOVERY=1 (tests/deferred_keyring_discovery.sh): the issuer alone, the endpoints
# from its metadata; the deferred exchange comes before the helper fetched any, so the
# refresher discovers them itself.
if [ "${DEFERRED_DISCOVERY:-0}" = 1 ]; then
    sed -i '/^\(authorize_url\|token_url\|revoke_url\) = /d' "$WORK/pam.conf"
    grep -q '^token_url' "$WORK/pam.conf" && fail "the endpoints are still configured"
fi
# DEFERRED_DEVICE=1 (tests/deferred_keyring_device.sh): sign_in = device, approved at the
# prompt; the refresher polls the device code once the keyring is up.
[ "${DEFERRED_DEVICE:-0}" = 1 ] && echo "sign_in = device" >>"$WORK/pam.conf"
sed 's/refresher=yes/refresher=yes prompt=always/' "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-always"
chmod a+r "$WORK/pam.d/pok-always"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
# Whatever happens, the buses and keyring daemons this scenario starts end with it.
stop_ours() {
    local pid
    kill $(cat "$WORK"/out/*-bus.pid 2>/dev/null) 2>/dev/null
    for pid in $(pgrep -u "$(id -u)" gnome-keyring-d); do
        grep -qz "^XDG_RUNTIME_DIR=$WORK/runtime/" "/proc/$pid/environ" 2>/dev/null && kill "$pid"
    done
}
trap stop_ours EXIT
# The codes spent: authorization codes exchanged, or device codes that got their tokens.
exchanges() {
    idp_stat 's["requests"]["token_authorization_code"] + len([p for p in s["device_polls"] if p["answer"] == "tokens"])'
}
late_login() { # late_login NAME RUNTIME BUS [SERVICE]
    local answering=()
    [ "$DEFERRED_DEVICE" = 1 ] && answering=(--answer-command "$PYTHON $WORK/bin/device_user.py \
--ca $CA_FILE --decision approve --save $WORK/out/$1.code")
    driver_login "$1" --service "${4:-pok-private}" --session "$2" "$3" "${answering[@]}"
    grep -q "pam_open_session: Success" "$WORK/out/$1.out" || fail "$1: no session: $(cat "$WORK/out/$1.out")"
}
new_bus() { # new_bus NAME: a session bus and runtime directory with no keyring running
    mkdir -m 700 "$WORK/runtime/$1"
    # Its own XDG_RUNTIME_DIR, as systemd --user gives the user's bus: an activated keyring
    # finds the login daemon's control socket there.
    XDG_RUNTIME_DIR="$WORK/runtime/$1" dbus-daemon --session \
        --address="unix:path=$WORK/runtime/$1/bus" --fork --print-pid >"$WORK/out/$1-bus.pid"
}

# --- 1. the keyring comes later, as pam_gnome_keyring starts it --------------------------
new_bus late
LATE_BUS="unix:path=$WORK/runtime/late/bus"
late_login late "$WORK/runtime/late" "$LATE_BUS"
session_ms=$(sed -n 's/^timing: pam_open_session \([0-9]*\) ms$/\1/p' "$WORK/out/late.out")
[ "$session_ms" -le 1000 ] || fail "the session waited $session_ms ms for the keyring"
grep -q "will be in your keyring once it is unlocked" "$WORK/out/late.out" ||
    fail "the user was not told: $(cat "$WORK/out/late.out")"
grep -q "the keyring is not running yet" "$WORK/out/late.log" || fail "not logged: $(cat "$WORK/out/late.log")"
[ "$(exchanges)" = 0 ] || fail "the code was spent before the keyring was up"
wait_until 10 refresher_count_is 1 || fail "no refresher took the code"
[ "$(exchanges)" = 0 ] || fail "the refresher spent the code before the keyring was up"
# (This session's login keyring, in the same HOME: its password, as the user would type it.)
printf '%s' "$KEYRING_PASSWORD" | env DBUS_SESSION_BUS_ADDRESS="$LATE_BUS" \
    XDG_RUNTIME_DIR="$WORK/runtime/late" gnome-keyring-daemon --daemonize --login >/dev/null ||
    fail "cannot start gnome-keyring as pam_gnome_keyring does"
stored_token() {
    token=$(DBUS_SESSION_BUS_ADDRESS="$LATE_BUS" XDG_RUNTIME_DIR="$WORK/runtime/late" \
        timeout 5 secret-tool lookup service "$SERVICE" username "$RUN_AS" 2>/dev/null)
    [ -n "$token" ]
}
wait_until 15 stored_token
[ -n "$token" ] && [ "$token" = "$(idp_stat 's["issued"]["access_tokens"][-1]')" ] ||
    fail "the refresher did not store the issued token within 15 s of the keyring"
[ "$(exchanges)" = 1 ] || fail "$(exchanges) exchanges for one login"
refresher_count_is 1 || fail "the refresher did not stay after the exchange"
late_login late-again "$WORK/runtime/late" "$LATE_BUS"
grep -q '^\[prompt\]' "$WORK/out/late-again.out" && fail "the next login asked again"
echo "--- 1. keyring up 1 s after the session: session ${session_ms} ms, the refresher exchanged and stored, the next login asked nothing"
if [ "$DEFERRED_DEVICE" = 1 ]; then
    echo "--- the device grant: approved at the prompt, polled and stored by the refresher once the keyring was up"
    echo done >"$WORK/out/scenario.done"
    exit 0
fi
if [ "${DEFERRED_DISCOVERY:-0}" = 1 ]; then
    discoveries=$(idp_stat 's["requests"]["discovery"]')
    [ "$discoveries" = 2 ] || fail "$discoveries metadata requests (2: the prompt's, the refresher's)"
    echo "--- the issuer alone: the refresher discovered the token endpoint itself ($discoveries metadata requests)"
    echo done >"$WORK/out/scenario.done"
    exit 0
fi

# --- 2. the keyring never comes: the refresher gives up after 30 s, nothing spent ----------
new_bus never
late_login never "$WORK/runtime/never" "unix:path=$WORK/runtime/never/bus" pok-always
grep -q "will be in your keyring once it is unlocked" "$WORK/out/never.out" || fail "never: not deferred"
refresher_count_is 2 || fail "never: no waiting refresher beside the first one"
# The refresher's own bound: 30 s (refresher/refresher.c KEYRING_WAIT_SECONDS).
wait_until 45 refresher_count_is 1 || fail "the waiting refresher did not give up within 45 s"
[ "$(exchanges)" = 1 ] || fail "a code was spent without a keyring"
DBUS_SESSION_BUS_ADDRESS="unix:path=$WORK/runtime/never/bus" dbus-send --print-reply \
    --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
    string:org.freedesktop.secrets | grep -q "boolean false" || fail "a Secret Service was started"
echo "--- 2. keyring never up: the refresher gave up, nothing spent, no Secret Service started"
echo done >"$WORK/out/scenario.done"
SCENARIO
sed -i "1i DEFERRED_DISCOVERY=${DEFERRED_DISCOVERY:-0} DEFERRED_DEVICE=${DEFERRED_DEVICE:-0}" "$WORK/scenario.sh"
run_private_session "$WORK/scenario.sh" 120
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
assert_no_secret_in "$WORK"/out/*.log "$WORK"/out/*.out
[ "${DEFERRED_DEVICE:-0}" = 1 ] &&
    pass "keyring not up at the session, sign_in = device: the refresher polled the approved device code and stored once the keyring was up"
[ "${DEFERRED_DISCOVERY:-0}" = 1 ] &&
    pass "keyring not up at the session, the issuer alone: the refresher discovered, exchanged and stored once the keyring was up"
pass "keyring not up at the session: deferred to the refresher, stored once it was, never started one"
