/* Closing: FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING and LAST-ACK (RFC 9293
 * §3.10.4 CLOSE and §3.10.7.4 fifth and eighth steps), with the FIN's
 * retransmission (RFC 6298) and the orphaned FIN-WAIT-2 bound. */
#include "fixture.h"
#include "stack/stack_impl.h"

#include <errno.h>
#include <string.h>

/* ---- FIN-WAIT-1 ---- */

/* "FIN-WAIT-1 STATE: In addition to the processing for the ESTABLISHED state,
 * if the FIN segment is now acknowledged, then enter FIN-WAIT-2" */
static void test_fin_wait_1_ack_of_fin(void **state)
{
	fx_fin_wait_1(&F);
	/* an ACK that does not cover the FIN changes nothing */
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.peer_rcv_nxt - 1, 1000, NULL, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_1);
	fx_peer_ack(&F);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_2);
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_FIN_WAIT_1, GT_TCP_FIN_WAIT_2);
	assert_non_null(e);
	assert_string_equal(e->cause, "rcv ACK of FIN");
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

/* FIN-WAIT-1 with data still to send: the FIN follows the data. */
static void test_fin_wait_1_fin_after_data(void **state)
{
	fx_established(&F);
	assert_int_equal(gt_send(F.st, F.sock, "abc", 3, F.now), 3);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt);
	assert_int_equal(gt_shutdown(F.st, F.sock, GT_SHUT_WR, F.now), 0);
	fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, F.iss + 4, F.peer_snd_nxt);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_1);
	/* the ACK of the data alone leaves FIN-WAIT-1 */
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 4, F.peer_wnd, NULL, 0);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_1);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 5, F.peer_wnd, NULL, 0);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_2);
	fx_expect_none(&F);
	assert_int_equal(gt_send(F.st, F.sock, "x", 1, F.now), -EPIPE);
}

/* A FIN that does not acknowledge ours: "enter the CLOSING state" and ACK it. */
static void test_fin_wait_1_simultaneous_close(void **state)
{
	fx_closing(&F);
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_FIN_WAIT_1, GT_TCP_CLOSING);
	assert_non_null(e);
	assert_string_equal(e->cause, "rcv FIN");
	/* CLOSING: "if the ACK acknowledges our FIN, then enter the TIME-WAIT state" */
	fx_peer_ack(&F);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_TIME_WAIT);
	e = fx_find_transition(&F, GT_TCP_CLOSING, GT_TCP_TIME_WAIT);
	assert_non_null(e);
	assert_string_equal(e->cause, "rcv ACK of FIN");
}

/* "If our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT":
 * FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT in one segment, acknowledged. */
static void test_fin_wait_1_fin_ack_of_our_fin(void **state)
{
	fx_fin_wait_1(&F);
	fx_peer_fin(&F); /* ACK = our FIN + 1 */
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_TIME_WAIT);
	const fx_state_ev *a = fx_find_transition(&F, GT_TCP_FIN_WAIT_1, GT_TCP_FIN_WAIT_2);
	const fx_state_ev *b = fx_find_transition(&F, GT_TCP_FIN_WAIT_2, GT_TCP_TIME_WAIT);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);
	assert_null(fx_find_transition(&F, FX_ANY, GT_TCP_CLOSING));
}

/* A half-closed connection still receives. */
static void test_fin_wait_data_still_received(void **state)
{
	char buf[8];
	fx_fin_wait_1(&F);
	fx_peer_data(&F, "one", 3);
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	fx_peer_ack(&F);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_2);
	fx_peer_data(&F, "two", 3);
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	assert_int_equal(gt_recv(F.st, F.sock, buf, sizeof(buf), F.now), 6);
	assert_memory_equal(buf, "onetwo", 6);
	assert_int_equal(gt_recv(F.st, F.sock, buf, sizeof(buf), F.now), -EAGAIN);
	fx_peer_fin(&F);
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	assert_int_equal(gt_recv(F.st, F.sock, buf, sizeof(buf), F.now), 0);
	fx_assert_state(&F, GT_TCP_TIME_WAIT);
}

/* RFC 6298: the FIN is retransmitted with the backed-off timeout (doubling,
 * capped at rto_max); after max_retries the connection fails with ETIMEDOUT. */
