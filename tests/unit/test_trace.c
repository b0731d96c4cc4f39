/* Trace renderers: JSON Lines, pcap, the event log and the seed's table, fed
 * with hand-made events so they are tested independently of the engine. */
#include "support.h"
#include "trace/table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLIENT GT_TEST_ADDR(1)
#define SERVER GT_TEST_ADDR(2)
#define CPORT  49152
#define SPORT  80

/* ---- helpers ---- */

static gt_conn_tuple view(const char *host)
{
	if (strcmp(host, "client") == 0)
		return (gt_conn_tuple){CLIENT, SERVER, CPORT, SPORT};
	return (gt_conn_tuple){SERVER, CLIENT, SPORT, CPORT};
}

/* Captures what a writer produced, as one NUL-terminated string. */
typedef struct memout {
	FILE *f;
	char *buf;
	size_t len;
} memout;

static void mem_open(memout *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
}

static const char *mem_close(memout *m)
{
	assert_int_equal(fclose(m->f), 0);
	m->f = NULL;
	return m->buf;
}

static void rec_state(gt_trace_log *log, const char *host, gt_time_us t, gt_tcp_state from,
                      gt_tcp_state to, const char *cause)
{
	gt_event ev = {.kind = GT_EV_STATE,
	               .t_us = t,
	               .host = host,
	               .has_conn = true,
	               .conn = view(host),
	               .from = from,
	               .to = to,
	               .cause = cause};
	gt_trace_log_record(log, &ev);
}

static gt_event seg_event(gt_event_kind kind, const char *host, gt_time_us t, uint8_t flags,
                          uint32_t seq, uint32_t ack, uint32_t len)
{
	return (gt_event){.kind = kind,
	                  .t_us = t,
	                  .host = host,
	                  .has_conn = true,
	                  .conn = view(host),
	                  .has_seg = true,
	                  .seg = {.seq = seq,
	                          .ack = ack,
	                          .len = len,
	                          .win = strcmp(host, "client") == 0 ? 64240 : 65535,
	                          .flags = flags}};
}

/* A segment sent by `from` at t and, unless lost, received 10 ms later. */
static void rec_seg(gt_trace_log *log, const char *kind, const char *host, gt_time_us t,
                    uint8_t flags, uint32_t seq, uint32_t ack)
{
	gt_event_kind k = strcmp(kind, "tx") == 0 ? GT_EV_TX : GT_EV_RX;
	gt_event ev = seg_event(k, host, t, flags, seq, ack, 0);
	gt_trace_log_record(log, &ev);
}

static void rec_rexmit(gt_trace_log *log, const char *host, gt_time_us t, uint8_t flags,
                       uint32_t seq, uint32_t ack)
{
	gt_event ev = seg_event(GT_EV_TX, host, t, flags, seq, ack, 0);
	ev.seg.rexmit = true;
	gt_trace_log_record(log, &ev);
}

static void rec_drop(gt_trace_log *log, const char *host, gt_time_us t, uint8_t flags, uint32_t seq,
                     uint32_t ack, gt_drop_reason why)
{
	gt_event ev = seg_event(GT_EV_DROP, host, t, flags, seq, ack, 0);
	ev.reason = why;
	gt_trace_log_record(log, &ev);
}

enum { S = GT_TCP_SYN, A = GT_TCP_ACK, SA = GT_TCP_SYN | GT_TCP_ACK, FA = GT_TCP_FIN | GT_TCP_ACK };
#define ISN_C 1000u
#define ISN_S 4294967000u /* wraps during the connection: relative numbers must not care */
#define MS    1000u

/* Handshake and four-way close, in the order an engine logs them: a host's
 * transitions come after the rx that caused them and before the segment they
 * cause. */
