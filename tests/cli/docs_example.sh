#!/usr/bin/env bash
# docs/api.md shows examples/sim_hello.c whole: the ```c block after the
# line "<!-- examples/sim_hello.c -->" must be the file (the file is built and
# run as the test example_sim_hello, so the page's program compiles and works).
source "$(dirname "$0")/lib.bash"
root=$(cd "$(dirname "$0")/../.." && pwd)
doc=docs/api.md
grep -o '^<!-- examples/[a-z_]*\.c -->$' "$root/$doc" | sed 's/^<!-- \(.*\) -->$/\1/' >"$TMP/list"
[ -s "$TMP/list" ] || fail "$doc shows no example (no <!-- examples/NAME.c --> line)"
while read -r ex; do
	awk -v m="<!-- $ex -->" '$0 == m {on = 1; next} on == 1 && /^```c$/ {on = 2; next}
		on == 2 && /^```$/ {exit} on == 2 {print}' "$root/$doc" >"$TMP/shown.c"
	diff -u "$root/$ex" "$TMP/shown.c" >"$TMP/diff" ||
		fail "$doc's copy of $ex differs from the file: $(head -20 "$TMP/diff")"
done <"$TMP/list"
finish "docs/api.md's programs are the files in examples/"
