/* TIME-WAIT (RFC 9293 §3.10.7.4 eighth step, §3.10.8 TIME-WAIT TIMEOUT,
 * RFC 1122 §4.2.2.13 on reopening from TIME-WAIT). */
#include "fixture.h"
#include "stack/stack_impl.h"

#include <errno.h>
#include <string.h>

/* TIME-WAIT lasts exactly 2*MSL: "If the time-wait timeout expires on a
 * connection, delete the TCB, enter the CLOSED state". */
static void test_time_wait_lasts_2msl(void **state)
{
	fx_fin_wait_2(&F);
	fx_peer_fin(&F);
	gt_time_us t0 = F.now;
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	fx_assert_state(&F, GT_TCP_TIME_WAIT);
	assert_int_equal(gt_stack_next_deadline(F.st), t0 + 2 * F.cfg.msl_us);
	fx_advance_to(&F, t0 + 2 * F.cfg.msl_us - 1);
	fx_assert_state(&F, GT_TCP_TIME_WAIT);
	fx_advance_to(&F, t0 + 2 * F.cfg.msl_us);
	fx_assert_state(&F, GT_TCP_CLOSED);
	fx_expect_none(&F);
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_TIME_WAIT, GT_TCP_CLOSED);
	assert_non_null(e);
	assert_string_equal(e->cause, "2MSL timeout");
	assert_int_equal(e->t, t0 + 2 * F.cfg.msl_us);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
	/* the socket sees a clean end */
	assert_int_equal(gt_recv(F.st, F.sock, (char[4]){0}, 4, F.now), 0);
	assert_int_equal(gt_sock_error(F.st, F.sock), 0);
}

static void short_msl(fx_opts *o)
{
	o->cfg.msl_us = 2 * FX_S;
}

/* The MSL comes from the configuration. */
static void test_time_wait_configured_msl(void **state)
{
	fx_reinit_with(short_msl);
	fx_time_wait(&F);
	gt_time_us t0 = F.now;
	assert_int_equal(fx_step(&F), t0 + 4 * FX_S);
	fx_assert_state(&F, GT_TCP_CLOSED);
}

/* "The only thing that can arrive in this state is a retransmission of the
 * remote FIN. Acknowledge it, and restart the 2 MSL timeout." */
static void test_time_wait_fin_again_restarts_2msl(void **state)
{
	fx_time_wait(&F);
	gt_time_us t0 = F.now;
	fx_advance(&F, 10 * FX_S);
	for (int i = 0; i < 2; i++) {
		fx_send(&F, GT_TCP_FIN | GT_TCP_ACK, F.peer_snd_nxt - 1, F.peer_rcv_nxt, F.peer_wnd,
		        NULL, 0);
		fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
		fx_expect_none(&F);
	}
	gt_time_us t1 = F.now;
	assert_true(t1 > t0);
	fx_advance_to(&F, t0 + 2 * F.cfg.msl_us);
	fx_assert_state(&F, GT_TCP_TIME_WAIT);
	fx_advance_to(&F, t1 + 2 * F.cfg.msl_us - 1);
	fx_assert_state(&F, GT_TCP_TIME_WAIT);
	fx_advance_to(&F, t1 + 2 * F.cfg.msl_us);
	fx_assert_state(&F, GT_TCP_CLOSED);
}

/* The FIN again, carrying data that was already received, is the same thing. */
static void test_time_wait_fin_with_old_data(void **state)
{
	fx_established(&F);
	fx_peer_data(&F, "tail", 4);
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	fx_goto(&F, GT_TCP_TIME_WAIT);
	fx_send(&F, GT_TCP_FIN | GT_TCP_ACK | GT_TCP_PSH, F.peer_snd_nxt - 5, F.peer_rcv_nxt,
	        F.peer_wnd, "tail", 4);
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	fx_assert_state(&F, GT_TCP_TIME_WAIT);
}

