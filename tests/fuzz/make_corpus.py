#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets: tests/fuzz/corpus/<target>/.

fuzz_input: the state selector byte, the option byte, then records: a
big-endian 16-bit header (FIX 0x8000, REL 0x4000, clock step index << 11,
length) and the packet. With FIX|REL the harness fills in addresses, ports,
lengths and checksums and adds RCV.NXT / SND.UNA to seq / ack (the peer's clock
and the target's last TSval to a TSopt's TSval / TSecr, SND.UNA to SACK
blocks), so the packets here are written with relative numbers and zero
checksums.

fuzz_options: the scenario byte, the option byte, then records of 4 bytes
(flags; seq/ack picks and REL; window, clock step, payload; option length and
an application call) and the raw option bytes.

The formats are described in docs/fuzzing.md; the harness is fuzz_harness.h.
The seeds are written next to what a campaign merged in (seed-* files only
are replaced).

    python3 tests/fuzz/make_corpus.py [outdir]     # default tests/fuzz/corpus
"""
import os
import struct
import sys

FIX, REL = 0x8000, 0x4000
FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
STATES = ["listen", "syn_sent", "syn_received", "established", "fin_wait_1",
          "fin_wait_2", "close_wait", "closing", "last_ack", "time_wait"]
ORPHAN, DATA, ACTIVE, EDGE = 0x10, 0x20, 0x40, 0x80
# the option byte (FZ_OPT_* in fuzz_harness.h)
O_SACK, O_TS, O_WS, O_NO_MSS = 0x01, 0x02, 0x04, 0x08
O_NO_SACK, O_NO_TS, O_NO_WS, O_BIG = 0x10, 0x20, 0x40, 0x80
O_ALL = O_SACK | O_TS | O_WS
# every combination the handshake can agree on, and the target refusing some
COMBOS = [0, O_NO_MSS, O_SACK, O_TS, O_WS, O_ALL, O_ALL | O_BIG,
          O_ALL | O_NO_SACK, O_ALL | O_NO_TS, O_ALL | O_NO_WS, O_SACK | O_TS | O_NO_MSS]


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
SACKOK = b"\x04\x02"
WS7 = b"\x03\x03\x07"
NOP = b"\x01"
DATA_BYTES = bytes(range(200))


def ts(val=0, ecr=0):
    """A TSopt; with REL both are relative (the peer's clock, the target's TSval)."""
    return NOP + NOP + struct.pack(">BBII", 8, 10, val & 0xffffffff, ecr & 0xffffffff)


def sack(*blocks):
    """SACK blocks; with REL relative to SND.UNA."""
    return NOP + NOP + struct.pack(">BB", 5, 2 + 8 * len(blocks)) + b"".join(
        struct.pack(">II", l & 0xffffffff, r & 0xffffffff) for l, r in blocks)


SYN_ALL = MSS + SACKOK + ts() + NOP + WS7

# name: (selector, records); the option byte is 0 (an MSS-only SYN)
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


# name: (selector, option byte, records): the same moves with options agreed
OPT_SEEDS = {
    "established_ts_paws": (3 | DATA, O_TS | O_SACK, [
        record(segment(ACK | PSH, 0, 0, payload=DATA_BYTES, options=ts())),
        record(segment(ACK, 0, 0, options=ts(-1000))),        # PAWS: an old TSval
        record(segment(ACK, 0, 1460, options=ts(5, 0))),
        record(segment(ACK, 0, 0), step=5),                   # no TSopt
        record(segment(RST, 0, 0)),
    ]),
    "established_sack": (3 | DATA, O_ALL, [
        record(segment(ACK, 0, 0, options=ts() + sack((1460, 3000)))),
        record(segment(ACK, 0, 0, options=ts(1) + sack((1460, 3000)))),
        record(segment(ACK, 0, 0, options=ts(2) + sack((1460, 3000)))),
        record(segment(ACK, 0, 1460, options=ts(3) + sack((0, 100)))),  # D-SACK
        record(step=5),
        record(segment(ACK, 0, 3000, options=ts(1200))),
    ]),
    "established_ooo": (3 | DATA, O_SACK | O_WS, [
        record(segment(ACK | PSH, 300, 0, payload=DATA_BYTES)),
        record(segment(ACK | PSH, 0, 0, payload=DATA_BYTES[:100])),
        record(segment(ACK | PSH, 0, 0, payload=DATA_BYTES)),
    ]),
    "syn_sent_synack_all": (1, O_ALL, [
        record(segment(SYN | ACK, 0, 1, options=SYN_ALL)),
        record(segment(ACK | PSH, 0, 0, payload=DATA_BYTES, options=ts(1))),
    ]),
    "listen_handshake_all": (0, O_ALL | O_BIG, [
        record(segment(SYN, options=SYN_ALL)),
        record(segment(ACK, 0, 1, options=ts(1))),
        record(segment(ACK | PSH, 0, 1, payload=DATA_BYTES, options=ts(2))),
    ]),
    "time_wait_ts": (9, O_TS, [
        record(segment(ACK, 0, 0, options=ts(-5))),
        record(segment(SYN, 1000, 0, options=MSS + ts(10)), step=4),
    ]),
}


def opt_record(flags, seq=0, ack=0, rel=True, wnd=0, step=1, plen=0, options=b"", call=0):
    """A fuzz_options record (see fz_opt_record in fuzz_harness.h)."""
    return bytes([flags, (seq & 7) | (ack & 7) << 3 | (0x40 if rel else 0),
                  (wnd & 7) | (step & 7) << 3 | (plen & 3) << 6,
                  len(options) | (call & 3) << 6]) + options


# seq picks: 0 RCV.NXT, 1 +100, 2 +1000, 3 -1, 4 -100, 5 right edge, 6 peer ISN, 7 far
# ack picks: 0 SND.UNA, 1 SND.NXT, 2 snd_max, 3 +MSS, 4 -1, 5 snd_max+1, 6 ISS+1, 7 0
L, SS, EST = 0, 1, 2  # scenarios
OPTIONS_SEEDS = {
    "listen_syn": (L, [opt_record(SYN, seq=6, options=SYN_ALL),
                       opt_record(ACK, ack=6, options=ts(1)),
                       opt_record(ACK | PSH, ack=6, plen=2, options=ts(2))]),
    "listen_bad_options": (L, [opt_record(SYN, seq=6, options=b"\x02\x03\x05\xb4"),
                               opt_record(SYN, seq=6, options=b"\x03\x03\x0e\x08\x0a"),
                               opt_record(SYN | ACK, seq=6, options=SACKOK + SACKOK)]),
    "syn_sent_synack": (SS, [opt_record(SYN | ACK, seq=6, ack=6, options=SYN_ALL),
                             opt_record(ACK, options=ts(1))]),
    "syn_sent_synack_bare": (SS, [opt_record(SYN | ACK, seq=6, ack=6),
                                  opt_record(ACK | PSH, plen=2)]),
    "established_sack": (EST, [opt_record(ACK, options=ts() + sack((1460, 3000))),
                               opt_record(ACK, options=ts(1) + sack((1460, 3000))),
                               opt_record(ACK, options=ts(2) + sack((1460, 3000))),
                               opt_record(ACK, ack=2, options=ts(3), step=5)]),
    "established_paws": (EST, [opt_record(ACK | PSH, plen=2, options=ts(-100)),
                               opt_record(ACK, options=ts(0x7fffffff)),
                               opt_record(ACK | PSH, plen=2, options=ts(1))]),
    # 25 days idle (step 7): the peer's clock moved 2^31 on, its TSval looks old,
    # but TS.Recent is no longer valid (RFC 7323 §5.5)
    "established_idle": (EST, [opt_record(ACK, options=ts(1), step=7),
                               opt_record(ACK | PSH, plen=2, options=ts(0))]),
    "established_ooo": (EST, [opt_record(ACK | PSH, seq=1, plen=2, options=ts(1)),
                              opt_record(ACK | PSH, plen=2, options=ts(2)),
                              opt_record(ACK | FIN, seq=2, options=ts(3))]),
}


def write(out, target, inputs):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith("seed-"):
            os.remove(os.path.join(d, f))
    for name, data in inputs.items():
        with open(os.path.join(d, "seed-" + name), "wb") as f:
            f.write(data)
    print(f"{len(inputs)} seeds in {d}")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    inputs = {name: bytes([sel, 0]) + b"".join(recs) for name, (sel, recs) in SEEDS.items()}
    for name, (sel, opt, recs) in OPT_SEEDS.items():
        inputs[name] = bytes([sel, opt]) + b"".join(recs)
    write(out, "fuzz_input", inputs)
    opts = {}
    for name, (scen, recs) in OPTIONS_SEEDS.items():
        for combo in COMBOS:
            for var in ((0, ACTIVE) if scen == EST else (0,)):
                opts[f"{name}-{combo:02x}{'-active' if var else ''}"] = \
                    bytes([scen | var, combo]) + b"".join(recs)
    write(out, "fuzz_options", opts)


if __name__ == "__main__":
    main()
