#!/usr/bin/env bash
# A SYN flood against glasstcp's HTTP server while curl fetches from it
# (issue 12): glasstcp `up --serve http:80:DIR` on a TUN device in a network
# namespace; syn_flood.py (python3 stdlib, a raw socket with IP_HDRINCL in the
# namespace) sends ~5,000 SYNs/s to port 80 from spoofed sources in
# 198.18.0.0/15 (RFC 2544's benchmarking range), random ports, MSS and the
# SACK/TS/WS layouts real stacks send. glasstcp's SYN-ACKs to those sources
# come back into the namespace and an nftables rule drops (and counts) them:
# nobody answers, as with a real flood, so every half-open connection stays
# half-open until it times out (~2 min: longer than the test) and the
# listener's SYN queue (backlog 511) stays full.
#
# While the flood runs, curl (the kernel's TCP, same namespace) fetches a 1 MB
# file 20 times, each on a new connection. Asserted:
#   - every fetch succeeds, byte-exact (sha256), within generous timeouts:
#     the SYN queue overflowed (syn_queue_full drops or SYN cookies sent) and
#     curl still got in, which needs SYN cookies (RFC 4987 §3.6): with them,
#     every fetch's connection was made from a valid cookie (syncookies_ok);
#   - the flood arrived: glasstcp read at least the SYNs sent minus the ones
#     the TUN device's queue dropped (it says how many), and most of them;
#     the flood was still running when the last fetch ended;
#   - glasstcp holds up: no crash, peak RSS (VmHWM) under 64 MB, `up` exits 0
#     on SIGINT, and the kernel's error counters do not move.
# Without SYN cookies every curl SYN finds the queue full: the fetches time
# out (the test fails, in about a minute: the fetch phase stops after 60 s).
#
# usage: bash syn_flood.sh /path/to/glasstcp
source "$(dirname "$0")/lib.sh"
gt_setup synflood
gt_netns A
NS=$NS_A
ADDR=192.0.2.91
PEER=192.0.2.92
TUN=gtflood0
PORT=80
SPOOF=198.18.0.0/15
RATE=${GT_FLOOD_RATE:-5000}
FETCHES=20
PHASE_MAX=60     # seconds for all the fetches, at most
RSS_MAX_KB=65536 # 64 MB
cd "$TMP" || exit 1

mkdir -p www got
head -c $((1000 * 1000)) /dev/urandom >www/file.bin

gt_nstat "$NS" nstat0
gt_up "$NS" UP up --tun "$TUN" --addr "$ADDR" --peer "$PEER" \
	--serve "http:$PORT:$TMP/www" || gt_finish

# The attacker never answers: glasstcp's SYN-ACKs to the spoofed sources come
# out of the TUN device into this namespace; they are dropped (and counted)
# before routing, so the kernel neither forwards nor answers them. The
# namespace (and the table with it) is deleted at the end.
ip netns exec "$NS" nft -f - <<EOF || fail "cannot add the nftables rule"
table ip gt_synflood {
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		iifname "$TUN" ip daddr $SPOOF counter drop
	}
}
EOF
# The spoofed SYNs leave through the device by their destination (glasstcp's
# address is on its /24); reverse-path filtering looks only at what comes in.
ip netns exec "$NS" ip route get "$ADDR" | grep -q "dev $TUN" ||
	fail "the route to $ADDR is not through $TUN: $(ip netns exec "$NS" ip route get "$ADDR")"

# tun_stat FIELD: the device's counter (tx: kernel -> glasstcp)
tun_stat() {
	ip netns exec "$NS" cat "/sys/class/net/$TUN/statistics/$1" 2>/dev/null || echo 0
}
tx0=$(tun_stat tx_packets)
txd0=$(tun_stat tx_dropped)

gt_bg ip netns exec "$NS" python3 -u "$GT_LIB_DIR/syn_flood.py" --dst "$ADDR" --port "$PORT" \
	--rate "$RATE" --duration 100 --src-net "$SPOOF" >flood.out 2>flood.err
FLOOD=$!
flood_sent() { awk '/^sent / { n = $2 } END { print n + 0 }' flood.out; }
# curl starts when the queue is long full (2,000 SYNs for a queue of 511)
gt_wait_for 20 eval '[ "$(flood_sent)" -ge 2000 ]' ||
	fail "the flooder has not sent 2,000 SYNs after 20 s: $(tail -3 flood.out flood.err)"
log "flood running: $(flood_sent) SYNs sent; curl starts"

