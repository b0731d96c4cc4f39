/* glasstcp script's runner (tools/script/run.c, call.c, worker.c) against a
 * fake interface: a clock, a log of the calls, the packets the script
 * injected, and packets it replays as the "stack's". It checks how script
 * fds map to live ones, ISNs and TS values are mapped both ways, times are
 * kept and checked, and how each kind of failure is reported. (The real
 * adapter runs the scripts of tests/pkt: pkt_script.) */
#include "script/packet.h"
#include "script/script.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define LOCAL  0xc0a80001u /* 192.168.0.1 */
#define REMOTE 0xc0000201u /* 192.0.2.1 */

typedef struct fake_pkt {
	int64_t at;
	uint8_t buf[256];
	size_t len;
} fake_pkt;

typedef struct fake {
	int64_t now;
	fake_pkt in[16]; /* what the script sent (with the time) */
	int n_in;
	fake_pkt out[16]; /* what the "stack" sends */
	int n_out, next_out;
	char log[1024];
} fake;

static fake F;

/* accept() blocks, when accept_blocks, until an inbound packet or a
 * close(): as a real blocking call sleeps in the interface */
static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cv = PTHREAD_COND_INITIALIZER;
static bool accept_blocks, accept_woken, listener_closed;

static void logf_(const char *fmt, ...)
{
	size_t n = strlen(F.log);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(F.log + n, sizeof(F.log) - n, fmt, ap);
	va_end(ap);
}

static int f_gettimeofday(void *u, struct timeval *tv, void *tz)
{
	(void)u;
	(void)tz;
	tv->tv_sec = F.now / 1000000;
	tv->tv_usec = F.now % 1000000;
	return 0;
}

static int f_usleep(void *u, useconds_t us)
{
	(void)u;
	F.now += us;
	return 0;
}

static int f_send(void *u, const void *buf, size_t n)
{
	(void)u;
	pthread_mutex_lock(&fake_mu);
	accept_woken = true;
	pthread_cond_broadcast(&fake_cv);
	pthread_mutex_unlock(&fake_mu);
	fake_pkt *p = &F.in[F.n_in++];
	p->at = F.now;
	p->len = n < sizeof(p->buf) ? n : sizeof(p->buf);
	memcpy(p->buf, buf, p->len);
	return 0;
}

static int f_receive(void *u, void *buf, size_t *count, long long *t)
{
	(void)u;
	if (F.next_out == F.n_out) {
		*count = 0;
		return 0;
	}
	fake_pkt *p = &F.out[F.next_out++];
	if (p->at > F.now)
		F.now = p->at;
	memcpy(buf, p->buf, p->len);
	*count = p->len;
	*t = p->at;
	return 0;
}

static int f_socket(void *u, int d, int t, int p)
{
	(void)u;
	logf_("socket(%d,%d,%d) ", d, t, p);
	return 10;
}
static int f_bind(void *u, int fd, const struct sockaddr *a, socklen_t l)
{
	(void)u;
	const struct sockaddr_in *in = (const void *)a;
	logf_("bind(%d,%08x:%u,%u) ", fd, __builtin_bswap32(in->sin_addr.s_addr),
	      __builtin_bswap16(in->sin_port), (unsigned)l);
	return 0;
}
static int f_listen(void *u, int fd, int b)
{
	(void)u;
	logf_("listen(%d,%d) ", fd, b);
	return 0;
}

static int f_accept(void *u, int fd, struct sockaddr *a, socklen_t *l)
{
	(void)u;
	(void)a;
	(void)l;
	pthread_mutex_lock(&fake_mu);
	while (accept_blocks && !accept_woken && !listener_closed)
		pthread_cond_wait(&fake_cv, &fake_mu);
	bool closed = listener_closed;
	pthread_mutex_unlock(&fake_mu);
	logf_("accept(%d) ", fd);
	if (closed) {
		errno = EBADF;
		return -1;
	}
	return 11;
}
static int f_connect(void *u, int fd, const struct sockaddr *a, socklen_t l)
{
	(void)u;
	(void)a;
	(void)l;
	logf_("connect(%d) ", fd);
	errno = EINPROGRESS;
	return -1;
}
static ssize_t f_write(void *u, int fd, const void *b, size_t n)
{
	(void)u;
	(void)b;
	logf_("write(%d,%zu) ", fd, n);
	return (ssize_t)n;
}
static int f_close(void *u, int fd)
{
	(void)u;
	pthread_mutex_lock(&fake_mu);
	listener_closed = true;
	pthread_cond_broadcast(&fake_cv);
	pthread_mutex_unlock(&fake_mu);
	logf_("close(%d) ", fd);
	return 0;
}
static int f_getsockopt(void *u, int fd, int level, int name, void *val, socklen_t *len)
{
	(void)u;
	logf_("getsockopt(%d,%d,%d,%u) ", fd, level, name, (unsigned)*len);
	memset(val, 0, *len);
	*(int *)val = 1448;
	return 0;
}

