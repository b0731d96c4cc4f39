/* TCP options on a connection: RFC 7323 timestamps (negotiation, TS.Recent,
 * RTTM, PAWS) and window scaling, RFC 2018 SACK blocks from the receiver and
 * RFC 6675 SACK-based loss recovery at the sender. The fake peer plays a
 * modern stack: it offers the options on its SYN and, once they are agreed,
 * sends timestamps on every segment. */
#include "fixture.h"
#include "stack/stack_impl.h"
#include "tcp/cc.h"
#include "tcp/seq.h"

#include <errno.h>
#include <string.h>

static void reinit(uint32_t rcvbuf, bool ts, bool sack, bool ws)
{
	fx_opts o;
	fx_opts_default(&o);
	o.cfg.rcvbuf = rcvbuf;
	o.cfg.timestamps = ts;
	o.cfg.sack = sack;
	o.cfg.window_scaling = ws;
	fx_reinit(&o);
}

/* The peer's TSval clock: its own, unrelated to ours. */
static uint32_t peer_tsval = 5000;

/* What the peer's SYN offers. */
typedef struct offer {
	bool ts, sack, ws;
	uint8_t wscale;
} offer;

static gt_tcp_opts syn_opts(offer o)
{
	gt_tcp_opts opts;
	memset(&opts, 0, sizeof(opts));
	opts.has_mss = true;
	opts.mss = 1460;
	opts.has_ts = o.ts;
	opts.ts_val = peer_tsval;
	opts.sack_permitted = o.sack;
	opts.has_wscale = o.ws;
	opts.wscale = o.wscale;
	return opts;
}

/* A segment from the peer with a timestamp (TSecr = what it last saw from
 * us) and up to 3 SACK blocks (pairs in sack[], nsack of them). */
static void peer_seg(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd, const void *data,
                     uint32_t len, uint32_t tsval, uint32_t tsecr, const uint32_t *sack, int nsack)
{
	gt_tcp_opts opts;
	memset(&opts, 0, sizeof(opts));
	opts.has_ts = true;
	opts.ts_val = tsval;
	opts.ts_ecr = tsecr;
	for (int i = 0; i < nsack; i++) {
		opts.sack[i].left = sack[2 * i];
		opts.sack[i].right = sack[2 * i + 1];
	}
	opts.sack_count = (uint8_t)nsack;
	fx_seg s = {.flags = flags,
	            .seq = seq,
	            .ack = ack,
	            .wnd = wnd,
	            .opts = &opts,
	            .payload = data,
	            .len = len};
	fx_send_seg(&F, &s);
}

/* Passive open with the peer offering o; returns the SYN-ACK's options. */
static gt_tcp_opts open_passive(offer o)
{
	fx_listen(&F);
	gt_tcp_opts so = syn_opts(o);
	fx_seg syn = {.flags = GT_TCP_SYN, .seq = F.opts.peer_iss, .wnd = F.peer_wnd, .opts = &so};
	fx_send_seg(&F, &syn);
	const fx_pkt *p = fx_expect(&F, GT_TCP_SYN | GT_TCP_ACK, F.iss, F.opts.peer_iss + 1);
	gt_tcp_opts got = p->seg.opts;
	F.peer_snd_nxt = F.opts.peer_iss + 1;
	F.peer_rcv_nxt = F.iss + 1;
	/* the handshake's ACK */
	if (got.has_ts)
		peer_seg(GT_TCP_ACK, F.peer_snd_nxt, F.peer_rcv_nxt, F.peer_wnd, NULL, 0,
		         ++peer_tsval, got.ts_val, NULL, 0);
	else
		fx_peer_ack(&F);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	F.sock = gt_accept(F.st, F.lsock, NULL, NULL);
	assert_true(F.sock >= 0);
	return got;
}

/* ---- negotiation ---- */

static void test_syn_offers_all_by_default(void **state)
{
	(void)state;
	fx_syn_sent(&F);
	const gt_segment *syn = &F.last.seg;
	assert_true(syn->opts.has_ts);
	assert_int_equal(syn->opts.ts_ecr, 0); /* RFC 7323 §3.2: nothing to echo yet */
	assert_true(syn->opts.sack_permitted);
	assert_true(syn->opts.has_wscale);
	/* the default 64 KiB buffer is offered unscaled */
	assert_int_equal(syn->opts.wscale, 0);
	assert_int_equal(syn->wnd, 65535);
}

static void test_negotiation_both(void **state)
{
	(void)state;
	gt_tcp_opts got = open_passive((offer){.ts = true, .sack = true, .ws = true, .wscale = 7});
	assert_true(got.has_ts && got.sack_permitted && got.has_wscale);
	assert_int_equal(got.ts_ecr, peer_tsval - 1); /* the SYN's TSval */
	gt_tcb *t = fx_tcb(&F);
	assert_true(t->ts_ok && t->sack_ok && t->ws_ok);
	assert_int_equal(t->snd_wscale, 7);
	/* RFC 6691: data segments leave room for the 12 timestamp bytes */
	assert_int_equal(t->snd_mss, 1460 - 12);
}

