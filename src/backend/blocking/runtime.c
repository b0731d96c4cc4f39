/* The blocking runtime (glasstcp/bsock.h): the thread that drives the stack,
 * the mutex every call takes, and the condition variable callers wait on.
 *
 * The thread holds the mutex except while it sleeps (poll on an eventfd for
 * a pair, the TUN loop's epoll_wait through its before_wait/after_wait
 * hooks). A call that changes the stack's next deadline to before the time
 * the thread sleeps to writes the eventfd. Every GT_EV_SOCKET or GT_EV_STATE
 * event marks the runtime changed; whoever holds the mutex then broadcasts
 * before it lets go, so a waiter cannot miss a change: it tests and waits
 * under the same mutex the change is made under. */
#include "backend/blocking/bsock_impl.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static gt_time_us mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gt_time_us)ts.tv_sec * 1000000u + (gt_time_us)ts.tv_nsec / 1000u;
}

gt_time_us gt_brt_now(gt_brt *rt)
{
	gt_time_us n = mono_us();
	if (n > rt->last_now)
		rt->last_now = n;
	return rt->last_now;
}

static void kick(gt_brt *rt)
{
	uint64_t one = 1;
	if (write(rt->efd, &one, sizeof one) < 0) {
		/* EAGAIN: the counter is full, the thread wakes anyway */
	}
}

static void drain_efd(gt_brt *rt)
{
	uint64_t v;
	if (read(rt->efd, &v, sizeof v) < 0) {
		/* EAGAIN: nothing was written */
	}
}

static gt_time_us next_deadline(gt_brt *rt)
{
	gt_time_us next = GT_TIME_NEVER;
	for (int i = 0; i < rt->nb; i++) {
		gt_time_us d = gt_stack_next_deadline(rt->b[i].st);
		if (d < next)
			next = d;
	}
	return next;
}

/* A pair's packets, in the order sent, until none is left (the answers they
 * cause are queued behind them). */
static void pair_flush(gt_brt *rt)
{
	while (rt->qhead) {
		gt_bpkt *p = rt->qhead;
		rt->qhead = p->next;
		if (!rt->qhead)
			rt->qtail = NULL;
		gt_stack_input(rt->b[p->dst].st, p->data, p->len, gt_brt_now(rt));
		free(p);
	}
}

void gt_brt_settle(gt_brt *rt)
{
	if (rt->pair)
		pair_flush(rt);
	if (rt->sleeping && (rt->impaired || next_deadline(rt) < rt->sleep_until)) {
		kick(rt);
		rt->sleep_until = 0; /* once is enough */
	}
	if (rt->changed) {
		rt->changed = false;
		pthread_cond_broadcast(&rt->cv);
	}
}

bool gt_brt_wait(gt_brt *rt, gt_time_us until)
{
	if (rt->dead || rt->stop)
		return false;
	if (until == GT_TIME_NEVER) {
		pthread_cond_wait(&rt->cv, &rt->mu);
		return true;
	}
	if (mono_us() >= until)
		return false;
	struct timespec ts = {.tv_sec = (time_t)(until / 1000000u),
	                      .tv_nsec = (long)(until % 1000000u) * 1000};
	pthread_cond_timedwait(&rt->cv, &rt->mu, &ts);
	return true; /* the caller tries again; the next wait sees the time */
}

void gt_brt_on_event(void *user, const gt_event *ev)
{
	gt_bstack *bs = user;
	if (ev->kind == GT_EV_SOCKET || ev->kind == GT_EV_STATE)
		bs->rt->changed = true;
	if (bs->user_event)
		bs->user_event(bs->user_event_user, ev);
}

/* ---- the runtime object ---- */

static gt_brt *brt_new(void)
{
	gt_brt *rt = calloc(1, sizeof *rt);
	if (!rt)
		return NULL;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rt->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&rt->mu, NULL);
	rt->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (rt->efd < 0) {
		gt_brt_free(rt);
		return NULL;
	}
	for (int i = 0; i < 2; i++) {
		rt->b[i].rt = rt;
		rt->b[i].side = i;
	}
	return rt;
}

