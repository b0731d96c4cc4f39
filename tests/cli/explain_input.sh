#!/usr/bin/env bash
# `glasstcp explain` on what users feed it: unusable files get a one-line error
# and exit 2, a capture without TCP an empty result and exit 0, a truncated
# capture is explained as far as it goes and then exits 2, nothing crashes;
# pcapng gives the same result as pcap; --json is JSON Lines with inferred
# flags and anomaly lines; --svg writes valid SVG.
#
# usage: bash explain_input.sh /path/to/glasstcp
# shellcheck source=SCRIPTDIR/lib.bash
source "$(dirname "$0")/lib.bash"

# Runs explain with the given arguments; sets rc, fills $TMP/out and $TMP/err.
run() {
	"$GT" explain "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

# Never a crash: no signal, no sanitizer report.
no_crash() { # what
	[ "$rc" -lt 128 ] || fail "$1: killed by a signal (exit $rc)"
	if grep -qE 'Sanitizer|runtime error|LeakSanitizer' "$TMP/err"; then
		fail "$1: sanitizer report: $(head -3 "$TMP/err")"
	fi
}

# Unusable input: exit 2, exactly one line on stderr naming the problem,
# nothing on stdout.
expect_unusable() { # what file pattern
	run "$2"
	no_crash "$1"
	[ "$rc" -eq 2 ] || fail "$1: exit $rc, want 2"
	lines=$(wc -l <"$TMP/err")
	[ "$lines" -eq 1 ] || fail "$1: $lines lines on stderr, want 1: $(cat "$TMP/err")"
	grep -q '^glasstcp explain: ' "$TMP/err" || fail "$1: stderr lacks the prefix: $(cat "$TMP/err")"
	grep -qiE "$3" "$TMP/err" || fail "$1: stderr does not say /$3/: $(cat "$TMP/err")"
	[ -s "$TMP/out" ] && fail "$1: wrote to stdout: $(head -3 "$TMP/out")"
}

# ---- the demo captures the tests start from ----

for s in close lost-fin refused abort; do
	"$GT" demo "$s" --pcap "$TMP/$s.pcap" >/dev/null 2>&1 || fail "demo $s --pcap exited $?"
done

# ---- unusable input ----

: >"$TMP/empty.pcap"
expect_unusable "empty file" "$TMP/empty.pcap" 'empty'
printf 'GET / HTTP/1.1\r\nHost: example\r\n\r\nthis is not a capture\n' >"$TMP/text.pcap"
expect_unusable "text file" "$TMP/text.pcap" 'not a pcap'
head -c 10 "$TMP/close.pcap" >"$TMP/header-cut.pcap"
expect_unusable "header cut short" "$TMP/header-cut.pcap" 'cut short|not a'
expect_unusable "/dev/null" /dev/null 'cut short|not a|empty'
mkdir "$TMP/dir.pcap"
expect_unusable "a directory" "$TMP/dir.pcap" 'directory'
expect_unusable "missing file" "$TMP/missing.pcap" 'No such file'
# a pcap header with a link type explain does not read (LINKTYPE_USER0)
python3 - "$TMP/user0.pcap" <<'EOF'
import struct, sys
open(sys.argv[1], 'wb').write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 147))
EOF
expect_unusable "unsupported link type" "$TMP/user0.pcap" 'link type'

# ---- usage ----

run
[ "$rc" -eq 2 ] || fail "no capture: exit $rc, want 2"
run "$TMP/close.pcap" --bogus
[ "$rc" -eq 2 ] || fail "unknown option: exit $rc, want 2"
run "$TMP/close.pcap" --time-wait -1
[ "$rc" -eq 2 ] || fail "--time-wait -1: exit $rc, want 2"
run --help
[ "$rc" -eq 0 ] || fail "--help: exit $rc"
grep -q 'Exit status' "$TMP/out" || fail "--help does not document the exit status"
grep -q 'truncated\|cut short' "$TMP/out" || fail "--help does not say what a truncated capture does"

