/* The engine's building blocks: the byte ring (tcp/ringbuf), the out-of-order
 * range list (tcp/reasm), the retransmission timer arithmetic (tcp/rto,
 * RFC 6298), SipHash-2-4 and the RFC 6528 ISN generator (tcp/isn). */
#include "support.h"
#include "tcp/isn.h"
#include "tcp/reasm.h"
#include "tcp/ringbuf.h"
#include "tcp/rto.h"
#include "wire/wire.h"

#include <errno.h>
#include <string.h>

/* ---- ringbuf ---- */

static void test_ringbuf_basic(void **state)
{
	gt_ringbuf rb;
	assert_int_equal(gt_ringbuf_init(&rb, 8), 0);
	assert_int_equal(gt_ringbuf_free_space(&rb), 8);
	assert_int_equal(gt_ringbuf_append(&rb, "abcde", 5), 5);
	assert_int_equal(rb.len, 5);
	assert_int_equal(gt_ringbuf_free_space(&rb), 3);
	/* only what fits */
	assert_int_equal(gt_ringbuf_append(&rb, "fghij", 5), 3);
	assert_int_equal(gt_ringbuf_free_space(&rb), 0);
	assert_int_equal(gt_ringbuf_append(&rb, "x", 1), 0);
	char out[8];
	gt_ringbuf_peek(&rb, 0, out, 8);
	assert_memory_equal(out, "abcdefgh", 8);
	gt_ringbuf_peek(&rb, 6, out, 2);
	assert_memory_equal(out, "gh", 2);
	gt_ringbuf_free(&rb);
	assert_null(rb.data);
	assert_int_equal(rb.cap, 0);
}

static void test_ringbuf_wrap_around(void **state)
{
	gt_ringbuf rb;
	assert_int_equal(gt_ringbuf_init(&rb, 8), 0);
	assert_int_equal(gt_ringbuf_append(&rb, "012345", 6), 6);
	gt_ringbuf_consume(&rb, 5);
	assert_int_equal(rb.len, 1);
	assert_int_equal(rb.head, 5);
	/* head at 5: the next 7 octets wrap */
	assert_int_equal(gt_ringbuf_append(&rb, "ABCDEFG", 7), 7);
	assert_int_equal(rb.len, 8);
	char out[8];
	gt_ringbuf_peek(&rb, 0, out, 8);
	assert_memory_equal(out, "5ABCDEFG", 8);
	/* a peek that starts before the end of the storage and wraps */
	gt_ringbuf_peek(&rb, 1, out, 5);
	assert_memory_equal(out, "ABCDE", 5);
	/* a peek that starts after the wrap */
	gt_ringbuf_peek(&rb, 4, out, 4);
	assert_memory_equal(out, "DEFG", 4);
	/* write_at across the wrap, without changing len */
	gt_ringbuf_write_at(&rb, 2, "wxyz", 4);
	assert_int_equal(rb.len, 8);
	gt_ringbuf_peek(&rb, 0, out, 8);
	assert_memory_equal(out, "5AwxyzFG", 8);
	/* consume across the wrap */
	gt_ringbuf_consume(&rb, 6);
	assert_int_equal(rb.len, 2);
	assert_int_equal(rb.head, (5 + 6) % 8);
	gt_ringbuf_peek(&rb, 0, out, 2);
	assert_memory_equal(out, "FG", 2);
	/* empty it, the head lands anywhere, and it still works */
	gt_ringbuf_consume(&rb, 2);
	assert_int_equal(rb.len, 0);
	assert_int_equal(gt_ringbuf_append(&rb, "12345678", 8), 8);
	gt_ringbuf_peek(&rb, 0, out, 8);
	assert_memory_equal(out, "12345678", 8);
	gt_ringbuf_free(&rb);
}

