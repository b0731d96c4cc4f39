/* Orphans (issue 12, "peers that never let go"): connections the application
 * closed that still wait for the peer. Linux's tcp_orphan_retries: an orphan
 * gives up after orphan_retries probes or retransmissions even when the peer
 * answers every zero-window probe, and sends RST; Linux's tcp_max_orphans: at
 * most max_orphans of them, one more resets the oldest. A connection the
 * application still holds probes a zero window for as long as the peer
 * answers (RFC 1122 §4.2.2.17, RFC 9293 §3.8.6.1). */
#include "fixture.h"
#include "stack/stack_impl.h"

#include <errno.h>
#include <string.h>

#define PEER_ISS 0x50000000u
#define RTO      (200 * FX_MS) /* rto_min: the fixture's handshakes take no time */

static const uint8_t data[100] = {1, 2, 3};

/* A passive connection from the peer's port rport, accepted; the peer's ACK
 * closes its window and 100 bytes wait behind it. Returns the socket. */
static int open_zero_window(uint16_t rport)
{
	fx_send_seg(&F, &(fx_seg){.src_port = rport,
	                          .flags = GT_TCP_SYN,
	                          .seq = PEER_ISS,
	                          .wnd = 65535,
	                          .mss = 1460});
	fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, PEER_ISS + 1);
	fx_send_seg(&F, &(fx_seg){.src_port = rport,
	                          .flags = GT_TCP_ACK,
	                          .seq = PEER_ISS + 1,
	                          .ack = F.iss + 1,
	                          .wnd = 0});
	uint16_t port = 0;
	int s = gt_accept(F.st, F.lsock, NULL, &port);
	assert_true(s >= 0);
	assert_int_equal(port, rport);
	assert_int_equal(gt_send(F.st, s, data, sizeof(data), F.now), (int)sizeof(data));
	fx_expect_none(&F); /* nothing fits a zero window */
	return s;
}

static gt_tcb *conn(uint16_t rport)
{
	return gt_stack_lookup(F.st, FX_LOCAL_ADDR, FX_LISTEN_PORT, FX_PEER_ADDR, rport);
}

typedef struct peer_tally {
	unsigned probes;  /* one-octet probes answered */
	unsigned rsts;    /* RSTs received */
	gt_time_us first; /* the first probe */
	gt_time_us rst_at;
} peer_tally;

/* The peer takes everything the stack sent: it answers each zero-window
 * probe with an ACK of what it had and its window still 0, and counts the
 * RSTs. */
static void peer_answers(peer_tally *t)
{
	while (fx_pending(&F)) {
		const fx_pkt *p = fx_pop(&F);
		if (p->seg.flags & GT_TCP_RST) {
			t->rsts++;
			t->rst_at = p->t;
			continue;
		}
		assert_int_equal(p->seg.payload_len, 1);
		if (!t->probes++)
			t->first = p->t;
		uint16_t rport = p->seg.dst_port;
		uint32_t ack = p->seg.seq; /* the probe's octet is not taken */
		size_t queued = fx_pending(&F);
		fx_send_seg(&F, &(fx_seg){.src_port = rport,
		                          .flags = GT_TCP_ACK,
		                          .seq = PEER_ISS + 1,
		                          .ack = ack,
		                          .wnd = 0});
		assert_int_equal(fx_pending(&F), queued); /* the answer needs none */
	}
}

/* (a) close() with data behind a zero window, the peer answering every
 * probe: the orphan probes after RTO, then backs off (RFC 6298 §5.5) through
 * orphan_retries (8) more probes; the timeout after the last one resets it.
 * Probe k goes at t_close + 2^k * RTO, the RST at t_close + 2^9 * RTO:
 * 9 probes and 102.4 s with RTO 200 ms (Linux: "8 corresponds to >100
 * seconds with minimal RTO of 200msec"). */
