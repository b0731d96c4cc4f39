#!/usr/bin/env bash
# Line coverage of the engine by the fuzz corpora: builds the libFuzzer
# targets with clang's source-based coverage (-fprofile-instr-generate
# -fcoverage-mapping) in BUILD (default build/fuzz-cov), replays each
# target's corpus (CORPUS/<target>/, default tests/fuzz/corpus) once, and
# prints llvm-cov's report for src/tcp/*.c and src/stack/*.c.
# Needs llvm-profdata-14 and llvm-cov-14 (Debian 12: llvm-14).
#   usage: coverage.sh [--build BUILD] [CORPUS] [TARGET...]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build/fuzz-cov
if [ "${1:-}" = --build ]; then build=$2; shift 2; fi
corpus=${1:-$root/tests/fuzz/corpus}
[ $# -gt 0 ] && shift
targets=${*:-fuzz_input fuzz_options}
for t in llvm-profdata-14 llvm-cov-14; do
	command -v $t >/dev/null || { echo "coverage.sh: $t missing (apt-get install llvm-14)" >&2; exit 2; }
done
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DGT_FUZZ=ON -DGT_TESTS=OFF \
	"-DCMAKE_C_FLAGS=-fprofile-instr-generate -fcoverage-mapping" \
	-DCMAKE_EXE_LINKER_FLAGS=-fprofile-instr-generate >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" --target $targets -j "$(nproc)" >/dev/null
prof=$(mktemp -d)
trap 'rm -rf "$prof"' EXIT
objs=()
for t in $targets; do
	LLVM_PROFILE_FILE="$prof/$t-%p.profraw" "$build/tests/fuzz/$t" "$corpus/$t" -runs=0 \
		>/dev/null 2>&1
	objs+=(-object "$build/tests/fuzz/$t")
done
llvm-profdata-14 merge -o "$prof/all.profdata" "$prof"/*.profraw
llvm-cov-14 report "${objs[@]:1}" -instr-profile="$prof/all.profdata" \
	"$root"/src/tcp/*.c "$root"/src/stack/*.c
