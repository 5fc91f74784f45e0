#!/bin/bash
# What the module leaves alone, through the real libpam (SECURITY.md gap 6):
#   1. root: no helper is started, nothing is asked, the session opens;
#   2. a user below minimum_uid: the same;
#   3. auth misconfigured as `sufficient` before pam_deny: the user answers with a code the
#      helper accepts ("authorization code kept"), and the stack still fails - the module
#      returns PAM_IGNORE, a code proves nothing about the local user.
# (The only_if= skip is recipes.sh's.) The helper of steps 1 and 2 is a stand-in that marks
# that it ran.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (a login as root, and the privilege drop)"

make_workdir
stage_artifacts
write_stand_in_config "$WORK/pam.conf"
mkdir -p "$WORK/pam.d" "$WORK/state" "$WORK/marks"
chmod 777 "$WORK/marks"
printf '#!/bin/sh\ntouch "%s/marks/ran"\ncat >/dev/null\nexit 1\n' "$WORK" >"$WORK/bin/marks"
chmod 755 "$WORK/bin/marks"
service() { # service NAME AUTH-CONTROL MODULE-ARGUMENTS [LAST AUTH LINE]
    cat >"$WORK/pam.d/$1" <<PAM
auth     $2 $MODULE config=$WORK/pam.conf state_dir=$WORK/state debug $3
${4:-auth     required pam_permit.so}
account  required pam_permit.so
session  required pam_permit.so
session  optional $MODULE config=$WORK/pam.conf state_dir=$WORK/state debug $3
PAM
}
service pok-root optional "minimum_uid=0"
nobody_uid=$(id -u nobody)
service pok-high-minimum optional "minimum_uid=$((nobody_uid + 1))"
service pok-sufficient sufficient "minimum_uid=1" "auth     required pam_deny.so"

left_alone() { # NAME USER SERVICE
    rm -f "$WORK/marks/ran"
    driver_login "$1" --dir "$WORK" --service "$3" --user "$2" --helper "$WORK/bin/marks" \
        --stand-in --answer-command "echo some-code" --timeout 30
    grep -q "pam_open_session: Success" "$WORK/$1.out" || fail "$1: no session: $(cat "$WORK/$1.out")"
    ! grep -q '^\[prompt\]' "$WORK/$1.out" || fail "$1: the user was asked: $(cat "$WORK/$1.out")"
    [ ! -e "$WORK/marks/ran" ] || fail "$1: a helper was started"
    grep -q "user below minimum_uid, skipping" "$WORK/$1.log" || fail "$1: log: $(cat "$WORK/$1.log")"
}
left_alone root root pok-root
note "1. root, even with minimum_uid=0: no helper, no prompt, the session opens ('user below minimum_uid, skipping')"
left_alone below nobody pok-high-minimum
note "2. nobody (uid $nobody_uid) with minimum_uid=$((nobody_uid + 1)): the same"

# 3: the real helper (authorize and answer are local work: no provider is reached).
driver_login sufficient --dir "$WORK" --service pok-sufficient --user nobody \
    --helper "$WORK/bin/pam_oauth_keyring_helper" --answer-command "echo some-code" --timeout 30
grep -q '^\[prompt\]' "$WORK/sufficient.out" || fail "sufficient: not asked: $(cat "$WORK/sufficient.out")"
grep -q "authorization code kept for the session phase" "$WORK/sufficient.log" ||
    fail "sufficient: the code was not taken: $(cat "$WORK/sufficient.log")"
grep -q "pam_authenticate: Authentication failure" "$WORK/sufficient.out" ||
    fail "sufficient: the module decided the authentication: $(cat "$WORK/sufficient.out")"
note "3. auth sufficient, then pam_deny: the code is taken, the stack still fails (PAM_IGNORE)"
pass "root and users below minimum_uid are left alone; a code never authenticates"
