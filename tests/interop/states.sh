#!/usr/bin/env bash
# Both ends' TCP states, glasstcp's from its own trace and the Linux kernel's
# from `--kernel-states` (tracepoint sock:inet_sock_set_state + sock_diag),
# merged in one JSON Lines trace:
#   1. glasstcp closes first (http "Connection: close", python reads to EOF,
#      then closes): glasstcp FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT, and CLOSED 2*MSL
#      later (60 s: MSL is 30 s by default and `up` has no option for it);
#      Linux CLOSE_WAIT LAST_ACK CLOSED.
#   2. Linux closes first (python shutdown(SHUT_WR) on an echo connection):
#      Linux FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT and CLOSED about 60 s later
#      (TCP_TIMEWAIT_LEN, seen through sock_diag); glasstcp CLOSE_WAIT
#      LAST_ACK CLOSED.
#   3. Linux connects to a glasstcp port with no listener: ECONNREFUSED
#      (python), curl exit 7 "Connection refused"; glasstcp answered RST.
#   4. A Linux client closes with SO_LINGER 0: its RST takes glasstcp's
#      connection from ESTABLISHED to CLOSED ("rcv RST").
#   5. glasstcp connects to a Linux port with no listener: `glasstcp connect`
#      exits 1 with ECONNREFUSED.
#   6. A Linux server closes with SO_LINGER 0: `glasstcp connect` exits 1
#      with ECONNRESET.
#   7. The reverse: `glasstcp connect --linger 0` closes with RST once its
#      bytes are ACKed; the Linux server's recv() fails with ECONNRESET, and
#      glasstcp goes ESTABLISHED -> CLOSED (no FIN, no TIME_WAIT).
# 1-4 run against one `glasstcp up` (namespace S), 5-7 with `glasstcp
# connect` (namespace C) while S waits out both TIME_WAITs (about 62 s).
# Plus tshark on every pcap and the kernel's counters (the resets and
# refusals move exactly the counters they should).
#
# usage: bash states.sh /path/to/glasstcp
source "$(dirname "$0")/lib.sh"
gt_setup states
gt_netns S
gt_netns C
SADDR=192.0.2.31
SPEER=192.0.2.32
CADDR=192.0.2.41
CPEER=192.0.2.42
PEERPY="$GT_LIB_DIR/peer.py"
cd "$TMP" || exit 1
mkdir www && head -c 20000 /dev/urandom >www/small.bin

trace() { python3 "$GT_LIB_DIR/trace.py" "$@"; }
# expect_path JSON HOST REGEX PATH-REGEX WHAT: the one connection of HOST
# matching REGEX went through the states PATH-REGEX (anchored at the end).
expect_path() {
	local got
	got=$(gt_states "$1" "$2" "$3")
	log "$5: $2 $got"
	if [ "$(echo "$got" | grep -c .)" -ne 1 ]; then
		fail "$5: expected one $2 connection matching '$3', got: $got"
	elif ! echo "$got" | grep -qE " $4\$"; then
		fail "$5: $2 went '$got', expected '... $4'"
	fi
}

gt_nstat "$NS_S" nstat-s0
gt_nstat "$NS_C" nstat-c0
gt_up "$NS_S" UP up --tun gtst0 --addr "$SADDR" --peer "$SPEER" \
	--serve "http:80:$TMP/www" --serve echo:7 --serve echo:17 \
	--pcap s.pcap --json s.json --kernel-states --table s.table || gt_finish
if grep -q 'kernel-states' up.err; then
	fail "--kernel-states does not work here: $(grep kernel-states up.err)"
fi

# ---- 1. glasstcp closes first ----
out=$(timeout 30 ip netns exec "$NS_S" python3 "$PEERPY" close-after-eof "$SADDR" 80 /small.bin 2>&1)
[ $? -eq 0 ] || fail "1: python client: $out"
[ "$out" = "HTTP/1.1 200 OK body=20000" ] || fail "1: python client got: $out"
T1=$(date +%s.%N)

