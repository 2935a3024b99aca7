/*
 * bench_ingest: events per second through the whole pipeline (mock
 * broker -> consumer -> PostgreSQL), against the raw limit measured in
 * the same run: COPY of the very rows the service wrote into the same
 * tables of a fresh database.
 *
 *	bench_ingest [sagas] [rounds]	(5 events each; 10000, 3)
 *
 * The events are produced once, before the service starts, so the
 * measured window (first stored event to last) is consumption alone.
 * Each round empties the tables and consumes everything again under a
 * new consumer group, then times the COPY; the median of the rounds'
 * ratios is the result (this VM's speed drifts between seconds).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "harness.h"
#include "store.h"

#define EVENTS_PER_SAGA	5
#define PRODUCE_CHUNK	5000
#define ROUNDS_MAX	9

struct copybuf {
	char		*data;
	size_t		 len;
};

static const char	*bench_statuses[EVENTS_PER_SAGA] = {
	"STARTED", "IN_PROGRESS", "FAILED", "COMPENSATING", "COMPENSATED"
};

static double
bench_now(void)
{
	struct timespec		ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static void
bench_die(const char *what, const char *why)
{
	fprintf(stderr, "bench_ingest: %s: %s\n", what, why);
	exit(1);
}

static void
bench_produce(const struct harness_env *env, long sagas)
{
	char		**keys, **payloads;
	long		  i, n, total;
	int		  k;

	keys = calloc(PRODUCE_CHUNK, sizeof(char *));
	payloads = calloc(PRODUCE_CHUNK, sizeof(char *));
	if (keys == NULL || payloads == NULL)
		bench_die("produce", "out of memory");

	for (i = 0, n = 0, total = 0; i < sagas; i++) {
		for (k = 0; k < EVENTS_PER_SAGA; k++, n++) {
			if (asprintf(&keys[n], "bench-%ld", i) == -1 ||
			    asprintf(&payloads[n],
			    "{\"eventId\":\"bench-%ld-%d\","
			    "\"sagaId\":\"bench-%ld\","
			    "\"sagaType\":\"ORDER_CHECKOUT\","
			    "\"orderId\":\"o-%ld\",\"step\":\"PAYMENT_INIT\","
			    "\"status\":\"%s\",\"occurredAt\":"
			    "\"2026-11-27T10:00:0%d.000Z\"%s}", i, k, i, i,
			    bench_statuses[k], k, k == 2 ? ",\"metadata\":"
			    "{\"failureReason\":\"Card declined\"}" : "") == -1)
				bench_die("produce", "out of memory");
		}
		if (n + EVENTS_PER_SAGA > PRODUCE_CHUNK || i == sagas - 1) {
			if (harness_produce(env, "saga.events", keys, payloads,
			    (size_t)n) == -1)
				bench_die("produce", "delivery failed");
			total += n;
			while (n > 0) {
				n--;
				free(keys[n]);
				free(payloads[n]);
			}
		}
	}
	free(keys);
	free(payloads);
	fprintf(stderr, "bench_ingest: produced %ld events\n", total);
}

static int64_t
bench_count(PGconn *conn)
{
	PGresult	*res;
	int64_t		 n;

	res = PQexec(conn, "SELECT count(*) FROM saga_event");
	n = PQresultStatus(res) == PGRES_TUPLES_OK ?
	    strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);

	return (n);
}

/*
 * Seconds from the first stored event to the last of want, consumed
 * from the start by a new consumer group into empty tables.  Progress
 * is the service's own count of events applied (it counts after
 * COMMIT), which costs it a scrape; a count(*) every 50 ms would cost
 * PostgreSQL a scan of the growing table.  The table is counted once at
 * the end.
 */
static double
bench_consume(struct harness_env *env, long want, int round)
{
	PGconn		*conn;
	double		 start, end, n;
	char		 group[64];

	if (PQstatus(conn = PQconnectdb(env->pg_dsn)) != CONNECTION_OK)
		bench_die(env->pg_dsn, PQerrorMessage(conn));
	PQclear(PQexec(conn, "SET client_min_messages = error"));
	PQclear(PQexec(conn, "TRUNCATE saga_event, saga_instance, "
	    "saga_event_rejected"));

	(void)snprintf(group, sizeof(group), "  group: bench-round-%d", round);
	harness_yaml_edit(env, "group:", group);
	harness_service_start(env);
	start = 0;
	while ((n = harness_metric(env, "saga_events_processed_total")) <
	    (double)want) {
		if (n > 0 && start == 0)
			start = bench_now();
		if (start != 0 && bench_now() - start > 600)
			bench_die("consume", "not all events stored in 600 s");
		harness_sleep_ms(20);
	}
	end = bench_now();

	if (bench_count(conn) != want)
		bench_die("consume", "the service counted events the table "
		    "does not have");
	PQfinish(conn);

	return (end - start);
}

static void
bench_service_stop(struct harness_env *env)
{
	int		status, elapsed;

	if (harness_service_stop(env, &status, &elapsed) != 0 || status != 0)
		bench_die("service", "did not stop cleanly");
	(void)unlink(env->service_yaml);
}

