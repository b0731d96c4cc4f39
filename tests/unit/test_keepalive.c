/* TCP keep-alive (RFC 1122 §4.2.3.6, RFC 9293 §3.8.4) with Linux's semantics:
 * off by default, probes at SND.UNA-1 after an idle time, a fixed interval
 * between unanswered probes, the abort with RST and ETIMEDOUT after the last;
 * and the other side of it: every probe that reaches us is answered. */
#include "fixture.h"
#include "stack/stack_impl.h"

#include <errno.h>
#include <string.h>

#define IDLE  (10 * FX_S)
#define INTVL (2 * FX_S)
#define COUNT 3

static void keepalive_on(int s, gt_time_us idle, gt_time_us intvl, uint32_t probes)
{
	gt_keepalive ka = {.on = true, .idle_us = idle, .intvl_us = intvl, .probes = probes};
	assert_int_equal(gt_sock_set_keepalive(F.st, s, &ka, F.now), 0);
}

/* Pops the next segment and checks it is a keep-alive probe: ACK only, no
 * data, at SND.UNA-1 (una is what the peer acknowledged last). */
static const fx_pkt *expect_probe(uint32_t una, gt_time_us at)
{
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, una - 1, F.peer_snd_nxt);
	assert_int_equal(p->seg.flags, GT_TCP_ACK);
	assert_int_equal(p->seg.payload_len, 0);
	assert_int_equal(p->t, at);
	return p;
}

/* Advances to just before `at` (nothing sent), then to `at` (a probe). */
static void probe_at(uint32_t una, gt_time_us at)
{
	fx_advance_to(&F, at - 1);
	fx_expect_none(&F);
	fx_advance_to(&F, at);
	expect_probe(una, at);
	fx_expect_none(&F);
}

static void test_off_by_default(void **state)
{
	fx_established(&F);
	gt_keepalive ka;
	assert_int_equal(gt_sock_get_keepalive(F.st, F.sock, &ka), 0);
	assert_false(ka.on);
	/* RFC 1122 §4.2.3.6: at least two hours by default; Linux's 75 s and 9 */
	assert_int_equal(ka.idle_us, 7200 * FX_S);
	assert_int_equal(ka.intvl_us, 75 * FX_S);
	assert_int_equal(ka.probes, 9);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
	fx_advance(&F, 24 * 3600 * FX_S);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	assert_int_equal(gt_stack_get_counters(F.st)->tx_keepalive_probes, 0);
}

/* The first probe after idle, then every intvl while unanswered, and after
 * `probes` of them: RST, CLOSED ("keepalive timeout"), ETIMEDOUT. */
static void test_unanswered_probes_abort(void **state)
{
	fx_established(&F);
	gt_time_us t0 = F.now;
	keepalive_on(F.sock, IDLE, INTVL, COUNT);
	uint32_t una = F.peer_rcv_nxt;
	for (unsigned i = 0; i < COUNT; i++)
		probe_at(una, t0 + IDLE + i * INTVL); /* no backoff */
	assert_int_equal(gt_stack_get_counters(F.st)->tx_keepalive_probes, COUNT);
	assert_int_equal(gt_stack_get_counters(F.st)->tx_rexmits, 0);
	gt_time_us end = t0 + IDLE + COUNT * INTVL;
	fx_advance_to(&F, end - 1);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	fx_advance_to(&F, end);
	/* <SEQ=SND.NXT><CTL=RST>, as Linux ends it */
	const fx_pkt *p = fx_expect(&F, GT_TCP_RST, una, 0);
	assert_int_equal(p->seg.flags, GT_TCP_RST);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_ESTABLISHED, GT_TCP_CLOSED);
	assert_non_null(e);
	assert_string_equal(e->cause, "keepalive timeout");
	assert_int_equal(e->t, end);
	assert_true(gt_poll(F.st, F.sock) & GT_POLLERR);
	assert_true(gt_poll(F.st, F.sock) & GT_POLLHUP);
	assert_int_equal(gt_recv(F.st, F.sock, (char[4]){0}, 4, F.now), -ETIMEDOUT);
	assert_int_equal(gt_stack_get_counters(F.st)->conns_timedout, 1);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

