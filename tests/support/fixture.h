/* A single-stack test fixture in the smoltcp style.
 *
 * One gt_stack under test (192.0.2.2, named "dut") talks to a fake remote peer
 * (192.0.2.1:49152) that the test plays by hand: the test builds each segment
 * the peer sends (fx_send*) and pops each packet the stack sends (fx_expect*).
 * Every packet the stack outputs is parsed with gt_wire_parse and its IPv4 and
 * TCP checksums are verified independently; a malformed packet fails the next
 * fx_* call.
 *
 * The stack's ISN hook returns opts.iss (plus iss_step per further call), so a
 * test picks our ISS (0xFFFFFF00 for wrap tests); the peer's ISN is
 * opts.peer_iss. fx_listen ... fx_time_wait drive a connection into any state
 * with real segments and leave the peer's view in fx->peer_snd_nxt (the next
 * sequence number the peer sends) and fx->peer_rcv_nxt (the next sequence
 * number the peer expects from us, i.e. what it acknowledges).
 *
 * The clock only moves through fx_advance/fx_advance_to; fx_send and the
 * socket calls use fx->now. The fixture's default config differs from
 * gt_stack_config_default in one way: delack_us = 0 (ACK at once), so tests
 * see each ACK without running the delayed-ACK timer. */
#ifndef GT_TEST_FIXTURE_H
#define GT_TEST_FIXTURE_H

#include "support.h"
#include "wire/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FX_LOCAL_ADDR  GT_TEST_ADDR(2)
#define FX_PEER_ADDR   GT_TEST_ADDR(1)
#define FX_PEER_PORT   49152
#define FX_LISTEN_PORT 80

#define FX_QCAP       4096
#define FX_MAX_EVENTS 16384
#define FX_S          1000000ull /* one second in microseconds */
#define FX_MS         1000ull

typedef struct fx_opts {
	gt_stack_config cfg; /* output, event and isn hooks are set by fx_init */
	uint32_t iss;        /* our ISS, returned by the stack's isn_fn */
	uint32_t iss_step;   /* added to the ISS on each further isn_fn call */
	uint32_t peer_iss;   /* the fake peer's ISN */
	uint16_t peer_wnd;   /* the window the peer advertises */
	uint16_t peer_mss;   /* MSS option on the peer's SYNs; 0 omits it */
	int backlog;         /* for fx_listen */
	bool active;         /* fx_established and the closing fixtures open actively */
} fx_opts;

/* A packet the stack sent. seg.payload points into raw. */
typedef struct fx_pkt {
	gt_segment seg;
	uint8_t *raw;
	size_t len;
	gt_time_us t;
} fx_pkt;

typedef struct fx_state_ev {
	gt_time_us t;
	gt_conn_tuple conn;
	gt_tcp_state from, to;
	int sock;
	char cause[64];
} fx_state_ev;

/* A segment from the peer with every field under control. Zero addresses and
 * ports mean the fixture's (peer 192.0.2.1:rport -> 192.0.2.2:lport). */
typedef struct fx_seg {
	uint32_t src_addr, dst_addr;
	uint16_t src_port, dst_port;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t wnd;
	uint16_t mss;            /* MSS option; 0 = none */
	const gt_tcp_opts *opts; /* when set, the options sent (mss is then ignored) */
	const void *payload;
	uint32_t len;
} fx_seg;

typedef struct fx {
	gt_stack *st;
	gt_stack_config cfg; /* as given to gt_stack_create */
	fx_opts opts;
	gt_time_us now;

	/* ISN hook */
	uint32_t iss;
	uint32_t isn_calls;

	/* the connection under test */
	uint16_t lport; /* our port */
	uint16_t rport; /* the peer's port */
	int lsock;      /* listener, or -1 */
	int sock;       /* connection socket (accepted or connecting), or -1 */

	/* the fake peer's view */
	uint32_t peer_snd_nxt;
	uint32_t peer_rcv_nxt;
	uint16_t peer_wnd;
	uint16_t peer_mss;

	/* captured output, FIFO */
	fx_pkt *q; /* FX_QCAP entries */
	size_t q_head, q_len;
	fx_pkt last; /* the packet fx_expect* popped last */
	size_t tx_total;
	unsigned bad_pkts;
	char bad_msg[160];

	/* state events, oldest first */
	fx_state_ev *ev;
	size_t ev_len;
	size_t socket_events;
	size_t drop_events;
	gt_drop_reason last_drop;
} fx;

void fx_opts_default(fx_opts *o);
/* opts may be NULL (defaults). */
void fx_init(fx *f, const fx_opts *opts);
void fx_free(fx *f);

/* ---- the peer sends ---- */
void fx_send_seg(fx *f, const fx_seg *s);
/* From the peer's port to ours at fx->now; a SYN carries the peer's MSS option. */
void fx_send(fx *f, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd, const void *payload,
             uint32_t len);
