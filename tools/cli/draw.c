/* `glasstcp draw`: the ladder diagram of one connection of a JSON Lines trace
 * (what `glasstcp demo --json`, the TUN tools and `glasstcp explain --json`
 * write) as SVG, and optionally the HTML report of the whole trace. */
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "view/flow.h"
#include "view/ladder.h"
#include "view/report.h"
#include "view/trace_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: glasstcp draw TRACE.jsonl -o FILE.svg [--conn N] [--absolute] [--title TEXT]\n"
	    "                                 [--html FILE [--html-max N]]\n"
	    "       glasstcp draw TRACE.jsonl --list\n\n"
	    "Draws the ladder diagram of one TCP connection of a JSON Lines trace (TRACE\n"
	    "\"-\" reads stdin): both hosts' lifelines, every segment as an arrow slanted by\n"
	    "its real delay, each side's state changes, lost segments, retransmissions and\n"
	    "the RTO and TIME_WAIT timers; long quiet gaps are compressed and marked.\n\n"
	    "  -o, --output FILE  write the SVG to FILE (\"-\" = stdout)\n"
	    "  --conn N           which connection, in order of appearance (default 0)\n"
	    "  --absolute         absolute sequence numbers (default: relative to the ISNs)\n"
	    "  --title TEXT       the diagram's caption\n"
	    "  --html FILE        also write the HTML report of every connection to FILE\n"
	    "  --html-max N       diagrams in the report for at most N connections (default\n"
	    "                     50; the first ones, then those with retransmissions or\n"
	    "                     resets); its table lists them all\n"
	    "  --list             list the connections: index, endpoints, states\n\n"
	    "Exit status: 0 done, 1 an output could not be written, 2 bad usage or a\n"
	    "trace that cannot be used (missing, not JSON Lines, no connection).\n");
}

typedef struct draw_args {
	const char *trace;
	const char *output;
	const char *html;
	const char *title;
	size_t conn;
	size_t html_max; /* 0: the report's default */
	bool absolute;
	bool list;
	bool help;
} draw_args;

static int parse_args(int argc, char **argv, draw_args *a)
{
	gt_cli_opt opts[] = {
	    gt_cli_flag("--list", &a->list),
	    gt_cli_flag("--absolute", &a->absolute),
	    gt_cli_file("-o", &a->output),
	    gt_cli_file("--output", &a->output),
	    gt_cli_file("--html", &a->html),
	    gt_cli_html_max(&a->html_max),
	    gt_cli_text("--title", "a text", &a->title),
	    gt_cli_number("--conn", "a connection index (0, 1, ...)", gt_cli_take_index, &a->conn),
	};
	gt_cli_args spec = {.cmd = "draw",
	                    .operand = "trace",
	                    .operand_out = &a->trace,
	                    .help = &a->help,
	                    .opts = opts,
	                    .n_opts = sizeof opts / sizeof opts[0]};
	return gt_cli_parse_args(&spec, argc, argv);
}

/* Reads the whole trace; 0, or the exit status with the reason printed. */
static int read_trace(const char *path, gt_trace_log *log)
{
	bool is_stdin = !strcmp(path, "-");
	FILE *f = is_stdin ? stdin : fopen(path, "r");
	if (!f)
		return gt_cli_bad_usage("draw", "cannot open %s: %s", path, strerror(errno));
	struct stat sb;
	if (!is_stdin && fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
		fclose(f);
		return gt_cli_bad_usage("draw", "%s is a directory, not a trace", path);
	}
	char err[256] = "";
	int rc = gt_trace_read_jsonl(f, is_stdin ? "stdin" : path, log, err, sizeof err);
	if (!is_stdin)
		fclose(f);
	if (rc == -ENOMEM || gt_trace_log_dropped(log)) {
		fprintf(stderr, "glasstcp draw: out of memory reading %s\n", path);
		return 1;
	}
	if (rc < 0)
		return gt_cli_bad_usage("draw", "%s", err[0] ? err : strerror(-rc));
	return 0;
}

/* One line per connection: index, endpoints, segments, each side's states. */
static int list(const gt_flow_index *idx)
{
	size_t n = gt_flow_index_count(idx);
	for (size_t i = 0; i < n; i++) {
		gt_flow fl;
		if (gt_flow_build_indexed(idx, i, &fl) < 0) {
			fprintf(stderr, "glasstcp draw: out of memory\n");
			return 1;
		}
		char conn[48];
		printf("%zu  %s  %zu segments", i, gt_conn_str(&fl.conn, conn), fl.n_arrows);
		for (int s = 0; s < 2; s++) {
			printf("%s%s:", s ? "; " : "  ", fl.host[s]);
			bool first = true;
			for (size_t k = 0; k < fl.n_states; k++) {
				const gt_flow_state *st = &fl.states[k];
				if (st->side != s)
					continue;
				if (first)
					printf(" %s", gt_tcp_state_name(st->from));
				printf(" > %s", gt_tcp_state_name(st->to));
				first = false;
			}
			if (first)
				printf(" (no states)");
		}
		putchar('\n');
		gt_flow_free(&fl);
	}
	return 0;
}

