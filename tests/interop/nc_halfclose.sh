#!/usr/bin/env bash
# nc (netcat-openbsd) and glasstcp exchange data both ways, with half-close in
# both directions:
#   a) glasstcp connect -> nc -l: each side sends its own payload; glasstcp's
#      stdin EOF half-closes (FIN); nc closes in turn; both outputs exact.
#   b) nc -N -> glasstcp up echo:7: nc's stdin EOF half-closes; glasstcp goes on
#      echoing after the FIN (CLOSE_WAIT) until everything is back, then closes.
#   c) nc -N -> glasstcp up http: glasstcp answers "Connection: close" and
#      half-closes first; nc goes on sending after that FIN (glasstcp, in
#      FIN_WAIT_2, takes it), then closes; nc's output is the exact response.
#   d) glasstcp connect -> python3 listener: glasstcp half-closes, the Linux
#      side sends its payload only after reading that EOF, then closes.
#      (nc -l cannot do this: in listen mode netcat-openbsd closes its socket
#      as soon as it reads the peer's FIN and its stdin buffer is empty.)
# Each part: exit statuses, glasstcp's states from its JSON trace (no RST),
# the kernel sockets all closed, tshark on the pcap, the kernel's counters.
#
# usage: bash nc_halfclose.sh /path/to/glasstcp
source "$(dirname "$0")/lib.sh"
gt_setup nc
gt_netns A
NS=$NS_A
ADDR=192.0.2.21
PEER=192.0.2.22
TUN=gtnc0
GTOPTS=(--tun "$TUN" --addr "$ADDR" --peer "$PEER")

cd "$TMP" || exit 1
head -c 300000 /dev/urandom >A      # glasstcp -> Linux
head -c 250000 /dev/urandom >B      # Linux -> glasstcp
head -c 1000000 /dev/urandom >P     # echoed
head -c 100000 /dev/urandom >C      # sent by nc after glasstcp's FIN
mkdir www && head -c 50000 /dev/urandom >www/f.bin

gt_nstat "$NS" nstat0

# ---- a) glasstcp connect -> nc -l ----
# nc's stdin stays open 3 s (so nc does not half-close first); glasstcp's
# stdin ends 1 s after A (nc's B is in by then): FIN; nc closes on it.
{ cat B; sleep 3; } | ip netns exec "$NS" timeout 20 nc -l 5001 >a.nc 2>a.nc.err &
NCA=$!
GT_PIDS+=("$NCA")
gt_wait_for 10 eval "ip netns exec '$NS' ss -Htln 'sport = :5001' | grep -q LISTEN" ||
	fail "a) nc -l is not listening after 10 s"
{ cat A; sleep 1; } | timeout 30 ip netns exec "$NS" "$GT" connect "${GTOPTS[@]}" \
	--pcap a.pcap --json a.json "$PEER" 5001 >a.gt 2>a.gt.err
rc=$?
[ $rc -eq 0 ] || fail "a) glasstcp connect exited $rc: $(cat a.gt.err)"
gt_wait_pid "$NCA" 10 || fail "a) nc -l did not exit"
[ "$GT_RC" -eq 0 ] || fail "a) nc -l exited $GT_RC: $(cat a.nc.err)"
cmp -s A a.nc || fail "a) nc received $(stat -c %s a.nc) bytes, not glasstcp's $(stat -c %s A)"
cmp -s B a.gt || fail "a) glasstcp received $(stat -c %s a.gt) bytes, not nc's $(stat -c %s B)"
s=$(gt_states a.json glasstcp ">$PEER:5001")
log "a) glasstcp: $s"
echo "$s" | grep -qE ' CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT$' ||
	fail "a) glasstcp (closing first) went: $s"
gt_wait_linux_done "$NS" 10 "a)"
gt_check_pcap a.pcap "$PEER" 5001

# ---- b) nc -N -> glasstcp echo, c) nc -N -> glasstcp http ----

gt_up "$NS" UP up "${GTOPTS[@]}" --serve echo:7 --serve "http:80:$TMP/www" \
	--pcap bc.pcap --json bc.json || gt_finish

timeout 30 ip netns exec "$NS" nc -N "$ADDR" 7 <P >b.nc 2>b.nc.err
rc=$?
[ $rc -eq 0 ] || fail "b) nc -N exited $rc: $(cat b.nc.err)"
cmp -s P b.nc || fail "b) echo returned $(stat -c %s b.nc) bytes, not the $(stat -c %s P) sent"

req=$'GET /f.bin HTTP/1.1\r\nHost: glasstcp\r\nConnection: close\r\n\r\n'
{ printf '%s' "$req"; sleep 1; cat C; } | timeout 30 ip netns exec "$NS" nc -N "$ADDR" 80 >c.nc 2>c.nc.err
rc=$?
[ $rc -eq 0 ] || fail "c) nc -N exited $rc: $(cat c.nc.err)"
python3 - c.nc www/f.bin <<'EOF' || fail "c) nc's output is not the exact response"
import sys
raw = open(sys.argv[1], "rb").read()
body = open(sys.argv[2], "rb").read()
head, sep, rest = raw.partition(b"\r\n\r\n")
lines = head.split(b"\r\n")
ok = sep and lines[0] == b"HTTP/1.1 200 OK" and rest == body
hdr = {l.split(b":", 1)[0].strip().lower(): l.split(b":", 1)[1].strip() for l in lines[1:]}
ok = ok and hdr.get(b"content-length") == str(len(body)).encode()
ok = ok and hdr.get(b"connection", b"").lower() == b"close"
if not ok:
    print(f"status {lines[0]!r}, headers {hdr}, body {len(rest)} bytes (want {len(body)})")
