/*
 * Unit tests for src/config.c and the modules it loads with:
 * src/duration.c, src/yamlfile.c, src/yamlwalk.c, src/yamlvalue.c,
 * src/namecheck.c (SPEC §4).  Run from the repository root:
 *
 *   cc -std=gnu11 -Wall -Wextra -Werror -g -Isrc -o /tmp/test_config \
 *       tests/test_config.c src/config.c src/duration.c src/yamlfile.c \
 *       src/yamlwalk.c src/yamlvalue.c src/namecheck.c src/xalloc.c \
 *       -lcriterion -lyaml -lm
 *   /tmp/test_config
 */

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <yaml.h>

#include "config.h"
#include "duration.h"

#define FIXTURES	"tests/data/config/"

static void	expect_error(const char *, const char *);
static void	expect_load(struct config *, const char *);
static void	assert_route(const struct config_route *, const char *,
		    const char *);
static void	assert_alert_eq(const struct config_alert *,
		    const struct config_alert *, const char *);
static void	assert_config_eq(const struct config *,
		    const struct config *);

static void
expect_error(const char *name, const char *expected)
{
	struct config	cfg;
	char		path[256], want[CONFIG_ERR_MAX];
	char		err[CONFIG_ERR_MAX];
	int		rc;

	(void)snprintf(path, sizeof(path), FIXTURES "%s", name);
	(void)snprintf(want, sizeof(want), "%s%s", path, expected);

	config_defaults(&cfg);
	err[0] = '\0';
	rc = config_load(&cfg, path, err, sizeof(err));
	cr_assert_eq(rc, -1, "%s: loaded but should fail with \"%s\"", path,
	    want);
	cr_assert_str_eq(err, want);
}