/* TIME-WAIT after a simultaneous close (CLOSING) lasts 2*MSL too. */
static void test_time_wait_from_closing(void **state)
{
	fx_closing(&F);
	fx_peer_ack(&F);
	gt_time_us t0 = F.now;
	fx_assert_state(&F, GT_TCP_TIME_WAIT);
	assert_int_equal(fx_step(&F), t0 + 2 * F.cfg.msl_us);
	fx_assert_state(&F, GT_TCP_CLOSED);
}

/* An orphan (after close()) in TIME-WAIT keeps only the sequence numbers and
 * still acknowledges the FIN again, with the window it offered before. */
static void test_time_wait_orphan(void **state)
{
	fx_established(&F);
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	uint16_t wnd = p->seg.wnd;
	F.peer_rcv_nxt++;
	fx_peer_ack(&F);
	fx_peer_fin(&F);
	fx_expect(&F, GT_TCP_ACK, F.iss + 2, F.peer_snd_nxt);
	fx_assert_state(&F, GT_TCP_TIME_WAIT);
	gt_tcb *t = fx_tcb(&F);
	assert_null(t->rcvbuf.data);
	assert_null(t->sndbuf.data);
	fx_send(&F, GT_TCP_FIN | GT_TCP_ACK, F.peer_snd_nxt - 1, F.iss + 2, F.peer_wnd, NULL, 0);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 2, F.peer_snd_nxt);
	assert_true(p->seg.wnd > 0);
	assert_true(p->seg.wnd <= wnd);
	fx_advance(&F, 2 * F.cfg.msl_us);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_int_equal(gt_stack_conn_count(F.st), 1);
}

/* RFC 1122 §4.2.2.13 / RFC 6191: a new SYN above the old sequence space may
 * reopen a connection in TIME-WAIT when a listener is there. */
static void test_time_wait_new_syn_reopens(void **state)
{
	fx_time_wait(&F);
	uint32_t new_isn = F.peer_snd_nxt + 100000;
	F.iss += 0x10000; /* our ISN for the new incarnation */
	fx_send(&F, GT_TCP_SYN, new_isn, 0, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, new_isn + 1);
	fx_assert_state(&F, GT_TCP_SYN_RECEIVED);
	fx_send(&F, GT_TCP_ACK, new_isn + 1, F.iss + 1, 8192, NULL, 0);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	assert_true(gt_accept(F.st, F.lsock, NULL, NULL) >= 0);
}

/* A SYN at or below RCV.NXT is an old duplicate: challenge ACK, TIME-WAIT stays. */
static void test_time_wait_old_syn_challenged(void **state)
{
	fx_time_wait(&F);
	fx_send(&F, GT_TCP_SYN, F.peer_snd_nxt - 5, 0, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_TIME_WAIT);
}

/* The active opener's TIME-WAIT, and reusing its 4-tuple after it ends. */
static void test_time_wait_active_side(void **state)
{
	F.opts.active = true;
	fx_time_wait(&F);
	uint16_t lport = F.lport;
	assert_int_equal(gt_stack_conn_count(F.st), 1);
	fx_advance(&F, 2 * F.cfg.msl_us);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_int_equal(gt_stack_conn_count(F.st), 0);
	/* the port is free again */
	int s = gt_socket(F.st);
	assert_int_equal(gt_bind(F.st, s, 0, lport), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_time_wait_lasts_2msl),
	    FX_TEST(test_time_wait_configured_msl),
	    FX_TEST(test_time_wait_fin_again_restarts_2msl),
	    FX_TEST(test_time_wait_fin_with_old_data),
	    FX_TEST(test_time_wait_from_closing),
	    FX_TEST(test_time_wait_orphan),
	    FX_TEST(test_time_wait_new_syn_reopens),
	    FX_TEST(test_time_wait_old_syn_challenged),
	    FX_TEST(test_time_wait_active_side),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
