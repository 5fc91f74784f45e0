#!/bin/bash
# Discovery (issue 21, item 1): a configuration that names only the issuer - with client_id,
# client_secret, redirect_uri and the test CA - signs in, stores the pair and refreshes, through
# the real libpam, the real helper and the real refresher, with every endpoint taken from the
# issuer's metadata. The issuer has a path (as Keycloak's https://HOST/realms/REALM), so both
# well-known addresses are the standards' (OpenID Connect's appended, RFC 8414's inserted
# between host and path). Then each bad document - another issuer, too large, http endpoints, a
# redirect, none at all - is refused with its reason in the log (both issuers named where they
# differ), and the session opens all the same; so it does when the provider does not answer
# (black hole: within the timeout) or refuses the connection.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
# A free redirect port: oauth-keyring login's listener binds it (step 3b).
REDIRECT_URI="http://127.0.0.1:$(free_port)/callback"
prepare_refresh_test 120
ISSUER="$IDP_URL/realms/test"

# Only the issuer: no authorize_url, token_url or revoke_url. The group's name is the keyring
# service (a unique one: other trees' tests may share this machine and user).
cat >"$WORK/pam.conf" <<CONF
[$SERVICE]
issuer = $ISSUER
client_id = $CLIENT_ID
client_secret = $CLIENT_SECRET
redirect_uri = $REDIRECT_URI
ca_file = $CA_FILE
CONF
# The same with the issuer on a port nothing listens on (the provider refuses connections).
sed "s|^issuer = .*|issuer = https://127.0.0.1:$(free_port)/realms/test|" "$WORK/pam.conf" \
    >"$WORK/pam-refused.conf"
chown --reference="$WORK/pam.conf" "$WORK/pam-refused.conf"
chmod 600 "$WORK/pam-refused.conf"
sed "s|config=$WORK/pam.conf|config=$WORK/pam-refused.conf|" "$WORK/pam.d/pok-always" \
    >"$WORK/pam.d/pok-refused"
chmod a+r "$WORK/pam.d/pok-refused"
# The same provider with its endpoints written out, for the time a login spends on discovery.
{
    cat "$WORK/pam.conf"
    echo "authorize_url = $ISSUER/authorize"
    echo "token_url = $ISSUER/token"
} >"$WORK/pam-explicit.conf"
chown --reference="$WORK/pam.conf" "$WORK/pam-explicit.conf"
chmod 600 "$WORK/pam-explicit.conf"
sed "s|config=$WORK/pam.conf|config=$WORK/pam-explicit.conf|; s|refresher=yes|refresher=no|" \
    "$WORK/pam.d/pok-always" >"$WORK/pam.d/pok-explicit"
sed "s|refresher=yes|refresher=no|" "$WORK/pam.d/pok-always" >"$WORK/pam.d/pok-discovered"
chmod a+r "$WORK/pam.d/pok-explicit" "$WORK/pam.d/pok-discovered"

# The helper under valgrind (step 7), as login_cycles.sh runs it: a readable copy of the test
# helper told that its dumpable start is on purpose, the test module told to accept it, and a
# configuration with room for valgrind's slowness (timeout 30).
install -m 0755 "$WORK/bin/pam_oauth_keyring_helper_test" "$WORK/bin/readable-helper"
cp "$top_srcdir/tests/valgrind.supp" "$WORK/bin/" && chmod 644 "$WORK/bin/valgrind.supp"
cat >"$WORK/bin/helper-under-valgrind" <<VG
#!/bin/sh
POK_TEST_DUMPABLE_START=1 exec valgrind -q --error-exitcode=99 --leak-check=full \\
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \\
    --suppressions="$WORK/bin/valgrind.supp" --log-file="$WORK/out/helper-valgrind.%p.log" \\
    "$WORK/bin/readable-helper"
