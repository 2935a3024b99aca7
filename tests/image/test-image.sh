#!/usr/bin/env bash
# test-image.sh: what `make test-image` runs (issue #16).  The image of
# deploy/Dockerfile, built and run the way the Deployment runs it:
#
#  1. builds it with podman (tools/image.sh podman: the base image made
#     from Debian's packages the first time, cached in .build/image/);
#  2. starts, in a network namespace of its own (so nothing collides
#     with whatever else listens on this machine's 8080), a throwaway
#     PostgreSQL cluster and the mock broker (tools/mock-broker.c);
#  3. runs the image in that namespace with the Deployment's settings,
#     read from deploy/kubernetes/deployment.yaml by
#     tests/validate/pod-run.mjs: its user, read-only root filesystem,
#     dropped capabilities, no-new-privileges, limits, environment (the
#     Secret's keys given values for this run), the ConfigMap mounted
#     read-only with kafka.brokers set to the mock broker, /tmp as its
#     sized emptyDir;
#  4. checks: the process runs as the Deployment's non-root user, the
#     root filesystem refuses writes, the startup/liveness and readiness
#     probes answer 200 within the startup probe's budget, an event
#     produced to the broker (kcat) is consumed and served by
#     GET /api/v1/sagas/{sagaId}, /actuator/prometheus serves the text
#     format with the event counted, and the shutdown as the kubelet
#     does it (preStop, then SIGTERM via `podman stop` with what is left
#     of terminationGracePeriodSeconds) exits 0 within the grace period;
#  5. reports the image size and the time taken.
#
# Ends with "N passed, N failed"; exit status 1 if any check failed.
# Everything it starts is stopped and removed on exit, whatever happens.
# Needs root (network namespaces, rootful podman).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
started=$(date +%s)
deployment=deploy/kubernetes/deployment.yaml
configmap=deploy/kubernetes/configmap.yaml
pg_port=5432
tag="saga-image-test-$$"
work=""
netns=""
broker_pid=""
pg_data=""
container=""
passed=0
failed=0

log() { printf 'test-image: %s\n' "$*" >&2; }
die() { printf 'test-image: %s\n' "$*" >&2; exit 1; }
ok() { passed=$((passed + 1)); printf 'ok - %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL - %s\n' "$*"; }

[ "$(id -u)" = 0 ] || die "needs root (ip netns, rootful podman): run it as root"
for p in jq iproute2 podman runc mmdebstrap kcat curl; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="${missing:-} $p"
done
if [ -n "${missing:-}" ]; then
	log "installing$missing"
	apt-get update -q >&2 || die "apt-get update failed (installing$missing)"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends $missing >&2 ||
	    die "apt-get install$missing failed"
fi
for f in .build/tools/mock-broker tests/validate/node_modules/.package-lock.json; do
	[ -e "$f" ] || die "$f is missing: run it through \`make test-image'"
done
for cmd in podman runc kcat curl pg_config psql node; do
	command -v "$cmd" >/dev/null || die "$cmd not found"
done

export CONTAINERS_CONF="$root/deploy/podman/containers.conf"
podman=(podman --runtime runc)
bindir=$(pg_config --bindir)

# nsenter execs the command (ip netns exec forks it: a pid from $! would
# be the wrong process).
in_ns() { nsenter --net="/run/netns/$netns" -- "$@"; }
as_postgres() { runuser -u postgres -- "$@"; }

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$container" ]; then
		if [ "$failed" -gt 0 ] || [ "$rc" != 0 ]; then
			log "the container's last log lines:"
			"${podman[@]}" logs --tail 30 "$container" >&2 2>&1 || true
		fi
		"${podman[@]}" rm -f -t 0 "$container" >/dev/null 2>&1 ||
		    log "could not remove container $container"
	fi
	if [ -n "$broker_pid" ]; then
		kill -TERM "$broker_pid" 2>/dev/null || true
		wait "$broker_pid" 2>/dev/null || true
	fi
	if [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ]; then
		in_ns runuser -u postgres -- "$bindir/pg_ctl" -D "$pg_data" \
		    -m immediate -w stop >/dev/null 2>&1 ||
		    log "could not stop PostgreSQL ($pg_data)"
	fi
	if [ -n "$netns" ]; then
		ip netns del "$netns" 2>/dev/null ||
		    log "could not delete network namespace $netns"
	fi
	[ -z "$work" ] || rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# poll DEADLINE_S CMD...: run CMD until it succeeds or DEADLINE_S pass.
