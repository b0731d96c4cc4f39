/* The ladder diagram of one connection as SVG (ladder.h).
 *
 * Layout, top to bottom: a caption, the two hosts, then one row per event in
 * time order (a segment sent, a segment arriving, a state change), so that
 * events of one instant still get rows of their own. Between rows the real
 * time is scaled (the median gap between distinct instants is two rows), and a
 * gap much longer than that (a 2·MSL wait, an RTO) is drawn as a fixed-height
 * break marked with its real duration. Arrows run from the send row to the
 * arrival row, so their slant is the real delay. Every text's box is known
 * (monospace font, gt_svg_text_width), arrow labels are slid along their
 * arrow to a free place, and the overlaps that remain are counted.
 *
 * Only presentation attributes are used, no <style>: a stylesheet inside an
 * inline SVG would apply to the whole HTML page embedding it. */
#include "view/ladder.h"
#include "view/svg.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ROW        20.0 /* minimum distance between two rows */
#define BREAK_H    44.0 /* height of a compressed gap */
#define GAP_FACTOR 10.0 /* a step longer than this many median steps is a break */
#define MARGIN     12.0
#define HEADER_Y   86.0 /* where the lifelines start */
#define LANE_W     9.0  /* distance between nested timer brackets */
#define FONT_TITLE 14.0
#define FONT_HOST  13.0
#define FONT_STATE 11.0
#define FONT_ARROW 10.0
#define FONT_SMALL 10.0
#define LABEL_LIFT 3.0 /* arrow label baseline above its point on the arrow */
#define LOST_DY    ROW /* how far down a lost segment's arrow goes, to halfway */
#define BUCKET_H   80.0

#define COLOR_SYN   "#1a7f37"
#define COLOR_FIN   "#8250df"
#define COLOR_RST   "#bc4c00"
#define COLOR_DATA  "#0969da"
#define COLOR_ACK   "#57606a"
#define COLOR_LOST  "#d1242f"
#define COLOR_RTO   "#bf3989"
#define COLOR_TW    "#0550ae"
#define COLOR_LINE  "#444444"
#define COLOR_MUTED "#6e7781"

enum anchor { ANCHOR_START, ANCHOR_MIDDLE, ANCHOR_END };

typedef struct label {
	double x, y; /* anchor point, baseline */
	double font;
	enum anchor anchor;
	bool bold, italic, backed; /* backed: on a white box (over arrows) */
	const char *fill;
	char text[192];
	char tip[128]; /* tooltip (<title>), "" for none */
} label;

typedef enum row_kind { ROW_TX, ROW_RX, ROW_STATE, ROW_END } row_kind;

typedef struct row {
	gt_time_us t;
	size_t order;
	int sub; /* orders an unknown arrival right after its send */
	row_kind kind;
	size_t idx; /* arrow or state index */
	double y;
} row;

typedef struct gap_break {
	double y0, y1; /* the band */
	gt_time_us dt;
} gap_break;

typedef struct timer_draw {
	double x, y0, y1;
	int lane;
} timer_draw;

typedef struct ladder {
	const gt_flow *flow;
	const gt_ladder_opts *opts;
	row *rows;
	size_t n_rows;
	double *y_tx, *y_rx, *y_state;
	gap_break *breaks;
	size_t n_breaks;
	label *labels;
	size_t n_labels, cap_labels;
	timer_draw *timers;
	int lanes[2];
	/* spatial index of label boxes, by y bucket */
	size_t **bucket;
	size_t *bucket_n, *bucket_cap;
	size_t n_buckets;
	double width, height;
	double x_axis, x_side[2];
	double y_bottom;
	bool arrival_unknown[2]; /* some arrow to this side has no known arrival */
	bool oom;
} ladder;

/* ---- text boxes ---- */

static gt_ladder_box label_box(const label *l)
{
	double w = gt_svg_text_width(l->text, l->font);
	double x0 = l->anchor == ANCHOR_START    ? l->x
	            : l->anchor == ANCHOR_MIDDLE ? l->x - w / 2
	                                         : l->x - w;
	/* Glyphs reach about 0.9 em above the baseline and 0.25 em below. */
	return (gt_ladder_box){x0 - 1, l->y - 0.95 * l->font, w + 2, 1.25 * l->font};
}

static bool boxes_overlap(const gt_ladder_box *a, const gt_ladder_box *b)
{
	const double eps = 0.01;
	return a->x + eps < b->x + b->w && b->x + eps < a->x + a->w && a->y + eps < b->y + b->h &&
	       b->y + eps < a->y + a->h;
}

static void bucket_range(const ladder *L, const gt_ladder_box *b, size_t *lo, size_t *hi)
{
	double top = b->y < 0 ? 0 : b->y, bottom = b->y + b->h < 0 ? 0 : b->y + b->h;
	*lo = (size_t)(top / BUCKET_H);
	*hi = (size_t)(bottom / BUCKET_H);
	if (*hi >= L->n_buckets)
		*hi = L->n_buckets - 1;
	if (*lo > *hi)
		*lo = *hi;
}

/* Does box b collide with a placed label? */
static bool box_free(const ladder *L, const gt_ladder_box *b)
{
	size_t lo, hi;
	bucket_range(L, b, &lo, &hi);
	for (size_t k = lo; k <= hi; k++) {
		for (size_t i = 0; i < L->bucket_n[k]; i++) {
			gt_ladder_box o = label_box(&L->labels[L->bucket[k][i]]);
			if (boxes_overlap(b, &o))
				return false;
		}
	}
	return true;
}

static int index_label(ladder *L, size_t li)
{
	gt_ladder_box b = label_box(&L->labels[li]);
	size_t lo, hi;
	bucket_range(L, &b, &lo, &hi);
	for (size_t k = lo; k <= hi; k++) {
		if (L->bucket_n[k] == L->bucket_cap[k]) {
			size_t ncap = L->bucket_cap[k] ? L->bucket_cap[k] * 2 : 16;
			size_t *nb = realloc(L->bucket[k], ncap * sizeof *nb);
			if (!nb)
				return -ENOMEM;
			L->bucket[k] = nb;
			L->bucket_cap[k] = ncap;
		}
		L->bucket[k][L->bucket_n[k]++] = li;
	}
	return 0;
}

