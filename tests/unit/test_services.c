/* The services of tools/apps/service.h (echo, discard, and http's shutdown) on the
 * simulated network: a client host (192.0.2.1) running test applications
 * through the socket API and a server host (192.0.2.2) running the services,
 * both driven the way a shell drives them — services polled after every step
 * of the network and at their deadlines. */
#include "apps/http.h"
#include "apps/service.h"
#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MS 1000ull
#define S  1000000ull

#define CLI_ADDR GT_TEST_ADDR(1)
#define SRV_ADDR GT_TEST_ADDR(2)

/* ---- the network and its driver ---- */

typedef struct net {
	gt_sim *sim;
	gt_stack *cli, *srv;
	gt_service *svc[4];
	size_t nsvc;
	uint64_t srv_rst, cli_rst; /* RST segments each host sent */
	uint64_t srv_fin;          /* FIN segments the server sent */
	gt_time_us wake;           /* the test application's own timer */
} net;

static void on_event(void *user, const gt_event *ev)
{
	net *n = user;
	if (ev->kind != GT_EV_TX || !ev->has_seg)
		return;
	bool srv = !strcmp(ev->host, "server");
	if (ev->seg.flags & GT_TCP_RST)
		(srv ? &n->srv_rst : &n->cli_rst)[0]++;
	if (srv && (ev->seg.flags & GT_TCP_FIN))
		n->srv_fin++;
}

static void net_init(net *n, uint64_t seed, gt_time_us delay, double loss)
{
	memset(n, 0, sizeof *n);
	n->sim = gt_sim_new(gt_test_seed(seed));
	assert_non_null(n->sim);
	gt_sim_set_event_fn(n->sim, on_event, n);
	gt_stack_config cfg;
	gt_stack_config_default(&cfg);
	cfg.msl_us = 1 * S; /* short TIME_WAIT: the runs stay short */
	assert_int_equal(gt_sim_add_host(n->sim, "client", CLI_ADDR, &cfg), 0);
	assert_int_equal(gt_sim_add_host(n->sim, "server", SRV_ADDR, &cfg), 1);
	n->cli = gt_sim_stack(n->sim, 0);
	n->srv = gt_sim_stack(n->sim, 1);
	gt_link_params lp;
	gt_sim_link_default(&lp);
	lp.delay_us = delay;
	lp.loss = loss;
	gt_sim_set_link(n->sim, -1, -1, &lp);
	n->wake = GT_TIME_NEVER;
}

static gt_service *net_service(net *n, const char *spec)
{
	char err[256] = "";
	gt_service *svc = gt_service_new(n->srv, spec, gt_sim_now(n->sim), err, sizeof err);
	if (!svc)
		fail_msg("gt_service_new(%s): %s", spec, err);
	n->svc[n->nsvc++] = svc;
	return svc;
}

static void net_free(net *n)
{
	for (size_t i = 0; i < n->nsvc; i++)
		gt_service_free(n->svc[i]);
	gt_sim_free(n->sim);
}

typedef bool (*app_fn)(net *n, void *arg, gt_time_us now);

/* Polls the services and the application after every step until the
 * application says it is done (true), or nothing is pending or the virtual
 * time passes limit (false). */
static bool net_run(net *n, app_fn app, void *arg, gt_time_us limit)
{
	for (;;) {
		gt_time_us now = gt_sim_now(n->sim);
		for (size_t i = 0; i < n->nsvc; i++)
			gt_service_poll(n->svc[i], now);
		if (app(n, arg, now))
			return true;
		gt_time_us next = gt_sim_next_time(n->sim);
		gt_time_us dl = n->wake;
		for (size_t i = 0; i < n->nsvc; i++) {
			gt_time_us d = gt_service_deadline(n->svc[i]);
			if (d < dl)
				dl = d;
		}
		if (dl <= now)
			dl = now + 1;
		gt_time_us t = next < dl ? next : dl;
		if (t == GT_TIME_NEVER || t > limit)
			return false;
		if (dl < next)
			gt_sim_run_until(n->sim, dl);
		else
			gt_sim_step(n->sim);
	}
}

/* ---- a streaming client: sends total bytes, half-closes, reads ---- */

static uint8_t pattern(uint64_t key, uint64_t i)
{
	uint64_t x = (i >> 3) * 0x9e3779b97f4a7c15ull + key;
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	return (uint8_t)(x >> ((i & 7) * 8));
}

