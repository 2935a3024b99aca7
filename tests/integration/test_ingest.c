/*
 * Integration: events through the mock broker, the service's consumer
 * and a real PostgreSQL: exactly-once effect with duplicates and poison,
 * a database outage, and a SIGKILLed consumer worker.
 *
 * The tests share one service, so each uses its own saga id prefix and
 * compares counters before and after.
 */

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applier.h"
#include "consumer.h"
#include "harness.h"

#define TOPIC		"saga.events"
#define GROUP		"saga-tracker-service"
#define WAIT_MS		90000

struct batch {
	char		**keys;
	char		**payloads;
	size_t		  n;
	size_t		  cap;
	long		  valid;	/* distinct valid events */
	long		  poison;
	long		  sagas;
	long		  completed;
	long		  compensated;
};

/* The shipped YAML with metrics.lag_per_partition turned on. */
static void
lag_per_partition(struct harness_env *env)
{
	harness_yaml_edit(env, "lag_per_partition: false",
	    "  lag_per_partition: true");
}

const struct harness_suite	harness_suite = {
	HARNESS_PG | HARNESS_BROKER | HARNESS_SERVICE, lag_per_partition, NULL
};

static void
batch_add(struct batch *b, const char *key, const char *payload)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		b->keys = realloc(b->keys, b->cap * sizeof(char *));
		b->payloads = realloc(b->payloads, b->cap * sizeof(char *));
		cr_assert(b->keys != NULL && b->payloads != NULL);
	}
	b->keys[b->n] = strdup(key);
	b->payloads[b->n] = strdup(payload);
	b->n++;
}

static void
batch_free(struct batch *b)
{
	size_t		i;

	for (i = 0; i < b->n; i++) {
		free(b->keys[i]);
		free(b->payloads[i]);
	}
	free(b->keys);
	free(b->payloads);
	memset(b, 0, sizeof(*b));
}

static void
batch_event(struct batch *b, const char *saga, const char *step,
    const char *status, int second)
{
	char		buf[512];

	(void)snprintf(buf, sizeof(buf), "{\"eventId\":\"%s-%s-%s\","
	    "\"sagaId\":\"%s\",\"sagaType\":\"ORDER_CHECKOUT\","
	    "\"orderId\":\"o-%s\",\"step\":\"%s\",\"status\":\"%s\","
	    "\"occurredAt\":\"2026-11-27T10:00:%02d.000Z\"%s}", saga, step,
	    status, saga, saga, step, status, second,
	    strcmp(status, "FAILED") == 0 ?
	    ",\"metadata\":{\"failureReason\":\"Card declined\"}" : "");
	batch_add(b, saga, buf);
	b->valid++;

	/* One in twenty is delivered twice. */
	if (rand() % 20 == 0)
		batch_add(b, saga, buf);
}

/* sagas sagas named PREFIX-N; a third fail and compensate. */
static void
batch_build(struct batch *b, const char *prefix, long sagas)
{
	char		saga[64];
	long		i;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < sagas; i++) {
		(void)snprintf(saga, sizeof(saga), "%s-%ld", prefix, i);
		batch_event(b, saga, "STOCK_RESERVE", "STARTED", 1);
		batch_event(b, saga, "STOCK_RESERVE", "IN_PROGRESS", 2);
		if (i % 3 == 0) {
			batch_event(b, saga, "PAYMENT_INIT", "FAILED", 3);
			batch_event(b, saga, "PAYMENT_INIT", "COMPENSATED", 9);
			b->compensated++;
		} else {
			batch_event(b, saga, "SHIPMENT_CREATE", "COMPLETED", 5);
			b->completed++;
		}
		/* One in a hundred sagas also gets a poison message. */
		if (i % 100 == 7) {
			batch_add(b, saga, "{\"eventId\":\"x\",\"status\":1}");
			b->poison++;
		}
	}
	b->sagas = sagas;

	/* Shuffle: arrival order must not matter. */
	for (i = (long)b->n - 1; i > 0; i--) {
		long	 j = rand() % (i + 1);
		char	*k = b->keys[i], *p = b->payloads[i];

		b->keys[i] = b->keys[j];
		b->payloads[i] = b->payloads[j];
		b->keys[j] = k;
		b->payloads[j] = p;
	}
}

