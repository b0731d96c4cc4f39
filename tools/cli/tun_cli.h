/* What `glasstcp up`, `connect` and `get` share: the TUN options, and a run
 * of the TUN event loop with its pcap, JSON Lines and kernel-state outputs. */
#ifndef GT_TOOLS_TUN_CLI_H
#define GT_TOOLS_TUN_CLI_H

#include "kernel/kstates.h"

#include <glasstcp/glasstcp.h>
#include <glasstcp/tun.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct tun_opts {
	const char *cmd; /* "up", "connect", "get": for messages */
	const char *tun;
	uint32_t addr;
	uint32_t peer;
	bool have_addr;
	bool have_peer;
	const char *pcap;
	const char *json;
	bool impaired;
	gt_tun_impair impair;
	bool kernel_states;
	const char *table;     /* --table FILE: the seed's table at exit ('-': stdout) */
	const char *profile;   /* --profile NAME (gt_stack_config_profile), or NULL */
	bool glasstcp_on_left; /* table columns: glasstcp left (a client) or right */
} tun_opts;

/* The common options' lines for a usage text. */
extern const char tun_opts_usage[];

void tun_opts_init(tun_opts *o, const char *cmd);
/* Looks at argv[*i]: returns 1 when it was a common option (and *i moved past
 * its value), 0 when it is not one, 2 on bad usage (message printed). */
int tun_opts_parse(tun_opts *o, int argc, char **argv, int *i);
/* 0, or 2 with a message when --tun, --addr or --peer is missing. */
int tun_opts_check(const tun_opts *o);

typedef struct tun_run {
	const tun_opts *o;
	gt_tun *tun;
	gt_stack *st;
	FILE *json;
	gt_pcap_writer *pcap;
	gt_kstates *ks;
	bool json_failed;
	bool json_dirty;
	gt_time_us json_flushed;
	bool print_states;  /* --kernel-states without --json: state lines on stderr */
	gt_tun_app app;     /* the command's hooks */
	gt_trace_log *log;  /* --table: the events, without packet bytes */
	size_t log_skipped; /* events past the bound, not recorded */
} tun_run;

/* Opens the outputs, the TUN device and loop, and the kernel-state observer
 * (when asked; its failure is reported on stderr and the run goes on).
 * Returns 0, or 1 with a message. */
int tun_run_start(tun_run *r, const tun_opts *o);
/* Runs the loop with the command's hooks (plus the observer's). 0, or 1 with
 * a message when the loop failed. */
int tun_run_loop(tun_run *r, const gt_tun_app *app);
/* Drops summary: "drops: ..." (no newline) on f. */
void tun_run_print_drops(const tun_run *r, FILE *f);
/* The stack's counters, one line: "glasstcp: counters: rx_packets=N
 * rx_segments=N ... drop.REASON=N" (every counter of gt_stack_counters, and
 * the drop reasons that are not 0), for scripts to read. */
void tun_run_print_counters(const tun_run *r, FILE *f);
/* Frees everything; 0, or 1 with a message when an output could not be
 * written. */
int tun_run_finish(tun_run *r);

/* "connection refused (ECONNREFUSED)" and the like, for a negative errno. */
const char *tun_errno_text(int err, char *buf, size_t len);

#endif
