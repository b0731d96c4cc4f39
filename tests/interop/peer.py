#!/usr/bin/env python3
"""Linux-side peers for the interop tests (python3 standard library only).
Every socket call has a timeout; exit status 0 when the peer saw what it
expected, 1 otherwise (with a message on stderr).

  peer.py close-after-eof HOST PORT PATH
      HTTP/1.1 GET PATH with "Connection: close"; reads until the server's
      FIN, waits 0.3 s (the kernel socket sits in CLOSE_WAIT), then closes
      (LAST_ACK). Prints the status line and the body length.
  peer.py close-first HOST PORT
      Sends 1000 bytes to an echo server, reads them back, half-closes
      (shutdown SHUT_WR: FIN_WAIT_1), reads until the server's FIN, closes.
  peer.py refused HOST PORT
      connect() must fail with ECONNREFUSED.
  peer.py linger-client HOST PORT
      Sends 1000 bytes to an echo server, reads them back, then closes with
      SO_LINGER {on, 0}: the kernel sends RST instead of FIN.
  peer.py linger-server PORT READYFILE
      Listens on 0.0.0.0:PORT (READYFILE is created once listening), accepts
      one connection, reads 5 bytes, then closes with SO_LINGER {on, 0}.
  peer.py expect-reset PORT READYFILE
      Listens on 0.0.0.0:PORT, accepts one connection, reads 5 bytes, then
      reads on: the peer's RST must end the connection with ECONNRESET (not
      EOF). Prints "ECONNRESET after 5 bytes".
"""
import errno
import os
import socket
import struct
import sys
import time

TIMEOUT = 20


def die(msg):
    print(f"peer.py {sys.argv[1]}: {msg}", file=sys.stderr)
    sys.exit(1)


def read_all(s, n=None):
    got = bytearray()
    while n is None or len(got) < n:
        x = s.recv(65536)
        if not x:
            break
        got += x
    return bytes(got)


def accept_five(port, ready):
    """Listens on 0.0.0.0:PORT (READYFILE made once listening), accepts one
    connection and reads 5 bytes from it: (listener, connection, bytes)."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("0.0.0.0", int(port)))
    lsock.listen(1)
    lsock.settimeout(TIMEOUT)
    open(ready, "w").close()
    c, _ = lsock.accept()
    c.settimeout(TIMEOUT)
    got = read_all(c, 5)
    if len(got) != 5:
        die(f"read {len(got)} bytes, expected 5")
    return lsock, c, got


def connect(host, port):
    return socket.create_connection((host, int(port)), timeout=TIMEOUT)


def echo_round(s):
    data = os.urandom(1000)
    s.sendall(data)
    back = read_all(s, len(data))
    if back != data:
        die(f"echo returned {len(back)} bytes that differ from the 1000 sent")


def linger0(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "close-after-eof":
        host, port, path = args
        s = connect(host, port)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        resp = read_all(s)  # until the server's FIN
        time.sleep(0.3)
        s.close()
        head, _, body = resp.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        print(f"{status} body={len(body)}")
        if not status.startswith("HTTP/1.1 200"):
            die(f"status {status!r}")
    elif cmd == "close-first":
        host, port = args
        s = connect(host, port)
        echo_round(s)
        s.shutdown(socket.SHUT_WR)
        rest = read_all(s)
        s.close()
        if rest:
            die(f"{len(rest)} unexpected bytes after the echo")
        print("ok")
    elif cmd == "refused":
        host, port = args
        try:
            s = connect(host, port)
        except ConnectionRefusedError as e:
            print(f"ECONNREFUSED ({e})")
            return
        except OSError as e:
            die(f"connect failed with {errno.errorcode.get(e.errno, e.errno)}, not ECONNREFUSED")
        s.close()
        die("connect succeeded, expected ECONNREFUSED")
    elif cmd == "linger-client":
        host, port = args
        s = connect(host, port)
        echo_round(s)
        linger0(s)
        print("reset sent")
    elif cmd == "linger-server":
        lsock, c, got = accept_five(*args)
        linger0(c)
        lsock.close()
        print("reset sent")
    elif cmd == "expect-reset":
        lsock, c, got = accept_five(*args)
        try:
            more = c.recv(100)
        except ConnectionResetError:
            print(f"ECONNRESET after {len(got)} bytes")
            return
        die(f"recv returned {len(more)} bytes (EOF={not more}), expected ECONNRESET")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    try:
        main()
    except socket.timeout:
        die("timed out")
    except OSError as e:
        die(f"{e}")
