/* SEGMENT ARRIVES in every synchronized state (RFC 9293 §3.10.7.4): the
 * acceptability test's four cases, the RST and SYN checks with RFC 5961's
 * challenge ACKs, and the ACK field checks. Each check runs in ESTABLISHED,
 * FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK and TIME_WAIT, reached
 * through real segments after a passive or an active open. */
#include "fixture.h"
#include "stack/stack_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sync_case {
	gt_tcp_state st;
	bool active;
	bool zero_window; /* our receive window is zero in that state */
} sync_case;

/* Values in the state under test. */
static uint32_t R;   /* RCV.NXT */
static uint32_t W;   /* RCV.WND */
static uint32_t NXT; /* SND.NXT */
static uint32_t UNA; /* SND.UNA */

#define RCVBUF_SMALL 4096u

static bool fin_received(gt_tcp_state s)
{
	return s == GT_TCP_CLOSE_WAIT || s == GT_TCP_CLOSING || s == GT_TCP_LAST_ACK ||
	       s == GT_TCP_TIME_WAIT;
}

static bool receives_data(gt_tcp_state s)
{
	return s == GT_TCP_ESTABLISHED || s == GT_TCP_FIN_WAIT_1 || s == GT_TCP_FIN_WAIT_2;
}

static void snapshot(void)
{
	gt_tcb *t = fx_tcb(&F);
	assert_non_null(t);
	R = t->rcv_nxt;
	W = t->rcv_adv - t->rcv_nxt;
	NXT = t->snd_nxt;
	UNA = t->snd_una;
	assert_int_equal(R, F.peer_snd_nxt);
	assert_int_equal(NXT, F.peer_rcv_nxt);
	assert_int_equal(UNA, fx_peer_una(&F));
}

static int setup(void **state)
{
	const sync_case *c = *state;
	fx_opts o;
	fx_opts_default(&o);
	o.active = c->active;
	/* a 3 s floor keeps our FIN's retransmission out of the way of the
	 * sub-second steps below */
	o.cfg.rto_min_us = 3 * FX_S;
	if (c->zero_window)
		o.cfg.rcvbuf = RCVBUF_SMALL;
	fx_init(&F, &o);
	fx_established(&F);
	if (c->zero_window) {
		/* fill the receive buffer; the peer's FIN (in the states that
		 * have it) takes the last octet of the window */
		uint32_t fill = RCVBUF_SMALL - (fin_received(c->st) ? 1 : 0);
		fx_peer_send_acked(&F, fill, 1024);
	}
	fx_goto(&F, c->st);
	snapshot();
	if (c->zero_window)
		assert_int_equal(W, 0);
	else
		assert_true(W > 1000);
	fx_clear_events(&F);
	return 0;
}

static uint16_t peer_wnd(void)
{
	return F.peer_wnd;
}

/* A segment from the peer. */
static void seg(uint8_t flags, uint32_t seq, uint32_t ack, const void *data, uint32_t len)
{
	fx_send(&F, flags, seq, ack, peer_wnd(), data, len);
}

static void assert_unchanged(const sync_case *c)
{
	fx_assert_state(&F, c->st);
	gt_tcb *t = fx_tcb(&F);
	assert_int_equal(t->rcv_nxt, R);
	assert_int_equal(t->snd_una, UNA);
}

/* ---- the acceptability test ---- */

/* Case "SEG.LEN = 0, RCV.WND > 0": RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND. An
 * unacceptable segment is answered <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> — for
 * a segment carrying nothing, at most once per 500 ms. */
static void test_len0_wnd_open(void **state)
{
	const sync_case *c = *state;
	/* acceptable at both ends of the window (distinct windows: not dup ACKs) */
	fx_send(&F, GT_TCP_ACK, R, UNA, (uint16_t)(F.peer_wnd - 1), NULL, 0);
	fx_expect_none(&F);
	fx_send(&F, GT_TCP_ACK, R + W - 1, UNA, (uint16_t)(F.peer_wnd - 2), NULL, 0);
	fx_expect_none(&F);
	assert_unchanged(c);
	/* just past the right edge */
	seg(GT_TCP_ACK, R + W, UNA, NULL, 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, NXT, R);
	assert_int_equal(p->seg.payload_len, 0);
	/* just left of RCV.NXT: within 500 ms of the last such ACK, no answer */
	fx_advance(&F, 499 * FX_MS);
	seg(GT_TCP_ACK, R - 1, UNA, NULL, 0);
	fx_expect_none(&F);
	fx_advance(&F, 1 * FX_MS);
	seg(GT_TCP_ACK, R - 1, UNA, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, NXT, R);
	fx_expect_none(&F);
	assert_unchanged(c);
	assert_int_equal(gt_stack_get_counters(F.st)->drop[GT_DROP_OUT_OF_WINDOW], 3);
}

