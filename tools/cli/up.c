/* `glasstcp up`: runs the stack on a TUN device and hosts services on it
 * (echo, discard, http) until SIGINT/SIGTERM, then closes every connection
 * gracefully (FINs), waits for them within a bound, and exits 0. SIGUSR1
 * prints its counters and connections; its control socket answers
 * `glasstcp ss` (up_status.c). */
#include "apps/service.h"
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "cli/tun_cli.h"
#include "cli/up_status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERVICES 16
/* After the signal: how long connections get to finish their close. */
#define DRAIN_US 5000000u

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: glasstcp up --tun NAME --addr A --peer B [--serve SPEC]... [options]\n\n"
	        "Runs glasstcp on TUN device NAME as A; the kernel is B on the same /24.\n"
	        "Prints one line when ready; Ctrl-C closes every connection gracefully.\n\n"
	        "  --serve SPEC       a service: echo:PORT, discard:PORT, http:PORT:DIR\n"
	        "                     (repeatable; none: every port refuses)\n"
	        "  --ctl PATH         the control socket `glasstcp ss` asks (default\n"
	        "                     /run/glasstcp/NAME.sock as root, else in\n"
	        "                     $XDG_RUNTIME_DIR/glasstcp or /tmp/glasstcp-UID);\n"
	        "                     SIGUSR1 prints the same on stderr\n"
	        "%s",
	        tun_opts_usage);
}

typedef struct up_app {
	tun_run *r;
	gt_service *svc[MAX_SERVICES];
	size_t nsvc;
	up_status *status;
	bool draining;
	gt_time_us drain_until;
	bool timed_out;
	bool forced;
} up_app;

static size_t active(const up_app *a)
{
	size_t n = 0;
	for (size_t i = 0; i < a->nsvc; i++)
		n += gt_service_active(a->svc[i]);
	return n;
}

static void up_poll(void *user, gt_tun *t, gt_time_us now)
{
	up_app *a = user;
	for (size_t i = 0; i < a->nsvc; i++)
		gt_service_poll(a->svc[i], now);
	up_status_poll(a->status, now);
	if (!a->draining)
		return;
	if (active(a) == 0 && gt_tun_live_conns(t) == 0) {
		gt_tun_stop(t);
	} else if (now >= a->drain_until) {
		a->timed_out = true;
		gt_tun_stop(t);
	}
}

static gt_time_us up_deadline(void *user, gt_tun *t)
{
	up_app *a = user;
	gt_time_us d = a->draining ? a->drain_until : GT_TIME_NEVER;
	gt_time_us c = up_status_deadline(a->status);
	if (c < d)
		d = c;
	for (size_t i = 0; i < a->nsvc; i++) {
		gt_time_us s = gt_service_deadline(a->svc[i]);
		if (s < d)
			d = s;
	}
	return d;
}

static void up_signal(void *user, gt_tun *t, int signo, gt_time_us now)
{
	up_app *a = user;
	if (a->draining) {
		/* a second Ctrl-C: do not wait any longer */
		a->forced = true;
		gt_tun_stop(t);
		return;
	}
	a->draining = true;
	a->drain_until = now + DRAIN_US;
	for (size_t i = 0; i < a->nsvc; i++)
		gt_service_shutdown(a->svc[i], now);
}

/* Frees the services, the status outputs and the run: tun_run_finish's
 * status. */
static int up_free(up_app *a)
{
	up_status_free(a->status);
	for (size_t i = 0; i < a->nsvc; i++)
		gt_service_free(a->svc[i]);
	return tun_run_finish(a->r);
}

/* SIGUSR1 and the control socket: an explicit --ctl that cannot be served
 * fails the run, the default one only warns. 0 or 1. */
static int start_status(up_app *a, const char *ctl)
{
	char err[320], title[64], addr[16], path[256];
	gt_stack *st = a->r->st;
	snprintf(title, sizeof title, "glasstcp %s %s", gt_tun_ifname(a->r->tun),
	         gt_ipv4_str(gt_stack_addr(st), addr));
	if (!(a->status = up_status_new(a->r->tun, title, err, sizeof err))) {
		fprintf(stderr, "glasstcp up: %s\n", err);
		return 1;
	}
	if (ctl)
		snprintf(path, sizeof path, "%s", ctl);
	else
		up_ctl_default_path(gt_tun_ifname(a->r->tun), path, sizeof path);
	if (up_status_listen(a->status, path, !ctl, err, sizeof err) == 0)
		return 0;
	fprintf(stderr, "glasstcp up: control socket: %s%s\n", err,
	        ctl ? "" : "; going on without it (glasstcp ss cannot reach this up)");
	return ctl ? 1 : 0;
}

