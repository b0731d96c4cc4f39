/* glasstcp — the blocking, thread-safe socket API.
 *
 * For programs that want the classic socket shape: a runtime (gt_bstack) owns
 * a gt_stack and drives it from a thread of its own (packets, timers); any
 * number of application threads call gt_b_* on it at once. Calls block as BSD
 * sockets do, with SO_RCVTIMEO / SO_SNDTIMEO, and honour O_NONBLOCK set with
 * gt_b_fcntl. The engine stays sans-I/O: this runtime is a backend, like the
 * TUN loop (tun.h) it runs on.
 *
 * Handles are the stack's own socket handles (int >= 0, valid in one
 * gt_bstack). Errors are negative errno values, as everywhere in glasstcp
 * (not -1 with errno). Addresses and ports are host byte order, as in
 * socket.h.
 *
 * One mutex guards the stack: every call takes it, makes the non-blocking
 * call of socket.h with the time read from CLOCK_MONOTONIC, and when that
 * would block waits (the mutex released) until the stack reports a change of
 * readiness or state, or the timeout passes. The event callback given in the
 * configuration, if any, runs with the mutex held, on whichever thread is in
 * the stack: it must not call gt_b_*. Linux only. */
#ifndef GLASSTCP_BSOCK_H
#define GLASSTCP_BSOCK_H

#include "socket.h"
#include "stack.h"
#include "tun.h"

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gt_bstack gt_bstack;

/* On a TUN device: gt_tun_new(cfg) runs on the runtime's thread (so the
 * signals gt_tun blocks are blocked there only: SIGINT and SIGTERM keep their
 * usual effect on the program), which then runs gt_tun_run. cfg->on_event
 * is called under the mutex. Returns 0 and *out, or a negative errno with a
 * one-line reason in err (as gt_tun_new). */
int gt_b_start_tun(const gt_tun_config *cfg, gt_bstack **out, char *err, size_t errlen);
/* Two stacks linked by an in-memory path (no loss, no delay) in one runtime,
 * driven in real time: for tests and programs without a device. Each config
 * is a full gt_stack_config (local_addr, isn_key ...); its output is the
 * link, its on_event (may be NULL) is called under the mutex. 0, -EINVAL,
 * -ENOMEM, or what gt_stack_create or pthread_create returned. */
int gt_b_start_pair(const gt_stack_config *a, const gt_stack_config *b, gt_bstack **a_out,
                    gt_bstack **b_out);
/* Stops the runtime's thread and frees everything (for a pair: both
 * gt_bstacks; call it once, with either). No call may be in progress, none
 * made after. Nothing more is sent. */
void gt_b_stop(gt_bstack *bs);

/* Runs fn with the mutex held, on the calling thread, with the stack and the
 * time: anything of socket.h / stack.h not wrapped here (counters, TCP_INFO,
 * gt_sock_tuple ...). fn must not call gt_b_*. */
typedef void (*gt_b_fn)(void *user, gt_stack *st, gt_time_us now);
void gt_b_call(gt_bstack *bs, gt_b_fn fn, void *user);

/* The calls. Every one returns -EINVAL for bs NULL and -EBADF for a handle
 * that is not an open socket of bs (never opened, or closed). */

/* A new socket (blocking, no timeouts); -EMFILE, -ENOMEM. */
int gt_b_socket(gt_bstack *bs);
/* gt_bind: -EINVAL (bound already), -EADDRNOTAVAIL, -EADDRINUSE. */
int gt_b_bind(gt_bstack *bs, int s, uint32_t addr, uint16_t port);
/* gt_listen: -EINVAL on a socket connected or connecting. */
int gt_b_listen(gt_bstack *bs, int s, int backlog);
/* Waits for a connection (SO_RCVTIMEO as Linux): the new socket, blocking,
 * with the listener's timeouts. -EAGAIN (non-blocking, or timed out),
 * -EINVAL (not a listener). peer_addr / peer_port may be NULL. */
