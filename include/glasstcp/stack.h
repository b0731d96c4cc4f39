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

typedef struct gt_stack_config {
	const char *name;    /* host name in events ("client"); copied */
	uint32_t local_addr; /* host byte order */

	gt_output_fn output;
	void *output_user;
	gt_event_fn on_event; /* may be NULL */
	void *event_user;

	uint16_t mss;              /* MSS we advertise; default 1460 */
	uint32_t sndbuf;           /* per-connection send buffer bytes; default 65536 */
	uint32_t rcvbuf;           /* per-connection receive buffer bytes; default 65536. Up
	                              to 65536 the window is offered unscaled (65535 at most);
	                              larger buffers (up to 4 MiB) need window scaling */
	uint32_t max_conns;        /* connections (incl. TIME_WAIT, SYN queue); default 1024 */
	uint32_t reasm_max_ranges; /* out-of-order holes kept per connection; default 16 */

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
	bool nodelay;             /* disable Nagle's algorithm (RFC 9293 §3.7.4); default false */
	bool timestamps;          /* offer/accept RFC 7323 timestamps (RTTM, PAWS); default true */
	bool sack;                /* offer/accept RFC 2018 SACK; default true */
	bool window_scaling;      /* offer/accept RFC 7323 window scaling; default true */

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

/* Fills cfg with the defaults above (and zeroes the rest). */
void gt_stack_config_default(gt_stack_config *cfg);

/* Sets in cfg the observable defaults of a profile, over what cfg holds
 * (call gt_stack_config_default first). name is one of:
 *   "linux"   Linux 6.x: delayed ACK 40 ms, RTO min 200 ms, initial RTO 1 s
 *   "freebsd" FreeBSD 14: delayed ACK 100 ms, recvspace 65536, sendspace 32768
 *   "rfc"     the plain defaults of gt_stack_config_default
 * Returns 0, or -EINVAL (cfg or name NULL, or an unknown name; cfg unchanged).
 * Only what the configuration can express today; docs/packetdrill.md. */
int gt_stack_config_profile(gt_stack_config *cfg, const char *name);

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
	uint64_t drops; /* sum of drop[] */
	uint64_t drop[GT_DROP_REASON_COUNT];
} gt_stack_counters;

const gt_stack_counters *gt_stack_get_counters(const gt_stack *st);
/* Connections the stack holds (any state but CLOSED, listeners included). */
size_t gt_stack_conn_count(const gt_stack *st);

#ifdef __cplusplus
}
#endif
#endif
