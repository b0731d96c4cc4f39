/* glasstcp — on a real network interface: a Linux TUN device and the event
 * loop that drives a gt_stack on it.
 *
 * The engine stays sans-I/O; this shell owns the I/O. One gt_tun is a TUN
 * device (IFF_TUN | IFF_NO_PI: raw IPv4 packets, no link layer), a stack whose
 * address is on the glasstcp side of the device, and an epoll loop:
 *
 *   TUN fd readable   -> read packets until EAGAIN (a batch), each one through
 *                        the impairment layer (if any) into gt_stack_input
 *   timerfd           -> armed at the earliest of the stack's deadline, the
 *                        impairment queue's head and the application's deadline
 *   signalfd          -> SIGINT / SIGTERM, handed to the application
 *   watched fds       -> the application's (stdin, a tracing fd ...)
 *   after each batch  -> the application's poll hook (it calls the socket API)
 *
 * Packets the stack sends are written to the TUN fd (through the impairment
 * layer if any); a write that would block is counted as a drop, never waited
 * for. The clock fed to the engine is CLOCK_MONOTONIC in microseconds.
 *
 * The kernel side: as root (CAP_NET_ADMIN) gt_tun_new gives the device the
 * peer address with its prefix (default /24), MTU 1500, and brings it up; the
 * kernel then routes the prefix to the device, and glasstcp answers for its
 * own address in it. All of it works inside a network namespace: the device
 * is created in the namespace of the calling thread.
 *
 * Everything runs on the calling thread; no function here is thread-safe.
 * Linux only. */
#ifndef GLASSTCP_TUN_H
#define GLASSTCP_TUN_H

#include "socket.h"
#include "stack.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- impairment on the TUN path ----
 * Applied in both directions as packets cross the TUN fd: kernel -> glasstcp
 * before gt_stack_input, glasstcp -> kernel before the write. Each direction
 * has its own PRNG stream derived from seed, so a given sequence of packets in
 * one direction always meets the same decisions. */
typedef struct gt_tun_impair {
	double loss;          /* probability a packet is lost, 0..1 */
	double dup;           /* probability a packet is delivered twice (100 µs apart) */
	double reorder;       /* probability a packet is held back 1 µs .. max(1.5 x delay,
	                         1 ms) extra, so that later packets overtake it */
	double corrupt;       /* probability one bit is flipped (checksums catch it) */
	gt_time_us delay_us;  /* one-way delay added in each direction */
	gt_time_us jitter_us; /* delay varies in [delay - jitter, delay + jitter]; jitter
	                         alone keeps packets in order */
	uint64_t seed;        /* PRNG seed; default 1 */
} gt_tun_impair;

/* Parses "loss=P,delay=MS,jitter=MS,reorder=P,dup=P,corrupt=P,seed=N" (any
 * subset, any order, each key at most once). P is a probability 0..1 ("0.02")
 * or a percentage ("2%"); MS is milliseconds, fractions allowed ("0.5"), at
 * most 60000; N a decimal integer. Fields not given are 0 (seed 1). Returns 0,
 * or -EINVAL with a one-line reason in err. */
int gt_tun_impair_parse(const char *spec, gt_tun_impair *out, char *err, size_t errlen);
/* "loss=0.02,delay=20ms,..." (only what is set) into buf; returns buf. */
char *gt_tun_impair_str(const gt_tun_impair *imp, char *buf, size_t len);

/* ---- the device alone ---- */

/* Opens /dev/net/tun and attaches to the TUN device name (creating it, as a
 * non-persistent device, if it does not exist: it vanishes with the last fd),
 * non-blocking and close-on-exec. ifname (at least 16 bytes) receives the
 * name. Returns the fd, or a negative errno with a reason in err. */
int gt_tun_open_device(const char *name, char *ifname, char *err, size_t errlen);
/* Gives the device the address peer/prefix_len (the kernel's side), sets its
 * MTU and brings it up; IPv6 is disabled on it (best effort) so the kernel does
 * not chatter on it. Needs CAP_NET_ADMIN. 0 or a negative errno with a reason. */
int gt_tun_configure_device(const char *ifname, uint32_t peer, unsigned prefix_len, unsigned mtu,
                            char *err, size_t errlen);

/* ---- the loop ---- */

typedef struct gt_tun gt_tun;

typedef struct gt_tun_config {
	const char *ifname;  /* device name, e.g. "tun0" (required) */
	uint32_t addr;       /* glasstcp's address: the stack's local_addr (required) */
	uint32_t peer;       /* the kernel's address on the device (required when configure) */
	unsigned prefix_len; /* default 24 */
	unsigned mtu;        /* default 1500 */
	/* Give the device its address, MTU and link up. Default true. When it
	 * fails for want of privilege (EPERM) and the device is already up,
	 * gt_tun_new goes on (someone configured it). */
	bool configure;

	/* The stack: name, buffers, timers ... ; local_addr, output, on_event and
	 * the ISN key are set by gt_tun_new (the key from getrandom()). Default:
	 * gt_stack_config_default with name "glasstcp". */
	gt_stack_config stack;

	const gt_tun_impair *impair; /* NULL: none */
	size_t impair_limit;         /* packets held by the impairment queue at most
	                                (more are dropped); default 65536 */

	/* Every packet the stack receives (after impairment) and sends (before
	 * impairment), with CLOCK_REALTIME timestamps: a capture on glasstcp's
	 * side of the path. May be NULL; not closed by gt_tun_free. */
	gt_pcap_writer *pcap;
	/* Every event of the stack, and a GT_EV_DROP (reason sim_loss) for each
	 * packet the impairment layer loses, host = the receiver (stack.name or
	 * peer_name). Must not call into the stack. May be NULL. */
	gt_event_fn on_event;
	void *event_user;
	const char *peer_name; /* the kernel side's name in events; default "linux" */
} gt_tun_config;

