/* getsockopt/setsockopt: glasstcp's own (gt_getsockopt, gt_setsockopt) take
 * the Linux numbers already (socket.h), so the adapter only turns lengths and
 * errors into libc's shape. */
#include "packetdrill/adapter.h"

#include <errno.h>

static int pd_getsockopt(void *userdata, int fd, int level, int name, void *val, socklen_t *len)
{
	pd_adapter *a = userdata;
	if (!len)
		return pd_fail(-EFAULT);
	pthread_mutex_lock(&a->mu);
	pd_socket *s = pd_fd_get(a, fd);
	int r = -EBADF;
	if (s) {
		size_t n = *len;
		r = gt_getsockopt(a->st, s->handle, level, name, val, &n);
		if (r == 0)
			*len = (socklen_t)n;
	}
	pthread_mutex_unlock(&a->mu);
	return r < 0 ? pd_fail(r) : 0;
}

static int pd_setsockopt(void *userdata, int fd, int level, int name, const void *val,
                         socklen_t len)
{
	pd_adapter *a = userdata;
	pthread_mutex_lock(&a->mu);
	pd_socket *s = pd_fd_get(a, fd);
	int r = s ? gt_setsockopt(a->st, s->handle, level, name, val, len, a->now) : -EBADF;
	pd_broadcast(a);
	pthread_mutex_unlock(&a->mu);
	return r < 0 ? pd_fail(r) : 0;
}

void pd_fill_option_calls(struct packetdrill_interface *ifc)
{
	ifc->getsockopt = pd_getsockopt;
	ifc->setsockopt = pd_setsockopt;
}
