/* Profiles: named sets of the configuration's observable defaults, so the
 * stack can look like Linux or FreeBSD on the wire (what scripts written for
 * those kernels expect) or keep the RFCs' plain values. One function, so the
 * profile work (option order, initial window, segmentation offload) grows
 * here. */
#include "glasstcp/stack.h"

#include <errno.h>
#include <string.h>

/* Linux 6.x (include/net/tcp.h): TCP_DELACK_MIN is HZ/25 = 40 ms, TCP_RTO_MIN
 * HZ/5 = 200 ms, TCP_TIMEOUT_INIT 1 s (RFC 6298 §2.1). */
static void profile_linux(gt_stack_config *cfg)
{
	cfg->delack_us = 40000;
	cfg->rto_min_us = 200000;
	cfg->rto_initial_us = 1000000;
}

/* FreeBSD 14: net.inet.tcp.delacktime 100 ms, net.inet.tcp.recvspace 65536,
 * net.inet.tcp.sendspace 32768. */
static void profile_freebsd(gt_stack_config *cfg)
{
	cfg->delack_us = 100000;
	cfg->rcvbuf = 65536;
	cfg->sndbuf = 32768;
}

int gt_stack_config_profile(gt_stack_config *cfg, const char *name)
{
	if (!cfg || !name)
		return -EINVAL;
	if (strcmp(name, "linux") == 0)
		profile_linux(cfg);
	else if (strcmp(name, "freebsd") == 0)
		profile_freebsd(cfg);
	else if (strcmp(name, "rfc") != 0)
		return -EINVAL;
	/* "rfc": the defaults of gt_stack_config_default, left as they are */
	return 0;
}
