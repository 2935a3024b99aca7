/*
 * Integration: consumer truth and failover (issue 14).  The lag is the
 * group's, read from the broker: polled every 200 ms through
 * /actuator/prometheus during a worker-1 respawn and during a
 * rebalance, it never reads 0 while events wait.  The health shows the
 * current consumer's phases in order and since when, and its own
 * counts.  A kill -9 of worker 1 loses and doubles nothing, and the
 * time until the respawned consumer applies again is measured.  A
 * replica stopped with SIGTERM leaves the group although it is a static
 * member, so the other takes its partitions in the next rebalance.  While
 * the database is down, saga_tracker_db_up is 0 and the gauges' age
 * grows.
 *
 * Failover and the mock broker: librdkafka 2.0.2's mock cluster reads
 * a JoinGroup's group.instance.id and drops it (no static membership),
 * and every join into a group that is up waits session.timeout.ms - 1 s
 * for the other members.  Against it a respawned static member still
 * waits for that: about 9 s, or about 19 s when the mock elects the
 * dead member leader and waits a session for its SyncGroup.
 * FAILOVER_MS is what the mock allows.  A broker with KIP-345 hands a
 * static member its partitions back at its first JoinGroup.
 */

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "applier.h"
#include "consumer.h"
#include "harness.h"

#define TOPIC			"saga.events"
#define PARTITIONS		8
#define POD			"saga-it-pod-1"
#define FAILOVER_MS		30000	/* the mock's bound, see above */
#define SESSION_TIMEOUT_MS	10000	/* consumer.c */
#define LIMIT_MS		90000

struct kafka_health {
	char		phase[32];
	int		partitions;
	char		instance[64];
	int64_t		since_ms;
	int64_t		started_ms;
	long long	events;
};

/* The phases in their order of a consumer's life. */
static const char	*phases[] = {
	"STARTING", "JOINING", "REBALANCING", "RUNNING", NULL
};

static void
broker_topics(struct harness_env *env)
{
	env->broker_partitions = PARTITIONS;
}

const struct harness_suite	harness_suite = {
	HARNESS_PG | HARNESS_BROKER, broker_topics, NULL
};

static int64_t
wall_ms(void)
{
	struct timespec		ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* "2026-12-02T08:00:00.123Z" as wall clock ms; -1 if not that. */
static int64_t
parse_time(const char *s)
{
	struct tm	tm;
	char		*end;
	long		ms;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) ==
	    NULL || *end != '.')
		return (-1);
	ms = strtol(end + 1, &end, 10);
	if (*end != 'Z')
		return (-1);

	return ((int64_t)timegm(&tm) * 1000 + ms);
}

static void
produce(const struct harness_env *env, const char *prefix, int n)
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
	cr_assert_eq(harness_produce(env, TOPIC, keys, payloads, (size_t)n),
	    0, "producing %d events failed", n);
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

