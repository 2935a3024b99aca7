/*
 * build_info: what was built, from which commit, and when.
 *
 * The values come from generated/build_info.h, which the GNUmakefile
 * writes from VERSION and git before each build.
 */

#ifndef SAGA_BUILD_INFO_H
#define SAGA_BUILD_INFO_H

const char	*build_info_version(void);
const char	*build_info_commit(void);
const char	*build_info_time(void);

#endif
