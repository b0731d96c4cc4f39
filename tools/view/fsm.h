/* The RFC 9293 state diagram (§3.3.2, Figure 5) as SVG or Graphviz DOT: the
 * eleven states and the standard transitions labelled event / action, plus the
 * reset and timeout transitions the figure leaves out. Given counts from
 * traces, the transitions taken are drawn heavier with their counts, and the
 * ones never taken are listed: a coverage report. */
#ifndef GT_VIEW_FSM_H
#define GT_VIEW_FSM_H

#include <glasstcp/glasstcp.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct gt_fsm_edge {
	gt_tcp_state from;
	gt_tcp_state to;
	const char *label; /* "rcv SYN / snd SYN,ACK" */
	bool standard;     /* in RFC 9293 Figure 5; false: resets, timeouts, aborts */
} gt_fsm_edge;

/* Every transition glasstcp knows, standard ones first. */
extern const gt_fsm_edge gt_fsm_edges[];
extern const size_t gt_fsm_edge_count;

typedef struct gt_fsm_counts {
	uint64_t n[GT_TCP_STATE_COUNT][GT_TCP_STATE_COUNT]; /* [from][to] */
	uint64_t traces;                                    /* logs counted */
} gt_fsm_counts;

/* Adds every GT_EV_STATE event of log to c. */
void gt_fsm_count_log(gt_fsm_counts *c, const gt_trace_log *log);

typedef struct gt_fsm_opts {
	const gt_fsm_counts *counts; /* NULL: the plain diagram */
	bool embedded;               /* SVG without XML declaration, for HTML */
} gt_fsm_opts;

int gt_fsm_svg(FILE *f, const gt_fsm_opts *opts);
int gt_fsm_dot(FILE *f, const gt_fsm_opts *opts);
/* The coverage report in text: each edge with its count, then "never taken:"
 * with the edges of count 0, then transitions taken that are in no edge
 * ("unexpected: ..."). Returns the number of edges never taken. */
size_t gt_fsm_report(FILE *f, const gt_fsm_counts *c);

#endif
