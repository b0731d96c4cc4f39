/* Output: building segments from the TCB, the send policy (windows, Nagle,
 * sender SWS avoidance), retransmission and the persist timer. */
#include <errno.h>

#include "stack/stack_impl.h"
#include "tcp/cc.h"
#include "tcp/seq.h"

/* RFC 5961 §7 leaves the rate to the implementation; 500 ms per connection is
 * what Linux uses for out-of-window ACKs. */
#define GT_RATELIMIT_US 500000

static void send_segment(gt_tcb *tcb, uint32_t seq, uint8_t flags, uint32_t len, bool rexmit,
                         gt_time_us now)
{
	gt_stack *st = tcb->st;
	gt_segment h = {.src_addr = tcb->tuple.local_addr,
	                .dst_addr = tcb->tuple.remote_addr,
	                .src_port = tcb->tuple.local_port,
	                .dst_port = tcb->tuple.remote_port,
	                .seq = seq,
	                .flags = flags};
	if (flags & GT_TCP_SYN) {
		/* RFC 9293 §3.7.1: announce our MSS on SYN and SYN-ACK */
		h.opts.has_mss = true;
		h.opts.mss = st->cfg.mss;
	}
	if (flags & GT_TCP_ACK) {
		uint32_t wnd = gt_tcb_rcv_window(tcb);
		h.ack = tcb->rcv_nxt;
		h.wnd = (uint16_t)wnd;
		tcb->rcv_adv = tcb->rcv_nxt + wnd;
		tcb->ack_now = false;
		tcb->segs_unacked = 0;
		if (tcb->t_delack != GT_TIME_NEVER) {
			/* This ACK is the delayed one (RFC 9293 §3.8.6.3): disarm it and
			 * refresh the deadline now, since callers such as the reply to
			 * an unacceptable segment do not; a stale deadline with no
			 * timer due would make gt_stack_on_deadline spin forever. */
			tcb->t_delack = GT_TIME_NEVER;
			gt_tcb_timers_changed(tcb);
		}
	} else if (!(flags & GT_TCP_RST)) {
		h.wnd = (uint16_t)(st->cfg.rcvbuf > 65535 ? 65535 : st->cfg.rcvbuf);
	}
	size_t hl = gt_wire_write_headers(st->txbuf, &h, len, st->ip_id++);
	if (len)
		gt_ringbuf_peek(&tcb->sndbuf, seq - tcb->snd_buf_seq, st->txbuf + hl, len);
	gt_stack_transmit(st, &tcb->tuple, hl + len, rexmit, now);
}

void gt_tcb_send_ctl(gt_tcb *tcb, uint8_t flags, uint32_t seq, gt_time_us now)
{
	send_segment(tcb, seq, flags, 0, false, now);
}

void gt_tcb_send_ack(gt_tcb *tcb, gt_time_us now)
{
	/* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (RFC 9293 §3.10.7.4). The RFC's
	 * SND.NXT never moves back; ours is pulled back to SND.UNA for go-back-N
	 * retransmission, so the RFC's value is snd_max here. An ACK sent from
	 * the pulled-back snd_nxt can fall below the peer's RCV.NXT, be found
	 * unacceptable and dropped, ACK field and all: with both ends
	 * retransmitting, neither ever learns the other's ACK. */
	send_segment(tcb, tcb->snd_max, GT_TCP_ACK, 0, false, now);
}

void gt_tcb_send_ratelimited_ack(gt_tcb *tcb, gt_time_us now)
{
	if (tcb->last_ratelimited_ack && now - tcb->last_ratelimited_ack < GT_RATELIMIT_US)
		return;
	tcb->last_ratelimited_ack = now ? now : 1;
	tcb->st->counters.tx_challenge_acks++;
	gt_tcb_send_ack(tcb, now);
}

