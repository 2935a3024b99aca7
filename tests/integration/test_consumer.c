/*
 * Integration: the consumer against broker trouble (issue 19).  A
 * broker frozen (SIGSTOP) while the consumer joins its group, frozen
 * while it runs, down (connections refused) for longer than the
 * session timeout: every event is applied once, within 60 s of the
 * broker's return, and meanwhile the lag from the broker is marked
 * stale rather than reset.  A replica that holds no partitions (more
 * members than partitions) is a steady member, and the watchdog leaves
 * it alone while the group lags.
 *
 * The mock broker runs as a separate process with 8 partitions on the
 * service's topic and a one-partition topic "solo"; each test starts
 * its own service, so its counters start at 0.
 */

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"

#define TOPIC			"saga.events"
#define PARTITIONS		8
#define SOLO			"solo"		/* one partition */
#define FREEZE_MS		18000
#define HEAL_MS			60000		/* after the broker is back */
#define SESSION_TIMEOUT_MS	10000		/* consumer.c */

struct kafka_health {
	char		phase[32];
	char		join_state[32];
	int		up;
	int		partitions;
	int		restarts;
};

/* PARTITIONS partitions, and the topic SOLO with one. */
static void
broker_topics(struct harness_env *env)
{
	env->broker_partitions = PARTITIONS;
	(void)snprintf(env->broker_extra, sizeof(env->broker_extra),
	    "%s:1", SOLO);
}

const struct harness_suite	harness_suite = {
	HARNESS_PG | HARNESS_BROKER, broker_topics, NULL
};

/* n one-event sagas named prefix-i on topic, produced in one go. */
static void
produce(const struct harness_env *env, const char *topic,
    const char *prefix, int n)
{
	char		**keys, **payloads;
	int		  i;

	keys = calloc((size_t)n, sizeof(char *));
	payloads = calloc((size_t)n, sizeof(char *));
	cr_assert(keys != NULL && payloads != NULL);
	for (i = 0; i < n; i++) {
		cr_assert(asprintf(&keys[i], "%s-%d", prefix, i) > 0);
		cr_assert(asprintf(&payloads[i], "{\"eventId\":\"%s-e\","
		    "\"sagaId\":\"%s\",\"step\":\"STOCK_RESERVE\",\"status\":"
		    "\"STARTED\",\"occurredAt\":\"2026-11-27T08:00:00Z\"}",
		    keys[i], keys[i]) > 0);
	}
	cr_assert_eq(harness_produce(env, topic, keys, payloads, (size_t)n),
	    0, "producing %d events to %s failed", n, topic);
	for (i = 0; i < n; i++) {
		free(keys[i]);
		free(payloads[i]);
	}
	free(keys);
	free(payloads);
}

static int64_t
stored(const struct harness_env *env, const char *prefix)
{
	char		sql[256];

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM saga_event "
	    "WHERE saga_id LIKE '%s-%%'", prefix);
	return (harness_pg_int(env, sql));
}

/* Wait until prefix has n events stored; -1 after limit_ms. */
static int64_t
wait_stored(const struct harness_env *env, const char *prefix, int64_t n,
    int64_t limit_ms)
{
	int64_t		start;

	start = harness_now_ms();
	while (harness_now_ms() - start < limit_ms) {
		if (stored(env, prefix) == n)
			return (harness_now_ms() - start);
		harness_sleep_ms(250);
	}

	return (-1);
}

/* Wait until metric name reads want; -1 after limit_ms. */
static int64_t
wait_metric(const struct harness_env *env, const char *name, double want,
    int64_t limit_ms)
{
	int64_t		start;

	start = harness_now_ms();
	while (harness_now_ms() - start < limit_ms) {
		if (harness_metric(env, name) == want)
			return (harness_now_ms() - start);
		harness_sleep_ms(200);
	}

	return (-1);
}

/* Wait until metric name reads below limit; -1 after limit_ms. */
static int64_t
wait_metric_below(const struct harness_env *env, const char *name,
    double limit, int64_t limit_ms)
{
	int64_t		start;

	start = harness_now_ms();
	while (harness_now_ms() - start < limit_ms) {
		if (harness_metric(env, name) < limit)
			return (harness_now_ms() - start);
		harness_sleep_ms(200);
	}

	return (-1);
}

