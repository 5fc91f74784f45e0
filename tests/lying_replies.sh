#!/bin/bash
# Issue 10, findings 4 and 5: the helper runs as the user, so every reply it sends is the
# user's to forge. Stand-in helpers answer each request (authorize, answer, exchange, session)
# with "ok" and a required field missing in turn, with empty values, with an outcome that is
# not a known name (escape sequences included), with a field the reply must not carry, and
# with "error" replies that lack their reason. Each time the PAM application (the driver, as
# root) must live on - before the fix, "POK/1 ok\nend\n" to `answer` killed it with SIGSEGV -
# the session must open, and the refusal must be logged by the field it names.
#
# Then finding 5: the answer's Snyk instance= decides nothing by itself. An honest stand-in
# for `exchange` records the token_url the module sent; it must be the configured one, or
# the Snyk region the module derived itself, never a URL or host the helper chose.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

make_workdir
stage_artifacts
if [ "$(id -u)" = 0 ]; then TARGET=nobody; else TARGET=$(id -un); fi
mkdir -p "$WORK/pam.d" "$WORK/state" "$WORK/out" "$WORK/record"
chmod 1777 "$WORK/record" # the stand-ins run as the target user

# Four configurations: a generic provider (token_url https://127.0.0.1:1/token), the Snyk
# preset choosing token_url, and the Snyk preset with an explicit token_url on another host
# and on the EU region's host.
write_stand_in_config "$WORK/generic.conf"
write_snyk_config() { # write_snyk_config FILE [token_url line]
    printf '[snyk]\npreset = snyk\nclient_id = test\nredirect_uri = http://127.0.0.1/cb\n%s\ntimeout = 1\n' \
        "${2:-}" >"$1"
    chmod 600 "$1"
}
write_snyk_config "$WORK/snyk.conf"
write_snyk_config "$WORK/snyk-explicit.conf" "token_url = https://127.0.0.1:1/token"
write_snyk_config "$WORK/snyk-eu.conf" "token_url = https://api.eu.snyk.io/oauth2/token"
for name in generic snyk snyk-explicit snyk-eu; do
    cat >"$WORK/pam.d/pok-$name" <<PAM
auth     required pam_permit.so
auth     optional $MODULE config=$WORK/$name.conf minimum_uid=1 state_dir=$WORK/state
account  required pam_permit.so
session  required pam_permit.so
session  optional $MODULE config=$WORK/$name.conf minimum_uid=1 state_dir=$WORK/state
PAM
done

# What every stand-in shares: it reads the request line, answers honestly unless the request
# is the one it lies to. The honest exchange records the token_url it was sent.
cat >"$WORK/bin/stand-in-common.sh" <<'COMMON'
read -r first
request=$(cat)
field() { printf '%s %s\n%s\n' "$1" "$(printf %s "$2" | wc -c)" "$2"; }
ok() { printf 'POK/1 ok\n'; }
error() { printf 'POK/1 error\n'; }
end() { printf 'end\n'; }
command=${first#POK/1 }
if [ "$command" = "$LIE_TO" ]; then
    lie
    exit "$LIE_EXIT"
fi
case "$command" in
authorize) ok; field url "https://127.0.0.1:1/authorize?state=s123"; field verifier v123
    field state s123; end ;;
answer) ok; field code code123; end ;;
exchange) printf '%s\n' "$request" | awk '$1 == "token_url" { getline; print; exit }' >"$RECORD"
    ok; field message "tokens stored"; end ;;
session) ok; field outcome not-due; field message "still valid"; end ;;
esac
COMMON

stand_in() { # stand_in NAME REQUEST EXIT LIE-BODY: a helper that lies to REQUEST
    printf '#!/bin/sh\nLIE_TO=%s\nLIE_EXIT=%s\nRECORD=%s\nlie() { %s; }\n. %s\n' "$2" "$3" \
        "$WORK/record/$1" "$4" "$WORK/bin/stand-in-common.sh" >"$WORK/bin/$1"
    chmod 755 "$WORK/bin/$1"
}

# run_lie NAME SERVICE ANSWER-COMMAND EXPECTED-LOG-TEXT: one login through the real libpam.
run_lie() {
    local name=$1 service=$2 answer=$3 expected=$4 status
    local out="$WORK/out/$name.out" log="$WORK/out/$name.log"
    local answer_args=(--no-answer)
    [ -n "$answer" ] && answer_args=(--answer-command "$answer")
    driver_login "$name" --dir "$WORK/out" --service "pok-$service" --user "$TARGET" \
        --helper "$WORK/bin/$name" --stand-in --timeout 30 "${answer_args[@]}"
    status=$?
    [ "$status" -lt 128 ] ||
        fail "$name: the PAM application died (exit status $status: signal $((status - 128)))"
    grep -q "pam_open_session: Success" "$out" || fail "$name: the login did not go on: $(cat "$out")"
    grep -qF -- "$expected" "$log" || fail "$name: expected '$expected' in the log: $(cat "$log")"
    ! grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$log" "$out" ||
        fail "$name: a control byte reached the log or the screen"
    grep -Eq "^hygiene: children left 0, fds before ([0-9]+) after \1, sigchld handler preserved$" \
        "$out" || fail "$name: $(grep hygiene "$out")"
}

