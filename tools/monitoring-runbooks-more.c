/*
 * monitoring-runbooks-more: the runbooks of the alerts issue 15 added,
 * in the manner of monitoring-runbooks.c: the database unreachable, the
 * gauges stale, the consumer stalled, the lag unknown, rejected events
 * (info), and one per SLO for its two burn-rate alerts.
 */

#include <stdio.h>

#include "monitoring.h"
#include "monitoring-runbooks.h"

static void	database_down(struct rb *, struct mon_output *, const char *);
static void	gauges_stale(struct rb *, struct mon_output *, const char *);
static void	consumer_stalled(struct rb *, struct mon_output *,
		    const char *);
static void	lag_stale(struct rb *, struct mon_output *, const char *);
static void	rejected_events(struct rb *, struct mon_output *,
		    const char *);
static void	slo_burn(struct rb *, struct mon_output *, const char *,
		    enum mon_slo_id);
static void	slo_diagnosis(struct strbuf *, const struct rb *,
		    enum mon_slo_id);
static void	db_checks(struct strbuf *, const struct rb *, int);

void
mon_runbooks_render_more(struct rb *rb, struct mon_output *out,
    const char *dir)
{
	int		i;

	database_down(rb, out, dir);
	gauges_stale(rb, out, dir);
	consumer_stalled(rb, out, dir);
	lag_stale(rb, out, dir);
	rejected_events(rb, out, dir);
	for (i = 0; i < SLO_COUNT; i++)
		slo_burn(rb, out, dir, (enum mon_slo_id)i);
}

/* Numbered step n: is PostgreSQL there, and is it us? */
static void
db_checks(struct strbuf *b, const struct rb *rb, int n)
{
	strbuf_printf(b, "%d. What the service says, and from where it "
	    "connects (the DSN is in the\n"
	    "   Secret `%s`, key `db-dsn`):\n\n"
	    "   ```sh\n"
	    "   curl -s localhost:%d/actuator/health | jq .components.db\n"
	    "   kubectl -n %s logs deploy/%s --since=10m | grep -iE "
	    "'database|postgres|libpq'\n"
	    "   kubectl -n %s exec deploy/%s -- sh -c 'getent hosts "
	    "\"$(echo $%s | sed -n \"s/.*host=\\([^ ]*\\).*/\\1/p\")\"'\n"
	    "   ```\n\n"
	    "%d. The database itself: up, accepting connections, not out of "
	    "connections or disk:\n\n"
	    "   ```sql\n"
	    "   SELECT count(*) AS connections, current_setting("
	    "'max_connections') AS max\n"
	    "   FROM pg_stat_activity;\n"
	    "   SELECT pid, state, wait_event_type, now() - query_start AS "
	    "running, left(query, 80)\n"
	    "   FROM pg_stat_activity\n"
	    "   WHERE datname = current_database()\n"
	    "   ORDER BY running DESC NULLS LAST;\n"
	    "   ```\n\n", n, MON_APP, MON_PORT, rb->ns, MON_APP, rb->ns,
	    MON_APP, rb->cfg->postgres.dsn_env, n + 1);
}

