/* The script parser (ast.h): packetdrill's grammar (parser.y's shape, written
 * anew), recursive descent over lex.c's tokens. A syntax error, an unknown
 * constant or a value out of range stops the parse with "PATH:LINE: what". */
#include "script/ast.h"
#include "script/lex.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct arena_block {
	struct arena_block *next;
	max_align_t data[];
} arena_block;

typedef struct parser {
	gt_spd_lexer lx;
	gt_spd_tok tok; /* the current token */
	gt_spd_script *s;
	size_t cap_event, cap_option;
	int depth; /* of nested [ ] and { } */
	char *err;
	size_t err_len;
	jmp_buf fail;
} parser;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4), noreturn))
#endif
static void
fail_at(parser *p, int line, const char *fmt, ...)
{
	int n = snprintf(p->err, p->err_len, "%s:%d: ", p->s->path, line);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->err_len)
		vsnprintf(p->err + n, p->err_len - (size_t)n, fmt, ap);
	va_end(ap);
	longjmp(p->fail, 1);
}

static void *arena_alloc(parser *p, size_t size)
{
	arena_block *b = calloc(1, sizeof(*b) + size);
	if (!b)
		fail_at(p, p->tok.line, "out of memory");
	b->next = p->s->arena;
	p->s->arena = b;
	return b->data;
}

static char *arena_strndup(parser *p, const char *src, size_t n)
{
	char *d = arena_alloc(p, n + 1);
	memcpy(d, src, n);
	d[n] = '\0';
	return d;
}

/* ---- tokens ---- */

static void next(parser *p)
{
	p->tok = gt_spd_lex_next(&p->lx);
	if (p->tok.kind == GT_SPD_TOK_BAD)
		fail_at(p, p->tok.line, "unterminated string, `command`, comment or %%{ code }%%");
}

static bool is_punct(const parser *p, char c)
{
	return p->tok.kind == GT_SPD_TOK_PUNCT && p->tok.punct == c;
}

static bool is_word(const parser *p, const char *w)
{
	return p->tok.kind == GT_SPD_TOK_WORD && p->tok.len == strlen(w) &&
	       !strncmp(p->tok.start, w, p->tok.len);
}

/* The current token as text, for messages. */
static const char *tok_text(parser *p)
{
	if (p->tok.kind == GT_SPD_TOK_EOF)
		return "end of file";
	return arena_strndup(p, p->tok.start, p->tok.len > 40 ? 40 : p->tok.len);
}

static void expect_punct(parser *p, char c, const char *where)
{
	if (!is_punct(p, c))
		fail_at(p, p->tok.line, "expected '%c' %s, got '%s'", c, where, tok_text(p));
	next(p);
}

static void expect_word(parser *p, const char *w, const char *where)
{
	if (!is_word(p, w))
		fail_at(p, p->tok.line, "expected '%s' %s, got '%s'", w, where, tok_text(p));
	next(p);
}

/* A whole integer token (decimal, negative, hex) within [min, max]. */
static int64_t take_int(parser *p, int64_t min, int64_t max, const char *what)
{
	if (p->tok.kind != GT_SPD_TOK_NUMBER)
		fail_at(p, p->tok.line, "expected %s, got '%s'", what, tok_text(p));
	char buf[32];
	size_t n = p->tok.len < sizeof(buf) - 1 ? p->tok.len : sizeof(buf) - 1;
	memcpy(buf, p->tok.start, n);
	buf[n] = '\0';
	char *end;
	errno = 0;
	long long v = strtoll(buf, &end, 0);
	if (*end || errno || p->tok.len >= sizeof(buf))
		fail_at(p, p->tok.line, "%s must be an integer, got '%s'", what, buf);
	if (v < min || v > max)
		fail_at(p, p->tok.line, "%s out of range: %lld", what, v);
	next(p);
	return v;
}

/* A time token in seconds ("0.100", "2", ".5") as microseconds, exactly:
 * digits beyond the sixth decimal are dropped. */