/* components.kafka of /actuator/health; -1 if it cannot be read. */
static int
kafka_health(const struct harness_env *env, struct kafka_health *kh)
{
	struct harness_reply	 r;
	json_t			*doc, *kafka, *det;
	const char		*s;
	int			 rc;

	memset(kh, 0, sizeof(*kh));
	if (harness_http(env->service_port, "GET", "/actuator/health", NULL,
	    NULL, &r) != 0)
		return (-1);
	doc = json_loads(r.body, 0, NULL);
	harness_reply_free(&r);
	kafka = json_object_get(json_object_get(doc, "components"), "kafka");
	det = json_object_get(kafka, "details");
	rc = -1;
	if ((s = json_string_value(json_object_get(det, "phase"))) != NULL) {
		(void)snprintf(kh->phase, sizeof(kh->phase), "%s", s);
		s = json_string_value(json_object_get(json_object_get(det,
		    "group"), "joinState"));
		(void)snprintf(kh->join_state, sizeof(kh->join_state), "%s",
		    s != NULL ? s : "");
		kh->up = strcmp(json_string_value(json_object_get(kafka,
		    "status")), "UP") == 0;
		kh->partitions = (int)json_integer_value(json_object_get(det,
		    "partitions"));
		kh->restarts = (int)json_integer_value(json_object_get(det,
		    "restarts"));
		rc = 0;
	}
	json_decref(doc);

	return (rc);
}

/* Wait until the consumer is in phase with nparts partitions (-1: any). */
static void
wait_phase(const struct harness_env *env, const char *phase, int nparts,
    int limit_ms)
{
	struct kafka_health	kh;
	int64_t			start;

	start = harness_now_ms();
	while (harness_now_ms() - start < limit_ms) {
		if (kafka_health(env, &kh) == 0 && strcmp(kh.phase,
		    phase) == 0 && (nparts < 0 || kh.partitions == nparts))
			return;
		harness_sleep_ms(100);
	}
	cr_assert_fail("port %d: not %s with %d partitions after %d ms (%s, "
	    "%d)", env->service_port, phase, nparts, limit_ms, kh.phase,
	    kh.partitions);
}

/* After each test, passed or not: the broker running and up, PG up. */
static void
restore(void)
{
	struct harness_env	env;

	harness_env(&env);
	(void)kill(env.broker_pid, SIGCONT);
	(void)kill(env.broker_pid, SIGUSR2);
	(void)harness_pg_start_again(&env);
}

static void
stop_service(struct harness_env *env)
{
	int		status, elapsed;

	cr_assert_eq(harness_service_stop(env, &status, &elapsed), 0);
	cr_assert_eq(status, 0, "exit status %d", status);
}

/*
 * The case: frozen for 18 s while the JoinGroup is in flight.
 * The mock broker, continued, drops the member whose session expired
 * during the freeze without answering its JoinGroup, and librdkafka
 * waits max.poll.interval.ms + 3 s (303 s) for that answer.  The
 * watchdog recreates the handle after kafka.stuck_after (30 s) of it.
 */
