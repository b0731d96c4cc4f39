/* The stack's nstat-like counters (RFC 4022's tcpActiveOpens ...
 * tcpCurrEstab, each by the state changes that define it; rx_rsts) and
 * gt_stack_foreach_conn, the `ss -tin` view of every connection: on the
 * simulated network (both ends counted) and on the fixture (segments by
 * hand). */
#include "fixture.h"

#include <errno.h>
#include <string.h>

#define CLIENT_ADDR GT_TEST_ADDR(1)
#define SERVER_ADDR GT_TEST_ADDR(2)
#define PORT        7
#define MS          1000ull
#define N           5

static const gt_stack_counters *ctr(const gt_stack *st)
{
	return gt_stack_get_counters(st);
}

typedef struct net {
	gt_sim *sim;
	gt_stack *c, *s;
	int lst;
} net;

static void net_init(net *n, const gt_stack_config *server_cfg)
{
	n->sim = gt_sim_new(gt_test_seed(13));
	assert_non_null(n->sim);
	n->c = gt_sim_stack(n->sim, gt_sim_add_host(n->sim, "client", CLIENT_ADDR, NULL));
	n->s = gt_sim_stack(n->sim, gt_sim_add_host(n->sim, "server", SERVER_ADDR, server_cfg));
	n->lst = gt_socket(n->s);
	assert_int_equal(gt_bind(n->s, n->lst, 0, PORT), 0);
	assert_int_equal(gt_listen(n->s, n->lst, 16, 0), 0);
}

static void run(net *n, gt_time_us ms)
{
	gt_sim_run_until(n->sim, gt_sim_now(n->sim) + ms * MS);
}

/* N connects: N active opens on the client, N passive ones on the server,
 * TcpCurrEstab N on both; closing moves it down as each side leaves
 * ESTABLISHED or CLOSE_WAIT, and an abort is an EstabReset on both ends. */
static void test_opens_and_curr_estab(void **state)
{
	net n;
	net_init(&n, NULL);
	int cs[N], ss[N];
	for (int i = 0; i < N; i++) {
		cs[i] = gt_socket(n.c);
		assert_int_equal(gt_connect(n.c, cs[i], SERVER_ADDR, PORT, gt_sim_now(n.sim)),
		                 -EINPROGRESS);
	}
	assert_int_equal(ctr(n.c)->active_opens, N);
	assert_int_equal(ctr(n.c)->curr_estab, 0);
	run(&n, 100);
	for (int i = 0; i < N; i++)
		assert_true((ss[i] = gt_accept(n.s, n.lst, NULL, NULL)) >= 0);
	assert_int_equal(ctr(n.c)->active_opens, N);
	assert_int_equal(ctr(n.c)->passive_opens, 0);
	assert_int_equal(ctr(n.s)->passive_opens, N);
	assert_int_equal(ctr(n.s)->active_opens, 0);
	assert_int_equal(ctr(n.c)->curr_estab, N);
	assert_int_equal(ctr(n.s)->curr_estab, N);
	assert_int_equal(ctr(n.c)->attempt_fails + ctr(n.s)->attempt_fails, 0);

	/* the client closes two: FIN_WAIT leaves the gauge, CLOSE_WAIT stays */
	gt_time_us now = gt_sim_now(n.sim);
	assert_int_equal(gt_close(n.c, cs[0], now), 0);
	assert_int_equal(gt_close(n.c, cs[1], now), 0);
	run(&n, 100);
	assert_int_equal(gt_sock_state(n.s, ss[0]), GT_TCP_CLOSE_WAIT);
	assert_int_equal(ctr(n.c)->curr_estab, N - 2);
	assert_int_equal(ctr(n.s)->curr_estab, N);
	/* the server closes them too: LAST_ACK, then gone */
	now = gt_sim_now(n.sim);
	assert_int_equal(gt_close(n.s, ss[0], now), 0);
	assert_int_equal(gt_close(n.s, ss[1], now), 0);
	run(&n, 100);
	assert_int_equal(ctr(n.s)->curr_estab, N - 2);
	assert_int_equal(ctr(n.c)->estab_resets + ctr(n.s)->estab_resets, 0);
	assert_int_equal(ctr(n.c)->rx_rsts + ctr(n.s)->rx_rsts, 0);

	/* an abort: the RST goes out and comes in, each end resets one */
	assert_int_equal(gt_abort(n.c, cs[2], gt_sim_now(n.sim)), 0);
	run(&n, 100);
	assert_int_equal(ctr(n.c)->estab_resets, 1);
	assert_int_equal(ctr(n.c)->tx_rsts, 1);
	assert_int_equal(ctr(n.s)->rx_rsts, 1);
	assert_int_equal(ctr(n.s)->estab_resets, 1);
	assert_int_equal(ctr(n.s)->conns_reset, 1);
	assert_int_equal(ctr(n.c)->curr_estab, N - 3);
	assert_int_equal(ctr(n.s)->curr_estab, N - 3);
	gt_sim_free(n.sim);
}

