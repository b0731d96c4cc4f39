#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_input (tests/fuzz/corpus/).

Each input is the state selector byte, then records: a big-endian 16-bit
header (FIX 0x8000, REL 0x4000, clock step index << 11, length) and the packet.
With FIX|REL the harness fills in addresses, ports, lengths and checksums and
adds RCV.NXT / SND.UNA to seq / ack, so the packets here are written with
relative numbers and zero checksums. The format is described in
docs/fuzzing.md; the harness is fuzz_harness.h.

    python3 tests/fuzz/make_corpus.py [outdir]
"""
import os
import struct
import sys

FIX, REL = 0x8000, 0x4000
FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
STATES = ["listen", "syn_sent", "syn_received", "established", "fin_wait_1",
          "fin_wait_2", "close_wait", "closing", "last_ack", "time_wait"]
ORPHAN, DATA, ACTIVE, EDGE = 0x10, 0x20, 0x40, 0x80


def segment(flags, seq=0, ack=0, wnd=8192, payload=b"", options=b""):
    """An IPv4+TCP packet; addresses and checksums are left to FIX."""
    options += b"\x00" * (-len(options) % 4)
    tcp = struct.pack(">HHIIBBHHH", 0, 0, seq & 0xffffffff, ack & 0xffffffff,
                      (5 + len(options) // 4) << 4, flags, wnd, 0, 0) + options
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0,
                     bytes(4), bytes(4))
    return ip + tcp + payload


def record(pkt=b"", step=1, fix=True, rel=True, call=0):
    """One record; an empty packet is an application call (1 send, 2 shutdown, 3 close)."""
    hdr = (step & 7) << 11 | len(pkt)
    if pkt:
        hdr |= (FIX if fix else 0) | (REL if rel else 0)
    else:
        hdr |= call << 14
    return struct.pack(">H", hdr) + pkt


MSS = b"\x02\x04\x05\xb4"
DATA_BYTES = bytes(range(200))

# name: (selector, records)
SEEDS = {
    "listen_handshake": (0, [
        record(segment(SYN, options=MSS)),
        record(segment(ACK, 0, 1)),
        record(segment(ACK | PSH, 0, 1, payload=DATA_BYTES)),
        record(segment(ACK | FIN, 200, 1)),
    ]),
    "listen_junk": (0, [
        record(segment(ACK, 5, 9)),
        record(segment(RST, 0, 0)),
        record(segment(FIN, 0, 0)),
        record(segment(SYN | FIN, 0, 0)),
        record(bytes(range(60)), fix=False, rel=False),
    ]),
    "syn_sent_synack": (1, [
        record(segment(SYN | ACK, 0, 1, options=MSS)),
        record(segment(ACK | PSH, 0, 0, payload=DATA_BYTES)),
    ]),
    "syn_sent_rst": (1, [
        record(segment(RST | ACK, 0, 1)),
        record(segment(ACK, 0, 0)),
    ]),
    "syn_sent_timeout": (1, [record(step=6), record(step=6), record(step=7)]),
    "syn_received_ack": (2, [
        record(segment(SYN, -1, 0, options=MSS)),
        record(segment(ACK, 0, 1)),
        record(segment(RST, 0, 0)),
    ]),
    "simultaneous_open": (2 | ACTIVE, [
        record(segment(SYN | ACK, -1, 1, options=MSS)),
        record(segment(ACK, 0, 0)),
    ]),
    "established_data": (3, [
        record(segment(ACK | PSH, 0, 0, payload=DATA_BYTES)),
        record(segment(ACK | PSH, 400, 0, payload=DATA_BYTES)),
        record(segment(ACK | PSH, 200, 0, payload=DATA_BYTES)),
        record(call=1),
        record(segment(ACK, 0, 1500, wnd=0), step=5),
        record(step=6),
        record(segment(ACK, 0, 1500, wnd=8192)),
    ]),
    "established_attack": (3 | DATA, [
        record(segment(RST, 100, 0)),
        record(segment(SYN, 0, 0)),
        record(segment(ACK, 0, 0x7fffffff)),
        record(segment(ACK | URG, 0, 0, payload=b"x")),
    ]),
    "fin_wait_1_close": (4 | ORPHAN, [
        record(segment(ACK | FIN, 0, 1)),
        record(segment(ACK | PSH, 1, 1, payload=b"late")),
    ]),
    "fin_wait_2_fin": (5, [
        record(segment(ACK | PSH, 0, 0, payload=DATA_BYTES)),
        record(segment(ACK | FIN, 200, 0)),
        record(segment(ACK | FIN, 200, 0)),
    ]),
    "close_wait": (6, [record(call=1), record(segment(ACK, 0, 1500)), record(call=3)]),
    "closing": (7, [record(segment(ACK, 0, 1)), record(segment(ACK | FIN, -1, 1))]),
    "last_ack": (8 | ORPHAN, [record(segment(ACK, 0, 1)), record(segment(ACK, 0, 1))]),
    "time_wait": (9 | EDGE, [
        record(segment(ACK | FIN, -1, 0)),
        record(segment(SYN, 1000, 0, options=MSS)),
        record(segment(RST, 0, 0)),
        record(step=7),
    ]),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, (sel, recs) in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([sel]) + b"".join(recs))
    print(f"{len(SEEDS)} inputs in {out}")


if __name__ == "__main__":
    main()
