/* ESTABLISHED: segment text (RFC 9293 §3.10.7.4 seventh), trimming to the
 * window, out-of-order data, FIN (eighth), ACK policy (RFC 1122 §4.2.3.2,
 * RFC 5681 §4.2), receiver SWS avoidance (§3.8.6.2.2), close() with unread
 * data (RFC 1122 §4.2.2.13) and the throttled ACK for unacceptable segments
 * (RFC 5961 §7). */
#include "fixture.h"
#include "stack/stack_impl.h"

#include <errno.h>
#include <string.h>

/* The peer's stream: offset 0 is the octet after its SYN. */
static uint32_t P(uint32_t off)
{
	return F.opts.peer_iss + 1 + off;
}

static void send_pattern(uint32_t off, uint32_t len, uint8_t extra_flags)
{
	static uint8_t buf[70000];
	fx_fill_pattern(buf, len, off);
	fx_send(&F, GT_TCP_ACK | extra_flags, P(off), F.peer_rcv_nxt, F.peer_wnd, buf, len);
}

static void recv_expect_pattern(uint32_t off, uint32_t len)
{
	static uint8_t want[70000], got[70000];
	fx_fill_pattern(want, len, off);
	assert_int_equal(gt_recv(F.st, F.sock, got, len, F.now), (ssize_t)len);
	assert_memory_equal(got, want, len);
}

/* ---- text ---- */

/* Old duplicate text is acknowledged with the current RCV.NXT every time. */
static void test_duplicate_data_acked(void **state)
{
	fx_established(&F);
	send_pattern(0, 100, GT_TCP_PSH);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(100));
	for (int i = 0; i < 3; i++) {
		send_pattern(0, 100, GT_TCP_PSH);
		fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(100));
		send_pattern(20, 30, GT_TCP_PSH);
		fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(100));
	}
	fx_expect_none(&F);
	assert_int_equal(gt_sock_readable(F.st, F.sock), 100);
	recv_expect_pattern(0, 100);
}

/* "If a segment's contents straddle the boundary between old and new, only
 * the new parts are processed." */
static void test_left_edge_overlap_trimmed(void **state)
{
	fx_established(&F);
	send_pattern(0, 10, GT_TCP_PSH);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(10));
	send_pattern(5, 10, GT_TCP_PSH);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(15));
	fx_expect_none(&F);
	assert_int_equal(gt_sock_readable(F.st, F.sock), 15);
	recv_expect_pattern(0, 15);
}

/* "Segments with higher beginning sequence numbers may be held for later
 * processing" and the text past the window's right edge is trimmed, with any
 * FIN it carries. */
static void small_rcvbuf(fx_opts *o)
{
	o->cfg.rcvbuf = 2048;
}

static void test_beyond_window_trimmed(void **state)
{
	fx_reinit_with(small_rcvbuf);
	fx_established(&F);
	send_pattern(0, 2148, GT_TCP_PSH | GT_TCP_FIN);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(2048));
	assert_int_equal(p->seg.wnd, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED); /* the FIN was past the window */
	/* reading opens the window again: a window update */
	recv_expect_pattern(0, 2048);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(2048));
	assert_int_equal(p->seg.wnd, 2048);
	fx_expect_none(&F);
	/* the rest, with its FIN, now fits */
	send_pattern(2048, 100, GT_TCP_PSH | GT_TCP_FIN);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(2149));
	fx_assert_state(&F, GT_TCP_CLOSE_WAIT);
	recv_expect_pattern(2048, 100);
}

/* Out-of-order text is held and delivered when the hole fills; each
 * out-of-order segment draws an immediate duplicate ACK and the one that
 * fills the hole an immediate ACK (RFC 5681 §4.2). */
