/* The state diagram (tools/view/fsm.c): the edge table covers every
 * transition the demo scenarios take, counts add up, the report lists what was
 * never taken, and the SVG and DOT are well formed with no label drawn over
 * another label, a state box or an edge. */
#include "support.h"

#include "scenarios/scenarios.h"
#include "view/fsm.h"
#include "view/svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const gt_fsm_edge *edge_of(gt_tcp_state from, gt_tcp_state to)
{
	for (size_t i = 0; i < gt_fsm_edge_count; i++) {
		if (gt_fsm_edges[i].from == from && gt_fsm_edges[i].to == to)
			return &gt_fsm_edges[i];
	}
	return NULL;
}

/* Runs one scenario and adds its state changes to c. */
static void count_scenario(const gt_scenario *sc, gt_fsm_counts *c)
{
	gt_scenario_opts o;
	gt_scenario_opts_default(&o);
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	gt_scenario_result res;
	int rc = gt_scenario_run(sc, &o, gt_trace_log_record, log, &res);
	if (rc != 0)
		fail_msg("scenario %s: %s", sc->name, res.failure);
	assert_int_equal(gt_trace_log_dropped(log), 0);
	gt_fsm_count_log(c, log);
	gt_trace_log_free(log);
}

static gt_fsm_counts *count_all_scenarios(void)
{
	gt_fsm_counts *c = calloc(1, sizeof *c);
	assert_non_null(c);
	for (size_t i = 0; i < gt_scenario_count; i++) {
		if (gt_scenario_is_flood(&gt_scenarios[i]))
			continue; /* three hosts, thousands of connections: test_syn_flood.c */
		count_scenario(&gt_scenarios[i], c);
	}
	return c;
}

static char *capture_report(const gt_fsm_counts *c, size_t *never)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	*never = gt_fsm_report(f, c);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_edge_table(void **state)
{
	(void)state;
	assert_true(gt_fsm_edge_count >= 21);
	bool seen_extra = false;
	for (size_t i = 0; i < gt_fsm_edge_count; i++) {
		const gt_fsm_edge *e = &gt_fsm_edges[i];
		assert_true((unsigned)e->from < GT_TCP_STATE_COUNT);
		assert_true((unsigned)e->to < GT_TCP_STATE_COUNT);
		assert_int_not_equal(e->from, e->to);
		/* "event / action": both halves present */
		const char *slash = strstr(e->label, " / ");
		if (!slash || slash == e->label || slash[3] == '\0')
			fail_msg("edge %zu label \"%s\" is not event / action", i, e->label);
		/* standard ones first */
		if (!e->standard)
			seen_extra = true;
		else if (seen_extra)
			fail_msg("standard edge %zu after a non-standard one", i);
		/* one edge per pair: counts are per pair */
		for (size_t j = i + 1; j < gt_fsm_edge_count; j++) {
			if (gt_fsm_edges[j].from == e->from && gt_fsm_edges[j].to == e->to)
				fail_msg("edges %zu and %zu are both %s -> %s", i, j,
				         gt_tcp_state_name(e->from), gt_tcp_state_name(e->to));
		}
	}
	/* RFC 9293 Figure 5, with the labels it gives */
	static const struct {
		gt_tcp_state from, to;
		const char *label;
	} figure[] = {
	    {GT_TCP_CLOSED, GT_TCP_LISTEN, "passive OPEN / create TCB"},
	    {GT_TCP_CLOSED, GT_TCP_SYN_SENT, "active OPEN / snd SYN"},
	    {GT_TCP_LISTEN, GT_TCP_SYN_RECEIVED, "rcv SYN / snd SYN,ACK"},
	    {GT_TCP_LISTEN, GT_TCP_SYN_SENT, "SEND / snd SYN"},
	    {GT_TCP_LISTEN, GT_TCP_CLOSED, "CLOSE / delete TCB"},
	    {GT_TCP_SYN_SENT, GT_TCP_SYN_RECEIVED, "rcv SYN / snd SYN,ACK"},
	    {GT_TCP_SYN_SENT, GT_TCP_ESTABLISHED, "rcv SYN,ACK / snd ACK"},
	    {GT_TCP_SYN_SENT, GT_TCP_CLOSED, NULL},
	    {GT_TCP_SYN_RECEIVED, GT_TCP_ESTABLISHED, "rcv ACK of SYN / x"},
	    {GT_TCP_SYN_RECEIVED, GT_TCP_FIN_WAIT_1, "CLOSE / snd FIN"},
	    {GT_TCP_SYN_RECEIVED, GT_TCP_LISTEN, NULL},
	    {GT_TCP_ESTABLISHED, GT_TCP_FIN_WAIT_1, "CLOSE / snd FIN"},
	    {GT_TCP_ESTABLISHED, GT_TCP_CLOSE_WAIT, "rcv FIN / snd ACK"},
	    {GT_TCP_FIN_WAIT_1, GT_TCP_FIN_WAIT_2, "rcv ACK of FIN / x"},
	    {GT_TCP_FIN_WAIT_1, GT_TCP_CLOSING, "rcv FIN / snd ACK"},
	    {GT_TCP_FIN_WAIT_1, GT_TCP_TIME_WAIT, "rcv FIN,ACK / snd ACK"},
	    {GT_TCP_FIN_WAIT_2, GT_TCP_TIME_WAIT, "rcv FIN / snd ACK"},
	    {GT_TCP_CLOSE_WAIT, GT_TCP_LAST_ACK, "CLOSE / snd FIN"},
	    {GT_TCP_CLOSING, GT_TCP_TIME_WAIT, "rcv ACK of FIN / x"},
	    {GT_TCP_LAST_ACK, GT_TCP_CLOSED, "rcv ACK of FIN / x"},
	    {GT_TCP_TIME_WAIT, GT_TCP_CLOSED, "timeout 2MSL / delete TCB"},
	};
	for (size_t i = 0; i < ARRAY_LEN(figure); i++) {
		const gt_fsm_edge *e = edge_of(figure[i].from, figure[i].to);
		if (!e || !e->standard)
			fail_msg("figure edge %s -> %s missing or not standard",
			         gt_tcp_state_name(figure[i].from),
			         gt_tcp_state_name(figure[i].to));
		if (figure[i].label)
			assert_string_equal(e->label, figure[i].label);
	}
	/* the ways a connection ends early, which the figure leaves out */
	const gt_tcp_state resettable[] = {GT_TCP_SYN_RECEIVED, GT_TCP_ESTABLISHED,
	                                   GT_TCP_FIN_WAIT_1,   GT_TCP_FIN_WAIT_2,
	                                   GT_TCP_CLOSE_WAIT,   GT_TCP_CLOSING};
	for (size_t i = 0; i < ARRAY_LEN(resettable); i++) {
		const gt_fsm_edge *e = edge_of(resettable[i], GT_TCP_CLOSED);
		if (!e || e->standard || !strstr(e->label, "RST"))
			fail_msg("%s -> CLOSED: want a non-standard reset edge",
			         gt_tcp_state_name(resettable[i]));
	}
}

