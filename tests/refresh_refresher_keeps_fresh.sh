#!/bin/bash
# The refresher keeps a token valid on its own: with access tokens of 5 s (due after 3 s), the
# token in the keyring works at the IdP at every check for 15 s, with one refresh per token
# (3 to 8 of them: a refresh in a loop would make 15) and no refresh token used twice. The
# refresher refreshes in short-lived children (refresher/refresher.c run_in_child): after all
# those refreshes it has never mapped libcurl or a TLS library.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
prepare_refresh_test 5

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
login first pok-refresher # signs in and starts the refresher
prompted first || fail "the first login did not ask"
[ "$(refresher_count)" = 1 ] || fail "no refresher after a session with refresher=yes"
before=$(refresh_requests)
token_works_now() { works_at_idp "$(keyring_token)"; }
# A read between the two writes of a refresh (the access item comes second), or during the
# refresh itself, may see the old token: it must work again within a second.
token_works() { token_works_now || wait_until 1 token_works_now; }
holds_for 15 token_works || fail "the token did not work at $(date +%T): the refresher let it lapse"
refreshes=$(($(refresh_requests) - before))
[ "$refreshes" -ge 3 ] && [ "$refreshes" -le 8 ] || fail "$refreshes refreshes in 15 s of 5 s tokens"
[ "$(idp_stat 's["refresh_reuse"]')" = 0 ] || fail "a refresh token was used twice"
note "15 s of 5 s tokens: valid at every check, $refreshes refreshes, no reuse"
# A non-dumpable process's maps are root's to read: the outer script (as root) reads them and
# answers in maps-checked.
refresher_pids >"$WORK/out/refresher.pid"
wait_until 10 test -s "$WORK/out/maps-checked"
case "$(cat "$WORK/out/maps-checked" 2>/dev/null)" in
clean) note "the refresher, after $refreshes refreshes by its children: no libcurl or TLS library mapped" ;;
not-root) note "(the refresher's maps were not read: that needs root)" ;;
*) fail "the refresher's maps: $(cat "$WORK/out/maps-checked" 2>/dev/null || echo 'no answer')" ;;
esac
SCENARIO

# Answers the scenario's question about the refresher's mappings.
check_refresher_maps() {
    local pid answer=not-root
    wait_until 60 test -s "$WORK/out/refresher.pid"
    pid=$(head -1 "$WORK/out/refresher.pid" 2>/dev/null)
    if [ "$(id -u)" = 0 ]; then
        if [ -z "$pid" ] || ! grep -q libsecret "/proc/$pid/maps"; then
            answer="no refresher to read (pid '$pid')"
        elif grep -qE 'libcurl|libssl|libgnutls|pam_oauth_keyring_https' "/proc/$pid/maps"; then
            answer="it maps $(grep -oE '[^/]*(libcurl|libssl|libgnutls|pam_oauth_keyring_https)[^ ]*' "/proc/$pid/maps" | sort -u | tr '\n' ' ')"
        else
            answer=clean
        fi
    fi
    echo "$answer" >"$WORK/out/maps-checked.new" && chmod a+r "$WORK/out/maps-checked.new" &&
        mv "$WORK/out/maps-checked.new" "$WORK/out/maps-checked"
}
check_refresher_maps &
on_exit "kill $! 2>/dev/null"
run_refresh_test "$WORK/scenario.sh" 90
pass "the refresher kept 5 s tokens valid for 15 s, one refresh per token, without libcurl or TLS"
