/* SYN cookies (RFC 4987 §3.6); see syncookie.h for the layout. */
#include "tcp/syncookie.h"

#include "tcp/isn.h"

#include <string.h>

/* RFC 4987 §3.6: the MSS "is encoded in a few bits"; the values are the
 * usual ones (Linux's table): the classic minimum, tunnels, Ethernet. */
static const uint16_t mss_table[4] = {536, 1300, 1440, 1460};

static uint32_t cookie_hash(const uint8_t key[16], const gt_conn_tuple *c, uint32_t count,
                            uint8_t which)
{
	uint8_t buf[17];
	memcpy(buf, &c->local_addr, 4);
	memcpy(buf + 4, &c->remote_addr, 4);
	memcpy(buf + 8, &c->local_port, 2);
	memcpy(buf + 10, &c->remote_port, 2);
	memcpy(buf + 12, &count, 4);
	buf[16] = which;
	return (uint32_t)gt_siphash24(key, buf, sizeof(buf));
}

static uint32_t period_count(gt_time_us now)
{
	return (uint32_t)(now / GT_SYNCOOKIE_PERIOD_US);
}

static uint32_t mss_index(uint16_t mss)
{
	uint32_t i = 3;
	while (i > 0 && mss_table[i] > mss)
		i--;
	return i;
}

uint32_t gt_syncookie_make(const uint8_t key[16], const gt_conn_tuple *c, const gt_segment *syn,
                           gt_time_us now)
{
	uint32_t count = period_count(now);
	uint32_t mss = mss_index(syn->opts.has_mss ? syn->opts.mss : 536);
	return cookie_hash(key, c, 0, 1) + syn->seq + (count << 24) +
	       ((cookie_hash(key, c, count, 2) + mss) & 0xffffffu);
}

uint32_t gt_syncookie_tsval(uint32_t ts_now, const gt_segment *syn, bool sack, bool wscale)
{
	uint32_t mask = (1u << GT_SYNCOOKIE_TS_BITS) - 1;
	uint32_t bits = wscale && syn->opts.has_wscale
	                    ? (syn->opts.wscale > 14 ? 14 : syn->opts.wscale)
	                    : GT_SYNCOOKIE_NO_WSCALE;
	if (sack && syn->opts.sack_permitted)
		bits |= 1u << 4;
	uint32_t ts = (ts_now & ~mask) | bits;
	/* never ahead of our clock: the peer's PAWS (RFC 7323 §5) sees our
	 * later TSvals grow */
	if (ts > ts_now && ts > mask)
		ts -= mask + 1;
	return ts;
}

bool gt_syncookie_check(const uint8_t key[16], const gt_conn_tuple *c, const gt_segment *ack,
                        bool timestamps, gt_time_us now, gt_syncookie *out)
{
	uint32_t cookie = ack->ack - 1;
	uint32_t irs = ack->seq - 1;
	uint32_t x = cookie - cookie_hash(key, c, 0, 1) - irs;
	uint32_t count = period_count(now);
	uint32_t age = (count - (x >> 24)) & 0xffu;
	if (age > GT_SYNCOOKIE_MAX_AGE)
		return false;
	uint32_t mss = (x - cookie_hash(key, c, count - age, 2)) & 0xffffffu;
	if (mss >= 4)
		return false;
	memset(out, 0, sizeof(*out));
	out->iss = cookie;
	out->irs = irs;
	out->mss = mss_table[mss];
	/* RFC 7323 §3.2: TSecr echoes the TSval of our SYN-ACK, where the
	 * options were kept; without it the connection has neither */
	if (timestamps && ack->opts.has_ts) {
		uint32_t bits = ack->opts.ts_ecr & ((1u << GT_SYNCOOKIE_TS_BITS) - 1);
		uint32_t ws = bits & 0xf; /* 0-14, or 15: none */
		out->has_ts = true;
		out->ts_val = ack->opts.ts_val;
		out->has_wscale = ws != GT_SYNCOOKIE_NO_WSCALE;
		out->wscale = out->has_wscale ? (uint8_t)ws : 0;
		out->sack_ok = (bits >> 4) & 1;
	}
	return true;
}
