/* The demo scenarios (tools/scenarios/scenarios.c) as regression tests: for every
 * scenario the exact state transitions of each host, and for the small ones
 * the exact segments, in order, with sequence numbers relative to each side's
 * ISN. Plus the timing rules the scenarios exist to show (TIME_WAIT lasts
 * 2*MSL and restarts on a retransmitted FIN, the SYN is retransmitted after
 * the initial RTO), the errors the applications see, and determinism.
 *
 * GT_SCENARIO_DUMP=1 prints what each run recorded. */
#include "scenarios/scenarios.h"
#include "support.h"
#include "trace/table.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS ((gt_time_us)1000)
#define S  ((gt_time_us)1000000)

/* ---- the recorder ---- */

enum { CLIENT = 0, SERVER = 1, NHOSTS = 2 };
static const char *const host_names[NHOSTS] = {"client", "server"};

typedef struct tx_seg {
	gt_time_us t;
	int host;
	gt_seg_info seg;
	bool lost;
} tx_seg;

typedef struct state_ev {
	gt_time_us t;
	int host;
	gt_tcp_state from, to;
} state_ev;

typedef struct rec {
	tx_seg *segs;
	size_t nsegs, segs_cap;
	state_ev *states;
	size_t nstates, states_cap;
	bool isn_known[NHOSTS];
	uint32_t isn[NHOSTS];
	/* bytes of the client's stream that reached the server (transfer) */
	uint8_t *arrived;
	size_t arrived_len;
	/* every event as JSON Lines, when jsonl is open */
	FILE *jsonl;
	char *jsonl_buf;
	size_t jsonl_len;
	gt_trace_log *log; /* when set, every event is also kept for the table */
} rec;

static int host_index(const char *name)
{
	for (int i = 0; i < NHOSTS; i++) {
		if (name && strcmp(name, host_names[i]) == 0)
			return i;
	}
	return -1;
}

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? 2 * *cap : 64;
	p = realloc(p, *cap * size);
	assert_non_null(p);
	return p;
}

static void on_event(void *user, const gt_event *ev)
{
	rec *r = user;
	if (r->jsonl)
		assert_int_equal(gt_trace_jsonl_write(r->jsonl, ev), 0);
	if (r->log)
		gt_trace_log_record(r->log, ev);
	if (ev->host && strcmp(ev->host, "attacker") == 0)
		return; /* syn-flood's packet source (test_syn_flood_scenario) */
	int h = host_index(ev->host);
	assert_true(h >= 0);
	switch (ev->kind) {
	case GT_EV_STATE:
		r->states = grow(r->states, &r->states_cap, r->nstates, sizeof *r->states);
		r->states[r->nstates++] = (state_ev){ev->t_us, h, ev->from, ev->to};
		break;
	case GT_EV_TX:
		assert_true(ev->has_seg);
		if ((ev->seg.flags & GT_TCP_SYN) && !r->isn_known[h]) {
			r->isn_known[h] = true;
			r->isn[h] = ev->seg.seq;
		}
		r->segs = grow(r->segs, &r->segs_cap, r->nsegs, sizeof *r->segs);
		r->segs[r->nsegs++] = (tx_seg){.t = ev->t_us, .host = h, .seg = ev->seg};
		break;
	case GT_EV_DROP:
		/* the network reports a loss at the receiver, as the send happens */
		if (ev->reason != GT_DROP_SIM_LOSS && ev->reason != GT_DROP_SIM_FAULT)
			break;
		for (size_t i = r->nsegs; i-- > 0;) {
			tx_seg *s = &r->segs[i];
			if (s->host != h && s->t == ev->t_us && s->seg.seq == ev->seg.seq &&
			    s->seg.ack == ev->seg.ack && s->seg.flags == ev->seg.flags &&
			    !s->lost) {
				s->lost = true;
				break;
			}
		}
		break;
	case GT_EV_RX:
		if (h == SERVER && r->arrived && ev->seg.len && r->isn_known[CLIENT]) {
			uint64_t off = (uint32_t)(ev->seg.seq - r->isn[CLIENT] - 1);
			for (uint64_t i = 0; i < ev->seg.len && off + i < r->arrived_len; i++)
				r->arrived[off + i] = 1;
		}
		break;
	default:
		break;
	}
}

static void rec_free(rec *r)
{
	free(r->segs);
	free(r->states);
	free(r->arrived);
	if (r->jsonl)
		fclose(r->jsonl);
	free(r->jsonl_buf);
	gt_trace_log_free(r->log);
	memset(r, 0, sizeof *r);
}

/* "20 client FA 1 1 0": time in ms, sender, flags, seq and ack relative to
 * the ISN of their side (absolute when that side never sent a SYN; "-" for
 * the ack of a segment without ACK), payload length; then "rexmit" and
 * "lost" when they apply. */
