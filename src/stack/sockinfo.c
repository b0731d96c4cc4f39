/* STATUS (RFC 9293 §3.10.6): what the engine knows of one connection, read
 * through gt_sock_get_info; TCP_INFO (sockopt.c) is made from it. */
#include "stack/stack_impl.h"
#include "tcp/seq.h"

#include <errno.h>
#include <string.h>

static uint32_t in_segments(uint32_t bytes, uint32_t mss)
{
	if (bytes == UINT32_MAX)
		return UINT32_MAX;
	return mss ? (bytes + mss - 1) / mss : 0;
}

static void fill_options(const gt_tcb *tcb, gt_sock_info *out)
{
	if (tcb->ts_ok)
		out->options |= GT_INFO_TIMESTAMPS;
	if (tcb->sack_ok)
		out->options |= GT_INFO_SACK;
	if (tcb->ws_ok) {
		out->options |= GT_INFO_WSCALE;
		out->snd_wscale = tcb->snd_wscale;
		out->rcv_wscale = tcb->rcv_wscale;
	}
}

static void fill_sequence(const gt_tcb *tcb, gt_sock_info *out)
{
	uint32_t mss = tcb->snd_mss ? tcb->snd_mss : tcb->env->cfg->mss;
	uint32_t in_flight = seq_gt(tcb->snd_max, tcb->snd_una) ? tcb->snd_max - tcb->snd_una : 0;
	out->unacked = in_segments(in_flight, mss);
	uint32_t sacked = 0;
	for (uint32_t i = 0; i < tcb->scoreboard.count; i++)
		sacked += tcb->scoreboard.ranges[i].end - tcb->scoreboard.ranges[i].start;
	out->sacked = in_segments(sacked, mss);
	/* RFC 6675 §4: each segment in flight that IsLost() and is not SACKed;
	 * the walk is bounded by the send buffer over the MSS */
	for (uint32_t seq = tcb->snd_una; tcb->sack_ok && seq_lt(seq, tcb->snd_max); seq += mss)
		if (!gt_sack_is_sacked(tcb, seq) && gt_sack_is_lost(tcb, seq))
			out->lost++;
	/* sent again: below HighRxt (RFC 6675 §2, recovery), and after a
	 * timeout everything from SND.UNA to SND.NXT (go-back-N, RFC 5681 §3.1) */
	uint32_t resent_end = tcb->high_rxt;
	if (tcb->rexmit_count > 0 && seq_gt(tcb->snd_nxt, resent_end))
		resent_end = tcb->snd_nxt;
	if (seq_gt(resent_end, tcb->snd_una))
		out->retrans = in_segments(resent_end - tcb->snd_una, mss);
	out->snd_cwnd = in_segments(tcb->cwnd, mss);
	out->snd_ssthresh = in_segments(tcb->ssthresh, mss);
	out->snd_wnd = tcb->snd_wnd;
	out->rcv_wnd = seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
	uint32_t sent_from_buf =
	    seq_gt(tcb->snd_max, tcb->snd_buf_seq) ? tcb->snd_max - tcb->snd_buf_seq : 0;
	if (sent_from_buf > tcb->sndbuf.len)
		sent_from_buf = tcb->sndbuf.len;
	out->unsent = tcb->sndbuf.len - sent_from_buf;
}

int gt_sock_get_info(const gt_stack *st, int s, gt_sock_info *out)
{
	const gt_tcb *tcb = gt_stack_sock_tcb(st, s);
	if (!tcb)
		return -EBADF;
	if (!out)
		return -EINVAL;
	gt_stack_tcb_info(st, tcb, out);
	return 0;
}

void gt_stack_tcb_info(const gt_stack *st, const gt_tcb *tcb, gt_sock_info *out)
{
	memset(out, 0, sizeof(*out));
	const gt_stack_config *cfg = &st->cfg;
	out->state = tcb->state;
	out->retransmits = tcb->rexmit_count;
	out->backoff = tcb->rto.backoff;
	out->rto_us = gt_rto_current(&tcb->rto);
	out->ato_us = cfg->delack_us;
	out->snd_mss = tcb->snd_mss ? tcb->snd_mss : cfg->mss;
	out->rcv_mss = gt_tcb_our_mss(tcb);
	out->rtt_us = tcb->rto.has_sample ? tcb->rto.srtt : 0;
	out->rttvar_us = tcb->rto.has_sample ? tcb->rto.rttvar : 0;
	out->total_retrans = tcb->total_retrans;
	out->rcv_space = tcb->rcvbuf.data ? tcb->rcvbuf.cap : tcb->rcvbuf_size;
	out->unread = tcb->rcvbuf.len;
	out->reordering = 3; /* RFC 5681 §3.2 DupThresh */
	out->probes = tcb->ka_probes_out;
	if (gt_state_synchronized(tcb->state) && st->last_now > tcb->ka_since)
		out->since_recv_us = st->last_now - tcb->ka_since;
	out->bytes_acked = tcb->acked_total;
	out->bytes_received = tcb->bytes_received;
	out->bytes_sent = tcb->bytes_sent;
	out->bytes_retrans = tcb->bytes_retrans;
	out->segs_out = tcb->segs_out;
	out->segs_in = tcb->segs_in;
	out->data_segs_out = tcb->data_segs_out;
	out->data_segs_in = tcb->data_segs_in;
	if (tcb->data_segs_out && st->last_now > tcb->last_data_sent)
		out->since_data_sent_us = st->last_now - tcb->last_data_sent;
	if (tcb->data_segs_in && st->last_now > tcb->last_data_recv)
		out->since_data_recv_us = st->last_now - tcb->last_data_recv;
	fill_options(tcb, out);
	if (gt_state_synchronized(tcb->state) || tcb->state == GT_TCP_SYN_SENT ||
	    tcb->state == GT_TCP_SYN_RECEIVED)
		fill_sequence(tcb, out);
}