static void test_orphan_answered_probes_reset(void **state)
{
	fx_listen(&F);
	int s = open_zero_window(FX_PEER_PORT);
	gt_time_us t_close = F.now;
	assert_int_equal(gt_close(F.st, s, F.now), 0);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_1);
	fx_expect_none(&F);
	peer_tally t = {0};
	while (fx_state(&F) != GT_TCP_CLOSED && t.probes < 100) {
		fx_step(&F);
		peer_answers(&t);
	}
	const uint32_t n = F.st->cfg.orphan_retries; /* the default */
	assert_int_equal(n, 8);
	assert_int_equal(t.first - t_close, RTO);
	assert_int_equal(t.probes, 1 + n);
	assert_int_equal(t.rsts, 1);
	assert_int_equal(t.rst_at - t_close, ((gt_time_us)1 << (n + 1)) * RTO);
	assert_int_equal(t.rst_at - t_close, 102400 * FX_MS);
	const gt_stack_counters *c = gt_stack_get_counters(F.st);
	assert_int_equal(c->orphans_timedout, 1);
	assert_int_equal(c->conns_timedout, 1);
	assert_int_equal(c->orphans_reset_overflow, 0);
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_FIN_WAIT_1, GT_TCP_CLOSED);
	assert_non_null(e);
	assert_string_equal(e->cause, "orphan retries");
	assert_int_equal(gt_stack_conn_count(F.st), 1); /* the listener */
	assert_int_equal(F.st->orphan_count, 0);
}

/* orphan_retries set: 3 retries, 4 probes, the RST at 2^4 RTO = 3.2 s. */
static void three_retries(fx_opts *o)
{
	o->cfg.orphan_retries = 3;
}

static void test_orphan_retries_setting(void **state)
{
	fx_reinit_with(three_retries);
	fx_listen(&F);
	int s = open_zero_window(FX_PEER_PORT);
	gt_time_us t_close = F.now;
	assert_int_equal(gt_close(F.st, s, F.now), 0);
	peer_tally t = {0};
	while (fx_state(&F) != GT_TCP_CLOSED && t.probes < 100) {
		fx_step(&F);
		peer_answers(&t);
	}
	assert_int_equal(t.probes, 4);
	assert_int_equal(t.rsts, 1);
	assert_int_equal(t.rst_at - t_close, 16 * RTO);
	assert_int_equal(gt_stack_get_counters(F.st)->orphans_timedout, 1);
}

/* (b) The same peer, the same state, but the application holds the socket
 * (shutdown(SHUT_WR): FIN_WAIT_1 with the data queued, or nothing shut): not
 * an orphan. RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17: a probe that is
 * answered never aborts; well past the orphan's bound it still probes. */
static void held_keeps_probing(bool shut)
{
	fx_listen(&F);
	int s = open_zero_window(FX_PEER_PORT);
	gt_time_us t0 = F.now;
	if (shut) {
		assert_int_equal(gt_shutdown(F.st, s, GT_SHUT_WR, F.now), 0);
		fx_assert_state(&F, GT_TCP_FIN_WAIT_1);
	}
	peer_tally t = {0};
	while (F.now < t0 + 4 * 102400 * FX_MS) {
		fx_step(&F);
		peer_answers(&t);
		fx_assert_state(&F, shut ? GT_TCP_FIN_WAIT_1 : GT_TCP_ESTABLISHED);
	}
	/* 10 probes to reach rto_max (60 s), then one a minute */
	assert_true(t.probes > 9 + 4);
	assert_int_equal(t.rsts, 0);
	assert_int_equal(gt_sock_error(F.st, s), 0);
	assert_int_equal(gt_stack_get_counters(F.st)->orphans_timedout, 0);
	assert_int_equal(F.st->orphan_count, 0);
	/* and once the application lets go, the bound applies: it is gone within
	 * 9 probes at most (the backoff is already at rto_max) */
	assert_int_equal(gt_close(F.st, s, F.now), 0);
	assert_int_equal(F.st->orphan_count, 1);
	unsigned before = t.probes;
	while (fx_state(&F) != GT_TCP_CLOSED && t.probes < before + 100) {
		fx_step(&F);
		peer_answers(&t);
	}
	assert_int_equal(t.rsts, 1);
	assert_true(t.probes - before <= 9);
	assert_int_equal(gt_stack_get_counters(F.st)->orphans_timedout, 1);
}

static void test_held_zero_window_keeps_probing(void **state)
{
	held_keeps_probing(false);
}

static void test_held_fin_wait_1_keeps_probing(void **state)
{
	held_keeps_probing(true);
}

/* (c) max_orphans 3: the fourth orphan resets the oldest (RST to its port,
 * counted), the three newest live on. A connection shut but still held does
 * not count. */
static void three_orphans(fx_opts *o)
{
	o->cfg.max_orphans = 3;
}