static char *segments_str(const rec *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	for (size_t i = 0; i < r->nsegs; i++) {
		const tx_seg *s = &r->segs[i];
		int peer = 1 - s->host;
		char flags[9];
		uint32_t seq = s->seg.seq - (r->isn_known[s->host] ? r->isn[s->host] : 0);
		uint32_t ack = s->seg.ack - (r->isn_known[peer] ? r->isn[peer] : 0);
		if (s->t % MS)
			fprintf(f, "%" PRIu64 ".%03" PRIu64, s->t / MS, s->t % MS);
		else
			fprintf(f, "%" PRIu64, s->t / MS);
		fprintf(f, " %s %s %" PRIu32, host_names[s->host],
		        gt_tcp_flags_str(s->seg.flags, flags), seq);
		if (s->seg.flags & GT_TCP_ACK)
			fprintf(f, " %" PRIu32, ack);
		else
			fprintf(f, " -");
		fprintf(f, " %" PRIu32 "%s%s\n", s->seg.len, s->seg.rexmit ? " rexmit" : "",
		        s->lost ? " lost" : "");
	}
	fclose(f);
	return buf;
}

/* "CLOSED>SYN_SENT SYN_SENT>ESTABLISHED ..." for one host */
static char *states_str(const rec *r, int host)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	bool first = true;
	for (size_t i = 0; i < r->nstates; i++) {
		const state_ev *e = &r->states[i];
		if (e->host != host)
			continue;
		fprintf(f, "%s%s>%s", first ? "" : " ", gt_tcp_state_name(e->from),
		        gt_tcp_state_name(e->to));
		first = false;
	}
	fclose(f);
	return buf;
}

static bool dump(void)
{
	const char *s = getenv("GT_SCENARIO_DUMP");
	return s && *s && strcmp(s, "0") != 0;
}

static gt_time_us two_msl(void)
{
	gt_stack_config cfg;
	gt_stack_config_default(&cfg);
	return 2 * cfg.msl_us;
}

/* Runs a scenario that must pass, recording into r. */
static void run_ok(const char *name, const gt_scenario_opts *opts, rec *r, gt_scenario_result *res)
{
	const gt_scenario *sc = gt_scenario_find(name);
	assert_non_null(sc);
	gt_scenario_opts def;
	gt_scenario_opts_default(&def);
	int rc = gt_scenario_run(sc, opts ? opts : &def, on_event, r, res);
	if (dump() || rc != 0) {
		char *segs = segments_str(r), *cs = states_str(r, CLIENT),
		     *ss = states_str(r, SERVER);
		print_message("== %s: rc=%d %s\nclient: %s\nserver: %s\n%s", name, rc, res->failure,
		              cs, ss, r->nsegs < 100 ? segs : "(many segments)\n");
		free(segs);
		free(cs);
		free(ss);
	}
	assert_int_equal(rc, 0);
	assert_true(res->passed);
	assert_string_equal(res->failure, "");
}

static void expect_states(const rec *r, int host, const char *want)
{
	char *got = states_str(r, host);
	if (strcmp(got, want) != 0)
		print_message("%s states\n  got:  %s\n  want: %s\n", host_names[host], got, want);
	assert_string_equal(got, want);
	free(got);
}

static void expect_segments(const rec *r, const char *want)
{
	char *got = segments_str(r);
	if (strcmp(got, want) != 0)
		print_message("segments\n-- got:\n%s-- want:\n%s", got, want);
	assert_string_equal(got, want);
	free(got);
}

/* The time of host's first transition into `to`: from any state when from is
 * GT_TCP_STATE_COUNT, else only from `from`. */
static gt_time_us state_time(const rec *r, int host, gt_tcp_state from, gt_tcp_state to)
{
	for (size_t i = 0; i < r->nstates; i++) {
		const state_ev *e = &r->states[i];
		if (e->host == host && e->to == to &&
		    (from == GT_TCP_STATE_COUNT || e->from == from))
			return e->t;
	}
	fail_msg("%s never went to %s", host_names[host], gt_tcp_state_name(to));
	return 0;
}

/* TIME_WAIT of host lasted exactly 2*MSL of virtual time. */
static void expect_time_wait_2msl(const rec *r, int host)
{
	gt_time_us in = state_time(r, host, GT_TCP_STATE_COUNT, GT_TCP_TIME_WAIT);
	gt_time_us out = state_time(r, host, GT_TCP_TIME_WAIT, GT_TCP_CLOSED);
	assert_int_equal(out - in, two_msl());
}

/* ---- the scenarios, one test each ---- */

/* The state sequences of a connection the client opens, by the end that
 * closes first (active) and the one that answers the FIN (passive). */
static const char CLIENT_ACTIVE_CLOSE[] =
    "CLOSED>SYN_SENT SYN_SENT>ESTABLISHED ESTABLISHED>FIN_WAIT_1 FIN_WAIT_1>FIN_WAIT_2 "
    "FIN_WAIT_2>TIME_WAIT TIME_WAIT>CLOSED";
static const char CLIENT_PASSIVE_CLOSE[] =
    "CLOSED>SYN_SENT SYN_SENT>ESTABLISHED ESTABLISHED>CLOSE_WAIT CLOSE_WAIT>LAST_ACK "
    "LAST_ACK>CLOSED";
static const char SERVER_ACTIVE_CLOSE[] =
    "CLOSED>LISTEN LISTEN>SYN_RECEIVED SYN_RECEIVED>ESTABLISHED ESTABLISHED>FIN_WAIT_1 "
    "FIN_WAIT_1>FIN_WAIT_2 FIN_WAIT_2>TIME_WAIT TIME_WAIT>CLOSED";