static void
database_down(struct rb *rb, struct mon_output *out, const char *dir)
{
	struct strbuf	*b;

	b = rb_open(rb, out, dir, ALERT_DATABASE_DOWN, __FILE__);
	strbuf_str(b, "## Impact\n\n"
	    "No saga event is applied (they wait in Kafka: offsets are "
	    "committed only after\n"
	    "the transaction that applied them, so nothing is lost). "
	    "Readiness is DOWN, so\n"
	    "the pods leave the Service and the API answers nothing; the "
	    "saga gauges keep\n"
	    "their last value (SagaTrackerGaugesStale follows).\n\n");
	rb_access(b, rb);

	strbuf_printf(b, "## Diagnosis\n\n"
	    "1. Every replica or only some? The alert needs all of them "
	    "down; one replica\n"
	    "   alone points at its node or network:\n\n"
	    "   ```promql\n"
	    "   min by (instance) (saga_tracker_db_up{job=\"%s\"})\n"
	    "   histogram_quantile(0.99, sum by (le, query) "
	    "(rate(saga_tracker_db_query_seconds_bucket{job=\"%s\"}[5m])))\n"
	    "   ```\n\n", rb->job, rb->job);
	db_checks(b, rb, 2);

	strbuf_printf(b, "## Mitigation\n\n"
	    "- Restore the database (failover, disk, connection limit); the "
	    "service reconnects\n"
	    "  by itself, readiness comes back and the consumer resumes from "
	    "the last committed\n"
	    "  offset. Watch SagaTrackerConsumerLag while it catches up.\n"
	    "- Wrong credentials or host after a change of the Secret: fix "
	    "`db-dsn`, then\n\n"
	    "  ```sh\n"
	    "  kubectl -n %s rollout restart deploy/%s\n"
	    "  ```\n\n", rb->ns, MON_APP);
	rb_tuning(b, rb, "database_down");
}

static void
gauges_stale(struct rb *rb, struct mon_output *out, const char *dir)
{
	struct strbuf	*b;

	b = rb_open(rb, out, dir, ALERT_GAUGES_STALE, __FILE__);
	strbuf_str(b, "## Impact\n\n"
	    "The dashboard's Active Sagas, Pending Compensations and status "
	    "distribution show\n"
	    "old numbers, and SagaCompensationTimeout judges by an old age: "
	    "it may fire late\n"
	    "or stay firing. Events themselves may still be applied.\n\n");
	rb_access(b, rb);

	strbuf_printf(b, "## Diagnosis\n\n"
	    "1. Which replicas, and is the database reachable from them?\n\n"
	    "   ```promql\n"
	    "   max by (instance) (saga_tracker_gauges_age_seconds"
	    "{job=\"%s\"})\n"
	    "   min by (instance) (saga_tracker_db_up{job=\"%s\"})\n"
	    "   ```\n\n"
	    "   Database down: see SagaTrackerDatabaseDown. Database up but "
	    "gauges old: the\n"
	    "   refresh query is slow or blocked.\n\n"
	    "2. The refresh reads saga_status_delta; is it slow or waiting "
	    "on a lock?\n\n"
	    "   ```promql\n"
	    "   histogram_quantile(0.99, sum by (le, query) "
	    "(rate(saga_tracker_db_query_seconds_bucket{job=\"%s\"}[5m])))\n"
	    "   ```\n\n", rb->job, rb->job, rb->job);
	db_checks(b, rb, 3);

	strbuf_printf(b, "## Mitigation\n\n"
	    "- Fix the database side (locks, load) first.\n"
	    "- One replica alone stale while the others refresh: restart "
	    "that pod:\n\n"
	    "  ```sh\n"
	    "  kubectl -n %s delete pod <pod>\n"
	    "  ```\n\n", rb->ns);
	rb_tuning(b, rb, "gauges_stale");
}

