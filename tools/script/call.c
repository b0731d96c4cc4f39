/* The socket calls of a script (run.h): the arguments as packetdrill's
 * run_system_call.c takes them ("..." for what it fills in itself, [N] for a
 * pointed-to int, {field=value, ...} for structs), the call through the
 * interface, and the check of the result and errno. */
#include "script/run.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define MAX_IO_BYTES (16u << 20)
#define MAX_IOV      64

typedef struct call_ctx {
	gt_spd_run *r;
	const gt_spd_event *ev;
	const gt_spd_call *c;
	gt_spd_worker *w;
} call_ctx;

static bool fail(call_ctx *x, const char *what)
{
	return gt_spd_fail(x->r, x->ev->line, "%s(): %s", x->c->name, what);
}

/* ---- arguments ---- */

static bool want_args(call_ctx *x, size_t n)
{
	if (x->c->n_arg == n)
		return true;
	char msg[96];
	snprintf(msg, sizeof(msg), "takes %zu arguments, the script gives %zu", n, x->c->n_arg);
	return fail(x, msg);
}

static bool arg_int(call_ctx *x, size_t k, int64_t *v)
{
	*v = 0; /* set on every path: -O2 cannot see that fail() returns false */
	const gt_spd_expr *e = x->c->arg[k];
	if (e->kind == GT_SPD_EXPR_INT) {
		*v = e->value;
		return true;
	}
	char msg[96];
	snprintf(msg, sizeof(msg), "argument %zu must be an integer", k + 1);
	return fail(x, msg);
}

/* [N]: a pointer to an int. */
static bool arg_bracketed(call_ctx *x, const gt_spd_expr *e, size_t k, int64_t *v)
{
	*v = 0;
	if (e->kind == GT_SPD_EXPR_ARRAY && e->n_elem == 1 && e->elem[0]->kind == GT_SPD_EXPR_INT) {
		*v = e->elem[0]->value;
		return true;
	}
	char msg[96];
	snprintf(msg, sizeof(msg), "argument %zu must be [N]", k + 1);
	return fail(x, msg);
}

static bool arg_fd(call_ctx *x, size_t k, int *live)
{
	*live = -1;
	int64_t script_fd;
	if (!arg_int(x, k, &script_fd))
		return false;
	gt_spd_sock *s = gt_spd_sock_of(x->r, (int)script_fd);
	if (!s || s->live_fd < 0) {
		char msg[96];
		snprintf(msg, sizeof(msg), "no socket has script fd %lld", (long long)script_fd);
		return fail(x, msg);
	}
	*live = s->live_fd;
	return true;
}

static const gt_spd_expr *field(const gt_spd_expr *st, const char *name)
{
	for (size_t k = 0; st->kind == GT_SPD_EXPR_STRUCT && k < st->n_elem; k++)
		if (st->elem[k]->kind == GT_SPD_EXPR_FIELD && !strcmp(st->elem[k]->text, name))
			return st->elem[k]->elem[0];
	return NULL;
}

/* "..." (the script's remote or local end) or {sa_family=AF_INET,
 * sin_port=htons(P), sin_addr=inet_addr("A")}. */
static bool arg_sockaddr(call_ctx *x, size_t k, uint32_t ip, uint16_t port, struct sockaddr_in *sa)
{
	const gt_spd_expr *e = x->c->arg[k];
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	sa->sin_addr.s_addr = htonl(ip);
	if (e->kind == GT_SPD_EXPR_ELLIPSIS)
		return true;
	const gt_spd_expr *fam = field(e, "sa_family"), *p = field(e, "sin_port"),
	                  *a = field(e, "sin_addr");
	if (!fam || !p || !a || fam->kind != GT_SPD_EXPR_INT || p->kind != GT_SPD_EXPR_INT ||
	    a->kind != GT_SPD_EXPR_INT)
		return fail(x, "the address must be ... or {sa_family=AF_INET, "
		               "sin_port=htons(P), sin_addr=inet_addr(\"A\")}");
	sa->sin_family = (sa_family_t)fam->value;
	sa->sin_port = (in_port_t)p->value;
	sa->sin_addr.s_addr = (in_addr_t)a->value;
	return true;
}

