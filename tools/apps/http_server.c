/* The "http" service: a small HTTP/1.1 static-file server (RFC 9110, RFC 9112).
 *
 * GET and HEAD of regular files under one directory, with Content-Length and
 * Content-Type (by extension); a directory serves its index.html. Persistent
 * connections: HTTP/1.1 keeps the connection unless "Connection: close",
 * HTTP/1.0 closes it unless "Connection: keep-alive". Pipelined requests are
 * answered in order: a request is parsed only once the response before it is
 * queued, and the ones behind it wait in the buffer (or in TCP's receive
 * buffer, whose window then closes: bounded memory either way).
 *
 * Answers: 400 for a malformed request line or header field (then close),
 * 403 for a path outside the directory (".." segments, symlinks leading out,
 * checked on the realpath), 404, 405 for other known methods and 501 for
 * unknown ones or a request with Transfer-Encoding (then close), 414 when the
 * request line does not fit GT_HTTP_HDR_MAX, 431 when the header section does
 * not (then close), 505 for HTTP versions other than 1.x.
 *
 * Per connection: the request buffer (GT_HTTP_HDR_MAX), the response header
 * and the open file. The body goes from the file to the socket through the
 * server's one GT_HTTP_IOBUF buffer: pread at the file offset, gt_send what
 * fits, advance by what was taken; the rest is read again on the next poll.
 * To keep that rereading small, each connection learns its send buffer's size
 * (the bytes queued when a send came up short) and reads no more than the
 * free space. A 100 MB file is never in memory.
 *
 * No Date header: the service reads no clock, and "an origin server without a
 * clock MUST NOT generate a Date header field" (RFC 9110 §6.6.1). */
#include "apps/http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEAD_MAX 1024 /* one response header (and an error response's body) */

struct gt_http_server {
	char *root; /* realpath of the directory */
	size_t root_len;
	uint8_t iobuf[GT_HTTP_IOBUF];
	char path[PATH_MAX];           /* scratch: root + decoded target */
	char decoded[GT_HTTP_HDR_MAX]; /* scratch: the decoded target path */
};

struct gt_http_conn {
	gt_time_us deadline; /* idle (waiting for a request) or stall (sending) */
	uint32_t req_len;    /* bytes in req */
	uint64_t skip;       /* request body bytes still to discard */
	bool eof;            /* the peer's FIN was read */
	/* the response in flight */
	bool sending;
	bool close_after; /* end the connection once it is queued */
	uint16_t head_len, head_off;
	int fd; /* the file, or -1 */
	uint64_t body_off, body_end;
	uint32_t sndbuf_cap; /* learned; 0 until a send came up short */
	char head[HEAD_MAX];
	char req[GT_HTTP_HDR_MAX];
};

gt_http_server *gt_http_server_new(const char *dir, char *err, size_t errlen)
{
	char *root = realpath(dir, NULL);
	struct stat sb;
	if (!root || stat(root, &sb) < 0) {
		if (err && errlen)
			snprintf(err, errlen, "http: %s: %s", dir, strerror(errno));
		free(root);
		return NULL;
	}
	if (!S_ISDIR(sb.st_mode)) {
		if (err && errlen)
			snprintf(err, errlen, "http: %s is not a directory", dir);
		free(root);
		return NULL;
	}
	gt_http_server *srv = calloc(1, sizeof *srv);
	if (!srv) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		free(root);
		return NULL;
	}
	srv->root = root;
	srv->root_len = strlen(root);
	if (srv->root_len == 1)
		srv->root_len = 0; /* "/": every path is under it */
	return srv;
}

void gt_http_server_free(gt_http_server *srv)
{
	if (!srv)
		return;
	free(srv->root);
	free(srv);
}

gt_http_conn *gt_http_conn_new(gt_time_us now)
{
	gt_http_conn *c = malloc(sizeof *c);
	if (!c)
		return NULL;
	c->deadline = now + GT_HTTP_IDLE_US;
	c->req_len = 0;
	c->skip = 0;
	c->eof = false;
	c->sending = false;
	c->close_after = false;
	c->head_len = c->head_off = 0;
	c->fd = -1;
	c->body_off = c->body_end = 0;
	c->sndbuf_cap = 0;
	return c;
}

