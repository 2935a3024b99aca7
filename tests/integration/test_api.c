/*
 * Integration: the query API (GET /api/v1/sagas, GET /api/v1/sagas/{id},
 * GET /api/v1/openapi.yaml) against a real PostgreSQL and the real service.
 *
 * The runner starts PostgreSQL and the service, then applies the schema
 * through store_open() (the service's consumer would too, but it needs no
 * broker for that and its timing is its own).  Each test inserts its rows
 * with libpq under a sagaType of its own and filters on it, so the tests
 * do not see each other's rows.
 */

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <yaml.h>

#include "harness.h"
#include "yamldoc.h"
#include "store.h"

#define PATH_MAX_LEN	1024
#define PAGE_ROWS	1000
#define PAGE_LIMIT	97
#define PAGE_MAX	64

/* A saga_instance row; NULL is SQL NULL. */
struct row {
	const char	*id;
	const char	*type;
	const char	*order;
	const char	*status;
	const char	*step;
	const char	*started;
	const char	*updated;
	const char	*failed;
	const char	*compensated;
	const char	*completed;
	const char	*trace;
	const char	*reason;
	const char	*metadata;
};

/* One documented operation that a live call should reach. */
struct operation {
	char		path[256];
	char		method[16];
};

static const char *saga_keys[] = {
	"sagaId", "sagaType", "orderId", "status", "currentStep",
	"startedAt", "updatedAt", "failedAt", "compensatedAt", "completedAt",
	"traceId", "failureReason", "metadata"
};

static const char *event_keys[] = {
	"eventId", "step", "status", "occurredAt", "receivedAt", "source",
	"metadata"
};

/* The schema, before any test writes rows. */
static void
schema_up(struct harness_env *env)
{
	struct store	*s;
	char		 err[512];

	if ((s = store_open(env->pg_dsn, err, sizeof(err))) == NULL) {
		fprintf(stderr, "test_api: schema: %s\n", err);
		harness_down(env);
		exit(1);
	}
	store_close(s);
}

const struct harness_suite	harness_suite = {
	HARNESS_PG | HARNESS_SERVICE, NULL, schema_up
};

/* --- database ------------------------------------------------------------ */

static void
db_insert(PGconn *c, const struct row *r)
{
	const char	*v[13];

	v[0] = r->id;
	v[1] = r->type;
	v[2] = r->order;
	v[3] = r->status;
	v[4] = r->step;
	v[5] = r->started != NULL ? r->started : r->updated;
	v[6] = r->updated;
	v[7] = r->failed;
	v[8] = r->compensated;
	v[9] = r->completed;
	v[10] = r->trace;
	v[11] = r->reason;
	v[12] = r->metadata;

	harness_db_execv(c,
	    "INSERT INTO saga_instance (saga_id, saga_type, order_id,"
	    " status, current_step, started_at, updated_at, failed_at,"
	    " compensated_at, completed_at, trace_id, failure_reason, metadata)"
	    " VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7::timestamptz,"
	    " $8::timestamptz, $9::timestamptz, $10::timestamptz, $11, $12,"
	    " $13::jsonb)", 13, v);
}

/* A minimal row: id, type, status, updated_at. */
static void
db_saga(PGconn *c, const char *id, const char *type, const char *status,
    const char *updated)
{
	struct row	r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.type = type;
	r.status = status;
	r.step = "STEP_X";
	r.updated = updated;
	db_insert(c, &r);
}

static void
db_event(PGconn *c, const char *event_id, const char *saga_id,
    const char *step, const char *status, const char *occurred,
    const char *source, const char *metadata)
{
	const char	*v[7];

	v[0] = event_id;
	v[1] = saga_id;
	v[2] = step;
	v[3] = status;
	v[4] = occurred;
	v[5] = source;
	v[6] = metadata;
	harness_db_execv(c,
	    "INSERT INTO saga_event (event_id, saga_id, step, status,"
	    " occurred_at, received_at, source, kafka_partition, kafka_offset,"
	    " metadata) VALUES ($1, $2, $3, $4, $5::timestamptz,"
	    " $5::timestamptz + interval '1.5 second', $6,"
	    " CASE WHEN $6 = 'kafka' THEN 0 END,"
	    " CASE WHEN $6 = 'kafka' THEN 7 END, $7::jsonb)", 7, v);
}

/* --- HTTP ---------------------------------------------------------------- */

static void
http_call(const char *method, const char *path, const char *body,
    struct harness_reply *r)
{
	struct harness_env	env;

	harness_env(&env);
	cr_assert_eq(harness_http(env.service_port, method, path, NULL, body,
	    r), 0, "%s %s: no answer", method, path);
}

static json_t *
body_json(const struct harness_reply *r, const char *what)
{
	json_error_t	 jerr;
	json_t		*doc;

	doc = json_loads(r->body, 0, &jerr);
	cr_assert_not_null(doc, "%s: body is not JSON (%s): %s", what,
	    jerr.text, r->body);

	return (doc);
}

/* GET path, expect 200 application/json, return the document. */
static json_t *
get_ok(const char *fmt, ...)
{
	struct harness_reply	 r;
	va_list			 ap;
	json_t			*doc;
	char			 path[PATH_MAX_LEN], ctype[128];

	va_start(ap, fmt);
	(void)vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);

	http_call("GET", path, NULL, &r);
	cr_assert_eq(r.status, 200, "GET %s: %d %s", path, r.status, r.body);
	cr_assert_not_null(harness_reply_header(&r, "content-type", ctype,
	    sizeof(ctype)));
	cr_assert_str_eq(ctype, "application/json");
	doc = body_json(&r, path);
	harness_reply_free(&r);

	return (doc);
}

/* Check r is an RFC 9457 problem of status whose detail has needle. */
static void
check_problem(const struct harness_reply *r, int status, const char *needle,
    const char *what)
{
	char		why[1024];

	cr_assert_eq(harness_problem_check(r, status, needle, why,
	    sizeof(why)), 0, "%s: %s", what, why);
}

static void
expect_problem(const char *method, const char *path, int status,
    const char *needle)
{
	struct harness_reply	r;
	char			what[PATH_MAX_LEN + 16];

	(void)snprintf(what, sizeof(what), "%s %s", method, path);
	http_call(method, path, strcmp(method, "GET") == 0 ||
	    strcmp(method, "DELETE") == 0 ? NULL : "{}", &r);
	check_problem(&r, status, needle, what);
	harness_reply_free(&r);
}

static const char *
item_str(json_t *items, size_t i, const char *key)
{
	return (json_string_value(json_object_get(json_array_get(items, i),
	    key)));
}

/* The sagaIds of a list answer, comma separated, for easy comparison. */
static void
ids_of(json_t *doc, char *buf, size_t len)
{
	json_t		*items;
	size_t		 i, off;

	items = json_object_get(doc, "items");
	cr_assert(json_is_array(items));
	buf[0] = '\0';
	for (i = 0, off = 0; i < json_array_size(items); i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? "," : "", item_str(items, i, "sagaId"));
}

static void
expect_ids(const char *want, const char *fmt, ...)
{
	va_list		 ap;
	json_t		*doc;
	char		 path[PATH_MAX_LEN], got[4096];

	va_start(ap, fmt);
	(void)vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);

	doc = get_ok("%s", path);
	ids_of(doc, got, sizeof(got));
	cr_assert_str_eq(got, want, "GET %s", path);
	json_decref(doc);
}

static void
check_keys(json_t *obj, const char *const *keys, size_t n, size_t extra)
{
	size_t		i;

	cr_assert(json_is_object(obj));
	for (i = 0; i < n; i++)
		cr_assert(json_object_get(obj, keys[i]) != NULL,
		    "key %s missing", keys[i]);
	cr_assert_eq(json_object_size(obj), n + extra, "unexpected keys");
}

