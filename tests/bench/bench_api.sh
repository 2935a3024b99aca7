#!/usr/bin/env bash
# bench_api.sh: GET /api/v1/sagas through the service against the same
# statement sent to PostgreSQL directly.
#
#   1. a throwaway PostgreSQL cluster and the service (the built .so, in
#      the foreground, no Kafka broker: its consumer thread creates the
#      schema on its own and then waits for a broker);
#   2. $BENCH_ROWS (100000) sagas from tests/bench/api_load.sql;
#   3. the statement the service runs for the benchmarked request is
#      taken from the PostgreSQL log (log_min_duration_statement = 0 for
#      one request), so pgbench runs exactly what the service sends;
#   4. wrk -t2 on GET /api/v1/sagas?status=FAILED&limit=50 and pgbench,
#      both with as many connections as the service has database
#      connections (workers x pgsql_conn_max; BENCH_CONNECTIONS
#      overrides wrk's), so both offer PostgreSQL the same concurrency,
#      $BENCH_SECONDS (20) each after a short warm-up of both, in
#      $BENCH_ROUNDS (5) alternating rounds so that a change of
#      background load hits both alike;
#   5. per round and overall: both rates, their p99 latencies and
#      service / pgbench (target: at least 80 %).
#
# The service and pgbench reach PostgreSQL over its Unix socket.
# BENCH_WORKERS and BENCH_CONN_MAX override the conf's workers and
# pgsql_conn_max for the run, BENCH_BATCH_SCHEDULING=false the YAML's
# workers.batch_scheduling (the header shows the workers' policy).
#
# pgbench runs the statement as the service does: the same text, the
# same parameter values, prepared once per connection (-M prepared; the
# service prepares each statement text on each connection, see
# src/dbquery.c).  BENCH_PGBENCH_MODE=extended shows PostgreSQL parsing
# and planning the statement every time, as the service did before.
#
# Everything the script started is stopped on exit; BENCH_KEEP=1 keeps
# the work directory (logs).  Needs `make app`, wrk, pgbench, psql.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${BENCH_SECONDS:-20}
rounds=${BENCH_ROUNDS:-5}
rows=${BENCH_ROWS:-100000}
threads=2
target=80
pgbench_mode=${BENCH_PGBENCH_MODE:-prepared}
url_path='/api/v1/sagas?status=FAILED&limit=50'
so="$root/.build/saga-tracker/saga-tracker.so"
bindir=$(pg_config --bindir)
work=""
kore_pid=""
pg_started=0

bench_name=bench-api
# shellcheck source=tests/bench/common.sh
. "$root/tests/bench/common.sh"

stop_all() {
	trap - EXIT INT TERM
	if [ -n "$kore_pid" ]; then
		kill -TERM "$kore_pid" 2>/dev/null || true
		wait "$kore_pid" 2>/dev/null || true
	fi
	if [ "$pg_started" = 1 ]; then
		as_postgres "$bindir/pg_ctl" -D "$work/pg/data" -m fast -w \
		    stop >/dev/null 2>&1 || true
	fi
	remove_work
}
trap stop_all EXIT
trap 'exit 130' INT TERM

psql_q() {
	psql -X -q -t -A -h 127.0.0.1 -p "$pg_port" -U postgres -d saga "$@"
}

conf_value() {
	awk -v k="$1" '$1 == k { print $2; exit }' "$root/conf/saga-tracker.conf"
}

start_pg() {
	mkdir -p "$work/pg"
	[ "$(id -u)" = 0 ] && chown postgres: "$work/pg"
	as_postgres "$bindir/initdb" -D "$work/pg/data" -A trust -U postgres \
	    -E UTF8 --no-locale --no-sync >"$work/initdb.log"
	pg_port=$(free_port)
	as_postgres "$bindir/pg_ctl" -D "$work/pg/data" \
	    -l "$work/pg/postgres.log" -w -t 30 \
	    -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1" \
	    start >/dev/null
	pg_started=1
	psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
	    -c 'CREATE DATABASE saga'
	# The service and pgbench both reach PostgreSQL over its socket.
	dsn="host=$work/pg port=$pg_port dbname=saga user=postgres"
}

