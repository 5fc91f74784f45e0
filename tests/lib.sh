# Shared by the integration tests: results, a scratch directory, the test identity provider,
# and the files a test login needs. Source it with top_srcdir and top_builddir set.
# shellcheck shell=bash

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
PYTHON=/usr/bin/python3 # Debian's, for python3-keyring and python3-secretstorage

pass() { echo "PASS: $*"; exit 0; }
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
note() { echo "--- $*"; }

# Fails unless every named program is on PATH (tools/install-deps.sh installs them all).
require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || fail "$tool is missing (tools/install-deps.sh installs it)"
    done
}

# Polls CONDITION (a shell command) every 50 ms until it holds or SECONDS pass; 1 then.
#   wait_until SECONDS CONDITION...
wait_until() {
    local limit=$1 deadline
    shift
    deadline=$(($(date +%s%N) + limit * 1000000000))
    until "$@"; do
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# Polls CONDITION every 50 ms for SECONDS; 1 as soon as it fails, 0 when it held throughout.
# Only for "nothing happens" on a clock the test cannot move (the refresher's timer):
#   holds_for SECONDS CONDITION...
holds_for() {
    local limit=$1 deadline
    shift
    deadline=$(($(date +%s%N) + limit * 1000000000))
    while [ "$(date +%s%N)" -lt "$deadline" ]; do
        "$@" || return 1
        sleep 0.05
    done
    "$@"
}

CLEANUP_COMMANDS=()
on_exit() { CLEANUP_COMMANDS+=("$*"); }
run_cleanup() {
    local i
    for ((i = ${#CLEANUP_COMMANDS[@]} - 1; i >= 0; i--)); do
        eval "${CLEANUP_COMMANDS[$i]}" >/dev/null 2>&1 || true
    done
}
trap run_cleanup EXIT

# A real user (root only) with a password, /run/user/UID and a session bus started as
# systemd --user would (as the user, with HOME and XDG_RUNTIME_DIR in the bus's environment:
# without XDG_RUNTIME_DIR, the D-Bus-activated keyring cannot find the login daemon's control
# socket and the login collection looks missing), all undone at exit: sets USER_NAME,
# PASSWORD, USER_UID, RUNTIME and BUS.   create_real_user NAME [useradd options]
create_real_user() {
    local bus_pid
    USER_NAME=$1
    shift
    PASSWORD="pw-$RANDOM-$RANDOM"
    useradd -m -s /bin/bash "$@" "$USER_NAME" || fail "useradd"
    on_exit "userdel -r -f '$USER_NAME'"
    echo "$USER_NAME:$PASSWORD" | chpasswd || fail "chpasswd"
    USER_UID=$(id -u "$USER_NAME")
    [ "$USER_UID" -ge 1000 ] || fail "useradd gave uid $USER_UID, below the module's default minimum_uid"
    RUNTIME="/run/user/$USER_UID"
    install -d -m 700 -o "$USER_NAME" -g "$USER_NAME" "$RUNTIME"
    on_exit "rm -rf --one-file-system '$RUNTIME'"
    BUS="unix:path=$RUNTIME/bus"
    bus_pid=$(as_user dbus-daemon --session --address="$BUS" --fork --print-pid) ||
        fail "cannot start the user's bus"
    # Every process of this throwaway user was started by the test (bus, keyring, refresher).
    on_exit "pkill -u '$USER_NAME'"
    on_exit "kill $bus_pid"
}

# Runs a command as the user of create_real_user, in the environment of their session.
as_user() {
    runuser -u "$USER_NAME" -- env -i HOME="/home/$USER_NAME" XDG_RUNTIME_DIR="$RUNTIME" \
        DBUS_SESSION_BUS_ADDRESS="$BUS" PATH=/usr/bin:/bin "$@"
}

# A provider configuration for stand-in helpers, which never reach it: FILE, mode 0600.
write_stand_in_config() {
    cat >"$1" <<CONF
[stand-in]
authorize_url = https://127.0.0.1:1/authorize
token_url = https://127.0.0.1:1/token
client_id = test
redirect_uri = http://127.0.0.1/cb
timeout = 1
CONF
    chmod 600 "$1"
}

# A scratch directory any test user can traverse (the build tree may not be reachable).
make_workdir() {
    WORK=$(mktemp -d /tmp/pok-test.XXXXXX) || fail "mktemp"
    chmod 755 "$WORK"
    on_exit "rm -rf --one-file-system '$WORK'"
}

# Makes helper copies what `make install` makes of the helper: executable by all, readable by
# nobody but root (root:root 0711), so the kernel starts it non-dumpable. Without root, the
# caller's own copy loses its read bits (0111) to the same effect for the caller.
protect_helper() {
    if [ "$(id -u)" = 0 ]; then
        chown root:root "$@" && chmod 0711 "$@"
    else
        chmod 0111 "$@"
    fi || fail "cannot protect $*"
}

# Stand-in helpers are scripts, which their interpreter must read: the test module accepts a
# readable helper only with this in the application's environment.
STAND_IN_OK=PAM_OAUTH_KEYRING_TEST_READABLE_HELPER=1

# Copies what a login needs into $WORK/bin, readable and executable by everyone.
stage_artifacts() {
    local list="$top_builddir/tests/staged-world.list" built
    mkdir -p "$WORK/bin"
    # The one list of what a staged world runs (tests/Makefile.inc, STAGED_WORLD_*).
    [ -s "$list" ] || fail "no $list: run make staged-world (make check builds it)"
    while read -r built; do
        cp "$top_builddir/$built" "$WORK/bin/" || fail "$built not built (make staged-world)"
    done <"$list"
    cp "$top_srcdir/tests/browser.py" "$top_srcdir/tests/keyring_tool.py" \
        "$top_srcdir/tests/device_user.py" "$WORK/bin/" ||
        fail "test tools missing"
    chmod -R a+rX "$WORK/bin"
    protect_helper "$WORK/bin/pam_oauth_keyring_helper" "$WORK/bin/pam_oauth_keyring_helper_test" \
        "$WORK/bin/pam_oauth_keyring_refresher" "$WORK/bin/pam_oauth_keyring_refresher_test"
    MODULE="$WORK/bin/pam_oauth_keyring_test.so"
    HELPER="$WORK/bin/pam_oauth_keyring_helper"
    DRIVER="$WORK/bin/pam_driver"
    ATTACKER="$WORK/bin/window_attacker"
    CLI="$WORK/bin/oauth-keyring"
}

# Starts the test identity provider over TLS with a fresh CA; sets IDP_URL and CA_FILE.
#   start_idp CLIENT_SECRET [extra idp.py arguments]
start_idp() {
    local secret=$1
    shift
    mkdir -p "$WORK/ca"
    bash "$top_srcdir/tests/idp/make-ca.sh" "$WORK/ca" || fail "make-ca.sh"
    chmod 755 "$WORK/ca"
    chmod 644 "$WORK/ca/ca.pem"
    CA_FILE="$WORK/ca/ca.pem"
    CLIENT_ID=pok-test-client
    CLIENT_SECRET=$secret
    # A sign-in test sets its own (a free port for the refresher's listener) beforehand.
    REDIRECT_URI=${REDIRECT_URI:-http://127.0.0.1:8765/callback}
    "$PYTHON" "$top_srcdir/tests/idp/idp.py" --cert "$WORK/ca/server.pem" \
        --key "$WORK/ca/server.key" --port-file "$WORK/idp.port" --client-id "$CLIENT_ID" \
        --client-secret="$CLIENT_SECRET" --redirect-uri "$REDIRECT_URI" "$@" \
        2>"$WORK/idp.log" &
    IDP_PID=$!
    on_exit "kill $IDP_PID; wait $IDP_PID"
    # Done when it has written its port; given up as soon as it has died.
    wait_until 10 eval '[ -s "$WORK/idp.port" ] || ! kill -0 "$IDP_PID" 2>/dev/null'
    [ -s "$WORK/idp.port" ] || fail "the test IdP did not start within 10 s: $(cat "$WORK/idp.log")"
    IDP_URL="https://127.0.0.1:$(cat "$WORK/idp.port")"
}

# A TCP port on 127.0.0.1 that nothing listens on right now, below the kernel's ephemeral
# range: a port from that range (bind to 0) is handed out again, for example to the test IdP
# started next on port 0, which then held a sign-in test's redirect port.
free_port() {
    "$PYTHON" -c '
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(1000):
    port, s = random.randrange(10000, low), socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    print(port)
    break'
}

idp_get() { curl -sS --cacert "$CA_FILE" --max-time 10 "$IDP_URL$1"; }
idp_control() {
    curl -sS --cacert "$CA_FILE" --max-time 10 -H 'Content-Type: application/json' \
        --data "$1" "$IDP_URL/control" >/dev/null || fail "IdP /control"
}
# A value from /stats by a Python expression over `s`, e.g. idp_stat 's["requests"]["token"]'.
idp_stat() {
    idp_get /stats | "$PYTHON" -c "import json,sys; s=json.load(sys.stdin); print($1)"
}
# HTTP status of /userinfo with an access token: 200 when the IdP accepts it.
idp_userinfo_status() {
    curl -sS -o /dev/null -w '%{http_code}' --cacert "$CA_FILE" --max-time 10 \
        -H "Authorization: Bearer $1" "$IDP_URL/userinfo"
}

# Writes a provider configuration for the test IdP to $1; "key = value" lines on stdin add
# keys or replace the defaults.
write_config() {
    local overrides
    overrides=$(cat)
    {
        echo "[testidp]"
        while read -r key value; do
            grep -q "^$key *=" <<<"$overrides" || echo "$key = $value"
        done <<DEFAULTS
authorize_url $IDP_URL/authorize
token_url $IDP_URL/token
revoke_url $IDP_URL/revoke
client_id $CLIENT_ID
client_secret $CLIENT_SECRET
redirect_uri $REDIRECT_URI
issuer $IDP_URL
ca_file $CA_FILE
keyring_service $SERVICE
timeout 5
DEFAULTS
        [ -z "$overrides" ] || echo "$overrides"
    } >"$1"
    chmod 600 "$1"
}

# The answer command for the driver: plays the browser. $1 is a browser.py mode.
browser_command() { echo "$PYTHON $WORK/bin/browser.py --ca $CA_FILE --mode $1"; }

# Fails when any secret the IdP handed out (or the client secret) appears in the files given.
assert_no_secret_in() {
    local secrets
    secrets=$(idp_get /stats | "$PYTHON" -c '
import json, sys
s = json.load(sys.stdin)
values = [s["client_secret"]] + s["verifiers_seen"]
for kind in ("codes", "access_tokens", "refresh_tokens", "device_codes"):
    values += s["issued"].get(kind, [])
print("\n".join(v for v in values if v))')
    [ -n "$secrets" ] || fail "the IdP reported no secrets to search for"
    if grep -F -f <(echo "$secrets") "$@"; then
        fail "a secret appears in: $*"
    fi
}

# Prepares sessions of an unprivileged user - the caller, or "nobody" when run as root - with a
# private keyring: sets RUN_AS, makes $WORK/{home,runtime,state,out}, writes $WORK/pam.conf
# (extra config lines on stdin) and the PAM service "pok-private" with the module arguments
# given. Needs make_workdir, stage_artifacts and start_idp first.
prepare_private_user() {
    if [ "$(id -u)" = 0 ]; then
        RUN_AS=nobody
    else
        RUN_AS=$(id -un)
    fi
    mkdir -p "$WORK/home" "$WORK/runtime" "$WORK/pam.d" "$WORK/out" "$WORK/state"
    write_config "$WORK/pam.conf"
    cat >"$WORK/pam.d/pok-private" <<PAM
auth     required pam_permit.so
auth     optional $MODULE config=$WORK/pam.conf minimum_uid=1 state_dir=$WORK/state debug $*
account  required pam_permit.so
session  required pam_permit.so
session  optional $MODULE config=$WORK/pam.conf minimum_uid=1 state_dir=$WORK/state debug $*
PAM
    if [ "$RUN_AS" = nobody ]; then
        chown -R nobody "$WORK/home" "$WORK/runtime" "$WORK/out" "$WORK/state" "$WORK/pam.conf"
    fi
    chmod 700 "$WORK/runtime"
    cp "$top_srcdir/tests/lib.sh" "$WORK/bin/lib.sh"
    chmod a+r "$WORK/bin/lib.sh"
}

# Runs the bash script $1 as RUN_AS inside its own session bus with an unlocked throwaway
# gnome-keyring, at most $2 seconds (default 60). The script finds every variable it needs
# exported, and lib.sh's functions loaded.
run_private_session() {
    local script=$1 limit=${2:-60}
    KEYRING_PASSWORD="keyring-$RANDOM"
    declare -p WORK MODULE HELPER DRIVER CLI ATTACKER SERVICE RUN_AS KEYRING_PASSWORD PYTHON CA_FILE \
        IDP_URL CLIENT_ID CLIENT_SECRET REDIRECT_URI | sed 's/^declare -- /declare -x /' >"$WORK/vars.sh"
    cat >"$WORK/session-wrapper.sh" <<'WRAP'
. "$WORK/vars.sh"
. "$WORK/bin/lib.sh"
trap - EXIT
cd "$WORK" # the build tree may be out of the user's reach (git, for one, wants its cwd)
export XDG_RUNTIME_DIR="$WORK/runtime"
eval "$(printf '%s' "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets)"
. "$1"
WRAP
    chmod a+r "$WORK/vars.sh" "$WORK/session-wrapper.sh" "$script"
    if [ "$RUN_AS" = nobody ]; then
        runuser -u nobody -- env -i HOME="$WORK/home" PATH=/usr/bin:/bin WORK="$WORK" \
            timeout "$limit" dbus-run-session -- bash "$WORK/session-wrapper.sh" "$script"
    else
        env -i HOME="$WORK/home" PATH=/usr/bin:/bin WORK="$WORK" \
            timeout "$limit" dbus-run-session -- bash "$WORK/session-wrapper.sh" "$script"
    fi
}

# Inside a private session: field $1 of $SERVICE's refresh status file.
status_field() {
    "$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
        "$XDG_RUNTIME_DIR/pam_oauth_keyring/$SERVICE.status" "$1"
}

# Inside a private session: moves $SERVICE's stored pair SECONDS into the past, as if it had
# been stored that much earlier (keyring_tool.py age-pair). The due check reads those times: a
# test makes a token due at once instead of sleeping until it is.   age_pair SECONDS
age_pair() {
    "$PYTHON" "$WORK/bin/keyring_tool.py" age-pair "$SERVICE" "$1" || fail "cannot age the stored pair"
}
# The pids of $SERVICE's refresher run by user $1 (default: the caller), one a line.
refresher_pids() { pgrep -u "${1:-$(id -u)}" -f "pam_oauth_keyring_refresher $SERVICE"; }
refresher_count() { refresher_pids "$@" | wc -l; }
# Whether user $2 (default: the caller) runs N refreshers of $SERVICE.   refresher_count_is N [USER]
refresher_count_is() { [ "$(refresher_count "${2:-$(id -u)}")" = "$1" ]; }

# --- the refresh_*.sh tests: one scenario each, in a private session -------------------------
# Their common set-up: the test IdP handing out access tokens of TTL seconds, the test helper
# (with pause points), a private user with refresh_margin = 8 and three PAM services:
# pok-private (refresher=no), pok-refresher (refresher=yes), pok-always (refresher=yes
# prompt=always).   prepare_refresh_test TTL
prepare_refresh_test() {
    require_tools dbus-run-session gnome-keyring-daemon secret-tool curl
    make_workdir
    stage_artifacts
    HELPER="$WORK/bin/pam_oauth_keyring_helper_test"
    start_idp "client-secret-$RANDOM$RANDOM" --access-ttl "$1"
    SERVICE=pok-refresh-test-$$ # unique: runs of other trees may share this machine and user
    prepare_private_user refresher=no < <(echo "refresh_margin = 8")
    sed 's/refresher=no/refresher=yes/' "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-refresher"
    sed 's/refresher=no/refresher=yes prompt=always/' "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-always"
    chmod a+r "$WORK/pam.d/pok-refresher" "$WORK/pam.d/pok-always"
}
# Runs the scenario SCRIPT in the private session (at most SECONDS); then checks that it ran to
# its end, that no refresher outlives the session bus, and that no secret the IdP handed out is
# in any transcript, log or error output in $WORK/out.   run_refresh_test SCRIPT SECONDS
run_refresh_test() {
    echo 'echo done >"$WORK/out/scenario.done"' >>"$1"
    run_private_session "$1" "$2"
    [ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
    wait_until 5 refresher_count_is 0 "$RUN_AS" ||
        fail "the refresher outlived the session bus"
    local outputs
    # Every transcript and log, and the user's status file and the module's login state files,
    # which are free of secrets by construction: this is where that is checked.
    mapfile -t outputs < <(find "$WORK/out" -maxdepth 1 -type f -name '*.log' -o -name '*.out' -o -name '*.err'
        find "$WORK/runtime/pam_oauth_keyring" "$WORK/state" -maxdepth 1 -type f \
            \( -name '*.status' -o -name '[0-9]*' \) 2>/dev/null)
    assert_no_secret_in "${outputs[@]}"
}
# Inside a refresh test's session: the access token in the keyring, as secret-tool reads it.
keyring_token() { secret-tool lookup service "$SERVICE" username "$RUN_AS"; }
# The refresh requests the IdP has received.
refresh_requests() { idp_stat 's["requests"]["token_refresh_token"]'; }
# Whether the IdP takes TOKEN as a live access token.
works_at_idp() { [ "$(idp_userinfo_status "$1")" = 200 ]; }
# The IdP account an access token belongs to (/userinfo's sub); empty for a dead token.
token_account() {
    curl -sS --cacert "$CA_FILE" --max-time 10 -H "Authorization: Bearer $1" "$IDP_URL/userinfo" |
        "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin).get("sub", ""))' 2>/dev/null
}
# Whether the IdP holds the answer of a refresh it has processed (its hold_refresh knob).
refresh_answer_held() { [ "$(idp_stat 's["refresh_answers_held"]')" -ge 1 ]; }
# One login of RUN_AS in this session through PAM-SERVICE, the browser signed in to ACCOUNT at
# the IdP; its status goes to $WORK/out/NAME.status when it ends.
#   login_as_account NAME PAM-SERVICE ACCOUNT
login_as_account() {
    driver_login "$1" --service "$2" --session "$XDG_RUNTIME_DIR" "$DBUS_SESSION_BUS_ADDRESS" \
        --answer-command "$(browser_command url) --account $3"
    echo $? >"$WORK/out/$1.status"
}
# oauth-keyring token for $SERVICE: what it printed in $WORK/out/NAME.token, its errors in
# NAME.err, its exit status in NAME.status.   cli_token NAME [oauth-keyring token option]...
cli_token() {
    local name=$1
    shift
    "$CLI" token --service "$SERVICE" "$@" >"$WORK/out/$name.token" 2>"$WORK/out/$name.err"
    echo $? >"$WORK/out/$name.status"
}

# One run of tests/pam_driver, the tests' PAM application, through the real libpam: the one
# place that spells out its command line.
#   driver_login NAME [option]... [-- pam_driver option...]
# The driver's transcript goes to DIR/NAME.out and the log lines it captured to DIR/NAME.log;
# the status is the driver's (124 when the bound ran out). Options, and their defaults:
#   --service NAME         the PAM service, a file in the configuration directory (pok-private)
#   --confdir DIR          the PAM configuration directory ($WORK/pam.d)
#   --user NAME            who logs in ($RUN_AS)
#   --password PASSWORD    what pam_unix hears the user type (none)
#   --helper PATH          the helper the test module starts ($HELPER; none when empty: an
#                          installed module starts its own)
#   --stand-in             the test module may start a readable helper: a stand-in script
#   --browser MODE         the answer to the prompt: browser.py in MODE (url)
#   --answer-command CMD   the answer to the prompt: CMD's output
#   --no-answer            no answer command
#   --session RUNTIME BUS  XDG_RUNTIME_DIR and DBUS_SESSION_BUS_ADDRESS in the PAM environment,
#                          as pam_systemd puts them there (neither)
#   --dir DIR              where NAME.out and NAME.log go ($WORK/out if it exists, else $WORK)
#   --timeout SECONDS      the bound on the whole run; 0 for none (60)
#   --as 'COMMAND...'      runs it all under COMMAND, a user switch (runuser, as_user), which
#                          may clear the environment: the driver's variables come after it
#   --under 'COMMAND...'   runs the driver itself under COMMAND (valgrind, pty_app.py)
# COMMAND is split at blanks.
driver_login() {
    local name=$1 service=pok-private confdir="$WORK/pam.d" user=${RUN_AS:-} helper=${HELPER:-}
    local dir="$WORK" limit=60 mode=url answer=""
    local variables=() session=() as=() under=() bound=() answering=()
    [ -d "$WORK/out" ] && dir="$WORK/out"
    shift
    while [ $# -gt 0 ]; do
        case "$1" in
        --service) service=$2 && shift ;;
        --confdir) confdir=$2 && shift ;;
        --user) user=$2 && shift ;;
        --password) variables+=("TEST_PASSWORD=$2") && shift ;;
        --helper) helper=$2 && shift ;;
        --stand-in) variables+=("$STAND_IN_OK") ;;
        --browser) mode=$2 && shift ;;
        --answer-command) answer=$2 && shift ;;
        --no-answer) mode="" ;;
        --session) session=(--setenv "XDG_RUNTIME_DIR=$2" --setenv "DBUS_SESSION_BUS_ADDRESS=$3") &&
            shift 2 ;;
        --dir) dir=$2 && shift ;;
        --timeout) limit=$2 && shift ;;
        --as) read -ra as <<<"$2" && shift ;;
        --under) read -ra under <<<"$2" && shift ;;
        --) shift && break ;;
        *) fail "driver_login: unknown option $1" ;;
        esac
        shift
    done
    [ -n "$helper" ] && variables+=("PAM_OAUTH_KEYRING_TEST_HELPER=$helper")
    [ "$limit" = 0 ] || bound=(timeout "$limit")
    [ -z "$answer" ] && [ -n "$mode" ] && answer=$(browser_command "$mode")
    [ -n "$answer" ] && answering=(--answer-command "$answer")
    "${as[@]}" env "${variables[@]}" "${bound[@]}" \
        "${under[@]}" "$DRIVER" --confdir "$confdir" --service "$service" --user "$user" \
        --log "$dir/$name.log" "${answering[@]}" "${session[@]}" "$@" >"$dir/$name.out" 2>&1
}