static struct packetdrill_interface fake_ifc(void)
{
	struct packetdrill_interface ifc;
	memset(&ifc, 0, sizeof(ifc));
	ifc.gettimeofday = f_gettimeofday;
	ifc.usleep = f_usleep;
	ifc.netdev_send = f_send;
	ifc.netdev_receive = f_receive;
	ifc.socket = f_socket;
	ifc.bind = f_bind;
	ifc.listen = f_listen;
	ifc.accept = f_accept;
	ifc.connect = f_connect;
	ifc.write = f_write;
	ifc.close = f_close;
	ifc.getsockopt = f_getsockopt;
	return ifc;
}

/* The "stack" sends line (a script packet line, in live numbers) at `at`,
 * from local:src_port to remote:dst_port. */
static void stack_sends(int64_t at, const char *line, uint16_t src_port, uint16_t dst_port)
{
	char text[256], err[256];
	snprintf(text, sizeof(text), "0 %s\n", line);
	gt_spd_script *s = gt_spd_parse("fake", text, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	gt_spd_inbound in = {
	    .src_ip = LOCAL, .dst_ip = REMOTE, .src_port = src_port, .dst_port = dst_port};
	fake_pkt *p = &F.out[F.n_out++];
	p->at = at;
	p->len = gt_spd_build_inbound(&s->event[0].packet, &in, p->buf, sizeof(p->buf));
	assert_true(p->len > 0);
	gt_spd_script_free(s);
}

static gt_script_result R;

static bool run(const char *text)
{
	struct packetdrill_interface ifc = fake_ifc();
	gt_script_config cfg;
	gt_script_config_default(&cfg);
	return gt_script_run_text("r.pkt", text, &cfg, &ifc, &R);
}

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	F.now = 1000000000; /* the interface's clock need not start at 0 */
	accept_blocks = accept_woken = listener_closed = false;
	return 0;
}

static const char *handshake = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
                               "+0 bind(3, ..., ...) = 0\n"
                               "+0 listen(3, 1) = 0\n"
                               "+0 < S 0:0(0) win 65535 <mss 1460,nop,nop,TS val 100 ecr 0>\n"
                               "+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,TS val 7 ecr 100>\n"
                               "+.1 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 110 ecr 7>\n"
                               "+0 accept(3, ..., ...) = 4\n"
                               "+0 write(4, ..., 10) = 10\n"
                               "+0 getsockopt(4, IPPROTO_TCP, TCP_MAXSEG, [1448], [4]) = 0\n"
                               "+0 close(4) = 0\n";

static void test_passive_open_maps_fds_isn_and_ts(void **state)
{
	(void)state;
	/* the stack's ISN 1000000, its TS val 777777 */
	stack_sends(F.now, "> S. 1000000:1000000(0) ack 1 <mss 1460,nop,nop,TS val 777777 ecr 100>",
	            8080, 48000);
	if (!run(handshake))
		fail_msg("%s", R.message);
	assert_int_equal(R.n_events, 10);
	/* script fd 3 is live 10, the accepted 4 is live 11 */
	assert_string_equal(F.log,
	                    "socket(2,1,6) bind(10,c0a80001:8080,16) listen(10,1) accept(10) "
	                    "write(11,10) getsockopt(11,6,2,4) close(11) ");
	assert_int_equal(F.n_in, 2);
	gt_spd_wire w;
	char err[128];
	assert_true(gt_spd_wire_parse(F.in[1].buf, F.in[1].len, &w, err, sizeof(err)));
	assert_int_equal(w.src_ip, REMOTE);
	assert_int_equal(w.dst_port, 8080);
	assert_int_equal(w.ack, 1000001); /* script ack 1: the stack's ISN + 1 */
	uint32_t val, ecr;
	assert_true(gt_spd_find_ts(w.options, w.options_len, &val, &ecr));
	assert_int_equal(ecr, 777777); /* script ecr 7: the live TS val */
	/* +.1 after the outbound SYN-ACK */
	assert_int_equal(F.in[1].at - F.in[0].at, 100000);
}

