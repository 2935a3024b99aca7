/*
 * monitoring-rules: the saga-tracker alerts (issues 6 and 15) and its
 * service level objectives, rendered twice from one text: as a plain
 * Prometheus rules file for promtool and as the spec of a
 * monitoring.coreos.com/v1 PrometheusRule.
 *
 * Every alert aggregates by (namespace, job): two environments in one
 * Prometheus stay apart, and the namespace label the Alertmanager route
 * and the AlertmanagerConfig match on survives.  With
 * monitoring.cluster_label set (a Thanos or federated Prometheus sees
 * several clusters), that label joins every by and on: (cluster,
 * namespace, job).  The absent() form of SagaTrackerDown cannot know
 * a cluster and has none.
 *
 *	SagaFailureSpike	sum of increase(saga_failed_total[window])
 *				> threshold: a counter, so the replicas'
 *				shares add up
 *	SagaCompensationTimeout	max of the oldest pending age > after: a
 *				gauge read from the database, the same on
 *				every replica, so never summed
 *	SagaTrackerConsumerLag	max of the group's lag (the series without
 *				a partition label) > threshold
 *	SagaTrackerDown		up == 0 for any target (its instance named),
 *				or no target at all (instance "no target
 *				scraped")
 *	SagaTrackerDatabaseDown	max of saga_tracker_db_up == 0: no replica
 *				reaches PostgreSQL
 *	SagaTrackerGaugesStale	max of saga_tracker_gauges_age_seconds >
 *				after: some replica serves frozen gauges
 *	SagaTrackerConsumerStalled  lag > 0 unless an event was applied
 *				or rejected within after
 *	SagaTrackerConsumerLagStale  min of
 *				saga_tracker_consumer_lag_age_seconds > after:
 *				no replica has read the lag from the broker,
 *				so SagaTrackerConsumerLag is blind
 *	SagaEventsRejected	info: increase of saga_events_rejected_total
 *				within window > 0, by reason (an anomaly:
 *				producers send what the contract refuses, or
 *				report conflicting outcomes)
 *
 * Summaries and descriptions carry {{ $value | humanize }} and labels
 * ({{ $labels.namespace }}, {{ $labels.instance }}, {{ $labels.reason }})
 * besides the configured values.
 *
 * SLOs (group saga-tracker.slo), in the style of Sloth and Pyrra: one
 * recording rule per SLO and window,
 * saga_tracker:slo_errors:ratio_rate<window>{slo="<key>"}, the share of
 * bad events, and two alerts per SLO under one name: critical when the
 * 1h and the 5m error ratios both exceed 14.4 times the budget (2% of a
 * 30-day budget in an hour), warning when the 6h and the 30m ratios
 * exceed 6 times (5% in six hours), as the SRE workbook's multiwindow,
 * multi-burn-rate alerts.  The SLIs:
 *
 *	api_availability	the share of 5xx answers among the API
 *				requests (saga_tracker_api_latency_seconds_count
 *				by its code label; the /actuator/ routes and
 *				requests refused before routing are not API
 *				requests); a 4xx is the client's error, not
 *				the service's
 *	api_latency		1 - share of API requests within threshold
 *				(saga_tracker_api_latency_seconds_bucket; the
 *				same API requests as api_availability)
 *	event_freshness		1 - share of events applied within
 *				threshold of their Kafka timestamp
 *				(saga_tracker_event_delay_seconds_bucket)
 *
 * Every ratio divides by "(total > 0)": an idle window has no ratio,
 * so neither alert can fire on it.  A window with requests and no 5xx
 * series at all has a ratio of 0 ("or 0 * total"), not none.
 */

#include <stdio.h>
#include <string.h>

#include "monitoring.h"

#define BY		"by (namespace, job)"
#define ON		"on (namespace, job)"

const char *const mon_slo_windows[MON_SLO_WINDOWS] = {
	"5m", "30m", "1h", "6h"
};

