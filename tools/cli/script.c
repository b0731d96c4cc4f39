/* `glasstcp script FILE.pkt...`: runs packetdrill scripts with glasstcp's own
 * interpreter (tools/script) on packetdrill's shared-object interface: the
 * adapter linked in (tools/packetdrill), or the one a --so FILE exports. */
#include "script/script.h"
#ifdef GT_HAVE_PD_ADAPTER
#include "packetdrill/adapter.h"
#endif
#include "cli/cli.h"
#include "cli/cli_args.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: glasstcp script [--so FILE] [--so_flags=FLAGS] [--tolerance_usecs=N]\n"
	        "                       [--local_ip=A] [--remote_ip=A] [-v] FILE.pkt...\n\n"
	        "Runs packetdrill scripts against glasstcp in virtual time, without packetdrill:\n"
	        "every socket call, packet, sleep and clock reading goes through packetdrill's\n"
	        "shared-object interface (docs/packetdrill.md, \"glasstcp script\").\n\n"
	        "  --so FILE            dlopen() FILE and use its packetdrill_interface_init\n"
	        "                       (default: glasstcp's adapter, linked in)\n"
	        "  --so_flags=FLAGS     passed to packetdrill_interface_init (profile=linux, ...)\n"
	        "  --tolerance_usecs=N  timing tolerance (default 4000)\n"
	        "  --local_ip=A         the stack's address (default 192.168.0.1)\n"
	        "  --remote_ip=A        the script's remote end (default 192.0.2.1)\n"
	        "  -v                   each event as it runs, and the shell lines skipped\n\n"
	        "Prints PASS FILE or FAIL FILE:LINE: what was expected, what happened, per\n"
	        "script, then the totals. A script's own --option lines apply to it.\n"
	        "Exit status: 0 all passed, 1 one failed, 2 bad usage.\n");
}

typedef struct script_args {
	const char *so;
	const char *so_flags;
	const char *local_ip;
	const char *remote_ip;
	uint64_t tolerance;
	bool tolerance_set;
	bool verbose;
	int first_file; /* index in argv of the first script */
} script_args;

/* An option of the table below: name, where its value goes. */
static int take_option(int argc, char **argv, int *i, script_args *a)
{
	const char *arg = argv[*i];
	static const char *const names[] = {"--so", "--so_flags", "--local_ip", "--remote_ip",
	                                    "--tolerance_usecs"};
	const char **outs[] = {&a->so, &a->so_flags, &a->local_ip, &a->remote_ip, NULL};
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		bool matched;
		const char *v = gt_cli_option_value(arg, names[k], argc, argv, i, &matched);
		if (!matched)
			continue;
		if (!v || !*v)
			return gt_cli_bad_usage("script", "%s needs a value", names[k]);
		if (outs[k]) {
			*outs[k] = v;
		} else if (!gt_cli_parse_u64(v, 1000000000, &a->tolerance)) {
			return gt_cli_bad_usage("script", "%s needs microseconds, got '%s'",
			                        names[k], v);
		} else {
			a->tolerance_set = true;
		}
		return 0;
	}
	return gt_cli_bad_usage("script", "unknown option '%s' (glasstcp script --help)", arg);
}

static int parse_args(int argc, char **argv, script_args *a, bool *help)
{
	memset(a, 0, sizeof(*a));
	int i = 1;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			*help = true;
			return 0;
		}
		if (!strcmp(argv[i], "-v")) {
			a->verbose = true;
			continue;
		}
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (argv[i][0] != '-')
			break;
		int rc = take_option(argc, argv, &i, a);
		if (rc)
			return rc;
	}
	a->first_file = i;
	for (int k = i; k < argc; k++)
		if (argv[k][0] == '-' && strcmp(argv[k], "-"))
			return gt_cli_bad_usage("script", "options come before the scripts ('%s')",
			                        argv[k]);
	if (i >= argc)
		return gt_cli_bad_usage("script", "needs at least one FILE.pkt");
	return 0;
}

#ifdef GT_HAVE_PD_ADAPTER
/* The linked adapter's own check of its flags: it would exit on bad ones. */
static bool check_adapter_flags(const char *flags, char *err, size_t err_len)
{
	pd_flags parsed;
	return gt_pd_parse_flags(flags, &parsed, err, err_len) == 0;
}
#endif

static packetdrill_interface_init_fn find_init(const script_args *a)
{
	if (a->so) {
		void *h = dlopen(a->so, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			fprintf(stderr, "glasstcp script: %s\n", dlerror());
			return NULL;
		}
		void *sym = dlsym(h, "packetdrill_interface_init");
		if (!sym) {
			fprintf(stderr,
			        "glasstcp script: %s exports no packetdrill_interface_init\n",
			        a->so);
			return NULL;
		}
		packetdrill_interface_init_fn fn;
		memcpy(&fn, &sym, sizeof(fn));
		return fn;
	}
#ifdef GT_HAVE_PD_ADAPTER
	return packetdrill_interface_init;
#else
	fprintf(stderr, "glasstcp script: this build has no adapter (tools/packetdrill); "
	                "give one with --so FILE\n");
	return NULL;
#endif
}

int gt_cli_script(int argc, char **argv)
{
	script_args a;
	bool help = false;
	int rc = parse_args(argc, argv, &a, &help);
	if (help) {
		usage(stdout);
		return 0;
	}
	if (rc)
		return rc;
	gt_script_config cfg;
	gt_script_config_default(&cfg);
	cfg.init = find_init(&a);
	if (!cfg.init)
		return 2;
#ifdef GT_HAVE_PD_ADAPTER
	if (!a.so) {
		cfg.check_flags = check_adapter_flags;
		cfg.pass_local_ip = true; /* its address follows --local_ip */
		char err[256];
		if (!check_adapter_flags(a.so_flags ? a.so_flags : "", err, sizeof(err)))
			return gt_cli_bad_usage("script", "--so_flags: %s", err);
	}
#endif
	if (a.so_flags) {
		cfg.so_flags = a.so_flags;
		cfg.from_command_line |= GT_SCRIPT_SET_SO_FLAGS;
	}
	if (a.local_ip) {
		cfg.local_ip = a.local_ip;
		cfg.from_command_line |= GT_SCRIPT_SET_LOCAL_IP;
	}
	if (a.remote_ip) {
		cfg.remote_ip = a.remote_ip;
		cfg.from_command_line |= GT_SCRIPT_SET_REMOTE_IP;
	}
	if (a.tolerance_set) {
		cfg.tolerance_usecs = (int64_t)a.tolerance;
		cfg.from_command_line |= GT_SCRIPT_SET_TOLERANCE;
	}
	cfg.verbose = a.verbose ? stdout : NULL;
	setvbuf(stdout, NULL, _IOLBF, 0); /* each line as it happens, also into a pipe */
	int passed = 0, failed = 0;
	for (int k = a.first_file; k < argc; k++) {
		gt_script_result res;
		if (gt_script_run_file(argv[k], &cfg, &res)) {
			printf("PASS %s\n", argv[k]);
			passed++;
		} else {
			printf("FAIL %s\n", res.message);
			failed++;
		}
		if (a.verbose)
			printf("  %zu events run, skipped %zu shell lines\n", res.n_events,
			       res.n_shell);
		fflush(stdout);
	}
	printf("%d passed, %d failed, %d scripts\n", passed, failed, passed + failed);
	return failed ? 1 : 0;
}
