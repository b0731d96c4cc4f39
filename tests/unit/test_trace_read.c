/* Reading JSON Lines traces back (tools/view/trace_read.c): the name parsers
 * invert the printers, every demo scenario's trace survives write -> read ->
 * write byte for byte, and bad lines are refused with their line number. */
#include "support.h"

#include "scenarios/scenarios.h"
#include "view/trace_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A trace written into memory. */
typedef struct memtrace {
	char *buf;
	size_t len;
} memtrace;

static void write_log(const gt_trace_log *log, memtrace *out)
{
	FILE *f = open_memstream(&out->buf, &out->len);
	assert_non_null(f);
	for (size_t i = 0; i < gt_trace_log_count(log); i++)
		assert_int_equal(gt_trace_jsonl_write(f, gt_trace_log_get(log, i)), 0);
	assert_int_equal(fclose(f), 0);
}

/* Reads text as a trace named "t.jsonl" into log; returns the reader's result. */
static int read_text(const char *text, size_t len, gt_trace_log *log, char *err, size_t errlen)
{
	/* fmemopen refuses a zero-size buffer: an empty file is an empty stream. */
	FILE *f = len ? fmemopen((void *)text, len, "r") : fopen("/dev/null", "r");
	assert_non_null(f);
	int rc = gt_trace_read_jsonl(f, "t.jsonl", log, err, errlen);
	fclose(f);
	return rc;
}

static size_t count_non_socket(const gt_trace_log *log)
{
	size_t n = 0;
	for (size_t i = 0; i < gt_trace_log_count(log); i++)
		n += gt_trace_log_get(log, i)->kind != GT_EV_SOCKET;
	return n;
}

static void test_state_names_round_trip(void **state)
{
	(void)state;
	for (int s = 0; s < GT_TCP_STATE_COUNT; s++) {
		gt_tcp_state out = GT_TCP_STATE_COUNT;
		assert_int_equal(gt_tcp_state_parse(gt_tcp_state_name((gt_tcp_state)s), &out), 0);
		assert_int_equal(out, s);
	}
	gt_tcp_state out;
	assert_int_equal(gt_tcp_state_parse("SYN_RCVD", &out), -EINVAL);
	assert_int_equal(gt_tcp_state_parse("established", &out), -EINVAL);
	assert_int_equal(gt_tcp_state_parse("", &out), -EINVAL);
	assert_int_equal(gt_tcp_state_parse("?", &out), -EINVAL);
}

static void test_flags_round_trip(void **state)
{
	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		char buf[9];
		uint8_t out = (uint8_t)~v;
		assert_int_equal(gt_tcp_flags_parse(gt_tcp_flags_str((uint8_t)v, buf), &out), 0);
		assert_int_equal(out, v);
	}
	uint8_t out = 0;
	assert_int_equal(gt_tcp_flags_parse("AS", &out), 0); /* any order */
	assert_int_equal(out, GT_TCP_SYN | GT_TCP_ACK);
	assert_int_equal(gt_tcp_flags_parse("SS", &out), -EINVAL);
	assert_int_equal(gt_tcp_flags_parse("SX", &out), -EINVAL);
	assert_int_equal(gt_tcp_flags_parse("s", &out), -EINVAL);
	assert_int_equal(gt_tcp_flags_parse(" S", &out), -EINVAL);
}

static void test_drop_reasons_round_trip(void **state)
{
	(void)state;
	for (int r = 0; r < GT_DROP_REASON_COUNT; r++) {
		gt_drop_reason out = GT_DROP_REASON_COUNT;
		assert_int_equal(gt_drop_reason_parse(gt_drop_reason_name((gt_drop_reason)r), &out),
		                 0);
		assert_int_equal(out, r);
	}
	gt_drop_reason out;
	assert_int_equal(gt_drop_reason_parse("bad_csum", &out), -EINVAL);
	assert_int_equal(gt_drop_reason_parse("SIM_LOSS", &out), -EINVAL);
}

