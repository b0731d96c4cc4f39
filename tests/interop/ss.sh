#!/usr/bin/env bash
# `glasstcp ss` against a running `glasstcp up` (its control socket) and
# up's SIGUSR1, on a TUN device in a network namespace: nc (the kernel)
# holds a connection open to up's echo service, then
#   - `glasstcp ss --ctl PATH` lists it ESTAB with the kernel's address and
#     port (as the kernel's own ss sees the other end) and the listener;
#   - `ss --json` says the same (jansson-parsable, python3 reads it);
#   - `ss -s` and `ss -s --json` count it: TcpPassiveOpens 1, TcpCurrEstab 1;
#   - `ss --tun NAME` finds up's default socket (/run/glasstcp/NAME.sock);
#   - SIGUSR1 prints the counters and the table on up's stderr;
#   - ss against a path with no up fails and names the path;
#   - up removes its socket on exit.
#
# usage: bash ss.sh /path/to/glasstcp
source "$(dirname "$0")/lib.sh"
gt_setup ss
gt_netns A
NS=$NS_A
ADDR=192.0.2.101
PEER=192.0.2.102
TUN=gtss0
CTL=$TMP/up.sock

gt_up "$NS" UP "$TMP/up" --tun "$TUN" --addr "$ADDR" --peer "$PEER" \
	--serve echo:7 --ctl "$CTL" || gt_finish
[ -S "$CTL" ] || fail "up made no control socket at $CTL"

# a connection that stays open: nc reading a FIFO nobody writes (opened
# read-write, so that the open does not wait for a writer)
mkfifo "$TMP/nc.in"
gt_bg ip netns exec "$NS" nc "$ADDR" 7 <>"$TMP/nc.in" >/dev/null
NC=$!
kport() { ip netns exec "$NS" ss -Htn state established "dst $ADDR:7" | awk '{ print $3 }' | sed 's/.*://'; }
gt_wait_for 5 test -n "$(kport)" || fail "nc's connection to $ADDR:7 is not established"
KPORT=$(kport)
log "nc's connection: $PEER:$KPORT -> $ADDR:7"

"$GT" ss --ctl "$CTL" >"$TMP/ss.txt" 2>"$TMP/ss.err" || fail "glasstcp ss failed: $(cat "$TMP/ss.err")"
log "glasstcp ss:"$'\n'"$(cat "$TMP/ss.txt")"
head -1 "$TMP/ss.txt" | grep -q '^State *Recv-Q *Send-Q *Local Address:Port *Peer Address:Port' ||
	fail "ss: no header: $(head -1 "$TMP/ss.txt")"
grep -qE "^ESTAB +0 +0 +$ADDR:7 +$PEER:$KPORT\$" "$TMP/ss.txt" ||
	fail "ss: no ESTAB row for $ADDR:7 <-> $PEER:$KPORT"
grep -A1 -E "^ESTAB .* $PEER:$KPORT\$" "$TMP/ss.txt" | tail -1 |
	grep -qE '^	 sock:[0-9]+ rto:[0-9]+ rtt:[0-9.]+/[0-9.]+ mss:[0-9]+ cwnd:[0-9]+ retrans:0/0 bytes_acked:1 bytes_received:0$' ||
	fail "ss: the ESTAB row's details are not there: $(grep -A1 ESTAB "$TMP/ss.txt")"
grep -qE "^LISTEN +0 +[0-9]+ +$ADDR:7 +0\.0\.0\.0:\*\$" "$TMP/ss.txt" || fail "ss: no LISTEN row for port 7"

"$GT" ss --ctl "$CTL" --json >"$TMP/ss.json" 2>"$TMP/ss.err" || fail "glasstcp ss --json failed: $(cat "$TMP/ss.err")"
python3 - "$TMP/ss.json" "$ADDR" "$PEER" "$KPORT" <<'PY' || fail "ss --json: $(cat "$TMP/ss.json")"
import json, sys
d = json.load(open(sys.argv[1]))
c = [x for x in d["connections"] if x["state"] == "ESTABLISHED"]
assert len(c) == 1, c
c = c[0]
assert (c["local_addr"], c["local_port"]) == (sys.argv[2], 7), c
assert (c["peer_addr"], c["peer_port"]) == (sys.argv[3], int(sys.argv[4])), c
assert c["ss_state"] == "ESTAB" and c["sock"] is not None and c["mss"] > 0 and c["rto_us"] > 0, c
l = [x for x in d["connections"] if x["state"] == "LISTEN"]
assert len(l) == 1 and l[0]["backlog"] > 0 and l[0]["accept_queue"] == 0, l
PY

