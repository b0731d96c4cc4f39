#!/usr/bin/env bash
# Ladder diagrams as a user makes them: for every demo scenario, `glasstcp
# draw` on the scenario's JSON Lines trace and `glasstcp demo NAME --svg` give
# valid XML (xmllint), the same picture, every state change of the trace and
# the expected segment labels, and no two texts overlap (checked here
# independently of the renderer's own count, with Python's XML parser). Bad
# input ends with exit 2 and a one-line message.
#
# usage: bash draw_svg.sh /path/to/glasstcp
# shellcheck source=SCRIPTDIR/lib.bash
source "$(dirname "$0")/lib.bash"

require_tools xmllint python3

# The independent checks of one SVG: every state change of the trace's
# connection drawn as "FROM → TO", and no two <text> boxes intersecting. A
# box is 0.6 em per character wide (the monospace estimate), from 0.8 em
# above the baseline to 0.2 em below, placed by text-anchor.
cat >"$TMP/check.py" <<'EOF'
import json, sys
import xml.etree.ElementTree as ET

svg_path, trace_path = sys.argv[1], sys.argv[2]
NS = "{http://www.w3.org/2000/svg}"
root = ET.parse(svg_path).getroot()
problems = []

boxes = []
texts = []
for el in root.iter(NS + "text"):
    # the label itself, without a <title> tooltip child
    content = (el.text or "") + "".join(c.tail or "" for c in el)
    texts.append(content)
    size = float(el.get("font-size", "16"))
    x, y = float(el.get("x", "0")), float(el.get("y", "0"))
    w = 0.6 * size * len(content)
    anchor = el.get("text-anchor", "start")
    x0 = x - w / 2 if anchor == "middle" else x - w if anchor == "end" else x
    boxes.append((y - 0.8 * size, y + 0.2 * size, x0, x0 + w, content))
boxes.sort()
for i, a in enumerate(boxes):
    for b in boxes[i + 1:]:
        if b[0] >= a[1]:
            break
        if a[2] < b[3] - 0.01 and b[2] < a[3] - 0.01:
            problems.append("overlapping texts %r and %r" % (a[4], b[4]))
if not texts:
    problems.append("no text at all")

drawn = set(texts)
with open(trace_path) as f:
    for line in f:
        ev = json.loads(line)
        if ev["ev"] != "state":
            continue
        want = "%s \u2192 %s" % (ev["from"], ev["to"])
        if not any(t.startswith(want) for t in drawn):
            problems.append("state change %s (%s) not drawn" % (want, ev["host"]))
for p in problems[:10]:
    print(p)
sys.exit(1 if problems else 0)
EOF

# The checker itself catches overlaps, text-anchor included, and missing states.
: >"$TMP/none.jsonl"
svg_head='<svg xmlns="http://www.w3.org/2000/svg" width="400" height="100">'
# "abcdefghij" at 10 px ends at x=160 (anchored end) or 130 (middle at 100)
printf '%s<text x="160" y="20" font-size="10" text-anchor="end">abcdefghij</text><text x="155" y="22" font-size="10">x</text></svg>\n' \
	"$svg_head" >"$TMP/overlap-end.svg"
printf '%s<text x="100" y="20" font-size="10" text-anchor="middle">abcdefghij</text><text x="125" y="25" font-size="10">x</text></svg>\n' \
	"$svg_head" >"$TMP/overlap-middle.svg"
printf '%s<text x="100" y="20" font-size="10" text-anchor="middle">abcdefghij</text><text x="131" y="20" font-size="10">x</text><text x="100" y="31" font-size="10">x</text></svg>\n' \
	"$svg_head" >"$TMP/apart.svg"
