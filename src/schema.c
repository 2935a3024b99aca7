/*
 * schema: owns the DDL of saga-tracker (the migration list) and the
 * procedure that applies it: one transaction, an advisory lock against
 * concurrent starts, schema_migrations as the record.  See schema.h.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "metrics.h"
#include "pgerr.h"
#include "schema.h"

/* pg_advisory_xact_lock() key of migrations: "sagaschm" as an int8. */
#define SCHEMA_LOCK_SQL		"SELECT pg_advisory_xact_lock(" \
				    "8314040055348029549)"

#define SCHEMA_QUERY_NAME	"migrate"
#define SCHEMA_VERSIONS_MAX	64

#define STATUS_CHECK(col)	"CHECK (" col " IN ('STARTED', "	\
				    "'IN_PROGRESS', 'COMPLETED', "	\
				    "'FAILED', 'COMPENSATING', "	\
				    "'COMPENSATED'))"

struct migration {
	int		 version;
	const char	*name;
	const char	*sql;
};

static const char migration_1[] =
	"CREATE TABLE saga_instance ("
	"  saga_id         text PRIMARY KEY,"
	"  saga_type       text,"
	"  order_id        text,"
	"  status          text NOT NULL " STATUS_CHECK("status") ","
	"  current_step    text,"
	"  started_at      timestamptz NOT NULL,"
	"  updated_at      timestamptz NOT NULL,"
	"  failed_at       timestamptz,"
	"  compensated_at  timestamptz,"
	"  completed_at    timestamptz,"
	"  trace_id        text,"
	"  failure_reason  text,"
	"  metadata        jsonb"
	");"
	"CREATE INDEX saga_instance_updated_idx ON saga_instance"
	"  (updated_at DESC, saga_id DESC);"
	"CREATE INDEX saga_instance_status_idx ON saga_instance"
	"  (status, updated_at DESC, saga_id DESC);"
	"CREATE INDEX saga_instance_order_idx ON saga_instance"
	"  (order_id, updated_at DESC, saga_id DESC);"
	"CREATE INDEX saga_instance_type_idx ON saga_instance"
	"  (saga_type, updated_at DESC, saga_id DESC);"
	"CREATE INDEX saga_instance_step_idx ON saga_instance"
	"  (current_step, updated_at DESC, saga_id DESC);"
	"CREATE INDEX saga_instance_pending_idx ON saga_instance"
	"  ((coalesce(failed_at, updated_at)))"
	"  WHERE status IN ('FAILED', 'COMPENSATING');"

	"CREATE TABLE saga_event ("
	"  event_id        text PRIMARY KEY,"
	"  saga_id         text NOT NULL,"
	"  saga_type       text,"
	"  order_id        text,"
	"  step            text NOT NULL,"
	"  status          text NOT NULL " STATUS_CHECK("status") ","
	"  occurred_at     timestamptz NOT NULL,"
	"  received_at     timestamptz NOT NULL,"
	"  source          text NOT NULL"
	"                  CHECK (source IN ('kafka', 'manual')),"
	"  kafka_partition integer,"
	"  kafka_offset    bigint,"
	"  metadata        jsonb,"
	"  trace_id        text,"
	"  CONSTRAINT saga_event_origin CHECK ("
	"    (source = 'kafka' AND kafka_partition IS NOT NULL AND"
	"     kafka_offset IS NOT NULL) OR"
	"    (source = 'manual' AND kafka_partition IS NULL AND"
	"     kafka_offset IS NULL))"
	");"
	"CREATE INDEX saga_event_saga_idx ON saga_event"
	"  (saga_id, occurred_at, event_id);"

	"CREATE TABLE saga_event_rejected ("
	"  id              bigserial PRIMARY KEY,"
	"  raw             bytea NOT NULL,"
	"  reason          text NOT NULL,"
	"  detail          text,"
	"  kafka_partition integer,"
	"  kafka_offset    bigint,"
	"  received_at     timestamptz NOT NULL DEFAULT now(),"
	"  CONSTRAINT saga_event_rejected_origin"
	"    UNIQUE (kafka_partition, kafka_offset)"
	");"
	"CREATE INDEX saga_event_rejected_received_idx ON saga_event_rejected"
	"  (received_at);";

/*
 * Version 2: per-status saga counts that cost the same at any table
 * size.  Each statement that writes saga_instance appends, from its
 * transition tables, one row per status it changed with the difference
 * (statement triggers, so a 2,000-row batch adds a handful of rows, and
 * no row is ever updated in place: two writers never wait for each
 * other here).  The count of a status is the sum of its rows; the
 * gauge refresh folds the rows into one per status (gauges.c).  The
 * lock keeps writers out while the rows that exist are counted once.
 * The terminal index serves retention: the oldest COMPLETED or
 * COMPENSATED sagas first, without reading the others.
 */
