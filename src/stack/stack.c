/* The stack instance: creation, the TCBs it owns, demultiplexing by 4-tuple,
 * the timer heap, packet input, readiness, and the one exit for packets; the
 * gt_tcp_env through which the engine reaches all of these. */
#include "stack/stack_impl.h"
#include "tcp/seq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gt_stack_config_default(gt_stack_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->name = "host";
	cfg->mss = 1460;
	cfg->sndbuf = 65536;
	cfg->rcvbuf = 65536;
	cfg->max_conns = 1024;
	cfg->reasm_max_ranges = 16;
	cfg->msl_us = 30 * 1000000ull;
	cfg->rto_initial_us = 1000000;
	cfg->rto_min_us = 200000;
	cfg->rto_max_us = 60 * 1000000ull;
	cfg->delack_us = 40000;
	cfg->fin_wait_2_timeout_us = 60 * 1000000ull;
	cfg->max_retries = 12;
	cfg->max_syn_retries = 6;
	cfg->orphan_retries = 8; /* Linux's tcp_orphan_retries 0, read as 8 */
	cfg->ephemeral_lo = 49152;
	cfg->ephemeral_hi = 65535;
	cfg->timestamps = true;
	cfg->sack = true;
	cfg->window_scaling = true;
	/* RFC 1122 §4.2.3.6: by default the idle time is two hours at least;
	 * interval and count are Linux's defaults */
	cfg->keepalive_idle_us = 7200 * 1000000ull;
	cfg->keepalive_intvl_us = 75 * 1000000ull;
	cfg->keepalive_probes = 9;
}

static const gt_tcp_env_ops env_ops;

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* A keep-alive time in the config: 0 (the default) or within the range that
 * gt_sock_set_keepalive accepts. */
static bool keepalive_time_ok(gt_time_us t)
{
	return t == 0 || (t >= GT_KEEPALIVE_MIN_US && t <= GT_KEEPALIVE_MAX_US);
}

