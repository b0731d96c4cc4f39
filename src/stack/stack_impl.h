/* The stack instance: configuration, demultiplexing, timers heap, sockets,
 * listeners, and the single place where packets leave. It owns every TCB and
 * hands the engine (src/tcp) its surroundings as a gt_tcp_env. */
#ifndef GT_STACK_IMPL_H
#define GT_STACK_IMPL_H

#include "glasstcp/socket.h"
#include "glasstcp/stack.h"
#include "tcp/tcb.h"
#include "wire/wire.h"

#include <stddef.h>

typedef struct gt_sock_slot {
	gt_tcb *tcb;  /* NULL when free */
	uint16_t gen; /* bumped on each reuse so stale handles fail with -EBADF */
	uint32_t next_free;
} gt_sock_slot;

struct gt_stack {
	gt_stack_config cfg;
	char name[32];
	gt_stack_counters counters;
	gt_tcp_env env; /* what every TCB of this stack sees of it */

	/* demux: every bound TCB, by (local, remote) — remote 0:0 for listeners
	 * and bound sockets that are not connected */
	gt_tcb **buckets;
	uint32_t bucket_mask;
	uint64_t hash_key;

	gt_tcb *all; /* every TCB */
	size_t tcb_count;
	size_t passive_limit;      /* listeners make connections while tcb_count is below */
	bool tx_syncookie;         /* the packet being sent is a SYN cookie's SYN-ACK (trace) */
	gt_tcb *tw_head, *tw_tail; /* TIME_WAIT, oldest first */
	size_t tw_count;
	gt_tcb *orphan_head, *orphan_tail; /* orphans (gt_tcb_orphan), oldest first */
	size_t orphan_count;

	gt_tcb **heap; /* TCBs with a timer, by deadline */
	size_t heap_len;

	gt_sock_slot *socks;
	uint32_t sock_cap;
	uint32_t sock_free; /* head of free list, or sock_cap */

	uint16_t next_ephemeral;
	gt_time_us last_now; /* latest time given to input/on_deadline, for calls that take none */
	uint8_t txbuf[GT_TXBUF_LEN];
};

static inline gt_stack *gt_stack_of_env(gt_tcp_env *env)
{
	return (gt_stack *)((char *)env - offsetof(gt_stack, env));
}

/* TCBs: a new one counts against max_conns and is linked in the list of all;
 * gt_stack_free_tcb unlinks it from everything (a listener's connections not
 * yet accepted go with it) and frees it. */
gt_tcb *gt_stack_new_tcb(gt_stack *st);
void gt_stack_free_tcb(gt_stack *st, gt_tcb *tcb);

/* demux */
gt_tcb *gt_stack_lookup(gt_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
                        uint16_t rport);
void gt_stack_hash_insert(gt_stack *st, gt_tcb *tcb);
void gt_stack_hash_remove(gt_stack *st, gt_tcb *tcb);
/* Whether a connection (any state, TIME_WAIT included) has local addr:port. */
bool gt_stack_port_in_use(const gt_stack *st, uint32_t addr, uint16_t port);
/* Picks a free ephemeral port for tcb's remote end (RFC 6056 §3.3.3 style);
 * returns 0 when none is free. */
uint16_t gt_stack_pick_port(gt_stack *st, uint32_t raddr, uint16_t rport);

/* TIME_WAIT age list (RFC 9293 §3.10.7.4: connections in TIME_WAIT hold only
 * their TCB; the oldest is recycled when the stack is full). Frees the oldest
 * TIME_WAIT connection; false when there is none. */
bool gt_stack_tw_recycle(gt_stack *st, gt_time_us now);

/* Orphan age list (orphan.c; Linux's tcp_max_orphans): connections the
 * application closed that still hold their buffers (gt_tcb_orphan). Resolves
 * the orphan defaults of a config (orphan_retries, max_orphans). */
void gt_stack_orphan_config(gt_stack_config *cfg);
/* tcb may have become an orphan or stopped being one (state change, close());
 * a new orphan beyond max_orphans resets the oldest ones. */
void gt_stack_orphan_update(gt_stack *st, gt_tcb *tcb, gt_time_us now);
void gt_stack_orphan_remove(gt_stack *st, gt_tcb *tcb);

/* Counts and traces a dropped packet (seg and pkt may be NULL). */
void gt_stack_drop(gt_stack *st, gt_drop_reason reason, const gt_tcb *tcb, const gt_segment *seg,
                   const uint8_t *pkt, size_t len, gt_time_us now);
/* A socket's readiness (a listener's: its accept queue) and the GT_EV_SOCKET
 * event when it changed; a connection not yet accepted tells its listener. */
uint32_t gt_stack_ready(const gt_tcb *tcb);
void gt_stack_notify(gt_stack *st, gt_tcb *tcb, gt_time_us now);

/* sockets */
int gt_stack_sock_alloc(gt_stack *st, gt_tcb *tcb);
void gt_stack_sock_release(gt_stack *st, int s);
gt_tcb *gt_stack_sock_tcb(const gt_stack *st, int s);

/* STATUS (sockinfo.c): what gt_sock_get_info tells of a connection, for any
 * TCB (one without a socket too: gt_stack_foreach_conn). */
void gt_stack_tcb_info(const gt_stack *st, const gt_tcb *tcb, gt_sock_info *out);

/* listener: RFC 9293 §3.10.7.2, the SYN queue and the accept queue */
void gt_listen_input(gt_stack *st, gt_tcb *lst, const gt_segment *seg, gt_time_us now);
/* A passive child reached ESTABLISHED: give it its buffers and move it to the
 * accept queue; GT_DROP_ACCEPT_QUEUE_FULL or GT_DROP_NO_MEMORY when it cannot
 * (the ACK is then dropped and the SYN-ACK retried). */
gt_drop_reason gt_listen_child_established(gt_tcb *child);
void gt_listen_child_detach(gt_tcb *child);
/* accept(): the first connection of the accept queue, detached; NULL if none. */
gt_tcb *gt_listen_accept(gt_tcb *lst);
/* close() of a listener: resets every child not yet accepted. */
void gt_listen_close(gt_tcb *lst, gt_time_us now);

#endif
