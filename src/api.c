/*
 * api: GET /api/v1/sagas, GET /api/v1/sagas/{sagaId} and the OpenAPI
 * document (see api.h for the behaviour).
 *
 * The query string is parsed by querystring.h rather than through
 * kore's params and validators, which drop an invalid value silently:
 * every unknown, repeated, empty or invalid parameter must be a 400
 * that names it.  The functions param_* here judge each value.
 *
 * Statements run through kore's async pgsql (dbquery.h), prepared once
 * per connection, as a small state machine per request.  A value the
 * client sent is always a numbered parameter; the page's row limit and
 * the status names (checked integers and the service's own names) are
 * constants in the text, so that PostgreSQL can keep one plan per
 * prepared statement instead of planning each execution.
 * PostgreSQL formats each row as JSON (row_to_json); the handlers copy
 * the rows into one body and add the envelope.
 */

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/pgsql.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "app.h"
#include "assets.h"
#include "cursor.h"
#include "dbquery.h"
#include "querystring.h"
#include "metrics.h"
#include "respond.h"
#include "rfc3339.h"
#include "saga.h"
#include "utf8.h"

#define API_ROUTE_LIST		"/api/v1/sagas"
#define API_ROUTE_SAGA		"/api/v1/sagas/{sagaId}"
#define API_ROUTE_OPENAPI	"/api/v1/openapi.yaml"
#define API_SAGA_PREFIX		"/api/v1/sagas/"
#define API_YAML_TYPE		"application/yaml; charset=utf-8"
#define API_ID_CHARS		"ABCDEFGHIJKLMNOPQRSTUVWXYZ"		\
				    "abcdefghijklmnopqrstuvwxyz0123456789_-"

#define API_LIMIT_DEFAULT	50
#define API_LIMIT_MAX		500
#define API_MS_PER_DAY		86400000LL

#define API_SQL_PARAMS		9
#define API_SQL_MAX		2048
#define API_DETAIL_MAX		512
#define API_CANON_MAX		1024
#define API_BODY_SLACK		(CURSOR_TEXT_MAX + 64)

/*
 * UTC text of a timestamptz column, e.g. 2026-11-27T10:00:01.000Z.  The
 * colons are quoted literals: no ":MI" in the text, which pgbench would
 * take for a variable (tests/bench/bench_api.sh runs this statement).
 */
#define API_TS(col)		"to_char(" col " AT TIME ZONE 'UTC', "	\
				    "'YYYY-MM-DD\"T\""			\
				    "HH24\":\"MI\":\"SS.MS\"Z\"')"

/* A timestamptz from an int8 parameter of ms / us since the epoch. */
#define API_MS_TS		"(timestamptz 'epoch' + ($%d::int8 / "	\
				    "1000) * interval '1 second'"	\
				    " + ($%d::int8 %% 1000)"		\
				    " * interval '1 millisecond')"
#define API_US_TS		"(timestamptz 'epoch' + ($%d::int8 / "	\
				    "1000000) * interval '1 second'"	\
				    " + ($%d::int8 %% 1000000)"		\
				    " * interval '1 microsecond')"

/* The Saga object of the row i as j (SPEC §2), for row_to_json(j). */
#define API_SAGA_JSON							\
	"CROSS JOIN LATERAL (SELECT i.saga_id AS \"sagaId\","		\
	" NULLIF(i.saga_type, '') AS \"sagaType\","			\
	" NULLIF(i.order_id, '') AS \"orderId\","			\
	" i.status AS \"status\","					\
	" NULLIF(i.current_step, '') AS \"currentStep\","		\
	" " API_TS("i.started_at") " AS \"startedAt\","			\
	" " API_TS("i.updated_at") " AS \"updatedAt\","			\
	" " API_TS("i.failed_at") " AS \"failedAt\","			\
	" " API_TS("i.compensated_at") " AS \"compensatedAt\","		\
	" " API_TS("i.completed_at") " AS \"completedAt\","		\
	" NULLIF(i.trace_id, '') AS \"traceId\","			\
	" i.failure_reason AS \"failureReason\","			\
	" i.metadata AS \"metadata\") j"

