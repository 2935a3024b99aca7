/*
 * config: load conf/saga-tracker.yaml (SPEC §4) against the key tables
 * below (config.h says which modules do the rest).
 *
 * The tables name every key of every section: its type, where its value
 * goes in struct config, its bounds and the check of its text.  Every
 * key has a default (config_defaults()); the file only overrides what it
 * names.  The walk goes down the document's mappings by the tables, so
 * errors read "file:line:col: key.path: what", with the 1-based line and
 * column of the offending node: the key for unknown and duplicate keys,
 * the value for everything else.
 *
 * Choices where SPEC §4 is silent:
 *  - An empty file, or a section with no value ("kafka:"), keeps the
 *    defaults; a scalar key with no value is an error ("missing value").
 *  - Numbers must be plain scalars: a quoted "10" is a string.
 *  - Durations are Prometheus-style: one or more <digits><unit> with the
 *    units d, h, m, s in that order ("90s", "5m", "1h30m", "1d"); their
 *    syntax is duration.h's.  window and after must be at least 1s; for
 *    may be 0s.
 *  - Receiver names are [A-Za-z0-9._-]+ and appear once per route.
 *  - runbook_base_url loses any trailing '/', so users append "/name.md".
 *  - monitoring.labels is replaced as a whole ({} for none, at most 8);
 *    names are Kubernetes label names, values label values, and the
 *    generator's own labels (app.kubernetes.io/name and /component,
 *    grafana_dashboard) cannot be set.
 *  - monitoring.cluster_label is "" (none) or a Prometheus label name
 *    the alerts do not use otherwise (namecheck.h names them).
 *  - SLO objectives are percentages strictly between 0 and 100; latency
 *    thresholds are <number>ms, s or m ("250ms", "0.5s", "30s").
 *  - Only one YAML document per file.  Files over 1 MiB are refused
 *    (yamlfile.h).
 *  - On error *cfg is left untouched.
 *
 * This file must not depend on kore: unit tests and tools link it.
 */

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "config.h"
#include "errmsg.h"
#include "namecheck.h"
#include "yamlfile.h"
#include "yamlvalue.h"
#include "yamlwalk.h"

#define CONFIG_STEP_LABELS_MAX	1024

_Static_assert(NAMECHECK_RECEIVER_MAX < CONFIG_STR_MAX,
    "a receiver name fits struct config_route");

#define DEFAULT_RUNBOOK_BASE_URL	\
    "https://github.com/example/saga-tracker/blob/main/runbooks"

enum key_type {
	KEY_SECTION,
	KEY_STRING,
	KEY_UINT,
	KEY_BOOL,
	KEY_POSITIVE,
	KEY_DURATION,
	KEY_SEVERITY,
	KEY_BUCKETS,
	KEY_ROUTE,
	KEY_LABELS,
	KEY_PERCENT,
	KEY_LATENCY
};

struct key {
	const char		*name;
	enum key_type		type;
	size_t			off;
	unsigned long		min;
	unsigned long		max;
	yamlvalue_check		check;
	const struct key	*sub;
};

/* The walk of the file's document and the configuration it fills. */
struct loader {
	struct yamlwalk		walk;
	struct config		*cfg;
};

static int	load_document(struct config *, const char *,
		    struct yamlfile *, char *, size_t);
static int	load_mapping(struct loader *, const yaml_node_t *,
		    const struct key *);
static int	load_pair(struct loader *, const yaml_node_t *,
		    const yaml_node_pair_t *, const struct key *);
static int	load_unknown(struct loader *, const yaml_node_t *,
		    const struct key *);
static int	load_value(struct loader *, const struct key *,
		    const yaml_node_t *);
static int	load_severity(struct loader *, const struct key *,
		    const yaml_node_t *);
static int	load_buckets(struct loader *, const yaml_node_t *);
static int	load_bucket(struct loader *, const yaml_node_t *, size_t,
		    double *);
static int	load_route(struct loader *, const struct key *,
		    const yaml_node_t *);
static int	load_receiver(struct loader *, struct config_route *,
		    const yaml_node_t *, size_t);
static int	load_labels(struct loader *, const struct key *,
		    const yaml_node_t *);
static int	load_label(struct loader *, struct config_labels *,
		    const yaml_node_pair_t *);
