/* The socket API (include/glasstcp/socket.h): every wrong use returns the
 * documented error and changes nothing; readiness through a connection's
 * life; configuration checks; ephemeral ports; the connection limit and
 * TIME-WAIT recycling; bounded memory. */
#include "fixture.h"
#include "stack/stack_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char buf[64];

/* ---- wrong use ---- */

static void test_send_recv_on_listener(void **state)
{
	fx_listen(&F);
	assert_int_equal(gt_send(F.st, F.lsock, "x", 1, F.now), -ENOTCONN);
	assert_int_equal(gt_recv(F.st, F.lsock, buf, sizeof(buf), F.now), -ENOTCONN);
	assert_int_equal(gt_shutdown(F.st, F.lsock, GT_SHUT_WR, F.now), -ENOTCONN);
	assert_int_equal(gt_connect(F.st, F.lsock, FX_PEER_ADDR, 80, F.now), -EINVAL);
	fx_expect_none(&F);
	/* still listening */
	assert_int_equal(gt_sock_state(F.st, F.lsock), GT_TCP_LISTEN);
	fx_send(&F, GT_TCP_SYN, 1, 0, 1000, NULL, 0);
	fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, 2);
}

static void test_connect_twice(void **state)
{
	fx_syn_sent(&F);
	assert_int_equal(gt_connect(F.st, F.sock, FX_PEER_ADDR, F.rport, F.now), -EALREADY);
	assert_int_equal(gt_connect(F.st, F.sock, FX_PEER_ADDR, 9999, F.now), -EALREADY);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_SYN_SENT);
	/* the first attempt goes on unharmed */
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, F.opts.peer_iss, F.iss + 1, 1000, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.opts.peer_iss + 1);
	assert_int_equal(gt_connect(F.st, F.sock, FX_PEER_ADDR, F.rport, F.now), -EISCONN);
	assert_int_equal(gt_connect(F.st, F.sock, FX_PEER_ADDR, 9999, F.now), -EISCONN);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	/* a connection that has ended cannot be reconnected either */
	fx_send(&F, GT_TCP_RST, F.opts.peer_iss + 1, 0, 0, NULL, 0);
	assert_int_equal(gt_sock_state(F.st, F.sock), GT_TCP_CLOSED);
	assert_int_equal(gt_connect(F.st, F.sock, FX_PEER_ADDR, F.rport, F.now), -EISCONN);
	fx_expect_none(&F);
}

static void test_recv_unconnected(void **state)
{
	int s = gt_socket(F.st);
	assert_true(s >= 0);
	assert_int_equal(gt_recv(F.st, s, buf, sizeof(buf), F.now), -ENOTCONN);
	assert_int_equal(gt_send(F.st, s, "x", 1, F.now), -ENOTCONN);
	assert_int_equal(gt_shutdown(F.st, s, GT_SHUT_RDWR, F.now), -ENOTCONN);
	gt_conn_tuple t;
	assert_int_equal(gt_sock_tuple(F.st, s, &t), -ENOTCONN);
	assert_int_equal(gt_sock_state(F.st, s), GT_TCP_CLOSED);
	assert_int_equal(gt_poll(F.st, s), 0);
	assert_int_equal(gt_sock_error(F.st, s), 0);
	fx_expect_none(&F);
	/* and it can still be used */
	assert_int_equal(gt_bind(F.st, s, 0, 8080), 0);
	assert_int_equal(gt_sock_tuple(F.st, s, &t), 0);
	assert_int_equal(t.local_port, 8080);
	assert_int_equal(t.local_addr, FX_LOCAL_ADDR);
	assert_int_equal(gt_listen(F.st, s, 4, F.now), 0);
}

static void test_stale_handle_after_close(void **state)
{
	fx_established(&F);
	int s = F.sock;
	assert_int_equal(gt_close(F.st, s, F.now), 0);
	fx_drain(&F);
	assert_int_equal(gt_recv(F.st, s, buf, sizeof(buf), F.now), -EBADF);
	assert_int_equal(gt_send(F.st, s, "x", 1, F.now), -EBADF);
	assert_int_equal(gt_close(F.st, s, F.now), -EBADF);
	assert_int_equal(gt_abort(F.st, s, F.now), -EBADF);
	assert_int_equal(gt_poll(F.st, s), -EBADF);
	assert_int_equal(gt_sock_state(F.st, s), -EBADF);
	/* the connection itself goes on closing */
	fx_assert_state(&F, GT_TCP_FIN_WAIT_1);
}

