/* The TUN commands' shared options and run (tun_cli.h). */
#include "cli/tun_cli.h"

#include "cli/cli_args.h"
#include "cli/stats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* JSON Lines are flushed at most this often, so `tail -f` follows a run
 * without a write per event. */
#define JSON_FLUSH_US 200000u
/* After the run, how long --kernel-states keeps polling for Linux's last
 * steps (an orphaned FIN_WAIT_2 handed to a time-wait socket, a final CLOSE). */
#define TUN_KSTATES_GRACE_US 150000u

const char tun_opts_usage[] =
    "  --tun NAME         the TUN device (created if it does not exist)\n"
    "  --addr A           glasstcp's IPv4 address on it\n"
    "  --peer B           the kernel's address on it (/24; set when root)\n"
    "  --pcap FILE        write every packet glasstcp receives and sends (pcap)\n"
    "  --json FILE        write every event as JSON Lines\n"
    "  --profile P        the stack's defaults as linux, freebsd or rfc (docs/profiles.md)\n"
    "  --impair SPEC      impair the path both ways: loss=P,delay=MS,jitter=MS,\n"
    "                     reorder=P,dup=P,corrupt=P,seed=N (P: 0..1 or N%)\n"
    "  --kernel-states    also trace the Linux side's TCP states (root, tracefs)\n"
    "  --table FILE       at exit, the seed's table of every connection ('-': stdout);\n"
    "                     with --kernel-states the Linux side's states stand beside\n";

void tun_opts_init(tun_opts *o, const char *cmd)
{
	memset(o, 0, sizeof *o);
	o->cmd = cmd;
	/* the table reads like the seed's: the client on the left */
	o->glasstcp_on_left = strcmp(cmd, "up") != 0;
}

int tun_opts_parse(tun_opts *o, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	const char *v;
	bool m;
	if ((v = gt_cli_option_value(arg, "--tun", argc, argv, i, &m)), m) {
		if (!v || !*v)
			return gt_cli_bad_usage(o->cmd, "--tun needs a device name");
		if (strlen(v) > 15)
			return gt_cli_bad_usage(o->cmd, "--tun: '%s' is longer than 15 characters",
			                        v);
		o->tun = v;
		return 1;
	}
	if ((v = gt_cli_option_value(arg, "--addr", argc, argv, i, &m)), m) {
		if (!v || gt_ipv4_parse(v, &o->addr) < 0 || !o->addr)
			return gt_cli_bad_usage(o->cmd, "--addr needs an IPv4 address, got '%s'",
			                        v ? v : "");
		o->have_addr = true;
		return 1;
	}
	if ((v = gt_cli_option_value(arg, "--peer", argc, argv, i, &m)), m) {
		if (!v || gt_ipv4_parse(v, &o->peer) < 0 || !o->peer)
			return gt_cli_bad_usage(o->cmd, "--peer needs an IPv4 address, got '%s'",
			                        v ? v : "");
		o->have_peer = true;
		return 1;
	}
	if ((v = gt_cli_option_value(arg, "--pcap", argc, argv, i, &m)), m) {
		if (!v || !*v)
			return gt_cli_bad_usage(o->cmd, "--pcap needs a file name");
		o->pcap = v;
		return 1;
	}
	if ((v = gt_cli_option_value(arg, "--json", argc, argv, i, &m)), m) {
		if (!v || !*v)
			return gt_cli_bad_usage(o->cmd,
			                        "--json needs a file name ('-' for stdout)");
		o->json = v;
		return 1;
	}
	if ((v = gt_cli_option_value(arg, "--impair", argc, argv, i, &m)), m) {
		char err[160];
		if (!v)
			return gt_cli_bad_usage(o->cmd, "--impair needs a spec, e.g. "
			                                "loss=0.02,delay=20,seed=1");
		if (gt_tun_impair_parse(v, &o->impair, err, sizeof err) < 0)
			return gt_cli_bad_usage(o->cmd, "--impair: %s", err);
		o->impaired = true;
		return 1;
	}
	if ((v = gt_cli_option_value(arg, "--profile", argc, argv, i, &m)), m) {
		gt_stack_config probe;
		gt_stack_config_default(&probe);
		if (!v || gt_stack_config_profile(&probe, v) < 0)
			return gt_cli_bad_usage(o->cmd, "--profile needs linux, freebsd or rfc");
		o->profile = v;
		return 1;
	}
	if (!strcmp(arg, "--kernel-states")) {
		o->kernel_states = true;
		return 1;
	}
	if ((v = gt_cli_option_value(arg, "--table", argc, argv, i, &m)), m) {
		if (!v || !*v)
			return gt_cli_bad_usage(o->cmd,
			                        "--table needs a file name ('-' for stdout)");
		o->table = v;
		return 1;
	}
	return 0;
}

