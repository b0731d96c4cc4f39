/* The HTML report (report.h): one self-contained page per trace or capture.
 *
 * The connections, the summary and the plots come from flow.h, as the ladder
 * does: one gt_flow per connection, each side's segments its arrows — its own
 * sends (tx), which is what every source has (the simulator, both hosts; the
 * TUN backend, glasstcp's side; `glasstcp explain`, every packet as a tx of
 * its sender), or for a side that logged no tx at all (the kernel on the far
 * side of a TUN device) what the other side received or dropped. The ladder
 * and the state diagram are drawn by ladder.h and fsm.h; when one of them
 * fails, the page says so in place of the picture and stays valid.
 *
 * The page is well-formed XML as well as HTML5 (no named entities besides the
 * XML five, every element closed), with no script and no external reference:
 * generic font families only, inline <style> and <svg>. */
#include "view/report.h"

#include "view/flow.h"
#include "view/fsm.h"
#include "view/ladder.h"
#include "view/svg.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* At most this many segment marks per time-sequence graph: beyond it, marks
 * that fall into the same pixel column are merged (retransmissions separately,
 * so each column that had one keeps a red mark). */
#define PLOT_MAX_MARKS 2000
/* A ladder of more arrows than this shows only the first and last ones. */
#define LADDER_MAX_ARROWS  300
#define LADDER_KEEP_ARROWS 150

/* Plot geometry, in px. */
#define PLOT_W      960.0
#define PLOT_H      300.0
#define PLOT_LEFT   78.0
#define PLOT_RIGHT  20.0
#define PLOT_TOP    34.0
#define PLOT_BOTTOM 48.0
#define PLOT_AREA_W (PLOT_W - PLOT_LEFT - PLOT_RIGHT)
#define PLOT_AREA_H (PLOT_H - PLOT_TOP - PLOT_BOTTOM)
#define PLOT_INSET  6.0
#define MARK_MIN_PX 2.0

/* ---- per-connection view: sides, sequence bases, window scale ---- */

/* Wrap-aware relative sequence numbers: each call moves from the previous
 * value by the signed 32-bit difference (RFC 9293 §3.4: sequence arithmetic
 * is modulo 2^32), so a trace may run past 4 GiB. */
typedef struct unwrap {
	uint32_t base;
	int64_t last;
} unwrap;

static int64_t unwrap_rel(unwrap *u, uint32_t x)
{
	uint32_t prev = u->base + (uint32_t)u->last;
	u->last += (int32_t)(x - prev);
	return u->last;
}

/* What the page says about one side (GT_FLOW_LEFT or GT_FLOW_RIGHT) of a
 * connection: all of it from the side's arrows in the flow. */
typedef struct rpt_side {
	bool use_rx;     /* no tx from this side: its segments are the peer's rx and drops */
	bool isn_known;  /* a SYN from this side was seen */
	uint32_t base;   /* its ISN, or its first segment's seq */
	int wscale;      /* shift applied to its non-SYN windows */
	size_t segments; /* sent */
	size_t rexmits;
	uint64_t bytes;   /* payload bytes sent, retransmissions included */
	size_t seq_marks; /* segments occupying sequence space (SYN, FIN, data) */
	bool has_final;   /* a state change of its own was seen */
	gt_tcp_state final;
} rpt_side;

typedef struct rpt_conn {
	gt_flow flow;
	rpt_side side[2];
	/* 0 unknown (assumed unscaled), 1 known off, 2 known on (from the SYNs),
	 * 3 inferred from the data in flight (a lower bound), 4 the windows in
	 * bytes as logged (seg.wnd, RFC 7323 §2.3) */
	int ws_state;
	gt_time_us t0, t1; /* first and last segment sent */
	bool any_seg;
	gt_time_us t_first, t_last; /* first and last event of the connection */
	size_t resets, lost;        /* segments with RST; segments lost on the way */
	size_t n_notes;             /* the notes (opts) about it */
	bool detailed;              /* gets a section with its ladder and plots */
} rpt_conn;

static uint32_t seq_space(const gt_seg_info *s)
{
	return s->len + ((s->flags & GT_TCP_SYN) ? 1u : 0u) + ((s->flags & GT_TCP_FIN) ? 1u : 0u);
}

/* The listener's CLOSED -> LISTEN that the flow puts before the right side's
 * states: not an event of this connection. */
static bool listener_state(const gt_flow_state *st)
{
	return st->side == GT_FLOW_RIGHT && st->from == GT_TCP_CLOSED && st->to == GT_TCP_LISTEN;
}

/* Without the SYNs' options, the smallest window scale of side r (the
 * advertiser) under which every new byte that the peer sent lay within a
 * window r had advertised before (RFC 9293 §3.8.6: a sender keeps within the
 * offered window; one byte more for a zero-window probe). A lower bound: the
 * real shift may be larger. */
static int infer_wscale(const rpt_conn *c, int r)
{
	int d = 1 - r;
	int64_t edge[15];
	bool edge_seen = false;
	int k = 0;
	unwrap us = {c->side[d].base, 0}, ua = {c->side[d].base, 0};
	int64_t snd_max = 0;
	bool sent = false;
	for (size_t i = 0; i < c->flow.n_arrows; i++) {
		const gt_flow_arrow *a = &c->flow.arrows[i];
		if (a->from == r) {
			if (!(a->seg.flags & GT_TCP_ACK) || (a->seg.flags & GT_TCP_RST))
				continue;
			int64_t acked = unwrap_rel(&ua, a->seg.ack);
			for (int j = 0; j < 15; j++) {
				int shift = (a->seg.flags & GT_TCP_SYN) ? 0 : j;
				int64_t e = acked + ((int64_t)a->seg.win << shift);
				if (!edge_seen || e > edge[j])
					edge[j] = e;
			}
			edge_seen = true;
			continue;
		}
		int64_t lo = unwrap_rel(&us, a->seg.seq);
		int64_t hi = lo + (int64_t)a->seg.len;
		if (sent && hi <= snd_max)
			continue; /* nothing new */
		snd_max = hi;
		sent = true;
		if (!edge_seen || !a->seg.len)
			continue;
		while (k < 14 && hi > edge[k] + 1)
			k++;
	}
	return k;
}

/* The shift between the window field and the window in bytes that side s's
 * arrows were logged with (RFC 7323 §2.3); -1 when none of them differ. */
static int logged_wscale(const gt_flow *fl, int s)
{
	for (size_t i = 0; i < fl->n_arrows; i++) {
		const gt_seg_info *g = &fl->arrows[i].seg;
		uint32_t wnd = gt_seg_wnd(g);
		if (fl->arrows[i].from != s || (g->flags & GT_TCP_SYN) || wnd == g->win)
			continue;
		for (int k = 1; k <= 14; k++)
			if ((uint32_t)g->win << k == wnd)
				return k;
	}
	return -1;
}

/* The view of a built flow: each side's counts, sequence base, window scale
 * and final state, and the connection's time span. */
