/* `glasstcp explain`: the state sequences of both ends of every TCP connection
 * in a capture, inferred from the packets alone (explain.h).
 *
 * libpcap reads the file (pcap or pcapng); the link-layer, IPv4 and TCP headers
 * are read here from the bytes, every access bounds-checked against the
 * captured length.
 *
 * Each end of a connection runs a passive copy of the RFC 9293 §3.10 state
 * machine. What an end sends moves it at once (its SYN, its FIN, its RST). What
 * it receives moves it only once a later packet of its own shows the segment
 * arrived: its ACK covers the peer's SYN or FIN, or it goes on without
 * repeating a SYN or FIN the segment acknowledged. Until then the peer's
 * segment waits in the end's "pending" list; a segment still pending when the
 * capture ends is taken as received (inferred) when it is an ACK or an RST, and
 * as never received when it is a SYN or FIN nobody acknowledged. */
#include "view/explain.h"
#include "glasstcp/wire.h"
#include "view/svg.h"

#include <errno.h>
#include <inttypes.h>
#ifdef GT_HAVE_PCAP
#include <pcap/pcap.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* 2 * MSL as Linux has it: TCP_TIMEWAIT_LEN, 60 s. */
#define DEFAULT_TIME_WAIT_US (60ull * 1000000ull)
/* Retransmission and gap anomalies noted one by one per connection; the rest
 * are summed up in one line. */
#define MAX_NOTES_PER_KIND 20
/* Pure ACKs waiting to be confirmed, per end: the first few fix the state
 * change; more add nothing (a one-way capture would otherwise pile them up). */
#define MAX_PENDING_ACKS 8

/* Link types as libpcap reports them (pcap/dlt.h); LINKTYPE_RAW and DLT_RAW
 * differ by platform, so all spellings are accepted. */
#define LT_RAW_LINKTYPE 101
#define LT_RAW_BSD      14
#define LT_IPV4         228
#define LT_LINUX_SLL2   276

#define ETHERTYPE_IPV4     0x0800
#define ETHERTYPE_VLAN     0x8100
#define ETHERTYPE_QINQ     0x88a8
#define ETHERTYPE_VLAN_OLD 0x9100
#define FAMILY_INET        2 /* AF_INET in DLT_NULL/DLT_LOOP headers, on every OS */

const char *gt_anomaly_kind_name(gt_anomaly_kind k)
{
	switch (k) {
	case GT_ANOMALY_RETRANSMISSION:
		return "retransmission";
	case GT_ANOMALY_GAP:
		return "gap";
	case GT_ANOMALY_RST:
		return "rst";
	case GT_ANOMALY_REFUSED:
		return "refused";
	case GT_ANOMALY_FIN_UNACKED:
		return "fin_unacked";
	case GT_ANOMALY_TIME_WAIT:
		return "time_wait";
	case GT_ANOMALY_ZERO_WINDOW:
		return "zero_window";
	case GT_ANOMALY_HALF_OPEN:
		return "half_open";
	case GT_ANOMALY_NO_HANDSHAKE:
		return "no_handshake";
	default:
		return "unknown";
	}
}

void gt_explain_opts_default(gt_explain_opts *o)
{
	if (o)
		*o = (gt_explain_opts){.time_wait_us = DEFAULT_TIME_WAIT_US};
}

/* The reader of captures (libpcap); without it, a stub that names the package. */
#ifdef GT_HAVE_PCAP

/* ---- sequence numbers (RFC 9293 §3.4: modulo 2^32) ---- */

static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static bool seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint32_t le32(const uint8_t *p)
{
	return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

/* ---- link layer and headers ---- */

typedef enum link_kind { LINK_RAW, LINK_ETHERNET, LINK_SLL, LINK_SLL2, LINK_NULL } link_kind;

static bool link_kind_of(int dlt, link_kind *out)
{
	if (dlt == DLT_RAW || dlt == LT_RAW_BSD || dlt == LT_RAW_LINKTYPE || dlt == LT_IPV4)
		*out = LINK_RAW;
	else if (dlt == DLT_EN10MB)
		*out = LINK_ETHERNET;
	else if (dlt == DLT_LINUX_SLL)
		*out = LINK_SLL;
	else if (dlt == LT_LINUX_SLL2)
		*out = LINK_SLL2;
	else if (dlt == DLT_NULL || dlt == DLT_LOOP)
		*out = LINK_NULL;
	else
		return false;
	return true;
}

/* Where the IPv4 header starts in a frame, or -1 when the frame does not
 * carry IPv4 (or is too short to tell). */
static long ipv4_offset(link_kind k, const uint8_t *d, size_t caplen)
{
	switch (k) {
	case LINK_RAW:
		return caplen >= 1 && (d[0] >> 4) == 4 ? 0 : -1;
	case LINK_ETHERNET: {
		if (caplen < 14)
			return -1;
		size_t off = 12;
		uint16_t type = be16(d + off);
		/* IEEE 802.1Q / 802.1ad tags: 4 bytes each before the real type */
		while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ ||
		       type == ETHERTYPE_VLAN_OLD) {
			off += 4;
			if (caplen < off + 2)
				return -1;
			type = be16(d + off);
		}
		return type == ETHERTYPE_IPV4 ? (long)(off + 2) : -1;
	}
	case LINK_SLL: /* 16 bytes, protocol type last */
		return caplen >= 16 && be16(d + 14) == ETHERTYPE_IPV4 ? 16 : -1;
	case LINK_SLL2: /* 20 bytes, protocol type first */
		return caplen >= 20 && be16(d) == ETHERTYPE_IPV4 ? 20 : -1;
	case LINK_NULL: /* the family in the capturing host's byte order (NULL)
	                 * or in network order (LOOP) */
		if (caplen < 4)
			return -1;
		return le32(d) == FAMILY_INET || be32(d) == FAMILY_INET ? 4 : -1;
	}
	return -1;
}

typedef struct xseg {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack, len;
	uint16_t win, mss;
	uint8_t flags;
	bool opts_known; /* the options were captured (none, or all of them) */
	bool has_wscale; /* RFC 7323 §2.2 Window Scale option */
	uint8_t wscale;
} xseg;

/* RFC 791 and RFC 9293 §3.1 headers. The payload length comes from the IPv4
 * total length, so a capture with a short snap length still counts the data
 * its packets carried. Fragments are skipped: only a first fragment has a TCP
 * header, and its length is not the segment's. */