ok=0 tried=0
t=$(date +%s.%N)
for i in $(seq -w 1 $FETCHES); do
	if awk -v s="$(gt_since "$t")" -v m="$PHASE_MAX" 'BEGIN { exit !(s >= m) }'; then
		fail "fetch phase: $PHASE_MAX s are up after $tried of $FETCHES fetches"
		break
	fi
	tried=$((tried + 1))
	# a lost SYN is retried by curl after 1, 3, 7 s: 10 s to connect is ample
	timeout 45 ip netns exec "$NS" curl -sS --fail --connect-timeout 10 --max-time 40 \
		-o "got/$i.bin" -w '%{http_code} %{time_connect} %{time_total}\n' \
		"http://$ADDR:$PORT/file.bin" >>curl.w 2>>curl.err
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "fetch $i: curl exited $rc: $(tail -1 curl.err)"
		echo "fail rc=$rc" >>curl.w
		continue
	fi
	gt_same www/file.bin "got/$i.bin" "fetch $i" && ok=$((ok + 1))
done
secs=$(gt_since "$t")
log "curl: $ok of $FETCHES fetches byte-exact ($tried tried) in $secs s under the flood"
log "curl (code, connect s, total s): $(awk '{ printf "%s%s", sep, $0; sep = "; " }' curl.w)"
gt_alive "$FLOOD" || fail "the flooder ended before the fetches did: $(tail -3 flood.out flood.err)"

kill -INT "$FLOOD" 2>/dev/null
gt_wait_pid "$FLOOD" 10 || fail "the flooder did not stop on SIGINT"
[ "${GT_RC:-1}" -eq 0 ] || fail "the flooder exited $GT_RC: $(cat flood.err)"
done_line=$(grep '^done ' flood.out)
log "flooder: $done_line"
sent=$(echo "$done_line" | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
errors=$(echo "$done_line" | sed -n 's/.*errors=\([0-9]*\).*/\1/p')
[ -n "$sent" ] || {
	fail "the flooder printed no summary: $(tail -3 flood.out flood.err)"
	sent=0 errors=0
}
[ "$errors" -eq 0 ] || fail "the flooder's sendto failed $errors times"

# glasstcp has read what the device delivered before it is stopped
sleep 0.5
tx=$(($(tun_stat tx_packets) - tx0))
txd=$(($(tun_stat tx_dropped) - txd0))
dropped_synacks=$(ip netns exec "$NS" nft list table ip gt_synflood |
	sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$UP/status" 2>/dev/null)
gt_alive "$UP" || fail "glasstcp up died during the flood: $(tail -5 up.err)"
gt_down "$UP" up
gt_nstat "$NS" nstat1
log "$(grep '^glasstcp: down' up.err)"
log "$(grep '^glasstcp: counters' up.err)"
# counter NAME: from `up`'s counters line ("" when it is not there)
counter() {
	grep '^glasstcp: counters:' up.err | tr ' ' '\n' | sed -n "s/^$1=//p"
}
rx_segs=$(counter rx_segments)
[ -n "$rx_segs" ] || fail "glasstcp up printed no counters line: $(cat up.err)"

log "device: $tx packets to glasstcp, $txd dropped on a full queue; nft dropped ${dropped_synacks:-?} packets to $SPOOF"
log "glasstcp up: VmHWM ${hwm:-?} kB"
if [ -z "$hwm" ]; then
	fail "could not read VmHWM of glasstcp up (pid $UP)"
elif [ "$hwm" -gt "$RSS_MAX_KB" ]; then
	fail "glasstcp up's peak RSS is $hwm kB (over $RSS_MAX_KB kB)"
fi

# the flood arrived: every SYN sent went to glasstcp or was dropped on the
# device's full queue, and most went to glasstcp
[ "${rx_segs:-0}" -ge $((sent - txd)) ] ||
	fail "glasstcp took ${rx_segs:-?} segments, fewer than the $sent SYNs sent minus $txd dropped by the device"
[ "$txd" -le $((sent / 2)) ] || fail "the device dropped $txd of $sent SYNs: the flood did not reach glasstcp"
[ "${dropped_synacks:-0}" -gt 0 ] || fail "no SYN-ACK to $SPOOF came back (nft counted ${dropped_synacks:-?})"

# glasstcp's SYN queue overflowed: drops (no cookies) or cookies sent
qfull=$(counter drop.syn_queue_full)
cookies=$(counter syncookies_sent)
cookies_ok=$(counter syncookies_ok)
log "glasstcp: ${qfull:-0} SYNs dropped on a full SYN queue, ${cookies:-no} SYN cookies sent, ${cookies_ok:-no} valid ones returned"
[ "${qfull:-0}" -gt 0 ] || [ "${cookies:-0}" -gt 0 ] ||
	fail "the SYN queue never overflowed (no syn_queue_full drop, no SYN cookie): no flood?"
# the queue was full before curl started and stayed full (its half-open
# connections outlive the test): curl got in with cookies, every time
if [ -n "$cookies" ] && [ "${cookies_ok:-0}" -lt "$ok" ]; then
	fail "$ok fetches succeeded but only ${cookies_ok:-0} connections were made from a SYN cookie"
fi
opened=$(counter conns_opened)
[ "${opened:-0}" -ge "$ok" ] || fail "glasstcp opened ${opened:-0} connections for $ok fetches"

gt_nstat_check nstat0 nstat1 "flood and fetches"
gt_finish
