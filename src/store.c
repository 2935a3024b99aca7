/*
 * store: the batch transaction that stores events, dead letters
 * (deadletter.c) and rebuilt saga rows, and the metric deltas that
 * follow its commit; the manual transition.  See store.h.
 *
 * Values always travel as parameters: the column lists of a batch as
 * binary PostgreSQL arrays (pgarray.h, one parameter per column,
 * unnest()ed on the server).  The manual event's time travels as UTC
 * milliseconds, converted on the server, exactly, by MS_TO_TS.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "batch.h"
#include "deadletter.h"
#include "metrics.h"
#include "outcome.h"
#include "pgarray.h"
#include "pgerr.h"
#include "pipeline.h"
#include "saga.h"
#include "store.h"
#include "storeconn.h"
#include "storeconn_private.h"
#include "tallycommit.h"
#include "xalloc.h"

/* pg_advisory_xact_lock(class, hashtext(saga_id)): "SAGA" as an int4. */
#define STORE_LOCK_CLASS	"1396787009"

/* The parameters of a statement: one per element type listed. */
#define STORE_NTYPES(t)		((int)(sizeof(t) / sizeof((t)[0])))

static const char sql_insert_events[] =
	"INSERT INTO saga_event (event_id, saga_id, saga_type, order_id,"
	" step, status, occurred_at, received_at, source, kafka_partition,"
	" kafka_offset, metadata, trace_id) "
	"SELECT e.event_id, e.saga_id, e.saga_type, e.order_id, e.step,"
	" e.status, e.occurred, e.received, 'kafka', e.part, e.off,"
	" e.metadata::jsonb, e.trace_id "
	"FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
	" $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[],"
	" $9::int4[], $10::int8[], $11::text[], $12::text[])"
	" AS e(event_id, saga_id, saga_type, order_id, step, status,"
	" occurred, received, part, off, metadata, trace_id) "
	"ON CONFLICT (event_id) DO NOTHING "
	"RETURNING event_id";

static const char sql_lock_keys[] =
	"SELECT count(*) FROM (SELECT pg_advisory_xact_lock("
	STORE_LOCK_CLASS ", k.h) FROM (SELECT DISTINCT hashtext(id) AS h"
	" FROM unnest($1::text[]) AS id ORDER BY 1) AS k) AS l";

static const char sql_lock_sagas[] =
	"SELECT saga_id FROM saga_instance "
	"WHERE saga_id = ANY ($1::text[]) "
	"ORDER BY saga_id FOR UPDATE";

static const char sql_load_events[] =
	"SELECT saga_id, event_id, saga_type, order_id, step, status, "
	TS_TO_MS("occurred_at") ", metadata::text, trace_id,"
	" CASE WHEN jsonb_typeof(metadata -> 'failureReason') = 'string'"
	" THEN metadata ->> 'failureReason' END "
	"FROM saga_event WHERE saga_id = ANY ($1::text[])";

static const char sql_upsert_sagas[] =
	"INSERT INTO saga_instance (saga_id, saga_type, order_id, status,"
	" current_step, started_at, updated_at, failed_at, compensated_at,"
	" completed_at, trace_id, failure_reason, metadata) "
	"SELECT s.saga_id, s.saga_type, s.order_id, s.status, s.step,"
	" s.started, s.updated, s.failed, s.compensated, s.completed,"
	" s.trace_id, s.reason, s.metadata::jsonb "
	"FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
	" $5::text[], $6::timestamptz[], $7::timestamptz[],"
	" $8::timestamptz[], $9::timestamptz[], $10::timestamptz[],"
	" $11::text[], $12::text[], $13::text[])"
	" AS s(saga_id, saga_type, order_id, status, step, started, updated,"
	" failed, compensated, completed, trace_id, reason, metadata) "
	"ON CONFLICT (saga_id) DO UPDATE SET"
	" saga_type = excluded.saga_type, order_id = excluded.order_id,"
	" status = excluded.status, current_step = excluded.current_step,"
	" started_at = excluded.started_at, updated_at = excluded.updated_at,"
	" failed_at = excluded.failed_at,"
	" compensated_at = excluded.compensated_at,"
	" completed_at = excluded.completed_at, trace_id = excluded.trace_id,"
	" failure_reason = excluded.failure_reason,"
	" metadata = excluded.metadata";

