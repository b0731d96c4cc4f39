/* NewReno: slow start, congestion avoidance (RFC 5681 §3.1), fast retransmit
 * and fast recovery (RFC 5681 §3.2) with partial ACKs (RFC 6582 §3.2). */
#include "tcp/cc.h"

#include "tcp/seq.h"
#include "tcp/tcb.h"

static uint32_t flight_size(const gt_tcb *tcb)
{
	return tcb->snd_max - tcb->snd_una;
}

void gt_cc_init(gt_tcb *tcb)
{
	/* RFC 5681 §3.1, eq. 3: the initial window */
	uint32_t mss = tcb->snd_mss;
	tcb->cwnd = mss > 2190 ? 2 * mss : mss > 1095 ? 3 * mss : 4 * mss;
	tcb->ssthresh = UINT32_MAX;
	tcb->dupacks = 0;
	tcb->in_recovery = false;
}

bool gt_cc_on_ack(gt_tcb *tcb, uint32_t acked)
{
	uint32_t mss = tcb->snd_mss;
	tcb->dupacks = 0;
	if (tcb->in_recovery) {
		if (seq_ge(tcb->snd_una, tcb->recover)) {
			/* RFC 6582 §3.2 step 3: full ACK, deflate and leave */
			uint32_t fs = flight_size(tcb);
			tcb->cwnd = fs + mss < tcb->ssthresh ? fs + mss : tcb->ssthresh;
			tcb->in_recovery = false;
			return false;
		}
		/* partial ACK: deflate by what it acked, add back one MSS, and
		 * retransmit the next unacknowledged segment */
		tcb->cwnd = tcb->cwnd > acked ? tcb->cwnd - acked : mss;
		if (acked >= mss)
			tcb->cwnd += mss;
		return true;
	}
	if (tcb->cwnd < tcb->ssthresh)
		tcb->cwnd += acked < mss ? acked : mss; /* RFC 5681 eq. 2 (ABC, L=1) */
	else
		tcb->cwnd += mss * mss / tcb->cwnd ? mss * mss / tcb->cwnd : 1; /* eq. 3 */
	return false;
}

bool gt_cc_on_dupack(gt_tcb *tcb)
{
	uint32_t mss = tcb->snd_mss;
	if (tcb->in_recovery) {
		tcb->cwnd += mss; /* RFC 5681 §3.2 step 4: inflate */
		return false;
	}
	if (++tcb->dupacks != 3)
		return false;
	/* RFC 6582 §3.2 step 2: only when this loss is past the last recovery */
	if (!seq_gt(tcb->snd_una, tcb->recover))
		return false;
	uint32_t half = flight_size(tcb) / 2;
	tcb->ssthresh = half > 2 * mss ? half : 2 * mss; /* RFC 5681 eq. 4 */
	tcb->cwnd = tcb->ssthresh + 3 * mss;
	tcb->recover = tcb->snd_max;
	tcb->in_recovery = true;
	return true;
}

void gt_cc_on_rto(gt_tcb *tcb)
{
	uint32_t mss = tcb->snd_mss;
	uint32_t half = flight_size(tcb) / 2;
	tcb->ssthresh = half > 2 * mss ? half : 2 * mss; /* RFC 5681 eq. 4 */
	tcb->cwnd = mss;                                 /* the loss window */
	tcb->dupacks = 0;
	tcb->in_recovery = false;
	tcb->recover = tcb->snd_max; /* RFC 6582 §3.2 step 1 after a timeout */
}
