/* The Linux kernel's side of glasstcp's connections, live: TCP state changes
 * from the tracepoint sock:inet_sock_set_state (tracefs), with TIME_WAIT told
 * apart through sock_diag (the netlink interface behind `ss -tan`), turned
 * into GT_EV_STATE events so they merge into glasstcp's own trace.
 * How it works and what it cannot see: docs/kernel-states.md. */
#ifndef GT_TOOLS_KSTATES_H
#define GT_TOOLS_KSTATES_H

#include <glasstcp/glasstcp.h>
#include <stddef.h>

typedef struct gt_kstates gt_kstates;

/* Watches the kernel's TCP sockets whose local or remote address is addr (the
 * address glasstcp uses; host byte order). Needs root and tracefs (mounted at
 * /sys/kernel/tracing if it is not). Enables the tracepoint in a tracefs
 * instance of its own (instances/glasstcp-PID), filtered on addr; the
 * tracepoint is global, so give each run an address no other network
 * namespace uses. Call it in the network namespace of the kernel sockets
 * (under `ip netns exec`, the process's own): sock_diag sees only that one.
 * Returns 0, or a negative errno with a one-line reason in err (e.g. -EPERM
 * "not root: cannot enable the tracepoint ...", -ENOENT without tracefs or
 * the tracepoint); the caller can go on without the Linux side. */
int gt_kstates_open(uint32_t addr, const char *host_name, gt_kstates **out, char *err,
                    size_t errlen);
/* An fd that becomes readable when the kernel reports something (epoll it,
 * level-triggered: one gt_kstates_process may leave lines for the next). */
int gt_kstates_fd(const gt_kstates *ks);
/* Reads what the kernel reported and emits GT_EV_STATE events (host =
 * host_name, conn = the kernel socket's tuple with its local end first, t_us on
 * CLOCK_MONOTONIC in microseconds, cause "linux", sock -1). State names are
 * mapped to RFC 9293's (TCP_SYN_RECV -> SYN_RECEIVED, TCP_FIN_WAIT2 ->
 * FIN_WAIT_2 ...); a socket handed to a time-wait mini-socket is reported as
 * -> TIME_WAIT, and its end (seen through sock_diag) as TIME_WAIT -> CLOSED, as
 * `ss` shows it. now is the caller's CLOCK_MONOTONIC time; it dates what only
 * polling sees (the end of TIME_WAIT). Call it when the fd is readable and
 * when gt_kstates_deadline has come. Events are not always emitted in t_us
 * order (CLOSED -> SYN_SENT waits for the port connect() picks; a TIME_WAIT
 * found by polling is dated from its timer): order by t_us. */
void gt_kstates_process(gt_kstates *ks, gt_time_us now, gt_event_fn fn, void *user);
/* When gt_kstates_process wants to run again without fd activity (to poll
 * sock_diag for TIME_WAIT ends and entries, or for a connecting socket's
 * port), or GT_TIME_NEVER. */
gt_time_us gt_kstates_deadline(const gt_kstates *ks);
/* Ends a recording: reads what the kernel has reported, then keeps polling for
 * what falls due within grace_us (an orphaned FIN_WAIT_2 handed to a time-wait
 * mini-socket, a connecting socket's port) and emits it. Blocks for at most
 * grace_us; the kernel's last step right after the caller's own exit is not
 * lost. */
void gt_kstates_drain(gt_kstates *ks, gt_time_us grace_us, gt_event_fn fn, void *user);
/* Disables the tracepoint it enabled, removes its tracefs instance and frees
 * everything. NULL is allowed. */
void gt_kstates_close(gt_kstates *ks);

#endif
