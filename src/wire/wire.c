/* Wire format: IPv4 and TCP headers, options and checksums.
 *
 * Every multi-byte field is read and written through the explicit big-endian
 * helpers below, so packets may sit at any alignment and the code does not
 * depend on the host's byte order. Only the checksum loop uses native loads, for
 * speed, and corrects for byte order once at the end (RFC 1071 §2(B)). */
#include "wire/wire.h"

#include <string.h>

enum {
	IPV4_FLAG_DF = 0x4000,
	IPV4_FLAG_MF = 0x2000,
	IPV4_FRAG_OFFSET_MASK = 0x1fff,
	IPV4_DEFAULT_TTL = 64,

	TCPOPT_EOL = 0,
	TCPOPT_NOP = 1,
	TCPOPT_MSS = 2,
	TCPOPT_WSCALE = 3,
	TCPOPT_SACK_PERMITTED = 4,
	TCPOPT_SACK = 5,
	TCPOPT_TIMESTAMPS = 8,

	TCPOLEN_MSS = 4,
	TCPOLEN_WSCALE = 3,
	TCPOLEN_SACK_PERMITTED = 2,
	TCPOLEN_SACK_BASE = 2,
	TCPOLEN_SACK_PER_BLOCK = 8,
	TCPOLEN_TIMESTAMPS = 10,

	/* RFC 7323 §2.3: shifts above 14 would let the window exceed 2^30. */
	TCP_MAX_WSCALE = 14,
	TCP_MAX_SACK_BLOCKS = 4,
};

static inline uint16_t load_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- RFC 1071 checksum ---- */

static inline bool host_is_little_endian(void)
{
	const uint16_t probe = 1;
	uint8_t first;
	memcpy(&first, &probe, 1);
	return first == 1;
}

/* Adds with end-around carry, so no carry out of bit 63 is ever lost. */
static inline uint64_t add_ones_complement64(uint64_t acc, uint64_t word)
{
	acc += word;
	return acc + (acc < word);
}

static inline uint16_t fold64_to16(uint64_t acc)
{
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffu) + (acc >> 16);
	acc = (acc & 0xffffu) + (acc >> 16);
	return (uint16_t)acc;
}

/* A host-order 8-byte load at any alignment (memcpy: no unaligned access or
 * aliasing through a cast). */
static inline uint64_t load_native64(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, sizeof(w));
	return w;
}

uint32_t gt_csum_add(uint32_t sum, const uint8_t *data, size_t len)
{
	/* RFC 1071 §2(B),(C): the one's-complement sum of native-order words equals
	 * the byte-swapped sum of big-endian words, so sum wide native loads and
	 * swap once at the end. §2(A): the sum is commutative and associative, so
	 * four independent accumulators (four carry chains, not one) take 32 bytes
	 * a step and are added together afterwards. */
	uint64_t acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
	while (len >= 32) {
		acc0 = add_ones_complement64(acc0, load_native64(data));
		acc1 = add_ones_complement64(acc1, load_native64(data + 8));
		acc2 = add_ones_complement64(acc2, load_native64(data + 16));
		acc3 = add_ones_complement64(acc3, load_native64(data + 24));
		data += 32;
		len -= 32;
	}
	uint64_t acc = add_ones_complement64(add_ones_complement64(acc0, acc1),
	                                     add_ones_complement64(acc2, acc3));
	while (len >= 8) {
		acc = add_ones_complement64(acc, load_native64(data));
		data += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t w;
		memcpy(&w, data, sizeof(w));
		acc = add_ones_complement64(acc, w);
		data += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;
		memcpy(&w, data, sizeof(w));
		acc = add_ones_complement64(acc, w);
		data += 2;
		len -= 2;
	}
	if (len == 1) {
		/* RFC 1071 §4.1: an odd last byte is padded with a zero byte. */
		const uint8_t padded[2] = {data[0], 0};
		uint16_t w;
		memcpy(&w, padded, sizeof(w));
		acc = add_ones_complement64(acc, w);
	}

	uint16_t folded = fold64_to16(acc);
	if (host_is_little_endian())
		folded = (uint16_t)(folded >> 8 | folded << 8);

	uint64_t total = (uint64_t)sum + folded;
	return (uint32_t)((total & 0xffffffffu) + (total >> 32));
}

