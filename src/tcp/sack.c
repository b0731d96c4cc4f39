/* SACK (RFC 2018) on both sides. Receiver: the blocks an ACK reports, most
 * recent first (§4). Sender: a bounded scoreboard of SACKed ranges (held in
 * the TCB, no allocation per segment) and the RFC 6675 §4 routines IsLost,
 * SetPipe and NextSeg that loss recovery in output.c is built on. */
#include "tcp/seq.h"
#include "tcp/tcb.h"

/* ---- receiver ---- */

void gt_sack_note_received(gt_tcb *tcb, uint32_t start, uint32_t end)
{
	/* RFC 2018 §4: the first block reports the segment that triggered the
	 * ACK; the others repeat the most recently reported ones. Keep the
	 * segments newest first; a block is found again through the range that
	 * now contains its start. */
	uint32_t n = tcb->sack_recent_count;
	if (n == GT_SACK_RECENT)
		n--;
	for (uint32_t i = n; i > 0; i--)
		tcb->sack_recent[i] = tcb->sack_recent[i - 1];
	tcb->sack_recent[0].start = start;
	tcb->sack_recent[0].end = end;
	tcb->sack_recent_count = n + 1;
}

static const gt_reasm_range *range_containing(const gt_reasm *r, uint32_t seq)
{
	for (uint32_t i = 0; i < r->count; i++)
		if (seq_le(r->ranges[i].start, seq) && seq_lt(seq, r->ranges[i].end))
			return &r->ranges[i];
	return NULL;
}

/* Adds a held range unless already among the blocks from index `first` on
 * (a D-SACK block before it may share its left edge). */
static bool add_block(gt_tcp_opts *o, uint32_t first, const gt_reasm_range *rg, uint32_t max)
{
	for (uint32_t i = first; i < o->sack_count; i++)
		if (o->sack[i].left == rg->start)
			return false;
	if (o->sack_count >= max)
		return false;
	o->sack[o->sack_count].left = rg->start;
	o->sack[o->sack_count].right = rg->end;
	o->sack_count++;
	return true;
}

void gt_sack_note_duplicate(gt_tcb *tcb, uint32_t start, uint32_t end)
{
	if (!tcb->sack_ok || tcb->dsack_pending || !seq_lt(start, end))
		return;
	tcb->dsack_pending = true;
	tcb->dsack.start = start;
	tcb->dsack.end = end;
}

void gt_sack_note_duplicate_held(gt_tcb *tcb, uint32_t start, uint32_t end)
{
	const gt_reasm *r = &tcb->reasm;
	for (uint32_t i = 0; i < r->count; i++) {
		const gt_reasm_range *rg = &r->ranges[i];
		if (seq_lt(rg->start, end) && seq_lt(start, rg->end)) {
			gt_sack_note_duplicate(tcb, seq_max(start, rg->start),
			                       seq_min(end, rg->end));
			return;
		}
	}
}

void gt_sack_fill_blocks(gt_tcb *tcb, gt_tcp_opts *o)
{
	o->sack_count = 0;
	if (!tcb->sack_ok)
		return;
	/* RFC 2018 §3: 4 blocks fit, 3 beside the 12 bytes of timestamps */
	uint32_t max = o->has_ts ? 3 : 4;
	/* RFC 2883 §4: a D-SACK block goes first; the blocks after it are the
	 * usual ones (the one holding the duplicate, if any, comes next by the
	 * newest-first rule, §4.2.1) */
	uint32_t first = 0;
	if (tcb->dsack_pending) {
		o->sack[0].left = tcb->dsack.start;
		o->sack[0].right = tcb->dsack.end;
		o->sack_count = first = 1;
	}
	const gt_reasm *r = &tcb->reasm;
	if (!r->ranges || r->count == 0) {
		tcb->sack_recent_count = 0;
		return;
	}
	for (uint32_t i = 0; i < tcb->sack_recent_count; i++) {
		const gt_reasm_range *rg = range_containing(r, tcb->sack_recent[i].start);
		if (rg)
			add_block(o, first, rg, max);
	}
	/* RFC 2018 §4: then any other ranges still held, so that every hole is
	 * reported over successive ACKs */
	for (uint32_t i = 0; i < r->count && o->sack_count < max; i++)
		add_block(o, first, &r->ranges[i], max);
}

/* ---- sender ---- */

void gt_sack_clear(gt_tcb *tcb)
{
	tcb->scoreboard.count = 0;
}

void gt_sack_prune(gt_tcb *tcb)
{
	gt_reasm *sb = &tcb->scoreboard;
	uint32_t keep = 0;
	for (uint32_t i = 0; i < sb->count; i++) {
		gt_reasm_range rg = sb->ranges[i];
		if (seq_le(rg.end, tcb->snd_una))
			continue;
		if (seq_lt(rg.start, tcb->snd_una))
			rg.start = tcb->snd_una;
		sb->ranges[keep++] = rg;
	}
	sb->count = keep;
}

