#!/usr/bin/env python3
"""Reads the JSON Lines trace of `glasstcp up/connect/get --json FILE` for the
interop tests (python3 standard library only).

  trace.py states FILE HOST [REGEX]   one line per connection of HOST whose
                                      "conn" matches REGEX (search): the conn,
                                      then its states in time order, e.g.
                                      "A:1>B:2 LISTEN SYN_RECEIVED ESTABLISHED ..."
  trace.py causes FILE HOST [REGEX]   the same with "STATE(cause)" items
  trace.py times FILE HOST [REGEX]    the same with "STATE@seconds" items
                                      (t_us / 1e6, absolute)
  trace.py count FILE KIND [FLAGS]    how many events of KIND (tx, rx, drop,
                                      state) there are, only segments whose
                                      flags equal FLAGS when given
  trace.py window KERNEL_ADDR         reads tshark fields on stdin (ip.src
                                      tcp.stream tcp.seq_raw tcp.len tcp.ack_raw
                                      tcp.window_size tcp.flags.ack) in capture
                                      order and prints the data segments
                                      glasstcp (ip.src != KERNEL_ADDR) sent past
                                      the right window edge the kernel had
                                      advertised so far (a 1-byte zero-window
                                      probe at the edge is allowed); one line
                                      per violation, nothing when none
  trace.py fin-then-data FILE         prints "ok N" when glasstcp received N>0
                                      data segments after it sent its FIN
                                      (the peer went on sending after our
                                      half-close), else "none"

Events are sorted by t_us (stably): the kernel's transitions are delivered
late (see docs/kernel-states.md).
"""
import json
import re
import sys


def load(path):
    evs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                evs.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not JSON: {e}")
    evs.sort(key=lambda e: e.get("t_us", 0))
    return evs


def per_conn(evs, host, regex, fmt):
    rx = re.compile(regex) if regex else None
    conns = {}
    order = []
    for e in evs:
        if e.get("ev") != "state" or e.get("host") != host:
            continue
        c = e.get("conn", "-")
        if rx and not rx.search(c):
            continue
        if c not in conns:
            conns[c] = [e["from"]]
            order.append(c)
        conns[c].append(fmt(e))
    for c in order:
        print(c, " ".join(conns[c]))


def window(kaddr):
    """The right edge per connection (tcp.stream), as glasstcp knew it."""
    edge = {}
    bad = 0
    for n, line in enumerate(sys.stdin, 1):
        f = line.rstrip("\n").split("\t")
        if len(f) < 7 or not f[1]:
            continue
        src, stream, seq, ln, ack, win, ackf = f[:7]
        if src == kaddr:
            if ackf in ("1", "True") and ack and win:
                e = (int(ack) + int(win)) % 2**32
                old = edge.get(stream)
                # keep the largest edge (mod 2^32)
                if old is None or (e - old) % 2**32 < 2**31:
                    edge[stream] = e
            continue
        ln = int(ln or 0)
        if ln == 0 or stream not in edge:
            continue
        end = (int(seq) + ln) % 2**32
        over = (end - edge[stream]) % 2**32
        if 0 < over < 2**31 and not (ln == 1 and int(seq) == edge[stream]):
            bad += 1
            if bad <= 10:
                print(f"tcp packet {n}: stream {stream} seq {seq} len {ln} ends {over} bytes "
                      f"past the advertised edge {edge[stream]}")
    if bad > 10:
        print(f"... {bad} segments in all")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "window":
        window(path)
        return
    evs = load(path)
    if cmd in ("states", "causes", "times"):
        if len(sys.argv) < 4:
            sys.exit(__doc__)
        host = sys.argv[3]
        regex = sys.argv[4] if len(sys.argv) > 4 else None
        fmt = {
            "states": lambda e: e["to"],
            "causes": lambda e: f'{e["to"]}({e.get("cause", "")})',
            "times": lambda e: f'{e["to"]}@{e["t_us"] / 1e6:.6f}',
        }[cmd]
        per_conn(evs, host, regex, fmt)
    elif cmd == "count":
        kind = sys.argv[3]
        flags = sys.argv[4] if len(sys.argv) > 4 else None
        print(sum(1 for e in evs if e.get("ev") == kind and
                  (flags is None or e.get("flags") == flags)))
    elif cmd == "fin-then-data":
        fin_at = None
        n = 0
        for e in evs:
            if e.get("host") != "glasstcp":
                continue
            if e.get("ev") == "tx" and "F" in e.get("flags", "") and fin_at is None:
                fin_at = e["t_us"]
            elif (e.get("ev") == "rx" and fin_at is not None and e.get("len", 0) > 0):
                n += 1
        print(f"ok {n}" if n else "none")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
