/* glasstcp — the socket-like API.
 *
 * Non-blocking, like BSD sockets with O_NONBLOCK. A socket is an int handle
 * (>= 0) valid in one stack; errors are negative errno values. Readiness is
 * read with gt_poll() and also announced as GT_EV_SOCKET events.
 *
 * After gt_close() the handle is gone at once, while the connection goes on
 * closing inside the stack (FIN_WAIT_1 ... TIME_WAIT), as with close(2). */
#ifndef GLASSTCP_SOCKET_H
#define GLASSTCP_SOCKET_H

#include "stack.h"

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
	GT_POLLIN = 0x01,     /* data to read, EOF, or (listener) a connection to accept */
	GT_POLLOUT = 0x04,    /* connected and room in the send buffer */
	GT_POLLERR = 0x08,    /* an error is pending (gt_sock_error) */
	GT_POLLHUP = 0x10,    /* both directions are shut */
	GT_POLLRDHUP = 0x2000 /* the peer sent FIN */
};

enum { GT_SHUT_RD = 0, GT_SHUT_WR = 1, GT_SHUT_RDWR = 2 };

/* A socket handle is a non-negative int: a generation (GT_SOCK_GEN_BITS,
 * bumped when the slot is reused, so that a stale handle fails with -EBADF)
 * above the slot's index (GT_SOCK_INDEX_BITS). Handles open at once on one
 * stack have distinct indexes below max_conns: gt_sock_index() may index a
 * caller's own per-socket arrays. */
#define GT_SOCK_INDEX_BITS 20
#define GT_SOCK_GEN_BITS   11
static inline uint32_t gt_sock_index(int s)
{
	return (uint32_t)s & ((1u << GT_SOCK_INDEX_BITS) - 1);
}

/* A new unbound socket; -EMFILE when the stack's limit is reached. */
int gt_socket(gt_stack *st);
/* addr 0 = the stack's address; port 0 = an ephemeral port. -EADDRINUSE, -EINVAL. */
int gt_bind(gt_stack *st, int s, uint32_t addr, uint16_t port);
/* RFC 9293 OPEN (passive). backlog <= 0 means the default (128). */
int gt_listen(gt_stack *st, int s, int backlog, gt_time_us now);
/* A new socket for an established connection, or -EAGAIN. peer may be NULL. */
int gt_accept(gt_stack *st, int s, uint32_t *peer_addr, uint16_t *peer_port);
/* RFC 9293 OPEN (active): sends SYN; returns -EINPROGRESS (then GT_POLLOUT or
 * GT_POLLERR), -EISCONN, -EALREADY, -EADDRNOTAVAIL, -EINVAL. */
int gt_connect(gt_stack *st, int s, uint32_t addr, uint16_t port, gt_time_us now);
/* RFC 9293 SEND: queues up to len bytes; returns the count, -EAGAIN (buffer
 * full), -ENOTCONN, -EPIPE (after shutdown/peer reset), or the pending error. */
ssize_t gt_send(gt_stack *st, int s, const void *buf, size_t len, gt_time_us now);
/* RFC 9293 RECEIVE: returns bytes read, 0 at EOF (peer's FIN), -EAGAIN, -ENOTCONN,
 * or the pending error (-ECONNRESET, -ETIMEDOUT, -ECONNREFUSED). */
ssize_t gt_recv(gt_stack *st, int s, void *buf, size_t len, gt_time_us now);
/* GT_SHUT_WR sends FIN after queued data (half-close). */
int gt_shutdown(gt_stack *st, int s, int how, gt_time_us now);
/* RFC 9293 CLOSE, and releases the handle. With unread received data, sends
 * RST instead of FIN (RFC 9293 §3.10.4 / RFC 1122 §4.2.2.13). */
int gt_close(gt_stack *st, int s, gt_time_us now);
/* (With SO_LINGER on and a time of 0, gt_close is gt_abort.) */
/* RFC 9293 ABORT: sends RST (when synchronized) and releases the handle. */
int gt_abort(gt_stack *st, int s, gt_time_us now);

/* TCP keep-alive (RFC 1122 §4.2.3.6, RFC 9293 §3.8.4), like Linux's
 * SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT. When a
 * connection has received nothing for idle_us (and has no data or FIN
 * unacknowledged, queued or waiting behind a zero window), it sends a probe: an
 * ACK with no data at SND.UNA-1, which a live peer must answer with an ACK.
 * Every segment that passes the sequence-number check restarts the idle time.
 * After `probes` probes intvl_us apart go unanswered the connection is aborted:
 * RST sent, CLOSED with the cause "keepalive timeout", -ETIMEDOUT for the
 * application. It runs in ESTABLISHED, CLOSE_WAIT and FIN_WAIT_2 (in
 * FIN_WAIT_1, CLOSING and LAST_ACK our FIN is unacknowledged: the
 * retransmission timer watches the peer). Off by default; a socket accepted
 * from a listener starts with the listener's setting. */
