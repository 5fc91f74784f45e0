#!/usr/bin/python3
"""Counts where strings occur in a running process's memory, for tests that must show a
secret is NOT held somewhere (a process's live environment, a copy not wiped).

    process_memory.py PID < NEEDLES

NEEDLES: one string a line (on stdin, so that no secret is in this program's argv). Prints one
line a needle, in order: the number of times it occurs in PID's mappings, every readable
one (heap, stack, the environment block, libraries' data), read through /proc/PID/mem. Reading
another process's memory needs root (or the same uid and a dumpable target); exit 2 when it
cannot be read at all. Standard library only.
"""

import re
import sys

CHUNK = 1 << 20


# A mapping larger than this is passed over: only an ASan build has them (its shadow memory and
# allocator space, terabytes reserved and almost all unbacked), and reading them would take
# hours. A plain build's heap, stack and environment are far below it.
REGION_MAX = 1 << 30


def readable_regions(pid):
    """(start, end) of every readable mapping but the kernel's own pages and ASan's reserves."""
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            name = fields[5] if len(fields) > 5 else ""
            if end - start > REGION_MAX:
                continue
            if fields[1][0] == "r" and name not in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
                yield start, end


def count_in_region(mem, start, end, needles, counts):
    """Counts each needle in [start, end), chunk by chunk, a needle across two chunks too."""
    overlap = max(len(n) for n in needles) - 1
    tail = b""
    position = start
    while position < end:
        size = min(CHUNK, end - position)
        try:
            mem.seek(position)
            data = mem.read(size)
        except OSError:
            return  # a mapping that cannot be read (a guard page): nothing there to count
        window = tail + data
        for i, needle in enumerate(needles):
            # Matches that lie wholly in the old tail were counted with the previous chunk.
            counts[i] += sum(1 for m in re.finditer(re.escape(needle), window)
                             if m.end() > len(tail))
        tail = window[-overlap:] if overlap else b""
        position += size


def main():
    pid = int(sys.argv[1])
    needles = [line.rstrip("\n").encode() for line in sys.stdin if line.rstrip("\n")]
    if not needles:
        sys.exit("no needles on stdin")
    counts = [0] * len(needles)
    try:
        with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
            for start, end in readable_regions(pid):
                count_in_region(mem, start, end, needles, counts)
    except OSError as error:
        print(f"cannot read the memory of {pid}: {error}", file=sys.stderr)
        return 2
    for count in counts:
        print(count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