static void test_bind_errors(void **state)
{
	int a = gt_socket(F.st), b = gt_socket(F.st);
	assert_true(a >= 0 && b >= 0 && a != b);
	assert_int_equal(gt_bind(F.st, a, 0, 5000), 0);
	assert_int_equal(gt_bind(F.st, b, 0, 5000), -EADDRINUSE);
	assert_int_equal(gt_bind(F.st, b, FX_LOCAL_ADDR, 5000), -EADDRINUSE);
	assert_int_equal(gt_bind(F.st, a, 0, 5001), -EINVAL); /* bound already */
	assert_int_equal(gt_bind(F.st, a, 0, 5000), -EINVAL);
	assert_int_equal(gt_bind(F.st, b, GT_TEST_ADDR(77), 5002), -EADDRNOTAVAIL);
	/* nothing was taken by the failures */
	assert_int_equal(gt_bind(F.st, b, 0, 5001), 0);
	int c = gt_socket(F.st);
	assert_int_equal(gt_bind(F.st, c, 0, 5002), 0);
	/* a listener owns its port too */
	fx_listen(&F);
	int d = gt_socket(F.st);
	assert_int_equal(gt_bind(F.st, d, 0, FX_LISTEN_PORT), -EADDRINUSE);
	/* port 0: an ephemeral port */
	assert_int_equal(gt_bind(F.st, d, 0, 0), 0);
	gt_conn_tuple t;
	assert_int_equal(gt_sock_tuple(F.st, d, &t), 0);
	assert_in_range(t.local_port, F.cfg.ephemeral_lo, F.cfg.ephemeral_hi);
	/* closing frees the port */
	assert_int_equal(gt_close(F.st, a, F.now), 0);
	int e = gt_socket(F.st);
	assert_int_equal(gt_bind(F.st, e, 0, 5000), 0);
	fx_expect_none(&F);
}

static void test_listen_on_connected(void **state)
{
	fx_established(&F);
	assert_int_equal(gt_listen(F.st, F.sock, 5, F.now), -EINVAL);
	assert_int_equal(gt_bind(F.st, F.sock, 0, 6000), -EINVAL);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	/* also in SYN-SENT */
	int s = gt_socket(F.st);
	F.rport = 7;
	assert_int_equal(gt_connect(F.st, s, FX_PEER_ADDR, 7, F.now), -EINPROGRESS);
	fx_drain(&F);
	assert_int_equal(gt_listen(F.st, s, 5, F.now), -EINVAL);
	assert_int_equal(gt_sock_state(F.st, s), GT_TCP_SYN_SENT);
	/* listen() again on a listener just sets the backlog */
	assert_int_equal(gt_listen(F.st, F.lsock, 1, F.now), 0);
	assert_int_equal(gt_sock_state(F.st, F.lsock), GT_TCP_LISTEN);
}

static void test_accept_errors(void **state)
{
	int s = gt_socket(F.st);
	assert_int_equal(gt_accept(F.st, s, NULL, NULL), -EINVAL);
	fx_established(&F);
	assert_int_equal(gt_accept(F.st, F.sock, NULL, NULL), -EINVAL);
	assert_int_equal(gt_accept(F.st, F.lsock, NULL, NULL), -EAGAIN);
	assert_int_equal(gt_accept(F.st, F.lsock, NULL, NULL), -EAGAIN);
	fx_expect_none(&F);
	assert_int_equal(gt_sock_state(F.st, F.sock), GT_TCP_ESTABLISHED);
}