/* Against a simple model, every head position and length. */
static void test_ringbuf_model(void **state)
{
	enum { CAP = 13 };
	gt_ringbuf rb;
	assert_int_equal(gt_ringbuf_init(&rb, CAP), 0);
	uint8_t model[1024];
	uint32_t mlen = 0, next = 0;
	uint64_t x = 88172645463325252ull;
	for (int step = 0; step < 20000; step++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint32_t n = (uint32_t)(x % (CAP + 2));
		if (x & (1ull << 40)) {
			uint8_t in[CAP + 2];
			for (uint32_t i = 0; i < n; i++)
				in[i] = (uint8_t)(next + i);
			uint32_t took = gt_ringbuf_append(&rb, in, n);
			uint32_t room = CAP - mlen;
			assert_int_equal(took, n < room ? n : room);
			memcpy(model + mlen, in, took);
			mlen += took;
			next += took;
		} else {
			if (n > mlen)
				n = mlen;
			uint8_t out[CAP];
			gt_ringbuf_peek(&rb, 0, out, n);
			assert_memory_equal(out, model, n);
			gt_ringbuf_consume(&rb, n);
			memmove(model, model + n, mlen - n);
			mlen -= n;
		}
		assert_int_equal(rb.len, mlen);
		assert_true(rb.head < CAP);
	}
	gt_ringbuf_free(&rb);
}

/* ---- reasm ---- */

static void expect_ranges(const gt_reasm *r, const uint32_t *pairs, uint32_t n)
{
	if (r->count != n) {
		print_error("have %u ranges:", r->count);
		for (uint32_t i = 0; i < r->count; i++)
			print_error(" [%u,%u)", r->ranges[i].start, r->ranges[i].end);
		print_error("\n");
	}
	assert_int_equal(r->count, n);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(r->ranges[i].start, pairs[2 * i]);
		assert_int_equal(r->ranges[i].end, pairs[2 * i + 1]);
	}
}

static void test_reasm_merging(void **state)
{
	gt_reasm r;
	assert_int_equal(gt_reasm_init(&r, 8), 0);
	assert_true(gt_reasm_empty(&r));
	assert_true(gt_reasm_add(&r, 100, 110));
	assert_true(gt_reasm_add(&r, 130, 140));
	assert_true(gt_reasm_add(&r, 50, 60)); /* in front */
	expect_ranges(&r, (uint32_t[]){50, 60, 100, 110, 130, 140}, 3);
	/* adjacent on the right and on the left: merged */
	assert_true(gt_reasm_add(&r, 110, 115));
	assert_true(gt_reasm_add(&r, 125, 130));
	expect_ranges(&r, (uint32_t[]){50, 60, 100, 115, 125, 140}, 3);
	/* overlapping */
	assert_true(gt_reasm_add(&r, 55, 70));
	expect_ranges(&r, (uint32_t[]){50, 70, 100, 115, 125, 140}, 3);
	/* contained: nothing changes */
	assert_true(gt_reasm_add(&r, 101, 105));
	assert_true(gt_reasm_add(&r, 100, 115));
	expect_ranges(&r, (uint32_t[]){50, 70, 100, 115, 125, 140}, 3);
	/* containing */
	assert_true(gt_reasm_add(&r, 120, 150));
	expect_ranges(&r, (uint32_t[]){50, 70, 100, 115, 120, 150}, 3);
	/* bridging two ranges exactly */
	assert_true(gt_reasm_add(&r, 115, 120));
	expect_ranges(&r, (uint32_t[]){50, 70, 100, 150}, 2);
	/* swallowing everything */
	assert_true(gt_reasm_add(&r, 40, 200));
	expect_ranges(&r, (uint32_t[]){40, 200}, 1);
	gt_reasm_free(&r);
}

static void test_reasm_bound(void **state)
{
	gt_reasm r;
	assert_int_equal(gt_reasm_init(&r, 2), 0);
	assert_true(gt_reasm_add(&r, 10, 20));
	assert_true(gt_reasm_add(&r, 30, 40));
	/* a third disjoint range does not fit, wherever it would go */
	assert_false(gt_reasm_add(&r, 50, 60));
	assert_false(gt_reasm_add(&r, 0, 5));
	assert_false(gt_reasm_add(&r, 22, 28));
	expect_ranges(&r, (uint32_t[]){10, 20, 30, 40}, 2);
	/* but anything that merges still does */
	assert_true(gt_reasm_add(&r, 40, 45));
	assert_true(gt_reasm_add(&r, 5, 10));
	assert_true(gt_reasm_add(&r, 18, 32));
	expect_ranges(&r, (uint32_t[]){5, 45}, 1);
	assert_true(gt_reasm_add(&r, 50, 60));
	expect_ranges(&r, (uint32_t[]){5, 45, 50, 60}, 2);
	gt_reasm_free(&r);
}

