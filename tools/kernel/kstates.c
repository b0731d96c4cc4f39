/* The Linux kernel's side of glasstcp's connections (see kstates.h and
 * docs/kernel-states.md).
 *
 * Two sources:
 *  - the tracepoint sock:inet_sock_set_state, enabled in a tracefs instance of
 *    our own (instances/glasstcp-PID) with trace_clock "mono" and a filter on
 *    the watched address, read as text from its trace_pipe;
 *  - sock_diag (NETLINK_SOCK_DIAG), dumped in the caller's network namespace,
 *    for what the tracepoint cannot show: the time-wait mini-sockets (TIME_WAIT
 *    and the FIN_WAIT2 of an orphaned socket), and the local port of a
 *    connecting socket (CLOSE -> SYN_SENT is reported before the port is
 *    chosen). */
#include "kernel/kstates.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define KS_TRACEFS    "/sys/kernel/tracing"
#define KS_EVENT_DIR  "events/sock/inet_sock_set_state"
#define KS_EVENT_NAME " inet_sock_set_state: "
#define KS_CAUSE      "linux"
#define KS_MS         1000ull
#define KS_S          1000000ull
/* TCP_TIMEWAIT_LEN: a constant (60 * HZ) in the kernel, no sysctl changes it. */
#define KS_TIMEWAIT_US (60 * KS_S)
/* How often sock_diag is dumped while a mini-socket is watched: */
#define KS_POLL_FW2_US  (100 * KS_MS) /* tw FIN_WAIT2, waiting for the peer's FIN */
#define KS_POLL_TW_US   (500 * KS_MS) /* TIME_WAIT, for early ends (RST, reuse, kill) */
#define KS_POLL_LATE_US (50 * KS_MS)  /* TIME_WAIT past its expiry (timer slack) */
#define KS_RETRY_US     (20 * KS_MS)  /* a connecting socket's port not found yet */
/* The timer's time left is in jiffies: an entry into TIME_WAIT computed from
 * it is off by up to one jiffy either way (4 ms at HZ=250, Debian's). It is
 * moved this much later, so that it does not come before the FIN that caused
 * it. */
#define KS_JIFFY_US (4 * KS_MS)
/* A FIN_WAIT2 -> TIME_WAIT estimated from the timer later than the tracepoint
 * by less than this is taken as the tracepoint's time (jiffies, ms rounding). */
#define KS_EST_SLACK_US (10 * KS_MS)
#define KS_MAX_PENDING  1024
#define KS_MAX_READS    64

/* The kernel's TCP states (include/net/tcp_states.h; ABI: sock_diag uses them). */
enum {
	K_ESTABLISHED = 1,
	K_SYN_SENT,
	K_SYN_RECV,
	K_FIN_WAIT1,
	K_FIN_WAIT2,
	K_TIME_WAIT,
	K_CLOSE,
	K_CLOSE_WAIT,
	K_LAST_ACK,
	K_LISTEN,
	K_CLOSING,
	K_NEW_SYN_RECV,
	K_STATE_MAX = K_NEW_SYN_RECV
};

static const struct {
	const char *name;
	gt_tcp_state gt;
} ks_states[K_STATE_MAX + 1] = {
    [K_ESTABLISHED] = {"TCP_ESTABLISHED", GT_TCP_ESTABLISHED},
    [K_SYN_SENT] = {"TCP_SYN_SENT", GT_TCP_SYN_SENT},
    [K_SYN_RECV] = {"TCP_SYN_RECV", GT_TCP_SYN_RECEIVED},
    [K_FIN_WAIT1] = {"TCP_FIN_WAIT1", GT_TCP_FIN_WAIT_1},
    [K_FIN_WAIT2] = {"TCP_FIN_WAIT2", GT_TCP_FIN_WAIT_2},
    [K_TIME_WAIT] = {"TCP_TIME_WAIT", GT_TCP_TIME_WAIT},
    [K_CLOSE] = {"TCP_CLOSE", GT_TCP_CLOSED},
    [K_CLOSE_WAIT] = {"TCP_CLOSE_WAIT", GT_TCP_CLOSE_WAIT},
    [K_LAST_ACK] = {"TCP_LAST_ACK", GT_TCP_LAST_ACK},
    [K_LISTEN] = {"TCP_LISTEN", GT_TCP_LISTEN},
    [K_CLOSING] = {"TCP_CLOSING", GT_TCP_CLOSING},
    /* A request socket (SYN received, SYN-ACK sent): RFC 9293's SYN-RECEIVED. */
    [K_NEW_SYN_RECV] = {"TCP_NEW_SYN_RECV", GT_TCP_SYN_RECEIVED},
};

/* One parsed trace line. Addresses and ports in host byte order. */
typedef struct ks_rec {
	gt_time_us t;
	uint64_t skaddr; /* 0 when the line does not carry it */
	int family;
	int protocol;
	int oldstate, newstate; /* kernel numbering, 1..K_STATE_MAX */
	uint32_t saddr, daddr;
	uint16_t sport, dport;
} ks_rec;

