/* SYN cookies (RFC 4987 §3.6, issue 12) and what a half-open connection
 * costs: a listener under a SYN flood answers with a SYN-ACK whose ISN is a
 * cookie and keeps nothing; the ACK that brings the cookie back makes the
 * connection, with the MSS (and, with timestamps, the window scale and
 * SACK-permitted) the SYN asked for. Half-open connections hold no buffers,
 * and listeners never take the slots kept for connect(). */
#include "fixture.h"
#include "stack/stack_impl.h"
#include "tcp/syncookie.h"

#include <errno.h>
#include <string.h>

#define PEER_ISS 0x70000000u

static const gt_stack_counters *counters(void)
{
	return gt_stack_get_counters(F.st);
}

static void always(fx_opts *o)
{
	o->cfg.syncookies = GT_SYNCOOKIES_ALWAYS;
}

/* The peer's SYN from rport, with options o (NULL: MSS 1460 only). */
static void syn_from(uint16_t rport, const gt_tcp_opts *o)
{
	fx_send_seg(&F, &(fx_seg){.src_port = rport,
	                          .flags = GT_TCP_SYN,
	                          .seq = PEER_ISS,
	                          .wnd = 65535,
	                          .mss = 1460,
	                          .opts = o});
}

/* The SYN-ACK the stack sent; its ISN in *iss. */
static const fx_pkt *synack(uint32_t *iss)
{
	const fx_pkt *p = fx_pop(&F);
	assert_int_equal(p->seg.flags, GT_TCP_SYN | GT_TCP_ACK);
	assert_int_equal(p->seg.ack, PEER_ISS + 1);
	*iss = p->seg.seq;
	return p;
}

static void ack_from(uint16_t rport, uint32_t ack, const gt_tcp_opts *o, const void *data,
                     uint32_t len)
{
	fx_send_seg(&F, &(fx_seg){.src_port = rport,
	                          .flags = GT_TCP_ACK | (len ? GT_TCP_PSH : 0),
	                          .seq = PEER_ISS + 1,
	                          .ack = ack,
	                          .wnd = 1000,
	                          .opts = o,
	                          .payload = data,
	                          .len = len});
}

static gt_tcb *conn(uint16_t rport)
{
	return gt_stack_lookup(F.st, FX_LOCAL_ADDR, FX_LISTEN_PORT, FX_PEER_ADDR, rport);
}

/* ---- the cookie itself ---- */

static void test_cookie_roundtrip_and_age(void **state)
{
	uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	static const uint16_t mss_in[] = {0, 100, 536, 1299, 1300, 1439, 1440, 1460, 9000};
	static const uint16_t mss_out[] = {536, 536, 536, 536, 1300, 1300, 1440, 1460, 1460};
	for (unsigned i = 0; i < sizeof(mss_in) / sizeof(mss_in[0]); i++) {
		gt_conn_tuple c = {.local_addr = FX_LOCAL_ADDR,
		                   .remote_addr = FX_PEER_ADDR + i,
		                   .local_port = 80,
		                   .remote_port = (uint16_t)(40000 + i)};
		gt_segment syn = {.seq = PEER_ISS * i, .flags = GT_TCP_SYN};
		syn.opts.has_mss = mss_in[i] != 0;
		syn.opts.mss = mss_in[i];
		gt_time_us t0 = 1000 * FX_S + i * 7 * FX_S;
		uint32_t cookie = gt_syncookie_make(key, &c, &syn, t0);
		gt_segment ack = {.seq = syn.seq + 1, .ack = cookie + 1, .flags = GT_TCP_ACK};
		gt_syncookie ck;
		assert_true(gt_syncookie_check(key, &c, &ack, true, t0, &ck));
		assert_int_equal(ck.mss, mss_out[i]);
		assert_int_equal(ck.iss, cookie);
		assert_int_equal(ck.irs, syn.seq);
		assert_false(ck.has_ts);
		/* valid while at most 2 periods old (64 s each), never later */
		assert_true(gt_syncookie_check(key, &c, &ack, true, t0 + 128 * FX_S, &ck));
		assert_false(gt_syncookie_check(key, &c, &ack, true, t0 + 193 * FX_S, &ck));
		/* another tuple, another sequence number, another key: invalid */
		gt_conn_tuple other = c;
		other.remote_port++;
		assert_false(gt_syncookie_check(key, &other, &ack, true, t0, &ck));
		/* (a sequence number 1-3 lower would read as a smaller MSS, as in
		 * Linux's layout: the hash bits are what protect the cookie) */
		gt_segment shifted = ack;
		shifted.seq += 4;
		assert_false(gt_syncookie_check(key, &c, &shifted, true, t0, &ck));
		uint8_t key2[16] = {2};
		assert_false(gt_syncookie_check(key2, &c, &ack, true, t0, &ck));
	}
}