static void test_reasm_pull(void **state)
{
	gt_reasm r;
	assert_int_equal(gt_reasm_init(&r, 4), 0);
	assert_int_equal(gt_reasm_pull(&r, 7), 7); /* empty */
	assert_true(gt_reasm_add(&r, 10, 20));
	assert_true(gt_reasm_add(&r, 30, 40));
	assert_int_equal(gt_reasm_pull(&r, 5), 5); /* hole before 10 */
	assert_int_equal(r.count, 2);
	assert_int_equal(gt_reasm_pull(&r, 10), 20);
	assert_int_equal(r.count, 1);
	/* a range that starts before RCV.NXT (its head was received again) */
	assert_int_equal(gt_reasm_pull(&r, 35), 40);
	assert_true(gt_reasm_empty(&r));
	/* a range wholly before RCV.NXT never moves it back */
	assert_true(gt_reasm_add(&r, 100, 110));
	assert_int_equal(gt_reasm_pull(&r, 120), 120);
	assert_true(gt_reasm_empty(&r));
	/* RCV.NXT past a whole range and into the next: both join the stream,
	 * the range after the next hole stays */
	assert_true(gt_reasm_add(&r, 130, 140));
	assert_true(gt_reasm_add(&r, 150, 160));
	assert_true(gt_reasm_add(&r, 170, 180));
	assert_int_equal(gt_reasm_pull(&r, 155), 160);
	expect_ranges(&r, (uint32_t[]){170, 180}, 1);
	gt_reasm_free(&r);
}

static void test_reasm_across_wrap(void **state)
{
	gt_reasm r;
	assert_int_equal(gt_reasm_init(&r, 4), 0);
	assert_true(gt_reasm_add(&r, 0x10, 0x20));
	assert_true(gt_reasm_add(&r, 0xFFFFFFF0u, 0xFFFFFFF8u));
	expect_ranges(&r, (uint32_t[]){0xFFFFFFF0u, 0xFFFFFFF8u, 0x10, 0x20}, 2);
	assert_true(gt_reasm_add(&r, 0xFFFFFFF8u, 0x10)); /* bridges across zero */
	expect_ranges(&r, (uint32_t[]){0xFFFFFFF0u, 0x20}, 1);
	assert_int_equal(gt_reasm_pull(&r, 0xFFFFFFF0u), 0x20);
	gt_reasm_free(&r);
}

/* ---- RTO: RFC 6298 ---- */

#define MS 1000ull
#define S  1000000ull

static void test_rto_initial(void **state)
{
	gt_rto r;
	gt_rto_init(&r, 1 * S, 200 * MS, 60 * S);
	/* §2.1: "Until a round-trip time (RTT) measurement has been made ... the
	 * sender SHOULD set RTO <- 1 second" */
	assert_int_equal(gt_rto_current(&r), 1 * S);
	assert_false(r.has_sample);
}

static void test_rto_formulas(void **state)
{
	gt_rto r;
	gt_rto_init(&r, 1 * S, 200 * MS, 60 * S);
	/* §2.2: SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + max(G, K*RTTVAR) */
	gt_rto_sample(&r, 100 * MS);
	assert_int_equal(r.srtt, 100 * MS);
	assert_int_equal(r.rttvar, 50 * MS);
	assert_int_equal(gt_rto_current(&r), 300 * MS);
	/* §2.3: RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'|, then SRTT <- 7/8 SRTT + 1/8 R' */
	gt_rto_sample(&r, 200 * MS);
	assert_int_equal(r.rttvar, 62500); /* 3/4*50 + 1/4*100 ms */
	assert_int_equal(r.srtt, 112500);  /* 7/8*100 + 1/8*200 ms */
	assert_int_equal(gt_rto_current(&r), 112500 + 4 * 62500);
	/* a sample equal to SRTT shrinks RTTVAR only */
	gt_rto_sample(&r, 112500);
	assert_int_equal(r.srtt, 112500);
	assert_int_equal(r.rttvar, 46875);
	/* a shorter sample: |SRTT - R'| the other way round */
	gt_rto_sample(&r, 12500);
	assert_int_equal(r.rttvar, (3 * 46875 + 100000) / 4);
	assert_int_equal(r.srtt, (7 * 112500 + 12500) / 8);
}