typedef struct stream_cli {
	int sock;
	uint64_t key;
	uint64_t total; /* bytes to send before the half-close */
	bool check;     /* compare what comes back with what was sent (echo) */
	uint64_t sent, rcvd;
	bool shut, eof, done, bad;
	int err;
} stream_cli;

static void stream_start(net *n, stream_cli *c, uint16_t port, uint64_t total, uint64_t key,
                         bool check)
{
	memset(c, 0, sizeof *c);
	c->total = total;
	c->key = key;
	c->check = check;
	c->sock = gt_socket(n->cli);
	assert_true(c->sock >= 0);
	assert_int_equal(gt_connect(n->cli, c->sock, SRV_ADDR, port, gt_sim_now(n->sim)),
	                 -EINPROGRESS);
}

/* One step of the client; true once it has closed. */
static bool stream_tick(net *n, stream_cli *c, gt_time_us now)
{
	if (c->done)
		return true;
	gt_stack *st = n->cli;
	int state = gt_sock_state(st, c->sock);
	if (state < GT_TCP_ESTABLISHED && !(gt_poll(st, c->sock) & GT_POLLERR))
		return false;
	uint8_t buf[4096];
	while (!c->eof && c->sent < c->total) {
		size_t k =
		    c->total - c->sent < sizeof buf ? (size_t)(c->total - c->sent) : sizeof buf;
		for (size_t i = 0; i < k; i++)
			buf[i] = pattern(c->key, c->sent + i);
		ssize_t r = gt_send(st, c->sock, buf, k, now);
		if (r <= 0)
			break;
		c->sent += (uint64_t)r;
	}
	if (c->sent == c->total && !c->shut) {
		gt_shutdown(st, c->sock, GT_SHUT_WR, now);
		c->shut = true;
	}
	for (;;) {
		ssize_t r = gt_recv(st, c->sock, buf, sizeof buf, now);
		if (r > 0) {
			for (ssize_t i = 0; c->check && i < r; i++)
				c->bad = c->bad || buf[i] != pattern(c->key, c->rcvd + (uint64_t)i);
			c->rcvd += (uint64_t)r;
			continue;
		}
		if (r == 0) {
			c->eof = true; /* the server is done: stop sending and close */
		} else if (r != -EAGAIN) {
			c->err = (int)r;
		} else {
			break;
		}
		gt_close(st, c->sock, now);
		c->done = true;
		return true;
	}
	return false;
}

typedef struct many {
	stream_cli *c;
	size_t count;
	gt_service *svc; /* done also needs its connections gone */
} many;

static bool many_tick(net *n, void *arg, gt_time_us now)
{
	many *m = arg;
	bool all = true;
	for (size_t i = 0; i < m->count; i++)
		all = stream_tick(n, &m->c[i], now) && all;
	return all && gt_service_active(m->svc) == 0;
}

/* ---- echo and discard ---- */

static void echo_round_trip(uint64_t seed, double loss)
{
	net n;
	net_init(&n, seed, 1 * MS, loss);
	gt_service *svc = net_service(&n, "echo:7");
	assert_string_equal(gt_service_name(svc), "echo:7");
	stream_cli c;
	stream_start(&n, &c, 7, 1u << 20, 42, true);
	many m = {&c, 1, svc};
	assert_true(net_run(&n, many_tick, &m, 600 * S));
	assert_int_equal(c.err, 0);
	assert_false(c.bad);
	assert_true(c.eof);
	assert_int_equal(c.rcvd, 1u << 20);
	const gt_service_stats *ss = gt_service_get_stats(svc);
	assert_int_equal(ss->bytes_in, 1u << 20);
	assert_int_equal(ss->bytes_out, 1u << 20);
	assert_int_equal(ss->accepted, 1);
	assert_int_equal(ss->closed, 1);
	assert_int_equal(n.srv_rst, 0);
	assert_int_equal(n.cli_rst, 0);
	net_free(&n);
}

static void test_echo_1mib_half_close(void **state)
{
	(void)state;
	echo_round_trip(1, 0);
}

static void test_echo_1mib_lossy(void **state)
{
	(void)state;
	echo_round_trip(7, 0.02);
}

static void test_discard_counts_1mib(void **state)
{
	(void)state;
	net n;
	net_init(&n, 2, 1 * MS, 0);
	gt_service *svc = net_service(&n, "discard:9");
	stream_cli c;
	stream_start(&n, &c, 9, 1u << 20, 5, false);
	many m = {&c, 1, svc};
	assert_true(net_run(&n, many_tick, &m, 600 * S));
	assert_int_equal(c.err, 0);
	assert_true(c.eof);
	assert_int_equal(c.rcvd, 0);
	const gt_service_stats *ss = gt_service_get_stats(svc);
	assert_int_equal(ss->bytes_in, 1u << 20);
	assert_int_equal(ss->bytes_out, 0);
	assert_int_equal(ss->closed, 1);
	assert_int_equal(n.srv_rst, 0);
	net_free(&n);
}