static void
expect_load(struct config *cfg, const char *path)
{
	char		err[CONFIG_ERR_MAX];
	int		rc;

	err[0] = '\0';
	rc = config_load(cfg, path, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s: %s", path, err);
	cr_assert_str_eq(cfg->path, path);
}

static void
assert_route(const struct config_route *route, const char *first,
    const char *second)
{
	cr_assert_eq(route->count, second == NULL ? 1u : 2u);
	cr_assert_str_eq(route->receivers[0], first);
	if (second != NULL)
		cr_assert_str_eq(route->receivers[1], second);
}

static void
assert_alert_eq(const struct config_alert *a, const struct config_alert *b,
    const char *name)
{
	cr_assert_eq(a->threshold, b->threshold, "%s.threshold", name);
	cr_assert_eq(a->window_sec, b->window_sec, "%s.window", name);
	cr_assert_eq(a->after_sec, b->after_sec, "%s.after", name);
	cr_assert_eq(a->for_sec, b->for_sec, "%s.for", name);
	cr_assert_eq(a->severity, b->severity, "%s.severity", name);
}

/* Every field but path. */
static void
assert_config_eq(const struct config *a, const struct config *b)
{
	size_t		i, j;

	cr_assert_str_eq(a->kafka.brokers, b->kafka.brokers);
	cr_assert_str_eq(a->kafka.topic, b->kafka.topic);
	cr_assert_str_eq(a->kafka.group, b->kafka.group);
	cr_assert_eq(a->kafka.static_membership, b->kafka.static_membership);
	cr_assert_eq(a->kafka.stuck_after_sec, b->kafka.stuck_after_sec);
	cr_assert_str_eq(a->postgres.dsn_env, b->postgres.dsn_env);

	cr_assert_eq(a->metrics.max_step_labels, b->metrics.max_step_labels);
	cr_assert_eq(a->metrics.bucket_count, b->metrics.bucket_count);
	for (i = 0; i < a->metrics.bucket_count; i++) {
		cr_assert_eq(a->metrics.compensation_buckets[i],
		    b->metrics.compensation_buckets[i], "bucket %zu", i);
	}

	assert_alert_eq(&a->alerts.failure_spike, &b->alerts.failure_spike,
	    "failure_spike");
	assert_alert_eq(&a->alerts.compensation_timeout,
	    &b->alerts.compensation_timeout, "compensation_timeout");
	assert_alert_eq(&a->alerts.consumer_lag, &b->alerts.consumer_lag,
	    "consumer_lag");
	assert_alert_eq(&a->alerts.service_down, &b->alerts.service_down,
	    "service_down");
	assert_alert_eq(&a->alerts.database_down, &b->alerts.database_down,
	    "database_down");
	assert_alert_eq(&a->alerts.gauges_stale, &b->alerts.gauges_stale,
	    "gauges_stale");
	assert_alert_eq(&a->alerts.consumer_stalled,
	    &b->alerts.consumer_stalled, "consumer_stalled");
	assert_alert_eq(&a->alerts.lag_stale, &b->alerts.lag_stale,
	    "lag_stale");
	assert_alert_eq(&a->alerts.rejected_events,
	    &b->alerts.rejected_events, "rejected_events");

	cr_assert_eq(a->workers.batch_scheduling, b->workers.batch_scheduling);
	cr_assert_eq(a->retention.terminal_sec, b->retention.terminal_sec);
	cr_assert_eq(a->retention.rejected_sec, b->retention.rejected_sec);

	for (i = 0; i < SEVERITY_COUNT; i++) {
		cr_assert_eq(a->routing[i].count, b->routing[i].count);
		for (j = 0; j < a->routing[i].count; j++) {
			cr_assert_str_eq(a->routing[i].receivers[j],
			    b->routing[i].receivers[j]);
		}
	}

	cr_assert_str_eq(a->monitoring.namespace, b->monitoring.namespace);
	cr_assert_str_eq(a->monitoring.service_namespace,
	    b->monitoring.service_namespace);
	cr_assert_str_eq(a->monitoring.job, b->monitoring.job);
	cr_assert_str_eq(a->monitoring.runbook_base_url,
	    b->monitoring.runbook_base_url);
	cr_assert_str_eq(a->monitoring.service_monitor_namespace,
	    b->monitoring.service_monitor_namespace);
	cr_assert_str_eq(a->monitoring.cluster_label,
	    b->monitoring.cluster_label);
	cr_assert_eq(a->monitoring.labels.count, b->monitoring.labels.count);
	for (i = 0; i < a->monitoring.labels.count; i++) {
		cr_assert_str_eq(a->monitoring.labels.names[i],
		    b->monitoring.labels.names[i]);
		cr_assert_str_eq(a->monitoring.labels.values[i],
		    b->monitoring.labels.values[i]);
	}

	cr_assert(memcmp(&a->slo, &b->slo, sizeof(a->slo)) == 0, "slo");
}

Test(defaults, match_spec)
{
	static const double	buckets[] = {
		0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600
	};
	struct config		cfg;
	size_t			i;

	memset(&cfg, 0xa5, sizeof(cfg));
	config_defaults(&cfg);

	cr_assert_str_eq(cfg.kafka.brokers, "");
	cr_assert_str_eq(cfg.kafka.topic, "saga.events");
	cr_assert_str_eq(cfg.kafka.group, "saga-tracker-service");
	cr_assert_eq(cfg.kafka.static_membership, 1);
	cr_assert_eq(cfg.kafka.stuck_after_sec, 30u);
	cr_assert_str_eq(cfg.postgres.dsn_env, "SAGA_TRACKER_DB_DSN");

	cr_assert_eq(cfg.metrics.max_step_labels, 64u);
	cr_assert_eq(cfg.metrics.lag_per_partition, 0);
	cr_assert_eq(cfg.workers.batch_scheduling, 1);
	cr_assert_eq(cfg.retention.terminal_sec, 30u * 86400);
	cr_assert_eq(cfg.retention.rejected_sec, 14u * 86400);
	cr_assert_eq(cfg.metrics.bucket_count, 10u);
	for (i = 0; i < 10; i++)
		cr_assert_eq(cfg.metrics.compensation_buckets[i], buckets[i]);

	cr_assert_eq(cfg.alerts.failure_spike.threshold, 10.0);
	cr_assert_eq(cfg.alerts.failure_spike.window_sec, 300u);
	cr_assert_eq(cfg.alerts.failure_spike.for_sec, 120u);
	cr_assert_eq(cfg.alerts.failure_spike.severity, SEVERITY_WARNING);

	cr_assert_eq(cfg.alerts.compensation_timeout.after_sec, 300u);
	cr_assert_eq(cfg.alerts.compensation_timeout.for_sec, 300u);
	cr_assert_eq(cfg.alerts.compensation_timeout.severity,
	    SEVERITY_CRITICAL);

	cr_assert_eq(cfg.alerts.consumer_lag.threshold, 1000.0);
	cr_assert_eq(cfg.alerts.consumer_lag.for_sec, 600u);
	cr_assert_eq(cfg.alerts.consumer_lag.severity, SEVERITY_WARNING);

	cr_assert_eq(cfg.alerts.service_down.for_sec, 60u);
	cr_assert_eq(cfg.alerts.service_down.severity, SEVERITY_CRITICAL);

	assert_route(&cfg.routing[SEVERITY_CRITICAL], "pagerduty", "slack");
	assert_route(&cfg.routing[SEVERITY_WARNING], "slack", NULL);
	assert_route(&cfg.routing[SEVERITY_INFO], "slack", NULL);

	cr_assert_str_eq(cfg.monitoring.namespace, "monitoring");
	cr_assert_str_eq(cfg.monitoring.service_namespace, "ecommerce");
	cr_assert_str_eq(cfg.monitoring.job, "saga-tracker-api");
	cr_assert_str_eq(cfg.monitoring.runbook_base_url,
	    "https://github.com/example/saga-tracker/blob/main/runbooks");
	cr_assert_str_eq(cfg.path, "");
}

/* SPEC §5 and issue 15. */
Test(defaults, monitoring_second_round)
{
	struct config		cfg;

	memset(&cfg, 0xa5, sizeof(cfg));
	config_defaults(&cfg);

	cr_assert_str_eq(cfg.monitoring.service_monitor_namespace,
	    "ecommerce");
	cr_assert_eq(cfg.monitoring.labels.count, 1u);
	cr_assert_str_eq(cfg.monitoring.labels.names[0], "release");
	cr_assert_str_eq(cfg.monitoring.labels.values[0], "prometheus");
	cr_assert_str_eq(cfg.monitoring.cluster_label, "");

	cr_assert_eq(cfg.slo.api_availability.objective, 99.9);
	cr_assert_eq(cfg.slo.api_latency.objective, 99.0);
	cr_assert_eq(cfg.slo.api_latency.threshold_sec, 0.25);
	cr_assert_eq(cfg.slo.event_freshness.objective, 99.0);
	cr_assert_eq(cfg.slo.event_freshness.threshold_sec, 30.0);

	cr_assert_eq(cfg.alerts.database_down.for_sec, 60u);
	cr_assert_eq(cfg.alerts.database_down.severity, SEVERITY_CRITICAL);
	cr_assert_eq(cfg.alerts.gauges_stale.after_sec, 60u);
	cr_assert_eq(cfg.alerts.gauges_stale.for_sec, 120u);
	cr_assert_eq(cfg.alerts.gauges_stale.severity, SEVERITY_WARNING);
	cr_assert_eq(cfg.alerts.consumer_stalled.after_sec, 300u);
	cr_assert_eq(cfg.alerts.consumer_stalled.for_sec, 300u);
	cr_assert_eq(cfg.alerts.consumer_stalled.severity, SEVERITY_WARNING);
	cr_assert_eq(cfg.alerts.lag_stale.after_sec, 120u);
	cr_assert_eq(cfg.alerts.lag_stale.for_sec, 180u);
	cr_assert_eq(cfg.alerts.lag_stale.severity, SEVERITY_WARNING);
	cr_assert_eq(cfg.alerts.rejected_events.window_sec, 900u);
	cr_assert_eq(cfg.alerts.rejected_events.for_sec, 0u);
	cr_assert_eq(cfg.alerts.rejected_events.severity, SEVERITY_INFO);
}

Test(defaults, severity_names)
{
	cr_assert_str_eq(config_severity_name(SEVERITY_INFO), "info");
	cr_assert_str_eq(config_severity_name(SEVERITY_WARNING), "warning");
	cr_assert_str_eq(config_severity_name(SEVERITY_CRITICAL), "critical");
	cr_assert_str_eq(config_severity_name(SEVERITY_COUNT), "unknown");
}

Test(load, shipped_file_equals_defaults)
{
	struct config	cfg, def;

	config_defaults(&def);
	expect_load(&cfg, "conf/saga-tracker.yaml");
	assert_config_eq(&cfg, &def);
}

Test(load, empty_files_keep_defaults)
{
	static const char	*names[] = {
		FIXTURES "empty.yaml",
		FIXTURES "comments_only.yaml",
		FIXTURES "null_sections.yaml",
	};
	struct config		cfg, def;
	size_t			i;

	config_defaults(&def);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		expect_load(&cfg, names[i]);
		assert_config_eq(&cfg, &def);
	}
}

