/* up's SIGUSR1 and control socket (up_status.h). */
#include "cli/up_status.h"

#include "cli/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_CLIENTS 4
/* A client has this long to send its request and take the answer. */
#define CTL_CLIENT_US 5000000u

typedef struct ctl_client {
	int fd; /* -1: free */
	char req[128];
	size_t req_len;
	char *out; /* the answer, while it is written */
	size_t out_len, out_off;
	gt_time_us expires;
} ctl_client;

struct up_status {
	gt_tun *t;
	char title[96];
	int sigfd;
	sigset_t old_mask;
	int lfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ctl_client c[CTL_CLIENTS];
};

void up_ctl_default_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (geteuid() == 0)
		snprintf(buf, len, "/run/glasstcp");
	else if (xdg && *xdg)
		snprintf(buf, len, "%s/glasstcp", xdg);
	else
		snprintf(buf, len, "/tmp/glasstcp-%u", (unsigned)geteuid());
}

void up_ctl_default_path(const char *ifname, char *buf, size_t len)
{
	char dir[200];
	up_ctl_default_dir(dir, sizeof dir);
	snprintf(buf, len, "%s/%s.sock", dir, ifname);
}

/* ---- SIGUSR1 ---- */

static void on_sigusr1(void *user, gt_tun *t, int fd, unsigned revents, gt_time_us now)
{
	up_status *s = user;
	struct signalfd_siginfo si;
	bool got = false;
	while (read(fd, &si, sizeof si) == (ssize_t)sizeof si)
		got = true;
	if (!got)
		return;
	fprintf(stderr, "glasstcp up: SIGUSR1: counters and connections\n");
	stats_render(stderr, gt_tun_stack(t), s->title, STATS_COUNTERS | STATS_CONNS, false);
	fflush(stderr);
}

up_status *up_status_new(gt_tun *t, const char *title, char *err, size_t errlen)
{
	up_status *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->t = t;
	s->lfd = -1;
	for (int i = 0; i < CTL_CLIENTS; i++)
		s->c[i].fd = -1;
	snprintf(s->title, sizeof s->title, "%s", title);
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigprocmask(SIG_BLOCK, &m, &s->old_mask);
	s->sigfd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
	int rc = s->sigfd < 0 ? -errno : gt_tun_watch(t, s->sigfd, GT_TUN_IN, on_sigusr1, s);
	if (rc < 0) {
		snprintf(err, errlen, "SIGUSR1: %s", strerror(-rc));
		up_status_free(s);
		return NULL;
	}
	return s;
}

/* ---- the control socket's clients ---- */

static void client_close(up_status *s, ctl_client *c)
{
	gt_tun_unwatch(s->t, c->fd);
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

static ctl_client *client_of(up_status *s, int fd)
{
	for (int i = 0; i < CTL_CLIENTS; i++)
		if (s->c[i].fd == fd)
			return &s->c[i];
	return NULL;
}

/* The answer to the request line: "ok\n" and the rendering, or "error: ". */
static void answer(up_status *s, ctl_client *c)
{
	unsigned what = 0;
	bool json = false, bad = false;
	char *save = NULL;
	c->req[c->req_len] = '\0';
	for (char *w = strtok_r(c->req, " \t\r\n", &save); w;
	     w = strtok_r(NULL, " \t\r\n", &save)) {
		if (!strcmp(w, "conns"))
			what |= STATS_CONNS;
		else if (!strcmp(w, "counters"))
			what |= STATS_COUNTERS;
		else if (!strcmp(w, "json"))
			json = true;
		else
			bad = true;
	}
	FILE *f = open_memstream(&c->out, &c->out_len);
	if (!f)
		return;
	if (bad || !what)
		fprintf(f, "error: the request is words among conns, counters, json\n");
	else if (fputs("ok\n", f) < 0 || stats_render(f, gt_tun_stack(s->t), s->title, what, json))
		fprintf(f, "error: out of memory\n");
	fclose(f);
}

static void client_write(up_status *s, ctl_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* GT_TUN_OUT calls again */
		if (n <= 0)
			break;
		c->out_off += (size_t)n;
	}
	client_close(s, c);
}

