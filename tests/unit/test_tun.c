/* The TUN backend (src/backend/tun): configuration checks and the CLI's usage
 * errors (always), and, as root, the real thing: a TUN device in a network
 * namespace the test creates, the kernel's view of it, and the Linux kernel's
 * own TCP talking to glasstcp through it (echo, a refused port, an impaired
 * path, `glasstcp up` and its signal handling).
 *
 * Each root test forks a child that makes a new network namespace
 * (unshare(CLONE_NEWNET)) and runs glasstcp there; the test joins the same
 * namespace with setns() to play the kernel side, and goes back. The
 * namespace disappears with the child, so nothing is left behind, not even
 * when a test fails (the child is killed in the teardown, and dies with the
 * test process through PR_SET_PDEATHSIG). No packet leaves the namespace. */
#define _GNU_SOURCE
#include "glasstcp/tun.h"
#include "support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Not .1/.2: the kernel-state tracepoint sees every namespace, so these keep
 * out of the way of other tests watching 192.0.2.2 at the same time. */
#define GT_ADDR   GT_TEST_ADDR(102) /* glasstcp */
#define PEER_ADDR GT_TEST_ADDR(101) /* the kernel */
#define IFNAME    "gttest0"

/* ---------------------------------------------------------------- helpers */

static bool is_root(void)
{
	return geteuid() == 0;
}