int tun_opts_check(const tun_opts *o)
{
	if (!o->tun)
		return gt_cli_bad_usage(o->cmd, "--tun NAME is required (glasstcp %s --help)",
		                        o->cmd);
	if (!o->have_addr)
		return gt_cli_bad_usage(o->cmd, "--addr A is required (glasstcp %s --help)",
		                        o->cmd);
	if (!o->have_peer)
		return gt_cli_bad_usage(o->cmd, "--peer B is required (glasstcp %s --help)",
		                        o->cmd);
	return 0;
}

const char *tun_errno_text(int err, char *buf, size_t len)
{
	int e = err < 0 ? -err : err;
	switch (e) {
	case ECONNREFUSED:
		return "connection refused (ECONNREFUSED)";
	case ECONNRESET:
		return "connection reset by peer (ECONNRESET)";
	case ETIMEDOUT:
		return "connection timed out (ETIMEDOUT)";
	case EPIPE:
		return "broken pipe (EPIPE)";
	default:
		snprintf(buf, len, "%s (errno %d)", strerror(e), e);
		return buf;
	}
}

/* ---- events ---- */

static void print_state(const gt_event *ev)
{
	char c[48];
	fprintf(stderr, "%llu.%06llu %-8s %s %s -> %s (%s)\n",
	        (unsigned long long)(ev->t_us / 1000000u),
	        (unsigned long long)(ev->t_us % 1000000u), ev->host ? ev->host : "?",
	        ev->has_conn ? gt_conn_str(&ev->conn, c) : "-", gt_tcp_state_name(ev->from),
	        gt_tcp_state_name(ev->to), ev->cause ? ev->cause : "");
}

/* A table needs headers, not payloads: a 100 MB transfer is about 150,000
 * events, so the log is bounded and keeps no packet bytes. */
#define TABLE_MAX_EVENTS 2000000u

static void on_event(void *user, const gt_event *ev)
{
	tun_run *r = user;
	if (r->log && ev->kind != GT_EV_SOCKET) {
		if (gt_trace_log_count(r->log) < TABLE_MAX_EVENTS) {
			gt_event e = *ev;
			e.pkt = NULL;
			e.pkt_len = 0;
			gt_trace_log_record(r->log, &e);
		} else {
			r->log_skipped++;
		}
	}
	if (r->json) {
		if (ev->kind == GT_EV_SOCKET)
			return;
		if (gt_trace_jsonl_write(r->json, ev) < 0)
			r->json_failed = true;
		r->json_dirty = true;
	} else if (r->print_states && ev->kind == GT_EV_STATE) {
		print_state(ev);
	}
}

static void on_kstates_fd(void *user, gt_tun *t, int fd, unsigned revents, gt_time_us now)
{
	tun_run *r = user;
	gt_kstates_process(r->ks, now, on_event, r);
}

/* ---- the wrapped hooks ---- */

static void wrap_poll(void *user, gt_tun *t, gt_time_us now)
{
	tun_run *r = user;
	if (r->ks && gt_kstates_deadline(r->ks) <= now)
		gt_kstates_process(r->ks, now, on_event, r);
	if (r->app.poll)
		r->app.poll(r->app.user, t, now);
	if (r->json && r->json_dirty && now - r->json_flushed >= JSON_FLUSH_US) {
		if (fflush(r->json) != 0)
			r->json_failed = true;
		r->json_dirty = false;
		r->json_flushed = now;
	}
}

