/* Script sockets are real file descriptors: packetdrill closes every fd it
 * knows with libc's close() at exit, so each glasstcp socket handle is
 * paired with a descriptor of /dev/null, and the table maps fd -> handle.
 * (packetdrill maps the script's fd numbers to these itself.) */
#include "packetdrill/adapter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int pd_fd_new(pd_adapter *a, int handle, bool nonblock)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fd >= a->fds_cap) {
		int cap = a->fds_cap ? a->fds_cap : 64;
		while (cap <= fd)
			cap *= 2;
		pd_socket *grown = realloc(a->fds, (size_t)cap * sizeof(*grown));
		if (!grown) {
			close(fd);
			errno = ENOMEM;
			return -1;
		}
		memset(grown + a->fds_cap, 0, (size_t)(cap - a->fds_cap) * sizeof(*grown));
		a->fds = grown;
		a->fds_cap = cap;
	}
	a->fds[fd] = (pd_socket){.used = true, .handle = handle, .nonblock = nonblock};
	return fd;
}

pd_socket *pd_fd_get(pd_adapter *a, int fd)
{
	if (fd < 0 || fd >= a->fds_cap || !a->fds[fd].used) {
		errno = EBADF;
		return NULL;
	}
	return &a->fds[fd];
}

void pd_fd_release(pd_adapter *a, int fd)
{
	if (fd < 0 || fd >= a->fds_cap || !a->fds[fd].used)
		return;
	a->fds[fd].used = false;
	close(fd);
}
