/* The retransmission timeout of RFC 6298: SRTT/RTTVAR, Karn's rule, backoff. */
#ifndef GT_TCP_RTO_H
#define GT_TCP_RTO_H

#include "glasstcp/types.h"

#include <stdbool.h>

typedef struct gt_rto {
	gt_time_us srtt;
	gt_time_us rttvar;
	gt_time_us rto;   /* current timeout, before backoff */
	unsigned backoff; /* doublings applied since the last valid sample */
	bool has_sample;
	gt_time_us min, max;
} gt_rto;

void gt_rto_init(gt_rto *r, gt_time_us initial, gt_time_us min, gt_time_us max);
/* A round-trip measurement of a segment that was not retransmitted (Karn). */
void gt_rto_sample(gt_rto *r, gt_time_us rtt);
/* RFC 7323 Appendix G: one of n samples expected per RTT (timestamps give
 * one per ACK): alpha and beta are divided by n so the history keeps the
 * length it has with one sample per RTT. n = 1 is gt_rto_sample. */
void gt_rto_sample_n(gt_rto *r, gt_time_us rtt, uint32_t n);
/* The timeout to arm now, with the backoff applied and clamped to max. */
gt_time_us gt_rto_current(const gt_rto *r);
/* RFC 6298 §5.5: the timer expired; double the timeout. */
void gt_rto_backoff(gt_rto *r);

#endif
