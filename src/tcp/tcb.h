/* The Transmission Control Block (RFC 9293 §3.3.1) of one connection and the
 * engine's calls: what the stack (src/stack) asks of a connection, and the
 * engine's internal calls between input, output and timers. What the engine
 * needs from outside the connection comes through tcb->env (tcp/env.h). */
#ifndef GT_TCP_TCB_H
#define GT_TCP_TCB_H

#include "glasstcp/stack.h"
#include "tcp/env.h"
#include "tcp/reasm.h"
#include "tcp/ringbuf.h"
#include "tcp/rto.h"
#include "wire/wire.h"

#include <stdbool.h>
#include <stdint.h>

#define GT_SACK_RECENT     4  /* RFC 2018 §3: at most 4 blocks fit */
#define GT_SACK_SCOREBOARD 16 /* SACKed ranges the sender keeps */

typedef struct gt_tcb {
	gt_tcp_env *env; /* the surroundings: settings, output, events (tcp/env.h) */
	gt_tcp_state state;
	gt_conn_tuple tuple;
	int sock;     /* the socket handle owning it, or -1 (orphaned or not accepted);
	                 set by the stack, read by the engine */
	bool passive; /* created from a LISTEN (RFC 9293 §3.10.7.4: back to LISTEN on RST) */
	bool opened;  /* a connection was attempted: connect() or listen() cannot follow */
	gt_time_us deadline; /* earliest of the timers below; the stack orders TCBs by it */

	/* ---- kept by the stack (src/stack): the engine never touches these ---- */
	bool bound; /* local port chosen: in the demux table */
	struct gt_tcb *hash_next;
	struct gt_tcb *all_prev, *all_next;
	struct gt_tcb *tw_prev, *tw_next;         /* TIME_WAIT age list */
	struct gt_tcb *orphan_prev, *orphan_next; /* orphan age list (max_orphans) */
	bool in_orphans;
	size_t heap_idx; /* in the timer heap, or SIZE_MAX */

	/* listener side: parent links a passive child until accept() */
	struct gt_tcb *parent;
	struct gt_tcb *child_prev, *child_next; /* in parent's children list */
	struct gt_tcb *children;
	struct gt_tcb *acq_next; /* accept queue (FIFO) */
	struct gt_tcb *acq_head, *acq_tail;
	uint32_t acq_len;
	uint32_t syn_len; /* children still in SYN_RECEIVED */
	uint32_t backlog;
	gt_time_us syncookie_last; /* when it last answered with a SYN cookie, or NEVER */
	bool in_acq;
	uint32_t last_ready; /* last GT_POLL* mask announced */
	/* ---- end of the stack's part ---- */

	/* RFC 9293 §3.3.1 send sequence variables */
	uint32_t iss;
	uint32_t snd_una;
	uint32_t snd_nxt;
	uint32_t snd_max; /* highest sequence number sent + 1 */
	/* Minshall's Nagle variant (draft-minshall-nagle-01): the end of the last
	 * small segment of new data sent; a small segment is held back only
	 * while that one is unacknowledged */
	uint32_t snd_sml;
	uint32_t snd_wnd;
	uint32_t snd_wl1;
	uint32_t snd_wl2;
	uint32_t max_snd_wnd; /* RFC 9293 §3.8.6.2.1: largest window the peer offered */
	uint16_t snd_mss;
	gt_ringbuf sndbuf;    /* data from snd_buf_seq on */
	uint32_t snd_buf_seq; /* sequence number of sndbuf's first byte */
	bool fin_queued;      /* FIN to send after the data (close or shutdown) */
	bool fin_sent;

	/* RFC 5681 congestion window: the seam for later algorithms */
	uint32_t cwnd;
	uint32_t ssthresh;
	uint32_t dupacks;
	uint32_t bytes_acked; /* RFC 3465 §2.1: bytes ACKed in congestion avoidance */
	bool in_recovery;
	uint32_t recover;
	/* RFC 3522 Eifel detection of a spurious fast retransmit */
	bool eifel;           /* armed: waiting for the ACK of the retransmission */
	uint32_t eifel_tsval; /* TSval of the retransmission */
	uint32_t eifel_seq;   /* SND.UNA when it was retransmitted */
	uint32_t pipe_prev;   /* RFC 4015 §3.1: max(FlightSize, ssthresh) before */

	/* RFC 9293 §3.3.1 receive sequence variables */
	uint32_t irs;
	uint32_t rcv_nxt;
	uint32_t rcv_adv;  /* right edge of the window we advertised */
	gt_ringbuf rcvbuf; /* unread bytes, then out-of-order bytes at their offset */
	gt_reasm reasm;
	bool fin_rcvd;
	bool rd_shut; /* shutdown(SHUT_RD) */
	bool wr_shut; /* shutdown(SHUT_WR) or close() */

	/* options agreed on the handshake (RFC 7323, RFC 2018) */
	bool ts_ok;               /* RFC 7323 §3.2: both SYNs carried TSopt */
	bool sack_ok;             /* RFC 2018 §2: both SYNs carried SACK-permitted */
	bool ws_ok;               /* RFC 7323 §2.2: both SYNs carried Window Scale */
	uint8_t snd_wscale;       /* the peer's shift (Snd.Wind.Shift) */
	uint8_t rcv_wscale;       /* ours (Rcv.Wind.Shift) */
	uint32_t ts_offset;       /* added to our TS clock (a SYN cookie's SYN-ACK) */
	uint32_t ts_recent;       /* RFC 7323 §4.3 TS.Recent */
	gt_time_us ts_recent_age; /* when TS.Recent was set (RFC 7323 §5.5) */
	uint32_t last_ack_sent;   /* RFC 7323 §4.3 Last.ACK.sent */
	bool rx_tsecr_valid;      /* the segment being processed carried TSecr */
	uint32_t rx_tsecr;
	/* RFC 2018 §4: the blocks reported most recently, newest first */
	gt_reasm_range sack_recent[GT_SACK_RECENT];
	uint32_t sack_recent_count;
	/* RFC 2883: a duplicate segment to report in the next ACK's first block */
	bool dsack_pending;
	gt_reasm_range dsack;
	/* RFC 6675 scoreboard: SACKed ranges above SND.UNA, fixed size */
	gt_reasm_range sb_ranges[GT_SACK_SCOREBOARD];
	gt_reasm scoreboard; /* ranges points at sb_ranges */
	uint32_t high_rxt;   /* RFC 6675 HighRxt */

	/* acknowledgement policy (RFC 9293 §3.8.6.3, RFC 5681 §4.2) */
	bool ack_now;
	uint32_t segs_unacked;
	uint32_t quickacks_left; /* data segments still to ACK at once (quickack_segs) */

	/* timers: absolute times or GT_TIME_NEVER */
	gt_time_us t_rexmit;
	gt_time_us t_persist;
	gt_time_us t_delack;
	gt_time_us t_2msl;
	gt_time_us t_fin_wait_2;
	gt_time_us t_user;
	unsigned rexmit_count;
	bool window_probed; /* the peer answered a probe with a zero window */
	gt_rto rto;
	bool rtt_timing;
	uint32_t rtt_seq;
	gt_time_us rtt_start;
	gt_time_us last_ratelimited_ack;

	/* RFC 1122 §4.2.3.6 keep-alive (Linux's SO_KEEPALIVE semantics) */
	gt_time_us t_keepalive; /* next look at the idle time; lazy: may be early */
	bool ka_on;
	gt_time_us ka_idle_us;
	gt_time_us ka_intvl_us;
	uint32_t ka_probes;     /* unanswered probes that abort the connection */
	uint32_t ka_probes_out; /* probes sent since something was received */
	gt_time_us ka_since;    /* start of the idle time: last segment received */

	/* per-socket settings (socket options, src/stack/sockopt.c); a new TCB
	 * takes the stack's configuration, a passive child its listener's */
	bool nodelay;               /* TCP_NODELAY: no Nagle (RFC 9293 §3.7.4) */
	uint16_t user_mss;          /* TCP_MAXSEG before connect: MSS announced; 0 = cfg */
	uint32_t sndbuf_size;       /* SO_SNDBUF: bytes of the send buffer */
	uint32_t rcvbuf_size;       /* SO_RCVBUF: bytes of the receive buffer */
	gt_time_us user_timeout_us; /* TCP_USER_TIMEOUT (RFC 9293 §3.8.3); 0 = none */
	bool linger_on;             /* SO_LINGER: close() waits or (0 s) aborts */
	gt_time_us linger_us;
	bool reuseaddr;         /* SO_REUSEADDR: recorded (bind already allows TIME_WAIT reuse) */
	uint32_t total_retrans; /* segments retransmitted (TCP_INFO) */
	/* RFC 4898 (TCP_INFO) per-connection statistics */
	uint64_t acked_total;    /* SND.UNA advanced by (SYN and FIN count, as Linux) */
	uint64_t bytes_received; /* RCV.NXT advanced by with data */
	uint64_t bytes_sent;     /* data bytes sent, retransmissions included */
	uint64_t bytes_retrans;  /* data bytes retransmitted */
	uint32_t segs_out, segs_in, data_segs_out, data_segs_in;
	gt_time_us last_data_sent, last_data_recv;

	int error;      /* pending error (negative errno) */
	int soft_error; /* RFC 1122 §4.2.3.9: the last ICMP soft error, for SO_ERROR */
} gt_tcb;

