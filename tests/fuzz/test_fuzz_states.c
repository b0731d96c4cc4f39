/* Deterministic fuzzing, in CI: a stack driven into each of ten states (by real
 * segments, see fuzz_harness.h) is fed hundreds of thousands of packets —
 * random bytes, mutated segments of its connection with the checksums fixed
 * so they reach the state machine, and well-formed segments with random
 * fields aimed at the window edges — while the harness checks the counters and
 * the engine's bookkeeping after every packet. Then a SYN flood against a
 * listener, checking that memory stays bounded.
 *
 *   GT_TEST_SEED=s          another generator seed (default 1)
 *   GT_FUZZ_PACKETS=n       packets per (state, variant) run (default 2500)
 *
 * ASan and UBSan (GT_SANITIZE=ON) abort on any memory or UB error, and
 * LeakSanitizer checks at exit that every destroyed stack freed everything. */
#include "support.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* From the sanitizer runtime when there is one (GCC does not ship the
 * header); weak, so that a build without ASan simply skips the memory bound. */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static char fz_where[160];
#define FZ_FAIL(...)                                                                               \
	do {                                                                                       \
		print_error("%s: ", fz_where);                                                     \
		fail_msg(__VA_ARGS__);                                                             \
	} while (0)
#include "fuzz_harness.h"

/* ---- the generator ---- */

typedef struct gen {
	uint64_t x;
} gen;

