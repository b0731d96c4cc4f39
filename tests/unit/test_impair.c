/* The impairment model shared by the simulator and the TUN loop
 * (src/backend/impair.c), its packet queue, and the --impair parser. */
#include "backend/impair.h"
#include "glasstcp/tun.h"
#include "support.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define N_PACKETS 100000
#define MS        1000u

static gt_impair_params all_on(void)
{
	gt_impair_params p;
	gt_impair_params_default(&p);
	p.delay_us = 20 * MS;
	p.jitter_us = 5 * MS;
	p.loss = 0.02;
	p.corrupt = 0.01;
	p.reorder = 0.01;
	p.dup = 0.005;
	return p;
}

static bool same_verdict(const gt_impair_verdict *a, const gt_impair_verdict *b)
{
	return a->lost == b->lost && a->corrupted == b->corrupted &&
	       a->corrupt_bit == b->corrupt_bit && a->reordered == b->reordered &&
	       a->duplicated == b->duplicated && a->when == b->when && a->dup_when == b->dup_when;
}

/* ---- the PRNG ---- */

static void test_rng_is_seeded_and_deterministic(void **state)
{
	gt_rng a, b, c;
	gt_rng_seed(&a, 42);
	gt_rng_seed(&b, 42);
	gt_rng_seed(&c, 43);
	bool differs = false;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = gt_rng_next(&a);
		assert_true(x == gt_rng_next(&b));
		differs |= x != gt_rng_next(&c);
	}
	assert_true(differs);
	/* seed 0 is a good seed too (splitmix64 spreads it) */
	gt_rng z;
	gt_rng_seed(&z, 0);
	assert_false(z.s[0] == 0 && z.s[1] == 0 && z.s[2] == 0 && z.s[3] == 0);
}

static void test_rng_draws_nothing_for_zero(void **state)
{
	gt_rng a, b;
	gt_rng_seed(&a, 7);
	b = a;
	assert_false(gt_rng_chance(&a, 0.0));
	assert_false(gt_rng_chance(&a, -1.0));
	assert_false(gt_rng_chance(&a, NAN));
	assert_memory_equal(&a, &b, sizeof a);
	/* and a clean path's decisions draw nothing at all */
	gt_impair_params p;
	gt_impair_params_default(&p);
	p.delay_us = 10 * MS;
	gt_impair_verdict v;
	gt_impair_decide(&p, &a, NULL, 1000, 100, &v);
	assert_memory_equal(&a, &b, sizeof a);
	assert_false(v.lost || v.corrupted || v.reordered || v.duplicated);
	assert_int_equal(v.when, 1000 + 10 * MS);
}

static void test_rng_uniform_bounds(void **state)
{
	gt_rng r;
	gt_rng_seed(&r, gt_test_seed(5));
	bool lo = false, hi = false;
	for (int i = 0; i < 10000; i++) {
		uint64_t x = gt_rng_uniform(&r, 3, 9);
		assert_true(x >= 3 && x <= 9);
		lo |= x == 3;
		hi |= x == 9;
	}
	assert_true(lo && hi);
}

/* The simulator draws from the same generator: its first number after
 * creation is the shared PRNG's first for that seed. */
static void test_sim_uses_the_shared_prng(void **state)
{
	gt_sim *sim = gt_sim_new(1234);
	assert_non_null(sim);
	gt_rng r;
	gt_rng_seed(&r, 1234);
	for (int i = 0; i < 16; i++)
		assert_true(gt_sim_rand(sim) == gt_rng_next(&r));
	gt_sim_free(sim);
}

/* ---- decisions ---- */

static void test_same_seed_same_decisions(void **state)
{
	gt_impair_params p = all_on();
	gt_rng a, b, c;
	gt_rng_seed(&a, 99);
	gt_rng_seed(&b, 99);
	gt_rng_seed(&c, 100);
	gt_impair_path pa = {0}, pb = {0}, pc = {0};
	int differ = 0;
	for (int i = 0; i < 20000; i++) {
		gt_time_us now = (gt_time_us)i * 100;
		size_t len = 40 + (size_t)(i % 1460);
		gt_impair_verdict va, vb, vc;
		gt_impair_decide(&p, &a, &pa, now, len, &va);
		gt_impair_decide(&p, &b, &pb, now, len, &vb);
		gt_impair_decide(&p, &c, &pc, now, len, &vc);
		assert_true(same_verdict(&va, &vb));
		differ += !same_verdict(&va, &vc);
	}
	assert_true(differ > 1000);
}

