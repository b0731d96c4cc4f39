#include "link.h"

#include <stdlib.h>
#include <string.h>

#define HDR  8u
#define WRAP UINT32_MAX

typedef struct rec {
	uint32_t len, to;
} rec;

static size_t rec_size(size_t len)
{
	return HDR + ((len + 7u) & ~(size_t)7u);
}

int bench_link_init(bench_link *l, size_t cap)
{
	*l = (bench_link){.cap = cap & ~(size_t)7u};
	l->buf = malloc(l->cap);
	return l->buf ? 0 : -1;
}

void bench_link_free(bench_link *l)
{
	free(l->buf);
	l->buf = NULL;
}

uint8_t *bench_link_reserve(bench_link *l, int to, size_t len)
{
	size_t need = rec_size(len), room = l->cap - l->tail;
	size_t waste = room < need ? room : 0;
	if (l->used + waste + need > l->cap) {
		l->dropped++;
		return NULL;
	}
	if (waste) { /* not enough before the end: a marker, then from the start */
		((rec *)(void *)(l->buf + l->tail))->len = WRAP;
		l->tail = 0;
		l->used += waste;
	}
	rec *r = (rec *)(void *)(l->buf + l->tail);
	r->len = (uint32_t)len;
	r->to = (uint32_t)to;
	l->tail = (l->tail + need) % l->cap;
	l->used += need;
	l->packets++;
	return (uint8_t *)(r + 1);
}

void bench_link_push(bench_link *l, int to, const void *pkt, size_t len)
{
	uint8_t *p = bench_link_reserve(l, to, len);
	if (p)
		memcpy(p, pkt, len);
}

const uint8_t *bench_link_peek(bench_link *l, int *to, size_t *len)
{
	if (!l->used)
		return NULL;
	rec *r = (rec *)(void *)(l->buf + l->head);
	if (r->len == WRAP) {
		l->used -= l->cap - l->head;
		l->head = 0;
		r = (rec *)(void *)l->buf;
	}
	*to = (int)r->to;
	*len = r->len;
	return (const uint8_t *)(r + 1);
}

void bench_link_pop(bench_link *l)
{
	rec *r = (rec *)(void *)(l->buf + l->head);
	size_t need = rec_size(r->len);
	l->head = (l->head + need) % l->cap;
	l->used -= need;
}
