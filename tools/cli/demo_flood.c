/* The syn-flood table (demo_flood.h). The flood's events never reach the
 * table: each is counted into a run of like events (half-open connections
 * made, SYNs answered with a cookie, SYNs dropped, SYN-ACKs retransmitted,
 * half-open connections given up), and each run is one row, merged by time
 * into the table of the client's connection that gt_trace_table_print
 * renders, in its columns. */
#include "cli/demo_flood.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Events of one kind further apart than this start a new row. */
#define RUN_GAP_US 100000u

typedef enum fkind {
	F_HALF_OPEN, /* a SYN made a child: SYN queue + 1 */
	F_COOKIE,    /* a SYN answered with a cookie */
	F_DROPPED,   /* a SYN dropped: the queue full, no cookies */
	F_REXMIT,    /* a half-open connection's SYN-ACK again */
	F_TIMEOUT    /* a half-open connection gave up: SYN queue - 1 */
} fkind;

typedef struct frow {
	fkind kind;
	gt_time_us first, last;
	uint64_t n;
	uint32_t q_first, q_last; /* the SYN queue after the first and the last event */
	gt_drop_reason reason;    /* F_DROPPED */
} frow;

struct gt_flood_view {
	frow *rows;
	size_t n, cap;
	bool oom;
	uint32_t queue, queue_max;
	uint64_t syns;           /* the attacker's */
	uint64_t cookies;        /* of those, answered with a cookie */
	uint64_t dropped;        /* ... dropped */
	uint64_t half_open;      /* ... made a half-open connection */
	uint64_t rexmits;        /* SYN-ACKs retransmitted to spoofed sources */
	gt_time_us attacker_end; /* the attacker's last SYN */
	gt_time_us delay_us;     /* the links' one-way delay */
};

gt_flood_view *gt_flood_view_new(gt_time_us delay_us)
{
	gt_flood_view *v = calloc(1, sizeof(gt_flood_view));
	if (v)
		v->delay_us = delay_us;
	return v;
}

void gt_flood_view_free(gt_flood_view *v)
{
	if (v)
		free(v->rows);
	free(v);
}

static bool spoofed(uint32_t addr)
{
	return (addr & GT_SCENARIO_FLOOD_MASK) == GT_SCENARIO_FLOOD_NET;
}

static void add(gt_flood_view *v, fkind k, gt_time_us t, gt_drop_reason reason)
{
	frow *r = v->n ? &v->rows[v->n - 1] : NULL;
	if (r && r->kind == k && r->reason == reason && t - r->last <= RUN_GAP_US) {
		r->last = t;
		r->n++;
		r->q_last = v->queue;
		return;
	}
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 16;
		frow *rows = realloc(v->rows, cap * sizeof *rows);
		if (!rows) {
			v->oom = true;
			return;
		}
		v->rows = rows;
		v->cap = cap;
	}
	v->rows[v->n++] = (frow){.kind = k,
	                         .first = t,
	                         .last = t,
	                         .n = 1,
	                         .q_first = v->queue,
	                         .q_last = v->queue,
	                         .reason = reason};
}

bool gt_flood_view_take(gt_flood_view *v, const gt_event *ev)
{
	if (ev->host && strcmp(ev->host, "attacker") == 0) {
		if (ev->kind == GT_EV_TX) {
			v->syns++;
			v->attacker_end = ev->t_us;
		}
		return true;
	}
	if (!ev->has_conn || !spoofed(ev->conn.remote_addr))
		return false;
	switch (ev->kind) {
	case GT_EV_STATE:
		if (ev->from == GT_TCP_LISTEN && ev->to == GT_TCP_SYN_RECEIVED) {
			v->half_open++;
			if (++v->queue > v->queue_max)
				v->queue_max = v->queue;
			add(v, F_HALF_OPEN, ev->t_us, GT_DROP_NONE);
		} else if (ev->from == GT_TCP_SYN_RECEIVED && ev->to == GT_TCP_CLOSED) {
			v->queue--;
			add(v, F_TIMEOUT, ev->t_us, GT_DROP_NONE);
		}
		break;
	case GT_EV_TX:
		if (ev->seg.syncookie) {
			v->cookies++;
			add(v, F_COOKIE, ev->t_us, GT_DROP_NONE);
		} else if (ev->seg.rexmit) {
			v->rexmits++;
			add(v, F_REXMIT, ev->t_us, GT_DROP_NONE);
		}
		break;
	case GT_EV_DROP:
		v->dropped++;
		add(v, F_DROPPED, ev->t_us, ev->reason);
		break;
	default:
		break;
	}
	return true;
}

