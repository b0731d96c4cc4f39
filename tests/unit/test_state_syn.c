/* SEGMENT ARRIVES in SYN-SENT (RFC 9293 §3.10.7.3) and SYN-RECEIVED
 * (§3.10.7.4), and the retransmission of SYN and SYN-ACK (RFC 6298). */
#include "fixture.h"
#include "stack/stack_impl.h"

#include <errno.h>
#include <string.h>

/* ---- SYN-SENT ---- */

/* "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is
 * set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>" */
static void test_syn_sent_bad_ack_gets_rst(void **state)
{
	fx_syn_sent(&F);
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, 5000, F.iss, 8192, NULL, 0); /* = ISS */
	fx_expect(&F, GT_TCP_RST, F.iss, 0);
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, 5000, F.iss - 100, 8192, NULL, 0); /* < ISS */
	fx_expect(&F, GT_TCP_RST, F.iss - 100, 0);
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, 5000, F.iss + 2, 8192, NULL, 0); /* > SND.NXT */
	fx_expect(&F, GT_TCP_RST, F.iss + 2, 0);
	fx_send(&F, GT_TCP_ACK, 5000, F.iss + 2, 8192, NULL, 0); /* a bare ACK */
	fx_expect(&F, GT_TCP_RST, F.iss + 2, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_SYN_SENT);
	/* the connection goes on: the right SYN-ACK still opens it */
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, 5000, F.iss + 1, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, 5001);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
}

static void test_syn_sent_bad_ack_with_rst_dropped(void **state)
{
	fx_syn_sent(&F);
	fx_send(&F, GT_TCP_RST | GT_TCP_ACK, 5000, F.iss + 7, 0, NULL, 0);
	fx_send(&F, GT_TCP_RST | GT_TCP_ACK, 5000, F.iss, 0, NULL, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_SYN_SENT);
	assert_int_equal(gt_sock_error(F.st, F.sock), 0);
}

/* "If the ACK was acceptable, then signal to the user 'error: connection
 * reset', drop the segment, enter CLOSED state, delete TCB" */
static void test_syn_sent_rst_with_acceptable_ack_refused(void **state)
{
	fx_syn_sent(&F);
	fx_send(&F, GT_TCP_RST | GT_TCP_ACK, 0, F.iss + 1, 0, NULL, 0);
	fx_expect_none(&F);
	assert_int_equal(gt_sock_state(F.st, F.sock), GT_TCP_CLOSED);
	assert_true(gt_poll(F.st, F.sock) & GT_POLLERR);
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_SYN_SENT, GT_TCP_CLOSED);
	assert_non_null(e);
	assert_string_equal(e->cause, "rcv RST");
	assert_int_equal(gt_recv(F.st, F.sock, (char[4]){0}, 4, F.now), -ECONNREFUSED);
	/* reported once */
	assert_int_equal(gt_sock_error(F.st, F.sock), 0);
	assert_int_equal(gt_recv(F.st, F.sock, (char[4]){0}, 4, F.now), 0);
	assert_int_equal(gt_stack_conn_count(F.st), 0);
	/* nothing is left behind: a late SYN-ACK draws a reset */
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, 5000, F.iss + 1, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_RST, F.iss + 1, 0);
}

static void test_syn_sent_rst_error_via_sock_error(void **state)
{
	fx_syn_sent(&F);
	fx_send(&F, GT_TCP_RST | GT_TCP_ACK, 0, F.iss + 1, 0, NULL, 0);
	assert_int_equal(gt_sock_error(F.st, F.sock), -ECONNREFUSED);
	assert_int_equal(gt_sock_error(F.st, F.sock), 0);
	assert_int_equal(gt_send(F.st, F.sock, "x", 1, F.now), -EPIPE);
}

/* "If the ACK bit is off, drop the segment and return": an RST without ACK
 * cannot be tied to our SYN (RFC 5961 §3 blind reset). */
static void test_syn_sent_rst_without_ack_ignored(void **state)
{
	fx_syn_sent(&F);
	fx_send(&F, GT_TCP_RST, 0, 0, 0, NULL, 0);
	fx_send(&F, GT_TCP_RST, F.iss + 1, 0, 0, NULL, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_SYN_SENT);
	assert_int_equal(gt_sock_error(F.st, F.sock), 0);
}