static void test_send_after_shutdown(void **state)
{
	fx_established(&F);
	assert_int_equal(gt_shutdown(F.st, F.sock, GT_SHUT_WR, F.now), 0);
	fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	assert_int_equal(gt_send(F.st, F.sock, "x", 1, F.now), -EPIPE);
	assert_int_equal(gt_send(F.st, F.sock, "x", 1, F.now), -EPIPE);
	fx_expect_none(&F);
	/* receiving still works */
	fx_peer_data(&F, "in", 2);
	fx_expect(&F, GT_TCP_ACK, F.iss + 2, F.peer_snd_nxt);
	assert_int_equal(gt_recv(F.st, F.sock, buf, sizeof(buf), F.now), 2);
}

static void test_shutdown_bad_how(void **state)
{
	fx_established(&F);
	assert_int_equal(gt_shutdown(F.st, F.sock, 3, F.now), -EINVAL);
	assert_int_equal(gt_shutdown(F.st, F.sock, -1, F.now), -EINVAL);
	assert_int_equal(gt_shutdown(F.st, F.sock, 1000, F.now), -EINVAL);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	assert_int_equal(gt_send(F.st, F.sock, "ok", 2, F.now), 2);
}

static void test_connect_bad_destination(void **state)
{
	int s = gt_socket(F.st);
	assert_int_equal(gt_connect(F.st, s, FX_PEER_ADDR, 0, F.now), -EINVAL);
	assert_int_equal(gt_connect(F.st, s, 0, 80, F.now), -EINVAL);
	fx_expect_none(&F);
	assert_int_equal(gt_sock_state(F.st, s), GT_TCP_CLOSED);
	assert_int_equal(gt_stack_conn_count(F.st), 0);
	/* and it can still connect */
	assert_int_equal(gt_connect(F.st, s, FX_PEER_ADDR, 80, F.now), -EINPROGRESS);
	fx_expect(&F, GT_TCP_SYN, F.iss, 0);
}

/* Every call with a handle that was never given out. */
static void check_all_ebadf(int h)
{
	gt_conn_tuple t;
	assert_int_equal(gt_bind(F.st, h, 0, 1234), -EBADF);
	assert_int_equal(gt_listen(F.st, h, 1, F.now), -EBADF);
	assert_int_equal(gt_accept(F.st, h, NULL, NULL), -EBADF);
	assert_int_equal(gt_connect(F.st, h, FX_PEER_ADDR, 80, F.now), -EBADF);
	assert_int_equal(gt_send(F.st, h, "x", 1, F.now), -EBADF);
	assert_int_equal(gt_recv(F.st, h, buf, sizeof(buf), F.now), -EBADF);
	assert_int_equal(gt_shutdown(F.st, h, GT_SHUT_WR, F.now), -EBADF);
	assert_int_equal(gt_poll(F.st, h), -EBADF);
	assert_int_equal(gt_sock_error(F.st, h), -EBADF);
	assert_int_equal(gt_sock_state(F.st, h), -EBADF);
	assert_int_equal(gt_sock_tuple(F.st, h, &t), -EBADF);
	assert_int_equal(gt_sock_readable(F.st, h), 0);
	assert_int_equal(gt_sock_unacked(F.st, h), 0);
	assert_int_equal(gt_close(F.st, h, F.now), -EBADF);
	assert_int_equal(gt_abort(F.st, h, F.now), -EBADF);
}

static void test_bad_handles(void **state)
{
	fx_established(&F);
	check_all_ebadf(-1);
	check_all_ebadf(-12345);
	check_all_ebadf(0x7fffffff);
	check_all_ebadf((int)0x80000000u);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 2000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int h = (int)(uint32_t)x;
		if (h == F.sock || h == F.lsock)
			continue;
		check_all_ebadf(h);
	}
	/* the low bits of a live handle with another generation */
	check_all_ebadf(F.sock & 0xffff);
	check_all_ebadf((F.sock & 0xffff) | 0x7fff0000);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	assert_int_equal(gt_sock_state(F.st, F.sock), GT_TCP_ESTABLISHED);
	assert_int_equal(gt_sock_state(F.st, F.lsock), GT_TCP_LISTEN);
}