/* ---- the call and its result ---- */

static void begin(call_ctx *x)
{
	atomic_store(&x->w->in_call, 1);
	pthread_mutex_unlock(&x->r->lock);
	errno = 0;
}

static void end(call_ctx *x)
{
	int e = errno;
	/* only a blocking call's return time is checked; the others do not
	 * read (and so move) the clock */
	if (x->w->blocking)
		x->w->live_end = gt_spd_now(x->r);
	atomic_store(&x->w->in_call, 0);
	pthread_mutex_lock(&x->r->lock);
	errno = e;
}

static const char *errno_text(int e, char *buf, size_t n)
{
	const char *name = gt_spd_errno_name(e);
	snprintf(buf, n, "%s (%s)", name ? name : "errno", strerror(e));
	return buf;
}

/* The result against "= N" or "= -1 ENAME"; fd_mode: any fd >= 0 stands
 * for an expected fd >= 0 (script fds map to live ones). */
static bool check_result(call_ctx *x, long long actual, int err, bool fd_mode)
{
	const gt_spd_expr *want = x->c->result;
	char msg[384], e1[128], e2[128];
	if (want->kind == GT_SPD_EXPR_ELLIPSIS)
		return true;
	if (want->kind != GT_SPD_EXPR_INT)
		return fail(x, "the expected result must be an integer or ...");
	if (fd_mode && want->value >= 0 && actual >= 0)
		return true;
	if (actual != want->value) {
		snprintf(msg, sizeof(msg), "expected result %lld, got %lld%s%s",
		         (long long)want->value, actual, actual < 0 ? " " : "",
		         actual < 0 ? errno_text(err, e1, sizeof(e1)) : "");
		return fail(x, msg);
	}
	if (actual < 0 && x->c->errno_value && err != x->c->errno_value) {
		snprintf(msg, sizeof(msg), "expected errno %s, got %s",
		         errno_text(x->c->errno_value, e1, sizeof(e1)),
		         errno_text(err, e2, sizeof(e2)));
		return fail(x, msg);
	}
	return true;
}

static gt_spd_sock *new_sock(call_ctx *x, int script_fd, int live_fd)
{
	gt_spd_run *r = x->r;
	if (r->n_sock == GT_SPD_MAX_SOCKETS) {
		fail(x, "too many sockets");
		return NULL;
	}
	gt_spd_sock *s = &r->sock[r->n_sock++];
	memset(s, 0, sizeof(*s));
	s->state = GT_SPD_SOCK_NEW;
	s->script_fd = script_fd;
	s->live_fd = live_fd;
	return s;
}

static bool call_socket(call_ctx *x)
{
	int64_t dom = AF_INET, type, proto; /* "...": the script's address family */
	if (!want_args(x, 3) ||
	    (x->c->arg[0]->kind != GT_SPD_EXPR_ELLIPSIS && !arg_int(x, 0, &dom)) ||
	    !arg_int(x, 1, &type) || !arg_int(x, 2, &proto))
		return false;
	struct packetdrill_interface *ifc = x->r->ifc;
	begin(x);
	int fd = ifc->socket(ifc->userdata, (int)dom, (int)type, (int)proto);
	end(x);
	if (!check_result(x, fd, errno, true))
		return false;
	if (fd >= 0) {
		gt_spd_sock *s = new_sock(x, (int)x->c->result->value, fd);
		if (!s)
			return false;
		x->r->under_test = s;
	}
	return true;
}

