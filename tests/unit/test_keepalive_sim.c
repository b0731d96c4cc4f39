/* Keep-alive between two glasstcp stacks on the simulated network: a link
 * that dies silently is found within idle + probes * intvl, and an idle
 * connection whose peer is alive stays up for hours, every probe answered
 * by glasstcp itself. */
#include "support.h"

#include <errno.h>
#include <string.h>

#define CLIENT_ADDR GT_TEST_ADDR(1)
#define SERVER_ADDR GT_TEST_ADDR(2)
#define PORT        7
#define SEC         1000000ull
#define MS          1000ull

typedef struct net {
	gt_sim *sim;
	gt_stack *cst, *sst;
	int listener, csock, ssock;
	bool cut; /* the link drops everything, both ways, silently */

	/* what the client saw */
	gt_time_us client_last_rx;
	gt_time_us client_closed_at;
	char client_close_cause[64];
	unsigned client_rsts;
	unsigned server_rsts_rx;
} net;

static void on_event(void *user, const gt_event *ev)
{
	net *n = user;
	bool client = strcmp(ev->host, "client") == 0;
	if (ev->kind == GT_EV_RX && client)
		n->client_last_rx = ev->t_us;
	if (ev->kind == GT_EV_TX && client && (ev->seg.flags & GT_TCP_RST))
		n->client_rsts++;
	if (ev->kind == GT_EV_RX && !client && (ev->seg.flags & GT_TCP_RST))
		n->server_rsts_rx++;
	if (ev->kind == GT_EV_STATE && client && ev->to == GT_TCP_CLOSED) {
		n->client_closed_at = ev->t_us;
		snprintf(n->client_close_cause, sizeof n->client_close_cause, "%s",
		         ev->cause ? ev->cause : "");
	}
}

static bool fault(void *user, const gt_sim_packet *p)
{
	const net *n = user;
	return n->cut;
}

/* Client and server connected, the server's socket accepted; client_ka and
 * listener_ka (NULL: off) set before the connection opens. */
static void net_open(net *n, uint64_t seed, const gt_keepalive *client_ka,
                     const gt_keepalive *listener_ka)
{
	memset(n, 0, sizeof *n);
	n->sim = gt_sim_new(seed);
	assert_non_null(n->sim);
	gt_sim_set_event_fn(n->sim, on_event, n);
	gt_sim_set_fault_fn(n->sim, fault, n);
	int c = gt_sim_add_host(n->sim, "client", CLIENT_ADDR, NULL);
	int s = gt_sim_add_host(n->sim, "server", SERVER_ADDR, NULL);
	assert_true(c >= 0 && s >= 0);
	n->cst = gt_sim_stack(n->sim, c);
	n->sst = gt_sim_stack(n->sim, s);
	n->listener = gt_socket(n->sst);
	assert_int_equal(gt_bind(n->sst, n->listener, 0, PORT), 0);
	assert_int_equal(gt_listen(n->sst, n->listener, 0, 0), 0);
	if (listener_ka)
		assert_int_equal(gt_sock_set_keepalive(n->sst, n->listener, listener_ka, 0), 0);
	n->csock = gt_socket(n->cst);
	if (client_ka)
		assert_int_equal(gt_sock_set_keepalive(n->cst, n->csock, client_ka, 0), 0);
	assert_int_equal(gt_connect(n->cst, n->csock, SERVER_ADDR, PORT, 0), -EINPROGRESS);
	gt_sim_run_until(n->sim, 100 * MS);
	assert_int_equal(gt_sock_state(n->cst, n->csock), GT_TCP_ESTABLISHED);
	n->ssock = gt_accept(n->sst, n->listener, NULL, NULL);
	assert_true(n->ssock >= 0);
	/* a little traffic both ways */
	assert_int_equal(gt_send(n->cst, n->csock, "ping", 4, gt_sim_now(n->sim)), 4);
	gt_sim_run_until(n->sim, 200 * MS);
	char buf[16];
	assert_int_equal(gt_recv(n->sst, n->ssock, buf, sizeof buf, gt_sim_now(n->sim)), 4);
	assert_int_equal(gt_send(n->sst, n->ssock, "pong", 4, gt_sim_now(n->sim)), 4);
	gt_sim_run_until(n->sim, 300 * MS);
	assert_int_equal(gt_recv(n->cst, n->csock, buf, sizeof buf, gt_sim_now(n->sim)), 4);
	assert_memory_equal(buf, "pong", 4);
}

