/*
 * transition: the manual transition of one saga, in one transaction.
 * See transition.h.
 *
 * The manual event's time travels as UTC milliseconds, converted on the
 * server, exactly, by MS_TO_TS.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "batch.h"
#include "outcome.h"
#include "pgerr.h"
#include "pipeline.h"
#include "saga.h"
#include "sagarows.h"
#include "sagastate.h"
#include "storeconn.h"
#include "storeconn_private.h"
#include "tallycommit.h"
#include "transition.h"

static const char sql_manual_lock[] =
	"SELECT saga_id FROM saga_instance WHERE saga_id = $1 FOR UPDATE";

static const char sql_manual_event[] =
	"INSERT INTO saga_event (event_id, saga_id, step, status,"
	" occurred_at, received_at, source, metadata) "
	"VALUES ($1, $2, $3, $4, " MS_TO_TS("$5::int8") ", "
	MS_TO_TS("$5::int8") ", 'manual', $6::jsonb)";

static int	 manual_lock(struct store *, const char *, char *, size_t);
static int	 manual_insert(struct store *, const struct saga_event *,
		    char *, size_t);
static enum store_manual manual_apply(struct store *, struct batch *,
		    struct item *, enum saga_status, const char *, char *,
		    size_t);
static int	 manual_commit(struct store *, const struct item *,
		    struct outcome *, char *, size_t);

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
	values[2] = store_opt(ev->step);
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
	if (sagarows_take(s, b, err, errlen) == -1)
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
	    sagarows_write(s, b, err, errlen) == -1)
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
