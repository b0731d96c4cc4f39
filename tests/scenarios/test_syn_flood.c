/* Issue 12's "Done when" on the simulator: 100,000 SYNs from spoofed sources
 * at 100,000/s (one every 10 µs of virtual time) at a listener with the
 * default backlog (128) while 100 legitimate clients connect during the
 * flood. With SYN cookies (on overflow, the default) at least 99 of them
 * complete the handshake and exchange a request and a reply, each within one
 * exchange's time (no retransmission needed: the request rides right behind
 * the cookie's ACK), and the flood costs under 1 MB of heap. With cookies off
 * the documented failure shows: the SYN queue stays full of half-open
 * connections and the clients' SYNs are dropped.
 *
 * Figures (seed 1): cookies on, 100 of 100 done, each 40 ms after its
 * connect(), the listener's heap cost 109,872 bytes (128 half-open TCBs); cookies
 * off, 0 of 100 within 3 s. The test prints its figures. */
#include "support.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

#define CLIENT_ADDR   0xC0000201u /* 192.0.2.1 */
#define SERVER_ADDR   0xC0000202u /* 192.0.2.2 */
#define ATTACKER_ADDR 0xCB007142u /* 203.0.113.66 */
#define SPOOF_NET     0xC6120000u /* 198.18.0.0/15 */
#define PORT          80
#define MS            ((gt_time_us)1000)
#define S             ((gt_time_us)1000000)
#define NCLIENTS      100
#define NSYNS         100000u
#define SYN_GAP_US    10u      /* 100,000 SYNs/s */
#define POLL_US       (1 * MS) /* the applications act this often */
#define MSG           100      /* request and reply bytes */
#define HORIZON       (3 * S)  /* how long the clients are watched */
#define MEM_LIMIT     (1u << 20)

static size_t allocated_bytes(void)
{
	return __sanitizer_get_current_allocated_bytes ? __sanitizer_get_current_allocated_bytes()
	                                               : 0;
}

typedef struct cli {
	int sock;
	gt_time_us start; /* connect() */
	gt_time_us done;  /* the whole reply read; GT_TIME_NEVER */
	bool failed;
	size_t got;
} cli;

typedef struct flood_run {
	gt_sim *sim;
	gt_stack *cst, *sst;
	int lsock;
	cli c[NCLIENTS];
	int ssock[2 * NCLIENTS];
	size_t sgot[2 * NCLIENTS];
	size_t nssock;
	size_t heap_base, heap_peak;
	/* results */
	unsigned completed;
	gt_time_us worst; /* the longest connect() .. reply of those completed */
} flood_run;

static void clients_act(flood_run *r, gt_time_us now)
{
	uint8_t buf[MSG];
	memset(buf, 'q', sizeof buf);
	for (int i = 0; i < NCLIENTS; i++) {
		cli *c = &r->c[i];
		if (c->sock < 0 && now >= c->start && !c->failed && c->done == GT_TIME_NEVER) {
			c->sock = gt_socket(r->cst);
			assert_true(c->sock >= 0);
			assert_int_equal(gt_connect(r->cst, c->sock, SERVER_ADDR, PORT, now),
			                 -EINPROGRESS);
			continue;
		}
		if (c->sock < 0)
			continue;
		int st = gt_sock_state(r->cst, c->sock);
		if (st == GT_TCP_CLOSED) {
			c->failed = true;
			gt_close(r->cst, c->sock, now);
			c->sock = -1;
			continue;
		}
		if (st < GT_TCP_ESTABLISHED)
			continue;
		ssize_t n = gt_recv(r->cst, c->sock, buf, sizeof buf, now);
		if (n > 0)
			c->got += (size_t)n;
		if (c->got >= MSG) {
			c->done = now;
			gt_close(r->cst, c->sock, now);
			c->sock = -1;
		}
	}
}

static void server_act(flood_run *r, gt_time_us now)
{
	uint8_t buf[MSG];
	for (;;) {
		int s = gt_accept(r->sst, r->lsock, NULL, NULL);
		if (s < 0)
			break;
		assert_true(r->nssock < 2 * NCLIENTS);
		r->sgot[r->nssock] = 0;
		r->ssock[r->nssock++] = s;
	}
	for (size_t i = 0; i < r->nssock; i++) {
		int s = r->ssock[i];
		if (s < 0)
			continue;
		ssize_t n = gt_recv(r->sst, s, buf, sizeof buf, now);
		if (n > 0)
			r->sgot[i] += (size_t)n;
		if (r->sgot[i] >= MSG) {
			memset(buf, 'r', sizeof buf);
			assert_int_equal(gt_send(r->sst, s, buf, MSG, now), MSG);
			gt_close(r->sst, s, now);
			r->ssock[i] = -1;
		} else if (n < 0 && n != -EAGAIN) {
			gt_close(r->sst, s, now);
			r->ssock[i] = -1;
		}
	}
}

