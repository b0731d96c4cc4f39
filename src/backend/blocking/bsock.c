/* The blocking calls (glasstcp/bsock.h): each takes the runtime's mutex,
 * makes the non-blocking call of socket.h, and while that says -EAGAIN (or
 * the handshake or the close is still under way) waits for the next change
 * the stack reports, up to the socket's timeout. */
#include "backend/blocking/bsock_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#define POLL_MAX 65536u

static const gt_bsock_state DEFAULTS = {
    .h = -1, .nonblock = false, .rcvtimeo = GT_TIME_NEVER, .sndtimeo = GT_TIME_NEVER};

static gt_brt *enter(gt_bstack *bs)
{
	pthread_mutex_lock(&bs->rt->mu);
	return bs->rt;
}

static void leave(gt_brt *rt)
{
	gt_brt_settle(rt);
	pthread_mutex_unlock(&rt->mu);
}

/* The socket's blocking state (the defaults when none was kept). */
static gt_bsock_state sock_get(const gt_bstack *bs, int s)
{
	size_t i = gt_sock_index(s);
	if (s >= 0 && i < bs->nsocks && bs->socks[i].h == s)
		return bs->socks[i];
	return DEFAULTS;
}

/* The entry of s, made (with the defaults) when it is another socket's. */
static gt_bsock_state *sock_entry(gt_bstack *bs, int s)
{
	size_t i = gt_sock_index(s);
	if (i >= bs->nsocks) {
		size_t n = bs->nsocks ? bs->nsocks : 64;
		while (n <= i)
			n *= 2;
		gt_bsock_state *g = realloc(bs->socks, n * sizeof *g);
		if (!g)
			return NULL;
		for (size_t k = bs->nsocks; k < n; k++)
			g[k] = DEFAULTS;
		bs->socks = g;
		bs->nsocks = n;
	}
	if (bs->socks[i].h != s) {
		bs->socks[i] = DEFAULTS;
		bs->socks[i].h = s;
	}
	return &bs->socks[i];
}

static void sock_forget(gt_bstack *bs, int s)
{
	size_t i = gt_sock_index(s);
	if (s >= 0 && i < bs->nsocks && bs->socks[i].h == s)
		bs->socks[i] = DEFAULTS;
}

/* When a wait on s for this direction ends: now, for a non-blocking socket. */
static gt_time_us until_of(gt_bstack *bs, int s, bool send)
{
	gt_bsock_state ss = sock_get(bs, s);
	gt_time_us t = send ? ss.sndtimeo : ss.rcvtimeo;
	gt_time_us now = gt_brt_now(bs->rt);
	if (ss.nonblock || t == 0)
		return now;
	return t == GT_TIME_NEVER ? GT_TIME_NEVER : now + t;
}

static bool is_sock(const gt_bstack *bs, int s)
{
	return gt_sock_state(bs->st, s) >= 0;
}

void gt_b_call(gt_bstack *bs, gt_b_fn fn, void *user)
{
	if (!bs || !fn)
		return;
	gt_brt *rt = enter(bs);
	fn(user, bs->st, gt_brt_now(rt));
	leave(rt);
}

int gt_b_socket(gt_bstack *bs)
{
	if (!bs)
		return -EINVAL;
	gt_brt *rt = enter(bs);
	int s = gt_socket(bs->st);
	if (s >= 0 && !sock_entry(bs, s)) {
		gt_close(bs->st, s, gt_brt_now(rt));
		s = -ENOMEM;
	}
	leave(rt);
	return s;
}

int gt_b_bind(gt_bstack *bs, int s, uint32_t addr, uint16_t port)
{
	if (!bs)
		return -EINVAL;
	gt_brt *rt = enter(bs);
	int r = gt_bind(bs->st, s, addr, port);
	leave(rt);
	return r;
}

int gt_b_listen(gt_bstack *bs, int s, int backlog)
{
	if (!bs)
		return -EINVAL;
	gt_brt *rt = enter(bs);
	int r = gt_listen(bs->st, s, backlog, gt_brt_now(rt));
	leave(rt);
	return r;
}

int gt_b_accept(gt_bstack *bs, int s, uint32_t *peer_addr, uint16_t *peer_port)
{
	if (!bs)
		return -EINVAL;
	gt_brt *rt = enter(bs);
	gt_time_us until = until_of(bs, s, false);
	int r;
	for (;;) {
		r = gt_accept(bs->st, s, peer_addr, peer_port);
		gt_brt_settle(rt);
		if (r != -EAGAIN || !gt_brt_wait(rt, until))
			break;
	}
	if (r >= 0) {
		gt_bsock_state l = sock_get(bs, s);
		gt_bsock_state *n = sock_entry(bs, r);
		if (n) {
			n->rcvtimeo = l.rcvtimeo;
			n->sndtimeo = l.sndtimeo;
		} else {
			gt_abort(bs->st, r, gt_brt_now(rt));
			r = -ENOMEM;
		}
	}
	leave(rt);
	return r;
}

