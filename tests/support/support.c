#include "support.h"

#include <stdlib.h>

uint64_t gt_test_seed(uint64_t def)
{
	const char *s = getenv("GT_TEST_SEED");
	return s && *s ? strtoull(s, NULL, 0) : def;
}
