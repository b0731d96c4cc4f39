/* glasstcp — shared vocabulary: states, flags, connection tuples, drop reasons.
 *
 * Addresses are IPv4 in host byte order (192.0.2.1 is 0xC0000201); ports are in
 * host byte order. Times are microseconds on the caller's clock (virtual in the
 * simulator, monotonic on a real interface). */
#ifndef GLASSTCP_TYPES_H
#define GLASSTCP_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t gt_time_us;
#define GT_TIME_NEVER UINT64_MAX

/* RFC 9293 §3.3.2: the eleven connection states. */
typedef enum gt_tcp_state {
	GT_TCP_CLOSED = 0,
	GT_TCP_LISTEN,
	GT_TCP_SYN_SENT,
	GT_TCP_SYN_RECEIVED,
	GT_TCP_ESTABLISHED,
	GT_TCP_FIN_WAIT_1,
	GT_TCP_FIN_WAIT_2,
	GT_TCP_CLOSE_WAIT,
	GT_TCP_CLOSING,
	GT_TCP_LAST_ACK,
	GT_TCP_TIME_WAIT,
	GT_TCP_STATE_COUNT
} gt_tcp_state;

/* "CLOSED", "SYN_SENT", ... (RFC 9293 names with '_'). */
const char *gt_tcp_state_name(gt_tcp_state s);

/* TCP header flag bits, as on the wire (RFC 9293 §3.1, RFC 3168). */
enum {
	GT_TCP_FIN = 0x01,
	GT_TCP_SYN = 0x02,
	GT_TCP_RST = 0x04,
	GT_TCP_PSH = 0x08,
	GT_TCP_ACK = 0x10,
	GT_TCP_URG = 0x20,
	GT_TCP_ECE = 0x40,
	GT_TCP_CWR = 0x80
};

/* Writes the set flags' letters in Scapy's order "FSRPAUEC" ("SA", "FA", "R")
 * into buf (at least 9 bytes); returns buf. */
char *gt_tcp_flags_str(uint8_t flags, char buf[9]);

/* A connection as seen from one host: local end first. */
typedef struct gt_conn_tuple {
	uint32_t local_addr;
	uint32_t remote_addr;
	uint16_t local_port;
	uint16_t remote_port;
} gt_conn_tuple;

/* "192.0.2.1" into buf (at least 16 bytes); returns buf. */
char *gt_ipv4_str(uint32_t addr, char buf[16]);
/* Parses dotted quad; returns 0 or -EINVAL. */
int gt_ipv4_parse(const char *s, uint32_t *addr);
/* "192.0.2.1:1234>192.0.2.2:80" into buf (at least 48 bytes); returns buf. */
char *gt_conn_str(const gt_conn_tuple *c, char buf[48]);

/* Why an incoming packet was dropped (or a segment discarded). Each has a fixed
 * lower-case name used in traces and counters. */
