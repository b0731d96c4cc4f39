/* A byte ring buffer of fixed capacity, allocated once per connection: the
 * send buffer (bytes from SND.UNA on) and the receive buffer (unread bytes,
 * then room where out-of-order data is placed at its offset). */
#ifndef GT_TCP_RINGBUF_H
#define GT_TCP_RINGBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct gt_ringbuf {
	uint8_t *data;
	uint32_t cap;
	uint32_t head; /* index of the first byte */
	uint32_t len;  /* bytes held from head */
} gt_ringbuf;

int gt_ringbuf_init(gt_ringbuf *rb, uint32_t cap);
void gt_ringbuf_free(gt_ringbuf *rb);
static inline uint32_t gt_ringbuf_free_space(const gt_ringbuf *rb)
{
	return rb->cap - rb->len;
}
/* Appends up to n bytes; returns how many fit. */
uint32_t gt_ringbuf_append(gt_ringbuf *rb, const void *src, uint32_t n);
/* Writes n bytes at offset off from head without changing len (off + n <= cap). */
void gt_ringbuf_write_at(gt_ringbuf *rb, uint32_t off, const void *src, uint32_t n);
/* Copies n bytes starting at offset off from head (off + n <= cap). */
void gt_ringbuf_peek(const gt_ringbuf *rb, uint32_t off, void *dst, uint32_t n);
/* Drops n bytes from the front (n <= len). */
void gt_ringbuf_consume(gt_ringbuf *rb, uint32_t n);

#endif