# lie NAME REQUEST EXIT LIE-BODY EXPECTED-LOG-TEXT: a reply the module must refuse unread.
lie() {
    local answer=""
    stand_in "$1" "$2" "$3" "$4"
    # The answer request needs an answer at the prompt, the exchange a kept code; the session
    # request comes when there is none.
    [ "$2" = answer ] || [ "$2" = exchange ] && answer="echo code123"
    run_lie "$1" generic "$answer" "$5"
    [ "$2" != exchange ] || ! grep -q "is now in your keyring" "$WORK/out/$1.out" ||
        fail "$1: the user was told the tokens are stored"
    LIES=$((LIES + 1))
}
LIES=0
ESC=$(printf '\033')

lie authorize-bare authorize 0 'ok; end' "the helper's reply to 'authorize' lacks 'url'"
lie authorize-no-url authorize 0 'ok; field verifier v; field state s; end' "lacks 'url'"
lie authorize-no-verifier authorize 0 'ok; field url https://x/a; field state s; end' \
    "the helper's reply to 'authorize' lacks 'verifier'"
lie authorize-no-state authorize 0 'ok; field url https://x/a; field verifier v; end' \
    "the helper's reply to 'authorize' lacks 'state'"
lie authorize-empty-url authorize 0 'ok; field url ""; field verifier v; field state s; end' \
    "the helper's reply to 'authorize' has an empty 'url'"
lie authorize-empty-verifier authorize 0 'ok; field url https://x/a; field verifier ""; field state s; end' \
    "has an empty 'verifier'"
lie authorize-empty-state authorize 0 'ok; field url https://x/a; field verifier v; field state ""; end' \
    "has an empty 'state'"
lie authorize-error-no-reason authorize 1 'error; field message "no reason"; end' \
    "the helper's reply to 'authorize' lacks 'reason'"

# The crash of finding 4: keep_for_session called strdup(NULL) for the missing code.
lie answer-bare answer 0 'ok; end' "the helper's reply to 'answer' lacks 'code'"
lie answer-empty-code answer 0 'ok; field code ""; end' "the helper's reply to 'answer' has an empty 'code'"
lie answer-empty-instance answer 0 'ok; field code c; field instance ""; end' "has an empty 'instance'"
lie answer-error-no-reason answer 1 'error; field message "no reason"; end' \
    "the helper's reply to 'answer' lacks 'reason'"
lie answer-error-empty-reason answer 1 'error; field reason ""; field message m; end' \
    "the helper's reply to 'answer' has an empty 'reason'"

lie exchange-bare exchange 0 'ok; end' "the helper's reply to 'exchange' lacks 'message'"
lie exchange-empty-message exchange 0 'ok; field message ""; end' "has an empty 'message'"
lie exchange-outcome-escape exchange 0 "ok; field outcome 'deferred${ESC}[2J'; field message m; end" \
    "the helper's reply to 'exchange' has an unknown outcome"
lie exchange-outcome-unknown exchange 0 'ok; field outcome stored; field message m; end' \
    "the helper's reply to 'exchange' has an unknown outcome"
lie exchange-error-no-reason exchange 1 'error; field message "no reason"; end' \
    "the helper's reply to 'exchange' lacks 'reason'"

lie session-bare session 0 'ok; end' "the helper's reply to 'session' lacks 'outcome'"
lie session-no-message session 0 'ok; field outcome not-due; end' \
    "the helper's reply to 'session' lacks 'message'"
lie session-no-outcome session 0 'ok; field message m; end' "the helper's reply to 'session' lacks 'outcome'"
lie session-empty-outcome session 0 'ok; field outcome ""; field message m; end' \
    "the helper's reply to 'session' has an empty 'outcome'"
lie session-empty-message session 0 'ok; field outcome not-due; field message ""; end' \
    "the helper's reply to 'session' has an empty 'message'"
lie session-outcome-escape session 0 "ok; field outcome '${ESC}]0;owned'; field message m; end" \
    "the helper's reply to 'session' has an unknown outcome"
lie session-outcome-unknown session 0 'ok; field outcome pwned; field message m; end' \
    "the helper's reply to 'session' has an unknown outcome"
lie session-error-no-reason session 1 'error; field message "no reason"; end' \
    "the helper's reply to 'session' lacks 'reason'"