static void test_out_of_order_held(void **state)
{
	fx_opts o;
	fx_opts_default(&o);
	o.cfg.delack_us = 40 * FX_MS; /* the immediate ACKs do not come from delack 0 */
	fx_reinit(&o);
	fx_established(&F);
	send_pattern(10, 10, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
	send_pattern(30, 10, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
	send_pattern(25, 10, 0); /* overlaps the held [30,40) */
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
	assert_int_equal(gt_sock_readable(F.st, F.sock), 0);
	assert_int_equal(gt_poll(F.st, F.sock), GT_POLLOUT);
	send_pattern(0, 10, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(20));
	recv_expect_pattern(0, 20);
	send_pattern(20, 5, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(40));
	fx_expect_none(&F);
	recv_expect_pattern(20, 20);
}

/* A FIN beyond a hole waits for the hole. */
static void test_out_of_order_fin(void **state)
{
	fx_established(&F);
	send_pattern(10, 10, GT_TCP_FIN);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	send_pattern(0, 10, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(21));
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSE_WAIT);
	recv_expect_pattern(0, 20);
	assert_int_equal(gt_recv(F.st, F.sock, (char[4]){0}, 4, F.now), 0);
}

/* The out-of-order queue is bounded: a segment that would need one more range
 * is dropped (and counted) but still draws the duplicate ACK; the data comes
 * in later anyway. */
static void two_ranges(fx_opts *o)
{
	o->cfg.reasm_max_ranges = 2;
}

static void test_reasm_bound(void **state)
{
	fx_reinit_with(two_ranges);
	fx_established(&F);
	send_pattern(10, 5, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
	send_pattern(20, 5, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
	send_pattern(30, 5, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
	assert_int_equal(gt_stack_get_counters(F.st)->drop[GT_DROP_REASM_FULL], 1);
	/* adjacent to a held range: merges, needs no new range */
	send_pattern(15, 5, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
	send_pattern(0, 10, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(25));
	send_pattern(25, 15, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(40));
	recv_expect_pattern(0, 40);
}

/* A segment that covers a held out-of-order block wholly and reaches into the
 * next: every block it reaches is pulled into the stream, not only the first
 * (RFC 9293 §3.10.7.4 seventh: held segments are processed "as they
 * become in-window"). */
static void test_reasm_segment_covers_held_block(void **state)
{
	fx_established(&F);
	send_pattern(10, 10, 0); /* held [10, 20) */
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
	send_pattern(30, 10, 0); /* held [30, 40) */
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
	send_pattern(0, 35, 0); /* covers [10, 20), reaches into [30, 40) */
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(40));
	fx_expect_none(&F);
	assert_int_equal(gt_sock_readable(F.st, F.sock), 40);
	recv_expect_pattern(0, 40);
	/* and one that covers two held blocks and ends inside the hole after them */
	send_pattern(50, 10, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(40));
	send_pattern(70, 10, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(40));
	send_pattern(90, 10, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(40));
	send_pattern(40, 45, 0); /* [40, 85): covers [50, 60) and [70, 80) */
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(85));
	assert_int_equal(gt_sock_readable(F.st, F.sock), 45);
	send_pattern(85, 5, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(100));
	recv_expect_pattern(40, 60);
}

static void delack_40ms(fx_opts *o)
{
	o->cfg.delack_us = 40 * FX_MS;
}

/* RFC 5681 §4.2: "an immediate ACK SHOULD be generated when a segment arrives
 * that fills in all or part of a gap in the sequence space". Part of the gap:
 * the data stays below a hole, the ACK goes at once all the same. */
static void test_partial_gap_fill_acked_at_once(void **state)
{
	fx_reinit_with(delack_40ms);
	fx_established(&F);
	send_pattern(30, 10, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
	send_pattern(0, 10, 0); /* fills [0, 10) of the hole [0, 30) */
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(10));
	send_pattern(20, 5, 0); /* out of order again, inside the hole */
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(10));
	send_pattern(10, 10, 0); /* [10, 20): part of the hole, below [20, 25) */
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(25));
	fx_expect_none(&F);
}

/* A FIN alone beyond a hole is out-of-order too: it draws the duplicate ACK
 * at once (RFC 5681 §4.2), and is processed when the hole fills. */
static void test_fin_beyond_hole_draws_dup_ack(void **state)
{
	fx_reinit_with(delack_40ms);
	fx_established(&F);
	send_pattern(10, 10, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
	fx_send(&F, GT_TCP_ACK | GT_TCP_FIN, P(20), F.peer_rcv_nxt, F.peer_wnd, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	send_pattern(0, 10, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(21));
	fx_assert_state(&F, GT_TCP_CLOSE_WAIT);
	recv_expect_pattern(0, 20);
}

/* ---- FIN ---- */

/* ESTABLISHED: "Enter the CLOSE-WAIT state"; RECEIVE then signals the end. */
static void test_fin_to_close_wait(void **state)
{
	fx_established(&F);
	send_pattern(0, 5, GT_TCP_PSH | GT_TCP_FIN);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(6));
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSE_WAIT);
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_ESTABLISHED, GT_TCP_CLOSE_WAIT);
	assert_non_null(e);
	assert_string_equal(e->cause, "rcv FIN");
	assert_int_equal(gt_poll(F.st, F.sock), GT_POLLIN | GT_POLLOUT | GT_POLLRDHUP);
	recv_expect_pattern(0, 5);
	assert_int_equal(gt_recv(F.st, F.sock, (char[4]){0}, 4, F.now), 0);
	assert_int_equal(gt_recv(F.st, F.sock, (char[4]){0}, 4, F.now), 0);
	/* we may still send */
	assert_int_equal(gt_send(F.st, F.sock, "late", 4, F.now), 4);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, P(6));
	/* a retransmitted FIN is acknowledged again */
	fx_send(&F, GT_TCP_FIN | GT_TCP_ACK, P(5), F.iss + 1, F.peer_wnd, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 5, P(6));
	fx_expect_none(&F);
}

