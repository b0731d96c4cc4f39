/* Listeners: SEGMENT ARRIVES in LISTEN (RFC 9293 §3.10.7.2), the SYN queue
 * and the accept queue. Each SYN creates a child TCB, which the engine takes
 * to SYN_RECEIVED (gt_tcb_passive_open); once the handshake completes it waits
 * in the accept queue for gt_accept(). */
#include "stack/stack_impl.h"

#include <errno.h>

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

/* A listener's socket options go to its connections, as with BSD sockets:
 * keep-alive, Nagle, MSS, buffer sizes, user timeout, linger. */
static void inherit_settings(gt_tcb *child, const gt_tcb *lst)
{
	child->ka_on = lst->ka_on;
	child->ka_idle_us = lst->ka_idle_us;
	child->ka_intvl_us = lst->ka_intvl_us;
	child->ka_probes = lst->ka_probes;
	child->nodelay = lst->nodelay;
	child->user_mss = lst->user_mss;
	child->sndbuf_size = lst->sndbuf_size;
	child->rcvbuf_size = lst->rcvbuf_size;
	child->user_timeout_us = lst->user_timeout_us;
	child->linger_on = lst->linger_on;
	child->linger_us = lst->linger_us;
	child->reuseaddr = lst->reuseaddr;
}

void gt_listen_input(gt_stack *st, gt_tcb *lst, const gt_segment *seg, gt_time_us now)
{
	/* first: an RST is ignored */
	if (seg->flags & GT_TCP_RST) {
		gt_stack_drop(st, GT_DROP_LISTEN_BAD, lst, seg, NULL, 0, now);
		return;
	}
	/* second: any ACK is bad here: <SEQ=SEG.ACK><CTL=RST> */
	if (seg->flags & GT_TCP_ACK) {
		gt_stack_drop(st, GT_DROP_LISTEN_BAD, lst, seg, NULL, 0, now);
		gt_tcp_send_reset_for(&st->env, seg, now);
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
	gt_tcb *child = gt_stack_new_tcb(st);
	if (!child && gt_stack_tw_recycle(st, now))
		child = gt_stack_new_tcb(st);
	if (child)
		inherit_settings(child, lst);
	if (!child || gt_tcb_alloc_buffers(child) < 0) {
		if (child)
			gt_stack_free_tcb(st, child);
		gt_stack_drop(st, GT_DROP_CONN_LIMIT, lst, seg, NULL, 0, now);
		return;
	}
	child->tuple = gt_seg_tuple(seg);
	link_child(lst, child);
	gt_stack_hash_insert(st, child);
	gt_tcb_passive_open(child, seg, now);
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

gt_tcb *gt_listen_accept(gt_tcb *lst)
{
	gt_tcb *child = lst->acq_head;
	if (child)
		gt_listen_child_detach(child);
	return child;
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