static void test_fin_retransmission_and_timeout(void **state)
{
	fx_fin_wait_1(&F);
	gt_time_us rto = 200 * FX_MS; /* RTT 0 in the handshake: RTO is rto_min */
	gt_time_us t = F.now;
	for (unsigned i = 0; i < F.cfg.max_retries; i++) {
		t += rto;
		fx_advance_to(&F, t - 1);
		fx_expect_none(&F);
		fx_advance_to(&F, t);
		fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, F.peer_rcv_nxt - 1, F.peer_snd_nxt);
		fx_expect_none(&F);
		rto = 2 * rto < F.cfg.rto_max_us ? 2 * rto : F.cfg.rto_max_us;
	}
	fx_assert_state(&F, GT_TCP_FIN_WAIT_1);
	fx_advance_to(&F, t + rto);
	fx_drain(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_int_equal(gt_sock_error(F.st, F.sock), -ETIMEDOUT);
	assert_int_equal(gt_stack_get_counters(F.st)->conns_timedout, 1);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

/* An ACK of the retransmitted FIN ends the retransmissions. */
static void test_fin_retransmitted_then_acked(void **state)
{
	fx_fin_wait_1(&F);
	fx_step(&F);
	fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, F.peer_rcv_nxt - 1, F.peer_snd_nxt);
	fx_peer_ack(&F);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_2);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

/* ---- FIN-WAIT-2 ---- */

/* "FIN-WAIT-2 STATE: Enter the TIME-WAIT state. Start the time-wait timer,
 * turn off the other timers." */
static void test_fin_wait_2_fin_to_time_wait(void **state)
{
	fx_fin_wait_2(&F);
	gt_time_us t0 = F.now;
	fx_peer_fin(&F);
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	fx_assert_state(&F, GT_TCP_TIME_WAIT);
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_FIN_WAIT_2, GT_TCP_TIME_WAIT);
	assert_non_null(e);
	assert_string_equal(e->cause, "rcv FIN");
	assert_int_equal(gt_stack_next_deadline(F.st), t0 + 2 * F.cfg.msl_us);
}

/* A FIN-WAIT-2 connection nobody holds is bounded (the peer may never close);
 * one with a socket waits as long as the application wants. */
static void test_fin_wait_2_orphan_timeout(void **state)
{
	fx_established(&F);
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	F.peer_rcv_nxt++;
	fx_peer_ack(&F);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_2);
	gt_time_us t0 = F.now;
	fx_advance_to(&F, t0 + F.cfg.fin_wait_2_timeout_us - 1);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_2);
	fx_advance_to(&F, t0 + F.cfg.fin_wait_2_timeout_us);
	fx_assert_state(&F, GT_TCP_CLOSED);
	fx_expect_none(&F);
	assert_int_equal(gt_stack_conn_count(F.st), 1);
}

static void test_fin_wait_2_with_socket_waits(void **state)
{
	fx_fin_wait_2(&F);
	fx_advance(&F, 10 * F.cfg.fin_wait_2_timeout_us);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_2);
	/* close() now starts the bound */
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	fx_expect_none(&F);
	fx_advance(&F, F.cfg.fin_wait_2_timeout_us);
	fx_assert_state(&F, GT_TCP_CLOSED);
}

/* ---- CLOSE-WAIT and LAST-ACK ---- */

/* CLOSE in CLOSE-WAIT: "Queue this request until all preceding SENDs have been
 * segmentized; then send a FIN segment, enter LAST-ACK state." LAST-ACK: "The
 * only thing that can arrive in this state is an acknowledgment of our FIN.
 * If our FIN is now acknowledged, delete the TCB, enter the CLOSED state". */
static void test_close_wait_to_last_ack_to_closed(void **state)
{
	fx_close_wait(&F);
	assert_int_equal(gt_send(F.st, F.sock, "bye", 3, F.now), 3);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt);
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, F.iss + 4, F.peer_snd_nxt);
	fx_assert_state(&F, GT_TCP_LAST_ACK);
	assert_non_null(fx_find_transition(&F, GT_TCP_CLOSE_WAIT, GT_TCP_LAST_ACK));
	/* the ACK of the data only */
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 4, F.peer_wnd, NULL, 0);
	fx_assert_state(&F, GT_TCP_LAST_ACK);
	/* the peer's FIN again: ACKed, still LAST-ACK */
	fx_send(&F, GT_TCP_FIN | GT_TCP_ACK, F.peer_snd_nxt - 1, F.iss + 4, F.peer_wnd, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 5, F.peer_snd_nxt);
	fx_assert_state(&F, GT_TCP_LAST_ACK);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 5, F.peer_wnd, NULL, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_LAST_ACK, GT_TCP_CLOSED);
	assert_non_null(e);
	assert_string_equal(e->cause, "rcv ACK of FIN");
	assert_int_equal(gt_stack_conn_count(F.st), 1);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

