/* The RFC 9293 state diagram (§3.3.2, Figure 5) with coverage counts, as SVG,
 * Graphviz DOT and text.
 *
 * One edge per (from, to) pair: a trace records state changes, not which of
 * several events caused them, so counts are kept per pair and an edge's label
 * names every event that glasstcp takes along it.
 *
 * The SVG is laid out by hand after the figure: CLOSED at the top, the opening
 * states, ESTABLISHED in the middle, the closing states below. The figure
 * draws CLOSED twice; so does this picture: the box at the top is where a
 * connection starts (no TCB yet), the bar across the bottom is where every
 * TCB is deleted, which lets the resets and timeouts the figure leaves out
 * drop straight down into it instead of crossing the picture. */
#include "view/fsm.h"

#include "view/svg.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The labels of the resets, aborts and timeouts that end a synchronized
 * connection (RFC 9293 §3.10.7.4 second step, §3.10.5 ABORT, §3.10.8 USER
 * TIMEOUT, retransmission limit R2 of RFC 9293 §3.8.3). glasstcp takes ABORT
 * also for close() with unread data (RFC 9293 §3.10.4 / RFC 1122 §4.2.2.13)
 * and bounds an orphaned FIN_WAIT_2 with a timeout, as deployed stacks do. */
#define RESET_ABORT_TIMEOUT "rcv RST, ABORT or timeout / delete TCB"

const gt_fsm_edge gt_fsm_edges[] = {
    /* RFC 9293 Figure 5 */
    {GT_TCP_CLOSED, GT_TCP_LISTEN, "passive OPEN / create TCB", true},
    {GT_TCP_CLOSED, GT_TCP_SYN_SENT, "active OPEN / snd SYN", true},
    {GT_TCP_LISTEN, GT_TCP_SYN_RECEIVED, "rcv SYN / snd SYN,ACK", true},
    {GT_TCP_LISTEN, GT_TCP_SYN_SENT, "SEND / snd SYN", true},
    {GT_TCP_LISTEN, GT_TCP_CLOSED, "CLOSE / delete TCB", true},
    /* Simultaneous open. The figure writes the action as "snd ACK"; the
     * segment §3.10.7.3 forms is <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. */
    {GT_TCP_SYN_SENT, GT_TCP_SYN_RECEIVED, "rcv SYN / snd SYN,ACK", true},
    {GT_TCP_SYN_SENT, GT_TCP_ESTABLISHED, "rcv SYN,ACK / snd ACK", true},
    /* The figure's CLOSE; glasstcp also goes this way when the SYN is
     * refused (§3.10.7.3: RST with an acceptable ACK) or never answered. */
    {GT_TCP_SYN_SENT, GT_TCP_CLOSED, "CLOSE, rcv RST or timeout / delete TCB", true},
    {GT_TCP_SYN_RECEIVED, GT_TCP_ESTABLISHED, "rcv ACK of SYN / x", true},
    {GT_TCP_SYN_RECEIVED, GT_TCP_FIN_WAIT_1, "CLOSE / snd FIN", true},
    /* Figure 5 note 1: only a connection that began with a passive OPEN.
     * glasstcp returns there on a SYN in the window too (§3.10.7.4 fourth). */
    {GT_TCP_SYN_RECEIVED, GT_TCP_LISTEN, "rcv RST or SYN (passive OPEN) / x", true},
    {GT_TCP_ESTABLISHED, GT_TCP_FIN_WAIT_1, "CLOSE / snd FIN", true},
    {GT_TCP_ESTABLISHED, GT_TCP_CLOSE_WAIT, "rcv FIN / snd ACK", true},
    {GT_TCP_FIN_WAIT_1, GT_TCP_FIN_WAIT_2, "rcv ACK of FIN / x", true},
    {GT_TCP_FIN_WAIT_1, GT_TCP_CLOSING, "rcv FIN / snd ACK", true},
    /* Figure 5 note 2: the figure omits this one, a FIN that also
     * acknowledges ours. */
    {GT_TCP_FIN_WAIT_1, GT_TCP_TIME_WAIT, "rcv FIN,ACK / snd ACK", true},
    {GT_TCP_FIN_WAIT_2, GT_TCP_TIME_WAIT, "rcv FIN / snd ACK", true},
    {GT_TCP_CLOSE_WAIT, GT_TCP_LAST_ACK, "CLOSE / snd FIN", true},
    {GT_TCP_CLOSING, GT_TCP_TIME_WAIT, "rcv ACK of FIN / x", true},
    {GT_TCP_LAST_ACK, GT_TCP_CLOSED, "rcv ACK of FIN / x", true},
    {GT_TCP_TIME_WAIT, GT_TCP_CLOSED, "timeout 2MSL / delete TCB", true},

    /* Not in the figure: a connection ends early. In SYN_RECEIVED an RST
     * closes only an active open (the passive one returns to LISTEN). */
    {GT_TCP_SYN_RECEIVED, GT_TCP_CLOSED, "rcv RST, ABORT or timeout / delete TCB", false},
    {GT_TCP_ESTABLISHED, GT_TCP_CLOSED, RESET_ABORT_TIMEOUT, false},
    {GT_TCP_FIN_WAIT_1, GT_TCP_CLOSED, RESET_ABORT_TIMEOUT, false},
    {GT_TCP_FIN_WAIT_2, GT_TCP_CLOSED, RESET_ABORT_TIMEOUT, false},
    {GT_TCP_CLOSE_WAIT, GT_TCP_CLOSED, RESET_ABORT_TIMEOUT, false},
    {GT_TCP_CLOSING, GT_TCP_CLOSED, RESET_ABORT_TIMEOUT, false},
};
const size_t gt_fsm_edge_count = ARRAY_LEN(gt_fsm_edges);