/* ---- a line being laid out ---- */

/* Bounded: every cell is one short printf of counts, times and a reason's
 * name, and a row never outgrows the table's width by much (a longer one is
 * cut, never overrun). */
typedef struct sbuf {
	char s[512];
	size_t len;
} sbuf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
sb_printf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->s + b->len, sizeof b->s - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n < sizeof b->s - b->len ? (size_t)n : sizeof b->s - 1 - b->len;
}

static void sb_pad(sbuf *b, size_t col, char c)
{
	while (b->len < col && b->len + 1 < sizeof b->s)
		b->s[b->len++] = c;
	b->s[b->len] = '\0';
}

/* ---- the flood's rows ---- */

/* The table's columns, read off its header line. */
typedef struct cols {
	size_t time_w, client, seg, server;
} cols;

static bool find_cols(const char *header, cols *c)
{
	const char *cl = strstr(header, "client");
	const char *sg = cl ? strstr(cl, "segment") : NULL;
	const char *sv = sg ? strstr(sg + 7, "server") : NULL;
	if (!sv || cl - header < 3)
		return false;
	*c = (cols){.time_w = (size_t)(cl - header) - 3,
	            .client = (size_t)(cl - header),
	            .seg = (size_t)(sg - header),
	            .server = (size_t)(sv - header)};
	return true;
}

static double ms(gt_time_us t)
{
	return (double)t / 1000.0;
}

/* When a row's first event happened on the wire: the attacker's SYNs are
 * counted as they arrive, and drawn as sent, as the table draws segments. */
static gt_time_us row_time(const frow *r, gt_time_us delay_us)
{
	bool arriving = r->kind == F_HALF_OPEN || r->kind == F_COOKIE || r->kind == F_DROPPED;
	return arriving && r->first >= delay_us ? r->first - delay_us : r->first;
}

static void row_cells(const frow *r, gt_time_us delay_us, gt_time_us start, sbuf *who, sbuf *seg,
                      bool *left, sbuf *srv)
{
	uint32_t bl = GT_SCENARIO_FLOOD_BACKLOG;
	*left = r->kind == F_REXMIT;
	switch (r->kind) {
	case F_HALF_OPEN:
		sb_printf(who, "(attacker)");
		sb_printf(seg, "==== S x%" PRIu64 " (spoofed sources) ", r->n);
		sb_printf(srv, "LISTEN -> SYN_RECEIVED x%" PRIu64 ": SYN queue %u/%u .. %u/%u%s",
		          r->n, (unsigned)r->q_first, (unsigned)bl, (unsigned)r->q_last,
		          (unsigned)bl, r->q_last >= bl ? " (full)" : "");
		break;
	case F_COOKIE:
		sb_printf(who, "(attacker)");
		sb_printf(seg, "==== S x%" PRIu64 " (spoofed sources) ", r->n);
		sb_printf(
		    srv,
		    "LISTEN, SYN queue full: each answered with SA (SYN cookie), nothing kept");
		break;
	case F_DROPPED:
		sb_printf(who, "(attacker)");
		sb_printf(seg, "==== S x%" PRIu64 " (spoofed sources) ", r->n);
		sb_printf(srv, "LISTEN, SYN queue full: each dropped [%s]",
		          gt_drop_reason_name(r->reason));
		break;
	case F_REXMIT:
		sb_printf(who, "(spoofed sources)");
		sb_printf(seg, "<=== SA x%" PRIu64 " (rexmit) ", r->n);
		sb_printf(srv, "SYN_RECEIVED x%" PRIu64 ": SYN-ACK again, no ACK ever comes", r->n);
		break;
	case F_TIMEOUT:
		sb_printf(srv,
		          "SYN_RECEIVED -> CLOSED x%" PRIu64
		          ": SYN-ACK retries exhausted, SYN queue "
		          "%u/%u",
		          r->n, (unsigned)r->q_last, (unsigned)bl);
		break;
	}
	if (r->n > 1) {
		gt_time_us t0 = row_time(r, delay_us);
		sb_printf(srv, ", %.1f-%.1f ms", ms(t0 - start),
		          ms(t0 + (r->last - r->first) - start));
	}
}