/* Long window, short window, factor, for, severity: the workbook's. */
static const struct {
	const char	*long_w;
	const char	*short_w;
	double		 factor;
	const char	*for_text;
	const char	*severity;
	const char	*pace;
} burns[BURN_COUNT] = {
	{ "1h", "5m", 14.4, "2m", "critical", "fast" },
	{ "6h", "30m", 6, "15m", "warning", "slow" },
};

static void	build_failure_spike(const struct config *, struct mon_alert *);
static void	build_compensation_timeout(const struct config *,
		    struct mon_alert *);
static void	build_consumer_lag(const struct config *, struct mon_alert *);
static void	build_service_down(const struct config *, struct mon_alert *);
static void	build_database_down(const struct config *, struct mon_alert *);
static void	build_gauges_stale(const struct config *, struct mon_alert *);
static void	build_consumer_stalled(const struct config *,
		    struct mon_alert *);
static void	build_lag_stale(const struct config *, struct mon_alert *);
static void	build_rejected_events(const struct config *,
		    struct mon_alert *);
static void	build_common(const struct config *, struct mon_alert *,
		    const char *, const struct config_alert *);
static void	build_slo(const struct config *, struct mon_slo *,
		    enum mon_slo_id);
static void	build_burn(const struct config *, struct mon_slo *,
		    enum mon_burn_id);
static void	slo_ratio(char *, size_t, const char *, const char *,
		    const char *, double);
static void	slo_availability(char *, size_t, const char *);
static void	render_groups(struct strbuf *, const struct mon_alert *,
		    const struct mon_slo *);
static void	render_rule(struct strbuf *, const struct mon_alert *,
		    const char *);

void
mon_alerts_build(const struct config *cfg, struct mon_alert a[ALERT_COUNT])
{
	int		i;

	build_failure_spike(cfg, &a[ALERT_FAILURE_SPIKE]);
	build_compensation_timeout(cfg, &a[ALERT_COMPENSATION_TIMEOUT]);
	build_consumer_lag(cfg, &a[ALERT_CONSUMER_LAG]);
	build_service_down(cfg, &a[ALERT_SERVICE_DOWN]);
	build_database_down(cfg, &a[ALERT_DATABASE_DOWN]);
	build_gauges_stale(cfg, &a[ALERT_GAUGES_STALE]);
	build_consumer_stalled(cfg, &a[ALERT_CONSUMER_STALLED]);
	build_lag_stale(cfg, &a[ALERT_LAG_STALE]);
	build_rejected_events(cfg, &a[ALERT_REJECTED_EVENTS]);
	for (i = 0; i < ALERT_COUNT; i++)
		mon_scope_expr(cfg, a[i].expr, sizeof(a[i].expr));
}

void
mon_slos_build(const struct config *cfg, struct mon_slo s[SLO_COUNT])
{
	int		i;

	for (i = 0; i < SLO_COUNT; i++)
		build_slo(cfg, &s[i], (enum mon_slo_id)i);
}

void
mon_rules_render(const struct config *cfg, struct mon_output *out,
    const char *dir)
{
	struct mon_alert	 alerts[ALERT_COUNT];
	struct mon_slo		 slos[SLO_COUNT];
	struct strbuf		 groups, *b;

	mon_alerts_build(cfg, alerts);
	mon_slos_build(cfg, slos);
	strbuf_init(&groups, 0);
	render_groups(&groups, alerts, slos);

	b = mon_output_add(out, dir, "prometheus/saga-tracker-rules.yml");
	mon_header(b, cfg->path);
	strbuf_str(b, groups.data);

	b = mon_output_add(out, dir, "kubernetes/prometheus-rules.yaml");
	mon_header(b, cfg->path);
	strbuf_str(b, "apiVersion: monitoring.coreos.com/v1\n"
	    "kind: PrometheusRule\n");
	mon_metadata(b, cfg, MON_APP, cfg->monitoring.namespace, NULL);
	strbuf_str(b, "spec:\n");
	mon_indent_block(b, groups.data, 2);

	strbuf_free(&groups);
}

static void
build_failure_spike(const struct config *cfg, struct mon_alert *a)
{
	const struct config_alert	*c = &cfg->alerts.failure_spike;
	char				 thr[MON_NUM_MAX], win[MON_NUM_MAX];

	build_common(cfg, a, "SagaFailureSpike", c);
	mon_number(c->threshold, thr, sizeof(thr));
	mon_duration(c->window_sec, win, sizeof(win));

	mon_textf(a->expr, sizeof(a->expr), "sum " BY " (increase("
	    "saga_failed_total{job=\"%s\"}[%s])) > %s",
	    cfg->monitoring.job, win, thr);
	mon_textf(a->summary, sizeof(a->summary), "{{ $value | humanize }} "
	    "sagas failed within %s (more than %s)", win, thr);
	mon_textf(a->description, sizeof(a->description), "{{ $value | "
	    "humanize }} sagas entered the failure path (FAILED, "
	    "COMPENSATING or COMPENSATED) within %s, summed over every "
	    "replica of job %s in namespace {{ $labels.namespace }}, more "
	    "than %s for at least %s. A saga step is failing: list the "
	    "failures with GET /api/v1/sagas?status=FAILED and look for a "
	    "common currentStep and failureReason.", win, cfg->monitoring.job,
	    thr, a->for_text);
}

static void
build_compensation_timeout(const struct config *cfg, struct mon_alert *a)
{
	const struct config_alert	*c = &cfg->alerts.compensation_timeout;
	char				 after[MON_NUM_MAX];

	build_common(cfg, a, "SagaCompensationTimeout", c);
	mon_duration(c->after_sec, after, sizeof(after));

	mon_textf(a->expr, sizeof(a->expr), "max " BY " ("
	    "saga_compensation_pending_oldest_seconds{job=\"%s\"}) > %u",
	    cfg->monitoring.job, c->after_sec);
	mon_textf(a->summary, sizeof(a->summary), "A failed saga has waited "
	    "{{ $value | humanize }}s for compensation (more than %s)",
	    after);
	mon_textf(a->description, sizeof(a->description), "The oldest "
	    "failed-path saga that is not yet COMPENSATED is {{ $value | "
	    "humanize }}s old, more than %s "
	    "(saga_compensation_pending_oldest_seconds, max over the "
	    "replicas of job %s in namespace {{ $labels.namespace }}) for at "
	    "least %s. A compensating service is stuck or never reported "
	    "COMPENSATED: the order may still hold stock or money.", after,
	    cfg->monitoring.job, a->for_text);
}

static void
build_consumer_lag(const struct config *cfg, struct mon_alert *a)
{
	const struct config_alert	*c = &cfg->alerts.consumer_lag;
	char				 thr[MON_NUM_MAX];

	build_common(cfg, a, "SagaTrackerConsumerLag", c);
	mon_number(c->threshold, thr, sizeof(thr));

	mon_textf(a->expr, sizeof(a->expr), "max " BY " ("
	    "saga_tracker_consumer_lag{job=\"%s\", partition=\"\"}) > %s",
	    cfg->monitoring.job, thr);
	mon_textf(a->summary, sizeof(a->summary), "saga-tracker is {{ $value "
	    "| humanize }} events behind on %s (more than %s)",
	    cfg->kafka.topic, thr);
	mon_textf(a->description, sizeof(a->description), "Consumer group %s "
	    "lags {{ $value | humanize }} messages on topic %s, more than %s "
	    "(saga_tracker_consumer_lag as read from the broker, job %s in "
	    "namespace {{ $labels.namespace }}) for at least %s. Saga state, "
	    "the API and the saga metrics are stale by that much.",
	    cfg->kafka.group, cfg->kafka.topic, thr, cfg->monitoring.job,
	    a->for_text);
}

static void
build_service_down(const struct config *cfg, struct mon_alert *a)
{
	const char	*job = cfg->monitoring.job;
	const char	*ns = cfg->monitoring.service_namespace;

	build_common(cfg, a, "SagaTrackerDown", &cfg->alerts.service_down);

	mon_textf(a->expr, sizeof(a->expr), "up{job=\"%s\", namespace=\"%s\"} "
	    "== 0 or label_replace(absent(up{job=\"%s\", namespace=\"%s\"}), "
	    "\"instance\", \"%s\", \"\", \"\")", job, ns, job, ns,
	    MON_NO_TARGET);
	mon_textf(a->summary, sizeof(a->summary), "saga-tracker is down: "
	    "{{ $labels.instance }} (job %s)", job);
	mon_textf(a->description, sizeof(a->description), "Prometheus "
	    "cannot scrape saga-tracker target {{ $labels.instance }} of job "
	    "%s in namespace %s (up == 0), or no such target exists "
	    "(\"%s\"), for at least %s. Saga events are not being tracked "
	    "there and the other saga alerts are blind (Alertmanager mutes "
	    "them meanwhile).", job, ns, MON_NO_TARGET, a->for_text);
}

static void
build_database_down(const struct config *cfg, struct mon_alert *a)
{
	build_common(cfg, a, "SagaTrackerDatabaseDown",
	    &cfg->alerts.database_down);

	mon_textf(a->expr, sizeof(a->expr), "max " BY " (saga_tracker_db_up"
	    "{job=\"%s\"}) == 0", cfg->monitoring.job);
	mon_textf(a->summary, sizeof(a->summary), "saga-tracker cannot reach "
	    "its database (job %s)", cfg->monitoring.job);
	mon_textf(a->description, sizeof(a->description), "The last database "
	    "check of every replica of job %s in namespace "
	    "{{ $labels.namespace }} failed (saga_tracker_db_up = "
	    "{{ $value }}) for at least %s. No event is applied, readiness "
	    "is DOWN, the API answers errors and the saga gauges are frozen "
	    "at their last value.",
	    cfg->monitoring.job, a->for_text);
}

static void
build_gauges_stale(const struct config *cfg, struct mon_alert *a)
{
	const struct config_alert	*c = &cfg->alerts.gauges_stale;
	char				 after[MON_NUM_MAX];

	build_common(cfg, a, "SagaTrackerGaugesStale", c);
	mon_duration(c->after_sec, after, sizeof(after));

	mon_textf(a->expr, sizeof(a->expr), "max " BY " ("
	    "saga_tracker_gauges_age_seconds{job=\"%s\"}) > %u",
	    cfg->monitoring.job, c->after_sec);
	mon_textf(a->summary, sizeof(a->summary), "saga gauges not refreshed "
	    "for {{ $value | humanize }}s (more than %s)", after);
	mon_textf(a->description, sizeof(a->description), "A replica of job "
	    "%s in namespace {{ $labels.namespace }} last refreshed its "
	    "database-derived gauges (saga_active_total, "
	    "saga_compensation_pending, "
	    "saga_compensation_pending_oldest_seconds) {{ $value | humanize "
	    "}}s ago, more than %s, for at least %s: they show old values, "
	    "and SagaCompensationTimeout judges by them.",
	    cfg->monitoring.job, after, a->for_text);
}

static void
build_consumer_stalled(const struct config *cfg, struct mon_alert *a)
{
	const struct config_alert	*c = &cfg->alerts.consumer_stalled;
	const char			*job = cfg->monitoring.job;
	char				 after[MON_NUM_MAX];

	build_common(cfg, a, "SagaTrackerConsumerStalled", c);
	mon_duration(c->after_sec, after, sizeof(after));

	mon_textf(a->expr, sizeof(a->expr), "(max " BY " ("
	    "saga_tracker_consumer_lag{job=\"%s\", partition=\"\"}) > 0) "
	    "unless " ON " (sum " BY " (increase("
	    "saga_events_processed_total{job=\"%s\"}[%s])) > 0) "
	    "unless " ON " (sum " BY " (increase("
	    "saga_events_rejected_total{job=\"%s\"}[%s])) > 0)",
	    job, job, after, job, after);
	mon_textf(a->summary, sizeof(a->summary), "saga-tracker stalled: "
	    "{{ $value | humanize }} events waiting, none applied within %s",
	    after);
	mon_textf(a->description, sizeof(a->description), "Consumer group %s "
	    "has {{ $value | humanize }} messages to read on topic %s, but "
	    "no replica of job %s in namespace {{ $labels.namespace }} "
	    "applied or rejected an event within %s, for at least %s. The "
	    "consumer is stuck (no partitions, a rebalance that does not "
	    "end, a batch that cannot commit) while the lag may still be "
	    "under the SagaTrackerConsumerLag threshold.", cfg->kafka.group,
	    cfg->kafka.topic, job, after, a->for_text);
}

static void
build_lag_stale(const struct config *cfg, struct mon_alert *a)
{
	const struct config_alert	*c = &cfg->alerts.lag_stale;
	char				 after[MON_NUM_MAX];

	build_common(cfg, a, "SagaTrackerConsumerLagStale", c);
	mon_duration(c->after_sec, after, sizeof(after));

	mon_textf(a->expr, sizeof(a->expr), "min " BY " ("
	    "saga_tracker_consumer_lag_age_seconds{job=\"%s\"}) > %u",
	    cfg->monitoring.job, c->after_sec);
	mon_textf(a->summary, sizeof(a->summary), "Kafka lag unknown for "
	    "{{ $value | humanize }}s (more than %s)", after);
	mon_textf(a->description, sizeof(a->description), "No replica of job "
	    "%s in namespace {{ $labels.namespace }} has read the lag of "
	    "group %s from the broker for {{ $value | humanize }}s, more "
	    "than %s, for at least %s "
	    "(saga_tracker_consumer_lag_age_seconds). The broker is "
	    "unreachable or slow: saga_tracker_consumer_lag is an old value "
	    "and SagaTrackerConsumerLag is blind.", cfg->monitoring.job,
	    cfg->kafka.group, after, a->for_text);
}

static void
build_rejected_events(const struct config *cfg, struct mon_alert *a)
{
	const struct config_alert	*c = &cfg->alerts.rejected_events;
	char				 win[MON_NUM_MAX];

	build_common(cfg, a, "SagaEventsRejected", c);
	mon_duration(c->window_sec, win, sizeof(win));

	mon_textf(a->expr, sizeof(a->expr), "sum by (namespace, job, reason) "
	    "(increase(saga_events_rejected_total{job=\"%s\"}[%s])) > 0",
	    cfg->monitoring.job, win);
	mon_textf(a->summary, sizeof(a->summary), "Saga events rejected: "
	    "{{ $labels.reason }} (about {{ $value | humanize }} within %s)",
	    win);
	mon_textf(a->description, sizeof(a->description), "About {{ $value | "
	    "humanize }} events on topic %s were rejected with reason {{ "
	    "$labels.reason }} within %s (saga_events_rejected_total, job %s "
	    "in namespace {{ $labels.namespace }}). An anomaly, not an "
	    "outage: a producer sends events the contract refuses (they wait "
	    "in saga_event_rejected) or reports conflicting outcomes.",
	    cfg->kafka.topic, win, cfg->monitoring.job);
}

static void
build_common(const struct config *cfg, struct mon_alert *a, const char *name,
    const struct config_alert *c)
{
	a->name = name;
	a->severity = config_severity_name(c->severity);
	mon_duration(c->for_sec, a->for_text, sizeof(a->for_text));
	mon_textf(a->runbook_url, sizeof(a->runbook_url), "%s/%s.md",
	    cfg->monitoring.runbook_base_url, name);
}

/* ---------------------------------------------------------------- */
/* SLOs									*/

static void
build_slo(const struct config *cfg, struct mon_slo *s, enum mon_slo_id id)
{
	const struct config_slo	*c;
	const char		*job = cfg->monitoring.job;
	int			 b;

	switch (id) {
	case SLO_API_AVAILABILITY:
		c = &cfg->slo.api_availability;
		s->key = "api_availability";
		s->title = "API availability";
		s->alert = "SagaTrackerApiAvailabilityBudgetBurn";
		s->good = "API requests answered without a 5xx status";
		slo_availability(s->errors, sizeof(s->errors), job);
		break;
	case SLO_API_LATENCY:
		c = &cfg->slo.api_latency;
		s->key = "api_latency";
		s->title = "API latency";
		s->alert = "SagaTrackerApiLatencyBudgetBurn";
		s->good = "API requests answered within the threshold";
		slo_ratio(s->errors, sizeof(s->errors),
		    "saga_tracker_api_latency_seconds", job,
		    ", " MON_API_REQUESTS, c->threshold_sec);
		break;
	default:
		c = &cfg->slo.event_freshness;
		s->key = "event_freshness";
		s->title = "Event freshness";
		s->alert = "SagaTrackerEventFreshnessBudgetBurn";
		s->good = "events applied within the threshold of their "
		    "Kafka timestamp";
		slo_ratio(s->errors, sizeof(s->errors),
		    "saga_tracker_event_delay_seconds", job, "",
		    c->threshold_sec);
		break;
	}

	s->objective = c->objective;
	(void)snprintf(s->budget, sizeof(s->budget), "%.10g",
	    (100 - c->objective) / 100);
	mon_scope_expr(cfg, s->errors, sizeof(s->errors));
	for (b = 0; b < BURN_COUNT; b++) {
		build_burn(cfg, s, (enum mon_burn_id)b);
		mon_scope_expr(cfg, s->burn[b].expr, sizeof(s->burn[b].expr));
	}
}

/*
 * 1 - good/total of a histogram, "%s" left for the window; sel is more
 * label matchers (", name=value"), or "".
 */
static void
slo_ratio(char *buf, size_t len, const char *hist, const char *job,
    const char *sel, double threshold)
{
	char		le[MON_NUM_MAX];

	mon_number(threshold, le, sizeof(le));
	mon_textf(buf, len, "1 - (sum " BY " (rate(%s_bucket{job=\"%s\"%s, "
	    "le=\"%s\"}[%%s])) / (sum " BY " (rate(%s_count{job=\"%s\"%s}"
	    "[%%s])) > 0))", hist, job, sel, le, hist, job, sel);
}

/*
 * 5xx answers / all answers of the API requests, "%s" left for the
 * window; with requests but no 5xx series, 0.
 */
static void
slo_availability(char *buf, size_t len, const char *job)
{
	char		all[MON_EXPR_MAX];

	mon_textf(all, sizeof(all), "sum " BY " (rate(" MON_API_COUNT
	    "{job=\"%s\", " MON_API_REQUESTS "}[%%s]))", job);
	mon_textf(buf, len, "(sum " BY " (rate(" MON_API_COUNT "{job=\"%s\", "
	    MON_API_REQUESTS ", code=~\"5..\"}[%%s])) or 0 * %s) / (%s > 0)",
	    job, all, all);
}

static void
build_burn(const struct config *cfg, struct mon_slo *s, enum mon_burn_id id)
{
	struct mon_alert	*a = &s->burn[id];
	const char		*job = cfg->monitoring.job;
	char			 obj[MON_NUM_MAX], factor[MON_NUM_MAX];
	char			 left[MON_NUM_MAX];

	mon_number(s->objective, obj, sizeof(obj));
	mon_number(burns[id].factor, factor, sizeof(factor));
	mon_duration((unsigned int)(30 * 86400 / burns[id].factor), left,
	    sizeof(left));

	a->name = s->alert;
	a->severity = burns[id].severity;
	mon_textf(a->for_text, sizeof(a->for_text), "%s", burns[id].for_text);
	mon_textf(a->runbook_url, sizeof(a->runbook_url), "%s/%s.md",
	    cfg->monitoring.runbook_base_url, s->alert);
	mon_textf(a->expr, sizeof(a->expr), "%s%s{job=\"%s\", slo=\"%s\"} > "
	    "%s * %s and " ON " %s%s{job=\"%s\", slo=\"%s\"} > %s * %s",
	    MON_SLO_RECORD, burns[id].long_w, job, s->key, factor, s->budget,
	    MON_SLO_RECORD, burns[id].short_w, job, s->key, factor,
	    s->budget);
	mon_textf(a->summary, sizeof(a->summary), "%s SLO (%s%% over 30d): "
	    "error budget burning %sx %s", s->title, obj, factor,
	    burns[id].pace);
	mon_textf(a->description, sizeof(a->description), "{{ $value | "
	    "humanizePercentage }} of the last %s failed the %s SLO of job %s "
	    "in namespace {{ $labels.namespace }} (good: %s; budget %s), and "
	    "the last %s too: more than %s times the budget. At this rate the "
	    "30-day error budget is spent in %s.", burns[id].long_w, s->title,
	    job, s->good, s->budget, burns[id].short_w, factor, left);
}

/* ---------------------------------------------------------------- */
/* rendering								*/

static void
render_groups(struct strbuf *b, const struct mon_alert *alerts,
    const struct mon_slo *slos)
{
	char		 expr[MON_EXPR_MAX];
	size_t		 i, w;
	int		 k;

	strbuf_printf(b, "groups:\n"
	    "  - name: %s\n"
	    "    rules:\n", MON_RULE_GROUP);
	for (i = 0; i < ALERT_COUNT; i++)
		render_rule(b, &alerts[i], NULL);

	strbuf_printf(b, "  - name: %s\n"
	    "    rules:\n", MON_SLO_GROUP);
	for (i = 0; i < SLO_COUNT; i++) {
		for (w = 0; w < MON_SLO_WINDOWS; w++) {
			mon_textf(expr, sizeof(expr), slos[i].errors,
			    mon_slo_windows[w], mon_slo_windows[w],
			    mon_slo_windows[w]);
			strbuf_printf(b, "      - record: %s%s\n"
			    "        expr: ", MON_SLO_RECORD,
			    mon_slo_windows[w]);
			mon_yaml_str(b, expr);
			strbuf_printf(b, "\n        labels:\n"
			    "          slo: %s\n", slos[i].key);
		}
		for (k = 0; k < BURN_COUNT; k++)
			render_rule(b, &slos[i].burn[k], slos[i].key);
	}
}

static void
render_rule(struct strbuf *b, const struct mon_alert *a, const char *slo)
{
	strbuf_printf(b, "      - alert: %s\n        expr: ", a->name);
	mon_yaml_str(b, a->expr);
	strbuf_printf(b, "\n        for: %s\n"
	    "        labels:\n"
	    "          severity: %s\n", a->for_text, a->severity);
	if (slo != NULL)
		strbuf_printf(b, "          slo: %s\n", slo);
	strbuf_str(b, "        annotations:\n"
	    "          summary: ");
	mon_yaml_str(b, a->summary);
	strbuf_str(b, "\n          description: ");
	mon_yaml_str(b, a->description);
	strbuf_str(b, "\n          runbook_url: ");
	mon_yaml_str(b, a->runbook_url);
	strbuf_str(b, "\n");
}
