/* The stack instance: configuration, demultiplexing, timers heap, sockets,
 * and the single place where events are emitted and packets leave. */
#ifndef GT_STACK_IMPL_H
#define GT_STACK_IMPL_H

#include "glasstcp/socket.h"
#include "glasstcp/stack.h"
#include "tcp/tcb.h"
#include "wire/wire.h"

#define GT_TXBUF_LEN (GT_IPV4_HDR_LEN + GT_TCP_HDR_LEN + GT_TCP_MAX_OPT_LEN + 65535)

typedef struct gt_sock_slot {
	gt_tcb *tcb;  /* NULL when free */
	uint16_t gen; /* bumped on each reuse so stale handles fail with -EBADF */
	uint32_t next_free;
} gt_sock_slot;

struct gt_stack {
	gt_stack_config cfg;
	char name[32];
	gt_stack_counters counters;

	/* demux: every bound TCB, by (local, remote) — remote 0:0 for listeners
	 * and bound sockets that are not connected */
	gt_tcb **buckets;
	uint32_t bucket_mask;
	uint64_t hash_key;

	gt_tcb *all; /* every TCB */
	size_t tcb_count;
	gt_tcb *tw_head, *tw_tail; /* TIME_WAIT, oldest first */
	size_t tw_count;

	gt_tcb **heap; /* TCBs with a timer, by deadline */
	size_t heap_len;

	gt_sock_slot *socks;
	uint32_t sock_cap;
	uint32_t sock_free; /* head of free list, or sock_cap */

	uint16_t next_ephemeral;
	uint16_t ip_id;
	gt_time_us last_now; /* latest time given to input/on_deadline, for calls that take none */
	uint8_t txbuf[GT_TXBUF_LEN];
};

/* demux */
gt_tcb *gt_stack_lookup(gt_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
                        uint16_t rport);
void gt_stack_hash_insert(gt_stack *st, gt_tcb *tcb);
void gt_stack_hash_remove(gt_stack *st, gt_tcb *tcb);
/* Picks a free ephemeral port for tcb's remote end (RFC 6056 §3.3.3 style);
 * returns 0 when none is free. */
uint16_t gt_stack_pick_port(gt_stack *st, uint32_t raddr, uint16_t rport);

/* timers heap */
void gt_stack_heap_update(gt_stack *st, gt_tcb *tcb);
void gt_stack_heap_remove(gt_stack *st, gt_tcb *tcb);

/* TIME_WAIT age list (RFC 9293 §3.10.7.4: connections in TIME_WAIT hold only
 * their TCB; the oldest is recycled when the stack is full). */
void gt_stack_tw_add(gt_stack *st, gt_tcb *tcb);
void gt_stack_tw_remove(gt_stack *st, gt_tcb *tcb);
/* Frees the oldest TIME_WAIT connection; false when there is none. */
bool gt_stack_tw_recycle(gt_stack *st, gt_time_us now);

/* events and output */
void gt_stack_emit(gt_stack *st, const gt_event *ev);
void gt_stack_drop(gt_stack *st, gt_drop_reason reason, const gt_tcb *tcb, const gt_segment *seg,
                   const uint8_t *pkt, size_t len, gt_time_us now);
/* Checksums, traces (tx event) and sends a packet built in st->txbuf.
 * wnd_shift: the window scale the receiver applies to its window field
 * (RFC 7323 §2.3; our Rcv.Wind.Shift once agreed, else 0), for the trace. */
void gt_stack_transmit(gt_stack *st, const gt_conn_tuple *conn, size_t len, bool rexmit,
                       uint8_t wnd_shift, gt_time_us now);
/* RFC 9293 §3.10.7.1: the reset for a segment that has no connection. */
void gt_stack_send_reset_for(gt_stack *st, const gt_segment *seg, gt_time_us now);

/* sockets */
int gt_stack_sock_alloc(gt_stack *st, gt_tcb *tcb);
void gt_stack_sock_release(gt_stack *st, int s);
gt_tcb *gt_stack_sock_tcb(const gt_stack *st, int s);

/* listener: RFC 9293 §3.10.7.2 */
void gt_listen_input(gt_tcb *lst, const gt_segment *seg, gt_time_us now);
/* A passive child reached ESTABLISHED: move it to the accept queue; false
 * when the queue is full (the ACK is then dropped and the SYN-ACK retried). */
bool gt_listen_child_established(gt_tcb *child);
void gt_listen_child_detach(gt_tcb *child);
/* close() of a listener: resets every child not yet accepted. */
void gt_listen_close(gt_tcb *lst, gt_time_us now);

static inline gt_conn_tuple gt_seg_tuple(const gt_segment *seg)
{
	gt_conn_tuple c = {.local_addr = seg->dst_addr,
	                   .remote_addr = seg->src_addr,
	                   .local_port = seg->dst_port,
	                   .remote_port = seg->src_port};
	return c;
}

#endif