sys.exit(0 if ok else 1)
EOF

gt_wait_linux_done "$NS" 10 "b), c)"
gt_down "$UP" up
log "b), c): $(grep '^glasstcp: down' up.err)"

s=$(gt_states bc.json glasstcp ":7>$PEER")
log "b) glasstcp: $s"
echo "$s" | grep -qE ' LISTEN SYN_RECEIVED ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED$' ||
	fail "b) glasstcp (closing second) went: $s"
# glasstcp went on sending after the FIN: data segments after "rcv FIN"
n=$(python3 - bc.json "$ADDR:7>" <<'EOF'
import json, sys
fin = None
n = 0
for e in sorted((json.loads(l) for l in open(sys.argv[1]) if l.strip()), key=lambda e: e["t_us"]):
    if e.get("host") != "glasstcp" or not e.get("conn", "").startswith(sys.argv[2]):
        continue
    if e["ev"] == "state" and e.get("cause") == "rcv FIN" and fin is None:
        fin = e["t_us"]
    elif e["ev"] == "tx" and fin is not None and e.get("len", 0) > 0:
        n += e["len"]
print(n)
EOF
)
log "b) echo bytes glasstcp sent after nc's FIN: $n"
[ "$n" -gt 0 ] || fail "b) glasstcp sent no data after nc's FIN (the half-close was not exercised)"

s=$(gt_states bc.json glasstcp ":80>$PEER")
log "c) glasstcp: $s"
echo "$s" | grep -qE ' LISTEN SYN_RECEIVED ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT$' ||
	fail "c) glasstcp (closing first) went: $s"
# every byte nc sent after glasstcp's FIN reached glasstcp, in FIN_WAIT_2
n=$(python3 - bc.json "$ADDR:80>" <<'EOF'
import json, sys
fin = None
n = 0
for e in sorted((json.loads(l) for l in open(sys.argv[1]) if l.strip()), key=lambda e: e["t_us"]):
    if e.get("host") != "glasstcp" or not e.get("conn", "").startswith(sys.argv[2]):
        continue
    if e["ev"] == "tx" and "F" in e.get("flags", "") and fin is None:
        fin = e["t_us"]
    elif e["ev"] == "rx" and fin is not None:
        n += e.get("len", 0)
print(n)
EOF
)
log "c) bytes glasstcp received after its FIN: $n"
[ "$n" -eq "$(stat -c %s C)" ] || fail "c) glasstcp received $n bytes after its FIN, nc sent $(stat -c %s C)"
if python3 "$GT_LIB_DIR/trace.py" causes bc.json glasstcp | grep -q 'rcv RST'; then
	fail "b), c): a glasstcp connection was reset"
fi
gt_check_pcap bc.pcap "$PEER" 7 80

# ---- d) glasstcp connect -> python3 listener that sends after the EOF ----

cat >d_listener.py <<'EOF'
import socket, sys, time
d = sys.argv[1]
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 5004))
l.listen(1)
l.settimeout(20)
open(d + "/d.ready", "w").close()
c, _ = l.accept()
c.settimeout(20)
got = bytearray()
while True:
    x = c.recv(65536)
    if not x:
        break
    got += x
open(d + "/d.py", "wb").write(got)
time.sleep(0.2)
c.sendall(open(d + "/B", "rb").read())  # only after glasstcp's FIN
c.close()
EOF
gt_bg ip netns exec "$NS" python3 d_listener.py "$TMP"
PYD=$!
gt_wait_for 10 test -e d.ready || fail "d) the python listener is not ready"
timeout 30 ip netns exec "$NS" "$GT" connect "${GTOPTS[@]}" --pcap d.pcap --json d.json \
	"$PEER" 5004 <A >d.gt 2>d.gt.err
rc=$?
[ $rc -eq 0 ] || fail "d) glasstcp connect exited $rc: $(cat d.gt.err)"
gt_wait_pid "$PYD" 10 || fail "d) the python listener did not exit"
[ "$GT_RC" -eq 0 ] || fail "d) the python listener exited $GT_RC"
cmp -s A d.py || fail "d) python received $(stat -c %s d.py 2>/dev/null) bytes, not glasstcp's $(stat -c %s A)"
cmp -s B d.gt || fail "d) glasstcp received $(stat -c %s d.gt) bytes after its FIN, not python's $(stat -c %s B)"
s=$(gt_states d.json glasstcp ">$PEER:5004")
log "d) glasstcp: $s"
echo "$s" | grep -qE ' CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT$' ||
	fail "d) glasstcp went: $s"
r=$(python3 "$GT_LIB_DIR/trace.py" fin-then-data d.json)
[ "${r%% *}" = ok ] || fail "d) no data reached glasstcp after its FIN ($r)"
gt_wait_linux_done "$NS" 10 "d)"
gt_check_pcap d.pcap "$PEER" 5004

gt_nstat "$NS" nstat1
# A late FIN's RST is correct TCP (gt_late_rsts in lib.sh says why).
late_rsts=$(gt_late_rsts "$PEER" a.pcap bc.pcap d.pcap)
[ "$late_rsts" -gt 0 ] && log "Linux retransmitted a FIN and reset glasstcp's TIME_WAIT ACK $late_rsts time(s)"
gt_nstat_check nstat0 nstat1 "nc half-close" "TcpOutRsts=$late_rsts"

gt_finish
