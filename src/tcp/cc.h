/* Congestion control: the seam where algorithms plug in. NewReno (RFC 5681,
 * RFC 6582) is the one there is today. All sizes in bytes. */
#ifndef GT_TCP_CC_H
#define GT_TCP_CC_H

#include <stdbool.h>
#include <stdint.h>

struct gt_tcb;

void gt_cc_init(struct gt_tcb *tcb);
/* New data acknowledged (SND.UNA advanced by acked bytes). Returns true when a
 * partial ACK in recovery asks for the next hole to be retransmitted. */
bool gt_cc_on_ack(struct gt_tcb *tcb, uint32_t acked);
/* A duplicate ACK (RFC 5681 §2). Returns true to fast-retransmit now. */
bool gt_cc_on_dupack(struct gt_tcb *tcb);
/* RFC 6675 §5: with SACK, a duplicate ACK that makes DupAcks reach DupThresh
 * or shows SND.UNA lost (IsLost). Returns true to enter loss recovery now
 * (ssthresh and cwnd set, RecoveryPoint = HighData). */
bool gt_cc_on_sack_dupack(struct gt_tcb *tcb, bool una_lost);
/* RFC 4015 §3.2: the fast retransmit was spurious (Eifel detection): undo
 * the reduction; acked is what the ACK that showed it acknowledged. */
void gt_cc_on_spurious(struct gt_tcb *tcb, uint32_t acked);
/* The retransmission timer expired (RFC 5681 §3.1, eq. 4). */
void gt_cc_on_rto(struct gt_tcb *tcb);

#endif
