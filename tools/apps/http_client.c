/* The HTTP/1.1 client of `glasstcp get` (service.h): one GET over one
 * connection, "Connection: close".
 *
 * The response is read in bounded pieces: the status line and header fields
 * must fit HDR_MAX; the body goes from the socket to `out` through one 64 KiB
 * buffer, framed as RFC 9112 §6.3 says: no body for 1xx, 204 and 304; chunked
 * when chunked is the last transfer coding (any other coding: until close);
 * else Content-Length; else until the server closes. Interim 1xx responses
 * (100, 103 ...) are skipped. The body is written whatever the status (as curl
 * does); the result tells a 2xx from the rest.
 *
 * Results: 0 for a complete 2xx body, the HTTP status for a complete other
 * one, or a negative errno: the connection's error (-ECONNREFUSED,
 * -ECONNRESET, -ETIMEDOUT), -EPROTO for a malformed or truncated response
 * (closed before the end of the body), or the errno of a failed write to
 * `out` (-EIO when fwrite gives none). */
#include "apps/service.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HDR_MAX      16384
#define IO_BUF       65536
#define PATH_MAX_LEN 8000
#define EXT_MAX      4096  /* a chunk-size line's extensions */
#define TRAILER_MAX  16384 /* the chunked trailer section */

typedef enum phase {
	PH_CONNECTING,
	PH_SENDING,
	PH_HEAD,    /* reading the status line and header fields */
	PH_LENGTH,  /* body by Content-Length */
	PH_CHUNKED, /* body in chunks */
	PH_CLOSE,   /* body until the server closes */
	PH_DONE
} phase;

typedef enum chunk_state {
	CH_SIZE,    /* hex digits of a chunk size */
	CH_EXT,     /* extensions, to the end of the line */
	CH_SIZE_LF, /* CR seen after the size line */
	CH_DATA,    /* chunk data */
	CH_DATA_CR, /* the CRLF after the data */
	CH_DATA_LF,
	CH_TRAILER,    /* at the start of a trailer line (or the final empty line) */
	CH_TRAILER_LN, /* inside a trailer line */
	CH_END_LF      /* CR of the final empty line seen */
} chunk_state;

struct gt_http_get {
	gt_stack *st;
	gt_time_us now; /* the latest time given, for gt_http_get_free */
	int sock;       /* -1 once closed */
	FILE *out;
	phase ph;
	int result;
	int status;
	uint64_t body;      /* bytes written to out */
	uint64_t remaining; /* PH_LENGTH: body bytes still to come; CH_DATA: of the chunk */
	chunk_state ch;
	unsigned ch_digits;
	uint32_t ch_bytes; /* extension or trailer bytes seen (bounded) */
	char *req;
	size_t req_len, req_off;
	size_t hdr_len;
	char hdr[HDR_MAX];
	uint8_t io[IO_BUF];
};

/* ---- the URL ---- */

static int url_error(char *err, size_t errlen, const char *fmt, const char *arg)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, arg);
	return -EINVAL;
}

