/* Packets of a script run (tools/script/packet.c): the inbound packet a
 * script line becomes on the wire, the outbound packet the stack sent read
 * back from the wire, the comparison of an outbound packet with the script's
 * line, and both as text for messages. */
#ifndef GT_SCRIPT_PACKET_H
#define GT_SCRIPT_PACKET_H

#include "script/ast.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IPv4/TCP packet read from the wire (host byte order). */
typedef struct gt_spd_wire {
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win, urg;
	const uint8_t *options;
	size_t options_len;
	const uint8_t *payload;
	size_t len;
} gt_spd_wire;

/* Reads buf as one IPv4 packet carrying TCP, checking the lengths and both
 * checksums (RFC 791 §3.1, RFC 9293 §3.1). False with a message otherwise. */
bool gt_spd_wire_parse(const uint8_t *buf, size_t n, gt_spd_wire *w, char *err, size_t err_len);

/* What an inbound script packet needs to become a live one. */
typedef struct gt_spd_inbound {
	uint32_t src_ip, dst_ip; /* host order: the remote end and the stack */
	uint16_t src_port, dst_port;
	uint32_t seq_offset; /* script -> live, for seq */
	uint32_t ack_offset; /* script -> live, for ack and SACK blocks */
	bool map_ecr;        /* set TS ecr to ecr_live */
	uint32_t ecr_live;
} gt_spd_inbound;

/* Writes the IPv4 packet (zero payload) into buf; its length, or 0 when cap
 * is too small. */
size_t gt_spd_build_inbound(const gt_spd_packet *pk, const gt_spd_inbound *in, uint8_t *buf,
                            size_t cap);

/* Writes the ICMP error an "< icmp ..." line stands for (RFC 792): from the
 * remote end to the stack, quoting the IPv4 header and the first 8 octets of
 * a segment the stack sent (its ports, and seq + ack_offset: the stack's own
 * sequence space), the next-hop MTU in the second word (RFC 1191 §4). Its
 * length, or 0 when cap is too small. */
size_t gt_spd_build_icmp(const gt_spd_packet *pk, const gt_spd_inbound *in, uint8_t *buf,
                         size_t cap);

/* The TS option's value and echo in options (RFC 7323 §3.2); false when
 * there is none. */
bool gt_spd_find_ts(const uint8_t *options, size_t len, uint32_t *val, uint32_t *ecr);
/* Overwrites the TS val in options (which must have a TS option). */
void gt_spd_set_ts_val(uint8_t *options, size_t len, uint32_t val);

/* An outbound wire packet in script space: seq minus seq_offset, ack and
 * SACK blocks minus ack_offset. */
void gt_spd_to_script(const gt_spd_wire *w, uint32_t seq_offset, uint32_t ack_offset,
                      gt_spd_packet *out);

/* Compares an outbound packet (in script space) with the script's: flags,
 * seq, length, ack, window, urgent pointer, the options in order (TS val
 * only when ts_val_tolerance >= 0, within that many ticks' worth, see
 * run.c), payload all zeros. False with "field: expected X, got Y". */
bool gt_spd_match(const gt_spd_packet *script, const gt_spd_packet *actual, const uint8_t *payload,
                  int64_t ts_val_tolerance_ticks, char *err, size_t err_len);

/* A packet as a script line's text: "S. 0:0(0) ack 1 win 65535 <mss 1460,nop>". */
void gt_spd_format_packet(const gt_spd_packet *pk, char *buf, size_t len);
/* The flags as a script writes them: "S.", "F.", "." , "-" for none. */
void gt_spd_format_flags(uint8_t flags, char *buf, size_t len);

#endif