int gt_stack_create(const gt_stack_config *cfg, gt_stack **out)
{
	if (!cfg || !out || !cfg->output || cfg->mss < 64 || cfg->sndbuf < 1024 ||
	    cfg->rcvbuf < 1024 || cfg->max_conns == 0 || cfg->max_conns > GT_MAX_CONNS_LIMIT ||
	    cfg->ephemeral_lo == 0 || cfg->ephemeral_lo > cfg->ephemeral_hi ||
	    cfg->rto_min_us == 0 || cfg->rto_min_us > cfg->rto_max_us || cfg->msl_us == 0)
		return -EINVAL;
	/* RFC 791: a segment of mss octets plus the two headers must fit the
	 * 16-bit IPv4 total length; RFC 1122 §4.2.3.2: an ACK delay "MUST be less
	 * than 0.5 seconds"; RFC 1122 §3.2.1.3: 0.0.0.0, broadcast and multicast
	 * are never a source address (the parser drops such packets too). */
	if (cfg->mss > 65535 - GT_IPV4_HDR_LEN - GT_TCP_HDR_LEN || cfg->delack_us >= 500000 ||
	    cfg->local_addr == 0 || cfg->local_addr == 0xffffffffu ||
	    (cfg->local_addr & 0xf0000000u) == 0xe0000000u)
		return -EINVAL;
	if (!keepalive_time_ok(cfg->keepalive_idle_us) ||
	    !keepalive_time_ok(cfg->keepalive_intvl_us) || cfg->conn_reserve >= cfg->max_conns ||
	    (unsigned)cfg->syncookies > GT_SYNCOOKIES_ALWAYS)
		return -EINVAL;
	gt_stack *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->cfg = *cfg;
	snprintf(st->name, sizeof(st->name), "%s", cfg->name ? cfg->name : "host");
	st->cfg.name = st->name;
	/* keep-alive values of 0 (a config not from gt_stack_config_default)
	 * mean the defaults; they are used only when a socket turns it on */
	gt_stack_config defaults;
	gt_stack_config_default(&defaults);
	if (st->cfg.keepalive_idle_us == 0)
		st->cfg.keepalive_idle_us = defaults.keepalive_idle_us;
	if (st->cfg.keepalive_intvl_us == 0)
		st->cfg.keepalive_intvl_us = defaults.keepalive_intvl_us;
	if (st->cfg.keepalive_probes == 0)
		st->cfg.keepalive_probes = defaults.keepalive_probes;
	gt_stack_orphan_config(&st->cfg);
	/* A 64 KiB buffer is kept at 65535 bytes and offered unscaled (shift 0),
	 * as before window scaling: traces of default connections keep the
	 * window numbers they had (a profile offering a larger shift keeps
	 * 65536, as SO_RCVBUF reads). Larger buffers, up to 16 MiB, use RFC 7323
	 * window scaling (or, with window_scaling off, offer 65535 at most). */
	if (st->cfg.rcvbuf == 65536 && st->cfg.rcvbuf_max <= 65536)
		st->cfg.rcvbuf = 65535;
	if (st->cfg.rcvbuf > GT_RCVBUF_LIMIT)
		st->cfg.rcvbuf = GT_RCVBUF_LIMIT;
	if (st->cfg.rcvbuf_max > GT_RCVBUF_LIMIT)
		st->cfg.rcvbuf_max = GT_RCVBUF_LIMIT;
	if (st->cfg.rcvbuf_max < st->cfg.rcvbuf)
		st->cfg.rcvbuf_max = st->cfg.rcvbuf;
	if (st->cfg.tso_max > GT_TSO_LIMIT)
		st->cfg.tso_max = GT_TSO_LIMIT;
	/* connections that listeners never take: a flood of SYNs (or of
	 * completed handshakes nobody accepts) leaves room for connect() */
	if (st->cfg.conn_reserve == 0)
		st->cfg.conn_reserve = cfg->max_conns / 16;
	st->passive_limit = cfg->max_conns - st->cfg.conn_reserve;

	uint32_t nb = 16;
	while (nb < cfg->max_conns * 2)
		nb <<= 1;
	st->buckets = calloc(nb, sizeof(*st->buckets));
	st->heap = calloc(cfg->max_conns, sizeof(*st->heap));
	st->socks = calloc(cfg->max_conns, sizeof(*st->socks));
	if (!st->buckets || !st->heap || !st->socks) {
		gt_stack_destroy(st);
		return -ENOMEM;
	}
	st->bucket_mask = nb - 1;
	uint64_t k0, k1;
	memcpy(&k0, cfg->isn_key, 8);
	memcpy(&k1, cfg->isn_key + 8, 8);
	st->hash_key = mix64(k0 ^ mix64(k1 ^ 0x676c617373746370ull));
	st->sock_cap = cfg->max_conns;
	for (uint32_t i = 0; i < st->sock_cap; i++)
		st->socks[i].next_free = i + 1;
	st->sock_free = 0;
	uint32_t range = (uint32_t)cfg->ephemeral_hi - cfg->ephemeral_lo + 1;
	st->next_ephemeral = (uint16_t)(cfg->ephemeral_lo + (st->hash_key % range));
	st->env = (gt_tcp_env){.ops = &env_ops,
	                       .cfg = &st->cfg,
	                       .counters = &st->counters,
	                       .host = st->name,
	                       .txbuf = st->txbuf,
	                       .ip_id = (uint16_t)(st->hash_key >> 32)};
	*out = st;
	return 0;
}

void gt_stack_destroy(gt_stack *st)
{
	if (!st)
		return;
	while (st->all)
		gt_stack_free_tcb(st, st->all);
	free(st->buckets);
	free(st->heap);
	free(st->socks);
	free(st);
}

const char *gt_stack_name(const gt_stack *st)
{
	return st->name;
}

uint32_t gt_stack_addr(const gt_stack *st)
{
	return st->cfg.local_addr;
}

const gt_stack_counters *gt_stack_get_counters(const gt_stack *st)
{
	return &st->counters;
}

size_t gt_stack_conn_count(const gt_stack *st)
{
	size_t n = 0;
	for (const gt_tcb *t = st->all; t; t = t->all_next)
		n += t->state != GT_TCP_CLOSED;
	return n;
}

/* ---- the TCBs ---- */

gt_tcb *gt_stack_new_tcb(gt_stack *st)
{
	if (st->tcb_count >= st->cfg.max_conns)
		return NULL;
	gt_tcb *tcb = gt_tcb_new(&st->env);
	if (!tcb)
		return NULL;
	tcb->heap_idx = SIZE_MAX;
	tcb->syncookie_last = GT_TIME_NEVER;
	tcb->all_next = st->all;
	if (st->all)
		st->all->all_prev = tcb;
	st->all = tcb;
	st->tcb_count++;
	return tcb;
}

