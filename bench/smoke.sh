#!/usr/bin/env bash
# ctest's smoke run of glasstcp_bench: a minimal size, every line of --json
# parses and glasstcp and Linux have every figure. No timing is checked.
set -euo pipefail
out=$(BENCH_BYTES=2000000 BENCH_RUNS=1 BENCH_CONNS=20 "$1" --json 2>/dev/null)
printf '%s\n' "$out" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
figs = [r for r in rows if "stack" in r]
assert len(figs) == 9, figs
for r in figs:
    if r["stack"] != "lwip":
        assert r["value"] and r["value"] > 0, r
    else:
        assert r["value"] is None or r["value"] > 0, r
print("bench_smoke: %d lines parse" % len(rows))
'
