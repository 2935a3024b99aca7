#!/usr/bin/env bash
# bench_scale.sh: what saga-tracker costs at 10^5, 10^6 and 10^7 sagas
# of history (`make bench-scale`; BENCH_SCALE_SIZES="100000 1000000"
# picks the sizes).
#
# For each size:
#   1. the history: SIZE sagas of 4 events over 31 days, written by
#      tests/bench/scale_fill.sql into the service's own schema, in
#      chunks of 1,000,000 sagas with progress; the PostgreSQL data
#      directory is kept in .build/bench-scale/sagas-SIZE, so a later
#      run skips the fill (remove the directory to fill again);
#   2. database bytes per saga (pg_database_size / SIZE);
#   3. bench_scale measure (tests/bench/bench_scale.c): ingest of new
#      events on top of the history against COPY of the same rows, the
#      gauge refresh in ms (and the full counts it replaced), a purge of
#      the oldest day while ingesting, a quarter day at a time, each
#      against as long without a purge; then the purged day is refilled;
#   4. the API: the service (retention off, no broker) and pgbench
#      running the very statements the service sends (taken from the
#      PostgreSQL log), one connection each, after a warm-up of all, in
#      $BENCH_SCALE_ROUNDS (3) alternating rounds of
#      $BENCH_SCALE_SECONDS (2) per request kind: the list unfiltered
#      and by each filter, page 100 of a cursor walk, one saga by id;
#      requests per second and p50/p99 of each (medians of the rounds).
#      pgbench runs each statement twice: prepared, as the service sends
#      it (-M prepared, the baseline of the target), and parsed and
#      planned every time (-M extended, what the service did before it
#      prepared its statements).  The service's request without a
#      statement (GET /actuator/health/liveness) is its floor: the cost
#      of HTTP through kore alone.
# Then one table: each size side by side.  Targets (issue 13): ingest
# >= 0.7 of COPY at 10^7, API >= 0.8 of pgbench at 10^7 and its p50
# within 20 % of its own at 10^5, a gauge refresh <= 5 ms.
#
# BENCH_SCALE_FILL_ONLY=1 only fills the sizes not cached yet;
# BENCH_SCALE_PARTS="api" (or "db") runs only steps 4 (or 2-3).
# PostgreSQL runs with shared_buffers=1GB, C locale.  Everything it
# started is stopped on exit; BENCH_KEEP=1 keeps the work directory.
# Needs `make app` and .build/bench/bench_scale.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
sizes=${BENCH_SCALE_SIZES:-"100000 1000000 10000000"}
seconds=${BENCH_SCALE_SECONDS:-2}
rounds=${BENCH_SCALE_ROUNDS:-3}
parts=${BENCH_SCALE_PARTS:-"db api"}
cache="$root/.build/bench-scale"
so="$root/.build/saga-tracker/saga-tracker.so"
tool="$root/.build/bench/bench_scale"
bindir=$(pg_config --bindir)
chunk=1000000
work=""
kore_pid=""
pg_data=""
results=""

bench_name=bench-scale
# shellcheck source=tests/bench/common.sh
. "$root/tests/bench/common.sh"

stop_service() {
	if [ -n "$kore_pid" ]; then
		kill -TERM "$kore_pid" 2>/dev/null || true
		wait "$kore_pid" 2>/dev/null || true
		kore_pid=""
	fi
}

stop_pg() {
	if [ -n "$pg_data" ]; then
		as_postgres "$bindir/pg_ctl" -D "$pg_data" -m fast -w stop \
		    >/dev/null 2>&1 || true
		pg_data=""
	fi
}

stop_all() {
	trap - EXIT INT TERM
	stop_service
	stop_pg
	remove_work
}
trap stop_all EXIT
trap 'exit 130' INT TERM

psql_q() {
	psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$pg_sock" -p "$pg_port" \
	    -U postgres -d saga "$@"
}

# start_pg DATADIR: sets pg_port, pg_sock, dsn.
start_pg() {
	pg_sock="$work/sock"
	mkdir -p "$pg_sock"
	[ "$(id -u)" = 0 ] && chown postgres: "$pg_sock"
	pg_port=$(free_port)
	as_postgres "$bindir/pg_ctl" -D "$1" -l "$1/../postgres.log" -w \
	    -t 120 -o "-p $pg_port -k $pg_sock -c listen_addresses=127.0.0.1 \
	    -c shared_buffers=1GB -c max_wal_size=8GB \
	    -c checkpoint_timeout=30min" start >/dev/null
	pg_data=$1
	dsn="host=$pg_sock port=$pg_port dbname=saga user=postgres"
}

