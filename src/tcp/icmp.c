/* What TCP does with ICMP error messages about its segments: RFC 1122
 * §4.2.3.9 (which are hard errors, which soft), RFC 5461 (soft in the
 * synchronized states), RFC 1191 (path MTU discovery), RFC 5927 (the checks
 * against blind ICMP attacks), RFC 6633 (source quench ignored). */
#include "tcp/seq.h"
#include "tcp/tcb.h"

#include <errno.h>

/* The errno an unreachable code stands for, as BSD and Linux report it. */
static int unreach_errno(uint8_t code)
{
	switch (code) {
	case 0:  /* net unreachable */
	case 6:  /* destination network unknown */
	case 9:  /* network administratively prohibited */
	case 11: /* network unreachable for type of service */
		return -ENETUNREACH;
	case 2: /* protocol unreachable */
		return -ENOPROTOOPT;
	case 3: /* port unreachable */
		return -ECONNREFUSED;
	case 5: /* source route failed */
		return -EOPNOTSUPP;
	case 7: /* destination host unknown */
		return -EHOSTDOWN;
	default: /* host unreachable, prohibited, ... */
		return -EHOSTUNREACH;
	}
}

/* RFC 1191 §6.1-§6.5: a "fragmentation needed and DF set" lowers the path
 * MTU, hence the MSS, and what was sent too large is sent again at once. */
static gt_drop_reason lower_path_mtu(gt_tcb *tcb, const gt_icmp_error *e, gt_time_us now)
{
	uint32_t mtu = e->next_hop_mtu;
	if (mtu == 0) {
		/* RFC 1191 §5 and §7: a router of RFC 792's time gives no MTU;
		 * take the plateau below the datagram's length */
		static const uint16_t plateaus[] = {32000, 17914, 8166, 4352,
		                                    2002,  1492,  1006, 508};
		for (size_t i = 0; i < sizeof(plateaus) / sizeof(plateaus[0]); i++)
			if (plateaus[i] < e->quoted_total_len) {
				mtu = plateaus[i];
				break;
			}
	}
	if (mtu < GT_PMTU_MIN)
		mtu = GT_PMTU_MIN;
	uint32_t opts = tcb->ts_ok ? 12 : 0; /* RFC 7323: timestamps ride on every segment */
	uint32_t mss = mtu - GT_IPV4_HDR_LEN - GT_TCP_HDR_LEN - opts;
	/* RFC 1191 §6.1: an MTU not below the one in use changes nothing */
	if (mss >= tcb->snd_mss)
		return GT_DROP_ICMP_IGNORED;
	tcb->snd_mss = (uint16_t)mss;
	/* RFC 1191 §6.5: the datagram was dropped, not lost to congestion:
	 * send again from SND.UNA now, without the timeout's backoff */
	if (gt_state_synchronized(tcb->state) && seq_lt(tcb->snd_una, tcb->snd_max)) {
		tcb->rtt_timing = false; /* Karn */
		tcb->snd_nxt = tcb->snd_una;
		gt_tcb_output(tcb, now);
	}
	return GT_DROP_NONE;
}

gt_drop_reason gt_tcb_icmp_error(gt_tcb *tcb, const gt_icmp_error *e, gt_time_us now)
{
	if (tcb->state == GT_TCP_LISTEN || tcb->state == GT_TCP_CLOSED ||
	    tcb->state == GT_TCP_TIME_WAIT)
		return GT_DROP_ICMP_NO_CONNECTION;
	/* RFC 5927 §4.1: the quoted segment must be one in flight,
	 * SND.UNA <= SEG.SEQ < SND.NXT (in SYN_SENT only the SYN is) */
	if (!(seq_le(tcb->snd_una, e->seq) && seq_lt(e->seq, tcb->snd_max)))
		return GT_DROP_ICMP_OUT_OF_WINDOW;
	switch (e->type) {
	case GT_ICMP_DEST_UNREACH:
		if (e->code == 4)
			return lower_path_mtu(tcb, e, now);
		/* RFC 1122 §4.2.3.9: protocol and port unreachable are hard
		 * errors. RFC 5461 §4: only a connection still opening is
		 * aborted for them; in the synchronized states they are soft,
		 * as other stacks do, so a forged one cannot cut a connection. */
		if ((e->code == 2 || e->code == 3) && tcb->state == GT_TCP_SYN_SENT) {
			gt_tcb_close(tcb, unreach_errno(e->code), "rcv ICMP unreachable", now);
			return GT_DROP_NONE;
		}
		tcb->soft_error = unreach_errno(e->code);
		return GT_DROP_NONE;
	case GT_ICMP_TIME_EXCEEDED:
		tcb->soft_error = -EHOSTUNREACH; /* RFC 1122: soft */
		return GT_DROP_NONE;
	case GT_ICMP_PARAM_PROBLEM:
		tcb->soft_error = -EPROTO; /* RFC 1122: soft */
		return GT_DROP_NONE;
	default: /* RFC 6633 §2: source quench is ignored */
		return GT_DROP_ICMP_IGNORED;
	}
}