static void	set_labels(struct config_labels *, const char *,
		    const char *);

static const struct key	*key_find(const struct key *,
			    const yaml_node_t *);
static void		 set_str(char *, const char *);
static void		 set_route(struct config_route *, const char *,
			    const char *);
static void		 finish(struct config *);
static void		 config_defaults_monitoring(struct config *);

static const char	*check_nonempty(const char *);

#define CFG_OFF(m)		offsetof(struct config, m)
#define K_SECTION(n, s)		{ n, KEY_SECTION, 0, 0, 0, NULL, s }
#define K_STRING(n, m, c)	{ n, KEY_STRING, CFG_OFF(m), 0, 0, c, NULL }
#define K_UINT(n, m, lo, hi)	\
    { n, KEY_UINT, CFG_OFF(m), lo, hi, NULL, NULL }
#define K_BOOL(n, m)		\
    { n, KEY_BOOL, CFG_OFF(m), 0, 0, NULL, NULL }
#define K_POSITIVE(n, m)	\
    { n, KEY_POSITIVE, CFG_OFF(m), 0, 0, NULL, NULL }
#define K_DURATION(n, m, lo)	\
    { n, KEY_DURATION, CFG_OFF(m), lo, 0, NULL, NULL }
#define K_SEVERITY(n, m)	\
    { n, KEY_SEVERITY, CFG_OFF(m), 0, 0, NULL, NULL }
#define K_BUCKETS(n)		\
    { n, KEY_BUCKETS, 0, 1, CONFIG_BUCKETS_MAX, NULL, NULL }
#define K_ROUTE(n, s)		\
    { n, KEY_ROUTE, CFG_OFF(routing[s]), 1, CONFIG_RECEIVERS_MAX, NULL, NULL }
#define K_LABELS(n, m)		\
    { n, KEY_LABELS, CFG_OFF(m), 0, CONFIG_LABELS_MAX, NULL, NULL }
#define K_PERCENT(n, m)		\
    { n, KEY_PERCENT, CFG_OFF(m), 0, 0, NULL, NULL }
#define K_LATENCY(n, m)		\
    { n, KEY_LATENCY, CFG_OFF(m), 0, 0, NULL, NULL }
#define K_END			{ NULL, KEY_SECTION, 0, 0, 0, NULL, NULL }

static const struct key kafka_keys[] = {
	K_STRING("brokers", kafka.brokers, namecheck_kafka_brokers),
	K_STRING("topic", kafka.topic, namecheck_kafka_topic),
	K_STRING("group", kafka.group, check_nonempty),
	K_BOOL("static_membership", kafka.static_membership),
	K_DURATION("stuck_after", kafka.stuck_after_sec, 5),
	K_END
};

static const struct key postgres_keys[] = {
	K_STRING("dsn_env", postgres.dsn_env, namecheck_env_name),
	K_END
};

static const struct key metrics_keys[] = {
	K_UINT("max_step_labels", metrics.max_step_labels, 1,
	    CONFIG_STEP_LABELS_MAX),
	K_BUCKETS("compensation_buckets"),
	K_BOOL("lag_per_partition", metrics.lag_per_partition),
	K_END
};

static const struct key workers_keys[] = {
	K_BOOL("batch_scheduling", workers.batch_scheduling),
	K_END
};

static const struct key retention_keys[] = {
	K_DURATION("terminal", retention.terminal_sec, 0),
	K_DURATION("rejected", retention.rejected_sec, 0),
	K_END
};

static const struct key failure_spike_keys[] = {
	K_POSITIVE("threshold", alerts.failure_spike.threshold),
	K_DURATION("window", alerts.failure_spike.window_sec, 1),
	K_DURATION("for", alerts.failure_spike.for_sec, 0),
	K_SEVERITY("severity", alerts.failure_spike.severity),
	K_END
};

static const struct key compensation_timeout_keys[] = {
	K_DURATION("after", alerts.compensation_timeout.after_sec, 1),
	K_DURATION("for", alerts.compensation_timeout.for_sec, 0),
	K_SEVERITY("severity", alerts.compensation_timeout.severity),
	K_END
};

static const struct key consumer_lag_keys[] = {
	K_POSITIVE("threshold", alerts.consumer_lag.threshold),
	K_DURATION("for", alerts.consumer_lag.for_sec, 0),
	K_SEVERITY("severity", alerts.consumer_lag.severity),
	K_END
};