/* A client sends its request as soon as it is connected. */
static void clients_send(flood_run *r, gt_time_us now, bool sent[NCLIENTS])
{
	uint8_t buf[MSG];
	memset(buf, 'q', sizeof buf);
	for (int i = 0; i < NCLIENTS; i++) {
		cli *c = &r->c[i];
		if (sent[i] || c->sock < 0 || gt_sock_state(r->cst, c->sock) != GT_TCP_ESTABLISHED)
			continue;
		assert_int_equal(gt_send(r->cst, c->sock, buf, MSG, now), MSG);
		sent[i] = true;
	}
}

static void act(flood_run *r, gt_time_us now, bool sent[NCLIENTS])
{
	clients_act(r, now);
	clients_send(r, now, sent);
	server_act(r, now);
	size_t h = allocated_bytes();
	if (h > r->heap_peak)
		r->heap_peak = h;
}

static void spoofed_syn(flood_run *r, uint64_t x, uint16_t port)
{
	gt_sim_raw_seg syn = {.src_addr = SPOOF_NET | ((uint32_t)x & 0x1ffffu),
	                      .dst_addr = SERVER_ADDR,
	                      .src_port = (uint16_t)(1024 + (x >> 17) % 64512),
	                      .dst_port = port,
	                      .seq = (uint32_t)(x >> 32),
	                      .flags = GT_TCP_SYN,
	                      .wnd = 64240,
	                      .mss = 1460};
	assert_int_equal(gt_sim_send_raw(r->sim, 2, &syn), 0);
}

/* One run: the flood (unless syns is 0) from time 0 at flood_port, client i
 * connecting to PORT at 100 ms + 8 ms * i (all within the flood's first
 * second). */
static void run(flood_run *r, gt_syncookies_mode mode, unsigned syns, uint16_t flood_port,
                uint64_t seed)
{
	memset(r, 0, sizeof *r);
	r->sim = gt_sim_new(seed);
	assert_non_null(r->sim);
	gt_stack_config cfg;
	gt_stack_config_default(&cfg);
	cfg.syncookies = mode;
	assert_int_equal(gt_sim_add_host(r->sim, "client", CLIENT_ADDR, &cfg), 0);
	assert_int_equal(gt_sim_add_host(r->sim, "server", SERVER_ADDR, &cfg), 1);
	assert_int_equal(gt_sim_add_host(r->sim, "attacker", ATTACKER_ADDR, &cfg), 2);
	r->cst = gt_sim_stack(r->sim, 0);
	r->sst = gt_sim_stack(r->sim, 1);
	r->lsock = gt_socket(r->sst);
	assert_int_equal(gt_bind(r->sst, r->lsock, 0, PORT), 0);
	assert_int_equal(gt_listen(r->sst, r->lsock, 0, 0), 0); /* backlog 128 */
	for (int i = 0; i < NCLIENTS; i++)
		r->c[i] = (cli){
		    .sock = -1, .start = 100 * MS + 8 * MS * (gt_time_us)i, .done = GT_TIME_NEVER};
	bool sent[NCLIENTS] = {0};
	r->heap_base = r->heap_peak = allocated_bytes();
	gt_time_us next_poll = 0;
	for (unsigned i = 0; i < syns; i++) {
		gt_time_us t = (gt_time_us)i * SYN_GAP_US;
		gt_sim_run_until(r->sim, t);
		spoofed_syn(r, gt_sim_rand(r->sim), flood_port);
		if (t >= next_poll) {
			act(r, t, sent);
			next_poll = t + POLL_US;
		}
	}
	for (gt_time_us t = next_poll; t <= HORIZON; t += POLL_US) {
		gt_sim_run_until(r->sim, t);
		act(r, t, sent);
	}
	for (int i = 0; i < NCLIENTS; i++) {
		const cli *c = &r->c[i];
		if (c->done == GT_TIME_NEVER)
			continue;
		r->completed++;
		if (c->done - c->start > r->worst)
			r->worst = c->done - c->start;
	}
}

