/*
 * dbquery: one statement of an HTTP request on kore's async pgsql, as
 * states of the handler's kore state machine.
 *
 * dbquery_step() sends it (or queues the request for a free
 * connection); dbquery_wait() waits for it and sends the machine to the
 * state that reads the rows, or on when the statement is done or has
 * failed.  Each statement is observed as
 * saga_tracker_db_query_seconds{query} under its name, from the first
 * send to the first answer.  A failure keeps an HTTP status: 503 when
 * the database went away, 500 when the statement failed, and the error
 * text.
 *
 * Statements are prepared: the first time a connection runs a statement
 * text, dbquery_step() sends a PREPARE of it (libpq's PQsendPrepare)
 * instead, and dbquery_wait() sends the machine back to the step state,
 * which then executes it by name; stmtcache.c records what each
 * connection has prepared.  kore 4.1 has no call for either, so this
 * module sends them with libpq on the connection kore lent it and waits
 * for the answer as kore's own query calls do (dbquery_schedule()).
 */

#ifndef SAGA_DBQUERY_H
#define SAGA_DBQUERY_H

#include <kore/pgsql.h>

#include <stdint.h>

struct http_request;

struct dbquery {
	struct kore_pgsql	 pg;
	const char		*name;	/* saga_tracker_db_query_seconds */
	double			 start;	/* metrics_now(); 0: unsent */
	int			 bound;
	int			 observed;
	int			 failed;	/* 0, or the HTTP status */
	uint64_t		 key;	/* stmtcache_key() of the text */
	int			 again;	/* the state that sends */
	int			 preparing;	/* a PREPARE is out */
	int			 resend;	/* send again when drained */
	int			 retried;	/* prepared again once */
	int			 prepares;	/* PREPAREs sent */
	char			 error[256];	/* why, when failed */
};

/* Call kore_pgsql_init(&q->pg) once before the first step. */

/*
 * A state that sends sql with n text parameters: on to wait when sent,
 * back to again when queued for a connection, on to fail when it
 * failed already.
 */
int	dbquery_step(struct http_request *req, struct dbquery *q,
	    const char *name, const char *sql, int n, const char **values,
	    int again, int wait, int fail);

/*
 * A state that waits: to read with rows (which must call
 * kore_pgsql_continue() and come back here), to next when done or
 * failed, back to self for more.
 */
int	dbquery_wait(struct http_request *req, struct dbquery *q, int self,
	    int read, int next);

/* Mark q failed with status (logged once, the first reason kept). */
void	dbquery_fail(struct dbquery *q, int status, const char *why);

/* Answer the failure: 503 database unavailable, else 500. */
void	dbquery_problem(struct http_request *req, struct dbquery *q);

#endif