typedef enum gt_drop_reason {
	GT_DROP_NONE = 0,
	/* wire: IPv4 */
	GT_DROP_TRUNCATED,        /* shorter than an IPv4 header */
	GT_DROP_BAD_IP_VERSION,   /* version != 4 */
	GT_DROP_BAD_IP_HDR_LEN,   /* IHL < 5 or past the packet */
	GT_DROP_BAD_IP_TOTAL_LEN, /* total length < header or > bytes received */
	GT_DROP_BAD_IP_CSUM,      /* IPv4 header checksum */
	GT_DROP_IP_FRAGMENT,      /* MF set or offset != 0: reassembly unsupported */
	GT_DROP_NOT_TCP,          /* protocol != 6 */
	GT_DROP_NOT_FOR_US,       /* destination is not this stack's address */
	GT_DROP_BAD_SRC_ADDR,     /* source is broadcast, multicast or in 0/8 ("this network") */
	GT_DROP_SRC_LOOPBACK,     /* source in 127/8 from the wire (RFC 1122 §3.2.1.3 (g)) */
	GT_DROP_SRC_OWN_ADDR,     /* source is our own address: LAND (RFC 1122 §3.2.1.3) */
	/* wire: TCP */
	GT_DROP_TCP_TRUNCATED,  /* shorter than a TCP header */
	GT_DROP_BAD_TCP_OFFSET, /* data offset < 5 or past the segment */
	GT_DROP_BAD_TCP_CSUM,   /* pseudo-header checksum */
	GT_DROP_BAD_TCP_OPTION, /* option length 0/1 or overrunning the header */
	GT_DROP_BAD_PORT,       /* port 0 */
	GT_DROP_BAD_FLAGS,      /* e.g. SYN+FIN, SYN+RST */
	/* engine: RFC 9293 §3.10.7 */
	GT_DROP_NO_CONNECTION,     /* closed port: answered with RST where allowed */
	GT_DROP_OUT_OF_WINDOW,     /* unacceptable segment (answered with ACK unless RST) */
	GT_DROP_BAD_ACK,           /* ACK of something not sent */
	GT_DROP_OLD_ACK,           /* duplicate ACK of old data: ignored */
	GT_DROP_RST_INVALID,       /* RST outside the window: ignored */
	GT_DROP_RST_CHALLENGED,    /* RST in window but not exact: challenge ACK */
	GT_DROP_SYN_CHALLENGED,    /* SYN in a synchronized state: challenge ACK */
	GT_DROP_NO_ACK,            /* segment without ACK in a synchronized state */
	GT_DROP_LISTEN_BAD,        /* ACK or junk to a listener (RST sent for ACK) */
	GT_DROP_SYN_QUEUE_FULL,    /* listener's SYN queue full */
	GT_DROP_ACCEPT_QUEUE_FULL, /* listener's accept queue full */
	GT_DROP_CONN_LIMIT,        /* stack's connection limit (or listeners' share) reached */
	GT_DROP_NO_MEMORY,         /* no memory for a new connection's buffers */
	GT_DROP_REASM_FULL,        /* out-of-order queue bound reached */
	GT_DROP_DATA_AFTER_FIN,    /* data past the peer's FIN */
	GT_DROP_DATA_AFTER_CLOSE,  /* data after our close(): RST sent */
	GT_DROP_UNEXPECTED,        /* a segment with no meaning in this state (RFC 9293: drop) */
	GT_DROP_PAWS,              /* RFC 7323 §5.3: TSval older than TS.Recent (ACKed) */
	GT_DROP_NO_TIMESTAMP,      /* RFC 7323 §3.2: no TSopt after timestamps were agreed */
	/* ICMP (RFC 792, RFC 1122 §4.2.3.9, RFC 5927) */
	GT_DROP_ICMP_BAD,           /* malformed ICMP, bad checksum, or too little quoted */
	GT_DROP_ICMP_IGNORED,       /* a type TCP does not act on (echo, source quench, ...) */
	GT_DROP_ICMP_NO_CONNECTION, /* quotes a segment of no connection of ours */
	GT_DROP_ICMP_OUT_OF_WINDOW, /* RFC 5927 §4.1: the quoted seq is not in flight */
	GT_DROP_SIM_LOSS,           /* simulator: lost on the link */
	GT_DROP_SIM_FAULT,          /* simulator: scripted fault */
	GT_DROP_REASON_COUNT
} gt_drop_reason;

/* "bad_tcp_csum", "out_of_window", ... */
const char *gt_drop_reason_name(gt_drop_reason r);

/* How options are laid out on the wire, as the system named lays them out
 * (the same options, in another order and padding; docs/profiles.md). */
typedef enum gt_opt_layout {
	GT_OPT_LAYOUT_LINUX = 0, /* SYN <mss,sackOK,TS,nop,wscale>, NOP padding */
	GT_OPT_LAYOUT_FREEBSD,   /* SYN <mss,nop,wscale,sackOK,TS>, EOL padding */
} gt_opt_layout;

#ifdef __cplusplus
}
#endif
#endif