void gt_tcb_send_rst(gt_tcb *tcb, gt_time_us now)
{
	/* RFC 9293 §3.10.5 (ABORT) and §3.10.4: <SEQ=SND.NXT><CTL=RST> */
	/* SND.NXT in the RFC's sense is snd_max (see gt_tcb_send_ack): an RST
	 * from a pulled-back snd_nxt could fall below the peer's RCV.NXT and
	 * be ignored by a peer that checks RSTs as RFC 5961 §3.2 says */
	send_segment(tcb, tcb->snd_max, GT_TCP_RST, 0, false, now);
}

static void arm_rexmit(gt_tcb *tcb, gt_time_us now)
{
	if (tcb->t_rexmit == GT_TIME_NEVER)
		tcb->t_rexmit = now + gt_rto_current(&tcb->rto);
	/* RFC 9293 §3.10.8 USER TIMEOUT: counts from when data goes unacknowledged */
	if (tcb->st->cfg.user_timeout_us && tcb->t_user == GT_TIME_NEVER)
		tcb->t_user = now + tcb->st->cfg.user_timeout_us;
}

void gt_tcb_send_syn(gt_tcb *tcb, bool rexmit, gt_time_us now)
{
	uint8_t flags = GT_TCP_SYN;
	if (tcb->state == GT_TCP_SYN_RECEIVED)
		flags |= GT_TCP_ACK;
	/* Karn: time the SYN octet only the first time it goes out (a
	 * simultaneous open's SYN,ACK carries it a second time) */
	bool first = !rexmit && tcb->snd_max == tcb->iss;
	send_segment(tcb, tcb->iss, flags, 0, rexmit, now);
	tcb->snd_nxt = tcb->iss + 1;
	tcb->snd_max = tcb->iss + 1;
	if (first) {
		tcb->rtt_timing = true;
		tcb->rtt_seq = tcb->iss + 1;
		tcb->rtt_start = now;
	}
	arm_rexmit(tcb, now);
	gt_tcb_timers_changed(tcb);
}

/* States in which data or our FIN may still go out (or be retransmitted). */
static bool can_output_data(gt_tcp_state s)
{
	return s == GT_TCP_ESTABLISHED || s == GT_TCP_CLOSE_WAIT || s == GT_TCP_FIN_WAIT_1 ||
	       s == GT_TCP_CLOSING || s == GT_TCP_LAST_ACK;
}

/* Sends one segment of up to len data bytes from seq; adds FIN when the data
 * reaches the end of the stream and a FIN is queued. Returns sequence space used. */
static uint32_t send_data(gt_tcb *tcb, uint32_t seq, uint32_t len, gt_time_us now)
{
	uint32_t data_end = tcb->snd_buf_seq + tcb->sndbuf.len;
	bool fin = tcb->fin_queued && seq + len == data_end;
	uint8_t flags = GT_TCP_ACK;
	if (len && seq + len == data_end)
		flags |= GT_TCP_PSH;
	if (fin)
		flags |= GT_TCP_FIN;
	bool rexmit = seq_lt(seq, tcb->snd_max);
	send_segment(tcb, seq, flags, len, rexmit, now);
	uint32_t used = len + fin;
	if (!rexmit && !tcb->rtt_timing) {
		tcb->rtt_timing = true;
		tcb->rtt_seq = seq + used;
		tcb->rtt_start = now;
	}
	if (fin)
		tcb->fin_sent = true;
	arm_rexmit(tcb, now);
	return used;
}

