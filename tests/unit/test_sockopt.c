/* Socket options (gt_setsockopt/gt_getsockopt, socket.h), with Linux's
 * numbers, one test per option: what each sets and how it shows on the wire
 * or in the connection; the errors (ENOPROTOOPT, EINVAL, EBADF, EISCONN);
 * TCP_INFO in Linux's struct tcp_info; and the stack profiles. */
#include "fixture.h"
#include "stack/stack_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static int set_int(int s, int level, int name, int v)
{
	return gt_setsockopt(F.st, s, level, name, &v, sizeof(v), F.now);
}

static int get_int(int s, int level, int name)
{
	int v = -12345;
	size_t len = sizeof(v);
	assert_int_equal(gt_getsockopt(F.st, s, level, name, &v, &len), 0);
	assert_int_equal(len, sizeof(int));
	return v;
}

static void test_errors(void **state)
{
	fx_established(&F);
	int v = 1;
	size_t len = sizeof(v);
	assert_int_equal(gt_setsockopt(F.st, F.sock, SOL_SOCKET, SO_BROADCAST, &v, 4, F.now),
	                 -ENOPROTOOPT);
	assert_int_equal(gt_setsockopt(F.st, F.sock, IPPROTO_IP, 1, &v, 4, F.now), -ENOPROTOOPT);
	assert_int_equal(gt_getsockopt(F.st, F.sock, IPPROTO_TCP, TCP_FASTOPEN, &v, &len),
	                 -ENOPROTOOPT);
	/* a value shorter than an int */
	assert_int_equal(gt_setsockopt(F.st, F.sock, IPPROTO_TCP, TCP_NODELAY, &v, 2, F.now),
	                 -EINVAL);
	assert_int_equal(gt_setsockopt(F.st, F.sock, IPPROTO_TCP, TCP_NODELAY, NULL, 4, F.now),
	                 -EINVAL);
	len = 2;
	assert_int_equal(gt_getsockopt(F.st, F.sock, IPPROTO_TCP, TCP_NODELAY, &v, &len), -EINVAL);
	struct linger l = {1, 0};
	assert_int_equal(gt_setsockopt(F.st, F.sock, SOL_SOCKET, SO_LINGER, &l, 4, F.now), -EINVAL);
	assert_int_equal(gt_setsockopt(F.st, 999, SOL_SOCKET, SO_KEEPALIVE, &v, 4, F.now), -EBADF);
	len = sizeof(v);
	assert_int_equal(gt_getsockopt(F.st, 999, SOL_SOCKET, SO_TYPE, &v, &len), -EBADF);
	/* nothing was changed by the failures */
	assert_int_equal(get_int(F.sock, IPPROTO_TCP, TCP_NODELAY), 0);
	fx_expect_none(&F);
}

