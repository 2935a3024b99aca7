/*
 * test_metrics: unit tests of src/metrics.c and src/metrics_render.c
 * (Criterion).
 *
 * Covers exact totals from concurrent forked writers, contributions of
 * a SIGKILLed writer, a respawned writer on the same stripe, bounded
 * label tables, escaping, histogram invariants, the golden exposition
 * in tests/data/metrics/ and `promtool check metrics` on a live segment.
 * Run from the repository root.  METRICS_GOLDEN_UPDATE=1 rewrites the
 * golden file instead of comparing, and fails so that the run cannot
 * pass for a comparison (review the diff before keeping it).
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "metrics.h"
#include "metrics_render.h"

#define GOLDEN		"tests/data/metrics/exposition.prom"
#define PROMTOOL	"promtool"	/* on PATH */
#define ADDS		200000	/* per forked writer */

/* SPEC §3 names this gauge *_total; promtool's lint objects to that. */
#define LINT_ACCEPTED	"saga_active_total non-counter metrics should " \
			"not have \"_total\" suffix"

static const double	comp_buckets[] = {
	0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600
};

static const char	*family_names[METRICS_FAMILY_COUNT] = {
	"saga_active_total", "saga_failed_total", "saga_compensated_total",
	"saga_compensation_duration_seconds", "saga_events_processed_total",
	"saga_events_rejected_total", "saga_last_failed_timestamp",
	"saga_compensation_pending",
	"saga_compensation_pending_oldest_seconds",
	"saga_tracker_consumer_lag", "saga_tracker_consumer_lag_age_seconds",
	"saga_tracker_consumer_partitions", "saga_tracker_gauges_age_seconds",
	"saga_tracker_db_up", "saga_tracker_api_latency_seconds",
	"saga_tracker_db_query_seconds",
	"saga_tracker_retention_deleted_total",
	"saga_tracker_event_delay_seconds", "saga_tracker_build_info"
};

struct gate {
	int		go[2];
	int		ready[2];
};

static void
setup(unsigned int max_steps, unsigned int stripes)
{
	struct metrics_params	p;
	char			err[256];

	memset(&p, 0, sizeof(p));
	p.max_step_labels = max_steps;
	p.max_stripes = stripes;
	p.version = "1.4.0-test";
	p.compensation_buckets = comp_buckets;
	p.compensation_bucket_count = sizeof(comp_buckets) /
	    sizeof(comp_buckets[0]);

	cr_assert_eq(metrics_segment_create(&p, err, sizeof(err)), 0,
	    "create: %s", err);
}

static char *
render(void)
{
	char		*text;
	size_t		 len;

	text = metrics_render(&len);
	cr_assert_not_null(text);
	cr_assert_eq(strlen(text), len);
	return (text);
}

/* The value of the sample whose name and labels are exactly series. */
static double
sample(const char *text, const char *series)
{
	const char	*p;
	size_t		 n;

	n = strlen(series);
	for (p = text; p != NULL; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return (strtod(p + n + 1, NULL));
	}

	return (NAN);
}

static int
count_lines(const char *text, const char *prefix)
{
	const char	*p;
	int		 n;

	n = 0;
	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
	}

	return (n);
}

static void
gate_init(struct gate *g)
{
	cr_assert_eq(pipe(g->go), 0);
	cr_assert_eq(pipe(g->ready), 0);
}

/* In a child: wait until the parent opens the gate. */
static void
gate_wait(struct gate *g)
{
	char		c;

	close(g->go[1]);
	(void)read(g->go[0], &c, 1);
}

static void
gate_open(struct gate *g)
{
	close(g->go[0]);
	close(g->go[1]);
}

/* Fork a child on stripe that runs fn(arg) after the gate opens. */
static pid_t
spawn(struct gate *g, unsigned int stripe, void (*fn)(int, void *),
    void *arg)
{
	pid_t		pid;

	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid != 0)
		return (pid);

	close(g->ready[0]);
	if (metrics_attach_stripe(stripe) != 0)
		_exit(2);
	gate_wait(g);
	fn(g->ready[1], arg);
	_exit(0);
}

