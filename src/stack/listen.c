/* Listeners: SEGMENT ARRIVES in LISTEN (RFC 9293 §3.10.7.2), the SYN queue
 * and the accept queue. Each SYN creates a child TCB in SYN_RECEIVED; once the
 * handshake completes it waits in the accept queue for gt_accept(). */
#include "stack/stack_impl.h"
#include "tcp/cc.h"
#include "tcp/isn.h"

#include <errno.h>

static uint32_t choose_isn(gt_stack *st, const gt_conn_tuple *c, gt_time_us now)
{
	if (st->cfg.isn_fn)
		return st->cfg.isn_fn(st->cfg.isn_user, c, now);
	return gt_isn_generate(st->cfg.isn_key, c, now);
}

void gt_tcb_init_sequence(gt_tcb *tcb, gt_time_us now)
{
	tcb->iss = choose_isn(tcb->st, &tcb->tuple, now);
	tcb->snd_una = tcb->iss;
	tcb->snd_nxt = tcb->iss;
	tcb->snd_max = tcb->iss;
	tcb->snd_buf_seq = tcb->iss + 1;
	tcb->recover = tcb->iss;
	tcb->high_rxt = tcb->iss;
	tcb->opened = true;
}

static void link_child(gt_tcb *lst, gt_tcb *child)
{
	child->parent = lst;
	child->child_prev = NULL;
	child->child_next = lst->children;
	if (lst->children)
		lst->children->child_prev = child;
	lst->children = child;
	lst->syn_len++;
}

void gt_listen_input(gt_tcb *lst, const gt_segment *seg, gt_time_us now)
{
	gt_stack *st = lst->st;
	/* first: an RST is ignored */
	if (seg->flags & GT_TCP_RST) {
		gt_stack_drop(st, GT_DROP_LISTEN_BAD, lst, seg, NULL, 0, now);
		return;
	}
	/* second: any ACK is bad here: <SEQ=SEG.ACK><CTL=RST> */
	if (seg->flags & GT_TCP_ACK) {
		gt_stack_drop(st, GT_DROP_LISTEN_BAD, lst, seg, NULL, 0, now);
		gt_stack_send_reset_for(st, seg, now);
		return;
	}
	/* fourth: other text or control without SYN is dropped */
	if (!(seg->flags & GT_TCP_SYN)) {
		gt_stack_drop(st, GT_DROP_LISTEN_BAD, lst, seg, NULL, 0, now);
		return;
	}
	/* third: the SYN. Queues are bounded; without SYN cookies a full queue
	 * drops the SYN and the peer retries. */
	if (lst->syn_len >= lst->backlog) {
		gt_stack_drop(st, GT_DROP_SYN_QUEUE_FULL, lst, seg, NULL, 0, now);
		return;
	}
	if (lst->acq_len >= lst->backlog) {
		gt_stack_drop(st, GT_DROP_ACCEPT_QUEUE_FULL, lst, seg, NULL, 0, now);
		return;
	}
	gt_tcb *child = gt_tcb_new(st);
	if (!child && gt_stack_tw_recycle(st, now))
		child = gt_tcb_new(st);
	if (!child || gt_tcb_alloc_buffers(child) < 0) {
		if (child)
			gt_tcb_free(child);
		gt_stack_drop(st, GT_DROP_CONN_LIMIT, lst, seg, NULL, 0, now);
		return;
	}
	child->tuple = gt_seg_tuple(seg);
	child->passive = true;
	/* the listener's keep-alive setting goes to its connections (as Linux) */
	child->ka_on = lst->ka_on;
	child->ka_idle_us = lst->ka_idle_us;
	child->ka_intvl_us = lst->ka_intvl_us;
	child->ka_probes = lst->ka_probes;
	child->state = GT_TCP_LISTEN; /* the child is the listener's copy */
	link_child(lst, child);
	gt_stack_hash_insert(st, child);
	child->irs = seg->seq;
	child->rcv_nxt = seg->seq + 1;
	child->rcv_adv = child->rcv_nxt;
	gt_tcb_init_sequence(child, now);
	uint16_t peer_mss = seg->opts.has_mss ? seg->opts.mss : 536; /* RFC 9293 §3.7.1 */
	if (peer_mss < 64)
		peer_mss = 64;
	child->snd_mss = peer_mss < st->cfg.mss ? peer_mss : st->cfg.mss;
	gt_tcb_negotiate(child, seg, now); /* RFC 7323, RFC 2018: the SYN's options */
	child->snd_wnd = seg->wnd;         /* RFC 7323 §2.2: a SYN's window is never scaled */
	child->max_snd_wnd = seg->wnd;
	child->snd_wl1 = seg->seq;
	gt_cc_init(child);
	gt_tcb_set_state(child, GT_TCP_SYN_RECEIVED, "rcv SYN", now);
	/* <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. Text on the SYN is not
	 * acknowledged, so the peer sends it again after the handshake. */
	gt_tcb_send_syn(child, false, now);
}

bool gt_listen_child_established(gt_tcb *child)
{
	gt_tcb *lst = child->parent;
	if (lst->acq_len >= lst->backlog)
		return false;
	lst->syn_len--;
	lst->acq_len++;
	child->in_acq = true;
	child->acq_next = NULL;
	if (lst->acq_tail)
		lst->acq_tail->acq_next = child;
	else
		lst->acq_head = child;
	lst->acq_tail = child;
	return true;
}

void gt_listen_child_detach(gt_tcb *child)
{
	gt_tcb *lst = child->parent;
	if (child->child_prev)
		child->child_prev->child_next = child->child_next;
	else
		lst->children = child->child_next;
	if (child->child_next)
		child->child_next->child_prev = child->child_prev;
	if (child->in_acq) {
		gt_tcb **pp = &lst->acq_head;
		gt_tcb *prev = NULL;
		while (*pp && *pp != child) {
			prev = *pp;
			pp = &(*pp)->acq_next;
		}
		if (*pp)
			*pp = child->acq_next;
		if (lst->acq_tail == child)
			lst->acq_tail = prev;
		lst->acq_len--;
		child->in_acq = false;
	} else {
		lst->syn_len--;
	}
	child->parent = NULL;
	child->child_prev = child->child_next = child->acq_next = NULL;
}

void gt_listen_close(gt_tcb *lst, gt_time_us now)
{
	/* Connections never accepted are reset: nobody will ever read them. */
	while (lst->children) {
		gt_tcb *child = lst->children;
		if (child->state != GT_TCP_SYN_RECEIVED)
			gt_tcb_reset(child, "listener closed", now);
		else
			gt_tcb_close(child, 0, "listener closed", now);
	}
}