/* --- list: shape and filters ---------------------------------------------- */

Test(list, saga_object_has_every_key_with_nulls_and_utc_millis)
{
	struct row	 full;
	PGconn		*c;
	json_t		*doc, *items, *a, *b, *meta;

	c = harness_db_runner();
	memset(&full, 0, sizeof(full));
	full.id = "shape-full";
	full.type = "T_SHAPE";
	full.order = "order-77";
	full.status = "COMPENSATED";
	full.step = "PAYMENT_REFUND";
	full.started = "2026-11-27T10:00:01+00:00";
	full.updated = "2026-11-27T12:30:00.5+02:00";
	full.failed = "2026-11-27T10:00:05.123Z";
	full.compensated = "2026-11-27T10:30:00.5Z";
	full.completed = "2026-11-27T10:00:02Z";
	full.trace = "trace-abc";
	full.reason = "Payment declined";
	full.metadata = "{\"failureReason\":\"Payment declined\",\"n\":[1,2]}";
	db_insert(c, &full);
	db_saga(c, "shape-bare", "T_SHAPE", "STARTED",
	    "2026-11-27T09:00:00Z");
	PQfinish(c);

	doc = get_ok("/api/v1/sagas?sagaType=T_SHAPE");
	cr_assert(json_is_null(json_object_get(doc, "nextCursor")));
	cr_assert_eq(json_object_size(doc), 2);
	items = json_object_get(doc, "items");
	cr_assert_eq(json_array_size(items), 2);

	a = json_array_get(items, 0);
	check_keys(a, saga_keys, 13, 0);
	cr_assert_str_eq(item_str(items, 0, "sagaId"), "shape-full");
	cr_assert_str_eq(item_str(items, 0, "sagaType"), "T_SHAPE");
	cr_assert_str_eq(item_str(items, 0, "orderId"), "order-77");
	cr_assert_str_eq(item_str(items, 0, "status"), "COMPENSATED");
	cr_assert_str_eq(item_str(items, 0, "currentStep"), "PAYMENT_REFUND");
	cr_assert_str_eq(item_str(items, 0, "startedAt"),
	    "2026-11-27T10:00:01.000Z");
	cr_assert_str_eq(item_str(items, 0, "updatedAt"),
	    "2026-11-27T10:30:00.500Z");
	cr_assert_str_eq(item_str(items, 0, "failedAt"),
	    "2026-11-27T10:00:05.123Z");
	cr_assert_str_eq(item_str(items, 0, "compensatedAt"),
	    "2026-11-27T10:30:00.500Z");
	cr_assert_str_eq(item_str(items, 0, "completedAt"),
	    "2026-11-27T10:00:02.000Z");
	cr_assert_str_eq(item_str(items, 0, "traceId"), "trace-abc");
	cr_assert_str_eq(item_str(items, 0, "failureReason"),
	    "Payment declined");
	meta = json_object_get(a, "metadata");
	cr_assert(json_is_object(meta));
	cr_assert_str_eq(json_string_value(json_object_get(meta,
	    "failureReason")), "Payment declined");
	cr_assert_eq(json_array_size(json_object_get(meta, "n")), 2);

	b = json_array_get(items, 1);
	check_keys(b, saga_keys, 13, 0);
	cr_assert_str_eq(item_str(items, 1, "sagaId"), "shape-bare");
	cr_assert(json_is_null(json_object_get(b, "orderId")));
	cr_assert(json_is_null(json_object_get(b, "failedAt")));
	cr_assert(json_is_null(json_object_get(b, "compensatedAt")));
	cr_assert(json_is_null(json_object_get(b, "completedAt")));
	cr_assert(json_is_null(json_object_get(b, "traceId")));
	cr_assert(json_is_null(json_object_get(b, "failureReason")));
	cr_assert(json_is_null(json_object_get(b, "metadata")));
	json_decref(doc);
}

Test(list, status_one_or_a_list)
{
	static const char	*st[] = { "STARTED", "IN_PROGRESS",
				    "COMPLETED", "FAILED", "COMPENSATING",
				    "COMPENSATED" };
	PGconn			*c;
	char			 id[32], at[64];
	int			 i;

	c = harness_db_runner();
	for (i = 0; i < 6; i++) {
		(void)snprintf(id, sizeof(id), "st-%d", i);
		(void)snprintf(at, sizeof(at), "2026-11-20T10:00:0%dZ", i);
		db_saga(c, id, "T_STATUS", st[i], at);
	}
	PQfinish(c);

	expect_ids("st-3", "/api/v1/sagas?sagaType=T_STATUS&status=FAILED");
	expect_ids("st-5,st-3", "/api/v1/sagas?sagaType=T_STATUS&"
	    "status=FAILED,COMPENSATED");
	expect_ids("st-5,st-3", "/api/v1/sagas?sagaType=T_STATUS&"
	    "status=COMPENSATED%%2CFAILED,FAILED");
	expect_ids("st-5,st-4,st-3,st-2,st-1,st-0", "/api/v1/sagas?"
	    "sagaType=T_STATUS&status=STARTED,IN_PROGRESS,COMPLETED,FAILED,"
	    "COMPENSATING,COMPENSATED");
	expect_ids("st-5,st-4,st-3,st-2,st-1,st-0",
	    "/api/v1/sagas?sagaType=T_STATUS");
	expect_ids("", "/api/v1/sagas?sagaType=T_STATUS&status=COMPLETED&"
	    "step=NO_SUCH_STEP");
}

Test(list, order_id_saga_type_and_step)
{
	struct row	 r;
	PGconn		*c;

	c = harness_db_runner();
	memset(&r, 0, sizeof(r));
	r.type = "T_FILTER";
	r.id = "f-1"; r.order = "T_FILTER-o1"; r.status = "FAILED";
	r.step = "PAYMENT_INIT"; r.updated = "2026-11-21T10:00:01Z";
	db_insert(c, &r);
	r.id = "f-2"; r.order = "T_FILTER-o1"; r.status = "COMPLETED";
	r.step = "SHIPPING"; r.updated = "2026-11-21T10:00:02Z";
	db_insert(c, &r);
	r.id = "f-3"; r.order = "T_FILTER-o2"; r.status = "FAILED";
	r.step = "PAYMENT_INIT"; r.updated = "2026-11-21T10:00:03Z";
	db_insert(c, &r);
	r.id = "f-4"; r.type = "T_FILTER_B"; r.order = "T_FILTER-o2";
	r.status = "FAILED"; r.step = "PAYMENT_INIT";
	r.updated = "2026-11-21T10:00:04Z";
	db_insert(c, &r);
	PQfinish(c);

	expect_ids("f-2,f-1", "/api/v1/sagas?orderId=T_FILTER-o1");
	expect_ids("f-4,f-3", "/api/v1/sagas?orderId=T_FILTER-o2");
	expect_ids("f-3,f-2,f-1", "/api/v1/sagas?sagaType=T_FILTER");
	expect_ids("f-4", "/api/v1/sagas?sagaType=T_FILTER_B");
	expect_ids("f-3,f-1", "/api/v1/sagas?sagaType=T_FILTER&"
	    "step=PAYMENT_INIT");
	expect_ids("f-2", "/api/v1/sagas?step=SHIPPING&sagaType=T_FILTER");
	expect_ids("f-3", "/api/v1/sagas?orderId=T_FILTER-o2&"
	    "sagaType=T_FILTER&status=FAILED&step=PAYMENT_INIT");
	expect_ids("", "/api/v1/sagas?orderId=T_FILTER-o1&status=FAILED&"
	    "step=SHIPPING");
}