static const char migration_2[] =
	"LOCK TABLE saga_instance IN SHARE ROW EXCLUSIVE MODE;"
	"CREATE TABLE saga_status_delta ("
	"  status          text NOT NULL " STATUS_CHECK("status") ","
	"  n               bigint NOT NULL"
	");"
	"CREATE FUNCTION saga_status_delta_insert() RETURNS trigger"
	"  LANGUAGE plpgsql AS $$ BEGIN"
	"  INSERT INTO saga_status_delta (status, n)"
	"    SELECT status, count(*) FROM saga_new GROUP BY status;"
	"  RETURN NULL; END $$;"
	"CREATE FUNCTION saga_status_delta_update() RETURNS trigger"
	"  LANGUAGE plpgsql AS $$ BEGIN"
	"  INSERT INTO saga_status_delta (status, n)"
	"    SELECT status, sum(d) FROM ("
	"      SELECT status, 1 AS d FROM saga_new UNION ALL"
	"      SELECT status, -1 AS d FROM saga_old) AS x"
	"    GROUP BY status HAVING sum(d) <> 0;"
	"  RETURN NULL; END $$;"
	"CREATE FUNCTION saga_status_delta_delete() RETURNS trigger"
	"  LANGUAGE plpgsql AS $$ BEGIN"
	"  INSERT INTO saga_status_delta (status, n)"
	"    SELECT status, -count(*) FROM saga_old GROUP BY status;"
	"  RETURN NULL; END $$;"
	"CREATE TRIGGER saga_status_delta_insert AFTER INSERT ON saga_instance"
	"  REFERENCING NEW TABLE AS saga_new FOR EACH STATEMENT"
	"  EXECUTE FUNCTION saga_status_delta_insert();"
	"CREATE TRIGGER saga_status_delta_update AFTER UPDATE ON saga_instance"
	"  REFERENCING OLD TABLE AS saga_old NEW TABLE AS saga_new"
	"  FOR EACH STATEMENT EXECUTE FUNCTION saga_status_delta_update();"
	"CREATE TRIGGER saga_status_delta_delete AFTER DELETE ON saga_instance"
	"  REFERENCING OLD TABLE AS saga_old FOR EACH STATEMENT"
	"  EXECUTE FUNCTION saga_status_delta_delete();"
	"INSERT INTO saga_status_delta (status, n)"
	"  SELECT status, count(*) FROM saga_instance GROUP BY status;";

/*
 * Version 3: the counter deltas of each batch, under the random token
 * of the attempt that wrote them (outcome.h).  deltas is NULL in a
 * tombstone: the attempt under that token did not commit, and since the
 * tombstone holds its key, never will.  Rows are purged by age, through
 * the created_at index.
 */
static const char migration_3[] =
	"CREATE TABLE saga_batch_outcome ("
	"  token           bigint PRIMARY KEY,"
	"  created_at      timestamptz NOT NULL DEFAULT now(),"
	"  deltas          text"
	");"
	"CREATE INDEX saga_batch_outcome_created_idx ON saga_batch_outcome"
	"  (created_at);";

static const struct migration migrations[] = {
	{ 1, "saga_instance, saga_event, saga_event_rejected", migration_1 },
	{ 2, "saga_status_delta and its triggers", migration_2 },
	{ 3, "saga_batch_outcome", migration_3 },
};

#define MIGRATION_COUNT	(sizeof(migrations) / sizeof(migrations[0]))

static int	schema_exec(PGconn *, const char *, const char *,
		    ExecStatusType, PGresult **, char *, size_t);
static int	schema_applied(PGconn *, unsigned char *, long *, char *,
		    size_t);
static int	schema_apply(PGconn *, const struct migration *, char *,
		    size_t);
static int	schema_run(PGconn *, int, char *, size_t);
static void	schema_newer(long, char *, size_t);

int
schema_version_latest(void)
{
	return (migrations[MIGRATION_COUNT - 1].version);
}

/*
 * Run one statement (or a list, without parameters) and check its result
 * status.  The result goes to *out if out is not NULL, else it is freed.
 */
static int
schema_exec(PGconn *conn, const char *what, const char *sql,
    ExecStatusType want, PGresult **out, char *err, size_t errlen)
{
	PGresult	*res;
	double		 t0;

	t0 = metrics_now();
	res = PQexec(conn, sql);
	metrics_db_observe(SCHEMA_QUERY_NAME, metrics_now() - t0);

	if (PQresultStatus(res) != want) {
		pgerr_format(err, errlen, "migrate: %s: %s", what,
		    PQerrorMessage(conn));
		PQclear(res);
		return (-1);
	}

	if (out != NULL)
		*out = res;
	else
		PQclear(res);

	return (0);
}

/*
 * Mark in applied[] the versions schema_migrations records; the highest
 * of them goes to *newest (0 when none).
 */
static int
schema_applied(PGconn *conn, unsigned char *applied, long *newest,
    char *err, size_t errlen)
{
	PGresult	*res;
	long		 v;
	int		 i;

	if (schema_exec(conn, "create schema_migrations",
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "  version integer PRIMARY KEY,"
	    "  applied_at timestamptz NOT NULL DEFAULT now())",
	    PGRES_COMMAND_OK, NULL, err, errlen) == -1)
		return (-1);

	if (schema_exec(conn, "read schema_migrations",
	    "SELECT version FROM schema_migrations", PGRES_TUPLES_OK, &res,
	    err, errlen) == -1)
		return (-1);

	*newest = 0;
	for (i = 0; i < PQntuples(res); i++) {
		v = strtol(PQgetvalue(res, i, 0), NULL, 10);
		if (v > *newest)
			*newest = v;
		if (v > 0 && v < SCHEMA_VERSIONS_MAX)
			applied[v] = 1;
	}
	PQclear(res);

	return (0);
}