printf '{"t_us":0,"host":"a","ev":"state","conn":"192.0.2.1:1>192.0.2.2:2","from":"CLOSED","to":"SYN_SENT","cause":"connect()"}\n' >"$TMP/one-state.jsonl"
python3 "$TMP/check.py" "$TMP/overlap-end.svg" "$TMP/none.jsonl" >/dev/null && fail "check.py misses an overlap (text-anchor end)"
python3 "$TMP/check.py" "$TMP/overlap-middle.svg" "$TMP/none.jsonl" >/dev/null && fail "check.py misses an overlap (text-anchor middle)"
python3 "$TMP/check.py" "$TMP/apart.svg" "$TMP/none.jsonl" >/dev/null || fail "check.py sees an overlap in texts that are apart"
python3 "$TMP/check.py" "$TMP/apart.svg" "$TMP/one-state.jsonl" >/dev/null && fail "check.py misses a state change that is not drawn"

# Labels each scenario's picture must show (relative sequence numbers).
expect_labels() {
	case $1 in
	refused) echo "S seq=0 len=0|RA seq=0 ack=1 len=0 win=0|dropped: no_connection" ;;
	abort) echo "SA seq=0 ack=1 len=0|PA seq=1 ack=1 len=5|R seq=1 len=0 win=0" ;;
	syn-lost) echo "SA seq=0 ack=1 len=0|(rexmit)|lost|RTO 1 s" ;;
	lost-fin) echo "SA seq=0 ack=1 len=0|FA seq=1 ack=1 len=0 win=65535 lost|FA seq=1 ack=1 len=0 win=65535 (rexmit)|RTO " ;;
	lost-last-ack) echo "SA seq=0 ack=1 len=0|A seq=2 ack=2 len=0 win=65534 lost|(rexmit)|restarted|TIME_WAIT 2·MSL 60 s" ;;
	close) echo "SA seq=0 ack=1 len=0|FA seq=1 ack=1 len=0 win=65535|A seq=1 ack=2 len=0|≈ 60 s|TIME_WAIT 2·MSL 60 s" ;;
	transfer) echo "SA seq=0 ack=1 len=0|A seq=1 ack=1 len=1448|A seq=1449 ack=1 len=1448" ;;
	half-close) echo "SA seq=0 ack=1 len=0|len=100|len=1000" ;;
	*) echo "SA seq=0 ack=1 len=0" ;;
	esac
}

# States each scenario is about (besides the generic check of every one).
expect_states() {
	case $1 in
	close | close-server | lost-last-ack) echo "FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT CLOSE_WAIT LAST_ACK" ;;
	close-3way | half-close | lost-fin | handshake) echo "FIN_WAIT_1 TIME_WAIT CLOSE_WAIT LAST_ACK" ;;
	simultaneous-close) echo "FIN_WAIT_1 CLOSING TIME_WAIT" ;;
	simultaneous-open) echo "SYN_SENT SYN_RECEIVED ESTABLISHED" ;;
	refused) echo "SYN_SENT CLOSED" ;;
	*) echo "SYN_SENT SYN_RECEIVED ESTABLISHED" ;;
	esac
}

scenarios=$("$GT" demo --list | awk '{print $1}')
[ "$(echo "$scenarios" | grep -c .)" -ge 13 ] || fail "demo --list shows too few scenarios"
for name in $scenarios; do
	# syn-flood's trace has thousands of connections, the first a spoofed one;
	# its --svg is the client's connection (the flood left out), checked below
	[ "$name" = syn-flood ] && continue
	d="$TMP/$name"
	mkdir -p "$d"
	"$GT" demo "$name" --json >"$d/t.jsonl" || fail "$name: demo --json exited $?"
	"$GT" draw "$d/t.jsonl" -o "$d/x.svg" 2>"$d/err" || fail "$name: draw exited $?: $(cat "$d/err")"
	"$GT" demo "$name" --svg "$d/y.svg" >"$d/table" || fail "$name: demo --svg exited $?"
	grep -q "$name: ok" "$d/table" || fail "$name: demo --svg changed the table's summary"
	for svg in x y; do
		f="$d/$svg.svg"
		[ -s "$f" ] || {
			fail "$name: $svg.svg not written"
			continue
		}
		xmllint --noout "$f" 2>"$d/xmllint" || fail "$name: $svg.svg is not valid XML: $(head -3 "$d/xmllint")"
		out=$(python3 "$TMP/check.py" "$f" "$d/t.jsonl" 2>&1) || fail "$name: $svg.svg: $out"
		for s in $(expect_states "$name"); do
			grep -q "$s" "$f" || fail "$name: $svg.svg lacks state $s"
		done
		IFS='|' read -r -a labels <<<"$(expect_labels "$name")"
		for l in "${labels[@]}"; do
			grep -qF -- "$l" "$f" || fail "$name: $svg.svg lacks label '$l'"
		done
	done
	# Through the JSON reader or straight from the run: the same picture.
	"$GT" draw "$d/t.jsonl" --title "glasstcp demo $name" -o "$d/z.svg" ||
		fail "$name: draw --title exited $?"
	cmp -s "$d/y.svg" "$d/z.svg" || fail "$name: draw of the JSON trace differs from demo --svg"