static void test_count_log(void **state)
{
	(void)state;
	gt_trace_log *log = gt_trace_log_new();
	gt_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = GT_EV_STATE;
	ev.host = "h";
	ev.from = GT_TCP_CLOSED;
	ev.to = GT_TCP_SYN_SENT;
	gt_trace_log_record(log, &ev);
	gt_trace_log_record(log, &ev);
	ev.from = GT_TCP_FIN_WAIT_1;
	ev.to = GT_TCP_CLOSING;
	ev.inferred = true; /* inferred changes count too */
	gt_trace_log_record(log, &ev);
	ev.kind = GT_EV_TX; /* not a state change */
	ev.has_seg = true;
	gt_trace_log_record(log, &ev);

	gt_fsm_counts c;
	memset(&c, 0, sizeof c);
	gt_fsm_count_log(&c, log);
	gt_fsm_count_log(&c, log);
	assert_int_equal(c.traces, 2);
	assert_int_equal(c.n[GT_TCP_CLOSED][GT_TCP_SYN_SENT], 4);
	assert_int_equal(c.n[GT_TCP_FIN_WAIT_1][GT_TCP_CLOSING], 2);
	uint64_t total = 0;
	for (int a = 0; a < GT_TCP_STATE_COUNT; a++)
		for (int b = 0; b < GT_TCP_STATE_COUNT; b++)
			total += c.n[a][b];
	assert_int_equal(total, 6);
	gt_trace_log_free(log);
}