uint16_t gt_csum_fold(uint32_t sum)
{
	return fold64_to16(sum);
}

/* The value stored in a checksum field: RFC 1071 §1 (3). */
static inline uint16_t csum_finish(uint32_t sum)
{
	return (uint16_t)~gt_csum_fold(sum);
}

/* A correct header or segment sums, checksum field included, to all ones. */
static inline bool csum_verifies(uint32_t sum)
{
	return gt_csum_fold(sum) == 0xffff;
}

/* RFC 9293 §3.1: the pseudo-header (source, destination, zero, protocol, TCP
 * length) that the TCP checksum also covers. */
static uint32_t tcp_pseudo_header_sum(uint32_t src, uint32_t dst, size_t tcp_len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + GT_IP_PROTO_TCP +
	       (uint32_t)tcp_len;
}

/* ---- Options ---- */

static void parse_known_option(uint8_t kind, const uint8_t *body, size_t opt_len, gt_tcp_opts *out)
{
	switch (kind) {
	case TCPOPT_MSS:
		if (opt_len == TCPOLEN_MSS) {
			out->has_mss = true;
			out->mss = load_be16(body);
		}
		break;
	case TCPOPT_WSCALE:
		if (opt_len == TCPOLEN_WSCALE) {
			out->has_wscale = true;
			/* RFC 7323 §2.3: larger shifts MUST be treated as 14. */
			out->wscale = body[0] > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : body[0];
		}
		break;
	case TCPOPT_SACK_PERMITTED:
		if (opt_len == TCPOLEN_SACK_PERMITTED)
			out->sack_permitted = true;
		break;
	case TCPOPT_SACK: {
		size_t block_bytes = opt_len - TCPOLEN_SACK_BASE;
		size_t blocks = block_bytes / TCPOLEN_SACK_PER_BLOCK;
		/* RFC 2018 §3: 2 + 8n bytes, and 40 bytes of option space fit n <= 4. */
		if (block_bytes % TCPOLEN_SACK_PER_BLOCK != 0 || blocks < 1 ||
		    blocks > TCP_MAX_SACK_BLOCKS)
			break;
		for (size_t i = 0; i < blocks; i++) {
			const uint8_t *block = body + i * TCPOLEN_SACK_PER_BLOCK;
			out->sack[i].left = load_be32(block);
			out->sack[i].right = load_be32(block + 4);
		}
		out->sack_count = (uint8_t)blocks;
		break;
	}
	case TCPOPT_TIMESTAMPS:
		if (opt_len == TCPOLEN_TIMESTAMPS) {
			out->has_ts = true;
			out->ts_val = load_be32(body);
			out->ts_ecr = load_be32(body + 4);
		}
		break;
	default:
		/* RFC 9293 §3.2: unknown kinds are skipped by their length. */
		break;
	}
}

/* Be liberal (RFC 9293 §3.2, RFC 1122 §4.2.2.5): a known kind with an unexpected
 * length is skipped like an unknown one; only a length that cannot be followed
 * (below 2 or past the option space) makes the options unparseable. On failure
 * *out keeps what was parsed before the bad option, which gt_wire_peek uses. */
bool gt_wire_parse_options(const uint8_t *opt, size_t len, gt_tcp_opts *out)
{
	memset(out, 0, sizeof(*out));
	size_t i = 0;
	while (i < len) {
		uint8_t kind = opt[i];
		if (kind == TCPOPT_EOL)
			return true;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2)
			return false;
		uint8_t opt_len = opt[i + 1];
		if (opt_len < 2 || opt_len > len - i)
			return false;
		parse_known_option(kind, opt + i + 2, opt_len, out);
		i += opt_len;
	}
	return true;
}

