#!/usr/bin/env bash
# The installed library works for a program outside the tree, both ways the
# README shows. A separate build of the library alone (Release, no
# sanitizers: the test build's objects need the sanitizer runtimes) in a
# scratch folder, `cmake --install` into a scratch prefix, then
# tests/install/consumer.c built against that prefix with
#   pkg-config --cflags --libs glasstcp            (shared; no -lm of its own)
#   pkg-config --static --cflags --libs glasstcp   (-static: libm from Libs.private)
#   find_package(glasstcp) in tests/install/CMakeLists.txt
#                        (glasstcp::glasstcp, glasstcp::glasstcp_static)
# and run: each checks gt_version() against `glasstcp --version` and connects
# two stacks in memory. Also: the files installed, the SONAME, the symlinks,
# and the whole install of the test build (the CLI in bin/).
source "$(dirname "$0")/lib.bash"
root=$(cd "$(dirname "$0")/../.." && pwd)
require_tools cmake pkg-config readelf "${CC:-cc}"
cc=${CC:-cc}

version=$("$GT" --version) || fail "glasstcp --version failed"
[[ $version =~ ^glasstcp\ ([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] ||
	{ echo "$TEST_NAME: glasstcp --version printed '$version', not 'glasstcp X.Y.Z'" >&2; exit 1; }
version=${version#glasstcp }
major=${version%%.*}

# run LOG CMD...: CMD with its output in $TMP/LOG, shown if it fails.
run() {
	local log=$TMP/$1
	shift
	"$@" >"$log" 2>&1 || { cat "$log" >&2; return 1; }
}

# ---- the library alone, built and installed ----
P=$TMP/prefix
run configure.log cmake -S "$root" -B "$TMP/build" -DCMAKE_BUILD_TYPE=Release -DGT_TOOLS=OFF \
	-DGT_TESTS=OFF -DGT_SANITIZE=OFF -DCMAKE_INSTALL_LIBDIR=lib ||
	{ echo "$TEST_NAME: configure failed" >&2; exit 1; }
run build.log cmake --build "$TMP/build" -j 2 --target glasstcp glasstcp_shared ||
	{ echo "$TEST_NAME: build failed" >&2; exit 1; }
run install.log cmake --install "$TMP/build" --prefix "$P" ||
	{ echo "$TEST_NAME: install failed" >&2; exit 1; }

for h in "$root"/include/glasstcp/*.h; do
	cmp -s "$h" "$P/include/glasstcp/${h##*/}" || fail "include/glasstcp/${h##*/} not installed"
done
for f in lib/libglasstcp.a "lib/libglasstcp.so.$version" lib/pkgconfig/glasstcp.pc \
	lib/cmake/glasstcp/glasstcpConfig.cmake lib/cmake/glasstcp/glasstcpConfigVersion.cmake \
	lib/cmake/glasstcp/glasstcpTargets.cmake; do
	[ -f "$P/$f" ] || fail "$f not installed"
done
[ "$(readlink "$P/lib/libglasstcp.so")" = "libglasstcp.so.$major" ] &&
	[ "$(readlink "$P/lib/libglasstcp.so.$major")" = "libglasstcp.so.$version" ] ||
	fail "symlinks: libglasstcp.so -> $(readlink "$P/lib/libglasstcp.so"), .so.$major -> $(readlink "$P/lib/libglasstcp.so.$major")"
dyn=$(readelf -d "$P/lib/libglasstcp.so.$version")
grep -q "Library soname: \[libglasstcp.so.$major\]" <<<"$dyn" || fail "SONAME is not libglasstcp.so.$major: $dyn"
grep -q "Shared library: \[libm.so.6\]" <<<"$dyn" || fail "libglasstcp.so does not name libm (NEEDED)"

# ---- pkg-config ----
export PKG_CONFIG_PATH=$P/lib/pkgconfig
[ "$(pkg-config --modversion glasstcp)" = "$version" ] || fail "pkg-config --modversion glasstcp"
grep -qw -- -lm <<<"$(pkg-config --static --libs glasstcp)" || fail "pkg-config --static --libs has no -lm"
flags=(-std=c17 -Wall -Wextra -Werror -Wno-unused-parameter)
src=$root/tests/install/consumer.c
# shellcheck disable=SC2046 # pkg-config's words are flags
if run pc_shared.log "$cc" "${flags[@]}" "$src" -o "$TMP/pc_shared" $(pkg-config --cflags --libs glasstcp); then
	readelf -d "$TMP/pc_shared" | grep -q "Shared library: \[libglasstcp.so.$major\]" ||
		fail "pkg-config, shared: the program does not need libglasstcp.so.$major"
	out=$(LD_LIBRARY_PATH=$P/lib "$TMP/pc_shared" "$version" 2>&1) || fail "pkg-config, shared: $out"
else
	fail "pkg-config, shared: does not build (above)"
fi
# shellcheck disable=SC2046
if run pc_static.log "$cc" "${flags[@]}" "$src" -o "$TMP/pc_static" -static \
	$(pkg-config --static --cflags --libs glasstcp); then
	out=$("$TMP/pc_static" "$version" 2>&1) || fail "pkg-config, static: $out"
else
	fail "pkg-config, static: does not build (above)"
fi
# the static check means something: without -lm the same link fails on llround
"$cc" "${flags[@]}" "$src" -o "$TMP/no_lm" -static -I"$P/include" "$P/lib/libglasstcp.a" \
	>/dev/null 2>&1 && fail "a -static link without -lm succeeded: the consumer no longer needs libm"

# ---- find_package(glasstcp) ----
unset PKG_CONFIG_PATH
if run cm_configure.log cmake -S "$root/tests/install" -B "$TMP/consumer" -DCMAKE_PREFIX_PATH="$P" \
	-DGT_EXPECT_VERSION="$version" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror -Wno-unused-parameter" &&
	run cm_build.log cmake --build "$TMP/consumer" -j 2; then
	readelf -d "$TMP/consumer/consumer_shared" | grep -q "Shared library: \[libglasstcp.so.$major\]" ||
		fail "find_package: glasstcp::glasstcp is not the shared library"
	readelf -d "$TMP/consumer/consumer_static" | grep -q "libglasstcp" &&
		fail "find_package: glasstcp::glasstcp_static links the shared library"
	for p in consumer_shared consumer_static; do # the build tree's RPATH finds P/lib
		out=$("$TMP/consumer/$p" "$version" 2>&1) || fail "find_package, $p: $out"
	done
else
	fail "find_package: the consumer project does not configure or build (above)"
fi

# ---- the whole install of the build under test: the CLI too ----
bt=$(dirname "$GT")
if [ -f "$bt/cmake_install.cmake" ]; then
	if run full_install.log cmake --install "$bt" --prefix "$TMP/full"; then
		libdir=$(cd "$TMP/full" && dirname "$(find . -name glasstcp.pc)")
		[ "$("$TMP/full/bin/glasstcp" --version 2>&1)" = "glasstcp $version" ] ||
			fail "the installed bin/glasstcp does not print 'glasstcp $version'"
		[ -L "$TMP/full/${libdir%/pkgconfig}/libglasstcp.so.$major" ] ||
			fail "the full install has no libglasstcp.so.$major"
	else
		fail "cmake --install of the build under test failed (above)"
	fi
fi

finish "installed $version (SONAME libglasstcp.so.$major) and built against it: pkg-config shared and static, find_package shared and static"
