/* nstat- and ss-like views of a stack (stats.h). */
#include "cli/stats.h"

#include <string.h>
#ifdef GT_HAVE_JANSSON
#include <jansson.h>
#endif

size_t stats_counters(const gt_stack_counters *sc, stats_counter *out)
{
	const stats_counter c[] = {
	    /* Linux's Tcp MIB (RFC 4022), then TcpExt */
	    {"active_opens", "TcpActiveOpens", sc->active_opens},
	    {"passive_opens", "TcpPassiveOpens", sc->passive_opens},
	    {"attempt_fails", "TcpAttemptFails", sc->attempt_fails},
	    {"estab_resets", "TcpEstabResets", sc->estab_resets},
	    {"curr_estab", "TcpCurrEstab", sc->curr_estab},
	    {"rx_segments", "TcpInSegs", sc->rx_segments},
	    /* Linux's OutSegs leaves retransmissions out; tx_segments counts them */
	    {NULL, "TcpOutSegs", sc->tx_segments - sc->tx_rexmits},
	    {"tx_rexmits", "TcpRetransSegs", sc->tx_rexmits},
	    {"tx_rsts", "TcpOutRsts", sc->tx_rsts},
	    {"syncookies_sent", "TcpExtSyncookiesSent", sc->syncookies_sent},
	    {"syncookies_ok", "TcpExtSyncookiesRecv", sc->syncookies_ok},
	    {"syncookies_bad", "TcpExtSyncookiesFailed", sc->syncookies_bad},
	    {"tx_challenge_acks", "TcpExtTCPChallengeACK", sc->tx_challenge_acks},
	    {"tx_keepalive_probes", "TcpExtTCPKeepAlive", sc->tx_keepalive_probes},
	    {"conns_timedout", "TcpExtTCPAbortOnTimeout", sc->conns_timedout},
	    /* glasstcp's own */
	    {"rx_packets", "rx_packets", sc->rx_packets},
	    {"tx_segments", "tx_segments", sc->tx_segments},
	    {"rx_rsts", "rx_rsts", sc->rx_rsts},
	    {"conns_opened", "conns_opened", sc->conns_opened},
	    {"conns_reset", "conns_reset", sc->conns_reset},
	    {"orphans_timedout", "orphans_timedout", sc->orphans_timedout},
	    {"orphans_reset_overflow", "orphans_reset_overflow", sc->orphans_reset_overflow},
	    {"rx_icmp_errors", "rx_icmp_errors", sc->rx_icmp_errors},
	    {"drops", "drops", sc->drops},
	};
	_Static_assert(sizeof c / sizeof c[0] <= STATS_MAX_COUNTERS, "STATS_MAX_COUNTERS");
	memcpy(out, c, sizeof c);
	return sizeof c / sizeof c[0];
}

const char *stats_state_name(gt_tcp_state s)
{
	static const char *const names[GT_TCP_STATE_COUNT] = {
	    [GT_TCP_CLOSED] = "UNCONN",         [GT_TCP_LISTEN] = "LISTEN",
	    [GT_TCP_SYN_SENT] = "SYN-SENT",     [GT_TCP_SYN_RECEIVED] = "SYN-RECV",
	    [GT_TCP_ESTABLISHED] = "ESTAB",     [GT_TCP_FIN_WAIT_1] = "FIN-WAIT-1",
	    [GT_TCP_FIN_WAIT_2] = "FIN-WAIT-2", [GT_TCP_CLOSE_WAIT] = "CLOSE-WAIT",
	    [GT_TCP_CLOSING] = "CLOSING",       [GT_TCP_LAST_ACK] = "LAST-ACK",
	    [GT_TCP_TIME_WAIT] = "TIME-WAIT",
	};
	return (unsigned)s < GT_TCP_STATE_COUNT ? names[s] : "?";
}

/* ---- text ---- */

static void counters_text(FILE *f, const gt_stack_counters *sc, const char *title)
{
	stats_counter c[STATS_MAX_COUNTERS];
	size_t n = stats_counters(sc, c);
	fprintf(f, "#%s\n", title);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%-32s %llu\n", c[i].name, (unsigned long long)c[i].v);
	for (int d = 0; d < GT_DROP_REASON_COUNT; d++)
		if (sc->drop[d])
			fprintf(f, "drop_%-27s %llu\n", gt_drop_reason_name((gt_drop_reason)d),
			        (unsigned long long)sc->drop[d]);
}

static void endpoint(char *buf, size_t len, uint32_t addr, uint16_t port)
{
	char a[16];
	if (port)
		snprintf(buf, len, "%s:%u", gt_ipv4_str(addr, a), (unsigned)port);
	else
		snprintf(buf, len, "%s:*", gt_ipv4_str(addr, a));
}

