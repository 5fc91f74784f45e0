#!/bin/bash
# The real login stack, as root, for a real unprivileged user: pam_unix checks the password,
# pam_gnome_keyring creates and unlocks the user's login keyring on the user's own bus, and
# our module collects a code in auth and has the helper - dropped to the user - store the pair.
# Then the failure cases: each leaves the keyring as it was, opens the session, logs why.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (creates a user, runs pam_unix and the privilege drop)"
require_tools useradd chpasswd runuser dbus-daemon gnome-keyring-daemon secret-tool curl
[ -f /lib/x86_64-linux-gnu/security/pam_gnome_keyring.so ] ||
    [ -n "$(find /lib /usr/lib -name pam_gnome_keyring.so 2>/dev/null | head -1)" ] ||
    fail "pam_gnome_keyring.so is missing (libpam-gnome-keyring)"

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-system-test-$$ # unique: runs of other trees may share this machine and user

# --- a real user with a password, an extra group, a runtime dir and a session bus --------
GROUP_NAME="poktest$RANDOM-g"
groupadd "$GROUP_NAME" || fail "groupadd"
on_exit "groupdel '$GROUP_NAME'"
create_real_user "poktest$RANDOM" -G "$GROUP_NAME"
keyring_dump() { as_user "$PYTHON" "$WORK/bin/keyring_tool.py" dump; }

# --- the helper runs through a recorder that keeps its credentials, argv and environment --
mkdir -p "$WORK/audit"
chown "$USER_NAME" "$WORK/audit"
cat >"$WORK/bin/helper-recorder" <<REC
#!/bin/sh
stamp=\$(date +%s%N)
cat /proc/\$\$/status >"$WORK/audit/\$stamp.status"
tr '\0' '\n' </proc/\$\$/environ >"$WORK/audit/\$stamp.environ"
tr '\0' ' ' </proc/\$\$/cmdline >"$WORK/audit/\$stamp.cmdline"
exec "$HELPER"
REC
chmod 755 "$WORK/bin/helper-recorder"

# --- PAM service files, in the documented order ---------------------------------------------
mkdir -p "$WORK/pam.d" "$WORK/state"
write_config "$WORK/good.conf" </dev/null
chown root:root "$WORK/good.conf"
cat >"$WORK/pam.d/pok-login" <<PAM
auth     required pam_unix.so
auth     optional pam_gnome_keyring.so
auth     optional $MODULE config=$WORK/good.conf state_dir=$WORK/state prompt=always debug
account  required pam_permit.so
session  optional pam_gnome_keyring.so auto_start
session  optional $MODULE config=$WORK/good.conf state_dir=$WORK/state prompt=always debug
PAM
# A login that does not unlock the keyring (think of a key-based ssh login).
sed '/pam_gnome_keyring/d' "$WORK/pam.d/pok-login" >"$WORK/pam.d/pok-nokeyring"
# A provider whose token endpoint is unreachable (nothing listens on port 1).
sed "s|^token_url = .*|token_url = https://127.0.0.1:1/token|" "$WORK/good.conf" >"$WORK/down.conf"
sed "s|good.conf|down.conf|" "$WORK/pam.d/pok-login" >"$WORK/pam.d/pok-down"
chmod 644 "$WORK/down.conf" # readable by others: allowed, with a warning
# A configuration others could change: refused.
cp "$WORK/good.conf" "$WORK/writable.conf"
chmod 660 "$WORK/writable.conf"
sed "s|good.conf|writable.conf|" "$WORK/pam.d/pok-login" >"$WORK/pam.d/pok-writable"
printf 'auth required pam_deny.so\naccount required pam_deny.so\nsession required pam_deny.so\n' \
    >"$WORK/pam.d/other"

LOGIN=0
login() { # login SERVICE BROWSER-MODE -> $WORK/login-N.out, log in $WORK/module.log
    LOGIN=$((LOGIN + 1))
    OUT="$WORK/login-$LOGIN.out"
    : >"$WORK/login-$LOGIN.log"
    driver_login "login-$LOGIN" --dir "$WORK" --service "$1" --user "$USER_NAME" --password "$PASSWORD" \
        --helper "$WORK/bin/helper-recorder" --stand-in --browser "$2" --session "$RUNTIME" "$BUS"
    LOG="$WORK/login-$LOGIN.log"
    sed "s/^/    [$1\/$2] /" "$LOG"
    grep -q "pam_open_session: Success" "$OUT" || fail "login $LOGIN ($1/$2): no session: $(cat "$OUT")"
}
token_requests() { idp_stat 's["requests"]["token"]'; }

# --- 1. the good login -----------------------------------------------------------------------
# An older version's login state file, the user's own: the module's first write replaces it.
printf 'refresh_expires_at=0\nauthorization_needed=0\n' >"$WORK/state/$USER_UID-$SERVICE"
chown "$USER_NAME" "$WORK/state/$USER_UID-$SERVICE"
chmod 600 "$WORK/state/$USER_UID-$SERVICE"
login pok-login url
grep -q "is now in your keyring" "$OUT" || fail "first login did not store: $(cat "$OUT" "$LOG")"
issued=$(idp_stat 's["issued"]["access_tokens"][-1]')
[ "$(as_user secret-tool lookup service "$SERVICE" username "$USER_NAME")" = "$issued" ] ||
    fail "secret-tool, as the user, does not print the issued token"
