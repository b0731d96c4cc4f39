/* SEGMENT ARRIVES in CLOSED (RFC 9293 §3.10.7.1) and LISTEN (§3.10.7.2). */
#include "fixture.h"
#include "stack/stack_impl.h"

#include <errno.h>
#include <string.h>

static uint64_t drops(gt_drop_reason r)
{
	return gt_stack_get_counters(F.st)->drop[r];
}

/* ---- CLOSED: no TCB for the segment ---- */

/* "If the ACK bit is off, sequence number zero is used,
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>", SEG.LEN counting SYN and FIN. */
static void test_closed_syn_gets_rst_ack(void **state)
{
	fx_send(&F, GT_TCP_SYN, 1000, 0, 8192, NULL, 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_RST | GT_TCP_ACK, 0, 1001);
	assert_int_equal(p->seg.payload_len, 0);
	assert_int_equal(p->seg.dst_addr, FX_PEER_ADDR);
	assert_int_equal(p->seg.dst_port, FX_PEER_PORT);
	assert_int_equal(p->seg.src_port, FX_LISTEN_PORT);
	fx_expect_none(&F);
	assert_int_equal(drops(GT_DROP_NO_CONNECTION), 1);
	assert_int_equal(gt_stack_get_counters(F.st)->tx_rsts, 1);
	assert_int_equal(gt_stack_conn_count(F.st), 0);
}

static void test_closed_ackless_lengths(void **state)
{
	static const uint8_t data[10] = "0123456789";
	/* text only */
	fx_send(&F, GT_TCP_PSH, 5000, 0, 8192, data, 10);
	fx_expect(&F, GT_TCP_RST | GT_TCP_ACK, 0, 5010);
	/* FIN counts one */
	fx_send(&F, GT_TCP_FIN, 7000, 0, 8192, data, 4);
	fx_expect(&F, GT_TCP_RST | GT_TCP_ACK, 0, 7005);
	/* SYN with text: both count */
	fx_send(&F, GT_TCP_SYN, 0xFFFFFFFEu, 0, 8192, data, 3);
	fx_expect(&F, GT_TCP_RST | GT_TCP_ACK, 0, 0xFFFFFFFEu + 4);
	/* a bare segment with no flags at all */
	fx_send(&F, 0, 42, 0, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_RST | GT_TCP_ACK, 0, 42);
	fx_expect_none(&F);
}

/* "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>" */
static void test_closed_ack_gets_rst_at_seg_ack(void **state)
{
	static const uint8_t data[5] = "hello";
	fx_send(&F, GT_TCP_ACK, 1000, 0xdeadbeef, 8192, NULL, 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_RST, 0xdeadbeef, 0);
	assert_false(p->seg.flags & GT_TCP_ACK);
	fx_send(&F, GT_TCP_ACK | GT_TCP_PSH, 1000, 77, 8192, data, 5);
	fx_expect(&F, GT_TCP_RST, 77, 0);
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, 1000, 0x12345678, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_RST, 0x12345678, 0);
	fx_send(&F, GT_TCP_FIN | GT_TCP_ACK, 1000, 99, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_RST, 99, 0);
	fx_expect_none(&F);
}

/* "An incoming segment containing a RST is discarded." */
static void test_closed_rst_never_answered(void **state)
{
	fx_send(&F, GT_TCP_RST, 1000, 0, 0, NULL, 0);
	fx_send(&F, GT_TCP_RST | GT_TCP_ACK, 1000, 2000, 0, NULL, 0);
	fx_expect_none(&F);
	assert_int_equal(gt_stack_get_counters(F.st)->tx_rsts, 0);
}

/* A listener on another port does not change anything for this one. */
static void test_closed_port_next_to_listener(void **state)
{
	fx_listen(&F);
	F.lport = 81;
	fx_send(&F, GT_TCP_SYN, 1000, 0, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_RST | GT_TCP_ACK, 0, 1001);
	fx_expect_none(&F);
	assert_int_equal(gt_stack_conn_count(F.st), 1);
}

