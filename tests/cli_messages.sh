#!/bin/bash
# What oauth-keyring says when it cannot do what was asked (issue 11, item 9), in a private
# session of an unprivileged user (nobody when run as root):
#   1. --help: the usage on stdout, exit 0;
#   2. every usage error: one line saying what was wrong, then the usage, on stderr; exit 1;
#   3. a service with no tokens: exit 2, "no tokens for service NAME", and no file left in
#      $XDG_RUNTIME_DIR (status, token, logout);
#   4. several services stored and no --service: exit 1, naming them;
#   5. no session bus (DBUS_SESSION_BUS_ADDRESS unset, as in an su or sudo shell): says so,
#      exit 3, and starts no bus of its own;
#   6. git-credential get with the keyring locked: nothing on stdout, the reason on stderr.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session gnome-keyring-daemon

make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-cli-messages-$$ # unique: runs of other trees may share this machine and user
prepare_private_user </dev/null

if [ "$(id -u)" = 0 ]; then
    "$CLI" status >"$WORK/root.out" 2>&1
    [ $? = 1 ] && grep -q "not root" "$WORK/root.out" || fail "as root: $(cat "$WORK/root.out")"
fi

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
step() { echo "--- $*"; }
run() { # run NAME ARGS...: stdout, stderr and exit status in $WORK/out/NAME.{out,err,status}
    local name=$1
    shift
    "$CLI" "$@" >"$WORK/out/$name.out" 2>"$WORK/out/$name.err" </dev/null
    echo $? >"$WORK/out/$name.status"
}
shows() { echo "exit $(cat "$WORK/out/$1.status"), stdout '$(cat "$WORK/out/$1.out")', stderr '$(cat "$WORK/out/$1.err")'"; }
exit_is() { [ "$(cat "$WORK/out/$1.status")" = "$2" ] || fail "$1: want exit $2: $(shows "$1")"; }
runtime_files() { find "$XDG_RUNTIME_DIR" -path "$XDG_RUNTIME_DIR/keyring" -prune -o -print | sort; }
# Items of pam_oauth_keyring's schema, as logins store them (access items are enough here).
store_item() { # store_item SERVICE SECRET
    "$PYTHON" -c '
import sys, secretstorage
bus = secretstorage.dbus_init()
collection = secretstorage.get_default_collection(bus)
collection.create_item(sys.argv[1], {"xdg:schema": "io.github.pam_oauth_keyring.Token",
                       "service": sys.argv[1], "username": sys.argv[3]}, sys.argv[2].encode(),
                       replace=True)' "$1" "$2" "$RUN_AS" || fail "cannot store an item for $1"
}

# --- 1 -----------------------------------------------------------------------------------------
run help --help
exit_is help 0
grep -q "^usage: oauth-keyring" "$WORK/out/help.out" && [ ! -s "$WORK/out/help.err" ] ||
    fail "--help: $(shows help)"
grep -q "^  git-credential" "$WORK/out/help.out" || fail "--help is not the whole usage: $(shows help)"
run help-after status --help
exit_is help-after 0
cmp -s "$WORK/out/help.out" "$WORK/out/help-after.out" || fail "status --help: $(shows help-after)"
step "1. --help: the usage on stdout, exit 0"

# --- 2 -----------------------------------------------------------------------------------------
usage_error() { # usage_error NAME REASON-PATTERN ARGS...
    local name=$1 reason=$2
    shift 2
    run "$name" "$@"
    exit_is "$name" 1
    [ ! -s "$WORK/out/$name.out" ] || fail "$name: a usage error on stdout: $(shows "$name")"
    sed -n 1p "$WORK/out/$name.err" | grep -Eq "^oauth-keyring: .*$reason" ||
        fail "$name ($*): the first line does not say '$reason': $(shows "$name")"
    sed -n 2p "$WORK/out/$name.err" | grep -q "^usage: oauth-keyring" ||
        fail "$name ($*): no usage after the reason: $(shows "$name")"
    echo "    $* -> $(sed -n 1p "$WORK/out/$name.err")"
}
usage_error no-command "no command"
usage_error unknown-command "unknown command 'frobnicate'" frobnicate
usage_error unknown-option "unknown option '--frob'" --frob status
usage_error short-option "unknown option '-x'" -x status
usage_error missing-value "--service needs a value" status --service
usage_error bad-min-valid "--min-valid .*'abc'" token --min-valid abc
usage_error big-min-valid "--min-valid .*'90000'" token --min-valid 90000
usage_error negative-min-valid "--min-valid .*'-1'" token --min-valid -1
usage_error extra-argument "unexpected argument 'extra'" status extra
usage_error no-git-action "git-credential needs get, store or erase" git-credential
usage_error help-argument "--help takes no value" --help=yes
step "2. every usage error: its reason in one line, then the usage, on stderr, exit 1"

