/* The thread of blocking calls (run.h). A call written "+0...0.2 accept(...)"
 * starts at the first time and must return at the second; meanwhile the
 * script goes on with the lines in between (packets that make it return).
 * As packetdrill does, the call runs on a second thread, and the main thread
 * goes on once the call has returned or is asleep inside the interface
 * (Linux's /proc/self/task/TID/stat says 'S'): in virtual time it can only
 * return when the main thread moves time or feeds packets. */
#include "script/run.h"

#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* How long (real time) the main thread waits for a blocking call to block
 * or return before going on anyway; packetdrill waits a second. */
#define SETTLE_LIMIT_NSECS 2000000000LL

static void *worker_main(void *arg)
{
	gt_spd_run *r = arg;
	atomic_store(&r->worker_tid, (int)syscall(SYS_gettid));
	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (atomic_load(&r->worker_state) != GT_SPD_WORKER_ENQUEUED && !r->worker_exit)
			pthread_cond_wait(&r->worker_cv, &r->lock);
		if (r->worker_exit)
			break;
		atomic_store(&r->worker_state, GT_SPD_WORKER_RUNNING);
		size_t i = r->worker_event;
		const gt_spd_event *ev = &r->s->event[i];
		char err[512];
		if (gt_spd_run_call(r, i, true) && !r->failed &&
		    !gt_spd_check_time(r, ev->time_kind, r->call_end[i], 0, r->worker_live_end,
		                       r->t[i], "system call return", err, sizeof(err)))
			gt_spd_fail(r, ev->line, "%s", err);
		atomic_store(&r->worker_state, GT_SPD_WORKER_IDLE);
		pthread_cond_broadcast(&r->worker_cv);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Is thread tid asleep ('S' or 'D' in /proc)? */
static bool is_sleeping(int tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *close = strrchr(buf, ')');
	return close && close[1] == ' ' && (close[2] == 'S' || close[2] == 'D');
}

static int64_t real_nsecs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool is_blocked(gt_spd_run *r)
{
	if (atomic_load(&r->worker_state) != GT_SPD_WORKER_RUNNING ||
	    !atomic_load(&r->worker_in_call) || !is_sleeping(atomic_load(&r->worker_tid)))
		return false;
	/* twice, a little apart: not a moment's wait on a lock */
	struct timespec pause = {0, 200000};
	nanosleep(&pause, NULL);
	return atomic_load(&r->worker_in_call) && is_sleeping(atomic_load(&r->worker_tid));
}

/* Waits (r->lock released) until the call returned, or blocks. */
static void wait_returned_or_blocked(gt_spd_run *r)
{
	int64_t deadline = real_nsecs() + SETTLE_LIMIT_NSECS;
	pthread_mutex_unlock(&r->lock);
	while (atomic_load(&r->worker_state) != GT_SPD_WORKER_IDLE && !is_blocked(r) &&
	       real_nsecs() < deadline) {
		struct timespec pause = {0, 50000};
		nanosleep(&pause, NULL);
	}
	pthread_mutex_lock(&r->lock);
}

bool gt_spd_worker_settle(gt_spd_run *r)
{
	if (!r->worker_started || atomic_load(&r->worker_state) == GT_SPD_WORKER_IDLE)
		return true;
	wait_returned_or_blocked(r);
	return atomic_load(&r->worker_state) == GT_SPD_WORKER_IDLE;
}

bool gt_spd_worker_start_call(gt_spd_run *r, size_t i)
{
	const gt_spd_event *ev = &r->s->event[i];
	if (!r->worker_started) {
		atomic_store(&r->worker_state, GT_SPD_WORKER_IDLE);
		if (pthread_create(&r->worker, NULL, worker_main, r) != 0)
			return gt_spd_fail(r, ev->line,
			                   "cannot start the thread of blocking calls");
		r->worker_started = true;
	}
	if (!gt_spd_worker_settle(r))
		return gt_spd_fail(
		    r, ev->line,
		    "blocking call while another blocking call (line %d) is in progress",
		    r->s->event[r->worker_event].line);
	if (r->failed)
		return false;
	r->worker_event = i;
	atomic_store(&r->worker_in_call, 0);
	atomic_store(&r->worker_state, GT_SPD_WORKER_ENQUEUED);
	pthread_cond_broadcast(&r->worker_cv);
	/* until it has started: then until it returns or blocks */
	pthread_mutex_unlock(&r->lock);
	while (atomic_load(&r->worker_state) == GT_SPD_WORKER_ENQUEUED) {
		struct timespec pause = {0, 20000};
		nanosleep(&pause, NULL);
	}
	pthread_mutex_lock(&r->lock);
	wait_returned_or_blocked(r);
	return !r->failed;
}

bool gt_spd_worker_stop(gt_spd_run *r)
{
	if (!r->worker_started)
		return true;
	if (atomic_load(&r->worker_state) != GT_SPD_WORKER_IDLE) {
		pthread_detach(r->worker);
		return false;
	}
	r->worker_exit = true;
	pthread_cond_broadcast(&r->worker_cv);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->worker, NULL);
	pthread_mutex_lock(&r->lock);
	r->worker_started = false;
	return true;
}
