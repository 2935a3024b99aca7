/*
 * Integration: the store against a real PostgreSQL: the batch
 * transaction (src/store.c and the modules it uses: batch, sagarows,
 * deadletter, tallycommit), the gauge refresh (src/gauges.c), the
 * manual transition (src/transition.c) and the schema (src/schema.c).
 * Every test works in its own fresh database and its own metrics
 * segment, so the tests are independent of each other and of their
 * order.
 *
 * The workload is generated from a fixed seed: 1,000 sagas of 10 events
 * each (realistic step sequences; 75% complete, 20% fail and half of
 * those are compensated, 5% complete and then fail), 500 redeliveries of
 * random events, 100 poison payloads, shuffled and numbered as if they
 * came from 4 partitions.  The expected rows and counters are computed
 * here by applying each saga's events, in their canonical order, to a
 * fresh saga_state.
 */

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "applier.h"
#include "gauges.h"
#include "harness.h"
#include "metrics.h"
#include "metrics_render.h"
#include "outcome.h"
#include "rfc3339.h"
#include "saga.h"
#include "sagastate.h"
#include "schema.h"
#include "store.h"
#include "tallycommit.h"
#include "transition.h"

#define GEN_SEED	0x5a6a7472ac1d5eedULL
#define GEN_SAGAS	1000
#define GEN_PER_SAGA	10
#define GEN_EVENTS	(GEN_SAGAS * GEN_PER_SAGA)
#define GEN_DUPS	500
#define GEN_POISON	100
#define GEN_MSGS	(GEN_EVENTS + GEN_DUPS + GEN_POISON)
#define GEN_PARTITIONS	4
#define GEN_T0_MS	1767225600000LL	/* 2026-01-01T00:00:00Z */
#define GEN_RECEIVED_MS	1798761600000LL	/* 2027-01-01T00:00:00Z */
#define BATCH		500
#define PROCESSED_MAX	128

enum gen_kind {
	KIND_COMPLETED,
	KIND_FAILED,
	KIND_COMPENSATING,
	KIND_COMPENSATED,
	KIND_CONFLICT,
	KIND_CONFLICT_COMPENSATED
};

struct gen_payload {
	char		*data;
	size_t		 len;
	int		 reason;	/* what saga_event_parse must say */
};

struct processed {
	char		 step[SAGA_STEP_MAX + 1];
	int		 status;
	uint64_t	 n;
};

struct expect {
	struct saga_state	sagas[GEN_SAGAS];
	uint64_t		failed;
	uint64_t		compensated;
	uint64_t		conflict;
	uint64_t		durations;
	uint64_t		rejected[SAGA_REJECT_COUNT];
	double			last_failed;
	struct processed	processed[PROCESSED_MAX];
	size_t			nprocessed;
};

struct gen {
	uint64_t		rng;
	struct gen_payload	events[GEN_EVENTS];	/* canonical */
	struct gen_payload	poison[GEN_POISON];
	struct store_msg	msgs[GEN_MSGS];		/* delivered */
	struct expect		expect;
};

struct worker {
	const char		*dsn;
	struct store_msg	*msgs;
	size_t			 n;
	size_t			 batch;
	int			 failures;
	char			 err[512];
};

static const char *const forward_steps[GEN_PER_SAGA] = {
	"ORDER_CREATE", "STOCK_RESERVE", "STOCK_RESERVE", "PAYMENT_INIT",
	"PAYMENT_AUTHORIZE", "PAYMENT_CAPTURE", "SHIPPING_BOOK",
	"SHIPPING_LABEL", "NOTIFY_CUSTOMER", "ORDER_COMPLETE"
};

static const char *const undo_steps[] = {
	"PAYMENT_REFUND", "STOCK_RELEASE", "SHIPPING_CANCEL", "ORDER_CANCEL"
};

static const char *const saga_types[] = {
	"ORDER_CHECKOUT", "ORDER_RETURN", "SUBSCRIPTION_RENEW"
};

static const char *const failure_reasons[] = {
	"card declined", "out of stock", "carrier \"timeout\"",
	"fraud check: C:\\rules\\r7 said no"
};

const struct harness_suite	harness_suite = {
	HARNESS_PG, NULL, NULL
};

/* --- database and metrics per test ------------------------------------- */

static uint64_t
counter(enum metrics_family family, const char *a, const char *b)
{
	struct metrics_series	 s;
	const char		*values[2];

	values[0] = a;
	values[1] = b;
	cr_assert_eq(metrics_series_lookup(family, a != NULL ? values : NULL,
	    &s), 0, "no series %d {%s,%s}", (int)family, a ? a : "",
	    b ? b : "");

	return (metrics_counter_value(s));
}

static double
gauge(enum metrics_family family, const char *a)
{
	struct metrics_series	 s;

	cr_assert_eq(metrics_series_lookup(family, a != NULL ? &a : NULL,
	    &s), 0, "no series %d {%s}", (int)family, a ? a : "");

	return (metrics_gauge_value(s));
}

/*
 * The exposition without what moves by itself: the
 * saga_tracker_db_query_seconds histogram and the *_age_seconds gauges.
 */
static char *
render_saga_metrics(void)
{
	char		*text, *out, *line, *next;
	size_t		 len, olen;

	text = metrics_render(&len);
	cr_assert_not_null(text, "metrics_render failed");
	out = calloc(1, len + 1);
	cr_assert_not_null(out);

	olen = 0;
	for (line = text; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		next = next != NULL ? next + 1 : line + strlen(line);
		if (strstr(line, "saga_tracker_db_query_seconds") != NULL &&
		    strstr(line, "saga_tracker_db_query_seconds") < next)
			continue;
		if (strstr(line, "_age_seconds") != NULL &&
		    strstr(line, "_age_seconds") < next)
			continue;
		memcpy(out + olen, line, (size_t)(next - line));
		olen += (size_t)(next - line);
	}
	free(text);

	return (out);
}

/* The value of the sample series (name and labels) in the exposition. */
static uint64_t
exposition_value(const char *series)
{
	char		*text, *p, key[192];
	uint64_t	 n;
	size_t		 len;

	text = metrics_render(&len);
	cr_assert_not_null(text);
	(void)snprintf(key, sizeof(key), "\n%s ", series);
	p = strstr(text, key);
	cr_assert_not_null(p, "no %s in the exposition", series);
	n = strtoull(p + strlen(key), NULL, 10);
	free(text);

	return (n);
}

static uint64_t
histogram_count(const char *name)
{
	char		series[128];

	(void)snprintf(series, sizeof(series), "%s_count", name);

	return (exposition_value(series));
}

/* --- the workload ------------------------------------------------------ */

