#!/usr/bin/env bash
# Instructions per byte and per data segment of glasstcp's bulk transfer, at
# MSS 1460 and 65495, under callgrind (both stacks, the link's copies and
# the pattern check: everything the bulk figure of glasstcp_bench times).
#   usage: callgrind.sh GLASSTCP_BENCH BYTES
set -euo pipefail
bin=$1 bytes=$2
command -v valgrind >/dev/null || { echo "callgrind: valgrind missing (scripts/install-deps.sh bench)" >&2; exit 1; }
for row in bulk_mss1460:1460 bulk_mss_large:65495; do
	name=${row%%:*} mss=${row##*:}
	out=$(mktemp)
	BENCH_STACKS=glasstcp BENCH_ONLY=$name BENCH_RUNS=1 BENCH_BYTES=$bytes \
		valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --json >/dev/null 2>&1
	ir=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
	rm -f "$out"
	awk -v ir="$ir" -v b="$bytes" -v m="$mss" -v n="$name" 'BEGIN {
		printf "%s: %.0f instructions for %d bytes: %.2f per byte, %.0f per %d-byte segment\n",
		       n, ir, b, ir / b, ir / b * m, m }'
done
