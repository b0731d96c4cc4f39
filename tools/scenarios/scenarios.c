/* The demo scenarios (scenarios.h): two small scripted applications per
 * scenario, one on each simulated host, using nothing but the socket API.
 *
 * Every scenario is the same pair of programs with different parameters:
 *   client: connect; once connected send the request; then close, shut down
 *           its sending side, abort, wait for the server's EOF, or close
 *           together with the server; read (and check) whatever arrives.
 *   server: listen and accept (or, for a simultaneous open, connect too); read
 *           and check the request; then close at EOF (after sending the
 *           response), close at once, close together with the client, or read
 *           until the connection fails.
 * The data are pseudo-random bytes derived from the seed, so each receiver
 * checks every byte without keeping a copy of what was sent. */
#include "scenarios/scenarios.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MS 1000ull
#define S  1000000ull

enum { HOST_CLIENT = 0, HOST_SERVER = 1, HOST_ATTACKER = 2 };

typedef enum client_plan {
	CLIENT_CLOSE,    /* close() client_delay after the request is queued */
	CLIENT_SHUTDOWN, /* shutdown(SHUT_WR) after the request, read to EOF, close() */
	CLIENT_ABORT,    /* abort() client_delay after reading the whole response */
	CLIENT_AT_EOF,   /* read to EOF, wait client_delay, close() */
	CLIENT_TOGETHER  /* close() at the instant both ends are ESTABLISHED */
} client_plan;

typedef enum server_plan {
	SERVER_NONE,     /* no application at all: nothing listens */
	SERVER_AT_EOF,   /* read to EOF, send the response, wait server_delay, close() */
	SERVER_CLOSE,    /* close() server_delay after accepting */
	SERVER_TOGETHER, /* close() at the instant both ends are ESTABLISHED */
	SERVER_READ      /* send the response at once, then read until the connection fails */
} server_plan;

typedef enum fault_plan {
	FAULT_NONE,
	FAULT_FIRST_SYN, /* the network loses the client's first SYN */
	FAULT_FIRST_FIN, /* ... the client's first FIN */
	FAULT_LAST_ACK   /* ... the client's first ACK of the server's FIN */
} fault_plan;

struct gt_scenario_script {
	bool simultaneous_open; /* no listener: the server connects to the client too */
	uint16_t port;          /* the client connects to this server port */
	uint32_t request;       /* bytes client -> server, once connected */
	uint32_t response;      /* bytes server -> client, after the request's EOF
	                           (SERVER_READ: at once) */
	uint32_t chunk;         /* the response goes in pieces of this size (0: at once) */
	gt_time_us chunk_gap;   /* ... this far apart */
	client_plan client;
	gt_time_us client_delay;
	server_plan server;
	gt_time_us server_delay;
	fault_plan fault;
	int client_error; /* the error the client application must see, or 0 */
	int server_error;
	gt_time_us client_start; /* the client's connect(), from time 0 */
	bool flood;              /* the attacker's spoofed SYNs (scenarios.h) */
};

static const struct gt_scenario_script sc_handshake = {
    .port = GT_SCENARIO_PORT,
    .client = CLIENT_AT_EOF,
    .server = SERVER_CLOSE,
};
static const struct gt_scenario_script sc_close = {
    .port = GT_SCENARIO_PORT,
    .client = CLIENT_CLOSE,
    .server = SERVER_AT_EOF,
    .server_delay = 100 * MS,
};
static const struct gt_scenario_script sc_close_server = {
    .port = GT_SCENARIO_PORT,
    .client = CLIENT_AT_EOF,
    .client_delay = 100 * MS,
    .server = SERVER_CLOSE,
};
static const struct gt_scenario_script sc_close_3way = {
    .port = GT_SCENARIO_PORT,
    .client = CLIENT_CLOSE,
    .server = SERVER_AT_EOF,
};
static const struct gt_scenario_script sc_simultaneous_close = {
    .port = GT_SCENARIO_PORT,
    .client = CLIENT_TOGETHER,
    .server = SERVER_TOGETHER,
};
static const struct gt_scenario_script sc_simultaneous_open = {
    .simultaneous_open = true,
    .port = GT_SCENARIO_SO_SERVER_PORT,
    .client = CLIENT_CLOSE,
    .server = SERVER_AT_EOF,
};
static const struct gt_scenario_script sc_half_close = {
    .port = GT_SCENARIO_PORT,
    .request = 100,
    .response = 3000,
    .chunk = 1000,
    .chunk_gap = 100 * MS,
    .client = CLIENT_SHUTDOWN,
    .server = SERVER_AT_EOF,
};
/* The client aborts only once it has read the server's greeting, so the RST
 * finds an accepted connection even when the network loses packets; if the
 * RST itself is lost, the greeting the client never acknowledged is sent
 * again and the client's stack answers it with a new RST (RFC 9293 §3.10.7.1). */
