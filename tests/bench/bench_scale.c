/*
 * bench_scale: the database side of `make bench-scale` at one history
 * size (bench_scale.sh fills the history and runs the API part).
 *
 *	bench_scale schema DSN		apply the service's migrations
 *	bench_scale measure DSN SAGAS	the measures below, one table
 *
 * measure, on top of the SAGAS sagas already there:
 *   1. ingest: INGEST_SAGAS new sagas (4 events each) through the
 *      applier (2 lanes, the consumer's batch path without Kafka),
 *      events/s; then the same rows are copied out, deleted and COPYed
 *      back in (the raw limit at that size); ingest / COPY is the ratio,
 *      the median of ROUNDS pairs after a warm-up ingest (the cache is
 *      cold after the cluster starts).
 *   2. gauges: store_refresh_gauges() REFRESHES times on a new
 *      connection, as the consumer does every 10 s on its own: the
 *      first (the backend loads its catalog caches), then the median
 *      and max of the others, in ms; and once each the two full-count
 *      statements it replaced.
 *   3. purge while ingesting: retention_purge() of the oldest day of the
 *      history, as the service runs it (resting between batches), in
 *      PURGE_SLICES slices (the horizon moved a quarter day each time),
 *      while the applier ingests; each slice's ingest rate against that
 *      of a window as long without a purge next to it, the median and
 *      range of the pairs.
 * The rows it adds are deleted at the end; the purged day is refilled by
 * bench_scale.sh, so a cached history stays the same across runs.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "applier.h"
#include "gauges.h"
#include "harness.h"
#include "metrics.h"
#include "retention.h"
#include "rfc3339.h"
#include "saga.h"
#include "schema.h"
#include "store.h"

#define INGEST_SAGAS	25000
#define EVENTS_PER_SAGA	4
#define REFRESHES	21
#define ROUNDS		5
#define WARMUP_SAGAS	5000
#define PARTITIONS	8
#define PAYLOAD_MAX	320
#define PURGE_SLICES	4
#define PURGE_SLICE_SEC	(86400 / PURGE_SLICES)

/* An ingest run: what it pushed, what the lanes committed. */
struct ingest {
	struct applier		*applier;
	const char		*tag;
	atomic_llong		 done;
	atomic_int		 failed;
	int64_t			 offsets[PARTITIONS];
	long			 next;		/* saga number */
};

static const char	*statuses[EVENTS_PER_SAGA] = {
	"STARTED", "IN_PROGRESS", "IN_PROGRESS", "COMPLETED"
};

static double
now_s(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "bench_scale: %s: %s\n", what, why);
	exit(1);
}

static PGconn *
db(const char *dsn)
{
	PGconn		*conn;

	conn = PQconnectdb(dsn);
	if (PQstatus(conn) != CONNECTION_OK)
		die(dsn, PQerrorMessage(conn));

	return (conn);
}

static void
exec_ok(PGconn *conn, const char *sql)
{
	PGresult	*res;

	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		die(sql, PQerrorMessage(conn));
	PQclear(res);
}

static double
value(PGconn *conn, const char *sql)
{
	PGresult	*res;
	double		 v;

	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1)
		die(sql, PQerrorMessage(conn));
	v = strtod(PQgetvalue(res, 0, 0), NULL);
	PQclear(res);

	return (v);
}

/* --- ingest through the applier ------------------------------------------ */

static void
ingest_done(void *arg, const struct store_msg *msgs, size_t n,
    const struct store_batch_result *res)
{
	struct ingest	*in = arg;
	size_t		 i;

	(void)res;
	for (i = 0; i < n; i++)
		free(msgs[i].owner);
	atomic_fetch_add(&in->done, (long long)n);
}

static void
ingest_failed(void *arg, const struct store_msg *msgs, size_t n,
    const char *err, int backoff_ms)
{
	struct ingest	*in = arg;

	(void)msgs;
	(void)n;
	(void)backoff_ms;
	if (atomic_fetch_add(&in->failed, 1) == 0)
		fprintf(stderr, "bench_scale: a batch failed (retried): %s\n",
		    err);
}

