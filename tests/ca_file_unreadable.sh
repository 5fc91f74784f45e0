#!/bin/bash
# Issue 11, item 4: a ca_file the user cannot read made every exchange fail after the user had
# signed in ("Problem with the SSL CA cert"). The user's own helper checks it before the URL
# is shown: no prompt, and the log says why. With the file readable, the URL is shown.
# Root only: the module runs as root for "nobody", the CA file is root's.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root: a root-owned CA file the user cannot read"

make_workdir
stage_artifacts
write_stand_in_config "$WORK/pam.conf"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=test-ca -days 1 -keyout /dev/null \
    -out "$WORK/ca.pem" 2>/dev/null || fail "openssl"
chown root:root "$WORK/ca.pem"
echo "ca_file = $WORK/ca.pem" >>"$WORK/pam.conf"
mkdir -p "$WORK/pam.d" "$WORK/state"
cat >"$WORK/pam.d/pok-ca" <<PAM
auth     required pam_permit.so
auth     optional $MODULE config=$WORK/pam.conf minimum_uid=1 state_dir=$WORK/state prompt=always
account  required pam_permit.so
PAM
login() { # login NAME
    driver_login "$1" --dir "$WORK" --service pok-ca --user nobody --answer-command echo --timeout 30
}

chmod 0600 "$WORK/ca.pem"
login unreadable
grep -q '^\[prompt\]' "$WORK/unreadable.out" &&
    fail "the URL was shown although the exchange must fail: $(cat "$WORK/unreadable.out")"
grep -q "ca_file cannot be read by the user the helper runs as (Permission denied)" \
    "$WORK/unreadable.log" || fail "no reason logged: $(cat "$WORK/unreadable.log")"
note "ca_file 0600: no prompt; logged: $(grep -o 'the configured ca_file.*' "$WORK/unreadable.log")"

chmod 0644 "$WORK/ca.pem"
login readable
grep -q '^\[prompt\]' "$WORK/readable.out" || fail "a readable ca_file: no prompt: $(cat "$WORK/readable.log")"
pass "an unreadable ca_file is found before the URL is shown"