static const struct key service_down_keys[] = {
	K_DURATION("for", alerts.service_down.for_sec, 0),
	K_SEVERITY("severity", alerts.service_down.severity),
	K_END
};

static const struct key database_down_keys[] = {
	K_DURATION("for", alerts.database_down.for_sec, 0),
	K_SEVERITY("severity", alerts.database_down.severity),
	K_END
};

static const struct key gauges_stale_keys[] = {
	K_DURATION("after", alerts.gauges_stale.after_sec, 1),
	K_DURATION("for", alerts.gauges_stale.for_sec, 0),
	K_SEVERITY("severity", alerts.gauges_stale.severity),
	K_END
};

static const struct key consumer_stalled_keys[] = {
	K_DURATION("after", alerts.consumer_stalled.after_sec, 1),
	K_DURATION("for", alerts.consumer_stalled.for_sec, 0),
	K_SEVERITY("severity", alerts.consumer_stalled.severity),
	K_END
};

static const struct key lag_stale_keys[] = {
	K_DURATION("after", alerts.lag_stale.after_sec, 1),
	K_DURATION("for", alerts.lag_stale.for_sec, 0),
	K_SEVERITY("severity", alerts.lag_stale.severity),
	K_END
};

static const struct key rejected_events_keys[] = {
	K_DURATION("window", alerts.rejected_events.window_sec, 1),
	K_DURATION("for", alerts.rejected_events.for_sec, 0),
	K_SEVERITY("severity", alerts.rejected_events.severity),
	K_END
};

static const struct key alerts_keys[] = {
	K_SECTION("failure_spike", failure_spike_keys),
	K_SECTION("compensation_timeout", compensation_timeout_keys),
	K_SECTION("consumer_lag", consumer_lag_keys),
	K_SECTION("service_down", service_down_keys),
	K_SECTION("database_down", database_down_keys),
	K_SECTION("gauges_stale", gauges_stale_keys),
	K_SECTION("consumer_stalled", consumer_stalled_keys),
	K_SECTION("lag_stale", lag_stale_keys),
	K_SECTION("rejected_events", rejected_events_keys),
	K_END
};

static const struct key routing_keys[] = {
	K_ROUTE("critical", SEVERITY_CRITICAL),
	K_ROUTE("warning", SEVERITY_WARNING),
	K_ROUTE("info", SEVERITY_INFO),
	K_END
};

static const struct key monitoring_keys[] = {
	K_STRING("namespace", monitoring.namespace, namecheck_dns_label),
	K_STRING("service_namespace", monitoring.service_namespace,
	    namecheck_dns_label),
	K_STRING("job", monitoring.job, namecheck_label_value),
	K_STRING("runbook_base_url", monitoring.runbook_base_url,
	    namecheck_url),
	K_STRING("service_monitor_namespace",
	    monitoring.service_monitor_namespace, namecheck_dns_label),
	K_LABELS("labels", monitoring.labels),
	K_STRING("cluster_label", monitoring.cluster_label,
	    namecheck_cluster_label),
	K_END
};

static const struct key api_availability_keys[] = {
	K_PERCENT("objective", slo.api_availability.objective),
	K_END
};

static const struct key api_latency_keys[] = {
	K_PERCENT("objective", slo.api_latency.objective),
	K_LATENCY("threshold", slo.api_latency.threshold_sec),
	K_END
};

static const struct key event_freshness_keys[] = {
	K_PERCENT("objective", slo.event_freshness.objective),
	K_LATENCY("threshold", slo.event_freshness.threshold_sec),
	K_END
};

static const struct key slo_keys[] = {
	K_SECTION("api_availability", api_availability_keys),
	K_SECTION("api_latency", api_latency_keys),
	K_SECTION("event_freshness", event_freshness_keys),
	K_END
};

static const struct key top_keys[] = {
	K_SECTION("kafka", kafka_keys),
	K_SECTION("postgres", postgres_keys),
	K_SECTION("metrics", metrics_keys),
	K_SECTION("workers", workers_keys),
	K_SECTION("retention", retention_keys),
	K_SECTION("alerts", alerts_keys),
	K_SECTION("routing", routing_keys),
	K_SECTION("monitoring", monitoring_keys),
	K_SECTION("slo", slo_keys),
	K_END
};