/* A CLOSE -> SYN_SENT whose local port is not known yet. */
typedef struct ks_pending {
	uint64_t skaddr;
	uint32_t saddr, daddr;
	uint16_t dport;
	uint16_t sport; /* 0 until resolved */
	gt_time_us t;
	bool emitted; /* resolved through sock_diag and reported */
} ks_pending;

/* A kernel socket that now lives as a time-wait mini-socket. */
typedef struct ks_tw {
	gt_conn_tuple c;
	gt_tcp_state shown; /* GT_TCP_FIN_WAIT_2 or GT_TCP_TIME_WAIT */
	gt_time_us since;
	gt_time_us seen;   /* the last dump that listed it, in the state shown */
	gt_time_us expiry; /* when its timer is due, from the last dump */
	gt_time_us next_poll;
} ks_tw;

/* One socket of a sock_diag dump. */
typedef struct ks_diag {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t state;
	uint32_t expires_ms;
} ks_diag;

struct gt_kstates {
	uint32_t addr;
	char *host;
	char inst[128]; /* the tracefs instance directory, "" if none */
	bool event_on;
	bool fields; /* options/fields: numeric fields with skaddr */
	int pipe_fd;
	int diag_fd;
	uint32_t diag_seq;
	/* trace_pipe line assembly */
	char rbuf[8192];
	size_t rlen;
	/* sock_diag */
	uint8_t *nlbuf;
	size_t nlcap;
	ks_diag *snap;
	size_t nsnap, capsnap;
	bool snap_valid;
	bool snap_ok; /* false: the dump failed, the snapshot tells nothing */
	ks_pending *pend;
	size_t npend, cappend;
	gt_time_us pend_retry;
	ks_tw *tw;
	size_t ntw, captw;
	/* statistics (for debugging; not in the interface) */
	unsigned long lost, bad_lines, diag_errors;
	/* during gt_kstates_process */
	gt_time_us now;
	gt_event_fn fn;
	void *user;
};

/* ---------------------------------------------------------------- parsing */

static gt_tcp_state ks_map_state(int k)
{
	if (k < 1 || k > K_STATE_MAX)
		return GT_TCP_STATE_COUNT;
	return ks_states[k].gt;
}

static int ks_state_by_name(const char *v)
{
	for (int k = 1; k <= K_STATE_MAX; k++) {
		if (strcmp(v, ks_states[k].name) == 0)
			return k;
	}
	return -1;
}

/* A decimal or 0x-hex unsigned number filling all of v. */
static int ks_number(const char *v, uint64_t *out)
{
	int base = 10;
	if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		base = 16;
		v += 2;
	}
	if (!isxdigit((unsigned char)v[0]))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, base);
	if (errno || *end)
		return -EINVAL;
	*out = n;
	return 0;
}

/* "192.0.2.1" or the four address bytes as one native integer (the fields
 * option prints __u8 saddr[4] that way: 127.0.0.1 is 0x100007f on x86). */
static int ks_addr(const char *v, uint32_t *out)
{
	if (strchr(v, '.'))
		return gt_ipv4_parse(v, out);
	uint64_t n;
	if (ks_number(v, &n) < 0 || n > UINT32_MAX)
		return -EINVAL;
	uint32_t native = (uint32_t)n;
	uint8_t b[4];
	memcpy(b, &native, 4);
	*out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return 0;
}

/* "SECONDS.FRACTION" (microseconds, or any number of fraction digits). */
static int ks_timestamp(const char *s, const char *e, gt_time_us *out)
{
	uint64_t sec = 0, us = 0;
	int frac_digits = -1;
	for (const char *p = s; p < e; p++) {
		if (*p == '.') {
			if (frac_digits >= 0)
				return -EINVAL;
			frac_digits = 0;
		} else if (frac_digits < 0) {
			if (sec > (UINT64_MAX / KS_S - 9) / 10)
				return -EINVAL;
			sec = sec * 10 + (uint64_t)(*p - '0');
		} else if (frac_digits < 6) {
			us = us * 10 + (uint64_t)(*p - '0');
			frac_digits++;
		}
	}
	for (int d = frac_digits < 0 ? 0 : frac_digits; d < 6; d++)
		us *= 10;
	*out = sec * KS_S + us;
	return 0;
}

enum {
	F_FAMILY = 1 << 0,
	F_PROTOCOL = 1 << 1,
	F_SPORT = 1 << 2,
	F_DPORT = 1 << 3,
	F_SADDR = 1 << 4,
	F_DADDR = 1 << 5,
	F_OLD = 1 << 6,
	F_NEW = 1 << 7,
	F_ALL = (1 << 8) - 1
};

