/* `glasstcp up`'s status outputs (stats.h renders them): SIGUSR1 prints the
 * counters and the connection table on stderr, and a control socket (a UNIX
 * stream socket) answers `glasstcp ss` (ss.c) with either, text or JSON.
 *
 * The protocol: the client sends one line of words, "conns" and/or
 * "counters", optionally "json"; up answers "ok\n" and the rendering, or
 * "error: ...\n", and closes. */
#ifndef GT_TOOLS_UP_STATUS_H
#define GT_TOOLS_UP_STATUS_H

#include <glasstcp/tun.h>
#include <stddef.h>

/* The control sockets' directory when no --ctl is given: /run/glasstcp as
 * root, else $XDG_RUNTIME_DIR/glasstcp, else /tmp/glasstcp-UID. */
void up_ctl_default_dir(char *buf, size_t len);
/* DIR/IFNAME.sock in that directory. */
void up_ctl_default_path(const char *ifname, char *buf, size_t len);

typedef struct up_status up_status;
/* SIGUSR1 on t (blocked, read from a signalfd, so that the output is written
 * by the loop and never from a handler); title heads the counters. NULL with
 * a reason in err. */
up_status *up_status_new(gt_tun *t, const char *title, char *err, size_t errlen);
/* Serves the control socket at path (a stale socket there, one nobody
 * answers on, is replaced; the default directory is made). 0, or -1 with a
 * reason in err. */
int up_status_listen(up_status *s, const char *path, bool make_dir, char *err, size_t errlen);
/* The application's hooks: clients that stay silent are closed after a
 * while. */
gt_time_us up_status_deadline(const up_status *s);
void up_status_poll(up_status *s, gt_time_us now);
/* Closes everything, removes the socket, unblocks SIGUSR1. */
void up_status_free(up_status *s);

#endif
