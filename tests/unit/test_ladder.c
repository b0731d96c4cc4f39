/* The ladder diagram: a trace split into connections and arrows (flow.c) and
 * drawn as SVG (ladder.c). The demo scenarios give real traces; hand-made logs
 * give the shapes other producers write (`glasstcp explain`: tx and inferred
 * states only; the TUN backend: a kernel peer that logs only its states). */
#include "scenarios/scenarios.h"
#include "support.h"
#include "view/flow.h"
#include "view/ladder.h"
#include "view/svg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT GT_SCENARIO_CLIENT_ADDR
#define SERVER GT_SCENARIO_SERVER_ADDR

/* ---- helpers ---- */

static gt_trace_log *run_scenario(const char *name, uint64_t seed, double loss,
                                  gt_scenario_result *res)
{
	const gt_scenario *sc = gt_scenario_find(name);
	assert_non_null(sc);
	gt_scenario_opts o;
	gt_scenario_opts_default(&o);
	o.seed = seed;
	o.loss = loss;
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	int rc = gt_scenario_run(sc, &o, gt_trace_log_record, log, res);
	if (rc != 0)
		fail_msg("scenario %s: rc %d: %s", name, rc, res->failure);
	assert_int_equal(gt_trace_log_dropped(log), 0);
	return log;
}

static bool same_conn(const gt_conn_tuple *c, const gt_conn_tuple *flow)
{
	bool fwd = c->local_addr == flow->local_addr && c->local_port == flow->local_port &&
	           c->remote_addr == flow->remote_addr && c->remote_port == flow->remote_port;
	bool rev = c->local_addr == flow->remote_addr && c->local_port == flow->remote_port &&
	           c->remote_addr == flow->local_addr && c->remote_port == flow->local_port;
	return fwd || rev;
}

/* tx events of the flow's connection in the log, counted independently. */
static size_t count_tx(const gt_trace_log *log, const gt_flow *fl)
{
	size_t n = 0;
	for (size_t i = 0; i < gt_trace_log_count(log); i++) {
		const gt_event *ev = gt_trace_log_get(log, i);
		if (ev->kind == GT_EV_TX && ev->has_conn && ev->has_seg &&
		    same_conn(&ev->conn, &fl->conn))
			n++;
	}
	return n;
}

static char *render(const gt_flow *fl, const gt_ladder_opts *opts, gt_ladder_stats *st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(gt_ladder_svg(f, fl, opts, st), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	return buf;
}

static size_t count_str(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Every state of side in the flow, as "FROM>TO" joined by spaces. */
static void side_states(const gt_flow *fl, int side, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < fl->n_states; i++) {
		if (fl->states[i].side != side)
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s>%s", n ? " " : "",
		                      gt_tcp_state_name(fl->states[i].from),
		                      gt_tcp_state_name(fl->states[i].to));
		assert_true(n < len);
	}
}

/* The flow's state changes of side, straight from the log in log order. */
static void log_states(const gt_trace_log *log, const gt_flow *fl, const char *host, char *buf,
                       size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < gt_trace_log_count(log); i++) {
		const gt_event *ev = gt_trace_log_get(log, i);
		if (ev->kind != GT_EV_STATE || !ev->has_conn || strcmp(ev->host, host) != 0)
			continue;
		bool listener = ev->conn.remote_addr == 0 && ev->conn.remote_port == 0;
		if (!listener && !same_conn(&ev->conn, &fl->conn))
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s>%s", n ? " " : "",
		                      gt_tcp_state_name(ev->from), gt_tcp_state_name(ev->to));
		assert_true(n < len);
	}
}

/* Checks that hold for the picture of any scenario run. */
static void check_flow_and_svg(const char *name, const gt_trace_log *log, const gt_flow *fl)
{
	assert_int_equal(fl->n_arrows, count_tx(log, fl));
	/* The client opens every scenario's connection: it is the left side. */
	assert_string_equal(fl->host[GT_FLOW_LEFT], "client");
	assert_string_equal(fl->host[GT_FLOW_RIGHT], "server");
	assert_int_equal(fl->conn.local_addr, CLIENT);
	assert_int_equal(fl->conn.remote_addr, SERVER);

	/* Both sides' states, in the order the stacks logged them, each one
	 * starting where the previous one ended. */
	char got[2048], want[2048];
	for (int side = 0; side < 2; side++) {
		side_states(fl, side, got, sizeof got);
		log_states(log, fl, fl->host[side], want, sizeof want);
		if (strcmp(got, want) != 0)
			fail_msg("%s: %s's states\n drawn: %s\n   log: %s", name, fl->host[side],
			         got, want);
	}
	for (size_t i = 1; i < fl->n_arrows; i++)
		assert_true(fl->arrows[i - 1].t_tx <= fl->arrows[i].t_tx);
	for (size_t i = 0; i < fl->n_arrows; i++) {
		const gt_flow_arrow *a = &fl->arrows[i];
		/* the simulator logs both ends: every arrival is known */
		assert_true(a->arrival_known);
		assert_true(a->arrived != a->lost);
		assert_true(a->t_rx >= a->t_tx);
	}

	gt_ladder_stats st;
	gt_ladder_opts opts = {.title = name};
	char *svg = render(fl, &opts, &st);
	if (st.overlaps != 0)
		fail_msg("%s: %zu overlapping labels", name, st.overlaps);
	assert_true(st.labels >= fl->n_arrows + fl->n_states);
	assert_true(st.width >= 700 && st.width <= 1100);
	assert_true(strncmp(svg, "<?xml", 5) == 0);
	assert_non_null(strstr(svg, "</svg>"));
	for (size_t i = 0; i < fl->n_states; i++) {
		char s[96];
		snprintf(s, sizeof s, "%s \xe2\x86\x92 %s", gt_tcp_state_name(fl->states[i].from),
		         gt_tcp_state_name(fl->states[i].to));
		if (!strstr(svg, s))
			fail_msg("%s: state '%s' not drawn", name, s);
	}
	size_t lost = 0, rexmit = 0;
	for (size_t i = 0; i < fl->n_arrows; i++) {
		lost += fl->arrows[i].lost;
		rexmit += fl->arrows[i].seg.rexmit;
	}
	assert_int_equal(count_str(svg, " lost</text>"), lost);
	assert_int_equal(count_str(svg, "(rexmit)"), rexmit);
	free(svg);

	opts.embedded = true;
	svg = render(fl, &opts, NULL);
	assert_null(strstr(svg, "<?xml"));
	assert_true(strncmp(svg, "<svg ", 5) == 0);
	free(svg);
}

/* ---- every scenario ---- */

