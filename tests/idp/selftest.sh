#!/bin/bash
# selftest.sh - quick self-check of the test IdP tooling:
#   tests/idp/make-ca.sh, tests/idp/idp.py and tests/browser.py
#
# Builds a throwaway PKI, starts the IdP (confidential client) on an
# ephemeral port and drives full authorization-code + PKCE flows with
# browser.py and curl. Exit 0 and "idp selftest: ok" on success; on failure,
# exit 1 with the reason and the tail of the IdP log (which holds no secrets).
# The IdP is always stopped and the temporary directory removed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
browser="$here/../browser.py"
py=/usr/bin/python3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/idp-selftest.XXXXXX")
pki="$tmp/pki"
idp_pid=""
idp_status=""

# stop_idp: SIGTERM, bounded wait (5 s), then SIGKILL; sets idp_status.
stop_idp() {
    [ -n "$idp_pid" ] || return 0
    kill -TERM "$idp_pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$idp_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$idp_pid" 2>/dev/null || true
    idp_status=0
    wait "$idp_pid" 2>/dev/null || idp_status=$?
    idp_pid=""
}

cleanup() {
    stop_idp
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "idp selftest: FAIL: $*" >&2
    if [ -s "$tmp/idp.log" ]; then
        echo "--- last lines of the IdP log:" >&2
        tail -n 20 "$tmp/idp.log" >&2
    fi
    exit 1
}

# jget FILE KEY[.KEY...]: one value from a JSON file (strings unquoted).
jget() {
    "$py" - "$1" "$2" <<'EOF'
import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2].split("."):
    value = value[int(key)] if isinstance(value, list) else value[key]
print(value if isinstance(value, str) else json.dumps(value))
EOF
}

# qget URL NAME: a decoded query parameter of URL (empty if absent).
qget() {
    "$py" -c '
import sys, urllib.parse
query = urllib.parse.urlsplit(sys.argv[1]).query
print(urllib.parse.parse_qs(query).get(sys.argv[2], [""])[0])' "$1" "$2"
}

# Expected /stats counters, kept up to date by the helpers below.
n_authorize=0 n_token=0 n_token_ac=0 n_token_rt=0 n_revoke=0 n_userinfo=0
n_device=0 n_device_poll=0

# http OUT PATH [CURL ARGS...]: request to the IdP; the body goes to
# $tmp/OUT, the headers to $tmp/OUT.hdr and the HTTP status to $status.
http() {
    local out=$1 path=$2
    shift 2
    case $path in
    /token) n_token=$((n_token + 1)) ;;
    /device | /realms/test/device) n_device=$((n_device + 1)) ;;
    /revoke) n_revoke=$((n_revoke + 1)) ;;
    /userinfo) n_userinfo=$((n_userinfo + 1)) ;;
    esac
    status=$(curl -sS --cacert "$pki/ca.pem" --max-time 10 \
        -o "$tmp/$out" -D "$tmp/$out.hdr" -w '%{http_code}' "$@" "$base$path") ||
        fail "curl $path failed"
}

# expect WHAT WANT GOT
expect() {
    [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# expect_error OUT STATUS ERROR: last response was an OAuth error.
expect_error() {
    expect "$1 status" "$2" "$status"
    expect "$1 error" "$3" "$(jget "$tmp/$1" error)"
}

# new_pkce: fresh verifier/challenge pair. The challenge is computed with
# openssl, independently of idp.py's own implementation.
new_pkce() {
    verifier=$("$py" -c 'import secrets; print(secrets.token_urlsafe(48))')
    challenge=$(printf %s "$verifier" | openssl dgst -sha256 -binary |
        openssl base64 -A | tr '+/' '-_' | tr -d '=')
}

# login MODE [REDIRECT_URI]: new PKCE pair and state, then browser.py reads
# a PAM-style prompt holding the authorization URL; its answer goes to
# $answer, its exit status to $browser_rc.
login() {
    local mode=$1 ruri=${2:-$redirect_uri}
    new_pkce
    state="st ate/+$RANDOM"
    auth_url="$base/authorize?response_type=code&client_id=$client_id"
    auth_url+="&redirect_uri=$(urlenc "$ruri")&state=$(urlenc "$state")"
    auth_url+="&code_challenge=$challenge&code_challenge_method=S256"
    auth_url+="&scope=$(urlenc "$scope")"
    case $mode in empty | no-fetch-garbage) ;; *) n_authorize=$((n_authorize + 1)) ;; esac
    browser_rc=0
    printf 'Sign in to continue:\n\n  %s\n\nThen paste the address you were sent to:\n' \
        "$auth_url" |
        "$py" "$browser" --ca "$pki/ca.pem" --mode "$mode" >"$tmp/answer" \
            2>"$tmp/browser.err" || browser_rc=$?
    answer=$(cat "$tmp/answer")
}