static uint64_t
rnd(struct gen *g)
{
	uint64_t	z;

	z = (g->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;

	return (z ^ (z >> 31));
}

static enum gen_kind
gen_kind(struct gen *g)
{
	unsigned int	r;

	r = (unsigned int)(rnd(g) % 100);
	if (r < 75)
		return (KIND_COMPLETED);
	if (r < 80)
		return (KIND_FAILED);
	if (r < 85)
		return (KIND_COMPENSATING);
	if (r < 95)
		return (KIND_COMPENSATED);
	if (r < 98)
		return (KIND_CONFLICT);

	return (KIND_CONFLICT_COMPENSATED);
}

/* Status and step of event j of a saga of this kind; k: failure point. */
static enum saga_status
gen_status(enum gen_kind kind, int j, int k, const char **step)
{
	*step = forward_steps[j];
	if (j == 0)
		return (SAGA_STARTED);

	switch (kind) {
	case KIND_COMPLETED:
		return (j == 9 ? SAGA_COMPLETED : SAGA_IN_PROGRESS);
	case KIND_FAILED:
		return (j == 9 ? SAGA_FAILED : SAGA_IN_PROGRESS);
	case KIND_CONFLICT:
		if (j == 9)
			*step = "ORDER_COMPLETE";
		return (j == 8 ? SAGA_COMPLETED : j == 9 ? SAGA_FAILED :
		    SAGA_IN_PROGRESS);
	case KIND_CONFLICT_COMPENSATED:
		if (j >= 8)
			*step = j == 9 ? "ORDER_CANCEL" : "ORDER_COMPLETE";
		return (j == 7 ? SAGA_COMPLETED : j == 8 ? SAGA_FAILED :
		    j == 9 ? SAGA_COMPENSATED : SAGA_IN_PROGRESS);
	default:
		break;
	}

	/* COMPENSATING, COMPENSATED: forward to k, FAILED, then undo. */
	if (j < k)
		return (SAGA_IN_PROGRESS);
	if (j == k)
		return (SAGA_FAILED);
	*step = undo_steps[(j - k - 1) % 4];
	if (kind == KIND_COMPENSATED && j == 9) {
		*step = "ORDER_CANCEL";
		return (SAGA_COMPENSATED);
	}

	return (SAGA_COMPENSATING);
}

static json_t *
gen_metadata(struct gen *g, int i, int j, enum saga_status st)
{
	switch (st) {
	case SAGA_FAILED:
		return (json_pack("{s:s, s:i}", "failureReason",
		    failure_reasons[i % 4], "code", 400 + i % 7));
	case SAGA_COMPENSATING:
		if (j % 2 == 0)
			return (json_pack("{s:s}", "failureReason",
			    "rolling back"));
		return (NULL);
	case SAGA_COMPENSATED:
		return (json_pack("{s:b, s:f}", "refunded", 1, "amount",
		    12.5));
	default:
		break;
	}

	if (j % 3 == 0)
		return (json_pack("{s:i, s:s, s:[i,i]}", "attempt",
		    (int)(rnd(g) % 3), "note",
		    "quote \" backslash \\ {brace}, ünïcödé", "ids", i, j));

	return (NULL);
}

static void
gen_event_id(int i, int j, char *buf, size_t len)
{
	if (i == 7 && j == 3)
		(void)snprintf(buf, len, "NULL");
	else if (i == 8 && j == 4)
		(void)snprintf(buf, len, "{\"odd\",\\id} %d", i);
	else if (i == 9 && j == 5)
		(void)snprintf(buf, len, "ünï cödé ✓ %d-%d", i, j);
	else
		(void)snprintf(buf, len, "evt-%04d-%02d", i, j);
}

static void
gen_payload_set(struct gen_payload *p, json_t *obj)
{
	p->data = json_dumps(obj, JSON_COMPACT);
	cr_assert_not_null(p->data);
	p->len = strlen(p->data);
	json_decref(obj);
}

static void
gen_saga(struct gen *g, int i)
{
	json_t			*obj, *meta;
	enum gen_kind		 kind;
	enum saga_status	 st;
	const char		*step;
	char			 id[128], sid[32], when[RFC3339_BUFLEN];
	char			 order[64], trace[32];
	int64_t			 t;
	int			 j, k;

	kind = gen_kind(g);
	k = 3 + (int)(rnd(g) % 4);
	t = GEN_T0_MS + (int64_t)i * 37000;
	(void)snprintf(sid, sizeof(sid), "saga-%04d", i);
	if (i % 50 == 0)
		(void)snprintf(order, sizeof(order), "ord-\"%d\"\\x,{y}", i);
	else
		(void)snprintf(order, sizeof(order), "ord-%05d", i);

	for (j = 0; j < GEN_PER_SAGA; j++) {
		st = gen_status(kind, j, k, &step);
		/* A tie on occurredAt now and then. */
		if (!(i % 20 == 0 && j == 2))
			t += 1000 + (int64_t)(rnd(g) % 4000);
		gen_event_id(i, j, id, sizeof(id));
		cr_assert_eq(rfc3339_format(t, when, sizeof(when)), 0);

		obj = json_pack("{s:s, s:s, s:s, s:s, s:s}", "eventId", id,
		    "sagaId", sid, "step", step, "status",
		    saga_status_name(st), "occurredAt", when);
		if ((j == 0 && i % 2 == 0) || (j == 1 && i % 2 == 1))
			json_object_set_new(obj, "sagaType",
			    json_string(saga_types[i % 3]));
		if (j == 5)
			json_object_set_new(obj, "sagaType",
			    json_string("LATE_TYPE"));
		if (j > 0 || i % 3 != 0)
			json_object_set_new(obj, "orderId",
			    json_string(order));
		if (j % 2 == 0) {
			(void)snprintf(trace, sizeof(trace), "trace-%04d-%d",
			    i, j);
			json_object_set_new(obj, "traceId",
			    json_string(trace));
		}
		if ((meta = gen_metadata(g, i, j, st)) != NULL)
			json_object_set_new(obj, "metadata", meta);
		if (j == 6)
			json_object_set_new(obj, "unknownField",
			    json_string("ignored"));
		gen_payload_set(&g->events[i * GEN_PER_SAGA + j], obj);
	}
}

static void
gen_poison(struct gen *g, int p)
{
	struct gen_payload	*gp;
	char			 buf[512];

	gp = &g->poison[p];
	switch (p % 6) {
	case 0:
		(void)snprintf(buf, sizeof(buf),
		    "{\"eventId\":\"bad-%d\",\"sagaId\":", p);
		gp->reason = SAGA_REJECT_INVALID_JSON;
		break;
	case 1:
		(void)snprintf(buf, sizeof(buf), "{\"eventId\":\"bad-%d\","
		    "\"step\":\"X\",\"status\":\"STARTED\","
		    "\"occurredAt\":\"2026-01-01T00:00:00Z\"}", p);
		gp->reason = SAGA_REJECT_MISSING_FIELD;
		break;
	case 2:
		(void)snprintf(buf, sizeof(buf), "{\"eventId\":\"bad-%d\","
		    "\"sagaId\":\"saga-0001\",\"step\":\"X\","
		    "\"status\":\"DONE\","
		    "\"occurredAt\":\"2026-01-01T00:00:00Z\"}", p);
		gp->reason = SAGA_REJECT_INVALID_FIELD;
		break;
	case 3:
		(void)snprintf(buf, sizeof(buf), "{\"eventId\":\"bad-%d\","
		    "\"sagaId\":\"saga-0001\",\"step\":\"X\","
		    "\"status\":\"FAILED\","
		    "\"occurredAt\":\"2026-02-30T10:00:00Z\"}", p);
		gp->reason = SAGA_REJECT_INVALID_FIELD;
		break;
	case 4:
		(void)snprintf(buf, sizeof(buf), "[1,2,%d]", p);
		gp->reason = SAGA_REJECT_NOT_OBJECT;
		break;
	default:
		(void)snprintf(buf, sizeof(buf), "\xff\xfe{\"p\":%d}", p);
		gp->reason = SAGA_REJECT_INVALID_UTF8;
		break;
	}

	gp->data = strdup(buf);
	cr_assert_not_null(gp->data);
	gp->len = strlen(buf);
}

static void
gen_expect_processed(struct expect *e, const struct saga_event *ev)
{
	size_t		i;

	for (i = 0; i < e->nprocessed; i++) {
		if (strcmp(e->processed[i].step, ev->step) == 0 &&
		    e->processed[i].status == (int)ev->status) {
			e->processed[i].n++;
			return;
		}
	}

	cr_assert_lt(e->nprocessed, PROCESSED_MAX);
	(void)snprintf(e->processed[i].step, sizeof(e->processed[i].step),
	    "%s", ev->step);
	e->processed[i].status = (int)ev->status;
	e->processed[i].n = 1;
	e->nprocessed++;
}

/* The reference: each saga's events in canonical order. */
static void
gen_expect(struct gen *g)
{
	struct expect		*e;
	struct saga_event	 ev;
	struct saga_delta	 d;
	char			 detail[SAGA_DETAIL_MAX];
	int			 i, j, rc;

	e = &g->expect;
	for (i = 0; i < GEN_SAGAS; i++) {
		saga_state_init(&e->sagas[i]);
		for (j = 0; j < GEN_PER_SAGA; j++) {
			rc = saga_event_parse(g->events[i * GEN_PER_SAGA +
			    j].data, g->events[i * GEN_PER_SAGA + j].len, &ev,
			    detail, sizeof(detail));
			cr_assert_eq(rc, SAGA_REJECT_NONE, "saga %d event %d "
			    "invalid: %s", i, j, detail);
			cr_assert_eq(saga_state_apply(&e->sagas[i], &ev, &d),
			    0);
			e->failed += (uint64_t)d.failed;
			e->compensated += (uint64_t)d.compensated;
			e->conflict += (uint64_t)d.conflict;
			e->durations += (uint64_t)d.observe_duration;
			if (ev.status == SAGA_FAILED)
				e->last_failed = fmax(e->last_failed,
				    (double)ev.occurred_at / 1000.0);
			gen_expect_processed(e, &ev);
			saga_event_free(&ev);
		}
	}

	for (i = 0; i < GEN_POISON; i++) {
		rc = saga_event_parse(g->poison[i].data, g->poison[i].len, &ev,
		    detail, sizeof(detail));
		cr_assert_eq(rc, g->poison[i].reason, "poison %d: reason %d, "
		    "want %d (%s)", i, rc, g->poison[i].reason, detail);
		e->rejected[rc]++;
	}
	e->rejected[SAGA_REJECT_CONFLICT] = e->conflict;
}

static void
gen_deliveries(struct gen *g)
{
	const struct gen_payload	*src;
	struct store_msg		 tmp;
	size_t				 i, j;

	for (i = 0; i < GEN_MSGS; i++) {
		if (i < GEN_EVENTS)
			src = &g->events[i];
		else if (i < GEN_EVENTS + GEN_DUPS)
			src = &g->events[rnd(g) % GEN_EVENTS];
		else
			src = &g->poison[i - GEN_EVENTS - GEN_DUPS];
		g->msgs[i].payload = src->data;
		g->msgs[i].len = src->len;
	}

	for (i = GEN_MSGS - 1; i > 0; i--) {
		j = (size_t)(rnd(g) % (i + 1));
		tmp = g->msgs[i];
		g->msgs[i] = g->msgs[j];
		g->msgs[j] = tmp;
	}

	for (i = 0; i < GEN_MSGS; i++) {
		g->msgs[i].partition = (int32_t)(i % GEN_PARTITIONS);
		g->msgs[i].offset = (int64_t)(i / GEN_PARTITIONS);
		g->msgs[i].received_ms = GEN_RECEIVED_MS + (int64_t)i;
	}
}

static struct gen *
gen_new(void)
{
	struct gen	*g;
	int		 i;

	g = calloc(1, sizeof(*g));
	cr_assert_not_null(g);
	g->rng = GEN_SEED;
	for (i = 0; i < GEN_SAGAS; i++)
		gen_saga(g, i);
	for (i = 0; i < GEN_POISON; i++)
		gen_poison(g, i);
	gen_expect(g);
	gen_deliveries(g);

	return (g);
}

static void
gen_free(struct gen *g)
{
	int		i;

	for (i = 0; i < GEN_EVENTS; i++)
		free(g->events[i].data);
	for (i = 0; i < GEN_POISON; i++)
		free(g->poison[i].data);
	for (i = 0; i < GEN_SAGAS; i++)
		saga_state_free(&g->expect.sagas[i]);
	free(g);
}

/* --- applying and checking --------------------------------------------- */

/* Apply msgs[from..to) in batches; the summed results. */
static void
apply_range(struct store *s, const struct gen *g, size_t from, size_t to,
    struct store_batch_result *sum)
{
	struct store_batch_result	res;
	char				err[512];
	size_t				i, n;

	memset(sum, 0, sizeof(*sum));
	for (i = from; i < to; i += n) {
		n = to - i < BATCH ? to - i : BATCH;
		cr_assert_eq(store_apply_batch(s, &g->msgs[i], n, &res, err,
		    sizeof(err)), 0, "batch at %zu: %s", i, err);
		sum->applied += res.applied;
		sum->duplicates += res.duplicates;
		sum->rejected += res.rejected;
		sum->rejected_new += res.rejected_new;
		sum->conflicts += res.conflicts;
		sum->sagas += res.sagas;
	}
}

static void
check_text(PGresult *res, int row, int col, const char *want,
    const char *what)
{
	if (want == NULL || want[0] == '\0') {
		cr_assert(PQgetisnull(res, row, col), "%s %s: got '%s', "
		    "want NULL", PQgetvalue(res, row, 0), what,
		    PQgetvalue(res, row, col));
		return;
	}
	cr_assert(!PQgetisnull(res, row, col), "%s %s: NULL, want '%s'",
	    PQgetvalue(res, row, 0), what, want);
	cr_assert_str_eq(PQgetvalue(res, row, col), want, "%s %s",
	    PQgetvalue(res, row, 0), what);
}

static void
check_time(PGresult *res, int row, int col, int64_t want, const char *what)
{
	if (want == SAGA_TIME_NONE) {
		cr_assert(PQgetisnull(res, row, col), "%s %s: got %s, want "
		    "NULL", PQgetvalue(res, row, 0), what,
		    PQgetvalue(res, row, col));
		return;
	}
	cr_assert(!PQgetisnull(res, row, col), "%s %s: NULL",
	    PQgetvalue(res, row, 0), what);
	cr_assert_eq(strtoll(PQgetvalue(res, row, col), NULL, 10), want,
	    "%s %s: %s, want %lld", PQgetvalue(res, row, 0), what,
	    PQgetvalue(res, row, col), (long long)want);
}

static void
check_json(PGresult *res, int row, int col, const char *want)
{
	json_t		*a, *b;

	if (want == NULL) {
		cr_assert(PQgetisnull(res, row, col), "%s metadata: got %s, "
		    "want NULL", PQgetvalue(res, row, 0),
		    PQgetvalue(res, row, col));
		return;
	}
	a = json_loads(PQgetvalue(res, row, col), 0, NULL);
	b = json_loads(want, 0, NULL);
	cr_assert(a != NULL && b != NULL && json_equal(a, b),
	    "%s metadata: got %s, want %s", PQgetvalue(res, row, 0),
	    PQgetvalue(res, row, col), want);
	json_decref(a);
	json_decref(b);
}

static void
check_row(PGresult *res, int row, const struct saga_state *st)
{
	check_text(res, row, 0, st->saga_id, "saga_id");
	check_text(res, row, 1, st->saga_type, "saga_type");
	check_text(res, row, 2, st->order_id, "order_id");
	check_text(res, row, 3, saga_status_name(st->status), "status");
	check_text(res, row, 4, st->current_step, "current_step");
	check_time(res, row, 5, st->started_at, "started_at");
	check_time(res, row, 6, st->updated_at, "updated_at");
	check_time(res, row, 7, st->failed_at, "failed_at");
	check_time(res, row, 8, st->compensated_at, "compensated_at");
	check_time(res, row, 9, st->completed_at, "completed_at");
	check_text(res, row, 10, st->trace_id, "trace_id");
	check_text(res, row, 11, st->failure_reason, "failure_reason");
	check_json(res, row, 12, st->metadata);
}

#define MS(c)	"(extract(epoch FROM " c ") * 1000)::int8"

static void
check_rows(PGconn *conn, const struct gen *g)
{
	PGresult	*res;
	int		 i;

	res = PQexec(conn, "SELECT saga_id, saga_type, order_id, status, "
	    "current_step, " MS("started_at") ", " MS("updated_at") ", "
	    MS("failed_at") ", " MS("compensated_at") ", "
	    MS("completed_at") ", trace_id, failure_reason, metadata::text "
	    "FROM saga_instance ORDER BY saga_id COLLATE \"C\"");
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s",
	    PQerrorMessage(conn));
	cr_assert_eq(PQntuples(res), GEN_SAGAS, "saga_instance has %d rows",
	    PQntuples(res));
	for (i = 0; i < GEN_SAGAS; i++)
		check_row(res, i, &g->expect.sagas[i]);
	PQclear(res);

	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM saga_event"),
	    GEN_EVENTS);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM saga_event "
	    "WHERE source <> 'kafka'"), 0);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_event_rejected"), GEN_POISON);
}