/* A socket that is bound but neither listening nor connected is CLOSED. */
static void test_closed_bound_socket_answers_rst(void **state)
{
	int s = gt_socket(F.st);
	assert_true(s >= 0);
	assert_int_equal(gt_bind(F.st, s, 0, FX_LISTEN_PORT), 0);
	fx_send(&F, GT_TCP_SYN, 1000, 0, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_RST | GT_TCP_ACK, 0, 1001);
	assert_int_equal(gt_sock_state(F.st, s), GT_TCP_CLOSED);
}

/* ---- LISTEN ---- */

/* "first check for an RST: an incoming RST segment could not be valid since
 * it could not have been sent in response to anything sent by this incarnation
 * of the connection. An incoming RST should be ignored." */
/* RFC 1122 §3.2.1.3 (issue 12): martian sources create nothing and draw
 * nothing, each under its own drop counter: a SYN from 127.0.0.1, a LAND SYN
 * (our own address and port as the source), and one from 0/8. */
static void test_listen_martian_sources_dropped(void **state)
{
	fx_listen(&F);
	size_t conns = gt_stack_conn_count(F.st);
	const struct {
		uint32_t src;
		uint16_t port;
		gt_drop_reason why;
	} cases[] = {
	    {0x7f000001u, 40000, GT_DROP_SRC_LOOPBACK},
	    {FX_LOCAL_ADDR, FX_LISTEN_PORT, GT_DROP_SRC_OWN_ADDR},
	    {0x00010203u, 40000, GT_DROP_BAD_SRC_ADDR},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fx_seg syn = {.src_addr = cases[i].src,
		              .src_port = cases[i].port,
		              .flags = GT_TCP_SYN,
		              .seq = 1000,
		              .wnd = 65535,
		              .mss = 1460};
		fx_send_seg(&F, &syn);
		fx_expect_none(&F);
		assert_int_equal(gt_stack_conn_count(F.st), conns);
		assert_int_equal(gt_stack_get_counters(F.st)->drop[cases[i].why], 1);
	}
	/* a real client still gets its SYN-ACK */
	fx_send(&F, GT_TCP_SYN, F.opts.peer_iss, 0, F.peer_wnd, NULL, 0);
	fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, F.opts.peer_iss + 1);
}

static void test_listen_rst_ignored(void **state)
{
	fx_listen(&F);
	fx_send(&F, GT_TCP_RST, 1000, 0, 0, NULL, 0);
	fx_send(&F, GT_TCP_RST | GT_TCP_ACK, 1000, 5, 0, NULL, 0);
	fx_expect_none(&F);
	assert_int_equal(gt_sock_state(F.st, F.lsock), GT_TCP_LISTEN);
	assert_int_equal(drops(GT_DROP_LISTEN_BAD), 2);
	assert_int_equal(gt_stack_conn_count(F.st), 1);
}

/* "second check for an ACK: any acknowledgment is bad if it arrives on a
 * connection still in the LISTEN state. An acceptable reset segment should be
 * formed for any arriving ACK-bearing segment: <SEQ=SEG.ACK><CTL=RST>" */
static void test_listen_ack_gets_rst(void **state)
{
	fx_listen(&F);
	fx_send(&F, GT_TCP_ACK, 1000, 0xabcdef01, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_RST, 0xabcdef01, 0);
	/* a SYN-ACK is an ACK-bearing segment too */
	fx_send(&F, GT_TCP_SYN | GT_TCP_ACK, 1000, 4242, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_RST, 4242, 0);
	fx_expect_none(&F);
	assert_int_equal(gt_sock_state(F.st, F.lsock), GT_TCP_LISTEN);
	assert_int_equal(gt_stack_conn_count(F.st), 1);
}

/* "third check for a SYN: ... send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, and
 * the connection state should be changed to SYN-RECEIVED"; RFC 9293 §3.7.1:
 * the MSS option is sent on the SYN. */
