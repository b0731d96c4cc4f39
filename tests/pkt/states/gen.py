#!/usr/bin/env python3
"""Generates tests/pkt/states/rcv-KIND-STATE-EDGE.pkt: one segment of each kind
arriving in each of the 11 TCP states, at the window edges that matter, with
the reply RFC 9293 §3.10.7 and RFC 5961 require and a check of the state after.

  gen.py            write the scripts next to this file
  gen.py --check    exit 1 (naming the files) if the committed scripts differ
                    from what this generates (CTest pkt_states_generated)

Every script: drive the connection into the state with real segments and
socket calls (peer ISN 0, our ISN 0 in script numbers, no SACK or
timestamps), send the one segment at time T, expect the reply at T (or none),
and 0.1 s later a "proof" segment whose answer shows the state afterwards: an
octet wholly below RCV.NXT (an unacceptable segment: it draws
<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> at once, RFC 9293 §3.10.7.4 first step),
or, for a connection that is gone, an ACK that draws <SEQ=SEG.ACK><CTL=RST>.
A reply the script does not expect would reach that proof's line 0.1 s early
and fail it on its time.

Windows: glasstcp's SYN-ACK offers 65535, so RCV.NXT + RCV.WND is 65536 after
the handshake and stays there (the right edge never moves left, RFC 9293
§3.8.6.2.2): edges are RCV.NXT-1, RCV.NXT, 32768, 65535 and 65536.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RIGHT = 65536  # RCV.NXT + RCV.WND in every synchronized state here

LISTENER = [
    "0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
    "+0    bind(3, ..., ...) = 0",
    "+0    listen(3, 1) = 0",
]
HANDSHAKE = LISTENER + [
    "+0    < S 0:0(0) win 32792 <mss 1000,nop,wscale 7>",
    "+0    > S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>",
]
ESTAB = HANDSHAKE + [
    "+.1   < . 1:1(0) ack 1 win 257",
    "+0    accept(3, ..., ...) = 4",
    "// the listener goes: a segment for a connection that is gone meets CLOSED",
    "+0    close(3) = 0",
]
FW1 = ESTAB + ["+0    shutdown(4, SHUT_WR) = 0", "+0    > F. 1:1(0) ack 1"]
FW2 = FW1 + ["+0    < . 1:1(0) ack 2 win 257"]
CW = ESTAB + [
    "+0    < F. 1:1(0) ack 1 win 257",
    "+0    > . 1:1(0) ack 2",
    "+0    read(4, ..., 100) = 0",
]

# name: (how to get there, RCV.NXT, SND.NXT, the ACK field we send, the
# socket can still receive text, our FIN is in flight (retransmitted at RTO
# 300 ms: probes are spaced less), what describes the state)
STATES = {
    "syn-received": dict(prelude=HANDSHAKE, rcv=1, snd=1, ack=1, text=True, fin_out=False,
                         how="a SYN to a listener, answered with SYN-ACK (passive open)"),
    "established": dict(prelude=ESTAB, rcv=1, snd=1, ack=1, text=True, fin_out=False,
                        how="passive open, accept()ed"),
    "fin-wait-1": dict(prelude=FW1, rcv=1, snd=2, ack=1, text=True, fin_out=True,
                       how="shutdown(SHUT_WR): our FIN sent, not yet ACKed"),
    "fin-wait-2": dict(prelude=FW2, rcv=1, snd=2, ack=2, text=True, fin_out=False,
                       how="shutdown(SHUT_WR), our FIN ACKed"),
    "close-wait": dict(prelude=CW, rcv=2, snd=1, ack=1, text=False, fin_out=False,
                       how="the peer's FIN received, ACKed and read"),
    "closing": dict(prelude=FW1 + [
        "+0    < F. 1:1(0) ack 1 win 257",
        "+0    > . 2:2(0) ack 2",
        "+0    read(4, ..., 100) = 0",
    ], rcv=2, snd=2, ack=1, text=False, fin_out=True,
        how="shutdown(SHUT_WR), then the peer's FIN before the ACK of ours"),
    "last-ack": dict(prelude=CW + [
        "+0    shutdown(4, SHUT_WR) = 0",
        "+0    > F. 1:1(0) ack 2",
    ], rcv=2, snd=2, ack=1, text=False, fin_out=True,
        how="CLOSE_WAIT, then shutdown(SHUT_WR): our FIN sent"),
    "time-wait": dict(prelude=FW2 + [
        "+0    < F. 1:1(0) ack 2 win 257",
        "+0    > . 2:2(0) ack 2",
        "+0    read(4, ..., 100) = 0",
    ], rcv=2, snd=2, ack=2, text=False, fin_out=False,
        how="FIN_WAIT_2, then the peer's FIN, ACKed"),
}

STATE_NAMES = {
    "syn-received": "SYN_RECEIVED",
    "established": "ESTABLISHED",
    "fin-wait-1": "FIN_WAIT_1",
    "fin-wait-2": "FIN_WAIT_2",
    "close-wait": "CLOSE_WAIT",
    "closing": "CLOSING",
    "last-ack": "LAST_ACK",
    "time-wait": "TIME_WAIT",
}

EDGES = ["left-out", "left", "mid", "right", "right-out"]
EDGE_TEXT = {
    "left-out": "RCV.NXT-1 (outside the window, left: an old sequence number)",
    "left": "RCV.NXT (the left edge)",
    "mid": "32768 (in the middle of the window)",
    "right": "65535 = RCV.NXT+RCV.WND-1 (the right edge)",
    "right-out": "65536 = RCV.NXT+RCV.WND (outside the window, right)",
}


def edge_seq(st, edge):
    return {
        "left-out": st["rcv"] - 1,
        "left": st["rcv"],
        "mid": 32768,
        "right": RIGHT - 1,
        "right-out": RIGHT,
    }[edge]


def segment(kind, s, ack):
    synopt = "win 32792 <mss 1000,nop,wscale 7>"
    return {
        "syn": f"< S {s}:{s}(0) {synopt}",
        "syn-ack": f"< S. {s}:{s}(0) ack {ack} {synopt}",
        "ack": f"< . {s}:{s}(0) ack {ack} win 257",
        "data": f"< P. {s}:{s + 1}(1) ack {ack} win 257",
        "fin": f"< F. {s}:{s}(0) ack {ack} win 257",
        "rst": f"< R {s}:{s}(0) win 257",
        "rst-ack": f"< R. {s}:{s}(0) ack {ack} win 257",
        "syn-fin": f"< SF {s}:{s}(0) win 257",
        "no-ack": f"< P {s}:{s + 1}(1) win 257",
        "data-overlap": f"< P. {s}:{s + 2}(2) ack {ack} win 257",
        "ack-of-fin": f"< . {s}:{s}(0) ack {ack} win 257",
        "ack-unsent": f"< . {s}:{s}(0) ack {ack} win 257",
    }[kind]


KIND_TEXT = {
    "syn": "a SYN",
    "syn-ack": "a SYN-ACK",
    "ack": "an empty ACK",
    "data": "one octet of data with ACK",
    "fin": "a FIN (FIN+ACK)",
    "rst": "an RST",
    "rst-ack": "an RST-ACK",
    "syn-fin": "a SYN+FIN",
    "no-ack": "one octet of data without the ACK bit",
    "data-overlap": "two octets of data, the first one old (below RCV.NXT)",
    "ack-of-fin": "the ACK of our FIN (SEG.ACK = SND.NXT)",
    "ack-unsent": "an empty ACK of data never sent (SEG.ACK = SND.NXT+1)",
}


def pkt(line):
    return "+0    " + line


def ack_of(st):
    return pkt(f"> . {st['snd']}:{st['snd']}(0) ack {st['rcv']}")


def proof_alive(st):
    """An octet below RCV.NXT: unacceptable, ACKed at once."""
    r = st["rcv"]
    return [
        "// proof: an old octet draws <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>",
        f"+.1   < . {r - 1}:{r}(1) ack {st['ack']} win 257",
        ack_of(st),
    ]


def proof_gone(st, why="the connection is gone"):
    return [
        f"// proof: {why}; an ACK draws <SEQ=SEG.ACK><CTL=RST>",
        f"+.1   < . {st['rcv']}:{st['rcv']}(0) ack {st['snd']} win 257",
        pkt(f"> R {st['snd']}:{st['snd']}(0)"),
    ]


def ratelimit_check(st, line):
    """RFC 5961 §7: the same segment again within 500 ms draws nothing, a third
    after 500 ms an ACK again."""
    return [
        "// RFC 5961 §7 (glasstcp: one such ACK per 500 ms): again soon, nothing;",
        "// after 500 ms, an ACK again (a reply at .1 would fail this line's time)",
        "+.1   " + line,
        "+.45  " + line,
        ack_of(st),
    ]


def back_to_listen(st):
    return proof_gone(
        dict(st, snd=1),
        "the attempt went back to LISTEN (RFC 9293 §3.10.7.4); the listener takes the ACK",
    )


def sync_case(name, kind, edge):
    """(rule, expectation, lines after the segment) for a synchronized state or
    SYN_RECEIVED."""
    st = STATES[name]
    s = edge_seq(st, edge)
    ack = {"ack-unsent": st["snd"] + 1, "ack-of-fin": st["snd"]}.get(kind, st["ack"])
    line = segment(kind, s, ack)
    outside = edge in ("left-out", "right-out")
    sr = name == "syn-received"
    out = ["+.1   " + line]

    if kind == "syn-fin":
        return ("glasstcp drops SYN+FIN in every state as a scan (counted, no reply)",
                "no reply; the state is unchanged", out + proof_alive(st))
    if kind == "rst" or kind == "rst-ack":
        if outside:
            return ("RFC 9293 §3.10.7.4 first step: an unacceptable RST is dropped, never answered",
                    "no reply; the state is unchanged", out + proof_alive(st))
        if edge != "left":
            limit = ratelimit_check(st, line) if edge == "mid" and not st["fin_out"] else []
            return ("RFC 5961 §3.2: an RST in the window but not at RCV.NXT draws a challenge ACK"
                    + (", at most one per 500 ms (§7)" if limit else ""),
                    "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; the state is unchanged",
                    out + [ack_of(st)] + limit + proof_alive(st))
        if sr:
            return ("RFC 9293 §3.10.7.4 second step, SYN-RECEIVED from a passive OPEN: "
                    "return to LISTEN", "no reply; the attempt is gone",
                    out + back_to_listen(st))
        if name == "time-wait":
            return ("RFC 1337 §3 (fix H1): glasstcp ignores an RST in TIME_WAIT",
                    "no reply; TIME_WAIT stays", out + proof_alive(st))
        after = ["+0    read(4, ..., 100) = -1 ECONNRESET (Connection reset by peer)"]
        said = "read() reports ECONNRESET, "
        if name == "close-wait":
            # the end of the stream was read already: read() keeps saying so,
            # but a SEND gets the reset (RFC 9293 §3.10.7.4 second step)
            after = ["+0    read(4, ..., 100) = 0",
                     "+0    write(4, ..., 10) = -1 ECONNRESET (Connection reset by peer)",
                     "+0    getsockopt(4, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0"]
            said = "write() and SO_ERROR report ECONNRESET, "
        if name in ("closing", "last-ack"):
            after = ["+0    read(4, ..., 100) = 0"]
            said = ""
        return ("RFC 9293 §3.10.7.4 second step with RFC 5961 §3.2: an RST at exactly "
                "RCV.NXT resets the connection",
                "no reply; " + said + "the connection is gone",
                out + after + proof_gone(st))
    if sr and kind == "syn" and s == 0:
        return ("the peer's SYN again (at IRS: our SYN-ACK was lost): glasstcp, as Linux "
                "and FreeBSD, sends the SYN-ACK again", "<SEQ=ISS><ACK=1><CTL=SYN,ACK>",
                out + [pkt("> S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>")] + proof_alive(st))
    if kind == "ack-of-fin":
        st2 = dict(st, ack=st["snd"])
        if name == "last-ack":
            return ("RFC 9293 §3.10.7.4 fifth step, LAST-ACK: the ACK of our FIN closes "
                    "the connection", "no reply; the connection is gone", out + proof_gone(st2))
        nxt = "FIN_WAIT_2" if name == "fin-wait-1" else "TIME_WAIT"
        lines = ["// no FIN retransmission at the RTO (300 ms): it was acknowledged"]
        if name == "fin-wait-1":
            lines += ["+.5   < F. 1:1(0) ack 2 win 257", "+0    > . 2:2(0) ack 2",
                      "+0    read(4, ..., 100) = 0"]
            st2 = dict(st2, rcv=2)
        else:
            lines += ["+.5   < . 1:2(1) ack 2 win 257", ack_of(st2)]
        return (f"RFC 9293 §3.10.7.4 fifth step: the ACK of our FIN moves "
                f"{STATE_NAMES[name]} to {nxt}", f"no reply; {nxt}",
                out + lines + proof_alive(st2))
    if kind == "data-overlap":
        if not st["text"]:
            return ("RFC 9293 §3.10.7.4 first step: acceptable (its last octet is in the "
                    "window), trimmed to RCV.NXT; seventh step: text after the peer's FIN "
                    "is ignored", "no reply; the state is unchanged", out + proof_alive(st))
        pre = ["+0    accept(3, ..., ...) = 4"] if sr else []
        st2 = dict(st, rcv=st["rcv"] + 1)
        return ("RFC 9293 §3.10.7.4 first step: acceptable (its last octet is in the "
                "window); the old octet is trimmed, the new one received and ACKed",
                "<ACK=RCV.NXT+1>; read() returns one octet",
                out + pre + [ack_of(st2), "+0    read(4, ..., 100) = 1"] + proof_alive(st2))
    if outside:
        rule = ("RFC 9293 §3.10.7.4 first step: an unacceptable segment draws "
                "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and is dropped")
        lines = out + [ack_of(st)]
        if kind == "fin" and name == "time-wait" and edge == "left-out":
            rule = ("RFC 9293 §3.10.7.4 eighth step, TIME-WAIT: the peer's FIN again "
                    "(at RCV.NXT-1) is ACKed and the 2 MSL timeout restarted")
        if kind == "ack" and not st["fin_out"]:
            lines += ratelimit_check(st, line)
        return (rule, "an ACK; the state is unchanged", lines + proof_alive(st))
    if kind in ("syn", "syn-ack"):
        if sr:
            return ("RFC 9293 §3.10.7.4 fourth step: a SYN in the window in SYN-RECEIVED "
                    "from a passive OPEN returns the connection to LISTEN",
                    "no reply; the attempt is gone", out + back_to_listen(st))
        return ("RFC 5961 §4.2 (RFC 9293 §3.10.7.4 fourth step): a SYN in a synchronized "
                "state draws a challenge ACK" + (
                    "; no listener, so no reopening (RFC 6191)" if name == "time-wait" else ""),
                "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; the state is unchanged",
                out + [ack_of(st)]
                + (ratelimit_check(st, line) if edge == "mid" and not st["fin_out"] else [])
                + proof_alive(st))
    if kind == "no-ack":
        return ("RFC 9293 §3.10.7.4 fifth step: a segment without ACK is dropped",
                "no reply; nothing is received", out + proof_alive(st))
    if kind == "ack-unsent":
        if sr:
            return ("RFC 9293 §3.10.7.4 fifth step, SYN-RECEIVED: an unacceptable ACK "
                    "draws <SEQ=SEG.ACK><CTL=RST>", "an RST; SYN_RECEIVED stays",
                    out + [pkt(f"> R {ack}:{ack}(0)")] + proof_alive(st))
        return ("RFC 5961 §5.2 (RFC 9293 §3.10.7.4 fifth step): an ACK of data never sent "
                "is answered with an ACK and dropped",
                "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; the state is unchanged",
                out + [ack_of(st)] + proof_alive(st))

    # acceptable ACK, data, FIN
    pre = []
    if sr:
        pre = ["+0    accept(3, ..., ...) = 4"]
        st = dict(st)  # ESTABLISHED now
    if kind == "ack":
        if sr:
            return ("RFC 9293 §3.10.7.4 fifth step, SYN-RECEIVED: an acceptable ACK "
                    "completes the handshake", "no reply; accept() returns it",
                    out + pre + proof_alive(st))
        return ("RFC 9293 §3.10.7.4: an acceptable ACK that acknowledges nothing new",
                "no reply; the state is unchanged", out + proof_alive(st))
    esttext = "; the ACK completes the handshake first" if sr else ""
    if kind == "data":
        if not st["text"]:
            return ("RFC 9293 §3.10.7.4 seventh step: text after the peer's FIN "
                    "is ignored", "no reply; the state is unchanged",
                    out + proof_alive(st))
        if edge == "left":
            st2 = dict(st, rcv=st["rcv"] + 1)
            return ("RFC 9293 §3.10.7.4 seventh step: text at RCV.NXT is received and "
                    "ACKed (the linux profile ACKs the first segments at once)" + esttext,
                    "<ACK=RCV.NXT+1>; read() returns the octet",
                    out + pre + [ack_of(st2), "+0    read(4, ..., 100) = 1"] + proof_alive(st2))
        return ("RFC 5681 §4.2: out-of-order text in the window is held and ACKed at "
                "once (a duplicate ACK)" + esttext,
                "<ACK=RCV.NXT>; the state is unchanged", out + pre + [ack_of(st)] + proof_alive(st))
    # fin
    if edge == "left":
        st2 = dict(st, rcv=st["rcv"] + 1)
        after = [ack_of(st2)]
        if st["text"]:
            after.append("+0    read(4, ..., 100) = 0")
        if name == "time-wait":
            rule = ("RFC 9293 §3.10.7.4 eighth step, TIME-WAIT: a FIN at RCV.NXT advances "
                    "RCV.NXT over it, is ACKed, and restarts the 2 MSL timeout")
        elif st["text"]:
            rule = ("RFC 9293 §3.10.7.4 eighth step: a FIN at RCV.NXT advances RCV.NXT, is "
                    "ACKed (at once, linux profile) and read() returns 0" + esttext)
        else:
            rule = ("RFC 9293 §3.10.7.4 eighth step: a FIN at RCV.NXT advances RCV.NXT "
                    "and is ACKed; the state stays")
        return (rule, "<ACK=RCV.NXT+1>", out + pre + after + proof_alive(st2))
    if name == "time-wait":
        return ("RFC 9293 §3.10.7.4 eighth step: in TIME-WAIT only the FIN at RCV.NXT "
                "counts; one beyond it is dropped", "no reply", out + proof_alive(st))
    return ("RFC 5681 §4.2: a FIN beyond a hole is held and draws a duplicate ACK" + esttext,
            "<ACK=RCV.NXT>; the state is unchanged", out + pre + [ack_of(st)] + proof_alive(st))


def sync_scripts():
    for name in STATES:
        for kind in ("syn", "syn-ack", "ack", "data", "fin", "rst", "rst-ack"):
            for edge in EDGES:
                yield name, kind, edge
        for kind in ("syn-fin", "no-ack", "ack-unsent"):
            yield name, kind, "left"
        yield name, "data-overlap", "left-out"
        if STATES[name]["fin_out"]:
            yield name, "ack-of-fin", "left"


# ---- SYN_SENT: the ACK field's edges (ISS, ISS+1, beyond SND.NXT) ----

SYN_SENT = [
    "0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
    "+0    fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0",
    "+0    connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)",
    "+0    > S 0:0(0) <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 8>",
]
SS_EDGES = {"ack-iss": 0, "ack-iss1": 1, "ack-beyond": 2}
SS_EDGE_TEXT = {
    "ack-iss": "SEG.ACK = ISS (not acceptable: SEG.ACK =< ISS)",
    "ack-iss1": "SEG.ACK = ISS+1 = SND.NXT (acceptable)",
    "ack-beyond": "SEG.ACK = SND.NXT+1 (not acceptable: SEG.ACK > SND.NXT)",
}
SS_COMPLETE = [
    "// proof: still SYN_SENT; the right SYN-ACK completes the connect",
    "+.1   < S. 0:0(0) ack 1 win 32792 <mss 1000,nop,wscale 7>",
    "+0    > . 1:1(0) ack 1",
    "+0    connect(3, ..., ...) = 0",
]


def syn_sent_case(kind, edge):
    a = SS_EDGES.get(edge, 1)
    line = segment(kind, 0, a)
    out = ["+.1   " + line]
    bad = edge in ("ack-iss", "ack-beyond")
    if kind in ("syn-ack", "ack", "data", "fin") and bad:
        return ("RFC 9293 §3.10.7.3 first: an unacceptable ACK draws <SEQ=SEG.ACK><CTL=RST> "
                "and the segment is dropped", "an RST; SYN_SENT stays",
                out + [pkt(f"> R {a}:{a}(0)")] + SS_COMPLETE)
    if kind == "rst-ack" and bad:
        return ("RFC 9293 §3.10.7.3 first: an unacceptable ACK on an RST: drop it",
                "no reply; SYN_SENT stays", out + SS_COMPLETE)
    if kind == "rst-ack":
        return ("RFC 9293 §3.10.7.3 second: an RST with an acceptable ACK refuses the "
                "connection", "no reply; SO_ERROR is ECONNREFUSED",
                out + ["+0    getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0",
                       "+0    write(3, ..., 10) = -1 EPIPE (Broken pipe)"])
    if kind == "rst":
        return ("RFC 9293 §3.10.7.3 second, RFC 5961 §3.2: an RST without ACK is dropped",
                "no reply; SYN_SENT stays", out + SS_COMPLETE)
    if kind == "syn-ack":
        return ("RFC 9293 §3.10.7.3 fourth: a SYN-ACK acknowledging our SYN completes "
                "the connection; ACK at once", "<SEQ=1><ACK=1><CTL=ACK>; connect() = 0",
                out + ["+0    > . 1:1(0) ack 1", "+0    connect(3, ..., ...) = 0",
                       "+0    write(3, ..., 10) = 10", "+0    > P. 1:11(10) ack 1"])
    if kind in ("ack", "data", "fin", "no-ack"):
        return ("RFC 9293 §3.10.7.3 fifth: neither SYN nor RST: drop the segment",
                "no reply; SYN_SENT stays", out + SS_COMPLETE)
    if kind == "syn-fin":
        return ("glasstcp drops SYN+FIN in every state as a scan (counted, no reply)",
                "no reply; SYN_SENT stays", out + SS_COMPLETE)
    assert kind == "syn"
    return ("RFC 9293 §3.10.7.3 fourth, simultaneous open: a SYN without ACK moves to "
            "SYN_RECEIVED and draws <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>",
            "a SYN-ACK; the peer's ACK of it completes the connect",
            out + ["+0    > S. 0:0(0) ack 1 <...>",
                   "+.1   < . 1:1(0) ack 1 win 257",
                   "+0    connect(3, ..., ...) = 0"])


def syn_sent_scripts():
    for kind in ("syn-ack", "ack", "data", "fin", "rst-ack"):
        for edge in SS_EDGES:
            yield kind, edge
    for kind in ("syn", "rst", "syn-fin", "no-ack"):
        yield kind, "any"


# ---- LISTEN and CLOSED ----

LISTEN_SYN = [
    "// proof: the listener is unchanged; a SYN starts a handshake",
    "+.1   < S 0:0(0) win 32792 <mss 1000,nop,wscale 7>",
    "+0    > S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>",
    "+.1   < . 1:1(0) ack 1 win 257",
    "+0    accept(3, ..., ...) = 4",
]
CLOSED_SYN = [
    "// proof: the port is still closed; a SYN draws <SEQ=0><ACK=1><CTL=RST,ACK>",
    "+.1   < S 0:0(0) win 32792 <mss 1000,nop,wscale 7>",
    "+0    > R. 0:0(0) ack 1",
]

OTHER_KINDS = ("syn", "syn-ack", "ack", "data", "fin", "rst", "rst-ack", "syn-fin", "no-ack")


def listen_case(kind):
    # seq 0: packetdrill takes the first packet's sequence number for the
    # peer's ISN even when it is not a SYN, and offsets later ones by it
    line = segment(kind, 0, 5)
    out = ["+.1   " + line]
    if kind == "syn":
        return ("RFC 9293 §3.10.7.2 third: a SYN in LISTEN starts a handshake",
                "<SEQ=ISS><ACK=1><CTL=SYN,ACK>; the ACK completes it",
                out + ["+0    > S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>",
                       "+.1   < . 1:1(0) ack 1 win 257", "+0    accept(3, ..., ...) = 4"])
    if kind in ("rst", "rst-ack"):
        return ("RFC 9293 §3.10.7.2 first: an RST in LISTEN is ignored",
                "no reply", out + LISTEN_SYN)
    if kind in ("syn-ack", "ack", "data", "fin"):
        return ("RFC 9293 §3.10.7.2 second: any ACK in LISTEN draws <SEQ=SEG.ACK><CTL=RST>",
                "<SEQ=5><CTL=RST>", out + [pkt("> R 5:5(0)")] + LISTEN_SYN)
    if kind == "syn-fin":
        return ("glasstcp drops SYN+FIN in every state as a scan (counted, no reply)",
                "no reply", out + LISTEN_SYN)
    return ("RFC 9293 §3.10.7.2 fourth: other text or control without SYN or ACK is dropped",
            "no reply", out + LISTEN_SYN)


def closed_case(kind):
    # seq 0: packetdrill takes the first packet's sequence number for the
    # peer's ISN even when it is not a SYN, and offsets later ones by it
    line = segment(kind, 0, 5)
    out = ["+.1   " + line]
    rule = "RFC 9293 §3.10.7.1: CLOSED (no socket on the port): "
    if kind in ("rst", "rst-ack"):
        return (rule + "an incoming RST is discarded", "no reply", out + CLOSED_SYN)
    if kind == "syn-fin":
        return ("glasstcp drops SYN+FIN in every state as a scan (counted, no reply)",
                "no reply", out + CLOSED_SYN)
    if kind in ("syn-ack", "ack", "data", "fin"):
        return (rule + "a segment with ACK draws <SEQ=SEG.ACK><CTL=RST>", "<SEQ=5><CTL=RST>",
                out + [pkt("> R 5:5(0)")] + CLOSED_SYN)
    n = 1  # SEG.SEQ 0 + SEG.LEN 1 (the SYN, or the octet)
    return (rule + "a segment without ACK draws <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>",
            f"<SEQ=0><ACK={n}><CTL=RST,ACK>", out + [pkt(f"> R. 0:0(0) ack {n}")])


# ---- writing ----

def render(title, rule, expect, how, lines):
    head = [
        "// Generated by tests/pkt/states/gen.py: edit that, not this file.",
        f"// {title}.",
        f"// Rule: {rule}.",
        f"// Expected: {expect}.",
        f"// State reached by: {how}.",
        "// Profile: linux.",
    ]
    return "\n".join(head + lines) + "\n"


def all_scripts():
    out = {}
    for name, kind, edge in sync_scripts():
        rule, expect, lines = sync_case(name, kind, edge)
        st = STATES[name]
        title = (f"{KIND_TEXT[kind]} in {STATE_NAMES[name]} (RCV.NXT={st['rcv']}) at "
                 f"{EDGE_TEXT[edge]}")
        if kind in ("syn-fin", "no-ack", "ack-unsent", "data-overlap", "ack-of-fin"):
            at = st["rcv"] - (kind == "data-overlap")
            title = f"{KIND_TEXT[kind]} in {STATE_NAMES[name]} (RCV.NXT={st['rcv']}) at {at}"
            edge_name = ""
        else:
            edge_name = "-" + edge
        out[f"rcv-{kind}-{name}{edge_name}.pkt"] = render(
            title, rule, expect, st["how"], st["prelude"] + lines)
    for kind, edge in syn_sent_scripts():
        rule, expect, lines = syn_sent_case(kind, edge)
        title = f"{KIND_TEXT[kind]} in SYN_SENT"
        if edge != "any":
            title += f", {SS_EDGE_TEXT[edge]}"
        suffix = "" if edge == "any" else "-" + edge
        out[f"rcv-{kind}-syn-sent{suffix}.pkt"] = render(
            title, rule, expect, "a non-blocking connect()", SYN_SENT + lines)
    for kind in OTHER_KINDS:
        rule, expect, lines = listen_case(kind)
        out[f"rcv-{kind}-listen.pkt"] = render(
            f"{KIND_TEXT[kind]} in LISTEN", rule, expect, "socket, bind, listen",
            LISTENER + lines)
        rule, expect, lines = closed_case(kind)
        out[f"rcv-{kind}-closed.pkt"] = render(
            f"{KIND_TEXT[kind]} to a port with no socket (CLOSED)", rule, expect,
            "nothing: no socket at all", ["0     `true`"] + lines)
    return out


def main():
    check = "--check" in sys.argv[1:]
    scripts = all_scripts()
    todo = {f[:-5] for f in os.listdir(HERE) if f.endswith(".pkt.todo")}
    bad = []
    for fname, text in sorted(scripts.items()):
        path = os.path.join(HERE, fname)
        if fname in todo:
            continue  # left out of the run: its .todo says why
        if check:
            try:
                with open(path) as f:
                    if f.read() != text:
                        bad.append(fname)
            except FileNotFoundError:
                bad.append(fname)
        else:
            with open(path, "w") as f:
                f.write(text)
    if check:
        stale = sorted(f for f in os.listdir(HERE) if f.endswith(".pkt") and f not in scripts)
        for f in bad:
            print(f"gen.py --check: {f} differs from the generator's output")
        for f in stale:
            print(f"gen.py --check: {f} is not generated (remove it, or add it to gen.py)")
        return 1 if bad or stale else 0
    print(f"gen.py: {len(scripts) - len(todo & set(scripts))} scripts written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