static const char sql_manual_lock[] =
	"SELECT saga_id FROM saga_instance WHERE saga_id = $1 FOR UPDATE";

static const char sql_manual_event[] =
	"INSERT INTO saga_event (event_id, saga_id, step, status,"
	" occurred_at, received_at, source, metadata) "
	"VALUES ($1, $2, $3, $4, " MS_TO_TS("$5::int8") ", "
	MS_TO_TS("$5::int8") ", 'manual', $6::jsonb)";

static const char *opt(const char *);

static int	 batch_transaction(struct store *, struct batch *,
		    struct outcome *, char *, size_t);
static int	 batch_begin(struct store *, struct batch *, char *, size_t);
static int	 batch_finish(struct store *, struct batch *, struct outcome *,
		    char *, size_t);
static int	 manual_commit(struct store *, const struct item *,
		    struct outcome *, char *, size_t);

static int	 batch_late(struct store *, struct batch *, char *, size_t);
static int	 events_arrays(const struct batch *, enum item_when,
		    struct pgarray_params *, char *, size_t);
static void	 events_inserted(struct batch *, PGresult *);
static int	 saga_id_array(const struct batch *, struct pgarray_params *,
		    int, char *, size_t);
static void	 sagas_locked(struct batch *, PGresult *);
static int	 load_events(struct store *, struct batch *, char *, size_t);
static int	 load_row(struct batch *, PGresult *, int, char *, size_t);
static int	 load_row_event(PGresult *, int, struct saga_event *);
static int	 apply_fresh(struct batch *, char *, size_t);
static int	 saga_arrays(const struct batch *, struct pgarray_params *,
		    char *, size_t);
static int	 upsert_sagas(struct store *, struct batch *, char *, size_t);
static void	 saga_time(struct pgarray *, int64_t);
static void	 saga_row(struct pgarray_params *, const struct saga_state *);
static int	 manual_lock(struct store *, const char *, char *, size_t);
static enum store_manual manual_apply(struct store *, struct batch *,
		    struct item *, enum saga_status, const char *, char *,
		    size_t);
static int	 manual_insert(struct store *, const struct saga_event *,
		    char *, size_t);

/* --- parameters ---------------------------------------------------------- */

/* saga.h keeps absent strings empty; the columns are NULL. */
static const char *
opt(const char *s)
{
	return (s[0] != '\0' ? s : NULL);
}

/* --- events older than the retention horizon ---------------------------- */

/*
 * After batch_begin, which locked every saga of the batch: insert the
 * late events of sagas that have a row, expire the others.
 */
static int
batch_late(struct store *s, struct batch *b, char *err, size_t errlen)
{
	struct pgarray_params	 x;
	struct item		*it;
	PGresult		*res;
	size_t			 i, known, nbad;

	nbad = b->nbad;
	for (i = 0, known = 0; i < b->nvalid; i++) {
		if ((it = b->valid[i])->when != ITEM_LATE)
			continue;
		if (b->exists[it->saga]) {
			it->when = ITEM_LATE_KNOWN;
			known++;
		} else
			batch_expire(b, it, s->expire_sec);
	}
	if (b->nbad > nbad)
		batch_sort_bad(b);
	if (known == 0)
		return (0);

	if (events_arrays(b, ITEM_LATE_KNOWN, &x, err, errlen) == -1) {
		pgarray_params_free(&x);
		return (-1);
	}
	res = store_query(s, "insert_events", sql_insert_events, x.n,
	    x.values, x.lengths, x.formats, PGRES_TUPLES_OK, err, errlen);
	pgarray_params_free(&x);
	if (res == NULL)
		return (-1);
	events_inserted(b, res);
	PQclear(res);

	return (0);
}

/* --- the statements ------------------------------------------------------ */

