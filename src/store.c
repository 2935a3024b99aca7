/*
 * store: the batch transaction, from the consumed messages to COMMIT,
 * and the metric deltas that follow it.  See store.h.
 *
 * The events are written by one binary COPY (pgcopy.h) whatever the
 * batch's size; the event ids asked about travel as one binary array
 * (pgarray.h).  The in-memory batch is batch.c,
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
#include "pgbin.h"
#include "pgcopy.h"
#include "pgerr.h"
#include "pipeline.h"
#include "saga.h"
#include "sagarows.h"
#include "sagastate.h"
#include "store.h"
#include "storeconn.h"
#include "storeconn_private.h"
#include "tallycommit.h"

/*
 * insert_events met an eventId that another saga's batch stored after
 * known_events looked (store.h): the batch is run again, up to
 * STORE_RACE_ATTEMPTS times in all.
 */
#define STORE_RACED		(-2)
#define STORE_RACE_ATTEMPTS	3

/* pg_advisory_xact_lock(class, hashtext(saga_id)): "SAGA" as an int4. */
#define STORE_LOCK_CLASS	"1396787009"

static const char sql_known_events[] =
	"SELECT event_id FROM saga_event WHERE event_id = ANY ($1::text[])";

static const char sql_copy_events[] =
	"COPY saga_event (event_id, saga_id, saga_type, order_id, step,"
	" status, occurred_at, received_at, source, kafka_partition,"
	" kafka_offset, metadata, trace_id) FROM STDIN (FORMAT binary)";

#define STORE_EVENT_FIELDS	13

static const char sql_lock_keys[] =
	"SELECT count(*) FROM (SELECT pg_advisory_xact_lock("
	STORE_LOCK_CLASS ", k.h) FROM (SELECT DISTINCT hashtext(id) AS h"
	" FROM unnest($1::text[]) AS id ORDER BY 1) AS k) AS l";

static const char sql_lock_sagas[] =
	"SELECT saga_id FROM saga_instance "
	"WHERE saga_id = ANY ($1::text[]) "
	"ORDER BY saga_id FOR UPDATE";

static int	 batch_attempt(struct store *, const struct store_msg *,
		    size_t, struct store_batch_result *, char *, size_t);
static int	 batch_transaction(struct store *, struct batch *,
		    struct outcome *, char *, size_t);
static int	 batch_begin(struct store *, struct batch *, char *, size_t);
static int	 batch_finish(struct store *, struct batch *, struct outcome *,
		    char *, size_t);

static void	 batch_late(struct store *, struct batch *);
static int	 batch_insert_events(struct store *, struct batch *, char *,
		    size_t);
static int	 event_ids(const struct batch *, struct pgarray_params *,
		    char *, size_t);
static void	 events_known(struct batch *, PGresult *);
static void	 event_row(struct pgcopy *, const struct item *);
static void	 sagas_locked(struct batch *, PGresult *);
static int	 apply_fresh(struct batch *, char *, size_t);

/* --- events older than the retention horizon ---------------------------- */

/*
 * After batch_begin, which locked every saga of the batch: the late
 * events of sagas that have a row are inserted with the others, those
 * of sagas without one are expired.
 */
static void
batch_late(struct store *s, struct batch *b)
{
	struct item	*it;
	size_t		 i, nbad;

	nbad = b->nbad;
	for (i = 0; i < b->nvalid; i++) {
		if ((it = b->valid[i])->when != ITEM_LATE)
			continue;
		if (b->exists[it->saga])
			it->when = ITEM_LATE_KNOWN;
		else
			batch_expire(b, it, s->expire_sec);
	}
	if (b->nbad > nbad)
		batch_sort_bad(b);
}

/* --- the events ---------------------------------------------------------- */

/* known_events' parameter: the eventIds of the batch, first occurrences. */
static int
event_ids(const struct batch *b, struct pgarray_params *x, char *err,
    size_t errlen)
{
	static const uint32_t	types[] = { PGARRAY_TEXT };
	size_t			i;

	pgarray_params_init(x, types, STORE_NTYPES(types));
	for (i = 0; i < b->nvalid; i++) {
		if (!b->valid[i]->dup)
			pgarray_text(&x->a[0], b->valid[i]->ev.event_id);
	}

	return (pgarray_params_finish(x, "known_events", err, errlen));
}

/* Mark the events known_events found stored: they are duplicates. */
static void
events_known(struct batch *b, PGresult *res)
{
	struct item	*it;
	int		 j;

	for (j = 0; j < PQntuples(res); j++) {
		if ((it = batch_find_valid(b, PQgetvalue(res, j, 0))) != NULL)
			it->known = 1;
	}
}

/* One saga_event row of sql_copy_events. */
static void
event_row(struct pgcopy *c, const struct item *it)
{
	struct strbuf	*r;

	r = pgcopy_row(c);
	pgbin_text(r, it->ev.event_id);
	pgbin_text(r, it->ev.saga_id);
	pgbin_text(r, store_opt(it->ev.saga_type));
	pgbin_text(r, store_opt(it->ev.order_id));
	pgbin_text(r, it->ev.step);
	pgbin_text(r, saga_status_name(it->ev.status));
	pgbin_time_ms(r, it->ev.occurred_at);
	pgbin_time_ms(r, it->msg->received_ms);
	pgbin_text(r, "kafka");
	pgbin_int4(r, it->msg->partition);
	pgbin_int8(r, it->msg->offset);
	pgbin_jsonb(r, it->ev.metadata);
	pgbin_text(r, store_opt(it->ev.trace_id));
}

