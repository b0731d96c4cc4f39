/* tools/kernel/kstates.c: the Linux kernel's TCP states from sock:inet_sock_set_state
 * and sock_diag.
 *
 * The parser and the event logic are tested on captured trace lines (always).
 * As root, real kernel connections run on the loopback of a network namespace
 * each test creates (unshare(CLONE_NEWNET); the namespace dies with its last
 * socket, so it is gone even when a test fails), on an address of 127/8 chosen
 * per process and test so that no other traffic matches the filter.
 *
 * The test includes kstates.c to reach its private parser. */
#define _GNU_SOURCE
#include "kernel/kstates.c"
#include "support.h"

#include <inttypes.h>
#include <linux/inet_diag.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>

#define MS 1000ull
#define S  1000000ull

/* ---------------------------------------------------------- recording */

typedef struct rec_ev {
	gt_time_us t;
	gt_conn_tuple c;
	gt_tcp_state from, to;
	char host[16];
	char cause[16];
	int sock;
} rec_ev;

static rec_ev EV[1024];
static size_t NEV;

static void record(void *user, const gt_event *ev)
{
	(void)user;
	assert_int_equal(ev->kind, GT_EV_STATE);
	assert_true(ev->has_conn);
	assert_true(NEV < sizeof(EV) / sizeof(EV[0]));
	rec_ev *r = &EV[NEV++];
	r->t = ev->t_us;
	r->c = ev->conn;
	r->from = ev->from;
	r->to = ev->to;
	snprintf(r->host, sizeof(r->host), "%s", ev->host);
	snprintf(r->cause, sizeof(r->cause), "%s", ev->cause);
	r->sock = ev->sock;
}

static gt_conn_tuple tuple(uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp)
{
	return (gt_conn_tuple){
	    .local_addr = la, .local_port = lp, .remote_addr = ra, .remote_port = rp};
}

static bool same(const gt_conn_tuple *a, const gt_conn_tuple *b)
{
	return a->local_addr == b->local_addr && a->local_port == b->local_port &&
	       a->remote_addr == b->remote_addr && a->remote_port == b->remote_port;
}

static const rec_ev *find_ev(const gt_conn_tuple *c, gt_tcp_state from, gt_tcp_state to)
{
	for (size_t i = 0; i < NEV; i++) {
		if (same(&EV[i].c, c) && EV[i].from == from && EV[i].to == to)
			return &EV[i];
	}
	return NULL;
}

typedef struct trans {
	gt_tcp_state from, to;
} trans;

static void print_events(void)
{
	for (size_t i = 0; i < NEV; i++) {
		char c[48];
		print_message("  %" PRIu64 " %s %s %s -> %s (%s)\n", EV[i].t, EV[i].host,
		              gt_conn_str(&EV[i].c, c), gt_tcp_state_name(EV[i].from),
		              gt_tcp_state_name(EV[i].to), EV[i].cause);
	}
}

/* The transitions reported for c, in order, are exactly want. */
static void assert_sequence(const gt_conn_tuple *c, const trans *want, size_t n)
{
	size_t k = 0;
	bool ok = true;
	for (size_t i = 0; i < NEV; i++) {
		if (!same(&EV[i].c, c))
			continue;
		if (k >= n || EV[i].from != want[k].from || EV[i].to != want[k].to)
			ok = false;
		k++;
	}
	if (!ok || k != n) {
		char s[48];
		print_message("unexpected sequence for %s:\n", gt_conn_str(c, s));
		print_events();
	}
	assert_true(ok);
	assert_int_equal(k, n);
}
#define ASSERT_SEQ(c, ...)                                                                         \
	do {                                                                                       \
		const trans want_[] = {__VA_ARGS__};                                               \
		assert_sequence((c), want_, sizeof(want_) / sizeof(want_[0]));                     \
	} while (0)
#define T(a, b)                                                                                    \
	{                                                                                          \
		GT_TCP_##a, GT_TCP_##b                                                             \
	}

/* ------------------------------------------------------ parser (always) */

/* Captured on this project's CI kernel (6.x), default print format. */
static const char *const L_SYN_SENT =
    "         python3-24701   [000] .....  3407.158850: inet_sock_set_state: family=AF_INET "
    "protocol=IPPROTO_TCP sport=0 dport=40775 saddr=127.0.0.1 daddr=127.0.0.1 "
    "saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.1 oldstate=TCP_CLOSE "
    "newstate=TCP_SYN_SENT\n";
static const char *const L_SOFTIRQ =
    "     ksoftirqd/0-14      [000] ..s1.  3407.160062: inet_sock_set_state: family=AF_INET "
    "protocol=IPPROTO_TCP sport=56136 dport=40775 saddr=127.0.0.1 daddr=127.0.0.1 "
    "saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.1 oldstate=TCP_FIN_WAIT2 "
    "newstate=TCP_CLOSE";
/* The same kernel with options/fields set (what the module asks for). */
static const char *const L_FIELDS =
    "         python3-24778   [001] .....  3417.762722: inet_sock_set_state: "
    "skaddr=0xffff888102e22e40 (-131387296174528) oldstate=0x2 (2) newstate=0x1 (1) "
    "sport=0xd3aa (54186) dport=0x8fc3 (36803) family=0x2 (2) protocol=0x6 (6) "
    "saddr=0x100007f (16777343) daddr=0x100007f (16777343) saddr_v6=<INVALID-SIZE> "
    "daddr_v6=<INVALID-SIZE>\n";

static void test_parse_default_format(void **state)
{
	ks_rec r;
	assert_int_equal(ks_parse_line(L_SYN_SENT, &r), 0);
	assert_int_equal(r.t, 3407158850ull);
	assert_int_equal(r.family, 2);
	assert_int_equal(r.protocol, 6);
	assert_int_equal(r.sport, 0);
	assert_int_equal(r.dport, 40775);
	assert_int_equal(r.saddr, 0x7f000001);
	assert_int_equal(r.daddr, 0x7f000001);
	assert_int_equal(r.oldstate, K_CLOSE);
	assert_int_equal(r.newstate, K_SYN_SENT);
	assert_int_equal(r.skaddr, 0);

	assert_int_equal(ks_parse_line(L_SOFTIRQ, &r), 0);
	assert_int_equal(r.t, 3407160062ull);
	assert_int_equal(r.sport, 56136);
	assert_int_equal(r.oldstate, K_FIN_WAIT2);
	assert_int_equal(r.newstate, K_CLOSE);
}

