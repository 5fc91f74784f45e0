#!/usr/bin/python3
"""The measurements of bench/run.sh, run inside the private session (as the unprivileged user,
on the private session bus, with the unlocked throwaway gnome-keyring). Every figure is taken
alternately with its baseline in the same loop; each round runs the arms in a rotated order.
Writes $WORK/out/results.json. Settings from $WORK/bench.json."""
import base64, hashlib, json, os, re, secrets, subprocess, sys, time, urllib.parse

W = os.environ
WORK, DRIVER, HELPER, CLI, PY = W["WORK"], W["DRIVER"], W["HELPER"], W["CLI"], W["PYTHON"]
SERVICE, USER, CA, IDP = W["SERVICE"], W["RUN_AS"], W["CA_FILE"], W["IDP_URL"]
CLIENT_ID, CLIENT_SECRET = W["CLIENT_ID"], W["CLIENT_SECRET"]
REDIRECT = "http://127.0.0.1:8765/callback"
CFG = json.load(open(f"{WORK}/bench.json"))
RUNS, CYCLES = CFG["runs"], CFG["cycles"]
ONLY = set(CFG.get("only") or ["full_login", "session_valid", "cli_token", "cli_token_refresher",
                               "blackhole", "cycles"])
OUT = {}


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def run(argv, stdin=None, check=True):
    t0 = time.perf_counter()
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    dt = (time.perf_counter() - t0) * 1000
    if check and p.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {p.returncode}: {p.stderr.strip()[:300]}")
    return dt, p


def driver_argv(service, extra=()):
    return [DRIVER, "--confdir", f"{WORK}/pam.d", "--service", service, "--user", USER,
            "--log", f"{WORK}/out/bench-{service}.log",
            "--answer-command", f"{PY} {WORK}/bin/browser.py --ca {CA} --mode url",
            "--setenv", f"DBUS_SESSION_BUS_ADDRESS={W['DBUS_SESSION_BUS_ADDRESS']}",
            "--setenv", f"XDG_RUNTIME_DIR={W['XDG_RUNTIME_DIR']}", *extra]


def driver(service, must=None):
    env = dict(os.environ, PAM_OAUTH_KEYRING_TEST_HELPER=HELPER)
    t0 = time.perf_counter()
    p = subprocess.run(driver_argv(service), capture_output=True, text=True, env=env)
    wall = (time.perf_counter() - t0) * 1000
    out = p.stdout + p.stderr
    if must and must not in out:
        raise RuntimeError(f"driver {service}: no '{must}':\n{out[-800:]}")
    t = {k: int(v) for k, v in re.findall(r"timing: (pam_\w+) (\d+) ms", out)}
    return wall, t, out


def stats(xs):
    xs = sorted(xs)
    n = len(xs)

    def q(p):
        i = p * (n - 1)
        lo = int(i)
        return xs[lo] + (xs[min(lo + 1, n - 1)] - xs[lo]) * (i - lo)
    return {"n": n, "median": q(0.5), "q1": q(0.25), "q3": q(0.75), "min": xs[0], "max": xs[-1]}


def alternate(arms, rounds):
    """arms: {name: fn() -> {metric: ms}}; rotated order each round."""
    names = list(arms)
    res = {}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            for metric, v in arms[name]().items():
                res.setdefault(metric, []).append(v)
    return {m: {"stats": stats(v), "raw": v} for m, v in res.items()}


def curl_post(data):
    return ["curl", "-sS", "--cacert", CA, "--max-time", "10", "--noproxy", "*",
            *sum((["--data-urlencode", f"{k}={v}"] for k, v in data.items()), []),
            f"{IDP}/token"]