/* insert_events' columns: the first occurrence of every eventId. */
static int
events_arrays(const struct batch *b, enum item_when when,
    struct pgarray_params *x, char *err, size_t errlen)
{
	static const uint32_t	 types[] = {
		PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_TEXT,
		PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_TIMESTAMPTZ,
		PGARRAY_TIMESTAMPTZ, PGARRAY_INT4, PGARRAY_INT8, PGARRAY_TEXT,
		PGARRAY_TEXT
	};
	const struct item	*it;
	size_t			 i;

	pgarray_params_init(x, types, STORE_NTYPES(types));
	for (i = 0; i < b->nvalid; i++) {
		if ((it = b->valid[i])->dup || it->when != when)
			continue;
		pgarray_text(&x->a[0], it->ev.event_id);
		pgarray_text(&x->a[1], it->ev.saga_id);
		pgarray_text(&x->a[2], opt(it->ev.saga_type));
		pgarray_text(&x->a[3], opt(it->ev.order_id));
		pgarray_text(&x->a[4], it->ev.step);
		pgarray_text(&x->a[5], saga_status_name(it->ev.status));
		pgarray_time_ms(&x->a[6], it->ev.occurred_at);
		pgarray_time_ms(&x->a[7], it->msg->received_ms);
		pgarray_int4(&x->a[8], it->msg->partition);
		pgarray_int8(&x->a[9], it->msg->offset);
		pgarray_text(&x->a[10], it->ev.metadata);
		pgarray_text(&x->a[11], opt(it->ev.trace_id));
	}

	return (pgarray_params_finish(x, "insert_events", err, errlen));
}

/* Mark the events insert_events took, and their sagas, fresh. */
static void
events_inserted(struct batch *b, PGresult *res)
{
	struct item	*it;
	int		 j;

	for (j = 0; j < PQntuples(res); j++) {
		if ((it = batch_find_valid(b, PQgetvalue(res, j, 0))) != NULL &&
		    !it->stored) {
			it->stored = 1;
			b->fresh[it->saga] = 1;
			b->nfresh++;
		}
	}
}

/* The saga ids of the batch, or (to_load) those with a row and news. */
static int
saga_id_array(const struct batch *b, struct pgarray_params *x, int to_load,
    char *err, size_t errlen)
{
	static const uint32_t	types[] = { PGARRAY_TEXT };
	size_t			i;

	pgarray_params_init(x, types, STORE_NTYPES(types));
	for (i = 0; i < b->nsagas; i++) {
		if (!to_load || (b->exists[i] && b->fresh[i]))
			pgarray_text(&x->a[0], b->saga_ids[i]);
	}

	return (pgarray_params_finish(x, "saga ids", err, errlen));
}

/* Note the sagas lock_sagas found a row of. */
static void
sagas_locked(struct batch *b, PGresult *res)
{
	size_t		k;
	int		i;

	for (i = 0; i < PQntuples(res); i++) {
		k = batch_saga_index(b, PQgetvalue(res, i, 0));
		if (k < b->nsagas)
			b->exists[k] = 1;
	}
}

/* Rebuild every saga's state from its stored events but the fresh ones. */
static int
load_events(struct store *s, struct batch *b, char *err, size_t errlen)
{
	struct pgarray_params	 x;
	PGresult	*res;
	int		 i, rc;

	if (saga_id_array(b, &x, 1, err, errlen) == -1) {
		pgarray_params_free(&x);
		return (-1);
	}
	/* Sagas without a row have no stored events: nothing to ask. */
	if (x.a[0].count == 0) {
		pgarray_params_free(&x);
		return (0);
	}

	res = store_query(s, "load_events", sql_load_events, 1, x.values,
	    x.lengths, x.formats, PGRES_TUPLES_OK, err, errlen);
	pgarray_params_free(&x);
	if (res == NULL)
		return (-1);

	rc = 0;
	for (i = 0; i < PQntuples(res) && rc == 0; i++)
		rc = load_row(b, res, i, err, errlen);
	PQclear(res);

	return (rc);
}

