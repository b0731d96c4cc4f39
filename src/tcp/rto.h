/* The retransmission timeout of RFC 6298: SRTT/RTTVAR, Karn's rule, backoff. */
#ifndef GT_TCP_RTO_H
#define GT_TCP_RTO_H

#include <stdbool.h>

#include "glasstcp/types.h"

typedef struct gt_rto {
	gt_time_us srtt;
	gt_time_us rttvar;
	gt_time_us rto;     /* current timeout, before backoff */
	unsigned backoff;   /* doublings applied since the last valid sample */
	bool has_sample;
	gt_time_us min, max;
} gt_rto;

void gt_rto_init(gt_rto *r, gt_time_us initial, gt_time_us min, gt_time_us max);
/* A round-trip measurement of a segment that was not retransmitted (Karn). */
void gt_rto_sample(gt_rto *r, gt_time_us rtt);
/* The timeout to arm now, with the backoff applied and clamped to max. */
gt_time_us gt_rto_current(const gt_rto *r);
/* RFC 6298 §5.5: the timer expired; double the timeout. */
void gt_rto_backoff(gt_rto *r);

#endif
