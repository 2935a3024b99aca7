/*
 * monitoring-alertmanager: the routing of saga-tracker's alerts, scoped
 * to this service, in three files from one description.
 *
 *	alertmanager/saga-tracker-route.yml	the part to merge into an
 *			existing configuration: a `routes:` item to put
 *			first under its `route:`, `receivers:` and
 *			`inhibit_rules:` items to append
 *	alertmanager/alertmanager.yml		a whole configuration made
 *			of that part and a root receiver that sends nothing
 *			(it stands for the cluster's own); the tests run
 *			amtool on it
 *	kubernetes/alertmanager-config.yaml	the same as an
 *			AlertmanagerConfig (monitoring.coreos.com/v1alpha1)
 *			for the Prometheus operator
 *
 * The route matches job="<monitoring.job>" and, in the plain forms,
 * namespace="<monitoring.service_namespace>": nothing else of the
 * cluster (Watchdog, InfoInhibitor, other services) reaches its
 * receivers, and what it matches goes nowhere else (no continue).  The
 * AlertmanagerConfig lives in the service namespace, because the
 * operator's default matcher strategy (OnNamespace) adds
 * namespace="<its namespace>" to its route and inhibition rules, and
 * the alerts keep the namespace label of their target.
 *
 * Inside, each severity gets one route per receiver in its routing
 * list, in order, all but the last with continue, so a critical alert
 * reaches every receiver listed for critical.  An alert of no known
 * severity goes to the first warning receiver.
 *
 * Alerts are grouped, and inhibition rules match, on namespace and job,
 * with monitoring.cluster_label first when set.
 *
 * Inhibition, within this service only (equal on namespace and job):
 * SagaTrackerDown mutes the service's other alerts, which say nothing
 * new while it cannot be scraped; a critical alert mutes the warning
 * and info alerts of the same name (the SLO burn-rate alerts fire at
 * two severities).
 *
 * A receiver's integration follows its name: "pagerduty..." is a
 * PagerDuty Events v2 receiver, "slack..." a Slack incoming webhook; any
 * other name is an error, since there would be nothing to send to.  In
 * the plain forms receivers are named saga-tracker-<name>, so they do
 * not collide with the cluster's, and secrets are files under
 * /etc/alertmanager/secrets/saga-tracker-<name>/ (the Alertmanager's
 * spec.secrets).  The AlertmanagerConfig names Secret keys instead: the
 * Secret saga-tracker-<name> in the service namespace, key routing_key
 * or api_url.
 */

#include <stdio.h>
#include <string.h>

#include "monitoring.h"

#define RECEIVER_PREFIX	MON_APP "-"
#define ROOT_RECEIVER	"cluster-default"

enum receiver_kind {
	RECEIVER_PAGERDUTY,
	RECEIVER_SLACK,
	RECEIVER_UNKNOWN
};

/* The names of every route, each once, in first-seen order. */
struct receiver_set {
	size_t		 count;
	const char	*names[SEVERITY_COUNT * CONFIG_RECEIVERS_MAX];
};

static const enum config_severity route_order[SEVERITY_COUNT] = {
	SEVERITY_CRITICAL, SEVERITY_WARNING, SEVERITY_INFO
};

static const char	pd_description[] = "{{ .CommonLabels.alertname }}: "
			    "{{ .CommonAnnotations.summary }}";
static const char	slack_title[] = "[{{ .Status | toUpper }}] "
			    "{{ .CommonLabels.alertname }} "
			    "({{ .CommonLabels.severity }})";
static const char	slack_text[] = "{{ range .Alerts }}"
			    "{{ .Annotations.summary }}{{ \"\\n\" }}"
			    "{{ .Annotations.description }}{{ \"\\n\" }}"
			    "Runbook: {{ .Annotations.runbook_url }}"
			    "{{ \"\\n\" }}{{ end }}";

static enum receiver_kind	receiver_kind(const char *);
static int	collect(const struct config *, struct receiver_set *, char *,
		    size_t);
