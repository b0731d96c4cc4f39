#include "tcp/reasm.h"

#include "tcp/seq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int gt_reasm_init(gt_reasm *r, uint32_t max_ranges)
{
	memset(r, 0, sizeof(*r));
	r->ranges = calloc(max_ranges ? max_ranges : 1, sizeof(*r->ranges));
	if (!r->ranges)
		return -ENOMEM;
	r->max = max_ranges ? max_ranges : 1;
	return 0;
}

void gt_reasm_free(gt_reasm *r)
{
	free(r->ranges);
	memset(r, 0, sizeof(*r));
}

bool gt_reasm_add(gt_reasm *r, uint32_t start, uint32_t end)
{
	uint32_t i = 0;
	while (i < r->count && seq_lt(r->ranges[i].end, start))
		i++;
	/* ranges[i] is the first that ends at or after start: merge every range
	 * that touches [start, end) into one. */
	uint32_t j = i;
	while (j < r->count && seq_le(r->ranges[j].start, end)) {
		start = seq_min(start, r->ranges[j].start);
		end = seq_max(end, r->ranges[j].end);
		j++;
	}
	if (j == i) {
		if (r->count == r->max)
			return false;
		memmove(&r->ranges[i + 1], &r->ranges[i], (r->count - i) * sizeof(*r->ranges));
		r->count++;
	} else if (j > i + 1) {
		memmove(&r->ranges[i + 1], &r->ranges[j], (r->count - j) * sizeof(*r->ranges));
		r->count -= j - i - 1;
	}
	r->ranges[i].start = start;
	r->ranges[i].end = end;
	return true;
}

uint32_t gt_reasm_pull(gt_reasm *r, uint32_t rcv_nxt)
{
	/* Each range that begins at or before RCV.NXT joins the stream, and its
	 * end may reach the next one: a segment that covers a held range wholly
	 * and reaches into the next pulls both. */
	uint32_t n = 0;
	while (n < r->count && seq_le(r->ranges[n].start, rcv_nxt)) {
		rcv_nxt = seq_max(r->ranges[n].end, rcv_nxt);
		n++;
	}
	if (n > 0) {
		memmove(&r->ranges[0], &r->ranges[n], (r->count - n) * sizeof(*r->ranges));
		r->count -= n;
	}
	return rcv_nxt;
}