/* Case "SEG.LEN = 0, RCV.WND = 0": acceptable only at SEG.SEQ = RCV.NXT. */
static void test_len0_wnd0(void **state)
{
	const sync_case *c = *state;
	fx_send(&F, GT_TCP_ACK, R, UNA, (uint16_t)(F.peer_wnd - 1), NULL, 0);
	fx_expect_none(&F);
	seg(GT_TCP_ACK, R + 1, UNA, NULL, 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, NXT, R);
	assert_int_equal(p->seg.wnd, 0);
	fx_expect_none(&F);
	assert_unchanged(c);
}

/* Case "SEG.LEN > 0, RCV.WND = 0": not acceptable; "special allowance should
 * be made to accept valid ACKs, URGs, and RSTs" — the text is not taken and
 * the segment is acknowledged with the zero window. */
static void test_data_wnd0(void **state)
{
	const sync_case *c = *state;
	static const uint8_t data[10] = "0123456789";
	size_t readable = gt_sock_readable(F.st, F.sock);
	for (int i = 0; i < 2; i++) {
		seg(GT_TCP_ACK | GT_TCP_PSH, R, UNA, data, sizeof(data));
		const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, NXT, R);
		assert_int_equal(p->seg.wnd, 0);
		fx_expect_none(&F);
	}
	seg(GT_TCP_ACK | GT_TCP_PSH, R + 5, UNA, data, sizeof(data));
	fx_expect(&F, GT_TCP_ACK, NXT, R);
	fx_expect_none(&F);
	assert_unchanged(c);
	assert_int_equal(gt_sock_readable(F.st, F.sock), readable);
}

/* Case "SEG.LEN > 0, RCV.WND > 0": the first or the last octet in the window.
 * Old duplicates and segments past the window are acknowledged at once, every
 * time (our ACK may be what was lost). */
static void test_data_wnd_open(void **state)
{
	const sync_case *c = *state;
	static const uint8_t data[10] = "0123456789";
	for (int i = 0; i < 2; i++) {
		seg(GT_TCP_ACK | GT_TCP_PSH, R - 30, UNA, data, sizeof(data));
		fx_expect(&F, GT_TCP_ACK, NXT, R);
		fx_expect_none(&F);
	}
	for (int i = 0; i < 2; i++) {
		seg(GT_TCP_ACK | GT_TCP_PSH, R + W, UNA, data, sizeof(data));
		fx_expect(&F, GT_TCP_ACK, NXT, R);
		fx_expect_none(&F);
	}
	assert_unchanged(c);
	size_t before = gt_sock_readable(F.st, F.sock);
	seg(GT_TCP_ACK | GT_TCP_PSH, R, UNA, data, sizeof(data));
	if (receives_data(c->st)) {
		fx_expect(&F, GT_TCP_ACK, NXT, R + 10);
		assert_int_equal(gt_sock_readable(F.st, F.sock), before + 10);
		fx_assert_state(&F, c->st);
	} else {
		/* "This should not occur, since a FIN has been received from the
		 * remote side. Ignore the segment text." */
		fx_drain(&F);
		assert_unchanged(c);
		assert_int_equal(gt_sock_readable(F.st, F.sock), before);
	}
}

/* ---- RST ---- */

/* "If the RST bit is set and the sequence number exactly matches the next
 * expected sequence number (RCV.NXT), then TCP endpoints MUST reset the
 * connection in the manner prescribed below according to the connection
 * state." ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT: "any outstanding
 * RECEIVEs and SEND should receive 'reset' responses ... enter the CLOSED
 * state, delete the TCB". CLOSING, LAST-ACK: "enter the CLOSED state, delete
 * the TCB". TIME-WAIT: the engine follows RFC 1337 §3 (fix H1) and ignores it. */
