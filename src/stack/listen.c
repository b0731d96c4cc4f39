/* Listeners: SEGMENT ARRIVES in LISTEN (RFC 9293 §3.10.7.2), the SYN queue
 * and the accept queue. Each SYN creates a child TCB, which the engine takes
 * to SYN_RECEIVED (gt_tcb_passive_open); once the handshake completes it waits
 * in the accept queue for gt_accept(). */
#include "stack/stack_impl.h"
#include "tcp/syncookie.h"

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

/* A TCB for a new connection of lst: within the listeners' share of the
 * stack (a TIME_WAIT connection may give its place), with the listener's
 * settings and the segment's tuple, linked as lst's child. NULL when there
 * is no room. */
static gt_tcb *new_child(gt_stack *st, gt_tcb *lst, const gt_segment *seg, gt_time_us now)
{
	if (st->tcb_count >= st->passive_limit && !gt_stack_tw_recycle(st, now))
		return NULL;
	gt_tcb *child = gt_stack_new_tcb(st);
	if (!child)
		return NULL;
	inherit_settings(child, lst);
	child->tuple = gt_seg_tuple(seg);
	link_child(lst, child);
	gt_stack_hash_insert(st, child);
	return child;
}

/* RFC 4987 §3.6: answer the SYN with a cookie, keeping nothing. */
static void syncookie_reply(gt_stack *st, gt_tcb *lst, const gt_segment *syn, gt_time_us now)
{
	gt_tcb tmp;
	gt_tcb_init(&tmp, &st->env);
	inherit_settings(&tmp, lst);
	tmp.tuple = gt_seg_tuple(syn);
	lst->syncookie_last = now;
	st->tx_syncookie = true;
	gt_tcb_syncookie_reply(&tmp, syn, now);
	st->tx_syncookie = false; /* (it only marks the trace's tx event) */
	st->counters.syncookies_sent++;
}

/* Whether an ACK to lst may carry a cookie: cookies are always on, or lst
 * sent some lately (as Linux, an attacker cannot guess at cookies while the
 * listener is not under a flood). */
static bool syncookies_expected(const gt_stack *st, const gt_tcb *lst, gt_time_us now)
{
	if (st->cfg.syncookies == GT_SYNCOOKIES_ALWAYS)
		return true;
	return st->cfg.syncookies == GT_SYNCOOKIES_ON_OVERFLOW &&
	       lst->syncookie_last != GT_TIME_NEVER &&
	       now - lst->syncookie_last <= GT_SYNCOOKIE_MAX_AGE * GT_SYNCOOKIE_PERIOD_US;
}

/* An ACK (no SYN, no RST) to a listener: the third segment of a handshake
 * answered with a cookie? true when it was taken (or dropped for want of
 * room); false when it is no cookie's. */
static bool syncookie_ack(gt_stack *st, gt_tcb *lst, const gt_segment *seg, gt_time_us now)
{
	if (!syncookies_expected(st, lst, now))
		return false;
	gt_conn_tuple c = gt_seg_tuple(seg);
	gt_syncookie ck;
	if (!gt_syncookie_check(st->cfg.isn_key, &c, seg, st->cfg.timestamps, now, &ck)) {
		st->counters.syncookies_bad++;
		return false;
	}
	/* full: drop the ACK as Linux does; the peer's retransmission of its
	 * data (or of this ACK) carries the cookie again */
	if (lst->acq_len >= lst->backlog) {
		gt_stack_drop(st, GT_DROP_ACCEPT_QUEUE_FULL, lst, seg, NULL, 0, now);
		return true;
	}
	gt_tcb *child = new_child(st, lst, seg, now);
	if (!child) {
		gt_stack_drop(st, GT_DROP_CONN_LIMIT, lst, seg, NULL, 0, now);
		return true;
	}
	st->counters.syncookies_ok++;
	gt_tcb_syncookie_open(child, seg, &ck, now);
	gt_tcb_input(child, seg, now); /* SYN_RECEIVED -> ESTABLISHED, data */
	return true;
}

/* The third step of LISTEN: a SYN. The SYN queue (backlog) and the
 * listeners' share of the stack are bounded; when either is full, a SYN
 * cookie answers (unless off: then the SYN is dropped and the peer retries). */
static void listen_syn(gt_stack *st, gt_tcb *lst, const gt_segment *seg, gt_time_us now)
{
	gt_syncookies_mode mode = st->cfg.syncookies;
	/* a full accept queue takes no more connections, cookies or not */
	if (lst->acq_len >= lst->backlog) {
		gt_stack_drop(st, GT_DROP_ACCEPT_QUEUE_FULL, lst, seg, NULL, 0, now);
		return;
	}
	/* with cookies always on there is no SYN queue at all */
	bool queue_full = mode == GT_SYNCOOKIES_ALWAYS || lst->syn_len >= lst->backlog;
	gt_tcb *child = queue_full ? NULL : new_child(st, lst, seg, now);
	if (child)
		gt_tcb_passive_open(child, seg, now);
	else if (mode != GT_SYNCOOKIES_OFF)
		syncookie_reply(st, lst, seg, now);
	else
		gt_stack_drop(st, queue_full ? GT_DROP_SYN_QUEUE_FULL : GT_DROP_CONN_LIMIT, lst,
		              seg, NULL, 0, now);
}

void gt_listen_input(gt_stack *st, gt_tcb *lst, const gt_segment *seg, gt_time_us now)
{
	/* first: an RST is ignored */
	if (seg->flags & GT_TCP_RST) {
		gt_stack_drop(st, GT_DROP_LISTEN_BAD, lst, seg, NULL, 0, now);
		return;
	}
	/* second: any ACK is bad here: <SEQ=SEG.ACK><CTL=RST>; unless it
	 * completes a handshake answered with a SYN cookie */
	if (seg->flags & GT_TCP_ACK) {
		if (!(seg->flags & GT_TCP_SYN) && syncookie_ack(st, lst, seg, now))
			return;
		gt_stack_drop(st, GT_DROP_LISTEN_BAD, lst, seg, NULL, 0, now);
		gt_tcp_send_reset_for(&st->env, seg, now);
		return;
	}
	/* fourth: other text or control without SYN is dropped */
	if (!(seg->flags & GT_TCP_SYN)) {
		gt_stack_drop(st, GT_DROP_LISTEN_BAD, lst, seg, NULL, 0, now);
		return;
	}
	/* third: the SYN */
	listen_syn(st, lst, seg, now);
}

gt_drop_reason gt_listen_child_established(gt_tcb *child)
{
	gt_tcb *lst = child->parent;
	if (lst->acq_len >= lst->backlog)
		return GT_DROP_ACCEPT_QUEUE_FULL;
	/* a half-open connection holds no buffer (a SYN flood costs a TCB per
	 * SYN, not 128 KiB): it gets them once the peer has proven its address */
	if (gt_tcb_alloc_buffers(child) < 0)
		return GT_DROP_NO_MEMORY;
	lst->syn_len--;
	lst->acq_len++;
	child->in_acq = true;
	child->acq_next = NULL;
	if (lst->acq_tail)
		lst->acq_tail->acq_next = child;
	else
		lst->acq_head = child;
	lst->acq_tail = child;
	return GT_DROP_NONE;
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