static void test_every_scenario(void **state)
{
	(void)state;
	for (size_t k = 0; k < gt_scenario_count; k++) {
		const char *name = gt_scenarios[k].name;
		if (gt_scenario_is_flood(&gt_scenarios[k]))
			continue; /* its first connection is a spoofed one: test_syn_flood.c */
		gt_scenario_result res;
		gt_trace_log *log = run_scenario(name, 1, 0, &res);
		assert_true(gt_flow_count(log) >= 1);
		gt_flow fl;
		assert_int_equal(gt_flow_build(log, 0, &fl), 0);
		check_flow_and_svg(name, log, &fl);
		/* no loss: nothing lost but what the scenario's faults drop */
		size_t lost = 0, rexmit = 0;
		for (size_t i = 0; i < fl.n_arrows; i++) {
			lost += fl.arrows[i].lost;
			rexmit += fl.arrows[i].seg.rexmit;
		}
		assert_int_equal(lost, res.lost);
		assert_int_equal(rexmit, res.rexmits);
		if (strcmp(name, "refused") != 0) {
			/* the handshake, relative to the ISNs */
			assert_true(fl.n_arrows >= 3);
			assert_true(fl.isn_known[0] && fl.isn_known[1]);
			char *svg = render(&fl, NULL, NULL);
			assert_non_null(strstr(svg, "SA seq=0 ack=1 len=0"));
			free(svg);
		}
		gt_flow_free(&fl);
		assert_null(fl.arrows);
		gt_trace_log_free(log);
	}
}

/* Random loss: every lost packet is a lost arrow, every retransmission is
 * marked, and the picture is still well laid out. */
static void test_random_loss(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 6; seed++) {
		gt_scenario_result res;
		gt_trace_log *log = run_scenario("half-close", seed, 0.2, &res);
		gt_flow fl;
		assert_int_equal(gt_flow_build(log, 0, &fl), 0);
		size_t lost = 0, rexmit = 0;
		for (size_t i = 0; i < fl.n_arrows; i++) {
			lost += fl.arrows[i].lost;
			rexmit += fl.arrows[i].seg.rexmit;
		}
		assert_int_equal(fl.n_arrows, count_tx(log, &fl));
		assert_int_equal(lost, res.lost);
		assert_int_equal(rexmit, res.rexmits);
		gt_ladder_stats st;
		char *svg = render(&fl, NULL, &st);
		assert_int_equal(count_str(svg, " lost</text>"), lost);
		free(svg);
		gt_flow_free(&fl);
		gt_trace_log_free(log);
	}
}

/* ---- the scenarios that show something particular ---- */

static void test_close(void **state)
{
	(void)state;
	gt_scenario_result res;
	gt_trace_log *log = run_scenario("close", 1, 0, &res);
	assert_int_equal(gt_flow_count(log), 1);
	gt_flow fl;
	assert_int_equal(gt_flow_build(log, 0, &fl), 0);
	char got[1024];
	side_states(&fl, GT_FLOW_LEFT, got, sizeof got);
	assert_string_equal(got, "CLOSED>SYN_SENT SYN_SENT>ESTABLISHED ESTABLISHED>FIN_WAIT_1 "
	                         "FIN_WAIT_1>FIN_WAIT_2 FIN_WAIT_2>TIME_WAIT TIME_WAIT>CLOSED");
	side_states(&fl, GT_FLOW_RIGHT, got, sizeof got);
	assert_string_equal(got, "CLOSED>LISTEN LISTEN>SYN_RECEIVED SYN_RECEIVED>ESTABLISHED "
	                         "ESTABLISHED>CLOSE_WAIT CLOSE_WAIT>LAST_ACK LAST_ACK>CLOSED");
	/* One instant, in the order the client did it: ACK the SYN-ACK, then
	 * close() (ESTABLISHED -> FIN_WAIT_1), then send the FIN. */
	const gt_flow_state *fw1 = NULL;
	for (size_t i = 0; i < fl.n_states; i++)
		if (fl.states[i].to == GT_TCP_FIN_WAIT_1)
			fw1 = &fl.states[i];
	assert_non_null(fw1);
	assert_int_equal(fl.arrows[2].seg.flags, GT_TCP_ACK);
	assert_int_equal(fl.arrows[3].seg.flags, GT_TCP_FIN | GT_TCP_ACK);
	assert_int_equal(fl.arrows[2].t_tx, fw1->t);
	assert_int_equal(fl.arrows[3].t_tx, fw1->t);
	assert_true(fl.arrows[2].order_tx < fw1->order && fw1->order < fl.arrows[3].order_tx);
	/* the SYN and the SYN-ACK, relative to the ISNs */
	assert_int_equal(fl.arrows[0].seg.flags, GT_TCP_SYN);
	assert_int_equal(fl.arrows[0].from, GT_FLOW_LEFT);
	assert_int_equal(fl.arrows[0].rel_seq, 0);
	assert_int_equal(fl.arrows[0].seg.seq, fl.isn[GT_FLOW_LEFT]);
	assert_int_equal(fl.arrows[1].seg.flags, GT_TCP_SYN | GT_TCP_ACK);
	assert_int_equal(fl.arrows[1].rel_seq, 0);
	assert_int_equal(fl.arrows[1].rel_ack, 1);
	assert_int_equal(fl.arrows[1].t_rx - fl.arrows[1].t_tx, 10000); /* the link's delay */
	/* TIME_WAIT: 2·MSL = 60 s on the client, seen to its end */
	size_t tw = 0;
	for (size_t i = 0; i < fl.n_timers; i++) {
		const gt_flow_timer *t = &fl.timers[i];
		assert_int_equal(t->kind, GT_FLOW_TIMER_TIME_WAIT);
		assert_int_equal(t->side, GT_FLOW_LEFT);
		assert_true(t->end_seen);
		assert_int_equal(t->end - t->start, 60000000);
		tw++;
	}
	assert_int_equal(tw, 1);
	assert_int_equal(fl.t_last, fl.states[fl.n_states - 1].t);
	assert_int_equal(fl.states[fl.n_states - 1].to, GT_TCP_CLOSED);

	gt_ladder_stats st;
	char *svg = render(&fl, NULL, &st);
	assert_int_equal(st.overlaps, 0);
	/* the 60 s wait is a break, not a kilometre of picture */
	assert_non_null(strstr(svg, "\xe2\x89\x88 60 s"));
	assert_true(st.height < 1400);
	assert_non_null(strstr(svg, "TIME_WAIT 2\xc2\xb7MSL 60 s"));
	assert_non_null(strstr(svg, "FA seq=1 ack=1 len=0 win=65535"));
	assert_non_null(strstr(svg, ">client<"));
	assert_non_null(strstr(svg, "192.0.2.2:80"));
	free(svg);

	/* A caption in another encoding cannot make the document ill-formed. */
	gt_ladder_opts latin1 = {.title = "caf\xe9 \xe2\x86 cut"};
	svg = render(&fl, &latin1, NULL);
	assert_non_null(strstr(svg, ">caf? ?? cut<"));
	assert_null(strchr(svg, '\xe9'));
	free(svg);

	/* --absolute: the real sequence numbers */
	gt_ladder_opts opts = {.absolute_seq = true};
	svg = render(&fl, &opts, NULL);
	char want[64];
	snprintf(want, sizeof want, "S seq=%u len=0", (unsigned)fl.isn[GT_FLOW_LEFT]);
	assert_non_null(strstr(svg, want));
	assert_null(strstr(svg, "S seq=0 len=0"));
	free(svg);
	gt_flow_free(&fl);
	gt_trace_log_free(log);
}

