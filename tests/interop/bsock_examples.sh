#!/usr/bin/env bash
# The blocking API's examples (examples/bsock_*.c, glasstcp/bsock.h) on TUN
# devices in one network namespace, the kernel routing between the devices:
#   a) Linux nc -> bsock_echo_server: 1 MB back exact;
#   b) bsock_echo_client -> bsock_echo_server (two glasstcp runtimes, each on
#      its own device, the kernel forwarding between them): 1 MB back exact;
#      four clients at once (the server's thread per connection);
#   c) bsock_echo_client -> a Linux echo server (python3): 1 MB back exact;
#   d) curl -> bsock_http10: three files (up to 2 MB) exact, 404 for a
#      missing one and for a path with a '/'.
# And the kernel's sockets all close (no connection left half-open).
#
# usage: bash bsock_examples.sh /path/to/glasstcp (the examples beside it)
source "$(dirname "$0")/lib.sh"
gt_setup bsock
gt_netns A
NS=$NS_A
BIN=$(dirname "$GT")
for ex in bsock_echo_server bsock_echo_client bsock_http10; do
	[ -x "$BIN/example_$ex" ] || {
		fail "$BIN/example_$ex is not built"
		gt_finish
	}
done
SRV=198.18.13.1
WEB=198.18.15.1
ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=1 || fail "cannot turn on forwarding"
cd "$TMP" || exit 1

# start_server VAR OUT CMD...: an example server in NS, up to its "listening" line.
start_server() {
	local var=$1 out=$2
	shift 2
	gt_bg ip netns exec "$NS" "$@" >"$out.out" 2>"$out.err"
	printf -v "$var" '%s' "$!"
	gt_wait_for 20 grep -q '^listening' "$out.out" ||
		fail "$(basename "$3") not listening after 20 s: $(cat "$out.err")"
}
# client N SERVER PORT: bsock_echo_client on device gtbcN, 198.18.2N.1
# (the kernel's side 198.18.2N.2), stdin to SERVER:PORT and back to stdout.
client() {
	timeout 60 ip netns exec "$NS" "$BIN/example_bsock_echo_client" "gtbc$1" "198.18.2$1.1" \
		"198.18.2$1.2" "$2" "$3"
}

start_server ECHO echo "$BIN/example_bsock_echo_server" gtbs0 $SRV 198.18.13.2 7
head -c 1000000 /dev/urandom >in

# a) Linux nc -> glasstcp echo
timeout 60 ip netns exec "$NS" nc -N $SRV 7 <in >out.a 2>a.err
rc=$?
[ $rc -eq 0 ] || fail "a) nc exited $rc: $(cat a.err)"
gt_same in out.a "a) nc -> bsock_echo_server" && log "a) nc -> bsock_echo_server: 1 MB back"

# b) glasstcp client -> glasstcp echo, the kernel routing between the devices:
# one, then four at once
client 1 $SRV 7 <in >out.b1 2>b1.err
rc=$?
[ $rc -eq 0 ] || fail "b) bsock_echo_client exited $rc: $(cat b1.err)"
gt_same in out.b1 "b) bsock_echo_client -> bsock_echo_server" &&
	log "b) bsock_echo_client -> bsock_echo_server: 1 MB back"
pids=()
for i in 1 2 3 4; do
	head -c $((200000 * i)) /dev/urandom >in.$i
	client $i $SRV 7 <in.$i >out.b.$i 2>b.$i.err &
	pids+=($!)
done
for i in 1 2 3 4; do
	wait "${pids[$((i - 1))]}"
	rc=$?
	[ $rc -eq 0 ] || fail "b) client $i of 4 exited $rc: $(cat b.$i.err)"
	gt_same in.$i out.b.$i "b) client $i of 4" || true
done
log "b) four bsock_echo_clients at once: done"

# c) glasstcp client -> a Linux echo server
cat >echo.py <<'PY'
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 9007))
l.listen(1)
print("listening", flush=True)
c, _ = l.accept()
while True:
    b = c.recv(65536)
    if not b:
        break
    c.sendall(b)
c.close()
PY
start_server PYECHO pyecho python3 echo.py
client 1 198.18.21.2 9007 <in >out.c 2>c.err
rc=$?
[ $rc -eq 0 ] || fail "c) bsock_echo_client -> python3 exited $rc: $(cat c.err)"
gt_same in out.c "c) bsock_echo_client -> Linux echo" &&
	log "c) bsock_echo_client -> Linux echo (python3): 1 MB back"

# d) curl -> the HTTP/1.0 server
mkdir www
head -c 1 /dev/urandom >www/one
head -c 5000 /dev/urandom >www/small
head -c 2000000 /dev/urandom >www/big.bin
start_server WEBPID web "$BIN/example_bsock_http10" gtbh0 $WEB 198.18.15.2 80 "$TMP/www"
for f in one small big.bin; do
	code=$(timeout 60 ip netns exec "$NS" curl -sS --max-time 50 -o "got.$f" -w '%{http_code}' \
		"http://$WEB/$f" 2>d.err)
	[ "$code" = 200 ] || fail "d) curl /$f: HTTP $code: $(cat d.err)"
	gt_same "www/$f" "got.$f" "d) curl /$f" || true
done
for f in missing .. sub/one; do
	code=$(timeout 60 ip netns exec "$NS" curl -sS --path-as-is --max-time 50 -o /dev/null \
		-w '%{http_code}' "http://$WEB/$f" 2>d.err)
	[ "$code" = 404 ] || fail "d) curl /$f: HTTP $code, expected 404"
done
log "d) curl -> bsock_http10: 3 files exact, 3 x 404"

gt_wait_linux_done "$NS" 10 "all parts"
gt_finish
