/* Output: building segments from the TCB, the send policy (windows, Nagle,
 * sender SWS avoidance), retransmission and the persist timer. */
#include "tcp/cc.h"
#include "tcp/seq.h"
#include "tcp/tcb.h"

#include <errno.h>

/* RFC 5961 §7 leaves the rate to the implementation; 500 ms per connection is
 * what Linux uses for out-of-window ACKs. */
#define GT_RATELIMIT_US 500000

static void send_segment(gt_tcb *tcb, uint32_t seq, uint8_t flags, uint32_t len, bool rexmit,
                         gt_time_us now)
{
	gt_tcp_env *env = tcb->env;
	const gt_stack_config *cfg = env->cfg;
	gt_segment h = {.src_addr = tcb->tuple.local_addr,
	                .dst_addr = tcb->tuple.remote_addr,
	                .src_port = tcb->tuple.local_port,
	                .dst_port = tcb->tuple.remote_port,
	                .seq = seq,
	                .flags = flags,
	                .opt_layout = (uint8_t)cfg->opt_layout};
	if (flags & GT_TCP_SYN) {
		/* RFC 9293 §3.7.1: announce our MSS on SYN and SYN-ACK */
		h.opts.has_mss = true;
		h.opts.mss = gt_tcb_our_mss(tcb);
		/* a SYN offers what the configuration allows; a SYN,ACK only what
		 * the peer's SYN offered (RFC 7323 §2.2, §3.2; RFC 2018 §2) */
		bool offer = !(flags & GT_TCP_ACK);
		h.opts.has_ts = offer ? cfg->timestamps : tcb->ts_ok;
		h.opts.sack_permitted = offer ? cfg->sack : tcb->sack_ok;
		h.opts.has_wscale = offer ? cfg->window_scaling : tcb->ws_ok;
		h.opts.wscale = tcb->rcv_wscale;
	} else {
		/* RFC 7323 §3.2: once agreed, TSopt goes in every segment (and
		 * SHOULD in an RST) */
		h.opts.has_ts = tcb->ts_ok;
	}
	if (h.opts.has_ts) {
		h.opts.ts_val = gt_tcb_tsval(tcb, now);
		/* RFC 7323 §3.2: TSecr is TS.Recent when ACK is set; a first SYN
		 * has nothing to echo */
		h.opts.ts_ecr = (flags & GT_TCP_ACK) ? tcb->ts_recent : 0;
	}
	bool sack_left_out = false;
	if (flags & GT_TCP_ACK) {
		uint32_t wnd = gt_tcb_rcv_window(tcb);
		uint32_t adv;
		h.ack = tcb->rcv_nxt;
		if (flags & GT_TCP_SYN) {
			/* RFC 7323 §2.2: the window of a SYN is never scaled */
			h.wnd = (uint16_t)(wnd > 65535 ? 65535 : wnd);
			adv = h.wnd;
		} else {
			/* RFC 7323 §2.3: the field is the window >> Rcv.Wind.Shift,
			 * rounded down so we never offer space we do not have */
			uint32_t field = wnd >> tcb->rcv_wscale;
			h.wnd = (uint16_t)(field > 65535 ? 65535 : field);
			adv = (uint32_t)h.wnd << tcb->rcv_wscale;
		}
		/* RFC 7323 §2.4 / RFC 9293 §3.8.6.2.2: rounding down may make the
		 * offered edge look smaller than the last one; we keep accepting
		 * up to the larger edge, so the window never shrinks for us */
		if (seq_gt(tcb->rcv_nxt + adv, tcb->rcv_adv) || seq_lt(tcb->rcv_adv, tcb->rcv_nxt))
			tcb->rcv_adv = tcb->rcv_nxt + adv;
		tcb->last_ack_sent = h.ack; /* RFC 7323 §4.3 Last.ACK.sent */
		/* RFC 2018 §4: with out-of-order data queued, ACKs carry SACK
		 * blocks. A full-sized data segment has no room for them (the MSS
		 * only allows for the timestamps): a pure ACK follows it. */
		if (!(flags & (GT_TCP_SYN | GT_TCP_RST)) && tcb->sack_ok) {
			gt_sack_fill_blocks(tcb, &h.opts);
			uint32_t room = tcb->snd_mss > len ? tcb->snd_mss - len : 0;
			uint32_t fit = room >= 12 ? (room - 4) / 8 : 0;
			if (h.opts.sack_count > fit) {
				h.opts.sack_count = (uint8_t)fit;
				sack_left_out = true;
			}
			if (h.opts.sack_count > 0)
				tcb->dsack_pending = false; /* it went, first (RFC 2883 §4) */
		}
		tcb->ack_now = sack_left_out;
		tcb->segs_unacked = 0;
		if (tcb->t_delack != GT_TIME_NEVER) {
			/* This ACK is the delayed one (RFC 9293 §3.8.6.3): disarm it and
			 * refresh the deadline now, since callers such as the reply to
			 * an unacceptable segment do not; a stale deadline with no
			 * timer due would make the stack's timer loop spin forever. */
			tcb->t_delack = GT_TIME_NEVER;
			gt_tcb_timers_changed(tcb);
		}
	} else if (!(flags & GT_TCP_RST)) {
		h.wnd = (uint16_t)(tcb->rcvbuf_size > 65535 ? 65535 : tcb->rcvbuf_size);
	}
	if (rexmit)
		tcb->total_retrans++;
	tcb->segs_out++;
	if (len) {
		tcb->data_segs_out++;
		tcb->bytes_sent += len;
		tcb->bytes_retrans += rexmit ? len : 0;
		tcb->last_data_sent = now;
	}
	size_t hl = gt_wire_write_headers(env->txbuf, &h, len, env->ip_id++);
	if (len)
		gt_ringbuf_peek(&tcb->sndbuf, seq - tcb->snd_buf_seq, env->txbuf + hl, len);
	env->ops->transmit(env, &tcb->tuple, hl + len, rexmit, tcb->ws_ok ? tcb->rcv_wscale : 0,
	                   now);
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
	tcb->env->counters->tx_challenge_acks++;
	gt_tcb_send_ack(tcb, now);
}

