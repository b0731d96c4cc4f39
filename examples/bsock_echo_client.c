/* An echo client on the blocking API (glasstcp/bsock.h): glasstcp on a TUN
 * device connects to SERVER:PORT; one thread sends stdin and half-closes,
 * the other writes what comes back to stdout until the server's FIN.
 *   usage (root): bsock_echo_client TUN ADDR PEER SERVER PORT <in >out */
#include <arpa/inet.h>
#include <glasstcp/bsock.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static gt_bstack *bs;
static int sock;

static void *sender(void *arg)
{
	char buf[16384];
	ssize_t n;
	while ((n = read(0, buf, sizeof buf)) > 0)
		if (gt_b_send(bs, sock, buf, (size_t)n) != n)
			exit(1);
	gt_b_shutdown(bs, sock, GT_SHUT_WR);
	return NULL;
}

static uint32_t ip(const char *s)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "not an IPv4 address: %s\n", s);
		exit(2);
	}
	return ntohl(a.s_addr);
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s TUN ADDR PEER SERVER PORT\n", argv[0]);
		return 2;
	}
	gt_tun_config cfg;
	gt_tun_config_default(&cfg);
	cfg.ifname = argv[1];
	cfg.addr = ip(argv[2]);
	cfg.peer = ip(argv[3]);
	cfg.stack.quickack_fin = true; /* the server's FIN ACKed before we stop */
	char err[200];
	if (gt_b_start_tun(&cfg, &bs, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	sock = gt_b_socket(bs);
	int rc = gt_b_connect(bs, sock, ip(argv[4]), (uint16_t)atoi(argv[5]));
	if (rc < 0) {
		fprintf(stderr, "connect: error %d\n", -rc);
		return 1;
	}
	pthread_t t;
	pthread_create(&t, NULL, sender, NULL);
	char buf[16384];
	ssize_t n;
	while ((n = gt_b_recv(bs, sock, buf, sizeof buf)) > 0)
		if (write(1, buf, (size_t)n) != n)
			return 1;
	pthread_join(t, NULL);
	gt_b_close(bs, sock);
	gt_b_stop(bs);
	return n == 0 ? 0 : 1;
}