# fill SIZE DIR: a new cluster with SIZE sagas, marked complete.
fill() {
	local n=$1 dir=$2 lo hi t0 start

	rm -rf "$dir"
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres: "$dir"
	as_postgres "$bindir/initdb" -D "$dir/data" -A trust -U postgres \
	    -E UTF8 --no-locale >"$dir/initdb.log"
	start_pg "$dir/data"
	psql -X -q -h "$pg_sock" -p "$pg_port" -U postgres -d postgres \
	    -c 'CREATE DATABASE saga'
	"$tool" schema "$dsn"
	t0=$(psql_q -c "SELECT date_trunc('second', now() - interval '31 days')")
	echo "$t0" >"$dir/t0"
	start=$SECONDS
	for ((lo = 1; lo <= n; lo += chunk)); do
		hi=$((lo + chunk - 1 < n ? lo + chunk - 1 : n))
		psql_q -v n="$n" -v lo="$lo" -v hi="$hi" -v t0="'$t0'" \
		    -f "$root/tests/bench/scale_fill.sql"
		log "filled $hi of $n sagas ($((SECONDS - start)) s)"
	done
	psql_q -c 'VACUUM ANALYZE'
	log "filled and vacuumed in $((SECONDS - start)) s"
	stop_pg
	touch "$dir/filled"
}

# --- the API ---------------------------------------------------------------

start_service() {
	local conf="$work/kore.conf" yaml="$work/saga-tracker.yaml" port i

	port=$(free_port)
	svc="http://127.0.0.1:$port"
	sed -e "s|^\([[:space:]]*bind[[:space:]]*\)[^[:space:]]*[[:space:]]*[0-9]*|\1127.0.0.1 $port|" \
	    -e "s|^load[[:space:]].*|load $so|" \
	    "$root/conf/saga-tracker.conf" >"$conf"
	echo "pidfile $work/kore.pid" >>"$conf"
	sed -e "s|^\([[:space:]]*terminal:\).*|\1 0|" \
	    -e "s|^\([[:space:]]*rejected:\).*|\1 0|" \
	    "$root/conf/saga-tracker.yaml" >"$yaml"

	(cd "$work" && SAGA_TRACKER_CONFIG="$yaml" SAGA_TRACKER_DB_DSN="$dsn" \
	    SAGA_TRACKER_KAFKA_BROKERS=127.0.0.1:1 exec kore -fnrc "$conf" \
	    >"$work/kore.log" 2>&1) &
	kore_pid=$!
	for i in $(seq 300); do
		curl -fs -o /dev/null "$svc/actuator/health/readiness" && return
		kill -0 "$kore_pid" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$work/kore.log" >&2 || true
	die "the service did not start"
}

# p50 and p99 in ms of pgbench's per-transaction logs $1.*
pgbench_percentiles() {
	cat "$1".* | awk '{ print $3 / 1000 }' | sort -g | awk '
	    { v[NR] = $1 }
	    END { a = int(NR * 0.5); if (a < 1) a = 1;
		b = int(NR * 0.99); if (b < NR * 0.99) b++;
		printf "%.2f %.2f", v[a], v[b] }'
}

# wrk_once PATH SECONDS: "req/s p50 p99" of one connection.
wrk_once() {
	local out

	out=$(wrk -t1 -c1 -d"$2"s --latency "$svc$1")
	grep -q 'Non-2xx' <<<"$out" && die "$1: the service answered errors"
	printf '%s %s %s\n' "$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")" \
	    "$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")" \
	    "$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")"
}

# pgbench_once NAME MODE SECONDS VARS...: "tx/s p50 p99" of one client
# sending the statements with protocol MODE (prepared, extended).
pgbench_once() {
	local name=$1 mode=$2 secs=$3 out

	shift 3
	rm -f "$work/pgb-$name".*
	out=$(cd "$work" && pgbench -n -M "$mode" -c1 -j1 -T "$secs" "$@" \
	    -f "$work/$name.sql" -l --log-prefix="pgb-$name" \
	    -h "$pg_sock" -p "$pg_port" -U postgres saga 2>&1)
	grep -q 'failed transactions: 0 ' <<<"$out" ||
	    { printf '%s\n' "$out" >&2; die "pgbench failed on $name"; }
	printf '%s %s\n' "$(awk '/^tps = / { print $3 }' <<<"$out")" \
	    "$(pgbench_percentiles "$work/pgb-$name")"
	rm -f "$work/pgb-$name".*
}

