/*
 * storeconn_private: the inside of a struct store, private to the
 * modules that run statements on it: storeconn.c (which makes it),
 * store.c, deadletter.c, sagarows.c, transition.c, tallycommit.c and
 * gauges.c.  Nothing else includes this header; everything else goes
 * through storeconn.h.
 *
 * Owns: the layout of struct store (the connection, the retention
 * horizon of late events, the outcome slot that holds the token of a
 * COMMIT in flight and the tests' fault hook), and the five ways to run
 * something on it: store_query() and store_command() run one statement
 * and store_copy() one binary COPY (pgcopy.h), each observed as
 * saga_tracker_db_query_seconds{query} under its name, with an error
 * that names it; store_usable() makes the connection fit for a new
 * transaction; store_rollback() ends a failed one.  Statements of
 * one round trip go through pipeline.h on s->conn instead.  And what
 * their statements share: exact conversions between UTC milliseconds
 * and timestamptz, the count of a pgarray_params' columns, and
 * store_opt(), the NULL of an absent string.
 */

#ifndef SAGA_STORECONN_PRIVATE_H
#define SAGA_STORECONN_PRIVATE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "outcome.h"
#include "pgcopy.h"
#include "storeconn.h"

/* A decimal int8 parameter, sign and NUL included. */
#define STORE_NUM_LEN		24

/* int8 milliseconds to timestamptz, exact over saga.h's whole range. */
#define MS_TO_TS(ms)	"(timestamptz 'epoch' + (" ms " / 1000) * "	\
			    "interval '1 second' + (" ms " % 1000) * "	\
			    "interval '1 millisecond')"
#define TS_TO_MS(ts)	"(extract(epoch FROM " ts ") * 1000)::int8"

/* The parameters of a statement: one per element type listed. */
#define STORE_NTYPES(t)		((int)(sizeof(t) / sizeof((t)[0])))

/* slot: where the token of a COMMIT in flight is, own or shared. */
struct store {
	PGconn			*conn;
	unsigned int		 expire_sec;	/* 0: nothing expires */
	struct outcome_slot	*slot;
	struct outcome_slot	 own;
	void			(*fault)(enum store_fault, int, int,
				    void *);	/* tests only */
	void			*fault_arg;
};

/*
 * Run one parameterised statement, observe its duration as query name
 * and check the result status.  NULL with "name: message" in err.
 */
PGresult	*store_query(struct store *, const char *name, const char *sql,
		    int nparams, const char *const *values, const int *lengths,
		    const int *formats, ExecStatusType want, char *err,
		    size_t errlen);

/*
 * Run a COPY ... FROM STDIN (FORMAT binary) with the rows of c, observed
 * as query name.  0, or -1 with "name: message" in err.
 */
int		 store_copy(struct store *, const char *name, const char *sql,
		    struct pgcopy *c, char *err, size_t errlen);

/* A statement without parameters or rows (BEGIN).  0, or -1 with err. */
int		 store_command(struct store *, const char *name,
		    const char *sql, char *err, size_t errlen);

/*
 * Reconnect a broken connection; roll back a transaction left open.
 * 0, or -1 with a message in err.
 */
int		 store_usable(struct store *, char *err, size_t errlen);

/* Roll back the transaction in progress, if any. */
void		 store_rollback(struct store *);

/* Call the tests' fault hook, if any, at point. */
void		 store_fault(struct store *, enum store_fault point);

/* saga.h keeps absent strings empty; the columns are NULL. */
static inline const char *
store_opt(const char *s)
{
	return (s[0] != '\0' ? s : NULL);
}

#endif /* !SAGA_STORECONN_PRIVATE_H */