void gt_http_conn_free(gt_http_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

gt_time_us gt_http_conn_deadline(const gt_http_conn *c)
{
	return c->deadline;
}

/* ---- responses ---- */

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 301:
		return "Moved Permanently";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

static const char *content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {"html", "text/html; charset=utf-8"},
	    {"htm", "text/html; charset=utf-8"},
	    {"txt", "text/plain; charset=utf-8"},
	    {"css", "text/css"},
	    {"js", "text/javascript"},
	    {"json", "application/json"},
	    {"png", "image/png"},
	    {"jpg", "image/jpeg"},
	    {"jpeg", "image/jpeg"},
	    {"gif", "image/gif"},
	    {"svg", "image/svg+xml"},
	    {"pdf", "application/pdf"},
	};
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');
	if (dot) {
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
			if (!strcasecmp(dot + 1, types[i].ext))
				return types[i].type;
		}
	}
	return "application/octet-stream";
}

typedef struct request {
	bool head;       /* HEAD: no body */
	bool keep_alive; /* the client wants the connection kept */
	bool http10;
} request;

static void count_status(gt_service_stats *stats, int status)
{
	stats->requests++;
	if (status >= 100 && status < 600)
		stats->status[status / 100]++;
}

/* Starts a response whose header (and small body) is in c->head. */
static void start_head(gt_http_conn *c, gt_service_stats *stats, int status, const request *rq,
                       const char *type, uint64_t length, const char *extra, const char *body,
                       bool close_after)
{
	if (!rq->keep_alive)
		close_after = true;
	const char *conn = close_after  ? "Connection: close\r\n"
	                   : rq->http10 ? "Connection: keep-alive\r\n"
	                                : "";
	int n = snprintf(c->head, sizeof c->head,
	                 "HTTP/1.1 %d %s\r\nServer: glasstcp\r\nContent-Type: %s\r\n"
	                 "Content-Length: %llu\r\n%s%s\r\n%s",
	                 status, reason(status), type, (unsigned long long)length,
	                 extra ? extra : "", conn, body && !rq->head ? body : "");
	if (n < 0 || (size_t)n >= sizeof c->head)
		n = 0; /* cannot happen: callers bound what they put in */
	c->head_len = (uint16_t)n;
	c->head_off = 0;
	c->sending = true;
	c->close_after = close_after;
	count_status(stats, status);
}

static void start_error(gt_http_conn *c, gt_service_stats *stats, int status, const request *rq,
                        const char *extra, bool close_after)
{
	char body[64];
	int n = snprintf(body, sizeof body, "%d %s\n", status, reason(status));
	start_head(c, stats, status, rq, "text/plain; charset=utf-8", (uint64_t)n, extra, body,
	           close_after);
}

/* ---- resolving the target ---- */

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decodes the path of target (up to '?' or '#') into out. Returns the
 * length, or -400 (bad escape, NUL) / -403 (a ".." segment). */
static int decode_path(const char *p, size_t len, char *out, size_t outcap)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = p[i];
		if (ch == '%') {
			if (len - i < 3)
				return -400;
			int h = hexval(p[i + 1]), l = hexval(p[i + 2]);
			if (h < 0 || l < 0)
				return -400;
			ch = (char)(h * 16 + l);
			if (ch == '\0')
				return -400;
			i += 2;
		}
		if (o + 1 >= outcap)
			return -414;
		out[o++] = ch;
	}
	out[o] = '\0';
	/* no segment may climb out: "..", whatever the encoding it came in */
	for (size_t i = 0; i < o;) {
		size_t j = i;
		while (j < o && out[j] != '/')
			j++;
		if (j - i == 2 && out[i] == '.' && out[i + 1] == '.')
			return -403;
		i = j + 1;
	}
	return (int)o;
}

/* Is real (a realpath) the root or under it? */
static bool under_root(const gt_http_server *srv, const char *real)
{
	if (srv->root_len == 0)
		return real[0] == '/';
	return !strncmp(real, srv->root, srv->root_len) &&
	       (real[srv->root_len] == '\0' || real[srv->root_len] == '/');
}

/* Opens the regular file at path if its realpath is under the root. Returns
 * the fd, or -404, -403, -500; -EISDIR for a directory (under the root). */
