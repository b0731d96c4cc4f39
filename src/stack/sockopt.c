/* Socket options: setsockopt/getsockopt in BSD shape with Linux's numbers
 * (socket.h lists them). Each option is a small reader or writer of a TCB
 * setting; TCP_INFO is made from gt_sock_get_info (sockinfo.c) in the layout
 * of Linux's struct tcp_info. */
#include "stack/stack_impl.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#ifdef __linux__
#include <linux/tcp.h>
#endif

#ifdef __linux__
/* the GT_ numbers are Linux's: on Linux the libc constants are the same */
_Static_assert(GT_SOL_SOCKET == SOL_SOCKET && GT_SO_ERROR == SO_ERROR &&
                   GT_SO_LINGER == SO_LINGER && GT_SO_KEEPALIVE == SO_KEEPALIVE &&
                   GT_SO_REUSEADDR == SO_REUSEADDR && GT_SO_RCVBUF == SO_RCVBUF &&
                   GT_SO_SNDBUF == SO_SNDBUF && GT_SO_TYPE == SO_TYPE,
               "SOL_SOCKET numbers");
_Static_assert(GT_TCP_NODELAY == TCP_NODELAY && GT_TCP_MAXSEG == TCP_MAXSEG &&
                   GT_TCP_KEEPIDLE == TCP_KEEPIDLE && GT_TCP_KEEPINTVL == TCP_KEEPINTVL &&
                   GT_TCP_KEEPCNT == TCP_KEEPCNT && GT_TCP_INFO == TCP_INFO &&
                   GT_TCP_CONGESTION == TCP_CONGESTION && GT_TCP_USER_TIMEOUT == TCP_USER_TIMEOUT,
               "IPPROTO_TCP numbers");
#endif

#define GT_TCP_MIN_MSS     88     /* Linux's floor for TCP_MAXSEG */
#define GT_KEEP_SECS_MAX   32767  /* Linux's MAX_TCP_KEEPIDLE/KEEPINTVL */
#define GT_KEEPCNT_MAX     127    /* Linux's MAX_TCP_KEEPCNT */
#define GT_CONGESTION_NAME "reno" /* NewReno, RFC 5681 / RFC 6582 */
#define GT_US_PER_S        1000000ull