static int put_row(FILE *f, const frow *r, const cols *c, gt_time_us delay_us, gt_time_us start)
{
	sbuf line = {.len = 0}, who = {.len = 0}, seg = {.len = 0}, srv = {.len = 0};
	bool left;
	row_cells(r, delay_us, start, &who, &seg, &left, &srv);
	gt_time_us t = row_time(r, delay_us) - start;
	sb_printf(&line, "%*" PRIu64 ".%03" PRIu64, (int)c->time_w - 4, t / 1000, t % 1000);
	sb_pad(&line, c->client, ' ');
	sb_printf(&line, "%s", who.s);
	sb_pad(&line, c->seg, ' ');
	if (seg.len) {
		sb_printf(&line, "%s", seg.s);
		size_t end = c->server >= 2 ? c->server - 2 : 0;
		if (line.len + 1 < end) {
			sb_pad(&line, end - 1, '=');
			sb_printf(&line, "%s", left ? "=" : ">");
		}
	}
	sb_pad(&line, c->server, ' ');
	if (line.len > c->server && line.s[line.len - 1] != ' ')
		sb_printf(&line, "  ");
	sb_printf(&line, "%s", srv.s);
	return fprintf(f, "%s\n", line.s) < 0 ? -EIO : 0;
}

/* ---- the merge ---- */

