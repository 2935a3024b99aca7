/*
 * dbquery: an HTTP request's statements on kore's async pgsql (see
 * dbquery.h).
 */

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/pgsql.h>

#include <string.h>

#include "app.h"
#include "dbquery.h"
#include "metrics.h"
#include "pgerr.h"
#include "respond.h"

/* What dbquery_poll() saw. */
#define DBQUERY_POLL_WAIT	0
#define DBQUERY_POLL_AGAIN	1
#define DBQUERY_POLL_ROWS	2
#define DBQUERY_POLL_DONE	3

/* What dbquery_send() did. */
#define DBQUERY_SEND_QUEUED	0
#define DBQUERY_SEND_SENT	1
#define DBQUERY_SEND_FAILED	2

static int	dbquery_send(struct http_request *, struct dbquery *,
		    const char *, const char *, int, const char **);
static void	dbquery_observe(struct dbquery *);
static int	dbquery_error_status(struct dbquery *);
static int	dbquery_poll(struct dbquery *);

static int
dbquery_send(struct http_request *req, struct dbquery *q, const char *name,
    const char *sql, int n, const char **values)
{
	if (!q->bound) {
		kore_pgsql_bind_request(&q->pg, req);
		q->bound = 1;
	}
	q->name = name;

	if (!kore_pgsql_setup(&q->pg, APP_DB_NAME, KORE_PGSQL_ASYNC)) {
		/* Queued for a free connection: retried when woken. */
		if (q->pg.state == KORE_PGSQL_STATE_INIT)
			return (DBQUERY_SEND_QUEUED);
		dbquery_fail(q, 503, q->pg.error);
		return (DBQUERY_SEND_FAILED);
	}

	q->start = metrics_now();
	if (!kore_pgsql_query_param_fields(&q->pg, sql, 0, n, values, NULL,
	    NULL)) {
		dbquery_observe(q);
		dbquery_fail(q, dbquery_error_status(q), q->pg.error);
		return (DBQUERY_SEND_FAILED);
	}

	return (DBQUERY_SEND_SENT);
}

/*
 * One state of a handler's machine: send the statement, then go on to
 * wait (sent), come back to again (queued for a connection) or go to
 * fail (failed, the answer is an error).
 */
int
dbquery_step(struct http_request *req, struct dbquery *q, const char *name,
    const char *sql, int n, const char **values, int again, int wait,
    int fail)
{
	switch (dbquery_send(req, q, name, sql, n, values)) {
	case DBQUERY_SEND_QUEUED:
		req->fsm_state = again;
		return (HTTP_STATE_RETRY);
	case DBQUERY_SEND_SENT:
		req->fsm_state = wait;
		break;
	default:
		req->fsm_state = fail;
		break;
	}

	return (HTTP_STATE_CONTINUE);
}

void
dbquery_fail(struct dbquery *q, int status, const char *why)
{
	if (q->failed)
		return;

	q->failed = status;
	/* libpq messages span lines and end in one; logs and JSON not. */
	pgerr_format(q->error, sizeof(q->error), "%s",
	    why != NULL && *why != '\0' ? why : "unknown error");
	kore_log(LOG_ERR, "database: %s: %s", q->name != NULL ? q->name :
	    "statement", q->error);
}

/* Time to the first answer of the statement, once. */
static void
dbquery_observe(struct dbquery *q)
{
	if (q->observed || q->start == 0)
		return;

	q->observed = 1;
	metrics_db_observe(q->name, metrics_now() - q->start);
}

/*
 * 503 when the database went away (no connection, or SQLSTATE class 08
 * connection exception, 53 insufficient resources, 57 operator
 * intervention such as a shutdown), else 500.
 */
static int
dbquery_error_status(struct dbquery *q)
{
	const char	*state;

	if (q->pg.conn == NULL || PQstatus(q->pg.conn->db) == CONNECTION_BAD)
		return (503);
	if (q->pg.result != NULL && (state = PQresultErrorField(q->pg.result,
	    PG_DIAG_SQLSTATE)) != NULL && (strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "53", 2) == 0 || strncmp(state, "57", 2) == 0))
		return (503);

	return (500);
}

static int
dbquery_poll(struct dbquery *q)
{
	int		status, drained;

	drained = q->failed != 0;
	switch (q->pg.state) {
	case KORE_PGSQL_STATE_WAIT:
		return (DBQUERY_POLL_WAIT);
	case KORE_PGSQL_STATE_RESULT:
		dbquery_observe(q);
		return (DBQUERY_POLL_ROWS);
	case KORE_PGSQL_STATE_COMPLETE:
		dbquery_observe(q);
		return (DBQUERY_POLL_DONE);
	case KORE_PGSQL_STATE_ERROR:
		dbquery_observe(q);
		status = dbquery_error_status(q);
		if (q->failed && status == 503)
			q->failed = 503;
		dbquery_fail(q, status, q->pg.error);
		/*
		 * Drain a statement error to the end so the connection goes
		 * back clean.  A lost connection (kore dropped it, conn is
		 * NULL) or a second error has nothing left to drain.
		 */
		if (q->pg.conn == NULL || drained)
			return (DBQUERY_POLL_DONE);
		kore_pgsql_continue(&q->pg);
		return (DBQUERY_POLL_AGAIN);
	default:
		kore_pgsql_continue(&q->pg);
		return (DBQUERY_POLL_AGAIN);
	}
}

/* A wait state: go to read with rows, to next when done or failed. */
int
dbquery_wait(struct http_request *req, struct dbquery *q, int self,
    int read, int next)
{
	switch (dbquery_poll(q)) {
	case DBQUERY_POLL_WAIT:
		return (HTTP_STATE_RETRY);
	case DBQUERY_POLL_AGAIN:
		req->fsm_state = self;
		break;
	case DBQUERY_POLL_ROWS:
		req->fsm_state = read;
		break;
	default:
		req->fsm_state = next;
		break;
	}

	return (HTTP_STATE_CONTINUE);
}

void
dbquery_problem(struct http_request *req, struct dbquery *q)
{
	if (q->failed == 503)
		respond_problem(req, 503, "the database is unavailable");
	else
		respond_problem(req, 500, "the database query failed");
}
