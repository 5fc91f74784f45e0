#!/bin/bash
# Issue 10, finding 2: the module's helper must not keep the PAM application's controlling
# terminal. A su-like application (tests/pty_app.py: root, a pty as controlling terminal, a
# session keyring of its own) runs both phases for "nobody"; the helper is a stand-in that
# does what a process of the user could make the real one do: open /dev/tty and push
# "echo INJECTED" with TIOCSTI (also on fds 0-2), and look at the session keyring it holds.
# Nothing may reach root's terminal input, and the helper's keyring must be its own.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root: the application runs as root for another user"
[ "$(cat /proc/sys/dev/tty/legacy_tiocsti 2>/dev/null || echo 1)" = 1 ] ||
    note "this kernel refuses TIOCSTI (legacy_tiocsti=0): injection cannot work here anyway"

make_workdir
stage_artifacts
write_stand_in_config "$WORK/pam.conf"
mkdir -p "$WORK/pam.d" "$WORK/state" "$WORK/results"
chown nobody "$WORK/results"
cat >"$WORK/pam.d/pok-su" <<PAM
auth     required pam_permit.so
auth     optional $MODULE config=$WORK/pam.conf minimum_uid=1 state_dir=$WORK/state
account  required pam_permit.so
session  required pam_permit.so
session  optional $MODULE config=$WORK/pam.conf minimum_uid=1 state_dir=$WORK/state
PAM

cat >"$WORK/bin/tty-grabber" <<GRAB
#!/usr/bin/python3
import ctypes, fcntl, os, sys, termios
sys.stdin.buffer.read()
seen = []
try:
    tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    for byte in b"echo INJECTED\n":
        fcntl.ioctl(tty, termios.TIOCSTI, bytes([byte]))
    seen.append("tty injected")
except OSError as error:
    seen.append("tty " + str(error.strerror))
for fd in (0, 1, 2):
    try:
        fcntl.ioctl(fd, termios.TIOCSTI, b"X")
        seen.append(f"fd{fd} injected")
    except OSError as error:
        seen.append(f"fd{fd} " + str(error.strerror))
libc = ctypes.CDLL(None, use_errno=True)
seen.append("keyring %d" % libc.syscall(250, 0, ctypes.c_long(-3), 0))
fields = open("/proc/self/stat").read().rsplit(")", 1)[1].split()
seen.append(f"tty_nr {fields[4]} session {fields[3]} pid {os.getpid()}")
with open("$WORK/results/%d" % os.getpid(), "w") as out:
    out.write("\\n".join(seen) + "\\n")
sys.stdout.write("POK/1 error\\nreason 8\\nstand-in\\nmessage 8\\nstand-in\\nend\\n")
sys.exit(1)
GRAB
chmod 755 "$WORK/bin/tty-grabber"

driver_login driver --dir "$WORK" --service pok-su --user nobody --helper "$WORK/bin/tty-grabber" \
    --stand-in --no-answer --under "$PYTHON $top_srcdir/tests/pty_app.py $WORK/application.result" ||
    fail "the application did not run: $(cat "$WORK/driver.out")"
[ -s "$WORK/application.result" ] || fail "the application left no result"
grep -q "^exit 0$" "$WORK/application.result" ||
    fail "the driver failed: $(cat "$WORK/application.result" "$WORK/driver.log")"
runs=$(find "$WORK/results" -type f | wc -l)
[ "$runs" = 2 ] || fail "the stand-in helper ran $runs times, want 2 (auth and session)"
note "the helper saw: $(cat "$WORK"/results/* | tr '\n' ';')"
note "root's terminal input afterwards: $(grep '^input' "$WORK/application.result")"
grep -q "INJECTED\|X" <(grep '^input' "$WORK/application.result") &&
    fail "the helper typed into root's terminal: $(grep '^input' "$WORK/application.result")"
grep -h "injected" "$WORK"/results/* && fail "a TIOCSTI went through"
for result in "$WORK"/results/*; do
    grep -q "^tty No such device or address$" "$result" ||
        fail "the helper could open /dev/tty: $(cat "$result")"
    read -r _ tty_nr _ session _ pid < <(grep '^tty_nr' "$result")
    [ "$tty_nr" = 0 ] && [ "$session" = "$pid" ] ||
        fail "the helper is not in a session of its own without a terminal: $(cat "$result")"
    application_keyring=$(sed -n 's/^keyring //p' "$WORK/application.result")
    helper_keyring=$(sed -n 's/^keyring //p' "$result")
    [ "$helper_keyring" != "$application_keyring" ] ||
        fail "the helper holds the application's session keyring ($application_keyring)"
done
pass "no controlling terminal (/dev/tty: ENXIO), nothing injected, a session keyring of its own"