static void heap_remove(gt_stack *st, gt_tcb *tcb);
static void tw_remove(gt_stack *st, gt_tcb *tcb);

void gt_stack_free_tcb(gt_stack *st, gt_tcb *tcb)
{
	while (tcb->children)
		gt_stack_free_tcb(st, tcb->children);
	if (tcb->parent)
		gt_listen_child_detach(tcb);
	if (tcb->sock >= 0)
		gt_stack_sock_release(st, tcb->sock);
	gt_stack_hash_remove(st, tcb);
	heap_remove(st, tcb);
	tw_remove(st, tcb);
	gt_stack_orphan_remove(st, tcb);
	if (tcb->all_prev)
		tcb->all_prev->all_next = tcb->all_next;
	else
		st->all = tcb->all_next;
	if (tcb->all_next)
		tcb->all_next->all_prev = tcb->all_prev;
	st->tcb_count--;
	/* freed without a state change (the stack's own end): it is no longer
	 * established */
	if (tcb->state == GT_TCP_ESTABLISHED || tcb->state == GT_TCP_CLOSE_WAIT)
		st->counters.curr_estab--;
	gt_tcb_destroy(tcb);
}

/* ---- demux ---- */

static uint32_t bucket_of(const gt_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
                          uint16_t rport)
{
	uint64_t h = ((uint64_t)laddr << 32 | raddr) ^ st->hash_key;
	h = mix64(h ^ ((uint64_t)lport << 16 | rport) * 0x9e3779b97f4a7c15ull);
	return (uint32_t)h & st->bucket_mask;
}

gt_tcb *gt_stack_lookup(gt_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
                        uint16_t rport)
{
	for (gt_tcb *t = st->buckets[bucket_of(st, laddr, lport, raddr, rport)]; t;
	     t = t->hash_next)
		if (t->tuple.local_port == lport && t->tuple.remote_port == rport &&
		    t->tuple.remote_addr == raddr && t->tuple.local_addr == laddr)
			return t;
	return NULL;
}

void gt_stack_hash_insert(gt_stack *st, gt_tcb *tcb)
{
	const gt_conn_tuple *c = &tcb->tuple;
	uint32_t b = bucket_of(st, c->local_addr, c->local_port, c->remote_addr, c->remote_port);
	tcb->hash_next = st->buckets[b];
	st->buckets[b] = tcb;
	tcb->bound = true;
}

void gt_stack_hash_remove(gt_stack *st, gt_tcb *tcb)
{
	if (!tcb->bound)
		return;
	const gt_conn_tuple *c = &tcb->tuple;
	gt_tcb **pp = &st->buckets[bucket_of(st, c->local_addr, c->local_port, c->remote_addr,
	                                     c->remote_port)];
	while (*pp && *pp != tcb)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = tcb->hash_next;
	tcb->hash_next = NULL;
	tcb->bound = false;
}

bool gt_stack_port_in_use(const gt_stack *st, uint32_t addr, uint16_t port)
{
	/* bind() is rare: a walk over every TCB, not an index per port */
	for (const gt_tcb *t = st->all; t; t = t->all_next)
		if (t->bound && t->tuple.local_port == port && t->tuple.local_addr == addr &&
		    t->state != GT_TCP_CLOSED)
			return true;
	return false;
}

uint16_t gt_stack_pick_port(gt_stack *st, uint32_t raddr, uint16_t rport)
{
	uint32_t lo = st->cfg.ephemeral_lo, range = (uint32_t)st->cfg.ephemeral_hi - lo + 1;
	/* RFC 6056 §3.3.3: start from a keyed hash of the destination plus a
	 * counter, so ports are hard to guess and reuse of a pair is spread out. */
	uint32_t offset = (uint32_t)mix64(st->hash_key ^ ((uint64_t)raddr << 16 | rport));
	for (uint32_t i = 0; i < range; i++) {
		uint16_t port = (uint16_t)(lo + (offset + st->next_ephemeral + i) % range);
		if (gt_stack_lookup(st, st->cfg.local_addr, port, 0, 0))
			continue; /* a listener or a bound socket owns it */
		if (gt_stack_lookup(st, st->cfg.local_addr, port, raddr, rport))
			continue;
		st->next_ephemeral = (uint16_t)(st->next_ephemeral + i + 1);
		return port;
	}
	return 0;
}

/* ---- timer heap ---- */