static const struct gt_scenario_script sc_abort = {
    .port = GT_SCENARIO_PORT,
    .response = 5,
    .client = CLIENT_ABORT,
    .server = SERVER_READ,
    .server_error = -ECONNRESET,
};
static const struct gt_scenario_script sc_refused = {
    .port = GT_SCENARIO_CLOSED_PORT,
    .client = CLIENT_CLOSE,
    .server = SERVER_NONE,
    .client_error = -ECONNREFUSED,
};
static const struct gt_scenario_script sc_syn_lost = {
    .port = GT_SCENARIO_PORT,
    .client = CLIENT_CLOSE,
    .server = SERVER_AT_EOF,
    .fault = FAULT_FIRST_SYN,
};
static const struct gt_scenario_script sc_lost_fin = {
    .port = GT_SCENARIO_PORT,
    .client = CLIENT_CLOSE,
    .server = SERVER_AT_EOF,
    .fault = FAULT_FIRST_FIN,
};
static const struct gt_scenario_script sc_lost_last_ack = {
    .port = GT_SCENARIO_PORT,
    .client = CLIENT_CLOSE,
    .server = SERVER_AT_EOF,
    .server_delay = 100 * MS,
    .fault = FAULT_LAST_ACK,
};
/* The client asks, shuts down its side, reads the answer to EOF and closes,
 * all while the attacker floods the server. */
static const struct gt_scenario_script sc_syn_flood = {
    .port = GT_SCENARIO_PORT,
    .request = 100,
    .response = 500,
    .client = CLIENT_SHUTDOWN,
    .server = SERVER_AT_EOF,
    .client_start = GT_SCENARIO_FLOOD_CLIENT_US,
    .flood = true,
};
static const struct gt_scenario_script sc_transfer = {
    .port = GT_SCENARIO_PORT,
    .request = GT_SCENARIO_TRANSFER_BYTES,
    .client = CLIENT_CLOSE,
    .server = SERVER_AT_EOF,
};

const gt_scenario gt_scenarios[] = {
    {"handshake",
     "the three-way handshake SYN, SYN-ACK, ACK; then the server hangs up and the client "
     "closes at EOF (a three-segment close)",
     &sc_handshake},
    {"close",
     "the seed's four-way close: client closes first, server reads EOF, waits 100 ms, "
     "closes; TIME_WAIT 2*MSL -> CLOSED",
     &sc_close},
    {"close-server", "the four-way close the other way round: the server closes first",
     &sc_close_server},
    {"close-3way",
     "the server closes the moment it reads EOF: its FIN rides on the delayed ACK (FIN, "
     "FIN-ACK, ACK)",
     &sc_close_3way},
    {"simultaneous-close",
     "both ends close at the same instant: FIN_WAIT_1 -> CLOSING -> TIME_WAIT on both",
     &sc_simultaneous_close},
    {"simultaneous-open",
     "no listener: both ends connect to each other at once: SYN_SENT -> SYN_RECEIVED -> "
     "ESTABLISHED on both",
     &sc_simultaneous_open},
    {"half-close",
     "client sends a request and shuts down its side; the server goes on sending its "
     "response after the FIN, then closes",
     &sc_half_close},
    {"abort",
     "the server greets, the client reads it and aborts: one RST, no FIN; the server's next "
     "recv() fails with ECONNRESET",
     &sc_abort},
    {"refused", "connect to a port with no listener: RST,ACK; connect fails with ECONNREFUSED",
     &sc_refused},
    {"syn-lost", "the network loses the first SYN: retransmitted after the initial RTO of 1 s",
     &sc_syn_lost},
    {"lost-fin", "the network loses the client's first FIN: retransmitted when the RTO expires",
     &sc_lost_fin},
    {"lost-last-ack",
     "the client's last ACK is lost: the server's FIN comes again and is answered from "
     "TIME_WAIT, which restarts 2*MSL (why TIME_WAIT exists)",
     &sc_lost_last_ack},
    {"transfer", "1 MiB of pseudo-random bytes client -> server, checked byte for byte",
     &sc_transfer},
    {"syn-flood",
     "3,000 SYNs from spoofed sources fill the server's SYN queue; SYN cookies let the "
     "client connect anyway (--syncookies off: its SYNs are dropped, connect() times out)",
     &sc_syn_flood},
};
const size_t gt_scenario_count = sizeof(gt_scenarios) / sizeof(gt_scenarios[0]);

