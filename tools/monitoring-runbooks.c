/*
 * monitoring-runbooks: one Markdown runbook per alert name, written for
 * this service: its HTTP endpoints (SPEC §2), its tables (saga_instance,
 * saga_event, saga_event_rejected), its Kubernetes deployment and its
 * Kafka topic and consumer group, all named from the configuration.
 * Each alert's runbook_url annotation is
 * monitoring.runbook_base_url/<Alert>.md, the file written here.  The
 * alerts of issue 15 and the SLO burn-rate alerts have theirs in
 * monitoring-runbooks-more.c.
 */

#include <stdio.h>

#include "monitoring.h"
#include "monitoring-runbooks.h"

static void	rb_saga_detail(struct strbuf *, const struct rb *);
static void	rb_manual_status(struct strbuf *, const struct rb *);
static void	failure_spike(struct rb *, struct mon_output *,
		    const char *);
static void	compensation_timeout(struct rb *, struct mon_output *,
		    const char *);
static void	consumer_lag(struct rb *, struct mon_output *, const char *);
static void	lag_causes(struct strbuf *, const struct rb *);
static void	service_down(struct rb *, struct mon_output *, const char *);
static void	down_causes(struct strbuf *, const struct rb *);
static void	rb_selectors(struct strbuf *, const struct rb *);

void
mon_runbooks_render(const struct config *cfg, struct mon_output *out,
    const char *dir)
{
	struct rb	rb;

	rb.cfg = cfg;
	mon_alerts_build(cfg, rb.alerts);
	rb.ns = cfg->monitoring.service_namespace;
	rb.job = cfg->monitoring.job;
	rb.topic = cfg->kafka.topic;
	rb.group = cfg->kafka.group;
	mon_slos_build(cfg, rb.slos);

	failure_spike(&rb, out, dir);
	compensation_timeout(&rb, out, dir);
	consumer_lag(&rb, out, dir);
	service_down(&rb, out, dir);
	mon_runbooks_render_more(&rb, out, dir);
}

/* A list item: the caller wrote its number, the rest is indented. */
static void
rb_saga_detail(struct strbuf *b, const struct rb *rb)
{
	(void)rb;

	strbuf_printf(b, "One saga and its history (events in occurredAt "
	    "order; `source` is\n"
	    "   `manual` for status changes made through the internal API):"
	    "\n\n"
	    "   ```sh\n"
	    "   curl -s localhost:%d/api/v1/sagas/<sagaId> | jq .\n"
	    "   ```\n\n"
	    "   ```sql\n"
	    "   SELECT event_id, step, status, occurred_at, received_at, "
	    "source,\n"
	    "          kafka_partition, kafka_offset, metadata\n"
	    "   FROM saga_event\n"
	    "   WHERE saga_id = '<sagaId>'\n"
	    "   ORDER BY occurred_at, event_id;\n"
	    "   ```\n\n", MON_PORT);
}

static void
rb_manual_status(struct strbuf *b, const struct rb *rb)
{
	strbuf_printf(b, "### Recording a manual compensation\n\n"
	    "Only FAILED and COMPENSATING sagas accept it. The change is "
	    "kept in the saga's\n"
	    "history as a `manual` event with the reason, and updates the "
	    "metrics like a\n"
	    "consumed event:\n\n"
	    "```sh\n"
	    "export %s=\"$(kubectl -n %s exec deploy/%s -- printenv %s)\"\n"
	    "curl -s -X PATCH localhost:%d/internal/v1/sagas/<sagaId>/status "
	    "\\\n"
	    "  -H \"Authorization: Bearer $%s\" \\\n"
	    "  -H 'Content-Type: application/json' \\\n"
	    "  -d '{\"status\":\"COMPENSATED\",\"reason\":\"Manual "
	    "compensation: <ticket>\"}' | jq .\n"
	    "```\n\n"
	    "401 means the token is missing, 403 that it is wrong (or the "
	    "endpoint is disabled\n"
	    "because %s is unset), 409 that the saga is not in\n"
	    "FAILED or COMPENSATING.\n\n", MON_TOKEN_ENV, rb->ns, MON_APP,
	    MON_TOKEN_ENV, MON_PORT, MON_TOKEN_ENV, MON_TOKEN_ENV);
}