static const char SERVER_PASSIVE_CLOSE[] =
    "CLOSED>LISTEN LISTEN>SYN_RECEIVED SYN_RECEIVED>ESTABLISHED ESTABLISHED>CLOSE_WAIT "
    "CLOSE_WAIT>LAST_ACK LAST_ACK>CLOSED";

/* The segments of the three-way handshake the client opens at 0 ms. */
#define HANDSHAKE                                                                                  \
	"0 client S 0 - 0\n"                                                                       \
	"10 server SA 0 1 0\n"                                                                     \
	"20 client A 1 1 0\n"

/* Runs scenario `name` with the default options, which must pass, into r and
 * res, and checks each host's state sequence and every segment; the caller
 * checks what is particular to the scenario and frees r. */
static void run_expect(rec *r, gt_scenario_result *res, const char *name, const char *client_states,
                       const char *server_states, const char *segments)
{
	*r = (rec){0};
	run_ok(name, NULL, r, res);
	expect_states(r, CLIENT, client_states);
	expect_states(r, SERVER, server_states);
	expect_segments(r, segments);
}

static void test_handshake(void **state)
{
	rec r;
	gt_scenario_result res;
	run_expect(&r, &res, "handshake", CLIENT_PASSIVE_CLOSE, SERVER_ACTIVE_CLOSE,
	           HANDSHAKE /* 0 .. 20 ms */
	           "30 server FA 1 1 0\n"
	           "40 client FA 1 2 0\n"
	           "50 server A 2 2 0\n");
	expect_time_wait_2msl(&r, SERVER);
	assert_int_equal(res.client_error, 0);
	assert_int_equal(res.server_error, 0);
	assert_int_equal(res.segments, 6);
	rec_free(&r);
}

/* The seed's table: SYN, SYN-ACK, ACK, FIN, ACK, FIN, ACK, then TIME_WAIT. */
static void test_close(void **state)
{
	rec r;
	gt_scenario_result res;
	run_expect(&r, &res, "close", CLIENT_ACTIVE_CLOSE, SERVER_PASSIVE_CLOSE,
	           HANDSHAKE /* 0 .. 20 ms */
	           "20 client FA 1 1 0\n"
	           "70 server A 1 2 0\n"   /* the delayed ACK of the FIN */
	           "130 server FA 1 2 0\n" /* 100 ms of app time after EOF */
	           "140 client A 2 2 0\n");
	expect_time_wait_2msl(&r, CLIENT);
	assert_int_equal(state_time(&r, CLIENT, GT_TCP_TIME_WAIT, GT_TCP_CLOSED),
	                 140 * MS + two_msl());
	assert_int_equal(res.end_us, 140 * MS + two_msl());
	assert_int_equal(res.segments, 7);
	assert_int_equal(res.rexmits, 0);
	assert_int_equal(res.lost, 0);
	rec_free(&r);
}

/* What `glasstcp demo close` prints: the seed's rows, from the table builder. */
static void test_close_table(void **state)
{
	rec r = {.log = gt_trace_log_new()};
	assert_non_null(r.log);
	gt_scenario_result res;
	run_ok("close", NULL, &r, &res);
	gt_table_opts to = {.left_host = "client", .right_host = "server"};
	gt_table t;
	assert_int_equal(gt_trace_table_build(r.log, &to, &t), 0);
	static const struct {
		const char *left, *flags, *right;
	} want[] = {
	    {"CLOSED -> SYN_SENT", "S", "LISTEN"},
	    {"SYN_SENT", "SA", "LISTEN -> SYN_RECEIVED"},
	    {"SYN_SENT -> ESTABLISHED", "A", "SYN_RECEIVED -> ESTABLISHED"},
	    {"ESTABLISHED -> FIN_WAIT_1", "FA", "ESTABLISHED -> CLOSE_WAIT"},
	    {"FIN_WAIT_1 -> FIN_WAIT_2", "A", "CLOSE_WAIT"},
	    {"FIN_WAIT_2", "FA", "CLOSE_WAIT -> LAST_ACK"},
	    {"FIN_WAIT_2 -> TIME_WAIT", "A", "LAST_ACK -> CLOSED"},
	    {"TIME_WAIT -> CLOSED", "", ""},
	};
	size_t n = sizeof want / sizeof want[0];
	assert_int_equal(t.nrows, n);
	for (size_t i = 0; i < n; i++) {
		const gt_table_row *row = &t.rows[i];
		assert_string_equal(row->left, want[i].left);
		assert_string_equal(row->right, want[i].right);
		assert_int_equal(row->flags_len, strlen(want[i].flags));
		assert_memory_equal(row->seg, want[i].flags, row->flags_len);
		assert_false(row->lost);
		gt_table_dir dir = !*want[i].flags                ? GT_TABLE_DIR_NONE
		                   : (i == 1 || i == 4 || i == 5) ? GT_TABLE_DIR_LEFT
		                                                  : GT_TABLE_DIR_RIGHT;
		assert_int_equal(row->dir, dir);
	}
	gt_trace_table_free(&t);
	rec_free(&r);
}