/* "If neither of the SYN or RST bits is set, then drop the segment and return." */
static void test_syn_sent_acceptable_ack_without_syn_dropped(void **state)
{
	static const uint8_t data[3] = "abc";
	fx_syn_sent(&F);
	fx_send(&F, GT_TCP_ACK, 5000, F.iss + 1, 8192, NULL, 0);
	fx_send(&F, GT_TCP_ACK | GT_TCP_PSH, 5000, F.iss + 1, 8192, data, 3);
	fx_send(&F, GT_TCP_FIN | GT_TCP_ACK, 5000, F.iss + 1, 8192, NULL, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_SYN_SENT);
}

/* "If SND.UNA > ISS (our SYN has been ACKed), change the connection state to
 * ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>" */
static void test_syn_sent_syn_ack_establishes(void **state)
{
	fx_syn_sent(&F);
	assert_int_equal(gt_poll(F.st, F.sock), 0);
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, F.opts.peer_iss, F.iss + 1, 4000, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.opts.peer_iss + 1);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_SYN_SENT, GT_TCP_ESTABLISHED);
	assert_non_null(e);
	assert_int_equal(gt_poll(F.st, F.sock), GT_POLLOUT);
	assert_int_equal(gt_sock_error(F.st, F.sock), 0);
	assert_int_equal(gt_stack_get_counters(F.st)->conns_opened, 1);
	/* the peer's window from the SYN-ACK is in force */
	static uint8_t big[6000];
	assert_int_equal(gt_send(F.st, F.sock, big, sizeof(big), F.now), (ssize_t)sizeof(big));
	uint32_t sent = 0;
	while (fx_pending(&F))
		sent += fx_pop(&F)->seg.payload_len;
	assert_true(sent <= 4000);
	assert_true(sent >= 2920);
	/* no retransmission timer left over from the SYN fires early */
	fx_advance(&F, 100 * FX_MS);
	fx_expect_none(&F);
}

/* "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment
 * <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it." (simultaneous open) */
static void test_syn_sent_simultaneous_open(void **state)
{
	fx_syn_sent(&F);
	fx_send(&F, GT_TCP_SYN, F.opts.peer_iss, 0, 8192, NULL, 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, F.opts.peer_iss + 1);
	assert_true(p->seg.opts.has_mss);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_SYN_RECEIVED);
	/* the peer's SYN-ACK (its answer to our SYN) repeats its SYN, which we
	 * have; whatever is made of its ACK, it never draws a reset */
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, F.opts.peer_iss, F.iss + 1, 8192, NULL, 0);
	while (fx_pending(&F)) {
		p = fx_pop(&F);
		assert_false(p->seg.flags & GT_TCP_RST);
		assert_true(p->seg.flags & GT_TCP_ACK);
		assert_int_equal(p->seg.seq, F.iss + 1);
		assert_int_equal(p->seg.ack, F.opts.peer_iss + 1);
	}
	assert_int_equal(gt_stack_get_counters(F.st)->tx_rsts, 0);
	/* the peer's ACK completes the handshake (or is a harmless duplicate) */
	fx_send(&F, GT_TCP_ACK, F.opts.peer_iss + 1, F.iss + 1, 8192, NULL, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	assert_int_equal(gt_poll(F.st, F.sock), GT_POLLOUT);
	/* a simultaneous open is not a passive one: nothing to accept */
	assert_int_equal(gt_stack_conn_count(F.st), 1);
}

/* "If there are other controls or text in the segment, continue processing at
 * the sixth step": data on the SYN-ACK is delivered. */
static void test_syn_sent_data_on_syn_ack_delivered(void **state)
{
	char buf[16];
	fx_syn_sent(&F);
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK | GT_TCP_PSH, F.opts.peer_iss, F.iss + 1, 8192, "hello",
	        5);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.opts.peer_iss + 1 + 5);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	assert_int_equal(gt_poll(F.st, F.sock), GT_POLLIN | GT_POLLOUT);
	assert_int_equal(gt_recv(F.st, F.sock, buf, sizeof(buf), F.now), 5);
	assert_memory_equal(buf, "hello", 5);
}

static void test_syn_sent_fin_after_syn_ack_data(void **state)
{
	char buf[16];
	fx_syn_sent(&F);
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, F.opts.peer_iss, F.iss + 1, 8192, "bye", 3);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.opts.peer_iss + 1 + 3);
	fx_send(&F, GT_TCP_FIN | GT_TCP_ACK, F.opts.peer_iss + 4, F.iss + 1, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.opts.peer_iss + 1 + 3 + 1);
	fx_assert_state(&F, GT_TCP_CLOSE_WAIT);
	assert_int_equal(gt_recv(F.st, F.sock, buf, sizeof(buf), F.now), 3);
	assert_int_equal(gt_recv(F.st, F.sock, buf, sizeof(buf), F.now), 0);
}