/* The peer's answer (an ACK of SND.UNA) restarts the idle time and the count:
 * the next probe comes idle after it, and `probes` more are needed to abort. */
static void test_answer_restarts_idle_and_count(void **state)
{
	fx_established(&F);
	gt_time_us t0 = F.now;
	keepalive_on(F.sock, IDLE, INTVL, COUNT);
	uint32_t una = F.peer_rcv_nxt;
	probe_at(una, t0 + IDLE);
	probe_at(una, t0 + IDLE + INTVL);
	gt_time_us answered = F.now + 30 * FX_MS;
	fx_advance_to(&F, answered);
	fx_peer_ack(&F); /* what a live peer sends for SEG.SEQ = RCV.NXT-1 */
	fx_expect_none(&F);
	/* no probe at the next interval: the connection is not idle */
	fx_advance_to(&F, answered + IDLE - 1);
	fx_expect_none(&F);
	for (unsigned i = 0; i < COUNT; i++)
		probe_at(una, answered + IDLE + i * INTVL);
	fx_advance_to(&F, answered + IDLE + COUNT * INTVL - 1);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	fx_advance_to(&F, answered + IDLE + COUNT * INTVL);
	fx_expect(&F, GT_TCP_RST, una, 0);
	fx_assert_state(&F, GT_TCP_CLOSED);
}

/* Any segment that passes the sequence check counts, data or a duplicate
 * ACK; probes go only after idle with nothing received. */
static void test_any_segment_restarts_idle(void **state)
{
	fx_established(&F);
	gt_time_us t0 = F.now;
	keepalive_on(F.sock, IDLE, INTVL, COUNT);
	fx_advance_to(&F, t0 + 7 * FX_S);
	fx_peer_send_acked(&F, 100, 100);
	gt_time_us t1 = F.now;
	fx_advance_to(&F, t1 + 9 * FX_S);
	fx_peer_ack(&F); /* a duplicate ACK */
	fx_expect_none(&F);
	gt_time_us t2 = F.now;
	char buf[128];
	assert_int_equal(gt_recv(F.st, F.sock, buf, sizeof buf, F.now), 100);
	probe_at(F.peer_rcv_nxt, t2 + IDLE);
	/* our own sending does not restart it: we hear nothing back */
	probe_at(F.peer_rcv_nxt, t2 + IDLE + INTVL);
}

/* While data is unacknowledged the retransmission timer watches the peer:
 * no probes; once all is acknowledged the idle time starts from that ACK. */
static void test_no_probes_with_data_in_flight(void **state)
{
	fx_established(&F);
	keepalive_on(F.sock, 1 * FX_S, 1 * FX_S, 2);
	uint32_t una = F.peer_rcv_nxt;
	assert_int_equal(gt_send(F.st, F.sock, "hello", 5, F.now), 5);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, una, F.peer_snd_nxt);
	gt_time_us end = F.now + 60 * FX_S;
	unsigned rexmits = 0;
	while (F.now < end) {
		fx_advance(&F, 100 * FX_MS);
		while (fx_pending(&F)) {
			const fx_pkt *p = fx_pop(&F);
			/* only the data again, never a probe at una-1 */
			assert_int_equal(p->seg.seq, una);
			assert_int_equal(p->seg.payload_len, 5);
			rexmits++;
		}
	}
	assert_true(rexmits >= 4);
	assert_int_equal(gt_stack_get_counters(F.st)->tx_keepalive_probes, 0);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	F.peer_rcv_nxt += 5;
	fx_peer_ack(&F);
	fx_expect_none(&F);
	gt_time_us acked = F.now;
	probe_at(una + 5, acked + 1 * FX_S);
	probe_at(una + 5, acked + 2 * FX_S);
	fx_advance_to(&F, acked + 3 * FX_S);
	fx_expect(&F, GT_TCP_RST, una + 5, 0);
	fx_assert_state(&F, GT_TCP_CLOSED);
}