/* An int option value: -EINVAL when too short (as Linux). */
static int int_value(const void *val, size_t len, int *out)
{
	if (!val || len < sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

static int put_int(void *val, size_t *len, int v)
{
	if (!val || !len || *len < sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof(int));
	*len = sizeof(int);
	return 0;
}

/* Buffers and MSS are chosen once, when the connection starts. */
static bool not_started(const gt_tcb *tcb)
{
	return tcb->state == GT_TCP_CLOSED && !tcb->opened && !tcb->sndbuf.data;
}

static int set_keepalive_values(gt_stack *st, int s, gt_tcb *tcb, gt_keepalive ka, gt_time_us now)
{
	if (!tcb->ka_on) {
		/* off: kept for when SO_KEEPALIVE turns it on (as Linux) */
		tcb->ka_idle_us = ka.idle_us;
		tcb->ka_intvl_us = ka.intvl_us;
		tcb->ka_probes = ka.probes;
		return 0;
	}
	ka.on = true;
	return gt_sock_set_keepalive(st, s, &ka, now);
}

static int set_socket_level(gt_stack *st, int s, gt_tcb *tcb, int name, const void *val, size_t len,
                            gt_time_us now)
{
	int v = 0;
	if (name == GT_SO_LINGER) {
		struct linger l;
		if (!val || len < sizeof(l))
			return -EINVAL;
		memcpy(&l, val, sizeof(l));
		tcb->linger_on = l.l_onoff != 0;
		tcb->linger_us = l.l_linger > 0 ? (gt_time_us)l.l_linger * GT_US_PER_S : 0;
		return 0;
	}
	switch (name) {
	case GT_SO_KEEPALIVE:
	case GT_SO_REUSEADDR:
	case GT_SO_RCVBUF:
	case GT_SO_SNDBUF:
		break;
	default:
		return -ENOPROTOOPT;
	}
	int r = int_value(val, len, &v);
	if (r < 0)
		return r;
	if (name == GT_SO_KEEPALIVE) {
		gt_keepalive ka = {.on = v != 0,
		                   .idle_us = tcb->ka_idle_us,
		                   .intvl_us = tcb->ka_intvl_us,
		                   .probes = tcb->ka_probes};
		return gt_sock_set_keepalive(st, s, &ka, now);
	}
	if (name == GT_SO_REUSEADDR) {
		tcb->reuseaddr = v != 0;
		return 0;
	}
	if (v < (int)GT_SOCKBUF_MIN || (uint32_t)v > GT_SOCKBUF_MAX)
		return -EINVAL;
	if (!not_started(tcb))
		return -EISCONN;
	if (name == GT_SO_SNDBUF) {
		tcb->sndbuf_size = (uint32_t)v;
	} else {
		/* as gt_stack_create does: 64 KiB is offered unscaled, as 65535,
		 * unless the stack scales its windows anyway */
		tcb->rcvbuf_size = v == 65536 && st->cfg.rcvbuf_max <= 65536 ? 65535 : (uint32_t)v;
		/* RFC 7323 §2.3: the shift a SYN will offer follows the buffer */
		if (st->cfg.window_scaling)
			tcb->rcv_wscale = gt_tcb_offered_wscale(tcb);
	}
	return 0;
}

static int set_keepalive_option(gt_stack *st, int s, gt_tcb *tcb, int name, int v, gt_time_us now)
{
	gt_keepalive ka = {.on = true,
	                   .idle_us = tcb->ka_idle_us,
	                   .intvl_us = tcb->ka_intvl_us,
	                   .probes = tcb->ka_probes};
	if (name == GT_TCP_KEEPCNT) {
		if (v < 1 || v > GT_KEEPCNT_MAX)
			return -EINVAL;
		ka.probes = (uint32_t)v;
	} else {
		if (v < 1 || v > GT_KEEP_SECS_MAX)
			return -EINVAL;
		gt_time_us t = (gt_time_us)v * GT_US_PER_S;
		if (name == GT_TCP_KEEPIDLE)
			ka.idle_us = t;
		else
			ka.intvl_us = t;
	}
	return set_keepalive_values(st, s, tcb, ka, now);
}

static int set_congestion(const void *val, size_t len)
{
	char name[16] = {0};
	if (!val || len == 0)
		return -EINVAL;
	memcpy(name, val, len < sizeof(name) - 1 ? len : sizeof(name) - 1);
	return strcmp(name, GT_CONGESTION_NAME) == 0 ? 0 : -ENOENT;
}

static int set_tcp_level(gt_stack *st, int s, gt_tcb *tcb, int name, const void *val, size_t len,
                         gt_time_us now)
{
	int v = 0;
	switch (name) {
	case GT_TCP_CONGESTION:
		return set_congestion(val, len);
	case GT_TCP_NODELAY:
	case GT_TCP_MAXSEG:
	case GT_TCP_KEEPIDLE:
	case GT_TCP_KEEPINTVL:
	case GT_TCP_KEEPCNT:
	case GT_TCP_USER_TIMEOUT:
		break;
	default:
		return -ENOPROTOOPT;
	}
	int r = int_value(val, len, &v);
	if (r < 0)
		return r;
	switch (name) {
	case GT_TCP_NODELAY:
		tcb->nodelay = v != 0;
		/* RFC 9293 §3.7.4: what Nagle held back may go now */
		if (tcb->nodelay && gt_state_synchronized(tcb->state))
			gt_tcb_output(tcb, now);
		return 0;
	case GT_TCP_MAXSEG:
		if (v < GT_TCP_MIN_MSS || v > 65535)
			return -EINVAL;
		if (!not_started(tcb) && tcb->state != GT_TCP_LISTEN)
			return -EISCONN;
		tcb->user_mss = (uint16_t)v;
		return 0;
	case GT_TCP_USER_TIMEOUT:
		if (v < 0)
			return -EINVAL;
		tcb->user_timeout_us = (gt_time_us)(unsigned)v * 1000;
		return 0;
	default:
		return set_keepalive_option(st, s, tcb, name, v, now);
	}
}

int gt_setsockopt(gt_stack *st, int s, int level, int name, const void *val, size_t len,
                  gt_time_us now)
{
	gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	if (level == GT_SOL_SOCKET)
		return set_socket_level(st, s, tcb, name, val, len, now);
	if (level == GT_IPPROTO_TCP)
		return set_tcp_level(st, s, tcb, name, val, len, now);
	return -ENOPROTOOPT;
}

static int get_socket_level(gt_stack *st, int s, gt_tcb *tcb, int name, void *val, size_t *len)
{
	switch (name) {
	case GT_SO_ERROR: {
		if (!val || !len || *len < sizeof(int))
			return -EINVAL;
		/* Linux: the connection's error, else the last ICMP soft error
		 * (RFC 1122 §4.2.3.9), each taken */
		int e = gt_sock_error(st, s);
		if (e == 0)
			e = gt_sock_soft_error(st, s);
		return put_int(val, len, -e);
	}
	case GT_SO_LINGER: {
		struct linger l = {.l_onoff = tcb->linger_on,
		                   .l_linger = (int)(tcb->linger_us / GT_US_PER_S)};
		if (!val || !len || *len < sizeof(l))
			return -EINVAL;
		memcpy(val, &l, sizeof(l));
		*len = sizeof(l);
		return 0;
	}
	case GT_SO_KEEPALIVE:
		return put_int(val, len, tcb->ka_on);
	case GT_SO_REUSEADDR:
		return put_int(val, len, tcb->reuseaddr);
	case GT_SO_RCVBUF:
		return put_int(val, len,
		               (int)(tcb->rcvbuf.data ? tcb->rcvbuf.cap : tcb->rcvbuf_size));
	case GT_SO_SNDBUF:
		return put_int(val, len,
		               (int)(tcb->sndbuf.data ? tcb->sndbuf.cap : tcb->sndbuf_size));
	case GT_SO_TYPE:
		return put_int(val, len, SOCK_STREAM);
	default:
		return -ENOPROTOOPT;
	}
}

#ifdef __linux__
/* Linux's tcpi_state numbering (include/net/tcp_states.h) */
static uint8_t linux_state(gt_tcp_state s)
{
	static const uint8_t map[GT_TCP_STATE_COUNT] = {
	    [GT_TCP_CLOSED] = 7,       [GT_TCP_LISTEN] = 10,     [GT_TCP_SYN_SENT] = 2,
	    [GT_TCP_SYN_RECEIVED] = 3, [GT_TCP_ESTABLISHED] = 1, [GT_TCP_FIN_WAIT_1] = 4,
	    [GT_TCP_FIN_WAIT_2] = 5,   [GT_TCP_CLOSE_WAIT] = 8,  [GT_TCP_CLOSING] = 11,
	    [GT_TCP_LAST_ACK] = 9,     [GT_TCP_TIME_WAIT] = 6};
	return s < GT_TCP_STATE_COUNT ? map[s] : 7;
}

static uint32_t clamp32(gt_time_us v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static int get_tcp_info(const gt_stack *st, int s, void *val, size_t *len)
{
	gt_sock_info in;
	int r = gt_sock_get_info(st, s, &in);
	if (r < 0)
		return r;
	if (!val || !len)
		return -EINVAL;
	struct tcp_info ti;
	memset(&ti, 0, sizeof(ti));
	ti.tcpi_state = linux_state(in.state);
	ti.tcpi_retransmits = (uint8_t)(in.retransmits > 255 ? 255 : in.retransmits);
	ti.tcpi_backoff = (uint8_t)(in.backoff > 255 ? 255 : in.backoff);
	if (in.options & GT_INFO_TIMESTAMPS)
		ti.tcpi_options |= TCPI_OPT_TIMESTAMPS;
	if (in.options & GT_INFO_SACK)
		ti.tcpi_options |= TCPI_OPT_SACK;
	if (in.options & GT_INFO_WSCALE) {
		ti.tcpi_options |= TCPI_OPT_WSCALE;
		ti.tcpi_snd_wscale = in.snd_wscale & 0xf;
		ti.tcpi_rcv_wscale = in.rcv_wscale & 0xf;
	}
	ti.tcpi_rto = clamp32(in.rto_us);
	ti.tcpi_ato = clamp32(in.ato_us);
	ti.tcpi_snd_mss = in.snd_mss;
	ti.tcpi_rcv_mss = in.rcv_mss;
	ti.tcpi_unacked = in.unacked;
	ti.tcpi_sacked = in.sacked;
	ti.tcpi_lost = in.lost;
	ti.tcpi_retrans = in.retrans;
	ti.tcpi_rtt = clamp32(in.rtt_us);
	ti.tcpi_rttvar = clamp32(in.rttvar_us);
	ti.tcpi_snd_ssthresh = in.snd_ssthresh;
	ti.tcpi_snd_cwnd = in.snd_cwnd;
	ti.tcpi_advmss = in.rcv_mss;
	ti.tcpi_reordering = in.reordering;
	ti.tcpi_rcv_space = in.rcv_space;
	ti.tcpi_total_retrans = in.total_retrans;
	ti.tcpi_snd_wnd = in.snd_wnd;
	ti.tcpi_notsent_bytes = in.unsent;
	ti.tcpi_probes = (uint8_t)(in.probes > 255 ? 255 : in.probes);
	ti.tcpi_last_ack_recv = clamp32(in.since_recv_us / 1000);
	ti.tcpi_last_data_sent = clamp32(in.since_data_sent_us / 1000);
	ti.tcpi_last_data_recv = clamp32(in.since_data_recv_us / 1000);
	ti.tcpi_bytes_acked = in.bytes_acked;
	ti.tcpi_bytes_received = in.bytes_received;
	ti.tcpi_bytes_sent = in.bytes_sent;
	ti.tcpi_bytes_retrans = in.bytes_retrans;
	ti.tcpi_segs_out = in.segs_out;
	ti.tcpi_segs_in = in.segs_in;
	ti.tcpi_data_segs_out = in.data_segs_out;
	ti.tcpi_data_segs_in = in.data_segs_in;
	size_t n = *len < sizeof(ti) ? *len : sizeof(ti);
	memcpy(val, &ti, n);
	*len = n;
	return 0;
}
#endif

static int get_tcp_level(gt_stack *st, int s, gt_tcb *tcb, int name, void *val, size_t *len)
{
	switch (name) {
	case GT_TCP_NODELAY:
		return put_int(val, len, tcb->nodelay);
	case GT_TCP_MAXSEG: {
		/* the effective send MSS once synchronized, else what we announce */
		gt_sock_info in;
		gt_sock_get_info(st, s, &in);
		bool synced = gt_state_synchronized(tcb->state);
		return put_int(val, len, (int)(synced ? in.snd_mss : in.rcv_mss));
	}
	case GT_TCP_KEEPIDLE:
		return put_int(val, len, (int)(tcb->ka_idle_us / GT_US_PER_S));
	case GT_TCP_KEEPINTVL:
		return put_int(val, len, (int)(tcb->ka_intvl_us / GT_US_PER_S));
	case GT_TCP_KEEPCNT:
		return put_int(val, len, (int)tcb->ka_probes);
	case GT_TCP_USER_TIMEOUT:
		return put_int(val, len, (int)(tcb->user_timeout_us / 1000));
	case GT_TCP_CONGESTION: {
		if (!val || !len)
			return -EINVAL;
		size_t n = sizeof(GT_CONGESTION_NAME); /* with its NUL */
		n = *len < n ? *len : n;
		memcpy(val, GT_CONGESTION_NAME, n);
		*len = n;
		return 0;
	}
#ifdef __linux__
	case GT_TCP_INFO:
		return get_tcp_info(st, s, val, len);
#endif
	default:
		return -ENOPROTOOPT;
	}
}

int gt_getsockopt(gt_stack *st, int s, int level, int name, void *val, size_t *len)
{
	gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	if (level == GT_SOL_SOCKET)
		return get_socket_level(st, s, tcb, name, val, len);
	if (level == GT_IPPROTO_TCP)
		return get_tcp_level(st, s, tcb, name, val, len);
	return -ENOPROTOOPT;
}