static void test_wrong_flags(void **state)
{
	(void)state;
	stack_sends(F.now, "> R. 0:0(0) ack 1", 8080, 48000);
	assert_false(run(handshake));
	assert_int_equal(R.line, 5);
	assert_string_equal(R.message,
	                    "r.pkt:5: outbound packet flags: expected S., got R. (script: "
	                    "> S. 0:0(0) ack 1 <mss 1460,nop,nop,TS val 7 ecr 100>; actual "
	                    "at 0.000000: > R. 0:0(0) ack 1 win 65535)");
}

static void test_wrong_ack(void **state)
{
	(void)state;
	stack_sends(F.now, "> S. 1000000:1000000(0) ack 2 <mss 1460,nop,nop,TS val 5 ecr 100>",
	            8080, 48000);
	assert_false(run(handshake));
	assert_int_equal(R.line, 5);
	assert_non_null(strstr(R.message,
	                       "r.pkt:5: outbound packet ack: expected 1, got 2 (script: "
	                       "> S. 0:0(0) ack 1 <mss 1460,nop,nop,TS val 7 ecr 100>; "
	                       "actual at 0.000000: > S. 0:0(0) ack 2 win 65535"));
	assert_int_equal(R.n_events, 4);
}

static void test_late_packet_is_a_timing_error(void **state)
{
	(void)state;
	stack_sends(F.now + 500000, "> S. 9:9(0) ack 1 <mss 1460,nop,nop,TS val 5 ecr 100>", 8080,
	            48000);
	assert_false(run(handshake));
	assert_string_equal(
	    R.message, "r.pkt:5: outbound packet timing error: expected outbound packet at "
	               "0.000000 sec, but it happened at 0.500000 sec (tolerance 0.004000 sec) "
	               "(script: > S. 0:0(0) ack 1 <mss 1460,nop,nop,TS val 7 ecr 100>; actual "
	               "at 0.500000: > S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,TS val 7 ecr "
	               "100>)");
	/* the same clock gives the same run, to the byte */
	char first[sizeof(R.message)];
	strcpy(first, R.message);
	setup(NULL);
	stack_sends(F.now + 500000, "> S. 9:9(0) ack 1 <mss 1460,nop,nop,TS val 5 ecr 100>", 8080,
	            48000);
	assert_false(run(handshake));
	assert_string_equal(R.message, first);
}

static void test_missing_packet(void **state)
{
	(void)state;
	assert_false(run(handshake));
	assert_int_equal(R.line, 5);
	assert_string_equal(R.message, "r.pkt:5: expected an outbound packet, but the stack sent "
	                               "none (waited until 0.000000 sec)");
}

static void test_packets_of_other_connections_are_skipped(void **state)
{
	(void)state;
	stack_sends(F.now, "> R. 0:0(0) ack 1", 9999, 48000);
	stack_sends(F.now, "> S. 1000000:1000000(0) ack 1 <mss 1460,nop,nop,TS val 5 ecr 100>",
	            8080, 48000);
	if (!run(handshake))
		fail_msg("%s", R.message);
}

static void test_errno_and_ts_ecr_errors(void **state)
{
	(void)state;
	assert_false(run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	                 "+0 connect(3, ..., ...) = -1 ECONNREFUSED (Connection refused)\n"));
	assert_string_equal(R.message,
	                    "r.pkt:2: connect(): expected errno ECONNREFUSED (Connection "
	                    "refused), got EINPROGRESS (Operation now in progress)");
	setup(NULL);
	assert_false(run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 close(7) = 0\n"));
	assert_string_equal(R.message, "r.pkt:2: close(): no socket has script fd 7");
	setup(NULL);
	assert_false(run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 listen(3, 1) = 0\n"
	                 "+0 < . 1:1(0) ack 1 win 5 <nop,nop,TS val 1 ecr 55>\n"));
	assert_string_equal(R.message, "r.pkt:3: unable to infer live TS ecr for script TS ecr 55: "
	                               "no outbound packet of the script had TS val 55");
	setup(NULL);
	assert_false(run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 readv(3, [], 0) = 0\n"));
	assert_string_equal(R.message, "r.pkt:2: the interface has no readv()");
}