/* Every dead letter has the exact raw bytes and reason of its message. */
static void
check_dead_letters(PGconn *conn, const struct gen *g)
{
	PGresult		*res;
	const struct store_msg	*m;
	struct saga_event	 ev;
	char			 detail[SAGA_DETAIL_MAX];
	long long		 part, off;
	int			 i, reason;

	res = PQexecParams(conn, "SELECT kafka_partition, kafka_offset, "
	    "raw, reason FROM saga_event_rejected", 0, NULL, NULL, NULL, NULL,
	    1);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s",
	    PQerrorMessage(conn));
	for (i = 0; i < PQntuples(res); i++) {
		part = (int32_t)ntohl(*(uint32_t *)PQgetvalue(res, i, 0));
		off = (int64_t)be64toh(*(uint64_t *)PQgetvalue(res, i, 1));
		m = &g->msgs[off * GEN_PARTITIONS + part];
		cr_assert_eq((size_t)PQgetlength(res, i, 2), m->len);
		cr_assert(memcmp(PQgetvalue(res, i, 2), m->payload, m->len) ==
		    0, "dead letter %lld/%lld: raw differs", part, off);
		reason = saga_event_parse(m->payload, m->len, &ev, detail,
		    sizeof(detail));
		cr_assert_str_eq(PQgetvalue(res, i, 3),
		    saga_reject_reason_name(reason), "dead letter %lld/%lld",
		    part, off);
	}
	PQclear(res);
}

static void
check_counters(const struct gen *g)
{
	const struct expect	*e;
	size_t			 i;
	int			 r;

	e = &g->expect;
	cr_assert_eq(counter(METRICS_SAGA_FAILED, NULL, NULL), e->failed);
	cr_assert_eq(counter(METRICS_SAGA_COMPENSATED, NULL, NULL),
	    e->compensated);
	for (i = 0; i < e->nprocessed; i++) {
		cr_assert_eq(counter(METRICS_EVENTS_PROCESSED,
		    e->processed[i].step,
		    saga_status_name(e->processed[i].status)),
		    e->processed[i].n, "processed{%s,%s}",
		    e->processed[i].step,
		    saga_status_name(e->processed[i].status));
	}
	for (r = 1; r < SAGA_REJECT_COUNT; r++) {
		cr_assert_eq(counter(METRICS_EVENTS_REJECTED,
		    saga_reject_reason_name(r), NULL), e->rejected[r],
		    "rejected{%s}", saga_reject_reason_name(r));
	}
	cr_assert_eq(histogram_count("saga_compensation_duration_seconds"),
	    e->durations);
	cr_assert_float_eq(gauge(METRICS_LAST_FAILED, NULL), e->last_failed,
	    1e-6);
}

static struct store *
open_store(const char *dsn)
{
	struct store	*s;
	char		 err[512];

	s = store_open(dsn, err, sizeof(err));
	cr_assert_not_null(s, "store_open: %s", err);

	return (s);
}

/* --- tests ------------------------------------------------------------- */

static void *
open_in_thread(void *arg)
{
	struct worker	*w = arg;
	struct store	*s;

	if ((s = store_open(w->dsn, w->err, sizeof(w->err))) == NULL)
		w->failures++;
	store_close(s);

	return (NULL);
}

Test(store, migrations_are_idempotent_and_safe_concurrently)
{
	struct worker	 w[4];
	pthread_t	 t[4];
	struct store	*s;
	PGconn		*conn;
	char		 dsn[256];
	int		 i;

	harness_metrics_up();
	harness_db_fresh("migrate", dsn, sizeof(dsn));

	memset(w, 0, sizeof(w));
	for (i = 0; i < 4; i++) {
		w[i].dsn = dsn;
		cr_assert_eq(pthread_create(&t[i], NULL, open_in_thread,
		    &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(w[i].failures, 0, "concurrent store_open: %s",
		    w[i].err);
	}

	s = open_store(dsn);
	store_close(s);
	s = open_store(dsn);
	store_close(s);

	conn = harness_db_connect(dsn);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "schema_migrations"), schema_version_latest());
	cr_assert_eq(harness_db_count(conn, "SELECT max(version) FROM "
	    "schema_migrations"), schema_version_latest());
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM pg_tables "
	    "WHERE tablename IN ('saga_instance', 'saga_event', "
	    "'saga_event_rejected')"), 3);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM pg_indexes "
	    "WHERE tablename = 'saga_instance'"), 7);
	PQfinish(conn);
}