static uint32_t sacked_bytes(const gt_reasm *sb)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < sb->count; i++)
		n += sb->ranges[i].end - sb->ranges[i].start;
	return n;
}

uint32_t gt_sack_update(gt_tcb *tcb, const gt_segment *seg)
{
	if (!tcb->sack_ok || seg->opts.sack_count == 0)
		return 0;
	gt_reasm *sb = &tcb->scoreboard;
	uint32_t before = sacked_bytes(sb);
	for (uint32_t i = 0; i < seg->opts.sack_count; i++) {
		uint32_t l = seg->opts.sack[i].left, r = seg->opts.sack[i].right;
		/* RFC 2018 §4: only blocks within what we sent and above the
		 * cumulative ACK mean anything (a D-SACK or a bogus block does not) */
		if (!seq_lt(l, r) || seq_gt(r, tcb->snd_max))
			continue;
		if (seq_lt(l, tcb->snd_una))
			l = tcb->snd_una;
		if (!seq_lt(l, r))
			continue;
		/* a full scoreboard forgets the block: recovery is only slower */
		(void)gt_reasm_add(sb, l, r);
	}
	gt_sack_prune(tcb);
	uint32_t after = sacked_bytes(sb);
	return after > before ? after - before : 0;
}

bool gt_sack_is_sacked(const gt_tcb *tcb, uint32_t seq)
{
	return range_containing(&tcb->scoreboard, seq) != NULL;
}

/* RFC 6675 §4 IsLost: a sequence number is lost when DupThresh (3)
 * discontiguous SACKed ranges lie above it, or more than (DupThresh - 1) *
 * SMSS bytes above it are SACKed. Holes never overlap ranges, so everything
 * unSACKed below the returned edge is lost and nothing above it is. */
static uint32_t lost_edge(const gt_tcb *tcb)
{
	const gt_reasm *sb = &tcb->scoreboard;
	uint32_t acc = 0;
	uint32_t limit = 2u * tcb->snd_mss;
	for (uint32_t k = sb->count; k > 0; k--) {
		const gt_reasm_range *rg = &sb->ranges[k - 1];
		acc += rg->end - rg->start;
		if (acc > limit || sb->count - (k - 1) >= 3)
			return rg->start;
	}
	return tcb->snd_una; /* nothing is lost */
}

bool gt_sack_is_lost(const gt_tcb *tcb, uint32_t seq)
{
	return !gt_sack_is_sacked(tcb, seq) && seq_lt(seq, lost_edge(tcb));
}

uint32_t gt_sack_pipe(const gt_tcb *tcb)
{
	/* RFC 6675 §4 SetPipe: every unSACKed octet between HighACK and HighData
	 * counts once if not lost, and once more if it was retransmitted */
	const gt_reasm *sb = &tcb->scoreboard;
	uint32_t edge = lost_edge(tcb);
	uint32_t pipe = 0;
	uint32_t x = tcb->snd_una;
	for (uint32_t i = 0; i <= sb->count; i++) {
		uint32_t y = i < sb->count ? sb->ranges[i].start : tcb->snd_max;
		if (seq_gt(y, tcb->snd_max))
			y = tcb->snd_max;
		if (seq_lt(x, y)) {
			/* the hole [x, y): the part at or above the edge is not lost */
			uint32_t nl = seq_ge(x, edge) ? x : seq_lt(edge, y) ? edge : y;
			pipe += y - nl;
			/* the part below HighRxt was retransmitted */
			if (seq_gt(tcb->high_rxt, x))
				pipe += (seq_lt(tcb->high_rxt, y) ? tcb->high_rxt : y) - x;
		}
		if (i < sb->count)
			x = seq_max(x, sb->ranges[i].end);
	}
	return pipe;
}

bool gt_sack_next_rexmit(const gt_tcb *tcb, bool rescue, uint32_t *seq, uint32_t *len)
{
	const gt_reasm *sb = &tcb->scoreboard;
	if (sb->count == 0)
		return false;
	uint32_t edge = lost_edge(tcb);
	/* rule (1): the first unSACKed, lost octet above HighRxt; rule (3) (the
	 * caller asks for it after rule (2), new data, found nothing): else the
	 * first unSACKed octet above HighRxt below the highest SACKed one */
	uint32_t highest = sb->ranges[sb->count - 1].end;
	for (int rule = 1; rule <= (rescue ? 3 : 1); rule += 2) {
		uint32_t x = seq_max(tcb->snd_una, tcb->high_rxt);
		uint32_t stop = rule == 1 ? edge : highest;
		for (uint32_t i = 0; i <= sb->count; i++) {
			uint32_t y = i < sb->count ? sb->ranges[i].start : tcb->snd_max;
			if (seq_gt(y, stop))
				y = stop;
			if (seq_lt(x, y)) {
				*seq = x;
				*len = y - x < tcb->snd_mss ? y - x : tcb->snd_mss;
				return true;
			}
			if (i < sb->count)
				x = seq_max(x, sb->ranges[i].end);
		}
	}
	return false;
}
