/*
 * xalloc: allocation that ends the process when memory runs out (see
 * xalloc.h).
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void
xalloc_fail(const char *what)
{
	(void)fprintf(stderr, "saga-tracker: out of memory (%s)\n",
	    what != NULL ? what : "?");
	abort();
}

void *
xmalloc(size_t size, const char *what)
{
	void		*p;

	if ((p = malloc(size == 0 ? 1 : size)) == NULL)
		xalloc_fail(what);

	return (p);
}

void *
xcalloc(size_t n, size_t size, const char *what)
{
	void		*p;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((p = calloc(n, size)) == NULL)
		xalloc_fail(what);

	return (p);
}

void *
xreallocarray(void *p, size_t n, size_t size, const char *what)
{
	void		*np;

	if (size != 0 && n > SIZE_MAX / size)
		xalloc_fail(what);
	if (n == 0 || size == 0)
		n = size = 1;
	if ((np = realloc(p, n * size)) == NULL)
		xalloc_fail(what);

	return (np);
}

char *
xstrdup(const char *s, const char *what)
{
	char		*p;

	if ((p = strdup(s)) == NULL)
		xalloc_fail(what);

	return (p);
}