/* Room for SACK blocks after the other options: NOP NOP kind len, 8 per block. */
static size_t sack_blocks_that_fit(size_t used, uint8_t wanted)
{
	size_t room = GT_TCP_MAX_OPT_LEN - used;
	size_t fit = room < 4 ? 0 : (room - 4) / TCPOLEN_SACK_PER_BLOCK;
	if (fit > TCP_MAX_SACK_BLOCKS)
		fit = TCP_MAX_SACK_BLOCKS;
	return wanted < fit ? wanted : fit;
}

/* Linux's layout: every option group starts on a 4-byte boundary, NOPs filling
 * in front of the short ones, so the option space never needs trailing padding
 * and timestamps stay 4-byte aligned for fast-path receivers (RFC 7323
 * Appendix A). */
static size_t write_options(uint8_t *p, const gt_tcp_opts *o)
{
	uint8_t *start = p;

	if (o->has_mss) {
		p[0] = TCPOPT_MSS;
		p[1] = TCPOLEN_MSS;
		store_be16(p + 2, o->mss);
		p += 4;
	}
	if (o->has_ts) {
		if (o->sack_permitted) {
			p[0] = TCPOPT_SACK_PERMITTED;
			p[1] = TCPOLEN_SACK_PERMITTED;
		} else {
			p[0] = TCPOPT_NOP;
			p[1] = TCPOPT_NOP;
		}
		p[2] = TCPOPT_TIMESTAMPS;
		p[3] = TCPOLEN_TIMESTAMPS;
		store_be32(p + 4, o->ts_val);
		store_be32(p + 8, o->ts_ecr);
		p += 12;
	} else if (o->sack_permitted) {
		p[0] = TCPOPT_NOP;
		p[1] = TCPOPT_NOP;
		p[2] = TCPOPT_SACK_PERMITTED;
		p[3] = TCPOLEN_SACK_PERMITTED;
		p += 4;
	}
	if (o->has_wscale) {
		p[0] = TCPOPT_NOP;
		p[1] = TCPOPT_WSCALE;
		p[2] = TCPOLEN_WSCALE;
		p[3] = o->wscale;
		p += 4;
	}
	/* RFC 2018 §4: the first block is the most recent, so when space runs out
	 * (three blocks with timestamps) the oldest ones are the ones left out. */
	size_t blocks = sack_blocks_that_fit((size_t)(p - start), o->sack_count);
	if (blocks > 0) {
		p[0] = TCPOPT_NOP;
		p[1] = TCPOPT_NOP;
		p[2] = TCPOPT_SACK;
		p[3] = (uint8_t)(TCPOLEN_SACK_BASE + blocks * TCPOLEN_SACK_PER_BLOCK);
		p += 4;
		for (size_t i = 0; i < blocks; i++) {
			store_be32(p, o->sack[i].left);
			store_be32(p + 4, o->sack[i].right);
			p += 8;
		}
	}
	return (size_t)(p - start);
}

/* NOPs until the length, taken mod `mod`, is `rem` (and at least one byte
 * when nothing is written yet and rem is not 0). */
static uint8_t *nop_align(uint8_t *start, uint8_t *p, size_t mod, size_t rem)
{
	while ((size_t)(p - start) % mod != rem || (p == start && rem != 0))
		*p++ = TCPOPT_NOP;
	return p;
}

/* FreeBSD's layout (tcp_addoptions): MSS, window scale, SACK-permitted,
 * timestamps, SACK blocks in this order, each preceded by the NOPs that put
 * it where FreeBSD puts it (window scale at 1 mod 2, SACK-permitted at 0 mod
 * 2, timestamps and SACK at 2 mod 4), the end padded with EOL bytes. */