Test(store, big_shuffled_workload_is_exact_and_idempotent)
{
	struct store_batch_result	 sum;
	struct timespec			 t0, t1;
	struct store			*s;
	struct gen			*g;
	PGconn				*conn;
	char				 dsn[256], *before, *after;

	harness_metrics_up();
	harness_db_fresh("big", dsn, sizeof(dsn));
	g = gen_new();
	s = open_store(dsn);

	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	apply_range(s, g, 0, GEN_MSGS, &sum);
	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_log_info("%d messages in batches of %d: %.0f ms", GEN_MSGS, BATCH,
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	cr_assert_eq(sum.applied, GEN_EVENTS);
	cr_assert_eq(sum.duplicates, GEN_DUPS);
	cr_assert_eq(sum.rejected, GEN_POISON);
	cr_assert_eq(sum.rejected_new, GEN_POISON);
	cr_assert_eq(sum.conflicts, g->expect.conflict);
	cr_assert_gt(g->expect.conflict, 0);
	cr_assert_gt(g->expect.compensated, 0);

	conn = harness_db_connect(dsn);
	check_rows(conn, g);
	check_dead_letters(conn, g);
	check_counters(g);

	/* The same batches again: nothing changes. */
	before = render_saga_metrics();
	apply_range(s, g, 0, GEN_MSGS, &sum);
	cr_assert_eq(sum.applied, 0);
	cr_assert_eq(sum.duplicates, GEN_EVENTS + GEN_DUPS);
	cr_assert_eq(sum.rejected_new, 0);
	cr_assert_eq(sum.sagas, 0);
	after = render_saga_metrics();
	cr_assert_str_eq(after, before, "metrics changed on redelivery");
	check_rows(conn, g);
	check_counters(g);

	free(before);
	free(after);
	PQfinish(conn);
	gen_free(g);
	store_close(s);
}

static void
pg_back_up(void)
{
	struct harness_env	env;

	/* Fails harmlessly when the test already restarted it. */
	harness_env(&env);
	(void)harness_pg_start_again(&env);
}

Test(store, database_outage_applies_nothing_then_exactly_once,
    .fini = pg_back_up)
{
	struct store_batch_result	 res, sum;
	struct harness_env		 env;
	struct store			*s;
	struct gen			*g;
	PGconn				*conn;
	char				 dsn[256], err[512];
	char				*before, *after;
	const size_t			 cut = 5 * BATCH;

	harness_env(&env);
	harness_metrics_up();
	harness_db_fresh("outage", dsn, sizeof(dsn));
	g = gen_new();
	s = open_store(dsn);
	apply_range(s, g, 0, cut, &sum);

	before = render_saga_metrics();
	cr_assert_eq(harness_pg_stop(&env), 0, "pg_ctl stop failed");
	err[0] = '\0';
	cr_assert_eq(store_apply_batch(s, &g->msgs[cut], BATCH, &res, err,
	    sizeof(err)), -1);
	cr_assert_neq(err[0], '\0');
	cr_assert_eq(res.applied, 0);
	cr_log_info("with the database down: %s", err);
	cr_assert_eq(store_apply_batch(s, &g->msgs[cut], BATCH, &res, err,
	    sizeof(err)), -1);
	cr_assert_eq(store_ping(s), -1);
	after = render_saga_metrics();
	cr_assert_str_eq(after, before, "metrics changed by a failed batch");
	free(after);

	cr_assert_eq(harness_pg_start_again(&env), 0, "pg_ctl start failed");
	cr_assert_eq(store_ping(s), 0);
	cr_assert_eq(store_apply_batch(s, &g->msgs[cut], BATCH, &res, err,
	    sizeof(err)), 0, "after the outage: %s", err);
	cr_assert_gt(res.applied, 0);
	cr_assert_eq(store_apply_batch(s, &g->msgs[cut], BATCH, &res, err,
	    sizeof(err)), 0, "again: %s", err);
	cr_assert_eq(res.applied, 0);
	cr_assert_eq(res.rejected_new, 0);

	apply_range(s, g, cut + BATCH, GEN_MSGS, &sum);
	conn = harness_db_connect(dsn);
	check_rows(conn, g);
	check_counters(g);

	free(before);
	PQfinish(conn);
	gen_free(g);
	store_close(s);
}

Test(store, failed_statement_rolls_back_everything)
{
	struct store_batch_result	 res;
	struct store			*s;
	struct gen			*g;
	PGconn				*conn;
	char				 dsn[256], err[512];
	char				*before, *after;

	harness_metrics_up();
	harness_db_fresh("rollback", dsn, sizeof(dsn));
	g = gen_new();
	s = open_store(dsn);
	conn = harness_db_connect(dsn);
	harness_db_exec(conn, "CREATE FUNCTION t_refuse() RETURNS trigger "
	    "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused %', "
	    "NEW.saga_id; END $$");
	harness_db_exec(conn, "CREATE TRIGGER t_refuse BEFORE INSERT ON "
	    "saga_instance FOR EACH ROW WHEN (NEW.saga_id = 'saga-0042') "
	    "EXECUTE FUNCTION t_refuse()");

	before = render_saga_metrics();
	cr_assert_eq(store_apply_batch(s, g->msgs, GEN_MSGS, &res, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "insert_sagas") != NULL &&
	    strstr(err, "refused saga-0042") != NULL, "error: %s", err);
	after = render_saga_metrics();
	cr_assert_str_eq(after, before);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_event"), 0);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_event_rejected"), 0);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_instance"), 0);

	/* The same (one big) batch, once the cause is gone. */
	harness_db_exec(conn, "DROP TRIGGER t_refuse ON saga_instance");
	cr_assert_eq(store_apply_batch(s, g->msgs, GEN_MSGS, &res, err,
	    sizeof(err)), 0, "retry: %s", err);
	cr_assert_eq(res.applied, GEN_EVENTS);
	cr_assert_eq(res.sagas, GEN_SAGAS);
	check_rows(conn, g);
	check_counters(g);

	free(before);
	free(after);
	PQfinish(conn);
	gen_free(g);
	store_close(s);
}

static void *
apply_in_thread(void *arg)
{
	struct worker			*w = arg;
	struct store_batch_result	 res;
	struct store			*s;
	size_t				 i, n;

	if ((s = store_open(w->dsn, w->err, sizeof(w->err))) == NULL) {
		w->failures++;
		return (NULL);
	}
	for (i = 0; i < w->n; i += n) {
		n = w->n - i < w->batch ? w->n - i : w->batch;
		while (store_apply_batch(s, &w->msgs[i], n, &res, w->err,
		    sizeof(w->err)) == -1) {
			if (++w->failures > 20)
				break;
		}
	}
	store_close(s);

	return (NULL);
}

/*
 * Three consumers (a rebalance gone wild) apply the same messages in
 * different orders and batch sizes at once: forward, backward, and from
 * the middle round.  Each event must be counted once, every row exact,
 * and nobody may deadlock.
 */
Test(store, concurrent_consumers_on_the_same_events_converge)
{
	struct worker	 w[3];
	pthread_t	 t[3];
	struct store	*s;
	struct gen	*g;
	PGconn		*conn;
	char		 dsn[256];
	size_t		 i;
	int		 k;

	harness_metrics_up();
	harness_db_fresh("concurrent", dsn, sizeof(dsn));
	g = gen_new();
	s = open_store(dsn);	/* migrations before the race */
	store_close(s);

	memset(w, 0, sizeof(w));
	w[0].msgs = g->msgs;
	w[1].msgs = calloc(GEN_MSGS, sizeof(*w[1].msgs));
	w[2].msgs = calloc(GEN_MSGS, sizeof(*w[2].msgs));
	cr_assert(w[1].msgs != NULL && w[2].msgs != NULL);
	for (i = 0; i < GEN_MSGS; i++) {
		w[1].msgs[i] = g->msgs[GEN_MSGS - 1 - i];
		w[2].msgs[i] = g->msgs[(i + GEN_MSGS / 2) % GEN_MSGS];
	}
	for (k = 0; k < 3; k++) {
		w[k].dsn = dsn;
		w[k].n = GEN_MSGS;
		w[k].batch = k == 0 ? BATCH : k == 1 ? 300 : 400;
		cr_assert_eq(pthread_create(&t[k], NULL, apply_in_thread,
		    &w[k]), 0);
	}
	for (k = 0; k < 3; k++) {
		pthread_join(t[k], NULL);
		cr_assert_eq(w[k].failures, 0, "consumer %d: %d failures, "
		    "last: %s", k, w[k].failures, w[k].err);
	}

	conn = harness_db_connect(dsn);
	check_rows(conn, g);
	check_dead_letters(conn, g);
	check_counters(g);
	PQfinish(conn);
	free(w[1].msgs);
	free(w[2].msgs);
	gen_free(g);
}

/* Store one event built from the arguments; at is ms since the epoch. */
static void
put_event(struct store *s, const char *saga, const char *id,
    const char *status, int64_t at, int64_t offset)
{
	struct store_batch_result	res;
	struct store_msg		m;
	char				when[RFC3339_BUFLEN], buf[512];
	char				err[512];

	cr_assert_eq(rfc3339_format(at, when, sizeof(when)), 0);
	(void)snprintf(buf, sizeof(buf), "{\"eventId\":\"%s\","
	    "\"sagaId\":\"%s\",\"step\":\"S\",\"status\":\"%s\","
	    "\"occurredAt\":\"%s\"}", id, saga, status, when);
	memset(&m, 0, sizeof(m));
	m.partition = 0;
	m.offset = offset;
	m.payload = buf;
	m.len = strlen(buf);
	m.received_ms = at;
	cr_assert_eq(store_apply_batch(s, &m, 1, &res, err, sizeof(err)), 0,
	    "%s/%s: %s", saga, id, err);
	cr_assert_eq(res.applied, 1);
}

