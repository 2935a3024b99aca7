/*
 * jsonalloc: jansson allocates through xalloc, so that running out of
 * memory while a JSON document is built or parsed ends the process, as
 * any other allocation does (xalloc.h), instead of looking like a
 * refused document or an invalid request.
 *
 * jsonalloc_install() sets jansson's allocator for the whole process;
 * it is called before the first jansson call, by the kore parent
 * (app.c, so every worker inherits it) and by monitoring-gen.  Depends
 * on xalloc and jansson only.
 */

#ifndef SAGA_JSONALLOC_H
#define SAGA_JSONALLOC_H

void	jsonalloc_install(void);

#endif /* !SAGA_JSONALLOC_H */