void gt_fsm_count_log(gt_fsm_counts *c, const gt_trace_log *log)
{
	if (!c)
		return;
	for (size_t i = 0; i < gt_trace_log_count(log); i++) {
		const gt_event *ev = gt_trace_log_get(log, i);
		if (ev->kind != GT_EV_STATE || (unsigned)ev->from >= GT_TCP_STATE_COUNT ||
		    (unsigned)ev->to >= GT_TCP_STATE_COUNT)
			continue;
		c->n[ev->from][ev->to]++;
	}
	c->traces++;
}

static const gt_fsm_edge *find_edge(gt_tcp_state from, gt_tcp_state to)
{
	for (size_t i = 0; i < gt_fsm_edge_count; i++) {
		if (gt_fsm_edges[i].from == from && gt_fsm_edges[i].to == to)
			return &gt_fsm_edges[i];
	}
	return NULL;
}

static uint64_t edge_count(const gt_fsm_counts *c, const gt_fsm_edge *e)
{
	return c ? c->n[e->from][e->to] : 0;
}

/* Splits "event / action" at the first " / ". */
static void split_label(const char *label, char *event, size_t event_len, const char **action)
{
	const char *slash = strstr(label, " / ");
	size_t n = slash ? (size_t)(slash - label) : strlen(label);
	if (n >= event_len)
		n = event_len - 1;
	memcpy(event, label, n);
	event[n] = '\0';
	*action = slash ? slash + 3 : "";
}

/* ---- the hand-made layout ---- */

#define BOX_W     150
#define BOX_H     40
#define CANVAS_W  1000
#define BAR_LEFT  60
#define BAR_RIGHT 940
#define BAR_TOP   940
#define BAR_H     40
#define LABEL_PX  11
#define STATE_PX  13
#define LINE_GAP  13 /* between the event and action lines of a label */

typedef struct point {
	short x, y;
} point;

/* Box centres; CLOSED is the top box (the bottom bar is drawn apart). */
static const point state_pos[GT_TCP_STATE_COUNT] = {
    [GT_TCP_CLOSED] = {500, 70},        [GT_TCP_LISTEN] = {500, 190},
    [GT_TCP_SYN_RECEIVED] = {260, 310}, [GT_TCP_SYN_SENT] = {740, 310},
    [GT_TCP_ESTABLISHED] = {500, 430},  [GT_TCP_FIN_WAIT_1] = {260, 560},
    [GT_TCP_CLOSE_WAIT] = {740, 560},   [GT_TCP_FIN_WAIT_2] = {260, 700},
    [GT_TCP_CLOSING] = {500, 700},      [GT_TCP_LAST_ACK] = {740, 700},
    [GT_TCP_TIME_WAIT] = {500, 830},
};

typedef enum anchor { ANCHOR_START, ANCHOR_MIDDLE, ANCHOR_END } anchor;

/* How one edge is drawn: a polyline from a box's border to another's (the
 * arrowhead at the last point), and where its label's first line goes. */
typedef struct edge_drawing {
	gt_tcp_state from, to;
	unsigned char npts;
	point pts[4];
	point label; /* baseline of the event line; the action line is below */
	anchor align;
	bool no_text; /* the reset lanes: only a count, the legend explains */
} edge_drawing;