/* "http://A.B.C.D[:PORT][/path]" */
static int parse_url(const char *url, uint32_t *addr, uint16_t *port, const char **path,
                     size_t *path_len, char *err, size_t errlen)
{
	if (!strncasecmp(url, "https://", 8))
		return url_error(err, errlen, "%s: https is not supported, only plain http://",
		                 url);
	if (strncasecmp(url, "http://", 7))
		return url_error(err, errlen, "%s: not an http:// URL", url);
	const char *host = url + 7;
	size_t alen = strcspn(host, "/?#");
	char auth[64];
	if (alen == 0)
		return url_error(err, errlen, "%s: no host in the URL", url);
	if (memchr(host, '@', alen))
		return url_error(err, errlen, "%s: user information in URLs is not supported", url);
	if (host[0] == '[')
		return url_error(err, errlen, "%s: IPv6 is not supported, only IPv4 literals", url);
	if (alen >= sizeof auth)
		return url_error(err, errlen, "%s: the host part is too long", url);
	memcpy(auth, host, alen);
	auth[alen] = '\0';
	*port = 80;
	char *colon = strchr(auth, ':');
	if (colon) {
		*colon = '\0';
		const char *p = colon + 1;
		if (*p) {
			unsigned v = 0;
			size_t n = 0;
			for (; p[n]; n++) {
				if (p[n] < '0' || p[n] > '9' || n >= 5)
					return url_error(err, errlen, "%s: bad port", url);
				v = v * 10 + (unsigned)(p[n] - '0');
			}
			if (v == 0 || v > 65535)
				return url_error(err, errlen, "%s: bad port (1 to 65535)", url);
			*port = (uint16_t)v;
		}
	}
	if (gt_ipv4_parse(auth, addr) < 0) {
		bool name = false;
		for (const char *q = auth; *q; q++)
			name = name || (*q | 0x20) >= 'a';
		if (name)
			return url_error(err, errlen,
			                 "'%s' is a host name: only IPv4 literals (A.B.C.D) are "
			                 "supported, there is no name resolution",
			                 auth);
		return url_error(err, errlen, "'%s' is not an IPv4 address (A.B.C.D)", auth);
	}
	if (*addr == 0 || *addr == 0xFFFFFFFFu || (*addr >> 28) == 0xE)
		return url_error(err, errlen, "'%s' is not a unicast address", auth);
	const char *p = host + alen;
	size_t plen = strcspn(p, "#"); /* the fragment stays with the client */
	for (size_t i = 0; i < plen; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch <= 0x20 || ch >= 0x7f)
			return url_error(err, errlen,
			                 "%s: the path has a space, a control or a non-ASCII "
			                 "character (percent-encode it)",
			                 url);
	}
	if (plen > PATH_MAX_LEN)
		return url_error(err, errlen, "%s: the path is too long", url);
	*path = p;
	*path_len = plen;
	return 0;
}