# Inside a private session: one login of RUN_AS in this session through PAM-SERVICE (default
# pok-private), the browser played in MODE (default url). The status is the driver's.
#   session_login [MODE] [NAME] [PAM-SERVICE]
session_login() {
    driver_login "${2:-login}" --service "${3:-pok-private}" --browser "${1:-url}" \
        --session "$XDG_RUNTIME_DIR" "$DBUS_SESSION_BUS_ADDRESS"
}
# The same, and fails unless the session opened.   login NAME [PAM-SERVICE] [MODE]
login() {
    session_login "${3:-url}" "$1" "${2:-pok-private}"
    grep -q "pam_open_session: Success" "$WORK/out/$1.out" ||
        fail "$1: no session: $(cat "$WORK/out/$1.out")"
}
# The set-up of a sign-in test (tests/signin_*.sh): a work directory, the test IdP, a free
# redirect port on 127.0.0.1 (PORT, REDIRECT_URI), SERVICE pok-signin-NAME-PID, and a private
# user whose module starts the refresher, with signin_lib.sh for the scenario. Extra
# configuration lines on stdin, as prepare_private_user.
#   prepare_signin_test NAME [MODULE ARGUMENT]...
prepare_signin_test() {
    local name=$1
    shift
    make_workdir
    stage_artifacts
    cp "$top_srcdir/tests/loopback_client.py" "$top_srcdir/tests/signin_lib.sh" "$WORK/bin/"
    chmod a+r "$WORK/bin/loopback_client.py" "$WORK/bin/signin_lib.sh"
    PORT=$(free_port)
    REDIRECT_URI="http://127.0.0.1:$PORT/callback"
    start_idp "client-secret-$RANDOM$RANDOM"
    SERVICE=pok-signin-$name-$$
    prepare_private_user refresher=yes "$@"
}

