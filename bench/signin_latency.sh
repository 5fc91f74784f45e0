#!/bin/bash
# The in-session sign-in's cost after the browser comes back: the time from the browser's
# callback reaching the refresher's loopback listener to the pair in the keyring (the
# listener answers the callback only once its exchange child has stored the pair and replied),
# beside a curl POST alone of the same kind (authorization_code, PKCE, client secret) to the
# same test IdP's token endpoint. RUNS (default 20) of each, alternating; prints each run,
# the medians and their ratio. Private session of an unprivileged user (nobody as root),
# private bus and unlocked throwaway gnome-keyring, the test IdP over TLS on 127.0.0.1.
# Needs a build with the test programs (make check builds them). Not a test.
#   bench/signin_latency.sh [RUNS]
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib.sh"
RUNS=${1:-20}
prepare_signin_test bench </dev/null
echo "$RUNS" >"$WORK/runs"
chmod a+r "$WORK/runs"

# A code the IdP issued for a verifier we know, for curl: "CODE VERIFIER".
cat >"$WORK/bin/code_for_curl.py" <<'PY'
import base64, hashlib, secrets, ssl, sys, urllib.parse, urllib.request
idp, ca, client_id, redirect = sys.argv[1:5]
verifier = secrets.token_urlsafe(32)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
query = urllib.parse.urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect,
                                "state": "bench", "code_challenge": challenge, "code_challenge_method": "S256"})
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None
context = ssl.create_default_context(cafile=ca)
opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), NoRedirect())
try:
    opener.open(f"{idp}/authorize?{query}")
except urllib.error.HTTPError as err:
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(err.headers["Location"]).query)["code"][0]
print(code, verifier)
PY
chmod a+r "$WORK/bin/code_for_curl.py"

cat >"$WORK/bench.sh" <<'SCENARIO'
set -u
. "$WORK/bin/signin_lib.sh"
session_login empty skip
wait_until 10 refresher_count_is 1 || fail "no refresher"
for run in $(seq "$(cat "$WORK/runs")"); do
    start_login "signin$run"
    callback=$(callback_url url)
    answer=$(loopback_get "$callback")
    [ "${answer%% *}" = 303 ] || fail "run $run: the callback got '$answer'"
    loopback_get "http://127.0.0.1:$SIGNIN_PORT/callback" >/dev/null # the result page: closes it
    finish_login 30
    [ "$LOGIN_STATUS" = 0 ] || fail "run $run: exit $LOGIN_STATUS"
    wait_until 5 port_free || fail "run $run: the listener lingers"
    read -r code verifier < <("$PYTHON" "$WORK/bin/code_for_curl.py" "$IDP_URL" "$CA_FILE" "$CLIENT_ID" "$REDIRECT_URI")
    curl_seconds=$(curl -sS -o /dev/null -w '%{time_total}' --cacert "$CA_FILE" \
        -u "$CLIENT_ID:$CLIENT_SECRET" --data-urlencode grant_type=authorization_code \
        --data-urlencode "code=$code" --data-urlencode "redirect_uri=$REDIRECT_URI" \
        --data-urlencode "code_verifier=$verifier" "$IDP_URL/token")
    echo "$run ${answer#* } $curl_seconds" >>"$WORK/out/times"
done
SCENARIO
run_private_session "$WORK/bench.sh" 600 || fail "the benchmark session failed"
[ "$(wc -l <"$WORK/out/times")" = "$RUNS" ] || fail "only $(wc -l <"$WORK/out/times") runs"
"$PYTHON" - "$WORK/out/times" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
signin = [float(r[1]) * 1000 for r in rows]
curl = [float(r[2]) * 1000 for r in rows]
print("run  callback->stored ms  curl POST ms")
for r, s, c in zip(rows, signin, curl):
    print(f"{r[0]:>3}  {s:19.1f}  {c:12.1f}")
ms, mc = statistics.median(signin), statistics.median(curl)
print(f"median: callback->stored {ms:.1f} ms (min {min(signin):.1f}, max {max(signin):.1f}); "
      f"curl POST {mc:.1f} ms (min {min(curl):.1f}, max {max(curl):.1f}); ratio {ms / mc:.1f}")
PY
