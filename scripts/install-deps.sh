#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, when missing.
# As root it uses apt-get; otherwise it only says what is missing.
#   install-deps.sh          everything `make test` needs
#   install-deps.sh --build  only what `make demo` needs: cmake and a C compiler
#   install-deps.sh fuzz     the libFuzzer targets (`make fuzz`, `make fuzz-smoke`):
#                            clang and its runtimes (libFuzzer, ASan, UBSan), which
#                            Debian 12 ships in libclang-rt-14-dev, only recommended
#                            by clang-14's libclang-common-14-dev
#   install-deps.sh bench    `make bench`: lwIP (liblwip-dev, the comparison stack)
#                            and valgrind (`make bench-callgrind`)
set -euo pipefail
if [ "${1-}" = "--build" ]; then
  need=(cmake gcc make libc6-dev)
elif [ "${1-}" = fuzz ]; then
  need=(cmake make clang libclang-rt-14-dev)
elif [ "${1-}" = bench ]; then
  need=(cmake gcc make liblwip-dev valgrind)
else
need=(cmake gcc make pkg-config clang-format libcmocka-dev libpcap-dev libjansson-dev tshark xxd
      # the views: SVG checked by xmllint, DOT by Graphviz, the HTML report
      # rendered by headless Chromium; explain's real captures by tcpdump
      libxml2-utils graphviz chromium fonts-dejavu-core tcpdump
      # the Linux interop tests: real peers inside network namespaces
      curl netcat-openbsd iproute2 nftables iptables python3)
fi
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
