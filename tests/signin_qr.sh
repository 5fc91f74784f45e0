#!/bin/bash
# `oauth-keyring login --qr` in a graphical session (issue 19, finding 1): the browser on this
# computer is given the one-use start address, and the QR code is of the authorize URL, for a
# phone - a QR code of the start address would be useless there, since it names this
# computer's loopback. The terminal shows the authorize URL right above the drawing, which
# decodes (zbarimg) to exactly that URL; the browser's argv holds no state.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool zbarimg

prepare_signin_test qr </dev/null
cp "$top_srcdir/tests/qr_picture.py" "$WORK/bin/" && chmod a+rx "$WORK/bin/qr_picture.py"
cat >"$WORK/bin/record-browser.sh" <<BROWSER
#!/bin/sh
printf '%s\n' "\$@" >"$WORK/out/browser.argv"
BROWSER
chmod a+rx "$WORK/bin/record-browser.sh"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
. "$WORK/bin/signin_lib.sh"
session_login empty skip
wait_until 10 refresher_count_is 1 || fail "no refresher after a skipped sign-in: $(cat "$WORK/out/skip.log")"
LOGIN_NAME=qr
mkfifo "$WORK/out/qr.paste"
exec 7<>"$WORK/out/qr.paste"
DISPLAY=:99 BROWSER="$WORK/bin/record-browser.sh" "$CLI" login --qr --service "$SERVICE" \
    <"$WORK/out/qr.paste" >"$WORK/out/qr.out" 2>"$WORK/out/qr.err" &
CLI_PID=$!
wait_until 10 grep -qs "comes back to http://127.0.0.1:$SIGNIN_PORT/callback" "$WORK/out/qr.out" ||
    fail "the sign-in does not listen: $(cat "$WORK/out/qr.out" "$WORK/out/qr.err")"
wait_until 10 [ -s "$WORK/out/browser.argv" ] || fail "no browser started: $(cat "$WORK/out/qr.err")"
kill -INT "$CLI_PID"
finish_login 10
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 60
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"

grep -qx "http://127.0.0.1:$PORT/start/[A-Za-z0-9_-]*" "$WORK/out/browser.argv" ||
    fail "the browser was given: $(cat "$WORK/out/browser.argv")"
! grep -q "state=\|code_challenge" "$WORK/out/browser.argv" || fail "a state in the browser's argv"
note "the browser got the start address: $(cat "$WORK/out/browser.argv")"

url=$(grep -o "^$IDP_URL/authorize?.*" "$WORK/out/qr.out" | head -n 1)
case $url in *"state="*"code_challenge="*) ;; *) fail "no authorize URL printed: $(cat "$WORK/out/qr.out")" ;; esac
# The terminal's text as qr_picture.py reads a PAM conversation: the URL, then the drawing.
awk -v url="$url" '$0 == url { print "[info] " $0; getline; print "[info] " $0; next } { print }' \
    "$WORK/out/qr.out" >"$WORK/out/qr.conversation"
above=$("$PYTHON" "$WORK/bin/qr_picture.py" --scale 4 "$WORK/out/qr.conversation" "$WORK/qr.pgm" 2>"$WORK/picture.err") ||
    fail "no QR code under the authorize URL: $(cat "$WORK/picture.err") $(cat "$WORK/out/qr.out")"
[ "$above" = "$url" ] || fail "the drawing is not right under the authorize URL (above it: '$above')"
decoded=$(zbarimg --raw -q "$WORK/qr.pgm" 2>"$WORK/zbarimg.err") || fail "zbarimg decoded nothing: $(cat "$WORK/zbarimg.err")"
[ "$decoded" = "$url" ] || fail "the QR code says '$decoded', not the authorize URL"
note "the QR code decodes to the ${#decoded}-character authorize URL printed above it"
pass "login --qr: the browser gets the start address, the QR code (for a phone) the authorize URL"
