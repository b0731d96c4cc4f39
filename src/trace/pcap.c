/* Classic pcap capture files (the libpcap savefile format, as described in
 * draft-ietf-opsawg-pcap): a 24-byte file header, then a 16-byte header per
 * record. The format is small enough to write directly, which keeps libpcap
 * out of the core library's runtime dependencies. */
#include "glasstcp/trace.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Written in native byte order: readers detect the order from the magic. This
 * magic means microsecond timestamps (0xa1b23c4d would mean nanoseconds). */
#define PCAP_MAGIC_USEC    0xa1b2c3d4u
#define PCAP_VERSION_MAJOR 2
#define PCAP_VERSION_MINOR 4
/* IPv4 total length is 16 bits, so no packet is ever truncated. */
#define PCAP_SNAPLEN 65535u
/* LINKTYPE_RAW: each record starts with the IP header, no link layer. */
#define PCAP_LINKTYPE_RAW 101u

struct gt_pcap_writer {
	FILE *f;
	/* gt_pcap_write_packet cannot report failure; it is kept for close. */
	bool failed;
};

static void put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof v);
}

static void put_u16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof v);
}

gt_pcap_writer *gt_pcap_open(const char *path)
{
	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	gt_pcap_writer *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->f = fopen(path, "wb");
	if (!w->f) {
		int saved = errno;
		free(w);
		errno = saved;
		return NULL;
	}

	uint8_t hdr[24];
	put_u32(hdr + 0, PCAP_MAGIC_USEC);
	put_u16(hdr + 4, PCAP_VERSION_MAJOR);
	put_u16(hdr + 6, PCAP_VERSION_MINOR);
	put_u32(hdr + 8, 0);  /* thiszone: timestamps are already UTC-like */
	put_u32(hdr + 12, 0); /* sigfigs: always 0 in practice */
	put_u32(hdr + 16, PCAP_SNAPLEN);
	put_u32(hdr + 20, PCAP_LINKTYPE_RAW);
	if (fwrite(hdr, sizeof hdr, 1, w->f) != 1) {
		int saved = errno ? errno : EIO;
		fclose(w->f);
		free(w);
		errno = saved;
		return NULL;
	}
	return w;
}

void gt_pcap_write_packet(gt_pcap_writer *w, gt_time_us t, const uint8_t *pkt, size_t len)
{
	if (!w || w->failed || (!pkt && len))
		return;
	uint32_t caplen = len > PCAP_SNAPLEN ? PCAP_SNAPLEN : (uint32_t)len;
	uint8_t rec[16];
	/* Virtual time starts at 0, so captures begin at the 1970 epoch; the
	 * 32-bit seconds field lasts 136 years of simulated time. */
	put_u32(rec + 0, (uint32_t)(t / 1000000u));
	put_u32(rec + 4, (uint32_t)(t % 1000000u));
	put_u32(rec + 8, caplen);
	put_u32(rec + 12, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
	if (fwrite(rec, sizeof rec, 1, w->f) != 1 || (caplen && fwrite(pkt, caplen, 1, w->f) != 1))
		w->failed = true;
}

int gt_pcap_close(gt_pcap_writer *w)
{
	if (!w)
		return 0;
	int rc = w->failed ? -EIO : 0;
	if (fclose(w->f) != 0 && rc == 0)
		rc = -EIO;
	free(w);
	return rc;
}
