/*
 * Tests for tools/monitoring-gen (issues #6 and #15).  Run from the
 * repository root after building .build/tools/monitoring-gen; promtool
 * and amtool must be on PATH.  Each test works in its own mkdtemp
 * directory.
 *
 *  - the generator: CLI, one line per file, deterministic output, the
 *    committed deploy/ and runbooks/ equal a fresh run, bad YAML refused
 *    with the service's own message and nothing written;
 *  - the rules: promtool check rules, PrometheusRule groups equal to the
 *    plain file, and promtool unit tests written here from the YAML for
 *    every alert just below and just above its threshold and its for,
 *    labels by (namespace, job), annotations with their templates
 *    expanded as Prometheus does; a copy of the YAML with one value
 *    changed changes the outcome;
 *  - the SLOs: promtool against a model of the workbook's multiwindow,
 *    multi-burn-rate alerts: an outage pages (within 15 minutes for the
 *    shipped objectives), an error rate equal to the budget never
 *    fires, 13x the budget only warns, 15x pages;
 *  - Alertmanager: amtool check-config, routes per the routing key and
 *    foreign alerts left to the root receiver, the snippet equal to the
 *    whole file's parts, inhibition scoped to the service and proven
 *    in a real Alertmanager (its API shows what is suppressed), the
 *    AlertmanagerConfig, secrets by file only;
 *  - monitoring.labels on every Kubernetes object, and every manifest
 *    valid against the published schemas (tests/validate, Node);
 *  - the dashboard: valid JSON, unique panel ids, every PromQL query
 *    parses (promtool check rules on recording rules wrapping them),
 *    names only SPEC §3 metrics (plus up) selected by job, DB gauges
 *    under max, every ratio guarded;
 *  - the ServiceMonitor and the runbooks follow the configuration; each
 *    runbook names the module of tools/ that writes it.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <yaml.h>

#include "config.h"
#include "harness.h"
#include "yamldoc.h"

#define GEN		".build/tools/monitoring-gen"
#define CONF		"conf/saga-tracker.yaml"
#define FIXTURES	"tests/data/monitoring/"
#define CONFIG_FIXTURES	"tests/data/config/"
#define RULES		"prometheus/saga-tracker-rules.yml"
#define RULES_CR	"kubernetes/prometheus-rules.yaml"
#define DASHBOARD	"kubernetes/grafana-dashboard-configmap.yaml"
#define SERVICE_MONITOR	"kubernetes/service-monitor.yaml"
#define ALERTMANAGER	"alertmanager/alertmanager.yml"
#define AM_SNIPPET	"alertmanager/saga-tracker-route.yml"
#define AM_CONFIG	"kubernetes/alertmanager-config.yaml"
#define GRAFANA_SQL	"postgres/grafana-readonly.sql"
#define ROOT_RECEIVER	"cluster-default"
#define NO_TARGET	"no target scraped"
#define DASH_KEY	"saga-tracker.json"
#define N_ALERTS	9
#define N_SLOS		3
#define SLO_AVAILABILITY	0	/* index of api_availability */
#define N_RUNBOOKS	(N_ALERTS + N_SLOS)
#define N_FILES		(8 + N_RUNBOOKS)
#define TEXT_MAX	2048
#define EXPR_MAX	1024
#define DASH_EXPRS_MAX	64	/* PromQL expressions of one dashboard */
#define METRICS_MAX	32

enum alert_id { SPIKE, COMP, LAG, DOWN, DB, GAUGES, STALLED, LAGSTALE,
    REJECTED };

struct proc {
	int		 status;
	char		*out;
	char		*err;
};

/* What a firing alert must carry: labels from the scenario, text from
 * the rules file under test. */
struct expect {
	const char	*alert;
	const char	*severity;
	const char	*job;
	const char	*ns;
	const char	*cluster;
	const char	*instance;
	const char	*reason;
	const char	*slo;
	double		 value;		/* of the alert expression */
	char		 summary[TEXT_MAX];
	char		 description[TEXT_MAX];
	char		 runbook_url[TEXT_MAX];
};

struct metric_ref {
	char		 name[128];
	size_t		 pos;
	size_t		 end;
};

/* The alerts with a runbook each: the configured ones, then the SLOs'. */
static const char *alert_names[N_RUNBOOKS] = {
	"SagaFailureSpike", "SagaCompensationTimeout",
	"SagaTrackerConsumerLag", "SagaTrackerDown",
	"SagaTrackerDatabaseDown", "SagaTrackerGaugesStale",
	"SagaTrackerConsumerStalled", "SagaTrackerConsumerLagStale",
	"SagaEventsRejected", "SagaTrackerApiAvailabilityBudgetBurn",
	"SagaTrackerApiLatencyBudgetBurn",
	"SagaTrackerEventFreshnessBudgetBurn"
};
/*
 * How the module that writes each runbook opens it, in alert_names'
 * order: the module a runbook names as its source must hold this call.
 */
static const char *runbook_opens[N_RUNBOOKS] = {
	"ALERT_FAILURE_SPIKE, __FILE__",
	"ALERT_COMPENSATION_TIMEOUT, __FILE__",
	"ALERT_CONSUMER_LAG, __FILE__", "ALERT_SERVICE_DOWN, __FILE__",
	"ALERT_DATABASE_DOWN, __FILE__", "ALERT_GAUGES_STALE, __FILE__",
	"ALERT_CONSUMER_STALLED, __FILE__", "ALERT_LAG_STALE, __FILE__",
	"ALERT_REJECTED_EVENTS, __FILE__", "slo_burn(rb, out, dir,",
	"slo_burn(rb, out, dir,", "slo_burn(rb, out, dir,"
};
static const char *slo_keys[N_SLOS] = {
	"api_availability", "api_latency", "event_freshness"
};

static const char *generated[N_FILES] = {
	"deploy/" RULES, "deploy/" RULES_CR, "deploy/" DASHBOARD,
	"deploy/" GRAFANA_SQL,
	"deploy/" SERVICE_MONITOR, "deploy/" AM_SNIPPET, "deploy/" ALERTMANAGER,
	"deploy/" AM_CONFIG,
	"runbooks/SagaFailureSpike.md", "runbooks/SagaCompensationTimeout.md",
	"runbooks/SagaTrackerConsumerLag.md", "runbooks/SagaTrackerDown.md",
	"runbooks/SagaTrackerDatabaseDown.md",
	"runbooks/SagaTrackerGaugesStale.md",
	"runbooks/SagaTrackerConsumerStalled.md",
	"runbooks/SagaTrackerConsumerLagStale.md",
	"runbooks/SagaEventsRejected.md",
	"runbooks/SagaTrackerApiAvailabilityBudgetBurn.md",
	"runbooks/SagaTrackerApiLatencyBudgetBurn.md",
	"runbooks/SagaTrackerEventFreshnessBudgetBurn.md"
};

/* The generated Kubernetes objects that carry monitoring.labels. */
static const char *labelled[] = {
	RULES_CR, DASHBOARD, SERVICE_MONITOR, AM_CONFIG, NULL
};

/*
 * SPEC §3 and §5, and the SLO recording rules; histograms only through
 * their series suffixes.
 */
static const char *spec_metrics[] = {
	"saga_active_total", "saga_failed_total", "saga_compensated_total",
	"saga_events_processed_total", "saga_events_rejected_total",
	"saga_last_failed_timestamp", "saga_compensation_pending",
	"saga_compensation_pending_oldest_seconds",
	"saga_tracker_consumer_lag", "saga_tracker_build_info", "up",
	"saga_tracker_consumer_lag_age_seconds",
	"saga_tracker_consumer_partitions", "saga_tracker_gauges_age_seconds",
	"saga_tracker_db_up", "saga_tracker_retention_deleted_total",
	"saga_tracker:slo_errors:ratio_rate5m",
	"saga_tracker:slo_errors:ratio_rate30m",
	"saga_tracker:slo_errors:ratio_rate1h",
	"saga_tracker:slo_errors:ratio_rate6h", NULL
};
static const char *spec_histograms[] = {
	"saga_compensation_duration_seconds",
	"saga_tracker_api_latency_seconds", "saga_tracker_db_query_seconds",
	"saga_tracker_event_delay_seconds", NULL
};
static const char *db_gauges[] = {
	"saga_active_total", "saga_compensation_pending",
	"saga_compensation_pending_oldest_seconds", NULL
};

static char	tmpdir[PATH_MAX];

static void	setup(void);
static void	teardown(void);
static int	rm_entry(const char *, const struct stat *, int,
		    struct FTW *);