int gt_cli_up(int argc, char **argv)
{
	tun_opts o;
	tun_opts_init(&o, "up");
	const char *specs[MAX_SERVICES];
	size_t nspecs = 0;
	const char *ctl = NULL;
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
		if ((v = gt_cli_option_value(arg, "--serve", argc, argv, &i, &m)), m) {
			if (!v || !*v)
				return gt_cli_bad_usage("up", "--serve needs a spec: echo:PORT, "
				                              "discard:PORT or http:PORT:DIR");
			if (nspecs == MAX_SERVICES)
				return gt_cli_bad_usage("up", "at most %d services", MAX_SERVICES);
			specs[nspecs++] = v;
			continue;
		}
		if ((v = gt_cli_option_value(arg, "--ctl", argc, argv, &i, &m)), m) {
			if (!v || !*v)
				return gt_cli_bad_usage("up", "--ctl needs a path");
			ctl = v;
			continue;
		}
		if (arg[0] == '-')
			return gt_cli_bad_usage("up", "unknown option '%s' (glasstcp up --help)",
			                        arg);
		return gt_cli_bad_usage("up", "unexpected argument '%s' (glasstcp up --help)", arg);
	}
	int rc = tun_opts_check(&o);
	if (rc)
		return rc;

	tun_run r;
	if (tun_run_start(&r, &o))
		return 1;
	up_app a = {.r = &r};
	gt_time_us now = gt_tun_now(r.tun);
	for (size_t i = 0; i < nspecs; i++) {
		char err[256] = "";
		gt_service *s = gt_service_new(r.st, specs[i], now, err, sizeof err);
		if (!s) {
			/* a bad spec is bad usage, but the device is open: say so
			 * and give every service back */
			fprintf(stderr, "glasstcp up: --serve %s: %s\n", specs[i],
			        err[0] ? err : "cannot start");
			up_free(&a);
			return 2;
		}
		a.svc[a.nsvc++] = s;
	}
	if (start_status(&a, ctl)) {
		up_free(&a);
		return 1;
	}

	char a_s[16], p_s[16];
	printf("glasstcp: up on %s %s (kernel %s), serving", gt_tun_ifname(r.tun),
	       gt_ipv4_str(o.addr, a_s), gt_ipv4_str(o.peer, p_s));
	if (!a.nsvc)
		printf(" nothing");
	for (size_t i = 0; i < a.nsvc; i++)
		printf(" %s", gt_service_name(a.svc[i]));
	if (o.impaired) {
		char imp[200];
		printf(", impaired %s", gt_tun_impair_str(&o.impair, imp, sizeof imp));
	}
	printf("\n");
	fflush(stdout);

	gt_tun_app app = {
	    .poll = up_poll, .deadline = up_deadline, .on_signal = up_signal, .user = &a};
	int status = tun_run_loop(&r, &app);

	const gt_stack_counters *sc = gt_stack_get_counters(r.st);
	const gt_tun_stats *ts = gt_tun_get_stats(r.tun);
	if (a.timed_out || a.forced)
		fprintf(stderr,
		        "glasstcp up: %s with %zu connection(s) still closing (%zu held by "
		        "services)\n",
		        a.forced ? "second signal: leaving" : "gave up after 5 s",
		        gt_tun_live_conns(r.tun), active(&a));
	fprintf(stderr,
	        "glasstcp: down: %llu connection(s) served, %llu bytes in, %llu bytes out "
	        "(%llu retransmitted), %llu packets in, %llu out; ",
	        (unsigned long long)sc->conns_opened, (unsigned long long)ts->rx_bytes,
	        (unsigned long long)ts->tx_bytes, (unsigned long long)ts->tx_rexmit_bytes,
	        (unsigned long long)ts->rx_packets, (unsigned long long)ts->tx_packets);
	tun_run_print_drops(&r, stderr);
	if (sc->orphans_timedout || sc->orphans_reset_overflow)
		fprintf(
		    stderr,
		    "; closed connections reset: %llu out of orphan_retries, %llu over max_orphans",
		    (unsigned long long)sc->orphans_timedout,
		    (unsigned long long)sc->orphans_reset_overflow);
	fputc('\n', stderr);
	tun_run_print_counters(&r, stderr);

	if (up_free(&a))
		status = 1;
	if (fflush(stdout) != 0)
		status = 1;
	return status;
}