static void test_times_relative_and_anchored(void **state)
{
	(void)state;
	/* consecutive inbound packets count from each other's script time;
	 * after a call, from now */
	if (!run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	         "+0 listen(3, 1) = 0\n"
	         "0.25 < S 0:0(0) win 100\n"
	         "+0.1 < . 1:1(0) ack 1 win 100\n"
	         "+0.1 < . 1:1(0) ack 1 win 100\n"
	         "+0.2 close(3) = 0\n"
	         "1.0 < . 1:1(0) ack 1 win 100\n"))
		fail_msg("%s", R.message);
	assert_int_equal(F.n_in, 4);
	int64_t t0 = F.in[0].at - 250000;
	assert_int_equal(F.in[1].at - t0, 350000);
	assert_int_equal(F.in[2].at - t0, 450000);
	assert_int_equal(F.in[3].at - t0, 1000000);
}

static void test_blocking_call_return_time_checked(void **state)
{
	(void)state;
	/* the fake's accept returns at once: not at 0.2 as the script says */
	assert_false(run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	                 "+0 listen(3, 1) = 0\n"
	                 "+0...0.2 accept(3, ..., ...) = 4\n"
	                 "+0.2 close(3) = 0\n"));
	assert_int_equal(R.line, 3);
	assert_non_null(strstr(R.message, "r.pkt:3: timing error: expected system call return at "
	                                  "0.200000 sec, but it happened at 0.000000 sec"));
}

static void test_blocking_call_runs_beside_the_script(void **state)
{
	(void)state;
	accept_blocks = true;
	/* accept() sleeps until the packet at 0.1 wakes it: it returns then */
	if (!run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	         "+0 listen(3, 1) = 0\n"
	         "+0...0.1 accept(3, ..., ...) = 4\n"
	         "+0.1 < S 0:0(0) win 100\n"
	         "+0 close(4) = 0\n"))
		fail_msg("%s", R.message);
	assert_string_equal(F.log, "socket(2,1,6) listen(10,1) accept(10) close(11) ");
	/* one that blocks where the script has it return at once fails, and
	 * is woken at the end by closing its socket */
	setup(NULL);
	accept_blocks = true;
	assert_false(run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	                 "+0 listen(3, 1) = 0\n"
	                 "+0 accept(3, ..., ...) = 4\n"));
	assert_string_equal(R.message, "r.pkt:3: accept() blocked, but the script has it return at "
	                               "once (a call that blocks is written +0...T accept(...))");
	assert_true(listener_closed);
	/* a blocking call still blocked when the script ends */
	setup(NULL);
	accept_blocks = true;
	assert_false(run("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
	                 "+0 listen(3, 1) = 0\n"
	                 "+0...1 accept(3, ..., ...) = 4\n"));
	assert_string_equal(R.message, "r.pkt:3: accept() still blocked at the end of the script");
}

static void test_options_lines(void **state)
{
	(void)state;
	stack_sends(F.now + 9000, "> S. 9:9(0) ack 1 <mss 1460,nop,nop,TS val 5 ecr 100>", 8080,
	            48000);
	char text[1024];
	snprintf(text, sizeof(text), "--tolerance_usecs=10000\n%s", handshake);
	if (!run(text))
		fail_msg("%s", R.message);
	setup(NULL);
	assert_false(run("--tolerance_usecs=x\n0 close(3) = 0\n"));
	assert_string_equal(R.message, "r.pkt:1: bad value for --tolerance_usecs: 'x'");
	setup(NULL);
	assert_false(run("--ip_version=ipv6\n0 close(3) = 0\n"));
	assert_string_equal(R.message, "r.pkt:1: unknown or unsupported option --ip_version");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_passive_open_maps_fds_isn_and_ts, setup),
	    cmocka_unit_test_setup(test_wrong_flags, setup),
	    cmocka_unit_test_setup(test_wrong_ack, setup),
	    cmocka_unit_test_setup(test_late_packet_is_a_timing_error, setup),
	    cmocka_unit_test_setup(test_missing_packet, setup),
	    cmocka_unit_test_setup(test_packets_of_other_connections_are_skipped, setup),
	    cmocka_unit_test_setup(test_errno_and_ts_ecr_errors, setup),
	    cmocka_unit_test_setup(test_times_relative_and_anchored, setup),
	    cmocka_unit_test_setup(test_blocking_call_return_time_checked, setup),
	    cmocka_unit_test_setup(test_blocking_call_runs_beside_the_script, setup),
	    cmocka_unit_test_setup(test_options_lines, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