static void test_so_error_and_type(void **state)
{
	fx_syn_sent(&F);
	assert_int_equal(get_int(F.sock, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	assert_int_equal(get_int(F.sock, SOL_SOCKET, SO_ERROR), 0);
	/* RFC 9293 §3.10.7.3: an acceptable RST in SYN-SENT refuses the connection */
	fx_send(&F, GT_TCP_RST | GT_TCP_ACK, 0, F.iss + 1, 0, NULL, 0);
	assert_int_equal(get_int(F.sock, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
	assert_int_equal(get_int(F.sock, SOL_SOCKET, SO_ERROR), 0); /* taken once */
}

static void test_linger_zero_aborts(void **state)
{
	fx_established(&F);
	struct linger l = {.l_onoff = 1, .l_linger = 0};
	assert_int_equal(gt_setsockopt(F.st, F.sock, SOL_SOCKET, SO_LINGER, &l, sizeof(l), F.now),
	                 0);
	struct linger back = {0};
	size_t len = sizeof(back);
	assert_int_equal(gt_getsockopt(F.st, F.sock, SOL_SOCKET, SO_LINGER, &back, &len), 0);
	assert_int_equal(back.l_onoff, 1);
	assert_int_equal(back.l_linger, 0);
	assert_int_equal(gt_send(F.st, F.sock, "abc", 3, F.now), 3);
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	/* RFC 9293 §3.10.5 ABORT: <SEQ=SND.NXT><CTL=RST>, no FIN */
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_RST, F.peer_rcv_nxt + 3, 0);
	assert_int_equal(p->seg.flags & GT_TCP_FIN, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_CLOSED);
}

static void test_linger_time_closes_normally(void **state)
{
	fx_established(&F);
	struct linger l = {.l_onoff = 1, .l_linger = 5};
	assert_int_equal(gt_setsockopt(F.st, F.sock, SOL_SOCKET, SO_LINGER, &l, sizeof(l), F.now),
	                 0);
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	fx_expect(&F, GT_TCP_FIN | GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	fx_assert_state(&F, GT_TCP_FIN_WAIT_1);
}

static void test_keepalive_options(void **state)
{
	fx_established(&F);
	assert_int_equal(get_int(F.sock, SOL_SOCKET, SO_KEEPALIVE), 0);
	/* set while off: kept for later, nothing armed */
	assert_int_equal(set_int(F.sock, IPPROTO_TCP, TCP_KEEPIDLE, 120), 0);
	assert_int_equal(set_int(F.sock, IPPROTO_TCP, TCP_KEEPINTVL, 10), 0);
	assert_int_equal(set_int(F.sock, IPPROTO_TCP, TCP_KEEPCNT, 2), 0);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
	assert_int_equal(get_int(F.sock, IPPROTO_TCP, TCP_KEEPIDLE), 120);
	assert_int_equal(get_int(F.sock, IPPROTO_TCP, TCP_KEEPINTVL), 10);
	assert_int_equal(get_int(F.sock, IPPROTO_TCP, TCP_KEEPCNT), 2);
	assert_int_equal(set_int(F.sock, IPPROTO_TCP, TCP_KEEPCNT, 0), -EINVAL);
	assert_int_equal(set_int(F.sock, IPPROTO_TCP, TCP_KEEPIDLE, 0), -EINVAL);
	assert_int_equal(set_int(F.sock, IPPROTO_TCP, TCP_KEEPINTVL, 40000), -EINVAL);
	gt_time_us t0 = F.now;
	assert_int_equal(set_int(F.sock, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
	assert_int_equal(get_int(F.sock, SOL_SOCKET, SO_KEEPALIVE), 1);
	gt_keepalive ka;
	assert_int_equal(gt_sock_get_keepalive(F.st, F.sock, &ka), 0);
	assert_true(ka.on);
	assert_int_equal(ka.idle_us, 120 * FX_S);
	assert_int_equal(ka.intvl_us, 10 * FX_S);
	assert_int_equal(ka.probes, 2);
	/* RFC 1122 §4.2.3.6: the first probe after the idle time, at SND.UNA-1 */
	fx_advance_to(&F, t0 + 120 * FX_S - 1);
	fx_expect_none(&F);
	fx_advance_to(&F, t0 + 120 * FX_S);
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt - 1, F.peer_snd_nxt);
	/* changed while on: takes effect (idle counted from now) */
	assert_int_equal(set_int(F.sock, IPPROTO_TCP, TCP_KEEPINTVL, 3), 0);
	assert_int_equal(gt_sock_get_keepalive(F.st, F.sock, &ka), 0);
	assert_int_equal(ka.intvl_us, 3 * FX_S);
	assert_int_equal(set_int(F.sock, SOL_SOCKET, SO_KEEPALIVE, 0), 0);
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

static void test_reuseaddr(void **state)
{
	int s = gt_socket(F.st);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_REUSEADDR), 0);
	assert_int_equal(set_int(s, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_REUSEADDR), 1);
	assert_int_equal(gt_bind(F.st, s, 0, 8080), 0);
}

static void test_getsockname_getpeername(void **state)
{
	int s = gt_socket(F.st);
	struct sockaddr_in sin;
	size_t len = sizeof(sin);
	assert_int_equal(gt_getsockname(F.st, s, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(sin.sin_family, AF_INET);
	assert_int_equal(sin.sin_port, 0);
	assert_int_equal(sin.sin_addr.s_addr, 0);
	assert_int_equal(gt_getpeername(F.st, s, (struct sockaddr *)&sin, &len), -ENOTCONN);
	assert_int_equal(gt_getsockname(F.st, 999, (struct sockaddr *)&sin, &len), -EBADF);
	assert_int_equal(gt_getsockname(F.st, s, NULL, &len), -EINVAL);
	fx_established(&F);
	len = sizeof(sin);
	assert_int_equal(gt_getsockname(F.st, F.sock, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(len, sizeof(sin));
	assert_int_equal(ntohl(sin.sin_addr.s_addr), FX_LOCAL_ADDR);
	assert_int_equal(ntohs(sin.sin_port), FX_LISTEN_PORT);
	assert_int_equal(gt_getpeername(F.st, F.sock, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(ntohl(sin.sin_addr.s_addr), FX_PEER_ADDR);
	assert_int_equal(ntohs(sin.sin_port), F.rport);
	assert_int_equal(gt_getpeername(F.st, F.lsock, (struct sockaddr *)&sin, &len), -ENOTCONN);
	/* a short buffer is filled as far as it goes; len says the full size */
	uint8_t two[2] = {0};
	len = sizeof(two);
	assert_int_equal(gt_getpeername(F.st, F.sock, (struct sockaddr *)two, &len), 0);
	assert_int_equal(len, sizeof(sin));
	uint16_t family;
	memcpy(&family, two, sizeof(family));
	assert_int_equal(family, AF_INET);
}

/* A server restarts while its old connection sits in TIME_WAIT on its port:
 * without SO_REUSEADDR bind() is EADDRINUSE, with it the new listener binds,
 * and a new SYN on the old 4-tuple (above its sequence space) reopens it
 * (RFC 9293 §3.10.7.4, RFC 6191 §2). */
static void test_reuseaddr_server_restart(void **state)
{
	fx_established(&F); /* passive: accepted from the listener on port 80 */
	fx_goto(&F, GT_TCP_TIME_WAIT);
	assert_int_equal(gt_close(F.st, F.sock, F.now), 0);
	assert_int_equal(gt_close(F.st, F.lsock, F.now), 0);
	fx_drain(&F);
	int s = gt_socket(F.st);
	assert_int_equal(gt_bind(F.st, s, 0, FX_LISTEN_PORT), -EADDRINUSE);
	assert_int_equal(gt_bind(F.st, s, 0, FX_LISTEN_PORT + 1), 0); /* another port is free */
	int r = gt_socket(F.st);
	assert_int_equal(set_int(r, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(gt_bind(F.st, r, 0, FX_LISTEN_PORT), 0);
	assert_int_equal(gt_listen(F.st, r, 8, F.now), 0);
	/* a listener owns the port now: even SO_REUSEADDR does not share it */
	int t = gt_socket(F.st);
	assert_int_equal(set_int(t, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(gt_bind(F.st, t, 0, FX_LISTEN_PORT), -EADDRINUSE);
	/* the old peer connects again: the TIME_WAIT 4-tuple is reopened */
	fx_assert_state(&F, GT_TCP_TIME_WAIT);
	fx_send(&F, GT_TCP_SYN, F.peer_snd_nxt + 100000, 0, 8192, NULL, 0);
	const fx_pkt *p = fx_pop(&F);
	assert_int_equal(p->seg.flags, GT_TCP_SYN | GT_TCP_ACK);
	assert_int_equal(p->seg.ack, F.peer_snd_nxt + 100001);
	fx_assert_state(&F, GT_TCP_SYN_RECEIVED);
}

static void test_buffer_sizes(void **state)
{
	int s = gt_socket(F.st);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_RCVBUF), (int)F.st->cfg.rcvbuf);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_SNDBUF), (int)F.st->cfg.sndbuf);
	assert_int_equal(set_int(s, SOL_SOCKET, SO_RCVBUF, 16384), 0);
	assert_int_equal(set_int(s, SOL_SOCKET, SO_SNDBUF, 4096), 0);
	assert_int_equal(set_int(s, SOL_SOCKET, SO_RCVBUF, 100), -EINVAL);
	assert_int_equal(set_int(s, SOL_SOCKET, SO_SNDBUF, (int)GT_SOCKBUF_MAX + 1), -EINVAL);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_RCVBUF), 16384);
	assert_int_equal(gt_connect(F.st, s, FX_PEER_ADDR, F.rport, F.now), -EINPROGRESS);
	/* the SYN offers the smaller buffer as its window */
	const fx_pkt *p = fx_expect(&F, GT_TCP_SYN, F.iss, 0);
	assert_int_equal(p->seg.wnd, 16384);
	assert_int_equal(set_int(s, SOL_SOCKET, SO_RCVBUF, 65536), -EISCONN);
	assert_int_equal(get_int(s, SOL_SOCKET, SO_SNDBUF), 4096);
	/* the send buffer holds 4096 bytes, no more */
	static char big[8192];
	assert_int_equal(gt_send(F.st, s, big, sizeof(big), F.now), 4096);
}

static void test_nodelay_per_connection(void **state)
{
	fx_established(&F);
	assert_int_equal(get_int(F.sock, IPPROTO_TCP, TCP_NODELAY), 0);
	/* Nagle (RFC 9293 §3.7.4): a second small segment waits for the ACK */
	assert_int_equal(gt_send(F.st, F.sock, "a", 1, F.now), 1);
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	assert_int_equal(gt_send(F.st, F.sock, "b", 1, F.now), 1);
	fx_expect_none(&F);
	/* TCP_NODELAY sends what was held back at once, and the next too */
	assert_int_equal(set_int(F.sock, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	assert_int_equal(get_int(F.sock, IPPROTO_TCP, TCP_NODELAY), 1);
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt + 1, F.peer_snd_nxt);
	assert_int_equal(gt_send(F.st, F.sock, "c", 1, F.now), 1);
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt + 2, F.peer_snd_nxt);
	/* per connection: another socket keeps the stack's default */
	int other = gt_socket(F.st);
	assert_int_equal(get_int(other, IPPROTO_TCP, TCP_NODELAY), 0);
}

static void test_maxseg(void **state)
{
	int s = gt_socket(F.st);
	assert_int_equal(get_int(s, IPPROTO_TCP, TCP_MAXSEG), 1460);
	assert_int_equal(set_int(s, IPPROTO_TCP, TCP_MAXSEG, 87), -EINVAL);
	assert_int_equal(set_int(s, IPPROTO_TCP, TCP_MAXSEG, 1200), 0);
	assert_int_equal(get_int(s, IPPROTO_TCP, TCP_MAXSEG), 1200);
	F.sock = s;
	assert_int_equal(gt_connect(F.st, s, FX_PEER_ADDR, F.rport, F.now), -EINPROGRESS);
	const fx_pkt *p = fx_expect(&F, GT_TCP_SYN, F.iss, 0);
	assert_true(p->seg.opts.has_mss);
	assert_int_equal(p->seg.opts.mss, 1200); /* RFC 9293 §3.7.1: what we announce */
	F.lport = p->seg.src_port;
	assert_int_equal(set_int(s, IPPROTO_TCP, TCP_MAXSEG, 1000), -EISCONN);
	/* the peer's MSS (fixture: 1460 unless set) is what we send with */
	fx_send_seg(&F, &(fx_seg){.flags = GT_TCP_SYN | GT_TCP_ACK,
	                          .seq = F.opts.peer_iss,
	                          .ack = F.iss + 1,
	                          .wnd = 65535,
	                          .mss = 536});
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.opts.peer_iss + 1);
	assert_int_equal(get_int(s, IPPROTO_TCP, TCP_MAXSEG), 536);
}

static void test_user_timeout(void **state)
{
	fx_established(&F);
	assert_int_equal(get_int(F.sock, IPPROTO_TCP, TCP_USER_TIMEOUT), 0);
	assert_int_equal(set_int(F.sock, IPPROTO_TCP, TCP_USER_TIMEOUT, -1), -EINVAL);
	assert_int_equal(set_int(F.sock, IPPROTO_TCP, TCP_USER_TIMEOUT, 3000), 0);
	assert_int_equal(get_int(F.sock, IPPROTO_TCP, TCP_USER_TIMEOUT), 3000);
	gt_time_us t0 = F.now;
	assert_int_equal(gt_send(F.st, F.sock, "data", 4, F.now), 4);
	fx_expect(&F, GT_TCP_ACK, F.peer_rcv_nxt, F.peer_snd_nxt);
	/* RFC 9293 §3.8.3: unacknowledged for 3 s, the connection is aborted */
	fx_advance_to(&F, t0 + 3 * FX_S - 1);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	fx_advance_to(&F, t0 + 3 * FX_S);
	fx_assert_state(&F, GT_TCP_CLOSED);
	char buf[8];
	assert_int_equal(gt_recv(F.st, F.sock, buf, sizeof(buf), F.now), -ETIMEDOUT);
}

static void test_congestion(void **state)
{
	int s = gt_socket(F.st);
	char name[16] = {0};
	size_t len = sizeof(name);
	assert_int_equal(gt_getsockopt(F.st, s, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
	assert_string_equal(name, "reno");
	assert_int_equal(len, 5);
	len = 2; /* cut short, as Linux */
	memset(name, 0, sizeof(name));
	assert_int_equal(gt_getsockopt(F.st, s, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
	assert_int_equal(len, 2);
	assert_string_equal(name, "re");
	assert_int_equal(gt_setsockopt(F.st, s, IPPROTO_TCP, TCP_CONGESTION, "reno", 4, F.now), 0);
	assert_int_equal(gt_setsockopt(F.st, s, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5, F.now),
	                 -ENOENT);
}

static void test_tcp_info(void **state)
{
	fx_listen(&F);
	struct tcp_info ti;
	size_t len = sizeof(ti);
	assert_int_equal(gt_getsockopt(F.st, F.lsock, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	assert_int_equal(len, sizeof(ti));
	assert_int_equal(ti.tcpi_state, 10); /* Linux's TCP_LISTEN */
	fx_free(&F);
	fx_init(&F, NULL);
	fx_established(&F);
	len = sizeof(ti);
	assert_int_equal(gt_getsockopt(F.st, F.sock, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	assert_int_equal(ti.tcpi_state, 1); /* TCP_ESTABLISHED */
	assert_int_equal(ti.tcpi_snd_mss, fx_tcb(&F)->snd_mss);
	assert_int_equal(ti.tcpi_rcv_mss, F.cfg.mss);
	assert_int_equal(ti.tcpi_unacked, 0);
	assert_int_equal(ti.tcpi_retransmits, 0);
	assert_int_equal(ti.tcpi_total_retrans, 0);
	assert_true(ti.tcpi_rto >= F.cfg.rto_min_us);
	/* two segments in flight, then a timeout (RFC 6298 §5.5: backoff) */
	static char data[4096];
	assert_int_equal(gt_send(F.st, F.sock, data, 2 * fx_tcb(&F)->snd_mss, F.now),
	                 (ssize_t)(2 * fx_tcb(&F)->snd_mss));
	fx_drain(&F);
	len = sizeof(ti);
	assert_int_equal(gt_getsockopt(F.st, F.sock, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	assert_int_equal(ti.tcpi_unacked, 2);
	uint32_t rto = ti.tcpi_rto;
	fx_step(&F);
	fx_drain(&F);
	len = sizeof(ti);
	assert_int_equal(gt_getsockopt(F.st, F.sock, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	assert_int_equal(ti.tcpi_retransmits, 1);
	assert_int_equal(ti.tcpi_backoff, 1);
	assert_int_equal(ti.tcpi_total_retrans, 1);
	assert_int_equal(ti.tcpi_retrans, 1); /* the first segment, sent again */
	assert_int_equal(ti.tcpi_rto, 2 * rto);
	/* the last segment came in with the handshake, one RTO ago */
	assert_int_equal(ti.tcpi_last_ack_recv, rto / 1000);
	/* a short buffer gets the front of the struct */
	uint8_t head[8];
	len = sizeof(head);
	assert_int_equal(gt_getsockopt(F.st, F.sock, IPPROTO_TCP, TCP_INFO, head, &len), 0);
	assert_int_equal(len, sizeof(head));
	assert_int_equal(head[0], 1);
}

static void test_tcp_info_options(void **state)
{
	/* a SYN with timestamps, SACK-permitted and window scale */
	fx_listen(&F);
	gt_tcp_opts o = {.has_mss = true,
	                 .mss = 1460,
	                 .sack_permitted = true,
	                 .has_ts = true,
	                 .ts_val = 100,
	                 .has_wscale = true,
	                 .wscale = 7};
	fx_send_seg(
	    &F, &(fx_seg){.flags = GT_TCP_SYN, .seq = F.opts.peer_iss, .wnd = 65535, .opts = &o});
	fx_drain(&F);
	struct tcp_info ti;
	size_t len = sizeof(ti);
	gt_sock_info in;
	assert_int_equal(gt_sock_get_info(F.st, F.lsock, &in), 0);
	assert_int_equal(in.state, GT_TCP_LISTEN);
	/* the SYN_RECEIVED child is not a socket yet: look at it through the TCB */
	gt_tcb *tcb = fx_tcb(&F);
	assert_non_null(tcb);
	assert_true(tcb->ts_ok && tcb->sack_ok && tcb->ws_ok);
	/* RFC 7323 §3.2: once agreed, the ACK must carry TSopt too */
	gt_tcp_opts ack_opts = {.has_ts = true, .ts_val = 101, .ts_ecr = tcb->ts_recent};
	fx_send_seg(&F, &(fx_seg){.flags = GT_TCP_ACK,
	                          .seq = F.opts.peer_iss + 1,
	                          .ack = tcb->iss + 1,
	                          .wnd = 512,
	                          .opts = &ack_opts});
	int s = gt_accept(F.st, F.lsock, NULL, NULL);
	assert_true(s >= 0);
	assert_int_equal(gt_getsockopt(F.st, s, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	assert_int_equal(ti.tcpi_options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE),
	                 TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
	assert_int_equal(ti.tcpi_snd_wscale, 7);
	assert_int_equal(ti.tcpi_rcv_wscale, fx_tcb(&F)->rcv_wscale);
	/* RFC 7323: the 12 bytes of TSopt come off the MSS */
	assert_int_equal(ti.tcpi_snd_mss, 1460 - 12);
}

/* RFC 6675: segments above a hole SACKed make it lost (tcpi_lost), and
 * its fast retransmission shows in tcpi_retrans. */
static void test_tcp_info_sack_loss(void **state)
{
	fx_listen(&F);
	gt_tcp_opts o = {.has_mss = true, .mss = 1000, .sack_permitted = true};
	fx_send_seg(
	    &F, &(fx_seg){.flags = GT_TCP_SYN, .seq = F.opts.peer_iss, .wnd = 65535, .opts = &o});
	const fx_pkt *sa = fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, F.opts.peer_iss + 1);
	uint32_t iss = sa->seg.seq;
	fx_send(&F, GT_TCP_ACK, F.opts.peer_iss + 1, iss + 1, 65535, NULL, 0);
	int s = gt_accept(F.st, F.lsock, NULL, NULL);
	assert_true(s >= 0);
	static char data[4000];
	assert_int_equal(gt_send(F.st, s, data, sizeof(data), F.now), 4000);
	fx_drain(&F);
	/* segments 2, 3 and 4 arrive, the first does not: three duplicate ACKs
	 * with growing SACK blocks (RFC 2018) */
	for (uint32_t k = 2; k <= 4; k++) {
		gt_tcp_opts ack = {.sack_count = 1};
		ack.sack[0].left = iss + 1 + 1000;
		ack.sack[0].right = iss + 1 + 1000 * k;
		fx_send_seg(&F, &(fx_seg){.flags = GT_TCP_ACK,
		                          .seq = F.opts.peer_iss + 1,
		                          .ack = iss + 1,
		                          .wnd = 65535,
		                          .opts = &ack});
	}
	struct tcp_info ti;
	size_t len = sizeof(ti);
	assert_int_equal(gt_getsockopt(F.st, s, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	assert_int_equal(ti.tcpi_sacked, 3);
	assert_int_equal(ti.tcpi_lost, 1);
	assert_int_equal(ti.tcpi_retrans, 1);
	assert_int_equal(ti.tcpi_unacked, 4);
	assert_true(ti.tcpi_options & TCPI_OPT_SACK);
}

static void test_profiles(void **state)
{
	gt_stack_config c;
	gt_stack_config_default(&c);
	c.delack_us = 1;
	assert_int_equal(gt_stack_config_profile(&c, "linux"), 0);
	assert_int_equal(c.delack_us, 40000);
	assert_int_equal(c.rto_min_us, 200000);
	assert_int_equal(c.rto_initial_us, 1000000);
	gt_stack_config_default(&c);
	assert_int_equal(gt_stack_config_profile(&c, "freebsd"), 0);
	assert_int_equal(c.delack_us, 100000);
	assert_int_equal(c.rcvbuf, 65536);
	assert_int_equal(c.sndbuf, 32768);
	gt_stack_config d;
	gt_stack_config_default(&c);
	assert_int_equal(gt_stack_config_profile(&c, "rfc"), 0);
	assert_int_equal(c.rto_min_us, 1000000); /* RFC 6298 §2.4 (test_profiles has the rest) */
	d = c;
	assert_int_equal(gt_stack_config_profile(&c, "windows"), -EINVAL);
	assert_int_equal(gt_stack_config_profile(&c, NULL), -EINVAL);
	assert_int_equal(gt_stack_config_profile(NULL, "linux"), -EINVAL);
	assert_memory_equal(&c, &d, sizeof(c)); /* unchanged by the failures */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_errors),
	    FX_TEST(test_so_error_and_type),
	    FX_TEST(test_linger_zero_aborts),
	    FX_TEST(test_linger_time_closes_normally),
	    FX_TEST(test_keepalive_options),
	    FX_TEST(test_reuseaddr),
	    FX_TEST(test_reuseaddr_server_restart),
	    FX_TEST(test_getsockname_getpeername),
	    FX_TEST(test_buffer_sizes),
	    FX_TEST(test_nodelay_per_connection),
	    FX_TEST(test_maxseg),
	    FX_TEST(test_user_timeout),
	    FX_TEST(test_congestion),
	    FX_TEST(test_tcp_info),
	    FX_TEST(test_tcp_info_options),
	    FX_TEST(test_tcp_info_sack_loss),
	    FX_TEST(test_profiles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