static uint64_t rnd(gen *g)
{
	uint64_t z = (g->x += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static uint32_t below(gen *g, uint32_t n)
{
	return n ? (uint32_t)(rnd(g) % n) : 0;
}

static bool chance(gen *g, unsigned pct)
{
	return below(g, 100) < pct;
}

static void fill(gen *g, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd(g);
}

/* A sequence number near an edge of what the target would accept. */
static uint32_t edge_seq(fz_ctx *c, gen *g)
{
	gt_tcb *t = fz_tcb(c);
	uint32_t nxt = fz_rcv_nxt(c);
	uint32_t wnd = t && seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
	uint32_t irs = t ? t->irs : c->peer_iss;
	switch (below(g, 12)) {
	case 0:
		return nxt;
	case 1:
		return nxt - 1;
	case 2:
		return nxt + 1;
	case 3:
		return nxt + wnd - 1;
	case 4:
		return nxt + wnd;
	case 5:
		return nxt + wnd + 1;
	case 6:
		return nxt + 0x80000000u;
	case 7:
		return irs;
	case 8:
		return irs + 1;
	case 9:
		return nxt + below(g, wnd + 1);
	case 10:
		return nxt - below(g, 70000);
	default:
		return (uint32_t)rnd(g);
	}
}

/* An acknowledgment number near an edge of what the target has sent. */
static uint32_t edge_ack(fz_ctx *c, gen *g)
{
	gt_tcb *t = fz_tcb(c);
	uint32_t una = t ? t->snd_una : c->iss, nxt = t ? t->snd_nxt : c->iss + 1;
	uint32_t max = t ? t->snd_max : c->iss + 1, mw = t ? t->max_snd_wnd : 0;
	switch (below(g, 12)) {
	case 0:
		return una;
	case 1:
		return una - 1;
	case 2:
		return una + 1;
	case 3:
		return nxt;
	case 4:
		return max;
	case 5:
		return max + 1;
	case 6:
		return una - mw;
	case 7:
		return una - mw - 1;
	case 8:
		return c->iss;
	case 9:
		return c->iss + 1;
	case 10:
		return una + below(g, max - una + 1);
	default:
		return (uint32_t)rnd(g);
	}
}

static void random_opts(gen *g, gt_tcp_opts *o)
{
	memset(o, 0, sizeof *o);
	if (chance(g, 30)) {
		o->has_mss = true;
		o->mss = chance(g, 50) ? (uint16_t)rnd(g) : (uint16_t)below(g, 100);
	}
	if (chance(g, 10)) {
		o->has_wscale = true;
		o->wscale = (uint8_t)below(g, 20);
	}
	if (chance(g, 10))
		o->sack_permitted = true;
	if (chance(g, 15)) {
		o->has_ts = true;
		o->ts_val = (uint32_t)rnd(g);
		o->ts_ecr = (uint32_t)rnd(g);
	}
	if (chance(g, 10)) {
		o->sack_count = (uint8_t)(1 + below(g, 4));
		for (int i = 0; i < o->sack_count; i++) {
			o->sack[i].left = (uint32_t)rnd(g);
			o->sack[i].right = (uint32_t)rnd(g);
		}
	}
}

/* The options of the peer's segments once the handshake agreed on some: its
 * TSopt (now and then an old TSval, for PAWS, or none at all) and SACK
 * blocks within what the target sent (now and then one below SND.UNA: a
 * D-SACK, RFC 2883). */
static void peer_opts(fz_ctx *c, gen *g, gt_tcp_opts *o)
{
	fz_peer_opts(c, o);
	if (o->has_ts) {
		if (chance(g, 5))
			o->ts_val -= 1 + below(g, 100000);
		if (chance(g, 5))
			o->ts_ecr = (uint32_t)rnd(g);
		if (chance(g, 3))
			o->has_ts = false;
	}
	gt_tcb *t = fz_tcb(c);
	if (!c->sack_ok || !t || !seq_gt(t->snd_max, t->snd_una) || !chance(g, 40))
		return;
	uint32_t una = t->snd_una, span = t->snd_max - t->snd_una;
	o->sack_count = (uint8_t)(1 + below(g, o->has_ts ? 3 : 4));
	for (int i = 0; i < o->sack_count; i++) {
		uint32_t left = una + below(g, span);
		o->sack[i].left = left;
		o->sack[i].right = left + 1 + below(g, una + span - left);
		if (chance(g, 10)) {
			o->sack[i].left = una - 1 - below(g, 3000);
			o->sack[i].right = o->sack[i].left + 1 + below(g, 1460);
		}
	}
}

/* A segment's options: the peer's (when options were agreed, mostly), random
 * ones, or none. */
static const gt_tcp_opts *pick_opts(fz_ctx *c, gen *g, gt_tcp_opts *o)
{
	if ((c->ts_ok || c->sack_ok) && chance(g, 85)) {
		peer_opts(c, g, o);
		return o;
	}
	random_opts(g, o);
	return chance(g, 40) ? o : NULL;
}

static const uint8_t typical_flags[] = {
    GT_TCP_ACK,
    GT_TCP_ACK,
    GT_TCP_ACK,
    GT_TCP_ACK | GT_TCP_PSH,
    GT_TCP_ACK | GT_TCP_PSH,
    GT_TCP_ACK | GT_TCP_FIN,
    GT_TCP_ACK | GT_TCP_PSH | GT_TCP_FIN,
    GT_TCP_SYN,
    GT_TCP_SYN | GT_TCP_ACK,
    GT_TCP_FIN,
    0,
    GT_TCP_ACK | GT_TCP_URG,
    GT_TCP_RST, /* an RST at RCV.NXT ends most states: keep it rare */
    GT_TCP_RST | GT_TCP_ACK,
};

/* A valid segment of the connection, mostly plausible. */
static size_t gen_valid(fz_ctx *c, gen *g)
{
	uint8_t flags = typical_flags[below(g, sizeof typical_flags - (chance(g, 80) ? 2 : 0))];
	uint32_t seq = chance(g, 60) ? fz_rcv_nxt(c) : edge_seq(c, g);
	gt_tcb *t = fz_tcb(c);
	uint32_t ack = chance(g, 60) ? (t ? t->snd_max : c->iss + 1) : edge_ack(c, g);
	static const uint16_t wnds[] = {8192, 8192, 8192, 0, 1, 512, 65535};
	uint16_t wnd =
	    chance(g, 90) ? wnds[below(g, sizeof wnds / sizeof wnds[0])] : (uint16_t)rnd(g);
	gt_tcp_opts o;
	const gt_tcp_opts *opts = pick_opts(c, g, &o);
	uint8_t data[1500];
	uint32_t n = chance(g, 50) ? 0 : below(g, chance(g, 80) ? 300 : 1500);
	fill(g, data, n);
	return fz_build(c, flags, seq, ack, wnd, opts, data, n);
}

/* One to four mutations of the packet in c->pkt; returns the new length. */
static size_t mutate(fz_ctx *c, gen *g, size_t len)
{
	uint8_t *p = c->pkt;
	const size_t cap = FZ_MAX_PKT;
	unsigned k = 1 + below(g, 4);
	for (unsigned m = 0; m < k; m++) {
		size_t ihl = (size_t)(p[0] & 0x0f) * 4;
		bool tcp_ok =
		    len >= GT_IPV4_HDR_LEN && ihl >= GT_IPV4_HDR_LEN && ihl + GT_TCP_HDR_LEN <= len;
		uint8_t *t = p + ihl;
		switch (below(g, 14)) {
		case 0: /* bit flips */
			for (unsigned i = 0, n = 1 + below(g, 3); i < n && len; i++)
				p[below(g, (uint32_t)len)] ^= (uint8_t)(1u << below(g, 8));
			break;
		case 1: /* truncation */
			len = below(g, (uint32_t)len + 1);
			break;
		case 2: /* IPv4 total length */
			fz_put16(p + 2, chance(g, 50) ? (uint16_t)(len + below(g, 9) - 4)
			                              : (uint16_t)rnd(g));
			break;
		case 3: /* IHL */
			p[0] = (uint8_t)((p[0] & 0xf0) | below(g, 16));
			break;
		case 4: /* TCP data offset */
			if (tcp_ok)
				t[12] = (uint8_t)((t[12] & 0x0f) | below(g, 16) << 4);
			break;
		case 5: /* option bytes: a random option area over the start of the payload */
			if (tcp_ok) {
				static const uint8_t kinds[] = {0, 1, 2, 3, 4, 5, 8, 30, 254};
				size_t olen = 4 * (1 + below(g, 10));
				if (ihl + GT_TCP_HDR_LEN + olen > len) {
					size_t want = ihl + GT_TCP_HDR_LEN + olen;
					if (want > cap)
						break;
					memset(p + len, 0, want - len);
					len = want;
					fz_put16(p + 2, (uint16_t)len);
				}
				uint8_t *o = t + GT_TCP_HDR_LEN;
				for (size_t i = 0; i < olen; i++) {
					o[i] = chance(g, 50) ? kinds[below(g, sizeof kinds)]
					                     : (uint8_t)below(g, 16);
				}
				t[12] =
				    (uint8_t)((t[12] & 0x0f) | (GT_TCP_HDR_LEN + olen) / 4 << 4);
			}
			break;
		case 6: /* flags */
			if (tcp_ok)
				t[13] = chance(g, 50)
				            ? (uint8_t)rnd(g)
				            : typical_flags[below(g, sizeof typical_flags)];
			break;
		case 7: /* sequence number at an edge */
			if (tcp_ok)
				fz_put32(t + 4, edge_seq(c, g));
			break;
		case 8: /* acknowledgment number at an edge */
			if (tcp_ok)
				fz_put32(t + 8, edge_ack(c, g));
			break;
		case 9: /* window */
			if (tcp_ok)
				fz_put16(t + 14,
				         chance(g, 50) ? (uint16_t)below(g, 3) : (uint16_t)rnd(g));
			break;
		case 10: /* urgent pointer */
			if (tcp_ok) {
				t[13] |= GT_TCP_URG;
				fz_put16(t + 18, (uint16_t)rnd(g));
			}
			break;
		case 11: /* more payload */
			if (len < cap) {
				size_t add = below(g, (uint32_t)(cap - len) + 1);
				if (add > 1200)
					add = below(g, 1200);
				fill(g, p + len, add);
				len += add;
				fz_put16(p + 2, (uint16_t)len);
			}
			break;
		case 12: /* ports */
			if (tcp_ok) {
				fz_put16(t + (chance(g, 50) ? 0 : 2),
				         chance(g, 20) ? 0 : (uint16_t)rnd(g));
			}
			break;
		default: /* IPv4 fields: fragments, protocol, addresses, version */
			if (len >= GT_IPV4_HDR_LEN) {
				switch (below(g, 5)) {
				case 0:
					fz_put16(p + 6, (uint16_t)rnd(g));
					break;
				case 1:
					p[9] = (uint8_t)(chance(g, 50) ? 17 : rnd(g));
					break;
				case 2: {
					static const uint32_t bad[] = {0, 0xffffffffu, 0xe0000001u,
					                               FZ_TARGET_ADDR};
					fz_put32(p + 12, bad[below(g, 4)]);
					break;
				}
				case 3:
					fz_put32(p + 16, (uint32_t)rnd(g));
					break;
				default:
					p[0] = (uint8_t)((p[0] & 0x0f) | below(g, 16) << 4);
					break;
				}
			}
			break;
		}
	}
	return len;
}

/* One generated packet in c->pkt; returns its length. */
static size_t gen_packet(fz_ctx *c, gen *g)
{
	uint32_t kind = below(g, 100);
	if (kind < 8) { /* random bytes */
		size_t len = below(g, chance(g, 80) ? 80 : FZ_MAX_PKT);
		fill(g, c->pkt, len);
		if (len >= 1 && chance(g, 50))
			c->pkt[0] = 0x45; /* get past the version check at least */
		return len;
	}
	if (kind < 15) { /* a valid IPv4 header around random TCP bytes */
		size_t len = gen_valid(c, g);
		fill(g, c->pkt + GT_IPV4_HDR_LEN, len - GT_IPV4_HDR_LEN);
		c->pkt[GT_IPV4_HDR_LEN + 12] = (uint8_t)((5 + below(g, 3)) << 4);
		if (chance(g, 60))
			fz_fix_checksums(c->pkt, len);
		return len;
	}
	if (kind < 60) { /* a mutated segment of the connection */
		size_t len = mutate(c, g, gen_valid(c, g));
		if (chance(g, 85))
			fz_fix_checksums(c->pkt, len);
		return len;
	}
	if (kind < 85) { /* well formed, random fields */
		gt_tcp_opts o;
		random_opts(g, &o);
		uint8_t data[1500];
		uint32_t n = chance(g, 50) ? 0 : below(g, 1400);
		fill(g, data, n);
		uint32_t seq = chance(g, 70) ? edge_seq(c, g) : (uint32_t)rnd(g);
		uint32_t ack = chance(g, 70) ? edge_ack(c, g) : (uint32_t)rnd(g);
		return fz_build(c, (uint8_t)rnd(g), seq, ack, (uint16_t)rnd(g),
		                chance(g, 50) ? &o : NULL, data, n);
	}
	if (kind < 95) { /* what a correct peer would send next: moves the states on */
		gt_tcb *t = fz_tcb(c);
		uint32_t ack = t ? t->snd_max : c->iss + 1;
		uint8_t data[512];
		uint32_t n = chance(g, 50) ? 0 : below(g, 512);
		fill(g, data, n);
		uint8_t flags = GT_TCP_ACK;
		if (!t || t->state == GT_TCP_LISTEN)
			flags = GT_TCP_SYN;
		else if (t->state == GT_TCP_SYN_SENT)
			flags = GT_TCP_SYN | GT_TCP_ACK;
		else if (chance(g, 20))
			flags |= GT_TCP_FIN;
		else if (chance(g, 3))
			flags = GT_TCP_RST;
		gt_tcp_opts o;
		if (flags & GT_TCP_SYN)
			fz_syn_opts(c, &o, flags & GT_TCP_ACK);
		else
			peer_opts(c, g, &o);
		return fz_build(c, flags, fz_rcv_nxt(c), ack, 8192, &o, data, n);
	}
	/* another connection: a SYN or a segment to a random port */
	gt_conn_tuple saved = c->conn;
	c->conn.remote_port = (uint16_t)(1 + below(g, 65535));
	if (chance(g, 30))
		c->conn.local_port = (uint16_t)(1 + below(g, 65535));
	size_t len = fz_build(c, chance(g, 70) ? GT_TCP_SYN : (uint8_t)rnd(g), (uint32_t)rnd(g),
	                      (uint32_t)rnd(g), 8192, NULL, NULL, 0);
	c->conn = saved;
	return len;
}

/* ---- the state fuzzing test ---- */

typedef struct fz_totals {
	uint64_t packets, segments, runs;
	uint64_t out_ts, out_sack; /* the target's segments with TSopt, with SACK blocks */
	uint64_t drop[GT_DROP_REASON_COUNT];
	/* packets by the state the connection was in when they arrived
	 * (index GT_TCP_STATE_COUNT: the connection was gone) */
	uint64_t in_state[GT_TCP_STATE_COUNT + 1];
} fz_totals;

/* The connection (or, for LISTEN, the listener) the packets aim at. */
static unsigned state_now(fz_ctx *c)
{
	gt_tcb *t = fz_tcb(c);
	if (!t && c->want == GT_TCP_LISTEN && c->lsock >= 0)
		t = gt_stack_sock_tcb(c->st, c->lsock);
	return t ? (unsigned)t->state : GT_TCP_STATE_COUNT;
}

static void add_totals(fz_ctx *c, fz_totals *tot)
{
	const gt_stack_counters *k = gt_stack_get_counters(c->st);
	tot->packets += c->fed;
	tot->out_ts += c->out_ts;
	tot->out_sack += c->out_sack;
	tot->segments += k->rx_segments;
	for (int i = 0; i < GT_DROP_REASON_COUNT; i++)
		tot->drop[i] += k->drop[i];
}

/* A connection soon moves on or dies under random segments (an RST, a FIN,
 * a timeout...). What follows is worth fuzzing too, but only for a while: a
 * fresh connection is driven into the state once the packets have not seen it
 * in that state for DRIFT packets, or after EPOCH packets in any case. */
#define DRIFT 10
#define EPOCH 1000

static void fuzz_one(uint8_t sel, uint8_t opt, uint64_t seed, unsigned packets, fz_totals *tot)
{
	fz_ctx *c = malloc(sizeof *c);
	assert_non_null(c);
	gen g = {.x = seed * 1000003u + sel};
	tot->runs++;
	unsigned age = 0, drift = 0;
	for (unsigned i = 0; i < packets; i++) {
		if (i == 0 || drift > DRIFT || age >= EPOCH) {
			if (i) {
				add_totals(c, tot);
				fz_teardown(c);
			}
			snprintf(fz_where, sizeof fz_where,
			         "setup of selector 0x%02x, options 0x%02x", sel, opt);
			fz_setup_opts(c, sel, opt);
			age = drift = 0;
		}
		age++;
		drift = state_now(c) == (unsigned)c->want ? 0 : drift + 1;
		snprintf(fz_where, sizeof fz_where,
		         "selector 0x%02x (%s), options 0x%02x, seed %" PRIu64 ", packet %u", sel,
		         gt_tcp_state_name(c->want), opt, seed, i);
		size_t len = gen_packet(c, &g);
		tot->in_state[state_now(c)]++;
		fz_input(c, c->pkt, len);
		/* mostly 1 ms; now and then far enough for the RTO, persist,
		 * 2 MSL, FIN_WAIT_2 and SYN timers */
		uint32_t r = below(&g, 1000);
		gt_time_us dt = r < 900   ? 1000
		                : r < 950 ? 20000
		                : r < 980 ? 200000
		                : r < 997 ? 1000000
		                          : 30000000;
		fz_advance(c, dt);
		if (chance(&g, 1)) {
			unsigned op = below(&g, 5);
			if (op < 4) {
				fz_app_call(c, op);
			} else if (c->sock >= 0) {
				/* RFC 9293 §3.10.5 ABORT, which the fuzzer's records lack */
				assert_int_equal(gt_abort(c->st, c->sock, c->now), 0);
				c->sock = -1;
				fz_run_timers(c);
			}
		}
	}
	add_totals(c, tot);
	snprintf(fz_where, sizeof fz_where, "teardown of selector 0x%02x", sel);
	fz_teardown(c);
	free(c);
}

static double wall_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The option bytes the test uses: every combination the peer can offer (none,
 * SACK, timestamps, window scale, all; with and without MSS) and the target's
 * configuration refusing each of them. */
static const uint8_t opt_combos[] = {
    0,
    FZ_OPT_NO_MSS,
    FZ_OPT_SACK,
    FZ_OPT_TS,
    FZ_OPT_WS,
    FZ_OPT_SACK | FZ_OPT_TS,
    FZ_OPT_SACK | FZ_OPT_TS | FZ_OPT_WS,
    FZ_OPT_SACK | FZ_OPT_TS | FZ_OPT_WS | FZ_OPT_BIG,
    FZ_OPT_SACK | FZ_OPT_TS | FZ_OPT_WS | FZ_OPT_NO_SACK,
    FZ_OPT_SACK | FZ_OPT_TS | FZ_OPT_WS | FZ_OPT_NO_TS,
    FZ_OPT_SACK | FZ_OPT_TS | FZ_OPT_WS | FZ_OPT_NO_WS,
    FZ_OPT_SACK | FZ_OPT_TS | FZ_OPT_NO_MSS | FZ_OPT_BIG,
    FZ_OPT_NO_SACK | FZ_OPT_NO_TS | FZ_OPT_NO_WS,
};
#define N_COMBOS (sizeof opt_combos / sizeof opt_combos[0])

/* Every state is reached by each of the 16 variants of the selector (ORPHAN,
 * DATA, ACTIVE, EDGE) with each option combination before the packets start,
 * and the handshake agreed on what both sides offered. */
static void test_reach_every_state(void **state)
{
	(void)state;
	for (unsigned s = 0; s < 256; s++) {
		for (size_t k = 0; k < N_COMBOS; k++) {
			fz_ctx *c = malloc(sizeof *c);
			assert_non_null(c);
			snprintf(fz_where, sizeof fz_where,
			         "setup of selector 0x%02x, options 0x%02x", s, opt_combos[k]);
			fz_setup_opts(c, (uint8_t)s, opt_combos[k]);
			gt_tcb *t = c->want == GT_TCP_LISTEN ? gt_stack_sock_tcb(c->st, c->lsock)
			                                     : fz_tcb(c);
			assert_non_null(t);
			assert_int_equal(t->state, c->want);
			if (t->state > GT_TCP_SYN_SENT) {
				assert_int_equal(t->ts_ok, c->ts_ok);
				assert_int_equal(t->sack_ok, c->sack_ok);
				assert_int_equal(t->ws_ok, c->ws_ok);
				assert_int_equal(t->snd_wscale, c->ws_ok ? c->peer_wscale : 0);
			}
			fz_teardown(c);
			free(c);
		}
	}
}

static void test_fuzz_every_state(void **state)
{
	(void)state;
	uint64_t seed = gt_test_seed(1);
	unsigned packets = 2500;
	const char *env = getenv("GT_FUZZ_PACKETS");
	if (env && *env)
		packets = (unsigned)strtoul(env, NULL, 0);
	fz_totals tot = {0};
	double t0 = wall_seconds();
	for (unsigned idx = 0; idx < FZ_NSTATES; idx++) {
		/* each run its option combination: all of them in every state */
		for (unsigned v = 0; v < 16; v++)
			fuzz_one((uint8_t)(idx | v << 4), opt_combos[(idx + v) % N_COMBOS], seed,
			         packets, &tot);
	}
	double wall = wall_seconds() - t0;

	printf("fuzz: %" PRIu64 " runs, %" PRIu64 " packets, %" PRIu64
	       " past the wire checks, %.2f s wall\n",
	       tot.runs, tot.packets, tot.segments, wall);
	printf("fuzz: the target sent %" PRIu64 " segments with TSopt, %" PRIu64
	       " with SACK blocks\n",
	       tot.out_ts, tot.out_sack);
	printf("fuzz: drops:");
	for (int i = 1; i < GT_DROP_REASON_COUNT; i++) {
		if (tot.drop[i])
			printf(" %s=%" PRIu64, gt_drop_reason_name((gt_drop_reason)i), tot.drop[i]);
	}
	printf("\nfuzz: packets by the connection's state on arrival:");
	for (int i = 0; i <= GT_TCP_STATE_COUNT; i++) {
		if (tot.in_state[i])
			printf(" %s=%" PRIu64,
			       i < GT_TCP_STATE_COUNT ? gt_tcp_state_name((gt_tcp_state)i) : "gone",
			       tot.in_state[i]);
	}
	printf("\n");
	fflush(stdout);

	/* The packets really reached the state machine, in every state and in
	 * every way that matters: a test that only exercised the checksum check
	 * would pass the invariants too. */
	assert_true(tot.segments * 5 > tot.packets * 2);
	/* the options were agreed and used */
	assert_true(tot.out_ts * 20 > tot.packets && tot.out_sack > 0);
	for (unsigned i = 0; i < FZ_NSTATES; i++) {
		if (tot.in_state[fz_states[i]] * 40 < tot.packets)
			fail_msg("only %" PRIu64 " packets reached a connection in %s",
			         tot.in_state[fz_states[i]], gt_tcp_state_name(fz_states[i]));
	}
	static const gt_drop_reason must_see[] = {
	    GT_DROP_TRUNCATED,      GT_DROP_BAD_IP_VERSION, GT_DROP_BAD_IP_CSUM,
	    GT_DROP_BAD_TCP_CSUM,   GT_DROP_BAD_TCP_OFFSET, GT_DROP_BAD_TCP_OPTION,
	    GT_DROP_BAD_FLAGS,      GT_DROP_NO_CONNECTION,  GT_DROP_OUT_OF_WINDOW,
	    GT_DROP_BAD_ACK,        GT_DROP_RST_INVALID,    GT_DROP_RST_CHALLENGED,
	    GT_DROP_SYN_CHALLENGED, GT_DROP_NO_ACK,         GT_DROP_LISTEN_BAD,
	    GT_DROP_DATA_AFTER_FIN, GT_DROP_UNEXPECTED,     GT_DROP_PAWS,
	    GT_DROP_NO_TIMESTAMP,
	};
	for (size_t i = 0; i < sizeof must_see / sizeof must_see[0]; i++) {
		if (!tot.drop[must_see[i]])
			fail_msg("no packet was dropped for %s", gt_drop_reason_name(must_see[i]));
	}
}

/* ---- SYN flood ---- */

static size_t allocated_bytes(void)
{
	return __sanitizer_get_current_allocated_bytes ? __sanitizer_get_current_allocated_bytes()
	                                               : 0;
}

/* 100k SYNs from random addresses and ports against one listener: the TCBs
 * never exceed max_conns, each SYN either makes a child or is answered with
 * a SYN cookie (RFC 4987 §3.6: the queue or the listeners' share is full),
 * and memory stays within max_conns half-open connections. */
static void syn_flood(uint32_t backlog, unsigned syns, uint64_t seed)
{
	fz_ctx *c = malloc(sizeof *c);
	assert_non_null(c);
	snprintf(fz_where, sizeof fz_where, "SYN flood setup");
	fz_setup(c, 0); /* LISTEN */
	/* a bigger stack than the fuzzing one */
	gt_stack_destroy(c->st);
	c->cfg.max_conns = 64;
	c->cfg.sndbuf = 4096;
	c->cfg.rcvbuf = 4096;
	assert_int_equal(gt_stack_create(&c->cfg, &c->st), 0);
	c->lsock = gt_socket(c->st);
	assert_true(c->lsock >= 0);
	assert_int_equal(gt_bind(c->st, c->lsock, 0, FZ_PORT), 0);
	assert_int_equal(gt_listen(c->st, c->lsock, (int)backlog, c->now), 0);
	c->want = GT_TCP_SYN_RECEIVED; /* keep fz_app from closing accepted children */

	size_t base = allocated_bytes(), peak = base;
	/* what one half-open connection may hold: its TCB and the allocator's
	 * overhead; no buffers before ESTABLISHED */
	size_t per_conn = sizeof(gt_tcb) + 64;
	const gt_stack_counters *k = gt_stack_get_counters(c->st);
	gen g = {.x = seed};
	uint64_t made = 0, dropped = 0, dup = 0;
	gt_tcp_opts mss = {.has_mss = true, .mss = 1460};
	for (unsigned i = 0; i < syns; i++) {
		snprintf(fz_where, sizeof fz_where, "SYN flood (backlog %u), SYN %u", backlog, i);
		c->conn.remote_addr = 0x0a000000u | (uint32_t)below(&g, 1u << 24); /* 10/8 */
		c->conn.remote_port = (uint16_t)(1 + below(&g, 65535));
		if (gt_stack_lookup(c->st, FZ_TARGET_ADDR, FZ_PORT, c->conn.remote_addr,
		                    c->conn.remote_port)) {
			dup++; /* the same tuple again: not a new SYN */
			continue;
		}
		uint64_t before_drops = k->drop[GT_DROP_SYN_QUEUE_FULL] +
		                        k->drop[GT_DROP_ACCEPT_QUEUE_FULL] +
		                        k->drop[GT_DROP_CONN_LIMIT];
		before_drops += k->syncookies_sent;
		uint64_t before_made = c->syn_received;
		size_t len = fz_build(c, GT_TCP_SYN, (uint32_t)rnd(&g), 0, 8192, &mss, NULL, 0);
		fz_input(c, c->pkt, len);
		uint64_t d_drop = k->drop[GT_DROP_SYN_QUEUE_FULL] +
		                  k->drop[GT_DROP_ACCEPT_QUEUE_FULL] + k->drop[GT_DROP_CONN_LIMIT] +
		                  k->syncookies_sent - before_drops;
		uint64_t d_made = c->syn_received - before_made;
		if (d_drop + d_made != 1)
			fail_msg("SYN %u: %" PRIu64 " children, %" PRIu64 " drops or cookies", i,
			         d_made, d_drop);
		made += d_made;
		dropped += d_drop;
		assert_true(c->st->tcb_count <= c->cfg.max_conns);
		/* a few ms apart: children time out and make room over the run */
		fz_advance(c, 2000);
		size_t now_bytes = allocated_bytes();
		peak = now_bytes > peak ? now_bytes : peak;
	}
	printf("syn flood (backlog %u, max_conns %u): %u SYNs, %" PRIu64 " children, %" PRIu64
	       " answered with a cookie or dropped (cookies %" PRIu64 ", syn_queue_full %" PRIu64
	       ", conn_limit %" PRIu64 "), %" PRIu64
	       " repeated tuples, peak heap +%zu bytes (bound %zu)\n",
	       backlog, c->cfg.max_conns, syns, made, dropped, k->syncookies_sent,
	       k->drop[GT_DROP_SYN_QUEUE_FULL], k->drop[GT_DROP_CONN_LIMIT], dup, peak - base,
	       c->cfg.max_conns * per_conn);
	fflush(stdout);
	assert_true(made > 0 && dropped > 0);
	assert_true(k->syncookies_sent == dropped); /* every SYN answered */
	/* the listeners' share (max_conns - max_conns/16) is never exceeded */
	assert_true(made <= syns && c->st->tcb_count <= c->st->passive_limit);
	assert_true(made + dropped + dup == syns);
	if (base)
		assert_true(peak - base <= c->cfg.max_conns * per_conn);
	fz_teardown(c);
	free(c);
}

/* A target full of TIME_WAIT connections: each new SYN takes the place of the
 * oldest of them (RFC 9293 §3.10.7.4 lets a TIME_WAIT go early; the stack
 * recycles them rather than refuse connections), then the limit holds. */
static void test_time_wait_recycled(void **state)
{
	(void)state;
	fz_ctx *c = malloc(sizeof *c);
	assert_non_null(c);
	snprintf(fz_where, sizeof fz_where, "TIME_WAIT recycling");
	fz_setup(c, 0); /* LISTEN: the application closes what it accepts */
	const unsigned n_tw = FZ_MAX_CONNS - 1;
	for (unsigned i = 0; i < n_tw; i++) {
		c->conn.remote_port = (uint16_t)(1000 + i);
		uint32_t peer = c->peer_iss + 1;
		gt_tcp_opts mss = {.has_mss = true, .mss = 1460};
		fz_peer_send(c, GT_TCP_SYN, c->peer_iss, 0, 8192, &mss, NULL, 0);
		fz_peer_send(c, GT_TCP_ACK, peer, c->iss + 1, 8192, NULL, NULL,
		             0); /* accepted, closed */
		fz_expect(c, GT_TCP_FIN_WAIT_1, "accept() and close()");
		fz_peer_send(c, GT_TCP_ACK, peer, c->iss + 2, 8192, NULL, NULL, 0);
		fz_peer_send(c, GT_TCP_FIN | GT_TCP_ACK, peer, c->iss + 2, 8192, NULL, NULL, 0);
		fz_expect(c, GT_TCP_TIME_WAIT, "FIN");
	}
	assert_int_equal(c->st->tw_count, n_tw);
	assert_int_equal(c->st->tcb_count, FZ_MAX_CONNS);
	uint64_t tw_before = c->tw_ended, made_before = c->syn_received;
	const gt_stack_counters *k = gt_stack_get_counters(c->st);
	for (unsigned i = 0; i < 2 * FZ_MAX_CONNS; i++) {
		c->conn.remote_port = (uint16_t)(2000 + i);
		size_t len = fz_build(c, GT_TCP_SYN, c->peer_iss, 0, 8192, NULL, NULL, 0);
		fz_input(c, c->pkt, len);
		assert_true(c->st->tcb_count <= FZ_MAX_CONNS);
	}
	/* the listener's backlog (4) bounds the children; the TIME_WAITs they
	 * needed room for were recycled, the oldest first */
	assert_int_equal(c->syn_received - made_before, 4);
	assert_int_equal(c->tw_ended - tw_before, 4 - (FZ_MAX_CONNS - 1 - n_tw));
	assert_int_equal(c->st->tw_count, n_tw - 4);
	/* the others were answered with SYN cookies, keeping nothing */
	assert_int_equal(k->syncookies_sent, 2 * FZ_MAX_CONNS - 4);
	assert_int_equal(k->drop[GT_DROP_SYN_QUEUE_FULL], 0);
	fz_teardown(c);
	free(c);
}

static void test_syn_flood(void **state)
{
	(void)state;
	uint64_t seed = gt_test_seed(1);
	/* the connection limit bites first */
	syn_flood(1024, 100000, seed);
	/* the SYN queue bites first */
	syn_flood(16, 20000, seed + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reach_every_state),
	    cmocka_unit_test(test_fuzz_every_state),
	    cmocka_unit_test(test_time_wait_recycled),
	    cmocka_unit_test(test_syn_flood),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
