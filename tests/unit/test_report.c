/* The HTML report (tools/view/report.h): self-contained, well-formed, with the
 * plots' marks matching the trace's segments, for demo scenarios and for
 * hand-made logs (an empty one, a long one that must be downsampled, window
 * scaling from the SYNs' packet bytes, a side that logged only receptions).
 * GT_REPORT_DUMP=DIR writes each page to DIR to look at. */
#include "support.h"

#include "scenarios/scenarios.h"
#include "view/explain.h"
#include "view/flow.h"
#include "view/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLIENT GT_TEST_ADDR(1)
#define SERVER GT_TEST_ADDR(2)
#define CPORT  49152
#define SPORT  80

/* ---- helpers ---- */

static gt_trace_log *record_scenario(const char *name)
{
	const gt_scenario *sc = gt_scenario_find(name);
	assert_non_null(sc);
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	gt_scenario_opts o;
	gt_scenario_opts_default(&o);
	gt_scenario_result res;
	int rc = gt_scenario_run(sc, &o, gt_trace_log_record, log, &res);
	assert_int_equal(rc, 0);
	assert_int_equal(gt_trace_log_dropped(log), 0);
	return log;
}

static void dump(const char *name, const char *html)
{
	const char *dir = getenv("GT_REPORT_DUMP");
	if (!dir || !dir[0])
		return;
	char path[512];
	snprintf(path, sizeof path, "%s/%s.html", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(html, f);
	assert_int_equal(fclose(f), 0);
}

static char *render(const gt_trace_log *log, const gt_report_opts *o, const char *name)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	int rc = gt_report_html(f, log, o);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rc, 0);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	dump(name, buf);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* A small well-formedness check (XML 1.0 §2.1, what `xmllint --noout` would
 * say): every element closed in order, attribute values quoted, no stray '<'
 * or '&' in text. Returns NULL or a description of the first problem. */
static const char *xml_problem(const char *s, char *why, size_t whylen)
{
	const char *stack[256];
	size_t lens[256];
	size_t depth = 0;
	const char *p = s;
	if (strncmp(p, "<!DOCTYPE html>", 15) != 0)
		return "no <!DOCTYPE html> first";
	p += 15;
	while (*p) {
		if (*p == '&') {
			const char *ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"};
			bool ok = false;
			for (size_t i = 0; i < sizeof ents / sizeof *ents; i++)
				ok = ok || strncmp(p, ents[i], strlen(ents[i])) == 0;
			if (!ok) {
				snprintf(why, whylen, "bad entity at offset %zu", (size_t)(p - s));
				return why;
			}
			p++;
			continue;
		}
		if (*p != '<') {
			p++;
			continue;
		}
		if (strncmp(p, "<!--", 4) == 0) {
			const char *e = strstr(p, "-->");
			if (!e)
				return "unterminated comment";
			p = e + 3;
			continue;
		}
		bool closing = p[1] == '/';
		const char *name = p + (closing ? 2 : 1);
		size_t nlen = strcspn(name, " \t\n/>");
		if (!nlen) {
			snprintf(why, whylen, "stray '<' at offset %zu", (size_t)(p - s));
			return why;
		}
		/* the end of the tag, outside quoted attribute values */
		const char *q = name + nlen;
		char quote = 0;
		for (; *q && (quote || *q != '>'); q++) {
			if (quote && *q == quote)
				quote = 0;
			else if (!quote && (*q == '"' || *q == '\''))
				quote = *q;
			else if (!quote && *q == '<') {
				snprintf(why, whylen, "'<' inside a tag at offset %zu",
				         (size_t)(q - s));
				return why;
			}
		}
		if (!*q)
			return "unterminated tag";
		bool empty = q[-1] == '/';
		if (closing) {
			if (!depth || lens[depth - 1] != nlen ||
			    strncmp(stack[depth - 1], name, nlen)) {
				snprintf(why, whylen,
				         "</%.*s> does not close the open element at offset %zu",
				         (int)nlen, name, (size_t)(p - s));
				return why;
			}
			depth--;
		} else if (!empty) {
			if (depth == 256)
				return "nesting too deep";
			stack[depth] = name;
			lens[depth++] = nlen;
			/* raw text elements: skip to their end tag */
			if ((nlen == 5 && strncmp(name, "style", 5) == 0)) {
				const char *e = strstr(q, "</style>");
				if (!e)
					return "unterminated <style>";
				q = e - 1;
			}
		}
		p = q + 1;
	}
	if (depth) {
		snprintf(why, whylen, "<%.*s> never closed", (int)lens[depth - 1],
		         stack[depth - 1]);
		return why;
	}
	return NULL;
}

/* What every page must be: one well-formed, self-contained HTML document. */
static void assert_self_contained(const char *html)
{
	assert_null(strstr(html, "http:"));
	assert_null(strstr(html, "https:"));
	assert_null(strstr(html, "//"));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, " src="));
	assert_null(strstr(html, "@import"));
	assert_null(strstr(html, "<link"));
	assert_null(strstr(html, "<img"));
	/* the only url() references are to ids inside the page */
	assert_int_equal(count(html, "url("), count(html, "url(#"));
	assert_int_equal(count(html, "href=\""), count(html, "href=\"#"));
	char why[200];
	const char *problem = xml_problem(html, why, sizeof why);
	if (problem)
		fail_msg("not well-formed: %s", problem);
	assert_non_null(strstr(html, "<html lang=\"en\">"));
	assert_non_null(strstr(html, "<meta charset=\"utf-8\"/>"));
	assert_non_null(strstr(html, "</html>\n"));
}