/* 100k packets: each rate within 5 standard deviations of what was asked. */
static void check_rate(const char *what, unsigned count, double p)
{
	double mean = p * N_PACKETS;
	double sd = sqrt(N_PACKETS * p * (1 - p));
	if (fabs((double)count - mean) > 5 * sd) {
		print_error("%s: %u of %d, expected %.0f +- %.0f\n", what, count, N_PACKETS, mean,
		            5 * sd);
		fail();
	}
}

static void test_rates_within_tolerance(void **state)
{
	gt_impair_params p;
	gt_impair_params_default(&p);
	p.delay_us = 10 * MS;
	p.loss = 0.1;
	p.corrupt = 0.05;
	p.reorder = 0.03;
	p.dup = 0.02;
	gt_rng r;
	gt_rng_seed(&r, gt_test_seed(1));
	unsigned lost = 0, corrupted = 0, reordered = 0, dups = 0, survivors = 0;
	for (int i = 0; i < N_PACKETS; i++) {
		gt_impair_verdict v;
		gt_impair_decide(&p, &r, NULL, (gt_time_us)i * 10, 1000, &v);
		if (v.lost) {
			lost++;
			assert_false(v.corrupted || v.reordered || v.duplicated);
			continue;
		}
		survivors++;
		corrupted += v.corrupted;
		reordered += v.reordered;
		dups += v.duplicated;
		if (v.corrupted)
			assert_true(v.corrupt_bit < 8000);
	}
	check_rate("loss", lost, p.loss);
	/* the others apply to the packets that were not lost */
	double scale = (double)survivors / N_PACKETS;
	check_rate("corrupt", (unsigned)(corrupted / scale), p.corrupt);
	check_rate("reorder", (unsigned)(reordered / scale), p.reorder);
	check_rate("dup", (unsigned)(dups / scale), p.dup);
}

static void test_delay_and_jitter_bounds(void **state)
{
	gt_impair_params p;
	gt_impair_params_default(&p);
	p.delay_us = 20 * MS;
	p.jitter_us = 5 * MS;
	gt_rng r;
	gt_rng_seed(&r, gt_test_seed(2));
	double sum = 0;
	gt_time_us lo = GT_TIME_NEVER, hi = 0;
	/* without path state: the bound, and both ends of it reached */
	for (int i = 0; i < N_PACKETS; i++) {
		gt_time_us now = 1000000 + (gt_time_us)i * 50;
		gt_impair_verdict v;
		gt_impair_decide(&p, &r, NULL, now, 100, &v);
		gt_time_us d = v.when - now;
		assert_true(d >= 15 * MS && d <= 25 * MS);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		sum += (double)d;
	}
	assert_true(lo < 15 * MS + 100 && hi > 25 * MS - 100);
	double mean = sum / N_PACKETS;
	assert_true(fabs(mean - 20.0 * MS) < 0.1 * MS);

	/* with path state: jitter never reorders, and never shortens below
	 * delay - jitter */
	gt_impair_path path = {0};
	gt_time_us prev = 0;
	for (int i = 0; i < N_PACKETS; i++) {
		gt_time_us now = 1000000 + (gt_time_us)i * 50;
		gt_impair_verdict v;
		gt_impair_decide(&p, &r, &path, now, 100, &v);
		assert_true(v.when >= prev);
		assert_true(v.when >= now + 15 * MS);
		prev = v.when;
	}

	/* jitter larger than the delay is clamped at zero delay */
	p.delay_us = 1 * MS;
	p.jitter_us = 3 * MS;
	for (int i = 0; i < 1000; i++) {
		gt_impair_verdict v;
		gt_impair_decide(&p, &r, NULL, 500, 100, &v);
		assert_true(v.when >= 500 && v.when <= 500 + 4 * MS);
	}
}

