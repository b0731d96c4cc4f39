/* The TUN event loop (glasstcp/tun.h): epoll over the TUN fd, a timerfd, a
 * signalfd and the application's fds; the engine gets CLOCK_MONOTONIC in µs.
 *
 * The hot path is one read() per packet received and one write() per packet
 * sent, and nothing else: no allocation (impaired packets wait in pooled
 * buffers), the timerfd is re-armed only when the deadline moves earlier (a
 * later deadline lets it fire early, once, and it is then re-armed), and the
 * clock is read through the vDSO. */
#include "backend/impair.h"
#include "backend/tun/tun_impl.h"
#include "wire/wire.h"

#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define RXBUF_SIZE   65536 /* any IPv4 packet, whatever the MTU */
#define RX_BATCH     256   /* packets read per wake-up before the others get a turn */
#define MAX_WATCHED  8
#define EPOLL_EVENTS 16
#define POOL_PREWARM 512
/* a held-back packet waits at least up to this long: with no delay, a
 * reordering of a few microseconds would change nothing on a real path */
#define REORDER_MIN_US       1000
#define DEFAULT_IMPAIR_LIMIT 65536

enum { ID_TUN = 0, ID_TIMER = 1, ID_SIGNAL = 2, ID_WATCH = 16 };
/* impairment directions, also the queue tags */
enum { DIR_IN = 0, DIR_OUT = 1 };

typedef struct watched {
	int fd;
	unsigned events;
	bool used;
	bool in_epoll;
	gt_tun_fd_fn fn;
	void *user;
} watched;

struct gt_tun {
	int fd;
	int epfd;
	int timerfd;
	int sigfd;
	char ifname[IFNAMSIZ];
	sigset_t old_mask;
	bool mask_set;

	gt_stack *st;
	char *name;
	char *peer_name;
	gt_time_us now; /* the time last given to the stack or the application */

	bool impaired;
	gt_impair_params ip;
	gt_rng rng[2];
	gt_impair_path path[2];
	gt_pktq q;

	gt_pcap_writer *pcap;
	gt_event_fn on_event;
	void *event_user;

	gt_tun_app app;
	watched w[MAX_WATCHED];

	gt_time_us timer_armed; /* GT_TIME_NEVER when not armed */
	bool stop;
	size_t live;
	uint8_t *rxbuf;
	gt_tun_stats stats;
};

static gt_time_us mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gt_time_us)ts.tv_sec * 1000000u + (gt_time_us)ts.tv_nsec / 1000u;
}

static gt_time_us real_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (gt_time_us)ts.tv_sec * 1000000u + (gt_time_us)ts.tv_nsec / 1000u;
}

gt_time_us gt_tun_now(const gt_tun *t)
{
	(void)t;
	return mono_us();
}

/* The clock handed to the engine never goes back, even across hooks. */
static gt_time_us tick(gt_tun *t)
{
	gt_time_us n = mono_us();
	if (n > t->now)
		t->now = n;
	return t->now;
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *c = malloc(n);
	if (c)
		memcpy(c, s, n);
	return c;
}

/* ---- packets out ---- */