static void test_rst_exact(void **state)
{
	const sync_case *c = *state;
	const gt_stack_counters *k = gt_stack_get_counters(F.st);
	seg(GT_TCP_RST, R, 0, NULL, 0);
	fx_expect_none(&F);
	switch (c->st) {
	case GT_TCP_ESTABLISHED:
	case GT_TCP_FIN_WAIT_1:
	case GT_TCP_FIN_WAIT_2:
	case GT_TCP_CLOSE_WAIT:
		fx_assert_state(&F, GT_TCP_CLOSED);
		assert_int_equal(gt_sock_state(F.st, F.sock), GT_TCP_CLOSED);
		assert_true(gt_poll(F.st, F.sock) & GT_POLLERR);
		assert_true(gt_poll(F.st, F.sock) & GT_POLLHUP);
		if (c->st != GT_TCP_CLOSE_WAIT && !c->zero_window)
			assert_int_equal(gt_recv(F.st, F.sock, (char[8]){0}, 8, F.now),
			                 -ECONNRESET);
		else
			assert_int_equal(gt_sock_error(F.st, F.sock), -ECONNRESET);
		assert_int_equal(k->conns_reset, 1);
		assert_int_equal(gt_send(F.st, F.sock, "x", 1, F.now), -EPIPE);
		break;
	case GT_TCP_CLOSING:
	case GT_TCP_LAST_ACK:
		fx_assert_state(&F, GT_TCP_CLOSED);
		assert_int_equal(gt_sock_error(F.st, F.sock), 0);
		assert_int_equal(k->conns_reset, 0);
		break;
	case GT_TCP_TIME_WAIT:
		fx_assert_state(&F, GT_TCP_TIME_WAIT);
		assert_int_equal(gt_sock_error(F.st, F.sock), 0);
		break;
	default:
		fail();
	}
	if (c->st != GT_TCP_TIME_WAIT) {
		const fx_state_ev *e = fx_find_transition(&F, c->st, GT_TCP_CLOSED);
		assert_non_null(e);
		assert_string_equal(e->cause, "rcv RST");
		assert_int_equal(gt_stack_conn_count(F.st), c->active ? 0 : 1);
		/* the connection is gone: what the peer sends now draws a reset */
		fx_peer_ack(&F);
		fx_expect(&F, GT_TCP_RST, F.peer_rcv_nxt, 0);
	}
	assert_int_equal(k->tx_rsts, c->st == GT_TCP_TIME_WAIT ? 0 : 1);
}

/* RFC 5961 §3.2: "If the RST bit is set and the sequence number does not
 * exactly match the next expected sequence value, yet is within the current
 * receive window, TCP endpoints MUST send an acknowledgment (challenge ACK):
 * <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>". §7: challenge ACKs are rate limited. */
static void test_rst_in_window_challenged(void **state)
{
	const sync_case *c = *state;
	seg(GT_TCP_RST, R + 1, 0, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, NXT, R);
	fx_expect_none(&F);
	assert_unchanged(c);
	seg(GT_TCP_RST | GT_TCP_ACK, R + W - 1, UNA, NULL, 0);
	fx_expect_none(&F); /* rate limited */
	assert_unchanged(c);
	assert_int_equal(gt_stack_get_counters(F.st)->tx_challenge_acks, 1);
	assert_int_equal(gt_stack_get_counters(F.st)->drop[GT_DROP_RST_CHALLENGED], 2);
	fx_advance(&F, 600 * FX_MS);
	seg(GT_TCP_RST, R + 100, 0, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, NXT, R);
	assert_unchanged(c);
	assert_int_equal(gt_sock_error(F.st, F.sock), 0);
}

/* "If the RST bit is set and the sequence number is outside the current
 * receive window, silently drop the segment." */
static void test_rst_outside_dropped(void **state)
{
	const sync_case *c = *state;
	seg(GT_TCP_RST, R + W, 0, NULL, 0);
	seg(GT_TCP_RST, R + W + 100000, 0, NULL, 0);
	seg(GT_TCP_RST, R - 1, 0, NULL, 0);
	seg(GT_TCP_RST | GT_TCP_ACK, R - 1000, UNA, NULL, 0);
	fx_expect_none(&F);
	assert_unchanged(c);
	assert_int_equal(gt_stack_get_counters(F.st)->drop[GT_DROP_RST_INVALID], 4);
	assert_int_equal(gt_sock_error(F.st, F.sock), 0);
}

/* ---- SYN ---- */

/* RFC 5961 §4.2: "If the SYN bit is set, irrespective of the sequence number,
 * TCP MUST send an ACK (also referred to as challenge ACK) to the remote peer:
 * <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. After sending the acknowledgment, TCP
 * MUST drop the unacceptable segment and stop processing further." */
static void test_syn_challenged(void **state)
{
	const sync_case *c = *state;
	seg(GT_TCP_SYN, R, 0, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, NXT, R);
	fx_expect_none(&F);
	assert_unchanged(c);
	fx_advance(&F, 600 * FX_MS);
	seg(GT_TCP_SYN | GT_TCP_ACK, R + 10, UNA, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, NXT, R);
	fx_expect_none(&F);
	fx_advance(&F, 600 * FX_MS);
	seg(GT_TCP_SYN, R - 1000, 0, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, NXT, R);
	fx_expect_none(&F);
	assert_unchanged(c);
	assert_int_equal(gt_stack_get_counters(F.st)->tx_rsts, 0);
	assert_int_equal(gt_sock_error(F.st, F.sock), 0);
}

/* ---- ACK ---- */

/* "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an
 * ACK, drop the segment, and return." Its text is not taken. */
