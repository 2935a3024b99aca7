/*
 * sagarows: the saga rows of a batch, rebuilt from their events and
 * written.  See sagarows.h.
 *
 * The rows travel as binary PostgreSQL arrays (pgarray.h), one
 * parameter per column, unnest()ed on the server: one statement writes
 * every row of a batch whatever their number.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "batch.h"
#include "pgarray.h"
#include "pgerr.h"
#include "pipeline.h"
#include "saga.h"
#include "sagarows.h"
#include "sagastate.h"
#include "storeconn.h"
#include "storeconn_private.h"

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

static int	load_row(struct batch *, PGresult *, int, char *, size_t);
static int	load_row_event(PGresult *, int, struct saga_event *);
static void	saga_time(struct pgarray *, int64_t);
static void	saga_row(struct pgarray_params *, const struct saga_state *);

/* The saga ids of the batch, or (to_load) those with a row and news. */
int
sagarows_ids(const struct batch *b, struct pgarray_params *x, int to_load,
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

/* Rebuild every saga's state from its stored events but the fresh ones. */
int
sagarows_load(struct store *s, struct batch *b, char *err, size_t errlen)
{
	struct pgarray_params	 x;
	PGresult		*res;
	int			 i, rc;

	if (sagarows_ids(b, &x, 1, err, errlen) == -1) {
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
	pgarray_text(&x->a[1], store_opt(st->saga_type));
	pgarray_text(&x->a[2], store_opt(st->order_id));
	pgarray_text(&x->a[3], saga_status_name(st->status));
	pgarray_text(&x->a[4], store_opt(st->current_step));
	saga_time(&x->a[5], st->started_at);
	saga_time(&x->a[6], st->updated_at);
	saga_time(&x->a[7], st->failed_at);
	saga_time(&x->a[8], st->compensated_at);
	saga_time(&x->a[9], st->completed_at);
	pgarray_text(&x->a[10], store_opt(st->trace_id));
	pgarray_text(&x->a[11], st->failure_reason);
	pgarray_text(&x->a[12], st->metadata);
}

/* upsert_sagas' columns: the rows of the sagas with fresh events. */
int
sagarows_arrays(const struct batch *b, struct pgarray_params *x, char *err,
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

/* Queue upsert_sagas with the rows of x (sagarows_arrays) into p. */
void
sagarows_queue_upsert(struct pipeline *p, const struct pgarray_params *x)
{
	(void)pipeline_add(p, "upsert_sagas", sql_upsert_sagas, x,
	    PGRES_COMMAND_OK);
}

/* The upsert on its own (the manual transition's). */
int
sagarows_upsert(struct store *s, struct batch *b, char *err, size_t errlen)
{
	struct pgarray_params	 x;
	PGresult		*res;

	if (sagarows_arrays(b, &x, err, errlen) == -1) {
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