/*
 * Insert, in eventId order, the first occurrences not stored yet that
 * are due now (not late, or late of a saga with a row), and mark them
 * and their sagas fresh.  0, -1, or STORE_RACED.
 */
static int
batch_insert_events(struct store *s, struct batch *b, char *err,
    size_t errlen)
{
	struct pgcopy	 c;
	struct item	*it;
	size_t		 i;
	int		 rc;

	pgcopy_init(&c, STORE_EVENT_FIELDS);
	for (i = 0; i < b->nvalid; i++) {
		it = b->valid[i];
		if (it->dup || it->known || it->reason != SAGA_REJECT_NONE ||
		    it->when == ITEM_LATE)
			continue;
		event_row(&c, it);
		it->stored = 1;
		b->fresh[it->saga] = 1;
		b->nfresh++;
	}
	rc = 0;
	if (c.rows > 0 && store_copy(s, "insert_events", sql_copy_events, &c,
	    err, errlen) == -1)
		rc = strcmp(c.sqlstate, PGCOPY_UNIQUE_VIOLATION) == 0 ?
		    STORE_RACED : -1;
	pgcopy_free(&c);

	return (rc);
}

/* --- the statements ------------------------------------------------------ */

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
 * saga serialise without deadlock) and, once they are held, which of
 * the batch's events are stored already.
 */
static int
batch_begin(struct store *s, struct batch *b, char *err, size_t errlen)
{
	struct pipeline		 p;
	struct pgarray_params	 ids, ev;
	int			 rc, ls, kn;

	memset(&ids, 0, sizeof(ids));
	memset(&ev, 0, sizeof(ev));
	pipeline_init(&p, s->conn);
	(void)pipeline_add(&p, "begin", "BEGIN", NULL, PGRES_COMMAND_OK);
	ls = kn = -1;
	if (b->nvalid > 0) {
		batch_sagas(b);
		if (sagarows_ids(b, &ids, 0, err, errlen) == -1 ||
		    event_ids(b, &ev, err, errlen) == -1) {
			rc = -1;
			goto done;
		}
		(void)pipeline_add(&p, "lock_keys", sql_lock_keys, &ids,
		    PGRES_TUPLES_OK);
		ls = pipeline_add(&p, "lock_sagas", sql_lock_sagas, &ids,
		    PGRES_TUPLES_OK);
		kn = pipeline_add(&p, "known_events", sql_known_events, &ev,
		    PGRES_TUPLES_OK);
	}

	if ((rc = pipeline_run(&p, err, errlen)) == 0 && b->nvalid > 0) {
		sagas_locked(b, p.stmts[ls].res);
		events_known(b, p.stmts[kn].res);
	}
	pipeline_clear(&p);
done:
	pgarray_params_free(&ids);
	pgarray_params_free(&ev);

	return (rc);
}

/*
 * The last round trip: the tally under a new token, if it counts
 * anything, and COMMIT.  The token is in the slot before any of it is
 * sent (outcome.h).
 */
static int
batch_finish(struct store *s, struct batch *b, struct outcome *o, char *err,
    size_t errlen)
{
	struct pipeline		p;
	struct pgarray_params	t;
	char			num[STORE_NUM_LEN];

	pipeline_init(&p, s->conn);
	batch_tally(b, o);
	tallycommit_queue(s, &p, o, &t, num, sizeof(num));

	return (tallycommit_run(s, &p, err, errlen));
}

/*
 * Six round trips (each COPY takes two), two when no event is new,
 * seven when fresh events belong to sagas that have a row (their stored
 * events are loaded to rebuild them and their rows deleted, in one),
 * plus one per chunk of dead letters (store.h).  0, -1, or STORE_RACED.
 */
static int
batch_transaction(struct store *s, struct batch *b, struct outcome *o,
    char *err, size_t errlen)
{
	int		rc;

	if (batch_begin(s, b, err, errlen) == -1)
		return (-1);
	if (b->nlate > 0)
		batch_late(s, b);
	if (b->nbad > 0 && deadletter_insert(s, b, err, errlen) == -1)
		return (-1);
	if (b->nvalid > 0 && (rc = batch_insert_events(s, b, err,
	    errlen)) != 0)
		return (rc);
	if (b->nfresh > 0 && (sagarows_take(s, b, err, errlen) == -1 ||
	    apply_fresh(b, err, errlen) == -1 ||
	    sagarows_write(s, b, err, errlen) == -1))
		return (-1);

	return (batch_finish(s, b, o, err, errlen));
}

/* --- the whole batch ----------------------------------------------------- */

/* One attempt at the batch: 0, -1, or STORE_RACED (rolled back). */
static int
batch_attempt(struct store *s, const struct store_msg *msgs, size_t n,
    struct store_batch_result *res, char *err, size_t errlen)
{
	struct batch	b;
	struct outcome	o;
	int		rc;

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

int
store_apply_batch(struct store *s, const struct store_msg *msgs, size_t n,
    struct store_batch_result *res, char *err, size_t errlen)
{
	int		rc, attempts;

	memset(res, 0, sizeof(*res));
	if (n == 0)
		return (0);

	/* An eventId raced by another saga is known at the next attempt. */
	attempts = 0;
	do {
		rc = batch_attempt(s, msgs, n, res, err, errlen);
	} while (rc == STORE_RACED && ++attempts < STORE_RACE_ATTEMPTS);

	return (rc == 0 ? 0 : -1);
}
