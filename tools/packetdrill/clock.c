/* The virtual clock. Nothing here reads the real time except to notice that
 * no one is moving the virtual one (pd_wait_change).
 *
 * packetdrill waits for an event's time by calling usleep() for all but the
 * last 20 µs and then spinning on gettimeofday() (run.c, wait_for_event), so
 * each clock reading moves the clock PD_GETTIMEOFDAY_STEP (1 µs) forward: a
 * spin ends after a few readings, and the few µs a script line costs stay far
 * inside packetdrill's 4 ms tolerance. usleep() moves it by the time asked.
 * Whenever the clock passes the stack's deadline the timers run, each at its
 * own deadline, in order. */
#include "packetdrill/adapter.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

/* Real time a sleeping call waits for someone else to move the clock before
 * it moves it itself (packetdrill's main thread may be waiting for it, in
 * await_idle_thread, for up to 1 s). */
#define PD_IDLE_REAL_NS (20 * 1000000L)
/* Timer runs per clock move: a deadline that never moves is a stack bug, not
 * a reason to hang. */
#define PD_MAX_TIMER_RUNS 1000000

void pd_broadcast(pd_adapter *a)
{
	a->wake_at = GT_TIME_NEVER;
	pthread_cond_broadcast(&a->changed);
}

void pd_advance_to(pd_adapter *a, gt_time_us to)
{
	bool fired = false;
	for (int runs = 0;; runs++) {
		gt_time_us d = gt_stack_next_deadline(a->st);
		if (d == GT_TIME_NEVER || d > to)
			break;
		if (runs == PD_MAX_TIMER_RUNS) {
			fprintf(stderr, "libglasstcp_packetdrill: the stack's deadline %llu us "
			                "does not move; timers stopped\n",
			        (unsigned long long)d);
			break;
		}
		if (d > a->now)
			a->now = d;
		gt_stack_on_deadline(a->st, a->now);
		fired = true;
	}
	if (to > a->now)
		a->now = to;
	a->activity++;
	if (fired || a->now >= a->wake_at)
		pd_broadcast(a);
}

static struct timespec real_deadline(long ns_from_now)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ns_from_now;
	while (ts.tv_nsec >= 1000000000L) {
		ts.tv_nsec -= 1000000000L;
		ts.tv_sec++;
	}
	return ts;
}

bool pd_wait_change(pd_adapter *a, gt_time_us own_deadline)
{
	if (own_deadline <= a->now)
		return true;
	if (own_deadline < a->wake_at)
		a->wake_at = own_deadline;
	uint64_t seen = a->activity;
	struct timespec ts = real_deadline(PD_IDLE_REAL_NS);
	int r = pthread_cond_timedwait(&a->changed, &a->mu, &ts);
	if (r == ETIMEDOUT && a->activity == seen) {
		/* no one has moved the clock: the next thing that can happen is
		 * the stack's next timer or this call's own timeout */
		gt_time_us d = gt_stack_next_deadline(a->st);
		gt_time_us target = d < own_deadline ? d : own_deadline;
		if (target != GT_TIME_NEVER)
			pd_advance_to(a, target);
	}
	return a->now >= own_deadline;
}

int pd_gettimeofday(void *userdata, struct timeval *tv, void *tz)
{
	pd_adapter *a = userdata;
	if (!tv) {
		errno = EFAULT;
		return -1;
	}
	pthread_mutex_lock(&a->mu);
	pd_advance_to(a, a->now + PD_GETTIMEOFDAY_STEP);
	tv->tv_sec = (time_t)(a->now / 1000000);
	tv->tv_usec = (suseconds_t)(a->now % 1000000);
	pthread_mutex_unlock(&a->mu);
	return 0;
}

int pd_usleep(void *userdata, useconds_t usec)
{
	pd_adapter *a = userdata;
	pthread_mutex_lock(&a->mu);
	pd_advance_to(a, a->now + usec);
	pthread_mutex_unlock(&a->mu);
	return 0;
}