static void
reap(pid_t pid)
{
	int		status;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child %d failed (status %#x)", (int)pid, status);
}

static void
add_many(int ready, void *arg)
{
	struct metrics_series	failed, processed;
	const char		*v[2] = { "PAYMENT_INIT", "COMPLETED" };
	int			 i;

	(void)ready;
	(void)arg;
	metrics_series_lookup(METRICS_SAGA_FAILED, NULL, &failed);
	metrics_series_lookup(METRICS_EVENTS_PROCESSED, v, &processed);
	for (i = 0; i < ADDS; i++) {
		metrics_counter_add(failed, 1);
		metrics_counter_add(processed, 2);
		if (i % 100 == 0)
			metrics_db_observe("saga_upsert", 0.002);
	}
}

Test(metrics, forked_writers_sum_exactly)
{
	struct gate	g;
	pid_t		pids[4];
	char		*text;
	int		i;

	setup(64, 8);
	gate_init(&g);
	for (i = 0; i < 4; i++)
		pids[i] = spawn(&g, i + 1, add_many, NULL);
	gate_open(&g);
	for (i = 0; i < 4; i++)
		reap(pids[i]);

	text = render();
	cr_expect_eq(sample(text, "saga_failed_total"), 4.0 * ADDS);
	cr_expect_eq(sample(text, "saga_events_processed_total"
	    "{step=\"PAYMENT_INIT\",status=\"COMPLETED\"}"), 8.0 * ADDS);
	cr_expect_eq(sample(text, "saga_tracker_db_query_seconds_count"
	    "{query=\"saga_upsert\"}"), 4.0 * ADDS / 100);
	free(text);
}

/* Add n, tell the parent, then wait to be killed. */
static void
add_then_hang(int ready, void *arg)
{
	uint64_t	n = *(uint64_t *)arg, i;

	for (i = 0; i < n; i++)
		metrics_saga_compensated();
	if (write(ready, "x", 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

static void
kill_after_adding(unsigned int stripe, uint64_t n)
{
	struct gate	g;
	pid_t		pid;
	int		status;
	char		c;

	gate_init(&g);
	pid = spawn(&g, stripe, add_then_hang, &n);
	close(g.ready[1]);
	gate_open(&g);
	cr_assert_eq(read(g.ready[0], &c, 1), 1);
	close(g.ready[0]);

	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static uint64_t
compensated(void)
{
	struct metrics_series	s;

	cr_assert_eq(metrics_series_lookup(METRICS_SAGA_COMPENSATED, NULL,
	    &s), 0);
	return (metrics_counter_value(s));
}

Test(metrics, killed_writer_keeps_contributions)
{
	char		*text;

	setup(64, 4);
	kill_after_adding(1, 12345);
	cr_expect_eq(compensated(), 12345);

	text = render();
	cr_expect_eq(sample(text, "saga_compensated_total"), 12345.0);
	free(text);
}

Test(metrics, respawned_writer_continues_upward)
{
	struct gate	g;
	uint64_t	n, last, now;
	time_t		deadline;
	pid_t		pid;
	int		status;

	setup(64, 4);
	kill_after_adding(2, 5000);
	cr_assert_eq(compensated(), 5000);

	/* The respawn attaches the same stripe and keeps counting. */
	n = 3000000;
	gate_init(&g);
	pid = spawn(&g, 2, add_then_hang, &n);
	close(g.ready[1]);
	gate_open(&g);
	deadline = time(NULL) + 20;
	for (last = compensated(); last != 5000 + n; last = now) {
		now = compensated();
		cr_assert_geq(now, last, "counter went down");
		cr_assert_lt(time(NULL), deadline, "stuck at %llu",
		    (unsigned long long)now);
	}
	close(g.ready[0]);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect_eq(compensated(), 5000 + n);
}

Test(metrics, step_values_beyond_bound_go_to_other)
{
	struct metrics_series	s;
	const char		*steps[] = { "B_STEP", "A_STEP", "C", "D" };
	const char		*v[2];
	char			*text, longv[METRICS_VALUE_MAX + 8];
	int			 i, k;

	setup(2, 2);
	for (i = 0; i < 4; i++) {
		v[0] = steps[i];
		v[1] = "FAILED";
		cr_expect_eq(metrics_series_lookup(METRICS_EVENTS_PROCESSED,
		    v, &s), i < 2 ? 0 : 1, "step %s", steps[i]);
		for (k = 0; k <= i; k++)
			metrics_counter_add(s, 1);
	}

	/* Bad values never take a slot: they are "other" right away. */
	memset(longv, 'X', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	metrics_event_processed(longv, "FAILED");
	metrics_event_processed("", "FAILED");
	metrics_event_processed("\xc3\x28", "FAILED");
	metrics_event_processed("other", "FAILED");
	metrics_event_processed(NULL, "FAILED");

	text = render();
	cr_expect_eq(count_lines(text, "saga_events_processed_total{"), 3);
	cr_expect_eq(sample(text, "saga_events_processed_total"
	    "{step=\"A_STEP\",status=\"FAILED\"}"), 2.0);
	cr_expect_eq(sample(text, "saga_events_processed_total"
	    "{step=\"B_STEP\",status=\"FAILED\"}"), 1.0);
	cr_expect_eq(sample(text, "saga_events_processed_total"
	    "{step=\"other\",status=\"FAILED\"}"), 3.0 + 4.0 + 5.0);
	free(text);
}

Test(metrics, other_label_sets_are_bounded)
{
	char		name[32], *text;
	int		i;

	setup(8, 2);
	for (i = 0; i < METRICS_REASONS_MAX + 5; i++) {
		snprintf(name, sizeof(name), "reason_%02d", i);
		metrics_event_rejected(name);
	}
	for (i = 0; i < METRICS_ENDPOINTS_MAX + 1; i++) {
		snprintf(name, sizeof(name), "/r/%02d", i);
		metrics_api_observe(name, "GET", 200, 0.01);
	}
	metrics_event_processed("S", "NOT_A_STATUS");

	text = render();
	cr_expect_eq(count_lines(text, "saga_events_rejected_total{"),
	    METRICS_REASONS_MAX + 1);
	cr_expect_eq(sample(text,
	    "saga_events_rejected_total{reason=\"other\"}"), 5.0);
	cr_expect_eq(sample(text, "saga_tracker_api_latency_seconds_count"
	    "{endpoint=\"other\",method=\"GET\",code=\"200\"}"), 1.0);
	cr_expect_eq(sample(text, "saga_events_processed_total"
	    "{step=\"S\",status=\"other\"}"), 1.0);
	free(text);
}

/*
 * Every answer is counted under its status code, errors too; a status
 * that is no HTTP status goes to "other", and so does any code past
 * METRICS_CODES_MAX distinct ones: the series stay bounded.
 */
Test(metrics, api_answers_are_counted_by_status_code)
{
	const char	*route = "/api/v1/sagas/{sagaId}";
	char		 series[256], *text;
	int		 i;

	setup(8, 2);
	metrics_api_observe(route, "GET", 200, 0.01);
	metrics_api_observe(route, "GET", 200, 0.02);
	metrics_api_observe(route, "GET", 404, 0.01);
	metrics_api_observe(route, "GET", 503, 0.3);
	metrics_api_observe(route, "GET", 0, 0.01);
	metrics_api_observe(route, "GET", 600, 0.01);
	metrics_api_observe(route, "GET", -500, 0.01);

	text = render();
	cr_expect_eq(sample(text, "saga_tracker_api_latency_seconds_count{"
	    "endpoint=\"/api/v1/sagas/{sagaId}\",method=\"GET\","
	    "code=\"200\"}"), 2.0);
	cr_expect_eq(sample(text, "saga_tracker_api_latency_seconds_count{"
	    "endpoint=\"/api/v1/sagas/{sagaId}\",method=\"GET\","
	    "code=\"404\"}"), 1.0);
	cr_expect_eq(sample(text, "saga_tracker_api_latency_seconds_count{"
	    "endpoint=\"/api/v1/sagas/{sagaId}\",method=\"GET\","
	    "code=\"503\"}"), 1.0);
	cr_expect_eq(sample(text, "saga_tracker_api_latency_seconds_count{"
	    "endpoint=\"/api/v1/sagas/{sagaId}\",method=\"GET\","
	    "code=\"other\"}"), 3.0);
	cr_expect_eq(count_lines(text, "saga_tracker_api_latency_seconds_"
	    "count{"), 4);
	free(text);

	/* 3 codes are claimed: METRICS_CODES_MAX - 3 more, then "other". */
	for (i = 0; i < METRICS_CODES_MAX; i++)
		metrics_api_observe(route, "GET", 520 + i, 0.01);
	text = render();
	cr_expect_eq(count_lines(text, "saga_tracker_api_latency_seconds_"
	    "count{"), METRICS_CODES_MAX + 1);
	(void)snprintf(series, sizeof(series), "saga_tracker_api_latency_"
	    "seconds_count{endpoint=\"%s\",method=\"GET\",code=\"%d\"}",
	    route, 520 + METRICS_CODES_MAX - 4);
	cr_expect_eq(sample(text, series), 1.0, "%s", series);
	cr_expect_eq(sample(text, "saga_tracker_api_latency_seconds_count{"
	    "endpoint=\"/api/v1/sagas/{sagaId}\",method=\"GET\","
	    "code=\"other\"}"), 3.0 + 3.0);
	free(text);
}

static void
claim_steps(int ready, void *arg)
{
	char		step[16];
	int		i, start = *(int *)arg;

	(void)ready;
	for (i = 0; i < 50; i++) {
		snprintf(step, sizeof(step), "STEP_%02d", (start + i) % 50);
		metrics_event_processed(step, "STARTED");
	}
}

Test(metrics, concurrent_claims_make_one_series_per_value)
{
	struct gate	g;
	pid_t		pids[4];
	char		*text, series[96];
	int		i, start[4];

	setup(50, 8);
	gate_init(&g);
	for (i = 0; i < 4; i++) {
		start[i] = i * 13;
		pids[i] = spawn(&g, i + 1, claim_steps, &start[i]);
	}
	gate_open(&g);
	for (i = 0; i < 4; i++)
		reap(pids[i]);

	text = render();
	cr_expect_eq(count_lines(text, "saga_events_processed_total{"), 50);
	for (i = 0; i < 50; i++) {
		snprintf(series, sizeof(series), "saga_events_processed_total"
		    "{step=\"STEP_%02d\",status=\"STARTED\"}", i);
		cr_expect_eq(sample(text, series), 4.0, "%s", series);
	}
	free(text);
}

Test(metrics, label_values_are_escaped)
{
	char		*text;

	setup(8, 2);
	metrics_event_rejected("say \"hi\"\\now\nnext");
	metrics_db_observe("q\\1", 0.5);

	text = render();
	cr_expect_not_null(strstr(text, "\nsaga_events_rejected_total"
	    "{reason=\"say \\\"hi\\\"\\\\now\\nnext\"} 1\n"));
	cr_expect_not_null(strstr(text, "\nsaga_tracker_db_query_seconds_sum"
	    "{query=\"q\\\\1\"} 0.5\n"));
	free(text);
}

/* Buckets are cumulative in every series; returns the series count. */
static int
check_histograms(const char *text)
{
	const char	*p, *inf, *end;
	double		 prev, v;
	int		 n;

	n = 0;
	prev = 0;
	for (p = text; (p = strstr(p, "_bucket{")) != NULL; p++) {
		end = strchr(p, '}');
		v = strtod(end + 2, NULL);
		cr_assert_geq(v, prev, "buckets not cumulative near %.60s", p);
		prev = v;
		if ((inf = strstr(p, "le=\"+Inf\"")) == NULL || inf > end)
			continue;
		n++;
		prev = 0;
	}

	return (n);
}

static void
expect_inf_equals_count(const char *text, const char *name,
    const char *labels)
{
	char		inf[512], count[512];

	snprintf(inf, sizeof(inf), "%s_bucket{%s%sle=\"+Inf\"}", name,
	    labels, *labels ? "," : "");
	if (*labels)
		snprintf(count, sizeof(count), "%s_count{%s}", name, labels);
	else
		snprintf(count, sizeof(count), "%s_count", name);

	cr_expect(!isnan(sample(text, count)), "no %s", count);
	cr_expect_eq(sample(text, inf), sample(text, count), "%s", name);
}

Test(metrics, inf_bucket_equals_count)
{
	const double	obs[] = { 0.1, 0.5, 0.7, 42, 600, 601, 1e9, -3,
			    INFINITY };
	char		*text;
	size_t		 i;

	setup(8, 2);
	for (i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
		metrics_compensation_observe(obs[i]);
	metrics_compensation_observe(NAN);
	metrics_api_observe("/api/v1/sagas", "GET", 200, 0.0005);
	metrics_api_observe("/api/v1/sagas", "GET", 200, 20);
	metrics_db_observe("saga_list", 0.01);
	metrics_event_delay_observe(3);
	metrics_event_delay_observe(1e6);

	text = render();
	cr_expect_eq(check_histograms(text), 4);
	expect_inf_equals_count(text, "saga_tracker_event_delay_seconds", "");
	expect_inf_equals_count(text, "saga_compensation_duration_seconds",
	    "");
	expect_inf_equals_count(text, "saga_tracker_api_latency_seconds",
	    "endpoint=\"/api/v1/sagas\",method=\"GET\",code=\"200\"");
	expect_inf_equals_count(text, "saga_tracker_db_query_seconds",
	    "query=\"saga_list\"");
	cr_expect_eq(sample(text, "saga_compensation_duration_seconds_count"),
	    9.0);
	cr_expect_eq(sample(text, "saga_compensation_duration_seconds_bucket"
	    "{le=\"0.5\"}"), 3.0);
	cr_expect_eq(sample(text, "saga_compensation_duration_seconds_bucket"
	    "{le=\"600\"}"), 6.0);
	free(text);
}

Test(metrics, every_family_is_present_once)
{
	char		*text, line[128];
	const char	*statuses[] = { "STARTED", "IN_PROGRESS", "COMPLETED",
			    "FAILED", "COMPENSATING", "COMPENSATED" };
	int		 i;

	setup(8, 2);
	text = render();
	for (i = 0; i < METRICS_FAMILY_COUNT; i++) {
		snprintf(line, sizeof(line), "# HELP %s ", family_names[i]);
		cr_expect_eq(count_lines(text, line), 1, "%s", line);
		snprintf(line, sizeof(line), "# TYPE %s ", family_names[i]);
		cr_expect_eq(count_lines(text, line), 1, "%s", line);
	}
	for (i = 0; i < 6; i++) {
		snprintf(line, sizeof(line), "saga_active_total{status=\"%s\"}",
		    statuses[i]);
		cr_expect_eq(sample(text, line), 0.0, "%s", line);
	}
	cr_expect_eq(count_lines(text, "saga_active_total{"), 6);
	cr_expect_eq(sample(text, "saga_tracker_build_info"
	    "{version=\"1.4.0-test\"}"), 1.0);
	cr_expect_eq(text[strlen(text) - 1], '\n');
	free(text);
}

Test(metrics, gauges)
{
	struct metrics_series	s;
	char			*text;

	setup(8, 2);
	cr_expect_eq(metrics_active_set("FAILED", 7), 0);
	cr_expect_eq(metrics_active_set("BOGUS", 1), -1);
	metrics_saga_failed(1700000100);
	metrics_saga_failed(1700000000);	/* older: keeps the max */
	metrics_last_failed_raise(1600000000);
	metrics_pending_set(3, 42.25);
	metrics_consumer_lag_set(1500);
	cr_expect_eq(metrics_consumer_lag_partition_set(0, 1000), 0);
	cr_expect_eq(metrics_consumer_lag_partition_set(5, 500), 0);
	cr_expect_eq(metrics_consumer_lag_partition_set(2, 9), 0);
	metrics_consumer_lag_partition_clear(2);
	cr_expect_eq(metrics_consumer_lag_partition_set(
	    METRICS_PARTITIONS_MAX, 1), -1);

	cr_assert_eq(metrics_series_lookup(METRICS_LAST_FAILED, NULL, &s), 0);
	cr_expect_eq(metrics_gauge_value(s), 1700000100.0);

	text = render();
	cr_expect_eq(sample(text, "saga_active_total{status=\"FAILED\"}"), 7);
	cr_expect_eq(sample(text, "saga_failed_total"), 2.0);
	cr_expect_eq(sample(text, "saga_last_failed_timestamp"), 1700000100.0);
	cr_expect_eq(sample(text, "saga_compensation_pending"), 3.0);
	cr_expect_eq(sample(text, "saga_compensation_pending_oldest_seconds"),
	    42.25);
	cr_expect_eq(sample(text, "saga_tracker_consumer_lag"), 1500.0);
	cr_expect_eq(sample(text, "saga_tracker_consumer_lag"
	    "{partition=\"0\"}"), 1000.0);
	cr_expect_eq(sample(text, "saga_tracker_consumer_lag"
	    "{partition=\"5\"}"), 500.0);
	cr_expect_eq(count_lines(text, "saga_tracker_consumer_lag{"), 2);
	free(text);
}

/*
 * The ages count from the segment's creation until the first reading,
 * then from the reading; the other two are plain gauges.
 */
Test(metrics, staleness_gauges)
{
	struct timespec	 ts = { 0, 300 * 1000000L };	/* time to pass */
	char		*text;
	double		 lag_age, gauges_age;

	setup(8, 2);
	text = render();
	cr_expect_eq(count_lines(text, "saga_tracker_consumer_lag "), 0,
	    "a lag sample before any reading");
	free(text);
	metrics_consumer_partitions_set(3);
	metrics_db_up_set(1);
	(void)nanosleep(&ts, NULL);
	metrics_gauges_read();

	text = render();
	lag_age = sample(text, "saga_tracker_consumer_lag_age_seconds");
	gauges_age = sample(text, "saga_tracker_gauges_age_seconds");
	cr_expect_geq(lag_age, 0.3, "lag age %f", lag_age);
	cr_expect_lt(lag_age, 5.0, "lag age %f", lag_age);
	cr_expect_lt(gauges_age, 0.3, "gauges age %f", gauges_age);
	cr_expect_eq(sample(text, "saga_tracker_consumer_partitions"), 3.0);
	cr_expect_eq(sample(text, "saga_tracker_db_up"), 1.0);
	free(text);

	metrics_consumer_lag_read();
	metrics_db_up_set(0);
	text = render();
	cr_expect_lt(sample(text, "saga_tracker_consumer_lag_age_seconds"),
	    0.3);
	cr_expect_eq(sample(text, "saga_tracker_db_up"), 0.0);
	free(text);
}

Test(metrics, bad_params_and_lifecycle)
{
	struct metrics_params	p;
	struct metrics_series	s;
	const double		bad[] = { 1, 1 };
	char			err[256];
	size_t			len;

	/* Without a segment everything is a no-op. */
	metrics_saga_failed(1);
	metrics_event_processed("A", "STARTED");
	cr_expect_eq(metrics_series_lookup(METRICS_SAGA_FAILED, NULL, &s), -1);
	cr_expect_null(metrics_render(&len));
	cr_expect_eq(metrics_attach_stripe(1), -1);

	memset(&p, 0, sizeof(p));
	p.max_stripes = 2;
	p.version = "v";
	p.compensation_buckets = bad;
	p.compensation_bucket_count = 2;
	cr_expect_eq(metrics_segment_create(&p, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "compensation buckets"), "%s", err);

	p.compensation_bucket_count = 1;
	p.max_stripes = METRICS_STRIPES_MAX + 1;
	cr_expect_eq(metrics_segment_create(&p, err, sizeof(err)), -1);
	p.max_stripes = 2;
	p.max_step_labels = METRICS_STEPS_MAX + 1;
	cr_expect_eq(metrics_segment_create(&p, err, sizeof(err)), -1);
	p.max_step_labels = 4;
	p.version = NULL;
	cr_expect_eq(metrics_segment_create(&p, err, sizeof(err)), -1);

	p.version = "v";
	cr_assert_eq(metrics_segment_create(&p, err, sizeof(err)), 0, "%s",
	    err);
	cr_expect_eq(metrics_segment_create(&p, err, sizeof(err)), -1);
	cr_expect_eq(metrics_attach_stripe(2), -1);	/* falls back to 0 */
	metrics_saga_failed(1);
	cr_assert_eq(metrics_series_lookup(METRICS_SAGA_FAILED, NULL, &s), 0);
	cr_expect_eq(metrics_counter_value(s), 1);

	metrics_segment_destroy();
	metrics_saga_failed(1);
	cr_expect_null(metrics_render(&len));
}

/* Fixed inputs touching every family, for the golden file. */
static void
golden_inputs(void)
{
	const char	*statuses[] = { "STARTED", "IN_PROGRESS", "COMPLETED",
			    "FAILED", "COMPENSATING", "COMPENSATED" };
	int		 i;

	for (i = 0; i < 6; i++)
		metrics_active_set(statuses[i], 10 * i);
	metrics_saga_failed(1735689600);
	metrics_saga_failed(1735689660.25);
	metrics_saga_compensated();
	metrics_compensation_observe(1.5);
	metrics_compensation_observe(45);
	metrics_compensation_observe(900);
	metrics_event_processed("STOCK_RESERVE", "STARTED");
	metrics_event_processed("STOCK_RESERVE", "COMPLETED");
	metrics_event_processed("PAYMENT_INIT", "FAILED");
	metrics_event_processed("PAYMENT_INIT", "COMPENSATED");
	metrics_event_processed("SHIPPING", "STARTED");
	metrics_event_processed("NOTIFY", "STARTED");
	metrics_event_rejected("invalid_json");
	metrics_event_rejected("conflict");
	metrics_event_rejected("conflict");
	metrics_pending_set(1, 61.5);
	metrics_retention_deleted("saga_instance", 3);
	metrics_retention_deleted("saga_event", 12);
	metrics_event_delay_observe(0.2);
	metrics_event_delay_observe(45);
	metrics_consumer_lag_set(12);
	metrics_consumer_lag_partition_set(0, 5);
	metrics_consumer_lag_partition_set(1, 7);
	metrics_api_observe("/api/v1/sagas/{sagaId}", "GET", 200, 0.004);
	metrics_api_observe("/api/v1/sagas", "GET", 200, 0.0125);
	metrics_api_observe("/internal/v1/sagas/{sagaId}/status", "PATCH",
	    200, 0.25);
	metrics_api_observe("/api/v1/sagas/{sagaId}", "GET", 404, 0.002);
	metrics_api_observe("/api/v1/sagas", "GET", 503, 0.0012);
	metrics_db_observe("saga_get", 0.0008);
	metrics_db_observe("saga_get", 0.003);
}

Test(metrics, golden_exposition)
{
	FILE		*fp;
	char		*text, *want;

	setup(3, 2);
	golden_inputs();
	metrics_consumer_partitions_set(2);
	metrics_db_up_set(1);
	text = render();
	text = harness_mask_ages(text);

	/* Update mode rewrites the file and fails: nothing was compared. */
	if (getenv("METRICS_GOLDEN_UPDATE") != NULL) {
		cr_assert_not_null(fp = fopen(GOLDEN, "w"));
		fputs(text, fp);
		cr_assert_eq(fclose(fp), 0);
		cr_assert_fail("METRICS_GOLDEN_UPDATE: %s rewritten, not "
		    "compared; review its diff, then run without it", GOLDEN);
	}

	want = harness_read_file(GOLDEN, NULL);
	cr_assert_not_null(want, "%s: %s", GOLDEN, strerror(errno));
	cr_expect_str_eq(text, want);
	free(want);
	free(text);
}

/* Feed text to promtool; its combined output in *out, exit status. */
static int
promtool(const char *text, char *out, size_t outlen)
{
	FILE		*fp;
	char		 path[] = "/tmp/test_metrics.XXXXXX", cmd[128];
	size_t		 n;
	int		 fd, status;

	cr_assert_neq(fd = mkstemp(path), -1);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	snprintf(cmd, sizeof(cmd), "%s check metrics < %s 2>&1", PROMTOOL,
	    path);
	cr_assert_not_null(fp = popen(cmd, "r"));
	n = fread(out, 1, outlen - 1, fp);
	out[n] = '\0';
	status = pclose(fp);
	unlink(path);

	cr_assert(WIFEXITED(status), "promtool did not exit");
	return (WEXITSTATUS(status));
}

static void
mixed_work(int ready, void *arg)
{
	char		step[16];
	int		i;

	(void)ready;
	(void)arg;
	for (i = 0; i < 1000; i++) {
		snprintf(step, sizeof(step), "STEP_%d", i % 12);
		metrics_event_processed(step, i % 3 ? "COMPLETED" : "FAILED");
		metrics_api_observe("/api/v1/sagas", i % 2 ? "GET" : "HEAD",
		    i % 7 ? 200 : 503, i / 1000.0);
		if (i % 50 == 0)
			metrics_saga_failed(1735689600 + i);
	}
}

Test(metrics, promtool_accepts_live_segment)
{
	struct gate	g;
	pid_t		pids[2];
	char		*text, out[4096];
	int		i, rc;

	setup(8, 4);
	golden_inputs();
	metrics_event_rejected("quote \" backslash \\ newline \n end");
	metrics_event_rejected("utf-8 \xc3\xa9t\xc3\xa9");
	gate_init(&g);
	for (i = 0; i < 2; i++)
		pids[i] = spawn(&g, i + 1, mixed_work, NULL);
	gate_open(&g);
	for (i = 0; i < 2; i++)
		reap(pids[i]);

	text = render();
	rc = promtool(text, out, sizeof(out));
	/* Only the lint the SPEC's gauge name forces is tolerated. */
	if (rc != 0) {
		cr_expect_eq(rc, 3, "promtool exit %d: %s", rc, out);
		cr_expect_str_eq(out, LINT_ACCEPTED "\n");
	} else
		cr_expect_str_eq(out, "");
	free(text);
}

/*
 * An SLO threshold becomes a bound of its histogram, in order, unless
 * it is one already: the burn-rate rules read that bucket's le.
 */
Test(metrics, slo_thresholds_are_bucket_bounds)
{
	struct metrics_params	p;
	char			err[256], *text;

	memset(&p, 0, sizeof(p));
	p.max_step_labels = 8;
	p.max_stripes = 2;
	p.version = "1.4.0-test";
	p.compensation_buckets = comp_buckets;
	p.compensation_bucket_count = sizeof(comp_buckets) /
	    sizeof(comp_buckets[0]);
	p.api_slo_bound = 0.2;
	p.delay_slo_bound = 30;
	cr_assert_eq(metrics_segment_create(&p, err, sizeof(err)), 0, "%s",
	    err);
	metrics_api_observe("/api/v1/sagas", "GET", 200, 0.15);
	metrics_api_observe("/api/v1/sagas", "GET", 200, 0.22);
	metrics_event_delay_observe(29);

	text = render();
	cr_expect_eq(sample(text, "saga_tracker_api_latency_seconds_bucket{"
	    "endpoint=\"/api/v1/sagas\",method=\"GET\",code=\"200\","
	    "le=\"0.2\"}"), 1.0);
	cr_expect_eq(sample(text, "saga_tracker_api_latency_seconds_bucket{"
	    "endpoint=\"/api/v1/sagas\",method=\"GET\",code=\"200\","
	    "le=\"0.25\"}"), 2.0);
	cr_expect_eq(count_lines(text, "saga_tracker_event_delay_seconds_"
	    "bucket{le=\"30\"}"), 1, "30 is a default bound: not twice");
	cr_expect_eq(sample(text, "saga_tracker_event_delay_seconds_bucket{"
	    "le=\"30\"}"), 1.0);
	/* Compensation, the API series, the delay: cumulative, +Inf last. */
	cr_expect_eq(check_histograms(text), 3);
	free(text);
}