#define SKIP_UNLESS_ROOT()                                                                         \
	do {                                                                                       \
		if (!is_root()) {                                                                  \
			print_message("[  SKIP    ] not root: creating network namespaces and "    \
			              "TUN devices needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)\n");  \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

/* The running child and the namespace we came from, for the teardown. */
static pid_t child_pid = -1;
static int home_ns = -1;
static int ready_fd = -1;

static void go_home(void)
{
	if (home_ns >= 0) {
		setns(home_ns, CLONE_NEWNET);
		close(home_ns);
		home_ns = -1;
	}
}

static int teardown(void **state)
{
	go_home();
	if (child_pid > 0) {
		kill(child_pid, SIGKILL);
		waitpid(child_pid, NULL, 0);
		child_pid = -1;
	}
	if (ready_fd >= 0) {
		close(ready_fd);
		ready_fd = -1;
	}
	return 0;
}

/* Joins the network namespace of pid (remembering ours). */
static void enter_ns_of(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	home_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(home_ns >= 0);
	assert_int_equal(setns(fd, CLONE_NEWNET), 0);
	close(fd);
}

/* Reads exactly n bytes within timeout_ms; false on EOF or timeout. */
static bool read_full(int fd, void *buf, size_t n, int timeout_ms)
{
	uint8_t *p = buf;
	while (n) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return false;
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	memset(ifr, 0, sizeof *ifr);
	snprintf(ifr->ifr_name, sizeof ifr->ifr_name, "%s", IFNAME);
	int rc = ioctl(s, req, ifr) < 0 ? -errno : 0;
	close(s);
	return rc;
}

static uint32_t sin_addr_of(const struct sockaddr *sa)
{
	struct sockaddr_in sin;
	memcpy(&sin, sa, sizeof sin);
	return ntohl(sin.sin_addr.s_addr);
}

/* The kernel sees the device up, with the peer address, a /24 and MTU 1500. */
static void check_device(void)
{
	struct ifreq ifr;
	assert_int_equal(ifreq_ioctl(SIOCGIFFLAGS, &ifr), 0);
	assert_true(ifr.ifr_flags & IFF_UP);
	assert_int_equal(ifreq_ioctl(SIOCGIFADDR, &ifr), 0);
	assert_int_equal(sin_addr_of(&ifr.ifr_addr), PEER_ADDR);
	assert_int_equal(ifreq_ioctl(SIOCGIFNETMASK, &ifr), 0);
	assert_int_equal(sin_addr_of(&ifr.ifr_netmask), 0xffffff00u);
	assert_int_equal(ifreq_ioctl(SIOCGIFMTU, &ifr), 0);
	assert_int_equal(ifr.ifr_mtu, 1500);
}

/* A kernel TCP socket connected to glasstcp's port, or -errno. */
static int kernel_connect(uint16_t port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	struct timeval tv = {.tv_sec = 10};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	struct sockaddr_in sin = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(GT_ADDR)};
	if (connect(s, (struct sockaddr *)&sin, sizeof sin) < 0) {
		int e = errno;
		close(s);
		return -e;
	}
	return s;
}

/* Sends len pattern bytes, half-closes, and checks that exactly the same
 * bytes come back before the echo's FIN. */
static void echo_roundtrip(size_t len, uint32_t seed)
{
	int s = kernel_connect(7);
	assert_true(s >= 0);
	uint8_t *out = malloc(len), *in = malloc(len + 1);
	assert_non_null(out);
	assert_non_null(in);
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		out[i] = (uint8_t)(seed >> 16);
	}
	/* write and read at once, so neither side's buffers fill up */
	assert_int_equal(fcntl(s, F_SETFL, O_NONBLOCK), 0);
	size_t sent = 0, got = 0;
	bool shut = false, eof = false;
	time_t give_up = time(NULL) + 60;
	while (!eof) {
		assert_true(time(NULL) < give_up);
		struct pollfd pfd = {.fd = s, .events = POLLIN | (shut ? 0 : POLLOUT)};
		assert_true(poll(&pfd, 1, 10000) > 0);
		if (!shut && (pfd.revents & POLLOUT)) {
			ssize_t n = send(s, out + sent, len - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			if (sent == len) {
				assert_int_equal(shutdown(s, SHUT_WR), 0);
				shut = true;
			}
		}
		if (pfd.revents & (POLLIN | POLLHUP)) {
			ssize_t n = recv(s, in + got, len + 1 - got, 0);
			if (n == 0)
				eof = true;
			else if (n > 0)
				got += (size_t)n;
			else
				assert_true(errno == EAGAIN || errno == EINTR);
		}
	}
	close(s);
	assert_int_equal(got, len);
	assert_memory_equal(in, out, len);
	free(out);
	free(in);
}

/* ------------------------------------------- the echo app of the child */

#define ECHO_CONNS 8
#define ECHO_BUF   16384

typedef struct echo_conn {
	int s;
	uint8_t buf[ECHO_BUF];
	size_t off, len;
	bool eof;
} echo_conn;

typedef struct echo_app {
	gt_stack *st;
	int lsock;
	echo_conn c[ECHO_CONNS];
} echo_app;

static void echo_one(echo_app *a, echo_conn *c, gt_time_us now)
{
	for (;;) {
		if (c->len) {
			ssize_t n = gt_send(a->st, c->s, c->buf + c->off, c->len, now);
			if (n == -EAGAIN)
				return;
			if (n < 0)
				break;
			c->off += (size_t)n;
			c->len -= (size_t)n;
			continue;
		}
		if (c->eof) {
			gt_shutdown(a->st, c->s, GT_SHUT_WR, now);
			break;
		}
		ssize_t n = gt_recv(a->st, c->s, c->buf, ECHO_BUF, now);
		if (n == -EAGAIN)
			return;
		if (n < 0)
			break;
		if (n == 0) {
			c->eof = true;
			continue;
		}
		c->off = 0;
		c->len = (size_t)n;
	}
	gt_close(a->st, c->s, now); /* the connection goes on closing in the stack */
	c->s = -1;
}

static void echo_poll(void *user, gt_tun *t, gt_time_us now)
{
	echo_app *a = user;
	for (;;) {
		int slot = 0;
		while (slot < ECHO_CONNS && a->c[slot].s >= 0)
			slot++;
		if (slot == ECHO_CONNS)
			break;
		int s = gt_accept(a->st, a->lsock, NULL, NULL);
		if (s < 0)
			break;
		a->c[slot] = (echo_conn){.s = s};
	}
	for (int i = 0; i < ECHO_CONNS; i++) {
		if (a->c[i].s >= 0)
			echo_one(a, &a->c[i], now);
	}
}

/* Child: a new namespace, glasstcp on a TUN device in it with an echo
 * service on port 7; "R" on the pipe when ready, then, after SIGTERM, its
 * loop stats. Never returns. */
static void echo_child(int wfd, const gt_tun_impair *imp)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unshare(CLONE_NEWNET) < 0)
		_exit(10);
	gt_tun_config cfg;
	gt_tun_config_default(&cfg);
	cfg.ifname = IFNAME;
	cfg.addr = GT_ADDR;
	cfg.peer = PEER_ADDR;
	cfg.impair = imp;
	char err[256];
	gt_tun *t;
	if (gt_tun_new(&cfg, &t, err, sizeof err) < 0) {
		fprintf(stderr, "echo child: %s\n", err);
		_exit(11);
	}
	static echo_app a;
	a.st = gt_tun_stack(t);
	for (int i = 0; i < ECHO_CONNS; i++)
		a.c[i].s = -1;
	a.lsock = gt_socket(a.st);
	gt_time_us now = gt_tun_now(t);
	if (a.lsock < 0 || gt_bind(a.st, a.lsock, 0, 7) < 0 || gt_listen(a.st, a.lsock, 0, now) < 0)
		_exit(12);
	gt_tun_app app = {.poll = echo_poll, .user = &a}; /* no on_signal: SIGTERM stops */
	gt_tun_set_app(t, &app);
	if (write(wfd, "R", 1) != 1)
		_exit(13);
	int rc = gt_tun_run(t);
	gt_tun_stats st = *gt_tun_get_stats(t);
	gt_tun_free(t);
	if (write(wfd, &st, sizeof st) != (ssize_t)sizeof st)
		_exit(14);
	_exit(rc == 0 ? 0 : 15);
}