static bool call_bind_connect(call_ctx *x, bool is_bind)
{
	int fd;
	gt_spd_run *r = x->r;
	struct sockaddr_in sa;
	if (!want_args(x, 3) || !arg_fd(x, 0, &fd) ||
	    !arg_sockaddr(x, 1, is_bind ? r->local_ip : r->remote_ip,
	                  is_bind ? r->cfg.bind_port : r->cfg.connect_port, &sa))
		return false;
	gt_spd_sock *s = gt_spd_sock_of(r, (int)x->c->arg[0]->value);
	if (is_bind) {
		s->local_port = ntohs(sa.sin_port);
	} else {
		/* packetdrill: the connecting socket is the one under test; a
		 * connect() again (EALREADY, EISCONN) changes nothing */
		if (s->state == GT_SPD_SOCK_NEW) {
			s->state = GT_SPD_SOCK_CONNECTING;
			s->remote_port = ntohs(sa.sin_port);
		}
		r->under_test = s;
	}
	struct packetdrill_interface *ifc = r->ifc;
	begin(x);
	int rc = is_bind ? ifc->bind(ifc->userdata, fd, (struct sockaddr *)&sa, sizeof(sa))
	                 : ifc->connect(ifc->userdata, fd, (struct sockaddr *)&sa, sizeof(sa));
	end(x);
	return check_result(x, rc, errno, false);
}

static bool call_listen(call_ctx *x)
{
	int fd;
	int64_t backlog;
	if (!want_args(x, 2) || !arg_fd(x, 0, &fd) || !arg_int(x, 1, &backlog))
		return false;
	gt_spd_sock *s = gt_spd_sock_of(x->r, (int)x->c->arg[0]->value);
	s->state = GT_SPD_SOCK_LISTENING;
	if (!s->local_port)
		s->local_port = x->r->cfg.bind_port;
	x->r->under_test = s;
	struct packetdrill_interface *ifc = x->r->ifc;
	begin(x);
	int rc = ifc->listen(ifc->userdata, fd, (int)backlog);
	end(x);
	return check_result(x, rc, errno, false);
}

static bool call_accept(call_ctx *x)
{
	int fd;
	if (!want_args(x, 3) || !arg_fd(x, 0, &fd))
		return false;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct packetdrill_interface *ifc = x->r->ifc;
	begin(x);
	int nfd = ifc->accept(ifc->userdata, fd, (struct sockaddr *)&sa, &len);
	end(x);
	if (!check_result(x, nfd, errno, true))
		return false;
	if (nfd < 0)
		return true;
	/* the accepted socket is the child the inbound packets made */
	gt_spd_sock *child = x->r->under_test;
	if (child && child->live_fd < 0 &&
	    (child->state == GT_SPD_SOCK_PASSIVE_PACKET ||
	     child->state == GT_SPD_SOCK_PASSIVE_SYNACK)) {
		child->script_fd = (int)x->c->result->value;
		child->live_fd = nfd;
		return true;
	}
	gt_spd_sock *s = new_sock(x, (int)x->c->result->value, nfd);
	if (s)
		s->state = GT_SPD_SOCK_PASSIVE_SYNACK;
	return s != NULL;
}

/* read, recv, write, send: (fd, ..., count[, flags]); data is zeros. */
static bool call_io(call_ctx *x, bool is_write, bool has_flags)
{
	int fd;
	int64_t count, flags = 0;
	if (!want_args(x, has_flags ? 4 : 3) || !arg_fd(x, 0, &fd) || !arg_int(x, 2, &count) ||
	    (has_flags && !arg_int(x, 3, &flags)))
		return false;
	if (count < 0 || count > MAX_IO_BYTES)
		return fail(x, "count out of range (0 to 16 MiB)");
	void *buf = calloc(1, (size_t)count + 1);
	if (!buf)
		return fail(x, "out of memory");
	struct packetdrill_interface *ifc = x->r->ifc;
	void *u = ifc->userdata;
	ssize_t n;
	begin(x);
	if (is_write)
		n = has_flags ? ifc->send(u, fd, buf, (size_t)count, (int)flags)
		              : ifc->write(u, fd, buf, (size_t)count);
	else
		n = has_flags ? ifc->recv(u, fd, buf, (size_t)count, (int)flags)
		              : ifc->read(u, fd, buf, (size_t)count);
	end(x);
	int e = errno;
	free(buf);
	return check_result(x, n, e, false);
}