static void test_conn_parse(void **state)
{
	(void)state;
	const gt_conn_tuple samples[] = {
	    {GT_TEST_ADDR(1), GT_TEST_ADDR(2), 50207, 80},
	    {0xffffffffu, 0, 65535, 0}, /* a listener: remote 0.0.0.0:0 */
	    {0x0a000001u, 0xc0a80101u, 0, 1},
	};
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		char buf[48];
		gt_conn_tuple out;
		memset(&out, 0xaa, sizeof out);
		assert_int_equal(gt_conn_parse(gt_conn_str(&samples[i], buf), &out), 0);
		assert_int_equal(out.local_addr, samples[i].local_addr);
		assert_int_equal(out.remote_addr, samples[i].remote_addr);
		assert_int_equal(out.local_port, samples[i].local_port);
		assert_int_equal(out.remote_port, samples[i].remote_port);
	}
	static const char *const bad[] = {
	    "",
	    "192.0.2.1:80",
	    "192.0.2.1:80>",
	    ">192.0.2.1:80",
	    "192.0.2.1>192.0.2.2:80",
	    "192.0.2.1:80>192.0.2.2",
	    "192.0.2.1:65536>192.0.2.2:80",
	    "192.0.2.1:-1>192.0.2.2:80",
	    "192.0.2.1:080>192.0.2.2:80",
	    "192.0.2.1:>192.0.2.2:80",
	    "192.0.2.256:80>192.0.2.2:80",
	    "192.0.2:80>192.0.2.2:80",
	    "192.0.2.1:80>192.0.2.2:80>192.0.2.3:80",
	    "192.0.2.1:80 > 192.0.2.2:80",
	    "192.0.2.1:80>192.0.2.2:80x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		gt_conn_tuple out;
		if (gt_conn_parse(bad[i], &out) != -EINVAL)
			fail_msg("accepted bad conn \"%s\"", bad[i]);
	}
}

/* write -> read -> write of one scenario's recorded trace. */
static void round_trip(const gt_scenario *sc, double loss)
{
	gt_scenario_opts o;
	gt_scenario_opts_default(&o);
	o.loss = loss;
	gt_trace_log *recorded = gt_trace_log_new();
	assert_non_null(recorded);
	gt_scenario_result res;
	int rc = gt_scenario_run(sc, &o, gt_trace_log_record, recorded, &res);
	assert_true(rc >= 0);
	assert_int_equal(gt_trace_log_dropped(recorded), 0);

	memtrace first = {0};
	write_log(recorded, &first);
	assert_true(first.len > 0);

	gt_trace_log *read = gt_trace_log_new();
	assert_non_null(read);
	char err[256] = "";
	rc = read_text(first.buf, first.len, read, err, sizeof err);
	if (rc != 0)
		fail_msg("%s (loss %.2f): %s", sc->name, loss, err);
	assert_int_equal(gt_trace_log_count(read), count_non_socket(recorded));

	memtrace second = {0};
	write_log(read, &second);
	assert_int_equal(second.len, first.len);
	if (memcmp(first.buf, second.buf, first.len) != 0)
		fail_msg("%s (loss %.2f): trace changed on the way through the reader", sc->name,
		         loss);

	free(first.buf);
	free(second.buf);
	gt_trace_log_free(read);
	gt_trace_log_free(recorded);
}

static void test_every_scenario_round_trips(void **state)
{
	(void)state;
	assert_int_equal(gt_scenario_count, 14);
	for (size_t i = 0; i < gt_scenario_count; i++) {
		round_trip(&gt_scenarios[i], 0);
		/* Loss adds drop events and retransmissions (rexmit). */
		if (strcmp(gt_scenarios[i].name, "transfer") != 0)
			round_trip(&gt_scenarios[i], 0.2);
	}
}

/* Fields the scenarios never produce: inferred, null conn, a drop with no
 * segment, a null cause, strings needing escapes. */
