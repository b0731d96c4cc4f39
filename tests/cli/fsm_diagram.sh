#!/usr/bin/env bash
# `glasstcp fsm` as a user sees it: the plain diagram and the one with every
# demo trace counted are valid XML (xmllint) holding all eleven states, the DOT
# output is accepted by Graphviz, --report lists the transitions never taken
# and the counts (CLOSING's from simultaneous-close), and bad input exits 2
# with a one-line message.
#
# usage: bash fsm_diagram.sh /path/to/glasstcp
# shellcheck source=SCRIPTDIR/lib.bash
source "$(dirname "$0")/lib.bash"

require_tools xmllint dot

STATES="CLOSED LISTEN SYN_SENT SYN_RECEIVED ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 CLOSE_WAIT
	CLOSING LAST_ACK TIME_WAIT"

# check_svg FILE WHAT: well-formed XML, an <svg> root, every state drawn.
check_svg() {
	xmllint --noout "$1" 2>"$TMP/xmlerr" || fail "$2: xmllint: $(head -3 "$TMP/xmlerr")"
	root=$(xmllint --xpath 'local-name(/*)' "$1" 2>/dev/null)
	[ "$root" = svg ] || fail "$2: root element is '$root', not svg"
	for s in $STATES; do
		grep -q ">$s</text>" "$1" || fail "$2: no state $s"
	done
}

# ---- the plain diagram ----

"$GT" fsm -o "$TMP/plain.svg" 2>"$TMP/err" || fail "fsm -o exited $?: $(cat "$TMP/err")"
check_svg "$TMP/plain.svg" "plain diagram"
grep -q 'rcv SYN,ACK' "$TMP/plain.svg" || fail "plain diagram: no label 'rcv SYN,ACK'"
grep -q 'never taken' "$TMP/plain.svg" && fail "plain diagram: has a coverage list without traces"
"$GT" fsm >"$TMP/stdout.svg" 2>"$TMP/err" || fail "fsm to stdout exited $?"
cmp -s "$TMP/plain.svg" "$TMP/stdout.svg" || fail "fsm: stdout and -o FILE differ"
"$GT" fsm --help >"$TMP/help" 2>&1 || fail "fsm --help exited $?"
grep -q '^usage: glasstcp fsm' "$TMP/help" || fail "fsm --help: no usage line"

# ---- with every demo trace ----

scenarios=$("$GT" demo --list | awk '{print $1}')
traces=()
for s in $scenarios; do
	"$GT" demo "$s" --json >"$TMP/$s.jsonl" 2>"$TMP/err" || fail "demo $s --json exited $?"
	traces+=("$TMP/$s.jsonl")