const gt_scenario *gt_scenario_find(const char *name)
{
	for (size_t i = 0; name && i < gt_scenario_count; i++) {
		if (strcmp(gt_scenarios[i].name, name) == 0)
			return &gt_scenarios[i];
	}
	return NULL;
}

bool gt_scenario_is_flood(const gt_scenario *sc)
{
	return sc && sc->script->flood;
}

void gt_scenario_opts_default(gt_scenario_opts *o)
{
	*o = (gt_scenario_opts){.seed = 1, .loss = 0, .delay_ms = 10};
}

/* ---- the data: byte i of a stream is a function of (key, i) ---- */

static uint64_t mix64(uint64_t x)
{
	/* the splitmix64 finalizer */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint8_t stream_byte(uint64_t key, uint64_t i)
{
	return (uint8_t)(mix64(key + (i >> 3) * 0x9e3779b97f4a7c15ull) >> ((i & 7) * 8));
}

/* ---- the applications ---- */

typedef enum phase {
	P_START,
	P_CONNECTING,
	P_ACCEPTING,
	P_SENDING, /* client: the request */
	P_RESPONDING /* server: the response */,
	P_READ_EOF, /* waiting for the peer's FIN */
	P_READ_ALL, /* waiting for the whole response */
	P_TIMER,    /* then close() (or abort()) at `wake` */
	P_TOGETHER,
	P_READING, /* SERVER_READ: until the connection fails */
	P_DONE
} phase;

typedef struct app {
	gt_stack *st;
	int lsock; /* listener, or -1 */
	int sock;  /* the connection, or -1 */
	phase ph;
	gt_time_us wake; /* act then even if nothing happens; GT_TIME_NEVER */
	bool abort_at_wake;
	int error; /* first error seen */

	uint64_t tx_key, tx, tx_target; /* what it sends */
	uint64_t rx_key, rx;            /* what it reads */
	bool rx_bad;
	uint64_t rx_bad_at;
	bool eof;
	gt_time_us next_chunk;
} app;

/* The attacker: one spoofed SYN every GT_SCENARIO_FLOOD_GAP_US. */
typedef struct flood {
	uint64_t sent, total;
	gt_time_us next; /* GT_TIME_NEVER once done */
	gt_time_us last;
} flood;

typedef struct run {
	const struct gt_scenario_script *sc;
	gt_sim *sim;
	app cli, srv;
	flood fl;
	bool starved; /* a flood without SYN cookies: the client must fail */
	size_t server_conns_max;
	gt_time_us client_established;
	gt_time_us together; /* when both ends were first ESTABLISHED */
	int fatal;           /* a negative errno that stops the run */
	/* FAULT_LAST_ACK */
	bool srv_fin_seen;
	uint32_t srv_fin_end;
	bool last_ack_dropped;
} run;

/* The handshake is over (the connection may already be closing: the peer's
 * ACK and FIN can arrive in one step). */
static bool connected(const app *a)
{
	if (a->sock < 0)
		return false;
	int s = gt_sock_state(a->st, a->sock);
	return s >= GT_TCP_ESTABLISHED;
}

static void finish(app *a)
{
	a->ph = P_DONE;
	a->sock = -1;
	a->wake = GT_TIME_NEVER;
}

/* The connection failed: remember the first error and let the handle go. */
static void fail(app *a, int err, gt_time_us now)
{
	if (!a->error)
		a->error = err;
	if (a->sock >= 0)
		gt_close(a->st, a->sock, now);
	finish(a);
}

/* Reads everything available, checking each byte against the peer's stream. */
static void drain(app *a, gt_time_us now)
{
	uint8_t buf[4096];
	while (a->sock >= 0) {
		ssize_t n = gt_recv(a->st, a->sock, buf, sizeof buf, now);
		if (n == -EAGAIN)
			return;
		if (n < 0) {
			fail(a, (int)n, now);
			return;
		}
		if (n == 0) {
			a->eof = true;
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (!a->rx_bad && buf[i] != stream_byte(a->rx_key, a->rx + (uint64_t)i)) {
				a->rx_bad = true;
				a->rx_bad_at = a->rx + (uint64_t)i;
			}
		}
		a->rx += (uint64_t)n;
	}
}

/* Queues bytes of its stream up to tx_target, as far as the send buffer takes. */
static void pump(app *a, gt_time_us now)
{
	uint8_t buf[4096];
	while (a->sock >= 0 && a->tx < a->tx_target) {
		uint64_t left = a->tx_target - a->tx;
		size_t n = left < sizeof buf ? (size_t)left : sizeof buf;
		for (size_t i = 0; i < n; i++)
			buf[i] = stream_byte(a->tx_key, a->tx + i);
		ssize_t r = gt_send(a->st, a->sock, buf, n, now);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			fail(a, (int)r, now);
			return;
		}
		a->tx += (uint64_t)r;
	}
}

