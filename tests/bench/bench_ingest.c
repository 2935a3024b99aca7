/*
 * bench_ingest: events per second through the whole pipeline (mock
 * broker -> consumer -> PostgreSQL), against the raw limit measured in
 * the same run: COPY of the very rows the service wrote into the same
 * tables of a fresh database.
 *
 *	bench_ingest [sagas]		(5 events each; default 10000)
 *
 * The events are produced before the service starts, so the measured
 * window (first stored event to last) is consumption alone.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "harness.h"
#include "store.h"

#define EVENTS_PER_SAGA	5
#define PRODUCE_CHUNK	5000

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
			    asprintf(&payloads[n], "{\"eventId\":\"bench-%ld-%d\","
			    "\"sagaId\":\"bench-%ld\",\"sagaType\":\"ORDER_CHECKOUT\","
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

/* Seconds from the first stored event to the last of want. */
static double
bench_consume(struct harness_env *env, long want)
{
	struct timespec	 nap = { 0, 50 * 1000000L };
	PGconn		*conn;
	double		 start, end;
	int64_t		 n;

	if (PQstatus(conn = PQconnectdb(env->pg_dsn)) != CONNECTION_OK)
		bench_die(env->pg_dsn, PQerrorMessage(conn));
	PQclear(PQexec(conn, "SET client_min_messages = error"));

	harness_service_start(env);
	start = 0;
	while ((n = bench_count(conn)) < want) {
		if (n > 0 && start == 0)
			start = bench_now();
		if (start != 0 && bench_now() - start > 600)
			bench_die("consume", "not all events stored in 600 s");
		nanosleep(&nap, NULL);
	}
	end = bench_now();
	PQfinish(conn);

	return (end - start);
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
	PQclear(res = PQexec(src, "CREATE DATABASE bench_copy"));
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

int
main(int argc, char **argv)
{
	struct harness_env	env;
	long			sagas, events;
	double			e2e, copy, e2e_rate, copy_rate;

	sagas = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
	if (sagas <= 0)
		bench_die("sagas", "must be a positive number");
	events = sagas * EVENTS_PER_SAGA;

	memset(&env, 0, sizeof(env));
	harness_up(&env, HARNESS_PG | HARNESS_BROKER);
	bench_produce(&env, sagas);
	e2e = bench_consume(&env, events);
	bench_statements(&env);
	copy = bench_copy(&env);
	harness_down(&env);

	e2e_rate = (double)events / e2e;
	copy_rate = (double)events / copy;
	printf("ingest_events            %ld (%ld sagas)\n", events, sagas);
	printf("ingest_end_to_end        %.2f s  %.0f events/s\n", e2e,
	    e2e_rate);
	printf("copy_same_rows           %.2f s  %.0f events/s\n", copy,
	    copy_rate);
	printf("ratio_end_to_end_vs_copy %.2f (target >= 0.50)\n",
	    e2e_rate / copy_rate);

	return (0);
}