/* The MSS we announce (RFC 9293 §3.7.1): the stack's, or less if the
 * socket set TCP_MAXSEG before connecting; it also caps what we send. */
static inline uint16_t gt_tcb_our_mss(const gt_tcb *tcb)
{
	uint16_t cfg = tcb->env->cfg->mss;
	return tcb->user_mss && tcb->user_mss < cfg ? tcb->user_mss : cfg;
}

/* ---- states ---- */
/* RFC 9293 §3.3.2: states in which both SYNs have been exchanged */
static inline bool gt_state_synchronized(gt_tcp_state s)
{
	return s >= GT_TCP_ESTABLISHED;
}
/* states in which the peer's FIN has been received */
static inline bool gt_state_fin_received(gt_tcp_state s)
{
	return s == GT_TCP_CLOSE_WAIT || s == GT_TCP_CLOSING || s == GT_TCP_LAST_ACK ||
	       s == GT_TCP_TIME_WAIT;
}
/* An orphan (Linux's SOCK_DEAD): the application closed it (no socket, our
 * side shut) and it still holds its buffers, waiting for the peer to take our
 * data or FIN. FIN_WAIT_2 has its own timeout (fin_wait_2_timeout_us) and
 * TIME_WAIT its own list; a connection not accepted yet was never closed. */