Test(list, from_and_to_date_time_and_full_date)
{
	PGconn		*c;

	c = harness_db_runner();
	db_saga(c, "d-a", "T_DATES", "FAILED", "2031-03-09T23:59:59.999Z");
	db_saga(c, "d-b", "T_DATES", "FAILED", "2031-03-10T00:00:00.000Z");
	db_saga(c, "d-c", "T_DATES", "FAILED", "2031-03-10T12:00:00.000Z");
	db_saga(c, "d-d", "T_DATES", "FAILED", "2031-03-10T23:59:59.999Z");
	db_saga(c, "d-e", "T_DATES", "FAILED", "2031-03-11T00:00:00.000Z");
	PQfinish(c);

	/* A full-date is the whole UTC day, on both ends. */
	expect_ids("d-d,d-c,d-b", "/api/v1/sagas?sagaType=T_DATES&"
	    "fromDate=2031-03-10&toDate=2031-03-10");
	expect_ids("d-a", "/api/v1/sagas?sagaType=T_DATES&toDate=2031-03-09");
	expect_ids("d-e", "/api/v1/sagas?sagaType=T_DATES&fromDate=2031-03-11");

	/* Date-times are inclusive bounds. */
	expect_ids("d-c,d-b", "/api/v1/sagas?sagaType=T_DATES&"
	    "fromDate=2031-03-10T00:00:00.000Z&toDate=2031-03-10T12:00:00Z");
	expect_ids("d-d,d-c", "/api/v1/sagas?sagaType=T_DATES&"
	    "fromDate=2031-03-10T00:00:00.001Z&"
	    "toDate=2031-03-10T23:59:59.999Z");
	expect_ids("d-e,d-d,d-c", "/api/v1/sagas?sagaType=T_DATES&"
	    "fromDate=2031-03-10T13:00:00%%2B01:00");
	expect_ids("d-b,d-a", "/api/v1/sagas?sagaType=T_DATES&"
	    "toDate=2031-03-09T19:00:00-05:00");
	expect_ids("d-c", "/api/v1/sagas?sagaType=T_DATES&"
	    "fromDate=2031-03-10T12:00:00Z&toDate=2031-03-10T12:00:00Z");

	/* Mixed: a date-time start, a full-date end. */
	expect_ids("d-d,d-c", "/api/v1/sagas?sagaType=T_DATES&"
	    "fromDate=2031-03-10t06:00:00z&toDate=2031-03-10");
}

Test(list, newest_first_ties_by_saga_id_desc)
{
	PGconn		*c;

	c = harness_db_runner();
	db_saga(c, "tie-b", "T_ORDER", "FAILED", "2026-11-22T10:00:00Z");
	db_saga(c, "tie-a", "T_ORDER", "FAILED", "2026-11-22T10:00:00Z");
	db_saga(c, "tie-c", "T_ORDER", "FAILED", "2026-11-22T10:00:00Z");
	db_saga(c, "tie-0", "T_ORDER", "FAILED", "2026-11-22T10:00:00.001Z");
	db_saga(c, "tie-z", "T_ORDER", "FAILED", "2026-11-22T09:59:59.999Z");
	PQfinish(c);

	expect_ids("tie-0,tie-c,tie-b,tie-a,tie-z",
	    "/api/v1/sagas?sagaType=T_ORDER");
}

Test(list, default_limit_is_50_and_500_is_allowed)
{
	PGconn		*c;
	json_t		*doc;
	const char	*cursor;

	c = harness_db_runner();
	harness_db_execv(c,
	    "INSERT INTO saga_instance (saga_id, saga_type, status,"
	    " started_at, updated_at) SELECT 'lim-' || g, 'T_LIMIT', 'FAILED',"
	    " timestamptz '2026-11-23T00:00:00Z' + g * interval '1 second',"
	    " timestamptz '2026-11-23T00:00:00Z' + g * interval '1 second'"
	    " FROM generate_series(1, 60) AS g", 0, NULL);
	PQfinish(c);

	doc = get_ok("/api/v1/sagas?sagaType=T_LIMIT");
	cr_assert_eq(json_array_size(json_object_get(doc, "items")), 50);
	cursor = json_string_value(json_object_get(doc, "nextCursor"));
	cr_assert_not_null(cursor);
	cr_assert_str_eq(item_str(json_object_get(doc, "items"), 0, "sagaId"),
	    "lim-60");
	cr_assert_str_eq(item_str(json_object_get(doc, "items"), 49,
	    "sagaId"), "lim-11");
	expect_ids("lim-10,lim-9,lim-8,lim-7,lim-6,lim-5,lim-4,lim-3,lim-2,"
	    "lim-1", "/api/v1/sagas?sagaType=T_LIMIT&cursor=%s", cursor);
	json_decref(doc);

	doc = get_ok("/api/v1/sagas?sagaType=T_LIMIT&limit=500");
	cr_assert_eq(json_array_size(json_object_get(doc, "items")), 60);
	cr_assert(json_is_null(json_object_get(doc, "nextCursor")));
	json_decref(doc);

	/* A page that ends exactly at the last row has no next cursor. */
	doc = get_ok("/api/v1/sagas?sagaType=T_LIMIT&limit=60");
	cr_assert_eq(json_array_size(json_object_get(doc, "items")), 60);
	cr_assert(json_is_null(json_object_get(doc, "nextCursor")));
	json_decref(doc);
}

/* --- paging -------------------------------------------------------------- */

/* Insert rows ahead of, at and behind the cursor between pages. */
static void
page_concurrent_inserts(PGconn *c, int page)
{
	char		 p[16];
	const char	*v[1];

	(void)snprintf(p, sizeof(p), "%d", page);
	v[0] = p;
	harness_db_execv(c,
	    "INSERT INTO saga_instance (saga_id, saga_type, status,"
	    " started_at, updated_at) SELECT 'new-' || $1 || '-' || g,"
	    " 'T_PAGE', 'FAILED', t.at, t.at FROM generate_series(1, 30) AS g"
	    " CROSS JOIN LATERAL (SELECT timestamptz '2026-11-24T00:00:00Z' +"
	    " CASE WHEN g <= 10 THEN interval '1 day' + g * interval '1 ms'"
	    " ELSE ((g * 37 + $1::int * 101) % 400) * interval '1 second'"
	    " END AS at) AS t", 1, v);
}