# Whether login NAME showed a prompt.
prompted() { grep -q '^\[prompt\]' "$WORK/out/$1.out"; }

# One login as an unprivileged user into a private keyring, as a screen locker or the demo
# would; leaves the driver's output, the captured log and keyring read-backs in $WORK/out/.
private_login() {
    prepare_private_user </dev/null
    cat >"$WORK/login-session.sh" <<'INNER'
session_login url login || true
cp "$WORK/out/login.out" "$WORK/out/driver.out"
cp "$WORK/out/login.log" "$WORK/out/module.log"
secret-tool lookup service "$SERVICE" username "$RUN_AS" >"$WORK/out/secret-tool.out" || true
"$PYTHON" "$WORK/bin/keyring_tool.py" keyring "$SERVICE" "$RUN_AS" >"$WORK/out/keyring.out" || true
"$PYTHON" "$WORK/bin/keyring_tool.py" dump >"$WORK/out/dump.json" || true
INNER
    run_private_session "$WORK/login-session.sh"
}

# The propagation sshd's mount namespace gets (start_sshd), printed: "private" where `unshare -m
# --propagation private` works, which needs / to be a mount point; in a chroot or container
# whose / is a directory of a bigger file system it is not, and the kernel refuses to change the
# propagation of a mount the process cannot reach ("cannot change root filesystem propagation").
# There the namespace keeps the propagation it inherits ("unchanged"), which is safe only when a
# mount made inside does not show up outside: a tmpfs mounted on a scratch directory inside a
# namespace must not appear in this (the parent's) mount table. Fails, printing why, when it
# would (the mount holding / is shared with the host: every bind would leak out of the chroot).
sshd_mount_propagation() {
    local probe
    unshare -m --propagation private true 2>/dev/null && echo private && return 0
    probe=$(mktemp -d "${WORK:-/tmp}/propagation-probe.XXXXXX") || return 1
    # The tmpfs is unmounted again inside, which also takes any copy of it away outside.
    unshare -m --propagation unchanged sh -c 'mount -t tmpfs pok-probe "$1" || exit 2
        grep -q " $1 " "/proc/$2/mountinfo"; seen=$?; umount "$1"; exit $seen' \
        sh "$probe" $$ 2>/dev/null
    case $? in
    1) echo unchanged ;;
    0) echo "/ is not a mount point here, and a mount made in a new mount namespace shows up" \
        "outside it (the mount that holds / is shared): binding /etc/pam.d/sshd would change it" \
        "for the whole machine; run the tests where / is a mount point (for a chroot:" \
        "mount --bind DIR DIR before chroot DIR)" ;;
    *) echo "the kernel refuses a mount in a new mount namespace here (unshare -m, mount -t tmpfs)" ;;
    esac
    rmdir "$probe"
}