void gt_tcb_send_keepalive_probe(gt_tcb *tcb, gt_time_us now)
{
	/* RFC 1122 §4.2.3.6 / RFC 9293 §3.8.4: no data (the optional garbage
	 * octet for old peers is not sent, nor by Linux), at SND.UNA-1 as Linux
	 * sends it: an octet the peer has already acknowledged, so the segment
	 * is unacceptable to it and draws <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
	 * (RFC 9293 §3.10.7.4 first step). Not a retransmission. */
	tcb->env->counters->tx_keepalive_probes++;
	send_segment(tcb, tcb->snd_una - 1, GT_TCP_ACK, 0, false, now);
}

void gt_tcb_send_rst(gt_tcb *tcb, gt_time_us now)
{
	/* RFC 9293 §3.10.5 (ABORT) and §3.10.4: <SEQ=SND.NXT><CTL=RST> */
	/* SND.NXT in the RFC's sense is snd_max (see gt_tcb_send_ack): an RST
	 * from a pulled-back snd_nxt could fall below the peer's RCV.NXT and
	 * be ignored by a peer that checks RSTs as RFC 5961 §3.2 says */
	uint8_t flags = GT_TCP_RST;
	if (tcb->env->cfg->rst_ack && tcb->state != GT_TCP_SYN_SENT)
		flags |= GT_TCP_ACK; /* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> */
	send_segment(tcb, tcb->snd_max, flags, 0, false, now);
}

void gt_tcp_send_reset_for(gt_tcp_env *env, const gt_segment *seg, gt_time_us now)
{
	if (seg->flags & GT_TCP_RST)
		return; /* RFC 9293 §3.10.7.1: an incoming RST is discarded, never answered */
	gt_segment rst = {.src_addr = seg->dst_addr,
	                  .dst_addr = seg->src_addr,
	                  .src_port = seg->dst_port,
	                  .dst_port = seg->src_port};
	if (seg->flags & GT_TCP_ACK) {
		/* <SEQ=SEG.ACK><CTL=RST> */
		rst.seq = seg->ack;
		rst.flags = GT_TCP_RST;
	} else {
		/* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SEG.LEN counting SYN and FIN */
		rst.ack = seg->seq + seg->payload_len + !!(seg->flags & GT_TCP_SYN) +
		          !!(seg->flags & GT_TCP_FIN);
		rst.flags = GT_TCP_RST | GT_TCP_ACK;
	}
	size_t hl = gt_wire_write_headers(env->txbuf, &rst, 0, env->ip_id++);
	gt_conn_tuple c = gt_seg_tuple(seg);
	env->ops->transmit(env, &c, hl, false, 0, now);
}

static uint32_t sack_retransmit(gt_tcb *tcb, uint32_t seq, uint32_t len, gt_time_us now);