static int64_t take_time(parser *p)
{
	if (p->tok.kind != GT_SPD_TOK_NUMBER || p->tok.start[0] == '-' ||
	    (p->tok.len > 1 && (p->tok.start[1] == 'x' || p->tok.start[1] == 'X')))
		fail_at(p, p->tok.line, "expected a time in seconds, got '%s'", tok_text(p));
	int64_t secs = 0, usecs = 0, scale = 100000;
	size_t i = 0;
	for (; i < p->tok.len && p->tok.start[i] != '.'; i++) {
		secs = secs * 10 + (p->tok.start[i] - '0');
		/* a bound that keeps every sum of times far from overflow */
		if (secs > 10000000)
			fail_at(p, p->tok.line, "time too large (at most 10000000 seconds)");
	}
	for (i++; i < p->tok.len; i++, scale /= 10)
		usecs += (p->tok.start[i] - '0') * scale;
	next(p);
	return secs * 1000000 + usecs;
}

/* ---- expressions (socket call arguments) ---- */

static gt_spd_expr *new_expr(parser *p, gt_spd_expr_kind kind)
{
	gt_spd_expr *e = arena_alloc(p, sizeof(*e));
	e->kind = kind;
	return e;
}

static gt_spd_expr *parse_expr(parser *p);

/* The elements of [...] or {...} up to the closing character. */
static gt_spd_expr *parse_list(parser *p, gt_spd_expr_kind kind, char close)
{
	gt_spd_expr *e = new_expr(p, kind);
	size_t cap = 0;
	if (++p->depth > 16)
		fail_at(p, p->tok.line, "arguments nested more than 16 deep");
	next(p);
	while (!is_punct(p, close)) {
		if (e->n_elem == cap) {
			cap = cap ? cap * 2 : 4;
			gt_spd_expr **grown = arena_alloc(p, cap * sizeof(*grown));
			if (e->n_elem)
				memcpy(grown, e->elem, e->n_elem * sizeof(*grown));
			e->elem = grown;
		}
		e->elem[e->n_elem++] = parse_expr(p);
		if (!is_punct(p, close))
			expect_punct(p, ',', "between elements");
	}
	next(p);
	p->depth--;
	return e;
}

/* inet_addr("A.B.C.D") (network byte order, as packetdrill) and htons(N). */
static gt_spd_expr *parse_function(parser *p, const char *name, int line)
{
	gt_spd_expr *e = new_expr(p, GT_SPD_EXPR_INT);
	next(p); /* '(' */
	if (!strcmp(name, "inet_addr")) {
		if (p->tok.kind != GT_SPD_TOK_STRING)
			fail_at(p, p->tok.line, "inet_addr needs a \"A.B.C.D\" string");
		struct in_addr a;
		char *text = arena_strndup(p, p->tok.start, p->tok.len);
		if (inet_pton(AF_INET, text, &a) != 1)
			fail_at(p, p->tok.line, "not an IPv4 address: \"%s\"", text);
		e->value = a.s_addr;
		next(p);
	} else if (!strcmp(name, "htons")) {
		e->value = htons((uint16_t)take_int(p, 0, 65535, "a port"));
	} else {
		fail_at(p, line, "unknown function '%s'", name);
	}
	expect_punct(p, ')', "after the function's argument");
	return e;
}

static gt_spd_expr *parse_word_expr(parser *p)
{
	int line = p->tok.line;
	char *name = arena_strndup(p, p->tok.start, p->tok.len);
	next(p);
	if (is_punct(p, '('))
		return parse_function(p, name, line);
	if (is_punct(p, '=')) {
		next(p);
		gt_spd_expr *e = new_expr(p, GT_SPD_EXPR_FIELD);
		e->text = name;
		e->elem = arena_alloc(p, sizeof(*e->elem));
		e->elem[0] = parse_expr(p);
		e->n_elem = 1;
		return e;
	}
	gt_spd_expr *e = new_expr(p, GT_SPD_EXPR_INT);
	if (!gt_spd_symbol(name, &e->value))
		fail_at(p, line, "unknown constant '%s'", name);
	return e;
}