VG
chmod 755 "$WORK/bin/helper-under-valgrind"
{ cat "$WORK/pam.conf" && echo "timeout = 30"; } >"$WORK/pam-valgrind.conf"
chown --reference="$WORK/pam.conf" "$WORK/pam-valgrind.conf"
chmod 600 "$WORK/pam-valgrind.conf"
sed "s|config=$WORK/pam.conf|config=$WORK/pam-valgrind.conf|" "$WORK/pam.d/pok-discovered" \
    >"$WORK/pam.d/pok-valgrind"
chmod a+r "$WORK/pam.d/pok-valgrind"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
ISSUER="$IDP_URL/realms/test"
discoveries() { idp_stat 's["requests"]["discovery"]'; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }
# A login whose provider cannot be used: no prompt, the session opens, the reason logged.
#   refused_login NAME PAM-SERVICE EXPECTED-LOG-TEXT
refused_login() {
    local started
    started=$(ms_now)
    session_login url "$1" "$2"
    echo $(($(ms_now) - started)) >"$WORK/out/$1.ms"
    grep -q "pam_open_session: Success" "$WORK/out/$1.out" || fail "$1: no session: $(cat "$WORK/out/$1.out")"
    ! prompted "$1" || fail "$1: the user was asked although the provider cannot be used"
    grep -qF -- "$3" "$WORK/out/$1.log" || fail "$1: the log does not say '$3': $(cat "$WORK/out/$1.log")"
    note "$1: refused in $(cat "$WORK/out/$1.ms") ms: $(grep -F -- "$3" "$WORK/out/$1.log" | head -1 | cut -c1-400)"
}

# 1. Sign in with the issuer alone (pok-private: no refresher).
started=$(ms_now)
login first pok-private
note "first login (discovery, prompt, exchange, store): $(($(ms_now) - started)) ms"
prompted first || fail "the first login did not ask"
grep -q "is now in your keyring" "$WORK/out/first.out" || fail "not stored: $(cat "$WORK/out/first.out")"
grep -q "^\[info\] $IDP_URL/realms/test/authorize?" "$WORK/out/first.out" ||
    fail "the prompt does not show the discovered authorization endpoint"
token=$(keyring_token)
[ "$token" = "$(idp_stat 's["issued"]["access_tokens"][-1]')" ] || fail "the keyring does not hold the issued token"
works_at_idp "$token" || fail "the stored token does not work"
[ "$(discoveries)" = 2 ] || fail "$(discoveries) metadata requests for one login (authorize, exchange: 2)"
grep -q "POST /realms/test/token 200" "$WORK/idp.log" || fail "the code did not go to the discovered token endpoint"

# 1b. What discovery costs a login: three sign-ins each way (prompt=always, no refresher),
# alternating; each runs the browser stand-in and a code exchange.
explicit=() discovered=()
for round in 1 2 3; do
    started=$(ms_now)
    login "explicit-$round" pok-explicit
    explicit+=($(($(ms_now) - started)))
    started=$(ms_now)
    login "discovered-$round" pok-discovered
    discovered+=($(($(ms_now) - started)))
done
note "a whole login (prompt, browser stand-in, exchange, store): endpoints configured ${explicit[*]} ms, discovered ${discovered[*]} ms"
base=$(discoveries)

# 2. The session hook refreshes a due token at the next login, with the metadata fetched then.
age_pair 115
before=$(refresh_requests)
login second pok-private
! prompted second || fail "the second login asked although a refresh token is stored"
[ "$(refresh_requests)" = $((before + 1)) ] || fail "the session hook did not refresh once"
[ "$(discoveries)" = $((base + 1)) ] || fail "$(($(discoveries) - base)) metadata requests for the session refresh (1 expected)"
works_at_idp "$(keyring_token)" || fail "the refreshed token does not work"

# 3. A refresher: it fetches the metadata once, at its start, and keeps the endpoints; a
# refresh it runs for oauth-keyring token needs no further request.
login third pok-refresher
wait_until 10 eval '[ "$(discoveries)" = $((base + 2)) ]' ||
    fail "the refresher did not fetch the metadata once at its start ($(($(discoveries) - base)) requests since)"
