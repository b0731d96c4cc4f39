#!/usr/bin/env bash
# `glasstcp get` downloads a 100 MB file of random bytes from
# `python3 -m http.server` (the Linux kernel's TCP) in a network namespace: the
# sha256 matches, the server logged a 200, both ends' connections end (the
# Linux side seen with --kernel-states), tshark finds nothing wrong in the
# pcap, and the kernel's error counters do not move.
#
# usage: bash get_python.sh /path/to/glasstcp
source "$(dirname "$0")/lib.sh"
gt_setup get
gt_netns A
NS=$NS_A
ADDR=192.0.2.11
PEER=192.0.2.12
TUN=gtget0
PORT=8000
BIG_MB=100

www=$TMP/www
mkdir -p "$www"
head -c $((BIG_MB * 1000 * 1000)) /dev/urandom >"$www/big.bin"

# The device (and the kernel's address on it) exists only while glasstcp runs,
# so python listens on 0.0.0.0: in this namespace, that is lo and the device.
gt_nstat "$NS" "$TMP/nstat0"
gt_bg ip netns exec "$NS" python3 -u -m http.server "$PORT" --bind 0.0.0.0 --directory "$www" \
	>"$TMP/py.out" 2>"$TMP/py.err"
PY=$!
gt_wait_for 10 eval "ip netns exec '$NS' ss -Htln 'sport = :$PORT' | grep -q LISTEN" ||
	fail "python3 -m http.server is not listening on :$PORT after 10 s: $(cat "$TMP/py.err")"

t=$(date +%s.%N)
timeout 240 ip netns exec "$NS" "$GT" get --tun "$TUN" --addr "$ADDR" --peer "$PEER" \
	--pcap "$TMP/get.pcap" --json "$TMP/get.json" --kernel-states \
	"http://$PEER:$PORT/big.bin" -o "$TMP/big.out" >"$TMP/get.out" 2>"$TMP/get.err"
rc=$?
secs=$(gt_since "$t")
log "glasstcp get: exit $rc in $secs s: $(cat "$TMP/get.err")"
[ $rc -eq 0 ] || fail "glasstcp get exited $rc: $(cat "$TMP/get.err")"
grep -qE "^glasstcp get: 200, $((BIG_MB * 1000 * 1000)) bytes in " "$TMP/get.err" ||
	fail "glasstcp get did not report '200, $((BIG_MB * 1000 * 1000)) bytes': $(cat "$TMP/get.err")"
gt_same "$www/big.bin" "$TMP/big.out" "100 MB from python http.server"
grep -q '"GET /big.bin HTTP/1.1" 200 ' "$TMP/py.err" ||
	fail "python's log has no 'GET /big.bin HTTP/1.1 200': $(cat "$TMP/py.err")"
gt_wait_linux_done "$NS" 10 "100 MB from python"
gt_nstat "$NS" "$TMP/nstat1"
kill -TERM "$PY"
gt_wait_pid "$PY" 10 || fail "python3 http.server did not exit on SIGTERM"

# both ends' states: glasstcp's connection and the kernel's (tracepoint)
g=$(gt_states "$TMP/get.json" glasstcp ">$PEER:$PORT")
k=$(gt_states "$TMP/get.json" linux ">$ADDR:")
log "glasstcp: $g"
log "linux:    $k"
echo "$g" | grep -qE "^$ADDR:[0-9]+>$PEER:$PORT CLOSED SYN_SENT ESTABLISHED .*(TIME_WAIT|CLOSED)$" ||
	fail "glasstcp's connection went: $g"
echo "$k" | grep -qE "^$PEER:$PORT>$ADDR:[0-9]+ LISTEN SYN_RECEIVED ESTABLISHED .*(TIME_WAIT|CLOSED)$" ||
	fail "the kernel's connection went: $k (is --kernel-states working? $(grep -i kernel-states "$TMP/get.err"))"
if python3 "$GT_LIB_DIR/trace.py" causes "$TMP/get.json" glasstcp | grep -q 'rcv RST'; then
	fail "glasstcp's connection was reset"
fi

gt_nstat_check "$TMP/nstat0" "$TMP/nstat1" "100 MB from python"
log "kernel sender: $(gt_nstat_show "$TMP/nstat0" "$TMP/nstat1" TcpOutSegs TcpRetransSegs TcpExtTCPTimeouts TcpExtTCPLossProbes TcpExtTCPWinProbe)"
gt_check_pcap "$TMP/get.pcap" "$PEER" "$PORT"

gt_finish