/* The same with the socket held: recv() reports EOF, poll() HUP. */
static void test_last_ack_closed_socket_view(void **state)
{
	fx_last_ack(&F);
	assert_int_equal(gt_poll(F.st, F.sock), GT_POLLIN | GT_POLLRDHUP | GT_POLLHUP);
	fx_peer_ack(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_int_equal(gt_sock_state(F.st, F.sock), GT_TCP_CLOSED);
	assert_int_equal(gt_recv(F.st, F.sock, (char[4]){0}, 4, F.now), 0);
	assert_int_equal(gt_sock_error(F.st, F.sock), 0);
	assert_int_equal(gt_poll(F.st, F.sock) & (GT_POLLHUP | GT_POLLERR), GT_POLLHUP);
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	fx_expect_none(&F);
}

/* LAST-ACK's FIN is retransmitted, and the connection times out like any other. */
static void few_retries(fx_opts *o)
{
	o->cfg.max_retries = 3;
}

static void test_last_ack_fin_retransmission(void **state)
{
	fx_reinit_with(few_retries);
	fx_last_ack(&F);
	gt_time_us t = F.now, rto = 200 * FX_MS;
	for (int i = 0; i < 3; i++) {
		t += rto;
		assert_int_equal(fx_step(&F), t);
		fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, F.peer_rcv_nxt - 1, F.peer_snd_nxt);
		rto *= 2;
	}
	assert_int_equal(fx_step(&F), t + rto);
	fx_drain(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_int_equal(gt_sock_error(F.st, F.sock), -ETIMEDOUT);
}

/* CLOSING: the peer's FIN again is acknowledged, the state stays. */
static void test_closing_fin_again(void **state)
{
	fx_closing(&F);
	fx_send(&F, GT_TCP_FIN | GT_TCP_ACK, F.peer_snd_nxt - 1, F.peer_rcv_nxt - 1, F.peer_wnd,
	        NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSING);
}

/* close() twice, shutdown(WR) then close(): one FIN only. */
static void test_one_fin_only(void **state)
{
	fx_fin_wait_1(&F);
	assert_int_equal(gt_shutdown(F.st, F.sock, GT_SHUT_WR, F.now), 0);
	fx_expect_none(&F);
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_1);
	assert_int_equal(gt_close(F.st, F.sock, F.now), -EBADF);
}

/* ---- ABORT ---- */

/* RFC 9293 §3.10.5 ABORT in the synchronized states: <SEQ=SND.NXT><CTL=RST>. */
static void test_abort_sends_rst(void **state)
{
	fx_established(&F);
	assert_int_equal(gt_send(F.st, F.sock, "abc", 3, F.now), 3);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt);
	assert_int_equal(gt_abort(F.st, F.sock, F.now), 0);
	fx_expect(&F, GT_TCP_RST, F.iss + 4, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

/* ABORT in CLOSING, LAST-ACK, TIME-WAIT: "respond with 'ok' and delete the TCB". */
static void test_abort_in_last_ack_silent(void **state)
{
	fx_last_ack(&F);
	assert_int_equal(gt_abort(F.st, F.sock, F.now), 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_fin_wait_1_ack_of_fin),
	    FX_TEST(test_fin_wait_1_fin_after_data),
	    FX_TEST(test_fin_wait_1_simultaneous_close),
	    FX_TEST(test_fin_wait_1_fin_ack_of_our_fin),
	    FX_TEST(test_fin_wait_data_still_received),
	    FX_TEST(test_fin_retransmission_and_timeout),
	    FX_TEST(test_fin_retransmitted_then_acked),
	    FX_TEST(test_fin_wait_2_fin_to_time_wait),
	    FX_TEST(test_fin_wait_2_orphan_timeout),
	    FX_TEST(test_fin_wait_2_with_socket_waits),
	    FX_TEST(test_close_wait_to_last_ack_to_closed),
	    FX_TEST(test_last_ack_closed_socket_view),
	    FX_TEST(test_last_ack_fin_retransmission),
	    FX_TEST(test_closing_fin_again),
	    FX_TEST(test_one_fin_only),
	    FX_TEST(test_abort_sends_rst),
	    FX_TEST(test_abort_in_last_ack_silent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