static void test_listen_syn_gets_syn_ack(void **state)
{
	fx_listen(&F);
	fx_send(&F, GT_TCP_SYN, F.opts.peer_iss, 0, 8192, NULL, 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, F.opts.peer_iss + 1);
	assert_true(p->seg.opts.has_mss);
	assert_int_equal(p->seg.opts.mss, 1460);
	assert_true(p->seg.wnd > 0);
	assert_int_equal(p->seg.payload_len, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_SYN_RECEIVED);
	const fx_state_ev *e = fx_find_transition(&F, GT_TCP_LISTEN, GT_TCP_SYN_RECEIVED);
	assert_non_null(e);
	assert_int_equal(e->conn.remote_port, FX_PEER_PORT);
	assert_int_equal(e->conn.local_port, FX_LISTEN_PORT);
	/* the listener stays, the child is a separate connection */
	assert_int_equal(gt_sock_state(F.st, F.lsock), GT_TCP_LISTEN);
	assert_int_equal(gt_stack_conn_count(F.st), 2);
	/* not yet acceptable */
	assert_int_equal(gt_accept(F.st, F.lsock, NULL, NULL), -EAGAIN);
	assert_int_equal(gt_poll(F.st, F.lsock), 0);
}

/* RFC 9293 §3.7.1: without an MSS option the peer takes 536. */
static void test_listen_syn_without_mss_uses_536(void **state)
{
	static uint8_t data[2000];
	F.peer_mss = 0;
	fx_established(&F);
	assert_int_equal(gt_send(F.st, F.sock, data, sizeof(data), F.now), (ssize_t)sizeof(data));
	uint32_t seq = F.iss + 1;
	for (int i = 0; i < 3; i++) {
		const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, seq, F.peer_snd_nxt);
		assert_int_equal(p->seg.payload_len, 536);
		seq += 536;
	}
	/* three full segments, then the 392-byte tail at once: Nagle in
	 * Minshall's variant (RFC 9293 §3.7.4; draft-minshall-nagle-01) holds
	 * a small segment only while another small one is unacknowledged */
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, seq, F.peer_snd_nxt);
	assert_int_equal(p->seg.payload_len, 2000 - 3 * 536);
	seq += 2000 - 3 * 536;
	fx_expect_none(&F);
	/* the tail is small and unacknowledged: the next small write waits */
	assert_int_equal(gt_send(F.st, F.sock, data, 10, F.now), 10);
	fx_expect_none(&F);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, seq, 65535, NULL, 0);
	p = fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, seq, F.peer_snd_nxt);
	assert_int_equal(p->seg.payload_len, 10);
	fx_expect_none(&F);
}

static void no_syncookies(fx_opts *o)
{
	o->cfg.syncookies = GT_SYNCOOKIES_OFF;
}

/* Backlog, SYN cookies off: a full SYN queue drops (and counts) the SYN; no
 * RST (the peer retries). */
