/* TCB lifecycle: creation, state changes, closing, timers, readiness. */
#include "tcp/tcb.h"

#include "glasstcp/socket.h" /* the GT_POLL* bits */
#include "tcp/isn.h"
#include "tcp/seq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

gt_tcb *gt_tcb_new(gt_tcp_env *env)
{
	gt_tcb *tcb = malloc(sizeof(*tcb));
	if (tcb)
		gt_tcb_init(tcb, env);
	return tcb;
}

void gt_tcb_init(gt_tcb *tcb, gt_tcp_env *env)
{
	const gt_stack_config *cfg = env->cfg;
	memset(tcb, 0, sizeof(*tcb));
	tcb->env = env;
	tcb->state = GT_TCP_CLOSED;
	tcb->sock = -1;
	tcb->deadline = GT_TIME_NEVER;
	tcb->t_rexmit = tcb->t_persist = tcb->t_delack = GT_TIME_NEVER;
	tcb->t_2msl = tcb->t_fin_wait_2 = tcb->t_user = GT_TIME_NEVER;
	tcb->t_keepalive = GT_TIME_NEVER;
	tcb->ka_idle_us = cfg->keepalive_idle_us;
	tcb->ka_intvl_us = cfg->keepalive_intvl_us;
	tcb->ka_probes = cfg->keepalive_probes;
	tcb->quickacks_left = cfg->quickack_segs;
	tcb->tuple.local_addr = cfg->local_addr;
	tcb->cwnd = UINT32_MAX;
	tcb->ssthresh = UINT32_MAX;
	gt_rto_init(&tcb->rto, cfg->rto_initial_us, cfg->rto_min_us, cfg->rto_max_us);
	/* RFC 7323 §2.2: the shift we would offer; negotiation may clear it */
	tcb->nodelay = cfg->nodelay;
	tcb->sndbuf_size = cfg->sndbuf;
	tcb->rcvbuf_size = cfg->rcvbuf;
	tcb->user_timeout_us = cfg->user_timeout_us;
	tcb->rcv_wscale = cfg->window_scaling ? gt_tcb_offered_wscale(tcb) : 0;
	/* the scoreboard lives in the TCB: no allocation per segment */
	tcb->scoreboard.ranges = tcb->sb_ranges;
	tcb->scoreboard.max = GT_SACK_SCOREBOARD;
}

int gt_tcb_alloc_buffers(gt_tcb *tcb)
{
	const gt_stack_config *cfg = tcb->env->cfg;
	if (tcb->sndbuf.data)
		return 0;
	if (gt_ringbuf_init(&tcb->sndbuf, tcb->sndbuf_size) < 0)
		return -ENOMEM;
	if (gt_ringbuf_init(&tcb->rcvbuf, tcb->rcvbuf_size) < 0 ||
	    gt_reasm_init(&tcb->reasm, cfg->reasm_max_ranges) < 0) {
		gt_ringbuf_free(&tcb->sndbuf);
		gt_ringbuf_free(&tcb->rcvbuf);
		return -ENOMEM;
	}
	return 0;
}

static void free_buffers(gt_tcb *tcb)
{
	gt_ringbuf_free(&tcb->sndbuf);
	gt_ringbuf_free(&tcb->rcvbuf);
	gt_reasm_free(&tcb->reasm);
}

static bool counts_as_estab(gt_tcp_state s)
{
	return s == GT_TCP_ESTABLISHED || s == GT_TCP_CLOSE_WAIT;
}

/* RFC 4022 §4's tcpActiveOpens ... tcpCurrEstab, each defined by the
 * transitions it counts */
