# For the signin_*.sh tests, inside a private session (run_private_session): lib.sh's
# functions and the session's variables are there already.
# shellcheck shell=bash

SIGNIN_PORT=${REDIRECT_URI#http://127.0.0.1:}
SIGNIN_PORT=${SIGNIN_PORT%%/*}

# Whether something listens on 127.0.0.1:PORT (default the redirect's): a bind fails.
port_bound() {
    "$PYTHON" -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try: s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError: sys.exit(0)
sys.exit(1)' "${1:-$SIGNIN_PORT}"
}
port_free() { ! port_bound "$@"; }

# The code exchanges the IdP has seen.
codes_spent() { idp_stat 's["requests"]["token_authorization_code"]'; }

# Starts `oauth-keyring login --no-browser` for $SERVICE in the background (CLI_PID), its
# stdin a FIFO held open on fd 7 as a terminal would be (write a pasted line to fd 7), its
# output in $WORK/out/NAME.out and .err; returns once it has printed the URL.
#   start_login NAME [oauth-keyring login option]...
start_login() {
    local name=$1
    shift
    LOGIN_NAME=$name
    mkfifo "$WORK/out/$name.paste"
    exec 7<>"$WORK/out/$name.paste"
    "$CLI" login --no-browser --service "$SERVICE" "$@" <"$WORK/out/$name.paste" \
        >"$WORK/out/$name.out" 2>"$WORK/out/$name.err" &
    CLI_PID=$!
    wait_until 10 grep -qs "^https://" "$WORK/out/$name.out" ||
        fail "$name: no URL: $(cat "$WORK/out/$name.out" "$WORK/out/$name.err")"
}

# Waits (at most SECONDS, default 30) for the CLI of start_login to end; its status in
# LOGIN_STATUS.
finish_login() {
    wait_until "${1:-30}" eval '! kill -0 "$CLI_PID" 2>/dev/null' ||
        fail "$LOGIN_NAME: the CLI did not end: $(cat "$WORK/out/$LOGIN_NAME.out" "$WORK/out/$LOGIN_NAME.err")"
    wait "$CLI_PID"
    LOGIN_STATUS=$?
    exec 7>&-
}

login_running() { kill -0 "$CLI_PID" 2>/dev/null; }

# The one-use start address the CLI printed for the current sign-in (LOGIN_NAME).
start_address() {
    grep -o "http://127.0.0.1:$SIGNIN_PORT/start/[A-Za-z0-9_-]*" "$WORK/out/$LOGIN_NAME.out" | head -n 1
}

# The user's browser opens the start address, once a sign-in, as a browser would: the
# listener's cookie goes into $WORK/out/LOGIN_NAME.jar and the authorize URL it redirects to
# into LOGIN_NAME.authorize (a second visit would get 410).
browser_start() {
    local start
    start=$(start_address)
    [ -n "$start" ] || fail "$LOGIN_NAME: no start address: $(cat "$WORK/out/$LOGIN_NAME.out")"
    [ "$(cat "$WORK/out/$LOGIN_NAME.started" 2>/dev/null)" != "$start" ] || return 0
    rm -f "$WORK/out/$LOGIN_NAME.jar"
    "$PYTHON" "$WORK/bin/loopback_client.py" --location --jar "$WORK/out/$LOGIN_NAME.jar" "$start" |
        awk '$1 == 303 { print $3; found = 1 } END { exit !found }' >"$WORK/out/$LOGIN_NAME.authorize" ||
        fail "$LOGIN_NAME: the start address did not send the browser on"
    echo "$start" >"$WORK/out/$LOGIN_NAME.started"
}

# The address the IdP sends the browser back to, for the sign-in started through its start
# address (browser_start; a fresh code each time; browser.py MODE: url, wrong-state, ...).
#   callback_url [MODE]
# Without a listener (paste only) there is no start address: the browser is given the
# authorize URL the CLI printed, as the user would copy it.
callback_url() {
    local authorize=$WORK/out/$LOGIN_NAME.out
    if [ -n "$(start_address)" ]; then
        browser_start
        authorize=$WORK/out/$LOGIN_NAME.authorize
    fi
    "$PYTHON" "$WORK/bin/browser.py" --ca "$CA_FILE" --mode "${1:-url}" <"$authorize" ||
        fail "the browser failed"
}

# One request to the listener (tests/loopback_client.py) from the user's browser: with the
# sign-in's cookie jar once browser_start has filled it. Prints "STATUS SECONDS [LOCATION]".
loopback_get() {
    local jar=()
    [ -z "${LOGIN_NAME:-}" ] || [ ! -s "$WORK/out/$LOGIN_NAME.jar" ] || jar=(--jar "$WORK/out/$LOGIN_NAME.jar")
    "$PYTHON" "$WORK/bin/loopback_client.py" "${jar[@]}" "$@"
}