typedef struct gt_keepalive {
	bool on;
	gt_time_us idle_us;  /* GT_KEEPALIVE_MIN_US .. GT_KEEPALIVE_MAX_US */
	gt_time_us intvl_us; /* GT_KEEPALIVE_MIN_US .. GT_KEEPALIVE_MAX_US */
	uint32_t probes;     /* >= 1 */
} gt_keepalive;
/* 1 s, Linux's minimum too: peers (Linux, glasstcp) answer empty
 * out-of-window segments such as probes at most once per 500 ms
 * (RFC 5961 §7), so faster probes could go unanswered. */
#define GT_KEEPALIVE_MIN_US 1000000ull
#define GT_KEEPALIVE_MAX_US (365ull * 24 * 3600 * 1000000) /* one year */
/* The socket's setting: off with the stack's keepalive_* values, until set.
 * 0 or -EBADF. */
int gt_sock_get_keepalive(const gt_stack *st, int s, gt_keepalive *out);
/* Turns keep-alive on (with these values) or off (ka->on false: the values
 * are ignored). Works on any socket: one not yet connected, or a listener,
 * keeps the setting for its connection(s). On a connection the idle time
 * starts again now. 0, -EBADF, or -EINVAL (ka NULL; on with a time outside
 * GT_KEEPALIVE_MIN_US .. GT_KEEPALIVE_MAX_US, or probes 0). */
int gt_sock_set_keepalive(gt_stack *st, int s, const gt_keepalive *ka, gt_time_us now);

/* Socket options, BSD-shaped: level and name are the Linux numbers of
 * <sys/socket.h> and <netinet/tcp.h> (on Linux the libc constants can be
 * passed as they are; GT_ names below for other systems), values the types
 * Linux takes (int, struct linger, unsigned for TCP_USER_TIMEOUT, Linux's
 * struct tcp_info from <linux/tcp.h> for TCP_INFO).
 *
 *   SOL_SOCKET   SO_ERROR (read: takes the pending error, else the last ICMP
 *                  soft error, as a positive errno)
 *                SO_LINGER (struct linger: l_onoff with l_linger 0 makes
 *                  gt_close an ABORT, RFC 9293 §3.10.5; with a time gt_close
 *                  is the normal CLOSE and a blocking caller may wait up to it)
 *                SO_KEEPALIVE (gt_sock_set_keepalive with the socket's values)
 *                SO_REUSEADDR (without it gt_bind is -EADDRINUSE while any
 *                  connection, TIME_WAIT included, has that local port; with
 *                  it only a listener or bound socket there conflicts)
 *                SO_RCVBUF, SO_SNDBUF (bytes, GT_SOCKBUF_MIN..GT_SOCKBUF_MAX; only
 *                  before connect/listen, else -EISCONN; read back as set,
 *                  not doubled as Linux does)
 *                SO_TYPE (read: SOCK_STREAM)
 *   IPPROTO_TCP  TCP_NODELAY (per connection), TCP_MAXSEG (before connect: the
 *                  MSS announced, 88..65535; reads the effective send MSS once
 *                  synchronized, the configured one before), TCP_KEEPIDLE,
 *                  TCP_KEEPINTVL (s, 1..32767), TCP_KEEPCNT (1..127),
 *                  TCP_USER_TIMEOUT (ms; 0 = none), TCP_INFO (read),
 *                  TCP_CONGESTION ("reno"; only "reno" can be set)
 * Anything else -ENOPROTOOPT; a value too short -EINVAL; a bad value -EINVAL;
 * a bad handle -EBADF. gt_getsockopt writes at most *len bytes and sets *len
 * to the bytes written (TCP_INFO and TCP_CONGESTION may be cut short). */
enum {
	GT_SOL_SOCKET = 1,
	GT_IPPROTO_TCP = 6,
	GT_SO_REUSEADDR = 2,
	GT_SO_TYPE = 3,
	GT_SO_ERROR = 4,
	GT_SO_SNDBUF = 7,
	GT_SO_RCVBUF = 8,
	GT_SO_KEEPALIVE = 9,
	GT_SO_LINGER = 13,
	GT_TCP_NODELAY = 1,
	GT_TCP_MAXSEG = 2,
	GT_TCP_KEEPIDLE = 4,
	GT_TCP_KEEPINTVL = 5,
	GT_TCP_KEEPCNT = 6,
	GT_TCP_INFO = 11,
	GT_TCP_CONGESTION = 13,
	GT_TCP_USER_TIMEOUT = 18
};
#define GT_SOCKBUF_MIN 1024u
#define GT_SOCKBUF_MAX GT_RCVBUF_LIMIT
int gt_setsockopt(gt_stack *st, int s, int level, int name, const void *val, size_t len,
                  gt_time_us now);
int gt_getsockopt(gt_stack *st, int s, int level, int name, void *val, size_t *len);

/* What the engine knows of a connection, read-only (TCP_INFO is made from
 * it). Times in microseconds; counts in segments where Linux counts them. */