static gt_spd_expr *parse_primary(parser *p)
{
	gt_spd_expr *e;
	switch (p->tok.kind) {
	case GT_SPD_TOK_NUMBER:
		e = new_expr(p, GT_SPD_EXPR_INT);
		e->value = take_int(p, INT64_MIN, INT64_MAX, "a number");
		return e;
	case GT_SPD_TOK_ELLIPSIS:
		next(p);
		return new_expr(p, GT_SPD_EXPR_ELLIPSIS);
	case GT_SPD_TOK_STRING:
		e = new_expr(p, GT_SPD_EXPR_STRING);
		e->text = arena_strndup(p, p->tok.start, p->tok.len);
		next(p);
		if (p->tok.kind == GT_SPD_TOK_ELLIPSIS)
			next(p); /* "abc"...: a prefix; taken as the whole string */
		return e;
	case GT_SPD_TOK_WORD:
		return parse_word_expr(p);
	case GT_SPD_TOK_PUNCT:
		if (p->tok.punct == '[')
			return parse_list(p, GT_SPD_EXPR_ARRAY, ']');
		if (p->tok.punct == '{')
			return parse_list(p, GT_SPD_EXPR_STRUCT, '}');
		break;
	default:
		break;
	}
	fail_at(p, p->tok.line, "expected an argument, got '%s'", tok_text(p));
}

/* primary { '|' primary }: bitwise OR of integers */
static gt_spd_expr *parse_expr(parser *p)
{
	gt_spd_expr *e = parse_primary(p);
	while (is_punct(p, '|')) {
		int line = p->tok.line;
		next(p);
		gt_spd_expr *rhs = parse_primary(p);
		if (e->kind != GT_SPD_EXPR_INT || rhs->kind != GT_SPD_EXPR_INT)
			fail_at(p, line, "'|' needs integers on both sides");
		e->value |= rhs->value;
	}
	return e;
}

/* ---- packets ---- */

static uint8_t flag_bit(char c)
{
	switch (c) {
	case 'F':
		return GT_SPD_FIN;
	case 'S':
		return GT_SPD_SYN;
	case 'R':
		return GT_SPD_RST;
	case 'P':
		return GT_SPD_PSH;
	case '.':
		return GT_SPD_ACK;
	case 'U':
		return GT_SPD_URG;
	case 'E':
		return GT_SPD_ECE;
	case 'W':
		return GT_SPD_CWR;
	default:
		return 0;
	}
}

/* "S", "S.", "P.", ".", "-" (none), "FPU." */
static uint8_t parse_flags(parser *p)
{
	uint8_t flags = 0;
	if (is_punct(p, '-')) {
		next(p);
		return 0;
	}
	if (p->tok.kind == GT_SPD_TOK_WORD) {
		for (size_t i = 0; i < p->tok.len; i++) {
			uint8_t bit = flag_bit(p->tok.start[i]);
			if (!bit)
				fail_at(p, p->tok.line, "unknown TCP flag '%c' in '%s'",
				        p->tok.start[i], tok_text(p));
			flags |= bit;
		}
		next(p);
		if (is_punct(p, '.')) {
			flags |= GT_SPD_ACK;
			next(p);
		}
		return flags;
	}
	if (is_punct(p, '.')) {
		next(p);
		return GT_SPD_ACK;
	}
	fail_at(p, p->tok.line, "expected TCP flags (S, S., ., P., F., R, ...), got '%s'",
	        tok_text(p));
}

static void put_option(parser *p, gt_spd_packet *pk, const uint8_t *bytes, size_t n)
{
	if (pk->options_len + n > GT_SPD_MAX_OPTIONS)
		fail_at(p, p->tok.line, "TCP options longer than %d bytes", GT_SPD_MAX_OPTIONS);
	memcpy(pk->options + pk->options_len, bytes, n);
	pk->options_len += n;
}

static void put_be32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* sack A:B C:D ... (RFC 2018 §3) */
static void parse_sack(parser *p, gt_spd_packet *pk)
{
	uint8_t o[2 + 8 * 4] = {5, 2};
	size_t n = 0;
	while (p->tok.kind == GT_SPD_TOK_NUMBER) {
		if (n == 4)
			fail_at(p, p->tok.line, "more than 4 SACK blocks");
		uint32_t left = (uint32_t)take_int(p, 0, UINT32_MAX, "a SACK block's left edge");
		expect_punct(p, ':', "in a SACK block");
		uint32_t right = (uint32_t)take_int(p, 0, UINT32_MAX, "a SACK block's right edge");
		put_be32(o + 2 + 8 * n, left);
		put_be32(o + 6 + 8 * n, right);
		n++;
	}
	if (!n)
		fail_at(p, p->tok.line, "sack needs blocks (sack A:B ...)");
	o[1] = (uint8_t)(2 + 8 * n);
	put_option(p, pk, o, o[1]);
}