/* Replaces each byte that does not belong to a well-formed UTF-8 sequence
 * (RFC 3629 §4) with '?': a caption cut to fit its buffer, or given in
 * another encoding, must not make the document ill-formed. */
static void utf8_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		size_t n = *p < 0x80                    ? 1
		           : (*p >= 0xc2 && *p <= 0xdf) ? 2
		           : (*p >= 0xe0 && *p <= 0xef) ? 3
		           : (*p >= 0xf0 && *p <= 0xf4) ? 4
		                                        : 0;
		bool ok = n > 0;
		for (size_t i = 1; ok && i < n; i++)
			ok = (p[i] & 0xc0) == 0x80;
		/* no overlong forms, surrogates or code points past U+10FFFF */
		if (ok && n == 3)
			ok = !(p[0] == 0xe0 && p[1] < 0xa0) && !(p[0] == 0xed && p[1] >= 0xa0);
		if (ok && n == 4)
			ok = !(p[0] == 0xf0 && p[1] < 0x90) && !(p[0] == 0xf4 && p[1] >= 0x90);
		if (!ok) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

/* Adds a label (copied) and indexes its box; returns its index, or SIZE_MAX
 * when out of memory. */
static size_t add_label(ladder *L, const label *l)
{
	if (L->n_labels == L->cap_labels) {
		size_t ncap = L->cap_labels ? L->cap_labels * 2 : 64;
		label *nl = realloc(L->labels, ncap * sizeof *nl);
		if (!nl) {
			L->oom = true;
			return SIZE_MAX;
		}
		L->labels = nl;
		L->cap_labels = ncap;
	}
	L->labels[L->n_labels] = *l;
	utf8_sanitize(L->labels[L->n_labels].text);
	utf8_sanitize(L->labels[L->n_labels].tip);
	if (index_label(L, L->n_labels)) {
		L->oom = true;
		return SIZE_MAX;
	}
	return L->n_labels++;
}

/* ---- rows and time ---- */

static int cmp_row(const void *x, const void *y)
{
	const row *a = x, *b = y;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	if (a->order != b->order)
		return a->order < b->order ? -1 : 1;
	return a->sub - b->sub;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

static bool has_rx_row(const gt_flow_arrow *a)
{
	return !a->lost;
}

static int make_rows(ladder *L)
{
	const gt_flow *f = L->flow;
	size_t n = f->n_states + 1;
	for (size_t i = 0; i < f->n_arrows; i++)
		n += has_rx_row(&f->arrows[i]) ? 2 : 1;
	L->rows = calloc(n, sizeof *L->rows);
	if (!L->rows)
		return -ENOMEM;
	gt_time_us last = 0;
	for (size_t i = 0; i < f->n_arrows; i++) {
		const gt_flow_arrow *a = &f->arrows[i];
		L->rows[L->n_rows++] =
		    (row){.t = a->t_tx, .order = a->order_tx, .kind = ROW_TX, .idx = i};
		if (a->t_tx > last)
			last = a->t_tx;
		if (!has_rx_row(a))
			continue;
		bool known = a->arrival_known;
		gt_time_us t = known ? a->t_rx : a->t_tx;
		L->rows[L->n_rows++] = (row){.t = t,
		                             .order = known ? a->order_rx : a->order_tx,
		                             .sub = known ? 0 : 1,
		                             .kind = ROW_RX,
		                             .idx = i};
		if (t > last)
			last = t;
		if (!known)
			L->arrival_unknown[1 - a->from] = true;
	}
	for (size_t i = 0; i < f->n_states; i++) {
		const gt_flow_state *s = &f->states[i];
		L->rows[L->n_rows++] =
		    (row){.t = s->t, .order = s->order, .kind = ROW_STATE, .idx = i};
		if (s->t > last)
			last = s->t;
	}
	/* A timer still running when the trace ended: a row for the end. */
	gt_time_us end = last;
	for (size_t i = 0; i < f->n_timers; i++)
		if (f->timers[i].end > end)
			end = f->timers[i].end;
	if (end > last || L->n_rows == 0)
		L->rows[L->n_rows++] = (row){.t = end, .order = SIZE_MAX, .kind = ROW_END};
	if (L->n_rows > 1)
		qsort(L->rows, L->n_rows, sizeof *L->rows, cmp_row);
	return 0;
}

/* Assigns each row its y: at least ROW below the previous one, real time
 * scaled in between, long gaps compressed into breaks. */
static int place_rows(ladder *L)
{
	size_t n = L->n_rows;
	uint64_t *dts = malloc((n ? n : 1) * sizeof *dts);
	L->breaks = malloc((n ? n : 1) * sizeof *L->breaks);
	if (!dts || !L->breaks) {
		free(dts);
		return -ENOMEM;
	}
	size_t nd = 0;
	for (size_t i = 1; i < n; i++)
		if (L->rows[i].t > L->rows[i - 1].t)
			dts[nd++] = L->rows[i].t - L->rows[i - 1].t;
	double median = 0;
	if (nd) {
		qsort(dts, nd, sizeof *dts, cmp_u64);
		median = (double)dts[nd / 2];
	}
	free(dts);
	/* The median step between instants is drawn two rows tall. */
	double scale = median > 0 ? 2 * ROW / median : 0; /* px per us */
	double y = HEADER_Y + ROW;
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			gt_time_us dt = L->rows[i].t - L->rows[i - 1].t;
			/* Below a lost segment: room for its arrow, cut short. */
			const row *p = &L->rows[i - 1];
			double room =
			    p->kind == ROW_TX && L->flow->arrows[p->idx].lost ? LOST_DY : 0;
			if (dt > 0 && (double)dt > GAP_FACTOR * median) {
				double y0 = y + room + ROW * 0.5;
				L->breaks[L->n_breaks++] =
				    (gap_break){.y0 = y0, .y1 = y0 + BREAK_H, .dt = dt};
				y += room + BREAK_H + ROW;
			} else {
				/* Linear up to two median steps, then logarithmic:
				 * a delayed ACK still looks longer than a round
				 * trip without taking a page. */
				double step = (double)dt * scale;
				if ((double)dt > 2 * median)
					step = 4 * ROW + ROW * log2((double)dt / (2 * median));
				double min = room + ROW;
				y += step > min ? step : min;
			}
		}
		L->rows[i].y = y;
	}
	L->y_bottom = y + ROW;
	return 0;
}