void gt_tcb_output(gt_tcb *tcb, gt_time_us now)
{
	if (can_output_data(tcb->state)) {
		for (;;) {
			uint32_t data_end = tcb->snd_buf_seq + tcb->sndbuf.len;
			uint32_t wnd = tcb->snd_wnd < tcb->cwnd ? tcb->snd_wnd : tcb->cwnd;
			uint32_t win_end = tcb->snd_una + wnd;
			uint32_t avail = seq_lt(tcb->snd_nxt, data_end) ? data_end - tcb->snd_nxt : 0;
			uint32_t usable = seq_gt(win_end, tcb->snd_nxt) ? win_end - tcb->snd_nxt : 0;
			uint32_t n = avail < usable ? avail : usable;
			if (n > tcb->snd_mss)
				n = tcb->snd_mss;
			/* a FIN takes no buffer space: it goes when the data is out */
			bool fin = tcb->fin_queued && tcb->snd_nxt + n == data_end &&
			           seq_le(tcb->snd_nxt, data_end);
			if (n == 0 && !fin)
				break;
			if (n > 0 && n < tcb->snd_mss && !fin) {
				/* RFC 9293 §3.8.6.2.1: sender SWS avoidance — a window-limited
				 * piece goes only if it is at least half the largest window */
				if (n < avail && n < tcb->max_snd_wnd / 2)
					break;
				/* RFC 9293 §3.7.4 (Nagle): one small segment in flight at most */
				if (n == avail && tcb->snd_nxt != tcb->snd_una && !tcb->st->cfg.nodelay)
					break;
			}
			uint32_t used = send_data(tcb, tcb->snd_nxt, n, now);
			tcb->snd_nxt += used;
			tcb->snd_max = seq_max(tcb->snd_max, tcb->snd_nxt);
			if (fin)
				break;
		}
		/* RFC 9293 §3.8.6.1: a zero window with data waiting and nothing in
		 * flight starts the persist timer */
		uint32_t data_end = tcb->snd_buf_seq + tcb->sndbuf.len;
		if (tcb->snd_wnd == 0 && seq_lt(tcb->snd_nxt, data_end) &&
		    tcb->t_rexmit == GT_TIME_NEVER && tcb->t_persist == GT_TIME_NEVER)
			tcb->t_persist = now + gt_rto_current(&tcb->rto);
	}
	if (tcb->ack_now && tcb->state != GT_TCP_SYN_SENT && tcb->state != GT_TCP_CLOSED &&
	    tcb->state != GT_TCP_LISTEN)
		gt_tcb_send_ack(tcb, now);
	gt_tcb_timers_changed(tcb);
}

/* The first unacknowledged segment again (fast retransmit, partial ACK). */
static void retransmit_first(gt_tcb *tcb, gt_time_us now)
{
	uint32_t data_end = tcb->snd_buf_seq + tcb->sndbuf.len;
	uint32_t n = seq_lt(tcb->snd_una, data_end) ? data_end - tcb->snd_una : 0;
	if (n > tcb->snd_mss)
		n = tcb->snd_mss;
	if (n == 0 && !(tcb->fin_queued && tcb->fin_sent))
		return;
	tcb->rtt_timing = false; /* Karn: no sample from a retransmitted range */
	send_data(tcb, tcb->snd_una, n, now);
}

void gt_tcb_on_ack_advance(gt_tcb *tcb, uint32_t acked, gt_time_us now)
{
	/* drop acknowledged data from the send buffer */
	if (seq_gt(tcb->snd_una, tcb->snd_buf_seq)) {
		uint32_t n = tcb->snd_una - tcb->snd_buf_seq;
		if (n > tcb->sndbuf.len)
			n = tcb->sndbuf.len;
		gt_ringbuf_consume(&tcb->sndbuf, n);
		tcb->snd_buf_seq += n;
	}
	if (seq_lt(tcb->snd_nxt, tcb->snd_una))
		tcb->snd_nxt = tcb->snd_una;
	/* RFC 6298 §3 with Karn's rule: time only segments sent once */
	if (tcb->rtt_timing && seq_ge(tcb->snd_una, tcb->rtt_seq)) {
		tcb->rtt_timing = false;
		gt_rto_sample(&tcb->rto, now - tcb->rtt_start);
	}
	tcb->rexmit_count = 0;
	tcb->window_probed = false;
	if (tcb->st->cfg.user_timeout_us && tcb->t_user != GT_TIME_NEVER)
		tcb->t_user = now + tcb->st->cfg.user_timeout_us;
	/* RFC 6298 §5.2, §5.3 */
	if (tcb->snd_una == tcb->snd_max) {
		tcb->t_rexmit = GT_TIME_NEVER;
		tcb->t_user = GT_TIME_NEVER;
	} else {
		tcb->t_rexmit = now + gt_rto_current(&tcb->rto);
	}
	if (gt_state_synchronized(tcb->state) && gt_cc_on_ack(tcb, acked))
		retransmit_first(tcb, now);
	gt_tcb_timers_changed(tcb);
}

