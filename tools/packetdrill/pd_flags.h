/* The adapter's --so_flags: a comma-separated key=value list.
 *   profile=linux|freebsd|rfc   gt_stack_config_profile (default linux)
 *   local=A.B.C.D               glasstcp's address (default 192.168.0.1,
 *                               packetdrill's --local_ip)
 * packetdrill_interface_init exits with status 2 on bad flags, since
 * packetdrill cannot be told init failed; a caller that can report errors
 * itself (glasstcp script) checks the flags with gt_pd_parse_flags first. */
#ifndef GT_PD_FLAGS_H
#define GT_PD_FLAGS_H

#include <stddef.h>
#include <stdint.h>

typedef struct pd_flags {
	char profile[16]; /* linux | freebsd | rfc */
	uint32_t local_addr;
} pd_flags;

/* 0 and *out, or -1 with a message naming the bad key or value in err
 * ("unknown key 'x' (the keys are profile and local)"). flags NULL or ""
 * gives the defaults. */
int gt_pd_parse_flags(const char *flags, pd_flags *out, char *err, size_t errlen);

#endif