static void
ingest_dropped(void *arg, const struct store_msg *msgs, size_t n)
{
	size_t		i;

	(void)arg;
	for (i = 0; i < n; i++)
		free(msgs[i].owner);
}

static void
ingest_start(struct ingest *in, const char *dsn, const char *tag)
{
	struct applier_hooks	hooks;
	char			err[512];

	memset(in, 0, sizeof(*in));
	in->tag = tag;
	memset(&hooks, 0, sizeof(hooks));
	hooks.done = ingest_done;
	hooks.failed = ingest_failed;
	hooks.dropped = ingest_dropped;
	hooks.arg = in;
	if ((in->applier = applier_create(dsn, 2, 0, &hooks, err,
	    sizeof(err))) == NULL)
		die("applier", err);
}

/* Push the 4 events of the next saga (recent times). */
static void
ingest_push_saga(struct ingest *in, int64_t at_ms)
{
	struct store_msg	 m;
	char			 when[RFC3339_BUFLEN], *p;
	int			 k;
	int32_t			 part;

	part = (int32_t)(in->next % PARTITIONS);
	for (k = 0; k < EVENTS_PER_SAGA; k++) {
		if ((p = malloc(PAYLOAD_MAX)) == NULL)
			die("payload", "out of memory");
		(void)rfc3339_format(at_ms + k * 1000, when, sizeof(when));
		(void)snprintf(p, PAYLOAD_MAX,
		    "{\"eventId\":\"ing-%s-%09ld-%d\","
		    "\"sagaId\":\"ing-%s-%09ld\","
		    "\"sagaType\":\"ORDER_CHECKOUT\","
		    "\"orderId\":\"order-x%09ld\",\"step\":\"PAYMENT_INIT\","
		    "\"status\":\"%s\",\"occurredAt\":\"%s\"}", in->tag,
		    in->next, k, in->tag, in->next, in->next, statuses[k],
		    when);
		memset(&m, 0, sizeof(m));
		m.partition = part;
		m.offset = in->offsets[part]++;
		m.payload = p;
		m.len = strlen(p);
		m.received_ms = at_ms;
		m.owner = p;
		while (applier_push(in->applier, &m, 1000) == -1)
			;
	}
	in->next++;
}

static void
ingest_wait(struct ingest *in, long long events)
{
	struct timespec	ts = { 0, 1000000 };

	while (atomic_load(&in->done) < events)
		(void)nanosleep(&ts, NULL);
}

/* Ingest sagas new sagas; events per second. */
static double
measure_ingest(const char *dsn, const char *tag, long sagas)
{
	struct ingest	in;
	double		t0, t;
	int64_t		at;
	long		i;

	ingest_start(&in, dsn, tag);
	at = (int64_t)time(NULL) * 1000;
	t0 = now_s();
	for (i = 0; i < sagas; i++)
		ingest_push_saga(&in, at);
	ingest_wait(&in, (long long)sagas * EVENTS_PER_SAGA);
	t = now_s() - t0;
	applier_destroy(in.applier);

	return ((double)sagas * EVENTS_PER_SAGA / t);
}

/* --- COPY of the same rows ---------------------------------------------- */

struct copybuf {
	char		*data;
	size_t		 len;
};

static void
copy_out(PGconn *conn, const char *sql, struct copybuf *b)
{
	PGresult	*res;
	char		*row;
	int		 n;

	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT)
		die(sql, PQerrorMessage(conn));
	PQclear(res);
	memset(b, 0, sizeof(*b));
	while ((n = PQgetCopyData(conn, &row, 0)) > 0) {
		if ((b->data = realloc(b->data, b->len + (size_t)n)) == NULL)
			die("copy", "out of memory");
		memcpy(b->data + b->len, row, (size_t)n);
		b->len += (size_t)n;
		PQfreemem(row);
	}
	res = PQgetResult(conn);
	PQclear(res);
}