static bool parse_ipv4_tcp(const uint8_t *p, size_t caplen, xseg *s)
{
	if (caplen < GT_IPV4_HDR_LEN || (p[0] >> 4) != 4)
		return false;
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	if (ihl < GT_IPV4_HDR_LEN || ihl > caplen)
		return false;
	size_t total = be16(p + 2);
	if (total == 0)
		total = caplen; /* segmentation offload: the length is not filled in */
	if (total < ihl)
		return false;
	if (be16(p + 6) & 0x3fff) /* MF or a fragment offset */
		return false;
	if (p[9] != GT_IP_PROTO_TCP)
		return false;
	const uint8_t *t = p + ihl;
	size_t tcap = caplen - ihl;
	if (tcap < GT_TCP_HDR_LEN)
		return false;
	size_t doff = (size_t)(t[12] >> 4) * 4;
	if (doff < GT_TCP_HDR_LEN || doff > total - ihl)
		return false;
	*s = (xseg){
	    .src = be32(p + 12),
	    .dst = be32(p + 16),
	    .sport = be16(t),
	    .dport = be16(t + 2),
	    .seq = be32(t + 4),
	    .ack = be32(t + 8),
	    .flags = t[13],
	    .win = be16(t + 14),
	    .len = (uint32_t)(total - ihl - doff),
	    .opts_known = doff <= tcap,
	};
	if (doff > GT_TCP_HDR_LEN && doff <= tcap) {
		gt_tcp_opts o;
		gt_wire_parse_options(t + GT_TCP_HDR_LEN, doff - GT_TCP_HDR_LEN, &o);
		if (o.has_mss)
			s->mss = o.mss;
		s->has_wscale = o.has_wscale;
		/* RFC 7323 §2.3: a shift above 14 is used as 14 */
		s->wscale = o.wscale > 14 ? 14 : o.wscale;
	}
	return true;
}

/* ---- connections ---- */

/* One packet as the inference keeps it. rec numbers the TCP packets of the
 * whole capture: the order the log is written in. */
typedef struct xpkt {
	gt_time_us t;
	size_t rec;
	uint32_t seq, ack, len;
	uint16_t win, mss;
	uint8_t flags;
	bool rexmit;
} xpkt;

/* Start of new data (relative to the side's first sequence number) and when
 * it was first sent: tells how long before a retransmission the first copy
 * went out. */
typedef struct sent_mark {
	uint32_t rel;
	gt_time_us t;
} sent_mark;

typedef struct xside {
	uint32_t addr;
	uint16_t port;
	char host[24];

	bool known; /* st is meaningful: a state was seen or assumed */
	gt_tcp_state st;
	bool passive;    /* came from LISTEN (answered a SYN with SYN,ACK) */
	size_t last_rec; /* rec of its latest event: later events sort after it */
	bool any_event;

	bool isn_known;
	uint32_t isn;
	bool sent_syn, sent_synack;
	gt_time_us t_syn, t_synack;
	bool snd_valid;
	uint32_t snd_max; /* highest sequence number sent + 1 (SYN, FIN count) */
	uint32_t base;    /* the first sequence number of data */
	bool fin_sent;
	uint32_t fin_seq; /* the FIN's sequence number */
	gt_time_us t_fin;
	bool fin_acked_seen; /* the peer sent an ACK of the FIN (in the capture) */

	/* what this side has taken in so far */
	bool peer_syn_rcvd, syn_acked, peer_fin_rcvd, fin_ack_rcvd;
	gt_time_us tw_deadline;

	xpkt *pend; /* the peer's segments not yet known to have arrived */
	size_t npend, cap_pend;
	sent_mark *sent;
	size_t nsent, cap_sent;

	bool zero_win;
	gt_time_us zero_win_start;

	/* RFC 7323 §2.2: what its SYN (or SYN,ACK) said about window scaling */
	bool syn_opts_seen;
	bool ws_offered;
	uint8_t ws_shift; /* applies to the windows this side sends */
} xside;

typedef struct xconn {
	xside s[2]; /* [0] the left side: the first SYN's sender, else the first sender */
	bool finished;
	bool handshake_seen;
	/* the handshake's timing: SYN, SYN-ACK, ACK as the capture saw them */
	gt_time_us hs_syn, hs_synack, hs_ack;
	bool have_syn, have_synack, have_ack;
	gt_time_us margin; /* packets closer than this may cross on the wire */
	int near;
	size_t flow; /* the connection's index as gt_flow_build counts them: a
	              * reuse of the same ports keeps the index */
	size_t rexmit_notes, gap_notes;
	uint64_t rexmits, gaps;
} xconn;

/* An event waiting to go into the log, with its place in capture order: rec,
 * then phase (0 changes a packet's sender made before sending it, 1 the
 * packet, 2 changes its arrival caused, 3 timeouts), then creation order. */
typedef struct xout {
	size_t rec;
	uint8_t phase;
	size_t serial;
	size_t conn;
	uint8_t side;
	gt_event ev;
} xout;

typedef struct xctx {
	gt_time_us time_wait_us;
	xconn *conns;
	size_t nconns, cap_conns;
	size_t *slots; /* open addressing: conn index + 1, 0 empty */
	size_t nslots, used_slots;
	xout *out;
	size_t nout, cap_out;
	size_t serial;
	gt_anomaly *an;
	size_t nan, cap_an;
	size_t *an_serial;
	gt_time_us *rec_t; /* capture time of each TCP packet */
	size_t nrec, cap_rec;
	gt_time_us t_end;
	size_t nflows;
	bool oom;
} xctx;

/* Makes room for one more element; false (and ctx->oom) on failure. */
static bool grow(xctx *x, void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / elem) {
		x->oom = true;
		return false;
	}
	void *p = realloc(*arr, ncap * elem);
	if (!p) {
		x->oom = true;
		return false;
	}
	*arr = p;
	*cap = ncap;
	return true;
}

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static void
note(xctx *x, size_t ci, gt_time_us t, gt_anomaly_kind kind, const char *fmt, ...)
{
	if (!grow(x, (void **)&x->an, &x->cap_an, x->nan, sizeof *x->an))
		return;
	gt_anomaly *a = &x->an[x->nan++];
	*a = (gt_anomaly){.conn = x->conns[ci].flow, .t_us = t, .kind = kind};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->text, sizeof a->text, fmt, ap);
	va_end(ap);
}

static void push_out(xctx *x, size_t ci, int side, size_t rec, uint8_t phase, const gt_event *ev)
{
	if (!grow(x, (void **)&x->out, &x->cap_out, x->nout, sizeof *x->out))
		return;
	x->out[x->nout++] = (xout){.rec = rec,
	                           .phase = phase,
	                           .serial = x->serial++,
	                           .conn = ci,
	                           .side = (uint8_t)side,
	                           .ev = *ev};
}

/* Moves side to state `to`, logged at (rec, phase) with time t. A side seen
 * for the first time starts from LISTEN when it answers a SYN, else from
 * CLOSED. */
static void go(xctx *x, size_t ci, int side, size_t rec, uint8_t phase, gt_time_us t,
               gt_tcp_state to, const char *cause, bool inferred)
{
	xside *me = &x->conns[ci].s[side];
	gt_tcp_state from =
	    me->known ? me->st : (to == GT_TCP_SYN_RECEIVED ? GT_TCP_LISTEN : GT_TCP_CLOSED);
	me->known = true;
	me->st = to;
	if (to == GT_TCP_TIME_WAIT)
		me->tw_deadline = t + x->time_wait_us;
	if (from == to)
		return;
	gt_event ev = {.kind = GT_EV_STATE,
	               .t_us = t,
	               .has_conn = true,
	               .from = from,
	               .to = to,
	               .cause = cause,
	               .inferred = inferred};
	push_out(x, ci, side, rec, phase, &ev);
	if (!me->any_event || rec > me->last_rec)
		me->last_rec = rec;
	me->any_event = true;
}