/* A refused connect (RST to the SYN) is an attempt failed, no EstabReset. */
static void test_refused_connect_fails_attempt(void **state)
{
	net n;
	net_init(&n, NULL);
	int s = gt_socket(n.c);
	assert_int_equal(gt_connect(n.c, s, SERVER_ADDR, PORT + 1, 0), -EINPROGRESS);
	run(&n, 100);
	assert_int_equal(gt_sock_error(n.c, s), -ECONNREFUSED);
	assert_int_equal(ctr(n.c)->active_opens, 1);
	assert_int_equal(ctr(n.c)->attempt_fails, 1);
	assert_int_equal(ctr(n.c)->rx_rsts, 1);
	assert_int_equal(ctr(n.c)->estab_resets, 0);
	assert_int_equal(ctr(n.c)->curr_estab, 0);
	assert_int_equal(ctr(n.s)->tx_rsts, 1);
	assert_int_equal(ctr(n.s)->passive_opens, 0);
	/* closing a connect() still in SYN_SENT fails it too */
	int s2 = gt_socket(n.c);
	assert_int_equal(gt_connect(n.c, s2, GT_TEST_ADDR(9), PORT, gt_sim_now(n.sim)),
	                 -EINPROGRESS);
	assert_int_equal(gt_close(n.c, s2, gt_sim_now(n.sim)), 0);
	assert_int_equal(ctr(n.c)->active_opens, 2);
	assert_int_equal(ctr(n.c)->attempt_fails, 2);
	gt_sim_free(n.sim);
}

/* With SYN cookies on every SYN the connection is made from the ACK: a
 * passive open all the same. */
static void test_syncookie_is_a_passive_open(void **state)
{
	gt_stack_config cfg;
	gt_stack_config_default(&cfg);
	cfg.syncookies = GT_SYNCOOKIES_ALWAYS;
	net n;
	net_init(&n, &cfg);
	int s = gt_socket(n.c);
	assert_int_equal(gt_connect(n.c, s, SERVER_ADDR, PORT, 0), -EINPROGRESS);
	run(&n, 100);
	assert_int_equal(ctr(n.s)->syncookies_ok, 1);
	assert_int_equal(ctr(n.s)->passive_opens, 1);
	assert_int_equal(ctr(n.s)->curr_estab, 1);
	gt_sim_free(n.sim);
}

/* RFC 4022: SYN_RECEIVED -> LISTEN (an RST on a passive open) is an
 * attempt failed too. */
static void test_syn_received_reset_fails_attempt(void **state)
{
	fx_syn_received(&F);
	assert_int_equal(ctr(F.st)->passive_opens, 1);
	fx_send(&F, GT_TCP_RST, F.peer_snd_nxt, 0, 0, NULL, 0);
	assert_non_null(fx_find_transition(&F, GT_TCP_SYN_RECEIVED, GT_TCP_LISTEN));
	assert_int_equal(ctr(F.st)->attempt_fails, 1);
	assert_int_equal(ctr(F.st)->rx_rsts, 1);
	assert_int_equal(ctr(F.st)->curr_estab, 0);
	assert_int_equal(ctr(F.st)->estab_resets, 0);
}

/* An RST in CLOSE_WAIT is an EstabReset; the gauge comes down. */
static void test_close_wait_reset(void **state)
{
	fx_enter(&F, GT_TCP_CLOSE_WAIT);
	assert_int_equal(ctr(F.st)->curr_estab, 1);
	fx_send(&F, GT_TCP_RST, F.peer_snd_nxt, 0, 0, NULL, 0);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_int_equal(ctr(F.st)->estab_resets, 1);
	assert_int_equal(ctr(F.st)->curr_estab, 0);
}

/* ---- gt_stack_foreach_conn ---- */

#define MAX_SEEN 8
typedef struct seen {
	gt_conn_info ci[MAX_SEEN];
	size_t n;
} seen;

static void collect(void *user, const gt_conn_info *ci)
{
	seen *s = user;
	assert_true(s->n < MAX_SEEN);
	s->ci[s->n++] = *ci;
}

static const gt_conn_info *find(const seen *s, gt_tcp_state st, uint16_t rport)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->ci[i].state == st && s->ci[i].tuple.remote_port == rport)
			return &s->ci[i];
	return NULL;
}