static void test_parse_fields_format(void **state)
{
	ks_rec r;
	assert_int_equal(ks_parse_line(L_FIELDS, &r), 0);
	assert_int_equal(r.t, 3417762722ull);
	assert_int_equal(r.skaddr, 0xffff888102e22e40ull);
	assert_int_equal(r.oldstate, K_SYN_SENT);
	assert_int_equal(r.newstate, K_ESTABLISHED);
	assert_int_equal(r.sport, 54186);
	assert_int_equal(r.dport, 36803);
	assert_int_equal(r.family, 2);
	assert_int_equal(r.protocol, 6);
	/* __u8[4] printed as a native integer: the bytes are 127.0.0.1 */
	uint32_t native = 0x100007f;
	uint8_t b[4];
	memcpy(b, &native, 4);
	uint32_t want = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	assert_int_equal(r.saddr, want);
	assert_int_equal(r.daddr, want);
}

/* A task name may hold spaces, colons and dashes; record-tgid adds a column;
 * the timestamp may have more or fewer digits. */
static void test_parse_odd_prefixes(void **state)
{
	ks_rec r;
	assert_int_equal(
	    ks_parse_line("  my prog: a-b-77  (   77) [003] d.s2. 12.5: inet_sock_set_state: "
	                  "family=AF_INET6 protocol=IPPROTO_TCP sport=80 dport=1 saddr=192.0.2.1 "
	                  "daddr=192.0.2.2 saddrv6=::ffff:192.0.2.1 daddrv6=::ffff:192.0.2.2 "
	                  "oldstate=TCP_LISTEN newstate=TCP_SYN_RECV",
	                  &r),
	    0);
	assert_int_equal(r.t, 12500000ull);
	assert_int_equal(r.family, 10);
	assert_int_equal(r.saddr, GT_TEST_ADDR(1));
	assert_int_equal(r.daddr, GT_TEST_ADDR(2));
	assert_int_equal(r.oldstate, K_LISTEN);
	assert_int_equal(r.newstate, K_SYN_RECV);
	/* nanoseconds: truncated to microseconds */
	assert_int_equal(ks_parse_line("x-1 [0] ..... 1.123456789: inet_sock_set_state: family=2 "
	                               "protocol=6 sport=1 dport=2 saddr=1.2.3.4 daddr=5.6.7.8 "
	                               "oldstate=TCP_CLOSE_WAIT newstate=TCP_LAST_ACK\r\n",
	                               &r),
	                 0);
	assert_int_equal(r.t, 1123456ull);
	assert_int_equal(r.oldstate, K_CLOSE_WAIT);
	assert_int_equal(r.newstate, K_LAST_ACK);
}

static void test_parse_rejects(void **state)
{
	ks_rec r;
	static const char *const bad[] = {
	    "",
	    "CPU:1 [LOST 12 EVENTS]",
	    "python3-1 [000] ..... 3407.158850: sched_switch: prev_comm=a prev_pid=1",
	    /* truncated: no newstate */
	    "python3-1 [000] ..... 3407.158850: inet_sock_set_state: family=AF_INET "
	    "protocol=IPPROTO_TCP sport=0 dport=1 saddr=127.0.0.1 daddr=127.0.0.1 "
	    "oldstate=TCP_CLOSE",
	    /* a state this module does not know */
	    "python3-1 [000] ..... 3407.158850: inet_sock_set_state: family=AF_INET "
	    "protocol=IPPROTO_TCP sport=0 dport=1 saddr=127.0.0.1 daddr=127.0.0.1 "
	    "oldstate=TCP_CLOSE newstate=TCP_BOGUS",
	    "python3-1 [000] ..... 3407.158850: inet_sock_set_state: family=2 protocol=6 sport=0 "
	    "dport=1 saddr=127.0.0.1 daddr=127.0.0.1 oldstate=0x7 newstate=0x0d",
	    /* bad numbers */
	    "python3-1 [000] ..... 3407.158850: inet_sock_set_state: family=AF_INET "
	    "protocol=IPPROTO_TCP sport=70000 dport=1 saddr=127.0.0.1 daddr=127.0.0.1 "
	    "oldstate=TCP_CLOSE newstate=TCP_SYN_SENT",
	    "python3-1 [000] ..... 3407.158850: inet_sock_set_state: family=AF_INET "
	    "protocol=IPPROTO_TCP sport=1 dport=1 saddr=127.0.0 daddr=127.0.0.1 "
	    "oldstate=TCP_CLOSE newstate=TCP_SYN_SENT",
	    "python3-1 [000] ..... 3407.158850: inet_sock_set_state: family=AF_INET "
	    "protocol=IPPROTO_TCP sport=-1 dport=1 saddr=127.0.0.1 daddr=127.0.0.1 "
	    "oldstate=TCP_CLOSE newstate=TCP_SYN_SENT",
	    /* no timestamp before the event name */
	    "inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=1 dport=1 "
	    "saddr=127.0.0.1 daddr=127.0.0.1 oldstate=TCP_CLOSE newstate=TCP_SYN_SENT",
	    "python3-1 [000] ..... 34x07.1: inet_sock_set_state: family=AF_INET "
	    "protocol=IPPROTO_TCP sport=1 dport=1 saddr=127.0.0.1 daddr=127.0.0.1 "
	    "oldstate=TCP_CLOSE newstate=TCP_SYN_SENT",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ks_parse_line(bad[i], &r) == 0)
			fail_msg("accepted: %s", bad[i]);
	}
	/* every proper prefix of a good line is rejected */
	size_t len = strlen(L_SOFTIRQ);
	char *buf = malloc(len + 1);
	assert_non_null(buf);
	for (size_t n = 0; n < len; n++) {
		memcpy(buf, L_SOFTIRQ, n);
		buf[n] = '\0';
		if (ks_parse_line(buf, &r) == 0)
			fail_msg("accepted a prefix: %s", buf);
	}
	free(buf);
}