static void view_build(rpt_conn *c)
{
	const gt_flow *fl = &c->flow;
	bool any_event = false;
	for (int s = 0; s < 2; s++) {
		rpt_side *sd = &c->side[s];
		sd->use_rx = !fl->logs_tx[s];
		sd->isn_known = fl->isn_known[s];
		sd->base = fl->isn[s];
	}
#define SPAN(t)                                                                                    \
	do {                                                                                       \
		if (!any_event || (t) < c->t_first)                                                \
			c->t_first = (t);                                                          \
		if (!any_event || (t) > c->t_last)                                                 \
			c->t_last = (t);                                                           \
		any_event = true;                                                                  \
	} while (0)
	/* The arrows are in t_tx order. */
	bool first[2] = {true, true};
	for (size_t i = 0; i < fl->n_arrows; i++) {
		const gt_flow_arrow *a = &fl->arrows[i];
		rpt_side *sd = &c->side[a->from];
		if (first[a->from] && !sd->isn_known)
			sd->base = a->seg.seq; /* no SYN: the first segment's seq */
		first[a->from] = false;
		sd->segments++;
		sd->bytes += a->seg.len;
		sd->rexmits += a->seg.rexmit;
		sd->seq_marks += seq_space(&a->seg) > 0;
		c->resets += (a->seg.flags & GT_TCP_RST) != 0;
		c->lost += a->lost;
		if (!c->any_seg)
			c->t0 = a->t_tx;
		c->t1 = a->t_tx;
		c->any_seg = true;
		SPAN(a->t_tx);
		SPAN(a->t_rx);
	}
	for (size_t i = 0; i < fl->n_states; i++) {
		const gt_flow_state *st = &fl->states[i];
		if (listener_state(st))
			continue;
		c->side[st->side].has_final = true;
		c->side[st->side].final = st->to;
		SPAN(st->t);
	}
#undef SPAN
	/* RFC 7323 §2.2: scaling is in effect only when both SYNs carry the
	 * option; the window of a SYN segment itself is never scaled. */
	int w0 = fl->wscale[GT_FLOW_LEFT], w1 = fl->wscale[GT_FLOW_RIGHT];
	int l0 = logged_wscale(fl, 0), l1 = logged_wscale(fl, 1);
	if (l0 > 0 || l1 > 0) {
		/* the log says what the windows were in bytes (the engine, or
		 * explain, applied the agreed scale): no guessing */
		c->ws_state = 4;
		c->side[0].wscale = l0 > 0 ? l0 : 0;
		c->side[1].wscale = l1 > 0 ? l1 : 0;
	} else if (w0 >= 0 && w1 >= 0) {
		c->ws_state = 2;
		c->side[0].wscale = w0;
		c->side[1].wscale = w1;
	} else if (w0 == GT_FLOW_WSCALE_ABSENT || w1 == GT_FLOW_WSCALE_ABSENT) {
		c->ws_state = 1;
	} else {
		int k0 = infer_wscale(c, 0), k1 = infer_wscale(c, 1);
		if (k0 || k1) {
			c->ws_state = 3;
			c->side[0].wscale = k0;
			c->side[1].wscale = k1;
		}
	}
}

/* ---- formatting ---- */

static void side_ipport(char buf[24], const rpt_conn *c, int s)
{
	const gt_conn_tuple *t = &c->flow.conn;
	char ip[16];
	snprintf(buf, 24, "%s:%u",
	         gt_ipv4_str(s == GT_FLOW_LEFT ? t->local_addr : t->remote_addr, ip),
	         (unsigned)(s == GT_FLOW_LEFT ? t->local_port : t->remote_port));
}

static void side_name(FILE *f, const rpt_conn *c, int s)
{
	char ipport[24];
	side_ipport(ipport, c, s);
	const char *host = c->flow.host[s];
	if (host[0] && strcmp(host, ipport) != 0) {
		gt_svg_text(f, host);
		fprintf(f, " (%s)", ipport);
	} else {
		fputs(ipport, f);
	}
}

/* The short name, unescaped: the host name, else ip:port. */
static const char *side_label(char buf[64], const rpt_conn *c, int s)
{
	if (c->flow.host[s][0]) {
		snprintf(buf, 64, "%s", c->flow.host[s]);
	} else {
		char ipport[24];
		side_ipport(ipport, c, s);
		snprintf(buf, 64, "%s", ipport);
	}
	return buf;
}

static void side_short(FILE *f, const rpt_conn *c, int s)
{
	char buf[64];
	gt_svg_text(f, side_label(buf, c, s));
}

/* "1.2M", "350k", "42": a byte count for axis ticks. */
static void fmt_bytes_tick(char *buf, size_t len, double v)
{
	double a = fabs(v);
	if (a >= 1e9)
		snprintf(buf, len, "%gG", v / 1e9);
	else if (a >= 1e6)
		snprintf(buf, len, "%gM", v / 1e6);
	else if (a >= 1e3)
		snprintf(buf, len, "%gk", v / 1e3);
	else
		snprintf(buf, len, "%g", v);
}

/* A 1, 2 or 5 times a power of ten, near span / 6: about six ticks. */
static double nice_step(double span, double min_step)
{
	if (!(span > 0))
		return min_step > 0 ? min_step : 1;
	double raw = span / 6;
	double mag = pow(10, floor(log10(raw)));
	double f = raw / mag;
	double nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
	return nf * mag < min_step ? min_step : nf * mag;
}

/* ---- plots ---- */

typedef struct pt {
	gt_time_us t; /* relative to the plot's start */
	double v;
} pt;

typedef struct mark {
	gt_time_us t;
	double lo, hi;
	bool rexmit;
} mark;

typedef struct pts {
	pt *v;
	size_t n, cap;
} pts;

static int pts_add(pts *p, gt_time_us t, double v)
{
	if (p->n && p->v[p->n - 1].v == v)
		return 0; /* a step line only needs the changes */
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		pt *nv = realloc(p->v, cap * sizeof *nv);
		if (!nv)
			return -ENOMEM;
		p->v = nv;
		p->cap = cap;
	}
	p->v[p->n++] = (pt){t, v};
	return 0;
}

typedef struct series {
	const pts *p;
	const char *cls;   /* CSS class of the line */
	const char *label; /* legend text (escaped here) */
} series;

typedef struct plot {
	double tmax;       /* us; the x axis runs from 0 */
	double vmin, vmax; /* y axis */
	double unit;       /* time unit in us */
	const char *unit_name;
} plot;

/* Time runs from PLOT_INSET px inside the frame to PLOT_INSET px before its
 * end, so that marks at the first and last instant do not sit on the frame. */
static double px(const plot *p, double t)
{
	return PLOT_LEFT + PLOT_INSET + t / p->tmax * (PLOT_AREA_W - 2 * PLOT_INSET);
}

static double py(const plot *p, double v)
{
	return PLOT_TOP + PLOT_AREA_H - (v - p->vmin) / (p->vmax - p->vmin) * PLOT_AREA_H;
}

