/* The socket-like API: the RFC 9293 §3.10 user calls (OPEN, SEND, RECEIVE,
 * CLOSE, ABORT, STATUS) in BSD clothes. Every call checks its handle and the
 * state first, so wrong use returns an error and changes nothing. */
#include "stack/stack_impl.h"
#include "tcp/seq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#define GT_DEFAULT_BACKLOG 128

int gt_socket(gt_stack *st)
{
	gt_tcb *tcb = gt_stack_new_tcb(st);
	/* max_conns counts TIME-WAIT: as for a SYN (listen.c), the oldest
	 * TIME-WAIT connection makes room for a new one (RFC 9293 §3.10.7.4
	 * TIME-WAIT holds only sequence state; RFC 6191 lets a new incarnation
	 * replace it). */
	if (!tcb && gt_stack_tw_recycle(st, st->last_now))
		tcb = gt_stack_new_tcb(st);
	if (!tcb)
		return -EMFILE;
	int s = gt_stack_sock_alloc(st, tcb);
	if (s < 0)
		gt_stack_free_tcb(st, tcb);
	return s;
}

int gt_bind(gt_stack *st, int s, uint32_t addr, uint16_t port)
{
	gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	if (tcb->bound || tcb->opened)
		return -EINVAL;
	if (addr == 0)
		addr = st->cfg.local_addr;
	if (addr != st->cfg.local_addr)
		return -EADDRNOTAVAIL;
	if (port == 0) {
		port = gt_stack_pick_port(st, 0, 0);
		if (port == 0)
			return -EADDRINUSE;
	}
	/* A bound socket or listener on the port always conflicts; connections
	 * that use it (in TIME_WAIT, say, after a server's restart) do only
	 * without SO_REUSEADDR, as in BSD and Linux */
	if (gt_stack_lookup(st, addr, port, 0, 0) ||
	    (!tcb->reuseaddr && gt_stack_port_in_use(st, addr, port)))
		return -EADDRINUSE;
	tcb->tuple.local_addr = addr;
	tcb->tuple.local_port = port;
	tcb->tuple.remote_addr = 0;
	tcb->tuple.remote_port = 0;
	gt_stack_hash_insert(st, tcb);
	return 0;
}

int gt_listen(gt_stack *st, int s, int backlog, gt_time_us now)
{
	gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	if (tcb->state == GT_TCP_LISTEN) {
		tcb->backlog = backlog > 0 ? (uint32_t)backlog : GT_DEFAULT_BACKLOG;
		return 0;
	}
	if (tcb->state != GT_TCP_CLOSED || tcb->opened)
		return -EINVAL;
	if (!tcb->bound) {
		int r = gt_bind(st, s, 0, 0);
		if (r < 0)
			return r;
	}
	tcb->backlog = backlog > 0 ? (uint32_t)backlog : GT_DEFAULT_BACKLOG;
	tcb->opened = true;
	gt_tcb_set_state(tcb, GT_TCP_LISTEN, "listen()", now);
	return 0;
}

int gt_accept(gt_stack *st, int s, uint32_t *peer_addr, uint16_t *peer_port)
{
	gt_tcb *lst = gt_stack_sock_tcb(st, s);
	if (!lst)
		return -EBADF;
	if (lst->state != GT_TCP_LISTEN)
		return -EINVAL;
	gt_tcb *child = gt_listen_accept(lst);
	if (!child)
		return -EAGAIN;
	int h = gt_stack_sock_alloc(st, child);
	if (h < 0)
		return h; /* cannot happen: there are as many slots as TCBs */
	if (peer_addr)
		*peer_addr = child->tuple.remote_addr;
	if (peer_port)
		*peer_port = child->tuple.remote_port;
	child->last_ready = 0;
	lst->last_ready = gt_stack_ready(lst);
	return h;
}

