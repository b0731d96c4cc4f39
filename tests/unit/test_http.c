/* The HTTP server (gt_service "http:PORT:DIR") and client (gt_http_get) of
 * tools/apps/service.h on the simulated network: a client host (192.0.2.1) and a
 * server host (192.0.2.2), 1 ms apart. The server serves a temporary
 * directory; raw-socket clients and servers written here check what goes on
 * the wire. */
#include "apps/http.h"
#include "apps/service.h"
#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MS 1000ull
#define S  1000000ull

#define CLI_ADDR GT_TEST_ADDR(1)
#define SRV_ADDR GT_TEST_ADDR(2)
#define RAW_PORT 8080 /* the test's own raw server */

#define BIG (1u << 20)

/* memmem is a GNU extension */
static const char *find_mem(const char *h, size_t hl, const char *nd, size_t nl)
{
	for (size_t i = 0; i + nl <= hl; i++) {
		if (!memcmp(h + i, nd, nl))
			return h + i;
	}
	return NULL;
}

/* ---- the served directory ---- */

static char root[64];    /* served */
static char outside[64]; /* not served: holds a secret a symlink points to */
static uint8_t *big;     /* the contents of big.bin */

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[256];
	int n = snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_true(n > 0 && (size_t)n < sizeof path);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

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

