/* SEGMENT ARRIVES (RFC 9293 §3.10.7.3 and §3.10.7.4), one function per step so
 * the RFC can be read beside it; and the new connection a SYN in LISTEN makes
 * (§3.10.7.2 third). The listener's queues are in stack/listen.c, CLOSED (no
 * TCB at all) in stack/stack.c. */
#include "tcp/cc.h"
#include "tcp/seq.h"
#include "tcp/syncookie.h"
#include "tcp/tcb.h"

#include <errno.h>

/* What a step decided: go on to the next step, or stop (segment consumed, or
 * the TCB was freed). */
typedef enum { STEP_CONTINUE, STEP_DONE } step_result;

/* RFC 7323 §5.5: TS.Recent older than 24 days is invalid */
#define GT_PAWS_IDLE_US (24ull * 24 * 3600 * 1000000)

static uint32_t seg_len(const gt_segment *seg)
{
	return seg->payload_len + !!(seg->flags & GT_TCP_SYN) + !!(seg->flags & GT_TCP_FIN);
}

static void drop(gt_tcb *tcb, gt_drop_reason why, const gt_segment *seg, gt_time_us now)
{
	tcb->env->ops->drop(tcb->env, why, tcb, seg, now);
}

/* RFC 7323 §2.3: SND.WND = SEG.WND << Snd.Wind.Shift, except on a SYN, whose
 * window is never scaled (§2.2). */
static uint32_t seg_wnd(const gt_tcb *tcb, const gt_segment *seg)
{
	if (seg->flags & GT_TCP_SYN)
		return seg->wnd;
	return (uint32_t)seg->wnd << tcb->snd_wscale;
}

static void set_send_window(gt_tcb *tcb, const gt_segment *seg)
{
	tcb->snd_wnd = seg_wnd(tcb, seg);
	tcb->snd_wl1 = seg->seq;
	tcb->snd_wl2 = seg->ack;
	if (tcb->snd_wnd > tcb->max_snd_wnd)
		tcb->max_snd_wnd = tcb->snd_wnd;
	if (tcb->snd_wnd == 0)
		tcb->window_probed = true;
}

static void take_peer_mss(gt_tcb *tcb, const gt_segment *seg)
{
	/* RFC 9293 §3.7.1: without the option, assume 536 */
	uint16_t peer = seg->opts.has_mss ? seg->opts.mss : 536;
	if (peer < 64)
		peer = 64; /* a hostile MSS of 0 must not stall the sender */
	/* TCP_MAXSEG set before connect caps what we send too (as Linux's
	 * user_mss does) */
	uint16_t ours = gt_tcb_our_mss(tcb);
	tcb->snd_mss = peer < ours ? peer : ours;
}

/* A connection just reached ESTABLISHED: a close() that was queued in
 * SYN_SENT/SYN_RECEIVED happens now (RFC 9293 §3.10.4). */
static void established(gt_tcb *tcb, const char *cause, gt_time_us now)
{
	gt_tcb_set_state(tcb, GT_TCP_ESTABLISHED, cause, now);
	/* RFC 6298 §5.7: "If the timer expires awaiting the ACK of a SYN segment
	 * and the TCP implementation is using an RTO less than 3 seconds, the RTO
	 * MUST be re-initialized to 3 seconds when data transmission begins".
	 * (rexmit_count still counts the SYN/SYN-ACK timeouts here; Karn left
	 * no sample.) */
	if (tcb->rexmit_count > 0 && !tcb->rto.has_sample && tcb->rto.rto < 3000000) {
		tcb->rto.rto = tcb->rto.max < 3000000 ? tcb->rto.max : 3000000;
		tcb->rto.backoff = 0;
	}
	gt_tcb_keepalive_restart(tcb, now); /* RFC 1122 §4.2.3.6: idle from here */
	if (tcb->fin_queued)
		gt_tcb_set_state(tcb, GT_TCP_FIN_WAIT_1, "close() (queued)", now);
}

/* ---- the eighth step: FIN ---- */

