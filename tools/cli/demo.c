/* `glasstcp demo`: runs a scenario (scenarios/scenarios.h) on the simulated
 * network and shows it as the seed's table, as JSON Lines, as a pcap capture,
 * as the ladder diagram of its first connection (SVG) and/or as the HTML
 * report. */
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "cli/demo_flood.h"
#include "scenarios/scenarios.h"
#include "view/flow.h"
#include "view/ladder.h"
#include "view/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DELAY_MS 10000

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: glasstcp demo --list\n"
	        "       glasstcp demo NAME [--json] [--pcap FILE] [--svg FILE] [--html FILE]\n"
	        "                          [--profile P] [--seed N] [--loss P] [--delay MS]\n"
	        "                          [--syncookies on|off|always]\n\n"
	        "Runs scenario NAME between \"client\" (192.0.2.1) and \"server\" (192.0.2.2) "
	        "on the\nsimulated network and prints every segment and state change as a "
	        "table.\n\n"
	        "  --list        the scenarios, one line each\n"
	        "  --json        JSON Lines on stdout instead of the table\n"
	        "  --pcap FILE   also write the packets to FILE (pcap, raw IPv4)\n"
	        "  --svg FILE    also write the ladder diagram of the first connection to FILE\n"
	        "  --html FILE   also write the HTML report of the run to FILE\n"
	        "  --profile P   both stacks' defaults as linux, freebsd or rfc "
	        "(docs/profiles.md)\n"
	        "  --seed N      the simulator's seed (default 1): ISNs, ports, losses, data\n"
	        "  --loss P      probability that the network loses a packet, 0 <= P < 1 "
	        "(default 0)\n"
	        "  --delay MS    one-way delay in milliseconds, 0..%d (default 10)\n"
	        "  --syncookies M  the server's SYN cookies (RFC 4987 §3.6): on (when the SYN\n"
	        "                queue is full; default), off (a full queue drops SYNs) or\n"
	        "                always (every SYN); syn-flood shows the difference\n",
	        MAX_DELAY_MS);
}

static void list(void)
{
	size_t w = 0;
	for (size_t i = 0; i < gt_scenario_count; i++) {
		size_t n = strlen(gt_scenarios[i].name);
		if (n > w)
			w = n;
	}
	for (size_t i = 0; i < gt_scenario_count; i++)
		printf("%-*s  %s\n", (int)w, gt_scenarios[i].name, gt_scenarios[i].summary);
}

typedef struct demo_args {
	const char *name;
	bool json;
	bool list;
	bool help;
	const char *pcap;
	const char *svg;
	const char *html;
	gt_scenario_opts opts;
} demo_args;

static bool take_seed(const char *value, void *out)
{
	return gt_cli_parse_u64(value, UINT64_MAX, out);
}

/* --profile NAME: one of gt_stack_profiles */
static bool take_profile(const char *value, void *out)
{
	for (const char *const *p = gt_stack_profiles; *p; p++)
		if (!strcmp(value, *p)) {
			*(const char **)out = *p;
			return true;
		}
	return false;
}

/* --loss P, 0 <= P < 1 */
static bool take_loss(const char *value, void *out)
{
	double p;
	if (!gt_cli_parse_decimal(value, 1, &p) || p >= 1)
		return false;
	*(double *)out = p;
	return true;
}

/* --syncookies on|off|always into a gt_syncookies_mode */
static bool take_syncookies(const char *value, void *out)
{
	static const struct {
		const char *name;
		gt_syncookies_mode mode;
	} modes[] = {{"on", GT_SYNCOOKIES_ON_OVERFLOW},
	             {"off", GT_SYNCOOKIES_OFF},
	             {"always", GT_SYNCOOKIES_ALWAYS}};
	for (size_t i = 0; value && i < sizeof modes / sizeof modes[0]; i++)
		if (!strcmp(value, modes[i].name)) {
			*(gt_syncookies_mode *)out = modes[i].mode;
			return true;
		}
	return false;
}

/* --delay MS into a uint32_t */
static bool take_delay(const char *value, void *out)
{
	uint64_t d;
	if (!gt_cli_parse_u64(value, MAX_DELAY_MS, &d))
		return false;
	*(uint32_t *)out = (uint32_t)d;
	return true;
}

