/* Printable names for the public vocabulary: states, flags, addresses, drop
 * reasons and trace event kinds. */
#include "glasstcp/trace.h"
#include "glasstcp/types.h"

#include <errno.h>
#include <stdio.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const tcp_state_names[] = {
    [GT_TCP_CLOSED] = "CLOSED",           [GT_TCP_LISTEN] = "LISTEN",
    [GT_TCP_SYN_SENT] = "SYN_SENT",       [GT_TCP_SYN_RECEIVED] = "SYN_RECEIVED",
    [GT_TCP_ESTABLISHED] = "ESTABLISHED", [GT_TCP_FIN_WAIT_1] = "FIN_WAIT_1",
    [GT_TCP_FIN_WAIT_2] = "FIN_WAIT_2",   [GT_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
    [GT_TCP_CLOSING] = "CLOSING",         [GT_TCP_LAST_ACK] = "LAST_ACK",
    [GT_TCP_TIME_WAIT] = "TIME_WAIT",
};
_Static_assert(ARRAY_LEN(tcp_state_names) == GT_TCP_STATE_COUNT, "a TCP state has no name");

const char *gt_tcp_state_name(gt_tcp_state s)
{
	/* Unsigned so that a negative value cast to the enum is out of range too.
	 * The NULL check catches a state added without a name: the assert above
	 * only sees the table's length, not holes in it. */
	if ((unsigned)s >= ARRAY_LEN(tcp_state_names) || !tcp_state_names[s])
		return "?";
	return tcp_state_names[s];
}

char *gt_tcp_flags_str(uint8_t flags, char buf[9])
{
	/* Indexed by bit position, FIN = bit 0: the order tcpdump and Scapy print. */
	static const char letters[8] = {'F', 'S', 'R', 'P', 'A', 'U', 'E', 'C'};
	size_t n = 0;
	for (unsigned bit = 0; bit < 8; bit++) {
		if (flags & (1u << bit))
			buf[n++] = letters[bit];
	}
	buf[n] = '\0';
	return buf;
}

char *gt_ipv4_str(uint32_t addr, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", (unsigned)(addr >> 24), (unsigned)(addr >> 16 & 0xff),
	         (unsigned)(addr >> 8 & 0xff), (unsigned)(addr & 0xff));
	return buf;
}

/* Accepts exactly four decimal octets 0..255 separated by dots. Like
 * inet_pton(), a leading zero is refused ("010" would be octal to inet_aton()),
 * as are signs, spaces and anything after the fourth octet. */
int gt_ipv4_parse(const char *s, uint32_t *addr)
{
	uint32_t value = 0;
	for (int octet = 0; octet < 4; octet++) {
		if (octet > 0 && *s++ != '.')
			return -EINVAL;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
			return -EINVAL;
		unsigned part = 0;
		int digits = 0;
		while (*s >= '0' && *s <= '9') {
			if (++digits > 3)
				return -EINVAL;
			part = part * 10 + (unsigned)(*s++ - '0');
		}
		if (part > 255)
			return -EINVAL;
		value = value << 8 | part;
	}
	if (*s != '\0')
		return -EINVAL;
	*addr = value;
	return 0;
}

char *gt_conn_str(const gt_conn_tuple *c, char buf[48])
{
	char local[16];
	char remote[16];
	snprintf(buf, 48, "%s:%u>%s:%u", gt_ipv4_str(c->local_addr, local), (unsigned)c->local_port,
	         gt_ipv4_str(c->remote_addr, remote), (unsigned)c->remote_port);
	return buf;
}

static const char *const drop_reason_names[] = {
    [GT_DROP_NONE] = "none",
    [GT_DROP_TRUNCATED] = "truncated",
    [GT_DROP_BAD_IP_VERSION] = "bad_ip_version",
    [GT_DROP_BAD_IP_HDR_LEN] = "bad_ip_hdr_len",
    [GT_DROP_BAD_IP_TOTAL_LEN] = "bad_ip_total_len",
    [GT_DROP_BAD_IP_CSUM] = "bad_ip_csum",
    [GT_DROP_IP_FRAGMENT] = "ip_fragment",
    [GT_DROP_NOT_TCP] = "not_tcp",
    [GT_DROP_NOT_FOR_US] = "not_for_us",
    [GT_DROP_BAD_SRC_ADDR] = "bad_src_addr",
    [GT_DROP_SRC_LOOPBACK] = "src_loopback",
    [GT_DROP_SRC_OWN_ADDR] = "src_own_addr",
    [GT_DROP_TCP_TRUNCATED] = "tcp_truncated",
    [GT_DROP_BAD_TCP_OFFSET] = "bad_tcp_offset",
    [GT_DROP_BAD_TCP_CSUM] = "bad_tcp_csum",
    [GT_DROP_BAD_TCP_OPTION] = "bad_tcp_option",
    [GT_DROP_BAD_PORT] = "bad_port",
    [GT_DROP_BAD_FLAGS] = "bad_flags",
    [GT_DROP_NO_CONNECTION] = "no_connection",
    [GT_DROP_OUT_OF_WINDOW] = "out_of_window",
    [GT_DROP_BAD_ACK] = "bad_ack",
    [GT_DROP_OLD_ACK] = "old_ack",
    [GT_DROP_RST_INVALID] = "rst_invalid",
    [GT_DROP_RST_CHALLENGED] = "rst_challenged",
    [GT_DROP_SYN_CHALLENGED] = "syn_challenged",
    [GT_DROP_NO_ACK] = "no_ack",
    [GT_DROP_LISTEN_BAD] = "listen_bad",
    [GT_DROP_SYN_QUEUE_FULL] = "syn_queue_full",
    [GT_DROP_ACCEPT_QUEUE_FULL] = "accept_queue_full",
    [GT_DROP_CONN_LIMIT] = "conn_limit",
    [GT_DROP_NO_MEMORY] = "no_memory",
    [GT_DROP_REASM_FULL] = "reasm_full",
    [GT_DROP_DATA_AFTER_FIN] = "data_after_fin",
    [GT_DROP_DATA_AFTER_CLOSE] = "data_after_close",
    [GT_DROP_UNEXPECTED] = "unexpected",
    [GT_DROP_PAWS] = "paws",
    [GT_DROP_NO_TIMESTAMP] = "no_timestamp",
    [GT_DROP_ICMP_BAD] = "icmp_bad",
    [GT_DROP_ICMP_IGNORED] = "icmp_ignored",
    [GT_DROP_ICMP_NO_CONNECTION] = "icmp_no_connection",
    [GT_DROP_ICMP_OUT_OF_WINDOW] = "icmp_out_of_window",
    [GT_DROP_SIM_LOSS] = "sim_loss",
    [GT_DROP_SIM_FAULT] = "sim_fault",
};
_Static_assert(ARRAY_LEN(drop_reason_names) == GT_DROP_REASON_COUNT, "a drop reason has no name");

const char *gt_drop_reason_name(gt_drop_reason r)
{
	/* As for states, a reason added without a name leaves a NULL hole. */
	if ((unsigned)r >= ARRAY_LEN(drop_reason_names) || !drop_reason_names[r])
		return "?";
	return drop_reason_names[r];
}

static const char *const event_kind_names[] = {
    [GT_EV_STATE] = "state", [GT_EV_TX] = "tx",         [GT_EV_RX] = "rx",
    [GT_EV_DROP] = "drop",   [GT_EV_SOCKET] = "socket",
};

const char *gt_event_kind_name(gt_event_kind k)
{
	if ((unsigned)k >= ARRAY_LEN(event_kind_names))
		return "?";
	return event_kind_names[k];
}
