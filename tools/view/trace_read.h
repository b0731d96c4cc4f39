/* Reading a JSON Lines trace (the format gt_trace_jsonl_write writes, also what
 * `glasstcp explain --json` writes) back into a gt_trace_log, with jansson. */
#ifndef GT_VIEW_TRACE_READ_H
#define GT_VIEW_TRACE_READ_H

#include <glasstcp/glasstcp.h>
#include <stdio.h>

/* Appends every event of f to log. Unknown keys are ignored; lines of kind
 * "socket" or unknown kinds are skipped. Blank lines are skipped.
 * Returns 0, or -EINVAL with "NAME:LINE: reason" in err for the first bad line
 * (not JSON, a required key missing or of the wrong type, an unknown state,
 * flag letter or drop reason, a malformed conn), or -ENOMEM. name is used in
 * messages only. */
int gt_trace_read_jsonl(FILE *f, const char *name, gt_trace_log *log, char *err, size_t errlen);

/* Name parsers, the inverse of gt_tcp_state_name, gt_tcp_flags_str,
 * gt_drop_reason_name and gt_conn_str. Each returns 0 or -EINVAL. */
int gt_tcp_state_parse(const char *s, gt_tcp_state *out);
int gt_tcp_flags_parse(const char *s, uint8_t *out);
int gt_drop_reason_parse(const char *s, gt_drop_reason *out);
int gt_conn_parse(const char *s, gt_conn_tuple *out);

#endif
