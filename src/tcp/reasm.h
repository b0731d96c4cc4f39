/* Out-of-order reassembly (RFC 9293 §3.10.7.4 seventh: segments beyond RCV.NXT
 * are held "for later processing"). The bytes themselves sit in the receive
 * ring at their offset from RCV.NXT; this keeps only the list of received
 * ranges, bounded, so no memory is allocated per segment. */
#ifndef GT_TCP_REASM_H
#define GT_TCP_REASM_H

#include <stdbool.h>
#include <stdint.h>

typedef struct gt_reasm_range {
	uint32_t start; /* sequence numbers, [start, end) */
	uint32_t end;
} gt_reasm_range;

typedef struct gt_reasm {
	gt_reasm_range *ranges; /* sorted, disjoint, non-adjacent */
	uint32_t count;
	uint32_t max;
	bool has_fin; /* a FIN was seen at fin_seq, beyond RCV.NXT */
	uint32_t fin_seq;
} gt_reasm;

int gt_reasm_init(gt_reasm *r, uint32_t max_ranges);
void gt_reasm_free(gt_reasm *r);
/* Records [start, end); false when it would need more than max ranges. */
bool gt_reasm_add(gt_reasm *r, uint32_t start, uint32_t end);
/* Removes every range that now joins the stream (it begins at or before
 * rcv_nxt, or before the end of one that does) and returns the new RCV.NXT:
 * rcv_nxt itself when none does. */
uint32_t gt_reasm_pull(gt_reasm *r, uint32_t rcv_nxt);
static inline bool gt_reasm_empty(const gt_reasm *r)
{
	return r->count == 0;
}

#endif
