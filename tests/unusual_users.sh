#!/bin/bash
# Real users the module must not trip over, through pam_unix + pam_gnome_keyring + the module
# as root: a name with dots, a dash, an underscore and an '@' (a directory-style login), and
# a user whose home directory does not exist. The first gets its token like anyone else; the
# second cannot have a login keyring, so the login goes on with the reason logged.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (creates users)"

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-unusual-test-$$ # unique: runs of other trees may share this machine and user
mkdir -p "$WORK/pam.d" "$WORK/state"
write_config "$WORK/pam.conf" </dev/null
cat >"$WORK/pam.d/pok-login" <<PAM
auth     required pam_unix.so
auth     optional pam_gnome_keyring.so
auth     optional $MODULE config=$WORK/pam.conf state_dir=$WORK/state prompt=always refresher=no debug
account  required pam_permit.so
session  required pam_permit.so
session  optional pam_gnome_keyring.so auto_start
session  optional $MODULE config=$WORK/pam.conf state_dir=$WORK/state refresher=no debug
PAM

login_as() { # login_as NAME HOME-FLAGS...: creates the user, logs in, leaves $OUT and $LOG
    local name=$1 password="pw-$RANDOM" uid runtime bus
    shift
    useradd --badname "$@" -s /bin/bash "$name" || fail "useradd $name"
    on_exit "userdel -r -f '$name'"
    echo "$name:$password" | chpasswd || fail "chpasswd $name"
    uid=$(id -u "$name")
    runtime="/run/user/$uid"
    install -d -m 700 -o "$uid" "$runtime"
    on_exit "rm -rf --one-file-system '$runtime'"
    bus="unix:path=$runtime/bus"
    runuser -u "$name" -- env -i HOME="$(getent passwd "$name" | cut -d: -f6)" \
        XDG_RUNTIME_DIR="$runtime" PATH=/usr/bin:/bin dbus-daemon --session --address="$bus" \
        --fork --print-pid >"$WORK/$uid.bus-pid" || fail "no bus for $name"
    on_exit "pkill -u $uid"
    OUT="$WORK/$uid.out"
    LOG="$WORK/$uid.log"
    driver_login "$uid" --dir "$WORK" --service pok-login --user "$name" --password "$password" \
        --session "$runtime" "$bus"
    grep -q "pam_open_session: Success" "$OUT" || fail "$name: no session: $(cat "$OUT" "$LOG")"
    grep -Eq "^hygiene: children left 0, fds before ([0-9]+) after \1, sigchld handler preserved$" \
        "$OUT" || fail "$name: $(grep hygiene "$OUT")"
    LOOKUP_AS=(runuser -u "$name" -- env -i DBUS_SESSION_BUS_ADDRESS="$bus" PATH=/usr/bin:/bin)
}

name="pok.dev-${RANDOM}_x@corp.example"
login_as "$name" -m
grep -q "is now in your keyring" "$OUT" || fail "$name: not stored: $(cat "$LOG")"
[ "$("${LOOKUP_AS[@]}" secret-tool lookup service "$SERVICE" username "$name")" = \
    "$(idp_stat 's["issued"]["access_tokens"][-1]')" ] || fail "$name: secret-tool does not find the token"
note "'$name': stored, and secret-tool finds it under that username"

login_as "pok-nohome-$RANDOM" -M -d /nonexistent/pok-home
reason="the login keyring is locked|keyring is not reachable[^(]*|the user has no default \(login\) keyring"
grep -Eq "$reason" "$LOG" ||
    fail "no home: no keyring reason logged: $(cat "$LOG")"
[ "$(idp_stat 's["requests"]["token"]')" = 1 ] || fail "no home: a code was spent without a keyring"
note "no home directory: session opened, code not spent, logged: $(grep -Eo "$reason" "$LOG" | head -1)"
assert_no_secret_in "$WORK"/*.log "$WORK"/*.out
pass "unusual user name and user without home"