Test(list, keyset_paging_over_1000_rows_with_inserts_between_pages,
    .timeout = 60)
{
	PGconn		*c;
	json_t		*doc, *items, *it;
	unsigned char	 seen[PAGE_ROWS];
	char		 path[PATH_MAX_LEN], prev_at[64], prev_id[80];
	char		 cursor[512];
	const char	*id, *at, *next;
	size_t		 i;
	int		 page, n, total, cmp;

	c = harness_db_runner();
	/* Three rows per second: ties on updated_at everywhere. */
	harness_db_execv(c,
	    "INSERT INTO saga_instance (saga_id, saga_type, status,"
	    " started_at, updated_at) SELECT 'pg-' || lpad(g::text, 4, '0'),"
	    " 'T_PAGE', 'FAILED', t.at, t.at FROM generate_series(0, 999) AS g"
	    " CROSS JOIN LATERAL (SELECT timestamptz '2026-11-24T00:00:00Z' +"
	    " (g / 3) * interval '1 second' AS at) AS t", 0, NULL);

	memset(seen, 0, sizeof(seen));
	prev_at[0] = prev_id[0] = cursor[0] = '\0';
	total = 0;
	for (page = 0; page < PAGE_MAX; page++) {
		if (page == 0)
			(void)snprintf(path, sizeof(path), "/api/v1/sagas?"
			    "sagaType=T_PAGE&status=FAILED&limit=%d",
			    PAGE_LIMIT);
		else
			(void)snprintf(path, sizeof(path), "/api/v1/sagas?"
			    "sagaType=T_PAGE&status=FAILED&limit=%d&cursor=%s",
			    PAGE_LIMIT, cursor);
		doc = get_ok("%s", path);
		items = json_object_get(doc, "items");
		cr_assert(json_array_size(items) <= PAGE_LIMIT);

		json_array_foreach(items, i, it) {
			id = json_string_value(json_object_get(it, "sagaId"));
			at = json_string_value(json_object_get(it,
			    "updatedAt"));
			/* Strictly descending (updatedAt, sagaId). */
			cmp = strcmp(at, prev_at);
			cr_assert(prev_at[0] == '\0' || cmp < 0 || (cmp == 0 &&
			    strcmp(id, prev_id) < 0), "%s %s after %s %s", at,
			    id, prev_at, prev_id);
			(void)snprintf(prev_at, sizeof(prev_at), "%s", at);
			(void)snprintf(prev_id, sizeof(prev_id), "%s", id);
			if (strncmp(id, "pg-", 3) == 0) {
				n = atoi(id + 3);
				cr_assert(seen[n] == 0, "%s seen twice", id);
				seen[n] = 1;
				total++;
			}
		}

		next = json_string_value(json_object_get(doc, "nextCursor"));
		if (next == NULL) {
			json_decref(doc);
			break;
		}
		(void)snprintf(cursor, sizeof(cursor), "%s", next);
		json_decref(doc);
		page_concurrent_inserts(c, page);
	}
	PQfinish(c);

	cr_assert_lt(page, PAGE_MAX, "paging did not end");
	cr_assert_geq(page, PAGE_ROWS / PAGE_LIMIT, "too few pages: %d", page);
	cr_assert_eq(total, PAGE_ROWS, "saw %d of the %d rows", total,
	    PAGE_ROWS);
}

Test(list, cursor_is_bound_to_its_filters)
{
	PGconn		*c;
	json_t		*doc;
	char		 cursor[256], bad[PATH_MAX_LEN];
	const char	*next;

	c = harness_db_runner();
	db_saga(c, "cur-1", "T_CURSOR", "FAILED", "2026-11-25T10:00:01Z");
	db_saga(c, "cur-2", "T_CURSOR", "FAILED", "2026-11-25T10:00:02Z");
	db_saga(c, "cur-3", "T_CURSOR", "FAILED", "2026-11-25T10:00:03Z");
	PQfinish(c);

	doc = get_ok("/api/v1/sagas?sagaType=T_CURSOR&status=FAILED&limit=1");
	next = json_string_value(json_object_get(doc, "nextCursor"));
	cr_assert_not_null(next);
	(void)snprintf(cursor, sizeof(cursor), "%s", next);
	json_decref(doc);

	/* The same filters, in any spelling, and another limit: fine. */
	expect_ids("cur-2,cur-1", "/api/v1/sagas?status=FAILED,FAILED&"
	    "limit=2&sagaType=T_CURSOR&cursor=%s", cursor);

	(void)snprintf(bad, sizeof(bad), "/api/v1/sagas?sagaType=T_CURSOR&"
	    "status=COMPLETED&limit=1&cursor=%s", cursor);
	expect_problem("GET", bad, 400, "cursor");
	(void)snprintf(bad, sizeof(bad), "/api/v1/sagas?sagaType=T_CURSOR&"
	    "limit=1&cursor=%s", cursor);
	expect_problem("GET", bad, 400, "cursor");
	(void)snprintf(bad, sizeof(bad), "/api/v1/sagas?sagaType=T_OTHER&"
	    "status=FAILED&cursor=%s", cursor);
	expect_problem("GET", bad, 400, "cursor");
	(void)snprintf(bad, sizeof(bad), "/api/v1/sagas?sagaType=T_CURSOR&"
	    "status=FAILED&fromDate=2026-11-25&cursor=%s", cursor);
	expect_problem("GET", bad, 400, "cursor");

	/* A tampered cursor. */
	cursor[5] = cursor[5] == 'A' ? 'B' : 'A';
	(void)snprintf(bad, sizeof(bad), "/api/v1/sagas?sagaType=T_CURSOR&"
	    "status=FAILED&cursor=%s", cursor);
	expect_problem("GET", bad, 400, "cursor");
}

/* --- list: 400 ------------------------------------------------------------ */

Test(list, every_bad_parameter_is_a_400_naming_it)
{
	static const struct {
		const char	*query;
		const char	*names;
	} bad[] = {
		{ "status=BOGUS", "status" },
		{ "status=FAILED,", "status" },
		{ "status=,FAILED", "status" },
		{ "status=failed", "status" },
		{ "status=", "status" },
		{ "status", "status" },
		{ "status=FAILED&status=COMPLETED", "status" },
		{ "Status=FAILED", "Status" },
		{ "fromDate=yesterday", "fromDate" },
		{ "fromDate=2026-02-30", "fromDate" },
		{ "fromDate=2026-11-27T10:00:00", "fromDate" },
		{ "fromDate=2026-11-27T10:00:00+01:00", "%2B" },
		{ "toDate=2026-13-01T00:00:00Z", "toDate" },
		{ "fromDate=0000-01-01", "outside 0001-01-01" },
		{ "toDate=2026-1-01", "toDate" },
		{ "toDate=", "toDate" },
		{ "fromDate=2026-11-28&toDate=2026-11-27", "fromDate" },
		{ "fromDate=2026-11-27T10:00:00.001Z&"
		    "toDate=2026-11-27T10:00:00Z", "fromDate" },
		{ "limit=0", "limit" },
		{ "limit=501", "limit" },
		{ "limit=abc", "limit" },
		{ "limit=-1", "limit" },
		{ "limit=1.5", "limit" },
		{ "limit=", "limit" },
		{ "limit=99999999999", "limit" },
		{ "foo=bar", "foo" },
		{ "status=FAILED&x=1", "'x'" },
		{ "cursor=garbage", "cursor" },
		{ "cursor=%21%21", "cursor" },
		{ "cursor=", "cursor" },
		{ "orderId=", "orderId" },
		{ "orderId=%zz", "orderId" },
		{ "orderId=12345678901234567890123456789012345678901234567890"
		    "123456789012345", "orderId" },
		{ "sagaType=%01", "sagaType" },
		{ "sagaType=%C3%28", "sagaType" },
		{ "step=payment", "step" },
		{ "step=PAY-INIT", "step" },
	};
	char		path[PATH_MAX_LEN];
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(path, sizeof(path), "/api/v1/sagas?%s",
		    bad[i].query);
		expect_problem("GET", path, 400, bad[i].names);
	}

	/* 64 characters (not bytes) is the limit. */
	expect_ids("", "/api/v1/sagas?orderId=%s",
	    "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
	    "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
	    "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
	    "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
	    "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
	    "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
	    "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
	    "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9");
}

/* --- one saga ------------------------------------------------------------ */