static int ks_field(ks_rec *r, const char *key, size_t klen, const char *v, unsigned *have)
{
#define KEY(s) (klen == sizeof(s) - 1 && memcmp(key, s, klen) == 0)
	uint64_t n;
	if (KEY("family")) {
		if (strcmp(v, "AF_INET") == 0)
			r->family = 2;
		else if (strcmp(v, "AF_INET6") == 0)
			r->family = 10;
		else if (ks_number(v, &n) == 0 && n < 65536)
			r->family = (int)n;
		else
			return -EINVAL;
		*have |= F_FAMILY;
	} else if (KEY("protocol")) {
		if (strcmp(v, "IPPROTO_TCP") == 0)
			r->protocol = 6;
		else if (strcmp(v, "IPPROTO_SCTP") == 0)
			r->protocol = 132;
		else if (strcmp(v, "IPPROTO_MPTCP") == 0)
			r->protocol = 262;
		else if (ks_number(v, &n) == 0 && n < 65536)
			r->protocol = (int)n;
		else
			return -EINVAL;
		*have |= F_PROTOCOL;
	} else if (KEY("sport") || KEY("dport")) {
		if (ks_number(v, &n) < 0 || n > 65535)
			return -EINVAL;
		if (key[0] == 's') {
			r->sport = (uint16_t)n;
			*have |= F_SPORT;
		} else {
			r->dport = (uint16_t)n;
			*have |= F_DPORT;
		}
	} else if (KEY("saddr")) {
		if (ks_addr(v, &r->saddr) < 0)
			return -EINVAL;
		*have |= F_SADDR;
	} else if (KEY("daddr")) {
		if (ks_addr(v, &r->daddr) < 0)
			return -EINVAL;
		*have |= F_DADDR;
	} else if (KEY("oldstate") || KEY("newstate")) {
		int k = ks_state_by_name(v);
		if (k < 0 && ks_number(v, &n) == 0 && n >= 1 && n <= K_STATE_MAX)
			k = (int)n;
		if (k < 0)
			return -EINVAL;
		if (key[0] == 'o') {
			r->oldstate = k;
			*have |= F_OLD;
		} else {
			r->newstate = k;
			*have |= F_NEW;
		}
	} else if (KEY("skaddr")) {
		if (ks_number(v, &n) < 0)
			return -EINVAL;
		r->skaddr = n;
	}
	/* anything else (saddrv6, daddr_v6 ...) is not needed */
	return 0;
#undef KEY
}

/* Parses one trace_pipe line of sock:inet_sock_set_state, in either format:
 *   <comm>-<pid> [cpu] flags SECONDS.USECS: inet_sock_set_state: family=AF_INET
 *     protocol=IPPROTO_TCP sport=80 dport=5000 saddr=192.0.2.1 ... oldstate=TCP_CLOSE
 *     newstate=TCP_SYN_SENT                                  (the event's print format)
 *   ... inet_sock_set_state: skaddr=0xffff... (-1234) oldstate=0x7 (7) ...
 *                                                            (options/fields)
 * Returns 0, or -EINVAL for anything else (other events, lost-event notices,
 * truncated lines). */
static int ks_parse_line(const char *line, ks_rec *r)
{
	memset(r, 0, sizeof(*r));
	/* The task's name comes first and may hold any character, but it is at
	 * most 15 characters long: shorter than the event's name. */
	const char *ev = strstr(line, KS_EVENT_NAME);
	if (!ev || ev == line || ev[-1] != ':')
		return -EINVAL;
	const char *te = ev - 1, *ts = te;
	while (ts > line && (isdigit((unsigned char)ts[-1]) || ts[-1] == '.'))
		ts--;
	if (ts == te || (ts > line && ts[-1] != ' ') || !isdigit((unsigned char)*ts))
		return -EINVAL;
	if (ks_timestamp(ts, te, &r->t) < 0)
		return -EINVAL;

	unsigned have = 0;
	const char *p = ev + strlen(KS_EVENT_NAME);
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *tok = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
		const char *tend = p;
		if (*p == '\n' || *p == '\r')
			p++;
		if (tok == tend || *tok == '(') /* "(16777343)": the decimal of the last field */
			continue;
		const char *eq = memchr(tok, '=', (size_t)(tend - tok));
		if (!eq || eq == tok)
			continue;
		char val[64];
		size_t vlen = (size_t)(tend - eq - 1);
		if (vlen >= sizeof(val)) /* e.g. long IPv6 text: not a field we read */
			continue;
		memcpy(val, eq + 1, vlen);
		val[vlen] = '\0';
		if (ks_field(r, tok, (size_t)(eq - tok), val, &have) < 0)
			return -EINVAL;
	}
	return (have & F_ALL) == F_ALL ? 0 : -EINVAL;
}

/* ------------------------------------------------------------- tracefs */

static int ks_write(const char *dir, const char *file, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	int err = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	close(fd);
	return err;
}

static int ks_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* tracefs at /sys/kernel/tracing, mounting it when the directory is empty
 * (Debian does not mount it; `ip netns exec` remounts /sys without it). */
static int ks_tracefs(char *err, size_t errlen)
{
	struct statfs sf;
	if (statfs(KS_TRACEFS, &sf) < 0)
		return ks_fail(err, errlen, -errno, "no %s (%s): kernel without tracefs?",
		               KS_TRACEFS, strerror(errno));
	if (sf.f_type == TRACEFS_MAGIC)
		return 0;
	if (mount("nodev", KS_TRACEFS, "tracefs", 0, NULL) < 0)
		return ks_fail(err, errlen, -errno, "cannot mount tracefs on %s: %s", KS_TRACEFS,
		               strerror(errno));
	return 0;
}

