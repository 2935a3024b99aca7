/*
 * build_info: the version, git commit and build time baked in at build.
 */

#include "build_info.h"
#include "build_info_values.h"

const char *
build_info_version(void)
{
	return (SAGA_BUILD_VERSION);
}

const char *
build_info_commit(void)
{
	return (SAGA_BUILD_COMMIT);
}

const char *
build_info_time(void)
{
	return (SAGA_BUILD_TIME);
}