/* Segments of the log that occupy sequence space (SYN, FIN or data), sent by
 * host (tx events), with or without the retransmission flag. */
static size_t seq_segments(const gt_trace_log *log, const char *host, bool rexmit)
{
	size_t n = 0;
	for (size_t i = 0; i < gt_trace_log_count(log); i++) {
		const gt_event *ev = gt_trace_log_get(log, i);
		if (ev->kind != GT_EV_TX || !ev->has_seg || (host && strcmp(ev->host, host) != 0))
			continue;
		bool occupies = ev->seg.len || (ev->seg.flags & (GT_TCP_SYN | GT_TCP_FIN));
		if (occupies && ev->seg.rexmit == rexmit)
			n++;
	}
	return n;
}

/* The ladder of each connection and the state diagram (flow.h, ladder.h,
 * fsm.h) are embedded: without an XML declaration or a namespace URL, their
 * ids prefixed per diagram. */
static void assert_diagrams(const char *html, size_t n_conns)
{
	const char *unavailable = strstr(html, "diagram unavailable: ");
	if (unavailable)
		fail_msg("%.120s", unavailable);
	assert_int_equal(count(html, "<div class=\"fig\">\n<svg"), n_conns + 1);
	assert_null(strstr(html, "<?xml"));
	assert_null(strstr(html, "xmlns"));
	assert_non_null(strstr(html, "<h2 id=\"fsm\">RFC 9293 state diagram</h2>"));
	assert_non_null(strstr(html, "<summary>Transitions taken and never taken</summary>"));
}

/* ---- scenarios ---- */

static void test_close(void **state)
{
	(void)state;
	gt_trace_log *log = record_scenario("close");
	gt_report_opts o = {.title = "glasstcp demo close <4-way>"};
	char *html = render(log, &o, "close");
	assert_self_contained(html);
	assert_non_null(strstr(html, "<title>glasstcp demo close &lt;4-way&gt;</title>"));
	assert_int_equal(count(html, "<section id=\"conn-"), 1);
	assert_non_null(strstr(html, "client (192.0.2.1:"));
	assert_non_null(strstr(html, "server (192.0.2.2:80)"));
	/* both directions carry SYN and FIN: a time-sequence graph each */
	assert_int_equal(count(html, "<h3>Time-sequence graph: "), 2);
	assert_non_null(strstr(html, "<h3>Time-sequence graph: client → server</h3>"));
	assert_non_null(strstr(html, "<h3>Time-sequence graph: server → client</h3>"));
	assert_int_equal(count(html, "<h3>Bytes in flight</h3>"), 1);
	assert_int_equal(count(html, "<h3>Receive window</h3>"), 1);
	assert_int_equal(count(html, "<svg class=\"plot\""), 4);
	/* one mark per SYN and FIN, none retransmitted */
	assert_int_equal(count(html, "<line class=\"seg\""), seq_segments(log, NULL, false));
	assert_int_equal(count(html, "<line class=\"seg\""), 4);
	assert_int_equal(count(html, "<line class=\"rexmit\""), 0);
	/* both ends closed; the ACK and window lines of both directions */
	assert_non_null(strstr(html, "<td>CLOSED / CLOSED</td>"));
	assert_int_equal(count(html, "<path class=\"ack\""), 2);
	assert_int_equal(count(html, "<path class=\"rwin\""), 2);
	/* the simulator's SYNs carry the option, with shift 0 */
	assert_non_null(strstr(html, "client ×2^0, server ×2^0"));
	assert_diagrams(html, 1);
	free(html);
	gt_trace_log_free(log);
}

static void test_lost_fin(void **state)
{
	(void)state;
	gt_trace_log *log = record_scenario("lost-fin");
	char *html = render(log, NULL, "lost-fin");
	assert_self_contained(html);
	assert_non_null(strstr(html, "<title>glasstcp report</title>"));
	size_t rexmits = seq_segments(log, "client", true);
	assert_true(rexmits >= 1);
	/* the retransmitted FIN is a red mark in the client's graph */
	assert_int_equal(count(html, "<line class=\"rexmit\""), seq_segments(log, NULL, true));
	assert_int_equal(count(html, "<line class=\"seg\""), seq_segments(log, NULL, false));
	assert_non_null(strstr(html, "svg.plot .rexmit{stroke:#d62728"));
	char row[64];
	snprintf(row, sizeof row, "<td class=\"num\">%zu / 0</td>", rexmits);
	assert_non_null(strstr(html, row));
	assert_diagrams(html, 1);
	free(html);
	gt_trace_log_free(log);
}

static void test_transfer(void **state)
{
	(void)state;
	gt_trace_log *log = record_scenario("transfer");
	char *html = render(log, NULL, "transfer");
	assert_self_contained(html);
	size_t marks = seq_segments(log, NULL, false) + seq_segments(log, NULL, true);
	/* 1 MiB in MSS-sized segments: over 700 marks, under the downsampling bound */
	assert_true(marks > 700 && marks <= 2000);
	assert_int_equal(count(html, "<line class=\"seg\"") + count(html, "<line class=\"rexmit\""),
	                 marks);
	assert_null(strstr(html, "drawn as"));
	/* over 300 arrows: the ladder keeps the first and last 150 */
	assert_non_null(strstr(html, "the ladder shows the first 150 and the last 150"));
	assert_diagrams(html, 1);
	/* every payload byte of the client, once when nothing was retransmitted */
	if (seq_segments(log, "client", true) == 0)
		assert_non_null(strstr(html, "<td class=\"num\">1048576 / 0</td>"));
	assert_non_null(strstr(html, "<h3>Time-sequence graph: client → server</h3>"));
	assert_true(strlen(html) < 3u * 1024 * 1024);
	free(html);
	gt_trace_log_free(log);
}