static void arm_rexmit(gt_tcb *tcb, gt_time_us now)
{
	if (tcb->t_rexmit == GT_TIME_NEVER)
		tcb->t_rexmit = now + gt_rto_current(&tcb->rto);
	/* RFC 9293 §3.10.8 USER TIMEOUT: counts from when data goes unacknowledged */
	if (tcb->user_timeout_us && tcb->t_user == GT_TIME_NEVER)
		tcb->t_user = now + tcb->user_timeout_us;
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
	tcb->snd_sml = tcb->iss + 1;
	if (first) {
		tcb->rtt_timing = true;
		tcb->rtt_seq = tcb->iss + 1;
		tcb->rtt_start = now;
	}
	arm_rexmit(tcb, now);
	gt_tcb_timers_changed(tcb);
}

/* The end of the SACKed range holding seq (seq must be in one). */
static uint32_t sack_range_end(const gt_tcb *tcb, uint32_t seq)
{
	const gt_reasm *sb = &tcb->scoreboard;
	for (uint32_t i = 0; i < sb->count; i++)
		if (seq_le(sb->ranges[i].start, seq) && seq_lt(seq, sb->ranges[i].end))
			return sb->ranges[i].end;
	return seq;
}

/* The start of the first SACKed range above seq, or SND.MAX. */
static uint32_t next_sacked_start(const gt_tcb *tcb, uint32_t seq)
{
	const gt_reasm *sb = &tcb->scoreboard;
	for (uint32_t i = 0; i < sb->count; i++)
		if (seq_gt(sb->ranges[i].start, seq))
			return sb->ranges[i].start;
	return tcb->snd_max;
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
	/* Nagle's "small segment sent" (a TSO segment's tail may be one) */
	if (!rexmit && (len < tcb->snd_mss || len % tcb->snd_mss != 0))
		tcb->snd_sml = seq + len;
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

/* Nagle's test (RFC 9293 §3.7.4, Minshall's variant as Linux does it): is a
 * small segment unacknowledged, so that another must wait? */
static bool small_segment_out(const gt_tcb *tcb)
{
	return seq_gt(tcb->snd_sml, tcb->snd_una) && seq_le(tcb->snd_sml, tcb->snd_max) &&
	       !tcb->nodelay;
}

/* How much of n sendable bytes (avail buffered) one segment takes: the MSS,
 * or with TSO (tso_max) whole MSS-sized pieces up to tso_max, plus the
 * small tail of the data when Nagle lets a small segment go. What was sent
 * before goes again one MSS at a time. */
static uint32_t segment_size(const gt_tcb *tcb, uint32_t n, uint32_t avail, bool resend)
{
	uint32_t mss = tcb->snd_mss;
	uint32_t tso = tcb->env->cfg->tso_max;
	if (resend || tso <= mss || n <= mss)
		return n < mss ? n : mss;
	uint32_t max = tso - tso % mss; /* tso_max <= GT_TSO_LIMIT: gt_stack_create */
	if (n > max)
		n = max;
	uint32_t tail = n % mss;
	/* a tail that is not the end of the data, or that Nagle holds back,
	 * waits: the super-segment carries whole segments only */
	if (tail && (n < avail || small_segment_out(tcb)))
		n -= tail;
	return n;
}

void gt_tcb_output(gt_tcb *tcb, gt_time_us now)
{
	if (can_output_data(tcb->state)) {
		/* RFC 6675 §5 (C): in SACK loss recovery, send while cwnd - pipe is
		 * at least one SMSS: lost holes first (NextSeg rule 1), then new
		 * data (rule 2, the loop below), then rule 3 */
		bool sack_rec = tcb->in_recovery && tcb->sack_ok;
		uint32_t pipe = 0;
		if (sack_rec) {
			pipe = gt_sack_pipe(tcb);
			uint32_t seq, len;
			while (tcb->cwnd >= pipe + tcb->snd_mss &&
			       gt_sack_next_rexmit(tcb, false, &seq, &len)) {
				uint32_t used = sack_retransmit(tcb, seq, len, now);
				if (!used)
					break;
				pipe += used;
			}
		}
		for (;;) {
			uint32_t data_end = tcb->snd_buf_seq + tcb->sndbuf.len;
			/* after a timeout (go-back-N), data the peer SACKed is not sent
			 * again (RFC 6675 §5.1 leaves the scoreboard usable) */
			if (tcb->sack_ok && seq_lt(tcb->snd_nxt, tcb->snd_max)) {
				while (gt_sack_is_sacked(tcb, tcb->snd_nxt))
					tcb->snd_nxt = sack_range_end(tcb, tcb->snd_nxt);
			}
			uint32_t wnd = tcb->snd_wnd < tcb->cwnd ? tcb->snd_wnd : tcb->cwnd;
			uint32_t win_end = tcb->snd_una + wnd;
			if (sack_rec) {
				/* the pipe, not SND.NXT - SND.UNA, is what is in flight */
				uint32_t room = tcb->cwnd > pipe ? tcb->cwnd - pipe : 0;
				uint32_t peer_end = tcb->snd_una + tcb->snd_wnd;
				win_end = seq_lt(tcb->snd_nxt + room, peer_end)
				              ? tcb->snd_nxt + room
				              : peer_end;
			}
			uint32_t avail =
			    seq_lt(tcb->snd_nxt, data_end) ? data_end - tcb->snd_nxt : 0;
			uint32_t usable =
			    seq_gt(win_end, tcb->snd_nxt) ? win_end - tcb->snd_nxt : 0;
			uint32_t n = avail < usable ? avail : usable;
			bool resend = seq_lt(tcb->snd_nxt, tcb->snd_max);
			n = segment_size(tcb, n, avail, resend);
			if (tcb->sack_ok && seq_lt(tcb->snd_nxt, tcb->snd_max)) {
				uint32_t next = next_sacked_start(tcb, tcb->snd_nxt);
				if (seq_lt(next, tcb->snd_nxt + n))
					n = next - tcb->snd_nxt;
			}
			/* a FIN takes no buffer space: it goes when the data is out */
			bool fin = tcb->fin_queued && tcb->snd_nxt + n == data_end &&
			           seq_le(tcb->snd_nxt, data_end);
			if (n == 0 && !fin)
				break;
			/* the small-segment rules hold back new data only: what was
			 * sent once (go-back-N after a timeout, or a piece ending at a
			 * SACKed range) goes again as it went */
			if (n > 0 && n < tcb->snd_mss && !fin && !resend) {
				/* RFC 9293 §3.8.6.2.1: sender SWS avoidance — a window-limited
				 * piece goes only if it is at least half the largest window */
				if (n < avail && n < tcb->max_snd_wnd / 2)
					break;
				/* RFC 9293 §3.7.4 (Nagle), in Minshall's variant
				 * (draft-minshall-nagle-01, as Linux does it): at
				 * most one small segment unacknowledged. Only a
				 * small one holds the next back, so the tail of a
				 * response behind full-sized segments goes at once
				 * instead of waiting for the peer's delayed ACK. */
				if (n == avail && small_segment_out(tcb))
					break;
			}
			uint32_t used = send_data(tcb, tcb->snd_nxt, n, now);
			tcb->snd_nxt += used;
			tcb->snd_max = seq_max(tcb->snd_max, tcb->snd_nxt);
			pipe += used;
			if (fin)
				break;
		}
		if (sack_rec) {
			uint32_t seq, len;
			while (tcb->cwnd >= pipe + tcb->snd_mss &&
			       gt_sack_next_rexmit(tcb, true, &seq, &len)) {
				uint32_t used = sack_retransmit(tcb, seq, len, now);
				if (!used)
					break;
				pipe += used;
			}
		}
		/* RFC 9293 §3.8.6.1: a zero window with data waiting and nothing in
		 * flight starts the persist timer. So does a small window that
		 * sender SWS avoidance will not fill (RFC 1122 §4.2.3.4: the
		 * override timeout): if the peer's window update is lost, nothing
		 * else would ever send again. */
		uint32_t data_end = tcb->snd_buf_seq + tcb->sndbuf.len;
		if (seq_lt(tcb->snd_nxt, data_end) && tcb->t_rexmit == GT_TIME_NEVER &&
		    tcb->t_persist == GT_TIME_NEVER)
			tcb->t_persist = now + gt_rto_current(&tcb->rto);
	}
	if (tcb->ack_now && tcb->state != GT_TCP_SYN_SENT && tcb->state != GT_TCP_CLOSED &&
	    tcb->state != GT_TCP_LISTEN)
		gt_tcb_send_ack(tcb, now);
	gt_tcb_timers_changed(tcb);
}

/* RFC 6675 §5: retransmits up to len bytes from seq (a hole), the FIN with
 * them if they end the stream; moves HighRxt. Returns the sequence space sent. */
static uint32_t sack_retransmit(gt_tcb *tcb, uint32_t seq, uint32_t len, gt_time_us now)
{
	uint32_t data_end = tcb->snd_buf_seq + tcb->sndbuf.len;
	uint32_t n = seq_lt(seq, data_end) ? data_end - seq : 0;
	if (n > len)
		n = len;
	if (n == 0 && !(tcb->fin_queued && tcb->fin_sent && seq == data_end))
		return 0;
	tcb->rtt_timing = false; /* Karn: no sample from a retransmitted range */
	uint32_t used = send_data(tcb, seq, n, now);
	tcb->high_rxt = seq_max(tcb->high_rxt, seq + used);
	return used;
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
	bool spurious = false;
	if (tcb->eifel && seq_gt(tcb->snd_una, tcb->eifel_seq)) {
		/* RFC 3522 §3.2: the first ACK for the retransmitted segment */
		tcb->eifel = false;
		spurious = tcb->in_recovery && tcb->ts_ok && tcb->rx_tsecr_valid &&
		           seq_lt(tcb->rx_tsecr, tcb->eifel_tsval);
	}
	if (tcb->ts_ok && tcb->rx_tsecr_valid) {
		/* RFC 7323 §4 (RTTM): every ACK that advances SND.UNA echoes the
		 * TSval of the segment that caused it, retransmissions included,
		 * so Karn's rule is not needed (RFC 7323 §4.2, RFC 6298 §3) and the
		 * backoff ends with the first ACK after a timeout. */
		uint32_t ticks = gt_tcb_tsval(tcb, now) - tcb->rx_tsecr;
		tcb->rx_tsecr_valid = false;
		tcb->rtt_timing = false;
		/* an echo from the future or the distant past is garbage */
		if (ticks <= tcb->rto.max / 1000) {
			/* RFC 7323 Appendix G: ExpectedSamples = ceil(FlightSize / (2 * SMSS)) */
			uint32_t flight = tcb->snd_max - tcb->snd_una + acked;
			uint32_t two = 2u * (tcb->snd_mss ? tcb->snd_mss : 1);
			gt_rto_sample_n(&tcb->rto, (gt_time_us)ticks * 1000,
			                (flight + two - 1) / two);
		}
	} else if (tcb->rtt_timing && seq_ge(tcb->snd_una, tcb->rtt_seq)) {
		/* RFC 6298 §3 with Karn's rule: time only segments sent once */
		tcb->rtt_timing = false;
		gt_rto_sample(&tcb->rto, now - tcb->rtt_start);
	}
	if (seq_lt(tcb->high_rxt, tcb->snd_una))
		tcb->high_rxt = tcb->snd_una;
	gt_sack_prune(tcb);
	tcb->rexmit_count = 0;
	tcb->window_probed = false;
	if (tcb->user_timeout_us && tcb->t_user != GT_TIME_NEVER)
		tcb->t_user = now + tcb->user_timeout_us;
	/* RFC 6298 §5.2, §5.3 */
	if (tcb->snd_una == tcb->snd_max) {
		tcb->t_rexmit = GT_TIME_NEVER;
		tcb->t_user = GT_TIME_NEVER;
	} else {
		tcb->t_rexmit = now + gt_rto_current(&tcb->rto);
	}
	/* RFC 5681 §1: the initial window is cwnd once the handshake is done;
	 * the ACK of our SYN (or SYN-ACK) is not data and does not grow it */
	uint32_t cc_acked = acked > 0 && seq_le(tcb->snd_una - acked, tcb->iss) ? acked - 1 : acked;
	if (spurious && gt_state_synchronized(tcb->state))
		gt_cc_on_spurious(tcb, cc_acked); /* RFC 4015 §3.2 */
	else if (gt_state_synchronized(tcb->state) && gt_cc_on_ack(tcb, cc_acked))
		retransmit_first(tcb, now);
	gt_tcb_timers_changed(tcb);
}

/* RFC 3522 §3.2: with timestamps, remember the TSval of the fast
 * retransmission; an ACK for it that echoes an older TSval shows that the
 * original arrived and the retransmission was spurious. */
static void arm_eifel(gt_tcb *tcb, uint32_t pipe_prev, gt_time_us now)
{
	tcb->eifel = tcb->ts_ok;
	tcb->eifel_tsval = gt_tcb_tsval(tcb, now);
	tcb->eifel_seq = tcb->snd_una;
	tcb->pipe_prev = pipe_prev;
}

void gt_tcb_on_dupack(gt_tcb *tcb, gt_time_us now)
{
	uint32_t fs = tcb->snd_max - tcb->snd_una;
	uint32_t pipe_prev = fs > tcb->ssthresh ? fs : tcb->ssthresh;
	if (tcb->sack_ok) {
		if (gt_cc_on_sack_dupack(tcb, gt_sack_is_lost(tcb, tcb->snd_una))) {
			arm_eifel(tcb, pipe_prev, now);
			/* RFC 6675 §5 (4.3): retransmit the first segment presumed
			 * dropped, whatever the window; the rest follows the pipe */
			tcb->high_rxt = tcb->snd_una;
			uint32_t seq, len;
			if (gt_sack_next_rexmit(tcb, true, &seq, &len) && seq == tcb->snd_una)
				sack_retransmit(tcb, seq, len, now);
			else
				sack_retransmit(tcb, tcb->snd_una, tcb->snd_mss, now);
		}
		return;
	}
	if (gt_cc_on_dupack(tcb)) {
		arm_eifel(tcb, pipe_prev, now);
		retransmit_first(tcb, now); /* RFC 5681 §3.2 step 2 */
	}
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

/* An orphan out of retries: RST (the peer may be alive, answering probes,
 * and should free its side too), CLOSED, the TCB freed. */
static void orphan_give_up(gt_tcb *tcb, gt_time_us now)
{
	tcb->env->counters->orphans_timedout++;
	gt_tcb_set_state(tcb, GT_TCP_CLOSED, "orphan retries", now);
	gt_tcb_send_rst(tcb, now);
	gt_tcb_close(tcb, -ETIMEDOUT, "orphan retries", now);
}

void gt_tcb_rexmit_timeout(gt_tcb *tcb, gt_time_us now)
{
	const gt_stack_config *cfg = tcb->env->cfg;
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
	 * on without limit (RFC 1122 §4.2.2.17), but not for an orphan, which no
	 * application will ever end: every probe counts (Linux's
	 * tcp_orphan_retries bounds orphans' probes and retransmissions). */
	bool orphan = gt_tcb_orphan(tcb);
	if (orphan || !(tcb->snd_wnd == 0 && tcb->window_probed))
		tcb->rexmit_count++;
	tcb->window_probed = false;
	uint32_t limit = cfg->max_retries;
	if (orphan && cfg->orphan_retries < limit)
		limit = cfg->orphan_retries;
	if (tcb->rexmit_count > limit) {
		if (orphan)
			orphan_give_up(tcb, now);
		else
			gt_tcb_close(tcb, -ETIMEDOUT, "retransmission limit", now);
		return;
	}
	gt_rto_backoff(&tcb->rto); /* RFC 6298 §5.5 */
	gt_cc_on_rto(tcb);         /* ends recovery; RecoveryPoint = HighData (RFC 6675 §5.1) */
	tcb->high_rxt = tcb->snd_una;
	tcb->eifel = false; /* a timeout is not what Eifel judges here */
	/* RFC 6675 §5.1 / RFC 2018 §8: a receiver may renege on SACKed data. The
	 * first timeout keeps the scoreboard so that go-back-N skips what was
	 * SACKed; a second timeout in a row for the same data clears it, so
	 * data a reneging receiver dropped is sent again. */
	if (tcb->rexmit_count > 1)
		gt_sack_clear(tcb);
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
	if (can_output_data(tcb->state) && seq_lt(tcb->snd_nxt, data_end) &&
	    tcb->t_rexmit == GT_TIME_NEVER) {
		if (tcb->snd_wnd == 0) {
			send_window_probe(tcb, now); /* then retransmitted with backoff */
		} else {
			/* RFC 1122 §4.2.3.4: the SWS override timeout — send what the
			 * small window allows; its ACK brings the current window */
			uint32_t avail = data_end - tcb->snd_nxt;
			uint32_t room = seq_gt(tcb->snd_una + tcb->snd_wnd, tcb->snd_nxt)
			                    ? tcb->snd_una + tcb->snd_wnd - tcb->snd_nxt
			                    : 0;
			uint32_t n = avail < room ? avail : room;
			if (n > tcb->snd_mss)
				n = tcb->snd_mss;
			if (n > 0) {
				tcb->snd_nxt += send_data(tcb, tcb->snd_nxt, n, now);
				tcb->snd_max = seq_max(tcb->snd_max, tcb->snd_nxt);
			}
		}
	}
	gt_tcb_timers_changed(tcb);
}
