#!/usr/bin/env bash
# TCP keep-alive (RFC 1122 §4.2.3.6) between glasstcp and the Linux kernel,
# both ways, on idle connections that must stay up:
#   a) glasstcp connect --keepalive 1,1,2 -> python3 listener: 6 s of silence;
#      glasstcp probes (empty ACK at SND.UNA-1) about every second, Linux
#      answers each; with 2 probes allowed, one unanswered pair would have
#      aborted the connection. Then glasstcp's FIN and a clean close.
#   b) python3 with SO_KEEPALIVE (TCP_KEEPIDLE 1, TCP_KEEPINTVL 1,
#      TCP_KEEPCNT 2) -> glasstcp up echo:7: 6 s of silence; Linux probes,
#      glasstcp answers each (else Linux aborts after 3 s); then an echo.
#   c) the path dies silently: a blackhole route swallows everything the
#      kernel sends to glasstcp. glasstcp connect --keepalive 1,1,2 notices
#      within 1 + 2 * 1 s: RST (which still reaches Linux: python sees the
#      reset), exit 1 with ETIMEDOUT, state cause "keepalive timeout".
# tshark's own keep-alive analysis counts the probes and their answers.
#
# usage: bash keepalive.sh /path/to/glasstcp
source "$(dirname "$0")/lib.sh"
gt_setup keepalive
gt_netns A
NS=$NS_A
ADDR=192.0.2.71
PEER=192.0.2.72
TUN=gtka0
GTOPTS=(--tun "$TUN" --addr "$ADDR" --peer "$PEER")
cd "$TMP" || exit 1

# probes NAME PCAP SRC FIELD: how many packets from SRC tshark marks FIELD
probes() {
	tshark -n -r "$2" -Y "ip.src == $3 && $4" 2>/dev/null | wc -l
}

gt_nstat "$NS" nstat0

# ---- a) glasstcp probes Linux ----
cat >listen.py <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(1)
c, _ = s.accept()
n = 0
while True:
    d = c.recv(4096)
    if not d:
        break
    n += len(d)
c.sendall(b"got %d\n" % n)
c.close()
EOF
gt_bg ip netns exec "$NS" timeout 30 python3 listen.py 5071 >a.py 2>a.py.err
PYA=$!
gt_wait_for 10 eval "ip netns exec '$NS' ss -Htln 'sport = :5071' | grep -q LISTEN" ||
	fail "a) python3 is not listening after 10 s"
{ printf hello; sleep 6; } | timeout 30 ip netns exec "$NS" "$GT" connect "${GTOPTS[@]}" \
	--keepalive 1,1,2 --pcap a.pcap --json a.json "$PEER" 5071 >a.gt 2>a.gt.err
rc=$?
[ $rc -eq 0 ] || fail "a) glasstcp connect exited $rc: $(cat a.gt.err)"
gt_wait_pid "$PYA" 10 || fail "a) python3 did not exit"
[ "$(cat a.gt)" = "got 5" ] || fail "a) glasstcp received '$(cat a.gt)', not 'got 5'"
n=$(probes a a.pcap "$ADDR" tcp.analysis.keep_alive)
m=$(probes a a.pcap "$PEER" tcp.analysis.keep_alive_ack)
log "a) glasstcp sent $n keep-alive probes, Linux answered $m"
[ "$n" -ge 4 ] || fail "a) glasstcp sent $n keep-alive probes in 6 idle seconds (want >= 4)"
[ "$m" -eq "$n" ] || fail "a) Linux answered $m of glasstcp's $n probes"
s=$(gt_states a.json glasstcp ">$PEER:5071")
log "a) glasstcp: $s"
echo "$s" | grep -qE ' CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT$' ||
	fail "a) glasstcp's connection went: $s"
gt_wait_linux_done "$NS" 10 "a)"
gt_check_pcap a.pcap "$PEER" 5071

# ---- b) Linux probes glasstcp ----
cat >client.py <<'EOF'
import socket, sys, time
s = socket.create_connection((sys.argv[1], 7), timeout=20)
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 2)
time.sleep(6)
s.sendall(b"still there?")
got = b""
while len(got) < 12:
    d = s.recv(64)
    if not d:
        break
    got += d
