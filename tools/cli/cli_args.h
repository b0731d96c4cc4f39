/* What every glasstcp subcommand's argument parsing shares: the "bad usage"
 * message and exit status, an option's value, and strict decimal numbers. */
#ifndef GT_TOOLS_CLI_ARGS_H
#define GT_TOOLS_CLI_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
/* Prints "glasstcp CMD: <message>" and a newline on stderr; returns 2, the
 * exit status of bad usage. */
int gt_cli_bad_usage(const char *cmd, const char *fmt, ...);

/* Takes an option's value from "--opt=value" or from the next argument (then
 * *i moves past it). *matched tells whether arg was opt at all; a match with
 * the value NULL means the value is missing. */
const char *gt_cli_option_value(const char *arg, const char *opt, int argc, char **argv, int *i,
                                bool *matched);

/* Decimal digits only, at most max: no sign, no spaces, no trailing text, no
 * overflow. s may be NULL (false). *out is set only on success. */
bool gt_cli_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* A finite decimal number 0 <= v <= max ("60", "0.5", ".5", "1e3"): no sign,
 * no spaces, no trailing text, no "nan" or "inf". s may be NULL (false).
 * *out is set only on success. */
bool gt_cli_parse_decimal(const char *s, double max, double *out);

#endif