# A real OpenSSH server for the user of create_real_user (root only; ../shared/GUIDE.md): its
# own host key and sshd_config, listening on a free port of 127.0.0.1, in its own mount
# namespace where /etc/pam.d/sshd is the file $1 bind-mounted over the real one (the machine's
# PAM files are never touched; sshd_mount_propagation says how the namespace is made, or the
# test skips with the reason). The user's key goes into their ~/.ssh; the application's
# environment gets the test helper. Sets SSH_PORT and SSH_DIR; stopped at exit.
#   start_sshd PAM-FILE
start_sshd() {
    local pam_file=$1 home sshd_pid propagation
    [ -x /usr/sbin/sshd ] || fail "sshd is missing (openssh-server; tools/install-deps.sh installs it)"
    require_tools ssh ssh-keygen unshare mount
    propagation=$(sshd_mount_propagation)
    case "$propagation" in
    private | unchanged) ;;
    *) skip "no mount namespace of sshd's own: $propagation" ;;
    esac
    SSH_DIR="$WORK/ssh"
    mkdir -p "$SSH_DIR"
    [ -d /run/sshd ] || install -d -m 0755 /run/sshd # sshd's privilege-separation directory
    ssh-keygen -q -t ed25519 -N '' -f "$SSH_DIR/host_key" || fail "ssh-keygen (host)"
    ssh-keygen -q -t ed25519 -N '' -f "$SSH_DIR/user_key" || fail "ssh-keygen (user)"
    home=$(getent passwd "$USER_NAME" | cut -d: -f6)
    install -d -m 700 -o "$USER_NAME" -g "$USER_NAME" "$home/.ssh"
    install -m 600 -o "$USER_NAME" -g "$USER_NAME" "$SSH_DIR/user_key.pub" "$home/.ssh/authorized_keys"
    cp "$pam_file" "$SSH_DIR/pam-sshd"
    SSH_PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat >"$SSH_DIR/sshd_config" <<CONF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $SSH_DIR/host_key