print(got.decode())
s.close()
EOF
gt_up "$NS" UP b.up "${GTOPTS[@]}" --serve echo:7 --pcap b.pcap --json b.json
timeout 30 ip netns exec "$NS" python3 client.py "$ADDR" >b.py 2>b.py.err
rc=$?
[ $rc -eq 0 ] || fail "b) python3 exited $rc: $(cat b.py.err)"
[ "$(cat b.py)" = "still there?" ] || fail "b) python3 got '$(cat b.py)' back, not its echo"
gt_wait_linux_done "$NS" 10 "b)"
gt_down "$UP" b.up
n=$(probes b b.pcap "$PEER" tcp.analysis.keep_alive)
m=$(probes b b.pcap "$ADDR" tcp.analysis.keep_alive_ack)
log "b) Linux sent $n keep-alive probes, glasstcp answered $m"
[ "$n" -ge 4 ] || fail "b) Linux sent $n keep-alive probes in 6 idle seconds (want >= 4)"
[ "$m" -eq "$n" ] || fail "b) glasstcp answered $m of Linux's $n probes"
if python3 "$GT_LIB_DIR/trace.py" causes b.json glasstcp | grep -q 'RST'; then
	fail "b) a connection was reset"
fi
gt_check_pcap b.pcap "$PEER" 7

gt_nstat "$NS" nstat1
# A late FIN's RST is correct TCP (gt_late_rsts in lib.sh says why).
late_rsts=$(gt_late_rsts "$PEER" a.pcap b.pcap)
[ "$late_rsts" -gt 0 ] && log "Linux retransmitted a FIN and reset glasstcp's TIME_WAIT ACK $late_rsts time(s)"
gt_nstat_check nstat0 nstat1 "keep-alive both ways" "TcpOutRsts=$late_rsts"
log "kernel: $(gt_nstat_show nstat0 nstat1 TcpExtTCPKeepAlive TcpExtTCPACKSkippedSeq)"

# ---- c) the path dies: glasstcp finds out ----
cat >hold.py <<'EOF2'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(1)
c, _ = s.accept()
try:
    while c.recv(4096):
        pass
    print("eof")
except ConnectionResetError:
    print("reset")
EOF2
gt_bg ip netns exec "$NS" timeout 30 python3 hold.py 5073 >c.py 2>c.py.err
PYC=$!
gt_wait_for 10 eval "ip netns exec '$NS' ss -Htln 'sport = :5073' | grep -q LISTEN" ||
	fail "c) python3 is not listening after 10 s"
# stdin: a FIFO this script holds open, so it never ends (and no pipeline:
# waiting for glasstcp must not wait for a writer too)
mkfifo c.in
exec 7<>c.in
timeout 30 ip netns exec "$NS" "$GT" connect "${GTOPTS[@]}" \
	--keepalive 1,1,2 --pcap c.pcap --json c.json "$PEER" 5073 <&7 >c.gt 2>c.gt.err 7<&- &
GTC=$!
GT_PIDS+=("$GTC")
gt_wait_for 10 eval "ip netns exec '$NS' ss -Htn state established 'sport = :5073' | grep -q ." ||
	fail "c) the connection is not established after 10 s"
ip netns exec "$NS" ip route add blackhole "$ADDR/32" || fail "c) cannot add the blackhole route"
t=$(date +%s.%N)
gt_wait_pid "$GTC" 15 || fail "c) glasstcp connect did not give up within 15 s"
secs=$(gt_since "$t")
log "c) glasstcp connect: exit $GT_RC after $secs s: $(cat c.gt.err)"
[ "$GT_RC" -eq 1 ] || fail "c) glasstcp connect exited $GT_RC, not 1"
grep -q 'connection timed out (ETIMEDOUT)' c.gt.err || fail "c) no ETIMEDOUT: $(cat c.gt.err)"
awk -v s="$secs" 'BEGIN { exit !(s < 6) }' || fail "c) took $secs s (idle 1 + 2 probes * 1 s)"
python3 "$GT_LIB_DIR/trace.py" causes c.json glasstcp | grep -q 'keepalive timeout' ||
	fail "c) glasstcp's trace has no 'keepalive timeout': $(python3 "$GT_LIB_DIR/trace.py" causes c.json glasstcp)"
gt_wait_pid "$PYC" 10 || fail "c) python3 did not exit"
[ "$(cat c.py)" = "reset" ] || fail "c) python3 saw '$(cat c.py)', not the reset: $(cat c.py.err)"
exec 7>&-

gt_finish
