/* Packets of a script run (packet.h). */
#include "script/packet.h"

#include <stdio.h>
#include <string.h>

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* The Internet checksum's running sum (RFC 1071). */
static uint32_t sum16(uint32_t sum, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += get16(b + i);
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The TCP checksum over the pseudo-header and segment (RFC 9293 §3.1). */
static uint16_t tcp_checksum(uint32_t src, uint32_t dst, const uint8_t *seg, size_t n)
{
	uint8_t pseudo[12];
	put32(pseudo, src);
	put32(pseudo + 4, dst);
	pseudo[8] = 0;
	pseudo[9] = 6;
	put16(pseudo + 10, (uint16_t)n);
	return fold(sum16(sum16(0, pseudo, sizeof(pseudo)), seg, n));
}

bool gt_spd_wire_parse(const uint8_t *buf, size_t n, gt_spd_wire *w, char *err, size_t err_len)
{
	if (n < 20 || buf[0] >> 4 != 4) {
		snprintf(err, err_len, "not an IPv4 packet (%zu bytes)", n);
		return false;
	}
	size_t ihl = (size_t)(buf[0] & 15) * 4, total = get16(buf + 2);
	if (ihl < 20 || total < ihl + 20 || total > n) {
		snprintf(err, err_len, "bad IPv4 lengths (header %zu, total %zu, read %zu)", ihl,
		         total, n);
		return false;
	}
	if (buf[9] != 6) {
		snprintf(err, err_len, "not TCP (IP protocol %u)", buf[9]);
		return false;
	}
	if (fold(sum16(0, buf, ihl)) != 0) {
		snprintf(err, err_len, "bad outbound IP checksum");
		return false;
	}
	const uint8_t *t = buf + ihl;
	size_t seg = total - ihl, doff = (size_t)(t[12] >> 4) * 4;
	if (doff < 20 || doff > seg) {
		snprintf(err, err_len, "bad TCP data offset %zu (segment %zu bytes)", doff, seg);
		return false;
	}
	w->src_ip = get32(buf + 12);
	w->dst_ip = get32(buf + 16);
	if (tcp_checksum(w->src_ip, w->dst_ip, t, seg) != 0) {
		snprintf(err, err_len, "bad outbound TCP checksum");
		return false;
	}
	w->src_port = get16(t);
	w->dst_port = get16(t + 2);
	w->seq = get32(t + 4);
	w->ack = get32(t + 8);
	w->flags = t[13];
	w->win = get16(t + 14);
	w->urg = get16(t + 18);
	w->options = t + 20;
	w->options_len = doff - 20;
	w->payload = t + doff;
	w->len = seg - doff;
	return true;
}

/* Calls fn on each option: kind, start, length (1 for EOL and NOP); stops
 * at EOL or a malformed length. */
static size_t option_at(const uint8_t *o, size_t len, size_t i)
{
	if (o[i] == 0 || o[i] == 1)
		return 1;
	if (i + 1 >= len || o[i + 1] < 2 || i + o[i + 1] > len)
		return 0;
	return o[i + 1];
}

bool gt_spd_find_ts(const uint8_t *options, size_t len, uint32_t *val, uint32_t *ecr)
{
	for (size_t i = 0, n; i < len && (n = option_at(options, len, i)); i += n) {
		if (options[i] == 8 && n == 10) {
			*val = get32(options + i + 2);
			*ecr = get32(options + i + 6);
			return true;
		}
	}
	return false;
}

static void set_ts(uint8_t *options, size_t len, size_t field, uint32_t v)
{
	for (size_t i = 0, n; i < len && (n = option_at(options, len, i)); i += n)
		if (options[i] == 8 && n == 10)
			put32(options + i + field, v);
}

void gt_spd_set_ts_val(uint8_t *options, size_t len, uint32_t val)
{
	set_ts(options, len, 2, val);
}

/* Adds offset to every SACK block edge (RFC 2018 §3). */
static void offset_sack(uint8_t *options, size_t len, uint32_t offset)
{
	for (size_t i = 0, n; i < len && (n = option_at(options, len, i)); i += n)
		if (options[i] == 5)
			for (size_t e = i + 2; e + 4 <= i + n; e += 4)
				put32(options + e, get32(options + e) + offset);
}

size_t gt_spd_build_inbound(const gt_spd_packet *pk, const gt_spd_inbound *in, uint8_t *buf,
                            size_t cap)
{
	size_t tcp_len = 20 + pk->options_len, total = 20 + tcp_len + pk->len;
	if (total > cap || total > 65535)
		return 0;
	memset(buf, 0, total);
	buf[0] = 0x45;
	put16(buf + 2, (uint16_t)total);
	buf[8] = 64; /* TTL */
	buf[9] = 6;
	put32(buf + 12, in->src_ip);
	put32(buf + 16, in->dst_ip);
	put16(buf + 10, fold(sum16(0, buf, 20)));
	uint8_t *t = buf + 20;
	put16(t, in->src_port);
	put16(t + 2, in->dst_port);
	put32(t + 4, pk->seq + in->seq_offset);
	put32(t + 8, (pk->flags & GT_SPD_ACK) ? pk->ack + in->ack_offset : pk->ack);
	t[12] = (uint8_t)((tcp_len / 4) << 4);
	t[13] = pk->flags;
	put16(t + 14, (uint16_t)pk->win);
	put16(t + 18, pk->urg);
	memcpy(t + 20, pk->options, pk->options_len);
	offset_sack(t + 20, pk->options_len, in->ack_offset);
	if (in->map_ecr)
		set_ts(t + 20, pk->options_len, 6, in->ecr_live);
	put16(t + 16, tcp_checksum(in->src_ip, in->dst_ip, t, tcp_len + pk->len));
	return total;
}

size_t gt_spd_build_icmp(const gt_spd_packet *pk, const gt_spd_inbound *in, uint8_t *buf,
                         size_t cap)
{
	size_t total = 20 + 8 + 20 + 8;
	if (total > cap)
		return 0;
	memset(buf, 0, total);
	buf[0] = 0x45;
	put16(buf + 2, (uint16_t)total);
	buf[8] = 64; /* TTL */
	buf[9] = 1;  /* ICMP */
	put32(buf + 12, in->src_ip);
	put32(buf + 16, in->dst_ip);
	put16(buf + 10, fold(sum16(0, buf, 20)));
	uint8_t *icmp = buf + 20;
	icmp[0] = pk->icmp_type;
	icmp[1] = pk->icmp_code;
	if (pk->icmp_mtu >= 0)
		put16(icmp + 6, (uint16_t)pk->icmp_mtu);
	/* the stack's segment: its IPv4 header (from the stack to the remote
	 * end) and the first 8 octets of TCP */
	uint8_t *q = icmp + 8;
	q[0] = 0x45;
	put16(q + 2, (uint16_t)(20 + 20 + pk->len));
	q[6] = 0x40; /* DF */
	q[8] = 64;
	q[9] = 6;
	put32(q + 12, in->dst_ip);
	put32(q + 16, in->src_ip);
	put16(q + 10, fold(sum16(0, q, 20)));
	put16(q + 20, in->dst_port);
	put16(q + 22, in->src_port);
	put32(q + 24, pk->seq + in->ack_offset);
	put16(icmp + 2, fold(sum16(0, icmp, 8 + 20 + 8)));
	return total;
}

void gt_spd_to_script(const gt_spd_wire *w, uint32_t seq_offset, uint32_t ack_offset,
                      gt_spd_packet *out)
{
	memset(out, 0, sizeof(*out));
	out->src_port = w->src_port;
	out->dst_port = w->dst_port;
	out->flags = w->flags;
	out->seq = w->seq - seq_offset;
	out->ack = w->ack - ((w->flags & GT_SPD_ACK) ? ack_offset : 0);
	out->len = (uint16_t)w->len;
	out->win = w->win;
	out->urg = w->urg;
	out->options_len =
	    w->options_len > GT_SPD_MAX_OPTIONS ? GT_SPD_MAX_OPTIONS : w->options_len;
	memcpy(out->options, w->options, out->options_len);
	offset_sack(out->options, out->options_len, (uint32_t)-ack_offset);
}

void gt_spd_format_flags(uint8_t flags, char *buf, size_t len)
{
	static const struct {
		uint8_t bit;
		char c;
	} order[] = {{GT_SPD_FIN, 'F'}, {GT_SPD_SYN, 'S'}, {GT_SPD_RST, 'R'}, {GT_SPD_PSH, 'P'},
	             {GT_SPD_URG, 'U'}, {GT_SPD_ECE, 'E'}, {GT_SPD_CWR, 'W'}, {GT_SPD_ACK, '.'}};
	size_t n = 0;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && n + 1 < len; i++)
		if (flags & order[i].bit)
			buf[n++] = order[i].c;
	if (!n && len > 1)
		buf[n++] = '-';
	if (len)
		buf[n] = '\0';
}

