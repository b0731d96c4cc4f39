/* NewReno: slow start, congestion avoidance (RFC 5681 §3.1), fast retransmit
 * and fast recovery (RFC 5681 §3.2) with partial ACKs (RFC 6582 §3.2). */
#include "tcp/cc.h"
#include "tcp/seq.h"
#include "tcp/tcb.h"

static uint32_t flight_size(const gt_tcb *tcb)
{
	return tcb->snd_max - tcb->snd_una;
}

/* The initial window: RFC 5681 §3.1 eq. 3 (2 to 4 segments by MSS), or the
 * configured number of segments (RFC 6928: 10; as Linux, 10 of any MSS). */
static uint32_t initial_window(const gt_tcb *tcb)
{
	uint32_t mss = tcb->snd_mss;
	uint32_t segs = tcb->env->cfg->initial_window;
	if (segs)
		return segs * mss;
	return mss > 2190 ? 2 * mss : mss > 1095 ? 3 * mss : 4 * mss;
}

void gt_cc_init(gt_tcb *tcb)
{
	tcb->cwnd = initial_window(tcb);
	tcb->ssthresh = UINT32_MAX;
	tcb->dupacks = 0;
	tcb->bytes_acked = 0;
	tcb->in_recovery = false;
}

bool gt_cc_on_ack(gt_tcb *tcb, uint32_t acked)
{
	uint32_t mss = tcb->snd_mss;
	tcb->dupacks = 0;
	if (tcb->in_recovery && tcb->sack_ok) {
		/* RFC 6675 §5 (A): recovery ends when the cumulative ACK covers
		 * RecoveryPoint. cwnd was set to ssthresh on entry and is not
		 * inflated, so nothing needs to deflate; partial ACKs need no
		 * action here, output.c sends by the pipe estimate. */
		if (seq_ge(tcb->snd_una, tcb->recover))
			tcb->in_recovery = false;
		return false;
	}
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
	if (tcb->cwnd < tcb->ssthresh) {
		/* RFC 5681 eq. 2 with RFC 3465 §2.3 byte counting, L = 2*SMSS: a
		 * delayed ACK of two segments opens the window by two */
		tcb->cwnd += acked < 2 * mss ? acked : 2 * mss;
		tcb->bytes_acked = 0;
	} else {
		/* RFC 5681 §3.1 congestion avoidance by RFC 3465 §2.1 byte
		 * counting: one SMSS per window of bytes ACKed, so delayed ACKs do
		 * not halve the growth as the per-ACK formula (eq. 3) would */
		tcb->bytes_acked += acked;
		if (tcb->bytes_acked >= tcb->cwnd) {
			tcb->bytes_acked -= tcb->cwnd;
			tcb->cwnd += mss;
		}
	}
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

bool gt_cc_on_sack_dupack(gt_tcb *tcb, bool una_lost)
{
	uint32_t mss = tcb->snd_mss;
	if (tcb->in_recovery)
		return false; /* RFC 6675 §5 (B)/(C): the pipe drives sending */
	tcb->dupacks++;
	if (tcb->dupacks < 3 && !una_lost)
		return false;
	/* RFC 6675 §5.1 / RFC 6582: no new recovery before HighACK passes the
	 * RecoveryPoint of the last one (or of the last timeout) */
	if (!seq_gt(tcb->snd_una, tcb->recover))
		return false;
	/* RFC 6675 §5 (4.1) and (4.2) with RFC 5681 eq. 4 */
	uint32_t half = flight_size(tcb) / 2;
	tcb->ssthresh = half > 2 * mss ? half : 2 * mss;
	tcb->cwnd = tcb->ssthresh;
	tcb->recover = tcb->snd_max;
	tcb->in_recovery = true;
	return true;
}

void gt_cc_on_spurious(gt_tcb *tcb, uint32_t acked)
{
	/* RFC 4015 §3.2 (the Eifel response, for a spurious fast retransmit):
	 * ssthresh goes back to pipe_prev, and cwnd to FlightSize plus at most
	 * an initial window, so the restored window is reached by slow start
	 * rather than in one burst */
	uint32_t iw = initial_window(tcb);
	uint32_t cwnd = flight_size(tcb) + (acked < iw ? acked : iw);
	if (cwnd > tcb->cwnd)
		tcb->cwnd = cwnd;
	if (tcb->pipe_prev > tcb->ssthresh)
		tcb->ssthresh = tcb->pipe_prev;
	tcb->in_recovery = false;
	tcb->dupacks = 0;
	/* the reduction is undone: a later loss may start a recovery at once */
	tcb->recover = tcb->snd_una - 1;
}

void gt_cc_on_rto(gt_tcb *tcb)
{
	uint32_t mss = tcb->snd_mss;
	uint32_t half = flight_size(tcb) / 2;
	tcb->ssthresh = half > 2 * mss ? half : 2 * mss; /* RFC 5681 eq. 4 */
	tcb->cwnd = mss;                                 /* the loss window */
	tcb->dupacks = 0;
	tcb->bytes_acked = 0;
	tcb->in_recovery = false;
	tcb->recover = tcb->snd_max; /* RFC 6582 §3.2 step 1 after a timeout */
}