static void process_fin(gt_tcb *tcb, gt_time_us now)
{
	const gt_stack_config *cfg = tcb->env->cfg;
	tcb->rcv_nxt += 1;
	tcb->fin_rcvd = true;
	switch (tcb->state) {
	case GT_TCP_SYN_RECEIVED:
	case GT_TCP_ESTABLISHED:
		gt_tcb_set_state(tcb, GT_TCP_CLOSE_WAIT, "rcv FIN", now);
		/* The ACK may wait a little: if the application closes at once
		 * the FIN rides on it (the three-way close). With quickack_fin
		 * (Linux) it goes at once. */
		if (cfg->delack_us && !tcb->ack_now && !cfg->quickack_fin) {
			if (tcb->t_delack == GT_TIME_NEVER)
				tcb->t_delack = now + cfg->delack_us;
		} else {
			tcb->ack_now = true;
		}
		break;
	case GT_TCP_FIN_WAIT_1:
		/* our FIN is not yet acknowledged (else step five moved us on):
		 * a simultaneous close */
		gt_tcb_set_state(tcb, GT_TCP_CLOSING, "rcv FIN", now);
		tcb->ack_now = true;
		break;
	case GT_TCP_FIN_WAIT_2:
		tcb->ack_now = true;
		gt_tcb_enter_time_wait(tcb, "rcv FIN", now);
		break;
	case GT_TCP_TIME_WAIT:
		tcb->ack_now = true;
		tcb->t_2msl = now + 2 * cfg->msl_us; /* restart the 2 MSL timeout */
		gt_tcb_timers_changed(tcb);
		break;
	default: /* CLOSE_WAIT, CLOSING, LAST_ACK: remain */
		tcb->ack_now = true;
		break;
	}
}

/* ---- the seventh step: segment text ---- */

static void ack_policy_in_order(gt_tcb *tcb, uint32_t len, gt_time_us now)
{
	/* RFC 9293 §3.8.6.3 and RFC 5681 §4.2: delay an ACK by at most delack_us,
	 * and ACK at least every second full-sized segment. A segment larger
	 * than the MSS we announced (from a peer with segmentation offload,
	 * coalesced on its way) counts as the full-sized segments it holds. */
	const gt_stack_config *cfg = tcb->env->cfg;
	uint32_t ours = gt_tcb_our_mss(tcb);
	uint32_t rcv_mss = ours > 12 && tcb->ts_ok ? ours - 12 : ours;
	if (len >= 2 * rcv_mss && rcv_mss) /* (the division only for such segments) */
		tcb->segs_unacked += len / rcv_mss - 1;
	if (tcb->quickacks_left > 0) {
		/* quick ACKs at the start (Linux's quick-ACK mode): the peer's slow
		 * start is not held back by our delayed ACKs */
		tcb->quickacks_left--;
		tcb->ack_now = true;
	} else if (!cfg->delack_us || ++tcb->segs_unacked >= 2) {
		tcb->ack_now = true;
	} else if (tcb->t_delack == GT_TIME_NEVER) {
		tcb->t_delack = now + cfg->delack_us;
	}
}

static void receive_text(gt_tcb *tcb, uint32_t seq, const uint8_t *data, uint32_t len,
                         const gt_segment *seg, gt_time_us now)
{
	gt_ringbuf *rb = &tcb->rcvbuf;
	uint32_t off = seq - tcb->rcv_nxt;
	if (rb->len + off + len > rb->cap) {
		/* cannot happen within the window we offered; never write past it */
		if (rb->len + off >= rb->cap) {
			drop(tcb, GT_DROP_OUT_OF_WINDOW, seg, now);
			return;
		}
		len = rb->cap - rb->len - off;
	}
	/* RFC 2883 §4: data that out-of-order data already holds is a duplicate */
	gt_sack_note_duplicate_held(tcb, seq, seq + len);
	if (off == 0) {
		gt_ringbuf_write_at(rb, rb->len, data, len);
		rb->len += len;
		tcb->rcv_nxt += len;
		bool had_gap = !gt_reasm_empty(&tcb->reasm);
		uint32_t nxt = gt_reasm_pull(&tcb->reasm, tcb->rcv_nxt);
		rb->len += nxt - tcb->rcv_nxt;
		tcb->rcv_nxt = nxt;
		/* RFC 5681 §4.2: ACK at once a segment that fills all or part of a
		 * gap (held data lay above it) */
		if (had_gap)
			tcb->ack_now = true;
		else
			ack_policy_in_order(tcb, len, now);
	} else {
		gt_ringbuf_write_at(rb, rb->len + off, data, len);
		if (!gt_reasm_add(&tcb->reasm, seq, seq + len))
			drop(tcb, GT_DROP_REASM_FULL, seg, now);
		else
			gt_sack_note_received(tcb, seq, seq + len); /* RFC 2018 §4 */
		tcb->ack_now = true; /* RFC 5681 §4.2: a duplicate ACK for out-of-order data */
	}
}