static void test_listen_backlog_full(void **state)
{
	fx_reinit_with(no_syncookies);
	F.opts.backlog = 1;
	fx_listen(&F);
	fx_send(&F, GT_TCP_SYN, 1000, 0, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, 1001);
	F.rport = 50000;
	fx_send(&F, GT_TCP_SYN, 3000, 0, 8192, NULL, 0);
	fx_expect_none(&F);
	assert_int_equal(drops(GT_DROP_SYN_QUEUE_FULL), 1);
	assert_int_equal(gt_stack_conn_count(F.st), 2);

	/* the first completes: the accept queue (backlog 1) is now full */
	F.rport = FX_PEER_PORT;
	fx_send(&F, GT_TCP_ACK, 1001, F.iss + 1, 8192, NULL, 0);
	fx_expect_none(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	assert_int_equal(gt_poll(F.st, F.lsock), GT_POLLIN);
	F.rport = 50000;
	fx_send(&F, GT_TCP_SYN, 3000, 0, 8192, NULL, 0);
	fx_expect_none(&F);
	assert_int_equal(drops(GT_DROP_ACCEPT_QUEUE_FULL), 1);

	/* once accepted, the retried SYN gets through */
	int c = gt_accept(F.st, F.lsock, NULL, NULL);
	assert_true(c >= 0);
	fx_send(&F, GT_TCP_SYN, 3000, 0, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, 3001);
	fx_assert_state(&F, GT_TCP_SYN_RECEIVED);
}

/* "fourth, other text or control: any other control or text-bearing segment
 * (not containing SYN) must have an ACK and thus would have been discarded by
 * the ACK processing ... drop the segment and return." */
static void test_listen_junk_dropped(void **state)
{
	static const uint8_t data[4] = "junk";
	fx_listen(&F);
	fx_send(&F, 0, 1000, 0, 8192, NULL, 0);
	fx_send(&F, GT_TCP_PSH, 1000, 0, 8192, data, 4);
	fx_send(&F, GT_TCP_FIN, 1000, 0, 8192, NULL, 0);
	fx_send(&F, GT_TCP_URG, 1000, 0, 8192, data, 4);
	fx_expect_none(&F);
	assert_int_equal(drops(GT_DROP_LISTEN_BAD), 4);
	assert_int_equal(gt_stack_conn_count(F.st), 1);
	assert_int_equal(gt_sock_state(F.st, F.lsock), GT_TCP_LISTEN);
	/* and it still works */
	fx_send(&F, GT_TCP_SYN, 1000, 0, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, 1001);
}

/* SYN+FIN and SYN+RST are never a connection request. */
static void test_listen_bad_flag_combinations(void **state)
{
	fx_listen(&F);
	fx_send(&F, GT_TCP_SYN | GT_TCP_FIN, 1000, 0, 8192, NULL, 0);
	fx_send(&F, GT_TCP_SYN | GT_TCP_RST, 1000, 0, 8192, NULL, 0);
	fx_expect_none(&F);
	assert_int_equal(gt_stack_conn_count(F.st), 1);
}

/* Several peers: each SYN makes its own child, demultiplexed by 4-tuple. */
static void test_listen_many_children(void **state)
{
	fx_listen(&F);
	for (uint16_t i = 0; i < 10; i++) {
		F.rport = (uint16_t)(40000 + i);
		fx_send(&F, GT_TCP_SYN, 1000u * i, 0, 8192, NULL, 0);
		fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, 1000u * i + 1);
	}
	for (uint16_t i = 0; i < 10; i++) {
		F.rport = (uint16_t)(40000 + i);
		fx_send(&F, GT_TCP_ACK, 1000u * i + 1, F.iss + 1, 8192, NULL, 0);
		fx_assert_state(&F, GT_TCP_ESTABLISHED);
	}
	fx_expect_none(&F);
	/* accepted in the order they completed */
	for (uint16_t i = 0; i < 10; i++) {
		uint16_t port = 0;
		int c = gt_accept(F.st, F.lsock, NULL, &port);
		assert_true(c >= 0);
		assert_int_equal(port, 40000 + i);
	}
	assert_int_equal(gt_accept(F.st, F.lsock, NULL, NULL), -EAGAIN);
}

/* close() of a listener resets the connections nobody accepted. */
static void test_listen_close_resets_unaccepted(void **state)
{
	fx_syn_received(&F);
	fx_peer_ack(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	assert_int_equal(gt_close(F.st, F.lsock, F.now), 0);
	fx_expect(&F, GT_TCP_RST, F.iss + 1, 0);
	fx_expect_none(&F);
	assert_int_equal(gt_stack_conn_count(F.st), 0);
	/* the port is closed now */
	F.rport = 50001;
	fx_send(&F, GT_TCP_SYN, 1000, 0, 8192, NULL, 0);
	fx_expect(&F, GT_TCP_RST | GT_TCP_ACK, 0, 1001);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_closed_syn_gets_rst_ack),
	    FX_TEST(test_closed_ackless_lengths),
	    FX_TEST(test_closed_ack_gets_rst_at_seg_ack),
	    FX_TEST(test_closed_rst_never_answered),
	    FX_TEST(test_closed_port_next_to_listener),
	    FX_TEST(test_closed_bound_socket_answers_rst),
	    FX_TEST(test_listen_martian_sources_dropped),
	    FX_TEST(test_listen_rst_ignored),
	    FX_TEST(test_listen_ack_gets_rst),
	    FX_TEST(test_listen_syn_gets_syn_ack),
	    FX_TEST(test_listen_syn_without_mss_uses_536),
	    FX_TEST(test_listen_backlog_full),
	    FX_TEST(test_listen_junk_dropped),
	    FX_TEST(test_listen_bad_flag_combinations),
	    FX_TEST(test_listen_many_children),
	    FX_TEST(test_listen_close_resets_unaccepted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
