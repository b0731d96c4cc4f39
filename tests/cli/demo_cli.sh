#!/usr/bin/env bash
# `glasstcp demo` as a user sees it: every scenario runs, the close table shows
# the seed's rows, bad usage exits 2 with a message, --json is valid JSON Lines,
# and --pcap captures pass tshark's checks.
#
# usage: bash demo_cli.sh /path/to/glasstcp
# shellcheck source=SCRIPTDIR/lib.bash
source "$(dirname "$0")/lib.bash"

# ---- --list, and every scenario runs with exit 0 ----

"$GT" demo --list >"$TMP/list" 2>"$TMP/err" || fail "demo --list exited $?"
scenarios=$(awk '{print $1}' "$TMP/list")
count=$(echo "$scenarios" | grep -c .)
[ "$count" -ge 14 ] || fail "demo --list shows $count scenarios, expected at least 14"
for want in handshake close close-server close-3way simultaneous-close simultaneous-open \
	half-close abort refused syn-lost lost-fin lost-last-ack transfer syn-flood; do
	echo "$scenarios" | grep -qx -- "$want" || fail "demo --list lacks '$want'"
done
while read -r name summary; do
	[ -n "$summary" ] || fail "demo --list: '$name' has no description"
done <"$TMP/list"

for s in $scenarios; do
	"$GT" demo "$s" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "demo $s exited $rc: $(cat "$TMP/err")"
		continue
	fi
	grep -q "^$s: ok$" "$TMP/out" || fail "demo $s: no '$s: ok' in the summary"
	grep -q "segments sent:" "$TMP/out" || fail "demo $s: no segment count in the summary"
	[ -s "$TMP/err" ] && fail "demo $s wrote to stderr: $(cat "$TMP/err")"
done

# ---- the close table: the seed's rows, in order ----

"$GT" demo close >"$TMP/close" 2>&1 || fail "demo close exited $?"
# The arrow rows: "---- FLAGS ... --->" (client to server) or "<--- FLAGS ... ----".
arrows=$(grep -oE '(---- [A-Z]+ .*--->|<--- [A-Z]+ .*----)' "$TMP/close" |
	sed -E 's/^---- ([A-Z]+) .*/> \1/; s/^<--- ([A-Z]+) .*/< \1/' | tr '\n' ' ')
want_arrows='> S < SA > A > FA < A < FA > A '
[ "$arrows" = "$want_arrows" ] ||
	fail "demo close arrows: got '$arrows', want '$want_arrows'"
# each row's client cell, arrow and server cell, as in the seed's table
expect_row() { # client-cell flags server-cell
	grep -qE "^ *[0-9.]+ +$1 +(----|<---) $2 .*(--->|----) +$3\$" "$TMP/close" ||
		fail "demo close: no row '$1 | $2 | $3'"
}
expect_row 'CLOSED -> SYN_SENT' 'S' 'LISTEN'
expect_row 'SYN_SENT' 'SA' 'LISTEN -> SYN_RECEIVED'
expect_row 'SYN_SENT -> ESTABLISHED' 'A' 'SYN_RECEIVED -> ESTABLISHED'
expect_row 'ESTABLISHED -> FIN_WAIT_1' 'FA' 'ESTABLISHED -> CLOSE_WAIT'
expect_row 'FIN_WAIT_1 -> FIN_WAIT_2' 'A' 'CLOSE_WAIT'
expect_row 'FIN_WAIT_2' 'FA' 'CLOSE_WAIT -> LAST_ACK'
expect_row 'FIN_WAIT_2 -> TIME_WAIT' 'A' 'LAST_ACK -> CLOSED'
grep -qE '^ *60140\.000 +TIME_WAIT -> CLOSED$' "$TMP/close" ||
	fail "demo close: no 'TIME_WAIT -> CLOSED' row at 60140 ms (2*MSL after the last ACK)"