urlenc() {
    "$py" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}

# exchange OUT CODE VERIFIER [SECRET]
exchange() {
    n_token_ac=$((n_token_ac + 1))
    http "$1" /token --data-urlencode grant_type=authorization_code \
        --data-urlencode "code=$2" --data-urlencode "redirect_uri=$redirect_uri" \
        --data-urlencode "client_id=$client_id" --data-urlencode "code_verifier=$3" \
        --data-urlencode "client_secret=${4-$secret}"
}

# refresh OUT REFRESH_TOKEN
refresh() {
    n_token_rt=$((n_token_rt + 1))
    http "$1" /token --data-urlencode grant_type=refresh_token \
        --data-urlencode "refresh_token=$2" --data-urlencode "client_id=$client_id" \
        --data-urlencode "client_secret=$secret"
}

# control OUT JSON: sets IdP knobs.
control() {
    http "$1" /control -H 'Content-Type: application/json' -d "$2"
    expect "control $2" 200 "$status"
}

# device_start OUT [CURL ARGS...]: a device authorization request (RFC 8628 3.1) as the
# client (client_secret_post); sets $device_code and $user_code from a 200 answer.
device_start() {
    local out=$1
    shift
    http "$out" /device --data-urlencode "client_id=$client_id" \
        --data-urlencode "client_secret=$secret" --data-urlencode "scope=$scope" "$@"
    device_code="" user_code=""
    if [ "$status" = 200 ]; then
        device_code=$(jget "$tmp/$out" device_code)
        user_code=$(jget "$tmp/$out" user_code)
    fi
}

# device_poll OUT DEVICE_CODE [SECRET]: one poll of the token endpoint (RFC 8628 3.4).
device_poll() {
    n_device_poll=$((n_device_poll + 1))
    http "$1" /token --data-urlencode grant_type=urn:ietf:params:oauth:grant-type:device_code \
        --data-urlencode "device_code=$2" --data-urlencode "client_id=$client_id" \
        --data-urlencode "client_secret=${3-$secret}"
}

# device_decide OUT USER_CODE DECISION [CURL ARGS...]: the user's answer on the verification
# page, as the default account unless a cookie says otherwise.
device_decide() {
    local out=$1 code=$2 decision=$3
    shift 3
    http "$out" /device/verify --data-urlencode "user_code=$code" \
        --data-urlencode "decision=$decision" "$@"
}

# device_answers USER_CODE: the IdP's answers to that code's polls, in order, from the last
# $tmp/stats.
device_answers() {
    "$py" - "$tmp/stats" "$1" <<'EOF'
import json, sys
polls = json.load(open(sys.argv[1]))["device_polls"]
print(" ".join(p["answer"] for p in polls if p["user_code"] == sys.argv[2]))
EOF
}

# device_last_gap USER_CODE: seconds between that code's last two polls, from $tmp/stats.
device_last_gap() {
    "$py" - "$tmp/stats" "$1" <<'EOF'
import json, sys
polls = json.load(open(sys.argv[1]))["device_polls"]
times = [p["t"] for p in polls if p["user_code"] == sys.argv[2]]
print(f"{times[-1] - times[-2]:.3f}")
EOF
}

# at_least A B: A >= B, for decimal numbers.
at_least() { "$py" -c 'import sys; sys.exit(float(sys.argv[1]) < float(sys.argv[2]))' "$1" "$2"; }

# has_key FILE KEY: the JSON object in FILE has KEY.
has_key() {
    "$py" -c 'import json, sys; sys.exit(sys.argv[2] not in json.load(open(sys.argv[1])))' "$1" "$2"
}

# now_ns: the wall clock in nanoseconds; sleep_until NS: sleeps until the wall clock is NS.
now_ns() { date +%s%N; }
sleep_until() {
    local left=$(($1 - $(now_ns)))
    [ "$left" -le 0 ] || sleep "$((left / 1000000000)).$(printf %09d $((left % 1000000000)))"
}