static void start_echo_child(const gt_tun_impair *imp)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		echo_child(p[1], imp);
	}
	close(p[1]);
	child_pid = pid;
	ready_fd = p[0];
	char c = 0;
	if (!read_full(ready_fd, &c, 1, 10000) || c != 'R') {
		print_error("the glasstcp child did not come up (see its stderr)\n");
		fail();
	}
}

/* SIGTERM to the child: its loop stops, it reports its stats and exits 0. */
static gt_tun_stats stop_echo_child(void)
{
	gt_tun_stats st;
	memset(&st, 0, sizeof st);
	assert_int_equal(kill(child_pid, SIGTERM), 0);
	assert_true(read_full(ready_fd, &st, sizeof st, 10000));
	int status;
	assert_int_equal(waitpid(child_pid, &status, 0), child_pid);
	child_pid = -1;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	return st;
}

/* ------------------------------------------------------- always: checks */

static void expect_einval(const gt_tun_config *cfg, const char *what)
{
	gt_tun *t = NULL;
	char err[256] = "";
	int rc = gt_tun_new(cfg, &t, err, sizeof err);
	if (rc != -EINVAL || !err[0] || t) {
		print_error("%s: rc %d, err '%s'\n", what, rc, err);
		fail();
	}
}

/* Bad configurations are refused with a reason before any device is
 * touched (so this runs without root). */