static inline bool gt_tcb_orphan(const gt_tcb *tcb)
{
	return tcb->sock < 0 && tcb->wr_shut &&
	       (tcb->state == GT_TCP_FIN_WAIT_1 || tcb->state == GT_TCP_CLOSING ||
	        tcb->state == GT_TCP_LAST_ACK);
}
/* states in which we may still receive data */
static inline bool gt_state_can_receive(gt_tcp_state s)
{
	return s == GT_TCP_ESTABLISHED || s == GT_TCP_FIN_WAIT_1 || s == GT_TCP_FIN_WAIT_2;
}
/* states in which the user may still send data */
static inline bool gt_state_can_send(gt_tcp_state s)
{
	return s == GT_TCP_ESTABLISHED || s == GT_TCP_CLOSE_WAIT;
}

/* ---- tcb.c: lifecycle ---- */
/* A TCB in CLOSED with the settings of env; NULL when out of memory. The
 * stack links it into its tables and frees it with gt_tcb_destroy. */
gt_tcb *gt_tcb_new(gt_tcp_env *env);
/* The same in caller's memory (a SYN cookie's SYN-ACK is built in one that
 * lives only for the call); it holds nothing to free. */
void gt_tcb_init(gt_tcb *tcb, gt_tcp_env *env);
/* Frees the TCB and everything it holds (no event, nothing sent). The stack
 * has unlinked it. */
void gt_tcb_destroy(gt_tcb *tcb);
/* Allocates the send/receive buffers (connection start). */
int gt_tcb_alloc_buffers(gt_tcb *tcb);
void gt_tcb_set_state(gt_tcb *tcb, gt_tcp_state to, const char *cause, gt_time_us now);
/* Enters CLOSED with error err (0 for a clean close) and releases the TCB if no
 * socket holds it. The tcb must not be used after this returns true. */
bool gt_tcb_close(gt_tcb *tcb, int err, const char *cause, gt_time_us now);
/* Ends the connection with <SEQ=SND.NXT><CTL=RST> (ABORT, close() with unread
 * data, data after close()). The state change comes first, so a trace shows it
 * on the RST's own row. Returns true if the TCB was freed. */
bool gt_tcb_reset(gt_tcb *tcb, const char *cause, gt_time_us now);
/* Recomputes the earliest timer and tells the stack (env deadline_changed). */
void gt_tcb_timers_changed(gt_tcb *tcb);
/* Runs the timers due at now; the TCB may be freed (the stack looks again). */
void gt_tcb_on_timers(gt_tcb *tcb, gt_time_us now);
void gt_tcb_enter_time_wait(gt_tcb *tcb, const char *cause, gt_time_us now);
/* RFC 1122 §4.2.3.6: the idle time starts again at now (a segment arrived, the
 * connection was established, or the setting changed); arms the keep-alive
 * timer if it is on and not armed. */
