# Shared helpers of the Linux interop tests (tests/interop/*.sh): glasstcp on a
# TUN device against the real Linux kernel, curl, nc, python3, inside network
# namespaces each test creates and deletes.
#
# A test script does:
#   source "$(dirname "$0")/lib.sh"      # with the glasstcp binary as $1
#   gt_setup NAME                        # root check, tools, temp dir, trap
#   gt_netns A                           # namespace "gt-NAME-A-$$" in $NS_A
#   ...                                  # checks: fail "why"
#   gt_finish                            # exit 0, or 1 when anything failed
#
# Exit status: 0 pass, 1 fail, 77 skipped (not root: no TUN, no namespaces).
# Everything the test started is killed (by pid) and every namespace it made
# is deleted on exit, also on failure or Ctrl-C. GT_INTEROP_KEEP=1 keeps the
# temp dir (pcaps, JSON traces, logs) for a look afterwards.
#
# Addresses: every script uses its own pair of addresses in 192.0.2.0/24 per
# namespace (the kernel-state observer's tracefs filter is global, by address
# only, so two scripts run at once by ctest -j2 must not share one).

# No pipefail: a pipeline's status is its last command's (`cmd | grep -q X`
# must not fail when grep exits at the first match and cmd gets SIGPIPE).
set -u

GT=${1:?usage: bash SCRIPT.sh /path/to/glasstcp}
GT=$(realpath "$GT")
GT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

failures=0
GT_PIDS=()
GT_NAMESPACES=()
TMP=
GT_NAME=
GT_T0=$(date +%s.%N)

log() { echo "[$GT_NAME $(gt_elapsed)s] $*" >&2; }

fail() {
	echo "FAIL [$GT_NAME]: $*" >&2
	failures=$((failures + 1))
}