static void test_close_server(void **state)
{
	rec r;
	gt_scenario_result res;
	run_expect(&r, &res, "close-server", CLIENT_PASSIVE_CLOSE, SERVER_ACTIVE_CLOSE,
	           HANDSHAKE /* 0 .. 20 ms */
	           "30 server FA 1 1 0\n"
	           "80 client A 1 2 0\n"
	           "140 client FA 1 2 0\n"
	           "150 server A 2 2 0\n");
	expect_time_wait_2msl(&r, SERVER);
	rec_free(&r);
}

/* The FIN rides on the delayed ACK: FIN, FIN-ACK, ACK. */
static void test_close_3way(void **state)
{
	rec r;
	gt_scenario_result res;
	run_expect(&r, &res, "close-3way", CLIENT_ACTIVE_CLOSE, SERVER_PASSIVE_CLOSE,
	           HANDSHAKE /* 0 .. 20 ms */
	           "20 client FA 1 1 0\n"
	           "30 server FA 1 2 0\n"
	           "40 client A 2 2 0\n");
	expect_time_wait_2msl(&r, CLIENT);
	rec_free(&r);
}

/* RFC 9293 §3.6 figure 13: FIN_WAIT_1 -> CLOSING -> TIME_WAIT on both. */
static void test_simultaneous_close(void **state)
{
	rec r;
	gt_scenario_result res;
	run_expect(&r, &res, "simultaneous-close",
	           "CLOSED>SYN_SENT SYN_SENT>ESTABLISHED ESTABLISHED>FIN_WAIT_1 "
	           "FIN_WAIT_1>CLOSING CLOSING>TIME_WAIT TIME_WAIT>CLOSED",
	           "CLOSED>LISTEN LISTEN>SYN_RECEIVED SYN_RECEIVED>ESTABLISHED "
	           "ESTABLISHED>FIN_WAIT_1 FIN_WAIT_1>CLOSING CLOSING>TIME_WAIT "
	           "TIME_WAIT>CLOSED",
	           HANDSHAKE /* 0 .. 20 ms */
	           "30 client FA 1 1 0\n"
	           "30 server FA 1 1 0\n"
	           "40 server A 2 2 0\n" /* the client's FIN arrived first */
	           "40 client A 2 2 0\n");
	expect_time_wait_2msl(&r, CLIENT);
	expect_time_wait_2msl(&r, SERVER);
	rec_free(&r);
}

/* RFC 9293 §3.5 figure 8: both SYN, both SYN-ACK, no third segment. */
static void test_simultaneous_open(void **state)
{
	rec r;
	gt_scenario_result res;
	run_expect(&r, &res, "simultaneous-open",
	           "CLOSED>SYN_SENT SYN_SENT>SYN_RECEIVED SYN_RECEIVED>ESTABLISHED "
	           "ESTABLISHED>FIN_WAIT_1 FIN_WAIT_1>FIN_WAIT_2 FIN_WAIT_2>TIME_WAIT "
	           "TIME_WAIT>CLOSED",
	           "CLOSED>SYN_SENT SYN_SENT>SYN_RECEIVED SYN_RECEIVED>ESTABLISHED "
	           "ESTABLISHED>CLOSE_WAIT CLOSE_WAIT>LAST_ACK LAST_ACK>CLOSED",
	           "0 client S 0 - 0\n"
	           "0 server S 0 - 0\n"
	           "10 server SA 0 1 0\n" /* the client's SYN arrived first */
	           "10 client SA 0 1 0\n"
	           "20 client FA 1 1 0\n"
	           "30 server FA 1 2 0\n"
	           "40 client A 2 2 0\n");
	/* both ends reach ESTABLISHED on the other's SYN-ACK, at the same time */
	assert_int_equal(state_time(&r, CLIENT, GT_TCP_SYN_RECEIVED, GT_TCP_ESTABLISHED), 20 * MS);
	assert_int_equal(state_time(&r, SERVER, GT_TCP_SYN_RECEIVED, GT_TCP_ESTABLISHED), 20 * MS);
	rec_free(&r);
}

/* The server sends after the client's FIN; the client reads in FIN_WAIT_2. */
static void test_half_close(void **state)
{
	rec r;
	gt_scenario_result res;
	run_expect(&r, &res, "half-close", CLIENT_ACTIVE_CLOSE, SERVER_PASSIVE_CLOSE,
	           HANDSHAKE /* 0 .. 20 ms */
	           "20 client PA 1 1 100\n"
	           "20 client FA 101 1 0\n"
	           "30 server PA 1 102 1000\n"
	           "80 client A 102 1001 0\n"
	           "130 server PA 1001 102 1000\n"
	           /* the delayed ACK: reading 1000 bytes of a 64 KiB window
	            * is no reason for a window update of its own */
	           "180 client A 102 2001 0\n"
	           "230 server PA 2001 102 1000\n"
	           "230 server FA 3001 102 0\n"
	           "240 client A 102 3002 0\n");
	assert_int_equal(res.bytes_to_server, 100);
	assert_int_equal(res.bytes_to_client, 3000);
	assert_int_equal(res.bytes_expected, 3100);
	assert_int_equal(res.bytes_verified, 3100);
	expect_time_wait_2msl(&r, CLIENT);
	rec_free(&r);
}