static void
consumer_stalled(struct rb *rb, struct mon_output *out, const char *dir)
{
	struct strbuf	*b;

	b = rb_open(rb, out, dir, ALERT_CONSUMER_STALLED, __FILE__);
	strbuf_str(b, "## Impact\n\n"
	    "Events wait on the topic and none is applied: saga state, the "
	    "API and the saga\n"
	    "alerts freeze, even though the lag may be far below the "
	    "SagaTrackerConsumerLag\n"
	    "threshold.\n\n");
	rb_access(b, rb);

	strbuf_printf(b, "## Diagnosis\n\n"
	    "1. Does any replica hold partitions, and in which phase is each "
	    "consumer\n"
	    "   (`STARTING`, `JOINING`, `REBALANCING`, `RUNNING`, "
	    "`STOPPED`)?\n\n"
	    "   ```promql\n"
	    "   sum by (instance) (saga_tracker_consumer_partitions"
	    "{job=\"%s\"})\n"
	    "   max by (instance) (saga_tracker_consumer_lag_age_seconds"
	    "{job=\"%s\"})\n"
	    "   ```\n\n"
	    "   ```sh\n"
	    "   for p in $(kubectl -n %s get pods -l app.kubernetes.io/name=%s "
	    "-o name); do\n"
	    "     kubectl -n %s exec \"$p\" -- curl -s "
	    "localhost:%d/actuator/health | jq -c .components.kafka\n"
	    "   done\n"
	    "   kafka-consumer-groups.sh --bootstrap-server \"$KAFKA_BROKERS\" "
	    "\\\n"
	    "     --describe --group %s --members --verbose\n"
	    "   ```\n\n"
	    "2. Is the database refusing the batches (each batch is one "
	    "transaction)?\n\n"
	    "   ```promql\n"
	    "   min by (instance) (saga_tracker_db_up{job=\"%s\"})\n"
	    "   ```\n\n"
	    "   ```sh\n"
	    "   kubectl -n %s logs -l app.kubernetes.io/name=%s --prefix "
	    "--since=15m |\n"
	    "     grep -iE 'kafka|consumer|rebalanc|commit|database'\n"
	    "   ```\n\n", rb->job, rb->job, rb->ns, MON_APP, rb->ns, MON_PORT,
	    rb->group, rb->job, rb->ns, MON_APP);

	strbuf_printf(b, "## Mitigation\n\n"
	    "- No partitions anywhere, or a rebalance that does not end: "
	    "restart the\n"
	    "  consumers; uncommitted events are read again and applied "
	    "once:\n\n"
	    "  ```sh\n"
	    "  kubectl -n %s rollout restart deploy/%s\n"
	    "  kubectl -n %s rollout status deploy/%s\n"
	    "  ```\n\n"
	    "- Batches failing on the database: see "
	    "SagaTrackerDatabaseDown.\n"
	    "- Never reset the group's offsets past unprocessed events: "
	    "those sagas would\n"
	    "  never be updated.\n\n", rb->ns, MON_APP, rb->ns, MON_APP);
	rb_tuning(b, rb, "consumer_stalled");
}

static void
lag_stale(struct rb *rb, struct mon_output *out, const char *dir)
{
	struct strbuf	*b;

	b = rb_open(rb, out, dir, ALERT_LAG_STALE, __FILE__);
	strbuf_str(b, "## Impact\n\n"
	    "Nobody knows how far behind the consumer is: "
	    "saga_tracker_consumer_lag repeats\n"
	    "an old reading and SagaTrackerConsumerLag cannot fire. The "
	    "broker is unreachable\n"
	    "or too slow to answer; consumption is probably affected as "
	    "well.\n\n");
	rb_access(b, rb);

	strbuf_printf(b, "## Diagnosis\n\n"
	    "1. How old is each replica's reading, and is anything still "
	    "applied?\n\n"
	    "   ```promql\n"
	    "   max by (instance) (saga_tracker_consumer_lag_age_seconds"
	    "{job=\"%s\"})\n"
	    "   sum by (instance) (rate(saga_events_processed_total"
	    "{job=\"%s\"}[5m]))\n"
	    "   ```\n\n"
	    "2. Can the pods reach the brokers?\n\n"
	    "   ```sh\n"
	    "   kcat -b \"$KAFKA_BROKERS\" -L -t %s\n"
	    "   kubectl -n %s logs -l app.kubernetes.io/name=%s --prefix "
	    "--since=15m |\n"
	    "     grep -iE 'kafka|broker|timed out|transport'\n"
	    "   ```\n\n", rb->job, rb->job, rb->topic, rb->ns, MON_APP);

	strbuf_str(b, "## Mitigation\n\n"
	    "- Restore the brokers or the network path to them; the "
	    "readings resume by\n"
	    "  themselves.\n"
	    "- Brokers fine but one pod cannot reach them: delete that "
	    "pod.\n\n");
	rb_tuning(b, rb, "lag_stale");
}

