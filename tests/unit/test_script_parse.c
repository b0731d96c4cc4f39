/* glasstcp script's parser (tools/script/parse.c): what it makes of good
 * lines (times, packets, options, calls and their arguments, errno names,
 * --options, shell lines, comments) and the messages, with file and line,
 * for bad ones. */
#include "script/ast.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

static char err[512];

static gt_spd_script *parse_ok(const char *text)
{
	err[0] = '\0';
	gt_spd_script *s = gt_spd_parse("t.pkt", text, err, sizeof(err));
	if (!s)
		fail_msg("parse failed: %s", err);
	return s;
}

static void test_times(void **state)
{
	(void)state;
	gt_spd_script *s = parse_ok("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	                            "+0.3 close(3) = 0\n"
	                            "0.750 > . 1:1(0) ack 1\n"
	                            "* > . 1:1(0) ack 1\n"
	                            "0.1~0.25 > . 1:1(0) ack 1\n"
	                            "+.5~+1 > . 1:1(0) ack 1\n"
	                            "+0...0.2 accept(3, ..., ...) = 4\n"
	                            "2.000001 close(4) = 0\n");
	assert_int_equal(s->n_event, 8);
	assert_int_equal(s->event[1].time_kind, GT_SPD_TIME_RELATIVE);
	/* exact: 0.3 s is 300000 µs, not a float's 299999 */
	assert_int_equal(s->event[1].time_usecs, 300000);
	assert_int_equal(s->event[2].time_kind, GT_SPD_TIME_ABSOLUTE);
	assert_int_equal(s->event[2].time_usecs, 750000);
	assert_int_equal(s->event[3].time_kind, GT_SPD_TIME_ANY);
	assert_int_equal(s->event[4].time_kind, GT_SPD_TIME_ABSOLUTE_RANGE);
	assert_int_equal(s->event[4].time_usecs, 100000);
	assert_int_equal(s->event[4].time_end_usecs, 250000);
	assert_int_equal(s->event[5].time_kind, GT_SPD_TIME_RELATIVE_RANGE);
	assert_int_equal(s->event[5].time_end_usecs, 1000000);
	/* "+0...0.2": a blocking call from +0 to +0.2 */
	assert_true(s->event[6].call.blocking);
	assert_int_equal(s->event[6].time_usecs, 0);
	assert_int_equal(s->event[6].call.end_usecs, 200000);
	assert_int_equal(s->event[7].time_usecs, 2000001);
	assert_int_equal(s->event[7].line, 8);
	gt_spd_script_free(s);
}