static void on_client(void *user, gt_tun *t, int fd, unsigned revents, gt_time_us now)
{
	up_status *s = user;
	ctl_client *c = client_of(s, fd);
	if (!c)
		return;
	if (c->out) {
		client_write(s, c);
		return;
	}
	ssize_t n = read(fd, c->req + c->req_len, sizeof c->req - 1 - c->req_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		client_close(s, c);
		return;
	}
	c->req_len += (size_t)n;
	if (n > 0 && !memchr(c->req, '\n', c->req_len) && c->req_len < sizeof c->req - 1)
		return; /* more to come */
	answer(s, c);
	if (!c->out) {
		client_close(s, c);
		return;
	}
	gt_tun_watch_events(t, fd, GT_TUN_OUT);
	client_write(s, c);
}

static void on_listen(void *user, gt_tun *t, int fd, unsigned revents, gt_time_us now)
{
	up_status *s = user;
	int cfd;
	while ((cfd = accept(fd, NULL, NULL)) >= 0) {
		ctl_client *c = client_of(s, -1);
		if (!c || fcntl(cfd, F_SETFL, O_NONBLOCK) < 0 ||
		    fcntl(cfd, F_SETFD, FD_CLOEXEC) < 0 ||
		    gt_tun_watch(t, cfd, GT_TUN_IN, on_client, s) < 0) {
			close(cfd); /* busy: the client reads EOF */
			continue;
		}
		c->fd = cfd;
		c->expires = now + CTL_CLIENT_US;
	}
}

gt_time_us up_status_deadline(const up_status *s)
{
	gt_time_us d = GT_TIME_NEVER;
	for (int i = 0; i < CTL_CLIENTS; i++)
		if (s->c[i].fd >= 0 && s->c[i].expires < d)
			d = s->c[i].expires;
	return d;
}

void up_status_poll(up_status *s, gt_time_us now)
{
	for (int i = 0; i < CTL_CLIENTS; i++)
		if (s->c[i].fd >= 0 && s->c[i].expires <= now)
			client_close(s, &s->c[i]);
}

/* ---- the control socket ---- */

/* Whether something answers at path: then it is another up's. */
static bool answered(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0;
	close(fd);
	return ok;
}

static int prepare_path(const struct sockaddr_un *sa, bool make_dir, char *err, size_t errlen)
{
	const char *path = sa->sun_path;
	if (make_dir) {
		char dir[sizeof sa->sun_path];
		snprintf(dir, sizeof dir, "%s", path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
		if (mkdir(dir, geteuid() == 0 ? 0755 : 0700) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot make %s: %s", dir, strerror(errno));
			return -1;
		}
	}
	struct stat sb;
	if (lstat(path, &sb) < 0)
		return 0;
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	if (answered(sa)) {
		snprintf(err, errlen, "another glasstcp up answers at %s", path);
		return -1;
	}
	unlink(path); /* stale: its up has gone */
	return 0;
}

int up_status_listen(up_status *s, const char *path, bool make_dir, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(err, errlen, "%s: longer than %zu bytes", path, sizeof sa.sun_path - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (prepare_path(&sa, make_dir, err, errlen) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 8) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int rc = gt_tun_watch(s->t, fd, GT_TUN_IN, on_listen, s);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot watch it: %s", path, strerror(-rc));
		close(fd);
		unlink(path);
		return -1;
	}
	s->lfd = fd;
	snprintf(s->path, sizeof s->path, "%s", path);
	return 0;
}

void up_status_free(up_status *s)
{
	if (!s)
		return;
	for (int i = 0; i < CTL_CLIENTS; i++)
		if (s->c[i].fd >= 0)
			client_close(s, &s->c[i]);
	if (s->lfd >= 0) {
		gt_tun_unwatch(s->t, s->lfd);
		close(s->lfd);
		unlink(s->path);
	}
	if (s->sigfd >= 0) {
		/* a SIGUSR1 still pending would kill the process once unblocked */
		struct signalfd_siginfo si;
		while (read(s->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
			;
		gt_tun_unwatch(s->t, s->sigfd);
		close(s->sigfd);
	}
	sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
	free(s);
}