/* SYN with FIN is not a connection: it is dropped before any state sees it. */
static void test_syn_sent_syn_fin_dropped(void **state)
{
	fx_syn_sent(&F);
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK | GT_TCP_FIN, F.opts.peer_iss, F.iss + 1, 8192, NULL,
	        0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_SYN_SENT);
	assert_int_equal(gt_stack_get_counters(F.st)->drop[GT_DROP_BAD_FLAGS], 1);
}

/* RFC 9293 §3.10.2 / §3.10.4: data and close() given in SYN-SENT go out once
 * the connection is established. */
static void test_syn_sent_queued_send_and_close(void **state)
{
	fx_syn_sent(&F);
	assert_int_equal(gt_send(F.st, F.sock, "early", 5, F.now), 5);
	fx_expect_none(&F);
	assert_int_equal(gt_shutdown(F.st, F.sock, GT_SHUT_WR, F.now), 0);
	fx_expect_none(&F);
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, F.opts.peer_iss, F.iss + 1, 8192, NULL, 0);
	const fx_pkt *p = fx_pop(&F);
	/* data with FIN (possibly after a separate ACK) */
	if (p->seg.payload_len == 0) {
		assert_int_equal(p->seg.flags, GT_TCP_ACK);
		p = fx_pop(&F);
	}
	assert_int_equal(p->seg.seq, F.iss + 1);
	assert_int_equal(p->seg.ack, F.opts.peer_iss + 1);
	assert_int_equal(p->seg.payload_len, 5);
	assert_memory_equal(p->seg.payload, "early", 5);
	assert_true(p->seg.flags & GT_TCP_FIN);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_1);
}

/* RFC 6298 §2.1, §5.5: the SYN is retransmitted after 1 s, then the timeout
 * doubles; after max_syn_retries the connection fails with ETIMEDOUT. */
static void test_syn_sent_retransmission_backoff(void **state)
{
	fx_syn_sent(&F);
	gt_time_us t0 = F.now;
	gt_time_us expect = t0;
	gt_time_us rto = 1 * FX_S;
	for (unsigned i = 0; i < F.cfg.max_syn_retries; i++) {
		expect += rto;
		fx_advance_to(&F, expect - 1);
		fx_expect_none(&F);
		fx_advance_to(&F, expect);
		const fx_pkt *p = fx_expect(&F, GT_TCP_SYN, F.iss, 0);
		assert_int_equal(p->t, expect);
		assert_true(p->seg.opts.has_mss);
		fx_expect_none(&F);
		rto = 2 * rto < F.cfg.rto_max_us ? 2 * rto : F.cfg.rto_max_us; /* RFC 6298 §2.5 */
	}
	assert_int_equal(gt_stack_get_counters(F.st)->tx_rexmits, F.cfg.max_syn_retries);
	fx_assert_state(&F, GT_TCP_SYN_SENT);
	/* the last one times out too */
	expect += rto;
	fx_advance_to(&F, expect - 1);
	fx_assert_state(&F, GT_TCP_SYN_SENT);
	fx_advance_to(&F, expect);
	fx_expect_none(&F);
	assert_int_equal(gt_sock_state(F.st, F.sock), GT_TCP_CLOSED);
	assert_int_equal(gt_recv(F.st, F.sock, (char[1]){0}, 1, F.now), -ETIMEDOUT);
	assert_int_equal(gt_stack_get_counters(F.st)->conns_timedout, 1);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

/* RFC 6298 §2.5: the backed-off timeout is capped at rto_max. */
static void test_syn_sent_backoff_capped(void **state)
{
	fx_opts o;
	fx_opts_default(&o);
	o.cfg.rto_max_us = 5 * FX_S;
	o.cfg.max_syn_retries = 6;
	fx_reinit(&o);
	fx_syn_sent(&F);
	static const gt_time_us gaps[] = {1, 2, 4, 5, 5, 5};
	for (size_t i = 0; i < 6; i++) {
		gt_time_us before = F.now;
		gt_time_us t = fx_step(&F);
		assert_int_equal(t - before, gaps[i] * FX_S);
		fx_expect(&F, GT_TCP_SYN, F.iss, 0);
	}
	gt_time_us before = F.now;
	assert_int_equal(fx_step(&F) - before, 5 * FX_S);
	assert_int_equal(gt_sock_error(F.st, F.sock), -ETIMEDOUT);
}

/* Karn: the handshake after a retransmitted SYN gives no RTT sample, and
 * RFC 6298 §5.7: "If the timer expires awaiting the ACK of a SYN segment and
 * the TCP implementation is using an RTO less than 3 seconds, the RTO MUST be
 * re-initialized to 3 seconds when data transmission begins". */
static void test_syn_sent_lost_syn_rto_3s_after_handshake(void **state)
{
	fx_syn_sent(&F);
	fx_step(&F);
	fx_expect(&F, GT_TCP_SYN, F.iss, 0);
	fx_advance(&F, 300 * FX_MS);
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, F.opts.peer_iss, F.iss + 1, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.opts.peer_iss + 1);
	gt_tcb *tcb = fx_tcb(&F);
	assert_false(tcb->rto.has_sample);
	assert_int_equal(gt_send(F.st, F.sock, "data", 4, F.now), 4);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.opts.peer_iss + 1);
	gt_time_us sent = F.now;
	assert_int_equal(fx_step(&F) - sent, 3 * FX_S);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.opts.peer_iss + 1);
}

