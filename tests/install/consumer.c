/* A program built against an installed glasstcp (tests/cli/install_check.sh),
 * with nothing but what the install gives: the headers, the library, and
 * pkg-config's or CMake's flags. It checks gt_version() against argv[1] (the
 * version `glasstcp --version` printed), makes two stacks and connects them
 * through an in-memory queue (handshake, one send/recv, close), and parses
 * an impairment spec, whose milliseconds the library rounds with llround():
 * statically linked, that needs the -lm the install names (Libs.private, the
 * CMake target). Exits 0 and prints "ok VERSION" when all holds. */
#include <errno.h>
#include <glasstcp/glasstcp.h>
#include <glasstcp/tun.h>
#include <glasstcp/version.h>
#include <stdio.h>
#include <string.h>

typedef struct pkt {
	int to;
	size_t len;
	uint8_t data[2048];
} pkt;

static pkt queue[64];
static size_t queued;

static void out_client(void *user, const uint8_t *p, size_t len);
static void out_server(void *user, const uint8_t *p, size_t len);

static void push(int to, const uint8_t *p, size_t len)
{
	if (queued < 64 && len <= sizeof queue[0].data) {
		queue[queued] = (pkt){.to = to, .len = len};
		memcpy(queue[queued++].data, p, len);
	}
}

static void out_client(void *user, const uint8_t *p, size_t len)
{
	push(1, p, len);
}

static void out_server(void *user, const uint8_t *p, size_t len)
{
	push(0, p, len);
}

static gt_stack *make(const char *name, uint32_t addr, gt_output_fn out)
{
	gt_stack_config cfg;
	gt_stack_config_default(&cfg);
	cfg.name = name;
	cfg.local_addr = addr;
	cfg.output = out;
	memcpy(cfg.isn_key, "0123456789abcdef", 16);
	gt_stack *st = NULL;
	return gt_stack_create(&cfg, &st) == 0 ? st : NULL;
}

/* Delivers every queued packet (and what they provoke), at time now. */
static void drain(gt_stack *st[2], gt_time_us now)
{
	while (queued) {
		pkt p = queue[0];
		memmove(queue, queue + 1, --queued * sizeof queue[0]);
		gt_stack_input(st[p.to], p.data, p.len, now);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2 || strcmp(gt_version(), argv[1])) {
		fprintf(stderr, "consumer: gt_version() is \"%s\", expected \"%s\"\n", gt_version(),
		        argc > 1 ? argv[1] : "(none)");
		return 1;
	}
	gt_tun_impair imp;
	char err[128];
	if (gt_tun_impair_parse("delay=1.5", &imp, err, sizeof err) || imp.delay_us != 1500) {
		fprintf(stderr, "consumer: impairment spec: %s\n", err);
		return 1;
	}
	gt_stack *st[2] = {make("client", 0x0A000001, out_client),
	                   make("server", 0x0A000002, out_server)};
	if (!st[0] || !st[1])
		return 1;
	int l = gt_socket(st[1]);
	if (gt_bind(st[1], l, 0, 7) || gt_listen(st[1], l, 4, 0))
		return 1;
	int c = gt_socket(st[0]);
	if (gt_connect(st[0], c, 0x0A000002, 7, 0) != -EINPROGRESS)
		return 1;
	drain(st, 1000); /* SYN, SYN-ACK, ACK */
	int a = gt_accept(st[1], l, NULL, NULL);
	if (a < 0 || gt_sock_state(st[0], c) != GT_TCP_ESTABLISHED) {
		fprintf(stderr, "consumer: no handshake (accept %d)\n", a);
		return 1;
	}
	char buf[8] = {0};
	gt_send(st[0], c, "ping", 4, 2000);
	drain(st, 2000);
	if (gt_recv(st[1], a, buf, sizeof buf, 2000) != 4 || strcmp(buf, "ping"))
		return 1;
	gt_close(st[0], c, 3000);
	gt_close(st[1], a, 3000);
	drain(st, 3000);
	printf("ok %s\n", gt_version());
	gt_stack_destroy(st[0]);
	gt_stack_destroy(st[1]);
	return 0;
}
