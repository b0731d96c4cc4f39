/* Applications over the socket API: the services `glasstcp up --serve` hosts
 * (echo, discard, http) and the HTTP client of `glasstcp get`. They never
 * block and never read a clock: any shell drives them — the simulated network
 * in tests, the TUN event loop for real — by calling *_poll after every batch
 * of stack activity and when *_deadline has come. */
#ifndef GT_TOOLS_SERVICE_H
#define GT_TOOLS_SERVICE_H

#include <glasstcp/glasstcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct gt_service gt_service;

/* Starts a service from a spec: "echo:PORT", "discard:PORT", "http:PORT:DIR".
 * Returns NULL and writes a one-line reason into err on a bad spec, a DIR that
 * is not a directory, or when the port cannot be bound ("port 80 is already in
 * use"). echo is RFC 862 (a peer's half-close is answered once everything is
 * echoed), discard RFC 863; http serves GET and HEAD of the files under DIR
 * (tools/apps/http_server.c says what it answers). */
gt_service *gt_service_new(gt_stack *st, const char *spec, gt_time_us now, char *err,
                           size_t errlen);
/* Accepts, reads, writes, closes: everything that can be done now. Visits
 * every connection (cheaply: O(n) per call). */
void gt_service_poll(gt_service *svc, gt_time_us now);
/* The next time the service needs a poll without stack activity (idle
 * keep-alive timeouts, lingering closes ...), or GT_TIME_NEVER. */
gt_time_us gt_service_deadline(const gt_service *svc);
/* Graceful stop: accepts what waits in the listener's queue, closes the
 * listener, and ends every connection with FIN (after what is queued, and for
 * http after the response in flight), never RST: each connection then reads
 * and drops what the peer still sends until its FIN, for at most ~2 s without
 * progress (a lingering close), and only then releases its handle. Keep
 * polling until gt_service_active() is 0. */
void gt_service_shutdown(gt_service *svc, gt_time_us now);
/* Connections the service still holds open (lingering ones included; not
 * those the stack goes on closing alone, in FIN_WAIT_2 or TIME_WAIT). */
size_t gt_service_active(const gt_service *svc);
const char *gt_service_name(const gt_service *svc); /* "http:80" */
/* Frees the service; connections still held are closed at once (FIN where
 * nothing is unread) and the listener too, if gt_service_shutdown was not
 * called. */
void gt_service_free(gt_service *svc);

/* An HTTP/1.1 GET over one connection ("Connection: close"): status line and
 * headers parsed (bounded: 16 KiB), interim 1xx responses skipped, the body
 * (Content-Length, chunked, or until close) written to out whatever the
 * status, through a fixed 64 KiB buffer. out may be NULL (body dropped). No
 * timer of its own: a dead peer ends it through the stack's retransmission
 * limits (-ETIMEDOUT). */
typedef struct gt_http_get gt_http_get;
/* url: "http://A.B.C.D[:PORT]/path" (IPv4 literals only: no name
 * resolution). Connects at once. NULL with err on a bad URL or when no
 * connection can be opened (no socket, no ephemeral port). */
gt_http_get *gt_http_get_new(gt_stack *st, const char *url, FILE *out, gt_time_us now, char *err,
                             size_t errlen);
void gt_http_get_poll(gt_http_get *g, gt_time_us now);
bool gt_http_get_done(const gt_http_get *g);
/* After done: 0 on a complete 2xx body; otherwise a negative errno (-ECONNREFUSED,
 * -ECONNRESET, -ETIMEDOUT, -EPROTO for a malformed or truncated response, the
 * errno of a failed write to out such as -ENOSPC) or the HTTP status of a
 * complete non-2xx response. Before done: -EINPROGRESS. http_status is 0 when
 * no status line was read; body_bytes counts what reached out. */
int gt_http_get_result(const gt_http_get *g, int *http_status, uint64_t *body_bytes);
void gt_http_get_free(gt_http_get *g);

#endif