static void test_packets(void **state)
{
	(void)state;
	gt_spd_script *s =
	    parse_ok("0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>\n"
	             "+0 > S. 0:0(0) ack 1 <...>\n"
	             "+0 < P. 1:1001(1000) ack 1 win 257 urg 3\n"
	             "+0 > . 1:1(0) ack 1 <nop,nop,sack 1001:2001 3001:4001>\n"
	             "+0 < - 5:5(0) win 0\n"
	             "+0 < FPU. 7:7(0) win 9\n"
	             "+0 < 1001>8080 R 0:0(0) win 0\n");
	const gt_spd_packet *syn = &s->event[0].packet;
	assert_true(syn->inbound);
	assert_int_equal(syn->flags, GT_SPD_SYN);
	assert_int_equal(syn->win, 65535);
	const uint8_t opts[] = {2, 4,   0x05, 0xb4, 4, 2, 8, 10, 0, 0,
	                        0, 100, 0,    0,    0, 0, 1, 3,  3, 7};
	assert_int_equal(syn->options_len, sizeof(opts));
	assert_memory_equal(syn->options, opts, sizeof(opts));

	const gt_spd_packet *synack = &s->event[1].packet;
	assert_false(synack->inbound);
	assert_int_equal(synack->flags, GT_SPD_SYN | GT_SPD_ACK);
	assert_int_equal(synack->ack, 1);
	assert_int_equal(synack->win, -1); /* not given: not checked */
	assert_true(synack->options_any);

	const gt_spd_packet *data = &s->event[2].packet;
	assert_int_equal(data->flags, GT_SPD_PSH | GT_SPD_ACK);
	assert_int_equal(data->seq, 1);
	assert_int_equal(data->len, 1000);
	assert_int_equal(data->urg, 3);

	const gt_spd_packet *sack = &s->event[3].packet;
	const uint8_t sopts[] = {1,    1,    5, 18, 0,    0,    0x03, 0xe9, 0,    0,
	                         0x07, 0xd1, 0, 0,  0x0b, 0xb9, 0,    0,    0x0f, 0xa1};
	assert_int_equal(sack->options_len, sizeof(sopts));
	assert_memory_equal(sack->options, sopts, sizeof(sopts));

	assert_int_equal(s->event[4].packet.flags, 0);
	assert_int_equal(s->event[5].packet.flags,
	                 GT_SPD_FIN | GT_SPD_PSH | GT_SPD_URG | GT_SPD_ACK);
	assert_int_equal(s->event[6].packet.src_port, 1001);
	assert_int_equal(s->event[6].packet.dst_port, 8080);
	gt_spd_script_free(s);

	/* ICMP errors quoting a segment of the stack's (RFC 792, RFC 1191) */
	s = parse_ok("0 < icmp unreachable port_unreachable [0:0(0)]\n"
	             "+0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]\n"
	             "+0 < icmp time_exceeded\n");
	const gt_spd_packet *i0 = &s->event[0].packet;
	assert_true(i0->icmp && i0->inbound);
	assert_int_equal(i0->icmp_type, 3);
	assert_int_equal(i0->icmp_code, 3);
	assert_int_equal(i0->icmp_mtu, -1);
	const gt_spd_packet *i1 = &s->event[1].packet;
	assert_int_equal(i1->icmp_code, 4);
	assert_int_equal(i1->icmp_mtu, 1200);
	assert_int_equal(i1->seq, 1);
	assert_int_equal(i1->len, 1460);
	assert_int_equal(s->event[2].packet.icmp_type, 11);
	gt_spd_script_free(s);
}

static void test_calls(void **state)
{
	(void)state;
	gt_spd_script *s = parse_ok(
	    "0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0\n"
	    "+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n"
	    "+0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), "
	    "sin_addr=inet_addr(\"192.0.2.1\")}, 16) = -1 EINPROGRESS (Operation now in progress)\n"
	    "+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n"
	    "+0 poll([{fd=3, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 0) = 1\n"
	    "+0 writev(3, [{..., 10}, {..., 20}], 2) = 30\n"
	    "+0 setsockopt(3, IPPROTO_TCP, TCP_CONGESTION, \"reno\", 4) = 0\n");
	const gt_spd_call *linger = &s->event[0].call;
	assert_string_equal(linger->name, "setsockopt");
	assert_int_equal(linger->n_arg, 5);
	assert_int_equal(linger->arg[1]->value, SOL_SOCKET);
	assert_int_equal(linger->arg[3]->kind, GT_SPD_EXPR_STRUCT);
	assert_string_equal(linger->arg[3]->elem[1]->text, "linger");
	assert_int_equal(linger->arg[3]->elem[0]->elem[0]->value, 1);

	assert_int_equal(s->event[1].call.arg[2]->value, O_RDWR | O_NONBLOCK);

	const gt_spd_call *conn = &s->event[2].call;
	assert_int_equal(conn->result->value, -1);
	assert_int_equal(conn->errno_value, EINPROGRESS);
	assert_string_equal(conn->errno_name, "EINPROGRESS");
	const gt_spd_expr *port = conn->arg[1]->elem[1];
	assert_string_equal(port->text, "sin_port");
	assert_int_equal(port->elem[0]->value, (int64_t)__builtin_bswap16(8080));
	/* inet_addr: network byte order, as packetdrill */
	const uint8_t addr[4] = {192, 0, 2, 1};
	uint32_t want;
	memcpy(&want, addr, 4);
	assert_int_equal(conn->arg[1]->elem[2]->elem[0]->value, want);

	const gt_spd_call *gso = &s->event[3].call;
	assert_int_equal(gso->arg[3]->kind, GT_SPD_EXPR_ARRAY);
	assert_int_equal(gso->arg[4]->elem[0]->value, 4);

	const gt_spd_expr *pfd = s->event[4].call.arg[0]->elem[0];
	assert_int_equal(pfd->elem[1]->elem[0]->value, 0x1 | 0x4);

	assert_int_equal(s->event[5].call.arg[1]->n_elem, 2);
	assert_int_equal(s->event[5].call.arg[1]->elem[1]->elem[0]->kind, GT_SPD_EXPR_ELLIPSIS);
	assert_string_equal(s->event[6].call.arg[3]->text, "reno");
	gt_spd_script_free(s);
}