static gt_time_us wrap_deadline(void *user, gt_tun *t)
{
	tun_run *r = user;
	gt_time_us d = r->app.deadline ? r->app.deadline(r->app.user, t) : GT_TIME_NEVER;
	if (r->ks) {
		gt_time_us k = gt_kstates_deadline(r->ks);
		if (k < d)
			d = k;
	}
	if (r->json && r->json_dirty) {
		gt_time_us j = r->json_flushed + JSON_FLUSH_US;
		if (j < d)
			d = j;
	}
	return d;
}

static void wrap_signal(void *user, gt_tun *t, int signo, gt_time_us now)
{
	tun_run *r = user;
	if (r->app.on_signal)
		r->app.on_signal(r->app.user, t, signo, now);
	else
		gt_tun_stop(t);
}

/* ---- a run ---- */

int tun_run_start(tun_run *r, const tun_opts *o)
{
	memset(r, 0, sizeof *r);
	r->o = o;
	const char *cmd = o->cmd;
	if (o->json) {
		if (!strcmp(o->json, "-")) {
			r->json = stdout;
		} else if (!(r->json = fopen(o->json, "w"))) {
			fprintf(stderr, "glasstcp %s: cannot write %s: %s\n", cmd, o->json,
			        strerror(errno));
			return 1;
		}
		setvbuf(r->json, NULL, _IOFBF, 1 << 20);
	}
	if (o->pcap && !(r->pcap = gt_pcap_open(o->pcap))) {
		fprintf(stderr, "glasstcp %s: cannot write %s: %s\n", cmd, o->pcap,
		        strerror(errno));
		tun_run_finish(r);
		return 1;
	}

	if (o->table && !(r->log = gt_trace_log_new())) {
		fprintf(stderr, "glasstcp %s: out of memory for --table\n", cmd);
		tun_run_finish(r);
		return 1;
	}

	gt_tun_config cfg;
	gt_tun_config_default(&cfg);
	if (o->profile)
		gt_stack_config_profile(&cfg.stack, o->profile); /* checked when parsed */
	cfg.ifname = o->tun;
	cfg.addr = o->addr;
	cfg.peer = o->peer;
	cfg.impair = o->impaired ? &o->impair : NULL;
	cfg.pcap = r->pcap;
	cfg.on_event = on_event;
	cfg.event_user = r;
	char err[320];
	if (gt_tun_new(&cfg, &r->tun, err, sizeof err) < 0) {
		fprintf(stderr, "glasstcp %s: %s\n", cmd, err);
		tun_run_finish(r);
		return 1;
	}
	r->st = gt_tun_stack(r->tun);
	r->json_flushed = gt_tun_now(r->tun);

	if (o->kernel_states) {
		int rc = gt_kstates_open(o->addr, "linux", &r->ks, err, sizeof err);
		if (rc < 0) {
			fprintf(stderr,
			        "glasstcp %s: --kernel-states: %s; going on without the "
			        "Linux side's states\n",
			        cmd, err[0] ? err : strerror(-rc));
			r->ks = NULL;
		} else if ((rc = gt_tun_watch(r->tun, gt_kstates_fd(r->ks), GT_TUN_IN,
		                              on_kstates_fd, r)) < 0) {
			fprintf(stderr, "glasstcp %s: --kernel-states: cannot watch its fd: %s\n",
			        cmd, strerror(-rc));
			gt_kstates_close(r->ks);
			r->ks = NULL;
		} else if (!r->json) {
			r->print_states = true;
		}
	}
	return 0;
}

int tun_run_loop(tun_run *r, const gt_tun_app *app)
{
	r->app = *app;
	gt_tun_app w = {
	    .poll = wrap_poll, .deadline = wrap_deadline, .on_signal = wrap_signal, .user = r};
	gt_tun_set_app(r->tun, &w);
	int rc = gt_tun_run(r->tun);
	if (rc == -EBADFD || rc == -EIO) {
		fprintf(stderr, "glasstcp %s: TUN device %s went away (deleted?): %s\n", r->o->cmd,
		        gt_tun_ifname(r->tun), strerror(-rc));
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "glasstcp %s: the event loop failed: %s\n", r->o->cmd,
		        strerror(-rc));
		return 1;
	}
	return 0;
}