static void test_max_orphans_resets_oldest(void **state)
{
	fx_reinit_with(three_orphans);
	fx_listen(&F);
	int s[5];
	for (int i = 0; i < 5; i++)
		s[i] = open_zero_window((uint16_t)(1001 + i));
	assert_int_equal(gt_shutdown(F.st, s[4], GT_SHUT_WR, F.now), 0); /* held */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(gt_close(F.st, s[i], F.now), 0);
		fx_expect_none(&F);
	}
	assert_int_equal(F.st->orphan_count, 3);
	assert_int_equal(gt_stack_get_counters(F.st)->orphans_reset_overflow, 0);
	assert_int_equal(gt_close(F.st, s[3], F.now), 0);
	const fx_pkt *p = fx_pop(&F);
	assert_true(p->seg.flags & GT_TCP_RST);
	assert_int_equal(p->seg.dst_port, 1001);
	fx_expect_none(&F);
	const gt_stack_counters *c = gt_stack_get_counters(F.st);
	assert_int_equal(c->orphans_reset_overflow, 1);
	assert_int_equal(c->orphans_timedout, 0);
	assert_null(conn(1001));
	for (uint16_t port = 1002; port <= 1005; port++) {
		assert_non_null(conn(port));
		assert_int_equal(conn(port)->state, GT_TCP_FIN_WAIT_1);
	}
	assert_int_equal(F.st->orphan_count, 3);
	assert_ptr_equal(F.st->orphan_head, conn(1002));
	assert_ptr_equal(F.st->orphan_tail, conn(1004));
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_FIN_WAIT_1, GT_TCP_CLOSED);
	assert_non_null(e);
	assert_int_equal(e->conn.remote_port, 1001);
	assert_string_equal(e->cause, "max_orphans");
}

/* The default: max_conns / 2. With max_conns 9, the fifth orphan resets the
 * first. An orphan that stops being one (the peer takes the data and our
 * FIN: FIN_WAIT_2) leaves the list. */
static void nine_conns(fx_opts *o)
{
	o->cfg.max_conns = 9;
}

static void test_max_orphans_default_half(void **state)
{
	fx_reinit_with(nine_conns);
	assert_int_equal(F.st->cfg.max_orphans, 4);
	assert_int_equal(F.st->cfg.orphan_retries, 8);
	fx_listen(&F);
	int s[6];
	for (int i = 0; i < 6; i++)
		s[i] = open_zero_window((uint16_t)(2001 + i));
	/* the first orphan's peer opens its window and takes everything */
	assert_int_equal(gt_close(F.st, s[0], F.now), 0);
	fx_send_seg(&F, &(fx_seg){.src_port = 2001,
	                          .flags = GT_TCP_ACK,
	                          .seq = PEER_ISS + 1,
	                          .ack = F.iss + 1,
	                          .wnd = 65535});
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH | GT_TCP_FIN, F.iss + 1, PEER_ISS + 1);
	fx_send_seg(&F, &(fx_seg){.src_port = 2001,
	                          .flags = GT_TCP_ACK,
	                          .seq = PEER_ISS + 1,
	                          .ack = F.iss + 2 + sizeof(data),
	                          .wnd = 65535});
	assert_int_equal(conn(2001)->state, GT_TCP_FIN_WAIT_2);
	assert_int_equal(F.st->orphan_count, 0);
	for (int i = 1; i < 5; i++)
		assert_int_equal(gt_close(F.st, s[i], F.now), 0);
	fx_expect_none(&F);
	assert_int_equal(F.st->orphan_count, 4);
	assert_int_equal(gt_close(F.st, s[5], F.now), 0);
	const fx_pkt *p = fx_pop(&F);
	assert_true(p->seg.flags & GT_TCP_RST);
	assert_int_equal(p->seg.dst_port, 2002);
	fx_expect_none(&F);
	assert_int_equal(gt_stack_get_counters(F.st)->orphans_reset_overflow, 1);
	assert_null(conn(2002));
	assert_non_null(conn(2001)); /* FIN_WAIT_2 has its own timeout */
	assert_int_equal(F.st->orphan_count, 4);
}

/* (d) The issue: 1,024 connection slots, a listener and 1,022 orphans whose
 * peers keep their windows at 0 and answer every probe. max_orphans is set
 * out of the way (and one slot stays for connect()), so only orphan_retries
 * can free the listeners' share: until the bound
 * a new SYN finds no slot (no SYN-ACK); after it, the SYN gets its SYN-ACK. */
