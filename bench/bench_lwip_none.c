/* lwIP left out: liblwip-dev was not found when configuring. */
#include "bench.h"

const char *bench_lwip_missing(void)
{
	return "liblwip-dev not installed when configuring: scripts/install-deps.sh bench";
}

bench_result bench_lwip_bulk(const bench_params *p)
{
	return bench_fail("%s", bench_lwip_missing());
}

bench_result bench_lwip_lifecycle(const bench_params *p)
{
	return bench_fail("%s", bench_lwip_missing());
}
