/* Wire format: IPv4 and TCP headers, options, checksums (RFC 791, RFC 9293 §3.1,
 * RFC 7323, RFC 2018, RFC 1071). Pure functions over byte buffers. */
#ifndef GT_WIRE_H
#define GT_WIRE_H

#include "glasstcp/types.h"
/* The public part: the header lengths, gt_tcp_opts, gt_wire_parse_options. */
#include "glasstcp/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A parsed segment. payload points into the packet given to gt_wire_parse. */
typedef struct gt_segment {
	uint32_t src_addr; /* host byte order */
	uint32_t dst_addr;
	uint16_t src_port;
	uint16_t dst_port;
	uint32_t seq;
	uint32_t ack;
	uint8_t flags;
	uint16_t wnd;
	uint16_t urp;
	uint8_t ttl;
	gt_tcp_opts opts;
	uint8_t opt_layout; /* gt_opt_layout: how gt_wire_write_headers lays opts out */
	const uint8_t *payload;
	uint32_t payload_len;
} gt_segment;

/* Parses and validates an IPv4 packet carrying TCP: lengths, IPv4 header
 * checksum, TCP checksum, data offset, options. Does not check the destination
 * address. Returns GT_DROP_NONE and fills *seg, or the reason to drop. Never
 * reads outside pkt[0..len). */
gt_drop_reason gt_wire_parse(const uint8_t *pkt, size_t len, gt_segment *seg);

/* An ICMP error message about a TCP segment we sent (RFC 792): who sent it,
 * its type and code, and what it quotes of our datagram (RFC 1122 §3.2.2:
 * the IP header and at least the first 8 octets of TCP: ports and SEQ). */
typedef struct gt_icmp_error {
	uint32_t src_addr; /* the router or host that sent the ICMP message */
	uint8_t type;      /* GT_ICMP_* */
	uint8_t code;
	uint16_t next_hop_mtu; /* type 3 code 4 (RFC 1191 §4); 0 when not given */
	/* the quoted datagram: we are its source */
	uint32_t local_addr, remote_addr;
	uint16_t local_port, remote_port;
	uint32_t seq;
	uint16_t quoted_total_len; /* the IPv4 total length of our datagram */
} gt_icmp_error;

enum {
	GT_IP_PROTO_ICMP = 1,
	GT_ICMP_DEST_UNREACH = 3, /* codes: 0 net, 1 host, 2 protocol, 3 port, 4 frag needed */
	GT_ICMP_SOURCE_QUENCH = 4,
	GT_ICMP_TIME_EXCEEDED = 11,
	GT_ICMP_PARAM_PROBLEM = 12,
};

/* Is this IPv4 packet ICMP? (Only the protocol field is read; the packet is
 * validated by gt_wire_parse_icmp.) */
bool gt_wire_is_icmp(const uint8_t *pkt, size_t len);
/* Parses an ICMP error about a TCP segment: IPv4 header checks as for TCP, the
 * ICMP checksum, a quoted IPv4 header carrying TCP with 8 octets after it.
 * Returns GT_DROP_NONE and fills *out, GT_DROP_ICMP_IGNORED for messages that
 * are not errors about TCP (echo, redirect, errors about UDP ...), or the
 * reason to drop a malformed one. Never reads outside pkt[0..len). */
gt_drop_reason gt_wire_parse_icmp(const uint8_t *pkt, size_t len, gt_icmp_error *out);

/* The connection a received segment belongs to, seen from the receiver. */
static inline gt_conn_tuple gt_seg_tuple(const gt_segment *seg)
{
	gt_conn_tuple c = {.local_addr = seg->dst_addr,
	                   .remote_addr = seg->src_addr,
	                   .local_port = seg->dst_port,
	                   .remote_port = seg->src_port};
	return c;
}

/* Writes the IPv4 and TCP headers for seg (addresses, ports, seq, ack, flags,
 * wnd, urp, and the options present in seg->opts: MSS, window scale,
 * SACK-permitted, timestamps, SACK blocks; padded with NOP/EOL to 4 bytes) at
 * buf, with IPv4 total length covering payload_len bytes of data that the
 * caller places right after the returned header length. TTL 64, DF set,
 * identification ip_id. Checksums are left zero: call gt_wire_finalize. buf
 * must hold GT_IPV4_HDR_LEN + GT_TCP_HDR_LEN + GT_TCP_MAX_OPT_LEN bytes. */
size_t gt_wire_write_headers(uint8_t *buf, const gt_segment *seg, uint32_t payload_len,
                             uint16_t ip_id);

/* Computes and stores the IPv4 header checksum and the TCP checksum of a packet
 * built by gt_wire_write_headers (len = whole packet). */
void gt_wire_finalize(uint8_t *pkt, size_t len);

/* Receives one packet gt_wire_tso_split cut (valid during the call only). */
typedef void (*gt_wire_emit_fn)(void *user, const uint8_t *pkt, size_t len);
/* What a device without segmentation offload does with a TSO segment (a
 * stack with tso_max): cuts the IPv4/TCP packet pkt into packets of at most
 * mss data bytes, each with the same headers and options but its own
 * sequence number, IPv4 total length and identification (the first's, plus
 * one for each further piece), PSH and FIN only on the last, CWR only on the
 * first, and fresh checksums. A packet with mss data bytes or fewer goes
 * out as it is. Each piece is built in scratch (room for the headers and
 * mss bytes: GT_IPV4_HDR_LEN + GT_TCP_HDR_LEN + GT_TCP_MAX_OPT_LEN + mss) and
 * given to emit. Returns the number of packets emitted; 0 when pkt is not a
 * well-formed IPv4/TCP packet (nothing is emitted) or mss is 0. */
size_t gt_wire_tso_split(const uint8_t *pkt, size_t len, uint32_t mss, uint8_t *scratch,
                         gt_wire_emit_fn emit, void *user);

/* RFC 1071 one's-complement sum helpers. gt_csum_add adds data, read as
 * big-endian 16-bit words at any alignment, to a 32-bit partial sum; chain calls
 * over consecutive pieces, all of even length but the last (an odd final byte is
 * padded with zero, §4.1). gt_csum_fold folds the sum to 16 bits WITHOUT the
 * final complement: a checksum field stores ~fold, and data that includes a
 * correct checksum folds to 0xffff. */
uint32_t gt_csum_add(uint32_t sum, const uint8_t *data, size_t len);
uint16_t gt_csum_fold(uint32_t sum);

/* Reads just the header fields for a trace (no checksum verification); returns
 * false if the packet is not IPv4/TCP with complete headers. */
bool gt_wire_peek(const uint8_t *pkt, size_t len, gt_segment *seg);

#endif
