#!/usr/bin/env bash
# `glasstcp explain` against the truth: real Linux-to-Linux connections, made
# here between kernel sockets in a network namespace of this test's own, on one
# address on its lo; tcpdump captures them while `glasstcp watch` records the
# kernel's own state changes (tracepoint sock:inet_sock_set_state, TIME_WAIT
# through sock_diag: docs/kernel-states.md). Then `glasstcp explain cap.pcap
# --json` must report, for every end of every connection, the same sequence of
# state changes the kernel recorded.
#
# The connections (tests/interop/explain_peer.py), one port each:
#   a. normal close, the client first (close(): its socket is orphaned)
#   b. normal close, the server first (shutdown(SHUT_WR), then close())
#   c. connect() to a port with no listener: refused by RST
#   d. the client closes with SO_LINGER {1, 0}: reset
#   e. simultaneous close (RFC 9293 §3.6): both FINs dropped on input for
#      100 ms, both ends shut down at once, the retransmitted FINs cross; done
#      three times, and the kernel must show CLOSING on both ends at least once
#      (the capture must agree, each time, on whether the FINs crossed)
#   f. 2 MB with 5 % of the packets in both directions dropped at random by
#      nftables (numgen) on lo's input, then a normal close (client first)
# The drops are after the capture point (lo's transmit side): the capture shows
# every packet, some of which the receiver never got, as a capture next to the
# sender does. lo is set to MTU 1500 and one segment per packet
# (gso_max_segs 1), so the transfer is ~1500 packets, not 32 of 64 KB.
#
# TIME_WAIT is not waited out (60 s): the watch stops a moment after the last
# connection, so neither the kernel nor explain sees TIME_WAIT -> CLOSED.
# Listening sockets (remote 0.0.0.0:0) are no connection's end: left out.
#
# Exit 0 pass, 1 fail, 77 skipped (not root, or no tracepoint/tracefs).
# usage: bash explain_linux.sh /path/to/glasstcp
source "$(dirname "$0")/lib.sh"

GT_NAME=explain_linux
if [ "$(id -u)" -ne 0 ]; then
	gt_skip "needs root: network namespace, nftables, tcpdump, the tracepoint sock:inet_sock_set_state"
