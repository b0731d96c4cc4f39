/* glasstcp — the command-line tool: one file per subcommand. */
#include "cli/cli.h"

#include <glasstcp/version.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: glasstcp <command> [options]\n\n"
	    "commands:\n"
	    "  demo NAME    run a scenario on the simulated network (demo --list)\n"
	    "  up           run glasstcp on a TUN device and serve echo, discard, http\n"
	    "  connect      like nc: stdin and stdout over a glasstcp connection\n"
	    "  get          HTTP/1.1 GET of a URL over glasstcp\n"
	    "  ss           a running up's connections (like ss -tin) or counters (-s)\n"
	    "  draw TRACE   the ladder diagram of a JSON Lines trace as SVG (or --html)\n"
	    "  fsm          the RFC 9293 state diagram, with the transitions traces took\n"
	    "  explain CAP  the state sequences of both ends of every TCP connection in a\n"
	    "               pcap/pcapng capture, with anomalies explained\n"
	    "  watch        the Linux kernel's TCP state changes, live (root)\n"
	    "  script PKT   run packetdrill scripts on glasstcp, in virtual time\n"
	    "  help         this text\n"
	    "  --version    the version of glasstcp (and of its library)\n\n"
	    "up, connect and get need a TUN device (root, or CAP_NET_ADMIN); each has --help.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "demo"))
		return gt_cli_demo(argc - 1, argv + 1);
	if (!strcmp(argv[1], "up"))
		return gt_cli_up(argc - 1, argv + 1);
	if (!strcmp(argv[1], "connect"))
		return gt_cli_connect(argc - 1, argv + 1);
	if (!strcmp(argv[1], "get"))
		return gt_cli_get(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ss"))
		return gt_cli_ss(argc - 1, argv + 1);
	if (!strcmp(argv[1], "draw"))
		return gt_cli_draw(argc - 1, argv + 1);
	if (!strcmp(argv[1], "fsm"))
		return gt_cli_fsm(argc - 1, argv + 1);
	if (!strcmp(argv[1], "explain"))
		return gt_cli_explain(argc - 1, argv + 1);
	if (!strcmp(argv[1], "watch"))
		return gt_cli_watch(argc - 1, argv + 1);
	if (!strcmp(argv[1], "script"))
		return gt_cli_script(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version")) {
		printf("glasstcp %s\n", gt_version());
		return 0;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "glasstcp: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