# The login state file is the module's, written from refresh_expires_at (issue 10, finding 8):
# digits only, in an "ok" to exchange or session. A lie about it is refused and the file stays.
state_file="$WORK/state/$(id -u "$TARGET")-stand-in"
printf 'refresh_expires_at=7\nauthorization_needed=0\n' >"$state_file"
lie exchange-expiry-negative exchange 0 'ok; field message m; field refresh_expires_at -1; end' \
    "the helper's reply to 'exchange' has a refresh_expires_at that is not Unix seconds"
lie session-expiry-text session 0 'ok; field outcome not-due; field message m; field refresh_expires_at 1e9; end' \
    "the helper's reply to 'session' has a refresh_expires_at that is not Unix seconds"
lie session-expiry-long session 0 \
    'ok; field outcome not-due; field message m; field refresh_expires_at 1234567890123456789; end' \
    "the helper's reply to 'session' has a refresh_expires_at that is not Unix seconds"
lie session-expiry-in-error session 1 \
    'error; field reason authorization-needed; field message m; field refresh_expires_at 5; end' \
    "the helper's reply to 'session' carries an unexpected 'refresh_expires_at'"
[ "$(cat "$state_file")" = "$(printf 'refresh_expires_at=7\nauthorization_needed=0')" ] ||
    fail "a refused reply changed the login state file: $(cat "$state_file")"
note "$LIES lying replies refused, each logged by its field; the PAM application lived on"

# --- Finding 5: where the code goes is the module's choice ----------------------------------
# instance SERVICE INSTANCE EXPECTED-TOKEN-URL|refused EXPECTED-LOG-TEXT
INSTANCES=0
instance() {
    local name="instance-$((INSTANCES += 1))" body='ok; field code code123; end'
    [ -n "$2" ] && body="ok; field code code123; field instance '$2'; end"
    stand_in "$name" answer 0 "$body"
    run_lie "$name" "$1" "echo code123" "$4"
    if [ "$3" = refused ]; then
        [ ! -e "$WORK/record/$name" ] || fail "$name: the code went to $(cat "$WORK/record/$name")"
        grep -qF -- "[error] $4" "$WORK/out/$name.out" || fail "$name: the user was not told: $(cat "$WORK/out/$name.out")"
    else
        [ "$(cat "$WORK/record/$name" 2>/dev/null)" = "$3" ] ||
            fail "$name: $1 with instance '$2': exchange sent token_url '$(cat "$WORK/record/$name" 2>/dev/null)', expected '$3'"
    fi
    note "$1, instance '$2': $(if [ "$3" = refused ]; then echo "refused"; else echo "code sent to $3"; fi)"
}
NOT_ALLOWED="That address names a Snyk instance that is not allowed."
instance generic "" https://127.0.0.1:1/token "tokens stored in the keyring"
instance generic evil.example https://127.0.0.1:1/token "tokens stored in the keyring"
instance generic api.eu.snyk.io https://127.0.0.1:1/token "tokens stored in the keyring"
instance snyk "" https://api.snyk.io/oauth2/token "tokens stored in the keyring"
instance snyk api.eu.snyk.io https://api.eu.snyk.io/oauth2/token "tokens stored in the keyring"
instance snyk HTTPS://API.AU.SNYK.IO/ https://api.au.snyk.io/oauth2/token "tokens stored in the keyring"
instance snyk evil.example refused "$NOT_ALLOWED"
instance snyk api.evil.snyk.io.example.com refused "$NOT_ALLOWED"
instance snyk https://evil.example/oauth2/token refused "$NOT_ALLOWED"
instance snyk 'api.snyk.io@evil.example' refused "$NOT_ALLOWED"
instance snyk-explicit api.eu.snyk.io refused \
    "That address names the Snyk instance api.eu.snyk.io, but the configured token_url is on 127.0.0.1; the code was not kept."
instance snyk-explicit evil.example refused "$NOT_ALLOWED"
instance snyk-eu API.EU.SNYK.IO https://api.eu.snyk.io/oauth2/token "tokens stored in the keyring"
instance snyk-eu api.snyk.io refused \
    "That address names the Snyk instance api.snyk.io, but the configured token_url is on api.eu.snyk.io"

# The reply of the old protocol, a token URL of the helper's choosing, is refused outright.
stand_in answer-token-url answer 0 'ok; field code code123; field token_url https://evil.example/steal; end'
run_lie answer-token-url snyk "echo code123" "the helper's reply to 'answer' carries an unexpected 'token_url'"
[ ! -e "$WORK/record/answer-token-url" ] ||
    fail "answer-token-url: the code went to $(cat "$WORK/record/answer-token-url")"
note "a reply naming its own token_url was refused; nothing was sent"
pass "$LIES lying replies and $INSTANCES instance= answers: no crash, each refusal logged, the code only ever went to the configured or module-derived token URL"
