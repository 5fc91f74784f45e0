#!/bin/bash
# A PAM module lives in gdm for months. In one process:
#   - 1000 whole logins (pam_start ... pam_end) through the module, with tokens in the keyring
#     (the everyday path: no prompt, a session refresh check): no login fails; the fd count
#     after 1000 equals the count after 10; RSS grows by at most 1 MiB from login 100 to 1000
#     (allowance for malloc's arenas); no child left behind;
#   - 50 logins with a code exchange each, under valgrind memcheck: no invalid read or write,
#     nothing definitely or indirectly lost;
#   - the helper itself under valgrind for two logins (URL, answer, exchange): the same.
# In an --enable-sanitizers build, ASan checks memory itself (and its quarantine makes RSS
# meaningless, and valgrind cannot run ASan programs): there, the 1000 logins, fds and
# failures are checked, not RSS, and valgrind is not run.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools valgrind

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-cycles-test-$$ # unique: runs of other trees may share this machine and user
# valgrind makes the helper ten times slower: give its exchange room (30 s) on a busy machine.
prepare_private_user refresher=no < <(echo "timeout = 30")
sed 's/refresher=no/refresher=no prompt=always/' "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-always"
# valgrind must read the program it runs: a readable copy of the test helper, told that its
# dumpable start is on purpose (store/test_hooks.h); the test module told to accept it.
install -m 0755 "$WORK/bin/pam_oauth_keyring_helper_test" "$WORK/bin/readable-helper"
cat >"$WORK/bin/helper-under-valgrind" <<VG
#!/bin/sh
POK_TEST_DUMPABLE_START=1 exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \\
    --show-leak-kinds=definite,indirect \\
    --suppressions="$WORK/bin/valgrind.supp" --log-file="$WORK/out/helper-valgrind.%p.log" "$WORK/bin/readable-helper"
VG
chmod 755 "$WORK/bin/helper-under-valgrind"
# The driver under valgrind: valgrind's execve reads the program it starts, so the module
# there gets the readable copy too.
printf '#!/bin/sh\nPOK_TEST_DUMPABLE_START=1 exec "%s"\n' "$WORK/bin/readable-helper" \
    >"$WORK/bin/readable-helper-start"
chmod 755 "$WORK/bin/readable-helper-start"
cp "$top_srcdir/tests/valgrind.supp" "$WORK/bin/"
chmod 644 "$WORK/bin/valgrind.supp"
chmod -R a+rX "$WORK/pam.d"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
drive() { # drive NAME SERVICE [driver_login option...]: the driver's own output in out/NAME.out
    local name=$1 service=$2
    shift 2
    driver_login "$name" --service "$service" --helper "${HELPER_OVERRIDE:-$HELPER}" --stand-in \
        --timeout 0 --session "$XDG_RUNTIME_DIR" "$DBUS_SESSION_BUS_ADDRESS" "$@"
}
drive first pok-private
grep -q "is now in your keyring" "$WORK/out/first.out" || fail "the first login failed"

start=$(date +%s)
drive cycles pok-private -- --cycles 1000
grep '^cycle\|^hygiene' "$WORK/out/cycles.out"
echo "--- 1000 logins took $(($(date +%s) - start)) s"
echo done >"$WORK/out/cycles.done"
[ "$SANITIZERS" = yes ] && return 0

memcheck="valgrind -q --error-exitcode=99 --leak-check=full --keep-debuginfo=yes"
memcheck="$memcheck --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect"
HELPER_OVERRIDE="$WORK/bin/readable-helper-start" drive valgrind pok-always \
    --under "$memcheck --log-file=$WORK/out/driver-valgrind.log" -- --cycles 50
echo $? >"$WORK/out/valgrind.status"

HELPER_OVERRIDE="$WORK/bin/helper-under-valgrind" drive helper-valgrind-1 pok-always
HELPER_OVERRIDE="$WORK/bin/helper-under-valgrind" drive helper-valgrind-2 pok-always
SCENARIO
SANITIZERS=${sanitizers:-no}
sed -i "1i SANITIZERS=$SANITIZERS" "$WORK/scenario.sh"
run_private_session "$WORK/scenario.sh" 600
[ -f "$WORK/out/cycles.done" ] || fail "the 1000 logins did not finish: $(tail -5 "$WORK/out/cycles.out")"

out="$WORK/out/cycles.out"
grep -q "^cycle 1000: .*failed logins 0$" "$out" || fail "logins failed: $(grep '^cycle 1000' "$out")"
fds_10=$(sed -n 's/^cycle 10: fds \([0-9]*\),.*/\1/p' "$out")
fds_1000=$(sed -n 's/^cycle 1000: fds \([0-9]*\),.*/\1/p' "$out")
[ -n "$fds_10" ] && [ "$fds_10" = "$fds_1000" ] || fail "fds after 10 logins: $fds_10, after 1000: $fds_1000"
rss_100=$(sed -n 's/^cycle 100: .*rss_kib \([0-9]*\),.*/\1/p' "$out")
rss_1000=$(sed -n 's/^cycle 1000: .*rss_kib \([0-9]*\),.*/\1/p' "$out")
[ "$SANITIZERS" = yes ] || [ $((rss_1000 - rss_100)) -le 1024 ] ||
    fail "RSS grew from $rss_100 KiB to $rss_1000 KiB"
grep -Eq "^hygiene: children left 0, fds before ([0-9]+) after \1, sigchld handler preserved$" "$out" ||
    fail "$(grep hygiene "$out")"
note "1000 logins: fds $fds_10 -> $fds_1000, RSS $rss_100 -> $rss_1000 KiB (logins 100 -> 1000)"
[ "$SANITIZERS" = yes ] && pass "1000 logins: no failure, no fd or child left (ASan build: no RSS or valgrind check)"

[ "$(cat "$WORK/out/valgrind.status")" = 0 ] ||
    fail "valgrind (50 logins): $(grep -A12 -E 'Invalid|definitely|indirectly' "$WORK/out/driver-valgrind.log" | head -40)"
grep -q "^cycle 50: .*failed logins 0$" "$WORK/out/valgrind.out" || fail "logins under valgrind failed"
[ "$(grep -c 'is now in your keyring' "$WORK/out/valgrind.out")" = 50 ] || fail "not 50 exchanges: $(tail -5 "$WORK/out/valgrind.log")"
note "50 logins with a code exchange under valgrind: no errors, nothing lost"

helper_logs=$(ls "$WORK"/out/helper-valgrind.*.log 2>/dev/null | wc -l)
[ "$helper_logs" -ge 6 ] || fail "the helper ran $helper_logs times under valgrind, want 6"
for login in 1 2; do
    grep -q "is now in your keyring" "$WORK/out/helper-valgrind-$login.out" ||
        fail "login $login with the helper under valgrind: $(cat "$WORK/out/helper-valgrind-$login.log")"
done
if grep -l . "$WORK"/out/helper-valgrind.*.log; then
    fail "valgrind found errors in the helper: $(cat "$WORK"/out/helper-valgrind.*.log | head -40)"
fi
note "the helper under valgrind for 2 logins ($helper_logs runs): no errors, nothing lost"
pass "1000 logins flat, valgrind clean"