static const edge_drawing drawings[] = {
    {GT_TCP_CLOSED, GT_TCP_LISTEN, 2, {{485, 90}, {485, 170}}, {478, 126}, ANCHOR_END, false},
    {GT_TCP_CLOSED,
     GT_TCP_SYN_SENT,
     3,
     {{575, 62}, {790, 62}, {790, 290}},
     {682, 41},
     ANCHOR_MIDDLE,
     false},
    {GT_TCP_LISTEN,
     GT_TCP_SYN_RECEIVED,
     3,
     {{425, 198}, {280, 198}, {280, 290}},
     {355, 218},
     ANCHOR_MIDDLE,
     false},
    {GT_TCP_LISTEN,
     GT_TCP_SYN_SENT,
     3,
     {{575, 190}, {720, 190}, {720, 290}},
     {648, 169},
     ANCHOR_MIDDLE,
     false},
    {GT_TCP_LISTEN, GT_TCP_CLOSED, 2, {{515, 170}, {515, 90}}, {522, 126}, ANCHOR_START, false},
    {GT_TCP_SYN_SENT,
     GT_TCP_SYN_RECEIVED,
     2,
     {{665, 310}, {335, 310}},
     {500, 289},
     ANCHOR_MIDDLE,
     false},
    {GT_TCP_SYN_SENT,
     GT_TCP_ESTABLISHED,
     2,
     {{690, 330}, {575, 420}},
     {632, 350},
     ANCHOR_END,
     false},
    {GT_TCP_SYN_SENT,
     GT_TCP_CLOSED,
     3,
     {{815, 310}, {920, 310}, {920, BAR_TOP}},
     {914, 395},
     ANCHOR_END,
     false},
    {GT_TCP_SYN_RECEIVED,
     GT_TCP_ESTABLISHED,
     2,
     {{310, 330}, {425, 420}},
     {368, 350},
     ANCHOR_START,
     false},
    {GT_TCP_SYN_RECEIVED,
     GT_TCP_FIN_WAIT_1,
     2,
     {{220, 330}, {220, 540}},
     {227, 478},
     ANCHOR_START,
     false},
    {GT_TCP_SYN_RECEIVED,
     GT_TCP_LISTEN,
     3,
     {{240, 290}, {240, 182}, {425, 182}},
     {332, 161},
     ANCHOR_MIDDLE,
     false},
    {GT_TCP_ESTABLISHED,
     GT_TCP_FIN_WAIT_1,
     3,
     {{425, 440}, {300, 440}, {300, 540}},
     {362, 458},
     ANCHOR_MIDDLE,
     false},
    {GT_TCP_ESTABLISHED,
     GT_TCP_CLOSE_WAIT,
     3,
     {{575, 440}, {700, 440}, {700, 540}},
     {650, 458},
     ANCHOR_MIDDLE,
     false},
    {GT_TCP_FIN_WAIT_1,
     GT_TCP_FIN_WAIT_2,
     2,
     {{260, 580}, {260, 680}},
     {253, 626},
     ANCHOR_END,
     false},
    {GT_TCP_FIN_WAIT_1,
     GT_TCP_CLOSING,
     3,
     {{335, 550}, {460, 550}, {460, 680}},
     {466, 612},
     ANCHOR_START,
     false},
    {GT_TCP_FIN_WAIT_1,
     GT_TCP_TIME_WAIT,
     4,
     {{335, 572}, {360, 572}, {360, 822}, {425, 822}},
     {366, 650},
     ANCHOR_START,
     false},
    {GT_TCP_FIN_WAIT_2,
     GT_TCP_TIME_WAIT,
     3,
     {{260, 720}, {260, 838}, {425, 838}},
     {340, 858},
     ANCHOR_MIDDLE,
     false},
    {GT_TCP_CLOSE_WAIT,
     GT_TCP_LAST_ACK,
     2,
     {{740, 580}, {740, 680}},
     {747, 626},
     ANCHOR_START,
     false},
    {GT_TCP_CLOSING, GT_TCP_TIME_WAIT, 2, {{500, 720}, {500, 810}}, {493, 762}, ANCHOR_END, false},
    {GT_TCP_LAST_ACK,
     GT_TCP_CLOSED,
     2,
     {{740, 720}, {740, BAR_TOP}},
     {747, 820},
     ANCHOR_START,
     false},
    {GT_TCP_TIME_WAIT,
     GT_TCP_CLOSED,
     2,
     {{500, 850}, {500, BAR_TOP}},
     {493, 892},
     ANCHOR_END,
     false},
    /* The lanes down to the bar: the lower a state, the nearer its lane. */
    {GT_TCP_SYN_RECEIVED,
     GT_TCP_CLOSED,
     3,
     {{185, 320}, {85, 320}, {85, BAR_TOP}},
     {135, 314},
     ANCHOR_MIDDLE,
     true},
    {GT_TCP_ESTABLISHED,
     GT_TCP_CLOSED,
     4,
     {{550, 450}, {550, 490}, {620, 490}, {620, BAR_TOP}},
     {626, 640},
     ANCHOR_START,
     true},
    {GT_TCP_FIN_WAIT_1,
     GT_TCP_CLOSED,
     3,
     {{185, 570}, {105, 570}, {105, BAR_TOP}},
     {145, 564},
     ANCHOR_MIDDLE,
     true},
    {GT_TCP_FIN_WAIT_2,
     GT_TCP_CLOSED,
     3,
     {{185, 710}, {125, 710}, {125, BAR_TOP}},
     {155, 704},
     ANCHOR_MIDDLE,
     true},
    {GT_TCP_CLOSE_WAIT,
     GT_TCP_CLOSED,
     3,
     {{815, 570}, {880, 570}, {880, BAR_TOP}},
     {874, 640},
     ANCHOR_END,
     true},
    {GT_TCP_CLOSING,
     GT_TCP_CLOSED,
     3,
     {{575, 712}, {595, 712}, {595, BAR_TOP}},
     {589, 780},
     ANCHOR_END,
     true},
};
_Static_assert(ARRAY_LEN(drawings) == ARRAY_LEN(gt_fsm_edges), "an edge has no drawing");

