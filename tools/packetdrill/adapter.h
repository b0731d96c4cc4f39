/* The packetdrill adapter's internals, shared by its files: one glasstcp
 * stack on a virtual clock, behind one mutex, seen through
 * struct packetdrill_interface (pd_abi.h).
 *
 * Threads: packetdrill calls from its main thread (clock, packets, most
 * socket calls) and from a second thread (the blocking calls a script marks
 * with a time range). Every entry point takes `mu`; a blocking call sleeps on
 * `changed`, which is broadcast whenever something happens that could let it
 * go on (a packet in, a timer fired, time passing a waiter's deadline). */
#ifndef GT_PD_ADAPTER_H
#define GT_PD_ADAPTER_H

#include "glasstcp/socket.h"
#include "glasstcp/stack.h"
#include "packetdrill/pd_abi.h"
#include "packetdrill/pd_flags.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One packet the stack sent, waiting for netdev_receive. */
typedef struct pd_packet {
	struct pd_packet *next;
	gt_time_us sent_at;
	size_t len;
	uint8_t data[];
} pd_packet;

/* One script socket: a real fd (so packetdrill's libc close works) backed by
 * a glasstcp socket handle. */
typedef struct pd_socket {
	bool used;
	int handle; /* gt socket handle */
	bool nonblock;
	bool connecting; /* a connect() returned EINPROGRESS; the next one reports */
} pd_socket;

/* A connection whose close() waits for SO_LINGER (sockcalls.c): the states
 * the stack reports for its tuple are followed through the event callback. */
typedef struct pd_linger_watch {
	bool active;
	gt_conn_tuple conn;
	gt_tcp_state state;
} pd_linger_watch;

typedef struct pd_adapter {
	pthread_mutex_t mu;
	pthread_cond_t changed;
	gt_stack *st;
	pd_flags flags;

	gt_time_us now;     /* the virtual clock */
	gt_time_us wake_at; /* earliest own deadline of a sleeping call */
	uint64_t activity;  /* bumped by every call that moves the clock */

	pd_packet *out_head, *out_tail; /* sent by the stack, not yet received */
	size_t out_count;
	uint64_t out_dropped; /* beyond PD_OUT_QUEUE_MAX */

	pd_socket *fds; /* indexed by the real fd */
	int fds_cap;

	pd_linger_watch linger;

	/* A call that slept has returned on thread `returner`, which has not
	 * read the clock since: packetdrill's thread takes the call's end time
	 * with its next gettimeofday, so the clock waits for that (clock.c). */
	bool returner_pending;
	pthread_t returner;
	/* Calls asleep in pd_wait_change, and how many of them have not yet
	 * woken since the last broadcast: a big clock step lets them look
	 * first, so that one about to return reads the clock before it moves. */
	unsigned sleeping;
	unsigned unwoken;
	/* Threads that will move the clock themselves once their short real
	 * wait ends (netdev_receive, pd_await_returner): while there are any,
	 * a sleeping call does not move it for them. */
	unsigned movers_waiting;
} pd_adapter;

/* Bounds: the outbound queue, and how long netdev_receive lets virtual time
 * run with nothing sent before it gives up: 3 hours, past the 2-hour
 * keep-alive default (RFC 1122 §4.2.3.6) a script may wait for. Virtual
 * time costs nothing, and a packet that does come, too late, fails the
 * script on its timing anyway. */
#define PD_OUT_QUEUE_MAX     4096
#define PD_RECEIVE_GIVE_UP   (3ull * 3600 * 1000000) /* 3 virtual hours */
#define PD_GETTIMEOFDAY_STEP 1                       /* virtual µs per clock reading */

/* clock.c */
/* Moves the clock to `to` (never back), running every timer due on the way
 * at its own deadline; broadcasts `changed` when something happened. */
void pd_advance_to(pd_adapter *a, gt_time_us to);
/* Sleeps (mu held) until something changes or until the virtual time
 * own_deadline (GT_TIME_NEVER: none). When no other thread has moved the
 * clock for a while, the sleeper moves it itself to the next stack deadline
 * or its own, whichever is first: no one else is there to. Returns
 * PD_WAIT_CHANGED (look again), PD_WAIT_DEADLINE (own_deadline has passed),
 * or -EDEADLK, with a message, when nothing can ever wake it: no timer, no
 * deadline of its own, and no other thread doing anything for
 * PD_STUCK_REAL_NS of real time (a blocking call made where nobody is left
 * to answer it fails rather than hang). */
enum { PD_WAIT_CHANGED = 0, PD_WAIT_DEADLINE = 1 };
int pd_wait_change(pd_adapter *a, gt_time_us own_deadline);
/* Sleeps (mu held) until a broadcast or ns of real time, moving nothing. */
void pd_wait_real(pd_adapter *a, long ns);
void pd_broadcast(pd_adapter *a);
/* Every entry point that may have slept calls this as it returns (mu held):
 * if this thread slept, its next clock reading is the call's end time. */
void pd_call_returns(pd_adapter *a);
/* Before a big step of the clock (usleep, netdev_receive): lets every
 * sleeping call woken by the last change look again, and a thread whose
 * call returned read the clock, first (at most PD_RETURNER_WAIT_NS of real
 * time). True when it waited for someone: what they did (a packet sent, a
 * timer armed) is then to be looked at again. */
bool pd_await_returner(pd_adapter *a);
int pd_gettimeofday(void *userdata, struct timeval *tv, void *tz);
int pd_usleep(void *userdata, useconds_t usec);

/* netdev.c */
void pd_output(void *user, const uint8_t *pkt, size_t len);
void pd_queue_free(pd_adapter *a);
int pd_netdev_send(void *userdata, const void *buf, size_t count);
int pd_netdev_receive(void *userdata, void *buf, size_t *count, long long *time_usecs);

/* fdtable.c */
/* A new real fd for handle; -1 with errno when none. */
int pd_fd_new(pd_adapter *a, int handle, bool nonblock);
/* The script socket of a real fd, or NULL (errno EBADF). */
pd_socket *pd_fd_get(pd_adapter *a, int fd);
/* Forgets fd and closes the real one. */
void pd_fd_release(pd_adapter *a, int fd);

/* sockcalls.c, iocalls.c, options.c: the socket calls of the interface */
void pd_fill_socket_calls(struct packetdrill_interface *ifc);
void pd_fill_io_calls(struct packetdrill_interface *ifc);
void pd_fill_option_calls(struct packetdrill_interface *ifc);
/* Writes a sockaddr_in of ip:port into addr (at most *len bytes); *len
 * becomes its size. Nothing when addr or len is NULL. */
void pd_fill_sockaddr(struct sockaddr *addr, socklen_t *len, uint32_t ip, uint16_t port);
/* -1 with errno = -err (for a negative glasstcp errno). */
int pd_fail(int err);
/* The event callback: follows the SO_LINGER watch. */
void pd_on_event(void *user, const gt_event *ev);

#endif
