/* An in-memory link between two stacks in one thread: a FIFO of packets in
 * one ring of bytes, for both directions (so packets arrive in the order
 * they were sent). No delay, no loss: a packet that does not fit is counted
 * in dropped, which fails the measurement. */
#ifndef GT_BENCH_LINK_H
#define GT_BENCH_LINK_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_link {
	uint8_t *buf;
	size_t cap; /* a multiple of 8 */
	size_t head, tail, used;
	uint64_t packets, dropped;
} bench_link;

/* Returns 0, or -1 when out of memory. */
int bench_link_init(bench_link *l, size_t cap);
void bench_link_free(bench_link *l);
/* Queues len bytes for side to (0 or 1). */
void bench_link_push(bench_link *l, int to, const void *pkt, size_t len);
/* Reserves room for len bytes for side to and returns where to write them
 * (NULL when full: dropped counted): for a stack that gathers a packet from
 * pieces. */
uint8_t *bench_link_reserve(bench_link *l, int to, size_t len);
/* The oldest packet (its side in *to, its length in *len), or NULL. It stays
 * queued, and its bytes valid, until bench_link_pop: delivering it may queue
 * more. */
const uint8_t *bench_link_peek(bench_link *l, int *to, size_t *len);
void bench_link_pop(bench_link *l);

#endif