static void plot_axes(FILE *f, const plot *p, const char *ylabel)
{
	fprintf(f, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n",
	        PLOT_LEFT, PLOT_TOP, PLOT_AREA_W, PLOT_AREA_H);
	double span_units = p->tmax / p->unit;
	double step = nice_step(span_units, 0);
	for (int i = 0; i <= 40; i++) {
		double tv = step * i;
		if (tv > span_units * 1.0000001)
			break;
		double x = px(p, tv * p->unit);
		fprintf(f,
		        "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
		        "<line class=\"tick\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
		        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
		        x, PLOT_TOP, x, PLOT_TOP + PLOT_AREA_H, x, PLOT_TOP + PLOT_AREA_H, x,
		        PLOT_TOP + PLOT_AREA_H + 5, x, PLOT_TOP + PLOT_AREA_H + 18, tv);
	}
	fprintf(f,
	        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time since the first segment "
	        "(%s)</text>\n",
	        PLOT_LEFT + PLOT_AREA_W / 2, PLOT_H - 8, p->unit_name);
	/* bytes: no tick between two whole numbers */
	double vstep = nice_step(p->vmax - p->vmin, 1);
	double first = ceil(p->vmin / vstep) * vstep;
	for (int i = 0; i <= 40; i++) {
		double v = first + vstep * i;
		if (v > p->vmax + vstep * 1e-9)
			break;
		double y = py(p, v);
		char lab[32];
		fmt_bytes_tick(lab, sizeof lab, fabs(v) < vstep * 1e-9 ? 0 : v);
		fprintf(f,
		        "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
		        "<line class=\"tick\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
		        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
		        PLOT_LEFT, y, PLOT_LEFT + PLOT_AREA_W, y, PLOT_LEFT - 5, y, PLOT_LEFT, y,
		        PLOT_LEFT - 8, y + 4, lab);
	}
	fprintf(
	    f,
	    "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\">",
	    PLOT_TOP + PLOT_AREA_H / 2, PLOT_TOP + PLOT_AREA_H / 2);
	gt_svg_text(f, ylabel);
	fputs("</text>\n", f);
}

/* The vertical strokes of one pixel column of a step line, from the pen's
 * height: to the column's lowest and highest values, then to its last. */
static void step_column(FILE *f, double pen, double cmin, double cmax, double clast)
{
	if (cmin != pen)
		fprintf(f, "V%.1f", cmin);
	if (cmax != cmin)
		fprintf(f, "V%.1f", cmax);
	if (clast != cmax || (cmin == pen && cmax == cmin && clast != pen))
		fprintf(f, "V%.1f", clast);
}

/* A step line through the points, one column of pixels at a time: within a
 * column only the lowest, highest and last values are drawn, so a line of a
 * million points costs a few commands per pixel. */
static void plot_step(FILE *f, const plot *p, const series *s)
{
	if (!s->p->n)
		return;
	fprintf(f, "<path class=\"%s\" d=\"", s->cls);
	double col = floor(px(p, (double)s->p->v[0].t));
	double y = py(p, s->p->v[0].v);
	double cmin = y, cmax = y, clast = y, pen = y;
	fprintf(f, "M%.1f %.1f", px(p, (double)s->p->v[0].t), y);
	for (size_t i = 1; i < s->p->n; i++) {
		double x = px(p, (double)s->p->v[i].t);
		double yi = py(p, s->p->v[i].v);
		if (floor(x) != col) {
			step_column(f, pen, cmin, cmax, clast);
			fprintf(f, "H%.1f", x);
			pen = clast;
			col = floor(x);
			cmin = cmax = clast = pen;
		}
		if (yi < cmin)
			cmin = yi;
		if (yi > cmax)
			cmax = yi;
		clast = yi;
	}
	step_column(f, pen, cmin, cmax, clast);
	fprintf(f, "H%.1f\"/>\n", px(p, p->tmax));
}

static void mark_line(FILE *f, const plot *p, gt_time_us t, double lo, double hi, bool rexmit)
{
	double x = px(p, (double)t);
	double y1 = py(p, lo), y2 = py(p, hi);
	if (y1 - y2 < MARK_MIN_PX)
		y2 = y1 - MARK_MIN_PX;
	fprintf(f, "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
	        rexmit ? "rexmit" : "seg", x, y1, x, y2);
}

/* Draws the marks, merged per pixel column when there are too many; returns
 * how many were drawn. */
static size_t plot_marks(FILE *f, const plot *p, const mark *m, size_t n)
{
	if (n <= PLOT_MAX_MARKS) {
		for (size_t i = 0; i < n; i++)
			mark_line(f, p, m[i].t, m[i].lo, m[i].hi, m[i].rexmit);
		return n;
	}
	size_t drawn = 0;
	struct {
		bool used;
		gt_time_us t;
		double lo, hi;
	} col[2] = {{0}};
	double cur = -1;
	for (size_t i = 0; i <= n; i++) {
		double c = i < n ? floor(px(p, (double)m[i].t)) : -2;
		if (c != cur) {
			for (int k = 0; k < 2; k++)
				if (col[k].used) {
					mark_line(f, p, col[k].t, col[k].lo, col[k].hi, k == 1);
					drawn++;
					col[k].used = false;
				}
			cur = c;
		}
		if (i == n)
			break;
		int k = m[i].rexmit ? 1 : 0;
		if (!col[k].used) {
			col[k].used = true;
			col[k].t = m[i].t;
			col[k].lo = m[i].lo;
			col[k].hi = m[i].hi;
		} else {
			if (m[i].lo < col[k].lo)
				col[k].lo = m[i].lo;
			if (m[i].hi > col[k].hi)
				col[k].hi = m[i].hi;
		}
	}
	return drawn;
}

static void legend(FILE *f, double *x, const char *cls, const char *label, bool line_mark)
{
	if (line_mark)
		fprintf(f, "<line class=\"%s key\" x1=\"%.1f\" y1=\"8\" x2=\"%.1f\" y2=\"20\"/>",
		        cls, *x + 5, *x + 5);
	else
		fprintf(f, "<line class=\"%s key\" x1=\"%.1f\" y1=\"14\" x2=\"%.1f\" y2=\"14\"/>",
		        cls, *x, *x + 18);
	fprintf(f, "<text x=\"%.1f\" y=\"18\">", *x + 24);
	gt_svg_text(f, label);
	fputs("</text>\n", f);
	*x += 24 + gt_svg_text_width(label, 11) + 22;
}

/* The axes' ranges: time from 0 to span; values over the marks and the first
 * n_fit series, and over the others too unless they would squash the rest to
 * under a quarter of the height (a window line far above a short exchange):
 * then *clipped is set and they run off the top. */
