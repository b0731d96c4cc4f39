/* `glasstcp connect`: like nc, over glasstcp on a TUN device. stdin goes to
 * the connection, the connection to stdout; stdin's EOF half-closes (FIN),
 * and the command goes on reading until the peer's FIN. Exit 0 on a clean
 * close, 1 with the reason otherwise (refused, reset, timed out). */
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "cli/tun_cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (64 * 1024)
/* After Ctrl-C: how long the connection gets to close gracefully. */
#define INTERRUPT_US 5000000u

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: glasstcp connect --tun NAME --addr A --peer B [options] HOST PORT\n\n"
	        "Connects from A to HOST:PORT over TUN device NAME: stdin to the connection,\n"
	        "the connection to stdout. stdin's EOF sends FIN (half-close); the command\n"
	        "ends at the peer's FIN. Exit 0 on a clean close, 1 otherwise.\n\n"
	        "%s"
	        "  --keepalive IDLE,INTVL,COUNT\n"
	        "                     TCP keep-alive (RFC 1122 4.2.3.6), seconds: after IDLE\n"
	        "                     with nothing received a probe, then one every INTVL;\n"
	        "                     COUNT unanswered: the connection is aborted (RST)\n"
	        "  --linger SECS      SO_LINGER: with 0, stdin's EOF (once what was sent is\n"
	        "                     acknowledged) closes with RST instead of FIN, and no\n"
	        "                     TIME_WAIT; the command then exits 0\n",
	        tun_opts_usage);
}

typedef struct conn_app {
	tun_run *r;
	gt_stack *st;
	int sock;
	uint32_t host;
	uint16_t port;

	bool connected;
	bool stdin_pollable; /* epoll can watch fd 0 (not a regular file) */
	bool stdin_eof;
	bool wr_shut;
	bool linger_set; /* --linger */
	int linger_s;
	bool rd_eof;
	bool stdout_waiting; /* stdout would block: waiting for EPOLLOUT */

	uint8_t *in;
	size_t in_off, in_len;
	uint8_t *out;
	size_t out_off, out_len;

	bool interrupted;
	gt_time_us interrupt_until;
	bool finished;
	int status;
	char why[160];
} conn_app;

static void finish(conn_app *c, gt_tun *t, int status, const char *fmt, const char *arg)
{
	if (c->finished)
		return;
	c->finished = true;
	c->status = status;
	if (fmt)
		snprintf(c->why, sizeof c->why, fmt, arg);
	gt_tun_stop(t);
}

static void fail_errno(conn_app *c, gt_tun *t, int err)
{
	char buf[96];
	finish(c, t, 1, "%s", tun_errno_text(err, buf, sizeof buf));
}

/* Writes what is pending to stdout. false when stdout failed (finished). */
static bool flush_stdout(conn_app *c, gt_tun *t)
{
	while (c->out_len) {
		ssize_t n = write(STDOUT_FILENO, c->out + c->out_off, c->out_len);
		if (n > 0) {
			c->out_off += (size_t)n;
			c->out_len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->stdout_waiting &&
			    gt_tun_watch_events(t, STDOUT_FILENO, GT_TUN_OUT) == 0)
				c->stdout_waiting = true;
			return true;
		}
		int e = n < 0 ? errno : EIO;
		/* the reader is gone: nobody will see the rest; reset the
		 * connection rather than leave the peer sending into a void */
		gt_abort(c->st, c->sock, gt_tun_now(t));
		c->sock = -1;
		finish(c, t, 1, "cannot write stdout: %s", strerror(e));
		return false;
	}
	c->out_off = 0;
	if (c->stdout_waiting) {
		gt_tun_watch_events(t, STDOUT_FILENO, 0);
		c->stdout_waiting = false;
	}
	return true;
}