# ---- 2. Linux closes first ----
out=$(timeout 30 ip netns exec "$NS_S" python3 "$PEERPY" close-first "$SADDR" 7 2>&1)
[ $? -eq 0 ] || fail "2: python client: $out"

# ---- 3. Linux -> glasstcp port with no listener ----
out=$(timeout 30 ip netns exec "$NS_S" python3 "$PEERPY" refused "$SADDR" 9999 2>&1)
[ $? -eq 0 ] || fail "3: python connect to a closed port: $out"
log "3: python: $out"
timeout 30 ip netns exec "$NS_S" curl -sS -v --max-time 20 "http://$SADDR:9998/" >/dev/null 2>curl.err
rc=$?
log "3: curl: exit $rc: $(grep -E 'refused|^curl' curl.err | paste -sd' ')"
[ $rc -eq 7 ] || fail "3: curl to a closed port exited $rc, expected 7 (couldn't connect)"
grep -q 'Connection refused' curl.err || fail "3: curl did not say 'Connection refused': $(cat curl.err)"

# ---- 4. Linux client resets with SO_LINGER 0 ----
out=$(timeout 30 ip netns exec "$NS_S" python3 "$PEERPY" linger-client "$SADDR" 17 2>&1)
[ $? -eq 0 ] || fail "4: python linger client: $out"

# ---- 5. glasstcp -> Linux port with no listener ----
CONN=(--tun gtsc0 --addr "$CADDR" --peer "$CPEER")
timeout 30 ip netns exec "$NS_C" "$GT" connect "${CONN[@]}" --json c5.json --pcap c5.pcap \
	--kernel-states --table c5.table "$CPEER" 9999 </dev/null >c5.out 2>c5.err
rc=$?
log "5: glasstcp connect: exit $rc: $(cat c5.err)"
[ $rc -eq 1 ] || fail "5: glasstcp connect to a closed port exited $rc, expected 1"
grep -q 'connection refused (ECONNREFUSED)' c5.err ||
	fail "5: glasstcp connect did not report ECONNREFUSED: $(cat c5.err)"

# ---- 6. Linux server resets glasstcp with SO_LINGER 0 ----
gt_bg ip netns exec "$NS_C" python3 "$PEERPY" linger-server 5006 "$TMP/c6.ready" >c6.py 2>&1
PY6=$!
gt_wait_for 10 test -e c6.ready || fail "6: the python server is not listening"
{ printf hello; sleep 3; } | timeout 30 ip netns exec "$NS_C" "$GT" connect "${CONN[@]}" \
	--json c6.json --pcap c6.pcap --kernel-states --table c6.table "$CPEER" 5006 >c6.out 2>c6.err
rc=$?
log "6: glasstcp connect: exit $rc: $(cat c6.err)"
[ $rc -eq 1 ] || fail "6: glasstcp connect reset by the peer exited $rc, expected 1"
grep -q 'connection reset by peer (ECONNRESET)' c6.err ||
	fail "6: glasstcp connect did not report ECONNRESET: $(cat c6.err)"
gt_wait_pid "$PY6" 10 || fail "6: the python server did not exit"
[ "$GT_RC" -eq 0 ] || fail "6: the python server: $(cat c6.py)"

# ---- 7. glasstcp resets Linux with SO_LINGER 0 (the reverse of 6) ----
gt_bg ip netns exec "$NS_C" python3 "$PEERPY" expect-reset 5007 "$TMP/c7.ready" >c7.py 2>&1
PY7=$!
gt_wait_for 10 test -e c7.ready || fail "7: the python server is not listening"
{ printf hello; sleep 1; } | timeout 30 ip netns exec "$NS_C" "$GT" connect "${CONN[@]}" \
	--linger 0 --json c7.json --pcap c7.pcap --kernel-states "$CPEER" 5007 >c7.out 2>c7.err