# ---- syn-flood: cookies let the client in; without them it fails ----

"$GT" demo syn-flood >"$TMP/flood" 2>"$TMP/err" || fail "demo syn-flood exited $?: $(cat "$TMP/err")"
"$GT" demo syn-flood >"$TMP/flood2" 2>&1
cmp -s "$TMP/flood" "$TMP/flood2" || fail "demo syn-flood: two runs differ"
expect_flood() { # file description extended-regex
	grep -qE -- "$3" "$1" || fail "demo syn-flood: $2 (no line matching '$3')"
}
expect_flood "$TMP/flood" "the SYN queue filling" \
	'^ +0\.000 +\(attacker\) +==== S x128 \(spoofed sources\) =+> +LISTEN -> SYN_RECEIVED x128: SYN queue 1/128 \.\. 128/128 \(full\)'
expect_flood "$TMP/flood" "cookies taking over" \
	'==== S x2872 \(spoofed sources\) =+> +LISTEN, SYN queue full: each answered with SA \(SYN cookie\)'
expect_flood "$TMP/flood" "the client's SYN-ACK marked as a cookie" \
	'^ +110\.000 +SYN_SENT +<--- SA seq=0 ack=1 win=65535 \(SYN cookie\) -+ +LISTEN$'
expect_flood "$TMP/flood" "the client ESTABLISHED, the server's child made from the cookie" \
	'^ +120\.000 +SYN_SENT -> ESTABLISHED +---- A .*LISTEN -> SYN_RECEIVED -> ESTABLISHED$'
expect_flood "$TMP/flood" "the half-open connections giving up" 'SYN_RECEIVED -> CLOSED x128'
expect_flood "$TMP/flood" "what a SYN cookie is" 'A SYN cookie \(RFC 4987 §3\.6\)'
expect_flood "$TMP/flood" "syncookies_sent" '^  syncookies_sent +2873 '
expect_flood "$TMP/flood" "syncookies_ok" '^  syncookies_ok +1 '
expect_flood "$TMP/flood" "syncookies_bad" '^  syncookies_bad +0 '
expect_flood "$TMP/flood" "the SYN queue's length" '^  SYN queue +128/128 at most'
expect_flood "$TMP/flood" "the summary" '^syn-flood: ok$'
expect_flood "$TMP/flood" "the bytes" 'bytes verified: +600 of 600'
# the table stays readable: the client's rows and a few for thousands of SYNs
rows=$(grep -cE '^ *[0-9]+\.[0-9]{3} ' "$TMP/flood")
[ "$rows" -le 30 ] || fail "demo syn-flood: $rows table rows, want at most 30"

"$GT" demo syn-flood --syncookies off >"$TMP/off" 2>"$TMP/err" ||
	fail "demo syn-flood --syncookies off exited $?: $(cat "$TMP/err")"
"$GT" demo syn-flood --syncookies off >"$TMP/off2" 2>&1
cmp -s "$TMP/off" "$TMP/off2" || fail "demo syn-flood --syncookies off: two runs differ"
expect_flood "$TMP/off" "(off) the flood's SYNs dropped" 'each dropped \[syn_queue_full\]'
expect_flood "$TMP/off" "(off) the client's first SYN dropped" \
	'^ +100\.000 +CLOSED -> SYN_SENT +---- S  seq=0 win=65535 \[dropped: syn_queue_full\]'
for t in 1100 3100 7100 15100 31100 63100; do
	expect_flood "$TMP/off" "(off) the SYN retransmitted at $t ms, dropped" \
		"^ +$t\.000 +SYN_SENT +---- S  seq=0 win=65535 \(rexmit\) \[dropped: syn_queue_full\]"