static void run_free(flood_run *r)
{
	gt_sim_free(r->sim);
}

static void test_flood_with_cookies(void **state)
{
	(void)state;
	uint64_t seed = gt_test_seed(1);
	flood_run *ctl = malloc(sizeof *ctl), *r = malloc(sizeof *r);
	assert_non_null(ctl);
	assert_non_null(r);
	/* The control: the same clients, the same flood at port 81, where
	 * nothing listens (each SYN answered with an RST that goes nowhere,
	 * nothing kept). The heap then holds the clients' connections and the
	 * packets on the links, as in the real run; what the real run holds
	 * more is what the listener keeps for the flood. */
	run(ctl, GT_SYNCOOKIES_ON_OVERFLOW, NSYNS, PORT + 1, seed);
	assert_int_equal(ctl->completed, NCLIENTS);
	size_t ctl_growth = ctl->heap_peak - ctl->heap_base;
	run_free(ctl);

	run(r, GT_SYNCOOKIES_ON_OVERFLOW, NSYNS, PORT, seed);
	const gt_stack_counters *k = gt_stack_get_counters(r->sst);
	size_t growth = r->heap_peak - r->heap_base;
	printf("syn flood, cookies on: %u SYNs in %.2f s; %u of %d clients done (slowest %.1f ms "
	       "from connect() to the reply); syncookies_sent %" PRIu64 ", syncookies_ok %" PRIu64
	       ", syncookies_bad %" PRIu64 ", syn_queue_full %" PRIu64
	       "; heap growth %zu bytes (%zu with the flood at a closed port: the listener's "
	       "cost %zd)\n",
	       NSYNS, (double)(NSYNS * SYN_GAP_US) / 1e6, r->completed, NCLIENTS,
	       (double)r->worst / 1000.0, k->syncookies_sent, k->syncookies_ok, k->syncookies_bad,
	       k->drop[GT_DROP_SYN_QUEUE_FULL], growth, ctl_growth,
	       (ssize_t)growth - (ssize_t)ctl_growth);
	fflush(stdout);
	assert_true(r->completed >= 99);
	/* one exchange: SYN, SYN-ACK, ACK + request, reply: 2 RTTs of 20 ms and a
	 * poll; a request stuck behind the cookie's ACK would wait an RTO */
	assert_true(r->worst <= 60 * MS);
	assert_true(k->syncookies_ok >= 99);
	assert_true(k->syncookies_sent >= NSYNS - 128);
	assert_int_equal(k->syncookies_bad, 0);
	assert_int_equal(k->drop[GT_DROP_SYN_QUEUE_FULL], 0);
	if (r->heap_base) {
		assert_true(growth <= ctl_growth + MEM_LIMIT);
	}
	run_free(r);
	free(ctl);
	free(r);
}

static void test_flood_without_cookies(void **state)
{
	(void)state;
	flood_run *r = malloc(sizeof *r);
	assert_non_null(r);
	run(r, GT_SYNCOOKIES_OFF, NSYNS, PORT, gt_test_seed(1));
	const gt_stack_counters *k = gt_stack_get_counters(r->sst);
	printf(
	    "syn flood, cookies off: %u of %d clients done within %.0f s; syn_queue_full %" PRIu64
	    ", syncookies_sent %" PRIu64 ", client SYN retransmissions %" PRIu64 "\n",
	    r->completed, NCLIENTS, (double)HORIZON / 1e6, k->drop[GT_DROP_SYN_QUEUE_FULL],
	    k->syncookies_sent, gt_stack_get_counters(r->cst)->tx_rexmits);
	fflush(stdout);
	/* the documented failure: the queue holds 128 half-open connections for
	 * two minutes, every SYN after them is dropped, the clients' first SYNs
	 * and their retransmissions (1 s after, then 3 s) too */
	assert_true(r->completed < 10);
	assert_true(k->drop[GT_DROP_SYN_QUEUE_FULL] >= NSYNS - 128);
	assert_int_equal(k->syncookies_sent, 0);
	assert_true(gt_stack_get_counters(r->cst)->tx_rexmits >= NCLIENTS);
	run_free(r);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flood_with_cookies),
	    cmocka_unit_test(test_flood_without_cookies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