static int parse_args(int argc, char **argv, demo_args *a)
{
	gt_scenario_opts_default(&a->opts);
	gt_cli_opt opts[] = {
	    gt_cli_flag("--list", &a->list),
	    gt_cli_flag("--json", &a->json),
	    gt_cli_file("--pcap", &a->pcap),
	    gt_cli_file("--svg", &a->svg),
	    gt_cli_file("--html", &a->html),
	    gt_cli_number("--profile", "linux, freebsd or rfc", take_profile, &a->opts.profile),
	    gt_cli_number("--seed", "a non-negative integer", take_seed, &a->opts.seed),
	    gt_cli_number("--loss", "a probability 0 <= P < 1", take_loss, &a->opts.loss),
	    gt_cli_number("--delay", "milliseconds 0.." GT_CLI_STR(MAX_DELAY_MS), take_delay,
	                  &a->opts.delay_ms),
	    gt_cli_number("--syncookies", "on, off or always", take_syncookies,
	                  &a->opts.syncookies),
	};
	gt_cli_args spec = {.cmd = "demo",
	                    .operand = "scenario",
	                    .operand_out = &a->name,
	                    .help = &a->help,
	                    .opts = opts,
	                    .n_opts = sizeof opts / sizeof opts[0]};
	return gt_cli_parse_args(&spec, argc, argv);
}

/* In table mode the events are kept for the table; in JSON mode they are
 * written as they happen (and kept too when a picture is wanted). */
typedef struct demo_sink {
	gt_trace_log *log;
	gt_flood_view *flood; /* syn-flood: the flood's events, summarised */
	bool json;
	bool write_failed;
} demo_sink;

static void on_event(void *user, const gt_event *ev)
{
	demo_sink *s = user;
	if (s->json) {
		if (gt_trace_jsonl_write(stdout, ev) < 0)
			s->write_failed = true;
	}
	if (s->flood && gt_flood_view_take(s->flood, ev))
		return;
	if (s->log)
		gt_trace_log_record(s->log, ev);
}

/* The ladder diagram of the run's first connection. Returns 0 or 1. */
static int write_svg(const char *path, const gt_scenario *sc, const gt_trace_log *log)
{
	gt_flow fl;
	if (gt_flow_build(log, 0, &fl) < 0) {
		fprintf(stderr, "glasstcp demo: %s: no connection to draw\n", sc->name);
		return 1;
	}
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "glasstcp demo: cannot write %s: %s\n", path, strerror(errno));
		gt_flow_free(&fl);
		return 1;
	}
	char title[120];
	snprintf(title, sizeof title, "glasstcp demo %s", sc->name);
	gt_ladder_opts lo = {.title = title};
	int rc = gt_ladder_svg(f, &fl, &lo, NULL);
	gt_flow_free(&fl);
	if (fclose(f) != 0 || rc < 0) {
		fprintf(stderr, "glasstcp demo: error writing %s\n", path);
		return 1;
	}
	return 0;
}

static int write_html(const char *path, const gt_scenario *sc, const gt_trace_log *log)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "glasstcp demo: cannot write %s: %s\n", path, strerror(errno));
		return 1;
	}
	char title[120];
	snprintf(title, sizeof title, "glasstcp demo %s", sc->name);
	gt_report_opts ro = {.title = title};
	int rc = gt_report_html(f, log, &ro);
	if (fclose(f) != 0 || rc < 0) {
		fprintf(stderr, "glasstcp demo: error writing %s\n", path);
		return 1;
	}
	return 0;
}

static const char *err_or_none(int err)
{
	return err ? gt_scenario_err_name(err) : "none";
}

static void print_time(gt_time_us t)
{
	printf("%llu.%03llu s", (unsigned long long)(t / 1000000),
	       (unsigned long long)(t / 1000 % 1000));
}