/* ---- hand-made logs ---- */

static void add_state(gt_trace_log *log, gt_time_us t, const char *host, gt_conn_tuple c,
                      gt_tcp_state from, gt_tcp_state to)
{
	gt_event ev = {.kind = GT_EV_STATE, .t_us = t, .host = host, .has_conn = true, .conn = c};
	ev.from = from;
	ev.to = to;
	ev.cause = "test";
	gt_trace_log_record(log, &ev);
}

static void add_seg(gt_trace_log *log, gt_event_kind kind, gt_time_us t, const char *host,
                    gt_conn_tuple c, gt_seg_info s, const uint8_t *pkt, size_t pkt_len)
{
	gt_event ev = {.kind = kind, .t_us = t, .host = host, .has_conn = true, .conn = c};
	ev.has_seg = true;
	ev.seg = s;
	ev.pkt = pkt;
	ev.pkt_len = pkt_len;
	gt_trace_log_record(log, &ev);
}

static const gt_conn_tuple client_view = {CLIENT, SERVER, CPORT, SPORT};
static const gt_conn_tuple server_view = {SERVER, CLIENT, SPORT, CPORT};

static void test_empty_log(void **state)
{
	(void)state;
	gt_trace_log *log = gt_trace_log_new();
	char *html = render(log, NULL, "empty");
	assert_self_contained(html);
	assert_non_null(strstr(html, "no TCP connection"));
	assert_null(strstr(html, "<section"));
	assert_null(strstr(html, "<svg class=\"plot\""));
	assert_diagrams(html, 0);
	free(html);
	/* a listener alone is no connection either */
	gt_conn_tuple listener = {SERVER, 0, SPORT, 0};
	add_state(log, 0, "server", listener, GT_TCP_CLOSED, GT_TCP_LISTEN);
	html = render(log, NULL, "listener");
	assert_self_contained(html);
	assert_non_null(strstr(html, "no TCP connection"));
	assert_non_null(strstr(html, "1 events, 0 TCP connections"));
	free(html);
	gt_trace_log_free(log);
}

#define ISN_C    1000u
#define ISN_S    7u
#define ISN_LONG 4290000000u /* wraps past 2^32 during the long transfer */
#define MSS      1000u

/* A long one-way transfer, logged by both senders: n data segments, every
 * 97th sent again, with an ACK from the server after each. */
static gt_trace_log *long_transfer(size_t n)
{
	gt_trace_log *log = gt_trace_log_new();
	gt_time_us t = 0;
	add_state(log, t, "client", client_view, GT_TCP_CLOSED, GT_TCP_SYN_SENT);
	add_seg(log, GT_EV_TX, t, "client", client_view,
	        (gt_seg_info){.seq = ISN_LONG, .flags = GT_TCP_SYN, .win = 65535}, NULL, 0);
	t += 1000;
	add_seg(
	    log, GT_EV_TX, t, "server", server_view,
	    (gt_seg_info){
	        .seq = ISN_S, .ack = ISN_LONG + 1, .flags = GT_TCP_SYN | GT_TCP_ACK, .win = 65535},
	    NULL, 0);
	for (size_t i = 0; i < n; i++) {
		t += 100;
		uint32_t seq = ISN_LONG + 1 + (uint32_t)(i * MSS);
		add_seg(log, GT_EV_TX, t, "client", client_view,
		        (gt_seg_info){.seq = seq,
		                      .ack = ISN_S + 1,
		                      .len = MSS,
		                      .flags = GT_TCP_ACK,
		                      .win = 65535},
		        NULL, 0);
		if (i % 97 == 5)
			add_seg(log, GT_EV_TX, t + 50, "client", client_view,
			        (gt_seg_info){.seq = seq,
			                      .ack = ISN_S + 1,
			                      .len = MSS,
			                      .flags = GT_TCP_ACK,
			                      .win = 65535,
			                      .rexmit = true},
			        NULL, 0);
		add_seg(log, GT_EV_TX, t + 60, "server", server_view,
		        (gt_seg_info){.seq = ISN_S + 1,
		                      .ack = seq + MSS,
		                      .flags = GT_TCP_ACK,
		                      .win = (uint16_t)(30000 + (i % 7) * 1000)},
		        NULL, 0);
	}
	return log;
}

static void test_downsampled(void **state)
{
	(void)state;
	size_t n = 20000;
	gt_trace_log *log = long_transfer(n);
	char *html = render(log, NULL, "long");
	assert_self_contained(html);
	size_t seg = count(html, "<line class=\"seg\"");
	size_t rex = count(html, "<line class=\"rexmit\"");
	/* merged per pixel column: bounded, and retransmissions still drawn */
	assert_true(seg + rex <= 2000);
	assert_true(seg >= 500);
	assert_true(rex >= 100);
	assert_true(rex <= seq_segments(log, NULL, true));
	assert_non_null(strstr(html, "drawn as"));
	assert_diagrams(html, 1);
	/* the summary counts every segment */
	char row[80];
	snprintf(row, sizeof row, "<td class=\"num\">%zu / %zu</td>", n + 1 + n / 97 + 1, n + 1);
	assert_non_null(strstr(html, row));
	assert_true(strlen(html) < 2u * 1024 * 1024);
	/* the sequence axis runs to the transfer's end (20M relative), in spite of
	 * the client's sequence numbers wrapping past 2^32: the ticks reach 20M */
	assert_non_null(strstr(html, ">20M</text>"));
	free(html);
	gt_trace_log_free(log);
}