/* Segments built from the peer's view (and advancing it). */
void fx_peer_ack(fx *f);                                  /* <SEQ=peer_snd_nxt><ACK=peer_rcv_nxt> */
void fx_peer_data(fx *f, const void *data, uint32_t len); /* ACK|PSH with data */
void fx_peer_fin(fx *f);                                  /* FIN|ACK */

/* ---- what the stack sent ---- */
/* Pops the next output segment and asserts its flags (PSH is compared only when
 * asked for), its seq, and its ack when ACK is among the flags. */
#define fx_expect(f, flags, seq, ack) fx_expect_at((f), (flags), (seq), (ack), __FILE__, __LINE__)
/* Asserts nothing is waiting in the output queue. */
#define fx_expect_none(f) fx_expect_none_at((f), __FILE__, __LINE__)
/* Pops the next segment whatever it is; fails if there is none. */
#define fx_pop(f) fx_pop_at((f), __FILE__, __LINE__)
const fx_pkt *fx_expect_at(fx *f, uint8_t flags, uint32_t seq, uint32_t ack, const char *file,
                           int line);
void fx_expect_none_at(fx *f, const char *file, int line);
const fx_pkt *fx_pop_at(fx *f, const char *file, int line);
size_t fx_pending(const fx *f);
void fx_drain(fx *f);

/* ---- time ---- */
/* Runs gt_stack_on_deadline at every deadline up to now+us, then sets now. */
void fx_advance(fx *f, gt_time_us us);
void fx_advance_to(fx *f, gt_time_us t);
/* Advances to the next deadline (fails if there is none); returns it. */
gt_time_us fx_step(fx *f);

/* ---- states, through real segments ---- */
void fx_listen(fx *f);
void fx_syn_received(fx *f);
void fx_established(fx *f); /* passive, or active when opts.active */
void fx_established_passive(fx *f);
void fx_established_active(fx *f);
void fx_syn_sent(fx *f);
void fx_fin_wait_1(fx *f); /* shutdown(WR): the socket stays open */
void fx_fin_wait_2(fx *f);
void fx_close_wait(fx *f);
void fx_closing(fx *f);
void fx_last_ack(fx *f);
void fx_time_wait(fx *f);

/* From ESTABLISHED, walks the connection to s (FIN_WAIT_1 ... TIME_WAIT) through
 * real segments; our side closes with shutdown(WR), so fx->sock stays valid. */
void fx_goto(fx *f, gt_tcp_state s);
/* Puts a fresh fixture's connection in state s (any state but CLOSED). */
void fx_enter(fx *f, gt_tcp_state s);
/* The ACK value that acknowledges nothing new (our FIN may be unacknowledged). */
uint32_t fx_peer_una(const fx *f);
/* The test data: byte i of the stream is a function of its offset. */
void fx_fill_pattern(uint8_t *buf, uint32_t len, uint32_t offset);
/* The peer sends len bytes of pattern data (offsets from its ISN+1) in chunks,
 * expecting an ACK for each; returns the window of the last ACK. */
uint16_t fx_peer_send_acked(fx *f, uint32_t len, uint32_t chunk);
/* The TCB of the connection under test (internal; NULL when gone). */
struct gt_tcb *fx_tcb(fx *f);

/* The state of the connection fx->lport <-> fx->rport (GT_TCP_CLOSED when the
 * stack no longer has it). */
gt_tcp_state fx_state(fx *f);
#define fx_assert_state(f, s) fx_assert_state_at((f), (s), __FILE__, __LINE__)
void fx_assert_state_at(fx *f, gt_tcp_state s, const char *file, int line);

/* ---- events ---- */
/* FX_ANY as `from` matches any state. */
#define FX_ANY GT_TCP_STATE_COUNT
/* The last state event from -> to of any connection, or NULL. */
const fx_state_ev *fx_find_transition(const fx *f, gt_tcp_state from, gt_tcp_state to);
/* How many state events entered `to`. */
size_t fx_count_transitions(const fx *f, gt_tcp_state to);
const fx_state_ev *fx_last_transition(const fx *f);
void fx_clear_events(fx *f);

/* The fixture a test file drives, F, defined once in fixture.c so that no
 * file repeats its setup and teardown. fx_setup initialises F with the
 * default options and fx_teardown frees it; FX_TEST(fn) is a cmocka test with
 * both. A file whose setup needs other options calls fx_init(&F, &o) itself
 * and still tears down with fx_teardown. */
extern fx F;
int fx_setup(void **state);
int fx_teardown(void **state);
#define FX_TEST(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
/* Within a test: frees F and initialises it again with opts (NULL: defaults). */
void fx_reinit(const fx_opts *opts);
/* The same with the default options as changed by tweak. */
void fx_reinit_with(void (*tweak)(fx_opts *o));

#endif
