/* The simulated network: clock, routing, impairments, scripted faults and
 * reproducibility, driven through the public API with real stacks. */
#include "support.h"
#include "trace/table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLIENT_ADDR GT_TEST_ADDR(1)
#define SERVER_ADDR GT_TEST_ADDR(2)
#define PORT        80
#define DELAY       10000u /* the default one-way delay */

typedef struct net {
	gt_sim *sim;
	int client, server;
	gt_stack *cst, *sst;
	int listener;
	int csock;
	gt_trace_log *log;
} net;

/* Two hosts (base config cfg, NULL for defaults), a listener on the server,
 * every event recorded. */
static void net_setup_cfg(net *n, uint64_t seed, const gt_stack_config *cfg)
{
	memset(n, 0, sizeof *n);
	n->sim = gt_sim_new(seed);
	assert_non_null(n->sim);
	n->log = gt_trace_log_new();
	assert_non_null(n->log);
	gt_sim_set_event_fn(n->sim, gt_trace_log_record, n->log);
	n->client = gt_sim_add_host(n->sim, "client", CLIENT_ADDR, cfg);
	n->server = gt_sim_add_host(n->sim, "server", SERVER_ADDR, cfg);
	assert_int_equal(n->client, 0);
	assert_int_equal(n->server, 1);
	n->cst = gt_sim_stack(n->sim, n->client);
	n->sst = gt_sim_stack(n->sim, n->server);
	assert_non_null(n->cst);
	assert_non_null(n->sst);

	n->listener = gt_socket(n->sst);
	assert_true(n->listener >= 0);
	assert_int_equal(gt_bind(n->sst, n->listener, 0, PORT), 0);
	assert_int_equal(gt_listen(n->sst, n->listener, 0, 0), 0);
	n->csock = gt_socket(n->cst);
	assert_true(n->csock >= 0);
}

static void net_setup(net *n, uint64_t seed)
{
	net_setup_cfg(n, seed, NULL);
}

static void net_teardown(net *n)
{
	gt_sim_free(n->sim);
	gt_trace_log_free(n->log);
}

static void net_connect(net *n)
{
	assert_int_equal(gt_connect(n->cst, n->csock, SERVER_ADDR, PORT, gt_sim_now(n->sim)),
	                 -EINPROGRESS);
}

/* The link impairments of net_connect_impaired: probabilities, 0 by default. */
typedef struct impairment {
	double loss, dup, reorder, corrupt;
	bool both_ways; /* every link, else only client -> server */
} impairment;

/* net_setup with the default link delay and the impairments im, then the
 * client's connect(). */
static void net_connect_impaired(net *n, uint64_t seed, impairment im)
{
	net_setup(n, seed);
	gt_link_params lp;
	gt_sim_link_default(&lp);
	lp.loss = im.loss;
	lp.dup = im.dup;
	lp.reorder = im.reorder;
	lp.corrupt = im.corrupt;
	if (im.both_ways)
		gt_sim_set_link(n->sim, -1, -1, &lp);
	else
		gt_sim_set_link(n->sim, n->client, n->server, &lp);
	net_connect(n);
}

/* Steps until the client is established (or gives up after max_us). */
static bool step_until_established(net *n, gt_time_us max_us)
{
	while (gt_sock_state(n->cst, n->csock) != GT_TCP_ESTABLISHED) {
		if (gt_sim_next_time(n->sim) > max_us || !gt_sim_step(n->sim))
			return false;
	}
	return true;
}

/* Counts logged events of a kind from a host with all of `flags` set. */
static size_t count_events(const gt_trace_log *log, gt_event_kind kind, const char *host,
                           uint8_t flags, gt_drop_reason reason)
{
	size_t c = 0;
	for (size_t i = 0; i < gt_trace_log_count(log); i++) {
		const gt_event *ev = gt_trace_log_get(log, i);
		if (ev->kind != kind || strcmp(ev->host, host) != 0 || !ev->has_seg ||
		    (ev->seg.flags & flags) != flags)
			continue;
		if (kind == GT_EV_DROP && ev->reason != reason)
			continue;
		c++;
	}
	return c;
}

/* ---- the PRNG ---- */

