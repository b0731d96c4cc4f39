/* `glasstcp demo syn-flood`'s table: the client's connection segment by
 * segment, as every demo shows it, with the flood summarised in rows of its
 * own (thousands of SYNs in a handful of rows), then what a SYN cookie is and
 * the server's counters. */
#ifndef GT_TOOLS_CLI_DEMO_FLOOD_H
#define GT_TOOLS_CLI_DEMO_FLOOD_H

#include "glasstcp/glasstcp.h"
#include "scenarios/scenarios.h"

#include <stdbool.h>
#include <stdio.h>

typedef struct gt_flood_view gt_flood_view;

/* delay_us: the links' one-way delay (the flood's SYNs are drawn as sent). */
gt_flood_view *gt_flood_view_new(gt_time_us delay_us);
void gt_flood_view_free(gt_flood_view *v);
/* Whether ev is the flood's (the attacker's SYNs, and the server's events
 * about spoofed sources): then it is counted into a summary row and belongs
 * in no table. false for everything else, which goes to the table. */
bool gt_flood_view_take(gt_flood_view *v, const gt_event *ev);
/* Prints the table of log with the flood's rows merged in by time, then the
 * explanation and the counters. Returns 0, or -ENOMEM / -EIO. */
int gt_flood_view_print(FILE *f, const gt_flood_view *v, const gt_trace_log *log,
                        const gt_scenario_result *res, gt_syncookies_mode mode);

#endif
