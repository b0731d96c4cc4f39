/* glasstcp script's packets (tools/script/packet.c): an inbound script
 * packet built onto the wire (checksums, the ISN offsets on ack and SACK
 * blocks, TS ecr mapped) and read back; outbound packets compared with the
 * script's line, each differing field named with both values. */
#include "script/packet.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static gt_spd_packet line_packet(const char *line)
{
	char err[256], text[512];
	snprintf(text, sizeof(text), "0 %s\n", line);
	gt_spd_script *s = gt_spd_parse("m.pkt", text, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	gt_spd_packet p = s->event[0].packet;
	gt_spd_script_free(s);
	return p;
}

static void test_build_and_read_back(void **state)
{
	(void)state;
	gt_spd_packet pk = line_packet(
	    "< P. 1:11(10) ack 1 win 257 <nop,nop,TS val 5 ecr 9,nop,nop,sack 101:201>");
	gt_spd_inbound in = {.src_ip = 0xc0000201,
	                     .dst_ip = 0xc0a80001,
	                     .src_port = 48000,
	                     .dst_port = 8080,
	                     .seq_offset = 0,
	                     .ack_offset = 1000000,
	                     .map_ecr = true,
	                     .ecr_live = 424242};
	uint8_t buf[256];
	size_t n = gt_spd_build_inbound(&pk, &in, buf, sizeof(buf));
	assert_int_equal(n, 20 + 20 + 24 + 10);
	gt_spd_wire w;
	char err[128];
	assert_true(gt_spd_wire_parse(buf, n, &w, err, sizeof(err))); /* checksums hold */
	assert_int_equal(w.src_ip, 0xc0000201);
	assert_int_equal(w.dst_port, 8080);
	assert_int_equal(w.seq, 1);
	assert_int_equal(w.ack, 1000001);
	assert_int_equal(w.flags, GT_SPD_PSH | GT_SPD_ACK);
	assert_int_equal(w.win, 257);
	assert_int_equal(w.len, 10);
	uint32_t val, ecr;
	assert_true(gt_spd_find_ts(w.options, w.options_len, &val, &ecr));
	assert_int_equal(val, 5);
	assert_int_equal(ecr, 424242);
	/* back in script space: the SACK block and ack lose the offset again */
	gt_spd_packet back;
	gt_spd_to_script(&w, 0, 1000000, &back);
	char text[256];
	gt_spd_format_packet(&back, text, sizeof(text));
	assert_string_equal(
	    text, "P. 1:11(10) ack 1 win 257 <nop,nop,TS val 5 ecr 424242,nop,nop,sack 101:201>");
	/* a corrupt byte: the checksum says so */
	buf[45] ^= 1;
	assert_false(gt_spd_wire_parse(buf, n, &w, err, sizeof(err)));
	assert_string_equal(err, "bad outbound TCP checksum");
	assert_false(gt_spd_wire_parse(buf, 30, &w, err, sizeof(err)));
}

/* The message of comparing line (script) with actual, or "" on a match. */
static const char *compare(const char *line, const char *actual_line, int64_t ts_tol)
{
	static char err[512];
	gt_spd_packet s = line_packet(line), a = line_packet(actual_line);
	err[0] = '\0';
	if (gt_spd_match(&s, &a, NULL, ts_tol, err, sizeof(err)))
		return "";
	return err;
}

static void test_match_fields(void **state)
{
	(void)state;
	assert_string_equal(
	    compare("> S. 0:0(0) ack 1 <mss 1460>", "> S. 0:0(0) ack 1 win 9 <mss 1460>", -1), "");
	assert_string_equal(compare("> S. 0:0(0) ack 1", "> R. 0:0(0) ack 1", -1),
	                    "flags: expected S., got R.");
	assert_string_equal(compare("> . 1:1(0) ack 1", "> - 1:1(0) ack 1", -1),
	                    "flags: expected ., got -");
	assert_string_equal(compare("> . 1:1(0) ack 1", "> . 2:2(0) ack 1", -1),
	                    "seq: expected 1, got 2");
	assert_string_equal(compare("> P. 1:101(100) ack 1", "> P. 1:51(50) ack 1", -1),
	                    "payload length: expected 100, got 50");
	assert_string_equal(compare("> . 1:1(0) ack 1001", "> . 1:1(0) ack 1", -1),
	                    "ack: expected 1001, got 1");
	assert_string_equal(compare("> . 1:1(0) ack 1 win 100", "> . 1:1(0) ack 1 win 200", -1),
	                    "win: expected 100, got 200");
	assert_string_equal(compare("> . 1:1(0) ack 1 urg 1", "> . 1:1(0) ack 1", -1),
	                    "urg: expected 1, got 0");
}

static void test_match_options(void **state)
{
	(void)state;
	/* <...>: anything */
	assert_string_equal(compare("> S. 0:0(0) ack 1 <...>", "> S. 0:0(0) ack 1 <mss 1>", -1),
	                    "");
	/* none listed: none allowed */
	assert_string_equal(compare("> . 1:1(0) ack 1", "> . 1:1(0) ack 1 <nop,nop,sack 1:2>", -1),
	                    "TCP options (option 1 differs): expected <>, got <nop,nop,sack 1:2>");
	assert_string_equal(compare("> S. 0:0(0) ack 1 <mss 1460,nop,wscale 7>",
	                            "> S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>", -1),
	                    "TCP options (option 3 differs): expected <mss 1460,nop,wscale 7>, got "
	                    "<mss 1460,nop,wscale 8>");
	assert_string_equal(compare("> . 1:1(0) ack 1 <nop,nop,sack 1:2>",
	                            "> . 1:1(0) ack 1 <nop,nop,sack 1:3>", -1),
	                    "TCP options (option 3 differs): expected <nop,nop,sack 1:2>, got "
	                    "<nop,nop,sack 1:3>");
	/* order matters */
	assert_string_equal(compare("> S 0:0(0) <mss 1460,sackOK,nop,nop>",
	                            "> S 0:0(0) <sackOK,mss 1460,nop,nop>", -1),
	                    "TCP options (option 1 differs): expected <mss 1460,sackOK,nop,nop>, "
	                    "got <sackOK,mss 1460,nop,nop>");
	/* TS: ecr never checked; val only with a tolerance (packetdrill's
	 * --tcp_ts_tick_usecs), here 3 ticks */
	const char *ts = "> . 1:1(0) ack 1 <nop,nop,TS val 100 ecr 5>";
	assert_string_equal(compare(ts, "> . 1:1(0) ack 1 <nop,nop,TS val 900 ecr 6>", -1), "");
	assert_string_equal(compare(ts, "> . 1:1(0) ack 1 <nop,nop,TS val 103 ecr 6>", 3), "");
	assert_string_equal(compare(ts, "> . 1:1(0) ack 1 <nop,nop,TS val 104 ecr 5>", 3),
	                    "TCP options (option 3 differs): expected <nop,nop,TS val 100 ecr 5>, "
	                    "got <nop,nop,TS val 104 ecr 5>");
}

static void test_payload_must_be_zeros(void **state)
{
	(void)state;
	gt_spd_packet s = line_packet("> P. 1:4(3) ack 1");
	const uint8_t zeros[3] = {0}, other[3] = {0, 7, 0};
	char err[128];
	assert_true(gt_spd_match(&s, &s, zeros, -1, err, sizeof(err)));
	assert_false(gt_spd_match(&s, &s, other, -1, err, sizeof(err)));
	assert_string_equal(err, "payload: expected zeros, byte 1 is 0x07");
}

static void test_format(void **state)
{
	(void)state;
	char text[256];
	gt_spd_packet p = line_packet("> F. 5:5(0) ack 7 win 10 <...>");
	gt_spd_format_packet(&p, text, sizeof(text));
	assert_string_equal(text, "F. 5:5(0) ack 7 win 10 <...>");
	gt_spd_format_flags(GT_SPD_SYN | GT_SPD_ECE | GT_SPD_CWR, text, sizeof(text));
	assert_string_equal(text, "SEW");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_and_read_back),
	    cmocka_unit_test(test_match_fields),
	    cmocka_unit_test(test_match_options),
	    cmocka_unit_test(test_payload_must_be_zeros),
	    cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
