/* Shared between the TUN device and the event loop (not public). */
#ifndef GT_BACKEND_TUN_IMPL_H
#define GT_BACKEND_TUN_IMPL_H

#include "glasstcp/tun.h"

#include <stddef.h>

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void gt_tun_errf(char *err, size_t errlen, const char *fmt, ...);

/* SIOCGIFFLAGS of a device (works without privilege): 0 or -errno. */
int gt_tun_device_flags(const char *ifname, int *flags);

#endif
