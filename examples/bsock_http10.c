/* A tiny HTTP/1.0 server on the blocking API (glasstcp/bsock.h): glasstcp
 * on a TUN device serves GET /NAME from DIR (no subfolders), one request per
 * connection, then closes.
 *   usage (root): bsock_http10 TUN ADDR PEER PORT DIR */
#include <arpa/inet.h>
#include <glasstcp/bsock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static gt_bstack *bs;

static void reply(int s)
{
	char buf[16384] = "", path[300];
	FILE *f;
	size_t got = 0;
	ssize_t n;
	while (!strstr(buf, "\r\n\r\n") && got < sizeof buf - 1 &&
	       (n = gt_b_recv(bs, s, buf + got, sizeof buf - 1 - got)) > 0)
		buf[got += (size_t)n] = 0;
	if (sscanf(buf, "GET /%255s HTTP/1.", path) != 1 || strchr(path, '/') || path[0] == '.' ||
	    !(f = fopen(path, "rb"))) {
		const char *nf = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";
		gt_b_send(bs, s, nf, strlen(nf));
		return;
	}
	fseek(f, 0, SEEK_END);
	int len =
	    snprintf(buf, sizeof buf, "HTTP/1.0 200 OK\r\nContent-Length: %ld\r\n\r\n", ftell(f));
	rewind(f);
	do
		if (gt_b_send(bs, s, buf, (size_t)len) != len)
			break;
	while ((len = (int)fread(buf, 1, sizeof buf, f)) > 0);
	fclose(f);
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
		fprintf(stderr, "usage: %s TUN ADDR PEER PORT DIR\n", argv[0]);
		return 2;
	}
	gt_tun_config cfg;
	gt_tun_config_default(&cfg);
	cfg.ifname = argv[1];
	cfg.addr = ip(argv[2]);
	cfg.peer = ip(argv[3]);
	char err[200] = "no such folder";
	if (chdir(argv[5]) < 0 || gt_b_start_tun(&cfg, &bs, err, sizeof err) < 0) {
		fprintf(stderr, "cannot start: %s\n", err);
		return 1;
	}
	int l = gt_b_socket(bs), s;
	if (gt_b_bind(bs, l, 0, (uint16_t)atoi(argv[4])) < 0 || gt_b_listen(bs, l, 64) < 0)
		return 1;
	printf("listening on %s:%s\n", argv[2], argv[4]);
	fflush(stdout);
	while ((s = gt_b_accept(bs, l, NULL, NULL)) >= 0) {
		reply(s);
		gt_b_close(bs, s);
	}
	gt_b_stop(bs);
	return 1;
}
