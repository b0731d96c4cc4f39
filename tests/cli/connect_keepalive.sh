#!/usr/bin/env bash
# `glasstcp connect --keepalive IDLE,INTVL,COUNT`: bad values are a usage
# error (exit 2, one line naming the option) before any TUN device is touched;
# good ones pass on to the next check (here: the missing --tun). The option at
# work against Linux: tests/interop/keepalive.sh.
#
# usage: bash connect_keepalive.sh /path/to/glasstcp
source "$(dirname "$0")/lib.bash"

# expect_usage WHAT PATTERN ARGS...: exit 2 and one line matching PATTERN
expect_usage() {
	local what=$1 pattern=$2
	shift 2
	"$GT" connect "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	local rc=$?
	[ "$rc" -eq 2 ] || fail "$what: exit $rc, expected 2 ($(head -c 300 "$TMP/err"))"
	[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "$what: expected a one-line message, got: $(cat "$TMP/err")"
	grep -qE "^glasstcp connect: $pattern" "$TMP/err" ||
		fail "$what: message is '$(cat "$TMP/err")', wanted /$pattern/"
	[ ! -s "$TMP/out" ] || fail "$what: wrote to stdout: $(head -c 200 "$TMP/out")"
}

bad="--keepalive needs IDLE,INTVL,COUNT"
expect_usage "zero idle" "$bad.*got '0,1,1'" --keepalive 0,1,1 192.0.2.1 80
expect_usage "zero interval" "$bad.*got '5,0,1'" --keepalive 5,0,1 192.0.2.1 80
expect_usage "zero count" "$bad.*got '5,1,0'" --keepalive=5,1,0 192.0.2.1 80
expect_usage "two fields" "$bad.*got '10,5'" --keepalive 10,5 192.0.2.1 80
expect_usage "four fields" "$bad.*got '1,1,1,1'" --keepalive 1,1,1,1 192.0.2.1 80
expect_usage "trailing text" "$bad.*got '10,5,3x'" --keepalive=10,5,3x 192.0.2.1 80
expect_usage "negative" "$bad.*got '-1,5,3'" --keepalive=-1,5,3 192.0.2.1 80
expect_usage "fractions" "$bad.*got '0.5,1,1'" --keepalive 0.5,1,1 192.0.2.1 80
expect_usage "above a year" "$bad.*got '31536001,1,1'" --keepalive 31536001,1,1 192.0.2.1 80
expect_usage "empty" "$bad.*got ''" --keepalive= 192.0.2.1 80
expect_usage "missing value" "$bad.*got ''" --keepalive
# accepted: the next complaint is about the TUN options
expect_usage "good values" "--tun NAME is required" --keepalive 7200,75,9 192.0.2.1 80
expect_usage "a year" "--tun NAME is required" --keepalive=31536000,1,4294967295 192.0.2.1 80
"$GT" connect --help | grep -q -- '--keepalive IDLE,INTVL,COUNT' ||
	fail "glasstcp connect --help does not show --keepalive"

finish "--keepalive usage checks"