/* The columns of a load_events row after saga_id and event_id. */
static int
load_row_event(PGresult *res, int row, struct saga_event *ev)
{
	if (saga_status_parse(PQgetvalue(res, row, 5), &ev->status) == -1)
		return (-1);

	(void)snprintf(ev->saga_type, sizeof(ev->saga_type), "%s",
	    PQgetvalue(res, row, 2));
	(void)snprintf(ev->order_id, sizeof(ev->order_id), "%s",
	    PQgetvalue(res, row, 3));
	(void)snprintf(ev->step, sizeof(ev->step), "%s",
	    PQgetvalue(res, row, 4));
	ev->occurred_at = strtoll(PQgetvalue(res, row, 6), NULL, 10);
	ev->metadata = PQgetisnull(res, row, 7) ? NULL :
	    PQgetvalue(res, row, 7);
	(void)snprintf(ev->trace_id, sizeof(ev->trace_id), "%s",
	    PQgetvalue(res, row, 8));
	ev->failure_reason = PQgetisnull(res, row, 9) ? NULL :
	    PQgetvalue(res, row, 9);

	return (0);
}

/* Apply one stored event, unless it is fresh, deltas thrown away. */
static int
load_row(struct batch *b, PGresult *res, int row, char *err, size_t errlen)
{
	struct saga_event	 ev;
	struct saga_delta	 d;
	struct item		*it;
	size_t			 k;

	memset(&ev, 0, sizeof(ev));
	(void)snprintf(ev.saga_id, sizeof(ev.saga_id), "%s",
	    PQgetvalue(res, row, 0));
	(void)snprintf(ev.event_id, sizeof(ev.event_id), "%s",
	    PQgetvalue(res, row, 1));

	/* A fresh event is applied later, with its deltas. */
	if ((it = batch_find_valid(b, ev.event_id)) != NULL && it->stored)
		return (0);

	if ((k = batch_saga_index(b, ev.saga_id)) == b->nsagas) {
		pgerr_format(err, errlen, "load_events: saga %s event %s: "
		    "saga not asked for", ev.saga_id, ev.event_id);
		return (-1);
	}
	if (load_row_event(res, row, &ev) == -1) {
		pgerr_format(err, errlen, "load_events: saga %s event %s: "
		    "unknown status '%s'", ev.saga_id, ev.event_id,
		    PQgetvalue(res, row, 5));
		return (-1);
	}

	if (saga_state_apply(&b->sagas[k], &ev, &d) == -1) {
		pgerr_format(err, errlen, "load_events: saga %s event %s: "
		    "merge: %s", ev.saga_id, ev.event_id, strerror(errno));
		return (-1);
	}

	return (0);
}

/* Apply the fresh events in batch order, keeping their deltas. */
static int
apply_fresh(struct batch *b, char *err, size_t errlen)
{
	struct item	*it;
	size_t		 i;

	for (i = 0; i < b->n; i++) {
		it = &b->items[i];
		if (!it->stored || it->reason != SAGA_REJECT_NONE)
			continue;
		if (saga_state_apply(&b->sagas[it->saga], &it->ev,
		    &it->delta) == -1) {
			pgerr_format(err, errlen, "saga %s: event %s (partition "
			    "%" PRId32 " offset %" PRId64 "): merge: %s",
			    it->ev.saga_id, it->ev.event_id,
			    it->msg->partition, it->msg->offset,
			    strerror(errno));
			return (-1);
		}
	}

	return (0);
}

static void
saga_time(struct pgarray *a, int64_t ms)
{
	if (ms == SAGA_TIME_NONE)
		pgarray_null(a);
	else
		pgarray_time_ms(a, ms);
}

static void
saga_row(struct pgarray_params *x, const struct saga_state *st)
{
	pgarray_text(&x->a[0], st->saga_id);
	pgarray_text(&x->a[1], opt(st->saga_type));
	pgarray_text(&x->a[2], opt(st->order_id));
	pgarray_text(&x->a[3], saga_status_name(st->status));
	pgarray_text(&x->a[4], opt(st->current_step));
	saga_time(&x->a[5], st->started_at);
	saga_time(&x->a[6], st->updated_at);
	saga_time(&x->a[7], st->failed_at);
	saga_time(&x->a[8], st->compensated_at);
	saga_time(&x->a[9], st->completed_at);
	pgarray_text(&x->a[10], opt(st->trace_id));
	pgarray_text(&x->a[11], st->failure_reason);
	pgarray_text(&x->a[12], st->metadata);
}