static void test_rare_fields_round_trip(void **state)
{
	(void)state;
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	gt_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = GT_EV_STATE;
	ev.t_us = 1234567;
	ev.host = "observer \"a\"\n";
	ev.has_conn = true;
	ev.conn = (gt_conn_tuple){GT_TEST_ADDR(1), GT_TEST_ADDR(2), 1, 2};
	ev.from = GT_TCP_ESTABLISHED;
	ev.to = GT_TCP_CLOSE_WAIT;
	ev.cause = "rcv FIN";
	ev.inferred = true;
	gt_trace_log_record(log, &ev);
	ev.inferred = false;
	ev.cause = NULL;
	ev.from = GT_TCP_SYN_SENT;
	ev.to = GT_TCP_CLOSED;
	gt_trace_log_record(log, &ev);

	memset(&ev, 0, sizeof ev);
	ev.kind = GT_EV_DROP;
	ev.t_us = 99;
	ev.host = "server";
	ev.reason = GT_DROP_TRUNCATED;
	gt_trace_log_record(log, &ev);
	ev.has_seg = true;
	ev.seg =
	    (gt_seg_info){.seq = UINT32_MAX, .ack = 0, .len = 7, .win = UINT16_MAX, .flags = 0xff};
	ev.reason = GT_DROP_BAD_FLAGS;
	gt_trace_log_record(log, &ev);
	ev.kind = GT_EV_TX;
	ev.has_conn = true;
	ev.seg.rexmit = true;
	ev.seg.flags = 0;
	gt_trace_log_record(log, &ev);
	/* RFC 7323 §2.3: a window field of 64 scaled by 2^7 is 8192 bytes */
	ev.kind = GT_EV_RX;
	ev.seg = (gt_seg_info){.seq = 1, .ack = 2, .win = 64, .wnd = 8192, .flags = GT_TCP_ACK};
	gt_trace_log_record(log, &ev);

	memtrace first = {0};
	write_log(log, &first);
	assert_non_null(strstr(first.buf, "\"inferred\":true"));
	assert_non_null(strstr(first.buf, "\"conn\":null"));
	assert_non_null(strstr(first.buf, "\"flags\":\"\""));
	/* written right after "win", and only where it differs from it */
	assert_non_null(strstr(first.buf, "\"win\":64,\"wnd\":8192,\"len\":0"));
	const char *wnd_key = strstr(first.buf, "\"wnd\"");
	assert_null(strstr(wnd_key + 1, "\"wnd\""));

	gt_trace_log *read = gt_trace_log_new();
	char err[256] = "";
	assert_int_equal(read_text(first.buf, first.len, read, err, sizeof err), 0);
	assert_int_equal(gt_trace_log_count(read), 6);
	const gt_event *e0 = gt_trace_log_get(read, 0);
	assert_true(e0->inferred);
	assert_string_equal(e0->host, "observer \"a\"\n");
	assert_string_equal(e0->cause, "rcv FIN");
	assert_false(gt_trace_log_get(read, 1)->inferred);
	assert_null(gt_trace_log_get(read, 1)->cause);
	const gt_event *drop = gt_trace_log_get(read, 2);
	assert_int_equal(drop->kind, GT_EV_DROP);
	assert_false(drop->has_conn);
	assert_false(drop->has_seg);
	assert_int_equal(drop->reason, GT_DROP_TRUNCATED);
	const gt_event *tx = gt_trace_log_get(read, 4);
	assert_true(tx->has_seg);
	assert_true(tx->seg.rexmit);
	assert_int_equal(tx->seg.flags, 0);
	assert_int_equal(gt_trace_log_get(read, 3)->seg.seq, UINT32_MAX);
	assert_int_equal(gt_trace_log_get(read, 3)->seg.win, UINT16_MAX);
	/* without "wnd" the window in bytes is the field */
	assert_int_equal(gt_trace_log_get(read, 3)->seg.wnd, UINT16_MAX);
	const gt_event *scaled = gt_trace_log_get(read, 5);
	assert_int_equal(scaled->seg.win, 64);
	assert_int_equal(scaled->seg.wnd, 8192);

	memtrace second = {0};
	write_log(read, &second);
	assert_int_equal(second.len, first.len);
	assert_memory_equal(second.buf, first.buf, first.len);
	free(first.buf);
	free(second.buf);
	gt_trace_log_free(read);
	gt_trace_log_free(log);
}

#define GOOD_STATE                                                                                 \
	"{\"t_us\":5,\"host\":\"client\",\"ev\":\"state\",\"conn\":\"192.0.2.1:1>192.0.2.2:80\","  \
	"\"from\":\"CLOSED\",\"to\":\"SYN_SENT\",\"cause\":\"connect()\"}\n"
#define SEG_HEAD                                                                                   \
	"{\"t_us\":7,\"host\":\"client\",\"ev\":\"tx\",\"conn\":\"192.0.2.1:1>192.0.2.2:80\","

typedef struct bad_case {
	const char *text;  /* lines 1..n */
	size_t line;       /* the line blamed */
	const char *words; /* in the message */
} bad_case;

