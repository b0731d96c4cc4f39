/* glasstcp — a user-space TCP/IPv4 stack whose every state change can be watched. */
#ifndef GLASSTCP_H
#define GLASSTCP_H

#include "sim.h"
#include "socket.h"
#include "stack.h"
#include "trace.h"
#include "types.h"
#include "version.h"

#endif
