#include "tcp/rto.h"

/* RFC 6298 §2: alpha = 1/8, beta = 1/4, K = 4; G (clock granularity) is 1 µs
 * here, so the max(G, K*RTTVAR) term is K*RTTVAR. */
void gt_rto_init(gt_rto *r, gt_time_us initial, gt_time_us min, gt_time_us max)
{
	r->srtt = 0;
	r->rttvar = 0;
	r->rto = initial;
	r->backoff = 0;
	r->has_sample = false;
	r->min = min;
	r->max = max;
}

static gt_time_us clamp(const gt_rto *r, gt_time_us v)
{
	if (v < r->min)
		v = r->min; /* RFC 6298 §2.4 */
	if (v > r->max)
		v = r->max; /* RFC 6298 §2.5 */
	return v;
}

void gt_rto_sample(gt_rto *r, gt_time_us rtt)
{
	gt_rto_sample_n(r, rtt, 1);
}

void gt_rto_sample_n(gt_rto *r, gt_time_us rtt, uint32_t n)
{
	if (n == 0)
		n = 1;
	if (!r->has_sample) {
		/* RFC 6298 §2.2: the first measurement */
		r->srtt = rtt;
		r->rttvar = rtt / 2;
		r->has_sample = true;
	} else {
		/* RFC 6298 §2.3: RTTVAR first, with the old SRTT */
		/* RFC 7323 Appendix G: alpha' = alpha / n, beta' = beta / n */
		gt_time_us err = r->srtt > rtt ? r->srtt - rtt : rtt - r->srtt;
		r->rttvar = ((4 * (gt_time_us)n - 1) * r->rttvar + err) / (4 * (gt_time_us)n);
		r->srtt = ((8 * (gt_time_us)n - 1) * r->srtt + rtt) / (8 * (gt_time_us)n);
	}
	r->rto = clamp(r, r->srtt + 4 * r->rttvar);
	/* A valid sample ends the backoff (RFC 6298 §5.7 and Karn's algorithm:
	 * the backed-off value stays until an ACK for a segment that was not
	 * retransmitted gives a new RTT). */
	r->backoff = 0;
}

gt_time_us gt_rto_current(const gt_rto *r)
{
	gt_time_us v = r->rto;
	for (unsigned i = 0; i < r->backoff && v < r->max; i++)
		v *= 2;
	return clamp(r, v);
}

void gt_rto_backoff(gt_rto *r)
{
	if (r->backoff < 32)
		r->backoff++;
}
