/* The fuzz harness shared by the libFuzzer target (fuzz_input.c) and the
 * deterministic in-CI test (test_fuzz_states.c): one stack (the target) and a
 * hand-driven peer that exists only as the packets we build.
 *
 * fz_setup() drives the target into one of ten states with real segments,
 * with the TCP options an option byte chooses (FZ_OPT_*: what the peer's SYN
 * offers and what the target's configuration allows); once negotiated, the
 * peer's segments carry timestamps (TSval from its own clock, TSecr echoing
 * the target's last TSval). fz_input() feeds it one packet and checks the
 * invariants after it; fz_record() decodes one record of fuzz_input's input
 * format, fz_opt_record() one of fuzz_options' (docs/fuzzing.md).
 *
 * It reaches into the engine (stack_impl.h) for two things only: the
 * connection's sequence variables, so that packets can aim at the window edges,
 * and the internal invariants it checks after every packet. A broken invariant
 * calls FZ_FAIL, which aborts unless the includer defines it. */
#ifndef GT_FUZZ_HARNESS_H
#define GT_FUZZ_HARNESS_H

#include "glasstcp/glasstcp.h"
#include "stack/stack_impl.h"
#include "tcp/seq.h"
#include "wire/wire.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FZ_FAIL
#define FZ_FAIL(...)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "fuzz invariant broken: " __VA_ARGS__);                            \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)
#endif

#define FZ_FN static __attribute__((unused))

#define FZ_TARGET_ADDR 0xC0000201u /* 192.0.2.1 */
#define FZ_PEER_ADDR   0xC0000209u /* 192.0.2.9 */
#define FZ_PORT        80
#define FZ_PEER_PORT   40000
#define FZ_MAX_CONNS   8
#define FZ_MAX_PKT     2047 /* a record's length field has 11 bits */

/* The state selector: the first byte of a fuzzer input. */
enum {
	FZ_SEL_STATE = 0x0f,  /* state index (mod 10), see fz_states */
	FZ_SEL_ORPHAN = 0x10, /* close() instead of shutdown(SHUT_WR): no socket left */
	FZ_SEL_DATA = 0x20,   /* data in flight both ways when the state is reached */
	FZ_SEL_ACTIVE = 0x40, /* reach ESTABLISHED by connect() (SYN_RECEIVED: simultaneous open) */
	FZ_SEL_EDGE = 0x80,   /* ISNs just below 2^32, small buffers, MSS 64, no delayed ACK */
};
#define FZ_NSTATES 10
/* The option byte: the second byte of a fuzzer input. 0 is an MSS-only SYN
 * against the default configuration (which offers and accepts everything). */
enum {
	FZ_OPT_SACK = 0x01,    /* the peer offers SACK-permitted (RFC 2018) */
	FZ_OPT_TS = 0x02,      /* the peer offers timestamps (RFC 7323) */
	FZ_OPT_WS = 0x04,      /* the peer offers window scaling (RFC 7323) */
	FZ_OPT_NO_MSS = 0x08,  /* the peer's SYN has no MSS option (RFC 9293: 536) */
	FZ_OPT_NO_SACK = 0x10, /* the target's config: sack = false */
	FZ_OPT_NO_TS = 0x20,   /* the target's config: timestamps = false */
	FZ_OPT_NO_WS = 0x40,   /* the target's config: window_scaling = false */
	FZ_OPT_BIG = 0x80, /* peer shift 14, target rcvbuf_max 1 MiB (shift 4), FreeBSD layout */
};
static const gt_tcp_state fz_states[FZ_NSTATES] = {
    GT_TCP_LISTEN,     GT_TCP_SYN_SENT,   GT_TCP_SYN_RECEIVED, GT_TCP_ESTABLISHED,
    GT_TCP_FIN_WAIT_1, GT_TCP_FIN_WAIT_2, GT_TCP_CLOSE_WAIT,   GT_TCP_CLOSING,
    GT_TCP_LAST_ACK,   GT_TCP_TIME_WAIT,
};

/* A record: a big-endian 16-bit header, then len bytes of packet. */
enum {
	FZ_REC_FIX = 0x8000,  /* fix IPv4 version, total length, protocol, addresses, checksums */
	FZ_REC_REL = 0x4000,  /* ports := the connection's; seq += RCV.NXT; ack += SND.UNA */
	FZ_REC_TIME = 0x3800, /* then advance the clock by fz_time_steps[(hdr >> 11) & 7] */
	FZ_REC_LEN = 0x07ff,  /* packet length; 0 = an application call (FIX/REL bits pick it) */
};
static const gt_time_us fz_time_steps[8] = {100,    1000,    10000,    50000,
                                            200000, 1000000, 10000000, 120000000};

typedef struct fz_ctx {
	gt_stack *st;
	gt_stack_config cfg;
	gt_time_us now;
	uint8_t sel;
	gt_tcp_state want;
	int lsock, sock;
	gt_conn_tuple conn; /* the target's view: local = target */
	uint32_t iss, peer_iss, peer_nxt;
	uint8_t opt;                /* the option byte (FZ_OPT_*) */
	bool ts_ok, sack_ok, ws_ok; /* what the handshake agrees on */
	uint8_t peer_wscale;        /* the shift the peer offers */
	uint32_t peer_ts_base;      /* the peer's TSval is this + now in ms */
	uint32_t out_tsval;         /* the target's last TSval: the peer's TSecr */

	/* what the target sent */
	uint64_t out_pkts;
	uint64_t out_ts, out_sack; /* of them with TSopt, with SACK blocks */
	bool have_out;
	uint8_t out_flags;
	uint32_t out_seq, out_ack, out_len;

	uint64_t events[5];
	uint64_t syn_received; /* transitions into SYN_RECEIVED */
	uint64_t tw_ended;     /* transitions out of TIME_WAIT */
	uint64_t fed;          /* packets given to gt_stack_input */
	bool trace;            /* GT_FUZZ_TRACE set: every event to stderr as JSON Lines */

	uint8_t pkt[FZ_MAX_PKT + 64];
	uint8_t rbuf[16384];
} fz_ctx;

