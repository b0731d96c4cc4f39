/* The services of service.h: the spec parser, the listener, the connection
 * table, echo (RFC 862), discard (RFC 863), and how every connection ends.
 *
 * Polling model. The shell calls gt_service_poll after every batch of stack
 * activity; the service cannot see the stack's GT_EV_SOCKET events (the
 * shell's event callback owns them), so each poll visits every connection.
 * A visit costs one gt_poll() (a few loads) and returns at once unless the
 * readiness the connection waits for is there or its deadline has come, so a
 * poll over a few hundred connections stays cheap: O(n) with a small constant.
 *
 * How a connection ends. gt_close() with unread data sends RST (RFC 9293
 * §3.10.4, RFC 1122 §4.2.2.13), and so does the engine when data arrives after
 * close(); an RST can destroy a response the peer has not read yet. So a
 * service ends a connection the way careful servers do ("lingering close"):
 * shutdown(SHUT_WR) (our FIN follows whatever is queued), then keep the handle
 * and read and discard until the peer's FIN, an error, or GT_SVC_LINGER_US
 * without progress; then gt_close() with nothing unread, which sends no RST.
 * Only a peer that keeps sending after that gets one, from the engine. Aborts
 * (RST) are kept for responses that can no longer be delivered as promised.
 *
 * Graceful shutdown. The connections in the accept queue are accepted first
 * (closing a listener resets the ones never accepted; half-open ones in
 * SYN_RECEIVED are dropped without RST), then the listener is closed. Every
 * connection finishes what it has in flight — echo its pending bytes, http the
 * response being sent — and then ends by lingering close: FIN, never RST. */
#include "apps/http.h"
#include "apps/service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECHO_BUF 8192

typedef enum svc_kind { SVC_ECHO, SVC_DISCARD, SVC_HTTP } svc_kind;

typedef struct svc_conn {
	int sock;
	bool lingering; /* our FIN is queued: reading and discarding until the peer's */
	bool eof;       /* echo: the peer's FIN was read */
	gt_time_us deadline;
	size_t last_unacked; /* lingering: progress of our queued data */
	/* echo: bytes read and not yet sent back */
	uint8_t *buf;
	uint32_t off, len;
	gt_http_conn *http;
} svc_conn;

struct gt_service {
	gt_stack *st;
	svc_kind kind;
	int lsock; /* -1 once closed */
	bool stopping;
	char name[32];
	svc_conn **conns;
	size_t n, cap;
	gt_http_server *http;
	gt_service_stats stats;
	gt_time_us now; /* the latest time given to any call, for gt_service_free */
};

/* ---- the spec ---- */

static int parse_port(const char *s, size_t len, uint16_t *port)
{
	if (len == 0 || len > 5)
		return -EINVAL;
	unsigned v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, a, b);
}

gt_service *gt_service_new(gt_stack *st, const char *spec, gt_time_us now, char *err, size_t errlen)
{
	static const char usage[] = "echo:PORT, discard:PORT or http:PORT:DIR";
	if (!st || !spec) {
		set_err(err, errlen, "no service spec (%s)%s", usage, "");
		return NULL;
	}
	const char *c1 = strchr(spec, ':');
	svc_kind kind;
	size_t klen = c1 ? (size_t)(c1 - spec) : strlen(spec);
	if (klen == 4 && !strncmp(spec, "echo", 4))
		kind = SVC_ECHO;
	else if (klen == 7 && !strncmp(spec, "discard", 7))
		kind = SVC_DISCARD;
	else if (klen == 4 && !strncmp(spec, "http", 4))
		kind = SVC_HTTP;
	else {
		set_err(err, errlen, "unknown service '%s' (expected %s)", spec, usage);
		return NULL;
	}
	if (!c1) {
		set_err(err, errlen, "'%s' has no port (expected %s)", spec, usage);
		return NULL;
	}
	const char *port_s = c1 + 1;
	const char *c2 = strchr(port_s, ':');
	size_t plen = c2 ? (size_t)(c2 - port_s) : strlen(port_s);
	uint16_t port;
	if (parse_port(port_s, plen, &port) < 0) {
		set_err(err, errlen, "'%s': the port must be a number from 1 to 65535 (%s)", spec,
		        usage);
		return NULL;
	}
	if (kind != SVC_HTTP && c2) {
		set_err(err, errlen, "'%s': unexpected text after the port (%s)", spec, usage);
		return NULL;
	}
	if (kind == SVC_HTTP && (!c2 || !c2[1])) {
		set_err(err, errlen, "'%s': http needs a directory: http:PORT:DIR%s", spec, "");
		return NULL;
	}

	gt_service *svc = calloc(1, sizeof *svc);
	if (!svc) {
		set_err(err, errlen, "out of memory%s%s", "", "");
		return NULL;
	}
	svc->st = st;
	svc->kind = kind;
	svc->lsock = -1;
	snprintf(svc->name, sizeof svc->name, "%.*s:%u", (int)klen, spec, (unsigned)port);
	if (kind == SVC_HTTP) {
		svc->http = gt_http_server_new(c2 + 1, err, errlen);
		if (!svc->http) {
			free(svc);
			return NULL;
		}
	}
	int s = gt_socket(st);
	int r = s;
	if (s >= 0)
		r = gt_bind(st, s, 0, port);
	if (r >= 0)
		r = gt_listen(st, s, GT_SVC_BACKLOG, now);
	if (r < 0) {
		char port_str[8];
		snprintf(port_str, sizeof port_str, "%u", (unsigned)port);
		if (r == -EADDRINUSE)
			set_err(err, errlen, "port %s is already in use%s", port_str, "");
		else
			set_err(err, errlen, "cannot listen on port %s: %s", port_str,
			        strerror(-r));
		if (s >= 0)
			gt_close(st, s, now);
		gt_http_server_free(svc->http);
		free(svc);
		return NULL;
	}
	svc->lsock = s;
	svc->now = now;
	return svc;
}

