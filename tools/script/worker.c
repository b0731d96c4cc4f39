/* The threads of socket calls (run.h). A call written "+0...0.2 accept(...)"
 * starts at the first time and must return at the second; meanwhile the
 * script goes on with the lines in between (packets that make it return).
 * As packetdrill does, the call runs on a second thread, and the main thread
 * goes on once the call has returned or is asleep inside the interface
 * (Linux's /proc/self/task/TID/stat says 'S'): in virtual time it can only
 * return when the main thread moves time or feeds packets. The other calls
 * run on a third thread the same way, so that one that blocks is reported
 * (packetdrill makes them on its main thread, and would hang). */
#include "script/run.h"

#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* How long (real time) the main thread waits for a call to block or return
 * before going on anyway (packetdrill waits a second): ten, so that a slow
 * call under the sanitizers is not taken for a blocked one. */
#define SETTLE_LIMIT_NSECS 10000000000LL

static void *worker_main(void *arg)
{
	gt_spd_worker *w = arg;
	gt_spd_run *r = w->r;
	atomic_store(&w->tid, (int)syscall(SYS_gettid));
	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (atomic_load(&w->state) != GT_SPD_WORKER_ENQUEUED && !w->exit)
			pthread_cond_wait(&w->cv, &r->lock);
		if (w->exit)
			break;
		atomic_store(&w->state, GT_SPD_WORKER_RUNNING);
		size_t i = w->event;
		const gt_spd_event *ev = &r->s->event[i];
		char err[512];
		if (gt_spd_run_call(r, i, w) && w->blocking && !r->failed &&
		    !gt_spd_check_time(r, ev->time_kind, r->call_end[i], 0, w->live_end, r->t[i],
		                       "system call return", err, sizeof(err)))
			gt_spd_fail(r, ev->line, "%s", err);
		atomic_store(&w->state, GT_SPD_WORKER_IDLE);
		pthread_cond_broadcast(&w->cv);
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

static bool is_blocked(gt_spd_worker *w)
{
	if (atomic_load(&w->state) != GT_SPD_WORKER_RUNNING || !atomic_load(&w->in_call) ||
	    !is_sleeping(atomic_load(&w->tid)))
		return false;
	/* twice, a little apart: not a moment's wait on a lock */
	struct timespec pause = {0, 200000};
	nanosleep(&pause, NULL);
	return atomic_load(&w->in_call) && is_sleeping(atomic_load(&w->tid));
}

/* Waits (r->lock released) until the call returned, or blocks. */
static void wait_returned_or_blocked(gt_spd_worker *w)
{
	int64_t deadline = real_nsecs() + SETTLE_LIMIT_NSECS;
	pthread_mutex_unlock(&w->r->lock);
	while (atomic_load(&w->state) != GT_SPD_WORKER_IDLE && !is_blocked(w) &&
	       real_nsecs() < deadline) {
		struct timespec pause = {0, 50000};
		nanosleep(&pause, NULL);
	}
	pthread_mutex_lock(&w->r->lock);
}

void gt_spd_worker_init(gt_spd_run *r, gt_spd_worker *w, bool blocking)
{
	memset(w, 0, sizeof(*w));
	w->r = r;
	w->blocking = blocking;
	atomic_store(&w->state, GT_SPD_WORKER_IDLE);
	pthread_cond_init(&w->cv, NULL);
}

bool gt_spd_worker_settle(gt_spd_worker *w)
{
	if (!w->started || atomic_load(&w->state) == GT_SPD_WORKER_IDLE)
		return true;
	wait_returned_or_blocked(w);
	return atomic_load(&w->state) == GT_SPD_WORKER_IDLE;
}

bool gt_spd_worker_start_call(gt_spd_worker *w, size_t i)
{
	gt_spd_run *r = w->r;
	const gt_spd_event *ev = &r->s->event[i];
	if (!w->started) {
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			return gt_spd_fail(r, ev->line, "cannot start a thread for socket calls");
		w->started = true;
	}
	if (!gt_spd_worker_settle(w))
		return gt_spd_fail(
		    r, ev->line,
		    "blocking call while another blocking call (line %d) is in progress",
		    r->s->event[w->event].line);
	if (r->failed)
		return false;
	w->event = i;
	atomic_store(&w->in_call, 0);
	atomic_store(&w->state, GT_SPD_WORKER_ENQUEUED);
	pthread_cond_broadcast(&w->cv);
	/* until it has started: then until it returns or blocks */
	pthread_mutex_unlock(&r->lock);
	while (atomic_load(&w->state) == GT_SPD_WORKER_ENQUEUED) {
		struct timespec pause = {0, 20000};
		nanosleep(&pause, NULL);
	}
	pthread_mutex_lock(&r->lock);
	wait_returned_or_blocked(w);
	return !r->failed;
}

bool gt_spd_worker_stop(gt_spd_worker *w)
{
	if (!w->started)
		return true;
	if (atomic_load(&w->state) != GT_SPD_WORKER_IDLE) {
		pthread_detach(w->thread);
		return false;
	}
	w->exit = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->r->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_lock(&w->r->lock);
	w->started = false;
	pthread_cond_destroy(&w->cv);
	return true;
}