/* One read of stdin into the empty input buffer. */
static void read_stdin(conn_app *c, gt_tun *t)
{
	if (c->in_len || c->stdin_eof)
		return;
	ssize_t n = read(STDIN_FILENO, c->in, BUF_SIZE);
	if (n > 0) {
		c->in_off = 0;
		c->in_len = (size_t)n;
		return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n < 0)
		fprintf(stderr, "glasstcp connect: reading stdin: %s (taken as EOF)\n",
		        strerror(errno));
	c->stdin_eof = true;
	if (c->stdin_pollable)
		gt_tun_unwatch(t, STDIN_FILENO);
}

static void on_stdin(void *user, gt_tun *t, int fd, unsigned revents, gt_time_us now)
{
	read_stdin(user, t);
}

static void on_stdout(void *user, gt_tun *t, int fd, unsigned revents, gt_time_us now)
{
	flush_stdout(user, t);
}

/* Watch stdin only while there is room for what it gives. */
static void update_stdin_watch(conn_app *c, gt_tun *t)
{
	if (!c->stdin_pollable || c->stdin_eof)
		return;
	gt_tun_watch_events(t, STDIN_FILENO, c->connected && !c->in_len ? GT_TUN_IN : 0);
}

static void conn_poll(void *user, gt_tun *t, gt_time_us now)
{
	conn_app *c = user;
	if (c->finished)
		return;
	if (!c->connected) {
		int ev = gt_poll(c->st, c->sock);
		if (ev & GT_POLLERR) {
			fail_errno(c, t, gt_sock_error(c->st, c->sock));
			return;
		}
		if (!(ev & (GT_POLLOUT | GT_POLLIN)))
			return;
		c->connected = true;
	}

	/* the connection to stdout, while stdout keeps up */
	while (!c->rd_eof && !c->out_len) {
		ssize_t n = gt_recv(c->st, c->sock, c->out, BUF_SIZE, now);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			fail_errno(c, t, (int)n);
			return;
		}
		if (n == 0) {
			c->rd_eof = true;
			break;
		}
		c->out_off = 0;
		c->out_len = (size_t)n;
		if (!flush_stdout(c, t))
			return;
	}

	/* stdin to the connection */
	for (;;) {
		if (!c->stdin_pollable)
			read_stdin(c, t); /* a regular file or /dev/null: always ready */
		if (!c->in_len)
			break;
		ssize_t n = gt_send(c->st, c->sock, c->in + c->in_off, c->in_len, now);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			fail_errno(c, t, (int)n);
			return;
		}
		c->in_off += (size_t)n;
		c->in_len -= (size_t)n;
		if (c->stdin_pollable)
			break; /* more when epoll says so */
	}
	if (c->stdin_eof && !c->in_len && !c->wr_shut && c->linger_set && c->linger_s == 0) {
		/* SO_LINGER 0: close() is an ABORT (RFC 9293 §3.10.5), sent once
		 * the peer has everything, so that the RST is all it loses */
		if (gt_sock_unacked(c->st, c->sock) == 0) {
			gt_close(c->st, c->sock, now);
			c->sock = -1;
			finish(c, t, 0, NULL, NULL);
		}
		return;
	}
	if (c->stdin_eof && !c->in_len && !c->wr_shut) {
		int rc = gt_shutdown(c->st, c->sock, GT_SHUT_WR, now);
		if (rc < 0) {
			fail_errno(c, t, rc);
			return;
		}
		c->wr_shut = true;
	}
	update_stdin_watch(c, t);

	/* both directions done and our FIN acknowledged */
	if (c->rd_eof && c->wr_shut && !c->out_len) {
		int s = gt_sock_state(c->st, c->sock);
		if (s == GT_TCP_TIME_WAIT || s == GT_TCP_CLOSED) {
			int err = gt_sock_error(c->st, c->sock);
			if (err < 0)
				fail_errno(c, t, err);
			else if (c->interrupted)
				finish(c, t, 1, "%s", "interrupted (closed gracefully)");
			else
				finish(c, t, 0, NULL, NULL);
			return;
		}
	}
	int err = gt_poll(c->st, c->sock) & GT_POLLERR ? gt_sock_error(c->st, c->sock) : 0;
	if (err < 0)
		fail_errno(c, t, err);
	else if (c->interrupted && now >= c->interrupt_until)
		finish(c, t, 1, "%s", "interrupted (the connection did not close within 5 s)");
}