static void test_demo_scenarios_coverage(void **state)
{
	(void)state;
	assert_int_equal(gt_scenario_count, 14); /* 13 here: syn-flood is not counted */
	gt_fsm_counts *c = count_all_scenarios();
	assert_int_equal(c->traces, 13);

	/* the scenarios named for these edges take them, on both ends */
	assert_true(c->n[GT_TCP_FIN_WAIT_1][GT_TCP_CLOSING] >= 2);    /* simultaneous-close */
	assert_true(c->n[GT_TCP_CLOSING][GT_TCP_TIME_WAIT] >= 2);     /* simultaneous-close */
	assert_true(c->n[GT_TCP_SYN_SENT][GT_TCP_SYN_RECEIVED] >= 2); /* simultaneous-open */
	assert_true(c->n[GT_TCP_SYN_SENT][GT_TCP_CLOSED] >= 1);       /* refused */
	assert_true(c->n[GT_TCP_ESTABLISHED][GT_TCP_CLOSED] >= 1);    /* abort */
	assert_true(c->n[GT_TCP_LAST_ACK][GT_TCP_CLOSED] >= 1);
	assert_true(c->n[GT_TCP_FIN_WAIT_2][GT_TCP_TIME_WAIT] >= 1);

	/* Every run ends with every connection gone (scenarios.h), so each state
	 * but CLOSED and LISTEN is left as often as it is entered. (A listener's
	 * child starts as a copy of LISTEN without a transition of its own.) */
	for (int s = GT_TCP_SYN_SENT; s < GT_TCP_STATE_COUNT; s++) {
		uint64_t in = 0, out = 0;
		for (int o = 0; o < GT_TCP_STATE_COUNT; o++) {
			in += c->n[o][s];
			out += c->n[s][o];
		}
		if (in != out)
			fail_msg("%s entered %llu times, left %llu times",
			         gt_tcp_state_name((gt_tcp_state)s), (unsigned long long)in,
			         (unsigned long long)out);
		assert_true(in > 0);
	}
	/* in particular, TIME_WAIT always ends in CLOSED */
	uint64_t tw_in = 0;
	for (int o = 0; o < GT_TCP_STATE_COUNT; o++)
		tw_in += c->n[o][GT_TCP_TIME_WAIT];
	assert_int_equal(c->n[GT_TCP_TIME_WAIT][GT_TCP_CLOSED], tw_in);

	/* everything glasstcp did is an edge of the diagram */
	for (int a = 0; a < GT_TCP_STATE_COUNT; a++) {
		for (int b = 0; b < GT_TCP_STATE_COUNT; b++) {
			if (c->n[a][b] && !edge_of((gt_tcp_state)a, (gt_tcp_state)b))
				fail_msg("%s -> %s taken but in no edge",
				         gt_tcp_state_name((gt_tcp_state)a),
				         gt_tcp_state_name((gt_tcp_state)b));
		}
	}

	size_t never_expected = 0;
	for (size_t i = 0; i < gt_fsm_edge_count; i++)
		never_expected += c->n[gt_fsm_edges[i].from][gt_fsm_edges[i].to] == 0;
	assert_true(never_expected > 0); /* e.g. LISTEN -> SYN_SENT: no SEND on a listener */
	size_t never;
	char *report = capture_report(c, &never);
	assert_int_equal(never, never_expected);
	assert_non_null(strstr(report, "never taken:"));
	assert_non_null(strstr(report, "\n  LISTEN -> SYN_SENT (SEND / snd SYN)"));
	assert_non_null(strstr(report, "unexpected: none\n"));
	/* the CLOSING line carries its count */
	char want[128];
	snprintf(want, sizeof want, "%8llu  %-28s  %s\n",
	         (unsigned long long)c->n[GT_TCP_FIN_WAIT_1][GT_TCP_CLOSING],
	         "FIN_WAIT_1 -> CLOSING", "rcv FIN / snd ACK");
	assert_non_null(strstr(report, want));
	free(report);
	free(c);
}

static void test_report_unexpected(void **state)
{
	(void)state;
	gt_fsm_counts c;
	memset(&c, 0, sizeof c);
	c.traces = 1;
	c.n[GT_TCP_CLOSED][GT_TCP_TIME_WAIT] = 3; /* in no edge */
	c.n[GT_TCP_CLOSED][GT_TCP_LISTEN] = 1;
	size_t never;
	char *report = capture_report(&c, &never);
	assert_int_equal(never, gt_fsm_edge_count - 1);
	assert_non_null(strstr(report, "unexpected:\n  CLOSED -> TIME_WAIT taken 3 times\n"));
	assert_null(strstr(report, "CLOSED -> LISTEN (passive OPEN"));
	free(report);

	/* no counts at all: every edge never taken */
	report = capture_report(NULL, &never);
	assert_int_equal(never, gt_fsm_edge_count);
	free(report);
}

