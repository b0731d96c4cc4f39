/* `glasstcp watch --addr A`: the Linux kernel's TCP state changes for the
 * sockets whose local or remote address is A, recorded live from the
 * tracepoint sock:inet_sock_set_state (with TIME_WAIT told apart through
 * sock_diag: tools/kernel/kstates.h, docs/kernel-states.md) until Ctrl-C, SIGTERM or
 * --duration, then printed in time order as a table or as JSON Lines. */
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "kernel/kstates.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define WATCH_MAX_DURATION_S 31536000.0 /* a year */
/* After the stop, how long the module may still poll sock_diag for what only
 * polling shows: an orphaned FIN_WAIT_2 that became TIME_WAIT (polled every
 * 100 ms), the port of a connect in progress (20 ms). */
#define WATCH_GRACE_US    150000u
#define WATCH_MAX_WAIT_US (3600ull * 1000000u) /* one poll() waits at most an hour */

static void usage(FILE *f)
{
	fprintf(f, "usage: glasstcp watch --addr A [--json] [--duration SECONDS] [-o FILE]\n\n"
	           "Records the Linux kernel's TCP state changes of the sockets whose local or\n"
	           "remote address is A (tracepoint sock:inet_sock_set_state; TIME_WAIT seen\n"
	           "through sock_diag) until Ctrl-C, SIGTERM or the duration ends, then prints\n"
	           "them in time order, one line each: time (ms since the start), the socket\n"
	           "(local end first) and the change. Needs root. Run it in the network\n"
	           "namespace of the sockets (`ip netns exec NS glasstcp watch ...`): the\n"
	           "tracepoint is global and filtered on A only, so give A to one namespace.\n"
	           "It says \"watching A (Ctrl-C to stop)\" on stderr once it records.\n\n"
	           "  --addr A            the IPv4 address to watch\n"
	           "  --json              JSON Lines (the trace's schema, host \"linux\") instead\n"
	           "  --duration SECONDS  stop after this long (decimals allowed)\n"
	           "  -o FILE             write to FILE instead of stdout\n");
}

typedef struct watch_args {
	const char *addr_text;
	uint32_t addr;
	bool json;
	bool help;
	double duration_s; /* < 0: until a signal */
	const char *out;
} watch_args;

static int parse_args(int argc, char **argv, watch_args *a)
{
	a->duration_s = -1;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		bool m;
		const char *v;
		if (!strcmp(arg, "--json")) {
			a->json = true;
		} else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			a->help = true;
		} else if ((v = gt_cli_option_value(arg, "--addr", argc, argv, &i, &m)), m) {
			if (!v || gt_ipv4_parse(v, &a->addr) < 0)
				return gt_cli_bad_usage(
				    "watch", "--addr needs an IPv4 address a.b.c.d, got '%s'",
				    v ? v : "");
			a->addr_text = v;
		} else if ((v = gt_cli_option_value(arg, "--duration", argc, argv, &i, &m)), m) {
			if (!gt_cli_parse_decimal(v, WATCH_MAX_DURATION_S, &a->duration_s))
				return gt_cli_bad_usage(
				    "watch", "--duration needs seconds >= 0, got '%s'", v ? v : "");
		} else if ((v = gt_cli_option_value(arg, "-o", argc, argv, &i, &m)), m) {
			if (!v || !*v)
				return gt_cli_bad_usage("watch", "-o needs a file name");
			a->out = v;
		} else {
			return gt_cli_bad_usage(
			    "watch", "unexpected argument '%s' (glasstcp watch --help)", arg);
		}
	}
	return 0;
}

static gt_time_us mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gt_time_us)ts.tv_sec * 1000000u + (gt_time_us)ts.tv_nsec / 1000u;
}

/* The events recorded, copied (kstates' host and cause strings outlive them:
 * they are printed before gt_kstates_close). */
typedef struct watch_log {
	gt_event *ev;
	size_t n, cap;
	bool oom;
} watch_log;

static void on_event(void *user, const gt_event *ev)
{
	watch_log *log = user;
	if (ev->kind != GT_EV_STATE)
		return;
	if (log->n == log->cap) {
		size_t cap = log->cap ? log->cap * 2 : 64;
		gt_event *n = realloc(log->ev, cap * sizeof(*n));
		if (!n) {
			log->oom = true;
			return;
		}
		log->ev = n;
		log->cap = cap;
	}
	log->ev[log->n++] = *ev;
}

