#!/usr/bin/env bash
# curl (Linux kernel TCP) against glasstcp's HTTP server (`glasstcp up --serve
# http:PORT:DIR`) on a TUN device in a network namespace:
#   - 200 small files in one curl run with keep-alive: one connection (curl's
#     num_connects and the SYNs in the pcap), every body byte-exact;
#   - the same 200 with "Connection: close": 200 connections, every body exact;
#   - a 100 MB file of random bytes: sha256 matches;
# and for each part: glasstcp's connections end without RST, the kernel's
# sockets all close, `up` exits 0 on SIGINT, tshark finds nothing wrong in the
# pcap, and the kernel's error counters do not move.
#
# usage: bash http_curl.sh /path/to/glasstcp
source "$(dirname "$0")/lib.sh"
gt_setup http
gt_netns A
NS=$NS_A
ADDR=192.0.2.1
PEER=192.0.2.2
TUN=gthttp0
BIG_MB=100

www=$TMP/www
mkdir -p "$www" "$TMP/ka" "$TMP/cl"
head -c $((BIG_MB * 1000 * 1000)) /dev/urandom >"$www/big.bin"
# 200 small files, 1 byte .. ~20 KB, sizes spread (some below, some above one MSS)
for i in $(seq -w 0 199); do
	head -c $((1 + (10#$i * 7919) % 20000)) /dev/urandom >"$www/s$i.bin"
done

# ---- 200 small requests: keep-alive (port 8080), then Connection: close (8088) ----

gt_nstat "$NS" "$TMP/nstat0"
gt_up "$NS" UP "$TMP/up1" --tun "$TUN" --addr "$ADDR" --peer "$PEER" \
	--serve "http:8080:$www" --serve "http:8088:$www" \
	--pcap "$TMP/small.pcap" --json "$TMP/small.json" || gt_finish

args=()
for i in $(seq -w 0 199); do
	args+=(-o "$TMP/ka/s$i.bin" "http://$ADDR:8080/s$i.bin")
done
t=$(date +%s.%N)
timeout 120 ip netns exec "$NS" curl -sS --fail --max-time 100 -w '%{http_code} %{num_connects}\n' \
	"${args[@]}" >"$TMP/ka.w" 2>"$TMP/ka.err"
rc=$?
log "keep-alive: 200 requests in $(gt_since "$t") s, curl exit $rc"
[ $rc -eq 0 ] || fail "keep-alive: curl exited $rc: $(head -5 "$TMP/ka.err")"
n=$(grep -c '^200 ' "$TMP/ka.w")
[ "$n" -eq 200 ] || fail "keep-alive: $n of 200 responses were 200 OK"
conns=$(awk '{ s += $2 } END { print s + 0 }' "$TMP/ka.w")
[ "$conns" -eq 1 ] || fail "keep-alive: curl opened $conns connections for 200 requests, expected 1 (reuse)"
bad=0
for i in $(seq -w 0 199); do
	cmp -s "$www/s$i.bin" "$TMP/ka/s$i.bin" || bad=$((bad + 1))
done
[ $bad -eq 0 ] || fail "keep-alive: $bad of 200 bodies differ from the files"

args=()
for i in $(seq -w 0 199); do
	args+=(-o "$TMP/cl/s$i.bin" "http://$ADDR:8088/s$i.bin")
done
t=$(date +%s.%N)
timeout 120 ip netns exec "$NS" curl -sS --fail --max-time 100 -H 'Connection: close' \
	-w '%{http_code} %{num_connects}\n' "${args[@]}" >"$TMP/cl.w" 2>"$TMP/cl.err"
rc=$?
log "connection close: 200 requests in $(gt_since "$t") s, curl exit $rc"
[ $rc -eq 0 ] || fail "connection close: curl exited $rc: $(head -5 "$TMP/cl.err")"
n=$(grep -c '^200 1$' "$TMP/cl.w")
[ "$n" -eq 200 ] || fail "connection close: $n of 200 requests were 200 OK on a new connection"
bad=0
for i in $(seq -w 0 199); do
	cmp -s "$www/s$i.bin" "$TMP/cl/s$i.bin" || bad=$((bad + 1))
done
[ $bad -eq 0 ] || fail "connection close: $bad of 200 bodies differ from the files"

gt_wait_linux_done "$NS" 10 "small requests"
gt_down "$UP" "$TMP/up1"
gt_nstat "$NS" "$TMP/nstat1"
log "small requests: $(grep '^glasstcp: down' "$TMP/up1.err")"

# SYNs from the kernel, per port, in glasstcp's capture
syns() {
	tshark -n -r "$TMP/small.pcap" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == $1" \
		2>/dev/null | wc -l
}
n=$(syns 8080)
[ "$n" -eq 1 ] || fail "keep-alive: $n SYNs to port 8080 in the pcap, expected 1"
n=$(syns 8088)
[ "$n" -eq 200 ] || fail "connection close: $n SYNs to port 8088 in the pcap, expected 200"

# glasstcp's side: every connection ended in CLOSED or TIME_WAIT, never by RST
gt_states "$TMP/small.json" glasstcp ':80(80|88)>192' >"$TMP/small.states"
n=$(wc -l <"$TMP/small.states")
[ "$n" -eq 201 ] || fail "glasstcp's trace has $n connections, expected 201"
n=$(grep -cvE ' (CLOSED|TIME_WAIT)$' "$TMP/small.states")
[ "$n" -eq 0 ] || fail "$n glasstcp connections did not end in CLOSED/TIME_WAIT: $(grep -vE ' (CLOSED|TIME_WAIT)$' "$TMP/small.states" | head -3)"
gt_states "$TMP/small.json" glasstcp ':8080>192' >"$TMP/ka.states"
grep -q 'ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED$' "$TMP/ka.states" ||
	fail "keep-alive connection (curl closes first): glasstcp went $(cat "$TMP/ka.states")"
# the server closes first: FIN_WAIT_1, FIN_WAIT_2 (or CLOSING when curl's FIN
# crosses ours), TIME_WAIT
gt_states "$TMP/small.json" glasstcp ':8088>192' | cut -d' ' -f2- | sort | uniq -c >"$TMP/cl.paths"
log "connection close: glasstcp's paths: $(awk '{ $1 = $1 "x"; print }' "$TMP/cl.paths" | paste -sd';')"
n=$(grep -cvE ' ESTABLISHED FIN_WAIT_1 (FIN_WAIT_2|CLOSING) TIME_WAIT$' "$TMP/cl.paths")
[ "$n" -eq 0 ] || fail "connection close: unexpected glasstcp state paths: $(cat "$TMP/cl.paths")"
if python3 "$GT_LIB_DIR/trace.py" causes "$TMP/small.json" glasstcp | grep -q 'rcv RST'; then
	fail "a glasstcp connection was reset: $(python3 "$GT_LIB_DIR/trace.py" causes "$TMP/small.json" glasstcp | grep 'rcv RST' | head -2)"
fi
gt_nstat_check "$TMP/nstat0" "$TMP/nstat1" "small requests"
gt_check_pcap "$TMP/small.pcap" "$PEER"

# ---- 100 MB ----

gt_up "$NS" UP "$TMP/up2" --tun "$TUN" --addr "$ADDR" --peer "$PEER" \
	--serve "http:80:$www" --pcap "$TMP/big.pcap" --json "$TMP/big.json" || gt_finish
t=$(date +%s.%N)
timeout 200 ip netns exec "$NS" curl -sS --fail --max-time 180 -o "$TMP/big.out" \
	-w '%{http_code} %{size_download} %{speed_download}\n' "http://$ADDR/big.bin" \
	>"$TMP/big.w" 2>"$TMP/big.err"
rc=$?
secs=$(gt_since "$t")
log "100 MB: curl exit $rc in $secs s: $(cat "$TMP/big.w")"
[ $rc -eq 0 ] || fail "100 MB: curl exited $rc: $(head -5 "$TMP/big.err")"
gt_same "$www/big.bin" "$TMP/big.out" "100 MB download"
gt_wait_linux_done "$NS" 10 "100 MB"
gt_down "$UP" "$TMP/up2"
gt_nstat "$NS" "$TMP/nstat2"
log "100 MB: $(grep '^glasstcp: down' "$TMP/up2.err")"
gt_states "$TMP/big.json" glasstcp ':80>192' >"$TMP/big.states"
grep -qE '^[^ ]+ LISTEN SYN_RECEIVED ESTABLISHED .*(CLOSED|TIME_WAIT)$' "$TMP/big.states" ||
	fail "100 MB: glasstcp's connection went $(cat "$TMP/big.states")"
gt_nstat_check "$TMP/nstat1" "$TMP/nstat2" "100 MB"
gt_check_pcap "$TMP/big.pcap" "$PEER" 80

gt_finish