static int64_t
count_where(const struct harness_env *env, const char *fmt,
    const char *prefix)
{
	char		sql[512];

	(void)snprintf(sql, sizeof(sql), fmt, prefix);
	return (harness_pg_int(env, sql));
}

/* The group's committed offsets now (0 before its first commit). */
static int64_t
committed_now(const struct harness_env *env)
{
	int64_t		committed;

	committed = harness_committed(env, GROUP, TOPIC);
	cr_assert_geq(committed, 0, "cannot read the group's offsets");

	return (committed);
}

/* Wait until the prefix's events are stored and the offsets committed. */
static void
wait_applied(const struct harness_env *env, const struct batch *b,
    const char *prefix, int64_t committed_want)
{
	int64_t		stored, committed;
	int		waited;

	stored = committed = -1;
	for (waited = 0; waited < WAIT_MS; waited += 250) {
		stored = count_where(env, "SELECT count(*) FROM saga_event "
		    "WHERE saga_id LIKE '%s-%%'", prefix);
		committed = harness_committed(env, GROUP, TOPIC);
		if (stored == b->valid && committed == committed_want)
			return;
		harness_sleep_ms(250);
	}
	cr_assert_fail("after %d ms: %lld of %ld events stored, offsets "
	    "%lld of %lld committed", WAIT_MS, (long long)stored, b->valid,
	    (long long)committed, (long long)committed_want);
}

static void
check_rows(const struct harness_env *env, const struct batch *b,
    const char *prefix)
{
	cr_assert_eq(count_where(env, "SELECT count(*) FROM saga_instance "
	    "WHERE saga_id LIKE '%s-%%'", prefix), b->sagas);
	cr_assert_eq(count_where(env, "SELECT count(*) FROM saga_instance "
	    "WHERE saga_id LIKE '%s-%%' AND status = 'COMPLETED'", prefix),
	    b->completed);
	cr_assert_eq(count_where(env, "SELECT count(*) FROM saga_instance "
	    "WHERE saga_id LIKE '%s-%%' AND status = 'COMPENSATED' AND "
	    "failed_at IS NOT NULL AND compensated_at - failed_at = "
	    "interval '6 seconds' AND failure_reason = 'Card declined'",
	    prefix), b->compensated);
}

Test(ingest, duplicates_and_poison_applied_exactly_once)
{
	struct harness_env	env;
	struct batch		b;
	double			processed, rejected, failed, compensated;
	int64_t			committed, dead;

	harness_env(&env);
	srand(1);
	batch_build(&b, "eo", 300);

	processed = harness_metric(&env, "saga_events_processed_total");
	rejected = harness_metric(&env, "saga_events_rejected_total");
	failed = harness_metric(&env, "saga_failed_total");
	compensated = harness_metric(&env, "saga_compensated_total");
	committed = committed_now(&env);
	dead = harness_pg_int(&env, "SELECT count(*) FROM "
	    "saga_event_rejected");
	if (dead < 0)
		dead = 0;

	cr_assert_eq(harness_produce(&env, TOPIC, b.keys, b.payloads, b.n),
	    0);
	wait_applied(&env, &b, "eo", committed + (int64_t)b.n);
	check_rows(&env, &b, "eo");

	cr_assert_eq(harness_pg_int(&env, "SELECT count(*) FROM "
	    "saga_event_rejected"), dead + b.poison);
	cr_assert_eq(harness_metric(&env, "saga_events_processed_total") -
	    processed, (double)b.valid);
	cr_assert_eq(harness_metric(&env, "saga_events_rejected_total") -
	    rejected, (double)b.poison);
	cr_assert_eq(harness_metric(&env, "saga_failed_total") - failed,
	    (double)b.compensated);
	cr_assert_eq(harness_metric(&env, "saga_compensated_total") -
	    compensated, (double)b.compensated);
	batch_free(&b);
}