static int open_file(gt_http_server *srv, const char *path, struct stat *sb)
{
	char *real = realpath(path, NULL);
	if (!real) {
		if (errno == EACCES)
			return -403;
		if (errno == ENOENT || errno == ENOTDIR || errno == ENAMETOOLONG || errno == ELOOP)
			return -404;
		return -500;
	}
	int r;
	if (!under_root(srv, real)) {
		r = -403; /* a symlink leading out of the directory */
	} else if (stat(real, sb) < 0) {
		r = errno == EACCES ? -403 : -404;
	} else if (S_ISDIR(sb->st_mode)) {
		r = -EISDIR;
	} else if (!S_ISREG(sb->st_mode)) {
		r = -403; /* no FIFOs or devices */
	} else {
		int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		r = fd >= 0 ? fd : (errno == EACCES ? -403 : -404);
		if (fd >= 0 && (fstat(fd, sb) < 0 || !S_ISREG(sb->st_mode))) {
			close(fd);
			r = -403; /* swapped since realpath */
		}
	}
	free(real);
	return r;
}

/* The target's path: origin-form "/p?q", or absolute-form "http://h/p?q"
 * (RFC 9112 §3.2.2: a server MUST accept it). Sets *p and *len, or false. */
static bool target_path(const char *t, size_t tlen, const char **p, size_t *len)
{
	if (tlen >= 7 && !strncasecmp(t, "http://", 7)) {
		size_t i = 7;
		while (i < tlen && t[i] != '/' && t[i] != '?')
			i++;
		if (i == tlen || t[i] == '?') {
			*p = "/";
			*len = 1;
			return true;
		}
		t += i;
		tlen -= i;
	}
	if (tlen == 0 || t[0] != '/')
		return false;
	size_t n = 0;
	while (n < tlen && t[n] != '?' && t[n] != '#')
		n++;
	*p = t;
	*len = n;
	return true;
}

static void serve(gt_http_server *srv, gt_http_conn *c, gt_service_stats *stats, const request *rq,
                  const char *target, size_t tlen)
{
	const char *p;
	size_t plen;
	if (!target_path(target, tlen, &p, &plen)) {
		start_error(c, stats, 400, rq, NULL, true);
		return;
	}
	int dlen = decode_path(p, plen, srv->decoded, sizeof srv->decoded);
	if (dlen < 0) {
		start_error(c, stats, -dlen, rq, NULL, dlen == -400 || dlen == -414);
		return;
	}
	int n = snprintf(srv->path, sizeof srv->path, "%s%s", srv->root_len ? srv->root : "",
	                 srv->decoded);
	if (n < 0 || (size_t)n >= sizeof srv->path) {
		start_error(c, stats, 404, rq, NULL, false);
		return;
	}
	struct stat sb;
	int fd = open_file(srv, srv->path, &sb);
	if (fd == -EISDIR) {
		if (srv->decoded[dlen - 1] != '/') {
			/* "/dir" -> "/dir/", so relative links in its index work */
			char loc[HEAD_MAX / 2];
			int m = snprintf(loc, sizeof loc, "Location: %.*s/\r\n", (int)plen, p);
			if (m > 0 && (size_t)m < sizeof loc)
				start_error(c, stats, 301, rq, loc, false);
			else
				start_error(c, stats, 404, rq, NULL, false);
			return;
		}
		if ((size_t)n + sizeof "index.html" > sizeof srv->path) {
			start_error(c, stats, 404, rq, NULL, false);
			return;
		}
		strcat(srv->path, "index.html");
		fd = open_file(srv, srv->path, &sb);
		if (fd == -EISDIR)
			fd = -404;
	}
	if (fd < 0) {
		start_error(c, stats, -fd, rq, NULL, false);
		return;
	}
	uint64_t size = (uint64_t)sb.st_size;
	start_head(c, stats, 200, rq, content_type(srv->path), size, NULL, NULL, false);
	if (rq->head || size == 0) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->body_off = 0;
	c->body_end = size;
}

/* ---- parsing a request (RFC 9112 §2-§6) ---- */

static bool is_tchar(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return true;
	if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z')
		return true;
	return ch && strchr("!#$%&'*+-.^_`|~", ch);
}

/* One line of [s, end): returns its length without CR LF (a bare LF also ends
 * a line: RFC 9112 §2.2 allows it) and sets *next. */
static size_t line_at(const char *s, const char *end, const char **next)
{
	const char *lf = memchr(s, '\n', (size_t)(end - s));
	*next = lf + 1;
	size_t len = (size_t)(lf - s);
	if (len && s[len - 1] == '\r')
		len--;
	return len;
}

static bool token_list_has(const char *v, size_t len, const char *tok)
{
	size_t tl = strlen(tok);
	size_t i = 0;
	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t j = i;
		while (j < len && v[j] != ',')
			j++;
		size_t k = j;
		while (k > i && (v[k - 1] == ' ' || v[k - 1] == '\t'))
			k--;
		if (k - i == tl && !strncasecmp(v + i, tok, tl))
			return true;
		i = j;
	}
	return false;
}

