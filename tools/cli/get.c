/* `glasstcp get`: one HTTP/1.1 GET over glasstcp on a TUN device, the body
 * to a file (or stdout). Exit 0 on a complete 2xx body. */
#include "apps/service.h"
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "cli/tun_cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* After the response: how long the connection gets to finish its close (our
 * FIN acknowledged). The engine's retransmission limit ends it sooner when the
 * server is gone; 60 s covers a FIN whose RTO was backed off (Karn: a client
 * that only received data has no fresh RTT sample to reset the backoff), which
 * a 5 s bound cut short on a lossy path. Ctrl-C ends it at once. */
#define LINGER_US 60000000u

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: glasstcp get --tun NAME --addr A --peer B [options] URL [-o FILE]\n\n"
	        "Fetches URL (http://A.B.C.D[:PORT]/path) with HTTP/1.1 over TUN device NAME\n"
	        "and writes the body to FILE (default: stdout). Exit 0 on a complete 2xx.\n"
	        "After the body it waits for the connection's close to complete (our FIN\n"
	        "acknowledged), up to 60 s; Ctrl-C stops at once.\n\n"
	        "  -o, --output FILE  where the body goes ('-' for stdout)\n"
	        "%s",
	        tun_opts_usage);
}

typedef struct get_app {
	gt_http_get *g;
	bool done;
	gt_time_us done_at;
	gt_time_us started;
	bool interrupted;
} get_app;

static void get_poll(void *user, gt_tun *t, gt_time_us now)
{
	get_app *a = user;
	if (!a->done) {
		gt_http_get_poll(a->g, now);
		if (!gt_http_get_done(a->g))
			return;
		a->done = true;
		a->done_at = now;
	}
	/* wait for the connection's close to finish (our FIN acknowledged, or
	 * TIME_WAIT), so the server sees a clean end */
	if (gt_tun_live_conns(t) == 0 || now >= a->done_at + LINGER_US)
		gt_tun_stop(t);
}

static gt_time_us get_deadline(void *user, gt_tun *t)
{
	get_app *a = user;
	return a->done ? a->done_at + LINGER_US : GT_TIME_NEVER;
}

static void get_signal(void *user, gt_tun *t, int signo, gt_time_us now)
{
	get_app *a = user;
	a->interrupted = true;
	gt_tun_stop(t);
}

int gt_cli_get(int argc, char **argv)
{
	tun_opts o;
	tun_opts_init(&o, "get");
	const char *url = NULL;
	const char *outpath = NULL;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		bool m;
		const char *v;
		int rc = tun_opts_parse(&o, argc, argv, &i);
		if (rc == 1)
			continue;
		if (rc)
			return rc;
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			return 0;
		}
		if (((v = gt_cli_option_value(arg, "-o", argc, argv, &i, &m)), m) ||
		    ((v = gt_cli_option_value(arg, "--output", argc, argv, &i, &m)), m)) {
			if (!v || !*v)
				return gt_cli_bad_usage("get",
				                        "-o needs a file name ('-' for stdout)");
			outpath = v;
			continue;
		}
		if (arg[0] == '-' && arg[1] != '\0')
			return gt_cli_bad_usage("get", "unknown option '%s' (glasstcp get --help)",
			                        arg);
		if (url)
			return gt_cli_bad_usage("get", "one URL at a time ('%s' is one too many)",
			                        arg);
		url = arg;
	}
	int rc = tun_opts_check(&o);
	if (rc)
		return rc;
	if (!url)
		return gt_cli_bad_usage("get", "which URL? (glasstcp get --help)");

	signal(SIGPIPE, SIG_IGN);
	FILE *out = stdout;
	bool to_stdout = !outpath || !strcmp(outpath, "-");
	if (!to_stdout && !(out = fopen(outpath, "wb"))) {
		fprintf(stderr, "glasstcp get: cannot write %s: %s\n", outpath, strerror(errno));
		return 1;
	}
	setvbuf(out, NULL, _IOFBF, 1 << 20);

	tun_run r;
	if (tun_run_start(&r, &o)) {
		if (!to_stdout)
			fclose(out);
		return 1;
	}
	get_app a = {.started = gt_tun_now(r.tun)};
	char err[256] = "";
	a.g = gt_http_get_new(r.st, url, out, a.started, err, sizeof err);
	if (!a.g) {
		tun_run_finish(&r);
		if (!to_stdout)
			fclose(out);
		return gt_cli_bad_usage("get", "%s", err[0] ? err : "bad URL");
	}

	gt_tun_app app = {
	    .poll = get_poll, .deadline = get_deadline, .on_signal = get_signal, .user = &a};
	int status = tun_run_loop(&r, &app);

	int http_status = 0;
	uint64_t bytes = 0;
	int res = a.done ? gt_http_get_result(a.g, &http_status, &bytes) : 0;
	if (status) {
		/* the loop failed: already said */
	} else if (a.interrupted && !a.done) {
		fprintf(stderr, "glasstcp get: interrupted\n");
		status = 1;
	} else if (res == 0) {
		double secs = (double)(a.done_at - a.started) / 1e6;
		fprintf(stderr, "glasstcp get: %d, %llu bytes in %.3f s (%.1f Mbit/s)\n",
		        http_status, (unsigned long long)bytes, secs,
		        secs > 0 ? (double)bytes * 8 / secs / 1e6 : 0.0);
	} else if (res > 0) {
		fprintf(stderr, "glasstcp get: %s: HTTP status %d (%llu body bytes)\n", url, res,
		        (unsigned long long)bytes);
		status = 1;
	} else {
		char buf[96];
		fprintf(stderr, "glasstcp get: %s: %s\n", url,
		        tun_errno_text(res, buf, sizeof buf));
		status = 1;
	}
	gt_http_get_free(a.g);
	if (tun_run_finish(&r))
		status = 1;
	if (fflush(out) != 0 || ferror(out) || (!to_stdout && fclose(out) != 0)) {
		fprintf(stderr, "glasstcp get: error writing %s\n", to_stdout ? "stdout" : outpath);
		status = 1;
	}
	return status;
}