start_service() {
	local conf="$work/kore.conf" yaml="$root/conf/saga-tracker.yaml" i

	svc_port=$(free_port)
	# A new port; the connect callback after it stays.
	sed -e "s|^\([[:space:]]*bind[[:space:]]*\)[^[:space:]]*[[:space:]]*[0-9]*|\1127.0.0.1 $svc_port|" \
	    -e "s|^load[[:space:]].*|load $so|" \
	    -e "s|^workers[[:space:]].*|workers $workers|" \
	    -e "s|^pgsql_conn_max[[:space:]].*|pgsql_conn_max $conn_max|" \
	    "$root/conf/saga-tracker.conf" >"$conf"
	echo "pidfile $work/kore.pid" >>"$conf"
	if [ -n "${BENCH_BATCH_SCHEDULING:-}" ]; then
		sed "s|^\([[:space:]]*batch_scheduling:\).*|\1 $BENCH_BATCH_SCHEDULING|" \
		    "$yaml" >"$work/saga-tracker.yaml"
		yaml="$work/saga-tracker.yaml"
	fi

	(cd "$work" && SAGA_TRACKER_CONFIG="$yaml" \
	    SAGA_TRACKER_DB_DSN="$dsn" exec kore -fnrc "$conf" \
	    >"$work/kore.log" 2>&1) &
	kore_pid=$!

	for i in $(seq 300); do
		if [ "$(psql_q -c "SELECT to_regclass('saga_instance')
		    IS NOT NULL" 2>/dev/null)" = t ] && curl -fs -o /dev/null \
		    "http://127.0.0.1:$svc_port/actuator/health/liveness"; then
			return
		fi
		kill -0 "$kore_pid" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$work/kore.log" >&2 || true
	die "the service did not start or did not create the schema"
}

# The scheduling policies of the service's workers ("SCHED_BATCH").
worker_policies() {
	local pid

	for pid in $(pgrep -P "$kore_pid"); do
		chrt -p "$pid" | awk -F': ' '/policy/ { print $2 }'
	done | sort | uniq -c | awk '{ printf "%s%d x %s", (NR > 1 ? ", " : ""),
	    $1, $2 }'
}

# The statement of the benchmarked request, and its variables.
capture_statement() {
	local items v

	items=$(curl -fs "http://127.0.0.1:$svc_port$url_path" | python3 -c \
	    'import json, sys; print(len(json.load(sys.stdin)["items"]))')
	[ "$items" = 50 ] || die "the request returned $items items, not 50"
	capture_statements list "http://127.0.0.1:$svc_port$url_path" \
	    "$work/pg/postgres.log"
	pgbench_vars=()
	while IFS= read -r v; do
		pgbench_vars+=(-D "$v")
	done <"$work/list.vars"
}

run_wrk() {
	wrk -t"$threads" -c"$connections" -d"$1"s --latency \
	    "http://127.0.0.1:$svc_port$url_path"
}

# run_pgbench SECONDS [pgbench options...]
run_pgbench() {
	local secs=$1

	shift
	pgbench -n -M "$pgbench_mode" -c "$clients" -j "$threads" -T "$secs" \
	    "${pgbench_vars[@]}" -f "$work/list.sql" "$@" \
	    -h "$work/pg" -p "$pg_port" -U postgres saga 2>&1
}

# One wrk run of $1 seconds: sets wrk_rate and wrk_p99 (ms).
measure_wrk() {
	local out

	out=$(run_wrk "$1")
	if grep -q 'Non-2xx' <<<"$out"; then
		printf '%s\n' "$out" >&2
		die "the service answered errors"
	fi
	wrk_rate=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	wrk_p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
}