/* The ACK for a FIN may be delayed (RFC 1122 §4.2.3.2: well under 0.5 s), and a
 * close() within that delay carries it on our FIN. */
static void with_delack(fx_opts *o)
{
	o->cfg.delack_us = 40 * FX_MS;
}

static void test_ack_for_fin_delayed(void **state)
{
	fx_reinit_with(with_delack);
	fx_established(&F);
	gt_time_us t0 = F.now;
	fx_peer_fin(&F);
	fx_advance(&F, 40 * FX_MS);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	assert_true(p->t - t0 <= 40 * FX_MS);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSE_WAIT);
}

static void test_ack_for_fin_rides_on_our_fin(void **state)
{
	fx_reinit_with(with_delack);
	fx_established(&F);
	fx_peer_fin(&F);
	fx_advance(&F, 5 * FX_MS);
	fx_expect_none(&F);
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	fx_advance(&F, 100 * FX_MS);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_LAST_ACK);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 2, F.peer_wnd, NULL, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_int_equal(gt_stack_conn_count(F.st), 1); /* the listener */
}

/* RFC 5681 §4.2 / RFC 1122 §4.2.3.2: with delayed ACKs, at least every second
 * full-sized segment is acknowledged at once; a lone one within the delay. */
static void test_delayed_ack_policy(void **state)
{
	fx_reinit_with(with_delack);
	fx_established(&F);
	send_pattern(0, 1460, 0);
	fx_expect_none(&F);
	send_pattern(1460, 1460, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(2920));
	send_pattern(2920, 1460, 0);
	fx_expect_none(&F);
	gt_time_us t0 = F.now;
	fx_advance(&F, 100 * FX_MS);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(4380));
	assert_int_equal(p->t - t0, 40 * FX_MS);
	fx_expect_none(&F);
}

/* ---- throttled ACKs ---- */

/* RFC 5961 §7 / §10: a zero-length unacceptable segment is answered at most
 * once per 500 ms, however many arrive. */
static void test_unacceptable_ack_rate_limit(void **state)
{
	fx_established(&F);
	unsigned acks = 0;
	for (int i = 0; i < 200; i++) {
		fx_send(&F, GT_TCP_ACK, P(0) + 100000, F.iss + 1, F.peer_wnd, NULL, 0);
		while (fx_pending(&F)) {
			fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
			acks++;
		}
		fx_advance(&F, 10 * FX_MS); /* 200 segments over 2 s */
	}
	assert_true(acks >= 4);
	assert_true(acks <= 4);
	/* a data-bearing unacceptable segment is answered every time */
	for (int i = 0; i < 5; i++) {
		fx_send(&F, GT_TCP_ACK, P(0) - 50, F.iss + 1, F.peer_wnd, "old", 3);
		fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
	}
}