static void test_state_names(void **state)
{
	static const struct {
		const char *k;
		gt_tcp_state gt;
	} map[] = {
	    {"TCP_ESTABLISHED", GT_TCP_ESTABLISHED},
	    {"TCP_SYN_SENT", GT_TCP_SYN_SENT},
	    {"TCP_SYN_RECV", GT_TCP_SYN_RECEIVED},
	    {"TCP_FIN_WAIT1", GT_TCP_FIN_WAIT_1},
	    {"TCP_FIN_WAIT2", GT_TCP_FIN_WAIT_2},
	    {"TCP_TIME_WAIT", GT_TCP_TIME_WAIT},
	    {"TCP_CLOSE", GT_TCP_CLOSED},
	    {"TCP_CLOSE_WAIT", GT_TCP_CLOSE_WAIT},
	    {"TCP_LAST_ACK", GT_TCP_LAST_ACK},
	    {"TCP_LISTEN", GT_TCP_LISTEN},
	    {"TCP_CLOSING", GT_TCP_CLOSING},
	    {"TCP_NEW_SYN_RECV", GT_TCP_SYN_RECEIVED},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		int k = ks_state_by_name(map[i].k);
		assert_int_equal(k, (int)i + 1); /* the kernel's numbering */
		assert_int_equal(ks_map_state(k), map[i].gt);
	}
	assert_int_equal(ks_state_by_name("TCP_BOUND_INACTIVE"), -1);
	assert_int_equal(ks_map_state(0), GT_TCP_STATE_COUNT);
	assert_int_equal(ks_map_state(13), GT_TCP_STATE_COUNT);
}

/* ---------------------------------------- the event logic, on sample lines */

static gt_kstates *fake(uint32_t addr)
{
	gt_kstates *ks = ks_new(addr, "linux");
	assert_non_null(ks);
	NEV = 0;
	return ks; /* no trace_pipe, no sock_diag: sock_diag lists nothing */
}

static void feed(gt_kstates *ks, gt_time_us now, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ks->now = now;
	ks->fn = record;
	ks->user = NULL;
	ks->snap_valid = false;
	ks_line(ks, line);
	if (ks->pend_retry <= now)
		ks_resolve_pending(ks);
	ks_poll_tw(ks);
	ks->fn = NULL;
}

#define FLINE                                                                                      \
	"p-1 [000] ..... %s: inet_sock_set_state: skaddr=%s (0) oldstate=%d (0) newstate=%d (0) "  \
	"sport=%d (0) dport=%d (0) family=0x2 (2) protocol=0x6 (6) saddr=%s (0) daddr=%s (0)\n"

/* 192.0.2.1 as the fields option prints it */
static const char *fields_addr(uint32_t a, char buf[16])
{
	uint8_t b[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a};
	uint32_t native;
	memcpy(&native, b, 4);
	snprintf(buf, 16, "0x%x", native);
	return buf;
}

/* CLOSE -> SYN_SENT comes before the port is chosen (sport=0): reported with
 * the port of the socket's next event, at its own time. Two connects at once
 * are told apart by the socket's address. */
static void test_logic_connect_port(void **state)
{
	uint32_t A = GT_TEST_ADDR(1), B = GT_TEST_ADDR(2);
	char a[16], b[16];
	fields_addr(A, a);
	fields_addr(B, b);
	gt_kstates *ks = fake(A);
	feed(ks, 10, FLINE, "1.000001", "0xffff1", K_CLOSE, K_SYN_SENT, 0, 80, a, b);
	feed(ks, 10, FLINE, "1.000002", "0xffff2", K_CLOSE, K_SYN_SENT, 0, 80, a, b);
	assert_int_equal(NEV, 0);
	assert_int_equal(ks->npend, 2);
	feed(ks, 10, FLINE, "1.000010", "0xffff2", K_SYN_SENT, K_ESTABLISHED, 5002, 80, a, b);
	feed(ks, 10, FLINE, "1.000020", "0xffff1", K_SYN_SENT, K_CLOSE, 5001, 80, a, b);
	assert_int_equal(ks->npend, 0);
	gt_conn_tuple c1 = tuple(A, 5001, B, 80), c2 = tuple(A, 5002, B, 80);
	ASSERT_SEQ(&c1, T(CLOSED, SYN_SENT), T(SYN_SENT, CLOSED));
	ASSERT_SEQ(&c2, T(CLOSED, SYN_SENT), T(SYN_SENT, ESTABLISHED));
	assert_int_equal(find_ev(&c1, GT_TCP_CLOSED, GT_TCP_SYN_SENT)->t, 1000001);
	assert_int_equal(find_ev(&c2, GT_TCP_CLOSED, GT_TCP_SYN_SENT)->t, 1000002);
	assert_int_equal(find_ev(&c2, GT_TCP_SYN_SENT, GT_TCP_ESTABLISHED)->t, 1000010);
	for (size_t i = 0; i < NEV; i++) {
		assert_string_equal(EV[i].host, "linux");
		assert_string_equal(EV[i].cause, "linux");
		assert_int_equal(EV[i].sock, -1);
	}
	/* nothing to poll: the deadline is never */
	assert_true(gt_kstates_deadline(ks) == GT_TIME_NEVER);
	gt_kstates_close(ks);
}

/* Without skaddr (the default print format), connects are matched in order
 * by addresses and the remote port. */
static void test_logic_connect_port_no_skaddr(void **state)
{
	gt_kstates *ks = fake(0x7f000001);
	const char *fmt =
	    "p-1 [000] ..... %s: inet_sock_set_state: family=AF_INET "
	    "protocol=IPPROTO_TCP sport=%d dport=7 saddr=127.0.0.1 daddr=127.0.0.1 "
	    "saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.1 oldstate=%s newstate=%s";
	feed(ks, 0, fmt, "5.000001", 0, "TCP_CLOSE", "TCP_SYN_SENT");
	feed(ks, 0, fmt, "5.000002", 4000, "TCP_SYN_SENT", "TCP_CLOSE");
	gt_conn_tuple c = tuple(0x7f000001, 4000, 0x7f000001, 7);
	ASSERT_SEQ(&c, T(CLOSED, SYN_SENT), T(SYN_SENT, CLOSED));
	assert_int_equal(EV[0].t, 5000001);
	gt_kstates_close(ks);
}

/* Only sockets with the watched address at one end; same-state steps after
 * mapping (NEW_SYN_RECV -> SYN_RECV) are not reported. */