void gt_brt_free(gt_brt *rt)
{
	for (int i = 0; i < rt->nb; i++) {
		if (rt->pair && rt->b[i].st)
			gt_stack_destroy(rt->b[i].st);
		free(rt->b[i].socks);
	}
	while (rt->qhead) {
		gt_bpkt *p = rt->qhead;
		rt->qhead = p->next;
		free(p);
	}
	if (rt->efd >= 0)
		close(rt->efd);
	pthread_cond_destroy(&rt->cv);
	pthread_mutex_destroy(&rt->mu);
	free(rt);
}

void gt_b_stop(gt_bstack *bs)
{
	if (!bs)
		return;
	gt_brt *rt = bs->rt;
	pthread_mutex_lock(&rt->mu);
	rt->stop = true;
	kick(rt);
	pthread_cond_broadcast(&rt->cv);
	pthread_mutex_unlock(&rt->mu);
	if (rt->thread_started)
		pthread_join(rt->thread, NULL);
	gt_brt_free(rt);
}

/* ---- a pair of stacks ---- */

static void pair_output(void *user, const uint8_t *pkt, size_t len)
{
	gt_bstack *bs = user;
	gt_brt *rt = bs->rt;
	gt_bpkt *p = malloc(sizeof *p + len);
	if (!p)
		return; /* lost, as on a congested link */
	p->next = NULL;
	p->dst = 1 - bs->side;
	p->len = len;
	memcpy(p->data, pkt, len);
	if (rt->qtail)
		rt->qtail->next = p;
	else
		rt->qhead = p;
	rt->qtail = p;
}

static int poll_timeout_ms(gt_time_us next, gt_time_us now)
{
	if (next == GT_TIME_NEVER)
		return -1;
	gt_time_us ms = (next - now + 999) / 1000;
	return ms > 60000 ? 60000 : (int)ms;
}

static void *pair_main(void *arg)
{
	gt_brt *rt = arg;
	pthread_mutex_lock(&rt->mu);
	while (!rt->stop) {
		gt_time_us now = gt_brt_now(rt);
		for (int i = 0; i < rt->nb; i++) {
			if (gt_stack_next_deadline(rt->b[i].st) <= now)
				gt_stack_on_deadline(rt->b[i].st, now);
			gt_brt_settle(rt);
		}
		gt_time_us next = next_deadline(rt);
		now = gt_brt_now(rt);
		if (next <= now)
			continue;
		rt->sleeping = true;
		rt->sleep_until = next;
		pthread_mutex_unlock(&rt->mu);
		struct pollfd pfd = {.fd = rt->efd, .events = POLLIN};
		poll(&pfd, 1, poll_timeout_ms(next, now));
		pthread_mutex_lock(&rt->mu);
		rt->sleeping = false;
		drain_efd(rt);
	}
	pthread_mutex_unlock(&rt->mu);
	return NULL;
}

static int pair_stack(gt_brt *rt, int side, const gt_stack_config *cfg)
{
	gt_bstack *bs = &rt->b[side];
	gt_stack_config c = *cfg;
	c.output = pair_output;
	c.output_user = bs;
	c.on_event = gt_brt_on_event;
	c.event_user = bs;
	bs->user_event = cfg->on_event;
	bs->user_event_user = cfg->event_user;
	return gt_stack_create(&c, &bs->st);
}

int gt_b_start_pair(const gt_stack_config *a, const gt_stack_config *b, gt_bstack **a_out,
                    gt_bstack **b_out)
{
	if (!a || !b || !a_out || !b_out || a->local_addr == b->local_addr)
		return -EINVAL;
	gt_brt *rt = brt_new();
	if (!rt)
		return -ENOMEM;
	rt->pair = true;
	rt->nb = 2;
	int rc = pair_stack(rt, 0, a);
	if (rc == 0)
		rc = pair_stack(rt, 1, b);
	if (rc == 0) {
		rc = -pthread_create(&rt->thread, NULL, pair_main, rt);
		rt->thread_started = rc == 0;
	}
	if (rc < 0) {
		gt_brt_free(rt);
		return rc;
	}
	*a_out = &rt->b[0];
	*b_out = &rt->b[1];
	return 0;
}