/* The first row at or after instant t (n_rows if none): a binary search. */
static size_t first_row_at(const ladder *L, gt_time_us t)
{
	size_t lo = 0, hi = L->n_rows;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (L->rows[mid].t < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The y of an instant that may fall between rows: interpolated, across a
 * break as well. */
static double y_of_time(const ladder *L, gt_time_us t)
{
	if (L->n_rows == 0)
		return HEADER_Y + ROW;
	size_t i = first_row_at(L, t);
	if (i == 0)
		return L->rows[0].y;
	if (i == L->n_rows)
		return L->rows[L->n_rows - 1].y;
	const row *a = &L->rows[i - 1], *b = &L->rows[i];
	if (t == b->t)
		return b->y;
	double frac = (double)(t - a->t) / (double)(b->t - a->t);
	return a->y + frac * (b->y - a->y);
}

/* ---- formatting ---- */

static void fmt_ms(gt_time_us rel, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu64 ".%03u", rel / 1000, (unsigned)(rel % 1000));
	char *dot = strchr(buf, '.');
	char *end = buf + strlen(buf);
	while (end > dot + 1 && end[-1] == '0')
		*--end = '\0';
	if (end == dot + 1)
		*dot = '\0';
	strncat(buf, " ms", len - strlen(buf) - 1);
}

static const char *arrow_color(const gt_flow_arrow *a)
{
	uint8_t fl = a->seg.flags;
	if (fl & GT_TCP_RST)
		return COLOR_RST;
	if (fl & GT_TCP_SYN)
		return COLOR_SYN;
	if (fl & GT_TCP_FIN)
		return COLOR_FIN;
	if (a->seg.len)
		return COLOR_DATA;
	return COLOR_ACK;
}

static void arrow_text(const ladder *L, const gt_flow_arrow *a, char *buf, size_t len)
{
	char flags[9];
	gt_tcp_flags_str(a->seg.flags, flags);
	bool abs = L->opts && L->opts->absolute_seq;
	uint32_t seq = abs ? a->seg.seq : a->rel_seq, ack = abs ? a->seg.ack : a->rel_ack;
	int n = snprintf(buf, len, "%s seq=%" PRIu32, flags[0] ? flags : "-", seq);
	if (a->seg.flags & GT_TCP_ACK)
		n += snprintf(buf + n, len - (size_t)n, " ack=%" PRIu32, ack);
	/* the window in bytes (RFC 7323 §2.3: the field times the agreed scale) */
	n += snprintf(buf + n, len - (size_t)n, " len=%" PRIu32 " win=%" PRIu32, a->seg.len,
	              gt_seg_wnd(&a->seg));
	if (a->seg.rexmit)
		n += snprintf(buf + n, len - (size_t)n, " (rexmit)");
	if (a->lost)
		snprintf(buf + n, len - (size_t)n, " lost");
	else if (a->drop_reason != GT_DROP_NONE)
		snprintf(buf + n, len - (size_t)n, " (dropped: %s)",
		         gt_drop_reason_name(a->drop_reason));
}

static void state_text(const gt_flow_state *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s \xe2\x86\x92 %s%s", gt_tcp_state_name(s->from),
	         gt_tcp_state_name(s->to), s->inferred ? " (inferred)" : "");
}

/* Whether timer i ends where the next TIME_WAIT timer of its side starts: a
 * restart by a retransmitted FIN. */
static bool timer_restarted(const gt_flow *f, size_t i)
{
	const gt_flow_timer *t = &f->timers[i];
	if (t->kind != GT_FLOW_TIMER_TIME_WAIT || !t->end_seen)
		return false;
	for (size_t j = 0; j < f->n_timers; j++) {
		const gt_flow_timer *u = &f->timers[j];
		if (j != i && u->side == t->side && u->kind == GT_FLOW_TIMER_TIME_WAIT &&
		    u->start == t->end)
			return true;
	}
	return false;
}

static void timer_text(const gt_flow *f, size_t i, char *buf, size_t len)
{
	const gt_flow_timer *t = &f->timers[i];
	char d[24];
	gt_svg_duration(t->end - t->start, d);
	if (t->kind == GT_FLOW_TIMER_RTO)
		snprintf(buf, len, "RTO %s", d);
	else if (timer_restarted(f, i))
		snprintf(buf, len, "TIME_WAIT %s, restarted", d);
	else if (!t->end_seen)
		snprintf(buf, len, "TIME_WAIT \xe2\x89\xa5 %s (trace ends)", d);
	else
		snprintf(buf, len, "TIME_WAIT 2\xc2\xb7MSL %s", d);
}

/* ---- geometry ---- */

static double side_x(const ladder *L, int side)
{
	return L->x_side[side];
}

/* Outward direction of a side: the left side's annotations go left. */
static double outward(int side)
{
	return side == GT_FLOW_LEFT ? -1.0 : 1.0;
}

/* The first row at instant t of a segment sent by side (rexmit: only a
 * retransmission; covering: only one whose sequence space holds that number,
 * when cover is set). NULL if none. */
