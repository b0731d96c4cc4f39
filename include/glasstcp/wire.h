/* glasstcp — the TCP header's wire format, for programs that read packets
 * glasstcp did not parse itself (a capture: `glasstcp explain`): the header
 * lengths and the options parser the engine uses (RFC 791, RFC 9293 §3.1,
 * RFC 7323, RFC 2018). Pure functions over byte buffers; the rest of the wire
 * module (segment parsing, header writing, checksums) stays internal. */
#ifndef GLASSTCP_WIRE_H
#define GLASSTCP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GT_IPV4_HDR_LEN    20 /* without options */
#define GT_TCP_HDR_LEN     20 /* without options */
#define GT_TCP_MAX_OPT_LEN 40
#define GT_IP_PROTO_TCP    6

/* The TCP options glasstcp knows: MSS, window scale, SACK-permitted,
 * timestamps, SACK blocks. */
typedef struct gt_tcp_opts {
	bool has_mss;
	bool has_wscale;
	bool sack_permitted;
	bool has_ts;
	uint16_t mss;
	uint8_t wscale;
	uint8_t sack_count;
	uint32_t ts_val;
	uint32_t ts_ecr;
	struct {
		uint32_t left, right;
	} sack[4];
} gt_tcp_opts;

/* Parses TCP options (bytes between the fixed header and the data). Unknown
 * kinds are skipped by their length. Returns false when an option's length is
 * malformed (0, 1 for a non-single-byte kind, or overrunning). */
bool gt_wire_parse_options(const uint8_t *opt, size_t len, gt_tcp_opts *out);

#ifdef __cplusplus
}
#endif
#endif