age_pair 115
before=$(refresh_requests)
cli_token cli --min-valid 10
[ "$(cat "$WORK/out/cli.status")" = 0 ] || fail "oauth-keyring token failed: $(cat "$WORK/out/cli.err")"
[ "$(refresh_requests)" = $((before + 1)) ] || fail "oauth-keyring token did not make the refresher refresh once"
[ "$(cat "$WORK/out/cli.token")" = "$(keyring_token)" ] && works_at_idp "$(keyring_token)" ||
    fail "the token oauth-keyring printed is not the stored, working one"
[ "$(discoveries)" = $((base + 2)) ] || fail "the refresher fetched the metadata again for a refresh"
"$CLI" logout --service "$SERVICE" >"$WORK/out/logout.out" 2>&1 || fail "logout: $(cat "$WORK/out/logout.out")"
grep -q "POST /realms/test/revoke 200" "$WORK/idp.log" || fail "logout did not revoke at the discovered endpoint"

# 3b. oauth-keyring login inside the session: the refresher's sign-in uses the authorization
# endpoint it discovered at its start (no further metadata request); the pasted redirect is
# exchanged by its child at the discovered token endpoint.
mkfifo "$WORK/out/paste"
exec 7<>"$WORK/out/paste" # held open, as a terminal would be
"$CLI" login --no-browser --service "$SERVICE" <"$WORK/out/paste" >"$WORK/out/signin.out" 2>"$WORK/out/signin.err" &
cli=$!
wait_until 10 grep -q "^https://" "$WORK/out/signin.out" ||
    fail "oauth-keyring login printed no URL: $(cat "$WORK/out/signin.out" "$WORK/out/signin.err")"
grep -q "^$ISSUER/authorize?" "$WORK/out/signin.out" ||
    fail "the sign-in's URL is not the discovered endpoint's: $(grep '^https://' "$WORK/out/signin.out")"
grep '^https://' "$WORK/out/signin.out" | "$PYTHON" "$WORK/bin/browser.py" --ca "$CA_FILE" --mode url \
    >"$WORK/out/signin.redirect" || fail "the browser stand-in failed"
cat "$WORK/out/signin.redirect" >&7
wait "$cli" || fail "oauth-keyring login failed: $(cat "$WORK/out/signin.out" "$WORK/out/signin.err")"
exec 7>&-
works_at_idp "$(keyring_token)" || fail "no working token after oauth-keyring login"
[ "$(discoveries)" = $((base + 2)) ] || fail "the refresher's sign-in fetched the metadata again"
note "oauth-keyring login: signed in with the endpoints the refresher discovered at its start"

# 4. RFC 8414 only (OpenID Connect's address answers 404): a new sign-in works.
idp_control '{"discovery": "oauth_only"}'
before=$(discoveries)
login rfc8414 pok-always
prompted rfc8414 && grep -q "is now in your keyring" "$WORK/out/rfc8414.out" ||
    fail "no sign-in from RFC 8414's document: $(cat "$WORK/out/rfc8414.out")"
grep -q "GET /.well-known/oauth-authorization-server/realms/test 200" "$WORK/idp.log" ||
    fail "RFC 8414's address was not the one between host and path"
note "RFC 8414 only: $(($(discoveries) - before)) metadata requests for a login (404 then 200, twice)"

# 5. Bad documents: refused with the reason, the session opens.
idp_control '{"discovery": "other_issuer"}'
refused_login other-issuer pok-always "names the issuer $ISSUER/someone-else, not the configured $ISSUER"
idp_control '{"discovery": "too_large"}'
refused_login too-large pok-always "answer is larger than 65536 bytes"
idp_control '{"discovery": "http_endpoints"}'
refused_login http pok-always "authorization_endpoint is not an https URL (http://"
idp_control '{"discovery": "redirect"}'
refused_login redirect pok-always "answered with a redirect (HTTP 302), which is not followed"
idp_control '{"discovery": "not_found"}'
refused_login not-found pok-always "oauth-authorization-server/realms/test: HTTP 404"

