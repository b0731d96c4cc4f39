/* SYN cookies (RFC 4987 §3.6): the ISN of a stateless SYN-ACK carries a keyed
 * hash of the 4-tuple, a coarse time counter and what the SYN asked for, so
 * that the ACK of the handshake can rebuild the connection. The layout is
 * Linux's (net/ipv4/syncookies.c) in spirit, written from the RFC:
 *
 *   ISN = H1(tuple) + SEQ(SYN) + (count << 24) + ((H2(tuple, count) + mss) mod 2^24)
 *
 * count ticks every GT_SYNCOOKIE_PERIOD_US; an ACK is accepted while its
 * cookie is at most GT_SYNCOOKIE_MAX_AGE ticks old. Only 2 bits are left for
 * the MSS (a table of 4 values); with timestamps, the window scale and
 * SACK-permitted ride in the low bits of our TSval, which the ACK echoes. */
#ifndef GT_TCP_SYNCOOKIE_H
#define GT_TCP_SYNCOOKIE_H

#include "glasstcp/types.h"
#include "wire/wire.h"

#include <stdbool.h>
#include <stdint.h>

#define GT_SYNCOOKIE_PERIOD_US (64 * 1000000ull)
#define GT_SYNCOOKIE_MAX_AGE   2
/* TSval bits: 0-3 the peer's window shift (GT_SYNCOOKIE_NO_WSCALE: none),
 * bit 4 SACK-permitted */
#define GT_SYNCOOKIE_TS_BITS   5
#define GT_SYNCOOKIE_NO_WSCALE 0xf

/* What the SYN asked for, as far as a cookie can carry it. */
typedef struct gt_syncookie {
	uint32_t iss;    /* our ISN: the cookie itself */
	uint32_t irs;    /* the peer's ISN */
	uint16_t mss;    /* the peer's MSS, rounded down to the table */
	bool has_ts;     /* timestamps: the ACK carried TSopt */
	bool has_wscale; /* the peer offered window scaling (only with has_ts) */
	uint8_t wscale;  /* its shift */
	bool sack_ok;    /* the peer offered SACK (only with has_ts) */
	uint32_t ts_val; /* the ACK's TSval (becomes TS.Recent) */
} gt_syncookie;

/* The cookie for a SYN on tuple c (local = us) at time now. */
uint32_t gt_syncookie_make(const uint8_t key[16], const gt_conn_tuple *c, const gt_segment *syn,
                           gt_time_us now);
/* The TSval of the cookie's SYN-ACK: ts_now with its low bits replaced by
 * the SYN's window shift and SACK-permitted, never above ts_now. */
uint32_t gt_syncookie_tsval(uint32_t ts_now, const gt_segment *syn, bool sack, bool wscale);
/* Checks the ACK of a cookie's SYN-ACK; true and *out when it is valid.
 * timestamps: whether we would have sent TSopt (the ACK's TSecr decoded). */
bool gt_syncookie_check(const uint8_t key[16], const gt_conn_tuple *c, const gt_segment *ack,
                        bool timestamps, gt_time_us now, gt_syncookie *out);

#endif
