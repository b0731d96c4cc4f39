#!/usr/bin/env bash
# No function longer than LIMIT lines (from its name to its closing brace) in
# src/, tools/, tests/, examples/ and bench/: a longer one hides its steps; split it
# into named ones (docs/design.md). Relies on the tree's clang-format style
# (BreakBeforeBraces: Linux), which tests/cli/format_check.sh enforces: a
# function's braces stand alone at column 0.
#   usage: function_length.sh [--root DIR] [--limit N]
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
limit=120
while [ $# -gt 0 ]; do
	case $1 in
	--root) root=$2; shift 2 ;;
	--limit) limit=$2; shift 2 ;;
	*) echo "function_length.sh: unknown argument '$1' (usage: function_length.sh [--root DIR] [--limit N])" >&2; exit 2 ;;
	esac
done
cd "$root" || exit 2
files=$(find src tools tests examples bench -name '*.c' 2>/dev/null | sort)
[ -n "$files" ] || { echo "function_length: no C files under $root"; exit 2; }
# shellcheck disable=SC2086
awk -v limit="$limit" '
	FNR == 1 { head = 0; inbody = 0 }
	# a line at column 0 that can start a definition: remember where
	!inbody && /^[A-Za-z_]/ && !/;[[:space:]]*$/ && !/^(typedef|struct [A-Za-z_0-9]+ *[{=]|enum|union)/ {
		if (!head) { head = FNR; name = $0 }
	}
	!inbody && /^$/ { head = 0 }
	!inbody && /^[{]$/ && head {
		inbody = 1
		n = name; sub(/\(.*/, "", n); k = split(n, w, /[ *]+/); fname = w[k]
		next
	}
	inbody && /^[}]/ {
		len = FNR - head + 1
		if (len > limit) {
			printf "function_length: %s:%d %s is %d lines (limit %d)\n", FILENAME, head, fname, len, limit
			bad++
		}
		funcs++
		inbody = 0; head = 0
	}
	END {
		if (bad) { printf "function_length: %d functions over %d lines\n", bad, limit; exit 1 }
		printf "function_length: %d functions, none over %d lines\n", funcs, limit
	}
' $files