poll() {
	local deadline=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# --- 1. the image ------------------------------------------------------

build_started=$(date +%s)
build_log=.build/image/test-image-build.log
mkdir -p .build/image
log "building the image with podman (log $build_log)"
ref=$(tools/image.sh podman 2>"$build_log" | tail -n 1) ||
    { tail -n 30 "$build_log" >&2; die "the image build failed (log $build_log)"; }
build_s=$(($(date +%s) - build_started))
size=$("${podman[@]}" image inspect --format '{{.Size}}' "$ref") ||
    die "podman image inspect $ref failed"
log "image $ref built in ${build_s}s, $((size / 1000000)) MB"

# --- 2. PostgreSQL and the broker, in a namespace of their own -----------

work=$(mktemp -d /tmp/saga-image-test.XXXXXX)
chmod 755 "$work"
netns="$tag"
ip netns add "$netns" || die "ip netns add $netns failed"
in_ns ip link set lo up || die "bringing lo up in $netns failed"

pg_data="$work/pg/data"
mkdir -p "$pg_data" && chown -R postgres: "$work/pg"
as_postgres "$bindir/initdb" -D "$pg_data" -A trust -U postgres -E UTF8 \
    --no-locale --no-sync >"$work/initdb.log" 2>&1 ||
    die "initdb failed (see $work/initdb.log)"
in_ns runuser -u postgres -- "$bindir/pg_ctl" -D "$pg_data" \
    -l "$work/pg/postgres.log" -o "-p $pg_port -k $pg_data \
    -c listen_addresses=127.0.0.1" -w start >/dev/null ||
    { cat "$work/pg/postgres.log" >&2; die "PostgreSQL did not start"; }
in_ns psql -h 127.0.0.1 -p "$pg_port" -U postgres -qc 'CREATE DATABASE saga' ||
    die "CREATE DATABASE saga failed"

# The topic the Deployment's ConfigMap names.
topic=$(node -e '
	const y = require("./tests/validate/node_modules/yaml");
	const fs = require("fs");
	for (const d of y.parseAllDocuments(fs.readFileSync(process.argv[1], "utf8")))
		for (const v of Object.values(d.toJS()?.data ?? {}))
			console.log(y.parse(v)?.kafka?.topic ?? "");
' "$configmap" | head -n 1)
[ -n "$topic" ] || die "no kafka.topic in $configmap"
nsenter --net="/run/netns/$netns" -- .build/tools/mock-broker -t "$topic" -f "$work/bootstrap" \
    >"$work/broker.log" 2>&1 &
broker_pid=$!
poll 20 test -s "$work/bootstrap" ||
    { cat "$work/broker.log" >&2; die "the mock broker did not start"; }
brokers=$(cat "$work/bootstrap")
log "PostgreSQL 127.0.0.1:$pg_port, broker $brokers (topic $topic), netns $netns"

# --- 3. the container, as the Deployment runs it -------------------------

pod="saga-tracker-$$"
token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
node tests/validate/pod-run.mjs -d "$deployment" -c "$configmap" \
    -w "$work" -p "$pod" \
    -s "db-dsn=host=127.0.0.1 port=$pg_port dbname=saga user=postgres connect_timeout=3" \
    -s "internal-token=$token" \
    -o "saga-tracker.yaml:kafka.brokers=$brokers" >"$work/pod.json" ||
    die "tests/validate/pod-run.mjs could not translate $deployment"
mapfile -t run_args < <(jq -r '.args[]' "$work/pod.json")
grace=$(jq -r .grace "$work/pod.json")
port=$(jq -r .port "$work/pod.json")
user=$(jq -r .user "$work/pod.json")
budget=$(jq -r .startupBudget "$work/pod.json")
mapfile -t pre_stop < <(jq -r '.preStop[]' "$work/pod.json")
url="http://127.0.0.1:$port"

container="$tag"
"${podman[@]}" run -d --name "$container" --network "ns:/run/netns/$netns" \
    "${run_args[@]}" "$ref" >/dev/null ||
    die "podman run $ref failed (arguments: ${run_args[*]})"
run_started=$(date +%s)

# --- 4. the checks -------------------------------------------------------

http_code() { in_ns curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url$1"; }
answers_200() { [ "$(http_code "$1")" = 200 ]; }

probe=$(jq -r .startup "$work/pod.json")
if poll "$budget" answers_200 "$probe"; then
	ok "startup probe GET $probe: 200 after $(($(date +%s) - run_started))s (budget ${budget}s)"
else
	fail "startup probe GET $probe: no 200 within ${budget}s"
fi
for p in liveness readiness; do
	path=$(jq -r ".$p" "$work/pod.json")
	if poll 10 answers_200 "$path"; then
		ok "$p probe GET $path: 200"
	else
		fail "$p probe GET $path: $(http_code "$path")"
	fi
done

pid=$("${podman[@]}" inspect --format '{{.State.Pid}}' "$container")
ids=$(awk '/^Uid:/ { u = $2 } /^Gid:/ { g = $2 } END { print u ":" g }' \
    "/proc/$pid/status" 2>/dev/null || echo "?")
if [ "$ids" = "$user" ] && [ "${ids%%:*}" != 0 ]; then
	ok "runs as the Deployment's non-root user $ids"
else
	fail "runs as $ids, not the Deployment's user $user"
fi

if out=$("${podman[@]}" exec "$container" /bin/sh -c \
    'touch /opt/saga-tracker/probe' 2>&1); then
	fail "the root filesystem is writable (touch /opt/saga-tracker/probe succeeded)"
elif printf '%s' "$out" | grep -q "Read-only file system"; then
	ok "the root filesystem is read-only"
else
	fail "touch on the root filesystem failed, but not as read-only: $out"
fi

saga="img-$$-$(date +%s)"
now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
event=$(jq -cn --arg s "$saga" --arg t "$now" '{eventId: ($s + "-1"),
    sagaId: $s, sagaType: "ORDER_CHECKOUT", orderId: ("order-" + $s),
    step: "PAYMENT_INIT", status: "STARTED", occurredAt: $t}')
if printf '%s:%s\n' "$saga" "$event" |
    in_ns kcat -P -b "$brokers" -t "$topic" -K : 2>"$work/kcat.log"; then
	saga_json() {
		in_ns curl -sf --max-time 5 "$url/api/v1/sagas/$saga" \
		    >"$work/saga.json"
	}
	if poll 60 saga_json; then
		got=$(jq -c '[.sagaId, .status, .currentStep, .orderId,
		    (.events | length), .events[0].eventId]' "$work/saga.json")
		want=$(jq -cn --arg s "$saga" '[$s, "STARTED", "PAYMENT_INIT",
		    ("order-" + $s), 1, ($s + "-1")]')
		if [ "$got" = "$want" ]; then
			ok "event produced to $topic consumed, served by GET /api/v1/sagas/$saga"
		else
			fail "GET /api/v1/sagas/$saga: $got, expected $want"
		fi
	else
		fail "the event produced to $topic was not served by GET /api/v1/sagas/$saga within 60s"
	fi
else
	fail "kcat could not produce to $brokers: $(cat "$work/kcat.log")"
fi

ctype=$(in_ns curl -s --max-time 5 -o "$work/metrics.txt" \
    -w '%{http_code} %{content_type}' "$url/actuator/prometheus" || true)
if [ "$ctype" = "200 text/plain; version=0.0.4; charset=utf-8" ] &&
    grep -q '^saga_tracker_build_info{.*version="'"$(cat VERSION)"'"' \
	"$work/metrics.txt" &&
    grep -E '^saga_events_processed_total\{' "$work/metrics.txt" |
	grep 'step="PAYMENT_INIT"' | grep 'status="STARTED"' |
	grep -qE '\} [1-9]'; then
	ok "GET /actuator/prometheus: text format 0.0.4, build_info $(cat VERSION), the event counted"
else
	fail "GET /actuator/prometheus: '$ctype', build_info or the event's saga_events_processed_total missing"
fi

# The kubelet's shutdown: preStop runs, then SIGTERM; SIGKILL when the
# grace period (counted from preStop's start) is over.
stop_started=$(date +%s)
if [ "${#pre_stop[@]}" -gt 0 ]; then
	"${podman[@]}" exec "$container" "${pre_stop[@]}" ||
	    fail "preStop ${pre_stop[*]} failed"
fi
left=$((grace - ($(date +%s) - stop_started)))
[ "$left" -gt 0 ] || left=1
"${podman[@]}" stop -t "$left" "$container" >/dev/null ||
    fail "podman stop $container failed"
stop_s=$(($(date +%s) - stop_started))
code=$("${podman[@]}" inspect --format '{{.State.ExitCode}}' "$container")
if [ "$code" = 0 ] && [ "$stop_s" -lt "$grace" ]; then
	ok "preStop + SIGTERM: exit 0 after ${stop_s}s (grace ${grace}s)"
else
	fail "preStop + SIGTERM: exit status $code after ${stop_s}s (grace ${grace}s)"
fi

# --- 5. report -----------------------------------------------------------

log "image $ref: $size bytes ($((size / 1000000)) MB); build ${build_s}s," \
    "whole test $(($(date +%s) - started))s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