/* upsert_sagas' columns: the rows of the sagas with fresh events. */
static int
saga_arrays(const struct batch *b, struct pgarray_params *x, char *err,
    size_t errlen)
{
	static const uint32_t	types[] = {
		PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_TEXT,
		PGARRAY_TEXT, PGARRAY_TIMESTAMPTZ, PGARRAY_TIMESTAMPTZ,
		PGARRAY_TIMESTAMPTZ, PGARRAY_TIMESTAMPTZ, PGARRAY_TIMESTAMPTZ,
		PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_TEXT
	};
	size_t			i;

	pgarray_params_init(x, types, STORE_NTYPES(types));
	for (i = 0; i < b->nsagas; i++) {
		if (b->fresh[i])
			saga_row(x, &b->sagas[i]);
	}

	return (pgarray_params_finish(x, "upsert_sagas", err, errlen));
}

/* The manual PATCH's upsert, on its own. */
static int
upsert_sagas(struct store *s, struct batch *b, char *err, size_t errlen)
{
	struct pgarray_params	 x;
	PGresult	*res;

	if (saga_arrays(b, &x, err, errlen) == -1) {
		pgarray_params_free(&x);
		return (-1);
	}

	res = store_query(s, "upsert_sagas", sql_upsert_sagas, x.n, x.values,
	    x.lengths, x.formats, PGRES_COMMAND_OK, err, errlen);
	pgarray_params_free(&x);
	if (res == NULL)
		return (-1);
	PQclear(res);

	return (0);
}

/*
 * The first round trip: BEGIN, the locks of every saga of the batch
 * (advisory, then row, both in a fixed order, so two transactions on one
 * saga serialise without deadlock) and the insert of the events, which
 * tells the fresh ones.
 */
static int
batch_begin(struct store *s, struct batch *b, char *err, size_t errlen)
{
	struct pipeline	 p;
	struct pgarray_params	 ids, ev;
	int		 rc, ls, ins;

	memset(&ids, 0, sizeof(ids));
	memset(&ev, 0, sizeof(ev));
	pipeline_init(&p, s->conn);
	(void)pipeline_add(&p, "begin", "BEGIN", NULL, PGRES_COMMAND_OK);
	ls = ins = -1;
	if (b->nvalid > 0) {
		batch_sagas(b);
		if (saga_id_array(b, &ids, 0, err, errlen) == -1 ||
		    events_arrays(b, ITEM_NOW, &ev, err, errlen) == -1) {
			rc = -1;
			goto done;
		}
		(void)pipeline_add(&p, "lock_keys", sql_lock_keys, &ids,
		    PGRES_TUPLES_OK);
		ls = pipeline_add(&p, "lock_sagas", sql_lock_sagas, &ids,
		    PGRES_TUPLES_OK);
		ins = pipeline_add(&p, "insert_events", sql_insert_events,
		    &ev, PGRES_TUPLES_OK);
	}

	if ((rc = pipeline_run(&p, err, errlen)) == 0 && b->nvalid > 0) {
		sagas_locked(b, p.stmts[ls].res);
		events_inserted(b, p.stmts[ins].res);
	}
	pipeline_clear(&p);
done:
	pgarray_params_free(&ids);
	pgarray_params_free(&ev);

	return (rc);
}

/*
 * The last round trip: the tally under a new token, if it counts
 * anything, the rebuilt saga rows, if any, and COMMIT.  The token is in the
 * slot before any of it is sent (outcome.h).
 */
