#!/usr/bin/env bash
# The 100 MB transfers in both directions on an impaired path, at the same
# time, each in its own namespace:
#   U: curl downloads from glasstcp's http server (glasstcp sends);
#   G: glasstcp get downloads from python3 -m http.server (Linux sends).
# The path: glasstcp's --impair (20 ms delay each way, 2% loss, 1% reordering,
# 0.5% duplication, both directions) plus the kernel dropping GT_NFT_DROP % (1)
# of the TCP packets it receives from the TUN device (nftables, `numgen
# random`, in a table of the namespace's own). Checked: the sha256 of both
# files, the impairment really happened (losses, duplicates, reorderings,
# kernel drops all counted), both ends' final states (--kernel-states; glasstcp
# CLOSED, Linux in TIME_WAIT or CLOSED, no kernel socket left otherwise), `up`
# exits 0, tshark on both pcaps, the kernel's counters. The times are printed.
#
# GT_IMPAIRED_MB (default 100) sets the size; GT_IMPAIRED_TIMEOUT (seconds,
# default 840) bounds each transfer; GT_IMPAIR_SEED fixes the PRNG seeds
# (default: random, printed).
#
# Kernel-side drops are on the input hook only: a packet the kernel's own
# output path drops (output/postrouting) is not a loss to Linux's TCP but a
# failed send it retries at once, so it would not impair anything.
#
# usage: bash impaired.sh /path/to/glasstcp
source "$(dirname "$0")/lib.sh"
gt_setup impaired
gt_netns U
gt_netns G
MB=${GT_IMPAIRED_MB:-100}
LIMIT=${GT_IMPAIRED_TIMEOUT:-840}
SEED=${GT_IMPAIR_SEED:-$((RANDOM * 32768 + RANDOM))}
NFT_DROP=${GT_NFT_DROP:-1}
UADDR=192.0.2.51
UPEER=192.0.2.52
GADDR=192.0.2.61
GPEER=192.0.2.62
IMPAIR="delay=20,loss=2%,reorder=1%,dup=0.5%"
cd "$TMP" || exit 1
mkdir www
head -c $((MB * 1000 * 1000)) /dev/urandom >www/big.bin
log "impairment: $IMPAIR (seeds $SEED, $((SEED + 1))), kernel input drops $NFT_DROP%, $MB MB each way"

# nft_drop NS DEV: the kernel drops NFT_DROP % of the TCP packets from DEV
nft_drop() {
	ip netns exec "$1" nft -f - <<EOF
table inet gt_impair {
	chain input {
		type filter hook input priority 0; policy accept;
		iifname "$2" meta l4proto tcp numgen random mod 100 < $NFT_DROP counter drop
	}
}
EOF
}
nft_dropped() { ip netns exec "$1" nft list table inet gt_impair | sed -n 's/.*counter packets \([0-9]*\) .*/\1/p'; }
nft_drop "$NS_U" gtimpu0 || fail "nft: cannot add the drop rule in $NS_U"
nft_drop "$NS_G" gtimpg0 || fail "nft: cannot add the drop rule in $NS_G"
gt_nstat "$NS_U" nstat-u0
gt_nstat "$NS_G" nstat-g0

# ---- U: glasstcp sends ----
gt_up "$NS_U" UP up --tun gtimpu0 --addr "$UADDR" --peer "$UPEER" --serve "http:80:$TMP/www" \
	--impair "$IMPAIR,seed=$SEED" --pcap u.pcap --json u.json --kernel-states || gt_finish
TU=$(date +%s.%N)
gt_bg ip netns exec "$NS_U" curl -sS --fail --max-time "$LIMIT" -o u.out \
	-w '%{http_code} %{size_download} %{speed_download}\n' "http://$UADDR/big.bin" >u.w 2>u.err
CURL=$!

# ---- G: Linux sends ----
gt_bg ip netns exec "$NS_G" python3 -m http.server 8000 --bind 0.0.0.0 --directory "$TMP/www" \
	>g.py.out 2>g.py.err
PY=$!
gt_wait_for 10 eval "ip netns exec '$NS_G' ss -Htln 'sport = :8000' | grep -q LISTEN" ||
	fail "G: python3 -m http.server is not listening"
TG=$(date +%s.%N)
gt_bg ip netns exec "$NS_G" "$GT" get --tun gtimpg0 --addr "$GADDR" --peer "$GPEER" \
	--impair "$IMPAIR,seed=$((SEED + 1))" --pcap g.pcap --json g.json --kernel-states \
	"http://$GPEER:8000/big.bin" -o g.out >g.gt.out 2>g.gt.err
GET=$!