int gt_connect(gt_stack *st, int s, uint32_t addr, uint16_t port, gt_time_us now)
{
	gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	if (tcb->state == GT_TCP_SYN_SENT || tcb->state == GT_TCP_SYN_RECEIVED)
		return -EALREADY;
	if (tcb->state == GT_TCP_LISTEN)
		return -EINVAL;
	if (tcb->state != GT_TCP_CLOSED || tcb->opened)
		return -EISCONN;
	if (addr == 0 || port == 0)
		return -EINVAL;
	if (gt_tcb_alloc_buffers(tcb) < 0)
		return -ENOMEM;
	uint16_t lport = tcb->tuple.local_port;
	if (!tcb->bound) {
		lport = gt_stack_pick_port(st, addr, port);
		if (lport == 0)
			return -EADDRNOTAVAIL;
	} else {
		gt_tcb *old = gt_stack_lookup(st, tcb->tuple.local_addr, lport, addr, port);
		if (old && old->state != GT_TCP_TIME_WAIT)
			return -EADDRINUSE;
		/* Reusing a 4-tuple still in TIME_WAIT is safe here: our ISN
		 * clock has moved past the old connection's sequence space
		 * (RFC 6191 §2). */
		if (old)
			gt_tcb_close(old, 0, "TIME_WAIT reused", now);
		gt_stack_hash_remove(st, tcb);
	}
	tcb->tuple.local_addr = st->cfg.local_addr;
	tcb->tuple.local_port = lport;
	tcb->tuple.remote_addr = addr;
	tcb->tuple.remote_port = port;
	gt_stack_hash_insert(st, tcb);
	tcb->snd_mss = st->cfg.mss;
	gt_tcb_init_sequence(tcb, now);
	/* RFC 9293 §3.10.1: OPEN (active) — send SYN, enter SYN-SENT */
	gt_tcb_set_state(tcb, GT_TCP_SYN_SENT, "connect()", now);
	gt_tcb_send_syn(tcb, false, now);
	gt_stack_notify(st, tcb, now);
	return -EINPROGRESS;
}

ssize_t gt_send(gt_stack *st, int s, const void *buf, size_t len, gt_time_us now)
{
	gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	if (!buf && len)
		return -EFAULT;
	if (tcb->error)
		return tcb->error;
	if (tcb->state == GT_TCP_LISTEN || (tcb->state == GT_TCP_CLOSED && !tcb->opened))
		return -ENOTCONN;
	if (tcb->wr_shut || tcb->state == GT_TCP_CLOSED)
		return -EPIPE;
	/* RFC 9293 §3.10.2: in SYN-SENT and SYN-RECEIVED the data is queued */
	if (!gt_state_can_send(tcb->state) && tcb->state != GT_TCP_SYN_SENT &&
	    tcb->state != GT_TCP_SYN_RECEIVED)
		return -EPIPE;
	if (len == 0)
		return 0;
	if (len > UINT32_MAX)
		len = UINT32_MAX;
	uint32_t n = gt_ringbuf_append(&tcb->sndbuf, buf, (uint32_t)len);
	if (n == 0)
		return -EAGAIN;
	gt_tcb_output(tcb, now);
	gt_stack_notify(st, tcb, now);
	return n;
}

ssize_t gt_recv(gt_stack *st, int s, void *buf, size_t len, gt_time_us now)
{
	gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	if (!buf && len)
		return -EFAULT;
	if (tcb->rd_shut)
		return 0;
	if (tcb->rcvbuf.len > 0 && len > 0) {
		uint32_t n = len < tcb->rcvbuf.len ? (uint32_t)len : tcb->rcvbuf.len;
		uint32_t before =
		    seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
		gt_ringbuf_peek(&tcb->rcvbuf, 0, buf, n);
		gt_ringbuf_consume(&tcb->rcvbuf, n);
		/* RFC 9293 §3.8.6.2.2: tell the peer when the window opens enough.
		 * A window update is its own segment, so announce only a window
		 * that was nearly closed or that at least doubles (as Linux does);
		 * the ACKs of arriving data carry the rest. */
		uint32_t after = gt_tcb_rcv_window(tcb);
		if (gt_state_can_receive(tcb->state) && after > before &&
		    (before < 2u * tcb->snd_mss || after >= 2 * before)) {
			tcb->ack_now = true;
			gt_tcb_output(tcb, now);
		}
		gt_stack_notify(st, tcb, now);
		return n;
	}
	if (len == 0 && tcb->rcvbuf.len > 0)
		return 0;
	if (tcb->fin_rcvd)
		return 0;
	if (tcb->error) {
		int e = tcb->error;
		tcb->error = 0; /* reported once, then EOF (as BSD sockets do) */
		gt_stack_notify(st, tcb, now);
		return e;
	}
	if (tcb->state == GT_TCP_LISTEN || (tcb->state == GT_TCP_CLOSED && !tcb->opened))
		return -ENOTCONN;
	if (tcb->state == GT_TCP_CLOSED)
		return 0;
	return -EAGAIN;
}

/* RFC 9293 §3.10.4 CLOSE, for the sending direction. Returns true if the TCB
 * was freed. */