static void heap_swap(gt_stack *st, size_t a, size_t b)
{
	gt_tcb *t = st->heap[a];
	st->heap[a] = st->heap[b];
	st->heap[b] = t;
	st->heap[a]->heap_idx = a;
	st->heap[b]->heap_idx = b;
}

static void heap_sift(gt_stack *st, size_t i)
{
	while (i > 0 && st->heap[(i - 1) / 2]->deadline > st->heap[i]->deadline) {
		heap_swap(st, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < st->heap_len && st->heap[l]->deadline < st->heap[m]->deadline)
			m = l;
		if (r < st->heap_len && st->heap[r]->deadline < st->heap[m]->deadline)
			m = r;
		if (m == i)
			return;
		heap_swap(st, i, m);
		i = m;
	}
}

static void heap_remove(gt_stack *st, gt_tcb *tcb)
{
	size_t i = tcb->heap_idx;
	if (i == SIZE_MAX)
		return;
	tcb->heap_idx = SIZE_MAX;
	st->heap_len--;
	if (i != st->heap_len) {
		st->heap[i] = st->heap[st->heap_len];
		st->heap[i]->heap_idx = i;
		heap_sift(st, i);
	}
}

static void heap_update(gt_stack *st, gt_tcb *tcb)
{
	if (tcb->deadline == GT_TIME_NEVER) {
		heap_remove(st, tcb);
		return;
	}
	if (tcb->heap_idx == SIZE_MAX) {
		tcb->heap_idx = st->heap_len;
		st->heap[st->heap_len++] = tcb;
	}
	heap_sift(st, tcb->heap_idx);
}

gt_time_us gt_stack_next_deadline(const gt_stack *st)
{
	return st->heap_len ? st->heap[0]->deadline : GT_TIME_NEVER;
}

void gt_stack_on_deadline(gt_stack *st, gt_time_us now)
{
	if (now > st->last_now)
		st->last_now = now;
	/* Each handler disarms or re-arms in the future every timer it runs, or
	 * frees the TCB, so this loop ends. */
	while (st->heap_len && st->heap[0]->deadline <= now)
		gt_tcb_on_timers(st->heap[0], now);
}

/* ---- TIME_WAIT list ---- */

static void tw_add(gt_stack *st, gt_tcb *tcb)
{
	tcb->tw_next = NULL;
	tcb->tw_prev = st->tw_tail;
	if (st->tw_tail)
		st->tw_tail->tw_next = tcb;
	else
		st->tw_head = tcb;
	st->tw_tail = tcb;
	st->tw_count++;
}

static void tw_remove(gt_stack *st, gt_tcb *tcb)
{
	if (tcb->tw_prev)
		tcb->tw_prev->tw_next = tcb->tw_next;
	else if (st->tw_head == tcb)
		st->tw_head = tcb->tw_next;
	else
		return; /* not in the list */
	if (tcb->tw_next)
		tcb->tw_next->tw_prev = tcb->tw_prev;
	else
		st->tw_tail = tcb->tw_prev;
	tcb->tw_prev = tcb->tw_next = NULL;
	st->tw_count--;
}

bool gt_stack_tw_recycle(gt_stack *st, gt_time_us now)
{
	/* the oldest that no socket holds: closing it really frees a TCB */
	gt_tcb *old = st->tw_head;
	while (old && old->sock >= 0)
		old = old->tw_next;
	if (!old)
		return false;
	gt_tcb_close(old, 0, "TIME_WAIT recycled", now);
	return true;
}

/* ---- events and output ---- */

static void emit(gt_stack *st, const gt_event *ev)
{
	gt_env_emit(&st->env, ev);
}

/* RFC 7323 §2.3: the shift that applies to the window field of a segment
 * received on tcb (the peer's, Snd.Wind.Shift); 0 when no scaling was agreed
 * or no connection is known. */
static uint8_t rcv_seg_shift(const gt_tcb *tcb)
{
	return tcb && tcb->ws_ok ? tcb->snd_wscale : 0;
}

static void seg_info_of(const gt_segment *seg, uint8_t wnd_shift, gt_seg_info *info)
{
	info->seq = seg->seq;
	info->ack = seg->ack;
	info->len = seg->payload_len;
	info->win = seg->wnd;
	/* RFC 7323 §2.2: the window of a SYN is never scaled */
	info->wnd = (seg->flags & GT_TCP_SYN) ? seg->wnd : (uint32_t)seg->wnd << wnd_shift;
	info->flags = seg->flags;
	info->rexmit = false;
	info->mss = seg->opts.has_mss ? seg->opts.mss : 0;
}

