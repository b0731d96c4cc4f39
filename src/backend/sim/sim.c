/* The deterministic simulated network (include/glasstcp/sim.h).
 *
 * Determinism rests on three things: one seeded PRNG whose draws happen in a
 * fixed order per packet, a delivery queue ordered by (time, insertion
 * counter) so equal times never depend on heap internals, and hosts visited in
 * index order. Nothing here reads a real clock. */
#include "glasstcp/sim.h"

#include "backend/impair.h"
#include "wire/wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SIM_MAX_HOSTS 16
/* Gap between the two copies of a duplicated packet: enough to be distinct
 * arrivals in a trace, far below any RTT. */
#define SIM_DUP_GAP_US 100

typedef struct sim_host {
	gt_sim *sim;
	int index;
	char *name;
	uint32_t addr;
	gt_stack *st;
} sim_host;

typedef struct sim_fault {
	gt_sim_fault spec;
	unsigned passed;  /* matching packets let through (up to spec.skip) */
	unsigned dropped; /* matching packets dropped (up to spec.count) */
} sim_fault;

struct gt_sim {
	gt_rng rng;
	gt_time_us now;

	sim_host hosts[SIM_MAX_HOSTS];
	int nhosts;
	/* links[from][to]; kept for every slot so a link set with -1 before a
	 * host is added applies to it too. */
	gt_link_params links[SIM_MAX_HOSTS][SIM_MAX_HOSTS];

	gt_pktq queue; /* packets on the links; tag = receiving host */

	sim_fault *faults;
	size_t nfaults;
	size_t faults_cap;
	gt_sim_fault_fn fault_fn;
	void *fault_user;

	gt_event_fn event_fn;
	void *event_user;
	gt_pcap_writer *pcap;

	gt_sim_stats stats;
};

uint64_t gt_sim_rand(gt_sim *sim)
{
	return gt_rng_next(&sim->rng);
}

/* ---- sending ---- */

static int route(const gt_sim *sim, const uint8_t *pkt, size_t len)
{
	if (len < GT_IPV4_HDR_LEN)
		return -1;
	/* RFC 791: destination address at bytes 16..19, network byte order. */
	uint32_t dst = (uint32_t)pkt[16] << 24 | (uint32_t)pkt[17] << 16 | (uint32_t)pkt[18] << 8 |
	               (uint32_t)pkt[19];
	for (int i = 0; i < sim->nhosts; i++) {
		if (sim->hosts[i].addr == dst)
			return i;
	}
	return -1;
}

static bool fault_matches(const gt_sim_fault *f, const gt_sim_packet *p)
{
	if (f->from_host >= 0 && f->from_host != p->from_host)
		return false;
	if (!p->has_seg)
		return false;
	if ((p->seg.flags & f->flags_all) != f->flags_all)
		return false;
	if (f->flags_exact && p->seg.flags != f->flags_all)
		return false;
	return p->seg.len >= f->min_len;
}

/* Declarative faults first (each counts its own skips and drops), then the
 * callback; the callback is not consulted for a packet already dropped. */
static bool scripted_drop(gt_sim *sim, const gt_sim_packet *p)
{
	for (size_t i = 0; i < sim->nfaults; i++) {
		sim_fault *f = &sim->faults[i];
		if (f->dropped >= f->spec.count || !fault_matches(&f->spec, p))
			continue;
		if (f->passed < f->spec.skip) {
			f->passed++;
			continue;
		}
		f->dropped++;
		return true;
	}
	return sim->fault_fn && sim->fault_fn(sim->fault_user, p);
}

/* Reports a packet the network dropped, as the intended receiver would have
 * seen it: its own address and port first. */