Test(consumer, a_broker_frozen_during_the_join_heals, .timeout = 240,
    .fini = restore)
{
	struct harness_env	env;
	struct kafka_health	kh;
	int64_t			resumed, took;
	double			lag;
	int			saw_stuck;

	harness_env(&env);
	produce(&env, TOPIC, "fj", 19000);
	harness_service_start(&env);

	/* Freeze while the JoinGroup waits for its answer. */
	took = harness_now_ms();
	while (kafka_health(&env, &kh) == -1 || strcmp(kh.join_state,
	    "wait-join") != 0) {
		cr_assert_lt(harness_now_ms() - took, 20000, "no JoinGroup in "
		    "flight after 20 s (%s, %s)", kh.phase, kh.join_state);
		harness_sleep_ms(20);
	}
	cr_assert_eq(kill(env.broker_pid, SIGSTOP), 0);
	harness_sleep_ms(FREEZE_MS);
	cr_assert_eq(kill(env.broker_pid, SIGCONT), 0);
	resumed = harness_now_ms();
	produce(&env, TOPIC, "fk", 57000);

	/* Meanwhile: not RUNNING, and the lag from the broker shows it. */
	saw_stuck = 0;
	while (stored(&env, "fj") + stored(&env, "fk") < 76000 &&
	    harness_now_ms() - resumed < HEAL_MS) {
		lag = harness_metric(&env, "saga_tracker_consumer_lag");
		if (kafka_health(&env, &kh) == 0 && strcmp(kh.phase,
		    "RUNNING") != 0 && lag >= 19000)
			saw_stuck = 1;
		harness_sleep_ms(500);
	}
	took = harness_now_ms() - resumed;
	cr_assert_eq(stored(&env, "fj"), 19000, "after %lld ms",
	    (long long)took);
	cr_assert_eq(stored(&env, "fk"), 57000, "after %lld ms",
	    (long long)took);
	cr_assert(saw_stuck, "never JOINING with the group's lag >= 19000");
	cr_assert_eq(harness_metric(&env, "saga_events_processed_total"),
	    76000.0, "counted twice or not at all");
	cr_assert_eq(kafka_health(&env, &kh), 0);
	cr_assert_geq(kh.restarts, 1, "healed without the watchdog?");
	fprintf(stderr, "consumer: frozen during the join: every event "
	    "applied %lld ms after the broker resumed, %d watchdog "
	    "restart(s)\n", (long long)took, kh.restarts);
	stop_service(&env);
}

Test(consumer, a_broker_frozen_while_running_heals, .timeout = 180,
    .fini = restore)
{
	struct harness_env	env;
	int64_t			resumed, took;

	harness_env(&env);
	harness_service_start(&env);
	produce(&env, TOPIC, "fr", 2000);
	cr_assert_geq(wait_stored(&env, "fr", 2000, HEAL_MS), 0);
	wait_phase(&env, "RUNNING", PARTITIONS, 10000);

	cr_assert_eq(kill(env.broker_pid, SIGSTOP), 0);
	harness_sleep_ms(FREEZE_MS);
	cr_assert_eq(kill(env.broker_pid, SIGCONT), 0);
	resumed = harness_now_ms();
	produce(&env, TOPIC, "fs", 2000);

	took = wait_stored(&env, "fs", 2000,
	    HEAL_MS - (harness_now_ms() - resumed));
	cr_assert_geq(took, 0, "not applied within 60 s of the resume");
	cr_assert_eq(harness_metric(&env, "saga_events_processed_total"),
	    4000.0, "counted twice or not at all");
	fprintf(stderr, "consumer: frozen while running: applied %lld ms "
	    "after the resume\n", (long long)(harness_now_ms() - resumed));
	stop_service(&env);
}

/*
 * Down (connections refused) for longer than the session timeout: the
 * lag keeps its last value and its age grows, then all is applied.
 */
Test(consumer, a_broker_down_beyond_the_session_timeout_heals,
    .timeout = 180, .fini = restore)
{
	struct harness_env	env;
	int64_t			down, took;
	double			age;

	harness_env(&env);
	harness_service_start(&env);
	produce(&env, TOPIC, "bd", 1000);
	cr_assert_geq(wait_stored(&env, "bd", 1000, HEAL_MS), 0);
	wait_phase(&env, "RUNNING", PARTITIONS, 10000);
	cr_assert_geq(wait_metric(&env, "saga_tracker_consumer_lag", 0.0,
	    10000), 0, "the lag did not read 0 after everything was applied");
	cr_assert_lt(harness_metric(&env,
	    "saga_tracker_consumer_lag_age_seconds"), 5.0);

	cr_assert_eq(kill(env.broker_pid, SIGUSR1), 0);
	down = harness_now_ms();
	do {
		cr_assert_lt(harness_now_ms() - down, 30000, "the lag's age "
		    "did not pass the session timeout");
		harness_sleep_ms(500);
		age = harness_metric(&env,
		    "saga_tracker_consumer_lag_age_seconds");
	} while (age < SESSION_TIMEOUT_MS / 1000 + 2);
	cr_assert_eq(harness_metric(&env, "saga_tracker_consumer_lag"), 0.0,
	    "the last reading (0) must stay, not a made-up value");
	cr_assert_eq(kill(env.broker_pid, SIGUSR2), 0);

	produce(&env, TOPIC, "be", 1000);
	took = wait_stored(&env, "be", 1000, HEAL_MS);
	cr_assert_geq(took, 0, "not applied within 60 s of the return");
	cr_assert_eq(harness_metric(&env, "saga_events_processed_total"),
	    2000.0, "counted twice or not at all");
	/* The lag reader reconnects on its own (librdkafka's backoff). */
	cr_assert_geq(wait_metric_below(&env,
	    "saga_tracker_consumer_lag_age_seconds", 5.0, 15000), 0,
	    "the lag was not read again within 15 s of the broker's return");
	stop_service(&env);
}