static const row *send_row(const ladder *L, gt_time_us t, int side, bool rexmit, bool cover,
                           uint32_t seq)
{
	for (size_t i = first_row_at(L, t); i < L->n_rows && L->rows[i].t == t; i++) {
		const row *r = &L->rows[i];
		if (r->kind != ROW_TX)
			continue;
		const gt_flow_arrow *a = &L->flow->arrows[r->idx];
		uint32_t space = a->seg.len + ((a->seg.flags & GT_TCP_SYN) ? 1u : 0u) +
		                 ((a->seg.flags & GT_TCP_FIN) ? 1u : 0u);
		if (a->from != side || !space || (rexmit && !a->seg.rexmit))
			continue;
		if (cover && (uint32_t)(seq - a->seg.seq) >= space)
			continue;
		return r;
	}
	return NULL;
}

/* The row at instant t where side's TIME_WAIT starts (to) or ends (from):
 * its state change, else a retransmitted FIN arriving (a restart). */
static const row *time_wait_row(const ladder *L, gt_time_us t, int side, bool end)
{
	const gt_flow *f = L->flow;
	const row *fin = NULL;
	for (size_t i = first_row_at(L, t); i < L->n_rows && L->rows[i].t == t; i++) {
		const row *r = &L->rows[i];
		if (r->kind == ROW_STATE && f->states[r->idx].side == side) {
			const gt_flow_state *s = &f->states[r->idx];
			if ((!end && s->to == GT_TCP_TIME_WAIT) ||
			    (end && s->from == GT_TCP_TIME_WAIT))
				return r;
		}
		if (!fin && r->kind == ROW_RX && f->arrows[r->idx].from != side &&
		    (f->arrows[r->idx].seg.flags & GT_TCP_FIN))
			fin = r;
	}
	return fin;
}

/* The y of a timer's start or end: the row of the event that started or
 * ended it. */
static double timer_y(const ladder *L, const gt_flow_timer *t, bool end)
{
	const row *r = NULL;
	if (t->kind == GT_FLOW_TIMER_RTO) {
		const row *rx = send_row(L, t->end, t->side, true, false, 0);
		if (end)
			r = rx;
		else if (rx)
			r = send_row(L, t->start, t->side, false, true,
			             L->flow->arrows[rx->idx].seg.seq);
	} else if (!end || t->end_seen) {
		r = time_wait_row(L, end ? t->end : t->start, t->side, end);
	}
	if (r)
		return r->y;
	if (end && !t->end_seen)
		return L->y_bottom - ROW * 0.5;
	return y_of_time(L, end ? t->end : t->start);
}

/* ---- layout ---- */

static void assign_timer_lanes(ladder *L)
{
	const gt_flow *f = L->flow;
	for (int s = 0; s < 2; s++) {
		double lane_end[4] = {-1, -1, -1, -1};
		for (size_t i = 0; i < f->n_timers; i++) {
			const gt_flow_timer *t = &f->timers[i];
			if (t->side != s)
				continue;
			timer_draw *d = &L->timers[i];
			d->y0 = timer_y(L, t, false);
			d->y1 = timer_y(L, t, true);
			if (d->y1 < d->y0 + 4)
				d->y1 = d->y0 + 4;
			int lane = 0;
			while (lane < 3 && lane_end[lane] > d->y0 + 0.5)
				lane++;
			lane_end[lane] = d->y1;
			d->lane = lane;
			if (lane + 1 > L->lanes[s])
				L->lanes[s] = lane + 1;
		}
	}
}

static double bracket_room(const ladder *L, int side)
{
	return 8 + LANE_W * (L->lanes[side] ? L->lanes[side] : 1);
}

/* Widths of the columns, from the texts that will go into them. */
static void layout_columns(ladder *L)
{
	const gt_flow *f = L->flow;
	char buf[192];
	double state_w[2] = {100, 100};
	for (size_t i = 0; i < f->n_states; i++) {
		state_text(&f->states[i], buf, sizeof buf);
		double w = gt_svg_text_width(buf, FONT_STATE);
		if (w > state_w[f->states[i].side])
			state_w[f->states[i].side] = w;
	}
	for (size_t i = 0; i < f->n_timers; i++) {
		timer_text(f, i, buf, sizeof buf);
		double w = gt_svg_text_width(buf, FONT_SMALL);
		if (w > state_w[f->timers[i].side])
			state_w[f->timers[i].side] = w;
	}
	double arrow_w = 0;
	for (size_t i = 0; i < f->n_arrows; i++) {
		arrow_text(L, &f->arrows[i], buf, sizeof buf);
		double w = gt_svg_text_width(buf, FONT_ARROW);
		if (w > arrow_w)
			arrow_w = w;
	}
	double axis_w = 0;
	for (size_t i = 0; i < L->n_rows; i++) {
		fmt_ms(L->rows[i].t - f->t_first, buf, sizeof buf);
		double w = gt_svg_text_width(buf, FONT_SMALL);
		if (w > axis_w)
			axis_w = w;
	}
	double gap = arrow_w + 80;
	if (gap < 400)
		gap = 400;
	if (gap > 640)
		gap = 640;
	L->x_axis = MARGIN + axis_w + 4;
	L->x_side[GT_FLOW_LEFT] =
	    L->x_axis + 14 + state_w[GT_FLOW_LEFT] + 6 + bracket_room(L, GT_FLOW_LEFT);
	L->x_side[GT_FLOW_RIGHT] = L->x_side[GT_FLOW_LEFT] + gap;
	L->width =
	    L->x_side[GT_FLOW_RIGHT] + bracket_room(L, GT_FLOW_RIGHT) + 6 + state_w[1] + MARGIN;
}

