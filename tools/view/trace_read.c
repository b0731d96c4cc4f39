/* Reading a JSON Lines trace back into a gt_trace_log (the inverse of
 * src/trace/jsonl.c). Each line is parsed on its own with jansson so that an
 * error can name its line; events are recorded with gt_trace_log_record, which
 * copies the strings, so the jansson objects are freed line by line. */
#include "view/trace_read.h"

#include <errno.h>
#ifdef GT_HAVE_JANSSON
#include <jansson.h>
#endif
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* A trace line is a few hundred bytes; anything far longer is not a trace, and
 * handing megabytes of it to the JSON parser would only delay the error. */
#define TRACE_LINE_MAX (1u << 20)

int gt_tcp_state_parse(const char *s, gt_tcp_state *out)
{
	if (!s)
		return -EINVAL;
	for (int st = 0; st < GT_TCP_STATE_COUNT; st++) {
		if (strcmp(s, gt_tcp_state_name((gt_tcp_state)st)) == 0) {
			*out = (gt_tcp_state)st;
			return 0;
		}
	}
	return -EINVAL;
}

/* Letters in the order gt_tcp_flags_str writes them, indexed by bit. Any order
 * is accepted on input; a repeated or unknown letter is not. "" is no flags. */
int gt_tcp_flags_parse(const char *s, uint8_t *out)
{
	static const char letters[] = "FSRPAUEC";
	if (!s)
		return -EINVAL;
	uint8_t flags = 0;
	for (const char *p = s; *p; p++) {
		const char *hit = strchr(letters, *p);
		if (!hit)
			return -EINVAL;
		uint8_t bit = (uint8_t)(1u << (hit - letters));
		if (flags & bit)
			return -EINVAL;
		flags |= bit;
	}
	*out = flags;
	return 0;
}

int gt_drop_reason_parse(const char *s, gt_drop_reason *out)
{
	if (!s)
		return -EINVAL;
	for (int r = 0; r < GT_DROP_REASON_COUNT; r++) {
		if (strcmp(s, gt_drop_reason_name((gt_drop_reason)r)) == 0) {
			*out = (gt_drop_reason)r;
			return 0;
		}
	}
	return -EINVAL;
}

/* A decimal port 0..65535 as gt_conn_str prints it: digits only, no sign, no
 * leading zero. */
static int port_parse(const char *s, size_t len, uint16_t *out)
{
	if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
		return -EINVAL;
	unsigned value = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		value = value * 10 + (unsigned)(s[i] - '0');
	}
	if (value > UINT16_MAX)
		return -EINVAL;
	*out = (uint16_t)value;
	return 0;
}

/* "192.0.2.1:80" of length len. */
static int endpoint_parse(const char *s, size_t len, uint32_t *addr, uint16_t *port)
{
	const char *colon = NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == ':')
			colon = &s[i];
	}
	/* "255.255.255.255" is the longest address. */
	size_t addr_len = colon ? (size_t)(colon - s) : 0;
	if (!colon || addr_len == 0 || addr_len > 15)
		return -EINVAL;
	char buf[16];
	memcpy(buf, s, addr_len);
	buf[addr_len] = '\0';
	if (gt_ipv4_parse(buf, addr) < 0)
		return -EINVAL;
	return port_parse(colon + 1, len - addr_len - 1, port);
}

int gt_conn_parse(const char *s, gt_conn_tuple *out)
{
	if (!s)
		return -EINVAL;
	const char *gt = strchr(s, '>');
	if (!gt || strchr(gt + 1, '>'))
		return -EINVAL;
	gt_conn_tuple c = {0};
	if (endpoint_parse(s, (size_t)(gt - s), &c.local_addr, &c.local_port) < 0 ||
	    endpoint_parse(gt + 1, strlen(gt + 1), &c.remote_addr, &c.remote_port) < 0)
		return -EINVAL;
	*out = c;
	return 0;
}

/* ---- the line reader (jansson; without it, a stub that names the package) ---- */

#ifdef GT_HAVE_JANSSON

typedef struct reader {
	const char *name;
	size_t line;
	char *err;
	size_t errlen;
} reader;