static void test_rand_reproducible(void **state)
{
	gt_sim *a = gt_sim_new(42), *b = gt_sim_new(42), *c = gt_sim_new(43);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	bool differs = false;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = gt_sim_rand(a);
		assert_int_equal(x, gt_sim_rand(b));
		differs |= x != gt_sim_rand(c);
	}
	assert_true(differs);
	/* Seed 0 must not be a degenerate all-zero state. */
	gt_sim *z = gt_sim_new(0);
	assert_true(gt_sim_rand(z) != 0 || gt_sim_rand(z) != 0);
	gt_sim_free(a);
	gt_sim_free(b);
	gt_sim_free(c);
	gt_sim_free(z);
}

/* ---- clock ---- */

static void test_clock_idle(void **state)
{
	gt_sim *sim = gt_sim_new(1);
	assert_non_null(sim);
	assert_int_equal(gt_sim_now(sim), 0);
	assert_int_equal(gt_sim_next_time(sim), GT_TIME_NEVER);
	assert_false(gt_sim_step(sim));
	gt_sim_run_until(sim, 5000);
	assert_int_equal(gt_sim_now(sim), 5000);
	gt_sim_run_until(sim, 1000); /* never backwards */
	assert_int_equal(gt_sim_now(sim), 5000);
	gt_sim_free(sim);
}

static void test_host_limit(void **state)
{
	gt_sim *sim = gt_sim_new(1);
	assert_non_null(sim);
	char name[16];
	for (int i = 0; i < 16; i++) {
		snprintf(name, sizeof name, "h%d", i);
		assert_int_equal(gt_sim_add_host(sim, name, GT_TEST_ADDR(10 + i), NULL), i);
	}
	assert_int_equal(gt_sim_add_host(sim, "one-too-many", GT_TEST_ADDR(99), NULL), -ENOSPC);
	assert_int_equal(gt_sim_host_count(sim), 16);
	assert_string_equal(gt_sim_host_name(sim, 3), "h3");
	assert_string_equal(gt_stack_name(gt_sim_stack(sim, 3)), "h3");
	assert_int_equal(gt_stack_addr(gt_sim_stack(sim, 3)), GT_TEST_ADDR(13));
	assert_null(gt_sim_stack(sim, 16));
	assert_null(gt_sim_host_name(sim, -1));
	gt_sim_free(sim);
}

/* ---- the handshake over the simulated link ---- */

static void test_handshake_takes_one_rtt(void **state)
{
	net n;
	net_setup(&n, gt_test_seed(1));
	net_connect(&n);
	assert_true(step_until_established(&n, 10 * 1000000u));
	/* SYN out at 0, SYN-ACK back at 2 * delay: the client is established
	 * exactly one RTT after connect(). */
	assert_int_equal(gt_sim_now(n.sim), 2 * DELAY);

	gt_sim_run_until(n.sim, 3 * DELAY);
	assert_int_equal(gt_sim_now(n.sim), 3 * DELAY);
	uint32_t peer = 0;
	uint16_t port = 0;
	int s = gt_accept(n.sst, n.listener, &peer, &port);
	assert_true(s >= 0);
	assert_int_equal(peer, CLIENT_ADDR);
	assert_int_equal(gt_sock_state(n.sst, s), GT_TCP_ESTABLISHED);

	const gt_sim_stats *st = gt_sim_get_stats(n.sim);
	assert_int_equal(st->packets_sent, 3);
	assert_int_equal(st->packets_delivered, 3);
	assert_int_equal(st->lost + st->faulted + st->unroutable, 0);
	net_teardown(&n);
}

/* The whole life of a connection, with the seed's table built from what the
 * engine logged: the table code and the engine agree on the event order. */