void tun_run_print_drops(const tun_run *r, FILE *f)
{
	const gt_tun_stats *ts = gt_tun_get_stats(r->tun);
	const gt_stack_counters *sc = gt_stack_get_counters(r->st);
	fprintf(f, "drops: %llu by glasstcp's checks, %llu TUN writes that would block",
	        (unsigned long long)sc->drops, (unsigned long long)ts->tx_drops);
	if (ts->tx_errors)
		fprintf(f, ", %llu TUN write errors", (unsigned long long)ts->tx_errors);
	if (r->o->impaired) {
		fprintf(f,
		        "; impairment in/out: lost %llu/%llu, duplicated %llu/%llu, "
		        "reordered %llu/%llu",
		        (unsigned long long)ts->imp_lost[0], (unsigned long long)ts->imp_lost[1],
		        (unsigned long long)ts->imp_dup[0], (unsigned long long)ts->imp_dup[1],
		        (unsigned long long)ts->imp_reordered[0],
		        (unsigned long long)ts->imp_reordered[1]);
		if (ts->imp_corrupted[0] || ts->imp_corrupted[1])
			fprintf(f, ", corrupted %llu/%llu",
			        (unsigned long long)ts->imp_corrupted[0],
			        (unsigned long long)ts->imp_corrupted[1]);
		if (ts->imp_overflow[0] || ts->imp_overflow[1])
			fprintf(f, ", queue full %llu/%llu",
			        (unsigned long long)ts->imp_overflow[0],
			        (unsigned long long)ts->imp_overflow[1]);
	}
}

void tun_run_print_counters(const tun_run *r, FILE *f)
{
	const gt_stack_counters *sc = gt_stack_get_counters(r->st);
	stats_counter c[STATS_MAX_COUNTERS];
	size_t n = stats_counters(sc, c);
	fputs("glasstcp: counters:", f);
	for (size_t i = 0; i < n; i++)
		if (c[i].field)
			fprintf(f, " %s=%llu", c[i].field, (unsigned long long)c[i].v);
	for (int d = 0; d < GT_DROP_REASON_COUNT; d++)
		if (sc->drop[d])
			fprintf(f, " drop.%s=%llu", gt_drop_reason_name((gt_drop_reason)d),
			        (unsigned long long)sc->drop[d]);
	fputc('\n', f);
}

int tun_run_finish(tun_run *r)
{
	int status = 0;
	const char *cmd = r->o ? r->o->cmd : "?";
	if (r->ks) {
		/* the last transitions (the kernel's final CLOSE, which may come
		 * just after glasstcp's own last step) */
		gt_kstates_drain(r->ks, TUN_KSTATES_GRACE_US, on_event, r);
		gt_kstates_close(r->ks);
		r->ks = NULL;
	}
	if (r->log) {
		FILE *f = strcmp(r->o->table, "-") ? fopen(r->o->table, "w") : stdout;
		const char *us = r->tun ? gt_stack_name(gt_tun_stack(r->tun)) : "glasstcp";
		gt_table_opts to = {.left_host = r->o->glasstcp_on_left ? us : "linux",
		                    .right_host = r->o->glasstcp_on_left ? "linux" : us};
		if (!f || gt_trace_table_print(f, r->log, &to) < 0 ||
		    (f != stdout ? fclose(f) : fflush(f)) != 0) {
			fprintf(stderr, "glasstcp %s: error writing the table to %s\n", cmd,
			        r->o->table);
			status = 1;
		}
		if (r->log_skipped)
			fprintf(stderr, "glasstcp %s: the table stops after %u events (%zu more)\n",
			        cmd, TABLE_MAX_EVENTS, r->log_skipped);
		gt_trace_log_free(r->log);
		r->log = NULL;
	}
	gt_tun_free(r->tun);
	r->tun = NULL;
	r->st = NULL;
	if (r->pcap && gt_pcap_close(r->pcap) < 0) {
		fprintf(stderr, "glasstcp %s: error writing %s\n", cmd, r->o->pcap);
		status = 1;
	}
	r->pcap = NULL;
	if (r->json) {
		bool bad = r->json_failed || fflush(r->json) != 0 || ferror(r->json);
		if (r->json != stdout && fclose(r->json) != 0)
			bad = true;
		if (bad) {
			fprintf(stderr, "glasstcp %s: error writing %s\n", cmd, r->o->json);
			status = 1;
		}
		r->json = NULL;
	}
	return status;
}
