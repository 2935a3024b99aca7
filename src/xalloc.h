/*
 * xalloc: the service's one out-of-memory policy.
 *
 * Running out of memory ends the process: it is not a property of an
 * event, a batch or a request, so it must not dead-letter an event,
 * fail a batch into a retry loop or answer a client as if the input
 * were at fault.  kore's own allocators (kore_malloc() and friends,
 * used by the modules that run inside kore) already behave so; the
 * modules that do not depend on kore allocate through these wrappers,
 * which name what was being allocated on stderr and abort(); and
 * jsonalloc.c gives jansson xmalloc() as its allocator (the service and
 * monitoring-gen install it), so a JSON document that cannot be built
 * ends the process too instead of looking invalid.  A worker that
 * aborts is respawned by the kore parent; its shared state (the metrics
 * segment, the consumer status, the outcome slots) survives.
 *
 * Callers therefore never test these results.  Sizes that overflow
 * count as out of memory.
 */

#ifndef SAGA_XALLOC_H
#define SAGA_XALLOC_H

#include <stddef.h>

void	*xmalloc(size_t size, const char *what);
void	*xcalloc(size_t n, size_t size, const char *what);
void	*xreallocarray(void *p, size_t n, size_t size, const char *what);
char	*xstrdup(const char *s, const char *what);
/* Print "module: out of memory (what)" on stderr, then abort(). */
void	 xalloc_fail(const char *what) __attribute__((noreturn));

#endif /* !SAGA_XALLOC_H */
