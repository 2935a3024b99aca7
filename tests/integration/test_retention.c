/*
 * Integration: retention (src/retention.c) and the schema upgrade
 * (src/schema.c) against a real PostgreSQL, and the service's refusal
 * of a schema newer than it knows.
 *
 * Retention removes COMPLETED and COMPENSATED sagas older than
 * retention.terminal with their events, and dead letters older than
 * retention.rejected, in batches, and nothing else: FAILED and
 * COMPENSATING sagas stay however old, sagas a consumer has locked
 * stay until a later purge.  An event that comes again for a removed
 * saga is a dead letter "expired" instead of a half saga.  The gauges
 * stay equal to a full count throughout.  The service runs a purge as
 * soon as it starts and counts what it removed.
 */

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "gauges.h"
#include "harness.h"
#include "metrics.h"
#include "retention.h"
#include "rfc3339.h"
#include "saga.h"
#include "schema.h"
#include "store.h"

#define DAY_MS		(86400LL * 1000)
#define TERMINAL_SEC	(30 * 86400)
#define REJECTED_SEC	(14 * 86400)
#define MSGS_MAX	8000
#define PAYLOAD_MAX	256

/* Messages built for one test, applied in batches. */
struct msgs {
	struct store_msg	m[MSGS_MAX];
	char			buf[MSGS_MAX][PAYLOAD_MAX];
	size_t			n;
	int64_t			next_offset;
};

const struct harness_suite	harness_suite = {
	HARNESS_PG, NULL, NULL
};

static uint64_t
counter(enum metrics_family family, const char *value)
{
	struct metrics_series	s;

	cr_assert_neq(metrics_series_lookup(family, &value, &s), -1);

	return (metrics_counter_value(s));
}

static int64_t
now_ms(void)
{
	return ((int64_t)time(NULL) * 1000);
}

/* One message: an event, or (id NULL) a poison payload. */
static void
msgs_add(struct msgs *m, const char *saga, const char *id,
    const char *status, int64_t at)
{
	struct store_msg	*msg;
	char			 when[RFC3339_BUFLEN];

	cr_assert_lt(m->n, MSGS_MAX);
	msg = &m->m[m->n];
	if (id != NULL) {
		cr_assert_eq(rfc3339_format(at, when, sizeof(when)), 0);
		(void)snprintf(m->buf[m->n], PAYLOAD_MAX, "{\"eventId\":"
		    "\"%s\",\"sagaId\":\"%s\",\"step\":\"S\",\"status\":"
		    "\"%s\",\"occurredAt\":\"%s\"}", id, saga, status, when);
	} else
		(void)snprintf(m->buf[m->n], PAYLOAD_MAX, "not json %zu",
		    m->n);
	memset(msg, 0, sizeof(*msg));
	msg->partition = 3;
	msg->offset = m->next_offset++;
	msg->payload = m->buf[m->n];
	msg->len = strlen(m->buf[m->n]);
	msg->received_ms = now_ms();
	m->n++;
}

/* count sagas "<prefix>-N" that end in each of statuses, at time at. */
static void
msgs_sagas(struct msgs *m, const char *prefix, int count,
    const char *const *statuses, int64_t at)
{
	char		saga[64], id[96];
	int		i, k;

	for (i = 0; i < count; i++) {
		(void)snprintf(saga, sizeof(saga), "%s-%d", prefix, i);
		for (k = 0; statuses[k] != NULL; k++) {
			(void)snprintf(id, sizeof(id), "%s-e%d", saga, k);
			msgs_add(m, saga, id, statuses[k], at + k * 1000);
		}
	}
}

static void
msgs_apply(struct store *s, struct msgs *m, struct store_batch_result *sum)
{
	struct store_batch_result	res;
	char				err[512];
	size_t				i, n;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < m->n; i += n) {
		n = m->n - i < 1000 ? m->n - i : 1000;
		cr_assert_eq(store_apply_batch(s, &m->m[i], n, &res, err,
		    sizeof(err)), 0, "%s", err);
		sum->applied += res.applied;
		sum->rejected += res.rejected;
		sum->rejected_new += res.rejected_new;
	}
	m->n = 0;
}