/* A zero window with data waiting: the persist timer probes the window (one
 * octet of data); keep-alive stays out of its way. */
static void test_no_probes_behind_zero_window(void **state)
{
	fx_established(&F);
	keepalive_on(F.sock, 1 * FX_S, 1 * FX_S, 2);
	uint32_t una = F.peer_rcv_nxt;
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, una, 0, NULL, 0); /* window 0 */
	assert_int_equal(gt_send(F.st, F.sock, "abc", 3, F.now), 3);
	fx_expect_none(&F);
	gt_time_us end = F.now + 30 * FX_S;
	unsigned window_probes = 0;
	while (F.now < end) {
		fx_advance(&F, 100 * FX_MS);
		while (fx_pending(&F)) {
			const fx_pkt *p = fx_pop(&F);
			assert_int_equal(p->seg.seq, una);
			assert_int_equal(p->seg.payload_len, 1);
			window_probes++;
			/* the peer answers each with its zero window */
			fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, una, 0, NULL, 0);
		}
	}
	assert_true(window_probes >= 3);
	assert_int_equal(gt_stack_get_counters(F.st)->tx_keepalive_probes, 0);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
}

/* RFC 1122 §4.2.3.6 leaves the states open; as Linux, CLOSE_WAIT and
 * FIN_WAIT_2 (with a socket) probe too. */
static void test_probes_in_close_wait(void **state)
{
	fx_close_wait(&F);
	gt_time_us t0 = F.now;
	keepalive_on(F.sock, IDLE, INTVL, 1);
	probe_at(F.peer_rcv_nxt, t0 + IDLE);
	fx_advance_to(&F, t0 + IDLE + INTVL);
	fx_expect(&F, GT_TCP_RST, F.peer_rcv_nxt, 0);
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_CLOSE_WAIT, GT_TCP_CLOSED);
	assert_non_null(e);
	assert_string_equal(e->cause, "keepalive timeout");
}

static void test_probes_in_fin_wait_2(void **state)
{
	fx_fin_wait_2(&F);
	gt_time_us t0 = F.now;
	keepalive_on(F.sock, IDLE, INTVL, 2);
	/* SND.UNA is past our FIN: the probe sits on the FIN's sequence number */
	probe_at(F.peer_rcv_nxt, t0 + IDLE);
	fx_peer_ack(&F);
	probe_at(F.peer_rcv_nxt, F.now + IDLE);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_2);
}

/* In FIN_WAIT_1 our FIN is unacknowledged: its retransmissions, not probes. */
static void test_no_probes_in_fin_wait_1(void **state)
{
	fx_fin_wait_1(&F);
	keepalive_on(F.sock, 1 * FX_S, 1 * FX_S, 1);
	fx_advance(&F, 20 * FX_S);
	while (fx_pending(&F)) {
		const fx_pkt *p = fx_pop(&F);
		assert_true(p->seg.flags & GT_TCP_FIN);
	}
	assert_int_equal(gt_stack_get_counters(F.st)->tx_keepalive_probes, 0);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_1);
}

static void test_turned_off(void **state)
{
	fx_established(&F);
	gt_time_us t0 = F.now;
	keepalive_on(F.sock, IDLE, INTVL, COUNT);
	probe_at(F.peer_rcv_nxt, t0 + IDLE);
	gt_keepalive off = {.on = false}; /* the values are ignored */
	assert_int_equal(gt_sock_set_keepalive(F.st, F.sock, &off, F.now), 0);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
	fx_advance(&F, 10 * IDLE);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	gt_keepalive ka;
	assert_int_equal(gt_sock_get_keepalive(F.st, F.sock, &ka), 0);
	assert_false(ka.on);
	assert_int_equal(ka.idle_us, IDLE); /* kept for the next time */
	assert_int_equal(ka.intvl_us, INTVL);
	assert_int_equal(ka.probes, COUNT);
}

