/* glasstcp's benchmark (bench/README.md): glasstcp, Linux and lwIP side by
 * side, in one run. Each backend file measures one stack; bench_main.c runs
 * them, takes medians and prints the table. */
#ifndef GT_BENCH_H
#define GT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The bytes sent are a pattern: byte o of the stream is
 * bench_pattern[o % BENCH_PERIOD]; the table holds two periods, so any
 * chunk of up to BENCH_PERIOD bytes starting anywhere is contiguous. */
#define BENCH_PERIOD 65521u /* a prime: no alignment with any MSS */
extern uint8_t bench_pattern[2 * BENCH_PERIOD];
void bench_pattern_init(void);
/* The pattern's bytes at stream offset off, at most BENCH_PERIOD of them. */
const uint8_t *bench_pattern_at(uint64_t off);
/* Whether buf[0..len) is the stream from offset off. */
bool bench_check(uint64_t off, const uint8_t *buf, size_t len);

/* CLOCK_MONOTONIC in seconds. */
double bench_now(void);

/* One measurement: a bulk transfer (bytes in seconds) or a number of
 * connection lifecycles (conns in seconds). ok false: failed, why in err. */
typedef struct bench_result {
	bool ok;
	double seconds;
	char err[160];
} bench_result;

/* What is measured. */
typedef struct bench_params {
	uint64_t bytes; /* bulk: bytes client -> server */
	uint16_t mss;   /* bulk: 0 = the stack's default for the link */
	uint32_t conns; /* lifecycle: connections */
} bench_params;

/* Each backend: bulk and lifecycle. A backend that cannot run sets
 * ok false and err; bench_lwip_available says why lwIP is missing. */
bench_result bench_gt_bulk(const bench_params *p);
bench_result bench_gt_lifecycle(const bench_params *p);
bench_result bench_linux_bulk(const bench_params *p);
bench_result bench_linux_lifecycle(const bench_params *p);
bench_result bench_lwip_bulk(const bench_params *p);
bench_result bench_lwip_lifecycle(const bench_params *p);
/* NULL when lwIP was built in, else the reason it was not. */
const char *bench_lwip_missing(void);

/* A failed result with a printf-style reason. */
bench_result bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
