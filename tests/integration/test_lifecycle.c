/*
 * Integration: the service's life cycle.  SIGTERM drains, commits and
 * leaves the consumer group (a restarted service gets its partitions at
 * once, not after the session timeout) and exits 0 well within the
 * Kubernetes grace period; a service started before its database waits
 * for it instead of exiting; a worker stopped and continued (SIGSTOP,
 * a debugger, the cgroup freezer) carries on in the same process; a
 * second instance that joins the group takes partitions over without a
 * lost or twice-counted event.
 *
 * Each test starts the service itself, so it can wait for its exit.
 */

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define TOPIC			"saga.events"
#define GROUP			"saga-tracker-service"
#define GRACE_MS		30000	/* deploy: terminationGracePeriod */
#define SESSION_TIMEOUT_MS	10000	/* consumer.c session.timeout.ms */

const struct harness_suite	harness_suite = {
	HARNESS_PG | HARNESS_BROKER, NULL, NULL
};

static void
produce(const struct harness_env *env, const char *prefix, int n)
{
	char		*keys[64], *payloads[64], buf[64][256], key[64][32];
	int		 i;

	cr_assert_leq(n, 64);
	for (i = 0; i < n; i++) {
		(void)snprintf(key[i], sizeof(key[i]), "%s-%d", prefix, i);
		(void)snprintf(buf[i], sizeof(buf[i]), "{\"eventId\":\"%s-e\","
		    "\"sagaId\":\"%s\",\"step\":\"STOCK_RESERVE\",\"status\":"
		    "\"STARTED\",\"occurredAt\":\"2026-11-27T08:00:00Z\"}",
		    key[i], key[i]);
		keys[i] = key[i];
		payloads[i] = buf[i];
	}
	cr_assert_eq(harness_produce(env, TOPIC, keys, payloads, (size_t)n),
	    0);
}

/* Milliseconds until the prefix's n sagas are stored, or -1. */
static int64_t
wait_sagas(const struct harness_env *env, const char *prefix, int n,
    int limit_ms)
{
	char		sql[256];
	int64_t		start;

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM saga_instance "
	    "WHERE saga_id LIKE '%s-%%'", prefix);
	start = harness_now_ms();
	while (harness_now_ms() - start < limit_ms) {
		if (harness_pg_int(env, sql) == n)
			return (harness_now_ms() - start);
		harness_sleep_ms(100);
	}

	return (-1);
}

Test(lifecycle, sigterm_commits_leaves_the_group_and_exits_0)
{
	struct harness_env	env;
	int64_t			took;
	int			status, elapsed;

	harness_env(&env);
	harness_service_start(&env);
	produce(&env, "life-a", 20);
	cr_assert_geq(wait_sagas(&env, "life-a", 20, 60000), 0);

	cr_assert_eq(harness_service_stop(&env, &status, &elapsed), 0,
	    "the service did not exit within 60 s of SIGTERM");
	cr_assert_eq(status, 0, "exit status %d after SIGTERM", status);
	cr_assert_lt(elapsed, GRACE_MS, "took %d ms to exit", elapsed);
	cr_assert_geq(harness_committed(&env, GROUP, TOPIC), 20);

	/*
	 * A consumer that left its group is replaced at once; one that
	 * vanished is waited for until its session times out.
	 */
	produce(&env, "life-b", 10);
	harness_service_start(&env);
	took = wait_sagas(&env, "life-b", 10, 60000);
	cr_assert_geq(took, 0, "events after the restart were not applied");
	cr_assert_lt(took, SESSION_TIMEOUT_MS, "the restarted consumer "
	    "waited %lld ms: the old one did not leave the group",
	    (long long)took);

	cr_assert_eq(harness_service_stop(&env, &status, &elapsed), 0);
	cr_assert_eq(status, 0);
}

