/* `glasstcp explain`: a passive observer. Reads any pcap or pcapng with libpcap
 * (link types Ethernet, Linux cooked v1/v2, raw IPv4, BSD loopback/null),
 * finds every TCP connection over IPv4 and infers the RFC 9293 state sequence
 * of BOTH endpoints from the packets alone.
 *
 * Rules (RFC 9293 §3.10, applied to what each side sends and must have
 * received): a side's change is "seen" when a packet it sends shows it (its
 * SYN, its SYN-ACK, its FIN, its ACK of the peer's SYN or FIN, its RST); a
 * change on receipt that no later packet of that side confirms (LAST_ACK ->
 * CLOSED on the final ACK, CLOSED on a received RST, LISTEN before a SYN-ACK,
 * TIME_WAIT -> CLOSED after 2*MSL) is marked inferred. A receive-caused change
 * is dated at the capture time of the last copy of the segment seen before the
 * side's confirming packet (a lost first copy does not count).
 *
 * Output: a gt_trace_log in the trace's own schema: for each connection, a tx
 * event per packet from its sender (host = the sender's "ip:port", conn local =
 * the sender, t_us = the capture timestamp in microseconds since the Unix
 * epoch, seg.rexmit set for a retransmission) and state events for both ends
 * (host = that end's "ip:port", cause saying why, inferred as above), so the
 * table, the ladder and the JSON Lines writer render it as they render
 * glasstcp's own traces. */
#ifndef GT_VIEW_EXPLAIN_H
#define GT_VIEW_EXPLAIN_H

#include <glasstcp/glasstcp.h>
#include <stddef.h>

typedef enum gt_anomaly_kind {
	GT_ANOMALY_RETRANSMISSION, /* a segment sent again (same seq, data or SYN/FIN) */
	GT_ANOMALY_GAP, /* data acked or sent beyond what the capture saw: lost before the capture
	                   point */
	GT_ANOMALY_RST, /* RST in a synchronized state (mid-connection) */
	GT_ANOMALY_REFUSED,      /* SYN answered by RST */
	GT_ANOMALY_FIN_UNACKED,  /* a FIN never acknowledged within the capture */
	GT_ANOMALY_TIME_WAIT,    /* a side still in TIME_WAIT when the capture ended */
	GT_ANOMALY_ZERO_WINDOW,  /* a side advertised window 0: the sender stalls */
	GT_ANOMALY_HALF_OPEN,    /* one side goes on while the other is gone (RST to data, or no SYN
	                            seen) */
	GT_ANOMALY_NO_HANDSHAKE, /* the capture starts mid-connection: early states unknown */
	GT_ANOMALY_KIND_COUNT
} gt_anomaly_kind;

/* "retransmission", "gap", "rst", "refused", "fin_unacked", "time_wait",
 * "zero_window", "half_open", "no_handshake" */
const char *gt_anomaly_kind_name(gt_anomaly_kind k);

typedef struct gt_anomaly {
	size_t conn;     /* connection index, as gt_flow_build counts them */
	gt_time_us t_us; /* capture time it was noticed */
	gt_anomaly_kind kind;
	char text[240]; /* one plain sentence: what happened and what it means */
} gt_anomaly;

typedef struct gt_explain_opts {
	/* How long TIME_WAIT is assumed to last (2*MSL) to infer its end when the
	 * capture runs that long: 60 s, Linux's TCP_TIMEWAIT_LEN, by default. */
	gt_time_us time_wait_us;
} gt_explain_opts;

typedef struct gt_explain {
	gt_trace_log *log; /* all connections' events, in capture order */
	size_t n_conns;
	gt_anomaly *anomalies; /* in (conn, time) order */
	size_t n_anomalies;
	/* which side the capture point seems to be next to, per connection:
	 * 0 left (the SYN's sender), 1 right, -1 the middle or unknown */
	int *near_side;
	uint64_t packets;     /* records read */
	uint64_t tcp_packets; /* of those, TCP over IPv4 used */
	uint64_t skipped;     /* not IPv4/TCP, fragments, truncated or bad headers */
	bool truncated;       /* the file ended inside a record */
} gt_explain;

void gt_explain_opts_default(gt_explain_opts *o);
/* Reads path. Returns 0 (the result may hold no connection: a capture without
 * TCP), or -EINVAL/-ENOENT/-EIO when the file is unusable (empty, not a
 * capture, an unsupported link type, a header cut short) with a one-line
 * reason in err; a capture whose last record is cut short returns 0 with
 * truncated set (what was read is explained). -ENOMEM on allocation failure. */
int gt_explain_pcap(const char *path, const gt_explain_opts *opts, gt_explain *out, char *err,
                    size_t errlen);
void gt_explain_free(gt_explain *e);

#endif
