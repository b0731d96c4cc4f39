/* glasstcp — the sans-I/O TCP/IPv4 engine.
 *
 * A gt_stack never does I/O, never reads a clock and keeps no globals. Drive it
 * with:
 *   gt_stack_input(st, pkt, len, now)     an IPv4 packet arrived
 *   gt_stack_on_deadline(st, now)         the time gt_stack_next_deadline() gave has come
 *   the socket API of socket.h            (each call takes now)
 * It answers through the output callback (whole IPv4 packets to send), the
 * event callback (trace and readiness events) and gt_stack_next_deadline().
 * Callbacks must not call back into the same stack. */
#ifndef GLASSTCP_STACK_H
#define GLASSTCP_STACK_H

#include "trace.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gt_stack gt_stack;

/* Sends one IPv4 packet; the buffer is valid only during the call. */
typedef void (*gt_output_fn)(void *user, const uint8_t *pkt, size_t len);
/* Chooses an initial sequence number (tests use it to start near 2^32). */
typedef uint32_t (*gt_isn_fn)(void *user, const gt_conn_tuple *conn, gt_time_us now);

/* SYN cookies (RFC 4987 §3.6): a SYN-ACK whose ISN encodes what the SYN
 * asked for, so that a listener answers SYNs without keeping state. */
typedef enum gt_syncookies_mode {
	GT_SYNCOOKIES_ON_OVERFLOW = 0, /* when the SYN queue (or the stack) is full:
	                                  Linux's tcp_syncookies=1; the default */
	GT_SYNCOOKIES_OFF,             /* never: a full SYN queue drops SYNs */
	GT_SYNCOOKIES_ALWAYS,          /* every SYN (tcp_syncookies=2): no SYN queue */
} gt_syncookies_mode;

typedef struct gt_stack_config {
	const char *name;    /* host name in events ("client"); copied */
	uint32_t local_addr; /* host byte order */

	gt_output_fn output;
	void *output_user;
	gt_event_fn on_event; /* may be NULL */
	void *event_user;

	uint16_t mss;                  /* MSS we advertise; default 1460 */
	uint32_t sndbuf;               /* per-connection send buffer bytes; default 65536 */
	uint32_t rcvbuf;               /* per-connection receive buffer bytes; default 65536. Up
	                                  to 65536 the window is offered unscaled (65535 at most);
	                                  larger buffers (up to GT_RCVBUF_LIMIT) need window
	                                  scaling */
	uint32_t rcvbuf_max;           /* the largest receive buffer a socket may ask for
	                                  (SO_RCVBUF), up to GT_RCVBUF_LIMIT; the window
	                                  scale offered covers it. 0 = rcvbuf (default) */
	uint32_t max_conns;            /* connections (incl. TIME_WAIT, SYN queue); default 1024,
	                                  at most GT_MAX_CONNS_LIMIT */
	uint32_t conn_reserve;         /* slots of max_conns that listeners never take, kept
	                                  for connect(): 0 = max_conns / 16 (none below 16) */
	gt_syncookies_mode syncookies; /* default GT_SYNCOOKIES_ON_OVERFLOW */
	uint32_t reasm_max_ranges;     /* out-of-order holes kept per connection; default 16 */

	gt_time_us msl_us;          /* Maximum Segment Lifetime; TIME_WAIT = 2*MSL; default 30 s */
	gt_time_us rto_initial_us;  /* RFC 6298 §2.1: default 1 s */
	gt_time_us rto_min_us;      /* RFC 6298 §2.4: default 200 ms */
	gt_time_us rto_max_us;      /* RFC 6298 §2.5: default 60 s */
	gt_time_us delack_us;       /* delayed ACK; 0 = ACK at once; default 40 ms */
	gt_time_us user_timeout_us; /* RFC 9293 USER TIMEOUT: abort when sent data stays
	                               unacknowledged this long; 0 = retries only; default 0 */
	gt_time_us fin_wait_2_timeout_us; /* an orphaned FIN_WAIT_2 (after close()) ends
	                                     after this; default 60 s */
	uint32_t max_retries;     /* data/FIN retransmissions before ETIMEDOUT; default 12 */
	uint32_t max_syn_retries; /* SYN/SYN-ACK retransmissions; default 6 */
	/* An orphan (closed by the application, in FIN_WAIT_1, CLOSING or
	 * LAST_ACK) gives up after this many retransmissions or zero-window
	 * probes, answered or not, and sends RST (Linux's tcp_orphan_retries);
	 * never more than max_retries. 0 = default 8, as Linux's 0 means 8 */
	uint32_t orphan_retries;
	/* Orphans the stack keeps at most: one more resets the oldest (RST).
	 * 0 = default: max_conns / 2 (Linux's tcp_max_orphans: half its
	 * connection hash), at least 1 */
	uint32_t max_orphans;
	/* Segments in the initial congestion window: 0 = RFC 5681 §3.1 (2 to 4
	 * by MSS, default); RFC 6928 (Linux): 10 */
	uint32_t initial_window;
	/* Quick ACKs: the first quickack_segs data segments of a connection are
	 * ACKed at once, not delayed (Linux's quick-ACK mode: 16); default 0 */
	uint32_t quickack_segs;
	bool quickack_fin;        /* a received FIN is ACKed at once; default false: the
	                             ACK waits delack_us, so that a FIN from a prompt
	                             close() rides on it (the three-way close) */
	gt_opt_layout opt_layout; /* default GT_OPT_LAYOUT_LINUX */
	bool rst_ack;             /* a reset we send to abort a connection (ABORT, close()
	                             with unread data, SO_LINGER 0) carries ACK with RCV.NXT,
	                             as Linux and FreeBSD send it; default false: RFC 9293
	                             §3.10.5's <SEQ=SND.NXT><CTL=RST> */
	/* TCP segmentation offload: the link takes segments of up to tso_max
	 * data bytes (whole multiples of the MSS, at most GT_TSO_LIMIT) and cuts
	 * them into MSS-sized ones itself, as a TSO device does (a backend
	 * without one cuts them with gt_wire_tso_split). 0 = off: every segment
	 * the MSS at most (default). */
	uint32_t tso_max;
	bool nodelay;        /* disable Nagle's algorithm (RFC 9293 §3.7.4); default false */
	bool timestamps;     /* offer/accept RFC 7323 timestamps (RTTM, PAWS); default true */
	bool sack;           /* offer/accept RFC 2018 SACK; default true */
	bool window_scaling; /* offer/accept RFC 7323 window scaling; default true */

	/* RFC 1122 §4.2.3.6 keep-alive, off on every socket until
	 * gt_sock_set_keepalive (socket.h) turns it on; these are the values a
	 * new socket starts with. 0 means the default; other times must be
	 * within GT_KEEPALIVE_MIN_US .. GT_KEEPALIVE_MAX_US (socket.h). */
	gt_time_us keepalive_idle_us;  /* nothing received this long: first probe; default 7200 s */
	gt_time_us keepalive_intvl_us; /* between unanswered probes; default 75 s */
	uint32_t keepalive_probes;     /* unanswered probes before the abort; default 9 */

	uint16_t ephemeral_lo; /* default 49152 */
	uint16_t ephemeral_hi; /* default 65535 */

	uint8_t isn_key[16]; /* RFC 6528 secret; fill from a real RNG (sim: its PRNG) */
	gt_isn_fn isn_fn;    /* optional override of the ISN generator */
	void *isn_user;
} gt_stack_config;