/* ---- callbacks ---- */

static void fz_on_output(void *user, const uint8_t *pkt, size_t len)
{
	fz_ctx *c = user;
	gt_segment seg;
	/* everything the stack sends is well formed and from its own address */
	gt_drop_reason why = gt_wire_parse(pkt, len, &seg);
	if (why != GT_DROP_NONE)
		FZ_FAIL("the stack sent a packet that does not parse: %s",
		        gt_drop_reason_name(why));
	if (seg.src_addr != c->cfg.local_addr)
		FZ_FAIL("the stack sent from 0x%08x", seg.src_addr);
	if ((seg.flags & GT_TCP_SYN) && (seg.flags & (GT_TCP_RST | GT_TCP_FIN)))
		FZ_FAIL("the stack sent flags 0x%02x", seg.flags);
	/* MSS, window scale and SACK-permitted only ever ride on a SYN (RFC
	 * 9293 §3.7.1, RFC 7323 §2.2, RFC 2018 §2) */
	if (!(seg.flags & GT_TCP_SYN) &&
	    (seg.opts.has_mss || seg.opts.has_wscale || seg.opts.sack_permitted))
		FZ_FAIL("SYN-only option on a segment with flags 0x%02x", seg.flags);
	gt_tcb *t = gt_stack_lookup(c->st, seg.src_addr, seg.src_port, seg.dst_addr, seg.dst_port);
	if (t && !(seg.flags & GT_TCP_SYN)) {
		/* RFC 7323 §3.2: once agreed, TSopt MUST be in every non-RST
		 * segment (an RST SHOULD carry it); never if not agreed */
		bool rst = seg.flags & GT_TCP_RST;
		if (seg.opts.has_ts ? !t->ts_ok : t->ts_ok && !rst)
			FZ_FAIL("%s segment (flags 0x%02x) with TSopt %d, timestamps agreed %d",
			        gt_tcp_state_name(t->state), seg.flags, seg.opts.has_ts, t->ts_ok);
		/* RFC 2018 §2: SACK blocks only after SACK-permitted both ways */
		if (seg.opts.sack_count && !t->sack_ok)
			FZ_FAIL("SACK blocks without SACK-permitted");
	}
	if (seg.opts.has_ts) {
		c->out_tsval = seg.opts.ts_val;
		c->out_ts++;
	}
	c->out_sack += seg.opts.sack_count > 0;
	c->out_pkts++;
	c->have_out = true;
	c->out_flags = seg.flags;
	c->out_seq = seg.seq;
	c->out_ack = seg.ack;
	c->out_len = seg.payload_len;
}

static void fz_on_event(void *user, const gt_event *ev)
{
	fz_ctx *c = user;
	if (c->trace)
		gt_trace_jsonl_write(stderr, ev);
	if ((unsigned)ev->kind > GT_EV_SOCKET)
		FZ_FAIL("event kind %d", (int)ev->kind);
	c->events[ev->kind]++;
	switch (ev->kind) {
	case GT_EV_STATE:
		if ((unsigned)ev->from >= GT_TCP_STATE_COUNT ||
		    (unsigned)ev->to >= GT_TCP_STATE_COUNT || ev->from == ev->to || !ev->cause)
			FZ_FAIL("state event %d -> %d", (int)ev->from, (int)ev->to);
		if (ev->to == GT_TCP_SYN_RECEIVED)
			c->syn_received++;
		if (ev->from == GT_TCP_TIME_WAIT)
			c->tw_ended++;
		break;
	case GT_EV_DROP:
		if (ev->reason <= GT_DROP_NONE || ev->reason >= GT_DROP_REASON_COUNT ||
		    !gt_drop_reason_name(ev->reason))
			FZ_FAIL("drop event with reason %d", (int)ev->reason);
		break;
	default:
		break;
	}
}

static uint32_t fz_isn(void *user, const gt_conn_tuple *conn, gt_time_us now)
{
	const fz_ctx *c = user;
	(void)conn;
	(void)now;
	return c->iss;
}

/* ---- packets ---- */

static inline uint32_t fz_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void fz_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void fz_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Recomputes the IPv4 header checksum and the TCP checksum (over what the
 * total length claims, or the whole buffer when that is out of range) so the
 * packet gets past the wire checks it is otherwise valid for. */
FZ_FN void fz_fix_checksums(uint8_t *p, size_t len)
{
	if (len < GT_IPV4_HDR_LEN)
		return;
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	if (ihl < GT_IPV4_HDR_LEN || ihl > len)
		return;
	p[10] = p[11] = 0;
	fz_put16(p + 10, (uint16_t)~gt_csum_fold(gt_csum_add(0, p, ihl)));
	size_t total = (size_t)p[2] << 8 | p[3];
	if (total < ihl || total > len)
		total = len;
	size_t tl = total - ihl;
	if (tl < 18)
		return;
	uint8_t *t = p + ihl;
	t[16] = t[17] = 0;
	uint32_t src = fz_be32(p + 12), dst = fz_be32(p + 16);
	uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
	               GT_IP_PROTO_TCP + (uint32_t)tl;
	fz_put16(t + 16, (uint16_t)~gt_csum_fold(gt_csum_add(sum, t, tl)));
}

/* The connection's TCB, if it still exists. */
FZ_FN gt_tcb *fz_tcb(fz_ctx *c)
{
	return gt_stack_lookup(c->st, c->conn.local_addr, c->conn.local_port, c->conn.remote_addr,
	                       c->conn.remote_port);
}