/* ---- receiving: the peer's segment q takes effect at side ---- */

static bool acks_syn(const xside *me, const xpkt *q)
{
	return (q->flags & GT_TCP_ACK) && me->isn_known && seq_gt(q->ack, me->isn);
}

static bool acks_fin(const xside *me, const xpkt *q)
{
	return (q->flags & GT_TCP_ACK) && me->fin_sent && seq_gt(q->ack, me->fin_seq);
}

static bool synchronized(gt_tcp_state s)
{
	return s == GT_TCP_ESTABLISHED || s == GT_TCP_FIN_WAIT_1 || s == GT_TCP_FIN_WAIT_2 ||
	       s == GT_TCP_CLOSE_WAIT || s == GT_TCP_CLOSING || s == GT_TCP_LAST_ACK;
}

/* The peer's segment q arrives at side. p is the side's packet that shows it
 * (NULL when nothing does: the change is inferred). The rules are RFC 9293
 * §3.10.7.3 (SYN-SENT) and §3.10.7.4 (the other states), in the order the
 * steps run there: RST, SYN, ACK, FIN. */
static void apply_rx(xctx *x, size_t ci, int side, const xpkt *q, const xpkt *p, bool inferred)
{
	xside *me = &x->conns[ci].s[side];
	/* dated at the segment's capture, but never before this side's own
	 * latest packet or change */
	size_t rec = q->rec;
	if (me->any_event && me->last_rec > rec)
		rec = me->last_rec;
	gt_time_us t = rec == q->rec ? q->t : x->rec_t[rec];
	const bool ack = q->flags & GT_TCP_ACK;
	const bool a_syn = acks_syn(me, q), a_fin = acks_fin(me, q);
#define GO(to, cause) go(x, ci, side, rec, 2, t, to, cause, inferred)

	if (q->flags & GT_TCP_RST) {
		if (!me->known)
			return;
		switch (me->st) {
		case GT_TCP_SYN_SENT:
			/* §3.10.7.3 second, with RFC 5961 §3.2: only with an
			 * acceptable ACK (the refused connect) */
			if (ack && a_syn)
				GO(GT_TCP_CLOSED, "rcv RST");
			break;
		case GT_TCP_SYN_RECEIVED:
			/* §3.10.7.4 second: a passive open returns to LISTEN */
			GO(me->passive ? GT_TCP_LISTEN : GT_TCP_CLOSED, "rcv RST");
			break;
		case GT_TCP_TIME_WAIT:
			/* RFC 1337 §3 (as glasstcp): an RST in TIME_WAIT is ignored */
			break;
		default:
			if (synchronized(me->st))
				GO(GT_TCP_CLOSED, "rcv RST");
			break;
		}
		return;
	}

	if (q->flags & GT_TCP_SYN) {
		bool first = !me->peer_syn_rcvd;
		me->peer_syn_rcvd = true;
		if (!me->known) {
			/* a SYN to a side that had said nothing: a listener, when
			 * it answers with SYN,ACK (LISTEN itself is implied) */
			if (first && p && (p->flags & GT_TCP_SYN) && (p->flags & GT_TCP_ACK) &&
			    !(p->flags & GT_TCP_RST)) {
				me->passive = true;
				GO(GT_TCP_SYN_RECEIVED, "rcv SYN");
			}
			return;
		}
		if (me->st == GT_TCP_SYN_SENT) {
			if (!ack) {
				/* §3.10.7.3 fourth: simultaneous open */
				GO(GT_TCP_SYN_RECEIVED, "rcv SYN (simultaneous open)");
				return;
			}
			if (!a_syn)
				return;
			me->syn_acked = true;
			GO(GT_TCP_ESTABLISHED, "rcv SYN,ACK");
		} else if (me->st == GT_TCP_SYN_RECEIVED && a_syn) {
			/* simultaneous open: the peer's SYN,ACK repeats its SYN and
			 * acknowledges ours */
			me->syn_acked = true;
			GO(GT_TCP_ESTABLISHED, "rcv ACK of SYN");
		} else {
			return;
		}
	} else if (ack && me->known) {
		/* §3.10.7.4 fifth: the ACK field */
		if (a_syn && me->st == GT_TCP_SYN_RECEIVED) {
			me->syn_acked = true;
			GO(GT_TCP_ESTABLISHED, "rcv ACK of SYN");
		}
		if (a_syn)
			me->syn_acked = true;
		if (a_fin) {
			me->fin_ack_rcvd = true;
			if (me->st == GT_TCP_FIN_WAIT_1)
				GO(GT_TCP_FIN_WAIT_2, "rcv ACK of FIN");
			else if (me->st == GT_TCP_CLOSING)
				GO(GT_TCP_TIME_WAIT, "rcv ACK of FIN");
			else if (me->st == GT_TCP_LAST_ACK)
				GO(GT_TCP_CLOSED, "rcv ACK of FIN");
		}
	}

	/* §3.10.7.4 eighth: the FIN bit */
	if ((q->flags & GT_TCP_FIN) && me->known) {
		if (!me->peer_fin_rcvd) {
			me->peer_fin_rcvd = true;
			if (me->st == GT_TCP_SYN_RECEIVED || me->st == GT_TCP_ESTABLISHED)
				GO(GT_TCP_CLOSE_WAIT, "rcv FIN");
			else if (me->st == GT_TCP_FIN_WAIT_1)
				GO(GT_TCP_CLOSING, "rcv FIN");
			else if (me->st == GT_TCP_FIN_WAIT_2)
				GO(GT_TCP_TIME_WAIT, "rcv FIN");
		} else if (me->st == GT_TCP_TIME_WAIT) {
			/* a repeated FIN restarts the 2 MSL timeout */
			me->tw_deadline = t + x->time_wait_us;
		}
	}
#undef GO
}

typedef enum verdict { V_KEEP, V_RECV, V_DROP } verdict;

/* Had side received the peer's pending segment q when it sent p? margin: how
 * far apart two packets may be captured and still cross on the wire. */
static verdict judge(const xside *me, const xpkt *q, const xpkt *p, gt_time_us margin)
{
	if (q->flags & GT_TCP_RST) {
		/* the side goes on long after the RST: it was not taken (lost,
		 * or out of the window) */
		if (!(p->flags & GT_TCP_RST) && p->t > q->t + margin)
			return V_DROP;
		return V_KEEP;
	}
	/* p repeats the SYN or FIN that q acknowledges: q had not arrived */
	bool repeats = (acks_syn(me, q) && (p->flags & GT_TCP_SYN)) ||
	               (acks_fin(me, q) && (p->flags & GT_TCP_FIN));
	if (q->flags & (GT_TCP_SYN | GT_TCP_FIN)) {
		/* decided by p's ACK field: it covers what it has received */
		if (!(p->flags & GT_TCP_ACK))
			return V_KEEP;
		if ((q->flags & GT_TCP_SYN) && !seq_gt(p->ack, q->seq))
			return V_KEEP;
		uint32_t fin = q->seq + ((q->flags & GT_TCP_SYN) ? 1u : 0u) + q->len;
		if ((q->flags & GT_TCP_FIN) && !seq_gt(p->ack, fin))
			return V_KEEP;
		return repeats ? V_KEEP : V_RECV;
	}
	if (repeats)
		return p->t > q->t + margin ? V_DROP : V_KEEP;
	return V_RECV;
}

