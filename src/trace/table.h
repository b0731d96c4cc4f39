/* The seed's table as data: gt_trace_table_print renders it, tests assert on
 * it without parsing text. */
#ifndef GT_TRACE_TABLE_H
#define GT_TRACE_TABLE_H

#include "glasstcp/trace.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum gt_table_dir {
	GT_TABLE_DIR_NONE = 0, /* a row of state changes only */
	GT_TABLE_DIR_RIGHT,    /* the left host sent the segment */
	GT_TABLE_DIR_LEFT      /* the right host sent the segment */
} gt_table_dir;

typedef struct gt_table_row {
	gt_time_us t_us;
	size_t conn; /* index into gt_table.conns */
	gt_table_dir dir;
	bool lost;   /* the segment never reached the other host */
	char *left;  /* the left host's cell: "A -> B", a state name, or "" */
	char *right; /* the right host's cell */
	/* "SA seq=0 ack=1 win=65535": flag letters, then the fields; "" when
	 * dir is GT_TABLE_DIR_NONE. Relative to the ISNs unless absolute_seq. */
	char *seg;
	size_t flags_len; /* length of the flag letters at the start of seg */
	/* seg drawn as an arrow ("---- S  seq=0 ... --->", "<--- ... ----",
	 * lost: "...--X" / "X--- ..."), padded so every arrow in the table has
	 * the same width; "" when dir is GT_TABLE_DIR_NONE. */
	char *arrow;
} gt_table_row;

typedef struct gt_table {
	gt_table_row *rows; /* grouped by connection, then in time order */
	size_t nrows;
	gt_conn_tuple *conns; /* as seen by the left host; in order of first event */
	size_t nconns;
} gt_table;

/* Builds the rows for log (opts may be NULL: "client" and "server"). Returns
 * 0, or -ENOMEM (then *out is empty). Free with gt_trace_table_free. */
int gt_trace_table_build(const gt_trace_log *log, const gt_table_opts *opts, gt_table *out);
void gt_trace_table_free(gt_table *t);

#endif