/* readv, writev: (fd, [{..., N}, ...], count) */
static bool call_iov(call_ctx *x, bool is_write)
{
	int fd;
	int64_t cnt;
	if (!want_args(x, 3) || !arg_fd(x, 0, &fd) || !arg_int(x, 2, &cnt))
		return false;
	const gt_spd_expr *list = x->c->arg[1];
	if (list->kind != GT_SPD_EXPR_ARRAY || list->n_elem > MAX_IOV || cnt < 0 ||
	    (size_t)cnt > list->n_elem)
		return fail(x, "the iovec must be [{..., N}, ...] with at least count elements");
	struct iovec iov[MAX_IOV];
	size_t total = 0;
	for (size_t k = 0; k < list->n_elem; k++) {
		const gt_spd_expr *e = list->elem[k];
		if (e->kind != GT_SPD_EXPR_STRUCT || e->n_elem != 2 ||
		    e->elem[1]->kind != GT_SPD_EXPR_INT || e->elem[1]->value < 0 ||
		    e->elem[1]->value > MAX_IO_BYTES)
			return fail(x, "each iovec element must be {..., N}");
		iov[k].iov_len = (size_t)e->elem[1]->value;
		total += iov[k].iov_len;
	}
	uint8_t *buf = calloc(1, total + 1);
	if (!buf)
		return fail(x, "out of memory");
	for (size_t k = 0, off = 0; k < list->n_elem; off += iov[k].iov_len, k++)
		iov[k].iov_base = buf + off;
	struct packetdrill_interface *ifc = x->r->ifc;
	begin(x);
	ssize_t n = is_write ? ifc->writev(ifc->userdata, fd, iov, (int)cnt)
	                     : ifc->readv(ifc->userdata, fd, iov, (int)cnt);
	end(x);
	int e = errno;
	free(buf);
	return check_result(x, n, e, false);
}

static bool call_close_shutdown(call_ctx *x, bool is_close)
{
	int fd;
	int64_t how = 0;
	if (!want_args(x, is_close ? 1 : 2) || !arg_fd(x, 0, &fd) ||
	    (!is_close && !arg_int(x, 1, &how)))
		return false;
	struct packetdrill_interface *ifc = x->r->ifc;
	begin(x);
	int rc =
	    is_close ? ifc->close(ifc->userdata, fd) : ifc->shutdown(ifc->userdata, fd, (int)how);
	end(x);
	return check_result(x, rc, errno, false);
}

static bool call_fcntl(call_ctx *x)
{
	int fd;
	int64_t cmd, arg = 0;
	if (x->c->n_arg != 2 && !want_args(x, 3))
		return false;
	if (!arg_fd(x, 0, &fd) || !arg_int(x, 1, &cmd) ||
	    (x->c->n_arg == 3 && !arg_int(x, 2, &arg)))
		return false;
	struct packetdrill_interface *ifc = x->r->ifc;
	begin(x);
	int rc = x->c->n_arg == 3 ? ifc->fcntl(ifc->userdata, fd, (int)cmd, (int)arg)
	                          : ifc->fcntl(ifc->userdata, fd, (int)cmd);
	end(x);
	return check_result(x, rc, errno, false);
}

/* ioctl(fd, FIONREAD, [N]): N checked after the call. */
static bool call_ioctl(call_ctx *x)
{
	int fd;
	int64_t req, want = 0;
	if (!want_args(x, 3) || !arg_fd(x, 0, &fd) || !arg_int(x, 1, &req))
		return false;
	bool any = x->c->arg[2]->kind == GT_SPD_EXPR_ELLIPSIS;
	if (!any && !arg_bracketed(x, x->c->arg[2], 2, &want))
		return false;
	int val = 0;
	struct packetdrill_interface *ifc = x->r->ifc;
	begin(x);
	int rc = ifc->ioctl(ifc->userdata, fd, (unsigned long)req, &val);
	end(x);
	if (!check_result(x, rc, errno, false))
		return false;
	if (rc == 0 && !any && val != want) {
		char msg[96];
		snprintf(msg, sizeof(msg), "value: expected [%lld], got [%d]", (long long)want,
		         val);
		return fail(x, msg);
	}
	return true;
}