PidFile $SSH_DIR/sshd.pid
UsePAM yes
AuthorizedKeysFile .ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers $USER_NAME
StrictModes yes
LogLevel VERBOSE
CONF
    # sshd is not built with the sanitizers, the module of a --enable-sanitizers build is: its
    # runtimes must come first in sshd (leaks are sshd's to keep; ours are checked elsewhere).
    local preload=""
    [ "${sanitizers:-no}" = yes ] &&
        preload="$(${CC:-gcc} -print-file-name=libasan.so):$(${CC:-gcc} -print-file-name=libubsan.so)"
    env PAM_OAUTH_KEYRING_TEST_HELPER="$HELPER" ${preload:+LD_PRELOAD="$preload"} \
        ${preload:+ASAN_OPTIONS=detect_leaks=0} unshare -m --propagation "$propagation" \
        sh -c 'mount --bind "$1/pam-sshd" /etc/pam.d/sshd && exec /usr/sbin/sshd -D -e -f "$1/sshd_config"' \
        sh "$SSH_DIR" 2>"$SSH_DIR/sshd.log" &
    sshd_pid=$!
    on_exit "kill $sshd_pid; wait $sshd_pid"
    wait_until 10 grep -q "Server listening on 127.0.0.1 port $SSH_PORT" "$SSH_DIR/sshd.log" ||
        fail "sshd did not start: $(cat "$SSH_DIR/sshd.log")"
}