static gt_trace_log *handshake_and_close(void)
{
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	/* The listener itself: not a connection between the two hosts. */
	gt_event listen = {.kind = GT_EV_STATE,
	                   .t_us = 0,
	                   .host = "server",
	                   .has_conn = true,
	                   .conn = {SERVER, 0, SPORT, 0},
	                   .from = GT_TCP_CLOSED,
	                   .to = GT_TCP_LISTEN,
	                   .cause = "listen()"};
	gt_trace_log_record(log, &listen);

	rec_state(log, "client", 0, GT_TCP_CLOSED, GT_TCP_SYN_SENT, "connect()");
	rec_seg(log, "tx", "client", 0, S, ISN_C, 0);
	rec_seg(log, "rx", "server", 10 * MS, S, ISN_C, 0);
	rec_state(log, "server", 10 * MS, GT_TCP_LISTEN, GT_TCP_SYN_RECEIVED, "rcv SYN");
	rec_seg(log, "tx", "server", 10 * MS, SA, ISN_S, ISN_C + 1);
	rec_seg(log, "rx", "client", 20 * MS, SA, ISN_S, ISN_C + 1);
	rec_state(log, "client", 20 * MS, GT_TCP_SYN_SENT, GT_TCP_ESTABLISHED, "rcv SYN,ACK");
	rec_seg(log, "tx", "client", 20 * MS, A, ISN_C + 1, ISN_S + 1);
	rec_seg(log, "rx", "server", 30 * MS, A, ISN_C + 1, ISN_S + 1);
	rec_state(log, "server", 30 * MS, GT_TCP_SYN_RECEIVED, GT_TCP_ESTABLISHED, "rcv ACK");

	rec_state(log, "client", 100 * MS, GT_TCP_ESTABLISHED, GT_TCP_FIN_WAIT_1, "close()");
	rec_seg(log, "tx", "client", 100 * MS, FA, ISN_C + 1, ISN_S + 1);
	rec_seg(log, "rx", "server", 110 * MS, FA, ISN_C + 1, ISN_S + 1);
	rec_state(log, "server", 110 * MS, GT_TCP_ESTABLISHED, GT_TCP_CLOSE_WAIT, "rcv FIN");
	rec_seg(log, "tx", "server", 110 * MS, A, ISN_S + 1, ISN_C + 2);
	rec_seg(log, "rx", "client", 120 * MS, A, ISN_S + 1, ISN_C + 2);
	rec_state(log, "client", 120 * MS, GT_TCP_FIN_WAIT_1, GT_TCP_FIN_WAIT_2, "rcv ACK of FIN");

	rec_state(log, "server", 200 * MS, GT_TCP_CLOSE_WAIT, GT_TCP_LAST_ACK, "close()");
	rec_seg(log, "tx", "server", 200 * MS, FA, ISN_S + 1, ISN_C + 2);
	rec_seg(log, "rx", "client", 210 * MS, FA, ISN_S + 1, ISN_C + 2);
	rec_state(log, "client", 210 * MS, GT_TCP_FIN_WAIT_2, GT_TCP_TIME_WAIT, "rcv FIN");
	rec_seg(log, "tx", "client", 210 * MS, A, ISN_C + 2, ISN_S + 2);
	rec_seg(log, "rx", "server", 220 * MS, A, ISN_C + 2, ISN_S + 2);
	rec_state(log, "server", 220 * MS, GT_TCP_LAST_ACK, GT_TCP_CLOSED, "rcv ACK of FIN");

	rec_state(log, "client", 60210 * MS, GT_TCP_TIME_WAIT, GT_TCP_CLOSED, "2MSL timeout");
	return log;
}

static void assert_row(const gt_table_row *r, gt_time_us t, const char *left, gt_table_dir dir,
                       const char *seg, const char *right)
{
	assert_int_equal(r->t_us, t);
	assert_string_equal(r->left, left);
	assert_int_equal(r->dir, dir);
	assert_string_equal(r->seg, seg);
	assert_string_equal(r->right, right);
}

/* ---- JSON Lines ---- */

static void test_jsonl_state(void **state)
{
	(void)state;
	memout m;
	mem_open(&m);
	gt_event ev = {.kind = GT_EV_STATE,
	               .t_us = 10000,
	               .host = "server",
	               .has_conn = true,
	               .conn = view("server"),
	               .from = GT_TCP_LISTEN,
	               .to = GT_TCP_SYN_RECEIVED,
	               .cause = "rcv SYN"};
	assert_int_equal(gt_trace_jsonl_write(m.f, &ev), 0);
	assert_string_equal(mem_close(&m),
	                    "{\"t_us\":10000,\"host\":\"server\",\"ev\":\"state\","
	                    "\"conn\":\"192.0.2.2:80>192.0.2.1:49152\",\"from\":\"LISTEN\","
	                    "\"to\":\"SYN_RECEIVED\",\"cause\":\"rcv SYN\"}\n");
	free(m.buf);
}

static void test_jsonl_segments(void **state)
{
	(void)state;
	memout m;
	mem_open(&m);
	gt_event tx = seg_event(GT_EV_TX, "client", 0, S, 12345, 0, 0);
	gt_event rx = seg_event(GT_EV_RX, "server", 10000, S, 12345, 0, 0);
	gt_event re = seg_event(GT_EV_TX, "client", 1000000, GT_TCP_PSH | A, 1, 2, 100);
	re.seg.rexmit = true;
	assert_int_equal(gt_trace_jsonl_write(m.f, &tx), 0);
	assert_int_equal(gt_trace_jsonl_write(m.f, &rx), 0);
	assert_int_equal(gt_trace_jsonl_write(m.f, &re), 0);
	assert_string_equal(
	    mem_close(&m),
	    "{\"t_us\":0,\"host\":\"client\",\"ev\":\"tx\",\"conn\":\"192.0.2.1:49152>192.0.2.2:"
	    "80\","
	    "\"flags\":\"S\",\"seq\":12345,\"ack\":0,\"win\":64240,\"len\":0}\n"
	    "{\"t_us\":10000,\"host\":\"server\",\"ev\":\"rx\",\"conn\":\"192.0.2.2:80>192.0.2.1:"
	    "49152\","
	    "\"flags\":\"S\",\"seq\":12345,\"ack\":0,\"win\":65535,\"len\":0}\n"
	    "{\"t_us\":1000000,\"host\":\"client\",\"ev\":\"tx\","
	    "\"conn\":\"192.0.2.1:49152>192.0.2.2:80\",\"flags\":\"PA\",\"seq\":1,\"ack\":2,"
	    "\"win\":64240,\"len\":100,\"rexmit\":true}\n");
	free(m.buf);
	/* a SYN cookie's SYN-ACK says so */
	mem_open(&m);
	gt_event ck = seg_event(GT_EV_TX, "server", 7, SA, 99, 12346, 0);
	ck.seg.syncookie = true;
	assert_int_equal(gt_trace_jsonl_write(m.f, &ck), 0);
	assert_non_null(strstr(mem_close(&m), "\"len\":0,\"syncookie\":true}\n"));
	free(m.buf);
}