/* What the target expects next from the peer, and what it last had acknowledged. */
FZ_FN uint32_t fz_rcv_nxt(fz_ctx *c)
{
	gt_tcb *t = fz_tcb(c);
	return t && t->state != GT_TCP_SYN_SENT ? t->rcv_nxt : c->peer_nxt;
}
FZ_FN uint32_t fz_snd_una(fz_ctx *c)
{
	gt_tcb *t = fz_tcb(c);
	return t ? t->snd_una : c->iss;
}

/* Builds a valid packet from the peer to the target into c->pkt; returns its length. */
FZ_FN size_t fz_build(fz_ctx *c, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd,
                      const gt_tcp_opts *opts, const uint8_t *data, uint32_t n)
{
	gt_segment h = {.src_addr = c->conn.remote_addr,
	                .dst_addr = c->conn.local_addr,
	                .src_port = c->conn.remote_port,
	                .dst_port = c->conn.local_port,
	                .seq = seq,
	                .ack = ack,
	                .flags = flags,
	                .wnd = wnd};
	if (opts)
		h.opts = *opts;
	if (n > FZ_MAX_PKT - GT_IPV4_HDR_LEN - GT_TCP_HDR_LEN - GT_TCP_MAX_OPT_LEN)
		n = FZ_MAX_PKT - GT_IPV4_HDR_LEN - GT_TCP_HDR_LEN - GT_TCP_MAX_OPT_LEN;
	size_t hl = gt_wire_write_headers(c->pkt, &h, n, 0x4747);
	if (n)
		memcpy(c->pkt + hl, data, n);
	gt_wire_finalize(c->pkt, hl + n);
	return hl + n;
}

/* ---- invariants ---- */

static gt_time_us fz_min_timer(const gt_tcb *t)
{
	gt_time_us d = t->t_rexmit;
	const gt_time_us o[] = {t->t_persist, t->t_delack, t->t_2msl, t->t_fin_wait_2, t->t_user};
	for (size_t i = 0; i < sizeof o / sizeof o[0]; i++)
		d = o[i] < d ? o[i] : d;
	return d;
}

/* The engine's own bookkeeping, at rest between two calls into it. */
FZ_FN void fz_check_stack(fz_ctx *c)
{
	gt_stack *st = c->st;
	size_t n = 0, timed = 0, tw = 0;
	for (const gt_tcb *t = st->all; t; t = t->all_next) {
		n++;
		if ((unsigned)t->state >= GT_TCP_STATE_COUNT)
			FZ_FAIL("TCB in state %d", (int)t->state);
		gt_time_us d = fz_min_timer(t);
		/* a deadline earlier than every timer makes gt_stack_on_deadline
		 * spin; a later one fires a timer late */
		if (t->deadline != d)
			FZ_FAIL("%s TCB deadline %llu but earliest timer %llu",
			        gt_tcp_state_name(t->state), (unsigned long long)t->deadline,
			        (unsigned long long)d);
		if ((t->heap_idx != SIZE_MAX) != (d != GT_TIME_NEVER))
			FZ_FAIL("%s TCB heap membership wrong", gt_tcp_state_name(t->state));
		if (t->heap_idx != SIZE_MAX) {
			timed++;
			if (t->heap_idx >= st->heap_len || st->heap[t->heap_idx] != t)
				FZ_FAIL("TCB heap index wrong");
		}
		if (t->sndbuf.len > t->sndbuf.cap || t->rcvbuf.len > t->rcvbuf.cap)
			FZ_FAIL("buffer length past capacity");
		if (t->reasm.count > t->reasm.max)
			FZ_FAIL("reassembly ranges past the bound");
		if (t->state == GT_TCP_TIME_WAIT)
			tw++;
		if (t->state > GT_TCP_LISTEN &&
		    !(seq_le(t->snd_una, t->snd_nxt) && seq_le(t->snd_nxt, t->snd_max)))
			FZ_FAIL("%s: SND.UNA %u SND.NXT %u snd_max %u out of order",
			        gt_tcp_state_name(t->state), t->snd_una, t->snd_nxt, t->snd_max);
	}
	if (n != st->tcb_count)
		FZ_FAIL("%zu TCBs listed, %zu counted", n, st->tcb_count);
	if (n > c->cfg.max_conns)
		FZ_FAIL("%zu TCBs, max_conns %u", n, c->cfg.max_conns);
	if (gt_stack_conn_count(st) > c->cfg.max_conns)
		FZ_FAIL("conn_count %zu past max_conns", gt_stack_conn_count(st));
	if (timed != st->heap_len)
		FZ_FAIL("%zu TCBs with a timer, heap holds %zu", timed, st->heap_len);
	for (size_t i = 1; i < st->heap_len; i++) {
		if (st->heap[(i - 1) / 2]->deadline > st->heap[i]->deadline)
			FZ_FAIL("timer heap out of order at %zu", i);
	}
	if (tw != st->tw_count)
		FZ_FAIL("%zu TCBs in TIME_WAIT, list holds %zu", tw, st->tw_count);

	const gt_stack_counters *k = gt_stack_get_counters(st);
	uint64_t sum = 0;
	for (int i = 0; i < GT_DROP_REASON_COUNT; i++)
		sum += k->drop[i];
	if (sum != k->drops)
		FZ_FAIL("drops %llu, drop[] sums to %llu", (unsigned long long)k->drops,
		        (unsigned long long)sum);
	if (k->drop[GT_DROP_NONE] || k->drop[GT_DROP_SIM_LOSS] || k->drop[GT_DROP_SIM_FAULT])
		FZ_FAIL("the stack counted a none/sim drop");
}

/* Wire drops: the reasons decided before a packet becomes a segment. */
static uint64_t fz_wire_drops(const gt_stack_counters *k)
{
	uint64_t n = 0;
	for (int i = GT_DROP_TRUNCATED; i <= GT_DROP_BAD_FLAGS; i++)
		n += k->drop[i];
	return n;
}

