#!/bin/bash
# The HTML report in a real browser: `glasstcp demo close --html` (and the same
# through `glasstcp draw --html` from the JSON Lines trace) is well-formed,
# names no URL, and headless Chromium loads it with no exception, no console
# error, no failed or foreign load, draws the expected figures and a screenshot
# that is not blank. The checker (report_browser.py, DevTools protocol over a
# pipe) is first shown to catch each failure: a script error, a missing
# resource, a blank page.
# Usage: bash report_browser.sh path/to/glasstcp
set -u
GT=${1:?usage: report_browser.sh path/to/glasstcp}
HERE=$(cd "$(dirname "$0")" && pwd)
CHECK="$HERE/report_browser.py"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
	# scripts/install-deps.sh installs it; without root it cannot be installed here
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: chromium is not installed (scripts/install-deps.sh installs it)" >&2
		exit 77
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || true
	CHROMIUM=$(command -v chromium || true)
	[ -n "$CHROMIUM" ] || fail "chromium is not installed and apt-get could not install it"
fi
command -v python3 >/dev/null || fail "python3 is needed"
command -v xmllint >/dev/null || fail "xmllint (libxml2-utils) is needed"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

browser() {
	timeout 90 python3 "$CHECK" --chromium "$CHROMIUM" "$@"
}

# ---- the checker can fail ----
cat >"$TMP/script-error.html" <<'EOF'
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"/><title>script error</title></head>
<body><h1>A page with a script error</h1><p>Some text so that it is not blank.</p>
<script>undefined_fn()</script></body></html>
EOF
cat >"$TMP/missing-resource.html" <<'EOF'
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"/><title>missing image</title></head>
<body><h1>A page with a missing image</h1><img src="no-such-image.png" alt="x"/></body></html>
EOF
cat >"$TMP/blank.html" <<'EOF'
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"/><title>blank</title></head><body></body></html>
EOF
browser "$TMP/script-error.html" --expect-errors >"$TMP/out" 2>&1 || {
	cat "$TMP/out"
	fail "the script error was not detected"
}
grep -q "undefined_fn" "$TMP/out" || fail "the exception is not the script's: $(cat "$TMP/out")"
browser "$TMP/missing-resource.html" --expect-errors >"$TMP/out" 2>&1 || {
	cat "$TMP/out"
	fail "the missing image was not detected"
}
grep -q "no-such-image.png" "$TMP/out" || fail "the failed load is not named: $(cat "$TMP/out")"
# a clean page with nothing on it: no error, but blank
browser "$TMP/blank.html" >"$TMP/out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "a blank page passed (exit $rc): $(cat "$TMP/out")"
grep -q "looks blank" "$TMP/out" || fail "the blank page failed for another reason: $(cat "$TMP/out")"
# and the script-error page does not pass as clean
browser "$TMP/script-error.html" >"$TMP/out" 2>&1
[ $? -eq 1 ] || fail "a page with a script error passed as clean"

# ---- the report of `demo close` ----
check_report() { # FILE: what every report must be
	local f=$1
	[ -s "$f" ] || fail "$f is empty"
	xmllint --noout "$f" 2>"$TMP/xml" || fail "$f is not well-formed: $(head -5 "$TMP/xml")"
	# the HTML parser of libxml2 2.9 knows no SVG tags: those are its only complaints
	xmllint --html --noout "$f" 2>&1 | grep "error" | grep -v "Tag [a-zA-Z]* invalid" >"$TMP/html" || true
	[ ! -s "$TMP/html" ] || fail "$f: HTML parser errors: $(head -5 "$TMP/html")"
	if grep -n -i -E "https?:|<script|<link|<img|<iframe|@import| src=|//" "$f" >"$TMP/ext"; then
		fail "$f refers to something outside: $(head -3 "$TMP/ext")"
	fi
	grep -q "<h1>..*</h1>" "$f" || fail "$f has no title"
}

"$GT" demo close --html "$TMP/close.html" >/dev/null 2>"$TMP/err" || fail "demo close --html: $(cat "$TMP/err")"
check_report "$TMP/close.html"

# the same run through draw: its trace, read back
"$GT" demo close --json >"$TMP/close.jsonl" 2>"$TMP/err" || fail "demo close --json: $(cat "$TMP/err")"
"$GT" draw "$TMP/close.jsonl" --html "$TMP/draw.html" -o "$TMP/draw.svg" >/dev/null 2>"$TMP/err" ||
	fail "draw --html: $(cat "$TMP/err")"
check_report "$TMP/draw.html"
# the plots of the two pages are the same figures
for f in close draw; do
	grep -o '<line class="seg"[^>]*>' "$TMP/$f.html" >"$TMP/$f.marks"
done
[ "$(wc -l <"$TMP/close.marks")" -eq 4 ] || fail "demo close: expected 4 segment marks (SYN and FIN each way)"
cmp -s "$TMP/close.marks" "$TMP/draw.marks" || fail "demo --html and draw --html draw different marks"

for f in close draw; do
	browser "$TMP/$f.html" --png "$TMP/$f.png" \
		--expect-in-dom '<svg class="plot"=4' \
		--expect-in-dom '<line class="seg"=4' \
		--expect-in-dom '<path class="ack"=2' \
		--expect-in-dom '<svg=6' \
		--expect-text "Time-sequence graph: client → server" \
		--expect-text "Bytes in flight" \
		--expect-text "Receive window" \
		--expect-text "RFC 9293 state diagram" \
		--expect-text "CLOSED / CLOSED" >"$TMP/out" 2>&1 || {
		cat "$TMP/out"
		fail "$f.html in the browser"
	}
	cat "$TMP/out"
	grep -q "diagram unavailable" "$TMP/$f.html" && fail "$f.html: a diagram is unavailable: $(grep -o 'diagram unavailable[^<]*' "$TMP/$f.html")"
	[ -s "$TMP/$f.png" ] || fail "no screenshot of $f.html"
done

# ---- the report of a capture, through explain: the lost FIN sent again ----
"$GT" demo lost-fin --pcap "$TMP/lost-fin.pcap" >/dev/null 2>"$TMP/err" || fail "demo lost-fin --pcap: $(cat "$TMP/err")"
"$GT" explain "$TMP/lost-fin.pcap" --html "$TMP/explain.html" >/dev/null 2>"$TMP/err" ||
	fail "explain --html: $(cat "$TMP/err")"
check_report "$TMP/explain.html"
browser "$TMP/explain.html" --png "$TMP/explain.png" \
	--expect-in-dom '<svg class="plot"=4' \
	--expect-in-dom '<line class="rexmit"=1' \
	--expect-text "retransmission" \
	--expect-text "RFC 9293 state diagram" >"$TMP/out" 2>&1 || {
	cat "$TMP/out"
	fail "explain.html in the browser"
}
cat "$TMP/out"

echo "report_browser: ok"
exit 0
