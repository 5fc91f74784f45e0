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

# The address the IdP sends the browser back to, for the URL the CLI printed (a fresh code
# each time; browser.py MODE: url, wrong-state, ...).   callback_url [MODE]
callback_url() {
    "$PYTHON" "$WORK/bin/browser.py" --ca "$CA_FILE" --mode "${1:-url}" <"$WORK/out/$LOGIN_NAME.out" ||
        fail "the browser failed"
}

# One request to the listener (tests/loopback_client.py): prints "STATUS SECONDS [LOCATION]".
loopback_get() { "$PYTHON" "$WORK/bin/loopback_client.py" "$@"; }