/* Removes instances left by glasstcp processes that died without closing
 * (kill -9): named glasstcp-PID, PID gone. rmdir fails (EBUSY) on an instance
 * whose trace_pipe is open, so a live user is never disturbed. */
static void ks_remove_stale(void)
{
	DIR *d = opendir(KS_TRACEFS "/instances");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		long pid;
		char rest[8];
		int n = sscanf(de->d_name, "glasstcp-%ld%7s", &pid, rest);
		if (n < 1 || pid <= 0 || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char path[300];
		snprintf(path, sizeof(path), KS_TRACEFS "/instances/%s", de->d_name);
		(void)rmdir(path);
	}
	closedir(d);
}

static void ks_teardown_trace(gt_kstates *ks)
{
	if (ks->pipe_fd >= 0)
		close(ks->pipe_fd);
	ks->pipe_fd = -1;
	if (!ks->inst[0])
		return;
	char ev[200];
	snprintf(ev, sizeof(ev), "%s/" KS_EVENT_DIR, ks->inst);
	if (ks->event_on)
		(void)ks_write(ev, "enable", "0");
	ks->event_on = false;
	(void)ks_write(ev, "filter", "0");
	(void)rmdir(ks->inst);
	ks->inst[0] = '\0';
}

static int ks_setup_trace(gt_kstates *ks, char *err, size_t errlen)
{
	int rc = ks_tracefs(err, errlen);
	if (rc < 0)
		return rc;
	ks_remove_stale();
	for (int i = 1; i < 100; i++) {
		if (i == 1)
			snprintf(ks->inst, sizeof(ks->inst), KS_TRACEFS "/instances/glasstcp-%ld",
			         (long)getpid());
		else
			snprintf(ks->inst, sizeof(ks->inst),
			         KS_TRACEFS "/instances/glasstcp-%ld-%d", (long)getpid(), i);
		if (mkdir(ks->inst, 0700) == 0)
			break;
		rc = -errno;
		if (rc != -EEXIST) {
			ks->inst[0] = '\0';
			return ks_fail(err, errlen, rc, "cannot create a tracefs instance: %s",
			               strerror(-rc));
		}
		if (i == 99) {
			ks->inst[0] = '\0';
			return ks_fail(err, errlen, rc, "cannot create a tracefs instance: %s",
			               strerror(-rc));
		}
	}
	char ev[200];
	snprintf(ev, sizeof(ev), "%s/" KS_EVENT_DIR, ks->inst);
	if (access(ev, F_OK) < 0)
		return ks_fail(err, errlen, -ENOENT,
		               "the kernel has no tracepoint sock:inet_sock_set_state");
	/* The instance's timestamps on CLOCK_MONOTONIC, like glasstcp's own. */
	if ((rc = ks_write(ks->inst, "trace_clock", "mono")) < 0)
		return ks_fail(err, errlen, rc, "cannot set trace_clock mono: %s", strerror(-rc));
	/* Wake a poller on any event, not when the buffer is half full. Kernels
	 * without the file wake on any event anyway. */
	(void)ks_write(ks->inst, "buffer_percent", "0");
	/* Raw fields: the socket's address (skaddr) ties CLOSE -> SYN_SENT, which
	 * has no port yet, to the socket's next event. Optional (kernel >= 5.19). */
	ks->fields = ks_write(ks->inst, "options/fields", "1") == 0;
	/* Only this address's TCP sockets, in the kernel. The filter compares the
	 * __u8[4] fields as one native integer. The user-space check stays. */
	uint8_t b[4] = {(uint8_t)(ks->addr >> 24), (uint8_t)(ks->addr >> 16),
	                (uint8_t)(ks->addr >> 8), (uint8_t)ks->addr};
	uint32_t native;
	memcpy(&native, b, 4);
	char filter[160];
	snprintf(filter, sizeof(filter), "protocol == 6 && (saddr == 0x%x || daddr == 0x%x)",
	         native, native);
	(void)ks_write(ev, "filter", filter);
	char pipe[200];
	snprintf(pipe, sizeof(pipe), "%s/trace_pipe", ks->inst);
	ks->pipe_fd = open(pipe, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (ks->pipe_fd < 0)
		return ks_fail(err, errlen, -errno, "cannot open %s: %s", pipe, strerror(errno));
	if ((rc = ks_write(ev, "enable", "1")) < 0)
		return ks_fail(err, errlen, rc, "cannot enable sock:inet_sock_set_state: %s",
		               strerror(-rc));
	ks->event_on = true;
	return 0;
}

/* ------------------------------------------------------------ sock_diag */

static int ks_diag_open(gt_kstates *ks, char *err, size_t errlen)
{
	ks->diag_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (ks->diag_fd < 0)
		return ks_fail(err, errlen, -errno, "cannot open a sock_diag socket: %s",
		               strerror(errno));
	/* Never block the caller's loop for long if the kernel does not answer. */
	struct timeval tv = {.tv_sec = 1};
	(void)setsockopt(ks->diag_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ks->nlcap = 32768;
	ks->nlbuf = malloc(ks->nlcap);
	if (!ks->nlbuf)
		return ks_fail(err, errlen, -ENOMEM, "out of memory");
	return 0;
}

static int ks_snap_push(gt_kstates *ks, const ks_diag *d)
{
	if (ks->nsnap == ks->capsnap) {
		size_t cap = ks->capsnap ? ks->capsnap * 2 : 64;
		ks_diag *n = realloc(ks->snap, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		ks->snap = n;
		ks->capsnap = cap;
	}
	ks->snap[ks->nsnap++] = *d;
	return 0;
}

/* One dump of family's TCP sockets in the given states, appended to snap. */
static int ks_diag_dump(gt_kstates *ks, int family, uint32_t states)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;
	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.nlh.nlmsg_seq = ++ks->diag_seq;
	msg.req.sdiag_family = (uint8_t)family;
	msg.req.sdiag_protocol = 6;
	msg.req.idiag_states = states;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	if (sendto(ks->diag_fd, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel, sizeof(kernel)) <
	    0)
		return -errno;
	for (;;) {
		ssize_t n = recv(ks->diag_fd, ks->nlbuf, ks->nlcap, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		size_t left = (size_t)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)ks->nlbuf; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_seq != ks->diag_seq)
				continue; /* the tail of an earlier, abandoned dump */
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				return e->error ? e->error : -EIO;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				continue;
			const struct inet_diag_msg *m = NLMSG_DATA(h);
			ks_diag d = {.state = m->idiag_state,
			             .sport = ntohs(m->id.idiag_sport),
			             .dport = ntohs(m->id.idiag_dport),
			             .expires_ms = m->idiag_expires};
			if (m->idiag_family == 2) {
				d.src = ntohl(m->id.idiag_src[0]);
				d.dst = ntohl(m->id.idiag_dst[0]);
			} else {
				/* An AF_INET6 socket talks IPv4 through ::ffff:a.b.c.d */
				const __be32 *s = m->id.idiag_src, *t = m->id.idiag_dst;
				if (s[0] || s[1] || ntohl(s[2]) != 0xffff || t[0] || t[1] ||
				    ntohl(t[2]) != 0xffff)
					continue;
				d.src = ntohl(s[3]);
				d.dst = ntohl(t[3]);
			}
			if (ks_snap_push(ks, &d) < 0)
				return -ENOMEM;
		}
	}
}