/* The index of the one arrow the network lost; fails unless exactly one is. */
static size_t the_lost_arrow(const gt_flow *fl)
{
	size_t lost = SIZE_MAX, n_lost = 0;
	for (size_t i = 0; i < fl->n_arrows; i++) {
		if (fl->arrows[i].lost) {
			lost = i;
			n_lost++;
		}
	}
	assert_int_equal(n_lost, 1);
	return lost;
}

static void test_lost_fin(void **state)
{
	(void)state;
	gt_scenario_result res;
	gt_trace_log *log = run_scenario("lost-fin", 1, 0, &res);
	gt_flow fl;
	assert_int_equal(gt_flow_build(log, 0, &fl), 0);
	size_t lost = the_lost_arrow(&fl);
	const gt_flow_arrow *l = &fl.arrows[lost];
	assert_true(l->seg.flags & GT_TCP_FIN);
	assert_int_equal(l->from, GT_FLOW_LEFT);
	assert_false(l->arrived);
	assert_false(l->seg.rexmit);
	assert_int_equal(l->drop_reason, GT_DROP_SIM_FAULT);
	/* later: the same FIN again, marked, and it arrives */
	size_t again = SIZE_MAX;
	for (size_t i = lost + 1; i < fl.n_arrows; i++)
		if (fl.arrows[i].from == GT_FLOW_LEFT && (fl.arrows[i].seg.flags & GT_TCP_FIN))
			again = i;
	assert_true(again != SIZE_MAX);
	const gt_flow_arrow *r = &fl.arrows[again];
	assert_true(r->seg.rexmit);
	assert_true(r->arrived);
	assert_int_equal(r->seg.seq, l->seg.seq);
	assert_true(r->t_tx > l->t_tx);
	/* an RTO bracket from the first send to the retransmission */
	size_t rto = 0;
	for (size_t i = 0; i < fl.n_timers; i++) {
		const gt_flow_timer *t = &fl.timers[i];
		if (t->kind != GT_FLOW_TIMER_RTO)
			continue;
		rto++;
		assert_int_equal(t->side, GT_FLOW_LEFT);
		assert_int_equal(t->start, l->t_tx);
		assert_int_equal(t->end, r->t_tx);
	}
	assert_int_equal(rto, 1);

	gt_ladder_stats st;
	char *svg = render(&fl, NULL, &st);
	assert_int_equal(st.overlaps, 0);
	assert_non_null(strstr(svg, "FA seq=1 ack=1 len=0 win=65535 lost"));
	assert_non_null(strstr(svg, "FA seq=1 ack=1 len=0 win=65535 (rexmit)"));
	char rto_label[48];
	char d[24];
	snprintf(rto_label, sizeof rto_label, ">RTO %s<", gt_svg_duration(r->t_tx - l->t_tx, d));
	assert_non_null(strstr(svg, rto_label));
	free(svg);
	gt_flow_free(&fl);
	gt_trace_log_free(log);
}

static void test_lost_last_ack(void **state)
{
	(void)state;
	gt_scenario_result res;
	gt_trace_log *log = run_scenario("lost-last-ack", 1, 0, &res);
	gt_flow fl;
	assert_int_equal(gt_flow_build(log, 0, &fl), 0);
	size_t lost = the_lost_arrow(&fl);
	assert_int_equal(fl.arrows[lost].seg.flags, GT_TCP_ACK);
	assert_int_equal(fl.arrows[lost].from, GT_FLOW_LEFT);
	/* the server's FIN comes again and reaches the client in TIME_WAIT */
	size_t fin = SIZE_MAX;
	for (size_t i = lost + 1; i < fl.n_arrows; i++)
		if (fl.arrows[i].from == GT_FLOW_RIGHT && (fl.arrows[i].seg.flags & GT_TCP_FIN))
			fin = i;
	assert_true(fin != SIZE_MAX);
	assert_true(fl.arrows[fin].seg.rexmit);
	assert_true(fl.arrows[fin].arrived);
	/* TIME_WAIT restarted by it: two brackets, the second a full 60 s */
	const gt_flow_timer *tw[3] = {NULL, NULL, NULL};
	size_t n_tw = 0, n_rto = 0;
	for (size_t i = 0; i < fl.n_timers; i++) {
		if (fl.timers[i].kind == GT_FLOW_TIMER_RTO) {
			n_rto++;
			assert_int_equal(fl.timers[i].side, GT_FLOW_RIGHT);
		} else if (n_tw < 3) {
			tw[n_tw++] = &fl.timers[i];
		}
	}
	assert_int_equal(n_rto, 1);
	assert_int_equal(n_tw, 2);
	assert_int_equal(tw[0]->side, GT_FLOW_LEFT);
	assert_int_equal(tw[1]->side, GT_FLOW_LEFT);
	assert_int_equal(tw[0]->end, fl.arrows[fin].t_rx);
	assert_int_equal(tw[1]->start, fl.arrows[fin].t_rx);
	assert_true(tw[1]->end_seen);
	assert_int_equal(tw[1]->end - tw[1]->start, 60000000);

	gt_ladder_stats st;
	char *svg = render(&fl, NULL, &st);
	assert_int_equal(st.overlaps, 0);
	assert_non_null(strstr(svg, "A seq=2 ack=2 len=0 win=65534 lost"));
	assert_non_null(strstr(svg, "restarted"));
	free(svg);
	gt_flow_free(&fl);
	gt_trace_log_free(log);
}

static void test_refused(void **state)
{
	(void)state;
	gt_scenario_result res;
	gt_trace_log *log = run_scenario("refused", 1, 0, &res);
	gt_flow fl;
	assert_int_equal(gt_flow_build(log, 0, &fl), 0);
	assert_int_equal(fl.n_arrows, 2);
	/* the SYN arrived and the server's stack discarded it */
	assert_true(fl.arrows[0].arrived);
	assert_false(fl.arrows[0].lost);
	assert_int_equal(fl.arrows[0].drop_reason, GT_DROP_NO_CONNECTION);
	assert_int_equal(fl.arrows[1].seg.flags, GT_TCP_RST | GT_TCP_ACK);
	assert_int_equal(fl.arrows[1].rel_ack, 1);
	assert_false(fl.isn_known[GT_FLOW_RIGHT]);
	char *svg = render(&fl, NULL, NULL);
	assert_non_null(strstr(svg, "(dropped: no_connection)"));
	assert_non_null(strstr(svg, "RA seq=0 ack=1 len=0 win=0"));
	free(svg);
	gt_flow_free(&fl);
	gt_trace_log_free(log);
}