/* ws: the shift each SYN offers; -1 no option; -2 no packet bytes at all */
static gt_trace_log *scaled_log(int ws_client, int ws_server)
{
	gt_trace_log *log = gt_trace_log_new();
	uint8_t pc[GT_TEST_SYN_MAX], ps[GT_TEST_SYN_MAX];
	size_t lc = ws_client < -1 ? 0 : gt_test_syn_packet(pc, ws_client);
	size_t ls = ws_server < -1 ? 0 : gt_test_syn_packet(ps, ws_server);
	add_seg(log, GT_EV_TX, 0, "client", client_view,
	        (gt_seg_info){.seq = ISN_C, .flags = GT_TCP_SYN, .win = 65535}, lc ? pc : NULL, lc);
	add_seg(log, GT_EV_TX, 1000, "server", server_view,
	        (gt_seg_info){
	            .seq = 7, .ack = ISN_C + 1, .flags = GT_TCP_SYN | GT_TCP_ACK, .win = 65535},
	        ls ? ps : NULL, ls);
	add_seg(
	    log, GT_EV_TX, 2000, "client", client_view,
	    (gt_seg_info){.seq = ISN_C + 1, .ack = 8, .len = 100, .flags = GT_TCP_ACK, .win = 500},
	    NULL, 0);
	add_seg(log, GT_EV_TX, 3000, "server", server_view,
	        (gt_seg_info){.seq = 8, .ack = ISN_C + 101, .flags = GT_TCP_ACK, .win = 3000}, NULL,
	        0);
	return log;
}

static void test_window_scale(void **state)
{
	(void)state;
	gt_trace_log *log = scaled_log(7, 9);
	char *html = render(log, NULL, "wscale");
	assert_self_contained(html);
	assert_non_null(strstr(html, "client ×2^7, server ×2^9"));
	/* the server's window 3000 << 9 = 1536000: the window axes reach millions */
	assert_non_null(strstr(html, "M</text>"));
	free(html);
	gt_trace_log_free(log);

	/* RFC 7323 §2.2: one SYN without the option: no scaling at all */
	log = scaled_log(7, -1);
	html = render(log, NULL, "wscale-off");
	assert_self_contained(html);
	assert_non_null(strstr(html, "No window scaling"));
	assert_null(strstr(html, "M</text>"));
	free(html);
	gt_trace_log_free(log);
}

/* No SYN options in the log (a capture read by explain): more data in flight
 * than the raw window allows shows the scale's lower bound. */
static void test_window_scale_inferred(void **state)
{
	(void)state;
	gt_trace_log *log = gt_trace_log_new();
	add_seg(log, GT_EV_TX, 0, "client", client_view,
	        (gt_seg_info){.seq = ISN_C, .flags = GT_TCP_SYN, .win = 65535}, NULL, 0);
	add_seg(log, GT_EV_TX, 1000, "server", server_view,
	        (gt_seg_info){
	            .seq = ISN_S, .ack = ISN_C + 1, .flags = GT_TCP_SYN | GT_TCP_ACK, .win = 1000},
	        NULL, 0);
	add_seg(log, GT_EV_TX, 2000, "client", client_view,
	        (gt_seg_info){.seq = ISN_C + 1, .ack = ISN_S + 1, .flags = GT_TCP_ACK, .win = 500},
	        NULL, 0);
	add_seg(log, GT_EV_TX, 2500, "server", server_view,
	        (gt_seg_info){.seq = ISN_S + 1, .ack = ISN_C + 1, .flags = GT_TCP_ACK, .win = 1000},
	        NULL, 0);
	/* 100 kB at once: within 1000 << 7 = 128000, beyond 1000 << 6 */
	for (uint32_t i = 0; i < 100; i++)
		add_seg(log, GT_EV_TX, 3000 + i, "client", client_view,
		        (gt_seg_info){.seq = ISN_C + 1 + i * MSS,
		                      .ack = ISN_S + 1,
		                      .len = MSS,
		                      .flags = GT_TCP_ACK,
		                      .win = 500},
		        NULL, 0);
	char *html = render(log, NULL, "wscale-inferred");
	assert_self_contained(html);
	assert_non_null(strstr(html, "at least client ×2^0, server ×2^7"));
	free(html);
	gt_trace_log_free(log);

	/* the same within the raw window: nothing to infer */
	log = scaled_log(-2, -2);
	html = render(log, NULL, "wscale-unknown");
	assert_non_null(strstr(html, "the window is assumed unscaled"));
	free(html);
	gt_trace_log_free(log);
}

/* A log whose segments carry the window in bytes (seg.wnd, RFC 7323 §2.3),
 * as glasstcp's engine writes them, without packet bytes: the TUN case,
 * where the kernel's segments are the client's rx events (its shift 7) and
 * one of them was lost in the impairment layer, reported unscaled. */