# A real user (create_real_user NAME) whose keyring is unlocked on their bus, as their desktop
# session leaves it, and a real sshd (start_sshd) whose /etc/pam.d/sshd is Debian's installed
# file with docs/recipes.md's sshd recipe applied (the test module, $WORK/ssh.conf, login state
# in $WORK/state), plus what pam_systemd would put in the PAM environment with logind.
#   start_recipe_sshd NAME
start_recipe_sshd() {
    create_real_user "$1"
    mkdir -p "$WORK/state" "$WORK/out"
    as_user sh -c 'printf %s "$1" | gnome-keyring-daemon --unlock --components=secrets >/dev/null' \
        sh "$PASSWORD" || fail "cannot start the user's keyring"
    wait_until 10 as_user secret-tool store --label probe service pok-probe username x </dev/null ||
        fail "the user's keyring does not take writes"
    write_config "$WORK/ssh.conf" </dev/null
    "$PYTHON" "$top_srcdir/tests/pam_recipes.py" apply "$top_srcdir/docs/recipes.md" sshd \
        /etc/pam.d/sshd "$WORK/pam-sshd" "$MODULE config=$WORK/ssh.conf state_dir=$WORK/state debug" ||
        fail "the sshd recipe does not apply to /etc/pam.d/sshd"
    cat >"$WORK/pam_env.conf" <<ENV
XDG_RUNTIME_DIR DEFAULT=$RUNTIME
DBUS_SESSION_BUS_ADDRESS DEFAULT=$BUS
ENV
    sed -i "1i session required pam_env.so conffile=$WORK/pam_env.conf readenv=0 user_readenv=0" \
        "$WORK/pam-sshd"
    start_sshd "$WORK/pam-sshd"
}