static const edge_drawing *find_drawing(gt_tcp_state from, gt_tcp_state to)
{
	for (size_t i = 0; i < ARRAY_LEN(drawings); i++) {
		if (drawings[i].from == from && drawings[i].to == to)
			return &drawings[i];
	}
	return NULL;
}

/* ---- styles ---- */

/* How an edge looks, by kind and by whether counts were given and it was
 * taken. The marker ids carry a prefix so that an embedded copy does not
 * clash with another drawing's ids in the same HTML page. */
typedef struct edge_style {
	const char *color;
	const char *marker;
	double width;
	bool dashed;
} edge_style;

#define COLOR_STANDARD   "#333333"
#define COLOR_EXTRA      "#8a8a8a"
#define COLOR_TAKEN      "#1f6feb"
#define COLOR_TAKEN_NS   "#d9480f"
#define COLOR_NEVER      "#c4c4c4"
#define COLOR_UNEXPECTED "#c92a2a"

static const struct {
	const char *id;
	const char *color;
} markers[] = {
    {"fsm-arrow-std", COLOR_STANDARD}, {"fsm-arrow-extra", COLOR_EXTRA},
    {"fsm-arrow-taken", COLOR_TAKEN},  {"fsm-arrow-taken-ns", COLOR_TAKEN_NS},
    {"fsm-arrow-never", COLOR_NEVER},
};

/* Thicker with the count, on a log scale so one busy edge does not drown the
 * others: 1 -> 2.5 px, 10 -> 4.2, 1000 -> 7.5, at most 8. */
static double taken_width(uint64_t n)
{
	double w = 2.0 + 0.5 * log2((double)n + 1.0);
	return w > 8.0 ? 8.0 : w;
}

static edge_style style_of(const gt_fsm_edge *e, const gt_fsm_counts *c)
{
	uint64_t n = edge_count(c, e);
	if (!c)
		return e->standard ? (edge_style){COLOR_STANDARD, "fsm-arrow-std", 1.4, false}
		                   : (edge_style){COLOR_EXTRA, "fsm-arrow-extra", 1.1, true};
	if (n == 0)
		return (edge_style){COLOR_NEVER, "fsm-arrow-never", 1.0, !e->standard};
	return e->standard
	           ? (edge_style){COLOR_TAKEN, "fsm-arrow-taken", taken_width(n), false}
	           : (edge_style){COLOR_TAKEN_NS, "fsm-arrow-taken-ns", taken_width(n), true};
}

static bool state_visited(const gt_fsm_counts *c, gt_tcp_state s)
{
	for (int o = 0; o < GT_TCP_STATE_COUNT; o++) {
		if (c->n[s][o] || c->n[o][s])
			return true;
	}
	return false;
}

/* ---- SVG ---- */

static const char *anchor_name(anchor a)
{
	return a == ANCHOR_START ? "start" : a == ANCHOR_END ? "end" : "middle";
}

/* One line of label text; each line is its own <text> so that tests can
 * check the layout for overlaps. */