static void plot_range(plot *p, const series *ss, size_t n_series, size_t n_fit, const mark *m,
                       size_t n_marks, gt_time_us span, bool *clipped)
{
	p->tmax = span > 0 ? (double)span : 1000.0;
	p->unit = p->tmax >= 2e6 ? 1e6 : p->tmax >= 2e3 ? 1e3 : 1;
	p->unit_name = p->unit == 1e6 ? "s" : p->unit == 1e3 ? "ms" : "us";
	bool any = false;
	double lo = 0, hi = 0;
	for (size_t i = 0; i < n_fit; i++)
		for (size_t j = 0; j < ss[i].p->n; j++) {
			double v = ss[i].p->v[j].v;
			if (!any || v < lo)
				lo = v;
			if (!any || v > hi)
				hi = v;
			any = true;
		}
	for (size_t j = 0; j < n_marks; j++) {
		if (!any || m[j].lo < lo)
			lo = m[j].lo;
		if (!any || m[j].hi > hi)
			hi = m[j].hi;
		any = true;
	}
	if (lo > 0)
		lo = 0;
	if (hi <= lo)
		hi = lo + 1;
	double extra_lo = lo, extra_hi = hi;
	for (size_t i = n_fit; i < n_series; i++)
		for (size_t j = 0; j < ss[i].p->n; j++) {
			double v = ss[i].p->v[j].v;
			if (v < extra_lo)
				extra_lo = v;
			if (v > extra_hi)
				extra_hi = v;
		}
	*clipped = extra_hi - extra_lo > 4 * (hi - lo);
	if (!*clipped) {
		lo = extra_lo;
		hi = extra_hi;
	}
	p->vmin = lo;
	p->vmax = hi + (hi - lo) * 0.04;
}

/* One plot: frame, axes, step lines, marks, the lines and marks clipped to
 * the frame (clip_id: an id unique in the page). Returns the marks drawn. */
static size_t plot_write(FILE *f, const char *aria, const char *ylabel, const series *ss,
                         size_t n_series, size_t n_fit, const mark *m, size_t n_marks,
                         gt_time_us span, const char *clip_id, bool *clipped)
{
	plot p;
	plot_range(&p, ss, n_series, n_fit, m, n_marks, span, clipped);
	fprintf(f,
	        "<svg class=\"plot\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
	        "role=\"img\" aria-label=\"",
	        PLOT_W, PLOT_H, PLOT_W, PLOT_H);
	gt_svg_text(f, aria);
	fputs("\">\n<title>", f);
	gt_svg_text(f, aria);
	fputs("</title>\n", f);
	plot_axes(f, &p, ylabel);
	double lx = PLOT_LEFT;
	if (m) {
		legend(f, &lx, "seg", "segment (seq .. seq+len)", true);
		legend(f, &lx, "rexmit", "retransmission", true);
	}
	for (size_t i = 0; i < n_series; i++)
		legend(f, &lx, ss[i].cls, ss[i].label, false);
	/* a pixel of slack so that lines along the frame stay visible */
	fprintf(f,
	        "<clipPath id=\"%s\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
	        "height=\"%.1f\"/></clipPath>\n<g clip-path=\"url(#%s)\">\n",
	        clip_id, PLOT_LEFT - 1, PLOT_TOP - 1, PLOT_AREA_W + 2, PLOT_AREA_H + 2, clip_id);
	for (size_t i = 0; i < n_series; i++)
		plot_step(f, &p, &ss[i]);
	size_t drawn = m ? plot_marks(f, &p, m, n_marks) : 0;
	fputs("</g>\n</svg>\n", f);
	return drawn;
}

static void ws_caption(FILE *f, const rpt_conn *c)
{
	if (c->ws_state == 2) {
		fputs(" Window scale from the SYNs (RFC 7323 §2.2): ", f);
		side_short(f, c, 0);
		fprintf(f, " ×2^%d, ", c->side[0].wscale);
		side_short(f, c, 1);
		fprintf(f, " ×2^%d.", c->side[1].wscale);
	} else if (c->ws_state == 4) {
		fputs(" Windows in bytes as the trace logged them (RFC 7323 §2.3 window scale): ",
		      f);
		side_short(f, c, 0);
		fprintf(f, " ×2^%d, ", c->side[0].wscale);
		side_short(f, c, 1);
		fprintf(f, " ×2^%d.", c->side[1].wscale);
	} else if (c->ws_state == 1) {
		fputs(" No window scaling: a SYN without the option (RFC 7323 §2.2).", f);
	} else if (c->ws_state == 3) {
		fputs(" The trace has no SYN options (RFC 7323 window scale), but more was sent "
		      "than the raw windows allow: the windows are scaled by at least ",
		      f);
		side_short(f, c, 0);
		fprintf(f, " ×2^%d, ", c->side[0].wscale);
		side_short(f, c, 1);
		fprintf(f,
		        " ×2^%d (inferred from the data in flight; the real scale may be larger).",
		        c->side[1].wscale);
	} else {
		fputs(" The trace carries only the raw window field and no SYN options: the "
		      "window is assumed unscaled.",
		      f);
	}
}

static double scaled_win(const rpt_side *sd, const gt_seg_info *s)
{
	/* the window in bytes when the log carries it */
	uint32_t wnd = gt_seg_wnd(s);
	if (wnd != s->win)
		return (double)wnd;
	/* RFC 7323 §2.2: the window field of a SYN is never scaled. */
	return (double)((uint64_t)s->win << ((s->flags & GT_TCP_SYN) ? 0 : sd->wscale));
}

/* The time-sequence graph of side s's sends (tcptrace's): its segments, and
 * the peer's cumulative ACK and ACK + window. */
static int write_time_sequence(FILE *f, size_t conn, const rpt_conn *c, int s)
{
	const rpt_side *sd = &c->side[s];
	const rpt_side *peer = &c->side[1 - s];
	mark *m = calloc(sd->seq_marks ? sd->seq_marks : 1, sizeof *m);
	pts ack = {0}, win = {0};
	int rc = m ? 0 : -ENOMEM;
	size_t n = 0, n_rexmit = 0;
	unwrap us = {sd->base, 0}, ua = {sd->base, 0};
	for (size_t i = 0; !rc && i < c->flow.n_arrows; i++) {
		const gt_flow_arrow *a = &c->flow.arrows[i];
		gt_time_us t = a->t_tx - c->t0;
		if (a->from == s) {
			int64_t lo = unwrap_rel(&us, a->seg.seq);
			int64_t hi = lo + seq_space(&a->seg);
			if (hi > lo && n < sd->seq_marks) {
				m[n++] = (mark){t, (double)lo, (double)hi, a->seg.rexmit};
				n_rexmit += a->seg.rexmit;
			}
		} else if (a->seg.flags & GT_TCP_ACK) {
			int64_t acked = unwrap_rel(&ua, a->seg.ack);
			rc = pts_add(&ack, t, (double)acked);
			if (!rc)
				rc = pts_add(&win, t, (double)acked + scaled_win(peer, &a->seg));
		}
	}
	if (!rc) {
		char aria[200];
		fputs("<figure>\n", f);
		snprintf(aria, sizeof aria, "time-sequence graph, side %d", s);
		series ss[2] = {{&ack, "ack", "ACK"}, {&win, "rwin", "ACK + window"}};
		char ylabel[64];
		snprintf(ylabel, sizeof ylabel, "sequence number (%s)",
		         sd->isn_known ? "relative to the ISN" : "relative to the first seen");
		char clip[48];
		snprintf(clip, sizeof clip, "clip-c%zu-tsg%d", conn + 1, s);
		bool clipped = false;
		size_t drawn =
		    plot_write(f, aria, ylabel, ss, 2, 1, m, n, c->t1 - c->t0, clip, &clipped);
		fprintf(f,
		        "<figcaption>%zu segment%s occupying sequence space (%zu retransmitted, in "
		        "red)",
		        n, n == 1 ? "" : "s", n_rexmit);
		if (drawn != n)
			fprintf(
			    f, ", drawn as %zu marks: segments in the same pixel column are merged",
			    drawn);
		fputs(". Green: the cumulative ACK ", f);
		side_short(f, c, 1 - s);
		fputs(" sent; yellow: that ACK plus the window it advertised (the right edge of "
		      "what may be sent)",
		      f);
		fputs(clipped ? ", which runs above the top of the graph here." : ".", f);
		if (sd->use_rx)
			fputs(
			    " This side logged no sends: its segments are those the peer received "
			    "(or logged as lost).",
			    f);
		ws_caption(f, c);
		fputs("</figcaption>\n</figure>\n", f);
	}
	free(m);
	free(ack.v);
	free(win.v);
	return rc;
}