static void tun_write(gt_tun *t, const uint8_t *pkt, size_t len)
{
	for (;;) {
		ssize_t n = write(t->fd, pkt, len);
		if (n == (ssize_t)len) {
			t->stats.tx_written++;
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
			t->stats.tx_drops++;
		else
			t->stats.tx_errors++;
		return;
	}
}

/* A packet the impairment layer lost, reported as the receiver would: its
 * own end of the connection first. */
static void report_loss(gt_tun *t, int dir, const uint8_t *pkt, size_t len)
{
	if (!t->on_event)
		return;
	gt_segment seg;
	memset(&seg, 0, sizeof seg);
	gt_event ev = {.kind = GT_EV_DROP,
	               .t_us = t->now,
	               .host = dir == DIR_IN ? t->name : t->peer_name,
	               .pkt = pkt,
	               .pkt_len = len,
	               .reason = GT_DROP_SIM_LOSS,
	               .sock = -1};
	if (gt_wire_peek(pkt, len, &seg)) {
		ev.has_seg = true;
		ev.seg = (gt_seg_info){.seq = seg.seq,
		                       .ack = seg.ack,
		                       .len = seg.payload_len,
		                       .win = seg.wnd,
		                       /* no connection known here: unscaled */
		                       .wnd = seg.wnd,
		                       .flags = seg.flags,
		                       .mss = seg.opts.has_mss ? seg.opts.mss : 0};
		ev.has_conn = true;
		ev.conn = (gt_conn_tuple){.local_addr = seg.dst_addr,
		                          .remote_addr = seg.src_addr,
		                          .local_port = seg.dst_port,
		                          .remote_port = seg.src_port};
	}
	t->on_event(t->event_user, &ev);
}

/* Decides a packet's fate and queues it (a pooled copy) for its arrival. */
static void impair(gt_tun *t, int dir, const uint8_t *pkt, size_t len, gt_time_us now)
{
	gt_impair_verdict v;
	gt_impair_decide(&t->ip, &t->rng[dir], &t->path[dir], now, len, &v);
	if (v.lost) {
		t->stats.imp_lost[dir]++;
		report_loss(t, dir, pkt, len);
		return;
	}
	uint8_t *copy;
	if (gt_pktq_push(&t->q, v.when, dir, pkt, len, &copy) < 0) {
		t->stats.imp_overflow[dir]++;
		return;
	}
	if (v.reordered)
		t->stats.imp_reordered[dir]++;
	if (v.corrupted) {
		copy[v.corrupt_bit / 8] ^= (uint8_t)(1u << (v.corrupt_bit % 8));
		t->stats.imp_corrupted[dir]++;
	}
	if (v.duplicated) {
		if (gt_pktq_push(&t->q, v.dup_when, dir, copy, len, NULL) == 0)
			t->stats.imp_dup[dir]++;
		else
			t->stats.imp_overflow[dir]++;
	}
}

/* The stack's output callback. Writing to the fd is not a call into the
 * stack, so it happens at once. */
static void on_output(void *user, const uint8_t *pkt, size_t len)
{
	gt_tun *t = user;
	t->stats.tx_packets++;
	if (t->pcap)
		gt_pcap_write_packet(t->pcap, real_us(), pkt, len);
	if (t->impaired)
		impair(t, DIR_OUT, pkt, len, t->now);
	else
		tun_write(t, pkt, len);
}

static bool live_state(gt_tcp_state s)
{
	return s != GT_TCP_CLOSED && s != GT_TCP_LISTEN && s != GT_TCP_TIME_WAIT;
}

static void on_stack_event(void *user, const gt_event *ev)
{
	gt_tun *t = user;
	switch (ev->kind) {
	case GT_EV_STATE:
		if (live_state(ev->from) && !live_state(ev->to)) {
			if (t->live)
				t->live--;
		} else if (!live_state(ev->from) && live_state(ev->to)) {
			t->live++;
		}
		break;
	case GT_EV_RX:
		if (ev->has_seg)
			t->stats.rx_bytes += ev->seg.len;
		break;
	case GT_EV_TX:
		if (ev->has_seg) {
			if (ev->seg.rexmit)
				t->stats.tx_rexmit_bytes += ev->seg.len;
			else
				t->stats.tx_bytes += ev->seg.len;
		}
		break;
	default:
		break;
	}
	if (t->on_event)
		t->on_event(t->event_user, ev);
}

/* ---- packets in ---- */

static void deliver_in(gt_tun *t, const uint8_t *pkt, size_t len, gt_time_us now)
{
	if (t->pcap)
		gt_pcap_write_packet(t->pcap, real_us(), pkt, len);
	gt_stack_input(t->st, pkt, len, now);
}

/* Reads until EAGAIN (or RX_BATCH packets: level-triggered epoll brings the
 * rest next time, after timers and the application had their turn). */
static int drain_tun(gt_tun *t)
{
	for (int k = 0; k < RX_BATCH; k++) {
		ssize_t n = read(t->fd, t->rxbuf, RXBUF_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		if (n == 0)
			break;
		gt_time_us now = tick(t);
		t->stats.rx_packets++;
		if (t->impaired)
			impair(t, DIR_IN, t->rxbuf, (size_t)n, now);
		else
			deliver_in(t, t->rxbuf, (size_t)n, now);
	}
	t->stats.rx_batches++;
	return 0;
}

/* Everything due now: impaired packets whose time has come, then the stack's
 * timers. Packets queued meanwhile with a time already due go out too. */
static void run_due(gt_tun *t)
{
	gt_time_us now = tick(t);
	gt_pktq_item it;
	while (gt_pktq_pop_due(&t->q, now, &it)) {
		if (it.tag == DIR_IN)
			deliver_in(t, it.data, it.len, now);
		else
			tun_write(t, it.data, it.len);
		gt_pktq_release(&t->q, &it);
	}
	if (gt_stack_next_deadline(t->st) <= now)
		gt_stack_on_deadline(t->st, now);
}

static void app_poll(gt_tun *t)
{
	if (t->app.poll)
		t->app.poll(t->app.user, t, tick(t));
}

static gt_time_us next_due(gt_tun *t)
{
	gt_time_us next = gt_stack_next_deadline(t->st);
	gt_time_us q = gt_pktq_next(&t->q);
	if (q < next)
		next = q;
	if (t->app.deadline) {
		gt_time_us a = t->app.deadline(t->app.user, t);
		if (a < next)
			next = a;
	}
	return next;
}

static int arm_timer(gt_tun *t, gt_time_us when)
{
	if (when >= t->timer_armed)
		return 0; /* an earlier expiry is armed: it fires, and we re-arm */
	struct itimerspec its;
	memset(&its, 0, sizeof its);
	its.it_value.tv_sec = (time_t)(when / 1000000u);
	its.it_value.tv_nsec = (long)(when % 1000000u) * 1000;
	if (timerfd_settime(t->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	t->timer_armed = when;
	return 0;
}

static void handle_signals(gt_tun *t)
{
	struct signalfd_siginfo si;
	while (read(t->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (t->app.on_signal)
			t->app.on_signal(t->app.user, t, (int)si.ssi_signo, tick(t));
		else
			t->stop = true;
	}
}

static void handle_watched(gt_tun *t, int slot, uint32_t events)
{
	if (slot < 0 || slot >= MAX_WATCHED || !t->w[slot].used || !t->w[slot].in_epoll)
		return; /* unwatched or paused earlier in this batch */
	watched *w = &t->w[slot];
	unsigned rev = 0;
	if (events & EPOLLIN)
		rev |= GT_TUN_IN;
	if (events & EPOLLOUT)
		rev |= GT_TUN_OUT;
	if (events & EPOLLERR)
		rev |= GT_TUN_ERR;
	if (events & (EPOLLHUP | EPOLLRDHUP))
		rev |= GT_TUN_HUP;
	w->fn(w->user, t, w->fd, rev, tick(t));
}

int gt_tun_run(gt_tun *t)
{
	t->stop = false;
	run_due(t);
	app_poll(t);
	while (!t->stop) {
		gt_time_us next = next_due(t);
		gt_time_us now = tick(t);
		int timeout = -1;
		if (next <= now) {
			timeout = 0;
		} else if (next != GT_TIME_NEVER) {
			int rc = arm_timer(t, next);
			if (rc < 0)
				return rc;
		}
		struct epoll_event evs[EPOLL_EVENTS];
		if (t->app.before_wait)
			t->app.before_wait(t->app.user, t, next);
		int n = epoll_wait(t->epfd, evs, EPOLL_EVENTS, timeout);
		if (t->app.after_wait)
			t->app.after_wait(t->app.user, t);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		t->stats.wakeups++;
		for (int i = 0; i < n; i++) {
			uint64_t id = evs[i].data.u64;
			if (id == ID_TUN) {
				int rc = drain_tun(t);
				if (rc < 0)
					return rc;
			} else if (id == ID_TIMER) {
				uint64_t expirations;
				if (read(t->timerfd, &expirations, sizeof expirations) < 0) {
					/* EAGAIN: already consumed; nothing else can fail */
				}
				t->timer_armed = GT_TIME_NEVER;
			} else if (id == ID_SIGNAL) {
				handle_signals(t);
			} else {
				handle_watched(t, (int)(id - ID_WATCH), evs[i].events);
			}
		}
		run_due(t);
		app_poll(t);
	}
	return 0;
}

void gt_tun_stop(gt_tun *t)
{
	t->stop = true;
}

/* ---- watched fds ---- */

static uint32_t epoll_events_of(unsigned events)
{
	uint32_t e = 0;
	if (events & GT_TUN_IN)
		e |= EPOLLIN;
	if (events & GT_TUN_OUT)
		e |= EPOLLOUT;
	return e;
}

/* Paused fds are out of the epoll set: epoll reports EPOLLHUP and EPOLLERR
 * whatever the mask, which would spin the loop. */
static int apply_watch(gt_tun *t, int slot)
{
	watched *w = &t->w[slot];
	if (!w->events) {
		if (w->in_epoll && epoll_ctl(t->epfd, EPOLL_CTL_DEL, w->fd, NULL) < 0)
			return -errno;
		w->in_epoll = false;
		return 0;
	}
	struct epoll_event ev = {.events = epoll_events_of(w->events),
	                         .data.u64 = (uint64_t)(ID_WATCH + slot)};
	if (epoll_ctl(t->epfd, w->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return -errno;
	w->in_epoll = true;
	return 0;
}

static int find_watch(const gt_tun *t, int fd)
{
	for (int i = 0; i < MAX_WATCHED; i++) {
		if (t->w[i].used && t->w[i].fd == fd)
			return i;
	}
	return -1;
}

int gt_tun_watch(gt_tun *t, int fd, unsigned events, gt_tun_fd_fn fn, void *user)
{
	if (fd < 0 || !fn)
		return -EINVAL;
	if (find_watch(t, fd) >= 0)
		return -EEXIST;
	int slot = 0;
	while (slot < MAX_WATCHED && t->w[slot].used)
		slot++;
	if (slot == MAX_WATCHED)
		return -ENOSPC;
	t->w[slot] = (watched){.fd = fd, .events = events, .used = true, .fn = fn, .user = user};
	/* Probe epoll even when paused, so that -EPERM (regular files) is
	 * reported now rather than on resume. */
	struct epoll_event ev = {.events = epoll_events_of(events),
	                         .data.u64 = (uint64_t)(ID_WATCH + slot)};
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		t->w[slot].used = false;
		return -e;
	}
	t->w[slot].in_epoll = true;
	if (!events)
		return apply_watch(t, slot);
	return 0;
}

int gt_tun_watch_events(gt_tun *t, int fd, unsigned events)
{
	int slot = find_watch(t, fd);
	if (slot < 0)
		return -ENOENT;
	if (t->w[slot].events == events)
		return 0;
	t->w[slot].events = events;
	return apply_watch(t, slot);
}

int gt_tun_unwatch(gt_tun *t, int fd)
{
	int slot = find_watch(t, fd);
	if (slot < 0)
		return -ENOENT;
	if (t->w[slot].in_epoll)
		epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
	t->w[slot] = (watched){.fd = -1};
	return 0;
}

/* ---- set-up ---- */

void gt_tun_config_default(gt_tun_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->prefix_len = 24;
	cfg->mtu = 1500;
	cfg->configure = true;
	gt_stack_config_default(&cfg->stack);
	cfg->stack.name = "glasstcp";
	cfg->impair_limit = DEFAULT_IMPAIR_LIMIT;
	cfg->peer_name = "linux";
}

static uint32_t prefix_mask(unsigned len)
{
	return len >= 32 ? 0xffffffffu : len == 0 ? 0 : ~(0xffffffffu >> len);
}

static int check_config(const gt_tun_config *cfg, char *err, size_t errlen)
{
	char a[16], b[16];
	if (!cfg->ifname || !*cfg->ifname) {
		gt_tun_errf(err, errlen, "no TUN device name");
		return -EINVAL;
	}
	if (!cfg->addr) {
		gt_tun_errf(err, errlen, "no address for glasstcp");
		return -EINVAL;
	}
	if (cfg->mtu < 68 || cfg->mtu > 65535) {
		gt_tun_errf(err, errlen, "MTU %u out of range 68..65535", cfg->mtu);
		return -EINVAL;
	}
	if (!cfg->configure)
		return 0;
	if (cfg->prefix_len < 1 || cfg->prefix_len > 30) {
		gt_tun_errf(err, errlen, "prefix /%u out of range /1../30", cfg->prefix_len);
		return -EINVAL;
	}
	if (!cfg->peer) {
		gt_tun_errf(err, errlen, "no address for the kernel's side");
		return -EINVAL;
	}
	if (cfg->peer == cfg->addr) {
		gt_tun_errf(err, errlen, "glasstcp and the kernel cannot both be %s",
		            gt_ipv4_str(cfg->addr, a));
		return -EINVAL;
	}
	uint32_t m = prefix_mask(cfg->prefix_len);
	if ((cfg->peer & m) != (cfg->addr & m)) {
		gt_tun_errf(
		    err, errlen, "%s is not in %s/%u: the kernel would not route it to the device",
		    gt_ipv4_str(cfg->addr, a), gt_ipv4_str(cfg->peer & m, b), cfg->prefix_len);
		return -EINVAL;
	}
	uint32_t host = cfg->addr & ~m, phost = cfg->peer & ~m;
	if (host == 0 || host == ~m || phost == 0 || phost == ~m) {
		gt_tun_errf(err, errlen, "network and broadcast addresses of /%u cannot be used",
		            cfg->prefix_len);
		return -EINVAL;
	}
	return 0;
}

static void impair_params_of(const gt_tun_impair *imp, gt_impair_params *p)
{
	gt_impair_params_default(p);
	p->delay_us = imp->delay_us;
	p->jitter_us = imp->jitter_us;
	p->loss = imp->loss;
	p->corrupt = imp->corrupt;
	p->reorder = imp->reorder;
	p->dup = imp->dup;
	p->reorder_min_us = REORDER_MIN_US;
}

/* Everything that cannot fail; the fds at -1 so that gt_tun_free can unwind
 * from any later step. */
static void init_fields(gt_tun *t, const gt_tun_config *cfg)
{
	t->fd = t->epfd = t->timerfd = t->sigfd = -1;
	t->timer_armed = GT_TIME_NEVER;
	for (int i = 0; i < MAX_WATCHED; i++)
		t->w[i].fd = -1;
	gt_pktq_init(&t->q, cfg->impair_limit ? cfg->impair_limit : DEFAULT_IMPAIR_LIMIT);
	t->pcap = cfg->pcap;
	t->on_event = cfg->on_event;
	t->event_user = cfg->event_user;
}

static int alloc_buffers(gt_tun *t, const gt_tun_config *cfg, char *err, size_t errlen)
{
	t->name = dup_str(cfg->stack.name ? cfg->stack.name : "glasstcp");
	t->peer_name = dup_str(cfg->peer_name ? cfg->peer_name : "linux");
	t->rxbuf = malloc(RXBUF_SIZE);
	if (!t->name || !t->peer_name || !t->rxbuf) {
		gt_tun_errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int setup_impairment(gt_tun *t, const gt_tun_config *cfg, char *err, size_t errlen)
{
	if (!cfg->impair)
		return 0;
	t->impaired = true;
	impair_params_of(cfg->impair, &t->ip);
	/* one stream per direction, so each direction's decisions depend
	 * only on its own packets */
	gt_rng_seed(&t->rng[DIR_IN], cfg->impair->seed);
	gt_rng_seed(&t->rng[DIR_OUT], cfg->impair->seed ^ 0x6a09e667f3bcc908u);
	if (gt_pktq_reserve(&t->q, POOL_PREWARM, 2048) < 0) {
		gt_tun_errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int open_device(gt_tun *t, const gt_tun_config *cfg, char *err, size_t errlen)
{
	int rc = gt_tun_open_device(cfg->ifname, t->ifname, err, errlen);
	if (rc < 0)
		return rc;
	t->fd = rc;
	return 0;
}

static int configure_device(gt_tun *t, const gt_tun_config *cfg, char *err, size_t errlen)
{
	if (!cfg->configure)
		return 0;
	char cerr[256];
	int rc = gt_tun_configure_device(t->ifname, cfg->peer, cfg->prefix_len, cfg->mtu, cerr,
	                                 sizeof cerr);
	int flags = 0;
	if (rc == -EPERM && gt_tun_device_flags(t->ifname, &flags) == 0 && (flags & IFF_UP)) {
		rc = 0; /* configured by someone who could */
	}
	if (rc < 0)
		gt_tun_errf(err, errlen, "%s", cerr);
	return rc;
}

static int create_stack(gt_tun *t, const gt_tun_config *cfg, char *err, size_t errlen)
{
	gt_stack_config sc = cfg->stack;
	sc.name = t->name;
	sc.local_addr = cfg->addr;
	sc.output = on_output;
	sc.output_user = t;
	sc.on_event = on_stack_event;
	sc.event_user = t;
	if (sc.mss > cfg->mtu - 40)
		sc.mss = (uint16_t)(cfg->mtu - 40);
	/* RFC 6528: the ISN key must be secret: from the kernel's CSPRNG */
	if (getrandom(sc.isn_key, sizeof sc.isn_key, 0) != (ssize_t)sizeof sc.isn_key) {
		int rc = -errno;
		gt_tun_errf(err, errlen, "getrandom: %s", strerror(errno));
		return rc;
	}
	int rc = gt_stack_create(&sc, &t->st);
	if (rc < 0)
		gt_tun_errf(err, errlen, "cannot create the stack: %s", strerror(-rc));
	return rc;
}

static int open_epoll_timer(gt_tun *t, char *err, size_t errlen)
{
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	t->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->epfd < 0 || t->timerfd < 0) {
		int rc = -errno;
		gt_tun_errf(err, errlen, "epoll/timerfd: %s", strerror(errno));
		return rc;
	}
	return 0;
}

/* SIGINT and SIGTERM blocked and read from a signalfd, so that the loop hands
 * them to the application (on_signal) instead of dying; gt_tun_free restores
 * the mask. */
static int open_signalfd(gt_tun *t, char *err, size_t errlen)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, &t->old_mask) < 0) {
		int rc = -errno;
		gt_tun_errf(err, errlen, "sigprocmask: %s", strerror(errno));
		return rc;
	}
	t->mask_set = true;
	t->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (t->sigfd < 0) {
		int rc = -errno;
		gt_tun_errf(err, errlen, "signalfd: %s", strerror(errno));
		return rc;
	}
	return 0;
}

static int epoll_add(int epfd, int fd, uint64_t id)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = id};
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int watch_loop_fds(gt_tun *t, char *err, size_t errlen)
{
	if (epoll_add(t->epfd, t->fd, ID_TUN) < 0 || epoll_add(t->epfd, t->timerfd, ID_TIMER) < 0 ||
	    epoll_add(t->epfd, t->sigfd, ID_SIGNAL) < 0) {
		int rc = -errno;
		gt_tun_errf(err, errlen, "epoll_ctl: %s", strerror(errno));
		return rc;
	}
	return 0;
}

int gt_tun_new(const gt_tun_config *cfg, gt_tun **out, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!cfg || !out)
		return -EINVAL;
	*out = NULL;
	int rc = check_config(cfg, err, errlen);
	if (rc < 0)
		return rc;

	gt_tun *t = calloc(1, sizeof *t);
	if (!t) {
		gt_tun_errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	init_fields(t, cfg);
	if ((rc = alloc_buffers(t, cfg, err, errlen)) < 0 ||
	    (rc = setup_impairment(t, cfg, err, errlen)) < 0 ||
	    (rc = open_device(t, cfg, err, errlen)) < 0 ||
	    (rc = configure_device(t, cfg, err, errlen)) < 0 ||
	    (rc = create_stack(t, cfg, err, errlen)) < 0 ||
	    (rc = open_epoll_timer(t, err, errlen)) < 0 ||
	    (rc = open_signalfd(t, err, errlen)) < 0 || (rc = watch_loop_fds(t, err, errlen)) < 0) {
		gt_tun_free(t); /* each step leaves what it made for gt_tun_free */
		return rc;
	}
	t->now = mono_us();
	*out = t;
	return 0;
}

void gt_tun_free(gt_tun *t)
{
	if (!t)
		return;
	if (t->sigfd >= 0) {
		/* consume signals that came after the last batch, so unblocking
		 * does not deliver them (and kill the process) */
		struct signalfd_siginfo si;
		while (read(t->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		}
		close(t->sigfd);
	}
	if (t->mask_set)
		sigprocmask(SIG_SETMASK, &t->old_mask, NULL);
	if (t->timerfd >= 0)
		close(t->timerfd);
	if (t->epfd >= 0)
		close(t->epfd);
	if (t->fd >= 0)
		close(t->fd);
	gt_stack_destroy(t->st);
	gt_pktq_destroy(&t->q);
	free(t->rxbuf);
	free(t->name);
	free(t->peer_name);
	free(t);
}

gt_stack *gt_tun_stack(gt_tun *t)
{
	return t->st;
}

const char *gt_tun_ifname(const gt_tun *t)
{
	return t->ifname;
}

void gt_tun_set_app(gt_tun *t, const gt_tun_app *app)
{
	if (app)
		t->app = *app;
	else
		memset(&t->app, 0, sizeof t->app);
}

const gt_tun_stats *gt_tun_get_stats(const gt_tun *t)
{
	return &t->stats;
}

size_t gt_tun_live_conns(const gt_tun *t)
{
	return t->live;
}