# api_pair NAME PATH: one line "name", then rps p50 p99 of the service,
# of pgbench prepared and of pgbench extended, each the median of
# $rounds alternating rounds after a warm-up of all three (at 10^7 the
# history does not fit in memory: the first statements read from disk),
# then the range of the rounds' service / pgbench prepared.
api_pair() {
	local name=$1 path=$2 vars=() v r w p e
	local sr=() s50=() s99=() pr=() p50=() p99=() er=() e50=() e99=()
	local ratios=()

	capture_statements "$name" "$svc$path" "$pg_data/../postgres.log"
	while IFS= read -r v; do vars+=(-D "$v"); done <"$work/$name.vars"
	wrk_once "$path" 1 >/dev/null
	pgbench_once "$name" prepared 1 "${vars[@]}" >/dev/null
	pgbench_once "$name" extended 1 "${vars[@]}" >/dev/null
	for r in $(seq "$rounds"); do
		read -r -a w <<<"$(wrk_once "$path" "$seconds")"
		read -r -a p <<<"$(pgbench_once "$name" prepared "$seconds" \
		    "${vars[@]}")"
		read -r -a e <<<"$(pgbench_once "$name" extended "$seconds" \
		    "${vars[@]}")"
		sr+=("${w[0]}"); s50+=("${w[1]}"); s99+=("${w[2]}")
		pr+=("${p[0]}"); p50+=("${p[1]}"); p99+=("${p[2]}")
		er+=("${e[0]}"); e50+=("${e[1]}"); e99+=("${e[2]}")
		ratios+=("$(awk -v a="${w[0]}" -v b="${p[0]}" \
		    'BEGIN { printf "%.2f", a / b }')")
	done
	printf '%s %s %s %s %s %s %s %s %s %s %s\n' "$name" \
	    "$(median "${sr[@]}")" "$(median "${s50[@]}")" \
	    "$(median "${s99[@]}")" "$(median "${pr[@]}")" \
	    "$(median "${p50[@]}")" "$(median "${p99[@]}")" \
	    "$(median "${er[@]}")" "$(median "${e50[@]}")" \
	    "$(median "${e99[@]}")" "$(range "${ratios[@]}")"
}

# api_floor: "floor rps p50 p99" of a request without a statement.
api_floor() {
	local path=/actuator/health/liveness r w sr=() s50=() s99=()

	wrk_once "$path" 1 >/dev/null
	for r in $(seq "$rounds"); do
		read -r -a w <<<"$(wrk_once "$path" "$seconds")"
		sr+=("${w[0]}"); s50+=("${w[1]}"); s99+=("${w[2]}")
	done
	printf 'floor %s %s %s\n' "$(median "${sr[@]}")" \
	    "$(median "${s50[@]}")" "$(median "${s99[@]}")"
}

