/*
 * monitoring-alertmanager: the Alertmanager configuration that routes
 * the saga-tracker alerts by severity, as the routing key says.
 *
 * Each severity gets one route per receiver in its list, in order, all
 * but the last with "continue: true", so a critical alert reaches every
 * receiver listed for critical.  An alert with no known severity goes to
 * the first warning receiver.
 *
 * A receiver's integration follows its name: "pagerduty..." is a
 * PagerDuty Events v2 receiver, "slack..." a Slack incoming webhook; any
 * other name is an error, since there would be nothing to send to.  The
 * secrets are files, never inlined: routing_key_file and api_url_file
 * point at /etc/alertmanager/secrets/saga-tracker-<receiver>/, where the
 * Prometheus operator mounts the Secrets listed in the Alertmanager's
 * spec.secrets.
 */

#include <stdio.h>
#include <string.h>

#include "monitoring.h"

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

static enum receiver_kind	receiver_kind(const char *);
static int	collect(const struct config *, struct receiver_set *, char *,
		    size_t);
static void	render_route(struct mbuf *, const struct config *);
static void	render_receiver(struct mbuf *, const char *);
static void	render_pagerduty(struct mbuf *, const char *);
static void	render_slack(struct mbuf *, const char *);

int
mon_alertmanager_render(const struct config *cfg, struct mon_output *out,
    const char *dir, char *errbuf, size_t len)
{
	struct receiver_set	 set;
	struct mbuf		*b;
	size_t			 i;

	if (collect(cfg, &set, errbuf, len) == -1)
		return (-1);

	b = mon_output_add(out, dir, "alertmanager/alertmanager.yml");
	mbuf_header(b, cfg->path);
	mbuf_printf(b, "#\n"
	    "# Secrets are files: for receiver R, a Secret %s-R with the key\n"
	    "# routing_key (PagerDuty Events v2 integration key) or api_url\n"
	    "# (Slack incoming webhook URL), mounted at %s/%s-R/\n"
	    "# (Prometheus operator: list it in the Alertmanager's "
	    "spec.secrets).\n", MON_APP, MON_SECRETS_DIR, MON_APP);
	mbuf_puts(b, "global:\n  resolve_timeout: 5m\n");
	render_route(b, cfg);
	mbuf_puts(b, "receivers:\n");
	for (i = 0; i < set.count; i++)
		render_receiver(b, set.names[i]);

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

static void
render_route(struct mbuf *b, const struct config *cfg)
{
	const struct config_route	*r;
	const char			*sev;
	size_t				 s, i;

	mbuf_printf(b, "route:\n"
	    "  receiver: %s\n"
	    "  group_by: [alertname, job]\n"
	    "  group_wait: 30s\n"
	    "  group_interval: 5m\n"
	    "  repeat_interval: 4h\n"
	    "  routes:\n", cfg->routing[SEVERITY_WARNING].receivers[0]);

	for (s = 0; s < SEVERITY_COUNT; s++) {
		r = &cfg->routing[route_order[s]];
		sev = config_severity_name(route_order[s]);
		for (i = 0; i < r->count; i++) {
			mbuf_printf(b, "    - receiver: %s\n"
			    "      matchers:\n"
			    "        - severity=\"%s\"\n",
			    r->receivers[i], sev);
			if (i + 1 < r->count)
				mbuf_puts(b, "      continue: true\n");
		}
	}
}

static void
render_receiver(struct mbuf *b, const char *name)
{
	mbuf_printf(b, "  - name: %s\n", name);
	if (receiver_kind(name) == RECEIVER_PAGERDUTY)
		render_pagerduty(b, name);
	else
		render_slack(b, name);
}

static void
render_pagerduty(struct mbuf *b, const char *name)
{
	mbuf_printf(b, "    pagerduty_configs:\n"
	    "      - routing_key_file: %s/%s-%s/routing_key\n"
	    "        send_resolved: true\n"
	    "        severity: '{{ .CommonLabels.severity }}'\n"
	    "        description: '{{ .CommonLabels.alertname }}: "
	    "{{ .CommonAnnotations.summary }}'\n"
	    "        details:\n"
	    "          description: '{{ .CommonAnnotations.description }}'\n"
	    "          runbook_url: '{{ .CommonAnnotations.runbook_url }}'\n"
	    "        links:\n"
	    "          - href: '{{ .CommonAnnotations.runbook_url }}'\n"
	    "            text: Runbook\n", MON_SECRETS_DIR, MON_APP, name);
}

static void
render_slack(struct mbuf *b, const char *name)
{
	mbuf_printf(b, "    slack_configs:\n"
	    "      - api_url_file: %s/%s-%s/api_url\n"
	    "        send_resolved: true\n"
	    "        title: '[{{ .Status | toUpper }}] "
	    "{{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})'\n"
	    "        title_link: '{{ .CommonAnnotations.runbook_url }}'\n"
	    "        text: '{{ range .Alerts }}{{ .Annotations.summary }}"
	    "{{ \"\\n\" }}{{ .Annotations.description }}{{ \"\\n\" }}"
	    "Runbook: {{ .Annotations.runbook_url }}{{ \"\\n\" }}"
	    "{{ end }}'\n", MON_SECRETS_DIR, MON_APP, name);
}
