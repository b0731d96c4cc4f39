/* glasstcp — the deterministic simulated network.
 *
 * Hosts (each a gt_stack with its own IPv4 address) joined by one-way links
 * with delay, loss, duplication, reordering and corruption, and scripted
 * faults. A virtual clock jumps from one event to the next; a seeded PRNG makes
 * every run with the same seed produce the same trace, byte for byte. No root,
 * no threads, no sleeping. */
#ifndef GLASSTCP_SIM_H
#define GLASSTCP_SIM_H

#include "socket.h"
#include "stack.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gt_sim gt_sim;

typedef struct gt_link_params {
	gt_time_us delay_us; /* one-way delay; default 10 ms */
	double loss;         /* probability a packet is lost */
	double dup;          /* probability a packet is delivered twice */
	double reorder;      /* probability a packet is held back (arrives after later ones) */
	double corrupt;      /* probability one bit of a packet is flipped */
} gt_link_params;

/* What a fault predicate sees of a packet about to cross a link. */
typedef struct gt_sim_packet {
	int from_host;
	int to_host;
	gt_time_us now;
	bool has_seg; /* the TCP header parsed */
	gt_seg_info seg;
	const uint8_t *pkt;
	size_t len;
} gt_sim_packet;
/* Returns true to drop the packet (a scripted fault). */
typedef bool (*gt_sim_fault_fn)(void *user, const gt_sim_packet *p);

/* A declarative fault: drop `count` packets from from_host (-1: any) whose
 * flags include all of flags_all (and, when flags_exact, equal it) and carry
 * at least min_len payload bytes, after letting `skip` such packets pass. */
typedef struct gt_sim_fault {
	int from_host;
	uint8_t flags_all;
	bool flags_exact;
	uint32_t min_len;
	unsigned skip;
	unsigned count;
} gt_sim_fault;

gt_sim *gt_sim_new(uint64_t seed);
void gt_sim_free(gt_sim *sim);

/* Adds a host running a stack; base may be NULL (defaults). The sim sets the
 * name, address, output, event callback and ISN key (from its PRNG). Returns
 * the host index (>= 0), -EADDRINUSE (address taken), -ENOSPC (more than 16
 * hosts) or the error of gt_stack_create. */
int gt_sim_add_host(gt_sim *sim, const char *name, uint32_t addr, const gt_stack_config *base);
gt_stack *gt_sim_stack(gt_sim *sim, int host);
int gt_sim_host_count(const gt_sim *sim);
const char *gt_sim_host_name(const gt_sim *sim, int host);

/* Sets the link from -> to (-1 for every host on that side, including hosts
 * added later). A duplicate arrives 100 µs after the original; a held-back
 * packet gets 1 µs to 1.5 x delay extra. No random number is drawn for an
 * impairment whose probability is 0, so a clean link does not shift the
 * random sequence of the others. */
void gt_sim_set_link(gt_sim *sim, int from, int to, const gt_link_params *p);
void gt_sim_link_default(gt_link_params *p);

/* Receives every host's events, plus GT_EV_DROP events for packets the network
 * loses (host = intended receiver, reason sim_loss / sim_fault). */
void gt_sim_set_event_fn(gt_sim *sim, gt_event_fn fn, void *user);
/* Every packet put on a link is also written here (capture at the sender). */
void gt_sim_set_pcap(gt_sim *sim, gt_pcap_writer *w);

/* A segment the simulator builds for a host that has no stack of its own to
 * speak for it, with any source address: a packet source such as the
 * attacker of a SYN flood, whose SYNs carry forged (spoofed) sources. */
typedef struct gt_sim_raw_seg {
	uint32_t src_addr; /* anything: it is not checked against the sender's */
	uint32_t dst_addr; /* routed as every packet: to the host with this address */
	uint16_t src_port;
	uint16_t dst_port;
	uint32_t seq;
	uint32_t ack;
	uint8_t flags;
	uint16_t wnd;
	uint16_t mss; /* the MSS option, 0 for none */
} gt_sim_raw_seg;
/* Puts s on the link from host `from` at gt_sim_now(), the way the host's own
 * stack sends: scripted faults, impairment, the capture, and a GT_EV_TX event
 * of host `from` (conn: the forged source as the local end). An answer to a
 * source no host owns goes nowhere (gt_sim_stats.unroutable). Returns 0 or
 * -EINVAL (no such host). */
int gt_sim_send_raw(gt_sim *sim, int from, const gt_sim_raw_seg *s);

int gt_sim_add_fault(gt_sim *sim, const gt_sim_fault *f);
void gt_sim_set_fault_fn(gt_sim *sim, gt_sim_fault_fn fn, void *user);

gt_time_us gt_sim_now(const gt_sim *sim);
/* The time of the next pending event (delivery or stack deadline), or GT_TIME_NEVER. */
gt_time_us gt_sim_next_time(const gt_sim *sim);
/* Advances the clock to the next event and processes everything due then.
 * Returns false when nothing is pending. */
bool gt_sim_step(gt_sim *sim);
/* Steps while the next event is at or before t; then sets the clock to t. */
void gt_sim_run_until(gt_sim *sim, gt_time_us t);

typedef struct gt_sim_stats {
	uint64_t packets_sent;
	uint64_t packets_delivered;
	uint64_t lost;
	uint64_t faulted;
	uint64_t duplicated;
	uint64_t reordered;
	uint64_t corrupted;
	uint64_t unroutable;
} gt_sim_stats;
const gt_sim_stats *gt_sim_get_stats(const gt_sim *sim);

/* Deterministic PRNG (also used by scenarios and tests). */
uint64_t gt_sim_rand(gt_sim *sim);

#ifdef __cplusplus
}
#endif
#endif