done
expect_flood "$TMP/off" "(off) connect() failing" '^ *123100\.000 +SYN_SENT -> CLOSED$'
expect_flood "$TMP/off" "(off) the error" 'errors the apps saw: client ETIMEDOUT'
expect_flood "$TMP/off" "(off) syncookies_sent 0" '^  syncookies_sent +0 '
expect_flood "$TMP/off" "(off) syn_queue_full" '^  syn_queue_full +2879 '
grep -q "(SYN cookie)" "$TMP/off" && fail "demo syn-flood --syncookies off: a SYN cookie was sent"
"$GT" demo syn-flood --syncookies always >"$TMP/always" 2>&1 ||
	fail "demo syn-flood --syncookies always exited $?"
expect_flood "$TMP/always" "(always) every SYN a cookie" '==== S x3000 \(spoofed sources\)'
# --json: the full event stream, the attacker's SYNs and the cookie flag in it
"$GT" demo syn-flood --json >"$TMP/flood.jsonl" 2>"$TMP/err" || fail "demo syn-flood --json exited $?"
python3 - "$TMP/flood.jsonl" <<'EOF' || fail "demo syn-flood --json: see above"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
syns = [e for e in evs if e["host"] == "attacker" and e["ev"] == "tx"]
cookies = [e for e in evs if e.get("syncookie")]
to_client = [e for e in cookies if ">192.0.2.1:" in e["conn"]]
made = [e for e in evs if e["ev"] == "state" and e["cause"] == "ACK with a valid SYN cookie"]
ok = len(syns) == 3000 and len(cookies) == 2873 and len(made) == 1 and len(to_client) == 1
if not ok:
    print(f"attacker SYNs {len(syns)}, cookies {len(cookies)}, made from a cookie {len(made)}, "
          f"to the client {len(to_client)}")
sys.exit(0 if ok else 1)
EOF

# ---- bad usage: exit 2 and one clear message on stderr ----

expect_usage_error() { # description args...
	local what=$1
	shift
	"$GT" demo "$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	[ $rc -eq 2 ] || fail "$what (demo $*): exit $rc, want 2"
	[ -s "$TMP/err" ] || fail "$what (demo $*): no message on stderr"
	grep -q "glasstcp demo" "$TMP/err" || fail "$what (demo $*): message does not name the command"
	[ -s "$TMP/out" ] && fail "$what (demo $*): wrote to stdout"
	return 0
}
expect_usage_error "no scenario"
expect_usage_error "unknown scenario" no-such-scenario
expect_usage_error "unknown option" close --frobnicate
expect_usage_error "unknown short option" close -x
expect_usage_error "two scenarios" close abort
expect_usage_error "non-numeric seed" close --seed abc
expect_usage_error "negative seed" close --seed -1
expect_usage_error "seed with junk" close --seed 12x
expect_usage_error "seed too large" close --seed 99999999999999999999999
expect_usage_error "missing seed" close --seed
expect_usage_error "loss = 1" close --loss 1
expect_usage_error "loss > 1" close --loss 1.5
expect_usage_error "negative loss" close --loss -0.1
expect_usage_error "non-numeric loss" close --loss lots
expect_usage_error "nan loss" close --loss nan
expect_usage_error "delay too large" close --delay 10001
expect_usage_error "negative delay" close --delay -5
expect_usage_error "non-numeric delay" close --delay soon
expect_usage_error "fractional delay" close --delay 1.5
expect_usage_error "missing pcap file" close --pcap
expect_usage_error "bad --syncookies" syn-flood --syncookies maybe
expect_usage_error "missing --syncookies" syn-flood --syncookies
grep -q "unknown scenario 'no-such-scenario'" <("$GT" demo no-such-scenario 2>&1) ||
	fail "unknown scenario: message does not name it"
grep -q -- "--loss" <("$GT" demo close --loss 2 2>&1) || fail "bad --loss: message does not name the option"
grep -q -- "--syncookies needs on, off or always, got 'maybe'" <("$GT" demo syn-flood --syncookies maybe 2>&1) ||
	fail "bad --syncookies: message does not say what it takes"