static void test_table_from_real_run(void **state)
{
	/* Immediate ACKs, as in the seed's picture: with a delayed ACK the
	 * server's ACK of the FIN would ride with its own FIN. */
	gt_stack_config cfg;
	gt_stack_config_default(&cfg);
	cfg.delack_us = 0;
	net n;
	net_setup_cfg(&n, gt_test_seed(7), &cfg);
	net_connect(&n);
	assert_true(step_until_established(&n, 10 * 1000000u));
	gt_sim_run_until(n.sim, 50000);
	int s = gt_accept(n.sst, n.listener, NULL, NULL);
	assert_true(s >= 0);

	assert_int_equal(gt_close(n.cst, n.csock, gt_sim_now(n.sim)), 0);
	gt_sim_run_until(n.sim, 100000);
	assert_int_equal(gt_close(n.sst, s, gt_sim_now(n.sim)), 0);
	while (gt_sim_step(n.sim))
		;
	assert_int_equal(gt_stack_conn_count(n.cst), 0);

	gt_table_opts opts = {.left_host = "client", .right_host = "server"};
	gt_table t;
	assert_int_equal(gt_trace_table_build(n.log, &opts, &t), 0);
	if (t.nrows != 8) {
		gt_trace_table_print(stderr, n.log, &opts);
		fail_msg("expected 8 rows, got %zu", t.nrows);
	}
	const char *want[8][3] = {
	    {"CLOSED -> SYN_SENT", "S seq=0", "LISTEN"},
	    {"SYN_SENT", "SA seq=0 ack=1", "LISTEN -> SYN_RECEIVED"},
	    {"SYN_SENT -> ESTABLISHED", "A seq=1 ack=1", "SYN_RECEIVED -> ESTABLISHED"},
	    {"ESTABLISHED -> FIN_WAIT_1", "FA seq=1 ack=1", "ESTABLISHED"},
	    {"FIN_WAIT_1 -> FIN_WAIT_2", "A seq=1 ack=2", "ESTABLISHED -> CLOSE_WAIT"},
	    {"FIN_WAIT_2", "FA seq=1 ack=2", "CLOSE_WAIT -> LAST_ACK"},
	    {"FIN_WAIT_2 -> TIME_WAIT", "A seq=2 ack=2", "LAST_ACK -> CLOSED"},
	    {"TIME_WAIT -> CLOSED", "", ""},
	};
	for (size_t i = 0; i < 8; i++) {
		assert_string_equal(t.rows[i].left, want[i][0]);
		assert_true(strncmp(t.rows[i].seg, want[i][1], strlen(want[i][1])) == 0);
		assert_string_equal(t.rows[i].right, want[i][2]);
		assert_false(t.rows[i].lost);
	}
	assert_int_equal(t.rows[0].t_us, 0);
	assert_int_equal(t.rows[2].t_us, 2 * DELAY);
	gt_trace_table_free(&t);
	net_teardown(&n);
}

/* ---- reproducibility ---- */

static void jsonl_sink(void *user, const gt_event *ev)
{
	assert_int_equal(gt_trace_jsonl_write(user, ev), 0);
}

/* Connects, sends `bytes` client -> server, closes both ends, runs to the
 * end; returns the JSON Lines trace (caller frees). */
static char *run_transfer(uint64_t seed, double loss, size_t bytes)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);

	gt_sim *sim = gt_sim_new(seed);
	assert_non_null(sim);
	gt_sim_set_event_fn(sim, jsonl_sink, f);
	int c = gt_sim_add_host(sim, "client", CLIENT_ADDR, NULL);
	int sv = gt_sim_add_host(sim, "server", SERVER_ADDR, NULL);
	gt_link_params lp;
	gt_sim_link_default(&lp);
	lp.loss = loss;
	gt_sim_set_link(sim, -1, -1, &lp);
	gt_stack *cst = gt_sim_stack(sim, c), *sst = gt_sim_stack(sim, sv);

	int ls = gt_socket(sst);
	assert_int_equal(gt_bind(sst, ls, 0, PORT), 0);
	assert_int_equal(gt_listen(sst, ls, 0, 0), 0);
	int cs = gt_socket(cst);
	assert_int_equal(gt_connect(cst, cs, SERVER_ADDR, PORT, 0), -EINPROGRESS);

	uint8_t chunk[1000];
	memset(chunk, 'x', sizeof chunk);
	size_t sent = 0;
	int ss = -1;
	bool cclosed = false, sclosed = false;
	while (gt_sim_now(sim) < 300 * 1000000u && gt_sim_step(sim)) {
		gt_time_us now = gt_sim_now(sim);
		if (ss < 0)
			ss = gt_accept(sst, ls, NULL, NULL);
		if (!cclosed && gt_sock_state(cst, cs) == GT_TCP_ESTABLISHED) {
			while (sent < bytes) {
				size_t want =
				    bytes - sent < sizeof chunk ? bytes - sent : sizeof chunk;
				ssize_t r = gt_send(cst, cs, chunk, want, now);
				if (r <= 0)
					break;
				sent += (size_t)r;
			}
			if (sent == bytes) {
				assert_int_equal(gt_close(cst, cs, now), 0);
				cclosed = true;
			}
		}
		if (ss >= 0 && !sclosed) {
			uint8_t in[4096];
			ssize_t r;
			while ((r = gt_recv(sst, ss, in, sizeof in, now)) > 0)
				;
			if (r == 0 || (r < 0 && r != -EAGAIN)) {
				gt_close(sst, ss, now);
				sclosed = true;
			}
		}
	}
	gt_sim_free(sim);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_same_seed_same_trace(void **state)
{
	uint64_t seed = gt_test_seed(1234);
	char *a = run_transfer(seed, 0.1, 20000);
	char *b = run_transfer(seed, 0.1, 20000);
	assert_true(strlen(a) > 1000);
	assert_string_equal(a, b);
	char *c = run_transfer(seed + 1, 0.1, 20000);
	assert_true(strcmp(a, c) != 0);
	free(a);
	free(b);
	free(c);
}

