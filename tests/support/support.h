/* Test support shared by every test executable. */
#ifndef GT_TEST_SUPPORT_H
#define GT_TEST_SUPPORT_H

#include "glasstcp/glasstcp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four headers above first */
#include <cmocka.h>

/* 192.0.2.x (RFC 5737 TEST-NET-1) */
#define GT_TEST_ADDR(x) (0xC0000200u | (uint32_t)(x))

/* A SYN as an IPv4 packet built by the wire module (MSS 1460, and a window
 * scale option with shift wscale when wscale >= 0; wscale is written as given,
 * so 15 tests the RFC 7323 §2.3 clamp), for tests of code that reads the SYN's
 * options from a trace event's packet bytes. p holds GT_TEST_SYN_MAX bytes;
 * returns the packet's length. */
#define GT_TEST_SYN_MAX 80
size_t gt_test_syn_packet(uint8_t *p, int wscale);

/* Seeds a test from GT_TEST_SEED when set (to replay a failure), else def. */
uint64_t gt_test_seed(uint64_t def);

#endif
