/*
 * sagarows: the saga rows of a batch, rebuilt from their events and
 * written.  See sagarows.h.
 *
 * The stored events of the sagas that had a row are read, and those
 * rows deleted, in one round trip (pipeline.h) whose two statements
 * share one binary array of saga ids (pgarray.h); the rebuilt rows are
 * written by one binary COPY (pgcopy.h) whatever their number.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "batch.h"
#include "pgarray.h"
#include "pgbin.h"
#include "pgcopy.h"
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

static const char sql_delete_sagas[] =
	"DELETE FROM saga_instance WHERE saga_id = ANY ($1::text[])";

static const char sql_copy_sagas[] =
	"COPY saga_instance (saga_id, saga_type, order_id, status,"
	" current_step, started_at, updated_at, failed_at, compensated_at,"
	" completed_at, trace_id, failure_reason, metadata)"
	" FROM STDIN (FORMAT binary)";

#define SAGAROWS_FIELDS		13

static int	load_row(struct batch *, PGresult *, int, char *, size_t);
static int	load_row_event(PGresult *, int, struct saga_event *);
static int	load_rows(struct batch *, PGresult *, char *, size_t);
static void	saga_time(struct strbuf *, int64_t);
static void	saga_row(struct pgcopy *, const struct saga_state *);

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

/*
 * Rebuild every saga's state from its stored events but the fresh ones,
 * and delete its row, in one round trip: load_events, delete_sagas.
 */
int
sagarows_take(struct store *s, struct batch *b, char *err, size_t errlen)
{
	struct pgarray_params	 x;
	struct pipeline		 p;
	int			 ld, rc;

	if (sagarows_ids(b, &x, 1, err, errlen) == -1) {
		pgarray_params_free(&x);
		return (-1);
	}
	/* Sagas without a row have no stored events: nothing to ask. */
	if (x.a[0].count == 0) {
		pgarray_params_free(&x);
		return (0);
	}

	pipeline_init(&p, s->conn);
	ld = pipeline_add(&p, "load_events", sql_load_events, &x,
	    PGRES_TUPLES_OK);
	(void)pipeline_add(&p, "delete_sagas", sql_delete_sagas, &x,
	    PGRES_COMMAND_OK);
	if ((rc = pipeline_run(&p, err, errlen)) == 0)
		rc = load_rows(b, p.stmts[ld].res, err, errlen);
	pipeline_clear(&p);
	pgarray_params_free(&x);

	return (rc);
}

/* Apply each row of load_events; -1 at the first that does not apply. */
static int
load_rows(struct batch *b, PGresult *res, char *err, size_t errlen)
{
	int	i;

	for (i = 0; i < PQntuples(res); i++) {
		if (load_row(b, res, i, err, errlen) == -1)
			return (-1);
	}

	return (0);
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
saga_time(struct strbuf *r, int64_t ms)
{
	if (ms == SAGA_TIME_NONE)
		pgbin_null(r);
	else
		pgbin_time_ms(r, ms);
}

/* One saga_instance row of sql_copy_sagas. */
static void
saga_row(struct pgcopy *c, const struct saga_state *st)
{
	struct strbuf	*r;

	r = pgcopy_row(c);
	pgbin_text(r, st->saga_id);
	pgbin_text(r, store_opt(st->saga_type));
	pgbin_text(r, store_opt(st->order_id));
	pgbin_text(r, saga_status_name(st->status));
	pgbin_text(r, store_opt(st->current_step));
	saga_time(r, st->started_at);
	saga_time(r, st->updated_at);
	saga_time(r, st->failed_at);
	saga_time(r, st->compensated_at);
	saga_time(r, st->completed_at);
	pgbin_text(r, store_opt(st->trace_id));
	pgbin_text(r, st->failure_reason);
	pgbin_jsonb(r, st->metadata);
}

/* Write the rebuilt rows of the sagas with a fresh event. */
int
sagarows_write(struct store *s, struct batch *b, char *err, size_t errlen)
{
	struct pgcopy	c;
	size_t		i;
	int		rc;

	pgcopy_init(&c, SAGAROWS_FIELDS);
	for (i = 0; i < b->nsagas; i++) {
		if (b->fresh[i])
			saga_row(&c, &b->sagas[i]);
	}
	rc = 0;
	if (c.rows > 0)
		rc = store_copy(s, "insert_sagas", sql_copy_sagas, &c, err,
		    errlen);
	pgcopy_free(&c);

	return (rc);
}