static void report_drop(gt_sim *sim, const gt_sim_packet *p, const gt_segment *seg,
                        gt_drop_reason reason)
{
	if (!sim->event_fn)
		return;
	gt_event ev = {
	    .kind = GT_EV_DROP,
	    .t_us = sim->now,
	    .host = sim->hosts[p->to_host].name,
	    .has_seg = p->has_seg,
	    .seg = p->seg,
	    .pkt = p->pkt,
	    .pkt_len = p->len,
	    .reason = reason,
	    .sock = -1, /* no socket: the engine's convention for packet events */
	};
	if (p->has_seg) {
		ev.has_conn = true;
		ev.conn = (gt_conn_tuple){.local_addr = seg->dst_addr,
		                          .remote_addr = seg->src_addr,
		                          .local_port = seg->dst_port,
		                          .remote_port = seg->src_port};
	}
	sim->event_fn(sim->event_user, &ev);
}

static void sim_send(sim_host *h, const uint8_t *pkt, size_t len)
{
	gt_sim *sim = h->sim;
	sim->stats.packets_sent++;
	if (sim->pcap)
		gt_pcap_write_packet(sim->pcap, sim->now, pkt, len);

	int to = route(sim, pkt, len);
	if (to < 0) {
		sim->stats.unroutable++;
		return;
	}
	const gt_link_params *link = &sim->links[h->index][to];

	gt_segment seg;
	memset(&seg, 0, sizeof seg);
	gt_sim_packet p = {
	    .from_host = h->index, .to_host = to, .now = sim->now, .pkt = pkt, .len = len};
	p.has_seg = gt_wire_peek(pkt, len, &seg);
	if (p.has_seg) {
		p.seg = (gt_seg_info){.seq = seg.seq,
		                      .ack = seg.ack,
		                      .len = seg.payload_len,
		                      .win = seg.wnd,
		                      /* no connection known here: unscaled */
		                      .wnd = seg.wnd,
		                      .flags = seg.flags,
		                      .mss = seg.opts.has_mss ? seg.opts.mss : 0};
	}

	if (scripted_drop(sim, &p)) {
		sim->stats.faulted++;
		report_drop(sim, &p, &seg, GT_DROP_SIM_FAULT);
		return;
	}
	/* The shared impairment model (backend/impair.h) decides; its draws
	 * come from the simulator's one PRNG, in a fixed order per packet. */
	gt_impair_params ip;
	gt_impair_params_default(&ip);
	ip.delay_us = link->delay_us;
	ip.loss = link->loss;
	ip.corrupt = link->corrupt;
	ip.reorder = link->reorder;
	ip.dup = link->dup;
	ip.dup_gap_us = SIM_DUP_GAP_US;
	gt_impair_verdict v;
	gt_impair_decide(&ip, &sim->rng, NULL, sim->now, len, &v);
	if (v.lost) {
		sim->stats.lost++;
		report_drop(sim, &p, &seg, GT_DROP_SIM_LOSS);
		return;
	}
	if (v.reordered)
		sim->stats.reordered++;
	/* Out of memory in the simulator behaves like a lost packet; it is not
	 * reported as a loss because no PRNG decision made it. */
	uint8_t *copy;
	if (gt_pktq_push(&sim->queue, v.when, to, pkt, len, &copy) < 0)
		return;
	if (v.corrupted) {
		copy[v.corrupt_bit / 8] ^= (uint8_t)(1u << (v.corrupt_bit % 8));
		sim->stats.corrupted++;
	}
	/* the copy carries the same flipped bit */
	if (v.duplicated && gt_pktq_push(&sim->queue, v.dup_when, to, copy, len, NULL) == 0)
		sim->stats.duplicated++;
}

/* ---- stack callbacks ---- */

static void output_trampoline(void *user, const uint8_t *pkt, size_t len)
{
	sim_send(user, pkt, len);
}

static void event_trampoline(void *user, const gt_event *ev)
{
	const sim_host *h = user;
	if (h->sim->event_fn)
		h->sim->event_fn(h->sim->event_user, ev);
}

/* ---- packets with forged sources ---- */

