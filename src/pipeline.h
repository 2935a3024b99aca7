/*
 * pipeline: several statements sent to PostgreSQL in one round trip
 * (libpq pipeline mode) and their results collected in order.
 *
 * Each statement is still observed as saga_tracker_db_query_seconds
 * under its own name: a flush request follows each one, so the server
 * sends every result as soon as it has it, and a statement's time is
 * from the previous result (or the end of sending) to its own.  Sending
 * is non-blocking and reads what the server already answered, so a big
 * pipeline cannot deadlock on full socket buffers.
 *
 * The first failing statement ends the pipeline: the server skips the
 * rest, and pipeline_run() reports "name: message" for the failure.
 * The caller's parameter buffers must live until pipeline_run()
 * returns.
 */

#ifndef SAGA_PIPELINE_H
#define SAGA_PIPELINE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "pgarray.h"

#define PIPELINE_MAX	8

struct pipeline_stmt {
	const char		 *name;		/* metric label, error prefix */
	const char		 *sql;
	int			  nparams;
	const char *const	 *values;
	const int		 *lengths;
	const int		 *formats;
	ExecStatusType		  want;
	PGresult		 *res;		/* kept: PGRES_TUPLES_OK only */
};

struct pipeline {
	PGconn			*conn;
	struct pipeline_stmt	 stmts[PIPELINE_MAX];
	int			 n;
	int			 overflow;	/* pipeline_run() refuses */
	/* Called once everything is sent, before any result is read. */
	void			(*sent)(void *);
	void			*sent_arg;
};

void	pipeline_init(struct pipeline *, PGconn *);

/*
 * Queue a statement (params may be NULL); its result will be
 * stmts[index].  -1 when PIPELINE_MAX are queued already.
 */
int	pipeline_add(struct pipeline *, const char *name, const char *sql,
	    const struct pgarray_params *params, ExecStatusType want);

/* Send them all, collect every result.  0, or -1 with err. */
int	pipeline_run(struct pipeline *, char *err, size_t errlen);

/* Free the results kept by pipeline_run(). */
void	pipeline_clear(struct pipeline *);

#endif