static void test_simultaneous_open(void **state)
{
	(void)state;
	gt_scenario_result res;
	gt_trace_log *log = run_scenario("simultaneous-open", 1, 0, &res);
	assert_int_equal(gt_flow_count(log), 1);
	gt_flow fl;
	assert_int_equal(gt_flow_build(log, 0, &fl), 0);
	/* the SYN-ACKs repeat the SYNs' sequence numbers but are no
	 * retransmissions: no RTO brackets */
	for (size_t i = 0; i < fl.n_arrows; i++)
		assert_false(fl.arrows[i].seg.rexmit);
	for (size_t i = 0; i < fl.n_timers; i++)
		assert_int_equal(fl.timers[i].kind, GT_FLOW_TIMER_TIME_WAIT);
	char got[1024];
	side_states(&fl, GT_FLOW_RIGHT, got, sizeof got);
	assert_non_null(strstr(got, "CLOSED>SYN_SENT SYN_SENT>SYN_RECEIVED"));
	assert_null(strstr(got, "LISTEN"));
	gt_flow_free(&fl);
	assert_int_equal(gt_flow_build(log, 1, &fl), -ENOENT);
	gt_trace_log_free(log);
}

/* ---- hand-made logs ---- */

static void rec(gt_trace_log *log, gt_event_kind kind, gt_time_us t, const char *host,
                gt_conn_tuple conn, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len)
{
	gt_event ev = {.kind = kind,
	               .t_us = t,
	               .host = host,
	               .has_conn = true,
	               .conn = conn,
	               .has_seg = true,
	               .seg = {.seq = seq, .ack = ack, .len = len, .win = 64240, .flags = flags}};
	gt_trace_log_record(log, &ev);
}

static void rec_state(gt_trace_log *log, gt_time_us t, const char *host, gt_conn_tuple conn,
                      gt_tcp_state from, gt_tcp_state to, bool inferred)
{
	gt_event ev = {.kind = GT_EV_STATE,
	               .t_us = t,
	               .host = host,
	               .has_conn = true,
	               .conn = conn,
	               .from = from,
	               .to = to,
	               .cause = "test",
	               .inferred = inferred};
	gt_trace_log_record(log, &ev);
}

/* What `glasstcp explain --json` writes: tx events at the capture's
 * timestamps and states (some inferred), hosts named "ip:port". */
static void test_capture_shape(void **state)
{
	(void)state;
	gt_conn_tuple c = {CLIENT, SERVER, 50000, 80}, s = {SERVER, CLIENT, 80, 50000};
	const char *hc = "192.0.2.1:50000", *hs = "192.0.2.2:80";
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	rec_state(log, 100, hc, c, GT_TCP_CLOSED, GT_TCP_SYN_SENT, false);
	rec(log, GT_EV_TX, 100, hc, c, GT_TCP_SYN, 1000, 0, 0);
	rec_state(log, 100, hs, s, GT_TCP_LISTEN, GT_TCP_SYN_RECEIVED, true);
	rec(log, GT_EV_TX, 150, hs, s, GT_TCP_SYN | GT_TCP_ACK, 5000, 1001, 0);
	rec_state(log, 150, hc, c, GT_TCP_SYN_SENT, GT_TCP_ESTABLISHED, true);
	rec(log, GT_EV_TX, 160, hc, c, GT_TCP_ACK, 1001, 5001, 0);
	rec_state(log, 160, hs, s, GT_TCP_SYN_RECEIVED, GT_TCP_ESTABLISHED, true);
	rec(log, GT_EV_TX, 200, hc, c, GT_TCP_ACK | GT_TCP_PSH, 1001, 5001, 100);
	/* the same data again 300 ms later, not marked: a retransmission all
	 * the same, seen from the sequence numbers */
	rec(log, GT_EV_TX, 300200, hc, c, GT_TCP_ACK | GT_TCP_PSH, 1001, 5001, 100);
	rec(log, GT_EV_TX, 300250, hs, s, GT_TCP_ACK, 5001, 1101, 0);
	assert_int_equal(gt_flow_count(log), 1);
	gt_flow fl;
	assert_int_equal(gt_flow_build(log, 0, &fl), 0);
	assert_string_equal(fl.host[GT_FLOW_LEFT], hc);
	assert_string_equal(fl.host[GT_FLOW_RIGHT], hs);
	assert_int_equal(fl.n_arrows, 6);
	for (size_t i = 0; i < fl.n_arrows; i++) {
		assert_false(fl.arrows[i].arrival_known);
		assert_false(fl.arrows[i].lost);
		assert_int_equal(fl.arrows[i].t_rx, fl.arrows[i].t_tx);
	}
	assert_int_equal(fl.arrows[3].rel_seq, 1);
	assert_int_equal(fl.arrows[3].rel_ack, 1);
	assert_false(fl.arrows[3].seg.rexmit);
	assert_true(fl.arrows[4].seg.rexmit);
	assert_int_equal(fl.n_timers, 1);
	assert_int_equal(fl.timers[0].kind, GT_FLOW_TIMER_RTO);
	assert_int_equal(fl.timers[0].end - fl.timers[0].start, 300000);
	assert_int_equal(fl.t_first, 100);
	assert_int_equal(fl.t_last, 300250);

	gt_ladder_stats st;
	char *svg = render(&fl, NULL, &st);
	assert_int_equal(st.overlaps, 0);
	assert_non_null(strstr(svg, "LISTEN \xe2\x86\x92 SYN_RECEIVED (inferred)"));
	assert_non_null(strstr(svg, "font-style=\"italic\""));
	assert_non_null(strstr(svg, "PA seq=1 ack=1 len=100 win=64240 (rexmit)"));
	assert_null(strstr(svg, " lost<"));
	free(svg);
	gt_flow_free(&fl);
	gt_trace_log_free(log);
}

/* The TUN backend: glasstcp logs tx, rx and the impairment's losses; the
 * kernel peer ("linux") logs only its states and the losses on its way in. */
