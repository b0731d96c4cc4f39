# shellcheck shell=bash
# What the tests/cli/*.sh scripts share; each one starts with
#   source "$(dirname "$0")/lib.bash"
# (not a .sh: tests/CMakeLists.txt makes every tests/cli/*.sh a test). The
# script's first argument is the glasstcp binary: $GT. Also sets TEST_NAME
# (the script's name without .sh), TMP (a scratch directory, removed at exit)
# and failures, and defines fail, require_tools and finish.
set -u

TEST_NAME=$(basename "$0" .sh)
# shellcheck disable=SC2034 # GT is for the scripts that source this
GT=${1:?usage: $TEST_NAME.sh /path/to/glasstcp}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0

# fail MESSAGE...: one check failed; the script goes on with the next.
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# require_tools TOOL...: exit 1 unless every TOOL is installed.
require_tools() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || {
			echo "$TEST_NAME: $tool is not installed (scripts/install-deps.sh installs it)" >&2
			exit 1
		}
	done
}

# finish SUMMARY: exit 1 with the number of failed checks, or print
# "TEST_NAME: SUMMARY" and exit 0.
finish() {
	if [ "$failures" -ne 0 ]; then
		echo "$TEST_NAME: $failures check(s) failed" >&2
		exit 1
	fi
	echo "$TEST_NAME: $1"
	exit 0
}
