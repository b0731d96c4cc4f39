/* Two stacks wired back to back in memory, with no simulator: the loop every
 * program around glasstcp writes. The stacks do no I/O and read no clock;
 * this program carries their packets (5 ms each way), keeps a virtual clock
 * that jumps to the next thing to happen (a packet arriving, or a stack's
 * deadline), and makes the socket calls: the client connects, sends a line
 * and closes; the server accepts, reads to EOF and closes. Every state change
 * is printed. Exits 0 when the server got the line and both ends are CLOSED
 * (the client after TIME_WAIT, 2 MSL = 60 s of virtual time). */
#include <errno.h>
#include <glasstcp/glasstcp.h>
#include <stdio.h>
#include <string.h>

#define DELAY_US 5000 /* one way */
#define QUEUE    64   /* packets in flight, both ways */

typedef struct packet {
	gt_time_us at; /* arrival time */
	int to;        /* 0 client, 1 server */
	size_t len;
	uint8_t data[2048];
} packet;

typedef struct wire {
	packet q[QUEUE]; /* FIFO: one delay for all, so arrival order is send order */
	size_t head, n;
	gt_time_us now;
	int lost; /* packets that did not fit: none expected */
} wire;

typedef struct port {
	wire *w;
	int to; /* where this stack's packets go */
} port;

/* The output callback: queue the packet for the other stack. */
static void send_packet(void *user, const uint8_t *pkt, size_t len)
{
	port *p = user;
	wire *w = p->w;
	if (w->n == QUEUE || len > sizeof w->q[0].data) {
		w->lost++;
		return;
	}
	packet *slot = &w->q[(w->head + w->n++) % QUEUE];
	*slot = (packet){.at = w->now + DELAY_US, .to = p->to, .len = len};
	memcpy(slot->data, pkt, len);
}

static void on_event(void *user, const gt_event *ev)
{
	if (ev->kind == GT_EV_STATE)
		printf("%9.3f ms  %-6s  %-12s -> %-12s (%s)\n", (double)ev->t_us / 1000.0, ev->host,
		       gt_tcp_state_name(ev->from), gt_tcp_state_name(ev->to), ev->cause);
}

static gt_stack *make_stack(const char *name, uint32_t addr, port *out)
{
	gt_stack_config cfg;
	gt_stack_config_default(&cfg);
	cfg.name = name;
	cfg.local_addr = addr;
	cfg.output = send_packet;
	cfg.output_user = out;
	cfg.on_event = on_event;
	memcpy(cfg.isn_key, "not-random-demo!", 16); /* a real program: 16 random bytes */
	gt_stack *st = NULL;
	return gt_stack_create(&cfg, &st) == 0 ? st : NULL;
}

/* The time of the next thing to happen, or GT_TIME_NEVER. */
static gt_time_us next_time(const wire *w, gt_stack *const st[2])
{
	gt_time_us t = w->n ? w->q[w->head].at : GT_TIME_NEVER;
	for (int i = 0; i < 2; i++) {
		gt_time_us d = gt_stack_next_deadline(st[i]);
		if (d < t)
			t = d;
	}
	return t;
}

/* Advance the clock to the next event: deliver what has arrived, run the
 * timers that are due. Returns false when nothing is left to happen. */
static bool step(wire *w, gt_stack *const st[2])
{
	gt_time_us t = next_time(w, st);
	if (t == GT_TIME_NEVER)
		return false;
	w->now = t;
	while (w->n && w->q[w->head].at <= t) {
		packet p = w->q[w->head]; /* copied: input may queue answers */
		w->head = (w->head + 1) % QUEUE;
		w->n--;
		gt_stack_input(st[p.to], p.data, p.len, t);
	}
	for (int i = 0; i < 2; i++)
		if (gt_stack_next_deadline(st[i]) <= t)
			gt_stack_on_deadline(st[i], t);
	return true;
}

int main(void)
{
	wire w = {0};
	port to_server = {&w, 1}, to_client = {&w, 0};
	gt_stack *st[2] = {make_stack("client", 0xC0000201, &to_server),  /* 192.0.2.1 */
	                   make_stack("server", 0xC0000202, &to_client)}; /* 192.0.2.2 */
	if (!st[0] || !st[1])
		return 1;
	gt_stack *cli = st[0], *srv = st[1];

	int lsock = gt_socket(srv);
	if (gt_bind(srv, lsock, 0, 80) < 0 || gt_listen(srv, lsock, 8, w.now) < 0)
		return 1;
	int sock = gt_socket(cli);
	if (gt_connect(cli, sock, 0xC0000202, 80, w.now) != -EINPROGRESS)
		return 1;

	const char msg[] = "hello, server";
	char got[64] = {0};
	size_t ngot = 0;
	int conn = -1;
	bool done = false;
	while (step(&w, st)) {
		if (sock >= 0 && (gt_poll(cli, sock) & GT_POLLOUT)) {
			gt_send(cli, sock, msg, sizeof msg - 1, w.now); /* all fits the buffer */
			gt_close(cli, sock, w.now);                     /* FIN after the data */
			sock = -1;
		}
		if (conn < 0 && !done)
			conn = gt_accept(srv, lsock, NULL, NULL); /* -EAGAIN until the handshake */
		if (conn >= 0) {
			ssize_t n;
			while ((n = gt_recv(srv, conn, got + ngot, sizeof got - 1 - ngot, w.now)) >
			       0)
				ngot += (size_t)n;
			if (n == 0) { /* EOF: the client's FIN (else -EAGAIN: more to come) */
				printf("server read \"%s\"\n", got);
				gt_close(srv, conn, w.now);
				conn = -1;
				done = true;
			}
		}
	}
	/* nothing left to happen: every connection is CLOSED, only the listener is left */
	int ok = done && ngot == sizeof msg - 1 && !memcmp(got, msg, ngot) && !w.lost &&
	         gt_stack_conn_count(cli) == 0 && gt_stack_conn_count(srv) == 1;
	printf("%s after %.3f s of virtual time\n", ok ? "ok" : "FAILED", (double)w.now / 1e6);
	gt_stack_destroy(cli);
	gt_stack_destroy(srv);
	return ok ? 0 : 1;
}
