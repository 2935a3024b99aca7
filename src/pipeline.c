/*
 * pipeline: libpq pipeline mode for the store's batch transaction (see
 * pipeline.h).
 */

#include <errno.h>
#include <poll.h>
#include <string.h>

#include <libpq-fe.h>

#include "metrics.h"
#include "pgerr.h"
#include "pipeline.h"

static int	pipeline_send(struct pipeline *, char *, size_t);
static int	pipeline_flush(PGconn *, char *, size_t);
static int	pipeline_collect(struct pipeline *, char *, size_t);

void
pipeline_init(struct pipeline *p, PGconn *conn)
{
	memset(p, 0, sizeof(*p));
	p->conn = conn;
}

int
pipeline_add(struct pipeline *p, const char *name, const char *sql,
    const struct pgarray_params *params, ExecStatusType want)
{
	struct pipeline_stmt	*st;

	if (p->n == PIPELINE_MAX) {
		p->overflow = 1;
		return (-1);
	}

	st = &p->stmts[p->n];
	memset(st, 0, sizeof(*st));
	st->name = name;
	st->sql = sql;
	if (params != NULL) {
		st->nparams = params->n;
		st->values = params->values;
		st->lengths = params->lengths;
		st->formats = params->formats;
	}
	st->want = want;

	return (p->n++);
}

void
pipeline_clear(struct pipeline *p)
{
	int		i;

	for (i = 0; i < p->n; i++) {
		PQclear(p->stmts[i].res);
		p->stmts[i].res = NULL;
	}
}

int
pipeline_run(struct pipeline *p, char *err, size_t errlen)
{
	int		rc;

	if (p->n == 0 || p->overflow) {
		pgerr_format(err, errlen, "pipeline: %s statements",
		    p->n == 0 ? "no" : "too many");
		return (-1);
	}
	if (PQenterPipelineMode(p->conn) != 1) {
		pgerr_format(err, errlen, "%s: pipeline: %s", p->stmts[0].name,
		    PQerrorMessage(p->conn));
		return (-1);
	}

	rc = pipeline_send(p, err, errlen);
	if (rc == 0 && p->sent != NULL)
		p->sent(p->sent_arg);
	if (rc == 0)
		rc = pipeline_collect(p, err, errlen);

	/*
	 * Half a pipeline left behind (a send or a read failed): only a new
	 * connection is clean.  A broken one is reset by store_usable().
	 */
	if (PQexitPipelineMode(p->conn) != 1 &&
	    PQstatus(p->conn) == CONNECTION_OK)
		PQreset(p->conn);
	if (rc == -1)
		pipeline_clear(p);

	return (rc);
}

/* Queue every statement with a flush request after it, then the sync. */
static int
pipeline_send(struct pipeline *p, char *err, size_t errlen)
{
	struct pipeline_stmt	*st;
	int			 i, rc;

	if (PQsetnonblocking(p->conn, 1) != 0) {
		pgerr_format(err, errlen, "%s: %s", p->stmts[0].name,
		    PQerrorMessage(p->conn));
		return (-1);
	}

	rc = 0;
	for (i = 0; i < p->n && rc == 0; i++) {
		st = &p->stmts[i];
		if (PQsendQueryParams(p->conn, st->sql, st->nparams, NULL,
		    st->values, st->lengths, st->formats, 0) != 1 ||
		    PQsendFlushRequest(p->conn) != 1) {
			pgerr_format(err, errlen, "%s: %s", st->name,
			    PQerrorMessage(p->conn));
			rc = -1;
		}
	}
	if (rc == 0 && PQpipelineSync(p->conn) != 1) {
		pgerr_format(err, errlen, "%s: sync: %s", p->stmts[0].name,
		    PQerrorMessage(p->conn));
		rc = -1;
	}
	if (rc == 0)
		rc = pipeline_flush(p->conn, err, errlen);

	(void)PQsetnonblocking(p->conn, 0);

	return (rc);
}

/* Write out the queue, reading whatever the server answers meanwhile. */
static int
pipeline_flush(PGconn *conn, char *err, size_t errlen)
{
	struct pollfd	pfd;
	int		rc;

	pfd.fd = PQsocket(conn);
	while ((rc = PQflush(conn)) == 1) {
		pfd.events = POLLIN | POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR) {
			pgerr_format(err, errlen, "pipeline: poll: %s",
			    strerror(errno));
			return (-1);
		}
		if ((pfd.revents & POLLIN) && PQconsumeInput(conn) != 1)
			break;
	}
	if (rc != 0) {
		pgerr_format(err, errlen, "pipeline: send: %s",
		    PQerrorMessage(conn));
		return (-1);
	}

	return (0);
}

/* One result (then NULL) per statement, then the sync. */
static int
pipeline_collect(struct pipeline *p, char *err, size_t errlen)
{
	struct pipeline_stmt	*st;
	PGresult		*res;
	ExecStatusType		 status;
	double			 t, prev;
	int			 i, rc;

	rc = 0;
	prev = metrics_now();
	for (i = 0; i < p->n; i++) {
		st = &p->stmts[i];
		if ((res = PQgetResult(p->conn)) == NULL) {
			if (rc == 0)
				pgerr_format(err, errlen, "%s: no result: %s",
				    st->name, PQerrorMessage(p->conn));
			return (-1);
		}
		t = metrics_now();
		status = PQresultStatus(res);
		if (status != PGRES_PIPELINE_ABORTED)
			metrics_db_observe(st->name, t - prev);
		prev = t;

		if (status != st->want && rc == 0) {
			pgerr_format(err, errlen, "%s: %s", st->name,
			    PQresultErrorMessage(res)[0] != '\0' ?
			    PQresultErrorMessage(res) :
			    PQresStatus(status));
			rc = -1;
		}
		if (status == PGRES_TUPLES_OK && rc == 0)
			st->res = res;
		else
			PQclear(res);
		while ((res = PQgetResult(p->conn)) != NULL)
			PQclear(res);
	}

	if ((res = PQgetResult(p->conn)) == NULL ||
	    PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
		if (rc == 0)
			pgerr_format(err, errlen, "%s: pipeline: no sync: %s",
			    p->stmts[p->n - 1].name, PQerrorMessage(p->conn));
		rc = -1;
	}
	PQclear(res);

	return (rc);
}