[ "$(as_user "$PYTHON" "$WORK/bin/keyring_tool.py" keyring "$SERVICE" "$USER_NAME")" = "$issued" ] ||
    fail "Python keyring, as the user, does not return the issued token"
[ "$(idp_userinfo_status "$issued")" = 200 ] || fail "the stored token does not work at the IdP"
[ "$(idp_stat '",".join(s["last_token_request_fields"])')" = \
    "client_id,client_secret,code,code_verifier,grant_type,redirect_uri" ] ||
    fail "the code exchange did not send exactly the reference's fields"
# prompt=missing's knowledge: written by the module as root from the helper's reply; root's,
# the user's group may read it, the user can neither rewrite nor grow it (issue 10, finding 8).
state_file="$WORK/state/$USER_UID-$SERVICE"
[ "$(stat -c %U:%G:%a "$state_file")" = "root:$(id -gn "$USER_NAME"):640" ] ||
    fail "login state: $(stat -c %U:%G:%a "$state_file")"
as_user cat "$state_file" >/dev/null || fail "the user cannot read the login state file"
as_user sh -c 'echo x >>"$1"' sh "$state_file" 2>/dev/null && fail "the user could append to the login state file"
grep -q "^authorization_needed=0$" "$state_file" && grep -Eq "^refresh_expires_at=[1-9][0-9]+$" "$state_file" ||
    fail "the module did not record the refresh token's expiry: $(cat "$state_file")"
note "1. login stored the issued token; secret-tool and Python keyring read it as the user"
note "1. login state: the user's older file replaced by root's (0640, the user's group) with the expiry; the user cannot append"