static void net_close(net *n)
{
	gt_sim_free(n->sim);
}

/* The link dies without a word (no RST, no ICMP): the client, with
 * keep-alive on, aborts exactly idle + probes * intvl after it last heard
 * from the server; the server, without it, still believes in the connection
 * until it sends and the client's stack answers with RST. */
static void test_silent_link_cut_detected(void **state)
{
	const gt_keepalive ka = {.on = true, .idle_us = 60 * SEC, .intvl_us = 5 * SEC, .probes = 4};
	net n;
	net_open(&n, 11, &ka, NULL);
	gt_sim_run_until(n.sim, 30 * SEC);
	n.cut = true;
	gt_time_us heard = n.client_last_rx;
	assert_true(heard > 0 && heard < 1 * SEC);
	gt_time_us bound = heard + ka.idle_us + ka.probes * ka.intvl_us;
	gt_sim_run_until(n.sim, bound - 1);
	assert_int_equal(gt_sock_state(n.cst, n.csock), GT_TCP_ESTABLISHED);
	assert_int_equal(gt_stack_get_counters(n.cst)->tx_keepalive_probes, ka.probes);
	gt_sim_run_until(n.sim, bound);
	assert_int_equal(gt_sock_state(n.cst, n.csock), GT_TCP_CLOSED);
	assert_int_equal(n.client_closed_at, bound);
	assert_string_equal(n.client_close_cause, "keepalive timeout");
	assert_int_equal(n.client_rsts, 1);
	assert_int_equal(gt_stack_get_counters(n.cst)->tx_keepalive_probes, ka.probes);
	assert_int_equal(gt_stack_get_counters(n.cst)->tx_rexmits, 0);
	assert_true(gt_poll(n.cst, n.csock) & GT_POLLERR);
	char buf[8];
	assert_int_equal(gt_recv(n.cst, n.csock, buf, sizeof buf, gt_sim_now(n.sim)), -ETIMEDOUT);
	/* the server never knew: half-open */
	assert_int_equal(gt_sock_state(n.sst, n.ssock), GT_TCP_ESTABLISHED);
	/* the link heals; the server's next data meets no connection: RST */
	n.cut = false;
	assert_int_equal(gt_send(n.sst, n.ssock, "late", 4, gt_sim_now(n.sim)), 4);
	gt_sim_run_until(n.sim, gt_sim_now(n.sim) + 1 * SEC);
	assert_int_equal(n.server_rsts_rx, 1);
	assert_int_equal(gt_sock_state(n.sst, n.ssock), GT_TCP_CLOSED);
	assert_int_equal(gt_recv(n.sst, n.ssock, buf, sizeof buf, gt_sim_now(n.sim)), -ECONNRESET);
	net_close(&n);
}

/* Hours of idleness with the defaults (2 h, 75 s, 9): each probe is answered,
 * nothing is aborted, and the connection still carries data afterwards. Both
 * ends probe: the server's setting comes from its listener. */