void gt_stack_drop(gt_stack *st, gt_drop_reason reason, const gt_tcb *tcb, const gt_segment *seg,
                   const uint8_t *pkt, size_t len, gt_time_us now)
{
	st->counters.drop[reason]++;
	st->counters.drops++;
	if (!st->cfg.on_event)
		return;
	gt_event ev = {.kind = GT_EV_DROP,
	               .t_us = now,
	               .host = st->name,
	               .reason = reason,
	               .pkt = pkt,
	               .pkt_len = len,
	               .sock = -1};
	/* a listener drops a segment of a would-be connection: the trace names
	 * that connection (who sent it), not the listener's 0.0.0.0:0 */
	if (tcb && !(seg && tcb->state == GT_TCP_LISTEN)) {
		ev.has_conn = true;
		ev.conn = tcb->tuple;
	} else if (seg) {
		ev.has_conn = true;
		ev.conn = gt_seg_tuple(seg);
	}
	if (seg) {
		ev.has_seg = true;
		seg_info_of(seg, rcv_seg_shift(tcb), &ev.seg);
	}
	emit(st, &ev);
}

/* Checksums, traces (tx event) and sends a packet built in st->txbuf.
 * wnd_shift: the window scale the receiver applies to its window field
 * (RFC 7323 §2.3; our Rcv.Wind.Shift once agreed, else 0), for the trace. */
static void transmit(gt_stack *st, const gt_conn_tuple *conn, size_t len, bool rexmit,
                     uint8_t wnd_shift, gt_time_us now)
{
	gt_wire_finalize(st->txbuf, len);
	st->counters.tx_segments++;
	if (rexmit)
		st->counters.tx_rexmits++;
	if (st->txbuf[GT_IPV4_HDR_LEN + 13] & GT_TCP_RST)
		st->counters.tx_rsts++;
	if (st->cfg.on_event) {
		gt_segment seg;
		gt_event ev = {.kind = GT_EV_TX,
		               .t_us = now,
		               .host = st->name,
		               .has_conn = true,
		               .conn = *conn,
		               .pkt = st->txbuf,
		               .pkt_len = len,
		               .sock = -1};
		if (gt_wire_peek(st->txbuf, len, &seg)) {
			ev.has_seg = true;
			seg_info_of(&seg, wnd_shift, &ev.seg);
			ev.seg.rexmit = rexmit;
			ev.seg.syncookie = st->tx_syncookie;
		}
		emit(st, &ev);
	}
	st->cfg.output(st->cfg.output_user, st->txbuf, len);
}

/* ---- what the engine asks of the stack (tcp/env.h) ---- */

static void env_transmit(gt_tcp_env *env, const gt_conn_tuple *conn, size_t len, bool rexmit,
                         uint8_t wnd_shift, gt_time_us now)
{
	transmit(gt_stack_of_env(env), conn, len, rexmit, wnd_shift, now);
}

static void env_drop(gt_tcp_env *env, gt_drop_reason reason, const gt_tcb *tcb,
                     const gt_segment *seg, gt_time_us now)
{
	gt_stack_drop(gt_stack_of_env(env), reason, tcb, seg, NULL, 0, now);
}

static void env_deadline_changed(gt_tcp_env *env, gt_tcb *tcb)
{
	heap_update(gt_stack_of_env(env), tcb);
}

static void env_state_changed(gt_tcp_env *env, gt_tcb *tcb, gt_tcp_state from, gt_time_us now)
{
	/* TIME_WAIT connections, oldest first, for gt_stack_tw_recycle */
	if (tcb->state == GT_TCP_TIME_WAIT)
		tw_add(gt_stack_of_env(env), tcb);
	else if (from == GT_TCP_TIME_WAIT)
		tw_remove(gt_stack_of_env(env), tcb);
	gt_stack_orphan_update(gt_stack_of_env(env), tcb, now); /* max_orphans */
}

static gt_drop_reason env_established(gt_tcp_env *env, gt_tcb *tcb)
{
	return gt_listen_child_established(tcb);
}