/* ---- checking the SVG's structure and layout ---- */

typedef struct box {
	double x0, y0, x1, y1;
	char what[96];
} box;

typedef struct layout {
	box labels[128];
	size_t nlabels;
	box states[16];
	size_t nstates;
	double segs[256][4]; /* x0 y0 x1 y1 */
	size_t nsegs;
	int seg_edge[256]; /* which edge group a segment belongs to */
	int label_edge[128];
} layout;

static size_t count_of(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* The text of an element from after its '>' to "</text>", tags removed. */
static void text_content(const char *p, char *out, size_t cap)
{
	const char *start = strchr(p, '>') + 1;
	const char *end = strstr(start, "</text>");
	size_t n = 0;
	bool in_tag = false;
	for (const char *q = start; q < end && n + 1 < cap; q++) {
		if (*q == '<')
			in_tag = true;
		else if (*q == '>')
			in_tag = false;
		else if (!in_tag)
			out[n++] = *q;
	}
	out[n] = '\0';
}

static double attr(const char *elem, const char *name)
{
	char key[32];
	snprintf(key, sizeof key, " %s=\"", name);
	const char *p = strstr(elem, key);
	assert_non_null(p);
	return strtod(p + strlen(key), NULL);
}

static void parse_layout(const char *svg, layout *L)
{
	memset(L, 0, sizeof *L);
	int edge = -1;
	const char *end_of_edges = strstr(svg, "<g class=\"state");
	assert_non_null(end_of_edges);
	for (const char *p = svg; (p = strstr(p, "<g class=\"edge")) != NULL && p < end_of_edges;
	     p++) {
		edge++;
		const char *path = strstr(p, "<path d=\"");
		assert_non_null(path);
		const char *d = path + 9;
		double px = 0, py = 0;
		bool first = true;
		while (*d != '"') {
			char cmd = *d++;
			char *next;
			double x = strtod(d, &next);
			double y = strtod(next, &next);
			d = next;
			while (*d == ' ')
				d++;
			if (!first && cmd == 'L') {
				assert_true(L->nsegs < ARRAY_LEN(L->segs));
				L->seg_edge[L->nsegs] = edge;
				double *s = L->segs[L->nsegs++];
				s[0] = px, s[1] = py, s[2] = x, s[3] = y;
			}
			first = false;
			px = x, py = y;
		}
		const char *group_end = strstr(p, "</g>");
		for (const char *t = p;
		     (t = strstr(t, "<text class=\"lbl")) != NULL && t < group_end; t++) {
			assert_true(L->nlabels < ARRAY_LEN(L->labels));
			box *b = &L->labels[L->nlabels];
			L->label_edge[L->nlabels++] = edge;
			text_content(t, b->what, sizeof b->what);
			double x = attr(t, "x"), y = attr(t, "y");
			double w = gt_svg_text_width(b->what, 11);
			const char *anchor = strstr(t, "text-anchor=\"") + 13;
			double x0 = !strncmp(anchor, "start", 5) ? x
			            : !strncmp(anchor, "end", 3) ? x - w
			                                         : x - w / 2;
			/* 11 px type: ascenders to about 9 px above the baseline,
			 * descenders 3 px below */
			*b = (box){x0, y - 9, x0 + w, y + 3, ""};
			text_content(t, b->what, sizeof b->what);
		}
	}
	for (const char *p = end_of_edges; (p = strstr(p, "<g class=\"state")) != NULL; p++) {
		const char *r = strstr(p, "<rect");
		assert_true(L->nstates < ARRAY_LEN(L->states));
		box *b = &L->states[L->nstates++];
		b->x0 = attr(r, "x");
		b->y0 = attr(r, "y");
		b->x1 = b->x0 + attr(r, "width");
		b->y1 = b->y0 + attr(r, "height");
		text_content(strstr(r, "<text"), b->what, sizeof b->what);
	}
}

static bool overlap(const box *a, const box *b)
{
	return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

/* Does segment s pass through the inside of b (shrunk by a pixel)? Sampled
 * every half pixel: the segments are a few hundred pixels long. */
static bool crosses(const double *s, const box *b)
{
	double len = fabs(s[2] - s[0]) + fabs(s[3] - s[1]);
	int steps = (int)(len * 2) + 1;
	for (int i = 0; i <= steps; i++) {
		double x = s[0] + (s[2] - s[0]) * i / steps;
		double y = s[1] + (s[3] - s[1]) * i / steps;
		if (x > b->x0 + 1 && x < b->x1 - 1 && y > b->y0 + 1 && y < b->y1 - 1)
			return true;
	}
	return false;
}

static void check_layout(const char *svg)
{
	layout *L = calloc(1, sizeof *L);
	assert_non_null(L);
	parse_layout(svg, L);
	assert_int_equal(L->nstates, GT_TCP_STATE_COUNT + 1); /* CLOSED twice */
	assert_true(L->nlabels >= 2 * 20);
	assert_int_equal(L->seg_edge[L->nsegs - 1] + 1, (int)gt_fsm_edge_count);
	for (size_t i = 0; i < L->nlabels; i++) {
		const box *a = &L->labels[i];
		if (a->x0 < 0 || a->x1 > 1000 || a->y0 < 0)
			fail_msg("label \"%s\" outside the picture", a->what);
		for (size_t j = i + 1; j < L->nlabels; j++) {
			if (overlap(a, &L->labels[j]))
				fail_msg("labels \"%s\" and \"%s\" overlap", a->what,
				         L->labels[j].what);
		}
		for (size_t s = 0; s < L->nstates; s++) {
			if (overlap(a, &L->states[s]))
				fail_msg("label \"%s\" covers state %s", a->what,
				         L->states[s].what);
		}
		for (size_t s = 0; s < L->nsegs; s++) {
			if (crosses(L->segs[s], a))
				fail_msg("an edge crosses label \"%s\"", a->what);
		}
	}
	/* and no edge runs through a state box it does not start or end at */
	for (size_t s = 0; s < L->nsegs; s++) {
		for (size_t b = 0; b < L->nstates; b++) {
			if (crosses(L->segs[s], &L->states[b]))
				fail_msg("edge %d runs through state %s", L->seg_edge[s],
				         L->states[b].what);
		}
	}
	free(L);
}

/* noinline: inlined, GCC 12's -Wdangling-pointer (on at -O2) takes the
 * returned text for a pointer to the local `buf` that open_memstream fills. */
__attribute__((noinline)) static char *render_svg(const gt_fsm_counts *c, bool embedded)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	gt_fsm_opts o = {.counts = c, .embedded = embedded};
	assert_int_equal(gt_fsm_svg(f, &o), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void check_svg_structure(const char *svg, bool embedded)
{
	if (embedded)
		assert_int_equal(strncmp(svg, "<svg ", 5), 0);
	else
		assert_int_equal(
		    strncmp(svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 44), 0);
	assert_int_equal(count_of(svg, "<svg"), 1);
	size_t len = strlen(svg);
	assert_true(len > 7 && strcmp(svg + len - 7, "</svg>\n") == 0);
	assert_int_equal(count_of(svg, "<g"), count_of(svg, "</g>"));
	assert_int_equal(count_of(svg, "<text"), count_of(svg, "</text>"));
	assert_int_equal(count_of(svg, "<tspan"), count_of(svg, "</tspan>"));
	assert_int_equal(count_of(svg, "<marker"), count_of(svg, "</marker>"));
	/* every marker used is defined */
	for (const char *p = svg; (p = strstr(p, "url(#")) != NULL; p++) {
		char id[64];
		assert_int_equal(sscanf(p + 5, "%63[^)]", id), 1);
		char def[80];
		snprintf(def, sizeof def, "<marker id=\"%s\"", id);
		assert_non_null(strstr(svg, def));
	}
	for (int s = 0; s < GT_TCP_STATE_COUNT; s++) {
		char want[64];
		snprintf(want, sizeof want, "text-anchor=\"middle\">%s</text>",
		         gt_tcp_state_name((gt_tcp_state)s));
		assert_non_null(strstr(svg, want));
	}
	assert_int_equal(count_of(svg, "<g class=\"edge"), gt_fsm_edge_count);
	/* no raw '&' that is not an entity, no stray '<' in text */
	for (const char *p = svg; (p = strchr(p, '&')) != NULL; p++)
		assert_true(!strncmp(p, "&amp;", 5) || !strncmp(p, "&lt;", 4) ||
		            !strncmp(p, "&gt;", 4) || !strncmp(p, "&quot;", 6) ||
		            !strncmp(p, "&apos;", 6));
}

static void test_svg_plain(void **state)
{
	(void)state;
	char *svg = render_svg(NULL, false);
	check_svg_structure(svg, false);
	assert_null(strstr(svg, "never taken")); /* no counts, no coverage */
	assert_null(strstr(svg, "\xc3\x97"));    /* nor any ×N */
	assert_non_null(strstr(svg, ">rcv SYN,ACK</text>"));
	assert_non_null(strstr(svg, ">snd ACK</text>"));
	assert_non_null(strstr(svg, "stroke-dasharray")); /* the non-standard edges */
	check_layout(svg);
	free(svg);

	svg = render_svg(NULL, true);
	check_svg_structure(svg, true);
	free(svg);
}

static void test_svg_with_counts(void **state)
{
	(void)state;
	gt_fsm_counts *c = count_all_scenarios();
	char *svg = render_svg(c, false);
	check_svg_structure(svg, false);
	check_layout(svg);

	/* each edge group carries its count; taken ones show ×N */
	for (size_t i = 0; i < gt_fsm_edge_count; i++) {
		const gt_fsm_edge *e = &gt_fsm_edges[i];
		uint64_t n = c->n[e->from][e->to];
		char want[128];
		snprintf(want, sizeof want, "data-from=\"%s\" data-to=\"%s\" data-count=\"%llu\"",
		         gt_tcp_state_name(e->from), gt_tcp_state_name(e->to),
		         (unsigned long long)n);
		const char *g = strstr(svg, want);
		if (!g)
			fail_msg("no group %s", want);
		const char *end = strstr(g, "</g>");
		snprintf(want, sizeof want, "\xc3\x97%llu</tspan>", (unsigned long long)n);
		const char *count = strstr(g, want);
		if (n > 0)
			assert_true(count && count < end);
		else
			assert_true(!count || count > end);
	}
	const char *never = strstr(svg, "never taken (");
	assert_non_null(never);
	assert_non_null(strstr(never, "LISTEN\xe2\x86\x92SYN_SENT"));
	assert_null(strstr(never, "FIN_WAIT_1\xe2\x86\x92"
	                          "CLOSING"));
	assert_null(strstr(svg, "unexpected"));

	/* an unexpected transition is listed, not drawn as an edge */
	c->n[GT_TCP_CLOSED][GT_TCP_TIME_WAIT] = 1;
	free(svg);
	svg = render_svg(c, true);
	check_svg_structure(svg, true);
	assert_non_null(strstr(svg, "CLOSED\xe2\x86\x92TIME_WAIT \xc3\x97"
	                            "1"));
	free(svg);
	free(c);
}

static void test_dot(void **state)
{
	(void)state;
	gt_fsm_counts *c = count_all_scenarios();
	for (int with_counts = 0; with_counts < 2; with_counts++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		gt_fsm_opts o = {.counts = with_counts ? c : NULL};
		assert_int_equal(gt_fsm_dot(f, &o), 0);
		assert_int_equal(fclose(f), 0);
		assert_int_equal(strncmp(buf, "digraph ", 8), 0);
		assert_int_equal(count_of(buf, "{"), count_of(buf, "}"));
		assert_int_equal(count_of(buf, " -> "), gt_fsm_edge_count);
		for (size_t i = 0; i < gt_fsm_edge_count; i++) {
			const gt_fsm_edge *e = &gt_fsm_edges[i];
			char want[64];
			snprintf(want, sizeof want, "\t%s -> %s [label=\"",
			         gt_tcp_state_name(e->from), gt_tcp_state_name(e->to));
			assert_non_null(strstr(buf, want));
		}
		/* penwidth grows with the count */
		const char *fin = strstr(buf, "\tFIN_WAIT_1 -> CLOSING [");
		const char *listen = strstr(buf, "\tLISTEN -> SYN_SENT [");
		double w_fin = strtod(strstr(fin, "penwidth=") + 9, NULL);
		double w_listen = strtod(strstr(listen, "penwidth=") + 9, NULL);
		if (with_counts)
			assert_true(w_fin > w_listen);
		else
			assert_true(w_fin == w_listen);
		free(buf);
	}
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edge_table),
	    cmocka_unit_test(test_count_log),
	    cmocka_unit_test(test_demo_scenarios_coverage),
	    cmocka_unit_test(test_report_unexpected),
	    cmocka_unit_test(test_svg_plain),
	    cmocka_unit_test(test_svg_with_counts),
	    cmocka_unit_test(test_dot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
