#!/usr/bin/python3
"""Formats bench/run.sh's results as one Markdown table (stdout) and, with --update-doc FILE,
replaces the part of FILE between <!-- bench:begin --> and <!-- bench:end --> with it."""
import argparse, datetime, json, os, platform, re, subprocess

ap = argparse.ArgumentParser()
ap.add_argument("--results", required=True)
ap.add_argument("--idle")
ap.add_argument("--runs", type=int, default=20)
ap.add_argument("--cycles", type=int, default=1000)
ap.add_argument("--update-doc")
ap.add_argument("--idle-expected", action="store_true")
a = ap.parse_args()
R = json.load(open(a.results))
I = json.load(open(a.idle)) if a.idle else None


def f(s, unit="ms"):
    return (f"{s['median']:.1f} {unit} (IQR {s['q1']:.1f}-{s['q3']:.1f}, "
            f"min-max {s['min']:.1f}-{s['max']:.1f})")


def st(group, metric):
    return R[group][metric]["stats"]


def verdict(ok):
    return "PASS" if ok else "**MISS**"


rows = []
if "full_login" in R:
    fl_mod, fl_base, fl_curl = (st("full_login", m) for m in
                                ("module_open_session", "curl_plus_2_stores", "curl_alone"))
    fl_1 = st("full_login", "curl_plus_1_store")
    ratio = fl_mod["median"] / fl_base["median"]
    rows.append(("1. full login: `pam_open_session` with code exchange + store of both items "
                 "(tests/pam_driver, real libpam, local TLS IdP)",
                 f(fl_mod),
                 f"`curl` POST /token + 2 x `secret-tool store` (access + refresh item): {f(fl_base)}; "
                 f"with 1 store: {fl_1['median']:.1f} ms; `curl` alone (network floor): {f(fl_curl)}",
                 f"{ratio:.2f} (vs 1 store {fl_mod['median'] / fl_1['median']:.2f}); "
                 f"overhead above curl alone: +{fl_mod['median'] - fl_curl['median']:.1f} ms "
                 f"(x{fl_mod['median'] / fl_curl['median']:.2f})",
                 "<= 1.0", verdict(ratio <= 1.0)))
    auth = st("full_login", "module_authenticate")
    tot = st("full_login", "module_login_total")
    rows.append(("1b. (info) same logins: `pam_authenticate` (helper `authorize` + browser.py "
                 "fetch of /authorize + helper `answer`) / auth + session",
                 f"{f(auth)} / {f(tot)}", "-", "-", "-", "info"))
if "session_valid" in R:
    sv, lk = st("session_valid", "module_open_session_valid"), st("session_valid", "secret_tool_lookup")
    ratio = sv["median"] / lk["median"]
    rows.append(("2. `pam_open_session` with a valid token (no network, refresher=no)", f(sv),
                 f"`secret-tool lookup`: {f(lk)}", f"{ratio:.2f}", "<= 1.2", verdict(ratio <= 1.2)))
if "cli_token" in R:
    cl, lk, pk = (st("cli_token", m) for m in ("oauth_keyring_token", "secret_tool_lookup",
                                               "python_keyring_get"))
    ratio = cl["median"] / lk["median"]
    rows.append(("3. `oauth-keyring token` with a valid token", f(cl),
                 f"`secret-tool lookup`: {f(lk)}; Python `keyring.get_password`: {f(pk)}",
                 f"{ratio:.2f} x secret-tool; {cl['median'] / pk['median']:.2f} x Python keyring",
                 "<= 1.1 x secret-tool", verdict(ratio <= 1.1)))
if "cli_token" in R and "oauth_keyring_full_token" in R["cli_token"]:
    cl, today = st("cli_token", "oauth_keyring_token"), st("cli_token", "oauth_keyring_full_token")
    ratio = cl["median"] / today["median"]
    rows.append(("3a. `oauth-keyring token`, no refresher (front end, then the full CLI)", f(cl),
                 f"today's CLI (`oauth-keyring-full`, run directly): {f(today)}",
                 f"{ratio:.2f} x today", "no slower than today (<= 1.1 x)",
                 verdict(ratio <= 1.1)))
if "cli_token_refresher" in R:
    fast = st("cli_token_refresher", "oauth_keyring_token_refresher")
    lk = st("cli_token_refresher", "secret_tool_lookup")
    ratio = fast["median"] / lk["median"]
    base = f"`secret-tool lookup`: {f(lk)}"
    ratios = f"{ratio:.2f} x secret-tool"
    if "oidc_token" in R["cli_token_refresher"]:
        oi = st("cli_token_refresher", "oidc_token")
        base += f"; oidc-agent `oidc-token`: {f(oi)}"
        ratios += f"; {oi['median'] / lk['median']:.2f} x for oidc-token; {fast['median'] / oi['median']:.2f} x oidc-token"
    else:
        base += "; oidc-token: not measured (oidc-agent not installed or not set up)"
    n = R["cli_token_refresher"]["oauth_keyring_token_refresher"]["stats"]["n"]
    rows.append((f"3b. `oauth-keyring token` from the running refresher ({n} alternating rounds)",
                 f(fast), base, ratios, "<= 0.5 x secret-tool", verdict(ratio <= 0.5)))