static void test_window_logged_in_bytes(void **state)
{
	(void)state;
	gt_trace_log *log = gt_trace_log_new();
	add_seg(log, GT_EV_TX, 0, "client", client_view,
	        (gt_seg_info){.seq = ISN_C, .flags = GT_TCP_SYN, .win = 1000, .wnd = 1000}, NULL,
	        0);
	add_seg(log, GT_EV_RX, 1000, "client", client_view,
	        (gt_seg_info){.seq = 50,
	                      .ack = ISN_C + 1,
	                      .flags = GT_TCP_SYN | GT_TCP_ACK,
	                      .win = 2000,
	                      .wnd = 2000},
	        NULL, 0);
	add_seg(log, GT_EV_TX, 1000, "client", client_view,
	        (gt_seg_info){
	            .seq = ISN_C + 1, .ack = 51, .flags = GT_TCP_ACK, .win = 1000, .wnd = 1000},
	        NULL, 0);
	gt_seg_info reply = {.seq = 51,
	                     .ack = ISN_C + 1,
	                     .len = 500,
	                     .flags = GT_TCP_ACK,
	                     .win = 501,
	                     .wnd = 501 << 7};
	add_seg(log, GT_EV_RX, 2000, "client", client_view, reply, NULL, 0);
	reply.seq += 500;
	reply.wnd = reply.win; /* reported where no connection is known */
	gt_event lost = {.kind = GT_EV_DROP,
	                 .t_us = 2100,
	                 .host = "client",
	                 .has_conn = true,
	                 .conn = client_view,
	                 .has_seg = true,
	                 .seg = reply,
	                 .reason = GT_DROP_SIM_LOSS};
	gt_trace_log_record(log, &lost);

	gt_flow fl;
	assert_int_equal(gt_flow_build(log, 0, &fl), 0);
	assert_int_equal(fl.wscale[GT_FLOW_RIGHT], GT_FLOW_WSCALE_UNKNOWN);
	size_t server_data = 0;
	for (size_t i = 0; i < fl.n_arrows; i++) {
		const gt_flow_arrow *a = &fl.arrows[i];
		if (a->seg.flags & GT_TCP_SYN) {
			assert_int_equal(a->seg.wnd, a->seg.win);
		} else if (a->from == GT_FLOW_RIGHT) {
			/* the lost one too: the side's logged scale applies */
			assert_int_equal(a->seg.wnd, 501u << 7);
			server_data++;
		} else {
			assert_int_equal(a->seg.wnd, 1000);
		}
	}
	assert_int_equal(server_data, 2);
	gt_flow_free(&fl);

	char *html = render(log, NULL, "wnd-logged");
	assert_self_contained(html);
	const char *caption = strstr(html, "Windows in bytes as the trace logged them");
	assert_non_null(caption);
	assert_non_null(strstr(caption, "×2^0, 192.0.2.2:80 ×2^7."));
	assert_null(strstr(html, "assumed unscaled"));
	assert_null(strstr(html, "inferred from the data in flight"));
	/* the window plot reaches 501 << 7 = 64128: a tick at 60k; with the raw
	 * fields alone (2000 at most) there would be none */
	assert_non_null(strstr(html, ">60k</text>"));
	free(html);
	gt_trace_log_free(log);
}

/* The TUN case: only the client logs; the server's segments are its rx. */
static void test_rx_only_side(void **state)
{
	(void)state;
	gt_trace_log *log = gt_trace_log_new();
	add_seg(log, GT_EV_TX, 0, "client", client_view,
	        (gt_seg_info){.seq = ISN_C, .flags = GT_TCP_SYN, .win = 65535}, NULL, 0);
	add_seg(log, GT_EV_RX, 1000, "client", client_view,
	        (gt_seg_info){
	            .seq = 50, .ack = ISN_C + 1, .flags = GT_TCP_SYN | GT_TCP_ACK, .win = 65535},
	        NULL, 0);
	add_seg(log, GT_EV_TX, 1000, "client", client_view,
	        (gt_seg_info){.seq = ISN_C + 1, .ack = 51, .flags = GT_TCP_ACK, .win = 65535}, NULL,
	        0);
	for (uint32_t i = 0; i < 3; i++)
		add_seg(log, GT_EV_RX, 2000 + i * 100, "client", client_view,
		        (gt_seg_info){.seq = 51 + i * 500,
		                      .ack = ISN_C + 1,
		                      .len = 500,
		                      .flags = GT_TCP_ACK,
		                      .win = 65535},
		        NULL, 0);
	/* the same data again, as seen arriving: a retransmission */
	add_seg(log, GT_EV_RX, 3000, "client", client_view,
	        (gt_seg_info){
	            .seq = 551, .ack = ISN_C + 1, .len = 500, .flags = GT_TCP_ACK, .win = 65535},
	        NULL, 0);
	char *html = render(log, NULL, "rx-only");
	assert_self_contained(html);
	assert_non_null(strstr(html, "<h3>Time-sequence graph: 192.0.2.2:80 → client</h3>"));
	assert_non_null(strstr(html, "its segments are those the peer received"));
	assert_int_equal(count(html, "<line class=\"rexmit\""), 1);
	/* client: SYN; server: SYN-ACK and three data segments */
	assert_int_equal(count(html, "<line class=\"seg\""), 1 + 4);
	free(html);
	gt_trace_log_free(log);
}

/* The TUN case with retransmissions on both sides: glasstcp marks its own,
 * the kernel's are seen arriving twice; both are red, in the graphs and in
 * the summary. */