/* ABORT (RFC 9293 §3.10.5): one RST at SND.NXT; the peer's recv() fails. */
static void test_abort(void **state)
{
	rec r;
	gt_scenario_result res;
	run_expect(&r, &res, "abort", "CLOSED>SYN_SENT SYN_SENT>ESTABLISHED ESTABLISHED>CLOSED",
	           "CLOSED>LISTEN LISTEN>SYN_RECEIVED SYN_RECEIVED>ESTABLISHED "
	           "ESTABLISHED>CLOSED",
	           HANDSHAKE /* 0 .. 20 ms */
	           "30 server PA 1 1 5\n"
	           "40 client R 1 - 0\n");
	assert_int_equal(res.client_error, 0);
	assert_int_equal(res.server_error, -ECONNRESET);
	assert_int_equal(res.bytes_to_client, 5);
	rec_free(&r);
}

/* RFC 9293 §3.10.7.1: a SYN to a closed port draws <SEQ=0><ACK=SEG.SEQ+1><RST,ACK>. */
static void test_refused(void **state)
{
	rec r;
	gt_scenario_result res;
	run_expect(&r, &res, "refused", "CLOSED>SYN_SENT SYN_SENT>CLOSED", "",
	           "0 client S 0 - 0\n"
	           "10 server RA 0 1 0\n");
	assert_int_equal(res.client_error, -ECONNREFUSED);
	assert_int_equal(res.server_error, 0);
	assert_int_equal(res.end_us, 20 * MS);
	rec_free(&r);
}

/* RFC 6298 §2.1: the SYN goes again after the initial RTO, 1 s. */
static void test_syn_lost(void **state)
{
	rec r;
	gt_scenario_result res;
	run_expect(&r, &res, "syn-lost", CLIENT_ACTIVE_CLOSE, SERVER_PASSIVE_CLOSE,
	           "0 client S 0 - 0 lost\n"
	           "1000 client S 0 - 0 rexmit\n"
	           "1010 server SA 0 1 0\n"
	           "1020 client A 1 1 0\n"
	           "1020 client FA 1 1 0\n"
	           "1030 server FA 1 2 0\n"
	           "1040 client A 2 2 0\n");
	gt_stack_config cfg;
	gt_stack_config_default(&cfg);
	assert_int_equal(r.segs[1].t, cfg.rto_initial_us);
	assert_int_equal(r.segs[1].t, 1 * S);
	assert_true(r.segs[1].seg.rexmit);
	assert_int_equal(r.segs[1].seg.seq, r.segs[0].seg.seq); /* the same ISN */
	assert_int_equal(res.lost, 1);
	assert_int_equal(res.rexmits, 1);
	expect_time_wait_2msl(&r, CLIENT);
	rec_free(&r);
}

/* The FIN is retransmitted when the RTO expires: 200 ms (RFC 6298 §2.4 with
 * the stack's 200 ms minimum) after it was sent, since the handshake's RTT
 * sample of 20 ms gives an RTO below the minimum. */
static void test_lost_fin(void **state)
{
	rec r;
	gt_scenario_result res;
	run_expect(&r, &res, "lost-fin", CLIENT_ACTIVE_CLOSE, SERVER_PASSIVE_CLOSE,
	           HANDSHAKE /* 0 .. 20 ms */
	           "20 client FA 1 1 0 lost\n"
	           "220 client FA 1 1 0 rexmit\n"
	           "230 server FA 1 2 0\n"
	           "240 client A 2 2 0\n");
	gt_stack_config cfg;
	gt_stack_config_default(&cfg);
	assert_int_equal(r.segs[4].t - r.segs[3].t, cfg.rto_min_us);
	/* the server saw nothing of the lost FIN: CLOSE_WAIT only at 230 ms */
	assert_int_equal(state_time(&r, SERVER, GT_TCP_ESTABLISHED, GT_TCP_CLOSE_WAIT), 230 * MS);
	expect_time_wait_2msl(&r, CLIENT);
	rec_free(&r);
}

/* Why TIME_WAIT exists: the client's last ACK is lost, the server sends its
 * FIN again, and only a client still in TIME_WAIT can answer it with an ACK
 * (a closed port would answer RST and the server would see an error). The
 * answer restarts the 2*MSL timer (RFC 9293 §3.10.7.4, eighth step). */