static void assert_matches_sock_info(const gt_conn_info *ci, int sock)
{
	gt_sock_info si;
	assert_int_equal(gt_sock_get_info(F.st, sock, &si), 0);
	assert_int_equal(ci->sock, sock);
	assert_int_equal(ci->state, si.state);
	assert_int_equal(ci->recv_q, si.unread);
	assert_int_equal(ci->rtt_us, si.rtt_us);
	assert_int_equal(ci->rttvar_us, si.rttvar_us);
	assert_int_equal(ci->rto_us, si.rto_us);
	assert_int_equal(ci->snd_mss, si.snd_mss);
	assert_int_equal(ci->snd_cwnd, si.snd_cwnd);
	assert_int_equal(ci->snd_ssthresh, si.snd_ssthresh);
	assert_int_equal(ci->retransmits, si.retransmits);
	assert_int_equal(ci->total_retrans, si.total_retrans);
	assert_int_equal(ci->bytes_acked, si.bytes_acked);
	assert_int_equal(ci->bytes_received, si.bytes_received);
}

/* A peer on another port sends SYN (and the ACK when complete). */
static void other_peer(uint16_t rport, bool complete)
{
	fx_send_seg(&F, &(fx_seg){.src_port = rport,
	                          .flags = GT_TCP_SYN,
	                          .seq = F.opts.peer_iss,
	                          .wnd = 65535,
	                          .mss = 1460});
	const fx_pkt *p = fx_pop(&F);
	assert_int_equal(p->seg.flags, GT_TCP_SYN | GT_TCP_ACK);
	if (complete)
		fx_send_seg(&F, &(fx_seg){.src_port = rport,
		                          .flags = GT_TCP_ACK,
		                          .seq = F.opts.peer_iss + 1,
		                          .ack = p->seg.seq + 1,
		                          .wnd = 65535});
	fx_drain(&F);
}

static void test_foreach_conn(void **state)
{
	static const uint8_t data[1000] = {0};
	fx_established_passive(&F);
	/* queued both ways: 1000 bytes sent, not acknowledged; 300 received, not read */
	assert_int_equal(gt_send(F.st, F.sock, data, sizeof data, F.now), (ssize_t)sizeof data);
	fx_drain(&F);
	fx_advance(&F, 10 * FX_MS);
	fx_peer_data(&F, data, 300);
	fx_drain(&F);
	other_peer(50001, false); /* in the SYN queue */
	other_peer(50002, true);  /* in the accept queue */

	seen s = {0};
	assert_int_equal(gt_stack_foreach_conn(F.st, collect, &s), 4);
	assert_int_equal(s.n, gt_stack_conn_count(F.st));
	const gt_conn_info *l = find(&s, GT_TCP_LISTEN, 0);
	assert_non_null(l);
	assert_int_equal(l->sock, F.lsock);
	assert_int_equal(l->tuple.local_port, FX_LISTEN_PORT);
	assert_int_equal(l->tuple.remote_addr, 0);
	assert_int_equal(l->syn_queue, 1);
	assert_int_equal(l->accept_queue, 1);
	assert_int_equal(l->backlog, 16);
	/* the listed order is the oldest first: the listener */
	assert_int_equal(s.ci[0].state, GT_TCP_LISTEN);

	const gt_conn_info *e = find(&s, GT_TCP_ESTABLISHED, FX_PEER_PORT);
	assert_non_null(e);
	assert_int_equal(e->tuple.local_addr, FX_LOCAL_ADDR);
	assert_int_equal(e->tuple.remote_addr, FX_PEER_ADDR);
	assert_int_equal(e->send_q, 1000);
	assert_int_equal(e->recv_q, 300);
	assert_int_equal(e->bytes_received, 300);
	assert_false(e->orphan);
	assert_matches_sock_info(e, F.sock);

	const gt_conn_info *r = find(&s, GT_TCP_SYN_RECEIVED, 50001);
	assert_non_null(r);
	assert_int_equal(r->sock, -1);
	const gt_conn_info *a = find(&s, GT_TCP_ESTABLISHED, 50002);
	assert_non_null(a);
	assert_int_equal(a->sock, -1); /* not accepted yet */
	assert_false(a->orphan);

	/* close() with data unacknowledged: an orphan in FIN_WAIT_1, no socket */
	char buf[300];
	assert_int_equal(gt_recv(F.st, F.sock, buf, sizeof buf, F.now), 300);
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	fx_drain(&F);
	memset(&s, 0, sizeof s);
	gt_stack_foreach_conn(F.st, collect, &s);
	const gt_conn_info *o = find(&s, GT_TCP_FIN_WAIT_1, FX_PEER_PORT);
	assert_non_null(o);
	assert_int_equal(o->sock, -1);
	assert_true(o->orphan);
	assert_int_equal(o->send_q, 1000);
	assert_int_equal(o->recv_q, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_opens_and_curr_estab),
	    cmocka_unit_test(test_refused_connect_fails_attempt),
	    cmocka_unit_test(test_syncookie_is_a_passive_open),
	    FX_TEST(test_syn_received_reset_fails_attempt),
	    FX_TEST(test_close_wait_reset),
	    FX_TEST(test_foreach_conn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
