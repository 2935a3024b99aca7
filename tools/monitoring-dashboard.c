/*
 * monitoring-dashboard: the saga-tracker Grafana dashboard, as JSON in a
 * ConfigMap that the Grafana sidecar picks up (label grafana_dashboard:
 * "1", in monitoring.namespace).
 *
 * Rules every query keeps:
 *  - every Prometheus query selects job="<monitoring.job>";
 *  - gauges read from the database (saga_active_total,
 *    saga_compensation_pending, saga_compensation_pending_oldest_seconds)
 *    hold the same value on every replica: they are aggregated with max,
 *    never sum; counters and histograms are per replica and summed;
 *  - every ratio divides by "(denominator > 0)", so an idle service
 *    shows no value instead of NaN or +Inf.
 * The thresholds drawn on the panels are the alert thresholds.  The
 * dashboard uid is fixed so links to it survive regeneration.
 */

#include <err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "monitoring.h"

#define DASH_KEY	"saga-tracker.json"

struct dash {
	const struct config	*cfg;
	json_t			*panels;
	int			 next_id;
	char			 job[MON_TEXT_MAX];
};

static json_t	*jpack(const char *, ...);
static json_t	*jnum(double);
static json_t	*prom_ds(void);
static json_t	*pg_ds(void);
static json_t	*panel(struct dash *, const char *, const char *,
		    const char *, int, int, int, int);