static const char sql_list_head[] =
	"SELECT row_to_json(j)::text,"
	" (extract(epoch FROM i.updated_at) * 1000000)::int8, i.saga_id "
	"FROM saga_instance i " API_SAGA_JSON;

/*
 * One saga and its events in one statement, so both are read from one
 * snapshot (two statements could show a COMPENSATED saga without the
 * event that made it so) and in one round trip: the Saga object, then
 * its events as one comma-separated list of objects ('' when none).
 */
static const char sql_get_saga[] =
	"SELECT row_to_json(j)::text, array_to_string(ARRAY("
	"SELECT row_to_json(k)::text FROM saga_event e "
	"CROSS JOIN LATERAL (SELECT e.event_id AS \"eventId\","
	" e.step AS \"step\", e.status AS \"status\","
	" " API_TS("e.occurred_at") " AS \"occurredAt\","
	" " API_TS("e.received_at") " AS \"receivedAt\","
	" e.source AS \"source\", e.metadata AS \"metadata\") k "
	"WHERE e.saga_id = i.saga_id ORDER BY e.occurred_at, e.event_id), ',')"
	" FROM saga_instance i " API_SAGA_JSON " WHERE i.saga_id = $1";

/* Head of every request state here: the body being built. */
struct api_state {
	struct respond_ctx	ctx;
	struct kore_buf		*body;
};

/* The filters of GET /api/v1/sagas, normalised. */
struct list_query {
	unsigned int		statuses;	/* bit (1 << status); 0: any */
	int			has_from;
	int			has_to;
	int64_t			from_ms;	/* updated_at >= from_ms */
	int64_t			to_ms;		/* updated_at < to_ms */
	char			order_id[SAGA_UTF8_SIZE(SAGA_ORDER_ID_MAX)];
	char			saga_type[SAGA_UTF8_SIZE(SAGA_TYPE_MAX)];
	char			step[SAGA_STEP_MAX + 1];
	int			limit;
	char			cursor[CURSOR_TEXT_MAX];
	struct cursor_pos	after;
	uint64_t		fp;
};

/* A statement under construction: text and numbered parameters. */
struct sql_build {
	char			text[API_SQL_MAX];
	size_t			len;
	int			overflow;
	int			where;
	int			n;
	const char		*values[API_SQL_PARAMS];
	char			nums[API_SQL_PARAMS][24];
};

struct list_state {
	struct api_state	base;
	struct dbquery		sql;
	struct list_query	q;
	struct sql_build	b;
	int			rows;
	int			more;
	struct cursor_pos	next;
};

struct saga_state_get {
	struct api_state	base;
	struct dbquery		saga;
	char			id[SAGA_ID_MAX + 1];
	const char		*values[1];
	int			found;
};

#define LIST_STATE_SETUP	0
#define LIST_STATE_WAIT		1
#define LIST_STATE_READ		2
#define LIST_STATE_REPLY	3
#define LIST_STATE_COUNT	4

#define GET_STATE_SAGA		0
#define GET_STATE_SAGA_WAIT	1
#define GET_STATE_SAGA_READ	2
#define GET_STATE_REPLY		3
#define GET_STATE_COUNT		4

static void	*api_begin(struct http_request *, const char *, size_t);
static void	api_state_free(struct http_request *);
static void	api_body_reserve(struct api_state *, size_t);
static void	api_body_append(struct api_state *, const void *, size_t);
static void	api_body_reserve_rows(struct api_state *, struct kore_pgsql *);


static long	api_utf8_count(const char *);

static int	param_status(void *, char *, char *, size_t);
static int	param_time(const char *, char *, int, int64_t *, char *,
		    size_t);
static int	param_from(void *, char *, char *, size_t);
static int	param_to(void *, char *, char *, size_t);
static int	param_text(const char *, char *, char *, size_t, char *,
		    size_t);
static int	param_order_id(void *, char *, char *, size_t);
static int	param_saga_type(void *, char *, char *, size_t);
static int	param_step(void *, char *, char *, size_t);
static int	param_limit(void *, char *, char *, size_t);
static int	param_cursor(void *, char *, char *, size_t);