# Seconds since the script started, one decimal.
gt_elapsed() { awk -v a="$GT_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# Seconds (float) since a timestamp taken with `date +%s.%N`.
gt_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

gt_skip() {
	echo "SKIP [$GT_NAME]: $*" >&2
	exit 77
}

# gt_setup NAME: skips (77) when not root; fails when a tool is missing (as
# root the tests must run: `make deps` installs them); makes $TMP and the trap.
gt_setup() {
	GT_NAME=$1
	if [ "$(id -u)" -ne 0 ]; then
		gt_skip "needs root: it creates a network namespace and a TUN device (ip netns add, /dev/net/tun, CAP_NET_ADMIN)"
	fi
	[ -x "$GT" ] || {
		echo "FAIL [$GT_NAME]: $GT is not an executable" >&2
		exit 1
	}
	local missing=() t
	for t in ip nstat curl nc python3 tshark capinfos sha256sum timeout nft; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	if [ ${#missing[@]} -ne 0 ]; then
		echo "FAIL [$GT_NAME]: missing tools: ${missing[*]} (make deps installs them)" >&2
		exit 1
	fi
	[ -c /dev/net/tun ] || {
		echo "FAIL [$GT_NAME]: /dev/net/tun does not exist (no TUN support in this kernel?)" >&2
		exit 1
	}
	gt_reap_stale
	TMP=$(mktemp -d "/tmp/gt-interop-$GT_NAME.XXXXXX")
	trap gt_cleanup EXIT
	trap 'fail "interrupted"; exit 1' INT TERM
}

# Namespaces gt-NAME-TAG-PID left by an earlier run of this script that was
# killed with SIGKILL (ctest's timeout): PID is gone. Whatever still runs in
# them was started by that run; it is killed, and the namespace deleted.
gt_reap_stale() {
	local ns pid p
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E "^gt-$GT_NAME-[A-Za-z0-9]+-[0-9]+\$"); do
		pid=${ns##*-}
		[ -d "/proc/$pid" ] && continue
		echo "[$GT_NAME] removing namespace $ns left by an earlier run (pid $pid is gone)" >&2
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
}

# gt_netns TAG: creates namespace gt-NAME-TAG-$$ with lo up, sets NS_TAG.
gt_netns() {
	local tag=$1 ns="gt-$GT_NAME-$1-$$"
	if ! ip netns add "$ns"; then
		echo "FAIL [$GT_NAME]: cannot create network namespace $ns" >&2
		exit 1
	fi
	GT_NAMESPACES+=("$ns")
	ip netns exec "$ns" ip link set lo up || fail "$ns: cannot bring lo up"
	printf -v "NS_$tag" '%s' "$ns"
}

# gt_bg CMD...: runs CMD in the background, remembers its pid (in $!, and in
# GT_PIDS for the cleanup). `ip netns exec` execs the command, so the pid is
# the command's own (signals reach it).
gt_bg() {
	"$@" &
	GT_PIDS+=($!)
	unset "GT_RCS[$!]" # a PID seen before: this is another process
}

# gt_alive PID: is it still running? When it has ended, its exit status is
# taken at once (into GT_RCS[PID], for gt_wait_pid): this machine's PIDs wrap
# (pid_max 32768), and bash forgets a finished child's status when a child
# of its own is given the same PID later, so a `wait` long after the end
# could answer 127 ("not a child") for a command that exited 0.
declare -A GT_RCS=()
gt_alive() {
	kill -0 "$1" 2>/dev/null && return 0
	if [ -z "${GT_RCS[$1]+x}" ]; then
		wait "$1" 2>/dev/null
		GT_RCS[$1]=$?
	fi
	return 1
}

# gt_wait_pid PID SECONDS: waits for PID to end; sets GT_RC to its exit
# status. Returns 1 (and kills it) if it did not end in time.
gt_wait_pid() {
	local pid=$1 secs=$2 i=0 n
	n=$(awk -v s="$secs" 'BEGIN { printf "%d", s * 10 }')
	while gt_alive "$pid" && [ $i -lt "$n" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if gt_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		GT_RC=137
		return 1
	fi
	GT_RC=${GT_RCS[$pid]}
	return 0
}

# gt_wait_for SECONDS CMD...: polls CMD every GT_POLL seconds (default 0.1)
# until it succeeds; 1 if it did not within SECONDS.
gt_wait_for() {
	local secs=$1 poll=${GT_POLL:-0.1} end
	shift
	end=$(awk -v s="$secs" -v t="$(date +%s.%N)" 'BEGIN { printf "%.3f", t + s }')
	until "$@"; do
		awk -v e="$end" -v t="$(date +%s.%N)" 'BEGIN { exit !(t >= e) }' && return 1
		sleep "$poll"
	done
	return 0
}

# gt_up NS VAR OUTPREFIX ARGS...: starts `glasstcp up ARGS` in NS, waits (20 s)
# for its ready line; VAR gets its pid. stdout/stderr go to OUTPREFIX.out/.err.
gt_up() {
	local ns=$1 var=$2 out=$3
	shift 3
	gt_bg ip netns exec "$ns" "$GT" up "$@" >"$out.out" 2>"$out.err"
	local pid=$!
	printf -v "$var" '%s' "$pid"
	if ! gt_wait_for 20 gt_up_ready "$pid" "$out.out"; then
		fail "glasstcp up ($*) is not ready after 20 s: $(cat "$out.out" "$out.err" 2>/dev/null)"
		return 1
	fi
	if ! grep -q '^glasstcp: up on ' "$out.out"; then
		fail "glasstcp up ($*) exited before it was ready: $(cat "$out.err")"
		return 1
	fi
	return 0
}
gt_up_ready() { grep -q '^glasstcp: up on ' "$2" || ! gt_alive "$1"; }

# gt_down PID OUTPREFIX [SECONDS]: SIGINT to `glasstcp up`, which must close
# gracefully and exit 0 within SECONDS (default 15).
gt_down() {
	local pid=$1 out=$2 secs=${3:-15}
	kill -INT "$pid" 2>/dev/null
	if ! gt_wait_pid "$pid" "$secs"; then
		fail "glasstcp up did not exit within $secs s of SIGINT (killed)"
		return 1
	fi
	if [ "$GT_RC" -ne 0 ]; then
		fail "glasstcp up exited $GT_RC after SIGINT: $(cat "$out.err")"
		return 1
	fi
	grep -q '^glasstcp: down: ' "$out.err" || fail "glasstcp up printed no 'down:' summary"
	if grep -qE 'gave up|still closing|second signal' "$out.err"; then
		fail "glasstcp up did not close every connection: $(grep -E 'gave up|still closing' "$out.err")"
	fi
	return 0
}

# gt_late_rsts KERNEL_ADDR PCAP...: RSTs the kernel sent after retransmitting
# a FIN, in these captures. That one is correct TCP, not an error: when
# glasstcp is slow to ACK Linux's FIN (a loaded machine), Linux sends the FIN
# again (tail loss probe) and glasstcp, in TIME_WAIT, acknowledges the copy
# (RFC 9293 §3.10.7.4); Linux, CLOSED by then, answers that ACK with RST.
# Tests allow exactly this many in TcpOutRsts.
gt_late_rsts() {
	local peer=$1 n=0 f
	shift
	for f in "$@"; do
		if [ "$(tshark -n -r "$f" -Y "ip.src == $peer && tcp.flags.fin == 1 && tcp.analysis.retransmission" 2>/dev/null | wc -l)" -gt 0 ]; then
			n=$((n + $(tshark -n -r "$f" -Y "ip.src == $peer && tcp.flags.reset == 1" 2>/dev/null | wc -l)))
		fi
	done
	echo "$n"
}

# ---- pcap checks ----

# gt_check_pcap FILE KERNEL_ADDR [PORT...]: tshark reads the capture with no malformed
# packet, no expert error, and every IPv4 and TCP checksum verified good: a
# packet whose checksum tshark could not verify (status 2) fails too. And
# glasstcp's TCP timestamps, if any, never go backwards, and its data never
# goes past the right edge of the window the kernel advertised.
#
# One exception, for the kernel's packets only: Linux sometimes stores a TCP
# checksum of 0xffff where 0x0000 is computed; RFC 1624 says the two are the
# same value in one's complement and every receiver accepts both, but
# tshark 4.0 calls it "Bad" ("TCP Checksum 0xffff instead of 0x0000"). Those
# are counted and logged; glasstcp's own packets get no such exception
# (glasstcp stores ~fold(sum), which is never 0xffff).
#
# Random payloads look like some protocol now and then (a heuristic dissector
# such as Thrift claims a segment, then calls it malformed): the PORTs given
# (the servers' ports of connections that carry random bytes) are decoded as
# plain data. Captures over GT_PCAP_BIG bytes (the 100 MB transfers) are
# dissected with TCP reassembly off as well (reassembling a 100 MB HTTP body
# costs tshark a minute) and need a PORT. IP and TCP (headers, options,
# checksums, sequence analysis) are checked the same in every mode.
GT_PCAP_BIG=${GT_PCAP_BIG:-20000000}
gt_check_pcap() {
	local f=$1 kaddr=$2 bad total ffff opts p
	shift 2
	if [ ! -s "$f" ]; then
		fail "pcap $f is missing or empty"
		return 1
	fi
	opts=(-n -r "$f" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE)
	for p in "$@"; do
		opts+=(-d "tcp.port==$p,data")
	done
	if [ "$(stat -c %s "$f")" -gt "$GT_PCAP_BIG" ]; then
		if [ $# -eq 0 ]; then
			fail "gt_check_pcap $f: a big capture needs the server's port"
			return 1
		fi
		opts+=(-o tcp.desegment_tcp_streams:FALSE)
	fi
	bad=$(tshark "${opts[@]}" -Y "_ws.malformed || _ws.expert.severity >= error ||
		!(ip.checksum.status == 1) ||
		!(tcp.checksum.status == 1 || (ip.src == $kaddr && tcp.checksum.ffff))" \
		2>"$TMP/tshark.err")
	local rc=$?
	if [ $rc -ne 0 ]; then
		fail "tshark could not read $f (exit $rc): $(grep -v 'Running as user' "$TMP/tshark.err" | head -5)"
		return 1
	fi
	if [ -n "$bad" ]; then
		fail "tshark flags packets in $(basename "$f") ($(echo "$bad" | wc -l) lines):"
		echo "$bad" | head -20 >&2
		return 1
	fi
	# glasstcp's timestamps (RFC 7323 §5.4) never go backwards within a
	# connection, in the order it sent them (its capture is before the
	# impairment): a backward TSval gets segments dropped by the kernel's PAWS
	local back
	back=$(tshark "${opts[@]}" -Y "ip.src != $kaddr && tcp.options.timestamp.tsval" \
		-T fields -e tcp.stream -e tcp.options.timestamp.tsval 2>/dev/null |
		awk '($1 in last) && ($2 - last[$1] + 4294967296) % 4294967296 >= 2147483648 { n++ }
			{ last[$1] = $2 } END { print n + 0 }')
	if [ "$back" -ne 0 ]; then
		fail "pcap $(basename "$f"): $back of glasstcp's segments carry a TSval older than the one before"
		return 1
	fi
	# glasstcp never sends data past the right edge of the window the kernel
	# advertised (as far as glasstcp had received it, capture order)
	local over
	over=$(tshark "${opts[@]}" -Y "tcp" -T fields -e ip.src -e tcp.stream -e tcp.seq_raw \
		-e tcp.len -e tcp.ack_raw -e tcp.window_size -e tcp.flags.ack 2>/dev/null |
		python3 "$GT_LIB_DIR/trace.py" window "$kaddr")
	if [ -n "$over" ]; then
		fail "pcap $(basename "$f"): glasstcp sent data beyond the kernel's window:"
		echo "$over" >&2
		return 1
	fi
	total=$(capinfos -c -M "$f" 2>/dev/null | awk -F': *' '/Number of packets/ { print $2 }')
	if [ -z "$total" ] || [ "$total" -eq 0 ]; then
		fail "pcap $(basename "$f") has no packets"
		return 1
	fi
	ffff=$(tshark "${opts[@]}" -Y "tcp.checksum.ffff" 2>/dev/null | wc -l)
	local note=""
	[ "$ffff" -gt 0 ] && note=" ($ffff kernel packet(s) with TCP checksum 0xffff for 0x0000, RFC 1624)"
	log "pcap $(basename "$f"): $total packets, checksums good, nothing malformed$note"
	return 0
}

# ---- the kernel's counters ----

# Counters that move when the kernel receives a bad segment, or a segment it
# must answer with RST / a challenge ACK / a drop, or aborts a connection.
# Not in the list: TcpExtPruneCalled (the kernel compacted a receive queue
# that outgrew its buffer: a reader slower than the window, with the TUN
# device's per-packet memory overhead; nothing is dropped, and gt_check_pcap
# checks that glasstcp never sends past the window); TcpExtRcvPruned and
# TcpExtOfoPruned, which are drops, are.
GT_BAD_COUNTERS="IpInHdrErrors IpInAddrErrors IpInUnknownProtos IpInDiscards IpReasmFails
IpExtInCsumErrors IpExtInTruncatedPkts IpExtInNoRoutes IcmpInErrors IcmpInCsumErrors
TcpInErrs TcpInCsumErrors TcpEstabResets TcpOutRsts TcpAttemptFails
TcpExtTCPAbortOnData TcpExtTCPAbortOnClose TcpExtTCPAbortOnMemory TcpExtTCPAbortOnTimeout
TcpExtTCPAbortOnLinger TcpExtTCPAbortFailed TcpExtEmbryonicRsts TcpExtOutOfWindowIcmps
TcpExtBeyondWindow TcpExtPAWSActive TcpExtPAWSEstab TcpExtTCPChallengeACK TcpExtTCPSYNChallenge
TcpExtTCPACKSkippedSynRecv TcpExtTCPACKSkippedPAWS TcpExtTCPACKSkippedSeq
TcpExtTCPACKSkippedFinWait2 TcpExtTCPACKSkippedTimeWait TcpExtTCPACKSkippedChallenge
TcpExtTCPZeroWindowDrop TcpExtTCPRcvQDrop TcpExtTCPBacklogDrop TcpExtTCPOFODrop
TcpExtRcvPruned TcpExtOfoPruned TcpExtListenOverflows TcpExtListenDrops
TcpExtTCPRetransFail TcpExtTCPMinTTLDrop TcpExtTCPDeferAcceptDrop TcpExtIPReversePathFilter
TcpExtTCPSACKReneging TcpExtTCPMD5Unexpected TcpExtTCPAOBad"

# gt_nstat NS FILE: the namespace's absolute counters (history untouched).
gt_nstat() {
	NSTAT_HISTORY="$TMP/.nstat-hist" ip netns exec "$1" nstat -azs >"$2" 2>/dev/null ||
		fail "nstat in $1 failed"
}

# gt_nstat_delta BEFORE AFTER COUNTER: how much COUNTER grew.
gt_nstat_delta() {
	awk -v c="$3" 'FNR == NR { if ($1 == c) b = $2; next } $1 == c { a = $2 }
		END { printf "%d", a - b }' "$1" "$2"
}

# gt_nstat_check BEFORE AFTER WHAT [COUNTER=MAX ...]: every counter of
# GT_BAD_COUNTERS grew by 0, except those listed, which may grow by at most
# MAX (a test that resets or refuses on purpose names what it expects).
gt_nstat_check() {
	local before=$1 after=$2 what=$3
	shift 3
	local c d max moved=""
	for c in $GT_BAD_COUNTERS; do
		d=$(gt_nstat_delta "$before" "$after" "$c")
		max=0
		local a
		for a in "$@"; do
			[ "${a%%=*}" = "$c" ] && max=${a#*=}
		done
		[ "$d" -ne 0 ] && moved+=" $c+$d"
		if [ "$d" -gt "$max" ]; then
			fail "$what: kernel counter $c grew by $d (allowed $max)"
		fi
	done
	log "$what: kernel error counters moved:${moved:- none}"
}

# gt_nstat_show BEFORE AFTER COUNTER...: "C=delta ..." for a log line.
gt_nstat_show() {
	local before=$1 after=$2 c out=""
	shift 2
	for c in "$@"; do
		out+=" $c=$(gt_nstat_delta "$before" "$after" "$c")"
	done
	echo "${out# }"
}

# ---- JSON Lines traces ----

# gt_states JSON HOST [CONN-REGEX]: "FROM>TO FROM>TO ..." of HOST's state events,
# in time order, for connections whose "conn" matches the regex.
gt_states() {
	python3 "$GT_LIB_DIR/trace.py" states "$@"
}

# ---- files ----

gt_sha() { sha256sum "$1" | cut -d' ' -f1; }

# gt_same EXPECTED GOT WHAT: same bytes (sha256), with sizes in the message.
gt_same() {
	local want got
	want=$(gt_sha "$1")
	if [ ! -f "$2" ]; then
		fail "$3: $2 was not written"
		return 1
	fi
	got=$(gt_sha "$2")
	if [ "$want" != "$got" ]; then
		fail "$3: sha256 differs ($(stat -c %s "$1") bytes expected, $(stat -c %s "$2") received)"
		return 1
	fi
	return 0
}

# ---- the end ----

gt_cleanup() {
	local rc=$? pid ns p
	trap - EXIT INT TERM
	for pid in "${GT_PIDS[@]}"; do
		gt_alive "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${GT_PIDS[@]}"; do
		local i=0
		while gt_alive "$pid" && [ $i -lt 30 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		gt_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	# anything still running in our namespaces was started by this script
	for ns in "${GT_NAMESPACES[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null || echo "[$GT_NAME] could not delete namespace $ns" >&2
	done
	if [ -n "$TMP" ]; then
		if [ "${GT_INTEROP_KEEP:-0}" = 1 ]; then
			echo "[$GT_NAME] kept $TMP" >&2
		else
			rm -rf "$TMP"
		fi
	fi
	exit $rc
}

gt_finish() {
	if [ "$failures" -ne 0 ]; then
		echo "$GT_NAME: $failures failure(s) in $(gt_elapsed) s" >&2
		exit 1
	fi
	echo "$GT_NAME: ok in $(gt_elapsed) s"
	exit 0
}

# ---- the Linux side ----

# gt_linux_busy NS: lists the kernel's TCP sockets in NS that still have
# business on the wire (anything connected but TIME_WAIT); empty when done.
gt_linux_busy() { ip netns exec "$1" ss -Htan state connected | grep -v '^TIME-WAIT' || true; }

# gt_wait_linux_done NS SECONDS WHAT: every kernel socket in NS is closed or in
# TIME_WAIT within SECONDS.
gt_wait_linux_done() {
	local ns=$1 secs=$2 what=$3
	if ! gt_wait_for "$secs" gt_linux_idle "$ns"; then
		fail "$what: kernel sockets still open after $secs s: $(gt_linux_busy "$ns" | head -5 | tr '\n' ';')"
		return 1
	fi
	return 0
}
gt_linux_idle() { [ -z "$(gt_linux_busy "$1")" ]; }