static void	 target(json_t *, const char *, const char *, int);
static void	 targetf(json_t *, const char *, int, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static void	 unit(json_t *, const char *);
static void	 threshold(json_t *, double, int);
static json_t	*stat(struct dash *, const char *, const char *, int,
		    const char *, const char *);
static void	 stats_row(struct dash *);
static void	 distribution_row(struct dash *);
static void	 compensation_row(struct dash *);
static void	 failed_table(struct dash *);
static void	 api_row(struct dash *);
static void	 db_row(struct dash *);
static json_t	*templating(void);
static json_t	*dashboard(const struct config *);

int
mon_dashboard_render(const struct config *cfg, struct mon_output *out,
    const char *dir, char *errbuf, size_t len)
{
	struct mbuf	*b;
	json_t		*root;
	char		*text;

	root = dashboard(cfg);
	text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
	json_decref(root);
	if (text == NULL) {
		(void)snprintf(errbuf, len, "dashboard: cannot encode JSON");
		return (-1);
	}

	b = mon_output_add(out, dir, "kubernetes/grafana-dashboard-"
	    "configmap.yaml");
	mbuf_header(b, cfg->path);
	mbuf_puts(b, "apiVersion: v1\n"
	    "kind: ConfigMap\n");
	mbuf_metadata(b, cfg, MON_APP "-dashboard", cfg->monitoring.namespace,
	    "grafana_dashboard: \"1\"");
	mbuf_printf(b, "data:\n"
	    "  %s: |\n", DASH_KEY);
	mbuf_indent_block(b, text, 4);
	free(text);

	return (0);
}

static json_t *
jpack(const char *fmt, ...)
{
	json_error_t	 error;
	json_t		*j;
	va_list		 args;

	va_start(args, fmt);
	j = json_vpack_ex(&error, 0, fmt, args);
	va_end(args);
	if (j == NULL)
		errx(1, "dashboard: %s", error.text);

	return (j);
}

static json_t *
jnum(double v)
{
	if (v > -1e15 && v < 1e15 && v == (double)(json_int_t)v)
		return (json_integer((json_int_t)v));

	return (json_real(v));
}

/* The $datasource variable: the Prometheus to query. */
static json_t *
prom_ds(void)
{
	return (jpack("{s:s, s:s}", "type", "prometheus", "uid",
	    "${datasource}"));
}

/* The $postgres variable: saga-tracker's database. */
static json_t *
pg_ds(void)
{
	return (jpack("{s:s, s:s}", "type", "postgres", "uid",
	    "${postgres}"));
}

/* A new panel with the next id, appended to the dashboard. */
static json_t *
panel(struct dash *d, const char *type, const char *title, const char *desc,
    int x, int y, int w, int h)
{
	json_t		*p;

	p = jpack("{s:i, s:s, s:s, s:s, s:o, s:o, s:{s:{s:{s:s, s:[{s:s, "
	    "s:n}]}}, s:[]}, s:{}, s:[]}",
	    "id", d->next_id++, "type", type, "title", title,
	    "description", desc, "datasource", prom_ds(),
	    "gridPos", jpack("{s:i, s:i, s:i, s:i}", "h", h, "w", w,
	    "x", x, "y", y),
	    "fieldConfig", "defaults", "thresholds", "mode", "absolute",
	    "steps", "color", "green", "value", "overrides",
	    "options", "targets");
	if (json_array_append_new(d->panels, p) == -1)
		errx(1, "dashboard: out of memory");

	return (p);
}

/* A Prometheus query; instant ones feed stat and pie panels. */
static void
target(json_t *p, const char *expr, const char *legend, int instant)
{
	json_t		*targets;
	char		 ref[2];

	targets = json_object_get(p, "targets");
	ref[0] = (char)('A' + json_array_size(targets));
	ref[1] = '\0';
	json_array_append_new(targets, jpack("{s:s, s:o, s:s, s:s, s:b, "
	    "s:b}", "refId", ref, "datasource", prom_ds(),
	    "expr", expr, "legendFormat", legend, "instant", instant,
	    "range", !instant));
}

static void
targetf(json_t *p, const char *legend, int instant, const char *fmt, ...)
{
	va_list		args;
	char		expr[MON_EXPR_MAX];
	int		n;

	va_start(args, fmt);
	n = vsnprintf(expr, sizeof(expr), fmt, args);
	va_end(args);
	if (n < 0 || (size_t)n >= sizeof(expr))
		errx(1, "dashboard: query too long");

	target(p, expr, legend, instant);
}

static void
unit(json_t *p, const char *u)
{
	json_t		*defaults;

	defaults = json_object_get(json_object_get(p, "fieldConfig"),
	    "defaults");
	json_object_set_new(defaults, "unit", json_string(u));
}

/* Red from v up; drawn as a dashed line on time series when line. */
static void
threshold(json_t *p, double v, int line)
{
	json_t		*defaults, *steps;

	defaults = json_object_get(json_object_get(p, "fieldConfig"),
	    "defaults");
	steps = json_object_get(json_object_get(defaults, "thresholds"),
	    "steps");
	json_array_append_new(steps, jpack("{s:s, s:o}", "color", "red",
	    "value", jnum(v)));
	if (line) {
		json_object_set_new(defaults, "custom", jpack("{s:{s:s}}",
		    "thresholdsStyle", "mode", "dashed"));
	}
}

static json_t *
stat(struct dash *d, const char *title, const char *desc, int x,
    const char *expr, const char *u)
{
	json_t		*p;

	p = panel(d, "stat", title, desc, x, 0, 3, 4);
	json_object_set_new(p, "options", jpack("{s:{s:[s], s:s, s:b}, "
	    "s:s, s:s, s:s, s:s, s:s}", "reduceOptions", "calcs",
	    "lastNotNull", "fields", "", "values", 0, "colorMode", "value",
	    "graphMode", "area", "justifyMode", "auto", "orientation", "auto",
	    "textMode", "auto"));
	target(p, expr, "", 1);
	unit(p, u);

	return (p);
}

static void
stats_row(struct dash *d)
{
	const struct config	*cfg = d->cfg;
	json_t			*p;
	char			 e[MON_EXPR_MAX];

	mon_textf(e, sizeof(e), "sum(max by (status) (saga_active_total{%s, "
	    "status=~\"STARTED|IN_PROGRESS|COMPENSATING\"}))", d->job);
	stat(d, "Active Sagas", "Sagas STARTED, IN_PROGRESS or COMPENSATING "
	    "(from the database; max over replicas).", 0, e, "short");

	mon_textf(e, sizeof(e), "sum(increase(saga_failed_total{%s}[24h]))",
	    d->job);
	stat(d, "Failed (24h)", "Sagas that entered the failure path in the "
	    "last 24 hours.", 3, e, "short");

	mon_textf(e, sizeof(e), "sum(increase(saga_compensated_total{%s}"
	    "[24h]))", d->job);
	stat(d, "Compensated (24h)", "Sagas that reached COMPENSATED in the "
	    "last 24 hours.", 6, e, "short");

	mon_textf(e, sizeof(e), "sum(increase(saga_compensated_total{%s}"
	    "[24h])) / (sum(increase(saga_failed_total{%s}[24h])) > 0)",
	    d->job, d->job);
	stat(d, "Compensated / Failed (24h)", "Compensations per failure in "
	    "the last 24 hours; no value without failures.", 9, e,
	    "percentunit");

	mon_textf(e, sizeof(e), "max(saga_compensation_pending{%s})", d->job);
	stat(d, "Pending Compensations", "Failed-path sagas not yet "
	    "COMPENSATED (from the database; max over replicas).", 12, e,
	    "short");

	mon_textf(e, sizeof(e), "max(saga_compensation_pending_oldest_seconds"
	    "{%s})", d->job);
	p = stat(d, "Oldest Pending Compensation", "Age of the oldest "
	    "pending compensation; red from the SagaCompensationTimeout "
	    "threshold.", 15, e, "s");
	threshold(p, cfg->alerts.compensation_timeout.after_sec, 0);

	mon_textf(e, sizeof(e), "sum(increase(saga_events_rejected_total{%s}"
	    "[24h]))", d->job);
	stat(d, "Rejected Events (24h)", "Events stored in the dead-letter "
	    "table or counted as conflicts in the last 24 hours.", 18, e,
	    "short");

	mon_textf(e, sizeof(e), "sum(up{%s})", d->job);
	stat(d, "Replicas Up", "saga-tracker targets Prometheus scrapes "
	    "successfully.", 21, e, "short");
}

static void
distribution_row(struct dash *d)
{
	json_t		*p;

	p = panel(d, "piechart", "Saga Status Distribution", "Sagas by "
	    "status (from the database; max over replicas).", 0, 4, 8, 8);
	json_object_set_new(p, "options", jpack("{s:{s:[s], s:s, s:b}, "
	    "s:s, s:{s:b, s:s, s:s}}", "reduceOptions", "calcs",
	    "lastNotNull", "fields", "", "values", 0, "pieType", "pie",
	    "legend", "showLegend", 1, "displayMode", "table", "placement",
	    "right"));
	targetf(p, "{{status}}", 1, "max by (status) (saga_active_total{%s})",
	    d->job);

	p = panel(d, "timeseries", "Saga Events Timeline", "Events applied "
	    "per second by status, and rejected events by reason.", 8, 4, 16,
	    8);
	targetf(p, "{{status}}", 0, "sum by (status) (rate("
	    "saga_events_processed_total{%s}[$__rate_interval]))", d->job);
	targetf(p, "rejected: {{reason}}", 0, "sum by (reason) (rate("
	    "saga_events_rejected_total{%s}[$__rate_interval]))", d->job);
	unit(p, "ops");
}

static void
compensation_row(struct dash *d)
{
	static const char	*q[] = { "0.95", "0.99" };
	static const char	*legend[] = { "P95", "P99" };
	const struct config	*cfg = d->cfg;
	json_t			*p;
	int			 i;

	p = panel(d, "timeseries", "Compensation Duration P95 / P99",
	    "compensatedAt - failedAt over the last hour; the dashed line is "
	    "the SagaCompensationTimeout threshold.", 0, 12, 12, 8);
	for (i = 0; i < 2; i++) {
		targetf(p, legend[i], 0, "histogram_quantile(%s, sum by (le) "
		    "(rate(saga_compensation_duration_seconds_bucket{%s}"
		    "[1h])))", q[i], d->job);
	}
	unit(p, "s");
	threshold(p, cfg->alerts.compensation_timeout.after_sec, 1);

	p = panel(d, "timeseries", "Kafka Consumer Lag", "Messages behind on "
	    "the saga topic: each replica's lag over its partitions, and "
	    "per partition where reported; the dashed line is the "
	    "SagaTrackerConsumerLag threshold (on the worst replica).", 12,
	    12, 12, 8);
	targetf(p, "{{instance}}", 0, "max by (instance) ("
	    "saga_tracker_consumer_lag{%s, partition=\"\"})", d->job);
	targetf(p, "partition {{partition}}", 0, "max by (partition) "
	    "(saga_tracker_consumer_lag{%s, partition!=\"\"})", d->job);
	unit(p, "short");
	threshold(p, cfg->alerts.consumer_lag.threshold, 1);
}

static void
failed_table(struct dash *d)
{
	json_t		*p;

	p = panel(d, "table", "Recent Failed Sagas", "FAILED and "
	    "COMPENSATING sagas updated in the time range, newest first "
	    "(PostgreSQL).", 0, 20, 24, 9);
	json_object_set_new(p, "datasource", pg_ds());
	json_object_set_new(p, "options", jpack("{s:b, s:s, s:{s:b}}",
	    "showHeader", 1, "cellHeight", "sm", "footer", "show", 0));
	json_array_append_new(json_object_get(p, "targets"), jpack(
	    "{s:s, s:o, s:s, s:s, s:b, s:s}", "refId", "A",
	    "datasource", pg_ds(), "editorMode", "code",
	    "format", "table", "rawQuery", 1, "rawSql",
	    "SELECT saga_id, saga_type, order_id, status, current_step,\n"
	    "       failed_at, failure_reason, updated_at\n"
	    "FROM saga_instance\n"
	    "WHERE status IN ('FAILED', 'COMPENSATING')\n"
	    "  AND $__timeFilter(updated_at)\n"
	    "ORDER BY updated_at DESC\n"
	    "LIMIT 100"));
}

static void
api_row(struct dash *d)
{
	json_t		*p;

	p = panel(d, "timeseries", "API Latency P95 / P99", "HTTP latency by "
	    "route template and method.", 0, 29, 12, 8);
	targetf(p, "P95 {{method}} {{endpoint}}", 0, "histogram_quantile("
	    "0.95, sum by (le, endpoint, method) (rate("
	    "saga_tracker_api_latency_seconds_bucket{%s}"
	    "[$__rate_interval])))", d->job);
	targetf(p, "P99 {{method}} {{endpoint}}", 0, "histogram_quantile("
	    "0.99, sum by (le, endpoint, method) (rate("
	    "saga_tracker_api_latency_seconds_bucket{%s}"
	    "[$__rate_interval])))", d->job);
	unit(p, "s");

	p = panel(d, "timeseries", "API Request Rate", "HTTP requests per "
	    "second by route template and method.", 12, 29, 12, 8);
	targetf(p, "{{method}} {{endpoint}}", 0, "sum by (endpoint, method) "
	    "(rate(saga_tracker_api_latency_seconds_count{%s}"
	    "[$__rate_interval]))", d->job);
	unit(p, "reqps");
}

static void
db_row(struct dash *d)
{
	json_t		*p;

	p = panel(d, "timeseries", "DB Query Latency P95", "PostgreSQL "
	    "statement latency by query name.", 0, 37, 12, 8);
	targetf(p, "{{query}}", 0, "histogram_quantile(0.95, sum by (le, "
	    "query) (rate(saga_tracker_db_query_seconds_bucket{%s}"
	    "[$__rate_interval])))", d->job);
	unit(p, "s");

	p = panel(d, "timeseries", "DB Query Mean Latency", "Mean PostgreSQL "
	    "statement latency by query name; no value while idle.", 12, 37,
	    12, 8);
	targetf(p, "{{query}}", 0, "sum by (query) (rate("
	    "saga_tracker_db_query_seconds_sum{%s}[$__rate_interval])) / "
	    "(sum by (query) (rate(saga_tracker_db_query_seconds_count{%s}"
	    "[$__rate_interval])) > 0)", d->job, d->job);
	unit(p, "s");
}

static json_t *
templating(void)
{
	return (jpack("{s:[{s:s, s:s, s:s, s:s, s:{}, s:i, s:[], s:i, "
	    "s:s}, {s:s, s:s, s:s, s:s, s:{}, s:i, s:[], s:i, s:s}]}",
	    "list",
	    "name", "datasource", "label", "Prometheus", "type", "datasource",
	    "query", "prometheus", "current", "hide", 0, "options",
	    "refresh", 1, "regex", "",
	    "name", "postgres", "label", "PostgreSQL", "type", "datasource",
	    "query", "postgres", "current", "hide", 0, "options",
	    "refresh", 1, "regex", ""));
}

static json_t *
dashboard(const struct config *cfg)
{
	struct dash	 d;
	json_t		*root;

	d.cfg = cfg;
	d.panels = json_array();
	d.next_id = 1;
	mon_textf(d.job, sizeof(d.job), "job=\"%s\"", cfg->monitoring.job);

	stats_row(&d);
	distribution_row(&d);
	compensation_row(&d);
	failed_table(&d);
	api_row(&d);
	db_row(&d);

	root = jpack("{s:{s:[{s:i, s:{s:s, s:s}, s:b, s:b, s:s, s:s, s:s}]}, "
	    "s:s, s:b, s:i, s:n, s:[{s:s, s:s, s:s, s:b, s:s}], s:o, s:s, "
	    "s:i, s:[s, s], s:o, s:{s:s, s:s}, s:{}, s:s, s:s, s:s, s:i}",
	    "annotations", "list", "builtIn", 1, "datasource", "type",
	    "grafana", "uid", "-- Grafana --", "enable", 1, "hide", 1,
	    "iconColor", "rgba(0, 211, 255, 1)", "name",
	    "Annotations & Alerts", "type", "dashboard",
	    "description", "saga-tracker: saga states, failures, "
	    "compensations, Kafka lag, API and database latency.",
	    "editable", 1, "graphTooltip", 1, "id",
	    "links", "title", "Runbooks", "type", "link", "url",
	    cfg->monitoring.runbook_base_url, "targetBlank", 1, "icon", "doc",
	    "panels", d.panels, "refresh", "30s", "schemaVersion", 39,
	    "tags", "saga-tracker", "saga", "templating", templating(),
	    "time", "from", "now-6h", "to", "now", "timepicker",
	    "timezone", "utc", "title", "Saga Tracker", "uid", MON_DASH_UID,
	    "version", 1);

	return (root);
}