# ---- a truncated capture: explained as far as it goes, one warning, exit 2 ----

size=$(stat -c %s "$TMP/close.pcap")
head -c $((size - 5)) "$TMP/close.pcap" >"$TMP/record-cut.pcap"
run "$TMP/record-cut.pcap"
no_crash "record cut short"
[ "$rc" -eq 2 ] || fail "record cut short: exit $rc, want 2"
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "record cut short: want one line on stderr: $(cat "$TMP/err")"
grep -q 'truncated' "$TMP/err" || fail "record cut short: stderr does not say truncated"
grep -q '^connection 1: 192.0.2.1:[0-9]* -> 192.0.2.2:80' "$TMP/out" ||
	fail "record cut short: the connection read so far is not explained"
# cut in the middle of a record's header and of its data, and every length
# in between: never a crash
for cut in 30 40 50 60 70 80 100 150 200 300; do
	head -c "$cut" "$TMP/lost-fin.pcap" >"$TMP/cut.pcap"
	run "$TMP/cut.pcap"
	no_crash "lost-fin cut at $cut bytes"
	[ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || fail "lost-fin cut at $cut bytes: exit $rc"
done

# ---- a valid capture without TCP: an empty result, exit 0 ----

python3 - "$TMP/udp.pcap" <<'EOF'
import struct, sys

def ip(proto, payload):
    total = 20 + len(payload)
    hdr = struct.pack('>BBHHHBBH4s4s', 0x45, 0, total, 1, 0, 64, proto, 0,
                      bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
    s = sum(struct.unpack('>10H', hdr))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    hdr = hdr[:10] + struct.pack('>H', ~s & 0xffff) + hdr[12:]
    return hdr + payload

udp = struct.pack('>HHHH', 5353, 53, 8 + 4, 0) + b'ping'
icmp = struct.pack('>BBHHH', 8, 0, 0, 1, 1) + b'abcd'
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
    for i, pkt in enumerate([ip(17, udp), ip(1, icmp), ip(17, udp)]):
        f.write(struct.pack('<IIII', 1700000000 + i, 0, len(pkt), len(pkt)) + pkt)
EOF
run "$TMP/udp.pcap"
no_crash "UDP and ICMP only"
[ "$rc" -eq 0 ] || fail "UDP and ICMP only: exit $rc, want 0: $(cat "$TMP/err")"
[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "UDP and ICMP only: want one line: $(cat "$TMP/out")"
grep -q 'no TCP connection' "$TMP/out" || fail "UDP and ICMP only: says $(cat "$TMP/out")"
[ -s "$TMP/err" ] && fail "UDP and ICMP only: wrote to stderr: $(cat "$TMP/err")"
run "$TMP/udp.pcap" --json
[ "$rc" -eq 0 ] || fail "UDP and ICMP only, --json: exit $rc"
[ -s "$TMP/out" ] && fail "UDP and ICMP only, --json: stdout is not empty: $(cat "$TMP/out")"

# ---- the human output ----

run "$TMP/close.pcap"
[ "$rc" -eq 0 ] || fail "close: exit $rc: $(cat "$TMP/err")"
[ -s "$TMP/err" ] && fail "close: wrote to stderr: $(cat "$TMP/err")"
grep -qE '^  192\.0\.2\.1:[0-9]+ +CLOSED -> SYN_SENT -> ESTABLISHED -> FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT$' "$TMP/out" ||
	fail "close: the client's state line is wrong: $(grep -A3 '^states' "$TMP/out")"
grep -qE '^  192\.0\.2\.2:80 +LISTEN -> SYN_RECEIVED -> ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSED\*$' "$TMP/out" ||
	fail "close: the server's state line is wrong: $(grep -A3 '^states' "$TMP/out")"
grep -q 'never left TIME_WAIT within the capture' "$TMP/out" || fail "close: no TIME_WAIT anomaly"
grep -qE '^ +[0-9.]+ +CLOSED -> SYN_SENT +---- S ' "$TMP/out" || fail "close: the table lacks the SYN row"
# TIME_WAIT shorter than the capture: its end is inferred
run "$TMP/close.pcap" --time-wait 0.005
grep -qE 'TIME_WAIT -> CLOSED\*$' "$TMP/out" || fail "--time-wait 0.005: TIME_WAIT does not end"
grep -q 'never left TIME_WAIT' "$TMP/out" && fail "--time-wait 0.005: still a TIME_WAIT anomaly"

run "$TMP/lost-fin.pcap"
grep -qE 'retransmission +192\.0\.2\.1:[0-9]+ sent its FIN again' "$TMP/out" ||
	fail "lost-fin: no retransmission anomaly: $(cat "$TMP/out")"
run "$TMP/refused.pcap"
grep -q 'refused .*192.0.2.2:81 answered the SYN with RST' "$TMP/out" ||
	fail "refused: no refused anomaly: $(cat "$TMP/out")"
grep -qE '192\.0\.2\.1:[0-9]+ +CLOSED -> SYN_SENT -> CLOSED\*$' "$TMP/out" ||
	fail "refused: the client's state line is wrong: $(grep -A3 '^states' "$TMP/out")"
run "$TMP/abort.pcap"
grep -qE '^  [0-9.]+ +rst ' "$TMP/out" || fail "abort: no rst anomaly: $(cat "$TMP/out")"

# ---- pcapng: the same result as pcap ----

if tshark -r "$TMP/lost-fin.pcap" -w "$TMP/lost-fin.pcapng" -F pcapng >/dev/null 2>&1 ||
	editcap -F pcapng "$TMP/lost-fin.pcap" "$TMP/lost-fin.pcapng" >/dev/null 2>&1; then
	magic=$(head -c 4 "$TMP/lost-fin.pcapng" | od -An -tx1 | tr -d ' \n')
	[ "$magic" = "0a0d0d0a" ] || fail "pcapng: the converted file is not pcapng ($magic)"
	run "$TMP/lost-fin.pcap"
	sed 1d "$TMP/out" >"$TMP/from-pcap"
	run "$TMP/lost-fin.pcapng"
	[ "$rc" -eq 0 ] || fail "pcapng: exit $rc: $(cat "$TMP/err")"
	sed 1d "$TMP/out" >"$TMP/from-pcapng"
	cmp -s "$TMP/from-pcap" "$TMP/from-pcapng" ||
		fail "pcapng: output differs from pcap: $(diff "$TMP/from-pcap" "$TMP/from-pcapng" | head)"
	"$GT" explain "$TMP/lost-fin.pcap" --json >"$TMP/a.json" 2>/dev/null
	"$GT" explain "$TMP/lost-fin.pcapng" --json >"$TMP/b.json" 2>/dev/null
	cmp -s "$TMP/a.json" "$TMP/b.json" || fail "pcapng: --json differs from pcap"
else
	fail "neither tshark nor editcap could write pcapng"
fi

# ---- --json: JSON Lines, inferred flags, anomaly lines ----

run "$TMP/close.pcap" --json
[ "$rc" -eq 0 ] || fail "--json: exit $rc"
python3 - "$TMP/out" <<'EOF' || fail "--json output is not what it should be"
import json, sys
states, tx, anomalies, inferred = [], 0, [], []
for n, line in enumerate(open(sys.argv[1]), 1):
    e = json.loads(line)  # every line parses
    for k in ('t_us', 'ev', 'conn'):
        assert k in e, f'line {n}: no {k}'
    if e['ev'] == 'state':
        assert {'host', 'from', 'to', 'cause'} <= e.keys(), f'line {n}: {e}'
        assert e['conn'].startswith(e['host'] + '>'), f'line {n}: conn is not local-first'
        states.append((e['host'], e['from'], e['to']))
        if e.get('inferred'):
            assert e['inferred'] is True
            inferred.append((e['from'], e['to']))
    elif e['ev'] == 'tx':
        assert {'flags', 'seq', 'ack', 'win', 'len'} <= e.keys(), f'line {n}: {e}'
        tx += 1
    elif e['ev'] == 'anomaly':
        assert {'kind', 'text', 'index'} <= e.keys(), f'line {n}: {e}'
        anomalies.append(e['kind'])
    else:
        raise AssertionError(f'line {n}: unexpected ev {e["ev"]}')
assert tx == 7, tx
assert ('LAST_ACK', 'CLOSED') in inferred, inferred
assert ('CLOSED', 'SYN_SENT') not in inferred
assert anomalies == ['time_wait'], anomalies
server = [s[1:] for s in states if s[0] == '192.0.2.2:80']
assert server[0] == ('LISTEN', 'SYN_RECEIVED'), server
EOF

# the trace tools read it back (anomaly lines are skipped)
"$GT" draw "$TMP/out" -o "$TMP/from-json.svg" >/dev/null 2>"$TMP/draw-err" ||
	fail "glasstcp draw cannot read explain --json: $(cat "$TMP/draw-err")"
grep -q 'LAST_ACK' "$TMP/from-json.svg" 2>/dev/null || fail "draw of explain --json lacks the states"

# ---- --svg: one valid SVG per connection ----

run "$TMP/lost-fin.pcap" --svg "$TMP/svg"
[ "$rc" -eq 0 ] || fail "--svg: exit $rc: $(cat "$TMP/err")"
if [ -f "$TMP/svg/conn-1.svg" ]; then
	xmllint --noout "$TMP/svg/conn-1.svg" 2>"$TMP/xml" || fail "--svg: not valid XML: $(head -3 "$TMP/xml")"
	grep -q 'FIN_WAIT_1' "$TMP/svg/conn-1.svg" || fail "--svg: the ladder lacks the states"
else
	fail "--svg: no $TMP/svg/conn-1.svg"
fi

# ---- --html-max: every connection in the summary, diagrams for a bounded few ----

python3 - "$TMP/three.pcap" <<'EOF'
import struct, sys

def csum(b):
    b += b'\0' * (len(b) % 2)
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def pkt(src, dst, sp, dp, seq, ack, flags):
    tcp = struct.pack('!HHIIBBHHH', sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0)
    ph = struct.pack('!4s4sBBH', src, dst, 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack('!H', csum(ph + tcp)) + tcp[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, src, dst)
    return ip[:10] + struct.pack('!H', csum(ip)) + ip[12:] + tcp

out = open(sys.argv[1], 'wb')
out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
a, b, t = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), 0
for i in range(3):
    cp, c, s = 40000 + i, 1000 * i, 5000 * i
    for p in [(a, b, cp, 80, c, 0, 0x02), (b, a, 80, cp, s, c + 1, 0x12),
              (a, b, cp, 80, c + 1, s + 1, 0x10), (a, b, cp, 80, c + 1, s + 1, 0x11),
              (b, a, 80, cp, s + 1, c + 2, 0x11), (a, b, cp, 80, c + 2, s + 2, 0x10)]:
        d = pkt(*p)
        t += 1000
        out.write(struct.pack('<IIII', t // 10**6, t % 10**6, len(d), len(d)) + d)
EOF
run "$TMP/three.pcap" --html "$TMP/three.html" --html-max 1
[ "$rc" -eq 0 ] || fail "--html-max 1: exit $rc: $(cat "$TMP/err")"
xmllint --noout "$TMP/three.html" 2>"$TMP/xml" || fail "--html-max: not well-formed: $(head -3 "$TMP/xml")"
grep -q '3 connections; detailed diagrams for 1 of them' "$TMP/three.html" ||
	fail "--html-max 1: the page does not say that 1 of 3 connections is drawn"
for port in 40000 40001 40002; do
	grep -q "10.0.0.1:$port" "$TMP/three.html" || fail "--html-max 1: the summary lacks 10.0.0.1:$port"
done
run "$TMP/three.pcap" --html "$TMP/three.html" --html-max 0
[ "$rc" -eq 2 ] || fail "--html-max 0: exit $rc, want 2"

finish "ok"