static void	tpath(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static char	*slurp(const char *, size_t *);
static void	run(struct proc *, char *const []);
static void	proc_free(struct proc *);
static void	load_config(struct config *, const char *);
static void	generate(const char *, const char *);
static yaml_node_t	*find_rule(struct ydoc *, yaml_node_t *,
		    const char *);
static void	rule_text(const char *, const char *, const char *,
		    struct expect *);
static yaml_node_t	*find_rule_sev(struct ydoc *, yaml_node_t *,
		    const char *, const char *);
static void	fput_yq(FILE *, const char *);
static unsigned int	gcd(unsigned int, unsigned int);
static unsigned int	step_for(unsigned int, unsigned int);
static void	t_header(FILE *, const char *, unsigned int);
static void	t_group(FILE *, unsigned int);
static void	t_series(FILE *, const char *, const char *);
static void	t_target(FILE *, const char *, const char *, const char *,
		    const char *);
static void	t_replicas(FILE *, const char *, const char *,
		    const char *);
static void	t_none(FILE *, unsigned int, const char *);
static void	t_fire(FILE *, unsigned int, const struct expect *);
static void	t_alert(FILE *, const struct expect *);
static void	scenario_spike(FILE *, const struct config *,
		    struct expect *);
static void	scenario_comp(FILE *, const struct config *,
		    struct expect *);
static void	scenario_lag(FILE *, const struct config *,
		    struct expect *);
static void	scenario_down(FILE *, const struct config *,
		    struct expect *);
static void	scenario_gauge(FILE *, const struct config_alert *,
		    const char *, double, const char *, int, struct expect *);
static void	scenario_db(FILE *, const struct config *, struct expect *);
static void	scenario_stalled(FILE *, const struct config *,
		    struct expect *);
static void	scenario_rejected(FILE *, const struct config *,
		    struct expect *);
static void	write_alert_test(const char *, enum alert_id,
		    const struct config *, const char *);
static int	promtool_test(const char *, struct proc *);
static void	check_alert_tests(const char *, const char *);
static void	copy_with(const char *, const char *, const char *);
static void	check_variant(enum alert_id, const char *, const char *);
static void	check_scaled(enum alert_id, const char *, unsigned int,
		    unsigned int, unsigned int);
static size_t	scan_metrics(const char *, struct metric_ref *, size_t);
static size_t	count_of(const char *, const char *);
static int	validate(struct proc *, char *const *, size_t);
static void	am_teardown(void);
static void	am_stop(void);
static int	free_port(void);
static void	am_start(const char *, char *, size_t);
static char	*am_http(const char *, const char *);
static void	am_wait_ready(const char *);
static void	am_post(const char *, const char *);
static char	*am_state(const char *, const char *, const char *);
static void	am_expect(const char *, const char *, const char *,
		    const char *);
static void	validate_generated(const char *, const char *);
static const char	*check_expr(const char *, const char *);
static const char	*check_metric(const char *, const struct metric_ref *,
		    const char *);
static const char	*check_max(const char *, size_t);
static const char	*check_divisions(const char *);
static size_t	skip_quoted(const char *, size_t);
static size_t	match_close(const char *, size_t);
static int	promtool_check_exprs(char *const *, size_t, int);
static json_t	*load_dashboard(const char *, struct ydoc *);
static void	collect_panels(json_t *, json_t *);
static size_t	dashboard_exprs(json_t *, char **, size_t);
static void	routes_test(const char *, const char *const *, const char *,
		    int);
static void	routes_ours(const char *, const struct config *, const char *,
		    const char *, int);
static void	receivers_of(const struct config_route *, char *, size_t);
static int	yhas(struct ydoc *, yaml_node_t *, const char *);
static void	check_routing(const char *, const struct config *);
static void	check_service_monitor(const char *, const struct config *);
static void	check_runbooks(const char *, const struct config *);
static void	check_runbook_source(const char *, const char *, size_t);
static size_t	runbook_queries(char *, char **, size_t);
static void	expect_refused(const char *);

TestSuite(monitoring, .init = setup, .fini = teardown, .timeout = 60);

/* ---------------------------------------------------------------- */
/* plumbing								*/

static void
setup(void)
{
	cr_assert_eq(access(GEN, X_OK), 0, "%s missing: build it first", GEN);
	(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_monitoring.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp");
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;

	return (flag == FTW_DP ? rmdir(path) : unlink(path));
}

static void
teardown(void)
{
	if (tmpdir[0] != '\0')
		(void)nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A path under this test's temporary directory. */
static void
tpath(char *buf, size_t len, const char *fmt, ...)
{
	va_list		args;
	size_t		off;

	off = (size_t)snprintf(buf, len, "%s/", tmpdir);
	va_start(args, fmt);
	(void)vsnprintf(buf + off, len - off, fmt, args);
	va_end(args);
}

static char *
slurp(const char *path, size_t *lenp)
{
	return (harness_read_file(path, lenp));
}

/* Run argv, capturing stdout and stderr. */
static void
run(struct proc *p, char *const argv[])
{
	char		out[PATH_MAX], err[PATH_MAX];
	pid_t		pid;
	int		status, fd;

	tpath(out, sizeof(out), ".stdout");
	tpath(err, sizeof(err), ".stderr");

	pid = fork();
	cr_assert_neq(pid, -1, "fork");
	if (pid == 0) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		(void)dup2(fd, STDOUT_FILENO);
		fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		(void)dup2(fd, STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	p->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	p->out = slurp(out, NULL);
	p->err = slurp(err, NULL);
	cr_assert(p->out != NULL && p->err != NULL);
}

static void
proc_free(struct proc *p)
{
	free(p->out);
	free(p->err);
}

static void
load_config(struct config *cfg, const char *path)
{
	char		err[CONFIG_ERR_MAX];

	cr_assert_eq(config_load(cfg, path, err, sizeof(err)), 0, "%s", err);
}

/* Generate from config into <tmp>/<name>/{deploy,runbooks}. */
static void
generate(const char *config, const char *name)
{
	struct proc	p;
	char		deploy[PATH_MAX], runbooks[PATH_MAX];
	char		*argv[] = { GEN, "-c", (char *)config, "-o", deploy,
			    "-r", runbooks, NULL };

	tpath(deploy, sizeof(deploy), "%s/deploy", name);
	tpath(runbooks, sizeof(runbooks), "%s/runbooks", name);
	run(&p, argv);
	cr_assert_eq(p.status, 0, "monitoring-gen -c %s: %s", config, p.err);
	cr_assert_str_empty(p.err);
	proc_free(&p);
}

/* ---------------------------------------------------------------- */
/* YAML trees								*/

static yaml_node_t *
find_rule(struct ydoc *y, yaml_node_t *groups, const char *alert)
{
	return (find_rule_sev(y, groups, alert, NULL));
}

/* The first rule of alert with that severity (NULL: any). */
static yaml_node_t *
find_rule_sev(struct ydoc *y, yaml_node_t *groups, const char *alert,
    const char *severity)
{
	yaml_node_t	*rules, *rule;
	const char	*sev;
	size_t		 g, r;

	for (g = 0; g < ylen(groups); g++) {
		rules = yget(y, yat(y, groups, g), "rules");
		for (r = 0; r < ylen(rules); r++) {
			rule = yat(y, rules, r);
			sev = ystr(ypath(y, rule, "labels.severity"));
			if (ystr(yget(y, rule, "alert")) != NULL &&
			    strcmp(ystr(yget(y, rule, "alert")), alert) == 0 &&
			    (severity == NULL || (sev != NULL &&
			    strcmp(sev, severity) == 0)))
				return (rule);
		}
	}

	return (NULL);
}

/* The annotations of alert in the rules file at path. */
static void
rule_text(const char *path, const char *alert, const char *severity,
    struct expect *e)
{
	struct ydoc	 y;
	yaml_node_t	*rule, *ann;

	ydoc_load(&y, path);
	rule = find_rule_sev(&y, yget(&y, y.root, "groups"), alert, severity);
	cr_assert_not_null(rule, "%s: no alert %s", path, alert);
	ann = yget(&y, rule, "annotations");
	cr_assert(ystr(yget(&y, ann, "summary")) != NULL &&
	    ystr(yget(&y, ann, "description")) != NULL &&
	    ystr(yget(&y, ann, "runbook_url")) != NULL,
	    "%s: %s lacks summary, description or runbook_url", path, alert);
	(void)snprintf(e->summary, sizeof(e->summary), "%s",
	    ystr(yget(&y, ann, "summary")));
	(void)snprintf(e->description, sizeof(e->description), "%s",
	    ystr(yget(&y, ann, "description")));
	(void)snprintf(e->runbook_url, sizeof(e->runbook_url), "%s",
	    ystr(yget(&y, ann, "runbook_url")));
	ydoc_free(&y);
}

/* ---------------------------------------------------------------- */
/* promtool unit tests written from the configuration			*/

static void
fput_yq(FILE *fp, const char *s)
{
	fputc('\'', fp);
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			fputc('\'', fp);
		fputc(*s, fp);
	}
	fputc('\'', fp);
}

static unsigned int
gcd(unsigned int a, unsigned int b)
{
	unsigned int	t;

	while (b != 0) {
		t = a % b;
		a = b;
		b = t;
	}

	return (a);
}

/* A sample and evaluation step dividing every duration, at most 60s. */
static unsigned int
step_for(unsigned int a, unsigned int b)
{
	return (gcd(gcd(a, b), 60));
}

static void
t_header(FILE *fp, const char *rules, unsigned int step)
{
	fprintf(fp, "rule_files:\n  - ");
	fput_yq(fp, rules);
	fprintf(fp, "\nevaluation_interval: %us\ntests:\n", step);
}

static void
t_group(FILE *fp, unsigned int step)
{
	fprintf(fp, "  - interval: %us\n    input_series:\n", step);
}

static void
t_series(FILE *fp, const char *series, const char *values)
{
	fprintf(fp, "      - series: ");
	fput_yq(fp, series);
	fprintf(fp, "\n        values: ");
	fput_yq(fp, values);
	fprintf(fp, "\n");
}

/* The namespace every target of the scenarios is in. */
static const char	*t_ns;

/* One series of metric from the target instance of job. */
static void
t_target(FILE *fp, const char *metric, const char *job, const char *instance,
    const char *values)
{
	char		series[1024];

	(void)snprintf(series, sizeof(series), "%s{job=\"%s\", "
	    "namespace=\"%s\", instance=\"%s\"}", metric, job, t_ns,
	    instance);
	t_series(fp, series, values);
}

/* The same series from two replicas. */
static void
t_replicas(FILE *fp, const char *metric, const char *job, const char *values)
{
	t_target(fp, metric, job, "a:8080", values);
	t_target(fp, metric, job, "b:8080", values);
}

/* Prometheus's humanize and humanizePercentage template functions. */
static void
humanize(double v, char *buf, size_t len)
{
	static const char	*big[] = { "k", "M", "G", "T", "P", "E", "Z",
		"Y" };
	static const char	*small[] = { "m", "u", "n", "p", "f", "a",
		"z", "y" };
	const char		*prefix;
	size_t			 i;

	prefix = "";
	if (v != 0 && isfinite(v) && fabs(v) >= 1) {
		for (i = 0; i < 8 && fabs(v) >= 1000; i++) {
			prefix = big[i];
			v /= 1000;
		}
	} else if (v != 0 && isfinite(v)) {
		for (i = 0; i < 8 && fabs(v) < 1; i++) {
			prefix = small[i];
			v *= 1000;
		}
	}
	(void)snprintf(buf, len, "%.4g%s", v, prefix);
}

/* A label the scenario expects, by name. */
static const char *
e_label(const struct expect *e, const char *name, size_t len)
{
	if (len == 9 && strncmp(name, "namespace", len) == 0)
		return (e->ns);
	if (len == 8 && strncmp(name, "instance", len) == 0)
		return (e->instance);
	if (len == 6 && strncmp(name, "reason", len) == 0)
		return (e->reason);
	if (len == 3 && strncmp(name, "job", len) == 0)
		return (e->job);

	return (NULL);
}

/*
 * An annotation as Prometheus expands it for the scenario's alert: the
 * templates the generator writes, and no others.
 */
static void
expand(const char *t, const struct expect *e, char *out, size_t len)
{
	const char	*end, *l;
	char		 v[64];
	size_t		 off, n;

	for (off = 0; *t != '\0';) {
		if (strncmp(t, "{{ ", 3) != 0) {
			cr_assert_lt(off + 1, len);
			out[off++] = *t++;
			continue;
		}
		end = strstr(t, " }}");
		cr_assert_not_null(end, "unclosed template in %s", t);
		n = (size_t)(end - t - 3);
		if (strncmp(t + 3, "$value | humanizePercentage", n) == 0 &&
		    n == 27) {
			(void)snprintf(v, sizeof(v), "%.4g%%", e->value * 100);
		} else if (strncmp(t + 3, "$value | humanize", n) == 0 &&
		    n == 17) {
			humanize(e->value, v, sizeof(v));
		} else if (strncmp(t + 3, "$value", n) == 0 && n == 6) {
			cr_assert_eq(e->value, (double)(long long)e->value);
			(void)snprintf(v, sizeof(v), "%lld",
			    (long long)e->value);
		} else if (strncmp(t + 3, "$labels.", 8) == 0 &&
		    (l = e_label(e, t + 11, n - 8)) != NULL) {
			(void)snprintf(v, sizeof(v), "%s", l);
		} else {
			cr_assert_fail("template %.*s unknown to the test",
			    (int)n + 6, t);
		}
		cr_assert_lt(off + strlen(v), len);
		memcpy(out + off, v, strlen(v));
		off += strlen(v);
		t = end + 3;
	}
	out[off] = '\0';
}

static void
t_label(FILE *fp, const char *name, const char *value)
{
	if (value == NULL)
		return;
	fprintf(fp, "\n              %s: ", name);
	fput_yq(fp, value);
}

static void
t_none(FILE *fp, unsigned int at, const char *alert)
{
	fprintf(fp, "      - eval_time: %us\n        alertname: %s\n"
	    "        exp_alerts: []\n", at, alert);
}

static void
t_fire(FILE *fp, unsigned int at, const struct expect *e)
{
	fprintf(fp, "      - eval_time: %us\n        alertname: %s\n"
	    "        exp_alerts:\n", at, e->alert);
	t_alert(fp, e);
}

/* One item of exp_alerts. */
static void
t_alert(FILE *fp, const struct expect *e)
{
	char		text[TEXT_MAX];

	fprintf(fp, "          - exp_labels:\n"
	    "              severity: ");
	fput_yq(fp, e->severity);
	t_label(fp, "job", e->job);
	t_label(fp, "namespace", e->ns);
	t_label(fp, "cluster", e->cluster);
	t_label(fp, "instance", e->instance);
	t_label(fp, "reason", e->reason);
	t_label(fp, "slo", e->slo);
	fprintf(fp, "\n            exp_annotations:\n              summary: ");
	expand(e->summary, e, text, sizeof(text));
	fput_yq(fp, text);
	fprintf(fp, "\n              description: ");
	expand(e->description, e, text, sizeof(text));
	fput_yq(fp, text);
	fprintf(fp, "\n              runbook_url: ");
	fput_yq(fp, e->runbook_url);
	fprintf(fp, "\n");
}

/*
 * A counter ramp on two replicas whose summed increase over the window
 * is threshold +- delta.  The window first lies wholly on the ramp at
 * 2 * window; the alert must fire exactly "for" later.
 */
static void
scenario_spike(FILE *fp, const struct config *cfg, struct expect *e)
{
	const struct config_alert	*a = &cfg->alerts.failure_spike;
	unsigned int			 step, n, f, t, i;
	double				 v, c, delta;
	char				 values[256];

	step = step_for(a->window_sec, a->for_sec);
	n = a->window_sec / step;
	f = a->for_sec / step;
	t = 2 * a->window_sec;
	delta = a->threshold / (10.0 * n);

	for (i = 0; i < 2; i++) {
		v = i == 0 ? a->threshold + delta : a->threshold - delta;
		c = v / (2.0 * n);
		t_group(fp, step);
		(void)snprintf(values, sizeof(values), "0x%u %.17g+%.17gx%u",
		    n, c, c, 3 * n + f + 2);
		t_replicas(fp, "saga_failed_total", cfg->monitoring.job,
		    values);
		fprintf(fp, "    alert_rule_test:\n");
		if (i == 0) {
			t_none(fp, t - step, e->alert);
			if (f > 0)
				t_none(fp, t + a->for_sec - step, e->alert);
			e->value = v;
			t_fire(fp, t + a->for_sec, e);
		} else {
			t_none(fp, t + a->for_sec, e->alert);
			t_none(fp, t + a->for_sec + a->window_sec, e->alert);
		}
	}
}

/* Both replicas read the same age from the database: after +- delta. */
static void
scenario_comp(FILE *fp, const struct config *cfg, struct expect *e)
{
	const struct config_alert	*a = &cfg->alerts.compensation_timeout;
	unsigned int			 step, f, i;
	double				 v;
	char				 values[128];

	step = step_for(a->for_sec, 60);
	f = a->for_sec / step;

	for (i = 0; i < 2; i++) {
		v = a->after_sec * (i == 0 ? 1.001 : 0.999);
		t_group(fp, step);
		(void)snprintf(values, sizeof(values), "%.17gx%u", v, f + 3);
		t_replicas(fp, "saga_compensation_pending_oldest_seconds",
		    cfg->monitoring.job, values);
		fprintf(fp, "    alert_rule_test:\n");
		if (i == 0) {
			if (f > 0)
				t_none(fp, a->for_sec - step, e->alert);
			e->value = v;
			t_fire(fp, a->for_sec, e);
		} else {
			t_none(fp, a->for_sec, e->alert);
			t_none(fp, a->for_sec + step, e->alert);
		}
	}
}

/*
 * Each replica reports the lag of its own partitions (and one of them a
 * partition series); the worst replica decides, so two replicas just
 * below the threshold, whose sum is far above it, must stay silent.
 */
static void
scenario_lag(FILE *fp, const struct config *cfg, struct expect *e)
{
	const struct config_alert	*a = &cfg->alerts.consumer_lag;
	unsigned int			 step, f, i;
	double				 v;
	char				 series[512], values[128];

	step = step_for(a->for_sec, 60);
	f = a->for_sec / step;

	for (i = 0; i < 2; i++) {
		v = a->threshold * (i == 0 ? 1.001 : 0.999);
		t_group(fp, step);
		(void)snprintf(values, sizeof(values), "%.17gx%u", v, f + 3);
		t_replicas(fp, "saga_tracker_consumer_lag",
		    cfg->monitoring.job, values);
		(void)snprintf(series, sizeof(series),
		    "saga_tracker_consumer_lag{job=\"%s\", namespace=\"%s\", "
		    "instance=\"a:8080\", partition=\"0\"}",
		    cfg->monitoring.job, t_ns);
		t_series(fp, series, values);
		fprintf(fp, "    alert_rule_test:\n");
		if (i == 0) {
			if (f > 0)
				t_none(fp, a->for_sec - step, e->alert);
			e->value = v;
			t_fire(fp, a->for_sec, e);
		} else {
			t_none(fp, a->for_sec, e->alert);
			t_none(fp, a->for_sec + step, e->alert);
		}
	}
}

/* One target goes down at 3 steps; then no target at all; then all up. */
static void
scenario_down(FILE *fp, const struct config *cfg, struct expect *e)
{
	const struct config_alert	*a = &cfg->alerts.service_down;
	const char			*job = cfg->monitoring.job;
	unsigned int			 step, f, t;
	char				 other[300], values[128], series[512];

	step = step_for(a->for_sec, 60);
	f = a->for_sec / step;
	t = 3 * step;

	t_group(fp, step);
	(void)snprintf(values, sizeof(values), "1x2 0x%u", f + 4);
	t_target(fp, "up", job, "a:8080", values);
	(void)snprintf(values, sizeof(values), "1x%u", f + 7);
	t_target(fp, "up", job, "b:8080", values);
	fprintf(fp, "    alert_rule_test:\n");
	t_none(fp, t - step, e->alert);
	if (f > 0)
		t_none(fp, t + a->for_sec - step, e->alert);
	e->instance = "a:8080";
	e->value = 0;
	t_fire(fp, t + a->for_sec, e);

	/* Targets of another job, and of this job in another namespace. */
	t_group(fp, step);
	(void)snprintf(other, sizeof(other), "%s-other", job);
	(void)snprintf(values, sizeof(values), "1x%u", f + 3);
	t_target(fp, "up", other, "x:8080", values);
	(void)snprintf(series, sizeof(series), "up{job=\"%s\", "
	    "namespace=\"%s-other\", instance=\"y:8080\"}", job, t_ns);
	t_series(fp, series, values);
	fprintf(fp, "    alert_rule_test:\n");
	if (f > 0)
		t_none(fp, a->for_sec - step, e->alert);
	e->instance = NO_TARGET;
	e->value = 1;
	t_fire(fp, a->for_sec, e);
	e->instance = NULL;

	t_group(fp, step);
	t_replicas(fp, "up", job, values);
	fprintf(fp, "    alert_rule_test:\n");
	t_none(fp, a->for_sec + step, e->alert);
}

/*
 * A gauge on two replicas: both at limit * (1 +- 0.001).  When one is
 * given, the replicas differ: for max the other is below, for min above,
 * and the alert must stay silent either way.
 */
static void
scenario_gauge(FILE *fp, const struct config_alert *a, const char *metric,
    double limit, const char *job, int is_min, struct expect *e)
{
	unsigned int	step, f, i;
	double		v, w;
	char		values[128], other[128];

	step = step_for(a->for_sec, 60);
	f = a->for_sec / step;

	for (i = 0; i < 3; i++) {
		v = limit * (i == 1 ? 0.999 : 1.001);
		w = limit * (i == 2 ? (is_min ? 0.999 : 1.001) : 1);
		t_group(fp, step);
		(void)snprintf(values, sizeof(values), "%.17gx%u", v, f + 3);
		t_target(fp, metric, job, "a:8080", values);
		if (i == 2)
			(void)snprintf(other, sizeof(other), "%.17gx%u", w,
			    f + 3);
		t_target(fp, metric, job, "b:8080", i == 2 ? other : values);
		fprintf(fp, "    alert_rule_test:\n");
		if (i == 0) {
			if (f > 0)
				t_none(fp, a->for_sec - step, e->alert);
			e->value = v;
			t_fire(fp, a->for_sec, e);
		} else if (is_min || i == 1) {
			t_none(fp, a->for_sec, e->alert);
			t_none(fp, a->for_sec + step, e->alert);
		} else {
			/* max: the stalest replica decides. */
			e->value = w;
			t_fire(fp, a->for_sec, e);
		}
	}
}

/* One replica without the database is not an outage; both are. */
static void
scenario_db(FILE *fp, const struct config *cfg, struct expect *e)
{
	const struct config_alert	*a = &cfg->alerts.database_down;
	const char			*job = cfg->monitoring.job;
	unsigned int			 step, f, t;
	char				 values[128];

	step = step_for(a->for_sec, 60);
	f = a->for_sec / step;
	t = 3 * step;

	t_group(fp, step);
	(void)snprintf(values, sizeof(values), "1x2 0x%u", f + 4);
	t_target(fp, "saga_tracker_db_up", job, "a:8080", values);
	(void)snprintf(values, sizeof(values), "1x%u", f + 7);
	t_target(fp, "saga_tracker_db_up", job, "b:8080", values);
	fprintf(fp, "    alert_rule_test:\n");
	t_none(fp, t + a->for_sec, e->alert);

	t_group(fp, step);
	(void)snprintf(values, sizeof(values), "1x2 0x%u", f + 4);
	t_replicas(fp, "saga_tracker_db_up", job, values);
	fprintf(fp, "    alert_rule_test:\n");
	t_none(fp, t - step, e->alert);
	if (f > 0)
		t_none(fp, t + a->for_sec - step, e->alert);
	e->value = 0;
	t_fire(fp, t + a->for_sec, e);
}

/*
 * Lag L on the group throughout.  The last event is applied at x; the
 * consumer counts as stalled from x + after, so the alert fires at
 * x + after + for and not a step before.  Events applied, or rejected,
 * at every step keep it silent, and so does a lag of 0.
 */
static void
scenario_stalled(FILE *fp, const struct config *cfg, struct expect *e)
{
	const struct config_alert	*a = &cfg->alerts.consumer_stalled;
	const char			*job = cfg->monitoring.job;
	unsigned int			 step, x, end, i;
	char				 values[128], series[512];
	const double			 lag = 42;

	step = step_for(a->after_sec, a->for_sec);
	x = 2 * step;
	end = (x + a->after_sec + a->for_sec) / step + 3;

	for (i = 0; i < 4; i++) {
		t_group(fp, step);
		(void)snprintf(values, sizeof(values), "%gx%u", i == 3 ? 0 :
		    lag, end);
		(void)snprintf(series, sizeof(series), "saga_tracker_consumer_"
		    "lag{job=\"%s\", namespace=\"%s\", instance=\"a:8080\", "
		    "partition=\"\"}", job, t_ns);
		t_series(fp, series, values);
		if (i == 0 || i == 3)
			(void)snprintf(values, sizeof(values), "5x1 6x%u", end);
		else
			(void)snprintf(values, sizeof(values), "5+1x%u", end);
		t_target(fp, i == 2 ? "saga_events_rejected_total" :
		    "saga_events_processed_total", job, "a:8080", values);
		if (i == 2) {
			(void)snprintf(values, sizeof(values), "5x%u", end);
			t_target(fp, "saga_events_processed_total", job,
			    "a:8080", values);
		}
		fprintf(fp, "    alert_rule_test:\n");
		if (i == 0) {
			t_none(fp, x + a->after_sec + a->for_sec - step,
			    e->alert);
			e->value = lag;
			t_fire(fp, x + a->after_sec + a->for_sec, e);
		} else {
			t_none(fp, x + a->after_sec + a->for_sec, e->alert);
		}
	}
}

/*
 * One event rejected (reason "schema") between two scrapes, x - step
 * and x: the info alert fires from x while the window holds both
 * scrapes, and is silent before x and from x + window on.
 */
static void
scenario_rejected(FILE *fp, const struct config *cfg, struct expect *e)
{
	const struct config_alert	*a = &cfg->alerts.rejected_events;
	unsigned int			 step, x, n;
	char				 values[128], series[512];

	step = step_for(a->window_sec, a->for_sec);
	x = a->window_sec + 2 * step;
	n = (x + a->window_sec + a->for_sec) / step + 3;

	t_group(fp, step);
	(void)snprintf(values, sizeof(values), "0x%u 1x%u", x / step - 1,
	    n);
	(void)snprintf(series, sizeof(series), "saga_events_rejected_total{"
	    "job=\"%s\", namespace=\"%s\", instance=\"a:8080\", "
	    "reason=\"schema\"}", cfg->monitoring.job, t_ns);
	t_series(fp, series, values);
	(void)snprintf(values, sizeof(values), "3x%u", x / step + n);
	(void)snprintf(series, sizeof(series), "saga_events_rejected_total{"
	    "job=\"%s\", namespace=\"%s\", instance=\"b:8080\", "
	    "reason=\"conflict\"}", cfg->monitoring.job, t_ns);
	t_series(fp, series, values);
	fprintf(fp, "    alert_rule_test:\n");
	t_none(fp, x - step, e->alert);
	if (a->for_sec > 0)
		t_none(fp, x + a->for_sec - step, e->alert);
	e->reason = "schema";
	e->value = 1;
	if (a->for_sec < a->window_sec)
		t_fire(fp, x + a->for_sec, e);
	t_none(fp, x + a->window_sec + a->for_sec, e->alert);
	e->reason = NULL;
}

/*
 * A promtool test file for one alert: timings and values from the
 * scenario configuration cfg, annotations from the rules under test.
 */
static void
write_alert_test(const char *path, enum alert_id id, const struct config *cfg,
    const char *rules)
{
	const struct config_alert	*a[N_ALERTS];
	struct expect			 e;
	FILE				*fp;
	unsigned int			 step;

	a[SPIKE] = &cfg->alerts.failure_spike;
	a[COMP] = &cfg->alerts.compensation_timeout;
	a[LAG] = &cfg->alerts.consumer_lag;
	a[DOWN] = &cfg->alerts.service_down;
	a[DB] = &cfg->alerts.database_down;
	a[GAUGES] = &cfg->alerts.gauges_stale;
	a[STALLED] = &cfg->alerts.consumer_stalled;
	a[LAGSTALE] = &cfg->alerts.lag_stale;
	a[REJECTED] = &cfg->alerts.rejected_events;

	memset(&e, 0, sizeof(e));
	e.alert = alert_names[id];
	e.severity = config_severity_name(a[id]->severity);
	e.job = cfg->monitoring.job;
	e.ns = cfg->monitoring.service_namespace;
	t_ns = e.ns;
	rule_text(rules, e.alert, NULL, &e);

	if (id == SPIKE || id == REJECTED)
		step = step_for(a[id]->window_sec, a[id]->for_sec);
	else if (id == STALLED)
		step = step_for(a[id]->after_sec, a[id]->for_sec);
	else
		step = step_for(a[id]->for_sec, 60);
	fp = fopen(path, "w");
	cr_assert_not_null(fp, "%s", path);
	t_header(fp, rules, step);
	switch (id) {
	case SPIKE:
		scenario_spike(fp, cfg, &e);
		break;
	case COMP:
		scenario_comp(fp, cfg, &e);
		break;
	case LAG:
		scenario_lag(fp, cfg, &e);
		break;
	case DOWN:
		scenario_down(fp, cfg, &e);
		break;
	case DB:
		scenario_db(fp, cfg, &e);
		break;
	case GAUGES:
		scenario_gauge(fp, a[id], "saga_tracker_gauges_age_seconds",
		    a[id]->after_sec, e.job, 0, &e);
		break;
	case STALLED:
		scenario_stalled(fp, cfg, &e);
		break;
	case LAGSTALE:
		scenario_gauge(fp, a[id],
		    "saga_tracker_consumer_lag_age_seconds", a[id]->after_sec,
		    e.job, 1, &e);
		break;
	case REJECTED:
		scenario_rejected(fp, cfg, &e);
		break;
	}
	cr_assert_eq(fclose(fp), 0);
}

static int
promtool_test(const char *test, struct proc *p)
{
	char		*argv[] = { "promtool", "test", "rules", (char *)test,
			    NULL };

	run(p, argv);

	return (p->status);
}

/* Scenario from config, rules generated from it: every alert passes. */
static void
check_alert_tests(const char *config, const char *name)
{
	struct config	cfg;
	struct proc	p;
	char		rules[PATH_MAX], test[PATH_MAX];
	int		id;

	load_config(&cfg, config);
	generate(config, name);
	tpath(rules, sizeof(rules), "%s/deploy/" RULES, name);

	for (id = 0; id < N_ALERTS; id++) {
		tpath(test, sizeof(test), "%s/%s.test.yml", name,
		    alert_names[id]);
		write_alert_test(test, (enum alert_id)id, &cfg, rules);
		cr_assert_eq(promtool_test(test, &p), 0,
		    "%s (%s):\n%s%s", alert_names[id], config, p.out, p.err);
		proc_free(&p);
	}
}

/*
 * A copy of the YAML at src with the value of key path (a.b.c, one
 * line "c: value") replaced by text, written to dst.
 */
static void
copy_with(const char *src, const char *keypath, const char *text)
{
	struct ydoc	 y;
	yaml_node_t	*map, *key;
	yaml_node_pair_t *pair;
	FILE		*fp;
	const char	*last;
	char		*buf, *line, *p, *end, dst[PATH_MAX];
	size_t		 i;

	buf = slurp(src, NULL);
	cr_assert_not_null(buf, "%s", src);
	ydoc_load_text(&y, buf);

	last = strrchr(keypath, '.') + 1;
	(void)snprintf(dst, sizeof(dst), "%.*s", (int)(last - keypath - 1),
	    keypath);
	map = ypath(&y, y.root, dst);
	cr_assert_not_null(map, "%s has no %s", src, dst);
	key = NULL;
	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		key = yaml_document_get_node(&y.doc, pair->key);
		if (strcmp(ystr(key), last) == 0)
			break;
		key = NULL;
	}
	cr_assert_not_null(key, "%s has no %s", src, keypath);

	for (line = buf, i = 0; i < key->start_mark.line; i++)
		line = strchr(line, '\n') + 1;
	p = strstr(line, last) + strlen(last);
	cr_assert_eq(*p, ':', "%s: %s is not on one line", src, keypath);
	p += 1 + strspn(p + 1, " ");
	end = p + strcspn(p, " \t#\n");

	tpath(dst, sizeof(dst), "copy.yaml");
	fp = fopen(dst, "w");
	cr_assert_not_null(fp, "%s", dst);
	(void)fwrite(buf, 1, (size_t)(p - buf), fp);
	fprintf(fp, "%s%s", text, end);
	cr_assert_eq(fclose(fp), 0);
	ydoc_free(&y);
	free(buf);
}

/*
 * Change one value of alert id in a copy of the YAML: the tests written
 * from the original must now fail against the regenerated rules, the
 * tests written from the copy must pass.
 */
static void
check_variant(enum alert_id id, const char *keypath, const char *text)
{
	struct config	orig, copy;
	struct proc	p;
	char		path[PATH_MAX], rules[PATH_MAX], test[PATH_MAX];

	load_config(&orig, CONF);
	copy_with(CONF, keypath, text);
	tpath(path, sizeof(path), "copy.yaml");
	load_config(&copy, path);
	cr_assert(memcmp(&orig.alerts, &copy.alerts, sizeof(orig.alerts)) !=
	    0, "%s: %s: %s changed nothing", CONF, keypath, text);

	generate(path, "copy");
	tpath(rules, sizeof(rules), "copy/deploy/" RULES);

	tpath(test, sizeof(test), "orig.test.yml");
	write_alert_test(test, id, &orig, rules);
	cr_assert_neq(promtool_test(test, &p), 0, "%s=%s: the tests "
	    "of the original YAML still pass:\n%s", keypath, text, p.out);
	/* It fails on the alert's outcome, not on the test file. */
	cr_assert(strstr(p.err, "alertname: ") != NULL &&
	    strstr(p.err, alert_names[id]) != NULL, "%s%s", p.out, p.err);
	proc_free(&p);

	tpath(test, sizeof(test), "copy.test.yml");
	write_alert_test(test, id, &copy, rules);
	cr_assert_eq(promtool_test(test, &p), 0, "%s=%s:\n%s%s",
	    keypath, text, p.out, p.err);
	proc_free(&p);
}

/* ---------------------------------------------------------------- */
/* PromQL checks							*/

static size_t
skip_quoted(const char *s, size_t i)
{
	char		q;

	q = s[i++];
	while (s[i] != '\0' && s[i] != q) {
		if (s[i] == '\\' && s[i + 1] != '\0')
			i++;
		i++;
	}

	return (s[i] == '\0' ? i : i + 1);
}

/* s[i] opens ( { or [; the index just past its closing partner. */
static size_t
match_close(const char *s, size_t i)
{
	char		open, close;
	int		depth;

	open = s[i];
	close = open == '(' ? ')' : open == '{' ? '}' : ']';
	for (depth = 0; s[i] != '\0';) {
		if (s[i] == '"' || s[i] == '\'' || s[i] == '`') {
			i = skip_quoted(s, i);
			continue;
		}
		if (s[i] == open)
			depth++;
		else if (s[i] == close && --depth == 0)
			return (i + 1);
		i++;
	}

	return (i);
}

/* How many times needle occurs in s. */
static size_t
count_of(const char *s, const char *needle)
{
	size_t		n;

	for (n = 0; (s = strstr(s, needle)) != NULL; s += strlen(needle))
		n++;

	return (n);
}

static int
is_word(const char *w, size_t len, const char *const *list)
{
	size_t		i;

	for (i = 0; list[i] != NULL; i++) {
		if (strlen(list[i]) == len && strncmp(list[i], w, len) == 0)
			return (1);
	}

	return (0);
}

/* The metric names an expression selects, in order. */
static size_t
scan_metrics(const char *s, struct metric_ref *refs, size_t max)
{
	static const char *const	grouping[] = { "by", "without", "on",
		"ignoring", "group_left", "group_right", NULL };
	static const char *const	words[] = { "and", "or", "unless",
		"bool", "offset", "inf", "nan", "Inf", "NaN", NULL };
	size_t				i, start, j, n;

	for (i = 0, n = 0; s[i] != '\0';) {
		if (s[i] == '"' || s[i] == '\'' || s[i] == '`') {
			i = skip_quoted(s, i);
		} else if (s[i] == '{' || s[i] == '[') {
			i = match_close(s, i);
		} else if (isdigit((unsigned char)s[i]) || s[i] == '.') {
			while (isalnum((unsigned char)s[i]) || s[i] == '.')
				i++;
		} else if (isalpha((unsigned char)s[i]) || s[i] == '_' ||
		    s[i] == ':') {
			start = i;
			while (isalnum((unsigned char)s[i]) || s[i] == '_' ||
			    s[i] == ':')
				i++;
			for (j = i; s[j] == ' '; j++)
				;
			if (is_word(s + start, i - start, grouping)) {
				if (s[j] == '(')
					i = match_close(s, j);
			} else if (s[j] != '(' &&
			    !is_word(s + start, i - start, words) &&
			    strncmp(s + j, "by", 2) != 0 &&
			    strncmp(s + j, "without", 7) != 0 && n < max) {
				(void)snprintf(refs[n].name,
				    sizeof(refs[n].name), "%.*s",
				    (int)(i - start), s + start);
				refs[n].pos = start;
				refs[n++].end = i;
			}
		} else {
			i++;
		}
	}

	return (n);
}

/* The aggregation right around the selector at pos must be max. */
static const char *
check_max(const char *s, size_t pos)
{
	int		depth;
	size_t		i, end;

	for (depth = 0, i = pos; i > 0; i--) {
		if (s[i - 1] == ')')
			depth++;
		else if (s[i - 1] == '(' && depth-- == 0)
			break;
	}
	if (i == 0)
		return ("a database gauge outside any aggregation");

	for (i--; i > 0 && s[i - 1] == ' '; i--)
		;
	if (i > 0 && s[i - 1] == ')') {
		/* "max by (labels) (": skip the clause and its keyword. */
		for (depth = 0; i > 0; i--) {
			if (s[i - 1] == ')')
				depth++;
			else if (s[i - 1] == '(' && --depth == 0)
				break;
		}
		for (i--; i > 0 && s[i - 1] == ' '; i--)
			;
		while (i > 0 && isalpha((unsigned char)s[i - 1]))
			i--;
		for (; i > 0 && s[i - 1] == ' '; i--)
			;
	}
	end = i;
	while (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_'))
		i--;
	if (end - i != 3 || strncmp(s + i, "max", 3) != 0)
		return ("a database gauge aggregated with something but max");

	return (NULL);
}

/* Every "/" must divide by "( ... > 0)" or by clamp_min(...). */
static const char *
check_divisions(const char *s)
{
	size_t		i, end;

	for (i = 0; s[i] != '\0';) {
		if (s[i] == '"' || s[i] == '\'' || s[i] == '`') {
			i = skip_quoted(s, i);
			continue;
		}
		if (s[i] == '{' || s[i] == '[') {
			i = match_close(s, i);
			continue;
		}
		if (s[i++] != '/')
			continue;
		i += strspn(s + i, " ");
		if (strncmp(s + i, "clamp_min(", 10) == 0)
			continue;
		if (s[i] != '(')
			return ("a division by an unguarded denominator");
		end = match_close(s, i) - 1;
		while (end > i && s[end - 1] == ' ')
			end--;
		if (end < i + 4 || strncmp(s + end - 3, "> 0", 3) != 0)
			return ("a division by an unguarded denominator");
	}

	return (NULL);
}

/* The metric is in SPEC §3, selected by job, gauges from the DB by max. */
static const char *
check_metric(const char *s, const struct metric_ref *m, const char *job)
{
	static const char	*suffixes[] = { "_bucket", "_sum", "_count" };
	char			 want[256];
	size_t			 i, len, end;
	int			 ok;

	ok = is_word(m->name, strlen(m->name), spec_metrics);
	for (i = 0; !ok && spec_histograms[i] != NULL; i++) {
		len = strlen(spec_histograms[i]);
		if (strncmp(m->name, spec_histograms[i], len) != 0)
			continue;
		ok = strcmp(m->name + len, suffixes[0]) == 0 ||
		    strcmp(m->name + len, suffixes[1]) == 0 ||
		    strcmp(m->name + len, suffixes[2]) == 0;
	}
	if (!ok)
		return ("a metric that is not in SPEC section 3");

	if (s[m->end] != '{')
		return ("a selector without a job matcher");
	end = match_close(s, m->end);
	(void)snprintf(want, sizeof(want), "job=\"%s\"", job);
	if (strstr(s + m->end, want) == NULL ||
	    (size_t)(strstr(s + m->end, want) - s) > end)
		return ("a selector without the configured job matcher");

	if (is_word(m->name, strlen(m->name), db_gauges))
		return (check_max(s, m->pos));

	return (NULL);
}

/* NULL when the expression is acceptable, else what is wrong. */
static const char *
check_expr(const char *s, const char *job)
{
	struct metric_ref	refs[METRICS_MAX];
	const char		*why;
	size_t			 i, n;

	n = scan_metrics(s, refs, METRICS_MAX);
	if (n == 0)
		return ("no metric at all");
	for (i = 0; i < n; i++) {
		if ((why = check_metric(s, &refs[i], job)) != NULL)
			return (why);
	}

	return (check_divisions(s));
}

/*
 * promtool check rules on recording rules wrapping every expression;
 * its complaint is logged unless a failure is expected.
 */
static int
promtool_check_exprs(char *const *exprs, size_t n, int expect_ok)
{
	struct proc	 p;
	FILE		*fp;
	char		 path[PATH_MAX], expr[EXPR_MAX], *v;
	char		*argv[] = { "promtool", "check", "rules", path, NULL };
	size_t		 i;
	int		 status;

	tpath(path, sizeof(path), "exprs.rules.yml");
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fprintf(fp, "groups:\n  - name: dashboard\n    rules:\n");
	for (i = 0; i < n; i++) {
		/* Grafana's interval variables, as Grafana expands them. */
		(void)snprintf(expr, sizeof(expr), "%s", exprs[i]);
		while ((v = strstr(expr, "$__rate_interval")) != NULL) {
			memmove(v + 2, v + 16, strlen(v + 16) + 1);
			memcpy(v, "5m", 2);
		}
		/* And its template variables, as a user picks them. */
		while ((v = strstr(expr, "$namespace")) != NULL) {
			memmove(v + 2, v + 10, strlen(v + 10) + 1);
			memcpy(v, "ns", 2);
		}
		while ((v = strstr(expr, "$job")) != NULL) {
			memmove(v + 3, v + 4, strlen(v + 4) + 1);
			memcpy(v, "job", 3);
		}
		while ((v = strstr(expr, "$cluster")) != NULL) {
			memmove(v + 4, v + 8, strlen(v + 8) + 1);
			memcpy(v, "east", 4);
		}
		fprintf(fp, "      - record: dashboard:expr_%zu\n"
		    "        expr: ", i);
		fput_yq(fp, expr);
		fprintf(fp, "\n");
	}
	cr_assert_eq(fclose(fp), 0);

	run(&p, argv);
	status = p.status;
	if (status != 0 && expect_ok)
		cr_log_error("promtool check rules:\n%s%s", p.out, p.err);
	proc_free(&p);

	return (status);
}

/* ---------------------------------------------------------------- */
/* dashboard								*/

static json_t *
load_dashboard(const char *path, struct ydoc *y)
{
	yaml_node_t	*label;
	json_error_t	 error;
	json_t		*root;
	const char	*text;

	ydoc_load(y, path);
	cr_assert_str_eq(ystr(yget(y, y->root, "kind")), "ConfigMap");
	label = yget(y, ypath(y, y->root, "metadata.labels"),
	    "grafana_dashboard");
	cr_assert_str_eq(ystr(label), "1");
	cr_assert(label->data.scalar.style != YAML_PLAIN_SCALAR_STYLE,
	    "grafana_dashboard: 1 must be a quoted string");

	text = ystr(yget(y, ypath(y, y->root, "data"), DASH_KEY));
	cr_assert_not_null(text, "%s: no data.%s", path, DASH_KEY);
	root = json_loads(text, JSON_REJECT_DUPLICATES, &error);
	cr_assert_not_null(root, "%s: invalid JSON at line %d: %s", path,
	    error.line, error.text);

	return (root);
}

/* Every panel, rows' nested panels included, into out. */
static void
collect_panels(json_t *panels, json_t *out)
{
	json_t		*p;
	size_t		 i;

	json_array_foreach(panels, i, p) {
		json_array_append(out, p);
		if (json_is_array(json_object_get(p, "panels")))
			collect_panels(json_object_get(p, "panels"), out);
	}
}

/*
 * Every PromQL expression of the dashboard root, rows' nested panels
 * included, in panel order: into exprs (at most max, pointers into
 * root), their count returned.  Each must be asked of the Prometheus
 * the ${datasource} variable picks.
 */
static size_t
dashboard_exprs(json_t *root, char **exprs, size_t max)
{
	json_t		*all, *p, *t;
	const char	*expr;
	size_t		 i, j, n;

	all = json_array();
	collect_panels(json_object_get(root, "panels"), all);
	n = 0;
	json_array_foreach(all, i, p) {
		json_array_foreach(json_object_get(p, "targets"), j, t) {
			if ((expr = json_string_value(json_object_get(t,
			    "expr"))) == NULL)
				continue;
			cr_assert_str_eq(json_string_value(json_object_get(
			    json_object_get(t, "datasource"), "uid")),
			    "${datasource}", "%s", expr);
			cr_assert_lt(n, max, "more than %zu expressions", max);
			exprs[n++] = (char *)expr;
		}
	}
	json_decref(all);

	return (n);
}

/* ---------------------------------------------------------------- */
/* Alertmanager, ServiceMonitor, runbooks				*/

/*
 * amtool config routes test: the alert with labels (NULL-terminated)
 * goes to exactly receivers (comma-separated), or, want 0, does not.
 */
static void
routes_test(const char *config, const char *const *labels,
    const char *receivers, int want)
{
	struct proc	 p;
	char		 verify[512], shown[512];
	char		*argv[32];
	size_t		 n, i;

	n = 0;
	argv[n++] = "amtool";
	argv[n++] = "config";
	argv[n++] = "routes";
	argv[n++] = "test";
	argv[n++] = "--config.file";
	argv[n++] = (char *)config;
	(void)snprintf(verify, sizeof(verify), "--verify.receivers=%s",
	    receivers);
	argv[n++] = verify;
	shown[0] = '\0';
	for (i = 0; labels[i] != NULL && n < 31; i++) {
		argv[n++] = (char *)labels[i];
		(void)strncat(shown, labels[i], sizeof(shown) -
		    strlen(shown) - 2);
		(void)strcat(shown, " ");
	}
	argv[n] = NULL;

	run(&p, argv);
	cr_assert_eq(p.status == 0, want, "%s-> %s%s: got %s%s", shown,
	    want ? "" : "not ", receivers, p.out, p.err);
	proc_free(&p);
}

/* One of our alerts at severity (NULL: none) to want / not want. */
static void
routes_ours(const char *config, const struct config *cfg,
    const char *severity, const char *receivers, int want)
{
	char		 job[300], ns[300], sev[64];
	const char	*labels[] = { "alertname=SagaTest", job, ns, sev,
			    NULL };

	(void)snprintf(job, sizeof(job), "job=%s", cfg->monitoring.job);
	(void)snprintf(ns, sizeof(ns), "namespace=%s",
	    cfg->monitoring.service_namespace);
	(void)snprintf(sev, sizeof(sev), "severity=%s", severity);
	if (severity == NULL)
		labels[3] = NULL;
	routes_test(config, labels, receivers, want);
}

/* The receivers of a routing list, as the generator names them. */
static void
receivers_of(const struct config_route *r, char *buf, size_t len)
{
	size_t		i;

	buf[0] = '\0';
	for (i = 0; i < r->count; i++) {
		(void)strncat(buf, i == 0 ? "saga-tracker-" : ",saga-tracker-",
		    len - strlen(buf) - 1);
		(void)strncat(buf, r->receivers[i], len - strlen(buf) - 1);
	}
}

static void
check_routing(const char *name, const struct config *cfg)
{
	struct proc	 p;
	char		 path[PATH_MAX], want[1024], job[300], ns[300];
	char		 other_job[300], other_ns[300];
	char		*argv[] = { "amtool", "check-config", path, NULL };
	const char	*watchdog[] = { "alertname=Watchdog", "severity=none",
			    NULL };
	const char	*foreign_job[] = { "alertname=KubePodCrashLooping",
			    other_job, ns, "severity=critical", NULL };
	const char	*foreign_ns[] = { "alertname=SagaTrackerDown", job,
			    other_ns, "severity=critical", NULL };
	int		 s;

	tpath(path, sizeof(path), "%s/deploy/" ALERTMANAGER, name);
	run(&p, argv);
	cr_assert_eq(p.status, 0, "amtool check-config:\n%s%s", p.out, p.err);
	proc_free(&p);

	for (s = 0; s < SEVERITY_COUNT; s++) {
		receivers_of(&cfg->routing[s], want, sizeof(want));
		routes_ours(path, cfg, config_severity_name(s), want, 1);
	}
	/* No severity: the first warning receiver. */
	(void)snprintf(want, sizeof(want), "saga-tracker-%s",
	    cfg->routing[SEVERITY_WARNING].receivers[0]);
	routes_ours(path, cfg, NULL, want, 1);
	/* The check itself can fail: critical is not its last one alone. */
	(void)snprintf(want, sizeof(want), "saga-tracker-%s",
	    cfg->routing[SEVERITY_CRITICAL].receivers[
	    cfg->routing[SEVERITY_CRITICAL].count - 1]);
	routes_ours(path, cfg, "critical", want,
	    cfg->routing[SEVERITY_CRITICAL].count == 1);

	/* Nothing else of the cluster reaches our receivers. */
	(void)snprintf(job, sizeof(job), "job=%s", cfg->monitoring.job);
	(void)snprintf(ns, sizeof(ns), "namespace=%s",
	    cfg->monitoring.service_namespace);
	(void)snprintf(other_job, sizeof(other_job), "job=%s-other",
	    cfg->monitoring.job);
	(void)snprintf(other_ns, sizeof(other_ns), "namespace=%s-other",
	    cfg->monitoring.service_namespace);
	routes_test(path, watchdog, ROOT_RECEIVER, 1);
	routes_test(path, foreign_job, ROOT_RECEIVER, 1);
	routes_test(path, foreign_ns, ROOT_RECEIVER, 1);
}

static void
check_service_monitor(const char *name, const struct config *cfg)
{
	struct ydoc	 y;
	yaml_node_t	*ep, *rl;
	char		 path[PATH_MAX];
	size_t		 i;
	int		 found;

	tpath(path, sizeof(path), "%s/deploy/" SERVICE_MONITOR, name);
	ydoc_load(&y, path);
	cr_assert_str_eq(ystr(yget(&y, y.root, "apiVersion")),
	    "monitoring.coreos.com/v1");
	cr_assert_str_eq(ystr(yget(&y, y.root, "kind")), "ServiceMonitor");
	cr_assert_str_eq(ystr(ypath(&y, y.root, "metadata.namespace")),
	    cfg->monitoring.service_monitor_namespace);
	cr_assert_eq(ylen(ypath(&y, y.root, "spec.namespaceSelector."
	    "matchNames")), 1);
	cr_assert_str_eq(ystr(ypath(&y, y.root, "spec.namespaceSelector."
	    "matchNames.0")), cfg->monitoring.service_namespace);
	cr_assert_str_eq(ystr(yget(&y, ypath(&y, y.root,
	    "spec.selector.matchLabels"), "app.kubernetes.io/name")),
	    "saga-tracker");

	ep = ypath(&y, y.root, "spec.endpoints.0");
	cr_assert_str_eq(ystr(yget(&y, ep, "port")), "http");
	cr_assert_str_eq(ystr(yget(&y, ep, "path")), "/actuator/prometheus");
	cr_assert_str_eq(ystr(yget(&y, ep, "interval")), "15s");
	rl = yget(&y, ep, "relabelings");
	for (found = 0, i = 0; i < ylen(rl); i++) {
		if (strcmp(ystr(yget(&y, yat(&y, rl, i), "targetLabel")),
		    "job") == 0 &&
		    strcmp(ystr(yget(&y, yat(&y, rl, i), "replacement")),
		    cfg->monitoring.job) == 0)
			found = 1;
	}
	cr_assert(found, "the scrape does not set job=%s",
	    cfg->monitoring.job);
	ydoc_free(&y);
}

static void
check_runbooks(const char *name, const struct config *cfg)
{
	static const char	*need[N_RUNBOOKS][8] = {
		{ "/api/v1/sagas?status=FAILED", "/api/v1/sagas/<sagaId>",
		  "FROM saga_instance", "FROM saga_event", "traceId",
		  "trace_id", NULL },
		{ "PATCH", "/internal/v1/sagas/<sagaId>/status",
		  "Authorization: Bearer", "saga_event_rejected", "kcat",
		  "deploy/saga-tracker", "FROM saga_instance" },
		{ "kcat", "saga_event", "pg_stat_activity", "rollout restart",
		  "deploy/saga-tracker", NULL },
		{ "/actuator/health", "/actuator/prometheus",
		  "get servicemonitor", "rollout undo", "deploy/saga-tracker",
		  "serviceMonitorSelector", "ruleSelector",
		  "monitoring.labels" },
		{ "saga_tracker_db_up", "pg_stat_activity", "db-dsn",
		  "rollout restart", NULL },
		{ "saga_tracker_gauges_age_seconds", "saga_tracker_db_up",
		  "pg_stat_activity", NULL },
		{ "saga_tracker_consumer_partitions", "components.kafka",
		  "kafka-consumer-groups.sh", "rollout restart", NULL },
		{ "saga_tracker_consumer_lag_age_seconds", "kcat", NULL },
		{ "FROM saga_event_rejected", "conflict", "expired", NULL },
		{ "code=~\"5..\"", "SagaTrackerDatabaseDown",
		  "SagaTrackerDown", "rollout undo", "slo.api_availability",
		  NULL },
		{ "saga_tracker_api_latency_seconds_bucket",
		  "saga_tracker_db_query_seconds_bucket", "slo.api_latency",
		  NULL },
		{ "saga_tracker_event_delay_seconds_bucket",
		  "SagaTrackerConsumerLag", "slo.event_freshness", NULL },
	};
	struct ydoc	 y;
	yaml_node_t	*rule;
	char		 path[PATH_MAX], want[1024], *text;
	size_t		 i, j;

	tpath(path, sizeof(path), "%s/deploy/" RULES, name);
	ydoc_load(&y, path);
	for (i = 0; i < N_RUNBOOKS; i++) {
		rule = find_rule(&y, yget(&y, y.root, "groups"),
		    alert_names[i]);
		cr_assert_not_null(rule, "no alert %s", alert_names[i]);
		(void)snprintf(want, sizeof(want), "%s/%s.md",
		    cfg->monitoring.runbook_base_url, alert_names[i]);
		cr_assert_str_eq(ystr(ypath(&y, rule,
		    "annotations.runbook_url")), want);

		tpath(path, sizeof(path), "%s/runbooks/%s.md", name,
		    alert_names[i]);
		text = slurp(path, NULL);
		cr_assert_not_null(text, "no runbook %s", path);
		cr_assert(strstr(text, ystr(yget(&y, rule, "expr"))) != NULL,
		    "%s does not show its alert's expression", path);
		(void)snprintf(want, sizeof(want), "kubectl -n %s ",
		    cfg->monitoring.service_namespace);
		cr_assert(strstr(text, want) != NULL, "%s: no '%s'", path,
		    want);
		cr_assert(strstr(text, "port-forward svc/saga-tracker") !=
		    NULL, "%s", path);
		for (j = 0; j < 8 && need[i][j] != NULL; j++) {
			cr_assert(strstr(text, need[i][j]) != NULL,
			    "%s: no '%s'", path, need[i][j]);
		}
		check_runbook_source(path, text, i);
		free(text);
	}
	ydoc_free(&y);
}

/*
 * The module of tools/ that runbook i says to change is the one that
 * writes it: it exists and opens that alert's runbook.
 */
static void
check_runbook_source(const char *path, const char *text, size_t i)
{
	const char	*p, *end;
	char		 source[PATH_MAX], *code;

	p = strstr(text, "Do not edit: change tools/");
	cr_assert_not_null(p, "%s names no source in tools/", path);
	p += strlen("Do not edit: change ");
	end = strchr(p, ' ');
	cr_assert(end != NULL && (size_t)(end - p) < sizeof(source),
	    "%s: no end to the source's name", path);
	(void)snprintf(source, sizeof(source), "%.*s", (int)(end - p), p);
	code = slurp(source, NULL);
	cr_assert_not_null(code, "%s names %s, which does not exist", path,
	    source);
	cr_assert(strstr(code, runbook_opens[i]) != NULL,
	    "%s names %s, which does not write it (no '%s')", path, source,
	    runbook_opens[i]);
	free(code);
}

/* The lines of every ```promql block of a runbook, split in place. */
static size_t
runbook_queries(char *text, char **out, size_t max)
{
	char		*p, *end, *line;
	size_t		 n;

	n = 0;
	for (p = text; (p = strstr(p, "```promql\n")) != NULL; p = end + 3) {
		p += 10;
		end = strstr(p, "```");
		cr_assert_not_null(end, "unclosed promql block");
		end[0] = '\0';
		for (line = strtok(p, "\n"); line != NULL;
		    line = strtok(NULL, "\n")) {
			line += strspn(line, " ");
			if (*line != '\0' && n < max)
				out[n++] = line;
		}
	}

	return (n);
}

/* The generator refuses config exactly as the service does. */
static void
expect_refused(const char *config)
{
	struct config	 cfg;
	struct proc	 p;
	char		 want[CONFIG_ERR_MAX + 2], err[CONFIG_ERR_MAX];
	char		 out[PATH_MAX];
	char		*argv[] = { GEN, "-c", (char *)config, "-o", out, "-r",
			    out, NULL };

	cr_assert_eq(config_load(&cfg, config, err, sizeof(err)), -1,
	    "%s loads", config);
	(void)snprintf(want, sizeof(want), "%s\n", err);

	tpath(out, sizeof(out), "refused");
	run(&p, argv);
	cr_assert_eq(p.status, 1, "%s: exit %d", config, p.status);
	cr_assert_str_eq(p.err, want);
	cr_assert_str_empty(p.out);
	cr_assert_eq(access(out, F_OK), -1, "%s: output written", config);
	proc_free(&p);
}

/* ---------------------------------------------------------------- */
/* the generator							*/

Test(monitoring, writes_every_file_once)
{
	struct proc	 p;
	char		 deploy[PATH_MAX], runbooks[PATH_MAX], want[PATH_MAX];
	char		*argv[] = { GEN, "-c", CONF, "-o", deploy, "-r",
			    runbooks, NULL };
	char		*line, *save;
	size_t		 i;

	tpath(deploy, sizeof(deploy), "deploy");
	tpath(runbooks, sizeof(runbooks), "runbooks");
	run(&p, argv);
	cr_assert_eq(p.status, 0, "%s", p.err);

	for (i = 0, line = strtok_r(p.out, "\n", &save); line != NULL;
	    i++, line = strtok_r(NULL, "\n", &save)) {
		cr_assert_lt(i, N_FILES, "extra output line %s", line);
		tpath(want, sizeof(want), "%s", generated[i]);
		cr_assert_str_eq(line, want);
		cr_assert_eq(access(line, R_OK), 0, "%s not written", line);
	}
	cr_assert_eq(i, N_FILES);
	proc_free(&p);
}

Test(monitoring, committed_output_is_fresh)
{
	char		 path[PATH_MAX], *fresh, *committed;
	size_t		 i, flen, clen;

	/* The same command line as `make generate`, but into tmp. */
	generate(CONF, "fresh");
	for (i = 0; i < N_FILES; i++) {
		tpath(path, sizeof(path), "fresh/%s", generated[i]);
		fresh = slurp(path, &flen);
		committed = slurp(generated[i], &clen);
		cr_assert_not_null(fresh, "%s", path);
		cr_assert_not_null(committed, "%s is not committed; run `make "
		    "generate`", generated[i]);
		cr_assert(flen == clen && memcmp(fresh, committed, flen) == 0,
		    "%s differs from a fresh run; run `make generate`",
		    generated[i]);
		free(fresh);
		free(committed);
	}
}

Test(monitoring, output_is_deterministic)
{
	char		 a[PATH_MAX], b[PATH_MAX], *ta, *tb;
	size_t		 i;

	generate(FIXTURES "custom.yaml", "one");
	generate(FIXTURES "custom.yaml", "two");
	for (i = 0; i < N_FILES; i++) {
		tpath(a, sizeof(a), "one/%s", generated[i]);
		tpath(b, sizeof(b), "two/%s", generated[i]);
		ta = slurp(a, NULL);
		tb = slurp(b, NULL);
		cr_assert_not_null(ta);
		cr_assert_not_null(tb);
		cr_assert_str_eq(ta, tb, "%s", generated[i]);
		free(ta);
		free(tb);
	}
}

Test(monitoring, bad_yaml_refused_like_the_service)
{
	glob_t		g;
	size_t		i;

	cr_assert_eq(glob(FIXTURES "err_*.yaml", 0, NULL, &g), 0);
	if (glob(CONFIG_FIXTURES "err_*.yaml", GLOB_APPEND, NULL, &g) != 0)
		cr_log_warn("no %serr_*.yaml fixtures", CONFIG_FIXTURES);
	for (i = 0; i < g.gl_pathc; i++)
		expect_refused(g.gl_pathv[i]);
	expect_refused(FIXTURES "does-not-exist.yaml");
	globfree(&g);
}

Test(monitoring, unknown_receiver_integration_refused)
{
	struct proc	 p;
	char		 out[PATH_MAX];
	char		*argv[] = { GEN, "-c", FIXTURES "bad_receiver.yaml",
			    "-o", out, "-r", out, NULL };

	tpath(out, sizeof(out), "refused");
	run(&p, argv);
	cr_assert_eq(p.status, 1);
	cr_assert(strstr(p.err, FIXTURES "bad_receiver.yaml: "
	    "routing.warning[0]: receiver 'email-ops'") != NULL, "%s", p.err);
	cr_assert_str_empty(p.out);
	cr_assert_eq(access(out, F_OK), -1, "output written");
	proc_free(&p);
}

Test(monitoring, usage_errors)
{
	struct proc	 p;
	char		*bad_flag[] = { GEN, "-x", NULL };
	char		*extra[] = { GEN, "-c", CONF, "extra", NULL };

	run(&p, bad_flag);
	cr_assert_eq(p.status, 1);
	cr_assert(strstr(p.err, "usage: monitoring-gen") != NULL, "%s", p.err);
	proc_free(&p);

	run(&p, extra);
	cr_assert_eq(p.status, 1);
	cr_assert(strstr(p.err, "usage: monitoring-gen") != NULL, "%s", p.err);
	proc_free(&p);
}

/* ---------------------------------------------------------------- */
/* rules								*/

Test(monitoring, rules_pass_promtool_check)
{
	struct proc	 p;
	char		 path[PATH_MAX];
	char		*argv[] = { "promtool", "check", "rules", path, NULL };

	generate(CONF, "gen");
	tpath(path, sizeof(path), "gen/deploy/" RULES);
	run(&p, argv);
	cr_assert_eq(p.status, 0, "%s%s", p.out, p.err);
	/* The alerts, and per SLO 4 recording rules and 2 alerts. */
	cr_assert(strstr(p.out, "SUCCESS: 27 rules found") != NULL, "%s",
	    p.out);
	proc_free(&p);
}

Test(monitoring, prometheus_rule_has_the_same_groups)
{
	struct config	 cfg;
	struct ydoc	 plain, cr;
	char		 path[PATH_MAX];

	load_config(&cfg, FIXTURES "custom.yaml");
	generate(FIXTURES "custom.yaml", "gen");
	tpath(path, sizeof(path), "gen/deploy/" RULES);
	ydoc_load(&plain, path);
	tpath(path, sizeof(path), "gen/deploy/" RULES_CR);
	ydoc_load(&cr, path);

	cr_assert_str_eq(ystr(yget(&cr, cr.root, "apiVersion")),
	    "monitoring.coreos.com/v1");
	cr_assert_str_eq(ystr(yget(&cr, cr.root, "kind")), "PrometheusRule");
	cr_assert_str_eq(ystr(ypath(&cr, cr.root, "metadata.namespace")),
	    cfg.monitoring.namespace);
	cr_assert(ynode_eq(&plain, yget(&plain, plain.root, "groups"), &cr,
	    ypath(&cr, cr.root, "spec.groups")), "groups differ");
	ydoc_free(&plain);
	ydoc_free(&cr);
}

Test(monitoring, alert_rules_every_alert_and_annotation)
{
	struct config	 cfg;
	struct ydoc	 y;
	yaml_node_t	*rule;
	char		 path[PATH_MAX];
	const char	*why;
	size_t		 i;

	load_config(&cfg, CONF);
	generate(CONF, "gen");
	tpath(path, sizeof(path), "gen/deploy/" RULES);
	ydoc_load(&y, path);
	for (i = 0; i < N_RUNBOOKS; i++) {
		rule = find_rule(&y, yget(&y, y.root, "groups"),
		    alert_names[i]);
		cr_assert_not_null(rule, "no %s", alert_names[i]);
		cr_assert_gt(strlen(ystr(ypath(&y, rule,
		    "annotations.summary"))), 10);
		cr_assert_gt(strlen(ystr(ypath(&y, rule,
		    "annotations.description"))), 40);
		why = check_expr(ystr(yget(&y, rule, "expr")),
		    cfg.monitoring.job);
		cr_assert_null(why, "%s: %s", alert_names[i], why);
	}
	rule = find_rule(&y, yget(&y, y.root, "groups"), "SagaTrackerDown");
	cr_assert(strstr(ystr(yget(&y, rule, "expr")), "absent(up{job=") !=
	    NULL);
	ydoc_free(&y);
}

Test(monitoring, promtool_unit_tests_from_the_yaml)
{
	check_alert_tests(CONF, "conf");
}

Test(monitoring, promtool_unit_tests_from_another_yaml)
{
	check_alert_tests(FIXTURES "custom.yaml", "custom");
}

Test(monitoring, failure_spike_threshold_up)
{
	struct config	cfg;
	char		text[64];

	load_config(&cfg, CONF);
	(void)snprintf(text, sizeof(text), "%.17g",
	    cfg.alerts.failure_spike.threshold * 2);
	check_variant(SPIKE, "alerts.failure_spike.threshold", text);
}

Test(monitoring, failure_spike_threshold_down)
{
	struct config	cfg;
	char		text[64];

	load_config(&cfg, CONF);
	(void)snprintf(text, sizeof(text), "%.17g",
	    cfg.alerts.failure_spike.threshold / 2);
	check_variant(SPIKE, "alerts.failure_spike.threshold", text);
}

Test(monitoring, failure_spike_for)
{
	struct config	cfg;
	char		text[64];

	load_config(&cfg, CONF);
	(void)snprintf(text, sizeof(text), "%us",
	    cfg.alerts.failure_spike.for_sec + 60);
	check_variant(SPIKE, "alerts.failure_spike.for", text);
}

Test(monitoring, compensation_timeout_after_up)
{
	struct config	cfg;
	char		text[64];

	load_config(&cfg, CONF);
	(void)snprintf(text, sizeof(text), "%us",
	    cfg.alerts.compensation_timeout.after_sec * 2);
	check_variant(COMP, "alerts.compensation_timeout.after", text);
}

Test(monitoring, compensation_timeout_after_down)
{
	struct config	cfg;
	char		text[64];

	load_config(&cfg, CONF);
	cr_assert_gt(cfg.alerts.compensation_timeout.after_sec, 1);
	(void)snprintf(text, sizeof(text), "%us",
	    cfg.alerts.compensation_timeout.after_sec / 2);
	check_variant(COMP, "alerts.compensation_timeout.after", text);
}

Test(monitoring, consumer_lag_threshold_up)
{
	struct config	cfg;
	char		text[64];

	load_config(&cfg, CONF);
	(void)snprintf(text, sizeof(text), "%.17g",
	    cfg.alerts.consumer_lag.threshold * 2);
	check_variant(LAG, "alerts.consumer_lag.threshold", text);
}

Test(monitoring, consumer_lag_threshold_down)
{
	struct config	cfg;
	char		text[64];

	load_config(&cfg, CONF);
	(void)snprintf(text, sizeof(text), "%.17g",
	    cfg.alerts.consumer_lag.threshold / 2);
	check_variant(LAG, "alerts.consumer_lag.threshold", text);
}

Test(monitoring, service_down_for)
{
	struct config	cfg;
	char		text[64];

	load_config(&cfg, CONF);
	(void)snprintf(text, sizeof(text), "%us",
	    cfg.alerts.service_down.for_sec + 120);
	check_variant(DOWN, "alerts.service_down.for", text);
}

/* alerts.<key> (a duration, secs now) times num/den in a copy. */
static void
check_scaled(enum alert_id id, const char *key, unsigned int secs,
    unsigned int num, unsigned int den)
{
	char		keypath[128], text[64];

	(void)snprintf(keypath, sizeof(keypath), "alerts.%s", key);
	(void)snprintf(text, sizeof(text), "%us", secs * num / den);
	check_variant(id, keypath, text);
}

Test(monitoring, database_down_for)
{
	struct config	cfg;

	load_config(&cfg, CONF);
	check_scaled(DB, "database_down.for", cfg.alerts.database_down.for_sec,
	    3, 1);
}

Test(monitoring, gauges_stale_after)
{
	struct config	cfg;

	load_config(&cfg, CONF);
	check_scaled(GAUGES, "gauges_stale.after",
	    cfg.alerts.gauges_stale.after_sec, 2, 1);
	check_scaled(GAUGES, "gauges_stale.after",
	    cfg.alerts.gauges_stale.after_sec, 1, 2);
}

Test(monitoring, consumer_stalled_after)
{
	struct config	cfg;

	load_config(&cfg, CONF);
	check_scaled(STALLED, "consumer_stalled.after",
	    cfg.alerts.consumer_stalled.after_sec, 2, 1);
	check_scaled(STALLED, "consumer_stalled.after",
	    cfg.alerts.consumer_stalled.after_sec, 1, 2);
}

Test(monitoring, lag_stale_after)
{
	struct config	cfg;

	load_config(&cfg, CONF);
	check_scaled(LAGSTALE, "lag_stale.after",
	    cfg.alerts.lag_stale.after_sec, 2, 1);
}

Test(monitoring, rejected_events_window)
{
	struct config	cfg;

	load_config(&cfg, CONF);
	check_scaled(REJECTED, "rejected_events.window",
	    cfg.alerts.rejected_events.window_sec, 2, 1);
}

/* ---------------------------------------------------------------- */
/* Alertmanager								*/

Test(monitoring, alertmanager_routes_per_severity)
{
	struct config	cfg;

	load_config(&cfg, CONF);
	generate(CONF, "gen");
	check_routing("gen", &cfg);
}

Test(monitoring, alertmanager_default_routing)
{
	struct config	cfg;
	char		path[PATH_MAX];

	load_config(&cfg, CONF);
	generate(CONF, "gen");
	tpath(path, sizeof(path), "gen/deploy/" ALERTMANAGER);
	routes_ours(path, &cfg, "critical",
	    "saga-tracker-pagerduty,saga-tracker-slack", 1);
	routes_ours(path, &cfg, "warning", "saga-tracker-slack", 1);
	routes_ours(path, &cfg, "info", "saga-tracker-slack", 1);
	routes_ours(path, &cfg, "warning",
	    "saga-tracker-pagerduty,saga-tracker-slack", 0);
	routes_ours(path, &cfg, "critical", ROOT_RECEIVER, 0);
}

/* The snippet is exactly what the whole configuration is made of. */
Test(monitoring, alertmanager_snippet_is_part_of_the_config)
{
	struct ydoc	 part, whole;
	yaml_node_t	*recv, *root;
	char		 path[PATH_MAX];
	size_t		 i;

	generate(FIXTURES "custom.yaml", "gen");
	tpath(path, sizeof(path), "gen/deploy/" AM_SNIPPET);
	ydoc_load(&part, path);
	tpath(path, sizeof(path), "gen/deploy/" ALERTMANAGER);
	ydoc_load(&whole, path);

	cr_assert_eq(ylen(yget(&part, part.root, "routes")), 1);
	cr_assert(ynode_eq(&part, yget(&part, part.root, "routes"), &whole,
	    ypath(&whole, whole.root, "route.routes")), "routes differ");
	cr_assert(ynode_eq(&part, yget(&part, part.root, "inhibit_rules"),
	    &whole, yget(&whole, whole.root, "inhibit_rules")),
	    "inhibit_rules differ");

	recv = yget(&part, part.root, "receivers");
	cr_assert_eq(ylen(recv), 3);
	cr_assert_eq(ylen(yget(&whole, whole.root, "receivers")), 4);
	for (i = 0; i < ylen(recv); i++) {
		cr_assert(ynode_eq(&part, yat(&part, recv, i), &whole,
		    yat(&whole, yget(&whole, whole.root, "receivers"), i + 1)),
		    "receiver %zu differs", i);
	}
	root = yat(&whole, yget(&whole, whole.root, "receivers"), 0);
	cr_assert_str_eq(ystr(yget(&whole, root, "name")), ROOT_RECEIVER);
	cr_assert_eq(root->data.mapping.pairs.top -
	    root->data.mapping.pairs.start, 1, "the root receiver sends");
	cr_assert_str_eq(ystr(ypath(&whole, whole.root, "route.receiver")),
	    ROOT_RECEIVER);
	cr_assert_null(ypath(&whole, whole.root, "route.routes.0.continue"),
	    "our alerts would also go to the root receiver");
	ydoc_free(&part);
	ydoc_free(&whole);
}

/* A sequence of scalars holds want. */
static int
yhas(struct ydoc *y, yaml_node_t *seq, const char *want)
{
	size_t		i;

	for (i = 0; i < ylen(seq); i++) {
		if (strcmp(ystr(yat(y, seq, i)), want) == 0)
			return (1);
	}

	return (0);
}

Test(monitoring, alertmanager_inhibition_scoped)
{
	struct config	 cfg;
	struct ydoc	 y;
	yaml_node_t	*rules, *r;
	char		 path[PATH_MAX], job[300], ns[300];
	size_t		 i;

	load_config(&cfg, FIXTURES "custom.yaml");
	generate(FIXTURES "custom.yaml", "gen");
	tpath(path, sizeof(path), "gen/deploy/" ALERTMANAGER);
	ydoc_load(&y, path);
	(void)snprintf(job, sizeof(job), "job=\"%s\"", cfg.monitoring.job);
	(void)snprintf(ns, sizeof(ns), "namespace=\"%s\"",
	    cfg.monitoring.service_namespace);

	rules = yget(&y, y.root, "inhibit_rules");
	cr_assert_eq(ylen(rules), 2);
	for (i = 0; i < 2; i++) {
		r = yat(&y, rules, i);
		/* Both sides only this service's alerts. */
		cr_assert(yhas(&y, yget(&y, r, "source_matchers"), job));
		cr_assert(yhas(&y, yget(&y, r, "source_matchers"), ns));
		cr_assert(yhas(&y, yget(&y, r, "target_matchers"), job));
		cr_assert(yhas(&y, yget(&y, r, "target_matchers"), ns));
		cr_assert(yhas(&y, yget(&y, r, "equal"), "namespace"));
		cr_assert(yhas(&y, yget(&y, r, "equal"), "job"));
	}
	r = yat(&y, rules, 0);
	cr_assert(yhas(&y, yget(&y, r, "source_matchers"),
	    "alertname=\"SagaTrackerDown\""));
	cr_assert(yhas(&y, yget(&y, r, "target_matchers"),
	    "alertname!=\"SagaTrackerDown\""));
	r = yat(&y, rules, 1);
	cr_assert(yhas(&y, yget(&y, r, "source_matchers"),
	    "severity=\"critical\""));
	cr_assert(yhas(&y, yget(&y, r, "target_matchers"),
	    "severity=~\"warning|info\""));
	cr_assert(yhas(&y, yget(&y, r, "equal"), "alertname"));
	ydoc_free(&y);
}

/* The AlertmanagerConfig routes and inhibits as the plain file does. */
Test(monitoring, alertmanager_config_object)
{
	struct config	 cfg;
	struct ydoc	 y;
	yaml_node_t	*spec, *routes, *m, *recv;
	char		 path[PATH_MAX];
	size_t		 i, s, n;
	const char	*sev;

	load_config(&cfg, FIXTURES "custom.yaml");
	generate(FIXTURES "custom.yaml", "gen");
	tpath(path, sizeof(path), "gen/deploy/" AM_CONFIG);
	ydoc_load(&y, path);
	cr_assert_str_eq(ystr(yget(&y, y.root, "apiVersion")),
	    "monitoring.coreos.com/v1alpha1");
	cr_assert_str_eq(ystr(yget(&y, y.root, "kind")), "AlertmanagerConfig");
	/* OnNamespace: the object's namespace is the alerts'. */
	cr_assert_str_eq(ystr(ypath(&y, y.root, "metadata.namespace")),
	    cfg.monitoring.service_namespace);

	spec = yget(&y, y.root, "spec");
	m = ypath(&y, spec, "route.matchers.0");
	cr_assert_str_eq(ystr(yget(&y, m, "name")), "job");
	cr_assert_str_eq(ystr(yget(&y, m, "value")), cfg.monitoring.job);
	cr_assert_str_eq(ystr(yget(&y, m, "matchType")), "=");
	cr_assert_str_eq(ystr(ypath(&y, spec, "route.receiver")),
	    cfg.routing[SEVERITY_WARNING].receivers[0]);

	routes = ypath(&y, spec, "route.routes");
	for (n = 0, s = 0; s < SEVERITY_COUNT; s++) {
		sev = config_severity_name((enum config_severity)(
		    SEVERITY_COUNT - 1 - s));
		for (i = 0; i < cfg.routing[SEVERITY_COUNT - 1 - s].count;
		    i++, n++) {
			m = yat(&y, routes, n);
			cr_assert_str_eq(ystr(yget(&y, m, "receiver")),
			    cfg.routing[SEVERITY_COUNT - 1 - s].receivers[i]);
			cr_assert_str_eq(ystr(ypath(&y, m,
			    "matchers.0.value")), sev);
			cr_assert_eq(yget(&y, m, "continue") != NULL, i + 1 <
			    cfg.routing[SEVERITY_COUNT - 1 - s].count);
		}
	}
	cr_assert_eq(ylen(routes), n);

	recv = yget(&y, spec, "receivers");
	cr_assert_eq(ylen(recv), 3);
	for (i = 0; i < ylen(recv); i++) {
		m = yat(&y, recv, i);
		if (strncmp(ystr(yget(&y, m, "name")), "pagerduty", 9) == 0)
			m = ypath(&y, m, "pagerdutyConfigs.0.routingKey");
		else
			m = ypath(&y, m, "slackConfigs.0.apiURL");
		cr_assert_not_null(m, "receiver %zu: no secret reference", i);
		cr_assert(strncmp(ystr(yget(&y, m, "name")), "saga-tracker-",
		    13) == 0);
	}
	cr_assert_eq(ylen(yget(&y, spec, "inhibitRules")), 2);
	m = ypath(&y, spec, "inhibitRules.0.sourceMatch.0");
	cr_assert_str_eq(ystr(yget(&y, m, "value")), "SagaTrackerDown");
	ydoc_free(&y);
}

Test(monitoring, alertmanager_routes_follow_the_yaml)
{
	struct config	cfg;

	load_config(&cfg, FIXTURES "custom.yaml");
	generate(FIXTURES "custom.yaml", "gen");
	check_routing("gen", &cfg);
}

Test(monitoring, alertmanager_secrets_by_file_only)
{
	struct ydoc	 y;
	yaml_node_t	*recv, *cfgs, *c;
	char		 path[PATH_MAX];
	size_t		 i, j, seen;

	generate(FIXTURES "custom.yaml", "gen");
	tpath(path, sizeof(path), "gen/deploy/" ALERTMANAGER);
	ydoc_load(&y, path);
	recv = yget(&y, y.root, "receivers");
	for (seen = 0, i = 0; i < ylen(recv); i++) {
		cfgs = yget(&y, yat(&y, recv, i), "pagerduty_configs");
		for (j = 0; j < ylen(cfgs); j++, seen++) {
			c = yat(&y, cfgs, j);
			cr_assert_not_null(yget(&y, c, "routing_key_file"));
			cr_assert_null(yget(&y, c, "routing_key"));
			cr_assert_null(yget(&y, c, "service_key"));
		}
		cfgs = yget(&y, yat(&y, recv, i), "slack_configs");
		for (j = 0; j < ylen(cfgs); j++, seen++) {
			c = yat(&y, cfgs, j);
			cr_assert_not_null(yget(&y, c, "api_url_file"));
			cr_assert_null(yget(&y, c, "api_url"));
		}
	}
	cr_assert_eq(seen, 3, "pagerduty-oncall, slack-incidents, slack-info");
	cr_assert_null(yget(&y, yget(&y, y.root, "global"), "slack_api_url"));
	ydoc_free(&y);
}

/* ---------------------------------------------------------------- */
/* dashboard								*/

Test(monitoring, dashboard_is_complete)
{
	static const char	*titles[] = { "Active Sagas", "Failed (24h)",
		"Compensated (24h)", "Saga Status Distribution",
		"Saga Events Timeline", "Compensation Duration P95 / P99",
		"Kafka Consumer Lag", "Recent Failed Sagas",
		"API Latency P95 / P99", "DB Query Latency P95",
		"Database Reachable", "Gauges Age", "Lag Reading Age",
		"Partitions Assigned", "SLO API availability: error ratio",
		"SLO API latency: error ratio",
		"SLO Event freshness: error ratio",
		"SLO API availability: budget left (30d)", NULL };
	/* The design's headers first, and the time filter on failedAt. */
	static const char	*columns[] = { "saga_id AS \"SagaID\"",
		"order_id AS \"OrderID\"", "current_step AS \"Last Step\"",
		"AS \"Failed At\"", "FROM saga_instance",
		"$__timeFilter(coalesce(failed_at, updated_at))", NULL };
	struct ydoc		 y;
	json_t			*root, *all, *p, *v, *t;
	char			 path[PATH_MAX];
	const char		*sql;
	size_t			 i, j, k, found;

	generate(CONF, "gen");
	tpath(path, sizeof(path), "gen/deploy/" DASHBOARD);
	root = load_dashboard(path, &y);
	cr_assert_str_eq(json_string_value(json_object_get(root, "uid")),
	    "saga-tracker");

	found = 0;
	json_array_foreach(json_object_get(json_object_get(root,
	    "templating"), "list"), i, v) {
		sql = json_string_value(json_object_get(v, "name"));
		if (strcmp(sql, "datasource") == 0 &&
		    strcmp(json_string_value(json_object_get(v, "query")),
		    "prometheus") == 0)
			found++;
		/* $job and $namespace default to the configuration's. */
		if (strcmp(sql, "job") == 0 || strcmp(sql, "namespace") == 0) {
			cr_assert_str_eq(json_string_value(json_object_get(
			    json_object_get(v, "current"), "value")),
			    strcmp(sql, "job") == 0 ? "saga-tracker-api" :
			    "ecommerce");
			cr_assert(strstr(json_string_value(json_object_get(
			    json_object_get(v, "query"), "query")),
			    "label_values(saga_tracker_build_info") != NULL);
			found++;
		}
	}
	cr_assert_eq(found, 3, "$datasource, $job and $namespace");

	all = json_array();
	collect_panels(json_object_get(root, "panels"), all);
	for (k = 0; titles[k] != NULL; k++) {
		found = 0;
		json_array_foreach(all, i, p) {
			if (strcmp(json_string_value(json_object_get(p,
			    "title")), titles[k]) == 0)
				found++;
		}
		cr_assert_eq(found, 1, "panel %s", titles[k]);
	}

	json_array_foreach(all, i, p) {
		if (strcmp(json_string_value(json_object_get(p, "title")),
		    "Recent Failed Sagas") != 0)
			continue;
		cr_assert_str_eq(json_string_value(json_object_get(p, "type")),
		    "table");
		t = json_array_get(json_object_get(p, "targets"), 0);
		cr_assert_str_eq(json_string_value(json_object_get(
		    json_object_get(t, "datasource"), "type")), "postgres");
		sql = json_string_value(json_object_get(t, "rawSql"));
		cr_assert_not_null(sql);
		for (j = 0; columns[j] != NULL; j++)
			cr_assert(strstr(sql, columns[j]) != NULL, "%s",
			    columns[j]);
	}
	json_decref(all);
	json_decref(root);
	ydoc_free(&y);
}

Test(monitoring, dashboard_panel_ids_unique)
{
	struct ydoc	 y;
	json_t		*root, *all, *p, *q;
	char		 path[PATH_MAX];
	size_t		 i, j;

	generate(CONF, "gen");
	tpath(path, sizeof(path), "gen/deploy/" DASHBOARD);
	root = load_dashboard(path, &y);
	all = json_array();
	collect_panels(json_object_get(root, "panels"), all);
	cr_assert_gt(json_array_size(all), 10);
	json_array_foreach(all, i, p) {
		cr_assert(json_is_integer(json_object_get(p, "id")));
		for (j = i + 1; j < json_array_size(all); j++) {
			q = json_array_get(all, j);
			cr_assert_neq(json_integer_value(json_object_get(p,
			    "id")), json_integer_value(json_object_get(q,
			    "id")), "panel id %lld twice", (long long)
			    json_integer_value(json_object_get(p, "id")));
		}
	}
	json_decref(all);
	json_decref(root);
	ydoc_free(&y);
}

Test(monitoring, dashboard_queries_parse_and_follow_the_rules)
{
	struct config	 cfg;
	struct ydoc	 y;
	json_t		*root;
	char		 path[PATH_MAX], *exprs[DASH_EXPRS_MAX], *expr;
	const char	*why;
	size_t		 i, n;

	load_config(&cfg, FIXTURES "custom.yaml");
	generate(FIXTURES "custom.yaml", "gen");
	tpath(path, sizeof(path), "gen/deploy/" DASHBOARD);
	root = load_dashboard(path, &y);
	n = dashboard_exprs(root, exprs, DASH_EXPRS_MAX);
	cr_assert_gt(n, 30);
	for (i = 0; i < n; i++) {
		expr = exprs[i];
		why = check_expr(expr, "$job");
		cr_assert_null(why, "%s: %s", expr, why);
		cr_assert_eq(count_of(expr, "job=\"$job\""),
		    count_of(expr, "namespace=\"$namespace\""),
		    "%s: a selector without $namespace", expr);
		if (strstr(expr, "histogram_quantile(") != NULL)
			cr_assert(strstr(expr, "[$__rate_interval]") != NULL,
			    "%s: a fixed window", expr);
	}
	cr_assert_eq(promtool_check_exprs(exprs, n, 1), 0);
	json_decref(root);
	ydoc_free(&y);
}

Test(monitoring, dashboard_thresholds_follow_the_yaml)
{
	struct config	 cfg;
	struct ydoc	 y;
	json_t		*root, *all, *p, *steps;
	char		 path[PATH_MAX];
	const char	*title;
	double		 red;
	size_t		 i, found;

	load_config(&cfg, FIXTURES "custom.yaml");
	generate(FIXTURES "custom.yaml", "gen");
	tpath(path, sizeof(path), "gen/deploy/" DASHBOARD);
	root = load_dashboard(path, &y);
	all = json_array();
	collect_panels(json_object_get(root, "panels"), all);
	found = 0;
	json_array_foreach(all, i, p) {
		title = json_string_value(json_object_get(p, "title"));
		steps = json_object_get(json_object_get(json_object_get(
		    json_object_get(p, "fieldConfig"), "defaults"),
		    "thresholds"), "steps");
		red = json_number_value(json_object_get(json_array_get(steps,
		    1), "value"));
		if (strcmp(title, "Kafka Consumer Lag") == 0) {
			cr_assert_eq(red, cfg.alerts.consumer_lag.threshold);
			found++;
		} else if (strcmp(title, "Oldest Pending Compensation") == 0) {
			cr_assert_eq(red,
			    cfg.alerts.compensation_timeout.after_sec);
			found++;
		}
	}
	cr_assert_eq(found, 2);
	json_decref(all);
	json_decref(root);
	ydoc_free(&y);
}

/* The checks above must be able to fail. */
Test(monitoring, query_checks_catch_mistakes)
{
	static const char	*bad[] = {
		"sum(saga_active_total{job=\"j\"})",
		"sum by (job) (saga_compensation_pending_oldest_seconds"
		    "{job=\"j\"})",
		"saga_compensation_pending{job=\"j\"} > 0",
		"max(saga_bogus_total{job=\"j\"})",
		"max(saga_tracker_api_latency_seconds{job=\"j\"})",
		"sum(rate(saga_failed_total[5m]))",
		"sum(rate(saga_failed_total{job=\"other\"}[5m]))",
		"sum(rate(saga_failed_total{job=\"j\"}[5m])) / "
		    "sum(rate(saga_events_processed_total{job=\"j\"}[5m]))",
		NULL
	};
	static const char	*good[] = {
		"sum(max by (status) (saga_active_total{job=\"j\", "
		    "status=~\"A|B\"}))",
		"max by (job) (saga_compensation_pending{job=\"j\"}) > 0",
		"sum(rate(saga_failed_total{job=\"j\"}[5m])) / "
		    "(sum(rate(saga_events_processed_total{job=\"j\"}[5m])) "
		    "> 0)",
		"histogram_quantile(0.9, sum by (le) (rate("
		    "saga_tracker_db_query_seconds_bucket{job=\"j\"}[5m])))",
		"up{job=\"j\"} == 0 or absent(up{job=\"j\"})",
		NULL
	};
	char		*broken[] = { "sum(rate(saga_failed_total{job=\"j\"}"
			    "[5m])", NULL };
	size_t		 i;

	for (i = 0; bad[i] != NULL; i++)
		cr_assert_not_null(check_expr(bad[i], "j"), "%s", bad[i]);
	for (i = 0; good[i] != NULL; i++)
		cr_assert_null(check_expr(good[i], "j"), "%s: %s", good[i],
		    check_expr(good[i], "j"));
	cr_assert_neq(promtool_check_exprs(broken, 1, 0), 0);
	cr_assert_eq(promtool_check_exprs((char **)good, 5, 1), 0);
}

/* ---------------------------------------------------------------- */
/* ServiceMonitor and runbooks						*/

Test(monitoring, service_monitor_follows_the_yaml)
{
	struct config	cfg;

	load_config(&cfg, CONF);
	generate(CONF, "conf");
	check_service_monitor("conf", &cfg);

	load_config(&cfg, FIXTURES "custom.yaml");
	generate(FIXTURES "custom.yaml", "custom");
	check_service_monitor("custom", &cfg);
}

Test(monitoring, runbooks_follow_the_yaml)
{
	struct config	 cfg;
	char		 path[PATH_MAX], *text;
	size_t		 i;

	load_config(&cfg, CONF);
	generate(CONF, "conf");
	check_runbooks("conf", &cfg);

	load_config(&cfg, FIXTURES "custom.yaml");
	generate(FIXTURES "custom.yaml", "custom");
	check_runbooks("custom", &cfg);
	for (i = 0; i < N_ALERTS; i++) {
		if (i == SPIKE)
			continue;
		tpath(path, sizeof(path), "custom/runbooks/%s.md",
		    alert_names[i]);
		text = slurp(path, NULL);
		cr_assert(strstr(text, cfg.kafka.topic) != NULL, "%s", path);
		free(text);
	}
	tpath(path, sizeof(path),
	    "custom/runbooks/SagaTrackerConsumerLag.md");
	text = slurp(path, NULL);
	cr_assert(strstr(text, cfg.kafka.group) != NULL);
	cr_assert(strstr(text, cfg.kafka.brokers) != NULL);
	free(text);
}

Test(monitoring, runbook_queries_parse_and_follow_the_rules)
{
	struct config	 cfg;
	char		 path[PATH_MAX], *text[N_RUNBOOKS], *exprs[128];
	const char	*why;
	size_t		 i, j, n, got;

	load_config(&cfg, FIXTURES "custom.yaml");
	generate(FIXTURES "custom.yaml", "custom");
	for (n = 0, i = 0; i < N_RUNBOOKS; i++) {
		tpath(path, sizeof(path), "custom/runbooks/%s.md",
		    alert_names[i]);
		text[i] = slurp(path, NULL);
		cr_assert_not_null(text[i], "%s", path);
		got = runbook_queries(text[i], exprs + n, 128 - n);
		for (j = n; j < n + got; j++) {
			why = check_expr(exprs[j], cfg.monitoring.job);
			cr_assert_null(why, "%s: %s: %s", path, exprs[j], why);
		}
		n += got;
	}
	cr_assert_gt(n, 20);
	cr_assert_eq(promtool_check_exprs(exprs, n, 1), 0);
	for (i = 0; i < N_RUNBOOKS; i++)
		free(text[i]);
}

/* ---------------------------------------------------------------- */
/* labels and namespaces						*/

static void
check_labels(const char *name, const struct config *cfg)
{
	const struct config_labels	*l = &cfg->monitoring.labels;
	struct ydoc			 y;
	yaml_node_t			*labels;
	char				 path[PATH_MAX];
	size_t				 i, j;

	for (i = 0; labelled[i] != NULL; i++) {
		tpath(path, sizeof(path), "%s/deploy/%s", name, labelled[i]);
		ydoc_load(&y, path);
		labels = ypath(&y, y.root, "metadata.labels");
		cr_assert_str_eq(ystr(yget(&y, labels,
		    "app.kubernetes.io/name")), "saga-tracker", "%s", path);
		cr_assert_not_null(labels, "%s", path);
		cr_assert_eq((size_t)(labels->data.mapping.pairs.top -
		    labels->data.mapping.pairs.start), 2 + l->count +
		    (strcmp(labelled[i], DASHBOARD) == 0), "%s: labels", path);
		for (j = 0; j < l->count; j++) {
			cr_assert_str_eq(ystr(yget(&y, labels, l->names[j])),
			    l->values[j], "%s: label %s", path, l->names[j]);
		}
		ydoc_free(&y);
	}
}

Test(monitoring, every_object_carries_the_labels)
{
	struct config	cfg;

	load_config(&cfg, CONF);
	cr_assert_eq(cfg.monitoring.labels.count, 1);
	cr_assert_str_eq(cfg.monitoring.labels.names[0], "release");
	generate(CONF, "conf");
	check_labels("conf", &cfg);

	load_config(&cfg, FIXTURES "custom.yaml");
	cr_assert_eq(cfg.monitoring.labels.count, 2);
	generate(FIXTURES "custom.yaml", "custom");
	check_labels("custom", &cfg);
}

/* {} leaves only the generator's own labels. */
Test(monitoring, no_labels_at_all)
{
	struct config	cfg;
	FILE		*fp;
	char		 path[PATH_MAX];

	tpath(path, sizeof(path), "nolabels.yaml");
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fprintf(fp, "monitoring:\n  labels: {}\n");
	cr_assert_eq(fclose(fp), 0);
	load_config(&cfg, path);
	cr_assert_eq(cfg.monitoring.labels.count, 0);
	generate(path, "gen");
	check_labels("gen", &cfg);
}

/* ---------------------------------------------------------------- */
/* SLOs: promtool against a model of the SRE workbook's alerts		*/

#define SLO_STEPS_MAX	2048

/*
 * One SLO scenario: the input as cumulative good and total counts per
 * step (a histogram's le bucket and _count; for api_availability the
 * non-5xx and all answers, share4xx of the good ones a 4xx).
 */
struct slo_case {
	unsigned int	 step;		/* seconds */
	unsigned int	 n;		/* steps 0..n */
	double		 budget;
	double		 share4xx;
	double		 good[SLO_STEPS_MAX];	/* cumulative */
	double		 total[SLO_STEPS_MAX];
};

/* The workbook's two alerts, as the generator must write them. */
static const struct {
	unsigned int	 long_s, short_s, for_s;
	double		 factor;
	const char	*severity;
} slo_burns[2] = {
	{ 3600, 300, 120, 14.4, "critical" },
	{ 6 * 3600, 1800, 900, 6, "warning" },
};

/* The error ratio over window seconds at step i; -1 when undefined. */
static double
slo_ratio(const struct slo_case *c, unsigned int i, unsigned int window)
{
	unsigned int	lo;

	lo = i >= window / c->step ? i - window / c->step : 0;
	if (i == lo || c->total[i] - c->total[lo] <= 0)
		return (-1);

	return (1 - (c->good[i] - c->good[lo]) / (c->total[i] - c->total[lo]));
}

static int
slo_cond(const struct slo_case *c, int b, unsigned int i)
{
	double		limit;

	limit = slo_burns[b].factor * c->budget;
	return (slo_ratio(c, i, slo_burns[b].long_s) > limit &&
	    slo_ratio(c, i, slo_burns[b].short_s) > limit);
}

/* Firing at step i: the condition held for the alert's whole for. */
static int
slo_firing(const struct slo_case *c, int b, unsigned int i)
{
	unsigned int	f, j;

	f = slo_burns[b].for_s / c->step;
	if (i < f)
		return (0);
	for (j = i - f; j <= i; j++) {
		if (!slo_cond(c, b, j))
			return (0);
	}

	return (1);
}

/* The first step the alert fires at, or 0 if never. */
static unsigned int
slo_first(const struct slo_case *c, int b)
{
	unsigned int	i;

	for (i = 0; i <= c->n; i++) {
		if (slo_firing(c, b, i))
			return (i);
	}

	return (0);
}

static void
slo_values(FILE *fp, const struct slo_case *c, const double *v)
{
	unsigned int	i;

	fprintf(fp, "\n        values: '");
	for (i = 0; i <= c->n; i++)
		fprintf(fp, "%s%.17g", i == 0 ? "" : " ", v[i]);
	fprintf(fp, "'\n");
}

/* One series of the API's answers: endpoint, code, counts per step. */
static void
slo_answers(FILE *fp, const struct slo_case *c, const struct config *cfg,
    const char *endpoint, const char *code, const double *v)
{
	fprintf(fp, "      - series: 'saga_tracker_api_latency_seconds_count{"
	    "job=\"%s\", namespace=\"%s\", instance=\"a:8080\", "
	    "endpoint=\"%s\", method=\"GET\", code=\"%s\"}'",
	    cfg->monitoring.job, cfg->monitoring.service_namespace, endpoint,
	    code);
	slo_values(fp, c, v);
}

/*
 * api_availability: the good answers split into 200 and 404, the bad
 * ones 503 (no 5xx series at all when there are none).  Probes and
 * scrapes (/actuator/) and refusals answer 5xx far more often than the
 * budget: they are no API requests and must not count.
 */
static void
slo_input_answers(FILE *fp, const struct slo_case *c,
    const struct config *cfg)
{
	double		*v;
	unsigned int	 i;

	v = calloc(c->n + 1, sizeof(*v));
	cr_assert_not_null(v);
	for (i = 0; i <= c->n; i++)
		v[i] = c->good[i] * (1 - c->share4xx);
	slo_answers(fp, c, cfg, "/api/v1/sagas", "200", v);
	for (i = 0; i <= c->n; i++)
		v[i] = c->good[i] * c->share4xx;
	slo_answers(fp, c, cfg, "/api/v1/sagas/{sagaId}", "404", v);
	if (c->total[c->n] > c->good[c->n]) {
		for (i = 0; i <= c->n; i++)
			v[i] = c->total[i] - c->good[i];
		slo_answers(fp, c, cfg, "/api/v1/sagas", "503", v);
	}
	for (i = 0; i <= c->n; i++)
		v[i] = 100.0 * i;
	slo_answers(fp, c, cfg, "/actuator/health/readiness", "503", v);
	slo_answers(fp, c, cfg, "refused", "501", v);
	free(v);
}

/*
 * api_latency: scrapes and probes (/actuator/), all slower than the
 * threshold, far more of them than API requests: not API requests, so
 * the model (which leaves them out) must still match promtool.
 */
static void
slo_input_slow_scrapes(FILE *fp, const struct slo_case *c,
    const struct config *cfg, const char *hist, const char *le)
{
	const char	*job = cfg->monitoring.job;
	const char	*ns = cfg->monitoring.service_namespace;
	double		*v;
	unsigned int	 i;

	v = calloc(c->n + 1, sizeof(*v));
	cr_assert_not_null(v);
	fprintf(fp, "      - series: '%s_bucket{job=\"%s\", namespace=\"%s\", "
	    "instance=\"a:8080\", endpoint=\"/actuator/prometheus\", "
	    "le=\"%s\"}'", hist, job, ns, le);
	slo_values(fp, c, v);
	for (i = 0; i <= c->n; i++)
		v[i] = 100.0 * i;
	fprintf(fp, "      - series: '%s_count{job=\"%s\", namespace=\"%s\", "
	    "instance=\"a:8080\", endpoint=\"/actuator/prometheus\"}'",
	    hist, job, ns);
	slo_values(fp, c, v);
	free(v);
}

static void
slo_input(FILE *fp, const struct slo_case *c, const struct config *cfg,
    const char *hist, const char *le)
{
	const char	*job = cfg->monitoring.job;
	const char	*ns = cfg->monitoring.service_namespace;

	fprintf(fp, "  - interval: %us\n    input_series:\n", c->step);
	if (hist == NULL) {
		slo_input_answers(fp, c, cfg);
		return;
	}
	fprintf(fp, "      - series: '%s_bucket{job=\"%s\", namespace=\"%s\", "
	    "instance=\"a:8080\", le=\"%s\"}'", hist, job, ns, le);
	slo_values(fp, c, c->good);
	fprintf(fp, "      - series: '%s_count{job=\"%s\", namespace=\"%s\", "
	    "instance=\"a:8080\"}'", hist, job, ns);
	slo_values(fp, c, c->total);
	if (strcmp(hist, "saga_tracker_api_latency_seconds") == 0)
		slo_input_slow_scrapes(fp, c, cfg, hist, le);
}

/* What the model says fires at step i, as promtool must find it. */
static void
slo_eval(FILE *fp, const struct slo_case *c, unsigned int i,
    struct expect e[2])
{
	int		b, any;

	fprintf(fp, "      - eval_time: %us\n        alertname: %s\n"
	    "        exp_alerts:", i * c->step, e[0].alert);
	for (any = 0, b = 0; b < 2; b++) {
		if (!slo_firing(c, b, i))
			continue;
		if (!any++)
			fprintf(fp, "\n");
		e[b].value = slo_ratio(c, i, slo_burns[b].long_s);
		t_alert(fp, &e[b]);
	}
	if (!any)
		fprintf(fp, " []\n");
}

/* Checks around every change of the model's alert states. */
static void
slo_checks(FILE *fp, const struct slo_case *c, struct expect e[2])
{
	unsigned int	i;
	int		b;

	fprintf(fp, "    alert_rule_test:\n");
	for (i = 1; i <= c->n; i++) {
		for (b = 0; b < 2; b++) {
			if (slo_firing(c, b, i) == slo_firing(c, b, i - 1))
				continue;
			slo_eval(fp, c, i - 1, e);
			slo_eval(fp, c, i, e);
		}
		if (i % (3600 / c->step) == 0)
			slo_eval(fp, c, i, e);
	}
	slo_eval(fp, c, c->n, e);
}

/* Good until step t0, then every event bad. */
static void
slo_case_outage(struct slo_case *c, unsigned int t0, unsigned int n)
{
	unsigned int	i;

	c->n = n;
	for (i = 0; i <= n; i++) {
		c->total[i] = 1000.0 * i;
		c->good[i] = 1000.0 * (i < t0 ? i : t0);
	}
}

/* A constant error ratio r. */
static void
slo_case_steady(struct slo_case *c, double r, unsigned int n)
{
	unsigned int	i;

	c->n = n;
	for (i = 0; i <= n; i++) {
		c->total[i] = 1000.0 * i;
		c->good[i] = 1000.0 * (1 - r) * i;
	}
}

/* The shortest decimal that reads back as v, as the generator's le. */
static void
shortest(double v, char *buf, size_t len)
{
	int		prec;

	if (v == (double)(long long)v) {
		(void)snprintf(buf, len, "%lld", (long long)v);
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		(void)snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
	(void)snprintf(buf, len, "%.17g", v);
}

/* Write and run one SLO scenario; returns the first fast-burn step. */
static unsigned int
slo_run(const struct config *cfg, int slo, const char *rules,
    const struct slo_case *c, const char *name)
{
	static const char	*hist[N_SLOS] = { NULL,
		"saga_tracker_api_latency_seconds",
		"saga_tracker_event_delay_seconds" };
	const struct config_slo	*s[N_SLOS];
	struct expect		 e[2];
	struct proc		 p;
	FILE			*fp;
	char			 path[PATH_MAX], le[64];
	int			 b;

	s[0] = &cfg->slo.api_availability;
	s[1] = &cfg->slo.api_latency;
	s[2] = &cfg->slo.event_freshness;
	shortest(s[slo]->threshold_sec, le, sizeof(le));

	memset(e, 0, sizeof(e));
	for (b = 0; b < 2; b++) {
		e[b].alert = alert_names[N_ALERTS + slo];
		e[b].severity = slo_burns[b].severity;
		e[b].job = cfg->monitoring.job;
		e[b].ns = cfg->monitoring.service_namespace;
		e[b].slo = slo_keys[slo];
		rule_text(rules, e[b].alert, e[b].severity, &e[b]);
	}

	tpath(path, sizeof(path), "%s-%s.test.yml", slo_keys[slo], name);
	fp = fopen(path, "w");
	cr_assert_not_null(fp, "%s", path);
	t_header(fp, rules, c->step);
	slo_input(fp, c, cfg, hist[slo], le);
	slo_checks(fp, c, e);
	cr_assert_eq(fclose(fp), 0);

	cr_assert_eq(promtool_test(path, &p), 0, "%s %s:\n%s%s",
	    slo_keys[slo], name, p.out, p.err);
	proc_free(&p);

	return (slo_first(c, 0));
}

/*
 * api_availability: three hours in which every answer is a 404 fire
 * nothing (a 4xx is the client's error), and the error ratio is 0, not
 * absent, although no 5xx series exists.
 */
static void
check_slo_4xx(const struct config *cfg, const char *rules,
    struct slo_case *c)
{
	struct expect	 e[2];
	struct proc	 p;
	FILE		*fp;
	char		 path[PATH_MAX];
	int		 b;

	slo_case_steady(c, 0, 3 * 3600 / c->step);
	c->share4xx = 1;
	cr_assert_eq(slo_first(c, 0) + slo_first(c, 1), 0);

	memset(e, 0, sizeof(e));
	for (b = 0; b < 2; b++) {
		e[b].alert = alert_names[N_ALERTS + SLO_AVAILABILITY];
		e[b].severity = slo_burns[b].severity;
	}
	tpath(path, sizeof(path), "api_availability-4xx.test.yml");
	fp = fopen(path, "w");
	cr_assert_not_null(fp, "%s", path);
	t_header(fp, rules, c->step);
	slo_input(fp, c, cfg, NULL, NULL);
	slo_checks(fp, c, e);
	fprintf(fp, "    promql_expr_test:\n"
	    "      - expr: 'saga_tracker:slo_errors:ratio_rate1h'\n"
	    "        eval_time: %us\n"
	    "        exp_samples:\n"
	    "          - labels: 'saga_tracker:slo_errors:ratio_rate1h{"
	    "job=\"%s\", namespace=\"%s\", slo=\"api_availability\"}'\n"
	    "            value: 0\n", c->n * c->step, cfg->monitoring.job,
	    cfg->monitoring.service_namespace);
	cr_assert_eq(fclose(fp), 0);

	cr_assert_eq(promtool_test(path, &p), 0, "api_availability 4xx:\n"
	    "%s%s", p.out, p.err);
	proc_free(&p);
	c->share4xx = 0.5;
}

/*
 * Per SLO: an outage after an hour of good service fires the critical
 * alert (for the shipped objectives within 15 minutes) and later the
 * warning; an error ratio equal to the budget never fires anything;
 * 13 times the budget fires the warning alone, 15 times the critical.
 */
static void
check_slo_tests(const char *config, const char *name, int shipped)
{
	struct config		 cfg;
	struct slo_case		*c;
	char			 rules[PATH_MAX];
	double			 budget;
	unsigned int		 t0, first;
	int			 slo;

	load_config(&cfg, config);
	generate(config, name);
	tpath(rules, sizeof(rules), "%s/deploy/" RULES, name);
	c = calloc(1, sizeof(*c));
	cr_assert_not_null(c);

	for (slo = 0; slo < N_SLOS; slo++) {
		budget = (100 - (slo == 0 ? cfg.slo.api_availability.objective :
		    slo == 1 ? cfg.slo.api_latency.objective :
		    cfg.slo.event_freshness.objective)) / 100;
		memset(c, 0, sizeof(*c));
		c->step = 60;
		c->budget = budget;
		c->share4xx = 0.5;

		t0 = 3600 / c->step;
		slo_case_outage(c, t0, t0 + 5400 / c->step);
		first = slo_run(&cfg, slo, rules, c, "outage");
		cr_assert_gt(first, 0, "%s: an outage never pages",
		    slo_keys[slo]);
		if (shipped) {
			cr_assert_leq((first - t0) * c->step, 900, "%s: an "
			    "outage pages after %us", slo_keys[slo],
			    (first - t0) * c->step);
		}

		slo_case_steady(c, budget, 8 * 3600 / c->step);
		cr_assert_eq(slo_first(c, 0) + slo_first(c, 1), 0);
		(void)slo_run(&cfg, slo, rules, c, "neutral");

		if (slo == SLO_AVAILABILITY)
			check_slo_4xx(&cfg, rules, c);
		if (15 * budget >= 1)
			continue;
		slo_case_steady(c, 13 * budget, 3600 / c->step);
		cr_assert_eq(slo_first(c, 0), 0);
		cr_assert_gt(slo_first(c, 1), 0);
		(void)slo_run(&cfg, slo, rules, c, "13x");
		slo_case_steady(c, 15 * budget, 3600 / c->step);
		cr_assert_gt(slo_run(&cfg, slo, rules, c, "15x"), 0);
	}
	free(c);
}

Test(monitoring, slo_burn_rates_from_the_yaml)
{
	check_slo_tests(CONF, "conf", 1);
}

Test(monitoring, slo_burn_rates_from_another_yaml)
{
	check_slo_tests(FIXTURES "custom.yaml", "custom", 0);
}

/* ---------------------------------------------------------------- */
/* published schemas							*/

#define VALIDATOR	"tests/validate/validate.mjs"

/* node VALIDATOR on files; its exit status, its output in p. */
static int
validate(struct proc *p, char *const *files, size_t n)
{
	char		*argv[16];
	size_t		 i;

	cr_assert_eq(access("tests/validate/node_modules/.package-lock.json",
	    F_OK), 0, "the validator's packages are missing: make "
	    "validate-deps (make test does it)");
	cr_assert_lt(n, 13);
	argv[0] = "node";
	argv[1] = VALIDATOR;
	for (i = 0; i < n; i++)
		argv[i + 2] = files[i];
	argv[n + 2] = NULL;
	run(p, argv);

	return (p->status);
}

static void
validate_generated(const char *config, const char *name)
{
	static const char	*objects[] = { RULES_CR, DASHBOARD,
		SERVICE_MONITOR, AM_CONFIG };
	struct proc		 p;
	char			 paths[4][PATH_MAX], *files[4];
	size_t			 i;

	generate(config, name);
	for (i = 0; i < 4; i++) {
		tpath(paths[i], sizeof(paths[i]), "%s/deploy/%s", name,
		    objects[i]);
		files[i] = paths[i];
	}
	cr_assert_eq(validate(&p, files, 4), 0, "%s%s", p.out, p.err);
	cr_assert_eq(count_of(p.out, "ok "), 4, "%s", p.out);
	proc_free(&p);
}

/* Every manifest, generated or written by hand, fits its schema. */
Test(monitoring, manifests_match_published_schemas)
{
	struct proc	 p;
	char		*hand[] = { "deploy/kubernetes/deployment.yaml",
			    "deploy/kubernetes/service.yaml",
			    "deploy/kubernetes/configmap.yaml" };

	validate_generated(CONF, "conf");
	validate_generated(FIXTURES "custom.yaml", "custom");
	cr_assert_eq(validate(&p, hand, 3), 0, "%s%s", p.out, p.err);
	proc_free(&p);
}

/* The validator itself refuses what breaks a schema. */
Test(monitoring, schema_validator_catches_mistakes)
{
	static const char	*bad[][2] = {
		{ "apiVersion: apps/v1\nkind: Deployment\nmetadata: "
		  "{name: x}\nspec: {replicas: two, selector: {}, template: "
		  "{}}\n", "data/spec/replicas must be integer" },
		{ "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\n"
		  "metadata: {name: x}\nspec: {selector: {}, endpoints: "
		  "[{port: http, interval: fifteen}]}\n", "interval" },
		{ "apiVersion: monitoring.coreos.com/v1alpha1\n"
		  "kind: AlertmanagerConfig\nmetadata: {name: x}\nspec: "
		  "{route: {receiver: r, matchers: [{name: job, value: j, "
		  "matchType: '=='}]}, receivers: [{name: r}]}\n",
		  "matchType" },
		{ "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
		  "no schema for this kind" },
	};
	struct proc	 p;
	FILE		*fp;
	char		 path[PATH_MAX], *files[1];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tpath(path, sizeof(path), "bad%zu.yaml", i);
		fp = fopen(path, "w");
		cr_assert_not_null(fp);
		fputs(bad[i][0], fp);
		cr_assert_eq(fclose(fp), 0);
		files[0] = path;
		cr_assert_eq(validate(&p, files, 1), 1, "%s: %s", bad[i][0],
		    p.out);
		cr_assert(strstr(p.out, bad[i][1]) != NULL, "%s", p.out);
		proc_free(&p);
	}
}

/* ---------------------------------------------------------------- */
/* inhibition in a real Alertmanager					*/

#define AM_BIN		"prometheus-alertmanager"
#define AM_WAIT_MS	20000

static pid_t	am_pid;

/* The suite's teardown, and Alertmanager's end. */
static void
am_teardown(void)
{
	am_stop();
	teardown();
}

static void
am_stop(void)
{
	if (am_pid > 0) {
		(void)kill(am_pid, SIGTERM);
		(void)waitpid(am_pid, NULL, 0);
		am_pid = 0;
	}
}

static int
free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len;
	int			fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_neq(fd, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	len = sizeof(sin);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	(void)close(fd);

	return (port);
}

/* Alertmanager on config, its API at url; stopped by the teardown. */
static void
am_start(const char *config, char *url, size_t len)
{
	char	 listen[64], storage[PATH_MAX], log[PATH_MAX];
	char	 flag_config[PATH_MAX + 32], flag_storage[PATH_MAX + 32];
	char	*argv[] = { AM_BIN, flag_config, flag_storage, listen,
		    "--cluster.listen-address=", NULL };
	int	 port, fd;

	port = free_port();
	(void)snprintf(url, len, "http://127.0.0.1:%d", port);
	(void)snprintf(listen, sizeof(listen),
	    "--web.listen-address=127.0.0.1:%d", port);
	tpath(storage, sizeof(storage), "am-data");
	tpath(log, sizeof(log), "am.log");
	(void)snprintf(flag_config, sizeof(flag_config), "--config.file=%s",
	    config);
	(void)snprintf(flag_storage, sizeof(flag_storage),
	    "--storage.path=%s", storage);

	am_pid = fork();
	cr_assert_neq(am_pid, -1);
	if (am_pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
}

/* curl: GET url, or POST body to it; the answer's body. */
static char *
am_http(const char *url, const char *body)
{
	struct proc	 p;
	char		*get[] = { "curl", "-sf", "--max-time", "5",
			    (char *)url, NULL };
	char		*post[] = { "curl", "-sf", "--max-time", "5", "-X",
			    "POST", "-H", "Content-Type: application/json",
			    "--data-binary", (char *)body, (char *)url, NULL };
	char		*out;

	run(&p, body == NULL ? get : post);
	out = p.status == 0 ? p.out : NULL;
	if (out == NULL)
		free(p.out);
	free(p.err);

	return (out);
}

/* Every 50 ms until the API answers; fails the test after the limit. */
static void
am_wait_ready(const char *url)
{
	struct timespec	 ts = { 0, 50 * 1000 * 1000 };
	char		 ready[256], *out;
	int		 waited;

	(void)snprintf(ready, sizeof(ready), "%s/-/ready", url);
	for (waited = 0; waited < AM_WAIT_MS; waited += 50) {
		if ((out = am_http(ready, NULL)) != NULL) {
			free(out);
			return;
		}
		cr_assert_eq(waitpid(am_pid, NULL, WNOHANG), 0,
		    "Alertmanager exited: see am.log");
		(void)nanosleep(&ts, NULL);
	}
	cr_assert_fail("Alertmanager not ready after %d ms", AM_WAIT_MS);
}

/* Post one alert with labels "k=v,k=v" (no spaces or quotes). */
static void
am_post(const char *url, const char *labels)
{
	char		 body[2048], api[256], *out, *l, *save, *eq;
	char		 copy[1024];
	size_t		 off;

	(void)snprintf(copy, sizeof(copy), "%s", labels);
	off = (size_t)snprintf(body, sizeof(body), "[{\"labels\":{");
	for (l = strtok_r(copy, ",", &save); l != NULL;
	    l = strtok_r(NULL, ",", &save)) {
		eq = strchr(l, '=');
		cr_assert_not_null(eq);
		*eq = '\0';
		off += (size_t)snprintf(body + off, sizeof(body) - off,
		    "%s\"%s\":\"%s\"", body[off - 1] == '{' ? "" : ",", l,
		    eq + 1);
	}
	(void)snprintf(body + off, sizeof(body) - off, "}}]");
	(void)snprintf(api, sizeof(api), "%s/api/v2/alerts", url);
	out = am_http(api, body);
	cr_assert_not_null(out, "POST %s", body);
	free(out);
}

/*
 * The state ("active" or "suppressed") of the alert "alertname" or
 * "alertname/severity" in namespace ns, or NULL while Alertmanager does
 * not list it.
 */
static char *
am_state(const char *url, const char *alertname, const char *ns)
{
	json_error_t	 error;
	json_t		*all, *a, *labels;
	char		 api[256], *out, *state, want[256];
	const char	*name, *n, *sev, *slash;
	size_t		 i;

	(void)snprintf(want, sizeof(want), "%s", alertname);
	if ((slash = strchr(alertname, '/')) != NULL)
		want[slash - alertname] = '\0';

	(void)snprintf(api, sizeof(api), "%s/api/v2/alerts", url);
	out = am_http(api, NULL);
	cr_assert_not_null(out, "GET %s", api);
	all = json_loads(out, 0, &error);
	cr_assert_not_null(all, "%s: %s", api, error.text);
	free(out);

	state = NULL;
	json_array_foreach(all, i, a) {
		labels = json_object_get(a, "labels");
		name = json_string_value(json_object_get(labels, "alertname"));
		n = json_string_value(json_object_get(labels, "namespace"));
		sev = json_string_value(json_object_get(labels, "severity"));
		if (name != NULL && strcmp(name, want) == 0 &&
		    n != NULL && strcmp(n, ns) == 0 && (slash == NULL ||
		    (sev != NULL && strcmp(sev, slash + 1) == 0)))
			state = strdup(json_string_value(json_object_get(
			    json_object_get(a, "status"), "state")));
	}
	json_decref(all);

	return (state);
}

/* Every 50 ms until the alert is in state want; the limit fails. */
static void
am_expect(const char *url, const char *alertname, const char *ns,
    const char *want)
{
	struct timespec	 ts = { 0, 50 * 1000 * 1000 };
	char		*state;
	int		 waited;

	for (waited = 0; waited < AM_WAIT_MS; waited += 50) {
		state = am_state(url, alertname, ns);
		if (state != NULL && strcmp(state, want) == 0) {
			free(state);
			return;
		}
		free(state);
		(void)nanosleep(&ts, NULL);
	}
	state = am_state(url, alertname, ns);
	cr_assert_fail("%s in %s: %s, not %s after %d ms", alertname, ns,
	    state != NULL ? state : "absent", want, AM_WAIT_MS);
}

Test(monitoring, alertmanager_inhibits_as_designed, .fini = am_teardown)
{
	struct config	 cfg;
	char		 path[PATH_MAX], url[128], l[1024], other[300];
	const char	*job, *ns;

	load_config(&cfg, FIXTURES "custom.yaml");
	generate(FIXTURES "custom.yaml", "gen");
	tpath(path, sizeof(path), "gen/deploy/" ALERTMANAGER);
	job = cfg.monitoring.job;
	ns = cfg.monitoring.service_namespace;
	(void)snprintf(other, sizeof(other), "%s-other", ns);
	am_start(path, url, sizeof(url));
	am_wait_ready(url);

	/* Critical mutes the warning of its name, nothing else. */
	(void)snprintf(l, sizeof(l), "alertname=SagaTrackerApiLatencyBudget"
	    "Burn,job=%s,namespace=%s,slo=api_latency,severity=critical",
	    job, ns);
	am_post(url, l);
	(void)snprintf(l, sizeof(l), "alertname=SagaTrackerApiLatencyBudget"
	    "Burn,job=%s,namespace=%s,slo=api_latency,severity=warning",
	    job, ns);
	am_post(url, l);
	(void)snprintf(l, sizeof(l), "alertname=SagaFailureSpike,job=%s,"
	    "namespace=%s,severity=warning", job, ns);
	am_post(url, l);
	(void)snprintf(l, sizeof(l), "alertname=SagaFailureSpike,job=%s,"
	    "namespace=%s,severity=warning", job, other);
	am_post(url, l);
	(void)snprintf(l, sizeof(l), "alertname=KubePodCrashLooping,"
	    "job=kube-state-metrics,namespace=%s,severity=warning", ns);
	am_post(url, l);
	am_expect(url, "SagaFailureSpike", ns, "active");
	am_expect(url, "KubePodCrashLooping", ns, "active");
	am_expect(url, "SagaTrackerApiLatencyBudgetBurn/critical", ns,
	    "active");
	am_expect(url, "SagaTrackerApiLatencyBudgetBurn/warning", ns,
	    "suppressed");

	/* SagaTrackerDown mutes this service's others, in its namespace. */
	(void)snprintf(l, sizeof(l), "alertname=SagaTrackerDown,job=%s,"
	    "namespace=%s,instance=a:8080,severity=critical", job, ns);
	am_post(url, l);
	am_expect(url, "SagaFailureSpike", ns, "suppressed");
	am_expect(url, "SagaTrackerDown", ns, "active");
	am_expect(url, "SagaFailureSpike", other, "active");
	am_expect(url, "KubePodCrashLooping", ns, "active");
}

/* ---------------------------------------------------------------- */
/* monitoring.cluster_label						*/

/*
 * With label (the cluster label), $cluster comes first among the
 * variables and every Prometheus query selects label="$cluster" as
 * often as job="$job"; without, no $cluster anywhere.  The queries
 * pass promtool either way.
 */
static void
check_dashboard_cluster(const char *name, const char *label)
{
	struct ydoc	 y;
	json_t		*root, *p, *vars;
	char		 path[PATH_MAX], want[256], *exprs[DASH_EXPRS_MAX];
	char		*expr;
	size_t		 i, n;

	tpath(path, sizeof(path), "%s/deploy/" DASHBOARD, name);
	root = load_dashboard(path, &y);
	vars = json_object_get(json_object_get(root, "templating"), "list");
	if (label != NULL) {
		p = json_array_get(vars, 1);
		cr_assert_str_eq(json_string_value(json_object_get(p, "name")),
		    "cluster");
		(void)snprintf(want, sizeof(want),
		    "label_values(saga_tracker_build_info, %s)", label);
		cr_assert_str_eq(json_string_value(json_object_get(
		    json_object_get(p, "query"), "query")), want);
		(void)snprintf(want, sizeof(want), "%s=\"$cluster\"", label);
		cr_assert_str_eq(json_string_value(json_object_get(
		    json_array_get(vars, 2), "name")), "job");
	}
	json_array_foreach(vars, i, p) {
		cr_assert(label != NULL || strcmp(json_string_value(
		    json_object_get(p, "name")), "cluster") != 0);
	}

	n = dashboard_exprs(root, exprs, DASH_EXPRS_MAX);
	cr_assert_gt(n, 30);
	for (i = 0; i < n; i++) {
		expr = exprs[i];
		if (label != NULL)
			cr_assert_eq(count_of(expr, want),
			    count_of(expr, "job=\"$job\""), "%s", expr);
		else
			cr_assert_null(strstr(expr, "$cluster"), "%s", expr);
	}
	cr_assert_eq(promtool_check_exprs(exprs, n, 1), 0);
	json_decref(root);
	ydoc_free(&y);
}

/*
 * A promtool test group: saga_failed_total of clusters east and west,
 * each growing by per_min for n minutes; its alert_rule_test follows.
 */
static void
two_clusters_input(FILE *fp, const struct config *cfg, double per_min,
    unsigned int n)
{
	const char	*job = cfg->monitoring.job;
	const char	*ns = cfg->monitoring.service_namespace;

	fprintf(fp, "  - interval: 1m\n    input_series:\n"
	    "      - series: 'saga_failed_total{cluster=\"east\", "
	    "job=\"%s\", namespace=\"%s\", instance=\"a:8080\"}'\n"
	    "        values: '0+%.17gx%u'\n"
	    "      - series: 'saga_failed_total{cluster=\"west\", "
	    "job=\"%s\", namespace=\"%s\", instance=\"a:8080\"}'\n"
	    "        values: '0+%.17gx%u'\n"
	    "    alert_rule_test:\n", job, ns, per_min, n, job, ns, per_min,
	    n);
}

/*
 * Open the promtool test file name (its path into test, len bytes) on
 * the rules at rules_path: the header, then a group of two clusters
 * each failing at 0.6 times the threshold for the *n minutes a failure
 * spike needs to fire; its alert_rule_test follows.
 */
static FILE *
spike_test_open(const struct config *cfg, const char *rules_path,
    const char *name, char *test, size_t len, unsigned int *n)
{
	unsigned int	 w, f;
	double		 t;
	FILE		*fp;

	w = cfg->alerts.failure_spike.window_sec;
	f = cfg->alerts.failure_spike.for_sec;
	t = cfg->alerts.failure_spike.threshold;
	*n = (2 * w + f) / 60 + 2;
	tpath(test, len, name);
	fp = fopen(test, "w");
	cr_assert_not_null(fp);
	t_header(fp, rules_path, 60);
	two_clusters_input(fp, cfg, 0.6 * t * 60 / w, *n);

	return (fp);
}

/*
 * Two clusters, each with 0.6 times the failure threshold: apart they
 * are under it, summed over them they would be over it.  One cluster at
 * 1.2 times fires, naming its cluster.  The rules and the routing group
 * by the cluster label everywhere they group by namespace and job.
 */
Test(monitoring, cluster_label_keeps_clusters_apart)
{
	struct config	 cfg;
	struct ydoc	 y;
	struct proc	 p;
	struct expect	 e;
	yaml_node_t	*groups, *rules, *rule;
	FILE		*fp;
	char		 conf[PATH_MAX], rules_path[PATH_MAX], test[PATH_MAX];
	const char	*expr;
	unsigned int	 w, n;
	double		 t;
	size_t		 g, r;

	tpath(conf, sizeof(conf), "cluster.yaml");
	fp = fopen(conf, "w");
	cr_assert_not_null(fp);
	fprintf(fp, "monitoring:\n  cluster_label: cluster\n");
	cr_assert_eq(fclose(fp), 0);
	load_config(&cfg, conf);
	generate(conf, "gen");
	tpath(rules_path, sizeof(rules_path), "gen/deploy/" RULES);

	/* Every grouping has the cluster, none is left without. */
	ydoc_load(&y, rules_path);
	groups = yget(&y, y.root, "groups");
	for (g = 0; g < ylen(groups); g++) {
		rules = yget(&y, yat(&y, groups, g), "rules");
		for (r = 0; r < ylen(rules); r++) {
			rule = yat(&y, rules, r);
			expr = ystr(yget(&y, rule, "expr"));
			cr_assert_null(strstr(expr, "(namespace, job"), "%s",
			    expr);
			if (strstr(expr, " by (") != NULL)
				cr_assert_not_null(strstr(expr,
				    "(cluster, namespace, job"), "%s", expr);
		}
	}
	ydoc_free(&y);

	w = cfg.alerts.failure_spike.window_sec;
	t = cfg.alerts.failure_spike.threshold;
	fp = spike_test_open(&cfg, rules_path, "cluster.test.yml", test,
	    sizeof(test), &n);
	fprintf(fp, "      - eval_time: %us\n"
	    "        alertname: SagaFailureSpike\n        exp_alerts: []\n",
	    (n - 1) * 60);
	fprintf(fp, "  - interval: 1m\n    input_series:\n"
	    "      - series: 'saga_failed_total{cluster=\"east\", "
	    "job=\"%s\", namespace=\"%s\", instance=\"a:8080\"}'\n"
	    "        values: '0+%.17gx%u'\n"
	    "    alert_rule_test:\n", cfg.monitoring.job,
	    cfg.monitoring.service_namespace, 1.2 * t * 60 / w, n);
	memset(&e, 0, sizeof(e));
	e.alert = "SagaFailureSpike";
	e.severity = config_severity_name(cfg.alerts.failure_spike.severity);
	e.job = cfg.monitoring.job;
	e.ns = cfg.monitoring.service_namespace;
	e.cluster = "east";
	e.value = 1.2 * t;
	rule_text(rules_path, e.alert, NULL, &e);
	t_fire(fp, (n - 1) * 60, &e);
	cr_assert_eq(fclose(fp), 0);
	cr_assert_eq(promtool_test(test, &p), 0, "%s%s", p.out, p.err);
	proc_free(&p);

	/* The generated routing groups and inhibits per cluster too. */
	tpath(test, sizeof(test), "gen/deploy/" ALERTMANAGER);
	ydoc_load(&y, test);
	cr_assert(yhas(&y, ypath(&y, y.root, "route.group_by"), "cluster"));
	cr_assert(yhas(&y, ypath(&y, y.root, "inhibit_rules.0.equal"),
	    "cluster"));
	cr_assert(yhas(&y, ypath(&y, y.root, "inhibit_rules.1.equal"),
	    "cluster"));
	ydoc_free(&y);

	check_dashboard_cluster("gen", "cluster");
}

/*
 * Without monitoring.cluster_label (the default) nothing groups by a
 * cluster: every aggregation is by (namespace, job), the two clusters
 * of the test above are one deployment (0.6 + 0.6 times the threshold
 * fires, without a cluster label), and the dashboard has no $cluster.
 */
Test(monitoring, cluster_label_off_by_default)
{
	struct config	 cfg;
	struct ydoc	 y;
	struct proc	 p;
	struct expect	 e;
	FILE		*fp;
	char		 rules_path[PATH_MAX], test[PATH_MAX], *text;
	const char	*at;
	unsigned int	 n;
	double		 t;

	load_config(&cfg, CONF);
	cr_assert_str_eq(cfg.monitoring.cluster_label, "");
	generate(CONF, "gen");
	tpath(rules_path, sizeof(rules_path), "gen/deploy/" RULES);
	text = slurp(rules_path, NULL);
	cr_assert_not_null(text);
	cr_assert_null(strstr(text, "cluster"));
	for (at = text; (at = strstr(at, " by (")) != NULL; at++)
		cr_assert(strncmp(at, " by (namespace, job", 19) == 0 ||
		    strncmp(at, " by (le", 7) == 0, "%.60s", at);
	cr_assert_gt(count_of(text, " by (namespace, job)"), 20);
	free(text);

	t = cfg.alerts.failure_spike.threshold;
	fp = spike_test_open(&cfg, rules_path, "nocluster.test.yml", test,
	    sizeof(test), &n);
	memset(&e, 0, sizeof(e));
	e.alert = "SagaFailureSpike";
	e.severity = config_severity_name(cfg.alerts.failure_spike.severity);
	e.job = cfg.monitoring.job;
	e.ns = cfg.monitoring.service_namespace;
	e.value = 1.2 * t;
	rule_text(rules_path, e.alert, NULL, &e);
	t_fire(fp, (n - 1) * 60, &e);
	cr_assert_eq(fclose(fp), 0);
	cr_assert_eq(promtool_test(test, &p), 0, "%s%s", p.out, p.err);
	proc_free(&p);

	tpath(test, sizeof(test), "gen/deploy/" ALERTMANAGER);
	ydoc_load(&y, test);
	cr_assert(!yhas(&y, ypath(&y, y.root, "route.group_by"), "cluster"));
	ydoc_free(&y);

	check_dashboard_cluster("gen", NULL);
}