static void test_lost_last_ack(void **state)
{
	rec r;
	gt_scenario_result res;
	run_expect(&r, &res, "lost-last-ack", CLIENT_ACTIVE_CLOSE, SERVER_PASSIVE_CLOSE,
	           HANDSHAKE /* 0 .. 20 ms */
	           "20 client FA 1 1 0\n"
	           "70 server A 1 2 0\n"
	           "130 server FA 1 2 0\n"
	           "140 client A 2 2 0 lost\n"
	           "330 server FA 1 2 0 rexmit\n"
	           "340 client A 2 2 0\n");
	gt_time_us tw_in = state_time(&r, CLIENT, GT_TCP_STATE_COUNT, GT_TCP_TIME_WAIT);
	gt_time_us tw_out = state_time(&r, CLIENT, GT_TCP_TIME_WAIT, GT_TCP_CLOSED);
	gt_time_us last_ack = r.segs[r.nsegs - 1].t;
	assert_int_equal(tw_in, 140 * MS);
	assert_int_equal(last_ack, 340 * MS);
	/* TIME_WAIT ends 2*MSL after the LAST ACK sent, not after it began */
	assert_int_equal(tw_out, last_ack + two_msl());
	assert_true(tw_out - tw_in > two_msl());
	/* the server's FIN went twice and the server closed cleanly */
	assert_int_equal(state_time(&r, SERVER, GT_TCP_LAST_ACK, GT_TCP_CLOSED), 350 * MS);
	assert_int_equal(res.server_error, 0);
	assert_int_equal(res.lost, 1);
	rec_free(&r);
}

/* ---- transfer ---- */

static void run_transfer(uint64_t seed, double loss, char **jsonl, size_t *jsonl_len)
{
	rec r = {0};
	r.arrived_len = GT_SCENARIO_TRANSFER_BYTES;
	r.arrived = calloc(1, r.arrived_len);
	assert_non_null(r.arrived);
	r.jsonl = open_memstream(&r.jsonl_buf, &r.jsonl_len);
	assert_non_null(r.jsonl);
	gt_scenario_opts o;
	gt_scenario_opts_default(&o);
	o.seed = seed;
	o.loss = loss;
	gt_scenario_result res;
	run_ok("transfer", &o, &r, &res);

	/* integrity: the server application read every byte once, in order */
	assert_int_equal(res.bytes_expected, GT_SCENARIO_TRANSFER_BYTES);
	assert_int_equal(res.bytes_to_server, GT_SCENARIO_TRANSFER_BYTES);
	assert_int_equal(res.bytes_verified, GT_SCENARIO_TRANSFER_BYTES);
	assert_int_equal(res.bytes_to_client, 0);
	/* every byte reached the server's stack */
	size_t missing = 0;
	for (size_t i = 0; i < r.arrived_len; i++)
		missing += !r.arrived[i];
	assert_int_equal(missing, 0);
	/* final states: a clean close, TIME_WAIT on the client */
	char *cs = states_str(&r, CLIENT), *ss = states_str(&r, SERVER);
	const char *c_tail = "FIN_WAIT_2>TIME_WAIT TIME_WAIT>CLOSED";
	const char *s_tail = "CLOSE_WAIT>LAST_ACK LAST_ACK>CLOSED";
	assert_true(strlen(cs) > strlen(c_tail));
	assert_string_equal(cs + strlen(cs) - strlen(c_tail), c_tail);
	assert_true(strlen(ss) > strlen(s_tail));
	assert_string_equal(ss + strlen(ss) - strlen(s_tail), s_tail);
	free(cs);
	free(ss);
	expect_time_wait_2msl(&r, CLIENT);
	if (loss > 0) {
		assert_true(res.lost > 0);
		assert_true(res.rexmits > 0);
	} else {
		assert_int_equal(res.lost, 0);
		assert_int_equal(res.rexmits, 0);
		/* without loss: the exact state sequences */
		expect_states(&r, CLIENT, CLIENT_ACTIVE_CLOSE);
		expect_states(&r, SERVER, SERVER_PASSIVE_CLOSE);
	}
	fclose(r.jsonl);
	r.jsonl = NULL;
	*jsonl = r.jsonl_buf;
	*jsonl_len = r.jsonl_len;
	r.jsonl_buf = NULL;
	rec_free(&r);
}

static void test_transfer(void **state)
{
	char *j;
	size_t n;
	run_transfer(1, 0, &j, &n);
	free(j);
}

/* With 5% loss both ways, for two seeds; each run twice gives the same trace. */
static void test_transfer_loss_deterministic(void **state)
{
	uint64_t seeds[2] = {gt_test_seed(11), gt_test_seed(11) + 1};
	char *first[2];
	size_t first_len[2];
	for (int i = 0; i < 2; i++) {
		run_transfer(seeds[i], 0.05, &first[i], &first_len[i]);
		char *again;
		size_t again_len;
		run_transfer(seeds[i], 0.05, &again, &again_len);
		assert_int_equal(again_len, first_len[i]);
		assert_memory_equal(again, first[i], first_len[i]);
		free(again);
	}
	/* and different seeds give different runs */
	assert_true(first_len[0] != first_len[1] || memcmp(first[0], first[1], first_len[0]) != 0);
	free(first[0]);
	free(first[1]);
}

/* ---- across scenarios ---- */

static char *jsonl_of(const gt_scenario *sc, uint64_t seed, double loss, size_t *len)
{
	rec r = {0};
	r.jsonl = open_memstream(&r.jsonl_buf, &r.jsonl_len);
	assert_non_null(r.jsonl);
	gt_scenario_opts o;
	gt_scenario_opts_default(&o);
	o.seed = seed;
	o.loss = loss;
	gt_scenario_result res;
	int rc = gt_scenario_run(sc, &o, on_event, &r, &res);
	assert_true(rc == 0 || rc == 1);
	fclose(r.jsonl);
	r.jsonl = NULL;
	char *out = r.jsonl_buf;
	*len = r.jsonl_len;
	r.jsonl_buf = NULL;
	rec_free(&r);
	return out;
}