/* ICMP messages: acted on, or dropped for one of the ICMP reasons. */
static uint64_t fz_icmp_count(const gt_stack_counters *k)
{
	uint64_t n = k->rx_icmp_errors;
	for (int i = GT_DROP_ICMP_BAD; i <= GT_DROP_ICMP_OUT_OF_WINDOW; i++)
		n += k->drop[i];
	return n;
}

/* ---- driving ---- */

/* Runs every timer due by now. */
FZ_FN void fz_run_timers(fz_ctx *c)
{
	fz_check_stack(c); /* a stale deadline would hang the call below */
	if (gt_stack_next_deadline(c->st) <= c->now)
		gt_stack_on_deadline(c->st, c->now);
	if (gt_stack_next_deadline(c->st) <= c->now)
		FZ_FAIL("a timer is still due after gt_stack_on_deadline");
}

/* The application: accept (and close) new connections, read what arrived. */
FZ_FN void fz_app(fz_ctx *c)
{
	if (c->lsock >= 0) {
		for (int i = 0; i < FZ_MAX_CONNS; i++) {
			int a = gt_accept(c->st, c->lsock, NULL, NULL);
			if (a < 0) {
				if (a != -EAGAIN && a != -EINVAL)
					FZ_FAIL("accept: %d", a);
				break;
			}
			if (c->sock < 0 && c->want != GT_TCP_LISTEN) {
				c->sock = a;
				continue;
			}
			if (gt_close(c->st, a, c->now) != 0)
				FZ_FAIL("close of an accepted socket failed");
		}
	}
	if (c->sock >= 0) {
		for (int i = 0; i < 8; i++) {
			int ready = gt_poll(c->st, c->sock);
			if (ready < 0)
				FZ_FAIL("poll of a live socket: %d", ready);
			ssize_t n = gt_recv(c->st, c->sock, c->rbuf, sizeof c->rbuf, c->now);
			/* readable means recv() does not block */
			if ((ready & GT_POLLIN) && n == -EAGAIN)
				FZ_FAIL("poll says readable (0x%x) but recv gives EAGAIN", ready);
			if (n <= 0)
				break;
		}
	}
}

/* Feeds one packet and checks that it was accounted for exactly once. */
FZ_FN void fz_input(fz_ctx *c, const uint8_t *pkt, size_t len)
{
	const gt_stack_counters *k = gt_stack_get_counters(c->st);
	uint64_t rx = k->rx_packets, segs = k->rx_segments, wire = fz_wire_drops(k);
	uint64_t icmp = fz_icmp_count(k);
	uint64_t out = c->out_pkts;
	gt_stack_input(c->st, pkt, len, c->now);
	c->fed++;
	uint64_t d_segs = k->rx_segments - segs, d_wire = fz_wire_drops(k) - wire;
	uint64_t d_icmp = fz_icmp_count(k) - icmp;
	if (k->rx_packets != rx + 1)
		FZ_FAIL("rx_packets moved by %llu", (unsigned long long)(k->rx_packets - rx));
	if (d_segs + d_wire + d_icmp != 1)
		FZ_FAIL("a packet counted as %llu segments, %llu wire drops and %llu ICMP messages",
		        (unsigned long long)d_segs, (unsigned long long)d_wire,
		        (unsigned long long)d_icmp);
	/* one packet never makes a storm: at most a window of minimum-MSS segments */
	if (c->out_pkts - out > c->cfg.sndbuf / 64 + 4)
		FZ_FAIL("one packet made the stack send %llu",
		        (unsigned long long)(c->out_pkts - out));
	fz_check_stack(c);
}

/* Advances the clock, runs the timers and the application (the stack is
 * checked before each call into it and after every packet). */
FZ_FN void fz_advance(fz_ctx *c, gt_time_us dt)
{
	c->now += dt;
	fz_run_timers(c);
	fz_app(c);
	fz_run_timers(c);
}

/* ---- the peer's options ---- */

/* The peer's timestamp clock: 1 ms a tick, from its own base. */
FZ_FN uint32_t fz_peer_ts(const fz_ctx *c)
{
	return c->peer_ts_base + (uint32_t)(c->now / 1000);
}

/* The options of the peer's segments after the handshake: TSopt once agreed. */
FZ_FN void fz_peer_opts(const fz_ctx *c, gt_tcp_opts *o)
{
	memset(o, 0, sizeof *o);
	if (c->ts_ok) {
		o->has_ts = true;
		o->ts_val = fz_peer_ts(c);
		o->ts_ecr = c->out_tsval;
	}
}

/* The peer's SYN (or, answering the target's SYN, its SYN,ACK, which offers
 * only what the target's SYN did: RFC 7323 §2.2, §3.2; RFC 2018 §2). */
FZ_FN void fz_syn_opts(const fz_ctx *c, gt_tcp_opts *o, bool synack)
{
	memset(o, 0, sizeof *o);
	bool edge = c->sel & FZ_SEL_EDGE;
	o->has_mss = !(c->opt & FZ_OPT_NO_MSS);
	o->mss = edge ? 64 : 1460;
	o->sack_permitted = synack ? c->sack_ok : (c->opt & FZ_OPT_SACK) != 0;
	o->has_wscale = synack ? c->ws_ok : (c->opt & FZ_OPT_WS) != 0;
	o->wscale = c->peer_wscale;
	o->has_ts = synack ? c->ts_ok : (c->opt & FZ_OPT_TS) != 0;
	o->ts_val = fz_peer_ts(c);
	o->ts_ecr = synack ? c->out_tsval : 0;
}

/* A valid segment from the peer, then the application runs. Without opts it
 * carries what the peer's segments carry after the handshake. */
