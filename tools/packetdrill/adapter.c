/* packetdrill_interface_init: the one symbol the shared object exports.
 * It reads --so_flags, creates the glasstcp stack with the chosen profile and
 * fills packetdrill's function table (pd_abi.h). */
#include "packetdrill/adapter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PD_DEFAULT_LOCAL 0xC0A80001u /* 192.168.0.1, packetdrill's --local_ip */

static int take_pair(const char *key, const char *value, pd_flags *out, char *err, size_t errlen)
{
	if (strcmp(key, "profile") == 0) {
		gt_stack_config probe;
		gt_stack_config_default(&probe);
		if (strlen(value) >= sizeof(out->profile) ||
		    gt_stack_config_profile(&probe, value) < 0) {
			snprintf(err, errlen, "bad value '%s' for profile= (linux, freebsd or rfc)",
			         value);
			return -1;
		}
		strcpy(out->profile, value);
		return 0;
	}
	if (strcmp(key, "local") == 0) {
		if (gt_ipv4_parse(value, &out->local_addr) < 0) {
			snprintf(err, errlen, "bad value '%s' for local= (an IPv4 address A.B.C.D)",
			         value);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "unknown key '%s' (the keys are profile and local)", key);
	return -1;
}

int gt_pd_parse_flags(const char *flags, pd_flags *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	strcpy(out->profile, "linux");
	out->local_addr = PD_DEFAULT_LOCAL;
	if (!flags || !*flags)
		return 0;
	char *copy = strdup(flags);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int r = 0;
	char *save = NULL;
	for (char *item = strtok_r(copy, ",", &save); item && r == 0;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		if (!eq) {
			snprintf(err, errlen, "'%s' is not key=value", item);
			r = -1;
			break;
		}
		*eq = '\0';
		r = take_pair(item, eq + 1, out, err, errlen);
	}
	free(copy);
	return r;
}

static void adapter_free(void *userdata)
{
	pd_adapter *a = userdata;
	if (!a)
		return;
	gt_stack_destroy(a->st);
	pd_queue_free(a);
	/* The real fds are not closed here: packetdrill closed them (libc
	 * close at exit); closing them again could close someone else's. */
	free(a->fds);
	pthread_cond_destroy(&a->changed);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

static int create_stack(pd_adapter *a)
{
	gt_stack_config cfg;
	gt_stack_config_default(&cfg);
	if (gt_stack_config_profile(&cfg, a->flags.profile) < 0)
		return -EINVAL;
	cfg.name = "glasstcp";
	cfg.local_addr = a->flags.local_addr;
	cfg.output = pd_output;
	cfg.output_user = a;
	cfg.on_event = pd_on_event;
	cfg.event_user = a;
	/* a fixed RFC 6528 key: runs are repeatable; scripts use relative
	 * sequence numbers, so the ISN itself does not matter */
	memcpy(cfg.isn_key, "glasstcp-pd-key!", sizeof(cfg.isn_key));
	return gt_stack_create(&cfg, &a->st);
}

static void fill_clock_and_device(struct packetdrill_interface *ifc)
{
	ifc->free = adapter_free;
	ifc->netdev_send = pd_netdev_send;
	ifc->netdev_receive = pd_netdev_receive;
	ifc->usleep = pd_usleep;
	ifc->gettimeofday = pd_gettimeofday;
}

static void die(const char *what)
{
	/* packetdrill cannot be told that init failed (it ignores what init
	 * does), so the adapter stops it here, with a message and status 2 */
	fprintf(stderr, "libglasstcp_packetdrill: %s\n", what);
	exit(2);
}

__attribute__((visibility("default"))) void
packetdrill_interface_init(const char *flags, struct packetdrill_interface *ifc)
{
	char err[256];
	pd_adapter *a = calloc(1, sizeof(*a));
	if (!a)
		die("out of memory");
	if (gt_pd_parse_flags(flags, &a->flags, err, sizeof(err)) < 0) {
		char msg[300];
		snprintf(msg, sizeof(msg), "--so_flags: %s", err);
		die(msg);
	}
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->changed, NULL);
	a->wake_at = GT_TIME_NEVER;
	if (create_stack(a) < 0)
		die("cannot create the glasstcp stack");
	memset(ifc, 0, sizeof(*ifc));
	ifc->userdata = a;
	fill_clock_and_device(ifc);
	pd_fill_socket_calls(ifc);
	pd_fill_io_calls(ifc);
	pd_fill_option_calls(ifc);
}
