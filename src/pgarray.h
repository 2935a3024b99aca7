/*
 * pgarray: one-dimensional PostgreSQL arrays of text in the binary wire
 * format, built element by element, so that the ids of a batch (its
 * sagas, its events) travel as one statement parameter, whatever their
 * number (= ANY ($1) or unnest($1) on the server).  Binary needs no
 * quoting here and no parsing there: each element is a value of
 * pgbin.h, its length and its bytes.  (The rows a batch writes go by
 * binary COPY instead, pgcopy.h.)
 *
 * A pgarray_params is the parameter list of one statement: an array per
 * parameter, with the values/lengths/formats vectors libpq takes.
 */

#ifndef SAGA_PGARRAY_H
#define SAGA_PGARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* Element type OIDs (pg_type.h): the service's arrays are of text. */
#define PGARRAY_TEXT		25

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
