/* The status of a running stack: its counters as nstat lists them and its
 * connections as `ss -tin` does, in text or as one JSON object (jansson).
 * `glasstcp up` renders them for SIGUSR1 and for its control socket
 * (up_ctl.c); `glasstcp ss` prints what up answered, so both outputs come
 * from here. */
#ifndef GT_TOOLS_STATS_H
#define GT_TOOLS_STATS_H

#include <glasstcp/glasstcp.h>
#include <stdbool.h>
#include <stdio.h>

/* One counter: field is its name in gt_stack_counters (the "glasstcp:
 * counters:" line; NULL when it is not a field), name the one listed (nstat's
 * where Linux has the same counter, else the field's). */
typedef struct stats_counter {
	const char *field;
	const char *name;
	uint64_t v;
} stats_counter;
#define STATS_MAX_COUNTERS 48
/* Every counter of sc but the drop reasons, in listing order; returns how
 * many (at most STATS_MAX_COUNTERS). */
size_t stats_counters(const gt_stack_counters *sc, stats_counter *out);

/* What stats_render writes. */
enum { STATS_CONNS = 1, STATS_COUNTERS = 2 };
/* what (STATS_*) of st on f: text, or a JSON object {"counters": {NAME: N},
 * "connections": [...]} and a newline. title heads the text counters ("#"
 * line, as nstat's "#kernel"). 0, or -1 when f failed or out of memory. */
int stats_render(FILE *f, const gt_stack *st, const char *title, unsigned what, bool json);
/* ss's short name of a state: "ESTAB", "SYN-RECV", "TIME-WAIT" ... */
const char *stats_state_name(gt_tcp_state s);

#endif