static void
copy_in(PGconn *conn, const char *sql, const struct copybuf *b)
{
	PGresult	*res;

	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN)
		die(sql, PQerrorMessage(conn));
	PQclear(res);
	if (PQputCopyData(conn, b->data, (int)b->len) != 1 ||
	    PQputCopyEnd(conn, NULL) != 1)
		die(sql, PQerrorMessage(conn));
	res = PQgetResult(conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		die(sql, PQerrorMessage(conn));
	PQclear(res);
}

static void
delete_tag(PGconn *conn, const char *tag)
{
	char		sql[256];

	(void)snprintf(sql, sizeof(sql), "DELETE FROM saga_event WHERE "
	    "saga_id >= 'ing-%s-' AND saga_id < 'ing-%s.'", tag, tag);
	exec_ok(conn, sql);
	(void)snprintf(sql, sizeof(sql), "DELETE FROM saga_instance WHERE "
	    "saga_id >= 'ing-%s-' AND saga_id < 'ing-%s.'", tag, tag);
	exec_ok(conn, sql);
}

/* The rows ingest wrote, deleted and COPYed back: events per second. */
static double
measure_copy(PGconn *conn, const char *tag, long sagas)
{
	struct copybuf	ev, sg;
	char		sql[256];
	double		t0, t;

	(void)snprintf(sql, sizeof(sql), "COPY (SELECT * FROM saga_event "
	    "WHERE saga_id >= 'ing-%s-' AND saga_id < 'ing-%s.') TO STDOUT",
	    tag, tag);
	copy_out(conn, sql, &ev);
	(void)snprintf(sql, sizeof(sql), "COPY (SELECT * FROM saga_instance "
	    "WHERE saga_id >= 'ing-%s-' AND saga_id < 'ing-%s.') TO STDOUT",
	    tag, tag);
	copy_out(conn, sql, &sg);
	delete_tag(conn, tag);

	t0 = now_s();
	copy_in(conn, "COPY saga_event FROM STDIN", &ev);
	copy_in(conn, "COPY saga_instance FROM STDIN", &sg);
	t = now_s() - t0;

	free(ev.data);
	free(sg.data);

	return ((double)sagas * EVENTS_PER_SAGA / t);
}

/* --- gauges ------------------------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

/* The median of n sorted values. */
static double
sorted_median(const double *v, int n)
{
	if (n % 2 == 1)
		return (v[n / 2]);
	return ((v[n / 2 - 1] + v[n / 2]) / 2);
}

static void
measure_gauges(const char *dsn, PGconn *conn, double *first, double *median,
    double *max, double *full)
{
	struct store	*s;
	double		 t[REFRESHES], t0;
	char		 err[512];
	int		 i;

	if ((s = store_open(dsn, err, sizeof(err))) == NULL)
		die("store", err);
	for (i = 0; i < REFRESHES; i++) {
		t0 = now_s();
		if (store_refresh_gauges(s, err, sizeof(err)) == -1)
			die("refresh", err);
		t[i] = (now_s() - t0) * 1000;
	}
	store_close(s);
	*first = t[0];
	qsort(t + 1, REFRESHES - 1, sizeof(t[0]), cmp_double);
	*median = t[1 + (REFRESHES - 1) / 2];
	*max = t[REFRESHES - 1];

	/* What a refresh was before saga_status_delta. */
	t0 = now_s();
	(void)value(conn, "SELECT count(*) FROM (SELECT status, count(*) "
	    "FROM saga_instance GROUP BY status) AS s");
	(void)value(conn, "SELECT count(*) FROM saga_instance WHERE status "
	    "IN ('FAILED', 'COMPENSATING')");
	*full = (now_s() - t0) * 1000;
}

/* --- purge while ingesting ---------------------------------------------- */

/* One slice of the oldest day, purged in the background. */
struct purge_run {
	const char		*dsn;
	unsigned int		 horizon_sec;
	struct retention_result	 r;
	double			 seconds;
	atomic_int		 finished;
};