typedef enum parse_result { P_INCOMPLETE, P_STARTED } parse_result;

/* The end of the header section, the empty line after the line feed lf; NULL
 * when it has not arrived yet. */
static const char *header_section_end(const char *lf, const char *end)
{
	for (const char *q = lf; q < end; q++) {
		q = memchr(q, '\n', (size_t)(end - q));
		if (!q)
			break;
		if (q + 1 < end && q[1] == '\n')
			return q + 2;
		if (q + 2 < end && q[1] == '\r' && q[2] == '\n')
			return q + 3;
	}
	return NULL;
}

/* The request line's three parts (pointers into the request buffer). */
typedef struct request_line {
	const char *method, *target, *version;
	size_t mlen, tlen;
} request_line;

/* RFC 9112 §3: method SP request-target SP HTTP-version. False when the line
 * is malformed; *next is the line after it. */
static bool parse_request_line(const char *buf, const char *end, request_line *rl,
                               const char **next)
{
	size_t llen = line_at(buf, end, next);
	const char *sp1 = memchr(buf, ' ', llen);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(buf + llen - sp1 - 1)) : NULL;
	bool bad = !sp1 || !sp2 || sp1 == buf || sp2 == sp1 + 1;
	rl->method = buf;
	rl->target = sp1 ? sp1 + 1 : buf;
	rl->version = sp2 ? sp2 + 1 : buf;
	rl->mlen = sp1 ? (size_t)(sp1 - buf) : 0;
	rl->tlen = sp2 ? (size_t)(sp2 - rl->target) : 0;
	size_t vlen = sp2 ? (size_t)(buf + llen - rl->version) : 0;
	for (size_t i = 0; !bad && i < rl->mlen; i++)
		bad = !is_tchar((unsigned char)rl->method[i]);
	for (size_t i = 0; !bad && i < rl->tlen; i++)
		bad = (unsigned char)rl->target[i] <= 0x20 || (unsigned char)rl->target[i] >= 0x7f;
	const char *v = rl->version;
	return !(bad || vlen != 8 || strncmp(v, "HTTP/", 5) || v[5] < '0' || v[5] > '9' ||
	         v[6] != '.' || v[7] < '0' || v[7] > '9');
}

/* What the server needs of the header fields. */
typedef struct header_info {
	int hosts;
	bool conn_close, conn_keep, has_te, has_cl;
	uint64_t cl;
} header_info;

/* One field's value as Content-Length (RFC 9112 §6.3 item 5: repeated
 * values must agree); false when it is not a valid one. */
static bool take_content_length(header_info *h, const char *v, size_t vl)
{
	uint64_t val = 0;
	bool bad = vl == 0 || vl > 18;
	for (size_t i = 0; !bad && i < vl; i++) {
		bad = v[i] < '0' || v[i] > '9';
		val = val * 10 + (uint64_t)(v[i] - '0');
	}
	bad = bad || (h->has_cl && val != h->cl);
	h->has_cl = true;
	h->cl = val;
	return !bad;
}

/* The header fields from line to the empty line; false when one is
 * malformed. */
static bool parse_header_fields(const char *line, const char *end, header_info *h)
{
	const char *next;
	for (;;) {
		size_t llen = line_at(line, end, &next);
		if (llen == 0)
			return true;
		const char *colon = memchr(line, ':', llen);
		/* RFC 9112 §5.1: no whitespace before the colon; §5.2: obs-fold is
		 * rejected with 400 */
		bool bad = !colon || colon == line;
		for (const char *q = line; !bad && q < colon; q++)
			bad = !is_tchar((unsigned char)*q);
		if (bad)
			return false;
		const char *v = colon + 1, *vend = line + llen;
		while (v < vend && (*v == ' ' || *v == '\t'))
			v++;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		for (const char *q = v; !bad && q < vend; q++) {
			unsigned char ch = (unsigned char)*q; /* obs-text (0x80-0xff) is fine */
			bad = (ch < 0x20 && ch != '\t') || ch == 0x7f;
		}
		size_t nlen = (size_t)(colon - line), vl = (size_t)(vend - v);
		if (nlen == 4 && !strncasecmp(line, "host", 4)) {
			h->hosts++;
		} else if (nlen == 10 && !strncasecmp(line, "connection", 10)) {
			h->conn_close = h->conn_close || token_list_has(v, vl, "close");
			h->conn_keep = h->conn_keep || token_list_has(v, vl, "keep-alive");
		} else if (nlen == 17 && !strncasecmp(line, "transfer-encoding", 17)) {
			h->has_te = true;
		} else if (nlen == 14 && !strncasecmp(line, "content-length", 14)) {
			bad = !take_content_length(h, v, vl) || bad;
		}
		if (bad)
			return false;
		line = next;
	}
}