static step_result step_text_and_fin(gt_tcb *tcb, const gt_segment *seg, uint32_t seq,
                                     const uint8_t *data, uint32_t len, bool fin, gt_time_us now)
{
	/* sixth step: URG. The urgent mechanism is kept only for compatibility
	 * (RFC 9293 §3.8.5); urgent data is delivered as ordinary data. */

	/* seventh step: segment text */
	if (len > 0) {
		if (!gt_state_can_receive(tcb->state)) {
			/* CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT: "this should not
			 * occur, since a FIN has been received" — ignore the text */
			drop(tcb, GT_DROP_DATA_AFTER_FIN, seg, now);
			fin = false;
			len = 0;
		} else if (tcb->sock < 0 && tcb->wr_shut) {
			/* RFC 9293 §3.10.4 / RFC 1122 §4.2.2.13: the application has
			 * closed and can never read this: reset the connection */
			drop(tcb, GT_DROP_DATA_AFTER_CLOSE, seg, now);
			gt_tcb_reset(tcb, "rcv data after close()", now);
			return STEP_DONE;
		} else {
			receive_text(tcb, seq, data, len, seg, now);
		}
	}

	/* eighth step: FIN */
	if (fin) {
		uint32_t fin_seq = seq + len;
		if (fin_seq == tcb->rcv_nxt) {
			process_fin(tcb, now);
		} else if (seq_gt(fin_seq, tcb->rcv_nxt) && tcb->state != GT_TCP_TIME_WAIT) {
			/* beyond a hole: remember it until the hole fills, and
			 * send the duplicate ACK out-of-order data draws (RFC 5681
			 * §4.2), a FIN alone included */
			tcb->reasm.has_fin = true;
			tcb->reasm.fin_seq = fin_seq;
			tcb->ack_now = true;
		}
	}
	if (!tcb->fin_rcvd && tcb->reasm.has_fin && tcb->reasm.fin_seq == tcb->rcv_nxt &&
	    gt_state_can_receive(tcb->state))
		process_fin(tcb, now);
	return STEP_CONTINUE;
}

/* ---- §3.10.7.3: SYN-SENT ---- */

static void syn_sent_input(gt_tcb *tcb, const gt_segment *seg, gt_time_us now)
{
	bool has_ack = seg->flags & GT_TCP_ACK;
	/* first: the ACK bit */
	if (has_ack && (seq_le(seg->ack, tcb->iss) || seq_gt(seg->ack, tcb->snd_nxt))) {
		drop(tcb, GT_DROP_BAD_ACK, seg, now);
		gt_tcp_send_reset_for(tcb->env, seg, now); /* <SEQ=SEG.ACK><CTL=RST> unless RST */
		return;
	}
	/* second: the RST bit (RFC 5961 §3.2: only with an acceptable ACK) */
	if (seg->flags & GT_TCP_RST) {
		if (has_ack)
			gt_tcb_close(tcb, -ECONNREFUSED, "rcv RST", now);
		else
			drop(tcb, GT_DROP_RST_INVALID, seg, now);
		return;
	}
	/* third: security — no IPsec or compartments here */
	/* fourth: the SYN bit */
	if (!(seg->flags & GT_TCP_SYN)) {
		drop(tcb, GT_DROP_UNEXPECTED, seg, now);
		return;
	}
	tcb->irs = seg->seq;
	tcb->rcv_nxt = seg->seq + 1;
	tcb->rcv_adv = tcb->rcv_nxt;
	take_peer_mss(tcb, seg);
	gt_tcb_negotiate(tcb, seg, now);
	tcb->rx_tsecr_valid = tcb->ts_ok && has_ack;
	tcb->rx_tsecr = seg->opts.ts_ecr;
	if (has_ack) {
		tcb->snd_una = seg->ack;
		set_send_window(tcb, seg);
		established(tcb, "rcv SYN,ACK", now);
		gt_cc_init(tcb);
		gt_tcb_on_ack_advance(tcb, 1, now);
		tcb->ack_now = true;
		/* data or FIN on the SYN-ACK: continue at the sixth step */
		if (step_text_and_fin(tcb, seg, seg->seq + 1, seg->payload, seg->payload_len,
		                      seg->flags & GT_TCP_FIN, now) == STEP_DONE)
			return;
	} else {
		/* simultaneous open: both sides sent SYN */
		set_send_window(tcb, seg);
		gt_cc_init(tcb);
		gt_tcb_set_state(tcb, GT_TCP_SYN_RECEIVED, "rcv SYN (simultaneous open)", now);
		gt_tcb_send_syn(tcb, false, now);
		/* any text is not acknowledged, so the peer sends it again */
	}
	gt_tcb_output(tcb, now);
	gt_tcb_notify(tcb, now);
}

/* ---- §3.10.7.4: the synchronized states and SYN-RECEIVED ---- */

/* The first step: is the segment acceptable (the four cases)? */
static bool acceptable(const gt_tcb *tcb, const gt_segment *seg, uint32_t rcv_wnd)
{
	uint32_t len = seg_len(seg);
	uint32_t nxt = tcb->rcv_nxt;
	if (len == 0 && rcv_wnd == 0)
		return seg->seq == nxt;
	if (len == 0)
		return seq_in(seg->seq, nxt, nxt + rcv_wnd);
	if (rcv_wnd == 0)
		return false;
	return seq_in(seg->seq, nxt, nxt + rcv_wnd) ||
	       seq_in(seg->seq + len - 1, nxt, nxt + rcv_wnd);
}