/* Defaults as documented above; ifname, addr and peer left 0. */
void gt_tun_config_default(gt_tun_config *cfg);

/* Opens (creates) and configures the device, creates the stack, the epoll set,
 * the timerfd and the signalfd (SIGINT and SIGTERM are blocked for the thread
 * while the gt_tun lives, and restored by gt_tun_free). Returns 0, or a
 * negative errno with a one-line reason in err. */
int gt_tun_new(const gt_tun_config *cfg, gt_tun **out, char *err, size_t errlen);
/* Closes the device (a non-persistent device disappears) and frees everything.
 * Nothing more is sent. */
void gt_tun_free(gt_tun *t);

gt_stack *gt_tun_stack(gt_tun *t);
const char *gt_tun_ifname(const gt_tun *t);
/* The loop's clock: CLOCK_MONOTONIC in microseconds, read now. */
gt_time_us gt_tun_now(const gt_tun *t);

/* The application: hooks called by gt_tun_run on the loop's thread, never from
 * inside a stack callback, so they may use the socket API freely. */
typedef struct gt_tun_app {
	/* After every batch of activity (packets, timers, watched fds, signals):
	 * do everything that can be done now. */
	void (*poll)(void *user, gt_tun *t, gt_time_us now);
	/* The next time poll must run even without activity, or GT_TIME_NEVER.
	 * May be NULL. */
	gt_time_us (*deadline)(void *user, gt_tun *t);
	/* SIGINT or SIGTERM arrived. May be NULL: then the first signal stops
	 * the loop. */
	void (*on_signal)(void *user, gt_tun *t, int signo, gt_time_us now);
	/* Around the loop's one wait (epoll_wait), for a runtime that shares the
	 * stack with other threads (bsock.h): before_wait (until: the deadline
	 * the loop sleeps to, GT_TIME_NEVER for none) may release a lock that
	 * after_wait takes again; the loop touches nothing between them. Both
	 * may be NULL. */
	void (*before_wait)(void *user, gt_tun *t, gt_time_us until);
	void (*after_wait)(void *user, gt_tun *t);
	void *user;
} gt_tun_app;
void gt_tun_set_app(gt_tun *t, const gt_tun_app *app);

/* Watched fds: fn runs when fd is ready (then poll runs, as after any batch). */
enum { GT_TUN_IN = 0x001, GT_TUN_OUT = 0x004, GT_TUN_ERR = 0x008, GT_TUN_HUP = 0x010 };
typedef void (*gt_tun_fd_fn)(void *user, gt_tun *t, int fd, unsigned revents, gt_time_us now);
/* Watches fd for events (GT_TUN_IN | GT_TUN_OUT; 0 = registered but paused).
 * -EPERM when epoll cannot watch it (a regular file, /dev/null: always
 * ready, so the application reads it from its poll hook instead), -EEXIST,
 * -ENOSPC (at most 8 fds). */
int gt_tun_watch(gt_tun *t, int fd, unsigned events, gt_tun_fd_fn fn, void *user);
/* Changes the events of a watched fd (0 pauses it). */
int gt_tun_watch_events(gt_tun *t, int fd, unsigned events);
int gt_tun_unwatch(gt_tun *t, int fd);

/* Runs the loop until gt_tun_stop. Returns 0, or a negative errno when the
 * loop cannot go on (the device vanished, epoll failed). */
int gt_tun_run(gt_tun *t);
/* Makes gt_tun_run return after the current batch (callable from any hook). */
void gt_tun_stop(gt_tun *t);

typedef struct gt_tun_stats {
	uint64_t rx_packets; /* read from the TUN fd */
	uint64_t rx_batches; /* reads of the fd that ended in EAGAIN (or the batch cap) */
	uint64_t tx_packets; /* sent by the stack */
	uint64_t tx_written; /* written to the TUN fd */
	uint64_t tx_drops;   /* writes that would have blocked (EAGAIN/ENOBUFS) */
	uint64_t tx_errors;  /* other write errors */
	uint64_t rx_bytes;   /* TCP payload in segments the stack received */
	uint64_t tx_bytes;   /* TCP payload in segments the stack sent (first time) */
	uint64_t tx_rexmit_bytes;
	uint64_t imp_lost[2]; /* by the impairment layer: [0] kernel->glasstcp, [1] back */
	uint64_t imp_dup[2];
	uint64_t imp_reordered[2];
	uint64_t imp_corrupted[2];
	uint64_t imp_overflow[2]; /* impairment queue full */
	uint64_t wakeups;         /* epoll_wait returns */
} gt_tun_stats;
const gt_tun_stats *gt_tun_get_stats(const gt_tun *t);

/* Connections in a state that still has business on the wire: anything but
 * CLOSED, LISTEN and TIME_WAIT (counted from the stack's state events). */
size_t gt_tun_live_conns(const gt_tun *t);

#ifdef __cplusplus
}
#endif
#endif
