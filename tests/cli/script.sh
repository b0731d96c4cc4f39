#!/usr/bin/env bash
# `glasstcp script`: the scripts of tests/script_fail each fail with exit
# status 1 and the "FAIL FILE:LINE: TEXT" their "// expect: LINE: TEXT" line
# names; a passing and a failing script together give the totals and exit 1;
# -v counts the skipped shell lines; bad usage exits 2.
set -u
cli=${1:?usage: script.sh GLASSTCP}
root=$(cd "$(dirname "$0")/../.." && pwd)
status=0
bad() {
	echo "FAILED: $*"
	status=1
}

for f in "$root"/tests/script_fail/*.pkt; do
	expect=$(sed -n '1s|^// expect: ||p' "$f")
	[ -n "$expect" ] || { bad "$f has no '// expect: LINE: TEXT' first line"; continue; }
	want="FAIL $f:${expect%%: *}: ${expect#*: }"
	out=$("$cli" script "$f" 2>&1)
	rc=$?
	[ $rc -eq 1 ] || bad "$f: exit status $rc, expected 1 ($out)"
	grep -qF -- "$want" <<<"$out" || bad "$f: expected '$want', got: $out"
	grep -q '^0 passed, 1 failed, 1 scripts$' <<<"$out" || bad "$f: no totals line in: $out"
done

ok=$root/tests/pkt/syntax/shell.pkt
wrong=$root/tests/script_fail/wrong_ack.pkt
out=$("$cli" script "$ok" "$wrong" 2>&1)
rc=$?
[ $rc -eq 1 ] || bad "one pass, one fail: exit status $rc, expected 1"
grep -qx "PASS $ok" <<<"$out" || bad "no 'PASS $ok' in: $out"
grep -q "^FAIL $wrong:9: " <<<"$out" || bad "no 'FAIL $wrong:9:' in: $out"
grep -qx '1 passed, 1 failed, 2 scripts' <<<"$out" || bad "totals: $out"

out=$("$cli" script -v "$ok" 2>&1)
[ $? -eq 0 ] || bad "-v $ok did not pass: $out"
grep -q 'skipped 4 shell lines' <<<"$out" || bad "-v: no 'skipped 4 shell lines' in: $out"

# --tolerance_usecs: a second of slack covers late_packet.pkt's 0.9 s
out=$("$cli" script --tolerance_usecs=1000000 "$root/tests/script_fail/late_packet.pkt" 2>&1)
[ $? -eq 0 ] || bad "--tolerance_usecs=1000000 late_packet.pkt did not pass: $out"

# the same scripts on the same adapter give the same run, to the byte: every
# event's time and every packet (-v), also with blocking calls on their thread
mapfile -t all < <(find "$root/tests/pkt" -name '*.pkt' | sort)
first=$("$cli" script -v "${all[@]}" 2>&1)
for run in 2 3; do
	again=$("$cli" script -v "${all[@]}" 2>&1)
	[ "$again" = "$first" ] || bad "run $run of tests/pkt differs from the first: $(diff <(echo "$first") <(echo "$again") | head -5)"
done

# glasstcp script's own additions (tests/script_ext): tcp_info, linger, sockaddr
out=$("$cli" script "$root"/tests/script_ext/*.pkt 2>&1)
[ $? -eq 0 ] || bad "tests/script_ext: $out"

# --so FILE: the same scripts through the shared object packetdrill loads
so=$(dirname "$cli")/libglasstcp_packetdrill.so
out=$("$cli" script --so "$so" "$root"/tests/pkt/syntax/*.pkt 2>&1)
[ $? -eq 0 ] || bad "--so $so: $out"

# as in packetdrill, the command line's options win over a script's own
out=$("$cli" script --so_flags=profile=linux "$root/tests/script_fail/bad_so_flags.pkt" 2>&1)
[ $? -eq 0 ] || bad "--so_flags=profile=linux should override bad_so_flags.pkt's own: $out"

# --local_ip moves the linked adapter's address too (its local= flag)
out=$("$cli" script --local_ip=10.0.0.2 "$root/tests/pkt/syntax/passive_open.pkt" 2>&1)
[ $? -eq 0 ] || bad "--local_ip=10.0.0.2 passive_open.pkt did not pass: $out"

for args in "" "--nope x.pkt" "--so_flags=profile=bogus $ok" "--tolerance_usecs=abc x.pkt" "--so" "--so /nonexistent.so $ok"; do
	# shellcheck disable=SC2086
	"$cli" script $args >/dev/null 2>&1
	rc=$?
	[ $rc -eq 2 ] || bad "'glasstcp script $args': exit status $rc, expected 2"
done
"$cli" script --help | grep -q '^usage: glasstcp script' || bad "--help prints no usage"
exit $status