def fresh_code(scope=None):
    """GET /authorize with a PKCE S256 challenge (not timed); returns (code, verifier)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    q = urllib.parse.urlencode({"response_type": "code", "client_id": CLIENT_ID,
                                "redirect_uri": REDIRECT, "code_challenge": challenge,
                                "code_challenge_method": "S256", "state": "bench",
                                **({"scope": scope} if scope else {})})
    _, p = run(["curl", "-sS", "--cacert", CA, "--noproxy", "*", "-o", "/dev/null",
                "-w", "%{redirect_url}", f"{IDP}/authorize?{q}"])
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(p.stdout).query)["code"][0]
    return code, verifier


def token_form(code, verifier):
    return {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": REDIRECT, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


def idp_control(obj):
    run(["curl", "-sS", "--cacert", CA, "--noproxy", "*", "-H", "Content-Type: application/json",
         "--data", json.dumps(obj), f"{IDP}/control"])


# ---- 1. full login -------------------------------------------------------------------------
def arm_module_login():
    wall, t, _ = driver("pok-always", must="is now in your keyring")
    return {"module_open_session": t["pam_open_session"], "module_authenticate": t["pam_authenticate"],
            "module_login_total": t["pam_open_session"] + t["pam_authenticate"], "module_driver_wall": wall}


def arm_curl_store():
    code, verifier = fresh_code()
    t_curl, p = run(curl_post(token_form(code, verifier)))
    reply = json.loads(p.stdout)
    t_s1, _ = run(["secret-tool", "store", "--label=bench refresh", "service", "pok-bench-curl/refresh",
                   "username", USER], stdin=json.dumps({"refresh_token": reply["refresh_token"]}))
    t_s2, _ = run(["secret-tool", "store", "--label=bench access", "service", "pok-bench-curl",
                   "username", USER], stdin=reply["access_token"])
    return {"curl_plus_2_stores": t_curl + t_s1 + t_s2, "curl_plus_1_store": t_curl + t_s2,
            "curl_in_store_arm": t_curl}


def arm_curl_alone():
    code, verifier = fresh_code()
    t, p = run(curl_post(token_form(code, verifier)))
    json.loads(p.stdout)["access_token"]
    return {"curl_alone": t}


log("warm-up; the first login stores tokens for the valid-token rows")
driver("pok-always", must="is now in your keyring")
if "full_login" in ONLY:
    arm_curl_store(); arm_curl_alone()
    log(f"full login x{RUNS}")
    OUT["full_login"] = alternate({"module": arm_module_login, "curl_store": arm_curl_store,
                                   "curl": arm_curl_alone}, RUNS)

# ---- 2. open_session with a valid token ------------------------------------------------------
driver("pok-private", must="pam_open_session: Success")  # tokens from the logins above


def arm_session_valid():
    _, t, out = driver("pok-private", must="pam_open_session: Success")
    if "[prompt]" in out:
        raise RuntimeError("a login with a valid token was prompted")
    return {"module_open_session_valid": t["pam_open_session"],
            "module_authenticate_valid": t["pam_authenticate"]}


def lookup():
    t, p = run(["secret-tool", "lookup", "service", SERVICE, "username", USER])
    if not p.stdout.strip():
        raise RuntimeError("secret-tool lookup printed nothing")
    return t


if "session_valid" in ONLY:
    log(f"open_session valid x{RUNS}")
    OUT["session_valid"] = alternate({"module": arm_session_valid,
                                      "lookup": lambda: {"secret_tool_lookup": lookup()}}, RUNS)

# ---- 3. oauth-keyring token ----------------------------------------------------------------
KEYRING_PY = f"import keyring; print(keyring.get_password({SERVICE!r}, {USER!r}))"


def arm_cli():
    t, p = run([CLI, "token", "--service", SERVICE])
    if not p.stdout.strip():
        raise RuntimeError("oauth-keyring token printed nothing")
    return {"oauth_keyring_token": t}


def arm_today():
    """Today's oauth-keyring, before the front end: the full CLI, run directly."""
    t, p = run([f"{WORK}/bin/oauth-keyring-full", "token", "--service", SERVICE])
    if not p.stdout.strip():
        raise RuntimeError("oauth-keyring-full token printed nothing")
    return {"oauth_keyring_full_token": t}


def arm_pykeyring():
    t, p = run([PY, "-c", KEYRING_PY])
    if p.stdout.strip() in ("", "None"):
        raise RuntimeError("python keyring found nothing")
    return {"python_keyring_get": t}


if "cli_token" in ONLY:
    arm_cli(); arm_pykeyring()
    log(f"oauth-keyring token x{RUNS}")
    OUT["cli_token"] = alternate({"cli": arm_cli, "lookup": lambda: {"secret_tool_lookup": lookup()},
                                  "pykeyring": arm_pykeyring, "today": arm_today}, RUNS)

# ---- 3b. oauth-keyring token from the refresher's memory (issue 23) -------------------------
FAST = "pok-bench-fast"
OIDC_ACCOUNT = "pok-bench"
OIDC_SCOPE = "openid offline_access"  # what oidc-gen asks for; the grant must cover it


def start_oidc_agent():
    """oidc-agent (Debian's oidc-agent-cli), when installed, with an account on the test IdP:
    a grant of OIDC_SCOPE, handed to oidc-gen's refresh flow (--rt-env: the refresh token
    stays off argv), nothing saved. The agent's pid, or None when there is no oidc-agent or
    the set-up failed (said on stderr; the row then has two arms)."""
    tools = ("oidc-agent", "oidc-gen", "oidc-token")
    if any(subprocess.run(["sh", "-c", f"command -v {t}"], capture_output=True).returncode
           for t in tools):
        log("oidc-agent not installed (apt-get install oidc-agent-cli): no oidc-token arm")
        return None
    try:
        code, verifier = fresh_code(OIDC_SCOPE)
        _, p = run(curl_post(token_form(code, verifier)))
        refresh = json.loads(p.stdout)["refresh_token"]
        _, p = run(["oidc-agent"])
        agent = dict(re.findall(r"(OIDC_SOCK|OIDCD_PID)=([^;]+);", p.stdout))
        os.environ["OIDC_SOCK"] = agent["OIDC_SOCK"]
        gen = subprocess.run(
            ["oidc-gen", OIDC_ACCOUNT, f"--iss={IDP}", f"--client-id={CLIENT_ID}",
             f"--client-secret={CLIENT_SECRET}", "--rt-env", f"--cp={CA}", "--manual",
             "--no-save", "--confirm-yes", "--prompt=none", "--redirect-uri=http://localhost:8765",
             f"--scope={OIDC_SCOPE}"], input="", capture_output=True, text=True, timeout=60,
            env=dict(os.environ, OIDC_REFRESH_TOKEN=refresh))
        if gen.returncode != 0 or "success" not in gen.stdout + gen.stderr:
            raise RuntimeError((gen.stdout + gen.stderr).strip()[-300:])
        return int(agent["OIDCD_PID"])
    except Exception as e:  # the bench goes on without the arm
        log(f"oidc-agent set-up failed: {e}")
        return None