static step_result step_rst(gt_tcb *tcb, const gt_segment *seg, gt_time_us now)
{
	/* RFC 5961 §3.2: only an RST exactly at RCV.NXT resets; one elsewhere in
	 * the window draws a challenge ACK */
	if (seg->seq != tcb->rcv_nxt) {
		drop(tcb, GT_DROP_RST_CHALLENGED, seg, now);
		gt_tcb_send_ratelimited_ack(tcb, now);
		return STEP_DONE;
	}
	switch (tcb->state) {
	case GT_TCP_SYN_RECEIVED:
		if (tcb->passive) {
			/* return to LISTEN: the listener stays, this attempt goes */
			gt_tcb_set_state(tcb, GT_TCP_LISTEN, "rcv RST", now);
			tcb->env->ops->release(tcb->env, tcb);
		} else {
			gt_tcb_close(tcb, -ECONNREFUSED, "rcv RST", now);
		}
		break;
	case GT_TCP_ESTABLISHED:
	case GT_TCP_FIN_WAIT_1:
	case GT_TCP_FIN_WAIT_2:
	case GT_TCP_CLOSE_WAIT:
		gt_tcb_close(tcb, -ECONNRESET, "rcv RST", now);
		break;
	case GT_TCP_TIME_WAIT:
		/* RFC 1337 §3, fix H1: ignore RST in TIME-WAIT. Such an RST is
		 * typically the peer's answer to a late duplicate that reached it
		 * after it deleted its TCB (TIME-WAIT assassination); obeying it
		 * would cut TIME-WAIT short and lose its protection against old
		 * duplicates. (RFC 9293 §3.10.7.4 itself would delete the TCB.) */
		drop(tcb, GT_DROP_RST_INVALID, seg, now);
		break;
	default: /* CLOSING, LAST_ACK */
		gt_tcb_close(tcb, 0, "rcv RST", now);
		break;
	}
	return STEP_DONE;
}

static step_result step_syn(gt_tcb *tcb, const gt_segment *seg, gt_time_us now)
{
	if (tcb->state == GT_TCP_SYN_RECEIVED && tcb->passive) {
		/* RFC 9293 §3.10.7.4 fourth: a passive open returns to LISTEN */
		gt_tcb_set_state(tcb, GT_TCP_LISTEN, "rcv SYN", now);
		tcb->env->ops->release(tcb->env, tcb);
		return STEP_DONE;
	}
	/* RFC 5961 §4.2: a SYN in a synchronized state draws a challenge ACK */
	drop(tcb, GT_DROP_SYN_CHALLENGED, seg, now);
	gt_tcb_send_ratelimited_ack(tcb, now);
	return STEP_DONE;
}