Test(store, refresh_gauges_counts_statuses_and_pending)
{
	struct store	*s;
	char		 dsn[256], err[512];
	int64_t		 now;
	int		 i;

	harness_metrics_up();
	harness_db_fresh("gauges", dsn, sizeof(dsn));
	s = open_store(dsn);
	now = (int64_t)time(NULL) * 1000;

	/* Stale values are overwritten, missing statuses become 0. */
	(void)metrics_active_set("COMPLETED", 42);
	metrics_pending_set(9, 99.0);
	cr_assert_eq(store_refresh_gauges(s, err, sizeof(err)), 0, "%s", err);
	for (i = 0; i < SAGA_STATUS_COUNT; i++)
		cr_assert_float_eq(gauge(METRICS_SAGA_ACTIVE,
		    saga_status_name(i)), 0.0, 1e-9, "%s",
		    saga_status_name(i));
	cr_assert_float_eq(gauge(METRICS_PENDING, NULL), 0.0, 1e-9);
	cr_assert_float_eq(gauge(METRICS_PENDING_OLDEST, NULL), 0.0, 1e-9);

	put_event(s, "a", "a1", "STARTED", now - 10000, 1);
	put_event(s, "b", "b1", "STARTED", now - 10000, 2);
	put_event(s, "b", "b2", "IN_PROGRESS", now - 9000, 3);
	put_event(s, "c", "c1", "COMPLETED", now - 9000, 4);
	put_event(s, "d", "d1", "FAILED", now - 3600000, 5);
	put_event(s, "e", "e1", "FAILED", now - 600000, 6);
	put_event(s, "e", "e2", "COMPENSATING", now - 500000, 7);
	/* No FAILED event: its age runs from updated_at. */
	put_event(s, "f", "f1", "COMPENSATING", now - 7200000, 8);
	put_event(s, "g", "g1", "FAILED", now - 9000000, 9);
	put_event(s, "g", "g2", "COMPENSATED", now - 8000000, 10);
	put_event(s, "h", "h1", "COMPLETED", now - 5000, 11);

	cr_assert_eq(store_refresh_gauges(s, err, sizeof(err)), 0, "%s", err);
	cr_assert_float_eq(gauge(METRICS_SAGA_ACTIVE, "STARTED"), 1, 1e-9);
	cr_assert_float_eq(gauge(METRICS_SAGA_ACTIVE, "IN_PROGRESS"), 1,
	    1e-9);
	cr_assert_float_eq(gauge(METRICS_SAGA_ACTIVE, "COMPLETED"), 2, 1e-9);
	cr_assert_float_eq(gauge(METRICS_SAGA_ACTIVE, "FAILED"), 1, 1e-9);
	cr_assert_float_eq(gauge(METRICS_SAGA_ACTIVE, "COMPENSATING"), 2,
	    1e-9);
	cr_assert_float_eq(gauge(METRICS_SAGA_ACTIVE, "COMPENSATED"), 1,
	    1e-9);
	cr_assert_float_eq(gauge(METRICS_PENDING, NULL), 3, 1e-9);
	cr_assert_float_eq(gauge(METRICS_PENDING_OLDEST, NULL), 7200.0, 30.0,
	    "oldest pending: %f", gauge(METRICS_PENDING_OLDEST, NULL));

	/* The saga counters were fed along the way. */
	cr_assert_eq(counter(METRICS_SAGA_FAILED, NULL, NULL), 4);
	cr_assert_eq(counter(METRICS_SAGA_COMPENSATED, NULL, NULL), 1);
	cr_assert_float_eq(gauge(METRICS_LAST_FAILED, NULL),
	    (double)(now - 600000) / 1000.0, 1e-6);
	store_close(s);
}

Test(store, extreme_times_and_escapes_round_trip)
{
	struct store_batch_result	 res;
	struct store_msg		 m[3];
	struct store			*s;
	PGconn				*conn;
	PGresult			*r;
	char				 dsn[256], err[512];
	const char			*p[3] = {
		"{\"eventId\":\"x\\\\1\",\"sagaId\":\"edge\",\"step\":\"A\","
		"\"status\":\"STARTED\","
		"\"occurredAt\":\"0001-01-01T00:00:00Z\","
		"\"orderId\":\"{\\\"a\\\",NULL}\"}",
		"{\"eventId\":\"NULL\",\"sagaId\":\"edge\",\"step\":\"B\","
		"\"status\":\"FAILED\","
		"\"occurredAt\":\"9999-12-31T23:59:59.999Z\","
		"\"metadata\":{\"failureReason\":\"\\\"q\\\" \\\\ \\u0001\"}}",
		"{\"eventId\":\"\\u00e9\\u2713\",\"sagaId\":\"edge\","
		"\"step\":\"C\",\"status\":\"IN_PROGRESS\","
		"\"occurredAt\":\"1969-12-31T23:59:59.999+00:00\"}",
	};
	int				 i;

	harness_metrics_up();
	harness_db_fresh("edges", dsn, sizeof(dsn));
	s = open_store(dsn);
	memset(m, 0, sizeof(m));
	for (i = 0; i < 3; i++) {
		m[i].partition = 2;
		m[i].offset = 100 + i;
		m[i].payload = p[i];
		m[i].len = strlen(p[i]);
	}
	cr_assert_eq(store_apply_batch(s, m, 3, &res, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(res.applied, 3);

	conn = harness_db_connect(dsn);
	r = PQexec(conn, "SELECT order_id, status, " MS("started_at") ", "
	    MS("updated_at") ", failure_reason FROM saga_instance");
	cr_assert_eq(PQntuples(r), 1, "%s", PQerrorMessage(conn));
	cr_assert_str_eq(PQgetvalue(r, 0, 0), "{\"a\",NULL}");
	cr_assert_str_eq(PQgetvalue(r, 0, 1), "FAILED");
	cr_assert_str_eq(PQgetvalue(r, 0, 2), "-62135596800000");
	cr_assert_str_eq(PQgetvalue(r, 0, 3), "253402300799999");
	cr_assert_str_eq(PQgetvalue(r, 0, 4), "\"q\" \\ \001");
	PQclear(r);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM saga_event "
	    "WHERE event_id IN ('x\\1', 'NULL', 'é✓')"), 3);
	cr_assert_eq(harness_db_count(conn, "SELECT " MS("occurred_at") " FROM "
	    "saga_event WHERE step = 'C'"), -1);

	/* A state rebuilt from these events, plus one, stays the same. */
	m[0].payload = "{\"eventId\":\"late\",\"sagaId\":\"edge\","
	    "\"step\":\"D\",\"status\":\"IN_PROGRESS\","
	    "\"occurredAt\":\"2026-01-01T00:00:00Z\"}";
	m[0].len = strlen(m[0].payload);
	m[0].offset = 200;
	cr_assert_eq(store_apply_batch(s, m, 1, &res, err, sizeof(err)), 0,
	    "%s", err);
	r = PQexec(conn, "SELECT status, current_step, failure_reason, "
	    MS("started_at") " FROM saga_instance");
	cr_assert_str_eq(PQgetvalue(r, 0, 0), "FAILED");
	cr_assert_str_eq(PQgetvalue(r, 0, 1), "B");
	cr_assert_str_eq(PQgetvalue(r, 0, 2), "\"q\" \\ \001");
	cr_assert_str_eq(PQgetvalue(r, 0, 3), "-62135596800000");
	PQclear(r);
	PQfinish(conn);
	store_close(s);
}

/* --- gauges exact at any size ------------------------------------------ */

#define KILL_EVENTS	60

/* Refresh the gauges and compare them with a full count. */
static void
check_gauges_exact(struct store *s, PGconn *conn, const char *when)
{
	char		err[512];

	cr_assert_eq(store_refresh_gauges(s, err, sizeof(err)), 0, "%s: %s",
	    when, err);
	cr_assert_eq(harness_gauges_check(conn, err, sizeof(err)), 0,
	    "%s: %s", when, err);
}

/* A message of payload from (partition, offset), GEN_RECEIVED_MS. */
static void
batch_msg(struct store_msg *m, int32_t partition, int64_t offset,
    const char *payload)
{
	memset(m, 0, sizeof(*m));
	m->partition = partition;
	m->offset = offset;
	m->payload = payload;
	m->len = strlen(payload);
	m->received_ms = GEN_RECEIVED_MS;
}

/* KILL_EVENTS events of new sagas "kill-<tag>-N", every status. */
static void
kill_batch(struct store_msg *msgs, char (*bufs)[256], const char *tag)
{
	static const char *const statuses[] = {
		"STARTED", "IN_PROGRESS", "COMPLETED", "FAILED",
		"COMPENSATING", "COMPENSATED"
	};
	char		when[RFC3339_BUFLEN];
	int		i;

	cr_assert_eq(rfc3339_format(GEN_T0_MS, when, sizeof(when)), 0);
	for (i = 0; i < KILL_EVENTS; i++) {
		(void)snprintf(bufs[i], 256, "{\"eventId\":\"kill-%s-%d\","
		    "\"sagaId\":\"kill-%s-%d\",\"step\":\"S\","
		    "\"status\":\"%s\",\"occurredAt\":\"%s\"}", tag, i, tag,
		    i / 2, statuses[i % 6], when);
		batch_msg(&msgs[i], 9, i, bufs[i]);
	}
}

/* Poll until sql counts want (at most 10 s). */
static void
wait_count(PGconn *conn, const char *sql, long long want)
{
	int		waited;

	for (waited = 0; waited < 10000; waited += 20) {
		if (harness_db_count(conn, sql) == want)
			return;
		harness_sleep_ms(20);
	}
	cr_assert_fail("still not %lld after 10 s: %s", want, sql);
}

/*
 * A consumer process is SIGKILLed in the middle of a batch: its
 * statements ran and its saga_status_delta rows are written but not
 * committed (its last round trip, insert_outcome then COMMIT, waits on
 * a lock this test holds).  With terminate, its backend is ended too,
 * so the batch rolls back; without, the backend goes on with the COMMIT
 * already in its socket, so the batch commits with no client to see
 * it.  Either way the gauges stay exact.
 */
static void
kill_mid_batch(const char *dsn, PGconn *conn, int terminate,
    const char *tag)
{
	struct store_msg		 msgs[KILL_EVENTS];
	struct store_batch_result	 res;
	struct store			*child;
	char				 bufs[KILL_EVENTS][256], err[512];
	char				 sql[256];
	long long			 backend;
	pid_t				 pid;
	int				 status;

	kill_batch(msgs, bufs, tag);
	harness_db_exec(conn, "BEGIN");
	harness_db_exec(conn, "LOCK TABLE saga_batch_outcome IN EXCLUSIVE "
	    "MODE");

	if ((pid = fork()) == 0) {
		if ((child = store_open(dsn, err, sizeof(err))) != NULL)
			(void)store_apply_batch(child, msgs, KILL_EVENTS, &res,
			    err, sizeof(err));
		_exit(0);
	}
	cr_assert_gt(pid, 0);

	/* Its insert_outcome waits for saga_batch_outcome. */
	wait_count(conn, "SELECT count(*) FROM pg_locks l JOIN pg_class c "
	    "ON c.oid = l.relation WHERE c.relname = 'saga_batch_outcome' "
	    "AND NOT l.granted", 1);
	backend = harness_db_count(conn, "SELECT l.pid FROM pg_locks l JOIN "
	    "pg_class c ON c.oid = l.relation WHERE c.relname = "
	    "'saga_batch_outcome' AND NOT l.granted");
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status));
	if (terminate) {
		(void)snprintf(sql, sizeof(sql), "SELECT "
		    "pg_terminate_backend(%lld)::int", backend);
		cr_assert_eq(harness_db_count(conn, sql), 1);
	}
	harness_db_exec(conn, "COMMIT");

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
	    "pg_stat_activity WHERE pid = %lld", backend);
	wait_count(conn, sql, 0);
	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM saga_instance "
	    "WHERE saga_id LIKE 'kill-%s-%%'", tag);
	cr_assert_eq(harness_db_count(conn, sql),
	    terminate ? 0 : KILL_EVENTS / 2,
	    "the killed batch must be all or nothing");
}

