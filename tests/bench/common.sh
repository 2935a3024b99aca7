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
