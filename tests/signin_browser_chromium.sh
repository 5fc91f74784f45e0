#!/bin/bash
# Issue 13: the in-session sign-in with a real browser. A login whose user skips, then
# `oauth-keyring login` in a graphical session (DISPLAY set): it opens the listener's one-use
# start address (issue 19: never the authorize URL, whose state would be in argv) with
# xdg-open, which - pointed at a browser the standard way, an XDG_DATA_HOME whose
# defaults.list names a .desktop handler for https and http - runs Debian's chromium,
# headless, as the user. Chromium gets the listener's 303 and its SameSite=Lax cookie, opens
# the test IdP's authorize page (TLS: the test CA in the user's NSS database), follows its
# auto-approving 302 back to the listener with that cookie, then the listener's 303 to the
# clean path. The test checks the page chromium ended on (--dump-dom: "Signed in", no code in
# it), the CLI's exit 0, one code exchange, and the pair in the keyring. Chromium runs as the
# session's user, as a real browser does: the listener answers only the user's own programs.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool curl
command -v chromium >/dev/null || skip "chromium is not installed (tools/install-deps.sh suite installs it)"
require_tools certutil xdg-open

prepare_signin_test chromium </dev/null

# The browser xdg-open runs: headless chromium, the DOM of the page it ends on to dom.html.
cat >"$WORK/bin/headless-browser.sh" <<BROWSER
#!/bin/sh
unset DISPLAY WAYLAND_DISPLAY
echo "\$1" >"$WORK/out/browser.url"
id -u >"$WORK/out/browser.uid"
profile=\$(mktemp -d "$WORK/out/chromium-profile.XXXXXX")
chromium --headless=new --disable-gpu --no-first-run --user-data-dir="\$profile" \\
    --dump-dom "\$1" >"$WORK/out/dom.html" 2>"$WORK/out/chromium.err"
echo \$? >"$WORK/out/browser.done"
BROWSER
chmod a+rx "$WORK/bin/headless-browser.sh"
mkdir -p "$WORK/xdg/applications"
cat >"$WORK/xdg/applications/headless-browser.desktop" <<DESKTOP
[Desktop Entry]
Type=Application
Name=Headless test browser
Exec=$WORK/bin/headless-browser.sh %u
MimeType=x-scheme-handler/https;x-scheme-handler/http;
DESKTOP
printf '[Default Applications]\nx-scheme-handler/https=headless-browser.desktop\nx-scheme-handler/http=headless-browser.desktop\n' \
    >"$WORK/xdg/applications/defaults.list"
chmod -R a+rX "$WORK/xdg"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
. "$WORK/bin/signin_lib.sh"
certutil -d "sql:$HOME/.pki/nssdb" -N --empty-password 2>/dev/null ||
    { mkdir -p "$HOME/.pki/nssdb" && certutil -d "sql:$HOME/.pki/nssdb" -N --empty-password; } ||
    fail "cannot make the user's NSS database"
certutil -d "sql:$HOME/.pki/nssdb" -A -t "C,," -n pok-test-ca -i "$CA_FILE" || fail "cannot trust the test CA"
session_login empty skip
wait_until 10 refresher_count_is 1 || fail "no refresher after a skipped sign-in: $(cat "$WORK/out/skip.log")"
note "1. Enter at the login prompt; the session's refresher waits for a sign-in"

mkfifo "$WORK/out/paste"
exec 7<>"$WORK/out/paste" # a terminal's stdin that stays open, nothing pasted
DISPLAY=:99 XDG_DATA_HOME="$WORK/xdg" "$CLI" login --service "$SERVICE" <"$WORK/out/paste" \
    >"$WORK/out/login.out" 2>"$WORK/out/login.err" &
CLI_PID=$!
LOGIN_NAME=login
# Chromium ends by itself; when it ended without bringing the listener the code, say why (its
# own words: "No usable sandbox" when neither a user namespace nor chromium-sandbox's setuid
# helper is there, as in a chroot without that package) instead of waiting for the CLI.
wait_until 60 eval '[ -f "$WORK/out/browser.done" ] || ! kill -0 "$CLI_PID" 2>/dev/null'
if [ -f "$WORK/out/browser.done" ]; then
    wait_until 10 eval '! kill -0 "$CLI_PID" 2>/dev/null' ||
        fail "chromium ended (exit $(cat "$WORK/out/browser.done")) and the CLI still waits:" \
            "$(grep -v dbus "$WORK/out/chromium.err" | tail -5)"
fi
finish_login 10
[ "$LOGIN_STATUS" = 0 ] || fail "login: exit $LOGIN_STATUS: $(cat "$WORK/out/login.out" "$WORK/out/login.err" "$WORK/out/chromium.err" 2>&1)"
grep -q "^http://127.0.0.1:$SIGNIN_PORT/start/[A-Za-z0-9_-]*$" "$WORK/out/browser.url" ||
    fail "xdg-open did not run the browser with the start address: $(cat "$WORK/out/browser.url")"
# As in reality, the browser is the user's: the listener serves only the user's own programs.
[ "$(cat "$WORK/out/browser.uid")" = "$(id -u)" ] || fail "chromium ran as uid $(cat "$WORK/out/browser.uid")"
note "2. oauth-keyring login: xdg-open ran chromium with the start address (no state in argv); exit 0"

# The CLI ends with the sign-in, while chromium may still be following the listener's 303.
wait_until 30 [ -f "$WORK/out/browser.done" ] || fail "chromium did not end"
grep -q "<title>Signed in</title>" "$WORK/out/dom.html" ||
    fail "chromium ended on: $(cat "$WORK/out/dom.html") $(tail -5 "$WORK/out/chromium.err")"
grep -q "The sign-in is complete" "$WORK/out/dom.html" || fail "page: $(cat "$WORK/out/dom.html")"
[ "$(codes_spent)" = 1 ] || fail "not exactly one code exchange"
[ "$(keyring_token)" = "$(idp_stat 's["issued"]["access_tokens"][-1]')" ] ||
    fail "the keyring does not hold the issued access token"
assert_no_secret_in "$WORK/out/dom.html" "$WORK/out/login.out" "$WORK/out/login.err"
note "3. chromium ended on 'Signed in' (no code in the page); one exchange; the pair is stored"
echo done >"$WORK/out/scenario.done"
SCENARIO

run_private_session "$WORK/scenario.sh" 120
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"
pass "a real browser (headless chromium, opened through xdg-open) signs in through the listener"