static void test_echo_200_concurrent(void **state)
{
	(void)state;
	enum { N = 200 };
	net n;
	net_init(&n, 3, 2 * MS, 0);
	gt_service *svc = net_service(&n, "echo:7");
	stream_cli *c = calloc(N, sizeof *c);
	assert_non_null(c);
	for (size_t i = 0; i < N; i++)
		stream_start(&n, &c[i], 7, 16384 + i * 97, 1000 + i, true);
	many m = {c, N, svc};
	assert_true(net_run(&n, many_tick, &m, 600 * S));
	uint64_t total = 0;
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(c[i].err, 0);
		assert_false(c[i].bad);
		assert_int_equal(c[i].rcvd, c[i].total);
		total += c[i].total;
	}
	const gt_service_stats *ss = gt_service_get_stats(svc);
	assert_int_equal(ss->accepted, N);
	assert_int_equal(ss->closed, N);
	assert_int_equal(ss->bytes_out, total);
	assert_int_equal(n.srv_rst, 0);
	free(c);
	net_free(&n);
}

static void test_spec_errors(void **state)
{
	(void)state;
	net n;
	net_init(&n, 4, 1 * MS, 0);
	static const char *bad[] = {"",
	                            "echo",
	                            "echo:",
	                            "echo:0",
	                            "echo:x",
	                            "echo:70000",
	                            "echo:7:x",
	                            "chargen:19",
	                            "http:80",
	                            "http:80:",
	                            "http:80:/nonexistent/dir/x",
	                            "discard:-1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[256] = "";
		gt_service *svc = gt_service_new(n.srv, bad[i], 0, err, sizeof err);
		if (svc)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(strlen(err) > 0);
	}
	gt_service *a = net_service(&n, "echo:7");
	char err[256] = "";
	assert_null(gt_service_new(n.srv, "discard:7", 0, err, sizeof err));
	assert_non_null(strstr(err, "in use"));
	assert_string_equal(gt_service_name(a), "echo:7");
	gt_service *h = net_service(&n, "http:8080:/");
	assert_string_equal(gt_service_name(h), "http:8080");
	assert_int_equal(gt_service_deadline(h), GT_TIME_NEVER);
	assert_int_equal(gt_service_active(h), 0);
	net_free(&n);
}

/* ---- graceful shutdown ---- */

static char tmpdir[64];