# One pgbench run of $1 seconds, log prefix $2: sets pgb_rate, pgb_p99.
measure_pgbench() {
	local out

	out=$(cd "$work" && run_pgbench "$1" -l --log-prefix="$2")
	grep -q 'failed transactions: 0 ' <<<"$out" ||
	    { printf '%s\n' "$out" >&2; die "pgbench failed"; }
	pgb_rate=$(awk '/^tps = / { print $3 }' <<<"$out")
	pgb_p99=$(cat "$2".* | awk '{ print $3 }' | sort -n | awk '
	    { v[NR] = $1 }
	    END { i = int(NR * 0.99); if (i < NR * 0.99) i++;
		printf "%.2f", v[i] / 1000 }')
}

main() {
	local per r ratio wr=() wp=() pr=() pp=() rr=()

	for t in wrk pgbench psql curl kore python3 chrt pgrep; do
		command -v "$t" >/dev/null || die "$t is not installed"
	done
	[ -f "$so" ] || die "$so is missing: run make app"
	[ "$rounds" -ge 1 ] && [ "$seconds" -ge "$rounds" ] ||
	    die "BENCH_SECONDS must be >= BENCH_ROUNDS >= 1"

	work=$(mktemp -d /tmp/saga-bench-api.XXXXXX)
	chmod 755 "$work"
	workers=${BENCH_WORKERS:-$(conf_value workers)}
	conn_max=${BENCH_CONN_MAX:-$(conf_value pgsql_conn_max)}
	clients=$((workers * conn_max))
	connections=${BENCH_CONNECTIONS:-$clients}

	start_pg
	start_service
	log "PostgreSQL :$pg_port, service :$svc_port; loading $rows sagas"
	psql_q -v rows="$rows" -f "$root/tests/bench/api_load.sql"
	capture_statement
	log "statement: $(head -c 160 "$work/list.sql")..."
	log "parameters: ${pgbench_vars[*]:-none}"

	run_wrk 2 >/dev/null
	run_pgbench 2 >/dev/null

	per=$((seconds / rounds))
	printf '\nGET %s: %d sagas, %d workers x %d connections\n' \
	    "$url_path" "$rows" "$workers" "$conn_max"
	printf 'kore workers: %s\n' "$(worker_policies)"
	printf '%d CPUs shared by wrk, pgbench, postgres and kore; %d rounds' \
	    "$(nproc)" "$rounds"
	printf ' of %d s each: wrk -t%d -c%d, then pgbench -c%d -j%d\n' \
	    "$per" "$threads" "$connections" "$clients" "$threads"
	printf '  round   service req/s  p99 ms   pgbench tx/s  p99 ms   ratio\n'
	for r in $(seq "$rounds"); do
		measure_wrk "$per"
		measure_pgbench "$per" "$work/pgbench-$r"
		ratio=$(awk -v a="$wrk_rate" -v b="$pgb_rate" \
		    'BEGIN { printf "%.1f", 100 * a / b }')
		printf '  %5d %15.1f %7.2f %14.1f %7.2f %6.1f %%\n' "$r" \
		    "$wrk_rate" "$wrk_p99" "$pgb_rate" "$pgb_p99" "$ratio"
		wr+=("$wrk_rate"); wp+=("$wrk_p99")
		pr+=("$pgb_rate"); pp+=("$pgb_p99"); rr+=("$ratio")
	done

	ratio=$(median "${rr[@]}")
	printf '  %5s %15s %7s %14s %7s %6s %%\n' "all" "$(mean "${wr[@]}")" \
	    "$(median "${wp[@]}")" "$(mean "${pr[@]}")" "$(median "${pp[@]}")" \
	    "$ratio"
	printf '  (rates: mean of the rounds; p99 and ratio: median)\n'
	printf 'service / pgbench: %s %% (target >= %d %%): %s\n' "$ratio" \
	    "$target" "$(awk -v r="$ratio" -v t="$target" \
	    'BEGIN { print (r >= t) ? "met" : "NOT met" }')"
}

main "$@"