/* Bytes in flight of each side: its highest sequence sent minus the highest
 * ACK seen from the peer (both as logged by the senders). */
static int write_in_flight(FILE *f, size_t conn, const rpt_conn *c)
{
	pts p[2] = {{0}, {0}};
	unwrap useq[2] = {{c->side[0].base, 0}, {c->side[1].base, 0}};
	unwrap uack[2] = {{c->side[0].base, 0}, {c->side[1].base, 0}};
	int64_t snd_max[2] = {0, 0}, acked[2] = {0, 0};
	bool sent[2] = {false, false}, ack_seen[2] = {false, false};
	int rc = 0;
	for (size_t i = 0; !rc && i < c->flow.n_arrows; i++) {
		const gt_flow_arrow *g = &c->flow.arrows[i];
		int s = g->from;
		int64_t lo = unwrap_rel(&useq[s], g->seg.seq);
		int64_t hi = lo + seq_space(&g->seg);
		if (!sent[s] || hi > snd_max[s])
			snd_max[s] = hi;
		sent[s] = true;
		/* The ACK g carries is about the peer's sequence space. */
		int peer = 1 - s;
		if (g->seg.flags & GT_TCP_ACK) {
			int64_t a = unwrap_rel(&uack[peer], g->seg.ack);
			if (!ack_seen[peer] || a > acked[peer])
				acked[peer] = a;
			ack_seen[peer] = true;
		}
		gt_time_us t = g->t_tx - c->t0;
		for (int k = 0; k < 2 && !rc; k++) {
			if (!sent[k])
				continue;
			int64_t una = ack_seen[k] ? acked[k] : 0;
			int64_t fl = snd_max[k] - una;
			rc = pts_add(&p[k], t, fl > 0 ? (double)fl : 0);
		}
	}
	if (!rc) {
		char l0[64], l1[64];
		side_label(l0, c, 0);
		side_label(l1, c, 1);
		series ss[2] = {{&p[0], "side0", l0}, {&p[1], "side1", l1}};
		fputs("<figure>\n", f);
		char clip[48];
		bool clipped = false;
		snprintf(clip, sizeof clip, "clip-c%zu-flight", conn + 1);
		plot_write(f, "bytes in flight", "bytes in flight", ss, 2, 2, NULL, 0,
		           c->t1 - c->t0, clip, &clipped);
		fputs("<figcaption>Each side's highest sequence number sent minus the highest ACK "
		      "it has seen from the peer, from each side's own sends (SYN and FIN count "
		      "one each).</figcaption>\n</figure>\n",
		      f);
	}
	free(p[0].v);
	free(p[1].v);
	return rc;
}

/* The receive window each side advertised, from its own sends. */
static int write_window(FILE *f, size_t conn, const rpt_conn *c)
{
	pts p[2] = {{0}, {0}};
	int rc = 0;
	for (size_t i = 0; !rc && i < c->flow.n_arrows; i++) {
		const gt_flow_arrow *a = &c->flow.arrows[i];
		if (a->seg.flags & GT_TCP_RST)
			continue;
		rc = pts_add(&p[a->from], a->t_tx - c->t0, scaled_win(&c->side[a->from], &a->seg));
	}
	if (!rc) {
		char lab[2][64];
		side_label(lab[0], c, 0);
		side_label(lab[1], c, 1);
		series ss[2] = {{&p[0], "side0", lab[0]}, {&p[1], "side1", lab[1]}};
		fputs("<figure>\n", f);
		char clip[48];
		bool clipped = false;
		snprintf(clip, sizeof clip, "clip-c%zu-rwin", conn + 1);
		plot_write(f, "advertised receive window", "receive window (bytes)", ss, 2, 2, NULL,
		           0, c->t1 - c->t0, clip, &clipped);
		fputs("<figcaption>The window each side advertised in the segments it sent (RST "
		      "segments left out).",
		      f);
		ws_caption(f, c);
		fputs("</figcaption>\n</figure>\n", f);
	}
	free(p[0].v);
	free(p[1].v);
	return rc;
}

/* ---- embedded diagrams ---- */

static bool starts(const char *p, const char *s)
{
	return strncmp(p, s, strlen(s)) == 0;
}

/* Copies an SVG made by another renderer into the page: without an XML
 * declaration or doctype, without xmlns attributes (HTML5 puts <svg> in the
 * SVG namespace by itself, and the page names no URL at all), and with its ids
 * prefixed so that several diagrams on one page do not share them. */
static void embed_svg(FILE *f, const char *buf, size_t len, const char *prefix)
{
	const char *p = buf, *end = buf + len;
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	while (p < end &&
	       (starts(p, "<?xml") || starts(p, "<!DOCTYPE") || starts(p, "<!doctype"))) {
		const char *q = memchr(p, '>', (size_t)(end - p));
		p = q ? q + 1 : end;
		while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
			p++;
	}
	while (p < end) {
		bool space = *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r';
		if (space && starts(p + 1, "xmlns")) {
			const char *q = p + 6;
			while (q < end && *q != '=' && *q != ' ' && *q != '>')
				q++;
			if (q + 1 < end && *q == '=' && (q[1] == '"' || q[1] == '\'')) {
				const char *close = memchr(q + 2, q[1], (size_t)(end - q - 2));
				if (close) {
					p = close + 1;
					continue;
				}
			}
		}
		if (space && starts(p + 1, "id=\"")) {
			fprintf(f, "%cid=\"%s", *p, prefix);
			p += 5;
			continue;
		}
		if (starts(p, "url(#")) {
			fprintf(f, "url(#%s", prefix);
			p += 5;
			continue;
		}
		if (starts(p, "href=\"#")) {
			fprintf(f, "href=\"#%s", prefix);
			p += 7;
			continue;
		}
		fputc(*p, f);
		p++;
	}
	fputc('\n', f);
}

/* Whether a renderer (rc: what it returned) drew what into buf; when it did
 * not, the page says why in place of the picture. */