static void
failure_spike(struct rb *rb, struct mon_output *out, const char *dir)
{
	const struct config_alert	*c = &rb->cfg->alerts.failure_spike;
	struct strbuf			*b;
	char				 win[MON_NUM_MAX];

	b = rb_open(rb, out, dir, ALERT_FAILURE_SPIKE, __FILE__);
	mon_duration(c->window_sec, win, sizeof(win));
	strbuf_str(b, "## Impact\n\n"
	    "Orders are failing: each failed saga is an order that did not "
	    "complete and\n"
	    "must be compensated (stock released, payment refunded).\n\n");
	rb_access(b, rb);

	strbuf_printf(b, "## Diagnosis\n\n"
	    "1. Which step fails? Failures per step in the window "
	    "(Prometheus):\n\n"
	    "   ```promql\n"
	    "   sum by (step) (increase(saga_events_processed_total{job=\"%s\","
	    " status=\"FAILED\"}[%s]))\n"
	    "   ```\n\n"
	    "2. The newest failed sagas, from the API (newest updatedAt "
	    "first):\n\n"
	    "   ```sh\n"
	    "   curl -s 'localhost:%d/api/v1/sagas?status=FAILED&limit=50' |\n"
	    "     jq -r '.items[] | [.sagaId, .sagaType, .orderId, "
	    ".currentStep, .failedAt, .failureReason] | @tsv'\n"
	    "   ```\n\n"
	    "3. Group them by step and reason:\n\n"
	    "   ```sql\n"
	    "   SELECT saga_type, current_step, failure_reason, count(*)\n"
	    "   FROM saga_instance\n"
	    "   WHERE failed_at > now() - interval '%u seconds'\n"
	    "   GROUP BY 1, 2, 3\n"
	    "   ORDER BY 4 DESC;\n"
	    "   ```\n\n"
	    "   One step and one reason: the service behind that step is "
	    "failing (check its\n"
	    "   own dashboards and alerts). Many steps at once: suspect a "
	    "shared dependency.\n\n"
	    "4. ", rb->job, win, MON_PORT, c->window_sec);
	rb_saga_detail(b, rb);
	strbuf_printf(b, "5. Follow the failing call: the saga's `traceId` "
	    "(set by the producer) names\n"
	    "   the distributed trace of the order. Open it in the tracing "
	    "system (Jaeger,\n"
	    "   Tempo...) and find the span of the failing step's service:\n\n"
	    "   ```sh\n"
	    "   curl -s localhost:%d/api/v1/sagas/<sagaId> | jq -r .traceId\n"
	    "   ```\n\n"
	    "   ```sql\n"
	    "   SELECT saga_id, current_step, failure_reason, trace_id\n"
	    "   FROM saga_instance\n"
	    "   WHERE status = 'FAILED' AND trace_id IS NOT NULL\n"
	    "   ORDER BY failed_at DESC\n"
	    "   LIMIT 20;\n"
	    "   ```\n\n", MON_PORT);

	strbuf_str(b, "## Mitigation\n\n"
	    "- Fix or roll back the failing step's service; saga-tracker "
	    "only reports the\n"
	    "  failures. The orchestrators compensate the failed sagas; "
	    "watch\n"
	    "  SagaCompensationTimeout and the Pending Compensations panel.\n"
	    "- A spike of failures right after a producer deploy may be "
	    "wrong status reports:\n"
	    "  compare `source` and `metadata` of the FAILED events with "
	    "the producer's logs.\n\n");
	rb_tuning(b, rb, "failure_spike");
}