/* One option of the <...> list (RFC 9293 §3.2, RFC 7323 §2.2 and §3.2, RFC
 * 2018). */
static void parse_option(parser *p, gt_spd_packet *pk)
{
	if (is_word(p, "nop") || is_word(p, "eol")) {
		uint8_t kind = is_word(p, "nop") ? 1 : 0;
		next(p);
		put_option(p, pk, &kind, 1);
	} else if (is_word(p, "mss")) {
		next(p);
		uint16_t v = (uint16_t)take_int(p, 0, 65535, "an mss value");
		uint8_t o[4] = {2, 4, (uint8_t)(v >> 8), (uint8_t)v};
		put_option(p, pk, o, 4);
	} else if (is_word(p, "wscale")) {
		next(p);
		uint8_t o[3] = {3, 3, (uint8_t)take_int(p, 0, 255, "a window scale shift")};
		put_option(p, pk, o, 3);
	} else if (is_word(p, "sackOK")) {
		next(p);
		uint8_t o[2] = {4, 2};
		put_option(p, pk, o, 2);
	} else if (is_word(p, "sack")) {
		next(p);
		parse_sack(p, pk);
	} else if (is_word(p, "TS")) {
		next(p);
		uint8_t o[10] = {8, 10};
		expect_word(p, "val", "after TS");
		put_be32(o + 2, (uint32_t)take_int(p, 0, UINT32_MAX, "a TS val"));
		expect_word(p, "ecr", "after TS val N");
		put_be32(o + 6, (uint32_t)take_int(p, 0, UINT32_MAX, "a TS ecr"));
		put_option(p, pk, o, 10);
	} else {
		fail_at(p, p->tok.line, "unknown or unsupported TCP option '%s'", tok_text(p));
	}
}

static void parse_options(parser *p, gt_spd_packet *pk, int line)
{
	if (!is_punct(p, '<'))
		return;
	next(p);
	if (p->tok.kind == GT_SPD_TOK_ELLIPSIS) {
		if (pk->inbound)
			fail_at(p, line,
			        "<...> for TCP options can only be used with outbound packets");
		next(p);
		pk->options_any = true;
		expect_punct(p, '>', "after <...");
		return;
	}
	for (;;) {
		parse_option(p, pk);
		if (is_punct(p, '>'))
			break;
		expect_punct(p, ',', "between TCP options");
	}
	next(p);
	if (pk->options_len % 4)
		fail_at(p, line, "TCP options are %zu bytes, not a multiple of 4 (pad with nop)",
		        pk->options_len);
}

static void parse_ports(parser *p, gt_spd_packet *pk)
{
	/* "1001>8080" before the flags: a number where the flags would be */
	if (p->tok.kind != GT_SPD_TOK_NUMBER)
		return;
	pk->src_port = (uint16_t)take_int(p, 0, 65535, "a source port");
	expect_punct(p, '>', "between the ports");
	pk->dst_port = (uint16_t)take_int(p, 0, 65535, "a destination port");
}

/* "seq:end(len)", end = seq + len. */
static void parse_seq_range(parser *p, gt_spd_packet *pk)
{
	int seq_line = p->tok.line;
	int64_t start = take_int(p, 0, UINT32_MAX, "a start sequence number (seq:end(len))");
	expect_punct(p, ':', "in seq:end(len)");
	int64_t end = take_int(p, 0, UINT32_MAX, "an end sequence number");
	expect_punct(p, '(', "in seq:end(len)");
	int64_t len = take_int(p, 0, 65535, "a payload length");
	expect_punct(p, ')', "in seq:end(len)");
	if (end != start + len)
		fail_at(p, seq_line,
		        "inconsistent TCP sequence numbers and payload size: %" PRId64 ":%" PRId64
		        "(%" PRId64 ")",
		        start, end, len);
	pk->seq = (uint32_t)start;
	pk->len = (uint16_t)len;
}