static void svg_label_line(FILE *f, int x, int y, anchor a, const char *cls, const char *s,
                           const char *count)
{
	fprintf(f, "<text class=\"%s\" x=\"%d\" y=\"%d\" text-anchor=\"%s\">", cls, x, y,
	        anchor_name(a));
	gt_svg_text(f, s);
	if (count && *count) {
		fprintf(f, "%s<tspan class=\"count\">", *s ? " " : "");
		gt_svg_text(f, count);
		fputs("</tspan>", f);
	}
	fputs("</text>\n", f);
}

static void svg_edge(FILE *f, const gt_fsm_edge *e, const edge_drawing *d, const gt_fsm_counts *c)
{
	edge_style st = style_of(e, c);
	uint64_t n = edge_count(c, e);
	char count[32] = "";
	if (n > 0)
		snprintf(count, sizeof count, "\xc3\x97%" PRIu64, n); /* U+00D7 */

	fprintf(f,
	        "<g class=\"edge%s%s\" data-from=\"%s\" data-to=\"%s\" data-count=\"%" PRIu64
	        "\">\n",
	        e->standard ? "" : " extra", c ? (n ? " taken" : " never") : "",
	        gt_tcp_state_name(e->from), gt_tcp_state_name(e->to), n);
	fputs("<title>", f);
	gt_svg_text(f, gt_tcp_state_name(e->from));
	fputs(" \xe2\x86\x92 ", f);
	gt_svg_text(f, gt_tcp_state_name(e->to));
	fputs(": ", f);
	gt_svg_text(f, e->label);
	if (c)
		fprintf(f, " (taken %" PRIu64 " times)", n);
	fputs("</title>\n<path d=\"", f);
	for (unsigned i = 0; i < d->npts; i++)
		fprintf(f, "%s%d %d", i ? " L" : "M", d->pts[i].x, d->pts[i].y);
	fprintf(
	    f, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"%s marker-end=\"url(#%s)\"/>\n",
	    st.color, st.width, st.dashed ? " stroke-dasharray=\"6 4\"" : "", st.marker);

	const char *cls = !c ? "lbl" : n ? "lbl taken" : "lbl never";
	if (d->no_text) {
		if (n > 0)
			svg_label_line(f, d->label.x, d->label.y, d->align, cls, "", count);
	} else {
		char event[64];
		const char *action;
		split_label(e->label, event, sizeof event, &action);
		svg_label_line(f, d->label.x, d->label.y, d->align, cls, event, NULL);
		svg_label_line(f, d->label.x, d->label.y + LINE_GAP, d->align, cls, action, count);
	}
	fputs("</g>\n", f);
}

static void svg_state(FILE *f, gt_tcp_state s, const gt_fsm_counts *c)
{
	const char *cls = c && !state_visited(c, s) ? "state unvisited" : "state";
	point p = state_pos[s];
	fprintf(f,
	        "<g class=\"%s\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"8\"/>"
	        "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text></g>\n",
	        cls, p.x - BOX_W / 2, p.y - BOX_H / 2, BOX_W, BOX_H, p.x, p.y + 5,
	        gt_tcp_state_name(s));
}

/* Appends item to the wrapped text lines of a list (at most width chars a
 * line), in buf; lines are separated by '\n'. */
static void list_append(char *buf, size_t cap, size_t *line_len, const char *item, size_t width)
{
	size_t len = strlen(buf);
	size_t need = strlen(item) + 2;
	const char *sep = "";
	if (*line_len > 0)
		sep = *line_len + need > width ? ",\n" : ", ";
	if (strcmp(sep, ",\n") == 0)
		*line_len = 0;
	else
		*line_len += strlen(sep);
	snprintf(buf + len, cap - len, "%s%s", sep, item);
	*line_len += strlen(item);
}

/* The "never taken" and "unexpected" lists, wrapped. */
typedef struct coverage_text {
	char never[4096];
	char unexpected[8192];
	size_t never_n;
	size_t unexpected_n;
} coverage_text;

static void coverage_lists(const gt_fsm_counts *c, coverage_text *t, size_t width)
{
	size_t line = 0;
	memset(t, 0, sizeof *t);
	for (size_t i = 0; i < gt_fsm_edge_count; i++) {
		const gt_fsm_edge *e = &gt_fsm_edges[i];
		if (c->n[e->from][e->to])
			continue;
		char item[64];
		snprintf(item, sizeof item, "%s\xe2\x86\x92%s", gt_tcp_state_name(e->from),
		         gt_tcp_state_name(e->to));
		list_append(t->never, sizeof t->never, &line, item, width);
		t->never_n++;
	}
	line = 0;
	for (int from = 0; from < GT_TCP_STATE_COUNT; from++) {
		for (int to = 0; to < GT_TCP_STATE_COUNT; to++) {
			uint64_t n = c->n[from][to];
			if (!n || find_edge((gt_tcp_state)from, (gt_tcp_state)to))
				continue;
			char item[80];
			snprintf(item, sizeof item, "%s\xe2\x86\x92%s \xc3\x97%" PRIu64,
			         gt_tcp_state_name((gt_tcp_state)from),
			         gt_tcp_state_name((gt_tcp_state)to), n);
			list_append(t->unexpected, sizeof t->unexpected, &line, item, width);
			t->unexpected_n++;
		}
	}
}