static void count_transition(gt_stack_counters *c, gt_tcp_state from, gt_tcp_state to)
{
	if (from == GT_TCP_CLOSED && to == GT_TCP_SYN_SENT)
		c->active_opens++;
	if (from == GT_TCP_LISTEN && to == GT_TCP_SYN_RECEIVED)
		c->passive_opens++;
	if (((from == GT_TCP_SYN_SENT || from == GT_TCP_SYN_RECEIVED) && to == GT_TCP_CLOSED) ||
	    (from == GT_TCP_SYN_RECEIVED && to == GT_TCP_LISTEN))
		c->attempt_fails++;
	if (counts_as_estab(from) && to == GT_TCP_CLOSED)
		c->estab_resets++;
	if (counts_as_estab(to) && !counts_as_estab(from))
		c->curr_estab++;
	if (counts_as_estab(from) && !counts_as_estab(to))
		c->curr_estab--;
}

void gt_tcb_set_state(gt_tcb *tcb, gt_tcp_state to, const char *cause, gt_time_us now)
{
	gt_tcp_env *env = tcb->env;
	gt_tcp_state from = tcb->state;
	if (from == to)
		return;
	tcb->state = to;
	if (to == GT_TCP_ESTABLISHED)
		env->counters->conns_opened++;
	count_transition(env->counters, from, to);
	if (env->cfg->on_event) {
		gt_event ev = {.kind = GT_EV_STATE,
		               .t_us = now,
		               .host = env->host,
		               .has_conn = true,
		               .conn = tcb->tuple,
		               .from = from,
		               .to = to,
		               .cause = cause,
		               .sock = tcb->sock};
		gt_env_emit(env, &ev);
	}
	env->ops->state_changed(env, tcb, from, now);
}

static void stop_timers(gt_tcb *tcb)
{
	tcb->t_rexmit = tcb->t_persist = tcb->t_delack = GT_TIME_NEVER;
	tcb->t_2msl = tcb->t_fin_wait_2 = tcb->t_user = GT_TIME_NEVER;
	tcb->t_keepalive = GT_TIME_NEVER;
	gt_tcb_timers_changed(tcb);
}

void gt_tcb_destroy(gt_tcb *tcb)
{
	free_buffers(tcb);
	free(tcb);
}

bool gt_tcb_close(gt_tcb *tcb, int err, const char *cause, gt_time_us now)
{
	gt_tcp_env *env = tcb->env;
	/* RFC 1122 §4.2.3.9: a connection that times out after ICMP soft errors
	 * reports the last of them (EHOSTUNREACH says more than ETIMEDOUT) */
	int reported = err == -ETIMEDOUT && tcb->soft_error ? tcb->soft_error : err;
	if (reported && !tcb->error)
		tcb->error = reported;
	if (err == -ECONNRESET)
		env->counters->conns_reset++;
	if (err == -ETIMEDOUT)
		env->counters->conns_timedout++;
	gt_tcb_set_state(tcb, GT_TCP_CLOSED, cause, now);
	stop_timers(tcb);
	/* RFC 9293 §3.10.7.4: "delete the TCB". A socket that still holds it keeps
	 * a CLOSED shell so that recv() can report EOF or the error. */
	if (env->ops->release(env, tcb))
		return true;
	tcb->fin_queued = false;
	gt_tcb_notify(tcb, now);
	return false;
}

bool gt_tcb_reset(gt_tcb *tcb, const char *cause, gt_time_us now)
{
	gt_tcb_set_state(tcb, GT_TCP_CLOSED, cause, now);
	gt_tcb_send_rst(tcb, now);
	return gt_tcb_close(tcb, 0, cause, now);
}

void gt_tcb_enter_time_wait(gt_tcb *tcb, const char *cause, gt_time_us now)
{
	gt_tcb_set_state(tcb, GT_TCP_TIME_WAIT, cause, now);
	/* RFC 9293 §3.10.7.4 eighth: turn off the other timers, start 2 MSL */
	tcb->t_rexmit = tcb->t_persist = tcb->t_delack = GT_TIME_NEVER;
	tcb->t_fin_wait_2 = tcb->t_user = tcb->t_keepalive = GT_TIME_NEVER;
	tcb->t_2msl = now + 2 * tcb->env->cfg->msl_us;
	gt_tcb_timers_changed(tcb);
	/* Only the sequence numbers matter now: an unread tail stays readable
	 * for a socket, an orphan gives its buffers back at once. */
	if (tcb->sock < 0) {
		gt_ringbuf_free(&tcb->sndbuf);
		gt_ringbuf_free(&tcb->rcvbuf);
		gt_reasm_free(&tcb->reasm);
	}
	gt_tcb_notify(tcb, now);
}