/* RFC 792 / RFC 1191: the ICMP error types and codes by packetdrill's names. */
static const struct {
	const char *name;
	uint8_t type;
} icmp_types[] = {
    {"unreachable", 3}, {"source_quench", 4}, {"time_exceeded", 11}, {"parameter_problem", 12}};
static const char *const unreach_codes[] = {"net_unreachable",
                                            "host_unreachable",
                                            "protocol_unreachable",
                                            "port_unreachable",
                                            "frag_needed",
                                            "source_route_failed",
                                            "net_unknown",
                                            "host_unknown",
                                            "source_host_isolated",
                                            "net_prohibited",
                                            "host_prohibited",
                                            "net_unreachable_for_tos",
                                            "host_unreachable_for_tos",
                                            "packet_filtered",
                                            "precedence_violation",
                                            "precedence_cutoff"};

static void parse_icmp(parser *p, gt_spd_event *ev)
{
	gt_spd_packet *pk = &ev->packet;
	if (!pk->inbound)
		fail_at(p, ev->line, "outbound 'icmp' packets are not supported (inbound only)");
	next(p);
	pk->icmp = true;
	pk->icmp_mtu = -1;
	pk->win = -1;
	size_t t = 0;
	while (t < sizeof(icmp_types) / sizeof(icmp_types[0]) && !is_word(p, icmp_types[t].name))
		t++;
	if (t == sizeof(icmp_types) / sizeof(icmp_types[0]))
		fail_at(p, p->tok.line, "unknown ICMP type '%s'", tok_text(p));
	pk->icmp_type = icmp_types[t].type;
	next(p);
	if (p->tok.kind == GT_SPD_TOK_WORD && !is_word(p, "mtu")) {
		size_t c = 0;
		while (pk->icmp_type == 3 && c < sizeof(unreach_codes) / sizeof(unreach_codes[0]) &&
		       !is_word(p, unreach_codes[c]))
			c++;
		if (pk->icmp_type != 3 || c == sizeof(unreach_codes) / sizeof(unreach_codes[0]))
			fail_at(p, p->tok.line, "unknown ICMP code '%s'", tok_text(p));
		pk->icmp_code = (uint8_t)c;
		next(p);
	}
	if (is_word(p, "mtu")) {
		next(p);
		pk->icmp_mtu = (int32_t)take_int(p, 0, 65535, "an MTU");
	}
	if (is_punct(p, '[')) {
		next(p);
		parse_seq_range(p, pk);
		expect_punct(p, ']', "after the quoted segment");
	}
}

static void parse_packet(parser *p, gt_spd_event *ev)
{
	gt_spd_packet *pk = &ev->packet;
	ev->kind = GT_SPD_EVENT_PACKET;
	pk->inbound = is_punct(p, '<');
	next(p);
	if (is_word(p, "icmp")) {
		parse_icmp(p, ev);
		return;
	}
	if (is_word(p, "ipv4") || is_word(p, "ipv6") || is_word(p, "udp"))
		fail_at(p, p->tok.line, "'%s' packets are not supported (TCP over IPv4 only)",
		        tok_text(p));
	parse_ports(p, pk);
	pk->flags = parse_flags(p);
	parse_seq_range(p, pk);
	pk->win = -1;
	if (is_word(p, "ack")) {
		next(p);
		pk->ack = (uint32_t)take_int(p, 0, UINT32_MAX, "an ack number");
	}
	if (is_word(p, "win")) {
		next(p);
		pk->win = (int32_t)take_int(p, 0, 65535, "a window");
	}
	if (is_word(p, "urg")) {
		next(p);
		pk->urg = (uint16_t)take_int(p, 0, 65535, "an urgent pointer");
	}
	if (pk->inbound && pk->win < 0)
		fail_at(p, ev->line, "window must be specified for inbound packets (win N)");
	parse_options(p, pk, ev->line);
}

/* ---- socket calls ---- */