Test(load, overrides_apply)
{
	struct config	cfg, def;

	config_defaults(&def);
	expect_load(&cfg, FIXTURES "overrides.yaml");

	cr_assert_str_eq(cfg.kafka.brokers, "kafka-0:9092,kafka-1:9092");
	cr_assert_str_eq(cfg.kafka.topic, "orders.saga-events_v2");
	cr_assert_str_eq(cfg.kafka.group, def.kafka.group);
	cr_assert_str_eq(cfg.postgres.dsn_env, def.postgres.dsn_env);

	cr_assert_eq(cfg.metrics.max_step_labels, 1024u);
	cr_assert_eq(cfg.metrics.bucket_count, 3u);
	cr_assert_eq(cfg.metrics.compensation_buckets[0], 0.1);
	cr_assert_eq(cfg.metrics.compensation_buckets[1], 10.0);
	cr_assert_eq(cfg.metrics.compensation_buckets[2], 100.0);
	cr_assert_eq(cfg.metrics.lag_per_partition, 1);
	cr_assert_eq(cfg.workers.batch_scheduling, 0);
	cr_assert_eq(cfg.retention.terminal_sec, 0u);
	cr_assert_eq(cfg.retention.rejected_sec, 36u * 3600);

	cr_assert_eq(cfg.alerts.failure_spike.threshold, 2.5);
	cr_assert_eq(cfg.alerts.failure_spike.window_sec, 5400u);
	cr_assert_eq(cfg.alerts.failure_spike.for_sec, 0u);
	cr_assert_eq(cfg.alerts.failure_spike.severity, SEVERITY_CRITICAL);
	cr_assert_eq(cfg.alerts.consumer_lag.threshold, 50000.0);
	cr_assert_eq(cfg.alerts.consumer_lag.for_sec, 600u);
	cr_assert_eq(cfg.alerts.service_down.for_sec, 60u);
	cr_assert_eq(cfg.alerts.service_down.severity, SEVERITY_INFO);
	assert_alert_eq(&cfg.alerts.compensation_timeout,
	    &def.alerts.compensation_timeout, "compensation_timeout");

	assert_route(&cfg.routing[SEVERITY_CRITICAL], "pagerduty", "slack");
	assert_route(&cfg.routing[SEVERITY_WARNING], "slack", NULL);
	assert_route(&cfg.routing[SEVERITY_INFO], "email-team", "slack.ops");

	cr_assert_str_eq(cfg.monitoring.namespace, "monitoring");
	cr_assert_str_eq(cfg.monitoring.job, "Saga.Tracker_api");
	cr_assert_str_eq(cfg.monitoring.runbook_base_url,
	    "https://runbooks.example.com/saga");
	cr_assert_str_eq(cfg.monitoring.service_monitor_namespace,
	    "observability");
	cr_assert_eq(cfg.monitoring.labels.count, 2u);
	cr_assert_str_eq(cfg.monitoring.labels.names[0], "release");
	cr_assert_str_eq(cfg.monitoring.labels.values[0],
	    "kube-prometheus-stack");
	cr_assert_str_eq(cfg.monitoring.labels.names[1], "example.com/team");
	cr_assert_str_eq(cfg.monitoring.labels.values[1], "payments");
	cr_assert_str_eq(cfg.monitoring.cluster_label, "k8s_cluster");

	cr_assert_eq(cfg.alerts.lag_stale.after_sec, 90u);
	cr_assert_eq(cfg.alerts.lag_stale.for_sec,
	    def.alerts.lag_stale.for_sec);
	cr_assert_eq(cfg.alerts.rejected_events.window_sec, 3600u);
	cr_assert_eq(cfg.alerts.rejected_events.severity, SEVERITY_WARNING);

	cr_assert_eq(cfg.slo.api_availability.objective, 99.9);
	cr_assert_eq(cfg.slo.api_latency.objective, 99.5);
	cr_assert_eq(cfg.slo.api_latency.threshold_sec, 0.5);
	cr_assert_eq(cfg.slo.event_freshness.objective, 99.0);
	cr_assert_eq(cfg.slo.event_freshness.threshold_sec, 120.0);
}

