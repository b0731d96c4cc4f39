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
/* Bytes readable now / bytes queued but not acknowledged. */
size_t gt_sock_readable(const gt_stack *st, int s);
size_t gt_sock_unacked(const gt_stack *st, int s);

#ifdef __cplusplus
}
#endif
#endif