/* ---- setsockopt, getsockopt ---- */

typedef struct tcpi_field {
	const char *name;
	size_t off, size; /* size 0: the wscale nibbles of byte off */
	int nibble;
} tcpi_field;

#define TI(f)                                                                                      \
	{                                                                                          \
#f, offsetof(struct tcp_info, f), sizeof(((struct tcp_info *)0)->f), 0             \
	}

/* Linux's struct tcp_info, as glibc declares it (TCP_INFO). */
static const tcpi_field tcpi_fields[] = {
    TI(tcpi_state),
    TI(tcpi_ca_state),
    TI(tcpi_retransmits),
    TI(tcpi_probes),
    TI(tcpi_backoff),
    TI(tcpi_options),
    {"tcpi_snd_wscale", offsetof(struct tcp_info, tcpi_options) + 1, 0, 0},
    {"tcpi_rcv_wscale", offsetof(struct tcp_info, tcpi_options) + 1, 0, 1},
    TI(tcpi_rto),
    TI(tcpi_ato),
    TI(tcpi_snd_mss),
    TI(tcpi_rcv_mss),
    TI(tcpi_unacked),
    TI(tcpi_sacked),
    TI(tcpi_lost),
    TI(tcpi_retrans),
    TI(tcpi_fackets),
    TI(tcpi_last_data_sent),
    TI(tcpi_last_ack_sent),
    TI(tcpi_last_data_recv),
    TI(tcpi_last_ack_recv),
    TI(tcpi_pmtu),
    TI(tcpi_rcv_ssthresh),
    TI(tcpi_rtt),
    TI(tcpi_rttvar),
    TI(tcpi_snd_ssthresh),
    TI(tcpi_snd_cwnd),
    TI(tcpi_advmss),
    TI(tcpi_reordering),
    TI(tcpi_rcv_rtt),
    TI(tcpi_rcv_space),
    TI(tcpi_total_retrans),
};

static int64_t tcpi_value(const uint8_t *info, const tcpi_field *f)
{
	if (f->size == 0)
		return f->nibble ? info[f->off] >> 4 : info[f->off] & 15;
	if (f->size == 1)
		return info[f->off];
	uint32_t v;
	memcpy(&v, info + f->off, sizeof(v));
	return v;
}

/* {tcpi_state=TCP_ESTABLISHED, tcpi_snd_mss=1448, ...}: each named field
 * must hold the value (glasstcp's form; stock packetdrill has none). */
static bool check_tcp_info(call_ctx *x, const gt_spd_expr *want, const uint8_t *info)
{
	for (size_t k = 0; k < want->n_elem; k++) {
		const gt_spd_expr *e = want->elem[k];
		const tcpi_field *f = NULL;
		for (size_t j = 0; e->kind == GT_SPD_EXPR_FIELD &&
		                   j < sizeof(tcpi_fields) / sizeof(tcpi_fields[0]);
		     j++)
			if (!strcmp(tcpi_fields[j].name, e->text))
				f = &tcpi_fields[j];
		if (!f || e->elem[0]->kind != GT_SPD_EXPR_INT)
			return fail(x, "TCP_INFO takes {tcpi_NAME=N, ...} with struct tcp_info's "
			               "field names");
		int64_t got = tcpi_value(info, f);
		if (got != e->elem[0]->value) {
			char msg[160];
			snprintf(msg, sizeof(msg), "%s: expected %lld, got %lld", f->name,
			         (long long)e->elem[0]->value, (long long)got);
			return fail(x, msg);
		}
	}
	return true;
}

/* The option's value from the script: [N] an int, {onoff=, linger=} a
 * struct linger, "text" bytes. */