/* Before side sends p: the pending segments p shows it had received take
 * effect, in capture order. Of several copies of one SYN or FIN only the last
 * one before p counts (the earlier ones were lost). */
static void take_in(xctx *x, size_t ci, int side, const xpkt *p)
{
	xconn *c = &x->conns[ci];
	xside *me = &c->s[side];
	if (!me->npend)
		return;
	verdict local[16];
	verdict *v = me->npend <= 16 ? local : malloc(me->npend * sizeof *v);
	if (!v) {
		x->oom = true;
		return;
	}
	size_t last_syn = SIZE_MAX, last_fin = SIZE_MAX;
	for (size_t i = 0; i < me->npend; i++) {
		v[i] = judge(me, &me->pend[i], p, c->margin);
		if (v[i] != V_RECV)
			continue;
		if (me->pend[i].flags & GT_TCP_SYN)
			last_syn = i;
		else if (me->pend[i].flags & GT_TCP_FIN)
			last_fin = i;
	}
	for (size_t i = 0; i < me->npend; i++) {
		if (v[i] != V_RECV)
			continue;
		if ((me->pend[i].flags & GT_TCP_SYN) && i != last_syn)
			v[i] = V_DROP;
		else if (!(me->pend[i].flags & GT_TCP_SYN) && (me->pend[i].flags & GT_TCP_FIN) &&
		         i != last_fin)
			v[i] = V_DROP;
	}
	size_t keep = 0;
	for (size_t i = 0; i < me->npend; i++) {
		xpkt q = me->pend[i];
		if (v[i] == V_RECV)
			apply_rx(x, ci, side, &q, p, false);
		else if (v[i] == V_KEEP)
			me->pend[keep++] = q;
	}
	me->npend = keep;
	if (v != local)
		free(v);
}

/* Does q matter to side's state? */
static bool matters(const xside *me, const xpkt *q)
{
	if (q->flags & (GT_TCP_SYN | GT_TCP_FIN | GT_TCP_RST))
		return true;
	return (acks_syn(me, q) && !me->syn_acked) || (acks_fin(me, q) && !me->fin_ack_rcvd);
}

static void add_pending(xctx *x, xside *me, const xpkt *q)
{
	if (!matters(me, q))
		return;
	if (!(q->flags & (GT_TCP_SYN | GT_TCP_FIN | GT_TCP_RST))) {
		size_t acks = 0, last = 0;
		for (size_t i = 0; i < me->npend; i++) {
			if (!(me->pend[i].flags & (GT_TCP_SYN | GT_TCP_FIN | GT_TCP_RST))) {
				acks++;
				last = i;
			}
		}
		if (acks >= MAX_PENDING_ACKS) {
			me->pend[last] = *q;
			return;
		}
	}
	if (!grow(x, (void **)&me->pend, &me->cap_pend, me->npend, sizeof *me->pend))
		return;
	me->pend[me->npend++] = *q;
}

/* ---- sending: what p shows about its sender ---- */

static uint32_t seg_span(const xpkt *p)
{
	return p->len + ((p->flags & GT_TCP_SYN) ? 1u : 0u) + ((p->flags & GT_TCP_FIN) ? 1u : 0u);
}

/* When the data at sequence number seq was first sent (binary search over the
 * starts of new data). */