static const char *severity_names[SEVERITY_COUNT] = {
	"info",
	"warning",
	"critical",
};

static const double default_buckets[] = {
	0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600
};

void
config_defaults(struct config *cfg)
{
	struct config_alert	*a;

	memset(cfg, 0, sizeof(*cfg));

	set_str(cfg->kafka.brokers, "");
	set_str(cfg->kafka.topic, "saga.events");
	set_str(cfg->kafka.group, "saga-tracker-service");
	cfg->kafka.static_membership = 1;
	cfg->kafka.stuck_after_sec = 30;
	set_str(cfg->postgres.dsn_env, "SAGA_TRACKER_DB_DSN");

	cfg->metrics.max_step_labels = 64;
	cfg->metrics.bucket_count =
	    sizeof(default_buckets) / sizeof(default_buckets[0]);
	memcpy(cfg->metrics.compensation_buckets, default_buckets,
	    sizeof(default_buckets));

	cfg->workers.batch_scheduling = 1;

	cfg->retention.terminal_sec = 30 * 86400;
	cfg->retention.rejected_sec = 14 * 86400;

	a = &cfg->alerts.failure_spike;
	a->threshold = 10;
	a->window_sec = 5 * 60;
	a->for_sec = 2 * 60;
	a->severity = SEVERITY_WARNING;

	a = &cfg->alerts.compensation_timeout;
	a->after_sec = 5 * 60;
	a->for_sec = 5 * 60;
	a->severity = SEVERITY_CRITICAL;

	a = &cfg->alerts.consumer_lag;
	a->threshold = 1000;
	a->for_sec = 10 * 60;
	a->severity = SEVERITY_WARNING;

	a = &cfg->alerts.service_down;
	a->for_sec = 60;
	a->severity = SEVERITY_CRITICAL;

	set_route(&cfg->routing[SEVERITY_CRITICAL], "pagerduty", "slack");
	set_route(&cfg->routing[SEVERITY_WARNING], "slack", NULL);
	set_route(&cfg->routing[SEVERITY_INFO], "slack", NULL);

	set_str(cfg->monitoring.namespace, "monitoring");
	set_str(cfg->monitoring.service_namespace, "ecommerce");
	set_str(cfg->monitoring.job, "saga-tracker-api");
	set_str(cfg->monitoring.runbook_base_url, DEFAULT_RUNBOOK_BASE_URL);
	config_defaults_monitoring(cfg);
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct config	tmp;
	struct yamlfile	yf;
	int		rc;

	if (path == NULL)
		return (errmsg_set(err, errlen,
		    "(null): no configuration path"));

	config_defaults(&tmp);
	if (strlen(path) >= sizeof(tmp.path)) {
		return (errmsg_set(err, errlen, "%.64s...: path too long",
		    path));
	}
	set_str(tmp.path, path);

	if (yamlfile_load(&yf, path, err, errlen) == -1)
		return (-1);
	rc = load_document(&tmp, path, &yf, err, errlen);
	yamlfile_free(&yf);

	if (rc == 0) {
		finish(&tmp);
		*cfg = tmp;
	}

	return (rc);
}

const char *
config_severity_name(enum config_severity sev)
{
	if ((int)sev < 0 || sev >= SEVERITY_COUNT)
		return ("unknown");

	return (severity_names[sev]);
}

/* The file's document over the defaults in cfg: nothing is no change. */
static int
load_document(struct config *cfg, const char *file, struct yamlfile *yf,
    char *err, size_t errlen)
{
	struct loader	ld;

	if (yf->root == NULL)
		return (0);

	yamlwalk_init(&ld.walk, file, &yf->doc, err, errlen);
	ld.cfg = cfg;

	return (load_mapping(&ld, yf->root, top_keys));
}

static int
load_mapping(struct loader *ld, const yaml_node_t *map,
    const struct key *keys)
{
	const yaml_node_pair_t	*pair;

	if (yamlwalk_is_null(map))
		return (0);
	if (map->type != YAML_MAPPING_NODE)
		return (yamlwalk_type_error(&ld->walk, map, "a mapping"));

	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		if (load_pair(ld, map, pair, keys) == -1)
			return (-1);
	}

	return (0);
}