static void test_logic_filter_and_mapping(void **state)
{
	uint32_t A = GT_TEST_ADDR(1), B = GT_TEST_ADDR(2), C = GT_TEST_ADDR(3);
	char a[16], b[16], c[16];
	fields_addr(A, a);
	fields_addr(B, b);
	fields_addr(C, c);
	gt_kstates *ks = fake(A);
	feed(ks, 0, FLINE, "2.0", "0x1", K_LISTEN, K_SYN_RECV, 80, 9, b, c);
	feed(ks, 0, FLINE, "2.0", "0x2", K_CLOSE, K_LISTEN, 80, 0, a, "0x0");
	feed(ks, 0, FLINE, "2.1", "0x3", K_NEW_SYN_RECV, K_SYN_RECV, 80, 9, a, b);
	feed(ks, 0, FLINE, "2.2", "0x3", K_SYN_RECV, K_ESTABLISHED, 80, 9, a, b);
	feed(ks, 0, FLINE, "2.3", "0x4", K_ESTABLISHED, K_CLOSE_WAIT, 9, 80, b, a);
	/* not TCP */
	feed(ks, 0,
	     "p-1 [000] ..... 2.4: inet_sock_set_state: family=AF_INET protocol=IPPROTO_SCTP "
	     "sport=1 dport=2 saddr=192.0.2.1 daddr=192.0.2.2 oldstate=TCP_CLOSE "
	     "newstate=TCP_LISTEN");
	assert_int_equal(NEV, 3);
	gt_conn_tuple l = tuple(A, 80, 0, 0), s = tuple(A, 80, B, 9), r = tuple(B, 9, A, 80);
	ASSERT_SEQ(&l, T(CLOSED, LISTEN));
	ASSERT_SEQ(&s, T(SYN_RECEIVED, ESTABLISHED));
	ASSERT_SEQ(&r, T(ESTABLISHED, CLOSE_WAIT));
	/* a lost-events notice is counted, garbage too, and neither emits */
	feed(ks, 0, "CPU:3 [LOST 17 EVENTS]");
	feed(ks, 0, "garbage");
	assert_int_equal(ks->lost, 17);
	assert_int_equal(ks->bad_lines, 1);
	assert_int_equal(NEV, 3);
	gt_kstates_close(ks);
}

/* FIN_WAIT2 -> CLOSE with no time-wait socket in sock_diag (RST in FIN_WAIT2,
 * tcp_max_tw_buckets reached): a real close. A mini-socket watched for a tuple
 * ends when the tuple shows up again in the trace (reused by a new connect). */
static void test_logic_time_wait_bookkeeping(void **state)
{
	uint32_t A = GT_TEST_ADDR(1), B = GT_TEST_ADDR(2);
	char a[16], b[16];
	fields_addr(A, a);
	fields_addr(B, b);
	gt_kstates *ks = fake(A);
	feed(ks, 100, FLINE, "3.0", "0x5", K_FIN_WAIT2, K_CLOSE, 4000, 80, a, b);
	gt_conn_tuple c = tuple(A, 4000, B, 80);
	ASSERT_SEQ(&c, T(FIN_WAIT_2, CLOSED));
	assert_int_equal(ks->ntw, 0);

	/* a TIME_WAIT as if sock_diag had listed it, 60 s left */
	NEV = 0;
	ks->now = 4 * S;
	ks_diag d = {.src = A,
	             .dst = B,
	             .sport = 4000,
	             .dport = 80,
	             .state = K_TIME_WAIT,
	             .expires_ms = 60000};
	assert_int_equal(ks_tw_track(ks, &c, GT_TCP_TIME_WAIT, 4 * S, &d), 0);
	assert_int_equal(gt_kstates_deadline(ks), 4 * S + 500 * MS);
	feed(ks, 5 * S, FLINE, "5.000000", "0x6", K_CLOSE, K_SYN_SENT, 4000, 80, a, b);
	ASSERT_SEQ(&c, T(TIME_WAIT, CLOSED), T(CLOSED, SYN_SENT));
	assert_int_equal(EV[0].t, 5 * S);
	assert_int_equal(ks->ntw, 0);
	assert_true(gt_kstates_deadline(ks) == GT_TIME_NEVER);

	/* a watched mini-socket that sock_diag no longer lists has ended */
	NEV = 0;
	ks->now = 6 * S;
	assert_int_equal(ks_tw_track(ks, &c, GT_TCP_TIME_WAIT, 6 * S, &d), 0);
	feed(ks, 6 * S + 499 * MS, "");
	assert_int_equal(NEV, 0);
	feed(ks, 6 * S + 500 * MS, "");
	ASSERT_SEQ(&c, T(TIME_WAIT, CLOSED));
	assert_int_equal(EV[0].t, 6 * S + 500 * MS);
	gt_kstates_close(ks);
}

/* The poll schedule: 100 ms for a FIN_WAIT2 mini-socket, up to 500 ms or the
 * timer's expiry for TIME_WAIT, 50 ms once the expiry has passed. */
static void test_logic_schedule(void **state)
{
	ks_tw w = {.shown = GT_TCP_FIN_WAIT_2, .expiry = 100 * S};
	ks_tw_schedule(&w, 10 * S);
	assert_int_equal(w.next_poll, 10 * S + 100 * MS);
	w.shown = GT_TCP_TIME_WAIT;
	ks_tw_schedule(&w, 10 * S);
	assert_int_equal(w.next_poll, 10 * S + 500 * MS);
	ks_tw_schedule(&w, 100 * S - 200 * MS);
	assert_int_equal(w.next_poll, 100 * S);
	ks_tw_schedule(&w, 100 * S);
	assert_int_equal(w.next_poll, 100 * S + 50 * MS);
	/* the entry into TIME_WAIT from the time left on its timer */
	ks_diag d = {.expires_ms = 59000};
	assert_int_equal(ks_tw_entry(&d, 100 * S, 0, 100 * S), 99 * S + 4 * MS); /* + a jiffy */
	assert_int_equal(ks_tw_entry(&d, 100 * S, 99 * S + 5 * MS, 100 * S), 99 * S + 5 * MS);
	d.expires_ms = 61000; /* re-armed: never later than now */
	assert_int_equal(ks_tw_entry(&d, 100 * S, 0, 100 * S), 100 * S);
}

