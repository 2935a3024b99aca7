/*
 * Integration: the applier's lanes against a real PostgreSQL.  Events
 * over four partitions go through two lanes (two connections); a lane
 * whose batch fails retries it alone while the other keeps committing,
 * every event ends up stored, committed and counted exactly once, and a
 * destroyed applier hands back what it never applied.
 */

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <pthread.h>
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
#define WAIT_MS		20000

/* What the hooks saw, per message (by offset). */
struct seen {
	pthread_mutex_t	 lock;
	int		 done[EVENTS + APPLIER_BATCH_MAX + APPLIER_QUEUE_MAX];
	int		 dropped;
	int		 failed;
	char		 err[512];
};

static char			payloads[EVENTS][256];
static struct store_msg		msgs[EVENTS];
static struct seen		seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

const struct harness_suite	harness_suite = {
	HARNESS_PG, NULL, NULL
};

static void
on_done(void *arg, const struct store_msg *m, size_t n,
    const struct store_batch_result *res)
{
	size_t		i;

	(void)arg;
	(void)res;
	pthread_mutex_lock(&seen.lock);
	for (i = 0; i < n; i++)
		seen.done[m[i].offset]++;
	pthread_mutex_unlock(&seen.lock);
}

static void
on_failed(void *arg, const struct store_msg *m, size_t n, const char *err,
    int backoff_ms)
{
	(void)arg;
	(void)m;
	(void)n;
	cr_assert_geq(backoff_ms, APPLIER_BACKOFF_MIN_MS);
	cr_assert_leq(backoff_ms, APPLIER_BACKOFF_MAX_MS);
	pthread_mutex_lock(&seen.lock);
	seen.failed++;
	(void)snprintf(seen.err, sizeof(seen.err), "%s", err);
	pthread_mutex_unlock(&seen.lock);
}

static void
on_dropped(void *arg, const struct store_msg *m, size_t n)
{
	(void)arg;
	(void)m;
	pthread_mutex_lock(&seen.lock);
	seen.dropped += (int)n;
	pthread_mutex_unlock(&seen.lock);
}

static const struct applier_hooks hooks = {
	on_done, on_failed, on_dropped, NULL
};

static void
seen_reset(void)
{
	pthread_mutex_lock(&seen.lock);
	memset(seen.done, 0, sizeof(seen.done));
	seen.dropped = seen.failed = 0;
	seen.err[0] = '\0';
	pthread_mutex_unlock(&seen.lock);
}

static int
seen_failed(void)
{
	int		n;

	pthread_mutex_lock(&seen.lock);
	n = seen.failed;
	pthread_mutex_unlock(&seen.lock);

	return (n);
}

