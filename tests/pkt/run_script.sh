#!/usr/bin/env bash
# Runs every script under tests/pkt (tests/pkt/AREA/*.pkt) through glasstcp's
# own interpreter, `glasstcp script`, on the adapter linked into the CLI:
# all must pass. CTest registers it as pkt_script.
#
#   usage: run_script.sh GLASSTCP [SCRIPT_FLAGS...]
set -u
cli=${1:?usage: run_script.sh GLASSTCP [SCRIPT_FLAGS...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t scripts < <(find "$here" -name '*.pkt' | sort)
if [ ${#scripts[@]} -eq 0 ]; then
	echo "run_script.sh: no scripts under $here" >&2
	exit 1
fi
"$cli" script "$@" "${scripts[@]}"