static step_result step_ack(gt_tcb *tcb, const gt_segment *seg, gt_time_us now)
{
	if (!(seg->flags & GT_TCP_ACK)) {
		drop(tcb, GT_DROP_NO_ACK, seg, now);
		return STEP_DONE;
	}
	if (tcb->state == GT_TCP_SYN_RECEIVED) {
		if (!(seq_lt(tcb->snd_una, seg->ack) && seq_le(seg->ack, tcb->snd_nxt))) {
			drop(tcb, GT_DROP_BAD_ACK, seg, now);
			gt_tcp_send_reset_for(tcb->env, seg, now); /* <SEQ=SEG.ACK><CTL=RST> */
			return STEP_DONE;
		}
		gt_drop_reason why =
		    tcb->passive ? tcb->env->ops->established(tcb->env, tcb) : GT_DROP_NONE;
		if (why != GT_DROP_NONE) {
			/* the accept queue is full (or no memory for the buffers):
			 * ignore the ACK, the SYN-ACK is sent again and the peer's
			 * ACK with it */
			drop(tcb, why, seg, now);
			return STEP_DONE;
		}
		set_send_window(tcb, seg);
		established(tcb, "rcv ACK of SYN", now);
	}
	/* RFC 9293 §3.10.7.4 fifth, with RFC 5961 §5.2: an ACK of data never sent
	 * is answered with an ACK and dropped; so is one older than the window */
	if (seq_gt(seg->ack, tcb->snd_max) ||
	    seq_lt(seg->ack, tcb->snd_una - (tcb->max_snd_wnd ? tcb->max_snd_wnd : 1))) {
		drop(tcb, GT_DROP_BAD_ACK, seg, now);
		gt_tcb_send_ratelimited_ack(tcb, now);
		return STEP_DONE;
	}
	uint32_t wnd = seg_wnd(tcb, seg);
	/* RFC 2018 / RFC 6675: record what the ACK SACKs, before SND.UNA moves */
	uint32_t newly_sacked = gt_sack_update(tcb, seg);
	if (seq_gt(seg->ack, tcb->snd_una)) {
		uint32_t acked = seg->ack - tcb->snd_una;
		tcb->snd_una = seg->ack;
		gt_tcb_on_ack_advance(tcb, acked, now);
	} else if (seg->ack == tcb->snd_una && tcb->snd_max != tcb->snd_una &&
	           (tcb->sack_ok && seg->opts.sack_count > 0
	                ? newly_sacked > 0
	                : (seg->payload_len == 0 && !(seg->flags & (GT_TCP_SYN | GT_TCP_FIN)) &&
	                   wnd == tcb->snd_wnd && wnd != 0))) {
		/* RFC 5681 §2: a duplicate ACK. Answers to zero-window probes
		 * repeat the ACK too, but signal a full receiver, not a loss.
		 * RFC 6675 §2 (DupAck): an ACK with SACK blocks counts when it
		 * SACKs new data, whatever it carries besides; one that SACKs
		 * nothing new (e.g. duplicated by the network) does not. */
		gt_tcb_on_dupack(tcb, now);
	}
	/* the send window, only from segments newer than the last update */
	if (seq_lt(tcb->snd_wl1, seg->seq) ||
	    (tcb->snd_wl1 == seg->seq && seq_le(tcb->snd_wl2, seg->ack))) {
		bool opened = tcb->snd_wnd == 0 && wnd > 0;
		set_send_window(tcb, seg);
		if (opened) {
			tcb->t_persist = GT_TIME_NEVER;
			/* RFC 9293 §3.8.6.1: the probe's octet went past a zero window
			 * and was not kept. Go on from SND.UNA now: waiting for the
			 * probe's backed-off retransmission timeout (Nagle holds the
			 * rest behind it) would stall the reopened window up to rto_max. */
			if (tcb->snd_max - tcb->snd_una == 1 && seq_gt(tcb->snd_nxt, tcb->snd_una))
				tcb->snd_nxt = tcb->snd_una;
		}
	}

	uint32_t fin_seq = tcb->snd_buf_seq + tcb->sndbuf.len;
	bool fin_acked = tcb->fin_sent && seq_gt(tcb->snd_una, fin_seq);
	switch (tcb->state) {
	case GT_TCP_FIN_WAIT_1:
		if (fin_acked) {
			gt_tcb_set_state(tcb, GT_TCP_FIN_WAIT_2, "rcv ACK of FIN", now);
			if (tcb->sock < 0) {
				tcb->t_fin_wait_2 = now + tcb->env->cfg->fin_wait_2_timeout_us;
				gt_tcb_timers_changed(tcb);
			}
		}
		break;
	case GT_TCP_CLOSING:
		if (fin_acked)
			gt_tcb_enter_time_wait(tcb, "rcv ACK of FIN", now);
		break;
	case GT_TCP_LAST_ACK:
		if (fin_acked) {
			gt_tcb_close(tcb, 0, "rcv ACK of FIN", now);
			return STEP_DONE;
		}
		break;
	default:
		break;
	}
	return STEP_CONTINUE;
}

/* ---- before the first step ---- */

/* A retransmitted SYN in SYN_RECEIVED means our SYN-ACK was lost: send it
 * again, never a reset. */
static step_result step_repeated_syn(gt_tcb *tcb, const gt_segment *seg, gt_time_us now)
{
	if (tcb->state == GT_TCP_SYN_RECEIVED && (seg->flags & GT_TCP_SYN) &&
	    !(seg->flags & (GT_TCP_ACK | GT_TCP_RST)) && seg->seq == tcb->irs) {
		gt_tcb_send_syn(tcb, true, now);
		return STEP_DONE;
	}
	return STEP_CONTINUE;
}

/* Simultaneous open (RFC 9293 §3.5, figure 7): in SYN_RECEIVED the peer's
 * SYN,ACK repeats its SYN at IRS. The SYN is old news, its ACK is not: take the
 * segment as if the SYN had been trimmed (into *trimmed). */
static const gt_segment *trim_simultaneous_synack(const gt_tcb *tcb, const gt_segment *seg,
                                                  gt_segment *trimmed)
{
	if (tcb->state != GT_TCP_SYN_RECEIVED || tcb->passive ||
	    (seg->flags & (GT_TCP_SYN | GT_TCP_ACK | GT_TCP_RST)) != (GT_TCP_SYN | GT_TCP_ACK) ||
	    seg->seq != tcb->irs)
		return seg;
	*trimmed = *seg;
	trimmed->flags &= (uint8_t)~GT_TCP_SYN;
	trimmed->seq = tcb->irs + 1;
	return trimmed;
}

/* Whether an unacceptable segment is answered with an ACK every time: one
 * with text or FIN is (the peer retransmits, and must learn RCV.NXT, as
 * Linux answers out-of-window data). One that carries nothing, and any SYN,
 * goes through the RFC 5961 §7 limiter: an attacker can send those at will,
 * and RFC 5961 §4.2 treats an out-of-window SYN like an in-window one. */
