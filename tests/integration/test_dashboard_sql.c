/*
 * Integration: the Grafana dashboard's Recent Failed Sagas table
 * (tools/monitoring-dashboard.c) against a real PostgreSQL, as the
 * read-only role of deploy/postgres/grafana-readonly.sql.
 *
 * psql runs the committed file as an operator would; then, logged in
 * as that role, the panel's SQL from the committed dashboard (Grafana's
 * $__timeFilter expanded as Grafana does) returns the FAILED and
 * COMPENSATING sagas of the time range, newest failure first, under the
 * design's headers, through saga_instance_pending_idx; and the role can
 * read no other column or table and write nothing.
 */

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "harness.h"
#include "schema.h"
#include "yamldoc.h"

#define ROLE		"saga_tracker_grafana"
#define PASSWORD	"test-grafana-password"
#define SQL_FILE	"deploy/postgres/grafana-readonly.sql"
#define DASHBOARD	"deploy/kubernetes/grafana-dashboard-configmap.yaml"
#define TIME_FILTER	"$__timeFilter(coalesce(failed_at, updated_at))"

static void	panel_sql(const struct harness_env *, char *, size_t);
static PGconn	*as_role(const struct harness_env *, const char *);
static void	refused(PGconn *, const char *, const char *);

const struct harness_suite	harness_suite = {
	HARNESS_PG, NULL, NULL
};

/* The table's SQL, its time filter over the last day. */
static void
panel_sql(const struct harness_env *env, char *buf, size_t len)
{
	struct ydoc	 y;
	json_error_t	 error;
	json_t		*root, *p;
	const char	*sql, *at;
	char		 path[2 * HARNESS_PATH];
	size_t		 i;

	(void)snprintf(path, sizeof(path), "%s/%s", env->root, DASHBOARD);
	ydoc_load(&y, path);
	root = json_loads(ystr(yget(&y, yget(&y, y.root, "data"),
	    "saga-tracker.json")),
	    0, &error);
	cr_assert_not_null(root, "%s: %s", path, error.text);

	sql = NULL;
	json_array_foreach(json_object_get(root, "panels"), i, p) {
		if (strcmp(json_string_value(json_object_get(p, "title")),
		    "Recent Failed Sagas") == 0)
			sql = json_string_value(json_object_get(json_array_get(
			    json_object_get(p, "targets"), 0), "rawSql"));
	}
	cr_assert_not_null(sql, "%s: no Recent Failed Sagas SQL", path);
	at = strstr(sql, TIME_FILTER);
	cr_assert_not_null(at, "%s: no %s", path, TIME_FILTER);
	(void)snprintf(buf, len, "%.*scoalesce(failed_at, updated_at) "
	    "BETWEEN now() - interval '1 day' AND now()%s", (int)(at - sql),
	    sql, at + strlen(TIME_FILTER));
	json_decref(root);
	ydoc_free(&y);
}

static PGconn *
as_role(const struct harness_env *env, const char *db)
{
	char		dsn[512];

	(void)snprintf(dsn, sizeof(dsn), "host=127.0.0.1 port=%d dbname=%s "
	    "user=" ROLE " password=" PASSWORD " connect_timeout=3",
	    env->pg_port, db);
	return (harness_db_connect(dsn));
}

/* sql as the role fails with a message holding want. */
static void
refused(PGconn *conn, const char *sql, const char *want)
{
	PGresult	*res;

	res = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(res), PGRES_FATAL_ERROR, "%s: allowed",
	    sql);
	cr_assert(strstr(PQresultErrorMessage(res), want) != NULL, "%s: %s",
	    sql, PQresultErrorMessage(res));
	PQclear(res);
}

Test(dashboard, failed_sagas_table_as_the_readonly_role)
{
	struct harness_env	 env;
	PGconn		*admin, *conn, *grafana;
	PGresult	*res;
	char		 dsn[512], sql[2048], plan[2100];
	char		 file[2 * HARNESS_PATH], err[256];
	char		*psql[] = { "psql", dsn, "-q", "-v",
			    "password=" PASSWORD, "-f", file, NULL };
	static const char	*headers[] = { "SagaID", "OrderID",
		"Last Step", "Failed At" };
	int		 i, found;

	/* A role left by an earlier run lost its grants with its database. */
	harness_env(&env);
	harness_db_fresh("grafana", dsn, sizeof(dsn));
	admin = harness_db_connect(env.pg_dsn);
	harness_db_exec(admin, "DROP ROLE IF EXISTS " ROLE);
	PQfinish(admin);

	conn = harness_db_connect(dsn);
	cr_assert_eq(schema_migrate(conn, err, sizeof(err)), 0, "%s", err);
	harness_db_exec(conn, "INSERT INTO saga_instance (saga_id, order_id, "
	    "status, current_step, started_at, updated_at, failed_at, "
	    "failure_reason, metadata) VALUES "
	    "('s-failed', 'o-1', 'FAILED', 'PAYMENT_INIT', now() - '2h'::"
	    "interval, now() - '1h'::interval, now() - '1h'::interval, "
	    "'card declined', '{\"secret\": 1}'), "
	    "('s-compensating', 'o-2', 'COMPENSATING', 'STOCK_RELEASE', "
	    "now(), now(), NULL, NULL, '{}'), "
	    "('s-completed', 'o-3', 'COMPLETED', 'SHIPPING', now(), now(), "
	    "NULL, NULL, '{}'), "
	    "('s-old', 'o-4', 'FAILED', 'PAYMENT_INIT', now() - '3d'::"
	    "interval, now() - '3d'::interval, now() - '3d'::interval, "
	    "NULL, '{}')");

	(void)snprintf(file, sizeof(file), "%s/%s", env.root, SQL_FILE);
	cr_assert_eq(harness_run(psql, 0, NULL), 0, "psql -f %s", file);

	grafana = as_role(&env, "t_grafana");
	panel_sql(&env, sql, sizeof(sql));
	res = PQexec(grafana, sql);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s: %s", sql,
	    PQresultErrorMessage(res));
	for (i = 0; i < 4; i++)
		cr_assert_str_eq(PQfname(res, i), headers[i]);
	cr_assert_eq(PQntuples(res), 2);
	cr_assert_str_eq(PQgetvalue(res, 0, 0), "s-compensating");
	cr_assert_str_eq(PQgetvalue(res, 1, 0), "s-failed");
	cr_assert_str_eq(PQgetvalue(res, 1, 2), "PAYMENT_INIT");
	PQclear(res);

	/*
	 * The partial index of pending compensations can serve it (four
	 * rows are cheaper to scan, so sequential scans are ruled out).
	 */
	harness_db_exec(grafana, "SET enable_seqscan = off");
	(void)snprintf(plan, sizeof(plan), "EXPLAIN %s", sql);
	res = PQexec(grafana, plan);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	for (found = 0, i = 0; i < PQntuples(res); i++)
		found |= strstr(PQgetvalue(res, i, 0),
		    "saga_instance_pending_idx") != NULL;
	cr_assert(found, "the plan does not use saga_instance_pending_idx");
	PQclear(res);

	refused(grafana, "SELECT metadata FROM saga_instance",
	    "permission denied");
	refused(grafana, "SELECT count(*) FROM saga_event",
	    "permission denied");
	refused(grafana, "SELECT count(*) FROM saga_event_rejected",
	    "permission denied");
	refused(grafana, "UPDATE saga_instance SET status = 'COMPENSATED' "
	    "WHERE saga_id = 's-failed'", "read-only transaction");
	PQfinish(grafana);
	PQfinish(conn);
}
