/* The shared-object interface packetdrill drives a user-space stack through
 * (packetdrill's --so_filename / --so_flags): packetdrill dlopen()s the object,
 * calls its exported packetdrill_interface_init(flags, ifc), and from then on
 * makes every socket call, every packet in and out, every sleep and every clock
 * reading through the function pointers the object filled in.
 *
 * This is glasstcp's own declaration of that binary interface: the members
 * must stay in this order with these signatures, since packetdrill reads the
 * struct by position. Each function gets `userdata` first, returns what the
 * libc call of the same name returns, and sets errno on failure. glasstcp's
 * `script` subcommand (tools/script) drives the same adapter through the same
 * struct. */
#ifndef GT_PD_ABI_H
#define GT_PD_ABI_H
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

struct packetdrill_interface {
	void *userdata;
	void (*free)(void *userdata);
	int (*socket)(void *userdata, int domain, int type, int protocol);
	int (*bind)(void *userdata, int fd, const struct sockaddr *addr, socklen_t addrlen);
	int (*listen)(void *userdata, int fd, int backlog);
	int (*accept)(void *userdata, int fd, struct sockaddr *addr, socklen_t *addrlen);
	int (*connect)(void *userdata, int fd, const struct sockaddr *addr, socklen_t addrlen);
	ssize_t (*read)(void *userdata, int fd, void *buf, size_t count);
	ssize_t (*readv)(void *userdata, int fd, const struct iovec *iov, int iovcnt);
	ssize_t (*recv)(void *userdata, int fd, void *buf, size_t len, int flags);
	ssize_t (*recvfrom)(void *userdata, int fd, void *buf, size_t len, int flags,
	                    struct sockaddr *src, socklen_t *srclen);
	ssize_t (*recvmsg)(void *userdata, int fd, struct msghdr *msg, int flags);
	ssize_t (*write)(void *userdata, int fd, const void *buf, size_t count);
	ssize_t (*writev)(void *userdata, int fd, const struct iovec *iov, int iovcnt);
	ssize_t (*send)(void *userdata, int fd, const void *buf, size_t len, int flags);
	ssize_t (*sendto)(void *userdata, int fd, const void *buf, size_t len, int flags,
	                  const struct sockaddr *dst, socklen_t dstlen);
	ssize_t (*sendmsg)(void *userdata, int fd, const struct msghdr *msg, int flags);
	int (*fcntl)(void *userdata, int fd, int cmd, ...);
	int (*ioctl)(void *userdata, int fd, unsigned long request, ...);
	int (*close)(void *userdata, int fd);
	int (*shutdown)(void *userdata, int fd, int how);
	int (*getsockopt)(void *userdata, int fd, int level, int name, void *val, socklen_t *len);
	int (*setsockopt)(void *userdata, int fd, int level, int name, const void *val,
	                  socklen_t len);
	int (*poll)(void *userdata, struct pollfd *fds, nfds_t nfds, int timeout_ms);
	/* One whole IPv4 packet from the script's remote end into the stack;
	 * 0, or -1 on error. */
	int (*netdev_send)(void *userdata, const void *buf, size_t count);
	/* The next packet the stack sends: copied to buf (*count is its size on
	 * entry, the packet's length on return; 0 = nothing), *time_usecs the
	 * time it left. 0, or -1 on error. */
	int (*netdev_receive)(void *userdata, void *buf, size_t *count, long long *time_usecs);
	int (*usleep)(void *userdata, useconds_t usec);
	int (*gettimeofday)(void *userdata, struct timeval *tv, void *tz);
	int (*epoll_create)(void *userdata, int size);
	int (*epoll_ctl)(void *userdata, int epfd, int op, int fd, struct epoll_event *event);
	int (*epoll_wait)(void *userdata, int epfd, struct epoll_event *events, int maxevents,
	                  int timeout_ms);
	int (*pipe)(void *userdata, int fds[2]);
	int (*splice)(void *userdata, int fd_in, loff_t *off_in, int fd_out, loff_t *off_out,
	              size_t len, unsigned int flags);
};

/* What the object exports, by this name. */
typedef void (*packetdrill_interface_init_fn)(const char *flags, struct packetdrill_interface *ifc);
void packetdrill_interface_init(const char *flags, struct packetdrill_interface *ifc);
#endif