static struct store *
open_store(const char *dsn)
{
	struct store	*s;
	char		 err[512];

	s = store_open(dsn, err, sizeof(err));
	cr_assert_not_null(s, "store_open: %s", err);

	return (s);
}

static void
check_gauges(struct store *s, PGconn *conn, const char *when)
{
	char		err[512];

	cr_assert_eq(store_refresh_gauges(s, err, sizeof(err)), 0, "%s: %s",
	    when, err);
	cr_assert_eq(harness_gauges_check(conn, err, sizeof(err)), 0,
	    "%s: %s", when, err);
}

static void
purge(PGconn *conn, struct retention_result *r)
{
	struct retention_params	p;
	char			err[512];

	memset(&p, 0, sizeof(p));
	p.terminal_sec = TERMINAL_SEC;
	p.rejected_sec = REJECTED_SEC;
	cr_assert_eq(retention_purge(conn, &p, NULL, NULL, NULL, r, err,
	    sizeof(err)), 0, "%s", err);
}

static long long
count_like(PGconn *conn, const char *table, const char *pattern)
{
	char		sql[256];

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE "
	    "saga_id LIKE '%s'", table, pattern);

	return (harness_db_count(conn, sql));
}

static const char *const done[] = { "STARTED", "COMPLETED", NULL };
static const char *const compensated[] = {
	"STARTED", "FAILED", "COMPENSATED", NULL
};
static const char *const failed[] = { "STARTED", "FAILED", NULL };
static const char *const compensating[] = {
	"FAILED", "COMPENSATING", NULL
};

/* The history of the purge tests: old and new, every final status. */
static void
build_history(struct store *s, struct msgs *m)
{
	struct store_batch_result	sum;
	int64_t				old, recent;
	int				i;

	old = now_ms() - 40 * DAY_MS;
	recent = now_ms() - DAY_MS;
	msgs_sagas(m, "old-done", 1100, done, old);
	msgs_sagas(m, "old-comp", 300, compensated, old);
	msgs_sagas(m, "old-failed", 50, failed, old);
	msgs_sagas(m, "old-pending", 50, compensating, old);
	msgs_sagas(m, "new-done", 100, done, recent);
	for (i = 0; i < 20; i++)
		msgs_add(m, NULL, NULL, NULL, 0);
	msgs_apply(s, m, &sum);
	cr_assert_eq(sum.applied, 1100 * 2 + 300 * 3 + 50 * 2 + 50 * 2 +
	    100 * 2);
	cr_assert_eq(sum.rejected_new, 20);
}

Test(retention, removes_old_finished_sagas_and_nothing_else)
{
	static struct msgs	 m;
	struct retention_result	 r;
	struct store		*s;
	PGconn			*conn;
	char			 dsn[256];

	harness_metrics_up();
	harness_db_fresh("purge", dsn, sizeof(dsn));
	s = open_store(dsn);
	conn = harness_db_connect(dsn);
	build_history(s, &m);
	/* 15 of the 20 dead letters were received 20 days ago. */
	harness_db_exec(conn, "UPDATE saga_event_rejected SET received_at = "
	    "now() - interval '20 days' WHERE kafka_offset IN (SELECT "
	    "kafka_offset FROM saga_event_rejected ORDER BY kafka_offset "
	    "LIMIT 15)");
	check_gauges(s, conn, "before the purge");

	purge(conn, &r);
	cr_assert_eq(r.sagas, 1400);
	cr_assert_eq(r.events, 1100 * 2 + 300 * 3);
	cr_assert_eq(r.rejected, 15);
	/* Full batches of 500, then the rest: several transactions. */
	cr_assert_geq(r.batches, 5);

	cr_assert_eq(count_like(conn, "saga_instance", "old-done-%"), 0);
	cr_assert_eq(count_like(conn, "saga_event", "old-done-%"), 0);
	cr_assert_eq(count_like(conn, "saga_instance", "old-comp-%"), 0);
	cr_assert_eq(count_like(conn, "saga_event", "old-comp-%"), 0);
	cr_assert_eq(count_like(conn, "saga_instance", "old-failed-%"), 50);
	cr_assert_eq(count_like(conn, "saga_event", "old-failed-%"), 100);
	cr_assert_eq(count_like(conn, "saga_instance", "old-pending-%"), 50);
	cr_assert_eq(count_like(conn, "saga_instance", "new-done-%"), 100);
	cr_assert_eq(count_like(conn, "saga_event", "new-done-%"), 200);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_event_rejected"), 5);

	cr_assert_eq(counter(METRICS_RETENTION_DELETED, "saga_instance"),
	    1400);
	cr_assert_eq(counter(METRICS_RETENTION_DELETED, "saga_event"),
	    1100 * 2 + 300 * 3);
	cr_assert_eq(counter(METRICS_RETENTION_DELETED,
	    "saga_event_rejected"), 15);
	check_gauges(s, conn, "after the purge");

	/* Nothing old is left: a second purge removes nothing. */
	purge(conn, &r);
	cr_assert_eq(r.sagas + r.events + r.rejected, 0);

	PQfinish(conn);
	store_close(s);
}

