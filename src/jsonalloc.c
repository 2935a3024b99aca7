/*
 * jsonalloc: jansson's allocator is xmalloc() (see jsonalloc.h).
 */

#include <stddef.h>
#include <stdlib.h>

#include <jansson.h>

#include "jsonalloc.h"
#include "xalloc.h"

static void	*jsonalloc_malloc(size_t);

void
jsonalloc_install(void)
{
	json_set_alloc_funcs(jsonalloc_malloc, free);
}

/* Never NULL: out of memory ends the process in xmalloc(). */
static void *
jsonalloc_malloc(size_t len)
{
	return (xmalloc(len, "json"));
}
