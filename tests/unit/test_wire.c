/* Wire format (src/wire) and the vocabulary's names (src/base/names.c). */
#include "support.h"
#include "wire/wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HDR      (GT_IPV4_HDR_LEN + GT_TCP_HDR_LEN + GT_TCP_MAX_OPT_LEN)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The textbook RFC 1071 loop, byte pair by byte pair, as an oracle. */
static uint16_t reference_fold(uint32_t initial, const uint8_t *data, size_t len)
{
	uint64_t sum = initial;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)data[i] << 8 | data[i + 1];
	if (len % 2)
		sum += (uint32_t)data[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint64_t xorshift64(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

static gt_segment plain_segment(void)
{
	gt_segment seg;
	memset(&seg, 0, sizeof(seg));
	seg.src_addr = GT_TEST_ADDR(1);
	seg.dst_addr = GT_TEST_ADDR(2);
	seg.src_port = 49152;
	seg.dst_port = 80;
	seg.seq = 0xfedcba98u;
	seg.ack = 0x01234567u;
	seg.flags = GT_TCP_ACK;
	seg.wnd = 29200;
	seg.urp = 0;
	return seg;
}

/* Builds a finalized packet into buf (MAX_HDR + payload_len bytes); returns its length. */
static size_t build_packet(uint8_t *buf, const gt_segment *seg, const uint8_t *payload,
                           uint32_t payload_len, uint16_t ip_id)
{
	size_t hdr = gt_wire_write_headers(buf, seg, payload_len, ip_id);
	if (payload_len)
		memcpy(buf + hdr, payload, payload_len);
	gt_wire_finalize(buf, hdr + payload_len);
	return hdr + payload_len;
}

/* A segment with 12 bytes of option space (timestamps) and 5 bytes of data. */
static size_t build_ts_packet(uint8_t *buf)
{
	gt_segment seg = plain_segment();
	seg.opts.has_ts = true;
	seg.opts.ts_val = 1000;
	seg.opts.ts_ecr = 2000;
	return build_packet(buf, &seg, (const uint8_t *)"hello", 5, 7);
}

static gt_drop_reason parse_copy(const uint8_t *pkt, size_t len)
{
	gt_segment seg;
	return gt_wire_parse(pkt, len, &seg);
}

/* ---- checksum ---- */

static void test_csum_rfc1071_example(void **state)
{
	/* RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 2ddf0, folded ddf2. */
	const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	assert_int_equal(gt_csum_fold(gt_csum_add(0, bytes, sizeof(bytes))), 0xddf2);
	/* Split at an even boundary: the partial sums chain. */
	uint32_t sum = gt_csum_add(0, bytes, 2);
	sum = gt_csum_add(sum, bytes + 2, 6);
	assert_int_equal(gt_csum_fold(sum), 0xddf2);
	/* The unfolded value, for an input the accumulator cannot have folded. */
	assert_int_equal(gt_csum_fold(0x2ddf0), 0xddf2);
}

static void test_csum_odd_length(void **state)
{
	/* RFC 1071 §4.1: the odd byte is the high half of a zero-padded word. */
	const uint8_t bytes[] = {0x00, 0x01, 0xf2};
	assert_int_equal(gt_csum_fold(gt_csum_add(0, bytes, 3)), 0xf201);
	assert_int_equal(gt_csum_fold(gt_csum_add(0, bytes, 0)), 0);
	assert_int_equal(gt_csum_fold(gt_csum_add(0x1234, bytes, 0)), 0x1234);
}

static void test_csum_ipv4_header_vector(void **state)
{
	/* A textbook IPv4 header whose checksum is b861. */
	uint8_t hdr[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
	                 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	assert_int_equal((uint16_t)~gt_csum_fold(gt_csum_add(0, hdr, sizeof(hdr))), 0xb861);
	put_be16(hdr + 10, 0xb861);
	assert_int_equal(gt_csum_fold(gt_csum_add(0, hdr, sizeof(hdr))), 0xffff);
}

static void test_csum_matches_reference_at_any_alignment(void **state)
{
	uint64_t rng = gt_test_seed(1) | 1;
	uint8_t buf[320];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)xorshift64(&rng);
	/* All ones stresses the end-around carries. */
	uint8_t ones[300];
	memset(ones, 0xff, sizeof(ones));

	const uint32_t initials[] = {0, 1, 0xffff, 0x0001fffe, 0xfffffff0u, 0xffffffffu};
	for (size_t k = 0; k < ARRAY_LEN(initials); k++) {
		for (size_t off = 0; off < 8; off++) {
			for (size_t len = 0; len <= 300; len++) {
				uint32_t init = initials[k];
				assert_int_equal(gt_csum_fold(gt_csum_add(init, buf + off, len)),
				                 reference_fold(init, buf + off, len));
				assert_int_equal(gt_csum_fold(gt_csum_add(init, ones, len)),
				                 reference_fold(init, ones, len));
			}
		}
	}
	/* Chaining over even-length pieces equals one pass. */
	uint32_t chained = gt_csum_add(0, buf, 6);
	chained = gt_csum_add(chained, buf + 6, 34);
	chained = gt_csum_add(chained, buf + 40, 101);
	assert_int_equal(gt_csum_fold(chained), reference_fold(0, buf, 141));
}

/* 64 KiB buffers: random bytes at every start alignment, all ones, and words
 * that make every 64-bit add carry (RFC 1071 §2: the end-around carry). */
static void test_csum_large_buffers(void **state)
{
	enum { BIG = 65536 };
	uint8_t *buf = malloc(BIG + 8);
	assert_non_null(buf);
	uint64_t rng = gt_test_seed(2) | 1;
	for (size_t i = 0; i < BIG + 8; i++)
		buf[i] = (uint8_t)xorshift64(&rng);
	const uint32_t initials[] = {0, 0xffff, 0xffffffffu};
	for (size_t k = 0; k < ARRAY_LEN(initials); k++)
		for (size_t off = 0; off < 8; off++)
			for (size_t len = BIG - 3; len <= BIG; len++)
				assert_int_equal(
				    gt_csum_fold(gt_csum_add(initials[k], buf + off, len)),
				    reference_fold(initials[k], buf + off, len));

	memset(buf, 0xff, BIG + 8);
	for (size_t off = 0; off < 8; off++)
		assert_int_equal(gt_csum_fold(gt_csum_add(0xffffffffu, buf + off, BIG)),
		                 reference_fold(0xffffffffu, buf + off, BIG));
	/* ff..ff, 00..01 word pairs and ff fe runs: carries out of every lane. */
	for (size_t i = 0; i < BIG + 8; i++)
		buf[i] = (i % 16 < 8) ? 0xff : (i % 16 == 15 ? 0x01 : 0x00);
	for (size_t off = 0; off < 8; off++)
		assert_int_equal(gt_csum_fold(gt_csum_add(0, buf + off, BIG)),
		                 reference_fold(0, buf + off, BIG));
	for (size_t i = 0; i < BIG + 8; i++)
		buf[i] = (i % 2) ? 0xfe : 0xff;
	for (size_t off = 0; off < 8; off++)
		assert_int_equal(gt_csum_fold(gt_csum_add(0xfffeu, buf + off, BIG - off)),
		                 reference_fold(0xfffeu, buf + off, BIG - off));
	free(buf);
}

/* Chained calls over random even-length pieces (the last of any length) equal
 * one pass, as the pseudo-header and segment sums chain. */
static void test_csum_chained_even_pieces(void **state)
{
	enum { LEN = 4099 };
	static uint8_t buf[LEN];
	uint64_t rng = gt_test_seed(3) | 1;
	for (size_t i = 0; i < LEN; i++)
		buf[i] = (uint8_t)xorshift64(&rng);
	for (int round = 0; round < 200; round++) {
		const uint32_t init = (uint32_t)xorshift64(&rng);
		uint32_t sum = init;
		size_t at = 0;
		while (at < LEN) {
			size_t piece = (size_t)(xorshift64(&rng) % 600) & ~(size_t)1;
			if (piece >= LEN - at)
				piece = LEN - at; /* the last piece: odd is allowed */
			sum = gt_csum_add(sum, buf + at, piece);
			at += piece;
		}
		assert_int_equal(gt_csum_fold(sum), reference_fold(init, buf, LEN));
	}
	/* Deterministic splits, all even but the last. */
	const size_t splits[] = {0, 2, 8, 12, 40, 66, 1460, 2048, 4098};
	for (size_t a = 0; a < ARRAY_LEN(splits); a++) {
		for (size_t b = a; b < ARRAY_LEN(splits); b++) {
			uint32_t sum = gt_csum_add(0x1234, buf, splits[a]);
			sum = gt_csum_add(sum, buf + splits[a], splits[b] - splits[a]);
			sum = gt_csum_add(sum, buf + splits[b], LEN - splits[b]);
			assert_int_equal(gt_csum_fold(sum), reference_fold(0x1234, buf, LEN));
		}
	}
}

static void test_finalize_matches_hand_computed_packet(void **state)
{
	/* 192.0.2.1:49152 > 192.0.2.2:80 PA seq 0x01020304 wnd 65535, MSS 1460,
	 * "hi!", id 0x1234; checksums a491 (IP) and c649 (TCP) computed by hand. */
	const uint8_t expected[] = {0x45, 0x00, 0x00, 0x2f, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06,
	                            0xa4, 0x91, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x02,
	                            0xc0, 0x00, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00,
	                            0x00, 0x00, 0x60, 0x18, 0xff, 0xff, 0xc6, 0x49, 0x00, 0x00,
	                            0x02, 0x04, 0x05, 0xb4, 0x68, 0x69, 0x21};
	gt_segment seg = plain_segment();
	seg.seq = 0x01020304;
	seg.ack = 0;
	seg.flags = GT_TCP_PSH | GT_TCP_ACK;
	seg.wnd = 65535;
	seg.opts.has_mss = true;
	seg.opts.mss = 1460;

	uint8_t buf[MAX_HDR + 3];
	size_t len = build_packet(buf, &seg, (const uint8_t *)"hi!", 3, 0x1234);
	assert_int_equal(len, sizeof(expected));
	assert_memory_equal(buf, expected, sizeof(expected));

	/* Finalizing twice must not fold the old checksums into the new ones. */
	gt_wire_finalize(buf, len);
	assert_memory_equal(buf, expected, sizeof(expected));

	gt_segment out;
	assert_int_equal(gt_wire_parse(expected, sizeof(expected), &out), GT_DROP_NONE);
	assert_int_equal(out.payload_len, 3);
	assert_memory_equal(out.payload, "hi!", 3);
	assert_ptr_equal(out.payload, expected + 44);
}

/* ---- building and parsing ---- */

static void assert_round_trip(const gt_segment *in, const uint8_t *pkt, size_t len,
                              uint32_t payload_len, uint16_t ip_id, unsigned sacks_expected)
{
	/* Fixed IPv4 fields the builder promises. */
	assert_int_equal(pkt[0], 0x45);
	assert_int_equal(get_be16(pkt + 2), len);
	assert_int_equal(get_be16(pkt + 4), ip_id);
	assert_int_equal(get_be16(pkt + 6), 0x4000);
	assert_int_equal(pkt[8], 64);
	assert_int_equal(pkt[9], 6);
	size_t tcp_hdr = (size_t)(pkt[32] >> 4) * 4;
	assert_int_equal(GT_IPV4_HDR_LEN + tcp_hdr + payload_len, len);
	assert_true(tcp_hdr >= GT_TCP_HDR_LEN && tcp_hdr <= GT_TCP_HDR_LEN + GT_TCP_MAX_OPT_LEN);

	gt_segment out;
	memset(&out, 0xa5, sizeof(out));
	assert_int_equal(gt_wire_parse(pkt, len, &out), GT_DROP_NONE);
	assert_int_equal(out.src_addr, in->src_addr);
	assert_int_equal(out.dst_addr, in->dst_addr);
	assert_int_equal(out.src_port, in->src_port);
	assert_int_equal(out.dst_port, in->dst_port);
	assert_int_equal(out.seq, in->seq);
	assert_int_equal(out.ack, in->ack);
	assert_int_equal(out.flags, in->flags);
	assert_int_equal(out.wnd, in->wnd);
	assert_int_equal(out.urp, in->urp);
	assert_int_equal(out.ttl, 64);
	assert_int_equal(out.payload_len, payload_len);
	assert_ptr_equal(out.payload, pkt + GT_IPV4_HDR_LEN + tcp_hdr);

	const gt_tcp_opts *o = &out.opts;
	assert_int_equal(o->has_mss, in->opts.has_mss);
	if (o->has_mss)
		assert_int_equal(o->mss, in->opts.mss);
	assert_int_equal(o->has_wscale, in->opts.has_wscale);
	if (o->has_wscale)
		assert_int_equal(o->wscale, in->opts.wscale);
	assert_int_equal(o->sack_permitted, in->opts.sack_permitted);
	assert_int_equal(o->has_ts, in->opts.has_ts);
	if (o->has_ts) {
		assert_int_equal(o->ts_val, in->opts.ts_val);
		assert_int_equal(o->ts_ecr, in->opts.ts_ecr);
	}
	assert_int_equal(o->sack_count, sacks_expected);
	for (unsigned i = 0; i < sacks_expected; i++) {
		assert_int_equal(o->sack[i].left, in->opts.sack[i].left);
		assert_int_equal(o->sack[i].right, in->opts.sack[i].right);
	}

	gt_segment peeked;
	assert_true(gt_wire_peek(pkt, len, &peeked));
	assert_int_equal(peeked.seq, in->seq);
	assert_int_equal(peeked.opts.sack_count, sacks_expected);
	assert_int_equal(peeked.payload_len, payload_len);
}

static void test_round_trip_every_option_combination(void **state)
{
	static uint8_t payload[1000];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	const uint32_t payload_lens[] = {0, 1, 2, 3, 536, 1000};

	for (unsigned mask = 0; mask < 16; mask++) {
		for (unsigned sacks = 0; sacks <= 4; sacks++) {
			for (size_t p = 0; p < ARRAY_LEN(payload_lens); p++) {
				gt_segment seg = plain_segment();
				seg.flags = (uint8_t)(GT_TCP_ACK | (mask & 1 ? GT_TCP_SYN : 0));
				seg.urp = (uint16_t)(mask * 3);
				seg.opts.has_mss = mask & 1;
				seg.opts.mss = 1460;
				seg.opts.has_wscale = mask & 2;
				seg.opts.wscale = 7;
				seg.opts.sack_permitted = mask & 4;
				seg.opts.has_ts = mask & 8;
				seg.opts.ts_val = 0x80000001u;
				seg.opts.ts_ecr = 0xfffffffeu;
				seg.opts.sack_count = (uint8_t)sacks;
				for (unsigned b = 0; b < 4; b++) {
					seg.opts.sack[b].left = 0x10000000u * (b + 1) + 1;
					seg.opts.sack[b].right = 0x10000000u * (b + 1) + 1001;
				}
				/* Option bytes before SACK, each group 4-aligned. */
				unsigned used = (seg.opts.has_mss ? 4u : 0u) +
				                (seg.opts.has_ts           ? 12u
				                 : seg.opts.sack_permitted ? 4u
				                                           : 0u) +
				                (seg.opts.has_wscale ? 4u : 0u);
				unsigned fit = (GT_TCP_MAX_OPT_LEN - used - 4) / 8;
				unsigned expected_sacks = sacks < fit ? sacks : fit;

				uint8_t buf[MAX_HDR + 1000];
				uint16_t ip_id = (uint16_t)(mask * 100 + sacks * 10 + p);
				size_t len =
				    build_packet(buf, &seg, payload, payload_lens[p], ip_id);
				assert_int_equal(
				    len, 40 + used + (expected_sacks ? 4 + 8 * expected_sacks : 0) +
				             payload_lens[p]);
				assert_round_trip(&seg, buf, len, payload_lens[p], ip_id,
				                  expected_sacks);
			}
		}
	}
}

/* FreeBSD's layout (docs/profiles.md): MSS, NOP + window scale,
 * SACK-permitted, timestamps (at 2 mod 4), SACK blocks (at 2 mod 4), the end
 * padded with EOL; and every layout parses back to the same options. */
static void test_options_freebsd_layout(void **state)
{
	uint8_t buf[MAX_HDR];
	gt_segment syn = plain_segment();
	syn.flags = GT_TCP_SYN;
	syn.opt_layout = GT_OPT_LAYOUT_FREEBSD;
	syn.opts.has_mss = true;
	syn.opts.mss = 1460;
	syn.opts.sack_permitted = true;
	syn.opts.has_ts = true;
	syn.opts.ts_val = 0x01020304;
	syn.opts.has_wscale = true;
	syn.opts.wscale = 6;
	const uint8_t bsd_syn[] = {0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x06, 0x04, 0x02,
	                           0x08, 0x0a, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00};
	assert_int_equal(gt_wire_write_headers(buf, &syn, 0, 0), 40 + sizeof(bsd_syn));
	assert_memory_equal(buf + 40, bsd_syn, sizeof(bsd_syn));
	gt_segment back;
	gt_wire_finalize(buf, 40 + sizeof(bsd_syn));
	assert_int_equal(gt_wire_parse(buf, 40 + sizeof(bsd_syn), &back), GT_DROP_NONE);
	assert_true(back.opts.has_mss && back.opts.sack_permitted && back.opts.has_ts &&
	            back.opts.has_wscale);
	assert_int_equal(back.opts.wscale, 6);
	assert_int_equal(back.opts.ts_val, 0x01020304);

	/* without timestamps: <mss,nop,wscale,sackOK,eol,eol> */
	syn.opts.has_ts = false;
	const uint8_t bsd_no_ts[] = {0x02, 0x04, 0x05, 0xb4, 0x01, 0x03,
	                             0x03, 0x06, 0x04, 0x02, 0x00, 0x00};
	assert_int_equal(gt_wire_write_headers(buf, &syn, 0, 0), 40 + sizeof(bsd_no_ts));
	assert_memory_equal(buf + 40, bsd_no_ts, sizeof(bsd_no_ts));

	/* an ACK: <nop,nop,TS,nop,nop,sack ...>, three blocks beside timestamps */
	gt_segment ack = plain_segment();
	ack.opt_layout = GT_OPT_LAYOUT_FREEBSD;
	ack.opts.has_ts = true;
	ack.opts.ts_val = 5;
	ack.opts.ts_ecr = 6;
	ack.opts.sack_count = 4;
	for (unsigned b = 0; b < 4; b++) {
		ack.opts.sack[b].left = 100 * b;
		ack.opts.sack[b].right = 100 * b + 50;
	}
	const uint8_t ts_sack[] = {0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 5,   0, 0,  0, 6,  0x01, 0x01,
	                           0x05, 0x1a, 0,    0,    0, 0, 0, 0,   0, 50, 0, 0,  0,    100,
	                           0,    0,    0,    150,  0, 0, 0, 200, 0, 0,  0, 250};
	assert_int_equal(gt_wire_write_headers(buf, &ack, 0, 0), 40 + sizeof(ts_sack));
	assert_memory_equal(buf + 40, ts_sack, sizeof(ts_sack));
	/* without timestamps: NOP NOP SACK, all four blocks */
	ack.opts.has_ts = false;
	assert_int_equal(gt_wire_write_headers(buf, &ack, 0, 0), 40 + 4 + 32);
	assert_int_equal(buf[40], 0x01);
	assert_int_equal(buf[42], 0x05);
	assert_int_equal(buf[43], 34);
}

/* What gt_wire_tso_split emitted. */
typedef struct pieces {
	size_t n;
	gt_segment seg[8];
	uint8_t data[8][1200];
	uint16_t ip_id[8];
	size_t len[8];
} pieces;

static void keep_piece(void *user, const uint8_t *pkt, size_t len)
{
	pieces *p = user;
	assert_true(p->n < 8);
	/* each piece is a well-formed packet with good checksums */
	assert_int_equal(gt_wire_parse(pkt, len, &p->seg[p->n]), GT_DROP_NONE);
	uint32_t n = p->seg[p->n].payload_len;
	memcpy(p->data[p->n], p->seg[p->n].payload,
	       n < sizeof(p->data[0]) ? n : sizeof(p->data[0]));
	p->ip_id[p->n] = (uint16_t)(pkt[4] << 8 | pkt[5]);
	p->len[p->n] = len;
	p->n++;
}

/* A TSO segment cut as a device would: MSS-sized pieces in order, the same
 * options, PSH and FIN on the last only, IP ids counting up, checksums good;
 * what is MSS-sized already goes as it is; junk is refused. */
static void test_tso_split(void **state)
{
	static uint8_t pkt[MAX_HDR + 3000], scratch[MAX_HDR + 1000];
	uint8_t data[2500];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	gt_segment seg = plain_segment();
	seg.flags = GT_TCP_ACK | GT_TCP_PSH | GT_TCP_FIN;
	seg.opts.has_ts = true;
	seg.opts.ts_val = 77;
	seg.opts.ts_ecr = 88;
	size_t hl = gt_wire_write_headers(pkt, &seg, sizeof(data), 1000);
	memcpy(pkt + hl, data, sizeof(data));
	gt_wire_finalize(pkt, hl + sizeof(data));
	pieces p = {0};
	assert_int_equal(gt_wire_tso_split(pkt, hl + sizeof(data), 1000, scratch, keep_piece, &p),
	                 3);
	assert_int_equal(p.n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(p.seg[i].seq, seg.seq + 1000 * i);
		assert_int_equal(p.seg[i].ack, seg.ack);
		assert_int_equal(p.seg[i].payload_len, i < 2 ? 1000 : 500);
		assert_memory_equal(p.data[i], data + 1000 * i, p.seg[i].payload_len);
		assert_int_equal(p.seg[i].flags, i < 2 ? GT_TCP_ACK : seg.flags);
		assert_true(p.seg[i].opts.has_ts);
		assert_int_equal(p.seg[i].opts.ts_val, 77);
		assert_int_equal(p.ip_id[i], 1000 + i);
		assert_int_equal(p.len[i], hl + p.seg[i].payload_len);
	}
	/* an MSS-sized packet: as it is */
	memset(&p, 0, sizeof(p));
	assert_int_equal(gt_wire_tso_split(pkt, hl + sizeof(data), 2500, scratch, keep_piece, &p),
	                 1);
	assert_int_equal(p.seg[0].payload_len, 2500);
	assert_int_equal(p.len[0], hl + 2500);
	assert_int_equal(p.seg[0].flags, seg.flags);
	/* junk: nothing emitted */
	memset(&p, 0, sizeof(p));
	pkt[0] = 0x65;
	assert_int_equal(gt_wire_tso_split(pkt, hl + sizeof(data), 1000, scratch, keep_piece, &p),
	                 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(gt_wire_tso_split(pkt, hl + sizeof(data), 0, scratch, keep_piece, &p), 0);
}

static void test_options_canonical_layout(void **state)
{
	uint8_t buf[MAX_HDR];
	gt_segment syn = plain_segment();
	syn.flags = GT_TCP_SYN;
	syn.opts.has_mss = true;
	syn.opts.mss = 1460;
	syn.opts.sack_permitted = true;
	syn.opts.has_ts = true;
	syn.opts.ts_val = 0x01020304;
	syn.opts.ts_ecr = 0;
	syn.opts.has_wscale = true;
	syn.opts.wscale = 7;
	/* Linux's SYN: MSS, SACK-permitted + timestamps, NOP + window scale. */
	const uint8_t linux_syn[] = {0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x01, 0x02,
	                             0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07};
	assert_int_equal(gt_wire_write_headers(buf, &syn, 0, 0), 40 + sizeof(linux_syn));
	assert_int_equal(buf[32], 0xa0);
	assert_memory_equal(buf + 40, linux_syn, sizeof(linux_syn));

	/* Without timestamps SACK-permitted gets the NOPs. */
	syn.opts.has_ts = false;
	const uint8_t no_ts[] = {0x02, 0x04, 0x05, 0xb4, 0x01, 0x01,
	                         0x04, 0x02, 0x01, 0x03, 0x03, 0x07};
	assert_int_equal(gt_wire_write_headers(buf, &syn, 0, 0), 40 + sizeof(no_ts));
	assert_memory_equal(buf + 40, no_ts, sizeof(no_ts));

	/* Timestamps without SACK-permitted: NOP NOP timestamps. */
	gt_segment ack = plain_segment();
	ack.opts.has_ts = true;
	ack.opts.ts_val = 5;
	ack.opts.ts_ecr = 6;
	ack.opts.sack_count = 4;
	for (unsigned b = 0; b < 4; b++) {
		ack.opts.sack[b].left = 100 * b;
		ack.opts.sack[b].right = 100 * b + 50;
	}
	/* Timestamps leave room for three SACK blocks: the newest three. */
	const uint8_t ts_sack[] = {0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 5,   0, 0,  0, 6,  0x01, 0x01,
	                           0x05, 0x1a, 0,    0,    0, 0, 0, 0,   0, 50, 0, 0,  0,    100,
	                           0,    0,    0,    150,  0, 0, 0, 200, 0, 0,  0, 250};
	assert_int_equal(gt_wire_write_headers(buf, &ack, 0, 0), 40 + sizeof(ts_sack));
	assert_int_equal(buf[32], 0xf0);
	assert_memory_equal(buf + 40, ts_sack, sizeof(ts_sack));

	/* Without timestamps all four blocks fit. */
	ack.opts.has_ts = false;
	assert_int_equal(gt_wire_write_headers(buf, &ack, 0, 0), 40 + 4 + 32);
	assert_int_equal(buf[43], 34);

	/* No options: a bare 20-byte TCP header. */
	gt_segment bare = plain_segment();
	assert_int_equal(gt_wire_write_headers(buf, &bare, 0, 0), 40);
	assert_int_equal(buf[32], 0x50);
}

static void test_trailing_link_padding_ignored(void **state)
{
	uint8_t buf[MAX_HDR + 16];
	size_t len = build_ts_packet(buf);
	memset(buf + len, 0xee, 6);
	gt_segment out;
	assert_int_equal(gt_wire_parse(buf, len + 6, &out), GT_DROP_NONE);
	assert_int_equal(out.payload_len, 5);
	assert_memory_equal(out.payload, "hello", 5);
	assert_true(gt_wire_peek(buf, len + 6, &out));
	assert_int_equal(out.payload_len, 5);
}

static void test_ip_options_skipped(void **state)
{
	uint8_t plain[MAX_HDR + 8];
	size_t plain_len = build_ts_packet(plain);

	/* Insert 4 bytes of IP options (NOP NOP NOP EOL) and grow IHL to 6. */
	uint8_t buf[MAX_HDR + 16];
	memcpy(buf, plain, 20);
	const uint8_t ip_opts[] = {1, 1, 1, 0};
	memcpy(buf + 20, ip_opts, 4);
	memcpy(buf + 24, plain + 20, plain_len - 20);
	size_t len = plain_len + 4;
	buf[0] = 0x46;
	put_be16(buf + 2, (uint16_t)len);
	gt_wire_finalize(buf, len);

	gt_segment out;
	assert_int_equal(gt_wire_parse(buf, len, &out), GT_DROP_NONE);
	assert_true(out.opts.has_ts);
	assert_int_equal(out.opts.ts_val, 1000);
	assert_int_equal(out.payload_len, 5);
	assert_memory_equal(out.payload, "hello", 5);
}

/* ---- malformed packets ---- */

static void test_truncated_at_every_length(void **state)
{
	uint8_t full[MAX_HDR + 8];
	size_t full_len = build_ts_packet(full);
	for (size_t len = 0; len <= full_len; len++) {
		/* Exactly len bytes, so ASan sees any read past the end. */
		uint8_t *pkt = malloc(len);
		assert_non_null(pkt);
		if (len)
			memcpy(pkt, full, len);
		gt_segment out;
		gt_drop_reason r = gt_wire_parse(pkt, len, &out);
		if (len == full_len)
			assert_int_equal(r, GT_DROP_NONE);
		else if (len < GT_IPV4_HDR_LEN)
			assert_int_equal(r, GT_DROP_TRUNCATED);
		else
			assert_int_equal(r, GT_DROP_BAD_IP_TOTAL_LEN);
		assert_int_equal(gt_wire_peek(pkt, len, &out), len == full_len);
		free(pkt);
	}
}

static void test_bad_ip_version(void **state)
{
	uint8_t buf[MAX_HDR + 8];
	size_t len = build_ts_packet(buf);
	buf[0] = 0x65;
	assert_int_equal(parse_copy(buf, len), GT_DROP_BAD_IP_VERSION);
}

static void test_bad_ip_header_length(void **state)
{
	uint8_t buf[MAX_HDR + 8];
	size_t len = build_ts_packet(buf);
	buf[0] = 0x44;
	assert_int_equal(parse_copy(buf, len), GT_DROP_BAD_IP_HDR_LEN);
	buf[0] = 0x40;
	assert_int_equal(parse_copy(buf, len), GT_DROP_BAD_IP_HDR_LEN);
	/* IHL 15 (60 bytes) past a 24-byte packet. */
	buf[0] = 0x4f;
	assert_int_equal(parse_copy(buf, 24), GT_DROP_BAD_IP_HDR_LEN);
}

static void test_bad_ip_total_length(void **state)
{
	uint8_t buf[MAX_HDR + 8];
	size_t len = build_ts_packet(buf);
	put_be16(buf + 2, (uint16_t)(len + 1));
	gt_wire_finalize(buf, len);
	assert_int_equal(parse_copy(buf, len), GT_DROP_BAD_IP_TOTAL_LEN);
	put_be16(buf + 2, 19);
	gt_wire_finalize(buf, len);
	assert_int_equal(parse_copy(buf, len), GT_DROP_BAD_IP_TOTAL_LEN);
}

static void test_bad_ip_checksum(void **state)
{
	uint8_t buf[MAX_HDR + 8];
	size_t len = build_ts_packet(buf);
	buf[10] ^= 0x01;
	assert_int_equal(parse_copy(buf, len), GT_DROP_BAD_IP_CSUM);
	buf[10] ^= 0x01;
	/* A changed TTL without a new checksum. */
	buf[8]--;
	assert_int_equal(parse_copy(buf, len), GT_DROP_BAD_IP_CSUM);
	/* The checksum is checked before the fragment and protocol fields. */
	buf[9] = 17;
	put_be16(buf + 6, 0x2000);
	assert_int_equal(parse_copy(buf, len), GT_DROP_BAD_IP_CSUM);
}

static void test_ip_fragments(void **state)
{
	uint8_t buf[MAX_HDR + 8];
	size_t len = build_ts_packet(buf);

	put_be16(buf + 6, 0x2000); /* MF, offset 0 */
	gt_wire_finalize(buf, len);
	assert_int_equal(parse_copy(buf, len), GT_DROP_IP_FRAGMENT);

	put_be16(buf + 6, 0x0001); /* last fragment, offset 8 */
	gt_wire_finalize(buf, len);
	assert_int_equal(parse_copy(buf, len), GT_DROP_IP_FRAGMENT);

	put_be16(buf + 6, 0x4000 | 0x0100); /* DF with a stray offset */
	gt_wire_finalize(buf, len);
	assert_int_equal(parse_copy(buf, len), GT_DROP_IP_FRAGMENT);

	/* Fragment wins over a non-TCP protocol. */
	buf[9] = 17;
	gt_wire_finalize(buf, len);
	assert_int_equal(parse_copy(buf, len), GT_DROP_IP_FRAGMENT);

	put_be16(buf + 6, 0x0000); /* DF clear, not a fragment */
	buf[9] = 6;
	gt_wire_finalize(buf, len);
	assert_int_equal(parse_copy(buf, len), GT_DROP_NONE);
}

static void test_not_tcp(void **state)
{
	uint8_t buf[MAX_HDR + 8];
	size_t len = build_ts_packet(buf);
	buf[9] = 17; /* UDP */
	gt_wire_finalize(buf, len);
	assert_int_equal(parse_copy(buf, len), GT_DROP_NOT_TCP);
	/* Protocol is checked before the source address. */
	memset(buf + 12, 0xff, 4);
	gt_wire_finalize(buf, len);
	assert_int_equal(parse_copy(buf, len), GT_DROP_NOT_TCP);
	gt_segment out;
	assert_false(gt_wire_peek(buf, len, &out));
}

static void test_bad_source_address(void **state)
{
	const uint32_t bad[] = {0, 0x00010203u /* 0/8 */, 0xffffffffu, 0xe0000001u /* 224.0.0.1 */,
	                        0xefffffffu /* 239.255.255.255 */};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		uint8_t buf[MAX_HDR];
		gt_segment seg = plain_segment();
		seg.src_addr = bad[i];
		size_t len = build_packet(buf, &seg, NULL, 0, 1);
		assert_int_equal(parse_copy(buf, len), GT_DROP_BAD_SRC_ADDR);
	}
	/* Just outside the multicast block either side, and loopback (which only
	 * the stack, knowing its own address, refuses). */
	const uint32_t good[] = {0xdfffffffu, 0xf0000000u, 0x7f000001u, 0x01000000u};
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		uint8_t buf[MAX_HDR];
		gt_segment seg = plain_segment();
		seg.src_addr = good[i];
		size_t len = build_packet(buf, &seg, NULL, 0, 1);
		assert_int_equal(parse_copy(buf, len), GT_DROP_NONE);
	}
}

static void test_tcp_truncated(void **state)
{
	uint8_t buf[MAX_HDR + 8] = {0};
	build_ts_packet(buf);
	/* The IP datagram ends 10 bytes into the TCP header. */
	put_be16(buf + 2, 30);
	gt_wire_finalize(buf, 30);
	assert_int_equal(parse_copy(buf, 30), GT_DROP_TCP_TRUNCATED);
	/* Total length governs, not the bytes received. */
	assert_int_equal(parse_copy(buf, sizeof(buf)), GT_DROP_TCP_TRUNCATED);
	gt_segment out;
	assert_false(gt_wire_peek(buf, 30, &out));
}

static void test_bad_tcp_offset(void **state)
{
	uint8_t buf[MAX_HDR + 8];
	size_t len = build_ts_packet(buf);
	buf[32] = 0x40; /* 16 bytes: shorter than the fixed header */
	gt_wire_finalize(buf, len);
	assert_int_equal(parse_copy(buf, len), GT_DROP_BAD_TCP_OFFSET);

	/* 60 bytes of header in a 37-byte segment. */
	buf[32] = 0xf0;
	gt_wire_finalize(buf, len);
	assert_int_equal(parse_copy(buf, len), GT_DROP_BAD_TCP_OFFSET);
	gt_segment out;
	assert_false(gt_wire_peek(buf, len, &out));

	/* A header reaching into what was data is fine if the bytes are options:
	 * turn the first four data bytes into NOPs and take 36 of the 37 bytes. */
	memset(buf + 52, 1, 4);
	buf[32] = 0x90;
	gt_wire_finalize(buf, len);
	assert_int_equal(gt_wire_parse(buf, len, &out), GT_DROP_NONE);
	assert_int_equal(out.payload_len, 1);
	assert_int_equal(out.payload[0], 'o');
}

static void test_bad_tcp_checksum(void **state)
{
	uint8_t buf[MAX_HDR + 8];
	size_t len = build_ts_packet(buf);
	buf[len - 1] ^= 0x40;
	assert_int_equal(parse_copy(buf, len), GT_DROP_BAD_TCP_CSUM);
	buf[len - 1] ^= 0x40;
	assert_int_equal(parse_copy(buf, len), GT_DROP_NONE);

	/* The pseudo-header is covered: a changed destination (with a fixed IP
	 * checksum) breaks the TCP checksum. */
	buf[19] ^= 0x01;
	uint8_t saved_tcp_csum[2] = {buf[36], buf[37]};
	gt_wire_finalize(buf, len);
	buf[36] = saved_tcp_csum[0];
	buf[37] = saved_tcp_csum[1];
	assert_int_equal(parse_copy(buf, len), GT_DROP_BAD_TCP_CSUM);
}

/* Rewrites the 12 option bytes of a timestamp packet and fixes the checksums. */
static gt_drop_reason parse_with_options(const uint8_t opts[12])
{
	uint8_t buf[MAX_HDR + 8];
	size_t len = build_ts_packet(buf);
	memcpy(buf + 40, opts, 12);
	gt_wire_finalize(buf, len);
	return parse_copy(buf, len);
}

static void test_bad_tcp_options_in_packets(void **state)
{
	const uint8_t len0[12] = {1, 1, 99, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(parse_with_options(len0), GT_DROP_BAD_TCP_OPTION);
	const uint8_t len1[12] = {2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(parse_with_options(len1), GT_DROP_BAD_TCP_OPTION);
	const uint8_t overrun[12] = {1, 1, 1, 1, 8, 10, 0, 0, 0, 0, 0, 0};
	assert_int_equal(parse_with_options(overrun), GT_DROP_BAD_TCP_OPTION);
	const uint8_t no_len_byte[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2};
	assert_int_equal(parse_with_options(no_len_byte), GT_DROP_BAD_TCP_OPTION);
	const uint8_t fine[12] = {99, 4, 0xde, 0xad, 2, 4, 0x05, 0xb4, 0, 0, 0, 0};
	assert_int_equal(parse_with_options(fine), GT_DROP_NONE);
}

/* ---- options ---- */

static void test_options_sack_three_blocks(void **state)
{
	const uint8_t opt[] = {1,    1,    5,    26,   0,    0,    0, 1, 0, 0, 0, 2, 0xff, 0xff,
	                       0xff, 0xf0, 0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0, 0, 0, 2,    0};
	gt_tcp_opts o;
	assert_true(gt_wire_parse_options(opt, sizeof(opt), &o));
	assert_int_equal(o.sack_count, 3);
	assert_int_equal(o.sack[0].left, 1);
	assert_int_equal(o.sack[0].right, 2);
	assert_int_equal(o.sack[1].left, 0xfffffff0u);
	assert_int_equal(o.sack[1].right, 0xffffffffu);
	assert_int_equal(o.sack[2].left, 256);
	assert_int_equal(o.sack[2].right, 512);
	assert_false(o.has_mss || o.has_ts || o.has_wscale || o.sack_permitted);
}

static void test_options_unknown_kind_skipped(void **state)
{
	const uint8_t opt[] = {99, 6, 2, 4, 0x05, 0xb4, 3, 3, 9, 1};
	gt_tcp_opts o;
	assert_true(gt_wire_parse_options(opt, sizeof(opt), &o));
	/* The MSS-looking bytes were inside kind 99's body. */
	assert_false(o.has_mss);
	assert_true(o.has_wscale);
	assert_int_equal(o.wscale, 9);
}

static void test_options_eol_stops(void **state)
{
	/* Anything after EOL, even an invalid length, is not looked at. */
	const uint8_t opt[] = {2, 4, 0x02, 0x18, 0, 2, 0, 3, 1};
	gt_tcp_opts o;
	assert_true(gt_wire_parse_options(opt, sizeof(opt), &o));
	assert_true(o.has_mss);
	assert_int_equal(o.mss, 536);
	assert_false(o.has_wscale);
}

static void test_options_malformed_lengths(void **state)
{
	gt_tcp_opts o;
	const uint8_t len0[] = {99, 0, 1, 1};
	assert_false(gt_wire_parse_options(len0, sizeof(len0), &o));
	const uint8_t len1[] = {8, 1, 1, 1};
	assert_false(gt_wire_parse_options(len1, sizeof(len1), &o));
	const uint8_t overrun[] = {1, 2, 4, 0x05};
	assert_false(gt_wire_parse_options(overrun, sizeof(overrun), &o));
	const uint8_t kind_at_end[] = {1, 1, 1, 3};
	assert_false(gt_wire_parse_options(kind_at_end, sizeof(kind_at_end), &o));
	/* The options before the bad one are kept (gt_wire_peek relies on it). */
	const uint8_t mss_then_bad[] = {2, 4, 0x05, 0xb4, 99, 0};
	assert_false(gt_wire_parse_options(mss_then_bad, sizeof(mss_then_bad), &o));
	assert_true(o.has_mss);
	assert_true(gt_wire_parse_options(NULL, 0, &o));
}

static void test_options_wrong_length_known_kind_skipped(void **state)
{
	gt_tcp_opts o;
	/* MSS of length 3, timestamps of length 6, SACK-permitted of length 3. */
	const uint8_t opt[] = {2, 3, 0x05, 8, 6, 0, 0, 0, 1, 4, 3, 0, 1, 3, 3, 2};
	assert_true(gt_wire_parse_options(opt, sizeof(opt), &o));
	assert_false(o.has_mss);
	assert_false(o.has_ts);
	assert_false(o.sack_permitted);
	assert_true(o.has_wscale);
	assert_int_equal(o.wscale, 2);
	/* SACK with no blocks and with a partial block. */
	const uint8_t sack_bad[] = {5, 2, 5, 6, 0, 0, 0, 1, 1, 1};
	assert_true(gt_wire_parse_options(sack_bad, sizeof(sack_bad), &o));
	assert_int_equal(o.sack_count, 0);
}

static void test_options_wscale_clamped(void **state)
{
	gt_tcp_opts o;
	/* RFC 7323 §2.3: a shift above 14 is used as 14. */
	const uint8_t opt15[] = {1, 3, 3, 15};
	assert_true(gt_wire_parse_options(opt15, sizeof(opt15), &o));
	assert_true(o.has_wscale);
	assert_int_equal(o.wscale, 14);
	const uint8_t opt255[] = {1, 3, 3, 255};
	assert_true(gt_wire_parse_options(opt255, sizeof(opt255), &o));
	assert_int_equal(o.wscale, 14);
	const uint8_t opt14[] = {1, 3, 3, 14};
	assert_true(gt_wire_parse_options(opt14, sizeof(opt14), &o));
	assert_int_equal(o.wscale, 14);
}

static void test_options_all_known_kinds(void **state)
{
	const uint8_t opt[] = {2, 4, 0x23, 0x28, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8, 1, 3, 3, 0};
	gt_tcp_opts o;
	memset(&o, 0x5a, sizeof(o));
	assert_true(gt_wire_parse_options(opt, sizeof(opt), &o));
	assert_true(o.has_mss);
	assert_int_equal(o.mss, 9000);
	assert_true(o.sack_permitted);
	assert_true(o.has_ts);
	assert_int_equal(o.ts_val, 9);
	assert_int_equal(o.ts_ecr, 8);
	assert_true(o.has_wscale);
	assert_int_equal(o.wscale, 0);
	assert_int_equal(o.sack_count, 0);
}

/* ---- peek ---- */

static void test_peek_skips_checksums_and_bad_options(void **state)
{
	uint8_t buf[MAX_HDR + 8];
	size_t len = build_ts_packet(buf);
	buf[10] ^= 0xff;
	buf[36] ^= 0xff;
	gt_segment out;
	assert_true(gt_wire_peek(buf, len, &out));
	assert_int_equal(out.src_addr, GT_TEST_ADDR(1));
	assert_int_equal(out.dst_addr, GT_TEST_ADDR(2));
	assert_int_equal(out.seq, 0xfedcba98u);
	assert_int_equal(out.ack, 0x01234567u);
	assert_int_equal(out.flags, GT_TCP_ACK);
	assert_int_equal(out.wnd, 29200);
	assert_true(out.opts.has_ts);
	assert_int_equal(out.payload_len, 5);

	/* Malformed options: header fields still read, options best effort. */
	const uint8_t opts[12] = {2, 4, 0x05, 0xb4, 99, 0, 0, 0, 0, 0, 0, 0};
	memcpy(buf + 40, opts, 12);
	assert_true(gt_wire_peek(buf, len, &out));
	assert_true(out.opts.has_mss);
	assert_int_equal(out.opts.mss, 1460);
	assert_false(out.opts.has_ts);

	/* A later fragment has no TCP header; version 6 is not ours. */
	put_be16(buf + 6, 0x0010);
	assert_false(gt_wire_peek(buf, len, &out));
	put_be16(buf + 6, 0x4000);
	buf[0] = 0x60;
	assert_false(gt_wire_peek(buf, len, &out));
	assert_false(gt_wire_peek(buf, 0, &out));
}

/* ---- random mutations ---- */

static bool is_wire_reason(gt_drop_reason r)
{
	switch (r) {
	case GT_DROP_NONE:
	case GT_DROP_TRUNCATED:
	case GT_DROP_BAD_IP_VERSION:
	case GT_DROP_BAD_IP_HDR_LEN:
	case GT_DROP_BAD_IP_TOTAL_LEN:
	case GT_DROP_BAD_IP_CSUM:
	case GT_DROP_IP_FRAGMENT:
	case GT_DROP_NOT_TCP:
	case GT_DROP_BAD_SRC_ADDR:
	case GT_DROP_TCP_TRUNCATED:
	case GT_DROP_BAD_TCP_OFFSET:
	case GT_DROP_BAD_TCP_CSUM:
	case GT_DROP_BAD_TCP_OPTION:
		return true;
	default:
		return false;
	}
}

static void test_random_mutations_stay_in_bounds(void **state)
{
	enum { ITERATIONS = 100000, SLACK = 16 };
	uint64_t rng = gt_test_seed(1);
	if (rng == 0)
		rng = 0x9e3779b97f4a7c15u;

	/* Templates: a SYN with every SYN option, and a data segment with SACKs. */
	uint8_t templates[2][MAX_HDR + 64];
	size_t template_len[2];
	gt_segment syn = plain_segment();
	syn.flags = GT_TCP_SYN;
	syn.opts.has_mss = syn.opts.has_wscale = syn.opts.sack_permitted = syn.opts.has_ts = true;
	syn.opts.mss = 1460;
	syn.opts.wscale = 7;
	template_len[0] = build_packet(templates[0], &syn, NULL, 0, 1);
	gt_segment data = plain_segment();
	data.opts.has_ts = true;
	data.opts.sack_count = 3;
	uint8_t payload[64];
	memset(payload, 'x', sizeof(payload));
	template_len[1] = build_packet(templates[1], &data, payload, sizeof(payload), 2);

	unsigned long counts[GT_DROP_REASON_COUNT] = {0};
	for (unsigned long iter = 0; iter < ITERATIONS; iter++) {
		unsigned t = (unsigned)(xorshift64(&rng) % 2);
		uint8_t scratch[MAX_HDR + 64 + SLACK];
		size_t len = template_len[t];
		memcpy(scratch, templates[t], len);
		for (size_t i = len; i < sizeof(scratch); i++)
			scratch[i] = (uint8_t)xorshift64(&rng);

		uint64_t r = xorshift64(&rng);
		unsigned flips = 1 + (unsigned)(r % 4);
		bool keep_ip_header = (r >> 8) % 4 != 0;
		for (unsigned f = 0; f < flips; f++) {
			uint64_t rr = xorshift64(&rng);
			/* Mostly aim at the TCP header and options, where the
			 * interesting parsing is; keep the IP header valid so the
			 * checksums can be repaired and the deep checks reached. */
			size_t lo = keep_ip_header ? GT_IPV4_HDR_LEN : 0;
			size_t pos = lo + (size_t)(rr % (len - lo));
			if (rr >> 32 & 1)
				scratch[pos] = (uint8_t)(rr >> 40);
			else
				scratch[pos] ^= (uint8_t)(1u << (rr >> 40) % 8);
		}
		if (keep_ip_header && (r >> 16) % 8 != 0)
			gt_wire_finalize(scratch, len);
		switch ((r >> 24) % 8) {
		case 0:
			len = (size_t)(xorshift64(&rng) % (len + 1));
			break;
		case 1:
			len += (size_t)(xorshift64(&rng) % (SLACK + 1));
			break;
		default:
			break;
		}

		uint8_t *pkt = malloc(len);
		assert_non_null(pkt);
		if (len)
			memcpy(pkt, scratch, len);
		gt_segment seg;
		gt_drop_reason reason = gt_wire_parse(pkt, len, &seg);
		assert_true(is_wire_reason(reason));
		assert_string_not_equal(gt_drop_reason_name(reason), "?");
		counts[reason]++;
		gt_segment peeked;
		bool peek_ok = gt_wire_peek(pkt, len, &peeked);
		if (reason == GT_DROP_NONE) {
			assert_true(seg.payload >= pkt);
			assert_true(seg.payload + seg.payload_len <= pkt + len);
			assert_true(seg.opts.sack_count <= 4);
			assert_true(!seg.opts.has_wscale || seg.opts.wscale <= 14);
			assert_true(peek_ok);
			assert_int_equal(peeked.seq, seg.seq);
			assert_int_equal(peeked.payload_len, seg.payload_len);
		}
		free(pkt);
	}
	/* The mutations must have reached every stage of the parser. */
	const gt_drop_reason reached[] = {
	    GT_DROP_NONE,          GT_DROP_TRUNCATED,      GT_DROP_BAD_IP_TOTAL_LEN,
	    GT_DROP_BAD_IP_CSUM,   GT_DROP_BAD_TCP_OFFSET, GT_DROP_BAD_TCP_CSUM,
	    GT_DROP_BAD_TCP_OPTION};
	for (size_t i = 0; i < ARRAY_LEN(reached); i++)
		assert_true(counts[reached[i]] > 0);
}

/* ---- names ---- */

static void test_state_names(void **state)
{
	const char *const expected[] = {"CLOSED",      "LISTEN",     "SYN_SENT",   "SYN_RECEIVED",
	                                "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
	                                "CLOSING",     "LAST_ACK",   "TIME_WAIT"};
	assert_int_equal(ARRAY_LEN(expected), GT_TCP_STATE_COUNT);
	for (int s = 0; s < GT_TCP_STATE_COUNT; s++)
		assert_string_equal(gt_tcp_state_name((gt_tcp_state)s), expected[s]);
	assert_string_equal(gt_tcp_state_name(GT_TCP_STATE_COUNT), "?");
	assert_string_equal(gt_tcp_state_name((gt_tcp_state)-1), "?");
}

static void test_flags_strings(void **state)
{
	char buf[9];
	assert_string_equal(gt_tcp_flags_str(GT_TCP_SYN | GT_TCP_ACK, buf), "SA");
	assert_string_equal(gt_tcp_flags_str(GT_TCP_FIN | GT_TCP_ACK, buf), "FA");
	assert_string_equal(gt_tcp_flags_str(GT_TCP_PSH | GT_TCP_ACK, buf), "PA");
	assert_string_equal(gt_tcp_flags_str(GT_TCP_RST, buf), "R");
	assert_string_equal(gt_tcp_flags_str(GT_TCP_RST | GT_TCP_ACK, buf), "RA");
	assert_string_equal(gt_tcp_flags_str(0, buf), "");
	assert_string_equal(gt_tcp_flags_str(0xff, buf), "FSRPAUEC");
	assert_string_equal(gt_tcp_flags_str(GT_TCP_SYN | GT_TCP_ECE | GT_TCP_CWR, buf), "SEC");
	assert_ptr_equal(gt_tcp_flags_str(GT_TCP_URG, buf), buf);
	assert_string_equal(buf, "U");
}

static void test_ipv4_format_and_parse(void **state)
{
	char buf[16];
	assert_string_equal(gt_ipv4_str(GT_TEST_ADDR(1), buf), "192.0.2.1");
	assert_string_equal(gt_ipv4_str(0, buf), "0.0.0.0");
	assert_string_equal(gt_ipv4_str(0xffffffffu, buf), "255.255.255.255");
	assert_string_equal(gt_ipv4_str(0x0a00ff01u, buf), "10.0.255.1");

	uint32_t addr = 0;
	assert_int_equal(gt_ipv4_parse("192.0.2.1", &addr), 0);
	assert_int_equal(addr, 0xC0000201u);
	assert_int_equal(gt_ipv4_parse("255.255.255.255", &addr), 0);
	assert_int_equal(addr, 0xffffffffu);
	assert_int_equal(gt_ipv4_parse("0.0.0.0", &addr), 0);
	assert_int_equal(addr, 0);
	assert_int_equal(gt_ipv4_parse("10.0.255.1", &addr), 0);
	assert_int_equal(addr, 0x0a00ff01u);

	const char *const rejects[] = {
	    "1.2.3",     "256.1.1.1",  "1.2.3.4x",  "",         "1.2.3.4.",  ".1.2.3",   "1..2.3",
	    "1.2.3.",    "01.2.3.4",   "1.2.3.256", "1.2.3.-4", "+1.2.3.4",  " 1.2.3.4", "1.2.3.4 ",
	    "1.2.3.4.5", "1234.1.1.1", "0x1.2.3.4", "a.b.c.d",  "1.2.3.0004"};
	for (size_t i = 0; i < ARRAY_LEN(rejects); i++) {
		uint32_t out = 0;
		if (gt_ipv4_parse(rejects[i], &out) != -EINVAL)
			fail_msg("accepted \"%s\"", rejects[i]);
	}

	/* Every formatted address parses back. */
	uint64_t rng = gt_test_seed(1) | 1;
	for (int i = 0; i < 1000; i++) {
		uint32_t a = (uint32_t)xorshift64(&rng);
		uint32_t back = 0;
		assert_int_equal(gt_ipv4_parse(gt_ipv4_str(a, buf), &back), 0);
		assert_int_equal(back, a);
	}
}

static void test_conn_str(void **state)
{
	char buf[48];
	gt_conn_tuple c = {.local_addr = GT_TEST_ADDR(1),
	                   .remote_addr = GT_TEST_ADDR(2),
	                   .local_port = 1234,
	                   .remote_port = 80};
	assert_string_equal(gt_conn_str(&c, buf), "192.0.2.1:1234>192.0.2.2:80");
	gt_conn_tuple widest = {0xffffffffu, 0xffffffffu, 65535, 65535};
	assert_string_equal(gt_conn_str(&widest, buf),
	                    "255.255.255.255:65535>255.255.255.255:65535");
}

static void test_drop_reason_names(void **state)
{
	assert_string_equal(gt_drop_reason_name(GT_DROP_NONE), "none");
	assert_string_equal(gt_drop_reason_name(GT_DROP_BAD_TCP_CSUM), "bad_tcp_csum");
	assert_string_equal(gt_drop_reason_name(GT_DROP_OUT_OF_WINDOW), "out_of_window");
	assert_string_equal(gt_drop_reason_name(GT_DROP_SIM_LOSS), "sim_loss");
	assert_string_equal(gt_drop_reason_name(GT_DROP_IP_FRAGMENT), "ip_fragment");
	assert_string_equal(gt_drop_reason_name(GT_DROP_ACCEPT_QUEUE_FULL), "accept_queue_full");
	assert_string_equal(gt_drop_reason_name(GT_DROP_REASON_COUNT), "?");
	assert_string_equal(gt_drop_reason_name((gt_drop_reason)-1), "?");

	/* Every reason named, lower case, and no two alike. */
	for (int r = 0; r < GT_DROP_REASON_COUNT; r++) {
		const char *name = gt_drop_reason_name((gt_drop_reason)r);
		assert_string_not_equal(name, "?");
		for (const char *c = name; *c; c++)
			assert_true((*c >= 'a' && *c <= 'z') || *c == '_' ||
			            (*c >= '0' && *c <= '9'));
		for (int other = 0; other < r; other++)
			assert_string_not_equal(name, gt_drop_reason_name((gt_drop_reason)other));
	}
}

static void test_event_kind_names(void **state)
{
	assert_string_equal(gt_event_kind_name(GT_EV_STATE), "state");
	assert_string_equal(gt_event_kind_name(GT_EV_TX), "tx");
	assert_string_equal(gt_event_kind_name(GT_EV_RX), "rx");
	assert_string_equal(gt_event_kind_name(GT_EV_DROP), "drop");
	assert_string_equal(gt_event_kind_name(GT_EV_SOCKET), "socket");
	assert_string_equal(gt_event_kind_name((gt_event_kind)(GT_EV_SOCKET + 1)), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csum_rfc1071_example),
	    cmocka_unit_test(test_csum_odd_length),
	    cmocka_unit_test(test_csum_ipv4_header_vector),
	    cmocka_unit_test(test_csum_matches_reference_at_any_alignment),
	    cmocka_unit_test(test_csum_large_buffers),
	    cmocka_unit_test(test_csum_chained_even_pieces),
	    cmocka_unit_test(test_finalize_matches_hand_computed_packet),
	    cmocka_unit_test(test_round_trip_every_option_combination),
	    cmocka_unit_test(test_options_canonical_layout),
	    cmocka_unit_test(test_options_freebsd_layout),
	    cmocka_unit_test(test_tso_split),
	    cmocka_unit_test(test_trailing_link_padding_ignored),
	    cmocka_unit_test(test_ip_options_skipped),
	    cmocka_unit_test(test_truncated_at_every_length),
	    cmocka_unit_test(test_bad_ip_version),
	    cmocka_unit_test(test_bad_ip_header_length),
	    cmocka_unit_test(test_bad_ip_total_length),
	    cmocka_unit_test(test_bad_ip_checksum),
	    cmocka_unit_test(test_ip_fragments),
	    cmocka_unit_test(test_not_tcp),
	    cmocka_unit_test(test_bad_source_address),
	    cmocka_unit_test(test_tcp_truncated),
	    cmocka_unit_test(test_bad_tcp_offset),
	    cmocka_unit_test(test_bad_tcp_checksum),
	    cmocka_unit_test(test_bad_tcp_options_in_packets),
	    cmocka_unit_test(test_options_sack_three_blocks),
	    cmocka_unit_test(test_options_unknown_kind_skipped),
	    cmocka_unit_test(test_options_eol_stops),
	    cmocka_unit_test(test_options_malformed_lengths),
	    cmocka_unit_test(test_options_wrong_length_known_kind_skipped),
	    cmocka_unit_test(test_options_wscale_clamped),
	    cmocka_unit_test(test_options_all_known_kinds),
	    cmocka_unit_test(test_peek_skips_checksums_and_bad_options),
	    cmocka_unit_test(test_random_mutations_stay_in_bounds),
	    cmocka_unit_test(test_state_names),
	    cmocka_unit_test(test_flags_strings),
	    cmocka_unit_test(test_ipv4_format_and_parse),
	    cmocka_unit_test(test_conn_str),
	    cmocka_unit_test(test_drop_reason_names),
	    cmocka_unit_test(test_event_kind_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
