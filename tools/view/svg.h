/* Small helpers shared by the SVG and HTML renderers (ladder, fsm, report):
 * XML text escaping and number formatting that never depends on the locale. */
#ifndef GT_VIEW_SVG_H
#define GT_VIEW_SVG_H

#include <glasstcp/glasstcp.h>
#include <stdio.h>

/* Writes s with &, <, >, " and ' escaped (XML 1.0 §2.4), and control characters
 * other than tab/newline replaced by U+FFFD, so any input yields well-formed
 * XML. NULL writes nothing. */
void gt_svg_text(FILE *f, const char *s);

/* Estimated width in px of s in the renderers' monospace font at size px
 * (0.6 em per character): what label layout and overlap checks use. */
double gt_svg_text_width(const char *s, double font_px);

/* "12.345 ms", "1.5 s", "250 us": a duration for axis and gap labels, into buf
 * (at least 24 bytes); returns buf. */
char *gt_svg_duration(gt_time_us d, char buf[24]);

#endif