/* A slot used again gets a new generation; the old handle stays dead. */
static void test_handle_reuse_generation(void **state)
{
	int a = gt_socket(F.st);
	assert_true(a >= 0);
	assert_int_equal(gt_close(F.st, a, F.now), 0);
	int b = gt_socket(F.st);
	assert_true(b >= 0);
	assert_true(a != b);
	assert_int_equal(a & 0xffff, b & 0xffff); /* same slot */
	assert_int_equal(gt_poll(F.st, a), -EBADF);
	assert_int_equal(gt_bind(F.st, a, 0, 9000), -EBADF);
	assert_int_equal(gt_bind(F.st, b, 0, 9000), 0);
	assert_int_equal(gt_close(F.st, a, F.now), -EBADF);
	assert_int_equal(gt_sock_state(F.st, b), GT_TCP_CLOSED);
	/* many rounds: each old handle is refused */
	int prev = b;
	assert_int_equal(gt_close(F.st, b, F.now), 0);
	for (int i = 0; i < 100; i++) {
		int h = gt_socket(F.st);
		assert_true(h >= 0);
		assert_true(h != prev);
		assert_int_equal(gt_poll(F.st, prev), -EBADF);
		assert_int_equal(gt_close(F.st, h, F.now), 0);
		prev = h;
	}
}

/* ---- readiness ---- */

static void small_sndbuf(fx_opts *o)
{
	o->cfg.sndbuf = 2048;
}

/* The peer acknowledges everything we send until we stop sending. */
static void peer_acks_all(void)
{
	for (;;) {
		uint32_t n = 0;
		while (fx_pending(&F))
			n += fx_pop(&F)->seg.payload_len;
		if (n == 0)
			break;
		F.peer_rcv_nxt += n;
		fx_peer_ack(&F);
	}
}

