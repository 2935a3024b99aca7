/*
 * monitoring-scrape: the ServiceMonitor that has the Prometheus
 * operator scrape saga-tracker.
 *
 * It lives in monitoring.service_monitor_namespace (the design puts it
 * beside the service, in ecommerce) and carries monitoring.labels: a
 * kube-prometheus-stack Prometheus selects ServiceMonitors by its
 * release label, in every namespace.  It selects the Service labelled
 * app.kubernetes.io/name: saga-tracker in monitoring.service_namespace,
 * on its port named "http", every 15 s (saga_active_total is refreshed
 * at that pace).  The operator would name the job after the Service;
 * a relabeling sets it to monitoring.job instead, the job label every
 * alert and dashboard query selects on.  The target keeps the operator's
 * namespace label, by which the rules aggregate.
 */

#include "monitoring.h"

void
mon_scrape_render(const struct config *cfg, struct mon_output *out,
    const char *dir)
{
	struct strbuf	*b;
	char		 svc_ns[MON_TEXT_MAX], job[MON_TEXT_MAX];

	mon_yaml_scalar(cfg->monitoring.service_namespace, svc_ns,
	    sizeof(svc_ns));
	mon_yaml_scalar(cfg->monitoring.job, job, sizeof(job));

	b = mon_output_add(out, dir, "kubernetes/service-monitor.yaml");
	mon_header(b, cfg->path);
	strbuf_str(b, "apiVersion: monitoring.coreos.com/v1\n"
	    "kind: ServiceMonitor\n");
	mon_metadata(b, cfg, MON_APP,
	    cfg->monitoring.service_monitor_namespace, NULL);
	strbuf_printf(b, "spec:\n"
	    "  namespaceSelector:\n"
	    "    matchNames:\n"
	    "      - %s\n"
	    "  selector:\n"
	    "    matchLabels:\n"
	    "      app.kubernetes.io/name: %s\n"
	    "  endpoints:\n"
	    "    - port: %s\n"
	    "      path: %s\n"
	    "      scheme: http\n"
	    "      interval: %s\n"
	    "      scrapeTimeout: 10s\n"
	    "      relabelings:\n"
	    "        - action: replace\n"
	    "          targetLabel: job\n"
	    "          replacement: %s\n",
	    svc_ns, MON_APP, MON_PORT_NAME, MON_METRICS_PATH,
	    MON_SCRAPE_INTERVAL, job);
}
