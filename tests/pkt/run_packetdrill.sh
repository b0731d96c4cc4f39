#!/usr/bin/env bash
# Runs every tests/pkt/**/*.pkt through the real packetdrill against
# glasstcp (libglasstcp_packetdrill.so), one packetdrill per script, and
# prints PASS/FAIL per script and a total. Exit 0 when all pass, 1 when any
# fails, 77 (skipped) when packetdrill's source is not there to build
# (../shared/vendor is absent in a fresh clone) or packetdrill cannot run
# (it needs root).
#
#   run_packetdrill.sh --so LIB.so [--build DIR] [--profile P] [SCRIPT...]
#     --so       the adapter (BUILD/libglasstcp_packetdrill.so)
#     --build    where packetdrill is built (default: the .so's folder)
#     --profile  the so_flags profile (default linux) for scripts that do not
#                name theirs in a --so_flags=profile=P line of their own
#     SCRIPT...  scripts to run (default: every .pkt under tests/pkt/)
#
# Each run has the no-op stand-ins of tools/packetdrill/standins first on
# PATH (a script's `sysctl ...`/`tc ...` lines), and runs under `unshare -n`
# (a network namespace of its own) where that is allowed, so nothing can
# touch the host's network. docs/packetdrill.md explains the command line.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
so= build= profile=linux
scripts=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--so) so=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--profile) profile=$2; shift 2 ;;
	-*) echo "run_packetdrill.sh: unknown option '$1'" >&2; exit 2 ;;
	*) scripts+=("$1"); shift ;;
	esac
done
if [[ -z "$so" || ! -f "$so" ]]; then
	echo "run_packetdrill.sh: --so LIB.so is needed (the built libglasstcp_packetdrill.so)" >&2
	exit 2
fi
so=$(cd "$(dirname "$so")" && pwd)/$(basename "$so")
build=${build:-$(dirname "$so")}

# packetdrill locks all its memory (mlockall, which also covers its threads'
# stacks) and asks for SCHED_RR: without root, or an unlimited locked-memory
# limit, it cannot even start its system-call thread.
if [[ $(id -u) -ne 0 && "$(ulimit -l)" != unlimited ]]; then
	echo "run_packetdrill.sh: SKIPPED: packetdrill needs root (it calls mlockall and" \
	     "sets SCHED_RR); run as root or with ulimit -l unlimited"
	exit 77
fi

pd=$("$repo/scripts/build-packetdrill.sh" "$build")
rc=$?
if [[ $rc -eq 77 ]]; then
	echo "run_packetdrill.sh: SKIPPED: packetdrill's source (../shared/vendor) is absent"
	exit 77
elif [[ $rc -ne 0 ]]; then
	echo "run_packetdrill.sh: could not build packetdrill" >&2
	exit 1
fi

if [[ ${#scripts[@]} -eq 0 ]]; then
	while IFS= read -r f; do scripts+=("$f"); done < <(find "$here" -name '*.pkt' | sort)
fi
isolate=()
if unshare -n true 2>/dev/null; then
	isolate=(unshare -n)
else
	echo "run_packetdrill.sh: note: unshare -n is not allowed here; running without a" \
	     "network namespace (the stand-ins keep scripts off the host's network)"
fi

pass=0 fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for f in "${scripts[@]}"; do
	name=${f#"$here"/}
	# A script that names its profile in a --so_flags= line of its own keeps
	# it: packetdrill lets the command line override a script's options.
	flags=(--so_flags="profile=$profile,local=192.168.0.1")
	if grep -q '^--so_flags=' "$f"; then
		flags=()
	fi
	start=$(date +%s%N)
	# the script's folder is the working directory, as packetdrill users expect
	if (cd "$(dirname "$f")" && PATH="$repo/tools/packetdrill/standins:$PATH" \
		timeout 60 "${isolate[@]}" "$pd" --so_filename="$so" "${flags[@]}" \
		--local_ip=192.168.0.1 "$(basename "$f")") >"$log" 2>&1; then
		ms=$((($(date +%s%N) - start) / 1000000))
		echo "PASS $name (${ms} ms)"
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		sed 's/^/    /' "$log"
		fail=$((fail + 1))
	fi
done
echo "packetdrill: $pass passed, $fail failed, $((pass + fail)) scripts"
[[ $fail -eq 0 ]]