/* close() in SYN-SENT: "delete the TCB" — nothing is sent. */
static void test_syn_sent_close_deletes(void **state)
{
	fx_syn_sent(&F);
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	fx_expect_none(&F);
	assert_int_equal(gt_stack_conn_count(F.st), 0);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, F.opts.peer_iss, F.iss + 1, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_RST, F.iss + 1, 0);
}

/* ---- SYN-RECEIVED ---- */

/* A retransmitted SYN (our SYN-ACK was lost) draws the SYN-ACK again, never a reset. */
static void test_syn_received_duplicate_syn(void **state)
{
	fx_syn_received(&F);
	for (int i = 0; i < 3; i++) {
		fx_send(&F, GT_TCP_SYN, F.opts.peer_iss, 0, 8192, NULL, 0);
		const fx_pkt *p =
		    fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, F.opts.peer_iss + 1);
		assert_true(p->seg.opts.has_mss);
		fx_expect_none(&F);
	}
	assert_int_equal(gt_stack_get_counters(F.st)->tx_rsts, 0);
	fx_assert_state(&F, GT_TCP_SYN_RECEIVED);
	assert_int_equal(gt_stack_conn_count(F.st), 2);
	fx_peer_ack(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
}

/* "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state" and the
 * connection waits for accept(). */
static void test_syn_received_ack_establishes(void **state)
{
	fx_syn_received(&F);
	fx_peer_ack(&F);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_SYN_RECEIVED, GT_TCP_ESTABLISHED);
	assert_non_null(e);
	assert_int_equal(gt_poll(F.st, F.lsock), GT_POLLIN);
	uint32_t addr;
	uint16_t port;
	int c = gt_accept(F.st, F.lsock, &addr, &port);
	assert_true(c >= 0);
	assert_int_equal(addr, FX_PEER_ADDR);
	assert_int_equal(port, FX_PEER_PORT);
	assert_int_equal(gt_sock_state(F.st, c), GT_TCP_ESTABLISHED);
	assert_int_equal(gt_poll(F.st, c), GT_POLLOUT);
	assert_int_equal(gt_poll(F.st, F.lsock), 0);
	assert_int_equal(gt_accept(F.st, F.lsock, NULL, NULL), -EAGAIN);
	gt_conn_tuple t;
	assert_int_equal(gt_sock_tuple(F.st, c, &t), 0);
	assert_int_equal(t.local_addr, FX_LOCAL_ADDR);
	assert_int_equal(t.local_port, FX_LISTEN_PORT);
	assert_int_equal(t.remote_addr, FX_PEER_ADDR);
	assert_int_equal(t.remote_port, FX_PEER_PORT);
}

static void test_syn_received_ack_with_data(void **state)
{
	char buf[8];
	fx_syn_received(&F);
	fx_peer_data(&F, "abc", 3);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.opts.peer_iss + 4);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	int c = gt_accept(F.st, F.lsock, NULL, NULL);
	assert_true(c >= 0);
	assert_int_equal(gt_recv(F.st, c, buf, sizeof(buf), F.now), 3);
	assert_memory_equal(buf, "abc", 3);
}

/* The handshake's ACK may carry the peer's FIN: ESTABLISHED, then CLOSE-WAIT;
 * the accepted socket reads EOF. */