static bool first_sent(const xside *me, uint32_t seq, gt_time_us *t)
{
	uint32_t rel = seq - me->base;
	size_t lo = 0, hi = me->nsent;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (me->sent[mid].rel <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	*t = me->sent[lo - 1].t;
	return true;
}

static void rexmit_note(xctx *x, size_t ci, int side, const xpkt *p, const char *what,
                        bool have_first, gt_time_us t_first, const char *why)
{
	xconn *c = &x->conns[ci];
	c->rexmits++;
	if (c->rexmit_notes >= MAX_NOTES_PER_KIND)
		return;
	c->rexmit_notes++;
	char d[24];
	if (have_first && p->t >= t_first)
		note(x, ci, p->t, GT_ANOMALY_RETRANSMISSION,
		     "%s sent %s again, %s after the first copy: %s.", c->s[side].host, what,
		     gt_svg_duration(p->t - t_first, d), why);
	else
		note(x, ci, p->t, GT_ANOMALY_RETRANSMISSION, "%s sent %s again: %s.",
		     c->s[side].host, what, why);
}

/* Retransmissions and holes in what the side sent. */
static void track_send(xctx *x, size_t ci, int side, xpkt *p)
{
	xconn *c = &x->conns[ci];
	xside *me = &c->s[side];
	const uint8_t f = p->flags;
	if (f & GT_TCP_RST)
		return; /* an RST's sequence number need not follow the stream */
	const uint32_t span = seg_span(p);
	if (f & GT_TCP_SYN) {
		bool synack = f & GT_TCP_ACK;
		bool again = synack ? me->sent_synack : me->sent_syn;
		if (again && p->seq == me->isn) {
			p->rexmit = true;
			rexmit_note(x, ci, side, p, synack ? "its SYN-ACK" : "its SYN", true,
			            synack ? me->t_synack : me->t_syn,
			            synack
			                ? "the handshake's last ACK had not come back (it, or the "
			                  "SYN-ACK, was lost, or the SYN came again)"
			                : "no answer had come back, so the SYN or the answer to it "
			                  "was lost");
		}
		if (synack && !me->sent_synack) {
			me->sent_synack = true;
			me->t_synack = p->t;
		} else if (!synack && !me->sent_syn) {
			me->sent_syn = true;
			me->t_syn = p->t;
		}
		if (!me->snd_valid) {
			me->snd_valid = true;
			me->snd_max = p->seq + span;
			me->base = p->seq + 1;
		}
		return;
	}
	if (!me->snd_valid) {
		me->snd_valid = true;
		me->snd_max = p->seq + span;
		me->base = p->seq;
		if (p->len &&
		    grow(x, (void **)&me->sent, &me->cap_sent, me->nsent, sizeof *me->sent))
			me->sent[me->nsent++] = (sent_mark){0, p->t};
		return;
	}
	if (span && seq_lt(p->seq, me->snd_max)) {
		p->rexmit = true;
		char what[80];
		gt_time_us t0 = 0;
		bool have = false;
		if (p->len == 0 && (f & GT_TCP_FIN)) {
			snprintf(what, sizeof what, "its FIN");
			have = me->fin_sent;
			t0 = me->t_fin;
		} else {
			snprintf(what, sizeof what, "bytes %" PRIu32 "..%" PRIu32 "%s",
			         p->seq - me->base, p->seq - me->base + p->len,
			         (f & GT_TCP_FIN) ? " and its FIN" : "");
			have = first_sent(me, p->seq, &t0);
		}
		rexmit_note(x, ci, side, p, what, have, t0,
		            "the first copy or its ACK was lost (or delayed), so the sender's "
		            "timer or duplicate ACKs made it send again");
	} else if (seq_gt(p->seq, me->snd_max)) {
		c->gaps++;
		if (c->gap_notes < MAX_NOTES_PER_KIND) {
			c->gap_notes++;
			note(
			    x, ci, p->t, GT_ANOMALY_GAP,
			    "%s sent from byte %" PRIu32 " but the capture never saw bytes %" PRIu32
			    "..%" PRIu32 ": they were lost before the capture point or not "
			    "captured.",
			    me->host, p->seq - me->base, me->snd_max - me->base, p->seq - me->base);
		}
	}
	if (seq_gt(p->seq + span, me->snd_max)) {
		if (p->len &&
		    grow(x, (void **)&me->sent, &me->cap_sent, me->nsent, sizeof *me->sent)) {
			uint32_t from = seq_gt(p->seq, me->snd_max) ? p->seq : me->snd_max;
			me->sent[me->nsent++] = (sent_mark){from - me->base, p->t};
		}
		me->snd_max = p->seq + span;
	}
}

/* The state changes p shows its sender made (RFC 9293 §3.10.1 OPEN, §3.10.4
 * CLOSE, §3.10.5 ABORT), and the ones it must have made on receipt that the
 * capture did not show (the segment that caused them was not captured). */
static void apply_tx(xctx *x, size_t ci, int side, const xpkt *p)
{
	xconn *c = &x->conns[ci];
	xside *me = &c->s[side], *peer = &c->s[1 - side];
	const uint8_t f = p->flags;
#define SEND(to, cause) go(x, ci, side, p->rec, 0, p->t, to, cause, false)

	if (f & GT_TCP_RST) {
		char st[24];
		if (!me->known) {
			if (peer->known && peer->st == GT_TCP_SYN_SENT) {
				note(x, ci, p->t, GT_ANOMALY_REFUSED,
				     "%s answered the SYN with RST: nothing listens on port %u "
				     "there, so "
				     "the connect() of %s fails with ECONNREFUSED (connection "
				     "refused).",
				     me->host, (unsigned)me->port, peer->host);
			} else if (peer->known && synchronized(peer->st)) {
				note(x, ci, p->t, GT_ANOMALY_HALF_OPEN,
				     "%s answered with RST: it has no connection for these ports "
				     "while "
				     "%s still uses one (half-open, e.g. after a restart).",
				     me->host, peer->host);
			}
			return;
		}
		snprintf(st, sizeof st, "%s", gt_tcp_state_name(me->st));
		if (synchronized(me->st) || me->st == GT_TCP_SYN_RECEIVED) {
			note(x, ci, p->t, GT_ANOMALY_RST,
			     "%s reset the connection (RST) in %s: it ends at once, data still in "
			     "flight is discarded and %s's next call fails with ECONNRESET.",
			     me->host, st, peer->host);
			SEND(GT_TCP_CLOSED, "snd RST");
		} else if (me->st == GT_TCP_CLOSED && peer->known && synchronized(peer->st)) {
			note(x, ci, p->t, GT_ANOMALY_HALF_OPEN,
			     "%s had already closed the connection and answered %s's segment with "
			     "RST: %s was still using a connection the other end had dropped "
			     "(half-open).",
			     me->host, peer->host, peer->host);
		}
		return;
	}
	if (f & GT_TCP_SYN) {
		if (!me->isn_known) {
			me->isn_known = true;
			me->isn = p->seq;
		}
		if (!(f & GT_TCP_ACK)) {
			if (!me->known || me->st == GT_TCP_CLOSED)
				SEND(GT_TCP_SYN_SENT, "snd SYN");
		} else if (!me->known) {
			/* the SYN it answers was not captured */
			me->passive = true;
			me->peer_syn_rcvd = true;
			SEND(GT_TCP_SYN_RECEIVED, "rcv SYN");
		} else if (me->st == GT_TCP_SYN_SENT) {
			me->peer_syn_rcvd = true;
			SEND(GT_TCP_SYN_RECEIVED, "rcv SYN (simultaneous open)");
		}
		return;
	}
	if (me->known && (f & GT_TCP_ACK)) {
		/* an ordinary segment from a side still opening: the segment
		 * that completed its handshake was not captured */
		if (me->st == GT_TCP_SYN_SENT && peer->isn_known && seq_gt(p->ack, peer->isn)) {
			me->peer_syn_rcvd = me->syn_acked = true;
			SEND(GT_TCP_ESTABLISHED, "rcv SYN,ACK");
		} else if (me->st == GT_TCP_SYN_RECEIVED) {
			me->syn_acked = true;
			SEND(GT_TCP_ESTABLISHED, "rcv ACK of SYN");
		}
	}
	if ((f & GT_TCP_FIN) && !me->fin_sent) {
		me->fin_sent = true;
		me->fin_seq = p->seq + p->len;
		me->t_fin = p->t;
		if (me->known && (me->st == GT_TCP_ESTABLISHED || me->st == GT_TCP_SYN_RECEIVED))
			SEND(GT_TCP_FIN_WAIT_1, "close()");
		else if (me->known && me->st == GT_TCP_CLOSE_WAIT)
			SEND(GT_TCP_LAST_ACK, "close()");
	}
#undef SEND
}

static void track_window(xctx *x, size_t ci, int side, const xpkt *p)
{
	xconn *c = &x->conns[ci];
	xside *me = &c->s[side];
	if (p->flags & (GT_TCP_RST | GT_TCP_SYN))
		return;
	if (p->win == 0 && !me->zero_win) {
		me->zero_win = true;
		me->zero_win_start = p->t;
	} else if (p->win != 0 && me->zero_win) {
		me->zero_win = false;
		char d[24];
		note(x, ci, me->zero_win_start, GT_ANOMALY_ZERO_WINDOW,
		     "%s advertised a zero receive window for %s: its buffer was full (the "
		     "application was not reading), so %s had to stop sending and probe until "
		     "it reopened.",
		     me->host, gt_svg_duration(p->t - me->zero_win_start, d), c->s[1 - side].host);
	}
}

static void track_handshake(xconn *c, int side, const xpkt *p)
{
	const uint8_t f = p->flags & (GT_TCP_SYN | GT_TCP_ACK | GT_TCP_RST);
	if (side == 0 && f == GT_TCP_SYN && !c->have_synack) {
		c->hs_syn = p->t;
		c->have_syn = true;
	} else if (side == 1 && f == (GT_TCP_SYN | GT_TCP_ACK) && c->have_syn && !c->have_ack) {
		c->hs_synack = p->t;
		c->have_synack = true;
	} else if (side == 0 && f == GT_TCP_ACK && c->have_synack && !c->have_ack &&
	           c->s[1].isn_known && seq_gt(p->ack, c->s[1].isn)) {
		c->hs_ack = p->t;
		c->have_ack = true;
		c->handshake_seen = true;
		if (c->hs_ack >= c->hs_syn)
			c->margin = c->hs_ack - c->hs_syn;
	}
	/* simultaneous open: no round trip to measure; the time between a SYN
	 * and the other side's SYN,ACK bounds how long packets took */
	if (!c->handshake_seen && !c->margin && (f == (GT_TCP_SYN | GT_TCP_ACK)) &&
	    c->s[0].sent_syn && c->s[1].sent_syn && p->t >= c->s[1 - side].t_syn)
		c->margin = p->t - c->s[1 - side].t_syn;
}

/* ---- the connection table ---- */

static uint64_t ep_key(uint32_t addr, uint16_t port)
{
	return ((uint64_t)addr << 16) | port;
}

static size_t slot_hash(uint64_t a, uint64_t b, size_t nslots)
{
	uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
	uint64_t h = lo * 0x9E3779B97F4A7C15ull ^ (hi + 0x632BE59BD9B4E019ull + (lo << 6));
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 32;
	return (size_t)(h & (nslots - 1));
}

static bool conn_is(const xconn *c, uint64_t a, uint64_t b)
{
	uint64_t l = ep_key(c->s[0].addr, c->s[0].port), r = ep_key(c->s[1].addr, c->s[1].port);
	return (l == a && r == b) || (l == b && r == a);
}

/* The slot holding the latest connection between a and b, or the empty slot
 * where it would go. */
static size_t find_slot(const xctx *x, uint64_t a, uint64_t b)
{
	size_t i = slot_hash(a, b, x->nslots);
	while (x->slots[i] && !conn_is(&x->conns[x->slots[i] - 1], a, b))
		i = (i + 1) & (x->nslots - 1);
	return i;
}

static bool rehash(xctx *x)
{
	size_t n = x->nslots ? x->nslots * 2 : 1024;
	size_t *old = x->slots, nold = x->nslots;
	x->slots = calloc(n, sizeof *x->slots);
	if (!x->slots) {
		x->slots = old;
		x->oom = true;
		return false;
	}
	x->nslots = n;
	for (size_t i = 0; i < nold; i++) {
		if (!old[i])
			continue;
		const xconn *c = &x->conns[old[i] - 1];
		size_t j = find_slot(x, ep_key(c->s[0].addr, c->s[0].port),
		                     ep_key(c->s[1].addr, c->s[1].port));
		x->slots[j] = old[i];
	}
	free(old);
	return true;
}

static void init_side(xside *s, uint32_t addr, uint16_t port)
{
	memset(s, 0, sizeof *s);
	s->addr = addr;
	s->port = port;
	char ip[16];
	snprintf(s->host, sizeof s->host, "%s:%u", gt_ipv4_str(addr, ip), (unsigned)port);
}

/* When the capture point is next to one end, that end's packets follow what
 * it receives at once: the SYN -> SYN,ACK delay is a whole round trip seen
 * from the client's side, the SYN,ACK -> ACK delay seen from the server's. */
static int near_side_of(const xconn *c)
{
	if (!c->handshake_seen)
		return -1;
	gt_time_us d1 = c->hs_synack - c->hs_syn, d2 = c->hs_ack - c->hs_synack;
	if (d1 > 4 * d2 && d1 > 0)
		return 0;
	if (d2 > 4 * d1 && d2 > 0)
		return 1;
	return -1;
}

/* The last TCP packet captured at or before t (for placing timeouts). */
static size_t rec_at(const xctx *x, gt_time_us t)
{
	size_t lo = 0, hi = x->nrec;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x->rec_t[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

/* The end of the capture, or a new connection on the same ports (reuse:
 * at packet rec, time t): what is still pending is taken as received when it
 * is an ACK or an RST (inferred), and the anomalies still open are noted. */
static void finish_conn(xctx *x, size_t ci, bool reuse, size_t rec, gt_time_us t)
{
	xconn *c = &x->conns[ci];
	if (c->finished)
		return;
	c->finished = true;
	for (int side = 0; side < 2; side++) {
		xside *me = &c->s[side];
		for (size_t i = 0; i < me->npend; i++) {
			xpkt q = me->pend[i];
			/* a SYN or FIN nobody acknowledged may never have arrived */
			if (q.flags & (GT_TCP_SYN | GT_TCP_FIN))
				continue;
			apply_rx(x, ci, side, &q, NULL, true);
		}
		me->npend = 0;
	}
	for (int side = 0; side < 2; side++) {
		xside *me = &c->s[side], *peer = &c->s[1 - side];
		char d[24];
		if (me->known && me->st == GT_TCP_TIME_WAIT) {
			gt_time_us end = me->tw_deadline;
			if (reuse && t < end) {
				size_t r = rec;
				if (me->any_event && me->last_rec > r)
					r = me->last_rec;
				go(x, ci, side, r, 0, t, GT_TCP_CLOSED, "new SYN on the same ports",
				   true);
			} else if ((reuse && end <= t) || x->t_end >= end) {
				size_t r = rec_at(x, end);
				if (me->any_event && me->last_rec > r)
					r = me->last_rec;
				go(x, ci, side, r, 3, end, GT_TCP_CLOSED, "2MSL timeout", true);
			} else {
				gt_time_us entered = end - x->time_wait_us;
				note(
				    x, ci, x->t_end, GT_ANOMALY_TIME_WAIT,
				    "%s never left TIME_WAIT within the capture: the capture ended "
				    "%s after it entered it, and TIME_WAIT lasts 2*MSL (%s) so "
				    "that "
				    "late duplicates of this connection die out first.",
				    me->host,
				    gt_svg_duration(x->t_end >= entered ? x->t_end - entered : 0,
				                    d),
				    gt_svg_duration(x->time_wait_us, (char[24]){0}));
			}
		}
		if (me->fin_sent && !me->fin_acked_seen) {
			note(
			    x, ci, me->t_fin, GT_ANOMALY_FIN_UNACKED,
			    "%s's FIN was never acknowledged within the capture: %s did not get it "
			    "(lost) or its ACK was not captured, so %s cannot finish closing.",
			    me->host, peer->host, me->host);
		}
		if (me->zero_win) {
			note(x, ci, me->zero_win_start, GT_ANOMALY_ZERO_WINDOW,
			     "%s advertised a zero receive window until the end of the capture "
			     "(%s): "
			     "its buffer is full, so %s cannot send (a zero-window stall).",
			     me->host,
			     gt_svg_duration(
			         x->t_end >= me->zero_win_start ? x->t_end - me->zero_win_start : 0,
			         d),
			     peer->host);
		}
	}
	if (c->rexmits > c->rexmit_notes) {
		note(x, ci, x->t_end, GT_ANOMALY_RETRANSMISSION,
		     "... and %" PRIu64 " more retransmissions (%" PRIu64
		     " in all on this connection): a lossy or congested path.",
		     c->rexmits - c->rexmit_notes, c->rexmits);
	}
	if (c->gaps > c->gap_notes) {
		note(x, ci, x->t_end, GT_ANOMALY_GAP,
		     "... and %" PRIu64 " more gaps (%" PRIu64 " in all): the capture missed "
		     "packets.",
		     c->gaps - c->gap_notes, c->gaps);
	}
	c->near = near_side_of(c);
}

static size_t new_conn(xctx *x, size_t slot, const xseg *s, const xpkt *p)
{
	if (!grow(x, (void **)&x->conns, &x->cap_conns, x->nconns, sizeof *x->conns))
		return SIZE_MAX;
	size_t ci = x->nconns++;
	xconn *c = &x->conns[ci];
	memset(c, 0, sizeof *c);
	c->near = -1;
	/* left: the sender of the first packet (flow.h: the first SYN's sender,
	 * else the first sender) */
	init_side(&c->s[0], s->src, s->sport);
	init_side(&c->s[1], s->dst, s->dport);
	if (x->slots[slot]) {
		c->flow = x->conns[x->slots[slot] - 1].flow;
	} else {
		x->used_slots++;
		c->flow = x->nflows++;
	}
	x->slots[slot] = ci + 1;

	const uint8_t f = p->flags & (GT_TCP_SYN | GT_TCP_ACK | GT_TCP_RST);
	if (f == GT_TCP_SYN)
		return ci;
	if (f == (GT_TCP_SYN | GT_TCP_ACK)) {
		/* the SYN was not captured: its sender must be in SYN_SENT */
		c->s[1].known = true;
		c->s[1].st = GT_TCP_SYN_SENT;
		c->s[1].isn_known = true;
		c->s[1].isn = p->ack - 1;
		c->s[1].sent_syn = true;
		note(x, ci, p->t, GT_ANOMALY_NO_HANDSHAKE,
		     "The capture starts after %s's SYN: it is taken to have been in SYN_SENT.",
		     c->s[1].host);
		return ci;
	}
	if (f & GT_TCP_RST) {
		/* an RST first: nothing says either end had a connection */
		note(x, ci, p->t, GT_ANOMALY_NO_HANDSHAKE,
		     "%s sent RST on ports the capture had shown no connection on: it answers "
		     "something sent before the capture, or to a port with no connection.",
		     c->s[0].host);
		return ci;
	}
	/* the capture starts mid-connection: both ends taken as ESTABLISHED */
	for (int side = 0; side < 2; side++) {
		xside *me = &c->s[side];
		me->known = true;
		me->st = GT_TCP_ESTABLISHED;
		me->peer_syn_rcvd = me->syn_acked = true;
	}
	note(x, ci, p->t, GT_ANOMALY_NO_HANDSHAKE,
	     "The capture starts in the middle of this connection (its first packet is not a "
	     "SYN): the handshake and the early states are unknown, both ends are taken as "
	     "ESTABLISHED from there.");
	return ci;
}

/* RFC 7323 §2.2/§2.3: the window a side sends is scaled by the shift in its
 * own SYN, only if both SYNs carried the option, and never on a SYN. Without
 * both SYNs in the capture the scale is unknown and the field is taken as is. */
static uint8_t window_shift(const xconn *c, int side, uint8_t flags)
{
	const xside *me = &c->s[side], *peer = &c->s[1 - side];
	if ((flags & GT_TCP_SYN) || !me->syn_opts_seen || !peer->syn_opts_seen || !me->ws_offered ||
	    !peer->ws_offered)
		return 0;
	return me->ws_shift;
}

static void process(xctx *x, const xseg *s, gt_time_us t)
{
	if (!grow(x, (void **)&x->rec_t, &x->cap_rec, x->nrec, sizeof *x->rec_t))
		return;
	size_t rec = x->nrec;
	x->rec_t[x->nrec++] = t;
	xpkt p = {.t = t,
	          .rec = rec,
	          .seq = s->seq,
	          .ack = s->ack,
	          .len = s->len,
	          .win = s->win,
	          .mss = s->mss,
	          .flags = s->flags};

	if (2 * (x->used_slots + 1) > x->nslots && !rehash(x))
		return;
	uint64_t a = ep_key(s->src, s->sport), b = ep_key(s->dst, s->dport);
	size_t slot = find_slot(x, a, b);
	size_t ci;
	if (x->slots[slot]) {
		ci = x->slots[slot] - 1;
		const xconn *c = &x->conns[ci];
		int side = ep_key(c->s[0].addr, c->s[0].port) == a ? 0 : 1;
		const xside *me = &c->s[side];
		/* a new SYN with another ISN: the ports are reused by a new
		 * connection (RFC 9293 §3.10.7.4 / RFC 6191 for TIME_WAIT) */
		if ((p.flags & (GT_TCP_SYN | GT_TCP_ACK | GT_TCP_RST)) == GT_TCP_SYN &&
		    me->isn_known && me->isn != p.seq) {
			finish_conn(x, ci, true, rec, t);
			ci = new_conn(x, slot, s, &p);
		}
	} else {
		ci = new_conn(x, slot, s, &p);
	}
	if (ci == SIZE_MAX || x->oom)
		return;
	xconn *c = &x->conns[ci];
	int side = ep_key(c->s[0].addr, c->s[0].port) == a ? 0 : 1;
	xside *me = &c->s[side], *peer = &c->s[1 - side];

	track_send(x, ci, side, &p);
	track_handshake(c, side, &p);
	take_in(x, ci, side, &p);
	apply_tx(x, ci, side, &p);
	track_window(x, ci, side, &p);
	if ((p.flags & GT_TCP_ACK) && !(p.flags & GT_TCP_RST) && peer->snd_valid &&
	    seq_gt(p.ack, peer->snd_max)) {
		c->gaps++;
		if (c->gap_notes < MAX_NOTES_PER_KIND) {
			c->gap_notes++;
			note(x, ci, t, GT_ANOMALY_GAP,
			     "%s acknowledged %s's bytes up to %" PRIu32
			     " but the capture saw only "
			     "up to %" PRIu32 ": the rest was not captured.",
			     me->host, peer->host, p.ack - peer->base, peer->snd_max - peer->base);
		}
		peer->snd_max = p.ack; /* noted once */
	}
	if ((p.flags & GT_TCP_ACK) && peer->fin_sent && seq_gt(p.ack, peer->fin_seq))
		peer->fin_acked_seen = true;

	if ((p.flags & GT_TCP_SYN) && s->opts_known) {
		me->syn_opts_seen = true;
		me->ws_offered = s->has_wscale;
		me->ws_shift = s->wscale;
	}
	gt_event ev = {.kind = GT_EV_TX,
	               .t_us = t,
	               .has_conn = true,
	               .has_seg = true,
	               .seg = {.seq = p.seq,
	                       .ack = p.ack,
	                       .len = p.len,
	                       .win = p.win,
	                       .wnd = (uint32_t)p.win << window_shift(c, side, p.flags),
	                       .flags = p.flags,
	                       .rexmit = p.rexmit,
	                       .mss = p.mss}};
	push_out(x, ci, side, rec, 1, &ev);
	if (!me->any_event || rec > me->last_rec)
		me->last_rec = rec;
	me->any_event = true;
	add_pending(x, peer, &p);
}

/* ---- the result ---- */

static int cmp_out(const void *a, const void *b)
{
	const xout *x = a, *y = b;
	if (x->rec != y->rec)
		return x->rec < y->rec ? -1 : 1;
	if (x->phase != y->phase)
		return x->phase < y->phase ? -1 : 1;
	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

typedef struct an_sort {
	gt_anomaly a;
	size_t order;
} an_sort;

static int cmp_an(const void *a, const void *b)
{
	const an_sort *x = a, *y = b;
	if (x->a.conn != y->a.conn)
		return x->a.conn < y->a.conn ? -1 : 1;
	if (x->a.t_us != y->a.t_us)
		return x->a.t_us < y->a.t_us ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int build_result(xctx *x, gt_explain *out)
{
	out->log = gt_trace_log_new();
	if (!out->log)
		return -ENOMEM;
	if (x->nout)
		qsort(x->out, x->nout, sizeof *x->out, cmp_out);
	for (size_t i = 0; i < x->nout; i++) {
		xout *o = &x->out[i];
		const xconn *c = &x->conns[o->conn];
		const xside *me = &c->s[o->side], *peer = &c->s[1 - o->side];
		o->ev.host = me->host;
		o->ev.conn = (gt_conn_tuple){.local_addr = me->addr,
		                             .remote_addr = peer->addr,
		                             .local_port = me->port,
		                             .remote_port = peer->port};
		gt_trace_log_record(out->log, &o->ev);
	}
	if (gt_trace_log_dropped(out->log))
		return -ENOMEM;
	out->n_conns = x->nflows;
	if (x->nflows) {
		out->near_side = malloc(x->nflows * sizeof *out->near_side);
		if (!out->near_side)
			return -ENOMEM;
		for (size_t i = 0; i < x->nflows; i++)
			out->near_side[i] = -1;
		/* ports reused: the first incarnation that shows it tells */
		for (size_t i = 0; i < x->nconns; i++)
			if (out->near_side[x->conns[i].flow] < 0)
				out->near_side[x->conns[i].flow] = x->conns[i].near;
	}
	if (x->nan) {
		an_sort *s = malloc(x->nan * sizeof *s);
		out->anomalies = malloc(x->nan * sizeof *out->anomalies);
		if (!s || !out->anomalies) {
			free(s);
			return -ENOMEM;
		}
		for (size_t i = 0; i < x->nan; i++)
			s[i] = (an_sort){x->an[i], i};
		qsort(s, x->nan, sizeof *s, cmp_an);
		for (size_t i = 0; i < x->nan; i++)
			out->anomalies[i] = s[i].a;
		out->n_anomalies = x->nan;
		free(s);
	}
	return 0;
}

static void free_ctx(xctx *x)
{
	for (size_t i = 0; i < x->nconns; i++) {
		for (int side = 0; side < 2; side++) {
			free(x->conns[i].s[side].pend);
			free(x->conns[i].s[side].sent);
		}
	}
	free(x->conns);
	free(x->slots);
	free(x->out);
	free(x->an);
	free(x->rec_t);
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	/* one line, whatever libpcap said */
	for (char *p = err; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

/* Opens path for libpcap, with the reasons a file is unusable spelled out. */
static int open_capture(const char *path, pcap_t **out, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		int e = errno;
		set_err(err, errlen, "%s: %s", path, strerror(e));
		return e == ENOENT ? -ENOENT : e == ENOMEM ? -ENOMEM : -EIO;
	}
	struct stat st;
	if (fstat(fileno(fp), &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			fclose(fp);
			set_err(err, errlen, "%s: is a directory, not a capture", path);
			return -EINVAL;
		}
		if (S_ISREG(st.st_mode) && st.st_size == 0) {
			fclose(fp);
			set_err(err, errlen, "%s: empty file, not a capture", path);
			return -EINVAL;
		}
	}
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *pc =
	    pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (!pc) {
		fclose(fp); /* libpcap keeps the FILE only on success */
		if (strstr(ebuf, "truncated") || strstr(ebuf, "only got"))
			set_err(err, errlen,
			        "%s: not a usable capture: its header is cut short (%s)", path,
			        ebuf);
		else
			set_err(err, errlen, "%s: not a pcap or pcapng capture (%s)", path, ebuf);
		return -EINVAL;
	}
	*out = pc;
	return 0;
}

int gt_explain_pcap(const char *path, const gt_explain_opts *opts, gt_explain *out, char *err,
                    size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	if (!path) {
		set_err(err, errlen, "no capture file given");
		return -EINVAL;
	}
	gt_explain_opts defaults;
	gt_explain_opts_default(&defaults);
	if (!opts)
		opts = &defaults;

	pcap_t *pc = NULL;
	int rc = open_capture(path, &pc, err, errlen);
	if (rc < 0)
		return rc;
	link_kind kind;
	int dlt = pcap_datalink(pc);
	if (!link_kind_of(dlt, &kind)) {
		const char *name = pcap_datalink_val_to_name(dlt);
		set_err(err, errlen,
		        "%s: unsupported link type %s (%d): Ethernet, Linux cooked, raw IP and "
		        "BSD loopback are read",
		        path, name ? name : "?", dlt);
		pcap_close(pc);
		return -EINVAL;
	}

	xctx x = {.time_wait_us = opts->time_wait_us};
	struct pcap_pkthdr *h;
	const u_char *d;
	int r = 0;
	while (!x.oom && (r = pcap_next_ex(pc, &h, &d)) == 1) {
		out->packets++;
		gt_time_us t = 0;
		if (h->ts.tv_sec > 0)
			t = (gt_time_us)h->ts.tv_sec * 1000000u;
		if (h->ts.tv_usec > 0)
			t += (gt_time_us)h->ts.tv_usec;
		if (t > x.t_end)
			x.t_end = t;
		long off = ipv4_offset(kind, d, h->caplen);
		xseg s;
		if (off < 0 || !parse_ipv4_tcp(d + off, h->caplen - (size_t)off, &s)) {
			out->skipped++;
			continue;
		}
		out->tcp_packets++;
		process(&x, &s, t);
	}
	if (!x.oom && r == PCAP_ERROR)
		out->truncated = true; /* a record cut short (or a damaged block) */
	pcap_close(pc);

	for (size_t i = 0; !x.oom && i < x.nconns; i++)
		finish_conn(&x, i, false, x.nrec, x.t_end);
	rc = x.oom ? -ENOMEM : build_result(&x, out);
	free_ctx(&x);
	if (rc < 0) {
		gt_explain_free(out);
		set_err(err, errlen, "%s: out of memory", path);
	}
	return rc;
}

#else

int gt_explain_pcap(const char *path, const gt_explain_opts *opts, gt_explain *out, char *err,
                    size_t errlen)
{
	if (out)
		memset(out, 0, sizeof *out);
	if (err && errlen)
		snprintf(err, errlen,
		         "%s: glasstcp was built without libpcap, so it cannot read captures "
		         "(install the Debian package libpcap-dev and rebuild)",
		         path ? path : "capture");
	return -ENOTSUP;
}

#endif

void gt_explain_free(gt_explain *e)
{
	if (!e)
		return;
	gt_trace_log_free(e->log);
	free(e->anomalies);
	free(e->near_side);
	memset(e, 0, sizeof *e);
}