Test(load, empty_labels_mean_none)
{
	struct config	cfg;
	FILE		*fp;
	char		 path[] = "/tmp/test_config_labels.XXXXXX";
	int		 fd;

	fd = mkstemp(path);
	cr_assert_neq(fd, -1);
	fp = fdopen(fd, "w");
	fprintf(fp, "monitoring:\n  labels: {}\n");
	cr_assert_eq(fclose(fp), 0);
	expect_load(&cfg, path);
	(void)unlink(path);
	cr_assert_eq(cfg.monitoring.labels.count, 0u);
}

Test(errors, monitoring_second_round)
{
	expect_error("err_label_name.yaml", ":4:5: monitoring.labels.-bad: "
	    "bad label name '-bad': must be [prefix/]name, the name 1..63 "
	    "characters of [A-Za-z0-9._-] starting and ending with a letter "
	    "or digit");
	expect_error("err_label_value.yaml", ":3:11: monitoring.labels.team: "
	    "bad value 'a b': must be a Kubernetes label value: 1..63 "
	    "characters of [A-Za-z0-9._-], starting and ending with a letter "
	    "or digit");
	expect_error("err_label_reserved.yaml", ":3:5: monitoring.labels."
	    "app.kubernetes.io/name: bad label name 'app.kubernetes.io/name': "
	    "set by the generator itself");
	expect_error("err_labels_list.yaml", ":2:11: monitoring.labels: "
	    "expected a mapping of label names to values, got a list");
	expect_error("err_objective.yaml", ":3:16: slo.api_availability."
	    "objective: must be a percentage greater than 0 and less than "
	    "100, got 100");
	expect_error("err_latency.yaml", ":3:16: slo.api_latency.threshold: "
	    "bad latency '250' (use e.g. 250ms, 0.5s, 30s, 2m; greater than "
	    "0)");
	expect_error("err_stale_after_zero.yaml", ":3:12: alerts.gauges_stale."
	    "after: must be at least 1s, got '0s'");
	expect_error("err_cluster_label.yaml", ":2:18: monitoring."
	    "cluster_label: bad value 'job': is a label the alerts already "
	    "use");
}

