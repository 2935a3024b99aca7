/*
 * dbquery: an HTTP request's statements on kore's async pgsql, prepared
 * once per connection (see dbquery.h).
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
#include "stmtcache.h"

/* What dbquery_poll() saw. */
#define DBQUERY_POLL_WAIT	0
#define DBQUERY_POLL_AGAIN	1
#define DBQUERY_POLL_ROWS	2
#define DBQUERY_POLL_DONE	3
#define DBQUERY_POLL_RESEND	4

/* What dbquery_send() did. */
#define DBQUERY_SEND_QUEUED	0
#define DBQUERY_SEND_SENT	1
#define DBQUERY_SEND_FAILED	2

/*
 * PREPAREs one request may send before it sends its text unprepared: a
 * statement is prepared on each connection it meets, and kore lends
 * the worker's connections in turn (pgsql_conn_max of them).
 */
#define DBQUERY_PREPARES_MAX	8

/* SQLSTATEs of a prepared statement the server has, or has not. */
#define DBQUERY_DUPLICATE	"42P05"	/* duplicate_prepared_stmt. */
#define DBQUERY_UNKNOWN		"26000"	/* invalid_sql_statement_name */

static int	dbquery_send(struct http_request *, struct dbquery *,
		    const char *, const char *, int, const char **);
static int	dbquery_send_libpq(struct http_request *, struct dbquery *,
		    const char *, int, const char **);
static void	dbquery_schedule(struct http_request *, struct dbquery *);
static void	dbquery_observe(struct dbquery *);
static int	dbquery_error_status(struct dbquery *);
static void	dbquery_prepared(struct dbquery *);
static int	dbquery_sqlstate(struct dbquery *, const char *);
static int	dbquery_error(struct dbquery *);
static int	dbquery_poll(struct dbquery *);

static int
dbquery_send(struct http_request *req, struct dbquery *q, const char *name,
    const char *sql, int n, const char **values)
{
	if (!q->bound) {
		kore_pgsql_bind_request(&q->pg, req);
		q->bound = 1;
		q->key = stmtcache_key(sql);
	}
	q->name = name;

	if (!kore_pgsql_setup(&q->pg, APP_DB_NAME, KORE_PGSQL_ASYNC)) {
		/* Queued for a free connection: retried when woken. */
		if (q->pg.state == KORE_PGSQL_STATE_INIT)
			return (DBQUERY_SEND_QUEUED);
		dbquery_fail(q, 503, q->pg.error);
		return (DBQUERY_SEND_FAILED);
	}

	if (q->start == 0)
		q->start = metrics_now();
	if (dbquery_send_libpq(req, q, sql, n, values) == -1) {
		dbquery_observe(q);
		dbquery_fail(q, dbquery_error_status(q), q->pg.error != NULL ?
		    q->pg.error : PQerrorMessage(q->pg.conn->db));
		return (DBQUERY_SEND_FAILED);
	}

	return (DBQUERY_SEND_SENT);
}

/*
 * Execute the statement by name when this connection has prepared it,
 * else prepare it (the step runs again when that is done), or, when
 * the connection's record is full or the request has prepared enough,
 * send the text as kore does.
 */
static int
dbquery_send_libpq(struct http_request *req, struct dbquery *q,
    const char *sql, int n, const char **values)
{
	PGconn		*db = q->pg.conn->db;
	char		 name[STMTCACHE_NAME_SIZE];
	int		 pid;

	/*
	 * A PREPARE sent before was on a connection kore has taken back
	 * (and out of the event loop); this one is in no event loop yet,
	 * and kore's cleanup must not take it out if nothing is sent.
	 */
	q->pg.flags &= ~KORE_PGSQL_SCHEDULED;
	pid = PQbackendPID(db);
	stmtcache_name(q->key, name, sizeof(name));
	q->preparing = 0;
	if (stmtcache_has(db, pid, q->key)) {
		if (!PQsendQueryPrepared(db, name, n, values, NULL, NULL, 0))
			return (-1);
	} else if (q->prepares < DBQUERY_PREPARES_MAX &&
	    stmtcache_room(db, pid)) {
		if (!PQsendPrepare(db, name, sql, n, NULL))
			return (-1);
		q->preparing = 1;
		q->prepares++;
	} else {
		if (!kore_pgsql_query_param_fields(&q->pg, sql, 0, n, values,
		    NULL, NULL))
			return (-1);
		return (0);
	}
	dbquery_schedule(req, q);

	return (0);
}

