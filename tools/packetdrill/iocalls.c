/* The data calls: read, readv, recv, recvfrom, recvmsg; write, writev, send,
 * sendto, sendmsg. A blocking read waits until data, EOF or an error; a
 * blocking write until all of it is queued (as Linux's send on a blocking
 * socket). Vectors are read and written entry by entry: no copy buffer. */
#include "packetdrill/adapter.h"

#include <errno.h>
#include <string.h>

#define PD_RECV_FLAGS (MSG_DONTWAIT | MSG_WAITALL)
#define PD_SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE)

/* One receive into buf; block says whether to wait for data. Returns the
 * count, or a negative errno. */
static ssize_t recv_once(pd_adapter *a, int fd, void *buf, size_t len, bool block, bool waitall)
{
	size_t got = 0;
	for (;;) {
		pd_socket *s = pd_fd_get(a, fd);
		if (!s)
			return got ? (ssize_t)got : -EBADF;
		ssize_t r = gt_recv(a->st, s->handle, (char *)buf + got, len - got, a->now);
		if (r > 0) {
			got += (size_t)r;
			if (!waitall || got == len)
				return (ssize_t)got;
			continue;
		}
		if (r == 0 || (r != -EAGAIN) || !block || s->nonblock)
			return got ? (ssize_t)got : r;
		int w = pd_wait_change(a, GT_TIME_NEVER);
		if (w < 0)
			return got ? (ssize_t)got : w;
	}
}

static ssize_t recv_vector(pd_adapter *a, int fd, const struct iovec *iov, int iovcnt, int flags)
{
	if (flags & ~PD_RECV_FLAGS)
		return -EOPNOTSUPP;
	if (iovcnt < 0 || (iovcnt > 0 && !iov))
		return -EINVAL;
	bool block = !(flags & MSG_DONTWAIT);
	bool waitall = (flags & MSG_WAITALL) != 0;
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len == 0)
			continue;
		/* only the first read waits: later entries take what is there */
		ssize_t r =
		    recv_once(a, fd, iov[i].iov_base, iov[i].iov_len, block && total == 0, waitall);
		if (r < 0)
			return total ? (ssize_t)total : r;
		total += (size_t)r;
		if ((size_t)r < iov[i].iov_len)
			break;
	}
	return (ssize_t)total;
}

static ssize_t send_vector(pd_adapter *a, int fd, const struct iovec *iov, int iovcnt, int flags)
{
	if (flags & ~PD_SEND_FLAGS)
		return -EOPNOTSUPP;
	if (iovcnt < 0 || (iovcnt > 0 && !iov))
		return -EINVAL;
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++) {
		size_t done = 0;
		while (done < iov[i].iov_len) {
			pd_socket *s = pd_fd_get(a, fd);
			if (!s)
				return total ? (ssize_t)total : -EBADF;
			ssize_t r = gt_send(a->st, s->handle, (const char *)iov[i].iov_base + done,
			                    iov[i].iov_len - done, a->now);
			if (r > 0) {
				done += (size_t)r;
				total += (size_t)r;
				continue;
			}
			if (r != -EAGAIN || s->nonblock || (flags & MSG_DONTWAIT))
				return total ? (ssize_t)total : r;
			int w = pd_wait_change(a, GT_TIME_NEVER);
			if (w < 0)
				return total ? (ssize_t)total : w;
		}
	}
	return (ssize_t)total;
}