static void test_negotiation_peer_offers_none(void **state)
{
	(void)state;
	gt_tcp_opts got = open_passive((offer){0});
	assert_false(got.has_ts || got.sack_permitted || got.has_wscale);
	gt_tcb *t = fx_tcb(&F);
	assert_false(t->ts_ok || t->sack_ok || t->ws_ok);
	assert_int_equal(t->snd_mss, 1460);
	assert_int_equal(t->snd_wscale, 0);
	assert_int_equal(t->rcv_wscale, 0);
}

static void test_negotiation_peer_offers_some(void **state)
{
	(void)state;
	gt_tcp_opts got = open_passive((offer){.sack = true});
	assert_false(got.has_ts);
	assert_true(got.sack_permitted);
	assert_false(got.has_wscale);
	gt_tcb *t = fx_tcb(&F);
	assert_false(t->ts_ok);
	assert_true(t->sack_ok);
	assert_false(t->ws_ok);
}

static void test_negotiation_we_offer_none(void **state)
{
	(void)state;
	reinit(65536, false, false, false);
	gt_tcp_opts got = open_passive((offer){.ts = true, .sack = true, .ws = true, .wscale = 3});
	assert_false(got.has_ts || got.sack_permitted || got.has_wscale);
	gt_tcb *t = fx_tcb(&F);
	assert_false(t->ts_ok || t->sack_ok || t->ws_ok);
	assert_int_equal(t->snd_wscale, 0);
	/* without timestamps agreed, the peer's timestamps are simply ignored */
	uint8_t d[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	peer_seg(GT_TCP_ACK | GT_TCP_PSH, F.peer_snd_nxt, F.peer_rcv_nxt, F.peer_wnd, d, 10, 1, 0,
	         NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt + 10);
	assert_false(F.last.seg.opts.has_ts);
}

static void test_active_synack_without_options(void **state)
{
	(void)state;
	fx_established_active(&F); /* the fixture's SYN-ACK carries only MSS */
	gt_tcb *t = fx_tcb(&F);
	assert_false(t->ts_ok || t->sack_ok || t->ws_ok);
	assert_int_equal(t->snd_mss, 1460);
	assert_false(F.last.seg.opts.has_ts);
}

static void test_active_synack_with_options(void **state)
{
	(void)state;
	fx_syn_sent(&F);
	uint32_t our_ts = F.last.seg.opts.ts_val;
	gt_tcp_opts so = syn_opts((offer){.ts = true, .sack = true, .ws = true, .wscale = 2});
	so.ts_ecr = our_ts;
	fx_seg sa = {.flags = GT_TCP_SYN | GT_TCP_ACK,
	             .seq = F.opts.peer_iss,
	             .ack = F.iss + 1,
	             .wnd = 1000,
	             .opts = &so};
	fx_send_seg(&F, &sa);
	F.peer_snd_nxt = F.opts.peer_iss + 1;
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	assert_true(p->seg.opts.has_ts);
	assert_int_equal(p->seg.opts.ts_ecr, peer_tsval);
	gt_tcb *t = fx_tcb(&F);
	assert_true(t->ts_ok && t->sack_ok && t->ws_ok);
	/* RFC 7323 §2.2: the SYN-ACK's window is not scaled */
	assert_int_equal(t->snd_wnd, 1000);
}

/* ---- timestamps ---- */

static void test_paws_drops_old_tsval(void **state)
{
	(void)state;
	open_passive((offer){.ts = true, .sack = true});
	uint8_t d[20];
	fx_fill_pattern(d, 20, 0);
	peer_seg(GT_TCP_ACK | GT_TCP_PSH, F.peer_snd_nxt, F.peer_rcv_nxt, F.peer_wnd, d, 10, 9000,
	         0, NULL, 0);
	F.peer_snd_nxt += 10;
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	assert_int_equal(p->seg.opts.ts_ecr, 9000); /* TS.Recent took the new TSval */
	/* an in-window segment with an older TSval: RFC 7323 §5.3 R1 */
	size_t drops = F.drop_events;
	peer_seg(GT_TCP_ACK | GT_TCP_PSH, F.peer_snd_nxt, F.peer_rcv_nxt, F.peer_wnd, d + 10, 10,
	         8999, 0, NULL, 0);
	assert_int_equal(F.drop_events, drops + 1);
	assert_int_equal(F.last_drop, GT_DROP_PAWS);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt); /* ACKed, not taken */
	uint8_t buf[64];
	assert_int_equal(gt_recv(F.st, F.sock, buf, sizeof(buf), F.now), 10);
	/* the same bytes with a current TSval are accepted */
	peer_seg(GT_TCP_ACK | GT_TCP_PSH, F.peer_snd_nxt, F.peer_rcv_nxt, F.peer_wnd, d + 10, 10,
	         9001, 0, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt + 10);
	assert_int_equal(gt_recv(F.st, F.sock, buf, sizeof(buf), F.now), 10);
	/* RFC 7323 §3.2: after agreement, a segment without TSopt is dropped */
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt + 10, F.peer_rcv_nxt, F.peer_wnd, d, 5);
	assert_int_equal(F.last_drop, GT_DROP_NO_TIMESTAMP);
	fx_expect_none(&F);
}