/* Writes "NAME:LINE: reason" into the caller's buffer; returns -EINVAL. */
static int fail(const reader *r, const char *fmt, ...)
{
	if (!r->err || r->errlen == 0)
		return -EINVAL;
	int n = snprintf(r->err, r->errlen, "%s:%zu: ", r->name, r->line);
	if (n >= 0 && (size_t)n < r->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A value quoted in an error: at most 40 bytes, control characters replaced
 * so that the message stays on one line. */
static const char *shown(const char *s, char buf[48])
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && n < 40; p++)
		buf[n++] = (*p < 0x20 || *p == 0x7f) ? '?' : (char)*p;
	if (s[n] != '\0' && n == 40) {
		memcpy(&buf[n], "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static int get_string(const reader *r, json_t *obj, const char *key, bool required,
                      const char **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v) {
		return required ? fail(r, "missing key \"%s\"", key) : 0;
	}
	if (!json_is_string(v))
		return fail(r, "\"%s\" is not a string", key);
	*out = json_string_value(v);
	return 0;
}

/* An integer key in [0, max]. */
static int get_uint(const reader *r, json_t *obj, const char *key, uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return fail(r, "missing key \"%s\"", key);
	if (!json_is_integer(v))
		return fail(r, "\"%s\" is not an integer", key);
	json_int_t i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return fail(r, "\"%s\" is %lld, outside 0..%llu", key, (long long)i,
		            (unsigned long long)max);
	*out = (uint64_t)i;
	return 0;
}

/* An optional boolean key: absent is false. */
static int get_bool(const reader *r, json_t *obj, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);
	*out = false;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return fail(r, "\"%s\" is not true or false", key);
	*out = json_is_true(v);
	return 0;
}

static int get_state(const reader *r, json_t *obj, const char *key, gt_tcp_state *out)
{
	const char *s;
	int rc = get_string(r, obj, key, true, &s);
	if (rc < 0)
		return rc;
	char buf[48];
	if (gt_tcp_state_parse(s, out) < 0)
		return fail(r, "unknown state \"%s\" in \"%s\"", shown(s, buf), key);
	return 0;
}

/* RFC 7323 §2.3: the window in bytes is the field shifted left by at most 14. */
static bool is_scaled_window(uint64_t win, uint64_t wnd)
{
	for (unsigned shift = 0; shift <= 14; shift++)
		if (win << shift == wnd)
			return true;
	return false;
}

static int get_seg(const reader *r, json_t *obj, gt_event *ev)
{
	const char *flags;
	int rc = get_string(r, obj, "flags", true, &flags);
	if (rc < 0)
		return rc;
	char buf[48];
	if (gt_tcp_flags_parse(flags, &ev->seg.flags) < 0)
		return fail(r, "bad flags \"%s\" (letters of FSRPAUEC, each once)",
		            shown(flags, buf));
	uint64_t seq = 0, ack = 0, win = 0, len = 0;
	if ((rc = get_uint(r, obj, "seq", UINT32_MAX, &seq)) < 0 ||
	    (rc = get_uint(r, obj, "ack", UINT32_MAX, &ack)) < 0 ||
	    (rc = get_uint(r, obj, "win", UINT16_MAX, &win)) < 0 ||
	    (rc = get_uint(r, obj, "len", UINT32_MAX, &len)) < 0)
		return rc;
	ev->seg.seq = (uint32_t)seq;
	ev->seg.ack = (uint32_t)ack;
	ev->seg.win = (uint16_t)win;
	ev->seg.len = (uint32_t)len;
	ev->seg.wnd = (uint32_t)win;
	if (json_object_get(obj, "wnd")) {
		uint64_t wnd = 0;
		if ((rc = get_uint(r, obj, "wnd", UINT32_MAX, &wnd)) < 0)
			return rc;
		if (!is_scaled_window(win, wnd))
			return fail(r, "\"wnd\" %llu is not \"win\" %llu shifted by 0..14",
			            (unsigned long long)wnd, (unsigned long long)win);
		ev->seg.wnd = (uint32_t)wnd;
	}
	ev->has_seg = true;
	if ((rc = get_bool(r, obj, "syncookie", &ev->seg.syncookie)) < 0)
		return rc;
	return get_bool(r, obj, "rexmit", &ev->seg.rexmit);
}

/* Fills ev from one parsed line; *skip when the line is of a kind the log does
 * not hold. String pointers in ev point into obj. */