/* Saga i lives on partition i % 4, as a sagaId key would put it. */
static void
build_events(void)
{
	int		i, k, e;

	for (i = 0, e = 0; i < SAGAS; i++) {
		for (k = 0; k < 2; k++, e++) {
			(void)snprintf(payloads[e], sizeof(payloads[e]),
			    "{\"eventId\":\"ap-%d-%d\",\"sagaId\":\"ap-%d\","
			    "\"step\":\"PAYMENT_INIT\",\"status\":\"%s\","
			    "\"occurredAt\":\"2026-11-27T10:00:0%dZ\"}", i, k,
			    i, k == 0 ? "STARTED" : "FAILED", k);
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

static void
segment_create(struct metrics_series *failed)
{
	struct metrics_params	 p;
	char			 err[512];

	memset(&p, 0, sizeof(p));
	p.max_step_labels = 8;
	p.max_stripes = 1;
	p.version = "test";
	cr_assert_eq(metrics_segment_create(&p, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(metrics_series_lookup(METRICS_SAGA_FAILED, NULL,
	    failed), 0);
}

/*
 * An applier of lanes lanes on a DSN nothing listens on: every attempt
 * fails at once.
 */
static struct applier *
dead_applier(int lanes)
{
	struct applier	*a;
	char		 dsn[256], err[512];

	(void)snprintf(dsn, sizeof(dsn), "host=127.0.0.1 port=%d "
	    "dbname=none connect_timeout=2", harness_free_port());
	a = applier_create(dsn, lanes, 0, &hooks, err, sizeof(err));
	cr_assert_not_null(a, "%s", err);

	return (a);
}

Test(applier, a_failing_lane_retries_alone_and_nothing_is_lost)
{
	struct harness_env	 env;
	struct metrics_series	 failed;
	struct applier		*a;
	struct store		*s;
	PGconn			*conn;
	char			 err[512];
	int			 i, waited;

	harness_env(&env);
	segment_create(&failed);
	seen_reset();
	s = store_open(env.pg_dsn, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	store_close(s);
	conn = PQconnectdb(env.pg_dsn);
	cr_assert_eq(PQstatus(conn), CONNECTION_OK);

	/*
	 * Lane 1 (partitions 1 and 3) cannot write saga ap-1's row: the
	 * first message it is given, so every batch it takes holds it (a
	 * later saga would let a first, smaller batch commit).
	 */
	exec_ok(conn, "CREATE FUNCTION ap_refuse() RETURNS trigger LANGUAGE "
	    "plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused %', NEW.saga_id; "
	    "END $$");
	exec_ok(conn, "CREATE TRIGGER ap_refuse BEFORE INSERT ON "
	    "saga_instance FOR EACH ROW WHEN (NEW.saga_id = 'ap-1') "
	    "EXECUTE FUNCTION ap_refuse()");

	build_events();
	a = applier_create(env.pg_dsn, 2, 0, &hooks, err, sizeof(err));
	cr_assert_not_null(a, "%s", err);
	for (i = 0; i < EVENTS; i++)
		cr_assert_eq(applier_push(a, &msgs[i], 1000), 0);

	/* Lane 0 (even partitions) commits everything meanwhile. */
	for (waited = 0; waited < WAIT_MS; waited += 20) {
		if (seen_failed() >= 2 && count(conn, "SELECT count(*) FROM "
		    "saga_instance") == SAGAS / 2)
			break;
		harness_sleep_ms(20);
	}
	cr_assert_geq(seen_failed(), 2, "the lane did not retry");
	cr_assert_not_null(strstr(seen.err, "refused ap-1"), "error: %s",
	    seen.err);
	cr_assert_eq(count(conn, "SELECT count(*) FROM saga_instance"),
	    SAGAS / 2);
	cr_assert_eq(applier_drain(a, 50), -1, "lane 1 holds its batch");
	pthread_mutex_lock(&seen.lock);
	for (i = 0; i < EVENTS; i++)
		cr_assert_eq(seen.done[i], msgs[i].partition % 2 == 0,
		    "event %d (partition %d) done %d times", i,
		    (int)msgs[i].partition, seen.done[i]);
	pthread_mutex_unlock(&seen.lock);
	cr_assert_eq(metrics_counter_value(failed), SAGAS / 2);

	exec_ok(conn, "DROP TRIGGER ap_refuse ON saga_instance");
	cr_assert_eq(applier_drain(a, WAIT_MS), 0, "not drained");
	cr_assert_eq(count(conn, "SELECT count(*) FROM saga_instance WHERE "
	    "status = 'FAILED'"), SAGAS);
	cr_assert_eq(count(conn, "SELECT count(*) FROM saga_event"), EVENTS);
	cr_assert_eq(metrics_counter_value(failed), SAGAS);

	applier_destroy(a);
	for (i = 0; i < EVENTS; i++)
		cr_assert_eq(seen.done[i], 1, "event %d done %d times", i,
		    seen.done[i]);
	cr_assert_eq(seen.dropped, 0);
	PQfinish(conn);
	metrics_segment_destroy();
}

Test(applier, destroy_hands_back_what_was_never_applied)
{
	struct metrics_series	 failed;
	struct applier		*a;
	int			 i, waited;

	segment_create(&failed);
	seen_reset();
	build_events();
	a = dead_applier(2);
	for (i = 0; i < 10; i++)
		cr_assert_eq(applier_push(a, &msgs[i], 1000), 0);

	for (waited = 0; waited < WAIT_MS && seen_failed() < 2; waited += 20)
		harness_sleep_ms(20);
	cr_assert_geq(seen_failed(), 2);
	cr_assert_not_null(strstr(seen.err, "connect"), "error: %s", seen.err);
	cr_assert_eq(applier_drain(a, 50), -1);
	/* Backing off is not being stuck in an attempt. */
	cr_assert_lt(applier_attempt_ms(a), 2000);

	applier_destroy(a);
	cr_assert_eq(seen.dropped, 10);
	for (i = 0; i < 10; i++)
		cr_assert_eq(seen.done[i], 0);
	metrics_segment_destroy();
}

Test(applier, a_full_lane_refuses_after_waiting)
{
	struct metrics_series	 failed;
	struct applier		*a;
	struct store_msg	 m;
	int			 pushed;

	segment_create(&failed);
	seen_reset();
	build_events();
	a = dead_applier(1);

	/* The lane holds a batch it cannot apply and takes nothing more. */
	m = msgs[0];
	for (pushed = 0; pushed < APPLIER_BATCH_MAX + APPLIER_QUEUE_MAX + 1;
	    pushed++) {
		m.offset = pushed;
		if (applier_push(a, &m, 200) == -1)
			break;
	}
	cr_assert_geq(pushed, APPLIER_QUEUE_MAX);
	cr_assert_leq(pushed, APPLIER_BATCH_MAX + APPLIER_QUEUE_MAX);
	cr_assert_eq(applier_push(a, &m, 0), -1);

	applier_destroy(a);
	cr_assert_eq(seen.dropped, pushed);
	metrics_segment_destroy();
}

Test(applier, lanes_out_of_range_are_refused)
{
	char		err[128];

	cr_assert_null(applier_create("dbname=x", 0, 0, &hooks, err,
	    sizeof(err)));
	cr_assert_not_null(strstr(err, "lanes"));
	cr_assert_null(applier_create("dbname=x", APPLIER_LANES_MAX + 1, 0,
	    &hooks, err, sizeof(err)));
}