FZ_FN void fz_peer_send(fz_ctx *c, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd,
                        const gt_tcp_opts *opts, const uint8_t *data, uint32_t n)
{
	gt_tcp_opts o;
	if (!opts) {
		fz_peer_opts(c, &o);
		opts = &o;
	}
	size_t len = fz_build(c, flags, seq, ack, wnd, opts, data, n);
	fz_input(c, c->pkt, len);
	fz_advance(c, 1000);
}

static void fz_expect(fz_ctx *c, gt_tcp_state s, const char *step)
{
	gt_tcb *t = fz_tcb(c);
	if (!t || t->state != s)
		FZ_FAIL("driving to %s: after %s the connection is %s, not %s",
		        gt_tcp_state_name(c->want), step, t ? gt_tcp_state_name(t->state) : "gone",
		        gt_tcp_state_name(s));
}

/* Closes our side: close() (orphan) or shutdown(SHUT_WR), by the selector. */
static void fz_close_side(fz_ctx *c)
{
	int rc;
	if (c->sel & FZ_SEL_ORPHAN) {
		rc = gt_close(c->st, c->sock, c->now);
		c->sock = -1;
	} else {
		rc = gt_shutdown(c->st, c->sock, GT_SHUT_WR, c->now);
	}
	if (rc != 0)
		FZ_FAIL("close/shutdown: %d", rc);
	fz_run_timers(c);
}

/* The target's configuration, by the selector and the option byte. */
static void fz_config(fz_ctx *c)
{
	bool edge = c->sel & FZ_SEL_EDGE;
	gt_stack_config *cfg = &c->cfg;
	gt_stack_config_default(cfg);
	cfg->name = "target";
	cfg->local_addr = FZ_TARGET_ADDR;
	cfg->output = fz_on_output;
	cfg->output_user = c;
	cfg->on_event = fz_on_event;
	cfg->event_user = c;
	cfg->isn_fn = fz_isn;
	cfg->isn_user = c;
	cfg->max_conns = FZ_MAX_CONNS;
	cfg->reasm_max_ranges = 4;
	cfg->sndbuf = edge ? 1024 : 8192;
	cfg->rcvbuf = edge ? 1024 : 4096;
	cfg->delack_us = edge ? 0 : 40000;
	cfg->msl_us = 1000000;
	cfg->fin_wait_2_timeout_us = 20000000;
	cfg->max_syn_retries = 3;
	cfg->max_retries = 5;
	cfg->sack = !(c->opt & FZ_OPT_NO_SACK);
	cfg->timestamps = !(c->opt & FZ_OPT_NO_TS);
	cfg->window_scaling = !(c->opt & FZ_OPT_NO_WS);
	if (c->opt & FZ_OPT_BIG) {
		cfg->rcvbuf_max = 1u << 20;
		cfg->opt_layout = GT_OPT_LAYOUT_FREEBSD;
	}
	/* what a correct peer and the target agree on */
	c->sack_ok = (c->opt & FZ_OPT_SACK) && cfg->sack;
	c->ts_ok = (c->opt & FZ_OPT_TS) && cfg->timestamps;
	c->ws_ok = (c->opt & FZ_OPT_WS) && cfg->window_scaling;
	c->peer_wscale = (c->opt & FZ_OPT_BIG) ? 14 : 2;
	/* EDGE: the peer's TSval wraps 200 ms into the run */
	c->peer_ts_base = edge ? 0u - (uint32_t)(c->now / 1000) - 200 : 0x30000000u;
}

/* LISTEN, then (by the peer's SYN and ACK) SYN_RECEIVED and ESTABLISHED. */
static bool fz_open_passive(fz_ctx *c, uint16_t wnd)
{
	c->lsock = gt_socket(c->st);
	if (c->lsock < 0 || gt_bind(c->st, c->lsock, 0, FZ_PORT) != 0 ||
	    gt_listen(c->st, c->lsock, 4, c->now) != 0)
		FZ_FAIL("listen");
	if (c->want == GT_TCP_LISTEN)
		return false;
	gt_tcp_opts o;
	fz_syn_opts(c, &o, false);
	fz_peer_send(c, GT_TCP_SYN, c->peer_iss, 0, wnd, &o, NULL, 0);
	c->peer_nxt = c->peer_iss + 1;
	fz_expect(c, GT_TCP_SYN_RECEIVED, "SYN");
	if (c->want == GT_TCP_SYN_RECEIVED)
		return false;
	fz_peer_send(c, GT_TCP_ACK, c->peer_nxt, c->iss + 1, wnd, NULL, NULL, 0);
	fz_expect(c, GT_TCP_ESTABLISHED, "ACK of SYN,ACK");
	if (c->sock < 0)
		FZ_FAIL("nothing to accept");
	return true;
}

/* connect(): SYN_SENT, then SYN_RECEIVED (simultaneous open) or ESTABLISHED. */
static bool fz_open_active(fz_ctx *c, uint16_t wnd)
{
	c->sock = gt_socket(c->st);
	if (c->sock < 0 ||
	    gt_connect(c->st, c->sock, FZ_PEER_ADDR, FZ_PORT, c->now) != -EINPROGRESS)
		FZ_FAIL("connect");
	gt_conn_tuple t;
	if (gt_sock_tuple(c->st, c->sock, &t) != 0)
		FZ_FAIL("tuple");
	c->conn = t;
	fz_expect(c, GT_TCP_SYN_SENT, "connect()");
	if (c->want == GT_TCP_SYN_SENT)
		return false;
	gt_tcp_opts o;
	if (c->want == GT_TCP_SYN_RECEIVED) {
		/* RFC 9293 §3.5 figure 7: simultaneous open */
		fz_syn_opts(c, &o, false);
		fz_peer_send(c, GT_TCP_SYN, c->peer_iss, 0, wnd, &o, NULL, 0);
		c->peer_nxt = c->peer_iss + 1;
		fz_expect(c, GT_TCP_SYN_RECEIVED, "SYN (simultaneous open)");
		return false;
	}
	fz_syn_opts(c, &o, true);
	fz_peer_send(c, GT_TCP_SYN | GT_TCP_ACK, c->peer_iss, c->iss + 1, wnd, &o, NULL, 0);
	c->peer_nxt = c->peer_iss + 1;
	fz_expect(c, GT_TCP_ESTABLISHED, "SYN,ACK");
	return true;
}