static bool draws_plain_ack(const gt_segment *seg)
{
	return (seg->payload_len > 0 || (seg->flags & GT_TCP_FIN)) && !(seg->flags & GT_TCP_SYN);
}

/* RFC 7323 §3.2 and §5.3: the timestamp checks that come before the sequence
 * number check. */
static step_result step_timestamps(gt_tcb *tcb, const gt_segment *seg, gt_time_us now)
{
	/* RFC 7323 §3.2: with timestamps agreed, a non-RST segment without
	 * TSopt SHOULD be silently dropped */
	tcb->rx_tsecr_valid = false;
	if (tcb->ts_ok && !seg->opts.has_ts && !(seg->flags & GT_TCP_RST)) {
		drop(tcb, GT_DROP_NO_TIMESTAMP, seg, now);
		return STEP_DONE;
	}
	if (tcb->ts_ok && seg->opts.has_ts && !(seg->flags & GT_TCP_RST) &&
	    seq_lt(seg->opts.ts_val, tcb->ts_recent)) {
		/* RFC 7323 §5.5: after more than 24 days idle TS.Recent is no longer
		 * valid: the segment is accepted and TS.Recent taken from it */
		if (now - tcb->ts_recent_age > GT_PAWS_IDLE_US) {
			tcb->ts_recent = seg->opts.ts_val;
			tcb->ts_recent_age = now;
		} else {
			/* RFC 7323 §5.3 R1: PAWS. An old duplicate: not acceptable, so
			 * ACK it (rate-limited when it carries nothing) and drop it */
			drop(tcb, GT_DROP_PAWS, seg, now);
			if (draws_plain_ack(seg))
				gt_tcb_send_ack(tcb, now);
			else
				gt_tcb_send_ratelimited_ack(tcb, now);
			return STEP_DONE;
		}
	}
	return STEP_CONTINUE;
}

/* ---- the first step: check the sequence number ---- */

/* What of a segment lies in the receive window, after the first step's
 * trimming: the steps that follow work on this. */
typedef struct {
	uint32_t seq;
	const uint8_t *data;
	uint32_t len;
	bool syn;
	bool fin;
} in_window;

/* An unacceptable segment (the first step's "If an incoming segment is not
 * acceptable ..."): an ACK in reply, unless it is an RST. Two exceptions go
 * on: a segment at RCV.NXT in a zero window still has its ACK, URG and RST
 * processed. */
static step_result unacceptable(gt_tcb *tcb, const gt_segment *seg, uint32_t rcv_wnd, in_window *w,
                                gt_time_us now)
{
	if (rcv_wnd == 0 && seg->seq == tcb->rcv_nxt && !(seg->flags & GT_TCP_RST)) {
		/* a zero window accepts no text, but the ACK, URG and RST in it
		 * are still processed */
		w->len = 0;
		w->fin = false;
		tcb->ack_now = true;
		return STEP_CONTINUE;
	}
	if (seg->flags & GT_TCP_RST) {
		drop(tcb, GT_DROP_RST_INVALID, seg, now);
		return STEP_DONE;
	}
	/* RFC 2883 §4.1.1: text wholly below RCV.NXT came twice */
	if (seg->payload_len > 0 && seq_le(seg->seq + seg->payload_len, tcb->rcv_nxt))
		gt_sack_note_duplicate(tcb, seg->seq, seg->seq + seg->payload_len);
	if (tcb->state == GT_TCP_TIME_WAIT && (seg->flags & GT_TCP_FIN) &&
	    seg->seq + seg->payload_len + 1 == tcb->rcv_nxt) {
		/* RFC 9293 §3.10.7.4 eighth: the peer's FIN again — our last ACK
		 * was lost. ACK it and restart the 2 MSL timeout. */
		tcb->t_2msl = now + 2 * tcb->env->cfg->msl_us;
		gt_tcb_send_ack(tcb, now);
		gt_tcb_timers_changed(tcb);
		return STEP_DONE;
	}
	drop(tcb, GT_DROP_OUT_OF_WINDOW, seg, now);
	/* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; a segment that carries nothing is
	 * answered at most every 500 ms, so that two confused ends cannot ACK
	 * each other forever. A keep-alive probe (RFC 1122 §4.2.3.6: empty, at
	 * RCV.NXT-1) lands here too; probes come at least 1 s apart (Linux's and
	 * our minimum interval), so each is answered. */
	if (draws_plain_ack(seg))
		gt_tcb_send_ack(tcb, now);
	else
		gt_tcb_send_ratelimited_ack(tcb, now);
	return STEP_DONE;
}