static void test_jsonl_drop(void **state)
{
	(void)state;
	memout m;
	mem_open(&m);
	gt_event lost = seg_event(GT_EV_DROP, "server", 5, SA, 1, 2, 0);
	lost.reason = GT_DROP_SIM_LOSS;
	/* Unparseable: no tuple, no header fields, but the reason is kept. */
	gt_event junk = {
	    .kind = GT_EV_DROP, .t_us = 6, .host = "server", .reason = GT_DROP_TRUNCATED};
	assert_int_equal(gt_trace_jsonl_write(m.f, &lost), 0);
	assert_int_equal(gt_trace_jsonl_write(m.f, &junk), 0);
	assert_string_equal(mem_close(&m), "{\"t_us\":5,\"host\":\"server\",\"ev\":\"drop\","
	                                   "\"conn\":\"192.0.2.2:80>192.0.2.1:49152\","
	                                   "\"flags\":\"SA\",\"seq\":1,\"ack\":2,\"win\":65535,"
	                                   "\"len\":0,\"reason\":\"sim_loss\"}\n"
	                                   "{\"t_us\":6,\"host\":\"server\",\"ev\":\"drop\","
	                                   "\"conn\":null,\"reason\":\"truncated\"}\n");
	free(m.buf);
}

static void test_jsonl_escaping(void **state)
{
	(void)state;
	memout m;
	mem_open(&m);
	gt_event ev = {.kind = GT_EV_STATE,
	               .t_us = 1,
	               .host = "a\"b\\c\n\x01",
	               .from = GT_TCP_CLOSED,
	               .to = GT_TCP_LISTEN,
	               .cause = NULL};
	assert_int_equal(gt_trace_jsonl_write(m.f, &ev), 0);
	assert_string_equal(
	    mem_close(&m), "{\"t_us\":1,\"host\":\"a\\\"b\\\\c\\n\\u0001\",\"ev\":\"state\","
	                   "\"conn\":null,\"from\":\"CLOSED\",\"to\":\"LISTEN\",\"cause\":null}\n");
	free(m.buf);
}

static void test_jsonl_skips_socket_events(void **state)
{
	(void)state;
	memout m;
	mem_open(&m);
	gt_event ev = {
	    .kind = GT_EV_SOCKET, .t_us = 1, .host = "client", .sock = 3, .ready = GT_POLLOUT};
	assert_int_equal(gt_trace_jsonl_write(m.f, &ev), 0);
	assert_string_equal(mem_close(&m), "");
	free(m.buf);
}

static void test_jsonl_write_error(void **state)
{
	(void)state;
	FILE *f = fopen("/dev/full", "w");
	if (!f)
		skip();
	setvbuf(f, NULL, _IONBF, 0);
	gt_event ev = seg_event(GT_EV_TX, "client", 0, S, 1, 0, 0);
	assert_int_equal(gt_trace_jsonl_write(f, &ev), -EIO);
	fclose(f);
}

/* ---- pcap ---- */

