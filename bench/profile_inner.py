#!/usr/bin/python3
"""Inside the private session (see bench/profile.sh): where the time of the valid-token paths
goes. Start-up vs keyring work (alternated wall times), D-Bus method calls per command
(dbus-monitor --profile), dynamic-loader statistics (LD_DEBUG=statistics), and the helper's own
wall and CPU inside pam_open_session (perf stat wrapper). Prints a report on stdout.
(The helper refuses to run traced, so strace cannot follow it.)"""
import os, re, statistics, subprocess, sys, time

W = os.environ
WORK, DRIVER, HELPER, CLI, PY = W["WORK"], W["DRIVER"], W["HELPER"], W["CLI"], W["PYTHON"]
SERVICE, USER, CA = W["SERVICE"], W["RUN_AS"], W["CA_FILE"]
ROUNDS = int(W.get("PROFILE_ROUNDS", "15"))


def drv(service, helper=HELPER):
    argv = [DRIVER, "--confdir", f"{WORK}/pam.d", "--service", service, "--user", USER,
            "--log", f"{WORK}/out/profile.log",
            "--answer-command", f"{PY} {WORK}/bin/browser.py --ca {CA} --mode url",
            "--setenv", f"DBUS_SESSION_BUS_ADDRESS={W['DBUS_SESSION_BUS_ADDRESS']}",
            "--setenv", f"XDG_RUNTIME_DIR={W['XDG_RUNTIME_DIR']}"]
    p = subprocess.run(argv, capture_output=True, text=True,
                       env=dict(os.environ, PAM_OAUTH_KEYRING_TEST_HELPER=helper))
    m = re.search(r"timing: pam_open_session (\d+) ms", p.stdout)
    assert "pam_open_session: Success" in p.stdout, p.stdout
    return int(m.group(1))


def wall(argv, **kw):
    t0 = time.perf_counter()
    subprocess.run(argv, capture_output=True, **kw)
    return (time.perf_counter() - t0) * 1000


drv("pok-private")  # the first login: tokens in the keyring
LOOKUP = ["secret-tool", "lookup", "service", SERVICE, "username", USER]
arms = {
    "oauth-keyring token": [CLI, "token", "--service", SERVICE],
    "oauth-keyring start-up only (bad option, exits before the keyring)": [CLI, "--no-such-option"],
    "oauth-keyring open keyring only (bad command, exit 1)": [CLI, "frobnicate", "--service", SERVICE],
    "secret-tool lookup": LOOKUP,
    "secret-tool start-up only (no arguments, usage)": ["secret-tool"],
    "helper start-up only (empty request on stdin)": [HELPER],
    "true (fork+exec floor)": ["/bin/true"],
}
res = {k: [] for k in arms}
names = list(arms)
for r in range(ROUNDS):
    k = r % len(names)
    for n in names[k:] + names[:k]:
        res[n].append(wall(arms[n], stdin=subprocess.DEVNULL))
print(f"## wall time, {ROUNDS} alternating rounds (median, min-max ms)")
for n, v in res.items():
    print(f"  {n:70s} {statistics.median(v):7.1f}  ({min(v):.1f}-{max(v):.1f})")

print("\n## dynamic loader (LD_DEBUG=statistics), libraries loaded (ldd)")
for n, argv in (("oauth-keyring", [CLI, "frobnicate"]), ("secret-tool", ["secret-tool"]),
                ("helper", [HELPER])):
    p = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, LD_DEBUG="statistics"))
    tot = re.search(r"total startup time in dynamic loader: (.*)", p.stderr)
    rel = re.search(r"time needed for relocation: (.*)", p.stderr)
    nlib = len(subprocess.run(["ldd", argv[0] if "/" in argv[0] else "/usr/bin/" + argv[0]],
                              capture_output=True, text=True).stdout.splitlines())
    print(f"  {n:14s} {nlib} libraries; loader: {tot.group(1).strip() if tot else '?'}; "
          f"relocation: {rel.group(1).strip() if rel else '?'}")

print("\n## D-Bus messages sent by the command (dbus-monitor --profile)")


def dbus_calls(fn):
    mon = subprocess.Popen(["dbus-monitor", "--session", "--profile"], stdout=subprocess.PIPE,
                           text=True)
    time.sleep(0.5)
    fn()
    time.sleep(0.5)
    mon.terminate()
    out = mon.communicate()[0].splitlines()
    calls = [l.split("\t") for l in out if l.startswith("mc\t")]
    # mc time serial sender destination path interface member
    to_bus = sum(1 for c in calls if c[4] == "org.freedesktop.DBus")
    bus_members = {}
    for c in calls:
        if c[4] == "org.freedesktop.DBus":
            bus_members[c[-1]] = bus_members.get(c[-1], 0) + 1
    members = {}
    for c in calls:
        if c[4] != "org.freedesktop.DBus":
            members[c[-1]] = members.get(c[-1], 0) + 1
    return len(calls), to_bus, members, bus_members


for n, fn in (("pam_open_session (valid token)", lambda: drv("pok-private")),
              ("oauth-keyring token", lambda: subprocess.run(arms["oauth-keyring token"], capture_output=True)),
              ("secret-tool lookup", lambda: subprocess.run(LOOKUP, capture_output=True))):
    total, to_bus, members, bus_members = dbus_calls(fn)
    print(f"  {n:32s} {total} method calls; to gnome-keyring: "
          + ", ".join(f"{k} x{v}" for k, v in sorted(members.items()))
          + f"; {to_bus} to the bus daemon: "
          + ", ".join(f"{k} x{v}" for k, v in sorted(bus_members.items())))

print("\n## the helper inside pam_open_session (valid token), perf stat wrapper, 10 runs")
wrapper = f"{WORK}/out/helper-perf.sh"
with open(wrapper, "w") as f:
    f.write(f"#!/bin/sh\nexec perf stat -e task-clock -o {WORK}/out/helper-perf.txt -- {HELPER}\n")
os.chmod(wrapper, 0o755)
sess, hw, hc = [], [], []
for _ in range(10):
    sess.append(drv("pok-private", helper=wrapper))
    txt = open(f"{WORK}/out/helper-perf.txt").read()
    hc.append(float(re.search(r"([\d.]+) msec task-clock", txt).group(1)))
    hw.append(float(re.search(r"([\d.]+) seconds time elapsed", txt).group(1)) * 1000)
print(f"  pam_open_session (perf in the way): median {statistics.median(sess):.0f} ms; helper wall "
      f"median {statistics.median(hw):.1f} ms, helper CPU (task-clock) median {statistics.median(hc):.1f} ms")