/* Trims an acceptable segment to the window: what precedes RCV.NXT (a SYN
 * there included), and what passes the window's right edge (a FIN there
 * included). */
static void trim_to_window(const gt_tcb *tcb, uint32_t rcv_wnd, in_window *w)
{
	if (seq_lt(w->seq, tcb->rcv_nxt)) {
		uint32_t cut = tcb->rcv_nxt - w->seq;
		if (w->syn) {
			w->syn = false;
			cut--;
			w->seq++;
		}
		if (cut > w->len)
			cut = w->len;
		w->data += cut;
		w->len -= cut;
		w->seq += cut;
	}
	uint32_t right = tcb->rcv_nxt + rcv_wnd;
	if (seq_gt(w->seq + w->len, right)) {
		w->len = seq_gt(right, w->seq) ? right - w->seq : 0;
		w->fin = false;
	}
}

static step_result step_sequence(gt_tcb *tcb, const gt_segment *seg, in_window *w, gt_time_us now)
{
	uint32_t rcv_wnd = seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
	*w = (in_window){.seq = seg->seq,
	                 .data = seg->payload,
	                 .len = seg->payload_len,
	                 .syn = seg->flags & GT_TCP_SYN,
	                 .fin = seg->flags & GT_TCP_FIN};
	if (!acceptable(tcb, seg, rcv_wnd))
		return unacceptable(tcb, seg, rcv_wnd, w, now);
	uint32_t data_seq = seg->seq + (w->syn ? 1 : 0);
	trim_to_window(tcb, rcv_wnd, w);
	/* RFC 2883 §4.1.2: the part of the text before RCV.NXT came twice */
	if (seg->payload_len > 0 && seq_gt(w->seq, data_seq))
		gt_sack_note_duplicate(tcb, data_seq, w->seq);
	return STEP_CONTINUE;
}

/* RFC 7323 §4.2: the TSecr of an acceptable ACK gives the RTT measurement
 * (the fifth step uses it). */
static void take_tsecr(gt_tcb *tcb, const gt_segment *seg)
{
	if (!tcb->ts_ok || !seg->opts.has_ts)
		return;
	tcb->rx_tsecr_valid = (seg->flags & GT_TCP_ACK) != 0;
	tcb->rx_tsecr = seg->opts.ts_ecr;
}

/* RFC 7323 §4.3 (2): a segment updates TS.Recent if its TSval is not older
 * and it starts at or before Last.ACK.sent. Only one that passed the
 * sequence, RST, SYN and ACK checks does: a challenged SYN or an ACK of
 * unsent data (RFC 5961 §4, §5) is dropped, and its TSval, if taken, would
 * make the peer's next real segment fail PAWS. */
static void take_ts_recent(gt_tcb *tcb, const gt_segment *seg, gt_time_us now)
{
	if (!tcb->ts_ok || !seg->opts.has_ts)
		return;
	if (seq_ge(seg->opts.ts_val, tcb->ts_recent) && seq_le(seg->seq, tcb->last_ack_sent)) {
		tcb->ts_recent = seg->opts.ts_val;
		tcb->ts_recent_age = now;
	}
}

void gt_tcb_input(gt_tcb *tcb, const gt_segment *seg, gt_time_us now)
{
	if (tcb->state == GT_TCP_SYN_SENT) {
		syn_sent_input(tcb, seg, now);
		return;
	}
	if (step_repeated_syn(tcb, seg, now) == STEP_DONE)
		return;
	gt_segment synack_trimmed;
	seg = trim_simultaneous_synack(tcb, seg, &synack_trimmed);
	if (step_timestamps(tcb, seg, now) == STEP_DONE)
		return;
	/* first: check the sequence number */
	in_window w;
	if (step_sequence(tcb, seg, &w, now) == STEP_DONE)
		return;
	/* RFC 1122 §4.2.3.6: the peer is heard from; the keep-alive idle time
	 * starts again (any segment that passed the sequence check) */
	gt_tcb_keepalive_restart(tcb, now);
	take_tsecr(tcb, seg);
	/* second: the RST bit */
	if (seg->flags & GT_TCP_RST) {
		step_rst(tcb, seg, now);
		return;
	}
	/* third: security and precedence — no IPsec or compartments here */
	/* fourth: the SYN bit */
	if (w.syn) {
		step_syn(tcb, seg, now);
		return;
	}
	/* fifth: the ACK field */
	if (step_ack(tcb, seg, now) == STEP_DONE)
		return;
	take_ts_recent(tcb, seg, now);
	/* sixth to eighth: URG, text, FIN */
	if (step_text_and_fin(tcb, seg, w.seq, w.data, w.len, w.fin, now) == STEP_DONE)
		return;
	gt_tcb_output(tcb, now);
	gt_tcb_notify(tcb, now);
}