/* ---- impairments and faults ---- */

static void test_total_loss_retransmits_syn(void **state)
{
	net n;
	net_connect_impaired(&n, gt_test_seed(5), (impairment){.loss = 1.0});
	/* Initial RTO 1 s, doubling (RFC 6298 §2.1, §5.5): SYNs at 0, 1 s, 3 s. */
	gt_sim_run_until(n.sim, 3500000);

	size_t syns = count_events(n.log, GT_EV_TX, "client", GT_TCP_SYN, 0);
	assert_true(syns >= 2);
	assert_int_equal(count_events(n.log, GT_EV_DROP, "server", GT_TCP_SYN, GT_DROP_SIM_LOSS),
	                 syns);
	const gt_sim_stats *st = gt_sim_get_stats(n.sim);
	assert_int_equal(st->lost, syns);
	assert_int_equal(st->packets_delivered, 0);
	assert_int_equal(gt_stack_get_counters(n.sst)->rx_packets, 0);

	/* The drop events speak for the receiver: its address and port first. */
	for (size_t i = 0; i < gt_trace_log_count(n.log); i++) {
		const gt_event *ev = gt_trace_log_get(n.log, i);
		if (ev->kind != GT_EV_DROP)
			continue;
		assert_true(ev->has_conn);
		assert_int_equal(ev->conn.local_addr, SERVER_ADDR);
		assert_int_equal(ev->conn.local_port, PORT);
		assert_int_equal(ev->conn.remote_addr, CLIENT_ADDR);
		assert_int_equal(ev->t_us % 1000000u, 0); /* at the send instant */
	}

	/* In the table, every SYN is drawn lost. */
	gt_table_opts opts = {.left_host = "client", .right_host = "server"};
	gt_table t;
	assert_int_equal(gt_trace_table_build(n.log, &opts, &t), 0);
	size_t lost = 0;
	for (size_t i = 0; i < t.nrows; i++)
		lost += t.rows[i].lost;
	assert_int_equal(lost, syns);
	gt_trace_table_free(&t);
	net_teardown(&n);
}

static void test_fault_drops_first_syn(void **state)
{
	net n;
	net_setup(&n, gt_test_seed(6));
	gt_sim_fault f = {
	    .from_host = n.client, .flags_all = GT_TCP_SYN, .flags_exact = true, .count = 1};
	assert_int_equal(gt_sim_add_fault(n.sim, &f), 0);
	net_connect(&n);
	assert_true(step_until_established(&n, 10 * 1000000u));

	assert_int_equal(count_events(n.log, GT_EV_TX, "client", GT_TCP_SYN, 0), 2);
	assert_int_equal(count_events(n.log, GT_EV_DROP, "server", GT_TCP_SYN, GT_DROP_SIM_FAULT),
	                 1);
	size_t rexmits = 0;
	for (size_t i = 0; i < gt_trace_log_count(n.log); i++) {
		const gt_event *ev = gt_trace_log_get(n.log, i);
		if (ev->kind == GT_EV_TX && ev->seg.rexmit)
			rexmits++;
	}
	assert_int_equal(rexmits, 1);
	assert_int_equal(gt_sim_get_stats(n.sim)->faulted, 1);
	/* The retransmission after the initial RTO (1 s), then one RTT. */
	assert_int_equal(gt_sim_now(n.sim), 1000000 + 2 * DELAY);
	net_teardown(&n);
}

static bool drop_synack(void *user, const gt_sim_packet *p)
{
	unsigned *seen = user;
	if (p->has_seg && p->seg.flags == (GT_TCP_SYN | GT_TCP_ACK)) {
		(*seen)++;
		return *seen == 1;
	}
	return false;
}

