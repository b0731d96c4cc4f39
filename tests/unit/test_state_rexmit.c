/* Retransmission of data (RFC 6298: backoff, clamp, Karn), the retry limit
 * (RFC 1122 §4.2.3.5), the zero window and its persist probes (RFC 9293
 * §3.8.6.1, RFC 1122 §4.2.2.17). */
#include "fixture.h"
#include "stack/stack_impl.h"

#include <errno.h>
#include <string.h>

/* A passive open whose handshake takes rtt: SRTT = rtt, RTTVAR = rtt/2. */
static void established_with_rtt(gt_time_us rtt)
{
	fx_syn_received(&F);
	fx_advance(&F, rtt);
	fx_peer_ack(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	F.sock = gt_accept(F.st, F.lsock, NULL, NULL);
	assert_true(F.sock >= 0);
}

static void limits(fx_opts *o)
{
	o->cfg.rto_max_us = 2 * FX_S;
	o->cfg.max_retries = 5;
}

/* RFC 6298 §5.5 doubling, §2.5 the maximum, and the retry limit: ETIMEDOUT. */
static void test_data_retransmission_backoff_and_timeout(void **state)
{
	fx_reinit_with(limits);
	established_with_rtt(100 * FX_MS); /* RTO = 100 + 4*50 = 300 ms */
	assert_int_equal(gt_send(F.st, F.sock, "payload", 7, F.now), 7);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt);
	gt_time_us t = p->t;
	static const gt_time_us gaps_ms[] = {300, 600, 1200, 2000, 2000};
	for (size_t i = 0; i < 5; i++) {
		t += gaps_ms[i] * FX_MS;
		fx_advance_to(&F, t - 1);
		fx_expect_none(&F);
		fx_advance_to(&F, t);
		p = fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt);
		assert_int_equal(p->seg.payload_len, 7);
		assert_memory_equal(p->seg.payload, "payload", 7);
		fx_expect_none(&F);
	}
	assert_int_equal(gt_stack_get_counters(F.st)->tx_rexmits, 5);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	fx_advance_to(&F, t + 2 * FX_S - 1);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	fx_advance_to(&F, t + 2 * FX_S);
	fx_drain(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_true(gt_poll(F.st, F.sock) & GT_POLLERR);
	assert_int_equal(gt_recv(F.st, F.sock, (char[4]){0}, 4, F.now), -ETIMEDOUT);
	assert_int_equal(gt_send(F.st, F.sock, "x", 1, F.now), -EPIPE);
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_ESTABLISHED, GT_TCP_CLOSED);
	assert_non_null(e);
	assert_string_equal(e->cause, "retransmission limit");
}

/* RFC 6298 §5.4: only the earliest unacknowledged segment goes on the timeout
 * (and RFC 5681 §3.1: cwnd falls to one segment). */
static void test_rto_retransmits_first_segment(void **state)
{
	static uint8_t data[3 * 1460];
	established_with_rtt(100 * FX_MS);
	fx_fill_pattern(data, sizeof(data), 0);
	assert_int_equal(gt_send(F.st, F.sock, data, sizeof(data), F.now), (ssize_t)sizeof(data));
	for (int i = 0; i < 3; i++)
		fx_expect(&F, GT_TCP_ACK, F.iss + 1 + 1460u * i, F.peer_snd_nxt);
	fx_expect_none(&F);
	fx_step(&F);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	assert_int_equal(p->seg.payload_len, 1460);
	fx_expect_none(&F);
	/* the first is acknowledged: the next goes (slow start from one segment) */
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 1 + 1460, F.peer_wnd, NULL, 0);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1 + 1460, F.peer_snd_nxt);
	assert_memory_equal(p->seg.payload, data + 1460, 1460);
	fx_drain(&F);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 1 + sizeof(data), F.peer_wnd, NULL, 0);
	fx_expect_none(&F);
	assert_int_equal(gt_sock_unacked(F.st, F.sock), 0);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

/* Karn's algorithm (RFC 6298 §3): an ACK for a retransmitted segment gives no
 * RTT sample, and the backed-off RTO stays until one that does. */