static void	plain_route(struct strbuf *, const struct config *);
static void	plain_receiver(struct strbuf *, const char *);
static void	plain_inhibit(struct strbuf *, const struct config *);
static void	render_plain(const struct config *,
		    const struct receiver_set *, struct mon_output *,
		    const char *);
static void	crd_matcher(struct strbuf *, const char *, const char *,
		    const char *, const char *);
static void	crd_route(struct strbuf *, const struct config *);
static void	crd_receiver(struct strbuf *, const char *);
static void	crd_inhibit(struct strbuf *, const struct config *);
static void	render_crd(const struct config *,
		    const struct receiver_set *, struct mon_output *,
		    const char *);

int
mon_alertmanager_render(const struct config *cfg, struct mon_output *out,
    const char *dir, char *errbuf, size_t len)
{
	struct receiver_set	 set;

	if (collect(cfg, &set, errbuf, len) == -1)
		return (-1);

	render_plain(cfg, &set, out, dir);
	render_crd(cfg, &set, out, dir);

	return (0);
}

static enum receiver_kind
receiver_kind(const char *name)
{
	if (strncmp(name, "pagerduty", 9) == 0)
		return (RECEIVER_PAGERDUTY);
	if (strncmp(name, "slack", 5) == 0)
		return (RECEIVER_SLACK);

	return (RECEIVER_UNKNOWN);
}

static int
collect(const struct config *cfg, struct receiver_set *set, char *errbuf,
    size_t len)
{
	const struct config_route	*r;
	const char			*name;
	size_t				 s, i, j;

	set->count = 0;
	for (s = 0; s < SEVERITY_COUNT; s++) {
		r = &cfg->routing[route_order[s]];
		for (i = 0; i < r->count; i++) {
			name = r->receivers[i];
			if (receiver_kind(name) == RECEIVER_UNKNOWN) {
				(void)snprintf(errbuf, len, "%s: routing.%s"
				    "[%zu]: receiver '%s' has no known "
				    "integration: its name must start with "
				    "'pagerduty' or 'slack'", cfg->path,
				    config_severity_name(route_order[s]), i,
				    name);
				return (-1);
			}
			for (j = 0; j < set->count; j++) {
				if (strcmp(set->names[j], name) == 0)
					break;
			}
			if (j == set->count)
				set->names[set->count++] = name;
		}
	}

	return (0);
}

/* ---------------------------------------------------------------- */
/* plain Alertmanager configuration					*/

/* The one item of `routes:`, at indent 0. */
static void
plain_route(struct strbuf *b, const struct config *cfg)
{
	const struct config_route	*r;
	const char			*sev;
	char				 group[MON_TEXT_MAX];
	size_t				 s, i;

	mon_scope(cfg, 1, group, sizeof(group));
	strbuf_printf(b, "- receiver: %s%s\n"
	    "  matchers:\n"
	    "    - job=\"%s\"\n"
	    "    - namespace=\"%s\"\n"
	    "  group_by: [%s]\n"
	    "  group_wait: 30s\n"
	    "  group_interval: 5m\n"
	    "  repeat_interval: 4h\n"
	    "  routes:\n", RECEIVER_PREFIX,
	    cfg->routing[SEVERITY_WARNING].receivers[0], cfg->monitoring.job,
	    cfg->monitoring.service_namespace, group);

	for (s = 0; s < SEVERITY_COUNT; s++) {
		r = &cfg->routing[route_order[s]];
		sev = config_severity_name(route_order[s]);
		for (i = 0; i < r->count; i++) {
			strbuf_printf(b, "    - receiver: %s%s\n"
			    "      matchers:\n"
			    "        - severity=\"%s\"\n",
			    RECEIVER_PREFIX, r->receivers[i], sev);
			if (i + 1 < r->count)
				strbuf_str(b, "      continue: true\n");
		}
	}
}

