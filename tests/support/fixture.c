#include "fixture.h"

#include "stack/stack_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FX_MAX_PKT (GT_IPV4_HDR_LEN + GT_TCP_HDR_LEN + GT_TCP_MAX_OPT_LEN + 65535)

static void fx_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fx_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprint_error(fmt, ap);
	va_end(ap);
	print_error("\n");
	_fail(file, line);
}

static void check_bad(fx *f, const char *file, int line)
{
	if (f->bad_pkts)
		fx_fail(file, line, "the stack sent %u malformed packet(s); first: %s", f->bad_pkts,
		        f->bad_msg);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

/* Verifies both checksums without the code under test's verifier. */
static bool checksums_ok(const uint8_t *pkt, size_t len, char *why, size_t why_len)
{
	if (len < GT_IPV4_HDR_LEN) {
		snprintf(why, why_len, "packet of %zu bytes", len);
		return false;
	}
	size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
	size_t total = be16(pkt + 2);
	if ((pkt[0] >> 4) != 4 || ihl < GT_IPV4_HDR_LEN || total != len || ihl > len) {
		snprintf(why, why_len, "bad IPv4 header (ver/ihl 0x%02x, total %zu, len %zu)",
		         pkt[0], total, len);
		return false;
	}
	if (gt_csum_fold(gt_csum_add(0, pkt, ihl)) != 0xffff) {
		snprintf(why, why_len, "bad IPv4 header checksum");
		return false;
	}
	uint8_t pseudo[12];
	memcpy(pseudo, pkt + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = GT_IP_PROTO_TCP;
	pseudo[10] = (uint8_t)((len - ihl) >> 8);
	pseudo[11] = (uint8_t)(len - ihl);
	uint32_t sum = gt_csum_add(0, pseudo, sizeof(pseudo));
	sum = gt_csum_add(sum, pkt + ihl, len - ihl);
	if (gt_csum_fold(sum) != 0xffff) {
		snprintf(why, why_len, "bad TCP checksum");
		return false;
	}
	return true;
}

static void on_output(void *user, const uint8_t *pkt, size_t len)
{
	fx *f = user;
	char why[120];
	f->tx_total++;
	if (!checksums_ok(pkt, len, why, sizeof(why))) {
		if (!f->bad_pkts++)
			snprintf(f->bad_msg, sizeof(f->bad_msg), "%s", why);
		return;
	}
	if (f->q_len == FX_QCAP) {
		if (!f->bad_pkts++)
			snprintf(f->bad_msg, sizeof(f->bad_msg), "output queue overflow");
		return;
	}
	fx_pkt *p = &f->q[(f->q_head + f->q_len) % FX_QCAP];
	p->raw = malloc(len);
	assert_non_null(p->raw);
	memcpy(p->raw, pkt, len);
	p->len = len;
	p->t = f->now;
	gt_drop_reason r = gt_wire_parse(p->raw, len, &p->seg);
	if (r != GT_DROP_NONE) {
		if (!f->bad_pkts++)
			snprintf(f->bad_msg, sizeof(f->bad_msg), "gt_wire_parse: %s",
			         gt_drop_reason_name(r));
		free(p->raw);
		return;
	}
	if (p->seg.src_addr != f->cfg.local_addr) {
		if (!f->bad_pkts++)
			snprintf(f->bad_msg, sizeof(f->bad_msg), "source address 0x%08x",
			         p->seg.src_addr);
		free(p->raw);
		return;
	}
	f->q_len++;
}

static void on_event(void *user, const gt_event *ev)
{
	fx *f = user;
	switch (ev->kind) {
	case GT_EV_STATE:
		if (f->ev_len < FX_MAX_EVENTS) {
			fx_state_ev *e = &f->ev[f->ev_len++];
			e->t = ev->t_us;
			e->conn = ev->conn;
			e->from = ev->from;
			e->to = ev->to;
			e->sock = ev->sock;
			snprintf(e->cause, sizeof(e->cause), "%s", ev->cause ? ev->cause : "");
		}
		break;
	case GT_EV_SOCKET:
		f->socket_events++;
		break;
	case GT_EV_DROP:
		f->drop_events++;
		f->last_drop = ev->reason;
		break;
	default:
		break;
	}
}

static uint32_t isn_hook(void *user, const gt_conn_tuple *conn, gt_time_us now)
{
	fx *f = user;
	return f->iss + f->opts.iss_step * f->isn_calls++;
}

void fx_opts_default(fx_opts *o)
{
	memset(o, 0, sizeof(*o));
	gt_stack_config_default(&o->cfg);
	o->cfg.name = "dut";
	o->cfg.local_addr = FX_LOCAL_ADDR;
	o->cfg.delack_us = 0;
	for (int i = 0; i < 16; i++)
		o->cfg.isn_key[i] = (uint8_t)(0xa5 ^ i);
	o->iss = 0x10000000u;
	o->iss_step = 0;
	o->peer_iss = 0x50000000u;
	o->peer_wnd = 65535;
	o->peer_mss = 1460;
	o->backlog = 16;
}

void fx_init(fx *f, const fx_opts *opts)
{
	memset(f, 0, sizeof(*f));
	if (opts)
		f->opts = *opts;
	else
		fx_opts_default(&f->opts);
	f->q = calloc(FX_QCAP, sizeof(*f->q));
	f->ev = calloc(FX_MAX_EVENTS, sizeof(*f->ev));
	assert_non_null(f->q);
	assert_non_null(f->ev);
	f->cfg = f->opts.cfg;
	f->cfg.output = on_output;
	f->cfg.output_user = f;
	f->cfg.on_event = on_event;
	f->cfg.event_user = f;
	f->cfg.isn_fn = isn_hook;
	f->cfg.isn_user = f;
	f->iss = f->opts.iss;
	f->lport = FX_LISTEN_PORT;
	f->rport = FX_PEER_PORT;
	f->lsock = -1;
	f->sock = -1;
	f->peer_wnd = f->opts.peer_wnd;
	f->peer_mss = f->opts.peer_mss;
	f->now = 1000; /* not zero: a zero time hides "unset" bugs */
	int r = gt_stack_create(&f->cfg, &f->st);
	assert_int_equal(r, 0);
	assert_non_null(f->st);
}

void fx_free(fx *f)
{
	check_bad(f, __FILE__, __LINE__);
	fx_drain(f);
	free(f->last.raw);
	f->last.raw = NULL;
	gt_stack_destroy(f->st);
	f->st = NULL;
	free(f->q);
	free(f->ev);
	f->q = NULL;
	f->ev = NULL;
}

/* ---- the shared fixture ---- */

fx F;

int fx_setup(void **state)
{
	fx_init(&F, NULL);
	return 0;
}

int fx_teardown(void **state)
{
	fx_free(&F);
	return 0;
}

void fx_reinit(const fx_opts *opts)
{
	fx_free(&F);
	fx_init(&F, opts);
}

void fx_reinit_with(void (*tweak)(fx_opts *o))
{
	fx_opts o;
	fx_opts_default(&o);
	tweak(&o);
	fx_reinit(&o);
}

/* ---- the peer sends ---- */

void fx_send_seg(fx *f, const fx_seg *s)
{
	static uint8_t buf[FX_MAX_PKT];
	gt_segment h;
	memset(&h, 0, sizeof(h));
	h.src_addr = s->src_addr ? s->src_addr : FX_PEER_ADDR;
	h.dst_addr = s->dst_addr ? s->dst_addr : f->cfg.local_addr;
	h.src_port = s->src_port ? s->src_port : f->rport;
	h.dst_port = s->dst_port ? s->dst_port : f->lport;
	h.seq = s->seq;
	h.ack = s->ack;
	h.flags = s->flags;
	h.wnd = s->wnd;
	if (s->opts) {
		h.opts = *s->opts;
	} else if (s->mss) {
		h.opts.has_mss = true;
		h.opts.mss = s->mss;
	}
	assert_true(s->len <= 65535 - GT_IPV4_HDR_LEN - GT_TCP_HDR_LEN - GT_TCP_MAX_OPT_LEN);
	size_t hl = gt_wire_write_headers(buf, &h, s->len, 0x4242);
	if (s->len)
		memcpy(buf + hl, s->payload, s->len);
	gt_wire_finalize(buf, hl + s->len);
	gt_stack_input(f->st, buf, hl + s->len, f->now);
}

void fx_send(fx *f, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd, const void *payload,
             uint32_t len)
{
	fx_seg s = {.flags = flags,
	            .seq = seq,
	            .ack = ack,
	            .wnd = wnd,
	            .payload = payload,
	            .len = len,
	            .mss = (flags & GT_TCP_SYN) ? f->peer_mss : 0};
	fx_send_seg(f, &s);
}

void fx_peer_ack(fx *f)
{
	fx_send(f, GT_TCP_ACK, f->peer_snd_nxt, f->peer_rcv_nxt, f->peer_wnd, NULL, 0);
}

void fx_peer_data(fx *f, const void *data, uint32_t len)
{
	fx_send(f, GT_TCP_ACK | GT_TCP_PSH, f->peer_snd_nxt, f->peer_rcv_nxt, f->peer_wnd, data,
	        len);
	f->peer_snd_nxt += len;
}

void fx_peer_fin(fx *f)
{
	fx_send(f, GT_TCP_FIN | GT_TCP_ACK, f->peer_snd_nxt, f->peer_rcv_nxt, f->peer_wnd, NULL, 0);
	f->peer_snd_nxt += 1;
}

/* ---- what the stack sent ---- */

size_t fx_pending(const fx *f)
{
	return f->q_len;
}

static void describe(const fx_pkt *p, char *buf, size_t n)
{
	char fl[9];
	snprintf(buf, n, "[%s] seq=%u (0x%08x) ack=%u (0x%08x) win=%u len=%u at t=%llu",
	         gt_tcp_flags_str(p->seg.flags, fl), p->seg.seq, p->seg.seq, p->seg.ack, p->seg.ack,
	         p->seg.wnd, p->seg.payload_len, (unsigned long long)p->t);
}

const fx_pkt *fx_pop_at(fx *f, const char *file, int line)
{
	check_bad(f, file, line);
	if (f->q_len == 0)
		fx_fail(file, line, "expected a segment from the stack, got none (t=%llu)",
		        (unsigned long long)f->now);
	free(f->last.raw);
	f->last = f->q[f->q_head];
	f->q[f->q_head].raw = NULL;
	f->q_head = (f->q_head + 1) % FX_QCAP;
	f->q_len--;
	return &f->last;
}

const fx_pkt *fx_expect_at(fx *f, uint8_t flags, uint32_t seq, uint32_t ack, const char *file,
                           int line)
{
	char want_fl[9], got[200];
	check_bad(f, file, line);
	if (f->q_len == 0)
		fx_fail(file, line,
		        "expected [%s] seq=%u (0x%08x) ack=%u (0x%08x), got nothing (t=%llu)",
		        gt_tcp_flags_str(flags, want_fl), seq, seq, ack, ack,
		        (unsigned long long)f->now);
	const fx_pkt *p = fx_pop_at(f, file, line);
	uint8_t mask = (flags & GT_TCP_PSH) ? 0xff : (uint8_t)~GT_TCP_PSH;
	bool ok = (p->seg.flags & mask) == (flags & mask) && p->seg.seq == seq;
	if (flags & GT_TCP_ACK)
		ok = ok && p->seg.ack == ack;
	if (!ok) {
		describe(p, got, sizeof(got));
		fx_fail(file, line,
		        "expected [%s] seq=%u (0x%08x) ack=%u (0x%08x)\n         got %s",
		        gt_tcp_flags_str(flags, want_fl), seq, seq, ack, ack, got);
	}
	return p;
}

void fx_expect_none_at(fx *f, const char *file, int line)
{
	check_bad(f, file, line);
	if (f->q_len) {
		char got[200];
		describe(&f->q[f->q_head], got, sizeof(got));
		fx_fail(file, line, "expected no segment, got %s (%zu queued)", got, f->q_len);
	}
}

void fx_drain(fx *f)
{
	while (f->q_len) {
		free(f->q[f->q_head].raw);
		f->q[f->q_head].raw = NULL;
		f->q_head = (f->q_head + 1) % FX_QCAP;
		f->q_len--;
	}
}

/* ---- time ---- */

void fx_advance_to(fx *f, gt_time_us end)
{
	assert_true(end >= f->now);
	for (unsigned guard = 0;; guard++) {
		gt_time_us d = gt_stack_next_deadline(f->st);
		if (d == GT_TIME_NEVER || d > end)
			break;
		if (guard > 1000000)
			fail_msg("fx_advance: the stack's deadline does not move (%llu)",
			         (unsigned long long)d);
		if (d > f->now)
			f->now = d;
		gt_stack_on_deadline(f->st, f->now);
	}
	f->now = end;
}

void fx_advance(fx *f, gt_time_us us)
{
	fx_advance_to(f, f->now + us);
}

gt_time_us fx_step(fx *f)
{
	gt_time_us d = gt_stack_next_deadline(f->st);
	assert_true(d != GT_TIME_NEVER);
	fx_advance_to(f, d > f->now ? d : f->now);
	return f->now;
}

/* ---- states ---- */

gt_tcp_state fx_state(fx *f)
{
	gt_tcb *t = fx_tcb(f);
	return t ? t->state : GT_TCP_CLOSED;
}

void fx_assert_state_at(fx *f, gt_tcp_state s, const char *file, int line)
{
	gt_tcp_state got = fx_state(f);
	if (got != s)
		fx_fail(file, line, "expected state %s, got %s", gt_tcp_state_name(s),
		        gt_tcp_state_name(got));
}

void fx_listen(fx *f)
{
	f->lsock = gt_socket(f->st);
	assert_true(f->lsock >= 0);
	assert_int_equal(gt_bind(f->st, f->lsock, 0, FX_LISTEN_PORT), 0);
	assert_int_equal(gt_listen(f->st, f->lsock, f->opts.backlog, f->now), 0);
	assert_int_equal(gt_sock_state(f->st, f->lsock), GT_TCP_LISTEN);
	f->lport = FX_LISTEN_PORT;
	fx_expect_none(f);
}

void fx_syn_received(fx *f)
{
	fx_listen(f);
	fx_send(f, GT_TCP_SYN, f->opts.peer_iss, 0, f->peer_wnd, NULL, 0);
	const fx_pkt *p = fx_expect(f, GT_TCP_SYN | GT_TCP_ACK, f->iss, f->opts.peer_iss + 1);
	assert_true(p->seg.opts.has_mss);
	assert_int_equal(p->seg.opts.mss, f->cfg.mss);
	f->peer_snd_nxt = f->opts.peer_iss + 1;
	f->peer_rcv_nxt = f->iss + 1;
	fx_assert_state(f, GT_TCP_SYN_RECEIVED);
}

void fx_established_passive(fx *f)
{
	fx_syn_received(f);
	fx_peer_ack(f);
	fx_expect_none(f);
	fx_assert_state(f, GT_TCP_ESTABLISHED);
	uint32_t addr = 0;
	uint16_t port = 0;
	f->sock = gt_accept(f->st, f->lsock, &addr, &port);
	assert_true(f->sock >= 0);
	assert_int_equal(addr, FX_PEER_ADDR);
	assert_int_equal(port, f->rport);
	assert_int_equal(gt_sock_state(f->st, f->sock), GT_TCP_ESTABLISHED);
}

void fx_syn_sent(fx *f)
{
	f->sock = gt_socket(f->st);
	assert_true(f->sock >= 0);
	assert_int_equal(gt_connect(f->st, f->sock, FX_PEER_ADDR, f->rport, f->now), -EINPROGRESS);
	const fx_pkt *p = fx_pop(f);
	char d[200];
	describe(p, d, sizeof(d));
	if (p->seg.flags != GT_TCP_SYN || p->seg.seq != f->iss)
		fail_msg("expected the SYN, got %s", d);
	assert_true(p->seg.opts.has_mss);
	assert_int_equal(p->seg.opts.mss, f->cfg.mss);
	assert_int_equal(p->seg.dst_addr, FX_PEER_ADDR);
	assert_int_equal(p->seg.dst_port, f->rport);
	f->lport = p->seg.src_port;
	assert_in_range(f->lport, f->cfg.ephemeral_lo, f->cfg.ephemeral_hi);
	f->peer_rcv_nxt = f->iss + 1;
	f->peer_snd_nxt = f->opts.peer_iss;
	fx_assert_state(f, GT_TCP_SYN_SENT);
	assert_int_equal(gt_sock_state(f->st, f->sock), GT_TCP_SYN_SENT);
}

void fx_established_active(fx *f)
{
	fx_syn_sent(f);
	fx_send(f, GT_TCP_SYN | GT_TCP_ACK, f->opts.peer_iss, f->iss + 1, f->peer_wnd, NULL, 0);
	f->peer_snd_nxt = f->opts.peer_iss + 1;
	fx_expect(f, GT_TCP_ACK, f->iss + 1, f->peer_snd_nxt);
	fx_expect_none(f);
	fx_assert_state(f, GT_TCP_ESTABLISHED);
	assert_int_equal(gt_sock_state(f->st, f->sock), GT_TCP_ESTABLISHED);
}

void fx_established(fx *f)
{
	if (f->opts.active)
		fx_established_active(f);
	else
		fx_established_passive(f);
}

/* ---- closing steps: each from the state before it ---- */

static void go_fin_wait_1(fx *f)
{
	fx_assert_state(f, GT_TCP_ESTABLISHED);
	assert_int_equal(gt_shutdown(f->st, f->sock, GT_SHUT_WR, f->now), 0);
	fx_expect(f, GT_TCP_FIN | GT_TCP_ACK, f->peer_rcv_nxt, f->peer_snd_nxt);
	fx_expect_none(f);
	f->peer_rcv_nxt += 1; /* the peer has our FIN */
	fx_assert_state(f, GT_TCP_FIN_WAIT_1);
}

static void go_fin_wait_2(fx *f)
{
	fx_peer_ack(f);
	fx_expect_none(f);
	fx_assert_state(f, GT_TCP_FIN_WAIT_2);
}

static void go_close_wait(fx *f)
{
	fx_assert_state(f, GT_TCP_ESTABLISHED);
	fx_peer_fin(f);
	fx_expect(f, GT_TCP_ACK, f->peer_rcv_nxt, f->peer_snd_nxt);
	fx_expect_none(f);
	fx_assert_state(f, GT_TCP_CLOSE_WAIT);
}

static void go_closing(fx *f)
{
	fx_assert_state(f, GT_TCP_FIN_WAIT_1);
	/* the peer's FIN crosses ours: it does not acknowledge our FIN */
	fx_send(f, GT_TCP_FIN | GT_TCP_ACK, f->peer_snd_nxt, f->peer_rcv_nxt - 1, f->peer_wnd, NULL,
	        0);
	f->peer_snd_nxt += 1;
	fx_expect(f, GT_TCP_ACK, f->peer_rcv_nxt, f->peer_snd_nxt);
	fx_expect_none(f);
	fx_assert_state(f, GT_TCP_CLOSING);
}

static void go_last_ack(fx *f)
{
	fx_assert_state(f, GT_TCP_CLOSE_WAIT);
	assert_int_equal(gt_shutdown(f->st, f->sock, GT_SHUT_WR, f->now), 0);
	fx_expect(f, GT_TCP_FIN | GT_TCP_ACK, f->peer_rcv_nxt, f->peer_snd_nxt);
	fx_expect_none(f);
	f->peer_rcv_nxt += 1;
	fx_assert_state(f, GT_TCP_LAST_ACK);
}

static void go_time_wait(fx *f)
{
	fx_assert_state(f, GT_TCP_FIN_WAIT_2);
	fx_peer_fin(f);
	fx_expect(f, GT_TCP_ACK, f->peer_rcv_nxt, f->peer_snd_nxt);
	fx_expect_none(f);
	fx_assert_state(f, GT_TCP_TIME_WAIT);
}

void fx_goto(fx *f, gt_tcp_state s)
{
	switch (s) {
	case GT_TCP_ESTABLISHED:
		fx_assert_state(f, GT_TCP_ESTABLISHED);
		break;
	case GT_TCP_FIN_WAIT_1:
		go_fin_wait_1(f);
		break;
	case GT_TCP_FIN_WAIT_2:
		go_fin_wait_1(f);
		go_fin_wait_2(f);
		break;
	case GT_TCP_CLOSE_WAIT:
		go_close_wait(f);
		break;
	case GT_TCP_CLOSING:
		go_fin_wait_1(f);
		go_closing(f);
		break;
	case GT_TCP_LAST_ACK:
		go_close_wait(f);
		go_last_ack(f);
		break;
	case GT_TCP_TIME_WAIT:
		go_fin_wait_1(f);
		go_fin_wait_2(f);
		go_time_wait(f);
		break;
	default:
		fail_msg("fx_goto: cannot walk from ESTABLISHED to %s", gt_tcp_state_name(s));
	}
}

void fx_enter(fx *f, gt_tcp_state s)
{
	switch (s) {
	case GT_TCP_LISTEN:
		fx_listen(f);
		break;
	case GT_TCP_SYN_SENT:
		fx_syn_sent(f);
		break;
	case GT_TCP_SYN_RECEIVED:
		fx_syn_received(f);
		break;
	default:
		fx_established(f);
		fx_goto(f, s);
		break;
	}
}

void fx_fin_wait_1(fx *f)
{
	fx_enter(f, GT_TCP_FIN_WAIT_1);
}

void fx_fin_wait_2(fx *f)
{
	fx_enter(f, GT_TCP_FIN_WAIT_2);
}

void fx_close_wait(fx *f)
{
	fx_enter(f, GT_TCP_CLOSE_WAIT);
}

void fx_closing(fx *f)
{
	fx_enter(f, GT_TCP_CLOSING);
}

void fx_last_ack(fx *f)
{
	fx_enter(f, GT_TCP_LAST_ACK);
}

void fx_time_wait(fx *f)
{
	fx_enter(f, GT_TCP_TIME_WAIT);
}

uint32_t fx_peer_una(const fx *f)
{
	gt_tcp_state s = fx_state((fx *)f);
	bool fin_unacked = s == GT_TCP_FIN_WAIT_1 || s == GT_TCP_CLOSING || s == GT_TCP_LAST_ACK;
	return fin_unacked ? f->peer_rcv_nxt - 1 : f->peer_rcv_nxt;
}

void fx_fill_pattern(uint8_t *buf, uint32_t len, uint32_t offset)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((offset + i) * 7 + ((offset + i) >> 8));
}

uint16_t fx_peer_send_acked(fx *f, uint32_t len, uint32_t chunk)
{
	static uint8_t buf[65536];
	uint16_t wnd = 0;
	while (len) {
		uint32_t n = len < chunk ? len : chunk;
		fx_fill_pattern(buf, n, f->peer_snd_nxt - f->opts.peer_iss - 1);
		fx_peer_data(f, buf, n);
		wnd = fx_expect(f, GT_TCP_ACK, f->peer_rcv_nxt, f->peer_snd_nxt)->seg.wnd;
		len -= n;
	}
	return wnd;
}

struct gt_tcb *fx_tcb(fx *f)
{
	return gt_stack_lookup(f->st, f->cfg.local_addr, f->lport, FX_PEER_ADDR, f->rport);
}

/* ---- events ---- */

const fx_state_ev *fx_find_transition(const fx *f, gt_tcp_state from, gt_tcp_state to)
{
	for (size_t i = f->ev_len; i-- > 0;)
		if (f->ev[i].to == to && (from == FX_ANY || f->ev[i].from == from))
			return &f->ev[i];
	return NULL;
}

size_t fx_count_transitions(const fx *f, gt_tcp_state to)
{
	size_t n = 0;
	for (size_t i = 0; i < f->ev_len; i++)
		n += f->ev[i].to == to;
	return n;
}

const fx_state_ev *fx_last_transition(const fx *f)
{
	return f->ev_len ? &f->ev[f->ev_len - 1] : NULL;
}

void fx_clear_events(fx *f)
{
	f->ev_len = 0;
}