static ssize_t finish(pd_adapter *a, ssize_t r)
{
	pd_call_returns(a);
	pd_broadcast(a);
	pthread_mutex_unlock(&a->mu);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static pd_adapter *enter(void *userdata)
{
	pd_adapter *a = userdata;
	pthread_mutex_lock(&a->mu);
	return a;
}

static ssize_t pd_recv(void *userdata, int fd, void *buf, size_t len, int flags)
{
	pd_adapter *a = enter(userdata);
	if (!buf && len)
		return finish(a, -EFAULT);
	if (len == 0) {
		pd_socket *s = pd_fd_get(a, fd);
		return finish(a, s ? gt_recv(a->st, s->handle, NULL, 0, a->now) : -EBADF);
	}
	struct iovec v = {.iov_base = buf, .iov_len = len};
	return finish(a, recv_vector(a, fd, &v, 1, flags));
}

static ssize_t pd_read(void *userdata, int fd, void *buf, size_t count)
{
	return pd_recv(userdata, fd, buf, count, 0);
}

static ssize_t pd_readv(void *userdata, int fd, const struct iovec *iov, int iovcnt)
{
	pd_adapter *a = enter(userdata);
	return finish(a, recv_vector(a, fd, iov, iovcnt, 0));
}

static void fill_peer(pd_adapter *a, int fd, struct sockaddr *addr, socklen_t *len)
{
	pd_socket *s = pd_fd_get(a, fd);
	gt_conn_tuple t;
	if (s && addr && len && gt_sock_tuple(a->st, s->handle, &t) == 0)
		pd_fill_sockaddr(addr, len, t.remote_addr, t.remote_port);
}

static ssize_t pd_recvfrom(void *userdata, int fd, void *buf, size_t len, int flags,
                           struct sockaddr *src, socklen_t *srclen)
{
	pd_adapter *a = enter(userdata);
	struct iovec v = {.iov_base = buf, .iov_len = len};
	ssize_t r = recv_vector(a, fd, &v, 1, flags);
	if (r >= 0)
		fill_peer(a, fd, src, srclen);
	return finish(a, r);
}

static ssize_t pd_recvmsg(void *userdata, int fd, struct msghdr *msg, int flags)
{
	pd_adapter *a = enter(userdata);
	if (!msg)
		return finish(a, -EFAULT);
	ssize_t r = recv_vector(a, fd, msg->msg_iov, (int)msg->msg_iovlen, flags);
	if (r >= 0) {
		fill_peer(a, fd, msg->msg_name, &msg->msg_namelen);
		msg->msg_controllen = 0; /* no ancillary data */
		msg->msg_flags = 0;
	}
	return finish(a, r);
}

static ssize_t pd_send(void *userdata, int fd, const void *buf, size_t len, int flags)
{
	pd_adapter *a = enter(userdata);
	if (!buf && len)
		return finish(a, -EFAULT);
	if (len == 0) {
		pd_socket *s = pd_fd_get(a, fd);
		return finish(a, s ? gt_send(a->st, s->handle, NULL, 0, a->now) : -EBADF);
	}
	struct iovec v = {.iov_base = (void *)buf, .iov_len = len};
	return finish(a, send_vector(a, fd, &v, 1, flags));
}

static ssize_t pd_write(void *userdata, int fd, const void *buf, size_t count)
{
	return pd_send(userdata, fd, buf, count, 0);
}

static ssize_t pd_writev(void *userdata, int fd, const struct iovec *iov, int iovcnt)
{
	pd_adapter *a = enter(userdata);
	return finish(a, send_vector(a, fd, iov, iovcnt, 0));
}

/* TCP ignores the destination of a connected socket (as Linux). */
static ssize_t pd_sendto(void *userdata, int fd, const void *buf, size_t len, int flags,
                         const struct sockaddr *dst, socklen_t dstlen)
{
	return pd_send(userdata, fd, buf, len, flags);
}

static ssize_t pd_sendmsg(void *userdata, int fd, const struct msghdr *msg, int flags)
{
	pd_adapter *a = enter(userdata);
	if (!msg)
		return finish(a, -EFAULT);
	return finish(a, send_vector(a, fd, msg->msg_iov, (int)msg->msg_iovlen, flags));
}

void pd_fill_io_calls(struct packetdrill_interface *ifc)
{
	ifc->read = pd_read;
	ifc->readv = pd_readv;
	ifc->recv = pd_recv;
	ifc->recvfrom = pd_recvfrom;
	ifc->recvmsg = pd_recvmsg;
	ifc->write = pd_write;
	ifc->writev = pd_writev;
	ifc->send = pd_send;
	ifc->sendto = pd_sendto;
	ifc->sendmsg = pd_sendmsg;
}
