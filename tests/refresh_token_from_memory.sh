#!/bin/bash
# oauth-keyring token from the refresher's memory (issue 23): with the refresher running and a
# valid token, the front end answers from SERVICE.sock without running the full CLI (no GLib,
# no libsecret); the answer is the keyring's token. A refresher that is stale never hands out
# a token the keyring no longer holds: after `secret-tool clear` of both items (a logout by
# another path)
# the next token is not the old one (exit 2, as without a refresher), and after a sign-in by a
# login's helper it is the new one. env, exec and git-credential take the same path. A
# refresher that does not answer (stopped) costs 1 s, then the keyring answers. With the
# provider black-holed and the token due, token exits 4 after the configured timeout (5 s)
# and not much more, while status keeps answering at once.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools strace
prepare_refresh_test 600

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
# Runs oauth-keyring NAME ARG... under strace: the execve calls of its process (not of exec's
# COMMAND, a child) counted in NAME.execs - 1 for the front end alone, 2 when it ran the full
# CLI (the path itself is unreadable: the front end makes itself non-dumpable) - its output
# in NAME.token.
traced() {
    local name=$1
    shift
    strace -f -qq -e trace=execve -o "$WORK/out/$name.strace" "$CLI" "$@" \
        >"$WORK/out/$name.token" 2>"$WORK/out/$name.err"
    echo $? >"$WORK/out/$name.status"
    awk 'NR == 1 { pid = $1 } $1 == pid && $2 ~ /^execve\(/ && / = 0$/ { n++ } END { print n + 0 }' \
        "$WORK/out/$name.strace" >"$WORK/out/$name.execs"
}
from_memory() { # from_memory NAME: it ran no full CLI
    [ "$(cat "$WORK/out/$1.execs")" = 1 ] ||
        fail "$1: the full CLI ran: $(cat "$WORK/out/$1.strace" "$WORK/out/$1.err")"
}
exits() {
    [ "$(cat "$WORK/out/$1.status")" = "$2" ] ||
        fail "$1: exited $(cat "$WORK/out/$1.status"), want $2: $(cat "$WORK/out/$1.err")"
}

login first pok-refresher
old=$(keyring_token)
[ -n "$old" ] || fail "the first login stored nothing: $(cat "$WORK/out/first.log")"
wait_until 10 test -S "$XDG_RUNTIME_DIR/pam_oauth_keyring/$SERVICE.sock" || fail "no refresher socket"

traced cached token --service "$SERVICE"
exits cached 0
from_memory cached
[ "$(cat "$WORK/out/cached.token")" = "$old" ] || fail "cached: printed another token than the keyring's"
# No service named: the one refresher, whose service is the only one in the keyring.
(unset OAUTH_KEYRING_SERVICE; traced unnamed token)
exits unnamed 0
from_memory unnamed
[ "$(cat "$WORK/out/unnamed.token")" = "$old" ] || fail "unnamed: printed another token"
traced env env --service "$SERVICE"
exits env 0
from_memory env
[ "$(cat "$WORK/out/env.token")" = "export OAUTH_ACCESS_TOKEN='$old'" ] || fail "env printed $(cat "$WORK/out/env.token")"
traced exec exec --service "$SERVICE" -- sh -c 'test "$OAUTH_ACCESS_TOKEN" = "$0"' "$old"
exits exec 0
from_memory exec
printf 'protocol=https\nhost=example.com\n\n' |
    traced git git-credential get --service "$SERVICE"
exits git 0
from_memory git
[ "$(cat "$WORK/out/git.token")" = "$(printf 'username=oauth2\npassword=%s' "$old")" ] ||
    fail "git-credential printed something else"
# Plain http: never a token; the full CLI says why, as always.
printf 'protocol=http\nhost=example.com\n\n' |
    traced git-http git-credential get --service "$SERVICE"
exits git-http 0
[ ! -s "$WORK/out/git-http.token" ] || fail "git-credential answered for http"
grep -q "answers for https only" "$WORK/out/git-http.err" || fail "git-credential http: $(cat "$WORK/out/git-http.err")"