Test(retention, leaves_a_saga_a_consumer_holds_for_the_next_purge)
{
	static struct msgs	 m;
	struct retention_result	 r;
	struct store		*s;
	PGconn			*conn, *lane;
	char			 dsn[256];

	harness_metrics_up();
	harness_db_fresh("locked", dsn, sizeof(dsn));
	s = open_store(dsn);
	conn = harness_db_connect(dsn);
	msgs_sagas(&m, "old-done", 10, done, now_ms() - 40 * DAY_MS);
	msgs_apply(s, &m, &(struct store_batch_result){ 0 });

	/* A consumer lane in the middle of a batch on old-done-3. */
	lane = harness_db_connect(dsn);
	harness_db_exec(lane, "BEGIN");
	harness_db_exec(lane, "SELECT saga_id FROM saga_instance WHERE "
	    "saga_id = 'old-done-3' FOR UPDATE");
	purge(conn, &r);
	cr_assert_eq(r.sagas, 9, "the locked saga is skipped, not waited "
	    "for");
	cr_assert_eq(count_like(conn, "saga_instance", "old-done-3"), 1);
	cr_assert_eq(count_like(conn, "saga_event", "old-done-3"), 2);
	harness_db_exec(lane, "COMMIT");
	PQfinish(lane);

	purge(conn, &r);
	cr_assert_eq(r.sagas, 1);
	cr_assert_eq(count_like(conn, "saga_instance", "old-done-%"), 0);
	check_gauges(s, conn, "after both purges");

	PQfinish(conn);
	store_close(s);
}