static void close_app(app *a, gt_time_us now)
{
	drain(a, now); /* close() with unread data would reset the connection */
	if (a->sock < 0)
		return;
	if (a->abort_at_wake)
		gt_abort(a->st, a->sock, now);
	else
		gt_close(a->st, a->sock, now);
	finish(a);
}

static void set_timer(app *a, gt_time_us now, gt_time_us delay)
{
	a->ph = P_TIMER;
	a->wake = now + delay;
}

static int open_connection(app *a, uint16_t lport, uint32_t raddr, uint16_t rport, gt_time_us now)
{
	int s = gt_socket(a->st);
	if (s < 0)
		return s;
	if (lport) {
		int r = gt_bind(a->st, s, 0, lport);
		if (r < 0)
			return r;
	}
	a->sock = s;
	int r = gt_connect(a->st, s, raddr, rport, now);
	return r == -EINPROGRESS ? 0 : r;
}

static void client_tick(run *r, gt_time_us now)
{
	const struct gt_scenario_script *sc = r->sc;
	app *a = &r->cli;
	if (a->ph == P_DONE)
		return;
	if (a->ph == P_START && now < sc->client_start) {
		a->wake = sc->client_start;
		return;
	}
	if (a->ph == P_START) {
		a->wake = GT_TIME_NEVER;
		uint16_t lport = sc->simultaneous_open ? GT_SCENARIO_SO_CLIENT_PORT : 0;
		int rc = open_connection(a, lport, GT_SCENARIO_SERVER_ADDR, sc->port, now);
		if (rc < 0) {
			r->fatal = rc;
			return;
		}
		a->ph = P_CONNECTING;
	}
	drain(a, now);
	if (a->ph == P_DONE)
		return;
	if (a->ph == P_CONNECTING && connected(a)) {
		r->client_established = now;
		a->ph = P_SENDING;
		a->tx_target = sc->request;
	}
	if (a->ph == P_SENDING) {
		pump(a, now);
		if (a->ph == P_DONE || a->tx < a->tx_target)
			return;
		switch (sc->client) {
		case CLIENT_CLOSE:
			set_timer(a, now, sc->client_delay);
			break;
		case CLIENT_ABORT:
			a->abort_at_wake = true;
			a->ph = P_READ_ALL;
			break;
		case CLIENT_SHUTDOWN:
			gt_shutdown(a->st, a->sock, GT_SHUT_WR, now);
			a->ph = P_READ_EOF;
			break;
		case CLIENT_AT_EOF:
			a->ph = P_READ_EOF;
			break;
		case CLIENT_TOGETHER:
			a->ph = P_TOGETHER;
			break;
		}
	}
	if (a->ph == P_READ_EOF && a->eof)
		set_timer(a, now, sc->client == CLIENT_AT_EOF ? sc->client_delay : 0);
	if (a->ph == P_READ_ALL && a->rx >= sc->response)
		set_timer(a, now, sc->client_delay);
	if (a->ph == P_TOGETHER && r->together <= now)
		close_app(a, now);
	if (a->ph == P_TIMER && a->wake <= now)
		close_app(a, now);
}

