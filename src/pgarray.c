/*
 * pgarray: PostgreSQL binary arrays for statement parameters (see
 * pgarray.h).  The wire format (array_recv): int32 ndim, int32 has-null
 * flag, uint32 element type; per dimension int32 size and lower bound;
 * then the elements, each a value of pgbin.h (int32 length, -1 for
 * NULL, and the bytes).
 */

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgarray.h"
#include "pgbin.h"

#define PGARRAY_HEADER	20		/* ndim 1: 5 int32 */

static void	pgarray_init(struct pgarray *, uint32_t);
static void	pgarray_null(struct pgarray *);
static void	pgarray_finish(struct pgarray *);

static void
pgarray_init(struct pgarray *a, uint32_t elemtype)
{
	memset(a, 0, sizeof(*a));
	strbuf_init(&a->buf, 512);
	a->elemtype = elemtype;
	/* The header is written last, when the count is known. */
	strbuf_add(&a->buf, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
	    PGARRAY_HEADER);
}

static void
pgarray_null(struct pgarray *a)
{
	pgbin_null(&a->buf);
	a->hasnull = 1;
	a->count++;
}

void
pgarray_text(struct pgarray *a, const char *s)
{
	if (s == NULL) {
		pgarray_null(a);
		return;
	}
	pgbin_text(&a->buf, s);
	a->count++;
}

/* Fill in the header; an empty array has no dimension. */
static void
pgarray_finish(struct pgarray *a)
{
	uint32_t	h[5];

	h[0] = htonl(a->count > 0 ? 1 : 0);
	h[1] = htonl(a->hasnull ? 1 : 0);
	h[2] = htonl(a->elemtype);
	h[3] = htonl((uint32_t)a->count);
	h[4] = htonl(1);
	if (a->count == 0)
		strbuf_truncate(&a->buf, 3 * sizeof(h[0]));
	memcpy(a->buf.data, h, a->count > 0 ? sizeof(h) : 3 * sizeof(h[0]));
}

void
pgarray_params_init(struct pgarray_params *p, const uint32_t *types, int n)
{
	int		i;

	memset(p, 0, sizeof(*p));
	p->n = n;
	for (i = 0; i < n; i++) {
		pgarray_init(&p->a[i], types[i]);
		p->formats[i] = 1;
	}
}

int
pgarray_params_finish(struct pgarray_params *p, const char *name,
    char *err, size_t errlen)
{
	int		i;

	for (i = 0; i < p->n; i++) {
		pgarray_finish(&p->a[i]);
		if (p->a[i].buf.len > INT32_MAX) {
			(void)snprintf(err, errlen, "%s: parameter %d: over "
			    "2 GB", name, i + 1);
			return (-1);
		}
		p->values[i] = p->a[i].buf.data;
		p->lengths[i] = (int)p->a[i].buf.len;
	}

	return (0);
}

void
pgarray_params_free(struct pgarray_params *p)
{
	int		i;

	for (i = 0; i < p->n; i++)
		strbuf_free(&p->a[i].buf);
	memset(p, 0, sizeof(*p));
}