static int
load_pair(struct loader *ld, const yaml_node_t *map,
    const yaml_node_pair_t *pair, const struct key *keys)
{
	const yaml_node_t	*k, *v;
	const struct key	*key;
	size_t			saved;
	int			rc;

	k = yaml_document_get_node(ld->walk.doc, pair->key);
	v = yaml_document_get_node(ld->walk.doc, pair->value);

	if (k->type != YAML_SCALAR_NODE) {
		return (yamlwalk_error(&ld->walk, k,
		    "keys must be strings, got %s",
		    yamlwalk_describe(&ld->walk, k)));
	}

	saved = yamlwalk_push_key(&ld->walk, (const char *)k->data.scalar.value,
	    k->data.scalar.length);
	if (yamlwalk_key_is_duplicate(&ld->walk, map, pair))
		rc = yamlwalk_error(&ld->walk, k, "duplicate key");
	else if ((key = key_find(keys, k)) == NULL)
		rc = load_unknown(ld, k, keys);
	else
		rc = load_value(ld, key, v);
	yamlwalk_pop(&ld->walk, saved);

	return (rc);
}

static int
load_unknown(struct loader *ld, const yaml_node_t *k, const struct key *keys)
{
	char		known[CONFIG_ERR_MAX / 2];
	size_t		i, off;
	int		n;

	known[0] = '\0';
	off = 0;
	for (i = 0; keys[i].name != NULL; i++) {
		n = snprintf(known + off, sizeof(known) - off, "%s%s",
		    i == 0 ? "" : ", ", keys[i].name);
		if (n < 0 || (size_t)n >= sizeof(known) - off)
			break;
		off += (size_t)n;
	}

	return (yamlwalk_error(&ld->walk, k,
	    "unknown key (expected one of: %s)", known));
}

/* The value of key into its field of the configuration. */
static int
load_value(struct loader *ld, const struct key *key, const yaml_node_t *v)
{
	struct yamlwalk	*w;
	void		*dst;

	w = &ld->walk;
	dst = (char *)ld->cfg + key->off;

	switch (key->type) {
	case KEY_SECTION:
		return (load_mapping(ld, v, key->sub));
	case KEY_STRING:
		return (yamlvalue_string(w, v, dst, CONFIG_STR_MAX,
		    key->check));
	case KEY_UINT:
		return (yamlvalue_uint(w, v, key->min, key->max, dst));
	case KEY_BOOL:
		return (yamlvalue_bool(w, v, dst));
	case KEY_POSITIVE:
		return (yamlvalue_positive(w, v, dst));
	case KEY_DURATION:
		return (yamlvalue_duration(w, v, (unsigned int)key->min,
		    dst));
	case KEY_SEVERITY:
		return (load_severity(ld, key, v));
	case KEY_BUCKETS:
		return (load_buckets(ld, v));
	case KEY_ROUTE:
		return (load_route(ld, key, v));
	case KEY_LABELS:
		return (load_labels(ld, key, v));
	case KEY_PERCENT:
		return (yamlvalue_percent(w, v, dst));
	case KEY_LATENCY:
		return (yamlvalue_latency(w, v, dst));
	}

	return (yamlwalk_error(w, v, "internal error: bad key type"));
}

static int
load_severity(struct loader *ld, const struct key *key, const yaml_node_t *v)
{
	const char	*s;
	int		i;

	if (yamlwalk_scalar(&ld->walk, v, "a severity", &s) == -1)
		return (-1);

	for (i = 0; i < SEVERITY_COUNT; i++) {
		if (strcmp(s, severity_names[i]) == 0)
			break;
	}
	if (i == SEVERITY_COUNT) {
		return (yamlwalk_error(&ld->walk, v, "must be one of critical, "
		    "warning, info, got %s", yamlwalk_quote(&ld->walk, s)));
	}

	*(enum config_severity *)(void *)((char *)ld->cfg + key->off) =
	    (enum config_severity)i;
	return (0);
}

