#!/usr/bin/python3
"""Samples an idle process from /proc: sample_proc.py PID SECONDS INTERVAL -> JSON on stdout.
Reads /proc every second; INTERVAL is how often a sample is kept for the per-minute figures.
Wake episodes: runs of consecutive seconds in which any thread had a voluntary context switch
(one timer expiry that then does a burst of D-Bus round trips is one episode, many switches).

CPU = utime+stime of every thread (/proc/PID/task/*/stat, clock ticks), wakeups = voluntary
context switches summed over every thread (each is one block-then-wake), RSS = VmRSS.
Reading /proc does not wake the target.
"""
import json, os, sys, time

pid, seconds, interval = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
HZ = os.sysconf("SC_CLK_TCK")


def sample():
    ticks = vol = invol = 0
    threads = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        invol += int(line.split()[1])
            threads += 1
        except FileNotFoundError:
            pass
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return {"t": time.monotonic(), "cpu_ms": ticks * 1000 / HZ, "voluntary": vol,
            "nonvoluntary": invol, "rss_kib": rss, "hwm_kib": hwm, "threads": threads}


start = sample()
samples = [start]
deadline = start["t"] + seconds
previous, active, episodes, episode_times = start, False, 0, []
while True:
    left = deadline - time.monotonic()
    if left <= 0:
        break
    time.sleep(min(1.0, left))
    if not os.path.exists(f"/proc/{pid}"):
        print(json.dumps({"error": "the refresher exited", "samples": samples}))
        sys.exit(1)
    now = sample()
    woke = now["voluntary"] > previous["voluntary"]
    if woke and not active:
        episodes += 1
        episode_times.append(round(now["t"] - start["t"], 1))
    active, previous = woke, now
    if now["t"] - samples[-1]["t"] >= interval - 0.5 or left <= 1.0:
        samples.append(now)
end = samples[-1]
minutes = (end["t"] - start["t"]) / 60
per_minute = []
for m in range(int(minutes)):
    a = min(samples, key=lambda s: abs(s["t"] - start["t"] - 60 * m))
    b = min(samples, key=lambda s: abs(s["t"] - start["t"] - 60 * (m + 1)))
    per_minute.append(b["voluntary"] - a["voluntary"])
print(json.dumps({
    "pid": pid, "seconds": end["t"] - start["t"], "threads": end["threads"],
    "rss_kib_start": start["rss_kib"], "rss_kib_max": max(s["rss_kib"] for s in samples),
    "rss_kib_end": end["rss_kib"], "hwm_kib": end["hwm_kib"],
    "cpu_ms": end["cpu_ms"] - start["cpu_ms"],
    "wakeups": end["voluntary"] - start["voluntary"],
    "involuntary": end["nonvoluntary"] - start["nonvoluntary"],
    "wakeups_per_minute": per_minute, "tick_ms": 1000 / HZ,
    "wake_episodes": episodes, "episode_times_s": episode_times}))