static bool optval_of(call_ctx *x, const gt_spd_expr *e, uint8_t *buf, size_t cap, socklen_t *len)
{
	const gt_spd_expr *on = field(e, "onoff") ? field(e, "onoff") : field(e, "l_onoff");
	const gt_spd_expr *lg = field(e, "linger") ? field(e, "linger") : field(e, "l_linger");
	if (on && lg && on->kind == GT_SPD_EXPR_INT && lg->kind == GT_SPD_EXPR_INT) {
		struct linger l = {.l_onoff = (int)on->value, .l_linger = (int)lg->value};
		memcpy(buf, &l, sizeof(l));
		*len = sizeof(l);
		return true;
	}
	int64_t v;
	if (e->kind == GT_SPD_EXPR_INT ||
	    (e->kind == GT_SPD_EXPR_ARRAY && arg_bracketed(x, e, 3, &v))) {
		int iv = (int)(e->kind == GT_SPD_EXPR_INT ? e->value : v);
		memcpy(buf, &iv, sizeof(iv));
		*len = sizeof(iv);
		return true;
	}
	if (e->kind == GT_SPD_EXPR_STRING && strlen(e->text) < cap) {
		*len = (socklen_t)strlen(e->text);
		memcpy(buf, e->text, *len);
		return true;
	}
	if (!x->r->failed)
		fail(x, "the option value must be [N], {onoff=N, linger=N} or \"text\"");
	return false;
}

static bool call_setsockopt_fn(call_ctx *x)
{
	int fd;
	int64_t level, name, len_arg;
	uint8_t val[256];
	socklen_t len;
	if (!want_args(x, 5) || !arg_fd(x, 0, &fd) || !arg_int(x, 1, &level) ||
	    !arg_int(x, 2, &name) || !optval_of(x, x->c->arg[3], val, sizeof(val), &len))
		return false;
	if (x->c->arg[4]->kind != GT_SPD_EXPR_ELLIPSIS) {
		if (!arg_int(x, 4, &len_arg))
			return false;
		if (len_arg < 0 || (size_t)len_arg > sizeof(val))
			return fail(x, "optlen out of range");
		len = (socklen_t)len_arg;
	}
	struct packetdrill_interface *ifc = x->r->ifc;
	begin(x);
	int rc = ifc->setsockopt(ifc->userdata, fd, (int)level, (int)name, val, len);
	end(x);
	return check_result(x, rc, errno, false);
}

/* The value getsockopt returned against the script's. */
static bool check_optval(call_ctx *x, const gt_spd_expr *want, const uint8_t *got,
                         socklen_t got_len, int64_t name)
{
	char msg[256];
	if (want->kind == GT_SPD_EXPR_ELLIPSIS)
		return true;
	if (want->kind == GT_SPD_EXPR_STRUCT && name == TCP_INFO && field(want, "onoff") == NULL)
		return check_tcp_info(x, want, got);
	uint8_t exp[256];
	socklen_t exp_len;
	if (!optval_of(x, want, exp, sizeof(exp), &exp_len))
		return false;
	if (exp_len == sizeof(int) && want->kind != GT_SPD_EXPR_STRING &&
	    want->kind != GT_SPD_EXPR_STRUCT) {
		int e, g = 0;
		memcpy(&e, exp, sizeof(e));
		memcpy(&g, got, got_len < sizeof(g) ? got_len : sizeof(g));
		if (e == g)
			return true;
		snprintf(msg, sizeof(msg), "option value: expected [%d], got [%d]", e, g);
		return fail(x, msg);
	}
	if (exp_len == got_len && !memcmp(exp, got, exp_len))
		return true;
	if (want->kind == GT_SPD_EXPR_STRUCT) {
		struct linger e, g = {0};
		memcpy(&e, exp, sizeof(e));
		memcpy(&g, got, got_len < sizeof(g) ? got_len : sizeof(g));
		snprintf(msg, sizeof(msg),
		         "option value: expected {onoff=%d, linger=%d}, got "
		         "{onoff=%d, linger=%d}",
		         e.l_onoff, e.l_linger, g.l_onoff, g.l_linger);
	} else {
		snprintf(msg, sizeof(msg), "option value: expected \"%s\", got \"%.*s\"",
		         want->text, (int)got_len, (const char *)got);
	}
	return fail(x, msg);
}