static void test_rto_clamps(void **state)
{
	gt_rto r;
	/* §2.4: a minimum (here 200 ms) */
	gt_rto_init(&r, 1 * S, 200 * MS, 60 * S);
	gt_rto_sample(&r, 1 * MS);
	assert_int_equal(gt_rto_current(&r), 200 * MS);
	gt_rto_init(&r, 1 * S, 200 * MS, 60 * S);
	gt_rto_sample(&r, 0);
	assert_int_equal(gt_rto_current(&r), 200 * MS);
	/* §2.5: a maximum (here 60 s) */
	gt_rto_init(&r, 1 * S, 200 * MS, 60 * S);
	gt_rto_sample(&r, 30 * S);
	assert_int_equal(gt_rto_current(&r), 60 * S);
}

static void test_rto_backoff(void **state)
{
	gt_rto r;
	gt_rto_init(&r, 1 * S, 200 * MS, 60 * S);
	/* §5.5: RTO <- RTO * 2 on each expiry, up to the maximum */
	static const gt_time_us want[] = {2 * S, 4 * S, 8 * S, 16 * S, 32 * S, 60 * S, 60 * S};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		gt_rto_backoff(&r);
		assert_int_equal(gt_rto_current(&r), want[i]);
	}
	for (int i = 0; i < 100; i++)
		gt_rto_backoff(&r);
	assert_int_equal(gt_rto_current(&r), 60 * S);
	/* a valid sample (from a segment not retransmitted, Karn) ends the backoff */
	gt_rto_sample(&r, 100 * MS);
	assert_int_equal(r.backoff, 0);
	assert_int_equal(gt_rto_current(&r), 300 * MS);
	gt_rto_backoff(&r);
	assert_int_equal(gt_rto_current(&r), 600 * MS);
	gt_rto_backoff(&r);
	assert_int_equal(gt_rto_current(&r), 1200 * MS);
	gt_rto_sample(&r, 100 * MS);
	assert_int_equal(gt_rto_current(&r), 100 * MS + 4 * (3 * 50 * MS / 4));
}

/* ---- SipHash-2-4 and ISNs ---- */

static void test_siphash_vectors(void **state)
{
	uint8_t key[16], msg[64];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	/* Aumasson and Bernstein, "SipHash: a fast short-input PRF", appendix A:
	 * key 00..0f, message 00..0e */
	assert_int_equal(gt_siphash24(key, msg, 15), 0xa129ca6149be45e5ull);
	/* the reference implementation's vectors for lengths 0, 7 and 8 (the
	 * empty message, the last partial block alone, one whole block) */
	assert_int_equal(gt_siphash24(key, msg, 0), 0x726fdb47dd0e0e31ull);
	assert_int_equal(gt_siphash24(key, msg, 7), 0xab0200f58b01d137ull);
	assert_int_equal(gt_siphash24(key, msg, 8), 0x93f5f5799a932462ull);
	/* unaligned input gives the same result */
	uint8_t shifted[17];
	memcpy(shifted + 1, msg, 15);
	assert_int_equal(gt_siphash24(key, shifted + 1, 15), 0xa129ca6149be45e5ull);
}

static gt_conn_tuple tuple(uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp)
{
	gt_conn_tuple c = {
	    .local_addr = la, .remote_addr = ra, .local_port = lp, .remote_port = rp};
	return c;
}

/* RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
 * M a timer ticking every 4 microseconds. */