Test(retention, event_of_a_removed_saga_is_expired_not_a_half_saga)
{
	static struct msgs		 m;
	struct store_batch_result	 sum;
	struct retention_result		 r;
	struct store			*s;
	PGconn				*conn;
	char				 dsn[256];
	int64_t				 old;

	harness_metrics_up();
	harness_db_fresh("expired", dsn, sizeof(dsn));
	s = open_store(dsn);
	conn = harness_db_connect(dsn);
	old = now_ms() - 40 * DAY_MS;
	msgs_sagas(&m, "old-done", 3, done, old);
	msgs_sagas(&m, "old-failed", 1, failed, old);
	msgs_apply(s, &m, &sum);
	cr_assert_eq(sum.applied, 8);
	purge(conn, &r);
	cr_assert_eq(r.sagas, 3);
	store_expire_after(s, TERMINAL_SEC);

	/*
	 * In one batch: a redelivered event of a removed saga, a late
	 * COMPENSATED of the old failed saga, a new saga's first event.
	 */
	msgs_add(&m, "old-done-1", "old-done-1-e1", "COMPLETED", old + 1000);
	msgs_add(&m, "old-failed-0", "old-failed-0-late", "COMPENSATED",
	    old + 5000);
	msgs_add(&m, "new-0", "new-0-e0", "STARTED", now_ms());
	msgs_apply(s, &m, &sum);
	cr_assert_eq(sum.applied, 2);
	cr_assert_eq(sum.rejected_new, 1);

	cr_assert_eq(count_like(conn, "saga_instance", "old-done-%"), 0,
	    "a removed saga must not come back as half a saga");
	cr_assert_eq(count_like(conn, "saga_event", "old-done-%"), 0);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_event_rejected WHERE reason = 'expired' AND detail LIKE "
	    "'saga old-done-1 is not stored%'"), 1);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_instance WHERE saga_id = 'old-failed-0' AND status = "
	    "'COMPENSATED'"), 1);
	cr_assert_eq(count_like(conn, "saga_instance", "new-0"), 1);
	cr_assert_eq(counter(METRICS_EVENTS_REJECTED, "expired"), 1);

	/* The same message again: one dead letter, counted once. */
	m.next_offset -= 3;
	msgs_add(&m, "old-done-1", "old-done-1-e1", "COMPLETED", old + 1000);
	msgs_apply(s, &m, &sum);
	cr_assert_eq(sum.rejected, 1);
	cr_assert_eq(sum.rejected_new, 0);
	cr_assert_eq(counter(METRICS_EVENTS_REJECTED, "expired"), 1);

	/* Without a horizon the same event would start a half saga. */
	store_expire_after(s, 0);
	m.next_offset = 100;
	msgs_add(&m, "old-done-2", "old-done-2-e1", "COMPLETED", old + 1000);
	msgs_apply(s, &m, &sum);
	cr_assert_eq(sum.applied, 1);
	check_gauges(s, conn, "after the late events");

	PQfinish(conn);
	store_close(s);
}

/*
 * A version-1 database full of sagas (written as the version-1 service
 * wrote them) is upgraded in place at start: nothing is lost, and the
 * gauges read from saga_status_delta count what was already there.
 */
Test(schema, version_1_database_with_data_is_upgraded_in_place)
{
	static struct msgs	 m;
	struct store		*s;
	PGconn			*conn;
	char			 dsn[256], err[512];

	harness_metrics_up();
	harness_db_fresh("upgrade", dsn, sizeof(dsn));
	conn = harness_db_connect(dsn);
	cr_assert_eq(schema_migrate_to(conn, 1, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM pg_tables "
	    "WHERE tablename = 'saga_status_delta'"), 0);
	harness_db_exec(conn, "INSERT INTO saga_instance (saga_id, status, "
	    "current_step, started_at, updated_at, failed_at) "
	    "SELECT 'v1-' || i, (ARRAY['STARTED', 'IN_PROGRESS', "
	    "'COMPLETED', 'FAILED', 'COMPENSATING', 'COMPENSATED'])"
	    "[1 + i % 6], 'S', now() - interval '1 hour', now() - i * "
	    "interval '1 second', CASE WHEN i % 6 >= 3 THEN now() - i * "
	    "interval '1 second' END FROM generate_series(1, 3000) AS i");
	harness_db_exec(conn, "INSERT INTO saga_event (event_id, saga_id, "
	    "step, status, occurred_at, received_at, source, "
	    "kafka_partition, kafka_offset) SELECT saga_id || '-e', saga_id, "
	    "'S', status, updated_at, updated_at, 'kafka', 0, "
	    "row_number() OVER () FROM saga_instance");

	s = open_store(dsn);
	cr_assert_eq(harness_db_count(conn, "SELECT max(version) FROM "
	    "schema_migrations"), schema_version_latest());
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_instance"), 3000);
	check_gauges(s, conn, "right after the upgrade");

	/* New sagas, and a COMPENSATED event for a FAILED v1 saga. */
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_instance WHERE saga_id = 'v1-3' AND status = 'FAILED'"), 1);
	msgs_sagas(&m, "v1-new", 10, compensated, now_ms());
	msgs_add(&m, "v1-3", "v1-3-comp", "COMPENSATED", now_ms());
	msgs_apply(s, &m, &(struct store_batch_result){ 0 });
	check_gauges(s, conn, "after batches on the upgraded database");
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_instance WHERE saga_id = 'v1-3' AND status = "
	    "'COMPENSATED'"), 1);

	PQfinish(conn);
	store_close(s);
}