static void test_paws_idle_rule(void **state)
{
	(void)state;
	open_passive((offer){.ts = true});
	uint8_t d[10] = {0};
	peer_seg(GT_TCP_ACK | GT_TCP_PSH, F.peer_snd_nxt, F.peer_rcv_nxt, F.peer_wnd, d, 10, 9000,
	         0, NULL, 0);
	F.peer_snd_nxt += 10;
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	/* RFC 7323 §5.5: after more than 24 days idle, TS.Recent is invalid and
	 * an older TSval is accepted (the peer's clock may have wrapped) */
	gt_tcb *t = fx_tcb(&F);
	t->ts_recent_age -= 25ull * 24 * 3600 * 1000000; /* as if 25 days had passed */
	peer_seg(GT_TCP_ACK | GT_TCP_PSH, F.peer_snd_nxt, F.peer_rcv_nxt, F.peer_wnd, d, 10, 10, 0,
	         NULL, 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt + 10);
	assert_int_equal(p->seg.opts.ts_ecr, 10);
}

static void test_rttm_sample_after_retransmission(void **state)
{
	(void)state;
	open_passive((offer){.ts = true, .sack = true});
	gt_tcb *t = fx_tcb(&F);
	uint8_t d[100];
	fx_fill_pattern(d, 100, 0);
	assert_int_equal(gt_send(F.st, F.sock, d, 100, F.now), 100);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt);
	/* lost: the retransmission timer fires, twice */
	fx_step(&F);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt);
	fx_step(&F);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt);
	uint32_t rexmit_ts = p->seg.opts.ts_val;
	assert_int_equal(t->rto.backoff, 2);
	/* the ACK of the retransmission comes 30 ms later, echoing its TSval:
	 * RFC 7323 §4 gives a valid sample although the data was retransmitted
	 * (Karn's rule alone would keep the backed-off RTO) */
	fx_advance(&F, 30 * FX_MS);
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, F.iss + 1 + 100, F.peer_wnd, NULL, 0, ++peer_tsval,
	         rexmit_ts, NULL, 0);
	assert_int_equal(t->rto.backoff, 0);
	assert_true(t->rto.has_sample);
	/* the handshake gave the first sample (0 ms here); this one enters with
	 * alpha = 1/8 (one sample expected per RTT for 100 bytes in flight) */
	assert_int_equal(t->rto.srtt, 30 * FX_MS / 8);
	assert_int_equal(gt_rto_current(&t->rto), t->rto.min);
}

/* ---- SACK, receiver side ---- */

static void test_sack_blocks_for_out_of_order_data(void **state)
{
	(void)state;
	open_passive((offer){.ts = true, .sack = true});
	uint8_t d[800];
	fx_fill_pattern(d, 800, 0);
	uint32_t base = F.peer_snd_nxt, ack = F.peer_rcv_nxt;
	const fx_pkt *p;
#define SEG(off, ts)                                                                               \
	peer_seg(GT_TCP_ACK, base + (off), ack, F.peer_wnd, d + (off), 100, (ts), 0, NULL, 0)
	SEG(0, 6000);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base + 100);
	assert_int_equal(p->seg.opts.sack_count, 0);
	SEG(200, 6001); /* hole [100, 200) */
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base + 100);
	assert_int_equal(p->seg.opts.sack_count, 1);
	assert_int_equal(p->seg.opts.sack[0].left, base + 200);
	assert_int_equal(p->seg.opts.sack[0].right, base + 300);
	/* RFC 7323 §4.3: an out-of-order segment does not move TS.Recent */
	assert_int_equal(p->seg.opts.ts_ecr, 6000);
	SEG(400, 6002);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base + 100);
	assert_int_equal(p->seg.opts.sack_count, 2);
	assert_int_equal(p->seg.opts.sack[0].left, base + 400); /* the newest first */
	assert_int_equal(p->seg.opts.sack[1].left, base + 200);
	SEG(600, 6003);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base + 100);
	assert_int_equal(p->seg.opts.sack_count, 3);
	assert_int_equal(p->seg.opts.sack[0].left, base + 600);
	assert_int_equal(p->seg.opts.sack[1].left, base + 400);
	assert_int_equal(p->seg.opts.sack[2].left, base + 200);
	/* [500, 600) joins [400, 500) and [600, 700): that block comes first */
	SEG(500, 6004);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base + 100);
	assert_int_equal(p->seg.opts.sack_count, 2);
	assert_int_equal(p->seg.opts.sack[0].left, base + 400);
	assert_int_equal(p->seg.opts.sack[0].right, base + 700);
	assert_int_equal(p->seg.opts.sack[1].left, base + 200);
	assert_int_equal(p->seg.opts.sack[1].right, base + 300);
	/* the first hole fills: one block left */
	SEG(100, 6005);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base + 300);
	assert_int_equal(p->seg.opts.sack_count, 1);
	assert_int_equal(p->seg.opts.sack[0].left, base + 400);
	assert_int_equal(p->seg.opts.ts_ecr, 6005); /* it filled the hole: TS.Recent */
	SEG(300, 6006);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base + 700);
	assert_int_equal(p->seg.opts.sack_count, 0);
#undef SEG
}

/* Held blocks that a segment covers join the stream: no SACK block at or below
 * the cumulative ACK is reported again (RFC 2018 §4: blocks report data above
 * it). The held data the segment repeated is a D-SACK block (RFC 2883 §4),
 * the one place a block may lie below the ACK. */