static void test_rx_only_side_marked(void **state)
{
	(void)state;
	gt_trace_log *log = gt_trace_log_new();
	add_seg(log, GT_EV_TX, 0, "client", client_view,
	        (gt_seg_info){.seq = ISN_C, .flags = GT_TCP_SYN, .win = 65535}, NULL, 0);
	add_seg(log, GT_EV_RX, 1000, "client", client_view,
	        (gt_seg_info){
	            .seq = 50, .ack = ISN_C + 1, .flags = GT_TCP_SYN | GT_TCP_ACK, .win = 65535},
	        NULL, 0);
	gt_seg_info data = {
	    .seq = ISN_C + 1, .ack = 51, .len = 100, .flags = GT_TCP_ACK, .win = 65535};
	add_seg(log, GT_EV_TX, 1000, "client", client_view, data, NULL, 0);
	data.rexmit = true;
	add_seg(log, GT_EV_TX, 201000, "client", client_view, data, NULL, 0);
	gt_seg_info reply = {
	    .seq = 51, .ack = ISN_C + 101, .len = 500, .flags = GT_TCP_ACK, .win = 65535};
	add_seg(log, GT_EV_RX, 202000, "client", client_view, reply, NULL, 0);
	add_seg(log, GT_EV_RX, 402000, "client", client_view, reply, NULL, 0);
	char *html = render(log, NULL, "rx-only-marked");
	assert_self_contained(html);
	assert_int_equal(count(html, "<line class=\"rexmit\""), 2);
	/* client: SYN, data; server: SYN-ACK, data */
	assert_int_equal(count(html, "<line class=\"seg\""), 2 + 2);
	/* segments 3 / 3, one retransmission each way */
	assert_non_null(strstr(html, "<td class=\"num\">3 / 3</td><td class=\"num\">1 / 1</td>"));
	assert_diagrams(html, 1);
	free(html);
	gt_trace_log_free(log);
}

static void test_notes(void **state)
{
	(void)state;
	gt_trace_log *log = scaled_log(-1, -1);
	gt_report_note notes[] = {
	    {.conn = 0, .t_us = 2500, .kind = "retransmission", .text = "sent <again> & again"},
	    {.conn = 0,
	     .t_us = 3000,
	     .kind = "zero_window",
	     .text = "the receiver's buffer was full"},
	    {.conn = 7, .t_us = 0, .kind = "rst", .text = "a connection the trace does not have"},
	};
	gt_report_opts o = {.title = "capture x.pcap", .notes = notes, .n_notes = 3};
	char *html = render(log, &o, "notes");
	assert_self_contained(html);
	assert_non_null(strstr(html, "<h3>Notes (2)</h3>"));
	assert_non_null(strstr(html,
	                       "<span class=\"kind\">retransmission</span>: sent &lt;again&gt; "
	                       "&amp; again"));
	assert_non_null(strstr(html, "<span class=\"when\">+2.5 ms</span>"));
	assert_non_null(strstr(html, "<h2>Other notes</h2>"));
	assert_non_null(strstr(html, "a connection the trace does not have"));
	free(html);
	gt_trace_log_free(log);
}

/* A capture read back by explain: tx events of both ends at the capture's
 * timestamps (microseconds since the epoch), inferred states, anomalies as the
 * page's notes. */
static void test_explain_capture(void **state)
{
	(void)state;
	char path[] = "/tmp/test_report_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	gt_pcap_writer *w = gt_pcap_open(path);
	assert_non_null(w);
	gt_scenario_opts o;
	gt_scenario_opts_default(&o);
	o.pcap = w;
	gt_scenario_result res;
	assert_int_equal(gt_scenario_run(gt_scenario_find("lost-fin"), &o, NULL, NULL, &res), 0);
	assert_int_equal(gt_pcap_close(w), 0);

	gt_explain_opts eo;
	gt_explain_opts_default(&eo);
	gt_explain ex;
	char err[200] = "";
	int rc = gt_explain_pcap(path, &eo, &ex, err, sizeof err);
	unlink(path);
	if (rc)
		fail_msg("explain: %s", err);
	assert_int_equal(ex.n_conns, 1);
	gt_report_note *notes = calloc(ex.n_anomalies + 1, sizeof *notes);
	assert_non_null(notes);
	for (size_t i = 0; i < ex.n_anomalies; i++)
		notes[i] = (gt_report_note){.conn = ex.anomalies[i].conn,
		                            .t_us = ex.anomalies[i].t_us,
		                            .kind = gt_anomaly_kind_name(ex.anomalies[i].kind),
		                            .text = ex.anomalies[i].text};
	gt_report_opts ro = {
	    .title = "capture lost-fin.pcap", .notes = notes, .n_notes = ex.n_anomalies};
	char *html = render(ex.log, &ro, "explain");
	assert_self_contained(html);
	assert_int_equal(count(html, "<section id=\"conn-"), 1);
	/* the capture is taken at the client: the lost FIN is in it, sent again */
	assert_non_null(strstr(html, "192.0.2.1:"));
	assert_non_null(strstr(html, "<h3>Time-sequence graph: 192.0.2.1:"));
	assert_int_equal(count(html, "<line class=\"rexmit\""), 1);
	assert_true(ex.n_anomalies >= 1);
	char head[32];
	snprintf(head, sizeof head, "<h3>Notes (%zu)</h3>", ex.n_anomalies);
	assert_non_null(strstr(html, head));
	assert_non_null(strstr(html, "<span class=\"kind\">retransmission</span>"));
	/* plot times are relative: nothing near the epoch's 1.7e15 us */
	assert_null(strstr(html, "e+15"));
	assert_diagrams(html, 1);
	free(html);
	free(notes);
	gt_explain_free(&ex);
}

/* ---- many connections ---- */

