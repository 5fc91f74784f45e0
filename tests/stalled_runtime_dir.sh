#!/bin/bash
# Issue 10, finding 3: a user can make their own helper sleep in the kernel for good - a FUSE
# mount that never answers, over $XDG_RUNTIME_DIR/pam_oauth_keyring, which the helper touches
# (its lock file) - and SIGKILL does not wake it. Root's PAM application must still get its
# session back within the module's bound, the application itself never blocked in the kernel;
# the stuck helper is left behind, and logged. Root only; needs fuse3's fusermount3.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root: a real user and root's PAM application"
require_tools fusermount3 dbus-daemon gnome-keyring-daemon
[ -c /dev/fuse ] || skip "no /dev/fuse on this machine"

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM" --access-ttl 1
SERVICE=pok-stall-$$
create_real_user "pokstall$RANDOM"
mkdir -p "$WORK/pam.d" "$WORK/state"
# timeout 2: the session's bound is 2 s + 1 s (lock) + 0.8 s grace, + 0.5 s for the kill.
write_config "$WORK/pam.conf" <<<"timeout = 2"
cat >"$WORK/pam.d/pok-login" <<PAM
auth     required pam_unix.so
auth     optional pam_gnome_keyring.so
auth     optional $MODULE config=$WORK/pam.conf state_dir=$WORK/state refresher=no
account  required pam_permit.so
session  optional pam_gnome_keyring.so auto_start
session  optional $MODULE config=$WORK/pam.conf state_dir=$WORK/state refresher=no
PAM
login() { # login NAME: the driver as root, for the user; its output in $WORK/NAME.out
    driver_login "$1" --dir "$WORK" --service pok-login --user "$USER_NAME" --password "$PASSWORD" \
        --session "$RUNTIME" "$BUS"
}

login first
grep -q "is now in your keyring" "$WORK/first.out" || fail "first login: $(cat "$WORK/first.out" "$WORK/first.log")"
# The 1-second access token, due at once: its stored times moved 2 s into the past.
as_user "$PYTHON" "$WORK/bin/keyring_tool.py" age-pair "$SERVICE" 2 || fail "cannot age the stored pair"
state_dir="$RUNTIME/pam_oauth_keyring"
[ -d "$state_dir" ] || fail "the helper made no $state_dir"

# The user mounts the stalling filesystem over the directory their helper uses. Debian's udev
# rule makes /dev/fuse 0666; a machine without udev (this one) has it 0600 until told.
fuse_mode=$(stat -c %a /dev/fuse)
if [ "$fuse_mode" != 666 ]; then
    chmod 0666 /dev/fuse && on_exit "chmod $fuse_mode /dev/fuse"
fi
cp "$top_srcdir/tests/stall_fuse.py" "$WORK/bin/" && chmod a+r "$WORK/bin/stall_fuse.py"
as_user "$PYTHON" "$WORK/bin/stall_fuse.py" "$state_dir" "$RUNTIME/stall.ready" 2>"$WORK/fuse.err" &
on_exit "fusermount3 -u -z '$state_dir'"
on_exit "pkill -f 'stall_fuse.py $state_dir'"
wait_until 10 test -s "$RUNTIME/stall.ready" || fail "the FUSE mount did not come up: $(cat "$WORK/fuse.err")"

# The token is due: the session hook's helper takes the refresh lock, in the stalled directory.
start=$(date +%s%N)
login stalled &
driver=$!
stuck=""
for _ in $(seq 200); do # the driver's state while it runs: never D
    kill -0 "$driver" 2>/dev/null || break
    grep -q '^State:.*D' "/proc/$driver/status" 2>/dev/null && stuck=yes
    sleep 0.05
done
wait "$driver"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
[ -z "$stuck" ] || fail "the PAM application itself was in D state"
grep -q "pam_open_session: Success" "$WORK/stalled.out" || fail "no session: $(cat "$WORK/stalled.out")"
[ "$elapsed_ms" -le 8000 ] || fail "the login took $elapsed_ms ms (bound: about 5 s)"
grep -q "SIGKILL did not end it" "$WORK/stalled.log" ||
    fail "the stuck helper was not reported: $(cat "$WORK/stalled.log")"
left=$(pgrep -u "$USER_NAME" -f "^pam_oauth_keyring_helper" | wc -l)
note "stalled login: session after $elapsed_ms ms; $left helper(s) of the user left in the kernel"
[ "$left" -ge 1 ] || note "the helper did not stay stuck (the kill reached it after all)"
# Ending the FUSE server frees the stuck helper; nothing of the application is left then.
pkill -f "stall_fuse.py $state_dir"
wait_until 10 sh -c "! pgrep -u '$USER_NAME' -f '^pam_oauth_keyring_helper' >/dev/null" ||
    fail "the stuck helper did not end with the FUSE server"
pass "a stalled runtime directory: session after $elapsed_ms ms, application never in D state"