static void test_config_is_checked(void **state)
{
	gt_tun_config base;
	gt_tun_config_default(&base);
	assert_int_equal(base.prefix_len, 24);
	assert_int_equal(base.mtu, 1500);
	assert_true(base.configure);
	assert_string_equal(base.stack.name, "glasstcp");
	base.ifname = IFNAME;
	base.addr = GT_ADDR;
	base.peer = PEER_ADDR;

	/* base with one field changed */
#define EXPECT_EINVAL_WITH(field, value, what)                                                     \
	do {                                                                                       \
		gt_tun_config c = base;                                                            \
		c.field = value;                                                                   \
		expect_einval(&c, what);                                                           \
	} while (0)
	EXPECT_EINVAL_WITH(ifname, NULL, "no name");
	EXPECT_EINVAL_WITH(addr, 0, "no addr");
	EXPECT_EINVAL_WITH(peer, 0, "no peer");
	EXPECT_EINVAL_WITH(peer, base.addr, "addr == peer");
	EXPECT_EINVAL_WITH(addr, 0x0A000002, "addr outside the prefix"); /* 10.0.0.2 */
	EXPECT_EINVAL_WITH(addr, GT_TEST_ADDR(255), "broadcast address");
	EXPECT_EINVAL_WITH(peer, GT_TEST_ADDR(0), "network address");
	EXPECT_EINVAL_WITH(prefix_len, 31, "/31");
	EXPECT_EINVAL_WITH(mtu, 67, "MTU 67");
#undef EXPECT_EINVAL_WITH

	char name[16], err[160];
	assert_int_equal(gt_tun_open_device("a/b", name, err, sizeof err), -EINVAL);
	assert_int_equal(gt_tun_open_device("sixteen-chars-xx", name, err, sizeof err), -EINVAL);
	assert_int_equal(gt_tun_open_device("", name, err, sizeof err), -EINVAL);
	assert_int_equal(gt_tun_configure_device(IFNAME, PEER_ADDR, 33, 1500, err, sizeof err),
	                 -EINVAL);
}

/* Runs the CLI with args (through the shell); returns its exit status. */
static int run_cli(const char *args)
{
	const char *cli = getenv("GT_CLI");
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "'%s' %s >/dev/null 2>&1 </dev/null", cli, args);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The options of a valid device, for the usage errors that follow them. */
#define NET_OPTS "--tun gtx0 --addr 192.0.2.2 --peer 192.0.2.1"

/* Bad usage exits 2 before any device is opened (so no root needed). */
static void test_cli_usage(void **state)
{
	if (!getenv("GT_CLI")) {
		print_message("[  SKIP    ] GT_CLI is not set (run through ctest)\n");
		skip();
	}
	static const struct {
		const char *args;
		int status;
	} cases[] = {
	    {"up --help", 0},
	    {"connect --help", 0},
	    {"get --help", 0},
	    {"up", 2},
	    {"up --tun gtx0 --addr 192.0.2.2", 2},
	    {"up --tun gtx0 --addr 192.0.2.256 --peer 192.0.2.1", 2},
	    {"up --tun this-name-is-too-long --addr 192.0.2.2 --peer 192.0.2.1", 2},
	    {"up " NET_OPTS " --bogus", 2},
	    {"up " NET_OPTS " --serve", 2},
	    {"up " NET_OPTS " --impair loss=2", 2},
	    {"up " NET_OPTS " --impair loss=0.1,bogus=1", 2},
	    {"up " NET_OPTS " --impair delay=x", 2},
	    {"up " NET_OPTS " --impair loss=0.1,loss=0.1", 2},
	    {"up " NET_OPTS " --impair ''", 2},
	    {"up " NET_OPTS " --impair seed=-1", 2},
	    {"connect " NET_OPTS " 192.0.2.1", 2},
	    {"connect " NET_OPTS " 192.0.2.1 0", 2},
	    {"connect " NET_OPTS " 192.0.2.1 65536", 2},
	    {"connect " NET_OPTS " host.example 80", 2},
	    {"connect " NET_OPTS " 192.0.2.1 80 extra", 2},
	    {"get " NET_OPTS, 2},
	    {"get " NET_OPTS " http://192.0.2.1/ http://192.0.2.1/b", 2},
	    {"get " NET_OPTS " http://192.0.2.1/ -o", 2},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int status = run_cli(cases[i].args);
		if (status != cases[i].status)
			fail_msg("glasstcp %s: exit status %d, want %d", cases[i].args, status,
			         cases[i].status);
	}
}

/* ---------------------------------------------------------- root: real */

/* The device is up with the kernel's address; the kernel's TCP connects to
 * glasstcp's echo and gets its bytes back; a port with no listener refuses
 * (glasstcp's RST); SIGTERM stops the loop and the device goes away. */
