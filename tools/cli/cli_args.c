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

gt_cli_opt gt_cli_flag(const char *name, bool *out)
{
	return (gt_cli_opt){.name = name, .kind = GT_CLI_FLAG, .out = out};
}

gt_cli_opt gt_cli_string(const char *name, const char *needs, const char **out)
{
	return (gt_cli_opt){.name = name, .kind = GT_CLI_STRING, .out = out, .needs = needs};
}

gt_cli_opt gt_cli_file(const char *name, const char **out)
{
	return gt_cli_string(name, "a file name", out);
}

gt_cli_opt gt_cli_text(const char *name, const char *needs, const char **out)
{
	return (gt_cli_opt){.name = name, .kind = GT_CLI_TEXT, .out = out, .needs = needs};
}

gt_cli_opt gt_cli_number(const char *name, const char *needs,
                         bool (*parse)(const char *value, void *out), void *out)
{
	return (gt_cli_opt){
	    .name = name, .kind = GT_CLI_NUMBER, .out = out, .needs = needs, .parse = parse};
}

gt_cli_opt gt_cli_html_max(size_t *out)
{
	return gt_cli_number("--html-max", "a number of connections (1, 2, ...)", gt_cli_take_count,
	                     out);
}

static bool take_size(const char *value, size_t min, void *out)
{
	uint64_t v;
	if (!gt_cli_parse_u64(value, SIZE_MAX / 2, &v) || v < min)
		return false;
	*(size_t *)out = (size_t)v;
	return true;
}

bool gt_cli_take_index(const char *value, void *out)
{
	return take_size(value, 0, out);
}

bool gt_cli_take_count(const char *value, void *out)
{
	return take_size(value, 1, out);
}

/* Whether arg is option o; 0, or 2 after the usage error of a bad value. */
static int take_option(const gt_cli_args *a, const gt_cli_opt *o, int argc, char **argv, int *i,
                       bool *matched)
{
	const char *arg = argv[*i];
	if (o->kind == GT_CLI_FLAG) {
		if ((*matched = !strcmp(arg, o->name)))
			*(bool *)o->out = true;
		return 0;
	}
	const char *v;
	if (o->name[1] == '-') {
		v = gt_cli_option_value(arg, o->name, argc, argv, i, matched);
	} else { /* "-o": the next argument only */
		*matched = !strcmp(arg, o->name);
		v = *matched && *i + 1 < argc ? argv[++*i] : NULL;
	}
	if (!*matched)
		return 0;
	if (o->kind == GT_CLI_NUMBER) {
		if (!o->parse(v, o->out))
			return gt_cli_bad_usage(a->cmd, "%s needs %s, got '%s'", o->name, o->needs,
			                        v ? v : "");
		return 0;
	}
	if (!v || (o->kind == GT_CLI_STRING && !*v))
		return gt_cli_bad_usage(a->cmd, "%s needs %s", o->name, o->needs);
	*(const char **)o->out = v;
	return 0;
}

int gt_cli_parse_args(const gt_cli_args *a, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			*a->help = true;
			continue;
		}
		bool matched = false;
		for (size_t k = 0; k < a->n_opts && !matched; k++) {
			int rc = take_option(a, &a->opts[k], argc, argv, &i, &matched);
			if (rc)
				return rc;
		}
		if (matched)
			continue;
		if (arg[0] == '-' && arg[1] != '\0')
			return gt_cli_bad_usage(a->cmd, "unknown option '%s' (glasstcp %s --help)",
			                        arg, a->cmd);
		if (*a->operand_out)
			return gt_cli_bad_usage(a->cmd, "one %s at a time ('%s' is one too many)",
			                        a->operand, arg);
		*a->operand_out = arg;
	}
	return 0;
}