static int
batch_finish(struct store *s, struct batch *b, struct outcome *o, char *err,
    size_t errlen)
{
	struct pipeline		 p;
	struct pgarray_params	 x, t;
	int			 rc;
	char			 num[STORE_NUM_LEN];

	memset(&x, 0, sizeof(x));
	if (b->nfresh > 0 && saga_arrays(b, &x, err, errlen) == -1) {
		pgarray_params_free(&x);
		return (-1);
	}

	pipeline_init(&p, s->conn);
	batch_tally(b, o);
	tallycommit_queue(s, &p, o, &t, num, sizeof(num));
	/*
	 * The upsert last before COMMIT: a backend whose client died
	 * while the upsert waited for a lock still commits the batch, as
	 * it did without the tally (test_store's killed batches).
	 */
	if (b->nfresh > 0)
		(void)pipeline_add(&p, "upsert_sagas", sql_upsert_sagas, &x,
		    PGRES_COMMAND_OK);
	rc = tallycommit_run(s, &p, err, errlen);
	pgarray_params_free(&x);

	return (rc);
}

/*
 * Two round trips, three when fresh events belong to sagas that have a
 * row (their stored events are loaded to rebuild them), plus one per
 * chunk of dead letters.
 */
static int
batch_transaction(struct store *s, struct batch *b, struct outcome *o,
    char *err, size_t errlen)
{
	if (batch_begin(s, b, err, errlen) == -1)
		return (-1);
	if (b->nlate > 0 && batch_late(s, b, err, errlen) == -1)
		return (-1);
	if (b->nbad > 0 && deadletter_insert(s, b, err, errlen) == -1)
		return (-1);
	if (b->nfresh > 0 && (load_events(s, b, err, errlen) == -1 ||
	    apply_fresh(b, err, errlen) == -1))
		return (-1);

	return (batch_finish(s, b, o, err, errlen));
}

/* --- the whole batch ----------------------------------------------------- */

int
store_apply_batch(struct store *s, const struct store_msg *msgs, size_t n,
    struct store_batch_result *res, char *err, size_t errlen)
{
	struct batch	b;
	struct outcome	o;
	int		rc;

	memset(res, 0, sizeof(*res));
	if (n == 0)
		return (0);

	outcome_init(&o);
	batch_parse(&b, msgs, n);
	if ((rc = store_usable(s, err, errlen)) == 0 &&
	    (rc = tallycommit_resolve(s, err, errlen)) == 0) {
		batch_mark_late(&b, s->expire_sec);
		rc = batch_transaction(s, &b, &o, err, errlen);
	}

	if (rc == 0) {
		tallycommit_counted(s, &o);
		batch_delays(&b);
		batch_result(&b, res);
	} else {
		store_rollback(s);
		batch_error_where(&b, err, errlen);
	}
	outcome_free(&o);
	batch_free(&b);

	return (rc);
}

/* --- the manual PATCH ---------------------------------------------------- */

/* 1 if the row exists (and is now locked), 0 if not, -1 on error. */
static int
manual_lock(struct store *s, const char *saga_id, char *err, size_t errlen)
{
	PGresult	*res;
	const char	*values[1];
	int		 found;

	values[0] = saga_id;
	res = store_query(s, "manual_lock", sql_manual_lock, 1, values, NULL,
	    NULL, PGRES_TUPLES_OK, err, errlen);
	if (res == NULL)
		return (-1);
	found = PQntuples(res) == 1;
	PQclear(res);

	return (found);
}

static int
manual_insert(struct store *s, const struct saga_event *ev, char *err,
    size_t errlen)
{
	PGresult	*res;
	const char	*values[6];
	char		 at[STORE_NUM_LEN];

	(void)snprintf(at, sizeof(at), "%" PRId64, ev->occurred_at);
	values[0] = ev->event_id;
	values[1] = ev->saga_id;
	values[2] = opt(ev->step);
	values[3] = saga_status_name(ev->status);
	values[4] = at;
	values[5] = ev->metadata;

	res = store_query(s, "manual_event", sql_manual_event, 6, values,
	    NULL, NULL, PGRES_COMMAND_OK, err, errlen);
	if (res == NULL)
		return (-1);
	PQclear(res);

	return (0);
}