static void test_tun_shape(void **state)
{
	(void)state;
	gt_conn_tuple g = {CLIENT, SERVER, 40000, 8080}, k = {SERVER, CLIENT, 8080, 40000};
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	rec_state(log, 0, "glasstcp", g, GT_TCP_CLOSED, GT_TCP_SYN_SENT, false);
	rec(log, GT_EV_TX, 0, "glasstcp", g, GT_TCP_SYN, 7, 0, 0);
	rec_state(log, 500, "linux", k, GT_TCP_LISTEN, GT_TCP_SYN_RECEIVED, false);
	rec(log, GT_EV_RX, 1000, "glasstcp", g, GT_TCP_SYN | GT_TCP_ACK, 90, 8, 0);
	rec(log, GT_EV_TX, 1000, "glasstcp", g, GT_TCP_ACK, 8, 91, 0);
	rec(log, GT_EV_TX, 1100, "glasstcp", g, GT_TCP_ACK, 8, 91, 10);
	gt_event drop = {.kind = GT_EV_DROP,
	                 .t_us = 1100,
	                 .host = "linux",
	                 .has_conn = true,
	                 .conn = k,
	                 .has_seg = true,
	                 .seg = {.seq = 8, .ack = 91, .len = 10, .win = 64240, .flags = GT_TCP_ACK},
	                 .reason = GT_DROP_SIM_LOSS};
	gt_trace_log_record(log, &drop);
	gt_flow fl;
	assert_int_equal(gt_flow_build(log, 0, &fl), 0);
	assert_string_equal(fl.host[GT_FLOW_LEFT], "glasstcp");
	assert_string_equal(fl.host[GT_FLOW_RIGHT], "linux");
	/* three sent by glasstcp, one known from its rx only */
	assert_int_equal(fl.n_arrows, 4);
	size_t from_linux = 0, lost = 0;
	for (size_t i = 0; i < fl.n_arrows; i++) {
		const gt_flow_arrow *a = &fl.arrows[i];
		if (a->from == GT_FLOW_RIGHT) {
			from_linux++;
			assert_true(a->arrived);
			assert_int_equal(a->rel_ack, 1);
		} else if (a->lost) {
			lost++;
			assert_int_equal(a->seg.len, 10);
		} else {
			/* linux logs no arrivals: unknown, not lost */
			assert_false(a->arrival_known);
		}
	}
	assert_int_equal(from_linux, 1);
	assert_int_equal(lost, 1);
	assert_true(fl.isn_known[GT_FLOW_RIGHT]);
	assert_int_equal(fl.isn[GT_FLOW_RIGHT], 90);
	gt_ladder_stats st;
	char *svg = render(&fl, NULL, &st);
	assert_int_equal(st.overlaps, 0);
	assert_non_null(strstr(svg, "linux logs no arrivals"));
	free(svg);
	gt_flow_free(&fl);
	gt_trace_log_free(log);
}

/* The TUN backend again: glasstcp marks its retransmissions, the kernel's
 * are known only from glasstcp's rx events, without marks: those are found
 * from the sequence numbers all the same. */
static void test_tun_rexmit_marks(void **state)
{
	(void)state;
	gt_conn_tuple g = {CLIENT, SERVER, 40000, 8080};
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	rec(log, GT_EV_TX, 0, "glasstcp", g, GT_TCP_SYN, 7, 0, 0);
	rec(log, GT_EV_RX, 1000, "glasstcp", g, GT_TCP_SYN | GT_TCP_ACK, 90, 8, 0);
	rec(log, GT_EV_TX, 1000, "glasstcp", g, GT_TCP_ACK, 8, 91, 0);
	rec(log, GT_EV_TX, 1100, "glasstcp", g, GT_TCP_ACK, 8, 91, 10);
	gt_event again = {
	    .kind = GT_EV_TX,
	    .t_us = 300000,
	    .host = "glasstcp",
	    .has_conn = true,
	    .conn = g,
	    .has_seg = true,
	    .seg = {
	        .seq = 8, .ack = 91, .len = 10, .win = 64240, .flags = GT_TCP_ACK, .rexmit = true}};
	gt_trace_log_record(log, &again);
	rec(log, GT_EV_RX, 301000, "glasstcp", g, GT_TCP_ACK | GT_TCP_PSH, 91, 18, 100);
	rec(log, GT_EV_RX, 501000, "glasstcp", g, GT_TCP_ACK | GT_TCP_PSH, 91, 18, 100);
	gt_flow fl;
	assert_int_equal(gt_flow_build(log, 0, &fl), 0);
	assert_true(fl.logs_tx[GT_FLOW_LEFT]);
	assert_false(fl.logs_tx[GT_FLOW_RIGHT]);
	assert_int_equal(fl.n_arrows, 7);
	size_t rexmit[2] = {0, 0}, rto[2] = {0, 0};
	for (size_t i = 0; i < fl.n_arrows; i++)
		rexmit[fl.arrows[i].from] += fl.arrows[i].seg.rexmit;
	for (size_t i = 0; i < fl.n_timers; i++)
		if (fl.timers[i].kind == GT_FLOW_TIMER_RTO)
			rto[fl.timers[i].side]++;
	/* glasstcp's own mark, and the kernel's data seen arriving twice */
	assert_int_equal(rexmit[GT_FLOW_LEFT], 1);
	assert_int_equal(rexmit[GT_FLOW_RIGHT], 1);
	assert_true(fl.arrows[6].seg.rexmit);
	assert_int_equal(fl.arrows[6].from, GT_FLOW_RIGHT);
	assert_int_equal(rto[GT_FLOW_LEFT], 1);
	assert_int_equal(rto[GT_FLOW_RIGHT], 1);
	gt_flow_free(&fl);
	gt_trace_log_free(log);
}

static void rec_syn(gt_trace_log *log, gt_event_kind kind, gt_time_us t, const char *host,
                    gt_conn_tuple conn, uint8_t flags, uint32_t seq, uint32_t ack,
                    const uint8_t *pkt, size_t pkt_len)
{
	gt_event ev = {.kind = kind,
	               .t_us = t,
	               .host = host,
	               .has_conn = true,
	               .conn = conn,
	               .has_seg = true,
	               .seg = {.seq = seq, .ack = ack, .win = 64240, .flags = flags},
	               .pkt = pkt,
	               .pkt_len = pkt_len};
	gt_trace_log_record(log, &ev);
}

/* Each side's window scale from its SYN's bytes: as sent, or as the other
 * side received it; absent without the option, unknown without the bytes. */
static void test_window_scale(void **state)
{
	(void)state;
	gt_conn_tuple c = {CLIENT, SERVER, 50000, 80}, s = {SERVER, CLIENT, 80, 50000};
	uint8_t pc[GT_TEST_SYN_MAX], ps[GT_TEST_SYN_MAX];
	struct {
		int client, server; /* option offered; -1 none, -2 no bytes at all */
		int want_client, want_server;
	} cases[] = {
	    {7, 9, 7, 9},
	    {0, 15, 0, 14}, /* RFC 7323 §2.3: above 14 is taken as 14 */
	    {7, -1, 7, GT_FLOW_WSCALE_ABSENT},
	    {-2, 3, GT_FLOW_WSCALE_UNKNOWN, 3},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		size_t lc = cases[i].client < -1 ? 0 : gt_test_syn_packet(pc, cases[i].client);
		size_t ls = cases[i].server < -1 ? 0 : gt_test_syn_packet(ps, cases[i].server);
		gt_trace_log *log = gt_trace_log_new();
		assert_non_null(log);
		rec_syn(log, GT_EV_TX, 0, "client", c, GT_TCP_SYN, 100, 0, lc ? pc : NULL, lc);
		/* the server logs nothing: its SYN-ACK is the client's rx */
		rec_syn(log, GT_EV_RX, 500, "client", c, GT_TCP_SYN | GT_TCP_ACK, 900, 101,
		        ls ? ps : NULL, ls);
		rec(log, GT_EV_TX, 500, "client", c, GT_TCP_ACK, 101, 901, 0);
		gt_flow fl;
		assert_int_equal(gt_flow_build(log, 0, &fl), 0);
		assert_int_equal(fl.wscale[GT_FLOW_LEFT], cases[i].want_client);
		assert_int_equal(fl.wscale[GT_FLOW_RIGHT], cases[i].want_server);
		gt_flow_free(&fl);
		gt_trace_log_free(log);
	}
	/* sent by the server itself: its tx is read first */
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	size_t lc = gt_test_syn_packet(pc, 2), ls = gt_test_syn_packet(ps, 5);
	rec_syn(log, GT_EV_TX, 0, "client", c, GT_TCP_SYN, 100, 0, pc, lc);
	rec_syn(log, GT_EV_TX, 400, "server", s, GT_TCP_SYN | GT_TCP_ACK, 900, 101, ps, ls);
	gt_flow fl;
	assert_int_equal(gt_flow_build(log, 0, &fl), 0);
	assert_int_equal(fl.wscale[GT_FLOW_LEFT], 2);
	assert_int_equal(fl.wscale[GT_FLOW_RIGHT], 5);
	assert_true(fl.logs_tx[GT_FLOW_LEFT]);
	assert_true(fl.logs_tx[GT_FLOW_RIGHT]);
	gt_flow_free(&fl);
	gt_trace_log_free(log);
}