if "blackhole" in R:
    bh = R["blackhole"]
    worst = max(b["open_session"] for b in bh["runs"])
    rows.append((f"4. login with a black-holed token endpoint, timeout = 2 ({len(bh['runs'])} runs)",
                 f"`pam_open_session`: {f(bh['open_session'])}; whole driver process incl. "
                 f"browser.py: {f(bh['driver_wall'])}",
                 "-", f"worst {worst} ms", "every run <= 2500 ms",
                 verdict(worst <= 2500 and len(bh["runs"]) >= 10)))
if I:
    mins = I["seconds"] / 60
    wpm = I["wakeups"] / mins
    rss_ok, cpu_ok = I["rss_kib_max"] <= 10240, I["cpu_ms"] <= 50
    if "wake_episodes" in I:
        per_min = [0] * max(1, int(round(mins)))
        for t in I["episode_times_s"]:
            per_min[min(int(t // 60), len(per_min) - 1)] += 1
        wake = (f"{I['wake_episodes']} wake episodes = {I['wake_episodes'] / mins:.2f}/min "
                f"(per minute: {', '.join(map(str, per_min))}); each a burst of context switches: "
                f"{I['wakeups']} voluntary switches in all = {wpm:.1f}/min")
        wake_ok = max(per_min) <= 1 or I["wake_episodes"] / mins <= 1.0
    else:
        wake = (f"{I['wakeups']} voluntary context switches = {wpm:.1f}/min (per minute: "
                f"{', '.join(map(str, I['wakeups_per_minute']))})")
        wake_ok = max(I["wakeups_per_minute"] or [0]) <= 1
    verdicts = (f"RSS {verdict(rss_ok)}, CPU {verdict(cpu_ok)}, wakeups {verdict(wake_ok)}")
    after = (f", after {I['refreshes_before']} refresh(es) by its child"
             if I.get("refreshes_before") else "")
    rows.append((f"5. refresher idle for {I['seconds']:.0f} s ({I['threads']} threads{after})",
                 f"RSS {I['rss_kib_max'] / 1024:.1f} MiB (VmHWM {I['hwm_kib'] / 1024:.1f} MiB); "
                 f"CPU {I['cpu_ms']:.0f} ms (resolution {I['tick_ms']:.0f} ms); {wake}",
                 "-", "-", "RSS <= 10 MiB, CPU <= 50 ms, <= 1 wakeup/min", verdicts))
elif a.idle_expected:
    rows.append(("5. refresher idle", "not run or failed", "-", "-",
                 "RSS <= 10 MiB, CPU <= 50 ms, <= 1 wakeup/min", "not run"))
runs = R.get("cycles_runs") or ([R["cycles"]] if "cycles" in R else [])
changes, parts, ok = [], [], True
for i, cy in enumerate(runs, 1):
    bl, m = cy["blocks"], cy["marks"]
    first, last = bl[0]["ms_per_cycle"], bl[-1]["ms_per_cycle"]
    per = sorted(x["ms_per_cycle"] for x in bl)
    changes.append(last / first - 1)
    end = m[str(a.cycles)]
    ok = ok and end["failed"] == 0 and cy["exit"] == 0
    parts.append(f"run {i}: cycles {bl[0]['cycles']} {first:.1f} ms/cycle, {bl[-1]['cycles']} "
                 f"{last:.1f} ms/cycle ({changes[-1] * 100:+.1f}%; all 100-blocks "
                 f"{per[0]:.1f}-{per[-1]:.1f}); RSS {m['100']['rss_kib']} -> {end['rss_kib']} KiB, "
                 f"fds {m['10']['fds']} -> {end['fds']}, failed {end['failed']}")
if runs:
    med = sorted(changes)[len(changes) // 2]
    rows.append((f"6. {a.cycles} login cycles in one process, {len(runs)} processes (valid token: "
                 "pam_start, auth, open_session, close_session, pam_end)", "<br>".join(parts),
                 "first 100 cycles of the same process",
                 f"last/first: median {med * 100:+.1f}% "
                 f"(runs: {', '.join(f'{c * 100:+.1f}%' for c in changes)})",
                 "within 10%", verdict(ok and abs(med) <= 0.10)))

head = ("| scenario | measured: median (IQR, min-max) | baseline, alternated in the same run | "
        "ratio | target | result |\n|---|---|---|---|---|---|\n")
table = head + "".join("| " + " | ".join(r) + " |\n" for r in rows)
stamp = (f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {os.uname().nodename}, "
         f"{os.cpu_count()} CPUs, kernel {platform.release()}; {a.runs} alternating rounds per arm "
         f"(blackhole: 10 runs" + (f"; cycles: {len(runs)} separate processes)" if runs else ")"))
print(table + "\n" + stamp)
if a.update_doc:
    text = open(a.update_doc).read()
    new = f"<!-- bench:begin -->\n{table}\n{stamp}\n<!-- bench:end -->"
    text, n = re.subn(r"<!-- bench:begin -->.*?<!-- bench:end -->", lambda _: new, text, flags=re.S)
    if n != 1:
        raise SystemExit(f"{a.update_doc}: no bench markers")
    open(a.update_doc, "w").write(text)