/* New values on a connection: the idle time starts again from the call. */
static void test_changed_while_probing(void **state)
{
	fx_established(&F);
	gt_time_us t0 = F.now;
	keepalive_on(F.sock, IDLE, INTVL, COUNT);
	probe_at(F.peer_rcv_nxt, t0 + IDLE);
	fx_advance(&F, FX_S);
	gt_time_us t1 = F.now;
	keepalive_on(F.sock, 3 * FX_S, FX_S, 1);
	probe_at(F.peer_rcv_nxt, t1 + 3 * FX_S);
	fx_advance_to(&F, t1 + 4 * FX_S);
	fx_expect(&F, GT_TCP_RST, F.peer_rcv_nxt, 0);
	fx_assert_state(&F, GT_TCP_CLOSED);
}

/* A listener's setting goes to the connections it accepts (as Linux's
 * SO_KEEPALIVE); the idle time starts when the handshake completes. */
static void test_inherited_from_listener(void **state)
{
	fx_listen(&F);
	keepalive_on(F.lsock, IDLE, INTVL, 2);
	gt_keepalive ka;
	assert_int_equal(gt_sock_get_keepalive(F.st, F.lsock, &ka), 0);
	assert_true(ka.on);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER); /* a listener never probes */
	fx_advance(&F, FX_S);
	fx_send(&F, GT_TCP_SYN, F.opts.peer_iss, 0, F.peer_wnd, NULL, 0);
	fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, F.opts.peer_iss + 1);
	F.peer_snd_nxt = F.opts.peer_iss + 1;
	F.peer_rcv_nxt = F.iss + 1;
	fx_advance(&F, 50 * FX_MS);
	fx_peer_ack(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	gt_time_us est = F.now;
	/* it probes while still in the accept queue */
	probe_at(F.peer_rcv_nxt, est + IDLE);
	F.sock = gt_accept(F.st, F.lsock, NULL, NULL);
	assert_true(F.sock >= 0);
	assert_int_equal(gt_sock_get_keepalive(F.st, F.sock, &ka), 0);
	assert_true(ka.on);
	assert_int_equal(ka.idle_us, IDLE);
	assert_int_equal(ka.intvl_us, INTVL);
	assert_int_equal(ka.probes, 2);
	probe_at(F.peer_rcv_nxt, est + IDLE + INTVL);
	fx_advance_to(&F, est + IDLE + 2 * INTVL);
	fx_expect(&F, GT_TCP_RST, F.peer_rcv_nxt, 0);
	assert_int_equal(gt_recv(F.st, F.sock, (char[4]){0}, 4, F.now), -ETIMEDOUT);
}

/* Set before connect(): the connection starts with it. */
static void test_set_before_connect(void **state)
{
	F.sock = gt_socket(F.st);
	assert_true(F.sock >= 0);
	keepalive_on(F.sock, IDLE, INTVL, 1);
	assert_int_equal(gt_connect(F.st, F.sock, FX_PEER_ADDR, F.rport, F.now), -EINPROGRESS);
	const fx_pkt *p = fx_pop(&F);
	F.lport = p->seg.src_port;
	fx_advance(&F, 20 * FX_MS);
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, F.opts.peer_iss, F.iss + 1, F.peer_wnd, NULL, 0);
	F.peer_snd_nxt = F.opts.peer_iss + 1;
	F.peer_rcv_nxt = F.iss + 1;
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	probe_at(F.peer_rcv_nxt, F.now + IDLE);
}