Test(saga, one_saga_with_its_events_in_occurred_order)
{
	struct row	 r;
	PGconn		*c;
	json_t		*doc, *events, *ev;
	static const char *order[] = { "ev-3", "ev-1", "ev-2", "ev-0" };
	size_t		 i;

	c = harness_db_runner();
	memset(&r, 0, sizeof(r));
	r.id = "get-1";
	r.type = "T_GET";
	r.order = "order-1";
	r.status = "COMPENSATED";
	r.step = "PAYMENT_REFUND";
	r.started = "2026-11-26T10:00:00Z";
	r.updated = "2026-11-26T10:05:00Z";
	r.failed = "2026-11-26T10:01:00Z";
	r.compensated = "2026-11-26T10:05:00Z";
	r.reason = "card declined";
	db_insert(c, &r);
	db_event(c, "ev-0", "get-1", "PAYMENT_REFUND", "COMPENSATED",
	    "2026-11-26T10:05:00Z", "manual", "{\"reason\":\"by hand\"}");
	db_event(c, "ev-2", "get-1", "PAYMENT_INIT", "FAILED",
	    "2026-11-26T10:01:00Z", "kafka",
	    "{\"failureReason\":\"card declined\"}");
	db_event(c, "ev-1", "get-1", "PAYMENT_INIT", "IN_PROGRESS",
	    "2026-11-26T10:01:00Z", "kafka", NULL);
	db_event(c, "ev-3", "get-1", "STOCK_RESERVE", "STARTED",
	    "2026-11-26T10:00:00Z", "kafka", NULL);
	db_event(c, "ev-other", "get-2", "STOCK_RESERVE", "STARTED",
	    "2026-11-26T09:00:00Z", "kafka", NULL);
	db_saga(c, "get-empty", "T_GET", "STARTED", "2026-11-26T11:00:00Z");
	PQfinish(c);

	doc = get_ok("/api/v1/sagas/get-1");
	check_keys(doc, saga_keys, 13, 1);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "sagaId")),
	    "get-1");
	cr_assert_str_eq(json_string_value(json_object_get(doc,
	    "failureReason")), "card declined");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "failedAt")),
	    "2026-11-26T10:01:00.000Z");

	events = json_object_get(doc, "events");
	cr_assert_eq(json_array_size(events), 4);
	json_array_foreach(events, i, ev) {
		check_keys(ev, event_keys, 7, 0);
		cr_assert_str_eq(json_string_value(json_object_get(ev,
		    "eventId")), order[i], "event %zu", i);
	}
	ev = json_array_get(events, 0);
	cr_assert_str_eq(json_string_value(json_object_get(ev, "occurredAt")),
	    "2026-11-26T10:00:00.000Z");
	cr_assert_str_eq(json_string_value(json_object_get(ev, "receivedAt")),
	    "2026-11-26T10:00:01.500Z");
	cr_assert_str_eq(json_string_value(json_object_get(ev, "source")),
	    "kafka");
	cr_assert_str_eq(json_string_value(json_object_get(ev, "step")),
	    "STOCK_RESERVE");
	cr_assert_str_eq(json_string_value(json_object_get(ev, "status")),
	    "STARTED");
	cr_assert(json_is_null(json_object_get(ev, "metadata")));
	ev = json_array_get(events, 3);
	cr_assert_str_eq(json_string_value(json_object_get(ev, "source")),
	    "manual");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(ev,
	    "metadata"), "reason")), "by hand");
	json_decref(doc);

	doc = get_ok("/api/v1/sagas/get-empty");
	cr_assert_eq(json_array_size(json_object_get(doc, "events")), 0);
	cr_assert(json_is_array(json_object_get(doc, "events")));
	json_decref(doc);
}

Test(saga, unknown_is_404_and_bad_id_is_400)
{
	char		path[128];

	expect_problem("GET", "/api/v1/sagas/no-such-saga", 404,
	    "no-such-saga");
	expect_problem("GET", "/api/v1/sagas/bad.id", 400, "sagaId");
	expect_problem("GET", "/api/v1/sagas/a%20b", 400, "sagaId");
	(void)snprintf(path, sizeof(path), "/api/v1/sagas/%065d", 0);
	expect_problem("GET", path, 400, "sagaId");
	expect_problem("GET", "/api/v1/sagas/get-1?verbose=1", 400,
	    "verbose");
}

/* --- methods, the document, metrics -------------------------------------- */

Test(api, other_methods_are_405_problems_with_allow)
{
	static const char	*calls[][2] = {
		{ "POST", "/api/v1/sagas" },
		{ "PUT", "/api/v1/sagas" },
		{ "DELETE", "/api/v1/sagas/some-id" },
		{ "PATCH", "/api/v1/sagas/some-id" },
		{ "POST", "/api/v1/openapi.yaml" },
	};
	struct harness_reply	 r;
	char			 allow[64];
	size_t			 i;

	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		expect_problem(calls[i][0], calls[i][1], 405, calls[i][0]);
		http_call(calls[i][0], calls[i][1], strcmp(calls[i][0],
		    "DELETE") == 0 ? NULL : "{}", &r);
		cr_assert_not_null(harness_reply_header(&r, "allow", allow,
		    sizeof(allow)), "%s %s: no Allow", calls[i][0],
		    calls[i][1]);
		cr_assert_str_eq(allow, "GET, HEAD");
		harness_reply_free(&r);
	}
}

/* The header lines of a raw answer without its Date, which may differ. */
static void
head_lines_but_date(const struct harness_reply *r, char *buf, size_t len)
{
	const char	*p, *nl;
	size_t		 n, off;

	off = 0;
	buf[0] = '\0';
	for (p = r->headers; *p != '\0'; p = nl + (*nl != '\0' ? 2 : 0)) {
		if ((nl = strstr(p, "\r\n")) == NULL)
			nl = p + strlen(p);
		n = (size_t)(nl - p);
		if (strncasecmp(p, "date:", 5) != 0 && off + n + 2 < len) {
			memcpy(buf + off, p, n);
			off += n;
			buf[off++] = '\n';
			buf[off] = '\0';
		}
	}
}

/*
 * RFC 9110 9.1: HEAD on the database routes is GET's answer, status and
 * header lines (Content-Length included), without the body; a 404 too.
 */
Test(api, head_on_the_saga_routes_is_gets_answer_without_a_body)
{
	static const char	*paths[] = {
		"/api/v1/sagas?sagaType=T_HEAD",
		"/api/v1/sagas/head-1",
		"/api/v1/sagas/no-such-saga",
	};
	struct harness_env	 env;
	struct harness_reply	 get, head;
	PGconn			*c;
	char			 req[256], want[2048], got[2048];
	size_t			 i;

	c = harness_db_runner();
	db_saga(c, "head-1", "T_HEAD", "FAILED", "2026-11-26T10:00:00Z");
	db_event(c, "head-ev-1", "head-1", "STEP_X", "FAILED",
	    "2026-11-26T10:00:00Z", "kafka", NULL);
	PQfinish(c);

	harness_env(&env);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		(void)snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n"
		    "Host: localhost\r\nConnection: close\r\n\r\n", paths[i]);
		cr_assert_eq(harness_http_raw(env.service_port, req,
		    strlen(req), &get), 0, "GET %s", paths[i]);
		cr_assert_gt(get.body_len, 0, "GET %s", paths[i]);
		(void)snprintf(req, sizeof(req), "HEAD %s HTTP/1.1\r\n"
		    "Host: localhost\r\nConnection: close\r\n\r\n", paths[i]);
		cr_assert_eq(harness_http_raw(env.service_port, req,
		    strlen(req), &head), 0, "HEAD %s", paths[i]);

		head_lines_but_date(&get, want, sizeof(want));
		head_lines_but_date(&head, got, sizeof(got));
		cr_assert_str_eq(got, want, "HEAD %s", paths[i]);
		cr_assert_not_null(strcasestr(got, "\ncontent-length: "),
		    "HEAD %s: %s", paths[i], got);
		cr_assert_eq(head.body_len, 0, "HEAD %s: %s", paths[i],
		    head.body);
		harness_reply_free(&get);
		harness_reply_free(&head);
	}
}

