/* glasstcp_bench: glasstcp, Linux and lwIP side by side in one run
 * (bench/README.md). Environment: BENCH_BYTES (bulk bytes, default 1 GiB),
 * BENCH_RUNS (runs per figure, the median reported; default 5),
 * BENCH_CONNS (lifecycles, default 20000), BENCH_STACKS (a comma-separated
 * list of the stacks to run, default all: glasstcp,linux,lwip) and
 * BENCH_ONLY (one measurement: bulk_mss1460, bulk_mss_large, lifecycle). --json: one JSON object a
 * line per figure and per ratio, instead of the table. */
#include "bench.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { GT, LINUX, LWIP, NSTACKS };
static const char *const stack_names[NSTACKS] = {"glasstcp", "linux", "lwip"};

typedef bench_result (*bench_fn)(const bench_params *p);

typedef struct row {
	const char *name; /* "bulk_mss1460" */
	const char *unit; /* "MB/s", "conn/s" */
	bool bulk;
	uint16_t mss[NSTACKS];
	bench_fn fn[NSTACKS];
	double value[NSTACKS]; /* median; 0: not measured */
	char why[NSTACKS][160];
} row;

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	return s && *s ? strtoull(s, NULL, 0) : dflt;
}

/* Whether name is in the comma-separated list of environment variable var
 * (unset: every name is). */
