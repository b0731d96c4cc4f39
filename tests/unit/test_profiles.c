/* The observable defaults a profile chooses (docs/profiles.md), one setting
 * at a time: the initial window (RFC 5681 §3.1 or RFC 6928), quick ACKs at
 * the start of a connection and for a FIN, the window scale offered for the
 * largest receive buffer, and the options' layout on the wire. */
#include "fixture.h"
#include "stack/stack_impl.h"

#include <errno.h>
#include <string.h>

/* Data segments the stack sends at once after the handshake, given 64 KiB
 * to send and the peer's 64 KiB window. */
static unsigned first_flight(void)
{
	static uint8_t buf[65536];
	fx_established(&F);
	assert_int_equal(gt_send(F.st, F.sock, buf, 30000, F.now), 30000);
	unsigned n = 0;
	while (fx_pending(&F) > 0) {
		const fx_pkt *p = fx_pop(&F);
		assert_int_equal(p->seg.payload_len, 1460);
		n++;
	}
	return n;
}

/* RFC 5681 §3.1: 3 segments of 1460 bytes by default. */
static void test_initial_window_rfc5681(void **state)
{
	assert_int_equal(first_flight(), 3);
}

static void iw10(fx_opts *o)
{
	o->cfg.initial_window = 10;
}

/* RFC 6928: 10 segments. */
static void test_initial_window_10(void **state)
{
	fx_reinit_with(iw10);
	assert_int_equal(first_flight(), 10);
}

static void quick2(fx_opts *o)
{
	o->cfg.delack_us = 40 * FX_MS;
	o->cfg.quickack_segs = 2;
}

/* The first quickack_segs data segments are ACKed at once; then the delayed
 * ACK policy (every second segment, or after delack_us). */
static void test_quickack_at_start(void **state)
{
	fx_reinit_with(quick2);
	fx_established(&F);
	uint8_t d[100] = {0};
	for (int i = 0; i < 2; i++) {
		fx_peer_data(&F, d, 100);
		fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	}
	fx_peer_data(&F, d, 100);
	fx_expect_none(&F); /* delayed now */
	fx_peer_data(&F, d, 100);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt); /* the second of a pair */
	fx_peer_data(&F, d, 100);
	fx_expect_none(&F);
	fx_advance(&F, 40 * FX_MS);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt); /* the timer */
}

static void delack_only(fx_opts *o)
{
	o->cfg.delack_us = 40 * FX_MS;
}

static void delack_quick_fin(fx_opts *o)
{
	o->cfg.delack_us = 40 * FX_MS;
	o->cfg.quickack_fin = true;
}

/* A FIN's ACK waits delack_us by default (a prompt close() puts our FIN on
 * it); with quickack_fin it goes at once. */
static void test_quickack_fin(void **state)
{
	fx_reinit_with(delack_only);
	fx_established(&F);
	fx_peer_fin(&F);
	fx_expect_none(&F);
	fx_advance(&F, 40 * FX_MS);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);

	fx_reinit_with(delack_quick_fin);
	fx_established(&F);
	fx_peer_fin(&F);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	fx_assert_state(&F, GT_TCP_CLOSE_WAIT);
}

static void rcvbuf_max_15m(fx_opts *o)
{
	o->cfg.rcvbuf_max = 15u << 20;
}

/* RFC 7323 §2.3: the shift offered covers the largest buffer a socket may
 * ask for (15 MiB: 8, as Linux's SYN shows), though this one has 64 KiB:
 * the window offered is what the buffer holds (65536, kept whole since it
 * is scaled anyway), in units of 256. */
static void test_wscale_for_rcvbuf_max(void **state)
{
	fx_reinit_with(rcvbuf_max_15m);
	fx_syn_sent(&F);
	assert_true(F.last.seg.opts.has_wscale);
	assert_int_equal(F.last.seg.opts.wscale, 8);
	assert_int_equal(F.last.seg.wnd, 65535); /* RFC 7323 §2.2: a SYN's is never scaled */
	gt_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.has_mss = true;
	o.mss = 1460;
	o.has_wscale = true;
	o.wscale = 7;
	fx_seg synack = {.flags = GT_TCP_SYN | GT_TCP_ACK,
	                 .seq = F.opts.peer_iss,
	                 .ack = F.iss + 1,
	                 .wnd = F.peer_wnd,
	                 .opts = &o};
	fx_send_seg(&F, &synack);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.opts.peer_iss + 1);
	assert_int_equal(p->seg.wnd, 65536 >> 8); /* 64 KiB kept whole: it is scaled anyway */
	assert_int_equal(fx_tcb(&F)->rcv_wscale, 8);
}

/* The layout setting reaches the wire: FreeBSD's SYN. */
static void freebsd_layout(fx_opts *o)
{
	o->cfg.opt_layout = GT_OPT_LAYOUT_FREEBSD;
	o->cfg.rcvbuf_max = 2u << 20; /* kern.ipc.maxsockbuf: shift 6 */
}