enum { GT_INFO_TIMESTAMPS = 1, GT_INFO_SACK = 2, GT_INFO_WSCALE = 4 };
typedef struct gt_sock_info {
	gt_tcp_state state;
	uint32_t options;         /* GT_INFO_* agreed on the handshake */
	uint8_t snd_wscale;       /* the peer's shift */
	uint8_t rcv_wscale;       /* ours */
	uint32_t retransmits;     /* consecutive timeouts of the current segment */
	uint32_t backoff;         /* RTO doublings since the last valid sample */
	gt_time_us rto_us;        /* the timeout armed next (backoff applied) */
	gt_time_us ato_us;        /* delayed-ACK timeout */
	uint32_t snd_mss;         /* the MSS we send with */
	uint32_t rcv_mss;         /* the MSS we announced */
	gt_time_us rtt_us;        /* RFC 6298 SRTT (0 before a sample) */
	gt_time_us rttvar_us;     /* RFC 6298 RTTVAR */
	uint32_t snd_cwnd;        /* congestion window, in snd_mss segments */
	uint32_t snd_ssthresh;    /* in segments; UINT32_MAX while unset */
	uint32_t unacked;         /* segments sent and not acknowledged */
	uint32_t sacked;          /* segments the peer SACKed */
	uint32_t lost;            /* segments RFC 6675 IsLost() deems lost */
	uint32_t retrans;         /* segments sent again and not yet acknowledged */
	uint32_t total_retrans;   /* segments the connection retransmitted */
	uint32_t snd_wnd;         /* the peer's window, bytes */
	uint32_t rcv_wnd;         /* the window we offer, bytes */
	uint32_t rcv_space;       /* receive buffer, bytes */
	uint32_t unread;          /* bytes received not yet read */
	uint32_t unsent;          /* bytes queued not yet sent */
	uint32_t reordering;      /* dupack threshold (RFC 5681: 3) */
	uint32_t probes;          /* keep-alive probes unanswered */
	gt_time_us since_recv_us; /* since the last acceptable segment arrived, at the
	                             latest time the stack was given (input or timers) */
	/* RFC 4898 statistics, as Linux's tcp_info has them */
	uint64_t bytes_acked;       /* SND.UNA advanced by (the SYN and FIN count, as Linux) */
	uint64_t bytes_received;    /* in-order data received */
	uint64_t bytes_sent;        /* data sent, retransmissions included */
	uint64_t bytes_retrans;     /* data retransmitted */
	uint32_t segs_out, segs_in; /* segments sent / received */
	uint32_t data_segs_out, data_segs_in; /* of which carried data */
	gt_time_us since_data_sent_us;        /* since data last went (0: never sent) */
	gt_time_us since_data_recv_us;        /* since data last came (0: never came) */
} gt_sock_info;
/* 0 and *out, -EBADF, -EINVAL (out NULL). On a socket without a connection
 * the state is CLOSED (or LISTEN) and the sizes the configured ones. */
int gt_sock_get_info(const gt_stack *st, int s, gt_sock_info *out);

/* GT_POLL* mask, or a negative errno for a bad handle. */
int gt_poll(const gt_stack *st, int s);
/* Takes the pending error (negative errno) or 0: the error the connection
 * ended with (or a refused or failed connect). */
int gt_sock_error(gt_stack *st, int s);
/* Takes the last ICMP soft error (RFC 1122 §4.2.3.9: -EHOSTUNREACH,
 * -ENETUNREACH, -ECONNREFUSED in a synchronized state, ...) or 0: the
 * connection went on after it. SO_ERROR as Linux has it is gt_sock_error,
 * else this. A connection that times out after one reports it in place of
 * -ETIMEDOUT. */
int gt_sock_soft_error(gt_stack *st, int s);
/* The connection's state; GT_TCP_CLOSED for unconnected sockets. -EBADF. */
int gt_sock_state(const gt_stack *st, int s);
/* The connection tuple (local first); -ENOTCONN when none. */
int gt_sock_tuple(const gt_stack *st, int s, gt_conn_tuple *out);
/* getsockname()/getpeername() as BSD has them: a struct sockaddr_in (AF_INET,
 * network byte order) in addr, cut to *len bytes, *len set to its full size.
 * gt_getsockname of a socket not bound gives 0.0.0.0:0; gt_getpeername is
 * -ENOTCONN for a listener, in SYN_SENT and once CLOSED (as Linux's).
 * -EBADF, -EINVAL (NULL). */
struct sockaddr;
int gt_getsockname(const gt_stack *st, int s, struct sockaddr *addr, size_t *len);
int gt_getpeername(const gt_stack *st, int s, struct sockaddr *addr, size_t *len);
/* Bytes readable now / bytes queued but not acknowledged. */
size_t gt_sock_readable(const gt_stack *st, int s);
size_t gt_sock_unacked(const gt_stack *st, int s);

#ifdef __cplusplus
}
#endif
#endif