#define MANY         2000
#define MANY_REXMIT  1500 /* a retransmitted request */
#define MANY_RESET   1700 /* the server resets it */
#define MANY_NOTED   1900 /* the only one with a note */
#define MANY_SPACING 100  /* us between two connections' starts */

/* Connection k of many short ones in explain's shape (every packet a tx of
 * its sender, both ends' states), its client port 10000 + k; they overlap in
 * time, so their events interleave in the log. */
static void add_short_conn(gt_trace_log *log, size_t k)
{
	gt_conn_tuple c = {CLIENT, SERVER, (uint16_t)(10000 + k), SPORT};
	gt_conn_tuple s = {SERVER, CLIENT, SPORT, (uint16_t)(10000 + k)};
	char hc[32], hs[32];
	snprintf(hc, sizeof hc, "192.0.2.1:%u", (unsigned)c.local_port);
	snprintf(hs, sizeof hs, "192.0.2.2:%u", (unsigned)SPORT);
	gt_time_us t = (gt_time_us)k * MANY_SPACING;
	uint32_t ic = 1000u * (uint32_t)k, is = 5000u * (uint32_t)k;
	const uint8_t A = GT_TCP_ACK;
	add_state(log, t, hc, c, GT_TCP_CLOSED, GT_TCP_SYN_SENT);
	add_seg(log, GT_EV_TX, t, hc, c,
	        (gt_seg_info){.seq = ic, .flags = GT_TCP_SYN, .win = 64240}, NULL, 0);
	add_state(log, t + 50, hs, s, GT_TCP_LISTEN, GT_TCP_SYN_RECEIVED);
	add_seg(log, GT_EV_TX, t + 50, hs, s,
	        (gt_seg_info){.seq = is, .ack = ic + 1, .flags = GT_TCP_SYN | A, .win = 64240},
	        NULL, 0);
	add_state(log, t + 100, hc, c, GT_TCP_SYN_SENT, GT_TCP_ESTABLISHED);
	add_seg(log, GT_EV_TX, t + 100, hc, c,
	        (gt_seg_info){.seq = ic + 1, .ack = is + 1, .len = 10, .flags = A, .win = 64240},
	        NULL, 0);
	if (k == MANY_REXMIT)
		add_seg(log, GT_EV_TX, t + 300, hc, c,
		        (gt_seg_info){.seq = ic + 1,
		                      .ack = is + 1,
		                      .len = 10,
		                      .flags = A,
		                      .win = 64240,
		                      .rexmit = true},
		        NULL, 0);
	add_state(log, t + 350, hs, s, GT_TCP_SYN_RECEIVED, GT_TCP_ESTABLISHED);
	add_seg(log, GT_EV_TX, t + 350, hs, s,
	        (gt_seg_info){.seq = is + 1,
	                      .ack = ic + 11,
	                      .flags = (uint8_t)(k == MANY_RESET ? GT_TCP_RST | A : A),
	                      .win = 64240},
	        NULL, 0);
}

static gt_trace_log *many_conns(void)
{
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	/* four at a time: each one's events come between its neighbours' */
	for (size_t k = 0; k < MANY; k += 4) {
		gt_trace_log *part = gt_trace_log_new();
		assert_non_null(part);
		for (size_t j = k; j < k + 4 && j < MANY; j++)
			add_short_conn(part, j);
		/* into the log in time order (stable: ties keep the part's order) */
		size_t n = gt_trace_log_count(part);
		bool *done = calloc(n, sizeof *done);
		assert_non_null(done);
		for (size_t m = 0; m < n; m++) {
			size_t best = SIZE_MAX;
			for (size_t i = 0; i < n; i++)
				if (!done[i] &&
				    (best == SIZE_MAX || gt_trace_log_get(part, i)->t_us <
				                             gt_trace_log_get(part, best)->t_us))
					best = i;
			done[best] = true;
			gt_trace_log_record(log, gt_trace_log_get(part, best));
		}
		free(done);
		gt_trace_log_free(part);
	}
	assert_int_equal(gt_trace_log_dropped(log), 0);
	return log;
}

/* The connection numbers (1-based) of the page's sections, in page order. */
static size_t section_numbers(const char *html, size_t *out, size_t max)
{
	size_t n = 0;
	const char *tag = "<section id=\"conn-";
	for (const char *p = strstr(html, tag); p; p = strstr(p + 1, tag)) {
		assert_true(n < max);
		out[n++] = strtoul(p + strlen(tag), NULL, 10);
	}
	return n;
}

/* Checks the summary table: one row per connection, in order, numbered from
 * 1, its number a link exactly when it has a section (detailed[k]). */
static void check_summary_rows(const char *html, const bool *detailed, size_t n_conns)
{
	const char *p = strstr(html, "<h2 id=\"summary\">");
	assert_non_null(p);
	const char *end = strstr(p, "</table>");
	assert_non_null(end);
	size_t k = 0;
	for (p = strstr(p, "<tr><td>"); p && p < end; p = strstr(p + 1, "<tr><td>")) {
		assert_true(k < n_conns);
		char want[64];
		if (detailed[k])
			snprintf(want, sizeof want, "<tr><td><a href=\"#conn-%zu\">%zu</a></td>",
			         k + 1, k + 1);
		else
			snprintf(want, sizeof want, "<tr><td>%zu</td>", k + 1);
		if (strncmp(p, want, strlen(want)) != 0)
			fail_msg("row %zu: %.80s", k + 1, p);
		k++;
	}
	assert_int_equal(k, n_conns);
}

