/* The Linux TUN device (glasstcp/tun.h): open or create it, and configure
 * the kernel's side with ioctls on an AF_INET datagram socket (no `ip`). */
#include "backend/tun/tun_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

void gt_tun_errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n >= IFNAMSIZ)
		return false;
	for (size_t i = 0; i < n; i++) {
		/* what the kernel's dev_valid_name refuses, and '%' (a template) */
		if (name[i] == '/' || name[i] == ':' || name[i] == '%' || name[i] <= ' ')
			return false;
	}
	return strcmp(name, ".") && strcmp(name, "..");
}

int gt_tun_open_device(const char *name, char *ifname, char *err, size_t errlen)
{
	if (!name_ok(name)) {
		gt_tun_errf(err, errlen,
		            "bad interface name '%s' (1..15 characters, no '/', ':', '%%' or "
		            "spaces)",
		            name ? name : "");
		return -EINVAL;
	}
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		gt_tun_errf(err, errlen, "cannot open /dev/net/tun: %s%s", strerror(e),
		            e == EACCES || e == EPERM ? " (needs root or CAP_NET_ADMIN)" : "");
		return -e;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		close(fd);
		gt_tun_errf(err, errlen, "cannot attach to TUN device %s: %s%s", name, strerror(e),
		            e == EPERM   ? " (needs root or CAP_NET_ADMIN, or a device owned by "
		                           "this user)"
		            : e == EBUSY ? " (another process holds it, or it is not a TUN "
		                           "device)"
		                         : "");
		return -e;
	}
	if (ifname) {
		memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
		ifname[IFNAMSIZ - 1] = '\0';
	}
	return fd;
}

static void set_sin(struct sockaddr *sa, uint32_t addr)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(addr);
	memcpy(sa, &sin, sizeof sin);
}

/* Best effort: a TUN device has no link-layer address, but the kernel may
 * still send IPv6 router and multicast listener solicitations on it; glasstcp
 * would only count them as drops. */
static void disable_ipv6(const char *ifname)
{
	char path[96];
	snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1\n", 2) < 0) {
		/* nothing to do: IPv6 chatter is harmless */
	}
	close(fd);
}

int gt_tun_device_flags(const char *ifname, int *flags)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, ifname, strnlen(ifname, IFNAMSIZ - 1));
	int rc = ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ? -errno : 0;
	if (rc == 0)
		*flags = ifr.ifr_flags;
	close(s);
	return rc;
}

int gt_tun_configure_device(const char *ifname, uint32_t peer, unsigned prefix_len, unsigned mtu,
                            char *err, size_t errlen)
{
	if (!name_ok(ifname) || prefix_len < 1 || prefix_len > 32 || mtu < 68 || mtu > 65535) {
		gt_tun_errf(err, errlen, "bad device parameters (name, /%u, mtu %u)", prefix_len,
		            mtu);
		return -EINVAL;
	}
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		int e = errno;
		gt_tun_errf(err, errlen, "socket(AF_INET): %s", strerror(e));
		return -e;
	}
	struct ifreq ifr;
	const char *step = NULL;
	uint32_t mask = prefix_len == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix_len);

	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	set_sin(&ifr.ifr_addr, peer);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0) {
		step = "set its address";
		goto fail;
	}
	set_sin(&ifr.ifr_netmask, mask);
	if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0) {
		step = "set its netmask";
		goto fail;
	}
	memset(&ifr.ifr_ifru, 0, sizeof ifr.ifr_ifru);
	ifr.ifr_mtu = (int)mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
		step = "set its MTU";
		goto fail;
	}
	/* A deeper queue towards glasstcp than TUN's default of 500 packets:
	 * bursts of the kernel's TCP wait there instead of being dropped. Best
	 * effort. */
	memset(&ifr.ifr_ifru, 0, sizeof ifr.ifr_ifru);
	ifr.ifr_qlen = 1000;
	(void)ioctl(s, SIOCSIFTXQLEN, &ifr);

	disable_ipv6(ifname);

	memset(&ifr.ifr_ifru, 0, sizeof ifr.ifr_ifru);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		step = "read its flags";
		goto fail;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		step = "bring it up";
		goto fail;
	}
	close(s);
	return 0;

fail:;
	int e = errno;
	close(s);
	char a[16];
	gt_tun_errf(err, errlen, "cannot configure %s (%s/%u, mtu %u): %s: %s%s", ifname,
	            gt_ipv4_str(peer, a), prefix_len, mtu, step, strerror(e),
	            e == EPERM ? " (needs root or CAP_NET_ADMIN)" : "");
	return -e;
}
