/* Profiles: named sets of the configuration's observable defaults, so the
 * stack looks like Linux or FreeBSD on the wire (what scripts written for
 * those kernels expect) or keeps the RFCs' own values. Each value and its
 * source: docs/profiles.md. */
#include "glasstcp/stack.h"

#include <errno.h>
#include <string.h>

const char *const gt_stack_profiles[] = {"linux", "freebsd", "rfc", NULL};

static void profile_linux(gt_stack_config *cfg)
{
	cfg->opt_layout = GT_OPT_LAYOUT_LINUX;
	cfg->rcvbuf_max = 15u << 20; /* window scale 8, as Linux 6.x's SYN shows */
	cfg->initial_window = 10;    /* RFC 6928; TCP_INIT_CWND */
	cfg->rto_initial_us = 1000000;
	cfg->rto_min_us = 200000; /* TCP_RTO_MIN */
	cfg->delack_us = 40000;   /* TCP_DELACK_MIN */
	cfg->quickack_segs = 16;  /* TCP_MAX_QUICKACKS */
	cfg->quickack_fin = true;
	cfg->rst_ack = true;           /* tcp_send_active_reset: RST,ACK */
	cfg->msl_us = 30 * 1000000ull; /* TCP_TIMEWAIT_LEN = 60 s = 2 MSL */
}

static void profile_freebsd(gt_stack_config *cfg)
{
	cfg->opt_layout = GT_OPT_LAYOUT_FREEBSD;
	cfg->rcvbuf = 65536;           /* net.inet.tcp.recvspace */
	cfg->sndbuf = 32768;           /* net.inet.tcp.sendspace */
	cfg->rcvbuf_max = 2u << 20;    /* kern.ipc.maxsockbuf: window scale 6 */
	cfg->initial_window = 10;      /* net.inet.tcp.initcwnd_segments */
	cfg->rto_initial_us = 1000000; /* net.inet.tcp.rexmit_initial */
	cfg->delack_us = 100000;       /* net.inet.tcp.delacktime */
	cfg->quickack_segs = 0;
	cfg->quickack_fin = true;      /* tcp_input.c: a FIN is ACKed at once */
	cfg->rst_ack = true;           /* tcp_drop -> tcp_respond(RST|ACK) */
	cfg->msl_us = 30 * 1000000ull; /* net.inet.tcp.msl */
}

/* The RFCs' own values where they give one. */
static void profile_rfc(gt_stack_config *cfg)
{
	cfg->opt_layout = GT_OPT_LAYOUT_LINUX; /* RFC 7323 Appendix A's layout */
	cfg->rcvbuf = 65536;
	cfg->sndbuf = 65536;
	cfg->rcvbuf_max = 0;           /* = rcvbuf: no scaling beyond the buffer */
	cfg->initial_window = 0;       /* RFC 5681 §3.1: 2 to 4 segments */
	cfg->rto_initial_us = 1000000; /* RFC 6298 §2.1 */
	cfg->rto_min_us = 1000000;     /* RFC 6298 §2.4: "rounded up to 1 second" */
	cfg->delack_us = 200000;       /* RFC 1122 §4.2.3.2: under 0.5 s; BSD's 200 ms */
	cfg->quickack_segs = 0;
	cfg->quickack_fin = false;
	cfg->rst_ack = false;           /* RFC 9293 §3.10.5: <SEQ=SND.NXT><CTL=RST> */
	cfg->msl_us = 120 * 1000000ull; /* RFC 9293 §3.4.2: MSL 2 minutes */
}

int gt_stack_config_profile(gt_stack_config *cfg, const char *name)
{
	if (!cfg || !name)
		return -EINVAL;
	if (strcmp(name, "linux") == 0) {
		profile_linux(cfg);
	} else if (strcmp(name, "freebsd") == 0) {
		profile_freebsd(cfg);
	} else if (strcmp(name, "rfc") == 0) {
		profile_rfc(cfg);
	} else {
		return -EINVAL;
	}
	return 0;
}