const char *gt_service_name(const gt_service *svc)
{
	return svc ? svc->name : "";
}

const gt_service_stats *gt_service_get_stats(const gt_service *svc)
{
	return &svc->stats;
}

size_t gt_service_active(const gt_service *svc)
{
	return svc ? svc->n : 0;
}

/* ---- the connection table ---- */

static void conn_free(svc_conn *c)
{
	gt_http_conn_free(c->http);
	free(c->buf);
	free(c);
}

static int conn_add(gt_service *svc, int sock, gt_time_us now)
{
	if (svc->n == svc->cap) {
		size_t cap = svc->cap ? svc->cap * 2 : 16;
		svc_conn **p = realloc(svc->conns, cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		svc->conns = p;
		svc->cap = cap;
	}
	svc_conn *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->sock = sock;
	c->deadline = now + GT_SVC_IDLE_US;
	if (svc->kind == SVC_ECHO) {
		c->buf = malloc(ECHO_BUF);
		if (!c->buf) {
			free(c);
			return -ENOMEM;
		}
	} else if (svc->kind == SVC_HTTP) {
		c->http = gt_http_conn_new(now);
		if (!c->http) {
			free(c);
			return -ENOMEM;
		}
	}
	svc->conns[svc->n++] = c;
	svc->stats.accepted++;
	return 0;
}

static void accept_all(gt_service *svc, gt_time_us now)
{
	if (svc->lsock < 0)
		return;
	for (;;) {
		int s = gt_accept(svc->st, svc->lsock, NULL, NULL);
		if (s < 0)
			return;
		if (conn_add(svc, s, now) < 0) {
			/* no memory for it: nothing was read, so this is a FIN */
			gt_close(svc->st, s, now);
		}
	}
}

/* Reads and drops what is readable; 0 at the peer's FIN, -EAGAIN when more may
 * come, or the connection's error. */
static int discard_input(gt_service *svc, int sock, gt_time_us now, uint64_t *count)
{
	uint8_t buf[4096];
	for (;;) {
		ssize_t n = gt_recv(svc->st, sock, buf, sizeof buf, now);
		if (n > 0) {
			if (count)
				*count += (uint64_t)n;
			continue;
		}
		return (int)n;
	}
}

/* Our side is done: FIN after what is queued, then linger. */
static void start_linger(gt_service *svc, svc_conn *c, gt_time_us now)
{
	gt_shutdown(svc->st, c->sock, GT_SHUT_WR, now);
	c->lingering = true;
	c->last_unacked = gt_sock_unacked(svc->st, c->sock);
	c->deadline = now + GT_SVC_LINGER_US;
}

/* Returns true when the connection is finished (the handle released). */
static bool linger_poll(gt_service *svc, svc_conn *c, gt_time_us now)
{
	int r = discard_input(svc, c->sock, now, NULL);
	if (r == -EAGAIN) {
		size_t unacked = gt_sock_unacked(svc->st, c->sock);
		if (unacked < c->last_unacked) {
			c->last_unacked = unacked;
			c->deadline = now + GT_SVC_LINGER_US;
		}
		if (now < c->deadline)
			return false;
	}
	/* the peer's FIN (r == 0), an error, or enough waiting: nothing is
	 * unread now, so close() sends no RST */
	gt_close(svc->st, c->sock, now);
	if (r < 0 && r != -EAGAIN)
		svc->stats.failed++;
	else
		svc->stats.closed++;
	return true;
}

/* ---- echo (RFC 862) and discard (RFC 863) ---- */

static gt_svc_verdict echo_poll(gt_service *svc, svc_conn *c, gt_time_us now)
{
	gt_stack *st = svc->st;
	for (;;) {
		if (c->len > 0) {
			ssize_t n = gt_send(st, c->sock, c->buf + c->off, c->len, now);
			if (n == -EAGAIN)
				break;
			if (n < 0)
				return GT_SVC_GONE;
			c->off += (uint32_t)n;
			c->len -= (uint32_t)n;
			svc->stats.bytes_out += (uint64_t)n;
			c->deadline = now + GT_SVC_IDLE_US;
			if (c->len > 0)
				break; /* the send buffer is full: read no more until it drains */
		}
		if (c->eof || svc->stopping)
			return GT_SVC_CLOSE; /* everything read has been queued back */
		ssize_t n = gt_recv(st, c->sock, c->buf, ECHO_BUF, now);
		if (n == -EAGAIN)
			break;
		if (n == 0) {
			c->eof = true; /* half-close: echo what is pending, then close */
			continue;
		}
		if (n < 0)
			return GT_SVC_GONE;
		c->off = 0;
		c->len = (uint32_t)n;
		svc->stats.bytes_in += (uint64_t)n;
		c->deadline = now + GT_SVC_IDLE_US;
	}
	if (now >= c->deadline)
		return c->len ? GT_SVC_ABORT : GT_SVC_CLOSE;
	return GT_SVC_WAIT;
}

static gt_svc_verdict discard_poll(gt_service *svc, svc_conn *c, gt_time_us now)
{
	uint64_t before = svc->stats.bytes_in;
	int r = discard_input(svc, c->sock, now, &svc->stats.bytes_in);
	if (svc->stats.bytes_in != before)
		c->deadline = now + GT_SVC_IDLE_US;
	if (r == 0 || svc->stopping)
		return GT_SVC_CLOSE;
	if (r != -EAGAIN)
		return GT_SVC_GONE;
	return now >= c->deadline ? GT_SVC_CLOSE : GT_SVC_WAIT;
}

/* Returns true when the connection is finished. */
static bool conn_poll(gt_service *svc, svc_conn *c, gt_time_us now)
{
	if (c->lingering)
		return linger_poll(svc, c, now);
	int mask = gt_poll(svc->st, c->sock);
	if (mask < 0)
		return true; /* cannot happen: the handle is ours */
	gt_svc_verdict v;
	if (svc->kind == SVC_HTTP) {
		v = gt_http_conn_poll(svc->http, c->http, svc->st, c->sock, svc->stopping,
		                      &svc->stats, now);
	} else if (!(mask & (GT_POLLIN | GT_POLLOUT | GT_POLLERR | GT_POLLHUP)) &&
	           now < c->deadline && !svc->stopping) {
		v = GT_SVC_WAIT; /* nothing to read or write: skip the visit */
	} else if (svc->kind == SVC_ECHO) {
		v = echo_poll(svc, c, now);
	} else {
		v = discard_poll(svc, c, now);
	}
	switch (v) {
	case GT_SVC_WAIT:
		return false;
	case GT_SVC_CLOSE:
		if (now >= (c->http ? gt_http_conn_deadline(c->http) : c->deadline) &&
		    !svc->stopping)
			svc->stats.timeouts++;
		start_linger(svc, c, now);
		return linger_poll(svc, c, now);
	case GT_SVC_ABORT:
		gt_abort(svc->st, c->sock, now);
		svc->stats.aborted++;
		return true;
	case GT_SVC_GONE:
		gt_close(svc->st, c->sock, now);
		svc->stats.failed++;
		return true;
	}
	return true;
}

void gt_service_poll(gt_service *svc, gt_time_us now)
{
	if (!svc)
		return;
	if (now > svc->now)
		svc->now = now;
	if (!svc->stopping)
		accept_all(svc, now);
	for (size_t i = 0; i < svc->n;) {
		if (conn_poll(svc, svc->conns[i], now)) {
			conn_free(svc->conns[i]);
			svc->conns[i] = svc->conns[--svc->n];
		} else {
			i++;
		}
	}
}

gt_time_us gt_service_deadline(const gt_service *svc)
{
	gt_time_us d = GT_TIME_NEVER;
	for (size_t i = 0; svc && i < svc->n; i++) {
		const svc_conn *c = svc->conns[i];
		gt_time_us t = c->deadline;
		if (svc->kind == SVC_HTTP && !c->lingering)
			t = gt_http_conn_deadline(c->http);
		if (t < d)
			d = t;
	}
	return d;
}

void gt_service_shutdown(gt_service *svc, gt_time_us now)
{
	if (!svc || svc->stopping)
		return;
	if (now > svc->now)
		svc->now = now;
	accept_all(svc, now); /* closing the listener would reset them */
	svc->stopping = true;
	if (svc->lsock >= 0) {
		gt_close(svc->st, svc->lsock, now);
		svc->lsock = -1;
	}
	gt_service_poll(svc, now);
}

void gt_service_free(gt_service *svc)
{
	if (!svc)
		return;
	/* Freed while connections remain (no shutdown, or not waited for):
	 * they are closed now, with FIN where nothing is left unread. */
	gt_time_us now = svc->now;
	for (size_t i = 0; i < svc->n; i++) {
		svc_conn *c = svc->conns[i];
		discard_input(svc, c->sock, now, NULL);
		gt_close(svc->st, c->sock, now);
		conn_free(c);
	}
	if (svc->lsock >= 0)
		gt_close(svc->st, svc->lsock, now);
	free(svc->conns);
	gt_http_server_free(svc->http);
	free(svc);
}