static void conn_text(void *user, const gt_conn_info *ci)
{
	FILE *f = user;
	char l[24], p[24];
	endpoint(l, sizeof l, ci->tuple.local_addr, ci->tuple.local_port);
	endpoint(p, sizeof p, ci->tuple.remote_addr, ci->tuple.remote_port);
	bool lst = ci->state == GT_TCP_LISTEN;
	/* as Linux's ss: a listener's Recv-Q is its accept queue, Send-Q its backlog */
	fprintf(f, "%-11s %-6u %-6u %-21s %s\n", stats_state_name(ci->state),
	        lst ? ci->accept_queue : ci->recv_q, lst ? ci->backlog : ci->send_q, l, p);
	if (ci->sock >= 0)
		fprintf(f, "\t sock:%d", ci->sock);
	else
		fprintf(f, "\t %s", ci->orphan ? "orphan" : "sock:-");
	if (lst) {
		fprintf(f, " syn_queue:%u accept_queue:%u backlog:%u\n", ci->syn_queue,
		        ci->accept_queue, ci->backlog);
		return;
	}
	/* ss's units: ms (rtt 0/0 before a sample) */
	fprintf(f, " rto:%llu rtt:%.3f/%.3f mss:%u cwnd:%u",
	        (unsigned long long)(ci->rto_us / 1000), ci->rtt_us / 1000.0,
	        ci->rttvar_us / 1000.0, ci->snd_mss, ci->snd_cwnd);
	if (ci->snd_ssthresh != UINT32_MAX)
		fprintf(f, " ssthresh:%u", ci->snd_ssthresh);
	fprintf(f, " retrans:%u/%u bytes_acked:%llu bytes_received:%llu\n", ci->retransmits,
	        ci->total_retrans, (unsigned long long)ci->bytes_acked,
	        (unsigned long long)ci->bytes_received);
}

static void conns_text(FILE *f, const gt_stack *st)
{
	fprintf(f, "%-11s %-6s %-6s %-21s %s\n", "State", "Recv-Q", "Send-Q", "Local Address:Port",
	        "Peer Address:Port");
	gt_stack_foreach_conn(st, conn_text, f);
}

/* ---- JSON ---- */

#ifdef GT_HAVE_JANSSON
static json_t *counters_json(const gt_stack_counters *sc)
{
	stats_counter c[STATS_MAX_COUNTERS];
	size_t n = stats_counters(sc, c);
	json_t *o = json_object();
	for (size_t i = 0; o && i < n; i++)
		json_object_set_new(o, c[i].name, json_integer((json_int_t)c[i].v));
	/* every reason, so that a script finds each key */
	for (int d = 1; o && d < GT_DROP_REASON_COUNT; d++) {
		char key[64];
		snprintf(key, sizeof key, "drop_%s", gt_drop_reason_name((gt_drop_reason)d));
		json_object_set_new(o, key, json_integer((json_int_t)sc->drop[d]));
	}
	return o;
}

static json_t *conn_json(const gt_conn_info *ci)
{
	char la[16], ra[16];
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:I, s:I, s:b}", "state",
	                      gt_tcp_state_name(ci->state), "ss_state", stats_state_name(ci->state),
	                      "local_addr", gt_ipv4_str(ci->tuple.local_addr, la), "local_port",
	                      (int)ci->tuple.local_port, "peer_addr",
	                      gt_ipv4_str(ci->tuple.remote_addr, ra), "peer_port",
	                      (int)ci->tuple.remote_port, "recv_q", (json_int_t)ci->recv_q,
	                      "send_q", (json_int_t)ci->send_q, "orphan", ci->orphan);
	if (!o)
		return NULL;
	json_object_set_new(o, "sock", ci->sock >= 0 ? json_integer(ci->sock) : json_null());
	if (ci->state == GT_TCP_LISTEN) {
		json_object_set_new(o, "syn_queue", json_integer(ci->syn_queue));
		json_object_set_new(o, "accept_queue", json_integer(ci->accept_queue));
		json_object_set_new(o, "backlog", json_integer(ci->backlog));
		return o;
	}
	json_t *t = json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rtt_us", (json_int_t)ci->rtt_us,
	    "rttvar_us", (json_int_t)ci->rttvar_us, "rto_us", (json_int_t)ci->rto_us, "mss",
	    (json_int_t)ci->snd_mss, "cwnd", (json_int_t)ci->snd_cwnd, "retransmits",
	    (json_int_t)ci->retransmits, "total_retrans", (json_int_t)ci->total_retrans,
	    "bytes_acked", (json_int_t)ci->bytes_acked, "bytes_received",
	    (json_int_t)ci->bytes_received);
	json_object_update(o, t);
	json_decref(t);
	json_object_set_new(o, "ssthresh",
	                    ci->snd_ssthresh == UINT32_MAX ? json_null()
	                                                   : json_integer(ci->snd_ssthresh));
	return o;
}

static void conn_json_add(void *user, const gt_conn_info *ci)
{
	json_array_append_new(user, conn_json(ci));
}

#endif /* GT_HAVE_JANSSON */

int stats_render(FILE *f, const gt_stack *st, const char *title, unsigned what, bool json)
{
	const gt_stack_counters *sc = gt_stack_get_counters(st);
	if (!json) {
		if (what & STATS_COUNTERS)
			counters_text(f, sc, title);
		if (what & STATS_CONNS)
			conns_text(f, st);
		return ferror(f) ? -1 : 0;
	}
#ifndef GT_HAVE_JANSSON
	fprintf(f, "error: --json needs glasstcp built with jansson (apt-get install "
	           "libjansson-dev)\n");
	return -1;
#else
	json_t *o = json_object();
	if (o && (what & STATS_COUNTERS))
		json_object_set_new(o, "counters", counters_json(sc));
	if (o && (what & STATS_CONNS)) {
		json_t *a = json_array();
		gt_stack_foreach_conn(st, conn_json_add, a);
		json_object_set_new(o, "connections", a);
	}
	int rc = o ? json_dumpf(o, f, JSON_COMPACT) : -1;
	json_decref(o);
	if (rc == 0)
		fputc('\n', f);
	return rc < 0 || ferror(f) ? -1 : 0;
#endif
}