static void server_tick(run *r, gt_time_us now)
{
	const struct gt_scenario_script *sc = r->sc;
	app *a = &r->srv;
	if (a->ph == P_DONE)
		return;
	if (a->ph == P_START) {
		if (sc->server == SERVER_NONE) {
			finish(a);
			return;
		}
		if (sc->simultaneous_open) {
			int rc =
			    open_connection(a, GT_SCENARIO_SO_SERVER_PORT, GT_SCENARIO_CLIENT_ADDR,
			                    GT_SCENARIO_SO_CLIENT_PORT, now);
			if (rc < 0) {
				r->fatal = rc;
				return;
			}
			a->ph = P_CONNECTING;
		} else {
			int s = gt_socket(a->st);
			int rc = s < 0 ? s : gt_bind(a->st, s, 0, GT_SCENARIO_PORT);
			if (rc >= 0)
				rc = gt_listen(a->st, s, 0, now);
			if (rc < 0) {
				r->fatal = rc;
				return;
			}
			a->lsock = s;
			a->ph = P_ACCEPTING;
		}
	}
	bool opened = false;
	if (a->ph == P_ACCEPTING) {
		int s = gt_accept(a->st, a->lsock, NULL, NULL);
		if (s >= 0) {
			a->sock = s;
			opened = true;
		}
	}
	drain(a, now);
	if (a->ph == P_DONE)
		return;
	if (a->ph == P_CONNECTING && connected(a))
		opened = true;
	if (opened) {
		switch (sc->server) {
		case SERVER_AT_EOF:
			a->ph = P_READ_EOF;
			break;
		case SERVER_CLOSE:
			set_timer(a, now, sc->server_delay);
			break;
		case SERVER_TOGETHER:
			a->ph = P_TOGETHER;
			break;
		case SERVER_READ:
			a->ph = P_READING;
			a->tx_target = sc->response;
			pump(a, now);
			break;
		case SERVER_NONE:
			break;
		}
	}
	if (a->ph == P_READ_EOF && a->eof) {
		a->ph = P_RESPONDING;
		a->next_chunk = now;
	}
	if (a->ph == P_RESPONDING) {
		if (sc->chunk == 0) {
			a->tx_target = sc->response;
		} else if (a->next_chunk <= now && a->tx_target < sc->response) {
			uint64_t left = sc->response - a->tx_target;
			a->tx_target += left < sc->chunk ? left : sc->chunk;
			a->next_chunk = now + sc->chunk_gap;
		}
		pump(a, now);
		if (a->ph == P_DONE)
			return;
		if (a->tx == sc->response)
			set_timer(a, now, sc->server_delay);
		else if (a->tx_target < sc->response)
			a->wake = a->next_chunk;
		else
			a->wake = GT_TIME_NEVER; /* waiting for room in the send buffer */
	}
	if (a->ph == P_READING)
		pump(a, now); /* the rest of the greeting, if the buffer was full */
	if (a->ph == P_TOGETHER && r->together <= now)
		close_app(a, now);
	if (a->ph == P_TIMER && a->wake <= now)
		close_app(a, now);
}

/* Both applications act at `now` until neither has anything more to do then. */
static void tick(run *r, gt_time_us now)
{
	for (int round = 0; round < 8 && !r->fatal; round++) {
		phase cp = r->cli.ph, sp = r->srv.ph;
		client_tick(r, now);
		server_tick(r, now);
		bool changed = cp != r->cli.ph || sp != r->srv.ph;
		if (r->together == GT_TIME_NEVER && connected(&r->cli) && connected(&r->srv)) {
			r->together = now;
			changed = true;
		}
		if (!changed)
			break;
	}
}

/* ---- the SYN flood ---- */

/* Sends every spoofed SYN due at now: a random source in 198.18.0.0/15 and
 * port, a random ISN, an MSS option as real floods carry. */
static void flood_tick(run *r, gt_time_us now)
{
	flood *f = &r->fl;
	while (f->next <= now) {
		uint64_t x = gt_sim_rand(r->sim);
		gt_sim_raw_seg syn = {
		    .src_addr = GT_SCENARIO_FLOOD_NET | ((uint32_t)x & ~GT_SCENARIO_FLOOD_MASK),
		    .dst_addr = GT_SCENARIO_SERVER_ADDR,
		    .src_port = (uint16_t)(1024 + (x >> 17) % (65536 - 1024)),
		    .dst_port = GT_SCENARIO_PORT,
		    .seq = (uint32_t)(x >> 32),
		    .flags = GT_TCP_SYN,
		    .wnd = 64240,
		    .mss = 1460,
		};
		if (gt_sim_send_raw(r->sim, HOST_ATTACKER, &syn) < 0) {
			r->fatal = -EINVAL;
			return;
		}
		f->last = now;
		f->next = ++f->sent < f->total ? f->next + GT_SCENARIO_FLOOD_GAP_US : GT_TIME_NEVER;
	}
}

