#!/usr/bin/env bash
# run-local.sh: what `make run` starts, in the foreground, until Ctrl-C.
#
#   PostgreSQL   a throwaway cluster in .build/run/pg (as the postgres
#                user when run as root), port $SAGA_PG_PORT (55432)
#   mock broker  librdkafka's mock cluster (tools/mock-broker.c)
#   service      kodev run in .build/saga-tracker, port 8080
#   generator    tools/event-generator.c, $SAGA_GEN_RATE sagas/s (2),
#                failures kept under the SagaFailureSpike threshold (-q)
#   Prometheus   127.0.0.1:$SAGA_PROM_PORT (9090), scraping the service
#                every 5 s with the generated deploy/prometheus/ rules;
#                `make demo-failure-spike` makes SagaFailureSpike fire
#
# Ctrl-C (or any failure) stops everything this script started.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run="$root/.build/run"
pg_port=${SAGA_PG_PORT:-55432}
gen_rate=${SAGA_GEN_RATE:-2}
prom_addr=127.0.0.1:${SAGA_PROM_PORT:-9090}
config=${SAGA_TRACKER_CONFIG:-$root/conf/saga-tracker.yaml}
rules="$root/deploy/prometheus/saga-tracker-rules.yml"
bindir=$(pg_config --bindir)
pids=()

log() { printf 'run: %s\n' "$*" >&2; }

as_postgres() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

stop_all() {
	trap - EXIT INT TERM
	log "stopping"
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ -f "$run/pg/data/postmaster.pid" ]; then
		as_postgres "$bindir/pg_ctl" -D "$run/pg/data" -m fast -w \
		    stop >/dev/null || true
	fi
	log "all stopped"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

rm -rf "$run"
mkdir -p "$run/pg"
chmod 755 "$run"
[ "$(id -u)" = 0 ] && chown postgres: "$run/pg"

log "PostgreSQL: initdb in $run/pg"
as_postgres "$bindir/initdb" -D "$run/pg/data" -A trust -U postgres \
    -E UTF8 --no-locale --no-sync >"$run/initdb.log"
as_postgres "$bindir/pg_ctl" -D "$run/pg/data" -l "$run/pg/postgres.log" \
    -o "-p $pg_port -k $run/pg -c listen_addresses=127.0.0.1" -w start \
    >/dev/null
psql -h 127.0.0.1 -p "$pg_port" -U postgres -qc 'CREATE DATABASE saga'
log "PostgreSQL: 127.0.0.1:$pg_port database saga"

"$root/.build/tools/mock-broker" -f "$run/bootstrap" >"$run/broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$run/bootstrap" ] && break; sleep 0.1; done
[ -s "$run/bootstrap" ] || { log "mock broker did not start"; exit 1; }
brokers=$(cat "$run/bootstrap")
log "Kafka mock broker: $brokers (topic saga.events)"

export SAGA_TRACKER_DB_DSN="host=127.0.0.1 port=$pg_port dbname=saga user=postgres connect_timeout=3"
export SAGA_TRACKER_KAFKA_BROKERS="$brokers"
export SAGA_TRACKER_INTERNAL_TOKEN="${SAGA_TRACKER_INTERNAL_TOKEN:-dev-token}"

"$root/.build/tools/event-generator" -b "$brokers" -r "$gen_rate" \
    -c "$config" -q 2>"$run/generator.log" &
pids+=($!)
log "event generator: $gen_rate sagas/s (log $run/generator.log)"

log "service: http://127.0.0.1:8080/actuator/health (Ctrl-C stops all)"
cd "$root/.build/saga-tracker"
stdbuf -oL kodev run &
svc=$!
pids+=($svc)

# Prometheus once the service answers, so its first scrapes succeed.
for _ in $(seq 600); do
	curl -sf -o /dev/null http://127.0.0.1:8080/actuator/health/liveness &&
	    break
	kill -0 "$svc" 2>/dev/null || exit 1
	sleep 0.1
done

# The job label the generated rules select on (monitoring.job).
job=$(awk -F'job="' 'NF > 1 { split($2, v, "\""); print v[1]; exit }' \
    "$rules")
[ -n "$job" ] || { log "no job label in $rules"; exit 1; }
# The namespace label a Kubernetes target carries (monitoring.service_namespace):
# SagaTrackerDown and the routes select on it.
ns=$(awk -F'namespace="' 'NF > 1 { split($2, v, "\""); print v[1]; exit }' \
    "$rules")
[ -n "$ns" ] || { log "no namespace label in $rules"; exit 1; }
cat >"$run/prometheus.yml" <<-END
	# Written by tools/run-local.sh for make run.
	global:
	  scrape_interval: 5s
	  evaluation_interval: 5s
	rule_files:
	  - $rules
	scrape_configs:
	  - job_name: $job
	    metrics_path: /actuator/prometheus
	    static_configs:
	      - targets: ['127.0.0.1:8080']
	        labels:
	          namespace: $ns
END
prometheus --config.file="$run/prometheus.yml" \
    --storage.tsdb.path="$run/prometheus" \
    --web.listen-address="$prom_addr" >"$run/prometheus.log" 2>&1 &
prom=$!
pids+=($prom)
for _ in $(seq 100); do
	curl -sf -o /dev/null "http://$prom_addr/-/ready" && break
	kill -0 "$prom" 2>/dev/null || break
	sleep 0.1
done
curl -sf -o /dev/null "http://$prom_addr/-/ready" ||
    { log "Prometheus did not start (log $run/prometheus.log)"; exit 1; }
log "Prometheus: http://$prom_addr/classic/alerts (job $job, every 5s)"
log "failure spike on demand: make demo-failure-spike"

wait "$svc"