# userinfo OUT TOKEN [SCHEME]
userinfo() {
    http "$1" /userinfo -H "Authorization: ${3:-Bearer} $2"
}

# ---------------------------------------------------------------------------
# PKI

"$here/make-ca.sh" "$pki" || fail "make-ca.sh failed"
for f in ca other-ca server wrong-host; do
    [ -s "$pki/$f.pem" ] || fail "make-ca.sh: $f.pem missing"
    [ -s "$pki/$f.key" ] || fail "make-ca.sh: $f.key missing"
    expect "mode of $f.key" 600 "$(stat -c %a "$pki/$f.key")"
    expect "mode of $f.pem" 644 "$(stat -c %a "$pki/$f.pem")"
done
openssl verify -CAfile "$pki/ca.pem" -verify_ip 127.0.0.1 -purpose sslserver \
    "$pki/server.pem" >/dev/null 2>&1 || fail "server.pem does not verify for 127.0.0.1"
openssl verify -CAfile "$pki/ca.pem" -verify_hostname localhost \
    "$pki/server.pem" >/dev/null 2>&1 || fail "server.pem does not verify for localhost"
openssl verify -CAfile "$pki/other-ca.pem" "$pki/server.pem" >/dev/null 2>&1 &&
    fail "server.pem verifies against other-ca.pem"
openssl verify -CAfile "$pki/ca.pem" -verify_hostname localhost \
    "$pki/wrong-host.pem" >/dev/null 2>&1 && fail "wrong-host.pem verifies for localhost"
openssl verify -CAfile "$pki/ca.pem" -verify_hostname wrong.example \
    "$pki/wrong-host.pem" >/dev/null 2>&1 || fail "wrong-host.pem does not verify for wrong.example"

# ---------------------------------------------------------------------------
# Start the IdP

client_id=selftest-client
secret=$("$py" -c 'import secrets; print(secrets.token_urlsafe(24))')
# Carries a query already, to check that the reply is appended with "&".
redirect_uri="http://127.0.0.1:9/callback?from=selftest"
scope="org.read offline"

"$py" "$here/idp.py" --cert "$pki/server.pem" --key "$pki/server.key" \
    --port-file "$tmp/port" --client-id "$client_id" \
    --redirect-uri "$redirect_uri" --client-secret="$secret" \
    2>"$tmp/idp.log" &
idp_pid=$!

for _ in $(seq 100); do
    [ -s "$tmp/port" ] && break
    kill -0 "$idp_pid" 2>/dev/null || fail "idp.py exited during startup"
    sleep 0.1
done
[ -s "$tmp/port" ] || fail "idp.py did not write its port file within 10 s"
port=$(cat "$tmp/port")
[[ $port =~ ^[0-9]+$ ]] || fail "port file holds '$port'"
base="https://127.0.0.1:$port"

# Only the test CA is trusted.
curl -sS --cacert "$pki/other-ca.pem" --max-time 10 -o /dev/null "$base/stats" \
    2>/dev/null && fail "IdP certificate accepted with other-ca.pem"

# ---------------------------------------------------------------------------
# Flow 1: authorize, exchange, userinfo, refresh, refresh-token reuse

login url
expect "browser.py (url) exit status" 0 "$browser_rc"
case $answer in
"$redirect_uri&code="*) ;;
*) fail "redirect does not start with '$redirect_uri&code=': $(qget "$answer" error)" ;;
esac
expect "state echoed" "$state" "$(qget "$answer" state)"
expect "iss" "$base" "$(qget "$answer" iss)"
code=$(qget "$answer" code)
[ "${#code}" -ge 43 ] || fail "code is too short"

printf 'x %s y\n' "$auth_url" | "$py" "$browser" --print-url-only >"$tmp/url" ||
    fail "browser.py --print-url-only failed"
expect "browser.py --print-url-only" "$auth_url" "$(cat "$tmp/url")"

exchange tok1 "$code" "$verifier"
expect "code exchange status" 200 "$status"
grep -qi '^cache-control: no-store' "$tmp/tok1.hdr" || fail "token response lacks Cache-Control: no-store"
grep -qi '^content-type: application/json; charset=utf-8' "$tmp/tok1.hdr" ||
    fail "token response has the wrong Content-Type"
