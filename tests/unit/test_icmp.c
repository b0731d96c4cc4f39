/* ICMP errors about our segments: RFC 1122 §4.2.3.9 (hard and soft errors),
 * RFC 5461 (soft in the synchronized states), RFC 1191 (path MTU discovery),
 * RFC 5927 §4.1 (the quoted sequence number must be in flight) and RFC 6633
 * (source quench ignored). Each ICMP message quotes a packet the stack really
 * sent. */
#include "fixture.h"
#include "stack/stack_impl.h"

#include <errno.h>
#include <string.h>

#define ROUTER_ADDR GT_TEST_ADDR(254)

/* A copy of a packet the stack sent, to quote. */
typedef struct sent {
	uint8_t raw[1600];
	size_t len;
} sent;

static sent keep(const fx_pkt *p)
{
	sent s;
	assert_true(p->len <= sizeof(s.raw));
	memcpy(s.raw, p->raw, p->len);
	s.len = p->len;
	return s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Sends an ICMP message from `from` quoting `quote_len` bytes of q (the IPv4
 * header and what follows), with `mtu` in the low half of the second word.
 * bad_csum spoils the ICMP checksum. */
static void send_icmp_ex(uint32_t from, uint8_t type, uint8_t code, uint16_t mtu, const sent *q,
                         size_t quote_len, bool bad_csum)
{
	uint8_t pkt[2000];
	memset(pkt, 0, sizeof(pkt));
	size_t icmp_len = 8 + quote_len;
	size_t total = GT_IPV4_HDR_LEN + icmp_len;
	pkt[0] = 0x45;
	put16(pkt + 2, (uint16_t)total);
	pkt[8] = 64;
	pkt[9] = 1; /* ICMP */
	put32(pkt + 12, from);
	put32(pkt + 16, FX_LOCAL_ADDR);
	put16(pkt + 10, (uint16_t)~gt_csum_fold(gt_csum_add(0, pkt, GT_IPV4_HDR_LEN)));
	uint8_t *icmp = pkt + GT_IPV4_HDR_LEN;
	icmp[0] = type;
	icmp[1] = code;
	put16(icmp + 6, mtu);
	memcpy(icmp + 8, q->raw, quote_len);
	uint16_t c = (uint16_t)~gt_csum_fold(gt_csum_add(0, icmp, icmp_len));
	put16(icmp + 2, bad_csum ? (uint16_t)(c ^ 0x0101) : c);
	gt_stack_input(F.st, pkt, total, F.now);
}

/* The RFC 792 quote: the IPv4 header and the first 8 octets of TCP. */
static void send_icmp(uint8_t type, uint8_t code, uint16_t mtu, const sent *q)
{
	send_icmp_ex(ROUTER_ADDR, type, code, mtu, q, GT_IPV4_HDR_LEN + 8, false);
}

/* A quote of q with its sequence number changed. */
static sent with_seq(const sent *q, uint32_t seq)
{
	sent s = *q;
	put32(s.raw + GT_IPV4_HDR_LEN + 4, seq);
	return s;
}

static uint64_t icmp_count(void)
{
	return gt_stack_get_counters(F.st)->rx_icmp_errors;
}

/* RFC 1122 §4.2.3.9: port unreachable is a hard error; while the connection
 * opens (SYN_SENT) it aborts it: ECONNREFUSED, as an RST would. */
static void test_port_unreachable_in_syn_sent_refuses(void **state)
{
	fx_syn_sent(&F);
	sent syn = keep(&F.last);
	send_icmp(3, 3, 0, &syn);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_int_equal(icmp_count(), 1);
	assert_true(gt_poll(F.st, F.sock) & GT_POLLERR);
	assert_int_equal(gt_sock_error(F.st, F.sock), -ECONNREFUSED);
	fx_expect_none(&F); /* nothing sent: no RST for an ICMP */
	assert_int_equal(gt_stack_next_deadline(F.st), GT_TIME_NEVER);
}

/* Protocol unreachable too (ENOPROTOOPT, as Linux reports it). */
static void test_protocol_unreachable_in_syn_sent(void **state)
{
	fx_syn_sent(&F);
	sent syn = keep(&F.last);
	send_icmp(3, 2, 0, &syn);
	fx_assert_state(&F, GT_TCP_CLOSED);
	assert_int_equal(gt_sock_error(F.st, F.sock), -ENOPROTOOPT);
}

/* RFC 5927 §4.1: an ICMP message whose quoted SEQ is not in flight (here:
 * anything but our ISS) is a blind attack or a stale message: dropped,
 * counted, the connection untouched. */
static void test_icmp_quoting_seq_not_in_flight_ignored(void **state)
{
	fx_syn_sent(&F);
	sent syn = keep(&F.last);
	sent forged = with_seq(&syn, F.iss + 1000);
	send_icmp(3, 3, 0, &forged);
	fx_assert_state(&F, GT_TCP_SYN_SENT);
	assert_int_equal(F.last_drop, GT_DROP_ICMP_OUT_OF_WINDOW);
	forged = with_seq(&syn, F.iss - 1);
	send_icmp(3, 3, 0, &forged);
	fx_assert_state(&F, GT_TCP_SYN_SENT);
	assert_int_equal(icmp_count(), 0);
	assert_int_equal(gt_sock_error(F.st, F.sock), 0);
	assert_int_equal(gt_sock_soft_error(F.st, F.sock), 0);
}

/* RFC 1122 §4.2.3.9: host unreachable is soft: the SYN goes on being sent,
 * SO_ERROR tells the error once, and when the connection finally times out
 * the application hears EHOSTUNREACH rather than ETIMEDOUT. */
static void test_host_unreachable_soft_then_reported_at_timeout(void **state)
{
	fx_syn_sent(&F);
	sent syn = keep(&F.last);
	send_icmp(3, 1, 0, &syn);
	fx_assert_state(&F, GT_TCP_SYN_SENT);
	assert_int_equal(icmp_count(), 1);
	assert_false(gt_poll(F.st, F.sock) & GT_POLLERR);
	assert_int_equal(gt_sock_error(F.st, F.sock), 0); /* not the connection's end */
	assert_int_equal(gt_sock_soft_error(F.st, F.sock), -EHOSTUNREACH);
	assert_int_equal(gt_sock_soft_error(F.st, F.sock), 0); /* taken */
	send_icmp(3, 1, 0, &syn); /* again: remembered for the timeout */
	fx_step(&F);
	fx_expect(&F, GT_TCP_SYN, F.iss, 0); /* the SYN retransmitted all the same */
	while (fx_state(&F) != GT_TCP_CLOSED) {
		fx_step(&F);
		fx_drain(&F);
	}
	assert_int_equal(gt_sock_error(F.st, F.sock), -EHOSTUNREACH);
}

/* RFC 5461 §4: in a synchronized state even port unreachable is soft (a
 * forged one must not cut a connection); the data is still retransmitted
 * and the connection still works. */
static void test_port_unreachable_established_is_soft(void **state)
{
	fx_established(&F);
	assert_int_equal(gt_send(F.st, F.sock, "hello", 5, F.now), 5);
	sent data = keep(fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt));
	send_icmp(3, 3, 0, &data);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	assert_int_equal(icmp_count(), 1);
	assert_int_equal(gt_sock_error(F.st, F.sock), 0);
	assert_int_equal(gt_sock_soft_error(F.st, F.sock), -ECONNREFUSED);
	assert_int_equal(gt_sock_soft_error(F.st, F.sock), 0);
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 6, F.peer_wnd, NULL, 0);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	assert_int_equal(gt_sock_unacked(F.st, F.sock), 0);
	/* once acknowledged the data is no longer in flight: a late ICMP about
	 * it is out of window */
	send_icmp(3, 3, 0, &data);
	assert_int_equal(F.last_drop, GT_DROP_ICMP_OUT_OF_WINDOW);
	assert_int_equal(icmp_count(), 1);
}