static void test_sack_no_block_below_cumulative_ack(void **state)
{
	(void)state;
	open_passive((offer){.ts = true, .sack = true});
	uint8_t d[600];
	fx_fill_pattern(d, 600, 0);
	uint32_t base = F.peer_snd_nxt, ack = F.peer_rcv_nxt;
	peer_seg(GT_TCP_ACK, base + 100, ack, F.peer_wnd, d + 100, 100, 6000, 0, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, base);
	peer_seg(GT_TCP_ACK, base + 300, ack, F.peer_wnd, d + 300, 100, 6001, 0, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, base);
	peer_seg(GT_TCP_ACK, base + 500, ack, F.peer_wnd, d + 500, 100, 6002, 0, NULL, 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base);
	assert_int_equal(p->seg.opts.sack_count, 3);
	/* [0, 350): covers [100, 200) wholly, reaches into [300, 400) */
	peer_seg(GT_TCP_ACK, base, ack, F.peer_wnd, d, 350, 6003, 0, NULL, 0);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base + 400);
	assert_int_equal(p->seg.opts.sack_count, 2);
	assert_int_equal(p->seg.opts.sack[0].left, base + 100); /* D-SACK */
	assert_int_equal(p->seg.opts.sack[0].right, base + 200);
	assert_int_equal(p->seg.opts.sack[1].left, base + 500);
	assert_int_equal(p->seg.opts.sack[1].right, base + 600);
	assert_int_equal(gt_sock_readable(F.st, F.sock), 400);
	/* the next ACK: only the block above it */
	peer_seg(GT_TCP_ACK, base + 400, ack, F.peer_wnd, d + 400, 50, 6004, 0, NULL, 0);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base + 450);
	assert_int_equal(p->seg.opts.sack_count, 1);
	assert_int_equal(p->seg.opts.sack[0].left, base + 500);
}

/* RFC 2883 §4: a duplicate segment is reported in the first SACK block of the
 * ACK it draws (a D-SACK block), once. §4.1.1: data below the cumulative ACK,
 * wholly or in part (the duplicate part is reported). */
static void test_dsack_for_duplicate_below_ack(void **state)
{
	(void)state;
	open_passive((offer){.ts = true, .sack = true});
	uint8_t d[300];
	fx_fill_pattern(d, 300, 0);
	uint32_t base = F.peer_snd_nxt, ack = F.peer_rcv_nxt;
	peer_seg(GT_TCP_ACK, base, ack, F.peer_wnd, d, 100, 6000, 0, NULL, 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base + 100);
	assert_int_equal(p->seg.opts.sack_count, 0);
	peer_seg(GT_TCP_ACK, base, ack, F.peer_wnd, d, 100, 6001, 0, NULL, 0); /* again */
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base + 100);
	assert_int_equal(p->seg.opts.sack_count, 1);
	assert_int_equal(p->seg.opts.sack[0].left, base);
	assert_int_equal(p->seg.opts.sack[0].right, base + 100);
	/* [50, 150): half old, half new; the old half is the D-SACK block */
	peer_seg(GT_TCP_ACK, base + 50, ack, F.peer_wnd, d + 50, 100, 6002, 0, NULL, 0);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base + 150);
	assert_int_equal(p->seg.opts.sack_count, 1);
	assert_int_equal(p->seg.opts.sack[0].left, base + 50);
	assert_int_equal(p->seg.opts.sack[0].right, base + 100);
	/* reported once: the next ACK carries none */
	peer_seg(GT_TCP_ACK, base + 150, ack, F.peer_wnd, d + 150, 100, 6003, 0, NULL, 0);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base + 250);
	assert_int_equal(p->seg.opts.sack_count, 0);
	fx_expect_none(&F);
}

/* RFC 2883 §4.1.3 (and §4.2.1): a duplicate of out-of-order data: the first
 * block is the duplicate, the second the SACK block that holds it. */
static void test_dsack_for_duplicate_out_of_order(void **state)
{
	(void)state;
	open_passive((offer){.ts = true, .sack = true});
	uint8_t d[600];
	fx_fill_pattern(d, 600, 0);
	uint32_t base = F.peer_snd_nxt, ack = F.peer_rcv_nxt;
	peer_seg(GT_TCP_ACK, base + 200, ack, F.peer_wnd, d + 200, 200, 6000, 0, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, base);
	peer_seg(GT_TCP_ACK, base + 500, ack, F.peer_wnd, d + 500, 100, 6001, 0, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, F.iss + 1, base);
	peer_seg(GT_TCP_ACK, base + 250, ack, F.peer_wnd, d + 250, 100, 6002, 0, NULL, 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base);
	assert_int_equal(p->seg.opts.sack_count, 3);
	assert_int_equal(p->seg.opts.sack[0].left, base + 250);
	assert_int_equal(p->seg.opts.sack[0].right, base + 350);
	assert_int_equal(p->seg.opts.sack[1].left, base + 200);
	assert_int_equal(p->seg.opts.sack[1].right, base + 400);
	assert_int_equal(p->seg.opts.sack[2].left, base + 500);
	/* once: the next out-of-order segment draws plain SACK blocks */
	peer_seg(GT_TCP_ACK, base + 450, ack, F.peer_wnd, d + 450, 10, 6003, 0, NULL, 0);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base);
	assert_int_equal(p->seg.opts.sack_count, 3);
	assert_int_equal(p->seg.opts.sack[0].left, base + 450);
	assert_int_equal(p->seg.opts.sack[1].left, base + 200);
	assert_int_equal(p->seg.opts.sack[2].left, base + 500);
}