/* Listeners are not connections; connections come in order of appearance;
 * a receiver that logs arrivals and has none for a segment lost it. */
static void test_connections(void **state)
{
	(void)state;
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	gt_flow fl;
	assert_int_equal(gt_flow_count(log), 0);
	assert_int_equal(gt_flow_build(log, 0, &fl), -ENOENT);
	gt_conn_tuple listener = {SERVER, 0, 80, 0};
	rec_state(log, 0, "server", listener, GT_TCP_CLOSED, GT_TCP_LISTEN, false);
	assert_int_equal(gt_flow_count(log), 0);

	gt_conn_tuple a = {CLIENT, SERVER, 1111, 80}, a_s = {SERVER, CLIENT, 80, 1111};
	gt_conn_tuple b = {CLIENT, SERVER, 2222, 80}, b_s = {SERVER, CLIENT, 80, 2222};
	rec(log, GT_EV_TX, 10, "client", b, GT_TCP_SYN, 1, 0, 0);
	rec(log, GT_EV_TX, 11, "client", a, GT_TCP_SYN, 50, 0, 0);
	rec(log, GT_EV_RX, 20, "server", b_s, GT_TCP_SYN, 1, 0, 0);
	rec(log, GT_EV_RX, 21, "server", a_s, GT_TCP_SYN, 50, 0, 0);
	rec(log, GT_EV_TX, 21, "server", a_s, GT_TCP_SYN | GT_TCP_ACK, 700, 51, 0);
	/* the server logs arrivals; this one never came */
	rec(log, GT_EV_TX, 30, "client", a, GT_TCP_ACK, 51, 701, 0);
	assert_int_equal(gt_flow_count(log), 2);
	assert_int_equal(gt_flow_build(log, 1, &fl), 0);
	assert_int_equal(fl.conn.local_port, 1111);
	assert_int_equal(fl.n_arrows, 3);
	assert_int_equal(fl.n_arrows, count_tx(log, &fl));
	assert_true(fl.arrows[0].arrived);
	/* the client logs no arrivals at all: the SYN-ACK's is unknown */
	assert_false(fl.arrows[1].arrival_known);
	assert_false(fl.arrows[1].lost);
	assert_true(fl.arrows[2].lost);
	assert_true(fl.arrows[2].arrival_known);
	gt_flow_free(&fl);
	assert_int_equal(gt_flow_build(log, 0, &fl), 0);
	assert_int_equal(fl.conn.local_port, 2222);
	gt_flow_free(&fl);
	assert_int_equal(gt_flow_build(log, 2, &fl), -ENOENT);
	gt_trace_log_free(log);
}

/* A peer seen only through its states (a kernel side with nothing else
 * logged): still a connection, still a picture. Bad arguments fail cleanly. */
static void test_states_only(void **state)
{
	(void)state;
	gt_conn_tuple k = {SERVER, CLIENT, 22, 40000};
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	rec_state(log, 5, "linux", k, GT_TCP_LISTEN, GT_TCP_SYN_RECEIVED, false);
	rec_state(log, 5, "linux", k, GT_TCP_SYN_RECEIVED, GT_TCP_ESTABLISHED, false);
	rec_state(log, 7000000, "linux", k, GT_TCP_ESTABLISHED, GT_TCP_CLOSE_WAIT, false);
	assert_int_equal(gt_flow_count(log), 1);
	gt_flow fl;
	assert_int_equal(gt_flow_build(log, 0, &fl), 0);
	assert_int_equal(fl.n_arrows, 0);
	assert_int_equal(fl.n_states, 3);
	assert_string_equal(fl.host[GT_FLOW_LEFT], "linux");
	assert_string_equal(fl.host[GT_FLOW_RIGHT], "192.0.2.1:40000");
	gt_ladder_stats st;
	char *svg = render(&fl, NULL, &st);
	assert_int_equal(st.overlaps, 0);
	assert_non_null(strstr(svg, "ESTABLISHED \xe2\x86\x92 CLOSE_WAIT"));
	free(svg);
	assert_int_equal(gt_ladder_svg(NULL, &fl, NULL, &st), -EINVAL);
	assert_int_equal(gt_ladder_svg(stdout, NULL, NULL, &st), -EINVAL);
	gt_flow_free(&fl);
	assert_int_equal(gt_flow_build(NULL, 0, &fl), -ENOENT);
	assert_int_equal(gt_flow_build(log, 0, NULL), -EINVAL);
	assert_int_equal(gt_flow_count(NULL), 0);
	gt_flow_free(NULL);
	gt_trace_log_free(log);
}

/* ---- the index: the same flows as the scan, every connection at once ---- */

static void assert_same_seg(const gt_seg_info *a, const gt_seg_info *b)
{
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->ack, b->ack);
	assert_int_equal(a->len, b->len);
	assert_int_equal(a->win, b->win);
	assert_int_equal(a->wnd, b->wnd);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->rexmit, b->rexmit);
	assert_int_equal(a->mss, b->mss);
}

/* Field by field: what gt_flow_build made (want) and gt_flow_build_indexed
 * made (got) for connection k. */