/* Places arrow labels: slid along the arrow to the first free place. */
static void place_arrow_label(ladder *L, size_t i, double x1, double y1, double x2, double y2)
{
	static const double fracs[] = {0.5,  0.42, 0.58, 0.34, 0.66, 0.26,
	                               0.74, 0.18, 0.82, 0.12, 0.88};
	const gt_flow_arrow *a = &L->flow->arrows[i];
	label l = {.font = FONT_ARROW,
	           .anchor = ANCHOR_MIDDLE,
	           .backed = true,
	           .fill = a->lost ? COLOR_LOST : "#1f2328"};
	arrow_text(L, a, l.text, sizeof l.text);
	double w = gt_svg_text_width(l.text, FONT_ARROW);
	double lo = L->x_side[0] + 6 + w / 2, hi = L->x_side[1] - 6 - w / 2;
	label first = l;
	bool placed = false;
	/* Above the arrow first; then below it. */
	for (int below = 0; below < 2 && !placed; below++) {
		for (size_t k = 0; k < sizeof fracs / sizeof fracs[0]; k++) {
			double px = x1 + fracs[k] * (x2 - x1), py = y1 + fracs[k] * (y2 - y1);
			l.x = px < lo ? lo : px > hi ? hi : px;
			l.y = below ? py + FONT_ARROW + LABEL_LIFT : py - LABEL_LIFT;
			if (k == 0 && !below)
				first = l;
			gt_ladder_box b = label_box(&l);
			if (box_free(L, &b)) {
				placed = true;
				break;
			}
		}
	}
	/* Crowded (bursts of losses): near the middle, further up or down. */
	for (int k = 1; k <= 24 && !placed; k++) {
		l = first;
		l.y += (k % 2 ? -1 : 1) * ((k + 1) / 2) * FONT_ARROW * 0.6;
		gt_ladder_box b = label_box(&l);
		placed = box_free(L, &b);
	}
	add_label(L, placed ? &l : &first);
}

static void arrow_geometry(const ladder *L, size_t i, double *x1, double *y1, double *x2,
                           double *y2)
{
	const gt_flow_arrow *a = &L->flow->arrows[i];
	*x1 = side_x(L, a->from);
	*y1 = L->y_tx[i];
	double xr = side_x(L, 1 - a->from);
	if (a->lost) {
		*x2 = (*x1 + xr) / 2;
		*y2 = *y1 + LOST_DY;
	} else {
		*x2 = xr;
		*y2 = L->y_rx[i];
	}
}

static void place_timer_label(ladder *L, size_t i)
{
	const gt_flow_timer *t = &L->flow->timers[i];
	const timer_draw *d = &L->timers[i];
	label l = {.font = FONT_SMALL,
	           .anchor = t->side == GT_FLOW_LEFT ? ANCHOR_END : ANCHOR_START,
	           .fill = t->kind == GT_FLOW_TIMER_RTO ? COLOR_RTO : COLOR_TW};
	timer_text(L->flow, i, l.text, sizeof l.text);
	l.x = d->x + outward(t->side) * 6;
	double mid = (d->y0 + d->y1) / 2 + FONT_SMALL * 0.35;
	label first = l;
	first.y = mid;
	/* Try the middle, then alternately further up and down, in half rows. */
	for (int k = 0; k < 40; k++) {
		double off = (k % 2 ? 1 : -1) * ((k + 1) / 2) * ROW * 0.5;
		l.y = mid + off;
		gt_ladder_box b = label_box(&l);
		if (box_free(L, &b)) {
			add_label(L, &l);
			return;
		}
	}
	add_label(L, &first);
}

/* The y of each arrow's send and arrival and of each state change, from the
 * placed rows; the timers' array is filled by assign_timer_lanes. */
static int row_positions(ladder *L)
{
	const gt_flow *f = L->flow;
	size_t na = f->n_arrows ? f->n_arrows : 1, ns = f->n_states ? f->n_states : 1;
	L->y_tx = calloc(na, sizeof *L->y_tx);
	L->y_rx = calloc(na, sizeof *L->y_rx);
	L->y_state = calloc(ns, sizeof *L->y_state);
	L->timers = calloc(f->n_timers ? f->n_timers : 1, sizeof *L->timers);
	if (!L->y_tx || !L->y_rx || !L->y_state || !L->timers)
		return -ENOMEM;
	for (size_t i = 0; i < L->n_rows; i++) {
		const row *r = &L->rows[i];
		if (r->kind == ROW_TX)
			L->y_tx[r->idx] = r->y;
		else if (r->kind == ROW_RX)
			L->y_rx[r->idx] = r->y;
		else if (r->kind == ROW_STATE)
			L->y_state[r->idx] = r->y;
	}
	return 0;
}

static void timer_columns(ladder *L)
{
	const gt_flow *f = L->flow;
	for (size_t i = 0; i < f->n_timers; i++) {
		const gt_flow_timer *t = &f->timers[i];
		L->timers[i].x =
		    side_x(L, t->side) + outward(t->side) * (8 + LANE_W * L->timers[i].lane);
	}
}

static int alloc_buckets(ladder *L)
{
	L->height = L->y_bottom + 58;
	L->n_buckets = (size_t)(L->height / BUCKET_H) + 2;
	L->bucket = calloc(L->n_buckets, sizeof *L->bucket);
	L->bucket_n = calloc(L->n_buckets, sizeof *L->bucket_n);
	L->bucket_cap = calloc(L->n_buckets, sizeof *L->bucket_cap);
	if (!L->bucket || !L->bucket_n || !L->bucket_cap)
		return -ENOMEM;
	return 0;
}

/* The caption is label 0: fit_width centres it again on the final width. */
static void place_caption(ladder *L)
{
	const gt_flow *f = L->flow;
	char conn[48];
	label l = {.font = FONT_TITLE, .anchor = ANCHOR_MIDDLE, .bold = true, .fill = "#1f2328"};
	if (L->opts && L->opts->title)
		snprintf(l.text, sizeof l.text, "%s", L->opts->title);
	else
		snprintf(l.text, sizeof l.text, "TCP connection %s", gt_conn_str(&f->conn, conn));
	double title_w = gt_svg_text_width(l.text, FONT_TITLE) + 2 * MARGIN;
	if (title_w > L->width)
		L->width = title_w;
	l.x = L->width / 2;
	l.y = 26;
	add_label(L, &l);
}