/* RFC 7323 §4.3 with RFC 5961: TS.Recent comes only from a segment that
 * passes the sequence, RST, SYN and ACK checks. An in-window SYN draws a
 * challenge ACK and is dropped; its TSval must not become TS.Recent, or the
 * peer's next real segment (with a current, lower TSval) would fail PAWS. */
static void test_ts_recent_not_from_challenged_syn(void **state)
{
	(void)state;
	open_passive((offer){.ts = true, .sack = true});
	uint32_t base = F.peer_snd_nxt;
	gt_tcp_opts so = syn_opts((offer){.ts = true, .sack = true});
	so.ts_val = 900000000;
	fx_seg syn = {.flags = GT_TCP_SYN, .seq = base, .wnd = F.peer_wnd, .opts = &so};
	fx_send_seg(&F, &syn);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base); /* the challenge ACK */
	assert_int_equal(p->seg.opts.ts_ecr, peer_tsval);
	uint8_t d[10] = {0};
	peer_seg(GT_TCP_ACK | GT_TCP_PSH, base, F.peer_rcv_nxt, F.peer_wnd, d, 10, peer_tsval + 1,
	         0, NULL, 0);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base + 10);
	assert_int_equal(p->seg.opts.ts_ecr, peer_tsval + 1);
	assert_int_equal(gt_sock_readable(F.st, F.sock), 10);
}

/* The same for an ACK of data never sent (RFC 9293 §3.10.7.4 fifth, RFC
 * 5961 §5.2): answered, dropped, and its TSval not taken. */
static void test_ts_recent_not_from_ack_of_unsent_data(void **state)
{
	(void)state;
	open_passive((offer){.ts = true, .sack = true});
	uint32_t base = F.peer_snd_nxt;
	uint8_t d[10] = {0};
	peer_seg(GT_TCP_ACK | GT_TCP_PSH, base, F.peer_rcv_nxt + 5000, F.peer_wnd, d, 10, 900000000,
	         0, NULL, 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base);
	assert_int_equal(p->seg.opts.ts_ecr, peer_tsval);
	assert_int_equal(gt_sock_readable(F.st, F.sock), 0);
	peer_seg(GT_TCP_ACK | GT_TCP_PSH, base, F.peer_rcv_nxt, F.peer_wnd, d, 10, peer_tsval + 1,
	         0, NULL, 0);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, base + 10);
	assert_int_equal(p->seg.opts.ts_ecr, peer_tsval + 1);
	assert_int_equal(gt_sock_readable(F.st, F.sock), 10);
}

static void test_no_sack_blocks_without_agreement(void **state)
{
	(void)state;
	open_passive((offer){.ts = true});
	uint8_t d[100] = {0};
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt + 100, F.peer_rcv_nxt, F.peer_wnd, d, 100, 7000, 0,
	         NULL, 0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	assert_int_equal(p->seg.opts.sack_count, 0);
}

/* ---- window scaling ---- */

static void test_window_scale_both_ways(void **state)
{
	(void)state;
	reinit(1u << 20, true, true, true);
	gt_tcp_opts got = open_passive((offer){.ts = true, .ws = true, .wscale = 4});
	/* RFC 7323 §2.3: 1 MiB needs a shift of 5 (65535 << 4 < 2^20) */
	assert_int_equal(got.wscale, 5);
	gt_tcb *t = fx_tcb(&F);
	assert_int_equal(t->rcv_wscale, 5);
	assert_int_equal(t->snd_wscale, 4);
	/* the SYN-ACK's window is never scaled: 65535 at most */
	assert_int_equal(F.q[(F.q_head + FX_QCAP - 1) % FX_QCAP].seg.wnd, 65535);
	/* the SYN's window (fixture: peer_wnd) was taken unscaled */
	/* a window update from the peer is scaled by its shift */
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, F.peer_rcv_nxt, 1000, NULL, 0, ++peer_tsval, 1, NULL,
	         0);
	assert_int_equal(t->snd_wnd, 1000u << 4);
	/* our ACKs carry the window >> 5 and we accept what it covers */
	uint8_t d[100] = {0};
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, F.peer_rcv_nxt, 1000, d, 100, ++peer_tsval, 1, NULL,
	         0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt + 100);
	uint32_t wnd = gt_tcb_rcv_window(t);
	assert_true(wnd > 65535);
	assert_int_equal(p->seg.wnd, wnd >> 5);
	assert_int_equal(t->rcv_adv - t->rcv_nxt, (uint32_t)p->seg.wnd << 5);
	/* data far beyond 64 KiB but inside the scaled window is acceptable */
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt + 100 + 200000, F.peer_rcv_nxt, 1000, d, 100,
	         ++peer_tsval, 1, NULL, 0);
	p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt + 100);
	assert_int_equal(p->seg.opts.sack_count, 0); /* SACK was not agreed here */
	assert_int_equal(t->reasm.count, 1);
}