static void test_open_bad_args(void **state)
{
	char err[128];
	assert_int_equal(gt_kstates_open(1, "linux", NULL, err, sizeof(err)), -EINVAL);
	assert_true(err[0] != '\0');
	assert_int_equal(gt_kstates_fd(NULL), -1);
	assert_true(gt_kstates_deadline(NULL) == GT_TIME_NEVER);
	gt_kstates_process(NULL, 0, record, NULL);
	gt_kstates_close(NULL);
}

/* ------------------------------------------------ real kernel (root only) */

static bool root(void)
{
	if (geteuid() == 0)
		return true;
	print_message("kstates: not root: skipping the kernel tests (tracefs and network "
	              "namespaces need root)\n");
	return false;
}

static gt_time_us mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gt_time_us)ts.tv_sec * S + (gt_time_us)ts.tv_nsec / 1000;
}

typedef struct kt {
	int orig_ns;
	uint32_t A; /* the watched address, 127.x.y.z, unique per process and test */
	gt_kstates *ks;
	int fds[16];
	size_t nfds;
} kt;

static kt K = {.orig_ns = -1};
static unsigned test_no;

static int track_fd(int fd)
{
	assert_true(fd >= 0);
	assert_true(K.nfds < sizeof(K.fds) / sizeof(K.fds[0]));
	K.fds[K.nfds++] = fd;
	return fd;
}

static void close_fd(int fd)
{
	for (size_t i = 0; i < K.nfds; i++) {
		if (K.fds[i] == fd) {
			K.fds[i] = K.fds[--K.nfds];
			break;
		}
	}
	close(fd);
}

