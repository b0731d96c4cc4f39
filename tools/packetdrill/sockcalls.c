/* The socket calls that make, connect and end sockets: socket, bind, listen,
 * accept, connect, close, shutdown, fcntl, ioctl, poll; and the calls the
 * adapter does not offer (epoll, pipe, splice: ENOSYS). Sockets block unless
 * O_NONBLOCK/SOCK_NONBLOCK is set, as real ones do; a blocking call sleeps on
 * the adapter's condition variable (adapter.h). */
#include "packetdrill/adapter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>

#ifndef POLLRDHUP
#define POLLRDHUP 0x2000 /* Linux's, declared only under _GNU_SOURCE */
#endif

int pd_fail(int err)
{
	errno = err < 0 ? -err : err;
	return -1;
}

static pd_adapter *enter(void *userdata)
{
	pd_adapter *a = userdata;
	pthread_mutex_lock(&a->mu);
	return a;
}

static int leave(pd_adapter *a, int r)
{
	pd_call_returns(a);
	pd_broadcast(a); /* a call may have changed what a sleeper waits for */
	pthread_mutex_unlock(&a->mu);
	return r;
}

/* The handle of fd, or -1 (errno EBADF). */
static int handle_of(pd_adapter *a, int fd)
{
	pd_socket *s = pd_fd_get(a, fd);
	return s ? s->handle : -1;
}

void pd_on_event(void *user, const gt_event *ev)
{
	pd_adapter *a = user;
	if (ev->kind != GT_EV_STATE || !a->linger.active || !ev->has_conn)
		return;
	const gt_conn_tuple *c = &a->linger.conn;
	if (ev->conn.local_addr == c->local_addr && ev->conn.local_port == c->local_port &&
	    ev->conn.remote_addr == c->remote_addr && ev->conn.remote_port == c->remote_port)
		a->linger.state = ev->to;
}

static int pd_socket_call(void *userdata, int domain, int type, int protocol)
{
	pd_adapter *a = enter(userdata);
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (domain != AF_INET)
		return leave(a, pd_fail(-EAFNOSUPPORT));
	if (base != SOCK_STREAM || (protocol != 0 && protocol != IPPROTO_TCP))
		return leave(a, pd_fail(-EPROTONOSUPPORT));
	int h = gt_socket(a->st);
	if (h < 0)
		return leave(a, pd_fail(h));
	int fd = pd_fd_new(a, h, (type & SOCK_NONBLOCK) != 0);
	if (fd < 0) {
		int e = errno;
		gt_close(a->st, h, a->now);
		return leave(a, pd_fail(e));
	}
	return leave(a, fd);
}

static int ipv4_of(const struct sockaddr *addr, socklen_t len, uint32_t *ip, uint16_t *port)
{
	struct sockaddr_in sin;
	if (!addr || len < sizeof(sin))
		return -EINVAL;
	memcpy(&sin, addr, sizeof(sin));
	if (sin.sin_family != AF_INET)
		return -EAFNOSUPPORT;
	*ip = ntohl(sin.sin_addr.s_addr);
	*port = ntohs(sin.sin_port);
	return 0;
}

void pd_fill_sockaddr(struct sockaddr *addr, socklen_t *len, uint32_t ip, uint16_t port)
{
	if (!addr || !len)
		return;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	sin.sin_addr.s_addr = htonl(ip);
	sin.sin_port = htons(port);
	size_t n = *len < sizeof(sin) ? *len : sizeof(sin);
	memcpy(addr, &sin, n);
	*len = sizeof(sin);
}

static int pd_bind(void *userdata, int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	pd_adapter *a = enter(userdata);
	int h = handle_of(a, fd);
	if (h < 0)
		return leave(a, -1);
	uint32_t ip = 0;
	uint16_t port = 0;
	int r = ipv4_of(addr, addrlen, &ip, &port);
	if (r == 0)
		r = gt_bind(a->st, h, ip, port);
	return leave(a, r < 0 ? pd_fail(r) : 0);
}

static int pd_listen(void *userdata, int fd, int backlog)
{
	pd_adapter *a = enter(userdata);
	int h = handle_of(a, fd);
	if (h < 0)
		return leave(a, -1);
	int r = gt_listen(a->st, h, backlog, a->now);
	return leave(a, r < 0 ? pd_fail(r) : 0);
}