/* The end of a handshake gt_connect started: 0 once synchronized, the
 * error it failed with, or -EINPROGRESS when the wait ends first. */
static int connect_wait(gt_bstack *bs, int s)
{
	gt_time_us until = until_of(bs, s, true);
	for (;;) {
		int state = gt_sock_state(bs->st, s);
		if (state < 0)
			return state;
		if (state != GT_TCP_SYN_SENT && state != GT_TCP_SYN_RECEIVED) {
			int e = gt_sock_error(bs->st, s);
			if (e)
				return e;
			return state == GT_TCP_CLOSED ? -ECONNABORTED : 0;
		}
		if (!gt_brt_wait(bs->rt, until))
			return -EINPROGRESS;
	}
}

int gt_b_connect(gt_bstack *bs, int s, uint32_t addr, uint16_t port)
{
	if (!bs)
		return -EINVAL;
	gt_brt *rt = enter(bs);
	int r = gt_connect(bs->st, s, addr, port, gt_brt_now(rt));
	gt_brt_settle(rt);
	if (r == -EINPROGRESS && !sock_get(bs, s).nonblock)
		r = connect_wait(bs, s);
	leave(rt);
	return r;
}

ssize_t gt_b_send(gt_bstack *bs, int s, const void *buf, size_t len)
{
	if (!bs)
		return -EINVAL;
	if (!buf && len)
		return -EFAULT;
	gt_brt *rt = enter(bs);
	gt_time_us until = until_of(bs, s, true);
	const uint8_t *p = buf;
	size_t done = 0;
	ssize_t r = 0;
	for (;;) {
		r = gt_send(bs->st, s, p + done, len - done, gt_brt_now(rt));
		gt_brt_settle(rt);
		if (r > 0) {
			done += (size_t)r;
			if (done < len)
				continue;
		}
		if (r == -EAGAIN && gt_brt_wait(rt, until))
			continue;
		break;
	}
	leave(rt);
	return done ? (ssize_t)done : r;
}

ssize_t gt_b_recv(gt_bstack *bs, int s, void *buf, size_t len)
{
	if (!bs)
		return -EINVAL;
	if (!buf && len)
		return -EFAULT;
	gt_brt *rt = enter(bs);
	gt_time_us until = until_of(bs, s, false);
	ssize_t r;
	for (;;) {
		r = gt_recv(bs->st, s, buf, len, gt_brt_now(rt));
		gt_brt_settle(rt);
		if (r != -EAGAIN || !gt_brt_wait(rt, until))
			break;
	}
	leave(rt);
	return r;
}

int gt_b_shutdown(gt_bstack *bs, int s, int how)
{
	if (!bs)
		return -EINVAL;
	gt_brt *rt = enter(bs);
	int r = gt_shutdown(bs->st, s, how, gt_brt_now(rt));
	leave(rt);
	return r;
}

/* SO_LINGER with a time, on a blocking connection with nothing unread:
 * FIN now, and a wait until it is acknowledged or the time is up. */
static void linger_wait(gt_bstack *bs, int s)
{
	struct linger lg = {0};
	size_t len = sizeof lg;
	if (gt_getsockopt(bs->st, s, GT_SOL_SOCKET, GT_SO_LINGER, &lg, &len) < 0 || !lg.l_onoff ||
	    lg.l_linger <= 0 || sock_get(bs, s).nonblock || gt_sock_readable(bs->st, s))
		return;
	int state = gt_sock_state(bs->st, s);
	if (state != GT_TCP_ESTABLISHED && state != GT_TCP_CLOSE_WAIT)
		return;
	gt_time_us until = gt_brt_now(bs->rt) + (gt_time_us)lg.l_linger * 1000000u;
	gt_shutdown(bs->st, s, GT_SHUT_WR, gt_brt_now(bs->rt));
	gt_brt_settle(bs->rt);
	for (;;) {
		state = gt_sock_state(bs->st, s);
		if (state != GT_TCP_FIN_WAIT_1 && state != GT_TCP_CLOSING &&
		    state != GT_TCP_LAST_ACK)
			return;
		if (!gt_brt_wait(bs->rt, until))
			return;
	}
}

int gt_b_close(gt_bstack *bs, int s)
{
	if (!bs)
		return -EINVAL;
	gt_brt *rt = enter(bs);
	int r = -EBADF;
	if (is_sock(bs, s)) {
		linger_wait(bs, s);
		r = gt_close(bs->st, s, gt_brt_now(rt));
		sock_forget(bs, s);
		rt->changed = true; /* threads waiting on s see it gone */
	}
	leave(rt);
	return r;
}

