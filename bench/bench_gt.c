/* glasstcp: two stacks in one thread, joined by the in-memory link
 * (link.h). Bulk runs on CLOCK_MONOTONIC (microseconds since the start of the
 * run): the stacks see real time pass, as over a real link without delay.
 * The lifecycle runs on a virtual clock that jumps to the next deadline
 * when nothing is in flight (delayed ACKs cost no wall time). */
#include "bench.h"
#include "link.h"

#include <errno.h>
#include <glasstcp/glasstcp.h>
#include <string.h>

#define CLIENT_ADDR 0xC0000201u /* 192.0.2.1 */
#define SERVER_ADDR 0xC0000202u /* 192.0.2.2 */
#define PORT        5001
#define BULK_BUF    (4u << 20)
#define LINK_BYTES  (64u << 20)
#define RECV_CHUNK  (1u << 20)
#define STALL_S     10.0

typedef struct pair pair;
typedef struct port {
	pair *p;
	int to;
} port;

struct pair {
	bench_link link;
	gt_stack *st[2]; /* 0 client, 1 server */
	port ports[2];
	bool real_time;
	double t0;
	gt_time_us now;
};

static void pair_output(void *user, const uint8_t *pkt, size_t len)
{
	port *o = user;
	bench_link_push(&o->p->link, o->to, pkt, len);
}

static gt_time_us pair_clock(pair *p)
{
	if (p->real_time)
		p->now = (gt_time_us)((bench_now() - p->t0) * 1e6);
	return p->now;
}