int gt_b_accept(gt_bstack *bs, int s, uint32_t *peer_addr, uint16_t *peer_port);
/* Waits until ESTABLISHED (SO_SNDTIMEO as Linux): 0, or -ECONNREFUSED,
 * -ETIMEDOUT, -ECONNRESET, -EINPROGRESS (non-blocking, or timed out: the
 * handshake goes on), -EALREADY, -EISCONN, -EADDRNOTAVAIL, -EINVAL. */
int gt_b_connect(gt_bstack *bs, int s, uint32_t addr, uint16_t port);
/* Waits until all len bytes are queued (SO_SNDTIMEO): len, or what was
 * queued before the timeout or an error if anything was, else -EAGAIN,
 * -EPIPE, -ENOTCONN, -ECONNRESET ...; -EFAULT for buf NULL with len > 0.
 * Non-blocking: what fits now, or -EAGAIN. */
ssize_t gt_b_send(gt_bstack *bs, int s, const void *buf, size_t len);
/* Waits until data, EOF or an error (SO_RCVTIMEO): bytes read (at most
 * len), 0 at EOF, -EAGAIN (non-blocking, or timed out), -ENOTCONN,
 * -ECONNRESET, -ETIMEDOUT, -ECONNREFUSED; -EFAULT for buf NULL with len > 0. */
ssize_t gt_b_recv(gt_bstack *bs, int s, void *buf, size_t len);
/* gt_shutdown: how GT_SHUT_RD / WR / RDWR (-EINVAL otherwise), -ENOTCONN. */
int gt_b_shutdown(gt_bstack *bs, int s, int how);
/* gt_close; with SO_LINGER on and a time of N > 0 s on a blocking socket,
 * first sends FIN and waits up to N s for it (and all data) to be
 * acknowledged, then closes: 0 either way (the connection goes on closing
 * after a timeout, as Linux's). SO_LINGER 0: RST. A thread blocked on the
 * handle meanwhile returns -EBADF. */
int gt_b_close(gt_bstack *bs, int s);

/* SOL_SOCKET SO_RCVTIMEO / SO_SNDTIMEO: a struct timeval (Linux's numbers,
 * 20 and 21, libc's SO_RCVTIMEO on 64-bit Linux); {0, 0} = wait forever (the
 * default). Set: -EINVAL (len < sizeof(struct timeval)), -EDOM (tv_usec
 * outside 0..999999), -EFAULT (val NULL); a negative tv_sec means no wait,
 * as Linux. Every other option goes to gt_setsockopt / gt_getsockopt
 * (socket.h). gt_b_getsockopt of a timeout writes at most *len bytes. */
enum { GT_SO_RCVTIMEO = 20, GT_SO_SNDTIMEO = 21 };
int gt_b_setsockopt(gt_bstack *bs, int s, int level, int name, const void *val, size_t len);
int gt_b_getsockopt(gt_bstack *bs, int s, int level, int name, void *val, size_t *len);

/* F_GETFL: O_RDWR, | O_NONBLOCK when set; F_SETFL: O_NONBLOCK of arg (the
 * other bits are ignored, as Linux ignores the access mode). -EINVAL for any
 * other cmd. (<fcntl.h>'s F_GETFL, F_SETFL, O_NONBLOCK.) */
int gt_b_fcntl(gt_bstack *bs, int s, int cmd, int arg);

/* poll(2) over sockets of one gt_bstack: events and revents are GT_POLL*
 * masks (socket.h); GT_POLLERR and GT_POLLHUP are always reported,
 * GT_B_POLLNVAL for a bad handle, a negative fd is skipped (revents 0).
 * timeout_ms < 0: forever; 0: at once. Returns how many have revents,
 * 0 on timeout, -EFAULT (fds NULL with n > 0), -EINVAL (n > 65536). */
enum { GT_B_POLLNVAL = 0x20 };
typedef struct gt_b_pollfd {
	int fd;
	short events;
	short revents;
} gt_b_pollfd;
int gt_b_poll(gt_bstack *bs, gt_b_pollfd *fds, size_t n, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