rc=$?
log "7: glasstcp connect --linger 0: exit $rc"
[ $rc -eq 0 ] || fail "7: glasstcp connect --linger 0 exited $rc: $(cat c7.err)"
gt_wait_pid "$PY7" 10 || fail "7: the python server did not exit"
[ "$GT_RC" -eq 0 ] || fail "7: the python server: $(cat c7.py)"
grep -q '^ECONNRESET after 5 bytes$' c7.py || fail "7: the python server saw: $(cat c7.py)"

# ---- the TIME_WAITs of 1 (glasstcp's) and 2 (Linux's) end ----
tw_over() {
	gt_states s.json glasstcp ":80>$SPEER" | grep -q 'TIME_WAIT CLOSED$' &&
		gt_states s.json linux ">$SADDR:7\$" | grep -q 'TIME_WAIT CLOSED$'
}
if ! GT_POLL=1 gt_wait_for 85 tw_over; then
	fail "1/2: the TIME_WAITs did not both end within $(gt_since "$T1") s"
fi
log "both TIME_WAITs over, $(gt_since "$T1") s after 1."
gt_wait_linux_done "$NS_S" 5 "S"
gt_down "$UP" up
gt_nstat "$NS_S" nstat-s1
gt_nstat "$NS_C" nstat-c1

# ---- the state sequences ----
# glasstcp's conn is "glasstcp-end>linux-end", the kernel's "linux-end>glasstcp-end"
expect_path s.json glasstcp ":80>$SPEER" \
	'LISTEN SYN_RECEIVED ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT CLOSED' "1. glasstcp closes first"
expect_path s.json linux ">$SADDR:80\$" \
	'CLOSED SYN_SENT ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED' "1. glasstcp closes first"
expect_path s.json glasstcp ":7>$SPEER" \
	'LISTEN SYN_RECEIVED ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED' "2. Linux closes first"
expect_path s.json linux ">$SADDR:7\$" \
	'CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT CLOSED' "2. Linux closes first"
expect_path s.json linux ">$SADDR:9999\$" 'CLOSED SYN_SENT CLOSED' "3. refused (python)"
expect_path s.json linux ">$SADDR:9998\$" 'CLOSED SYN_SENT CLOSED' "3. refused (curl)"
expect_path s.json glasstcp ":17>$SPEER" 'LISTEN SYN_RECEIVED ESTABLISHED CLOSED' "4. SO_LINGER 0"
expect_path s.json linux ">$SADDR:17\$" 'CLOSED SYN_SENT ESTABLISHED CLOSED' "4. SO_LINGER 0"
trace causes s.json glasstcp ":17>$SPEER" | grep -q ' CLOSED(rcv RST)$' ||
	fail "4. SO_LINGER 0: glasstcp's CLOSED is not caused by 'rcv RST': $(trace causes s.json glasstcp ":17>$SPEER")"
expect_path c5.json glasstcp ">$CPEER:9999" 'CLOSED SYN_SENT CLOSED' "5. refused (glasstcp)"
trace causes c5.json glasstcp ">$CPEER:9999" | grep -q ' CLOSED(rcv RST)$' ||
	fail "5. refused: glasstcp's CLOSED is not caused by 'rcv RST'"
expect_path c6.json glasstcp ">$CPEER:5006" 'CLOSED SYN_SENT ESTABLISHED CLOSED' "6. reset by Linux"
expect_path c6.json linux "^$CPEER:5006>" 'LISTEN SYN_RECEIVED ESTABLISHED CLOSED' "6. reset by Linux"
trace causes c6.json glasstcp ">$CPEER:5006" | grep -q ' CLOSED(rcv RST)$' ||
	fail "6. reset: glasstcp's CLOSED is not caused by 'rcv RST'"