/* One item of `receivers:`, at indent 0. */
static void
plain_receiver(struct strbuf *b, const char *name)
{
	strbuf_printf(b, "- name: %s%s\n", RECEIVER_PREFIX, name);
	if (receiver_kind(name) == RECEIVER_PAGERDUTY) {
		strbuf_printf(b, "  pagerduty_configs:\n"
		    "    - routing_key_file: %s/%s%s/routing_key\n"
		    "      send_resolved: true\n"
		    "      severity: '{{ .CommonLabels.severity }}'\n"
		    "      description: ", MON_SECRETS_DIR, RECEIVER_PREFIX,
		    name);
		mon_yaml_str(b, pd_description);
		strbuf_str(b, "\n      details:\n"
		    "        description: '{{ .CommonAnnotations.description "
		    "}}'\n"
		    "        runbook_url: '{{ .CommonAnnotations.runbook_url "
		    "}}'\n"
		    "      links:\n"
		    "        - href: '{{ .CommonAnnotations.runbook_url }}'\n"
		    "          text: Runbook\n");
		return;
	}

	strbuf_printf(b, "  slack_configs:\n"
	    "    - api_url_file: %s/%s%s/api_url\n"
	    "      send_resolved: true\n"
	    "      title: ", MON_SECRETS_DIR, RECEIVER_PREFIX, name);
	mon_yaml_str(b, slack_title);
	strbuf_str(b, "\n      title_link: '{{ .CommonAnnotations.runbook_url "
	    "}}'\n      text: ");
	mon_yaml_str(b, slack_text);
	strbuf_str(b, "\n");
}

/* The items of `inhibit_rules:`, at indent 0. */
static void
plain_inhibit(struct strbuf *b, const struct config *cfg)
{
	const char	*job = cfg->monitoring.job;
	const char	*ns = cfg->monitoring.service_namespace;
	char		 scope[MON_TEXT_MAX], named[MON_TEXT_MAX];

	mon_scope(cfg, 0, scope, sizeof(scope));
	mon_scope(cfg, 1, named, sizeof(named));
	strbuf_printf(b, "# SagaTrackerDown: the service's other alerts say "
	    "nothing new.\n"
	    "- source_matchers:\n"
	    "    - alertname=\"SagaTrackerDown\"\n"
	    "    - job=\"%s\"\n"
	    "    - namespace=\"%s\"\n"
	    "  target_matchers:\n"
	    "    - alertname!=\"SagaTrackerDown\"\n"
	    "    - job=\"%s\"\n"
	    "    - namespace=\"%s\"\n"
	    "  equal: [%s]\n"
	    "# A critical alert mutes the warning and info ones of its "
	    "name.\n"
	    "- source_matchers:\n"
	    "    - severity=\"critical\"\n"
	    "    - job=\"%s\"\n"
	    "    - namespace=\"%s\"\n"
	    "  target_matchers:\n"
	    "    - severity=~\"warning|info\"\n"
	    "    - job=\"%s\"\n"
	    "    - namespace=\"%s\"\n"
	    "  equal: [%s]\n",
	    job, ns, job, ns, scope, job, ns, job, ns, named);
}

static void
render_plain(const struct config *cfg, const struct receiver_set *set,
    struct mon_output *out, const char *dir)
{
	struct strbuf	 route, recv, inhibit, *b;
	char		 group[MON_TEXT_MAX];
	size_t		 i;

	strbuf_init(&route, 0);
	strbuf_init(&recv, 0);
	strbuf_init(&inhibit, 0);
	plain_route(&route, cfg);
	for (i = 0; i < set->count; i++)
		plain_receiver(&recv, set->names[i]);
	plain_inhibit(&inhibit, cfg);