Test(load, aliases_resolve)
{
	struct config	cfg;

	expect_load(&cfg, FIXTURES "aliases.yaml");
	assert_route(&cfg.routing[SEVERITY_CRITICAL], "pagerduty", "opsgenie");
	assert_route(&cfg.routing[SEVERITY_WARNING], "pagerduty", "opsgenie");
	assert_route(&cfg.routing[SEVERITY_INFO], "slack", NULL);
}

Test(load, failure_leaves_config_untouched)
{
	struct config	cfg, def;
	char		err[CONFIG_ERR_MAX];

	config_defaults(&cfg);
	(void)snprintf(cfg.kafka.topic, sizeof(cfg.kafka.topic), "mine");
	cr_assert_eq(config_load(&cfg, FIXTURES "err_severity.yaml", err,
	    sizeof(err)), -1);
	cr_assert_str_eq(cfg.kafka.topic, "mine");

	/* Reusing a loaded config: a second load starts from defaults. */
	config_defaults(&def);
	expect_load(&cfg, FIXTURES "overrides.yaml");
	expect_load(&cfg, FIXTURES "empty.yaml");
	assert_config_eq(&cfg, &def);
}

Test(load, small_error_buffer)
{
	struct config	cfg;
	char		err[16];

	memset(err, 'x', sizeof(err));
	cr_assert_eq(config_load(&cfg, FIXTURES "err_unknown_key.yaml", err,
	    sizeof(err)), -1);
	cr_assert_eq(strlen(err), sizeof(err) - 1);
	cr_assert_eq(config_load(&cfg, FIXTURES "err_unknown_key.yaml", NULL,
	    0), -1);
}

Test(errors, file)
{
	expect_error("missing.yaml",
	    ": cannot open: No such file or directory");
	expect_error("", ": cannot open: Is a directory");
}

Test(errors, syntax)
{
	expect_error("err_syntax.yaml", ":3:9: syntax error: did not find "
	    "expected ',' or ']' (while parsing a flow sequence at 2:10)");
	expect_error("err_syntax_indent.yaml", ":3:2: syntax error: did not "
	    "find expected key (while parsing a block mapping at 1:1)");
	expect_error("err_tab.yaml", ":2:1: syntax error: found character "
	    "that cannot start any token (while scanning for the next token "
	    "at 2:1)");
	expect_error("err_utf8.yaml",
	    ":2:15: syntax error: invalid trailing UTF-8 octet");
	expect_error("err_two_docs.yaml",
	    ":2:1: only one YAML document is allowed");
}