static void test_poll_passive_life(void **state)
{
	fx_reinit_with(small_sndbuf);
	fx_listen(&F);
	assert_int_equal(gt_poll(F.st, F.lsock), 0);
	F.peer_wnd = 0; /* the peer offers no window yet */
	fx_send(&F, GT_TCP_SYN, F.opts.peer_iss, 0, 0, NULL, 0);
	fx_drain(&F);
	assert_int_equal(gt_poll(F.st, F.lsock), 0);
	F.peer_snd_nxt = F.opts.peer_iss + 1;
	F.peer_rcv_nxt = F.iss + 1;
	fx_peer_ack(&F);
	assert_int_equal(gt_poll(F.st, F.lsock), GT_POLLIN);
	size_t events = F.socket_events;
	F.sock = gt_accept(F.st, F.lsock, NULL, NULL);
	assert_true(F.sock >= 0);
	assert_int_equal(gt_poll(F.st, F.lsock), 0);
	assert_int_equal(gt_poll(F.st, F.sock), GT_POLLOUT);
	/* data in */
	fx_peer_data(&F, "abc", 3);
	fx_drain(&F);
	assert_int_equal(gt_poll(F.st, F.sock), GT_POLLIN | GT_POLLOUT);
	assert_true(F.socket_events > events); /* announced as GT_EV_SOCKET */
	assert_int_equal(gt_recv(F.st, F.sock, buf, sizeof(buf), F.now), 3);
	assert_int_equal(gt_poll(F.st, F.sock), GT_POLLOUT);
	/* the send buffer fills (the peer's window is zero) */
	static uint8_t big[4096];
	assert_int_equal(gt_send(F.st, F.sock, big, sizeof(big), F.now), 2048);
	fx_expect_none(&F);
	assert_int_equal(gt_poll(F.st, F.sock), 0);
	assert_int_equal(gt_send(F.st, F.sock, big, 1, F.now), -EAGAIN);
	/* the window opens and everything is acknowledged */
	F.peer_wnd = 65535;
	fx_peer_ack(&F);
	peer_acks_all();
	assert_int_equal(gt_sock_unacked(F.st, F.sock), 0);
	assert_int_equal(gt_poll(F.st, F.sock), GT_POLLOUT);
	/* the peer's FIN */
	fx_peer_fin(&F);
	fx_drain(&F);
	assert_int_equal(gt_poll(F.st, F.sock), GT_POLLIN | GT_POLLOUT | GT_POLLRDHUP);
	assert_int_equal(gt_recv(F.st, F.sock, buf, sizeof(buf), F.now), 0);
	/* our FIN: both directions shut */
	assert_int_equal(gt_shutdown(F.st, F.sock, GT_SHUT_WR, F.now), 0);
	fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	F.peer_rcv_nxt += 1;
	assert_int_equal(gt_poll(F.st, F.sock), GT_POLLIN | GT_POLLRDHUP | GT_POLLHUP);
	fx_peer_ack(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_int_equal(gt_poll(F.st, F.sock), GT_POLLIN | GT_POLLRDHUP | GT_POLLHUP);
}

static void test_poll_active_life_and_errors(void **state)
{
	int s = gt_socket(F.st);
	assert_int_equal(gt_poll(F.st, s), 0);
	assert_int_equal(gt_close(F.st, s, F.now), 0);
	fx_syn_sent(&F);
	assert_int_equal(gt_poll(F.st, F.sock), 0);
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, F.opts.peer_iss, F.iss + 1, 1000, NULL, 0);
	fx_drain(&F);
	assert_int_equal(gt_poll(F.st, F.sock), GT_POLLOUT);
	/* reset by the peer: error, readable (to report it), hung up */
	fx_send(&F, GT_TCP_RST, F.opts.peer_iss + 1, 0, 0, NULL, 0);
	assert_int_equal(gt_poll(F.st, F.sock), GT_POLLERR | GT_POLLIN | GT_POLLHUP);
	assert_int_equal(gt_sock_error(F.st, F.sock), -ECONNRESET);
	assert_int_equal(gt_poll(F.st, F.sock) & GT_POLLERR, 0);
	assert_true(gt_poll(F.st, F.sock) & GT_POLLHUP);
	/* refused */
	F.rport = 4444;
	int r = gt_socket(F.st);
	assert_int_equal(gt_connect(F.st, r, FX_PEER_ADDR, 4444, F.now), -EINPROGRESS);
	const fx_pkt *p = fx_pop(&F);
	F.lport = p->seg.src_port;
	fx_send(&F, GT_TCP_RST | GT_TCP_ACK, 0, p->seg.seq + 1, 0, NULL, 0);
	assert_int_equal(gt_poll(F.st, r), GT_POLLERR | GT_POLLIN | GT_POLLHUP);
	assert_int_equal(gt_send(F.st, r, "x", 1, F.now), -ECONNREFUSED);
	assert_int_equal(gt_send(F.st, r, "x", 1, F.now), -ECONNREFUSED);
	assert_int_equal(gt_recv(F.st, r, buf, 1, F.now), -ECONNREFUSED);
	assert_int_equal(gt_recv(F.st, r, buf, 1, F.now), 0);
}

/* ---- configuration ---- */

static void ignore_output(void *user, const uint8_t *pkt, size_t len) {}

static void good_config(gt_stack_config *c)
{
	gt_stack_config_default(c);
	c->local_addr = FX_LOCAL_ADDR;
	c->output = ignore_output;
}

static void expect_einval(const gt_stack_config *c, const char *what)
{
	gt_stack *st = (gt_stack *)&st; /* must not be touched */
	gt_stack *const sentinel = st;
	int r = gt_stack_create(c, &st);
	if (r == 0)
		gt_stack_destroy(st);
	if (r != -EINVAL)
		fail_msg("config with %s: gt_stack_create returned %d, not -EINVAL", what, r);
	assert_ptr_equal(st, sentinel);
}