# A logout by another path, right before the next request: the refresher must not answer
# with what it held. (The refresh item carries the access token too: readers take it from
# there, so both go, the access item last.)
secret-tool clear service "$SERVICE/refresh" username "$RUN_AS"
secret-tool clear service "$SERVICE" username "$RUN_AS"
[ -z "$(keyring_token)" ] || fail "secret-tool clear left the access item"
traced cleared token --service "$SERVICE"
[ "$(cat "$WORK/out/cleared.execs")" = 2 ] || fail "cleared: the full CLI did not answer"
grep -qF "$old" "$WORK/out/cleared.token" && fail "after secret-tool clear the refresher handed out the old token"
exits cleared 2

# A sign-in through a login (the helper writes a new pair): the new token, from memory again.
login again pok-always
new=$(keyring_token)
[ -n "$new" ] && [ "$new" != "$old" ] || fail "the second sign-in stored no new token"
traced signed-in token --service "$SERVICE"
exits signed-in 0
[ "$(cat "$WORK/out/signed-in.token")" = "$new" ] || fail "after a new sign-in: printed another token than the keyring's"
traced signed-in-again token --service "$SERVICE"
from_memory signed-in-again

# A refresher that takes the connection and never answers (stopped): the keyring, after the
# front end's 1 s.
refresher=$(refresher_pids "$(id -u)" | head -1)
ps -o pid,stat,args -u "$(id -u)" | grep "$SERVICE" >"$WORK/out/stopped.ps"
[ -n "$refresher" ] || fail "no refresher pid"
kill -STOP "$refresher"
start=$(date +%s%N)
traced stopped token --service "$SERVICE"
took_ms=$((($(date +%s%N) - start) / 1000000))
kill -CONT "$refresher"
exits stopped 0
[ "$(cat "$WORK/out/stopped.token")" = "$new" ] || fail "stopped refresher: printed another token"
[ "$(cat "$WORK/out/stopped.execs")" = 2 ] ||
    fail "stopped refresher: the full CLI did not run (stopped $refresher; $(cat "$WORK/out/stopped.ps"))"
[ "$took_ms" -le 4000 ] || fail "stopped refresher: token took $took_ms ms (bound 1 s + the keyring read)"

# The provider black-holed and the token due for min_valid 60: exit 4 after the configured
# timeout (5 s) and no more than 3 s after it; status answers meanwhile.
age_pair 560
# keyring_tool edits in place (Item.SetSecret), which gnome-keyring announces with no signal:
# the refresher trusts its copy 2 s at most against such writers (token_cache.c). A "wake" (what
# a newer login's refresher sends) drops the copy at once.
"$PYTHON" -c 'import socket, sys
client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
client.settimeout(5)
client.connect(sys.argv[1])
client.sendall(b"POK/1 wake\nend\n")
client.shutdown(socket.SHUT_WR)
sys.exit(0 if client.recv(4096).startswith(b"POK/1 ok\n") else 1)' \
    "$XDG_RUNTIME_DIR/pam_oauth_keyring/$SERVICE.sock" || fail "the refresher did not take a wake"
idp_control '{"fault": "blackhole"}'
refreshes_before=$(refresh_requests)
start=$(date +%s%N)
cli_token blackhole &
token_pid=$!
# status while the refresh hangs: once the provider has the refresh request.
wait_until 5 eval '[ "$(refresh_requests)" -gt "$refreshes_before" ]' ||
    fail "the due token was not refreshed"
status_start=$(date +%s%N)
"$CLI" status --service "$SERVICE" >"$WORK/out/status.out" 2>&1 || fail "status during the hang: $(cat "$WORK/out/status.out")"
status_ms=$((($(date +%s%N) - status_start) / 1000000))
wait "$token_pid"
took_ms=$((($(date +%s%N) - start) / 1000000))
exits blackhole 4
[ ! -s "$WORK/out/blackhole.token" ] || fail "blackhole: a token was printed"
[ "$took_ms" -ge 5000 ] && [ "$took_ms" -le 8000 ] || fail "blackhole: token took $took_ms ms (timeout 5 s, bound 8 s)"
[ "$status_ms" -le 2000 ] || fail "status took $status_ms ms while the refresh hung"
echo "blackhole: token exit 4 after $took_ms ms; status in $status_ms ms" >"$WORK/out/blackhole.times"
idp_control '{"fault": null}'
SCENARIO
run_refresh_test "$WORK/scenario.sh" 120
pass "token from the refresher's memory (no full CLI) for token, env, exec, git-credential; none after secret-tool clear; the new one after a sign-in; a stopped refresher: the keyring after 1 s; black-holed: exit 4 $(grep -o 'after [0-9]* ms' "$WORK/out/blackhole.times")"
