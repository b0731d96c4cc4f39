/* What every glasstcp subcommand's argument parsing shares: the "bad usage"
 * message and exit status, an option's value, strict decimal numbers, and the
 * option table that draw, explain and demo parse their arguments with. */
#ifndef GT_TOOLS_CLI_ARGS_H
#define GT_TOOLS_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
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

/* ---- the option table (draw, explain, demo) ---- */

/* A macro's value as a string literal, for a message: with MAX 100,
 * GT_CLI_STR(MAX) is "100". */
#define GT_CLI_STR(x)       GT_CLI_STR_AGAIN(x)
#define GT_CLI_STR_AGAIN(x) #x

typedef enum gt_cli_kind {
	GT_CLI_FLAG,   /* no value: *(bool *)out = true */
	GT_CLI_STRING, /* a non-empty value: *(const char **)out */
	GT_CLI_TEXT,   /* any value, also empty: *(const char **)out */
	GT_CLI_NUMBER, /* a value that parse takes into out */
} gt_cli_kind;

/* One option of a subcommand. A name with two dashes ("--html") takes its
 * value as "--html=V" or "--html V", one with a single dash ("-o") only as
 * "-o V"; flags match exactly. When the value is missing or wrong the usage
 * error is "NAME needs NEEDS" (string and text), or "NAME needs NEEDS, got
 * 'VALUE'" (number). Made by the constructors below. */
typedef struct gt_cli_opt {
	const char *name;
	gt_cli_kind kind;
	void *out;
	const char *needs;
	/* GT_CLI_NUMBER: takes value (NULL when missing) into out, or returns
	 * false and leaves out alone */
	bool (*parse)(const char *value, void *out);
} gt_cli_opt;

gt_cli_opt gt_cli_flag(const char *name, bool *out);
gt_cli_opt gt_cli_string(const char *name, const char *needs, const char **out);
/* gt_cli_string needing "a file name". */
gt_cli_opt gt_cli_file(const char *name, const char **out);
gt_cli_opt gt_cli_text(const char *name, const char *needs, const char **out);
gt_cli_opt gt_cli_number(const char *name, const char *needs,
                         bool (*parse)(const char *value, void *out), void *out);
/* --html-max N, N >= 1 connections with diagrams in the HTML report (draw and
 * explain). out stays 0, the report's default, unless given. */
gt_cli_opt gt_cli_html_max(size_t *out);

/* GT_CLI_NUMBER parsers into a size_t: an index (0, 1, ...) and a count (1,
 * 2, ...), at most SIZE_MAX / 2. */
bool gt_cli_take_index(const char *value, void *out);
bool gt_cli_take_count(const char *value, void *out);

/* A subcommand's arguments: the options of its table, -h and --help, and at
 * most one operand (any argument not starting with '-', and "-"). */
typedef struct gt_cli_args {
	const char *cmd;     /* "draw": the messages say "glasstcp draw: " */
	const char *operand; /* "trace": "one trace at a time ('X' is one too many)" */
	const char **operand_out;
	bool *help; /* set by -h and --help */
	const gt_cli_opt *opts;
	size_t n_opts;
} gt_cli_args;

/* Parses argv[1 .. argc) by the table. Returns 0, or 2 after printing the
 * first usage error: a missing or wrong value, a second operand, or an
 * unknown option ("unknown option 'X' (glasstcp CMD --help)"). */
int gt_cli_parse_args(const gt_cli_args *a, int argc, char **argv);

#endif