/* Packets sent 100 µs apart on a 10 ms path: a held-back one is overtaken. */
static void test_reorder_reorders(void **state)
{
	gt_impair_params p;
	gt_impair_params_default(&p);
	p.delay_us = 10 * MS;
	p.reorder = 0.05;
	gt_rng r;
	gt_rng_seed(&r, gt_test_seed(3));
	gt_pktq q;
	gt_pktq_init(&q, 0);
	gt_impair_path path = {0};
	unsigned held = 0;
	for (uint32_t i = 0; i < 2000; i++) {
		gt_impair_verdict v;
		gt_time_us now = (gt_time_us)i * 100;
		gt_impair_decide(&p, &r, &path, now, sizeof i, &v);
		if (v.reordered) {
			held++;
			assert_true(v.when > now + p.delay_us);
			assert_true(v.when <= now + p.delay_us + 15 * MS);
		} else {
			assert_int_equal(v.when, now + p.delay_us);
		}
		assert_int_equal(gt_pktq_push(&q, v.when, 0, (const uint8_t *)&i, sizeof i, NULL),
		                 0);
	}
	assert_true(held > 50);
	unsigned inversions = 0;
	uint32_t last = 0;
	gt_pktq_item it;
	size_t n = 0;
	while (gt_pktq_pop_due(&q, GT_TIME_NEVER - 1, &it)) {
		uint32_t seq;
		memcpy(&seq, it.data, sizeof seq);
		if (n++ && seq < last)
			inversions++;
		last = seq;
		gt_pktq_release(&q, &it);
	}
	assert_int_equal(n, 2000);
	assert_true(inversions > 50);
	gt_pktq_destroy(&q);

	/* with no delay, the hold is at least up to reorder_min_us */
	p.delay_us = 0;
	p.reorder = 1.0;
	p.reorder_min_us = 1000;
	gt_time_us max = 0;
	for (int i = 0; i < 1000; i++) {
		gt_impair_verdict v;
		gt_impair_decide(&p, &r, NULL, 0, 10, &v);
		assert_true(v.reordered && v.when >= 1 && v.when <= 1000);
		max = v.when > max ? v.when : max;
	}
	assert_true(max > 900);
}

static void test_dup_duplicates(void **state)
{
	gt_impair_params p;
	gt_impair_params_default(&p);
	p.delay_us = 5 * MS;
	p.dup = 1.0;
	gt_rng r;
	gt_rng_seed(&r, 4);
	gt_pktq q;
	gt_pktq_init(&q, 0);
	for (uint8_t i = 0; i < 10; i++) {
		gt_impair_verdict v;
		gt_impair_decide(&p, &r, NULL, (gt_time_us)i * 1000, 1, &v);
		assert_true(v.duplicated);
		assert_int_equal(v.dup_when, v.when + p.dup_gap_us);
		assert_int_equal(gt_pktq_push(&q, v.when, 0, &i, 1, NULL), 0);
		assert_int_equal(gt_pktq_push(&q, v.dup_when, 0, &i, 1, NULL), 0);
	}
	gt_pktq_item it;
	for (uint8_t i = 0; i < 10; i++) {
		for (int copy = 0; copy < 2; copy++) {
			assert_true(gt_pktq_pop_due(&q, GT_TIME_NEVER - 1, &it));
			assert_int_equal(it.data[0], i);
			gt_pktq_release(&q, &it);
		}
	}
	assert_false(gt_pktq_pop_due(&q, GT_TIME_NEVER - 1, &it));
	gt_pktq_destroy(&q);
}

static void test_loss_one_loses_everything(void **state)
{
	gt_impair_params p;
	gt_impair_params_default(&p);
	p.loss = 1.0;
	p.dup = 1.0;
	gt_rng r;
	gt_rng_seed(&r, 5);
	for (int i = 0; i < 1000; i++) {
		gt_impair_verdict v;
		gt_impair_decide(&p, &r, NULL, 0, 100, &v);
		assert_true(v.lost && !v.duplicated);
	}
}

