/* Deterministic fuzzing of glasstcp script's input, in CI: the scripts of
 * tests/pkt/syntax-like text mutated (bytes flipped, deleted, duplicated,
 * tokens spliced in, cut short) and parsed; every failure must be a message
 * naming the file and a line within the text, never a crash (ASan/UBSan) or
 * a leak. And random or mutated bytes read as outbound packets.
 *
 *   GT_TEST_SEED=s         another generator seed (default 1)
 *   GT_FUZZ_SCRIPTS=n      mutated scripts (default 20000) */
#include "script/ast.h"
#include "script/packet.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static uint64_t rng;

static uint32_t next_rand(void)
{
	/* xorshift64*: deterministic for a seed */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}

static const char *const seeds[] = {
    "--tolerance_usecs=10000\n"
    "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
    "+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0\n"
    "+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n"
    "+0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>\n"
    "+0 > S. 0:0(0) ack 1 <...>\n"
    "+.1 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 110 ecr 5000>\n"
    "+0...0.2 accept(3, ..., ...) = 4\n"
    "0.1~0.2 > P. 1:101(100) ack 1 <nop,nop,sack 1:2 3:4>\n",
    "/* c */ `sysctl -q x=1`\n0.000 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n"
    "0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), "
    "sin_addr=inet_addr(\"192.0.2.1\")}, 16) = -1 EINPROGRESS (Operation now in progress)\n"
    "* > S 0:0(0) <...>\n"
    "+0 poll([{fd=3, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 0) = 1 // x\n"
    "+0 writev(3, [{..., 10}, {..., 20}], 2) = 30\n"
    "+0 getsockopt(3, SOL_TCP, TCP_INFO, {tcpi_state=TCP_ESTABLISHED}, ...) = 0\n",
};

static const char *const splices[] = {
    "...",        "<",      ">",   "(",          ")",
    "[",          "]",      "{",   "}",          ",",
    "=",          "~",      "+",   "*",          "\"",
    "`",          "/*",     "//",  "\n",         "%{",
    "--x=",       "0x",     "-1",  "4294967296", "99999999999999999999",
    ".",          "ack",    "win", "TS",         "val",
    "ecr",        "sack",   "mss", "nop",        "S.",
    "inet_addr(", "htons(",
};

static char *mutate(const char *seed, size_t *len)
{
	size_t n = strlen(seed), cap = n * 2 + 64;
	char *t = malloc(cap + 1);
	memcpy(t, seed, n);
	int edits = 1 + (int)(next_rand() % 6);
	for (int e = 0; e < edits && n > 0; e++) {
		size_t at = next_rand() % n;
		switch (next_rand() % 5) {
		case 0: /* flip */
			t[at] = (char)(next_rand() % 255 + 1);
			break;
		case 1: /* delete a run */ {
			size_t k = 1 + next_rand() % 8;
			if (at + k > n)
				k = n - at;
			memmove(t + at, t + at + k, n - at - k);
			n -= k;
			break;
		}
		case 2: /* splice a token */ {
			const char *s =
			    splices[next_rand() % (sizeof(splices) / sizeof(splices[0]))];
			size_t k = strlen(s);
			if (n + k <= cap) {
				memmove(t + at + k, t + at, n - at);
				memcpy(t + at, s, k);
				n += k;
			}
			break;
		}
		case 3: /* cut short */
			n = at;
			break;
		default: /* duplicate a run */ {
			size_t k = 1 + next_rand() % 16;
			if (at + k > n)
				k = n - at;
			if (n + k <= cap) {
				memmove(t + at + k, t + at, n - at);
				n += k;
			}
			break;
		}
		}
	}
	t[n] = '\0';
	*len = n;
	return t;
}

static int count_lines(const char *t)
{
	int lines = 1;
	for (; *t; t++)
		lines += *t == '\n';
	return lines;
}

static void test_mutated_scripts(void **state)
{
	(void)state;
	const char *env = getenv("GT_FUZZ_SCRIPTS");
	long runs = env ? atol(env) : 20000;
	long parsed = 0;
	for (long i = 0; i < runs; i++) {
		size_t len;
		char *text = mutate(seeds[next_rand() % 2], &len);
		char err[512] = "";
		gt_spd_script *s = gt_spd_parse("f.pkt", text, err, sizeof(err));
		if (s) {
			parsed++;
			gt_spd_script_free(s);
		} else {
			int line;
			if (sscanf(err, "f.pkt:%d: ", &line) != 1 || line < 1 ||
			    line > count_lines(text) + 1)
				fail_msg("run %ld: message without a good line: '%s' for:\n%s", i,
				         err, text);
		}
		free(text);
	}
	/* the mutations must leave some scripts valid, or this tests little */
	assert_true(parsed > runs / 50);
	assert_true(parsed < runs);
}

static void test_random_outbound_bytes(void **state)
{
	(void)state;
	uint8_t buf[128];
	for (int i = 0; i < 200000; i++) {
		size_t n = next_rand() % sizeof(buf);
		for (size_t k = 0; k < n; k++)
			buf[k] = (uint8_t)next_rand();
		if (n >= 20 && (next_rand() & 1)) {
			buf[0] = 0x40 | (uint8_t)(5 + next_rand() % 3);
			buf[9] = 6;
			buf[2] = 0;
			buf[3] = (uint8_t)n;
		}
		gt_spd_wire w;
		char err[128];
		if (gt_spd_wire_parse(buf, n, &w, err, sizeof(err))) {
			gt_spd_packet p;
			gt_spd_to_script(&w, next_rand(), next_rand(), &p);
			char text[512];
			gt_spd_format_packet(&p, text, sizeof(text));
			assert_true(gt_spd_match(&p, &p, w.payload, -1, err, sizeof(err)) ||
			            strstr(err, "payload"));
		}
	}
}

int main(void)
{
	const char *seed = getenv("GT_TEST_SEED");
	rng = seed ? strtoull(seed, NULL, 0) * 2654435761ull + 1 : 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mutated_scripts),
	    cmocka_unit_test(test_random_outbound_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
