/* The library's version: GT_VERSION_STRING comes from project(VERSION ...) in
 * CMakeLists.txt, the one place it is written. */
#include "glasstcp/version.h"

#ifndef GT_VERSION_STRING
#error "GT_VERSION_STRING is defined by CMakeLists.txt (project VERSION)"
#endif

const char *gt_version(void)
{
	return GT_VERSION_STRING;
}