static void test_config_validation(void **state)
{
	gt_stack_config c;
	gt_stack *st = NULL;
	good_config(&c);
	assert_int_equal(gt_stack_create(&c, &st), 0);
	assert_non_null(st);
	gt_stack_destroy(st);
	assert_int_equal(gt_stack_create(NULL, &st), -EINVAL);
	assert_int_equal(gt_stack_create(&c, NULL), -EINVAL);

#define BAD(field, value)                                                                          \
	do {                                                                                       \
		good_config(&c);                                                                   \
		c.field = value;                                                                   \
		expect_einval(&c, #field " = " #value);                                            \
	} while (0)
	BAD(output, NULL);
	BAD(mss, 0);
	BAD(mss, 63);
	BAD(mss, 65535); /* no IPv4 packet holds 65535 octets of TCP data */
	BAD(sndbuf, 0);
	BAD(sndbuf, 1023);
	BAD(rcvbuf, 0);
	BAD(rcvbuf, 1023);
	BAD(max_conns, 0);
	BAD(max_conns, GT_MAX_CONNS_LIMIT + 1);
	BAD(ephemeral_lo, 0);
	BAD(rto_min_us, 0);
	BAD(rto_max_us, 100000); /* below rto_min */
	BAD(msl_us, 0);
	BAD(delack_us, 500000); /* RFC 1122 §4.2.3.2: "MUST be less than 0.5 seconds" */
	BAD(local_addr, 0);     /* RFC 1122 §3.2.1.3: never a source address */
	BAD(local_addr, 0xffffffffu);
	BAD(local_addr, 0xe0000001u); /* multicast */
#undef BAD
	good_config(&c);
	c.ephemeral_lo = 60000;
	c.ephemeral_hi = 50000;
	expect_einval(&c, "ephemeral_lo > ephemeral_hi");

	/* the edges that are fine */
	good_config(&c);
	c.mss = 64;
	c.sndbuf = 1024;
	c.rcvbuf = 1024;
	c.max_conns = 1;
	c.delack_us = 499999;
	c.ephemeral_lo = c.ephemeral_hi = 40000;
	c.rto_min_us = c.rto_max_us = 1000000;
	assert_int_equal(gt_stack_create(&c, &st), 0);
	gt_stack_destroy(st);
	good_config(&c);
	c.mss = 65495;
	c.rcvbuf = 1 << 20; /* larger than a window: clamped, not refused */
	assert_int_equal(gt_stack_create(&c, &st), 0);
	gt_stack_destroy(st);
}

/* ---- ports, limits, memory ---- */

static void test_ephemeral_ports_unique(void **state)
{
	enum { N = 1000 };
	static int socks[N];
	static uint8_t used[65536];
	memset(used, 0, sizeof(used));
	for (int i = 0; i < N; i++) {
		socks[i] = gt_socket(F.st);
		assert_true(socks[i] >= 0);
		assert_int_equal(gt_connect(F.st, socks[i], FX_PEER_ADDR, FX_PEER_PORT, F.now),
		                 -EINPROGRESS);
		gt_conn_tuple t;
		assert_int_equal(gt_sock_tuple(F.st, socks[i], &t), 0);
		assert_in_range(t.local_port, F.cfg.ephemeral_lo, F.cfg.ephemeral_hi);
		if (used[t.local_port])
			fail_msg("port %u given twice (connection %d)", t.local_port, i);
		used[t.local_port] = 1;
		const fx_pkt *p = fx_pop(&F);
		assert_int_equal(p->seg.src_port, t.local_port);
		assert_int_equal(p->seg.flags, GT_TCP_SYN);
	}
	assert_int_equal(gt_stack_conn_count(F.st), N);
	/* a bound (not connected) socket and a listener keep their ports from
	 * being handed out: fill a tiny range */
	fx_opts o;
	fx_opts_default(&o);
	o.cfg.ephemeral_lo = 50000;
	o.cfg.ephemeral_hi = 50003;
	fx_reinit(&o);
	int b = gt_socket(F.st);
	assert_int_equal(gt_bind(F.st, b, 0, 50001), 0);
	memset(used, 0, sizeof(used));
	for (int i = 0; i < 3; i++) {
		int s = gt_socket(F.st);
		assert_int_equal(gt_connect(F.st, s, FX_PEER_ADDR, FX_PEER_PORT, F.now),
		                 -EINPROGRESS);
		gt_conn_tuple t;
		assert_int_equal(gt_sock_tuple(F.st, s, &t), 0);
		assert_true(t.local_port != 50001);
		assert_false(used[t.local_port]);
		used[t.local_port] = 1;
	}
	int s = gt_socket(F.st);
	assert_int_equal(gt_connect(F.st, s, FX_PEER_ADDR, FX_PEER_PORT, F.now), -EADDRNOTAVAIL);
	/* another destination may reuse them */
	assert_int_equal(gt_connect(F.st, s, FX_PEER_ADDR, FX_PEER_PORT + 1, F.now), -EINPROGRESS);
	fx_drain(&F);
}

static void many_conns(fx_opts *o)
{
	o->cfg.max_conns = 70000;
}

/* More than 65,535 sockets on one stack (GT_MAX_CONNS_LIMIT is 2^20): every
 * handle distinct and live, the limit still EMFILE, and a closed handle
 * stale (-EBADF) though its slot is reused. */
static void test_more_than_65535_sockets(void **state)
{
	fx_reinit_with(many_conns);
	enum { N = 70000 };
	static int s[N];
	for (int i = 0; i < N; i++) {
		s[i] = gt_socket(F.st);
		if (s[i] < 0)
			fail_msg("gt_socket %d: %d", i, s[i]);
	}
	assert_int_equal(gt_socket(F.st), -EMFILE);
	assert_int_equal(gt_stack_conn_count(F.st), 0); /* sockets, not connections */
	static uint8_t seen[GT_MAX_CONNS_LIMIT];
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < N; i++) {
		uint32_t idx = gt_sock_index(s[i]);
		assert_true(idx < N);
		assert_false(seen[idx]);
		seen[idx] = 1;
		assert_int_equal(gt_sock_state(F.st, s[i]), GT_TCP_CLOSED);
	}
	/* the last one binds to a port: all of them are real sockets */
	assert_int_equal(gt_bind(F.st, s[N - 1], 0, 5555), 0);
	int old = s[69999 - 1];
	assert_int_equal(gt_close(F.st, old, F.now), 0);
	int again = gt_socket(F.st);
	assert_true(again >= 0);
	assert_int_equal(gt_sock_index(again), gt_sock_index(old));
	assert_int_not_equal(again, old);
	assert_int_equal(gt_sock_state(F.st, old), -EBADF);
	assert_int_equal(gt_close(F.st, old, F.now), -EBADF);
}