/* The sockets sock_diag lists now in the states the module looks at (once per
 * gt_kstates_process at most). Returns false when the dump failed (then
 * nothing is concluded from it). Without a sock_diag socket (the tests' fake
 * module) the snapshot is empty. */
static bool ks_snapshot(gt_kstates *ks)
{
	if (ks->snap_valid)
		return ks->snap_ok;
	ks->nsnap = 0;
	ks->snap_valid = true;
	ks->snap_ok = true;
	uint32_t states = 1u << K_TIME_WAIT | 1u << K_FIN_WAIT2 | 1u << K_SYN_SENT;
	if (ks->diag_fd < 0)
		return true;
	if (ks_diag_dump(ks, 2, states) < 0 || ks_diag_dump(ks, 10, states) < 0) {
		ks->diag_errors++;
		ks->nsnap = 0;
		ks->snap_ok = false;
	}
	return ks->snap_ok;
}

static const ks_diag *ks_snap_find(const gt_kstates *ks, const gt_conn_tuple *c)
{
	for (size_t i = 0; i < ks->nsnap; i++) {
		const ks_diag *d = &ks->snap[i];
		if ((d->state == K_TIME_WAIT || d->state == K_FIN_WAIT2) &&
		    d->src == c->local_addr && d->sport == c->local_port &&
		    d->dst == c->remote_addr && d->dport == c->remote_port)
			return d;
	}
	return NULL;
}

/* ---------------------------------------------------------- the events */

static void ks_emit_raw(gt_kstates *ks, const gt_conn_tuple *c, gt_tcp_state from, gt_tcp_state to,
                        gt_time_us t)
{
	if (from == to || from >= GT_TCP_STATE_COUNT || to >= GT_TCP_STATE_COUNT || !ks->fn)
		return;
	gt_event ev = {.kind = GT_EV_STATE,
	               .t_us = t,
	               .host = ks->host,
	               .has_conn = true,
	               .conn = *c,
	               .from = from,
	               .to = to,
	               .cause = KS_CAUSE,
	               .sock = -1};
	ks->fn(ks->user, &ev);
}

static void ks_tw_remove(gt_kstates *ks, size_t i)
{
	ks->tw[i] = ks->tw[--ks->ntw];
}

/* A trace event for c: a mini-socket with the same tuple has ended (the kernel
 * reuses a tuple only after killing its time-wait socket). */
static void ks_emit(gt_kstates *ks, const gt_conn_tuple *c, gt_tcp_state from, gt_tcp_state to,
                    gt_time_us t)
{
	for (size_t i = 0; i < ks->ntw; i++) {
		if (memcmp(&ks->tw[i].c, c, sizeof(*c)) == 0) {
			ks_emit_raw(ks, c, ks->tw[i].shown, GT_TCP_CLOSED, t);
			ks_tw_remove(ks, i);
			break;
		}
	}
	ks_emit_raw(ks, c, from, to, t);
}