/*
 * saga_active_total and the pending gauges, read from
 * saga_status_delta, equal a full count after every step: batches of
 * random sizes, redeliveries (retries), manual transitions, and
 * consumers killed in the middle of a batch, whether it then commits
 * or not.
 */
Test(store, gauges_stay_exact_through_batches_retries_manual_and_kills)
{
	struct store_batch_result	 res;
	struct saga_state		 out;
	struct store_msg		 msgs[KILL_EVENTS];
	struct store			*s;
	struct gen			*g;
	PGconn				*conn;
	PGresult			*ids;
	char				 dsn[256], err[512];
	char				 bufs[KILL_EVENTS][256];
	size_t				 i, n, from;
	int				 k, rc;

	harness_metrics_up();
	harness_db_fresh("exact", dsn, sizeof(dsn));
	g = gen_new();
	s = open_store(dsn);
	conn = harness_db_connect(dsn);

	for (i = 0, k = 0; i < GEN_MSGS; i += n, k++) {
		n = 1 + rnd(g) % 700;
		n = n > GEN_MSGS - i ? GEN_MSGS - i : n;
		cr_assert_eq(store_apply_batch(s, &g->msgs[i], n, &res, err,
		    sizeof(err)), 0, "%s", err);
		if (k % 4 == 3) {
			/* A retry of something already applied. */
			from = rnd(g) % (i + n);
			n = 1 + rnd(g) % (i + n - from);
			cr_assert_eq(store_apply_batch(s, &g->msgs[from], n,
			    &res, err, sizeof(err)), 0, "%s", err);
			cr_assert_eq(res.applied, 0);
			n = 0;
		}
		if (k % 3 == 0)
			check_gauges_exact(s, conn, "after a batch");
	}
	check_rows(conn, g);
	check_gauges_exact(s, conn, "after the workload");

	ids = PQexec(conn, "SELECT saga_id, status FROM saga_instance WHERE "
	    "status IN ('FAILED', 'COMPENSATING') ORDER BY saga_id LIMIT 40");
	cr_assert_eq(PQresultStatus(ids), PGRES_TUPLES_OK);
	cr_assert_gt(PQntuples(ids), 10);
	for (k = 0; k < PQntuples(ids); k++) {
		rc = store_manual_transition(s, PQgetvalue(ids, k, 0),
		    k % 2 ? SAGA_COMPENSATED : SAGA_COMPENSATING, "test",
		    &out, err, sizeof(err));
		cr_assert_eq(rc, STORE_MANUAL_DONE, "%s: %s",
		    PQgetvalue(ids, k, 0), err);
		saga_state_free(&out);
	}
	PQclear(ids);
	check_gauges_exact(s, conn, "after manual transitions");

	kill_mid_batch(dsn, conn, 1, "a");
	check_gauges_exact(s, conn, "after a killed, rolled back batch");
	kill_mid_batch(dsn, conn, 0, "b");
	check_gauges_exact(s, conn, "after a killed, committed batch");

	/* The consumer that takes over applies both batches again. */
	kill_batch(msgs, bufs, "a");
	cr_assert_eq(store_apply_batch(s, msgs, KILL_EVENTS, &res, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(res.applied, KILL_EVENTS);
	kill_batch(msgs, bufs, "b");
	cr_assert_eq(store_apply_batch(s, msgs, KILL_EVENTS, &res, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(res.applied, 0);
	check_gauges_exact(s, conn, "after the retries");

	PQfinish(conn);
	store_close(s);
	gen_free(g);
}

/* --- saga_tracker_event_delay_seconds ----------------------------------- */

static uint64_t
delay_bucket(const char *le)
{
	char		series[128];

	(void)snprintf(series, sizeof(series),
	    "saga_tracker_event_delay_seconds_bucket{le=\"%s\"}", le);

	return (exposition_value(series));
}

/* A STARTED and a COMPLETED event of saga "race-a", "race-1" first. */
static void
race_batch(struct store_msg *msgs, char (*bufs)[256])
{
	char		when[RFC3339_BUFLEN];
	int		i;

	cr_assert_eq(rfc3339_format(GEN_T0_MS, when, sizeof(when)), 0);
	for (i = 0; i < 2; i++) {
		(void)snprintf(bufs[i], 256, "{\"eventId\":\"race-%d\","
		    "\"sagaId\":\"race-a\",\"step\":\"S\","
		    "\"status\":\"%s\",\"occurredAt\":\"%s\"}", i + 1,
		    i == 0 ? "STARTED" : "COMPLETED", when);
		batch_msg(&msgs[i], 3, i, bufs[i]);
	}
}

/*
 * Two writers store one eventId for two sagas at once (a producer that
 * reuses ids): the locks of the batch are per saga, so they do not
 * serialise them.  The batch looked for its eventIds before the other
 * writer committed, so its COPY meets the other row and waits for it;
 * once that commits, the COPY fails (saga_event_pkey), and the batch is
 * run again at once: it stores the rest and counts the eventId a
 * duplicate, which the other saga keeps.  The caller sees one success.
 */
Test(store, event_id_stored_meanwhile_by_another_saga_is_a_duplicate)
{
	struct store_msg		 msgs[2];
	struct store_batch_result	 res;
	struct store			*s, *child;
	PGconn				*conn;
	char				 bufs[2][256], dsn[256], err[512];
	pid_t				 pid;
	int				 status;

	harness_metrics_up();
	harness_db_fresh("race", dsn, sizeof(dsn));
	s = open_store(dsn);
	conn = harness_db_connect(dsn);
	race_batch(msgs, bufs);
	harness_db_exec(conn, "BEGIN");
	harness_db_exec(conn, "INSERT INTO saga_event (event_id, saga_id, "
	    "step, status, occurred_at, received_at, source) VALUES "
	    "('race-1', 'race-other', 'S', 'STARTED', now(), now(), "
	    "'manual')");

	if ((pid = fork()) == 0) {
		if ((child = store_open(dsn, err, sizeof(err))) == NULL)
			_exit(2);
		if (store_apply_batch(child, msgs, 2, &res, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "race: %s\n", err);
			_exit(3);
		}
		_exit(res.applied == 1 && res.duplicates == 1 ? 0 : 4);
	}
	cr_assert_gt(pid, 0);

	/* Its COPY waits for this transaction's row. */
	wait_count(conn, "SELECT count(*) FROM pg_locks WHERE locktype = "
	    "'transactionid' AND NOT granted", 1);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "pg_stat_activity WHERE query LIKE 'COPY saga_event %'"), 1,
	    "the wait is not the COPY of the events");
	harness_db_exec(conn, "COMMIT");
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the batch must apply race-2 and count race-1 a duplicate "
	    "(exit %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM saga_event "
	    "WHERE event_id = 'race-1' AND saga_id = 'race-other'"), 1);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM saga_event "
	    "WHERE saga_id = 'race-a'"), 1);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_instance WHERE saga_id = 'race-a' AND status = "
	    "'COMPLETED'"), 1);
	check_gauges_exact(s, conn, "after the raced batch");

	/* Redelivered: nothing new. */
	cr_assert_eq(store_apply_batch(s, msgs, 2, &res, err, sizeof(err)),
	    0, "redelivery: %s", err);
	cr_assert_eq(res.applied, 0);
	cr_assert_eq(res.duplicates, 2);
	PQfinish(conn);
	store_close(s);
}

/*
 * The delay of an applied event runs from its Kafka timestamp when the
 * message has one, else from its occurredAt, to the COMMIT; a
 * duplicate or a dead letter is not observed.
 */
