/* lwIP (Debian's liblwip-dev 2.1.3, a shared library built with NO_SYS 0,
 * TCP_MSS 1460, TCP_WND 64 KiB): its raw TCP API in the calling thread. The
 * tcpip thread is never started: lwip_init() and sys_check_timeouts() from
 * here, so no lock is taken. One lwIP holds both ends (it has one global
 * state), on two netifs joined by the in-memory link (link.h): the client's
 * pcb is bound to netif A; the server's packets leave by netif B, which is
 * first in lwIP's list and whose /16 covers the client's address. */
#include "bench.h"
#include "link.h"

#include <lwip/init.h>
#include <lwip/ip.h>
#include <lwip/netif.h>
#include <lwip/pbuf.h>
#include <lwip/tcp.h>
#include <lwip/timeouts.h>
#include <string.h>

#define PORT       6000
#define LINK_BYTES (16u << 20)

typedef struct lw {
	bench_link link;
	struct netif nif[2]; /* 0: A, the client's; 1: B, the server's */
	struct tcp_pcb *listener, *srv, *cli;
	uint64_t total, sent, got;
	int bad;      /* a byte not of the pattern, or an error callback */
	bool srv_eof; /* the server got FIN and closed */
	bool cli_got; /* the client got its 64 bytes and closed */
} lw;

static lw g_lw; /* lwIP's state is global: so is ours */
static bool g_lwip_up;
static uint16_t g_next_port = 1024, g_run_port = PORT;

const char *bench_lwip_missing(void)
{
	return NULL;
}

static err_t lw_output(struct netif *nif, struct pbuf *p, const ip4_addr_t *dst)
{
	lw *l = nif->state;
	uint8_t *d = bench_link_reserve(&l->link, nif == &l->nif[0] ? 1 : 0, p->tot_len);
	if (d)
		pbuf_copy_partial(p, d, p->tot_len, 0);
	return ERR_OK;
}

static err_t lw_netif_init(struct netif *nif)
{
	nif->output = lw_output;
	nif->mtu = 1500;
	nif->name[0] = 'b';
	nif->name[1] = nif == &g_lw.nif[0] ? 'a' : 'b';
	return ERR_OK;
}

static void lw_start(void)
{
	if (g_lwip_up)
		return;
	lwip_init();
	ip4_addr_t a, b, mask24, mask16, gw;
	IP4_ADDR(&a, 10, 0, 1, 1);
	IP4_ADDR(&b, 10, 0, 2, 1);
	IP4_ADDR(&mask24, 255, 255, 255, 0);
	IP4_ADDR(&mask16, 255, 255, 0, 0);
	IP4_ADDR(&gw, 0, 0, 0, 0);
	/* netif_add puts the newest first: B, added last, routes 10.0.0.0/16 */
	netif_add(&g_lw.nif[0], &a, &mask24, &gw, &g_lw, lw_netif_init, ip_input);
	netif_add(&g_lw.nif[1], &b, &mask16, &gw, &g_lw, lw_netif_init, ip_input);
	for (int i = 0; i < 2; i++) {
		netif_set_up(&g_lw.nif[i]);
		netif_set_link_up(&g_lw.nif[i]);
	}
	g_lwip_up = true;
}

/* Delivers every queued packet (and those that queues). */
static void lw_pump(lw *l)
{
	const uint8_t *pkt;
	int to;
	size_t len;
	while ((pkt = bench_link_peek(&l->link, &to, &len))) {
		struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
		if (p) {
			pbuf_take(p, pkt, (u16_t)len);
			l->nif[to].input(p, &l->nif[to]);
		}
		bench_link_pop(&l->link);
	}
}

static void lw_err(void *arg, err_t err)
{
	((lw *)arg)->bad = err ? err : -1;
}

/* The client writes what lwIP takes. */
static void bulk_write(lw *l)
{
	while (l->sent < l->total && l->cli) {
		uint64_t left = l->total - l->sent;
		u16_t room = tcp_sndbuf(l->cli);
		u16_t n = (u16_t)(left < room ? left : room);
		if (!n || tcp_write(l->cli, bench_pattern_at(l->sent), n, TCP_WRITE_FLAG_COPY))
			break;
		l->sent += n;
	}
	if (l->cli)
		tcp_output(l->cli);
}

static err_t srv_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	lw *l = arg;
	if (!p) { /* FIN */
		tcp_arg(pcb, NULL);
		tcp_recv(pcb, NULL);
		tcp_err(pcb, NULL);
		tcp_close(pcb);
		l->srv = NULL;
		l->srv_eof = true;
		return ERR_OK;
	}
	for (struct pbuf *q = p; q; q = q->next) {
		if (!bench_check(l->got, q->payload, q->len))
			l->bad = 1;
		l->got += q->len;
	}
	tcp_recved(pcb, p->tot_len);
	if (l->total == 0 && l->got == 64) /* lifecycle: answer */
		tcp_write(pcb, bench_pattern, 64, TCP_WRITE_FLAG_COPY), tcp_output(pcb);
	pbuf_free(p);
	return ERR_OK;
}

static err_t srv_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	lw *l = arg;
	if (err || !pcb)
		return ERR_VAL;
	l->srv = pcb;
	tcp_arg(pcb, l);
	tcp_recv(pcb, srv_recv);
	tcp_err(pcb, lw_err);
	return ERR_OK;
}