/* 1 while the consumer says a lane retries a batch it could not store. */
static int
consumer_retrying(const struct harness_env *env)
{
	char		db[32];

	return (harness_kafka_detail(env, "database", db, sizeof(db)) == 0 &&
	    strcmp(db, "RETRYING") == 0);
}

Test(ingest, database_outage_pauses_and_loses_nothing)
{
	struct harness_env	 env;
	struct harness_reply	 r;
	struct batch		 b;
	int64_t			 committed, deadline;
	double			 processed;
	int			 tried;
	char			 phase[32];

	harness_env(&env);
	srand(2);
	batch_build(&b, "db", 50);
	committed = committed_now(&env);
	processed = harness_metric(&env, "saga_events_processed_total");

	/* A member with its database, so that it will try the batch. */
	phase[0] = '\0';
	deadline = harness_now_ms() + 60000;
	while ((harness_kafka_detail(&env, "phase", phase,
	    sizeof(phase)) == -1 || strcmp(phase, "RUNNING") != 0) &&
	    harness_now_ms() < deadline)
		harness_sleep_ms(50);
	cr_assert_str_eq(phase, "RUNNING", "the consumer is not running");
	cr_assert_not(consumer_retrying(&env), "a batch is already retried");

	cr_assert_eq(harness_pg_stop(&env), 0);
	cr_assert_eq(harness_produce(&env, TOPIC, b.keys, b.payloads, b.n),
	    0);
	/* The consumer got the events and tried to store them. */
	deadline = harness_now_ms() + 30000;
	while (!(tried = consumer_retrying(&env)) &&
	    harness_now_ms() < deadline)
		harness_sleep_ms(50);
	if (!tried)	/* the other tests need their database */
		(void)harness_pg_start_again(&env);
	cr_assert(tried, "no batch was tried in 30 s");

	/* Nothing may be committed while nothing could be stored. */
	cr_assert_eq(harness_committed(&env, GROUP, TOPIC), committed,
	    "offsets moved while the database was down");
	cr_assert_eq(harness_http(env.service_port, "GET",
	    "/actuator/health/readiness", NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 503);
	harness_reply_free(&r);

	cr_assert_eq(harness_pg_start_again(&env), 0);
	wait_applied(&env, &b, "db", committed + (int64_t)b.n);
	check_rows(&env, &b, "db");
	cr_assert_eq(harness_metric(&env, "saga_events_processed_total") -
	    processed, (double)b.valid);
	batch_free(&b);
}

/* Every thread of kore worker id runs under SCHED_BATCH; how many. */
static int
assert_batch_scheduled(const struct harness_env *env, int id)
{
	char		why[256];
	int		threads;

	threads = harness_worker_policy_check(env, id, SCHED_BATCH, why,
	    sizeof(why));
	cr_assert_gt(threads, 0, "%s", why);

	return (threads);
}

/*
 * The shipped workers.batch_scheduling: true reaches both workers and
 * every thread they start: the consumer and librdkafka's threads in
 * worker 1 (a restarted worker 1 too, in the SIGKILL test).
 */
Test(ingest, workers_and_their_threads_run_under_sched_batch)
{
	struct harness_env	env;

	harness_env(&env);
	cr_assert_gt(assert_batch_scheduled(&env, 1), 3,
	    "worker 1 should have the consumer and librdkafka threads");
	(void)assert_batch_scheduled(&env, 2);
}

Test(ingest, sigkill_of_the_consumer_worker_loses_and_doubles_nothing)
{
	struct harness_env	env;
	struct batch		b;
	int64_t			committed, stored;
	double			processed, delta;
	pid_t			pid;
	int			waited;

	harness_env(&env);
	srand(3);
	batch_build(&b, "kill", 1500);
	committed = committed_now(&env);
	processed = harness_metric(&env, "saga_events_processed_total");

	pid = harness_worker_pid(&env, 1);
	cr_assert_gt(pid, 0, "no kore worker 1 under pid %d",
	    (int)env.service_pid);
	cr_assert_eq(harness_produce(&env, TOPIC, b.keys, b.payloads, b.n),
	    0);

	/* Kill it while it is part-way through the events. */
	for (waited = 0; waited < WAIT_MS; waited += 5) {
		stored = count_where(&env, "SELECT count(*) FROM saga_event "
		    "WHERE saga_id LIKE '%s-%%'", "kill");
		if (stored > 0)
			break;
		harness_sleep_ms(5);
	}
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_lt(stored, b.valid, "all events were applied before the "
	    "kill; the test proves nothing");

	wait_applied(&env, &b, "kill", committed + (int64_t)b.n);
	check_rows(&env, &b, "kill");
	cr_assert_neq(harness_worker_pid(&env, 1), pid);
	assert_batch_scheduled(&env, 1);

	/*
	 * The database is exact.  A kill between COMMIT and the counter
	 * update can lose at most one batch per lane from the counters;
	 * counting an event twice would be a bug.
	 */
	delta = harness_metric(&env, "saga_events_processed_total") -
	    processed;
	cr_assert_leq(delta, (double)b.valid);
	cr_assert_geq(delta, (double)(b.valid -
	    CONSUMER_LANES * APPLIER_BATCH_MAX));
	batch_free(&b);
}

/*
 * Big events make big batches: the store's column arrays then grow past
 * malloc's mmap threshold and glibc's realloc calls mremap.  A seccomp
 * filter without it kills the consumer thread, silently.
 */
Test(ingest, large_events_survive_the_sandbox)
{
	struct harness_env	 env;
	struct batch		 b;
	char			*meta, *payload, saga[32];
	int64_t			 committed;
	int			 i;

	harness_env(&env);
	memset(&b, 0, sizeof(b));
	committed = committed_now(&env);

	meta = malloc(15001);
	payload = malloc(16000);
	cr_assert(meta != NULL && payload != NULL);
	memset(meta, 'x', 15000);
	meta[15000] = '\0';
	for (i = 0; i < 400; i++) {
		(void)snprintf(saga, sizeof(saga), "big-%d", i);
		(void)snprintf(payload, 16000, "{\"eventId\":\"%s-e\","
		    "\"sagaId\":\"%s\",\"step\":\"STOCK_RESERVE\",\"status\":"
		    "\"STARTED\",\"occurredAt\":\"2026-11-27T10:00:00Z\","
		    "\"metadata\":{\"note\":\"%s\"}}", saga, saga, meta);
		batch_add(&b, saga, payload);
		b.valid++;
	}
	free(meta);
	free(payload);

	cr_assert_eq(harness_produce(&env, TOPIC, b.keys, b.payloads, b.n),
	    0);
	wait_applied(&env, &b, "big", committed + (int64_t)b.n);
	batch_free(&b);
}

/* metrics.lag_per_partition: true adds a series per assigned partition. */
Test(ingest, lag_is_exported_per_partition_when_configured)
{
	struct harness_env	env;
	struct harness_reply	r;
	int			waited, found;

	harness_env(&env);
	found = 0;
	for (waited = 0; waited < 20000 && !found; waited += 500) {
		cr_assert_eq(harness_http(env.service_port, "GET",
		    "/actuator/prometheus", NULL, NULL, &r), 0);
		found = strstr(r.body, "saga_tracker_consumer_lag{"
		    "partition=\"0\"}") != NULL &&
		    strstr(r.body, "\nsaga_tracker_consumer_lag ") != NULL;
		harness_reply_free(&r);
		if (!found)
			harness_sleep_ms(500);
	}
	cr_assert(found, "no saga_tracker_consumer_lag{partition=\"0\"} "
	    "next to the total after 20 s");
}