static void test_api_errors(void **state)
{
	fx_established(&F);
	gt_keepalive ka = {.on = true, .idle_us = IDLE, .intvl_us = INTVL, .probes = COUNT};
	assert_int_equal(gt_sock_set_keepalive(F.st, -1, &ka, F.now), -EBADF);
	assert_int_equal(gt_sock_set_keepalive(F.st, F.sock + 1, &ka, F.now), -EBADF);
	assert_int_equal(gt_sock_get_keepalive(F.st, 12345, &ka), -EBADF);
	assert_int_equal(gt_sock_set_keepalive(F.st, F.sock, NULL, F.now), -EINVAL);
	assert_int_equal(gt_sock_get_keepalive(F.st, F.sock, NULL), -EINVAL);
	static const struct {
		gt_time_us idle, intvl;
		uint32_t probes;
	} bad[] = {
	    {0, INTVL, COUNT},
	    {IDLE, 0, COUNT},
	    {IDLE, INTVL, 0},
	    {GT_KEEPALIVE_MAX_US + 1, INTVL, COUNT},
	    {IDLE, GT_KEEPALIVE_MAX_US + 1, COUNT},
	    {GT_TIME_NEVER, INTVL, COUNT},
	    {GT_KEEPALIVE_MIN_US - 1, INTVL, COUNT}, /* peers rate-limit their answers */
	    {IDLE, GT_KEEPALIVE_MIN_US - 1, COUNT},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		gt_keepalive b = {.on = true,
		                  .idle_us = bad[i].idle,
		                  .intvl_us = bad[i].intvl,
		                  .probes = bad[i].probes};
		assert_int_equal(gt_sock_set_keepalive(F.st, F.sock, &b, F.now), -EINVAL);
	}
	/* a refused call changes nothing */
	gt_keepalive got;
	assert_int_equal(gt_sock_get_keepalive(F.st, F.sock, &got), 0);
	assert_false(got.on);
	assert_int_equal(got.idle_us, 7200 * FX_S);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
	/* the edges that are fine */
	gt_keepalive edge = {.on = true,
	                     .idle_us = GT_KEEPALIVE_MIN_US,
	                     .intvl_us = GT_KEEPALIVE_MAX_US,
	                     .probes = 1};
	assert_int_equal(gt_sock_set_keepalive(F.st, F.sock, &edge, F.now), 0);
	/* a closed handle */
	int s = F.sock;
	assert_int_equal(gt_close(F.st, s, F.now), 0);
	F.sock = -1;
	assert_int_equal(gt_sock_set_keepalive(F.st, s, &ka, F.now), -EBADF);
}

/* Stack-wide values: what new sockets start with; 0 means the default, a
 * time above the maximum is refused. */
static void test_config_values(void **state)
{
	fx_opts o;
	fx_opts_default(&o);
	o.cfg.keepalive_idle_us = 5 * FX_S;
	o.cfg.keepalive_intvl_us = 0;
	o.cfg.keepalive_probes = 4;
	fx_free(&F);
	fx_init(&F, &o);
	fx_established(&F);
	gt_keepalive ka;
	assert_int_equal(gt_sock_get_keepalive(F.st, F.sock, &ka), 0);
	assert_false(ka.on);
	assert_int_equal(ka.idle_us, 5 * FX_S);
	assert_int_equal(ka.intvl_us, 75 * FX_S);
	assert_int_equal(ka.probes, 4);
	ka.on = true;
	gt_time_us t0 = F.now;
	assert_int_equal(gt_sock_set_keepalive(F.st, F.sock, &ka, F.now), 0);
	probe_at(F.peer_rcv_nxt, t0 + 5 * FX_S);
	probe_at(F.peer_rcv_nxt, t0 + 80 * FX_S);

	gt_stack_config c = o.cfg;
	c.output = F.cfg.output;
	gt_stack *st = NULL;
	c.keepalive_intvl_us = GT_KEEPALIVE_MAX_US + 1;
	assert_int_equal(gt_stack_create(&c, &st), -EINVAL);
	c.keepalive_intvl_us = 0;
	c.keepalive_idle_us = GT_KEEPALIVE_MAX_US + 1;
	assert_int_equal(gt_stack_create(&c, &st), -EINVAL);
	c.keepalive_idle_us = GT_KEEPALIVE_MIN_US - 1;
	assert_int_equal(gt_stack_create(&c, &st), -EINVAL);
	assert_null(st);
}