static bool env_release(gt_tcp_env *env, gt_tcb *tcb)
{
	gt_stack *st = gt_stack_of_env(env);
	/* a socket that holds it keeps the CLOSED shell until close(); a
	 * connection never accepted, or orphaned by close(), goes now */
	if (tcb->sock < 0 || tcb->parent) {
		gt_stack_free_tcb(st, tcb);
		return true;
	}
	gt_stack_hash_remove(st, tcb);
	return false;
}

static void env_notify(gt_tcp_env *env, gt_tcb *tcb, gt_time_us now)
{
	gt_stack_notify(gt_stack_of_env(env), tcb, now);
}

static const gt_tcp_env_ops env_ops = {.transmit = env_transmit,
                                       .drop = env_drop,
                                       .deadline_changed = env_deadline_changed,
                                       .state_changed = env_state_changed,
                                       .established = env_established,
                                       .release = env_release,
                                       .notify = env_notify};

/* ---- input ---- */

/* An ICMP message arrived: an error about a segment we sent goes to its
 * connection (RFC 1122 §4.2.3.9); anything else is counted and dropped. */
static void icmp_input(gt_stack *st, const uint8_t *pkt, size_t len, gt_time_us now)
{
	gt_icmp_error e;
	gt_drop_reason why = gt_wire_parse_icmp(pkt, len, &e);
	gt_tcb *tcb = NULL;
	if (why == GT_DROP_NONE) {
		tcb = e.local_addr == st->cfg.local_addr
		          ? gt_stack_lookup(st, e.local_addr, e.local_port, e.remote_addr,
		                            e.remote_port)
		          : NULL;
		why = tcb ? gt_tcb_icmp_error(tcb, &e, now) : GT_DROP_ICMP_NO_CONNECTION;
	}
	if (why != GT_DROP_NONE) {
		gt_stack_drop(st, why, NULL, NULL, pkt, len, now);
		return;
	}
	st->counters.rx_icmp_errors++; /* (tcb may be gone: a hard error closed it) */
}

void gt_stack_input(gt_stack *st, const uint8_t *pkt, size_t len, gt_time_us now)
{
	gt_segment seg;
	st->counters.rx_packets++;
	if (now > st->last_now)
		st->last_now = now;
	if (gt_wire_is_icmp(pkt, len)) {
		icmp_input(st, pkt, len, now);
		return;
	}
	gt_drop_reason why = gt_wire_parse(pkt, len, &seg);
	if (why != GT_DROP_NONE) {
		bool peek = gt_wire_peek(pkt, len, &seg);
		gt_stack_drop(st, why, NULL, peek ? &seg : NULL, pkt, len, now);
		return;
	}
	if (seg.dst_addr != st->cfg.local_addr) {
		gt_stack_drop(st, GT_DROP_NOT_FOR_US, NULL, &seg, pkt, len, now);
		return;
	}
	/* RFC 1122 §3.2.1.3: martian sources. 127/8 never appears on a wire
	 * (unless this stack itself lives on loopback), and a datagram from our
	 * own address is a LAND attack: a SYN to ourselves would make a
	 * connection that answers itself. */
	if ((seg.src_addr >> 24) == 127 && (st->cfg.local_addr >> 24) != 127) {
		gt_stack_drop(st, GT_DROP_SRC_LOOPBACK, NULL, &seg, pkt, len, now);
		return;
	}
	if (seg.src_addr == st->cfg.local_addr) {
		gt_stack_drop(st, GT_DROP_SRC_OWN_ADDR, NULL, &seg, pkt, len, now);
		return;
	}
	if (seg.src_port == 0 || seg.dst_port == 0) {
		gt_stack_drop(st, GT_DROP_BAD_PORT, NULL, &seg, pkt, len, now);
		return;
	}
	/* A SYN with RST or FIN has no meaning in any state; such "Christmas tree"
	 * segments are scans, not connections. */
	if ((seg.flags & GT_TCP_SYN) && (seg.flags & (GT_TCP_RST | GT_TCP_FIN))) {
		gt_stack_drop(st, GT_DROP_BAD_FLAGS, NULL, &seg, pkt, len, now);
		return;
	}
	st->counters.rx_segments++;
	if (seg.flags & GT_TCP_RST)
		st->counters.rx_rsts++;

	gt_tcb *tcb = gt_stack_lookup(st, seg.dst_addr, seg.dst_port, seg.src_addr, seg.src_port);
	if (!tcb || tcb->state == GT_TCP_CLOSED)
		tcb = gt_stack_lookup(st, seg.dst_addr, seg.dst_port, 0, 0);

	if (st->cfg.on_event) {
		gt_event ev = {.kind = GT_EV_RX,
		               .t_us = now,
		               .host = st->name,
		               .has_conn = true,
		               .conn = gt_seg_tuple(&seg),
		               .has_seg = true,
		               .pkt = pkt,
		               .pkt_len = len,
		               .sock = -1};
		seg_info_of(&seg, rcv_seg_shift(tcb), &ev.seg);
		emit(st, &ev);
	}

	if (!tcb || tcb->state == GT_TCP_CLOSED) {
		/* RFC 9293 §3.10.7.1: CLOSED — no TCB, answer with a reset */
		gt_stack_drop(st, GT_DROP_NO_CONNECTION, NULL, &seg, NULL, 0, now);
		gt_tcp_send_reset_for(&st->env, &seg, now);
		return;
	}
	if (tcb->state == GT_TCP_LISTEN) {
		gt_listen_input(st, tcb, &seg, now);
		return;
	}
	/* A new SYN for a connection in TIME_WAIT, above the old sequence space,
	 * may reopen it (RFC 9293 §3.10.7.4 fourth, RFC 6191 §2 without
	 * timestamps): the old connection goes, the listener takes the SYN. */
	if (gt_tcb_syn_reopens(tcb, &seg)) {
		gt_tcb *lst = gt_stack_lookup(st, seg.dst_addr, seg.dst_port, 0, 0);
		if (lst && lst->state == GT_TCP_LISTEN) {
			gt_tcb_close(tcb, 0, "rcv SYN (TIME_WAIT reuse)", now);
			gt_listen_input(st, lst, &seg, now);
			return;
		}
	}
	gt_tcb_input(tcb, &seg, now);
}

