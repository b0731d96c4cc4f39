/* An echo server on the blocking API (glasstcp/bsock.h): glasstcp on a TUN
 * device, one thread per connection, each echoing until the peer's FIN.
 *   usage (root): bsock_echo_server TUN ADDR PEER PORT
 * e.g. bsock_echo_server gt0 192.0.2.1 192.0.2.2 7, then nc 192.0.2.1 7 */
#include <arpa/inet.h>
#include <glasstcp/bsock.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static gt_bstack *bs;

static void *echo(void *arg)
{
	int s = (int)(long)arg;
	char buf[16384];
	ssize_t n;
	while ((n = gt_b_recv(bs, s, buf, sizeof buf)) > 0)
		if (gt_b_send(bs, s, buf, (size_t)n) != n)
			break;
	gt_b_close(bs, s);
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
	if (argc != 5) {
		fprintf(stderr, "usage: %s TUN ADDR PEER PORT\n", argv[0]);
		return 2;
	}
	gt_tun_config cfg;
	gt_tun_config_default(&cfg);
	cfg.ifname = argv[1];
	cfg.addr = ip(argv[2]);
	cfg.peer = ip(argv[3]);
	char err[200];
	if (gt_b_start_tun(&cfg, &bs, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	int l = gt_b_socket(bs);
	if (gt_b_bind(bs, l, 0, (uint16_t)atoi(argv[4])) < 0 || gt_b_listen(bs, l, 64) < 0)
		return 1;
	printf("listening on %s:%s\n", argv[2], argv[4]);
	fflush(stdout);
	int s;
	while ((s = gt_b_accept(bs, l, NULL, NULL)) >= 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, echo, (void *)(long)s) == 0)
			pthread_detach(t);
		else
			gt_b_close(bs, s);
	}
	gt_b_stop(bs);
	return 1;
}