static int decode_event(const reader *r, json_t *obj, gt_event *ev, bool *skip)
{
	const char *kind;
	int rc = get_string(r, obj, "ev", true, &kind);
	if (rc < 0)
		return rc;
	*skip = false;
	if (strcmp(kind, "state") == 0) {
		ev->kind = GT_EV_STATE;
	} else if (strcmp(kind, "tx") == 0) {
		ev->kind = GT_EV_TX;
	} else if (strcmp(kind, "rx") == 0) {
		ev->kind = GT_EV_RX;
	} else if (strcmp(kind, "drop") == 0) {
		ev->kind = GT_EV_DROP;
	} else {
		/* "socket" and kinds added later carry nothing drawn here. */
		*skip = true;
		return 0;
	}

	uint64_t t_us = 0;
	if ((rc = get_uint(r, obj, "t_us", INT64_MAX, &t_us)) < 0)
		return rc;
	ev->t_us = t_us;
	if ((rc = get_string(r, obj, "host", true, &ev->host)) < 0)
		return rc;

	/* conn is null for events no connection owns (e.g. a packet dropped
	 * before demultiplexing); an absent key is taken the same way. */
	json_t *conn = json_object_get(obj, "conn");
	if (conn && !json_is_null(conn)) {
		char buf[48];
		if (!json_is_string(conn))
			return fail(r, "\"conn\" is not a string or null");
		if (gt_conn_parse(json_string_value(conn), &ev->conn) < 0)
			return fail(r, "bad conn \"%s\" (want a.b.c.d:port>e.f.g.h:port)",
			            shown(json_string_value(conn), buf));
		ev->has_conn = true;
	}

	if (ev->kind == GT_EV_STATE) {
		if ((rc = get_state(r, obj, "from", &ev->from)) < 0 ||
		    (rc = get_state(r, obj, "to", &ev->to)) < 0)
			return rc;
		json_t *cause = json_object_get(obj, "cause");
		if (cause && !json_is_null(cause)) {
			if (!json_is_string(cause))
				return fail(r, "\"cause\" is not a string or null");
			ev->cause = json_string_value(cause);
		}
		return get_bool(r, obj, "inferred", &ev->inferred);
	}

	/* A drop of a packet too broken to parse has no segment fields. */
	if (ev->kind != GT_EV_DROP || json_object_get(obj, "flags")) {
		if ((rc = get_seg(r, obj, ev)) < 0)
			return rc;
	}
	if (ev->kind == GT_EV_DROP) {
		const char *reason;
		char buf[48];
		if ((rc = get_string(r, obj, "reason", true, &reason)) < 0)
			return rc;
		if (gt_drop_reason_parse(reason, &ev->reason) < 0)
			return fail(r, "unknown drop reason \"%s\"", shown(reason, buf));
	}
	return 0;
}

static bool is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	}
	return true;
}

/* Parses and records one line (without its newline). */
static int read_line(const reader *r, const char *line, size_t len, gt_trace_log *log)
{
	if (len > TRACE_LINE_MAX)
		return fail(r, "line of %zu bytes, longer than %u: not a trace", len,
		            TRACE_LINE_MAX);
	if (is_blank(line, len))
		return 0;

	json_error_t jerr;
	json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj) {
		/* jansson may quote the offending token: keep the message printable */
		char text[sizeof jerr.text];
		size_t n = 0;
		for (const unsigned char *p = (const unsigned char *)jerr.text; *p; p++)
			text[n++] = (*p < 0x20 || *p == 0x7f) ? '?' : (char)*p;
		text[n] = '\0';
		if (jerr.column > 0)
			return fail(r, "not JSON: %s (column %d)", text, jerr.column);
		return fail(r, "not JSON: %s", text);
	}
	int rc;
	if (!json_is_object(obj)) {
		rc = fail(r, "not a JSON object");
	} else {
		gt_event ev;
		memset(&ev, 0, sizeof ev);
		bool skip = true;
		rc = decode_event(r, obj, &ev, &skip);
		if (rc == 0 && !skip) {
			size_t dropped = gt_trace_log_dropped(log);
			gt_trace_log_record(log, &ev);
			if (gt_trace_log_dropped(log) != dropped) {
				fail(r, "out of memory");
				rc = -ENOMEM;
			}
		}
	}
	json_decref(obj);
	return rc;
}

int gt_trace_read_jsonl(FILE *f, const char *name, gt_trace_log *log, char *err, size_t errlen)
{
	reader r = {.name = name ? name : "trace", .line = 0, .err = err, .errlen = errlen};
	if (err && errlen)
		err[0] = '\0';
	if (!f || !log)
		return fail(&r, "no trace to read");

	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	for (;;) {
		errno = 0;
		ssize_t n = getline(&line, &cap, f);
		if (n < 0) {
			if (errno == ENOMEM) {
				r.line++;
				fail(&r, "out of memory");
				rc = -ENOMEM;
			} else if (ferror(f)) {
				fail(&r, "read error: %s", strerror(errno ? errno : EIO));
				rc = -EIO;
			}
			break;
		}
		r.line++;
		size_t len = (size_t)n;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		rc = read_line(&r, line, len, log);
		if (rc < 0)
			break;
	}
	free(line);
	return rc;
}

#else

int gt_trace_read_jsonl(FILE *f, const char *name, gt_trace_log *log, char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen,
		         "%s: glasstcp was built without jansson, so it cannot read JSON Lines "
		         "(install the Debian package libjansson-dev and rebuild)",
		         name ? name : "trace");
	return -ENOTSUP;
}

#endif
