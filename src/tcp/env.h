/* The engine's surroundings: everything src/tcp needs from outside one
 * connection, handed to it by the stack (src/stack). The engine includes
 * nothing from src/stack; the stack calls down into the engine and fills in
 * this struct, which is how the engine reaches back up. */
#ifndef GT_TCP_ENV_H
#define GT_TCP_ENV_H

#include "glasstcp/stack.h"
#include "wire/wire.h"

#include <stdbool.h>
#include <stddef.h>

struct gt_tcb;
typedef struct gt_tcp_env gt_tcp_env;

/* Room for the largest segment the engine builds: IPv4 and TCP headers, the
 * longest TCP options, a full 64 KiB of data. */
#define GT_TXBUF_LEN (GT_IPV4_HDR_LEN + GT_TCP_HDR_LEN + GT_TCP_MAX_OPT_LEN + 65535)

/* What the engine asks of the stack. None of these may call back into the
 * engine for the same TCB, except where said. */
typedef struct gt_tcp_env_ops {
	/* The len-byte IPv4 packet built in env->txbuf leaves (checksums still
	 * to fill in). wnd_shift: the window scale the receiver applies to its
	 * window field (RFC 7323 §2.3), for the trace. */
	void (*transmit)(gt_tcp_env *env, const gt_conn_tuple *conn, size_t len, bool rexmit,
	                 uint8_t wnd_shift, gt_time_us now);
	/* A segment was dropped for a reason: count it, trace it. tcb may be NULL. */
	void (*drop)(gt_tcp_env *env, gt_drop_reason reason, const struct gt_tcb *tcb,
	             const gt_segment *seg, gt_time_us now);
	/* tcb->deadline changed (GT_TIME_NEVER: no timer armed). */
	void (*deadline_changed)(gt_tcp_env *env, struct gt_tcb *tcb);
	/* tcb went from state from to tcb->state (after the trace event). */
	void (*state_changed)(gt_tcp_env *env, struct gt_tcb *tcb, gt_tcp_state from);
	/* A passive connection completed its handshake (RFC 9293 §3.10.7.4
	 * fifth, SYN-RECEIVED): the stack gives it its buffers and its listener
	 * queues it for accept(). GT_DROP_NONE, or why not (accept queue full,
	 * no memory): the engine then ignores the ACK. */
	gt_drop_reason (*established)(gt_tcp_env *env, struct gt_tcb *tcb);
	/* "Delete the TCB" (RFC 9293 §3.10.7.4): the connection is CLOSED, or a
	 * passive one went back to LISTEN. The stack frees it and returns true,
	 * unless a socket still holds it (to read EOF or the error): then the
	 * connection leaves the demux and false comes back. */
	bool (*release)(gt_tcp_env *env, struct gt_tcb *tcb);
	/* tcb's readiness (gt_tcb_poll) may have changed: tell whoever waits. */
	void (*notify)(gt_tcp_env *env, struct gt_tcb *tcb, gt_time_us now);
} gt_tcp_env_ops;

struct gt_tcp_env {
	const gt_tcp_env_ops *ops;
	const gt_stack_config *cfg;  /* the settings, read-only */
	gt_stack_counters *counters; /* the engine counts what it sends and decides */
	const char *host;            /* host name in events */
	uint8_t *txbuf;              /* GT_TXBUF_LEN bytes where a segment is built */
	uint16_t ip_id;              /* the next IPv4 identification */
};

/* Hands an event to the application's callback, if there is one. */
static inline void gt_env_emit(const gt_tcp_env *env, const gt_event *ev)
{
	if (env->cfg->on_event)
		env->cfg->on_event(env->cfg->event_user, ev);
}

#endif
