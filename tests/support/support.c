#include "support.h"
#include "wire/wire.h"

#include <stdlib.h>
#include <string.h>

uint64_t gt_test_seed(uint64_t def)
{
	const char *s = getenv("GT_TEST_SEED");
	return s && *s ? strtoull(s, NULL, 0) : def;
}

size_t gt_test_syn_packet(uint8_t *p, int wscale)
{
	gt_segment seg;
	memset(&seg, 0, sizeof seg);
	seg.src_addr = GT_TEST_ADDR(1);
	seg.dst_addr = GT_TEST_ADDR(2);
	seg.src_port = 49152;
	seg.dst_port = 80;
	seg.flags = GT_TCP_SYN;
	seg.wnd = 65535;
	seg.opts.has_mss = true;
	seg.opts.mss = 1460;
	seg.opts.has_wscale = wscale >= 0;
	seg.opts.wscale = wscale >= 0 ? (uint8_t)wscale : 0;
	size_t len = gt_wire_write_headers(p, &seg, 0, 1);
	gt_wire_finalize(p, len);
	return len;
}