/* ---- scripted faults ---- */

static bool drop_last_ack(void *user, const gt_sim_packet *p)
{
	run *r = user;
	if (!p->has_seg || r->last_ack_dropped)
		return false;
	if (p->from_host == HOST_SERVER && (p->seg.flags & GT_TCP_FIN)) {
		r->srv_fin_seen = true;
		r->srv_fin_end = p->seg.seq + p->seg.len + 1;
	}
	if (p->from_host == HOST_CLIENT && r->srv_fin_seen && p->seg.flags == GT_TCP_ACK &&
	    p->seg.ack == r->srv_fin_end) {
		r->last_ack_dropped = true;
		return true;
	}
	return false;
}

static int add_faults(run *r)
{
	gt_sim_fault f = {.from_host = HOST_CLIENT, .count = 1};
	switch (r->sc->fault) {
	case FAULT_NONE:
		return 0;
	case FAULT_FIRST_SYN:
		f.flags_all = GT_TCP_SYN;
		f.flags_exact = true;
		return gt_sim_add_fault(r->sim, &f);
	case FAULT_FIRST_FIN:
		f.flags_all = GT_TCP_FIN;
		return gt_sim_add_fault(r->sim, &f);
	case FAULT_LAST_ACK:
		gt_sim_set_fault_fn(r->sim, drop_last_ack, r);
		return 0;
	}
	return -EINVAL;
}

/* ---- checks ---- */

const char *gt_scenario_err_name(int err)
{
	switch (err) {
	case 0:
		return "no error";
	case -ECONNREFUSED:
		return "ECONNREFUSED";
	case -ECONNRESET:
		return "ECONNRESET";
	case -ETIMEDOUT:
		return "ETIMEDOUT";
	case -EPIPE:
		return "EPIPE";
	default:
		return "another error";
	}
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
failed(gt_scenario_result *res, const char *fmt, ...)
{
	if (!res->passed)
		return; /* the first failure is the one reported */
	res->passed = false;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->failure, sizeof res->failure, fmt, ap);
	va_end(ap);
}

static void check_stream(gt_scenario_result *res, const char *who, const app *a, uint64_t want)
{
	if (a->rx_bad)
		failed(res, "%s: byte %llu differs from what was sent", who,
		       (unsigned long long)a->rx_bad_at);
	else if (a->rx != want)
		failed(res, "%s read %llu bytes, %llu were sent", who, (unsigned long long)a->rx,
		       (unsigned long long)want);
}

static const char *waiting_for(phase ph)
{
	switch (ph) {
	case P_START:
		return "never started";
	case P_CONNECTING:
		return "was still waiting for its connection";
	case P_ACCEPTING:
		return "was still waiting for a connection to accept";
	case P_SENDING:
		return "was still sending its request";
	case P_RESPONDING:
		return "was still sending its response";
	case P_READ_EOF:
		return "was still waiting for the peer's FIN";
	case P_READ_ALL:
		return "was still waiting for the response";
	case P_TIMER:
		return "was still waiting to close";
	case P_TOGETHER:
		return "was still waiting for both ends to be connected";
	case P_READING:
		return "was still reading";
	case P_DONE:
		break;
	}
	return "was done";
}

static void check_app(gt_scenario_result *res, const char *who, const app *a)
{
	if (a->ph == P_DONE)
		return;
	int st = a->sock >= 0 ? gt_sock_state(a->st, a->sock) : -1;
	if (st >= 0)
		failed(res, "the %s application %s (its connection is in %s)", who,
		       waiting_for(a->ph), gt_tcp_state_name((gt_tcp_state)st));
	else
		failed(res, "the %s application %s", who, waiting_for(a->ph));
}