static bool wanted(const char *var, const char *name)
{
	const char *s = getenv(var);
	size_t n = strlen(name);
	if (!s || !*s)
		return true;
	for (const char *p = strstr(s, name); p; p = strstr(p + 1, name))
		if ((p == s || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median over runs of the rate (bytes/1e6 or connections per second). */
/* One run in a child process: a stack that aborts (lwIP asserts) costs
 * only its row, and each run starts from a fresh process (lwIP keeps global
 * state, e.g. its TIME_WAIT list, across runs otherwise). */
static bench_result run_isolated(bench_fn fn, const bench_params *p)
{
	int fd[2];
	if (pipe(fd) < 0)
		return bench_fail("pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return bench_fail("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(fd[0]);
		bench_result res = fn(p);
		ssize_t w = write(fd[1], &res, sizeof res);
		_exit(w == (ssize_t)sizeof res ? 0 : 1);
	}
	close(fd[1]);
	bench_result res;
	ssize_t n = read(fd[0], &res, sizeof res);
	close(fd[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		return bench_fail("crashed (%s)", strsignal(WTERMSIG(status)));
	if (n != (ssize_t)sizeof res)
		return bench_fail("the run gave no result (exit status %d)", WEXITSTATUS(status));
	return res;
}

static void measure(row *r, int k, const bench_params *base, unsigned runs)
{
	bench_params p = *base;
	p.mss = r->mss[k];
	double v[64];
	for (unsigned i = 0; i < runs; i++) {
		bench_result res = run_isolated(r->fn[k], &p);
		if (!res.ok) {
			snprintf(r->why[k], sizeof r->why[k], "%s", res.err);
			return;
		}
		double n = r->bulk ? (double)p.bytes / 1e6 : (double)p.conns;
		v[i] = res.seconds > 0 ? n / res.seconds : 0;
		fprintf(stderr, "  %s %s run %u: %.1f %s\n", r->name, stack_names[k], i + 1, v[i],
		        r->unit);
	}
	qsort(v, runs, sizeof v[0], cmp_double);
	r->value[k] = runs % 2 ? v[runs / 2] : (v[runs / 2 - 1] + v[runs / 2]) / 2;
}

static void print_ratio(double a, double b)
{
	if (a > 0 && b > 0)
		printf(" %9.2f", a / b);
	else
		printf(" %9s", "-");
}

static void print_table(const row *rows, size_t n, const bench_params *p, unsigned runs)
{
	printf("glasstcp bench: %llu bytes per bulk run, %u lifecycles per run, median of %u\n\n",
	       (unsigned long long)p->bytes, p->conns, runs);
	printf("%-22s %-7s %10s %10s %10s %9s %9s\n", "measurement", "unit", "glasstcp", "linux",
	       "lwip", "gt/linux", "gt/lwip");
	for (size_t i = 0; i < n; i++) {
		const row *r = &rows[i];
		printf("%-22s %-7s", r->name, r->unit);
		for (int k = 0; k < NSTACKS; k++)
			if (r->value[k] > 0)
				printf(" %10.1f", r->value[k]);
			else
				printf(" %10s", "-");
		print_ratio(r->value[GT], r->value[LINUX]);
		print_ratio(r->value[GT], r->value[LWIP]);
		printf("\n");
	}
	printf("\n");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < NSTACKS; k++)
			if (rows[i].why[k][0])
				printf("%s %s: not measured (%s)\n", rows[i].name, stack_names[k],
				       rows[i].why[k]);
}

static void print_json(const row *rows, size_t n, const bench_params *p, unsigned runs)
{
	for (size_t i = 0; i < n; i++) {
		const row *r = &rows[i];
		for (int k = 0; k < NSTACKS; k++) {
			printf("{\"bench\":\"%s\",\"stack\":\"%s\",\"mss\":%u,\"unit\":\"%s\",",
			       r->name, stack_names[k], r->mss[k], r->unit);
			printf("\"bytes\":%llu,\"conns\":%u,\"runs\":%u,",
			       (unsigned long long)p->bytes, p->conns, runs);
			if (r->value[k] > 0)
				printf("\"value\":%.3f}\n", r->value[k]);
			else
				printf("\"value\":null,\"reason\":\"%s\"}\n", r->why[k]);
		}
		for (int k = LINUX; k <= LWIP; k++)
			if (r->value[GT] > 0 && r->value[k] > 0)
				printf(
				    "{\"bench\":\"%s\",\"ratio\":\"glasstcp/%s\",\"value\":%.3f}\n",
				    r->name, stack_names[k], r->value[GT] / r->value[k]);
	}
}

int main(int argc, char **argv)
{
	bool json = argc > 1 && !strcmp(argv[1], "--json");
	if (argc > 2 || (argc == 2 && !json)) {
		fprintf(stderr, "usage: glasstcp_bench [--json]  (env: BENCH_BYTES, BENCH_RUNS, "
		                "BENCH_CONNS)\n");
		return 2;
	}
	bench_params p = {.bytes = env_u64("BENCH_BYTES", 1ull << 30),
	                  .conns = (uint32_t)env_u64("BENCH_CONNS", 20000)};
	unsigned runs = (unsigned)env_u64("BENCH_RUNS", 5);
	if (runs < 1 || runs > 64 || !p.bytes || !p.conns) {
		fprintf(stderr,
		        "glasstcp_bench: BENCH_RUNS 1..64, BENCH_BYTES and BENCH_CONNS > 0\n");
		return 2;
	}
	bench_pattern_init();
	row rows[] = {
	    {.name = "bulk_mss1460",
	     .unit = "MB/s",
	     .bulk = true,
	     .mss = {1460, 1460, 1460},
	     .fn = {bench_gt_bulk, bench_linux_bulk, bench_lwip_bulk}},
	    {.name = "bulk_mss_large",
	     .unit = "MB/s",
	     .bulk = true,
	     .mss = {65495, 0, 0},
	     .fn = {bench_gt_bulk, bench_linux_bulk, NULL}},
	    {.name = "lifecycle",
	     .unit = "conn/s",
	     .fn = {bench_gt_lifecycle, bench_linux_lifecycle, bench_lwip_lifecycle}},
	};
	size_t n = sizeof rows / sizeof rows[0];
	const char *nolwip = bench_lwip_missing();
	snprintf(rows[1].why[LWIP], sizeof rows[1].why[LWIP],
	         "Debian's liblwip is built with TCP_MSS 1460");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < NSTACKS; k++) {
			if (k == LWIP && nolwip && !rows[i].why[k][0])
				snprintf(rows[i].why[k], sizeof rows[i].why[k], "%s", nolwip);
			if (!wanted("BENCH_STACKS", stack_names[k]) ||
			    !wanted("BENCH_ONLY", rows[i].name))
				snprintf(rows[i].why[k], sizeof rows[i].why[k],
				         "left out by the environment");
			else if (rows[i].fn[k] && !rows[i].why[k][0])
				measure(&rows[i], k, &p, runs);
		}
	if (json)
		print_json(rows, n, &p, runs);
	else
		print_table(rows, n, &p, runs);
	for (size_t i = 0; i < n; i++)
		if (rows[i].why[GT][0] || rows[i].why[LINUX][0])
			if (!getenv("BENCH_STACKS") && !getenv("BENCH_ONLY"))
				return 1;
	return 0;
}