static void
bench_copy_out(PGconn *conn, const char *table, struct copybuf *b)
{
	PGresult	*res;
	char		 sql[128], *row;
	int		 len;

	(void)snprintf(sql, sizeof(sql), "COPY %s TO STDOUT", table);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT)
		bench_die(sql, PQerrorMessage(conn));
	PQclear(res);

	while ((len = PQgetCopyData(conn, &row, 0)) > 0) {
		b->data = realloc(b->data, b->len + (size_t)len);
		if (b->data == NULL)
			bench_die(sql, "out of memory");
		memcpy(b->data + b->len, row, (size_t)len);
		b->len += (size_t)len;
		PQfreemem(row);
	}
	PQclear(PQgetResult(conn));
}

static void
bench_copy_in(PGconn *conn, const char *table, const struct copybuf *b)
{
	PGresult	*res;
	char		 sql[128];

	(void)snprintf(sql, sizeof(sql), "COPY %s FROM STDIN", table);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN)
		bench_die(sql, PQerrorMessage(conn));
	PQclear(res);
	if (PQputCopyData(conn, b->data, (int)b->len) != 1 ||
	    PQputCopyEnd(conn, NULL) != 1)
		bench_die(sql, PQerrorMessage(conn));
	res = PQgetResult(conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		bench_die(sql, PQerrorMessage(conn));
	PQclear(res);
}

/* COPY the service's rows into a fresh database with the same schema. */
static double
bench_copy(const struct harness_env *env)
{
	struct copybuf	 events, sagas;
	struct store	*store;
	PGconn		*src, *dst;
	PGresult	*res;
	char		 dsn[700], err[512];
	double		 start, end;

	memset(&events, 0, sizeof(events));
	memset(&sagas, 0, sizeof(sagas));
	if (PQstatus(src = PQconnectdb(env->pg_dsn)) != CONNECTION_OK)
		bench_die(env->pg_dsn, PQerrorMessage(src));
	bench_copy_out(src, "saga_event", &events);
	bench_copy_out(src, "saga_instance", &sagas);
	PQclear(PQexec(src, "SET client_min_messages = error"));
	PQclear(PQexec(src, "DROP DATABASE IF EXISTS bench_copy"));
	res = PQexec(src, "CREATE DATABASE bench_copy");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		bench_die("CREATE DATABASE bench_copy", PQerrorMessage(src));
	PQclear(res);
	PQfinish(src);

	(void)snprintf(dsn, sizeof(dsn), "%s dbname=bench_copy", env->pg_dsn);
	if ((store = store_open(dsn, err, sizeof(err))) == NULL)
		bench_die(dsn, err);
	store_close(store);

	if (PQstatus(dst = PQconnectdb(dsn)) != CONNECTION_OK)
		bench_die(dsn, PQerrorMessage(dst));
	start = bench_now();
	PQclear(PQexec(dst, "BEGIN"));
	bench_copy_in(dst, "saga_event", &events);
	bench_copy_in(dst, "saga_instance", &sagas);
	PQclear(PQexec(dst, "COMMIT"));
	end = bench_now();
	PQfinish(dst);

	free(events.data);
	free(sagas.data);

	return (end - start);
}

/* Where the consumer's database time went, from the service's metrics. */
static void
bench_statements(const struct harness_env *env)
{
	struct harness_reply	 r;
	const char		*p, *prefix;

	prefix = "saga_tracker_db_query_seconds_sum{query=\"";
	if (harness_http(env->service_port, "GET", "/actuator/prometheus",
	    NULL, NULL, &r) != 0)
		return;
	for (p = strstr(r.body, prefix); p != NULL;
	    p = strstr(p + 1, prefix)) {
		p += strlen(prefix);
		printf("  db_seconds %-22.*s %.*s\n", (int)strcspn(p, "\""),
		    p, (int)strcspn(strchr(p, ' ') + 1, "\n"),
		    strchr(p, ' ') + 1);
	}
	harness_reply_free(&r);
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

int
main(int argc, char **argv)
{
	struct harness_env	env;
	long			sagas, events;
	int			rounds, r;
	double			e2e, copy, ratio[ROUNDS_MAX];

	sagas = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
	rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 3;
	if (sagas <= 0)
		bench_die("sagas", "must be a positive number");
	if (rounds < 1 || rounds > ROUNDS_MAX)
		bench_die("rounds", "must be in 1..9");
	events = sagas * EVENTS_PER_SAGA;

	memset(&env, 0, sizeof(env));
	harness_up(&env, HARNESS_PG | HARNESS_BROKER);
	bench_produce(&env, sagas);
	printf("ingest_events            %ld (%ld sagas)\n", events, sagas);
	for (r = 0; r < rounds; r++) {
		e2e = bench_consume(&env, events, r);
		if (r == rounds - 1)
			bench_statements(&env);
		bench_service_stop(&env);
		copy = bench_copy(&env);
		ratio[r] = copy / e2e;
		printf("round %d  end_to_end %.2f s %6.0f events/s  "
		    "copy %.2f s %6.0f events/s  ratio %.2f\n", r + 1, e2e,
		    (double)events / e2e, copy, (double)events / copy,
		    ratio[r]);
	}
	harness_down(&env);

	qsort(ratio, (size_t)rounds, sizeof(ratio[0]), cmp_double);
	printf("ratio_end_to_end_vs_copy %.2f median of %d (target >= 0.50)\n",
	    ratio[rounds / 2], rounds);

	return (0);
}