static void test_freebsd_syn_layout(void **state)
{
	fx_reinit_with(freebsd_layout);
	fx_syn_sent(&F);
	const uint8_t *opt = F.last.raw + 40;
	const uint8_t want[] = {0x02, 0x04, 0x05, 0xb4, 0x01, 0x03,
	                        0x03, 0x06, 0x04, 0x02, 0x08, 0x0a};
	assert_int_equal(F.last.len, 60);
	assert_memory_equal(opt, want, sizeof(want));
}

/* RFC 5681 §1: "the initial window is the size of the sender's congestion
 * window after the three-way handshake is completed": the ACK of our SYN
 * (active open) or of our SYN-ACK (passive) does not grow it. */
static void test_cwnd_after_handshake_is_iw(void **state)
{
	fx_reinit_with(iw10);
	fx_established_passive(&F);
	assert_int_equal(fx_tcb(&F)->cwnd, 10 * 1460);
	fx_reinit_with(iw10);
	fx_established_active(&F);
	assert_int_equal(fx_tcb(&F)->cwnd, 10 * 1460);
}

static void rst_with_ack(fx_opts *o)
{
	o->cfg.rst_ack = true;
}

/* RFC 9293 §3.10.5 ABORT sends <SEQ=SND.NXT><CTL=RST>; with rst_ack (Linux,
 * FreeBSD) the reset also carries ACK with RCV.NXT. */
static void test_abort_reset_with_and_without_ack(void **state)
{
	fx_established(&F);
	assert_int_equal(gt_abort(F.st, F.sock, F.now), 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_RST, F.iss + 1, 0);
	assert_false(p->seg.flags & GT_TCP_ACK);
	fx_reinit_with(rst_with_ack);
	fx_established(&F);
	assert_int_equal(gt_abort(F.st, F.sock, F.now), 0);
	fx_expect(&F, GT_TCP_RST | GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
}

/* ---- TSO ---- */

typedef struct wire_seg {
	uint32_t seq, len;
	uint8_t flags;
} wire_seg;

typedef struct wire_log {
	wire_seg s[256];
	size_t n;
	size_t packets; /* as the stack sent them, before any split */
	uint32_t largest;
} wire_log;

static void log_piece(void *user, const uint8_t *pkt, size_t len)
{
	wire_log *w = user;
	gt_segment seg;
	assert_int_equal(gt_wire_parse(pkt, len, &seg), GT_DROP_NONE);
	assert_true(w->n < 256);
	w->s[w->n++] = (wire_seg){seg.seq, seg.payload_len, seg.flags};
}

static void tso_iw10(fx_opts *o)
{
	o->cfg.initial_window = 10;
	o->cfg.tso_max = 65535;
}

/* A bulk transfer of `total` bytes (the peer ACKs each flight whole); what
 * went on the wire, TSO segments cut as a device would. */
static void transfer(wire_log *w, uint32_t total)
{
	static uint8_t buf[200000], scratch[2000];
	fx_established(&F);
	uint32_t sent = 0;
	for (int round = 0; sent < total || gt_sock_unacked(F.st, F.sock) > 0; round++) {
		assert_true(round < 100);
		ssize_t k = gt_send(F.st, F.sock, buf, total - sent, F.now);
		if (k > 0)
			sent += (uint32_t)k;
		uint32_t top = 0;
		while (fx_pending(&F) > 0) {
			const fx_pkt *p = fx_pop(&F);
			w->packets++;
			if (p->seg.payload_len > w->largest)
				w->largest = p->seg.payload_len;
			top = p->seg.seq + p->seg.payload_len;
			assert_true(gt_wire_tso_split(p->raw, p->len, 1460, scratch, log_piece, w) >
			            0);
		}
		if (top)
			fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, top, F.peer_wnd, NULL, 0);
		fx_advance(&F, 10 * FX_MS);
	}
	assert_int_equal(gt_sock_unacked(F.st, F.sock), 0);
}

/* With TSO the stack hands over segments of many MSS (the first flight, IW10,
 * as one of 14600 bytes: Linux's `P. 1:14601(14600)`), and cut as a device
 * cuts them they are exactly the segments the stack sends without TSO. */
static void test_tso_same_segments_as_without(void **state)
{
	static wire_log plain, tso;
	memset(&plain, 0, sizeof(plain));
	memset(&tso, 0, sizeof(tso));
	fx_reinit_with(iw10);
	transfer(&plain, 100000);
	fx_reinit_with(tso_iw10);
	transfer(&tso, 100000);
	assert_int_equal(plain.largest, 1460);
	assert_true(tso.largest >= 14600);
	assert_true(tso.packets * 4 < plain.packets);
	assert_int_equal(tso.n, plain.n);
	for (size_t i = 0; i < plain.n; i++) {
		assert_int_equal(tso.s[i].seq, plain.s[i].seq);
		assert_int_equal(tso.s[i].len, plain.s[i].len);
		assert_int_equal(tso.s[i].flags, plain.s[i].flags);
	}
}

static void tso_delack(fx_opts *o)
{
	o->cfg.tso_max = 65535;
	o->cfg.delack_us = 40 * FX_MS;
}

/* The small tail of the data rides with the whole segments before it when
 * Nagle lets a small segment go, and waits when one is unacknowledged. */