/* ---- on a TUN device ---- */

static void tun_before_wait(void *user, gt_tun *t, gt_time_us until)
{
	gt_brt *rt = user;
	gt_brt_settle(rt);
	rt->sleeping = true;
	rt->sleep_until = until;
	pthread_mutex_unlock(&rt->mu);
}

static void tun_after_wait(void *user, gt_tun *t)
{
	gt_brt *rt = user;
	pthread_mutex_lock(&rt->mu);
	rt->sleeping = false;
}

static void tun_poll(void *user, gt_tun *t, gt_time_us now)
{
	gt_brt *rt = user;
	if (rt->stop)
		gt_tun_stop(t);
	gt_brt_settle(rt);
}

static void tun_signal(void *user, gt_tun *t, int signo, gt_time_us now)
{
	/* the signals go to the application's threads; one sent to this
	 * thread alone changes nothing */
}

static void tun_wake(void *user, gt_tun *t, int fd, unsigned revents, gt_time_us now)
{
	drain_efd(user);
}

static int tun_setup(gt_brt *rt)
{
	int rc = gt_tun_new(&rt->tcfg, &rt->tun, rt->start_err, sizeof rt->start_err);
	if (rc < 0)
		return rc;
	rc = gt_tun_watch(rt->tun, rt->efd, GT_TUN_IN, tun_wake, rt);
	if (rc < 0) {
		snprintf(rt->start_err, sizeof rt->start_err, "cannot watch the eventfd: %s",
		         strerror(-rc));
		gt_tun_free(rt->tun);
		rt->tun = NULL;
		return rc;
	}
	gt_tun_app app = {.poll = tun_poll,
	                  .on_signal = tun_signal,
	                  .before_wait = tun_before_wait,
	                  .after_wait = tun_after_wait,
	                  .user = rt};
	gt_tun_set_app(rt->tun, &app);
	rt->b[0].st = gt_tun_stack(rt->tun);
	rt->nb = 1;
	return 0;
}

static void *tun_main(void *arg)
{
	gt_brt *rt = arg;
	pthread_mutex_lock(&rt->mu);
	rt->start_rc = tun_setup(rt);
	rt->started = true;
	pthread_cond_broadcast(&rt->cv);
	if (rt->start_rc == 0) {
		gt_tun_run(rt->tun); /* the mutex released only while it waits */
		/* it returns on stop, or when the device failed: then calls
		 * must not wait for it */
		rt->dead = true;
		pthread_cond_broadcast(&rt->cv);
		while (!rt->stop)
			pthread_cond_wait(&rt->cv, &rt->mu);
		gt_tun_free(rt->tun); /* on this thread: it restores this thread's signals */
		rt->tun = NULL;
	}
	pthread_mutex_unlock(&rt->mu);
	return NULL;
}

int gt_b_start_tun(const gt_tun_config *cfg, gt_bstack **out, char *err, size_t errlen)
{
	if (!cfg || !out)
		return -EINVAL;
	gt_brt *rt = brt_new();
	if (!rt)
		return -ENOMEM;
	rt->tcfg = *cfg;
	rt->tcfg.on_event = gt_brt_on_event;
	rt->tcfg.event_user = &rt->b[0];
	rt->b[0].user_event = cfg->on_event;
	rt->b[0].user_event_user = cfg->event_user;
	rt->impaired = cfg->impair != NULL;
	int rc = -pthread_create(&rt->thread, NULL, tun_main, rt);
	if (rc == 0) {
		rt->thread_started = true;
		pthread_mutex_lock(&rt->mu);
		while (!rt->started)
			pthread_cond_wait(&rt->cv, &rt->mu);
		rc = rt->start_rc;
		pthread_mutex_unlock(&rt->mu);
	} else {
		snprintf(rt->start_err, sizeof rt->start_err, "cannot start the thread: %s",
		         strerror(-rc));
	}
	if (rc < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s", rt->start_err);
		rt->nb = 0;
		gt_b_stop(&rt->b[0]);
		return rc;
	}
	*out = &rt->b[0];
	return 0;
}
