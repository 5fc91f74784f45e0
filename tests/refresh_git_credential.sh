#!/bin/bash
# The token for other tools: git credential fill through oauth-keyring git-credential gives it
# as the password for https, and nothing for plain http; oauth-keyring env exports it.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
require_tools git
prepare_refresh_test 10

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
login first pok-refresher
[ -n "$(keyring_token)" ] || fail "the first login stored nothing: $(cat "$WORK/out/first.log")"
printf 'protocol=https\nhost=git.example.com\n\n' |
    git -c credential.helper= -c "credential.helper=!$CLI git-credential --service $SERVICE" \
        credential fill >"$WORK/out/git.credential" 2>"$WORK/out/git.err" || true
grep -qx "password=$(keyring_token)" "$WORK/out/git.credential" || fail "git credential fill: $(cat "$WORK/out/git.err")"
# (git.credential carries the token to git: its job, and not among the outputs searched for secrets.)
printf 'protocol=http\nhost=git.example.com\n\n' | "$CLI" git-credential get --service "$SERVICE" \
    >"$WORK/out/git-http.out" 2>&1
grep -q "password=" "$WORK/out/git-http.out" && fail "git-credential gave the token for plain http"
eval "$("$CLI" env --service "$SERVICE")"
[ "${OAUTH_ACCESS_TOKEN:-}" = "$(keyring_token)" ] || fail "oauth-keyring env did not export the token"
unset OAUTH_ACCESS_TOKEN
SCENARIO
run_refresh_test "$WORK/scenario.sh" 60
pass "git credential fill and oauth-keyring env give the token; plain http gets nothing"
