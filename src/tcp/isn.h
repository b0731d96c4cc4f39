/* Initial sequence numbers, RFC 6528 §3: ISN = M + F(4-tuple, secret), where M
 * ticks every 4 microseconds and F is a keyed hash (SipHash-2-4 here). */
#ifndef GT_TCP_ISN_H
#define GT_TCP_ISN_H

#include "glasstcp/types.h"

#include <stdint.h>

uint64_t gt_siphash24(const uint8_t key[16], const uint8_t *data, size_t len);
uint32_t gt_isn_generate(const uint8_t key[16], const gt_conn_tuple *c, gt_time_us now);

#endif