/* The unlabelled sample of name in a scrape; -1 if it has none. */
static double
sample(const struct harness_env *env, const char *name)
{
	struct harness_reply	 r;
	char			 want[128];
	const char		*p;
	double			 v;

	cr_assert_eq(harness_http(env->service_port, "GET",
	    "/actuator/prometheus", NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	(void)snprintf(want, sizeof(want), "\n%s ", name);
	v = (p = strstr(r.body, want)) != NULL ?
	    strtod(p + strlen(want), NULL) : -1;
	harness_reply_free(&r);

	return (v);
}

static int
kafka_health(const struct harness_env *env, struct kafka_health *kh)
{
	struct harness_reply	 r;
	json_t			*doc, *det;
	const char		*s;
	int			 rc;

	memset(kh, 0, sizeof(*kh));
	if (harness_http(env->service_port, "GET", "/actuator/health", NULL,
	    NULL, &r) != 0)
		return (-1);
	doc = json_loads(r.body, 0, NULL);
	harness_reply_free(&r);
	det = json_object_get(json_object_get(json_object_get(doc,
	    "components"), "kafka"), "details");
	rc = -1;
	if ((s = json_string_value(json_object_get(det, "phase"))) != NULL) {
		(void)snprintf(kh->phase, sizeof(kh->phase), "%s", s);
		s = json_string_value(json_object_get(det, "groupInstanceId"));
		(void)snprintf(kh->instance, sizeof(kh->instance), "%s",
		    s != NULL ? s : "");
		kh->since_ms = parse_time(json_string_value(json_object_get(
		    det, "since")));
		kh->started_ms = parse_time(json_string_value(json_object_get(
		    det, "startedAt")));
		kh->events = json_integer_value(json_object_get(det,
		    "events"));
		kh->partitions = (int)json_integer_value(json_object_get(det,
		    "partitions"));
		rc = 0;
	}
	json_decref(doc);

	return (rc);
}

static int
phase_rank(const char *phase)
{
	int		i;

	for (i = 0; phases[i] != NULL; i++) {
		if (strcmp(phases[i], phase) == 0)
			return (i);
	}

	return (-1);
}

/*
 * Poll the health every 50 ms until a consumer started after after_ms
 * (wall clock) is RUNNING: every phase it shows is one of the life's,
 * never one before the last seen, with a since that does not go back.
 * Returns how many distinct phases were seen.
 */
static int
follow_phases(const struct harness_env *env, int64_t after_ms,
    int *saw_joining)
{
	struct kafka_health	kh;
	int64_t			start, since;
	int			rank, last, seen;

	start = harness_now_ms();
	last = -1;
	since = 0;
	seen = 0;
	*saw_joining = 0;
	do {
		cr_assert_lt(harness_now_ms() - start, 60000, "not RUNNING "
		    "after 60 s (%s)", kh.phase);
		harness_sleep_ms(50);
		if (kafka_health(env, &kh) == -1 ||
		    strcmp(kh.phase, "STOPPED") == 0 ||
		    kh.started_ms < after_ms) {
			kh.phase[0] = '\0';
			continue;
		}
		rank = phase_rank(kh.phase);
		cr_assert_geq(rank, 0, "phase %s", kh.phase);
		cr_assert_geq(rank, last, "%s after %s", kh.phase,
		    last >= 0 ? phases[last] : "-");
		cr_assert_gt(kh.since_ms, 0, "no since with %s", kh.phase);
		cr_assert_geq(kh.since_ms, since, "since went back");
		cr_assert_leq(kh.since_ms, wall_ms() + 1000);
		if (rank != last)
			seen++;
		if (strcmp(kh.phase, "JOINING") == 0)
			*saw_joining = 1;
		last = rank;
		since = kh.since_ms;
	} while (strcmp(kh.phase, "RUNNING") != 0);

	return (seen);
}

/*
 * Until every one of n events of prefix is stored: the lag of a, and
 * of b unless NULL (scraped first), never reads 0 while one waits.  No
 * sample (no reading yet) is not 0.
 */
static void
watch_lag(const struct harness_env *a, const struct harness_env *b,
    const char *prefix, int64_t n)
{
	int64_t		start, have;
	double		la, lb;

	start = harness_now_ms();
	do {
		cr_assert_lt(harness_now_ms() - start, LIMIT_MS, "only %lld "
		    "of %lld stored", (long long)have, (long long)n);
		la = sample(a, "saga_tracker_consumer_lag");
		lb = b != NULL ? sample(b, "saga_tracker_consumer_lag") : -1;
		have = stored(a, prefix);
		cr_assert(la != 0 || have == n, "the lag read 0 with %lld of "
		    "%lld events stored", (long long)have, (long long)n);
		cr_assert(lb != 0 || have == n, "the second replica's lag "
		    "read 0 with %lld of %lld stored", (long long)have,
		    (long long)n);
		harness_sleep_ms(200);
	} while (have != n);
}

static void
wait_lag_seen(const struct harness_env *env)
{
	int64_t		start;

	start = harness_now_ms();
	while (sample(env, "saga_tracker_consumer_lag") <= 0) {
		cr_assert_lt(harness_now_ms() - start, 10000, "the backlog did "
		    "not show in the lag within 10 s");
		harness_sleep_ms(100);
	}
}

static void
stop_service(struct harness_env *env)
{
	int		status, elapsed;

	cr_assert_eq(harness_service_stop(env, &status, &elapsed), 0);
	cr_assert_eq(status, 0, "exit status %d", status);
}

/*
 * Phases from the start, then a kill -9 of worker 1 with a backlog:
 * the respawned consumer's phases in order, its own counts, the same
 * group.instance.id, the lag never 0, nothing lost or counted twice.
 */
Test(failover, a_killed_worker_1_fails_over_with_a_true_lag,
    .timeout = 240)
{
	struct harness_env	env;
	struct kafka_health	kh;
	int64_t			killed, failover;
	double			before, delta;
	pid_t			pid;
	int			joining, n;

	harness_env(&env);
	setenv(CONSUMER_INSTANCE_ENV, POD, 1);
	harness_service_start(&env);
	unsetenv(CONSUMER_INSTANCE_ENV);
	cr_assert_geq(follow_phases(&env, 0, &joining), 1);
	cr_assert(joining, "JOINING was never shown");
	cr_assert_eq(kafka_health(&env, &kh), 0);
	cr_assert_str_eq(kh.instance, POD);

	n = 120000;	/* seconds of work: the kill lands mid-backlog */
	before = harness_metric(&env, "saga_events_processed_total");
	produce(&env, "kw", n);
	wait_lag_seen(&env);
	while (stored(&env, "kw") == 0)
		harness_sleep_ms(20);
	cr_assert_gt(pid = harness_worker_pid(&env, 1), 0);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	killed = wall_ms();
	cr_assert_lt(stored(&env, "kw"), n, "all applied before the kill: "
	    "the test proves nothing");

	/* The new consumer: its phases, identity and counts. */
	(void)follow_phases(&env, killed - 1000, &joining);
	cr_assert(joining, "the respawned consumer never showed JOINING");
	failover = -1;
	while (failover == -1) {
		cr_assert_eq(kafka_health(&env, &kh), 0);
		cr_assert_gt(kh.started_ms, killed - 1000, "the dead "
		    "consumer's status is shown as current");
		if (kh.events > 0)
			failover = wall_ms() - killed;
		cr_assert_lt(wall_ms() - killed, LIMIT_MS);
		harness_sleep_ms(50);
	}
	cr_assert_str_eq(kh.instance, POD);
	cr_assert_neq(harness_worker_pid(&env, 1), pid);

	watch_lag(&env, NULL, "kw", n);
	cr_assert_lt(kh.events, n, "the counts are not the new consumer's");
	delta = harness_metric(&env, "saga_events_processed_total") - before;
	cr_assert_leq(delta, (double)n, "counted twice");
	cr_assert_geq(delta, (double)(n - CONSUMER_LANES * APPLIER_BATCH_MAX));
	fprintf(stderr, "failover: the respawned consumer applied its first "
	    "batch %lld ms after kill -9 of worker 1\n", (long long)failover);
	cr_assert_lt(failover, FAILOVER_MS);
	stop_service(&env);
}

/*
 * A second replica joins while a backlog is consumed: both report the
 * group's lag, which never reads 0 while events wait, during the
 * rebalance and after; each event is counted once, by one of them.
 */
Test(failover, the_lag_stays_true_through_a_rebalance, .timeout = 240)
{
	struct harness_env	a, b;
	struct kafka_health	ka;
	int64_t			stopped;
	double			pa, pb;
	int			n;

	harness_env(&a);
	harness_service_start(&a);
	n = 120000;	/* seconds of work: a rebalance lands mid-backlog */
	produce(&a, "rb", n);
	wait_lag_seen(&a);

	b = a;
	setenv(CONSUMER_INSTANCE_ENV, "saga-it-pod-2", 1);
	harness_service_start(&b);
	unsetenv(CONSUMER_INSTANCE_ENV);
	watch_lag(&a, &b, "rb", n);

	pa = harness_metric(&a, "saga_events_processed_total");
	pb = harness_metric(&b, "saga_events_processed_total");
	cr_assert_eq(pa + pb, (double)n, "applied %.0f + %.0f of %d", pa, pb,
	    n);

	/*
	 * SIGTERM of one: it leaves the group although it is a static
	 * member, so the other takes every partition in the next
	 * rebalance (the mock's takes session.timeout.ms - 1 s), not
	 * after a session timeout on top.
	 */
	stop_service(&b);
	stopped = harness_now_ms();
	while (kafka_health(&a, &ka) == -1 || strcmp(ka.phase,
	    "RUNNING") != 0 || ka.partitions != PARTITIONS) {
		cr_assert_lt(harness_now_ms() - stopped,
		    SESSION_TIMEOUT_MS + 5000,
		    "the partitions of the stopped replica were not taken "
		    "over (%s, %d)", ka.phase, ka.partitions);
		harness_sleep_ms(100);
	}
	fprintf(stderr, "failover: after SIGTERM of a replica the other "
	    "held every partition %lld ms later\n",
	    (long long)(harness_now_ms() - stopped));
	stop_service(&a);
}

static void
restart_pg(void)
{
	struct harness_env	env;

	harness_env(&env);
	(void)harness_pg_start_again(&env);
}

/* Wait until metric name satisfies cmp against want; -1 after limit. */
static int64_t
wait_sample(const struct harness_env *env, const char *name, int above,
    double want, int64_t limit_ms)
{
	int64_t		start;
	double		v;

	start = harness_now_ms();
	while (harness_now_ms() - start < limit_ms) {
		v = sample(env, name);
		if (above ? v > want : (v >= 0 && v < want))
			return (harness_now_ms() - start);
		harness_sleep_ms(200);
	}

	return (-1);
}

/*
 * The database down: db_up 0 and the gauges keep their values while
 * their age grows past the refresh interval; back: 1 and fresh.
 */
Test(failover, stale_gauges_are_marked_while_the_database_is_down,
    .timeout = 180, .fini = restart_pg)
{
	struct harness_env	env;

	harness_env(&env);
	harness_service_start(&env);
	cr_assert_geq(wait_sample(&env, "saga_tracker_db_up", 1, 0.5, 20000),
	    0, "db_up never 1");
	cr_assert_geq(wait_sample(&env, "saga_tracker_gauges_age_seconds", 0,
	    CONSUMER_GAUGE_SEC + 1, 20000), 0);

	cr_assert_eq(harness_pg_stop(&env), 0);
	cr_assert_geq(wait_sample(&env, "saga_tracker_db_up", 0, 0.5,
	    CONSUMER_GAUGE_SEC * 1000 + 5000), 0, "db_up stayed 1");
	cr_assert_geq(wait_sample(&env, "saga_tracker_gauges_age_seconds", 1,
	    CONSUMER_GAUGE_SEC + 2, 30000), 0, "the gauges' age did not grow");
	cr_assert_eq(sample(&env, "saga_tracker_db_up"), 0.0);
	cr_assert_gt(harness_metric(&env, "saga_active_total"), -1,
	    "the gauges are still served");

	cr_assert_eq(harness_pg_start_again(&env), 0);
	cr_assert_geq(wait_sample(&env, "saga_tracker_db_up", 1, 0.5, 20000),
	    0, "db_up did not come back");
	cr_assert_geq(wait_sample(&env, "saga_tracker_gauges_age_seconds", 0,
	    3, 20000), 0, "the gauges were not refreshed again");
	stop_service(&env);
}