/* DATA: unacknowledged data out, some read in. Left in ESTABLISHED, the
 * target also holds out-of-order data (a hole of 100 bytes) and, with SACK,
 * the peer has reported all but the first of its segments (RFC 2018 §4). */
static void fz_setup_data(fz_ctx *c, uint16_t wnd)
{
	uint8_t data[3000];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 31 + 7);
	if (gt_send(c->st, c->sock, data, sizeof data, c->now) <= 0)
		FZ_FAIL("send");
	fz_advance(c, 1000);
	fz_peer_send(c, GT_TCP_ACK | GT_TCP_PSH, c->peer_nxt, fz_snd_una(c), wnd, NULL, data, 100);
	c->peer_nxt += 100;
	fz_expect(c, GT_TCP_ESTABLISHED, "data");
	if (c->want != GT_TCP_ESTABLISHED)
		return;
	fz_peer_send(c, GT_TCP_ACK | GT_TCP_PSH, c->peer_nxt + 100, fz_snd_una(c), wnd, NULL,
	             data + 200, 100);
	fz_expect(c, GT_TCP_ESTABLISHED, "out-of-order data");
	gt_tcb *t = fz_tcb(c);
	if (c->sack_ok && t->snd_max - t->snd_una > t->snd_mss) {
		gt_tcp_opts o;
		fz_peer_opts(c, &o);
		o.sack_count = 1;
		o.sack[0].left = t->snd_una + t->snd_mss;
		o.sack[0].right = t->snd_max;
		fz_peer_send(c, GT_TCP_ACK, c->peer_nxt, t->snd_una, wnd, &o, NULL, 0);
		fz_expect(c, GT_TCP_ESTABLISHED, "SACK");
	}
}

/* From ESTABLISHED to the closing state wanted. */
static void fz_setup_close(fz_ctx *c, uint16_t wnd)
{
	if (c->want == GT_TCP_CLOSE_WAIT || c->want == GT_TCP_LAST_ACK) {
		fz_peer_send(c, GT_TCP_FIN | GT_TCP_ACK, c->peer_nxt, fz_snd_una(c), wnd, NULL,
		             NULL, 0);
		c->peer_nxt++;
		fz_expect(c, GT_TCP_CLOSE_WAIT, "FIN");
		if (c->want == GT_TCP_CLOSE_WAIT)
			return;
		fz_close_side(c);
		fz_expect(c, GT_TCP_LAST_ACK, "close()");
		return;
	}
	/* FIN_WAIT_1, FIN_WAIT_2, CLOSING, TIME_WAIT */
	fz_close_side(c);
	fz_expect(c, GT_TCP_FIN_WAIT_1, "close()");
	if (c->want == GT_TCP_FIN_WAIT_1)
		return;
	if (c->want == GT_TCP_CLOSING) {
		/* our FIN crosses theirs: their FIN does not acknowledge ours */
		fz_peer_send(c, GT_TCP_FIN | GT_TCP_ACK, c->peer_nxt, fz_snd_una(c), wnd, NULL,
		             NULL, 0);
		c->peer_nxt++;
		fz_expect(c, GT_TCP_CLOSING, "FIN");
		return;
	}
	/* acknowledge everything sent until the FIN is (it may wait behind data) */
	for (int i = 0; i < 64; i++) {
		gt_tcb *t = fz_tcb(c);
		if (!t || t->state != GT_TCP_FIN_WAIT_1)
			break;
		fz_peer_send(c, GT_TCP_ACK, c->peer_nxt, t->snd_max, wnd, NULL, NULL, 0);
	}
	fz_expect(c, GT_TCP_FIN_WAIT_2, "ACK of FIN");
	if (c->want == GT_TCP_FIN_WAIT_2)
		return;
	fz_peer_send(c, GT_TCP_FIN | GT_TCP_ACK, c->peer_nxt, fz_tcb(c)->snd_max, wnd, NULL, NULL,
	             0);
	c->peer_nxt++;
	fz_expect(c, GT_TCP_TIME_WAIT, "FIN");
}

/* Creates the target and drives it into the state the selector names, with
 * the options the option byte chooses. */
FZ_FN void fz_setup_opts(fz_ctx *c, uint8_t sel, uint8_t opt)
{
	memset(c, 0, sizeof *c);
	c->sel = sel;
	c->opt = opt;
	c->want = fz_states[(sel & FZ_SEL_STATE) % FZ_NSTATES];
	c->lsock = c->sock = -1;
	c->now = 1000000;
	c->trace = getenv("GT_FUZZ_TRACE") != NULL;
	bool edge = sel & FZ_SEL_EDGE;
	bool active = (sel & FZ_SEL_ACTIVE) || c->want == GT_TCP_SYN_SENT;
	if (c->want == GT_TCP_LISTEN)
		active = false;
	/* near the wrap, so that window edges straddle 2^32 */
	c->iss = edge ? 0xfffffff0u : 0x10000000u;
	c->peer_iss = edge ? 0xffffffe0u : 0x20000000u;
	c->peer_nxt = c->peer_iss;
	fz_config(c);
	if (gt_stack_create(&c->cfg, &c->st) != 0)
		FZ_FAIL("gt_stack_create");
	c->conn = (gt_conn_tuple){.local_addr = FZ_TARGET_ADDR,
	                          .remote_addr = FZ_PEER_ADDR,
	                          .local_port = FZ_PORT,
	                          .remote_port = FZ_PEER_PORT};
	const uint16_t wnd = edge ? 512 : 8192;
	if (!(active ? fz_open_active(c, wnd) : fz_open_passive(c, wnd)))
		return;
	if (sel & FZ_SEL_DATA)
		fz_setup_data(c, wnd);
	if (c->want != GT_TCP_ESTABLISHED)
		fz_setup_close(c, wnd);
}