/* ---- sockets ---- */

uint32_t gt_stack_ready(const gt_tcb *tcb)
{
	if (tcb->state == GT_TCP_LISTEN)
		return tcb->acq_len ? GT_POLLIN : 0;
	return gt_tcb_poll(tcb);
}

void gt_stack_notify(gt_stack *st, gt_tcb *tcb, gt_time_us now)
{
	if (tcb->sock < 0) {
		/* not accepted yet: what changes is its listener's accept queue */
		if (tcb->parent && tcb->in_acq)
			gt_stack_notify(st, tcb->parent, now);
		return;
	}
	uint32_t m = gt_stack_ready(tcb);
	if (m == tcb->last_ready)
		return;
	tcb->last_ready = m;
	if (st->cfg.on_event) {
		gt_event ev = {.kind = GT_EV_SOCKET,
		               .t_us = now,
		               .host = st->name,
		               .has_conn = tcb->bound,
		               .conn = tcb->tuple,
		               .sock = tcb->sock,
		               .ready = m,
		               .error = tcb->error};
		emit(st, &ev);
	}
}

int gt_stack_sock_alloc(gt_stack *st, gt_tcb *tcb)
{
	if (st->sock_free >= st->sock_cap)
		return -EMFILE;
	uint32_t i = st->sock_free;
	st->sock_free = st->socks[i].next_free;
	st->socks[i].tcb = tcb;
	/* handle = generation (GT_SOCK_GEN_BITS) above the slot index
	 * (GT_SOCK_INDEX_BITS): a stale handle fails with -EBADF until its slot
	 * has been reused 2^11 times */
	st->socks[i].gen = (uint16_t)((st->socks[i].gen + 1) & ((1u << GT_SOCK_GEN_BITS) - 1));
	int h = (int)((uint32_t)st->socks[i].gen << GT_SOCK_INDEX_BITS | i);
	tcb->sock = h;
	return h;
}

void gt_stack_sock_release(gt_stack *st, int s)
{
	uint32_t i = gt_sock_index(s);
	st->socks[i].tcb->sock = -1;
	st->socks[i].tcb = NULL;
	st->socks[i].next_free = st->sock_free;
	st->sock_free = i;
}

gt_tcb *gt_stack_sock_tcb(const gt_stack *st, int s)
{
	if (s < 0)
		return NULL;
	uint32_t i = gt_sock_index(s);
	if (i >= st->sock_cap || !st->socks[i].tcb ||
	    st->socks[i].gen != (uint32_t)s >> GT_SOCK_INDEX_BITS)
		return NULL;
	return st->socks[i].tcb;
}