static int
schema_apply(PGconn *conn, const struct migration *m, char *err,
    size_t errlen)
{
	PGresult	*res;
	const char	*params[1];
	char		 version[16], what[128];
	double		 t0;

	(void)snprintf(what, sizeof(what), "migration %d (%s)", m->version,
	    m->name);
	if (schema_exec(conn, what, m->sql, PGRES_COMMAND_OK, NULL,
	    err, errlen) == -1)
		return (-1);

	(void)snprintf(version, sizeof(version), "%d", m->version);
	params[0] = version;

	t0 = metrics_now();
	res = PQexecParams(conn, "INSERT INTO schema_migrations "
	    "(version, applied_at) VALUES ($1::integer, now())", 1, NULL,
	    params, NULL, NULL, 0);
	metrics_db_observe(SCHEMA_QUERY_NAME, metrics_now() - t0);

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pgerr_format(err, errlen, "migrate: record %s: %s", what,
		    PQerrorMessage(conn));
		PQclear(res);
		return (-1);
	}
	PQclear(res);

	return (0);
}

static void
schema_newer(long newest, char *err, size_t errlen)
{
	pgerr_format(err, errlen, "migrate: the database schema is at version "
	    "%ld, newer than version %d, the newest this saga-tracker knows: "
	    "run a release that knows it (a database is never migrated down)",
	    newest, schema_version_latest());
}

int
schema_check_newer(const char *dsn, char *err, size_t errlen)
{
	PGconn		*conn;
	PGresult	*res;
	long		 newest;
	int		 rc;
	static const char *const keys[] = {
		"connect_timeout", "dbname", NULL
	};
	const char	*values[] = { "3", dsn, NULL };

	conn = PQconnectdbParams(keys, values, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		pgerr_format(err, errlen, "connect: %s", conn != NULL ?
		    PQerrorMessage(conn) : "out of memory");
		PQfinish(conn);
		return (-1);
	}

	res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM "
	    "schema_migrations");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		newest = strtol(PQgetvalue(res, 0, 0), NULL, 10);
		rc = newest > schema_version_latest();
		if (rc)
			schema_newer(newest, err, errlen);
	} else if (PQresultStatus(res) == PGRES_FATAL_ERROR &&
	    strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : "", "42P01") == 0) {
		rc = 0;		/* no schema_migrations: a new database */
	} else {
		pgerr_format(err, errlen, "read schema_migrations: %s",
		    PQerrorMessage(conn));
		rc = -1;
	}
	PQclear(res);
	PQfinish(conn);

	return (rc);
}

/*
 * Everything after BEGIN: lock, read what was applied, refuse a schema
 * newer than this binary, apply the rest up to version upto.
 */
static int
schema_run(PGconn *conn, int upto, char *err, size_t errlen)
{
	unsigned char	applied[SCHEMA_VERSIONS_MAX];
	long		newest;
	size_t		i;

	memset(applied, 0, sizeof(applied));

	if (schema_exec(conn, "advisory lock", SCHEMA_LOCK_SQL,
	    PGRES_TUPLES_OK, NULL, err, errlen) == -1)
		return (-1);
	if (schema_applied(conn, applied, &newest, err, errlen) == -1)
		return (-1);

	if (newest > schema_version_latest()) {
		schema_newer(newest, err, errlen);
		return (-1);
	}

	for (i = 0; i < MIGRATION_COUNT && migrations[i].version <= upto;
	    i++) {
		if (applied[migrations[i].version])
			continue;
		if (schema_apply(conn, &migrations[i], err, errlen) == -1)
			return (-1);
	}

	return (schema_exec(conn, "COMMIT", "COMMIT", PGRES_COMMAND_OK, NULL,
	    err, errlen));
}

int
schema_migrate(PGconn *conn, char *err, size_t errlen)
{
	return (schema_migrate_to(conn, schema_version_latest(), err,
	    errlen));
}

int
schema_migrate_to(PGconn *conn, int upto, char *err, size_t errlen)
{
	PGresult	*res;

	if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
		pgerr_format(err, errlen, "migrate: connection is not idle");
		return (-1);
	}

	if (schema_exec(conn, "BEGIN", "BEGIN", PGRES_COMMAND_OK, NULL,
	    err, errlen) == -1)
		return (-1);

	if (schema_run(conn, upto, err, errlen) == -1) {
		if (PQstatus(conn) == CONNECTION_OK &&
		    PQtransactionStatus(conn) != PQTRANS_IDLE) {
			res = PQexec(conn, "ROLLBACK");
			PQclear(res);
		}
		return (-1);
	}

	return (0);
}