expect "token_type" bearer "$(jget "$tmp/tok1" token_type)"
expect "expires_in" 3600 "$(jget "$tmp/tok1" expires_in)"
expect "refresh_expires_in" 15552000 "$(jget "$tmp/tok1" refresh_expires_in)"
expect "scope" "$scope" "$(jget "$tmp/tok1" scope)"
expect "bot_id" test-bot "$(jget "$tmp/tok1" bot_id)"
access1=$(jget "$tmp/tok1" access_token)
refresh1=$(jget "$tmp/tok1" refresh_token)

http stats /stats
expect "last_token_request_fields" \
    '["client_id", "client_secret", "code", "code_verifier", "grant_type", "redirect_uri"]' \
    "$(jget "$tmp/stats" last_token_request_fields)"

userinfo ui1 "$access1"
expect "userinfo status" 200 "$status"
expect "userinfo sub" test-user "$(jget "$tmp/ui1" sub)"
userinfo ui1b "$access1" bearer
expect "userinfo with lower-case scheme" 200 "$status"
userinfo ui1c "not-a-token"
expect_error ui1c 401 invalid_token

refresh tok2 "$refresh1"
expect "refresh status" 200 "$status"
access2=$(jget "$tmp/tok2" access_token)
refresh2=$(jget "$tmp/tok2" refresh_token)
[ "$access2" != "$access1" ] || fail "refresh did not rotate the access token"
[ "$refresh2" != "$refresh1" ] || fail "refresh did not rotate the refresh token"
userinfo ui2 "$access2"
expect "userinfo with refreshed token" 200 "$status"
userinfo ui1d "$access1"
expect "userinfo with the access token replaced by refresh" 401 "$status"
refresh tok1r "$refresh1"
expect_error tok1r 400 invalid_grant
# RFC 9700: reusing a rotated refresh token also kills the newest pair.
userinfo ui2b "$access2"
expect "userinfo after refresh-token reuse" 401 "$status"
refresh tok2r "$refresh2"
expect_error tok2r 400 invalid_grant

# ---------------------------------------------------------------------------
# Flow 2: code reuse revokes what the code produced (bare-code mode)

login bare-code
expect "browser.py (bare-code) exit status" 0 "$browser_rc"
code2=$answer
exchange tok3 "$code2" "$verifier"
expect "code exchange (flow 2)" 200 "$status"
access3=$(jget "$tmp/tok3" access_token)
exchange tok3r "$code2" "$verifier"
expect_error tok3r 400 invalid_grant
userinfo ui3 "$access3"
expect "userinfo after code reuse" 401 "$status"

# ---------------------------------------------------------------------------
# Flow 3: wrong verifier (and the code is burned by the attempt)

login bare-code
code3=$answer
good_verifier=$verifier
new_pkce
exchange tok4 "$code3" "$verifier"
expect_error tok4 400 invalid_grant
exchange tok4b "$code3" "$good_verifier"
expect_error tok4b 400 invalid_grant

# ---------------------------------------------------------------------------
# Flow 4: client authentication, HTTP Basic, revocation

login bare-code
code4=$answer
exchange tok5 "$code4" "$verifier" "wrong-$secret"
expect_error tok5 401 invalid_client
exchange tok5b "$code4" "$verifier" ""
expect_error tok5b 401 invalid_client
# client_secret_basic instead of client_secret_post
n_token_ac=$((n_token_ac + 1))
http tok5c /token -u "$client_id:$secret" --data-urlencode grant_type=authorization_code \
    --data-urlencode "code=$code4" --data-urlencode "redirect_uri=$redirect_uri" \
    --data-urlencode "code_verifier=$verifier"
expect "code exchange with HTTP Basic" 200 "$status"
http stats /stats
expect "last_token_client_auth" basic "$(jget "$tmp/stats" last_token_client_auth)"
access5=$(jget "$tmp/tok5c" access_token)
refresh5=$(jget "$tmp/tok5c" refresh_token)

http rev1 /revoke --data-urlencode "token=$refresh5" \
    --data-urlencode "client_id=$client_id" --data-urlencode "client_secret=$secret"
