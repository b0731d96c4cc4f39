/* `glasstcp explain CAPTURE`: every TCP connection of a pcap/pcapng capture,
 * with the state sequences of both ends inferred from the packets
 * (view/explain.h), shown as the seed's table, as JSON Lines, as ladder
 * diagrams or as an HTML report, with the anomalies explained. */
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "view/explain.h"
#include "view/flow.h"
#include "view/ladder.h"
#include "view/report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_TIME_WAIT_S 86400 /* seconds */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: glasstcp explain CAPTURE [--json] [--svg DIR] [--html FILE] [--absolute]\n"
	        "                        [--html-max N] [--time-wait SECONDS]\n\n"
	        "Reads a pcap or pcapng capture (Ethernet, Linux cooked, raw IPv4, BSD loopback),\n"
	        "finds every TCP connection over IPv4 and infers the RFC 9293 state sequence of\n"
	        "both ends from the packets alone. A state marked * was inferred (the capture\n"
	        "cannot show it: the final ACK arriving, an RST arriving, the end of TIME_WAIT)\n"
	        "rather than seen in a packet the end sent. Anomalies are explained below each\n"
	        "connection.\n\n"
	        "  --json              JSON Lines in the trace's schema (state events carry\n"
	        "                      \"inferred\":true where deduced), then one line per\n"
	        "                      anomaly: {\"ev\":\"anomaly\",\"conn\",\"index\",\"t_us\",\n"
	        "                      \"kind\",\"text\"}\n"
	        "  --svg DIR           also write a ladder diagram per connection: DIR/conn-N.svg\n"
	        "  --html FILE         also write a self-contained HTML report to FILE\n"
	        "  --html-max N        diagrams in the report for at most N connections\n"
	        "                      (default 50: the first ones, then those with\n"
	        "                      retransmissions or resets, then anomalies); its table\n"
	        "                      lists them all\n"
	        "  --absolute          absolute sequence numbers (default: relative to the ISNs)\n"
	        "  --time-wait SECONDS how long TIME_WAIT lasts (2*MSL), to infer its end when\n"
	        "                      the capture runs that long (default 60, as Linux)\n\n"
	        "Exit status: 0 explained (also a valid capture with no TCP in it: then one\n"
	        "line says so), 1 an output could not be written, 2 bad usage or an unusable\n"
	        "capture (missing, empty, not a capture, header cut short, unsupported link\n"
	        "type), and 2 also for a capture whose last record is cut short: what was read\n"
	        "is explained first, then one line on stderr says the file is truncated.\n");
}

typedef struct explain_args {
	const char *capture;
	bool json;
	bool help;
	bool absolute;
	const char *svg_dir;
	const char *html;
	size_t html_max; /* 0: the report's default */
	gt_explain_opts opts;
} explain_args;

/* --time-wait SECONDS into gt_time_us */
static bool take_time_wait(const char *value, void *out)
{
	double seconds;
	if (!gt_cli_parse_decimal(value, MAX_TIME_WAIT_S, &seconds))
		return false;
	*(gt_time_us *)out = (gt_time_us)llround(seconds * 1e6);
	return true;
}

static int parse_args(int argc, char **argv, explain_args *a)
{
	gt_explain_opts_default(&a->opts);
	gt_cli_opt opts[] = {
	    gt_cli_flag("--json", &a->json),
	    gt_cli_flag("--absolute", &a->absolute),
	    gt_cli_string("--svg", "a directory", &a->svg_dir),
	    gt_cli_html_max(&a->html_max),
	    gt_cli_file("--html", &a->html),
	    gt_cli_number("--time-wait", "seconds 0.." GT_CLI_STR(MAX_TIME_WAIT_S), take_time_wait,
	                  &a->opts.time_wait_us),
	};
	gt_cli_args spec = {.cmd = "explain",
	                    .operand = "capture",
	                    .operand_out = &a->capture,
	                    .help = &a->help,
	                    .opts = opts,
	                    .n_opts = sizeof opts / sizeof opts[0]};
	return gt_cli_parse_args(&spec, argc, argv);
}

