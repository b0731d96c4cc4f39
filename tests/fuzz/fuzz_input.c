/* libFuzzer target: the first byte chooses the state the stack is driven into
 * (and a few variants), the rest is a list of records, each a 2-byte header
 * (flags, clock step, length) and a packet for gt_stack_input. See
 * docs/fuzzing.md for the format; fuzz_harness.h for the invariants checked
 * after every packet (a broken one aborts, which libFuzzer reports). */
#include "fuzz_harness.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_run_input(data, size);
	return 0;
}