static bool call_getsockopt_fn(call_ctx *x)
{
	int fd;
	int64_t level, name, want_len = -1;
	if (!want_args(x, 5) || !arg_fd(x, 0, &fd) || !arg_int(x, 1, &level) ||
	    !arg_int(x, 2, &name))
		return false;
	if (x->c->arg[4]->kind != GT_SPD_EXPR_ELLIPSIS &&
	    !arg_bracketed(x, x->c->arg[4], 4, &want_len))
		return false;
	if (want_len > 256)
		return fail(x, "optlen out of range");
	uint8_t got[256] = {0};
	socklen_t len = want_len >= 0      ? (socklen_t)want_len
	                : name == TCP_INFO ? (socklen_t)sizeof(struct tcp_info)
	                                   : (socklen_t)sizeof(int);
	if (x->c->arg[3]->kind == GT_SPD_EXPR_STRUCT && field(x->c->arg[3], "onoff") &&
	    want_len < 0)
		len = sizeof(struct linger);
	struct packetdrill_interface *ifc = x->r->ifc;
	begin(x);
	int rc = ifc->getsockopt(ifc->userdata, fd, (int)level, (int)name, got, &len);
	end(x);
	if (!check_result(x, rc, errno, false))
		return false;
	if (rc < 0)
		return true;
	if (want_len >= 0 && len != (socklen_t)want_len) {
		char msg[96];
		snprintf(msg, sizeof(msg), "optlen: expected [%lld], got [%u]", (long long)want_len,
		         (unsigned)len);
		return fail(x, msg);
	}
	return check_optval(x, x->c->arg[3], got, len, name);
}

/* ---- poll ---- */

/* poll([{fd=F, events=E, revents=R}, ...], nfds, timeout): R checked. */
static bool call_poll(call_ctx *x)
{
	int64_t nfds, timeout;
	if (!want_args(x, 3) || !arg_int(x, 1, &nfds) || !arg_int(x, 2, &timeout))
		return false;
	const gt_spd_expr *list = x->c->arg[0];
	if (list->kind != GT_SPD_EXPR_ARRAY || list->n_elem > MAX_IOV || nfds < 0 ||
	    (size_t)nfds > list->n_elem)
		return fail(x, "poll takes [{fd=F, events=E, revents=R}, ...], nfds, timeout");
	struct pollfd pfd[MAX_IOV];
	for (size_t k = 0; k < list->n_elem; k++) {
		const gt_spd_expr *f = field(list->elem[k], "fd"),
		                  *ev = field(list->elem[k], "events");
		if (!f || !ev || f->kind != GT_SPD_EXPR_INT || ev->kind != GT_SPD_EXPR_INT)
			return fail(x, "each pollfd must be {fd=F, events=E[, revents=R]}");
		gt_spd_sock *s = gt_spd_sock_of(x->r, (int)f->value);
		pfd[k].fd = s ? s->live_fd : -1;
		pfd[k].events = (short)ev->value;
		pfd[k].revents = 0;
	}
	struct packetdrill_interface *ifc = x->r->ifc;
	begin(x);
	int rc = ifc->poll(ifc->userdata, pfd, (nfds_t)nfds, (int)timeout);
	end(x);
	if (!check_result(x, rc, errno, false))
		return false;
	for (size_t k = 0; rc >= 0 && k < (size_t)nfds; k++) {
		const gt_spd_expr *re = field(list->elem[k], "revents");
		int64_t want = re && re->kind == GT_SPD_EXPR_INT ? re->value : 0;
		if (re && re->kind == GT_SPD_EXPR_ELLIPSIS)
			continue;
		if (pfd[k].revents != want) {
			char msg[128];
			snprintf(msg, sizeof(msg), "revents of pollfd %zu: expected %#llx, got %#x",
			         k + 1, (unsigned long long)want,
			         (unsigned)(unsigned short)pfd[k].revents);
			return fail(x, msg);
		}
	}
	return true;
}

