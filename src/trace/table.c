/* The seed's table: one row per segment between two hosts, with each side's
 * state changes next to the segment that caused or carried them.
 *
 * The engine logs, per host, "rx, the transitions it caused, the segments it
 * sent"; a transition is therefore drawn either next to the segment whose
 * arrival caused it (receiver column) or, when the receiver answered at once,
 * next to the answer (sender column), so each transition appears exactly once.
 * Transitions neither drawn nor causing a segment (timeouts, a close() that
 * sends nothing) get a row of their own. */
#include "trace/table.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIDE_LEFT  0
#define SIDE_RIGHT 1

/* ---- a growable string ---- */

typedef struct sbuf {
	char *s;
	size_t len;
	size_t cap;
	bool oom;
} sbuf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
sb_printf(sbuf *b, const char *fmt, ...)
{
	if (b->oom)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if (b->s && b->len + (size_t)n < b->cap) {
		b->len += (size_t)n;
		return;
	}
	size_t cap = b->cap ? b->cap : 32;
	while (cap <= b->len + (size_t)n)
		cap *= 2;
	char *s = realloc(b->s, cap);
	if (!s) {
		b->oom = true;
		return;
	}
	b->s = s;
	b->cap = cap;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void sb_repeat(sbuf *b, char c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sb_printf(b, "%c", c);
}

/* Hands the string over ("" rather than NULL when nothing was written);
 * NULL only on allocation failure. */
static char *sb_take(sbuf *b)
{
	if (b->oom) {
		free(b->s);
		*b = (sbuf){0};
		return NULL;
	}
	if (!b->s)
		sb_printf(b, "%s", "");
	char *s = b->oom ? NULL : b->s;
	*b = (sbuf){0};
	return s;
}

static char *str_dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

/* ---- events grouped by connection ---- */

typedef struct titem {
	const gt_event *ev;
	size_t order; /* position in the log, so equal times keep the log's order */
	size_t sub;   /* ties in order: the log position of the event itself */
	int side;
	bool used;           /* drawn in a row, or matched to a segment */
	gt_tcp_state before; /* this side's state just before the event */
} titem;

typedef struct tconn {
	gt_conn_tuple tuple; /* the left host's view */
	titem *items;
	size_t n;
	size_t cap;
} tconn;

typedef struct tbuild {
	tconn *conns;
	size_t nconns;
	size_t conns_cap;

	gt_table_row *rows;
	size_t nrows;
	size_t rows_cap;
	/* Sort key of each row within its connection: the log position of the
	 * event that opened it. */
	size_t *row_pos;

	/* Events made up for a host seen from one capture point (see
	 * one_capture_point); titems point into this array, allocated once. */
	gt_event *synth;
	size_t nsynth;
} tbuild;

static gt_conn_tuple swap_tuple(const gt_conn_tuple *c)
{
	return (gt_conn_tuple){.local_addr = c->remote_addr,
	                       .remote_addr = c->local_addr,
	                       .local_port = c->remote_port,
	                       .remote_port = c->local_port};
}

static bool same_tuple(const gt_conn_tuple *a, const gt_conn_tuple *b)
{
	return a->local_addr == b->local_addr && a->remote_addr == b->remote_addr &&
	       a->local_port == b->local_port && a->remote_port == b->remote_port;
}

static int host_side(const gt_event *ev, const char *left, const char *right)
{
	if (!ev->host)
		return -1;
	if (strcmp(ev->host, left) == 0)
		return SIDE_LEFT;
	if (strcmp(ev->host, right) == 0)
		return SIDE_RIGHT;
	return -1;
}

static int add_item(tbuild *b, const gt_conn_tuple *tuple, const titem *it)
{
	tconn *c = NULL;
	for (size_t i = 0; i < b->nconns; i++) {
		if (same_tuple(&b->conns[i].tuple, tuple)) {
			c = &b->conns[i];
			break;
		}
	}
	if (!c) {
		if (b->nconns == b->conns_cap) {
			size_t cap = b->conns_cap ? 2 * b->conns_cap : 4;
			tconn *conns = realloc(b->conns, cap * sizeof *conns);
			if (!conns)
				return -ENOMEM;
			b->conns = conns;
			b->conns_cap = cap;
		}
		c = &b->conns[b->nconns++];
		*c = (tconn){.tuple = *tuple};
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 32;
		titem *items = realloc(c->items, cap * sizeof *items);
		if (!items)
			return -ENOMEM;
		c->items = items;
		c->cap = cap;
	}
	c->items[c->n++] = *it;
	return 0;
}

/* Log position i as a sort key, with room for made-up events just before
 * (POS_BEFORE) and just after (POS_AFTER) it. */
#define POS(i)        (8 * (size_t)(i) + 4)
#define POS_BEFORE(i) (8 * (size_t)(i) + 2)
#define POS_AFTER(i)  (8 * (size_t)(i) + 6)

/* Within this distance a host's state change seen from outside (a kernel
 * tracepoint) is attached to the segment that caused or carried it. */
#define SNAP_US 10000

static int cmp_item(const void *a, const void *b)
{
	const titem *x = a, *y = b;
	if (x->ev->t_us != y->ev->t_us)
		return x->ev->t_us < y->ev->t_us ? -1 : 1;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->sub < y->sub ? -1 : x->sub > y->sub;
}

static int side_of(const gt_event *ev, const char *left, const char *right, const bool known[2],
                   const uint32_t addr[2])
{
	int side = host_side(ev, left, right);
	if (side < 0 || !ev->has_conn || ev->kind == GT_EV_SOCKET)
		return -1;
	if (ev->conn.remote_addr == 0 || ev->conn.remote_port == 0)
		return -1;
	if (known[1 - side] && ev->conn.remote_addr != addr[1 - side])
		return -1;
	if (known[side] && ev->conn.local_addr != addr[side])
		return -1;
	return side;
}

/* Could segment s (made up for the silent host: it sent a TX, received an RX)
 * have carried, or caused, the silent host's state change ev? Changes a user
 * call makes are followed by the segment they send (connect(): SYN; close():
 * FIN; abort(): RST); all others follow a segment received, of the kind that
 * causes them (RFC 9293 §3.10.7). */
static bool could_belong(const gt_event *ev, const gt_event *s)
{
	uint8_t f = s->seg.flags;
	bool rx = s->kind == GT_EV_RX;
	switch (ev->to) {
	case GT_TCP_SYN_SENT:
		return !rx && (f & GT_TCP_SYN);
	case GT_TCP_FIN_WAIT_1:
	case GT_TCP_LAST_ACK:
		return !rx && (f & GT_TCP_FIN);
	case GT_TCP_SYN_RECEIVED:
		return rx && (f & GT_TCP_SYN);
	case GT_TCP_ESTABLISHED:
		return rx && (ev->from == GT_TCP_SYN_SENT ? (f & GT_TCP_SYN) : (f & GT_TCP_ACK));
	case GT_TCP_CLOSE_WAIT:
	case GT_TCP_CLOSING:
	case GT_TCP_TIME_WAIT:
		return rx && (f & GT_TCP_FIN);
	case GT_TCP_CLOSED:
		/* an RST either way, or the ACK that ends LAST_ACK */
		return (f & GT_TCP_RST) || (rx && ev->from == GT_TCP_LAST_ACK);
	default: /* FIN_WAIT_2, LISTEN: any segment received */
		return rx;
	}
}

/* One capture point: a host that shows up only through its state changes (the
 * Linux kernel seen through its tracepoint, beside glasstcp on a TUN device)
 * sent what the other host received and received what it sent, at the other
 * host's times. Its state changes are moved onto the nearest such segment
 * within SNAP_US that could belong to them (could_belong): just after one it
 * received (the change it caused), or just before one it sent (the change that
 * sent it). Returns the silent side, -1
 * when both hosts sent segments, or -2 on allocation failure. */
static int one_capture_point(tbuild *b, const gt_trace_log *log, const char *names[2],
                             const bool known[2], const uint32_t addr[2])
{
	size_t count = gt_trace_log_count(log), tx[2] = {0, 0}, others[2] = {0, 0};
	for (size_t i = 0; i < count; i++) {
		const gt_event *ev = gt_trace_log_get(log, i);
		int side = side_of(ev, names[0], names[1], known, addr);
		if (side < 0)
			continue;
		tx[side] += ev->kind == GT_EV_TX;
		others[side] += ev->kind != GT_EV_STATE;
	}
	/* silent: state changes and nothing else, or nothing at all (a Linux
	 * port with no socket answers with RST and changes no state); a host
	 * that lost or dropped segments is not silent: it was never reached */
	int silent = -1;
	for (int s = 0; s < 2; s++)
		if (others[s] == 0 && tx[1 - s] > 0)
			silent = s;
	if (silent < 0)
		return -1;
	b->synth = calloc(count ? count : 1, sizeof(*b->synth));
	size_t *pos = calloc(count ? count : 1, sizeof(*pos));
	size_t *src = calloc(count ? count : 1, sizeof(*src));
	if (!b->synth || !pos || !src) {
		free(pos);
		free(src);
		return -2;
	}
	/* the silent host's segments */
	for (size_t i = 0; i < count; i++) {
		const gt_event *ev = gt_trace_log_get(log, i);
		if (side_of(ev, names[0], names[1], known, addr) != 1 - silent ||
		    (ev->kind != GT_EV_RX && ev->kind != GT_EV_TX))
			continue;
		gt_event *e = &b->synth[b->nsynth];
		*e = *ev;
		e->host = names[silent];
		e->conn = swap_tuple(&ev->conn);
		e->kind = ev->kind == GT_EV_RX ? GT_EV_TX : GT_EV_RX;
		e->seg.rexmit = false;
		src[b->nsynth] = i;
		pos[b->nsynth++] = ev->kind == GT_EV_RX ? POS_BEFORE(i) : POS_AFTER(i);
	}
	size_t nseg = b->nsynth;
	/* its state changes, moved onto the segment they belong to */
	for (size_t i = 0; i < count; i++) {
		const gt_event *ev = gt_trace_log_get(log, i);
		if (side_of(ev, names[0], names[1], known, addr) != silent ||
		    ev->kind != GT_EV_STATE)
			continue;
		gt_event *e = &b->synth[b->nsynth];
		*e = *ev;
		size_t key = POS(i);
		gt_time_us best = SNAP_US + 1;
		for (size_t j = 0; j < nseg; j++) {
			const gt_event *s = &b->synth[j];
			if (!same_tuple(&s->conn, &ev->conn) || !could_belong(ev, s))
				continue;
			bool rx = s->kind == GT_EV_RX;
			if (rx ? s->t_us > ev->t_us : s->t_us < ev->t_us)
				continue;
			gt_time_us d = rx ? ev->t_us - s->t_us : s->t_us - ev->t_us;
			if (d < best) {
				best = d;
				e->t_us = s->t_us;
				/* just after the segment it received, or just
				 * before the one it sent */
				key = rx ? pos[j] + 1 : pos[j] - 1;
			}
		}
		src[b->nsynth] = i;
		pos[b->nsynth++] = key;
	}
	for (size_t i = 0; i < b->nsynth; i++) {
		const gt_event *e = &b->synth[i];
		gt_conn_tuple tuple = silent == SIDE_LEFT ? e->conn : swap_tuple(&e->conn);
		titem it = {.ev = e, .order = pos[i], .sub = src[i], .side = silent};
		if (add_item(b, &tuple, &it) < 0) {
			free(pos);
			free(src);
			return -2;
		}
	}
	free(pos);
	free(src);
	return silent;
}

/* Distributes the two hosts' events to connections between them. A host's
 * address is the local address of its first connection event; listeners
 * (remote 0.0.0.0:0) and connections to third hosts are left out. */
static int collect(tbuild *b, const gt_trace_log *log, const char *left, const char *right)
{
	bool known[2] = {false, false};
	uint32_t addr[2] = {0, 0};
	size_t count = gt_trace_log_count(log);
	for (size_t i = 0; i < count; i++) {
		const gt_event *ev = gt_trace_log_get(log, i);
		int side = host_side(ev, left, right);
		if (side < 0 || !ev->has_conn || ev->conn.remote_addr == 0 || known[side])
			continue;
		known[side] = true;
		addr[side] = ev->conn.local_addr;
	}

	const char *names[2] = {left, right};
	int silent = one_capture_point(b, log, names, known, addr);
	if (silent == -2)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const gt_event *ev = gt_trace_log_get(log, i);
		int side = side_of(ev, left, right, known, addr);
		if (side < 0 || side == silent)
			continue;
		gt_conn_tuple tuple = side == SIDE_LEFT ? ev->conn : swap_tuple(&ev->conn);
		titem it = {.ev = ev, .order = POS(i), .sub = i, .side = side};
		if (add_item(b, &tuple, &it) < 0)
			return -ENOMEM;
	}

	for (size_t i = 0; i < b->nconns; i++)
		qsort(b->conns[i].items, b->conns[i].n, sizeof(titem), cmp_item);
	return 0;
}