static size_t count_lines(const char *s)
{
	size_t n = *s ? 1 : 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Writes each '\n'-separated line of s as a <text> from y on; returns the
 * y after the last. */
static int svg_text_lines(FILE *f, const char *cls, int x, int y, const char *s)
{
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		char line[256];
		if (len >= sizeof line)
			len = sizeof line - 1;
		memcpy(line, s, len);
		line[len] = '\0';
		fprintf(f, "<text class=\"%s\" x=\"%d\" y=\"%d\">", cls, x, y);
		gt_svg_text(f, line);
		fputs("</text>\n", f);
		y += 16;
		s += len + (nl ? 1 : 0);
	}
	return y;
}

#define LIST_WIDTH 110 /* characters a line of the coverage lists */

int gt_fsm_svg(FILE *f, const gt_fsm_opts *opts)
{
	if (!f)
		return -EINVAL;
	const gt_fsm_counts *c = opts ? opts->counts : NULL;
	bool embedded = opts && opts->embedded;

	coverage_text cov;
	memset(&cov, 0, sizeof cov);
	if (c)
		coverage_lists(c, &cov, LIST_WIDTH);
	int legend_top = BAR_TOP + BAR_H + 30;
	int height = legend_top + (c ? 90 : 70);
	if (c) {
		height += 16 * (int)(count_lines(cov.never) + 1);
		if (cov.unexpected_n)
			height += 16 * (int)(count_lines(cov.unexpected) + 1);
	}

	if (!embedded)
		fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"gt-fsm\" width=\"%d\" "
	        "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"monospace\">\n",
	        CANVAS_W, height, CANVAS_W, height);
	fputs("<title>TCP connection states (RFC 9293 section 3.3.2, Figure 5)</title>\n", f);
	fputs("<defs>\n<style>\n"
	      ".gt-fsm .state rect{fill:#eef3fb;stroke:#333;stroke-width:1.5}\n"
	      ".gt-fsm .state text{font-size:13px;font-weight:bold;fill:#111}\n"
	      ".gt-fsm .state.unvisited rect{fill:#f7f7f7;stroke:#bbb}\n"
	      ".gt-fsm .state.unvisited text{fill:#999}\n"
	      ".gt-fsm .lbl{font-size:11px;fill:#333}\n"
	      ".gt-fsm .lbl.never{fill:#aaa}\n"
	      ".gt-fsm .lbl.taken{fill:#111}\n"
	      ".gt-fsm .count{font-weight:bold;fill:" COLOR_TAKEN "}\n"
	      ".gt-fsm .extra .count{fill:" COLOR_TAKEN_NS "}\n"
	      ".gt-fsm .legend{font-size:12px;fill:#333}\n"
	      ".gt-fsm .list{font-size:12px;fill:#555}\n"
	      ".gt-fsm .heading{font-size:15px;font-weight:bold;fill:#111}\n"
	      "</style>\n",
	      f);
	for (size_t i = 0; i < ARRAY_LEN(markers); i++)
		fprintf(f,
		        "<marker id=\"%s\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
		        "markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" "
		        "orient=\"auto\"><path d=\"M0 0 L10 5 L0 10 z\" fill=\"%s\"/></marker>\n",
		        markers[i].id, markers[i].color);
	fputs("</defs>\n", f);
	fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", CANVAS_W, height);
	fputs("<text class=\"heading\" x=\"20\" y=\"26\">TCP states</text>\n", f);
	if (c)
		fprintf(f,
		        "<text class=\"legend\" x=\"20\" y=\"62\">counted in %" PRIu64
		        " trace%s</text>\n",
		        c->traces, c->traces == 1 ? "" : "s");
	fputs("<text class=\"legend\" x=\"20\" y=\"44\">RFC 9293 \xc2\xa7"
	      "3.3.2</text>\n",
	      f);

	/* Edges under the boxes, so that arrowheads end at a box's border. */
	for (size_t i = 0; i < gt_fsm_edge_count; i++) {
		const gt_fsm_edge *e = &gt_fsm_edges[i];
		const edge_drawing *d = find_drawing(e->from, e->to);
		if (!d)
			return -EINVAL;
		svg_edge(f, e, d, c);
	}
	for (int s = 0; s < GT_TCP_STATE_COUNT; s++)
		svg_state(f, (gt_tcp_state)s, c);
	/* The second CLOSED: every TCB ends here. */
	fprintf(f,
	        "<g class=\"state\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"8\"/>"
	        "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">CLOSED</text></g>\n",
	        BAR_LEFT, BAR_TOP, BAR_RIGHT - BAR_LEFT, BAR_H, CANVAS_W / 2, BAR_TOP + 25);

	/* The legend. */
	int y = legend_top;
	const char *solid = c ? COLOR_TAKEN : COLOR_STANDARD;
	const char *dashed = c ? COLOR_TAKEN_NS : COLOR_EXTRA;
	fprintf(f,
	        "<path d=\"M20 %d L60 %d\" stroke=\"%s\" stroke-width=\"2\"/>"
	        "<text class=\"legend\" x=\"70\" y=\"%d\">a transition of Figure 5, labelled "
	        "event / action (x: none)%s</text>\n",
	        y - 4, y - 4, solid, y, c ? "; thicker the more often taken, \xc3\x97N times" : "");
	y += 20;
	fprintf(f,
	        "<path d=\"M20 %d L60 %d\" stroke=\"%s\" stroke-width=\"2\" "
	        "stroke-dasharray=\"6 4\"/>"
	        "<text class=\"legend\" x=\"70\" y=\"%d\">not in the figure: to CLOSED on rcv RST, "
	        "ABORT (snd RST; also close() with unread data)</text>\n",
	        y - 4, y - 4, dashed, y);
	y += 16;
	fprintf(f,
	        "<text class=\"legend\" x=\"70\" y=\"%d\">or a timeout (retransmissions, user "
	        "timeout, FIN_WAIT_2)</text>\n",
	        y);
	y += 20;
	if (c) {
		fprintf(f,
		        "<path d=\"M20 %d L60 %d\" stroke=\"" COLOR_NEVER "\" stroke-width=\"1\"/>"
		        "<text class=\"legend\" x=\"70\" y=\"%d\">never taken in %" PRIu64
		        " trace%s</text>\n",
		        y - 4, y - 4, y, c->traces, c->traces == 1 ? "" : "s");
		y += 26;
		char head[64];
		snprintf(head, sizeof head, "never taken (%zu of %zu):", cov.never_n,
		         gt_fsm_edge_count);
		y = svg_text_lines(f, "list", 20, y, head);
		y = svg_text_lines(f, "list", 36, y, cov.never_n ? cov.never : "none");
		if (cov.unexpected_n) {
			y = svg_text_lines(f, "list", 20, y, "unexpected (in no edge above):");
			svg_text_lines(f, "list", 36, y, cov.unexpected);
		}
	}
	fputs("</svg>\n", f);
	return ferror(f) ? -EIO : 0;
}

