/* glasstcp — trace events and their renderers (JSON Lines, pcap, the seed's table).
 *
 * The engine reports every state transition and every segment sent, received or
 * dropped as a gt_event through the stack's event callback. Pointers inside an
 * event are valid only during the callback. */
#ifndef GLASSTCP_TRACE_H
#define GLASSTCP_TRACE_H

#include "types.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gt_event_kind {
	GT_EV_STATE = 0, /* a connection changed state */
	GT_EV_TX,        /* a segment left the stack */
	GT_EV_RX,        /* a segment was accepted for processing */
	GT_EV_DROP,      /* a packet or segment was dropped (reason set) */
	GT_EV_SOCKET     /* readiness of a socket changed (sock, ready, error) */
} gt_event_kind;

/* "state", "tx", "rx", "drop", "socket" */
const char *gt_event_kind_name(gt_event_kind k);

/* The header fields of a segment, enough to draw it. */
typedef struct gt_seg_info {
	uint32_t seq;
	uint32_t ack;
	uint32_t len; /* payload bytes */
	uint16_t win; /* raw window field */
	/* The window in bytes: win shifted by the scale agreed in the handshake
	 * (RFC 7323 §2.3; never scaled on a SYN, §2.2); equal to win without
	 * scaling, 0 only when win is 0. */
	uint32_t wnd;
	uint8_t flags;
	bool rexmit;    /* tx: a retransmission */
	bool syncookie; /* tx: a SYN-ACK whose ISN is a SYN cookie (RFC 4987 §3.6) */
	uint16_t mss;   /* MSS option value, 0 if absent */
} gt_seg_info;

/* The window in bytes; a gt_seg_info built without wnd (0 while win is not)
 * counts as unscaled. */
static inline uint32_t gt_seg_wnd(const gt_seg_info *seg)
{
	return seg->wnd || !seg->win ? seg->wnd : seg->win;
}

typedef struct gt_event {
	gt_event_kind kind;
	gt_time_us t_us;
	const char *host; /* stack's name */

	bool has_conn;
	gt_conn_tuple conn; /* local = this host */

	/* GT_EV_STATE */
	gt_tcp_state from;
	gt_tcp_state to;
	const char *cause; /* "rcv SYN", "close()", "2MSL timeout", ... */
	/* Deduced by a passive observer (glasstcp explain) rather than reported by
	 * the stack that made the change; written as "inferred":true. */
	bool inferred;

	/* GT_EV_TX, GT_EV_RX, GT_EV_DROP (has_seg false when unparseable) */
	bool has_seg;
	gt_seg_info seg;
	const uint8_t *pkt; /* the whole IPv4 packet, or NULL */
	size_t pkt_len;
	gt_drop_reason reason; /* GT_EV_DROP */

	/* GT_EV_SOCKET */
	int sock;
	uint32_t ready; /* GT_POLL* mask, see socket.h */
	int error;      /* pending error (negative errno) or 0 */
} gt_event;

typedef void (*gt_event_fn)(void *user, const gt_event *ev);

/* ---- JSON Lines: one object per event (socket events are skipped). ---- */
/* Writes one line for ev to f. Returns 0, or -EIO. */
int gt_trace_jsonl_write(FILE *f, const gt_event *ev);

/* ---- pcap, LINKTYPE_RAW (101) IPv4, microsecond timestamps ---- */
typedef struct gt_pcap_writer gt_pcap_writer;
/* Opens path for writing; returns NULL with errno set on failure. */
gt_pcap_writer *gt_pcap_open(const char *path);
/* Writes one record; a write error is remembered and reported by gt_pcap_close. */
void gt_pcap_write_packet(gt_pcap_writer *w, gt_time_us t, const uint8_t *pkt, size_t len);
/* Flushes and closes; 0, or -EIO if any write failed. */
int gt_pcap_close(gt_pcap_writer *w);

/* ---- The seed's table ----
 * A recorder keeps copies of the events of two hosts (named client and server
 * when rendered) and prints one row per segment: time, the client's state
 * change, an arrow with the segment, the server's state change. */
typedef struct gt_trace_log gt_trace_log;
gt_trace_log *gt_trace_log_new(void);
void gt_trace_log_free(gt_trace_log *log);
/* An event callback that appends a copy of ev (user = the log). */
void gt_trace_log_record(void *log, const gt_event *ev);
size_t gt_trace_log_count(const gt_trace_log *log);
/* Events that could not be recorded for want of memory (never silently lost). */
size_t gt_trace_log_dropped(const gt_trace_log *log);
const gt_event *gt_trace_log_get(const gt_trace_log *log, size_t i);

typedef struct gt_table_opts {
	const char *left_host;  /* e.g. "client" */
	const char *right_host; /* e.g. "server" */
	bool absolute_seq;      /* default: relative to each side's ISN */
} gt_table_opts;
int gt_trace_table_print(FILE *f, const gt_trace_log *log, const gt_table_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
