/* The runner (script.h, run.h): executes a parsed script's events in order,
 * in the interface's time, the way packetdrill's run.c and run_packet.c do
 * (their semantics, written anew): it sleeps until an inbound packet's or a
 * call's time, injects or calls, checks the time it happened; it reads the
 * next packet the stack sent for an outbound line and checks it and its time.
 */
#include "script/run.h"
#include "script/packet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void gt_script_config_default(gt_script_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->so_flags = "";
	cfg->tolerance_usecs = 4000;
	cfg->tolerance_percent = 12.5;
	cfg->local_ip = "192.168.0.1";
	cfg->remote_ip = "192.0.2.1";
	cfg->bind_port = 8080;
	cfg->connect_port = 8080;
}

bool gt_spd_fail(gt_spd_run *r, int line, const char *fmt, ...)
{
	if (r->failed)
		return false;
	r->failed = true;
	r->res->pass = false;
	r->res->line = line;
	int n = snprintf(r->res->message, sizeof(r->res->message), "%s:%d: ", r->s->path, line);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(r->res->message))
		vsnprintf(r->res->message + n, sizeof(r->res->message) - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

int64_t gt_spd_now(gt_spd_run *r)
{
	struct timeval tv = {0};
	r->ifc->gettimeofday(r->ifc->userdata, &tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* The clock, read by the main thread: then a blocking call the reading
 * woke (a timer due at this microsecond) returns and reads the clock
 * itself before the main thread reads it again, so that each run
 * interleaves the two the same way. */
static int64_t main_now(gt_spd_run *r)
{
	int64_t now = gt_spd_now(r);
	gt_spd_worker_settle(&r->blocking);
	return now;
}

/* After the main thread's call into the interface (which may have woken a
 * blocking call), the same. */
static void after_interface(gt_spd_run *r)
{
	gt_spd_worker_settle(&r->blocking);
}

static double secs(int64_t usecs)
{
	return (double)usecs / 1e6;
}

bool gt_spd_check_time(const gt_spd_run *r, gt_spd_time_kind kind, int64_t script_usecs,
                       int64_t script_end_usecs, int64_t live_usecs, int64_t last_usecs,
                       const char *what, char *err, size_t err_len)
{
	int64_t actual = live_usecs - r->live_start;
	int64_t tol = r->cfg.tolerance_usecs;
	if (kind == GT_SPD_TIME_ANY)
		return true;
	if (last_usecs != GT_SPD_NO_LAST) {
		int64_t dynamic = (int64_t)(r->cfg.tolerance_percent / 100.0 *
		                            (double)(script_usecs - last_usecs));
		if (dynamic > tol)
			tol = dynamic;
	}
	if (kind == GT_SPD_TIME_ABSOLUTE_RANGE || kind == GT_SPD_TIME_RELATIVE_RANGE) {
		if (actual >= script_usecs - tol && actual <= script_end_usecs + tol)
			return true;
		snprintf(err, err_len,
		         "timing error: expected %s in time range %.6f~%.6f sec, but it happened "
		         "at %.6f sec",
		         what, secs(script_usecs), secs(script_end_usecs), secs(actual));
		return false;
	}
	if (actual >= script_usecs - tol && actual <= script_usecs + tol)
		return true;
	snprintf(err, err_len,
	         "timing error: expected %s at %.6f sec, but it happened at %.6f sec "
	         "(tolerance %.6f sec)",
	         what, secs(script_usecs), secs(actual), secs(tol));
	return false;
}

static int64_t last_time(const gt_spd_run *r)
{
	return r->last < 0 ? GT_SPD_NO_LAST : r->t[r->last];
}

static bool is_inbound(const gt_spd_event *ev)
{
	return ev->kind == GT_SPD_EVENT_PACKET && ev->packet.inbound;
}

/* Relative times count from now, except consecutive inbound packets, which
 * count from the previous one's script time (packetdrill does the same, so
 * processing delays do not add up). */
static void make_absolute(gt_spd_run *r, size_t i)
{
	const gt_spd_event *ev = &r->s->event[i];
	if (ev->time_kind != GT_SPD_TIME_ANY && ev->time_kind != GT_SPD_TIME_RELATIVE &&
	    ev->time_kind != GT_SPD_TIME_RELATIVE_RANGE)
		return;
	int64_t offset;
	if (r->last >= 0 && is_inbound(&r->s->event[r->last]) && is_inbound(ev))
		offset = r->t[r->last];
	else
		offset = main_now(r) - r->live_start;
	r->t[i] += offset;
	if (ev->time_kind == GT_SPD_TIME_RELATIVE_RANGE)
		r->t_end[i] += offset;
	if (ev->time_kind == GT_SPD_TIME_RELATIVE && ev->kind == GT_SPD_EVENT_CALL &&
	    ev->call.blocking)
		r->call_end[i] += offset;
}

/* Sleeps (in the interface's time) until event i's time. */
static bool wait_for(gt_spd_run *r, size_t i)
{
	int64_t target = r->live_start + r->t[i];
	for (int64_t before = INT64_MIN;;) {
		int64_t now = main_now(r);
		if (now >= target)
			return true;
		if (now <= before)
			return gt_spd_fail(r, r->s->event[i].line,
			                   "the interface's clock does not advance in usleep()");
		before = now;
		int64_t wait = target - now;
		pthread_mutex_unlock(&r->lock);
		r->ifc->usleep(r->ifc->userdata,
		               (useconds_t)(wait > 1000000000 ? 1000000000 : wait));
		pthread_mutex_lock(&r->lock);
		after_interface(r);
	}
}

static bool check_start_time(gt_spd_run *r, size_t i, const char *what)
{
	char err[512];
	const gt_spd_event *ev = &r->s->event[i];
	if (gt_spd_check_time(r, ev->time_kind, r->t[i], r->t_end[i], main_now(r), last_time(r),
	                      what, err, sizeof(err)))
		return true;
	return gt_spd_fail(r, ev->line, "%s", err);
}

/* ---- sockets ---- */

gt_spd_sock *gt_spd_sock_of(gt_spd_run *r, int script_fd)
{
	for (size_t k = r->n_sock; k-- > 0;)
		if (r->sock[k].script_fd == script_fd)
			return &r->sock[k];
	return NULL;
}

/* An inbound packet with no connection to go to makes one, as a peer
 * connecting to the listener from a new port would. */
static gt_spd_sock *child_for_inbound(gt_spd_run *r, const gt_spd_packet *pk, int line)
{
	gt_spd_sock *parent = r->under_test;
	if (r->n_sock == GT_SPD_MAX_SOCKETS) {
		gt_spd_fail(r, line, "more than %d sockets", GT_SPD_MAX_SOCKETS);
		return NULL;
	}
	gt_spd_sock *c = &r->sock[r->n_sock++];
	memset(c, 0, sizeof(*c));
	c->state = GT_SPD_SOCK_PASSIVE_PACKET;
	c->script_fd = c->live_fd = -1;
	c->local_port = parent && parent->local_port ? parent->local_port : r->cfg.bind_port;
	c->remote_port = r->next_port++;
	if (pk->dst_port)
		c->local_port = pk->dst_port;
	if (pk->src_port)
		c->remote_port = pk->src_port;
	c->remote_isn = pk->seq;
	c->remote_isn_set = true;
	r->under_test = c;
	return c;
}

static uint32_t local_offset(const gt_spd_sock *c)
{
	return c->live_local_isn - c->script_local_isn;
}

static bool map_ecr(gt_spd_run *r, gt_spd_sock *c, const gt_spd_packet *pk, int line,
                    gt_spd_inbound *in)
{
	uint32_t val, ecr;
	if (!(pk->flags & GT_SPD_ACK) || !gt_spd_find_ts(pk->options, pk->options_len, &val, &ecr))
		return true;
	in->map_ecr = true;
	for (size_t k = 0; k < c->n_ts; k++) {
		if (c->ts_script[k] == ecr) {
			in->ecr_live = c->ts_live[k];
			return true;
		}
	}
	if (r->cfg.ts_ecr_scaled && c->ts_found) {
		in->ecr_live = ecr - c->first_script_ts + c->first_live_ts;
		return true;
	}
	return gt_spd_fail(r, line,
	                   "unable to infer live TS ecr for script TS ecr %u: no outbound "
	                   "packet of the script had TS val %u",
	                   ecr, ecr);
}

static bool run_inbound(gt_spd_run *r, size_t i)
{
	const gt_spd_event *ev = &r->s->event[i];
	const gt_spd_packet *pk = &ev->packet;
	if (!wait_for(r, i) || !check_start_time(r, i, "inbound packet"))
		return false;
	gt_spd_sock *c = r->under_test;
	if (pk->icmp && (!c || c->state == GT_SPD_SOCK_NEW || c->state == GT_SPD_SOCK_LISTENING))
		return gt_spd_fail(r, ev->line, "an icmp packet needs a connection to quote");
	if (!c || c->state == GT_SPD_SOCK_NEW || c->state == GT_SPD_SOCK_LISTENING)
		c = child_for_inbound(r, pk, ev->line);
	if (!c)
		return false;
	if (!pk->icmp && !c->remote_isn_set &&
	    (pk->flags & (GT_SPD_SYN | GT_SPD_ACK)) == (GT_SPD_SYN | GT_SPD_ACK)) {
		c->remote_isn = pk->seq; /* an active connection's SYN-ACK */
		c->remote_isn_set = true;
	}
	gt_spd_inbound in = {.src_ip = r->remote_ip,
	                     .dst_ip = r->local_ip,
	                     .src_port = c->remote_port,
	                     .dst_port = c->local_port,
	                     .seq_offset = (pk->flags & GT_SPD_SYN) ? 0 : c->remote_isn,
	                     .ack_offset = local_offset(c)};
	if (!pk->icmp && !map_ecr(r, c, pk, ev->line, &in))
		return false;
	uint8_t buf[20 + 60 + 65535];
	size_t n = pk->icmp ? gt_spd_build_icmp(pk, &in, buf, sizeof(buf))
	                    : gt_spd_build_inbound(pk, &in, buf, sizeof(buf));
	if (!n)
		return gt_spd_fail(r, ev->line, "inbound packet too large");
	if (r->cfg.verbose) {
		char text[384];
		gt_spd_format_packet(pk, text, sizeof(text));
		fprintf(r->cfg.verbose, "  sent < %s (live seq %u ack %u, port %u > %u)\n", text,
		        pk->seq + in.seq_offset, pk->ack + in.ack_offset, in.src_port, in.dst_port);
	}
	pthread_mutex_unlock(&r->lock);
	int rc = r->ifc->netdev_send(r->ifc->userdata, buf, n);
	pthread_mutex_lock(&r->lock);
	after_interface(r);
	if (rc < 0)
		return gt_spd_fail(r, ev->line, "the interface refused the inbound packet: %s",
		                   strerror(errno));
	return true;
}

/* ---- outbound packets ---- */

/* Is the live packet w the socket under test's? Learns the local port and
 * ISN from a connecting socket's SYN. */
static bool is_for(gt_spd_run *r, gt_spd_sock *c, const gt_spd_wire *w)
{
	if (w->src_ip != r->local_ip || w->dst_ip != r->remote_ip)
		return false;
	if (c->state == GT_SPD_SOCK_CONNECTING) {
		if ((w->flags & (GT_SPD_SYN | GT_SPD_ACK)) != GT_SPD_SYN ||
		    w->dst_port != c->remote_port)
			return false;
		c->state = GT_SPD_SOCK_SYN_SENT;
		c->local_port = w->src_port;
		c->live_local_isn = w->seq;
		return true;
	}
	return w->src_port == c->local_port && w->dst_port == c->remote_port;
}

/* The next live packet for the socket under test, skipping others (as
 * packetdrill does). False when the stack sent none. */
static bool sniff(gt_spd_run *r, gt_spd_sock *c, int line, uint8_t *buf, size_t cap, gt_spd_wire *w,
                  int64_t *when)
{
	char err[256];
	for (long skipped = 0;; skipped++) {
		if (skipped == 100000)
			return gt_spd_fail(r, line,
			                   "expected an outbound packet for the connection "
			                   "under test, but 100000 others came");
		size_t n = cap;
		long long t = 0;
		pthread_mutex_unlock(&r->lock);
		int rc = r->ifc->netdev_receive(r->ifc->userdata, buf, &n, &t);
		pthread_mutex_lock(&r->lock);
		after_interface(r);
		if (r->failed)
			return false;
		if (rc < 0 || n == 0)
			return gt_spd_fail(r, line,
			                   "expected an outbound packet, but the stack sent none "
			                   "(waited until %.6f sec)",
			                   secs(main_now(r) - r->live_start));
		if (!gt_spd_wire_parse(buf, n, w, err, sizeof(err)))
			return gt_spd_fail(r, line, "outbound packet: %s", err);
		*when = t;
		if (is_for(r, c, w))
			return true;
		if (r->cfg.verbose)
			fprintf(
			    r->cfg.verbose,
			    "  (skipped an outbound packet of another connection: port %u > %u, "
			    "the socket under test's %u > %u)\n",
			    w->src_port, w->dst_port, c->local_port, c->remote_port);
	}
}

/* TS val: remembers the script's value for the live one (to map inbound
 * ecr), and rewrites the live value into the script's space. */
static void map_ts_val(gt_spd_sock *c, const gt_spd_packet *script, gt_spd_packet *actual)
{
	uint32_t sval, secr, aval, aecr;
	if (!gt_spd_find_ts(script->options, script->options_len, &sval, &secr) ||
	    !gt_spd_find_ts(actual->options, actual->options_len, &aval, &aecr))
		return;
	size_t k = 0;
	while (k < c->n_ts && c->ts_script[k] != sval)
		k++;
	if (k == c->n_ts) {
		if (c->n_ts < GT_SPD_MAX_TS_MAP)
			k = c->n_ts++;
		else
			k = c->ts_next++ % GT_SPD_MAX_TS_MAP;
	}
	c->ts_script[k] = sval;
	c->ts_live[k] = aval;
	if (!c->ts_found) {
		c->ts_found = true;
		c->first_script_ts = sval;
		c->first_live_ts = aval;
	}
	gt_spd_set_ts_val(actual->options, actual->options_len,
	                  c->first_script_ts + (aval - c->first_live_ts));
}

static int64_t ts_tolerance_ticks(const gt_spd_run *r, size_t i)
{
	if (r->cfg.ts_tick_usecs <= 0)
		return -1;
	int64_t tol = r->cfg.tolerance_usecs;
	int64_t dynamic = (int64_t)(r->cfg.tolerance_percent / 100.0 * (double)r->t[i]);
	if (dynamic > tol)
		tol = dynamic;
	return tol / r->cfg.ts_tick_usecs;
}

static bool verify_outbound(gt_spd_run *r, size_t i, gt_spd_sock *c, const gt_spd_wire *w,
                            int64_t when)
{
	const gt_spd_event *ev = &r->s->event[i];
	gt_spd_packet actual;
	gt_spd_to_script(w, local_offset(c), (w->flags & GT_SPD_SYN) ? 0 : c->remote_isn, &actual);
	map_ts_val(c, &ev->packet, &actual);
	char err[512], want[384], got[384];
	if (r->cfg.verbose) {
		gt_spd_format_packet(&actual, got, sizeof(got));
		fprintf(r->cfg.verbose, "  got > %s at %.6f (live seq %u ack %u)\n", got,
		        secs(when - r->live_start), w->seq, w->ack);
	}
	bool ok = gt_spd_match(&ev->packet, &actual, w->payload, ts_tolerance_ticks(r, i), err,
	                       sizeof(err));
	if (ok)
		ok = gt_spd_check_time(r, ev->time_kind, r->t[i], r->t_end[i], when, last_time(r),
		                       "outbound packet", err, sizeof(err));
	if (ok)
		return true;
	gt_spd_format_packet(&ev->packet, want, sizeof(want));
	gt_spd_format_packet(&actual, got, sizeof(got));
	return gt_spd_fail(r, ev->line, "outbound packet %s (script: > %s; actual at %.6f: > %s)",
	                   err, want, secs(when - r->live_start), got);
}

static bool run_outbound(gt_spd_run *r, size_t i)
{
	const gt_spd_event *ev = &r->s->event[i];
	gt_spd_sock *c = r->under_test;
	if (!c || c->state == GT_SPD_SOCK_NEW || c->state == GT_SPD_SOCK_LISTENING)
		return gt_spd_fail(
		    r, ev->line,
		    "outbound packet, but no connection: no connect() and no inbound "
		    "packet before it");
	static _Thread_local uint8_t buf[65536 + 128];
	gt_spd_wire w;
	int64_t when = 0;
	if (!sniff(r, c, ev->line, buf, sizeof(buf), &w, &when))
		return false;
	bool synack = (ev->packet.flags & (GT_SPD_SYN | GT_SPD_ACK)) == (GT_SPD_SYN | GT_SPD_ACK);
	if (c->state == GT_SPD_SOCK_PASSIVE_PACKET && synack) {
		c->state = GT_SPD_SOCK_PASSIVE_SYNACK;
		c->script_local_isn = ev->packet.seq;
		c->live_local_isn = w.seq;
	} else if (c->state == GT_SPD_SOCK_SYN_SENT && c->script_local_isn == 0 &&
	           (ev->packet.flags & GT_SPD_SYN)) {
		c->script_local_isn = ev->packet.seq;
	}
	return verify_outbound(r, i, c, &w, when);
}

/* ---- events ---- */

static bool run_call_event(gt_spd_run *r, size_t i)
{
	const gt_spd_event *ev = &r->s->event[i];
	if (!wait_for(r, i) || !check_start_time(r, i, "system call start"))
		return false;
	if (ev->call.blocking)
		return gt_spd_worker_start_call(&r->blocking, i);
	/* as packetdrill: a call waits for a blocking one to return or block */
	gt_spd_worker_settle(&r->blocking);
	if (!gt_spd_worker_start_call(&r->immediate, i))
		return false;
	bool returned = gt_spd_worker_settle(&r->immediate);
	after_interface(r);
	if (!returned)
		return gt_spd_fail(r, ev->line,
		                   "%s() blocked, but the script has it return at once (a call "
		                   "that blocks is written +0...T %s(...))",
		                   ev->call.name, ev->call.name);
	return !r->failed;
}

/* A call still blocked at the end: fails the script, then closes the call's
 * socket, which makes the interface return from it. False when it still
 * does not: the thread is left behind. */
static bool finish_worker(gt_spd_run *r, gt_spd_worker *w)
{
	if (gt_spd_worker_settle(w))
		return gt_spd_worker_stop(w);
	const gt_spd_event *ev = &r->s->event[w->event];
	gt_spd_fail(r, ev->line, "%s() still blocked at the end of the script", ev->call.name);
	const gt_spd_call *c = &ev->call;
	gt_spd_sock *s = c->n_arg && c->arg[0]->kind == GT_SPD_EXPR_INT
	                     ? gt_spd_sock_of(r, (int)c->arg[0]->value)
	                     : NULL;
	if (s && s->live_fd >= 0 && r->ifc->close) {
		int fd = s->live_fd;
		s->live_fd = -1;
		pthread_mutex_unlock(&r->lock);
		r->ifc->close(r->ifc->userdata, fd);
		pthread_mutex_lock(&r->lock);
	}
	gt_spd_worker_settle(w);
	return gt_spd_worker_stop(w);
}

static bool run_event(gt_spd_run *r, size_t i)
{
	const gt_spd_event *ev = &r->s->event[i];
	if (r->last >= 0 && ev->time_kind == GT_SPD_TIME_ABSOLUTE &&
	    r->s->event[r->last].time_kind == GT_SPD_TIME_ABSOLUTE && r->t[i] < r->t[r->last])
		return gt_spd_fail(r, ev->line,
		                   "time goes backward in script from %.6f to %.6f sec",
		                   secs(r->t[r->last]), secs(r->t[i]));
	make_absolute(r, i);
	if (r->cfg.verbose)
		fprintf(r->cfg.verbose, "%s:%d: at %.6f sec\n", r->s->path, ev->line,
		        secs(main_now(r) - r->live_start));
	switch (ev->kind) {
	case GT_SPD_EVENT_PACKET:
		return ev->packet.inbound ? run_inbound(r, i) : run_outbound(r, i);
	case GT_SPD_EVENT_CALL:
		return run_call_event(r, i);
	case GT_SPD_EVENT_COMMAND:
		return wait_for(r, i) && check_start_time(r, i, "command");
	}
	return false;
}

static bool parse_ip(gt_spd_run *r, const char *text, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, text, &a) != 1)
		return gt_spd_fail(r, 0, "not an IPv4 address: '%s'", text);
	*out = ntohl(a.s_addr);
	return true;
}

static bool run_init(gt_spd_run *r)
{
	size_t n = r->s->n_event;
	r->t = calloc(n, sizeof(int64_t));
	r->t_end = calloc(n, sizeof(int64_t));
	r->call_end = calloc(n, sizeof(int64_t));
	if (!r->t || !r->t_end || !r->call_end)
		return gt_spd_fail(r, 0, "out of memory");
	for (size_t i = 0; i < n; i++) {
		r->t[i] = r->s->event[i].time_usecs;
		r->t_end[i] = r->s->event[i].time_end_usecs;
		r->call_end[i] = r->s->event[i].call.end_usecs;
	}
	r->last = -1;
	r->next_port = 48000;
	pthread_mutex_init(&r->lock, NULL);
	gt_spd_worker_init(r, &r->blocking, true);
	gt_spd_worker_init(r, &r->immediate, false);
	return parse_ip(r, r->cfg.local_ip, &r->local_ip) &&
	       parse_ip(r, r->cfg.remote_ip, &r->remote_ip);
}

/* Runs every event; true when all passed. The interface stays the
 * caller's; false from *free_ok when a blocking call is left behind. */
static bool run_script(const gt_spd_script *s, const gt_script_config *cfg,
                       struct packetdrill_interface *ifc, gt_script_result *res, bool *free_ok)
{
	gt_spd_run *r = calloc(1, sizeof(*r));
	*free_ok = true;
	if (!r) {
		snprintf(res->message, sizeof(res->message), "%s: out of memory", s->path);
		return false;
	}
	r->s = s;
	r->cfg = *cfg;
	r->ifc = ifc;
	r->res = res;
	res->n_shell = s->n_shell;
	if (!ifc->gettimeofday || !ifc->usleep || !ifc->netdev_send || !ifc->netdev_receive) {
		snprintf(res->message, sizeof(res->message),
		         "%s: the interface lacks gettimeofday, usleep or netdev functions "
		         "(did packetdrill_interface_init fail?)",
		         s->path);
		free(r);
		return false;
	}
	if (run_init(r)) {
		pthread_mutex_lock(&r->lock);
		r->live_start = gt_spd_now(r);
		for (size_t i = 0; i < s->n_event && !r->failed; i++) {
			if (run_event(r, i) && !r->failed)
				res->n_events++;
			r->last = (long)i;
		}
		bool stopped = finish_worker(r, &r->blocking);
		*free_ok = finish_worker(r, &r->immediate) && stopped;
		pthread_mutex_unlock(&r->lock);
	}
	bool pass = !r->failed;
	if (*free_ok) {
		free(r->t);
		free(r->t_end);
		free(r->call_end);
		pthread_mutex_destroy(&r->lock);
		free(r);
	} /* else the thread left behind still uses r */
	return pass;
}

/* A script's --name=value lines (packetdrill's command-line options). */
static bool apply_options(const gt_spd_script *s, gt_script_config *cfg, gt_script_result *res)
{
	static const struct {
		const char *name;
		unsigned bit;
	} cmdline[] = {{"so_flags", GT_SCRIPT_SET_SO_FLAGS},
	               {"tolerance_usecs", GT_SCRIPT_SET_TOLERANCE},
	               {"local_ip", GT_SCRIPT_SET_LOCAL_IP},
	               {"remote_ip", GT_SCRIPT_SET_REMOTE_IP}};
	for (size_t k = 0; k < s->n_option; k++) {
		const gt_spd_option *o = &s->option[k];
		const char *v = o->value ? o->value : "";
		char *end = NULL;
		bool overridden = false;
		for (size_t j = 0; j < sizeof(cmdline) / sizeof(cmdline[0]); j++)
			if (!strcmp(o->name, cmdline[j].name) &&
			    (cfg->from_command_line & cmdline[j].bit))
				overridden = true;
		if (overridden)
			continue;
		if (!strcmp(o->name, "tolerance_usecs") || !strcmp(o->name, "tcp_ts_tick_usecs") ||
		    !strcmp(o->name, "bind_port") || !strcmp(o->name, "connect_port")) {
			long long n = strtoll(v, &end, 10);
			if (!*v || *end || n < 0 || n > 1000000000)
				goto bad;
			if (!strcmp(o->name, "tolerance_usecs"))
				cfg->tolerance_usecs = n;
			else if (!strcmp(o->name, "tcp_ts_tick_usecs"))
				cfg->ts_tick_usecs = n;
			else if (n > 65535)
				goto bad;
			else if (!strcmp(o->name, "bind_port"))
				cfg->bind_port = (uint16_t)n;
			else
				cfg->connect_port = (uint16_t)n;
		} else if (!strcmp(o->name, "tolerance_percent")) {
			double d = strtod(v, &end);
			if (!*v || *end || d < 0 || d > 100)
				goto bad;
			cfg->tolerance_percent = d;
		} else if (!strcmp(o->name, "local_ip")) {
			cfg->local_ip = v;
		} else if (!strcmp(o->name, "remote_ip")) {
			cfg->remote_ip = v;
		} else if (!strcmp(o->name, "so_flags")) {
			cfg->so_flags = v;
		} else if (!strcmp(o->name, "tcp_ts_ecr_scaled")) {
			cfg->ts_ecr_scaled = true;
		} else if (!strcmp(o->name, "ip_version") && !strcmp(v, "ipv4")) {
			/* the only one supported */
		} else {
			snprintf(res->message, sizeof(res->message),
			         "%s:%d: unknown or unsupported option --%s", s->path, o->line,
			         o->name);
			res->line = o->line;
			return false;
		}
		continue;
	bad:
		snprintf(res->message, sizeof(res->message), "%s:%d: bad value for --%s: '%s'",
		         s->path, o->line, o->name, v);
		res->line = o->line;
		return false;
	}
	return true;
}

bool gt_script_run_text(const char *path, const char *text, const gt_script_config *cfg,
                        struct packetdrill_interface *ifc, gt_script_result *res)
{
	memset(res, 0, sizeof(*res));
	gt_spd_script *s = gt_spd_parse(path, text, res->message, sizeof(res->message));
	if (!s)
		return false;
	gt_script_config eff = *cfg;
	bool free_ok = true;
	res->pass = apply_options(s, &eff, res) && run_script(s, &eff, ifc, res, &free_ok);
	if (free_ok)
		gt_spd_script_free(s);
	return res->pass;
}

static char *read_all(const char *path, gt_script_result *res)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(res->message, sizeof(res->message), "%s: %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	for (size_t got; buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
		n += got;
		if (n + 1 == cap) {
			char *grown = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
			if (!grown) {
				free(buf);
				buf = NULL;
				snprintf(res->message, sizeof(res->message), "%s: too large", path);
			}
			buf = grown;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

bool gt_script_run_file(const char *path, const gt_script_config *cfg, gt_script_result *res)
{
	memset(res, 0, sizeof(*res));
	char *text = read_all(path, res);
	if (!text)
		return false;
	gt_spd_script *s = gt_spd_parse(path, text, res->message, sizeof(res->message));
	free(text);
	if (!s)
		return false;
	gt_script_config eff = *cfg;
	bool free_ok = true;
	char flags_err[256], flags[512];
	bool options_ok = apply_options(s, &eff, res);
	if (options_ok && eff.pass_local_ip &&
	    !strstr(eff.so_flags ? eff.so_flags : "", "local=")) {
		snprintf(flags, sizeof(flags), "%s%slocal=%s", eff.so_flags ? eff.so_flags : "",
		         eff.so_flags && *eff.so_flags ? "," : "", eff.local_ip);
		eff.so_flags = flags;
	}
	if (options_ok) {
		if (eff.check_flags && !eff.check_flags(eff.so_flags ? eff.so_flags : "", flags_err,
		                                        sizeof(flags_err))) {
			int line = 0; /* the script's --so_flags line, if it has one */
			for (size_t k = 0; k < s->n_option; k++)
				if (!strcmp(s->option[k].name, "so_flags"))
					line = s->option[k].line;
			res->line = line;
			snprintf(res->message, sizeof(res->message), "%s:%d: --so_flags=%s: %s",
			         path, line, eff.so_flags, flags_err);
		} else if (!eff.init) {
			snprintf(res->message, sizeof(res->message),
			         "%s: no adapter to run it on (build with tools/packetdrill, or "
			         "--so FILE)",
			         path);
		} else {
			/* on the heap: a blocking call left behind keeps using it */
			struct packetdrill_interface *ifc = calloc(1, sizeof(*ifc));
			if (ifc) {
				eff.init(eff.so_flags ? eff.so_flags : "", ifc);
				res->pass = run_script(s, &eff, ifc, res, &free_ok);
			}
			if (ifc && free_ok) {
				if (ifc->free)
					ifc->free(ifc->userdata);
				free(ifc);
			}
		}
	}
	if (free_ok)
		gt_spd_script_free(s);
	return res->pass;
}