static int pd_accept(void *userdata, int fd, struct sockaddr *addr, socklen_t *addrlen)
{
	pd_adapter *a = enter(userdata);
	for (;;) {
		pd_socket *s = pd_fd_get(a, fd);
		if (!s)
			return leave(a, -1);
		uint32_t ip = 0;
		uint16_t port = 0;
		int r = gt_accept(a->st, s->handle, &ip, &port);
		if (r >= 0) {
			int nfd = pd_fd_new(a, r, false);
			if (nfd < 0) {
				int e = errno;
				gt_abort(a->st, r, a->now);
				return leave(a, pd_fail(e));
			}
			pd_fill_sockaddr(addr, addrlen, ip, port);
			return leave(a, nfd);
		}
		if (r != -EAGAIN || s->nonblock)
			return leave(a, pd_fail(r));
		int w = pd_wait_change(a, GT_TIME_NEVER);
		if (w < 0)
			return leave(a, pd_fail(w));
	}
}

/* RFC 9293 §3.10.1 OPEN: a blocking connect returns once the handshake is
 * done (0) or the attempt failed (its error); a non-blocking one returns
 * EINPROGRESS, then EALREADY while in progress, 0 once connected (as Linux). */
static int await_connected(pd_adapter *a, int fd)
{
	for (;;) {
		pd_socket *s = pd_fd_get(a, fd);
		if (!s)
			return -1;
		int st = gt_sock_state(a->st, s->handle);
		if (st != GT_TCP_SYN_SENT && st != GT_TCP_SYN_RECEIVED) {
			s->connecting = false;
			if (st == GT_TCP_CLOSED) {
				int e = gt_sock_error(a->st, s->handle);
				return pd_fail(e ? e : -ECONNREFUSED);
			}
			return 0;
		}
		if (s->nonblock)
			return pd_fail(-EALREADY);
		int w = pd_wait_change(a, GT_TIME_NEVER);
		if (w < 0)
			return pd_fail(w);
	}
}

static int pd_connect(void *userdata, int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	pd_adapter *a = enter(userdata);
	pd_socket *s = pd_fd_get(a, fd);
	if (!s)
		return leave(a, -1);
	uint32_t ip = 0;
	uint16_t port = 0;
	int r = ipv4_of(addr, addrlen, &ip, &port);
	if (r < 0)
		return leave(a, pd_fail(r));
	if (s->connecting)
		return leave(a, await_connected(a, fd));
	r = gt_connect(a->st, s->handle, ip, port, a->now);
	if (r != -EINPROGRESS)
		return leave(a, r < 0 ? pd_fail(r) : 0);
	s->connecting = true;
	if (s->nonblock)
		return leave(a, pd_fail(-EINPROGRESS));
	return leave(a, await_connected(a, fd));
}

static bool lingering_done(gt_tcp_state st)
{
	/* our FIN is acknowledged (or the connection is gone) */
	return st == GT_TCP_FIN_WAIT_2 || st == GT_TCP_TIME_WAIT || st == GT_TCP_CLOSED;
}

/* RFC 9293 §3.10.4 CLOSE. With SO_LINGER on and a time, a blocking close
 * waits until the FIN is acknowledged or the time is up (as BSD and Linux);
 * with a time of 0 the stack aborts the connection (gt_close). */
static int pd_close(void *userdata, int fd)
{
	pd_adapter *a = enter(userdata);
	pd_socket *s = pd_fd_get(a, fd);
	if (!s)
		return leave(a, -1);
	struct linger l = {0};
	size_t len = sizeof(l);
	gt_getsockopt(a->st, s->handle, GT_SOL_SOCKET, GT_SO_LINGER, &l, &len);
	gt_conn_tuple conn;
	int st = gt_sock_state(a->st, s->handle);
	bool wait = l.l_onoff && l.l_linger > 0 && !s->nonblock &&
	            gt_sock_tuple(a->st, s->handle, &conn) == 0 && st >= GT_TCP_ESTABLISHED;
	if (wait)
		a->linger = (pd_linger_watch){.active = true, .conn = conn, .state = st};
	int r = gt_close(a->st, s->handle, a->now);
	pd_fd_release(a, fd);
	if (wait) {
		gt_time_us until = a->now + (gt_time_us)l.l_linger * 1000000;
		while (!lingering_done(a->linger.state) &&
		       pd_wait_change(a, until) == PD_WAIT_CHANGED)
			;
		a->linger.active = false;
	}
	return leave(a, r < 0 ? pd_fail(r) : 0);
}

static int pd_shutdown(void *userdata, int fd, int how)
{
	pd_adapter *a = enter(userdata);
	int h = handle_of(a, fd);
	if (h < 0)
		return leave(a, -1);
	int r = gt_shutdown(a->st, h, how, a->now);
	return leave(a, r < 0 ? pd_fail(r) : 0);
}