/* One option as the script language writes it. */
static int format_option(const uint8_t *o, size_t n, char *buf, size_t len)
{
	switch (o[0]) {
	case 0:
		return snprintf(buf, len, "eol");
	case 1:
		return snprintf(buf, len, "nop");
	case 2:
		if (n == 4)
			return snprintf(buf, len, "mss %u", get16(o + 2));
		break;
	case 3:
		if (n == 3)
			return snprintf(buf, len, "wscale %u", o[2]);
		break;
	case 4:
		if (n == 2)
			return snprintf(buf, len, "sackOK");
		break;
	case 5: {
		int w = snprintf(buf, len, "sack");
		for (size_t e = 2; e + 8 <= n && w >= 0 && (size_t)w < len; e += 8)
			w += snprintf(buf + w, len - (size_t)w, " %u:%u", get32(o + e),
			              get32(o + e + 4));
		return w;
	}
	case 8:
		if (n == 10)
			return snprintf(buf, len, "TS val %u ecr %u", get32(o + 2), get32(o + 6));
		break;
	default:
		break;
	}
	return snprintf(buf, len, "kind %u len %zu", o[0], n);
}

static void format_options(const uint8_t *o, size_t olen, char *buf, size_t len)
{
	size_t w = 0;
	buf[0] = '\0';
	for (size_t i = 0, n; i < olen && w + 1 < len; i += n) {
		n = option_at(o, olen, i);
		if (!n) {
			snprintf(buf + w, len - w, "%sbad option %u", i ? "," : "", o[i]);
			return;
		}
		if (i)
			buf[w++] = ',';
		int k = format_option(o + i, n, buf + w, len - w);
		if (k < 0 || (size_t)k >= len - w)
			return;
		w += (size_t)k;
	}
}

