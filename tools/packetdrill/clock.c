/* The virtual clock. The real time is read only to bound waits for other
 * threads: to notice that no one is moving the virtual clock
 * (pd_wait_change), or that a returning call has read it (pd_await_returner).
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
#define PD_IDLE_REAL_NS (50 * 1000000L)
/* How long a big clock step waits for a returning call's thread to read
 * the clock (real time; packetdrill's thread needs microseconds). */
#define PD_RETURNER_WAIT_NS (50 * 1000000L)

/* How long a sleeping call with nothing to wait for (no timer, no deadline
 * of its own, no other thread active) waits before it fails. */
#define PD_STUCK_REAL_NS (5 * 1000000000L)

/* Did this thread sleep in the call it is making? How many idle rounds in a
 * row has it slept with nothing able to wake it? */
static _Thread_local bool thread_slept;
static _Thread_local unsigned stuck_rounds;

/* Timer runs per clock move: a deadline that never moves is a stack bug, not
 * a reason to hang. */
#define PD_MAX_TIMER_RUNS 1000000

void pd_broadcast(pd_adapter *a)
{
	a->wake_at = GT_TIME_NEVER;
	a->unwoken = a->sleeping;
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
			fprintf(stderr,
			        "libglasstcp_packetdrill: the stack's deadline %llu us "
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

void pd_wait_real(pd_adapter *a, long ns)
{
	struct timespec ts = real_deadline(ns);
	a->movers_waiting++;
	pthread_cond_timedwait(&a->changed, &a->mu, &ts);
	a->movers_waiting--;
}

void pd_call_returns(pd_adapter *a)
{
	if (!thread_slept)
		return;
	thread_slept = false;
	stuck_rounds = 0;
	a->returner_pending = true;
	a->returner = pthread_self();
}

static bool others_to_wait_for(const pd_adapter *a)
{
	bool returner = a->returner_pending && !pthread_equal(a->returner, pthread_self());
	return returner || a->unwoken > 0;
}

bool pd_await_returner(pd_adapter *a)
{
	if (!others_to_wait_for(a)) {
		a->returner_pending = false;
		return false;
	}
	struct timespec ts = real_deadline(PD_RETURNER_WAIT_NS);
	a->movers_waiting++;
	while (others_to_wait_for(a))
		if (pthread_cond_timedwait(&a->changed, &a->mu, &ts) == ETIMEDOUT)
			break;
	a->movers_waiting--;
	a->returner_pending = false;
	a->unwoken = 0;
	return true;
}

int pd_wait_change(pd_adapter *a, gt_time_us own_deadline)
{
	if (own_deadline <= a->now)
		return PD_WAIT_DEADLINE;
	thread_slept = true;
	if (own_deadline < a->wake_at)
		a->wake_at = own_deadline;
	uint64_t seen = a->activity;
	struct timespec ts = real_deadline(PD_IDLE_REAL_NS);
	a->sleeping++;
	int r = pthread_cond_timedwait(&a->changed, &a->mu, &ts);
	a->sleeping--;
	if (a->unwoken > 0 && --a->unwoken == 0)
		pthread_cond_broadcast(&a->changed); /* for pd_await_returner */
	if (r == ETIMEDOUT && a->activity == seen && a->movers_waiting == 0) {
		/* no one has moved the clock: the next thing that can happen is
		 * the stack's next timer or this call's own timeout */
		gt_time_us d = gt_stack_next_deadline(a->st);
		gt_time_us target = d < own_deadline ? d : own_deadline;
		if (target != GT_TIME_NEVER) {
			pd_advance_to(a, target);
		} else if (++stuck_rounds >= PD_STUCK_REAL_NS / PD_IDLE_REAL_NS) {
			stuck_rounds = 0;
			fprintf(stderr,
			        "libglasstcp_packetdrill: a blocking call can never return: "
			        "no timer is due and nothing else happens\n");
			return -EDEADLK;
		}
	} else {
		stuck_rounds = 0;
	}
	return a->now >= own_deadline ? PD_WAIT_DEADLINE : PD_WAIT_CHANGED;
}

int pd_gettimeofday(void *userdata, struct timeval *tv, void *tz)
{
	pd_adapter *a = userdata;
	if (!tv) {
		errno = EFAULT;
		return -1;
	}
	pthread_mutex_lock(&a->mu);
	if (a->returner_pending && pthread_equal(a->returner, pthread_self())) {
		a->returner_pending = false; /* the end time of its call: now */
		pthread_cond_broadcast(&a->changed);
	}
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
	pd_await_returner(a);
	pd_advance_to(a, a->now + usec);
	pthread_mutex_unlock(&a->mu);
	return 0;
}