static bool close_send_side(gt_tcb *tcb, const char *cause, gt_time_us now)
{
	if (tcb->wr_shut)
		return false;
	tcb->wr_shut = true;
	switch (tcb->state) {
	case GT_TCP_SYN_SENT:
		/* the FIN follows once the connection is established */
		tcb->fin_queued = true;
		break;
	case GT_TCP_SYN_RECEIVED:
		tcb->fin_queued = true;
		break;
	case GT_TCP_ESTABLISHED:
		tcb->fin_queued = true;
		gt_tcb_set_state(tcb, GT_TCP_FIN_WAIT_1, cause, now);
		gt_tcb_output(tcb, now);
		break;
	case GT_TCP_CLOSE_WAIT:
		tcb->fin_queued = true;
		gt_tcb_set_state(tcb, GT_TCP_LAST_ACK, cause, now);
		gt_tcb_output(tcb, now);
		break;
	default:
		break;
	}
	return false;
}

int gt_shutdown(gt_stack *st, int s, int how, gt_time_us now)
{
	gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	if (how != GT_SHUT_RD && how != GT_SHUT_WR && how != GT_SHUT_RDWR)
		return -EINVAL;
	if (tcb->state == GT_TCP_LISTEN || tcb->state == GT_TCP_CLOSED)
		return -ENOTCONN;
	if (how != GT_SHUT_WR) {
		tcb->rd_shut = true;
		gt_ringbuf_consume(&tcb->rcvbuf, tcb->rcvbuf.len);
	}
	if (how != GT_SHUT_RD)
		close_send_side(tcb, "shutdown()", now);
	gt_stack_notify(st, tcb, now);
	return 0;
}

/* What CLOSE and ABORT share (RFC 9293 §3.10.4, §3.10.5): a socket with no
 * connection, a listener (its unaccepted connections are reset) or a connection
 * attempt in SYN_SENT ends at once. Returns true when it handled tcb. */
static bool end_unsynchronized(gt_stack *st, gt_tcb *tcb, const char *cause, gt_time_us now)
{
	switch (tcb->state) {
	case GT_TCP_CLOSED:
		gt_stack_free_tcb(st, tcb);
		return true;
	case GT_TCP_LISTEN:
		gt_listen_close(tcb, now);
		gt_tcb_close(tcb, 0, cause, now);
		return true;
	case GT_TCP_SYN_SENT:
		gt_tcb_close(tcb, 0, cause, now); /* delete the TCB */
		return true;
	default:
		return false;
	}
}

/* RFC 9293 §3.10.5 ABORT, with the cause the trace shows. */
static int abort_because(gt_stack *st, int s, const char *cause, gt_time_us now)
{
	gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	gt_stack_sock_release(st, s);
	if (end_unsynchronized(st, tcb, cause, now))
		return 0;
	switch (tcb->state) {
	case GT_TCP_SYN_RECEIVED:
	case GT_TCP_ESTABLISHED:
	case GT_TCP_FIN_WAIT_1:
	case GT_TCP_FIN_WAIT_2:
	case GT_TCP_CLOSE_WAIT:
		/* RFC 9293 §3.10.5: <SEQ=SND.NXT><CTL=RST> */
		gt_tcb_reset(tcb, cause, now);
		return 0;
	default: /* CLOSING, LAST_ACK, TIME_WAIT: just delete */
		break;
	}
	gt_tcb_close(tcb, 0, cause, now);
	return 0;
}

int gt_close(gt_stack *st, int s, gt_time_us now)
{
	gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	/* SO_LINGER on with a time of 0: close() is an ABORT (RFC 9293 §3.10.5),
	 * the connection reset rather than closed in order */
	if (tcb->linger_on && tcb->linger_us == 0)
		return abort_because(st, s, "close() with SO_LINGER 0", now);
	gt_stack_sock_release(st, s);
	if (end_unsynchronized(st, tcb, "close()", now))
		return 0;
	if (tcb->rcvbuf.len > 0 && !tcb->rd_shut && gt_state_synchronized(tcb->state) &&
	    tcb->state != GT_TCP_TIME_WAIT) {
		/* RFC 9293 §3.10.4 and RFC 1122 §4.2.2.13: closing with unread data
		 * loses it, so the peer must learn: send RST, not FIN */
		gt_tcb_reset(tcb, "close() with unread data", now);
		return 0;
	}
	close_send_side(tcb, "close()", now);
	/* already in FIN_WAIT_1 or LAST_ACK after shutdown(): an orphan now */
	gt_stack_orphan_update(st, tcb, now);
	if (tcb->state == GT_TCP_FIN_WAIT_2 && tcb->t_fin_wait_2 == GT_TIME_NEVER) {
		tcb->t_fin_wait_2 = now + st->cfg.fin_wait_2_timeout_us;
		gt_tcb_timers_changed(tcb);
	}
	return 0;
}

