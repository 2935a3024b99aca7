# common.sh: shell helpers of the benchmark scripts (sourced, not run).
# The caller sets bench_name before sourcing it.

log() { printf '%s: %s\n' "$bench_name" "$*" >&2; }
die() { log "$*"; exit 1; }

# Run a command as the postgres user when root (initdb refuses root).
as_postgres() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# A loopback TCP port that was free a moment ago.
free_port() {
	python3 -c 'import socket; s = socket.socket();
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wrk's "12.3ms", "850.00us", "1.02s", "1.5m" -> milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000;
		else if (u == "m") n *= 60000;
		printf "%.2f", n }'
}

# Remove the work directory $work, or keep it (BENCH_KEEP=1) and say so.
remove_work() {
	[ -n "$work" ] || return 0
	if [ -n "${BENCH_KEEP:-}" ]; then
		log "kept $work"
	else
		rm -rf "$work"
	fi
}

# The median and the mean of the arguments.
median() {
	tr ' ' '\n' <<<"$*" | sort -g | awk '{ v[NR] = $1 }
	    END { if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

mean() {
	tr ' ' '\n' <<<"$*" | awk '{ s += $1 } END { printf "%.1f\n", s / NR }'
}

# "lowest-highest" of the arguments.
range() {
	tr ' ' '\n' <<<"$*" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 }
	    END { printf "%s-%s\n", lo, hi }'
}

# capture_statements NAME URL LOG: the statements one GET of URL makes
# the service send, taken from the PostgreSQL log LOG, as the pgbench
# script $work/NAME.sql and its variables (NAME=VALUE lines) in
# $work/NAME.vars: pgbench runs exactly what the service sends.  The
# caller defines psql_q.  PostgreSQL logs every statement meanwhile; a
# backend takes that setting at its next command, and may write the line
# after the client has its answer, so the log is watched for a while
# and the request sent again until its statement is there.
capture_statements() {
	local name=$1 url=$2 plog=$3 from try poll found=0

	psql_q -c 'ALTER SYSTEM SET log_min_duration_statement = 0' \
	    -c 'SELECT pg_reload_conf()' >/dev/null
	for try in $(seq 20); do
		from=$(stat -c %s "$plog")
		curl -fs -o /dev/null "$url" || die "$url failed"
		for poll in $(seq 20); do
			if statements_from "$name" "$plog" "$from"; then
				found=1
				break 2
			fi
			sleep 0.05
		done
	done
	psql_q -c 'ALTER SYSTEM RESET log_min_duration_statement' \
	    -c 'SELECT pg_reload_conf()' >/dev/null
	[ "$found" = 1 ] || die "$url: no statement in the PostgreSQL log"
}

# statements_from NAME LOG FROM: the API's statements in LOG from byte
# FROM on into $work/NAME.sql and .vars; false when there is none.
# Only SELECT row_to_json ones (the consumer's gauge refresh may run
# meanwhile); a DETAIL line belongs to the statement before it; $N
# becomes the variable :sKpN of the K-th statement.
statements_from() {
	local name=$1 plog=$2 from=$3 line params p n v k=0 keep=0

	: >"$work/$name.sql"
	: >"$work/$name.vars"
	while IFS= read -r line; do
		# "execute st_...: " (prepared), "execute <unnamed>: ".
		if [[ $line == *"  execute "*": "* ]]; then
			keep=0
			[[ $line == *"  execute "*": SELECT row_to_json"* ]] ||
			    continue
			keep=1
			k=$((k + 1))
			printf '%s;\n' "${line#*  execute *: }" \
			    >>"$work/$name.sql"
			continue
		fi
		[ "$keep" = 1 ] || continue
		params=${line#*parameters: }
		while read -r p; do
			n=${p%% =*}
			n=${n#\$}
			v=${p#*= \'}
			v=${v%\'}
			v=${v//\'\'/\'}
			sed -i "\$s/\\\$$n\\b/:s${k}p$n/g" "$work/$name.sql"
			printf 's%dp%s=%s\n' "$k" "$n" "$v" >>"$work/$name.vars"
		done < <(grep -o "\\\$[0-9]\+ = '[^']*'" <<<"$params" |
		    sort -t' ' -k1,1 -r -V)
	done < <(tail -c +"$((from + 1))" "$plog" | grep -a -E \
	    '  execute [^ ]+: |DETAIL:  parameters: ')
	[ "$k" -ge 1 ]
}