# edge values that are fine
"$GT" demo close --loss 0 --delay 0 --seed 0 >/dev/null 2>&1 || fail "demo close --loss 0 --delay 0 --seed 0 failed"
"$GT" demo close --delay 10000 --seed=18446744073709551615 >/dev/null 2>&1 ||
	fail "demo close --delay 10000 --seed=2^64-1 failed"
"$GT" demo --help >"$TMP/out" 2>&1 || fail "demo --help exited $?"
grep -q "usage:" "$TMP/out" || fail "demo --help prints no usage"

# a scenario whose own check fails exits 1 (nearly every packet is lost)
"$GT" demo close --loss 0.99 >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 1 ] || fail "demo close --loss 0.99: exit $rc, want 1"
grep -q "close failed" "$TMP/err" || fail "demo close --loss 0.99: no failure message on stderr"
grep -q "^close: FAILED$" "$TMP/out" || fail "demo close --loss 0.99: summary does not say FAILED"

# ---- --json: valid JSON Lines with the state events ----

"$GT" demo close --json >"$TMP/close.jsonl" 2>"$TMP/err" || fail "demo close --json exited $?"
python3 - "$TMP/close.jsonl" <<'EOF' || fail "demo close --json: bad JSON Lines (see above)"
import json, sys
names = {"CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
         "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"}
ok = True
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
if not lines:
    print("no lines"); sys.exit(1)
events = []
for n, line in enumerate(lines, 1):
    try:
        ev = json.loads(line)
    except ValueError as e:
        print(f"line {n} is not JSON: {e}: {line!r}"); ok = False; continue
    if not isinstance(ev, dict):
        print(f"line {n} is not an object"); ok = False; continue
    events.append(ev)
states = [(e["host"], e["from"], e["to"]) for e in events if e.get("ev") == "state"]
for s in states:
    if s[1] not in names or s[2] not in names:
        print(f"unknown state name in {s}"); ok = False
want = {
    "client": ["CLOSED>SYN_SENT", "SYN_SENT>ESTABLISHED", "ESTABLISHED>FIN_WAIT_1",
               "FIN_WAIT_1>FIN_WAIT_2", "FIN_WAIT_2>TIME_WAIT", "TIME_WAIT>CLOSED"],
    "server": ["CLOSED>LISTEN", "LISTEN>SYN_RECEIVED", "SYN_RECEIVED>ESTABLISHED",
               "ESTABLISHED>CLOSE_WAIT", "CLOSE_WAIT>LAST_ACK", "LAST_ACK>CLOSED"],
}
for host, seq in want.items():
    got = [f"{f}>{t}" for h, f, t in states if h == host]
    if got != seq:
        print(f"{host} states: got {got}, want {seq}"); ok = False
flags = [e["flags"] for e in events if e.get("ev") == "tx"]
if flags != ["S", "SA", "A", "FA", "A", "FA", "A"]:
    print(f"tx flags: {flags}"); ok = False
times = [e["t_us"] for e in events]
if times != sorted(times):
    print("events are not in time order"); ok = False
sys.exit(0 if ok else 1)
EOF
"$GT" demo close --json >"$TMP/close2.jsonl" 2>&1
cmp -s "$TMP/close.jsonl" "$TMP/close2.jsonl" || fail "demo close --json: two runs differ"
"$GT" demo transfer --json --loss 0.05 --seed 3 >"$TMP/t1.jsonl" 2>&1 || fail "demo transfer --json --loss 0.05 exited $?"
"$GT" demo transfer --json --loss 0.05 --seed 3 >"$TMP/t2.jsonl" 2>&1
cmp -s "$TMP/t1.jsonl" "$TMP/t2.jsonl" || fail "demo transfer --json --loss 0.05 --seed 3: two runs differ"
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)
' "$TMP/t1.jsonl" || fail "demo transfer --json: not valid JSON Lines"

# ---- --pcap: tshark finds nothing wrong, and one packet per segment ----