# 7: RST, no FIN and no TIME_WAIT on glasstcp's side; Linux's socket reset
expect_path c7.json glasstcp ">$CPEER:5007" 'CLOSED SYN_SENT ESTABLISHED CLOSED' "7. SO_LINGER 0 (glasstcp)"
expect_path c7.json linux "^$CPEER:5007>" 'LISTEN SYN_RECEIVED ESTABLISHED CLOSED' "7. SO_LINGER 0 (glasstcp)"
trace causes c7.json glasstcp ">$CPEER:5007" | grep -q ' CLOSED(close() with SO_LINGER 0)$' ||
	fail "7. SO_LINGER 0: glasstcp's CLOSED is not caused by 'close() with SO_LINGER 0': $(trace causes c7.json glasstcp ">$CPEER:5007")"

# glasstcp refused 3 with RST|ACK (RFC 9293 §3.10.7.1: no listener, a SYN gets <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>)
for p in 9999 9998; do
	n=$(python3 - s.json "$SADDR:$p>" <<'EOF'
import json, sys
print(sum(1 for l in open(sys.argv[1]) if l.strip()
          for e in [json.loads(l)]
          if e.get("host") == "glasstcp" and e.get("ev") == "tx"
          and e.get("conn", "").startswith(sys.argv[2]) and e.get("flags") == "RA"))
EOF
	)
	[ "$n" -ge 1 ] || fail "3: glasstcp sent no RST|ACK from port $p"
done

# the TIME_WAITs' lengths: glasstcp's 2*MSL (60 s by default), Linux's 60 s
# (TCP_TIMEWAIT_LEN; its end is seen by polling, up to ~2 s late)
tw_len() { # JSON HOST REGEX
	trace times "$1" "$2" "$3" | python3 -c '
import sys
items = sys.stdin.read().split()[1:]
t = {}
for it in items:
    if "@" in it:
        s, v = it.split("@")
        t[s] = float(v)
print("%.2f" % (t["CLOSED"] - t["TIME_WAIT"]) if "CLOSED" in t and "TIME_WAIT" in t else "none")'
}
g=$(tw_len s.json glasstcp ":80>$SPEER")
k=$(tw_len s.json linux ">$SADDR:7\$")
log "TIME_WAIT lasted ${g} s on glasstcp's side, ${k} s on Linux's"
awk -v g="$g" 'BEGIN { exit !(g != "none" && g >= 59.9 && g <= 61.5) }' ||
	fail "glasstcp's TIME_WAIT lasted $g s, expected 2*MSL = 60 s"
awk -v k="$k" 'BEGIN { exit !(k != "none" && k >= 59.5 && k <= 65) }' ||
	fail "Linux's TIME_WAIT lasted $k s, expected about 60 s"

# ---- the seed's table (--table): Linux on the left for `up`, glasstcp on
# the left for `connect`; each row: time, left change, segment, right change ----
# table_block FILE REGEX: the block of the connection whose header matches
# (REGEX empty: the whole table, for a one-connection table without headers)
table_block() { awk -v re="$2" 're == "" { print; next } /^connection / { on = ($0 ~ re) } on' "$1"; }
# expect_row FILE CONN-REGEX ROW-REGEX WHAT
expect_row() {
	if ! table_block "$1" "$2" | grep -qE -- "$3"; then
		fail "$4: no table row matching '$3' in $1 (connection ~ '$2'):"
		table_block "$1" "$2" >&2
	fi
}
for f in s.table c5.table c6.table; do
	[ -s "$f" ] || fail "--table wrote no $f"
