/* The symbolic constants and errno names scripts use (ast.h), with this
 * system's values: the adapter takes the same values from the same headers. */
#include "script/ast.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

typedef struct symbol {
	const char *name;
	int64_t value;
} symbol;

#define SYM(x)                                                                                     \
	{                                                                                          \
#x, (int64_t)(x)                                                                   \
	}

static const symbol symbols[] = {
    SYM(AF_INET),
    SYM(AF_INET6),
    SYM(AF_UNSPEC),
    SYM(PF_INET),
    SYM(PF_INET6),
    SYM(SOCK_STREAM),
    SYM(SOCK_DGRAM),
    SYM(SOCK_RAW),
    SYM(SOCK_NONBLOCK),
    SYM(SOCK_CLOEXEC),
    SYM(IPPROTO_IP),
    SYM(IPPROTO_TCP),
    SYM(IPPROTO_UDP),
    SYM(IPPROTO_IPV6),
    {"SOL_IP", 0},
    SYM(SOL_SOCKET),
    {"SOL_TCP", IPPROTO_TCP},
    SYM(SO_DEBUG),
    SYM(SO_REUSEADDR),
    SYM(SO_REUSEPORT),
    SYM(SO_TYPE),
    SYM(SO_ERROR),
    SYM(SO_DONTROUTE),
    SYM(SO_BROADCAST),
    SYM(SO_SNDBUF),
    SYM(SO_RCVBUF),
    SYM(SO_SNDBUFFORCE),
    SYM(SO_RCVBUFFORCE),
    SYM(SO_KEEPALIVE),
    SYM(SO_OOBINLINE),
    SYM(SO_LINGER),
    SYM(SO_RCVLOWAT),
    SYM(SO_SNDLOWAT),
    SYM(SO_RCVTIMEO),
    SYM(SO_SNDTIMEO),
    SYM(SO_ACCEPTCONN),
    SYM(SO_PROTOCOL),
    SYM(SO_DOMAIN),
    SYM(TCP_NODELAY),
    SYM(TCP_MAXSEG),
    SYM(TCP_CORK),
    SYM(TCP_KEEPIDLE),
    SYM(TCP_KEEPINTVL),
    SYM(TCP_KEEPCNT),
    SYM(TCP_SYNCNT),
    SYM(TCP_LINGER2),
    SYM(TCP_DEFER_ACCEPT),
    SYM(TCP_WINDOW_CLAMP),
    SYM(TCP_INFO),
    SYM(TCP_QUICKACK),
    SYM(TCP_CONGESTION),
    SYM(TCP_USER_TIMEOUT),
    SYM(TCP_NOTSENT_LOWAT),
    SYM(TCP_FASTOPEN),
    /* tcpi_state values (Linux's numbering, include/net/tcp_states.h) */
    {"TCP_ESTABLISHED", 1},
    {"TCP_SYN_SENT", 2},
    {"TCP_SYN_RECV", 3},
    {"TCP_FIN_WAIT1", 4},
    {"TCP_FIN_WAIT2", 5},
    {"TCP_TIME_WAIT", 6},
    {"TCP_CLOSE", 7},
    {"TCP_CLOSE_WAIT", 8},
    {"TCP_LAST_ACK", 9},
    {"TCP_LISTEN", 10},
    {"TCP_CLOSING", 11},
    {"TCP_CA_Open", 0},
    {"TCP_CA_Disorder", 1},
    {"TCP_CA_CWR", 2},
    {"TCP_CA_Recovery", 3},
    {"TCP_CA_Loss", 4},
    SYM(O_RDONLY),
    SYM(O_WRONLY),
    SYM(O_RDWR),
    SYM(O_NONBLOCK),
    SYM(O_NDELAY),
    SYM(O_APPEND),
    SYM(O_CLOEXEC),
    SYM(F_GETFL),
    SYM(F_SETFL),
    SYM(F_GETFD),
    SYM(F_SETFD),
    SYM(FD_CLOEXEC),
    SYM(SHUT_RD),
    SYM(SHUT_WR),
    SYM(SHUT_RDWR),
    SYM(POLLIN),
    SYM(POLLPRI),
    SYM(POLLOUT),
    SYM(POLLERR),
    SYM(POLLHUP),
    SYM(POLLNVAL),
    SYM(POLLRDNORM),
    SYM(POLLRDBAND),
    SYM(POLLWRNORM),
    SYM(POLLWRBAND),
    {"POLLRDHUP", 0x2000 /* Linux */},
    SYM(MSG_OOB),
    SYM(MSG_PEEK),
    SYM(MSG_DONTROUTE),
    SYM(MSG_DONTWAIT),
    SYM(MSG_WAITALL),
    SYM(MSG_NOSIGNAL),
    SYM(MSG_MORE),
    SYM(MSG_TRUNC),
    SYM(MSG_EOR),
    SYM(FIONREAD),
    SYM(FIONBIO),
    {"SIOCINQ", FIONREAD},
    {"SIOCOUTQ", TIOCOUTQ},
    {"NULL", 0},
};

static const symbol errnos[] = {
    SYM(EPERM),           SYM(ENOENT),          SYM(EINTR),         SYM(EIO),
    SYM(EBADF),           SYM(EAGAIN),          SYM(ENOMEM),        SYM(EACCES),
    SYM(EFAULT),          SYM(EBUSY),           SYM(EEXIST),        SYM(ENODEV),
    SYM(EINVAL),          SYM(ENFILE),          SYM(EMFILE),        SYM(ENOSPC),
    SYM(EPIPE),           SYM(ERANGE),          SYM(ENOSYS),        SYM(ENOTSOCK),
    SYM(EDESTADDRREQ),    SYM(EMSGSIZE),        SYM(EPROTOTYPE),    SYM(ENOPROTOOPT),
    SYM(EPROTONOSUPPORT), SYM(ESOCKTNOSUPPORT), SYM(EOPNOTSUPP),    SYM(EPFNOSUPPORT),
    SYM(EAFNOSUPPORT),    SYM(EADDRINUSE),      SYM(EADDRNOTAVAIL), SYM(ENETDOWN),
    SYM(ENETUNREACH),     SYM(ENETRESET),       SYM(ECONNABORTED),  SYM(ECONNRESET),
    SYM(ENOBUFS),         SYM(EISCONN),         SYM(ENOTCONN),      SYM(ESHUTDOWN),
    SYM(ETIMEDOUT),       SYM(ECONNREFUSED),    SYM(EHOSTDOWN),     SYM(EHOSTUNREACH),
    SYM(EALREADY),        SYM(EINPROGRESS),     SYM(ENOTSUP),       SYM(EPROTO),
    SYM(ENODATA),         SYM(EOVERFLOW),       SYM(ENOTTY),
};

bool gt_spd_symbol(const char *name, int64_t *value)
{
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		if (!strcmp(symbols[i].name, name)) {
			*value = symbols[i].value;
			return true;
		}
	}
	/* errno names are constants too: getsockopt(..., SO_ERROR, [ECONNREFUSED], ...) */
	int e = gt_spd_errno_value(name);
	if (e)
		*value = e;
	return e != 0;
}

int gt_spd_errno_value(const char *name)
{
	/* EWOULDBLOCK is EAGAIN on Linux; both names are accepted */
	if (!strcmp(name, "EWOULDBLOCK"))
		return EWOULDBLOCK;
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (!strcmp(errnos[i].name, name))
			return (int)errnos[i].value;
	return 0;
}

const char *gt_spd_errno_name(int value)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].value == value)
			return errnos[i].name;
	return NULL;
}
