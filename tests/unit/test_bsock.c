/* The blocking API (include/glasstcp/bsock.h) over a pair of stacks linked in
 * memory and driven in real time: every wrong use returns the documented
 * errno; timeouts (SO_RCVTIMEO, SO_SNDTIMEO) and O_NONBLOCK; connect refused;
 * blocking accept/connect/send/recv across threads; poll; SO_LINGER. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <glasstcp/bsock.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#define A_ADDR 0x0A000001u /* 10.0.0.1 */
#define B_ADDR 0x0A000002u /* 10.0.0.2 */

typedef struct pair {
	gt_bstack *a, *b;
} pair;

static int setup(void **state)
{
	static pair p;
	gt_stack_config ca, cb;
	gt_stack_config_default(&ca);
	gt_stack_config_default(&cb);
	ca.name = "a";
	ca.local_addr = A_ADDR;
	cb.name = "b";
	cb.local_addr = B_ADDR;
	cb.isn_key[0] = 1;
	ca.delack_us = cb.delack_us = 1000;
	ca.rto_min_us = cb.rto_min_us = 10000;
	ca.msl_us = cb.msl_us = 100000;
	if (gt_b_start_pair(&ca, &cb, &p.a, &p.b) != 0)
		return -1;
	*state = &p;
	return 0;
}

