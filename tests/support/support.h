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

/* Seeds a test from GT_TEST_SEED when set (to replay a failure), else def. */
uint64_t gt_test_seed(uint64_t def);

#endif
