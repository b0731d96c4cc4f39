/* glasstcp — the library's version.
 *
 * The version is defined once, by project(VERSION ...) in CMakeLists.txt; it is
 * also the pkg-config module's Version, the CMake package's version and the
 * shared library's VERSION (its SONAME carries the major number). */
#ifndef GLASSTCP_VERSION_H
#define GLASSTCP_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the library linked in, "MAJOR.MINOR.PATCH" (e.g. "0.1.0"):
 * what `glasstcp --version` prints after "glasstcp ". A static string. */
const char *gt_version(void);

#ifdef __cplusplus
}
#endif

#endif