static int pd_fcntl(void *userdata, int fd, int cmd, ...)
{
	pd_adapter *a = enter(userdata);
	pd_socket *s = pd_fd_get(a, fd);
	if (!s)
		return leave(a, -1);
	if (cmd == F_GETFL)
		return leave(a, O_RDWR | (s->nonblock ? O_NONBLOCK : 0));
	if (cmd != F_SETFL)
		return leave(a, pd_fail(-EINVAL));
	va_list ap;
	va_start(ap, cmd);
	int flags = va_arg(ap, int);
	va_end(ap);
	s->nonblock = (flags & O_NONBLOCK) != 0;
	return leave(a, 0);
}

static int pd_ioctl(void *userdata, int fd, unsigned long request, ...)
{
	pd_adapter *a = enter(userdata);
	pd_socket *s = pd_fd_get(a, fd);
	if (!s)
		return leave(a, -1);
	if (request != SIOCINQ && request != SIOCOUTQ && request != FIONBIO)
		return leave(a, pd_fail(-ENOTTY)); /* before reading an argument it may lack */
	va_list ap;
	va_start(ap, request);
	int *arg = va_arg(ap, int *);
	va_end(ap);
	if (!arg)
		return leave(a, pd_fail(-EFAULT));
	switch (request) {
	case SIOCINQ: /* = FIONREAD: bytes readable */
		*arg = (int)gt_sock_readable(a->st, s->handle);
		return leave(a, 0);
	case SIOCOUTQ: /* bytes queued and not yet acknowledged */
		*arg = (int)gt_sock_unacked(a->st, s->handle);
		return leave(a, 0);
	case FIONBIO:
		s->nonblock = *arg != 0;
		return leave(a, 0);
	default:
		return leave(a, pd_fail(-ENOTTY));
	}
}

static short poll_bits(pd_adapter *a, const struct pollfd *p)
{
	pd_socket *s = pd_fd_get(a, p->fd);
	if (!s)
		return POLLNVAL;
	int m = gt_poll(a->st, s->handle);
	if (m < 0)
		return POLLNVAL;
	short ev = 0;
	if (m & GT_POLLIN)
		ev |= POLLIN | POLLRDNORM;
	if (m & GT_POLLOUT)
		ev |= POLLOUT | POLLWRNORM;
	if (m & GT_POLLRDHUP)
		ev |= POLLRDHUP;
	ev &= p->events;
	/* POLLERR and POLLHUP are reported whether asked for or not */
	if (m & GT_POLLERR)
		ev |= POLLERR;
	if (m & GT_POLLHUP)
		ev |= POLLHUP;
	return ev;
}

static int pd_poll(void *userdata, struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	pd_adapter *a = enter(userdata);
	if (!fds && nfds)
		return leave(a, pd_fail(-EFAULT));
	gt_time_us until = timeout_ms < 0 ? GT_TIME_NEVER : a->now + (gt_time_us)timeout_ms * 1000;
	for (;;) {
		int ready = 0;
		for (nfds_t i = 0; i < nfds; i++) {
			fds[i].revents = fds[i].fd < 0 ? 0 : poll_bits(a, &fds[i]);
			ready += fds[i].revents != 0;
		}
		if (ready || a->now >= until)
			return leave(a, ready);
		int w = pd_wait_change(a, until);
		if (w < 0)
			return leave(a, pd_fail(w));
	}
}

static int pd_epoll_create(void *userdata, int size)
{
	return pd_fail(-ENOSYS);
}

static int pd_epoll_ctl(void *userdata, int epfd, int op, int fd, struct epoll_event *event)
{
	return pd_fail(-ENOSYS);
}

static int pd_epoll_wait(void *userdata, int epfd, struct epoll_event *events, int maxevents,
                         int timeout_ms)
{
	return pd_fail(-ENOSYS);
}

static int pd_pipe(void *userdata, int fds[2])
{
	return pd_fail(-ENOSYS);
}

static int pd_splice(void *userdata, int fd_in, loff_t *off_in, int fd_out, loff_t *off_out,
                     size_t len, unsigned int flags)
{
	return pd_fail(-ENOSYS);
}

void pd_fill_socket_calls(struct packetdrill_interface *ifc)
{
	ifc->socket = pd_socket_call;
	ifc->bind = pd_bind;
	ifc->listen = pd_listen;
	ifc->accept = pd_accept;
	ifc->connect = pd_connect;
	ifc->close = pd_close;
	ifc->shutdown = pd_shutdown;
	ifc->fcntl = pd_fcntl;
	ifc->ioctl = pd_ioctl;
	ifc->poll = pd_poll;
	ifc->epoll_create = pd_epoll_create;
	ifc->epoll_ctl = pd_epoll_ctl;
	ifc->epoll_wait = pd_epoll_wait;
	ifc->pipe = pd_pipe;
	ifc->splice = pd_splice;
}