/* 1,000,000 random guesses at a cookie: the 24 hash bits leave about 3 * 4 /
 * 2^24 of them valid (3 ages, 4 MSS values), i.e. under 3 expected here */
static void test_cookie_guessing(void **state)
{
	uint8_t key[16] = {9};
	gt_conn_tuple c = {FX_LOCAL_ADDR, FX_PEER_ADDR, 80, 12345};
	uint64_t x = 88172645463325252ull;
	unsigned valid = 0;
	for (unsigned i = 0; i < 1000000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		gt_segment ack = {
		    .seq = (uint32_t)x, .ack = (uint32_t)(x >> 32), .flags = GT_TCP_ACK};
		gt_syncookie ck;
		valid += gt_syncookie_check(key, &c, &ack, false, 500 * FX_S, &ck);
	}
	assert_in_range(valid, 0, 10);
}

static void test_tsval_encoding(void **state)
{
	gt_segment syn = {.flags = GT_TCP_SYN};
	syn.opts.has_wscale = true;
	syn.opts.wscale = 7;
	syn.opts.sack_permitted = true;
	uint32_t ts = gt_syncookie_tsval(100000, &syn, true, true);
	assert_true(ts <= 100000 && ts > 100000 - 64);
	assert_int_equal(ts & 0x1f, 7 | 0x10);
	/* no scaling agreed: 15; no SACK: bit 4 clear; never above the clock */
	ts = gt_syncookie_tsval(96, &syn, false, false);
	assert_int_equal(ts & 0x1f, 15);
	assert_true(ts <= 96);
	syn.opts.wscale = 20; /* RFC 7323 §2.3: taken as 14 */
	assert_int_equal(gt_syncookie_tsval(5000, &syn, false, true) & 0xf, 14);
}

/* ---- the listener ---- */

/* Cookies always: a SYN leaves nothing behind; the ACK brings back MSS,
 * window scale, SACK and timestamps, and data on it is delivered. */
static void test_always_keeps_nothing_and_restores_options(void **state)
{
	fx_reinit_with(always);
	fx_listen(&F);
	gt_tcp_opts o = {.has_mss = true,
	                 .mss = 1460,
	                 .has_wscale = true,
	                 .wscale = 7,
	                 .sack_permitted = true,
	                 .has_ts = true,
	                 .ts_val = 5555};
	syn_from(40000, &o);
	uint32_t iss;
	const fx_pkt *p = synack(&iss);
	assert_true(p->seg.opts.has_ts && p->seg.opts.has_wscale && p->seg.opts.sack_permitted);
	assert_int_equal(p->seg.opts.ts_ecr, 5555);
	uint32_t tsval = p->seg.opts.ts_val;
	assert_int_equal(tsval & 0x1f, 7 | 0x10);
	assert_int_not_equal(iss, F.iss);               /* the cookie, not the ISN generator's */
	assert_int_equal(gt_stack_conn_count(F.st), 1); /* the listener only */
	assert_int_equal(counters()->syncookies_sent, 1);

	gt_tcp_opts a = {.has_ts = true, .ts_val = 5600, .ts_ecr = tsval};
	ack_from(40000, iss + 1, &a, "hello", 5);
	gt_tcb *t = conn(40000);
	assert_non_null(t);
	assert_int_equal(t->state, GT_TCP_ESTABLISHED);
	assert_true(t->ts_ok && t->sack_ok && t->ws_ok);
	assert_int_equal(t->snd_wscale, 7);
	assert_int_equal(t->snd_wnd, 1000u << 7);
	assert_int_equal(t->snd_mss, 1460 - 12);
	assert_int_equal(t->ts_recent, 5600);
	assert_int_equal(counters()->syncookies_ok, 1);
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_LISTEN, GT_TCP_SYN_RECEIVED);
	assert_non_null(e);
	assert_string_equal(e->cause, "ACK with a valid SYN cookie");
	int s = gt_accept(F.st, F.lsock, NULL, NULL);
	assert_true(s >= 0);
	char buf[16];
	assert_int_equal(gt_recv(F.st, s, buf, sizeof(buf), F.now), 5);
	assert_memory_equal(buf, "hello", 5);
}