static size_t write_options_freebsd(uint8_t *p, const gt_tcp_opts *o)
{
	uint8_t *start = p;
	if (o->has_mss) {
		p = nop_align(start, p, 4, 0);
		p[0] = TCPOPT_MSS;
		p[1] = TCPOLEN_MSS;
		store_be16(p + 2, o->mss);
		p += 4;
	}
	if (o->has_wscale) {
		p = nop_align(start, p, 2, 1);
		p[0] = TCPOPT_WSCALE;
		p[1] = TCPOLEN_WSCALE;
		p[2] = o->wscale;
		p += 3;
	}
	if (o->sack_permitted) {
		p = nop_align(start, p, 2, 0);
		p[0] = TCPOPT_SACK_PERMITTED;
		p[1] = TCPOLEN_SACK_PERMITTED;
		p += 2;
	}
	if (o->has_ts) {
		p = nop_align(start, p, 4, 2);
		p[0] = TCPOPT_TIMESTAMPS;
		p[1] = TCPOLEN_TIMESTAMPS;
		store_be32(p + 2, o->ts_val);
		store_be32(p + 6, o->ts_ecr);
		p += 10;
	}
	if (o->sack_count > 0) {
		uint8_t *q = nop_align(start, p, 4, 2);
		size_t room = GT_TCP_MAX_OPT_LEN - (size_t)(q - start);
		size_t blocks =
		    room < 2 + TCPOLEN_SACK_PER_BLOCK ? 0 : (room - 2) / TCPOLEN_SACK_PER_BLOCK;
		if (blocks > o->sack_count)
			blocks = o->sack_count;
		if (blocks > TCP_MAX_SACK_BLOCKS)
			blocks = TCP_MAX_SACK_BLOCKS;
		if (blocks > 0) {
			p = q;
			p[0] = TCPOPT_SACK;
			p[1] = (uint8_t)(2 + blocks * TCPOLEN_SACK_PER_BLOCK);
			p += 2;
			for (size_t i = 0; i < blocks; i++) {
				store_be32(p, o->sack[i].left);
				store_be32(p + 4, o->sack[i].right);
				p += 8;
			}
		}
	}
	while ((p - start) % 4)
		*p++ = TCPOPT_EOL;
	return (size_t)(p - start);
}

size_t gt_wire_write_headers(uint8_t *buf, const gt_segment *seg, uint32_t payload_len,
                             uint16_t ip_id)
{
	uint8_t *tcp = buf + GT_IPV4_HDR_LEN;
	size_t opt_len = seg->opt_layout == GT_OPT_LAYOUT_FREEBSD
	                     ? write_options_freebsd(tcp + GT_TCP_HDR_LEN, &seg->opts)
	                     : write_options(tcp + GT_TCP_HDR_LEN, &seg->opts);
	size_t tcp_hdr_len = GT_TCP_HDR_LEN + opt_len;

	buf[0] = 0x45; /* version 4, IHL 5: no IP options */
	buf[1] = 0;
	store_be16(buf + 2, (uint16_t)(GT_IPV4_HDR_LEN + tcp_hdr_len + payload_len));
	store_be16(buf + 4, ip_id);
	/* RFC 1191: DF so that path MTU discovery sees oversized segments. */
	store_be16(buf + 6, IPV4_FLAG_DF);
	buf[8] = IPV4_DEFAULT_TTL;
	buf[9] = GT_IP_PROTO_TCP;
	store_be16(buf + 10, 0);
	store_be32(buf + 12, seg->src_addr);
	store_be32(buf + 16, seg->dst_addr);

	store_be16(tcp + 0, seg->src_port);
	store_be16(tcp + 2, seg->dst_port);
	store_be32(tcp + 4, seg->seq);
	store_be32(tcp + 8, seg->ack);
	tcp[12] = (uint8_t)(tcp_hdr_len / 4 << 4);
	tcp[13] = seg->flags;
	store_be16(tcp + 14, seg->wnd);
	store_be16(tcp + 16, 0);
	store_be16(tcp + 18, seg->urp);

	return GT_IPV4_HDR_LEN + tcp_hdr_len;
}

