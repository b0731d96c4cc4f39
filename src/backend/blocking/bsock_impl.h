/* The blocking runtime's insides (glasstcp/bsock.h), shared by runtime.c (the
 * thread that drives the stack, the mutex, the waits) and bsock.c (the calls). */
#ifndef GT_BACKEND_BLOCKING_BSOCK_IMPL_H
#define GT_BACKEND_BLOCKING_BSOCK_IMPL_H

#include "glasstcp/bsock.h"

#include <pthread.h>

typedef struct gt_brt gt_brt;

/* What the blocking layer keeps per socket, by the handle's slot (its low
 * 16 bits); h tells whether the entry is this socket's. */
typedef struct gt_bsock_state {
	int h;
	bool nonblock;
	gt_time_us rcvtimeo; /* GT_TIME_NEVER: forever; 0: no wait */
	gt_time_us sndtimeo;
} gt_bsock_state;

struct gt_bstack {
	gt_brt *rt;
	gt_stack *st;
	int side; /* 0 or 1 in a pair */
	gt_event_fn user_event;
	void *user_event_user;
	gt_bsock_state *socks;
	size_t nsocks;
};

/* A packet on its way from one stack of a pair to the other. */
typedef struct gt_bpkt {
	struct gt_bpkt *next;
	int dst;
	size_t len;
	uint8_t data[];
} gt_bpkt;

struct gt_brt {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* broadcast on every change the stack reports */
	pthread_t thread;
	bool thread_started;
	int efd; /* eventfd: wakes the runtime's thread */
	bool pair;
	bool stop;
	bool changed;  /* a readiness or state change not yet broadcast */
	bool sleeping; /* the thread waits, until sleep_until, unlocked */
	bool dead;     /* the thread's loop failed: nothing drives the stack */
	gt_time_us sleep_until;
	gt_time_us last_now;
	gt_bstack b[2];
	int nb;
	/* pair: packets in flight */
	gt_bpkt *qhead, *qtail;
	/* tun */
	gt_tun *tun;
	gt_tun_config tcfg;
	bool impaired;
	bool started;
	int start_rc;
	char start_err[160];
};

/* The clock (CLOCK_MONOTONIC, µs), never behind the last time given. Lock held. */
gt_time_us gt_brt_now(gt_brt *rt);
/* After a call into a stack, lock held: delivers a pair's packets, wakes the
 * runtime's thread when the next deadline moved earlier, broadcasts changes. */
void gt_brt_settle(gt_brt *rt);
/* Waits for a change until the time until (GT_TIME_NEVER: no limit), lock
 * held. false when until has passed (or nothing drives the stack any more):
 * the caller stops trying. */
bool gt_brt_wait(gt_brt *rt, gt_time_us until);
/* The event callback every stack of a runtime is given (user: its gt_bstack). */
void gt_brt_on_event(void *user, const gt_event *ev);
void gt_brt_free(gt_brt *rt);

#endif