void gt_tcb_timers_changed(gt_tcb *tcb)
{
	gt_time_us d = tcb->t_rexmit;
	if (tcb->t_persist < d)
		d = tcb->t_persist;
	if (tcb->t_delack < d)
		d = tcb->t_delack;
	if (tcb->t_2msl < d)
		d = tcb->t_2msl;
	if (tcb->t_fin_wait_2 < d)
		d = tcb->t_fin_wait_2;
	if (tcb->t_user < d)
		d = tcb->t_user;
	if (tcb->t_keepalive < d)
		d = tcb->t_keepalive;
	tcb->deadline = d;
	tcb->env->ops->deadline_changed(tcb->env, tcb);
}

void gt_tcb_keepalive_restart(gt_tcb *tcb, gt_time_us now)
{
	tcb->ka_since = now;
	tcb->ka_probes_out = 0;
	/* an armed timer stays where it is: when it fires early it only moves
	 * itself to ka_since + idle, so a busy connection does not touch the
	 * timer heap for every segment (as Linux keeps its keepalive timer) */
	if (tcb->ka_on && tcb->t_keepalive == GT_TIME_NEVER && gt_state_synchronized(tcb->state) &&
	    tcb->state != GT_TCP_TIME_WAIT) {
		tcb->t_keepalive = now + tcb->ka_idle_us;
		gt_tcb_timers_changed(tcb);
	}
}

/* States in which keep-alive probes may go: the others either have our FIN
 * unacknowledged (the retransmission timer watches the peer) or are ending. */
static bool keepalive_state(gt_tcp_state s)
{
	return s == GT_TCP_ESTABLISHED || s == GT_TCP_CLOSE_WAIT || s == GT_TCP_FIN_WAIT_2;
}

static void keepalive_timeout(gt_tcb *tcb, gt_time_us now)
{
	tcb->t_keepalive = GT_TIME_NEVER;
	if (!tcb->ka_on || !gt_state_synchronized(tcb->state) || tcb->state == GT_TCP_TIME_WAIT) {
		gt_tcb_timers_changed(tcb);
		return;
	}
	/* Data or a FIN unacknowledged, or queued behind a closed window: the
	 * retransmission and persist timers look after the peer; keep-alive only
	 * watches an idle connection (as Linux does, look again after idle). */
	bool busy = tcb->snd_una != tcb->snd_max || tcb->sndbuf.len > 0 ||
	            (tcb->fin_queued && !tcb->fin_sent) || tcb->t_rexmit != GT_TIME_NEVER ||
	            tcb->t_persist != GT_TIME_NEVER;
	gt_time_us idle = now > tcb->ka_since ? now - tcb->ka_since : 0;
	if (busy || !keepalive_state(tcb->state)) {
		tcb->t_keepalive = now + tcb->ka_idle_us;
	} else if (idle < tcb->ka_idle_us) {
		/* something arrived since the timer was set */
		tcb->t_keepalive = tcb->ka_since + tcb->ka_idle_us;
	} else if (tcb->ka_probes_out >= tcb->ka_probes) {
		/* RFC 1122 §4.2.3.6: no single unanswered probe means a dead peer,
		 * but ka_probes of them, intvl apart, do. As Linux does, the peer
		 * learns with an RST in case it is alive and only the path was not. */
		gt_tcb_set_state(tcb, GT_TCP_CLOSED, "keepalive timeout", now);
		gt_tcb_send_rst(tcb, now);
		gt_tcb_close(tcb, -ETIMEDOUT, "keepalive timeout", now);
		return;
	} else {
		/* probes are not retransmissions: a fixed interval, no backoff */
		gt_tcb_send_keepalive_probe(tcb, now);
		tcb->ka_probes_out++;
		tcb->t_keepalive = now + tcb->ka_intvl_us;
	}
	gt_tcb_timers_changed(tcb);
}