	b = mon_output_add(out, dir, "alertmanager/saga-tracker-route.yml");
	mon_header(b, cfg->path);
	strbuf_printf(b, "#\n"
	    "# saga-tracker's part of an Alertmanager configuration. Merge "
	    "it into\n"
	    "# yours: the item of `routes` goes first under your `route:` "
	    "(before any\n"
	    "# route that would match these alerts), the `receivers` and\n"
	    "# `inhibit_rules` items are appended to yours.\n"
	    "#\n"
	    "# Secrets are files: for receiver saga-tracker-R, a Secret with "
	    "the key\n"
	    "# routing_key (PagerDuty Events v2 integration key) or api_url\n"
	    "# (Slack incoming webhook URL), mounted at %s/saga-tracker-R/\n"
	    "# (Prometheus operator: list it in the Alertmanager's "
	    "spec.secrets).\n", MON_SECRETS_DIR);
	strbuf_str(b, "routes:\n");
	mon_indent_block(b, route.data, 2);
	strbuf_str(b, "receivers:\n");
	mon_indent_block(b, recv.data, 2);
	strbuf_str(b, "inhibit_rules:\n");
	mon_indent_block(b, inhibit.data, 2);

	b = mon_output_add(out, dir, "alertmanager/alertmanager.yml");
	mon_header(b, cfg->path);
	strbuf_printf(b, "#\n"
	    "# A whole configuration: saga-tracker-route.yml under a root "
	    "route whose\n"
	    "# receiver, %s, stands for your own and sends nothing.\n"
	    "# Use it as it is only for an Alertmanager of saga-tracker "
	    "alone.\n", ROOT_RECEIVER);
	mon_scope(cfg, 1, group, sizeof(group));
	strbuf_printf(b, "global:\n  resolve_timeout: 5m\n"
	    "route:\n"
	    "  receiver: %s\n"
	    "  group_by: [%s]\n"
	    "  routes:\n", ROOT_RECEIVER, group);
	mon_indent_block(b, route.data, 4);
	strbuf_printf(b, "receivers:\n  - name: %s\n", ROOT_RECEIVER);
	mon_indent_block(b, recv.data, 2);
	strbuf_str(b, "inhibit_rules:\n");
	mon_indent_block(b, inhibit.data, 2);

	strbuf_free(&route);
	strbuf_free(&recv);
	strbuf_free(&inhibit);
}

/* ---------------------------------------------------------------- */
/* AlertmanagerConfig							*/

/* One matcher item at the given indent prefix. */
static void
crd_matcher(struct strbuf *b, const char *indent, const char *name,
    const char *type, const char *value)
{
	strbuf_printf(b, "%s- name: %s\n"
	    "%s  value: ", indent, name, indent);
	mon_yaml_str(b, value);
	strbuf_printf(b, "\n%s  matchType: '%s'\n", indent, type);
}

static void
crd_route(struct strbuf *b, const struct config *cfg)
{
	const struct config_route	*r;
	char				 group[MON_TEXT_MAX];
	size_t				 s, i;

	mon_scope(cfg, 1, group, sizeof(group));
	strbuf_printf(b, "  route:\n"
	    "    receiver: %s\n"
	    "    groupBy: [%s]\n"
	    "    groupWait: 30s\n"
	    "    groupInterval: 5m\n"
	    "    repeatInterval: 4h\n"
	    "    matchers:\n", cfg->routing[SEVERITY_WARNING].receivers[0],
	    group);
	crd_matcher(b, "      ", "job", "=", cfg->monitoring.job);
	strbuf_str(b, "    routes:\n");

	for (s = 0; s < SEVERITY_COUNT; s++) {
		r = &cfg->routing[route_order[s]];
		for (i = 0; i < r->count; i++) {
			strbuf_printf(b, "      - receiver: %s\n"
			    "        matchers:\n", r->receivers[i]);
			crd_matcher(b, "          ", "severity", "=",
			    config_severity_name(route_order[s]));
			if (i + 1 < r->count)
				strbuf_str(b, "        continue: true\n");
		}
	}
}