"$GT" ss --ctl "$CTL" -s >"$TMP/nstat.txt" 2>"$TMP/ss.err" || fail "glasstcp ss -s failed: $(cat "$TMP/ss.err")"
log "glasstcp ss -s:"$'\n'"$(head -12 "$TMP/nstat.txt")"
val() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
[ "$(val "$TMP/nstat.txt" TcpPassiveOpens)" = 1 ] || fail "ss -s: TcpPassiveOpens is '$(val "$TMP/nstat.txt" TcpPassiveOpens)', expected 1"
[ "$(val "$TMP/nstat.txt" TcpCurrEstab)" = 1 ] || fail "ss -s: TcpCurrEstab is '$(val "$TMP/nstat.txt" TcpCurrEstab)', expected 1"
[ "$(val "$TMP/nstat.txt" TcpActiveOpens)" = 0 ] || fail "ss -s: TcpActiveOpens is not 0"
n=$(val "$TMP/nstat.txt" TcpInSegs)
[ -n "$n" ] && [ "$n" -ge 2 ] || fail "ss -s: TcpInSegs is '$n', expected 2 or more (SYN, ACK)"
"$GT" ss --ctl "$CTL" -s --json >"$TMP/nstat.json" 2>"$TMP/ss.err" || fail "glasstcp ss -s --json failed"
python3 -c 'import json, sys; c = json.load(open(sys.argv[1]))["counters"]; assert c["TcpCurrEstab"] == 1 and c["TcpPassiveOpens"] == 1 and "drop_no_connection" in c, c' \
	"$TMP/nstat.json" || fail "ss -s --json: $(cat "$TMP/nstat.json")"

# the default socket of the up on a device, by the device's name (another
# namespace: the two devices' /24s must not meet)
gt_netns B
gt_up "$NS_B" UP2 "$TMP/up2" --tun gtss1 --addr 192.0.2.105 --peer 192.0.2.106 || gt_finish
"$GT" ss --tun gtss1 >"$TMP/ss2.txt" 2>"$TMP/ss2.err" ||
	fail "glasstcp ss --tun gtss1 failed: $(cat "$TMP/ss2.err")"
[ "$(wc -l <"$TMP/ss2.txt")" -eq 1 ] || fail "ss --tun gtss1: an up serving nothing lists: $(cat "$TMP/ss2.txt")"
gt_down "$UP2" "$TMP/up2"
[ -e /run/glasstcp/gtss1.sock ] && fail "up left /run/glasstcp/gtss1.sock behind"

# SIGUSR1: the same on up's stderr, and up goes on
kill -USR1 "$UP"
gt_wait_for 5 grep -qE "^ESTAB .* $PEER:$KPORT\$" "$TMP/up.err" || fail "SIGUSR1: no ESTAB row on up's stderr: $(cat "$TMP/up.err")"
grep -q '^glasstcp up: SIGUSR1' "$TMP/up.err" || fail "SIGUSR1: no heading on up's stderr"
grep -qE '^TcpCurrEstab +1$' "$TMP/up.err" || fail "SIGUSR1: no TcpCurrEstab 1 on up's stderr"
gt_alive "$UP" || fail "up died of SIGUSR1"

# no up at a path: a clear failure naming it
if "$GT" ss --ctl "$TMP/none.sock" >/dev/null 2>"$TMP/none.err"; then
	fail "ss --ctl with no up there succeeded"
fi
grep -q "no glasstcp up at $TMP/none.sock" "$TMP/none.err" || fail "ss with no up: '$(cat "$TMP/none.err")'"
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$TMP/stale.sock"
"$GT" ss --ctl "$TMP/stale.sock" >/dev/null 2>"$TMP/stale.err" && fail "ss on a stale socket succeeded"
grep -q "no glasstcp up at $TMP/stale.sock (a stale socket" "$TMP/stale.err" || fail "ss on a stale socket: '$(cat "$TMP/stale.err")'"

# nc goes (the kernel sends FIN), up closes its end and exits cleanly
kill "$NC" 2>/dev/null
gt_wait_pid "$NC" 5 || fail "nc did not exit on SIGTERM"
gt_down "$UP" "$TMP/up"
[ -e "$CTL" ] && fail "up left its control socket $CTL behind"
gt_finish