done

# A capture explained: only sends and inferred states, hosts named "ip:port".
for name in close lost-fin transfer; do
	d="$TMP/$name"
	"$GT" demo "$name" --pcap "$d/c.pcap" >/dev/null || fail "$name: demo --pcap exited $?"
	"$GT" explain "$d/c.pcap" --json >"$d/e.jsonl" || fail "$name: explain --json exited $?"
	"$GT" draw "$d/e.jsonl" -o "$d/e.svg" 2>"$d/err" || fail "$name: draw of explain's trace exited $?: $(cat "$d/err")"
	xmllint --noout "$d/e.svg" 2>/dev/null || fail "$name: draw of explain's trace is not valid XML"
	out=$(python3 "$TMP/check.py" "$d/e.svg" "$d/e.jsonl" 2>&1) || fail "$name: explained: $out"
	grep -qF "SA seq=0 ack=1 len=0" "$d/e.svg" || fail "$name: explained: no SYN-ACK label"
	grep -qF ">192.0.2.2:80<" "$d/e.svg" || fail "$name: explained: the server is not named by its address"
done

# syn-flood --svg: the client's connection, the flood left out of the picture
"$GT" demo syn-flood --svg "$TMP/flood.svg" >/dev/null 2>"$TMP/err" || fail "syn-flood --svg exited $?: $(cat "$TMP/err")"
grep -q "192.0.2.1" "$TMP/flood.svg" || fail "syn-flood --svg: not the client's connection"
grep -q "198\.1[89]\." "$TMP/flood.svg" && fail "syn-flood --svg: a spoofed source in the picture"

# The seed's scenario in detail: --absolute, stdin, --list, --html.
d="$TMP/close"
isn=$(head -2 "$d/t.jsonl" | python3 -c 'import json,sys; print([json.loads(l) for l in sys.stdin][1]["seq"])')
"$GT" draw "$d/t.jsonl" --absolute -o "$d/abs.svg" || fail "draw --absolute exited $?"
grep -qF "S seq=$isn len=0" "$d/abs.svg" || fail "draw --absolute: no 'S seq=$isn'"
grep -qF "S seq=0 len=0" "$d/abs.svg" && fail "draw --absolute still shows relative numbers"
"$GT" draw - -o - <"$d/t.jsonl" >"$d/stdin.svg" || fail "draw - -o - exited $?"
cmp -s "$d/stdin.svg" "$d/x.svg" || fail "draw from stdin differs from draw of the file"
"$GT" draw "$d/t.jsonl" --list >"$d/list" || fail "draw --list exited $?"
[ "$(wc -l <"$d/list")" -eq 1 ] || fail "draw --list: expected one connection, got: $(cat "$d/list")"
grep -q "^0  192.0.2.1:[0-9]*>192.0.2.2:80 .*client: CLOSED > SYN_SENT > ESTABLISHED > FIN_WAIT_1 > FIN_WAIT_2 > TIME_WAIT > CLOSED; server: CLOSED > LISTEN" "$d/list" ||
	fail "draw --list: unexpected line: $(cat "$d/list")"
