#!/usr/bin/env bash
# Builds the real packetdrill (google/packetdrill) from the project's vendored
# source tarball into BUILD_DIR/packetdrill, outside the source tree, and
# prints the path of the binary. Nothing of packetdrill is committed.
#
#   scripts/build-packetdrill.sh BUILD_DIR
#
# The tarball is looked for in $GT_VENDOR_DIR, else ../shared/vendor beside
# the repository. Exit 77 with a message when it is
# absent (a fresh clone has no vendor folder: the tests that need packetdrill
# are then skipped), 1 when the build fails. bison and flex are installed with
# apt-get when missing and we are root.
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build_dir=$1
repo=$(cd "$(dirname "$0")/.." && pwd)
tarball_name=packetdrill-2c4001c.tar.gz

find_tarball() {
	local d
	for d in "${GT_VENDOR_DIR:-}" "$repo/../shared/vendor"; do
		if [[ -n "$d" && -f "$d/$tarball_name" ]]; then
			echo "$d/$tarball_name"
			return 0
		fi
	done
	return 1
}

if ! tarball=$(find_tarball); then
	echo "build-packetdrill: $tarball_name not found (set GT_VENDOR_DIR, or put it in" \
	     "../shared/vendor); packetdrill tests skipped" >&2
	exit 77
fi

mkdir -p "$build_dir"
dest=$(cd "$build_dir" && pwd)/packetdrill
bin=$dest/gtests/net/packetdrill/packetdrill
stamp=$dest/.built-from
if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$tarball" && "$bin" -nt "$tarball" ]]; then
	echo "$bin"
	exit 0
fi

for tool in bison flex; do
	if ! command -v "$tool" >/dev/null; then
		if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
			echo "build-packetdrill: installing $tool" >&2
			for try in 1 2 3 4 5; do
				DEBIAN_FRONTEND=noninteractive apt-get install -y "$tool" >&2 && break
				sleep 5
			done
		fi
		command -v "$tool" >/dev/null || { echo "build-packetdrill: $tool is needed" >&2; exit 1; }
	fi
done

rm -rf "$dest"
mkdir -p "$dest"
tar -xzf "$tarball" -C "$dest"
src=$dest/gtests/net/packetdrill
log=$dest/build.log
# -j2: the machines this runs on are small and shared
if ! (cd "$src" && ./configure && make -j2 packetdrill) >"$log" 2>&1; then
	echo "build-packetdrill: build failed; see $log" >&2
	tail -20 "$log" >&2
	exit 1
fi
echo "$tarball" >"$stamp"
echo "$bin"