static void place_hosts(ladder *L)
{
	const gt_flow *f = L->flow;
	for (int s = 0; s < 2; s++) {
		label h = {.font = FONT_HOST,
		           .anchor = ANCHOR_MIDDLE,
		           .bold = true,
		           .fill = "#1f2328",
		           .x = side_x(L, s),
		           .y = 56};
		snprintf(h.text, sizeof h.text, "%s", f->host[s]);
		char ip[16];
		uint32_t addr = s == GT_FLOW_LEFT ? f->conn.local_addr : f->conn.remote_addr;
		unsigned port = s == GT_FLOW_LEFT ? f->conn.local_port : f->conn.remote_port;
		label a = {.font = FONT_SMALL,
		           .anchor = ANCHOR_MIDDLE,
		           .fill = COLOR_MUTED,
		           .x = side_x(L, s),
		           .y = 71};
		snprintf(a.text, sizeof a.text, "%s:%u", gt_ipv4_str(addr, ip), port);
		/* A host named by its address (a capture) needs no second line. */
		if (strcmp(a.text, h.text) == 0)
			h.y = 62;
		add_label(L, &h);
		if (strcmp(a.text, h.text) != 0)
			add_label(L, &a);
	}
}

static void place_time_axis(ladder *L)
{
	for (size_t i = 0; i < L->n_rows; i++) {
		if (i > 0 && L->rows[i].t == L->rows[i - 1].t)
			continue;
		label t = {.font = FONT_SMALL,
		           .anchor = ANCHOR_END,
		           .fill = COLOR_MUTED,
		           .x = L->x_axis,
		           .y = L->rows[i].y + FONT_SMALL * 0.35};
		fmt_ms(L->rows[i].t - L->flow->t_first, t.text, sizeof t.text);
		add_label(L, &t);
	}
}

static void place_states(ladder *L)
{
	const gt_flow *f = L->flow;
	for (size_t i = 0; i < f->n_states; i++) {
		const gt_flow_state *s = &f->states[i];
		double x = side_x(L, s->side) + outward(s->side) * (bracket_room(L, s->side) + 4);
		label t = {.font = FONT_STATE,
		           .anchor = s->side == GT_FLOW_LEFT ? ANCHOR_END : ANCHOR_START,
		           .italic = s->inferred,
		           .fill = s->inferred ? "#57606a" : "#1f2328",
		           .x = x,
		           .y = L->y_state[i] + FONT_STATE * 0.35};
		state_text(s, t.text, sizeof t.text);
		if (s->cause)
			snprintf(t.tip, sizeof t.tip, "%s%s", s->cause,
			         s->inferred ? " (inferred from the packets)" : "");
		add_label(L, &t);
	}
}

static void place_breaks(ladder *L)
{
	for (size_t i = 0; i < L->n_breaks; i++) {
		const gap_break *b = &L->breaks[i];
		label t = {.font = FONT_SMALL,
		           .anchor = ANCHOR_MIDDLE,
		           .backed = true,
		           .fill = "#1f2328",
		           .x = (L->x_side[0] + L->x_side[1]) / 2,
		           .y = (b->y0 + b->y1) / 2 + FONT_SMALL * 0.35};
		char d[24];
		snprintf(t.text, sizeof t.text, "\xe2\x89\x88 %s", gt_svg_duration(b->dt, d));
		snprintf(t.tip, sizeof t.tip, "%s of nothing happening, not drawn to scale", d);
		add_label(L, &t);
	}
}

/* The footer's first line: what the seq and ack numbers are relative to. */
static void seq_note_text(const ladder *L, char *buf, size_t len)
{
	const gt_flow *f = L->flow;
	if (L->opts && L->opts->absolute_seq) {
		snprintf(buf, len, "seq/ack absolute");
		return;
	}
	int n = snprintf(buf, len, "seq/ack relative to each side's ISN:");
	for (int s = 0; s < 2; s++) {
		if (f->isn_known[s])
			n += snprintf(buf + n, len - (size_t)n, " %s %" PRIu32 "%s", f->host[s],
			              f->isn[s], s == 0 ? ";" : "");
		else
			n += snprintf(buf + n, len - (size_t)n, " %s unknown (absolute)%s",
			              f->host[s], s == 0 ? ";" : "");
		if (n >= (int)len)
			break;
	}
}

/* Footer: how to read the numbers. */
static void place_footer(ladder *L)
{
	const gt_flow *f = L->flow;
	label foot = {.font = FONT_SMALL,
	              .anchor = ANCHOR_START,
	              .fill = COLOR_MUTED,
	              .x = MARGIN,
	              .y = L->y_bottom + 22};
	seq_note_text(L, foot.text, sizeof foot.text);
	add_label(L, &foot);
	label legend = foot;
	legend.y += 16;
	snprintf(legend.text, sizeof legend.text,
	         "dashed = retransmission, \xe2\x9c\x95 = lost, brackets = timers");
	add_label(L, &legend);
	if (L->arrival_unknown[0] || L->arrival_unknown[1]) {
		label note = legend;
		note.y += 16;
		if (L->arrival_unknown[0] && L->arrival_unknown[1])
			snprintf(
			    note.text, sizeof note.text,
			    "arrivals not in the trace (a capture?): dotted arrows end one row "
			    "below their send");
		else
			snprintf(
			    note.text, sizeof note.text,
			    "%s logs no arrivals: dotted arrows to it end one row below their send",
			    f->host[L->arrival_unknown[0] ? 0 : 1]);
		add_label(L, &note);
		L->height += 16;
	}
}

/* Widens the diagram to its widest fixed text. */
static void fit_width(ladder *L)
{
	for (size_t i = 0; i < L->n_labels; i++) {
		gt_ladder_box b = label_box(&L->labels[i]);
		if (b.x + b.w + MARGIN > L->width)
			L->width = b.x + b.w + MARGIN;
	}
	L->labels[0].x = L->width / 2; /* the caption, centred on the final width */
}

/* Arrow and timer labels go last, each to a place the others left free. */
static void place_sliding_labels(ladder *L)
{
	const gt_flow *f = L->flow;
	for (size_t i = 0; i < f->n_arrows; i++) {
		double x1, y1, x2, y2;
		arrow_geometry(L, i, &x1, &y1, &x2, &y2);
		place_arrow_label(L, i, x1, y1, x2, y2);
	}
	for (size_t i = 0; i < f->n_timers; i++)
		place_timer_label(L, i);
}