Test(api, paths_without_a_route_are_404_problems)
{
	static const char	*calls[][2] = {
		{ "GET", "/" },
		{ "GET", "/api/v2/sagas" },
		{ "GET", "/api/v1/sagas/some-id/events" },
		{ "POST", "/internal/v1/sagas/some-id" },
		{ "DELETE", "/actuator" },
	};
	size_t			 i;

	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		expect_problem(calls[i][0], calls[i][1], 404,
		    "no resource");
}

/* The (path, METHOD) pairs of the document's paths object. */
static size_t
openapi_operations(const char *text, struct operation *ops, size_t max)
{
	static const char	*methods[] = { "get", "put", "post", "delete",
				    "options", "head", "patch", "trace" };
	struct ydoc		 y;
	yaml_node_t		*paths, *key, *item;
	yaml_node_pair_t	*p;
	size_t			 n, m, k;

	ydoc_load_text(&y, text);
	paths = yget(&y, y.root, "paths");
	cr_assert(paths != NULL && paths->type == YAML_MAPPING_NODE,
	    "no paths in openapi.yaml");

	n = 0;
	for (p = paths->data.mapping.pairs.start;
	    p < paths->data.mapping.pairs.top; p++) {
		key = yaml_document_get_node(&y.doc, p->key);
		item = yaml_document_get_node(&y.doc, p->value);
		for (m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
			if (yget(&y, item, methods[m]) == NULL)
				continue;
			cr_assert_lt(n, max);
			(void)snprintf(ops[n].path, sizeof(ops[n].path), "%s",
			    ystr(key));
			for (k = 0; methods[m][k] != '\0'; k++)
				ops[n].method[k] = (char)(methods[m][k] - 32);
			ops[n].method[k] = '\0';
			n++;
		}
	}
	ydoc_free(&y);

	return (n);
}

static int
operation_listed(const struct operation *ops, size_t n, const char *method,
    const char *path)
{
	size_t		i;

	for (i = 0; i < n; i++) {
		if (strcmp(ops[i].method, method) == 0 &&
		    strcmp(ops[i].path, path) == 0)
			return (1);
	}

	return (0);
}

Test(api, openapi_documents_the_spec_and_every_path_answers)
{
	static const char	*spec[][2] = {
		{ "GET", "/api/v1/sagas" },
		{ "GET", "/api/v1/sagas/{sagaId}" },
		{ "PATCH", "/internal/v1/sagas/{sagaId}/status" },
		{ "GET", "/actuator/prometheus" },
		{ "GET", "/actuator/health" },
		{ "GET", "/actuator/health/liveness" },
		{ "GET", "/actuator/health/readiness" },
		{ "GET", "/actuator/info" },
		{ "GET", "/api/v1/openapi.yaml" },
	};
	struct harness_reply	 r, a;
	struct operation	 ops[32];
	PGconn			*c;
	char			 ctype[128], path[512], *brace;
	size_t			 n, i;

	c = harness_db_runner();
	db_saga(c, "doc-1", "T_DOC", "FAILED", "2026-11-26T12:00:00Z");
	PQfinish(c);

	http_call("GET", "/api/v1/openapi.yaml", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(harness_reply_header(&r, "content-type", ctype,
	    sizeof(ctype)));
	cr_assert_str_eq(ctype, "application/yaml; charset=utf-8");
	cr_assert_not_null(strstr(r.body, "openapi: 3.0"));

	n = openapi_operations(r.body, ops,
	    sizeof(ops) / sizeof(ops[0]));
	for (i = 0; i < sizeof(spec) / sizeof(spec[0]); i++)
		cr_assert(operation_listed(ops, n, spec[i][0], spec[i][1]),
		    "openapi.yaml lacks %s %s", spec[i][0], spec[i][1]);

	for (i = 0; i < n; i++) {
		cr_assert_lt(strlen(ops[i].path), sizeof(path));
		memcpy(path, ops[i].path, strlen(ops[i].path) + 1);
		if ((brace = strstr(path, "{sagaId}")) != NULL)
			(void)snprintf(brace, sizeof(path) - (size_t)(brace -
			    path), "doc-1%s", strstr(ops[i].path, "{sagaId}") +
			    strlen("{sagaId}"));
		http_call(ops[i].method, path, strcmp(ops[i].method, "GET") ==
		    0 ? NULL : "{}", &a);
		cr_assert(a.status != 404 && a.status != 405,
		    "%s %s (documented as %s): %d", ops[i].method, path,
		    ops[i].path, a.status);
		harness_reply_free(&a);
	}
	harness_reply_free(&r);
}

Test(api, statements_and_latency_are_measured)
{
	struct harness_reply	 r;
	PGconn			*c;
	json_t			*doc;

	c = harness_db_runner();
	db_saga(c, "met-1", "T_METRICS", "FAILED", "2026-11-26T13:00:00Z");
	PQfinish(c);

	doc = get_ok("/api/v1/sagas?sagaType=T_METRICS&limit=1");
	json_decref(doc);
	http_call("GET", "/api/v1/sagas/metrics-none", NULL, &r);
	harness_reply_free(&r);
	doc = get_ok("/api/v1/sagas/met-1");
	json_decref(doc);

	http_call("GET", "/actuator/prometheus", NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.body, "saga_tracker_db_query_seconds_count"
	    "{query=\"list_sagas\"}"), "no list_sagas");
	cr_assert_not_null(strstr(r.body, "saga_tracker_db_query_seconds_count"
	    "{query=\"get_saga\"}"), "no get_saga");
	cr_assert_null(strstr(r.body, "{query=\"get_saga_events\"}"),
	    "a saga and its events are read by one statement");
	cr_assert_not_null(strstr(r.body, "saga_tracker_api_latency_seconds_"
	    "count{endpoint=\"/api/v1/sagas/{sagaId}\",method=\"GET\","
	    "code=\"200\"}"), "no latency of the saga route template");
	cr_assert_not_null(strstr(r.body, "saga_tracker_api_latency_seconds_"
	    "count{endpoint=\"/api/v1/sagas/{sagaId}\",method=\"GET\","
	    "code=\"404\"}"), "an error answer is not counted by its code");
	cr_assert_not_null(strstr(r.body, "saga_tracker_api_latency_seconds_"
	    "count{endpoint=\"/api/v1/sagas\",method=\"GET\",code=\"200\"}"));
	cr_assert_null(strstr(r.body, "endpoint=\"/api/v1/sagas/met-1\""),
	    "a raw path became a label");
	harness_reply_free(&r);
}

static void
log_path(const struct harness_env *env, char *path, size_t len)
{
	(void)snprintf(path, len, "%s/postgres.log", env->pg_dir);
}

/* Lines of the PostgreSQL log from byte from on with both a and b. */
static int
log_lines(const struct harness_env *env, size_t from, const char *a,
    const char *b)
{
	char		 path[256], *text, *line, *end;
	size_t		 len;
	int		 n;

	log_path(env, path, sizeof(path));
	text = harness_read_file(path, &len);
	cr_assert_not_null(text, "%s: cannot read", path);
	n = 0;
	for (line = text + (from < len ? from : len); *line != '\0';
	    line = end + (*end != '\0')) {
		end = line + strcspn(line, "\n");
		if (memmem(line, (size_t)(end - line), a, strlen(a)) != NULL &&
		    memmem(line, (size_t)(end - line), b, strlen(b)) != NULL)
			n++;
	}
	free(text);

	return (n);
}

static size_t
log_size(const struct harness_env *env)
{
	struct stat	st;
	char		path[256];

	log_path(env, path, sizeof(path));
	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));

	return ((size_t)st.st_size);
}

