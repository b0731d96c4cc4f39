/* The impairment model and the in-flight packet queue (backend/impair.h). */
#include "backend/impair.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Buffers are at least this big, so one fits any packet of a 1500-byte MTU
 * and a pooled buffer is almost never grown. */
#define PKTQ_MIN_BUF 2048u

/* ---- PRNG: xoshiro256** (Blackman & Vigna), seeded by splitmix64 as its
 * authors recommend, so that any 64-bit seed (even 0) gives a good state. ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void gt_rng_seed(gt_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

uint64_t gt_rng_next(gt_rng *r)
{
	uint64_t *s = r->s;
	const uint64_t result = rotl(s[1] * 5, 7) * 9;
	const uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* The 53 top bits give a uniform double in [0, 1). */
bool gt_rng_chance(gt_rng *r, double p)
{
	if (!(p > 0))
		return false;
	return (double)(gt_rng_next(r) >> 11) * 0x1.0p-53 < p;
}

uint64_t gt_rng_uniform(gt_rng *r, uint64_t lo, uint64_t hi)
{
	uint64_t span = hi - lo + 1;
	uint64_t x = gt_rng_next(r);
	return span ? lo + x % span : x;
}

/* ---- the model ---- */

void gt_impair_params_default(gt_impair_params *p)
{
	*p = (gt_impair_params){.reorder_min_us = 1, .dup_gap_us = 100};
}

bool gt_impair_active(const gt_impair_params *p)
{
	return p->delay_us || p->jitter_us || p->loss > 0 || p->corrupt > 0 || p->reorder > 0 ||
	       p->dup > 0;
}

void gt_impair_decide(const gt_impair_params *p, gt_rng *rng, gt_impair_path *path, gt_time_us now,
                      size_t len, gt_impair_verdict *v)
{
	*v = (gt_impair_verdict){0};
	if (gt_rng_chance(rng, p->loss)) {
		v->lost = true;
		return;
	}
	if (gt_rng_chance(rng, p->corrupt) && len > 0) {
		v->corrupted = true;
		v->corrupt_bit = (size_t)gt_rng_uniform(rng, 0, (uint64_t)len * 8 - 1);
	}

	gt_time_us delay = p->delay_us;
	if (p->jitter_us) {
		gt_time_us j = gt_rng_uniform(rng, 0, 2 * p->jitter_us);
		delay = delay + j > p->jitter_us ? delay + j - p->jitter_us : 0;
	}
	v->when = now + delay;

	if (gt_rng_chance(rng, p->reorder)) {
		/* Held back by up to 1.5 delays, so it really lands behind
		 * packets sent after it on the same path. */
		gt_time_us extra = p->delay_us + p->delay_us / 2;
		if (extra < p->reorder_min_us)
			extra = p->reorder_min_us;
		v->when += gt_rng_uniform(rng, 1, extra ? extra : 1);
		v->reordered = true;
	} else if (path) {
		if (v->when < path->tail)
			v->when = path->tail;
		path->tail = v->when;
	}

	if (gt_rng_chance(rng, p->dup)) {
		v->duplicated = true;
		v->dup_when = v->when + p->dup_gap_us;
	}
}

/* ---- the queue ---- */

void gt_pktq_init(gt_pktq *q, size_t limit)
{
	*q = (gt_pktq){.limit = limit};
}

void gt_pktq_destroy(gt_pktq *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(q->heap[i].data);
	for (size_t i = 0; i < q->npool; i++)
		free(q->pool[i].data);
	free(q->heap);
	free(q->pool);
	*q = (gt_pktq){0};
}

static int grow_heap(gt_pktq *q, size_t want)
{
	if (want <= q->cap)
		return 0;
	size_t cap = q->cap ? q->cap : 64;
	while (cap < want)
		cap *= 2;
	gt_pktq_item *heap = realloc(q->heap, cap * sizeof *heap);
	if (!heap)
		return -ENOMEM;
	q->heap = heap;
	q->cap = cap;
	return 0;
}