static void check(run *r, gt_scenario_result *res, bool timed_out)
{
	const struct gt_scenario_script *sc = r->sc;
	/* starved of SYN cookies, the client gives up and nothing is sent */
	const int want_cli = r->starved ? -ETIMEDOUT : sc->client_error;
	const uint64_t want_req = r->starved ? 0 : sc->request;
	const uint64_t want_resp = r->starved ? 0 : sc->response;
	res->passed = true;
	if (timed_out)
		failed(res, "still running at the virtual-time bound (%.3f s)",
		       (double)res->end_us / 1e6);
	/* the most telling first: an error nobody expected, an application left
	 * waiting, then an expected error that never came */
	if (r->cli.error && r->cli.error != want_cli)
		failed(res, "the client saw %s, expected %s", gt_scenario_err_name(r->cli.error),
		       gt_scenario_err_name(want_cli));
	if (r->srv.error && r->srv.error != sc->server_error)
		failed(res, "the server saw %s, expected %s", gt_scenario_err_name(r->srv.error),
		       gt_scenario_err_name(sc->server_error));
	check_app(res, "client", &r->cli);
	if (!(r->starved && r->srv.ph == P_ACCEPTING)) /* nobody came */
		check_app(res, "server", &r->srv);
	if (r->cli.error != want_cli)
		failed(res, "the client saw %s, expected %s", gt_scenario_err_name(r->cli.error),
		       gt_scenario_err_name(want_cli));
	if (r->srv.error != sc->server_error)
		failed(res, "the server saw %s, expected %s", gt_scenario_err_name(r->srv.error),
		       gt_scenario_err_name(sc->server_error));
	check_stream(res, "the server", &r->srv, want_req);
	check_stream(res, "the client", &r->cli, want_resp);
	size_t left_c = gt_stack_conn_count(gt_sim_stack(r->sim, HOST_CLIENT));
	size_t left_s = gt_stack_conn_count(gt_sim_stack(r->sim, HOST_SERVER));
	size_t listeners = r->srv.lsock >= 0 ? 1 : 0;
	if (left_c != 0 || left_s != listeners)
		failed(res, "connections left at the end: client %zu, server %zu", left_c,
		       left_s - listeners);
	if (sc->fault == FAULT_LAST_ACK && !r->last_ack_dropped)
		failed(res, "the client's last ACK was never sent");
	res->bytes_expected = want_req + want_resp;
	res->bytes_to_server = r->srv.rx;
	res->bytes_to_client = r->cli.rx;
	uint64_t ok_s = r->srv.rx_bad ? r->srv.rx_bad_at : r->srv.rx;
	uint64_t ok_c = r->cli.rx_bad ? r->cli.rx_bad_at : r->cli.rx;
	res->bytes_verified =
	    (ok_s < want_req ? ok_s : want_req) + (ok_c < want_resp ? ok_c : want_resp);
	res->client_error = r->cli.error;
	res->server_error = r->srv.error;
}

/* ---- the run ---- */

static void app_init(app *a, gt_stack *st, uint64_t tx_key, uint64_t rx_key)
{
	*a = (app){.st = st,
	           .lsock = -1,
	           .sock = -1,
	           .ph = P_START,
	           .wake = GT_TIME_NEVER,
	           .tx_key = tx_key,
	           .rx_key = rx_key};
}

static gt_time_us min_time(gt_time_us a, gt_time_us b)
{
	return a < b ? a : b;
}

/* The sim, its hosts (the attacker too for a flood), faults, links and
 * applications. Returns 0, or a negative errno with res->failure set. */