/* What a page of many connections shows with bound max_detailed: the
 * connections want[0..n_want) (0-based, in order) in detail, the note. */
static void check_many(const gt_trace_log *log, size_t max_detailed, const size_t *want,
                       size_t n_want, const char *note)
{
	gt_report_note notes[] = {
	    {.conn = MANY_NOTED, .t_us = 0, .kind = "gap", .text = "the note of one connection"},
	};
	gt_report_opts o = {
	    .title = "many", .notes = notes, .n_notes = 1, .max_detailed = max_detailed};
	char name[32];
	snprintf(name, sizeof name, "many-%zu", max_detailed);
	char *html = render(log, &o, name);
	assert_self_contained(html);
	assert_diagrams(html, n_want);
	size_t *got = calloc(MANY, sizeof *got);
	bool *detailed = calloc(MANY, sizeof *detailed);
	assert_non_null(got);
	assert_non_null(detailed);
	size_t n_got = section_numbers(html, got, MANY);
	assert_int_equal(n_got, n_want);
	for (size_t i = 0; i < n_want; i++) {
		assert_int_equal(got[i], want[i] + 1);
		detailed[want[i]] = true;
	}
	check_summary_rows(html, detailed, MANY);
	assert_int_equal(count(html, "href=\"#conn-"), n_want);
	if (!strstr(html, note))
		fail_msg("no note '%s'", note);
	/* the only note: counted in its row, shown in its section if it has one */
	assert_int_equal(count(html, "<td class=\"num\">1</td></tr>"), 1);
	assert_int_equal(count(html, "the note of one connection"), detailed[MANY_NOTED]);
	/* the state diagram counts every connection's transitions */
	char line[96];
	snprintf(line, sizeof line, "%8d  CLOSED -&gt; SYN_SENT ", MANY);
	assert_non_null(strstr(html, line));
	snprintf(line, sizeof line, "%8d  LISTEN -&gt; SYN_RECEIVED ", MANY);
	assert_non_null(strstr(html, line));
	free(got);
	free(detailed);
	free(html);
}

/* 2000 connections: the table lists each one, sections only up to the bound,
 * chosen as the page says. */
static void test_many_connections(void **state)
{
	(void)state;
	gt_trace_log *log = many_conns();
	assert_int_equal(gt_flow_count(log), MANY);

	/* the default bound, 50: the first 10, the retransmission, the reset,
	 * the note, then the next 37 in order */
	size_t want[GT_REPORT_MAX_DETAILED], n = 0;
	for (size_t k = 0; k < 47; k++)
		want[n++] = k;
	want[n++] = MANY_REXMIT;
	want[n++] = MANY_RESET;
	want[n++] = MANY_NOTED;
	assert_int_equal(n, GT_REPORT_MAX_DETAILED);
	check_many(
	    log, 0, want, n,
	    "2000 connections; detailed diagrams for 50 of them (at most 50 per page): the "
	    "first 10, then 2 of the 2 others with retransmissions, losses or resets, then 1 "
	    "of the 1 others with notes, then the next 37 in order;");

	/* 5: the first one, the three that stand out, the next one */
	size_t want5[] = {0, 1, MANY_REXMIT, MANY_RESET, MANY_NOTED};
	check_many(log, 5, want5, 5,
	           "2000 connections; detailed diagrams for 5 of them (at most 5 per page): the "
	           "first 1, then 2 of the 2 others with retransmissions, losses or resets, then 1 "
	           "of the 1 others with notes, then the next 1 in order;");

	/* 2: trouble first */
	size_t want2[] = {MANY_REXMIT, MANY_RESET};
	check_many(log, 2, want2, 2,
	           "2000 connections; detailed diagrams for 2 of them (at most 2 per page): 2 of "
	           "the 2 connections with retransmissions, losses or resets, then 0 of the 1 "
	           "others with notes;");
	/* where the note went */
	char *html = render(log,
	                    &(gt_report_opts){.notes = &(gt_report_note){.conn = MANY_NOTED,
	                                                                 .text = "a note left out"},
	                                      .n_notes = 1,
	                                      .max_detailed = 2},
	                    "many-hidden-note");
	assert_non_null(strstr(html, "Notes about connections without a diagram (1) are only "
	                             "counted in the table.</p>"));
	assert_null(strstr(html, "a note left out"));
	free(html);
	gt_trace_log_free(log);
}

/* A write error is reported, not ignored. */
static void test_write_error(void **state)
{
	(void)state;
	gt_trace_log *log = scaled_log(-1, -1);
	FILE *f = fopen("/dev/full", "w");
	if (!f)
		f = fopen("/dev/null", "r"); /* writes to a read-only stream fail too */
	assert_non_null(f);
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(gt_report_html(f, log, NULL), -EIO);
	fclose(f);
	gt_trace_log_free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_close),
	    cmocka_unit_test(test_lost_fin),
	    cmocka_unit_test(test_transfer),
	    cmocka_unit_test(test_empty_log),
	    cmocka_unit_test(test_downsampled),
	    cmocka_unit_test(test_window_scale),
	    cmocka_unit_test(test_window_scale_inferred),
	    cmocka_unit_test(test_window_logged_in_bytes),
	    cmocka_unit_test(test_rx_only_side),
	    cmocka_unit_test(test_rx_only_side_marked),
	    cmocka_unit_test(test_notes),
	    cmocka_unit_test(test_explain_capture),
	    cmocka_unit_test(test_write_error),
	    cmocka_unit_test(test_many_connections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