static void report_raw_tx(sim_host *h, const gt_segment *seg, const uint8_t *pkt, size_t len)
{
	gt_sim *sim = h->sim;
	if (!sim->event_fn)
		return;
	gt_event ev = {
	    .kind = GT_EV_TX,
	    .t_us = sim->now,
	    .host = h->name,
	    .has_conn = true,
	    .conn = {.local_addr = seg->src_addr,
	             .remote_addr = seg->dst_addr,
	             .local_port = seg->src_port,
	             .remote_port = seg->dst_port},
	    .has_seg = true,
	    .seg = {.seq = seg->seq,
	            .ack = seg->ack,
	            .win = seg->wnd,
	            .wnd = seg->wnd,
	            .flags = seg->flags,
	            .mss = seg->opts.has_mss ? seg->opts.mss : 0},
	    .pkt = pkt,
	    .pkt_len = len,
	    .sock = -1,
	};
	sim->event_fn(sim->event_user, &ev);
}

int gt_sim_send_raw(gt_sim *sim, int from, const gt_sim_raw_seg *s)
{
	if (!sim || !s || from < 0 || from >= sim->nhosts)
		return -EINVAL;
	gt_segment seg = {.src_addr = s->src_addr,
	                  .dst_addr = s->dst_addr,
	                  .src_port = s->src_port,
	                  .dst_port = s->dst_port,
	                  .seq = s->seq,
	                  .ack = s->ack,
	                  .flags = s->flags,
	                  .wnd = s->wnd,
	                  .ttl = 64,
	                  .opts = {.has_mss = s->mss != 0, .mss = s->mss}};
	uint8_t pkt[GT_IPV4_HDR_LEN + GT_TCP_HDR_LEN + GT_TCP_MAX_OPT_LEN];
	size_t len = gt_wire_write_headers(pkt, &seg, 0, (uint16_t)sim->stats.packets_sent);
	gt_wire_finalize(pkt, len);
	sim_host *h = &sim->hosts[from];
	report_raw_tx(h, &seg, pkt, len);
	sim_send(h, pkt, len);
	return 0;
}

/* ---- public API ---- */

void gt_sim_link_default(gt_link_params *p)
{
	*p = (gt_link_params){.delay_us = 10000};
}

gt_sim *gt_sim_new(uint64_t seed)
{
	gt_sim *sim = calloc(1, sizeof *sim);
	if (!sim)
		return NULL;
	gt_rng_seed(&sim->rng, seed);
	gt_pktq_init(&sim->queue, 0);
	for (int i = 0; i < SIM_MAX_HOSTS; i++) {
		for (int j = 0; j < SIM_MAX_HOSTS; j++)
			gt_sim_link_default(&sim->links[i][j]);
	}
	return sim;
}

void gt_sim_free(gt_sim *sim)
{
	if (!sim)
		return;
	for (int i = 0; i < sim->nhosts; i++) {
		gt_stack_destroy(sim->hosts[i].st);
		free(sim->hosts[i].name);
	}
	gt_pktq_destroy(&sim->queue);
	free(sim->faults);
	free(sim);
}

int gt_sim_add_host(gt_sim *sim, const char *name, uint32_t addr, const gt_stack_config *base)
{
	if (!sim || !name)
		return -EINVAL;
	if (sim->nhosts >= SIM_MAX_HOSTS)
		return -ENOSPC;
	for (int i = 0; i < sim->nhosts; i++) {
		if (sim->hosts[i].addr == addr)
			return -EADDRINUSE;
	}

	gt_stack_config cfg;
	if (base)
		cfg = *base;
	else
		gt_stack_config_default(&cfg);

	int idx = sim->nhosts;
	sim_host *h = &sim->hosts[idx];
	size_t n = strlen(name) + 1;
	char *copy = malloc(n);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, name, n);
	*h = (sim_host){.sim = sim, .index = idx, .name = copy, .addr = addr};

	cfg.name = h->name;
	cfg.local_addr = addr;
	cfg.output = output_trampoline;
	cfg.output_user = h;
	cfg.on_event = event_trampoline;
	cfg.event_user = h;
	/* RFC 6528 wants a secret key; in the simulator it comes from the seed
	 * so that ISNs, and hence traces, are reproducible. */
	for (int i = 0; i < 2; i++) {
		uint64_t r = gt_sim_rand(sim);
		memcpy(cfg.isn_key + 8 * i, &r, 8);
	}

	int rc = gt_stack_create(&cfg, &h->st);
	if (rc < 0) {
		free(h->name);
		*h = (sim_host){0};
		return rc;
	}
	sim->nhosts++;
	return idx;
}