static int setup(run *r, const gt_scenario *sc, const gt_scenario_opts *o, gt_event_fn fn,
                 void *user, gt_scenario_result *res)
{
	r->sim = gt_sim_new(o->seed);
	if (!r->sim) {
		snprintf(res->failure, sizeof res->failure, "out of memory");
		return -ENOMEM;
	}
	if (fn)
		gt_sim_set_event_fn(r->sim, fn, user);
	gt_stack_config base;
	gt_stack_config_default(&base);
	if (o->profile && gt_stack_config_profile(&base, o->profile) < 0) {
		snprintf(res->failure, sizeof res->failure, "no profile '%s'", o->profile);
		return -EINVAL;
	}
	base.syncookies = o->syncookies;
	int rc = gt_sim_add_host(r->sim, "client", GT_SCENARIO_CLIENT_ADDR, &base);
	if (rc == HOST_CLIENT)
		rc = gt_sim_add_host(r->sim, "server", GT_SCENARIO_SERVER_ADDR, &base);
	if (rc == HOST_SERVER && sc->script->flood)
		rc = gt_sim_add_host(r->sim, "attacker", GT_SCENARIO_ATTACKER_ADDR, &base);
	if (rc >= HOST_SERVER)
		rc = add_faults(r);
	if (rc < 0) {
		snprintf(res->failure, sizeof res->failure, "cannot set up the network");
		return rc;
	}
	gt_link_params lp;
	gt_sim_link_default(&lp);
	lp.delay_us = (gt_time_us)o->delay_ms * MS;
	lp.loss = o->loss;
	gt_sim_set_link(r->sim, -1, -1, &lp);
	if (o->pcap)
		gt_sim_set_pcap(r->sim, o->pcap);

	uint64_t up = mix64(o->seed ^ 0x7570u), down = mix64(o->seed ^ 0x646f776eu);
	app_init(&r->cli, gt_sim_stack(r->sim, HOST_CLIENT), up, down);
	app_init(&r->srv, gt_sim_stack(r->sim, HOST_SERVER), down, up);
	r->fl = (flood){.next = GT_TIME_NEVER};
	if (sc->script->flood)
		r->fl = (flood){.total = GT_SCENARIO_FLOOD_SYNS, .next = 0};
	r->starved = sc->script->flood && o->syncookies == GT_SYNCOOKIES_OFF;
	return 0;
}

/* Steps the sim until the applications are done and nothing is pending, or
 * the bound. Returns whether the bound stopped it. */
static bool run_loop(run *r, gt_time_us bound)
{
	gt_stack *srv = gt_sim_stack(r->sim, HOST_SERVER);
	for (;;) {
		gt_time_us now = gt_sim_now(r->sim);
		flood_tick(r, now);
		tick(r, now);
		if (r->fatal)
			return false;
		gt_time_us next = gt_sim_next_time(r->sim);
		gt_time_us wake = min_time(min_time(r->cli.wake, r->srv.wake), r->fl.next);
		if (wake <= now)
			wake = now + 1; /* cannot happen: an application acts at once */
		if (next == GT_TIME_NEVER && wake == GT_TIME_NEVER)
			return false; /* nothing will ever happen again */
		if (min_time(next, wake) > bound)
			return true;
		if (wake < next)
			gt_sim_run_until(r->sim, wake);
		else
			gt_sim_step(r->sim);
		size_t conns = gt_stack_conn_count(srv);
		if (conns > r->server_conns_max)
			r->server_conns_max = conns;
	}
}

int gt_scenario_run(const gt_scenario *sc, const gt_scenario_opts *o, gt_event_fn fn, void *user,
                    gt_scenario_result *res)
{
	*res = (gt_scenario_result){0};
	if (!sc || !o || !(o->loss >= 0 && o->loss < 1) || o->delay_ms > 10000 ||
	    o->syncookies > GT_SYNCOOKIES_ALWAYS) {
		snprintf(res->failure, sizeof res->failure, "bad options");
		return -EINVAL;
	}
	run r = {.sc = sc->script, .together = GT_TIME_NEVER, .client_established = GT_TIME_NEVER};
	int rc = setup(&r, sc, o, fn, user, res);
	if (rc < 0) {
		gt_sim_free(r.sim);
		return rc;
	}
	gt_time_us bound = o->max_time_us ? o->max_time_us : GT_SCENARIO_MAX_TIME_US;
	bool timed_out = run_loop(&r, bound);
	res->end_us = gt_sim_now(r.sim);
	const gt_sim_stats *ss = gt_sim_get_stats(r.sim);
	res->segments = ss->packets_sent;
	res->lost = ss->lost + ss->faulted;
	for (int h = HOST_CLIENT; h <= HOST_SERVER; h++)
		res->rexmits += gt_stack_get_counters(gt_sim_stack(r.sim, h))->tx_rexmits;
	res->flood_syns = r.fl.sent;
	res->flood_end_us = r.fl.last;
	res->server_conns_max = r.server_conns_max;
	res->client_established_us = r.client_established;
	res->server_counters = *gt_stack_get_counters(gt_sim_stack(r.sim, HOST_SERVER));
	if (r.fatal) {
		gt_sim_free(r.sim);
		snprintf(res->failure, sizeof res->failure, "cannot set up the applications (%s)",
		         strerror(-r.fatal));
		return r.fatal;
	}
	check(&r, res, timed_out);
	gt_sim_free(r.sim);
	return res->passed ? 0 : 1;
}