# --- 3 -----------------------------------------------------------------------------------------
before=$(runtime_files)
run nope-status --service nope status
exit_is nope-status 2
grep -q "no tokens for service nope" "$WORK/out/nope-status.err" || fail "$(shows nope-status)"
[ ! -s "$WORK/out/nope-status.out" ] || fail "status of nothing printed on stdout: $(shows nope-status)"
run nope-json status --service nope --json
exit_is nope-json 2
run nope-token token --service nope
exit_is nope-token 2
grep -q "no tokens for service nope" "$WORK/out/nope-token.err" || fail "$(shows nope-token)"
run nope-logout logout --service nope
exit_is nope-logout 2
grep -q "no tokens for service nope" "$WORK/out/nope-logout.err" || fail "$(shows nope-logout)"
after=$(runtime_files)
[ "$before" = "$after" ] || fail "files left in \$XDG_RUNTIME_DIR: $(diff <(echo "$before") <(echo "$after") | grep '^>')"
step "3. no tokens for a service: exit 2, '$(head -1 "$WORK/out/nope-status.err")', no file left behind"

# --- 4 -----------------------------------------------------------------------------------------
store_item "$SERVICE-a" "fake-token-a"
store_item "$SERVICE-b" "fake-token-b"
run several status
exit_is several 1
grep -q "several services" "$WORK/out/several.err" && grep -q -- "$SERVICE-a" "$WORK/out/several.err" &&
    grep -q -- "$SERVICE-b" "$WORK/out/several.err" || fail "several services: $(shows several)"
step "4. several services: $(head -1 "$WORK/out/several.err")"

# --- 5 -----------------------------------------------------------------------------------------
for variant in "-u DBUS_SESSION_BUS_ADDRESS" "-u DBUS_SESSION_BUS_ADDRESS -u XDG_RUNTIME_DIR" \
    "-u DBUS_SESSION_BUS_ADDRESS DISPLAY=:77"; do
    # shellcheck disable=SC2086
    env $variant "$CLI" token --service "$SERVICE-a" >"$WORK/out/nobus.out" 2>"$WORK/out/nobus.err"
    echo $? >"$WORK/out/nobus.status"
    exit_is nobus 3
    grep -q "DBUS_SESSION_BUS_ADDRESS is unset" "$WORK/out/nobus.err" || fail "no bus ($variant): $(shows nobus)"
    grep -q "autolaunch" "$WORK/out/nobus.err" && fail "no bus ($variant): $(shows nobus)"
    echo "    env $variant: $(cat "$WORK/out/nobus.err")"
done
pgrep -u "$(id -u)" -x dbus-launch && fail "oauth-keyring started dbus-launch"
# The bus where systemd --user puts it ($XDG_RUNTIME_DIR/bus) is found without the variable.
bus_path=$(sed -nE 's/^unix:path=([^,]+).*/\1/p' <<<"$DBUS_SESSION_BUS_ADDRESS")
if [ -n "$bus_path" ]; then
    ln -s "$bus_path" "$XDG_RUNTIME_DIR/bus"
    env -u DBUS_SESSION_BUS_ADDRESS "$CLI" token --service "$SERVICE-a" >"$WORK/out/runtime-bus.out" 2>&1 ||
        fail "the bus at \$XDG_RUNTIME_DIR/bus was not used: $(cat "$WORK/out/runtime-bus.out")"
    rm "$XDG_RUNTIME_DIR/bus"
fi
step "5. no session bus: exit 3, '$(cat "$WORK/out/nobus.err")'"

# --- 6 -----------------------------------------------------------------------------------------
"$PYTHON" "$WORK/bin/keyring_tool.py" lock || fail "cannot lock the keyring"
printf 'protocol=https\nhost=git.example.com\n\n' |
    "$CLI" git-credential get --service "$SERVICE-a" >"$WORK/out/git.out" 2>"$WORK/out/git.err"
echo $? >"$WORK/out/git.status"
exit_is git 0
[ ! -s "$WORK/out/git.out" ] || fail "git-credential with a locked keyring answered: $(shows git)"
grep -q "locked" "$WORK/out/git.err" || fail "git-credential: the reason is not on stderr: $(shows git)"
step "6. git-credential get, keyring locked: nothing on stdout, '$(cat "$WORK/out/git.err")'"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 60
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
pass "oauth-keyring: --help, usage errors with their reason, no tokens, several services, no bus, locked keyring"
