/*
 * store: the batch transaction, from the consumed messages to COMMIT,
 * and the metric deltas that follow it.  See store.h.
 *
 * The events travel as binary PostgreSQL arrays (pgarray.h, one
 * parameter per column, unnest()ed on the server): one insert_events
 * statement whatever the batch's size.  The in-memory batch is batch.c,
 * the dead letters deadletter.c, the saga rows sagarows.c and the
 * tally's COMMIT tallycommit.c.
 */

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <libpq-fe.h>

#include "batch.h"
#include "deadletter.h"
#include "outcome.h"
#include "pgarray.h"
#include "pgerr.h"
#include "pipeline.h"
#include "saga.h"
#include "sagarows.h"
#include "sagastate.h"
#include "store.h"
#include "storeconn.h"
#include "storeconn_private.h"
#include "tallycommit.h"

/* pg_advisory_xact_lock(class, hashtext(saga_id)): "SAGA" as an int4. */
#define STORE_LOCK_CLASS	"1396787009"

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

static int	 batch_transaction(struct store *, struct batch *,
		    struct outcome *, char *, size_t);
static int	 batch_begin(struct store *, struct batch *, char *, size_t);
static int	 batch_finish(struct store *, struct batch *, struct outcome *,
		    char *, size_t);

static int	 batch_late(struct store *, struct batch *, char *, size_t);
static int	 events_arrays(const struct batch *, enum item_when,
		    struct pgarray_params *, char *, size_t);
static void	 events_inserted(struct batch *, PGresult *);
static void	 sagas_locked(struct batch *, PGresult *);
static int	 apply_fresh(struct batch *, char *, size_t);

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
		pgarray_text(&x->a[2], store_opt(it->ev.saga_type));
		pgarray_text(&x->a[3], store_opt(it->ev.order_id));
		pgarray_text(&x->a[4], it->ev.step);
		pgarray_text(&x->a[5], saga_status_name(it->ev.status));
		pgarray_time_ms(&x->a[6], it->ev.occurred_at);
		pgarray_time_ms(&x->a[7], it->msg->received_ms);
		pgarray_int4(&x->a[8], it->msg->partition);
		pgarray_int8(&x->a[9], it->msg->offset);
		pgarray_text(&x->a[10], it->ev.metadata);
		pgarray_text(&x->a[11], store_opt(it->ev.trace_id));
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
			pgerr_format(err, errlen,
			    "saga %s: event %s (partition "
			    "%" PRId32 " offset %" PRId64 "): merge: %s",
			    it->ev.saga_id, it->ev.event_id,
			    it->msg->partition, it->msg->offset,
			    strerror(errno));
			return (-1);
		}
	}

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
	struct pipeline		 p;
	struct pgarray_params	 ids, ev;
	int			 rc, ls, ins;

	memset(&ids, 0, sizeof(ids));
	memset(&ev, 0, sizeof(ev));
	pipeline_init(&p, s->conn);
	(void)pipeline_add(&p, "begin", "BEGIN", NULL, PGRES_COMMAND_OK);
	ls = ins = -1;
	if (b->nvalid > 0) {
		batch_sagas(b);
		if (sagarows_ids(b, &ids, 0, err, errlen) == -1 ||
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
	if (b->nfresh > 0 && sagarows_arrays(b, &x, err, errlen) == -1) {
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
		sagarows_queue_upsert(&p, &x);
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
	if (b->nfresh > 0 && (sagarows_load(s, b, err, errlen) == -1 ||
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