void gt_tcb_keepalive_restart(gt_tcb *tcb, gt_time_us now);
/* The connection's readiness may have changed: the stack tells its socket. */
static inline void gt_tcb_notify(gt_tcb *tcb, gt_time_us now)
{
	tcb->env->ops->notify(tcb->env, tcb, now);
}
/* The GT_POLL* mask of a connection (a listener's is the stack's business). */
uint32_t gt_tcb_poll(const gt_tcb *tcb);
/* The receive window we would offer now, without shrinking the last one. */
uint32_t gt_tcb_rcv_window(gt_tcb *tcb);

/* RFC 7323 / RFC 2018: takes the options of the peer's SYN (or SYN,ACK) and
 * decides what the connection uses. */
void gt_tcb_negotiate(gt_tcb *tcb, const gt_segment *syn, gt_time_us now);
/* RFC 7323 §4.1: our TSval clock, 1 ms per tick. */
uint32_t gt_tcb_ts_now(gt_time_us now);
/* Our TSval on tcb at now (RFC 7323 §3.2). */
static inline uint32_t gt_tcb_tsval(const gt_tcb *tcb, gt_time_us now)
{
	return gt_tcb_ts_now(now) + tcb->ts_offset;
}
/* RFC 7323 §2.3: the shift that lets a window of rcvbuf bytes be offered. */
uint8_t gt_wscale_for(uint32_t rcvbuf);
/* The shift this connection offers (RFC 7323 §2.3): for its receive buffer,
 * or the largest one SO_RCVBUF may set (rcvbuf_max), whichever is larger. */
uint8_t gt_tcb_offered_wscale(const gt_tcb *tcb);

/* Chooses the ISN (RFC 6528) and sets the send sequence variables. */
void gt_tcb_init_sequence(gt_tcb *tcb, gt_time_us now);
/* The ISS for tcb->tuple (RFC 6528, or the configured isn_fn). */
uint32_t gt_tcb_draw_iss(const gt_tcb *tcb, gt_time_us now);
/* The sequence space from a given ISS (gt_tcb_init_sequence draws one). */
void gt_tcb_set_iss(gt_tcb *tcb, uint32_t iss);

/* ---- output.c ---- */
/* Sends what the windows allow (data, FIN), or a pending ACK. */
void gt_tcb_output(gt_tcb *tcb, gt_time_us now);
/* Sends a segment with no data: flags at sequence number seq. */
void gt_tcb_send_ctl(gt_tcb *tcb, uint8_t flags, uint32_t seq, gt_time_us now);
void gt_tcb_send_ack(gt_tcb *tcb, gt_time_us now);
/* An ACK answering an unacceptable segment, at most one per 500 ms
 * (RFC 5961 §7 / §10: no ACK war with a confused or hostile peer). */
void gt_tcb_send_ratelimited_ack(gt_tcb *tcb, gt_time_us now);
/* SYN (SYN_SENT) or SYN,ACK (SYN_RECEIVED) at ISS; rexmit marks a resend. */
void gt_tcb_send_syn(gt_tcb *tcb, bool rexmit, gt_time_us now);
void gt_tcb_send_rst(gt_tcb *tcb, gt_time_us now);
/* RFC 9293 §3.10.7.1: the reset for a segment that has no connection
 * (<SEQ=SEG.ACK><CTL=RST>, or <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>);
 * nothing for an RST. */
void gt_tcp_send_reset_for(gt_tcp_env *env, const gt_segment *seg, gt_time_us now);

/* RFC 6298 §5: the retransmission timer. */
void gt_tcb_rexmit_timeout(gt_tcb *tcb, gt_time_us now);
void gt_tcb_persist_timeout(gt_tcb *tcb, gt_time_us now);
/* RFC 1122 §4.2.3.6: an ACK with no data at SND.UNA-1, which a live peer
 * answers with an ACK (the segment is outside its window). */
void gt_tcb_send_keepalive_probe(gt_tcb *tcb, gt_time_us now);
/* Called when new data is acknowledged (RFC 6298 §5.2, §5.3, RTT sample). */
void gt_tcb_on_ack_advance(gt_tcb *tcb, uint32_t acked, gt_time_us now);
/* RFC 5681 §2: a duplicate ACK arrived. */
void gt_tcb_on_dupack(gt_tcb *tcb, gt_time_us now);

