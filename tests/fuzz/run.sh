#!/usr/bin/env bash
# Runs libFuzzer targets, one after the other on one core, each for SECONDS on
# a copy of its corpus (tests/fuzz/corpus/<target>/). `make fuzz-smoke` (CI)
# and `make fuzz` (long campaigns) call it; see docs/fuzzing.md.
#
#   usage: run.sh [--keep-going] [--work DIR] BUILD_DIR SECONDS TARGET...
#     --keep-going  after a crash, record it and go on fuzzing until the time
#                   is up (a campaign); without it the first crash ends the run
#     --work DIR    keep the grown corpora in DIR/<target>/ and crashing inputs
#                   in DIR/crashes/ (default: a temporary directory, removed)
# Exit 0 when no target crashed, 1 otherwise (each crash is named).
set -u
keep=0
work=
while [ $# -gt 0 ]; do
	case $1 in
	--keep-going) keep=1; shift ;;
	--work) work=$2; shift 2 ;;
	*) break ;;
	esac
done
if [ $# -lt 3 ]; then
	echo "usage: run.sh [--keep-going] [--work DIR] BUILD_DIR SECONDS TARGET..." >&2
	exit 2
fi
build=$1 secs=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
tmp=
if [ -z "$work" ]; then
	tmp=$(mktemp -d)
	work=$tmp
fi
[ -z "$tmp" ] || trap 'rm -rf "$tmp"' EXIT
mkdir -p "$work/crashes"
failed=0
for t in "$@"; do
	bin=$build/tests/fuzz/$t
	[ -x "$bin" ] || { echo "run.sh: no fuzz target $bin (make fuzz)" >&2; exit 2; }
	mkdir -p "$work/$t"
	cp -n "$src/corpus/$t"/* "$work/$t/" 2>/dev/null || true
	end=$((SECONDS + secs)) runs=0 crashes=0
	while :; do
		left=$((end - SECONDS))
		[ "$left" -gt 0 ] || break
		log=$work/$t.log
		"$bin" "$work/$t" -max_total_time="$left" -timeout=10 -print_final_stats=1 \
			-artifact_prefix="$work/crashes/$t-" >"$log" 2>&1
		rc=$?
		n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		runs=$((runs + ${n:-0}))
		cat "$log" >>"$work/$t.all.log"
		if [ $rc -ne 0 ]; then
			crashes=$((crashes + 1))
			failed=1
			echo "run.sh: $t crashed:" >&2
			grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz invariant|artifact_prefix|Test unit written)' \
				"$log" >&2
			[ $keep -eq 1 ] || break
		fi
	done
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$work/$t.all.log" | tail -1)
	echo "run.sh: $t: $runs executions in ${secs} s ($((runs / (secs > 0 ? secs : 1))) exec/s)," \
		"$(find "$work/$t" -type f | wc -l) inputs, $cov, $crashes crash(es)"
	[ $failed -eq 0 ] || [ $keep -eq 1 ] || break
done
exit $failed