static void test_fault_callback(void **state)
{
	net n;
	net_setup(&n, gt_test_seed(8));
	unsigned seen = 0;
	gt_sim_set_fault_fn(n.sim, drop_synack, &seen);
	net_connect(&n);
	assert_true(step_until_established(&n, 10 * 1000000u));
	/* The first SYN-ACK, then at least the server's retransmission (the
	 * client's retransmitted SYN may draw one more). */
	assert_true(seen >= 2);
	assert_int_equal(gt_sim_get_stats(n.sim)->faulted, 1);
	assert_int_equal(
	    count_events(n.log, GT_EV_DROP, "client", GT_TCP_SYN | GT_TCP_ACK, GT_DROP_SIM_FAULT),
	    1);
	net_teardown(&n);
}

static void test_unroutable(void **state)
{
	net n;
	net_setup(&n, gt_test_seed(9));
	assert_int_equal(gt_connect(n.cst, n.csock, GT_TEST_ADDR(99), PORT, 0), -EINPROGRESS);
	gt_sim_run_until(n.sim, 1500000);
	const gt_sim_stats *st = gt_sim_get_stats(n.sim);
	assert_true(st->unroutable >= 2); /* the SYN and its retransmission */
	assert_int_equal(st->unroutable, st->packets_sent);
	assert_int_equal(st->packets_delivered, 0);
	net_teardown(&n);
}

static void test_duplication(void **state)
{
	net n;
	net_connect_impaired(&n, gt_test_seed(10), (impairment){.dup = 1.0, .both_ways = true});
	assert_true(step_until_established(&n, 10 * 1000000u));
	assert_int_equal(gt_sim_now(n.sim), 2 * DELAY);
	gt_sim_run_until(n.sim, 5 * DELAY);
	const gt_sim_stats *st = gt_sim_get_stats(n.sim);
	assert_true(st->duplicated >= 3);
	assert_int_equal(st->duplicated, st->packets_sent);
	assert_int_equal(st->packets_delivered, 2 * st->packets_sent);
	int s = gt_accept(n.sst, n.listener, NULL, NULL);
	assert_true(s >= 0);
	assert_int_equal(gt_sock_state(n.sst, s), GT_TCP_ESTABLISHED);
	net_teardown(&n);
}

static void test_corruption_is_caught(void **state)
{
	net n;
	net_connect_impaired(&n, gt_test_seed(11), (impairment){.corrupt = 1.0});
	gt_sim_run_until(n.sim, 2 * DELAY);
	assert_int_equal(gt_sim_get_stats(n.sim)->corrupted, 1);
	/* RFC 1071: a one's-complement sum detects every single-bit error, so
	 * the IPv4 or TCP checksum (or an earlier header check) refuses it. */
	const gt_stack_counters *c = gt_stack_get_counters(n.sst);
	assert_int_equal(c->rx_packets, 1);
	assert_int_equal(c->rx_segments, 0);
	assert_int_equal(c->drops, 1);
	assert_int_not_equal(gt_sock_state(n.cst, n.csock), GT_TCP_ESTABLISHED);
	net_teardown(&n);
}

static void test_reorder_delays(void **state)
{
	net n;
	net_connect_impaired(&n, gt_test_seed(12), (impairment){.reorder = 1.0});
	/* The SYN is held back by 1 µs .. 1.5 delays beyond the delay. */
	gt_sim_run_until(n.sim, DELAY);
	assert_int_equal(gt_stack_get_counters(n.sst)->rx_packets, 0);
	gt_sim_run_until(n.sim, DELAY + DELAY + DELAY / 2);
	assert_int_equal(gt_stack_get_counters(n.sst)->rx_packets, 1);
	assert_int_equal(gt_sim_get_stats(n.sim)->reordered, 1);
	net_teardown(&n);
}