static void
compensation_timeout(struct rb *rb, struct mon_output *out, const char *dir)
{
	const struct config_alert	*c;
	struct strbuf			*b;

	c = &rb->cfg->alerts.compensation_timeout;
	b = rb_open(rb, out, dir, ALERT_COMPENSATION_TIMEOUT, __FILE__);
	strbuf_str(b, "## Impact\n\n"
	    "At least one order failed and was not rolled back: reserved "
	    "stock or a captured\n"
	    "payment may still be held for a customer whose order "
	    "failed.\n\n");
	rb_access(b, rb);

	strbuf_printf(b, "## Diagnosis\n\n"
	    "1. How many are waiting, and since when (the metrics read the "
	    "database, so every\n"
	    "   replica reports the same value):\n\n"
	    "   ```promql\n"
	    "   max(saga_compensation_pending{job=\"%s\"})\n"
	    "   max(saga_compensation_pending_oldest_seconds{job=\"%s\"})\n"
	    "   ```\n\n"
	    "2. The sagas waiting longer than the threshold, oldest first:\n\n"
	    "   ```sql\n"
	    "   SELECT saga_id, saga_type, order_id, status, current_step,\n"
	    "          failed_at, failure_reason, updated_at,\n"
	    "          now() - coalesce(failed_at, updated_at) AS waiting\n"
	    "   FROM saga_instance\n"
	    "   WHERE status IN ('FAILED', 'COMPENSATING')\n"
	    "     AND coalesce(failed_at, updated_at) < now() - "
	    "interval '%u seconds'\n"
	    "   ORDER BY coalesce(failed_at, updated_at)\n"
	    "   LIMIT 50;\n"
	    "   ```\n\n"
	    "   FAILED: compensation never started. COMPENSATING: it started "
	    "and did not finish.\n\n"
	    "3. ", rb->job, rb->job, c->after_sec);
	rb_saga_detail(b, rb);

	strbuf_printf(b, "4. Was the saga's COMPENSATED event sent but "
	    "refused? Rejected events keep the\n"
	    "   raw payload, the reason and the Kafka position:\n\n"
	    "   ```sql\n"
	    "   SELECT id, received_at, reason, detail, kafka_partition, "
	    "kafka_offset,\n"
	    "          encode(raw, 'escape') AS payload\n"
	    "   FROM saga_event_rejected\n"
	    "   WHERE position(convert_to('<sagaId>', 'UTF8') IN raw) > 0\n"
	    "   ORDER BY received_at DESC\n"
	    "   LIMIT 20;\n"
	    "   ```\n\n"
	    "   and on the topic itself (the key is the sagaId; last 1000 "
	    "messages per partition):\n\n"
	    "   ```sh\n"
	    "   kcat -b \"$KAFKA_BROKERS\" -C -t %s -o -1000 -e \\\n"
	    "     -f '%%p %%o %%k %%s\\n' | grep '<sagaId>'\n"
	    "   ```\n\n"
	    "## Mitigation\n\n"
	    "- Compensation stuck in the owning service (stock, payment): "
	    "fix it there; its\n"
	    "  COMPENSATED event closes the saga and clears the alert.\n"
	    "- COMPENSATED event rejected: fix the producer and have it send "
	    "the event again\n"
	    "  (the same eventId is applied once).\n"
	    "- Compensated by hand, or the COMPENSATED event is lost for "
	    "good: record it\n"
	    "  (below).\n\n", rb->topic);
	rb_manual_status(b, rb);
	rb_tuning(b, rb, "compensation_timeout");
}

static void
consumer_lag(struct rb *rb, struct mon_output *out, const char *dir)
{
	struct strbuf	*b;

	b = rb_open(rb, out, dir, ALERT_CONSUMER_LAG, __FILE__);
	strbuf_str(b, "## Impact\n\n"
	    "Saga state is behind the events: the API shows stale statuses, "
	    "the saga metrics\n"
	    "and the other saga alerts react late. No event is lost: offsets "
	    "are committed only\n"
	    "after the database transaction that applied them.\n\n");
	rb_access(b, rb);

	strbuf_printf(b, "## Diagnosis\n\n"
	    "1. Every replica reads the group's lag over the whole topic from "
	    "the broker, so\n"
	    "   they agree; `saga_tracker_consumer_lag_age_seconds` says how "
	    "old each reading\n"
	    "   is. Which partitions (one: a hot key or a stuck assignment; "
	    "all: too slow\n"
	    "   overall), and which replica holds how many?\n\n"
	    "   ```promql\n"
	    "   max by (instance) (saga_tracker_consumer_lag{job=\"%s\", "
	    "partition=\"\"})\n"
	    "   max by (partition) (saga_tracker_consumer_lag{job=\"%s\", "
	    "partition!=\"\"})\n"
	    "   max by (instance) "
	    "(saga_tracker_consumer_partitions{job=\"%s\"})\n"
	    "   ```\n\n"
	    "   ```sh\n"
	    "   kcat -b \"$KAFKA_BROKERS\" -L -t %s          # partitions, "
	    "leaders\n"
	    "   kcat -b \"$KAFKA_BROKERS\" -Q -t %s:0:-1     # end offset of "
	    "partition 0\n"
	    "   kafka-consumer-groups.sh --bootstrap-server \"$KAFKA_BROKERS\" "
	    "\\\n"
	    "     --describe --group %s     # per-partition lag and owner\n"
	    "   ```\n\n"
	    "2. Are the consumers alive and in the group?\n\n"
	    "   ```sh\n"
	    "   kubectl -n %s get pods -l app.kubernetes.io/name=%s -o wide\n"
	    "   kubectl -n %s logs -l app.kubernetes.io/name=%s --prefix "
	    "--since=15m |\n"
	    "     grep -iE 'kafka|consumer|rebalanc|database'\n"
	    "   ```\n\n", rb->job, rb->job, rb->job, rb->topic, rb->topic,
	    rb->group, rb->ns, MON_APP, rb->ns, MON_APP);
	lag_causes(b, rb);

	strbuf_printf(b, "## Mitigation\n\n"
	    "- Database slow: fix the database first; the consumer catches up "
	    "by itself.\n"
	    "- Consumers too few for the load: scale out, up to the number "
	    "of partitions of\n"
	    "  %s (more replicas than partitions sit idle):\n\n"
	    "  ```sh\n"
	    "  kubectl -n %s scale deploy/%s --replicas=<n>\n"
	    "  ```\n\n"
	    "- A consumer stuck without errors: restart it. Uncommitted "
	    "events are consumed\n"
	    "  again and applied once:\n\n"
	    "  ```sh\n"
	    "  kubectl -n %s rollout restart deploy/%s\n"
	    "  kubectl -n %s rollout status deploy/%s\n"
	    "  ```\n\n"
	    "- Never reset the group's offsets past unprocessed events: "
	    "those sagas would\n"
	    "  never be updated.\n\n", rb->topic, rb->ns, MON_APP, rb->ns,
	    MON_APP, rb->ns, MON_APP);
	rb_tuning(b, rb, "consumer_lag");
}