static void test_kernel_talks_to_glasstcp(void **state)
{
	SKIP_UNLESS_ROOT();
	start_echo_child(NULL);
	enter_ns_of(child_pid);
	check_device();
	echo_roundtrip(16, 1);
	echo_roundtrip(1 << 20, 2); /* 1 MiB: many windows' worth */
	assert_int_equal(kernel_connect(9), -ECONNREFUSED);

	gt_tun_stats st = stop_echo_child();
	assert_true(st.rx_packets > 700); /* 1 MiB in ~1460-byte segments */
	assert_int_equal(st.tx_drops, 0);
	assert_int_equal(st.tx_errors, 0);
	assert_true(st.rx_bytes >= (1u << 20) + 16);
	assert_true(st.tx_bytes >= (1u << 20) + 16);
	/* a non-persistent device vanished with its last fd (and the
	 * namespace with the child: we hold it open, so look) */
	struct ifreq ifr;
	assert_int_equal(ifreq_ioctl(SIOCGIFFLAGS, &ifr), -ENODEV);
	go_home();
}

/* Loss, duplication, reordering, delay and jitter both ways: the kernel's TCP
 * and glasstcp recover, and the bytes still match. */
static void test_impaired_path(void **state)
{
	SKIP_UNLESS_ROOT();
	gt_tun_impair imp;
	char err[160];
	assert_int_equal(gt_tun_impair_parse("loss=3%,dup=2%,reorder=3%,delay=1,jitter=0.5,seed=7",
	                                     &imp, err, sizeof err),
	                 0);
	start_echo_child(&imp);
	enter_ns_of(child_pid);
	echo_roundtrip(1 << 20, 3);
	gt_tun_stats st = stop_echo_child();
	go_home();
	for (int d = 0; d < 2; d++) {
		assert_true(st.imp_lost[d] > 0);
		assert_true(st.imp_dup[d] > 0);
		assert_true(st.imp_reordered[d] > 0);
		assert_int_equal(st.imp_overflow[d], 0);
	}
	assert_true(st.tx_rexmit_bytes > 0);
	assert_int_equal(st.tx_drops, 0);
}

/* `glasstcp up` as a user runs it: one ready line on stdout, echo works,
 * SIGTERM ends it with exit 0 (after closing gracefully). */
static void test_cli_up(void **state)
{
	SKIP_UNLESS_ROOT();
	const char *cli = getenv("GT_CLI");
	if (!cli) {
		print_message("[  SKIP    ] GT_CLI is not set (run through ctest)\n");
		skip();
	}
	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNET) < 0)
			_exit(10);
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execl(cli, cli, "up", "--tun", IFNAME, "--addr", "192.0.2.102", "--peer",
		      "192.0.2.101", "--serve", "echo:7", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	child_pid = pid;
	ready_fd = p[0];
	char line[256] = "";
	size_t n = 0;
	while (n < sizeof line - 1 && read_full(ready_fd, line + n, 1, 10000) && line[n] != '\n')
		n++;
	line[n] = '\0';
	assert_string_equal(line, "glasstcp: up on " IFNAME " 192.0.2.102 (kernel 192.0.2.101), "
	                          "serving echo:7");

	enter_ns_of(child_pid);
	check_device();
	echo_roundtrip(100000, 4);
	/* a connection left open when the signal comes is closed with FIN: the
	 * kernel reads EOF, not a reset */
	int s = kernel_connect(7);
	assert_true(s >= 0);
	assert_int_equal(send(s, "x", 1, 0), 1);
	char c;
	assert_int_equal(recv(s, &c, 1, 0), 1);
	assert_int_equal(kill(child_pid, SIGTERM), 0);
	assert_int_equal(recv(s, &c, 1, 0), 0); /* EOF: glasstcp's FIN */
	close(s);
	int status;
	assert_int_equal(waitpid(child_pid, &status, 0), child_pid);
	child_pid = -1;
	go_home();
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_is_checked),
	    cmocka_unit_test(test_cli_usage),
	    cmocka_unit_test_teardown(test_kernel_talks_to_glasstcp, teardown),
	    cmocka_unit_test_teardown(test_impaired_path, teardown),
	    cmocka_unit_test_teardown(test_cli_up, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