/* The stack's tx and rx events, seen through a tap on its event callback (the
 * fixture's own handler still gets every event). */
typedef struct seg_tap {
	gt_event_fn inner;
	void *inner_user;
	size_t n_tx, n_rx;
	gt_seg_info first_tx, last_tx, first_rx, last_rx;
} seg_tap;

static void tap_event(void *user, const gt_event *ev)
{
	seg_tap *tap = user;
	if (ev->kind == GT_EV_TX && ev->has_seg) {
		if (tap->n_tx++ == 0)
			tap->first_tx = ev->seg;
		tap->last_tx = ev->seg;
	} else if (ev->kind == GT_EV_RX && ev->has_seg) {
		if (tap->n_rx++ == 0)
			tap->first_rx = ev->seg;
		tap->last_rx = ev->seg;
	}
	tap->inner(tap->inner_user, ev);
}

static void tap_install(seg_tap *tap)
{
	memset(tap, 0, sizeof *tap);
	tap->inner = F.st->cfg.on_event;
	tap->inner_user = F.st->cfg.event_user;
	F.st->cfg.on_event = tap_event;
	F.st->cfg.event_user = tap;
}

/* RFC 7323 §2.3: the trace gives each segment's window in bytes (wnd): the
 * field shifted by the sender's agreed shift, never on a SYN (§2.2). */
static void test_trace_window_in_bytes(void **state)
{
	(void)state;
	reinit(1u << 20, true, true, true);
	seg_tap tap;
	tap_install(&tap);
	gt_tcp_opts got = open_passive((offer){.ts = true, .ws = true, .wscale = 4});
	assert_int_equal(got.wscale, 5);
	/* the SYN,ACK and the peer's SYN: unscaled */
	assert_true(tap.n_tx >= 1 && tap.n_rx >= 1);
	assert_true(tap.first_tx.flags & GT_TCP_SYN);
	assert_int_equal(tap.first_tx.win, 65535);
	assert_int_equal(tap.first_tx.wnd, 65535);
	assert_true(tap.first_rx.flags & GT_TCP_SYN);
	assert_int_equal(tap.first_rx.wnd, tap.first_rx.win);

	/* the peer's segments: its field << its shift (4) */
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, F.peer_rcv_nxt, 1000, NULL, 0, ++peer_tsval, 1, NULL,
	         0);
	assert_int_equal(tap.last_rx.win, 1000);
	assert_int_equal(tap.last_rx.wnd, 1000u << 4);

	/* our ACK: the field is the window >> 5; wnd is what we advertised */
	uint8_t d[100] = {0};
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, F.peer_rcv_nxt, 1000, d, 100, ++peer_tsval, 1, NULL,
	         0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt + 100);
	gt_tcb *t = fx_tcb(&F);
	assert_int_equal(tap.last_tx.win, p->seg.wnd);
	assert_true(tap.last_tx.wnd > 65535);
	assert_int_equal(tap.last_tx.wnd, (uint32_t)p->seg.wnd << 5);
	assert_int_equal(tap.last_tx.wnd, t->rcv_adv - t->rcv_nxt);
}

/* Without window scaling agreed the window in bytes is the field. */
static void test_trace_window_unscaled(void **state)
{
	(void)state;
	reinit(1u << 20, true, true, true);
	seg_tap tap;
	tap_install(&tap);
	open_passive((offer){.ts = true}); /* the peer offers no window scale */
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, F.peer_rcv_nxt, 1000, NULL, 0, ++peer_tsval, 1, NULL,
	         0);
	assert_int_equal(tap.last_rx.wnd, 1000);
	uint8_t d[100] = {0};
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, F.peer_rcv_nxt, 1000, d, 100, ++peer_tsval, 1, NULL,
	         0);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt + 100);
	assert_false(fx_tcb(&F)->ws_ok);
	assert_true(p->seg.wnd > 0);
	assert_int_equal(tap.last_tx.win, p->seg.wnd);
	assert_int_equal(tap.last_tx.wnd, p->seg.wnd);
}

static void test_default_buffer_unscaled(void **state)
{
	(void)state;
	gt_tcp_opts got = open_passive((offer){.ts = true, .ws = true, .wscale = 9});
	assert_true(got.has_wscale);
	assert_int_equal(got.wscale, 0);
	gt_tcb *t = fx_tcb(&F);
	assert_int_equal(t->rcvbuf.cap, 65535);
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, F.peer_rcv_nxt, 10, NULL, 0, ++peer_tsval, 1, NULL, 0);
	assert_int_equal(t->snd_wnd, 10u << 9);
}

/* ---- SACK, sender side (RFC 6675) ---- */

static void test_sack_recovery_repairs_three_losses(void **state)
{
	(void)state;
	open_passive((offer){.ts = true, .sack = true, .ws = true, .wscale = 2});
	gt_tcb *t = fx_tcb(&F);
	uint32_t mss = t->snd_mss;
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, F.peer_rcv_nxt, 60000, NULL, 0, ++peer_tsval, 1, NULL,
	         0);
	t->cwnd = 12 * mss; /* as if slow start had opened it */
	static uint8_t d[12 * 1448];
	fx_fill_pattern(d, sizeof(d), 0);
	assert_int_equal(gt_send(F.st, F.sock, d, 12 * mss, F.now), 12 * mss);
	uint32_t s0 = F.iss + 1;
	for (uint32_t i = 0; i < 12; i++)
		fx_expect(&F, GT_TCP_ACK, s0 + i * mss, F.peer_snd_nxt);
	fx_expect_none(&F);
	uint64_t rexmits = F.st->counters.tx_rexmits;
	/* segments 1, 4 and 7 are lost; the peer ACKs 0 and SACKs the rest as
	 * they arrive */