void gt_tcb_on_dupack(gt_tcb *tcb, gt_time_us now)
{
	if (gt_cc_on_dupack(tcb))
		retransmit_first(tcb, now); /* RFC 5681 §3.2 step 2 */
}

static void send_window_probe(gt_tcb *tcb, gt_time_us now)
{
	/* RFC 9293 §3.8.6.1: probe a zero window with one octet of new data */
	/* RFC 1122 §4.2.2.17: only an answer to this probe shows the peer alive;
	 * the zero-window ACK that started the persist timer does not count */
	tcb->window_probed = false;
	tcb->snd_nxt = tcb->snd_una;
	uint32_t used = send_data(tcb, tcb->snd_nxt, 1, now);
	tcb->snd_nxt += used;
	tcb->snd_max = seq_max(tcb->snd_max, tcb->snd_nxt);
}

void gt_tcb_rexmit_timeout(gt_tcb *tcb, gt_time_us now)
{
	const gt_stack_config *cfg = &tcb->st->cfg;
	tcb->rtt_timing = false; /* Karn's rule */
	if (tcb->state == GT_TCP_SYN_SENT || tcb->state == GT_TCP_SYN_RECEIVED) {
		if (tcb->rexmit_count >= cfg->max_syn_retries) {
			int err = tcb->passive ? 0 : -ETIMEDOUT;
			gt_tcb_close(tcb, err, "SYN retransmission limit", now);
			return;
		}
		tcb->rexmit_count++;
		gt_rto_backoff(&tcb->rto); /* RFC 6298 §5.5 */
		gt_tcb_send_syn(tcb, true, now);
		return;
	}
	if (tcb->snd_una == tcb->snd_max || !can_output_data(tcb->state)) {
		gt_tcb_timers_changed(tcb);
		return;
	}
	/* A peer that keeps answering zero-window probes is alive: probing may go
	 * on without limit (RFC 1122 §4.2.2.17). */
	if (!(tcb->snd_wnd == 0 && tcb->window_probed))
		tcb->rexmit_count++;
	tcb->window_probed = false;
	if (tcb->rexmit_count > cfg->max_retries) {
		gt_tcb_close(tcb, -ETIMEDOUT, "retransmission limit", now);
		return;
	}
	gt_rto_backoff(&tcb->rto); /* RFC 6298 §5.5 */
	gt_cc_on_rto(tcb);
	tcb->t_rexmit = now + gt_rto_current(&tcb->rto); /* RFC 6298 §5.6 */
	uint32_t data_end = tcb->snd_buf_seq + tcb->sndbuf.len;
	if (tcb->snd_wnd == 0 && seq_lt(tcb->snd_una, data_end)) {
		send_window_probe(tcb, now);
	} else {
		/* RFC 6298 §5.4: retransmit the earliest unacknowledged segment; the
		 * rest follows as ACKs open the congestion window (go-back-N). */
		tcb->snd_nxt = tcb->snd_una;
		gt_tcb_output(tcb, now);
	}
	gt_tcb_timers_changed(tcb);
}

void gt_tcb_persist_timeout(gt_tcb *tcb, gt_time_us now)
{
	uint32_t data_end = tcb->snd_buf_seq + tcb->sndbuf.len;
	if (can_output_data(tcb->state) && tcb->snd_wnd == 0 && seq_lt(tcb->snd_nxt, data_end) &&
	    tcb->t_rexmit == GT_TIME_NEVER)
		send_window_probe(tcb, now); /* the probe is then retransmitted with backoff */
	gt_tcb_timers_changed(tcb);
}