static void ks_tw_schedule(ks_tw *w, gt_time_us now)
{
	if (w->shown == GT_TCP_FIN_WAIT_2)
		w->next_poll = now + KS_POLL_FW2_US;
	else if (w->expiry > now)
		w->next_poll = w->expiry < now + KS_POLL_TW_US ? w->expiry : now + KS_POLL_TW_US;
	else
		w->next_poll = now + KS_POLL_LATE_US;
}

/* When a mini-socket entered TIME_WAIT, from its timer: it was armed for
 * TCP_TIMEWAIT_LEN then. Kept within [lo, hi]. */
static gt_time_us ks_tw_entry(const ks_diag *d, gt_time_us now, gt_time_us lo, gt_time_us hi)
{
	uint64_t left = (uint64_t)d->expires_ms * KS_MS;
	gt_time_us t = left < KS_TIMEWAIT_US && now > KS_TIMEWAIT_US - left
	                   ? now - (KS_TIMEWAIT_US - left) + KS_JIFFY_US
	                   : now;
	if (t < lo)
		t = lo;
	if (t > hi)
		t = hi;
	return t;
}

static int ks_tw_track(gt_kstates *ks, const gt_conn_tuple *c, gt_tcp_state shown, gt_time_us since,
                       const ks_diag *d)
{
	if (ks->ntw == ks->captw) {
		size_t cap = ks->captw ? ks->captw * 2 : 16;
		ks_tw *n = realloc(ks->tw, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		ks->tw = n;
		ks->captw = cap;
	}
	ks_tw *w = &ks->tw[ks->ntw++];
	*w = (ks_tw){.c = *c,
	             .shown = shown,
	             .since = since,
	             .seen = ks->now,
	             .expiry = ks->now + (uint64_t)d->expires_ms * KS_MS};
	ks_tw_schedule(w, ks->now);
	return 0;
}

/* FIN_WAIT2 -> CLOSE or CLOSING -> CLOSE: the socket may live on as a
 * time-wait mini-socket, in TIME_WAIT, or in FIN_WAIT2 when it was orphaned
 * (close() before the peer's FIN: ss shows FIN-WAIT-2 until that FIN). */
static void ks_handed_over(gt_kstates *ks, const gt_conn_tuple *c, const ks_rec *r)
{
	gt_tcp_state from = ks_map_state(r->oldstate);
	const ks_diag *d;
	ks_diag guess = {.state = K_TIME_WAIT, .expires_ms = KS_TIMEWAIT_US / KS_MS};
	if (!ks_snapshot(ks))
		d = &guess; /* sock_diag failed: the usual case, checked at the next poll */
	else
		d = ks_snap_find(ks, c);
	gt_time_us hi = ks->now > r->t ? ks->now : r->t;
	if (d && d->state == K_TIME_WAIT) {
		gt_time_us t = r->t;
		if (from == GT_TCP_FIN_WAIT_2 && d != &guess) {
			/* orphaned then, its FIN came since: the timer tells when */
			gt_time_us est = ks_tw_entry(d, ks->now, r->t, hi);
			if (est > r->t + KS_EST_SLACK_US)
				t = est;
		}
		ks_emit(ks, c, from, GT_TCP_TIME_WAIT, t);
		(void)ks_tw_track(ks, c, GT_TCP_TIME_WAIT, t, d);
	} else if (d && d->state == K_FIN_WAIT2) {
		/* Still FIN_WAIT_2 as ss shows it: nothing to report yet, except a
		 * mini-socket this tuple had before. */
		ks_emit(ks, c, from, from, r->t);
		(void)ks_tw_track(ks, c, GT_TCP_FIN_WAIT_2, r->t, d);
	} else {
		ks_emit(ks, c, from, GT_TCP_CLOSED, r->t);
	}
}

static ks_pending *ks_pending_find(gt_kstates *ks, const ks_rec *r)
{
	for (size_t i = 0; i < ks->npend; i++) {
		ks_pending *p = &ks->pend[i];
		if (p->skaddr && r->skaddr) {
			if (p->skaddr == r->skaddr)
				return p;
			continue;
		}
		/* without skaddr: the oldest connect from saddr to daddr:dport */
		if (p->saddr == r->saddr && p->daddr == r->daddr && p->dport == r->dport &&
		    (!p->sport || p->sport == r->sport))
			return p;
	}
	return NULL;
}

static void ks_pending_add(gt_kstates *ks, const ks_rec *r)
{
	if (ks->npend == KS_MAX_PENDING) {
		memmove(ks->pend, ks->pend + 1, (ks->npend - 1) * sizeof(*ks->pend));
		ks->npend--;
	}
	if (ks->npend == ks->cappend) {
		size_t cap = ks->cappend ? ks->cappend * 2 : 16;
		ks_pending *n = realloc(ks->pend, cap * sizeof(*n));
		if (!n)
			return;
		ks->pend = n;
		ks->cappend = cap;
	}
	ks->pend[ks->npend++] = (ks_pending){.skaddr = r->skaddr,
	                                     .saddr = r->saddr,
	                                     .daddr = r->daddr,
	                                     .dport = r->dport,
	                                     .t = r->t};
	if (ks->pend_retry == GT_TIME_NEVER)
		ks->pend_retry = 0; /* look it up in sock_diag at the end of this batch */
}

/* One event, filtered and turned into GT_EV_STATE events. */
static void ks_handle(gt_kstates *ks, const ks_rec *r)
{
	if (r->protocol != 6 || (r->family != 2 && r->family != 10))
		return;
	if (r->saddr != ks->addr && r->daddr != ks->addr)
		return;
	gt_conn_tuple c = {.local_addr = r->saddr,
	                   .remote_addr = r->daddr,
	                   .local_port = r->sport,
	                   .remote_port = r->dport};
	if (r->oldstate == K_CLOSE && r->newstate == K_SYN_SENT && r->sport == 0) {
		/* connect(): the port is chosen just after this event */
		ks_pending_add(ks, r);
		return;
	}
	if (r->oldstate == K_SYN_SENT) {
		ks_pending *p = ks_pending_find(ks, r);
		if (p) {
			if (!p->emitted)
				ks_emit(ks, &c, GT_TCP_CLOSED, GT_TCP_SYN_SENT, p->t);
			size_t i = (size_t)(p - ks->pend);
			memmove(p, p + 1, (ks->npend - i - 1) * sizeof(*p));
			ks->npend--;
		}
	}
	if (r->newstate == K_CLOSE && (r->oldstate == K_FIN_WAIT2 || r->oldstate == K_CLOSING))
		ks_handed_over(ks, &c, r);
	else
		ks_emit(ks, &c, ks_map_state(r->oldstate), ks_map_state(r->newstate), r->t);
}

static void ks_line(gt_kstates *ks, const char *line)
{
	ks_rec r;
	if (ks_parse_line(line, &r) == 0) {
		ks_handle(ks, &r);
		return;
	}
	unsigned cpu;
	unsigned long lost;
	if (sscanf(line, "CPU:%u [LOST %lu EVENTS]", &cpu, &lost) == 2)
		ks->lost += lost;
	else if (line[0])
		ks->bad_lines++;
}

/* Connects whose port is not known: the one socket in SYN_SENT from saddr to
 * daddr:dport that no other known connect holds. */
static void ks_resolve_pending(gt_kstates *ks)
{
	bool waiting = false;
	for (size_t i = 0; i < ks->npend; i++) {
		ks_pending *p = &ks->pend[i];
		if (p->emitted)
			continue;
		if (!ks_snapshot(ks)) {
			waiting = true;
			break;
		}
		size_t unresolved = 0;
		for (size_t j = 0; j < ks->npend; j++) {
			const ks_pending *q = &ks->pend[j];
			if (!q->emitted && q->saddr == p->saddr && q->daddr == p->daddr &&
			    q->dport == p->dport)
				unresolved++;
		}
		const ks_diag *found = NULL;
		size_t candidates = 0;
		for (size_t k = 0; k < ks->nsnap; k++) {
			const ks_diag *d = &ks->snap[k];
			if (d->state != K_SYN_SENT || d->src != p->saddr || d->dst != p->daddr ||
			    d->dport != p->dport)
				continue;
			bool claimed = false;
			for (size_t j = 0; j < ks->npend && !claimed; j++)
				claimed = ks->pend[j].emitted && ks->pend[j].sport == d->sport &&
				          ks->pend[j].saddr == p->saddr &&
				          ks->pend[j].daddr == p->daddr &&
				          ks->pend[j].dport == p->dport;
			if (!claimed) {
				found = d;
				candidates++;
			}
		}
		if (unresolved == 1 && candidates == 1) {
			p->sport = found->sport;
			p->emitted = true;
			gt_conn_tuple c = {.local_addr = p->saddr,
			                   .remote_addr = p->daddr,
			                   .local_port = p->sport,
			                   .remote_port = p->dport};
			ks_emit(ks, &c, GT_TCP_CLOSED, GT_TCP_SYN_SENT, p->t);
		} else {
			waiting = true; /* not hashed yet, or ambiguous: its next event tells */
		}
	}
	ks->pend_retry = waiting ? ks->now + KS_RETRY_US : GT_TIME_NEVER;
}

static void ks_poll_tw(gt_kstates *ks)
{
	bool due = false;
	for (size_t i = 0; i < ks->ntw && !due; i++)
		due = ks->tw[i].next_poll <= ks->now;
	if (!due)
		return;
	if (!ks_snapshot(ks)) {
		for (size_t i = 0; i < ks->ntw; i++)
			ks->tw[i].next_poll = ks->now + KS_POLL_LATE_US;
		return;
	}
	for (size_t i = 0; i < ks->ntw;) {
		ks_tw *w = &ks->tw[i];
		const ks_diag *d = ks_snap_find(ks, &w->c);
		if (!d) {
			/* gone from sock_diag: its timer fired, or an RST or a
			 * SOCK_DESTROY killed it */
			ks_emit_raw(ks, &w->c, w->shown, GT_TCP_CLOSED, ks->now);
			ks_tw_remove(ks, i);
			continue;
		}
		if (d->state == K_TIME_WAIT && w->shown == GT_TCP_FIN_WAIT_2) {
			/* after the last dump that listed it in FIN_WAIT2 */
			gt_time_us t = ks_tw_entry(d, ks->now, w->seen, ks->now);
			ks_emit_raw(ks, &w->c, GT_TCP_FIN_WAIT_2, GT_TCP_TIME_WAIT, t);
			w->shown = GT_TCP_TIME_WAIT;
			w->since = t;
		}
		w->seen = ks->now;
		w->expiry = ks->now + (uint64_t)d->expires_ms * KS_MS;
		ks_tw_schedule(w, ks->now);
		i++;
	}
}

static void ks_read(gt_kstates *ks)
{
	for (int reads = 0; reads < KS_MAX_READS && ks->pipe_fd >= 0; reads++) {
		ssize_t n = read(ks->pipe_fd, ks->rbuf + ks->rlen, sizeof(ks->rbuf) - 1 - ks->rlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* EAGAIN: all read */
		ks->rlen += (size_t)n;
		ks->rbuf[ks->rlen] = '\0';
		char *line = ks->rbuf, *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			ks_line(ks, line);
			line = nl + 1;
		}
		ks->rlen -= (size_t)(line - ks->rbuf);
		memmove(ks->rbuf, line, ks->rlen);
		if (ks->rlen == sizeof(ks->rbuf) - 1) { /* no line is that long */
			ks->bad_lines++;
			ks->rlen = 0;
		}
	}
}

/* ------------------------------------------------------------ interface */

static gt_kstates *ks_new(uint32_t addr, const char *host_name)
{
	gt_kstates *ks = calloc(1, sizeof(*ks));
	if (!ks)
		return NULL;
	ks->host = strdup(host_name ? host_name : "linux");
	if (!ks->host) {
		free(ks);
		return NULL;
	}
	ks->addr = addr;
	ks->pipe_fd = ks->diag_fd = -1;
	ks->pend_retry = GT_TIME_NEVER;
	return ks;
}

int gt_kstates_open(uint32_t addr, const char *host_name, gt_kstates **out, char *err,
                    size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return ks_fail(err, errlen, -EINVAL, "no place for the result");
	*out = NULL;
	if (geteuid() != 0)
		return ks_fail(err, errlen, -EPERM,
		               "not root: cannot enable the tracepoint sock:inet_sock_set_state");
	gt_kstates *ks = ks_new(addr, host_name);
	if (!ks)
		return ks_fail(err, errlen, -ENOMEM, "out of memory");
	int rc = ks_diag_open(ks, err, errlen);
	if (rc == 0)
		rc = ks_setup_trace(ks, err, errlen);
	if (rc < 0) {
		gt_kstates_close(ks);
		return rc;
	}
	*out = ks;
	return 0;
}

int gt_kstates_fd(const gt_kstates *ks)
{
	return ks ? ks->pipe_fd : -1;
}

void gt_kstates_process(gt_kstates *ks, gt_time_us now, gt_event_fn fn, void *user)
{
	if (!ks)
		return;
	ks->now = now;
	ks->fn = fn;
	ks->user = user;
	ks->snap_valid = false;
	ks_read(ks);
	if (ks->pend_retry <= now)
		ks_resolve_pending(ks);
	ks_poll_tw(ks);
	ks->fn = NULL;
	ks->user = NULL;
}

gt_time_us gt_kstates_deadline(const gt_kstates *ks)
{
	if (!ks)
		return GT_TIME_NEVER;
	gt_time_us d = GT_TIME_NEVER;
	for (size_t i = 0; i < ks->npend; i++) {
		if (!ks->pend[i].emitted) {
			d = ks->pend_retry;
			break;
		}
	}
	for (size_t i = 0; i < ks->ntw; i++) {
		if (ks->tw[i].next_poll < d)
			d = ks->tw[i].next_poll;
	}
	return d;
}

void gt_kstates_close(gt_kstates *ks)
{
	if (!ks)
		return;
	ks_teardown_trace(ks);
	if (ks->diag_fd >= 0)
		close(ks->diag_fd);
	free(ks->nlbuf);
	free(ks->snap);
	free(ks->pend);
	free(ks->tw);
	free(ks->host);
	free(ks);
}

static gt_time_us ks_mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gt_time_us)ts.tv_sec * 1000000u + (gt_time_us)ts.tv_nsec / 1000u;
}

void gt_kstates_drain(gt_kstates *ks, gt_time_us grace_us, gt_event_fn fn, void *user)
{
	if (!ks)
		return;
	gt_time_us now = ks_mono_now();
	gt_time_us end = now + grace_us;
	for (;;) {
		gt_kstates_process(ks, now, fn, user);
		gt_time_us dl = gt_kstates_deadline(ks);
		if (dl == GT_TIME_NEVER || dl > end || now >= end)
			return;
		gt_time_us wait = dl > now ? dl - now : 1000;
		struct timespec ts = {.tv_sec = (time_t)(wait / 1000000u),
		                      .tv_nsec = (long)(wait % 1000000u) * 1000};
		nanosleep(&ts, NULL);
		now = ks_mono_now();
	}
}