bool gt_tcb_syn_reopens(const gt_tcb *tcb, const gt_segment *seg)
{
	return tcb->state == GT_TCP_TIME_WAIT && (seg->flags & GT_TCP_SYN) &&
	       !(seg->flags & (GT_TCP_ACK | GT_TCP_RST)) && seq_gt(seg->seq, tcb->rcv_nxt);
}

/* ---- §3.10.7.2: LISTEN, third: the SYN ---- */

/* The variables of a connection made from syn, with our ISS iss. */
static void passive_setup(gt_tcb *tcb, const gt_segment *syn, uint32_t iss, gt_time_us now)
{
	tcb->passive = true;
	tcb->state = GT_TCP_LISTEN; /* the new connection starts as the listener's copy */
	tcb->irs = syn->seq;
	tcb->rcv_nxt = syn->seq + 1;
	tcb->rcv_adv = tcb->rcv_nxt;
	gt_tcb_set_iss(tcb, iss);
	tcb->opened = true;
	take_peer_mss(tcb, syn);
	gt_tcb_negotiate(tcb, syn, now); /* RFC 7323, RFC 2018: the SYN's options */
	tcb->snd_wnd = syn->wnd;         /* RFC 7323 §2.2: a SYN's window is never scaled */
	tcb->max_snd_wnd = syn->wnd;
	tcb->snd_wl1 = syn->seq;
	gt_cc_init(tcb);
}

void gt_tcb_passive_open(gt_tcb *tcb, const gt_segment *syn, gt_time_us now)
{
	passive_setup(tcb, syn, gt_tcb_draw_iss(tcb, now), now);
	gt_tcb_set_state(tcb, GT_TCP_SYN_RECEIVED, "rcv SYN", now);
	/* <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. Text on the SYN is not
	 * acknowledged, so the peer sends it again after the handshake. */
	gt_tcb_send_syn(tcb, false, now);
}

/* ---- SYN cookies (RFC 4987 §3.6, tcp/syncookie.h) ---- */

void gt_tcb_syncookie_reply(gt_tcb *tmp, const gt_segment *syn, gt_time_us now)
{
	const gt_stack_config *cfg = tmp->env->cfg;
	gt_conn_tuple c = gt_seg_tuple(syn);
	passive_setup(tmp, syn, gt_syncookie_make(cfg->isn_key, &c, syn, now), now);
	if (tmp->ts_ok) {
		uint32_t ts_now = gt_tcb_ts_now(now);
		tmp->ts_offset = gt_syncookie_tsval(ts_now, syn, tmp->sack_ok, tmp->ws_ok) - ts_now;
	} else {
		/* without TSval the cookie cannot keep the window scale or
		 * SACK-permitted: offer neither (as Linux), or both ends would
		 * disagree on the window's scale */
		tmp->ws_ok = tmp->sack_ok = false;
		tmp->rcv_wscale = tmp->snd_wscale = 0;
	}
	/* the SYN-ACK goes out as from SYN_RECEIVED, but nothing is kept: no
	 * state change, no timer (the peer's SYN retransmission is ours) */
	gt_tcb_send_ctl(tmp, GT_TCP_SYN | GT_TCP_ACK, tmp->iss, now);
}

void gt_tcb_syncookie_open(gt_tcb *tcb, const gt_segment *ack, const gt_syncookie *ck,
                           gt_time_us now)
{
	/* the SYN the cookie stands for: what it kept of the peer's options */
	gt_segment syn = {.seq = ck->irs, .flags = GT_TCP_SYN, .wnd = ack->wnd};
	syn.src_addr = ack->src_addr;
	syn.dst_addr = ack->dst_addr;
	syn.src_port = ack->src_port;
	syn.dst_port = ack->dst_port;
	syn.opts.has_mss = true;
	syn.opts.mss = ck->mss;
	syn.opts.has_ts = ck->has_ts;
	syn.opts.ts_val = ck->ts_val;
	syn.opts.sack_permitted = ck->sack_ok;
	syn.opts.has_wscale = ck->has_wscale;
	syn.opts.wscale = ck->wscale;
	passive_setup(tcb, &syn, ck->iss, now);
	/* our SYN-ACK went out: SND.NXT = ISS + 1 (RFC 9293 §3.10.7.2) */
	tcb->snd_nxt = tcb->snd_max = tcb->snd_sml = ck->iss + 1;
	/* ... and offered the window a SYN-ACK offers (unscaled, RFC 7323
	 * §2.2): the right edge it announced, or text riding on this ACK or
	 * right behind it would meet a zero window */
	uint32_t wnd = gt_tcb_rcv_window(tcb);
	tcb->rcv_adv = tcb->rcv_nxt + (wnd > 65535 ? 65535 : wnd);
	gt_tcb_set_state(tcb, GT_TCP_SYN_RECEIVED, "ACK with a valid SYN cookie", now);
}