static void test_karn_no_sample_from_retransmission(void **state)
{
	established_with_rtt(100 * FX_MS);
	gt_tcb *t = fx_tcb(&F);
	assert_true(t->rto.has_sample);
	assert_int_equal(t->rto.srtt, 100 * FX_MS);
	assert_int_equal(t->rto.rttvar, 50 * FX_MS);

	assert_int_equal(gt_send(F.st, F.sock, "a", 1, F.now), 1);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt);
	gt_time_us t0 = F.now;
	assert_int_equal(fx_step(&F), t0 + 300 * FX_MS);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt);
	/* the ACK comes 50 ms after the retransmission, 350 ms after the original:
	 * it cannot be told which one it answers */
	fx_advance(&F, 50 * FX_MS);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 2, F.peer_wnd, NULL, 0);
	assert_int_equal(t->rto.srtt, 100 * FX_MS);
	assert_int_equal(t->rto.rttvar, 50 * FX_MS);
	/* the backed-off 600 ms applies to the next segment */
	assert_int_equal(gt_send(F.st, F.sock, "b", 1, F.now), 1);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 2, F.peer_snd_nxt);
	gt_time_us t1 = F.now;
	assert_int_equal(gt_stack_next_deadline(F.st), t1 + 600 * FX_MS);
	/* a segment sent once and acknowledged gives a sample and ends the backoff */
	fx_advance(&F, 100 * FX_MS);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 3, F.peer_wnd, NULL, 0);
	assert_int_equal(t->rto.srtt, 100 * FX_MS);
	assert_int_equal(t->rto.rttvar, (3 * 50 * FX_MS) / 4);
	assert_int_equal(gt_send(F.st, F.sock, "c", 1, F.now), 1);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 3, F.peer_snd_nxt);
	assert_int_equal(gt_stack_next_deadline(F.st), F.now + 100 * FX_MS + 4 * 37500);
}

/* RFC 6298 §5.3: when an ACK acknowledges new data, restart the timer. */
static void test_timer_restarted_on_ack(void **state)
{
	static uint8_t data[2 * 1460];
	established_with_rtt(100 * FX_MS);
	assert_int_equal(gt_send(F.st, F.sock, data, sizeof(data), F.now), (ssize_t)sizeof(data));
	fx_drain(&F);
	fx_advance(&F, 200 * FX_MS);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 1 + 1460, F.peer_wnd, NULL, 0);
	gt_time_us rto = gt_rto_current(&fx_tcb(&F)->rto);
	assert_int_equal(gt_stack_next_deadline(F.st), F.now + rto);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 1 + 2920, F.peer_wnd, NULL, 0);
	/* RFC 6298 §5.2: all acknowledged, the timer stops */
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

/* ---- zero window ---- */

/* RFC 9293 §3.8.6.1: with a zero window and data waiting, probe with one octet
 * of new data; the probes back off; RFC 1122 §4.2.2.17: "As long as the
 * receiving TCP continues to send acknowledgments in response to the probe
 * segments, the sending TCP MUST allow the connection to stay open." */
static void test_zero_window_persist(void **state)
{
	static uint8_t data[100];
	fx_established(&F);
	fx_fill_pattern(data, sizeof(data), 0);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 1, 0, NULL, 0); /* window closes */
	fx_expect_none(&F);
	assert_int_equal(gt_send(F.st, F.sock, data, sizeof(data), F.now), 100);
	fx_expect_none(&F);
	gt_time_us prev = F.now, prev_gap = 0;
	unsigned probes = 0;
	for (int i = 0; i < 3 * (int)F.cfg.max_retries; i++) {
		gt_time_us t = fx_step(&F);
		const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
		assert_int_equal(p->seg.payload_len, 1);
		assert_int_equal(p->seg.payload[0], data[0]);
		fx_expect_none(&F);
		probes++;
		gt_time_us gap = t - prev;
		assert_true(gap >= prev_gap); /* backing off */
		assert_true(gap <= F.cfg.rto_max_us);
		prev = t;
		prev_gap = gap;
		/* the receiver answers: still no room */
		fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 1, 0, NULL, 0);
		fx_expect_none(&F);
		fx_assert_state(&F, GT_TCP_ESTABLISHED);
	}
	assert_true(probes > F.cfg.max_retries);
	assert_int_equal(prev_gap, F.cfg.rto_max_us);
	assert_int_equal(gt_sock_error(F.st, F.sock), 0);
	/* the window opens: everything arrives, in order */
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 1, 65535, NULL, 0);
	uint8_t got[100];
	uint32_t have = 0;
	for (int guard = 0; have < 100 && guard < 20; guard++) {
		while (fx_pending(&F)) {
			const fx_pkt *p = fx_pop(&F);
			uint32_t off = p->seg.seq - (F.iss + 1);
			if (off <= have && off + p->seg.payload_len > have) {
				memcpy(got + off, p->seg.payload, p->seg.payload_len);
				have = off + p->seg.payload_len;
			}
			fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 1 + have, 65535, NULL, 0);
		}
		if (have < 100)
			fx_step(&F);
	}
	assert_int_equal(have, 100);
	assert_memory_equal(got, data, 100);
	fx_drain(&F);
	assert_int_equal(gt_sock_unacked(F.st, F.sock), 0);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