Test(lifecycle, starts_before_its_database_and_waits_for_it)
{
	struct harness_env	 env;
	struct harness_reply	 r;
	int64_t			 deadline;
	int			 status, elapsed;
	char			 err[512];

	harness_env(&env);
	cr_assert_eq(harness_pg_stop(&env), 0);
	harness_service_start(&env);

	cr_assert_eq(harness_http(env.service_port, "GET",
	    "/actuator/health/readiness", NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 503, "ready without a database: %d", r.status);
	harness_reply_free(&r);
	produce(&env, "life-c", 5);
	/* Until the consumer has tried its database and said so. */
	deadline = harness_now_ms() + 30000;
	while ((harness_kafka_detail(&env, "error", err, sizeof(err)) == -1 ||
	    strncmp(err, "database: ", 10) != 0) &&
	    harness_now_ms() < deadline)
		harness_sleep_ms(50);
	cr_assert_eq(strncmp(err, "database: ", 10), 0,
	    "no database error reported in 30 s: '%s'", err);

	cr_assert_eq(harness_pg_start_again(&env), 0);
	cr_assert_geq(wait_sagas(&env, "life-c", 5, 60000), 0,
	    "the consumer did not recover when the database came up");
	cr_assert_eq(harness_http(env.service_port, "GET",
	    "/actuator/health/readiness", NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	harness_reply_free(&r);

	cr_assert_eq(harness_service_stop(&env, &status, &elapsed), 0);
	cr_assert_eq(status, 0);
}

/* Wait (10 s at most) until pid is stopped (T), or is not; 1 if so. */
static int
wait_state(pid_t pid, int stopped)
{
	char		 path[64], *text, *p;
	int64_t		 deadline;
	int		 is;

	(void)snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	deadline = harness_now_ms() + 10000;
	for (;;) {
		cr_assert_not_null(text = harness_read_file(path, NULL),
		    "%s: %s", path, strerror(errno));
		/* "pid (comm) S ...": comm may hold spaces and parens. */
		p = strrchr(text, ')');
		is = p != NULL && p[1] == ' ' && p[2] == 'T';
		free(text);
		if (is == stopped)
			return (1);
		if (harness_now_ms() >= deadline)
			return (0);
		harness_sleep_ms(10);
	}
}

/*
 * Threads stopped in a timed wait resume it through restart_syscall; a
 * seccomp filter without it kills the worker on SIGCONT.
 */
Test(lifecycle, a_stopped_and_continued_worker_carries_on)
{
	struct harness_env	env;
	pid_t			pid;
	int			status, elapsed;

	harness_env(&env);
	harness_service_start(&env);
	produce(&env, "life-d", 5);
	cr_assert_geq(wait_sagas(&env, "life-d", 5, 60000), 0);

	cr_assert_gt(pid = harness_worker_pid(&env, 1), 0);
	cr_assert_eq(kill(pid, SIGSTOP), 0);
	cr_assert(wait_state(pid, 1), "worker 1 did not stop");
	cr_assert_eq(kill(pid, SIGCONT), 0);
	cr_assert(wait_state(pid, 0), "worker 1 did not continue");

	/* Applied only once its threads have resumed their waits. */
	produce(&env, "life-e", 5);
	cr_assert_geq(wait_sagas(&env, "life-e", 5, 60000), 0,
	    "the consumer stopped after SIGSTOP/SIGCONT");
	cr_assert_eq(harness_worker_pid(&env, 1), pid, "worker 1 died after "
	    "SIGCONT (was %d)", (int)pid);
	cr_assert_eq(harness_service_stop(&env, &status, &elapsed), 0);
	cr_assert_eq(status, 0);
}

/* Produce and wait for rounds x 50 sagas named prefix<r>-<i>. */
static void
produce_rounds(const struct harness_env *env, const char *prefix,
    int rounds)
{
	char		name[32];
	int		r;

	for (r = 0; r < rounds; r++) {
		(void)snprintf(name, sizeof(name), "%s%d", prefix, r);
		produce(env, name, 50);
	}
	for (r = 0; r < rounds; r++) {
		(void)snprintf(name, sizeof(name), "%s%d", prefix, r);
		cr_assert_geq(wait_sagas(env, name, 50, 60000), 0,
		    "sagas %s-* were not all applied", name);
	}
}

/*
 * The first instance gives up partitions when the second joins: what
 * its lanes took from them is applied and committed in the revoke
 * callback, then the two split the rest.  Each event is counted once,
 * by one of them.
 */
Test(lifecycle, a_second_instance_takes_partitions_without_loss)
{
	struct harness_env	a, b;
	double			n_a, n_b;
	char			name[32];
	int			status, elapsed, waves;

	harness_env(&a);
	harness_service_start(&a);
	produce_rounds(&a, "life-g", 4);

	/* Waves of 10 sagas until the second instance has applied some. */
	b = a;
	harness_service_start(&b);
	n_b = 0;
	for (waves = 0; waves < 60 && n_b <= 0; waves++) {
		(void)snprintf(name, sizeof(name), "life-h%d", waves);
		produce(&a, name, 10);
		cr_assert_geq(wait_sagas(&a, name, 10, 60000), 0,
		    "sagas %s-* were not all applied", name);
		n_b = harness_metric(&b, "saga_events_processed_total");
	}
	cr_assert_gt(n_b, 0, "the second instance applied nothing in %d "
	    "waves", waves);

	n_a = harness_metric(&a, "saga_events_processed_total");
	cr_assert_eq(n_a + n_b, 200 + waves * 10, "applied %.0f + %.0f "
	    "events, not %d", n_a, n_b, 200 + waves * 10);
	cr_assert_eq(harness_pg_int(&a, "SELECT count(*) FROM saga_event "
	    "WHERE saga_id LIKE 'life-g%' OR saga_id LIKE 'life-h%'"),
	    200 + waves * 10);

	cr_assert_eq(harness_service_stop(&b, &status, &elapsed), 0);
	cr_assert_eq(status, 0);
	cr_assert_eq(harness_service_stop(&a, &status, &elapsed), 0);
	cr_assert_eq(status, 0);
}