/* ---- connections of the log ---- */

/* The unordered pair of an event's endpoints, as gt_flow_count keys them. */
typedef struct pair_key {
	uint64_t a, b;
} pair_key;

static pair_key event_pair(const gt_event *ev)
{
	uint64_t l = ((uint64_t)ev->conn.local_addr << 16) | ev->conn.local_port;
	uint64_t r = ((uint64_t)ev->conn.remote_addr << 16) | ev->conn.remote_port;
	return l < r ? (pair_key){l, r} : (pair_key){r, l};
}

/* Each event's connection index (order of first appearance, as gt_flow_count
 * counts them). Returns NULL on allocation failure. */
static size_t *event_conns(const gt_trace_log *log, size_t n_conns)
{
	size_t n = gt_trace_log_count(log);
	size_t *idx = malloc((n ? n : 1) * sizeof *idx);
	size_t nslots = 16;
	while (nslots < 2 * n_conns + 2)
		nslots *= 2;
	pair_key *keys = calloc(nslots, sizeof *keys);
	size_t *vals = calloc(nslots, sizeof *vals); /* index + 1 */
	if (!idx || !keys || !vals) {
		free(idx);
		free(keys);
		free(vals);
		return NULL;
	}
	size_t next = 0;
	for (size_t i = 0; i < n; i++) {
		pair_key k = event_pair(gt_trace_log_get(log, i));
		size_t h = (size_t)((k.a * 0x9E3779B97F4A7C15ull) ^ (k.b * 0xC2B2AE3D27D4EB4Full));
		h ^= h >> 31;
		size_t j = h & (nslots - 1);
		while (vals[j] && (keys[j].a != k.a || keys[j].b != k.b))
			j = (j + 1) & (nslots - 1);
		if (!vals[j]) {
			if (next >= n_conns) { /* cannot happen: explain counted them */
				free(idx);
				idx = NULL;
				break;
			}
			keys[j] = k;
			vals[j] = ++next;
		}
		idx[i] = vals[j] - 1;
	}
	free(keys);
	free(vals);
	return idx;
}