/*
 * A statement is parsed and planned once per connection: later requests
 * execute it by name.  PostgreSQL logs every statement for the test
 * (each backend takes the setting after its next command, hence the
 * warm-up); of 40 requests for one saga each is an execution of the
 * prepared statement, and at most one PREPARE per connection of the two
 * workers (pgsql_conn_max 4) is among them.
 */
Test(api, statements_are_prepared_once_per_connection)
{
	struct harness_env	 env;
	PGconn			*c;
	json_t			*doc;
	size_t			 from;
	int			 i, named, parsed, unnamed;
	const char		*text;

	text = "array_to_string(ARRAY(SELECT row_to_json";
	harness_env(&env);
	c = harness_db_runner();
	db_saga(c, "prep-1", "T_PREP", "STARTED", "2026-11-28T10:00:00Z");
	harness_db_exec(c,
	    "ALTER SYSTEM SET log_min_duration_statement = 0");
	harness_db_exec(c, "SELECT pg_reload_conf()");
	for (i = 0; i < 40; i++) {
		doc = get_ok("/api/v1/sagas/prep-1");
		json_decref(doc);
	}

	from = log_size(&env);
	for (i = 0; i < 40; i++) {
		doc = get_ok("/api/v1/sagas/prep-1");
		cr_assert_str_eq(json_string_value(json_object_get(doc,
		    "sagaId")), "prep-1");
		json_decref(doc);
	}
	named = log_lines(&env, from, "execute st_", text);
	parsed = log_lines(&env, from, "parse st_", text);
	unnamed = log_lines(&env, from, "execute <unnamed>", text);

	harness_db_exec(c, "ALTER SYSTEM RESET log_min_duration_statement");
	harness_db_exec(c, "SELECT pg_reload_conf()");
	PQfinish(c);

	cr_assert_eq(unnamed, 0, "%d of 40 executions were of the text",
	    unnamed);
	cr_assert_geq(named, 32, "only %d of 40 executions logged by name",
	    named);
	cr_assert_leq(parsed, 8, "%d PREPAREs for 40 requests", parsed);
}

static int	log_statement_once(const struct harness_env *, size_t,
		    char **, char [][128], int);

/*
 * The statement of the last request in the log from byte from on: its
 * text into sql, its parameters (the DETAIL line after it) into
 * values; returns their number.  PostgreSQL may write the line after
 * the client has its answer: the log is read again until it is there.
 */
static int
log_statement(const struct harness_env *env, size_t from, char **sql,
    char values[][128], int max)
{
	int		n, tries;

	for (tries = 0; tries < 500; tries++) {
		if ((n = log_statement_once(env, from, sql, values, max)) != -1)
			return (n);
		(void)usleep(10000);
	}
	cr_assert_fail("no execution of a prepared statement in the log");

	return (-1);
}

/* log_statement(), or -1 when the log has no execution yet. */
static int
log_statement_once(const struct harness_env *env, size_t from, char **sql,
    char values[][128], int max)
{
	char		 path[256], *text, *line, *end, *p, *v;
	size_t		 len;
	int		 n, last;

	log_path(env, path, sizeof(path));
	text = harness_read_file(path, &len);
	cr_assert_not_null(text, "%s: cannot read", path);
	*sql = NULL;
	n = 0;
	for (line = text + (from < len ? from : len); *line != '\0';
	    line = end + last) {
		end = line + strcspn(line, "\n");
		last = *end != '\0';
		*end = '\0';
		if ((p = strstr(line, "execute st_")) != NULL &&
		    (p = strstr(p, ": ")) != NULL) {
			free(*sql);
			*sql = strdup(p + 2);
			n = 0;
		} else if (*sql != NULL &&
		    (p = strstr(line, "DETAIL:  parameters: ")) != NULL) {
			/* $1 = 'a', $2 = 'b': the values have no quotes. */
			while (n < max && (p = strstr(p, " = '")) != NULL) {
				v = p + 4;
				p = v + strcspn(v, "'");
				(void)snprintf(values[n++], 128, "%.*s",
				    (int)(p - v), v);
			}
		}
	}
	free(text);

	return (*sql != NULL ? n : -1);
}

/* generic_plans of the statement after 8 executions of sql here. */
static long long
generic_plans(PGconn *c, const char *sql, char values[][128], int n)
{
	PGresult	*res;
	const char	*params[8];
	long long	 plans;
	int		 i;

	for (i = 0; i < n && i < 8; i++)
		params[i] = values[i];
	res = PQprepare(c, "plan_probe", sql, 0, NULL);
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s: %s", sql,
	    PQerrorMessage(c));
	PQclear(res);
	for (i = 0; i < 8; i++) {
		res = PQexecPrepared(c, "plan_probe", n, params, NULL, NULL, 0);
		cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s: %s",
		    sql, PQerrorMessage(c));
		PQclear(res);
	}
	plans = harness_db_count(c, "SELECT generic_plans FROM "
	    "pg_prepared_statements WHERE name = 'plan_probe'");
	harness_db_exec(c, "DEALLOCATE plan_probe");

	return (plans);
}

/*
 * A list statement keeps one plan: PostgreSQL does not plan it again at
 * every execution.  The test takes the statement a request sent from
 * the log, prepares it on its own connection and executes it as often
 * as the service would; after five plans for the values, PostgreSQL
 * keeps its generic plan unless that plan looks dearer.  With the
 * page's limit a parameter it did (the plan was costed for 10 % of the
 * rows), and planning cost more than executing at 10^7 sagas; with
 * fromDate and toDate as two plain comparisons it did too (costed as a
 * range of 0.5 % of the rows; api.c writes toDate as a row comparison).
 */
Test(api, list_statements_keep_one_plan)
{
	struct harness_env	 env;
	PGconn			*c;
	json_t			*doc;
	char			 path[PATH_MAX_LEN], values[8][128], *sql;
	const char		*paths[3], *cursor;
	size_t			 from;
	int			 i, n;

	harness_env(&env);
	c = harness_db_runner();
	harness_db_exec(c, "INSERT INTO saga_instance (saga_id, saga_type,"
	    " order_id, status, current_step, started_at, updated_at) "
	    "SELECT 'plan-' || g, 'T_PLAN', 'plan-order-' || g % 50,"
	    " CASE WHEN g % 4 = 0 THEN 'FAILED' ELSE 'COMPLETED' END,"
	    " 'STEP_X', t, t FROM generate_series(1, 2000) g,"
	    " LATERAL (SELECT timestamptz '2020-01-01' + g * interval"
	    " '1 minute' AS t) x");
	harness_db_exec(c, "ANALYZE saga_instance");
	harness_db_exec(c,
	    "ALTER SYSTEM SET log_min_duration_statement = 0");
	harness_db_exec(c, "SELECT pg_reload_conf()");

	doc = get_ok("/api/v1/sagas?sagaType=T_PLAN&limit=5");
	cursor = json_string_value(json_object_get(doc, "nextCursor"));
	cr_assert_not_null(cursor, "no nextCursor on page 1");
	(void)snprintf(path, sizeof(path),
	    "/api/v1/sagas?sagaType=T_PLAN&limit=5&cursor=%s", cursor);
	json_decref(doc);
	paths[0] = "/api/v1/sagas?status=FAILED&sagaType=T_PLAN&limit=20";
	paths[1] = path;
	paths[2] = "/api/v1/sagas?fromDate=2020-01-01T12:00:00Z"
	    "&toDate=2020-01-02&limit=20";
	for (i = 0; i < 60; i++)
		json_decref(get_ok("%s", paths[i % 3]));

	for (i = 0; i < 3; i++) {
		from = log_size(&env);
		json_decref(get_ok("%s", paths[i]));
		n = log_statement(&env, from, &sql, values, 8);
		cr_assert_gt(generic_plans(c, sql, values, n), 0,
		    "%s is planned at every execution: %s", paths[i], sql);
		free(sql);
	}

	harness_db_exec(c, "ALTER SYSTEM RESET log_min_duration_statement");
	harness_db_exec(c, "SELECT pg_reload_conf()");
	PQfinish(c);
}

