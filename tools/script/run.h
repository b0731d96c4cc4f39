/* The state of one script run, shared by the runner (run.c), the socket
 * calls (call.c) and the thread of blocking calls (worker.c). */
#ifndef GT_SCRIPT_RUN_H
#define GT_SCRIPT_RUN_H

#include "script/ast.h"
#include "script/script.h"

#include <pthread.h>
#include <stdatomic.h>

#define GT_SPD_MAX_SOCKETS 64
#define GT_SPD_MAX_TS_MAP  4096

/* What the runner knows of a socket: packetdrill's "socket under test". */
typedef enum gt_spd_sock_state {
	GT_SPD_SOCK_NEW,            /* socket() */
	GT_SPD_SOCK_LISTENING,      /* listen() */
	GT_SPD_SOCK_PASSIVE_PACKET, /* an inbound packet made it (a child) */
	GT_SPD_SOCK_PASSIVE_SYNACK, /* its SYN-ACK seen: local ISN known */
	GT_SPD_SOCK_CONNECTING,     /* connect(): waiting for its SYN */
	GT_SPD_SOCK_SYN_SENT,       /* its SYN seen: local port and ISN known */
} gt_spd_sock_state;

typedef struct gt_spd_sock {
	gt_spd_sock_state state;
	int script_fd, live_fd; /* -1: none */
	uint16_t local_port, remote_port;
	uint32_t script_local_isn, live_local_isn;
	/* the peer's ISN, as packetdrill takes it: the seq of the inbound packet
	 * that made a passive connection, or of the SYN-ACK an active one got.
	 * The script's other inbound seqs, and the ACKs the stack sends, count
	 * from it (a SYN's own seq, and a SYN-ACK's ack, stand as written). */
	uint32_t remote_isn;
	bool remote_isn_set;
	/* TS val mapping (RFC 7323 §3.2): the script's values of outbound TS
	 * val and the live ones, to map inbound TS ecr */
	uint32_t ts_script[GT_SPD_MAX_TS_MAP], ts_live[GT_SPD_MAX_TS_MAP];
	size_t n_ts, ts_next;
	bool ts_found;
	uint32_t first_script_ts, first_live_ts;
} gt_spd_sock;

typedef enum gt_spd_worker_state {
	GT_SPD_WORKER_IDLE,
	GT_SPD_WORKER_ENQUEUED,
	GT_SPD_WORKER_RUNNING,
} gt_spd_worker_state;

/* A thread that makes socket calls: one for the blocking calls, one for
 * the others (so that a call that blocks when it should not is caught, not
 * a hang). */
typedef struct gt_spd_worker {
	struct gt_spd_run *r;
	bool blocking; /* the thread of "+0...T" calls: checks their return time */
	pthread_t thread;
	bool started, exit;
	pthread_cond_t cv;
	atomic_int state;
	atomic_int in_call; /* inside the interface's function */
	atomic_int tid;
	size_t event;
	int64_t live_end; /* the interface's clock when the call returned */
} gt_spd_worker;

typedef struct gt_spd_run {
	const gt_spd_script *s;
	gt_script_config cfg;
	struct packetdrill_interface *ifc;
	uint32_t local_ip, remote_ip;  /* host order */
	int64_t live_start;            /* the interface's clock at the start */
	int64_t *t, *t_end, *call_end; /* per event, absolute script times once run */
	long last;                     /* index of the last event run, -1 */
	gt_spd_sock sock[GT_SPD_MAX_SOCKETS];
	size_t n_sock;
	gt_spd_sock *under_test;
	uint16_t next_port;
	gt_script_result *res;
	bool failed;
	pthread_mutex_t lock; /* the run's state, between the threads */
	gt_spd_worker blocking, immediate;
} gt_spd_run;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
/* Records the run's first failure, "PATH:LINE: what"; returns false. */
bool gt_spd_fail(gt_spd_run *r, int line, const char *fmt, ...);

/* The interface's clock, in microseconds. */
int64_t gt_spd_now(gt_spd_run *r);

/* packetdrill's time check: actual (live microseconds) against the script's
 * time or range, with the tolerance (or tolerance_percent of the time since
 * last_usecs, when that is larger). False with a message in err. */
bool gt_spd_check_time(const gt_spd_run *r, gt_spd_time_kind kind, int64_t script_usecs,
                       int64_t script_end_usecs, int64_t live_usecs, int64_t last_usecs,
                       const char *what, char *err, size_t err_len);
#define GT_SPD_NO_LAST INT64_MIN

/* Runs event i's socket call and checks its result (call.c), on worker w's
 * thread. Called with r->lock held; the interface's function runs without
 * it, and w->live_end gets the clock when it returned. */
bool gt_spd_run_call(gt_spd_run *r, size_t i, gt_spd_worker *w);

/* The socket of a script fd, or NULL. */
gt_spd_sock *gt_spd_sock_of(gt_spd_run *r, int script_fd);

/* The threads of calls (worker.c), all with r->lock held. */
void gt_spd_worker_init(gt_spd_run *r, gt_spd_worker *w, bool blocking);
/* Hands event i's call to w and waits until it returned or blocks. */
bool gt_spd_worker_start_call(gt_spd_worker *w, size_t i);
/* Waits until w's call (if any) returned or is blocked in the interface.
 * True when w is idle. */
bool gt_spd_worker_settle(gt_spd_worker *w);
/* Ends the thread; false when a call is still blocked (then it is left
 * behind, detached, and the interface must not be freed). */
bool gt_spd_worker_stop(gt_spd_worker *w);

#endif