static int pair_open(pair *p, uint16_t mss, bool bulk)
{
	memset(p, 0, sizeof *p);
	p->real_time = bulk;
	p->t0 = bench_now();
	if (bench_link_init(&p->link, LINK_BYTES) < 0)
		return -ENOMEM;
	for (int i = 0; i < 2; i++) {
		gt_stack_config cfg;
		gt_stack_config_default(&cfg);
		cfg.name = i ? "server" : "client";
		cfg.local_addr = i ? SERVER_ADDR : CLIENT_ADDR;
		p->ports[i] = (port){p, !i};
		cfg.output = pair_output;
		cfg.output_user = &p->ports[i];
		memcpy(cfg.isn_key, "glasstcp-bench!!", 16);
		if (mss)
			cfg.mss = mss;
		if (bulk) {
			cfg.sndbuf = cfg.rcvbuf = cfg.rcvbuf_max = BULK_BUF;
		} else { /* TIME_WAIT kept: room for a minute's worth of them */
			cfg.max_conns = 65535;
			cfg.ephemeral_lo = 1024;
		}
		int rc = gt_stack_create(&cfg, &p->st[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void pair_close(pair *p)
{
	for (int i = 0; i < 2; i++)
		if (p->st[i])
			gt_stack_destroy(p->st[i]);
	bench_link_free(&p->link);
}

/* Delivers every packet queued (and those that queues), then runs the
 * timers due. */
static void pair_pump(pair *p)
{
	const uint8_t *pkt;
	int to;
	size_t len;
	while ((pkt = bench_link_peek(&p->link, &to, &len))) {
		gt_stack_input(p->st[to], pkt, len, p->now);
		bench_link_pop(&p->link);
	}
	for (int i = 0; i < 2; i++)
		if (gt_stack_next_deadline(p->st[i]) <= pair_clock(p))
			gt_stack_on_deadline(p->st[i], p->now);
}

/* Nothing in flight: the virtual clock jumps to the next deadline. */
static void pair_idle(pair *p)
{
	if (p->real_time || p->link.used)
		return;
	gt_time_us t = GT_TIME_NEVER;
	for (int i = 0; i < 2; i++) {
		gt_time_us d = gt_stack_next_deadline(p->st[i]);
		t = d < t ? d : t;
	}
	if (t != GT_TIME_NEVER && t > p->now)
		p->now = t;
}

/* Listens, connects, and returns the server's socket (the client's in
 * *cli), or a negative errno. */
static int pair_connect(pair *p, int lsock, int *cli)
{
	gt_stack *c = p->st[0], *s = p->st[1];
	*cli = gt_socket(c);
	int rc = gt_connect(c, *cli, SERVER_ADDR, PORT, pair_clock(p));
	if (rc != -EINPROGRESS)
		return rc < 0 ? rc : -EPROTO;
	for (int i = 0; i < 1000; i++) {
		pair_pump(p);
		int conn = gt_accept(s, lsock, NULL, NULL);
		if (conn >= 0)
			return conn;
		pair_idle(p);
	}
	return -ETIMEDOUT;
}

static int pair_listen(pair *p)
{
	int lsock = gt_socket(p->st[1]);
	if (gt_bind(p->st[1], lsock, 0, PORT) < 0 || gt_listen(p->st[1], lsock, 128, p->now) < 0)
		return -1;
	return lsock;
}

typedef struct bulk_state {
	uint64_t sent, got;
	uint8_t *buf;
} bulk_state;

/* One turn of the bulk loop: send what fits, deliver, read and check. */
static int bulk_turn(pair *p, bulk_state *b, int cli, int conn, uint64_t total)
{
	while (b->sent < total) {
		uint64_t left = total - b->sent;
		size_t n = left < BENCH_PERIOD ? (size_t)left : BENCH_PERIOD;
		ssize_t k = gt_send(p->st[0], cli, bench_pattern_at(b->sent), n, p->now);
		if (k <= 0)
			break;
		b->sent += (uint64_t)k;
	}
	pair_pump(p);
	ssize_t k;
	while ((k = gt_recv(p->st[1], conn, b->buf, RECV_CHUNK, pair_clock(p))) > 0) {
		if (!bench_check(b->got, b->buf, (size_t)k))
			return -EILSEQ;
		b->got += (uint64_t)k;
	}
	pair_pump(p);
	return p->link.dropped ? -ENOBUFS : 0;
}

static bench_result bulk_run(pair *p, uint64_t total)
{
	int lsock = pair_listen(p), cli;
	int conn = lsock < 0 ? -1 : pair_connect(p, lsock, &cli);
	if (conn < 0)
		return bench_fail("glasstcp: connect failed (%d)", conn);
	static uint8_t buf[RECV_CHUNK];
	bulk_state b = {.buf = buf};
	double t0 = bench_now(), last = t0;
	uint64_t seen = 0;
	while (b.got < total) {
		int rc = bulk_turn(p, &b, cli, conn, total);
		if (rc < 0)
			return bench_fail("glasstcp: bulk failed at byte %llu (%s)",
			                  (unsigned long long)b.got, strerror(-rc));
		double t = bench_now();
		if (b.got != seen)
			seen = b.got, last = t;
		else if (t - last > STALL_S)
			return bench_fail("glasstcp: bulk stalled at byte %llu",
			                  (unsigned long long)b.got);
	}
	bench_result r = {.ok = true, .seconds = bench_now() - t0};
	return r;
}

bench_result bench_gt_bulk(const bench_params *bp)
{
	pair p;
	bench_result r;
	if (pair_open(&p, bp->mss, true) < 0)
		r = bench_fail("glasstcp: stack_create failed");
	else
		r = bulk_run(&p, bp->bytes);
	pair_close(&p);
	return r;
}

/* Reads exactly n bytes of the pattern from s (on stack i), pumping. */
static int read_exact(pair *p, int i, int s, size_t n)
{
	uint8_t buf[64];
	size_t got = 0;
	for (int turn = 0; got < n && turn < 1000; turn++) {
		ssize_t k = gt_recv(p->st[i], s, buf + got, n - got, p->now);
		if (k > 0) {
			got += (size_t)k;
			continue;
		}
		if (k != -EAGAIN)
			return k ? (int)k : -ECONNRESET;
		pair_pump(p);
		pair_idle(p);
	}
	return got == n && bench_check(0, buf, n) ? 0 : -EILSEQ;
}

/* Waits for EOF on s (stack i). */
static int read_eof(pair *p, int i, int s)
{
	uint8_t c;
	for (int turn = 0; turn < 1000; turn++) {
		ssize_t k = gt_recv(p->st[i], s, &c, 1, p->now);
		if (k == 0)
			return 0;
		if (k != -EAGAIN)
			return -EPROTO;
		pair_pump(p);
		pair_idle(p);
	}
	return -ETIMEDOUT;
}

/* connect, 64 bytes each way, client closes first, server closes; done
 * when the server's side is gone (the client's stays in TIME_WAIT). */
static int one_lifecycle(pair *p, int lsock)
{
	int cli, conn = pair_connect(p, lsock, &cli);
	if (conn < 0)
		return conn;
	gt_stack *c = p->st[0], *s = p->st[1];
	if (gt_send(c, cli, bench_pattern, 64, p->now) != 64)
		return -EIO;
	int rc = read_exact(p, 1, conn, 64);
	if (rc < 0 || gt_send(s, conn, bench_pattern, 64, p->now) != 64)
		return rc < 0 ? rc : -EIO;
	if ((rc = read_exact(p, 0, cli, 64)) < 0)
		return rc;
	gt_close(c, cli, p->now);
	if ((rc = read_eof(p, 1, conn)) < 0)
		return rc;
	gt_close(s, conn, p->now);
	for (int turn = 0; gt_stack_conn_count(s) > 1; turn++) {
		if (turn == 1000)
			return -ETIMEDOUT;
		pair_pump(p);
		pair_idle(p);
	}
	return 0;
}

bench_result bench_gt_lifecycle(const bench_params *bp)
{
	pair p;
	bench_result r = {.ok = true};
	int lsock;
	if (pair_open(&p, 0, false) < 0 || (lsock = pair_listen(&p)) < 0) {
		pair_close(&p);
		return bench_fail("glasstcp: stack_create/listen failed");
	}
	double t0 = bench_now();
	for (uint32_t i = 0; i < bp->conns && r.ok; i++) {
		int rc = one_lifecycle(&p, lsock);
		if (rc < 0)
			r = bench_fail("glasstcp: lifecycle %u failed (%s)", i, strerror(-rc));
	}
	r.seconds = bench_now() - t0;
	pair_close(&p);
	return r;
}