/* ---- answering the peer's probes (RFC 9293 §3.10.7.4 first step) ---- */

/* The peer's probe: an empty ACK at RCV.NXT-1. */
static void peer_probe(void)
{
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt - 1, F.peer_rcv_nxt, F.peer_wnd, NULL, 0);
}

/* A probe at RCV.NXT-1 is unacceptable: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
 * Probes at the minimum interval (1 s) are all answered; the answer to an
 * empty unacceptable segment is rate-limited to one per 500 ms (RFC 5961 §7),
 * which is why no interval may be shorter. A probe from the peer does not
 * restart our own idle time. */
static void test_answers_probes(void **state)
{
	fx_established(&F);
	gt_time_us t0 = F.now;
	keepalive_on(F.sock, IDLE, INTVL, COUNT);
	for (int i = 0; i < 5; i++) {
		peer_probe();
		const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
		assert_int_equal(p->seg.flags, GT_TCP_ACK);
		assert_int_equal(p->seg.payload_len, 0);
		fx_expect_none(&F);
		assert_int_equal(F.last_drop, GT_DROP_OUT_OF_WINDOW);
		fx_advance(&F, GT_KEEPALIVE_MIN_US);
	}
	/* the peer probing us does not show it alive to our own keep-alive:
	 * an unacceptable segment is not "received" */
	probe_at(F.peer_rcv_nxt, t0 + IDLE);
	/* the interaction with the rate limit: a probe within 500 ms of the
	 * last answer to an empty unacceptable segment goes unanswered */
	fx_advance(&F, 1 * FX_S);
	peer_probe();
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	fx_advance(&F, 499 * FX_MS);
	peer_probe();
	fx_expect_none(&F);
	fx_advance(&F, 1 * FX_MS);
	peer_probe();
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	fx_expect_none(&F);
}

/* A probe on a connection with a zero receive window, or in CLOSE_WAIT (the
 * peer's FIN is the octet at RCV.NXT-1): answered all the same. */
static void test_answers_probes_zero_window_and_close_wait(void **state)
{
	fx_established(&F);
	static uint8_t fill[65535];
	/* fill our receive buffer: the window closes */
	uint32_t off = 0;
	uint16_t wnd = 65535;
	while (wnd > 0) {
		uint32_t n = wnd < 1000 ? wnd : 1000;
		fx_fill_pattern(fill, n, off);
		fx_peer_data(&F, fill, n);
		wnd = fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt)->seg.wnd;
		off += n;
		if (off > 70000)
			fail_msg("the window did not close");
	}
	peer_probe();
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	assert_int_equal(p->seg.wnd, 0);
	fx_expect_none(&F);
	fx_free(&F);
	fx_init(&F, NULL);
	fx_close_wait(&F);
	for (int i = 0; i < 3; i++) {
		peer_probe();
		fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
		fx_expect_none(&F);
		fx_advance(&F, GT_KEEPALIVE_MIN_US);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_off_by_default),
	    FX_TEST(test_unanswered_probes_abort),
	    FX_TEST(test_answer_restarts_idle_and_count),
	    FX_TEST(test_any_segment_restarts_idle),
	    FX_TEST(test_no_probes_with_data_in_flight),
	    FX_TEST(test_no_probes_behind_zero_window),
	    FX_TEST(test_probes_in_close_wait),
	    FX_TEST(test_probes_in_fin_wait_2),
	    FX_TEST(test_no_probes_in_fin_wait_1),
	    FX_TEST(test_turned_off),
	    FX_TEST(test_changed_while_probing),
	    FX_TEST(test_inherited_from_listener),
	    FX_TEST(test_set_before_connect),
	    FX_TEST(test_api_errors),
	    FX_TEST(test_config_values),
	    FX_TEST(test_answers_probes),
	    FX_TEST(test_answers_probes_zero_window_and_close_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