done
log "table of 1. and 2. (glasstcp's up, Linux on the left):"
table_block s.table "> $SADDR:(80|7)\$" >&2
# 1: glasstcp's FIN takes Linux to CLOSE_WAIT; Linux's FIN takes glasstcp to
# TIME_WAIT and its ACK Linux to CLOSED
c1="> $SADDR:80\$"
# (glasstcp enters FIN_WAIT_1 at shutdown(), on the FIN's row or, with data
# still queued, on a row of its own before it)
expect_row s.table "$c1" 'ESTABLISHED -> CLOSE_WAIT +<--- F[A-Z]* .* (ESTABLISHED -> )?FIN_WAIT_1$' "1. table"
expect_row s.table "$c1" 'CLOSE_WAIT -> LAST_ACK +---- F[A-Z]* .* FIN_WAIT_2$' "1. table"
expect_row s.table "$c1" 'LAST_ACK -> CLOSED +<--- A .* FIN_WAIT_2 -> TIME_WAIT$' "1. table"
expect_row s.table "$c1" 'TIME_WAIT -> CLOSED$' "1. table (2*MSL later)"
# 2: the mirror image
c2="> $SADDR:7\$"
expect_row s.table "$c2" 'ESTABLISHED -> FIN_WAIT_1 +---- F[A-Z]* .* ESTABLISHED -> CLOSE_WAIT$' "2. table"
expect_row s.table "$c2" '-> TIME_WAIT +<--- F[A-Z]* .* LAST_ACK$' "2. table"
expect_row s.table "$c2" '^ *[0-9.]+ +TIME_WAIT -> CLOSED *$' "2. table (Linux's TIME_WAIT ends)"
# 3, 4: the refusal and the reset
expect_row s.table "> $SADDR:9999\$" 'SYN_SENT -> CLOSED +<--- RA ' "3. table"
expect_row s.table "> $SADDR:17\$" 'ESTABLISHED -> CLOSED +---- R[A-Z]* .* ESTABLISHED -> CLOSED$' "4. table"
# 5, 6: glasstcp on the left; one connection, no header
expect_row c5.table "" 'SYN_SENT -> CLOSED +<--- RA ' "5. table"
expect_row c6.table "" 'ESTABLISHED -> CLOSED +<--- R[A-Z]* .* ESTABLISHED -> CLOSED$' "6. table"

# ---- captures and counters ----
gt_check_pcap s.pcap "$SPEER" 7 17
gt_check_pcap c5.pcap "$CPEER"
gt_check_pcap c6.pcap "$CPEER"
gt_check_pcap c7.pcap "$CPEER"
log "S counters: $(gt_nstat_show nstat-s0 nstat-s1 TcpAttemptFails TcpOutRsts TcpEstabResets TcpExtTCPAbortOnData TcpExtTCPAbortOnLinger TcpExtTCPAbortOnClose)"
log "C counters: $(gt_nstat_show nstat-c0 nstat-c1 TcpAttemptFails TcpOutRsts TcpEstabResets TcpExtTCPAbortOnData TcpExtTCPAbortOnLinger TcpExtTCPAbortOnClose)"
# S: two refused connects (3), one SO_LINGER 0 reset (4); C: one refused SYN
# answered by the kernel (5), one SO_LINGER 0 reset (6), and its server's
# established connection reset by glasstcp's SO_LINGER 0 (7). Nothing else.
gt_nstat_check nstat-s0 nstat-s1 "S" TcpAttemptFails=2 TcpOutRsts=1 TcpEstabResets=1 TcpExtTCPAbortOnData=1
gt_nstat_check nstat-c0 nstat-c1 "C" TcpOutRsts=2 TcpEstabResets=2 TcpExtTCPAbortOnData=1
# and exactly so: the refusals and resets really happened, once each
for c in s:TcpAttemptFails:2 s:TcpOutRsts:1 s:TcpEstabResets:1 s:TcpExtTCPAbortOnData:1 \
	c:TcpOutRsts:2 c:TcpEstabResets:2 c:TcpExtTCPAbortOnData:1; do
	IFS=: read -r ns name want <<<"$c"
	d=$(gt_nstat_delta "nstat-${ns}0" "nstat-${ns}1" "$name")
	[ "$d" -eq "$want" ] || fail "namespace ${ns^^}: $name grew by $d, expected $want"
done

gt_finish