/* "= -1 EINPROGRESS (Operation now in progress)": the errno name and the
 * note in parentheses, which is not checked. */
static void parse_call_result(parser *p, gt_spd_call *c)
{
	expect_punct(p, '=', "after the call's arguments");
	c->result = parse_expr(p);
	if (p->tok.kind == GT_SPD_TOK_WORD) {
		c->errno_name = arena_strndup(p, p->tok.start, p->tok.len);
		c->errno_value = gt_spd_errno_value(c->errno_name);
		if (!c->errno_value)
			fail_at(p, p->tok.line, "unknown errno name '%s'", c->errno_name);
		next(p);
	}
	if (is_punct(p, '(')) {
		int line = p->tok.line;
		while (!is_punct(p, ')')) {
			next(p);
			if (p->tok.kind == GT_SPD_TOK_EOF)
				fail_at(p, line, "note in parentheses without ')'");
		}
		next(p);
	}
}

static void parse_call(parser *p, gt_spd_event *ev)
{
	gt_spd_call *c = &ev->call;
	ev->kind = GT_SPD_EVENT_CALL;
	if (p->tok.kind == GT_SPD_TOK_ELLIPSIS) {
		next(p);
		c->blocking = true;
		c->end_usecs = take_time(p);
	}
	if (p->tok.kind != GT_SPD_TOK_WORD)
		fail_at(p, p->tok.line,
		        "expected a packet (< or >), a socket call or a `command`, "
		        "got '%s'",
		        tok_text(p));
	c->name = arena_strndup(p, p->tok.start, p->tok.len);
	if (!gt_spd_known_call(c->name))
		fail_at(p, p->tok.line, "unknown or unsupported call '%s'", c->name);
	next(p);
	if (!is_punct(p, '('))
		fail_at(p, ev->line, "expected '(' after '%s'", c->name);
	gt_spd_expr *args = parse_list(p, GT_SPD_EXPR_ARRAY, ')');
	c->arg = args->elem;
	c->n_arg = args->n_elem;
	parse_call_result(p, c);
}

/* ---- events ---- */

static void parse_time(parser *p, gt_spd_event *ev)
{
	if (is_punct(p, '*')) {
		next(p);
		ev->time_kind = GT_SPD_TIME_ANY;
		return;
	}
	bool relative = is_punct(p, '+');
	if (relative)
		next(p);
	ev->time_usecs = take_time(p);
	ev->time_kind = relative ? GT_SPD_TIME_RELATIVE : GT_SPD_TIME_ABSOLUTE;
	if (!is_punct(p, '~'))
		return;
	next(p);
	if (relative)
		expect_punct(p, '+', "in a relative time range (+A~+B)");
	else if (is_punct(p, '+'))
		fail_at(p, ev->line, "a time range is absolute (A~B) or relative (+A~+B)");
	ev->time_end_usecs = take_time(p);
	ev->time_kind = relative ? GT_SPD_TIME_RELATIVE_RANGE : GT_SPD_TIME_ABSOLUTE_RANGE;
	if (ev->time_end_usecs < ev->time_usecs)
		fail_at(p, ev->line, "time range is backwards");
}

static gt_spd_event *new_event(parser *p)
{
	gt_spd_script *s = p->s;
	if (s->n_event == p->cap_event) {
		size_t cap = p->cap_event ? p->cap_event * 2 : 32;
		gt_spd_event *grown = realloc(s->event, cap * sizeof(*grown));
		if (!grown)
			fail_at(p, p->tok.line, "out of memory");
		s->event = grown;
		p->cap_event = cap;
	}
	gt_spd_event *ev = &s->event[s->n_event++];
	memset(ev, 0, sizeof(*ev));
	ev->line = p->tok.line;
	return ev;
}