/* ---- the queue ---- */

static void test_queue_orders_by_time_then_fifo(void **state)
{
	gt_pktq q;
	gt_pktq_init(&q, 0);
	assert_int_equal(gt_pktq_next(&q), GT_TIME_NEVER);
	const gt_time_us times[] = {50, 10, 50, 30, 10, 50, 20};
	for (uint8_t i = 0; i < 7; i++)
		assert_int_equal(gt_pktq_push(&q, times[i], i, &i, 1, NULL), 0);
	assert_int_equal(gt_pktq_len(&q), 7);
	assert_int_equal(gt_pktq_next(&q), 10);
	gt_pktq_item it;
	assert_false(gt_pktq_pop_due(&q, 9, &it));
	const uint8_t expect[] = {1, 4, 6, 3, 0, 2, 5};
	for (int i = 0; i < 7; i++) {
		assert_true(gt_pktq_pop_due(&q, 50, &it));
		assert_int_equal(it.data[0], expect[i]);
		assert_int_equal(it.tag, expect[i]);
		gt_pktq_release(&q, &it);
	}
	assert_int_equal(gt_pktq_len(&q), 0);
	gt_pktq_destroy(&q);
}

/* Buffers go back to the pool and are reused; a popped buffer survives
 * pushes until it is released; the limit is enforced. */
static void test_queue_pool_and_limit(void **state)
{
	gt_pktq q;
	gt_pktq_init(&q, 4);
	assert_int_equal(gt_pktq_reserve(&q, 2, 100), 0);
	uint8_t pkt[1500];
	memset(pkt, 0xab, sizeof pkt);
	uint8_t *s1, *s2;
	assert_int_equal(gt_pktq_push(&q, 1, 0, pkt, sizeof pkt, &s1), 0);
	assert_int_equal(gt_pktq_push(&q, 2, 0, pkt, 10, &s2), 0);
	assert_int_equal(gt_pktq_push(&q, 3, 0, pkt, 10, NULL), 0);
	assert_int_equal(gt_pktq_push(&q, 4, 0, pkt, 10, NULL), 0);
	assert_int_equal(gt_pktq_push(&q, 5, 0, pkt, 10, NULL), -ENOBUFS);

	gt_pktq_item it;
	assert_true(gt_pktq_pop_due(&q, 1, &it));
	assert_ptr_equal(it.data, s1);
	assert_int_equal(it.len, sizeof pkt);
	uint8_t other[20] = {0};
	assert_int_equal(gt_pktq_push(&q, 6, 0, other, sizeof other, NULL), 0);
	assert_memory_equal(it.data, pkt, sizeof pkt); /* not reused while popped */
	gt_pktq_release(&q, &it);
	assert_null(it.data);
	assert_true(gt_pktq_pop_due(&q, 2, &it));
	assert_ptr_equal(it.data, s2);
	gt_pktq_release(&q, &it);
	uint8_t *s3;
	assert_int_equal(gt_pktq_push(&q, 7, 0, other, sizeof other, &s3), 0);
	assert_ptr_equal(s3, s2); /* the last released buffer, from the pool */
	assert_int_equal(gt_pktq_push(&q, 8, 0, other, sizeof other, NULL), -ENOBUFS);

	/* a packet larger than any pooled buffer grows one */
	while (gt_pktq_pop_due(&q, GT_TIME_NEVER - 1, &it))
		gt_pktq_release(&q, &it);
	static uint8_t jumbo[9000];
	jumbo[8999] = 7;
	uint8_t *sj;
	assert_int_equal(gt_pktq_push(&q, 1, 0, jumbo, sizeof jumbo, &sj), 0);
	assert_int_equal(sj[8999], 7);
	gt_pktq_destroy(&q);
}

/* ---- the --impair spec ---- */