# The URL of page 100 of the unfiltered list (99 cursors followed).
page_100() {
	local path='/api/v1/sagas?limit=50' cursor i

	for i in $(seq 99); do
		cursor=$(curl -fs "$svc$path" | python3 -c 'import json, sys
print(json.load(sys.stdin)["nextCursor"])')
		path="/api/v1/sagas?limit=50&cursor=$cursor"
	done
	printf '%s' "$path"
}

api_all() {
	local n=$1 mid day10

	mid=$(printf '%09d' $((n / 2)))
	day10=$(psql_q -c "SELECT to_char((min(updated_at) + interval '10 days')
	    AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM saga_instance")
	api_floor
	api_pair list '/api/v1/sagas?limit=50'
	api_pair status '/api/v1/sagas?status=FAILED&limit=50'
	api_pair statuses '/api/v1/sagas?status=FAILED,COMPENSATING&limit=50'
	api_pair order "/api/v1/sagas?orderId=order-$mid"
	api_pair type '/api/v1/sagas?sagaType=REFUND&limit=50'
	api_pair step '/api/v1/sagas?step=SHIPPING&limit=50'
	api_pair dates "/api/v1/sagas?fromDate=$day10&toDate=$day10&limit=50"
	api_pair page100 "$(page_100)"
	api_pair get "/api/v1/sagas/scale-$mid"
}

# --- one size --------------------------------------------------------------

one_size() {
	local n=$1 dir="$cache/sagas-$1" t0 bytes out

	if [ ! -f "$dir/filled" ]; then
		log "filling $n sagas into $dir (kept for later runs)"
		fill "$n" "$dir"
	fi
	t0=$(cat "$dir/t0")
	start_pg "$dir/data"
	bytes=$(psql_q -c "SELECT pg_database_size('saga')")
	log "$n sagas: $(du -sh "$dir/data" | cut -f1) on disk; measuring"

	out="$work/$n.txt"
	{
		echo "bytes_per_saga $((bytes / n))"
		echo "disk $(du -sh "$dir/data" | cut -f1)"
	} >"$out"
	if [[ " $parts " == *" db "* ]]; then
		"$tool" measure "$dsn" "$n" >>"$out"
		log "refilling the purged day"
		psql_q -v n="$n" -v lo=1 -v hi=$(((n + 30) / 31)) \
		    -v t0="'$t0'" -f "$root/tests/bench/scale_fill.sql"
		# The API part starts on a settled database: no autoanalyze
		# of the refilled day, no checkpoint writing it out meanwhile.
		psql_q -c 'VACUUM ANALYZE saga_instance, saga_event' \
		    -c 'CHECKPOINT'
	fi
	if [[ " $parts " == *" api "* ]]; then
		log "$n sagas: API"
		start_service
		api_all "$n" | sed 's/^/api /' >>"$out"
		stop_service
	fi
	stop_pg
	results="$results $n"
}

# --- the table ---------------------------------------------------------------

get() { awk -v k="$2" '$1 == k { print $2; exit }' "$work/$1.txt"; }
api_get() {
	awk -v k="$2" -v c="$3" '$1 == "api" && $2 == k { print $c; exit }' \
	    "$work/$1.txt"
}

row() {
	local label=$1 key=$2 n

	printf '%-34s' "$label"
	for n in $results; do
		printf ' %14s' "$(get "$n" "$key")"
	done
	printf '\n'
}

# ratio A B: A / B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# api_line LABEL FN ARGS...: LABEL, then "FN SIZE ARGS..." of each size.
api_line() {
	local label=$1 fn=$2 n

	shift 2
	printf '%-34s' "$label"
	for n in $results; do printf ' %14s' "$("$fn" "$n" "$@")"; done
	printf '\n'
}

# SIZE KEY A B: "column A/column B"; SIZE KEY A [B [SIZE2]]: the ratio
# of column A to column B (of SIZE2's line, by default SIZE's).
api_two() {
	printf '%s/%s' "$(api_get "$1" "$2" "$3")" "$(api_get "$1" "$2" "$4")"
}
api_ratio() {
	ratio "$(api_get "$1" "$2" "$3")" "$(api_get "${5:-$1}" "$2" "$4")"
}

db_rows() {
	row "ingest events/s" ingest_eps
	row "COPY of the same rows, rows/s" copy_eps
	row "ingest / COPY, median (>= 0.7)" ingest_ratio
	row "  range of the rounds" ingest_ratio_range
	row "gauge refresh ms, new connection" gauges_ms_first
	row "  then median (<= 5)" gauges_ms_median
	row "  then max" gauges_ms_max
	row "full counts it replaced, ms" full_count_ms
	row "purge: sagas removed (1 day)" purge_sagas
	row "purge: events removed" purge_events
	row "purge: seconds" purge_s
	row "ingest events/s during purge" ingest_during_purge_eps
	row "  / without purge (>= 0.8)" during_purge_ratio
	row "  range of the pairs" during_purge_ratio_range
}

api_rows() {
	local k first

	first=${results# }
	first=${first%% *}
	api_line "API floor (no statement) p50 ms" api_get floor 4
	api_line "  req/s" api_get floor 3
	for k in list status statuses order type step dates page100 get; do
		api_line "API $k p50/p99 ms" api_two "$k" 4 5
		api_line "  pgbench prepared p50/p99 ms" api_two "$k" 7 8
		api_line "  pgbench extended p50/p99 ms" api_two "$k" 10 11
		api_line "  service / prepared (req/s)" api_ratio "$k" 3 6
		api_line "    range of the rounds" api_get "$k" 12
		api_line "  service / extended (req/s)" api_ratio "$k" 3 9
		api_line "  service req/s / at $first" api_ratio "$k" 3 3 "$first"
	done
}

table() {
	local n

	printf '\n%-34s' "sagas"
	for n in $results; do printf ' %14s' "$n"; done
	printf '\n'
	row "disk (data directory)" disk
	row "database bytes per saga" bytes_per_saga
	[[ " $parts " == *" db "* ]] && db_rows
	[[ " $parts " == *" api "* ]] && api_rows
	return 0
}

main() {
	local n

	for t in psql pgbench wrk curl kore python3 runuser; do
		command -v "$t" >/dev/null || die "$t is not installed"
	done
	[ -f "$so" ] || die "$so is missing: run make app"
	[ -x "$tool" ] || die "$tool is missing: run make bench-scale"
	mkdir -p "$cache"
	work=$(mktemp -d /tmp/saga-bench-scale.XXXXXX)
	chmod 755 "$work"
	for n in $sizes; do
		if [ -n "${BENCH_SCALE_FILL_ONLY:-}" ]; then
			[ -f "$cache/sagas-$n/filled" ] ||
			    fill "$n" "$cache/sagas-$n"
			continue
		fi
		one_size "$n"
	done
	[ -n "${BENCH_SCALE_FILL_ONLY:-}" ] || table
}

main "$@"