static void test_options_shell_comments(void **state)
{
	(void)state;
	gt_spd_script *s = parse_ok("// a comment\n"
	                            "--tolerance_usecs=10000\n"
	                            "--so_flags=\"profile=freebsd\"\n"
	                            "/* a comment\n over lines */\n"
	                            "`sysctl -q net.ipv4.tcp_sack=1`\n"
	                            "0 `tc qdisc show`\n"
	                            "+0 close(3) = 0 // trailing\n"
	                            "`echo cleanup`\n");
	assert_int_equal(s->n_option, 2);
	assert_string_equal(s->option[0].name, "tolerance_usecs");
	assert_string_equal(s->option[0].value, "10000");
	assert_int_equal(s->option[0].line, 2);
	assert_string_equal(s->option[1].value, "profile=freebsd");
	assert_int_equal(s->n_shell, 3);
	assert_int_equal(s->n_event, 2);
	assert_int_equal(s->event[0].kind, GT_SPD_EVENT_COMMAND);
	assert_int_equal(s->event[0].line, 7);
	assert_int_equal(s->event[1].line, 8);
	gt_spd_script_free(s);
}

typedef struct bad_case {
	const char *text;
	const char *message;
} bad_case;

static void test_errors_name_the_line(void **state)
{
	(void)state;
	static const bad_case cases[] = {
	    {"0 close(3) = 0\n+0 frob(3) = 0\n", "t.pkt:2: unknown or unsupported call 'frob'"},
	    {"0 setsockopt(3, SOL_SOCKET, SO_NOPE, [1], 4) = 0\n",
	     "t.pkt:1: unknown constant 'SO_NOPE'"},
	    {"0 close(3) = -1 ENOPE\n", "t.pkt:1: unknown errno name 'ENOPE'"},
	    {"0 close(3) = 0\n\n+0 < S 0:0(0)\n",
	     "t.pkt:3: window must be specified for inbound packets (win N)"},
	    {"0 < S 0:0(0) win 1 <...>\n",
	     "t.pkt:1: <...> for TCP options can only be used with outbound packets"},
	    {"0 > S 0:5(0)\n", "t.pkt:1: inconsistent TCP sequence numbers and payload size"},
	    {"0 > SX 0:0(0)\n", "t.pkt:1: unknown TCP flag 'X' in 'SX'"},
	    {"0 > S 0:0(0) <mss 1460,wscale 7>\n",
	     "t.pkt:1: TCP options are 7 bytes, not a multiple"},
	    {"0 > S 0:0(0) <frob 1>\n", "t.pkt:1: unknown or unsupported TCP option 'frob'"},
	    {"0 > S 0:0(0) win 70000\n", "t.pkt:1: a window out of range: 70000"},
	    {"0 close(3) = 0\n* close(3) = 0\n",
	     "t.pkt:2: event time * can only be used with outbound packets"},
	    {"0.1~0.2 close(3) = 0\n",
	     "t.pkt:1: event time range can only be used with outbound packets"},
	    {"0 > . 1:1(0) ack 1\n0.2~0.1 > . 1:1(0) ack 1\n", "t.pkt:2: time range is backwards"},
	    {"0.5 close(3) = 0\n", "t.pkt:1: first event should be at time 0"},
	    {"// nothing\n", "t.pkt:2: the script has no events"},
	    {"0 close(3 = 0\n", "t.pkt:1: expected ',' between elements, got '='"},
	    {"0 close(3)\n+0 close(4) = 0\n", "t.pkt:2: expected '=' after the call's arguments"},
	    {"0 close(3) = 0\n/* never closed\n", "t.pkt:2: unterminated string"},
	    {"0 close(3) = 0\n--late=1\n", "t.pkt:2: options (--late=1) must come before"},
	    {"0 %{ print(1) }%\n", "t.pkt:1: expected a packet (< or >), a socket call"},
	    {"%{ print(1) }%\n", "t.pkt:1: %{ python code }% blocks are not supported"},
	    {"0 > S 0:0(0) <sack 1:2 3:4 5:6 7:8 9:10>\n", "t.pkt:1: more than 4 SACK blocks"},
	    {"0 connect(3, ..., ...) = -1 EINPROGRESS (no end\n",
	     "t.pkt:1: note in parentheses without ')'"},
	    {"0 close(3) = 0\n+99999999 close(3) = 0\n",
	     "t.pkt:2: time too large (at most 10000000 seconds)"},
	    {"0 close([[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]) = 0\n",
	     "t.pkt:1: arguments nested more than 16 deep"},
	    {"0 < icmp frobbed\n", "t.pkt:1: unknown ICMP type 'frobbed'"},
	    {"0 < icmp unreachable very_far\n", "t.pkt:1: unknown ICMP code 'very_far'"},
	    {"0 > icmp unreachable\n", "t.pkt:1: outbound 'icmp' packets are not supported"},
	    {"0 < icmp unreachable [1:2(1) +0\n", "t.pkt:1: expected ']' after the quoted segment"},
	    {"0 bind(3, {sa_family=AF_INET, sin_addr=inet_addr(\"1.2.3\")}, 16) = 0\n",
	     "t.pkt:1: not an IPv4 address: \"1.2.3\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		gt_spd_script *s = gt_spd_parse("t.pkt", cases[i].text, err, sizeof(err));
		if (s) {
			gt_spd_script_free(s);
			fail_msg("case %zu parsed, expected: %s", i, cases[i].message);
		}
		if (!strstr(err, cases[i].message))
			fail_msg("case %zu: expected '%s', got '%s'", i, cases[i].message, err);
	}
}

static void test_symbols(void **state)
{
	(void)state;
	int64_t v;
	assert_true(gt_spd_symbol("AF_INET", &v));
	assert_int_equal(v, AF_INET);
	assert_true(gt_spd_symbol("TCP_ESTABLISHED", &v));
	assert_int_equal(v, 1);
	assert_false(gt_spd_symbol("AF_NOPE", &v));
	/* errno names are constants too (SO_ERROR's value) */
	assert_true(gt_spd_symbol("ECONNREFUSED", &v));
	assert_int_equal(v, ECONNREFUSED);
	assert_int_equal(gt_spd_errno_value("ECONNREFUSED"), ECONNREFUSED);
	assert_int_equal(gt_spd_errno_value("EWOULDBLOCK"), EAGAIN);
	assert_int_equal(gt_spd_errno_value("ENOPE"), 0);
	assert_string_equal(gt_spd_errno_name(ECONNRESET), "ECONNRESET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_times),
	    cmocka_unit_test(test_packets),
	    cmocka_unit_test(test_calls),
	    cmocka_unit_test(test_options_shell_comments),
	    cmocka_unit_test(test_errors_name_the_line),
	    cmocka_unit_test(test_symbols),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