# ---- wait for both, with progress every 30 s ----
end=$(($(date +%s) + LIMIT + 30))
last=$(date +%s)
tu="" tg=""
while gt_alive "$CURL" || gt_alive "$GET"; do
	if [ "$(date +%s)" -ge "$end" ]; then
		fail "the transfers did not end within $((LIMIT + 30)) s"
		break
	fi
	if [ -z "$tu" ] && ! gt_alive "$CURL"; then tu=$(gt_since "$TU"); fi
	if [ -z "$tg" ] && ! gt_alive "$GET"; then tg=$(gt_since "$TG"); fi
	if [ $(($(date +%s) - last)) -ge 30 ]; then
		last=$(date +%s)
		log "progress: U (glasstcp sends) $(($(stat -c %s u.out 2>/dev/null || echo 0) / 1000000)) MB, G (Linux sends) $(($(stat -c %s g.out 2>/dev/null || echo 0) / 1000000)) MB"
	fi
	sleep 0.5
done
[ -n "$tu" ] || tu=$(gt_since "$TU")
[ -n "$tg" ] || tg=$(gt_since "$TG")
gt_wait_pid "$CURL" 1
rcu=$GT_RC
gt_wait_pid "$GET" 1
rcg=$GT_RC

log "U: glasstcp -> curl: exit $rcu, ~$tu s: $(cat u.w) $(head -3 u.err)"
log "G: python -> glasstcp get: exit $rcg, ~$tg s: $(cat g.gt.err)"
[ "$rcu" -eq 0 ] || fail "U: curl exited $rcu: $(head -3 u.err)"
[ "$rcg" -eq 0 ] || fail "G: glasstcp get exited $rcg: $(cat g.gt.err)"
gt_same www/big.bin u.out "U: $MB MB from glasstcp to curl"
gt_same www/big.bin g.out "G: $MB MB from python to glasstcp get"

gt_wait_linux_done "$NS_U" 20 "U"
gt_wait_linux_done "$NS_G" 20 "G"
gt_down "$UP" up 20
kill -TERM "$PY" 2>/dev/null
gt_wait_pid "$PY" 10 || fail "G: python did not exit on SIGTERM"
gt_nstat "$NS_U" nstat-u1
gt_nstat "$NS_G" nstat-g1
log "U: $(grep '^glasstcp: down' up.err)"

# ---- the impairment happened, in both directions ----
imp_check() { # WHAT FILE
	local line
	line=$(grep -o 'impairment in/out: .*' "$2")
	[ -n "$line" ] || {
		fail "$1: no impairment summary in $2"
		return
	}
	log "$1: $line"
	python3 - "$1" "$line" <<'EOF' || fail "$1: the impairment did not act in both directions: $line"
import re, sys
what, line = sys.argv[1], sys.argv[2]
ok = True
for k in ("lost", "duplicated", "reordered"):
    m = re.search(k + r" (\d+)/(\d+)", line)
    if not m or int(m.group(1)) == 0 or int(m.group(2)) == 0:
        ok = False
sys.exit(0 if ok else 1)
EOF
}
imp_check U up.err
# `glasstcp get` prints no impairment summary: its trace has the losses (a
# "drop" event, reason sim_loss, host = the receiver, for each packet lost)
n=$(python3 - g.json <<'EOF'
import json, sys
c = {"glasstcp": 0, "linux": 0}
for l in open(sys.argv[1]):
    if '"drop"' in l:
        e = json.loads(l)
        if e.get("reason") == "sim_loss" and e.get("host") in c:
            c[e["host"]] += 1
print(c["glasstcp"], c["linux"])
EOF
)
log "G: impairment losses in the trace: $n (to glasstcp, to Linux)"
read -r n_in n_out <<<"$n"
if [ "${n_in:-0}" -eq 0 ] || [ "${n_out:-0}" -eq 0 ]; then fail "G: the impairment lost nothing in one direction: $n"; fi
du=$(nft_dropped "$NS_U")
dg=$(nft_dropped "$NS_G")
log "kernel input drops: U $du, G $dg"
[ "${du:-0}" -gt 0 ] || fail "U: nftables dropped nothing"
[ "${dg:-0}" -gt 0 ] || fail "G: nftables dropped nothing"
grep -qE '\([1-9][0-9]* retransmitted\)' up.err || fail "U: glasstcp retransmitted nothing on a lossy path?"