Test(store, event_delay_from_the_kafka_timestamp_else_occurred_at)
{
	struct store_batch_result	 res;
	struct store_msg		 m[3];
	struct store			*s;
	char				 dsn[256], err[512], buf[3][256];
	char				 when[RFC3339_BUFLEN];
	int64_t				 now;
	int				 i;

	harness_metrics_up();
	harness_db_fresh("delay", dsn, sizeof(dsn));
	s = open_store(dsn);
	now = (int64_t)time(NULL) * 1000;
	cr_assert_eq(rfc3339_format(now - 45000, when, sizeof(when)), 0);
	for (i = 0; i < 2; i++)
		(void)snprintf(buf[i], sizeof(buf[i]), "{\"eventId\":\"d%d\","
		    "\"sagaId\":\"d\",\"step\":\"S\",\"status\":\"STARTED\","
		    "\"occurredAt\":\"%s\"}", i, when);
	(void)snprintf(buf[2], sizeof(buf[2]), "not json");
	memset(m, 0, sizeof(m));
	for (i = 0; i < 3; i++) {
		m[i].offset = i;
		m[i].payload = buf[i];
		m[i].len = strlen(buf[i]);
		m[i].received_ms = now;
	}
	m[0].timestamp_ms = now - 2000;	/* produced 2 s ago */
	cr_assert_eq(store_apply_batch(s, m, 3, &res, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(res.applied, 2);
	/* Again: duplicates and a known dead letter, nothing observed. */
	cr_assert_eq(store_apply_batch(s, m, 3, &res, err, sizeof(err)), 0,
	    "%s", err);

	cr_assert_eq(histogram_count("saga_tracker_event_delay_seconds"), 2);
	cr_assert_eq(delay_bucket("1"), 0);
	cr_assert_eq(delay_bucket("5"), 1, "the Kafka timestamp, 2 s ago");
	cr_assert_eq(delay_bucket("30"), 1);
	cr_assert_eq(delay_bucket("60"), 2, "occurredAt, 45 s ago");
	store_close(s);
}

/* --- counters exact when a COMMIT's outcome is unknown ----------------- */

#define LOST_NONE	0
#define LOST_AFTER	1	/* the COMMIT ran, its reply is lost */
#define LOST_BEFORE	2	/* the connection drops before COMMIT */

/* Where store_fault drops the connection, or kills the process. */
struct fault {
	PGconn		*watch;		/* another connection, to look */
	int		 lose;		/* LOST_*, once */
	int		 kill_at;	/* STORE_FAULT_* + 1, 0: never */
};

/*
 * Put a socket whose peer is gone in the place of sock: the connection
 * closes with whatever the server sent unread, and libpq finds it lost
 * at its next read or write.
 */
static void
sever(int sock)
{
	int		sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	(void)close(sv[1]);
	cr_assert_eq(dup2(sv[0], sock), sock, "dup2: %s", strerror(errno));
	(void)close(sv[0]);
}

/*
 * LOST_AFTER: once the backend is idle again, the COMMIT sent has run
 * (and the outcome row is visible); only then is the connection cut,
 * so the client never reads the answer.  LOST_BEFORE: cut before
 * anything of the last round trip is sent.
 */
static void
on_fault(enum store_fault point, int pid, int sock, void *arg)
{
	struct fault	*f = arg;
	char		 sql[256];

	if (f->kill_at == (int)point + 1)
		(void)raise(SIGKILL);
	if ((f->lose == LOST_AFTER && point == STORE_FAULT_COMMIT_SENT) ||
	    (f->lose == LOST_BEFORE && point == STORE_FAULT_COMMIT_SEND)) {
		if (f->lose == LOST_AFTER) {
			(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
			    "pg_stat_activity WHERE pid = %d AND state = "
			    "'idle'", pid);
			wait_count(f->watch, sql, 1);
		}
		sever(sock);
		f->lose = LOST_NONE;
	}
}

/*
 * The whole workload in batches; every third batch loses its connection
 * right after its COMMIT ran, every third right before: the attempt
 * fails, the retry must succeed, and find the batch stored (after) or
 * not (before).
 */
static void
apply_losing(struct store *s, const struct gen *g, struct fault *f,
    int *lost)
{
	struct store_batch_result	res;
	char				err[512];
	size_t				i, n;
	int				k, how;

	for (i = 0, k = 0; i < GEN_MSGS; i += n, k++) {
		n = GEN_MSGS - i < BATCH ? GEN_MSGS - i : BATCH;
		how = k % 3;
		f->lose = how;
		if (store_apply_batch(s, &g->msgs[i], n, &res, err,
		    sizeof(err)) == 0) {
			cr_assert_eq(how, LOST_NONE, "batch %d: not lost", k);
			continue;
		}
		cr_assert_neq(how, LOST_NONE, "batch %d: %s", k, err);
		cr_log_info("batch %d, lost %s COMMIT: %s", k, how ==
		    LOST_AFTER ? "after" : "before", err);
		lost[how]++;
		cr_assert_eq(store_apply_batch(s, &g->msgs[i], n, &res, err,
		    sizeof(err)), 0, "retry of batch %d: %s", k, err);
		if (how == LOST_AFTER)
			cr_assert_eq(res.applied, 0, "batch %d committed", k);
		else
			cr_assert_gt(res.applied, 0, "batch %d rolled back", k);
	}
}

/*
 * A COMMIT whose answer is lost: the store asks the database before it
 * applies anything else and counts what committed exactly once.  Every
 * counter family equals the expected totals.
 */
Test(store, commit_answer_lost_is_counted_exactly_once)
{
	struct store_batch_result	 sum;
	struct store			*s;
	struct gen			*g;
	struct fault			 f;
	PGconn				*conn;
	char				 dsn[256], *before, *after;
	int				 lost[3];

	harness_metrics_up();
	harness_db_fresh("lost", dsn, sizeof(dsn));
	g = gen_new();
	s = open_store(dsn);
	conn = harness_db_connect(dsn);
	memset(&f, 0, sizeof(f));
	memset(lost, 0, sizeof(lost));
	f.watch = conn;
	store_fault_hook(s, on_fault, &f);

	apply_losing(s, g, &f, lost);
	cr_assert_geq(lost[LOST_AFTER], 7);
	cr_assert_geq(lost[LOST_BEFORE], 7);
	check_rows(conn, g);
	check_dead_letters(conn, g);
	check_counters(g);

	/* Each lost-before attempt left a tombstone, nothing else. */
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_batch_outcome WHERE deltas IS NULL"), lost[LOST_BEFORE]);

	/* Everything redelivered: nothing more is counted. */
	before = render_saga_metrics();
	apply_range(s, g, 0, GEN_MSGS, &sum);
	cr_assert_eq(sum.applied, 0);
	after = render_saga_metrics();
	cr_assert_str_eq(after, before, "metrics changed on redelivery");

	free(before);
	free(after);
	PQfinish(conn);
	gen_free(g);
	store_close(s);
}

static void
ignore_done(void *arg, const struct store_msg *m, size_t n,
    const struct store_batch_result *res)
{
	(void)arg;
	(void)m;
	(void)n;
	(void)res;
}

static void
ignore_failed(void *arg, const struct store_msg *m, size_t n,
    const char *err, int backoff_ms)
{
	(void)arg;
	(void)m;
	(void)n;
	(void)err;
	(void)backoff_ms;
}

static void
ignore_dropped(void *arg, const struct store_msg *m, size_t n)
{
	(void)arg;
	(void)m;
	(void)n;
}

/*
 * A forked "worker" applies msgs[from..from+BATCH) with shared slot
 * `slot` and is SIGKILLed at fault point `at`.  Returns the token it
 * left in the slot.
 */
static uint64_t
die_in_batch(const char *dsn, const struct gen *g, size_t from, int slot,
    enum store_fault at)
{
	struct store_batch_result	 res;
	struct store			*child;
	struct fault			 f;
	char				 err[512];
	pid_t				 pid;
	int				 status;

	if ((pid = fork()) == 0) {
		memset(&f, 0, sizeof(f));
		f.kill_at = (int)at + 1;
		if ((child = store_open(dsn, err, sizeof(err))) != NULL &&
		    store_outcome_slot(child, outcome_shared_slot(slot), err,
		    sizeof(err)) == 0) {
			store_fault_hook(child, on_fault, &f);
			(void)store_apply_batch(child, &g->msgs[from], BATCH,
			    &res, err, sizeof(err));
		}
		_exit(0);
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "the worker of slot %d was not killed at point %d", slot, (int)at);

	return (atomic_load(&outcome_shared_slot(slot)->token));
}

/* Poll until every shared slot of the lanes is clear (at most 10 s). */
static void
wait_slots_clear(int lanes)
{
	int		i, set, waited;

	for (waited = 0; waited < 10000; waited += 20) {
		for (i = 0, set = 0; i < lanes; i++)
			set += atomic_load(&outcome_shared_slot(i)->token) != 0;
		if (set == 0)
			return;
		harness_sleep_ms(20);
	}
	cr_assert_fail("%d slots still set after 10 s", set);
}

/*
 * Worker deaths.  One dies between its COMMIT and the counter update,
 * one before its COMMIT is sent; their slots stay set in the mapping
 * made before the fork, as the kore parent makes it.  The lanes of the
 * next applier resolve them at start, with no batch to apply: the
 * committed batch is counted once, the other not at all; replaying
 * every message then leaves every counter exact.
 */
Test(store, worker_killed_after_commit_is_counted_once_by_its_successor)
{
	struct store_batch_result	 sum;
	struct applier_hooks		 hooks;
	struct applier			*a;
	struct store			*s;
	struct gen			*g;
	PGconn				*conn;
	uint64_t			 committed, aborted;
	long long			 stored;
	char				 dsn[256], err[512], sql[256];
	char				*before, *after;

	harness_metrics_up();
	cr_assert_eq(outcome_shared_init(), 0);
	harness_db_fresh("killed", dsn, sizeof(dsn));
	g = gen_new();
	conn = harness_db_connect(dsn);
	before = render_saga_metrics();

	committed = die_in_batch(dsn, g, 0, 0, STORE_FAULT_COMMITTED);
	aborted = die_in_batch(dsn, g, BATCH, 1, STORE_FAULT_COMMIT_SEND);
	cr_assert_neq(committed, 0);
	cr_assert_neq(aborted, 0);
	after = render_saga_metrics();
	cr_assert_str_eq(after, before, "a dead worker counted something");
	free(after);
	stored = harness_db_count(conn, "SELECT count(*) FROM saga_event");
	cr_assert_gt(stored, 0, "the first worker's batch did not commit");
	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM saga_event "
	    "WHERE kafka_offset >= %d", BATCH / GEN_PARTITIONS);
	cr_assert_eq(harness_db_count(conn, sql), 0,
	    "the second worker's batch committed");
	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
	    "saga_batch_outcome WHERE token = %" PRId64 " AND deltas IS NOT "
	    "NULL", (int64_t)committed);
	cr_assert_eq(harness_db_count(conn, sql), 1);

	memset(&hooks, 0, sizeof(hooks));
	hooks.done = ignore_done;
	hooks.failed = ignore_failed;
	hooks.dropped = ignore_dropped;
	a = applier_create(dsn, 2, 0, &hooks, err, sizeof(err));
	cr_assert_not_null(a, "applier_create: %s", err);
	wait_slots_clear(2);
	cr_assert_gt(counter(METRICS_SAGA_FAILED, NULL, NULL) +
	    counter(METRICS_SAGA_COMPENSATED, NULL, NULL), 0,
	    "the committed batch was not counted");
	applier_destroy(a);
	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
	    "saga_batch_outcome WHERE token = %" PRId64 " AND deltas IS "
	    "NULL", (int64_t)aborted);
	cr_assert_eq(harness_db_count(conn, sql), 1);

	s = open_store(dsn);
	apply_range(s, g, 0, GEN_MSGS, &sum);
	cr_assert_eq(sum.applied, GEN_EVENTS - stored);
	check_rows(conn, g);
	check_counters(g);

	free(before);
	PQfinish(conn);
	gen_free(g);
	store_close(s);
}