/* The same with an MSS-only SYN and the default configuration. */
FZ_FN void fz_setup(fz_ctx *c, uint8_t sel)
{
	fz_setup_opts(c, sel, 0);
}

/* Frees the target; LeakSanitizer checks at exit that nothing is left. */
FZ_FN void fz_teardown(fz_ctx *c)
{
	fz_check_stack(c);
	gt_stack_destroy(c->st);
	c->st = NULL;
}

/* An application call, chosen by a zero-length record. */
FZ_FN void fz_app_call(fz_ctx *c, unsigned op)
{
	int rc = 0;
	switch (op & 3) {
	case 1:
		if (c->sock >= 0) {
			if (gt_send(c->st, c->sock, c->rbuf, 1500, c->now) == 0)
				FZ_FAIL("send of 1500 bytes returned 0");
		}
		break;
	case 2:
		if (c->sock >= 0)
			rc = gt_shutdown(c->st, c->sock, GT_SHUT_WR, c->now);
		break;
	case 3:
		if (c->sock >= 0) {
			rc = gt_close(c->st, c->sock, c->now);
			c->sock = -1;
		} else if (c->lsock >= 0) {
			rc = gt_close(c->st, c->lsock, c->now);
			c->lsock = -1;
		}
		if (rc != 0)
			FZ_FAIL("close: %d", rc);
		break;
	default:
		break;
	}
	if (rc != 0 && rc != -ENOTCONN)
		FZ_FAIL("application call %u: %d", op & 3, rc);
	fz_run_timers(c);
}

/* REL for options: in a TSopt, TSval += the peer's clock and TSecr += the
 * target's last TSval; in SACK blocks, the edges += SND.UNA. So a fuzzer's
 * option bytes of small numbers stay plausible however the run goes. */
FZ_FN void fz_rel_options(fz_ctx *c, uint8_t *o, size_t len)
{
	uint32_t una = fz_snd_una(c);
	for (size_t i = 0; i < len;) {
		if (o[i] == 0) /* EOL */
			break;
		if (o[i] == 1) { /* NOP */
			i++;
			continue;
		}
		size_t n = i + 1 < len ? o[i + 1] : 0;
		if (n < 2 || n > len - i)
			break;
		if (o[i] == 8 && n == 10) {
			fz_put32(o + i + 2, fz_be32(o + i + 2) + fz_peer_ts(c));
			fz_put32(o + i + 6, fz_be32(o + i + 6) + c->out_tsval);
		} else if (o[i] == 5) {
			for (size_t k = i + 2; k + 4 <= i + n; k += 4)
				fz_put32(o + k, fz_be32(o + k) + una);
		}
		i += n;
	}
}

/* One record of the fuzzer's input: hdr and the len packet bytes after it. */
FZ_FN void fz_record(fz_ctx *c, uint16_t hdr, const uint8_t *data, size_t len)
{
	if (len == 0) {
		fz_app_call(c, hdr >> 14);
	} else {
		if (len > FZ_MAX_PKT)
			len = FZ_MAX_PKT;
		uint8_t *p = c->pkt;
		memcpy(p, data, len);
		size_t ihl = len >= GT_IPV4_HDR_LEN ? (size_t)(p[0] & 0x0f) * 4 : 0;
		if ((hdr & FZ_REC_REL) && ihl >= GT_IPV4_HDR_LEN && ihl + GT_TCP_HDR_LEN <= len) {
			uint8_t *t = p + ihl;
			fz_put16(t, c->conn.remote_port);
			fz_put16(t + 2, c->conn.local_port);
			fz_put32(t + 4, fz_be32(t + 4) + fz_rcv_nxt(c));
			fz_put32(t + 8, fz_be32(t + 8) + fz_snd_una(c));
			size_t doff = (size_t)(t[12] >> 4) * 4;
			if (doff > GT_TCP_HDR_LEN && ihl + doff <= len)
				fz_rel_options(c, t + GT_TCP_HDR_LEN, doff - GT_TCP_HDR_LEN);
		}
		if ((hdr & FZ_REC_FIX) && len >= GT_IPV4_HDR_LEN) {
			p[0] = (uint8_t)(0x40 | (p[0] & 0x0f));
			fz_put16(p + 2, (uint16_t)len);
			fz_put16(p + 6, 0x4000); /* DF, not a fragment */
			p[9] = GT_IP_PROTO_TCP;
			fz_put32(p + 12, c->conn.remote_addr);
			fz_put32(p + 16, c->conn.local_addr);
			fz_fix_checksums(p, len);
		}
		fz_input(c, p, len);
	}
	fz_advance(c, fz_time_steps[(hdr & FZ_REC_TIME) >> 11]);
}

/* A whole fuzz_input input: selector byte, option byte, then records. */
FZ_FN void fz_run_input(const uint8_t *data, size_t size)
{
	if (size < 2)
		return;
	fz_ctx *c = malloc(sizeof *c);
	if (!c)
		return;
	fz_setup_opts(c, data[0], data[1]);
	size_t i = 2;
	for (unsigned n = 0; i + 2 <= size && n < 512; n++) {
		uint16_t hdr = (uint16_t)(data[i] << 8 | data[i + 1]);
		i += 2;
		size_t len = hdr & FZ_REC_LEN;
		if (len > size - i)
			len = size - i;
		fz_record(c, hdr, data + i, len);
		i += len;
	}
	fz_teardown(c);
	free(c);
}

