#!/usr/bin/env bash
# The README's first command on a fresh machine, before `make test` (or
# anything) has installed the Debian packages: `make demo` in a clean clone
# of HEAD where jansson and libpcap, the CLI's two optional libraries, cannot
# be found. .ci/run runs it first.
#
# How they are made absent: pkg-config searches an empty folder only
# (PKG_CONFIG_LIBDIR), and, as root, the build runs in its own mount
# namespace where every file of the -dev packages (headers, .pc, .a) is
# /dev/null, as if they were not installed. Then it checks that:
#   - make demo printed the seed's table (ending in TIME_WAIT -> CLOSED);
#   - configuring named the packages it built without (libjansson-dev,
#     libpcap-dev), and the CLI links neither library;
#   - `glasstcp explain` and `glasstcp draw` say which package to install;
#   - configuring the test build (GT_TESTS=ON), which needs them, fails
#     with a message naming the Debian package.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "check-fresh-demo: FAIL: $*" >&2
	exit 1
}

git clone -q "$root" "$tmp/src"
mkdir "$tmp/no-pkgconfig"
hidden_pkgs=(libjansson-dev libpcap-dev libpcap0.8-dev)

# in_fresh CMD...: CMD in the clone without jansson and libpcap.
in_fresh() {
	local hide='' how="pkg-config finds nothing (PKG_CONFIG_LIBDIR)"
	if [ "$(id -u)" -eq 0 ] && unshare --mount true 2>/dev/null; then
		# shellcheck disable=SC2016 # expanded inside the namespace
		hide='for f in $(dpkg -L '"${hidden_pkgs[*]}"' 2>/dev/null); do
			[ -f "$f" ] && [ ! -L "$f" ] && mount --bind /dev/null "$f"; done; '
		how="$how; ${hidden_pkgs[*]} hidden in a mount namespace"
	fi
	echo "check-fresh-demo: $how: $*" >&2
	(cd "$tmp/src" && PKG_CONFIG_LIBDIR=$tmp/no-pkgconfig PKG_CONFIG_PATH='' \
		unshare_or_not bash -c "${hide}\"\$@\"" fresh "$@")
}
unshare_or_not() {
	if [ "$(id -u)" -eq 0 ] && unshare --mount true 2>/dev/null; then
		unshare --mount --propagation private "$@"
	else
		"$@"
	fi
}

# the README's command, as a new user types it
in_fresh make demo >"$tmp/demo.out" 2>"$tmp/demo.err" ||
	{ cat "$tmp/demo.out" "$tmp/demo.err" >&2; fail "make demo failed on the fresh clone"; }
cat "$tmp/demo.err" >&2
grep -q 'TIME_WAIT -> CLOSED' "$tmp/demo.out" ||
	{ cat "$tmp/demo.out" >&2; fail "make demo did not print the seed's table"; }
grep -q 'building without jansson.*libjansson-dev' "$tmp/demo.err" ||
	fail "configuring did not say it built without jansson (libjansson-dev)"
grep -q 'building without libpcap.*libpcap-dev' "$tmp/demo.err" ||
	fail "configuring did not say it built without libpcap (libpcap-dev)"
cli=$tmp/src/build/release/glasstcp
if readelf -d "$cli" | grep -E 'NEEDED.*(jansson|pcap)'; then
	fail "the CLI built on the fresh clone links jansson or libpcap"
fi

# what the left-out parts say
"$cli" demo close --json >"$tmp/t.jsonl"
"$cli" demo close --pcap "$tmp/t.pcap" >/dev/null
out=$("$cli" explain "$tmp/t.pcap" 2>&1) && fail "explain worked without libpcap: $out"
grep -q 'libpcap-dev' <<<"$out" || fail "explain does not name libpcap-dev: $out"
out=$("$cli" draw "$tmp/t.jsonl" -o "$tmp/t.svg" 2>&1) && fail "draw worked without jansson: $out"
grep -q 'libjansson-dev' <<<"$out" || fail "draw does not name libjansson-dev: $out"

# the test build needs them, and says so by name
in_fresh cmake -S . -B build/test-fresh >"$tmp/test.out" 2>"$tmp/test.err" &&
	fail "the test build configured without jansson and libpcap"
grep -q 'install the Debian package(s) libjansson-dev' "$tmp/test.err" ||
	{ cat "$tmp/test.err" >&2; fail "the test build's error does not name libjansson-dev"; }

echo "check-fresh-demo: make demo works on a clean clone without jansson and libpcap"