# Runs a command in a key-authenticated ssh session of the user of start_sshd (stdin passed on).
#   ssh_as_user COMMAND...
ssh_as_user() {
    ssh -i "$SSH_DIR/user_key" -p "$SSH_PORT" -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR \
        -o ConnectTimeout=10 "$USER_NAME@127.0.0.1" "$@"
}

# The desktop's side of the sign-in after a graphical login (issue 13, item 4), for a private
# session. Stages the shipped autostart entry's Exec= line ($WORK/exec-line, checked to need no
# unquoting), oauth-keyring on a PATH directory ($WORK/path), the notification server and
# BROWSER's script ($WORK/bin/desktop_browser.sh): the browser opens the listener's start
# address (keeping its cookie), the user approves at the IdP (browser.py),
# the browser follows the redirect to the refresher's listener and the listener's own redirect
# to its result page ($WORK/out/browser.page, .final: code, redirects, final URL). Each start
# adds the URL to browser.runs; what the notification server had recorded by then is kept in
# notified-before-browser.
stage_autostart_entry() {
    sed -n 's/^Exec=//p' "$top_srcdir/desktop/oauth-keyring-login.desktop" >"$WORK/exec-line"
    grep -Eq '^oauth-keyring( [a-z-]+)+$' "$WORK/exec-line" ||
        fail "unexpected Exec= line: $(cat "$WORK/exec-line")"
    mkdir -p "$WORK/path"
    ln -sf "$CLI" "$WORK/path/oauth-keyring"
    cp "$top_srcdir/tests/notification_server.py" "$WORK/bin/"
    cat >"$WORK/bin/desktop_browser.sh" <<'BROWSER'
#!/bin/bash
cp "$WORK/out/notifications.jsonl" "$WORK/out/notified-before-browser" 2>/dev/null
echo "$1" >>"$WORK/out/browser.runs"
jar=$WORK/out/browser.cookies # the browser's cookies: the start address sets one
authorize=$(curl -sS --max-time 20 -c "$jar" -o /dev/null -w '%{redirect_url}' "$1") || exit 1
redirect=$(printf '%s\n' "$authorize" | "$PYTHON" "$WORK/bin/browser.py" --ca "$CA_FILE" --mode url) || exit 1
curl -sS -L --max-redirs 2 --max-time 20 -b "$jar" -c "$jar" -o "$WORK/out/browser.page" \
    -w '%{http_code} %{num_redirects} %{url_effective}\n' "$redirect" >"$WORK/out/browser.final"
BROWSER
    chmod a+rx "$WORK/bin/desktop_browser.sh"
}
# Inside a private session: a desktop notification server on the session bus, recording each
# Notify in $WORK/out/notifications.jsonl; stopped with the bus.
start_notification_server() {
    "$PYTHON" "$WORK/bin/notification_server.py" "$WORK/out/notifications.jsonl" \
        "$WORK/out/notify.ready" 2>"$WORK/out/notify.err" &
    wait_until 10 test -e "$WORK/out/notify.ready" || fail "the notification server did not start"
}
notifications_sent() { cat "$WORK/out/notifications.jsonl" 2>/dev/null | wc -l; }
browser_runs() { cat "$WORK/out/browser.runs" 2>/dev/null | wc -l; }
# Inside a private session: the autostart entry's command as the desktop runs it, in the
# session's environment plus what the module put into the PAM environment of login
# LOGIN-NAME (pam_driver's pam_env: lines), DISPLAY set, stdin /dev/null, at most SECONDS (60).
# Output in $WORK/out/NAME.out and .err, status in NAME.status.
#   run_autostart_entry NAME LOGIN-NAME [SECONDS]
run_autostart_entry() {
    local argv session_env limit=${3:-60}
    read -ra argv <"$WORK/exec-line"
    mapfile -t session_env < <(sed -n 's/^pam_env: //p' "$WORK/out/$2.out" 2>/dev/null)
    env "${session_env[@]}" PATH="$WORK/path:$PATH" DISPLAY=:0 \
        BROWSER="$WORK/bin/desktop_browser.sh" timeout "$limit" "${argv[@]}" </dev/null \
        >"$WORK/out/$1.out" 2>"$WORK/out/$1.err"
    echo $? >"$WORK/out/$1.status"
}