expect "revoke status" 200 "$status"
expect "revoke body" '{}' "$(cat "$tmp/rev1")"
userinfo ui5 "$access5"
expect "userinfo after revoking its refresh token" 401 "$status"
refresh tok5r "$refresh5"
expect_error tok5r 400 invalid_grant
http rev2 /revoke --data-urlencode "token=unknown" \
    --data-urlencode "client_id=$client_id" --data-urlencode "client_secret=$secret"
expect "revoke of an unknown token" 200 "$status"
http rev3 /revoke --data-urlencode "token=unknown" \
    --data-urlencode "client_id=$client_id" --data-urlencode "client_secret=bad"
expect_error rev3 401 invalid_client

# ---------------------------------------------------------------------------
# Malformed token requests

n_token_ac=$((n_token_ac + 1))
http dup /token --data-urlencode grant_type=authorization_code \
    --data-urlencode code=a --data-urlencode code=b
expect_error dup 400 invalid_request
http json /token -H 'Content-Type: application/json' -d '{"grant_type":"refresh_token"}'
expect_error json 400 invalid_request
http ugt /token --data-urlencode grant_type=password \
    --data-urlencode "client_id=$client_id" --data-urlencode "client_secret=$secret"
expect_error ugt 400 unsupported_grant_type

# ---------------------------------------------------------------------------
# Other browser.py modes and authorization errors

login tamper-code
expect "browser.py (tamper-code) exit status" 0 "$browser_rc"
tampered=$(qget "$answer" code)
[ "${#tampered}" -ge 43 ] || fail "tamper-code: no code"
expect "tamper-code state" "$state" "$(qget "$answer" state)"
exchange tok6 "$tampered" "$verifier"
expect_error tok6 400 invalid_grant

login wrong-state
expect "browser.py (wrong-state) exit status" 0 "$browser_rc"
[ -n "$(qget "$answer" code)" ] || fail "wrong-state: no code"
[ "$(qget "$answer" state)" != "$state" ] || fail "wrong-state kept the state"

login empty
expect "browser.py (empty) exit status" 0 "$browser_rc"
expect "browser.py (empty) output" "" "$answer"
expect "browser.py (empty) output bytes" 1 "$(wc -c <"$tmp/answer")"

login no-fetch-garbage
expect "browser.py (no-fetch-garbage)" "not a code$(printf '\001')" "$answer"

login url "http://127.0.0.1:9/not-registered"
[ "$browser_rc" -ne 0 ] || fail "browser.py succeeded although redirect_uri is not registered"
grep -q 'HTTP 400' "$tmp/browser.err" || fail "browser.py did not report the IdP's 400"

echo "nothing to see here" | "$py" "$browser" --ca "$pki/ca.pem" >/dev/null 2>&1 &&
    fail "browser.py succeeded without a URL"

http ctl0 /control -H 'Content-Type: application/json' -d '{"authorize_error":"access_denied"}'
expect "control status" 200 "$status"
login url
expect "authorize_error" access_denied "$(qget "$answer" error)"
expect "authorize_error description" "User denied access" "$(qget "$answer" error_description)"
expect "authorize_error state" "$state" "$(qget "$answer" state)"
login url
[ -n "$(qget "$answer" code)" ] || fail "authorize_error knob did not reset after one use"

# ---------------------------------------------------------------------------
# Fault injection: invalid_json for exactly one token request

http ctl1 /control -H 'Content-Type: application/json' -d '{"fault":"invalid_json","fault_count":1}'
expect "control status" 200 "$status"
expect "control echo" invalid_json "$(jget "$tmp/ctl1" fault)"
refresh f1 "bogus-refresh-token"
expect "invalid_json fault status" 200 "$status"
"$py" -c 'import json, sys; json.load(open(sys.argv[1]))' "$tmp/f1" 2>/dev/null &&
    fail "invalid_json fault returned valid JSON"
refresh f2 "bogus-refresh-token"
expect_error f2 400 invalid_grant

# ---------------------------------------------------------------------------
# Device authorization grant (RFC 8628): the answer's shape, at both issuers

code_re='^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$'
n_early=0 # polls sooner than their code's interval after its previous one

device_start dev1
expect "device authorization status" 200 "$status"
grep -qi '^content-type: application/json; charset=utf-8' "$tmp/dev1.hdr" ||
    fail "device authorization answer has the wrong Content-Type"