static void test_tso_tail_follows_nagle(void **state)
{
	fx_reinit_with(tso_delack);
	fx_established(&F);
	static uint8_t buf[5000];
	assert_int_equal(gt_send(F.st, F.sock, buf, 2000, F.now), 2000);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt);
	assert_int_equal(p->seg.payload_len, 2000);
	/* its 540-byte tail is unacknowledged: the next write's tail waits */
	assert_int_equal(gt_send(F.st, F.sock, buf, 2000, F.now), 2000);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 2001, F.peer_snd_nxt);
	assert_int_equal(p->seg.payload_len, 1460);
	fx_expect_none(&F);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 2001, F.peer_wnd, NULL, 0);
	p = fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 3461, F.peer_snd_nxt);
	assert_int_equal(p->seg.payload_len, 540);
}

/* RFC 5681 §4.2 counts full-sized segments: one segment of 4000 bytes from
 * a peer with segmentation offload holds two, and is ACKed at once. */
static void test_large_inbound_segment_acked_at_once(void **state)
{
	fx_reinit_with(delack_only);
	fx_established(&F);
	static uint8_t d[4000];
	fx_peer_data(&F, d, 1000);
	fx_expect_none(&F); /* one small segment: the ACK is delayed */
	fx_advance(&F, 40 * FX_MS);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	fx_peer_data(&F, d, 4000);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
}

/* ---- the profiles ---- */

/* Each profile sets its values (docs/profiles.md) and keeps the rest of the
 * configuration; an unknown name changes nothing. */
static void test_profile_values(void **state)
{
	(void)state;
	gt_stack_config c;
	gt_stack_config_default(&c);
	c.mss = 1400;
	c.max_conns = 77;
	assert_int_equal(gt_stack_config_profile(&c, "linux"), 0);
	assert_int_equal(c.initial_window, 10);
	assert_int_equal(c.quickack_segs, 16);
	assert_true(c.quickack_fin);
	assert_int_equal(c.delack_us, 40 * FX_MS);
	assert_int_equal(c.rto_min_us, 200 * FX_MS);
	assert_int_equal(gt_wscale_for(c.rcvbuf_max), 8);
	assert_int_equal(c.opt_layout, GT_OPT_LAYOUT_LINUX);
	assert_int_equal(c.mss, 1400);
	assert_int_equal(c.max_conns, 77);
	assert_true(c.rst_ack);
	assert_int_equal(gt_stack_config_profile(&c, "freebsd"), 0);
	assert_true(c.rst_ack);
	assert_int_equal(c.opt_layout, GT_OPT_LAYOUT_FREEBSD);
	assert_int_equal(c.delack_us, 100 * FX_MS);
	assert_int_equal(c.rcvbuf, 65536);
	assert_int_equal(c.sndbuf, 32768);
	assert_int_equal(gt_wscale_for(c.rcvbuf_max), 6);
	assert_int_equal(c.quickack_segs, 0);
	assert_int_equal(gt_stack_config_profile(&c, "rfc"), 0);
	assert_int_equal(c.rto_min_us, FX_S);   /* RFC 6298 §2.4 */
	assert_int_equal(c.msl_us, 120 * FX_S); /* RFC 9293 §3.4.2 */
	assert_int_equal(c.initial_window, 0);
	assert_false(c.quickack_fin);
	assert_false(c.rst_ack);
	gt_stack_config before = c;
	assert_int_equal(gt_stack_config_profile(&c, "windows"), -EINVAL);
	assert_int_equal(gt_stack_config_profile(&c, NULL), -EINVAL);
	assert_memory_equal(&c, &before, sizeof(c));
	size_t n = 0;
	while (gt_stack_profiles[n])
		assert_int_equal(gt_stack_config_profile(&c, gt_stack_profiles[n++]), 0);
	assert_int_equal(n, 3);
}

static void linux_profile(fx_opts *o)
{
	assert_int_equal(gt_stack_config_profile(&o->cfg, "linux"), 0);
}

/* The linux profile end to end: the SYN offers window scale 8 and IW10 sends
 * ten segments (without TSO: the fixture's link has none). */
static void test_linux_profile_on_the_wire(void **state)
{
	fx_reinit_with(linux_profile);
	fx_syn_sent(&F);
	assert_int_equal(F.last.seg.opts.wscale, 8);
	fx_reinit_with(linux_profile);
	assert_int_equal(first_flight(), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_initial_window_rfc5681),
	    FX_TEST(test_initial_window_10),
	    FX_TEST(test_quickack_at_start),
	    FX_TEST(test_quickack_fin),
	    FX_TEST(test_wscale_for_rcvbuf_max),
	    FX_TEST(test_freebsd_syn_layout),
	    FX_TEST(test_cwnd_after_handshake_is_iw),
	    FX_TEST(test_abort_reset_with_and_without_ack),
	    FX_TEST(test_tso_same_segments_as_without),
	    FX_TEST(test_tso_tail_follows_nagle),
	    FX_TEST(test_large_inbound_segment_acked_at_once),
	    cmocka_unit_test(test_profile_values),
	    FX_TEST(test_linux_profile_on_the_wire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