/* Same seed, same options: byte-identical JSON Lines, for every scenario. */
static void test_determinism(void **state)
{
	for (size_t i = 0; i < gt_scenario_count; i++) {
		const gt_scenario *sc = &gt_scenarios[i];
		if (strcmp(sc->name, "transfer") == 0)
			continue; /* test_transfer_loss_deterministic */
		for (int k = 0; k < 2; k++) {
			double loss = k ? 0.1 : 0;
			size_t a_len, b_len;
			char *a = jsonl_of(sc, 7, loss, &a_len);
			char *b = jsonl_of(sc, 7, loss, &b_len);
			if (a_len != b_len || memcmp(a, b, a_len) != 0)
				fail_msg("%s (loss %g): two runs with seed 7 differ", sc->name,
				         loss);
			assert_true(a_len > 0);
			free(a);
			free(b);
		}
	}
	/* the seed matters: other ISNs */
	size_t a_len, b_len;
	char *a = jsonl_of(gt_scenario_find("close"), 1, 0, &a_len);
	char *b = jsonl_of(gt_scenario_find("close"), 2, 0, &b_len);
	assert_true(a_len != b_len || memcmp(a, b, a_len) != 0);
	free(a);
	free(b);
}

/* Every scenario passes its own checks with the defaults, and with moderate
 * loss for a few seeds. */
static void test_all_pass(void **state)
{
	for (size_t i = 0; i < gt_scenario_count; i++) {
		const gt_scenario *sc = &gt_scenarios[i];
		assert_non_null(sc->name);
		assert_non_null(sc->summary);
		assert_true(strlen(sc->summary) > 10);
		assert_ptr_equal(gt_scenario_find(sc->name), sc);
		for (uint64_t seed = 1; seed <= 4; seed++) {
			gt_scenario_opts o;
			gt_scenario_opts_default(&o);
			o.seed = seed;
			o.loss = seed == 1 ? 0 : 0.1;
			gt_scenario_result res;
			int rc = gt_scenario_run(sc, &o, NULL, NULL, &res);
			if (rc != 0)
				fail_msg("%s seed %" PRIu64 " loss %g: %s", sc->name, seed, o.loss,
				         res.failure);
		}
	}
}

/* What syn-flood shows of the client's connection, from its events. */
typedef struct flood_rec {
	char client_states[256];
	bool cookie_synack; /* the server's SYN-ACK to the client carried a cookie */
	bool cookie_child;  /* LISTEN -> SYN_RECEIVED "ACK with a valid SYN cookie" */
	unsigned client_syns;
	unsigned client_syns_dropped; /* syn_queue_full */
	unsigned attacker_syns;
} flood_rec;

static void flood_event(void *user, const gt_event *ev)
{
	flood_rec *f = user;
	bool client_conn = ev->has_conn && (ev->conn.remote_addr == GT_SCENARIO_CLIENT_ADDR ||
	                                    ev->conn.local_addr == GT_SCENARIO_CLIENT_ADDR);
	if (!strcmp(ev->host, "attacker")) {
		f->attacker_syns += ev->kind == GT_EV_TX;
		assert_true((ev->conn.local_addr & GT_SCENARIO_FLOOD_MASK) ==
		            GT_SCENARIO_FLOOD_NET);
		return;
	}
	if (!client_conn)
		return;
	bool client = !strcmp(ev->host, "client");
	if (client && ev->kind == GT_EV_STATE) {
		size_t n = strlen(f->client_states);
		snprintf(f->client_states + n, sizeof f->client_states - n, "%s%s>%s", n ? " " : "",
		         gt_tcp_state_name(ev->from), gt_tcp_state_name(ev->to));
	}
	if (client && ev->kind == GT_EV_TX && ev->seg.flags == GT_TCP_SYN)
		f->client_syns++;
	if (!client && ev->kind == GT_EV_TX && ev->seg.syncookie &&
	    ev->seg.flags == (GT_TCP_SYN | GT_TCP_ACK))
		f->cookie_synack = true;
	if (!client && ev->kind == GT_EV_STATE && ev->from == GT_TCP_LISTEN &&
	    !strcmp(ev->cause, "ACK with a valid SYN cookie"))
		f->cookie_child = true;
	if (!client && ev->kind == GT_EV_DROP && ev->reason == GT_DROP_SYN_QUEUE_FULL)
		f->client_syns_dropped++;
}

/* syn-flood: with cookies the client gets through at once, one SYN, a SYN-ACK
 * with a cookie; without them each of its SYNs is dropped and connect()
 * times out after the last retransmission (1 + 2 + ... + 32 s, then 60 s). */