/* A table line's time in µs ("  120.000   ..."); false for other lines. */
static bool line_time(const char *l, gt_time_us *t)
{
	while (*l == ' ')
		l++;
	uint64_t whole = 0;
	const char *d = l;
	while (*d >= '0' && *d <= '9')
		whole = whole * 10 + (uint64_t)(*d++ - '0');
	if (d == l || d[0] != '.' || d[1] < '0' || d[1] > '9' || d[2] < '0' || d[2] > '9' ||
	    d[3] < '0' || d[3] > '9')
		return false;
	*t = whole * 1000 + (uint64_t)((d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0'));
	return true;
}

static gt_time_us log_start(const gt_trace_log *log)
{
	gt_time_us start = 0;
	for (size_t i = 0; i < gt_trace_log_count(log); i++) {
		gt_time_us t = gt_trace_log_get(log, i)->t_us;
		if (i == 0 || t < start)
			start = t;
	}
	return start;
}

/* Prints table (gt_trace_table_print's text) with the flood's rows before
 * the first line that comes later (a line without a time goes with the
 * next). */
static int merge(FILE *f, const gt_flood_view *v, char *table, gt_time_us start)
{
	char *save = NULL;
	char *header = strtok_r(table, "\n", &save);
	cols c;
	if (!header || !find_cols(header, &c))
		return fputs(table, f) < 0 ? -EIO : 0;
	if (fprintf(f, "%s\n", header) < 0)
		return -EIO;
	size_t next = 0;
	int rc = 0;
	for (char *l = strtok_r(NULL, "\n", &save); rc == 0; l = strtok_r(NULL, "\n", &save)) {
		gt_time_us t = GT_TIME_NEVER;
		if (l && !line_time(l, &t))
			t = 0; /* "connection ..." before its rows: printed as it comes */
		while (rc == 0 && next < v->n &&
		       (t == GT_TIME_NEVER || row_time(&v->rows[next], v->delay_us) - start < t))
			rc = put_row(f, &v->rows[next++], &c, v->delay_us, start);
		if (!l)
			break;
		if (rc == 0 && fprintf(f, "%s\n", l) < 0)
			rc = -EIO;
	}
	return rc;
}

/* ---- what it means ---- */

/* When the client's connection attempt ended in CLOSED from SYN_SENT
 * (connect() failed), or GT_TIME_NEVER. */
static gt_time_us client_gave_up(const gt_trace_log *log)
{
	for (size_t i = 0; i < gt_trace_log_count(log); i++) {
		const gt_event *ev = gt_trace_log_get(log, i);
		if (ev->kind == GT_EV_STATE && ev->host && !strcmp(ev->host, "client") &&
		    ev->from == GT_TCP_SYN_SENT && ev->to == GT_TCP_CLOSED)
			return ev->t_us;
	}
	return GT_TIME_NEVER;
}

static void explain(FILE *f, const gt_flood_view *v, const gt_trace_log *log,
                    const gt_scenario_result *res, gt_syncookies_mode mode)
{
	fprintf(f,
	        "\nThe flood: \"attacker\" sent %" PRIu64 " SYNs in %.1f ms, each from a spoofed "
	        "source in\n198.18.0.0/15. The SYN-ACKs go to addresses that never answer, so "
	        "a SYN that makes a\nhalf-open connection (SYN_RECEIVED) holds its place in the "
	        "SYN queue (listen backlog %u)\nuntil its SYN-ACK retransmissions give up, about "
	        "2 minutes later.\n",
	        v->syns, ms(v->attacker_end), (unsigned)GT_SCENARIO_FLOOD_BACKLOG);
	if (mode != GT_SYNCOOKIES_OFF) {
		fprintf(f, "%s",
		        "A SYN cookie (RFC 4987 §3.6) answers a SYN without keeping anything: the "
		        "SYN-ACK's ISN is\na keyed hash of the addresses, the ports and a coarse "
		        "clock, with the MSS asked for\nencoded in it. Only a real client receives "
		        "that SYN-ACK and ACKs it; the ACK brings the\ncookie back (ack - 1), the "
		        "server checks it, and only then makes the connection:\nLISTEN -> "
		        "SYN_RECEIVED (\"ACK with a valid SYN cookie\") -> ESTABLISHED at once.\n");
	}
	if (res->client_established_us != GT_TIME_NEVER) {
		fprintf(f,
		        "The client's SYN found the queue %s and got a SYN-ACK with a cookie: "
		        "ESTABLISHED at\n%.1f ms, one round trip after connect(), as "
		        "without a flood.\n",
		        mode == GT_SYNCOOKIES_ALWAYS ? "unused (cookies always)" : "full",
		        ms(res->client_established_us));
		return;
	}
	gt_time_us end = client_gave_up(log);
	fprintf(f,
	        "With SYN cookies off, a full SYN queue can only drop SYNs. The client's SYN and "
	        "every\nretransmission (the RTO doubles: 1 s, 2 s, 4 s ... after the first, so "
	        "sent at 0.1, 1.1,\n3.1, 7.1, 15.1, 31.1 and 63.1 s) were dropped "
	        "[syn_queue_full]; ");
	if (end != GT_TIME_NEVER)
		fprintf(f, "connect() failed with\nETIMEDOUT at %.3f s. ", (double)end / 1e6);
	fprintf(
	    f,
	    "%" PRIu64 " SYNs, %.1f ms of flood, kept the server closed to\neveryone "
	    "for two minutes.\n",
	    v->half_open,
	    ms(v->n ? row_time(&v->rows[0], v->delay_us) + v->rows[0].last - v->rows[0].first : 0));
}

static void counters(FILE *f, const gt_flood_view *v, const gt_scenario_result *res)
{
	const gt_stack_counters *k = &res->server_counters;
	fprintf(f, "\nThe server's counters (gt_stack_get_counters):\n");
	fprintf(f,
	        "  syncookies_sent  %-8" PRIu64 " SYN-ACKs with a cookie (%" PRIu64
	        " to spoofed sources)\n",
	        k->syncookies_sent, v->cookies);
	fprintf(f,
	        "  syncookies_ok    %-8" PRIu64 " ACKs with a valid cookie: connections made "
	        "from one\n",
	        k->syncookies_ok);
	fprintf(f, "  syncookies_bad   %-8" PRIu64 " ACKs with a wrong cookie\n",
	        k->syncookies_bad);
	fprintf(f, "  syn_queue_full   %-8" PRIu64 " SYNs dropped, the SYN queue full\n",
	        k->drop[GT_DROP_SYN_QUEUE_FULL]);
	fprintf(f,
	        "  SYN queue        %u/%u at most (half-open connections: a TCB each, no "
	        "buffers)\n",
	        (unsigned)v->queue_max, (unsigned)GT_SCENARIO_FLOOD_BACKLOG);
	fprintf(f, "  connections      %zu at most (gt_stack_conn_count: the listener included)\n",
	        res->server_conns_max);
}

int gt_flood_view_print(FILE *f, const gt_flood_view *v, const gt_trace_log *log,
                        const gt_scenario_result *res, gt_syncookies_mode mode)
{
	if (v->oom)
		return -ENOMEM;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return -ENOMEM;
	gt_table_opts to = {.left_host = "client", .right_host = "server"};
	int rc = gt_trace_table_print(m, log, &to);
	if (fclose(m) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc == 0)
		rc = merge(f, v, buf, log_start(log));
	free(buf);
	if (rc < 0)
		return rc;
	explain(f, v, log, res, mode);
	counters(f, v, res);
	return ferror(f) ? -EIO : 0;
}