# 6. The provider down: a black hole costs at most the timeout (default 10 s), a refused
# connection nothing.
idp_control '{"discovery": "blackhole"}'
refused_login blackhole pok-always "openid-configuration"
[ "$(cat "$WORK/out/blackhole.ms")" -lt 12000 ] || fail "the black hole held the login $(cat "$WORK/out/blackhole.ms") ms"
refused_login refused pok-refused "cannot reach the metadata endpoint"
[ "$(cat "$WORK/out/refused.ms")" -lt 3000 ] || fail "a refused connection held the login $(cat "$WORK/out/refused.ms") ms"
idp_control '{"discovery": "good"}'

# 8. A login that signs in and starts a new refresher: the helper's exchange resolved the
# endpoints, and the refresher it starts gets them - no fetch of its own.
for pid in $(refresher_pids); do kill "$pid"; done
wait_until 10 refresher_count_is 0 || fail "the refresher did not end"
before=$(discoveries)
login handoff pok-always
grep -q "is now in your keyring" "$WORK/out/handoff.out" || fail "handoff: not stored: $(cat "$WORK/out/handoff.out")"
wait_until 10 refresher_count_is 1 || fail "handoff: no refresher started"
# The refresher's start is where a fetch of its own would come: the count must stay at 2.
holds_for 2 eval '[ "$(($(discoveries) - before))" = 2 ]' ||
    fail "handoff: $(($(discoveries) - before)) metadata requests for a sign-in that starts a refresher (2: prompt, exchange)"
note "a sign-in that starts a refresher: 2 metadata requests (prompt, exchange); the refresher got the endpoints"

# 7. The helper under valgrind memcheck: a sign-in with discovery (authorize, answer,
# exchange), and a document of another issuer refused: no invalid access, nothing lost. Not in
# an --enable-sanitizers build: valgrind cannot run ASan programs, and ASan checks them itself.
valgrind_login() { # valgrind_login NAME
    driver_login "$1" --service pok-valgrind --helper "$WORK/bin/helper-under-valgrind" \
        --stand-in --timeout 120 --session "$XDG_RUNTIME_DIR" "$DBUS_SESSION_BUS_ADDRESS"
}
if [ "$SANITIZERS" = yes ]; then
    note "7. ASan build: the helper is not run under valgrind (ASan checks it)"
else
    valgrind_login valgrind-good
    grep -q "is now in your keyring" "$WORK/out/valgrind-good.out" ||
        fail "the sign-in with the helper under valgrind failed: $(cat "$WORK/out/valgrind-good.log")"
    idp_control '{"discovery": "other_issuer"}'
    valgrind_login valgrind-refused
    idp_control '{"discovery": "good"}'
    grep -qF "names the issuer $ISSUER/someone-else" "$WORK/out/valgrind-refused.log" ||
        fail "under valgrind, the other issuer was not refused: $(cat "$WORK/out/valgrind-refused.log")"
    runs=$(ls "$WORK"/out/helper-valgrind.*.log | wc -l)
    [ "$runs" -ge 4 ] || fail "the helper ran $runs times under valgrind, want at least 4"
    ! grep -l . "$WORK"/out/helper-valgrind.*.log ||
        fail "valgrind: $(cat "$WORK"/out/helper-valgrind.*.log | head -40)"
    note "the helper under valgrind ($runs runs: discovery at the prompt and the exchange, a refused document): no error, nothing lost"
fi
SCENARIO
sed -i "1i SANITIZERS=${sanitizers:-no}" "$WORK/scenario.sh"
run_refresh_test "$WORK/scenario.sh" 150
pass "the issuer alone signs in, stores, refreshes and logs out; bad metadata and a provider down are refused and the session opens"