void gt_wire_finalize(uint8_t *pkt, size_t len)
{
	size_t ip_hdr_len = (size_t)(pkt[0] & 0x0f) * 4;
	uint8_t *tcp = pkt + ip_hdr_len;
	size_t tcp_len = len - ip_hdr_len;

	store_be16(pkt + 10, 0);
	store_be16(pkt + 10, csum_finish(gt_csum_add(0, pkt, ip_hdr_len)));

	store_be16(tcp + 16, 0);
	uint32_t sum = tcp_pseudo_header_sum(load_be32(pkt + 12), load_be32(pkt + 16), tcp_len);
	store_be16(tcp + 16, csum_finish(gt_csum_add(sum, tcp, tcp_len)));
}

/* ---- Parsing ---- */

static void read_tcp_fields(const uint8_t *tcp, gt_segment *seg)
{
	seg->src_port = load_be16(tcp + 0);
	seg->dst_port = load_be16(tcp + 2);
	seg->seq = load_be32(tcp + 4);
	seg->ack = load_be32(tcp + 8);
	seg->flags = tcp[13];
	seg->wnd = load_be16(tcp + 14);
	seg->urp = load_be16(tcp + 18);
}

/* RFC 1122 §3.2.1.3: a datagram from an address that cannot be a host's own
 * (0/8 "this network", limited broadcast, multicast) must be discarded. The
 * checks that depend on the receiver's own address (loopback, its own
 * address) are the stack's. */
static bool is_bad_source(uint32_t addr)
{
	return (addr & 0xff000000u) == 0 || addr == 0xffffffffu ||
	       (addr & 0xf0000000u) == 0xe0000000u;
}

/* RFC 791: the IPv4 header checks every protocol shares, and that it
 * carries `proto` (else GT_DROP_NOT_TCP). On success *hdr_len and *total_len
 * are the header's and the datagram's lengths. */
static gt_drop_reason check_ipv4(const uint8_t *pkt, size_t len, uint8_t proto, size_t *hdr_len,
                                 size_t *total_len)
{
	if (len < GT_IPV4_HDR_LEN)
		return GT_DROP_TRUNCATED;
	if (pkt[0] >> 4 != 4)
		return GT_DROP_BAD_IP_VERSION;
	size_t ip_hdr_len = (size_t)(pkt[0] & 0x0f) * 4;
	if (ip_hdr_len < GT_IPV4_HDR_LEN || ip_hdr_len > len)
		return GT_DROP_BAD_IP_HDR_LEN;
	size_t total = load_be16(pkt + 2);
	if (total < ip_hdr_len || total > len)
		return GT_DROP_BAD_IP_TOTAL_LEN;
	if (!csum_verifies(gt_csum_add(0, pkt, ip_hdr_len)))
		return GT_DROP_BAD_IP_CSUM;
	if (load_be16(pkt + 6) & (IPV4_FLAG_MF | IPV4_FRAG_OFFSET_MASK))
		return GT_DROP_IP_FRAGMENT;
	if (pkt[9] != proto)
		return GT_DROP_NOT_TCP;
	*hdr_len = ip_hdr_len;
	*total_len = total;
	return GT_DROP_NONE;
}