static void summary(const gt_scenario *sc, const demo_args *a, const gt_scenario_result *res)
{
	printf("\n%s: %s\n", sc->name, res->passed ? "ok" : "FAILED");
	if (!res->passed)
		printf("  failed:              %s\n", res->failure);
	printf("  bytes verified:      %llu of %llu", (unsigned long long)res->bytes_verified,
	       (unsigned long long)res->bytes_expected);
	if (res->bytes_expected)
		printf(" (server read %llu, client read %llu)",
		       (unsigned long long)res->bytes_to_server,
		       (unsigned long long)res->bytes_to_client);
	printf("\n  errors the apps saw: client %s, server %s\n", err_or_none(res->client_error),
	       err_or_none(res->server_error));
	printf("  segments sent:       %llu (%llu retransmitted, %llu lost by the network)\n",
	       (unsigned long long)res->segments, (unsigned long long)res->rexmits,
	       (unsigned long long)res->lost);
	printf("  virtual time:        ");
	print_time(res->end_us);
	printf(" (seed %llu, loss %g, delay %u ms)\n", (unsigned long long)a->opts.seed,
	       a->opts.loss, (unsigned)a->opts.delay_ms);
}

int gt_cli_demo(int argc, char **argv)
{
	demo_args a = {0};
	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc;
	if (a.help) {
		usage(stdout);
		return 0;
	}
	if (a.list) {
		list();
		return 0;
	}
	if (!a.name) {
		fprintf(stderr, "glasstcp demo: which scenario? (glasstcp demo --list)\n");
		usage(stderr);
		return 2;
	}
	const gt_scenario *sc = gt_scenario_find(a.name);
	if (!sc)
		return gt_cli_bad_usage("demo", "unknown scenario '%s' (glasstcp demo --list)",
		                        a.name);

	demo_sink sink = {.json = a.json};
	bool flood = gt_scenario_is_flood(sc);
	if (((!a.json || a.svg || a.html) && !(sink.log = gt_trace_log_new())) ||
	    (flood && !(sink.flood = gt_flood_view_new((gt_time_us)a.opts.delay_ms * 1000)))) {
		fprintf(stderr, "glasstcp demo: out of memory\n");
		gt_trace_log_free(sink.log);
		return 1;
	}
	gt_pcap_writer *pcap = NULL;
	if (a.pcap && !(pcap = gt_pcap_open(a.pcap))) {
		fprintf(stderr, "glasstcp demo: cannot write %s: %s\n", a.pcap, strerror(errno));
		gt_trace_log_free(sink.log);
		gt_flood_view_free(sink.flood);
		return 1;
	}
	a.opts.pcap = pcap;

	gt_scenario_result res;
	rc = gt_scenario_run(sc, &a.opts, on_event, &sink, &res);
	int status = rc == 0 ? 0 : 1;
	if (pcap && gt_pcap_close(pcap) < 0) {
		fprintf(stderr, "glasstcp demo: error writing %s\n", a.pcap);
		status = 1;
	}
	if (rc < 0) {
		fprintf(stderr, "glasstcp demo: %s: %s\n", sc->name, res.failure);
		gt_trace_log_free(sink.log);
		gt_flood_view_free(sink.flood);
		return 1;
	}
	if (!a.json) {
		gt_table_opts to = {.left_host = "client", .right_host = "server"};
		if (flood ? gt_flood_view_print(stdout, sink.flood, sink.log, &res,
		                                a.opts.syncookies) < 0
		          : gt_trace_table_print(stdout, sink.log, &to) < 0)
			sink.write_failed = true;
		summary(sc, &a, &res);
	}
	if (sink.log && gt_trace_log_dropped(sink.log) && (a.svg || a.html)) {
		fprintf(stderr, "glasstcp demo: out of memory recording the trace\n");
		status = 1;
	} else {
		if (a.svg && write_svg(a.svg, sc, sink.log))
			status = 1;
		if (a.html && write_html(a.html, sc, sink.log))
			status = 1;
	}
	gt_trace_log_free(sink.log);
	gt_flood_view_free(sink.flood);
	if (rc == 1)
		fprintf(stderr, "glasstcp demo: %s failed: %s\n", sc->name, res.failure);
	if (fflush(stdout) != 0 || ferror(stdout) || sink.write_failed) {
		fprintf(stderr, "glasstcp demo: error writing the output\n");
		status = 1;
	}
	return status;
}