static int write_svg(const draw_args *a, const gt_flow_index *idx)
{
	gt_flow fl;
	int rc = gt_flow_build_indexed(idx, a->conn, &fl);
	if (rc < 0) {
		fprintf(stderr, "glasstcp draw: out of memory\n");
		return 1;
	}
	bool to_stdout = !strcmp(a->output, "-");
	FILE *f = to_stdout ? stdout : fopen(a->output, "w");
	if (!f) {
		fprintf(stderr, "glasstcp draw: cannot write %s: %s\n", a->output, strerror(errno));
		gt_flow_free(&fl);
		return 1;
	}
	gt_ladder_opts lo = {.absolute_seq = a->absolute, .title = a->title};
	rc = gt_ladder_svg(f, &fl, &lo, NULL);
	gt_flow_free(&fl);
	if (fflush(f) != 0 || ferror(f))
		rc = rc ? rc : -EIO;
	if (!to_stdout && fclose(f) != 0)
		rc = rc ? rc : -EIO;
	if (rc < 0) {
		fprintf(stderr, "glasstcp draw: error writing %s: %s\n", a->output, strerror(-rc));
		return 1;
	}
	return 0;
}

static int write_html(const draw_args *a, const gt_trace_log *log)
{
	FILE *f = fopen(a->html, "w");
	if (!f) {
		fprintf(stderr, "glasstcp draw: cannot write %s: %s\n", a->html, strerror(errno));
		return 1;
	}
	char title[300];
	snprintf(title, sizeof title, "trace %s", !strcmp(a->trace, "-") ? "(stdin)" : a->trace);
	gt_report_opts ro = {.title = a->title ? a->title : title,
	                     .absolute_seq = a->absolute,
	                     .max_detailed = a->html_max};
	int rc = gt_report_html(f, log, &ro);
	if (fflush(f) != 0 || ferror(f))
		rc = rc ? rc : -EIO;
	if (fclose(f) != 0)
		rc = rc ? rc : -EIO;
	if (rc < 0) {
		fprintf(stderr, "glasstcp draw: error writing %s: %s\n", a->html, strerror(-rc));
		return 1;
	}
	return 0;
}

int gt_cli_draw(int argc, char **argv)
{
	draw_args a = {0};
	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc;
	if (a.help) {
		usage(stdout);
		return 0;
	}
	if (!a.trace)
		return gt_cli_bad_usage("draw", "which trace? (glasstcp draw --help)");
	if (!a.output && !a.html && !a.list)
		return gt_cli_bad_usage("draw",
		                        "nothing to do: give -o FILE.svg, --html FILE or --list");

	gt_trace_log *log = gt_trace_log_new();
	if (!log) {
		fprintf(stderr, "glasstcp draw: out of memory\n");
		return 1;
	}
	rc = read_trace(a.trace, log);
	/* one pass over the trace maps every connection to its events */
	gt_flow_index *idx = NULL;
	if (rc == 0 && !(idx = gt_flow_index_new(log))) {
		fprintf(stderr, "glasstcp draw: out of memory\n");
		rc = 1;
	}
	size_t n = gt_flow_index_count(idx);
	if (rc == 0 && n == 0)
		rc = gt_cli_bad_usage("draw", "%s: no TCP connection in the trace", a.trace);
	else if (rc == 0 && a.conn >= n)
		rc = gt_cli_bad_usage(
		    "draw",
		    "%s: no connection %zu (the trace has %zu, numbered from 0; see --list)",
		    a.trace, a.conn, n);
	if (rc == 0 && a.list)
		rc = list(idx);
	if (rc == 0 && a.output)
		rc = write_svg(&a, idx);
	gt_flow_index_free(idx);
	if (rc == 0 && a.html)
		rc = write_html(&a, log);
	if (rc == 0 && a.list && (fflush(stdout) != 0 || ferror(stdout))) {
		fprintf(stderr, "glasstcp draw: error writing the output\n");
		rc = 1;
	}
	gt_trace_log_free(log);
	return rc;
}
