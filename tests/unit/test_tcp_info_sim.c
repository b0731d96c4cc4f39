/* TCP_INFO agrees with the trace (issue 13): on the simulated network's
 * 20 ms path (10 ms each way), after a bulk transfer, tcpi_rtt is within
 * 10 % of the RTT the trace shows (each data segment's tx to the rx of the
 * first ACK covering it, Karn: first transmissions only), and the byte and
 * segment counts equal what went over the wire. */
#include "support.h"

#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <string.h>

#define CLIENT_ADDR GT_TEST_ADDR(1)
#define SERVER_ADDR GT_TEST_ADDR(2)
#define PORT        7
#define MS          1000ull
#define BYTES       (512u * 1024)

/* the client's data segments in flight, by sequence number, to time them */
#define MAX_SENT 4096
typedef struct trace {
	struct {
		uint32_t end;
		gt_time_us t;
		bool rexmit;
	} sent[MAX_SENT];
	unsigned n_sent, next; /* next: oldest not yet ACKed */
	double rtt_sum;
	unsigned rtt_n;
	uint64_t data_bytes_tx, rexmits;
} trace;

static void on_event(void *user, const gt_event *ev)
{
	trace *tr = user;
	if (!ev->has_seg || strcmp(ev->host, "client") != 0)
		return;
	if (ev->kind == GT_EV_TX && ev->seg.len > 0 && tr->n_sent < MAX_SENT) {
		tr->sent[tr->n_sent].end = ev->seg.seq + ev->seg.len;
		tr->sent[tr->n_sent].t = ev->t_us;
		tr->sent[tr->n_sent].rexmit = ev->seg.rexmit;
		tr->n_sent++;
		tr->data_bytes_tx += ev->seg.len;
		tr->rexmits += ev->seg.rexmit;
	}
	if (ev->kind == GT_EV_RX && (ev->seg.flags & GT_TCP_ACK)) {
		while (tr->next < tr->n_sent &&
		       (int32_t)(ev->seg.ack - tr->sent[tr->next].end) >= 0) {
			if (!tr->sent[tr->next].rexmit) {
				tr->rtt_sum += (double)(ev->t_us - tr->sent[tr->next].t);
				tr->rtt_n++;
			}
			tr->next++;
		}
	}
}

static void test_tcp_info_matches_trace(void **state)
{
	static trace tr;
	memset(&tr, 0, sizeof tr);
	gt_sim *sim = gt_sim_new(gt_test_seed(11));
	assert_non_null(sim);
	gt_sim_set_event_fn(sim, on_event, &tr);
	int c = gt_sim_add_host(sim, "client", CLIENT_ADDR, NULL);
	int s = gt_sim_add_host(sim, "server", SERVER_ADDR, NULL);
	gt_stack *cst = gt_sim_stack(sim, c), *sst = gt_sim_stack(sim, s);
	int lst = gt_socket(sst);
	assert_int_equal(gt_bind(sst, lst, 0, PORT), 0);
	assert_int_equal(gt_listen(sst, lst, 0, 0), 0);
	int cs = gt_socket(cst);
	assert_int_equal(gt_connect(cst, cs, SERVER_ADDR, PORT, 0), -EINPROGRESS);
	gt_sim_run_until(sim, 100 * MS);
	int ss = gt_accept(sst, lst, NULL, NULL);
	assert_true(ss >= 0);

	static uint8_t buf[BYTES];
	memset(buf, 0x5a, sizeof buf);
	uint32_t sent = 0, got = 0;
	while (got < BYTES && gt_sim_now(sim) < 60000 * MS) {
		gt_time_us now = gt_sim_now(sim);
		if (sent < BYTES) {
			int n = gt_send(cst, cs, buf + sent, BYTES - sent, now);
			if (n > 0)
				sent += (uint32_t)n;
		}
		static uint8_t in[65536];
		int r;
		while ((r = gt_recv(sst, ss, in, sizeof in, now)) > 0)
			got += (uint32_t)r;
		if (!gt_sim_step(sim))
			break;
	}
	assert_int_equal(got, BYTES);
	gt_sim_run_until(sim, gt_sim_now(sim) + 500 * MS); /* the last ACKs */

	struct tcp_info ti;
	size_t len = sizeof ti;
	assert_int_equal(gt_getsockopt(cst, cs, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	assert_true(tr.rtt_n > 100);
	double measured = tr.rtt_sum / tr.rtt_n;
	print_message("trace RTT %.0f us over %u samples, tcpi_rtt %u us, rttvar %u, rto %u\n",
	              measured, tr.rtt_n, ti.tcpi_rtt, ti.tcpi_rttvar, ti.tcpi_rto);
	assert_true(ti.tcpi_rtt >= 0.9 * measured && ti.tcpi_rtt <= 1.1 * measured);
	/* the path's own round trip is 20 ms: nothing smaller can be measured */
	assert_true(ti.tcpi_rtt >= 20000);
	assert_int_equal(ti.tcpi_state, 1);               /* TCP_ESTABLISHED */
	assert_int_equal(ti.tcpi_bytes_acked, BYTES + 1); /* and the SYN, as Linux */
	assert_int_equal(ti.tcpi_bytes_sent, tr.data_bytes_tx);
	assert_int_equal(ti.tcpi_total_retrans, tr.rexmits);
	assert_int_equal(tr.data_bytes_tx, BYTES + ti.tcpi_bytes_retrans);
	struct tcp_info si;
	len = sizeof si;
	assert_int_equal(gt_getsockopt(sst, ss, IPPROTO_TCP, TCP_INFO, &si, &len), 0);
	assert_int_equal(si.tcpi_bytes_received, BYTES);
	gt_sim_free(sim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tcp_info_matches_trace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