def arm_cli_fast():
    t, p = run([CLI, "token", "--service", FAST])
    if not p.stdout.strip():
        raise RuntimeError("oauth-keyring token printed nothing")
    return {"oauth_keyring_token_refresher": t}


def lookup_fast():
    t, p = run(["secret-tool", "lookup", "service", FAST, "username", USER])
    if not p.stdout.strip():
        raise RuntimeError("secret-tool lookup printed nothing")
    return {"secret_tool_lookup": t}


def arm_oidc():
    t, p = run(["oidc-token", OIDC_ACCOUNT])
    if not p.stdout.strip():
        raise RuntimeError("oidc-token printed nothing")
    return {"oidc_token": t}


if "cli_token_refresher" in ONLY:
    driver("pok-fast", must="pam_open_session: Success")  # signs in, starts the refresher
    sock = f"{W['XDG_RUNTIME_DIR']}/pam_oauth_keyring/{FAST}.sock"
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    arm_cli_fast(); lookup_fast()
    arms = {"cli": arm_cli_fast, "lookup": lookup_fast}
    oidc_agent = start_oidc_agent()
    if oidc_agent is not None:
        arm_oidc()
        arms["oidc"] = arm_oidc
    rounds = max(RUNS, 40)
    log(f"oauth-keyring token with the refresher x{rounds}")
    try:
        OUT["cli_token_refresher"] = alternate(arms, rounds)
    finally:
        if oidc_agent is not None:
            os.kill(oidc_agent, 15)

# ---- 4. black-holed provider ---------------------------------------------------------------
if "blackhole" in ONLY:
    log("blackhole x10")
    idp_control({"fault": "blackhole"})
    bh = []
    try:
        for _ in range(CFG["blackhole_runs"]):
            wall, t, out = driver("pok-blackhole", must="pam_open_session: Success")
            bh.append({"open_session": t["pam_open_session"],
                       "authenticate": t["pam_authenticate"], "driver_wall": wall})
    finally:
        idp_control({"fault": None})
    OUT["blackhole"] = {"runs": bh,
                        "open_session": stats([b["open_session"] for b in bh]),
                        "driver_wall": stats([b["driver_wall"] for b in bh])}

# ---- 6. login cycles in one process --------------------------------------------------------
env = dict(os.environ, PAM_OAUTH_KEYRING_TEST_HELPER=HELPER)


def cycles_once():
    """One driver process, CYCLES logins; the time each "cycle N:" line appears (stdout
    line-buffered through stdbuf: the driver's printf is block-buffered into a pipe)."""
    p = subprocess.Popen(["stdbuf", "-oL", *driver_argv("pok-private", ["--cycles", str(CYCLES)])],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    t_start = time.monotonic()
    marks, lines = {}, []
    for line in p.stdout:
        now = time.monotonic()
        lines.append(line.rstrip())
        m = re.match(r"cycle (\d+): fds (\d+), rss_kib (\d+), failed logins (\d+)", line)
        if m:
            marks[int(m.group(1))] = {"t": now - t_start, "fds": int(m.group(2)),
                                      "rss_kib": int(m.group(3)), "failed": int(m.group(4))}
    p.wait()
    blocks = []
    for b in range(100, CYCLES + 1, 100):
        start = marks[b - 100]["t"] if b > 100 else marks[1]["t"]
        n = 100 if b > 100 else 99  # cycle 1's line marks the end of cycle 1: 2-100 is 99
        blocks.append({"cycles": f"{b - 99 if b > 100 else 2}-{b}",
                       "ms_per_cycle": (marks[b]["t"] - start) * 1000 / n})
    return {"marks": marks, "blocks": blocks, "exit": p.returncode, "tail": lines[-3:]}


OUT["cycles_runs"] = []
for i in range(CFG["cycle_runs"] if "cycles" in ONLY else 0):
    log(f"{CYCLES} cycles in one process ({i + 1}/{CFG['cycle_runs']})")
    OUT["cycles_runs"].append(cycles_once())

json.dump(OUT, open(f"{WORK}/out/results.json", "w"), indent=1)
log("done")
