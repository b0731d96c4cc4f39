/* Sequence numbers wrap modulo 2^32 (RFC 9293 §3.4): with our ISS 0xFFFFFF00
 * and the peer's ISN 0xFFFFFFF0 both directions cross zero in the first
 * segments. Handshake, 64 KiB each way, out-of-order data and a retransmission
 * across the wrap, and the close must all come out right. Plus the truth
 * tables of the comparison helpers. */
#include "fixture.h"
#include "stack/stack_impl.h"
#include "tcp/seq.h"

#include <errno.h>
#include <string.h>

#define OUR_ISS  0xFFFFFF00u
#define PEER_ISN 0xFFFFFFF0u
#define XFER     (64u * 1024u)

static int setup_common(bool active)
{
	fx_opts o;
	fx_opts_default(&o);
	o.iss = OUR_ISS;
	o.peer_iss = PEER_ISN;
	o.active = active;
	fx_init(&F, &o);
	return 0;
}

static int setup_passive(void **state)
{
	return setup_common(false);
}

static int setup_active(void **state)
{
	return setup_common(true);
}

static uint8_t rx_buf[XFER], want[XFER];

/* The peer sends XFER octets (the application reading along); every ACK is
 * checked modulo 2^32. Returns with the data verified. */
static void peer_to_us(uint32_t chunk)
{
	fx_fill_pattern(want, XFER, 0);
	uint32_t sent = 0, got = 0;
	while (sent < XFER) {
		uint32_t n = XFER - sent < chunk ? XFER - sent : chunk;
		fx_send(&F, GT_TCP_ACK | GT_TCP_PSH, F.peer_snd_nxt, F.peer_rcv_nxt, F.peer_wnd,
		        want + sent, n);
		F.peer_snd_nxt += n;
		sent += n;
		fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
		ssize_t r = gt_recv(F.st, F.sock, rx_buf + got, XFER - got, F.now);
		assert_true(r > 0);
		got += (uint32_t)r;
		fx_drain(&F); /* window updates */
	}
	assert_int_equal(got, XFER);
	assert_memory_equal(rx_buf, want, XFER);
}

/* We send XFER octets; the peer checks every segment's sequence number and
 * content and acknowledges it. */
static void us_to_peer(void)
{
	static uint8_t out[XFER], seen[XFER];
	fx_fill_pattern(out, XFER, 12345);
	uint32_t queued = 0, received = 0;
	uint32_t base = F.peer_rcv_nxt; /* sequence number of out[0] */
	for (int guard = 0; received < XFER && guard < 10000; guard++) {
		if (queued < XFER) {
			ssize_t r = gt_send(F.st, F.sock, out + queued, XFER - queued, F.now);
			if (r > 0)
				queued += (uint32_t)r;
			else
				assert_int_equal(r, -EAGAIN);
		}
		if (!fx_pending(&F)) {
			fx_step(&F); /* e.g. a tail held by Nagle goes after the ACK */
			continue;
		}
		while (fx_pending(&F)) {
			const fx_pkt *p = fx_pop(&F);
			if (p->seg.payload_len == 0)
				continue;
			assert_true(p->seg.flags & GT_TCP_ACK);
			assert_int_equal(p->seg.seq, F.peer_rcv_nxt);
			uint32_t off = p->seg.seq - base;
			assert_true(off + p->seg.payload_len <= XFER);
			memcpy(seen + off, p->seg.payload, p->seg.payload_len);
			F.peer_rcv_nxt += p->seg.payload_len;
			received += p->seg.payload_len;
			fx_peer_ack(&F);
		}
	}
	assert_int_equal(received, XFER);
	assert_memory_equal(seen, out, XFER);
	assert_int_equal(F.peer_rcv_nxt, base + XFER);
	assert_int_equal(gt_sock_unacked(F.st, F.sock), 0);
}

static void close_cleanly(void)
{
	fx_peer_fin(&F);
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	fx_assert_state(&F, GT_TCP_CLOSE_WAIT);
	assert_int_equal(gt_recv(F.st, F.sock, rx_buf, 1, F.now), 0);
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	F.peer_rcv_nxt++;
	fx_assert_state(&F, GT_TCP_LAST_ACK);
	fx_peer_ack(&F);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
}