/* A method other than GET and HEAD: its body is not read, so the answer
 * closes the connection: 405 for a method HTTP knows, 501 for another. */
static void answer_other_method(gt_http_conn *c, gt_service_stats *stats, request *rq,
                                const request_line *rl)
{
	static const char *const known[] = {"POST",    "PUT",   "DELETE", "CONNECT",
	                                    "OPTIONS", "TRACE", "PATCH"};
	bool is_known = false;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		is_known = is_known || (strlen(known[i]) == rl->mlen &&
		                        !memcmp(rl->method, known[i], rl->mlen));
	c->req_len = 0;
	if (is_known)
		start_error(c, stats, 405, rq, "Allow: GET, HEAD\r\n", true);
	else
		start_error(c, stats, 501, rq, NULL, true);
}

/* An error answer after which nothing in the buffer can be trusted (the
 * framing is lost): the buffer is dropped and the connection closes. */
static parse_result reject(gt_http_conn *c, gt_service_stats *stats, int status, request *rq)
{
	c->req_len = 0;
	start_error(c, stats, status, rq, NULL, true);
	return P_STARTED;
}

/* Parses the request at the start of c->req (one ending in an empty line) and
 * starts its response; consumes it from the buffer. */
static parse_result parse_request(gt_http_server *srv, gt_http_conn *c, gt_service_stats *stats)
{
	request rq = {.keep_alive = false};
	/* RFC 9112 §2.2: ignore empty lines before the request line */
	uint32_t lead = 0;
	while (lead < c->req_len && (c->req[lead] == '\r' || c->req[lead] == '\n'))
		lead++;
	if (lead) {
		memmove(c->req, c->req + lead, c->req_len - lead);
		c->req_len -= lead;
	}
	const char *buf = c->req, *end = c->req + c->req_len;
	const char *lf = memchr(buf, '\n', c->req_len);
	const char *hend = lf ? header_section_end(lf, end) : NULL;
	if (!hend) {
		if (c->req_len == sizeof c->req) {
			/* the request line, or the header section, does not fit */
			start_error(c, stats, lf ? 431 : 414, &rq, NULL, true);
			return P_STARTED;
		}
		return P_INCOMPLETE;
	}
	size_t consumed = (size_t)(hend - buf);

	request_line rl;
	const char *next;
	if (!parse_request_line(buf, end, &rl, &next))
		return reject(c, stats, 400, &rq);
	if (rl.version[5] != '1')
		return reject(c, stats, 505, &rq);
	rq.http10 = rl.version[7] == '0';
	rq.head = rl.mlen == 4 && !memcmp(rl.method, "HEAD", 4);

	header_info h = {0};
	/* RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one in 1.0 */
	if (!parse_header_fields(next, end, &h) || h.hosts > 1 || (!rq.http10 && h.hosts == 0))
		return reject(c, stats, 400, &rq);
	rq.keep_alive = rq.http10 ? h.conn_keep && !h.conn_close : !h.conn_close;

	/* RFC 9112 §6.1: a transfer coding we do not take: 501; the body's
	 * framing is then unknown, so close */
	if (h.has_te)
		return reject(c, stats, 501, &rq);
	bool get = rl.mlen == 3 && !memcmp(rl.method, "GET", 3);
	if (!get && !rq.head) {
		answer_other_method(c, stats, &rq, &rl);
		return P_STARTED;
	}
	/* target points into c->req: answer before moving the rest up */
	serve(srv, c, stats, &rq, rl.target, rl.tlen);
	memmove(c->req, c->req + consumed, c->req_len - consumed);
	c->req_len -= (uint32_t)consumed;
	c->skip = h.cl; /* a GET or HEAD with a body: it is read and dropped */
	return P_STARTED;
}

/* ---- the connection ---- */

typedef enum send_result { S_DONE, S_WAIT, S_ABORT, S_GONE } send_result;