static int setup_dir(void **state)
{
	(void)state;
	snprintf(root, sizeof root, "/tmp/gt_http_XXXXXX");
	snprintf(outside, sizeof outside, "/tmp/gt_http_out_XXXXXX");
	if (!mkdtemp(root) || !mkdtemp(outside))
		return -1;
	big = malloc(BIG);
	if (!big)
		return -1;
	uint64_t x = gt_test_seed(0x1234567);
	for (size_t i = 0; i < BIG; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		big[i] = (uint8_t)(x >> 24);
	}
	write_file(root, "empty.txt", "", 0);
	write_file(root, "one.bin", "1", 1);
	write_file(root, "big.bin", big, BIG);
	write_file(root, "index.html", "<p>hi</p>\n", 10);
	write_file(outside, "secret.txt", "SECRET\n", 7);
	char path[256], target[256];
	snprintf(path, sizeof path, "%s/sub", root);
	mkdir(path, 0755);
	write_file(path, "a.txt", "aaa", 3);
	snprintf(path, sizeof path, "%s/leak", root);
	snprintf(target, sizeof target, "%s/secret.txt", outside);
	if (symlink(target, path) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/leakdir", root);
	if (symlink(outside, path) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/inlink", root);
	if (symlink("sub/a.txt", path) < 0)
		return -1;
	return 0;
}

static int teardown_dir(void **state)
{
	(void)state;
	rm_tree(root);
	rm_tree(outside);
	free(big);
	return 0;
}

/* ---- the network and its driver ---- */

typedef struct net {
	gt_sim *sim;
	gt_stack *cli, *srv;
	gt_service *http;
	uint64_t srv_rst; /* RST segments the server host sent */
	gt_time_us wake;  /* the test application's own timer */
} net;

static void on_event(void *user, const gt_event *ev)
{
	net *n = user;
	if (ev->kind == GT_EV_TX && ev->has_seg && (ev->seg.flags & GT_TCP_RST) &&
	    !strcmp(ev->host, "server"))
		n->srv_rst++;
}

static void net_init(net *n, uint64_t seed)
{
	memset(n, 0, sizeof *n);
	n->sim = gt_sim_new(gt_test_seed(seed));
	assert_non_null(n->sim);
	gt_sim_set_event_fn(n->sim, on_event, n);
	gt_stack_config cfg;
	gt_stack_config_default(&cfg);
	cfg.msl_us = 1 * S;
	assert_int_equal(gt_sim_add_host(n->sim, "client", CLI_ADDR, &cfg), 0);
	assert_int_equal(gt_sim_add_host(n->sim, "server", SRV_ADDR, &cfg), 1);
	n->cli = gt_sim_stack(n->sim, 0);
	n->srv = gt_sim_stack(n->sim, 1);
	gt_link_params lp;
	gt_sim_link_default(&lp);
	lp.delay_us = 1 * MS;
	gt_sim_set_link(n->sim, -1, -1, &lp);
	n->wake = GT_TIME_NEVER;
	char spec[128], err[256] = "";
	snprintf(spec, sizeof spec, "http:80:%s", root);
	n->http = gt_service_new(n->srv, spec, 0, err, sizeof err);
	if (!n->http)
		fail_msg("%s", err);
}

static void net_free(net *n)
{
	gt_service_free(n->http);
	gt_sim_free(n->sim);
}

typedef bool (*app_fn)(net *n, void *arg, gt_time_us now);

static bool net_run(net *n, app_fn app, void *arg, gt_time_us limit)
{
	for (;;) {
		gt_time_us now = gt_sim_now(n->sim);
		gt_service_poll(n->http, now);
		if (app(n, arg, now))
			return true;
		gt_time_us next = gt_sim_next_time(n->sim);
		gt_time_us dl = gt_service_deadline(n->http);
		if (n->wake < dl)
			dl = n->wake;
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

/* ---- gt_http_get ---- */

typedef struct fetch {
	gt_http_get *g;
	FILE *out;
	char *body;
	size_t len;
	int result, status;
	uint64_t bytes;
} fetch;

static void fetch_start(net *n, fetch *f, const char *url)
{
	memset(f, 0, sizeof *f);
	f->out = open_memstream(&f->body, &f->len);
	assert_non_null(f->out);
	char err[256] = "";
	f->g = gt_http_get_new(n->cli, url, f->out, gt_sim_now(n->sim), err, sizeof err);
	if (!f->g)
		fail_msg("gt_http_get_new(%s): %s", url, err);
}

static bool fetch_tick(net *n, void *arg, gt_time_us now)
{
	(void)n;
	fetch *f = arg;
	gt_http_get_poll(f->g, now);
	return gt_http_get_done(f->g);
}

static void fetch_end(fetch *f)
{
	f->result = gt_http_get_result(f->g, &f->status, &f->bytes);
	fclose(f->out);
	gt_http_get_free(f->g);
	f->g = NULL;
}

/* GETs url and returns the result; the body stays in f (free f->body). */
static int fetch_url(net *n, fetch *f, const char *url)
{
	fetch_start(n, f, url);
	assert_true(net_run(n, fetch_tick, f, gt_sim_now(n->sim) + 60 * S));
	fetch_end(f);
	assert_int_equal(f->bytes, f->len);
	return f->result;
}

static void test_get_files(void **state)
{
	(void)state;
	net n;
	net_init(&n, 1);
	static const struct {
		const char *path;
		const void *data;
		size_t len;
	} cases[] = {{"/empty.txt", "", 0},    {"/one.bin", "1", 1},
	             {"/", "<p>hi</p>\n", 10}, {"/index.html?x=1", "<p>hi</p>\n", 10},
	             {"/inlink", "aaa", 3},    {"/sub/%61.txt", "aaa", 3},
	             {"/big.bin", NULL, BIG}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char url[128];
		snprintf(url, sizeof url, "http://192.0.2.2%s", cases[i].path);
		fetch f;
		int r = fetch_url(&n, &f, url);
		if (r != 0)
			fail_msg("%s: result %d status %d", cases[i].path, r, f.status);
		assert_int_equal(f.status, 200);
		assert_int_equal(f.len, cases[i].len);
		assert_memory_equal(f.body, cases[i].data ? cases[i].data : (const void *)big,
		                    cases[i].len);
		free(f.body);
	}
	const gt_service_stats *ss = gt_service_get_stats(n.http);
	assert_int_equal(ss->accepted, 7);
	assert_int_equal(ss->status[2], 7);
	/* each client closed after its response, and the server with FIN */
	gt_sim_run_until(n.sim, gt_sim_now(n.sim) + 100 * MS);
	gt_service_poll(n.http, gt_sim_now(n.sim));
	assert_int_equal(gt_service_active(n.http), 0);
	assert_int_equal(ss->closed, 7);
	assert_int_equal(n.srv_rst, 0);
	net_free(&n);
}

static void test_get_errors(void **state)
{
	(void)state;
	net n;
	net_init(&n, 2);
	static const struct {
		const char *path;
		int status;
	} cases[] = {
	    {"/missing", 404},
	    {"/sub/", 404},          /* a directory without index.html */
	    {"/../etc/passwd", 403}, /* traversal, plain */
	    {"/%2e%2e/", 403},       /* ... percent-encoded */
	    {"/sub/%2E%2E/%2e%2e/etc/passwd", 403},
	    {"/sub/..%2f..%2fetc/passwd", 403}, /* an encoded slash does not hide it */
	    {"/leak", 403},                     /* a symlink to a file outside */
	    {"/leakdir/secret.txt", 403},       /* through a symlinked directory */
	    {"/%00", 400},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char url[128];
		snprintf(url, sizeof url, "http://192.0.2.2%s", cases[i].path);
		fetch f;
		int r = fetch_url(&n, &f, url);
		if (r != cases[i].status || f.status != cases[i].status)
			fail_msg("%s: result %d status %d, expected %d", cases[i].path, r, f.status,
			         cases[i].status);
		assert_null(find_mem(f.body, f.len, "SECRET", 6));
		free(f.body);
	}
	assert_int_equal(n.srv_rst, 0);
	net_free(&n);
}

/* ---- a raw client ---- */

typedef struct raw {
	int sock;
	char *buf; /* what arrived, NUL-terminated */
	size_t len, cap;
	bool eof;
	int err;
	gt_time_us eof_at;
} raw;

static void raw_open(net *n, raw *r, uint16_t port)
{
	memset(r, 0, sizeof *r);
	r->cap = 4096;
	r->buf = malloc(r->cap);
	assert_non_null(r->buf);
	r->buf[0] = '\0';
	r->sock = gt_socket(n->cli);
	assert_true(r->sock >= 0);
	assert_int_equal(gt_connect(n->cli, r->sock, SRV_ADDR, port, gt_sim_now(n->sim)),
	                 -EINPROGRESS);
}

static bool raw_connected(net *n, raw *r)
{
	return gt_sock_state(n->cli, r->sock) >= GT_TCP_ESTABLISHED;
}

static void raw_send(net *n, raw *r, const char *data, size_t len, gt_time_us now)
{
	assert_int_equal(gt_send(n->cli, r->sock, data, len, now), (ssize_t)len);
}

static void raw_pump(net *n, raw *r, gt_time_us now)
{
	while (!r->eof) {
		if (r->cap - r->len < 2048) {
			r->cap *= 2;
			r->buf = realloc(r->buf, r->cap);
			assert_non_null(r->buf);
		}
		ssize_t k = gt_recv(n->cli, r->sock, r->buf + r->len, r->cap - r->len - 1, now);
		if (k == -EAGAIN)
			break;
		if (k <= 0) {
			r->eof = true;
			r->err = (int)k;
			r->eof_at = now;
			break;
		}
		r->len += (size_t)k;
		r->buf[r->len] = '\0';
	}
}

static void raw_consume(raw *r, size_t k)
{
	memmove(r->buf, r->buf + k, r->len - k);
	r->len -= k;
	r->buf[r->len] = '\0';
}

static void raw_close(net *n, raw *r)
{
	gt_close(n->cli, r->sock, gt_sim_now(n->sim));
	free(r->buf);
}

typedef struct resp {
	int status;
	long clen;
	bool close; /* "Connection: close" */
	bool keep;  /* "Connection: keep-alive" */
	char location[64];
	size_t head_len, total;
} resp;

/* Parses the response at the start of buf; true when it is all there. */
static bool resp_parse(const char *buf, size_t len, bool head_only, resp *r)
{
	const char *end = find_mem(buf, len, "\r\n\r\n", 4);
	if (!end)
		return false;
	memset(r, 0, sizeof *r);
	r->head_len = (size_t)(end + 4 - buf);
	assert_int_equal(strncmp(buf, "HTTP/1.1 ", 9), 0);
	r->status = atoi(buf + 9);
	r->clen = -1;
	for (const char *l = strstr(buf, "\r\n") + 2; l < end; l = strstr(l, "\r\n") + 2) {
		if (!strncmp(l, "Content-Length: ", 16))
			r->clen = atol(l + 16);
		if (!strncmp(l, "Connection: close", 17))
			r->close = true;
		if (!strncmp(l, "Connection: keep-alive", 22))
			r->keep = true;
		if (!strncmp(l, "Location: ", 10))
			sscanf(l + 10, "%63[^\r]", r->location);
	}
	assert_true(r->clen >= 0); /* every response of ours has one */
	r->total = r->head_len + (head_only ? 0 : (size_t)r->clen);
	return len >= r->total;
}

/* One connection: sends req (all at once), expects `want` responses (heads[i]:
 * the i-th answers a HEAD), then the server's FIN when want_eof. */
typedef struct exchange {
	raw r;
	const char *req;
	size_t req_len;
	bool sent;
	size_t want;
	const bool *heads;
	resp got[8];
	char body[8][64]; /* the start of each body */
	size_t ngot;
	bool want_eof;
} exchange;

static bool exchange_tick(net *n, void *arg, gt_time_us now)
{
	exchange *x = arg;
	if (!raw_connected(n, &x->r))
		return false;
	if (!x->sent) {
		raw_send(n, &x->r, x->req, x->req_len, now);
		x->sent = true;
	}
	raw_pump(n, &x->r, now);
	while (x->ngot < x->want) {
		bool head = x->heads && x->heads[x->ngot];
		resp *rp = &x->got[x->ngot];
		if (!resp_parse(x->r.buf, x->r.len, head, rp))
			break;
		size_t bl = rp->total - rp->head_len;
		snprintf(x->body[x->ngot], sizeof x->body[0], "%.*s", (int)(bl < 63 ? bl : 63),
		         x->r.buf + rp->head_len);
		raw_consume(&x->r, rp->total);
		x->ngot++;
	}
	if (x->ngot == x->want && (!x->want_eof || x->r.eof))
		return true;
	return x->r.eof; /* closed early: the caller's checks say what went wrong */
}

static void run_exchange(net *n, exchange *x, const char *req, size_t len, size_t want,
                         const bool *heads, bool want_eof)
{
	memset(x, 0, sizeof *x);
	raw_open(n, &x->r, 80);
	x->req = req;
	x->req_len = len;
	x->want = want;
	x->heads = heads;
	x->want_eof = want_eof;
	assert_true(net_run(n, exchange_tick, x, gt_sim_now(n->sim) + 60 * S));
}

static void test_head(void **state)
{
	(void)state;
	net n;
	net_init(&n, 3);
	/* HEAD then GET on one connection: had the HEAD response carried a
	 * body, the second response would not start where it must */
	const char req[] = "HEAD /big.bin HTTP/1.1\r\nHost: t\r\n\r\n"
	                   "GET /one.bin HTTP/1.1\r\nHost: t\r\n\r\n";
	static const bool heads[] = {true, false};
	exchange x;
	run_exchange(&n, &x, req, sizeof req - 1, 2, heads, false);
	assert_int_equal(x.ngot, 2);
	assert_int_equal(x.got[0].status, 200);
	assert_int_equal(x.got[0].clen, BIG);
	assert_int_equal(x.got[1].status, 200);
	assert_int_equal(x.got[1].clen, 1);
	assert_string_equal(x.body[1], "1");
	assert_int_equal(x.r.len, 0); /* nothing more */
	assert_false(x.r.eof);
	raw_close(&n, &x.r);
	net_free(&n);
}

static void test_status_table(void **state)
{
	(void)state;
	static const struct {
		const char *req;
		int status;
		bool close; /* the server closes after the response */
	} cases[] = {
	    {"GARBAGE\r\n\r\n", 400, true},
	    {"GET /one.bin\r\n\r\n", 400, true},
	    {"GET  /one.bin HTTP/1.1\r\nHost: t\r\n\r\n", 400, true},
	    {"GET /one.bin HTTP/1.1\r\n\r\n", 400, true}, /* no Host */
	    {"GET /one.bin HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, true},
	    {"GET /one.bin HTTP/1.1\r\nHost : a\r\n\r\n", 400, true},
	    {"GET /one.bin HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400, true},
	    {"GET /one.bin HTTP/1.1\r\nHost: a\r\nBad\r\n\r\n", 400, true},
	    {"GET /one.bin HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n", 400, true},
	    {"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
	    {"GET one.bin HTTP/1.1\r\nHost: a\r\n\r\n", 400, true},
	    {"POST /one.bin HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 405, true},
	    {"BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", 501, true},
	    {"GET /one.bin HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501,
	     true},
	    {"GET /one.bin HTTP/2.0\r\nHost: a\r\n\r\n", 505, true},
	    {"GET /one.bin HTTP/1.0\r\n\r\n", 200, true},
	    {"GET /one.bin HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200, false},
	    {"GET /one.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 200, true},
	    {"GET /one.bin HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n", 200, true},
	    {"GET /one.bin HTTP/1.1\r\nHost: a\r\n\r\n", 200, false},
	    {"GET http://192.0.2.2/one.bin HTTP/1.1\r\nHost: a\r\n\r\n", 200, false},
	    {"\r\nGET /one.bin HTTP/1.1\r\nHost: a\r\n\r\n", 200, false},
	    {"GET /one.bin HTTP/1.1\nHost: a\n\n", 200, false},
	    {"GET /sub HTTP/1.1\r\nHost: a\r\n\r\n", 301, false},
	    {"GET /missing HTTP/1.1\r\nHost: a\r\n\r\n", 404, false},
	};
	net n;
	net_init(&n, 4);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		exchange x;
		run_exchange(&n, &x, cases[i].req, strlen(cases[i].req), 1, NULL, cases[i].close);
		if (x.ngot != 1 || x.got[0].status != cases[i].status)
			fail_msg("case %zu: got %zu responses, status %d, expected %d", i, x.ngot,
			         x.got[0].status, cases[i].status);
		assert_int_equal(x.got[0].close, cases[i].close);
		assert_int_equal(x.r.eof, cases[i].close);
		if (cases[i].close)
			assert_int_equal(x.r.err, 0); /* a FIN, not a reset */
		if (cases[i].status == 301)
			assert_string_equal(x.got[0].location, "/sub/");
		if (!strncmp(cases[i].req, "GET /one.bin HTTP/1.0\r\nConnection: keep-alive", 44))
			assert_true(x.got[0].keep);
		raw_close(&n, &x.r);
	}
	assert_int_equal(n.srv_rst, 0);
	net_free(&n);
}

static void test_oversized(void **state)
{
	(void)state;
	net n;
	net_init(&n, 5);
	size_t big_len = 20000;
	char *req = malloc(big_len + 100);
	assert_non_null(req);
	/* a request line longer than the header buffer: 414 */
	int k = sprintf(req, "GET /");
	memset(req + k, 'a', big_len);
	k += (int)big_len;
	k += sprintf(req + k, " HTTP/1.1\r\nHost: a\r\n\r\n");
	exchange x;
	run_exchange(&n, &x, req, (size_t)k, 1, NULL, true);
	assert_int_equal(x.got[0].status, 414);
	assert_int_equal(x.r.err, 0);
	raw_close(&n, &x.r);
	/* header fields that do not fit: 431 */
	k = sprintf(req, "GET /one.bin HTTP/1.1\r\nHost: a\r\nX-Big: ");
	memset(req + k, 'b', big_len);
	k += (int)big_len;
	k += sprintf(req + k, "\r\n\r\n");
	run_exchange(&n, &x, req, (size_t)k, 1, NULL, true);
	assert_int_equal(x.got[0].status, 431);
	assert_int_equal(x.r.err, 0);
	raw_close(&n, &x.r);
	/* just under the bound is fine */
	k = sprintf(req, "GET /one.bin HTTP/1.1\r\nHost: a\r\nX-Big: ");
	memset(req + k, 'c', GT_HTTP_HDR_MAX - 100);
	k += GT_HTTP_HDR_MAX - 100;
	k += sprintf(req + k, "\r\n\r\n");
	run_exchange(&n, &x, req, (size_t)k, 1, NULL, false);
	assert_int_equal(x.got[0].status, 200);
	raw_close(&n, &x.r);
	free(req);
	/* the lingering close read the rest of each oversized request: no RST */
	assert_int_equal(n.srv_rst, 0);
	net_free(&n);
}

static void test_pipelining(void **state)
{
	(void)state;
	net n;
	net_init(&n, 6);
	const char req[] = "GET /one.bin HTTP/1.1\r\nHost: t\r\n\r\n"
	                   "HEAD /big.bin HTTP/1.1\r\nHost: t\r\n\r\n"
	                   "GET /sub/a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	static const bool heads[] = {false, true, false};
	exchange x;
	run_exchange(&n, &x, req, sizeof req - 1, 3, heads, true);
	assert_int_equal(x.ngot, 3);
	assert_int_equal(x.got[0].status, 200);
	assert_string_equal(x.body[0], "1");
	assert_int_equal(x.got[1].clen, BIG);
	assert_string_equal(x.body[2], "aaa");
	assert_true(x.got[2].close);
	assert_true(x.r.eof);
	assert_int_equal(x.r.err, 0);
	raw_close(&n, &x.r);
	/* a GET with a body: the body is skipped, the next request answered */
	const char req2[] = "GET /one.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
	                    "GET /sub/a.txt HTTP/1.1\r\nHost: t\r\n\r\n";
	run_exchange(&n, &x, req2, sizeof req2 - 1, 2, NULL, false);
	assert_int_equal(x.ngot, 2);
	assert_string_equal(x.body[0], "1");
	assert_string_equal(x.body[1], "aaa");
	raw_close(&n, &x.r);
	assert_int_equal(n.srv_rst, 0);
	net_free(&n);
}

/* ---- keep-alive ---- */

typedef struct sequential {
	raw r;
	int done, total;
	bool waiting;
} sequential;

static bool sequential_tick(net *n, void *arg, gt_time_us now)
{
	sequential *q = arg;
	if (!raw_connected(n, &q->r))
		return false;
	raw_pump(n, &q->r, now);
	resp rp;
	if (q->waiting && resp_parse(q->r.buf, q->r.len, false, &rp)) {
		assert_int_equal(rp.status, 200);
		assert_int_equal(rp.clen, 3);
		assert_memory_equal(q->r.buf + rp.head_len, "aaa", 3);
		raw_consume(&q->r, rp.total);
		q->done++;
		q->waiting = false;
	}
	assert_false(q->r.eof);
	if (q->done == q->total)
		return true;
	if (!q->waiting) {
		const char req[] = "GET /sub/a.txt HTTP/1.1\r\nHost: t\r\n\r\n";
		raw_send(n, &q->r, req, sizeof req - 1, now);
		q->waiting = true;
	}
	return false;
}

static void test_keepalive_200_sequential(void **state)
{
	(void)state;
	net n;
	net_init(&n, 7);
	sequential q = {.total = 200};
	raw_open(&n, &q.r, 80);
	assert_true(net_run(&n, sequential_tick, &q, 60 * S));
	assert_int_equal(q.done, 200);
	const gt_service_stats *ss = gt_service_get_stats(n.http);
	assert_int_equal(ss->accepted, 1);
	assert_int_equal(ss->requests, 200);
	raw_close(&n, &q.r);
	net_free(&n);
}

typedef struct parallel {
	fetch f[200];
	size_t count;
} parallel;

static bool parallel_tick(net *n, void *arg, gt_time_us now)
{
	parallel *p = arg;
	bool all = true;
	for (size_t i = 0; i < p->count; i++)
		all = fetch_tick(n, &p->f[i], now) && all;
	return all && gt_service_active(n->http) == 0;
}

static void test_200_connections(void **state)
{
	(void)state;
	net n;
	net_init(&n, 8);
	parallel *p = calloc(1, sizeof *p);
	assert_non_null(p);
	p->count = 200;
	for (size_t i = 0; i < p->count; i++)
		fetch_start(&n, &p->f[i],
		            i % 2 ? "http://192.0.2.2/sub/a.txt" : "http://192.0.2.2/");
	assert_true(net_run(&n, parallel_tick, p, 60 * S));
	for (size_t i = 0; i < p->count; i++) {
		fetch_end(&p->f[i]);
		assert_int_equal(p->f[i].result, 0);
		assert_int_equal(p->f[i].len, i % 2 ? 3 : 10);
		free(p->f[i].body);
	}
	const gt_service_stats *ss = gt_service_get_stats(n.http);
	assert_int_equal(ss->accepted, 200);
	assert_int_equal(ss->closed, 200);
	assert_int_equal(n.srv_rst, 0);
	free(p);
	net_free(&n);
}

typedef struct idle {
	exchange x;
	gt_time_us answered;
} idle;

static bool idle_tick(net *n, void *arg, gt_time_us now)
{
	idle *d = arg;
	size_t before = d->x.ngot;
	exchange_tick(n, &d->x, now);
	if (d->x.ngot > before)
		d->answered = now;
	return d->x.r.eof;
}

static void test_idle_timeout(void **state)
{
	(void)state;
	net n;
	net_init(&n, 9);
	idle d;
	memset(&d, 0, sizeof d);
	raw_open(&n, &d.x.r, 80);
	const char req[] = "GET /one.bin HTTP/1.1\r\nHost: t\r\n\r\n";
	d.x.req = req;
	d.x.req_len = sizeof req - 1;
	d.x.want = 1;
	assert_true(net_run(&n, idle_tick, &d, 60 * S));
	assert_int_equal(d.x.ngot, 1);
	assert_int_equal(d.x.r.err, 0); /* FIN */
	/* closed GT_HTTP_IDLE_US after the response went out (1 ms each way) */
	gt_time_us idle_for = d.x.r.eof_at - d.answered;
	assert_true(idle_for >= GT_HTTP_IDLE_US - 10 * MS);
	assert_true(idle_for <= GT_HTTP_IDLE_US + 10 * MS);
	assert_int_equal(gt_service_get_stats(n.http)->timeouts, 1);
	raw_close(&n, &d.x.r);
	/* our FIN answered, the server's end goes: nothing held any more */
	gt_sim_run_until(n.sim, gt_sim_now(n.sim) + 100 * MS);
	gt_service_poll(n.http, gt_sim_now(n.sim));
	assert_int_equal(gt_service_active(n.http), 0);
	assert_int_equal(n.srv_rst, 0);
	net_free(&n);
}

/* ---- the client against a raw server ---- */

typedef struct piece {
	const void *data;
	size_t len;
} piece;

typedef struct rsrv {
	int lsock, sock;
	char req[4096];
	size_t req_len;
	bool got_req;
	const piece *pieces;
	size_t npieces, next, off;
	bool abort_at_end; /* RST instead of FIN after the last piece */
	bool hold;         /* neither: keep the connection open */
	bool ended;
	gt_time_us next_at;
	fetch f;
} rsrv;

static bool rsrv_tick(net *n, void *arg, gt_time_us now)
{
	rsrv *s = arg;
	gt_stack *st = n->srv;
	if (s->sock < 0)
		s->sock = gt_accept(st, s->lsock, NULL, NULL);
	if (s->sock >= 0 && !s->got_req) {
		ssize_t k =
		    gt_recv(st, s->sock, s->req + s->req_len, sizeof s->req - 1 - s->req_len, now);
		if (k > 0) {
			s->req_len += (size_t)k;
			s->req[s->req_len] = '\0';
			s->got_req = strstr(s->req, "\r\n\r\n") != NULL;
			s->next_at = now;
		}
	}
	/* one piece per millisecond: each its own segment */
	while (s->got_req && !s->ended && now >= s->next_at) {
		if (s->next == s->npieces) {
			if (s->abort_at_end)
				gt_abort(st, s->sock, now);
			else if (!s->hold)
				gt_close(st, s->sock, now);
			s->ended = true;
			break;
		}
		const piece *p = &s->pieces[s->next];
		ssize_t k =
		    gt_send(st, s->sock, (const char *)p->data + s->off, p->len - s->off, now);
		if (k < 0)
			break;
		s->off += (size_t)k;
		if (s->off < p->len)
			break;
		s->next++;
		s->off = 0;
		s->next_at = now + 1 * MS;
	}
	/* waiting for room in the send buffer: the ACKs wake us */
	n->wake = s->got_req && !s->ended && s->next_at > now ? s->next_at : GT_TIME_NEVER;
	return fetch_tick(n, &s->f, now);
}

/* Runs gt_http_get against a raw server answering with pieces. */
static int raw_server_get(const piece *pieces, size_t count, bool abort_at_end, bool hold, fetch *f)
{
	net n;
	net_init(&n, 10);
	rsrv *s = calloc(1, sizeof *s);
	assert_non_null(s);
	s->sock = -1;
	s->lsock = gt_socket(n.srv);
	assert_int_equal(gt_bind(n.srv, s->lsock, 0, RAW_PORT), 0);
	assert_int_equal(gt_listen(n.srv, s->lsock, 4, 0), 0);
	s->pieces = pieces;
	s->npieces = count;
	s->abort_at_end = abort_at_end;
	s->hold = hold;
	fetch_start(&n, &s->f, "http://192.0.2.2:8080/x?y=1");
	assert_true(net_run(&n, rsrv_tick, s, 60 * S));
	/* what the client sent */
	assert_non_null(strstr(s->req, "GET /x?y=1 HTTP/1.1\r\n"));
	assert_non_null(strstr(s->req, "\r\nHost: 192.0.2.2:8080\r\n"));
	assert_non_null(strstr(s->req, "\r\nConnection: close\r\n"));
	assert_non_null(strstr(s->req, "\r\nUser-Agent: glasstcp\r\n"));
	fetch_end(&s->f);
	*f = s->f;
	free(s);
	net_free(&n);
	return f->result;
}

#define P(s)                                                                                       \
	{                                                                                          \
		s, sizeof s - 1                                                                    \
	}

static void test_client_chunked(void **state)
{
	(void)state;
	static char data[100000];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)('A' + i % 23);
	const piece pieces[] = {
	    /* Transfer-Encoding overrides Content-Length (RFC 9112 §6.3) */
	    P("HTTP/1.1 200 OK\r\nContent-Length: 999\r\nTransfer-Encoding: chunked\r\n\r\n5;nam"),
	    P("e=\"v\"\r\nhel"),
	    P("lo\r"),
	    P("\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n186A0\r\n"),
	    {data, sizeof data},
	    P("\r\n0000\r\nX-Trailer: yes\r\n"),
	    P("\r\n"),
	};
	fetch f;
	assert_int_equal(raw_server_get(pieces, sizeof pieces / sizeof pieces[0], false, false, &f),
	                 0);
	assert_int_equal(f.status, 200);
	assert_int_equal(f.len, 5 + 26 + sizeof data);
	assert_memory_equal(f.body, "helloabcdefghijklmnopqrstuvwxyz", 31);
	assert_memory_equal(f.body + 31, data, sizeof data);
	free(f.body);
	/* complete at the last chunk: the server need not close */
	const piece held[] = {P("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	                        "3\r\nabc\r\n0\r\n\r\n")};
	assert_int_equal(raw_server_get(held, 1, false, true, &f), 0);
	assert_int_equal(f.len, 3);
	free(f.body);
}

static void test_client_framings(void **state)
{
	(void)state;
	fetch f;
	/* an interim 100 response is skipped */
	const piece interim[] = {P("HTTP/1.1 100 Continue\r\n\r\n"),
	                         P("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")};
	assert_int_equal(raw_server_get(interim, 2, false, false, &f), 0);
	assert_int_equal(f.len, 3);
	assert_memory_equal(f.body, "abc", 3);
	free(f.body);
	/* no length: the body runs until the server closes */
	const piece until_close[] = {P("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil"), P(" close")};
	assert_int_equal(raw_server_get(until_close, 2, false, false, &f), 0);
	assert_int_equal(f.len, 11);
	assert_memory_equal(f.body, "until close", 11);
	free(f.body);
	/* 204: no body, done without waiting for the close */
	const piece no_content[] = {P("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n")};
	assert_int_equal(raw_server_get(no_content, 1, false, true, &f), 0);
	assert_int_equal(f.status, 204);
	assert_int_equal(f.len, 0);
	free(f.body);
	/* a repeated identical Content-Length is that length */
	const piece cl_list[] = {P("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok")};
	assert_int_equal(raw_server_get(cl_list, 1, false, true, &f), 0);
	assert_int_equal(f.len, 2);
	free(f.body);
}

static void test_client_results(void **state)
{
	(void)state;
	fetch f;
	/* a non-2xx status: its body is written, the result is the status */
	const piece err500[] = {P("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\n"
	                          "oops")};
	assert_int_equal(raw_server_get(err500, 1, false, false, &f), 500);
	assert_int_equal(f.status, 500);
	assert_memory_equal(f.body, "oops", 4);
	free(f.body);
	/* reset in the middle of the body */
	const piece partial[] = {P("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")};
	assert_int_equal(raw_server_get(partial, 1, true, false, &f), -ECONNRESET);
	assert_int_equal(f.status, 200);
	free(f.body);
	/* closed in the middle of the body: truncated */
	assert_int_equal(raw_server_get(partial, 1, false, false, &f), -EPROTO);
	assert_int_equal(f.len, 10);
	free(f.body);
	/* closed before any response */
	assert_int_equal(raw_server_get(NULL, 0, false, false, &f), -EPROTO);
	free(f.body);
	/* malformed responses */
	static const char *const bad[] = {
	    "garbage\r\n\r\n",
	    "HTTP/1.1 2x0 OK\r\n\r\n",
	    "HTTP/2 200 OK\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1234567890abcdef0\r\n",
	    "HTTP/1.1 101 Switching Protocols\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const piece p = {bad[i], strlen(bad[i])};
		int r = raw_server_get(&p, 1, false, true, &f);
		if (r != -EPROTO)
			fail_msg("malformed response %zu: result %d", i, r);
		free(f.body);
	}
	/* a header section too large for the client */
	static char huge[20000];
	memset(huge, 'h', sizeof huge);
	const piece big_head[] = {P("HTTP/1.1 200 OK\r\nX: "), {huge, sizeof huge}, P("\r\n\r\n")};
	assert_int_equal(raw_server_get(big_head, 3, false, true, &f), -EPROTO);
	free(f.body);
}

static void test_client_refused_and_write_errors(void **state)
{
	(void)state;
	net n;
	net_init(&n, 11);
	fetch f;
	assert_int_equal(fetch_url(&n, &f, "http://192.0.2.2:81/"), -ECONNREFUSED);
	assert_int_equal(f.status, 0);
	free(f.body);
	/* a full disk: the write error is the result */
	FILE *full = fopen("/dev/full", "w");
	if (full) {
		char err[128];
		gt_http_get *g = gt_http_get_new(n.cli, "http://192.0.2.2/big.bin", full,
		                                 gt_sim_now(n.sim), err, sizeof err);
		assert_non_null(g);
		fetch w = {.g = g};
		assert_true(net_run(&n, fetch_tick, &w, gt_sim_now(n.sim) + 60 * S));
		assert_int_equal(gt_http_get_result(g, NULL, NULL), -ENOSPC);
		gt_http_get_free(g);
		fclose(full);
	}
	net_free(&n);
}

/* ---- robustness: mutated requests and responses ---- */

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* A few random edits of in: bytes replaced by ones that matter to a parser,
 * spans deleted or doubled, the end cut. */
static size_t mutate(char *out, size_t cap, const char *in, size_t len, uint64_t *rng)
{
	static const char special[] = {'\r', '\n', ' ', ':', '%', '.',        '/',        '\0',
	                               '\t', ',',  '0', 'f', ';', (char)0x80, (char)0xff, 'a'};
	memcpy(out, in, len);
	int edits = 1 + (int)(rng_next(rng) % 4);
	for (int e = 0; e < edits && len > 0; e++) {
		size_t at = rng_next(rng) % len;
		size_t span = 1 + rng_next(rng) % 8;
		if (span > len - at)
			span = len - at;
		switch (rng_next(rng) % 4) {
		case 0:
			out[at] = special[rng_next(rng) % sizeof special];
			break;
		case 1:
			memmove(out + at, out + at + span, len - at - span);
			len -= span;
			break;
		case 2:
			if (len + span <= cap) {
				memmove(out + at + span, out + at, len - at);
				len += span;
			}
			break;
		default:
			len = at;
			break;
		}
	}
	return len;
}

typedef struct fuzz_req {
	raw r;
	char req[512];
	size_t len;
	bool sent;
} fuzz_req;

static bool fuzz_req_tick(net *n, void *arg, gt_time_us now)
{
	fuzz_req *z = arg;
	if (!raw_connected(n, &z->r))
		return false;
	if (!z->sent) {
		if (z->len)
			raw_send(n, &z->r, z->req, z->len, now);
		gt_shutdown(n->cli, z->r.sock, GT_SHUT_WR, now);
		z->sent = true;
	}
	raw_pump(n, &z->r, now);
	return z->r.eof;
}

static void test_fuzz_requests(void **state)
{
	(void)state;
	static const char *const seeds[] = {
	    "GET /one.bin HTTP/1.1\r\nHost: t\r\n\r\n",
	    "HEAD /sub/a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	    "GET /%2e%2e/sub/%61.txt?q=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
	    "GET / HTTP/1.1\r\nHost: t\r\n\r\n",
	    "GET http://h/sub HTTP/1.1\r\nHost: t\r\nConnection: close, keep-alive\r\n\r\n",
	};
	net n;
	net_init(&n, 13);
	uint64_t rng = gt_test_seed(0xfeed) | 1;
	fuzz_req *z = calloc(1, sizeof *z);
	assert_non_null(z);
	for (int i = 0; i < 300; i++) {
		const char *seed = seeds[rng_next(&rng) % (sizeof seeds / sizeof seeds[0])];
		memset(z, 0, sizeof *z);
		z->len = mutate(z->req, sizeof z->req, seed, strlen(seed), &rng);
		raw_open(&n, &z->r, 80);
		/* the client's FIN ends every exchange: answered or not, the server
		 * closes, with FIN */
		if (!net_run(&n, fuzz_req_tick, z, gt_sim_now(n.sim) + 60 * S))
			fail_msg("request %d: the server never closed", i);
		assert_int_equal(z->r.err, 0);
		if (z->r.len && strncmp(z->r.buf, "HTTP/1.1 ", 9))
			fail_msg("request %d: the answer is not a response", i);
		raw_close(&n, &z->r);
	}
	gt_sim_run_until(n.sim, gt_sim_now(n.sim) + 100 * MS);
	gt_service_poll(n.http, gt_sim_now(n.sim));
	assert_int_equal(gt_service_active(n.http), 0);
	assert_int_equal(n.srv_rst, 0);
	free(z);
	net_free(&n);
}

static void test_fuzz_responses(void **state)
{
	(void)state;
	static const char *const seeds[] = {
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\n"
	    "T: 1\r\n\r\n",
	    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2, 2\r\n\r\nno",
	    "HTTP/1.0 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nuntil the end",
	};
	uint64_t rng = gt_test_seed(0xbeef) | 1;
	char buf[512];
	for (int i = 0; i < 200; i++) {
		const char *seed = seeds[rng_next(&rng) % (sizeof seeds / sizeof seeds[0])];
		size_t len = mutate(buf, sizeof buf, seed, strlen(seed), &rng);
		const piece p = {buf, len};
		fetch f;
		int r = raw_server_get(&p, 1, false, false, &f);
		/* every response ends: complete (0 or its status) or refused as
		 * malformed, never anything else */
		if (!(r == 0 || r == -EPROTO || (r >= 200 && r < 600)))
			fail_msg("response %d: result %d", i, r);
		assert_int_equal(f.bytes, f.len);
		free(f.body);
	}
}

static void test_client_bad_urls(void **state)
{
	(void)state;
	net n;
	net_init(&n, 12);
	static const struct {
		const char *url, *says;
	} bad[] = {
	    {"http://example.com/", "IPv4"},
	    {"https://192.0.2.2/", "https"},
	    {"ftp://192.0.2.2/", "http://"},
	    {"http:///x", "no host"},
	    {"http://192.0.2.2:0/", "port"},
	    {"http://192.0.2.2:99999/", "port"},
	    {"http://192.0.2.2:8x/", "port"},
	    {"http://user@192.0.2.2/", "user"},
	    {"http://[::1]/", "IPv6"},
	    {"http://192.0.2/", "IPv4"},
	    {"http://192.0.2.2/a b", "percent-encode"},
	    {"http://224.0.0.1/", "unicast"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[256] = "";
		gt_http_get *g = gt_http_get_new(n.cli, bad[i].url, NULL, 0, err, sizeof err);
		if (g)
			fail_msg("'%s' was accepted", bad[i].url);
		if (!strstr(err, bad[i].says))
			fail_msg("'%s': \"%s\" does not say %s", bad[i].url, err, bad[i].says);
	}
	/* a URL without a path asks for "/"; out may be NULL (body dropped) */
	char err[256];
	gt_http_get *g = gt_http_get_new(n.cli, "http://192.0.2.2", NULL, 0, err, sizeof err);
	assert_non_null(g);
	fetch f = {.g = g};
	assert_true(net_run(&n, fetch_tick, &f, 60 * S));
	int status;
	uint64_t bytes;
	assert_int_equal(gt_http_get_result(g, &status, &bytes), 0);
	assert_int_equal(bytes, 10);
	gt_http_get_free(g);
	net_free(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_files),
	    cmocka_unit_test(test_get_errors),
	    cmocka_unit_test(test_head),
	    cmocka_unit_test(test_status_table),
	    cmocka_unit_test(test_oversized),
	    cmocka_unit_test(test_pipelining),
	    cmocka_unit_test(test_keepalive_200_sequential),
	    cmocka_unit_test(test_200_connections),
	    cmocka_unit_test(test_idle_timeout),
	    cmocka_unit_test(test_client_chunked),
	    cmocka_unit_test(test_client_framings),
	    cmocka_unit_test(test_client_results),
	    cmocka_unit_test(test_client_refused_and_write_errors),
	    cmocka_unit_test(test_client_bad_urls),
	    cmocka_unit_test(test_fuzz_requests),
	    cmocka_unit_test(test_fuzz_responses),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