static void test_parse_valid(void **state)
{
	gt_tun_impair imp;
	char err[160];
	assert_int_equal(gt_tun_impair_parse("loss=0.02,delay=20,jitter=2.5,reorder=1%,dup=0.5%,"
	                                     "seed=42",
	                                     &imp, err, sizeof err),
	                 0);
	assert_true(fabs(imp.loss - 0.02) < 1e-12);
	assert_int_equal(imp.delay_us, 20000);
	assert_int_equal(imp.jitter_us, 2500);
	assert_true(fabs(imp.reorder - 0.01) < 1e-12);
	assert_true(fabs(imp.dup - 0.005) < 1e-12);
	assert_true(imp.corrupt == 0);
	assert_int_equal(imp.seed, 42);

	assert_int_equal(gt_tun_impair_parse("delay=20ms", &imp, err, sizeof err), 0);
	assert_int_equal(imp.delay_us, 20000);
	assert_int_equal(imp.seed, 1); /* default */
	assert_true(imp.loss == 0);
	assert_int_equal(gt_tun_impair_parse("loss=1,corrupt=.5", &imp, err, sizeof err), 0);
	assert_true(imp.loss == 1.0 && imp.corrupt == 0.5);
	assert_int_equal(gt_tun_impair_parse("seed=18446744073709551615", &imp, err, sizeof err),
	                 0);
	assert_true(imp.seed == UINT64_MAX);

	char buf[200];
	assert_int_equal(
	    gt_tun_impair_parse("dup=0.5%,loss=2%,delay=20,seed=3", &imp, err, sizeof err), 0);
	assert_string_equal(gt_tun_impair_str(&imp, buf, sizeof buf),
	                    "loss=0.02,delay=20ms,dup=0.005,seed=3");
}

static void test_parse_strict(void **state)
{
	static const char *const bad[] = {
	    "",
	    "loss",
	    "loss=",
	    "=0.1",
	    "loss=0.1,",
	    ",loss=0.1",
	    "loss=0.1,,dup=0",
	    "lost=0.1",
	    "LOSS=0.1",
	    "loss=-0.1",
	    "loss=+0.1",
	    "loss=1.5",
	    "loss=101%",
	    "loss=nan",
	    "loss=inf",
	    "loss=1e-3",
	    "loss=0.1x",
	    "loss= 0.1",
	    "loss=0.1 ",
	    "loss=0..1",
	    "loss=.",
	    "loss=%",
	    "delay=60001",
	    "delay=-1",
	    "delay=20s",
	    "jitter=x",
	    "seed=-1",
	    "seed=1.5",
	    "seed=18446744073709551616",
	    "loss=0.1,loss=0.2",
	    "delay=1,seed=2,delay=3",
	    "loss=0.1;dup=0",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		gt_tun_impair imp = {.loss = 0.25};
		char err[160] = "";
		int rc = gt_tun_impair_parse(bad[i], &imp, err, sizeof err);
		if (rc != -EINVAL || !err[0]) {
			print_error("'%s' was accepted (rc %d)\n", bad[i], rc);
			fail();
		}
		assert_true(imp.loss == 0.25); /* untouched */
	}
	gt_tun_impair imp;
	char err[160];
	assert_int_equal(gt_tun_impair_parse(NULL, &imp, err, sizeof err), -EINVAL);
	assert_int_equal(gt_tun_impair_parse("bogus=1", &imp, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "unknown key 'bogus'"));
	assert_int_equal(gt_tun_impair_parse("loss=0.1,loss=0.1", &imp, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "twice"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rng_is_seeded_and_deterministic),
	    cmocka_unit_test(test_rng_draws_nothing_for_zero),
	    cmocka_unit_test(test_rng_uniform_bounds),
	    cmocka_unit_test(test_sim_uses_the_shared_prng),
	    cmocka_unit_test(test_same_seed_same_decisions),
	    cmocka_unit_test(test_rates_within_tolerance),
	    cmocka_unit_test(test_delay_and_jitter_bounds),
	    cmocka_unit_test(test_reorder_reorders),
	    cmocka_unit_test(test_dup_duplicates),
	    cmocka_unit_test(test_loss_one_loses_everything),
	    cmocka_unit_test(test_queue_orders_by_time_then_fifo),
	    cmocka_unit_test(test_queue_pool_and_limit),
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_parse_strict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
