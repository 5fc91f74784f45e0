#!/bin/bash
# A short fleet simulation (bench/fleet.c, docs/FLEET.md) through the real schedule function:
# 1,000 workstations from midnight to noon against an endpoint of 2 requests/s, so the login
# wave meets 429s and the 11:00 outage is in the run. Under the fleet policy no user is forced to
# sign in again and no request goes out while a Retry-After holds, across a login's session
# hook and the refresher started after it (SERVICE.status carries the hold; fleet --check);
# the timing targets belong to `make fleet`, not here.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

fleet="$top_builddir/bench/fleet"
[ -x "$fleet" ] || fail "bench/fleet not built (make check builds it)"
out=$("$fleet" --workstations 1000 --hours 12 --capacity 2 --check 2>&1) ||
    fail "invariants broken: $out"
echo "$out"
again=$("$fleet" --workstations 1000 --hours 12 --capacity 2 --check 2>&1)
[ "$out" = "$again" ] || fail "two runs with one seed differ"
pass "1,000 workstations to noon: 429s met, 0 forced sign-ins, 0 requests during a Retry-After; deterministic"