void gt_tcb_on_timers(gt_tcb *tcb, gt_time_us now)
{
	if (tcb->t_2msl <= now) {
		/* RFC 9293 §3.10.8: TIME-WAIT TIMEOUT — delete the TCB */
		gt_tcb_close(tcb, 0, "2MSL timeout", now);
		return;
	}
	if (tcb->t_user <= now) {
		/* RFC 9293 §3.10.8: USER TIMEOUT — flush, signal, delete */
		gt_tcb_close(tcb, -ETIMEDOUT, "user timeout", now);
		return;
	}
	if (tcb->t_fin_wait_2 <= now) {
		/* An orphaned FIN_WAIT_2 whose peer never closes would be held
		 * forever; like every deployed stack we bound it. */
		gt_tcb_close(tcb, 0, "FIN_WAIT_2 timeout", now);
		return;
	}
	if (tcb->t_rexmit <= now) {
		tcb->t_rexmit = GT_TIME_NEVER;
		gt_tcb_rexmit_timeout(tcb, now);
		return; /* the tcb may be gone; the loop in the stack comes back */
	}
	if (tcb->t_persist <= now) {
		tcb->t_persist = GT_TIME_NEVER;
		gt_tcb_persist_timeout(tcb, now);
		return;
	}
	if (tcb->t_delack <= now) {
		tcb->t_delack = GT_TIME_NEVER;
		tcb->ack_now = true;
		gt_tcb_output(tcb, now);
		gt_tcb_timers_changed(tcb);
	}
	if (tcb->t_keepalive <= now)
		keepalive_timeout(tcb, now);
}

uint32_t gt_tcb_rcv_window(gt_tcb *tcb)
{
	/* RFC 7323 §2.3: the largest window the 16-bit field can carry */
	uint32_t max_wnd = (uint32_t)65535 << tcb->rcv_wscale;
	/* a half-open connection has no buffer yet (it comes with
	 * ESTABLISHED): it offers the one it will have */
	bool unbuffered = !tcb->rcvbuf.data;
	if (unbuffered && gt_state_synchronized(tcb->state)) {
		/* an orphan in TIME_WAIT gave its buffer back; keep offering the
		 * window it had rather than announcing a zero window */
		return seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
	}
	uint32_t free_space = unbuffered ? tcb->rcvbuf_size : gt_ringbuf_free_space(&tcb->rcvbuf);
	if (free_space > max_wnd)
		free_space = max_wnd;
	uint32_t right = tcb->rcv_nxt + free_space;
	uint32_t cur = seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
	/* RFC 9293 §3.8.6.2.2 (receiver SWS avoidance): move the right edge only
	 * by at least min(half the buffer, one MSS); never shrink it. */
	uint32_t step = (unbuffered ? tcb->rcvbuf_size : tcb->rcvbuf.cap) / 2;
	if (tcb->snd_mss && tcb->snd_mss < step)
		step = tcb->snd_mss;
	if (seq_ge(right, tcb->rcv_adv) && (right - tcb->rcv_nxt) - cur >= step)
		return right - tcb->rcv_nxt;
	return cur;
}

uint32_t gt_tcb_poll(const gt_tcb *tcb)
{
	uint32_t m = 0;
	if (tcb->rcvbuf.len || tcb->fin_rcvd || tcb->rd_shut)
		m |= GT_POLLIN;
	if (tcb->fin_rcvd)
		m |= GT_POLLRDHUP;
	if (gt_state_can_send(tcb->state) && !tcb->wr_shut &&
	    gt_ringbuf_free_space(&tcb->sndbuf) > 0)
		m |= GT_POLLOUT;
	if (tcb->error) {
		m |= GT_POLLERR | GT_POLLIN;
	}
	/* a connection that has ended (reset, refused, timed out, closed) is shut
	 * both ways, also once its error has been read (socket.h: GT_POLLHUP) */
	if (tcb->state == GT_TCP_CLOSED &&
	    (tcb->error || tcb->fin_rcvd || tcb->wr_shut || tcb->opened))
		m |= GT_POLLHUP | GT_POLLIN;
	if (tcb->fin_rcvd && tcb->wr_shut)
		m |= GT_POLLHUP;
	return m;
}