/* ---- Graphviz DOT ---- */

/* A DOT double-quoted string: only '"' and '\\' need escaping. */
static void dot_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

int gt_fsm_dot(FILE *f, const gt_fsm_opts *opts)
{
	if (!f)
		return -EINVAL;
	const gt_fsm_counts *c = opts ? opts->counts : NULL;
	fputs("digraph tcp_states {\n"
	      "\tlabel=\"TCP connection states (RFC 9293 section 3.3.2, Figure 5)\";\n"
	      "\tlabelloc=t;\n\tfontname=\"monospace\";\n"
	      "\tnode [shape=box, style=\"rounded,filled\", fillcolor=\"#eef3fb\", "
	      "fontname=\"monospace\"];\n"
	      "\tedge [fontname=\"monospace\", fontsize=10];\n",
	      f);
	for (int s = 0; s < GT_TCP_STATE_COUNT; s++) {
		fprintf(f, "\t%s", gt_tcp_state_name((gt_tcp_state)s));
		if (c && !state_visited(c, (gt_tcp_state)s))
			fputs(" [fontcolor=\"#999999\", color=\"#bbbbbb\", fillcolor=\"#f7f7f7\"]",
			      f);
		fputs(";\n", f);
	}
	/* The figure's rows. */
	fputs("\t{ rank=same; SYN_RECEIVED; SYN_SENT; }\n"
	      "\t{ rank=same; FIN_WAIT_1; CLOSE_WAIT; }\n"
	      "\t{ rank=same; FIN_WAIT_2; CLOSING; LAST_ACK; }\n",
	      f);
	for (size_t i = 0; i < gt_fsm_edge_count; i++) {
		const gt_fsm_edge *e = &gt_fsm_edges[i];
		edge_style st = style_of(e, c);
		uint64_t n = edge_count(c, e);
		char event[64];
		const char *action;
		split_label(e->label, event, sizeof event, &action);
		char label[160];
		if (n > 0)
			snprintf(label, sizeof label, "%s\n%s\n\xc3\x97%" PRIu64, event, action, n);
		else
			snprintf(label, sizeof label, "%s\n%s", event, action);
		fprintf(f, "\t%s -> %s [label=", gt_tcp_state_name(e->from),
		        gt_tcp_state_name(e->to));
		/* "\n" in a DOT string is a centred line break: write it as such. */
		fputc('"', f);
		for (const char *p = label; *p; p++) {
			if (*p == '\n')
				fputs("\\n", f);
			else if (*p == '"' || *p == '\\')
				fprintf(f, "\\%c", *p);
			else
				fputc(*p, f);
		}
		fputc('"', f);
		fprintf(f, ", color=\"%s\", fontcolor=\"%s\", penwidth=%.1f%s", st.color,
		        c && n == 0 ? "#999999" : "#222222", st.width,
		        st.dashed ? ", style=dashed" : "");
		fputs("];\n", f);
	}
	if (c) {
		for (int from = 0; from < GT_TCP_STATE_COUNT; from++) {
			for (int to = 0; to < GT_TCP_STATE_COUNT; to++) {
				uint64_t n = c->n[from][to];
				if (!n || find_edge((gt_tcp_state)from, (gt_tcp_state)to))
					continue;
				char label[48];
				snprintf(label, sizeof label, "unexpected \xc3\x97%" PRIu64, n);
				fprintf(f,
				        "\t%s -> %s [label=", gt_tcp_state_name((gt_tcp_state)from),
				        gt_tcp_state_name((gt_tcp_state)to));
				dot_string(f, label);
				fprintf(f, ", color=\"" COLOR_UNEXPECTED "\", penwidth=%.1f];\n",
				        taken_width(n));
			}
		}
	}
	fputs("}\n", f);
	return ferror(f) ? -EIO : 0;
}

