/*
 * config: the typed form of conf/saga-tracker.yaml (SPEC §4).
 *
 * config_load() fills a struct config with every default, then applies
 * the YAML file over it.  Unknown keys, wrong types, out-of-range values
 * and bad durations are errors that name file:line:column and the key
 * path.  Secrets never live here: only the names of the environment
 * variables that hold them.
 *
 * This module owns the schema: which keys each section has, their types,
 * bounds and defaults, and the values that are the configuration's own
 * (a severity, the histogram buckets, a route's receivers, a label
 * set).  The rest is done by modules that know nothing of struct
 * config, each for one job:
 *
 *	yamlfile	the file read into one YAML document; syntax errors
 *	yamlwalk	the key path, node positions and the wording of
 *			errors; scalars, numbers and lists as the file
 *			writes them
 *	yamlvalue	a string, boolean, integer, positive number,
 *			duration, percentage or latency read from a node
 *	namecheck	names as Kafka, Kubernetes, Prometheus and
 *			Alertmanager take them
 *	duration	the text of durations and latencies ("1h30m",
 *			"250ms"), which the monitoring generator also writes
 *
 * Out of memory is no configuration error: it ends the process
 * (xalloc.h).  None of them depends on kore, so the generator in tools/
 * and the unit tests link them as they are (MONGEN_OBJS in GNUmakefile).
 */

#ifndef SAGA_CONFIG_H
#define SAGA_CONFIG_H

#include <stddef.h>

#define CONFIG_STR_MAX		256
#define CONFIG_BUCKETS_MAX	32
#define CONFIG_RECEIVERS_MAX	8
#define CONFIG_ERR_MAX		512
#define CONFIG_LABELS_MAX	8

enum config_severity {
	SEVERITY_INFO = 0,
	SEVERITY_WARNING,
	SEVERITY_CRITICAL,
	SEVERITY_COUNT
};

struct config_alert {
	double			threshold;	/* failure_spike,
						   consumer_lag */
	unsigned int		window_sec;	/* failure_spike,
						   rejected_events */
	unsigned int		after_sec;	/* compensation_timeout,
						   *_stale, consumer_stalled */
	unsigned int		for_sec;
	enum config_severity	severity;
};

/* Kubernetes labels put on every generated monitoring object. */
struct config_labels {
	size_t			count;
	char			names[CONFIG_LABELS_MAX][CONFIG_STR_MAX];
	char			values[CONFIG_LABELS_MAX][CONFIG_STR_MAX];
};

/* One service level objective: a percentage of good events over 30d. */
struct config_slo {
	double			objective;	/* percent, 0 < x < 100 */
	double			threshold_sec;	/* latency SLOs: good if <= */
};

struct config_route {
	size_t			count;
	char			receivers[CONFIG_RECEIVERS_MAX][CONFIG_STR_MAX];
};

struct config {
	char			path[CONFIG_STR_MAX];

	struct {
		char		brokers[CONFIG_STR_MAX];
		char		topic[CONFIG_STR_MAX];
		char		group[CONFIG_STR_MAX];
		int		static_membership;	/* group.instance.id */
		unsigned int	stuck_after_sec;	/* watchdog bound */
	} kafka;

	struct {
		char		dsn_env[CONFIG_STR_MAX];
	} postgres;

	struct {
		unsigned int	max_step_labels;
		size_t		bucket_count;
		double		compensation_buckets[CONFIG_BUCKETS_MAX];
		int		lag_per_partition;	/* also {partition} */
	} metrics;

	struct {
		int		batch_scheduling;	/* SCHED_BATCH */
	} workers;

	struct {					/* 0 = keep */
		unsigned int	terminal_sec;	/* COMPLETED, COMPENSATED */
		unsigned int	rejected_sec;	/* dead letters */
	} retention;

	struct {
		struct config_alert	failure_spike;
		struct config_alert	compensation_timeout;
		struct config_alert	consumer_lag;
		struct config_alert	service_down;
		struct config_alert	database_down;
		struct config_alert	gauges_stale;
		struct config_alert	consumer_stalled;
		struct config_alert	lag_stale;
		struct config_alert	rejected_events;
	} alerts;

	struct config_route	routing[SEVERITY_COUNT];

	struct {
		char		namespace[CONFIG_STR_MAX];
		char		service_namespace[CONFIG_STR_MAX];
		char		job[CONFIG_STR_MAX];
		char		runbook_base_url[CONFIG_STR_MAX];
		char		service_monitor_namespace[CONFIG_STR_MAX];
		struct config_labels	labels;
		char		cluster_label[CONFIG_STR_MAX];	/* "": none */
	} monitoring;

	struct {
		struct config_slo	api_availability;
		struct config_slo	api_latency;
		struct config_slo	event_freshness;
	} slo;
};

/* Fill cfg with the defaults of SPEC §4. */
void		config_defaults(struct config *cfg);

/*
 * Load path over the defaults.  Returns 0 on success; -1 with a message
 * "path:line:col: key.path: what is wrong" in err (errlen bytes) on failure.
 */
int		config_load(struct config *cfg, const char *path,
		    char *err, size_t errlen);

const char	*config_severity_name(enum config_severity sev);

#endif