check_pcap() { # scenario args...
	local s=$1
	shift
	local pcap="$TMP/$s.pcap"
	"$GT" demo "$s" "$@" --pcap "$pcap" >"$TMP/out" 2>"$TMP/err" ||
		{ fail "demo $s $* --pcap exited $?: $(cat "$TMP/err")"; return; }
	local segments
	segments=$(sed -nE 's/^ *segments sent: *([0-9]+).*/\1/p' "$TMP/out")
	[ -n "$segments" ] || { fail "demo $s: no segment count"; return; }
	local bad
	bad=$(tshark -r "$pcap" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
		-Y '_ws.malformed || _ws.expert.severity >= error || tcp.checksum.status == 0 || ip.checksum.status == 0' \
		2>"$TMP/tshark.err")
	[ -z "$bad" ] || fail "demo $s $*: tshark finds problems:"$'\n'"$bad"
	grep -vi "running as user" "$TMP/tshark.err" | grep -q . &&
		fail "demo $s $*: tshark complains: $(cat "$TMP/tshark.err")"
	local n
	n=$(tshark -r "$pcap" 2>/dev/null | wc -l)
	[ "$n" -eq "$segments" ] || fail "demo $s $*: tshark reads $n packets, $segments segments were sent"
	# every checksum was verified, and found good
	local good
	good=$(tshark -r "$pcap" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
		-Y 'tcp.checksum.status == 1 && ip.checksum.status == 1' 2>/dev/null | wc -l)
	[ "$good" -eq "$segments" ] || fail "demo $s $*: $good of $segments packets have good checksums"
}
if command -v tshark >/dev/null; then
	check_pcap close
	check_pcap transfer
	check_pcap transfer --loss 0.05 --seed 2
	check_pcap lost-last-ack
	check_pcap refused
	"$GT" demo close --pcap "$TMP/no/such/dir/f.pcap" >/dev/null 2>"$TMP/err"
	rc=$?
	[ $rc -eq 1 ] || fail "demo close --pcap into a missing directory: exit $rc, want 1"
	grep -q "cannot write" "$TMP/err" || fail "demo close --pcap into a missing directory: no message"
else
	fail "tshark is not installed (scripts/install-deps.sh installs it)"
fi

# ---- --profile: each one runs every scenario; the SYN shows the profile ----

for p in linux freebsd rfc; do
	for s in $scenarios; do
		"$GT" demo "$s" --profile "$p" >"$TMP/out" 2>"$TMP/err" ||
			fail "demo $s --profile $p exited $?: $(cat "$TMP/err")"
	done
done
# the client's SYN, as tshark reads the capture: window scale 8 (linux),
# FreeBSD's option order with scale 6 (freebsd), none beyond the buffer (rfc)
syn_opts() {
	"$GT" demo handshake --profile "$1" --pcap "$TMP/p.pcap" >/dev/null 2>&1
	tshark -n -r "$TMP/p.pcap" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 0" \
		-T fields -e tcp.option_kind -e tcp.options.wscale.shift 2>/dev/null | head -1
}
if command -v tshark >/dev/null; then
	got=$(syn_opts linux)
	[ "$got" = "$(printf '2,4,8,1,3\t8')" ] || fail "demo --profile linux: SYN options $got"
	got=$(syn_opts freebsd)
	[ "$got" = "$(printf '2,1,3,4,8\t6')" ] || fail "demo --profile freebsd: SYN options $got"
	got=$(syn_opts rfc)
	[ "$got" = "$(printf '2,4,8,1,3\t0')" ] || fail "demo --profile rfc: SYN options $got"
fi
"$GT" demo close --profile bsd >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 2 ] || fail "demo --profile bsd exited $rc, not 2"
grep -q "linux, freebsd or rfc" "$TMP/err" || fail "demo --profile bsd: $(cat "$TMP/err")"

finish "all checks passed"