static void
lag_causes(struct strbuf *b, const struct rb *rb)
{
	strbuf_printf(b, "3. Is the database slowing the consumer down (each "
	    "batch is one transaction)?\n\n"
	    "   ```promql\n"
	    "   histogram_quantile(0.99, sum by (le, query) "
	    "(rate(saga_tracker_db_query_seconds_bucket{job=\"%s\"}[5m])))\n"
	    "   ```\n\n"
	    "   ```sql\n"
	    "   SELECT pid, state, wait_event_type, now() - query_start AS "
	    "running, left(query, 80)\n"
	    "   FROM pg_stat_activity\n"
	    "   WHERE datname = current_database()\n"
	    "   ORDER BY running DESC NULLS LAST;\n"
	    "   ```\n\n"
	    "4. How late are events applied (producer clock to "
	    "database)?\n\n"
	    "   ```sql\n"
	    "   SELECT source, count(*), max(received_at - occurred_at) AS "
	    "worst,\n"
	    "          avg(received_at - occurred_at) AS mean\n"
	    "   FROM saga_event\n"
	    "   WHERE received_at > now() - interval '15 minutes'\n"
	    "   GROUP BY source;\n"
	    "   ```\n\n"
	    "5. A burst of bad events does not block a partition (they go to "
	    "saga_event_rejected),\n"
	    "   but it does cost time:\n\n"
	    "   ```promql\n"
	    "   sum by (reason) (rate(saga_events_rejected_total{job=\"%s\"}"
	    "[5m]))\n"
	    "   ```\n\n"
	    "   ```sql\n"
	    "   SELECT reason, count(*), max(received_at) AS newest\n"
	    "   FROM saga_event_rejected\n"
	    "   WHERE received_at > now() - interval '1 hour'\n"
	    "   GROUP BY reason\n"
	    "   ORDER BY 2 DESC;\n"
	    "   ```\n\n", rb->job, rb->job);
}

static void
service_down(struct rb *rb, struct mon_output *out, const char *dir)
{
	struct strbuf	*b;

	b = rb_open(rb, out, dir, ALERT_SERVICE_DOWN, __FILE__);
	strbuf_printf(b, "## Impact\n\n"
	    "Saga events on %s are not being applied (they wait in Kafka; "
	    "nothing is lost),\n"
	    "the saga API is unavailable, and the other saga alerts cannot "
	    "fire.\n\n", rb->topic);
	rb_access(b, rb);

	strbuf_printf(b, "## Diagnosis\n\n"
	    "The alert has two forms. With an `instance` label naming a "
	    "target, that target\n"
	    "answers the scrape badly or not at all (`up == 0`). With "
	    "`instance=\"%s\"`,\n"
	    "Prometheus has no target for job `%s` at all (`absent`): no pod, "
	    "or the scrape\n"
	    "configuration lost it (step 3). While it fires, Alertmanager "
	    "mutes the\n"
	    "service's other alerts.\n\n"
	    "1. Pods and rollout:\n\n"
	    "   ```sh\n"
	    "   kubectl -n %s get deploy,pods,svc,endpoints -l "
	    "app.kubernetes.io/name=%s\n"
	    "   kubectl -n %s rollout status deploy/%s\n"
	    "   kubectl -n %s describe pods -l app.kubernetes.io/name=%s | "
	    "tail -n 40\n"
	    "   kubectl -n %s logs deploy/%s --previous --tail=100\n"
	    "   ```\n\n"
	    "   A configuration error stops the service at start with one "
	    "line\n"
	    "   `file:line:col: key.path: what is wrong` and exit status 1 "
	    "(CrashLoopBackOff).\n\n",
	    MON_NO_TARGET, rb->job, rb->ns, MON_APP, rb->ns, MON_APP, rb->ns,
	    MON_APP, rb->ns, MON_APP);
	down_causes(b, rb);

	strbuf_printf(b, "## Mitigation\n\n"
	    "- Bad release or configuration: roll back.\n\n"
	    "  ```sh\n"
	    "  kubectl -n %s rollout undo deploy/%s\n"
	    "  ```\n\n"
	    "- Database down: restore it; readiness comes back by itself and "
	    "the consumer\n"
	    "  resumes from the last committed offset.\n"
	    "- Scrape configuration: regenerate and apply the manifests "
	    "(`make generate`,\n"
	    "  then `kubectl apply -f deploy/kubernetes/`).\n\n", rb->ns,
	    MON_APP);
	rb_tuning(b, rb, "service_down");
}