/* ---- sack.c: RFC 2018 receiver blocks, RFC 6675 sender scoreboard ---- */
/* The out-of-order segment [start, end) was queued (RFC 2018 §4). */
void gt_sack_note_received(gt_tcb *tcb, uint32_t start, uint32_t end);
/* RFC 2883 §4: [start, end) arrived again (data already received: below
 * RCV.NXT, or held out of order); the next ACK reports it first. Only the
 * first duplicate before that ACK is kept. */
void gt_sack_note_duplicate(gt_tcb *tcb, uint32_t start, uint32_t end);
/* The same for the part of [start, end) that out-of-order data already
 * holds, if any (call before the segment is queued). */
void gt_sack_note_duplicate_held(gt_tcb *tcb, uint32_t start, uint32_t end);
/* Fills opts->sack with the blocks to report: a pending D-SACK block first,
 * then the held ranges, most recent first. */
void gt_sack_fill_blocks(gt_tcb *tcb, gt_tcp_opts *opts);
/* Records the SACK blocks of an arriving ACK; returns the bytes newly SACKed. */
uint32_t gt_sack_update(gt_tcb *tcb, const gt_segment *seg);
/* Drops scoreboard ranges below SND.UNA. */
void gt_sack_prune(gt_tcb *tcb);
void gt_sack_clear(gt_tcb *tcb);
/* RFC 6675 §4 IsLost(seq). */
bool gt_sack_is_lost(const gt_tcb *tcb, uint32_t seq);
/* RFC 6675 §4 SetPipe: bytes believed in flight. */
uint32_t gt_sack_pipe(const gt_tcb *tcb);
/* RFC 6675 §4 NextSeg rule (1), and rule (3) when rescue: a hole to
 * retransmit; returns false if none. *len is at most SMSS. */
bool gt_sack_next_rexmit(const gt_tcb *tcb, bool rescue, uint32_t *seq, uint32_t *len);
/* Is seq within a SACKed range? */
bool gt_sack_is_sacked(const gt_tcb *tcb, uint32_t seq);

/* ---- icmp.c: ICMP errors about our segments (RFC 1122 §4.2.3.9, RFC 1191,
 * RFC 5927) ---- */
/* The smallest path MTU a "fragmentation needed" can set (RFC 5927 §7.2:
 * a floor against attacks that shrink segments; Linux's min_pmtu) */
#define GT_PMTU_MIN 552
/* An ICMP error quoting a segment of this connection arrived. Returns
 * GT_DROP_NONE when it was acted on (or remembered), or why it was not. */
gt_drop_reason gt_tcb_icmp_error(gt_tcb *tcb, const gt_icmp_error *e, gt_time_us now);

/* ---- input.c ---- */
/* SEGMENT ARRIVES for a tcb in any state but LISTEN/CLOSED (RFC 9293 §3.10.7.3-4). */
void gt_tcb_input(gt_tcb *tcb, const gt_segment *seg, gt_time_us now);
/* RFC 9293 §3.10.7.2 third, for the new connection a listener made for a SYN
 * (tuple set; no buffers yet: they come with ESTABLISHED): take the SYN's
 * sequence number and options, choose the ISN, enter SYN_RECEIVED and send
 * <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. */
void gt_tcb_passive_open(gt_tcb *tcb, const gt_segment *syn, gt_time_us now);
/* SYN cookies (RFC 4987 §3.6, tcp/syncookie.h). The SYN-ACK for syn with a
 * cookie as ISN (and, with timestamps, the options in TSval), built in tmp
 * (gt_tcb_init'ed with the listener's settings, tuple set), which keeps
 * nothing afterwards. */
void gt_tcb_syncookie_reply(gt_tcb *tmp, const gt_segment *syn, gt_time_us now);
struct gt_syncookie;
/* A new connection (tuple set) for the ACK of a valid cookie, in
 * SYN_RECEIVED as if it had sent the SYN-ACK: gt_tcb_input(ack) then
 * completes the handshake. */
void gt_tcb_syncookie_open(gt_tcb *tcb, const gt_segment *ack, const struct gt_syncookie *ck,
                           gt_time_us now);
/* RFC 9293 §3.10.7.4 fourth with RFC 6191 §2: a new SYN, above the old
 * sequence space, that may reopen a connection in TIME_WAIT (when a listener
 * is there to take it; the stack decides). */
bool gt_tcb_syn_reopens(const gt_tcb *tcb, const gt_segment *seg);

#endif