int gt_abort(gt_stack *st, int s, gt_time_us now)
{
	return abort_because(st, s, "abort()", now);
}

int gt_sock_get_keepalive(const gt_stack *st, int s, gt_keepalive *out)
{
	const gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	if (!out)
		return -EINVAL;
	out->on = tcb->ka_on;
	out->idle_us = tcb->ka_idle_us;
	out->intvl_us = tcb->ka_intvl_us;
	out->probes = tcb->ka_probes;
	return 0;
}

int gt_sock_set_keepalive(gt_stack *st, int s, const gt_keepalive *ka, gt_time_us now)
{
	gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	if (!ka)
		return -EINVAL;
	if (!ka->on) {
		tcb->ka_on = false;
		if (tcb->t_keepalive != GT_TIME_NEVER) {
			tcb->t_keepalive = GT_TIME_NEVER;
			gt_tcb_timers_changed(tcb);
		}
		return 0;
	}
	/* RFC 1122 §4.2.3.6 wants the interval configurable; the bounds keep
	 * probes answerable (socket.h) and the deadlines far from overflow */
	if (ka->idle_us < GT_KEEPALIVE_MIN_US || ka->idle_us > GT_KEEPALIVE_MAX_US ||
	    ka->intvl_us < GT_KEEPALIVE_MIN_US || ka->intvl_us > GT_KEEPALIVE_MAX_US ||
	    ka->probes == 0)
		return -EINVAL;
	tcb->ka_on = true;
	tcb->ka_idle_us = ka->idle_us;
	tcb->ka_intvl_us = ka->intvl_us;
	tcb->ka_probes = ka->probes;
	/* a connection counts its idle time from now, with the new values */
	if (tcb->t_keepalive != GT_TIME_NEVER) {
		tcb->t_keepalive = GT_TIME_NEVER;
		gt_tcb_timers_changed(tcb);
	}
	if (tcb->state != GT_TCP_LISTEN)
		gt_tcb_keepalive_restart(tcb, now);
	return 0;
}

int gt_poll(const gt_stack *st, int s)
{
	const gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	return tcb ? (int)gt_stack_ready(tcb) : -EBADF;
}

int gt_sock_error(gt_stack *st, int s)
{
	gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	int e = tcb->error;
	tcb->error = 0;
	return e;
}

int gt_sock_soft_error(gt_stack *st, int s)
{
	gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	int e = tcb->soft_error;
	tcb->soft_error = 0;
	return e;
}

int gt_sock_state(const gt_stack *st, int s)
{
	const gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	return tcb ? (int)tcb->state : -EBADF;
}

int gt_sock_tuple(const gt_stack *st, int s, gt_conn_tuple *out)
{
	const gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	if (!tcb->bound && !tcb->opened)
		return -ENOTCONN;
	*out = tcb->tuple;
	return 0;
}

static int put_sockaddr(uint32_t addr, uint16_t port, struct sockaddr *out, size_t *len)
{
	if (!out || !len)
		return -EINVAL;
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(addr);
	sin.sin_port = htons(port);
	memcpy(out, &sin, *len < sizeof(sin) ? *len : sizeof(sin));
	*len = sizeof(sin);
	return 0;
}

int gt_getsockname(const gt_stack *st, int s, struct sockaddr *addr, size_t *len)
{
	const gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	bool named = tcb->bound || tcb->opened;
	return put_sockaddr(named ? tcb->tuple.local_addr : 0, named ? tcb->tuple.local_port : 0,
	                    addr, len);
}

int gt_getpeername(const gt_stack *st, int s, struct sockaddr *addr, size_t *len)
{
	const gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	/* as Linux's inet_getname: no peer yet (SYN_SENT) or any more (CLOSED) */
	if (tcb->state == GT_TCP_LISTEN || tcb->state == GT_TCP_CLOSED ||
	    tcb->state == GT_TCP_SYN_SENT || tcb->tuple.remote_port == 0)
		return -ENOTCONN;
	return put_sockaddr(tcb->tuple.remote_addr, tcb->tuple.remote_port, addr, len);
}

size_t gt_sock_readable(const gt_stack *st, int s)
{
	const gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	return tcb ? tcb->rcvbuf.len : 0;
}

size_t gt_sock_unacked(const gt_stack *st, int s)
{
	const gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	return tcb ? tcb->sndbuf.len : 0;
}