static void test_syn_received_ack_with_fin(void **state)
{
	fx_syn_received(&F);
	fx_peer_fin(&F);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	fx_assert_state(&F, GT_TCP_CLOSE_WAIT);
	assert_non_null(fx_find_transition(&F, GT_TCP_SYN_RECEIVED, GT_TCP_ESTABLISHED));
	int c = gt_accept(F.st, F.lsock, NULL, NULL);
	assert_true(c >= 0);
	assert_int_equal(gt_sock_state(F.st, c), GT_TCP_CLOSE_WAIT);
	assert_int_equal(gt_recv(F.st, c, (char[4]){0}, 4, F.now), 0);
	assert_int_equal(gt_close(F.st, c, F.now), 0);
	fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	fx_assert_state(&F, GT_TCP_LAST_ACK);
}

/* "If the segment acknowledgment is not acceptable, form a reset segment
 * <SEQ=SEG.ACK><CTL=RST> and send it." */
static void test_syn_received_bad_ack_gets_rst(void **state)
{
	fx_syn_received(&F);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 5, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_RST, F.iss + 5, 0);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss, 8192, NULL, 0); /* =< SND.UNA */
	fx_expect(&F, GT_TCP_RST, F.iss, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_SYN_RECEIVED);
	fx_peer_ack(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
}

/* "If the ACK bit is off, drop the segment and return" */
static void test_syn_received_no_ack_dropped(void **state)
{
	fx_syn_received(&F);
	fx_send(&F, GT_TCP_PSH, F.peer_snd_nxt, 0, 8192, "x", 1);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_SYN_RECEIVED);
}

/* "If the RST bit is set: If this connection was initiated with a passive OPEN
 * (i.e., came from the LISTEN state), then return this connection to LISTEN
 * state and return." The listener goes on accepting. */
static void test_syn_received_rst_returns_to_listen(void **state)
{
	fx_syn_received(&F);
	fx_send(&F, GT_TCP_RST, F.peer_snd_nxt, 0, 0, NULL, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_non_null(fx_find_transition(&F, GT_TCP_SYN_RECEIVED, GT_TCP_LISTEN));
	assert_int_equal(gt_stack_conn_count(F.st), 1);
	assert_int_equal(gt_sock_state(F.st, F.lsock), GT_TCP_LISTEN);
	assert_int_equal(gt_accept(F.st, F.lsock, NULL, NULL), -EAGAIN);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
	/* the same peer tries again */
	fx_send(&F, GT_TCP_SYN, F.opts.peer_iss + 1000, 0, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, F.opts.peer_iss + 1001);
	fx_send(&F, GT_TCP_ACK, F.opts.peer_iss + 1001, F.iss + 1, 8192, NULL, 0);
	fx_expect_none(&F);
	assert_true(gt_accept(F.st, F.lsock, NULL, NULL) >= 0);
}

/* RFC 5961 §3.2 applies in SYN-RECEIVED too ("in all states except SYN-SENT"):
 * an RST in the window but not at RCV.NXT draws a challenge ACK. */
static void test_syn_received_rst_not_exact_challenged(void **state)
{
	fx_syn_received(&F);
	fx_send(&F, GT_TCP_RST, F.peer_snd_nxt + 10, 0, 0, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_SYN_RECEIVED);
	/* outside the window: silently dropped */
	fx_send(&F, GT_TCP_RST, F.peer_snd_nxt - 10, 0, 0, NULL, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_SYN_RECEIVED);
}

/* The SYN-ACK is retransmitted with the RFC 6298 backoff; after
 * max_syn_retries the half-open connection is dropped and the listener stays. */
static void test_syn_received_syn_ack_retransmission(void **state)
{
	fx_syn_received(&F);
	gt_time_us t = F.now, rto = 1 * FX_S;
	for (unsigned i = 0; i < F.cfg.max_syn_retries; i++) {
		t += rto;
		fx_advance_to(&F, t - 1);
		fx_expect_none(&F);
		fx_advance_to(&F, t);
		fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, F.opts.peer_iss + 1);
		rto = 2 * rto < F.cfg.rto_max_us ? 2 * rto : F.cfg.rto_max_us;
	}
	fx_advance_to(&F, t + rto);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_int_equal(gt_stack_conn_count(F.st), 1);
	assert_int_equal(gt_sock_state(F.st, F.lsock), GT_TCP_LISTEN);
	assert_int_equal(F.lsock >= 0, 1);
	/* a late ACK finds no connection: RST */
	fx_peer_ack(&F);
	fx_expect(&F, GT_TCP_RST, F.iss + 1, 0);
}

