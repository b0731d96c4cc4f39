#!/usr/bin/env bash
# ICMP errors from the real Linux kernel (RFC 1122 §4.2.3.9): nftables in the
# namespace rejects glasstcp's SYNs with ICMP instead of RST.
#   a) port unreachable, a hard error: glasstcp connect fails at once with
#      ECONNREFUSED, after one SYN (not after the SYN retries, about
#      two minutes), its state change caused by the ICMP.
#   b) host unreachable, a soft error: the connection goes on trying; the SYN
#      is retransmitted after each ICMP, nothing is closed.
# tshark reads the ICMP messages in the capture.
#
# usage: bash icmp.sh /path/to/glasstcp
source "$(dirname "$0")/lib.sh"
gt_setup icmp
gt_netns A
NS=$NS_A
ADDR=192.0.2.81
PEER=192.0.2.82
TUN=gticmp0
GTOPTS=(--tun "$TUN" --addr "$ADDR" --peer "$PEER")
cd "$TMP" || exit 1

# The kernel answers SYNs to 5081 with port unreachable, to 5082 with host
# unreachable (nftables' reject, in this namespace only).
ip netns exec "$NS" nft -f - <<EOF || fail "cannot load the nftables rules"
table inet gt_icmp {
	chain input {
		type filter hook input priority 0;
		ip daddr $PEER tcp dport 5081 reject with icmp type port-unreachable
		ip daddr $PEER tcp dport 5082 reject with icmp type host-unreachable
	}
}
EOF

count() { tshark -n -r "$1" -Y "$2" 2>/dev/null | wc -l; }

# ---- a) port unreachable: refused at once ----
t0=$(date +%s.%N)
timeout 30 ip netns exec "$NS" "$GT" connect "${GTOPTS[@]}" --pcap a.pcap --json a.json \
	"$PEER" 5081 </dev/null >a.out 2>a.err
rc=$?
took=$(gt_since "$t0")
log "a) connect exited $rc after $took s: $(cat a.err)"
[ $rc -eq 1 ] || fail "a) glasstcp connect exited $rc, not 1"
grep -q "ECONNREFUSED" a.err || fail "a) the error is not ECONNREFUSED: $(cat a.err)"
awk -v t="$took" 'BEGIN { exit !(t < 10) }' || fail "a) refused after $took s: the ICMP was not acted on"
n=$(count a.pcap "icmp.type == 3 && icmp.code == 3 && ip.src == $PEER")
[ "$n" -ge 1 ] || fail "a) no ICMP port unreachable from the kernel in the capture"
n=$(count a.pcap "tcp.flags.syn == 1 && !icmp && ip.src == $ADDR")
[ "$n" -eq 1 ] || fail "a) glasstcp sent $n SYNs (one, then the ICMP ends it)"
grep -q '"cause":"rcv ICMP unreachable"' a.json ||
	fail "a) no state change caused by the ICMP in the trace"

# ---- b) host unreachable: soft, the SYN goes on ----
gt_bg ip netns exec "$NS" "$GT" connect "${GTOPTS[@]}" --pcap b.pcap "$PEER" 5082 \
	</dev/null >b.out 2>b.err
CONN=$!
sleep 4.5
gt_alive "$CONN" || fail "b) glasstcp connect ended on a soft error: $(cat b.err)"
kill -INT "$CONN" 2>/dev/null
gt_wait_pid "$CONN" 10 || fail "b) glasstcp connect did not end after SIGINT"
syns=$(count b.pcap "tcp.flags.syn == 1 && !icmp && ip.src == $ADDR")
icmps=$(count b.pcap "icmp.type == 3 && icmp.code == 1 && ip.src == $PEER")
log "b) in 4.5 s: $syns SYNs, $icmps ICMP host unreachable"
[ "$syns" -ge 3 ] || fail "b) $syns SYNs in 4.5 s (want the first and retransmissions at 1 s and 3 s)"
[ "$icmps" -ge 2 ] || fail "b) $icmps ICMP host unreachable in the capture"

gt_finish