typedef struct call_entry {
	const char *name;
	bool (*fn)(call_ctx *x);
	size_t ifc_member; /* offsetof the interface's function it needs */
} call_entry;

static bool call_bind(call_ctx *x)
{
	return call_bind_connect(x, true);
}
static bool call_connect(call_ctx *x)
{
	return call_bind_connect(x, false);
}
static bool call_read(call_ctx *x)
{
	return call_io(x, false, false);
}
static bool call_write(call_ctx *x)
{
	return call_io(x, true, false);
}
static bool call_recv(call_ctx *x)
{
	return call_io(x, false, true);
}
static bool call_send(call_ctx *x)
{
	return call_io(x, true, true);
}
static bool call_readv(call_ctx *x)
{
	return call_iov(x, false);
}
static bool call_writev(call_ctx *x)
{
	return call_iov(x, true);
}
static bool call_close(call_ctx *x)
{
	return call_close_shutdown(x, true);
}
static bool call_shutdown(call_ctx *x)
{
	return call_close_shutdown(x, false);
}

static const call_entry calls[] = {
    {"socket", call_socket, offsetof(struct packetdrill_interface, socket)},
    {"bind", call_bind, offsetof(struct packetdrill_interface, bind)},
    {"listen", call_listen, offsetof(struct packetdrill_interface, listen)},
    {"accept", call_accept, offsetof(struct packetdrill_interface, accept)},
    {"connect", call_connect, offsetof(struct packetdrill_interface, connect)},
    {"read", call_read, offsetof(struct packetdrill_interface, read)},
    {"write", call_write, offsetof(struct packetdrill_interface, write)},
    {"recv", call_recv, offsetof(struct packetdrill_interface, recv)},
    {"send", call_send, offsetof(struct packetdrill_interface, send)},
    {"readv", call_readv, offsetof(struct packetdrill_interface, readv)},
    {"writev", call_writev, offsetof(struct packetdrill_interface, writev)},
    {"close", call_close, offsetof(struct packetdrill_interface, close)},
    {"shutdown", call_shutdown, offsetof(struct packetdrill_interface, shutdown)},
    {"setsockopt", call_setsockopt_fn, offsetof(struct packetdrill_interface, setsockopt)},
    {"getsockopt", call_getsockopt_fn, offsetof(struct packetdrill_interface, getsockopt)},
    {"fcntl", call_fcntl, offsetof(struct packetdrill_interface, fcntl)},
    {"ioctl", call_ioctl, offsetof(struct packetdrill_interface, ioctl)},
    {"poll", call_poll, offsetof(struct packetdrill_interface, poll)},
};

bool gt_spd_known_call(const char *name)
{
	for (size_t k = 0; k < sizeof(calls) / sizeof(calls[0]); k++)
		if (!strcmp(calls[k].name, name))
			return true;
	return false;
}

bool gt_spd_run_call(gt_spd_run *r, size_t i, gt_spd_worker *w)
{
	call_ctx x = {.r = r, .ev = &r->s->event[i], .c = &r->s->event[i].call, .w = w};
	for (size_t k = 0; k < sizeof(calls) / sizeof(calls[0]); k++) {
		if (strcmp(calls[k].name, x.c->name))
			continue;
		void (*member)(void);
		memcpy(&member, (const char *)r->ifc + calls[k].ifc_member, sizeof(member));
		if (!member)
			return gt_spd_fail(r, x.ev->line, "the interface has no %s()", x.c->name);
		return calls[k].fn(&x);
	}
	return gt_spd_fail(r, x.ev->line, "unknown or unsupported call '%s'", x.c->name);
}