static void four_conns(fx_opts *o)
{
	o->cfg.max_conns = 4;
}

static void test_max_conns_emfile(void **state)
{
	fx_reinit_with(four_conns);
	int s[4];
	for (int i = 0; i < 4; i++) {
		s[i] = gt_socket(F.st);
		assert_true(s[i] >= 0);
	}
	assert_int_equal(gt_socket(F.st), -EMFILE);
	assert_int_equal(gt_socket(F.st), -EMFILE);
	assert_int_equal(gt_close(F.st, s[2], F.now), 0);
	int n = gt_socket(F.st);
	assert_true(n >= 0);
	assert_int_equal(gt_socket(F.st), -EMFILE);
	/* the others are fine */
	assert_int_equal(gt_bind(F.st, s[0], 0, 80), 0);
	assert_int_equal(gt_listen(F.st, s[0], 8, F.now), 0);
}

static void two_conns(fx_opts *o)
{
	o->cfg.max_conns = 2;
	o->cfg.syncookies = GT_SYNCOOKIES_OFF; /* the SYN is dropped, not answered */
}

/* A SYN that would need one TCB too many is dropped and counted, unless a
 * TIME-WAIT connection can give its place (the oldest goes). */
static void test_syn_conn_limit_and_time_wait_recycling(void **state)
{
	fx_reinit_with(two_conns);
	fx_established(&F); /* listener + one connection */
	F.rport = 50000;
	fx_send(&F, GT_TCP_SYN, 7000, 0, 8192, NULL, 0);
	fx_expect_none(&F);
	assert_int_equal(gt_stack_get_counters(F.st)->drop[GT_DROP_CONN_LIMIT], 1);
	/* the first connection closes actively and sits in TIME-WAIT */
	F.rport = FX_PEER_PORT;
	fx_goto(&F, GT_TCP_TIME_WAIT);
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0); /* orphan it */
	fx_assert_state(&F, GT_TCP_TIME_WAIT);
	/* now the SYN gets its place */
	F.rport = 50000;
	fx_send(&F, GT_TCP_SYN, 7000, 0, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, 7001);
	fx_assert_state(&F, GT_TCP_SYN_RECEIVED);
	F.rport = FX_PEER_PORT;
	fx_assert_state(&F, GT_TCP_CLOSED);
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_TIME_WAIT, GT_TCP_CLOSED);
	assert_non_null(e);
	assert_string_equal(e->cause, "TIME_WAIT recycled");
	assert_int_equal(gt_stack_get_counters(F.st)->drop[GT_DROP_CONN_LIMIT], 1);
}