static bool diagram_drawn(FILE *f, int rc, const char *buf, size_t len, const char *what)
{
	if (!rc && buf && len)
		return true;
	char why[160];
	snprintf(why, sizeof why, "%s could not be drawn (%s)", what, strerror(rc ? -rc : EIO));
	fputs("<p class=\"unavailable\">diagram unavailable: ", f);
	gt_svg_text(f, why);
	fputs("</p>\n", f);
	return false;
}

static void embed_fig(FILE *f, const char *buf, size_t len, const char *prefix)
{
	fputs("<div class=\"fig\">\n", f);
	embed_svg(f, buf, len, prefix);
	fputs("</div>\n", f);
}

/* The ladder of a flow, or of its first and last arrows when it has too many
 * to read: the copy shares the flow's states and timers (those overlapping
 * the kept arrows). Returns 0 or -ENOMEM; *trimmed says whether it trimmed. */
static int flow_trim(const gt_flow *in, gt_flow *out, bool *trimmed)
{
	*out = *in;
	*trimmed = false;
	if (in->n_arrows <= LADDER_MAX_ARROWS)
		return 0;
	gt_flow_arrow *a = malloc(2 * LADDER_KEEP_ARROWS * sizeof *a);
	gt_flow_timer *tm = malloc((in->n_timers ? in->n_timers : 1) * sizeof *tm);
	if (!a || !tm) {
		free(a);
		free(tm);
		return -ENOMEM;
	}
	memcpy(a, in->arrows, LADDER_KEEP_ARROWS * sizeof *a);
	memcpy(a + LADDER_KEEP_ARROWS, in->arrows + in->n_arrows - LADDER_KEEP_ARROWS,
	       LADDER_KEEP_ARROWS * sizeof *a);
	gt_time_us head_end = in->arrows[LADDER_KEEP_ARROWS - 1].t_tx;
	gt_time_us tail_start = in->arrows[in->n_arrows - LADDER_KEEP_ARROWS].t_tx;
	for (size_t i = 0; i < LADDER_KEEP_ARROWS; i++)
		if (a[i].t_rx > head_end)
			head_end = a[i].t_rx;
	size_t nt = 0;
	for (size_t i = 0; i < in->n_timers; i++) {
		const gt_flow_timer *t = &in->timers[i];
		if (t->start <= head_end || t->end >= tail_start)
			tm[nt++] = *t;
	}
	out->arrows = a;
	out->n_arrows = 2 * LADDER_KEEP_ARROWS;
	out->timers = tm;
	out->n_timers = nt;
	*trimmed = true;
	return 0;
}

static int write_ladder(FILE *f, size_t idx, const gt_flow *flow, const gt_report_opts *o)
{
	gt_flow shown;
	bool trimmed = false;
	int rc = flow_trim(flow, &shown, &trimmed);
	if (rc)
		return rc;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m) {
		rc = -ENOMEM;
	} else {
		gt_ladder_opts lo = {
		    .absolute_seq = o->absolute_seq, .embedded = true, .title = NULL};
		int lrc = gt_ladder_svg(m, &shown, &lo, NULL);
		if (fclose(m) && !lrc)
			lrc = -ENOMEM;
		if (diagram_drawn(f, lrc, buf, len, "the ladder")) {
			char prefix[32];
			snprintf(prefix, sizeof prefix, "c%zu-", idx + 1);
			if (trimmed)
				fprintf(
				    f,
				    "<p class=\"note\">%zu segments: the ladder shows the first %d "
				    "and "
				    "the last %d; the %zu in between are left out (the plots below "
				    "show them all).</p>\n",
				    flow->n_arrows, LADDER_KEEP_ARROWS, LADDER_KEEP_ARROWS,
				    flow->n_arrows - 2 * LADDER_KEEP_ARROWS);
			embed_fig(f, buf, len, prefix);
		}
		free(buf);
	}
	if (trimmed) {
		free(shown.arrows);
		free(shown.timers);
	}
	return rc;
}

static int write_fsm(FILE *f, const gt_trace_log *log)
{
	gt_fsm_counts *counts = calloc(1, sizeof *counts);
	if (!counts)
		return -ENOMEM;
	gt_fsm_count_log(counts, log);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m) {
		free(counts);
		return -ENOMEM;
	}
	gt_fsm_opts fo = {.counts = counts, .embedded = true};
	int rc = gt_fsm_svg(m, &fo);
	if (fclose(m) && !rc)
		rc = -ENOMEM;
	fputs("<h2 id=\"fsm\">RFC 9293 state diagram</h2>\n", f);
	fputs("<p>The eleven states of RFC 9293 §3.3.2; the transitions this trace took are "
	      "drawn heavier, with how often.</p>\n",
	      f);
	if (diagram_drawn(f, rc, buf, len, "the state diagram"))
		embed_fig(f, buf, len, "fsm-");
	free(buf);
	buf = NULL;
	len = 0;
	/* The coverage list in text, below the picture. */
	m = open_memstream(&buf, &len);
	if (m) {
		gt_fsm_report(m, counts);
		fclose(m);
		if (buf && len) {
			fputs(
			    "<details><summary>Transitions taken and never taken</summary>\n<pre>",
			    f);
			gt_svg_text(f, buf);
			fputs("</pre>\n</details>\n", f);
		}
		free(buf);
	}
	free(counts);
	return 0;
}

/* ---- the page ---- */