# --- the device_*.sh tests: a device sign-in (RFC 8628) through the real libpam -------------
# The refresh tests' set-up with the provider named by its issuer alone (a path, as Keycloak's
# realms) and sign_in = $1 (device or both); each further argument a configuration line. The
# test IdP's device knobs are set with idp_control.   prepare_device_test SIGN-IN [LINE]...
prepare_device_test() {
    local sign_in=$1 extra
    shift
    extra=$(printf '%s\n' "$@")
    prepare_refresh_test 3600
    ISSUER="$IDP_URL/realms/test"
    # Over the file prepare_private_user made: its owner and mode stay.
    cat >"$WORK/pam.conf" <<CONF
[$SERVICE]
issuer = $ISSUER
client_id = $CLIENT_ID
client_secret = $CLIENT_SECRET
redirect_uri = $REDIRECT_URI
ca_file = $CA_FILE
sign_in = $sign_in
refresh_margin = 8
$extra
CONF
}
# Inside a device test's session: one login through PAM-SERVICE (default pok-refresher) whose
# user, at the prompt, does DECISION (approve, deny, none) on the phone, then presses Enter;
# fails unless the driver ran through and the session opened. $WORK/out/NAME.code keeps
# "ADDRESS CODE", NAME.enter the time of Enter (ms), NAME.end the time the driver ended (ms).
#   device_login NAME DECISION [PAM-SERVICE]
device_login() {
    local status
    driver_login "$1" --service "${3:-pok-refresher}" --session "$XDG_RUNTIME_DIR" \
        "$DBUS_SESSION_BUS_ADDRESS" --answer-command "$PYTHON $WORK/bin/device_user.py \
--ca $CA_FILE --decision $2 --save $WORK/out/$1.code --enter-time $WORK/out/$1.enter"
    status=$?
    echo $(($(date +%s%N) / 1000000)) >"$WORK/out/$1.end"
    [ "$status" = 0 ] && grep -q "pam_open_session: Success" "$WORK/out/$1.out" ||
        fail "$1: the login failed or opened no session: $(cat "$WORK/out/$1.out")"
}
# Inside a device test's session: the refresher has taken a device sign-in (SERVICE.status's
# last event), within 10 s.
device_waiting() {
    wait_until 10 eval '[ "$(status_field outcome)" = device-waiting ]' ||
        fail "no refresher took the device sign-in: $(status_field outcome)"
}
# The polls of a device code the test IdP has answered (its grant saw them).
device_polls_count() { idp_stat 'len(s["device_polls"])'; }
# Milliseconds from Enter at login NAME's prompt to the end of its driver (the session open,
# the module's last words, the PAM handle closed).   enter_to_end_ms NAME
enter_to_end_ms() { echo $(($(cat "$WORK/out/$1.end") - $(cat "$WORK/out/$1.enter"))); }
# The user, on the phone, after the login: DECISION (approve, deny) for login NAME's code.
device_decide() {
    "$PYTHON" "$WORK/bin/device_user.py" --ca "$CA_FILE" --decision "$2" --from "$WORK/out/$1.code"
}
# The gaps (s, one decimal) between the IdP's successive polls of the one device code, one a
# line, with each poll's answer: "GAP ANSWER".
device_poll_gaps() {
    idp_get /stats | "$PYTHON" -c '
import json, sys
polls = json.load(sys.stdin)["device_polls"]
for before, after in zip(polls, polls[1:]):
    print(f"{after['"'"'t'"'"'] - before['"'"'t'"'"']:.1f} {after['"'"'answer'"'"']}")'
}