/* Fills each item's `before`: a side's state before its first transition is
 * that transition's `from` (a child of a listener starts in LISTEN), and
 * CLOSED when it never changes state (e.g. a closed port answering RST). */
static void compute_states(tconn *c)
{
	gt_tcp_state cur[2] = {GT_TCP_CLOSED, GT_TCP_CLOSED};
	bool seen[2] = {false, false};
	for (size_t i = 0; i < c->n; i++) {
		const titem *it = &c->items[i];
		if (it->ev->kind == GT_EV_STATE && !seen[it->side]) {
			seen[it->side] = true;
			cur[it->side] = it->ev->from;
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		titem *it = &c->items[i];
		it->before = cur[it->side];
		if (it->ev->kind == GT_EV_STATE)
			cur[it->side] = it->ev->to;
	}
}

/* The ISN of each direction: the seq of the first SYN its sender put on the
 * wire, wherever it shows up first (sent, received, or lost on the way). */
static void find_isns(const tconn *c, bool known[2], uint32_t isn[2])
{
	known[0] = known[1] = false;
	for (size_t i = 0; i < c->n; i++) {
		const titem *it = &c->items[i];
		const gt_event *ev = it->ev;
		if (ev->kind == GT_EV_STATE || !ev->has_seg || !(ev->seg.flags & GT_TCP_SYN))
			continue;
		int sender = ev->kind == GT_EV_TX ? it->side : 1 - it->side;
		if (!known[sender]) {
			known[sender] = true;
			isn[sender] = ev->seg.seq;
		}
	}
}

static bool same_seg(const gt_seg_info *a, const gt_seg_info *b)
{
	return a->flags == b->flags && a->seq == b->seq && a->ack == b->ack && a->len == b->len;
}

static bool is_sim_drop(gt_drop_reason r)
{
	return r == GT_DROP_SIM_LOSS || r == GT_DROP_SIM_FAULT;
}

/* Appends "A -> B -> C" for a run of transitions (", " between runs that do
 * not chain, which a consistent engine never produces). */
static void chain_add(sbuf *b, const gt_event *ev, bool *any, gt_tcp_state *last)
{
	if (!*any)
		sb_printf(b, "%s", gt_tcp_state_name(ev->from));
	else if (*last != ev->from)
		sb_printf(b, ", %s", gt_tcp_state_name(ev->from));
	sb_printf(b, " -> %s", gt_tcp_state_name(ev->to));
	*any = true;
	*last = ev->to;
}

static int push_row(tbuild *b, const gt_table_row *row, size_t pos)
{
	if (b->nrows == b->rows_cap) {
		size_t cap = b->rows_cap ? 2 * b->rows_cap : 32;
		gt_table_row *rows = realloc(b->rows, cap * sizeof *rows);
		if (!rows)
			return -ENOMEM;
		b->rows = rows;
		size_t *row_pos = realloc(b->row_pos, cap * sizeof *row_pos);
		if (!row_pos)
			return -ENOMEM;
		b->row_pos = row_pos;
		b->rows_cap = cap;
	}
	b->rows[b->nrows] = *row;
	b->row_pos[b->nrows] = pos;
	b->nrows++;
	return 0;
}

static void free_row(gt_table_row *r)
{
	free(r->left);
	free(r->right);
	free(r->seg);
	free(r->arrow);
}

/* Takes ownership of the strings in row (freed on failure). */
static int add_row(tbuild *b, gt_table_row *row, size_t pos)
{
	if (!row->left || !row->right || !row->seg || push_row(b, row, pos) < 0) {
		free_row(row);
		return -ENOMEM;
	}
	return 0;
}

/* The first item at the instant of item p. */
static size_t instant_start(const tconn *c, size_t p)
{
	const gt_time_us t = c->items[p].ev->t_us;
	size_t a = p;
	while (a > 0 && c->items[a - 1].ev->t_us == t)
		a--;
	return a;
}

/* Sender: its transitions at this instant not drawn yet, i.e. those that led
 * to this segment (items a..p-1), else its state when it sent it. */
static void sender_cell(sbuf *out, tconn *c, size_t a, size_t p)
{
	const titem *tx = &c->items[p];
	bool any = false;
	gt_tcp_state last = GT_TCP_CLOSED;
	for (size_t i = a; i < p; i++) {
		titem *it = &c->items[i];
		if (it->side == tx->side && it->ev->kind == GT_EV_STATE && !it->used) {
			chain_add(out, it->ev, &any, &last);
			it->used = true;
		}
	}
	if (!any)
		sb_printf(out, "%s", gt_tcp_state_name(tx->before));
}

/* The network reports a loss at the send instant, before or after the
 * sender's tx event depending on the engine's order. */
static bool take_network_loss(tconn *c, size_t a, size_t p)
{
	const gt_event *ev = c->items[p].ev;
	const int r = 1 - c->items[p].side;
	for (size_t i = a; i < c->n && c->items[i].ev->t_us == ev->t_us; i++) {
		titem *it = &c->items[i];
		if (i != p && it->side == r && !it->used && it->ev->kind == GT_EV_DROP &&
		    it->ev->has_seg && is_sim_drop(it->ev->reason) &&
		    same_seg(&it->ev->seg, &ev->seg)) {
			it->used = true;
			return true;
		}
	}
	return false;
}

/* The receiver's rx of the segment sent at p; c->n if none. */
static size_t find_arrival(const tconn *c, size_t p)
{
	const gt_event *ev = c->items[p].ev;
	const int r = 1 - c->items[p].side;
	for (size_t i = p + 1; i < c->n; i++) {
		const titem *it = &c->items[i];
		if (it->side == r && !it->used && it->ev->kind == GT_EV_RX && it->ev->has_seg &&
		    same_seg(&it->ev->seg, &ev->seg))
			return i;
	}
	return c->n;
}

/* Draws the receiver's transitions from item first on, up to its next rx at
 * the same instant; false if there were none to draw. */
static bool receiver_chain(sbuf *out, tconn *c, size_t first, int r)
{
	const gt_time_us tr = c->items[first].ev->t_us;
	bool drew = false;
	gt_tcp_state last = GT_TCP_CLOSED;
	for (size_t j = first; j < c->n && c->items[j].ev->t_us == tr; j++) {
		titem *it = &c->items[j];
		if (it->side != r)
			continue;
		if (it->ev->kind == GT_EV_RX)
			break;
		if (it->ev->kind == GT_EV_STATE && !it->used) {
			chain_add(out, it->ev, &drew, &last);
			it->used = true;
		}
	}
	return drew;
}

/* Receiver of the segment sent at p, which arrived at q. */
static void arrival_cell(sbuf *out, tconn *c, size_t p, size_t q, gt_drop_reason *note)
{
	const gt_event *ev = c->items[p].ev;
	const int r = 1 - c->items[p].side;
	titem *rx = &c->items[q];
	rx->used = true;
	const gt_time_us tr = rx->ev->t_us;
	/* The transitions this arrival caused, unless the receiver answered at
	 * once: then they belong with the answer. */
	bool answered = false;
	size_t first = 0, nstates = 0;
	for (size_t j = q + 1; j < c->n && c->items[j].ev->t_us == tr; j++) {
		titem *it = &c->items[j];
		if (it->side != r)
			continue;
		if (it->ev->kind == GT_EV_STATE) {
			if (!it->used && nstates++ == 0)
				first = j;
		} else if (it->ev->kind == GT_EV_TX) {
			answered = true;
			break;
		} else if (it->ev->kind == GT_EV_RX) {
			break;
		} else if (it->ev->kind == GT_EV_DROP && *note == GT_DROP_NONE && !it->used &&
		           it->ev->has_seg && !is_sim_drop(it->ev->reason) &&
		           same_seg(&it->ev->seg, &ev->seg)) {
			*note = it->ev->reason;
			it->used = true;
		}
	}
	bool drew = !answered && nstates && receiver_chain(out, c, first, r);
	if (!drew)
		sb_printf(out, "%s", gt_tcp_state_name(rx->before));
}

/* No rx: the receiver's engine may have refused the segment sent at p
 * before accepting it for processing (e.g. a wire check). */
static void refusal_cell(sbuf *out, tconn *c, size_t p, gt_drop_reason *note)
{
	const gt_event *ev = c->items[p].ev;
	const int r = 1 - c->items[p].side;
	for (size_t i = p + 1; i < c->n; i++) {
		titem *it = &c->items[i];
		if (it->side == r && !it->used && it->ev->kind == GT_EV_DROP && it->ev->has_seg &&
		    !is_sim_drop(it->ev->reason) && same_seg(&it->ev->seg, &ev->seg)) {
			it->used = true;
			*note = it->ev->reason;
			sb_printf(out, "%s", gt_tcp_state_name(it->before));
			return;
		}
	}
}

/* The segment column's label; seq and ack as they are to be shown. */
static void segment_label(sbuf *out, const gt_seg_info *sg, const char *flags, uint32_t seq,
                          uint32_t ack, gt_drop_reason note)
{
	sb_printf(out, "%s seq=%" PRIu32, flags, seq);
	if (sg->flags & GT_TCP_ACK)
		sb_printf(out, " ack=%" PRIu32, ack);
	/* the window in bytes: the field shifted by the agreed scale (RFC 7323 §2.3) */
	sb_printf(out, " win=%" PRIu32, gt_seg_wnd(sg));
	if (sg->len)
		sb_printf(out, " len=%" PRIu32, sg->len);
	if (sg->rexmit)
		sb_printf(out, " (rexmit)");
	if (sg->syncookie)
		sb_printf(out, " (SYN cookie)");
	if (note != GT_DROP_NONE)
		sb_printf(out, " [dropped: %s]", gt_drop_reason_name(note));
}

static int segment_row(tbuild *b, size_t ci, tconn *c, size_t p, const bool isn_known[2],
                       const uint32_t isn[2], bool absolute)
{
	const titem *tx = &c->items[p];
	const gt_event *ev = tx->ev;
	const int s = tx->side, r = 1 - s;
	sbuf sender = {0}, receiver = {0}, seg = {0};

	size_t a = instant_start(c, p);
	sender_cell(&sender, c, a, p);
	bool lost = take_network_loss(c, a, p);
	gt_drop_reason note = GT_DROP_NONE;
	if (!lost) {
		size_t q = find_arrival(c, p);
		if (q < c->n) {
			arrival_cell(&receiver, c, p, q, &note);
		} else {
			refusal_cell(&receiver, c, p, &note);
			lost = note == GT_DROP_NONE;
		}
	}

	char flags[9];
	gt_tcp_flags_str(ev->seg.flags, flags);
	uint32_t seq = ev->seg.seq, ack = ev->seg.ack;
	if (!absolute && isn_known[s])
		seq -= isn[s];
	if (!absolute && isn_known[r])
		ack -= isn[r];
	segment_label(&seg, &ev->seg, flags, seq, ack, note);

	gt_table_row row = {
	    .t_us = ev->t_us,
	    .conn = ci,
	    .dir = s == SIDE_LEFT ? GT_TABLE_DIR_RIGHT : GT_TABLE_DIR_LEFT,
	    .lost = lost,
	    .flags_len = strlen(flags),
	};
	char *scell = sb_take(&sender), *rcell = sb_take(&receiver);
	row.left = s == SIDE_LEFT ? scell : rcell;
	row.right = s == SIDE_LEFT ? rcell : scell;
	row.seg = sb_take(&seg);
	return add_row(b, &row, tx->order);
}

/* Rows for transitions no segment row drew, one per run of a side's
 * transitions at one instant. */
static int orphan_rows(tbuild *b, size_t ci, tconn *c)
{
	for (size_t i = 0; i < c->n; i++) {
		titem *start = &c->items[i];
		if (start->used || start->ev->kind != GT_EV_STATE)
			continue;
		const gt_time_us t = start->ev->t_us;
		sbuf cell = {0};
		bool any = false;
		gt_tcp_state last = GT_TCP_CLOSED;
		for (size_t j = i; j < c->n && c->items[j].ev->t_us == t; j++) {
			titem *it = &c->items[j];
			if (it->side != start->side)
				continue;
			if (it->ev->kind != GT_EV_STATE || it->used)
				break;
			chain_add(&cell, it->ev, &any, &last);
			it->used = true;
		}
		gt_table_row row = {.t_us = t, .conn = ci, .dir = GT_TABLE_DIR_NONE};
		char *text = sb_take(&cell);
		row.left = start->side == SIDE_LEFT ? text : str_dup("");
		row.right = start->side == SIDE_LEFT ? str_dup("") : text;
		row.seg = str_dup("");
		if (add_row(b, &row, start->order) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Sorts rows [lo, hi) by (time, log position); insertion sort, since rows are
 * produced nearly in order (only the orphan rows come last). */
static void sort_rows(tbuild *b, size_t lo, size_t hi)
{
	for (size_t i = lo + 1; i < hi; i++) {
		gt_table_row row = b->rows[i];
		size_t pos = b->row_pos[i];
		size_t j = i;
		while (j > lo && (b->rows[j - 1].t_us > row.t_us ||
		                  (b->rows[j - 1].t_us == row.t_us && b->row_pos[j - 1] > pos))) {
			b->rows[j] = b->rows[j - 1];
			b->row_pos[j] = b->row_pos[j - 1];
			j--;
		}
		b->rows[j] = row;
		b->row_pos[j] = pos;
	}
}

static int draw_arrows(gt_table *t)
{
	size_t flags_w = 2, rest_w = 0;
	for (size_t i = 0; i < t->nrows; i++) {
		const gt_table_row *r = &t->rows[i];
		if (r->dir == GT_TABLE_DIR_NONE)
			continue;
		if (r->flags_len > flags_w)
			flags_w = r->flags_len;
		size_t rest = strlen(r->seg) - r->flags_len;
		if (rest > rest_w)
			rest_w = rest;
	}
	/* "---- " label " " and at least four more characters of shaft/head. */
	const size_t width = 5 + flags_w + rest_w + 1 + 4;
	for (size_t i = 0; i < t->nrows; i++) {
		gt_table_row *r = &t->rows[i];
		sbuf b = {0};
		if (r->dir != GT_TABLE_DIR_NONE) {
			const char *head =
			    r->dir == GT_TABLE_DIR_LEFT ? (r->lost ? "X--- " : "<--- ") : "---- ";
			sb_printf(&b, "%s%-*.*s%s ", head, (int)flags_w, (int)r->flags_len, r->seg,
			          r->seg + r->flags_len);
			size_t used = b.len;
			if (r->dir == GT_TABLE_DIR_LEFT) {
				sb_repeat(&b, '-', width - used);
			} else {
				sb_repeat(&b, '-', width - used - 1);
				sb_printf(&b, "%c", r->lost ? 'X' : '>');
			}
		}
		r->arrow = sb_take(&b);
		if (!r->arrow)
			return -ENOMEM;
	}
	return 0;
}

void gt_trace_table_free(gt_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows; i++)
		free_row(&t->rows[i]);
	free(t->rows);
	free(t->conns);
	*t = (gt_table){0};
}

static void resolve_names(const gt_table_opts *opts, const char **left, const char **right)
{
	*left = opts && opts->left_host ? opts->left_host : "client";
	*right = opts && opts->right_host ? opts->right_host : "server";
}

int gt_trace_table_build(const gt_trace_log *log, const gt_table_opts *opts, gt_table *out)
{
	*out = (gt_table){0};
	const char *left, *right;
	resolve_names(opts, &left, &right);
	const bool absolute = opts && opts->absolute_seq;

	tbuild b = {0};
	int rc = collect(&b, log, left, right);
	for (size_t ci = 0; rc == 0 && ci < b.nconns; ci++) {
		tconn *c = &b.conns[ci];
		compute_states(c);
		bool isn_known[2];
		uint32_t isn[2] = {0, 0};
		find_isns(c, isn_known, isn);
		size_t first_row = b.nrows;
		for (size_t p = 0; rc == 0 && p < c->n; p++) {
			if (c->items[p].ev->kind == GT_EV_TX && c->items[p].ev->has_seg)
				rc = segment_row(&b, ci, c, p, isn_known, isn, absolute);
		}
		if (rc == 0)
			rc = orphan_rows(&b, ci, c);
		if (rc == 0)
			sort_rows(&b, first_row, b.nrows);
	}

	out->rows = b.rows;
	out->nrows = b.nrows;
	if (rc == 0 && b.nconns) {
		out->conns = malloc(b.nconns * sizeof *out->conns);
		if (!out->conns)
			rc = -ENOMEM;
	}
	for (size_t ci = 0; ci < b.nconns; ci++) {
		if (out->conns)
			out->conns[ci] = b.conns[ci].tuple;
		free(b.conns[ci].items);
	}
	out->nconns = out->conns ? b.nconns : 0;
	free(b.conns);
	free(b.row_pos);
	free(b.synth);
	if (rc == 0)
		rc = draw_arrows(out);
	if (rc < 0)
		gt_trace_table_free(out);
	return rc;
}

/* ---- rendering ---- */

static void put_padded(sbuf *b, const char *s, size_t width)
{
	sb_printf(b, "%s", s);
	size_t n = strlen(s);
	if (n < width)
		sb_repeat(b, ' ', width - n);
}

static int put_line(FILE *f, sbuf *b)
{
	if (b->oom)
		return -ENOMEM;
	size_t n = b->len;
	while (n > 0 && b->s[n - 1] == ' ')
		n--;
	int rc = 0;
	if ((n && fwrite(b->s, 1, n, f) != n) || fputc('\n', f) == EOF)
		rc = -EIO;
	b->len = 0;
	return rc;
}

static void time_str(gt_time_us t, char buf[32])
{
	snprintf(buf, 32, "%" PRIu64 ".%03" PRIu64, (uint64_t)(t / 1000), (uint64_t)(t % 1000));
}

/* The earliest time in the log: times are printed from it, so a trace on a
 * real clock (CLOCK_MONOTONIC under TUN) reads like a simulated one. */
static gt_time_us log_start(const gt_trace_log *log)
{
	gt_time_us start = 0;
	size_t n = log ? gt_trace_log_count(log) : 0;
	for (size_t i = 0; i < n; i++) {
		gt_time_us t = gt_trace_log_get(log, i)->t_us;
		if (i == 0 || t < start)
			start = t;
	}
	return start;
}

int gt_trace_table_print(FILE *f, const gt_trace_log *log, const gt_table_opts *opts)
{
	if (!f)
		return -EINVAL;
	gt_table t;
	int rc = gt_trace_table_build(log, opts, &t);
	if (rc < 0)
		return rc;
	const char *left, *right;
	resolve_names(opts, &left, &right);
	const gt_time_us start = log_start(log);

	size_t time_w = strlen("  t (ms)"), left_w = strlen(left), arrow_w = strlen("segment");
	for (size_t i = 0; i < t.nrows; i++) {
		char ts[32];
		time_str(t.rows[i].t_us - start, ts);
		if (strlen(ts) > time_w)
			time_w = strlen(ts);
		if (strlen(t.rows[i].left) > left_w)
			left_w = strlen(t.rows[i].left);
		if (strlen(t.rows[i].arrow) > arrow_w)
			arrow_w = strlen(t.rows[i].arrow);
	}

	/* The header keeps the seed's "  t (ms)" prefix even when times need a
	 * wider column; the padding then goes after it. */
	sbuf line = {0};
	put_padded(&line, "  t (ms)", time_w);
	sb_printf(&line, "   ");
	put_padded(&line, left, left_w);
	sb_printf(&line, "   ");
	put_padded(&line, "segment", arrow_w);
	sb_printf(&line, "  %s", right);
	rc = put_line(f, &line);

	size_t conn = SIZE_MAX;
	for (size_t i = 0; rc == 0 && i < t.nrows; i++) {
		const gt_table_row *r = &t.rows[i];
		if (t.nconns > 1 && r->conn != conn) {
			char a[16], bb[16];
			const gt_conn_tuple *c = &t.conns[r->conn];
			sb_printf(&line, "\nconnection %s:%u > %s:%u",
			          gt_ipv4_str(c->local_addr, a), (unsigned)c->local_port,
			          gt_ipv4_str(c->remote_addr, bb), (unsigned)c->remote_port);
			rc = put_line(f, &line);
			if (rc < 0)
				break;
		}
		conn = r->conn;
		char ts[32];
		time_str(r->t_us - start, ts);
		sb_printf(&line, "%*s   ", (int)time_w, ts);
		put_padded(&line, r->left, left_w);
		sb_printf(&line, "   ");
		put_padded(&line, r->arrow, arrow_w);
		sb_printf(&line, "  %s", r->right);
		rc = put_line(f, &line);
	}
	free(line.s);
	gt_trace_table_free(&t);
	if (rc == 0 && ferror(f))
		rc = -EIO;
	return rc;
}