/* --- PostgreSQL restarted under a replay -------------------------------- */

#define RESTART_RUNS	4
#define REPLAY_WAIT_MS	60000

struct replay {
	pthread_mutex_t		 lock;
	size_t			 done;		/* messages committed */
	int			 failed;	/* attempts that failed */
	struct applier		*applier;
	const struct gen	*gen;
};

static void
replay_done(void *arg, const struct store_msg *m, size_t n,
    const struct store_batch_result *res)
{
	struct replay	*r = arg;

	(void)m;
	(void)res;
	pthread_mutex_lock(&r->lock);
	r->done += n;
	pthread_mutex_unlock(&r->lock);
}

static void
replay_failed(void *arg, const struct store_msg *m, size_t n,
    const char *err, int backoff_ms)
{
	struct replay	*r = arg;

	(void)m;
	(void)n;
	(void)err;
	(void)backoff_ms;
	pthread_mutex_lock(&r->lock);
	r->failed++;
	pthread_mutex_unlock(&r->lock);
}

/* Every message into the lanes, in order, as the consumer queues them. */
static void *
replay_push(void *arg)
{
	struct replay	*r = arg;
	size_t		 i;
	int		 waited;

	for (i = 0; i < GEN_MSGS; i++) {
		for (waited = 0; applier_push(r->applier, &r->gen->msgs[i],
		    100) == -1; waited += 100) {
			if (waited > REPLAY_WAIT_MS)
				return ((void *)1);
		}
	}

	return (NULL);
}

/* Poll until at least want messages are committed. */
static void
replay_wait(struct replay *r, size_t want)
{
	size_t		done;
	int		waited;

	for (waited = 0; waited < REPLAY_WAIT_MS; waited += 10) {
		pthread_mutex_lock(&r->lock);
		done = r->done;
		pthread_mutex_unlock(&r->lock);
		if (done >= want)
			return;
		harness_sleep_ms(10);
	}
	cr_assert_fail("only %zu of %zu messages committed", done, want);
}

/* One replay through two lanes, PostgreSQL fast-restarted twice. */
static void
replay_with_restarts(struct harness_env *env, const struct gen *g, int run)
{
	struct applier_hooks	 hooks;
	struct replay		 r;
	pthread_t		 pusher;
	PGconn			*conn;
	void			*pushed;
	char			 dsn[256], name[32], err[512];

	(void)snprintf(name, sizeof(name), "restart%d", run);
	harness_db_fresh(name, dsn, sizeof(dsn));
	memset(&r, 0, sizeof(r));
	(void)pthread_mutex_init(&r.lock, NULL);
	r.gen = g;
	memset(&hooks, 0, sizeof(hooks));
	hooks.done = replay_done;
	hooks.failed = replay_failed;
	hooks.dropped = ignore_dropped;
	hooks.arg = &r;
	r.applier = applier_create(dsn, 2, 0, &hooks, err, sizeof(err));
	cr_assert_not_null(r.applier, "applier_create: %s", err);
	cr_assert_eq(pthread_create(&pusher, NULL, replay_push, &r), 0);

	/* Restarts while batches are being written, at 3/10 and 6/10. */
	replay_wait(&r, GEN_MSGS * 3 / 10);
	cr_assert_eq(harness_pg_stop(env), 0, "run %d: pg_ctl stop", run);
	cr_assert_eq(harness_pg_start_again(env), 0, "run %d: start", run);
	replay_wait(&r, GEN_MSGS * 6 / 10);
	cr_assert_eq(harness_pg_stop(env), 0, "run %d: pg_ctl stop", run);
	cr_assert_eq(harness_pg_start_again(env), 0, "run %d: start", run);

	cr_assert_eq(pthread_join(pusher, &pushed), 0);
	cr_assert_null(pushed, "run %d: the lanes stopped taking messages",
	    run);
	cr_assert_eq(applier_drain(r.applier, REPLAY_WAIT_MS), 0,
	    "run %d: not drained", run);
	applier_destroy(r.applier);
	cr_log_info("run %d: %d failed attempts", run, r.failed);
	cr_assert_gt(r.failed, 0, "run %d: no attempt met a restart", run);

	conn = harness_db_connect(dsn);
	cr_log_info("run %d: %lld COMMITs of unknown outcome did not commit",
	    run, harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_batch_outcome WHERE deltas IS NULL"));
	check_rows(conn, g);
	check_counters(g);
	PQfinish(conn);
	pthread_mutex_destroy(&r.lock);
}

/*
 * The operator's case of issue 20: PostgreSQL fast-restarted twice
 * during each replay of the workload; rows and every counter family
 * exact in every run.
 */
Test(store, fast_restarts_during_replays_keep_counters_exact,
    .fini = pg_back_up)
{
	struct harness_env	 env;
	struct gen		*g;
	int			 run;

	harness_env(&env);
	cr_assert_eq(outcome_shared_init(), 0);
	g = gen_new();
	for (run = 0; run < RESTART_RUNS; run++) {
		harness_metrics_up();
		replay_with_restarts(&env, g, run);
		metrics_segment_destroy();
	}
	gen_free(g);
}

/*
 * The gauge refresh purges outcome rows (and tombstones) older than an
 * hour, and only those.
 */
Test(store, old_outcomes_are_purged_by_the_gauge_refresh)
{
	struct store_batch_result	 sum;
	struct store			*s;
	struct gen			*g;
	PGconn				*conn;
	char				 dsn[256], err[512];
	long long			 rows;

	harness_metrics_up();
	harness_db_fresh("purge", dsn, sizeof(dsn));
	g = gen_new();
	s = open_store(dsn);
	conn = harness_db_connect(dsn);

	apply_range(s, g, 0, 4 * BATCH, &sum);
	rows = harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_batch_outcome WHERE deltas IS NOT NULL");
	cr_assert_eq(rows, 4, "one outcome row per batch that counted");
	harness_db_exec(conn, "UPDATE saga_batch_outcome SET created_at = "
	    "now() - interval '61 minutes' WHERE token IN (SELECT token FROM "
	    "saga_batch_outcome ORDER BY token LIMIT 2)");
	harness_db_exec(conn, "INSERT INTO saga_batch_outcome (token, "
	    "created_at, deltas) VALUES (1, now() - interval '2 hours', NULL),"
	    " (2, now() - interval '59 minutes', NULL)");

	cr_assert_eq(store_refresh_gauges(s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_batch_outcome"), 3);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_batch_outcome WHERE created_at < now() - "
	    "interval '1 hour'"), 0);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM "
	    "saga_batch_outcome WHERE token = 2"), 1);

	PQfinish(conn);
	store_close(s);
	gen_free(g);
}

/*
 * The manual PATCH's COMMIT with its answer lost after it ran, and
 * before: the next transition on that store finds out, and the
 * compensation is counted once either way.
 */
Test(store, manual_commit_answer_lost_is_counted_exactly_once)
{
	struct store_batch_result	 sum;
	struct saga_state		 out;
	struct store			*s;
	struct gen			*g;
	struct fault			 f;
	PGconn				*conn;
	PGresult			*ids;
	char				 dsn[256], err[512];
	uint64_t			 comp0, hist0;

	harness_metrics_up();
	harness_db_fresh("manual_lost", dsn, sizeof(dsn));
	g = gen_new();
	s = open_store(dsn);
	conn = harness_db_connect(dsn);
	apply_range(s, g, 0, GEN_MSGS, &sum);
	ids = PQexec(conn, "SELECT saga_id FROM saga_instance WHERE status = "
	    "'FAILED' ORDER BY saga_id LIMIT 2");
	cr_assert_eq(PQresultStatus(ids), PGRES_TUPLES_OK);
	cr_assert_eq(PQntuples(ids), 2);
	comp0 = counter(METRICS_SAGA_COMPENSATED, NULL, NULL);
	hist0 = histogram_count("saga_compensation_duration_seconds");

	memset(&f, 0, sizeof(f));
	f.watch = conn;
	store_fault_hook(s, on_fault, &f);
	f.lose = LOST_AFTER;
	cr_assert_eq(store_manual_transition(s, PQgetvalue(ids, 0, 0),
	    SAGA_COMPENSATED, "test", &out, err, sizeof(err)),
	    STORE_MANUAL_FAILED);
	cr_assert_eq(counter(METRICS_SAGA_COMPENSATED, NULL, NULL), comp0);
	/* Committed: a second try is refused, and counts the first. */
	cr_assert_eq(store_manual_transition(s, PQgetvalue(ids, 0, 0),
	    SAGA_COMPENSATED, "test", &out, err, sizeof(err)),
	    STORE_MANUAL_CONFLICT, "%s", err);
	cr_assert_eq(counter(METRICS_SAGA_COMPENSATED, NULL, NULL), comp0 + 1);

	f.lose = LOST_BEFORE;
	cr_assert_eq(store_manual_transition(s, PQgetvalue(ids, 1, 0),
	    SAGA_COMPENSATED, "test", &out, err, sizeof(err)),
	    STORE_MANUAL_FAILED);
	cr_assert_eq(store_manual_transition(s, PQgetvalue(ids, 1, 0),
	    SAGA_COMPENSATED, "test", &out, err, sizeof(err)),
	    STORE_MANUAL_DONE, "%s", err);
	saga_state_free(&out);
	cr_assert_eq(counter(METRICS_SAGA_COMPENSATED, NULL, NULL), comp0 + 2);
	cr_assert_eq(histogram_count("saga_compensation_duration_seconds"),
	    hist0 + 2);
	cr_assert_eq(harness_db_count(conn, "SELECT count(*) FROM saga_event "
	    "WHERE source = 'manual'"), 2);

	PQclear(ids);
	PQfinish(conn);
	store_close(s);
	gen_free(g);
}