static void parse_event(parser *p)
{
	gt_spd_event *ev = new_event(p);
	parse_time(p, ev);
	if (is_punct(p, '<') || is_punct(p, '>')) {
		parse_packet(p, ev);
	} else if (p->tok.kind == GT_SPD_TOK_BACKQUOTE) {
		ev->kind = GT_SPD_EVENT_COMMAND;
		ev->command = arena_strndup(p, p->tok.start, p->tok.len);
		p->s->n_shell++;
		next(p);
	} else {
		parse_call(p, ev);
	}
	bool outbound = ev->kind == GT_SPD_EVENT_PACKET && !ev->packet.inbound;
	if (ev->time_kind == GT_SPD_TIME_ANY && !outbound)
		fail_at(p, ev->line, "event time * can only be used with outbound packets");
	if ((ev->time_kind == GT_SPD_TIME_ABSOLUTE_RANGE ||
	     ev->time_kind == GT_SPD_TIME_RELATIVE_RANGE) &&
	    !outbound)
		fail_at(p, ev->line, "event time range can only be used with outbound packets");
}

static void parse_option_line(parser *p)
{
	gt_spd_script *s = p->s;
	if (s->n_option == p->cap_option) {
		size_t cap = p->cap_option ? p->cap_option * 2 : 8;
		gt_spd_option *grown = realloc(s->option, cap * sizeof(*grown));
		if (!grown)
			fail_at(p, p->tok.line, "out of memory");
		s->option = grown;
		p->cap_option = cap;
	}
	gt_spd_option *o = &s->option[s->n_option++];
	const char *eq = memchr(p->tok.start, '=', p->tok.len);
	size_t name_len = eq ? (size_t)(eq - p->tok.start) : p->tok.len;
	o->name = arena_strndup(p, p->tok.start, name_len);
	o->value = eq ? arena_strndup(p, eq + 1, p->tok.len - name_len - 1) : NULL;
	if (o->value && o->value[0] == '"') {
		size_t n = strlen(o->value);
		memmove(o->value, o->value + 1, n);
		if (n >= 2 && o->value[n - 2] == '"')
			o->value[n - 2] = '\0';
	}
	o->line = p->tok.line;
	next(p);
}

static void parse_all(parser *p)
{
	next(p);
	while (p->tok.kind == GT_SPD_TOK_OPTION)
		parse_option_line(p);
	while (p->tok.kind != GT_SPD_TOK_EOF) {
		if (p->tok.kind == GT_SPD_TOK_BACKQUOTE) {
			/* an init or cleanup command, without a time */
			p->s->n_shell++;
			next(p);
		} else if (p->tok.kind == GT_SPD_TOK_CODE) {
			fail_at(p, p->tok.line, "%%{ python code }%% blocks are not supported");
		} else if (p->tok.kind == GT_SPD_TOK_OPTION) {
			fail_at(p, p->tok.line, "options (--%s) must come before the first event",
			        tok_text(p));
		} else {
			parse_event(p);
		}
	}
	if (!p->s->n_event)
		fail_at(p, p->tok.line, "the script has no events");
	if (p->s->event[0].time_kind != GT_SPD_TIME_ABSOLUTE &&
	    p->s->event[0].time_kind != GT_SPD_TIME_RELATIVE)
		fail_at(p, p->s->event[0].line, "first event should be at time 0");
	if (p->s->event[0].time_usecs != 0)
		fail_at(p, p->s->event[0].line, "first event should be at time 0");
}

gt_spd_script *gt_spd_parse(const char *path, const char *text, char *err, size_t err_len)
{
	gt_spd_script *volatile s = calloc(1, sizeof(*s)); /* kept across the longjmp */
	if (!s) {
		snprintf(err, err_len, "%s: out of memory", path);
		return NULL;
	}
	s->path = strdup(path);
	parser *p = calloc(1, sizeof(*p));
	if (!s->path || !p) {
		free(p);
		gt_spd_script_free(s);
		snprintf(err, err_len, "%s: out of memory", path);
		return NULL;
	}
	p->s = s;
	p->err = err;
	p->err_len = err_len;
	gt_spd_lex_init(&p->lx, text);
	if (setjmp(p->fail)) {
		free(p);
		gt_spd_script_free(s);
		return NULL;
	}
	parse_all(p);
	free(p);
	return s;
}

void gt_spd_script_free(gt_spd_script *s)
{
	if (!s)
		return;
	arena_block *b = s->arena;
	while (b) {
		arena_block *n = b->next;
		free(b);
		b = n;
	}
	free(s->event);
	free(s->option);
	free(s->path);
	free(s);
}