static int pool_put(gt_pktq *q, uint8_t *data, uint32_t cap)
{
	if (q->npool == q->pool_cap) {
		size_t pc = q->pool_cap ? 2 * q->pool_cap : 64;
		gt_pktq_buf *pool = realloc(q->pool, pc * sizeof *pool);
		if (!pool)
			return -ENOMEM;
		q->pool = pool;
		q->pool_cap = pc;
	}
	q->pool[q->npool++] = (gt_pktq_buf){.data = data, .cap = cap};
	return 0;
}

int gt_pktq_reserve(gt_pktq *q, size_t count, size_t bufsize)
{
	if (bufsize < PKTQ_MIN_BUF)
		bufsize = PKTQ_MIN_BUF;
	if (bufsize > UINT32_MAX || grow_heap(q, q->n + count) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		uint8_t *b = malloc(bufsize);
		if (!b)
			return -ENOMEM;
		if (pool_put(q, b, (uint32_t)bufsize) < 0) {
			free(b);
			return -ENOMEM;
		}
	}
	return 0;
}

static bool item_before(const gt_pktq_item *a, const gt_pktq_item *b)
{
	return a->when != b->when ? a->when < b->when : a->order < b->order;
}

int gt_pktq_push(gt_pktq *q, gt_time_us when, int tag, const uint8_t *data, size_t len,
                 uint8_t **stored)
{
	if (len > UINT32_MAX - PKTQ_MIN_BUF)
		return -ENOMEM;
	if (q->limit && q->n >= q->limit)
		return -ENOBUFS;
	if (grow_heap(q, q->n + 1) < 0)
		return -ENOMEM;

	uint8_t *buf = NULL;
	uint32_t cap = 0;
	if (q->npool) {
		gt_pktq_buf b = q->pool[--q->npool];
		buf = b.data;
		cap = b.cap;
		if (cap < len) {
			uint8_t *bigger = realloc(buf, len);
			if (!bigger) {
				q->npool++; /* still in its slot */
				return -ENOMEM;
			}
			buf = bigger;
			cap = (uint32_t)len;
		}
	} else {
		cap = len > PKTQ_MIN_BUF ? (uint32_t)len : PKTQ_MIN_BUF;
		buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
	}
	if (len)
		memcpy(buf, data, len);

	gt_pktq_item it = {.when = when,
	                   .order = q->next_order++,
	                   .tag = tag,
	                   .len = (uint32_t)len,
	                   .cap = cap,
	                   .data = buf};
	size_t i = q->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!item_before(&it, &q->heap[parent]))
			break;
		q->heap[i] = q->heap[parent];
		i = parent;
	}
	q->heap[i] = it;
	if (stored)
		*stored = buf;
	return 0;
}

gt_time_us gt_pktq_next(const gt_pktq *q)
{
	return q->n ? q->heap[0].when : GT_TIME_NEVER;
}

size_t gt_pktq_len(const gt_pktq *q)
{
	return q->n;
}

bool gt_pktq_pop_due(gt_pktq *q, gt_time_us now, gt_pktq_item *out)
{
	if (!q->n || q->heap[0].when > now)
		return false;
	*out = q->heap[0];
	gt_pktq_item last = q->heap[--q->n];
	size_t i = 0, n = q->n;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && item_before(&q->heap[c + 1], &q->heap[c]))
			c++;
		if (!item_before(&q->heap[c], &last))
			break;
		q->heap[i] = q->heap[c];
		i = c;
	}
	if (n)
		q->heap[i] = last;
	return true;
}

void gt_pktq_release(gt_pktq *q, gt_pktq_item *it)
{
	if (!it->data)
		return;
	if (pool_put(q, it->data, it->cap) < 0)
		free(it->data);
	it->data = NULL;
}