/* The most connections one stack holds (max_conns): 2^20, the socket
 * handles' index bits (socket.h). */
#define GT_MAX_CONNS_LIMIT (1u << 20)
/* The largest receive buffer: 16 MiB (window scale 8 covers it). */
#define GT_RCVBUF_LIMIT (16u << 20)
/* The largest TSO segment: what an IPv4 datagram holds beside the headers. */
#define GT_TSO_LIMIT (65535u - 20 - 20 - 40)
/* Fills cfg with the defaults above (and zeroes the rest). */
void gt_stack_config_default(gt_stack_config *cfg);

/* Sets what a profile chooses on top of cfg (the rest of cfg is kept):
 * "linux" (Linux 6.x as packetdrill's scripts see it), "freebsd" (FreeBSD
 * 14's defaults) or "rfc" (the RFCs' own values: RTO min 1 s, MSL 2 min,
 * RFC 5681's initial window). docs/profiles.md gives each value and its
 * source. Returns 0, or
 * -EINVAL for another name (cfg unchanged). */
int gt_stack_config_profile(gt_stack_config *cfg, const char *name);
/* The profile names, NULL-terminated: "linux", "freebsd", "rfc". */
extern const char *const gt_stack_profiles[];
/* Returns 0 and *out, or -EINVAL (bad config) / -ENOMEM. */
int gt_stack_create(const gt_stack_config *cfg, gt_stack **out);
/* Frees everything, without sending anything. */
void gt_stack_destroy(gt_stack *st);

const char *gt_stack_name(const gt_stack *st);
uint32_t gt_stack_addr(const gt_stack *st);

/* An IPv4 packet arrived at time now. Never fails: bad input is counted. */
void gt_stack_input(gt_stack *st, const uint8_t *pkt, size_t len, gt_time_us now);
/* The earliest time the stack needs gt_stack_on_deadline, or GT_TIME_NEVER. */
gt_time_us gt_stack_next_deadline(const gt_stack *st);
/* Runs every timer due at or before now. */
void gt_stack_on_deadline(gt_stack *st, gt_time_us now);

