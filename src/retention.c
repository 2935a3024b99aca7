/*
 * retention: owns the purge statements and the batch loop that removes
 * old finished sagas, their events and old dead letters.  See
 * retention.h.
 */

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "metrics.h"
#include "pgerr.h"
#include "retention.h"

#define RETENTION_NUM_LEN	24
#define RETENTION_TIME_LEN	64

/*
 * The oldest finished sagas of one status from updated_at $4 on,
 * locked (those a lane holds are skipped), then their events and rows.
 * The row is checked again once locked, so a saga that left the status
 * meanwhile stays.  The newest updated_at taken is where the next batch
 * starts: a batch never walks again over the index entries of the rows
 * the previous ones removed (dead until vacuum) or over the old sagas
 * that stay (FAILED, COMPENSATING).
 */
static const char sql_purge_sagas[] =
	"WITH v AS (SELECT saga_id, updated_at FROM saga_instance"
	"  WHERE status = $1 AND updated_at < now() - $2::int8 *"
	"  interval '1 second' AND updated_at >= $4::timestamptz"
	"  ORDER BY updated_at LIMIT $3::int4 FOR UPDATE SKIP LOCKED),"
	" e AS (DELETE FROM saga_event"
	"  WHERE saga_id IN (SELECT saga_id FROM v) RETURNING 1),"
	" g AS (DELETE FROM saga_instance"
	"  WHERE saga_id IN (SELECT saga_id FROM v) RETURNING 1) "
	"SELECT (SELECT count(*) FROM g), (SELECT count(*) FROM e),"
	" (SELECT coalesce(max(updated_at), $4::timestamptz) FROM v)";

static const char sql_purge_rejected[] =
	"WITH v AS (SELECT id FROM saga_event_rejected"
	"  WHERE received_at < now() - $1::int8 * interval '1 second'"
	"  ORDER BY received_at LIMIT $2::int4),"
	" d AS (DELETE FROM saga_event_rejected"
	"  WHERE id IN (SELECT id FROM v) RETURNING 1) "
	"SELECT count(*) FROM d";

static const char *const terminal_statuses[] = {
	"COMPLETED", "COMPENSATED"
};

static PGresult	*retention_batch(PGconn *, const char *, const char *,
		    int, const char *const *, int64_t *, char *, size_t);
static int	retention_sagas(PGconn *, const char *, unsigned int,
		    char *, int64_t *, int64_t *, char *, size_t);
static int	retention_rejected(PGconn *, unsigned int, int64_t *,
		    char *, size_t);
static void	retention_rest(double);
static int	retention_stopped(atomic_int *);
static int	retention_step(PGconn *, const struct retention_params *,
		    int, char *, struct retention_result *, int *, char *,
		    size_t);

/*
 * One statement, one transaction (autocommit), whose single row starts
 * with the count that goes to *a.  The result, for the other columns;
 * NULL with err on failure.
 */
static PGresult *
retention_batch(PGconn *conn, const char *name, const char *sql,
    int nparams, const char *const *values, int64_t *a, char *err,
    size_t errlen)
{
	PGresult	*res;
	double		 t0;

	t0 = metrics_now();
	res = PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 0);
	metrics_db_observe(name, metrics_now() - t0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pgerr_format(err, errlen, "retention: %s: %s", name,
		    PQerrorMessage(conn));
		PQclear(res);
		return (NULL);
	}
	*a = strtoll(PQgetvalue(res, 0, 0), NULL, 10);

	return (res);
}

/* A batch of sagas from updated_at *from on; *from moves past it. */
static int
retention_sagas(PGconn *conn, const char *status, unsigned int after_sec,
    char *from, int64_t *sagas, int64_t *events, char *err, size_t errlen)
{
	PGresult	*res;
	const char	*values[4];
	char		 after[RETENTION_NUM_LEN], limit[RETENTION_NUM_LEN];

	(void)snprintf(after, sizeof(after), "%u", after_sec);
	(void)snprintf(limit, sizeof(limit), "%d", RETENTION_BATCH);
	values[0] = status;
	values[1] = after;
	values[2] = limit;
	values[3] = from;

	if ((res = retention_batch(conn, "retention_sagas", sql_purge_sagas,
	    4, values, sagas, err, errlen)) == NULL)
		return (-1);
	*events = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	(void)snprintf(from, RETENTION_TIME_LEN, "%s", PQgetvalue(res, 0, 2));
	PQclear(res);

	metrics_retention_deleted("saga_instance", (uint64_t)*sagas);
	metrics_retention_deleted("saga_event", (uint64_t)*events);

	return (0);
}

static int
retention_rejected(PGconn *conn, unsigned int after_sec, int64_t *rows,
    char *err, size_t errlen)
{
	PGresult	*res;
	const char	*values[2];
	char		 after[RETENTION_NUM_LEN], limit[RETENTION_NUM_LEN];

	(void)snprintf(after, sizeof(after), "%u", after_sec);
	(void)snprintf(limit, sizeof(limit), "%d", RETENTION_BATCH_REJECTED);
	values[0] = after;
	values[1] = limit;

	if ((res = retention_batch(conn, "retention_rejected",
	    sql_purge_rejected, 2, values, rows, err, errlen)) == NULL)
		return (-1);
	PQclear(res);

	metrics_retention_deleted("saga_event_rejected", (uint64_t)*rows);

	return (0);
}

/* Rest after a batch (seconds, at most 1 s at a time). */
static void
retention_rest(double seconds)
{
	struct timespec	ts;

	if (seconds <= 0)
		return;
	if (seconds > 1)
		seconds = 1;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	(void)nanosleep(&ts, NULL);
}

static int
retention_stopped(atomic_int *stop)
{
	return (stop != NULL && atomic_load(stop));
}

/*
 * One batch of step k (0, 1: the terminal statuses, from updated_at
 * from on; 2: dead letters) added to res.  *full is 1 when the batch was
 * full: more may be left.
 */
static int
retention_step(PGconn *conn, const struct retention_params *p, int k,
    char *from, struct retention_result *res, int *full, char *err,
    size_t errlen)
{
	int64_t		a, b;

	if (k < 2) {
		if (retention_sagas(conn, terminal_statuses[k],
		    p->terminal_sec, from, &a, &b, err, errlen) == -1)
			return (-1);
		res->sagas += (uint64_t)a;
		res->events += (uint64_t)b;
		*full = a == RETENTION_BATCH;
	} else {
		if (retention_rejected(conn, p->rejected_sec, &a, err,
		    errlen) == -1)
			return (-1);
		res->rejected += (uint64_t)a;
		*full = a == RETENTION_BATCH_REJECTED;
	}
	res->batches++;

	return (0);
}

int
retention_purge(PGconn *conn, const struct retention_params *p,
    atomic_int *stop, retention_progress progress, void *arg,
    struct retention_result *res, char *err, size_t errlen)
{
	double		t0;
	int		k, full;
	char		from[RETENTION_TIME_LEN];

	memset(res, 0, sizeof(*res));

	for (k = 0; k < 3; k++) {
		if ((k < 2 ? p->terminal_sec : p->rejected_sec) == 0)
			continue;
		(void)snprintf(from, sizeof(from), "-infinity");
		do {
			if (retention_stopped(stop))
				return (0);
			t0 = metrics_now();
			if (retention_step(conn, p, k, from, res, &full, err,
			    errlen) == -1)
				return (-1);
			if (progress != NULL)
				progress(arg, res);
			if (p->rest > 0 && full)
				retention_rest(p->rest * (metrics_now() - t0));
		} while (full);
	}

	return (0);
}
