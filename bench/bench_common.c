/* The pattern, the clock and failures shared by every backend. */
#include "bench.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

uint8_t bench_pattern[2 * BENCH_PERIOD];

void bench_pattern_init(void)
{
	uint32_t x = 2463534242u; /* xorshift32: fixed, not a counter */
	for (uint32_t i = 0; i < BENCH_PERIOD; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		bench_pattern[i] = bench_pattern[i + BENCH_PERIOD] = (uint8_t)x;
	}
}

const uint8_t *bench_pattern_at(uint64_t off)
{
	return bench_pattern + off % BENCH_PERIOD;
}

bool bench_check(uint64_t off, const uint8_t *buf, size_t len)
{
	while (len) {
		size_t n = len < BENCH_PERIOD ? len : BENCH_PERIOD;
		if (memcmp(buf, bench_pattern_at(off), n) != 0)
			return false;
		buf += n;
		off += n;
		len -= n;
	}
	return true;
}

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bench_result bench_fail(const char *fmt, ...)
{
	bench_result r = {.ok = false};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r.err, sizeof r.err, fmt, ap);
	va_end(ap);
	return r;
}