gt_stack *gt_sim_stack(gt_sim *sim, int host)
{
	return sim && host >= 0 && host < sim->nhosts ? sim->hosts[host].st : NULL;
}

int gt_sim_host_count(const gt_sim *sim)
{
	return sim ? sim->nhosts : 0;
}

const char *gt_sim_host_name(const gt_sim *sim, int host)
{
	return sim && host >= 0 && host < sim->nhosts ? sim->hosts[host].name : NULL;
}

void gt_sim_set_link(gt_sim *sim, int from, int to, const gt_link_params *p)
{
	if (!sim || !p || from < -1 || to < -1 || from >= SIM_MAX_HOSTS || to >= SIM_MAX_HOSTS)
		return;
	for (int i = 0; i < SIM_MAX_HOSTS; i++) {
		if (from >= 0 && i != from)
			continue;
		for (int j = 0; j < SIM_MAX_HOSTS; j++) {
			if (to < 0 || j == to)
				sim->links[i][j] = *p;
		}
	}
}

void gt_sim_set_event_fn(gt_sim *sim, gt_event_fn fn, void *user)
{
	sim->event_fn = fn;
	sim->event_user = user;
}

void gt_sim_set_pcap(gt_sim *sim, gt_pcap_writer *w)
{
	sim->pcap = w;
}

int gt_sim_add_fault(gt_sim *sim, const gt_sim_fault *f)
{
	if (!sim || !f)
		return -EINVAL;
	if (sim->nfaults == sim->faults_cap) {
		size_t cap = sim->faults_cap ? 2 * sim->faults_cap : 8;
		sim_fault *faults = realloc(sim->faults, cap * sizeof *faults);
		if (!faults)
			return -ENOMEM;
		sim->faults = faults;
		sim->faults_cap = cap;
	}
	sim->faults[sim->nfaults++] = (sim_fault){.spec = *f};
	return 0;
}

void gt_sim_set_fault_fn(gt_sim *sim, gt_sim_fault_fn fn, void *user)
{
	sim->fault_fn = fn;
	sim->fault_user = user;
}

gt_time_us gt_sim_now(const gt_sim *sim)
{
	return sim->now;
}

gt_time_us gt_sim_next_time(const gt_sim *sim)
{
	gt_time_us next = gt_pktq_next(&sim->queue);
	for (int i = 0; i < sim->nhosts; i++) {
		gt_time_us d = gt_stack_next_deadline(sim->hosts[i].st);
		if (d < next)
			next = d;
	}
	return next;
}

bool gt_sim_step(gt_sim *sim)
{
	gt_time_us next = gt_sim_next_time(sim);
	if (next == GT_TIME_NEVER)
		return false;
	/* A deadline already in the past runs now: the clock never goes back. */
	if (next > sim->now)
		sim->now = next;

	/* Packets a stack sends while handling these are queued, never handed
	 * to a stack from inside another stack's (or its own) callback. With a
	 * zero delay they are due now and delivered by this same loop. */
	gt_pktq_item p;
	while (gt_pktq_pop_due(&sim->queue, sim->now, &p)) {
		sim->stats.packets_delivered++;
		gt_stack_input(sim->hosts[p.tag].st, p.data, p.len, sim->now);
		gt_pktq_release(&sim->queue, &p);
	}
	for (int i = 0; i < sim->nhosts; i++) {
		if (gt_stack_next_deadline(sim->hosts[i].st) <= sim->now)
			gt_stack_on_deadline(sim->hosts[i].st, sim->now);
	}
	return true;
}

void gt_sim_run_until(gt_sim *sim, gt_time_us t)
{
	while (gt_sim_next_time(sim) <= t) {
		if (!gt_sim_step(sim))
			break;
	}
	if (t > sim->now)
		sim->now = t;
}

const gt_sim_stats *gt_sim_get_stats(const gt_sim *sim)
{
	return &sim->stats;
}
