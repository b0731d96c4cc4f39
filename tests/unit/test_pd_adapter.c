/* The packetdrill adapter (tools/packetdrill) driven through its function
 * table, as packetdrill and glasstcp script drive it: --so_flags, the
 * virtual clock and its timers, the device, blocking calls from a second
 * thread, real fds, errno. Runs without packetdrill itself. */
#include "support.h"
#include "wire/wire.h"

#include "packetdrill/adapter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define LOCAL  GT_TEST_ADDR(2)
#define REMOTE GT_TEST_ADDR(1)
#define RPORT  40000
#define LPORT  8080
#define SEC    1000000ll

static struct packetdrill_interface ifc;
static void *U;

static int setup(void **state)
{
	packetdrill_interface_init("profile=linux,local=192.0.2.2", &ifc);
	U = ifc.userdata;
	return 0;
}

static int teardown(void **state)
{
	ifc.free(U);
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static long long now_us(void)
{
	struct timeval tv;
	assert_int_equal(ifc.gettimeofday(U, &tv, NULL), 0);
	return (long long)tv.tv_sec * SEC + tv.tv_usec;
}

/* A segment from the remote end (no options unless mss). */
static void inject(uint8_t flags, uint32_t seq, uint32_t ack, const void *data, uint32_t len)
{
	uint8_t pkt[1600];
	gt_segment s = {.src_addr = REMOTE,
	                .dst_addr = LOCAL,
	                .src_port = RPORT,
	                .dst_port = LPORT,
	                .seq = seq,
	                .ack = ack,
	                .flags = flags,
	                .wnd = 65535};
	if (flags & GT_TCP_SYN) {
		s.opts.has_mss = true;
		s.opts.mss = 1000;
	}
	size_t hl = gt_wire_write_headers(pkt, &s, len, 7);
	if (len)
		memcpy(pkt + hl, data, len);
	gt_wire_finalize(pkt, hl + len);
	assert_int_equal(ifc.netdev_send(U, pkt, hl + len), 0);
}

/* The next packet the stack sends, parsed; its time in *t. */
static gt_segment take(long long *t)
{
	static uint8_t buf[2048];
	size_t n = sizeof(buf);
	long long at = -1;
	assert_int_equal(ifc.netdev_receive(U, buf, &n, &at), 0);
	assert_true(n > 0);
	gt_segment s;
	assert_int_equal(gt_wire_parse(buf, n, &s), GT_DROP_NONE);
	if (t)
		*t = at;
	return s;
}

static struct sockaddr_in addr_of(uint32_t ip, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(ip);
	a.sin_port = htons(port);
	return a;
}

static int listener(void)
{
	int fd = ifc.socket(U, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	assert_true(fd >= 0);
	struct sockaddr_in a = addr_of(LOCAL, LPORT);
	assert_int_equal(ifc.bind(U, fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(ifc.listen(U, fd, 4), 0);
	return fd;
}

/* SYN in, SYN-ACK out, ACK in; returns our ISS. */
static uint32_t handshake(void)
{
	inject(GT_TCP_SYN, 1000, 0, NULL, 0);
	gt_segment sa = take(NULL);
	assert_int_equal(sa.flags, GT_TCP_SYN | GT_TCP_ACK);
	assert_int_equal(sa.ack, 1001);
	inject(GT_TCP_ACK, 1001, sa.seq + 1, NULL, 0);
	return sa.seq;
}

static void test_flags(void **state)
{
	pd_flags f;
	char err[200];
	assert_int_equal(gt_pd_parse_flags(NULL, &f, err, sizeof(err)), 0);
	assert_string_equal(f.profile, "linux");
	assert_int_equal(f.local_addr, 0xC0A80001u); /* packetdrill's --local_ip */
	assert_int_equal(gt_pd_parse_flags("profile=freebsd,local=10.0.0.7", &f, err, sizeof(err)),
	                 0);
	assert_string_equal(f.profile, "freebsd");
	assert_int_equal(f.local_addr, 0x0A000007u);
	assert_int_equal(gt_pd_parse_flags("profile=bsd", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'bsd'"));
	assert_int_equal(gt_pd_parse_flags("profile=rfc,speed=9", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown key 'speed'"));
	assert_int_equal(gt_pd_parse_flags("local=1.2.3", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'1.2.3'"));
	assert_int_equal(gt_pd_parse_flags("linux", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "key=value"));
}

static void test_clock(void **state)
{
	long long t0 = now_us();
	/* every reading moves the clock a little: packetdrill spins on it */
	assert_int_equal(now_us(), t0 + PD_GETTIMEOFDAY_STEP);
	assert_int_equal(ifc.usleep(U, 250000), 0);
	assert_int_equal(now_us(), t0 + 2 * PD_GETTIMEOFDAY_STEP + 250000);
}

static void test_passive_open_and_data(void **state)
{
	int lfd = listener();
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	assert_int_equal(ifc.fcntl(U, lfd, F_SETFL, O_RDWR | O_NONBLOCK), 0);
	assert_int_equal(ifc.accept(U, lfd, (struct sockaddr *)&peer, &plen), -1);
	assert_int_equal(errno, EAGAIN);
	uint32_t iss = handshake();
	int fd = ifc.accept(U, lfd, (struct sockaddr *)&peer, &plen);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) >= 0); /* a real descriptor */
	assert_int_equal(ntohl(peer.sin_addr.s_addr), REMOTE);
	assert_int_equal(ntohs(peer.sin_port), RPORT);
	assert_int_equal(ifc.fcntl(U, fd, F_GETFL) & O_NONBLOCK, 0);
	inject(GT_TCP_ACK | GT_TCP_PSH, 1001, iss + 1, "hello", 5);
	int n = -1;
	assert_int_equal(ifc.ioctl(U, fd, FIONREAD, &n), 0);
	assert_int_equal(n, 5);
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
	assert_int_equal(ifc.poll(U, &p, 1, 0), 1);
	assert_int_equal(p.revents, POLLIN | POLLOUT);
	char buf[16];
	assert_int_equal(ifc.read(U, fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(ifc.write(U, fd, "world", 5), 5);
	gt_segment d = take(NULL);
	assert_int_equal(d.payload_len, 5);
	assert_int_equal(d.seq, iss + 1);
	assert_int_equal(ifc.close(U, fd), 0);
	assert_int_equal(ifc.read(U, fd, buf, 1), -1);
	assert_int_equal(errno, EBADF);
}

static void *accept_thread(void *arg)
{
	int *fd = arg;
	*fd = ifc.accept(U, *fd, NULL, NULL);
	return NULL;
}

/* packetdrill's blocking calls come from a second thread while the main
 * one injects packets. */
static void test_blocking_accept_from_thread(void **state)
{
	int fd = listener();
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, accept_thread, &fd), 0);
	assert_int_equal(ifc.usleep(U, 100000), 0);
	handshake();
	pthread_join(th, NULL);
	assert_true(fd >= 0);
	assert_int_equal(ifc.getsockopt(U, fd, SOL_SOCKET, SO_ERROR, &(int){0}, &(socklen_t){4}),
	                 0);
}

/* The stack's timers run at their own deadlines, in order, however far
 * one usleep or one receive moves the clock. */
static void test_timers_fire_at_their_deadlines(void **state)
{
	int fd = ifc.socket(U, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = addr_of(REMOTE, RPORT);
	assert_int_equal(ifc.connect(U, fd, (struct sockaddr *)&a, sizeof(a)), -1);
	assert_int_equal(errno, EINPROGRESS);
	assert_int_equal(ifc.connect(U, fd, (struct sockaddr *)&a, sizeof(a)), -1);
	assert_int_equal(errno, EALREADY);
	long long t0;
	gt_segment syn = take(&t0);
	assert_int_equal(syn.flags, GT_TCP_SYN);
	/* RFC 6298 §5.5: 1 s, then doubling; one usleep over three of them */
	assert_int_equal(ifc.usleep(U, 8 * SEC), 0);
	long long t;
	take(&t);
	assert_int_equal(t, t0 + 1 * SEC);
	take(&t);
	assert_int_equal(t, t0 + 3 * SEC);
	take(&t);
	assert_int_equal(t, t0 + 7 * SEC);
	/* nothing queued: receive moves the clock to the next timer itself */
	take(&t);
	assert_int_equal(t, t0 + 15 * SEC);
}

static void *connect_thread(void *arg)
{
	int *fd = arg;
	struct sockaddr_in a = addr_of(REMOTE, RPORT);
	int r = ifc.connect(U, *fd, (struct sockaddr *)&a, sizeof(a));
	*fd = r < 0 ? -errno : r;
	return NULL;
}

static void test_blocking_connect_refused(void **state)
{
	int fd = ifc.socket(U, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	int result = fd;
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, connect_thread, &result), 0);
	gt_segment syn = take(NULL);
	assert_int_equal(syn.flags, GT_TCP_SYN);
	gt_segment rst = {.src_addr = REMOTE,
	                  .dst_addr = LOCAL,
	                  .src_port = RPORT,
	                  .dst_port = syn.src_port,
	                  .ack = syn.seq + 1,
	                  .flags = GT_TCP_RST | GT_TCP_ACK};
	uint8_t pkt[64];
	size_t n = gt_wire_write_headers(pkt, &rst, 0, 1);
	gt_wire_finalize(pkt, n);
	assert_int_equal(ifc.netdev_send(U, pkt, n), 0);
	pthread_join(th, NULL);
	assert_int_equal(result, -ECONNREFUSED);
}

/* One thread only (as glasstcp script may call): a blocking call with no
 * one else moving the clock moves it itself, timer by timer. */
static void test_lone_blocking_call_moves_time(void **state)
{
	int fd = ifc.socket(U, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	long long t0 = now_us();
	struct sockaddr_in a = addr_of(REMOTE, RPORT);
	/* RFC 9293 §3.8.3 / RFC 6298: the SYN retransmissions give up */
	assert_int_equal(ifc.connect(U, fd, (struct sockaddr *)&a, sizeof(a)), -1);
	assert_int_equal(errno, ETIMEDOUT);
	/* 1+2+...+32 s between the six retransmissions, then the last wait,
	 * capped at rto_max (60 s, RFC 6298 §2.5) */
	assert_true(now_us() - t0 >= 123 * SEC);
	assert_true(now_us() - t0 < 124 * SEC);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	t0 = now_us();
	assert_int_equal(ifc.poll(U, &p, 1, 1500), 1); /* readable: EOF */
	int lfd = listener();
	p.fd = lfd;
	t0 = now_us();
	assert_int_equal(ifc.poll(U, &p, 1, 1500), 0);
	assert_true(now_us() - t0 >= 1500000);
}

typedef struct closer {
	int fd;
	int result;
	long long returned_at;
} closer;

static void *close_thread(void *arg)
{
	closer *c = arg;
	c->result = ifc.close(U, c->fd);
	c->returned_at = now_us(); /* as packetdrill takes a call's end time */
	return NULL;
}

static int accepted_with_linger(int seconds, uint32_t *iss)
{
	int lfd = listener();
	*iss = handshake();
	int fd = ifc.accept(U, lfd, NULL, NULL);
	assert_true(fd >= 0);
	struct linger l = {.l_onoff = 1, .l_linger = seconds};
	assert_int_equal(ifc.setsockopt(U, fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
	return fd;
}

/* SO_LINGER with a time: a blocking close returns when its FIN is ACKed,
 * at the virtual time of that ACK. */
static void test_linger_close_waits_for_ack(void **state)
{
	uint32_t iss;
	closer c = {.fd = accepted_with_linger(5, &iss)};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, close_thread, &c), 0);
	long long fin_at;
	gt_segment fin = take(&fin_at);
	assert_int_equal(fin.flags, GT_TCP_FIN | GT_TCP_ACK);
	assert_int_equal(ifc.usleep(U, 100000), 0);
	inject(GT_TCP_ACK, 1001, iss + 2, NULL, 0);
	assert_int_equal(ifc.usleep(U, 300000), 0); /* the clock moves on after */
	pthread_join(th, NULL);
	assert_int_equal(c.result, 0);
	assert_in_range(c.returned_at, fin_at + 100000, fin_at + 100000 + 100);
}

/* ... and with no ACK, at the end of the linger time (alone: the call
 * moves the clock itself). */
static void test_linger_close_times_out(void **state)
{
	uint32_t iss;
	int fd = accepted_with_linger(2, &iss);
	long long t0 = now_us();
	assert_int_equal(ifc.close(U, fd), 0);
	long long took = now_us() - t0;
	assert_in_range(took, 2 * SEC, 2 * SEC + 100);
}

typedef struct writer {
	int fd;
	ssize_t result;
} writer;

static void *write_thread(void *arg)
{
	static char data[6000];
	writer *w = arg;
	w->result = ifc.write(U, w->fd, data, sizeof(data));
	return NULL;
}

/* A blocking write woken by an ACK sends its next segment at the ACK's
 * time, before netdev_receive moves the clock to the next timer. */
static void test_woken_writer_sends_first(void **state)
{
	int lfd = ifc.socket(U, AF_INET, SOCK_STREAM, 0);
	int size = 4096;
	assert_int_equal(ifc.setsockopt(U, lfd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
	struct sockaddr_in a = addr_of(LOCAL, LPORT);
	assert_int_equal(ifc.bind(U, lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(ifc.listen(U, lfd, 4), 0);
	uint32_t iss = handshake();
	writer w = {.fd = ifc.accept(U, lfd, NULL, NULL)};
	assert_true(w.fd >= 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, write_thread, &w), 0);
	for (int i = 0; i < 4; i++) /* RFC 5681 §3.1: IW of 4 segments of 1000 */
		assert_int_equal(take(NULL).payload_len, 1000);
	assert_int_equal(ifc.usleep(U, 100000), 0);
	long long ack_at = now_us();
	inject(GT_TCP_ACK, 1001, iss + 1 + 4000, NULL, 0);
	long long t;
	uint32_t sent = 0;
	while (sent < 1096) {
		gt_segment s = take(&t);
		assert_in_range(t, ack_at, ack_at + 100);
		sent += s.payload_len;
	}
	pthread_join(th, NULL);
	assert_int_equal(w.result, 6000);
}

/* A blocking call nobody can ever answer (one thread, no timer) fails
 * with EDEADLK after a few seconds of real time instead of hanging. */
static void test_lone_blocking_call_that_cannot_end(void **state)
{
	int fd = listener();
	assert_int_equal(ifc.accept(U, fd, NULL, NULL), -1);
	assert_int_equal(errno, EDEADLK);
}

/* netdev_receive gives up rather than wait forever: an empty packet, which
 * packetdrill's parser rejects. */
static void test_receive_gives_up(void **state)
{
	listener();
	uint8_t buf[64];
	size_t n = sizeof(buf);
	long long t = 0;
	assert_int_equal(ifc.netdev_receive(U, buf, &n, &t), 0);
	assert_int_equal(n, 0);
}

static void test_errno(void **state)
{
	assert_int_equal(ifc.socket(U, AF_INET6, SOCK_STREAM, 0), -1);
	assert_int_equal(errno, EAFNOSUPPORT);
	assert_int_equal(ifc.socket(U, AF_INET, SOCK_DGRAM, 0), -1);
	assert_int_equal(errno, EPROTONOSUPPORT);
	assert_int_equal(ifc.listen(U, 12345, 1), -1);
	assert_int_equal(errno, EBADF);
	int fd = ifc.socket(U, AF_INET, SOCK_STREAM, 0);
	char c;
	assert_int_equal(ifc.read(U, fd, &c, 1), -1);
	assert_int_equal(errno, ENOTCONN);
	assert_int_equal(ifc.write(U, fd, "x", 1), -1);
	assert_int_equal(errno, ENOTCONN);
	assert_int_equal(ifc.recv(U, fd, &c, 1, MSG_OOB), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(ifc.ioctl(U, fd, TIOCSTI, &c), -1);
	assert_int_equal(errno, ENOTTY);
	int v = 1;
	assert_int_equal(ifc.setsockopt(U, fd, SOL_SOCKET, SO_BROADCAST, &v, sizeof(v)), -1);
	assert_int_equal(errno, ENOPROTOOPT);
	assert_int_equal(ifc.epoll_create(U, 1), -1);
	assert_int_equal(errno, ENOSYS);
	int fds[2];
	assert_int_equal(ifc.pipe(U, fds), -1);
	assert_int_equal(errno, ENOSYS);
	assert_int_equal(ifc.close(U, fd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flags),
	    T(test_clock),
	    T(test_passive_open_and_data),
	    T(test_blocking_accept_from_thread),
	    T(test_timers_fire_at_their_deadlines),
	    T(test_blocking_connect_refused),
	    T(test_lone_blocking_call_moves_time),
	    T(test_linger_close_waits_for_ack),
	    T(test_linger_close_times_out),
	    T(test_woken_writer_sends_first),
	    T(test_lone_blocking_call_that_cannot_end),
	    T(test_receive_gives_up),
	    T(test_errno),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