static void test_idle_for_hours_stays_up(void **state)
{
	gt_keepalive client_ka, server_ka;
	net n;
	net_open(&n, 12, NULL, NULL);
	assert_int_equal(gt_sock_get_keepalive(n.cst, n.csock, &client_ka), 0);
	assert_int_equal(client_ka.idle_us, 7200 * SEC);
	client_ka.on = true;
	assert_int_equal(gt_sock_set_keepalive(n.cst, n.csock, &client_ka, gt_sim_now(n.sim)), 0);
	net_close(&n);

	server_ka = client_ka;
	server_ka.idle_us = 3 * 3600 * SEC;
	net_open(&n, 12, &client_ka, &server_ka);
	gt_sim_run_until(n.sim, 10 * 3600 * SEC);
	assert_int_equal(gt_sock_state(n.cst, n.csock), GT_TCP_ESTABLISHED);
	assert_int_equal(gt_sock_state(n.sst, n.ssock), GT_TCP_ESTABLISHED);
	/* client: at about 2, 4, 6 and 8 h; server: at about 3, 6 and 9 h.
	 * Each answer restarts the prober's idle time, so none repeats. */
	const gt_stack_counters *cc = gt_stack_get_counters(n.cst);
	const gt_stack_counters *sc = gt_stack_get_counters(n.sst);
	assert_int_equal(cc->tx_keepalive_probes, 4);
	assert_int_equal(sc->tx_keepalive_probes, 3);
	assert_int_equal(cc->tx_rsts + sc->tx_rsts, 0);
	assert_int_equal(cc->conns_timedout + sc->conns_timedout, 0);
	/* each probe drew exactly one answer, dropped as out of window */
	assert_int_equal(sc->drop[GT_DROP_OUT_OF_WINDOW], 4);
	assert_int_equal(cc->drop[GT_DROP_OUT_OF_WINDOW], 3);
	assert_int_equal(sc->tx_challenge_acks, 4);
	assert_int_equal(cc->tx_challenge_acks, 3);
	assert_int_equal(n.client_rsts, 0);
	char buf[16];
	assert_int_equal(gt_send(n.cst, n.csock, "still here", 10, gt_sim_now(n.sim)), 10);
	gt_sim_run_until(n.sim, gt_sim_now(n.sim) + 1 * SEC);
	assert_int_equal(gt_recv(n.sst, n.ssock, buf, sizeof buf, gt_sim_now(n.sim)), 10);
	assert_memory_equal(buf, "still here", 10);
	net_close(&n);
}

/* The shortest times allowed (1 s idle and interval, one probe), on both
 * ends: the peer's 500 ms limit on answers to unacceptable empty segments
 * (RFC 5961 §7) never swallows a probe, so the live connection stays up. */
static void test_fastest_probes_all_answered(void **state)
{
	const gt_keepalive ka = {.on = true,
	                         .idle_us = GT_KEEPALIVE_MIN_US,
	                         .intvl_us = GT_KEEPALIVE_MIN_US,
	                         .probes = 1};
	net n;
	net_open(&n, 13, &ka, &ka);
	gt_time_us t0 = gt_sim_now(n.sim);
	gt_sim_run_until(n.sim, t0 + 60 * SEC);
	assert_int_equal(gt_sock_state(n.cst, n.csock), GT_TCP_ESTABLISHED);
	assert_int_equal(gt_sock_state(n.sst, n.ssock), GT_TCP_ESTABLISHED);
	const gt_stack_counters *cc = gt_stack_get_counters(n.cst);
	const gt_stack_counters *sc = gt_stack_get_counters(n.sst);
	/* each side: one every 1 s + the 20 ms round trip */
	assert_in_range(cc->tx_keepalive_probes, 57, 59);
	assert_in_range(sc->tx_keepalive_probes, 57, 59);
	/* every probe arrived unacceptable and drew its (rate-limited) answer */
	assert_int_equal(sc->drop[GT_DROP_OUT_OF_WINDOW], cc->tx_keepalive_probes);
	assert_int_equal(cc->drop[GT_DROP_OUT_OF_WINDOW], sc->tx_keepalive_probes);
	assert_int_equal(sc->tx_challenge_acks, cc->tx_keepalive_probes);
	assert_int_equal(cc->tx_challenge_acks, sc->tx_keepalive_probes);
	assert_int_equal(cc->conns_timedout + sc->conns_timedout, 0);
	net_close(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_silent_link_cut_detected),
	    cmocka_unit_test(test_idle_for_hours_stays_up),
	    cmocka_unit_test(test_fastest_probes_all_answered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