gt_http_get *gt_http_get_new(gt_stack *st, const char *url, FILE *out, gt_time_us now, char *err,
                             size_t errlen)
{
	uint32_t addr;
	uint16_t port;
	const char *path;
	size_t plen;
	if (!st || !url) {
		if (err && errlen)
			snprintf(err, errlen, "no URL");
		return NULL;
	}
	if (parse_url(url, &addr, &port, &path, &plen, err, errlen) < 0)
		return NULL;
	gt_http_get *g = malloc(sizeof *g);
	if (!g) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memset(g, 0, offsetof(gt_http_get, hdr));
	g->st = st;
	g->now = now;
	g->out = out;
	g->sock = -1;
	char host[24], ip[16];
	gt_ipv4_str(addr, ip);
	if (port == 80)
		snprintf(host, sizeof host, "%s", ip);
	else
		snprintf(host, sizeof host, "%s:%u", ip, (unsigned)port);
	size_t cap = plen + 256;
	g->req = malloc(cap);
	if (!g->req) {
		free(g);
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* origin-form: a path that starts with '?' (or is empty) gets its '/' */
	int n = snprintf(g->req, cap,
	                 "GET %s%.*s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
	                 "User-Agent: glasstcp\r\nAccept: */*\r\n\r\n",
	                 plen == 0 || path[0] != '/' ? "/" : "", (int)plen, path, host);
	g->req_len = (size_t)n;
	int s = gt_socket(st);
	int r = s < 0 ? s : gt_connect(st, s, addr, port, now);
	if (r != -EINPROGRESS) {
		if (err && errlen)
			snprintf(err, errlen, "cannot connect to %s: %s", host, strerror(-r));
		if (s >= 0)
			gt_close(st, s, now);
		free(g->req);
		free(g);
		return NULL;
	}
	g->sock = s;
	g->ph = PH_CONNECTING;
	return g;
}

/* ---- ending ---- */

/* Ends the transfer with result r and lets the connection go: what is unread
 * is read and dropped first, so the close is a FIN (or a quiet release when the
 * connection already failed) rather than an RST for data left unread. (Data
 * still arriving after that is answered with RST by the engine, as for any
 * closed socket: after a complete response there is none.) */
static void finish(gt_http_get *g, int r, gt_time_us now)
{
	g->result = r;
	g->ph = PH_DONE;
	if (g->sock < 0)
		return;
	uint8_t buf[4096];
	while (gt_recv(g->st, g->sock, buf, sizeof buf, now) > 0)
		;
	gt_close(g->st, g->sock, now);
	g->sock = -1;
}

static int complete_result(const gt_http_get *g)
{
	return g->status >= 200 && g->status < 300 ? 0 : g->status;
}

static int write_body(gt_http_get *g, const uint8_t *p, size_t n)
{
	if (!g->out) {
		g->body += n;
		return 0;
	}
	int interrupted = 0;
	while (n > 0) {
		errno = 0;
		size_t w = fwrite(p, 1, n, g->out);
		if (w == 0) {
			if (errno == EINTR && ++interrupted < 100) {
				clearerr(g->out);
				continue;
			}
			return errno ? -errno : -EIO;
		}
		g->body += w;
		p += w;
		n -= w;
	}
	return 0;
}

/* ---- the body ---- */

static bool is_hex(uint8_t ch, unsigned *v)
{
	if (ch >= '0' && ch <= '9')
		*v = ch - '0';
	else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
		*v = (unsigned)((ch | 0x20) - 'a' + 10);
	else
		return false;
	return true;
}

/* Takes body bytes; returns 1 when the body is complete, 0 for more, or a
 * negative errno. */
static int body_input(gt_http_get *g, const uint8_t *p, size_t n)
{
	if (g->ph == PH_CLOSE)
		return write_body(g, p, n);
	if (g->ph == PH_LENGTH) {
		size_t k = n < g->remaining ? n : (size_t)g->remaining;
		int r = write_body(g, p, k);
		if (r < 0)
			return r;
		g->remaining -= k;
		return g->remaining == 0;
	}
	/* chunked: RFC 9112 §7.1 */
	size_t i = 0;
	while (i < n) {
		uint8_t ch = p[i];
		unsigned v;
		switch (g->ch) {
		case CH_SIZE:
			if (is_hex(ch, &v)) {
				if (++g->ch_digits > 15)
					return -EPROTO; /* no chunk is that large */
				g->remaining = g->remaining * 16 + v;
				i++;
				break;
			}
			if (g->ch_digits == 0)
				return -EPROTO;
			if (ch == ';' || ch == ' ' || ch == '\t') {
				g->ch = CH_EXT;
				g->ch_bytes = 0;
			} else if (ch == '\r') {
				g->ch = CH_SIZE_LF;
			} else if (ch == '\n') {
				g->ch = g->remaining ? CH_DATA : CH_TRAILER;
			} else {
				return -EPROTO;
			}
			i++;
			break;
		case CH_EXT:
			if (ch == '\n')
				g->ch = g->remaining ? CH_DATA : CH_TRAILER;
			else if (++g->ch_bytes > EXT_MAX)
				return -EPROTO;
			i++;
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				return -EPROTO;
			g->ch = g->remaining ? CH_DATA : CH_TRAILER;
			g->ch_bytes = 0;
			i++;
			break;
		case CH_DATA: {
			size_t k = n - i < g->remaining ? n - i : (size_t)g->remaining;
			int r = write_body(g, p + i, k);
			if (r < 0)
				return r;
			g->remaining -= k;
			i += k;
			if (g->remaining == 0)
				g->ch = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			if (ch == '\r')
				g->ch = CH_DATA_LF;
			else if (ch == '\n')
				g->ch = CH_SIZE; /* a bare LF: tolerated */
			else
				return -EPROTO;
			g->ch_digits = 0;
			i++;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				return -EPROTO;
			g->ch = CH_SIZE;
			g->ch_digits = 0;
			i++;
			break;
		case CH_TRAILER:
			if (ch == '\r') {
				g->ch = CH_END_LF;
			} else if (ch == '\n') {
				return 1;
			} else {
				g->ch = CH_TRAILER_LN; /* trailer fields are not used */
				if (++g->ch_bytes > TRAILER_MAX)
					return -EPROTO;
			}
			i++;
			break;
		case CH_TRAILER_LN:
			if (ch == '\n')
				g->ch = CH_TRAILER;
			if (++g->ch_bytes > TRAILER_MAX)
				return -EPROTO;
			i++;
			break;
		case CH_END_LF:
			if (ch != '\n')
				return -EPROTO;
			return 1;
		}
	}
	return 0;
}

/* ---- the head ---- */

static bool token_list_last_is(const char *v, size_t len, const char *tok)
{
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	size_t start = len;
	while (start && v[start - 1] != ',')
		start--;
	while (start < len && (v[start] == ' ' || v[start] == '\t'))
		start++;
	size_t tl = strlen(tok);
	return len - start == tl && !strncasecmp(v + start, tok, tl);
}

/* Parses the header block hdr[0, end) (which ends in an empty line). Returns
 * 0, 1 for an interim (1xx) response to skip, or -EPROTO. */
static int parse_head(gt_http_get *g, size_t end)
{
	const char *s = g->hdr, *e = g->hdr + end;
	const char *lf = memchr(s, '\n', end);
	size_t llen = (size_t)(lf - s);
	if (llen && s[llen - 1] == '\r')
		llen--;
	/* status-line = HTTP-version SP status-code SP [reason-phrase] */
	if (llen < 12 || strncmp(s, "HTTP/1.", 7) || s[7] < '0' || s[7] > '9' || s[8] != ' ')
		return -EPROTO;
	int status = 0;
	for (int i = 9; i < 12; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EPROTO;
		status = status * 10 + (s[i] - '0');
	}
	if (status < 100 || (llen > 12 && s[12] != ' '))
		return -EPROTO;
	if (status < 200) {
		if (status == 101)
			return -EPROTO; /* no upgrade was asked for */
		return 1;
	}
	g->status = status;

	bool chunked = false, has_te = false, has_cl = false;
	uint64_t cl = 0;
	for (const char *line = lf + 1; line < e;) {
		const char *nl = memchr(line, '\n', (size_t)(e - line));
		size_t len = (size_t)(nl - line);
		if (len && line[len - 1] == '\r')
			len--;
		const char *colon = len ? memchr(line, ':', len) : NULL;
		if (colon && line[0] != ' ' && line[0] != '\t') {
			size_t nlen = (size_t)(colon - line);
			while (nlen && (line[nlen - 1] == ' ' || line[nlen - 1] == '\t'))
				nlen--;
			const char *v = colon + 1, *ve = line + len;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			size_t vl = (size_t)(ve - v);
			if (nlen == 17 && !strncasecmp(line, "transfer-encoding", 17)) {
				has_te = true;
				chunked = token_list_last_is(v, vl, "chunked");
			} else if (nlen == 14 && !strncasecmp(line, "content-length", 14)) {
				/* RFC 9112 §6.3 item 5: a list of one value repeated is
				 * that value; anything else is an error */
				for (size_t i = 0; i < vl;) {
					uint64_t val = 0;
					size_t digits = 0;
					while (i < vl && v[i] >= '0' && v[i] <= '9') {
						if (++digits > 18)
							return -EPROTO;
						val = val * 10 + (uint64_t)(v[i++] - '0');
					}
					if (digits == 0 || (has_cl && val != cl))
						return -EPROTO;
					has_cl = true;
					cl = val;
					while (i < vl && (v[i] == ' ' || v[i] == '\t'))
						i++;
					if (i < vl && v[i++] != ',')
						return -EPROTO;
					while (i < vl && (v[i] == ' ' || v[i] == '\t'))
						i++;
				}
				if (!has_cl)
					return -EPROTO;
			}
		}
		/* lines without a colon and obs-folds are ignored: nothing we use */
		line = nl + 1;
	}
	if (status == 204 || status == 304) {
		g->ph = PH_DONE;
	} else if (has_te) {
		/* RFC 9112 §6.3 items 3-4: Transfer-Encoding overrides Content-Length */
		g->ph = chunked ? PH_CHUNKED : PH_CLOSE;
		g->ch = CH_SIZE;
		g->ch_digits = 0;
		g->remaining = 0;
	} else if (has_cl) {
		g->ph = cl ? PH_LENGTH : PH_DONE;
		g->remaining = cl;
	} else {
		g->ph = PH_CLOSE;
	}
	return 0;
}

/* The end of the header block in hdr[0, hdr_len) (after its empty line), or 0. */
static size_t head_end(const gt_http_get *g)
{
	const char *s = g->hdr, *e = g->hdr + g->hdr_len;
	for (const char *q = s; q < e; q++) {
		q = memchr(q, '\n', (size_t)(e - q));
		if (!q)
			return 0;
		if (q + 1 < e && q[1] == '\n')
			return (size_t)(q + 2 - s);
		if (q + 2 < e && q[1] == '\r' && q[2] == '\n')
			return (size_t)(q + 3 - s);
	}
	return 0;
}

/* Parses what is in hdr; moves on to the body (feeding it what followed the
 * head). Returns 1 when the response is complete, 0 for more, or an errno. */
static int head_input(gt_http_get *g)
{
	for (;;) {
		size_t end = head_end(g);
		if (end == 0)
			return g->hdr_len == sizeof g->hdr ? -EPROTO : 0;
		int r = parse_head(g, end);
		if (r < 0)
			return r;
		size_t rest = g->hdr_len - end;
		memmove(g->hdr, g->hdr + end, rest);
		g->hdr_len = rest;
		if (r == 1)
			continue; /* an interim response: the real one follows */
		if (g->ph == PH_DONE)
			return 1;
		g->hdr_len = 0;
		return rest ? body_input(g, (const uint8_t *)g->hdr, rest) : 0;
	}
}

/* ---- the poll ---- */

void gt_http_get_poll(gt_http_get *g, gt_time_us now)
{
	if (!g || g->ph == PH_DONE)
		return;
	if (now > g->now)
		g->now = now;
	gt_stack *st = g->st;
	if (g->ph == PH_CONNECTING) {
		int mask = gt_poll(st, g->sock);
		int state = gt_sock_state(st, g->sock);
		if (mask < 0) {
			finish(g, mask, now);
			return;
		}
		if (mask & (GT_POLLERR | GT_POLLHUP)) {
			int e = gt_sock_error(st, g->sock);
			finish(g, e ? e : -ECONNABORTED, now);
			return;
		}
		if (state < GT_TCP_ESTABLISHED)
			return;
		g->ph = PH_SENDING;
	}
	if (g->ph == PH_SENDING) {
		/* the request (at most ~8 KiB) fits a fresh send buffer; the loop
		 * is for small buffers */
		while (g->req_off < g->req_len) {
			ssize_t n =
			    gt_send(st, g->sock, g->req + g->req_off, g->req_len - g->req_off, now);
			if (n == -EAGAIN)
				return;
			if (n < 0) {
				finish(g, (int)n, now);
				return;
			}
			g->req_off += (size_t)n;
		}
		g->ph = PH_HEAD;
	}
	for (;;) {
		uint8_t *dst;
		size_t cap;
		bool head = g->ph == PH_HEAD;
		if (head) {
			dst = (uint8_t *)g->hdr + g->hdr_len;
			cap = sizeof g->hdr - g->hdr_len;
		} else {
			dst = g->io;
			cap = sizeof g->io;
		}
		ssize_t n = gt_recv(st, g->sock, dst, cap, now);
		if (n == -EAGAIN)
			return;
		if (n < 0) {
			finish(g, (int)n, now);
			return;
		}
		if (n == 0) {
			/* the server closed: the end of a body read until close,
			 * else a truncated response */
			finish(g, g->ph == PH_CLOSE ? complete_result(g) : -EPROTO, now);
			return;
		}
		int r;
		if (head) {
			g->hdr_len += (size_t)n;
			r = head_input(g);
		} else {
			r = body_input(g, dst, (size_t)n);
		}
		if (r < 0) {
			finish(g, r, now);
			return;
		}
		if (r == 1) {
			finish(g, complete_result(g), now);
			return;
		}
	}
}

bool gt_http_get_done(const gt_http_get *g)
{
	return !g || g->ph == PH_DONE;
}

int gt_http_get_result(const gt_http_get *g, int *http_status, uint64_t *body_bytes)
{
	if (http_status)
		*http_status = g ? g->status : 0;
	if (body_bytes)
		*body_bytes = g ? g->body : 0;
	if (!g)
		return -EINVAL;
	return g->ph == PH_DONE ? g->result : -EINPROGRESS;
}

void gt_http_get_free(gt_http_get *g)
{
	if (!g)
		return;
	if (g->sock >= 0)
		finish(g, -ECANCELED, g->now); /* freed before done: let the connection go */
	free(g->req);
	free(g);
}
