/* Splitting a trace into connections and each connection into the arrows,
 * states and timers of its ladder diagram (flow.h).
 *
 * A connection is the unordered pair of its two endpoints: both hosts log it
 * with their own end as "local", so the key ignores the order. Each segment a
 * host sent (tx) is matched with what the other host logged for it: the first
 * not yet matched rx or drop event of the same segment at or after the send,
 * in log order, which is the order the network delivers in. */
#include "view/flow.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct endpoint {
	uint32_t addr;
	uint16_t port;
} endpoint;

typedef struct flow_key {
	endpoint a, b; /* a <= b */
} flow_key;

static bool ep_eq(endpoint x, endpoint y)
{
	return x.addr == y.addr && x.port == y.port;
}

static bool ep_less(endpoint x, endpoint y)
{
	return x.addr < y.addr || (x.addr == y.addr && x.port < y.port);
}

static endpoint ep_local(const gt_conn_tuple *c)
{
	return (endpoint){c->local_addr, c->local_port};
}

static endpoint ep_remote(const gt_conn_tuple *c)
{
	return (endpoint){c->remote_addr, c->remote_port};
}

static bool key_eq(const flow_key *x, const flow_key *y)
{
	return ep_eq(x->a, y->a) && ep_eq(x->b, y->b);
}

static bool is_listener(const gt_event *ev)
{
	return ev->conn.remote_addr == 0 && ev->conn.remote_port == 0;
}

/* Events that belong to a connection: its state changes and its segments.
 * Listener events (remote 0.0.0.0:0) and socket readiness do not. */
static bool conn_event(const gt_event *ev, flow_key *key)
{
	if (!ev || !ev->has_conn || is_listener(ev))
		return false;
	if (ev->kind != GT_EV_STATE && ev->kind != GT_EV_TX && ev->kind != GT_EV_RX &&
	    ev->kind != GT_EV_DROP)
		return false;
	if (ev->kind != GT_EV_STATE && !ev->has_seg)
		return false;
	endpoint l = ep_local(&ev->conn), r = ep_remote(&ev->conn);
	if (ep_less(r, l))
		*key = (flow_key){r, l};
	else
		*key = (flow_key){l, r};
	return true;
}

static uint64_t key_hash(const flow_key *k)
{
	uint64_t h = ((uint64_t)k->a.addr << 16 | k->a.port) * 0x9e3779b97f4a7c15ull;
	h ^= ((uint64_t)k->b.addr << 16 | k->b.port) + 0x632be59bd9b4e019ull + (h << 6) + (h >> 2);
	return h ^ (h >> 29);
}

/* Connection keys and their index (order of first appearance): open
 * addressing, grown at half full. */
typedef struct key_map {
	flow_key *slot;
	size_t *val; /* connection index + 1; 0 = free slot */
	size_t cap, n;
} key_map;

static void key_map_free(key_map *m)
{
	free(m->slot);
	free(m->val);
}

static void key_map_put(key_map *m, const flow_key *k, size_t val)
{
	size_t i = key_hash(k) & (m->cap - 1);
	while (m->val[i])
		i = (i + 1) & (m->cap - 1);
	m->slot[i] = *k;
	m->val[i] = val;
}

/* The index of k, which is added as connection m->n when new. Returns 1 if
 * it was new, 0 if already there, -ENOMEM. */
static int key_map_add(key_map *m, const flow_key *k, size_t *index)
{
	if (2 * (m->n + 1) > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		key_map nm = {.slot = calloc(ncap, sizeof *nm.slot),
		              .val = calloc(ncap, sizeof *nm.val),
		              .cap = ncap,
		              .n = m->n};
		if (!nm.slot || !nm.val) {
			key_map_free(&nm);
			return -ENOMEM;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->val[i])
				key_map_put(&nm, &m->slot[i], m->val[i]);
		key_map_free(m);
		*m = nm;
	}
	for (size_t i = key_hash(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->val[i]) {
			m->slot[i] = *k;
			m->val[i] = ++m->n;
			*index = m->n - 1;
			return 1;
		}
		if (key_eq(&m->slot[i], k)) {
			*index = m->val[i] - 1;
			return 0;
		}
	}
}

/* Enumerates connection keys in order of first appearance: *count of them
 * (when count is given), and the key of connection index into out. Returns 0
 * when index was found, -ENOENT when there are fewer connections, -ENOMEM. */
static int nth_key(const gt_trace_log *log, size_t index, flow_key *out, size_t *count)
{
	size_t n = gt_trace_log_count(log);
	key_map seen = {0};
	flow_key last = {0};
	bool have_last = false;
	int rc = -ENOENT;
	for (size_t i = 0; i < n; i++) {
		flow_key k;
		if (!conn_event(gt_trace_log_get(log, i), &k))
			continue;
		if (have_last && key_eq(&k, &last))
			continue;
		last = k;
		have_last = true;
		size_t conn;
		int added = key_map_add(&seen, &k, &conn);
		if (added < 0) {
			rc = added;
			break;
		}
		if (added && out && conn == index) {
			*out = k;
			rc = 0;
			break;
		}
	}
	if (count)
		*count = seen.n;
	key_map_free(&seen);
	return rc;
}