static err_t cli_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	lw *l = arg;
	if (!p)
		return ERR_OK;
	uint8_t buf[64];
	size_t n = pbuf_copy_partial(p, buf, sizeof buf, 0);
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	if (n != 64 || !bench_check(0, buf, 64))
		l->bad = 1;
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_close(pcb); /* the client first: it keeps TIME_WAIT */
	l->cli = NULL;
	l->cli_got = true;
	return ERR_OK;
}

static err_t cli_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	lw *l = arg;
	if (l->total)
		bulk_write(l);
	else if (tcp_write(pcb, bench_pattern, 64, TCP_WRITE_FLAG_COPY) == ERR_OK)
		tcp_output(pcb);
	return ERR_OK;
}

static err_t cli_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	bulk_write(arg);
	return ERR_OK;
}

/* A listener on B for this run (a new port each run: the tuples of the last
 * run's TIME_WAITs are not reused). */
static int lw_listen(lw *l)
{
	struct tcp_pcb *pcb = tcp_new();
	if (!pcb || tcp_bind(pcb, netif_ip_addr4(&l->nif[1]), g_run_port++) != ERR_OK)
		return -1;
	l->listener = tcp_listen(pcb);
	if (!l->listener)
		return -1;
	tcp_arg(l->listener, l);
	tcp_accept(l->listener, srv_accept);
	return 0;
}

static int lw_connect(lw *l)
{
	struct tcp_pcb *pcb = tcp_new();
	if (!pcb)
		return -1;
	ip_set_option(pcb, SOF_REUSEADDR);
	tcp_bind_netif(pcb, &l->nif[0]);
	if (g_next_port < 1024)
		g_next_port = 1024;
	if (tcp_bind(pcb, netif_ip_addr4(&l->nif[0]), g_next_port++) != ERR_OK)
		return -1;
	l->cli = pcb;
	tcp_arg(pcb, l);
	tcp_err(pcb, lw_err);
	if (l->total) {
		tcp_sent(pcb, cli_sent);
		tcp_nagle_disable(pcb);
	} else {
		tcp_recv(pcb, cli_recv);
	}
	return tcp_connect(pcb, netif_ip_addr4(&l->nif[1]), l->listener->local_port,
	                   cli_connected) == ERR_OK
	           ? 0
	           : -1;
}

static bench_result lw_begin(lw *l, uint64_t total)
{
	lw_start();
	bench_link saved = l->link;
	*l = (lw){.link = saved, .nif = {l->nif[0], l->nif[1]}, .total = total};
	if (!l->link.buf && bench_link_init(&l->link, LINK_BYTES) < 0)
		return bench_fail("lwip: out of memory");
	l->link.dropped = 0;
	if (lw_listen(l) < 0)
		return bench_fail("lwip: listen failed");
	return (bench_result){.ok = true};
}

static void lw_end(lw *l)
{
	if (l->cli)
		tcp_abort(l->cli);
	if (l->srv)
		tcp_abort(l->srv);
	l->cli = l->srv = NULL;
	lw_pump(l);
	if (l->listener)
		tcp_close(l->listener);
	l->listener = NULL;
}

bench_result bench_lwip_bulk(const bench_params *p)
{
	lw *l = &g_lw;
	bench_result r = lw_begin(l, p->bytes);
	if (!r.ok)
		return r;
	double t0 = bench_now(), last = t0;
	uint64_t seen = 0;
	if (lw_connect(l) < 0)
		r = bench_fail("lwip: connect failed");
	for (unsigned turn = 0; r.ok && l->got < p->bytes; turn++) {
		lw_pump(l);
		bulk_write(l);
		if (turn % 64 == 0) {
			sys_check_timeouts();
			double t = bench_now();
			if (l->got != seen)
				seen = l->got, last = t;
			else if (t - last > 10)
				r = bench_fail("lwip: bulk stalled at byte %llu",
				               (unsigned long long)l->got);
		}
		if (l->bad || l->link.dropped)
			r = bench_fail("lwip: bulk failed at byte %llu (%d)",
			               (unsigned long long)l->got, l->bad);
	}
	r.seconds = bench_now() - t0;
	lw_end(l);
	return r;
}

static int lw_one_lifecycle(lw *l)
{
	l->got = 0;
	l->srv_eof = l->cli_got = false;
	if (lw_connect(l) < 0)
		return -1;
	for (int turn = 0; turn < 100 && !(l->srv_eof && !l->link.used); turn++) {
		lw_pump(l);
		if (l->bad || l->link.dropped)
			return -1;
	}
	return l->srv_eof && l->cli_got ? 0 : -1;
}

bench_result bench_lwip_lifecycle(const bench_params *p)
{
	lw *l = &g_lw;
	bench_result r = lw_begin(l, 0);
	if (!r.ok)
		return r;
	double t0 = bench_now();
	for (uint32_t i = 0; i < p->conns && r.ok; i++) {
		if (lw_one_lifecycle(l) < 0)
			r = bench_fail("lwip: lifecycle %u failed (bad %d)", i, l->bad);
		if (i % 64 == 0)
			sys_check_timeouts();
	}
	r.seconds = bench_now() - t0;
	lw_end(l);
	return r;
}