void gt_spd_format_packet(const gt_spd_packet *pk, char *buf, size_t len)
{
	char flags[12], opts[256];
	if (pk->icmp) {
		snprintf(buf, len, "icmp type %u code %u mtu %d [%u:%u(%u)]", pk->icmp_type,
		         pk->icmp_code, pk->icmp_mtu, pk->seq, pk->seq + pk->len, pk->len);
		return;
	}
	gt_spd_format_flags(pk->flags, flags, sizeof(flags));
	int w = snprintf(buf, len, "%s %u:%u(%u)", flags, pk->seq, pk->seq + pk->len, pk->len);
	if (w >= 0 && (size_t)w < len && (pk->flags & GT_SPD_ACK))
		w += snprintf(buf + w, len - (size_t)w, " ack %u", pk->ack);
	if (w >= 0 && (size_t)w < len && pk->win >= 0)
		w += snprintf(buf + w, len - (size_t)w, " win %d", pk->win);
	if (w >= 0 && (size_t)w < len && pk->urg)
		w += snprintf(buf + w, len - (size_t)w, " urg %u", pk->urg);
	if (w < 0 || (size_t)w >= len)
		return;
	if (pk->options_any) {
		snprintf(buf + w, len - (size_t)w, " <...>");
	} else if (pk->options_len) {
		format_options(pk->options, pk->options_len, opts, sizeof(opts));
		snprintf(buf + w, len - (size_t)w, " <%s>", opts);
	}
}

static bool differ_u(const char *field, uint32_t expected, uint32_t actual, char *err, size_t n)
{
	if (expected == actual)
		return false;
	snprintf(err, n, "%s: expected %u, got %u", field, expected, actual);
	return true;
}

/* The options, in order (RFC 9293 §3.1: kinds the script lists, the same
 * lengths and values); TS val within the tolerance, TS ecr not checked. */
static bool match_options(const gt_spd_packet *s, const gt_spd_packet *a, int64_t ts_tol, char *err,
                          size_t n)
{
	char want[256], got[256];
	format_options(s->options, s->options_len, want, sizeof(want));
	format_options(a->options, a->options_len, got, sizeof(got));
	size_t i = 0, j = 0, k = 0;
	for (;; k++) {
		bool s_end = i >= s->options_len, a_end = j >= a->options_len;
		if (s_end && a_end)
			return true;
		size_t sn = s_end ? 0 : option_at(s->options, s->options_len, i);
		size_t an = a_end ? 0 : option_at(a->options, a->options_len, j);
		bool same = sn && an && s->options[i] == a->options[j];
		if (same && s->options[i] == 8) {
			int64_t d = (int64_t)(int32_t)(get32(a->options + j + 2) -
			                               get32(s->options + i + 2));
			same = ts_tol < 0 || (d < 0 ? -d : d) <= ts_tol;
		} else if (same && s->options[i] > 1) {
			same = sn == an && !memcmp(s->options + i, a->options + j, sn);
		}
		if (!same) {
			snprintf(err, n,
			         "TCP options (option %zu differs): expected <%s>, got <%s>", k + 1,
			         want, got);
			return false;
		}
		i += sn;
		j += an;
	}
}

bool gt_spd_match(const gt_spd_packet *script, const gt_spd_packet *actual, const uint8_t *payload,
                  int64_t ts_val_tolerance_ticks, char *err, size_t err_len)
{
	if (script->flags != actual->flags) {
		char want[12], got[12];
		gt_spd_format_flags(script->flags, want, sizeof(want));
		gt_spd_format_flags(actual->flags, got, sizeof(got));
		snprintf(err, err_len, "flags: expected %s, got %s", want, got);
		return false;
	}
	if (differ_u("seq", script->seq, actual->seq, err, err_len) ||
	    differ_u("payload length", script->len, actual->len, err, err_len) ||
	    differ_u("ack", script->ack, actual->ack, err, err_len) ||
	    (script->win >= 0 &&
	     differ_u("win", (uint32_t)script->win, (uint32_t)actual->win, err, err_len)) ||
	    differ_u("urg", script->urg, actual->urg, err, err_len))
		return false;
	if (!script->options_any &&
	    !match_options(script, actual, ts_val_tolerance_ticks, err, err_len))
		return false;
	for (size_t i = 0; payload && i < actual->len; i++) {
		if (payload[i]) {
			snprintf(err, err_len, "payload: expected zeros, byte %zu is 0x%02x", i,
			         payload[i]);
			return false;
		}
	}
	return true;
}