/* The pairs of windows, and the totals of the slices. */
struct purge_pairs {
	double			 during[PURGE_SLICES];	/* events/s */
	double			 ratio[PURGE_SLICES];	/* during / without */
	struct retention_result	 r;
	double			 seconds;
};

static void *
purge_main(void *arg)
{
	struct purge_run	*pr = arg;
	struct retention_params	 p;
	PGconn			*conn;
	char			 err[512];
	double			 t0;

	conn = db(pr->dsn);
	memset(&p, 0, sizeof(p));
	p.terminal_sec = pr->horizon_sec;
	p.rest = RETENTION_REST;
	t0 = now_s();
	if (retention_purge(conn, &p, NULL, NULL, NULL, &pr->r, err,
	    sizeof(err)) == -1)
		die("purge", err);
	pr->seconds = now_s() - t0;
	PQfinish(conn);
	atomic_store(&pr->finished, 1);

	return (NULL);
}

/*
 * Events/s the lanes commit while a slice is purged down to horizon_sec
 * of history; the window's length in *secs.
 */
static double
window_purge(struct ingest *in, const char *dsn, unsigned int horizon_sec,
    struct purge_pairs *pp, double *secs)
{
	struct purge_run	pr;
	pthread_t		t;
	long long		before;
	int64_t			at;
	double			t0;

	memset(&pr, 0, sizeof(pr));
	pr.dsn = dsn;
	pr.horizon_sec = horizon_sec;
	at = (int64_t)time(NULL) * 1000;
	before = atomic_load(&in->done);
	t0 = now_s();
	if (pthread_create(&t, NULL, purge_main, &pr) != 0)
		die("purge", "pthread_create");
	while (!atomic_load(&pr.finished))
		ingest_push_saga(in, at);
	(void)pthread_join(t, NULL);
	*secs = now_s() - t0;
	pp->r.sagas += pr.r.sagas;
	pp->r.events += pr.r.events;
	pp->r.batches += pr.r.batches;
	pp->seconds += pr.seconds;

	return ((double)(atomic_load(&in->done) - before) / *secs);
}

/* Events/s the lanes commit in secs of ingest alone. */
static double
window_plain(struct ingest *in, double secs)
{
	long long	before;
	int64_t		at;
	double		t0, t;

	at = (int64_t)time(NULL) * 1000;
	before = atomic_load(&in->done);
	t0 = now_s();
	while ((t = now_s() - t0) < secs)
		ingest_push_saga(in, at);

	return ((double)(atomic_load(&in->done) - before) / t);
}

/*
 * Ingest while the oldest day is purged, PURGE_SLICES slices of it one
 * after the other; each slice's window is paired with one as long
 * without a purge, after it for odd slices and before it for even ones
 * (as long as the slice before), so that the cache warming up over the
 * run favours neither side.  The lanes stay busy throughout.
 */
static void
measure_purge(const char *dsn, PGconn *conn, struct purge_pairs *pp)
{
	struct ingest	in;
	double		oldest, d, w, len;
	unsigned int	horizon;
	int		k;

	oldest = value(conn, "SELECT extract(epoch FROM min(updated_at)) "
	    "FROM saga_instance");
	ingest_start(&in, dsn, "p");
	while (in.next < 2000)
		ingest_push_saga(&in, (int64_t)time(NULL) * 1000);
	len = 0;
	for (k = 1; k <= PURGE_SLICES; k++) {
		horizon = (unsigned int)((double)time(NULL) - oldest -
		    (double)k * PURGE_SLICE_SEC);
		if (k % 2 == 0) {
			w = window_plain(&in, len);
			d = window_purge(&in, dsn, horizon, pp, &len);
		} else {
			d = window_purge(&in, dsn, horizon, pp, &len);
			w = window_plain(&in, len);
		}
		pp->during[k - 1] = d;
		pp->ratio[k - 1] = d / w;
		fprintf(stderr, "bench_scale: purge slice %d of %d: %.1f s, "
		    "%.0f events/s during, %.0f without, %.2f\n", k,
		    PURGE_SLICES, len, d, w, d / w);
	}
	ingest_wait(&in, (long long)in.next * EVENTS_PER_SAGA);
	applier_destroy(in.applier);
}