/* By time; equal times keep the order the module reported them in. */
static int by_time(const void *a, const void *b)
{
	const gt_event *x = *(const gt_event *const *)a, *y = *(const gt_event *const *)b;
	if (x->t_us != y->t_us)
		return x->t_us < y->t_us ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int print_events(FILE *f, const watch_log *log, bool json, gt_time_us start)
{
	const gt_event **order = malloc((log->n ? log->n : 1) * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < log->n; i++)
		order[i] = &log->ev[i];
	qsort(order, log->n, sizeof(*order), by_time);
	int rc = 0;
	if (!json)
		fprintf(f, "%10s   %-45s  %s\n", "t (ms)", "socket (local > remote)", "state");
	for (size_t i = 0; i < log->n && rc == 0; i++) {
		const gt_event *ev = order[i];
		if (json) {
			rc = gt_trace_jsonl_write(f, ev);
			continue;
		}
		char conn[48], tbuf[32];
		gt_conn_str(&ev->conn, conn);
		char *gt = strchr(conn, '>');
		char shown[52];
		if (gt)
			snprintf(shown, sizeof(shown), "%.*s > %s", (int)(gt - conn), conn, gt + 1);
		else
			snprintf(shown, sizeof(shown), "%s", conn);
		/* the module dates a held connect() from its own event: never before
		 * the start in practice, but signed to be safe */
		double ms = ((double)ev->t_us - (double)start) / 1000.0;
		snprintf(tbuf, sizeof(tbuf), "%.3f", ms);
		fprintf(f, "%10s   %-45s  %s -> %s\n", tbuf, shown, gt_tcp_state_name(ev->from),
		        gt_tcp_state_name(ev->to));
	}
	free(order);
	if (fflush(f) != 0 || ferror(f))
		rc = -EIO;
	return rc;
}

/* Runs the loop until a signal, the end of the duration, or an error. */
static int watch_loop(gt_kstates *ks, int sigfd, gt_time_us stop_at, watch_log *log)
{
	for (;;) {
		gt_time_us now = mono_now();
		if (now >= stop_at) {
			/* one last read, then polls only for what is due within the grace */
			gt_kstates_drain(ks, WATCH_GRACE_US, on_event, log);
			return 0;
		}
		gt_time_us dl = gt_kstates_deadline(ks);
		gt_time_us wake = dl < stop_at ? dl : stop_at;
		int timeout_ms = -1;
		if (wake != GT_TIME_NEVER) {
			gt_time_us left = wake > now ? wake - now : 0;
			if (left > WATCH_MAX_WAIT_US)
				left = WATCH_MAX_WAIT_US; /* poll's int milliseconds */
			timeout_ms = (int)((left + 999) / 1000);
		}
		struct pollfd pfd[2] = {{.fd = gt_kstates_fd(ks), .events = POLLIN},
		                        {.fd = sigfd, .events = POLLIN}};
		int n = poll(pfd, 2, timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "glasstcp watch: poll: %s\n", strerror(errno));
			return -errno;
		}
		now = mono_now();
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				stop_at = now; /* stop: the next turn makes the last reads */
				continue;
			}
		}
		if ((pfd[0].revents & (POLLIN | POLLERR | POLLHUP)) ||
		    (dl != GT_TIME_NEVER && now >= dl))
			gt_kstates_process(ks, now, on_event, log);
	}
}

int gt_cli_watch(int argc, char **argv)
{
	watch_args a = {0};
	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc;
	if (a.help) {
		usage(stdout);
		return 0;
	}
	if (!a.addr_text) {
		fprintf(stderr, "glasstcp watch: which address? (--addr A)\n");
		usage(stderr);
		return 2;
	}
	FILE *out = stdout;
	if (a.out && !(out = fopen(a.out, "w"))) {
		fprintf(stderr, "glasstcp watch: cannot write %s: %s\n", a.out, strerror(errno));
		return 1;
	}

	/* SIGINT and SIGTERM are read from a signalfd: blocked before the module
	 * starts recording, so none is lost between the two. */
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	int sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		fprintf(stderr, "glasstcp watch: signalfd: %s\n", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (out != stdout)
			fclose(out);
		return 1;
	}

	char err[256];
	gt_kstates *ks = NULL;
	rc = gt_kstates_open(a.addr, "linux", &ks, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "glasstcp watch: %s\n", err[0] ? err : strerror(-rc));
		close(sigfd);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (out != stdout)
			fclose(out);
		return 1;
	}

	watch_log log = {0};
	gt_time_us start = mono_now();
	gt_time_us stop_at = GT_TIME_NEVER;
	if (a.duration_s >= 0)
		stop_at = start + (gt_time_us)llround(a.duration_s * 1e6);
	fprintf(stderr, "watching %s (Ctrl-C to stop)\n", a.addr_text);
	fflush(stderr);

	int status = 0;
	if (watch_loop(ks, sigfd, stop_at, &log) < 0)
		status = 1;
	if (log.oom) {
		fprintf(stderr, "glasstcp watch: out of memory: some events were not kept\n");
		status = 1;
	}
	rc = print_events(out, &log, a.json, start);
	if (rc < 0) {
		fprintf(stderr, "glasstcp watch: cannot write the events: %s\n", strerror(-rc));
		status = 1;
	}
	gt_kstates_close(ks);
	free(log.ev);
	close(sigfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (out != stdout && fclose(out) != 0) {
		fprintf(stderr, "glasstcp watch: cannot write %s: %s\n", a.out, strerror(errno));
		status = 1;
	}
	return status;
}