static bool is_timeo(int level, int name)
{
	return level == GT_SOL_SOCKET && (name == GT_SO_RCVTIMEO || name == GT_SO_SNDTIMEO);
}

static int set_timeo(gt_bstack *bs, int s, int name, const void *val, size_t len)
{
	if (!val)
		return -EFAULT;
	if (len < sizeof(struct timeval))
		return -EINVAL;
	struct timeval tv;
	memcpy(&tv, val, sizeof tv);
	if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EDOM;
	gt_time_us t;
	if (tv.tv_sec < 0)
		t = 0;
	else if (tv.tv_sec == 0 && tv.tv_usec == 0)
		t = GT_TIME_NEVER;
	else
		t = (gt_time_us)tv.tv_sec * 1000000u + (gt_time_us)tv.tv_usec;
	gt_bsock_state *e = sock_entry(bs, s);
	if (!e)
		return -ENOMEM;
	if (name == GT_SO_RCVTIMEO)
		e->rcvtimeo = t;
	else
		e->sndtimeo = t;
	return 0;
}

int gt_b_setsockopt(gt_bstack *bs, int s, int level, int name, const void *val, size_t len)
{
	if (!bs)
		return -EINVAL;
	gt_brt *rt = enter(bs);
	int r;
	if (!is_timeo(level, name))
		r = gt_setsockopt(bs->st, s, level, name, val, len, gt_brt_now(rt));
	else if (!is_sock(bs, s))
		r = -EBADF;
	else
		r = set_timeo(bs, s, name, val, len);
	leave(rt);
	return r;
}

static int get_timeo(gt_bstack *bs, int s, int name, void *val, size_t *len)
{
	if (!val || !len)
		return -EFAULT;
	gt_bsock_state ss = sock_get(bs, s);
	gt_time_us t = name == GT_SO_RCVTIMEO ? ss.rcvtimeo : ss.sndtimeo;
	struct timeval tv = {0};
	if (t != GT_TIME_NEVER) {
		tv.tv_sec = (time_t)(t / 1000000u);
		tv.tv_usec = (suseconds_t)(t % 1000000u);
	}
	if (*len > sizeof tv)
		*len = sizeof tv;
	memcpy(val, &tv, *len);
	return 0;
}

int gt_b_getsockopt(gt_bstack *bs, int s, int level, int name, void *val, size_t *len)
{
	if (!bs)
		return -EINVAL;
	gt_brt *rt = enter(bs);
	int r;
	if (!is_timeo(level, name))
		r = gt_getsockopt(bs->st, s, level, name, val, len);
	else if (!is_sock(bs, s))
		r = -EBADF;
	else
		r = get_timeo(bs, s, name, val, len);
	leave(rt);
	return r;
}

int gt_b_fcntl(gt_bstack *bs, int s, int cmd, int arg)
{
	if (!bs)
		return -EINVAL;
	gt_brt *rt = enter(bs);
	int r = -EINVAL;
	if (!is_sock(bs, s)) {
		r = -EBADF;
	} else if (cmd == F_GETFL) {
		r = O_RDWR | (sock_get(bs, s).nonblock ? O_NONBLOCK : 0);
	} else if (cmd == F_SETFL) {
		gt_bsock_state *e = sock_entry(bs, s);
		r = e ? 0 : -ENOMEM;
		if (e)
			e->nonblock = (arg & O_NONBLOCK) != 0;
	}
	leave(rt);
	return r;
}

/* revents of every fd; how many have some. */
static int poll_once(gt_bstack *bs, gt_b_pollfd *fds, size_t n)
{
	int count = 0;
	for (size_t i = 0; i < n; i++) {
		fds[i].revents = 0;
		if (fds[i].fd < 0)
			continue;
		int m = gt_poll(bs->st, fds[i].fd);
		if (m < 0)
			fds[i].revents = GT_B_POLLNVAL;
		else
			fds[i].revents = (short)((unsigned)m & ((unsigned short)fds[i].events |
			                                        GT_POLLERR | GT_POLLHUP));
		if (fds[i].revents)
			count++;
	}
	return count;
}

int gt_b_poll(gt_bstack *bs, gt_b_pollfd *fds, size_t n, int timeout_ms)
{
	if (!bs)
		return -EINVAL;
	if (!fds && n)
		return -EFAULT;
	if (n > POLL_MAX)
		return -EINVAL;
	gt_brt *rt = enter(bs);
	gt_time_us now = gt_brt_now(rt);
	gt_time_us until = timeout_ms < 0 ? GT_TIME_NEVER : now + (gt_time_us)timeout_ms * 1000u;
	int count;
	for (;;) {
		count = poll_once(bs, fds, n);
		if (count || !gt_brt_wait(rt, until))
			break;
	}
	leave(rt);
	return count;
}