static const char page_style[] =
    "body{font:14px/1.45 sans-serif;margin:1.5em auto;max-width:1240px;padding:0 1em;"
    "color:#222;background:#fff}\n"
    "h1{font-size:1.6em;margin-bottom:.2em}\n"
    "h2{font-size:1.3em;border-bottom:1px solid #ccc;margin-top:2em}\n"
    "h3{font-size:1.05em;margin:1.4em 0 .4em}\n"
    "table{border-collapse:collapse;margin:.5em 0}\n"
    "th,td{border:1px solid #ccc;padding:.25em .55em;text-align:left;vertical-align:top}\n"
    "th{background:#f2f2f2}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".src{color:#555}\n"
    ".fig{overflow-x:auto;margin:.5em 0}\n"
    "figure{margin:0 0 1.2em 0}\n"
    "figcaption{font-size:.9em;color:#444;max-width:960px}\n"
    ".unavailable{color:#a00;font-style:italic}\n"
    ".note{color:#555;font-style:italic}\n"
    "ul.notes li{margin:.2em 0}\n"
    ".kind{font-weight:bold}\n"
    ".when{font-family:monospace;color:#555}\n"
    "pre{background:#f7f7f7;padding:.6em;overflow-x:auto}\n"
    "svg.plot{display:block;background:#fff}\n"
    "svg.plot text{font:11px monospace;fill:#222;stroke:none}\n"
    "svg.plot .frame{fill:none;stroke:#444;stroke-width:1}\n"
    "svg.plot .grid{stroke:#e6e6e6;stroke-width:1}\n"
    "svg.plot .tick{stroke:#444;stroke-width:1}\n"
    "svg.plot .seg{stroke:#1f4e9c;stroke-width:1.5}\n"
    "svg.plot .rexmit{stroke:#d62728;stroke-width:2.5}\n"
    "svg.plot .ack{fill:none;stroke:#2ca02c;stroke-width:1.3}\n"
    "svg.plot .rwin{fill:none;stroke:#d4a017;stroke-width:1.3}\n"
    "svg.plot .side0{fill:none;stroke:#1f77b4;stroke-width:1.3}\n"
    "svg.plot .side1{fill:none;stroke:#ff7f0e;stroke-width:1.3}\n";

static void write_rel_time(FILE *f, gt_time_us t, gt_time_us origin)
{
	char d[24];
	if (t >= origin)
		fprintf(f, "+%s", gt_svg_duration(t - origin, d));
	else
		fprintf(f, "-%s", gt_svg_duration(origin - t, d));
}

/* Which connections get a detailed section when there are more than the
 * bound: the first few in order (what an ordinary one of this trace looks
 * like: a fifth of the bound, at most DETAILED_FIRST), then those where
 * something went wrong on the wire (retransmissions, losses, resets), then
 * those with notes, then the rest, each group in order of appearance, until
 * the bound is reached. */
#define DETAILED_FIRST 10

typedef struct detail_choice {
	size_t bound;
	size_t n_detailed;
	size_t first;                    /* of the first DETAILED_FIRST */
	size_t troubled, troubled_shown; /* retransmissions, losses or resets */
	size_t noted, noted_shown;       /* notes, and none of the above */
	size_t others_shown;             /* the rest */
	size_t notes_hidden;             /* notes of connections without a section */
} detail_choice;

static bool troubled(const rpt_conn *c)
{
	return c->side[0].rexmits || c->side[1].rexmits || c->lost || c->resets;
}

static void choose_detailed(rpt_conn *conns, size_t n, size_t bound, detail_choice *dc)
{
	*dc = (detail_choice){.bound = bound};
	if (n <= bound) {
		for (size_t i = 0; i < n; i++)
			conns[i].detailed = true;
		dc->n_detailed = dc->first = n;
		return;
	}
	size_t first = bound / 5 < DETAILED_FIRST ? bound / 5 : DETAILED_FIRST;
	for (size_t i = 0; i < first; i++)
		conns[i].detailed = true;
	dc->first = dc->n_detailed = first;
	for (size_t i = first; i < n; i++) {
		if (troubled(&conns[i]))
			dc->troubled++;
		else if (conns[i].n_notes)
			dc->noted++;
	}
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = first; i < n && dc->n_detailed < bound; i++) {
			rpt_conn *c = &conns[i];
			int group = troubled(c) ? 0 : c->n_notes ? 1 : 2;
			if (group != pass || c->detailed)
				continue;
			c->detailed = true;
			dc->n_detailed++;
			if (group == 0)
				dc->troubled_shown++;
			else if (group == 1)
				dc->noted_shown++;
			else
				dc->others_shown++;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!conns[i].detailed)
			dc->notes_hidden += conns[i].n_notes;
}

/* The page's word on which connections have a section, when not all do. */
static void write_choice(FILE *f, size_t n_conns, const detail_choice *dc)
{
	if (dc->n_detailed == n_conns)
		return;
	fprintf(f,
	        "<p class=\"note\" id=\"choice\">%zu connections; detailed diagrams for %zu of "
	        "them (at most %zu per page): ",
	        n_conns, dc->n_detailed, dc->bound);
	const char *sep = "";
	if (dc->first) {
		fprintf(f, "the first %zu", dc->first);
		sep = ", then ";
	}
	if (dc->troubled) {
		fprintf(f, "%s%zu of the %zu %s with retransmissions, losses or resets", sep,
		        dc->troubled_shown, dc->troubled, *sep ? "others" : "connections");
		sep = ", then ";
	}
	if (dc->noted) {
		fprintf(f, "%s%zu of the %zu %s with notes", sep, dc->noted_shown, dc->noted,
		        *sep ? "others" : "connections");
		sep = ", then ";
	}
	if (dc->others_shown)
		fprintf(f, "%sthe %s %zu in order", sep, *sep ? "next" : "first", dc->others_shown);
	fputs("; each group in order of appearance. The table lists every connection; those "
	      "with a diagram link to it. The state diagram counts them all.",
	      f);
	if (dc->notes_hidden)
		fprintf(f,
		        " Notes about connections without a diagram (%zu) are only counted in the "
		        "table.",
		        dc->notes_hidden);
	fputs("</p>\n", f);
}