#define ISSUE_CONNS 1024
#define ORPHANS     (ISSUE_CONNS - 2) /* the listener, and one slot for connect() */

static void issue_stack(fx_opts *o)
{
	o->cfg.max_conns = ISSUE_CONNS;
	o->cfg.max_orphans = ISSUE_CONNS;
	/* listeners may take all but one slot (the one kept for connect());
	 * without SYN cookies a SYN that finds no slot is dropped */
	o->cfg.conn_reserve = 1;
	o->cfg.syncookies = GT_SYNCOOKIES_OFF;
}

static void fill_with_orphans(uint16_t n, gt_time_us *t_close)
{
	fx_listen(&F);
	for (uint16_t i = 0; i < n; i++) {
		int s = open_zero_window((uint16_t)(10000 + i));
		assert_int_equal(gt_close(F.st, s, F.now), 0);
		fx_drain(&F); /* RSTs of orphans reset by max_orphans, if any */
		fx_clear_events(&F);
	}
	*t_close = F.now;
}

static void new_syn(uint16_t rport)
{
	fx_send_seg(&F, &(fx_seg){.src_port = rport,
	                          .flags = GT_TCP_SYN,
	                          .seq = PEER_ISS,
	                          .wnd = 65535,
	                          .mss = 1460});
}

static void test_issue_orphans_fill_stack(void **state)
{
	fx_reinit_with(issue_stack);
	gt_time_us t_close;
	fill_with_orphans(ORPHANS, &t_close);
	assert_int_equal(gt_stack_conn_count(F.st), ISSUE_CONNS - 1);
	assert_int_equal(F.st->orphan_count, ORPHANS);
	/* full: the SYN is dropped */
	new_syn(60000);
	fx_expect_none(&F);
	assert_int_equal(gt_stack_get_counters(F.st)->drop[GT_DROP_CONN_LIMIT], 1);
	peer_tally t = {0};
	gt_time_us bound = t_close + ((gt_time_us)1 << 9) * RTO; /* 102.4 s */
	while (t.rsts < ORPHANS && F.now < bound + 600 * FX_S) {
		fx_step(&F);
		peer_answers(&t);
		fx_clear_events(&F);
		if (F.now < bound) {
			assert_int_equal(t.rsts, 0);
			new_syn(60000); /* the peer retries: still no room */
			fx_expect_none(&F);
		}
	}
	assert_int_equal(t.rsts, ORPHANS);
	assert_int_equal(t.rst_at, bound);
	assert_int_equal(t.probes, 9 * ORPHANS);
	assert_int_equal(gt_stack_get_counters(F.st)->orphans_timedout, ORPHANS);
	assert_int_equal(gt_stack_conn_count(F.st), 1);
	new_syn(60000);
	fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, PEER_ISS + 1);
}

/* The same 1,023 orphans with the default max_orphans (512): the stack never
 * fills; 511 of the oldest were reset as newer ones came, and a new SYN gets
 * its SYN-ACK at once. */
static void issue_stack_default_cap(fx_opts *o)
{
	o->cfg.max_conns = ISSUE_CONNS;
}

static void test_issue_default_cap_keeps_room(void **state)
{
	fx_reinit_with(issue_stack_default_cap);
	gt_time_us t_close;
	fill_with_orphans(ISSUE_CONNS - 1, &t_close);
	assert_int_equal(F.st->cfg.max_orphans, ISSUE_CONNS / 2);
	assert_int_equal(F.st->orphan_count, ISSUE_CONNS / 2);
	assert_int_equal(gt_stack_get_counters(F.st)->orphans_reset_overflow,
	                 ISSUE_CONNS - 1 - ISSUE_CONNS / 2);
	assert_int_equal(gt_stack_conn_count(F.st), 1 + ISSUE_CONNS / 2);
	assert_null(conn(10000));                       /* the oldest went */
	assert_non_null(conn(10000 + ISSUE_CONNS - 2)); /* the newest lives */
	new_syn(60000);
	fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, PEER_ISS + 1);
}

/* 6. A peer that never ACKs our FIN, the application gone: the FIN is sent
 * again orphan_retries (8) times, not max_retries (12), then RST. Held by a
 * socket, the same connection retries max_retries times and ends without
 * RST (ETIMEDOUT for the socket). */