#define S(i) (s0 + (i)*mss)
	uint32_t ts = peer_tsval;
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, S(1), 15000, NULL, 0, ++ts, 1, NULL, 0);
	uint32_t b1[] = {S(2), S(3)};
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, S(1), 15000, NULL, 0, ++ts, 1, b1, 1);
	uint32_t b2[] = {S(2), S(4)};
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, S(1), 15000, NULL, 0, ++ts, 1, b2, 1);
	fx_expect_none(&F);
	uint32_t b3[] = {S(5), S(6), S(2), S(4)};
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, S(1), 15000, NULL, 0, ++ts, 1, b3, 2);
	/* third duplicate ACK: recovery, segment 1 goes again at once */
	assert_true(t->in_recovery);
	assert_int_equal(t->recover, S(12));
	fx_expect(&F, GT_TCP_ACK, S(1), F.peer_snd_nxt);
	uint32_t b4[] = {S(5), S(7), S(2), S(4)};
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, S(1), 15000, NULL, 0, ++ts, 1, b4, 2);
	uint32_t b5[] = {S(8), S(9), S(5), S(7), S(2), S(4)};
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, S(1), 15000, NULL, 0, ++ts, 1, b5, 3);
	uint32_t b6[] = {S(8), S(11), S(5), S(7), S(2), S(4)};
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, S(1), 15000, NULL, 0, ++ts, 1, b6, 3);
	/* segment 4 is lost by then (IsLost: 3 SACKed ranges above it) and
	 * segment 7 too (more than 2 SMSS SACKed above it): both go once the
	 * pipe allows, without a timeout */
	const fx_pkt *p;
	bool saw4 = false, saw7 = false;
	while (fx_pending(&F)) {
		p = fx_pop(&F);
		assert_true(p->seg.payload_len > 0);
		saw4 |= p->seg.seq == S(4);
		saw7 |= p->seg.seq == S(7);
		assert_false(p->seg.seq == S(2) || p->seg.seq == S(5) || p->seg.seq == S(8));
	}
	assert_true(saw4 && saw7);
	/* the retransmissions arrive: a partial ACK, then the full one; they
	 * echo the retransmissions' TSval (so Eifel finds nothing spurious) */
	uint32_t rx_ts = gt_tcb_ts_now(F.now);
	uint32_t b7[] = {S(5), S(7), S(8), S(11)};
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, S(4), 15000, NULL, 0, ++ts, rx_ts, b7, 2);
	assert_true(t->in_recovery);
	fx_drain(&F);
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, S(12), 15000, NULL, 0, ++ts, rx_ts, NULL, 0);
	assert_false(t->in_recovery);
	assert_int_equal(t->snd_una, S(12));
	assert_int_equal(F.st->counters.tx_rexmits - rexmits, 3);
	assert_int_equal(t->rexmit_count, 0); /* no retransmission timeout */
	assert_int_equal(t->rto.backoff, 0);
	/* RFC 6675 §5 (4.2): ssthresh = FlightSize / 2 (11 segments were in
	 * flight at the third duplicate ACK) */
	assert_int_equal(t->ssthresh, 11 * mss / 2);
#undef S
}

static void test_newreno_without_sack(void **state)
{
	(void)state;
	open_passive((offer){.ts = true}); /* no SACK: NewReno (RFC 6582) */
	gt_tcb *t = fx_tcb(&F);
	uint32_t mss = t->snd_mss;
	t->cwnd = 6 * mss;
	static uint8_t d[6 * 1448];
	assert_int_equal(gt_send(F.st, F.sock, d, 6 * mss, F.now), 6 * mss);
	uint32_t s0 = F.iss + 1;
	for (uint32_t i = 0; i < 6; i++)
		fx_expect(&F, GT_TCP_ACK, s0 + i * mss, F.peer_snd_nxt);
	uint32_t ts = peer_tsval;
	for (int i = 0; i < 3; i++)
		peer_seg(GT_TCP_ACK, F.peer_snd_nxt, s0, F.peer_wnd, NULL, 0, ++ts, 1, NULL, 0);
	assert_true(t->in_recovery);
	fx_expect(&F, GT_TCP_ACK, s0, F.peer_snd_nxt);
	/* partial ACK: the next hole goes at once (RFC 6582 §3.2) */
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, s0 + 2 * mss, F.peer_wnd, NULL, 0, ++ts,
	         F.last.seg.opts.ts_val, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, s0 + 2 * mss, F.peer_snd_nxt);
}