fi
[ -x "$GT" ] || {
	echo "FAIL [$GT_NAME]: $GT is not an executable" >&2
	exit 1
}
missing=()
for t in ip tcpdump tshark capinfos nft python3; do
	command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if [ ${#missing[@]} -ne 0 ]; then
	echo "FAIL [$GT_NAME]: missing tools: ${missing[*]} (make deps installs them)" >&2
	exit 1
fi
gt_reap_stale
TMP=$(mktemp -d "/tmp/gt-interop-$GT_NAME.XXXXXX")
trap gt_cleanup EXIT
trap 'fail "interrupted"; exit 1' INT TERM
cd "$TMP" || exit 1

PEER="$GT_LIB_DIR/explain_peer.py"
# The tracepoint is global, filtered by address only: an address of this run's
# own (from the pid), so that runs side by side never see each other's sockets.
ADDR="10.199.$((($$ / 250) % 256)).$(($$ % 250 + 1))"
TABLE=gt_explain
gt_netns X
NS=$NS_X
ip netns exec "$NS" ip link set lo mtu 1500 gso_max_segs 1 ||
	fail "cannot set lo's MTU to 1500 / gso_max_segs 1 (the transfer still runs)"
ip netns exec "$NS" ip addr add "$ADDR/32" dev lo || {
	fail "cannot add $ADDR to lo in $NS"
	gt_finish
}
nsx() { ip netns exec "$NS" "$@"; }
# An nftables table of the test's own (deleted at the end; the namespace's
# deletion would take it too): one input chain for the simultaneous close's
# FIN drops, one for the transfer's random drops.
nsx nft -f - <<EOF || {
table inet $TABLE {
	chain fin_drop { type filter hook input priority 0; policy accept; }
	chain lossy { type filter hook input priority 0; policy accept; }
}
EOF
	fail "cannot create the nftables table $TABLE"
	gt_finish
}
log "namespace $NS, address $ADDR"

# ---- glasstcp watch's usage: 2 for bad usage, one line saying why ----
for args in "" "--addr" "--addr 10.1.2" "--addr 10.1.2.3 --duration -1" \
	"--addr 10.1.2.3 --duration soon" "--addr 10.1.2.3 extra" "--addr 10.1.2.3 -o"; do
	# shellcheck disable=SC2086 # the words of args are the arguments
	"$GT" watch $args >usage.out 2>usage.err
	rc=$?
	[ $rc -eq 2 ] || fail "glasstcp watch $args exited $rc, expected 2 (bad usage)"
	grep -q '^glasstcp watch: ' usage.err || fail "glasstcp watch $args: no reason given: $(cat usage.err)"
done
"$GT" watch --help >usage.out 2>&1 && grep -q -- '--duration SECONDS' usage.out ||
	fail "glasstcp watch --help: $(head -3 usage.out)"
if command -v setpriv >/dev/null 2>&1; then
	# not root: exit 1 and a one-line reason
	cp "$GT" gt-copy && chmod 755 "$TMP" gt-copy
	setpriv --reuid=65534 --regid=65534 --clear-groups ./gt-copy watch --addr "$ADDR" \
		--duration 1 >usage.out 2>usage.err
	rc=$?
	[ $rc -eq 1 ] && [ "$(wc -l <usage.err)" -eq 1 ] && grep -q 'not root' usage.err ||
		fail "glasstcp watch as nobody exited $rc, expected 1 and 'not root': $(cat usage.err)"
	rm -f gt-copy
fi

# ---- the tracepoint: glasstcp watch (skip when the kernel cannot) ----
# watch.json is the reference; a second watch writes the table (its own
# tracefs instance, the same events) and stops by itself with --duration.
gt_bg ip netns exec "$NS" "$GT" watch --addr "$ADDR" --json -o watch.json 2>watch.err
WATCH=$!
watch_ready() { grep -q "^watching $ADDR (Ctrl-C to stop)\$" watch.err || ! gt_alive "$WATCH"; }
if ! gt_wait_for 10 watch_ready; then
	fail "glasstcp watch is not ready after 10 s: $(cat watch.err)"
	gt_finish
fi
if ! gt_alive "$WATCH"; then
	wait "$WATCH"
	rc=$?
	if [ $rc -eq 1 ] && grep -qiE 'tracefs|tracepoint|not root' watch.err; then
		gt_skip "the kernel's TCP states cannot be recorded here: $(cat watch.err)"
	fi
	fail "glasstcp watch exited $rc before it was ready: $(cat watch.err)"
	gt_finish
fi
# --duration: stops by itself (nothing to report yet: the header only)
T_WATCH=$(date +%s.%N)
ip netns exec "$NS" "$GT" watch --addr "$ADDR" --duration 0.5 >watch-short.out 2>watch-short.err
rc=$?
d=$(gt_since "$T_WATCH")
[ $rc -eq 0 ] || fail "glasstcp watch --duration 0.5 exited $rc: $(cat watch-short.err)"
awk -v d="$d" 'BEGIN { exit !(d >= 0.5 && d <= 5) }' ||
	fail "glasstcp watch --duration 0.5 took $d s"
[ "$(grep -c . watch-short.out)" -eq 1 ] && grep -q '^ *t (ms) ' watch-short.out ||
	fail "glasstcp watch --duration 0.5 with no traffic printed: $(cat watch-short.out)"
gt_bg ip netns exec "$NS" "$GT" watch --addr "$ADDR" >watch.table 2>watch-table.err
WATCH_TABLE=$!
watch_table_ready() { grep -q "^watching $ADDR " watch-table.err || ! gt_alive "$WATCH_TABLE"; }
gt_wait_for 10 watch_table_ready && gt_alive "$WATCH_TABLE" ||
	fail "glasstcp watch (table) did not start: $(cat watch-table.err)"

# ---- the capture ----
# --immediate-mode: each packet handed over at once, not when a ring block is
# retired (up to 1 s later: the last packets would miss the SIGINT). In that
# mode the ring has one frame per packet of the snapshot length: -s 2048 (lo's
# MTU is 1500, nothing is cut) and -B 32 MB give 16000 frames, plenty for the
# transfer (the default 256 KB snapshot gave 128 and lost packets).
gt_bg ip netns exec "$NS" tcpdump -i lo -n -U --immediate-mode -B 32768 -s 2048 -w cap.pcap "tcp and host $ADDR" 2>tcpdump.err
TCPDUMP=$!
tcpdump_ready() { grep -q 'listening on' tcpdump.err || ! gt_alive "$TCPDUMP"; }
gt_wait_for 10 tcpdump_ready
if ! gt_alive "$TCPDUMP" || ! grep -q 'listening on' tcpdump.err; then
	fail "tcpdump did not start: $(cat tcpdump.err)"
	gt_finish
fi

# ---- the connections ----
# peer WHAT ARGS...: one scenario; its "client=... server=..." line is logged
peer() {
	local what=$1 out
	shift
	out=$(timeout 60 ip netns exec "$NS" python3 "$PEER" "$@" 2>&1)
	local rc=$?
	if [ $rc -ne 0 ]; then
		fail "$what: explain_peer.py $* exited $rc: $out"
		return 1
	fi
	log "$what: $out"
	echo "$out" >>conns.txt
}
P_A=7001 P_B=7002 P_C=7003 P_D=7004 P_E1=7005 P_E2=7006 P_E3=7007 P_F=7008
peer "a. client closes first" close-client "$ADDR" $P_A
peer "b. server closes first" close-server "$ADDR" $P_B
peer "c. refused" refused "$ADDR" $P_C
peer "d. SO_LINGER 0" linger "$ADDR" $P_D
peer "e. simultaneous close (1)" simclose "$ADDR" $P_E1 $TABLE fin_drop
peer "e. simultaneous close (2)" simclose "$ADDR" $P_E2 $TABLE fin_drop
peer "e. simultaneous close (3)" simclose "$ADDR" $P_E3 $TABLE fin_drop
nsx nft add rule inet $TABLE lossy tcp dport $P_F numgen random mod 100 '<' 5 counter drop &&
	nsx nft add rule inet $TABLE lossy tcp sport $P_F numgen random mod 100 '<' 5 counter drop ||
	fail "f: cannot add the random-drop rules"
peer "f. 2 MB with 5 % drops" transfer "$ADDR" $P_F 2000000
# the drops go on until the connection is over (the close may lose packets too)
gt_wait_linux_done "$NS" 30 "the connections"
DROPS=$(nsx nft list chain inet $TABLE lossy | awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }')
nsx nft flush chain inet $TABLE lossy
log "f: nftables dropped $DROPS packets at random"
[ "$DROPS" -gt 0 ] || fail "f: nftables dropped no packet: the transfer was not lossy"
# what only sock_diag polling shows (an orphaned FIN_WAIT_2 turned TIME_WAIT)
# is seen within 100 ms; the last packets reach the capture
sleep 1

# ---- stop: watch first (TIME_WAIT has ~55 s to go), then tcpdump ----
kill -INT "$WATCH"
if ! gt_wait_pid "$WATCH" 10; then
	fail "glasstcp watch did not exit within 10 s of SIGINT"
elif [ "$GT_RC" -ne 0 ]; then
	fail "glasstcp watch exited $GT_RC: $(cat watch.err)"
fi
kill -TERM "$WATCH_TABLE"
if ! gt_wait_pid "$WATCH_TABLE" 10; then
	fail "glasstcp watch (table) did not exit within 10 s of SIGTERM"
elif [ "$GT_RC" -ne 0 ]; then
	fail "glasstcp watch (table) exited $GT_RC: $(cat watch-table.err)"
fi
kill -INT "$TCPDUMP"
gt_wait_pid "$TCPDUMP" 10 || fail "tcpdump did not exit within 10 s of SIGINT"
log "tcpdump: $(grep -E 'captured|dropped by kernel' tcpdump.err | paste -sd' ')"
grep -qE '^0 packets dropped by kernel' tcpdump.err ||
	fail "tcpdump lost packets: $(cat tcpdump.err)"
nsx nft delete table inet $TABLE || fail "cannot delete the nftables table $TABLE"
[ -s watch.json ] || {
	fail "glasstcp watch recorded nothing: $(cat watch.err)"
	gt_finish
}

# ---- the capture is sound (tshark), and shows what each scenario meant ----
# (the payloads are random bytes: decoded as plain data, not reassembled, or a
# retransmission cut at other boundaries is a "reassembly error" of whatever
# protocol tshark guessed; IP and TCP are dissected and checked all the same)
TSHARK_DATA=(-o tcp.desegment_tcp_streams:FALSE)
for p in $P_A $P_B $P_C $P_D $P_E1 $P_E2 $P_E3 $P_F; do
	TSHARK_DATA+=(-d "tcp.port==$p,data")
done
bad=$(tshark -n -r cap.pcap "${TSHARK_DATA[@]}" -Y '_ws.malformed || _ws.expert.severity >= error' 2>tshark.err)
[ $? -eq 0 ] || fail "tshark cannot read cap.pcap: $(head -3 tshark.err)"
[ -z "$bad" ] || fail "tshark flags packets of cap.pcap: $(echo "$bad" | head -5)"
log "capture: $(capinfos -c -M cap.pcap | awk -F': *' '/Number of packets/ { print $2 }') packets"
# one line per packet: src port, dst port, flags (hex), payload length, relative
# seq and ack, retransmission (1 or nothing)
tshark -n -r cap.pcap "${TSHARK_DATA[@]}" -T fields -E separator=' ' -e tcp.srcport -e tcp.dstport \
	-e tcp.flags -e tcp.len -e tcp.seq -e tcp.ack -e tcp.analysis.retransmission >packets.txt 2>/dev/null ||
	fail "tshark could not list the packets"

# The kernel's record and the capture, scenario by scenario, checked by
# explain_peer.py (the expected kernel paths and the packets that show them).
python3 "$PEER" check "$ADDR" watch.json packets.txt conns.txt \
	a=$P_A b=$P_B c=$P_C d=$P_D e=$P_E1,$P_E2,$P_E3 f=$P_F >check.txt 2>&1 ||
	fail "the kernel's record or the capture is not what the scenarios make:"
cat check.txt >&2

# the table says what the JSON says: one line per event, same order of changes
python3 "$PEER" table watch.json watch.table >table-check.txt 2>&1 ||
	fail "glasstcp watch's table differs from its JSON: $(cat table-check.txt)"

# ---- explain must report the kernel's sequences ----
"$GT" explain cap.pcap --json >explain.json 2>explain.err
rc=$?
if [ $rc -ne 0 ]; then
	fail "glasstcp explain cap.pcap --json exited $rc: $(head -3 explain.err)"
else
	python3 "$PEER" compare "$ADDR" watch.json explain.json >compare.txt 2>&1 ||
		fail "explain's state sequences differ from the kernel's:"
	cat compare.txt >&2
fi

gt_finish