static int layout(ladder *L)
{
	int rc;
	if ((rc = make_rows(L)) || (rc = place_rows(L)) || (rc = row_positions(L)))
		return rc;
	assign_timer_lanes(L);
	layout_columns(L);
	timer_columns(L);
	if ((rc = alloc_buckets(L)))
		return rc;

	/* Fixed texts first, so that the sliding labels find their free places. */
	place_caption(L);
	place_hosts(L);
	place_time_axis(L);
	place_states(L);
	place_breaks(L);
	place_footer(L);
	fit_width(L);

	place_sliding_labels(L);
	return L->oom ? -ENOMEM : 0;
}

/* ---- output ---- */

static void put_label(FILE *out, const label *l)
{
	static const char *anchors[] = {"start", "middle", "end"};
	if (l->backed) {
		gt_ladder_box b = label_box(l);
		fprintf(
		    out,
		    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#ffffff\" "
		    "fill-opacity=\"0.88\"/>\n",
		    b.x, b.y, b.w, b.h);
	}
	fprintf(out,
	        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%g\" text-anchor=\"%s\" fill=\"%s\"%s%s>",
	        l->x, l->y, l->font, anchors[l->anchor], l->fill,
	        l->bold ? " font-weight=\"bold\"" : "", l->italic ? " font-style=\"italic\"" : "");
	if (l->tip[0]) {
		fputs("<title>", out);
		gt_svg_text(out, l->tip);
		fputs("</title>", out);
	}
	gt_svg_text(out, l->text);
	fputs("</text>\n", out);
}

/* Marker ids are unique per diagram so that several ladders can share one
 * HTML page: derived from the connection and its first instant (FNV-1a). */
static uint32_t diagram_id(const gt_flow *f)
{
	uint64_t v[4] = {f->conn.local_addr, f->conn.remote_addr,
	                 ((uint64_t)f->conn.local_port << 16) | f->conn.remote_port, f->t_first};
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < 4; i++)
		for (int b = 0; b < 64; b += 8) {
			h ^= (uint8_t)(v[i] >> b);
			h *= 16777619u;
		}
	return h;
}

static void put_markers(FILE *out, uint32_t id)
{
	static const struct {
		const char *id, *color;
	} m[] = {{"syn", COLOR_SYN},
	         {"fin", COLOR_FIN},
	         {"rst", COLOR_RST},
	         {"data", COLOR_DATA},
	         {"ack", COLOR_ACK}};
	fputs("<defs>\n", out);
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
		fprintf(
		    out,
		    "<marker id=\"gt-ladder-%08x-%s\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
		    "markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\">"
		    "<path d=\"M0,1 L10,5 L0,9 z\" fill=\"%s\"/></marker>\n",
		    (unsigned)id, m[i].id, m[i].color);
	fputs("</defs>\n", out);
}

static const char *marker_id(const gt_flow_arrow *a)
{
	uint8_t fl = a->seg.flags;
	if (fl & GT_TCP_RST)
		return "rst";
	if (fl & GT_TCP_SYN)
		return "syn";
	if (fl & GT_TCP_FIN)
		return "fin";
	return a->seg.len ? "data" : "ack";
}

static void put_break(FILE *out, const ladder *L, const gap_break *b)
{
	double x0 = L->x_axis + 6, x1 = L->width - MARGIN;
	fprintf(out,
	        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f6f8fa\"/>\n",
	        x0, b->y0, x1 - x0, b->y1 - b->y0);
	/* a zigzag edge at the top and the bottom of the band */
	for (int edge = 0; edge < 2; edge++) {
		double y = edge ? b->y1 : b->y0;
		fputs("<polyline fill=\"none\" stroke=\"#8c959f\" stroke-width=\"1\" points=\"",
		      out);
		int k = 0;
		for (double x = x0; x <= x1 + 0.01; x += 6, k++)
			fprintf(out, "%s%.1f,%.1f", k ? " " : "", x, y + (k % 2 ? 3.0 : -3.0));
		fputs("\"/>\n", out);
	}
}

static void put_timer(FILE *out, const ladder *L, size_t i)
{
	const gt_flow_timer *t = &L->flow->timers[i];
	const timer_draw *d = &L->timers[i];
	const char *color = t->kind == GT_FLOW_TIMER_RTO ? COLOR_RTO : COLOR_TW;
	double tick = -outward(t->side) * 4; /* toward the lifeline */
	fprintf(out,
	        "<path d=\"M%.1f,%.1f h%.1f M%.1f,%.1f V%.1f\" fill=\"none\" stroke=\"%s\" "
	        "stroke-width=\"1.5\"%s/>\n",
	        d->x + tick, d->y0, -tick, d->x, d->y0, d->y1, color,
	        t->end_seen ? "" : " stroke-dasharray=\"4 3\"");
	if (t->end_seen)
		fprintf(out,
		        "<path d=\"M%.1f,%.1f h%.1f\" fill=\"none\" stroke=\"%s\" "
		        "stroke-width=\"1.5\"/>\n",
		        d->x, d->y1, tick, color);
}

