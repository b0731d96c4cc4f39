/* The impairment model shared by the backends: what a path does to a packet
 * (loss, corruption, delay and jitter, reordering, duplication), decided with a
 * seeded PRNG, and a time-ordered queue of packets in flight with a buffer
 * pool.
 *
 * The simulated network uses it per link (with its own PRNG, which also feeds
 * ISN keys and scenarios); the TUN event loop uses it in both directions as
 * packets cross the TUN fd. The model never reads a clock: the caller passes
 * now and gets back the arrival time(s).
 *
 * Determinism: the draws for one packet happen in a fixed order (loss,
 * corruption and its bit, jitter, reordering and its hold, duplication), and
 * no draw is made for an impairment whose probability (or jitter) is 0, so a
 * clean path never shifts the random sequence seen by the others. */
#ifndef GT_BACKEND_IMPAIR_H
#define GT_BACKEND_IMPAIR_H

#include "glasstcp/types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- PRNG: xoshiro256**, seeded through splitmix64 ---- */

typedef struct gt_rng {
	uint64_t s[4];
} gt_rng;

/* Any 64-bit seed (even 0) gives a good state. */
void gt_rng_seed(gt_rng *r, uint64_t seed);
uint64_t gt_rng_next(gt_rng *r);
/* True with probability p; draws nothing when p <= 0 (or NaN). */
bool gt_rng_chance(gt_rng *r, double p);
/* Uniform in [lo, hi] (one draw; the modulo bias is negligible for the small
 * ranges used: microseconds, bit positions). */
uint64_t gt_rng_uniform(gt_rng *r, uint64_t lo, uint64_t hi);

/* ---- the model ---- */

typedef struct gt_impair_params {
	gt_time_us delay_us;       /* one-way delay */
	gt_time_us jitter_us;      /* the delay varies uniformly in [delay - jitter, delay + jitter]
	                              (never below 0); on a path with state, jitter alone never
	                              reorders: a packet does not arrive before the previous
	                              in-order one */
	double loss;               /* probability a packet is lost */
	double corrupt;            /* probability one bit of a packet is flipped */
	double reorder;            /* probability a packet is held back, so later ones pass it */
	double dup;                /* probability a packet arrives twice */
	gt_time_us reorder_min_us; /* a held-back packet waits 1 µs .. max(1.5 x delay, this)
	                              more; default 1 */
	gt_time_us dup_gap_us;     /* the copy arrives this long after the original; default 100 */
} gt_impair_params;

/* No impairment, no delay; reorder_min_us 1, dup_gap_us 100. */
void gt_impair_params_default(gt_impair_params *p);
/* True when the params can change anything (any delay, jitter or probability). */
bool gt_impair_active(const gt_impair_params *p);

/* What happens to one packet. */
typedef struct gt_impair_verdict {
	bool lost;
	bool corrupted;
	size_t corrupt_bit; /* when corrupted: the bit to flip (byte bit/8, bit bit%8) */
	bool reordered;
	bool duplicated;
	gt_time_us when;     /* arrival time (not when lost) */
	gt_time_us dup_when; /* arrival of the copy (when duplicated) */
} gt_impair_verdict;

/* Per-path state for jitter without reordering: the arrival time of the last
 * in-order packet. Zero-initialize. */
typedef struct gt_impair_path {
	gt_time_us tail;
} gt_impair_path;

/* Decides the fate of a packet of len bytes sent at now. path may be NULL (no
 * in-order guarantee under jitter). A lost packet draws nothing further. */
void gt_impair_decide(const gt_impair_params *p, gt_rng *rng, gt_impair_path *path, gt_time_us now,
                      size_t len, gt_impair_verdict *v);

/* ---- packets in flight: a min-heap on (arrival time, insertion order) ----
 * Equal times leave in insertion order, so the order never depends on the
 * heap's internals. Packet buffers come from a pool and go back to it: after
 * warm-up, pushing and popping allocate nothing. */

typedef struct gt_pktq_item {
	gt_time_us when;
	uint64_t order;
	int tag; /* the caller's: destination host, direction ... */
	uint32_t len;
	uint32_t cap;
	uint8_t *data;
} gt_pktq_item;

typedef struct gt_pktq_buf {
	uint8_t *data;
	uint32_t cap;
} gt_pktq_buf;

typedef struct gt_pktq {
	gt_pktq_item *heap;
	size_t n;
	size_t cap;
	gt_pktq_buf *pool; /* free buffers */
	size_t npool;
	size_t pool_cap;
	uint64_t next_order;
	size_t limit; /* packets held at most; 0 = no limit */
} gt_pktq;

void gt_pktq_init(gt_pktq *q, size_t limit);
/* Frees every buffer, queued or pooled. */
void gt_pktq_destroy(gt_pktq *q);
/* Pre-allocates count buffers of bufsize bytes (and heap room); 0 or -ENOMEM. */
int gt_pktq_reserve(gt_pktq *q, size_t count, size_t bufsize);
/* Queues a copy of data; *stored (may be NULL) gets the copy, which the caller
 * may still modify. 0, -ENOBUFS (limit reached) or -ENOMEM. */
int gt_pktq_push(gt_pktq *q, gt_time_us when, int tag, const uint8_t *data, size_t len,
                 uint8_t **stored);
/* The earliest arrival time, or GT_TIME_NEVER when empty. */
gt_time_us gt_pktq_next(const gt_pktq *q);
size_t gt_pktq_len(const gt_pktq *q);
/* Takes the earliest packet if it is due at or before now. The item's buffer
 * stays valid (even across pushes) until gt_pktq_release. */
bool gt_pktq_pop_due(gt_pktq *q, gt_time_us now, gt_pktq_item *out);
/* Gives a popped item's buffer back to the pool. */
void gt_pktq_release(gt_pktq *q, gt_pktq_item *it);

#endif