/* RFC 1191: "fragmentation needed and DF set" with a next-hop MTU lowers the
 * MSS to what the path carries and the segment goes again at once, smaller;
 * one naming a larger MTU than the one in use changes nothing (§6.1). */
static void test_fragmentation_needed_lowers_mss(void **state)
{
	fx_established(&F);
	gt_tcb *t = fx_tcb(&F);
	assert_int_equal(t->snd_mss, 1460);
	static uint8_t buf[1460];
	fx_fill_pattern(buf, sizeof(buf), 0);
	assert_int_equal(gt_send(F.st, F.sock, buf, sizeof(buf), F.now), 1460);
	sent big = keep(fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1, F.peer_snd_nxt));
	assert_int_equal(big.len, 1500);
	send_icmp(3, 4, 1400, &big);
	assert_int_equal(t->snd_mss, 1360);
	const fx_pkt *p = fx_expect(&F, GT_TCP_ACK, F.iss + 1, F.peer_snd_nxt);
	assert_int_equal(p->seg.payload_len, 1360);
	assert_int_equal(p->len, 1400);
	p = fx_expect(&F, GT_TCP_ACK | GT_TCP_PSH, F.iss + 1 + 1360, F.peer_snd_nxt);
	assert_int_equal(p->seg.payload_len, 100);
	/* a larger MTU than in use: ignored */
	send_icmp(3, 4, 1500, &big);
	assert_int_equal(t->snd_mss, 1360);
	assert_int_equal(F.last_drop, GT_DROP_ICMP_IGNORED);
	fx_expect_none(&F);
	/* RFC 5927 §7.2: never below the floor, however small the claim */
	send_icmp(3, 4, 100, &big);
	assert_int_equal(t->snd_mss, GT_PMTU_MIN - 40);
	fx_drain(&F);
	/* no connection state lost: the data still gets through */
	fx_send(&F, GT_TCP_ACK, F.peer_snd_nxt, F.iss + 1 + 1460, F.peer_wnd, NULL, 0);
	assert_int_equal(gt_sock_unacked(F.st, F.sock), 0);
	assert_int_equal(gt_sock_error(F.st, F.sock), 0); /* not an error */
	assert_int_equal(gt_sock_soft_error(F.st, F.sock), 0);
}