static void put_arrow(FILE *out, const ladder *L, size_t i)
{
	const gt_flow_arrow *a = &L->flow->arrows[i];
	double x1, y1, x2, y2;
	arrow_geometry(L, i, &x1, &y1, &x2, &y2);
	const char *color = a->lost ? COLOR_LOST : arrow_color(a);
	char dash[40] = "";
	if (a->seg.rexmit)
		snprintf(dash, sizeof dash, " stroke-dasharray=\"7 4\"");
	else if (!a->arrival_known)
		snprintf(dash, sizeof dash, " stroke-dasharray=\"2 2\"");
	fprintf(out,
	        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
	        "stroke-width=\"1.6\"%s",
	        x1, y1, x2, y2, color, dash);
	if (!a->lost)
		fprintf(out, " marker-end=\"url(#gt-ladder-%08x-%s)\"",
		        (unsigned)diagram_id(L->flow), marker_id(a));
	fputs("/>\n", out);
	if (a->lost) {
		const double c = 6;
		fprintf(out,
		        "<path d=\"M%.1f,%.1f l%.1f,%.1f M%.1f,%.1f l%.1f,%.1f\" stroke=\"%s\" "
		        "stroke-width=\"2.5\"/>\n",
		        x2 - c, y2 - c, 2 * c, 2 * c, x2 - c, y2 + c, 2 * c, -2 * c, COLOR_LOST);
	} else if (a->drop_reason != GT_DROP_NONE) {
		/* arrived, and discarded by the receiving stack: a bar at the end */
		fprintf(out,
		        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
		        "stroke-width=\"2\"/>\n",
		        x2, y2 - 7, x2, y2 + 7, COLOR_LOST);
	}
}

static void write_svg(FILE *out, const ladder *L)
{
	const gt_flow *f = L->flow;
	if (!(L->opts && L->opts->embedded))
		fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
	char conn[48];
	fprintf(out,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
	        "viewBox=\"0 0 %.0f %.0f\" font-family=\"monospace\" role=\"img\">\n",
	        ceil(L->width), ceil(L->height), ceil(L->width), ceil(L->height));
	fputs("<title>ladder diagram of ", out);
	gt_svg_text(out, gt_conn_str(&f->conn, conn));
	fputs("</title>\n", out);
	put_markers(out, diagram_id(f));
	fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
	for (size_t i = 0; i < L->n_breaks; i++)
		put_break(out, L, &L->breaks[i]);
	/* the time axis and a faint guide line per instant */
	fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d0d7de\"/>\n",
	        L->x_axis + 6, HEADER_Y, L->x_axis + 6, L->y_bottom);
	for (size_t i = 0; i < L->n_rows; i++) {
		if (i > 0 && L->rows[i].t == L->rows[i - 1].t)
			continue;
		fprintf(
		    out,
		    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eaeef2\"/>\n",
		    L->x_axis + 6, L->rows[i].y, L->x_side[1], L->rows[i].y);
	}
	/* hosts and lifelines */
	for (int s = 0; s < 2; s++) {
		double w = gt_svg_text_width(f->host[s], FONT_HOST) + 16;
		if (w < 130)
			w = 130;
		fprintf(out,
		        "<rect x=\"%.1f\" y=\"38\" width=\"%.1f\" height=\"40\" rx=\"4\" "
		        "fill=\"#f6f8fa\" stroke=\"#d0d7de\"/>\n",
		        side_x(L, s) - w / 2, w);
		fprintf(out,
		        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
		        "stroke-width=\"2\"/>\n",
		        side_x(L, s), HEADER_Y - 8, side_x(L, s), L->y_bottom, COLOR_LINE);
	}
	for (size_t i = 0; i < L->n_breaks; i++) {
		const gap_break *b = &L->breaks[i];
		for (int s = 0; s < 2; s++)
			fprintf(out,
			        "<rect x=\"%.1f\" y=\"%.1f\" width=\"6\" height=\"%.1f\" "
			        "fill=\"#f6f8fa\"/>\n",
			        side_x(L, s) - 3, b->y0 + 4, b->y1 - b->y0 - 8);
	}
	for (size_t i = 0; i < f->n_states; i++)
		fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
		        side_x(L, f->states[i].side), L->y_state[i], COLOR_LINE);
	for (size_t i = 0; i < f->n_timers; i++)
		put_timer(out, L, i);
	for (size_t i = 0; i < f->n_arrows; i++)
		put_arrow(out, L, i);
	for (size_t i = 0; i < L->n_labels; i++)
		put_label(out, &L->labels[i]);
	fputs("</svg>\n", out);
}

static int cmp_box_y(const void *x, const void *y)
{
	const gt_ladder_box *a = x, *b = y;
	return a->y < b->y ? -1 : a->y > b->y;
}

/* Pairs of label boxes that intersect: a sweep down the boxes sorted by top. */
static size_t count_overlaps(const ladder *L)
{
	gt_ladder_box *b = malloc((L->n_labels ? L->n_labels : 1) * sizeof *b);
	if (!b)
		return SIZE_MAX;
	for (size_t i = 0; i < L->n_labels; i++)
		b[i] = label_box(&L->labels[i]);
	if (L->n_labels > 1)
		qsort(b, L->n_labels, sizeof *b, cmp_box_y);
	size_t n = 0;
	for (size_t i = 0; i < L->n_labels; i++)
		for (size_t j = i + 1; j < L->n_labels && b[j].y < b[i].y + b[i].h; j++)
			if (boxes_overlap(&b[i], &b[j]))
				n++;
	free(b);
	return n;
}

static void ladder_free(ladder *L)
{
	free(L->rows);
	free(L->y_tx);
	free(L->y_rx);
	free(L->y_state);
	free(L->breaks);
	free(L->labels);
	free(L->timers);
	if (L->bucket)
		for (size_t k = 0; k < L->n_buckets; k++)
			free(L->bucket[k]);
	free(L->bucket);
	free(L->bucket_n);
	free(L->bucket_cap);
}

int gt_ladder_svg(FILE *f, const gt_flow *flow, const gt_ladder_opts *opts, gt_ladder_stats *stats)
{
	if (stats)
		memset(stats, 0, sizeof *stats);
	if (!f || !flow)
		return -EINVAL;
	ladder L = {.flow = flow, .opts = opts};
	int rc = layout(&L);
	if (rc == 0) {
		write_svg(f, &L);
		if (stats) {
			stats->labels = L.n_labels;
			stats->overlaps = count_overlaps(&L);
			stats->width = ceil(L.width);
			stats->height = ceil(L.height);
		}
		if (ferror(f))
			rc = -EIO;
	}
	ladder_free(&L);
	return rc;
}
