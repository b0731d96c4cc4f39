#!/usr/bin/env python3
"""Linux-to-Linux TCP connections for tests/interop/explain_linux.sh: both ends
are kernel sockets in this one process, on one address (the test's namespace's
own, on lo), one connection per scenario:

  close-client   ADDR PORT        the client closes first, with close() (its
                                  socket is orphaned: FIN_WAIT_2 then TIME_WAIT
                                  as a time-wait mini-socket); the server reads
                                  EOF and closes
  close-server   ADDR PORT        the server closes first, with shutdown(SHUT_WR),
                                  reads EOF, then close(); the client reads EOF
                                  and closes
  refused        ADDR PORT        connect() to a port with no listener: RST
  linger         ADDR PORT        the client closes with SO_LINGER {1, 0}: RST
  simclose       ADDR PORT TABLE CHAIN
                                  simultaneous close (RFC 9293 §3.6, figure 13):
                                  the FINs are dropped on input for a while
                                  (nftables rule added to TABLE CHAIN, then
                                  flushed), both ends shut down at once, and the
                                  retransmitted FINs cross
  transfer       ADDR PORT BYTES  the client sends BYTES random bytes and
                                  shutdown(SHUT_WR); the server reads them all,
                                  answers their SHA-256 and closes; the client
                                  checks it, reads EOF, closes

Each prints one line, "client=IP:PORT server=IP:PORT ..." (the tuple the test
looks for), and exits 0, or prints what went wrong and exits 1.

And the checks of the test's results:

  check   ADDR WATCH.jsonl PACKETS.txt CONNS.txt a=P b=P c=P d=P e=P,P f=P
          the kernel's record (glasstcp watch --json) went through the paths
          each scenario makes, and the capture (PACKETS.txt: tshark fields
          srcport dstport flags len seq ack retransmission) shows the packets
          that made them
  table   WATCH.jsonl WATCH.table
          glasstcp watch's table (from a second watch of the same address)
          lists the same changes as its JSON Lines, in time order
  compare ADDR WATCH.jsonl EXPLAIN.jsonl
          for every end of every connection, the state changes `glasstcp
          explain` reports equal the kernel's, in order; the two side by side
          where they differ
"""
import hashlib
import os
import socket
import struct
import subprocess
import sys
import time

TIMEOUT = 20.0


def listener(addr, port):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((addr, port))
    lsock.listen(4)
    lsock.settimeout(TIMEOUT)
    return lsock


def connect(addr, port):
    csock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    csock.settimeout(TIMEOUT)
    csock.bind((addr, 0))
    csock.connect((addr, port))
    return csock


def pair(addr, port):
    """A listener, a connected client and the accepted server socket."""
    lsock = listener(addr, port)
    csock = connect(addr, port)
    ssock, _ = lsock.accept()
    ssock.settimeout(TIMEOUT)
    return lsock, csock, ssock


def ends(csock):
    c = csock.getsockname()
    s = csock.getpeername()
    return "client=%s:%d server=%s:%d" % (c[0], c[1], s[0], s[1])