static bool seq_ge(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

static uint32_t seg_end(const gt_seg_info *g)
{
	return g->seq + g->len + ((g->flags & GT_TCP_SYN) ? 1u : 0u) +
	       ((g->flags & GT_TCP_FIN) ? 1u : 0u);
}

static bool same_host(const gt_event *a, const gt_event *b)
{
	return a->conn.local_addr == b->conn.local_addr && a->conn.local_port == b->conn.local_port;
}

/* How far back a retransmission's first copy is looked for. */
#define LOST_LOOKBACK 4096

/* Which packets of one connection (ev[0..n), in log order) the table draws as
 * lost, by what the ends did next: a copy sent again with no ACK of it
 * captured in between, and a pure ACK of a SYN or FIN that the peer then sent
 * again. */
static void guess_lost(const gt_event *const *ev, size_t n, bool *lost)
{
	for (size_t j = 0; j < n; j++) {
		const gt_event *r = ev[j];
		if (r->kind != GT_EV_TX || !r->seg.rexmit)
			continue;
		const uint8_t ctl = GT_TCP_SYN | GT_TCP_FIN;
		size_t lo = j > LOST_LOOKBACK ? j - LOST_LOOKBACK : 0;
		size_t first = SIZE_MAX;
		bool acked = false;
		for (size_t i = j; i-- > lo;) {
			const gt_event *c = ev[i];
			if (c->kind != GT_EV_TX)
				continue;
			if (!same_host(c, r)) {
				if ((c->seg.flags & GT_TCP_ACK) &&
				    seq_ge(c->seg.ack, seg_end(&r->seg)))
					acked = true;
				continue;
			}
			if (c->seg.seq == r->seg.seq && c->seg.len == r->seg.len &&
			    (c->seg.flags & ctl) == (r->seg.flags & ctl)) {
				first = i;
				break;
			}
		}
		if (first != SIZE_MAX && !acked)
			lost[first] = true;
	}
	for (size_t q = 0; q < n; q++) {
		const gt_event *a = ev[q];
		if (a->kind != GT_EV_TX || a->seg.len ||
		    (a->seg.flags & (GT_TCP_SYN | GT_TCP_FIN | GT_TCP_RST)) ||
		    !(a->seg.flags & GT_TCP_ACK))
			continue;
		for (size_t j = q + 1; j < n; j++) {
			const gt_event *p = ev[j];
			if (p->kind != GT_EV_TX || same_host(p, a))
				continue;
			if (p->seg.rexmit && (p->seg.flags & (GT_TCP_SYN | GT_TCP_FIN)) &&
			    p->t_us > a->t_us && seq_ge(a->seg.ack, seg_end(&p->seg)))
				lost[q] = true;
			break;
		}
	}
}

/* The events of each connection, in log order: those of connection k are
 * events[start[k] .. start[k + 1]) (indexes into the log). */
typedef struct conn_index {
	size_t *start;
	size_t *events;
} conn_index;

static bool conn_index_build(const gt_trace_log *log, size_t n_conns, conn_index *ci)
{
	size_t n = gt_trace_log_count(log);
	size_t *idx = event_conns(log, n_conns);
	ci->start = calloc(n_conns + 1, sizeof *ci->start);
	ci->events = malloc((n ? n : 1) * sizeof *ci->events);
	size_t *fill = calloc(n_conns + 1, sizeof *fill);
	bool ok = idx && ci->start && ci->events && fill;
	for (size_t i = 0; ok && i < n; i++)
		ci->start[idx[i] + 1]++;
	for (size_t k = 0; ok && k < n_conns; k++) {
		ci->start[k + 1] += ci->start[k];
		fill[k] = ci->start[k];
	}
	for (size_t i = 0; ok && i < n; i++)
		ci->events[fill[idx[i]]++] = i;
	free(idx);
	free(fill);
	if (!ok) {
		free(ci->start);
		free(ci->events);
		*ci = (conn_index){0};
	}
	return ok;
}

static void conn_index_free(conn_index *ci)
{
	free(ci->start);
	free(ci->events);
}

/* The events of connection k, times shifted back by t0. With arrivals, each
 * packet is also logged as received by the other end at its capture time
 * (or as lost on the way when guess_lost says so), so that the table draws it as
 * delivered and puts the changes its arrival caused in the receiver's column:
 * a capture cannot tell when a packet arrived. */
static gt_trace_log *conn_log(const gt_trace_log *log, const conn_index *ci, size_t k,
                              gt_time_us t0, bool arrivals)
{
	size_t m = ci->start[k + 1] - ci->start[k];
	const gt_event **ev = malloc((m ? m : 1) * sizeof *ev);
	bool *lost = calloc(m ? m : 1, sizeof *lost);
	gt_trace_log *out = gt_trace_log_new();
	if (!ev || !lost || !out) {
		free(ev);
		free(lost);
		gt_trace_log_free(out);
		return NULL;
	}
	for (size_t i = 0; i < m; i++)
		ev[i] = gt_trace_log_get(log, ci->events[ci->start[k] + i]);
	if (arrivals)
		guess_lost(ev, m, lost);
	for (size_t i = 0; i < m; i++) {
		gt_event e = *ev[i];
		e.t_us = e.t_us >= t0 ? e.t_us - t0 : 0;
		gt_trace_log_record(out, &e);
		if (!arrivals || e.kind != GT_EV_TX)
			continue;
		char peer[24], ip[16];
		snprintf(peer, sizeof peer, "%s:%u", gt_ipv4_str(e.conn.remote_addr, ip),
		         (unsigned)e.conn.remote_port);
		gt_event rx = e;
		rx.kind = GT_EV_RX;
		rx.host = peer;
		rx.conn = (gt_conn_tuple){.local_addr = e.conn.remote_addr,
		                          .remote_addr = e.conn.local_addr,
		                          .local_port = e.conn.remote_port,
		                          .remote_port = e.conn.local_port};
		rx.seg.rexmit = false;
		if (lost[i]) {
			/* the table matches arrivals by content: a later copy's
			 * arrival would be taken for this one, so the loss is said */
			rx.kind = GT_EV_DROP;
			rx.reason = GT_DROP_SIM_LOSS;
		}
		gt_trace_log_record(out, &rx);
	}
	free(ev);
	free(lost);
	if (gt_trace_log_dropped(out)) {
		gt_trace_log_free(out);
		return NULL;
	}
	return out;
}

static void endpoint_str(uint32_t addr, uint16_t port, char buf[24])
{
	char ip[16];
	snprintf(buf, 24, "%s:%u", gt_ipv4_str(addr, ip), (unsigned)port);
}

/* The two ends of a connection's log: left = the first SYN's sender, else the
 * first sender (flow.h). */
static void conn_ends(const gt_trace_log *clog, char left[24], char right[24])
{
	size_t n = gt_trace_log_count(clog);
	const gt_event *pick = NULL;
	for (size_t i = 0; i < n && !pick; i++) {
		const gt_event *ev = gt_trace_log_get(clog, i);
		if (ev->kind == GT_EV_TX && (ev->seg.flags & GT_TCP_SYN) &&
		    !(ev->seg.flags & GT_TCP_ACK))
			pick = ev;
	}
	for (size_t i = 0; i < n && !pick; i++) {
		const gt_event *ev = gt_trace_log_get(clog, i);
		if (ev->kind == GT_EV_TX)
			pick = ev;
	}
	if (!pick)
		pick = gt_trace_log_get(clog, 0);
	endpoint_str(pick->conn.local_addr, pick->conn.local_port, left);
	endpoint_str(pick->conn.remote_addr, pick->conn.remote_port, right);
}

/* "HOST  A -> B -> C*": the state sequence of one end. Returns whether any
 * step was inferred. */
static bool print_states(FILE *f, const gt_trace_log *clog, const char *host, int width)
{
	size_t n = gt_trace_log_count(clog);
	bool any = false, inferred = false;
	fprintf(f, "  %-*s  ", width, host);
	gt_tcp_state last = GT_TCP_CLOSED;
	for (size_t i = 0; i < n; i++) {
		const gt_event *ev = gt_trace_log_get(clog, i);
		if (ev->kind != GT_EV_STATE || strcmp(ev->host, host) != 0)
			continue;
		if (!any)
			fputs(gt_tcp_state_name(ev->from), f);
		else if (ev->from != last) /* a jump: cannot happen, but never hide it */
			fprintf(f, ", %s", gt_tcp_state_name(ev->from));
		fprintf(f, " -> %s%s", gt_tcp_state_name(ev->to), ev->inferred ? "*" : "");
		inferred |= ev->inferred;
		last = ev->to;
		any = true;
	}
	if (!any)
		fputs("(no state change seen)", f);
	fputc('\n', f);
	return inferred;
}

static void print_time_ms(FILE *f, gt_time_us t)
{
	fprintf(f, "%" PRIu64 ".%03" PRIu64, (uint64_t)(t / 1000), (uint64_t)(t % 1000));
}

static int print_human(const gt_explain *e, const conn_index *ci, const explain_args *a)
{
	gt_time_us t0 = gt_trace_log_count(e->log) ? gt_trace_log_get(e->log, 0)->t_us : 0;
	time_t sec = (time_t)(t0 / 1000000);
	struct tm tm;
	char when[64] = "";
	if (gmtime_r(&sec, &tm))
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
	printf("%zu TCP connection%s in %s; times in ms from the first TCP packet (%s.%06u UTC)\n",
	       e->n_conns, e->n_conns == 1 ? "" : "s", a->capture, when, (unsigned)(t0 % 1000000));
	size_t ai = 0;
	for (size_t k = 0; k < e->n_conns; k++) {
		gt_trace_log *clog = conn_log(e->log, ci, k, t0, true);
		if (!clog)
			return -ENOMEM;
		char left[24], right[24];
		conn_ends(clog, left, right);
		printf("\nconnection %zu: %s -> %s ", k + 1, left, right);
		int near = e->near_side ? e->near_side[k] : -1;
		if (near == 0 || near == 1)
			printf("(capture point next to %s)\n\n", near == 0 ? left : right);
		else
			printf("(capture point in the middle, or unknown)\n\n");
		gt_table_opts to = {
		    .left_host = left, .right_host = right, .absolute_seq = a->absolute};
		int rc = gt_trace_table_print(stdout, clog, &to);
		if (rc < 0) {
			gt_trace_log_free(clog);
			return rc;
		}
		printf("\nstates:\n");
		int w = (int)(strlen(left) > strlen(right) ? strlen(left) : strlen(right));
		bool inf = print_states(stdout, clog, left, w);
		inf |= print_states(stdout, clog, right, w);
		if (inf)
			printf("  (* inferred: the capture cannot show it)\n");
		gt_trace_log_free(clog);

		size_t first = ai;
		while (ai < e->n_anomalies && e->anomalies[ai].conn == k)
			ai++;
		if (ai > first) {
			printf("\nanomalies:\n");
			for (size_t j = first; j < ai; j++) {
				const gt_anomaly *an = &e->anomalies[j];
				printf("  ");
				print_time_ms(stdout, an->t_us >= t0 ? an->t_us - t0 : 0);
				printf("  %-14s %s\n", gt_anomaly_kind_name(an->kind), an->text);
			}
		}
	}
	return 0;
}

/* A JSON string (RFC 8259 §7). */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static int print_json(const gt_explain *e, const conn_index *ci)
{
	size_t n = gt_trace_log_count(e->log);
	for (size_t i = 0; i < n; i++)
		if (gt_trace_jsonl_write(stdout, gt_trace_log_get(e->log, i)) < 0)
			return -EIO;
	/* each connection's name: its first event's conn, left first */
	for (size_t j = 0; j < e->n_anomalies; j++) {
		const gt_anomaly *an = &e->anomalies[j];
		char conn[48] = "";
		if (an->conn < e->n_conns && ci->start[an->conn] < ci->start[an->conn + 1])
			gt_conn_str(
			    &gt_trace_log_get(e->log, ci->events[ci->start[an->conn]])->conn, conn);
		printf("{\"t_us\":%" PRIu64 ",\"ev\":\"anomaly\",\"conn\":", (uint64_t)an->t_us);
		json_string(stdout, conn);
		printf(",\"index\":%zu,\"kind\":", an->conn);
		json_string(stdout, gt_anomaly_kind_name(an->kind));
		printf(",\"text\":");
		json_string(stdout, an->text);
		printf("}\n");
	}
	return ferror(stdout) ? -EIO : 0;
}

static int write_svgs(const gt_explain *e, const conn_index *ci, const explain_args *a)
{
	if (mkdir(a->svg_dir, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "glasstcp explain: cannot create %s: %s\n", a->svg_dir,
		        strerror(errno));
		return 1;
	}
	for (size_t k = 0; k < e->n_conns; k++) {
		gt_trace_log *clog = conn_log(e->log, ci, k, 0, false);
		gt_flow flow;
		int rc = clog ? gt_flow_build(clog, 0, &flow) : -ENOMEM;
		if (rc < 0) {
			fprintf(stderr, "glasstcp explain: connection %zu: cannot lay it out: %s\n",
			        k + 1, strerror(-rc));
			gt_trace_log_free(clog);
			return 1;
		}
		char path[4096], title[192];
		snprintf(path, sizeof path, "%s/conn-%zu.svg", a->svg_dir, k + 1);
		snprintf(title, sizeof title, "connection %zu: %s -> %s", k + 1, flow.host[0],
		         flow.host[1]);
		FILE *f = fopen(path, "w");
		if (!f) {
			fprintf(stderr, "glasstcp explain: cannot write %s: %s\n", path,
			        strerror(errno));
			gt_flow_free(&flow);
			gt_trace_log_free(clog);
			return 1;
		}
		gt_ladder_opts lo = {.absolute_seq = a->absolute, .title = title};
		rc = gt_ladder_svg(f, &flow, &lo, NULL);
		if (fclose(f) != 0 && rc == 0)
			rc = -EIO;
		gt_flow_free(&flow);
		gt_trace_log_free(clog);
		if (rc < 0) {
			fprintf(stderr, "glasstcp explain: cannot write %s: %s\n", path,
			        strerror(-rc));
			return 1;
		}
	}
	return 0;
}

static int write_html(const gt_explain *e, const explain_args *a)
{
	gt_report_note *notes = NULL;
	if (e->n_anomalies) {
		notes = calloc(e->n_anomalies, sizeof *notes);
		if (!notes) {
			fprintf(stderr, "glasstcp explain: out of memory\n");
			return 1;
		}
	}
	for (size_t j = 0; j < e->n_anomalies; j++) {
		const gt_anomaly *an = &e->anomalies[j];
		notes[j] = (gt_report_note){.conn = an->conn,
		                            .t_us = an->t_us,
		                            .kind = gt_anomaly_kind_name(an->kind),
		                            .text = an->text};
	}
	char title[512];
	snprintf(title, sizeof title, "capture %s", a->capture);
	gt_report_opts ro = {.title = title,
	                     .absolute_seq = a->absolute,
	                     .notes = notes,
	                     .n_notes = e->n_anomalies,
	                     .max_detailed = a->html_max};
	int status = 0;
	FILE *f = fopen(a->html, "w");
	if (!f) {
		fprintf(stderr, "glasstcp explain: cannot write %s: %s\n", a->html,
		        strerror(errno));
		status = 1;
	} else {
		int rc = gt_report_html(f, e->log, &ro);
		if (fclose(f) != 0 && rc == 0)
			rc = -EIO;
		if (rc < 0) {
			fprintf(stderr, "glasstcp explain: cannot write %s: %s\n", a->html,
			        strerror(-rc));
			status = 1;
		}
	}
	free(notes);
	return status;
}

int gt_cli_explain(int argc, char **argv)
{
	explain_args a = {0};
	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc;
	if (a.help) {
		usage(stdout);
		return 0;
	}
	if (!a.capture)
		return gt_cli_bad_usage("explain", "which capture? (glasstcp explain --help)");

	gt_explain e;
	char err[512];
	rc = gt_explain_pcap(a.capture, &a.opts, &e, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "glasstcp explain: %s\n", err[0] ? err : strerror(-rc));
		return rc == -ENOMEM ? 1 : 2;
	}

	int status = 0;
	conn_index ci = {0};
	if (e.n_conns == 0) {
		/* a valid capture without TCP over IPv4: an empty result */
		FILE *f = a.json ? stderr : stdout;
		fprintf(f,
		        "no TCP connection in %s (%" PRIu64 " packets read, none of them TCP over "
		        "IPv4)\n",
		        a.capture, e.packets);
	} else if (!conn_index_build(e.log, e.n_conns, &ci)) {
		fprintf(stderr, "glasstcp explain: out of memory\n");
		status = 1;
	} else {
		rc = a.json ? print_json(&e, &ci) : print_human(&e, &ci, &a);
		if (rc < 0) {
			fprintf(stderr, "glasstcp explain: %s\n",
			        rc == -ENOMEM ? "out of memory" : "error writing the output");
			status = 1;
		}
		if (status == 0 && a.svg_dir)
			status = write_svgs(&e, &ci, &a);
		if (status == 0 && a.html)
			status = write_html(&e, &a);
	}
	if (status == 0 && e.n_conns == 0 && a.html)
		status = write_html(&e, &a);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "glasstcp explain: error writing the output\n");
		status = 1;
	}
	if (e.truncated) {
		fprintf(stderr,
		        "glasstcp explain: %s is truncated: its last record is cut short (%" PRIu64
		        " packets read and explained)\n",
		        a.capture, e.packets);
		if (status == 0)
			status = 2;
	}
	conn_index_free(&ci);
	gt_explain_free(&e);
	return status;
}