done
[ ${#traces[@]} -ge 13 ] || fail "only ${#traces[@]} demo traces"

"$GT" fsm "${traces[@]}" -o "$TMP/all.svg" 2>"$TMP/err" ||
	fail "fsm TRACES -o exited $?: $(cat "$TMP/err")"
check_svg "$TMP/all.svg" "diagram with counts"
grep -q 'never taken (' "$TMP/all.svg" || fail "diagram with counts: no 'never taken' list"
grep -q "data-from=\"FIN_WAIT_1\" data-to=\"CLOSING\" data-count=\"[1-9]" "$TMP/all.svg" ||
	fail "diagram with counts: FIN_WAIT_1 -> CLOSING not taken"
grep -q '×' "$TMP/all.svg" || fail "diagram with counts: no ×N count"

# --report: text on stdout, and the diagram too when -o is given
"$GT" fsm "${traces[@]}" --report >"$TMP/report" 2>"$TMP/err" || fail "fsm --report exited $?"
grep -q '^never taken:' "$TMP/report" || fail "--report: no 'never taken:'"
grep -q '^unexpected: none$' "$TMP/report" || fail "--report: glasstcp took an unexpected transition"
closing=$(awk '$2 == "FIN_WAIT_1" && $4 == "CLOSING" {print $1}' "$TMP/report")
[ -n "$closing" ] && [ "$closing" -ge 2 ] ||
	fail "--report: FIN_WAIT_1 -> CLOSING count '$closing', want >= 2 (simultaneous-close)"
tw=$(awk '$2 == "CLOSING" && $4 == "TIME_WAIT" {print $1}' "$TMP/report")
[ -n "$tw" ] && [ "$tw" -ge 2 ] || fail "--report: CLOSING -> TIME_WAIT count '$tw', want >= 2"
grep -q '<svg' "$TMP/report" && fail "--report without -o also wrote the SVG to stdout"
rm -f "$TMP/rep.svg"
"$GT" fsm "${traces[@]}" --report -o "$TMP/rep.svg" >"$TMP/report2" || fail "--report -o exited $?"
check_svg "$TMP/rep.svg" "--report -o diagram"
cmp -s "$TMP/report" "$TMP/report2" || fail "--report output differs with -o"

# one trace read from stdin counts the same as from a file
"$GT" fsm --report - <"$TMP/simultaneous-close.jsonl" >"$TMP/r_stdin" || fail "fsm - exited $?"
"$GT" fsm --report "$TMP/simultaneous-close.jsonl" >"$TMP/r_file" || fail "fsm FILE exited $?"
cmp -s "$TMP/r_stdin" "$TMP/r_file" || fail "reading from stdin counts differently"

# ---- DOT, checked by Graphviz ----

"$GT" fsm --dot -o "$TMP/plain.dot" || fail "fsm --dot exited $?"
dot -Tsvg "$TMP/plain.dot" -o "$TMP/plain_dot.svg" 2>"$TMP/doterr" ||
	fail "dot rejects the plain DOT: $(head -3 "$TMP/doterr")"
"$GT" fsm --dot "${traces[@]}" >"$TMP/all.dot" || fail "fsm --dot TRACES exited $?"
dot -Tsvg "$TMP/all.dot" -o "$TMP/all_dot.svg" 2>"$TMP/doterr" ||
	fail "dot rejects the DOT with counts: $(head -3 "$TMP/doterr")"
xmllint --noout "$TMP/all_dot.svg" 2>/dev/null || fail "dot's SVG of our DOT is not XML"
for s in $STATES; do
	grep -q ">$s</text>" "$TMP/all_dot.svg" || fail "DOT: Graphviz drew no state $s"
done

# ---- bad input: exit 2, one line on stderr ----

# expect_bad WHAT ARGS...: exit status 2 and exactly one line on stderr.
expect_bad() {
	what=$1
	shift
	"$GT" fsm "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	[ $rc -eq 2 ] || fail "$what: exit $rc, want 2"
	lines=$(wc -l <"$TMP/err")
	[ "$lines" -eq 1 ] || fail "$what: $lines lines on stderr, want 1: $(head -3 "$TMP/err")"
	grep -q '^glasstcp fsm: ' "$TMP/err" || fail "$what: message not prefixed: $(cat "$TMP/err")"
}

expect_bad "missing trace" "$TMP/no-such-file.jsonl"
printf 'this is not json\n' >"$TMP/bad.jsonl"
expect_bad "not JSON" "$TMP/bad.jsonl"
grep -q 'bad.jsonl:1: ' "$TMP/err" || fail "not JSON: no FILE:LINE in '$(cat "$TMP/err")'"
{
	head -3 "$TMP/close.jsonl"
	echo '{"t_us":1,"host":"a","ev":"state","conn":null,"from":"CLOSED","to":"NOWHERE"}'
} >"$TMP/badstate.jsonl"
expect_bad "unknown state" "$TMP/badstate.jsonl"
grep -q 'badstate.jsonl:4: .*NOWHERE' "$TMP/err" || fail "unknown state: '$(cat "$TMP/err")'"
head -c 3000 /dev/urandom >"$TMP/random.bin"
expect_bad "binary junk" "$TMP/random.bin"
expect_bad "unknown option" --frobnicate
expect_bad "-o without a file" -o
expect_bad "good then bad trace" "$TMP/close.jsonl" "$TMP/bad.jsonl"
: >"$TMP/empty.jsonl"
"$GT" fsm --report "$TMP/empty.jsonl" >"$TMP/out" 2>"$TMP/err" || fail "empty trace: exit $?"
grep -q 'taken in 1 trace' "$TMP/out" || fail "empty trace: not counted as one trace"

finish "ok"