static void
rejected_events(struct rb *rb, struct mon_output *out, const char *dir)
{
	struct strbuf	*b;

	b = rb_open(rb, out, dir, ALERT_REJECTED_EVENTS, __FILE__);
	strbuf_str(b, "## Impact\n\n"
	    "None yet: an anomaly to look at in working hours. Rejected "
	    "events are stored\n"
	    "in saga_event_rejected and their offsets committed, so they "
	    "never block a\n"
	    "partition; but the sagas they belong to are not updated by "
	    "them. `conflict`\n"
	    "events are applied: a COMPLETED saga reported failing "
	    "afterwards.\n\n");
	rb_access(b, rb);

	strbuf_printf(b, "## Diagnosis\n\n"
	    "1. Which reasons, since when:\n\n"
	    "   ```promql\n"
	    "   sum by (reason) (increase(saga_events_rejected_total"
	    "{job=\"%s\"}[1h]))\n"
	    "   ```\n\n"
	    "2. The payloads, with where they came from:\n\n"
	    "   ```sql\n"
	    "   SELECT id, received_at, reason, detail, kafka_partition, "
	    "kafka_offset,\n"
	    "          left(encode(raw, 'escape'), 200) AS payload\n"
	    "   FROM saga_event_rejected\n"
	    "   WHERE received_at > now() - interval '1 hour'\n"
	    "   ORDER BY received_at DESC\n"
	    "   LIMIT 50;\n"
	    "   ```\n\n"
	    "   The reason names the broken rule of the event contract "
	    "(missing or malformed\n"
	    "   field, unknown status); `expired` is an event for a saga "
	    "retention already\n"
	    "   removed.\n\n"
	    "3. A `conflict`: the saga's history shows both outcomes.\n\n"
	    "   ```sql\n"
	    "   SELECT saga_id, event_id, step, status, occurred_at, source\n"
	    "   FROM saga_event\n"
	    "   WHERE saga_id = '<sagaId>'\n"
	    "   ORDER BY occurred_at, event_id;\n"
	    "   ```\n\n", rb->job);

	strbuf_str(b, "## Mitigation\n\n"
	    "- Tell the producing team (the payload names its service and "
	    "step); once\n"
	    "  fixed, it sends the events again (the same eventId is applied "
	    "once).\n"
	    "- Conflicts: check with the step's owner which outcome is true; "
	    "a saga that\n"
	    "  really failed is compensated as any other.\n\n");
	rb_tuning(b, rb, "rejected_events");
}

static void
slo_diagnosis(struct strbuf *b, const struct rb *rb, enum mon_slo_id id)
{
	switch (id) {
	case SLO_API_AVAILABILITY:
		strbuf_printf(b, "2. Which routes answer 5xx, with which code, "
		    "on which replica?\n\n"
		    "   ```promql\n"
		    "   sum by (instance, endpoint, method, code) (rate("
		    MON_API_COUNT "{job=\"%s\", code=~\"5..\"}[5m]))\n"
		    "   ```\n\n"
		    "   `503` on every route: the database is unreachable "
		    "(follow\n"
		    "   SagaTrackerDatabaseDown). `500`: a statement fails; "
		    "the log names it:\n\n"
		    "   ```sh\n"
		    "   kubectl -n %s logs deploy/%s --since=1h | grep "
		    "'database:'\n"
		    "   ```\n\n"
		    "   No answers at all is not counted here: "
		    "SagaTrackerDown covers a service that\n"
		    "   cannot be reached.\n\n", rb->job, rb->ns, MON_APP);
		break;
	case SLO_API_LATENCY:
		strbuf_printf(b, "2. Which routes are slow, and is it the "
		    "database?\n\n"
		    "   ```promql\n"
		    "   histogram_quantile(0.99, sum by (le, endpoint, "
		    "method) (rate(saga_tracker_api_latency_seconds_bucket"
		    "{job=\"%s\"}[5m])))\n"
		    "   histogram_quantile(0.99, sum by (le, query) "
		    "(rate(saga_tracker_db_query_seconds_bucket{job=\"%s\"}"
		    "[5m])))\n"
		    "   ```\n\n"
		    "   Slow queries: check `pg_stat_activity` and the "
		    "plans of the list queries.\n"
		    "   Only one route: a client asking for large pages or "
		    "unindexed filters.\n\n", rb->job, rb->job);
		break;
	default:
		strbuf_printf(b, "2. Is the consumer behind, stalled, or are "
		    "batches slow?\n\n"
		    "   ```promql\n"
		    "   max by (namespace) (saga_tracker_consumer_lag"
		    "{job=\"%s\", partition=\"\"})\n"
		    "   histogram_quantile(0.99, sum by (le) (rate("
		    "saga_tracker_event_delay_seconds_bucket{job=\"%s\"}"
		    "[5m])))\n"
		    "   ```\n\n"
		    "   Lag growing: follow SagaTrackerConsumerLag. Delay "
		    "high with no lag: producers\n"
		    "   publish late (the delay counts from the Kafka "
		    "timestamp), or clocks differ.\n\n",
		    rb->job, rb->job);
		break;
	}
}

