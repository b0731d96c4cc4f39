#include <stdio.h>

#include "cli.h"

int gt_cli_demo(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "glasstcp demo: not built yet\n");
	return 1;
}