grep -qi '^cache-control: no-store' "$tmp/dev1.hdr" || fail "device answer lacks no-store"
[[ $device_code =~ ^[A-Za-z0-9_-]{43}$ ]] || fail "device_code is not 32 bytes of base64url"
[[ $user_code =~ $code_re ]] || fail "user_code '$user_code' is not XXXX-XXXX of the alphabet"
expect "verification_uri" "$base/device/verify" "$(jget "$tmp/dev1" verification_uri)"
expect "verification_uri_complete" "$base/device/verify?user_code=$user_code" \
    "$(jget "$tmp/dev1" verification_uri_complete)"
expect "expires_in" 600 "$(jget "$tmp/dev1" expires_in)"
expect "interval" 5 "$(jget "$tmp/dev1" interval)"
fields='["device_code", "expires_in", "interval", "user_code", "verification_uri",'
fields+=' "verification_uri_complete"]'
expect "device answer fields" "$fields" \
    "$("$py" -c 'import json, sys; print(json.dumps(sorted(json.load(open(sys.argv[1])))))' \
        "$tmp/dev1")"
http stats /stats
expect "issued device code" "$device_code" "$(jget "$tmp/stats" issued.device_codes.0)"
expect "issued user code" "$user_code" "$(jget "$tmp/stats" issued.user_codes.0)"
http md /.well-known/openid-configuration
grep -q '"urn:ietf:params:oauth:grant-type:device_code"' "$tmp/md" ||
    fail "metadata does not list the device grant type"

http devr /realms/test/device --data-urlencode "client_id=$client_id" \
    --data-urlencode "client_secret=$secret"
expect "device authorization at the realm" 200 "$status"
expect "verification_uri at the realm" "$base/realms/test/device/verify" \
    "$(jget "$tmp/devr" verification_uri)"

# Without interval in the answer the client must wait 5 s (3.2), and is held to that.
control ctl3 '{"device_interval": null}'
device_start dev2
expect "device authorization without interval" 200 "$status"
has_key "$tmp/dev2" interval && fail "interval is in the answer although the knob is null"
device_poll p2a "$device_code"
expect_error p2a 400 authorization_pending
device_poll p2b "$device_code"
n_early=$((n_early + 1))
expect_error p2b 400 slow_down

# The page a user opens, prefilled from verification_uri_complete.
http page "/device/verify?user_code=$user_code"
expect "verification page status" 200 "$status"
grep -qi '^content-type: text/html' "$tmp/page.hdr" || fail "verification page is not HTML"
grep -q "value=\"$user_code\"" "$tmp/page" || fail "verification page lacks the user code"
grep -q 'value="approve"' "$tmp/page" || fail "verification page lacks Approve"
grep -q 'value="deny"' "$tmp/page" || fail "verification page lacks Deny"

# ---------------------------------------------------------------------------
# Device grant: pending, approved (as another account, the code typed loosely), tokens once

control ctl4 '{"device_interval": 1}'
device_start dev3
expect "interval from the knob" 1 "$(jget "$tmp/dev3" interval)"
device_poll p3a "$device_code"
expect_error p3a 400 authorization_pending
typed=$(echo "${user_code//-/}" | tr '[:upper:]' '[:lower:]')
device_decide dec3 "$typed" approve -b test_idp_account=device-user
expect "approve with the code in lower case, no dash" 200 "$status"
sleep 1 # the code's interval
device_poll p3b "$device_code"
expect "tokens once approved" 200 "$status"
# Used up: no second pair, even for a poll too early (slow_down never hides a used code).
device_poll p3c "$device_code"
n_early=$((n_early + 1))
expect_error p3c 400 invalid_grant
expect "device grant token_type" bearer "$(jget "$tmp/p3b" token_type)"
expect "device grant expires_in" 3600 "$(jget "$tmp/p3b" expires_in)"
expect "device grant scope" "$scope" "$(jget "$tmp/p3b" scope)"
access_d=$(jget "$tmp/p3b" access_token)
refresh_d=$(jget "$tmp/p3b" refresh_token)
userinfo uid "$access_d"
expect "device tokens belong to the approving account" device-user "$(jget "$tmp/uid" sub)"
refresh tokd "$refresh_d"
expect "refresh of a device grant's token" 200 "$status"
refresh_d=$(jget "$tmp/tokd" refresh_token)
device_decide dec3b "$user_code" deny
expect "deciding a used code" 400 "$status"
http stats /stats
expect "answers for $user_code" "authorization_pending tokens invalid_grant" \
    "$(device_answers "$user_code")"