/* ---- text ---- */

size_t gt_fsm_report(FILE *f, const gt_fsm_counts *c)
{
	static const gt_fsm_counts none;
	if (!c)
		c = &none;
	size_t never = 0;
	fprintf(f, "TCP state transitions taken in %" PRIu64 " trace%s (RFC 9293 Figure 5)\n",
	        c->traces, c->traces == 1 ? "" : "s");
	for (int pass = 0; pass < 2; pass++) {
		bool standard = pass == 0;
		fputs(standard ? "\nstandard (Figure 5):\n" : "\nnot in the figure:\n", f);
		fprintf(f, "  %8s  %-28s  %s\n", "count", "transition", "event / action");
		for (size_t i = 0; i < gt_fsm_edge_count; i++) {
			const gt_fsm_edge *e = &gt_fsm_edges[i];
			if (e->standard != standard)
				continue;
			char pair[40];
			snprintf(pair, sizeof pair, "%s -> %s", gt_tcp_state_name(e->from),
			         gt_tcp_state_name(e->to));
			fprintf(f, "  %8" PRIu64 "  %-28s  %s\n", c->n[e->from][e->to], pair,
			        e->label);
		}
	}

	fputs("\nnever taken:", f);
	for (size_t i = 0; i < gt_fsm_edge_count; i++) {
		const gt_fsm_edge *e = &gt_fsm_edges[i];
		if (c->n[e->from][e->to])
			continue;
		never++;
		fprintf(f, "\n  %s -> %s (%s)%s", gt_tcp_state_name(e->from),
		        gt_tcp_state_name(e->to), e->label,
		        e->standard ? "" : " [not in the figure]");
	}
	fprintf(f, "%s\n", never ? "" : " none");
	fprintf(f, "  %zu of %zu transitions never taken\n", never, gt_fsm_edge_count);

	size_t unexpected = 0;
	fputs("\nunexpected:", f);
	for (int from = 0; from < GT_TCP_STATE_COUNT; from++) {
		for (int to = 0; to < GT_TCP_STATE_COUNT; to++) {
			uint64_t n = c->n[from][to];
			if (!n || find_edge((gt_tcp_state)from, (gt_tcp_state)to))
				continue;
			unexpected++;
			fprintf(f, "\n  %s -> %s taken %" PRIu64 " time%s",
			        gt_tcp_state_name((gt_tcp_state)from),
			        gt_tcp_state_name((gt_tcp_state)to), n, n == 1 ? "" : "s");
		}
	}
	fprintf(f, "%s\n", unexpected ? "" : " none");
	return never;
}