/* RFC 5961 §4.2 (issue 12): a SYN outside the window draws its ACK through
 * the same limiter as one inside: 1,000 in one second draw at most one ACK
 * per 500 ms, while out-of-window data is still ACKed every time. */
static void test_out_of_window_syn_rate_limited(void **state)
{
	fx_established(&F);
	unsigned acks = 0;
	for (int i = 0; i < 1000; i++) {
		uint32_t seq = (i % 2) ? P(0) + 200000 + (uint32_t)i : P(0) - 1000 - (uint32_t)i;
		fx_send(&F, GT_TCP_SYN, seq, 0, F.peer_wnd, NULL, 0);
		while (fx_pending(&F)) {
			fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
			acks++;
		}
		fx_advance(&F, FX_MS); /* 1,000 SYNs in one second */
	}
	assert_true(acks >= 1);
	assert_true(acks <= 2);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	for (int i = 0; i < 3; i++) {
		fx_send(&F, GT_TCP_ACK, P(0) - 50, F.iss + 1, F.peer_wnd, "old", 3);
		fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(0));
	}
}

/* Two stacks that disagree about the sequence numbers cannot ACK each other
 * forever: each answers the other's unacceptable ACK at most every 500 ms. */
static void test_no_ack_war_between_two_stacks(void **state)
{
	gt_sim *sim = gt_sim_new(7);
	assert_non_null(sim);
	int ha = gt_sim_add_host(sim, "a", GT_TEST_ADDR(1), NULL);
	int hb = gt_sim_add_host(sim, "b", GT_TEST_ADDR(2), NULL);
	gt_stack *a = gt_sim_stack(sim, ha), *b = gt_sim_stack(sim, hb);
	int l = gt_socket(b);
	assert_int_equal(gt_bind(b, l, 0, 80), 0);
	assert_int_equal(gt_listen(b, l, 0, 0), 0);
	int ca = gt_socket(a);
	assert_int_equal(gt_connect(a, ca, GT_TEST_ADDR(2), 80, 0), -EINPROGRESS);
	gt_sim_run_until(sim, 1 * FX_S);
	assert_int_equal(gt_sock_state(a, ca), GT_TCP_ESTABLISHED);
	int cb = gt_accept(b, l, NULL, NULL);
	assert_true(cb >= 0);
	/* both ends now believe they have received far more than was sent */
	gt_tcb *ta = gt_stack_sock_tcb(a, ca), *tb = gt_stack_sock_tcb(b, cb);
	ta->rcv_nxt += 1000000;
	ta->rcv_adv += 1000000;
	tb->rcv_nxt += 1000000;
	tb->rcv_adv += 1000000;
	uint64_t before = gt_sim_get_stats(sim)->packets_sent;
	/* a's ACK (the kind a window update or keepalive would send) starts it */
	gt_tcb_send_ack(ta, gt_sim_now(sim));
	gt_sim_run_until(sim, 11 * FX_S);
	uint64_t sent = gt_sim_get_stats(sim)->packets_sent - before;
	/* without the limit this would be one packet per 10 ms one-way delay */
	assert_true(sent <= 2 * (10 * FX_S / (500 * FX_MS)) + 2);
	/* and the exchange has died out */
	before = gt_sim_get_stats(sim)->packets_sent;
	gt_sim_run_until(sim, 21 * FX_S);
	assert_int_equal(gt_sim_get_stats(sim)->packets_sent - before, 0);
	gt_sim_free(sim);
}

/* ---- receiver SWS avoidance ---- */

/* RFC 9293 §3.8.6.2.2: the right window edge moves only when it can move by
 * at least min(RCV.BUFF/2, Eff.snd.MSS). */