"$GT" draw "$d/t.jsonl" --html "$d/r.html" 2>"$d/err" || fail "draw --html exited $?: $(cat "$d/err")"
grep -q "<svg" "$d/r.html" || fail "draw --html: no inline SVG in the report"
"$GT" demo close --html "$d/demo.html" >/dev/null || fail "demo --html exited $?"
grep -q "glasstcp demo close" "$d/demo.html" || fail "demo --html: the report lacks its title"
# demo's other outputs do not change with --svg
"$GT" demo close --json --svg "$d/j.svg" >"$d/j.jsonl" || fail "demo --json --svg exited $?"
cmp -s "$d/j.jsonl" "$d/t.jsonl" || fail "demo --json --svg changed the JSON output"
cmp -s "$d/j.svg" "$d/y.svg" || fail "demo --json --svg drew a different picture"

# ---- bad input and bad usage: exit 2, one line, no crash ----

expect_exit() {
	local want=$1 what=$2
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	local rc=$?
	[ "$rc" -eq "$want" ] || fail "$what: exit $rc, expected $want ($(head -c 300 "$TMP/err"))"
	[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "$what: expected a one-line message, got: $(cat "$TMP/err")"
	grep -q "^glasstcp draw: " "$TMP/err" || fail "$what: message lacks 'glasstcp draw: '"
}
printf 'this is not JSON\n' >"$TMP/text.jsonl"
: >"$TMP/empty.jsonl"
printf '{"t_us":0,"host":"server","ev":"state","conn":"192.0.2.2:80>0.0.0.0:0","from":"CLOSED","to":"LISTEN","cause":"listen()"}\n' >"$TMP/listener.jsonl"
head -c 150 "$TMP/close/t.jsonl" >"$TMP/truncated.jsonl"
head -c 4096 /dev/urandom >"$TMP/binary.jsonl"
expect_exit 2 "missing file" "$GT" draw "$TMP/no-such-file.jsonl" -o "$TMP/o.svg"
expect_exit 2 "not JSON" "$GT" draw "$TMP/text.jsonl" -o "$TMP/o.svg"
expect_exit 2 "empty file" "$GT" draw "$TMP/empty.jsonl" -o "$TMP/o.svg"
expect_exit 2 "listener only" "$GT" draw "$TMP/listener.jsonl" -o "$TMP/o.svg"
expect_exit 2 "truncated line" "$GT" draw "$TMP/truncated.jsonl" -o "$TMP/o.svg"
expect_exit 2 "binary junk" "$GT" draw "$TMP/binary.jsonl" -o "$TMP/o.svg"
expect_exit 2 "a directory" "$GT" draw "$TMP" -o "$TMP/o.svg"
expect_exit 2 "no such connection" "$GT" draw "$TMP/close/t.jsonl" --conn 1 -o "$TMP/o.svg"
expect_exit 2 "bad --conn" "$GT" draw "$TMP/close/t.jsonl" --conn -1 -o "$TMP/o.svg"
expect_exit 2 "no trace" "$GT" draw
expect_exit 2 "nothing to do" "$GT" draw "$TMP/close/t.jsonl"
expect_exit 2 "unknown option" "$GT" draw "$TMP/close/t.jsonl" --frobnicate
expect_exit 2 "two traces" "$GT" draw "$TMP/close/t.jsonl" "$TMP/close/t.jsonl" -o "$TMP/o.svg"
expect_exit 1 "unwritable output" "$GT" draw "$TMP/close/t.jsonl" -o "$TMP/no-dir/o.svg"
[ -e "$TMP/o.svg" ] && fail "a failed draw left an output file"
"$GT" draw --help >"$TMP/help" || fail "draw --help exited $?"
grep -q "usage: glasstcp draw" "$TMP/help" || fail "draw --help shows no usage"
"$GT" demo --help | grep -q -- "--svg FILE" || fail "demo --help does not mention --svg"

finish "every scenario drawn, valid, labelled and without overlapping texts"