def recv_all(sock):
    chunks = []
    while True:
        b = sock.recv(65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def expect(cond, what):
    if not cond:
        print("explain_peer: " + what, file=sys.stderr)
        sys.exit(1)


def close_client(addr, port):
    lsock, csock, ssock = pair(addr, port)
    tag = ends(csock)
    csock.sendall(b"hello")
    expect(ssock.recv(16) == b"hello", "the server did not get hello")
    ssock.sendall(b"world")
    expect(csock.recv(16) == b"world", "the client did not get world")
    csock.close()  # FIN first; orphaned
    expect(recv_all(ssock) == b"", "the server read data after the client's FIN")
    ssock.close()
    lsock.close()
    print(tag)


def close_server(addr, port):
    lsock, csock, ssock = pair(addr, port)
    tag = ends(csock)
    csock.sendall(b"hello")
    expect(ssock.recv(16) == b"hello", "the server did not get hello")
    ssock.sendall(b"world")
    ssock.shutdown(socket.SHUT_WR)  # FIN first
    expect(recv_all(csock) == b"world", "the client did not read world then EOF")
    csock.close()
    expect(recv_all(ssock) == b"", "the server read data after the client's FIN")
    ssock.close()
    lsock.close()
    print(tag)


def refused(addr, port):
    csock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    csock.settimeout(TIMEOUT)
    csock.bind((addr, 0))
    c = csock.getsockname()
    try:
        csock.connect((addr, port))
    except ConnectionRefusedError:
        print("client=%s:%d server=%s:%d refused" % (c[0], c[1], addr, port))
        return
    finally:
        csock.close()
    expect(False, "connect to port %d with no listener succeeded" % port)


def linger(addr, port):
    lsock, csock, ssock = pair(addr, port)
    tag = ends(csock)
    csock.sendall(b"hello")
    expect(ssock.recv(16) == b"hello", "the server did not get hello")
    # SO_LINGER on with a zero timeout: close() aborts with RST (RFC 9293
    # §3.10.5, ABORT call), the connection is dropped at once.
    csock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    csock.close()
    try:
        b = ssock.recv(16)
        expect(False, "the server read %r instead of a reset" % b)
    except ConnectionResetError:
        pass
    ssock.close()
    lsock.close()
    print(tag + " reset")


def nft(*args):
    r = subprocess.run(["nft"] + list(args), capture_output=True, text=True)
    expect(r.returncode == 0, "nft %s: %s" % (" ".join(args), r.stderr.strip()))


def simclose(addr, port, table, chain):
    lsock, csock, ssock = pair(addr, port)
    tag = ends(csock)
    csock.sendall(b"hello")
    expect(ssock.recv(16) == b"hello", "the server did not get hello")
    ssock.sendall(b"world")
    expect(csock.recv(16) == b"world", "the client did not get world")
    time.sleep(0.05)  # every ACK delivered: nothing in flight but the FINs
    # Both FINs are lost on input (after the capture point, which is lo's
    # transmit side) ...
    for p in ("dport", "sport"):
        nft("add", "rule", "inet", table, chain, "tcp", p, str(port), "tcp", "flags", "&",
            "fin", "==", "fin", "drop")
    # ... sent at the same moment: both ends are in FIN_WAIT_1 with their
    # retransmission timers armed in the same jiffy (the coarse clock moves
    # with the tick: both calls are made just after one) ...
    coarse = getattr(time, "CLOCK_MONOTONIC_COARSE", 6)  # 6 in <linux/time.h>
    if sys.platform.startswith("linux"):
        t = time.clock_gettime_ns(coarse)
        while time.clock_gettime_ns(coarse) == t:
            pass
    csock.shutdown(socket.SHUT_WR)
    ssock.shutdown(socket.SHUT_WR)
    # ... and pass again when the timers fire (RTO 200 ms at least, RFC 6298
    # §2.4 / Linux's TCP_RTO_MIN): both retransmitted FINs are sent in the same
    # timer run, before either arrives, so each end gets the other's FIN in
    # FIN_WAIT_1: CLOSING, then the ACK of its own FIN: TIME_WAIT.
    time.sleep(0.1)
    nft("flush", "chain", "inet", table, chain)
    expect(recv_all(csock) == b"", "the client read data after the server's FIN")
    expect(recv_all(ssock) == b"", "the server read data after the client's FIN")
    csock.close()
    ssock.close()
    lsock.close()
    print(tag)


def transfer(addr, port, nbytes):
    lsock, csock, ssock = pair(addr, port)
    tag = ends(csock)
    data = os.urandom(nbytes)
    # one thread would deadlock on full buffers: the client sends from a child
    pid = os.fork()
    if pid == 0:
        try:
            ssock.close()
            lsock.close()
            csock.sendall(data)
            csock.shutdown(socket.SHUT_WR)
            answer = recv_all(csock)
            csock.close()
            os._exit(0 if answer == hashlib.sha256(data).hexdigest().encode() else 3)
        except Exception as e:  # noqa: BLE001 - any failure is the child's exit status
            print("explain_peer: client: %s" % e, file=sys.stderr)
            os._exit(4)
    csock.close()
    got = recv_all(ssock)
    ssock.sendall(hashlib.sha256(got).hexdigest().encode())
    ssock.close()
    lsock.close()
    _, status = os.waitpid(pid, 0)
    expect(len(got) == nbytes, "the server read %d bytes of %d" % (len(got), nbytes))
    expect(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
           "the client failed (status %#x): digest mismatch or error" % status)
    print(tag + " bytes=%d" % nbytes)


# ---------------------------------------------------------------- checks

LISTENER_REMOTE = "0.0.0.0:0"


def load_states(path, host=None):
    """The state events of a JSON Lines trace: {conn: [(from, to, t_us, inferred)]},
    in t_us order (stable), listening sockets (remote 0.0.0.0:0) apart."""
    import json
    conns, listeners, bad = {}, {}, []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                e = json.loads(line)
            except ValueError as err:
                bad.append("%s:%d: not JSON (%s)" % (path, n, err))
                continue
            if e.get("ev") != "state":
                continue
            if host is not None and e.get("host") != host:
                continue
            conn = e.get("conn", "")
            if ">" not in conn:
                bad.append("%s:%d: state event without a conn: %s" % (path, n, line))
                continue
            item = (e.get("from"), e.get("to"), e.get("t_us", 0), bool(e.get("inferred")),
                    e.get("host"))
            target = listeners if conn.split(">")[1] == LISTENER_REMOTE else conns
            target.setdefault(conn, []).append(item)
    for d in (conns, listeners):
        for k in d:
            d[k].sort(key=lambda it: it[2])
    return conns, listeners, bad


def path_of(items):
    """'CLOSED SYN_SENT ESTABLISHED ...', or '-' for no change at all."""
    if not items:
        return "-"
    return " ".join([items[0][0]] + [it[1] for it in items])


def changes_of(items):
    """The path when the changes follow on, else every change: 'A -> B, C -> D'."""
    if continuity(items) is None:
        return path_of(items)
    return ", ".join("%s -> %s" % (it[0], it[1]) for it in items)


def continuity(items):
    """The first change whose from is not the previous change's to, or None."""
    for prev, cur in zip(items, items[1:]):
        if prev[1] != cur[0]:
            return "%s -> %s then %s -> %s" % (prev[0], prev[1], cur[0], cur[1])
    return None


def read_packets(path):
    pkts = []
    with open(path) as f:
        for line in f:
            v = line.split()
            if len(v) < 6:
                continue
            pkts.append({"sport": int(v[0]), "dport": int(v[1]), "flags": int(v[2], 16),
                         "len": int(v[3]), "seq": int(v[4]), "ack": int(v[5]),
                         "rexmit": len(v) > 6})
    return pkts


FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


def check(argv):
    addr, watch, packets, conns_txt = argv[:4]
    ports = {}
    for a in argv[4:]:
        k, v = a.split("=")
        ports[k] = [int(p) for p in v.split(",")]
    kconns, _, bad = load_states(watch, "linux")
    pkts = read_packets(packets)
    clients = {}  # server port -> client port, from the scenarios' own lines
    with open(conns_txt) as f:
        for line in f:
            kv = dict(w.split("=", 1) for w in line.split() if "=" in w)
            if "client" in kv and "server" in kv:
                clients[int(kv["server"].rsplit(":", 1)[1])] = int(kv["client"].rsplit(":", 1)[1])
    problems = list(bad)

    def kernel_ends(port):
        """The kernel's changes of the client end and of the server end."""
        cport = clients.get(port)
        c = kconns.get("%s:%s>%s:%d" % (addr, cport, addr, port), [])
        s = kconns.get("%s:%d>%s:%s" % (addr, port, addr, cport), [])
        return cport, c, s

    def conn_pkts(port, cport):
        return [p for p in pkts if {p["sport"], p["dport"]} == {port, cport}]

    def expect_path(what, items, want):
        got = path_of(items)
        gap = continuity(items)
        ok = got == want and gap is None
        print("%-4s %-8s %s%s" % (what.split()[0], what.split()[1], got,
                                  "" if ok else "   (expected %s)" % want))
        if gap:
            problems.append("%s: the kernel's changes do not follow on: %s" % (what, gap))
        elif got != want:
            problems.append("%s: the kernel went %s, expected %s" % (what, got, want))

    def expect(cond, what):
        if not cond:
            problems.append(what)

    active_close = "CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT"
    passive_close_srv = "LISTEN SYN_RECEIVED ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED"
    for port in ports.get("a", []):
        cport, c, s = kernel_ends(port)
        expect_path("a. client", c, active_close)
        expect_path("a. server", s, passive_close_srv)
        fins = [p for p in conn_pkts(port, cport) if p["flags"] & FIN]
        expect(fins and fins[0]["sport"] == cport, "a: the first FIN in the capture is not the client's")
    for port in ports.get("b", []):
        cport, c, s = kernel_ends(port)
        expect_path("b. client", c, "CLOSED SYN_SENT ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED")
        expect_path("b. server", s, "LISTEN SYN_RECEIVED ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT")
        fins = [p for p in conn_pkts(port, cport) if p["flags"] & FIN]
        expect(fins and fins[0]["sport"] == port, "b: the first FIN in the capture is not the server's")
    for port in ports.get("c", []):
        cport, c, s = kernel_ends(port)
        expect_path("c. client", c, "CLOSED SYN_SENT CLOSED")
        expect_path("c. server", s, "-")
        cp = conn_pkts(port, cport)
        expect(any(p["flags"] & SYN and not p["flags"] & ACK and p["sport"] == cport for p in cp),
               "c: no SYN from the client in the capture")
        expect(any(p["flags"] & RST and p["sport"] == port for p in cp),
               "c: no RST from the refusing side in the capture")
        expect(not any(p["flags"] & SYN and p["flags"] & ACK for p in cp),
               "c: a SYN-ACK in the capture of a refused connect")
    for port in ports.get("d", []):
        cport, c, s = kernel_ends(port)
        expect_path("d. client", c, "CLOSED SYN_SENT ESTABLISHED CLOSED")
        expect_path("d. server", s, "LISTEN SYN_RECEIVED ESTABLISHED CLOSED")
        cp = conn_pkts(port, cport)
        expect(any(p["flags"] & RST and p["sport"] == cport for p in cp),
               "d: no RST from the client in the capture")
        expect(not any(p["flags"] & FIN for p in cp), "d: a FIN in the capture of an abort")
    simultaneous = 0
    for port in ports.get("e", []):
        cport, c, s = kernel_ends(port)
        both = all(path_of(x).endswith("ESTABLISHED FIN_WAIT_1 CLOSING TIME_WAIT") for x in (c, s))
        for name, items in (("client", c), ("server", s)):
            got = path_of(items)
            print("e    %-8s %s" % (name, got))
            expect(got.endswith("TIME_WAIT") and continuity(items) is None,
                   "e (port %d): the %s went %s, expected ... TIME_WAIT" % (port, name, got))
        # RFC 9293 §3.6: an end goes to CLOSING when the peer's FIN reaches it
        # before the ACK of its own FIN. The drops are after the capture point:
        # the copy that got through is the last one before the end's ACK of it.
        cp = conn_pkts(port, cport)

        def fin_of(who):
            return next((p["seq"] + p["len"] for p in cp if p["sport"] == who and p["flags"] & FIN),
                        None)

        def closing(me, peer):
            my_fin, peer_fin = fin_of(me), fin_of(peer)
            if my_fin is None or peer_fin is None:
                return False
            acked = next((i for i, p in enumerate(cp)
                          if p["sport"] == me and p["flags"] & ACK and p["ack"] > peer_fin), None)
            if acked is None:
                return False
            got = [i for i, p in enumerate(cp[:acked]) if p["sport"] == peer and p["flags"] & FIN]
            if not got:
                return False
            # no packet of the peer acknowledged my FIN up to the FIN I got
            return not any(p["sport"] == peer and p["flags"] & ACK and p["ack"] > my_fin
                           for p in cp[:got[-1] + 1])

        crossed = closing(cport, port) and closing(port, cport)
        rexmits = sum(1 for p in cp if p["flags"] & FIN and p["rexmit"])
        print("e    port %d: kernel %s, capture: FINs %s, %d FIN retransmission(s)" %
              (port, "CLOSING on both ends" if both else "not simultaneous",
               "crossed" if crossed else "did not cross", rexmits))
        expect(both == crossed, "e (port %d): the kernel says %s but the capture's FINs %s" %
               (port, "simultaneous" if both else "not simultaneous",
                "crossed" if crossed else "did not cross"))
        simultaneous += both
    if ports.get("e"):
        expect(simultaneous > 0, "e: no attempt made a simultaneous close (CLOSING on both ends)")
    for port in ports.get("f", []):
        cport, c, s = kernel_ends(port)
        expect_path("f. client", c, active_close)
        expect_path("f. server", s, passive_close_srv)
        cp = conn_pkts(port, cport)
        # the highest relative sequence number the client's data reached
        sent = max([p["seq"] + p["len"] - 1 for p in cp
                    if p["sport"] == cport and p["len"] > 0] or [0])
        rexmits = sum(1 for p in cp if p["rexmit"])
        print("f    %d packets, %d payload bytes from the client, %d retransmissions"
              % (len(cp), sent, rexmits))
        expect(sent >= 2000000, "f: the capture holds only %d bytes from the client" % sent)
        expect(rexmits > 0, "f: no retransmission in the capture of a lossy transfer")
    for p in problems:
        print("PROBLEM: " + p)
    return 1 if problems else 0


def compare(argv):
    addr, watch, explain = argv[:3]
    kconns, klisten, kbad = load_states(watch, "linux")
    econns, elisten, ebad = load_states(explain)
    problems = kbad + ebad
    # explain's host is the end's "ip:port", the local end of its conn
    for conn, items in list(econns.items()) + list(elisten.items()):
        for it in items:
            if it[4] != conn.split(">")[0]:
                problems.append("explain: a state event of %s has host %r" % (conn, it[4]))
                break
    if elisten:
        print("explain reports listening sockets (not compared): %s" %
              ", ".join("%s %s" % (k, path_of(v)) for k, v in sorted(elisten.items())))
    print("kernel listening sockets (no connection's end, not compared): %s" %
          ", ".join("%s %s" % (k, path_of(v)) for k, v in sorted(klisten.items())))
    # every end of every connection either of them reports
    def first_seen(k):
        items = kconns.get(k) or econns.get(k)
        return (0 if k in kconns else 1, items[0][2], k)

    keys = sorted(set(kconns) | set(econns), key=first_seen)
    for conn in keys:
        if addr not in conn:
            problems.append("%s: not a connection of %s" % (conn, addr))
            continue
        k = [(it[0], it[1]) for it in kconns.get(conn, [])]
        e = [(it[0], it[1]) for it in econns.get(conn, [])]
        if k == e:
            print("same      %-45s %s" % (conn, path_of(kconns.get(conn, []))))
            continue
        problems.append("%s: explain %s; kernel %s" % (conn, changes_of(econns.get(conn, [])),
                                                        changes_of(kconns.get(conn, []))))
        print("DIFFERENT %s" % conn)
        print("    %-32s %s" % ("kernel (tracepoint)", "explain (capture)"))
        einf = econns.get(conn, [])
        for i in range(max(len(k), len(e))):
            left = "%s -> %s" % k[i] if i < len(k) else ""
            right = "%s -> %s" % e[i] if i < len(e) else ""
            if i < len(einf) and einf[i][3]:
                right += " (inferred)"
            mark = "  " if i < len(k) and i < len(e) and k[i] == e[i] else "!="
            print("  %s %-32s %s" % (mark, left, right))
    for p in problems:
        print("PROBLEM: " + p)
    return 1 if problems else 0


def table(argv):
    watch, table_path = argv[:2]
    kconns, klisten, bad = load_states(watch, "linux")
    want = {}
    for d in (kconns, klisten):
        for conn, items in d.items():
            want[conn] = [(it[0], it[1]) for it in items]
    got, problems, last_t = {}, list(bad), None
    with open(table_path) as f:
        lines = f.read().splitlines()
    if not lines or not lines[0].split()[:2] == ["t", "(ms)"]:
        problems.append("no header line: %r" % (lines[:1],))
    for line in lines[1:]:
        v = line.split()
        # "T  LOCAL > REMOTE  FROM -> TO"
        if len(v) != 7 or v[2] != ">" or v[5] != "->":
            problems.append("not a table line: %r" % line)
            continue
        t = float(v[0])
        if last_t is not None and t < last_t:
            problems.append("out of time order: %r" % line)
        last_t = t
        got.setdefault("%s>%s" % (v[1], v[3]), []).append((v[4], v[6]))
    if got != want:
        for conn in sorted(set(got) | set(want)):
            if got.get(conn) != want.get(conn):
                problems.append("%s: table %s, JSON %s" % (conn, got.get(conn), want.get(conn)))
    for p in problems:
        print("PROBLEM: " + p)
    return 1 if problems else 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "check" and len(argv) >= 6:
        return check(argv[2:])
    if len(argv) >= 2 and argv[1] == "table" and len(argv) == 4:
        return table(argv[2:])
    if len(argv) >= 2 and argv[1] == "compare" and len(argv) == 5:
        return compare(argv[2:])
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, addr, port = argv[1], argv[2], int(argv[3])
    if cmd == "close-client":
        close_client(addr, port)
    elif cmd == "close-server":
        close_server(addr, port)
    elif cmd == "refused":
        refused(addr, port)
    elif cmd == "linger":
        linger(addr, port)
    elif cmd == "simclose" and len(argv) == 6:
        simclose(addr, port, argv[4], argv[5])
    elif cmd == "transfer" and len(argv) == 5:
        transfer(addr, port, int(argv[4]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
