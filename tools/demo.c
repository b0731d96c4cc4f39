/* `glasstcp demo`: runs a scenario (scenarios.h) on the simulated network and
 * shows it as the seed's table, as JSON Lines, and/or as a pcap capture. */
#include "cli.h"
#include "scenarios.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DELAY_MS 10000

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: glasstcp demo --list\n"
	        "       glasstcp demo NAME [--json] [--pcap FILE] [--seed N] [--loss P] "
	        "[--delay MS]\n\n"
	        "Runs scenario NAME between \"client\" (192.0.2.1) and \"server\" (192.0.2.2) "
	        "on the\nsimulated network and prints every segment and state change as a "
	        "table.\n\n"
	        "  --list        the scenarios, one line each\n"
	        "  --json        JSON Lines on stdout instead of the table\n"
	        "  --pcap FILE   also write the packets to FILE (pcap, raw IPv4)\n"
	        "  --seed N      the simulator's seed (default 1): ISNs, ports, losses, data\n"
	        "  --loss P      probability that the network loses a packet, 0 <= P < 1 "
	        "(default 0)\n"
	        "  --delay MS    one-way delay in milliseconds, 0..%d (default 10)\n",
	        MAX_DELAY_MS);
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int
bad_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "glasstcp demo: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
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

/* Decimal digits only: no sign, no spaces, no trailing text, no overflow. */
static bool parse_u64(const char *s, uint64_t *out)
{
	if (!s || *s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static bool parse_loss(const char *s, double *out)
{
	if (!s || !((*s >= '0' && *s <= '9') || *s == '.'))
		return false; /* no sign, no spaces, no "nan" or "inf" */
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0 || v >= 1)
		return false;
	*out = v;
	return true;
}

typedef struct demo_args {
	const char *name;
	bool json;
	bool list;
	bool help;
	const char *pcap;
	gt_scenario_opts opts;
} demo_args;

/* Takes an option's value from "--opt=value" or from the next argument. */
static const char *option_value(const char *arg, const char *opt, int argc, char **argv, int *i,
                                bool *matched)
{
	size_t n = strlen(opt);
	*matched = false;
	if (strncmp(arg, opt, n) != 0)
		return NULL;
	if (arg[n] == '=') {
		*matched = true;
		return arg + n + 1;
	}
	if (arg[n] != '\0')
		return NULL;
	*matched = true;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int parse_args(int argc, char **argv, demo_args *a)
{
	gt_scenario_opts_default(&a->opts);
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		bool m;
		const char *v;
		if (!strcmp(arg, "--list")) {
			a->list = true;
		} else if (!strcmp(arg, "--json")) {
			a->json = true;
		} else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			a->help = true;
		} else if ((v = option_value(arg, "--pcap", argc, argv, &i, &m)), m) {
			if (!v || !*v)
				return bad_usage("%s needs a file name", "--pcap");
			a->pcap = v;
		} else if ((v = option_value(arg, "--seed", argc, argv, &i, &m)), m) {
			if (!parse_u64(v, &a->opts.seed))
				return bad_usage("--seed needs a non-negative integer, got '%s'",
				                 v ? v : "");
		} else if ((v = option_value(arg, "--loss", argc, argv, &i, &m)), m) {
			if (!parse_loss(v, &a->opts.loss))
				return bad_usage("--loss needs a probability 0 <= P < 1, got '%s'",
				                 v ? v : "");
		} else if ((v = option_value(arg, "--delay", argc, argv, &i, &m)), m) {
			uint64_t d;
			if (!parse_u64(v, &d) || d > MAX_DELAY_MS)
				return bad_usage("--delay needs milliseconds 0..10000, got '%s'",
				                 v ? v : "");
			a->opts.delay_ms = (uint32_t)d;
		} else if (arg[0] == '-' && arg[1] != '\0') {
			return bad_usage("unknown option '%s' (glasstcp demo --help)", arg);
		} else if (a->name) {
			return bad_usage("one scenario at a time ('%s' is one too many)", arg);
		} else {
			a->name = arg;
		}
	}
	return 0;
}

/* In table mode the events are kept for the table; in JSON mode they are
 * written as they happen. */
typedef struct demo_sink {
	gt_trace_log *log;
	bool json;
	bool write_failed;
} demo_sink;

static void on_event(void *user, const gt_event *ev)
{
	demo_sink *s = user;
	if (s->json) {
		if (gt_trace_jsonl_write(stdout, ev) < 0)
			s->write_failed = true;
	} else {
		gt_trace_log_record(s->log, ev);
	}
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
		return bad_usage("unknown scenario '%s' (glasstcp demo --list)", a.name);

	demo_sink sink = {.json = a.json};
	if (!a.json && !(sink.log = gt_trace_log_new())) {
		fprintf(stderr, "glasstcp demo: out of memory\n");
		return 1;
	}
	gt_pcap_writer *pcap = NULL;
	if (a.pcap && !(pcap = gt_pcap_open(a.pcap))) {
		fprintf(stderr, "glasstcp demo: cannot write %s: %s\n", a.pcap, strerror(errno));
		gt_trace_log_free(sink.log);
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
		return 1;
	}
	if (!a.json) {
		gt_table_opts to = {.left_host = "client", .right_host = "server"};
		if (gt_trace_table_print(stdout, sink.log, &to) < 0)
			sink.write_failed = true;
		summary(sc, &a, &res);
	}
	gt_trace_log_free(sink.log);
	if (rc == 1)
		fprintf(stderr, "glasstcp demo: %s failed: %s\n", sc->name, res.failure);
	if (fflush(stdout) != 0 || ferror(stdout) || sink.write_failed) {
		fprintf(stderr, "glasstcp demo: error writing the output\n");
		status = 1;
	}
	return status;
}