/* One active connection's whole life with the fake peer; leaves it in
 * TIME-WAIT, orphaned. */
static void one_active_connection(void)
{
	int s = gt_socket(F.st);
	if (s < 0)
		fail_msg("gt_socket: %d with %zu connections held", s, gt_stack_conn_count(F.st));
	assert_int_equal(gt_connect(F.st, s, FX_PEER_ADDR, FX_PEER_PORT, F.now), -EINPROGRESS);
	const fx_pkt *p = fx_pop(&F);
	assert_int_equal(p->seg.flags, GT_TCP_SYN);
	F.lport = p->seg.src_port;
	uint32_t iss = p->seg.seq;
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, 5000, iss + 1, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, iss + 1, 5001);
	assert_int_equal(gt_close(F.st, s, F.now), 0);
	fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, iss + 1, 5001);
	fx_send(&F, GT_TCP_FIN | GT_TCP_ACK, 5001, iss + 2, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, iss + 2, 5002);
	fx_assert_state(&F, GT_TCP_TIME_WAIT);
}

static void sixty_four(fx_opts *o)
{
	o->cfg.max_conns = 64;
	o->iss_step = 0x01000193;
}

/* Memory stays bounded: 5000 connections closed actively, one after the
 * other, well within 2*MSL, leave at most max_conns TCBs (the oldest TIME-WAIT
 * makes room for the next connection). */
static void test_memory_bounded_by_max_conns(void **state)
{
	fx_reinit_with(sixty_four);
	for (int i = 0; i < 5000; i++) {
		one_active_connection();
		assert_true(F.st->tcb_count <= 64);
		assert_true(gt_stack_conn_count(F.st) <= 64);
		fx_advance(&F, 1 * FX_MS);
	}
	assert_int_equal(F.st->tcb_count, 64);
	assert_int_equal(F.st->tw_count, 64);
	/* after 2*MSL all is gone */
	fx_advance(&F, 2 * F.cfg.msl_us);
	assert_int_equal(F.st->tcb_count, 0);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

/* With the default limit, TIME-WAIT never blocks new connections either. */
static void test_many_sequential_connections_default_limit(void **state)
{
	fx_opts o;
	fx_opts_default(&o);
	o.iss_step = 7919;
	fx_reinit(&o);
	for (int i = 0; i < 3000; i++) {
		one_active_connection();
		fx_advance(&F, 100);
	}
	assert_true(F.st->tcb_count <= F.cfg.max_conns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_send_recv_on_listener),
	    FX_TEST(test_connect_twice),
	    FX_TEST(test_recv_unconnected),
	    FX_TEST(test_stale_handle_after_close),
	    FX_TEST(test_bind_errors),
	    FX_TEST(test_listen_on_connected),
	    FX_TEST(test_accept_errors),
	    FX_TEST(test_send_after_shutdown),
	    FX_TEST(test_shutdown_bad_how),
	    FX_TEST(test_connect_bad_destination),
	    FX_TEST(test_bad_handles),
	    FX_TEST(test_handle_reuse_generation),
	    FX_TEST(test_poll_passive_life),
	    FX_TEST(test_poll_active_life_and_errors),
	    FX_TEST(test_config_validation),
	    FX_TEST(test_ephemeral_ports_unique),
	    FX_TEST(test_max_conns_emfile),
	    FX_TEST(test_syn_conn_limit_and_time_wait_recycling),
	    FX_TEST(test_more_than_65535_sockets),
	    FX_TEST(test_memory_bounded_by_max_conns),
	    FX_TEST(test_many_sequential_connections_default_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