/* Without timestamps the cookie keeps no window scale or SACK: the SYN-ACK
 * offers neither (as Linux's), so both ends agree on an unscaled window. */
static void test_without_timestamps_no_wscale_no_sack(void **state)
{
	fx_reinit_with(always);
	fx_listen(&F);
	gt_tcp_opts o = {
	    .has_mss = true, .mss = 1400, .has_wscale = true, .wscale = 7, .sack_permitted = true};
	syn_from(40001, &o);
	uint32_t iss;
	const fx_pkt *p = synack(&iss);
	assert_false(p->seg.opts.has_ts || p->seg.opts.has_wscale || p->seg.opts.sack_permitted);
	assert_true(p->seg.opts.has_mss);
	ack_from(40001, iss + 1, NULL, NULL, 0);
	gt_tcb *t = conn(40001);
	assert_non_null(t);
	assert_int_equal(t->state, GT_TCP_ESTABLISHED);
	assert_false(t->ws_ok || t->sack_ok || t->ts_ok);
	assert_int_equal(t->snd_wnd, 1000);
	assert_int_equal(t->snd_mss, 1300); /* 1400 rounded down to the table */
}

/* A forged ACK (wrong cookie) makes nothing: counted, answered with
 * <SEQ=SEG.ACK><CTL=RST> as any stray ACK to a listener. So is a cookie past
 * its age. */
static void test_bad_and_expired_cookies(void **state)
{
	fx_reinit_with(always);
	fx_listen(&F);
	syn_from(40002, NULL);
	uint32_t iss;
	synack(&iss);
	ack_from(40002, iss + 2, NULL, NULL, 0);
	fx_expect(&F, GT_TCP_RST, iss + 2, 0);
	assert_int_equal(counters()->syncookies_bad, 1);
	assert_null(conn(40002));
	/* the right cookie, 3 periods later: expired */
	fx_advance(&F, 3 * GT_SYNCOOKIE_PERIOD_US);
	ack_from(40002, iss + 1, NULL, NULL, 0);
	fx_expect(&F, GT_TCP_RST, iss + 1, 0);
	assert_int_equal(counters()->syncookies_bad, 2);
	assert_int_equal(counters()->syncookies_ok, 0);
	assert_null(conn(40002));
}

/* The default: the SYN queue works as before; cookies only when it is full,
 * and only then are ACKs to the listener taken for cookies. */