static int
load_buckets(struct loader *ld, const yaml_node_t *v)
{
	double		buckets[CONFIG_BUCKETS_MAX];
	size_t		i, count;

	if (yamlwalk_sequence(&ld->walk, v, "entries", 1,
	    CONFIG_BUCKETS_MAX) == -1)
		return (-1);

	count = (size_t)(v->data.sequence.items.top -
	    v->data.sequence.items.start);
	for (i = 0; i < count; i++) {
		if (load_bucket(ld, v, i, buckets) == -1)
			return (-1);
	}

	memcpy(ld->cfg->metrics.compensation_buckets, buckets,
	    count * sizeof(buckets[0]));
	ld->cfg->metrics.bucket_count = count;

	return (0);
}

static int
load_bucket(struct loader *ld, const yaml_node_t *seq, size_t i,
    double *buckets)
{
	const yaml_node_t	*item;
	size_t			saved;
	int			rc;

	item = yaml_document_get_node(ld->walk.doc,
	    seq->data.sequence.items.start[i]);
	saved = yamlwalk_push_index(&ld->walk, i);

	if ((rc = yamlwalk_number(&ld->walk, item, &buckets[i])) == 0) {
		if (buckets[i] <= 0) {
			rc = yamlwalk_error(&ld->walk, item,
			    "must be greater than 0, got %s",
			    (const char *)item->data.scalar.value);
		} else if (i > 0 && buckets[i] <= buckets[i - 1]) {
			rc = yamlwalk_error(&ld->walk, item, "must be greater "
			    "than the previous bucket (%g), got %s",
			    buckets[i - 1],
			    (const char *)item->data.scalar.value);
		}
	}

	yamlwalk_pop(&ld->walk, saved);
	return (rc);
}

static int
load_route(struct loader *ld, const struct key *key, const yaml_node_t *v)
{
	struct config_route	route;
	size_t			i, count;

	if (yamlwalk_sequence(&ld->walk, v, "receivers", key->min,
	    key->max) == -1)
		return (-1);

	memset(&route, 0, sizeof(route));
	count = (size_t)(v->data.sequence.items.top -
	    v->data.sequence.items.start);
	for (i = 0; i < count; i++) {
		if (load_receiver(ld, &route, v, i) == -1)
			return (-1);
	}

	memcpy((char *)ld->cfg + key->off, &route, sizeof(route));
	return (0);
}

static int
load_receiver(struct loader *ld, struct config_route *route,
    const yaml_node_t *seq, size_t i)
{
	const yaml_node_t	*item;
	const char		*s, *why;
	size_t			saved, j;
	int			rc;

	s = NULL;
	item = yaml_document_get_node(ld->walk.doc,
	    seq->data.sequence.items.start[i]);
	saved = yamlwalk_push_index(&ld->walk, i);

	rc = yamlwalk_scalar(&ld->walk, item, "a receiver name", &s);
	if (rc == 0) {
		for (j = 0; j < route->count; j++) {
			if (strcmp(route->receivers[j], s) == 0)
				break;
		}
		if ((why = namecheck_receiver(s)) != NULL) {
			rc = yamlwalk_error(&ld->walk, item, "bad value %s: %s",
			    yamlwalk_quote(&ld->walk, s), why);
		} else if (j < route->count) {
			rc = yamlwalk_error(&ld->walk, item,
			    "duplicate receiver %s",
			    yamlwalk_quote(&ld->walk, s));
		} else {
			set_str(route->receivers[route->count++], s);
		}
	}

	yamlwalk_pop(&ld->walk, saved);
	return (rc);
}

static const struct key *
key_find(const struct key *keys, const yaml_node_t *k)
{
	const char	*name;
	size_t		i;

	name = (const char *)k->data.scalar.value;
	if (strlen(name) != k->data.scalar.length)
		return (NULL);

	for (i = 0; keys[i].name != NULL; i++) {
		if (strcmp(keys[i].name, name) == 0)
			return (&keys[i]);
	}

	return (NULL);
}

static void
set_str(char *dst, const char *src)
{
	(void)snprintf(dst, CONFIG_STR_MAX, "%s", src);
}

static void
set_route(struct config_route *route, const char *first, const char *second)
{
	route->count = 0;
	set_str(route->receivers[route->count++], first);
	if (second != NULL)
		set_str(route->receivers[route->count++], second);
}

static void
finish(struct config *cfg)
{
	char		*url;
	size_t		len;

	url = cfg->monitoring.runbook_base_url;
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		url[--len] = '\0';
}

static const char *
check_nonempty(const char *s)
{
	if (*s == '\0')
		return ("must not be empty");

	return (NULL);
}