gt_drop_reason gt_wire_parse(const uint8_t *pkt, size_t len, gt_segment *seg)
{
	size_t ip_hdr_len, total_len;
	gt_drop_reason why = check_ipv4(pkt, len, GT_IP_PROTO_TCP, &ip_hdr_len, &total_len);
	if (why != GT_DROP_NONE)
		return why;
	uint32_t src = load_be32(pkt + 12);
	uint32_t dst = load_be32(pkt + 16);
	if (is_bad_source(src))
		return GT_DROP_BAD_SRC_ADDR;

	/* RFC 791: bytes past the total length are link-layer padding. */
	const uint8_t *tcp = pkt + ip_hdr_len;
	size_t tcp_len = total_len - ip_hdr_len;
	if (tcp_len < GT_TCP_HDR_LEN)
		return GT_DROP_TCP_TRUNCATED;
	size_t tcp_hdr_len = (size_t)(tcp[12] >> 4) * 4;
	if (tcp_hdr_len < GT_TCP_HDR_LEN || tcp_hdr_len > tcp_len)
		return GT_DROP_BAD_TCP_OFFSET;
	uint32_t sum = tcp_pseudo_header_sum(src, dst, tcp_len);
	if (!csum_verifies(gt_csum_add(sum, tcp, tcp_len)))
		return GT_DROP_BAD_TCP_CSUM;
	if (!gt_wire_parse_options(tcp + GT_TCP_HDR_LEN, tcp_hdr_len - GT_TCP_HDR_LEN, &seg->opts))
		return GT_DROP_BAD_TCP_OPTION;

	seg->src_addr = src;
	seg->dst_addr = dst;
	seg->ttl = pkt[8];
	read_tcp_fields(tcp, seg);
	seg->payload = tcp + tcp_hdr_len;
	seg->payload_len = (uint32_t)(tcp_len - tcp_hdr_len);
	return GT_DROP_NONE;
}

bool gt_wire_peek(const uint8_t *pkt, size_t len, gt_segment *seg)
{
	if (len < GT_IPV4_HDR_LEN || pkt[0] >> 4 != 4)
		return false;
	size_t ip_hdr_len = (size_t)(pkt[0] & 0x0f) * 4;
	size_t total_len = load_be16(pkt + 2);
	if (ip_hdr_len < GT_IPV4_HDR_LEN || total_len < ip_hdr_len || total_len > len)
		return false;
	/* A later fragment carries no TCP header at its start. */
	if (load_be16(pkt + 6) & IPV4_FRAG_OFFSET_MASK || pkt[9] != GT_IP_PROTO_TCP)
		return false;
	const uint8_t *tcp = pkt + ip_hdr_len;
	size_t tcp_len = total_len - ip_hdr_len;
	if (tcp_len < GT_TCP_HDR_LEN)
		return false;
	size_t tcp_hdr_len = (size_t)(tcp[12] >> 4) * 4;
	if (tcp_hdr_len < GT_TCP_HDR_LEN || tcp_hdr_len > tcp_len)
		return false;

	seg->src_addr = load_be32(pkt + 12);
	seg->dst_addr = load_be32(pkt + 16);
	seg->ttl = pkt[8];
	read_tcp_fields(tcp, seg);
	/* Best effort for traces: keep the options read before a malformed one. */
	(void)gt_wire_parse_options(tcp + GT_TCP_HDR_LEN, tcp_hdr_len - GT_TCP_HDR_LEN, &seg->opts);
	seg->payload = tcp + tcp_hdr_len;
	seg->payload_len = (uint32_t)(tcp_len - tcp_hdr_len);
	return true;
}

bool gt_wire_is_icmp(const uint8_t *pkt, size_t len)
{
	return len >= GT_IPV4_HDR_LEN && pkt[0] >> 4 == 4 && pkt[9] == GT_IP_PROTO_ICMP;
}

/* RFC 792: the types whose body quotes the datagram they are about. */
static bool icmp_is_error(uint8_t type)
{
	return type == GT_ICMP_DEST_UNREACH || type == GT_ICMP_SOURCE_QUENCH ||
	       type == GT_ICMP_TIME_EXCEEDED || type == GT_ICMP_PARAM_PROBLEM;
}

