/*
 * Integration: the applier's lanes against a real PostgreSQL.  A batch
 * over four partitions goes through two lanes (two connections); a lane
 * that fails stays pending and is the only one run again, and every
 * event ends up stored and counted exactly once.
 */

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "applier.h"
#include "harness.h"
#include "metrics.h"
#include "store.h"

#define SAGAS		200
#define EVENTS		(SAGAS * 2)

static struct harness_env	runner_env;

static char			payloads[EVENTS][256];
static struct store_msg		msgs[EVENTS];

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	harness_up(&runner_env, HARNESS_PG);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	harness_down(&runner_env);
}

/* Saga i lives on partition i % 4, as a sagaId key would put it. */
static void
build_batch(void)
{
	int		i, k, e;

	for (i = 0, e = 0; i < SAGAS; i++) {
		for (k = 0; k < 2; k++, e++) {
			(void)snprintf(payloads[e], sizeof(payloads[e]),
			    "{\"eventId\":\"ap-%d-%d\",\"sagaId\":\"ap-%d\","
			    "\"step\":\"PAYMENT_INIT\",\"status\":\"%s\","
			    "\"occurredAt\":\"2026-11-27T10:00:0%dZ\"}", i, k, i,
			    k == 0 ? "STARTED" : "FAILED", k);
			msgs[e].partition = i % 4;
			msgs[e].offset = e;
			msgs[e].payload = payloads[e];
			msgs[e].len = strlen(payloads[e]);
			msgs[e].received_ms = 1795770000000LL;
		}
	}
}

static int64_t
count(PGconn *conn, const char *sql)
{
	PGresult	*res;
	int64_t		 n;

	res = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s: %s", sql,
	    PQerrorMessage(conn));
	n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);

	return (n);
}

static void
exec_ok(PGconn *conn, const char *sql)
{
	PGresult	*res;

	res = PQexec(conn, sql);
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s: %s", sql,
	    PQerrorMessage(conn));
	PQclear(res);
}

Test(applier, a_failed_lane_alone_is_run_again)
{
	struct harness_env	 env;
	struct metrics_params	 p;
	struct metrics_series	 failed;
	struct applier		*a;
	struct store		*s;
	PGconn			*conn;
	char			 err[512];

	harness_env(&env);
	memset(&p, 0, sizeof(p));
	p.max_step_labels = 8;
	p.max_stripes = 1;
	p.version = "test";
	cr_assert_eq(metrics_segment_create(&p, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(metrics_series_lookup(METRICS_SAGA_FAILED, NULL,
	    &failed), 0);

	s = store_open(env.pg_dsn, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	store_close(s);
	conn = PQconnectdb(env.pg_dsn);
	cr_assert_eq(PQstatus(conn), CONNECTION_OK);

	/* Lane 1 (partitions 1 and 3) cannot write saga ap-3's row. */
	exec_ok(conn, "CREATE FUNCTION ap_refuse() RETURNS trigger LANGUAGE "
	    "plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused %', NEW.saga_id; "
	    "END $$");
	exec_ok(conn, "CREATE TRIGGER ap_refuse BEFORE INSERT ON "
	    "saga_instance FOR EACH ROW WHEN (NEW.saga_id = 'ap-3') "
	    "EXECUTE FUNCTION ap_refuse()");

	build_batch();
	a = applier_create(env.pg_dsn, 2, err, sizeof(err));
	cr_assert_not_null(a, "%s", err);
	applier_begin(a, msgs, EVENTS);

	cr_assert_eq(applier_apply(a, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "refused ap-3"), "error: %s", err);
	/* Lane 0 (even partitions) committed: half the sagas are there. */
	cr_assert_eq(count(conn, "SELECT count(*) FROM saga_instance"),
	    SAGAS / 2);
	cr_assert_eq(metrics_counter_value(failed), SAGAS / 2);

	exec_ok(conn, "DROP TRIGGER ap_refuse ON saga_instance");
	cr_assert_eq(applier_apply(a, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(count(conn, "SELECT count(*) FROM saga_instance WHERE "
	    "status = 'FAILED'"), SAGAS);
	cr_assert_eq(count(conn, "SELECT count(*) FROM saga_event"), EVENTS);
	cr_assert_eq(metrics_counter_value(failed), SAGAS);

	/* Nothing pending: another round runs no lane and counts nothing. */
	cr_assert_eq(applier_apply(a, err, sizeof(err)), 0);
	cr_assert_eq(metrics_counter_value(failed), SAGAS);

	applier_destroy(a);
	PQfinish(conn);
	metrics_segment_destroy();
}

Test(applier, lanes_out_of_range_are_refused)
{
	char		err[128];

	cr_assert_null(applier_create("dbname=x", 0, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "lanes"));
	cr_assert_null(applier_create("dbname=x", APPLIER_LANES_MAX + 1, err,
	    sizeof(err)));
}