static void test_syn_flood_scenario(void **state)
{
	const gt_scenario *sc = gt_scenario_find("syn-flood");
	assert_non_null(sc);
	assert_true(gt_scenario_is_flood(sc));
	assert_false(gt_scenario_is_flood(gt_scenario_find("close")));
	gt_scenario_opts o;
	gt_scenario_result res;
	flood_rec f = {0};
	gt_scenario_opts_default(&o);
	assert_int_equal(gt_scenario_run(sc, &o, flood_event, &f, &res), 0);
	assert_string_equal(f.client_states, "CLOSED>SYN_SENT SYN_SENT>ESTABLISHED "
	                                     "ESTABLISHED>FIN_WAIT_1 FIN_WAIT_1>FIN_WAIT_2 "
	                                     "FIN_WAIT_2>TIME_WAIT TIME_WAIT>CLOSED");
	assert_true(f.cookie_synack);
	assert_true(f.cookie_child);
	assert_int_equal(f.client_syns, 1);
	assert_int_equal(f.attacker_syns, GT_SCENARIO_FLOOD_SYNS);
	assert_int_equal(res.flood_syns, GT_SCENARIO_FLOOD_SYNS);
	assert_int_equal(res.client_established_us, GT_SCENARIO_FLOOD_CLIENT_US + 20 * MS);
	assert_int_equal(res.server_counters.syncookies_ok, 1);
	assert_int_equal(res.server_counters.syncookies_sent,
	                 GT_SCENARIO_FLOOD_SYNS - GT_SCENARIO_FLOOD_BACKLOG + 1);
	assert_int_equal(res.server_conns_max, 1 + GT_SCENARIO_FLOOD_BACKLOG + 1);
	assert_int_equal(res.bytes_verified, 600);
	assert_int_equal(res.rexmits, 6 * GT_SCENARIO_FLOOD_BACKLOG); /* the half-open SYN-ACKs */

	f = (flood_rec){0};
	o.syncookies = GT_SYNCOOKIES_OFF;
	assert_int_equal(gt_scenario_run(sc, &o, flood_event, &f, &res), 0);
	assert_string_equal(f.client_states, "CLOSED>SYN_SENT SYN_SENT>CLOSED");
	assert_int_equal(res.client_error, -ETIMEDOUT);
	assert_int_equal(f.client_syns, 7); /* the SYN and max_syn_retries (6) */
	assert_int_equal(f.client_syns_dropped, 7);
	assert_false(f.cookie_synack);
	assert_int_equal(res.server_counters.syncookies_sent, 0);
	assert_int_equal(res.client_established_us, GT_TIME_NEVER);
	assert_int_equal(res.end_us, GT_SCENARIO_FLOOD_CLIENT_US + 123 * S);

	f = (flood_rec){0};
	o.syncookies = GT_SYNCOOKIES_ALWAYS;
	assert_int_equal(gt_scenario_run(sc, &o, flood_event, &f, &res), 0);
	assert_true(f.cookie_synack && f.cookie_child);
	assert_int_equal(res.server_counters.syncookies_sent, GT_SCENARIO_FLOOD_SYNS + 1);
	assert_int_equal(res.server_conns_max, 2);

	o.syncookies = (gt_syncookies_mode)7;
	assert_int_equal(gt_scenario_run(sc, &o, NULL, NULL, &res), -EINVAL);
}

static void test_bad_options(void **state)
{
	const gt_scenario *sc = gt_scenario_find("close");
	assert_non_null(sc);
	assert_null(gt_scenario_find("nope"));
	assert_null(gt_scenario_find(NULL));
	gt_scenario_opts o;
	gt_scenario_result res;
	const double bad_loss[] = {-0.1, 1.0, 2.0, NAN};
	for (size_t i = 0; i < sizeof bad_loss / sizeof bad_loss[0]; i++) {
		gt_scenario_opts_default(&o);
		o.loss = bad_loss[i];
		assert_int_equal(gt_scenario_run(sc, &o, NULL, NULL, &res), -EINVAL);
		assert_false(res.passed);
	}
	gt_scenario_opts_default(&o);
	o.delay_ms = 10001;
	assert_int_equal(gt_scenario_run(sc, &o, NULL, NULL, &res), -EINVAL);
	/* the virtual-time bound is honoured: close cannot end within 1 s */
	gt_scenario_opts_default(&o);
	o.max_time_us = 1 * S;
	assert_int_equal(gt_scenario_run(sc, &o, NULL, NULL, &res), 1);
	assert_false(res.passed);
	assert_non_null(strstr(res.failure, "bound"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_handshake),
	    cmocka_unit_test(test_close),
	    cmocka_unit_test(test_close_table),
	    cmocka_unit_test(test_close_server),
	    cmocka_unit_test(test_close_3way),
	    cmocka_unit_test(test_simultaneous_close),
	    cmocka_unit_test(test_simultaneous_open),
	    cmocka_unit_test(test_half_close),
	    cmocka_unit_test(test_abort),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_syn_lost),
	    cmocka_unit_test(test_lost_fin),
	    cmocka_unit_test(test_lost_last_ack),
	    cmocka_unit_test(test_transfer),
	    cmocka_unit_test(test_transfer_loss_deterministic),
	    cmocka_unit_test(test_determinism),
	    cmocka_unit_test(test_all_pass),
	    cmocka_unit_test(test_syn_flood_scenario),
	    cmocka_unit_test(test_bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
