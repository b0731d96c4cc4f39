/* JSON Lines trace writer (RFC 8259 for the string escaping). The objects are
 * small and flat, so they are written field by field with stdio; the key order
 * is fixed so traces diff cleanly and same-seed runs compare byte for byte. */
#include "glasstcp/trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

/* Writes s as a JSON string literal, or null when s is NULL. Returns the first
 * negative stdio result, else 0. */
static int put_json_string(FILE *f, const char *s)
{
	if (!s)
		return fputs("null", f) < 0 ? -1 : 0;
	if (fputc('"', f) == EOF)
		return -1;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int rc;
		switch (*p) {
		case '"':
			rc = fputs("\\\"", f);
			break;
		case '\\':
			rc = fputs("\\\\", f);
			break;
		case '\n':
			rc = fputs("\\n", f);
			break;
		case '\r':
			rc = fputs("\\r", f);
			break;
		case '\t':
			rc = fputs("\\t", f);
			break;
		default:
			/* RFC 8259 §7: control characters must be escaped; DEL
			 * need not be but is escaped too so lines stay printable.
			 * Bytes >= 0x80 pass through: names are expected to be
			 * UTF-8 already. */
			if (*p < 0x20 || *p == 0x7f)
				rc = fprintf(f, "\\u%04x", (unsigned)*p);
			else
				rc = fputc(*p, f) == EOF ? -1 : 0;
			break;
		}
		if (rc < 0)
			return -1;
	}
	return fputc('"', f) == EOF ? -1 : 0;
}

static int put_key_string(FILE *f, const char *key, const char *val)
{
	if (fprintf(f, ",\"%s\":", key) < 0)
		return -1;
	return put_json_string(f, val);
}

static int put_seg(FILE *f, const gt_seg_info *seg)
{
	char flags[9];
	if (put_key_string(f, "flags", gt_tcp_flags_str(seg->flags, flags)) < 0)
		return -1;
	if (fprintf(f, ",\"seq\":%" PRIu32 ",\"ack\":%" PRIu32 ",\"win\":%u", seg->seq, seg->ack,
	            (unsigned)seg->win) < 0)
		return -1;
	/* RFC 7323 §2.3: the window in bytes, only when scaling makes it differ
	 * from the field (unscaled traces keep their exact form) */
	uint32_t wnd = gt_seg_wnd(seg);
	if (wnd != seg->win && fprintf(f, ",\"wnd\":%" PRIu32, wnd) < 0)
		return -1;
	return fprintf(f, ",\"len\":%" PRIu32, seg->len) < 0 ? -1 : 0;
}

static int write_event(FILE *f, const gt_event *ev)
{
	if (fprintf(f, "{\"t_us\":%" PRIu64 ",\"host\":", (uint64_t)ev->t_us) < 0)
		return -1;
	if (put_json_string(f, ev->host) < 0)
		return -1;
	if (put_key_string(f, "ev", gt_event_kind_name(ev->kind)) < 0)
		return -1;
	if (ev->has_conn) {
		char conn[48];
		if (put_key_string(f, "conn", gt_conn_str(&ev->conn, conn)) < 0)
			return -1;
	} else if (fputs(",\"conn\":null", f) < 0) {
		return -1;
	}

	if (ev->kind == GT_EV_STATE) {
		if (put_key_string(f, "from", gt_tcp_state_name(ev->from)) < 0 ||
		    put_key_string(f, "to", gt_tcp_state_name(ev->to)) < 0 ||
		    put_key_string(f, "cause", ev->cause) < 0)
			return -1;
		if (ev->inferred && fputs(",\"inferred\":true", f) < 0)
			return -1;
	} else {
		if (ev->has_seg && put_seg(f, &ev->seg) < 0)
			return -1;
		if (ev->kind == GT_EV_TX && ev->has_seg && ev->seg.rexmit &&
		    fputs(",\"rexmit\":true", f) < 0)
			return -1;
		if (ev->kind == GT_EV_TX && ev->has_seg && ev->seg.syncookie &&
		    fputs(",\"syncookie\":true", f) < 0)
			return -1;
		if (ev->kind == GT_EV_DROP &&
		    put_key_string(f, "reason", gt_drop_reason_name(ev->reason)) < 0)
			return -1;
	}
	return fputs("}\n", f) < 0 ? -1 : 0;
}

int gt_trace_jsonl_write(FILE *f, const gt_event *ev)
{
	if (!f || !ev)
		return -EIO;
	/* Readiness changes are API plumbing, not protocol behaviour: the trace
	 * records only what the seed's table and a packet capture would show. */
	if (ev->kind == GT_EV_SOCKET)
		return 0;
	if (write_event(f, ev) < 0 || ferror(f))
		return -EIO;
	return 0;
}