# The helper ran as the user: uid, gid, groups exactly; no new privileges; nothing secret
# in its argv or environment.
expected_groups=$(id -G "$USER_NAME" | tr ' ' '\n' | sort -n | tr '\n' ' ')
gid=$(id -g "$USER_NAME")
check_credentials() { # check_credentials STATUS-FILE WHAT: /proc/PID/status of a helper
    grep -Eq "^Uid:\s+$USER_UID\s+$USER_UID\s+$USER_UID\s+$USER_UID$" "$1" || fail "$2 uid: $(grep Uid "$1")"
    grep -Eq "^Gid:\s+$gid\s+$gid\s+$gid\s+$gid$" "$1" || fail "$2 gid: $(grep Gid "$1")"
    groups=$(sed -n 's/^Groups:\s*//p' "$1" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
    [ "$groups" = "$expected_groups" ] || fail "$2 groups '$groups', want '$expected_groups'"
    grep -Eq "^NoNewPrivs:\s+1$" "$1" || fail "$2 runs without NoNewPrivs"
    grep -Eq "^CapEff:\s+0+$" "$1" || fail "$2 has effective capabilities"
}
runs=0
for status in "$WORK"/audit/*.status; do
    runs=$((runs + 1))
    check_credentials "$status" helper
done
[ "$runs" -ge 3 ] || fail "expected 3 helper runs (authorize, answer, exchange), saw $runs"
env_names=$(cut -d= -f1 "$WORK"/audit/*.environ | sort -u | tr '\n' ' ')
[ "$env_names" = "DBUS_SESSION_BUS_ADDRESS HOME LOGNAME PATH USER XDG_RUNTIME_DIR " ] ||
    fail "helper environment has: $env_names"
assert_no_secret_in "$WORK"/audit/*.environ "$WORK"/audit/*.cmdline
note "1. helper ran $runs times as uid $USER_UID with groups $expected_groups, NoNewPrivs, minimal env"

# The same, read from /proc of the processes while they run: the refresher the first login
# left, and a helper stopped (test build) just before it sends the code.
proc_check() { # proc_check PID WHAT
    check_credentials "/proc/$1/status" "$2"
    # A non-dumpable process's /proc files belong to root, not to the user.
    [ "$(stat -c %U "/proc/$1/environ")" = root ] || fail "$2 is dumpable"
    tr '\0' '\n' <"/proc/$1/environ" >"$WORK/audit/$2.environ"
    tr '\0' ' ' <"/proc/$1/cmdline" >"$WORK/audit/$2.cmdline"
}
refresher_pid=$(pgrep -u "$USER_NAME" -f "pam_oauth_keyring_refresher $SERVICE")
[ -n "$refresher_pid" ] || fail "no refresher after the first login"
proc_check "$refresher_pid" refresher
install -d -m 700 -o "$USER_NAME" "$RUNTIME/pam_oauth_keyring"
echo exchange-before-request >"$RUNTIME/pam_oauth_keyring/test-pause-at"
chown "$USER_NAME" "$RUNTIME/pam_oauth_keyring/test-pause-at"
driver_login paused --dir "$WORK" --service pok-login --user "$USER_NAME" --password "$PASSWORD" \
    --helper "$WORK/bin/pam_oauth_keyring_helper_test" --session "$RUNTIME" "$BUS" &
login_pid=$!
wait_until 10 test -s "$RUNTIME/pam_oauth_keyring/test-paused" || fail "the helper never paused"
read -r helper_pid _ <"$RUNTIME/pam_oauth_keyring/test-paused" || fail "the helper never paused"
proc_check "$helper_pid" helper
rm -f "$RUNTIME/pam_oauth_keyring/test-pause-at"
kill -CONT "$helper_pid"
wait "$login_pid"
grep -q "is now in your keyring" "$WORK/paused.out" || fail "the paused login did not finish: $(cat "$WORK/paused.log")"
assert_no_secret_in "$WORK"/audit/refresher.* "$WORK"/audit/helper.*
note "1. /proc of the running refresher and helper: the user's ids and groups, CapEff 0, NoNewPrivs, not dumpable, no secret in environ or cmdline"

before=$(keyring_dump) || fail "cannot read the keyring"
requests=$(token_requests)

# --- 2. a wrong state: refused before anything is spent --------------------------------------
login pok-login wrong-state
grep -q "state does not match" "$LOG" || fail "wrong state not logged: $(cat "$LOG")"
[ "$(token_requests)" = "$requests" ] || fail "a wrong state still reached the token endpoint"
[ "$(keyring_dump)" = "$before" ] || fail "a wrong state changed the keyring"
note "2. wrong state: refused, nothing spent, keyring unchanged"

# --- 3. a tampered code: the provider refuses, nothing is stored ------------------------------
login pok-login tamper-code
grep -q "invalid_grant" "$LOG" || fail "tampered code: no reason logged: $(cat "$LOG")"
grep -q "could not be stored" "$OUT" || fail "tampered code: the user was not told"
[ "$(keyring_dump)" = "$before" ] || fail "a tampered code changed the keyring"
note "3. tampered code: provider said invalid_grant, keyring unchanged"

# --- 4. an unreachable token endpoint -------------------------------------------------------
login pok-down url
grep -q "cannot reach the token endpoint" "$LOG" || fail "unreachable IdP not logged: $(cat "$LOG")"
[ "$(keyring_dump)" = "$before" ] || fail "an unreachable IdP changed the keyring"
grep -q "down.conf is readable by others" "$LOG" || fail "no warning for a world-readable config"
note "4. unreachable token endpoint: logged, keyring unchanged; world-readable config warned"

# --- 5. a locked keyring: the code is not spent -----------------------------------------------
as_user "$PYTHON" "$WORK/bin/keyring_tool.py" lock || fail "cannot lock the keyring"
requests=$(token_requests)
login pok-nokeyring url
grep -q "keyring is locked" "$LOG" || fail "locked keyring not logged: $(cat "$LOG")"
[ "$(token_requests)" = "$requests" ] || fail "the code was spent although the keyring is locked"
note "5. locked keyring: code not spent, reason logged"

# --- 6. a second good login replaces the items (the stack unlocks the keyring again) ----------
login pok-login url
grep -q "is now in your keyring" "$OUT" || fail "second login did not store: $(cat "$LOG")"
second=$(idp_stat 's["issued"]["access_tokens"][-1]')
[ "$second" != "$issued" ] || fail "the IdP issued the same token twice"
[ "$(as_user secret-tool lookup service "$SERVICE" username "$USER_NAME")" = "$second" ] ||
    fail "after a second login secret-tool does not print the new token"
keyring_dump | "$PYTHON" -c '
import json, sys
items = json.load(sys.stdin)
for service in (sys.argv[1], sys.argv[1] + "/refresh"):
    count = sum(1 for i in items if i["attributes"].get("service") == service)
    assert count == 1, (service, count)
' "$SERVICE" || fail "a second login added items instead of replacing them"
note "6. second login: exactly one access and one refresh item, holding the new pair"

# --- 7. a configuration others could write: refused, no prompt, the login goes on -------------
requests=$(token_requests)
login pok-writable url
grep -q "writable.conf: must not be writable by group or others" "$LOG" ||
    fail "a group-writable config was not refused: $(cat "$LOG")"
! grep -q "^\[prompt\]" "$OUT" || fail "the user was prompted although the config is refused"
[ "$(token_requests)" = "$requests" ] || fail "a refused config still reached the IdP"
note "7. group-writable config: refused with file and reason, no prompt, session opened"

# --- 8. nothing written to /tmp: no file of the user's under /tmp or /var/tmp but this test's ---
left=$(find /tmp /var/tmp -xdev -user "$USER_NAME" -not -path "$WORK" -not -path "$WORK/*" 2>/dev/null | head -5)
[ -z "$left" ] || fail "files of $USER_NAME outside the test's directory: $left"
note "8. no file of $USER_NAME under /tmp or /var/tmp but in the test's own directory"

assert_no_secret_in "$WORK"/login-*.log "$WORK"/login-*.out
pass "system login stack: store, read back as the user, and 5 failure cases"
