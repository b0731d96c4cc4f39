/* Subcommands of the glasstcp CLI. Each returns the process exit status:
 * 0 success, 1 failure of the thing run, 2 bad usage. */
#ifndef GT_CLI_H
#define GT_CLI_H

int gt_cli_demo(int argc, char **argv);

#endif