/* Rewrite env->service_yaml with the line containing match replaced. */
static void
yaml_also(const struct harness_env *env, const char *match,
    const char *line)
{
	FILE		*fp;
	char		*text, *p, *end, *out;

	cr_assert_not_null(text = harness_read_file(env->service_yaml, NULL),
	    "%s", env->service_yaml);

	cr_assert_not_null(p = strstr(text, match), "no '%s'", match);
	while (p > text && p[-1] != '\n')
		p--;
	end = strchr(p, '\n');
	cr_assert(asprintf(&out, "%.*s%s%s", (int)(p - text), text, line,
	    end != NULL ? end : "\n") > 0);
	cr_assert_not_null(fp = fopen(env->service_yaml, "w"));
	fputs(out, fp);
	cr_assert_eq(fclose(fp), 0);
	free(out);
	free(text);
}

/*
 * Two replicas on a one-partition topic: the one without a partition
 * is a steady member, RUNNING with 0 partitions, reports the group's
 * lag all the same, and is not restarted while the group lags (the
 * database is down, so the lag stays) for longer than stuck_after.
 */
Test(consumer, a_replica_without_partitions_is_never_restarted,
    .timeout = 180, .fini = restore)
{
	struct harness_env	a, b, *idle, *busy;
	struct kafka_health	ka, kb;
	int64_t			start;
	double			lag;

	harness_env(&a);
	harness_yaml_edit(&a, "topic: saga.events", "  topic: " SOLO);
	yaml_also(&a, "stuck_after:", "  stuck_after: 15s");
	harness_service_start(&a);
	wait_phase(&a, "RUNNING", 1, 30000);
	b = a;
	harness_service_start(&b);

	/* Whichever the group gives the partition to, the other idles. */
	start = harness_now_ms();
	do {
		cr_assert_lt(harness_now_ms() - start, 40000, "no steady split "
		    "after 40 s (%s %d, %s %d)", ka.phase, ka.partitions,
		    kb.phase, kb.partitions);
		harness_sleep_ms(200);
		cr_assert_eq(kafka_health(&a, &ka), 0);
		cr_assert_eq(kafka_health(&b, &kb), 0);
	} while (strcmp(ka.phase, "RUNNING") != 0 || strcmp(kb.phase,
	    "RUNNING") != 0 || ka.partitions + kb.partitions != 1);
	idle = ka.partitions == 0 ? &a : &b;
	busy = idle == &a ? &b : &a;

	cr_assert_eq(harness_pg_stop(&a), 0);
	produce(&a, SOLO, "np", 100);

	/* Longer than stuck_after, with the group lagging. */
	start = harness_now_ms();
	lag = 0;
	while (harness_now_ms() - start < 25000) {
		cr_assert_eq(kafka_health(idle, &ka), 0);
		cr_assert_str_eq(ka.phase, "RUNNING");
		cr_assert_eq(ka.partitions, 0);
		cr_assert_eq(ka.restarts, 0, "the idle replica was restarted");
		cr_assert(ka.up, "an idle steady member is healthy");
		cr_assert_eq(kafka_health(busy, &kb), 0);
		cr_assert_eq(kb.restarts, 0);
		if (harness_metric(idle, "saga_tracker_consumer_lag") > lag)
			lag = harness_metric(idle,
			    "saga_tracker_consumer_lag");
		harness_sleep_ms(500);
	}
	cr_assert_eq(lag, 100.0, "the replica without partitions reports "
	    "a group lag of %.0f, not 100", lag);

	cr_assert_eq(harness_pg_start_again(&a), 0);
	cr_assert_geq(wait_stored(&a, "np", 100, HEAL_MS), 0);
	stop_service(&b);
	stop_service(&a);
	(void)unlink(a.service_yaml);
}
