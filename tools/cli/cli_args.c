/* The subcommands' shared argument parsing (cli_args.h). */
#include "cli/cli_args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gt_cli_bad_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "glasstcp %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

const char *gt_cli_option_value(const char *arg, const char *opt, int argc, char **argv, int *i,
                                bool *matched)
{
	size_t n = strlen(opt);
	*matched = false;
	if (strncmp(arg, opt, n) != 0)
		return NULL;
	if (arg[n] == '=') {
		*matched = true;
		return arg + n + 1;
	}
	if (arg[n] != '\0')
		return NULL;
	*matched = true;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

bool gt_cli_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	/* strtoull alone would take spaces, a sign (and negate) */
	if (!s || *s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

bool gt_cli_parse_decimal(const char *s, double max, double *out)
{
	/* strtod alone would take spaces, a sign, "nan" and "inf" */
	if (!s || !((*s >= '0' && *s <= '9') || *s == '.'))
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0 || v > max)
		return false;
	*out = v;
	return true;
}