static const bad_case bad_cases[] = {
    {GOOD_STATE "not json\n", 2, "not JSON"},
    {GOOD_STATE "\n" GOOD_STATE "{\"t_us\":1,\n", 4, "not JSON"},
    {"[1,2]\n", 1, "not a JSON object"},
    {"{\"t_us\":1,\"host\":\"a\"}\n", 1, "missing key \"ev\""},
    {"{\"t_us\":1,\"ev\":\"state\",\"from\":\"CLOSED\",\"to\":\"LISTEN\"}\n", 1,
     "missing key \"host\""},
    {"{\"host\":\"a\",\"ev\":\"state\",\"from\":\"CLOSED\",\"to\":\"LISTEN\"}\n", 1,
     "missing key \"t_us\""},
    {"{\"t_us\":-1,\"host\":\"a\",\"ev\":\"state\",\"from\":\"CLOSED\",\"to\":\"LISTEN\"}\n", 1,
     "\"t_us\""},
    {"{\"t_us\":1.5,\"host\":\"a\",\"ev\":\"state\",\"from\":\"CLOSED\",\"to\":\"LISTEN\"}\n", 1,
     "\"t_us\" is not an integer"},
    {"{\"t_us\":1,\"host\":7,\"ev\":\"state\",\"from\":\"CLOSED\",\"to\":\"LISTEN\"}\n", 1,
     "\"host\" is not a string"},
    {"{\"t_us\":1,\"host\":\"a\",\"ev\":\"state\",\"to\":\"LISTEN\"}\n", 1, "missing key \"from\""},
    {GOOD_STATE
     "{\"t_us\":1,\"host\":\"a\",\"ev\":\"state\",\"from\":\"CLOSED\",\"to\":\"SYN_RCVD\"}\n",
     2, "unknown state \"SYN_RCVD\""},
    {"{\"t_us\":1,\"host\":\"a\",\"ev\":\"state\",\"from\":\"CLOSED\",\"to\":\"LISTEN\","
     "\"inferred\":1}\n",
     1, "\"inferred\""},
    {"{\"t_us\":1,\"host\":\"a\",\"ev\":\"state\",\"conn\":\"192.0.2.1:1-192.0.2.2:80\","
     "\"from\":\"CLOSED\",\"to\":\"LISTEN\"}\n",
     1, "bad conn"},
    {"{\"t_us\":1,\"host\":\"a\",\"ev\":\"state\",\"conn\":5,\"from\":\"CLOSED\",\"to\":\"LISTEN\"}"
     "\n",
     1, "\"conn\""},
    {SEG_HEAD "\"flags\":\"S\",\"seq\":4294967296,\"ack\":0,\"win\":1,\"len\":0}\n", 1,
     "\"seq\" is 4294967296"},
    {SEG_HEAD "\"flags\":\"S\",\"seq\":1,\"ack\":0,\"win\":65536,\"len\":0}\n", 1, "\"win\""},
    {SEG_HEAD "\"flags\":\"S\",\"seq\":1,\"ack\":\"0\",\"win\":1,\"len\":0}\n", 1,
     "\"ack\" is not an integer"},
    {SEG_HEAD "\"flags\":\"S\",\"seq\":1,\"ack\":0,\"win\":1}\n", 1, "missing key \"len\""},
    {SEG_HEAD "\"seq\":1,\"ack\":0,\"win\":1,\"len\":0}\n", 1, "missing key \"flags\""},
    {SEG_HEAD "\"flags\":\"SZ\",\"seq\":1,\"ack\":0,\"win\":1,\"len\":0}\n", 1, "bad flags"},
    {SEG_HEAD "\"flags\":\"S\",\"seq\":1,\"ack\":0,\"win\":1,\"len\":0,\"rexmit\":\"yes\"}\n", 1,
     "\"rexmit\""},
    {SEG_HEAD "\"flags\":\"A\",\"seq\":1,\"ack\":0,\"win\":64,\"wnd\":8000,\"len\":0}\n", 1,
     "\"wnd\" 8000 is not \"win\" 64 shifted"},
    {SEG_HEAD "\"flags\":\"A\",\"seq\":1,\"ack\":0,\"win\":1,\"wnd\":-1,\"len\":0}\n", 1,
     "\"wnd\""},
    {"{\"t_us\":1,\"host\":\"a\",\"ev\":\"drop\",\"conn\":null,\"reason\":\"gremlins\"}\n", 1,
     "unknown drop reason \"gremlins\""},
    {"{\"t_us\":1,\"host\":\"a\",\"ev\":\"drop\",\"conn\":null}\n", 1, "missing key \"reason\""},
    {"{\"t_us\":1,\"t_us\":2,\"host\":\"a\",\"ev\":\"drop\",\"conn\":null,\"reason\":\"none\"}\n",
     1, "not JSON"},
};

