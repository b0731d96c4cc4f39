/* libFuzzer target: TCP options and flags inside valid headers. The first byte
 * chooses the scenario (LISTEN, SYN_SENT, or ESTABLISHED with data in flight
 * both ways and out-of-order data queued), the second the options the
 * handshake agreed on (FZ_OPT_*); then records of flags, seq/ack/window
 * picked near the connection's edges, and raw option bytes, which the harness
 * wraps in IPv4 and TCP headers with correct checksums, so that no packet is
 * lost to the wire checks for a wrong length or checksum. See docs/fuzzing.md
 * for the format; fuzz_harness.h for the invariants checked after every
 * packet (a broken one aborts, which libFuzzer reports). */
#include "fuzz_harness.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_opt_run_input(data, size);
	return 0;
}
