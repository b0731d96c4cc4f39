/* Every connection of a stack as `ss -tin` lists them
 * (gt_stack_foreach_conn): the tuple, the state, the queues, and what
 * gt_sock_get_info (sockinfo.c) tells of it, with or without a socket. */
#include "stack/stack_impl.h"

#include <string.h>

static void conn_info(const gt_stack *st, const gt_tcb *tcb, gt_conn_info *ci)
{
	gt_sock_info si;
	gt_stack_tcb_info(st, tcb, &si);
	memset(ci, 0, sizeof *ci);
	ci->tuple = tcb->tuple;
	ci->state = tcb->state;
	ci->sock = tcb->sock;
	ci->orphan = gt_tcb_orphan(tcb);
	if (tcb->state == GT_TCP_LISTEN) {
		ci->syn_queue = tcb->syn_len;
		ci->accept_queue = tcb->acq_len;
		ci->backlog = tcb->backlog;
	} else {
		ci->recv_q = si.unread;
		/* sndbuf holds the bytes from SND.UNA on: in flight, then unsent */
		ci->send_q = (uint32_t)tcb->sndbuf.len;
	}
	ci->rtt_us = si.rtt_us;
	ci->rttvar_us = si.rttvar_us;
	ci->rto_us = si.rto_us;
	ci->snd_mss = si.snd_mss;
	ci->snd_cwnd = si.snd_cwnd;
	ci->snd_ssthresh = si.snd_ssthresh;
	ci->retransmits = si.retransmits;
	ci->total_retrans = si.total_retrans;
	ci->bytes_acked = si.bytes_acked;
	ci->bytes_received = si.bytes_received;
}

size_t gt_stack_foreach_conn(const gt_stack *st, gt_conn_fn fn, void *user)
{
	size_t n = 0;
	/* oldest first: new TCBs go to the front of the list */
	const gt_tcb *last = st->all;
	while (last && last->all_next)
		last = last->all_next;
	for (const gt_tcb *t = last; t; t = t->all_prev) {
		if (t->state == GT_TCP_CLOSED)
			continue;
		gt_conn_info ci;
		conn_info(st, t, &ci);
		fn(user, &ci);
		n++;
	}
	return n;
}