gt_drop_reason gt_wire_parse_icmp(const uint8_t *pkt, size_t len, gt_icmp_error *out)
{
	size_t ip_hdr_len, total_len;
	gt_drop_reason why = check_ipv4(pkt, len, GT_IP_PROTO_ICMP, &ip_hdr_len, &total_len);
	if (why != GT_DROP_NONE)
		return why;
	const uint8_t *icmp = pkt + ip_hdr_len;
	size_t icmp_len = total_len - ip_hdr_len;
	if (icmp_len < 8)
		return GT_DROP_ICMP_BAD;
	/* RFC 792: the checksum covers the whole ICMP message */
	if (!csum_verifies(gt_csum_add(0, icmp, icmp_len)))
		return GT_DROP_ICMP_BAD;
	if (!icmp_is_error(icmp[0]))
		return GT_DROP_ICMP_IGNORED;
	/* the quoted datagram: an IPv4 header and at least 8 octets after it
	 * (RFC 792; RFC 1812 §4.3.2.3 lets routers quote more) */
	const uint8_t *q = icmp + 8;
	size_t q_len = icmp_len - 8;
	if (q_len < GT_IPV4_HDR_LEN || q[0] >> 4 != 4)
		return GT_DROP_ICMP_BAD;
	size_t q_hdr_len = (size_t)(q[0] & 0x0f) * 4;
	if (q_hdr_len < GT_IPV4_HDR_LEN || q_hdr_len + 8 > q_len)
		return GT_DROP_ICMP_BAD;
	if (q[9] != GT_IP_PROTO_TCP)
		return GT_DROP_ICMP_IGNORED;
	const uint8_t *qt = q + q_hdr_len;
	out->src_addr = load_be32(pkt + 12);
	out->type = icmp[0];
	out->code = icmp[1];
	/* RFC 1191 §4: the next-hop MTU sits in the low 16 bits of the
	 * otherwise unused word */
	out->next_hop_mtu =
	    icmp[0] == GT_ICMP_DEST_UNREACH && icmp[1] == 4 ? load_be16(icmp + 6) : 0;
	out->quoted_total_len = load_be16(q + 2);
	out->local_addr = load_be32(q + 12);
	out->remote_addr = load_be32(q + 16);
	out->local_port = load_be16(qt);
	out->remote_port = load_be16(qt + 2);
	out->seq = load_be32(qt + 4);
	return GT_DROP_NONE;
}

size_t gt_wire_tso_split(const uint8_t *pkt, size_t len, uint32_t mss, uint8_t *scratch,
                         gt_wire_emit_fn emit, void *user)
{
	size_t ip_hdr_len, total_len;
	if (mss == 0 ||
	    check_ipv4(pkt, len, GT_IP_PROTO_TCP, &ip_hdr_len, &total_len) != GT_DROP_NONE ||
	    total_len - ip_hdr_len < GT_TCP_HDR_LEN)
		return 0;
	const uint8_t *tcp = pkt + ip_hdr_len;
	size_t hdr_len = ip_hdr_len + (size_t)(tcp[12] >> 4) * 4;
	if (hdr_len > total_len || hdr_len < ip_hdr_len + GT_TCP_HDR_LEN)
		return 0;
	size_t data_len = total_len - hdr_len;
	if (data_len <= mss) {
		emit(user, pkt, total_len);
		return 1;
	}
	uint32_t seq = load_be32(tcp + 4);
	uint16_t id = load_be16(pkt + 4);
	uint8_t flags = tcp[13];
	size_t n = 0;
	for (size_t off = 0; off < data_len; off += mss, n++) {
		size_t piece = data_len - off < mss ? data_len - off : mss;
		bool last = off + piece == data_len;
		memcpy(scratch, pkt, hdr_len);
		memcpy(scratch + hdr_len, pkt + hdr_len + off, piece);
		uint8_t *t = scratch + ip_hdr_len;
		store_be16(scratch + 2, (uint16_t)(hdr_len + piece));
		store_be16(scratch + 4, (uint16_t)(id + n));
		store_be32(t + 4, seq + (uint32_t)off);
		uint8_t f = flags;
		if (!last)
			f &= (uint8_t) ~(GT_TCP_PSH | GT_TCP_FIN);
		if (off > 0)
			f &= (uint8_t)~GT_TCP_CWR;
		t[13] = f;
		gt_wire_finalize(scratch, hdr_len + piece);
		emit(user, scratch, hdr_len + piece);
	}
	return n;
}