static void
crd_receiver(struct strbuf *b, const char *name)
{
	strbuf_printf(b, "    - name: %s\n", name);
	if (receiver_kind(name) == RECEIVER_PAGERDUTY) {
		strbuf_printf(b, "      pagerdutyConfigs:\n"
		    "        - routingKey:\n"
		    "            name: %s%s\n"
		    "            key: routing_key\n"
		    "          sendResolved: true\n"
		    "          severity: '{{ .CommonLabels.severity }}'\n"
		    "          description: ", RECEIVER_PREFIX, name);
		mon_yaml_str(b, pd_description);
		strbuf_str(b, "\n          details:\n"
		    "            - key: description\n"
		    "              value: '{{ .CommonAnnotations.description "
		    "}}'\n"
		    "            - key: runbook_url\n"
		    "              value: '{{ .CommonAnnotations.runbook_url "
		    "}}'\n"
		    "          pagerDutyLinkConfigs:\n"
		    "            - href: "
		    "'{{ .CommonAnnotations.runbook_url }}'\n"
		    "              alt: Runbook\n");
		return;
	}

	strbuf_printf(b, "      slackConfigs:\n"
	    "        - apiURL:\n"
	    "            name: %s%s\n"
	    "            key: api_url\n"
	    "          sendResolved: true\n"
	    "          title: ", RECEIVER_PREFIX, name);
	mon_yaml_str(b, slack_title);
	strbuf_str(b, "\n          titleLink: "
	    "'{{ .CommonAnnotations.runbook_url }}'\n          text: ");
	mon_yaml_str(b, slack_text);
	strbuf_str(b, "\n");
}

/* The plain inhibition rules; the operator adds the namespace. */
static void
crd_inhibit(struct strbuf *b, const struct config *cfg)
{
	const char	*job = cfg->monitoring.job;
	char		 scope[MON_TEXT_MAX], named[MON_TEXT_MAX];

	mon_scope(cfg, 0, scope, sizeof(scope));
	mon_scope(cfg, 1, named, sizeof(named));
	strbuf_str(b, "  inhibitRules:\n"
	    "    - sourceMatch:\n");
	crd_matcher(b, "        ", "alertname", "=", "SagaTrackerDown");
	crd_matcher(b, "        ", "job", "=", job);
	strbuf_str(b, "      targetMatch:\n");
	crd_matcher(b, "        ", "alertname", "!=", "SagaTrackerDown");
	crd_matcher(b, "        ", "job", "=", job);
	strbuf_printf(b, "      equal: [%s]\n"
	    "    - sourceMatch:\n", scope);
	crd_matcher(b, "        ", "severity", "=", "critical");
	crd_matcher(b, "        ", "job", "=", job);
	strbuf_str(b, "      targetMatch:\n");
	crd_matcher(b, "        ", "severity", "=~", "warning|info");
	crd_matcher(b, "        ", "job", "=", job);
	strbuf_printf(b, "      equal: [%s]\n", named);
}

static void
render_crd(const struct config *cfg, const struct receiver_set *set,
    struct mon_output *out, const char *dir)
{
	struct strbuf	*b;
	size_t		 i;

	b = mon_output_add(out, dir, "kubernetes/alertmanager-config.yaml");
	mon_header(b, cfg->path);
	strbuf_printf(b, "#\n"
	    "# In the service's namespace: with the operator's default "
	    "matcher strategy\n"
	    "# (OnNamespace) it sees only alerts labelled namespace=\"%s\".\n"
	    "# Secrets: for receiver R, the Secret %sR in that namespace with "
	    "the\n# key routing_key (PagerDuty) or api_url (Slack).\n",
	    cfg->monitoring.service_namespace, RECEIVER_PREFIX);
	strbuf_str(b, "apiVersion: monitoring.coreos.com/v1alpha1\n"
	    "kind: AlertmanagerConfig\n");
	mon_metadata(b, cfg, MON_APP, cfg->monitoring.service_namespace,
	    NULL);
	strbuf_str(b, "spec:\n");
	crd_route(b, cfg);
	strbuf_str(b, "  receivers:\n");
	for (i = 0; i < set->count; i++)
		crd_receiver(b, set->names[i]);
	crd_inhibit(b, cfg);
}
