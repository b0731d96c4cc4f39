/* Internals of the services (svc.c, http_server.c) shared with their tests;
 * not part of the contract of service.h.
 *
 * svc.c owns the listener and every connection's socket, and ends each
 * connection (lingering close, see svc.c); the protocol handlers only read and
 * write. http_server.c is the "http" handler. */
#ifndef GT_TOOLS_HTTP_H
#define GT_TOOLS_HTTP_H

#include "apps/service.h"

#include <stdbool.h>
#include <stdint.h>

#define GT_SVC_SEC 1000000ull

/* An HTTP connection waiting for a request (idle keep-alive, or a request
 * arriving too slowly) is closed after this. */
#define GT_HTTP_IDLE_US (15 * GT_SVC_SEC)
/* echo and discard connections with no traffic either way are closed after this. */
#define GT_SVC_IDLE_US (300 * GT_SVC_SEC)
/* An http response that makes no progress for this long (the peer stopped
 * reading) is aborted: what was promised can no longer be delivered. (echo
 * gives a stalled peer GT_SVC_IDLE_US, then aborts if bytes are pending.) */
#define GT_SVC_STALL_US (60 * GT_SVC_SEC)
/* Lingering close: after our FIN, read and discard until the peer's FIN, at
 * most this long after the last progress of our queued data. */
#define GT_SVC_LINGER_US (2 * GT_SVC_SEC)
/* The request line and header fields together: beyond this, 414 or 431. */
#define GT_HTTP_HDR_MAX 8192
/* The file-to-socket buffer (one per server, shared by its connections). */
#define GT_HTTP_IOBUF 65536
/* The listener's SYN and accept queues. */
#define GT_SVC_BACKLOG 511

typedef struct gt_service_stats {
	uint64_t accepted;  /* connections accepted */
	uint64_t closed;    /* ended by us with FIN (or after the peer's FIN) */
	uint64_t aborted;   /* ended by us with RST (a stalled peer, a file that shrank) */
	uint64_t failed;    /* ended by the peer or the network (RST, timeout) */
	uint64_t timeouts;  /* of the closed, closed for being idle */
	uint64_t bytes_in;  /* application bytes read (requests, echo, discard) */
	uint64_t bytes_out; /* application bytes queued with gt_send */
	uint64_t requests;  /* http: responses started */
	uint64_t status[6]; /* http: responses by class, status[2] for 2xx ... */
} gt_service_stats;

const gt_service_stats *gt_service_get_stats(const gt_service *svc);

/* What a protocol handler wants done with its connection after a poll. */
typedef enum gt_svc_verdict {
	GT_SVC_WAIT,  /* nothing more now: poll again on activity or at the deadline */
	GT_SVC_CLOSE, /* finished: end the connection gracefully (FIN, lingering close) */
	GT_SVC_ABORT, /* end it with RST: what was promised cannot be delivered */
	GT_SVC_GONE   /* the connection failed (reset, timed out): release the handle */
} gt_svc_verdict;

/* ---- the http handler (http_server.c) ---- */

typedef struct gt_http_server gt_http_server;
typedef struct gt_http_conn gt_http_conn;

/* Serves the files under dir (resolved with realpath once, here). NULL with a
 * one-line reason when dir is not a readable directory, or for want of memory. */
gt_http_server *gt_http_server_new(const char *dir, char *err, size_t errlen);
void gt_http_server_free(gt_http_server *srv);

gt_http_conn *gt_http_conn_new(gt_time_us now);
void gt_http_conn_free(gt_http_conn *c);
/* Reads requests and writes responses on sock as far as possible now. With
 * stopping, starts no new response and returns GT_SVC_CLOSE once the one in
 * flight is queued. */
gt_svc_verdict gt_http_conn_poll(gt_http_server *srv, gt_http_conn *c, gt_stack *st, int sock,
                                 bool stopping, gt_service_stats *stats, gt_time_us now);
/* When the connection times out (idle or stalled) if nothing happens. */
gt_time_us gt_http_conn_deadline(const gt_http_conn *c);

#endif