/* Inside the transaction: rebuild, check, store the event and the row. */
static enum store_manual
manual_apply(struct store *s, struct batch *b, struct item *it,
    enum saga_status target, const char *reason, char *err, size_t errlen)
{
	struct timespec	ts;
	int64_t		now;
	int		rc;
	char		event_id[96];

	if ((rc = manual_lock(s, b->saga_ids[0], err, errlen)) != 1) {
		if (rc == 0)
			pgerr_format(err, errlen, "saga %s does not exist",
			    b->saga_ids[0]);
		return (rc == 0 ? STORE_MANUAL_NOT_FOUND : STORE_MANUAL_FAILED);
	}
	if (load_events(s, b, err, errlen) == -1)
		return (STORE_MANUAL_FAILED);

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	(void)snprintf(event_id, sizeof(event_id), "manual-%s-%" PRId64
	    "-%09ld", b->saga_ids[0], now, ts.tv_nsec);

	rc = saga_manual_event(&b->sagas[0], target, event_id, reason, now,
	    &it->ev, err, errlen);
	if (rc != SAGA_MANUAL_OK)
		return (rc == SAGA_MANUAL_CONFLICT ? STORE_MANUAL_CONFLICT :
		    STORE_MANUAL_INVALID);

	if (saga_state_apply(&b->sagas[0], &it->ev, &it->delta) == -1) {
		pgerr_format(err, errlen, "saga %s: manual event %s: merge: %s",
		    b->saga_ids[0], event_id, strerror(errno));
		return (STORE_MANUAL_FAILED);
	}
	if (manual_insert(s, &it->ev, err, errlen) == -1 ||
	    upsert_sagas(s, b, err, errlen) == -1)
		return (STORE_MANUAL_FAILED);

	return (STORE_MANUAL_DONE);
}

enum store_manual
store_manual_transition(struct store *s, const char *saga_id,
    enum saga_status target, const char *reason, struct saga_state *out,
    char *err, size_t errlen)
{
	struct batch		 b;
	struct item		 it;
	struct outcome		 o;
	struct saga_state	 st;
	const char		*ids[1];
	char			 exists[1], fresh[1];
	enum store_manual	 rc;

	memset(&b, 0, sizeof(b));
	memset(&it, 0, sizeof(it));
	saga_state_init(&st);
	ids[0] = saga_id;
	exists[0] = 1;
	b.saga_ids = ids;
	b.sagas = &st;
	fresh[0] = 1;
	b.exists = exists;
	b.fresh = fresh;
	b.nsagas = 1;

	if (store_usable(s, err, errlen) == -1 ||
	    tallycommit_resolve(s, err, errlen) == -1 ||
	    store_command(s, "begin", "BEGIN", err, errlen) == -1) {
		saga_state_free(&st);
		return (STORE_MANUAL_FAILED);
	}

	outcome_init(&o);
	rc = manual_apply(s, &b, &it, target, reason, err, errlen);
	if (rc == STORE_MANUAL_DONE &&
	    manual_commit(s, &it, &o, err, errlen) == -1)
		rc = STORE_MANUAL_FAILED;
	if (rc != STORE_MANUAL_DONE) {
		store_rollback(s);
		outcome_free(&o);
		saga_event_free(&it.ev);
		saga_state_free(&st);
		return (rc);
	}

	/* Counted like a consumed event, only now that it is committed. */
	tallycommit_counted(s, &o);
	outcome_free(&o);
	saga_event_free(&it.ev);
	*out = st;

	return (STORE_MANUAL_DONE);
}

/* The manual event's tally under a token, and COMMIT: one round trip. */
static int
manual_commit(struct store *s, const struct item *it, struct outcome *o,
    char *err, size_t errlen)
{
	struct pipeline		p;
	struct pgarray_params	t;
	char			num[STORE_NUM_LEN];

	batch_item_tally(it, o);
	pipeline_init(&p, s->conn);
	tallycommit_queue(s, &p, o, &t, num, sizeof(num));

	return (tallycommit_run(s, &p, err, errlen));
}
