/*
 * monitoring: shared declarations of tools/monitoring-gen, the program
 * that turns conf/saga-tracker.yaml into the monitoring manifests.
 *
 * Every generator module renders its files into a struct mon_output in
 * memory, one struct strbuf (src/strbuf.h) per file; monitoring-gen
 * writes them only once all rendered, so a bad configuration leaves the
 * output directories untouched.
 *
 *	monitoring-output.c	the output files, quoting, numbers, writing
 *	monitoring-rules.c	the alerts: PrometheusRule and rules file
 *	monitoring-dashboard.c	the Grafana dashboard ConfigMap
 *	monitoring-scrape.c	the ServiceMonitor
 *	monitoring-alertmanager.c	the Alertmanager configuration
 *	monitoring-runbooks.c	one Markdown runbook per alert
 */

#ifndef SAGA_MONITORING_H
#define SAGA_MONITORING_H

#include <stddef.h>

#include "config.h"
#include "strbuf.h"

#define MON_FILES_MAX		32
#define MON_PATH_MAX		1024
#define MON_NUM_MAX		64
#define MON_EXPR_MAX		1024
#define MON_TEXT_MAX		1024
#define MON_ERR_MAX		(CONFIG_ERR_MAX + 256)

/* The service's names that the manifests and runbooks refer to. */
#define MON_APP			"saga-tracker"
#define MON_PORT_NAME		"http"
#define MON_PORT		8080
#define MON_METRICS_PATH	"/actuator/prometheus"
#define MON_SCRAPE_INTERVAL	"15s"
#define MON_TOKEN_ENV		"SAGA_TRACKER_INTERNAL_TOKEN"
#define MON_SECRETS_DIR		"/etc/alertmanager/secrets"
#define MON_RULE_GROUP		"saga-tracker.alerts"
#define MON_SLO_GROUP		"saga-tracker.slo"
#define MON_SLO_RECORD		"saga_tracker:slo_errors:ratio_rate"
#define MON_NO_TARGET		"no target scraped"
#define MON_DASH_UID		"saga-tracker"

/*
 * The API requests of slo.api_availability: every answer but those of
 * the /actuator/ routes (probes and scrapes) and of requests refused
 * before routing (malformed HTTP).
 */
#define MON_API_REQUESTS	"endpoint!~\"/actuator/.*|refused\""
#define MON_API_COUNT		"saga_tracker_api_latency_seconds_count"

enum mon_alert_id {
	ALERT_FAILURE_SPIKE = 0,
	ALERT_COMPENSATION_TIMEOUT,
	ALERT_CONSUMER_LAG,
	ALERT_SERVICE_DOWN,
	ALERT_DATABASE_DOWN,
	ALERT_GAUGES_STALE,
	ALERT_CONSUMER_STALLED,
	ALERT_LAG_STALE,
	ALERT_REJECTED_EVENTS,
	ALERT_COUNT
};

enum mon_slo_id {
	SLO_API_AVAILABILITY = 0,
	SLO_API_LATENCY,
	SLO_EVENT_FRESHNESS,
	SLO_COUNT
};

/* The two burn-rate alerts of every SLO (SRE workbook, chapter 5). */
enum mon_burn_id {
	BURN_FAST = 0,		/* 1h and 5m above 14.4x: critical */
	BURN_SLOW,		/* 6h and 30m above 6x: warning */
	BURN_COUNT
};

#define MON_SLO_WINDOWS		4	/* 5m 30m 1h 6h */

struct mon_file {
	char		 path[MON_PATH_MAX];
	struct strbuf	 body;
};

struct mon_output {
	size_t		 count;
	struct mon_file	 files[MON_FILES_MAX];
};

/* One alerting rule, every field rendered from the configuration. */
struct mon_alert {
	const char	*name;
	const char	*severity;
	char		 expr[MON_EXPR_MAX];
	char		 for_text[MON_NUM_MAX];
	char		 summary[MON_TEXT_MAX];
	char		 description[MON_TEXT_MAX];
	char		 runbook_url[MON_TEXT_MAX];
};

/* One SLO: its SLI as an error ratio over any window, and its alerts. */
struct mon_slo {
	const char	*key;		/* slo.<key>, the slo label */
	const char	*title;		/* "API availability" */
	const char	*alert;		/* one alert name, two severities */
	const char	*good;		/* what a good event is, in words */
	double		 objective;	/* percent */
	char		 budget[MON_NUM_MAX];	/* 1 - objective, as text */
	char		 errors[MON_EXPR_MAX];	/* each "%s" (<= 3): window */
	struct mon_alert burn[BURN_COUNT];
};

/* monitoring-output.c */
void		 mon_yaml_str(struct strbuf *, const char *);
void		 mon_yaml_scalar(const char *, char *, size_t);
void		 mon_header(struct strbuf *, const char *);
void		 mon_indent_block(struct strbuf *, const char *, size_t);
void		 mon_metadata(struct strbuf *, const struct config *,
		    const char *, const char *, const char *);
void		 mon_scope(const struct config *, int, char *, size_t);
void		 mon_scope_expr(const struct config *, char *, size_t);

void		 mon_output_init(struct mon_output *);
void		 mon_output_free(struct mon_output *);
struct strbuf	*mon_output_add(struct mon_output *, const char *,
		    const char *);
int		 mon_output_write(const struct mon_output *, char *, size_t);

void		 mon_number(double, char *, size_t);
void		 mon_duration(unsigned int, char *, size_t);
void		 mon_textf(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* monitoring-rules.c */
void		 mon_alerts_build(const struct config *,
		    struct mon_alert[ALERT_COUNT]);
void		 mon_slos_build(const struct config *,
		    struct mon_slo[SLO_COUNT]);
extern const char	*const mon_slo_windows[MON_SLO_WINDOWS];
void		 mon_rules_render(const struct config *, struct mon_output *,
		    const char *);

/* monitoring-dashboard.c */
void		 mon_dashboard_render(const struct config *,
		    struct mon_output *, const char *);

/* monitoring-scrape.c */
void		 mon_scrape_render(const struct config *, struct mon_output *,
		    const char *);

/* monitoring-alertmanager.c */
int		 mon_alertmanager_render(const struct config *,
		    struct mon_output *, const char *, char *, size_t);

/* monitoring-runbooks.c */
void		 mon_runbooks_render(const struct config *,
		    struct mon_output *, const char *);

#endif