static void test_bad_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const bad_case *c = &bad_cases[i];
		gt_trace_log *log = gt_trace_log_new();
		char err[256] = "";
		int rc = read_text(c->text, strlen(c->text), log, err, sizeof err);
		char want[32];
		snprintf(want, sizeof want, "t.jsonl:%zu: ", c->line);
		if (rc != -EINVAL || strncmp(err, want, strlen(want)) != 0 ||
		    !strstr(err, c->words) || strchr(err, '\n'))
			fail_msg("case %zu: rc %d, err \"%s\"; want -EINVAL, \"%s...%s\"", i, rc,
			         err, want, c->words);
		gt_trace_log_free(log);
	}
}

static void test_huge_line(void **state)
{
	(void)state;
	/* Over the limit: refused without a crash, blaming line 2. */
	size_t huge = (size_t)3 << 20;
	char *text = malloc(huge + sizeof GOOD_STATE);
	assert_non_null(text);
	memcpy(text, GOOD_STATE, strlen(GOOD_STATE));
	memset(text + strlen(GOOD_STATE), 'x', huge);
	size_t len = strlen(GOOD_STATE) + huge;
	gt_trace_log *log = gt_trace_log_new();
	char err[256] = "";
	assert_int_equal(read_text(text, len, log, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "t.jsonl:2: "));
	assert_null(strchr(err, '\n'));
	gt_trace_log_free(log);
	free(text);

	/* A long line under the limit is read whole (getline, no fixed buffer). */
	size_t long_cause = 200000;
	const char *head = "{\"t_us\":1,\"host\":\"a\",\"ev\":\"state\",\"conn\":null,\"from\":"
	                   "\"LISTEN\",\"to\":\"CLOSED\",\"cause\":\"";
	text = malloc(strlen(head) + long_cause + 4);
	assert_non_null(text);
	strcpy(text, head);
	memset(text + strlen(head), 'c', long_cause);
	strcpy(text + strlen(head) + long_cause, "\"}\n");
	log = gt_trace_log_new();
	assert_int_equal(read_text(text, strlen(text), log, err, sizeof err), 0);
	assert_int_equal(gt_trace_log_count(log), 1);
	assert_int_equal(strlen(gt_trace_log_get(log, 0)->cause), long_cause);
	gt_trace_log_free(log);
	free(text);
}

static void test_empty_blank_and_skipped(void **state)
{
	(void)state;
	gt_trace_log *log = gt_trace_log_new();
	char err[256] = "x";
	assert_int_equal(read_text("", 0, log, err, sizeof err), 0);
	assert_int_equal(gt_trace_log_count(log), 0);

	/* Blank lines, CRLF, a socket line, an unknown kind, an unknown key. */
	const char *text =
	    "\n   \n" GOOD_STATE "\r\n"
	    "{\"t_us\":1,\"host\":\"a\",\"ev\":\"socket\",\"sock\":3}\n"
	    "{\"ev\":\"future-kind\"}\n"
	    "{\"t_us\":9,\"host\":\"a\",\"ev\":\"state\",\"conn\":null,\"from\":"
	    "\"TIME_WAIT\",\"to\":\"CLOSED\",\"extra\":[1,2]}\r\n"
	    "{\"t_us\":10,\"host\":\"a\",\"ev\":\"rx\",\"conn\":null,\"flags\":\"RA\","
	    "\"seq\":0,\"ack\":1,\"win\":0,\"len\":0}";
	assert_int_equal(read_text(text, strlen(text), log, err, sizeof err), 0);
	assert_int_equal(gt_trace_log_count(log), 3);
	assert_int_equal(gt_trace_log_get(log, 0)->t_us, 5);
	assert_int_equal(gt_trace_log_get(log, 0)->to, GT_TCP_SYN_SENT);
	assert_int_equal(gt_trace_log_get(log, 1)->from, GT_TCP_TIME_WAIT);
	const gt_event *rx = gt_trace_log_get(log, 2);
	assert_int_equal(rx->kind, GT_EV_RX);
	assert_int_equal(rx->seg.flags, GT_TCP_RST | GT_TCP_ACK);
	assert_int_equal(rx->seg.ack, 1);
	gt_trace_log_free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_state_names_round_trip),
	    cmocka_unit_test(test_flags_round_trip),
	    cmocka_unit_test(test_drop_reasons_round_trip),
	    cmocka_unit_test(test_conn_parse),
	    cmocka_unit_test(test_every_scenario_round_trips),
	    cmocka_unit_test(test_rare_fields_round_trip),
	    cmocka_unit_test(test_bad_lines),
	    cmocka_unit_test(test_huge_line),
	    cmocka_unit_test(test_empty_blank_and_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
