/* glasstcp's interpreter of packetdrill's script language (tools/script):
 * runs a .pkt script against a stack behind packetdrill's shared-object
 * interface (packetdrill/pd_abi.h), in the interface's virtual time. Every
 * socket call, packet, sleep and clock reading goes through the interface's
 * function pointers, so the same clock gives the same run. */
#ifndef GT_SCRIPT_SCRIPT_H
#define GT_SCRIPT_SCRIPT_H

#include "packetdrill/pd_abi.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct gt_script_config {
	/* Makes the interface of each script; NULL: none (gt_script_run_file
	 * then fails). The CLI passes the linked adapter's or a dlopen()ed one. */
	packetdrill_interface_init_fn init;
	const char *so_flags; /* for init; "" by default */
	/* When set, so_flags are checked with it before init (the linked
	 * adapter exits on bad flags): false with a message in err. */
	bool (*check_flags)(const char *flags, char *err, size_t err_len);
	/* Adds ",local=LOCAL_IP" to so_flags (glasstcp's adapter's key) unless
	 * they name local= already. */
	bool pass_local_ip;
	int64_t tolerance_usecs;  /* 4000, as packetdrill */
	double tolerance_percent; /* 12.5, as packetdrill */
	int64_t ts_tick_usecs;    /* 0: TS val not checked (packetdrill's default) */
	bool ts_ecr_scaled;       /* packetdrill's --tcp_ts_ecr_scaled */
	const char *local_ip;     /* "192.168.0.1" */
	const char *remote_ip;    /* "192.0.2.1" */
	uint16_t bind_port;       /* 8080 */
	uint16_t connect_port;    /* 8080 */
	FILE *verbose;            /* -v: each event as it runs, or NULL */
	/* Options given on the command line: as in packetdrill, they win over
	 * a script's own --option lines of the same name. */
	unsigned from_command_line; /* GT_SCRIPT_SET_* */
} gt_script_config;

enum {
	GT_SCRIPT_SET_SO_FLAGS = 1u << 0,
	GT_SCRIPT_SET_TOLERANCE = 1u << 1,
	GT_SCRIPT_SET_LOCAL_IP = 1u << 2,
	GT_SCRIPT_SET_REMOTE_IP = 1u << 3,
};

/* packetdrill's defaults. */
void gt_script_config_default(gt_script_config *cfg);

typedef struct gt_script_result {
	bool pass;
	int line;           /* of the failure; 0 when not at a line */
	char message[2048]; /* "PATH:LINE: what was expected, what happened" */
	size_t n_shell;     /* backquoted shell lines skipped */
	size_t n_events;    /* events run */
} gt_script_result;

/* Reads, parses and runs one script file: its --options lines override cfg
 * for it; one interface from cfg->init for the run, freed after. Returns
 * res->pass. */
bool gt_script_run_file(const char *path, const gt_script_config *cfg, gt_script_result *res);

/* Parses and runs a script's text on an interface the caller made (and
 * frees): the unit tests' fake interface. */
bool gt_script_run_text(const char *path, const char *text, const gt_script_config *cfg,
                        struct packetdrill_interface *ifc, gt_script_result *res);

#endif