static void test_pcap_capture(void **state)
{
	char path[] = "/tmp/gt_test_sim_pcap_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	gt_pcap_writer *w = gt_pcap_open(path);
	assert_non_null(w);

	net n;
	net_setup(&n, gt_test_seed(13));
	gt_sim_set_pcap(n.sim, w);
	net_connect(&n);
	gt_sim_run_until(n.sim, 3 * DELAY);
	uint64_t sent = gt_sim_get_stats(n.sim)->packets_sent;
	assert_int_equal(sent, 3);
	net_teardown(&n);
	assert_int_equal(gt_pcap_close(w), 0);

	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t buf[1024];
	size_t len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	unlink(path);
	size_t off = 24, records = 0;
	uint32_t prev_usec = 0;
	while (off + 16 <= len) {
		uint32_t sec, usec, incl;
		memcpy(&sec, buf + off, 4);
		memcpy(&usec, buf + off + 4, 4);
		memcpy(&incl, buf + off + 8, 4);
		assert_int_equal(sec, 0);
		assert_true(usec >= prev_usec);
		assert_int_equal(usec % DELAY, 0);       /* captured at the sender's send time */
		assert_int_equal(buf[off + 16] >> 4, 4); /* IPv4 */
		prev_usec = usec;
		off += 16 + incl;
		records++;
	}
	assert_int_equal(off, len);
	assert_int_equal(records, sent);
}

/* gt_sim_send_raw: a SYN with a forged source from a third host reaches the
 * listener as any SYN, is reported as the sender's tx event, and the answer
 * to an address no host owns goes nowhere. */
static void test_send_raw_spoofed(void **state)
{
	(void)state;
	net n;
	net_setup(&n, 5);
	int atk = gt_sim_add_host(n.sim, "attacker", GT_TEST_ADDR(66), NULL);
	assert_int_equal(atk, 2);
	const uint32_t spoofed = 0xC6120001u; /* 198.18.0.1 */
	gt_sim_raw_seg syn = {.src_addr = spoofed,
	                      .dst_addr = SERVER_ADDR,
	                      .src_port = 40000,
	                      .dst_port = PORT,
	                      .seq = 1000,
	                      .flags = GT_TCP_SYN,
	                      .wnd = 8192,
	                      .mss = 1460};
	assert_int_equal(gt_sim_send_raw(n.sim, atk, &syn), 0);
	assert_int_equal(gt_sim_send_raw(n.sim, 7, &syn), -EINVAL);
	assert_int_equal(gt_sim_send_raw(NULL, atk, &syn), -EINVAL);
	gt_sim_run_until(n.sim, 50 * 1000);
	/* the sender's tx event carries the forged source as its local end */
	bool tx = false, rx = false, synack = false;
	for (size_t i = 0; i < gt_trace_log_count(n.log); i++) {
		const gt_event *ev = gt_trace_log_get(n.log, i);
		if (ev->kind == GT_EV_TX && !strcmp(ev->host, "attacker")) {
			tx = ev->conn.local_addr == spoofed && ev->seg.flags == GT_TCP_SYN &&
			     ev->seg.seq == 1000 && ev->seg.mss == 1460 && ev->t_us == 0;
		}
		if (ev->kind == GT_EV_RX && !strcmp(ev->host, "server"))
			rx = ev->conn.remote_addr == spoofed && ev->t_us == DELAY;
		if (ev->kind == GT_EV_TX && !strcmp(ev->host, "server"))
			synack = ev->seg.flags == (GT_TCP_SYN | GT_TCP_ACK) &&
			         ev->conn.remote_addr == spoofed && ev->seg.ack == 1001;
	}
	assert_true(tx);
	assert_true(rx);
	assert_true(synack);
	/* a half-open connection waits for an ACK that never comes */
	assert_int_equal(gt_stack_conn_count(n.sst), 2);
	const gt_sim_stats *ss = gt_sim_get_stats(n.sim);
	assert_int_equal(ss->packets_sent, 2);
	assert_int_equal(ss->unroutable, 1);
	assert_int_equal(gt_stack_get_counters(n.sst)->rx_segments, 1);
	net_teardown(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rand_reproducible),
	    cmocka_unit_test(test_clock_idle),
	    cmocka_unit_test(test_host_limit),
	    cmocka_unit_test(test_handshake_takes_one_rtt),
	    cmocka_unit_test(test_table_from_real_run),
	    cmocka_unit_test(test_same_seed_same_trace),
	    cmocka_unit_test(test_total_loss_retransmits_syn),
	    cmocka_unit_test(test_fault_drops_first_syn),
	    cmocka_unit_test(test_fault_callback),
	    cmocka_unit_test(test_unroutable),
	    cmocka_unit_test(test_duplication),
	    cmocka_unit_test(test_corruption_is_caught),
	    cmocka_unit_test(test_reorder_delays),
	    cmocka_unit_test(test_pcap_capture),
	    cmocka_unit_test(test_send_raw_spoofed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