# ---- both ends' final states ----
su=$(gt_states u.json glasstcp ":80>$UPEER")
ku=$(gt_states u.json linux ">$UADDR:80\$")
sg=$(gt_states g.json glasstcp ">$GPEER:8000")
kg=$(gt_states g.json linux ">$GADDR:")
log "U glasstcp: $su"
log "U linux:    $ku"
log "G glasstcp: $sg"
log "G linux:    $kg"
echo "$su" | grep -qE ' LISTEN SYN_RECEIVED ESTABLISHED .*(CLOSED|TIME_WAIT)$' || fail "U: glasstcp went $su"
echo "$sg" | grep -qE ' CLOSED SYN_SENT ESTABLISHED .*(CLOSED|TIME_WAIT)$' || fail "G: glasstcp went $sg"
# The Linux side: its trace leaves ESTABLISHED by a proper close, and ss (the
# kernel's own word) has the socket in TIME-WAIT or gone. The trace alone may
# stop at FIN_WAIT_2: when python close()s before glasstcp's FIN, the socket
# is an orphaned FIN_WAIT2 mini-socket whose TIME_WAIT the observer finds by
# polling sock_diag every 100 ms, and `get` may exit sooner than that.
linux_end() { # WHAT NS TRACE-PATH
	local conn=${3%% *} st
	echo "$3" | grep -qE ' ESTABLISHED (FIN_WAIT_1 FIN_WAIT_2|FIN_WAIT_1 CLOSING|CLOSE_WAIT LAST_ACK)( TIME_WAIT)?( CLOSED)?$' ||
		fail "$1: Linux went $3"
	st=$(ip netns exec "$2" ss -Htan src "${conn%%>*}" dst "${conn#*>}" | awk '{ print $1 }')
	st=${st:-CLOSED}
	log "$1: ss says the Linux socket is $st"
	case "$st" in
	TIME-WAIT | CLOSED) ;;
	*) fail "$1: the Linux socket ${conn} is $st" ;;
	esac
	if [ "$st" = TIME-WAIT ] && ! echo "$3" | grep -q ' TIME_WAIT'; then
		log "$1: NOTE: the kernel-state observer did not report this TIME_WAIT"
	fi
}
linux_end U "$NS_U" "$ku"
linux_end G "$NS_G" "$kg"
for f in u.json g.json; do
	if python3 "$GT_LIB_DIR/trace.py" causes "$f" glasstcp | grep -q 'rcv RST'; then
		fail "$f: a glasstcp connection was reset"
	fi
done

# ---- captures and counters ----
gt_check_pcap u.pcap "$UPEER" 80
gt_check_pcap g.pcap "$GPEER" 8000
# Legitimate on this path: duplicated and reordered segments arrive outside
# the window or with an old timestamp (the kernel ACKs them, rate-limited)
ALLOW=(TcpExtTCPACKSkippedSeq=1000000 TcpExtTCPACKSkippedPAWS=1000000 TcpExtPAWSEstab=1000000)
log "U counters: $(gt_nstat_show nstat-u0 nstat-u1 TcpInSegs TcpOutSegs TcpRetransSegs TcpExtTCPTimeouts TcpExtTCPDSACKOldSent TcpExtTCPDSACKOfoSent TcpExtPAWSEstab TcpExtTCPACKSkippedSeq TcpExtTCPOFOQueue)"
log "G counters: $(gt_nstat_show nstat-g0 nstat-g1 TcpInSegs TcpOutSegs TcpRetransSegs TcpExtTCPTimeouts TcpExtTCPSackRecovery TcpExtTCPRenoRecovery TcpExtTCPLossProbes TcpExtTCPSpuriousRTOs TcpExtPAWSEstab TcpExtTCPACKSkippedSeq)"
# Also legitimate: a copy of glasstcp's SYN or SYN,ACK (a retransmission, or
# the impairment's duplicate of one) that reaches Linux after it is
# ESTABLISHED draws an RFC 5961 §4 challenge ACK, counted by Linux as
# TCPSYNChallenge + TCPChallengeACK + InErrs. Allowed: one per copy beyond the
# first that glasstcp sent, plus one for a duplicate.
syn_allow() { # TRACE FLAGS
	local n
	n=$(python3 "$GT_LIB_DIR/trace.py" count "$1" tx "$2")
	echo "TcpExtTCPSYNChallenge=$n TcpExtTCPChallengeACK=$n TcpInErrs=$n"
}
read -ra ALLOW_U <<<"$(syn_allow u.json SA)"
read -ra ALLOW_G <<<"$(syn_allow g.json S)"
gt_nstat_check nstat-u0 nstat-u1 "U" "${ALLOW[@]}" "${ALLOW_U[@]}"
gt_nstat_check nstat-g0 nstat-g1 "G" "${ALLOW[@]}" "${ALLOW_G[@]}"

log "times: U (glasstcp sends $MB MB) $tu s, G (Linux sends $MB MB) $tg s"
gt_finish
