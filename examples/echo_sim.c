/* An echo exchange between two stacks on the simulated network, driven by the
 * socket API: the smallest complete glasstcp program. Exits 0 when the client
 * got its bytes back and both ends closed. */
#include <errno.h>
#include <glasstcp/glasstcp.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	gt_sim *sim = gt_sim_new(1);
	int c = gt_sim_add_host(sim, "client", 0xC0000201, NULL); /* 192.0.2.1 */
	int s = gt_sim_add_host(sim, "server", 0xC0000202, NULL); /* 192.0.2.2 */
	gt_stack *cli = gt_sim_stack(sim, c), *srv = gt_sim_stack(sim, s);

	int lsock = gt_socket(srv);
	gt_bind(srv, lsock, 0, 7);
	gt_listen(srv, lsock, 16, gt_sim_now(sim));

	int sock = gt_socket(cli);
	if (gt_connect(cli, sock, 0xC0000202, 7, gt_sim_now(sim)) != -EINPROGRESS)
		return 1;

	const char msg[] = "hello, glass box";
	char echoed[64] = {0};
	size_t got = 0;
	int conn = -1;
	bool sent = false, server_closed = false;
	while (gt_sim_step(sim)) {
		gt_time_us now = gt_sim_now(sim);
		if (conn < 0)
			conn = gt_accept(srv, lsock, NULL, NULL);
		if (!sent && (gt_poll(cli, sock) & GT_POLLOUT)) {
			gt_send(cli, sock, msg, sizeof(msg), now);
			gt_shutdown(cli, sock, GT_SHUT_WR, now); /* half-close: no more requests */
			sent = true;
		}
		if (conn >= 0 && !server_closed) {
			char buf[64];
			ssize_t n;
			while ((n = gt_recv(srv, conn, buf, sizeof(buf), now)) > 0)
				gt_send(srv, conn, buf, (size_t)n, now);
			if (n == 0) { /* EOF: the client's FIN */
				gt_close(srv, conn, now);
				server_closed = true;
			}
		}
		ssize_t n = gt_recv(cli, sock, echoed + got, sizeof(echoed) - got, now);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0 && sent) {
			gt_close(cli, sock, now); /* TIME_WAIT follows inside the stack */
			sock = -1;
			break;
		}
	}
	gt_sim_run_until(sim, gt_sim_now(sim) + 120 * 1000000ull); /* let TIME_WAIT end */
	int ok = got == sizeof(msg) && !memcmp(echoed, msg, sizeof(msg)) &&
	         gt_stack_conn_count(cli) == 0 && gt_stack_conn_count(srv) == 1;
	printf("echoed \"%s\" (%zu bytes): %s\n", echoed, got, ok ? "ok" : "FAILED");
	gt_sim_free(sim);
	return ok ? 0 : 1;
}