static void rm_tree(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb) < 0)
		return;
	if (S_ISDIR(sb.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char sub[512];
			snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
			rm_tree(sub);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

typedef struct shutdown_run {
	stream_cli echo[5];
	stream_cli disc;
	gt_http_get *get;
	FILE *out;
	/* an idle keep-alive HTTP connection, and one left in the accept queue */
	int idle, queued;
	bool idle_eof, queued_eof;
	bool stopped;
	gt_time_us stop_at;
} shutdown_run;

static bool raw_until_eof(net *n, int sock, bool *eof, gt_time_us now)
{
	char buf[1024];
	ssize_t r;
	while (!*eof && (r = gt_recv(n->cli, sock, buf, sizeof buf, now)) != -EAGAIN) {
		if (r <= 0) {
			assert_int_equal(r, 0); /* a FIN, not a reset */
			*eof = true;
			gt_close(n->cli, sock, now);
		}
	}
	return *eof;
}

static bool shutdown_tick(net *n, void *arg, gt_time_us now)
{
	shutdown_run *s = arg;
	bool all = true;
	for (size_t i = 0; i < 5; i++)
		all = stream_tick(n, &s->echo[i], now) && all;
	all = stream_tick(n, &s->disc, now) && all;
	gt_http_get_poll(s->get, now);
	all = gt_http_get_done(s->get) && all;
	if (!s->stopped) {
		n->wake = s->stop_at;
		if (now < s->stop_at)
			return false;
		/* a connection the service has not accepted yet: established
		 * inside the stack, waiting in the listener's queue */
		s->queued = gt_socket(n->cli);
		gt_connect(n->cli, s->queued, SRV_ADDR, 80, now);
		gt_sim_run_until(n->sim, now + 10 * MS);
		now = gt_sim_now(n->sim);
		assert_int_equal(gt_sock_state(n->cli, s->queued), GT_TCP_ESTABLISHED);
		for (size_t i = 0; i < n->nsvc; i++)
			gt_service_shutdown(n->svc[i], now);
		s->stopped = true;
		n->wake = GT_TIME_NEVER;
		return false;
	}
	all = raw_until_eof(n, s->idle, &s->idle_eof, now) && all;
	all = raw_until_eof(n, s->queued, &s->queued_eof, now) && all;
	for (size_t i = 0; i < n->nsvc; i++)
		all = all && gt_service_active(n->svc[i]) == 0;
	return all;
}

static void test_graceful_shutdown(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/gt_svc_XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	char path[128];
	snprintf(path, sizeof path, "%s/big.bin", tmpdir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (uint64_t i = 0; i < (1u << 20); i++)
		fputc(pattern(99, i), f);
	fclose(f);

	net n;
	net_init(&n, 5, 1 * MS, 0);
	gt_service *echo = net_service(&n, "echo:7");
	gt_service *disc = net_service(&n, "discard:9");
	char spec[128];
	snprintf(spec, sizeof spec, "http:80:%s", tmpdir);
	gt_service *http = net_service(&n, spec);

	shutdown_run *s = calloc(1, sizeof *s);
	assert_non_null(s);
	for (size_t i = 0; i < 5; i++)
		stream_start(&n, &s->echo[i], 7, 100u << 20, 7 + i, true); /* never finishes */
	stream_start(&n, &s->disc, 9, 100u << 20, 3, false);
	char *body = NULL;
	size_t body_len = 0;
	s->out = open_memstream(&body, &body_len);
	char err[128];
	s->get = gt_http_get_new(n.cli, "http://192.0.2.2/big.bin", s->out, 0, err, sizeof err);
	assert_non_null(s->get);
	/* an idle keep-alive connection after one request */
	s->idle = gt_socket(n.cli);
	gt_connect(n.cli, s->idle, SRV_ADDR, 80, 0);
	gt_sim_run_until(n.sim, 5 * MS);
	const char req[] = "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(gt_send(n.cli, s->idle, req, sizeof req - 1, gt_sim_now(n.sim)),
	                 sizeof req - 1);
	s->stop_at = 60 * MS; /* everything is in full flow then */

	assert_true(net_run(&n, shutdown_tick, s, 120 * S));
	/* the transfer in flight finished, whole */
	int status = 0;
	uint64_t got = 0;
	assert_int_equal(gt_http_get_result(s->get, &status, &got), 0);
	assert_int_equal(status, 200);
	fclose(s->out);
	assert_int_equal(body_len, 1u << 20);
	for (size_t i = 0; i < body_len; i++) {
		if ((uint8_t)body[i] != pattern(99, i))
			fail_msg("byte %zu of the body differs", i);
	}
	for (size_t i = 0; i < 5; i++) {
		assert_true(s->echo[i].eof);
		assert_int_equal(s->echo[i].err, 0);
		assert_false(s->echo[i].bad);
		assert_true(s->echo[i].rcvd > 0);
	}
	assert_true(s->disc.eof);
	assert_true(gt_service_get_stats(disc)->bytes_in > 0);
	assert_true(s->idle_eof && s->queued_eof);
	/* every connection ended with FIN: the server sent no RST at all */
	assert_int_equal(n.srv_rst, 0);
	assert_true(n.srv_fin >= 9);
	assert_int_equal(gt_service_get_stats(echo)->aborted, 0);
	assert_int_equal(gt_service_get_stats(http)->accepted, 3);
	/* and the listeners are gone: a new connection is refused */
	int late = gt_socket(n.cli);
	gt_connect(n.cli, late, SRV_ADDR, 80, gt_sim_now(n.sim));
	gt_sim_run_until(n.sim, gt_sim_now(n.sim) + 10 * MS);
	assert_int_equal(gt_sock_error(n.cli, late), -ECONNREFUSED);
	gt_close(n.cli, late, gt_sim_now(n.sim));

	gt_http_get_free(s->get);
	free(body);
	free(s);
	net_free(&n);
	rm_tree(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_echo_1mib_half_close), cmocka_unit_test(test_echo_1mib_lossy),
	    cmocka_unit_test(test_discard_counts_1mib),  cmocka_unit_test(test_echo_200_concurrent),
	    cmocka_unit_test(test_spec_errors),          cmocka_unit_test(test_graceful_shutdown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