static void write_summary(FILE *f, const rpt_conn *conns, size_t n_conns, bool notes)
{
	fputs("<h2 id=\"summary\">Connections</h2>\n", f);
	if (!n_conns) {
		fputs("<p class=\"empty\">no TCP connection in this trace.</p>\n", f);
		return;
	}
	fputs("<table>\n<thead><tr><th>#</th><th>left (first SYN)</th><th>right</th>"
	      "<th>duration</th><th>segments<br/>left→right / right→left</th>"
	      "<th>retransmissions<br/>left→right / right→left</th>"
	      "<th>payload bytes<br/>left→right / right→left</th>"
	      "<th>final states<br/>left / right</th>",
	      f);
	fputs(notes ? "<th>notes</th></tr></thead>\n<tbody>\n" : "</tr></thead>\n<tbody>\n", f);
	for (size_t i = 0; i < n_conns; i++) {
		const rpt_conn *c = &conns[i];
		char d[24];
		if (c->detailed)
			fprintf(f, "<tr><td><a href=\"#conn-%zu\">%zu</a></td><td>", i + 1, i + 1);
		else
			fprintf(f, "<tr><td>%zu</td><td>", i + 1);
		side_name(f, c, 0);
		fputs("</td><td>", f);
		side_name(f, c, 1);
		fprintf(f,
		        "</td><td class=\"num\">%s</td><td class=\"num\">%zu / %zu</td>"
		        "<td class=\"num\">%zu / %zu</td><td class=\"num\">%" PRIu64 " / %" PRIu64
		        "</td><td>",
		        gt_svg_duration(c->t_last - c->t_first, d), c->side[0].segments,
		        c->side[1].segments, c->side[0].rexmits, c->side[1].rexmits,
		        c->side[0].bytes, c->side[1].bytes);
		for (int s = 0; s < 2; s++) {
			fputs(s ? " / " : "", f);
			fputs(c->side[s].has_final ? gt_tcp_state_name(c->side[s].final)
			                           : "(no state seen)",
			      f);
		}
		if (notes)
			fprintf(f, "</td><td class=\"num\">%zu", c->n_notes);
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
}

static void write_notes(FILE *f, const gt_report_opts *o, size_t conn, const rpt_conn *c)
{
	size_t n = 0;
	for (size_t i = 0; i < o->n_notes; i++)
		if (o->notes[i].conn == conn)
			n++;
	if (!n)
		return;
	fprintf(f, "<h3>Notes (%zu)</h3>\n<ul class=\"notes\">\n", n);
	for (size_t i = 0; i < o->n_notes; i++) {
		const gt_report_note *nt = &o->notes[i];
		if (nt->conn != conn)
			continue;
		fputs("<li><span class=\"when\">", f);
		write_rel_time(f, nt->t_us, c->t_first);
		fputs("</span> <span class=\"kind\">", f);
		gt_svg_text(f, nt->kind ? nt->kind : "note");
		fputs("</span>: ", f);
		gt_svg_text(f, nt->text);
		fputs("</li>\n", f);
	}
	fputs("</ul>\n", f);
}

static int write_conn(FILE *f, size_t i, const rpt_conn *c, const gt_report_opts *o)
{
	char d[24];
	fprintf(f, "<section id=\"conn-%zu\">\n<h2>Connection %zu: ", i + 1, i + 1);
	side_name(f, c, 0);
	fputs(" ⇄ ", f);
	side_name(f, c, 1);
	fputs("</h2>\n", f);
	fprintf(f, "<p>%zu segments from ", c->side[0].segments);
	side_short(f, c, 0);
	fprintf(f, ", %zu from ", c->side[1].segments);
	side_short(f, c, 1);
	fprintf(f, "; %s from the first event to the last.</p>\n",
	        gt_svg_duration(c->t_last - c->t_first, d));
	fputs("<h3>Ladder diagram</h3>\n", f);
	int rc = write_ladder(f, i, &c->flow, o);
	if (rc)
		return rc;
	if (!c->any_seg) {
		fputs(
		    "<p class=\"note\">No segment of this connection in the trace: no plots.</p>\n",
		    f);
	} else {
		for (int s = 0; s < 2 && !rc; s++) {
			if (!c->side[s].seq_marks)
				continue;
			fputs("<h3>Time-sequence graph: ", f);
			side_short(f, c, s);
			fputs(" → ", f);
			side_short(f, c, 1 - s);
			fputs("</h3>\n", f);
			rc = write_time_sequence(f, i, c, s);
		}
		if (!rc) {
			fputs("<h3>Bytes in flight</h3>\n", f);
			rc = write_in_flight(f, i, c);
		}
		if (!rc) {
			fputs("<h3>Receive window</h3>\n", f);
			rc = write_window(f, i, c);
		}
	}
	if (rc)
		return rc;
	write_notes(f, o, i, c);
	fputs("</section>\n", f);
	return 0;
}

static void conns_free(rpt_conn *conns, size_t n)
{
	for (size_t i = 0; i < n; i++)
		gt_flow_free(&conns[i].flow);
	free(conns);
}

/* Keeps of a flow what the summary needs (hosts, tuple, sides): its arrows,
 * states and timers are built again for a detailed section, so that memory
 * holds one connection's at a time however many the trace has. */
static void flow_keep_header(gt_flow *fl)
{
	free(fl->arrows);
	free(fl->states);
	free(fl->timers);
	fl->arrows = NULL;
	fl->states = NULL;
	fl->timers = NULL;
	fl->n_arrows = fl->n_states = fl->n_timers = 0;
}

/* Connection i's section, from its flow built anew. */
static int write_detailed(FILE *f, const gt_flow_index *idx, size_t i, const rpt_conn *summary,
                          const gt_report_opts *o)
{
	rpt_conn c = {.n_notes = summary->n_notes, .detailed = true};
	int rc = gt_flow_build_indexed(idx, i, &c.flow);
	if (rc)
		return rc == -ENOMEM ? rc : -EIO;
	view_build(&c);
	rc = write_conn(f, i, &c, o);
	gt_flow_free(&c.flow);
	return rc;
}

int gt_report_html(FILE *f, const gt_trace_log *log, const gt_report_opts *opts)
{
	if (!f || !log)
		return -EINVAL;
	gt_report_opts defaults = {0};
	const gt_report_opts *o = opts ? opts : &defaults;
	const char *title = o->title && o->title[0] ? o->title : "glasstcp report";

	/* Every connection's flow at once, from one index of the log: the
	 * summary comes before them all. */
	gt_flow_index *idx = gt_flow_index_new(log);
	if (!idx)
		return -ENOMEM;
	size_t n_conns = gt_flow_index_count(idx);
	rpt_conn *conns = calloc(n_conns ? n_conns : 1, sizeof *conns);
	if (!conns) {
		gt_flow_index_free(idx);
		return -ENOMEM;
	}
	int rc = 0;
	for (size_t i = 0; i < n_conns && !rc; i++) {
		rc = gt_flow_build_indexed(idx, i, &conns[i].flow);
		if (!rc) {
			view_build(&conns[i]);
			flow_keep_header(&conns[i].flow);
		}
	}
	if (rc) {
		gt_flow_index_free(idx);
		conns_free(conns, n_conns);
		return rc == -ENOMEM ? rc : -EIO;
	}
	for (size_t i = 0; i < o->n_notes; i++)
		if (o->notes[i].conn < n_conns)
			conns[o->notes[i].conn].n_notes++;
	detail_choice dc;
	choose_detailed(conns, n_conns, o->max_detailed ? o->max_detailed : GT_REPORT_MAX_DETAILED,
	                &dc);

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>",
	      f);
	gt_svg_text(f, title);
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", page_style);
	gt_svg_text(f, title);
	fputs("</h1>\n", f);
	size_t n_events = gt_trace_log_count(log);
	fprintf(f, "<p class=\"src\">%zu events, %zu TCP connection%s", n_events, n_conns,
	        n_conns == 1 ? "" : "s");
	if (gt_trace_log_dropped(log))
		fprintf(f, "; %zu events were lost for want of memory while tracing",
		        gt_trace_log_dropped(log));
	fputs(". Sequence numbers in the plots are relative to each side's ISN. A self-contained "
	      "page: no script, nothing loaded from the network.</p>\n",
	      f);
	write_choice(f, n_conns, &dc);
	write_summary(f, conns, n_conns, o->n_notes > 0);
	for (size_t i = 0; i < n_conns && !rc; i++)
		if (conns[i].detailed)
			rc = write_detailed(f, idx, i, &conns[i], o);
	/* Notes about connections the trace does not have. */
	if (!rc) {
		bool header = false;
		for (size_t i = 0; i < o->n_notes; i++) {
			const gt_report_note *nt = &o->notes[i];
			if (nt->conn < n_conns)
				continue;
			if (!header)
				fputs("<h2>Other notes</h2>\n<ul class=\"notes\">\n", f);
			header = true;
			fputs("<li><span class=\"kind\">", f);
			gt_svg_text(f, nt->kind ? nt->kind : "note");
			fputs("</span>: ", f);
			gt_svg_text(f, nt->text);
			fputs("</li>\n", f);
		}
		if (header)
			fputs("</ul>\n", f);
	}
	if (!rc)
		rc = write_fsm(f, log);
	if (!rc)
		fputs("<footer><p class=\"src\">Made by glasstcp.</p></footer>\n</body>\n</html>\n",
		      f);
	conns_free(conns, n_conns);
	gt_flow_index_free(idx);
	if (rc)
		return rc;
	return ferror(f) ? -EIO : 0;
}