static void
measure(const char *dsn, long sagas)
{
	struct purge_pairs	pp;
	PGconn			*conn;
	double			ingest, copy, gfirst, gmed, gmax, gfull;
	double			in[ROUNDS], cp[ROUNDS], ratio[ROUNDS];
	char			tag[8];
	int			r;

	harness_metrics_up();
	conn = db(dsn);
	(void)measure_ingest(dsn, "w", WARMUP_SAGAS);
	delete_tag(conn, "w");
	for (r = 0; r < ROUNDS; r++) {
		(void)snprintf(tag, sizeof(tag), "a%d", r);
		in[r] = measure_ingest(dsn, tag, INGEST_SAGAS);
		cp[r] = measure_copy(conn, tag, INGEST_SAGAS);
		ratio[r] = in[r] / cp[r];
		delete_tag(conn, tag);
		fprintf(stderr, "bench_scale: round %d: ingest %.0f events/s, "
		    "COPY %.0f rows/s, %.2f\n", r + 1, in[r], cp[r], ratio[r]);
	}
	qsort(in, ROUNDS, sizeof(in[0]), cmp_double);
	qsort(cp, ROUNDS, sizeof(cp[0]), cmp_double);
	qsort(ratio, ROUNDS, sizeof(ratio[0]), cmp_double);
	ingest = in[ROUNDS / 2];
	copy = cp[ROUNDS / 2];
	measure_gauges(dsn, conn, &gfirst, &gmed, &gmax, &gfull);
	memset(&pp, 0, sizeof(pp));
	measure_purge(dsn, conn, &pp);
	qsort(pp.during, PURGE_SLICES, sizeof(pp.during[0]), cmp_double);
	qsort(pp.ratio, PURGE_SLICES, sizeof(pp.ratio[0]), cmp_double);
	delete_tag(conn, "p");
	exec_ok(conn, "VACUUM saga_instance, saga_event, saga_status_delta");

	printf("sagas %ld\n", sagas);
	printf("ingest_eps %.0f\ncopy_eps %.0f\ningest_ratio %.2f\n"
	    "ingest_ratio_range %.2f-%.2f\n", ingest, copy, ratio[ROUNDS / 2],
	    ratio[0], ratio[ROUNDS - 1]);
	printf("gauges_ms_first %.2f\ngauges_ms_median %.2f\n"
	    "gauges_ms_max %.2f\nfull_count_ms %.1f\n", gfirst, gmed, gmax,
	    gfull);
	printf("purge_sagas %llu\npurge_events %llu\npurge_s %.1f\n"
	    "purge_batches %u\n", (unsigned long long)pp.r.sagas,
	    (unsigned long long)pp.r.events, pp.seconds, pp.r.batches);
	printf("ingest_during_purge_eps %.0f\nduring_purge_ratio %.2f\n"
	    "during_purge_ratio_range %.2f-%.2f\n",
	    sorted_median(pp.during, PURGE_SLICES),
	    sorted_median(pp.ratio, PURGE_SLICES),
	    pp.ratio[0], pp.ratio[PURGE_SLICES - 1]);
	PQfinish(conn);
}

int
main(int argc, char **argv)
{
	struct store	*s;
	char		 err[512];

	if (argc == 3 && strcmp(argv[1], "schema") == 0) {
		if ((s = store_open(argv[2], err, sizeof(err))) == NULL)
			die("schema", err);
		store_close(s);
		return (0);
	}
	if (argc == 4 && strcmp(argv[1], "measure") == 0) {
		measure(argv[2], strtol(argv[3], NULL, 10));
		return (0);
	}

	fprintf(stderr, "usage: bench_scale schema DSN | "
	    "bench_scale measure DSN SAGAS\n");
	return (2);
}