static void test_ack_of_unsent_data(void **state)
{
	const sync_case *c = *state;
	static const uint8_t data[5] = "abcde";
	size_t before = gt_sock_readable(F.st, F.sock);
	seg(GT_TCP_ACK | GT_TCP_PSH, R, NXT + 10, data, sizeof(data));
	fx_expect(&F, GT_TCP_ACK, NXT, R);
	fx_expect_none(&F);
	assert_unchanged(c);
	assert_int_equal(gt_sock_readable(F.st, F.sock), before);
	assert_int_equal(gt_stack_get_counters(F.st)->drop[GT_DROP_BAD_ACK], 1);
}

/* "If the ACK is a duplicate (SEG.ACK < SND.UNA), it can be ignored" — the
 * rest of the segment is still processed. RFC 5961 §5.2: an ACK older than
 * SND.UNA - MAX.SND.WND is answered with an ACK and dropped. */
static void test_old_ack(void **state)
{
	const sync_case *c = *state;
	static const uint8_t data[5] = "abcde";
	fx_send(&F, GT_TCP_ACK, R, UNA - 100, (uint16_t)(F.peer_wnd - 1), NULL, 0);
	fx_expect_none(&F);
	assert_unchanged(c);
	if (receives_data(c->st)) {
		size_t before = gt_sock_readable(F.st, F.sock);
		seg(GT_TCP_ACK | GT_TCP_PSH, R, UNA - 100, data, sizeof(data));
		fx_expect(&F, GT_TCP_ACK, NXT, R + 5);
		assert_int_equal(gt_sock_readable(F.st, F.sock), before + 5);
		R += 5;
	}
	seg(GT_TCP_ACK | GT_TCP_PSH, R, UNA - 70000, data, sizeof(data));
	fx_expect(&F, GT_TCP_ACK, NXT, R);
	fx_expect_none(&F);
	assert_unchanged(c);
}

/* A segment without ACK in a synchronized state: "if the ACK bit is off,
 * drop the segment and return". */
static void test_no_ack_dropped(void **state)
{
	const sync_case *c = *state;
	static const uint8_t data[5] = "abcde";
	size_t before = gt_sock_readable(F.st, F.sock);
	seg(GT_TCP_PSH, R, 0, data, sizeof(data));
	seg(0, R, 0, NULL, 0);
	fx_expect_none(&F);
	assert_unchanged(c);
	assert_int_equal(gt_sock_readable(F.st, F.sock), before);
	assert_int_equal(gt_stack_get_counters(F.st)->drop[GT_DROP_NO_ACK], 2);
}

/* ---- the table ---- */

typedef struct check {
	const char *name;
	CMUnitTestFunction fn;
	bool zero_window;
} check;

static const check checks[] = {
    {"len0_wnd_open", test_len0_wnd_open, false},
    {"data_wnd_open", test_data_wnd_open, false},
    {"len0_wnd0", test_len0_wnd0, true},
    {"data_wnd0", test_data_wnd0, true},
    {"rst_exact", test_rst_exact, false},
    {"rst_exact_wnd0", test_rst_exact, true},
    {"rst_in_window_challenged", test_rst_in_window_challenged, false},
    {"rst_outside_dropped", test_rst_outside_dropped, false},
    {"syn_challenged", test_syn_challenged, false},
    {"ack_of_unsent_data", test_ack_of_unsent_data, false},
    {"old_ack", test_old_ack, false},
    {"no_ack_dropped", test_no_ack_dropped, false},
};

static const gt_tcp_state states[] = {GT_TCP_ESTABLISHED, GT_TCP_FIN_WAIT_1, GT_TCP_FIN_WAIT_2,
                                      GT_TCP_CLOSE_WAIT,  GT_TCP_CLOSING,    GT_TCP_LAST_ACK,
                                      GT_TCP_TIME_WAIT};

#define NCHECKS (sizeof(checks) / sizeof(checks[0]))
#define NSTATES (sizeof(states) / sizeof(states[0]))

int main(void)
{
	static sync_case cases[2 * NSTATES * NCHECKS];
	static struct CMUnitTest tests[2 * NSTATES * NCHECKS];
	static char names[2 * NSTATES * NCHECKS][80];
	size_t n = 0;
	for (int active = 0; active < 2; active++) {
		for (size_t s = 0; s < NSTATES; s++) {
			for (size_t k = 0; k < NCHECKS; k++) {
				cases[n] = (sync_case){.st = states[s],
				                       .active = active,
				                       .zero_window = checks[k].zero_window};
				snprintf(names[n], sizeof(names[n]), "%s/%s/%s", checks[k].name,
				         gt_tcp_state_name(states[s]),
				         active ? "active" : "passive");
				tests[n] = (struct CMUnitTest){.name = names[n],
				                               .test_func = checks[k].fn,
				                               .setup_func = setup,
				                               .teardown_func = fx_teardown,
				                               .initial_state = &cases[n]};
				n++;
			}
		}
	}
	return _cmocka_run_group_tests("test_state_sync", tests, n, NULL, NULL);
}