static int teardown(void **state)
{
	pair *p = *state;
	gt_b_stop(p->a);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int listener(gt_bstack *bs, uint16_t port)
{
	int l = gt_b_socket(bs);
	assert_true(l >= 0);
	assert_int_equal(gt_b_bind(bs, l, 0, port), 0);
	assert_int_equal(gt_b_listen(bs, l, 16), 0);
	return l;
}

/* A connection a -> b:port; *server gets b's end. */
static int connected(pair *p, int l, uint16_t port, int *server)
{
	int c = gt_b_socket(p->a);
	assert_int_equal(gt_b_connect(p->a, c, B_ADDR, port), 0);
	*server = gt_b_accept(p->b, l, NULL, NULL);
	assert_true(*server >= 0);
	return c;
}

static void set_timeo(gt_bstack *bs, int s, int name, long sec, long usec)
{
	struct timeval tv = {.tv_sec = sec, .tv_usec = usec};
	assert_int_equal(gt_b_setsockopt(bs, s, GT_SOL_SOCKET, name, &tv, sizeof tv), 0);
}

static void test_bad_handles(void **state)
{
	pair *p = *state;
	char buf[8];
	size_t len = sizeof buf;
	gt_b_pollfd pfd = {.fd = 12345, .events = GT_POLLIN};
	struct timeval tv = {0};
	for (int h = -1; h < 2; h += 2) {
		int bad = h < 0 ? -1 : 0x7fff1234;
		assert_int_equal(gt_b_bind(p->a, bad, 0, 1), -EBADF);
		assert_int_equal(gt_b_listen(p->a, bad, 1), -EBADF);
		assert_int_equal(gt_b_accept(p->a, bad, NULL, NULL), -EBADF);
		assert_int_equal(gt_b_connect(p->a, bad, B_ADDR, 1), -EBADF);
		assert_int_equal(gt_b_send(p->a, bad, "x", 1), -EBADF);
		assert_int_equal(gt_b_recv(p->a, bad, buf, sizeof buf), -EBADF);
		assert_int_equal(gt_b_shutdown(p->a, bad, GT_SHUT_WR), -EBADF);
		assert_int_equal(gt_b_close(p->a, bad), -EBADF);
		assert_int_equal(gt_b_fcntl(p->a, bad, F_GETFL, 0), -EBADF);
		assert_int_equal(
		    gt_b_setsockopt(p->a, bad, GT_SOL_SOCKET, GT_SO_RCVTIMEO, &tv, sizeof tv),
		    -EBADF);
		assert_int_equal(
		    gt_b_getsockopt(p->a, bad, GT_SOL_SOCKET, GT_SO_RCVTIMEO, &tv, &len), -EBADF);
		assert_int_equal(gt_b_getsockopt(p->a, bad, GT_SOL_SOCKET, GT_SO_ERROR, buf, &len),
		                 -EBADF);
	}
	/* closed: the handle is gone */
	int s = gt_b_socket(p->a);
	assert_int_equal(gt_b_close(p->a, s), 0);
	assert_int_equal(gt_b_close(p->a, s), -EBADF);
	assert_int_equal(gt_b_recv(p->a, s, buf, sizeof buf), -EBADF);
	assert_int_equal(gt_b_poll(p->a, &pfd, 1, 0), 1);
	assert_int_equal(pfd.revents, GT_B_POLLNVAL);
	/* NULL runtime */
	assert_int_equal(gt_b_socket(NULL), -EINVAL);
	assert_int_equal(gt_b_recv(NULL, 0, buf, 1), -EINVAL);
	assert_int_equal(gt_b_close(NULL, 0), -EINVAL);
	assert_int_equal(gt_b_poll(NULL, &pfd, 1, 0), -EINVAL);
}

static void test_bad_args(void **state)
{
	pair *p = *state;
	int s = gt_b_socket(p->a);
	size_t len = 1;
	struct timeval tv = {.tv_sec = 1, .tv_usec = 1000000};
	assert_int_equal(gt_b_send(p->a, s, NULL, 1), -EFAULT);
	assert_int_equal(gt_b_recv(p->a, s, NULL, 1), -EFAULT);
	assert_int_equal(gt_b_recv(p->a, s, &len, 1), -ENOTCONN);
	assert_int_equal(gt_b_send(p->a, s, "x", 1), -ENOTCONN);
	assert_int_equal(gt_b_fcntl(p->a, s, F_GETFD, 0), -EINVAL);
	assert_int_equal(gt_b_setsockopt(p->a, s, GT_SOL_SOCKET, GT_SO_RCVTIMEO, &tv, sizeof tv),
	                 -EDOM);
	assert_int_equal(gt_b_setsockopt(p->a, s, GT_SOL_SOCKET, GT_SO_SNDTIMEO, &tv, 4), -EINVAL);
	assert_int_equal(gt_b_setsockopt(p->a, s, GT_SOL_SOCKET, GT_SO_SNDTIMEO, NULL, sizeof tv),
	                 -EFAULT);
	assert_int_equal(gt_b_getsockopt(p->a, s, GT_SOL_SOCKET, GT_SO_SNDTIMEO, &tv, NULL),
	                 -EFAULT);
	assert_int_equal(gt_b_setsockopt(p->a, s, GT_SOL_SOCKET, 999, &tv, sizeof tv),
	                 -ENOPROTOOPT);
	assert_int_equal(gt_b_shutdown(p->a, s, 7), -EINVAL);
	assert_int_equal(gt_b_bind(p->a, s, 0x01020304, 80), -EADDRNOTAVAIL);
	assert_int_equal(gt_b_poll(p->a, NULL, 1, 0), -EFAULT);
	assert_int_equal(gt_b_poll(p->a, NULL, 0, 0), 0);
	assert_int_equal(gt_b_accept(p->a, s, NULL, NULL), -EINVAL); /* not listening */
	/* listen on a connected socket, connect on a listener */
	int l = listener(p->b, 81), srv;
	int c = connected(p, l, 81, &srv);
	assert_int_equal(gt_b_listen(p->a, c, 1), -EINVAL);
	assert_int_equal(gt_b_connect(p->a, c, B_ADDR, 81), -EISCONN);
	assert_int_equal(gt_b_connect(p->b, l, A_ADDR, 81), -EINVAL);
	int l2 = gt_b_socket(p->b);
	assert_int_equal(gt_b_bind(p->b, l2, 0, 81), -EADDRINUSE);
	gt_b_close(p->a, s);
	gt_b_close(p->a, c);
	gt_b_close(p->b, srv);
	gt_b_close(p->b, l);
	gt_b_close(p->b, l2);
}

static void test_timeouts(void **state)
{
	pair *p = *state;
	int l = listener(p->b, 82), srv;
	int c = connected(p, l, 82, &srv);
	char buf[64];
	/* SO_RCVTIMEO: -EAGAIN after the time, not before */
	set_timeo(p->a, c, GT_SO_RCVTIMEO, 0, 150000);
	struct timeval tv;
	size_t len = sizeof tv;
	assert_int_equal(gt_b_getsockopt(p->a, c, GT_SOL_SOCKET, GT_SO_RCVTIMEO, &tv, &len), 0);
	assert_int_equal(len, sizeof tv);
	assert_int_equal(tv.tv_sec, 0);
	assert_int_equal(tv.tv_usec, 150000);
	double t0 = now_s();
	assert_int_equal(gt_b_recv(p->a, c, buf, sizeof buf), -EAGAIN);
	double dt = now_s() - t0;
	assert_true(dt >= 0.149 && dt < 2.0);
	/* accept times out the same way (SO_RCVTIMEO of the listener) */
	set_timeo(p->b, l, GT_SO_RCVTIMEO, 0, 50000);
	assert_int_equal(gt_b_accept(p->b, l, NULL, NULL), -EAGAIN);
	/* O_NONBLOCK: -EAGAIN at once (the timeout would be 5 s) */
	set_timeo(p->a, c, GT_SO_RCVTIMEO, 5, 0);
	assert_int_equal(gt_b_fcntl(p->a, c, F_GETFL, 0), O_RDWR);
	assert_int_equal(gt_b_fcntl(p->a, c, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(gt_b_fcntl(p->a, c, F_GETFL, 0), O_RDWR | O_NONBLOCK);
	t0 = now_s();
	assert_int_equal(gt_b_recv(p->a, c, buf, sizeof buf), -EAGAIN);
	assert_true(now_s() - t0 < 2.0);
	/* non-blocking send fills the buffers (the peer reads nothing): short
	 * counts, then -EAGAIN (the ACKs of what was sent make room again,
	 * until the peer's window is shut too) */
	static char big[1 << 20];
	ssize_t n = 0;
	for (int tries = 0; tries < 2;) {
		ssize_t r = gt_b_send(p->a, c, big, sizeof big);
		if (r == -EAGAIN) {
			struct timespec ts = {0, 50 * 1000000};
			nanosleep(&ts, NULL);
			tries++;
			continue;
		}
		assert_true(r > 0 && (size_t)r < sizeof big);
		n += r;
		tries = 0;
	}
	assert_true(n > 0);
	/* blocking with SO_SNDTIMEO: what fits before the time (probably
	 * nothing: -EAGAIN), after the time */
	assert_int_equal(gt_b_fcntl(p->a, c, F_SETFL, 0), 0);
	set_timeo(p->a, c, GT_SO_SNDTIMEO, 0, 100000);
	t0 = now_s();
	ssize_t r = gt_b_send(p->a, c, big, sizeof big);
	assert_true(now_s() - t0 >= 0.099);
	assert_true(r == -EAGAIN || (r > 0 && (size_t)r < sizeof big));
	if (r > 0)
		n += r;
	/* a negative tv_sec: no wait, as Linux */
	set_timeo(p->a, c, GT_SO_RCVTIMEO, -1, 0);
	assert_int_equal(gt_b_recv(p->a, c, buf, sizeof buf), -EAGAIN);
	/* every byte queued gets there once the peer reads */
	set_timeo(p->b, srv, GT_SO_RCVTIMEO, 5, 0);
	size_t got = 0;
	while (got < (size_t)n) {
		ssize_t m = gt_b_recv(p->b, srv, big, sizeof big);
		assert_true(m > 0);
		got += (size_t)m;
	}
	assert_int_equal(got, (size_t)n);
	gt_b_close(p->a, c);
	gt_b_close(p->b, srv);
	gt_b_close(p->b, l);
}

static void test_refused(void **state)
{
	pair *p = *state;
	int c = gt_b_socket(p->a);
	assert_int_equal(gt_b_connect(p->a, c, B_ADDR, 9), -ECONNREFUSED);
	/* non-blocking: -EINPROGRESS, then POLLERR, then the error */
	int d = gt_b_socket(p->a);
	assert_int_equal(gt_b_fcntl(p->a, d, F_SETFL, O_NONBLOCK), 0);
	int r = gt_b_connect(p->a, d, B_ADDR, 9);
	if (r == -EINPROGRESS) {
		gt_b_pollfd pfd = {.fd = d, .events = GT_POLLOUT};
		assert_int_equal(gt_b_poll(p->a, &pfd, 1, 2000), 1);
		assert_true(pfd.revents & GT_POLLERR);
		int e = 0;
		size_t len = sizeof e;
		assert_int_equal(gt_b_getsockopt(p->a, d, GT_SOL_SOCKET, GT_SO_ERROR, &e, &len), 0);
		assert_int_equal(e, ECONNREFUSED);
	} else {
		assert_int_equal(r, -ECONNREFUSED); /* the pair answers at once */
	}
	gt_b_close(p->a, c);
	gt_b_close(p->a, d);
}

typedef struct srv_arg {
	gt_bstack *bs;
	int l;
	size_t bytes;
} srv_arg;

/* Accepts one connection and echoes it until EOF. */
static void *echo_once(void *arg)
{
	srv_arg *a = arg;
	int s = gt_b_accept(a->bs, a->l, NULL, NULL);
	if (s < 0)
		return NULL;
	char buf[4096];
	ssize_t n;
	while ((n = gt_b_recv(a->bs, s, buf, sizeof buf)) > 0) {
		if (gt_b_send(a->bs, s, buf, (size_t)n) != n)
			break;
		a->bytes += (size_t)n;
	}
	gt_b_close(a->bs, s);
	return NULL;
}

static void test_blocking_echo(void **state)
{
	pair *p = *state;
	srv_arg sa = {.bs = p->b, .l = listener(p->b, 83)};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, echo_once, &sa), 0);
	int c = gt_b_socket(p->a);
	assert_int_equal(gt_b_connect(p->a, c, B_ADDR, 83), 0);
	/* poll: writable, not readable */
	gt_b_pollfd pfd = {.fd = c, .events = GT_POLLIN | GT_POLLOUT};
	assert_int_equal(gt_b_poll(p->a, &pfd, 1, 0), 1);
	assert_int_equal(pfd.revents, GT_POLLOUT);
	static char out[200000], in[200000];
	for (size_t i = 0; i < sizeof out; i++)
		out[i] = (char)(i * 7 + i / 251);
	/* more than both buffers hold: send blocks until the echo reads */
	size_t got = 0;
	for (size_t off = 0; off < sizeof out; off += 50000) {
		assert_int_equal(gt_b_send(p->a, c, out + off, 50000), 50000);
		while (got < off + 50000) {
			ssize_t n = gt_b_recv(p->a, c, in + got, sizeof in - got);
			assert_true(n > 0);
			got += (size_t)n;
		}
	}
	assert_memory_equal(in, out, sizeof out);
	assert_int_equal(gt_b_shutdown(p->a, c, GT_SHUT_WR), 0);
	assert_int_equal(gt_b_recv(p->a, c, in, sizeof in), 0); /* EOF after the echo closed */
	pthread_join(th, NULL);
	assert_int_equal(sa.bytes, sizeof out);
	pfd.events = GT_POLLIN;
	assert_int_equal(gt_b_poll(p->a, &pfd, 1, 0), 1);
	assert_true(pfd.revents & GT_POLLIN);
	gt_b_close(p->a, c);
	gt_b_close(p->b, sa.l);
}

static void *close_later(void *arg)
{
	srv_arg *a = arg;
	struct timespec ts = {0, 100 * 1000000};
	nanosleep(&ts, NULL);
	gt_b_close(a->bs, a->l);
	return NULL;
}

/* A handle closed by another thread while one blocks on it: -EBADF. */
static void test_close_while_blocked(void **state)
{
	pair *p = *state;
	int l = listener(p->b, 84);
	srv_arg sa = {.bs = p->b, .l = l};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, close_later, &sa), 0);
	assert_int_equal(gt_b_accept(p->b, l, NULL, NULL), -EBADF);
	pthread_join(th, NULL);
}

static void test_linger(void **state)
{
	pair *p = *state;
	int l = listener(p->b, 85), srv;
	int c = connected(p, l, 85, &srv);
	struct linger lg = {.l_onoff = 1, .l_linger = 5};
	assert_int_equal(gt_b_setsockopt(p->a, c, GT_SOL_SOCKET, GT_SO_LINGER, &lg, sizeof lg), 0);
	assert_int_equal(gt_b_send(p->a, c, "hello", 5), 5);
	/* close waits for the data and the FIN to be acknowledged */
	assert_int_equal(gt_b_close(p->a, c), 0);
	char buf[16];
	assert_int_equal(gt_b_recv(p->b, srv, buf, sizeof buf), 5);
	assert_int_equal(gt_b_recv(p->b, srv, buf, sizeof buf), 0);
	gt_b_close(p->b, srv);
	gt_b_close(p->b, l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_handles),   cmocka_unit_test(test_bad_args),
	    cmocka_unit_test(test_timeouts),      cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_blocking_echo), cmocka_unit_test(test_close_while_blocked),
	    cmocka_unit_test(test_linger),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