/* ---- fuzz_options: options and flags inside valid headers ---- */

/* fuzz_options' first byte: the scenario. LISTEN, SYN_SENT, or ESTABLISHED
 * with data in flight both ways and out-of-order data queued (FZ_SEL_DATA);
 * ACTIVE and EDGE as in the selector. */
static const uint8_t fz_opt_scenarios[3] = {0, 1, 3 | FZ_SEL_DATA};
FZ_FN uint8_t fz_opt_selector(uint8_t b)
{
	return (uint8_t)(fz_opt_scenarios[(b & 0x0f) % 3] | (b & (FZ_SEL_ACTIVE | FZ_SEL_EDGE)));
}

/* A record of fuzz_options (docs/fuzzing.md):
 *   [0] TCP flags, as they are
 *   [1] bits 0-2 seq, 3-5 ack (picked near the connection's edges),
 *       6 REL: option values relative (fz_rel_options), 7 unused
 *   [2] bits 0-2 window, 3-5 clock step, 6-7 payload length
 *   [3] bits 0-5 option length (at most 40), 6-7 an application call after it
 *   then the option bytes, zero-padded (EOL) to a multiple of 4.
 * The IPv4 and TCP headers around them are valid, their checksums right.
 * Returns the bytes used, 0 when fewer than 4 are left. */
#define FZ_OPT_REC_HDR    4
#define FZ_PAWS_IDLE_STEP (25ull * 24 * 3600 * 1000000)
FZ_FN size_t fz_opt_record(fz_ctx *c, const uint8_t *r, size_t left)
{
	if (left < FZ_OPT_REC_HDR)
		return 0;
	size_t olen = r[3] & 0x3f;
	olen = olen > GT_TCP_MAX_OPT_LEN ? GT_TCP_MAX_OPT_LEN : olen;
	olen = olen > left - FZ_OPT_REC_HDR ? left - FZ_OPT_REC_HDR : olen;
	gt_tcb *t = fz_tcb(c);
	uint32_t nxt = fz_rcv_nxt(c), una = fz_snd_una(c);
	uint32_t snxt = t ? t->snd_nxt : c->iss + 1, smax = t ? t->snd_max : c->iss + 1;
	uint32_t rwnd = t && seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
	uint32_t mss = t && t->snd_mss ? t->snd_mss : 536;
	const uint32_t seqs[8] = {nxt,       nxt + 100,  nxt + 1000,  nxt - 1,
	                          nxt - 100, nxt + rwnd, c->peer_iss, nxt + 0x40000000u};
	const uint32_t acks[8] = {una, snxt, smax, una + mss, una - 1, smax + 1, c->iss + 1, 0};
	static const uint16_t wnds[8] = {8192, 0, 1, 65535, 512, 4096, 1460, 100};
	static const uint32_t lens[4] = {0, 1, 100, 1000};
	size_t olen4 = (olen + 3) & ~(size_t)3;
	uint32_t n = lens[r[2] >> 6];
	size_t total = GT_IPV4_HDR_LEN + GT_TCP_HDR_LEN + olen4 + n;
	uint8_t *p = c->pkt;
	memset(p, 0, total);
	p[0] = 0x45;
	fz_put16(p + 2, (uint16_t)total);
	fz_put16(p + 4, 0x4747);
	fz_put16(p + 6, 0x4000); /* DF */
	p[8] = 64;
	p[9] = GT_IP_PROTO_TCP;
	fz_put32(p + 12, c->conn.remote_addr);
	fz_put32(p + 16, c->conn.local_addr);
	uint8_t *h = p + GT_IPV4_HDR_LEN;
	fz_put16(h, c->conn.remote_port);
	fz_put16(h + 2, c->conn.local_port);
	fz_put32(h + 4, seqs[r[1] & 7]);
	fz_put32(h + 8, acks[(r[1] >> 3) & 7]);
	h[12] = (uint8_t)((GT_TCP_HDR_LEN + olen4) / 4 << 4);
	h[13] = r[0];
	fz_put16(h + 14, wnds[r[2] & 7]);
	memcpy(h + GT_TCP_HDR_LEN, r + FZ_OPT_REC_HDR, olen);
	if (r[1] & 0x40)
		fz_rel_options(c, h + GT_TCP_HDR_LEN, olen4);
	for (uint32_t i = 0; i < n; i++)
		h[GT_TCP_HDR_LEN + olen4 + i] = (uint8_t)(i * 13 + 1);
	fz_fix_checksums(p, total);
	fz_input(c, p, total);
	if (r[3] >> 6)
		fz_app_call(c, r[3] >> 6);
	/* the last step is 25 days: past RFC 7323 §5.5's 24 days of idleness,
	 * after which TS.Recent is no longer valid (and TSvals move 2^31) */
	unsigned step = (r[2] >> 3) & 7;
	fz_advance(c, step == 7 ? FZ_PAWS_IDLE_STEP : fz_time_steps[step]);
	return FZ_OPT_REC_HDR + olen;
}

/* A whole fuzz_options input: scenario byte, option byte, then records. */
FZ_FN void fz_opt_run_input(const uint8_t *data, size_t size)
{
	if (size < 2)
		return;
	fz_ctx *c = malloc(sizeof *c);
	if (!c)
		return;
	fz_setup_opts(c, fz_opt_selector(data[0]), data[1]);
	size_t i = 2;
	for (unsigned k = 0; k < 512; k++) {
		size_t used = fz_opt_record(c, data + i, size - i);
		if (!used)
			break;
		i += used;
	}
	fz_teardown(c);
	free(c);
}

#endif