static void sws_cfg(fx_opts *o)
{
	o->cfg.rcvbuf = 8192;
	o->peer_mss = 1000;
}

static void test_receiver_sws_avoidance(void **state)
{
	fx_reinit_with(sws_cfg);
	fx_established(&F);
	uint16_t wnd = fx_peer_send_acked(&F, 8192, 1000);
	assert_int_equal(wnd, 0);
	/* the application reads 500 octets: not enough to open the window */
	recv_expect_pattern(0, 500);
	fx_expect_none(&F);
	/* a zero-window probe is answered, still with a zero window */
	static const uint8_t one = 0;
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.peer_rcv_nxt, F.peer_wnd, &one, 1);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	assert_int_equal(p->seg.wnd, 0);
	/* 499 more: still one octet short of an MSS */
	recv_expect_pattern(500, 499);
	fx_expect_none(&F);
	/* one more octet: the window opens by a full MSS at once */
	recv_expect_pattern(999, 1);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	assert_int_equal(p->seg.wnd, 1000);
	fx_expect_none(&F);
	/* and it never shrinks */
	recv_expect_pattern(1000, 10);
	fx_expect_none(&F);
	fx_peer_ack(&F);
	fx_expect_none(&F);
}

/* ---- close() with unread data ---- */

/* RFC 1122 §4.2.2.13: "If such a host issues a CLOSE call while received data
 * is still pending in TCP, or if new data is received after CLOSE is called,
 * its TCP SHOULD send a RST to show that data was lost." */
static void test_close_with_unread_data_sends_rst(void **state)
{
	fx_established(&F);
	send_pattern(0, 10, GT_TCP_PSH);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(10));
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	fx_expect(&F, GT_TCP_RST, F.iss + 1, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_int_equal(gt_stack_conn_count(F.st), 1);
	assert_int_equal(gt_poll(F.st, F.sock), -EBADF);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

static void test_data_after_close_sends_rst(void **state)
{
	fx_established(&F);
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, F.iss + 1, P(0));
	fx_assert_state(&F, GT_TCP_FIN_WAIT_1);
	send_pattern(0, 10, GT_TCP_PSH);
	fx_expect(&F, GT_TCP_RST, F.iss + 2, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_int_equal(gt_stack_conn_count(F.st), 1);
}

/* shutdown(SHUT_RD) discards what is unread, so close() is clean after it. */
static void test_close_after_shut_rd_sends_fin(void **state)
{
	fx_established(&F);
	send_pattern(0, 10, GT_TCP_PSH);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(10));
	assert_int_equal(gt_shutdown(F.st, F.sock, GT_SHUT_RD, F.now), 0);
	assert_int_equal(gt_recv(F.st, F.sock, (char[4]){0}, 4, F.now), 0);
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, F.iss + 1, P(10));
	fx_assert_state(&F, GT_TCP_FIN_WAIT_1);
}

/* ---- RST with ACK, sending limits ---- */

