/* Orphans: connections the application closed (close() released the socket)
 * that still wait for the peer to take their data or FIN, in FIN_WAIT_1,
 * CLOSING or LAST_ACK (gt_tcb_orphan). Nobody will ever read their error, so
 * a peer must not be able to hold them without limit:
 *   - the engine gives an orphan orphan_retries retransmissions or
 *     zero-window probes, answered or not, then sends RST (output.c; Linux's
 *     tcp_orphan_retries);
 *   - the stack keeps at most max_orphans of them, on an age list like the
 *     TIME_WAIT one; one more resets the oldest (Linux's tcp_max_orphans,
 *     which resets the socket being closed instead). */
#include "stack/stack_impl.h"

void gt_stack_orphan_config(gt_stack_config *cfg)
{
	/* Linux's tcp_orphan_retries: 0 means 8 ("8 corresponds to >100 seconds
	 * with minimal RTO of 200msec", tcp_timer.c) */
	if (cfg->orphan_retries == 0)
		cfg->orphan_retries = 8;
	/* Linux's tcp_max_orphans defaults to half the established hash
	 * (tcp_init: cnt / 2); ours to half the connections */
	if (cfg->max_orphans == 0)
		cfg->max_orphans = cfg->max_conns / 2;
	if (cfg->max_orphans == 0)
		cfg->max_orphans = 1; /* the newest orphan is never the one reset */
}

static void orphan_add(gt_stack *st, gt_tcb *tcb)
{
	tcb->orphan_next = NULL;
	tcb->orphan_prev = st->orphan_tail;
	if (st->orphan_tail)
		st->orphan_tail->orphan_next = tcb;
	else
		st->orphan_head = tcb;
	st->orphan_tail = tcb;
	tcb->in_orphans = true;
	st->orphan_count++;
}

void gt_stack_orphan_remove(gt_stack *st, gt_tcb *tcb)
{
	if (!tcb->in_orphans)
		return;
	if (tcb->orphan_prev)
		tcb->orphan_prev->orphan_next = tcb->orphan_next;
	else
		st->orphan_head = tcb->orphan_next;
	if (tcb->orphan_next)
		tcb->orphan_next->orphan_prev = tcb->orphan_prev;
	else
		st->orphan_tail = tcb->orphan_prev;
	tcb->orphan_prev = tcb->orphan_next = NULL;
	tcb->in_orphans = false;
	st->orphan_count--;
}

void gt_stack_orphan_update(gt_stack *st, gt_tcb *tcb, gt_time_us now)
{
	if (!gt_tcb_orphan(tcb) || tcb->parent) {
		gt_stack_orphan_remove(st, tcb);
		return;
	}
	if (tcb->in_orphans)
		return; /* FIN_WAIT_1 -> CLOSING keeps its age */
	orphan_add(st, tcb);
	/* One orphan too many: the oldest goes, as the oldest TIME_WAIT goes
	 * when the stack is full. It sends RST (the peer, alive or not, may
	 * free its side too) and leaves the list as it enters CLOSED. tcb is
	 * the newest and max_orphans >= 1, so it is never the one reset. */
	while (st->orphan_count > st->cfg.max_orphans && st->orphan_head != tcb) {
		st->counters.orphans_reset_overflow++;
		gt_tcb_reset(st->orphan_head, "max_orphans", now);
	}
}