/* A window that reopens before any probe: the persist timer stops and the
 * data goes at once. */
static void test_zero_window_reopened_by_update(void **state)
{
	fx_established(&F);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 1, 0, NULL, 0);
	assert_int_equal(gt_send(F.st, F.sock, "wait", 4, F.now), 4);
	fx_expect_none(&F);
	assert_true(gt_stack_next_deadline(F.st) != GT_TIME_NEVER);
	fx_advance(&F, 50 * FX_MS);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 1, 1000, NULL, 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt);
	assert_int_equal(p->seg.payload_len, 4);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 5, 1000, NULL, 0);
	fx_expect_none(&F);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

/* When the window opens after probing, the data goes at once, from SND.UNA:
 * the probe's octet lay beyond a zero window and was not kept, and waiting for
 * its (backed-off) retransmission timeout would stall the connection for up to
 * rto_max (RFC 9293 §3.8.6.1: the probes exist so that "the re-opening of the
 * window will be reliably reported"). */
static void test_zero_window_opens_after_probes(void **state)
{
	static uint8_t data[100];
	fx_established(&F);
	fx_fill_pattern(data, sizeof(data), 0);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 1, 0, NULL, 0);
	assert_int_equal(gt_send(F.st, F.sock, data, sizeof(data), F.now), 100);
	for (int i = 0; i < 8; i++) {
		fx_step(&F);
		const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
		assert_int_equal(p->seg.payload_len, 1);
		fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 1, 0, NULL, 0);
	}
	fx_advance(&F, 10 * FX_MS);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 1, 65535, NULL, 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt);
	assert_int_equal(p->seg.payload_len, 100);
	assert_memory_equal(p->seg.payload, data, 100);
	fx_expect_none(&F);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 101, 65535, NULL, 0);
	fx_expect_none(&F);
	assert_int_equal(gt_sock_unacked(F.st, F.sock), 0);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

/* Probes nobody answers are retransmissions like any other: the connection
 * times out after max_retries. */
static void few_retries(fx_opts *o)
{
	o->cfg.max_retries = 4;
}

static void test_zero_window_unanswered_probes_time_out(void **state)
{
	fx_reinit_with(few_retries);
	fx_established(&F);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 1, 0, NULL, 0);
	assert_int_equal(gt_send(F.st, F.sock, "xyz", 3, F.now), 3);
	unsigned probes = 0;
	while (fx_state(&F) == GT_TCP_ESTABLISHED && probes < 50) {
		fx_step(&F);
		while (fx_pending(&F)) {
			const fx_pkt *p = fx_pop(&F);
			if (p->seg.payload_len == 1)
				probes++;
		}
	}
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_int_equal(probes, 1 + F.cfg.max_retries);
	assert_int_equal(gt_sock_error(F.st, F.sock), -ETIMEDOUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_data_retransmission_backoff_and_timeout),
	    FX_TEST(test_rto_retransmits_first_segment),
	    FX_TEST(test_karn_no_sample_from_retransmission),
	    FX_TEST(test_timer_restarted_on_ack),
	    FX_TEST(test_zero_window_persist),
	    FX_TEST(test_zero_window_reopened_by_update),
	    FX_TEST(test_zero_window_opens_after_probes),
	    FX_TEST(test_zero_window_unanswered_probes_time_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