# ---------------------------------------------------------------------------
# Device grant: denied, unknown codes, expiry

device_start dev4
device_decide dec4 "$user_code" deny
expect "deny status" 200 "$status"
device_poll p4 "$device_code"
expect_error p4 400 access_denied
device_decide dec4b "$user_code" approve
expect "approving a denied code" 400 "$status"

device_poll p5 "not-a-device-code"
expect_error p5 400 invalid_grant
device_decide dec5 "BBBB-BBBB" approve
expect "deciding an unknown code" 400 "$status"
device_decide dec5b "$user_code" maybe
expect "an unknown decision" 400 "$status"

control ctl5 '{"device_ttl": 1}'
device_start dev6
expect "expires_in from the knob" 1 "$(jget "$tmp/dev6" expires_in)"
control ctl6 '{"device_ttl": null}'
deadline=$(($(date +%s) + 10))
while :; do
    device_poll p6 "$device_code"
    expect "poll status before and after expiry" 400 "$status"
    [ "$(jget "$tmp/p6" error)" = expired_token ] && break
    expect "answer before expiry" authorization_pending "$(jget "$tmp/p6" error)"
    [ "$(date +%s)" -lt "$deadline" ] || fail "the device code did not expire within 10 s"
    sleep 1 # the code's interval
done
device_decide dec6 "$user_code" approve
expect "approving an expired code" 400 "$status"

# ---------------------------------------------------------------------------
# Device grant: slow_down for an early poll, and for good (+5 s each time)

device_start dev7
device_poll p7a "$device_code"
expect_error p7a 400 authorization_pending
device_poll p7b "$device_code"
n_early=$((n_early + 1))
expect_error p7b 400 slow_down
sleep 1.2 # past the original interval, short of the grown one (6 s)
device_poll p7c "$device_code"
n_early=$((n_early + 1))
expect_error p7c 400 slow_down
http stats /stats
expect "answers for $user_code" "authorization_pending slow_down slow_down" \
    "$(device_answers "$user_code")"
at_least "$(device_last_gap "$user_code")" 1 || fail "the last gap was under 1 s"

# device_slow_down_polls: each code's first poll gets slow_down whatever its timing; the
# next, once the grown interval (1 + 5 s) has passed, gets its true answer.
control ctl7 '{"device_slow_down_polls": 1}'
device_start dev8
device8=$device_code user8=$user_code
device_decide dec8 "$user8" approve
device_poll p8a "$device8"
polled=$(now_ns)
expect_error p8a 400 slow_down
device_start dev9
device_poll p9 "$device_code"
expect_error p9 400 slow_down
sleep_until $((polled + 6000000000))
device_poll p8b "$device8"
expect "tokens after the knob's slow_down" 200 "$status"
control ctl8 '{"device_slow_down_polls": 0}'
http stats /stats
expect "answers for $user8" "slow_down tokens" "$(device_answers "$user8")"
at_least "$(device_last_gap "$user8")" 6 || fail "the last gap was under the grown interval"
refresh_d8=$(jget "$tmp/p8b" refresh_token)

# ---------------------------------------------------------------------------
# Device grant: client authentication at both endpoints, and the device endpoint's faults

http dev10 /device --data-urlencode "client_id=$client_id" \
    --data-urlencode "client_secret=wrong-$secret"
expect_error dev10 401 invalid_client
http dev11 /device --data-urlencode "client_id=$client_id"
expect_error dev11 401 invalid_client
http dev12 /device --data-urlencode client_id=other-client --data-urlencode "client_secret=$secret"
expect_error dev12 401 invalid_client
http dev13 /device -u "$client_id:$secret" --data-urlencode "scope=$scope"
expect "device authorization with HTTP Basic" 200 "$status"
# Refused before the grant is looked at, so not among device_polls.
device_poll p13 "$(jget "$tmp/dev13" device_code)" "wrong-$secret"
expect_error p13 401 invalid_client

