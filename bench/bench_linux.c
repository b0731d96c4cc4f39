/* Linux: the same transfers over 127.0.0.1 TCP sockets. Bulk: a sender
 * thread writes, the calling thread reads and checks. Lifecycle: one thread,
 * blocking sockets (the kernel does the handshakes and closes). */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RECV_CHUNK (1u << 20)

/* A listener on 127.0.0.1, an ephemeral port; its address in *sa. */
static int listen_lo(struct sockaddr_in *sa, uint16_t mss)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1, m = mss;
	socklen_t len = sizeof *sa;
	*sa =
	    (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    (mss && setsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &m, sizeof m) < 0) ||
	    bind(s, (struct sockaddr *)sa, sizeof *sa) < 0 || listen(s, 128) < 0 ||
	    getsockname(s, (struct sockaddr *)sa, &len) < 0) {
		if (s >= 0)
			close(s);
		return -1;
	}
	return s;
}

static int connect_lo(const struct sockaddr_in *sa, uint16_t mss)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), m = mss;
	if (s < 0 || (mss && setsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &m, sizeof m) < 0) ||
	    connect(s, (const struct sockaddr *)sa, sizeof *sa) < 0) {
		if (s >= 0)
			close(s);
		return -1;
	}
	return s;
}

typedef struct sender {
	struct sockaddr_in sa;
	uint16_t mss;
	uint64_t bytes;
	int err;
} sender;

static void *send_all(void *arg)
{
	sender *sd = arg;
	int s = connect_lo(&sd->sa, sd->mss);
	if (s < 0) {
		sd->err = errno;
		return NULL;
	}
	for (uint64_t off = 0; off < sd->bytes;) {
		uint64_t left = sd->bytes - off;
		size_t n = left < BENCH_PERIOD ? (size_t)left : BENCH_PERIOD;
		ssize_t k = write(s, bench_pattern_at(off), n);
		if (k < 0 && errno != EINTR) {
			sd->err = errno;
			break;
		}
		off += k > 0 ? (uint64_t)k : 0;
	}
	close(s);
	return NULL;
}

/* Reads the stream from s to EOF, checking it; returns the bytes read or -1. */
static int64_t recv_all(int s, uint8_t *buf)
{
	uint64_t got = 0;
	for (;;) {
		ssize_t k = read(s, buf, RECV_CHUNK);
		if (k == 0)
			return (int64_t)got;
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 || !bench_check(got, buf, (size_t)k))
			return -1;
		got += (uint64_t)k;
	}
}

bench_result bench_linux_bulk(const bench_params *p)
{
	sender sd = {.mss = p->mss, .bytes = p->bytes};
	int ls = listen_lo(&sd.sa, p->mss);
	uint8_t *buf = malloc(RECV_CHUNK);
	pthread_t th;
	if (ls < 0 || !buf) {
		free(buf);
		return bench_fail("linux: listen on 127.0.0.1 failed (%s)", strerror(errno));
	}
	double t0 = bench_now();
	pthread_create(&th, NULL, send_all, &sd);
	int s = accept(ls, NULL, NULL);
	int64_t got = s < 0 ? -1 : recv_all(s, buf);
	double t = bench_now() - t0;
	pthread_join(th, NULL);
	if (s >= 0)
		close(s);
	close(ls);
	free(buf);
	if (got != (int64_t)p->bytes || sd.err)
		return bench_fail("linux: bulk got %lld of %llu bytes (%s)", (long long)got,
		                  (unsigned long long)p->bytes, strerror(sd.err));
	return (bench_result){.ok = true, .seconds = t};
}

static int exchange(int from, int to)
{
	uint8_t buf[64];
	if (write(from, bench_pattern, 64) != 64)
		return -1;
	size_t got = 0;
	while (got < 64) {
		ssize_t k = read(to, buf + got, 64 - got);
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return bench_check(0, buf, 64) ? 0 : -1;
}

static int one_lifecycle(int ls, const struct sockaddr_in *sa)
{
	int c = connect_lo(sa, 0);
	int s = c < 0 ? -1 : accept(ls, NULL, NULL);
	int rc = s < 0 || exchange(c, s) < 0 || exchange(s, c) < 0 ? -1 : 0;
	uint8_t b;
	if (c >= 0)
		close(c); /* the client first: its side stays in TIME_WAIT */
	if (s >= 0 && (rc < 0 || read(s, &b, 1) != 0))
		rc = -1;
	if (s >= 0)
		close(s);
	return rc;
}

bench_result bench_linux_lifecycle(const bench_params *p)
{
	struct sockaddr_in sa;
	int ls = listen_lo(&sa, 0);
	if (ls < 0)
		return bench_fail("linux: listen on 127.0.0.1 failed (%s)", strerror(errno));
	bench_result r = {.ok = true};
	double t0 = bench_now();
	for (uint32_t i = 0; i < p->conns && r.ok; i++)
		if (one_lifecycle(ls, &sa) < 0)
			r = bench_fail("linux: lifecycle %u failed (%s)", i, strerror(errno));
	r.seconds = bench_now() - t0;
	close(ls);
	return r;
}
