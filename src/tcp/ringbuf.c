#include "tcp/ringbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int gt_ringbuf_init(gt_ringbuf *rb, uint32_t cap)
{
	rb->data = malloc(cap);
	if (!rb->data)
		return -ENOMEM;
	rb->cap = cap;
	rb->head = 0;
	rb->len = 0;
	return 0;
}

void gt_ringbuf_free(gt_ringbuf *rb)
{
	free(rb->data);
	rb->data = NULL;
	rb->cap = rb->head = rb->len = 0;
}

void gt_ringbuf_write_at(gt_ringbuf *rb, uint32_t off, const void *src, uint32_t n)
{
	uint32_t pos = (rb->head + off) % rb->cap;
	uint32_t first = rb->cap - pos < n ? rb->cap - pos : n;
	memcpy(rb->data + pos, src, first);
	memcpy(rb->data, (const uint8_t *)src + first, n - first);
}

uint32_t gt_ringbuf_append(gt_ringbuf *rb, const void *src, uint32_t n)
{
	uint32_t room = gt_ringbuf_free_space(rb);
	if (n > room)
		n = room;
	if (n) {
		gt_ringbuf_write_at(rb, rb->len, src, n);
		rb->len += n;
	}
	return n;
}

void gt_ringbuf_peek(const gt_ringbuf *rb, uint32_t off, void *dst, uint32_t n)
{
	uint32_t pos = (rb->head + off) % rb->cap;
	uint32_t first = rb->cap - pos < n ? rb->cap - pos : n;
	memcpy(dst, rb->data + pos, first);
	memcpy((uint8_t *)dst + first, rb->data, n - first);
}

void gt_ringbuf_consume(gt_ringbuf *rb, uint32_t n)
{
	rb->head = (rb->head + n) % rb->cap;
	rb->len -= n;
}