size_t gt_flow_count(const gt_trace_log *log)
{
	size_t n = 0;
	if (log)
		nth_key(log, SIZE_MAX, NULL, &n);
	return n;
}

/* ---- the index of every connection ---- */

/* A listener's CLOSED -> LISTEN (or any -> LISTEN) with its log position. */
typedef struct listen_ent {
	endpoint ep;
	size_t order;
} listen_ent;

struct gt_flow_index {
	const gt_trace_log *log;
	size_t n_conns;
	flow_key *keys; /* each connection's */
	/* The log positions of connection k's events, in log order:
	 * events[start[k] .. start[k + 1]). */
	size_t *start;
	size_t *events;
	listen_ent *listens; /* sorted by endpoint, then log position */
	size_t n_listens;
	gt_time_us log_end; /* the last event's time, of any kind */
};

static bool is_listen_state(const gt_event *ev)
{
	return ev && ev->kind == GT_EV_STATE && ev->has_conn && is_listener(ev) &&
	       ev->to == GT_TCP_LISTEN;
}

static int cmp_listen(const listen_ent *a, const listen_ent *b)
{
	if (a->ep.addr != b->ep.addr)
		return a->ep.addr < b->ep.addr ? -1 : 1;
	if (a->ep.port != b->ep.port)
		return a->ep.port < b->ep.port ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static int cmp_listen_ent(const void *x, const void *y)
{
	return cmp_listen(x, y);
}

/* The log position of the last LISTEN of endpoint ep before position before,
 * or SIZE_MAX. */
static size_t index_last_listen(const gt_flow_index *idx, endpoint ep, size_t before)
{
	listen_ent key = {ep, before};
	size_t lo = 0, hi = idx->n_listens;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_listen(&idx->listens[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || !ep_eq(idx->listens[lo - 1].ep, ep))
		return SIZE_MAX;
	return idx->listens[lo - 1].order;
}

void gt_flow_index_free(gt_flow_index *idx)
{
	if (!idx)
		return;
	free(idx->keys);
	free(idx->start);
	free(idx->events);
	free(idx->listens);
	free(idx);
}

/* Two passes over the log: the first numbers the connections (as nth_key
 * does) and notes each event's, the second groups the events by connection. */
gt_flow_index *gt_flow_index_new(const gt_trace_log *log)
{
	gt_flow_index *idx = calloc(1, sizeof *idx);
	if (!idx)
		return NULL;
	idx->log = log;
	size_t n = log ? gt_trace_log_count(log) : 0;
	size_t *conn_of = malloc((n ? n : 1) * sizeof *conn_of);
	key_map map = {0};
	size_t n_ev = 0, cap_listens = 0;
	bool ok = conn_of != NULL;
	for (size_t i = 0; ok && i < n; i++) {
		const gt_event *ev = gt_trace_log_get(log, i);
		conn_of[i] = SIZE_MAX;
		if (ev && ev->t_us > idx->log_end)
			idx->log_end = ev->t_us;
		if (is_listen_state(ev)) {
			if (idx->n_listens == cap_listens) {
				size_t ncap = cap_listens ? cap_listens * 2 : 16;
				listen_ent *nl = realloc(idx->listens, ncap * sizeof *nl);
				if (!nl) {
					ok = false;
					break;
				}
				idx->listens = nl;
				cap_listens = ncap;
			}
			idx->listens[idx->n_listens++] = (listen_ent){ep_local(&ev->conn), i};
		}
		flow_key k;
		if (!conn_event(ev, &k))
			continue;
		ok = key_map_add(&map, &k, &conn_of[i]) >= 0;
		n_ev++;
	}
	if (ok) {
		idx->n_conns = map.n;
		idx->keys = malloc((map.n ? map.n : 1) * sizeof *idx->keys);
		idx->start = calloc(map.n + 1, sizeof *idx->start);
		idx->events = malloc((n_ev ? n_ev : 1) * sizeof *idx->events);
		ok = idx->keys && idx->start && idx->events;
	}
	if (ok) {
		for (size_t i = 0; i < map.cap; i++)
			if (map.val[i])
				idx->keys[map.val[i] - 1] = map.slot[i];
		for (size_t i = 0; i < n; i++)
			if (conn_of[i] != SIZE_MAX)
				idx->start[conn_of[i] + 1]++;
		for (size_t k = 0; k < idx->n_conns; k++)
			idx->start[k + 1] += idx->start[k];
		/* conn_of[i] becomes the fill position, then the events land in
		 * log order within each connection */
		size_t *fill = calloc(idx->n_conns + 1, sizeof *fill);
		ok = fill != NULL;
		for (size_t i = 0; ok && i < n; i++)
			if (conn_of[i] != SIZE_MAX)
				idx->events[idx->start[conn_of[i]] + fill[conn_of[i]]++] = i;
		free(fill);
	}
	if (ok && idx->n_listens > 1)
		qsort(idx->listens, idx->n_listens, sizeof *idx->listens, cmp_listen_ent);
	free(conn_of);
	key_map_free(&map);
	if (!ok) {
		gt_flow_index_free(idx);
		return NULL;
	}
	return idx;
}

size_t gt_flow_index_count(const gt_flow_index *idx)
{
	return idx ? idx->n_conns : 0;
}

/* ---- building one flow ---- */

typedef struct fev {
	const gt_event *ev;
	size_t order; /* index in the log */
	int side;     /* the host that logged it */
	bool used;    /* rx/drop: matched with an arrow */
} fev;

typedef struct builder {
	const gt_trace_log *log;
	const gt_flow_index *idx; /* NULL: scan the log */
	gt_flow *out;
	endpoint ep[2];
	fev *evs;
	size_t n_evs;
	size_t cap_arrows, cap_states, cap_timers;
	bool logs_tx[2]; /* the side logged segments it sent */
	bool logs_rx[2]; /* the side logged segments it received */
	gt_time_us log_end;
} builder;

static bool is_sim_drop(gt_drop_reason r)
{
	return r == GT_DROP_SIM_LOSS || r == GT_DROP_SIM_FAULT;
}

static bool same_seg(const gt_seg_info *a, const gt_seg_info *b)
{
	return a->seq == b->seq && a->ack == b->ack && a->flags == b->flags && a->len == b->len;
}

/* Sequence space a segment occupies: RFC 9293 §3.4, SYN and FIN count one. */
static uint32_t seg_space(const gt_seg_info *s)
{
	return s->len + ((s->flags & GT_TCP_SYN) ? 1u : 0u) + ((s->flags & GT_TCP_FIN) ? 1u : 0u);
}

/* RFC 9293 §3.4: sequence comparison modulo 2^32. */
static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static int push_arrow(builder *b, const gt_flow_arrow *a)
{
	gt_flow *f = b->out;
	if (f->n_arrows == b->cap_arrows) {
		size_t ncap = b->cap_arrows ? b->cap_arrows * 2 : 32;
		gt_flow_arrow *na = realloc(f->arrows, ncap * sizeof *na);
		if (!na)
			return -ENOMEM;
		f->arrows = na;
		b->cap_arrows = ncap;
	}
	f->arrows[f->n_arrows++] = *a;
	return 0;
}

static int push_state(builder *b, const gt_flow_state *s)
{
	gt_flow *f = b->out;
	if (f->n_states == b->cap_states) {
		size_t ncap = b->cap_states ? b->cap_states * 2 : 16;
		gt_flow_state *ns = realloc(f->states, ncap * sizeof *ns);
		if (!ns)
			return -ENOMEM;
		f->states = ns;
		b->cap_states = ncap;
	}
	f->states[f->n_states++] = *s;
	return 0;
}

static int push_timer(builder *b, const gt_flow_timer *t)
{
	gt_flow *f = b->out;
	if (f->n_timers == b->cap_timers) {
		size_t ncap = b->cap_timers ? b->cap_timers * 2 : 8;
		gt_flow_timer *nt = realloc(f->timers, ncap * sizeof *nt);
		if (!nt)
			return -ENOMEM;
		f->timers = nt;
		b->cap_timers = ncap;
	}
	f->timers[f->n_timers++] = *t;
	return 0;
}

/* The events of connection conn of the index, in log order. */
static int collect_indexed(builder *b, size_t conn)
{
	const gt_flow_index *idx = b->idx;
	size_t m = idx->start[conn + 1] - idx->start[conn];
	b->log_end = idx->log_end;
	b->evs = calloc(m ? m : 1, sizeof *b->evs);
	if (!b->evs)
		return -ENOMEM;
	for (size_t j = 0; j < m; j++) {
		size_t i = idx->events[idx->start[conn] + j];
		b->evs[j] = (fev){.ev = gt_trace_log_get(b->log, i), .order = i};
	}
	b->n_evs = m;
	return 0;
}

/* The events of the connection, in log order, each with the side that logged
 * it. */
static int collect(builder *b, const flow_key *key)
{
	size_t n = gt_trace_log_count(b->log), cap = 0;
	for (size_t i = 0; i < n; i++) {
		const gt_event *ev = gt_trace_log_get(b->log, i);
		if (ev && ev->t_us > b->log_end)
			b->log_end = ev->t_us;
		flow_key k;
		if (!conn_event(ev, &k) || !key_eq(&k, key))
			continue;
		if (b->n_evs == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			fev *ne = realloc(b->evs, ncap * sizeof *ne);
			if (!ne)
				return -ENOMEM;
			b->evs = ne;
			cap = ncap;
		}
		b->evs[b->n_evs++] = (fev){.ev = ev, .order = i};
	}
	return 0;
}

/* Left = the sender of the first SYN without ACK (the active opener), else
 * the first sender, else whoever logged first. */
static endpoint left_endpoint(const builder *b)
{
	for (size_t i = 0; i < b->n_evs; i++) {
		const gt_event *ev = b->evs[i].ev;
		bool syn = ev->kind != GT_EV_STATE && (ev->seg.flags & GT_TCP_SYN) &&
		           !(ev->seg.flags & GT_TCP_ACK);
		if (syn && ev->kind == GT_EV_TX)
			return ep_local(&ev->conn);
		if (syn && (ev->kind == GT_EV_RX || ev->kind == GT_EV_DROP))
			return ep_remote(&ev->conn);
	}
	for (size_t i = 0; i < b->n_evs; i++) {
		const gt_event *ev = b->evs[i].ev;
		if (ev->kind == GT_EV_TX)
			return ep_local(&ev->conn);
		if (ev->kind == GT_EV_RX || ev->kind == GT_EV_DROP)
			return ep_remote(&ev->conn);
	}
	return ep_local(&b->evs[0].ev->conn);
}

static void set_hosts(builder *b)
{
	gt_flow *f = b->out;
	for (int s = 0; s < 2; s++) {
		const char *name = NULL;
		for (size_t i = 0; i < b->n_evs && !name; i++)
			if (b->evs[i].side == s && b->evs[i].ev->host && b->evs[i].ev->host[0])
				name = b->evs[i].ev->host;
		if (name) {
			snprintf(f->host[s], sizeof f->host[s], "%s", name);
		} else {
			char ip[16];
			snprintf(f->host[s], sizeof f->host[s], "%s:%u",
			         gt_ipv4_str(b->ep[s].addr, ip), (unsigned)b->ep[s].port);
		}
	}
}

/* Each side's ISN from its SYN: as sent, else as received by the other. */
static void set_isns(builder *b)
{
	gt_flow *f = b->out;
	for (int s = 0; s < 2; s++) {
		for (int pass = 0; pass < 2 && !f->isn_known[s]; pass++) {
			for (size_t i = 0; i < b->n_evs; i++) {
				const fev *e = &b->evs[i];
				bool mine = pass == 0 ? (e->ev->kind == GT_EV_TX && e->side == s)
				                      : (e->ev->kind == GT_EV_RX && e->side != s);
				if (mine && (e->ev->seg.flags & GT_TCP_SYN)) {
					f->isn_known[s] = true;
					f->isn[s] = e->ev->seg.seq;
					break;
				}
			}
		}
	}
}

/* The window scale option of a SYN's packet (RFC 7323 §2.2: kind 3, length
 * 3), GT_FLOW_WSCALE_ABSENT without it, GT_FLOW_WSCALE_UNKNOWN when the bytes
 * are not there or not an IPv4 TCP packet. */
static int syn_wscale(const uint8_t *pkt, size_t len)
{
	if (!pkt || len < 20 || (pkt[0] >> 4) != 4 || pkt[9] != 6)
		return GT_FLOW_WSCALE_UNKNOWN;
	size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
	if (ihl < 20 || len < ihl + 20)
		return GT_FLOW_WSCALE_UNKNOWN;
	const uint8_t *tcp = pkt + ihl;
	size_t off = (size_t)(tcp[12] >> 4) * 4;
	if (off < 20 || len < ihl + off)
		return GT_FLOW_WSCALE_UNKNOWN;
	for (size_t i = 20; i < off;) {
		uint8_t kind = tcp[i];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= off || tcp[i + 1] < 2 || i + tcp[i + 1] > off)
			break;
		if (kind == 3 && tcp[i + 1] == 3)
			/* RFC 7323 §2.3: a shift above 14 is used as 14. */
			return tcp[i + 2] > 14 ? 14 : tcp[i + 2];
		i += tcp[i + 1];
	}
	return GT_FLOW_WSCALE_ABSENT;
}

/* Each side's window scale from the bytes of its SYN: as sent, else as
 * received (or dropped) by the other side. */
static void set_wscales(builder *b)
{
	gt_flow *f = b->out;
	for (int s = 0; s < 2; s++) {
		f->wscale[s] = GT_FLOW_WSCALE_UNKNOWN;
		for (int pass = 0; pass < 2 && f->wscale[s] == GT_FLOW_WSCALE_UNKNOWN; pass++) {
			for (size_t i = 0; i < b->n_evs; i++) {
				const fev *e = &b->evs[i];
				bool mine =
				    pass == 0
				        ? (e->ev->kind == GT_EV_TX && e->side == s)
				        : ((e->ev->kind == GT_EV_RX || e->ev->kind == GT_EV_DROP) &&
				           e->side != s);
				if (!mine || !(e->ev->seg.flags & GT_TCP_SYN))
					continue;
				int ws = syn_wscale(e->ev->pkt, e->ev->pkt_len);
				if (ws != GT_FLOW_WSCALE_UNKNOWN) {
					f->wscale[s] = ws;
					break;
				}
			}
		}
	}
}

/* Every arrow's seg.wnd set: the window in bytes. A side whose logged windows
 * show a scale (RFC 7323 §2.3: wnd = win << shift) has it applied to its
 * arrows logged without one too: segments reported where no connection is
 * known (a loss in the simulator or the TUN impairment layer). A SYN's
 * window is never scaled (§2.2). */
static void fill_windows(gt_flow *f)
{
	int shift[2] = {0, 0};
	for (size_t i = 0; i < f->n_arrows; i++) {
		const gt_seg_info *g = &f->arrows[i].seg;
		uint32_t wnd = gt_seg_wnd(g);
		int *sh = &shift[f->arrows[i].from];
		if (*sh || (g->flags & GT_TCP_SYN) || wnd == g->win)
			continue;
		for (int k = 1; k <= 14 && !*sh; k++)
			if ((uint32_t)g->win << k == wnd)
				*sh = k;
	}
	for (size_t i = 0; i < f->n_arrows; i++) {
		gt_seg_info *g = &f->arrows[i].seg;
		g->wnd = gt_seg_wnd(g);
		if (g->wnd == g->win && !(g->flags & GT_TCP_SYN))
			g->wnd = (uint32_t)g->win << shift[f->arrows[i].from];
	}
}

static void set_relative(const gt_flow *f, gt_flow_arrow *a)
{
	int s = a->from, r = 1 - a->from;
	a->rel_seq = f->isn_known[s] ? a->seg.seq - f->isn[s] : a->seg.seq;
	if (!(a->seg.flags & GT_TCP_ACK))
		a->rel_ack = 0;
	else
		a->rel_ack = f->isn_known[r] ? a->seg.ack - f->isn[r] : a->seg.ack;
}

/* After an rx at index i, the receiving stack may have discarded the segment
 * (logged as a drop of the same segment at the same instant): keep why. */
static gt_drop_reason absorb_stack_drop(builder *b, size_t i)
{
	const fev *rx = &b->evs[i];
	for (size_t j = i + 1; j < b->n_evs && b->evs[j].ev->t_us == rx->ev->t_us; j++) {
		fev *e = &b->evs[j];
		if (e->side != rx->side || e->used)
			continue;
		if (e->ev->kind == GT_EV_RX)
			break;
		if (e->ev->kind == GT_EV_DROP && !is_sim_drop(e->ev->reason) &&
		    same_seg(&e->ev->seg, &rx->ev->seg)) {
			e->used = true;
			return e->ev->reason;
		}
	}
	return GT_DROP_NONE;
}

/* Applies what the receiver logged at index i to arrow a. */
static void apply_arrival(builder *b, size_t i, gt_flow_arrow *a)
{
	fev *e = &b->evs[i];
	e->used = true;
	a->t_rx = e->ev->t_us;
	a->order_rx = e->order;
	a->arrival_known = true;
	if (e->ev->kind == GT_EV_RX) {
		a->arrived = true;
		a->drop_reason = absorb_stack_drop(b, i);
	} else if (is_sim_drop(e->ev->reason)) {
		a->lost = true; /* the network lost it */
		a->drop_reason = e->ev->reason;
	} else {
		/* It reached the receiver, whose stack discarded it. */
		a->arrived = true;
		a->drop_reason = e->ev->reason;
	}
}

/* The receivers' rx and drop events, sorted by receiver and segment so that
 * the candidates for a sent segment are one run, in log order. */
typedef struct rx_ent {
	int side;
	uint32_t seq, ack, len;
	uint8_t flags;
	size_t ev; /* index into builder.evs */
} rx_ent;

static int cmp_rx_key(const rx_ent *a, const rx_ent *b)
{
	if (a->side != b->side)
		return a->side < b->side ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	if (a->ack != b->ack)
		return a->ack < b->ack ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	if (a->flags != b->flags)
		return a->flags < b->flags ? -1 : 1;
	return 0;
}

static int cmp_rx_ent(const void *x, const void *y)
{
	const rx_ent *a = x, *b = y;
	int c = cmp_rx_key(a, b);
	if (c)
		return c;
	return a->ev < b->ev ? -1 : a->ev > b->ev;
}

/* The first unmatched rx or drop of segment key at or after t (SIZE_MAX if
 * none). head[g] remembers, per run, where the unmatched entries begin. */
static size_t find_arrival(const builder *b, const rx_ent *ents, size_t n, size_t *head,
                           const rx_ent *key, gt_time_us t)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_rx_key(&ents[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n || cmp_rx_key(&ents[lo], key) != 0)
		return SIZE_MAX;
	size_t *h = &head[lo];
	while (lo + *h < n && cmp_rx_key(&ents[lo + *h], key) == 0 && b->evs[ents[lo + *h].ev].used)
		(*h)++;
	for (size_t j = lo + *h; j < n && cmp_rx_key(&ents[j], key) == 0; j++) {
		const fev *e = &b->evs[ents[j].ev];
		if (!e->used && e->ev->t_us >= t)
			return ents[j].ev;
	}
	return SIZE_MAX;
}

static int build_arrows(builder *b)
{
	gt_flow *f = b->out;
	size_t n = 0;
	for (size_t i = 0; i < b->n_evs; i++)
		n += b->evs[i].ev->kind == GT_EV_RX || b->evs[i].ev->kind == GT_EV_DROP;
	rx_ent *ents = malloc((n ? n : 1) * sizeof *ents);
	size_t *head = calloc(n ? n : 1, sizeof *head);
	if (!ents || !head) {
		free(ents);
		free(head);
		return -ENOMEM;
	}
	n = 0;
	for (size_t i = 0; i < b->n_evs; i++) {
		const fev *e = &b->evs[i];
		if (e->ev->kind != GT_EV_RX && e->ev->kind != GT_EV_DROP)
			continue;
		ents[n++] = (rx_ent){.side = e->side,
		                     .seq = e->ev->seg.seq,
		                     .ack = e->ev->seg.ack,
		                     .len = e->ev->seg.len,
		                     .flags = e->ev->seg.flags,
		                     .ev = i};
	}
	if (n > 1)
		qsort(ents, n, sizeof *ents, cmp_rx_ent);
	int rc = 0;
	for (size_t i = 0; i < b->n_evs && rc == 0; i++) {
		const fev *tx = &b->evs[i];
		if (tx->ev->kind != GT_EV_TX)
			continue;
		int r = 1 - tx->side;
		gt_flow_arrow a = {.from = tx->side,
		                   .t_tx = tx->ev->t_us,
		                   .t_rx = tx->ev->t_us,
		                   .seg = tx->ev->seg,
		                   .order_tx = tx->order,
		                   .order_rx = tx->order};
		rx_ent key = {.side = r,
		              .seq = a.seg.seq,
		              .ack = a.seg.ack,
		              .len = a.seg.len,
		              .flags = a.seg.flags};
		size_t match = find_arrival(b, ents, n, head, &key, a.t_tx);
		if (match != SIZE_MAX) {
			apply_arrival(b, match, &a);
		} else if (b->logs_rx[r]) {
			/* The receiver logs what it receives and has nothing of
			 * this one: it never arrived. */
			a.lost = true;
			a.arrival_known = true;
		}
		set_relative(f, &a);
		rc = push_arrow(b, &a);
	}
	free(ents);
	free(head);
	if (rc)
		return rc;
	/* A side that logs nothing it sends (the kernel in a TUN trace): its
	 * segments are known from the other side's rx and drop events only. */
	for (size_t i = 0; i < b->n_evs; i++) {
		const fev *e = &b->evs[i];
		if (e->used || b->logs_tx[1 - e->side] ||
		    (e->ev->kind != GT_EV_RX && e->ev->kind != GT_EV_DROP))
			continue;
		gt_flow_arrow a = {.from = 1 - e->side,
		                   .t_tx = e->ev->t_us,
		                   .seg = e->ev->seg,
		                   .order_tx = e->order};
		apply_arrival(b, i, &a);
		set_relative(f, &a);
		if ((rc = push_arrow(b, &a)))
			return rc;
	}
	return 0;
}

static int cmp_arrow(const void *x, const void *y)
{
	const gt_flow_arrow *a = x, *b = y;
	if (a->t_tx != b->t_tx)
		return a->t_tx < b->t_tx ? -1 : 1;
	return a->order_tx < b->order_tx ? -1 : a->order_tx > b->order_tx;
}

static int cmp_state(const void *x, const void *y)
{
	const gt_flow_state *a = x, *b = y;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static int cmp_timer(const void *x, const void *y)
{
	const gt_flow_timer *a = x, *b = y;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->side != b->side)
		return a->side - b->side;
	return (int)a->kind - (int)b->kind;
}

/* Duplicate ACKs (RFC 5681 §2: pure ACKs of the same point, no data, no
 * SYN/FIN, window not considered) that reached the sender of arrow k between
 * its previous transmission p and k: three mean a fast retransmit (RFC 5681
 * §3.2), not a timeout. */
static bool fast_retransmit(const gt_flow *f, size_t p, size_t k)
{
	const gt_flow_arrow *rx = &f->arrows[k];
	int dup = 0;
	for (size_t i = p + 1; i < k; i++) {
		const gt_flow_arrow *a = &f->arrows[i];
		if (a->from == rx->from || a->lost || a->seg.len ||
		    (a->seg.flags & (GT_TCP_SYN | GT_TCP_FIN | GT_TCP_RST)) ||
		    !(a->seg.flags & GT_TCP_ACK) || a->seg.ack != rx->seg.seq)
			continue;
		if (a->t_rx <= rx->t_tx && ++dup >= 3)
			return true;
	}
	return false;
}

/* The flags that make two transmissions the same kind of segment. */
static uint8_t seg_kind(const gt_seg_info *s)
{
	return s->flags & (GT_TCP_SYN | GT_TCP_FIN | GT_TCP_RST | GT_TCP_ACK);
}

/* Brackets each retransmission with an RTO timer from the previous
 * transmission of that sequence number. A trace whose senders mark their
 * retransmissions (the simulator, the TUN backend) is taken at its word;
 * otherwise (a capture), and for a side known only from the other side's
 * receptions unless those carry marks (the kernel behind a TUN device), a
 * segment of the same kind starting inside sequence space the side already
 * sent is one, and is marked. */
static int build_rto_timers(builder *b)
{
	gt_flow *f = b->out;
	bool marks_tx = false, marks_side[2] = {false, false};
	for (size_t k = 0; k < f->n_arrows; k++) {
		const gt_flow_arrow *a = &f->arrows[k];
		if (!a->seg.rexmit)
			continue;
		marks_side[a->from] = true;
		marks_tx = marks_tx || b->logs_tx[a->from];
	}
	bool marked_by[2];
	for (int s = 0; s < 2; s++)
		marked_by[s] = b->logs_tx[s] ? marks_tx : marks_side[s];
	bool have_max[2] = {false, false};
	uint32_t snd_max[2] = {0, 0};
	for (size_t k = 0; k < f->n_arrows; k++) {
		gt_flow_arrow *a = &f->arrows[k];
		uint32_t space = seg_space(&a->seg);
		int s = a->from;
		bool marked = marked_by[s];
		if (!space || (a->seg.flags & GT_TCP_RST))
			continue;
		bool old = have_max[s] && seq_lt(a->seg.seq, snd_max[s]);
		if (!have_max[s] || seq_lt(snd_max[s], a->seg.seq + space)) {
			snd_max[s] = a->seg.seq + space;
			have_max[s] = true;
		}
		if (marked ? !a->seg.rexmit : !old)
			continue;
		/* The previous transmission covering this sequence number. */
		size_t prev = SIZE_MAX;
		for (size_t i = k, steps = 0; i-- > 0 && steps < 65536; steps++) {
			const gt_flow_arrow *p = &f->arrows[i];
			uint32_t ps = seg_space(&p->seg);
			if (p->from == s && ps && !(p->seg.flags & GT_TCP_RST) &&
			    (uint32_t)(a->seg.seq - p->seg.seq) < ps &&
			    (marked || seg_kind(&p->seg) == seg_kind(&a->seg))) {
				prev = i;
				break;
			}
		}
		if (prev == SIZE_MAX)
			continue;
		a->seg.rexmit = true;
		if (fast_retransmit(f, prev, k))
			continue;
		gt_flow_timer t = {.side = s,
		                   .kind = GT_FLOW_TIMER_RTO,
		                   .start = f->arrows[prev].t_tx,
		                   .end = a->t_tx,
		                   .end_seen = true};
		int rc = push_timer(b, &t);
		if (rc)
			return rc;
	}
	return 0;
}

/* The moment arrow a reached its receiver as far as the trace knows, with its
 * log position; false when it did not arrive. */
static bool arrival(const gt_flow_arrow *a, gt_time_us *t, size_t *order)
{
	if (a->lost)
		return false;
	*t = a->arrival_known ? a->t_rx : a->t_tx;
	*order = a->order_rx;
	return true;
}

static bool after(gt_time_us t, size_t order, gt_time_us t0, size_t order0)
{
	return t > t0 || (t == t0 && order > order0);
}

/* TIME_WAIT from -> TIME_WAIT to TIME_WAIT -> anything, restarted by each
 * retransmitted FIN that arrives meanwhile (RFC 9293 §3.10.7.4: "Acknowledge
 * it, and restart the 2 MSL timeout"). */
static int build_time_wait_timers(builder *b)
{
	gt_flow *f = b->out;
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < f->n_states; i++) {
			const gt_flow_state *st = &f->states[i];
			if (st->side != s || st->to != GT_TCP_TIME_WAIT)
				continue;
			gt_time_us start = st->t, end = b->log_end;
			size_t start_order = st->order;
			bool end_seen = false;
			size_t end_order = SIZE_MAX;
			for (size_t j = i + 1; j < f->n_states; j++) {
				if (f->states[j].side == s &&
				    f->states[j].from == GT_TCP_TIME_WAIT) {
					end = f->states[j].t;
					end_order = f->states[j].order;
					end_seen = true;
					break;
				}
			}
			for (size_t k = 0; k < f->n_arrows; k++) {
				const gt_flow_arrow *a = &f->arrows[k];
				gt_time_us ta;
				size_t oa;
				if (a->from == s || !(a->seg.flags & GT_TCP_FIN) ||
				    !arrival(a, &ta, &oa))
					continue;
				if (!after(ta, oa, start, start_order) ||
				    (end_seen && !after(end, end_order, ta, oa)))
					continue;
				gt_flow_timer t = {.side = s,
				                   .kind = GT_FLOW_TIMER_TIME_WAIT,
				                   .start = start,
				                   .end = ta,
				                   .end_seen = true};
				int rc = push_timer(b, &t);
				if (rc)
					return rc;
				start = ta;
				start_order = oa;
			}
			gt_flow_timer t = {.side = s,
			                   .kind = GT_FLOW_TIMER_TIME_WAIT,
			                   .start = start,
			                   .end = end < start ? start : end,
			                   .end_seen = end_seen};
			int rc = push_timer(b, &t);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* The state events of the connection, plus the listener's CLOSED -> LISTEN of
 * the right side's endpoint: the last one logged before the right side's
 * first state change in this connection (LISTEN -> SYN_RECEIVED). Its other
 * events may come earlier: the network logs a loss at the receiver when the
 * segment is sent. */
static int build_states(builder *b)
{
	size_t right_first = b->evs[b->n_evs - 1].order + 1;
	for (size_t i = 0; i < b->n_evs; i++) {
		if (b->evs[i].side == GT_FLOW_RIGHT && b->evs[i].ev->kind == GT_EV_STATE) {
			right_first = b->evs[i].order;
			break;
		}
	}
	size_t from = right_first;
	if (b->idx) {
		size_t last = index_last_listen(b->idx, b->ep[GT_FLOW_RIGHT], right_first);
		from = last == SIZE_MAX ? 0 : last + 1;
	}
	for (size_t i = from; i-- > 0;) {
		const gt_event *ev = gt_trace_log_get(b->log, i);
		if (!is_listen_state(ev) || !ep_eq(ep_local(&ev->conn), b->ep[GT_FLOW_RIGHT]))
			continue;
		gt_flow_state s = {.side = GT_FLOW_RIGHT,
		                   .t = ev->t_us,
		                   .from = ev->from,
		                   .to = ev->to,
		                   .cause = ev->cause,
		                   .inferred = ev->inferred,
		                   .order = i};
		int rc = push_state(b, &s);
		if (rc)
			return rc;
		break;
	}
	for (size_t i = 0; i < b->n_evs; i++) {
		const fev *e = &b->evs[i];
		if (e->ev->kind != GT_EV_STATE)
			continue;
		gt_flow_state s = {.side = e->side,
		                   .t = e->ev->t_us,
		                   .from = e->ev->from,
		                   .to = e->ev->to,
		                   .cause = e->ev->cause,
		                   .inferred = e->ev->inferred,
		                   .order = e->order};
		int rc = push_state(b, &s);
		if (rc)
			return rc;
	}
	return 0;
}

static void set_span(gt_flow *f)
{
	bool any = false;
	gt_time_us lo = 0, hi = 0;
#define SPAN(t)                                                                                    \
	do {                                                                                       \
		if (!any || (t) < lo)                                                              \
			lo = (t);                                                                  \
		if (!any || (t) > hi)                                                              \
			hi = (t);                                                                  \
		any = true;                                                                        \
	} while (0)
	for (size_t i = 0; i < f->n_arrows; i++) {
		SPAN(f->arrows[i].t_tx);
		SPAN(f->arrows[i].t_rx);
	}
	for (size_t i = 0; i < f->n_states; i++)
		SPAN(f->states[i].t);
	for (size_t i = 0; i < f->n_timers; i++) {
		SPAN(f->timers[i].start);
		SPAN(f->timers[i].end);
	}
#undef SPAN
	f->t_first = lo;
	f->t_last = hi;
}

static int build(builder *b, const flow_key *key, size_t conn)
{
	int rc = b->idx ? collect_indexed(b, conn) : collect(b, key);
	if (rc)
		return rc;
	if (b->n_evs == 0)
		return -ENOENT;
	gt_flow *f = b->out;
	endpoint left = left_endpoint(b);
	b->ep[GT_FLOW_LEFT] = left;
	b->ep[GT_FLOW_RIGHT] = ep_eq(left, key->a) ? key->b : key->a;
	f->conn = (gt_conn_tuple){.local_addr = b->ep[0].addr,
	                          .local_port = b->ep[0].port,
	                          .remote_addr = b->ep[1].addr,
	                          .remote_port = b->ep[1].port};
	for (size_t i = 0; i < b->n_evs; i++) {
		fev *e = &b->evs[i];
		e->side = ep_eq(ep_local(&e->ev->conn), left) ? GT_FLOW_LEFT : GT_FLOW_RIGHT;
		if (e->ev->kind == GT_EV_TX)
			b->logs_tx[e->side] = true;
		else if (e->ev->kind == GT_EV_RX)
			b->logs_rx[e->side] = true;
	}
	for (int s = 0; s < 2; s++)
		f->logs_tx[s] = b->logs_tx[s];
	set_hosts(b);
	set_isns(b);
	set_wscales(b);
	if ((rc = build_arrows(b)) || (rc = build_states(b)))
		return rc;
	fill_windows(f);
	if (f->n_arrows > 1)
		qsort(f->arrows, f->n_arrows, sizeof *f->arrows, cmp_arrow);
	if (f->n_states > 1)
		qsort(f->states, f->n_states, sizeof *f->states, cmp_state);
	if ((rc = build_rto_timers(b)) || (rc = build_time_wait_timers(b)))
		return rc;
	if (f->n_timers > 1)
		qsort(f->timers, f->n_timers, sizeof *f->timers, cmp_timer);
	set_span(f);
	return 0;
}

int gt_flow_build(const gt_trace_log *log, size_t index, gt_flow *out)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	if (!log)
		return -ENOENT;
	flow_key key;
	int rc = nth_key(log, index, &key, NULL);
	if (rc)
		return rc;
	builder b = {.log = log, .out = out};
	rc = build(&b, &key, 0);
	free(b.evs);
	if (rc)
		gt_flow_free(out);
	return rc;
}

int gt_flow_build_indexed(const gt_flow_index *idx, size_t index, gt_flow *out)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	if (!idx || index >= idx->n_conns)
		return -ENOENT;
	builder b = {.log = idx->log, .idx = idx, .out = out};
	int rc = build(&b, &idx->keys[index], index);
	free(b.evs);
	if (rc)
		gt_flow_free(out);
	return rc;
}

void gt_flow_free(gt_flow *f)
{
	if (!f)
		return;
	free(f->arrows);
	free(f->states);
	free(f->timers);
	memset(f, 0, sizeof *f);
}
