#!/usr/bin/env bash
# The structure checks' own test. On a copy of the tree the layering check
# must pass as the tree is, and fail, naming the arrow, on each forbidden
# include or call planted in the copy; the function length check must fail
# on a planted function one line over its limit and pass on one at it.
#   usage: selftest.sh OBJECTS_DIR   (BUILD/CMakeFiles/glasstcp_obj.dir)
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
objects=${1:?usage: selftest.sh OBJECTS_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

fresh_copy() {
	rm -rf "$tmp/tree" "$tmp/objects"
	mkdir -p "$tmp/tree"
	cp -r "$top/include" "$top/src" "$top/tools" "$tmp/tree/"
	cp -r "$objects" "$tmp/objects"
}

# expect_pass NAME / expect_fail NAME MESSAGE: runs the check on the copy
expect_pass() {
	if ! out=$(bash "$here/layering.sh" --root "$tmp/tree" --objects "$tmp/objects" 2>&1); then
		echo "FAIL $1: the check failed on an unchanged tree:"
		echo "$out"
		fail=1
	else
		echo "ok   $1"
	fi
}
expect_fail() {
	out=$(bash "$here/layering.sh" --root "$tmp/tree" --objects "$tmp/objects" 2>&1)
	rc=$?
	if [ $rc -ne 1 ] || ! grep -qF -- "$2" <<<"$out"; then
		echo "FAIL $1: wanted exit 1 and '$2', got exit $rc:"
		echo "$out"
		fail=1
	else
		echo "ok   $1"
	fi
}
# plant FILE LINE: adds an include line at the top of a file of the copy
plant() {
	sed -i "1i $2" "$tmp/tree/$1"
}
# plant_call PART SYMBOL: an object in PART that calls SYMBOL
plant_call() {
	mkdir -p "$tmp/objects/$1"
	printf 'void %s(void);\nvoid planted_%s(void);\nvoid planted_%s(void) { %s(); }\n' \
		"$2" "$2" "$2" "$2" >"$tmp/planted.c"
	cc -c -o "$tmp/objects/$1/planted.c.o" "$tmp/planted.c"
}

# A case: a fresh copy with one include (or one call) planted, which the
# check must refuse with the message given.
include_case() { # NAME FILE LINE MESSAGE
	fresh_copy
	plant "$2" "$3"
	expect_fail "$1" "$4"
}
call_case() { # NAME PART SYMBOL MESSAGE
	fresh_copy
	plant_call "$2" "$3"
	expect_fail "$1" "$4"
}

fresh_copy
expect_pass "the tree as it is"
include_case "engine includes the stack" src/tcp/input.c '#include "stack/stack_impl.h"' \
	"src/tcp -> src/stack is not an allowed arrow"
include_case "wire includes the engine" src/wire/wire.c '#include "tcp/seq.h"' \
	"src/wire -> src/tcp is not an allowed arrow"
include_case "library includes a tool" src/stack/api.c '#include "view/svg.h"' \
	"src/stack -> tools/view is not an allowed arrow"
include_case "tool includes the engine" tools/view/svg.c '#include "tcp/tcb.h"' \
	"tools/view -> src/tcp is not an allowed arrow"
include_case "an include that names no file" src/tcp/tcb.c '#include "no/such/header.h"' \
	"which is no file of the tree"
call_case "engine calls the stack" src/tcp gt_stack_lookup \
	"uses gt_stack_lookup (in src/stack): src/tcp -> src/stack"
call_case "engine calls the stack's public API" src/tcp gt_stack_input \
	"uses gt_stack_input (in src/stack): src/tcp -> src/stack"
call_case "backend calls a stack internal" src/backend gt_stack_lookup \
	"uses gt_stack_lookup (in src/stack): src/backend -> src/stack"
fresh_copy
plant_call src/backend gt_stack_input
expect_pass "backend calls the stack's public API"

# a function of n lines from its name to its closing brace
long_function() {
	printf 'int planted_long(void);\nint planted_long(void)\n{\n\tint x = 0;\n'
	for _ in $(seq 1 $(($1 - 5))); do printf '\tx++;\n'; done
	printf '\treturn x;\n}\n'
}
mkdir -p "$tmp/fl/src/tcp"
long_function 120 >"$tmp/fl/src/tcp/planted.c"
if out=$(bash "$here/function_length.sh" --root "$tmp/fl" 2>&1); then
	echo "ok   a function of exactly 120 lines"
else
	echo "FAIL a function of exactly 120 lines was refused:"
	echo "$out"
	fail=1
fi
long_function 121 >"$tmp/fl/src/tcp/planted.c"
out=$(bash "$here/function_length.sh" --root "$tmp/fl" 2>&1)
if [ $? -eq 1 ] && grep -qF "src/tcp/planted.c:2 planted_long is 121 lines" <<<"$out"; then
	echo "ok   a function of 121 lines"
else
	echo "FAIL a function of 121 lines was not named:"
	echo "$out"
	fail=1
fi

exit $fail