/* ---- tests ---- */

static void test_handshake_across_wrap(void **state)
{
	fx_established(&F);
	gt_tcb *t = fx_tcb(&F);
	assert_int_equal(t->iss, OUR_ISS);
	assert_int_equal(t->irs, PEER_ISN);
	assert_int_equal(t->snd_una, OUR_ISS + 1);
	assert_int_equal(t->rcv_nxt, PEER_ISN + 1);
	/* a first data segment that crosses zero in both directions */
	static uint8_t d[300];
	fx_fill_pattern(d, sizeof(d), 0);
	fx_peer_data(&F, d, sizeof(d)); /* peer: 0xFFFFFFF1 .. 0x0000011C */
	fx_expect(&F, GT_TCP_ACK, OUR_ISS + 1, PEER_ISN + 1 + 300);
	assert_true(F.peer_snd_nxt < PEER_ISN);
	assert_int_equal(gt_send(F.st, F.sock, d, sizeof(d), F.now), 300);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, OUR_ISS + 1, F.peer_snd_nxt);
	assert_int_equal(p->seg.payload_len, 300);
	F.peer_rcv_nxt += 300;
	assert_true(F.peer_rcv_nxt < OUR_ISS);
	fx_peer_ack(&F);
	fx_expect_none(&F);
	assert_int_equal(gt_sock_unacked(F.st, F.sock), 0);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

static void test_bulk_both_ways_and_close(void **state)
{
	fx_established(&F);
	peer_to_us(1460);
	us_to_peer();
	peer_to_us(1000);
	close_cleanly();
}

/* Out-of-order segments on both sides of zero are held and delivered. */
static void test_out_of_order_across_wrap(void **state)
{
	fx_established(&F);
	static uint8_t d[60];
	fx_fill_pattern(d, sizeof(d), 0);
	uint32_t s0 = PEER_ISN + 1; /* offset 15 is sequence number 0 */
	/* [40,60) then [10,30) (straddles zero), then [30,40), then [0,10) */
	fx_send(&F, GT_TCP_ACK, s0 + 40, F.peer_rcv_nxt, F.peer_wnd, d + 40, 20);
	fx_expect(&F, GT_TCP_ACK, OUR_ISS + 1, s0);
	fx_send(&F, GT_TCP_ACK, s0 + 10, F.peer_rcv_nxt, F.peer_wnd, d + 10, 20);
	fx_expect(&F, GT_TCP_ACK, OUR_ISS + 1, s0);
	fx_send(&F, GT_TCP_ACK, s0 + 30, F.peer_rcv_nxt, F.peer_wnd, d + 30, 10);
	fx_expect(&F, GT_TCP_ACK, OUR_ISS + 1, s0);
	assert_int_equal(gt_sock_readable(F.st, F.sock), 0);
	assert_int_equal(fx_tcb(&F)->reasm.count, 1); /* merged into [10,60) */
	fx_send(&F, GT_TCP_ACK, s0, F.peer_rcv_nxt, F.peer_wnd, d, 10);
	fx_expect(&F, GT_TCP_ACK, OUR_ISS + 1, s0 + 60);
	fx_expect_none(&F);
	uint8_t got[60];
	assert_int_equal(gt_recv(F.st, F.sock, got, sizeof(got), F.now), 60);
	assert_memory_equal(got, d, 60);
	/* a duplicate of the straddling segment is old now */
	fx_send(&F, GT_TCP_ACK, s0 + 10, F.peer_rcv_nxt, F.peer_wnd, d + 10, 20);
	fx_expect(&F, GT_TCP_ACK, OUR_ISS + 1, s0 + 60);
	F.peer_snd_nxt = s0 + 60;
	/* the rest of the stream with a FIN, the FIN's segment first */
	fx_send(&F, GT_TCP_ACK | GT_TCP_FIN, s0 + 70, F.peer_rcv_nxt, F.peer_wnd, d, 10);
	fx_expect(&F, GT_TCP_ACK, OUR_ISS + 1, s0 + 60);
	fx_send(&F, GT_TCP_ACK, s0 + 60, F.peer_rcv_nxt, F.peer_wnd, d, 10);
	fx_expect(&F, GT_TCP_ACK, OUR_ISS + 1, s0 + 81);
	fx_assert_state(&F, GT_TCP_CLOSE_WAIT);
}