uint8_t gt_tcb_offered_wscale(const gt_tcb *tcb)
{
	/* the shift covers the buffer a socket may grow to (rcvbuf_max), not
	 * only the one it has */
	uint32_t max = tcb->env->cfg->rcvbuf_max;
	return gt_wscale_for(tcb->rcvbuf_size > max ? tcb->rcvbuf_size : max);
}

uint8_t gt_wscale_for(uint32_t rcvbuf)
{
	/* RFC 7323 §2.3: the smallest shift that fits the buffer in 16 bits;
	 * "the shift.cnt ... MUST NOT be greater than 14" */
	uint8_t shift = 0;
	while (shift < 14 && (rcvbuf >> shift) > 65535)
		shift++;
	return shift;
}

uint32_t gt_tcb_ts_now(gt_time_us now)
{
	/* RFC 7323 §5.4: a clock of 1 ms per tick (between 1 ms and 1 s). The +1
	 * keeps TSval from being 0 at time 0, a value peers may take for "no
	 * echo" (RFC 7323 §3.2 allows TSecr 0 only without ACK). */
	return (uint32_t)(now / 1000) + 1;
}

void gt_tcb_negotiate(gt_tcb *tcb, const gt_segment *syn, gt_time_us now)
{
	const gt_stack_config *cfg = tcb->env->cfg;
	/* RFC 7323 §3.2: timestamps are used only if both SYNs carried TSopt */
	tcb->ts_ok = cfg->timestamps && syn->opts.has_ts;
	if (tcb->ts_ok) {
		tcb->ts_recent = syn->opts.ts_val; /* RFC 7323 §4.3 (1) on the SYN */
		tcb->ts_recent_age = now;
		/* RFC 6691 / RFC 9293 §3.7.1: the MSS counts data only; every
		 * segment now carries 12 option bytes, so data segments are 12
		 * bytes shorter and packets stay within the path MTU */
		if (tcb->snd_mss > 64 + 12)
			tcb->snd_mss -= 12;
	}
	/* RFC 2018 §2: SACK only if both SYNs carried SACK-permitted */
	tcb->sack_ok = cfg->sack && syn->opts.sack_permitted;
	/* RFC 7323 §2.2: scaling in both directions only if both SYNs carried
	 * the option; otherwise both shifts are 0 */
	tcb->ws_ok = cfg->window_scaling && syn->opts.has_wscale;
	if (tcb->ws_ok) {
		/* RFC 7323 §2.3: a shift above 14 is used as 14 (wire.c clamps) */
		tcb->snd_wscale = syn->opts.wscale > 14 ? 14 : syn->opts.wscale;
		tcb->rcv_wscale = gt_tcb_offered_wscale(tcb);
	} else {
		tcb->snd_wscale = 0;
		tcb->rcv_wscale = 0;
	}
}

void gt_tcb_init_sequence(gt_tcb *tcb, gt_time_us now)
{
	gt_tcb_set_iss(tcb, gt_tcb_draw_iss(tcb, now));
}

uint32_t gt_tcb_draw_iss(const gt_tcb *tcb, gt_time_us now)
{
	const gt_stack_config *cfg = tcb->env->cfg;
	return cfg->isn_fn ? cfg->isn_fn(cfg->isn_user, &tcb->tuple, now)
	                   : gt_isn_generate(cfg->isn_key, &tcb->tuple, now);
}

void gt_tcb_set_iss(gt_tcb *tcb, uint32_t iss)
{
	tcb->iss = iss;
	tcb->snd_una = tcb->iss;
	tcb->snd_nxt = tcb->iss;
	tcb->snd_max = tcb->iss;
	tcb->snd_buf_seq = tcb->iss + 1;
	tcb->recover = tcb->iss;
	tcb->high_rxt = tcb->iss;
	tcb->opened = true;
}