Test(errors, unknown_keys)
{
	expect_error("err_unknown_key.yaml", ":3:3: kafka.bogus: unknown key "
	    "(expected one of: brokers, topic, group, static_membership, "
	    "stuck_after)");
	expect_error("err_unknown_section.yaml", ":2:1: secrets: unknown key "
	    "(expected one of: kafka, postgres, metrics, workers, retention, "
	    "alerts, routing, monitoring, slo)");
	expect_error("err_unknown_alert_key.yaml", ":4:5: "
	    "alerts.service_down.threshold: unknown key (expected one of: "
	    "for, severity)");
	expect_error("err_unknown_alert.yaml", ":2:3: alerts.disk_full: "
	    "unknown key (expected one of: failure_spike, "
	    "compensation_timeout, consumer_lag, service_down, database_down, "
	    "gauges_stale, consumer_stalled, lag_stale, rejected_events)");
	expect_error("err_complex_key.yaml",
	    ":2:3: kafka: keys must be strings, got a list");
}

Test(errors, duplicate_keys)
{
	expect_error("err_duplicate.yaml", ":5:1: kafka: duplicate key");
	expect_error("err_duplicate_nested.yaml",
	    ":2:28: alerts.failure_spike.for: duplicate key");
}

Test(errors, wrong_types)
{
	expect_error("err_mapping_for_scalar.yaml",
	    ":3:5: kafka.topic: expected a string, got a mapping");
	expect_error("err_list_for_mapping.yaml",
	    ":2:18: alerts.failure_spike: expected a mapping, got a list");
	expect_error("err_scalar_for_section.yaml", ":1:11: postgres: "
	    "expected a mapping, got 'SAGA_TRACKER_DB_DSN'");
	expect_error("err_top_list.yaml",
	    ":1:1: expected a mapping, got a list");
	expect_error("err_missing_value.yaml",
	    ":2:9: kafka.topic: missing value (expected a string)");
	expect_error("err_threshold_nan.yaml", ":3:16: "
	    "alerts.consumer_lag.threshold: expected a number, got 'lots'");
	expect_error("err_threshold_quoted.yaml", ":3:16: "
	    "alerts.consumer_lag.threshold: expected a number, got the "
	    "quoted string '1000'");
	expect_error("err_step_labels_float.yaml", ":2:20: "
	    "metrics.max_step_labels: expected an integer, got '6.5'");
	expect_error("err_buckets_scalar.yaml", ":2:25: "
	    "metrics.compensation_buckets: expected a list, got '5'");
	expect_error("err_buckets_inf.yaml", ":2:29: "
	    "metrics.compensation_buckets[1]: expected a number, got '.inf'");
	expect_error("err_bool_yes.yaml", ":2:22: "
	    "metrics.lag_per_partition: expected true or false, got 'yes'");
	expect_error("err_batch_scheduling.yaml", ":2:21: "
	    "workers.batch_scheduling: expected true or false, got 'batch'");
	expect_error("err_retention.yaml", ":3:13: "
	    "retention.rejected: bad duration '14' (use e.g. 30s, 5m, 1h)");
}

Test(errors, numbers_out_of_range)
{
	expect_error("err_threshold_negative.yaml", ":4:16: "
	    "alerts.failure_spike.threshold: must be greater than 0, got -3");
	expect_error("err_threshold_inf.yaml", ":3:16: "
	    "alerts.consumer_lag.threshold: number out of range, got 1e999");
	expect_error("err_step_labels_zero.yaml", ":2:20: "
	    "metrics.max_step_labels: must be between 1 and 1024, got 0");
	expect_error("err_step_labels_big.yaml", ":2:20: "
	    "metrics.max_step_labels: must be between 1 and 1024, got "
	    "99999999999999999999999");
}

Test(errors, buckets)
{
	expect_error("err_buckets_order.yaml", ":2:32: "
	    "metrics.compensation_buckets[2]: must be greater than the "
	    "previous bucket (2), got 2");
	expect_error("err_buckets_empty.yaml", ":2:25: "
	    "metrics.compensation_buckets: must have 1 to 32 entries, got 0");
	expect_error("err_buckets_many.yaml", ":3:5: "
	    "metrics.compensation_buckets: must have 1 to 32 entries, got 33");
	expect_error("err_buckets_zero.yaml", ":3:7: "
	    "metrics.compensation_buckets[0]: must be greater than 0, got 0");
}

