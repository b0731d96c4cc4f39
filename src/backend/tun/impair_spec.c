/* Parsing and printing the --impair spec (glasstcp/tun.h). Strict: unknown
 * keys, repeated keys, empty items, signs, spaces, trailing text, NaN and
 * out-of-range values are all refused with a reason. */
#include "glasstcp/tun.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DELAY_MS 60000.0

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A plain non-negative decimal: digits with at most one '.', at least one
 * digit, nothing else (no sign, exponent, spaces, "inf", "nan"). */
static bool parse_decimal(const char *s, size_t n, double *out)
{
	char buf[64];
	if (n == 0 || n >= sizeof buf)
		return false;
	int dots = 0, digits = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.')
			dots++;
		else if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else
			return false;
	}
	if (dots > 1 || digits == 0)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *end;
	errno = 0;
	double v = strtod(buf, &end);
	if (errno || *end || !isfinite(v) || v < 0)
		return false;
	*out = v;
	return true;
}

static bool parse_prob(const char *s, size_t n, double *out)
{
	bool pct = n > 0 && s[n - 1] == '%';
	double v;
	if (!parse_decimal(s, pct ? n - 1 : n, &v))
		return false;
	if (pct)
		v /= 100.0;
	if (v > 1.0)
		return false;
	*out = v;
	return true;
}

static bool parse_ms(const char *s, size_t n, gt_time_us *out)
{
	if (n > 2 && !strncmp(s + n - 2, "ms", 2))
		n -= 2;
	double v;
	if (!parse_decimal(s, n, &v) || v > MAX_DELAY_MS)
		return false;
	*out = (gt_time_us)llround(v * 1000.0);
	return true;
}

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
	if (n == 0 || n > 20)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

enum { K_LOSS, K_DELAY, K_JITTER, K_REORDER, K_DUP, K_CORRUPT, K_SEED, K_COUNT };
static const char *const key_names[K_COUNT] = {"loss", "delay",   "jitter", "reorder",
                                               "dup",  "corrupt", "seed"};

int gt_tun_impair_parse(const char *spec, gt_tun_impair *out, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!spec || !*spec)
		return fail(err, errlen, "empty impairment (want e.g. loss=0.02,delay=20)");
	gt_tun_impair imp = {.seed = 1};
	bool seen[K_COUNT] = {0};
	const char *p = spec;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		if (n == 0)
			return fail(err, errlen, "empty item in '%s'", spec);
		if (!eq)
			return fail(err, errlen, "'%.*s' is not key=value", (int)n, p);
		size_t klen = (size_t)(eq - p);
		const char *v = eq + 1;
		size_t vlen = n - klen - 1;
		int k = 0;
		while (k < K_COUNT &&
		       !(strlen(key_names[k]) == klen && !strncmp(key_names[k], p, klen)))
			k++;
		if (k == K_COUNT)
			return fail(err, errlen,
			            "unknown key '%.*s' (known: loss, delay, jitter, reorder, dup, "
			            "corrupt, seed)",
			            (int)klen, p);
		if (seen[k])
			return fail(err, errlen, "'%s' given twice", key_names[k]);
		seen[k] = true;
		bool ok = false;
		switch (k) {
		case K_LOSS:
			ok = parse_prob(v, vlen, &imp.loss);
			break;
		case K_REORDER:
			ok = parse_prob(v, vlen, &imp.reorder);
			break;
		case K_DUP:
			ok = parse_prob(v, vlen, &imp.dup);
			break;
		case K_CORRUPT:
			ok = parse_prob(v, vlen, &imp.corrupt);
			break;
		case K_DELAY:
			ok = parse_ms(v, vlen, &imp.delay_us);
			break;
		case K_JITTER:
			ok = parse_ms(v, vlen, &imp.jitter_us);
			break;
		case K_SEED:
			ok = parse_u64(v, vlen, &imp.seed);
			break;
		}
		if (!ok) {
			const char *want = k == K_DELAY || k == K_JITTER ? "milliseconds 0..60000"
			                   : k == K_SEED                 ? "a non-negative integer"
			                                 : "a probability 0..1 or a percentage";
			return fail(err, errlen, "%s needs %s, got '%.*s'", key_names[k], want,
			            (int)vlen, v);
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	*out = imp;
	return 0;
}

static void append(char *buf, size_t len, size_t *used, const char *fmt, double v)
{
	if (*used >= len)
		return;
	int n = snprintf(buf + *used, len - *used, fmt, *used ? "," : "", v);
	if (n > 0)
		*used += (size_t)n;
}

char *gt_tun_impair_str(const gt_tun_impair *imp, char *buf, size_t len)
{
	if (!buf || !len)
		return buf;
	buf[0] = '\0';
	size_t used = 0;
	if (imp->loss > 0)
		append(buf, len, &used, "%sloss=%g", imp->loss);
	if (imp->delay_us)
		append(buf, len, &used, "%sdelay=%gms", (double)imp->delay_us / 1000.0);
	if (imp->jitter_us)
		append(buf, len, &used, "%sjitter=%gms", (double)imp->jitter_us / 1000.0);
	if (imp->reorder > 0)
		append(buf, len, &used, "%sreorder=%g", imp->reorder);
	if (imp->dup > 0)
		append(buf, len, &used, "%sdup=%g", imp->dup);
	if (imp->corrupt > 0)
		append(buf, len, &used, "%scorrupt=%g", imp->corrupt);
	if (used < len)
		snprintf(buf + used, len - used, "%sseed=%" PRIu64, used ? "," : "", imp->seed);
	return buf;
}