static uint32_t u32_at(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint16_t u16_at(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static void test_pcap_two_packets(void **state)
{
	(void)state;
	char path[] = "/tmp/gt_test_pcap_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);

	uint8_t p1[40], p2[52];
	for (size_t i = 0; i < sizeof p1; i++)
		p1[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof p2; i++)
		p2[i] = (uint8_t)(0xff - i);
	gt_pcap_writer *w = gt_pcap_open(path);
	assert_non_null(w);
	gt_pcap_write_packet(w, 0, p1, sizeof p1);
	gt_pcap_write_packet(w, 3 * 1000000u + 250, p2, sizeof p2);
	assert_int_equal(gt_pcap_close(w), 0);

	uint8_t buf[256];
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	unlink(path);
	assert_int_equal(n, 24 + 16 + sizeof p1 + 16 + sizeof p2);

	assert_int_equal(u32_at(buf + 0), 0xa1b2c3d4u); /* native order, microseconds */
	assert_int_equal(u16_at(buf + 4), 2);
	assert_int_equal(u16_at(buf + 6), 4);
	assert_int_equal(u32_at(buf + 8), 0);
	assert_int_equal(u32_at(buf + 12), 0);
	assert_int_equal(u32_at(buf + 16), 65535);
	assert_int_equal(u32_at(buf + 20), 101);

	const uint8_t *r = buf + 24;
	assert_int_equal(u32_at(r + 0), 0);
	assert_int_equal(u32_at(r + 4), 0);
	assert_int_equal(u32_at(r + 8), sizeof p1);
	assert_int_equal(u32_at(r + 12), sizeof p1);
	assert_memory_equal(r + 16, p1, sizeof p1);

	r += 16 + sizeof p1;
	assert_int_equal(u32_at(r + 0), 3);
	assert_int_equal(u32_at(r + 4), 250);
	assert_int_equal(u32_at(r + 8), sizeof p2);
	assert_int_equal(u32_at(r + 12), sizeof p2);
	assert_memory_equal(r + 16, p2, sizeof p2);
}

static void test_pcap_open_fails(void **state)
{
	(void)state;
	errno = 0;
	assert_null(gt_pcap_open("/nonexistent-dir/x.pcap"));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(gt_pcap_close(NULL), 0);
}

/* ---- the event log ---- */

static void test_log_deep_copies(void **state)
{
	(void)state;
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	char host[16], cause[16];
	uint8_t pkt[4] = {1, 2, 3, 4};
	strcpy(host, "client");
	strcpy(cause, "connect()");
	gt_event ev = {.kind = GT_EV_STATE,
	               .t_us = 7,
	               .host = host,
	               .cause = cause,
	               .from = GT_TCP_CLOSED,
	               .to = GT_TCP_SYN_SENT};
	gt_trace_log_record(log, &ev);
	gt_event tx = seg_event(GT_EV_TX, host, 8, S, 1, 0, 0);
	tx.pkt = pkt;
	tx.pkt_len = sizeof pkt;
	gt_trace_log_record(log, &tx);

	/* The caller's buffers are reused after the callback returns. */
	strcpy(host, "XXXX");
	strcpy(cause, "YYYY");
	pkt[0] = 9;

	assert_int_equal(gt_trace_log_count(log), 2);
	const gt_event *a = gt_trace_log_get(log, 0), *b = gt_trace_log_get(log, 1);
	assert_string_equal(a->host, "client");
	assert_string_equal(a->cause, "connect()");
	assert_int_equal(a->t_us, 7);
	assert_string_equal(b->host, "client");
	assert_ptr_equal(a->host, b->host); /* interned */
	assert_null(b->cause);
	assert_int_equal(b->pkt_len, 4);
	assert_int_equal(b->pkt[0], 1);
	assert_true(b->has_seg);
	assert_int_equal(b->seg.flags, S);
	assert_null(gt_trace_log_get(log, 2));

	/* Many events: earlier copies survive the array growing. */
	for (int i = 0; i < 1000; i++)
		gt_trace_log_record(log, &tx);
	assert_int_equal(gt_trace_log_count(log), 1002);
	assert_string_equal(gt_trace_log_get(log, 0)->cause, "connect()");
	assert_int_equal(gt_trace_log_get(log, 1001)->pkt[3], 4);
	gt_trace_log_free(log);
	gt_trace_log_free(NULL);
}

/* ---- the seed's table ---- */

static void test_table_rows(void **state)
{
	(void)state;
	gt_trace_log *log = handshake_and_close();
	gt_table_opts opts = {.left_host = "client", .right_host = "server"};
	gt_table t;
	assert_int_equal(gt_trace_table_build(log, &opts, &t), 0);
	assert_int_equal(t.nconns, 1);
	assert_int_equal(t.conns[0].local_addr, CLIENT);
	assert_int_equal(t.conns[0].remote_port, SPORT);
	assert_int_equal(t.nrows, 8);

	const gt_table_dir R = GT_TABLE_DIR_RIGHT, L = GT_TABLE_DIR_LEFT;
	assert_row(&t.rows[0], 0, "CLOSED -> SYN_SENT", R, "S seq=0 win=64240", "LISTEN");
	assert_row(&t.rows[1], 10 * MS, "SYN_SENT", L, "SA seq=0 ack=1 win=65535",
	           "LISTEN -> SYN_RECEIVED");
	assert_row(&t.rows[2], 20 * MS, "SYN_SENT -> ESTABLISHED", R, "A seq=1 ack=1 win=64240",
	           "SYN_RECEIVED -> ESTABLISHED");
	assert_row(&t.rows[3], 100 * MS, "ESTABLISHED -> FIN_WAIT_1", R, "FA seq=1 ack=1 win=64240",
	           "ESTABLISHED");
	assert_row(&t.rows[4], 110 * MS, "FIN_WAIT_1 -> FIN_WAIT_2", L, "A seq=1 ack=2 win=65535",
	           "ESTABLISHED -> CLOSE_WAIT");
	assert_row(&t.rows[5], 200 * MS, "FIN_WAIT_2", L, "FA seq=1 ack=2 win=65535",
	           "CLOSE_WAIT -> LAST_ACK");
	assert_row(&t.rows[6], 210 * MS, "FIN_WAIT_2 -> TIME_WAIT", R, "A seq=2 ack=2 win=64240",
	           "LAST_ACK -> CLOSED");
	assert_row(&t.rows[7], 60210 * MS, "TIME_WAIT -> CLOSED", GT_TABLE_DIR_NONE, "", "");
	for (size_t i = 0; i < t.nrows; i++)
		assert_false(t.rows[i].lost);

	/* Arrows point from the sender and all have one width. */
	size_t w = strlen(t.rows[0].arrow);
	assert_true(strncmp(t.rows[0].arrow, "---- S  seq=0 win=64240 ", 24) == 0);
	assert_int_equal(t.rows[0].arrow[w - 1], '>');
	assert_true(strncmp(t.rows[1].arrow, "<--- SA seq=0 ack=1 win=65535 -", 31) == 0);
	assert_int_equal(t.rows[1].arrow[w - 1], '-');
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(strlen(t.rows[i].arrow), w);
	assert_string_equal(t.rows[7].arrow, "");

	gt_trace_table_free(&t);
	gt_trace_log_free(log);
}

static void test_table_absolute(void **state)
{
	(void)state;
	gt_trace_log *log = handshake_and_close();
	gt_table_opts opts = {.left_host = "client", .right_host = "server", .absolute_seq = true};
	gt_table t;
	assert_int_equal(gt_trace_table_build(log, &opts, &t), 0);
	assert_string_equal(t.rows[0].seg, "S seq=1000 win=64240");
	assert_string_equal(t.rows[1].seg, "SA seq=4294967000 ack=1001 win=65535");
	gt_trace_table_free(&t);
	gt_trace_log_free(log);
}

/* Splits printed text into lines for exact comparison. */
static size_t split_lines(char *text, char **lines, size_t max)
{
	size_t n = 0;
	for (char *p = text; *p && n < max;) {
		lines[n++] = p;
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return n;
}

static void test_table_print(void **state)
{
	(void)state;
	gt_trace_log *log = handshake_and_close();
	gt_table_opts opts = {.left_host = "client", .right_host = "server"};
	memout m;
	mem_open(&m);
	assert_int_equal(gt_trace_table_print(m.f, log, &opts), 0);
	char *text = (char *)mem_close(&m);
	char *lines[16];
	size_t n = split_lines(text, lines, 16);
	assert_int_equal(n, 9);
	/* Column widths come from the content: the widest left cell is
	 * "ESTABLISHED -> FIN_WAIT_1" (25), the widest segment label 24. */
	/* Column widths come from the content: the widest left cell is
	 * "ESTABLISHED -> FIN_WAIT_1", the widest time "60210.000". */
	assert_string_equal(lines[0], "  t (ms)    client                      "
	                              "segment                             server");
	assert_string_equal(lines[1], "    0.000   CLOSED -> SYN_SENT          "
	                              "---- S  seq=0 win=64240 --------->  LISTEN");
	assert_string_equal(lines[2], "   10.000   SYN_SENT                    "
	                              "<--- SA seq=0 ack=1 win=65535 ----  LISTEN -> SYN_RECEIVED");
	assert_string_equal(lines[3],
	                    "   20.000   SYN_SENT -> ESTABLISHED     "
	                    "---- A  seq=1 ack=1 win=64240 --->  SYN_RECEIVED -> ESTABLISHED");
	assert_string_equal(lines[4], "  100.000   ESTABLISHED -> FIN_WAIT_1   "
	                              "---- FA seq=1 ack=1 win=64240 --->  ESTABLISHED");
	assert_string_equal(lines[5],
	                    "  110.000   FIN_WAIT_1 -> FIN_WAIT_2    "
	                    "<--- A  seq=1 ack=2 win=65535 ----  ESTABLISHED -> CLOSE_WAIT");
	assert_string_equal(lines[6], "  200.000   FIN_WAIT_2                  "
	                              "<--- FA seq=1 ack=2 win=65535 ----  CLOSE_WAIT -> LAST_ACK");
	assert_string_equal(lines[7], "  210.000   FIN_WAIT_2 -> TIME_WAIT     "
	                              "---- A  seq=2 ack=2 win=64240 --->  LAST_ACK -> CLOSED");
	/* A transition with no segment: a row without an arrow. */
	assert_string_equal(lines[8], "60210.000   TIME_WAIT -> CLOSED");
	free(text);
	gt_trace_log_free(log);
}

/* Records tx (already recorded) as received by host at t. */
static void record_arrival(gt_trace_log *log, const gt_event *tx, const char *host, gt_time_us t)
{
	gt_event rx = *tx;
	rx.kind = GT_EV_RX;
	rx.host = host;
	rx.conn = view(host);
	rx.t_us = t;
	gt_trace_log_record(log, &rx);
}

/* RFC 7323 §2.3: with window scaling the table shows the window in bytes
 * (wnd), not the raw field; a SYN's window is never scaled. */
static void test_table_scaled_window(void **state)
{
	(void)state;
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	gt_event ev = seg_event(GT_EV_TX, "client", 0, S, ISN_C, 0, 0);
	ev.seg.wnd = ev.seg.win; /* SYN: unscaled */
	gt_trace_log_record(log, &ev);
	record_arrival(log, &ev, "server", 10 * MS);
	ev = seg_event(GT_EV_TX, "server", 10 * MS, SA, ISN_S, ISN_C + 1, 0);
	ev.seg.wnd = ev.seg.win;
	gt_trace_log_record(log, &ev);
	record_arrival(log, &ev, "client", 20 * MS);
	ev = seg_event(GT_EV_TX, "client", 20 * MS, A, ISN_C + 1, ISN_S + 1, 0);
	ev.seg.win = 64;
	ev.seg.wnd = 64u << 7; /* Linux's usual shift */
	gt_trace_log_record(log, &ev);
	record_arrival(log, &ev, "server", 30 * MS);

	gt_table_opts opts = {.left_host = "client", .right_host = "server"};
	gt_table t;
	assert_int_equal(gt_trace_table_build(log, &opts, &t), 0);
	assert_int_equal(t.nrows, 3);
	assert_string_equal(t.rows[0].seg, "S seq=0 win=64240");
	assert_string_equal(t.rows[1].seg, "SA seq=0 ack=1 win=65535");
	assert_string_equal(t.rows[2].seg, "A seq=1 ack=1 win=8192");
	gt_trace_table_free(&t);
	gt_trace_log_free(log);
}

/* Times are printed from the log's first event: a trace on a real clock
 * (CLOCK_MONOTONIC, days of uptime) prints as one starting at 0 does. */
static void test_table_relative_time(void **state)
{
	(void)state;
	const gt_time_us offset = 3ull * 24 * 3600 * 1000000 + 123456; /* 3 days */
	gt_trace_log *log = handshake_and_close();
	gt_trace_log *later = gt_trace_log_new();
	assert_non_null(later);
	for (size_t i = 0; i < gt_trace_log_count(log); i++) {
		gt_event ev = *gt_trace_log_get(log, i);
		ev.t_us += offset;
		gt_trace_log_record(later, &ev);
	}
	gt_table_opts opts = {.left_host = "client", .right_host = "server"};
	memout a, b;
	mem_open(&a);
	assert_int_equal(gt_trace_table_print(a.f, log, &opts), 0);
	mem_open(&b);
	assert_int_equal(gt_trace_table_print(b.f, later, &opts), 0);
	const char *want = mem_close(&a), *got = mem_close(&b);
	assert_non_null(strstr(got, "\n    0.000   CLOSED -> SYN_SENT"));
	assert_non_null(strstr(got, "\n60210.000   TIME_WAIT -> CLOSED"));
	assert_string_equal(got, want);
	free(a.buf);
	free(b.buf);
	gt_trace_log_free(later);
	gt_trace_log_free(log);
}

static void test_table_lost_segments(void **state)
{
	(void)state;
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	/* SYN lost on the link (the simulator logs the loss right after the
	 * tx), retransmitted after 1 s; the SYN-ACK hits a scripted fault and
	 * is retransmitted; the client's FIN is never heard of again. */
	rec_state(log, "client", 0, GT_TCP_CLOSED, GT_TCP_SYN_SENT, "connect()");
	rec_seg(log, "tx", "client", 0, S, ISN_C, 0);
	rec_drop(log, "server", 0, S, ISN_C, 0, GT_DROP_SIM_LOSS);
	rec_rexmit(log, "client", 1000 * MS, S, ISN_C, 0);
	rec_seg(log, "rx", "server", 1010 * MS, S, ISN_C, 0);
	rec_state(log, "server", 1010 * MS, GT_TCP_LISTEN, GT_TCP_SYN_RECEIVED, "rcv SYN");
	rec_seg(log, "tx", "server", 1010 * MS, SA, ISN_S, ISN_C + 1);
	rec_drop(log, "client", 1010 * MS, SA, ISN_S, ISN_C + 1, GT_DROP_SIM_FAULT);
	rec_rexmit(log, "server", 2010 * MS, SA, ISN_S, ISN_C + 1);
	rec_seg(log, "rx", "client", 2020 * MS, SA, ISN_S, ISN_C + 1);
	rec_state(log, "client", 2020 * MS, GT_TCP_SYN_SENT, GT_TCP_ESTABLISHED, "rcv SYN,ACK");
	rec_seg(log, "tx", "client", 2020 * MS, A, ISN_C + 1, ISN_S + 1);
	rec_seg(log, "rx", "server", 2030 * MS, A, ISN_C + 1, ISN_S + 1);
	/* An engine drop after the rx: shown as a note, not as a loss. */
	rec_drop(log, "server", 2030 * MS, A, ISN_C + 1, ISN_S + 1, GT_DROP_BAD_ACK);
	rec_state(log, "client", 3000 * MS, GT_TCP_ESTABLISHED, GT_TCP_FIN_WAIT_1, "close()");
	rec_seg(log, "tx", "client", 3000 * MS, FA, ISN_C + 1, ISN_S + 1);

	gt_table_opts opts = {.left_host = "client", .right_host = "server"};
	gt_table t;
	assert_int_equal(gt_trace_table_build(log, &opts, &t), 0);
	assert_int_equal(t.nrows, 6);
	const gt_table_dir R = GT_TABLE_DIR_RIGHT, L = GT_TABLE_DIR_LEFT;
	assert_row(&t.rows[0], 0, "CLOSED -> SYN_SENT", R, "S seq=0 win=64240", "");
	assert_true(t.rows[0].lost);
	size_t w = strlen(t.rows[0].arrow);
	assert_int_equal(t.rows[0].arrow[w - 1], 'X');

	assert_row(&t.rows[1], 1000 * MS, "SYN_SENT", R, "S seq=0 win=64240 (rexmit)", "LISTEN");
	assert_false(t.rows[1].lost);

	assert_row(&t.rows[2], 1010 * MS, "", L, "SA seq=0 ack=1 win=65535",
	           "LISTEN -> SYN_RECEIVED");
	assert_true(t.rows[2].lost);
	assert_true(strncmp(t.rows[2].arrow, "X--- SA ", 8) == 0);

	assert_row(&t.rows[3], 2010 * MS, "SYN_SENT", L, "SA seq=0 ack=1 win=65535 (rexmit)",
	           "SYN_RECEIVED");
	assert_row(&t.rows[4], 2020 * MS, "SYN_SENT -> ESTABLISHED", R,
	           "A seq=1 ack=1 win=64240 [dropped: bad_ack]", "SYN_RECEIVED");
	assert_false(t.rows[4].lost);
	assert_row(&t.rows[5], 3000 * MS, "ESTABLISHED -> FIN_WAIT_1", R,
	           "FA seq=1 ack=1 win=64240", "");
	assert_true(t.rows[5].lost);
	gt_trace_table_free(&t);

	memout m;
	mem_open(&m);
	assert_int_equal(gt_trace_table_print(m.f, log, &opts), 0);
	const char *text = mem_close(&m);
	assert_non_null(strstr(text, "---- S  seq=0 win=64240 "));
	assert_non_null(strstr(text, "--X\n"));
	assert_non_null(strstr(text, "   X--- SA seq=0 ack=1 win=65535 -"));
	free(m.buf);
	gt_trace_log_free(log);
}

static void test_table_several_connections(void **state)
{
	(void)state;
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	gt_conn_tuple c2 = {CLIENT, SERVER, CPORT + 1, SPORT};
	gt_conn_tuple s2 = {SERVER, CLIENT, SPORT, CPORT + 1};
	gt_conn_tuple other = {CLIENT, GT_TEST_ADDR(9), CPORT + 2, SPORT};

	rec_state(log, "client", 0, GT_TCP_CLOSED, GT_TCP_SYN_SENT, "connect()");
	rec_seg(log, "tx", "client", 0, S, ISN_C, 0);
	gt_event e = seg_event(GT_EV_TX, "client", 5, S, 77, 0, 0);
	e.conn = c2;
	gt_trace_log_record(log, &e);
	/* A third host's connection, and a third host's events: left out. */
	e.conn = other;
	gt_trace_log_record(log, &e);
	e = seg_event(GT_EV_TX, "router", 6, S, 1, 0, 0);
	gt_trace_log_record(log, &e);
	rec_seg(log, "rx", "server", 10 * MS, S, ISN_C, 0);
	e = seg_event(GT_EV_RX, "server", 10 * MS + 5, S, 77, 0, 0);
	e.conn = s2;
	gt_trace_log_record(log, &e);

	gt_table_opts opts = {.left_host = "client", .right_host = "server"};
	gt_table t;
	assert_int_equal(gt_trace_table_build(log, &opts, &t), 0);
	assert_int_equal(t.nconns, 2);
	assert_int_equal(t.nrows, 2);
	assert_int_equal(t.rows[0].conn, 0);
	assert_int_equal(t.rows[1].conn, 1);
	assert_string_equal(t.rows[1].seg, "S seq=0 win=64240");
	/* The receiver never changed state on this connection. */
	assert_string_equal(t.rows[1].right, "CLOSED");
	gt_trace_table_free(&t);

	memout m;
	mem_open(&m);
	assert_int_equal(gt_trace_table_print(m.f, log, &opts), 0);
	const char *text = mem_close(&m);
	assert_non_null(strstr(text, "\n\nconnection 192.0.2.1:49152 > 192.0.2.2:80\n"));
	assert_non_null(strstr(text, "\n\nconnection 192.0.2.1:49153 > 192.0.2.2:80\n"));
	free(m.buf);
	gt_trace_log_free(log);
}

/* One capture point: glasstcp ("server") on a TUN device logs its segments; the
 * Linux kernel ("client") shows up only through its tracepoint's state changes,
 * a few microseconds off glasstcp's clock, and logged late (read from the trace
 * pipe after the fact). Its segments are glasstcp's rx and tx; its state
 * changes land next to the segment that caused or carried them. */
static void test_table_one_capture_point(void **state)
{
	(void)state;
	gt_trace_log *log = gt_trace_log_new();
	assert_non_null(log);
	rec_seg(log, "rx", "server", 1000, S, ISN_C, 0);
	rec_state(log, "server", 1000, GT_TCP_LISTEN, GT_TCP_SYN_RECEIVED, "rcv SYN");
	rec_seg(log, "tx", "server", 1000, SA, ISN_S, ISN_C + 1);
	rec_seg(log, "rx", "server", 1100, A, ISN_C + 1, ISN_S + 1);
	rec_state(log, "server", 1100, GT_TCP_SYN_RECEIVED, GT_TCP_ESTABLISHED, "rcv ACK of SYN");
	rec_seg(log, "rx", "server", 50000, FA, ISN_C + 1, ISN_S + 1);
	rec_state(log, "server", 50000, GT_TCP_ESTABLISHED, GT_TCP_CLOSE_WAIT, "rcv FIN");
	rec_seg(log, "tx", "server", 90000, A, ISN_S + 1, ISN_C + 2);
	rec_state(log, "server", 150000, GT_TCP_CLOSE_WAIT, GT_TCP_LAST_ACK, "close()");
	rec_seg(log, "tx", "server", 150000, FA, ISN_S + 1, ISN_C + 2);
	rec_seg(log, "rx", "server", 150080, A, ISN_C + 2, ISN_S + 2);
	rec_state(log, "server", 150080, GT_TCP_LAST_ACK, GT_TCP_CLOSED, "rcv ACK of FIN");
	/* the kernel's view, read late */
	rec_state(log, "client", 980, GT_TCP_CLOSED, GT_TCP_SYN_SENT, "linux");
	rec_state(log, "client", 1060, GT_TCP_SYN_SENT, GT_TCP_ESTABLISHED, "linux");
	rec_state(log, "client", 49990, GT_TCP_ESTABLISHED, GT_TCP_FIN_WAIT_1, "linux");
	rec_state(log, "client", 90040, GT_TCP_FIN_WAIT_1, GT_TCP_FIN_WAIT_2, "linux");
	rec_state(log, "client", 150030, GT_TCP_FIN_WAIT_2, GT_TCP_TIME_WAIT, "linux");
	rec_state(log, "client", 60150030, GT_TCP_TIME_WAIT, GT_TCP_CLOSED, "linux");

	gt_table_opts opts = {.left_host = "client", .right_host = "server"};
	gt_table t;
	assert_int_equal(gt_trace_table_build(log, &opts, &t), 0);
	assert_int_equal(t.nconns, 1);
	assert_int_equal(t.nrows, 8);
	const gt_table_dir R = GT_TABLE_DIR_RIGHT, L = GT_TABLE_DIR_LEFT;
	assert_row(&t.rows[0], 1000, "CLOSED -> SYN_SENT", R, "S seq=0 win=65535", "LISTEN");
	/* SYN_SENT -> ESTABLISHED at 1060 is nearer the ACK it sent (1100) than
	 * the SYN,ACK it received (1000), but only a SYN,ACK causes it */
	assert_row(&t.rows[1], 1000, "SYN_SENT -> ESTABLISHED", L, "SA seq=0 ack=1 win=65535",
	           "LISTEN -> SYN_RECEIVED");
	assert_row(&t.rows[2], 1100, "ESTABLISHED", R, "A seq=1 ack=1 win=65535",
	           "SYN_RECEIVED -> ESTABLISHED");
	assert_row(&t.rows[3], 50000, "ESTABLISHED -> FIN_WAIT_1", R, "FA seq=1 ack=1 win=65535",
	           "ESTABLISHED -> CLOSE_WAIT");
	assert_row(&t.rows[4], 90000, "FIN_WAIT_1 -> FIN_WAIT_2", L, "A seq=1 ack=2 win=65535",
	           "CLOSE_WAIT");
	assert_row(&t.rows[5], 150000, "FIN_WAIT_2 -> TIME_WAIT", L, "FA seq=1 ack=2 win=65535",
	           "CLOSE_WAIT -> LAST_ACK");
	assert_row(&t.rows[6], 150080, "TIME_WAIT", R, "A seq=2 ack=2 win=65535",
	           "LAST_ACK -> CLOSED");
	assert_row(&t.rows[7], 60150030, "TIME_WAIT -> CLOSED", GT_TABLE_DIR_NONE, "", "");
	gt_trace_table_free(&t);
	gt_trace_log_free(log);
}

static void test_table_empty(void **state)
{
	(void)state;
	gt_trace_log *log = gt_trace_log_new();
	memout m;
	mem_open(&m);
	assert_int_equal(gt_trace_table_print(m.f, log, NULL), 0);
	assert_string_equal(mem_close(&m), "  t (ms)   client   segment  server\n");
	free(m.buf);
	gt_trace_log_free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jsonl_state),
	    cmocka_unit_test(test_jsonl_segments),
	    cmocka_unit_test(test_jsonl_drop),
	    cmocka_unit_test(test_jsonl_escaping),
	    cmocka_unit_test(test_jsonl_skips_socket_events),
	    cmocka_unit_test(test_jsonl_write_error),
	    cmocka_unit_test(test_pcap_two_packets),
	    cmocka_unit_test(test_pcap_open_fails),
	    cmocka_unit_test(test_log_deep_copies),
	    cmocka_unit_test(test_table_rows),
	    cmocka_unit_test(test_table_absolute),
	    cmocka_unit_test(test_table_print),
	    cmocka_unit_test(test_table_scaled_window),
	    cmocka_unit_test(test_table_relative_time),
	    cmocka_unit_test(test_table_lost_segments),
	    cmocka_unit_test(test_table_several_connections),
	    cmocka_unit_test(test_table_one_capture_point),
	    cmocka_unit_test(test_table_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