static int setup_ns(void **state)
{
	NEV = 0;
	K.ks = NULL;
	K.nfds = 0;
	if (geteuid() != 0)
		return 0;
	K.orig_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (K.orig_ns < 0 || unshare(CLONE_NEWNET) < 0) {
		print_message("cannot create a network namespace: %s\n", strerror(errno));
		return -1;
	}
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	int rc = s < 0 ? -1 : ioctl(s, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (s >= 0)
		close(s);
	if (rc < 0) {
		print_message("cannot bring lo up: %s\n", strerror(errno));
		return -1;
	}
	/* 127/8 is all local on lo: no address to add */
	unsigned pid = (unsigned)getpid();
	K.A = 0x7f000000u | (1u + (pid >> 8) % 250u) << 16 | (pid & 0xffu) << 8 |
	      (10u + test_no++ % 240u);
	return 0;
}

static int teardown_ns(void **state)
{
	if (getenv("GT_KSTATES_VERBOSE")) {
		print_message("reported (addr %s, fields %d):\n", gt_ipv4_str(K.A, (char[16]){0}),
		              K.ks ? K.ks->fields : -1);
		print_events();
	}
	while (K.nfds)
		close(K.fds[--K.nfds]);
	gt_kstates_close(K.ks);
	K.ks = NULL;
	if (K.orig_ns >= 0) {
		/* back to the first namespace: the test's one dies with its sockets */
		if (setns(K.orig_ns, CLONE_NEWNET) < 0)
			print_message("setns back: %s\n", strerror(errno));
		close(K.orig_ns);
		K.orig_ns = -1;
	}
	return 0;
}

/* Opens the module on K.A; a test of the real kernel is skipped unless root. */
static void open_ks(void)
{
	if (!root())
		skip();
	char err[256];
	int rc = gt_kstates_open(K.A, "linux", &K.ks, err, sizeof(err));
	if (rc < 0)
		fail_msg("gt_kstates_open: %d: %s", rc, err);
	assert_true(gt_kstates_fd(K.ks) >= 0);
}

/* Processes kernel reports until want (if any) is reported or timeout passes,
 * sleeping in poll() on the fd and the module's deadline like an event loop. */
static const rec_ev *pump(const gt_conn_tuple *c, gt_tcp_state from, gt_tcp_state to,
                          gt_time_us timeout)
{
	gt_time_us end = mono_us() + timeout;
	for (;;) {
		gt_kstates_process(K.ks, mono_us(), record, NULL);
		const rec_ev *e = c ? find_ev(c, from, to) : NULL;
		if (e)
			return e;
		gt_time_us now = mono_us();
		if (now >= end)
			return NULL;
		gt_time_us wake = gt_kstates_deadline(K.ks);
		if (wake > end)
			wake = end;
		int ms = wake > now ? (int)((wake - now + 999) / 1000) : 0;
		struct pollfd p = {.fd = gt_kstates_fd(K.ks), .events = POLLIN};
		(void)poll(&p, 1, ms);
	}
}

static const rec_ev *need(const gt_conn_tuple *c, gt_tcp_state from, gt_tcp_state to,
                          gt_time_us timeout)
{
	const rec_ev *e = pump(c, from, to, timeout);
	if (!e) {
		char s[48];
		print_message("no %s -> %s for %s; reported:\n", gt_tcp_state_name(from),
		              gt_tcp_state_name(to), gt_conn_str(c, s));
		print_events();
		fail();
	}
	return e;
}

static struct sockaddr_in sin_of(uint32_t a, uint16_t port)
{
	return (struct sockaddr_in){
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(a)};
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

static int listener(uint32_t a, uint16_t *port)
{
	int l = track_fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	struct sockaddr_in sa = sin_of(a, 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 8), 0);
	*port = local_port(l);
	return l;
}

/* A client on address a whose port is chosen by connect() (as for an unbound
 * socket: the tracepoint's CLOSE -> SYN_SENT then has sport 0). Returns the
 * fd, or -errno when connect fails. */
static int client(uint32_t a, uint32_t to, uint16_t port)
{
	int c = track_fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	int one = 1;
	assert_int_equal(setsockopt(c, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)), 0);
	struct sockaddr_in sa = sin_of(a, 0);
	assert_int_equal(bind(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	sa = sin_of(to, port);
	if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close_fd(c);
		return -err;
	}
	return c;
}

static int accept_one(int l)
{
	return track_fd(accept4(l, NULL, NULL, SOCK_CLOEXEC));
}

static void expect_eof(int fd)
{
	char b[8];
	assert_int_equal(recv(fd, b, sizeof(b), 0), 0);
}

/* A connection over lo on K.A: the listener l, the client c (its port chosen
 * by connect()) and the accepted socket s; ct is the client's tuple, stp the
 * server's. */
typedef struct kconn {
	int l, c, s;
	gt_conn_tuple ct, stp;
} kconn;

static kconn connected_pair(void)
{
	kconn k;
	uint16_t sport;
	k.l = listener(K.A, &sport);
	k.c = client(K.A, K.A, sport);
	assert_true(k.c >= 0);
	uint16_t cport = local_port(k.c);
	k.s = accept_one(k.l);
	k.ct = tuple(K.A, cport, K.A, sport);
	k.stp = tuple(K.A, sport, K.A, cport);
	return k;
}

static void all_ours(void)
{
	for (size_t i = 0; i < NEV; i++) {
		assert_true(EV[i].c.local_addr == K.A || EV[i].c.remote_addr == K.A);
		assert_string_equal(EV[i].host, "linux");
		assert_string_equal(EV[i].cause, "linux");
	}
}

/* Client closes first (close(): the socket is orphaned, so in FIN_WAIT2 it is
 * already a mini-socket and its TIME_WAIT is seen only through sock_diag);
 * the server follows 200 ms later. Also: timestamps on CLOCK_MONOTONIC, other
 * addresses filtered out, the tracefs instance removed on close. */
static void test_kernel_client_closes_first(void **state)
{
	open_ks();
	char inst[64];
	snprintf(inst, sizeof(inst), KS_TRACEFS "/instances/glasstcp-%ld", (long)getpid());
	struct stat st;
	assert_int_equal(stat(inst, &st), 0);

	/* traffic on another address of the same lo: not reported */
	uint16_t oport;
	int ol = listener(0x7f000001, &oport);
	int oc = client(0x7f000001, 0x7f000001, oport);
	assert_true(oc >= 0);
	close_fd(oc);
	close_fd(ol);

	uint16_t sport;
	int l = listener(K.A, &sport);
	gt_time_us t0 = mono_us();
	int c = client(K.A, K.A, sport);
	gt_time_us t1 = mono_us();
	assert_true(c >= 0);
	uint16_t cport = local_port(c);
	int s = accept_one(l);
	gt_conn_tuple ct = tuple(K.A, cport, K.A, sport), stp = tuple(K.A, sport, K.A, cport),
	              lt = tuple(K.A, sport, 0, 0);
	need(&ct, GT_TCP_SYN_SENT, GT_TCP_ESTABLISHED, 2 * S);

	close_fd(c);
	expect_eof(s);
	need(&ct, GT_TCP_FIN_WAIT_1, GT_TCP_FIN_WAIT_2, 2 * S);
	/* FIN_WAIT_2 as a mini-socket: no TIME_WAIT before the server's FIN */
	assert_null(pump(&ct, GT_TCP_FIN_WAIT_2, GT_TCP_TIME_WAIT, 200 * MS));
	assert_true(gt_kstates_deadline(K.ks) != GT_TIME_NEVER);
	close_fd(s);
	const rec_ev *tw = need(&ct, GT_TCP_FIN_WAIT_2, GT_TCP_TIME_WAIT, 2 * S);
	const rec_ev *la = need(&stp, GT_TCP_LAST_ACK, GT_TCP_CLOSED, 2 * S);
	close_fd(l);
	need(&lt, GT_TCP_LISTEN, GT_TCP_CLOSED, 2 * S);

	ASSERT_SEQ(&ct, T(CLOSED, SYN_SENT), T(SYN_SENT, ESTABLISHED), T(ESTABLISHED, FIN_WAIT_1),
	           T(FIN_WAIT_1, FIN_WAIT_2), T(FIN_WAIT_2, TIME_WAIT));
	ASSERT_SEQ(&stp, T(LISTEN, SYN_RECEIVED), T(SYN_RECEIVED, ESTABLISHED),
	           T(ESTABLISHED, CLOSE_WAIT), T(CLOSE_WAIT, LAST_ACK), T(LAST_ACK, CLOSED));
	ASSERT_SEQ(&lt, T(CLOSED, LISTEN), T(LISTEN, CLOSED));
	all_ours();

	/* trace_clock "mono" is CLOCK_MONOTONIC: connect() began and ended around it */
	const rec_ev *syn = find_ev(&ct, GT_TCP_CLOSED, GT_TCP_SYN_SENT);
	if (syn->t < t0 || syn->t > t1)
		fail_msg("CLOSED -> SYN_SENT at %" PRIu64 ", connect() from %" PRIu64
		         " to %" PRIu64,
		         syn->t, t0, t1);
	/* TIME_WAIT dated from the mini-socket's timer: when the server's FIN came */
	const rec_ev *fin = find_ev(&stp, GT_TCP_CLOSE_WAIT, GT_TCP_LAST_ACK);
	gt_time_us diff = tw->t > fin->t ? tw->t - fin->t : fin->t - tw->t;
	if (diff > 15 * MS)
		fail_msg("TIME_WAIT at %" PRIu64 ", server's FIN at %" PRIu64, tw->t, fin->t);
	assert_true(tw->t >= find_ev(&ct, GT_TCP_FIN_WAIT_1, GT_TCP_FIN_WAIT_2)->t + 150 * MS);
	assert_true(la->t >= fin->t);

	gt_kstates_close(K.ks);
	K.ks = NULL;
	assert_int_equal(stat(inst, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* The mirror image: the server closes first with shutdown(SHUT_WR) (not
 * orphaned: FIN_WAIT2 -> CLOSE comes when the client's FIN makes it TIME_WAIT). */
static void test_kernel_server_closes_first(void **state)
{
	open_ks();
	kconn k = connected_pair();
	assert_int_equal(shutdown(k.s, SHUT_WR), 0);
	expect_eof(k.c);
	need(&k.stp, GT_TCP_FIN_WAIT_1, GT_TCP_FIN_WAIT_2, 2 * S);
	close_fd(k.c);
	const rec_ev *tw = need(&k.stp, GT_TCP_FIN_WAIT_2, GT_TCP_TIME_WAIT, 2 * S);
	need(&k.ct, GT_TCP_LAST_ACK, GT_TCP_CLOSED, 2 * S);
	close_fd(k.s);
	pump(NULL, 0, 0, 50 * MS);

	ASSERT_SEQ(&k.stp, T(LISTEN, SYN_RECEIVED), T(SYN_RECEIVED, ESTABLISHED),
	           T(ESTABLISHED, FIN_WAIT_1), T(FIN_WAIT_1, FIN_WAIT_2), T(FIN_WAIT_2, TIME_WAIT));
	ASSERT_SEQ(&k.ct, T(CLOSED, SYN_SENT), T(SYN_SENT, ESTABLISHED), T(ESTABLISHED, CLOSE_WAIT),
	           T(CLOSE_WAIT, LAST_ACK), T(LAST_ACK, CLOSED));
	const rec_ev *fin = find_ev(&k.ct, GT_TCP_CLOSE_WAIT, GT_TCP_LAST_ACK);
	assert_true(tw->t >= fin->t && tw->t - fin->t < 15 * MS);
	all_ours();
	close_fd(k.l);
}

/* connect() to a port with no listener: RST, ECONNREFUSED. */
static void test_kernel_refused(void **state)
{
	open_ks();
	uint16_t port;
	int l = listener(K.A, &port);
	close_fd(l); /* a port nobody listens on now */
	pump(NULL, 0, 0, 50 * MS);
	NEV = 0;
	assert_int_equal(client(K.A, K.A, port), -ECONNREFUSED);
	/* the client's port is known only from the events */
	const rec_ev *e = NULL;
	gt_time_us end = mono_us() + 2 * S;
	while (!e && mono_us() < end) {
		pump(NULL, 0, 0, 20 * MS);
		for (size_t i = 0; i < NEV; i++) {
			if (EV[i].c.remote_port == port && EV[i].to == GT_TCP_CLOSED)
				e = &EV[i];
		}
	}
	if (!e) {
		print_events();
		fail_msg("no SYN_SENT -> CLOSED");
	}
	assert_true(e->c.local_port != 0);
	gt_conn_tuple ct = e->c;
	ASSERT_SEQ(&ct, T(CLOSED, SYN_SENT), T(SYN_SENT, CLOSED));
	all_ours();
}

/* A connect that stays in SYN_SENT (the listener's accept queue is full, its
 * SYN is dropped): CLOSED -> SYN_SENT is reported with the port sock_diag
 * shows, without waiting for the socket's next event. */
static void test_kernel_connect_pending(void **state)
{
	open_ks();
	uint16_t sport;
	int l = track_fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	struct sockaddr_in sa = sin_of(K.A, 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 0), 0);
	sport = local_port(l);
	int first = client(K.A, K.A, sport); /* fills the accept queue */
	assert_true(first >= 0);
	int c = track_fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	int one = 1;
	assert_int_equal(setsockopt(c, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)), 0);
	assert_int_equal(bind(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	sa = sin_of(K.A, sport);
	gt_time_us t0 = mono_us();
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), -1);
	assert_int_equal(errno, EINPROGRESS);
	gt_time_us t1 = mono_us();
	gt_conn_tuple ct = tuple(K.A, local_port(c), K.A, sport);
	const rec_ev *e = need(&ct, GT_TCP_CLOSED, GT_TCP_SYN_SENT, 500 * MS);
	assert_true(e->t >= t0 && e->t <= t1);
	assert_true(mono_us() - t1 < 200 * MS);
	ASSERT_SEQ(&ct, T(CLOSED, SYN_SENT));
	assert_true(gt_kstates_deadline(K.ks) == GT_TIME_NEVER);
	/* room in the queue: the retransmitted SYN (after 1 s) gets through */
	close_fd(accept_one(l));
	need(&ct, GT_TCP_SYN_SENT, GT_TCP_ESTABLISHED, 3 * S);
	ASSERT_SEQ(&ct, T(CLOSED, SYN_SENT), T(SYN_SENT, ESTABLISHED));
	all_ours();
}

/* SO_LINGER 0: close() sends RST; both ends go straight to CLOSED and the
 * server's recv() fails with ECONNRESET. */
static void test_kernel_linger0_reset(void **state)
{
	open_ks();
	kconn k = connected_pair();
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	assert_int_equal(setsockopt(k.c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	pump(NULL, 0, 0, 20 * MS);
	/* nothing to poll: only the fd can wake the loop */
	assert_true(gt_kstates_deadline(K.ks) == GT_TIME_NEVER);
	gt_time_us t0 = mono_us();
	close_fd(k.c);
	char b[4];
	assert_int_equal(recv(k.s, b, sizeof(b), 0), -1);
	assert_int_equal(errno, ECONNRESET);
	need(&k.stp, GT_TCP_ESTABLISHED, GT_TCP_CLOSED, 2 * S);
	need(&k.ct, GT_TCP_ESTABLISHED, GT_TCP_CLOSED, 2 * S);
	assert_true(mono_us() - t0 < 300 * MS);
	ASSERT_SEQ(&k.ct, T(CLOSED, SYN_SENT), T(SYN_SENT, ESTABLISHED), T(ESTABLISHED, CLOSED));
	ASSERT_SEQ(&k.stp, T(LISTEN, SYN_RECEIVED), T(SYN_RECEIVED, ESTABLISHED),
	           T(ESTABLISHED, CLOSED));
	all_ours();
}

/* Ends a TIME_WAIT socket now, as `ss -K` does (SOCK_DESTROY). */
static int destroy_time_wait(const gt_conn_tuple *c)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;
	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DESTROY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	msg.req.sdiag_family = AF_INET;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = ~0u;
	msg.req.id.idiag_sport = htons(c->local_port);
	msg.req.id.idiag_dport = htons(c->remote_port);
	msg.req.id.idiag_src[0] = htonl(c->local_addr);
	msg.req.id.idiag_dst[0] = htonl(c->remote_addr);
	msg.req.id.idiag_cookie[0] = msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	int rc = -EIO;
	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		rc = -errno;
	} else {
		char buf[1024];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		if (n >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) &&
		    h->nlmsg_type == NLMSG_ERROR)
			rc = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	}
	close(fd);
	return rc;
}

/* A client in TIME_WAIT (for real, via its FIN_WAIT2 -> CLOSE) and its
 * connection's tuple. */
static gt_conn_tuple client_to_time_wait(void)
{
	kconn k = connected_pair();
	assert_int_equal(shutdown(k.c, SHUT_WR), 0);
	expect_eof(k.s);
	close_fd(k.s);
	expect_eof(k.c);
	need(&k.ct, GT_TCP_FIN_WAIT_2, GT_TCP_TIME_WAIT, 2 * S);
	close_fd(k.c);
	close_fd(k.l);
	return k.ct;
}

/* A TIME_WAIT that ends early (killed: SOCK_DESTROY here; an RST from the peer
 * or a reused tuple in real life) is seen gone from sock_diag by the next poll,
 * which the deadline asks for within 500 ms. */
static void test_kernel_time_wait_killed(void **state)
{
	open_ks();
	gt_conn_tuple ct = client_to_time_wait();
	pump(NULL, 0, 0, 100 * MS);
	gt_time_us dl = gt_kstates_deadline(K.ks);
	assert_true(dl != GT_TIME_NEVER && dl <= mono_us() + 500 * MS);
	assert_null(find_ev(&ct, GT_TCP_TIME_WAIT, GT_TCP_CLOSED));
	gt_time_us t0 = mono_us();
	int rc = destroy_time_wait(&ct);
	if (rc < 0)
		fail_msg("SOCK_DESTROY of a TIME_WAIT socket: %s (kernel without "
		         "CONFIG_INET_DIAG_DESTROY or older than its TIME_WAIT support?)",
		         strerror(-rc));
	const rec_ev *e = need(&ct, GT_TCP_TIME_WAIT, GT_TCP_CLOSED, 2 * S);
	assert_true(e->t >= t0 && e->t <= t0 + 600 * MS);
	ASSERT_SEQ(&ct, T(CLOSED, SYN_SENT), T(SYN_SENT, ESTABLISHED), T(ESTABLISHED, FIN_WAIT_1),
	           T(FIN_WAIT_1, FIN_WAIT_2), T(FIN_WAIT_2, TIME_WAIT), T(TIME_WAIT, CLOSED));
	assert_true(gt_kstates_deadline(K.ks) == GT_TIME_NEVER);
}

static int drop_root(void)
{
	return setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0 ? -1 : 0;
}

/* An empty /sys/kernel in a mount namespace of its own. */
static int hide_tracefs(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	return mount("tmpfs", "/sys/kernel", "tmpfs", MS_RDONLY, NULL);
}

/* In a child process that prepare (-1: it could not) made unfit, opening the
 * module fails with want_rc and a reason that mentions want_reason. */
static void expect_refusal_in_child(int (*prepare)(void), int want_rc, const char *want_reason)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gt_kstates *ks = NULL;
		char err[256];
		if (prepare() < 0)
			_exit(2);
		int rc = gt_kstates_open(1, "linux", &ks, err, sizeof(err));
		_exit(rc == want_rc && !ks && strstr(err, want_reason) ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg(
		    "refusal \"%s\": child status 0x%x (exit 1: another answer; 2: not prepared)",
		    want_reason, (unsigned)status);
}

/* Two modules at once (two instances); refusals with a reason: not root, no
 * tracefs. */
static void test_kernel_two_and_refusals(void **state)
{
	if (geteuid() != 0) {
		gt_kstates *ks = NULL;
		char err[256];
		assert_int_equal(gt_kstates_open(1, "linux", &ks, err, sizeof(err)), -EPERM);
		assert_null(ks);
		assert_non_null(strstr(err, "not root"));
		print_message("kstates: %s\n", err);
		return;
	}
	open_ks();
	gt_kstates *b = NULL;
	char err[256];
	assert_int_equal(gt_kstates_open(K.A + 1, "other", &b, err, sizeof(err)), 0);
	char inst[64];
	snprintf(inst, sizeof(inst), KS_TRACEFS "/instances/glasstcp-%ld-2", (long)getpid());
	struct stat st;
	assert_int_equal(stat(inst, &st), 0);
	gt_kstates_close(b);
	assert_int_equal(stat(inst, &st), -1);

	/* without root: a reason, -EPERM, nothing left behind */
	expect_refusal_in_child(drop_root, -EPERM, "not root");
	/* without tracefs: a reason, a negative errno */
	expect_refusal_in_child(hide_tracefs, -ENOENT, "tracefs");
}

/* The real end of TIME_WAIT: 60 s (TCP_TIMEWAIT_LEN, no sysctl changes it),
 * plus the timer wheel's slack (up to 512 jiffies at this range). Takes about
 * a minute; GT_KSTATES_SKIP_LONG=1 skips it. */
static void test_kernel_time_wait_expires(void **state)
{
	if (getenv("GT_KSTATES_SKIP_LONG")) {
		print_message(
		    "kstates: GT_KSTATES_SKIP_LONG set: not waiting 60 s for TIME_WAIT\n");
		skip();
	}
	open_ks();
	gt_conn_tuple ct = client_to_time_wait();
	const rec_ev *tw = find_ev(&ct, GT_TCP_FIN_WAIT_2, GT_TCP_TIME_WAIT);
	const rec_ev *e = need(&ct, GT_TCP_TIME_WAIT, GT_TCP_CLOSED, 70 * S);
	gt_time_us len = e->t - tw->t;
	print_message("kstates: TIME_WAIT lasted %" PRIu64 " ms\n", (uint64_t)(len / MS));
	assert_true(len >= 60 * S - 10 * MS);
	assert_true(len <= 60 * S + 3 * S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_default_format),
	    cmocka_unit_test(test_parse_fields_format),
	    cmocka_unit_test(test_parse_odd_prefixes),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_state_names),
	    cmocka_unit_test(test_logic_connect_port),
	    cmocka_unit_test(test_logic_connect_port_no_skaddr),
	    cmocka_unit_test(test_logic_filter_and_mapping),
	    cmocka_unit_test(test_logic_time_wait_bookkeeping),
	    cmocka_unit_test(test_logic_schedule),
	    cmocka_unit_test(test_open_bad_args),
	    cmocka_unit_test_setup_teardown(test_kernel_client_closes_first, setup_ns, teardown_ns),
	    cmocka_unit_test_setup_teardown(test_kernel_server_closes_first, setup_ns, teardown_ns),
	    cmocka_unit_test_setup_teardown(test_kernel_refused, setup_ns, teardown_ns),
	    cmocka_unit_test_setup_teardown(test_kernel_connect_pending, setup_ns, teardown_ns),
	    cmocka_unit_test_setup_teardown(test_kernel_linger0_reset, setup_ns, teardown_ns),
	    cmocka_unit_test_setup_teardown(test_kernel_time_wait_killed, setup_ns, teardown_ns),
	    cmocka_unit_test_setup_teardown(test_kernel_two_and_refusals, setup_ns, teardown_ns),
	    cmocka_unit_test_setup_teardown(test_kernel_time_wait_expires, setup_ns, teardown_ns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