static void
down_causes(struct strbuf *b, const struct rb *rb)
{
	strbuf_printf(b, "2. Health, from inside the cluster network (port-"
	    "forward as above). Readiness is\n"
	    "   DOWN while the database is unreachable; `/actuator/health` "
	    "names the failing\n"
	    "   component (`db`, `kafka`) and answers 503 when DOWN:\n\n"
	    "   ```sh\n"
	    "   curl -s localhost:%d/actuator/health | jq .\n"
	    "   curl -s -o /dev/null -w '%%{http_code}\\n' "
	    "localhost:%d/actuator/health/readiness\n"
	    "   curl -s localhost:%d/actuator/health/liveness\n"
	    "   curl -s localhost:%d%s | head -n 20\n"
	    "   ```\n\n"
	    "3. Only the scrape is broken (pods healthy)? The "
	    "ServiceMonitor must find the\n"
	    "   Service by label `app.kubernetes.io/name: %s` in namespace "
	    "`%s`, on its port\n"
	    "   named `%s`, path `%s`:\n\n"
	    "   ```sh\n"
	    "   kubectl -n %s get servicemonitor %s -o yaml\n"
	    "   kubectl -n %s get svc -l app.kubernetes.io/name=%s "
	    "-o jsonpath='{.items[*].spec.ports}'\n"
	    "   ```\n\n"
	    "   and look for job `%s` on the Prometheus Targets page.\n\n",
	    MON_PORT, MON_PORT, MON_PORT, MON_PORT, MON_METRICS_PATH,
	    MON_APP, rb->ns, MON_PORT_NAME, MON_METRICS_PATH,
	    rb->cfg->monitoring.service_monitor_namespace, MON_APP, rb->ns,
	    MON_APP, rb->job);
	rb_selectors(b, rb);
}

/* Does the operator's Prometheus select our objects at all? */
static void
rb_selectors(struct strbuf *b, const struct rb *rb)
{
	const struct config_labels	*l = &rb->cfg->monitoring.labels;
	size_t				 i;

	strbuf_printf(b, "4. No target at all although the ServiceMonitor "
	    "exists? The operator's\n"
	    "   Prometheus loads only the ServiceMonitors and PrometheusRules "
	    "its selectors\n"
	    "   match. kube-prometheus-stack selects them by `release: "
	    "<Helm release name>`;\n"
	    "   the generated objects carry `monitoring.labels`:");
	for (i = 0; i < l->count; i++)
		strbuf_printf(b, "%s `%s: %s`", i == 0 ? "" : ",", l->names[i],
		    l->values[i]);
	if (l->count == 0)
		strbuf_str(b, " none");
	strbuf_printf(b, ".\n\n"
	    "   ```sh\n"
	    "   kubectl get prometheus -A -o jsonpath='{range .items[*]}"
	    "{.metadata.name}{\"\\n\"}{.spec.serviceMonitorSelector}{\"\\n\"}"
	    "{.spec.serviceMonitorNamespaceSelector}{\"\\n\"}"
	    "{.spec.ruleSelector}{\"\\n\"}{end}'\n"
	    "   kubectl -n %s get servicemonitor %s --show-labels\n"
	    "   kubectl -n %s get prometheusrule %s --show-labels\n"
	    "   ```\n\n"
	    "   A selector that asks for another release value (`helm list "
	    "-A` shows the\n"
	    "   release name): set `monitoring.labels.release` to it and run "
	    "`make generate`.\n"
	    "   No serviceMonitorNamespaceSelector means the Prometheus's own "
	    "namespace only,\n"
	    "   `{}` every namespace.\n\n",
	    rb->cfg->monitoring.service_monitor_namespace, MON_APP,
	    rb->cfg->monitoring.namespace, MON_APP);
}
