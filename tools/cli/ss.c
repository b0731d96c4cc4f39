/* `glasstcp ss`: asks a running `glasstcp up` (its control socket,
 * up_status.h) for its connection table, as `ss -tin` prints the kernel's,
 * or its counters (-s), as nstat; --json for either. up renders the answer
 * (stats.c); this prints it. */
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "cli/up_status.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* How long up has to answer. */
#define SS_TIMEOUT_MS 5000

static void usage(FILE *f)
{
	fprintf(f, "usage: glasstcp ss [--ctl PATH | --tun NAME] [-s|--counters] [--json]\n\n"
	           "Shows the connections of a running `glasstcp up`, as `ss -tin` shows the\n"
	           "kernel's (State, Recv-Q, Send-Q, addresses; rtt, rto, cwnd, ssthresh, mss,\n"
	           "retransmissions, bytes), or with -s its counters, as nstat.\n\n"
	           "  --ctl PATH     up's control socket (up --ctl PATH)\n"
	           "  --tun NAME     the up running on TUN device NAME (its default socket)\n"
	           "                 neither: the only up whose socket is in the default\n"
	           "                 directory (/run/glasstcp as root)\n"
	           "  -s, --counters the counters (nstat's names where Linux has them)\n"
	           "  --json         one JSON object\n");
}

/* Without --ctl or --tun: the one socket in the default directory. */
static int find_socket(char *path, size_t len)
{
	char dir[200];
	up_ctl_default_dir(dir, sizeof dir);
	DIR *d = opendir(dir);
	int n = 0;
	char names[512] = "";
	for (struct dirent *e; d && (e = readdir(d));) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".sock"))
			continue;
		if (n++ == 0)
			snprintf(path, len, "%s/%s", dir, e->d_name);
		size_t used = strlen(names);
		snprintf(names + used, sizeof names - used, " %.*s", (int)(l - 5), e->d_name);
	}
	if (d)
		closedir(d);
	if (n == 1)
		return 0;
	if (n == 0)
		fprintf(stderr,
		        "glasstcp ss: no glasstcp up is running: no control socket in %s "
		        "(--ctl PATH or --tun NAME name one)\n",
		        dir);
	else
		fprintf(stderr,
		        "glasstcp ss: %d glasstcp up are running (%s); pick one with --tun:%s\n", n,
		        dir, names);
	return 1;
}

static int connect_ctl(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "glasstcp ss: %s: longer than %zu bytes\n", path,
		        sizeof sa.sun_path - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		return fd;
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (e == ENOENT)
		fprintf(stderr, "glasstcp ss: no glasstcp up at %s (no such socket)\n", path);
	else if (e == ECONNREFUSED)
		fprintf(stderr,
		        "glasstcp ss: no glasstcp up at %s (a stale socket: nothing answers)\n",
		        path);
	else
		fprintf(stderr, "glasstcp ss: cannot connect to %s: %s\n", path, strerror(e));
	return -1;
}

/* Reads the whole answer (up closes after it) into a malloc'd string. */
static char *read_answer(int fd, const char *path)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	while (buf) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, SS_TIMEOUT_MS) == 0) {
			fprintf(stderr, "glasstcp ss: no answer from %s within %d s\n", path,
			        SS_TIMEOUT_MS / 1000);
			break;
		}
		if (len + 1 == cap) {
			char *b = realloc(buf, cap *= 2);
			if (!b)
				break;
			buf = b;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "glasstcp ss: reading from %s: %s\n", path,
			        strerror(errno));
			break;
		}
		if (n == 0) {
			buf[len] = '\0';
			return buf;
		}
		len += (size_t)n;
	}
	free(buf);
	return NULL;
}

static int ask(const char *path, const char *req)
{
	int fd = connect_ctl(path);
	if (fd < 0)
		return 1;
	size_t rl = strlen(req);
	char *ans = NULL;
	if (send(fd, req, rl, MSG_NOSIGNAL) == (ssize_t)rl)
		ans = read_answer(fd, path);
	else
		fprintf(stderr, "glasstcp ss: writing to %s: %s\n", path, strerror(errno));
	close(fd);
	if (!ans)
		return 1;
	int rc = 0;
	if (!strncmp(ans, "ok\n", 3)) {
		fputs(ans + 3, stdout);
	} else if (!ans[0]) {
		fprintf(stderr, "glasstcp ss: %s closed without an answer (busy?)\n", path);
		rc = 1;
	} else {
		fprintf(stderr, "glasstcp ss: %s answered: %s", path, ans);
		rc = 1;
	}
	free(ans);
	return fflush(stdout) ? 1 : rc;
}

int gt_cli_ss(int argc, char **argv)
{
	const char *ctl = NULL, *tun = NULL;
	bool counters = false, json = false;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *v;
		bool m;
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			return 0;
		}
		if ((v = gt_cli_option_value(arg, "--ctl", argc, argv, &i, &m)), m) {
			if (!v || !*v)
				return gt_cli_bad_usage("ss", "--ctl needs a path");
			ctl = v;
		} else if ((v = gt_cli_option_value(arg, "--tun", argc, argv, &i, &m)), m) {
			if (!v || !*v || strlen(v) > 15)
				return gt_cli_bad_usage("ss", "--tun needs a device name");
			tun = v;
		} else if (!strcmp(arg, "-s") || !strcmp(arg, "--counters")) {
			counters = true;
		} else if (!strcmp(arg, "--json")) {
			json = true;
		} else {
			return gt_cli_bad_usage(
			    "ss", "unexpected argument '%s' (glasstcp ss --help)", arg);
		}
	}
	if (ctl && tun)
		return gt_cli_bad_usage("ss", "--ctl and --tun: one or the other");
	char path[256];
	if (ctl)
		snprintf(path, sizeof path, "%s", ctl);
	else if (tun)
		up_ctl_default_path(tun, path, sizeof path);
	else if (find_socket(path, sizeof path))
		return 1;
	char req[32];
	snprintf(req, sizeof req, "%s%s\n", counters ? "counters" : "conns", json ? " json" : "");
	return ask(path, req);
}
