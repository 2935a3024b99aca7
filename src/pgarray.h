/*
 * pgarray: one-dimensional PostgreSQL arrays in the binary wire format,
 * built element by element, so that a batch's column travels as one
 * statement parameter (unnest()ed by the server).  Binary needs no
 * quoting here and no parsing there: each element is its length and
 * its bytes, integers and times in network order.
 *
 * A pgarray_params is the parameter list of one statement: an array per
 * parameter, with the values/lengths/formats vectors libpq takes.
 */

#ifndef SAGA_PGARRAY_H
#define SAGA_PGARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* Element type OIDs (pg_type.h). */
#define PGARRAY_INT8		20
#define PGARRAY_INT4		23
#define PGARRAY_TEXT		25
#define PGARRAY_TIMESTAMPTZ	1184

#define PGARRAY_PARAMS_MAX	16

struct pgarray {
	struct strbuf	 buf;
	uint32_t	 elemtype;
	int32_t		 count;
	int		 hasnull;
};

struct pgarray_params {
	struct pgarray	 a[PGARRAY_PARAMS_MAX];
	const char	*values[PGARRAY_PARAMS_MAX];
	int		 lengths[PGARRAY_PARAMS_MAX];
	int		 formats[PGARRAY_PARAMS_MAX];
	int		 n;
};

void	pgarray_text(struct pgarray *, const char *s);	/* NULL: NULL */
void	pgarray_int4(struct pgarray *, int32_t);
void	pgarray_int8(struct pgarray *, int64_t);
/* A timestamptz from UTC milliseconds since 1970. */
void	pgarray_time_ms(struct pgarray *, int64_t ms);
void	pgarray_null(struct pgarray *);

/* n arrays (1..PGARRAY_PARAMS_MAX) of the given element types. */
void	pgarray_params_init(struct pgarray_params *, const uint32_t *types,
	    int n);
/*
 * Close the arrays; -1 with "name: ..." in err if one is over the 2 GB
 * a libpq parameter can carry.  Memory running out ends the process
 * (xalloc.h), as everywhere.
 */
int	pgarray_params_finish(struct pgarray_params *, const char *name,
	    char *err, size_t errlen);
void	pgarray_params_free(struct pgarray_params *);

#endif
