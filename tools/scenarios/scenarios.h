/* The demo scenarios: small scripted applications on two simulated hosts,
 * "client" (192.0.2.1) and "server" (192.0.2.2), run with real TCP code on a
 * gt_sim. Shared by `glasstcp demo` and the tests (tests/scenarios).
 *
 * The applications act between gt_sim_step calls, at gt_sim_now(), through the
 * socket API only. A run ends when both applications are done and nothing is
 * pending any more (every connection but the listener is gone, TIME_WAIT
 * included), or at a virtual-time bound. */
#ifndef GT_SCENARIOS_H
#define GT_SCENARIOS_H

#include "glasstcp/glasstcp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GT_SCENARIO_CLIENT_ADDR 0xC0000201u /* 192.0.2.1 */
#define GT_SCENARIO_SERVER_ADDR 0xC0000202u /* 192.0.2.2 */
#define GT_SCENARIO_PORT        80          /* the server's listener */
#define GT_SCENARIO_CLOSED_PORT 81          /* no listener: "refused" connects here */
/* "simultaneous-open": each side binds its port and connects to the other's */
#define GT_SCENARIO_SO_CLIENT_PORT 7001
#define GT_SCENARIO_SO_SERVER_PORT 7002
/* Bytes the "transfer" scenario sends from client to server. */
#define GT_SCENARIO_TRANSFER_BYTES (1u << 20)
/* "syn-flood": a third host, "attacker" (203.0.113.66), sends SYNs from
 * spoofed sources in 198.18.0.0/15 (RFC 2544's benchmarking range, which no
 * host of the run owns: the SYN-ACKs go nowhere) to the server's port 80,
 * GT_SCENARIO_FLOOD_SYNS of them, one every GT_SCENARIO_FLOOD_GAP_US from
 * time 0; the client connects at GT_SCENARIO_FLOOD_CLIENT_US. The server
 * listens with the default backlog (128). */
#define GT_SCENARIO_ATTACKER_ADDR   0xCB007142u /* 203.0.113.66 */
#define GT_SCENARIO_FLOOD_NET       0xC6120000u /* 198.18.0.0 */
#define GT_SCENARIO_FLOOD_MASK      0xFFFE0000u /* /15 */
#define GT_SCENARIO_FLOOD_SYNS      3000u
#define GT_SCENARIO_FLOOD_GAP_US    100u            /* 10,000 SYNs/s */
#define GT_SCENARIO_FLOOD_CLIENT_US (100ull * 1000) /* the client's connect() */
#define GT_SCENARIO_FLOOD_BACKLOG   128u            /* the server's: listen()'s default */
/* Default virtual-time bound of a run. */
#define GT_SCENARIO_MAX_TIME_US (3600ull * 1000000ull)

struct gt_scenario_script; /* the applications' parameters (scenarios.c) */

typedef struct gt_scenario {
	const char *name;    /* "close" */
	const char *summary; /* one line: what the run shows */
	const struct gt_scenario_script *script;
} gt_scenario;

typedef struct gt_scenario_opts {
	uint64_t seed;                 /* the sim's PRNG (ISNs, ports, losses) and the data bytes */
	double loss;                   /* random loss on both links, in [0, 1) */
	uint32_t delay_ms;             /* one-way delay of both links */
	gt_pcap_writer *pcap;          /* optional: the sim's capture (gt_sim_set_pcap) */
	gt_time_us max_time_us;        /* the virtual-time bound; 0 means GT_SCENARIO_MAX_TIME_US */
	const char *profile;           /* both hosts' stack profile (gt_stack_config_profile);
	                                  NULL: the stack's defaults */
	gt_syncookies_mode syncookies; /* the server's SYN cookies (default: on overflow);
	                                  "syn-flood" expects the client to fail with
	                                  GT_SYNCOOKIES_OFF (ETIMEDOUT) */
} gt_scenario_opts;

typedef struct gt_scenario_result {
	bool passed;       /* the run ended and every check of the scenario held */
	char failure[200]; /* why not, in one line ("" when passed) */

	uint64_t bytes_expected;  /* application bytes the script sends, both directions */
	uint64_t bytes_verified;  /* of those, received in order and equal to what was sent */
	uint64_t bytes_to_server; /* read by the server application */
	uint64_t bytes_to_client; /* read by the client application */
	/* The first error each application saw (negative errno), or 0. */
	int client_error;
	int server_error;

	uint64_t segments; /* packets put on the network by both hosts */
	uint64_t rexmits;  /* of those, retransmissions */
	uint64_t lost;     /* dropped by the network: random loss and scripted faults */
	gt_time_us end_us; /* the virtual time the run ended */

	/* "syn-flood" (zero for the others) */
	uint64_t flood_syns;               /* spoofed SYNs the attacker sent */
	gt_time_us flood_end_us;           /* when it sent the last one */
	size_t server_conns_max;           /* gt_stack_conn_count(server) at most, listener
	                                      included, sampled after every step */
	gt_time_us client_established_us;  /* when the client reached ESTABLISHED;
	                                      GT_TIME_NEVER if it never did */
	gt_stack_counters server_counters; /* the server's counters at the end */
} gt_scenario_result;

/* Every scenario, in --list order. */
extern const gt_scenario gt_scenarios[];
extern const size_t gt_scenario_count;
/* NULL when no scenario has that name. */
const gt_scenario *gt_scenario_find(const char *name);

/* "ECONNREFUSED", "ECONNRESET", ... for the errors the applications can see;
 * "no error" for 0. */
const char *gt_scenario_err_name(int err);

/* Whether sc runs a SYN flood (a third host, "attacker"). */
bool gt_scenario_is_flood(const gt_scenario *sc);

/* seed 1, no loss, 10 ms delay, no capture, the default bound, SYN cookies
 * on overflow. */
void gt_scenario_opts_default(gt_scenario_opts *o);

/* Runs sc to completion. fn (may be NULL) receives every event of both hosts
 * and of the network (gt_sim_set_event_fn). Returns 0 when the scenario ran and
 * passed its checks, 1 when it ran and a check failed (res->failure says
 * which), or a negative errno when it could not be set up (-EINVAL for bad
 * options, -ENOMEM). res is always filled. */
int gt_scenario_run(const gt_scenario *sc, const gt_scenario_opts *o, gt_event_fn fn, void *user,
                    gt_scenario_result *res);

#endif