/*
 * Wait for the answer as kore's own query calls do: the connection's
 * socket in the worker's event loop, the request asleep until
 * kore_pgsql_handle() has read a result and woken it.
 */
static void
dbquery_schedule(struct http_request *req, struct dbquery *q)
{
	kore_platform_schedule_read(PQsocket(q->pg.conn->db), q->pg.conn);
	q->pg.state = KORE_PGSQL_STATE_WAIT;
	q->pg.flags |= KORE_PGSQL_SCHEDULED;
	http_request_sleep(req);
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
	q->again = again;
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

/* The connection has the statement now: record it, then send it. */
static void
dbquery_prepared(struct dbquery *q)
{
	PGconn		*db = q->pg.conn->db;

	(void)stmtcache_add(db, PQbackendPID(db), q->key);
	q->preparing = 0;
	q->resend = 1;
}

/* 1 when the statement's error has SQLSTATE state. */
static int
dbquery_sqlstate(struct dbquery *q, const char *state)
{
	const char	*got;

	if (q->pg.result == NULL || (got = PQresultErrorField(q->pg.result,
	    PG_DIAG_SQLSTATE)) == NULL)
		return (0);

	return (strcmp(got, state) == 0);
}

/*
 * An error of the statement, with the connection still there.  A
 * PREPARE of a statement the connection has already (its record was
 * evicted) counts as prepared; an execution of one it no longer has
 * (DISCARD ALL, a pooler) prepares it again, once per request.  Both
 * send again when the error is drained.  Any other error fails q.
 */
static int
dbquery_error(struct dbquery *q)
{
	PGconn		*db;
	int		 status;

	db = q->pg.conn != NULL ? q->pg.conn->db : NULL;
	if (db != NULL && q->preparing &&
	    dbquery_sqlstate(q, DBQUERY_DUPLICATE)) {
		dbquery_prepared(q);
		return (0);
	}
	if (db != NULL && !q->preparing && !q->retried &&
	    dbquery_sqlstate(q, DBQUERY_UNKNOWN)) {
		stmtcache_forget(db, PQbackendPID(db));
		q->retried = 1;
		q->resend = 1;
		return (0);
	}

	q->preparing = 0;
	q->resend = 0;
	dbquery_observe(q);
	status = dbquery_error_status(q);
	if (q->failed && status == 503)
		q->failed = 503;
	dbquery_fail(q, status, q->pg.error);

	return (-1);
}

static int
dbquery_poll(struct dbquery *q)
{
	int		drained;

	drained = q->failed != 0;
	switch (q->pg.state) {
	case KORE_PGSQL_STATE_WAIT:
		return (DBQUERY_POLL_WAIT);
	case KORE_PGSQL_STATE_RESULT:
		dbquery_observe(q);
		return (DBQUERY_POLL_ROWS);
	case KORE_PGSQL_STATE_DONE:
		if (q->preparing)
			dbquery_prepared(q);
		kore_pgsql_continue(&q->pg);
		return (DBQUERY_POLL_AGAIN);
	case KORE_PGSQL_STATE_COMPLETE:
		if (q->resend) {
			q->resend = 0;
			return (DBQUERY_POLL_RESEND);
		}
		dbquery_observe(q);
		return (DBQUERY_POLL_DONE);
	case KORE_PGSQL_STATE_ERROR:
		if (q->pg.conn == NULL) {
			/* kore dropped the lost connection: no drain. */
			(void)dbquery_error(q);
			return (DBQUERY_POLL_DONE);
		}
		/*
		 * Drain a statement error to the end so the connection goes
		 * back clean; a second error has nothing left to drain.
		 */
		if (dbquery_error(q) == -1 && drained)
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
	case DBQUERY_POLL_RESEND:
		req->fsm_state = q->again;
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