static void assert_same_flow(const char *name, size_t k, const gt_flow *want, const gt_flow *got)
{
	for (int s = 0; s < 2; s++) {
		if (strcmp(want->host[s], got->host[s]) != 0)
			fail_msg("%s #%zu: host %d '%s' vs '%s'", name, k, s, want->host[s],
			         got->host[s]);
		assert_int_equal(want->isn_known[s], got->isn_known[s]);
		assert_int_equal(want->isn[s], got->isn[s]);
		assert_int_equal(want->wscale[s], got->wscale[s]);
		assert_int_equal(want->logs_tx[s], got->logs_tx[s]);
	}
	assert_memory_equal(&want->conn, &got->conn, sizeof want->conn);
	assert_int_equal(want->t_first, got->t_first);
	assert_int_equal(want->t_last, got->t_last);
	if (want->n_arrows != got->n_arrows || want->n_states != got->n_states ||
	    want->n_timers != got->n_timers)
		fail_msg("%s #%zu: %zu/%zu/%zu arrows/states/timers vs %zu/%zu/%zu", name, k,
		         want->n_arrows, want->n_states, want->n_timers, got->n_arrows,
		         got->n_states, got->n_timers);
	for (size_t i = 0; i < want->n_arrows; i++) {
		const gt_flow_arrow *a = &want->arrows[i], *b = &got->arrows[i];
		assert_int_equal(a->from, b->from);
		assert_int_equal(a->t_tx, b->t_tx);
		assert_int_equal(a->t_rx, b->t_rx);
		assert_int_equal(a->arrived, b->arrived);
		assert_int_equal(a->lost, b->lost);
		assert_int_equal(a->arrival_known, b->arrival_known);
		assert_int_equal(a->drop_reason, b->drop_reason);
		assert_same_seg(&a->seg, &b->seg);
		assert_int_equal(a->rel_seq, b->rel_seq);
		assert_int_equal(a->rel_ack, b->rel_ack);
		assert_int_equal(a->order_tx, b->order_tx);
		assert_int_equal(a->order_rx, b->order_rx);
	}
	for (size_t i = 0; i < want->n_states; i++) {
		const gt_flow_state *a = &want->states[i], *b = &got->states[i];
		assert_int_equal(a->side, b->side);
		assert_int_equal(a->t, b->t);
		assert_int_equal(a->from, b->from);
		assert_int_equal(a->to, b->to);
		assert_ptr_equal(a->cause, b->cause); /* both point into the log */
		assert_int_equal(a->inferred, b->inferred);
		assert_int_equal(a->order, b->order);
	}
	for (size_t i = 0; i < want->n_timers; i++) {
		const gt_flow_timer *a = &want->timers[i], *b = &got->timers[i];
		assert_int_equal(a->side, b->side);
		assert_int_equal(a->kind, b->kind);
		assert_int_equal(a->start, b->start);
		assert_int_equal(a->end, b->end);
		assert_int_equal(a->end_seen, b->end_seen);
	}
}

/* Every connection of log built both ways: the same count, the same flows.
 * Returns how many connections there were. */
static size_t check_index(const char *name, const gt_trace_log *log)
{
	gt_flow_index *idx = gt_flow_index_new(log);
	assert_non_null(idx);
	size_t n = gt_flow_index_count(idx);
	assert_int_equal(n, gt_flow_count(log));
	for (size_t k = 0; k < n; k++) {
		gt_flow want, got;
		assert_int_equal(gt_flow_build(log, k, &want), 0);
		assert_int_equal(gt_flow_build_indexed(idx, k, &got), 0);
		assert_same_flow(name, k, &want, &got);
		gt_flow_free(&want);
		gt_flow_free(&got);
	}
	gt_flow got;
	assert_int_equal(gt_flow_build_indexed(idx, n, &got), -ENOENT);
	assert_null(got.arrows);
	gt_flow_index_free(idx);
	return n;
}

/* One log of many connections: each given log's events with the client's
 * port moved to its own (port + 1000 * (j + 1)) and its times shifted by
 * j * spacing, merged in time order (ties: by log, then log order). Without
 * tx_only, as the simulator logs (both ends: tx, rx, drops, states, the
 * server's listener); with it, in explain's shape (tx and states only, the
 * states inferred). */
static gt_trace_log *merge_logs(gt_trace_log *const *logs, size_t n_logs, gt_time_us spacing,
                                bool tx_only)
{
	gt_trace_log *out = gt_trace_log_new();
	assert_non_null(out);
	size_t pos[16] = {0};
	assert_true(n_logs <= 16);
	for (;;) {
		size_t best = SIZE_MAX;
		gt_time_us best_t = 0;
		for (size_t j = 0; j < n_logs; j++) {
			if (pos[j] == gt_trace_log_count(logs[j]))
				continue;
			gt_time_us t = gt_trace_log_get(logs[j], pos[j])->t_us + j * spacing;
			if (best == SIZE_MAX || t < best_t) {
				best = j;
				best_t = t;
			}
		}
		if (best == SIZE_MAX)
			break;
		gt_event ev = *gt_trace_log_get(logs[best], pos[best]++);
		if (tx_only && (ev.kind == GT_EV_RX || ev.kind == GT_EV_DROP))
			continue;
		ev.t_us = best_t;
		uint16_t move = (uint16_t)(1000 * (best + 1));
		if (ev.has_conn && ev.conn.local_addr == CLIENT)
			ev.conn.local_port = (uint16_t)(ev.conn.local_port + move);
		if (ev.has_conn && ev.conn.remote_addr == CLIENT)
			ev.conn.remote_port = (uint16_t)(ev.conn.remote_port + move);
		if (tx_only && ev.kind == GT_EV_STATE)
			ev.inferred = true;
		gt_trace_log_record(out, &ev);
	}
	assert_int_equal(gt_trace_log_dropped(out), 0);
	return out;
}

/* Every scenario, with and without loss, and all of them in one log of many
 * interleaved connections: the index gives the scan's flows. */
static void test_index_scenarios(void **state)
{
	(void)state;
	gt_trace_log *logs[16];
	size_t n_logs = gt_scenario_count < 16 ? gt_scenario_count : 16;
	for (size_t k = 0; k < n_logs; k++) {
		const char *name = gt_scenarios[k].name;
		gt_scenario_result res;
		logs[k] = run_scenario(name, 1, 0, &res);
		assert_true(check_index(name, logs[k]) >= 1);
		gt_trace_log *lossy = run_scenario(name, 3, 0.2, &res);
		check_index(name, lossy);
		gt_trace_log_free(lossy);
	}
	/* the scenarios whose server logs its listener */
	size_t listening = 0;
	for (size_t k = 0; k < n_logs; k++) {
		bool any = false;
		for (size_t i = 0; i < gt_trace_log_count(logs[k]); i++) {
			const gt_event *ev = gt_trace_log_get(logs[k], i);
			any = any || (ev->kind == GT_EV_STATE && ev->to == GT_TCP_LISTEN &&
			              ev->conn.remote_addr == 0 && ev->conn.remote_port == 0);
		}
		listening += any;
	}
	assert_true(listening >= 1);
	/* Overlapping (1 ms apart) and one after the other (10 s apart): one
	 * server listener, many connections, their events interleaved. */
	gt_time_us spacings[] = {1000, 10000000};
	for (size_t i = 0; i < 2; i++) {
		gt_trace_log *merged = merge_logs(logs, n_logs, spacings[i], false);
		size_t n = check_index("merged", merged);
		assert_true(n >= n_logs);
		/* each connection's right side keeps its listener's CLOSED -> LISTEN */
		gt_flow_index *idx = gt_flow_index_new(merged);
		assert_non_null(idx);
		size_t with_listen = 0;
		for (size_t k = 0; k < n; k++) {
			gt_flow fl;
			assert_int_equal(gt_flow_build_indexed(idx, k, &fl), 0);
			for (size_t j = 0; j < fl.n_states; j++)
				with_listen += fl.states[j].side == GT_FLOW_RIGHT &&
				               fl.states[j].from == GT_TCP_CLOSED &&
				               fl.states[j].to == GT_TCP_LISTEN;
			gt_flow_free(&fl);
		}
		assert_true(with_listen >= listening);
		gt_flow_index_free(idx);
		gt_trace_log_free(merged);
		merged = merge_logs(logs, n_logs, spacings[i], true);
		assert_int_equal(check_index("merged, explain's shape", merged), n);
		gt_trace_log_free(merged);
	}
	for (size_t k = 0; k < n_logs; k++)
		gt_trace_log_free(logs[k]);
}