Test(errors, routing)
{
	expect_error("err_receivers_empty.yaml", ":2:13: routing.critical: "
	    "must have 1 to 8 receivers, got 0");
	expect_error("err_receivers_many.yaml", ":2:12: routing.warning: "
	    "must have 1 to 8 receivers, got 9");
	expect_error("err_receiver_dup.yaml",
	    ":4:7: routing.warning[1]: duplicate receiver 'slack'");
	expect_error("err_receiver_name.yaml", ":2:10: routing.info[0]: "
	    "bad value 'team chat': receiver names are 1..255 letters, "
	    "digits, '.', '_' or '-'");
}

Test(errors, severity)
{
	expect_error("err_severity.yaml", ":3:15: "
	    "alerts.failure_spike.severity: must be one of critical, "
	    "warning, info, got 'high'");
}

Test(errors, durations)
{
	expect_error("err_duration.yaml", ":3:10: alerts.failure_spike.for: "
	    "bad duration '5x' (use e.g. 30s, 5m, 1h)");
	expect_error("err_duration_bare.yaml", ":3:10: "
	    "alerts.consumer_lag.for: bad duration '300' (use e.g. 30s, 5m, "
	    "1h)");
	expect_error("err_window_zero.yaml", ":3:13: "
	    "alerts.failure_spike.window: must be at least 1s, got '0s'");
	expect_error("err_after_zero.yaml", ":2:33: "
	    "alerts.compensation_timeout.after: must be at least 1s, got '0m'");
}

Test(errors, strings)
{
	expect_error("err_too_long.yaml",
	    ":2:12: kafka.brokers: too long (256 bytes, at most 255)");
	expect_error("err_control.yaml", ":2:10: kafka.group: bad value "
	    "'saga?tracker': must not contain control characters");
	expect_error("err_nul.yaml", ":2:10: kafka.group: bad value: must "
	    "not contain NUL bytes");
	expect_error("err_group_empty.yaml",
	    ":2:10: kafka.group: bad value '': must not be empty");
	expect_error("err_brokers.yaml", ":2:12: kafka.brokers: bad value "
	    "'kafka-0:9092,,kafka-1:9092': must be a comma-separated list of "
	    "host:port with no spaces or empty entries (\"\" for the local "
	    "broker)");
	expect_error("err_topic.yaml", ":2:10: kafka.topic: bad value "
	    "'saga events': must be a Kafka topic name: 1..249 characters of "
	    "[A-Za-z0-9._-], not '.' or '..'");
	expect_error("err_topic_dots.yaml", ":2:10: kafka.topic: bad value "
	    "'..': must be a Kafka topic name: 1..249 characters of "
	    "[A-Za-z0-9._-], not '.' or '..'");
	expect_error("err_dsn_env.yaml", ":2:12: postgres.dsn_env: bad value "
	    "'postgres://saga:secret@db/saga': must be the name of an "
	    "environment variable ([A-Z_][A-Z0-9_]*)");
	expect_error("err_namespace.yaml", ":2:14: monitoring.namespace: bad "
	    "value 'Monitoring': must be a Kubernetes DNS label: 1..63 "
	    "characters of [a-z0-9-], starting and ending with a letter or "
	    "digit");
	expect_error("err_job.yaml", ":2:8: monitoring.job: bad value "
	    "'-saga': must be a Kubernetes label value: 1..63 characters of "
	    "[A-Za-z0-9._-], starting and ending with a letter or digit");
	expect_error("err_url.yaml", ":2:21: monitoring.runbook_base_url: bad "
	    "value 'ftp://example.com/runbooks': must be an http:// or "
	    "https:// URL with a host and no spaces or quotes");
}

Test(duration, parse_accepts)
{
	static const struct {
		const char	*text;
		unsigned int	 seconds;
	} cases[] = {
		{ "0",		0 },
		{ "0s",		0 },
		{ "0m",		0 },
		{ "1s",		1 },
		{ "30s",	30 },
		{ "90s",	90 },
		{ "5m",		300 },
		{ "1h",		3600 },
		{ "1d",		86400 },
		{ "1h30m",	5400 },
		{ "1d2h3m4s",	93784 },
		{ "1h0m",	3600 },
		{ "05m",	300 },
		{ "4294967295s", UINT_MAX },
		{ "49710d6h28m15s", UINT_MAX },
	};
	unsigned int	secs;
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		secs = 12345;
		cr_assert_eq(duration_parse(cases[i].text, &secs), 0,
		    "'%s' rejected", cases[i].text);
		cr_assert_eq(secs, cases[i].seconds, "'%s' -> %u",
		    cases[i].text, secs);
	}
}

