/*
 * gauges: the refresh of the database-derived gauges.  See gauges.h.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "gauges.h"
#include "metrics.h"
#include "outcome.h"
#include "pipeline.h"
#include "saga.h"
#include "storeconn.h"
#include "storeconn_private.h"

/* pg_advisory_xact_lock() key of the fold: "SAGAFOLD" as an int8. */
#define GAUGES_FOLD_LOCK	"5999734839186720580"

/*
 * Fold saga_status_delta into one row per status and return the sums:
 * what was there when the statement started is read once, whatever the
 * table's size.  Folds run one at a time (the lock), so a replica never
 * misses rows another one is folding.
 */
static const char sql_refresh_fold[] =
	"WITH d AS (DELETE FROM saga_status_delta RETURNING status, n),"
	" s AS (SELECT status, sum(n)::int8 AS n FROM d GROUP BY status),"
	" i AS (INSERT INTO saga_status_delta (status, n)"
	"  SELECT status, n FROM s WHERE n <> 0) "
	"SELECT status, n FROM s";

/* The partial index on this expression makes it one index probe. */
static const char sql_refresh_oldest[] =
	"SELECT coalesce(greatest(extract(epoch FROM now() -"
	" min(coalesce(failed_at, updated_at))), 0), 0)::float8 "
	"FROM saga_instance WHERE status IN ('FAILED', 'COMPENSATING')";

/* A batch's tally row (outcome.h) is kept OUTCOME_KEEP_SQL, no longer. */
static const char sql_outcome_purge[] =
	"DELETE FROM saga_batch_outcome "
	"WHERE created_at < now() - " OUTCOME_KEEP_SQL;

static void	refresh_set(PGresult *, PGresult *);

/* The gauges from the fold's sums and the oldest pending saga's age. */
static void
refresh_set(PGresult *fold, PGresult *oldest)
{
	int64_t			 counts[SAGA_STATUS_COUNT];
	enum saga_status	 st;
	int			 i;

	memset(counts, 0, sizeof(counts));
	for (i = 0; i < PQntuples(fold); i++) {
		if (saga_status_parse(PQgetvalue(fold, i, 0), &st) == 0)
			counts[st] = strtoll(PQgetvalue(fold, i, 1), NULL, 10);
	}

	for (i = 0; i < SAGA_STATUS_COUNT; i++)
		(void)metrics_active_set(saga_status_name(i), counts[i]);
	metrics_pending_set(counts[SAGA_FAILED] + counts[SAGA_COMPENSATING],
	    strtod(PQgetvalue(oldest, 0, 0), NULL));
}

/*
 * One round trip, one transaction: the fold (under its lock; read
 * committed, so it sees what a fold it waited for wrote), the oldest
 * pending saga, and the purge of the old tally rows.  The commit does
 * not wait for the WAL flush: a fold lost in a crash leaves the rows it
 * would have folded, whose sums are the same.
 */
int
store_refresh_gauges(struct store *s, char *err, size_t errlen)
{
	struct pipeline	p;
	int		rc, fold, oldest;

	if (store_usable(s, err, errlen) == -1)
		return (-1);

	pipeline_init(&p, s->conn);
	(void)pipeline_add(&p, "begin", "BEGIN", NULL, PGRES_COMMAND_OK);
	(void)pipeline_add(&p, "refresh_async", "SET LOCAL synchronous_commit "
	    "TO off", NULL, PGRES_COMMAND_OK);
	(void)pipeline_add(&p, "refresh_lock", "SELECT pg_advisory_xact_lock("
	    GAUGES_FOLD_LOCK ")", NULL, PGRES_TUPLES_OK);
	fold = pipeline_add(&p, "refresh_active", sql_refresh_fold, NULL,
	    PGRES_TUPLES_OK);
	oldest = pipeline_add(&p, "refresh_pending", sql_refresh_oldest, NULL,
	    PGRES_TUPLES_OK);
	(void)pipeline_add(&p, "outcome_purge", sql_outcome_purge, NULL,
	    PGRES_COMMAND_OK);
	(void)pipeline_add(&p, "commit", "COMMIT", NULL, PGRES_COMMAND_OK);

	if ((rc = pipeline_run(&p, err, errlen)) == 0)
		refresh_set(p.stmts[fold].res, p.stmts[oldest].res);
	else
		store_rollback(s);
	pipeline_clear(&p);

	return (rc);
}