static void test_isn_per_tuple_and_time(void **state)
{
	uint8_t key[16];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)(0x30 + i);
	gt_conn_tuple base = tuple(GT_TEST_ADDR(2), 80, GT_TEST_ADDR(1), 50000);
	gt_time_us t = 123456789;
	uint32_t isn0 = gt_isn_generate(key, &base, t);
	/* the same tuple at the same time: the same ISN (deterministic) */
	assert_int_equal(gt_isn_generate(key, &base, t), isn0);
	/* every field of the tuple matters */
	gt_conn_tuple v[] = {
	    tuple(GT_TEST_ADDR(3), 80, GT_TEST_ADDR(1), 50000),
	    tuple(GT_TEST_ADDR(2), 81, GT_TEST_ADDR(1), 50000),
	    tuple(GT_TEST_ADDR(2), 80, GT_TEST_ADDR(4), 50000),
	    tuple(GT_TEST_ADDR(2), 80, GT_TEST_ADDR(1), 50001),
	    tuple(GT_TEST_ADDR(1), 50000, GT_TEST_ADDR(2), 80), /* the peer's view */
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_true(gt_isn_generate(key, &v[i], t) != isn0);
	/* many ports: all different, and spread over the space */
	enum { N = 2000 };
	static uint32_t seen[N];
	uint32_t hi_bits = 0;
	for (uint32_t i = 0; i < N; i++) {
		gt_conn_tuple c = tuple(GT_TEST_ADDR(2), 80, GT_TEST_ADDR(1), (uint16_t)(1024 + i));
		seen[i] = gt_isn_generate(key, &c, t);
		for (uint32_t j = 0; j < i; j++)
			assert_true(seen[j] != seen[i]);
		hi_bits |= 1u << (seen[i] >> 27);
	}
	assert_int_equal(hi_bits, 0xffffffffu); /* every 1/32 of the space is hit */
	/* another key, another ISN */
	uint8_t key2[16];
	memcpy(key2, key, 16);
	key2[15] ^= 1;
	assert_true(gt_isn_generate(key2, &base, t) != isn0);
	/* time: +1 every 4 microseconds, modulo 2^32 */
	assert_int_equal(gt_isn_generate(key, &base, t + 4) - isn0, 1);
	assert_int_equal(gt_isn_generate(key, &base, t + 4000000) - isn0, 1000000);
	uint32_t prev = isn0;
	for (gt_time_us dt = 4; dt < 4 * 1000; dt += 4) {
		uint32_t isn = gt_isn_generate(key, &base, t + dt);
		assert_int_equal(isn - prev, 1);
		prev = isn;
	}
	/* wraps modulo 2^32 after 4 * 2^32 microseconds (about 4.77 hours) */
	assert_int_equal(gt_isn_generate(key, &base, t + 4ull * 0x100000000ull), isn0);
}

/* Without an isn_fn, the stack's ISS is the RFC 6528 generator's. */
static uint8_t last_pkt[128];
static size_t last_len;

static void capture(void *user, const uint8_t *pkt, size_t len)
{
	memcpy(last_pkt, pkt, len < sizeof(last_pkt) ? len : sizeof(last_pkt));
	last_len = len;
}

static void test_stack_uses_rfc6528_isn(void **state)
{
	gt_stack_config cfg;
	gt_stack_config_default(&cfg);
	cfg.local_addr = GT_TEST_ADDR(2);
	cfg.output = capture;
	for (int i = 0; i < 16; i++)
		cfg.isn_key[i] = (uint8_t)(i * 17);
	gt_stack *st;
	assert_int_equal(gt_stack_create(&cfg, &st), 0);
	gt_time_us now = 5000000;
	int s = gt_socket(st);
	assert_int_equal(gt_connect(st, s, GT_TEST_ADDR(1), 443, now), -EINPROGRESS);
	gt_segment seg;
	assert_int_equal(gt_wire_parse(last_pkt, last_len, &seg), GT_DROP_NONE);
	gt_conn_tuple c;
	assert_int_equal(gt_sock_tuple(st, s, &c), 0);
	assert_int_equal(seg.seq, gt_isn_generate(cfg.isn_key, &c, now));
	/* a second connection, later, to the same peer: its ISN is elsewhere */
	int s2 = gt_socket(st);
	assert_int_equal(gt_connect(st, s2, GT_TEST_ADDR(1), 443, now + 1000), -EINPROGRESS);
	gt_segment seg2;
	assert_int_equal(gt_wire_parse(last_pkt, last_len, &seg2), GT_DROP_NONE);
	assert_true(seg2.seq != seg.seq);
	gt_stack_destroy(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ringbuf_basic),
	    cmocka_unit_test(test_ringbuf_wrap_around),
	    cmocka_unit_test(test_ringbuf_model),
	    cmocka_unit_test(test_reasm_merging),
	    cmocka_unit_test(test_reasm_bound),
	    cmocka_unit_test(test_reasm_pull),
	    cmocka_unit_test(test_reasm_across_wrap),
	    cmocka_unit_test(test_rto_initial),
	    cmocka_unit_test(test_rto_formulas),
	    cmocka_unit_test(test_rto_clamps),
	    cmocka_unit_test(test_rto_backoff),
	    cmocka_unit_test(test_siphash_vectors),
	    cmocka_unit_test(test_isn_per_tuple_and_time),
	    cmocka_unit_test(test_stack_uses_rfc6528_isn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