static gt_time_us conn_deadline(void *user, gt_tun *t)
{
	conn_app *c = user;
	if (c->finished)
		return GT_TIME_NEVER;
	/* stdin that epoll cannot watch is read from the poll hook */
	if (c->connected && !c->stdin_pollable && !c->stdin_eof && !c->in_len)
		return 0;
	return c->interrupted ? c->interrupt_until : GT_TIME_NEVER;
}

static void conn_signal(void *user, gt_tun *t, int signo, gt_time_us now)
{
	conn_app *c = user;
	if (c->interrupted || !c->connected) {
		if (c->sock >= 0)
			gt_abort(c->st, c->sock, now);
		c->sock = -1;
		finish(c, t, 1, "%s", "interrupted");
		return;
	}
	/* first Ctrl-C: as if stdin ended, then wait a little for the peer */
	c->interrupted = true;
	c->interrupt_until = now + INTERRUPT_US;
	if (c->stdin_pollable && !c->stdin_eof)
		gt_tun_unwatch(t, STDIN_FILENO);
	c->stdin_eof = true;
	c->in_len = 0;
}

static bool parse_port(const char *s, uint16_t *port)
{
	if (!s || !*s || strlen(s) > 5)
		return false;
	unsigned v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* "IDLE,INTVL,COUNT": seconds, seconds, probes, each at least 1. */
static bool parse_keepalive(const char *s, gt_keepalive *ka)
{
	char buf[64];
	if (!s || strlen(s) >= sizeof buf)
		return false;
	memcpy(buf, s, strlen(s) + 1);
	char *intvl = strchr(buf, ',');
	char *count = intvl ? strchr(intvl + 1, ',') : NULL;
	if (!count)
		return false;
	*intvl++ = '\0';
	*count++ = '\0';
	uint64_t idle_s, intvl_s, n;
	const uint64_t max_s = GT_KEEPALIVE_MAX_US / 1000000;
	if (!gt_cli_parse_u64(buf, max_s, &idle_s) || !gt_cli_parse_u64(intvl, max_s, &intvl_s) ||
	    !gt_cli_parse_u64(count, UINT32_MAX, &n) || idle_s == 0 || intvl_s == 0 || n == 0)
		return false;
	*ka = (gt_keepalive){.on = true,
	                     .idle_us = idle_s * 1000000,
	                     .intvl_us = intvl_s * 1000000,
	                     .probes = (uint32_t)n};
	return true;
}

/* connect's own options: 1 when arg was one (taken), 0 when not, else the
 * bad-usage status. */
static int parse_conn_option(const char *arg, int argc, char **argv, int *i, gt_keepalive *ka,
                             int *linger)
{
	bool m;
	const char *v = gt_cli_option_value(arg, "--keepalive", argc, argv, i, &m);
	if (m) {
		if (!parse_keepalive(v, ka))
			return gt_cli_bad_usage("connect",
			                        "--keepalive needs IDLE,INTVL,COUNT (whole "
			                        "seconds, seconds, probes; each >= 1), got '%s'",
			                        v ? v : "");
		return 1;
	}
	v = gt_cli_option_value(arg, "--linger", argc, argv, i, &m);
	if (m) {
		char *end = NULL;
		long secs = v ? strtol(v, &end, 10) : -1;
		if (!v || !*v || *end || secs < 0 || secs > 65535)
			return gt_cli_bad_usage("connect",
			                        "--linger needs whole seconds 0..65535, got '%s'",
			                        v ? v : "");
		*linger = (int)secs;
		return 1;
	}
	return 0;
}

int gt_cli_connect(int argc, char **argv)
{
	tun_opts o;
	tun_opts_init(&o, "connect");
	const char *pos[2];
	int npos = 0;
	gt_keepalive ka = {.on = false};
	int c_linger = -1; /* --linger: seconds, -1 = not set */
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		int rc = tun_opts_parse(&o, argc, argv, &i);
		if (rc == 1)
			continue;
		if (rc)
			return rc;
		rc = parse_conn_option(arg, argc, argv, &i, &ka, &c_linger);
		if (rc == 1)
			continue;
		if (rc)
			return rc;
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			return 0;
		}
		if (arg[0] == '-' && arg[1] != '\0')
			return gt_cli_bad_usage(
			    "connect", "unknown option '%s' (glasstcp connect --help)", arg);
		if (npos == 2)
			return gt_cli_bad_usage("connect",
			                        "unexpected argument '%s' (want HOST PORT)", arg);
		pos[npos++] = arg;
	}
	int rc = tun_opts_check(&o);
	if (rc)
		return rc;
	if (npos < 2)
		return gt_cli_bad_usage("connect", "HOST and PORT are required (glasstcp connect "
		                                   "--help)");
	conn_app c = {.sock = -1, .linger_set = c_linger >= 0, .linger_s = c_linger};
	if (gt_ipv4_parse(pos[0], &c.host) < 0 || !c.host)
		return gt_cli_bad_usage("connect", "HOST must be an IPv4 address, got '%s'",
		                        pos[0]);
	if (!parse_port(pos[1], &c.port))
		return gt_cli_bad_usage("connect", "PORT must be 1..65535, got '%s'", pos[1]);

	/* a reader that went away is reported by write(), not by a signal */
	signal(SIGPIPE, SIG_IGN);
	c.in = malloc(BUF_SIZE);
	c.out = malloc(BUF_SIZE);
	if (!c.in || !c.out) {
		fprintf(stderr, "glasstcp connect: out of memory\n");
		free(c.in);
		free(c.out);
		return 1;
	}

	tun_run r;
	if (tun_run_start(&r, &o)) {
		free(c.in);
		free(c.out);
		return 1;
	}
	c.r = &r;
	c.st = r.st;
	gt_time_us now = gt_tun_now(r.tun);
	c.sock = gt_socket(c.st);
	rc = c.sock;
	if (rc >= 0 && ka.on)
		rc = gt_sock_set_keepalive(c.st, c.sock, &ka, now);
	if (rc >= 0 && c.linger_set) {
		struct linger l = {.l_onoff = 1, .l_linger = c.linger_s};
		rc = gt_setsockopt(c.st, c.sock, SOL_SOCKET, SO_LINGER, &l, sizeof l, now);
	}
	if (rc >= 0)
		rc = gt_connect(c.st, c.sock, c.host, c.port, now);
	if (rc < 0 && rc != -EINPROGRESS) {
		char buf[96];
		fprintf(stderr, "glasstcp connect: cannot connect: %s\n",
		        tun_errno_text(rc, buf, sizeof buf));
		tun_run_finish(&r);
		free(c.in);
		free(c.out);
		return 1;
	}
	/* paused until connected; -EPERM: a regular file or /dev/null */
	rc = gt_tun_watch(r.tun, STDIN_FILENO, 0, on_stdin, &c);
	c.stdin_pollable = rc == 0;
	if (rc < 0 && rc != -EPERM) {
		fprintf(stderr, "glasstcp connect: cannot watch stdin: %s\n", strerror(-rc));
		c.stdin_eof = true;
	}
	/* stdout is watched only when it would block */
	gt_tun_watch(r.tun, STDOUT_FILENO, 0, on_stdout, &c);

	gt_tun_app app = {
	    .poll = conn_poll, .deadline = conn_deadline, .on_signal = conn_signal, .user = &c};
	int status = tun_run_loop(&r, &app);
	if (!status)
		status = c.status;
	if (c.why[0]) {
		char h[16];
		fprintf(stderr, "glasstcp connect: %s:%u: %s\n", gt_ipv4_str(c.host, h),
		        (unsigned)c.port, c.why);
	}
	if (c.sock >= 0)
		gt_close(c.st, c.sock, gt_tun_now(r.tun));
	if (tun_run_finish(&r))
		status = 1;
	free(c.in);
	free(c.out);
	return status;
}