static void fin_never_acked(gt_tcp_state want, bool orphan)
{
	fx_established(&F);
	if (want == GT_TCP_LAST_ACK) {
		fx_peer_fin(&F);
		fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	}
	if (orphan)
		assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	else
		assert_int_equal(gt_shutdown(F.st, F.sock, GT_SHUT_WR, F.now), 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK | GT_TCP_FIN, F.iss + 1, F.peer_snd_nxt);
	gt_time_us t_fin = p->t;
	if (want == GT_TCP_CLOSING) {
		/* the peer's FIN crosses ours and does not acknowledge it */
		fx_send(&F, GT_TCP_ACK | GT_TCP_FIN, F.peer_snd_nxt, F.iss + 1, 65535, NULL, 0);
		F.peer_snd_nxt++;
		fx_expect(&F, GT_TCP_ACK, F.iss + 2, F.peer_snd_nxt);
	}
	fx_assert_state(&F, want);
	unsigned fins = 0, rsts = 0;
	gt_time_us end = 0;
	while (fx_state(&F) == want && fins < 50) {
		fx_step(&F);
		while (fx_pending(&F)) {
			p = fx_pop(&F);
			if (p->seg.flags & GT_TCP_RST) {
				rsts++;
			} else {
				assert_true(p->seg.flags & GT_TCP_FIN);
				fins++;
			}
		}
		end = F.now;
	}
	fx_assert_state(&F, GT_TCP_CLOSED);
	const gt_stack_counters *c = gt_stack_get_counters(F.st);
	if (orphan) {
		assert_int_equal(fins, 8);
		assert_int_equal(rsts, 1);
		assert_int_equal(end - t_fin, 511 * RTO); /* 102.2 s */
		assert_int_equal(c->orphans_timedout, 1);
		assert_int_equal(gt_stack_conn_count(F.st), 1);
	} else {
		assert_int_equal(fins, F.cfg.max_retries);
		assert_int_equal(rsts, 0);
		assert_int_equal(c->orphans_timedout, 0);
		assert_int_equal(gt_sock_error(F.st, F.sock), -ETIMEDOUT);
	}
	assert_int_equal(c->conns_timedout, 1);
}

static void test_orphan_last_ack_fin_unacked(void **state)
{
	fin_never_acked(GT_TCP_LAST_ACK, true);
}

static void test_orphan_closing_fin_unacked(void **state)
{
	fin_never_acked(GT_TCP_CLOSING, true);
}

static void test_held_last_ack_fin_unacked(void **state)
{
	fin_never_acked(GT_TCP_LAST_ACK, false);
}

/* orphan_retries above max_retries: max_retries still bounds an orphan,
 * which then ends as an orphan does (RST, counted). */
static void many_orphan_retries(fx_opts *o)
{
	o->cfg.orphan_retries = 20;
	o->cfg.max_retries = 5;
}

static void test_orphan_retries_capped_by_max_retries(void **state)
{
	fx_reinit_with(many_orphan_retries);
	fx_listen(&F);
	int s = open_zero_window(FX_PEER_PORT);
	assert_int_equal(gt_close(F.st, s, F.now), 0);
	peer_tally t = {0};
	while (fx_state(&F) != GT_TCP_CLOSED && t.probes < 100) {
		fx_step(&F);
		peer_answers(&t);
	}
	assert_int_equal(t.probes, 1 + 5);
	assert_int_equal(t.rsts, 1);
	assert_int_equal(gt_stack_get_counters(F.st)->orphans_timedout, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_orphan_answered_probes_reset),
	    FX_TEST(test_orphan_retries_setting),
	    FX_TEST(test_held_zero_window_keeps_probing),
	    FX_TEST(test_held_fin_wait_1_keeps_probing),
	    FX_TEST(test_max_orphans_resets_oldest),
	    FX_TEST(test_max_orphans_default_half),
	    FX_TEST(test_issue_orphans_fill_stack),
	    FX_TEST(test_issue_default_cap_keeps_room),
	    FX_TEST(test_orphan_last_ack_fin_unacked),
	    FX_TEST(test_orphan_closing_fin_unacked),
	    FX_TEST(test_held_last_ack_fin_unacked),
	    FX_TEST(test_orphan_retries_capped_by_max_retries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