/* Hand-made, in explain's shape: 300 interleaved connections to two servers,
 * whose listeners start, stop and start again between them; each connection
 * gets the LISTEN last logged before its server's first state change in it. */
static void test_index_listeners(void **state)
{
	(void)state;
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	gt_flow fl;
	gt_flow_index *empty = gt_flow_index_new(log);
	assert_non_null(empty);
	assert_int_equal(gt_flow_index_count(empty), 0);
	assert_int_equal(gt_flow_build_indexed(empty, 0, &fl), -ENOENT);
	assert_int_equal(gt_flow_build_indexed(empty, 0, NULL), -EINVAL);
	gt_flow_index_free(empty);
	assert_int_equal(gt_flow_build_indexed(NULL, 0, &fl), -ENOENT);
	assert_int_equal(gt_flow_index_count(NULL), 0);
	gt_flow_index_free(NULL);

	const uint16_t ports[2] = {80, 443};
	const size_t n = 300;
	for (size_t k = 0; k < n; k++) {
		gt_time_us t = 1000 * (gt_time_us)k;
		uint16_t sp = ports[k % 2], cp = (uint16_t)(20000 + k);
		gt_conn_tuple c = {CLIENT, SERVER, cp, sp}, s = {SERVER, CLIENT, sp, cp};
		gt_conn_tuple listener = {SERVER, 0, sp, 0};
		if (k % 50 < 2) /* the listener (re)starts, a different cause each time */
			rec_state(log, t, "server", listener, GT_TCP_CLOSED, GT_TCP_LISTEN, true);
		if (k % 50 == 40)
			rec_state(log, t, "server", listener, GT_TCP_LISTEN, GT_TCP_CLOSED, true);
		rec_state(log, t, "client", c, GT_TCP_CLOSED, GT_TCP_SYN_SENT, false);
		rec(log, GT_EV_TX, t, "client", c, GT_TCP_SYN, 7 * (uint32_t)k, 0, 0);
		if (k % 7 == 3)
			continue; /* never answered */
		/* the server answers the previous connection's SYN first */
		rec_state(log, t + 1500, "server", s, GT_TCP_LISTEN, GT_TCP_SYN_RECEIVED, true);
		rec(log, GT_EV_TX, t + 1500, "server", s, GT_TCP_SYN | GT_TCP_ACK, 9,
		    7 * (uint32_t)k + 1, 0);
		rec(log, GT_EV_TX, t + 1600, "client", c, GT_TCP_ACK, 7 * (uint32_t)k + 1, 10, 0);
		if (k == 11) /* still in TIME_WAIT when the trace ends, long after */
			rec_state(log, t + 1700, "client", c, GT_TCP_ESTABLISHED, GT_TCP_TIME_WAIT,
			          true);
	}
	assert_int_equal(gt_trace_log_dropped(log), 0);
	assert_int_equal(check_index("listeners", log), n);
	/* connection 45 (port 443) is after the stop at 40: its LISTEN is the
	 * restart at 1 (the last before it), not the stop's */
	gt_flow_index *idx = gt_flow_index_new(log);
	assert_non_null(idx);
	assert_int_equal(gt_flow_build_indexed(idx, 45, &fl), 0);
	assert_int_equal(fl.conn.remote_port, 443);
	assert_true(fl.n_states >= 1);
	assert_int_equal(fl.states[0].side, GT_FLOW_RIGHT);
	assert_int_equal(fl.states[0].from, GT_TCP_CLOSED);
	assert_int_equal(fl.states[0].to, GT_TCP_LISTEN);
	assert_int_equal(fl.states[0].t, 1000);
	gt_flow_free(&fl);
	/* connection 0: the listener started the same instant, just before */
	assert_int_equal(gt_flow_build_indexed(idx, 0, &fl), 0);
	assert_int_equal(fl.states[0].to, GT_TCP_LISTEN);
	assert_int_equal(fl.states[0].t, 0);
	gt_flow_free(&fl);
	/* connection 11's TIME_WAIT runs to the trace's last event, another's */
	assert_int_equal(gt_flow_build_indexed(idx, 11, &fl), 0);
	assert_int_equal(fl.n_timers, 1);
	assert_int_equal(fl.timers[0].kind, GT_FLOW_TIMER_TIME_WAIT);
	assert_false(fl.timers[0].end_seen);
	assert_int_equal(fl.timers[0].end,
	                 gt_trace_log_get(log, gt_trace_log_count(log) - 1)->t_us);
	gt_flow_free(&fl);
	gt_flow_index_free(idx);
	gt_trace_log_free(log);
}

/* Gap and timer labels: each duration in the unit that reads best, never in
 * exponent notation. */
static void test_duration_labels(void **state)
{
	char d[24];
	assert_string_equal(gt_svg_duration(250, d), "250 us");
	assert_string_equal(gt_svg_duration(12300, d), "12.3 ms");
	assert_string_equal(gt_svg_duration(1500000, d), "1.5 s");
	assert_string_equal(gt_svg_duration(60000000, d), "60 s");
	assert_string_equal(gt_svg_duration(1450000000, d), "1450 s");
	assert_string_equal(gt_svg_duration(86400000000ull, d), "86400 s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration_labels),  cmocka_unit_test(test_every_scenario),
	    cmocka_unit_test(test_random_loss),      cmocka_unit_test(test_close),
	    cmocka_unit_test(test_lost_fin),         cmocka_unit_test(test_lost_last_ack),
	    cmocka_unit_test(test_refused),          cmocka_unit_test(test_simultaneous_open),
	    cmocka_unit_test(test_capture_shape),    cmocka_unit_test(test_tun_shape),
	    cmocka_unit_test(test_tun_rexmit_marks), cmocka_unit_test(test_window_scale),
	    cmocka_unit_test(test_connections),      cmocka_unit_test(test_states_only),
	    cmocka_unit_test(test_index_scenarios),  cmocka_unit_test(test_index_listeners),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