/* Queues what it can of the response: the rest of the header and then the
 * file, both in one gt_send where they fit (so a small response is one
 * segment, not a header segment that Nagle's algorithm makes the body wait
 * behind). */
static send_result send_response(gt_http_server *srv, gt_http_conn *c, gt_stack *st, int sock,
                                 gt_service_stats *stats, gt_time_us now)
{
	for (;;) {
		size_t hl = (size_t)(c->head_len - c->head_off);
		uint64_t bl = c->body_end - c->body_off;
		if (hl == 0 && bl == 0)
			break;
		int mask = gt_poll(st, sock);
		if (mask < 0 || (mask & GT_POLLERR))
			return S_GONE;
		if (!(mask & GT_POLLOUT)) {
			if (mask & GT_POLLHUP)
				return S_GONE;
			return S_WAIT;
		}
		size_t room = sizeof srv->iobuf;
		if (c->sndbuf_cap) {
			size_t queued = gt_sock_unacked(st, sock);
			room = queued < c->sndbuf_cap ? c->sndbuf_cap - queued : 1;
			if (room > sizeof srv->iobuf)
				room = sizeof srv->iobuf;
		}
		const uint8_t *data;
		size_t len;
		if (bl == 0 || hl >= room) {
			data = (const uint8_t *)c->head + c->head_off;
			len = hl;
		} else {
			memcpy(srv->iobuf, c->head + c->head_off, hl);
			size_t want = room - hl;
			if (want > bl)
				want = (size_t)bl;
			ssize_t r;
			do
				r = pread(c->fd, srv->iobuf + hl, want, (off_t)c->body_off);
			while (r < 0 && errno == EINTR);
			if (r <= 0)
				return S_ABORT; /* the file shrank or failed: the length was
				                   promised */
			data = srv->iobuf;
			len = hl + (size_t)r;
		}
		ssize_t n = gt_send(st, sock, data, len, now);
		if (n == -EAGAIN) {
			c->sndbuf_cap = (uint32_t)gt_sock_unacked(st, sock);
			return S_WAIT;
		}
		if (n < 0)
			return S_GONE;
		stats->bytes_out += (uint64_t)n;
		c->deadline = now + GT_SVC_STALL_US;
		size_t from_head = (size_t)n < hl ? (size_t)n : hl;
		c->head_off = (uint16_t)(c->head_off + from_head);
		c->body_off += (uint64_t)((size_t)n - from_head);
		if ((size_t)n < len) {
			c->sndbuf_cap = (uint32_t)gt_sock_unacked(st, sock);
			return S_WAIT;
		}
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	c->sending = false;
	return S_DONE;
}

gt_svc_verdict gt_http_conn_poll(gt_http_server *srv, gt_http_conn *c, gt_stack *st, int sock,
                                 bool stopping, gt_service_stats *stats, gt_time_us now)
{
	for (;;) {
		if (c->sending) {
			switch (send_response(srv, c, st, sock, stats, now)) {
			case S_WAIT:
				return now >= c->deadline ? GT_SVC_ABORT : GT_SVC_WAIT;
			case S_ABORT:
				return GT_SVC_ABORT;
			case S_GONE:
				return GT_SVC_GONE;
			case S_DONE:
				break;
			}
			if (c->close_after)
				return GT_SVC_CLOSE;
			c->deadline = now + GT_HTTP_IDLE_US;
		}
		if (stopping)
			return GT_SVC_CLOSE;
		if (c->skip && c->req_len) {
			uint32_t k = c->skip < c->req_len ? (uint32_t)c->skip : c->req_len;
			memmove(c->req, c->req + k, c->req_len - k);
			c->req_len -= k;
			c->skip -= k;
		}
		if (!c->skip && c->req_len && parse_request(srv, c, stats) == P_STARTED) {
			c->deadline = now + GT_SVC_STALL_US;
			continue;
		}
		if (c->eof)
			return GT_SVC_CLOSE; /* no more requests can come */
		ssize_t n = gt_recv(st, sock, c->req + c->req_len, sizeof c->req - c->req_len, now);
		if (n > 0) {
			c->req_len += (uint32_t)n;
			stats->bytes_in += (uint64_t)n;
			c->deadline = now + GT_HTTP_IDLE_US;
			continue;
		}
		if (n == 0) {
			c->eof = true;
			continue;
		}
		if (n != -EAGAIN)
			return GT_SVC_GONE;
		return now >= c->deadline ? GT_SVC_CLOSE : GT_SVC_WAIT;
	}
}