static int	list_prepare(struct list_query *, char *, size_t);
static uint64_t	list_fingerprint(const struct list_query *);
static void	sql_cat(struct sql_build *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	sql_where(struct sql_build *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	sql_param(struct sql_build *, const char *);
static int	sql_param_i64(struct sql_build *, int64_t);
static void	list_sql_status(const struct list_query *,
		    struct sql_build *);
static void	list_sql(struct list_state *);

static int	list_begin(struct http_request *);
static int	list_setup(struct http_request *);
static int	list_wait(struct http_request *);
static int	list_read(struct http_request *);
static int	list_row(struct list_state *, int);
static int	list_reply(struct http_request *);

static int	get_begin(struct http_request *);
static int	get_saga(struct http_request *);
static int	get_saga_wait(struct http_request *);
static int	get_saga_read(struct http_request *);
static int	get_reply(struct http_request *);

static const char list_known[] =
    "status, fromDate, toDate, orderId, sagaType, step, limit, cursor";

static const struct querystring_param list_params[] = {
	{ "status",	param_status },
	{ "fromDate",	param_from },
	{ "toDate",	param_to },
	{ "orderId",	param_order_id },
	{ "sagaType",	param_saga_type },
	{ "step",	param_step },
	{ "limit",	param_limit },
	{ "cursor",	param_cursor },
};

#define LIST_PARAM_COUNT	(sizeof(list_params) / sizeof(list_params[0]))

static struct http_state	list_states[] = {
	KORE_HTTP_STATE(list_setup),
	KORE_HTTP_STATE(list_wait),
	KORE_HTTP_STATE(list_read),
	KORE_HTTP_STATE(list_reply),
};

static struct http_state	get_states[] = {
	KORE_HTTP_STATE(get_saga),
	KORE_HTTP_STATE(get_saga_wait),
	KORE_HTTP_STATE(get_saga_read),
	KORE_HTTP_STATE(get_reply),
};

/* --- request state, method, body ------------------------------------ */

static void *
api_begin(struct http_request *req, const char *route, size_t statelen)
{
	struct api_state	*st;

	st = respond_begin(req, route, statelen);
	req->onfree = api_state_free;

	return (st);
}

/* kore frees the state itself; what it points to is freed here. */
static void
api_state_free(struct http_request *req)
{
	struct api_state	*st;

	if ((st = http_state_get(req)) != NULL && st->body != NULL) {
		kore_buf_free(st->body);
		st->body = NULL;
	}
}

/*
 * Make room for len more bytes at once: kore_buf_append() alone grows
 * the buffer by exactly what is appended, a realloc per row.
 */
static void
api_body_reserve(struct api_state *st, size_t len)
{
	struct kore_buf		*b;

	if (st->body == NULL) {
		st->body = kore_buf_alloc(len > 0 ? len : 1);
		return;
	}

	b = st->body;
	if (b->length - b->offset < len) {
		b->length = b->offset + len;
		b->data = kore_realloc(b->data, b->length);
	}
}

static void
api_body_append(struct api_state *st, const void *data, size_t len)
{
	api_body_reserve(st, len);
	kore_buf_append(st->body, data, len);
}

/* Room for rows of column 0 of pg, a comma each, and slack. */
static void
api_body_reserve_rows(struct api_state *st, struct kore_pgsql *pg)
{
	size_t		len;
	int		i, n;

	len = API_BODY_SLACK;
	n = kore_pgsql_ntuples(pg);
	for (i = 0; i < n; i++)
		len += (size_t)kore_pgsql_getlength(pg, i, 0) + 1;

	api_body_reserve(st, len);
}

/* --- query string ------------------------------------------------------ */

/*
 * Code points in s if it is valid UTF-8 (no overlong forms, surrogates
 * or values past U+10FFFF) free of control characters, else -1.
 */
static long
api_utf8_count(const char *s)
{
	size_t		 len, k;
	uint32_t	 cp;
	long		 n;

	len = strlen(s);
	for (n = 0; len > 0; n++, s += k, len -= k) {
		if ((k = utf8_decode(s, len, &cp)) == 0)
			return (-1);
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return (-1);
	}

	return (n);
}

/* --- the parameters of GET /api/v1/sagas -------------------------------- */

static int
param_status(void *arg, char *v, char *detail, size_t len)
{
	struct list_query	*q = arg;
	enum saga_status	 status;
	char			*item, *next, quoted[QUERYSTRING_QUOTE_MAX];

	for (item = v; item != NULL; item = next) {
		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		if (saga_status_parse(item, &status) == -1) {
			querystring_quote(item, quoted, sizeof(quoted));
			(void)snprintf(detail, len, "status: '%s' is not one "
			    "of STARTED, IN_PROGRESS, COMPLETED, FAILED, "
			    "COMPENSATING, COMPENSATED", quoted);
			return (-1);
		}
		q->statuses |= 1U << status;
	}

	return (0);
}

/*
 * An RFC 3339 date-time, or a full-date meaning the UTC day: its first
 * millisecond, or for an upper bound (is_to) the first one after it.
 * *ms is an inclusive lower or an exclusive upper bound.
 */
static int
param_time(const char *name, char *v, int is_to, int64_t *ms, char *detail,
    size_t len)
{
	const char	*why, *text;
	char		 buf[32], quoted[QUERYSTRING_QUOTE_MAX];
	int		 full_date;

	full_date = strlen(v) == 10 && v[4] == '-' && v[7] == '-' &&
	    strspn(v, "0123456789-") == 10;
	text = v;
	if (full_date) {
		(void)snprintf(buf, sizeof(buf), "%sT00:00:00Z", v);
		text = buf;
	}

	if (rfc3339_parse(text, ms, &why) == -1) {
		querystring_quote(v, quoted, sizeof(quoted));
		(void)snprintf(detail, len, "%s: '%s' is not an RFC 3339 "
		    "date-time or full-date (YYYY-MM-DD): %s%s", name, quoted,
		    why, strchr(v, ' ') != NULL ? " (a '+' in a query string "
		    "is a space: write %2B)" : "");
		return (-1);
	}

	if (is_to)
		*ms += full_date ? API_MS_PER_DAY : 1;

	return (0);
}

static int
param_from(void *arg, char *v, char *detail, size_t len)
{
	struct list_query	*q = arg;

	q->has_from = 1;
	return (param_time("fromDate", v, 0, &q->from_ms, detail, len));
}

static int
param_to(void *arg, char *v, char *detail, size_t len)
{
	struct list_query	*q = arg;

	q->has_to = 1;
	return (param_time("toDate", v, 1, &q->to_ms, detail, len));
}

/* 1..64 code points of UTF-8 without control characters into dst. */
static int
param_text(const char *name, char *v, char *dst, size_t dstlen,
    char *detail, size_t len)
{
	long		n;

	if ((n = api_utf8_count(v)) == -1) {
		(void)snprintf(detail, len, "%s: not UTF-8 text without "
		    "control characters", name);
		return (-1);
	}
	if (n > 64 || strlen(v) >= dstlen) {
		(void)snprintf(detail, len, "%s: longer than 64 characters",
		    name);
		return (-1);
	}
	(void)kore_strlcpy(dst, v, dstlen);

	return (0);
}

static int
param_order_id(void *arg, char *v, char *detail, size_t len)
{
	struct list_query	*q = arg;

	return (param_text("orderId", v, q->order_id, sizeof(q->order_id),
	    detail, len));
}

static int
param_saga_type(void *arg, char *v, char *detail, size_t len)
{
	struct list_query	*q = arg;

	return (param_text("sagaType", v, q->saga_type, sizeof(q->saga_type),
	    detail, len));
}

static int
param_step(void *arg, char *v, char *detail, size_t len)
{
	struct list_query	*q = arg;
	char			 quoted[QUERYSTRING_QUOTE_MAX];
	size_t			 n;

	n = strlen(v);
	if (n > SAGA_STEP_MAX ||
	    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != n) {
		querystring_quote(v, quoted, sizeof(quoted));
		(void)snprintf(detail, len, "step: '%s' does not match "
		    "[A-Z0-9_]{1,64}", quoted);
		return (-1);
	}
	(void)kore_strlcpy(q->step, v, sizeof(q->step));

	return (0);
}

static int
param_limit(void *arg, char *v, char *detail, size_t len)
{
	struct list_query	*q = arg;
	char			 quoted[QUERYSTRING_QUOTE_MAX];
	size_t			 n;

	n = strlen(v);
	if (n > 6 || strspn(v, "0123456789") != n ||
	    atoi(v) < 1 || atoi(v) > API_LIMIT_MAX) {
		querystring_quote(v, quoted, sizeof(quoted));
		(void)snprintf(detail, len, "limit: '%s' is not an integer "
		    "from 1 to %d", quoted, API_LIMIT_MAX);
		return (-1);
	}
	q->limit = atoi(v);

	return (0);
}

/* Kept as text: it is checked against the other filters at the end. */
static int
param_cursor(void *arg, char *v, char *detail, size_t len)
{
	struct list_query	*q = arg;

	if (kore_strlcpy(q->cursor, v, sizeof(q->cursor)) >=
	    sizeof(q->cursor)) {
		(void)snprintf(detail, len, "cursor: not a cursor of this "
		    "service (use nextCursor unchanged)");
		return (-1);
	}

	return (0);
}

/* Checks that need all the parameters: the range and the cursor. */
static int
list_prepare(struct list_query *q, char *detail, size_t len)
{
	if (q->has_from && q->has_to && q->from_ms >= q->to_ms) {
		(void)snprintf(detail, len, "fromDate: after toDate");
		return (-1);
	}

	q->fp = list_fingerprint(q);
	if (q->cursor[0] == '\0')
		return (0);

	switch (cursor_decode(q->cursor, q->fp, &q->after)) {
	case CURSOR_OK:
		return (0);
	case CURSOR_OTHER_FILTERS:
		(void)snprintf(detail, len, "cursor: issued for other filters "
		    "(status, fromDate, toDate, orderId, sagaType and step "
		    "must stay the same while paging)");
		return (-1);
	default:
		(void)snprintf(detail, len, "cursor: not a cursor of this "
		    "service (use nextCursor unchanged)");
		return (-1);
	}
}

/* Every filter, normalised; not the limit, which may change. */
static uint64_t
list_fingerprint(const struct list_query *q)
{
	char		canon[API_CANON_MAX];
	int		n;

	n = snprintf(canon, sizeof(canon), "s%x|f%d:%" PRId64 "|t%d:%"
	    PRId64 "|o%zu:%s|y%zu:%s|p%zu:%s", q->statuses, q->has_from,
	    q->has_from ? q->from_ms : 0, q->has_to,
	    q->has_to ? q->to_ms : 0, strlen(q->order_id), q->order_id,
	    strlen(q->saga_type), q->saga_type, strlen(q->step), q->step);
	if (n < 0 || (size_t)n >= sizeof(canon))
		n = sizeof(canon) - 1;

	return (cursor_fingerprint(canon, (size_t)n));
}

/* --- the list statement ------------------------------------------------ */

static void
sql_cat(struct sql_build *b, const char *fmt, ...)
{
	va_list		ap;
	int		n;

	va_start(ap, fmt);
	n = vsnprintf(b->text + b->len, sizeof(b->text) - b->len, fmt, ap);
	va_end(ap);

	if (n < 0 || (size_t)n >= sizeof(b->text) - b->len)
		b->overflow = 1;
	else
		b->len += (size_t)n;
}

static void
sql_where(struct sql_build *b, const char *fmt, ...)
{
	va_list		ap;
	char		clause[256];
	int		n;

	va_start(ap, fmt);
	n = vsnprintf(clause, sizeof(clause), fmt, ap);
	va_end(ap);

	if (n < 0 || (size_t)n >= sizeof(clause))
		b->overflow = 1;

	sql_cat(b, "%s%s", b->where ? " AND " : " WHERE ", clause);
	b->where = 1;
}

/* Add a text parameter (kept by the caller); returns its $number. */
static int
sql_param(struct sql_build *b, const char *value)
{
	if (b->n == API_SQL_PARAMS) {
		b->overflow = 1;
		return (API_SQL_PARAMS);
	}
	b->values[b->n++] = value;

	return (b->n);
}

static int
sql_param_i64(struct sql_build *b, int64_t v)
{
	if (b->n == API_SQL_PARAMS) {
		b->overflow = 1;
		return (API_SQL_PARAMS);
	}
	(void)snprintf(b->nums[b->n], sizeof(b->nums[b->n]), "%" PRId64, v);

	return (sql_param(b, b->nums[b->n]));
}

/*
 * The statuses as constants: i.status = 'FAILED', or IN ('FAILED',
 * 'COMPENSATING').  There are few such texts, and with the values in
 * them PostgreSQL's plan of the prepared statement is the plan for
 * those values; rare and common statuses need different plans.  The
 * names are the service's own and need no quoting.
 */
static void
list_sql_status(const struct list_query *q, struct sql_build *b)
{
	char		 names[96];
	size_t		 len;
	int		 s, count;

	len = 0;
	names[0] = '\0';
	for (s = count = 0; s < SAGA_STATUS_COUNT; s++) {
		if (!(q->statuses & (1U << s)))
			continue;
		len += (size_t)snprintf(names + len, sizeof(names) - len,
		    "%s'%s'", count++ == 0 ? "" : ", ",
		    saga_status_name((enum saga_status)s));
	}
	if (count == 1)
		sql_where(b, "i.status = %s", names);
	else if (count > 1)
		sql_where(b, "i.status IN (%s)", names);
}

static void
list_sql(struct list_state *st)
{
	struct list_query	*q = &st->q;
	struct sql_build	*b = &st->b;
	int			 p;

	sql_cat(b, "%s", sql_list_head);
	list_sql_status(q, b);

	if (q->has_from) {
		p = sql_param_i64(b, q->from_ms);
		sql_where(b, "i.updated_at >= " API_MS_TS, p, p);
	}
	/*
	 * toDate is where the walk down updated_at starts, as a cursor is:
	 * written as a row comparison with the smallest saga_id (''),
	 * which means updated_at < toDate.  As two plain comparisons,
	 * fromDate and toDate would be costed as one range of 0.5 % of
	 * the rows, the generic plan would look dearer than one for the
	 * values, and PostgreSQL would plan the statement at every
	 * execution (0.3 ms at 10^6 sagas, half its cost).
	 */
	if (q->has_to) {
		p = sql_param_i64(b, q->to_ms);
		sql_where(b, "(i.updated_at, i.saga_id) < (" API_MS_TS ", '')",
		    p, p);
	}
	if (q->order_id[0] != '\0')
		sql_where(b, "i.order_id = $%d", sql_param(b, q->order_id));
	if (q->saga_type[0] != '\0')
		sql_where(b, "i.saga_type = $%d", sql_param(b, q->saga_type));
	if (q->step[0] != '\0')
		sql_where(b, "i.current_step = $%d", sql_param(b, q->step));
	if (q->cursor[0] != '\0') {
		p = sql_param_i64(b, q->after.updated_us);
		sql_where(b, "(i.updated_at, i.saga_id) < (" API_US_TS ", $%d)",
		    p, p, sql_param(b, q->after.saga_id));
	}

	/*
	 * One row more than the page tells whether there is a next one.
	 * The limit is a constant: as a parameter, PostgreSQL's generic
	 * plan would be costed for an unknown number of rows and lose to
	 * planning each execution again, which costs more than the
	 * execution itself at 10^7 sagas.
	 */
	sql_cat(b, " ORDER BY i.updated_at DESC, i.saga_id DESC LIMIT %d",
	    q->limit + 1);
}

/* --- GET /api/v1/sagas ------------------------------------------------- */

int
api_sagas_list(struct http_request *req)
{
	if (!http_state_exists(req) && list_begin(req) == -1)
		return (KORE_RESULT_OK);

	return (http_state_run(list_states, LIST_STATE_COUNT, req));
}

/* First entry: check the request; -1 when it was answered already. */
static int
list_begin(struct http_request *req)
{
	struct list_state	*st;
	char			 detail[API_DETAIL_MAX];

	st = api_begin(req, API_ROUTE_LIST, sizeof(*st));
	if (!respond_method(req, HTTP_METHOD_GET))
		return (-1);

	st->q.limit = API_LIMIT_DEFAULT;
	if (querystring_parse(req->query_string, list_params, LIST_PARAM_COUNT,
	    list_known, &st->q, detail, sizeof(detail)) == -1 ||
	    list_prepare(&st->q, detail, sizeof(detail)) == -1) {
		respond_problem(req, 400, "%s", detail);
		return (-1);
	}
	if (app_db_unconfigured() != NULL) {
		respond_problem(req, 503, "the database is not configured");
		return (-1);
	}

	list_sql(st);
	if (st->b.overflow) {
		respond_problem(req, 500, "cannot build the query");
		return (-1);
	}
	kore_pgsql_init(&st->sql.pg);

	return (0);
}

static int
list_setup(struct http_request *req)
{
	struct list_state	*st = http_state_get(req);

	return (dbquery_step(req, &st->sql, "list_sagas", st->b.text,
	    st->b.n, st->b.values, LIST_STATE_SETUP, LIST_STATE_WAIT,
	    LIST_STATE_REPLY));
}

static int
list_wait(struct http_request *req)
{
	struct list_state	*st = http_state_get(req);

	return (dbquery_wait(req, &st->sql, LIST_STATE_WAIT, LIST_STATE_READ,
	    LIST_STATE_REPLY));
}

static int
list_read(struct http_request *req)
{
	struct list_state	*st = http_state_get(req);
	int			 i, n;

	api_body_reserve_rows(&st->base, &st->sql.pg);
	n = kore_pgsql_ntuples(&st->sql.pg);
	for (i = 0; i < n && !st->sql.failed; i++) {
		if (st->rows == st->q.limit) {
			st->more = 1;
			break;
		}
		if (list_row(st, i) == -1)
			dbquery_fail(&st->sql, 500, "unexpected row");
	}

	kore_pgsql_continue(&st->sql.pg);
	req->fsm_state = LIST_STATE_WAIT;

	return (HTTP_STATE_CONTINUE);
}

/* Append row (doc, updated_us, saga_id); the page's last is the cursor. */
static int
list_row(struct list_state *st, int row)
{
	struct kore_pgsql	*pg = &st->sql.pg;
	const char		*id;
	char			*ep;

	if (st->rows == 0)
		api_body_append(&st->base, "{\"items\":[", 10);
	else
		api_body_append(&st->base, ",", 1);
	api_body_append(&st->base, kore_pgsql_getvalue(pg, row, 0),
	    (size_t)kore_pgsql_getlength(pg, row, 0));

	if (++st->rows < st->q.limit)
		return (0);

	st->next.updated_us = strtoll(kore_pgsql_getvalue(pg, row, 1), &ep,
	    10);
	id = kore_pgsql_getvalue(pg, row, 2);
	if (*ep != '\0' || kore_strlcpy(st->next.saga_id, id,
	    sizeof(st->next.saga_id)) >= sizeof(st->next.saga_id))
		return (-1);

	return (0);
}

static int
list_reply(struct http_request *req)
{
	struct list_state	*st = http_state_get(req);
	struct api_state	*base = &st->base;
	char			 cursor[CURSOR_TEXT_MAX];

	if (st->sql.failed) {
		dbquery_problem(req, &st->sql);
		return (HTTP_STATE_COMPLETE);
	}

	if (st->more && cursor_encode(&st->next, st->q.fp, cursor,
	    sizeof(cursor)) == -1) {
		kore_log(LOG_ERR, "api: cannot make a cursor after saga '%s'",
		    st->next.saga_id);
		respond_problem(req, 500, "cannot make the next cursor");
		return (HTTP_STATE_COMPLETE);
	}

	if (st->rows == 0)
		api_body_append(base, "{\"items\":[", 10);
	api_body_append(base, "],\"nextCursor\":", 15);
	if (st->more)
		kore_buf_appendf(base->body, "\"%s\"}", cursor);
	else
		api_body_append(base, "null}", 5);

	respond_text(req, 200, "application/json", base->body->data,
	    base->body->offset);
	kore_buf_free(base->body);
	base->body = NULL;

	return (HTTP_STATE_COMPLETE);
}

/* --- GET /api/v1/sagas/{sagaId} ---------------------------------------- */

int
api_saga_get(struct http_request *req)
{
	if (!http_state_exists(req) && get_begin(req) == -1)
		return (KORE_RESULT_OK);

	return (http_state_run(get_states, GET_STATE_COUNT, req));
}

/* First entry: check the request; -1 when it was answered already. */
static int
get_begin(struct http_request *req)
{
	struct saga_state_get	*st;
	const char		*id;
	char			 detail[API_DETAIL_MAX];
	char			 quoted[QUERYSTRING_QUOTE_MAX];
	size_t			 len;

	st = api_begin(req, API_ROUTE_SAGA, sizeof(*st));
	if (!respond_method(req, HTTP_METHOD_GET))
		return (-1);

	/* The route is ^/api/v1/sagas/[^/]+$ (no captures). */
	id = req->path + strlen(API_SAGA_PREFIX);
	len = strlen(id);
	if (len == 0 || len > SAGA_ID_MAX || strspn(id, API_ID_CHARS) != len) {
		querystring_quote(id, quoted, sizeof(quoted));
		respond_problem(req, 400, "sagaId: '%s' does not match "
		    "[A-Za-z0-9_-]{1,64}", quoted);
		return (-1);
	}
	if (querystring_parse(req->query_string, NULL, 0, NULL, NULL, detail,
	    sizeof(detail)) == -1) {
		respond_problem(req, 400, "%s", detail);
		return (-1);
	}
	if (app_db_unconfigured() != NULL) {
		respond_problem(req, 503, "the database is not configured");
		return (-1);
	}

	(void)kore_strlcpy(st->id, id, sizeof(st->id));
	st->values[0] = st->id;
	kore_pgsql_init(&st->saga.pg);

	return (0);
}

static int
get_saga(struct http_request *req)
{
	struct saga_state_get	*st = http_state_get(req);

	return (dbquery_step(req, &st->saga, "get_saga", sql_get_saga, 1,
	    st->values, GET_STATE_SAGA, GET_STATE_SAGA_WAIT, GET_STATE_REPLY));
}

static int
get_saga_wait(struct http_request *req)
{
	struct saga_state_get	*st = http_state_get(req);

	return (dbquery_wait(req, &st->saga, GET_STATE_SAGA_WAIT,
	    GET_STATE_SAGA_READ, GET_STATE_REPLY));
}

/* The saga object with "events" put in before its closing brace. */
static int
get_saga_read(struct http_request *req)
{
	struct saga_state_get	*st = http_state_get(req);
	struct kore_pgsql	*pg = &st->saga.pg;
	const char		*doc, *events;
	size_t			 len, elen;

	if (kore_pgsql_ntuples(pg) == 1) {
		doc = kore_pgsql_getvalue(pg, 0, 0);
		len = (size_t)kore_pgsql_getlength(pg, 0, 0);
		events = kore_pgsql_getvalue(pg, 0, 1);
		elen = (size_t)kore_pgsql_getlength(pg, 0, 1);
		if (len < 2 || doc[len - 1] != '}') {
			dbquery_fail(&st->saga, 500, "unexpected saga row");
		} else {
			st->found = 1;
			api_body_reserve(&st->base, len + elen +
			    API_BODY_SLACK);
			api_body_append(&st->base, doc, len - 1);
			api_body_append(&st->base, ",\"events\":[", 11);
			api_body_append(&st->base, events, elen);
			api_body_append(&st->base, "]}", 2);
		}
	}

	kore_pgsql_continue(pg);
	req->fsm_state = GET_STATE_SAGA_WAIT;

	return (HTTP_STATE_CONTINUE);
}

static int
get_reply(struct http_request *req)
{
	struct saga_state_get	*st = http_state_get(req);
	struct api_state	*base = &st->base;

	if (st->saga.failed) {
		dbquery_problem(req, &st->saga);
		return (HTTP_STATE_COMPLETE);
	}
	if (!st->found) {
		respond_problem(req, 404, "no saga with sagaId '%s'", st->id);
		return (HTTP_STATE_COMPLETE);
	}

	respond_text(req, 200, "application/json", base->body->data,
	    base->body->offset);
	kore_buf_free(base->body);
	base->body = NULL;

	return (HTTP_STATE_COMPLETE);
}

/* --- GET /api/v1/openapi.yaml ------------------------------------------ */

int
api_openapi(struct http_request *req)
{
	respond_begin(req, API_ROUTE_OPENAPI, sizeof(struct respond_ctx));
	if (!respond_method(req, HTTP_METHOD_GET))
		return (KORE_RESULT_OK);

	respond_text(req, 200, API_YAML_TYPE, asset_openapi_yaml,
	    asset_len_openapi_yaml);

	return (KORE_RESULT_OK);
}