/* Issue 15: the keys the monitoring generator added in its second round. */
static void
config_defaults_monitoring(struct config *cfg)
{
	struct config_alert	*a;

	a = &cfg->alerts.database_down;
	a->for_sec = 60;
	a->severity = SEVERITY_CRITICAL;

	a = &cfg->alerts.gauges_stale;
	a->after_sec = 60;
	a->for_sec = 2 * 60;
	a->severity = SEVERITY_WARNING;

	a = &cfg->alerts.consumer_stalled;
	a->after_sec = 5 * 60;
	a->for_sec = 5 * 60;
	a->severity = SEVERITY_WARNING;

	a = &cfg->alerts.lag_stale;
	a->after_sec = 2 * 60;
	a->for_sec = 3 * 60;
	a->severity = SEVERITY_WARNING;

	a = &cfg->alerts.rejected_events;
	a->window_sec = 15 * 60;
	a->for_sec = 0;
	a->severity = SEVERITY_INFO;

	set_str(cfg->monitoring.service_monitor_namespace, "ecommerce");
	set_labels(&cfg->monitoring.labels, "release", "prometheus");

	cfg->slo.api_availability.objective = 99.9;
	cfg->slo.api_latency.objective = 99;
	cfg->slo.api_latency.threshold_sec = 0.25;
	cfg->slo.event_freshness.objective = 99;
	cfg->slo.event_freshness.threshold_sec = 30;
}

static void
set_labels(struct config_labels *labels, const char *name, const char *value)
{
	labels->count = 1;
	set_str(labels->names[0], name);
	set_str(labels->values[0], value);
}

/*
 * A mapping of Kubernetes label names to values; the whole mapping
 * replaces the default ({} for none).
 */
static int
load_labels(struct loader *ld, const struct key *key, const yaml_node_t *v)
{
	struct config_labels		 labels;
	const yaml_node_pair_t		*pair;
	size_t				 count;

	if (yamlwalk_is_null(v) || v->type != YAML_MAPPING_NODE)
		return (yamlwalk_type_error(&ld->walk, v,
		    "a mapping of label names to values"));

	count = (size_t)(v->data.mapping.pairs.top -
	    v->data.mapping.pairs.start);
	if (count > key->max) {
		return (yamlwalk_error(&ld->walk, v,
		    "must have at most %lu labels, got %zu", key->max,
		    count));
	}

	memset(&labels, 0, sizeof(labels));
	for (pair = v->data.mapping.pairs.start;
	    pair < v->data.mapping.pairs.top; pair++) {
		if (yamlwalk_key_is_duplicate(&ld->walk, v, pair)) {
			return (yamlwalk_error(&ld->walk,
			    yaml_document_get_node(ld->walk.doc, pair->key),
			    "duplicate key"));
		}
		if (load_label(ld, &labels, pair) == -1)
			return (-1);
	}

	memcpy((char *)ld->cfg + key->off, &labels, sizeof(labels));
	return (0);
}

static int
load_label(struct loader *ld, struct config_labels *labels,
    const yaml_node_pair_t *pair)
{
	const yaml_node_t	*k, *v;
	const char		*name, *value, *why;
	size_t			 saved;
	int			 rc;

	k = yaml_document_get_node(ld->walk.doc, pair->key);
	v = yaml_document_get_node(ld->walk.doc, pair->value);
	if (yamlwalk_scalar(&ld->walk, k, "a label name", &name) == -1)
		return (-1);

	saved = yamlwalk_push_key(&ld->walk, name, strlen(name));
	if ((why = namecheck_label_name(name)) != NULL) {
		rc = yamlwalk_error(&ld->walk, k, "bad label name %s: %s",
		    yamlwalk_quote(&ld->walk, name), why);
	} else if ((rc = yamlwalk_scalar(&ld->walk, v, "a label value",
	    &value)) == 0) {
		if ((why = namecheck_label_value(value)) != NULL) {
			rc = yamlwalk_error(&ld->walk, v, "bad value %s: %s",
			    yamlwalk_quote(&ld->walk, value), why);
		} else {
			set_str(labels->names[labels->count], name);
			set_str(labels->values[labels->count++], value);
		}
	}
	yamlwalk_pop(&ld->walk, saved);

	return (rc);
}