static void test_rst_ack_exact_resets(void **state)
{
	fx_established(&F);
	fx_send(&F, GT_TCP_RST | GT_TCP_ACK, P(0), F.iss + 1, 0, NULL, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_true(gt_poll(F.st, F.sock) & GT_POLLERR);
	assert_int_equal(gt_recv(F.st, F.sock, (char[4]){0}, 4, F.now), -ECONNRESET);
	assert_int_equal(gt_recv(F.st, F.sock, (char[4]){0}, 4, F.now), 0);
	assert_int_equal(gt_send(F.st, F.sock, "x", 1, F.now), -EPIPE);
}

/* Our segments stay within the peer's window and MSS; a window update lets
 * the rest go. */
static void test_send_within_peer_window(void **state)
{
	static uint8_t data[5000];
	F.peer_wnd = 3000;
	fx_established(&F);
	fx_fill_pattern(data, sizeof(data), 0);
	assert_int_equal(gt_send(F.st, F.sock, data, sizeof(data), F.now), 5000);
	uint32_t seq = F.iss + 1;
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, seq, P(0));
	assert_int_equal(p->seg.payload_len, 1460);
	assert_memory_equal(p->seg.payload, data, 1460);
	p = fx_expect(&F, GT_TCP_ACK, seq + 1460, P(0));
	assert_int_equal(p->seg.payload_len, 1460);
	/* 80 octets of window left: below both the MSS and half the largest
	 * window, so sender SWS avoidance holds them (RFC 9293 §3.8.6.2.1) */
	fx_expect_none(&F);
	fx_send(&F, GT_TCP_ACK, P(0), seq + 2920, 3000, NULL, 0);
	p = fx_expect(&F, GT_TCP_ACK, seq + 2920, P(0));
	assert_int_equal(p->seg.payload_len, 1460);
	/* Nagle in Minshall's variant (RFC 9293 §3.7.4; draft-minshall-nagle-01):
	 * the short tail fits the window and no small segment is in flight, so
	 * it goes behind the full one */
	p = fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, seq + 4380, P(0));
	assert_int_equal(p->seg.payload_len, 620);
	assert_memory_equal(p->seg.payload, data + 4380, 620);
	fx_expect_none(&F);
	fx_send(&F, GT_TCP_ACK, P(0), seq + 5000, 3000, NULL, 0);
	fx_expect_none(&F);
	assert_int_equal(gt_sock_unacked(F.st, F.sock), 0);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

/* "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If
 * (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)), set
 * SND.WND <- SEG.WND": an old, reordered segment does not close the window. */
static void test_old_segment_does_not_update_window(void **state)
{
	static uint8_t data[1000];
	fx_established(&F);
	send_pattern(0, 10, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(10));
	fx_send(&F, GT_TCP_ACK, P(10), F.iss + 1, 3000, "0123456789", 10); /* WL1 = P(10) */
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(20));
	/* overlaps the new data, but starts before WL1: window 0 is ignored */
	fx_send(&F, GT_TCP_ACK, P(5), F.iss + 1, 0, "5678901234", 10);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, P(20));
	assert_int_equal(fx_tcb(&F)->snd_wnd, 3000);
	assert_int_equal(gt_send(F.st, F.sock, data, sizeof(data), F.now), 1000);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, P(20));
	/* the ACK of it moves WL2; an older ACK with the same SEQ does not count */
	fx_send(&F, GT_TCP_ACK, P(20), F.iss + 1001, 4000, NULL, 0);
	fx_send(&F, GT_TCP_ACK, P(20), F.iss + 1, 0, NULL, 0);
	fx_expect_none(&F);
	assert_int_equal(fx_tcb(&F)->snd_wnd, 4000);
	assert_int_equal(gt_send(F.st, F.sock, data, 100, F.now), 100);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1001, P(20));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_duplicate_data_acked),
	    FX_TEST(test_left_edge_overlap_trimmed),
	    FX_TEST(test_beyond_window_trimmed),
	    FX_TEST(test_out_of_order_held),
	    FX_TEST(test_out_of_order_fin),
	    FX_TEST(test_reasm_bound),
	    FX_TEST(test_reasm_segment_covers_held_block),
	    FX_TEST(test_partial_gap_fill_acked_at_once),
	    FX_TEST(test_fin_beyond_hole_draws_dup_ack),
	    FX_TEST(test_fin_to_close_wait),
	    FX_TEST(test_ack_for_fin_delayed),
	    FX_TEST(test_ack_for_fin_rides_on_our_fin),
	    FX_TEST(test_delayed_ack_policy),
	    FX_TEST(test_unacceptable_ack_rate_limit),
	    FX_TEST(test_out_of_window_syn_rate_limited),
	    FX_TEST(test_no_ack_war_between_two_stacks),
	    FX_TEST(test_receiver_sws_avoidance),
	    FX_TEST(test_close_with_unread_data_sends_rst),
	    FX_TEST(test_data_after_close_sends_rst),
	    FX_TEST(test_close_after_shut_rd_sends_fin),
	    FX_TEST(test_rst_ack_exact_resets),
	    FX_TEST(test_send_within_peer_window),
	    FX_TEST(test_old_segment_does_not_update_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
