/* A single self-contained HTML report of a trace or a capture: per connection
 * the ladder diagram, the plots over time (time-sequence graph like tcptrace,
 * bytes in flight, the advertised receive window), explain's anomalies when
 * given, and the state diagram with the transitions taken. Inline SVG and CSS
 * only: no script, no external resource, so it opens from a local file with no
 * network access. */
#ifndef GT_VIEW_REPORT_H
#define GT_VIEW_REPORT_H

#include <glasstcp/glasstcp.h>
#include <stdio.h>

typedef struct gt_report_note {
	size_t conn; /* gt_flow index */
	gt_time_us t_us;
	const char *kind; /* "retransmission", "rst", ... */
	const char *text; /* the plain explanation */
} gt_report_note;

typedef struct gt_report_opts {
	const char *title; /* "glasstcp demo close", "capture foo.pcap" */
	bool absolute_seq;
	const gt_report_note *notes; /* may be NULL */
	size_t n_notes;
	/* At most this many connections get their detailed section (ladder,
	 * plots, notes); 0 = GT_REPORT_MAX_DETAILED. The summary table lists
	 * every connection and the state diagram counts them all. */
	size_t max_detailed;
} gt_report_opts;

#define GT_REPORT_MAX_DETAILED 50

/* Writes the report of every connection in log. Returns 0, -EIO or -ENOMEM. */
int gt_report_html(FILE *f, const gt_trace_log *log, const gt_report_opts *opts);

#endif