/* The ACK of a retransmitted SYN-ACK establishes without an RTT sample (Karn)
 * and sets the RTO to 3 s for the data (RFC 6298 §5.7). */
static void test_syn_received_lost_syn_ack_rto_3s(void **state)
{
	fx_syn_received(&F);
	fx_step(&F);
	fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, F.opts.peer_iss + 1);
	fx_advance(&F, 10 * FX_MS);
	fx_peer_ack(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	int c = gt_accept(F.st, F.lsock, NULL, NULL);
	assert_true(c >= 0);
	assert_false(fx_tcb(&F)->rto.has_sample);
	assert_int_equal(gt_send(F.st, c, "z", 1, F.now), 1);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt);
	gt_time_us sent = F.now;
	assert_int_equal(fx_step(&F) - sent, 3 * FX_S);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt);
}

/* RFC 9293 §3.10.7.4 fourth, SYN-RECEIVED: a new SYN (not the one we know) in
 * the window returns a passive connection to LISTEN; no reset. */
static void test_syn_received_new_syn_in_window(void **state)
{
	fx_syn_received(&F);
	fx_send(&F, GT_TCP_SYN, F.peer_snd_nxt + 100, 0, 8192, NULL, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_non_null(fx_find_transition(&F, GT_TCP_SYN_RECEIVED, GT_TCP_LISTEN));
	assert_int_equal(gt_sock_state(F.st, F.lsock), GT_TCP_LISTEN);
	assert_int_equal(gt_stack_conn_count(F.st), 1);
}

/* RFC 9293 §3.10.4: close() in SYN-RECEIVED sends FIN once established. */
static void test_syn_received_simultaneous_close_queued(void **state)
{
	fx_syn_sent(&F);
	fx_send(&F, GT_TCP_SYN, F.opts.peer_iss, 0, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, F.opts.peer_iss + 1);
	fx_assert_state(&F, GT_TCP_SYN_RECEIVED);
	assert_int_equal(gt_shutdown(F.st, F.sock, GT_SHUT_WR, F.now), 0);
	fx_expect_none(&F);
	fx_send(&F, GT_TCP_ACK, F.opts.peer_iss + 1, F.iss + 1, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, F.iss + 1, F.opts.peer_iss + 1);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_syn_sent_bad_ack_gets_rst),
	    FX_TEST(test_syn_sent_bad_ack_with_rst_dropped),
	    FX_TEST(test_syn_sent_rst_with_acceptable_ack_refused),
	    FX_TEST(test_syn_sent_rst_error_via_sock_error),
	    FX_TEST(test_syn_sent_rst_without_ack_ignored),
	    FX_TEST(test_syn_sent_acceptable_ack_without_syn_dropped),
	    FX_TEST(test_syn_sent_syn_ack_establishes),
	    FX_TEST(test_syn_sent_simultaneous_open),
	    FX_TEST(test_syn_sent_data_on_syn_ack_delivered),
	    FX_TEST(test_syn_sent_fin_after_syn_ack_data),
	    FX_TEST(test_syn_sent_syn_fin_dropped),
	    FX_TEST(test_syn_sent_queued_send_and_close),
	    FX_TEST(test_syn_sent_retransmission_backoff),
	    FX_TEST(test_syn_sent_backoff_capped),
	    FX_TEST(test_syn_sent_lost_syn_rto_3s_after_handshake),
	    FX_TEST(test_syn_sent_close_deletes),
	    FX_TEST(test_syn_received_duplicate_syn),
	    FX_TEST(test_syn_received_ack_establishes),
	    FX_TEST(test_syn_received_ack_with_data),
	    FX_TEST(test_syn_received_ack_with_fin),
	    FX_TEST(test_syn_received_bad_ack_gets_rst),
	    FX_TEST(test_syn_received_no_ack_dropped),
	    FX_TEST(test_syn_received_rst_returns_to_listen),
	    FX_TEST(test_syn_received_rst_not_exact_challenged),
	    FX_TEST(test_syn_received_syn_ack_retransmission),
	    FX_TEST(test_syn_received_lost_syn_ack_rto_3s),
	    FX_TEST(test_syn_received_new_syn_in_window),
	    FX_TEST(test_syn_received_simultaneous_close_queued),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
