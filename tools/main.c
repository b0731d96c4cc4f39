/* glasstcp — the command-line tool: one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: glasstcp <command> [options]\n\n"
	           "commands:\n"
	           "  demo NAME    run a scenario on the simulated network (demo --list)\n"
	           "  help         this text\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "demo"))
		return gt_cli_demo(argc - 1, argv + 1);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "glasstcp: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