/* A segment of ours that straddles zero is lost and retransmitted whole. */
static void test_retransmission_across_wrap(void **state)
{
	fx_established(&F);
	static uint8_t d[1000];
	fx_fill_pattern(d, sizeof(d), 7);
	assert_int_equal(gt_send(F.st, F.sock, d, sizeof(d), F.now), 1000);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, OUR_ISS + 1, F.peer_snd_nxt); /* lost */
	fx_step(&F);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, OUR_ISS + 1, F.peer_snd_nxt);
	assert_int_equal(p->seg.payload_len, 1000);
	assert_memory_equal(p->seg.payload, d, 1000);
	/* a partial ACK right at zero */
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, 0, F.peer_wnd, NULL, 0);
	assert_int_equal(gt_sock_unacked(F.st, F.sock), 1000 - 255);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, OUR_ISS + 1 + 1000, F.peer_wnd, NULL, 0);
	assert_int_equal(gt_sock_unacked(F.st, F.sock), 0);
	/* an ACK of "unsent" data on the far side of zero is refused */
	fx_advance(&F, FX_S);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, OUR_ISS + 1 + 2000, F.peer_wnd, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, OUR_ISS + 1001, F.peer_snd_nxt);
	fx_expect_none(&F);
}

/* The acceptability test and RST checks where RCV.NXT is just below zero. */
static void test_window_checks_across_wrap(void **state)
{
	fx_established(&F);
	uint32_t R = PEER_ISN + 1; /* 0xFFFFFFF1 */
	uint32_t W = fx_tcb(&F)->rcv_adv - R;
	/* RST in the window, past zero: challenge ACK */
	fx_send(&F, GT_TCP_RST, 100, 0, 0, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, OUR_ISS + 1, R);
	/* RST past the window (wrapped): dropped */
	fx_send(&F, GT_TCP_RST, R + W, 0, 0, NULL, 0);
	fx_send(&F, GT_TCP_RST, R - 1, 0, 0, NULL, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	/* exact: reset */
	fx_send(&F, GT_TCP_RST, R, 0, 0, NULL, 0);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_int_equal(gt_sock_error(F.st, F.sock), -ECONNRESET);
}

static void test_active_bulk_and_active_close(void **state)
{
	fx_established(&F);
	us_to_peer();
	peer_to_us(1460);
	fx_goto(&F, GT_TCP_TIME_WAIT);
	fx_advance(&F, 2 * F.cfg.msl_us);
	fx_assert_state(&F, GT_TCP_CLOSED);
}

/* ---- seq.h truth tables ---- */

typedef struct cmp_row {
	uint32_t a, b;
	bool lt, le, gt, ge;
} cmp_row;

static void test_seq_compare_truth_table(void **state)
{
	static const cmp_row rows[] = {
	    {0, 0, false, true, false, true},
	    {0xFFFFFFFFu, 0, true, true, false, false},
	    {0, 0xFFFFFFFFu, false, false, true, true},
	    {0xFFFFFF00u, 0x100u, true, true, false, false},
	    {0x100u, 0xFFFFFF00u, false, false, true, true},
	    {0xFFFFFFF0u, 0xFFFFFFF0u, false, true, false, true},
	    {0x7FFFFFFFu, 0x80000000u, true, true, false, false},
	    {0x80000000u, 0x7FFFFFFFu, false, false, true, true},
	    {1, 2, true, true, false, false},
	    {2, 1, false, false, true, true},
	    {0, 0x7FFFFFFFu, true, true, false, false}, /* 2^31 - 1 ahead */
	    {0x7FFFFFFFu, 0, false, false, true, true},
	    {0x80000001u, 0, true, true, false, false}, /* 2^31 - 1 behind 0 */
	    {0, 0x80000001u, false, false, true, true},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const cmp_row *r = &rows[i];
		if (seq_lt(r->a, r->b) != r->lt || seq_le(r->a, r->b) != r->le ||
		    seq_gt(r->a, r->b) != r->gt || seq_ge(r->a, r->b) != r->ge)
			fail_msg("row %zu: a=0x%08x b=0x%08x lt=%d le=%d gt=%d ge=%d", i, r->a,
			         r->b, seq_lt(r->a, r->b), seq_le(r->a, r->b), seq_gt(r->a, r->b),
			         seq_ge(r->a, r->b));
		/* consistency between the four */
		assert_true(seq_le(r->a, r->b) == (seq_lt(r->a, r->b) || r->a == r->b));
		assert_true(seq_gt(r->a, r->b) == !seq_le(r->a, r->b));
		assert_true(seq_ge(r->a, r->b) == !seq_lt(r->a, r->b));
	}
	assert_int_equal(seq_max(0xFFFFFFF0u, 5), 5);
	assert_int_equal(seq_min(0xFFFFFFF0u, 5), 0xFFFFFFF0u);
	assert_int_equal(seq_max(5, 0xFFFFFFF0u), 5);
	assert_int_equal(seq_min(5, 0xFFFFFFF0u), 0xFFFFFFF0u);
}

typedef struct in_row {
	uint32_t x, lo, hi;
	bool in;
} in_row;

static void test_seq_in_truth_table(void **state)
{
	static const in_row rows[] = {
	    /* [0xFFFFFFF0, 0x10): 32 numbers across zero */
	    {0xFFFFFFF0u, 0xFFFFFFF0u, 0x10u, true},
	    {0xFFFFFFFFu, 0xFFFFFFF0u, 0x10u, true},
	    {0, 0xFFFFFFF0u, 0x10u, true},
	    {0xFu, 0xFFFFFFF0u, 0x10u, true},
	    {0x10u, 0xFFFFFFF0u, 0x10u, false},
	    {0xFFFFFFEFu, 0xFFFFFFF0u, 0x10u, false},
	    {0x80000000u, 0xFFFFFFF0u, 0x10u, false},
	    /* an empty window holds nothing */
	    {5, 5, 5, false},
	    {0, 0, 0, false},
	    /* ordinary ranges */
	    {100, 100, 200, true},
	    {199, 100, 200, true},
	    {200, 100, 200, false},
	    {99, 100, 200, false},
	    /* a window that ends exactly at zero */
	    {0xFFFFFFFFu, 0xFFFFFF00u, 0, true},
	    {0, 0xFFFFFF00u, 0, false},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const in_row *r = &rows[i];
		if (seq_in(r->x, r->lo, r->hi) != r->in)
			fail_msg("row %zu: seq_in(0x%08x, 0x%08x, 0x%08x) = %d", i, r->x, r->lo,
			         r->hi, seq_in(r->x, r->lo, r->hi));
	}
	/* exhaustively around zero: x in [lo, lo+n) iff lo <= x < lo+n mod 2^32 */
	for (uint32_t lo = 0xFFFFFFF8u; lo != 8; lo++)
		for (uint32_t n = 0; n < 16; n++)
			for (uint32_t k = 0; k < 24; k++) {
				uint32_t x = lo - 4 + k;
				bool want_in = (uint32_t)(x - lo) < n;
				assert_true(seq_in(x, lo, lo + n) == want_in);
			}
}

int main(void)
{
#define PASSIVE(fn) cmocka_unit_test_setup_teardown(fn, setup_passive, fx_teardown)
#define ACTIVE(fn)  cmocka_unit_test_setup_teardown(fn, setup_active, fx_teardown)
	const struct CMUnitTest tests[] = {
	    PASSIVE(test_handshake_across_wrap),
	    ACTIVE(test_handshake_across_wrap),
	    PASSIVE(test_bulk_both_ways_and_close),
	    PASSIVE(test_out_of_order_across_wrap),
	    PASSIVE(test_retransmission_across_wrap),
	    PASSIVE(test_window_checks_across_wrap),
	    ACTIVE(test_active_bulk_and_active_close),
	    cmocka_unit_test(test_seq_compare_truth_table),
	    cmocka_unit_test(test_seq_in_truth_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