static void test_eifel_undoes_spurious_fast_retransmit(void **state)
{
	(void)state;
	open_passive((offer){.ts = true, .sack = true});
	gt_tcb *t = fx_tcb(&F);
	uint32_t mss = t->snd_mss;
	t->cwnd = 8 * mss;
	t->ssthresh = 20 * mss;
	static uint8_t d[8 * 1448];
	assert_int_equal(gt_send(F.st, F.sock, d, 8 * mss, F.now), 8 * mss);
	uint32_t s0 = F.iss + 1;
	for (uint32_t i = 0; i < 8; i++)
		fx_expect(&F, GT_TCP_ACK, s0 + i * mss, F.peer_snd_nxt);
	uint32_t orig_ts = F.last.seg.opts.ts_val;
	/* segment 0 is only delayed: 40 ms later the peer SACKs 1..4 */
	fx_advance(&F, 40 * FX_MS);
	uint32_t ts = peer_tsval;
	for (uint32_t i = 2; i <= 4; i++) {
		uint32_t b[] = {s0 + mss, s0 + i * mss};
		peer_seg(GT_TCP_ACK, F.peer_snd_nxt, s0, F.peer_wnd, NULL, 0, ++ts, orig_ts, b, 1);
	}
	assert_true(t->in_recovery);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, s0, F.peer_snd_nxt);
	assert_true(p->seg.opts.ts_val > orig_ts);
	fx_drain(&F);
	assert_int_equal(t->cwnd, 4 * mss); /* ssthresh = FlightSize / 2 */
	/* the original arrives and fills the hole: the ACK echoes its TSval,
	 * older than the retransmission's (RFC 3522 §3.2): spurious */
	peer_seg(GT_TCP_ACK, F.peer_snd_nxt, s0 + 8 * mss, F.peer_wnd, NULL, 0, ++ts, orig_ts, NULL,
	         0);
	assert_false(t->in_recovery);
	/* RFC 4015 §3.2: ssthresh = pipe_prev = max(FlightSize, ssthresh) before
	 * the retransmission; cwnd = FlightSize (0) + min(acked, IW), but not
	 * below what it is */
	assert_int_equal(t->ssthresh, 20 * mss);
	assert_int_equal(t->cwnd, 4 * mss);
	/* a later loss may start a new recovery at once */
	assert_true(seq_gt(t->snd_una, t->recover));
}

/* ---- a small window and a lost window update ---- */

static void test_small_window_override_and_resend(void **state)
{
	(void)state;
	fx_established_passive(&F); /* no options: the plain engine */
	static uint8_t d[8000];
	fx_fill_pattern(d, sizeof(d), 0);
	assert_int_equal(gt_send(F.st, F.sock, d, 2920, F.now), 2920);
	uint32_t s0 = F.iss + 1;
	fx_expect(&F, GT_TCP_ACK, s0, F.peer_snd_nxt);
	fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, s0 + 1460, F.peer_snd_nxt);
	/* everything ACKed, but the receiver's buffer is nearly full */
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, s0 + 2920, 300, NULL, 0);
	assert_int_equal(gt_send(F.st, F.sock, d + 2920, 5000, F.now), 5000);
	fx_expect_none(&F); /* sender SWS avoidance holds 300 of 5000 bytes */
	/* the window update that would follow is lost: RFC 1122 §4.2.3.4's
	 * override timeout sends what the window allows */
	fx_step(&F);
	fx_expect(&F, GT_TCP_ACK, s0 + 2920, F.peer_snd_nxt);
	assert_int_equal(F.last.seg.payload_len, 300);
	/* that segment is lost too: the retransmission goes although it is
	 * smaller than SWS avoidance would send as new data */
	fx_step(&F);
	fx_expect(&F, GT_TCP_ACK, s0 + 2920, F.peer_snd_nxt);
	assert_int_equal(F.last.seg.payload_len, 300);
	/* its ACK opens the window: the rest flows */
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, s0 + 3220, 65535, NULL, 0);
	fx_expect(&F, GT_TCP_ACK, s0 + 3220, F.peer_snd_nxt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_syn_offers_all_by_default),
	    FX_TEST(test_negotiation_both),
	    FX_TEST(test_negotiation_peer_offers_none),
	    FX_TEST(test_negotiation_peer_offers_some),
	    FX_TEST(test_negotiation_we_offer_none),
	    FX_TEST(test_active_synack_without_options),
	    FX_TEST(test_active_synack_with_options),
	    FX_TEST(test_paws_drops_old_tsval),
	    FX_TEST(test_paws_idle_rule),
	    FX_TEST(test_rttm_sample_after_retransmission),
	    FX_TEST(test_sack_blocks_for_out_of_order_data),
	    FX_TEST(test_no_sack_blocks_without_agreement),
	    FX_TEST(test_sack_no_block_below_cumulative_ack),
	    FX_TEST(test_dsack_for_duplicate_below_ack),
	    FX_TEST(test_dsack_for_duplicate_out_of_order),
	    FX_TEST(test_ts_recent_not_from_challenged_syn),
	    FX_TEST(test_ts_recent_not_from_ack_of_unsent_data),
	    FX_TEST(test_window_scale_both_ways),
	    FX_TEST(test_trace_window_in_bytes),
	    FX_TEST(test_trace_window_unscaled),
	    FX_TEST(test_default_buffer_unscaled),
	    FX_TEST(test_sack_recovery_repairs_three_losses),
	    FX_TEST(test_newreno_without_sack),
	    FX_TEST(test_eifel_undoes_spurious_fast_retransmit),
	    FX_TEST(test_small_window_override_and_resend),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
