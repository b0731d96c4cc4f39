/* Many threads opening, sending, receiving and closing connections through
 * the blocking API (glasstcp/bsock.h) at once, over a pair of stacks in
 * memory, built with ThreadSanitizer (with its own copy of the library, see
 * tests/CMakeLists.txt): TSan must report nothing, and every byte comes back.
 *
 * CLIENTS threads each make CONNS connections to an echo service served by
 * SERVERS threads all blocked in accept() on one listener; each connection
 * carries its own pattern, sent in pieces and read back (half the clients
 * wait in gt_b_poll before each read, half in gt_b_recv). The user's event
 * callback counts events under the runtime's lock. Exit 0, or 1 with a reason
 * (66 is TSan's, TSAN_OPTIONS=exitcode=66). */
#include <glasstcp/bsock.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENTS 8
#define SERVERS 4
#define CONNS   50
#define BYTES   20000
#define PORT    7
#define A_ADDR  0x0A000001u
#define B_ADDR  0x0A000002u

static gt_bstack *A, *B;
static int L;
static unsigned long events; /* written by the callback, under the lock */
static unsigned long echoed[SERVERS];

static void die(const char *what, long v)
{
	fprintf(stderr, "tsan_bsock: %s (%ld)\n", what, v);
	exit(1);
}

static void on_event(void *user, const gt_event *ev)
{
	events++;
}

static void *server(void *arg)
{
	int id = (int)(long)arg;
	char buf[3000];
	for (;;) {
		int s = gt_b_accept(B, L, NULL, NULL);
		if (s == -EBADF)
			return NULL; /* the listener closed: the end */
		if (s < 0)
			die("accept", s);
		ssize_t n;
		while ((n = gt_b_recv(B, s, buf, sizeof buf)) > 0) {
			if (gt_b_send(B, s, buf, (size_t)n) != n)
				die("server send", n);
			echoed[id] += (unsigned long)n;
		}
		if (n < 0)
			die("server recv", n);
		gt_b_close(B, s);
	}
}

static void one_conn(int id, int k, unsigned char *out, unsigned char *in)
{
	for (size_t i = 0; i < BYTES; i++)
		out[i] = (unsigned char)(i * 31 + (size_t)id * 7 + (size_t)k);
	int c = gt_b_socket(A);
	if (c < 0)
		die("socket", c);
	int r = gt_b_connect(A, c, B_ADDR, PORT);
	if (r != 0)
		die("connect", r);
	size_t sent = 0, got = 0;
	while (got < BYTES) {
		if (sent < BYTES) {
			size_t piece = BYTES - sent < 7000 ? BYTES - sent : 7000;
			if (gt_b_send(A, c, out + sent, piece) != (ssize_t)piece)
				die("client send", (long)sent);
			sent += piece;
		}
		if (id % 2) {
			gt_b_pollfd pfd = {.fd = c, .events = GT_POLLIN};
			if (gt_b_poll(A, &pfd, 1, 10000) != 1 || !(pfd.revents & GT_POLLIN))
				die("poll", pfd.revents);
		}
		ssize_t n = gt_b_recv(A, c, in + got, BYTES - got);
		if (n <= 0)
			die("client recv", n);
		got += (size_t)n;
	}
	if (memcmp(in, out, BYTES) != 0)
		die("echo differs, client", id);
	gt_b_shutdown(A, c, GT_SHUT_WR);
	char x;
	if (gt_b_recv(A, c, &x, 1) != 0)
		die("no EOF", id);
	if (gt_b_close(A, c) != 0)
		die("close", id);
}

static void *client(void *arg)
{
	int id = (int)(long)arg;
	static unsigned char bufs[CLIENTS][2][BYTES];
	for (int k = 0; k < CONNS; k++)
		one_conn(id, k, bufs[id][0], bufs[id][1]);
	return NULL;
}

static void read_events(void *user, gt_stack *st, gt_time_us now)
{
	*(unsigned long *)user = events;
}

int main(void)
{
	gt_stack_config ca, cb;
	gt_stack_config_default(&ca);
	gt_stack_config_default(&cb);
	ca.name = "a";
	ca.local_addr = A_ADDR;
	cb.name = "b";
	cb.local_addr = B_ADDR;
	cb.isn_key[0] = 1;
	ca.on_event = cb.on_event = on_event;
	ca.msl_us = cb.msl_us = 200000;
	int rc = gt_b_start_pair(&ca, &cb, &A, &B);
	if (rc)
		die("start", rc);
	L = gt_b_socket(B);
	if (gt_b_bind(B, L, 0, PORT) || gt_b_listen(B, L, 64))
		die("listen", L);
	pthread_t srv[SERVERS], cli[CLIENTS];
	for (long i = 0; i < SERVERS; i++)
		pthread_create(&srv[i], NULL, server, (void *)i);
	for (long i = 0; i < CLIENTS; i++)
		pthread_create(&cli[i], NULL, client, (void *)i);
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(cli[i], NULL);
	gt_b_close(B, L);
	unsigned long total = 0, ev = 0;
	for (int i = 0; i < SERVERS; i++) {
		pthread_join(srv[i], NULL);
		total += echoed[i];
	}
	gt_b_call(A, read_events, &ev);
	gt_b_stop(A);
	if (total != (unsigned long)CLIENTS * CONNS * BYTES)
		die("bytes echoed", (long)total);
	printf("tsan_bsock: %d threads x %d connections, %lu bytes echoed, %lu events\n", CLIENTS,
	       CONNS, total, ev);
	return 0;
}
