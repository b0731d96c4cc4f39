#!/usr/bin/env bash
# The layering check: every #include "..." under include/, src/ and tools/,
# and (given a build tree) every gt_ symbol an object file of the library
# uses, must follow an arrow allowed below. Exit 1 names each forbidden one.
#
#   usage: layering.sh [--root DIR] [--objects DIR]
#     --root     the source tree (default: this script's repository)
#     --objects  the library's object files, one folder per part as CMake
#                lays them out (BUILD/CMakeFiles/glasstcp_obj.dir): checks
#                calls too, not only includes
#
# The parts, lowest first, and what each may use besides itself
# (docs/design.md draws the same picture). The public headers are the floor
# everyone stands on; the library (src/) never reaches into tools/, tools
# reach the library only through its public headers.
declare -A ALLOWED=(
	[include]=""
	[src/base]="include"
	[src/wire]="include"
	[src/tcp]="include src/wire src/base"
	[src/trace]="include src/base"
	[src/stack]="include src/wire src/tcp src/base"
	[src/backend]="include src/wire src/base"
	[tools/view]="include"
	[tools/apps]="include"
	[tools/kernel]="include"
	[tools/scenarios]="include tools/apps"
	[tools/packetdrill]="include"
	[tools/script]="include tools/packetdrill"
	[tools/cli]="include tools/view tools/apps tools/kernel tools/scenarios tools/packetdrill tools/script"
)
# Calls only: a part may also call the public API (what include/glasstcp
# declares) of these parts, the way an application does: the backends drive
# the stack and write pcap like any program linking the library.
declare -A CALLS=(
	[src/backend]="src/stack src/trace"
)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
objects=
while [ $# -gt 0 ]; do
	case $1 in
	--root) root=$2; shift 2 ;;
	--objects) objects=$2; shift 2 ;;
	*) echo "layering.sh: unknown argument '$1' (usage: layering.sh [--root DIR] [--objects DIR])" >&2; exit 2 ;;
	esac
done
cd "$root" || exit 2

# The part a file (path from the root) belongs to: include, src/X or tools/X.
part_of() {
	case $1 in
	include/*) echo include ;;
	src/*/* | tools/*/*) echo "$1" | cut -d/ -f1-2 ;;
	*) echo "${1%%/*}" ;;
	esac
}

# The file a quoted include names, searched as the compiler would: the
# including file's folder, then include/, src/, tools/.
resolve() {
	local from=$1 inc=$2 dir
	dir=$(dirname "$from")
	for cand in "$dir/$inc" "include/$inc" "src/$inc" "tools/$inc"; do
		if [ -f "$cand" ]; then
			echo "$cand"
			return
		fi
	done
}

# allowed FROM TO [TABLE]: is TO in FROM's row of TABLE (default ALLOWED)?
allowed() {
	local from=$1 to=$2
	local -n table=${3:-ALLOWED}
	[ "$from" = "$to" ] && return 0
	for a in ${table[$from]-}; do
		[ "$a" = "$to" ] && return 0
	done
	return 1
}

bad=0
checked=0
while IFS= read -r file; do
	from=$(part_of "$file")
	if [ -z "${ALLOWED[$from]+set}" ]; then
		echo "layering: $file is in '$from', a part with no row in the table of $0"
		bad=$((bad + 1))
		continue
	fi
	while IFS=: read -r line inc; do
		checked=$((checked + 1))
		target=$(resolve "$file" "$inc")
		if [ -z "$target" ]; then
			echo "layering: $file:$line includes \"$inc\", which is no file of the tree"
			bad=$((bad + 1))
			continue
		fi
		to=$(part_of "$target")
		if ! allowed "$from" "$to"; then
			echo "layering: $file:$line includes \"$inc\": $from -> $to is not an allowed arrow"
			bad=$((bad + 1))
		fi
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" |
		sed -E 's/^([0-9]+):[^"]*"([^"]+)".*/\1:\2/')
done < <(find include src tools -name '*.[ch]' 2>/dev/null | sort)

# Calls: a gt_ symbol an object uses must be defined in its own part or in
# one it may use (what an include check cannot see: a declaration written
# by hand, a prototype-less call).
if [ -n "$objects" ]; then
	declare -A DEFINED_IN=()
	while read -r obj; do
		p=$(part_of "${obj#"$objects"/}")
		while read -r sym; do
			DEFINED_IN[$sym]=$p
		done < <(nm --defined-only -g "$obj" | awk '$3 ~ /^gt_/ {print $3}')
	done < <(find "$objects" -name '*.o' | sort)
	if [ ${#DEFINED_IN[@]} -eq 0 ]; then
		echo "layering: no object files with gt_ symbols under $objects"
		exit 2
	fi
	declare -A PUBLIC=()
	while read -r sym; do
		PUBLIC[$sym]=1
	done < <(cat include/glasstcp/*.h | grep -oE '\bgt_[a-z0-9_]+[[:space:]]*\(' | tr -d '( \t')
	while read -r obj; do
		rel=${obj#"$objects"/}
		from=$(part_of "$rel")
		while read -r sym; do
			checked=$((checked + 1))
			to=${DEFINED_IN[$sym]-}
			[ -z "$to" ] && continue # defined outside the library (tests, fuzz)
			if [ -n "${PUBLIC[$sym]-}" ] && allowed "$from" "$to" CALLS; then
				continue
			fi
			if ! allowed "$from" "$to"; then
				echo "layering: ${rel%.o} uses $sym (in $to): $from -> $to is not an allowed arrow"
				bad=$((bad + 1))
			fi
		done < <(nm --undefined-only "$obj" | awk '$2 ~ /^gt_/ {print $2}')
	done < <(find "$objects" -name '*.o' | sort)
fi

if [ $bad -gt 0 ]; then
	echo "layering: $bad forbidden arrows (the allowed ones are at the top of $0)"
	exit 1
fi
echo "layering: $checked includes and uses checked, all along allowed arrows"