static void
slo_burn(struct rb *rb, struct mon_output *out, const char *dir,
    enum mon_slo_id id)
{
	const struct mon_slo	*s = &rb->slos[id];
	const struct mon_alert	*f = &s->burn[BURN_FAST];
	const struct mon_alert	*w = &s->burn[BURN_SLOW];
	struct strbuf		*b;

	b = rb_new(rb, out, dir, s->alert, __FILE__);
	strbuf_printf(b, "| SLO | %s: %s over 30 days, objective %g%% "
	    "(`slo.%s`) |\n"
	    "| Severity `%s` when | `%s` holds for `%s` |\n"
	    "| Severity `%s` when | `%s` holds for `%s` |\n\n"
	    "%s\n\n", s->title, s->good, s->objective, s->key, f->severity,
	    f->expr, f->for_text, w->severity, w->expr, w->for_text,
	    f->description);

	strbuf_printf(b, "## Impact\n\n"
	    "The error budget (%s of the events over 30 days) is being spent "
	    "too fast. The\n"
	    "`%s` alert means about 2%% of it went in the last hour: users "
	    "notice now.\n"
	    "The `%s` alert means about 5%% in six hours: a slow leak to fix "
	    "in working\n"
	    "hours. Alertmanager mutes the warning while the critical one "
	    "fires.\n\n", s->budget, f->severity, w->severity);
	rb_access(b, rb);

	strbuf_printf(b, "## Diagnosis\n\n"
	    "1. The error ratios per window (the Saga Tracker dashboard's SLO "
	    "row draws them):\n\n"
	    "   ```promql\n"
	    "   %s5m{job=\"%s\", slo=\"%s\"}\n"
	    "   %s1h{job=\"%s\", slo=\"%s\"}\n"
	    "   %s6h{job=\"%s\", slo=\"%s\"}\n"
	    "   ```\n\n", MON_SLO_RECORD, rb->job, s->key, MON_SLO_RECORD,
	    rb->job, s->key, MON_SLO_RECORD, rb->job, s->key);
	slo_diagnosis(b, rb, id);

	strbuf_printf(b, "## Mitigation\n\n"
	    "- Fix the cause found above; the short window clears within "
	    "minutes once it is\n"
	    "  gone, which resolves the alert.\n"
	    "- A bad release: roll back.\n\n"
	    "  ```sh\n"
	    "  kubectl -n %s rollout undo deploy/%s\n"
	    "  ```\n\n"
	    "## Tuning\n\n"
	    "The objective and threshold come from `slo.%s` in %s; the burn "
	    "rates and\n"
	    "windows (14.4x over 1h and 5m, 6x over 6h and 30m) are the SRE "
	    "workbook's.\n"
	    "Change the configuration and run `make generate`; never edit "
	    "the generated rules.\n", rb->ns, MON_APP, s->key, rb->cfg->path);
}
