/* `glasstcp fsm`: the RFC 9293 state diagram as SVG or DOT, with the
 * transitions that the given traces took counted on it, and a text coverage
 * report (tools/view/fsm.h). */
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "view/fsm.h"
#include "view/trace_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fputs("usage: glasstcp fsm [TRACE.jsonl ...] [-o FILE] [--dot] [--report]\n\n"
	      "Draws the TCP state diagram of RFC 9293 (section 3.3.2, Figure 5): the eleven\n"
	      "states and their transitions labelled event / action, plus the resets, aborts\n"
	      "and timeouts the figure leaves out. Given JSON Lines traces (glasstcp demo\n"
	      "NAME --json, glasstcp explain --json; '-' reads standard input), the\n"
	      "transitions they took are drawn heavier with their counts and the ones never\n"
	      "taken are listed.\n\n"
	      "  -o FILE     write the diagram to FILE (default: standard output)\n"
	      "  --dot       Graphviz DOT instead of SVG\n"
	      "  --report    print the coverage report (each transition's count, the ones\n"
	      "              never taken, unexpected ones) on standard output; the diagram\n"
	      "              is then written only with -o\n"
	      "  -h, --help  this text\n",
	      f);
}

typedef struct fsm_args {
	const char *output;
	bool dot;
	bool report;
	bool help;
	char **traces;
	int ntraces;
} fsm_args;

static int parse_args(int argc, char **argv, fsm_args *a)
{
	a->traces = calloc((size_t)argc + 1, sizeof *a->traces);
	if (!a->traces)
		return gt_cli_bad_usage("fsm", "out of memory");
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (!strcmp(arg, "-o") || !strcmp(arg, "--output")) {
			if (i + 1 >= argc || !*argv[i + 1])
				return gt_cli_bad_usage("fsm", "%s needs a file name", arg);
			if (a->output)
				return gt_cli_bad_usage("fsm", "one output file only");
			a->output = argv[++i];
		} else if (!strcmp(arg, "--dot")) {
			a->dot = true;
		} else if (!strcmp(arg, "--report")) {
			a->report = true;
		} else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			a->help = true;
		} else if (arg[0] == '-' && arg[1] != '\0') {
			return gt_cli_bad_usage("fsm", "unknown option '%s' (glasstcp fsm --help)",
			                        arg);
		} else {
			a->traces[a->ntraces++] = argv[i];
		}
	}
	return 0;
}

/* Adds the state changes of one trace file to counts; 0 or exit status 2. */
static int count_trace(const char *path, gt_fsm_counts *counts)
{
	bool is_stdin = !strcmp(path, "-");
	FILE *f = is_stdin ? stdin : fopen(path, "r");
	if (!f)
		return gt_cli_bad_usage("fsm", "%s: %s", path, strerror(errno));
	gt_trace_log *log = gt_trace_log_new();
	if (!log) {
		if (!is_stdin)
			fclose(f);
		return gt_cli_bad_usage("fsm", "out of memory");
	}
	char err[512];
	int rc = gt_trace_read_jsonl(f, is_stdin ? "<stdin>" : path, log, err, sizeof err);
	if (!is_stdin)
		fclose(f);
	if (rc == 0)
		gt_fsm_count_log(counts, log);
	gt_trace_log_free(log);
	if (rc < 0)
		return gt_cli_bad_usage("fsm", "%s", err[0] ? err : strerror(-rc));
	return 0;
}

static int write_diagram(const fsm_args *a, const gt_fsm_counts *counts)
{
	FILE *f = a->output ? fopen(a->output, "w") : stdout;
	if (!f) {
		fprintf(stderr, "glasstcp fsm: %s: %s\n", a->output, strerror(errno));
		return 1;
	}
	gt_fsm_opts opts = {.counts = counts, .embedded = false};
	int rc = a->dot ? gt_fsm_dot(f, &opts) : gt_fsm_svg(f, &opts);
	if (fflush(f) != 0 && rc == 0)
		rc = -EIO;
	if (a->output && fclose(f) != 0 && rc == 0)
		rc = -EIO;
	if (rc < 0) {
		fprintf(stderr, "glasstcp fsm: writing %s: %s\n", a->output ? a->output : "output",
		        strerror(-rc));
		return 1;
	}
	return 0;
}

int gt_cli_fsm(int argc, char **argv)
{
	fsm_args a = {0};
	int status = parse_args(argc, argv, &a);
	if (status == 0 && a.help) {
		usage(stdout);
		free(a.traces);
		return 0;
	}
	gt_fsm_counts *counts = NULL;
	if (status == 0 && a.ntraces > 0) {
		counts = calloc(1, sizeof *counts);
		if (!counts)
			status = gt_cli_bad_usage("fsm", "out of memory");
	}
	for (int i = 0; status == 0 && i < a.ntraces; i++)
		status = count_trace(a.traces[i], counts);

	if (status == 0 && a.report) {
		gt_fsm_report(stdout, counts);
		if (fflush(stdout) != 0) {
			fprintf(stderr, "glasstcp fsm: writing the report: %s\n", strerror(errno));
			status = 1;
		}
	}
	if (status == 0 && (!a.report || a.output))
		status = write_diagram(&a, counts);
	free(counts);
	free(a.traces);
	return status;
}
