/* XML escaping and formatting helpers for the renderers (svg.h). */
#include "view/svg.h"

#include <inttypes.h>
#include <string.h>

void gt_svg_text(FILE *f, const char *s)
{
	if (!s)
		return;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		default:
			/* XML 1.0 §2.2: only tab, LF and CR of the C0 controls are
			 * allowed characters. */
			if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)
				fputs("\xef\xbf\xbd", f);
			else
				fputc(*p, f);
			break;
		}
	}
}

double gt_svg_text_width(const char *s, double font_px)
{
	size_t chars = 0;
	/* Count code points, not bytes: UTF-8 continuation bytes add nothing. */
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
		if ((*p & 0xc0) != 0x80)
			chars++;
	return (double)chars * 0.6 * font_px;
}

char *gt_svg_duration(gt_time_us d, char buf[24])
{
	if (d >= 1000000000)
		snprintf(buf, 24, "%.0f s", (double)d / 1e6); /* %g would go to 1e+03 */
	else if (d >= 1000000)
		snprintf(buf, 24, "%.3g s", (double)d / 1e6);
	else if (d >= 1000)
		snprintf(buf, 24, "%.3g ms", (double)d / 1e3);
	else
		snprintf(buf, 24, "%" PRIu64 " us", (uint64_t)d);
	return buf;
}
