/* The device between packetdrill and the stack: packets in at the current
 * virtual time; packets out queued with the time they left, handed to
 * netdev_receive, which lets virtual time run to the next timer while the
 * queue is empty. */
#include "packetdrill/adapter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Real time netdev_receive gives another thread to send something when the
 * stack has no timer. */
#define PD_RECEIVE_REAL_WAIT_NS (100 * 1000000L)

void pd_output(void *user, const uint8_t *pkt, size_t len)
{
	pd_adapter *a = user;
	if (a->out_count >= PD_OUT_QUEUE_MAX) {
		a->out_dropped++; /* bounded: nobody is reading them */
		return;
	}
	pd_packet *p = malloc(sizeof(*p) + len);
	if (!p) {
		a->out_dropped++;
		return;
	}
	p->next = NULL;
	p->sent_at = a->now;
	p->len = len;
	memcpy(p->data, pkt, len);
	if (a->out_tail)
		a->out_tail->next = p;
	else
		a->out_head = p;
	a->out_tail = p;
	a->out_count++;
}

void pd_queue_free(pd_adapter *a)
{
	while (a->out_head) {
		pd_packet *p = a->out_head;
		a->out_head = p->next;
		free(p);
	}
	a->out_tail = NULL;
	a->out_count = 0;
}

int pd_netdev_send(void *userdata, const void *buf, size_t count)
{
	pd_adapter *a = userdata;
	if (!buf) {
		errno = EFAULT;
		return -1;
	}
	pthread_mutex_lock(&a->mu);
	a->activity++;
	gt_stack_input(a->st, buf, count, a->now);
	pd_broadcast(a);
	pthread_mutex_unlock(&a->mu);
	return 0;
}

static pd_packet *pop(pd_adapter *a)
{
	pd_packet *p = a->out_head;
	if (!p)
		return NULL;
	a->out_head = p->next;
	if (!a->out_head)
		a->out_tail = NULL;
	a->out_count--;
	return p;
}

/* Gives up: a message, and an empty packet, which packetdrill's parser takes
 * as bad ("IP header overflows packet"), failing the script. (-1 would make
 * packetdrill ask again, forever.) */
static int give_up(size_t *count, const char *why, gt_time_us since, gt_time_us now)
{
	fprintf(stderr,
	        "libglasstcp_packetdrill: no outbound packet: %s (waited %.3f s of virtual "
	        "time)\n",
	        why, (double)(now - since) / 1e6);
	*count = 0;
	return 0;
}

int pd_netdev_receive(void *userdata, void *buf, size_t *count, long long *time_usecs)
{
	pd_adapter *a = userdata;
	if (!buf || !count || !time_usecs) {
		errno = EFAULT;
		return -1;
	}
	pthread_mutex_lock(&a->mu);
	gt_time_us since = a->now;
	pd_packet *p;
	int r = 0;
	while (!(p = pop(a))) {
		/* a call woken by the last change may send before the clock moves */
		if (pd_await_returner(a))
			continue;
		gt_time_us d = gt_stack_next_deadline(a->st);
		if (d != GT_TIME_NEVER && d > since + PD_RECEIVE_GIVE_UP) {
			r = give_up(count,
			            "the stack's next timer is more than 3 hours away, and "
			            "nothing is sent before it",
			            since, a->now);
			break;
		}
		if (d == GT_TIME_NEVER) {
			/* no timer will send anything; another thread's call may
			 * still: give it a moment of real time (and move nothing:
			 * what it sends leaves now) */
			uint64_t seen = a->activity;
			pd_wait_real(a, PD_RECEIVE_REAL_WAIT_NS);
			if (!a->out_head && a->activity == seen &&
			    gt_stack_next_deadline(a->st) == GT_TIME_NEVER) {
				r = give_up(count, "the stack has nothing to send and no timer",
				            since, a->now);
				break;
			}
			continue;
		}
		pd_advance_to(a, d);
	}
	if (p) {
		size_t n = p->len < *count ? p->len : *count;
		memcpy(buf, p->data, n);
		*count = n;
		*time_usecs = (long long)p->sent_at;
		free(p);
	}
	pd_call_returns(a); /* (its end time is not measured: keeps the flag tidy) */
	pthread_mutex_unlock(&a->mu);
	return r;
}