typedef struct gt_stack_counters {
	uint64_t rx_packets;  /* IPv4 packets given to gt_stack_input */
	uint64_t rx_segments; /* segments that passed the wire checks */
	uint64_t tx_segments;
	uint64_t tx_rexmits;
	uint64_t tx_rsts;
	uint64_t tx_challenge_acks;
	uint64_t tx_keepalive_probes; /* RFC 1122 §4.2.3.6 probes sent */
	uint64_t conns_opened;        /* reached ESTABLISHED */
	uint64_t conns_reset;         /* aborted by an RST received */
	uint64_t conns_timedout;
	uint64_t orphans_timedout;       /* orphans that gave up after orphan_retries (also
	                                    in conns_timedout) */
	uint64_t orphans_reset_overflow; /* oldest orphans reset because of max_orphans */
	uint64_t rx_icmp_errors;  /* ICMP errors about our segments acted on (RFC 1122 §4.2.3.9) */
	uint64_t syncookies_sent; /* SYN-ACKs with a SYN cookie (RFC 4987 §3.6) */
	uint64_t syncookies_ok;   /* ACKs whose cookie was valid: a connection made */
	uint64_t syncookies_bad;  /* ACKs to a listener that had sent cookies, cookie invalid */
	uint64_t drops;           /* sum of drop[] */
	uint64_t drop[GT_DROP_REASON_COUNT];
	/* RFC 4022's (and Linux's nstat) connection counters, by their state
	 * changes; the names in brackets are nstat's */
	uint64_t active_opens;  /* CLOSED -> SYN_SENT: connect() (TcpActiveOpens) */
	uint64_t passive_opens; /* LISTEN -> SYN_RECEIVED: a listener's new connection,
	                           SYN cookies' included (TcpPassiveOpens) */
	uint64_t attempt_fails; /* SYN_SENT or SYN_RECEIVED -> CLOSED, and SYN_RECEIVED
	                           -> LISTEN (TcpAttemptFails) */
	uint64_t estab_resets;  /* ESTABLISHED or CLOSE_WAIT -> CLOSED: reset either way,
	                           or timed out (TcpEstabResets) */
	uint64_t curr_estab;    /* a gauge: connections in ESTABLISHED or CLOSE_WAIT now
	                           (TcpCurrEstab) */
	uint64_t rx_rsts;       /* segments with RST among those in rx_segments */
} gt_stack_counters;

const gt_stack_counters *gt_stack_get_counters(const gt_stack *st);
/* Connections the stack holds (any state but CLOSED, listeners included). */
size_t gt_stack_conn_count(const gt_stack *st);

/* One connection as `ss -tin` shows it (gt_stack_foreach_conn). */
typedef struct gt_conn_info {
	gt_conn_tuple tuple; /* a listener's remote end is 0.0.0.0:0 */
	gt_tcp_state state;
	int sock;        /* the socket handle, or -1: closed by the application (an
	                    orphan, TIME_WAIT) or not accepted yet */
	bool orphan;     /* closed by the application, still sending (FIN_WAIT_1,
	                    CLOSING, LAST_ACK) */
	uint32_t recv_q; /* bytes received and not read */
	uint32_t send_q; /* bytes queued and not acknowledged: in flight and unsent */
	/* a listener's queues */
	uint32_t syn_queue;    /* its connections in SYN_RECEIVED */
	uint32_t accept_queue; /* established, waiting for accept() */
	uint32_t backlog;
	/* what TCP_INFO says (gt_sock_get_info of socket.h, which this is the
	 * same as for a socket's connection); times in microseconds */
	gt_time_us rtt_us; /* RFC 6298 SRTT, 0 before a sample */
	gt_time_us rttvar_us;
	gt_time_us rto_us;
	uint32_t snd_mss;
	uint32_t snd_cwnd;       /* segments */
	uint32_t snd_ssthresh;   /* segments; UINT32_MAX while unset */
	uint32_t retransmits;    /* consecutive timeouts of the current segment */
	uint32_t total_retrans;  /* segments retransmitted */
	uint64_t bytes_acked;    /* as tcpi_bytes_acked */
	uint64_t bytes_received; /* as tcpi_bytes_received */
} gt_conn_info;
typedef void (*gt_conn_fn)(void *user, const gt_conn_info *ci);
/* Calls fn for every connection the stack holds (those gt_stack_conn_count
 * counts: listeners, connections not accepted yet, orphans, TIME_WAIT), in
 * no particular order; fn must not call into the stack. Returns how many. */
size_t gt_stack_foreach_conn(const gt_stack *st, gt_conn_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif
