/*
 * monitoring-rules: the four saga-tracker alerts (issue #6), rendered
 * twice from one text: as a plain Prometheus rules file for promtool
 * and as the spec of a monitoring.coreos.com/v1 PrometheusRule.
 *
 *	SagaFailureSpike	sum by (job) (increase(saga_failed_total
 *				[window])) > threshold: a counter, so the
 *				replicas' shares add up
 *	SagaCompensationTimeout	max by (job) of the oldest pending age >
 *				after: a gauge read from the database, the
 *				same on every replica, so never summed
 *	SagaTrackerConsumerLag	max by (job) of each replica's lag over its
 *				assigned partitions (the series without a
 *				partition label) > threshold: the worst
 *				consumer decides
 *	SagaTrackerDown		up == 0 for any target of the job, or no
 *				target at all
 *
 * Annotations are plain text with the configured values written in, no
 * templates: what a notification says is what the configuration says.
 */

#include <stdio.h>

#include "monitoring.h"

static void	build_failure_spike(const struct config *, struct mon_alert *);
static void	build_compensation_timeout(const struct config *,
		    struct mon_alert *);
static void	build_consumer_lag(const struct config *, struct mon_alert *);
static void	build_service_down(const struct config *, struct mon_alert *);
static void	build_common(const struct config *, struct mon_alert *,
		    const char *, const struct config_alert *);
static void	render_groups(struct mbuf *, const struct mon_alert *);
static void	render_rule(struct mbuf *, const struct mon_alert *);

void
mon_alerts_build(const struct config *cfg, struct mon_alert a[ALERT_COUNT])
{
	build_failure_spike(cfg, &a[ALERT_FAILURE_SPIKE]);
	build_compensation_timeout(cfg, &a[ALERT_COMPENSATION_TIMEOUT]);
	build_consumer_lag(cfg, &a[ALERT_CONSUMER_LAG]);
	build_service_down(cfg, &a[ALERT_SERVICE_DOWN]);
}

void
mon_rules_render(const struct config *cfg, struct mon_output *out,
    const char *dir)
{
	struct mon_alert	 alerts[ALERT_COUNT];
	struct mbuf		 groups, *b;
	char			 ns[MON_TEXT_MAX];

	mon_yaml_scalar(cfg->monitoring.namespace, ns, sizeof(ns));
	mon_alerts_build(cfg, alerts);
	mbuf_init(&groups);
	render_groups(&groups, alerts);

	b = mon_output_add(out, dir, "prometheus/saga-tracker-rules.yml");
	mbuf_header(b, cfg->path);
	mbuf_puts(b, groups.data);

	b = mon_output_add(out, dir, "kubernetes/prometheus-rules.yaml");
	mbuf_header(b, cfg->path);
	mbuf_printf(b, "apiVersion: monitoring.coreos.com/v1\n"
	    "kind: PrometheusRule\n"
	    "metadata:\n"
	    "  name: %s\n"
	    "  namespace: %s\n"
	    "  labels:\n"
	    "    app.kubernetes.io/name: %s\n"
	    "    app.kubernetes.io/component: monitoring\n"
	    "spec:\n", MON_APP, ns, MON_APP);
	mbuf_indent_block(b, groups.data, 2);

	mbuf_free(&groups);
}

static void
build_failure_spike(const struct config *cfg, struct mon_alert *a)
{
	const struct config_alert	*c = &cfg->alerts.failure_spike;
	char				 thr[MON_NUM_MAX], win[MON_NUM_MAX];

	build_common(cfg, a, "SagaFailureSpike", c);
	mon_number(c->threshold, thr, sizeof(thr));
	mon_duration(c->window_sec, win, sizeof(win));

	mon_textf(a->expr, sizeof(a->expr), "sum by (job) (increase("
	    "saga_failed_total{job=\"%s\"}[%s])) > %s",
	    cfg->monitoring.job, win, thr);
	mon_textf(a->summary, sizeof(a->summary), "More than %s sagas "
	    "failed within %s", thr, win);
	mon_textf(a->description, sizeof(a->description), "More than %s "
	    "sagas entered the failure path (FAILED, COMPENSATING or "
	    "COMPENSATED) within %s, summed over every replica of job %s, "
	    "for at least %s. A saga step is failing: list the failures "
	    "with GET /api/v1/sagas?status=FAILED and look for a common "
	    "currentStep and failureReason.", thr, win, cfg->monitoring.job,
	    a->for_text);
}

static void
build_compensation_timeout(const struct config *cfg, struct mon_alert *a)
{
	const struct config_alert	*c = &cfg->alerts.compensation_timeout;
	char				 after[MON_NUM_MAX];

	build_common(cfg, a, "SagaCompensationTimeout", c);
	mon_duration(c->after_sec, after, sizeof(after));

	mon_textf(a->expr, sizeof(a->expr), "max by (job) ("
	    "saga_compensation_pending_oldest_seconds{job=\"%s\"}) > %u",
	    cfg->monitoring.job, c->after_sec);
	mon_textf(a->summary, sizeof(a->summary), "A failed saga has waited "
	    "more than %s for compensation", after);
	mon_textf(a->description, sizeof(a->description), "The oldest "
	    "failed-path saga that is not yet COMPENSATED is older than %s "
	    "(saga_compensation_pending_oldest_seconds, max over the "
	    "replicas of job %s) for at least %s. A compensating service is "
	    "stuck or never reported COMPENSATED: the order may still hold "
	    "stock or money.", after, cfg->monitoring.job, a->for_text);
}

static void
build_consumer_lag(const struct config *cfg, struct mon_alert *a)
{
	const struct config_alert	*c = &cfg->alerts.consumer_lag;
	char				 thr[MON_NUM_MAX];

	build_common(cfg, a, "SagaTrackerConsumerLag", c);
	mon_number(c->threshold, thr, sizeof(thr));

	mon_textf(a->expr, sizeof(a->expr), "max by (job) ("
	    "saga_tracker_consumer_lag{job=\"%s\", partition=\"\"}) > %s",
	    cfg->monitoring.job, thr);
	mon_textf(a->summary, sizeof(a->summary), "saga-tracker is more "
	    "than %s events behind on %s", thr, cfg->kafka.topic);
	mon_textf(a->description, sizeof(a->description), "A consumer of "
	    "group %s lags more than %s messages on its partitions of topic "
	    "%s (saga_tracker_consumer_lag, the worst of the replicas of job "
	    "%s) for at least %s. Saga state, the API and the saga metrics "
	    "are stale by that much.", cfg->kafka.group, thr,
	    cfg->kafka.topic, cfg->monitoring.job, a->for_text);
}

static void
build_service_down(const struct config *cfg, struct mon_alert *a)
{
	const char	*job = cfg->monitoring.job;

	build_common(cfg, a, "SagaTrackerDown", &cfg->alerts.service_down);

	mon_textf(a->expr, sizeof(a->expr), "up{job=\"%s\"} == 0 or "
	    "absent(up{job=\"%s\"})", job, job);
	mon_textf(a->summary, sizeof(a->summary), "saga-tracker (job %s) is "
	    "down or not scraped", job);
	mon_textf(a->description, sizeof(a->description), "Prometheus "
	    "cannot scrape a saga-tracker target of job %s (up == 0), or no "
	    "such target exists (absent), for at least %s. Saga events are "
	    "not being tracked and the other saga alerts are blind.", job,
	    a->for_text);
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

static void
render_groups(struct mbuf *b, const struct mon_alert *alerts)
{
	size_t		i;

	mbuf_printf(b, "groups:\n"
	    "  - name: %s\n"
	    "    rules:\n", MON_RULE_GROUP);
	for (i = 0; i < ALERT_COUNT; i++)
		render_rule(b, &alerts[i]);
}

static void
render_rule(struct mbuf *b, const struct mon_alert *a)
{
	mbuf_printf(b, "      - alert: %s\n        expr: ", a->name);
	mbuf_yaml_str(b, a->expr);
	mbuf_printf(b, "\n        for: %s\n"
	    "        labels:\n"
	    "          severity: %s\n"
	    "        annotations:\n"
	    "          summary: ", a->for_text, a->severity);
	mbuf_yaml_str(b, a->summary);
	mbuf_puts(b, "\n          description: ");
	mbuf_yaml_str(b, a->description);
	mbuf_puts(b, "\n          runbook_url: ");
	mbuf_yaml_str(b, a->runbook_url);
	mbuf_puts(b, "\n");
}