control ctl9 '{"device_fault": "http429", "device_fault_count": 1}'
device_start f3
expect "device_fault http429" 429 "$status"
grep -qi '^retry-after: 5' "$tmp/f3.hdr" || fail "device_fault http429 lacks Retry-After: 5"
device_start f4
expect "device authorization once the counted fault is spent" 200 "$status"
control ctl10 '{"device_fault": "blackhole"}'
n_device=$((n_device + 1))
curl -sS --cacert "$pki/ca.pem" --max-time 2 -o /dev/null "$base/device" \
    --data-urlencode "client_id=$client_id" --data-urlencode "client_secret=$secret" \
    2>/dev/null && fail "the black-holed device endpoint answered"
control ctl11 '{"device_fault": null}'
http ctl12 /control -H 'Content-Type: application/json' -d '{"device_fault": "no_access_token"}'
expect "a token-only fault for the device endpoint" 400 "$status"

# The device grants' tokens die, as every other's here (live_* below).
for token in "$refresh_d" "$refresh_d8"; do
    http revd /revoke --data-urlencode "token=$token" \
        --data-urlencode "client_id=$client_id" --data-urlencode "client_secret=$secret"
    expect "revoke of a device grant's token" 200 "$status"
done

http stats /stats
expect "stats device_authorization" "$n_device" "$(jget "$tmp/stats" requests.device_authorization)"
expect "stats device_poll" "$n_device_poll" "$(jget "$tmp/stats" requests.device_poll)"
expect "stats device_polls" $((n_device_poll - 1)) \
    "$("$py" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["device_polls"]))' \
        "$tmp/stats")"
expect "stats device_early_polls" "$n_early" "$(jget "$tmp/stats" device_early_polls)"

# ---------------------------------------------------------------------------
# Counters, then a search of the IdP log for leaked secrets

http stats /stats
expect "stats authorize" "$n_authorize" "$(jget "$tmp/stats" requests.authorize)"
expect "stats token" "$n_token" "$(jget "$tmp/stats" requests.token)"
expect "stats token_authorization_code" "$n_token_ac" \
    "$(jget "$tmp/stats" requests.token_authorization_code)"
expect "stats token_refresh_token" "$n_token_rt" "$(jget "$tmp/stats" requests.token_refresh_token)"
expect "stats revoke" "$n_revoke" "$(jget "$tmp/stats" requests.revoke)"
expect "stats userinfo" "$n_userinfo" "$(jget "$tmp/stats" requests.userinfo)"
expect "stats refresh_reuse" 1 "$(jget "$tmp/stats" refresh_reuse)"
expect "stats client_secret" "$secret" "$(jget "$tmp/stats" client_secret)"
expect "stats live_access_tokens" 0 "$(jget "$tmp/stats" live_access_tokens)"
expect "stats live_refresh_tokens" 0 "$(jget "$tmp/stats" live_refresh_tokens)"

"$py" - "$tmp/stats" "$tmp/idp.log" <<'EOF' || fail "secret found in the IdP log"
import json, sys
stats = json.load(open(sys.argv[1]))
log = open(sys.argv[2]).read()
issued = stats["issued"]
secrets = (issued["codes"] + issued["access_tokens"] + issued["refresh_tokens"]
           + issued["device_codes"] + issued["user_codes"]
           + stats["verifiers_seen"] + [stats["client_secret"]])
sys.exit(1 if any(s in log for s in secrets) else 0)
EOF
# Nothing but one line per request (METHOD PATH STATUS, "-" for a black hole), the start
# line and the handshake failure caused by the other-ca.pem check above.
log_re='^((GET|POST) /[a-z/.-]* ([0-9]{3}|-)|idp: listening on https://127\.0\.0\.1:[0-9]+'
log_re+='|TLS handshake failed: TLSV1_ALERT_UNKNOWN_CA)$'
if grep -Eqv "$log_re" "$tmp/idp.log"; then
    grep -Ev "$log_re" "$tmp/idp.log" | head -n 5 >&2
    fail "unexpected line(s) in the IdP log"
fi

http ctl2 /control -H 'Content-Type: application/json' -d '{"reset":true}'
http stats /stats
expect "requests after reset" 0 "$(jget "$tmp/stats" requests.token)"
expect "device_interval after reset" 5 "$(jget "$tmp/stats" knobs.device_interval)"
expect "device_early_polls after reset" 0 "$(jget "$tmp/stats" device_early_polls)"

stop_idp
expect "idp.py exit status after SIGTERM" 0 "$idp_status"
echo "idp selftest: ok"