static int
get_200_or_503(const char *path)
{
	struct harness_reply	r;
	int			status;

	http_call("GET", path, NULL, &r);
	status = r.status;
	if (status != 200)
		check_problem(&r, 503, NULL, path);
	harness_reply_free(&r);

	return (status);
}

/* Kill the service's pooled connections under it. */
static void
service_connections_killed(void)
{
	PGconn		*c;
	PGresult	*res;
	int64_t		 deadline;
	long long	 left;
	char		 pids[1024], sql[1200];

	c = harness_db_runner();
	res = PQexec(c, "SELECT coalesce(array_agg(pid), '{}') FROM"
	    " pg_stat_activity WHERE datname = current_database() AND"
	    " pid <> pg_backend_pid() AND backend_type = 'client backend'");
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s",
	    PQerrorMessage(c));
	(void)snprintf(pids, sizeof(pids), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	cr_assert_neq(strcmp(pids, "{}"), 0, "the service has no connection");
	(void)snprintf(sql, sizeof(sql), "SELECT count(pg_terminate_backend("
	    "pid)) FROM unnest('%s'::int[]) AS pid", pids);
	harness_db_exec(c, sql);
	/* Until the backends have exited: their sockets are closed then. */
	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
	    "pg_stat_activity WHERE pid = ANY ('%s'::int[])", pids);
	deadline = harness_now_ms() + 10000;
	while ((left = harness_db_count(c, sql)) > 0 &&
	    harness_now_ms() < deadline)
		harness_sleep_ms(10);
	cr_assert_eq(left, 0, "backends %s still there after 10 s", pids);
	PQfinish(c);
}

/*
 * A list's text differs by its limit and statuses, so a client can make
 * more texts than a connection records (stmtcache.h: 256).  1,500 of
 * them, more than the 4 connections of the worker that serves this
 * client can prepare, are all answered right, and the texts past the
 * bound run unprepared.
 */
Test(api, more_texts_than_a_connection_prepares_run_unprepared)
{
	struct harness_env	 env;
	PGconn			*c;
	json_t			*doc;
	size_t			 from;
	int			 i, limit, ok, unnamed;
	const char		*status[] = { "", "&status=FAILED",
				    "&status=COMPLETED,FAILED" };
	const int		 found[] = { 40, 10, 40 };

	harness_env(&env);
	c = harness_db_runner();
	harness_db_exec(c, "INSERT INTO saga_instance (saga_id, saga_type,"
	    " status, current_step, started_at, updated_at) "
	    "SELECT 'texts-' || g, 'T_TEXTS',"
	    " CASE WHEN g % 4 = 0 THEN 'FAILED' ELSE 'COMPLETED' END,"
	    " 'STEP_X', t, t FROM generate_series(1, 40) g,"
	    " LATERAL (SELECT timestamptz '2020-02-01' + g * interval"
	    " '1 minute' AS t) x");
	harness_db_exec(c,
	    "ALTER SYSTEM SET log_min_duration_statement = 0");
	harness_db_exec(c, "SELECT pg_reload_conf()");
	from = log_size(&env);

	for (i = 0; i < 1500; i++) {
		limit = 1 + i / 3;
		doc = get_ok("/api/v1/sagas?sagaType=T_TEXTS&limit=%d%s",
		    limit, status[i % 3]);
		cr_assert_eq(json_array_size(json_object_get(doc, "items")),
		    (size_t)(limit < found[i % 3] ? limit : found[i % 3]),
		    "limit=%d%s: wrong number of items", limit, status[i % 3]);
		json_decref(doc);
	}
	unnamed = log_lines(&env, from, "execute <unnamed>",
	    "i.saga_type = $1");

	harness_db_exec(c, "ALTER SYSTEM RESET log_min_duration_statement");
	harness_db_exec(c, "SELECT pg_reload_conf()");
	PQfinish(c);

	cr_assert_gt(unnamed, 0, "no text ran unprepared: the bound was "
	    "never reached");

	/*
	 * The other tests share this service: new connections, with empty
	 * records, for them.  Each lost one answers one 503.
	 */
	service_connections_killed();
	for (i = ok = 0; i < 64 && ok < 8; i++)
		ok = get_200_or_503("/api/v1/sagas?limit=1") == 200 ?
		    ok + 1 : 0;
	cr_assert_eq(ok, 8, "no 8 answers in a row after the connections "
	    "were renewed");
}

Test(api, database_outage_is_a_503_problem_then_recovers)
{
	struct harness_env	 env;
	json_t			*doc;
	const char		*series;
	double			 before, after;
	int			 i;

	harness_env(&env);
	series = "saga_tracker_api_latency_seconds_count{endpoint="
	    "\"/api/v1/sagas/{sagaId}\",method=\"GET\",code=\"503\"}";
	before = harness_metric(&env, series);
	cr_assert_eq(harness_pg_stop(&env), 0, "pg_ctl stop failed");

	/* Several calls: every worker and pooled connection notices. */
	for (i = 0; i < 6; i++) {
		expect_problem("GET", "/api/v1/sagas?limit=1", 503, NULL);
		expect_problem("GET", "/api/v1/sagas/any-id", 503, NULL);
	}
	/* The availability SLO counts them by their code. */
	after = harness_metric(&env, series);
	cr_assert_eq(after - before, 6.0, "before %g, after %g", before,
	    after);

	cr_assert_eq(harness_pg_start_again(&env), 0, "pg_ctl start failed");
	for (i = 0; i < 8; i++) {
		doc = get_ok("/api/v1/sagas?limit=1");
		json_decref(doc);
		expect_problem("GET", "/api/v1/sagas/still-unknown", 404,
		    "still-unknown");
	}
}

Test(api, a_failing_statement_is_a_500_problem_then_recovers)
{
	PGconn		*c;
	json_t		*doc;
	int		 i;

	c = harness_db_runner();
	db_saga(c, "fail-1", "T_FAIL", "FAILED", "2026-11-27T10:00:00Z");

	/* The saga's row is found; the statement for its events fails. */
	harness_db_execv(c,
	    "ALTER TABLE saga_event RENAME TO saga_event_away", 0, NULL);
	for (i = 0; i < 4; i++)
		expect_problem("GET", "/api/v1/sagas/fail-1", 500,
		    "query failed");
	harness_db_execv(c,
	    "ALTER TABLE saga_event_away RENAME TO saga_event", 0, NULL);

	doc = get_ok("/api/v1/sagas/fail-1");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "sagaId")),
	    "fail-1");
	json_decref(doc);
	PQfinish(c);
}

/* GET path: a 200, or a 503 problem when the connection was lost. */
Test(api, lost_database_connections_are_503_not_crashes)
{
	int		i, ok;

	for (i = 0; i < 16; i++) {
		cr_assert_eq(get_200_or_503("/api/v1/sagas?limit=1"), 200);
		expect_problem("GET", "/api/v1/sagas/lost-1", 404, "lost-1");
	}

	service_connections_killed();

	for (i = ok = 0; i < 24; i++) {
		if (get_200_or_503("/api/v1/sagas?limit=1") == 200)
			ok++;
	}
	cr_assert_geq(ok, 8, "only %d of 24 answers after the loss were 200",
	    ok);
	for (i = 0; i < 8; i++)
		cr_assert_eq(get_200_or_503("/api/v1/sagas?limit=1"), 200);
}