Test(duration, parse_rejects)
{
	static const char	*bad[] = {
		"", "5", "00", "0s0", "5x", "x", "m", "s5",
		"1w", "1y", "5ms", "1.5h",
		"-5m", "+5m", " 5m", "5m ", "5 m", "1h1h", "30m1h", "1s1m",
		"4294967296s", "49711d", "99999999999999999999s",
		"49710d6h28m16s",
	};
	unsigned int		secs;
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		secs = 777;
		cr_assert_eq(duration_parse(bad[i], &secs), -1,
		    "'%s' accepted", bad[i]);
		cr_assert_eq(secs, 777u, "'%s' touched output", bad[i]);
	}
	cr_assert_eq(duration_parse(NULL, &secs), -1);
}

Test(duration, format)
{
	static const struct {
		unsigned int	 seconds;
		const char	*text;
	} cases[] = {
		{ 0,		"0s" },
		{ 1,		"1s" },
		{ 45,		"45s" },
		{ 60,		"1m" },
		{ 90,		"1m30s" },
		{ 120,		"2m" },
		{ 3600,		"1h" },
		{ 3601,		"1h1s" },
		{ 5400,		"1h30m" },
		{ 86400,	"1d" },
		{ 90061,	"1d1h1m1s" },
		{ UINT_MAX,	"49710d6h28m15s" },
	};
	char		buf[32];
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		duration_format(cases[i].seconds, buf, sizeof(buf));
		cr_assert_str_eq(buf, cases[i].text);
	}
}

Test(duration, round_trip)
{
	unsigned int	secs, back;
	char		buf[32];

	for (secs = 0; secs < 200000; secs += 7) {
		duration_format(secs, buf, sizeof(buf));
		cr_assert_eq(duration_parse(buf, &back), 0, "%s", buf);
		cr_assert_eq(back, secs, "%u -> %s -> %u", secs, buf, back);
	}

	cr_assert_eq(duration_parse("90s", &back), 0);
	duration_format(back, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1m30s");
}

Test(duration, format_truncates_safely)
{
	char		buf[3];

	duration_format(5400, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1h");
	duration_format(5400, buf, 0);
	duration_format(5400, NULL, 10);
}

/* --- the README's configuration reference ------------------------------- */

/* Append every leaf key path under node to paths (newline-separated). */
static void
readme_collect(yaml_document_t *doc, yaml_node_t *node, const char *prefix,
    char *paths, size_t len)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*key, *value;
	char			 path[256];

	if (node->type != YAML_MAPPING_NODE) {
		(void)strncat(paths, prefix, len - strlen(paths) - 1);
		(void)strncat(paths, "\n", len - strlen(paths) - 1);
		return;
	}

	for (pair = node->data.mapping.pairs.start;
	    pair < node->data.mapping.pairs.top; pair++) {
		key = yaml_document_get_node(doc, pair->key);
		value = yaml_document_get_node(doc, pair->value);
		(void)snprintf(path, sizeof(path), "%s%s%s", prefix,
		    *prefix ? "." : "", (char *)key->data.scalar.value);
		readme_collect(doc, value, path, paths, len);
	}
}

Test(readme, reference_names_every_key_of_the_shipped_file)
{
	yaml_parser_t	 parser;
	yaml_document_t	 doc;
	FILE		*fp;
	char		 paths[8192], readme[65536], want[300], *line, *save;
	size_t		 n;

	fp = fopen("conf/saga-tracker.yaml", "r");
	cr_assert_not_null(fp);
	cr_assert(yaml_parser_initialize(&parser));
	yaml_parser_set_input_file(&parser, fp);
	cr_assert(yaml_parser_load(&parser, &doc));
	paths[0] = '\0';
	readme_collect(&doc, yaml_document_get_root_node(&doc), "", paths,
	    sizeof(paths));
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(fp);

	fp = fopen("README.md", "r");
	cr_assert_not_null(fp);
	n = fread(readme, 1, sizeof(readme) - 1, fp);
	readme[n] = '\0';
	fclose(fp);

	cr_assert_not_null(strstr(paths, "alerts.failure_spike.threshold"));
	for (line = strtok_r(paths, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		(void)snprintf(want, sizeof(want), "| `%s` |", line);
		cr_expect_not_null(strstr(readme, want),
		    "README.md's configuration reference lacks %s", line);
	}
}
