/* Replays the libFuzzer corpora (tests/fuzz/corpus/<target>/) through the
 * same harness the targets use, with the compiler and sanitizers of the test
 * build: every seed and every input a campaign merged in, including those
 * that once crashed the engine, runs in CI with every `make test` without
 * clang. An input that breaks an invariant fails the test and is named.
 *
 *   GT_FUZZ_CORPUS=dir    the corpus root (default: next to this file) */
#include "support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char fz_where[4608];
#define FZ_FAIL(...)                                                                               \
	do {                                                                                       \
		print_error("%s: ", fz_where);                                                     \
		fail_msg(__VA_ARGS__);                                                             \
	} while (0)
#include "fuzz_harness.h"

static const char *corpus_root(char *buf, size_t len)
{
	const char *env = getenv("GT_FUZZ_CORPUS");
	if (env && *env)
		return env;
	snprintf(buf, len, "%s", __FILE__);
	char *slash = strrchr(buf, '/');
	snprintf(slash ? slash + 1 : buf, len - (size_t)(slash ? slash + 1 - buf : 0), "corpus");
	return buf;
}

/* Runs every file of root/target through run; returns how many. */
static unsigned replay(const char *target, void (*run)(const uint8_t *, size_t))
{
	char root[4096], dir[4352];
	snprintf(dir, sizeof dir, "%s/%s", corpus_root(root, sizeof root), target);
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("no corpus %s", dir);
	static uint8_t buf[1 << 20];
	unsigned n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(fz_where, sizeof fz_where, "%s/%s", dir, e->d_name);
		FILE *f = fopen(fz_where, "rb");
		if (!f)
			fail_msg("cannot open %s", fz_where);
		size_t len = fread(buf, 1, sizeof buf, f);
		fclose(f);
		run(buf, len);
		n++;
	}
	closedir(d);
	printf("%s: %u inputs replayed from %s\n", target, n, dir);
	return n;
}

static void test_fuzz_input_corpus(void **state)
{
	(void)state;
	assert_true(replay("fuzz_input", fz_run_input) > 0);
}

static void test_fuzz_options_corpus(void **state)
{
	(void)state;
	assert_true(replay("fuzz_options", fz_opt_run_input) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fuzz_input_corpus),
	    cmocka_unit_test(test_fuzz_options_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
