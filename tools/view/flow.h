/* One connection out of a trace, in the shape a ladder diagram needs: the two
 * endpoints as lifelines, every segment as an arrow from its send to its
 * arrival (or loss), each side's state changes, and the timers that explain
 * the gaps (RTO, TIME_WAIT). Built from a gt_trace_log, whatever made it: the
 * simulator (both hosts log tx, rx and drops), the TUN backend (glasstcp's side
 * plus the kernel's states) or `glasstcp explain` (only tx events, at the
 * capture's timestamps, plus inferred states).
 *
 * Used by the ladder renderer, the HTML report (its summary, plots and ladders)
 * and explain's --svg. */
#ifndef GT_VIEW_FLOW_H
#define GT_VIEW_FLOW_H

#include <glasstcp/glasstcp.h>
#include <stdbool.h>
#include <stddef.h>

#define GT_FLOW_LEFT  0 /* the side that sent the first SYN (the client) */
#define GT_FLOW_RIGHT 1

typedef struct gt_flow_arrow {
	int from;           /* GT_FLOW_LEFT or GT_FLOW_RIGHT: the sender */
	gt_time_us t_tx;    /* when it was sent (tx event) */
	gt_time_us t_rx;    /* when it arrived (rx event), or when it was dropped */
	bool arrived;       /* an rx event matched it */
	bool lost;          /* the network (or the receiver) dropped it: drawn short with a cross */
	bool arrival_known; /* false when the receiver logged nothing (a capture, a
	                     * silent kernel): t_rx is then t_tx, and it is not lost */
	gt_drop_reason drop_reason; /* when lost because of a drop event */
	gt_seg_info seg;            /* as sent; seg.rexmit marks a retransmission;
	                             * seg.wnd is always set (window in bytes) */
	uint32_t rel_seq;           /* seq - sender's ISN (absolute when the ISN is unknown) */
	uint32_t rel_ack;           /* ack - receiver's ISN (0 without ACK) */
	/* Positions in the log of the tx event and of the rx or drop event
	 * (order_rx == order_tx when the arrival is unknown): they order the
	 * events of one instant causally, as the stacks logged them. */
	size_t order_tx, order_rx;
} gt_flow_arrow;

typedef struct gt_flow_state {
	int side;
	gt_time_us t;
	gt_tcp_state from;
	gt_tcp_state to;
	const char *cause; /* points into the log; may be NULL */
	bool inferred;
	size_t order; /* position of the event in the log (see gt_flow_arrow) */
} gt_flow_state;

typedef enum gt_flow_timer_kind {
	GT_FLOW_TIMER_RTO,       /* first send of a segment .. its retransmission */
	GT_FLOW_TIMER_TIME_WAIT, /* -> TIME_WAIT .. TIME_WAIT -> CLOSED (or trace end) */
} gt_flow_timer_kind;

typedef struct gt_flow_timer {
	int side;
	gt_flow_timer_kind kind;
	gt_time_us start;
	gt_time_us end;
	bool end_seen; /* false: still running when the trace ended (end = trace end) */
} gt_flow_timer;

/* gt_flow.wscale: the window scale shift a side announced in its SYN (RFC
 * 7323 §2.2), 0..14, or one of these. */
#define GT_FLOW_WSCALE_UNKNOWN (-2) /* no SYN of the side with its packet bytes in the log */
#define GT_FLOW_WSCALE_ABSENT  (-1) /* its SYN carried no window scale option */

typedef struct gt_flow {
	char host[2][64];   /* the trace's host names ("client"), or "ip:port" */
	gt_conn_tuple conn; /* local = the left side */
	bool isn_known[2];
	uint32_t isn[2]; /* each side's ISN, from its SYN */
	int wscale[2];   /* each side's SYN window scale (GT_FLOW_WSCALE_*); a
	                  * shift above 14 is given as 14 (RFC 7323 §2.3) */
	bool logs_tx[2]; /* the side logged what it sent; false: its arrows are
	                  * the other side's rx and drop events (t_tx = their
	                  * time), as for the kernel behind a TUN device */
	gt_time_us t_first, t_last;

	gt_flow_arrow *arrows; /* in t_tx order (ties: log order) */
	size_t n_arrows;
	gt_flow_state *states; /* in time order (ties: log order); includes the
	                        * listener's CLOSED -> LISTEN for the right side */
	size_t n_states;
	gt_flow_timer *timers;
	size_t n_timers;
} gt_flow;

/* The connections of log, in order of their first event: how many there are,
 * and each one's tuple (local = the side that sent the first SYN, or the first
 * sender). Listener-only events (remote 0.0.0.0:0) are not connections. */
size_t gt_flow_count(const gt_trace_log *log);
/* Builds connection index (0 .. gt_flow_count-1). Returns 0, -ENOENT if there is
 * no such connection, or -ENOMEM. Each call reads the whole log: to build
 * many connections of one log, use a gt_flow_index. */
int gt_flow_build(const gt_trace_log *log, size_t index, gt_flow *out);
void gt_flow_free(gt_flow *f);

/* Every connection of a log mapped to its events, made in one pass over the
 * log (the endpoint pairs hashed), so that building all N connections costs
 * O(events) rather than O(N x events). Same numbering, order and flows as
 * gt_flow_count and gt_flow_build. It points into log, which must outlive it
 * and not change meanwhile. */
typedef struct gt_flow_index gt_flow_index;

/* NULL when out of memory; a NULL log gives an index of no connection. */
gt_flow_index *gt_flow_index_new(const gt_trace_log *log);
size_t gt_flow_index_count(const gt_flow_index *idx); /* 0 for NULL */
/* As gt_flow_build(log, index, out). Returns 0, -EINVAL (out NULL), -ENOENT
 * (idx NULL or no such connection) or -ENOMEM. */
int gt_flow_build_indexed(const gt_flow_index *idx, size_t index, gt_flow *out);
void gt_flow_index_free(gt_flow_index *idx);

#endif