static void test_on_overflow(void **state)
{
	F.opts.backlog = 1;
	fx_listen(&F);
	/* a stray ACK before any cookie: no cookie check, nothing counted */
	ack_from(40100, 12345, NULL, NULL, 0);
	fx_expect(&F, GT_TCP_RST, 12345, 0);
	assert_int_equal(counters()->syncookies_bad, 0);
	syn_from(40101, NULL);
	uint32_t first;
	synack(&first);
	assert_int_equal(first, F.iss); /* a real half-open connection */
	gt_tcb *half = conn(40101);
	assert_non_null(half);
	/* a half-open connection holds no buffers */
	assert_null(half->sndbuf.data);
	assert_null(half->rcvbuf.data);
	syn_from(40102, NULL);
	uint32_t cookie;
	synack(&cookie);
	assert_int_not_equal(cookie, F.iss);
	assert_int_equal(counters()->syncookies_sent, 1);
	assert_int_equal(gt_stack_conn_count(F.st), 2);
	/* both complete; the first gets its buffers at ESTABLISHED */
	ack_from(40101, first + 1, NULL, NULL, 0);
	assert_int_equal(half->state, GT_TCP_ESTABLISHED);
	assert_non_null(half->sndbuf.data);
	assert_non_null(half->rcvbuf.data);
	int s1 = gt_accept(F.st, F.lsock, NULL, NULL);
	assert_true(s1 >= 0);
	ack_from(40102, cookie + 1, NULL, NULL, 0);
	fx_expect_none(&F);
	assert_int_equal(conn(40102)->state, GT_TCP_ESTABLISHED);
	assert_int_equal(counters()->syncookies_ok, 1);
	/* the accept queue (backlog 1) is full now: a cookie ACK is dropped,
	 * not reset, and made nothing */
	syn_from(40103, NULL);
	fx_expect_none(&F); /* a full accept queue takes no SYN at all */
	assert_int_equal(counters()->drop[GT_DROP_ACCEPT_QUEUE_FULL], 1);
}

static void cookies_off_32(fx_opts *o)
{
	o->cfg.max_conns = 32; /* reserve: 32 / 16 = 2 */
	o->cfg.syncookies = GT_SYNCOOKIES_OFF;
}

/* Listeners together never take the slots kept for connect(): a flood of
 * SYNs fills max_conns - conn_reserve, and connect() still works. */
static void test_reserve_for_connect(void **state)
{
	fx_reinit_with(cookies_off_32);
	F.opts.backlog = 1000;
	fx_listen(&F);
	for (uint16_t i = 0; i < 100; i++)
		syn_from((uint16_t)(20000 + i), NULL);
	fx_drain(&F);
	assert_int_equal(gt_stack_conn_count(F.st), 30);
	assert_int_equal(counters()->drop[GT_DROP_CONN_LIMIT], 100 - 29);
	for (int i = 0; i < 2; i++) {
		int s = gt_socket(F.st);
		assert_true(s >= 0);
		assert_int_equal(gt_connect(F.st, s, FX_PEER_ADDR, (uint16_t)(9000 + i), F.now),
		                 -EINPROGRESS);
		const fx_pkt *p = fx_pop(&F);
		assert_int_equal(p->seg.flags, GT_TCP_SYN);
	}
	assert_int_equal(gt_socket(F.st), -EMFILE);
}

static void bad_reserve(fx_opts *o)
{
	o->cfg.max_conns = 8;
	o->cfg.conn_reserve = 8;
}

static void test_config_checked(void **state)
{
	fx_opts o;
	fx_opts_default(&o);
	bad_reserve(&o);
	gt_stack_config c = o.cfg;
	c.output = F.cfg.output;
	gt_stack *st = NULL;
	assert_int_equal(gt_stack_create(&c, &st), -EINVAL);
	c.conn_reserve = 0;
	c.syncookies = (gt_syncookies_mode)7;
	assert_int_equal(gt_stack_create(&c, &st), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_cookie_roundtrip_and_age),
	    FX_TEST(test_cookie_guessing),
	    FX_TEST(test_tsval_encoding),
	    FX_TEST(test_always_keeps_nothing_and_restores_options),
	    FX_TEST(test_without_timestamps_no_wscale_no_sack),
	    FX_TEST(test_bad_and_expired_cookies),
	    FX_TEST(test_on_overflow),
	    FX_TEST(test_reserve_for_connect),
	    FX_TEST(test_config_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