Test(schema, newer_schema_is_refused_by_the_store_and_the_service)
{
	struct harness_env	 env;
	struct store		*s;
	PGconn			*conn;
	char			 dsn[256], err[512], sql[128], conf[512];
	char			 log[512], line[1024], *argv[6];
	FILE			*f;
	int			 found;

	harness_env(&env);
	harness_db_fresh("newer", dsn, sizeof(dsn));
	s = open_store(dsn);
	store_close(s);
	conn = harness_db_connect(dsn);
	(void)snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations "
	    "(version) VALUES (%d)", schema_version_latest() + 1);
	harness_db_exec(conn, sql);

	cr_assert_null(store_open(dsn, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "newer than version"), "%s", err);
	cr_assert_eq(schema_check_newer(dsn, err, sizeof(err)), 1);

	/* The service exits 1 at start, saying why. */
	(void)snprintf(conf, sizeof(conf), "%s/newer.conf", env.dir);
	(void)snprintf(log, sizeof(log), "%s/newer.log", env.dir);
	harness_kore_conf(&env, conf, harness_free_port());
	(void)snprintf(line, sizeof(line), "%s/conf/saga-tracker.yaml",
	    env.root);
	setenv("SAGA_TRACKER_CONFIG", line, 1);
	setenv("SAGA_TRACKER_DB_DSN", dsn, 1);
	argv[0] = "timeout";
	argv[1] = "60";
	argv[2] = "kore";
	argv[3] = "-fnrc";
	argv[4] = conf;
	argv[5] = NULL;
	cr_assert_eq(harness_run(argv, 0, log), 1, "see %s", log);
	found = 0;
	cr_assert_not_null(f = fopen(log, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		found |= strstr(line, "newer than version") != NULL;
	fclose(f);
	cr_assert(found, "%s does not say why", log);

	PQfinish(conn);
}

/* The service's own purge, at start: its counters say what went. */
Test(retention, the_service_purges_at_start_and_counts_it)
{
	static struct msgs	 m;
	struct harness_env	 env;
	struct store		*s;
	PGconn			*conn;
	int			 waited, status, ms;

	harness_metrics_up();
	harness_env(&env);
	s = open_store(env.pg_dsn);
	conn = harness_db_connect(env.pg_dsn);
	harness_db_exec(conn, "TRUNCATE saga_instance, saga_event, "
	    "saga_event_rejected, saga_status_delta");
	msgs_sagas(&m, "svc-old", 700, done, now_ms() - 3 * DAY_MS);
	msgs_sagas(&m, "svc-new", 10, done, now_ms() - 3600 * 1000);
	msgs_apply(s, &m, &(struct store_batch_result){ 0 });
	store_close(s);

	harness_yaml_edit(&env, "  terminal: 30d", "  terminal: 2d");
	harness_service_start(&env);
	for (waited = 0; waited < 20000; waited += 100) {
		if (harness_metric(&env, "saga_tracker_retention_deleted_total")
		    == 700 + 1400)
			break;
		harness_sleep_ms(100);
	}
	cr_assert_eq(harness_metric(&env,
	    "saga_tracker_retention_deleted_total"), 700 + 1400,
	    "700 sagas and their 1400 events, counted");
	cr_assert_eq(count_like(conn, "saga_instance", "svc-old-%"), 0);
	cr_assert_eq(count_like(conn, "saga_instance", "svc-new-%"), 10);
	cr_assert_eq(harness_service_stop(&env, &status, &ms), 0);
	cr_assert_eq(status, 0);
	unlink(env.service_yaml);
	PQfinish(conn);
}
