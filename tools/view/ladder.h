/* The ladder (sequence) diagram of one connection as SVG: two lifelines, time
 * flowing down, segments as slanted arrows labelled with flags, seq/ack, len
 * and win, each side's state names where they change, lost segments cut short
 * with a cross, retransmissions marked, RTO and TIME_WAIT as brackets, long
 * quiet gaps compressed and marked. */
#ifndef GT_VIEW_LADDER_H
#define GT_VIEW_LADDER_H

#include "view/flow.h"

#include <stdio.h>

typedef struct gt_ladder_opts {
	bool absolute_seq; /* default: seq/ack relative to each side's ISN */
	bool embedded;     /* no XML declaration: for inlining into HTML */
	const char *title; /* optional caption at the top */
} gt_ladder_opts;

/* One drawn text label's box, for overlap checks (tests). */
typedef struct gt_ladder_box {
	double x, y, w, h;
} gt_ladder_box;

typedef struct gt_ladder_stats {
	size_t labels;   /* text labels drawn */
	size_t overlaps; /* pairs of label boxes that intersect (should be 0) */
	double width, height;
} gt_ladder_stats;

/* Writes the diagram of flow to f. stats may be NULL. Returns 0 or -EIO. */
int gt_ladder_svg(FILE *f, const gt_flow *flow, const gt_ladder_opts *opts, gt_ladder_stats *stats);

#endif