/* RFC 1191 §5: a router that gives no MTU: the plateau below the datagram. */
static void test_fragmentation_needed_without_mtu_uses_plateau(void **state)
{
	fx_established(&F);
	static uint8_t buf[1460];
	assert_int_equal(gt_send(F.st, F.sock, buf, sizeof(buf), F.now), 1460);
	sent big = keep(fx_pop(&F));
	assert_int_equal(big.len, 1500);
	send_icmp(3, 4, 0, &big);
	assert_int_equal(fx_tcb(&F)->snd_mss, 1492 - 40);
	/* the retransmission, 1492 bytes, is too large too: the next plateau */
	sent again = keep(fx_pop(&F));
	assert_int_equal(again.len, 1492);
	assert_int_equal(fx_pop(&F)->seg.payload_len, 8); /* the rest of the 1460 */
	send_icmp(3, 4, 0, &again);
	assert_int_equal(fx_tcb(&F)->snd_mss, 1006 - 40);
	assert_int_equal(fx_pop(&F)->len, 1006);
}

/* What is not an error about one of our connections is counted and dropped:
 * a bad checksum, a truncated quote, an echo request, source quench (RFC
 * 6633), an error quoting another connection or another host's datagram. */
static void test_icmp_not_acted_on_is_counted(void **state)
{
	fx_established(&F);
	assert_int_equal(gt_send(F.st, F.sock, "x", 1, F.now), 1);
	sent d = keep(fx_pop(&F));
	send_icmp_ex(ROUTER_ADDR, 3, 3, 0, &d, GT_IPV4_HDR_LEN + 8, true);
	assert_int_equal(F.last_drop, GT_DROP_ICMP_BAD);
	send_icmp_ex(ROUTER_ADDR, 3, 3, 0, &d, GT_IPV4_HDR_LEN + 7, false);
	assert_int_equal(F.last_drop, GT_DROP_ICMP_BAD);
	send_icmp(8, 0, 0, &d);
	assert_int_equal(F.last_drop, GT_DROP_ICMP_IGNORED);
	send_icmp(4, 0, 0, &d);
	assert_int_equal(F.last_drop, GT_DROP_ICMP_IGNORED);
	sent other = d;
	put16(other.raw + GT_IPV4_HDR_LEN, (uint16_t)(F.lport + 1));
	send_icmp(3, 3, 0, &other);
	assert_int_equal(F.last_drop, GT_DROP_ICMP_NO_CONNECTION);
	other = d;
	put32(other.raw + 12, GT_TEST_ADDR(77));
	send_icmp(3, 3, 0, &other);
	assert_int_equal(F.last_drop, GT_DROP_ICMP_NO_CONNECTION);
	assert_int_equal(icmp_count(), 0);
	fx_assert_state(&F, GT_TCP_ESTABLISHED);
	assert_int_equal(gt_sock_error(F.st, F.sock), 0);
	assert_int_equal(gt_sock_soft_error(F.st, F.sock), 0);
	const gt_stack_counters *c = gt_stack_get_counters(F.st);
	assert_int_equal(c->drop[GT_DROP_ICMP_BAD], 2);
	assert_int_equal(c->drop[GT_DROP_ICMP_IGNORED], 2);
	assert_int_equal(c->drop[GT_DROP_ICMP_NO_CONNECTION], 2);
	assert_int_equal(c->drop[GT_DROP_NOT_TCP], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FX_TEST(test_port_unreachable_in_syn_sent_refuses),
	    FX_TEST(test_protocol_unreachable_in_syn_sent),
	    FX_TEST(test_icmp_quoting_seq_not_in_flight_ignored),
	    FX_TEST(test_host_unreachable_soft_then_reported_at_timeout),
	    FX_TEST(test_port_unreachable_established_is_soft),
	    FX_TEST(test_fragmentation_needed_lowers_mss),
	    FX_TEST(test_fragmentation_needed_without_mtu_uses_plateau),
	    FX_TEST(test_icmp_not_acted_on_is_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
