/*
 * batch: a batch of consumed messages in memory.  See batch.h.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "metrics.h"
#include "outcome.h"
#include "saga.h"
#include "sagastate.h"
#include "xalloc.h"

static int	cmp_event_id(const void *, const void *);
static int	cmp_origin_key(const struct item *, int32_t, int64_t);
static int	cmp_origin_only(const struct item *, const struct item *);
static int	cmp_origin(const void *, const void *);
static int	cmp_str(const void *, const void *);
static void	batch_mark_dups(struct batch *);

static int
cmp_event_id(const void *a, const void *b)
{
	const struct item	*x = *(const struct item *const *)a;
	const struct item	*y = *(const struct item *const *)b;
	int			 c;

	if ((c = strcmp(x->ev.event_id, y->ev.event_id)) != 0)
		return (c);

	return (x->pos < y->pos ? -1 : x->pos > y->pos);
}

/* x's origin against (partition, offset): the order of bad[]. */
static int
cmp_origin_key(const struct item *x, int32_t partition, int64_t offset)
{
	if (x->msg->partition != partition)
		return (x->msg->partition < partition ? -1 : 1);
	if (x->msg->offset != offset)
		return (x->msg->offset < offset ? -1 : 1);

	return (0);
}

static int
cmp_origin_only(const struct item *x, const struct item *y)
{
	return (cmp_origin_key(x, y->msg->partition, y->msg->offset));
}

static int
cmp_origin(const void *a, const void *b)
{
	const struct item	*x = *(const struct item *const *)a;
	const struct item	*y = *(const struct item *const *)b;
	int			 c;

	if ((c = cmp_origin_only(x, y)) != 0)
		return (c);

	return (x->pos < y->pos ? -1 : x->pos > y->pos);
}

static int
cmp_str(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

/* The first item of the batch with this eventId, NULL if none. */
struct item *
batch_find_valid(struct batch *b, const char *event_id)
{
	size_t		lo, hi, mid;
	int		c;

	lo = 0;
	hi = b->nvalid;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(b->valid[mid]->ev.event_id, event_id);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}

	if (lo < b->nvalid && strcmp(b->valid[lo]->ev.event_id,
	    event_id) == 0)
		return (b->valid[lo]);

	return (NULL);
}

/* The first invalid item of the batch from (partition, offset). */
struct item *
batch_find_bad(struct batch *b, int32_t partition, int64_t offset)
{
	size_t		lo, hi, mid;

	lo = 0;
	hi = b->nbad;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cmp_origin_key(b->bad[mid], partition, offset) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}

	if (lo < b->nbad && cmp_origin_key(b->bad[lo], partition,
	    offset) == 0)
		return (b->bad[lo]);

	return (NULL);
}

/* Validate every message; sort the valid and the invalid ones apart. */
void
batch_parse(struct batch *b, const struct store_msg *msgs, size_t n)
{
	struct item	*it;
	size_t		 i;

	memset(b, 0, sizeof(*b));
	b->n = n;
	/* Not calloc: a batch's items are megabytes, each set below. */
	b->items = xreallocarray(NULL, n, sizeof(*b->items), "batch");
	b->valid = xreallocarray(NULL, n, sizeof(*b->valid), "batch");
	b->bad = xreallocarray(NULL, n, sizeof(*b->bad), "batch");

	for (i = 0; i < n; i++) {
		it = &b->items[i];
		it->msg = &msgs[i];
		it->pos = i;
		it->dup = it->known = it->stored = 0;
		it->when = ITEM_NOW;
		it->saga = 0;
		memset(&it->delta, 0, sizeof(it->delta));
		it->reason = saga_event_parse(msgs[i].payload, msgs[i].len,
		    &it->ev, it->detail, sizeof(it->detail));
		b->nparsed = i + 1;
		if (it->reason == SAGA_REJECT_NONE)
			b->valid[b->nvalid++] = it;
		else
			b->bad[b->nbad++] = it;
	}

	qsort(b->valid, b->nvalid, sizeof(*b->valid), cmp_event_id);
	qsort(b->bad, b->nbad, sizeof(*b->bad), cmp_origin);
	batch_mark_dups(b);
}

/* Only the first of equal eventIds, or of equal origins, is inserted. */
static void
batch_mark_dups(struct batch *b)
{
	size_t		i;

	for (i = 1; i < b->nvalid; i++) {
		if (strcmp(b->valid[i]->ev.event_id,
		    b->valid[i - 1]->ev.event_id) == 0)
			b->valid[i]->dup = 1;
	}

	for (i = 1; i < b->nbad; i++) {
		if (cmp_origin_only(b->bad[i], b->bad[i - 1]) == 0)
			b->bad[i]->dup = 1;
	}
}

void
batch_free(struct batch *b)
{
	size_t		i;

	for (i = 0; b->items != NULL && i < b->nparsed; i++)
		saga_event_free(&b->items[i].ev);
	for (i = 0; b->sagas != NULL && i < b->nsagas; i++)
		saga_state_free(&b->sagas[i]);

	free(b->items);
	free(b->valid);
	free(b->bad);
	free(b->saga_ids);
	free(b->sagas);
	free(b->exists);
	free(b->fresh);
	memset(b, 0, sizeof(*b));
}

/* Append " (batch of N from partition P offset O)" to err. */
void
batch_error_where(const struct batch *b, char *err, size_t errlen)
{
	size_t		len;

	if (err == NULL || b->nparsed == 0 ||
	    (len = strlen(err)) + 1 >= errlen)
		return;

	(void)snprintf(err + len, errlen - len, " (batch of %zu from "
	    "partition %" PRId32 " offset %" PRId64 ")", b->n,
	    b->items[0].msg->partition, b->items[0].msg->offset);
}

/* The distinct sagas of the valid events, sorted, and each item's. */
void
batch_sagas(struct batch *b)
{
	struct item	*it;
	size_t		 i, n;

	b->saga_ids = xcalloc(b->nvalid, sizeof(*b->saga_ids), "batch_sagas");
	for (i = 0, n = 0; i < b->nvalid; i++) {
		if (!b->valid[i]->dup)
			b->saga_ids[n++] = b->valid[i]->ev.saga_id;
	}
	qsort(b->saga_ids, n, sizeof(*b->saga_ids), cmp_str);
	for (i = 0; i < n; i++) {
		if (b->nsagas == 0 || strcmp(b->saga_ids[b->nsagas - 1],
		    b->saga_ids[i]) != 0)
			b->saga_ids[b->nsagas++] = b->saga_ids[i];
	}

	/* Not calloc: a saga state is kilobytes, and each is set below. */
	b->sagas = xreallocarray(NULL, b->nsagas, sizeof(*b->sagas),
	    "batch_sagas");
	b->exists = xcalloc(b->nsagas, sizeof(*b->exists), "batch_sagas");
	b->fresh = xcalloc(b->nsagas, sizeof(*b->fresh), "batch_sagas");
	for (i = 0; i < b->nsagas; i++)
		saga_state_init(&b->sagas[i]);
	for (i = 0; i < b->nvalid; i++) {
		if (!(it = b->valid[i])->dup)
			it->saga = batch_saga_index(b, it->ev.saga_id);
	}
}

/* Index of saga_id in saga_ids, nsagas if it is not there. */
size_t
batch_saga_index(const struct batch *b, const char *saga_id)
{
	const char	**p;

	p = bsearch(&saga_id, b->saga_ids, b->nsagas, sizeof(*b->saga_ids),
	    cmp_str);

	return (p == NULL ? b->nsagas : (size_t)(p - b->saga_ids));
}

/*
 * Hold back the first occurrences older than expire_sec: they are
 * inserted only if their saga has a row (batch_late), since their saga
 * may be one retention removed.
 */
void
batch_mark_late(struct batch *b, unsigned int expire_sec)
{
	struct timespec	 ts;
	struct item	*it;
	int64_t		 horizon;
	size_t		 i;

	if (expire_sec == 0)
		return;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	horizon = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 -
	    (int64_t)expire_sec * 1000;
	for (i = 0; i < b->nvalid; i++) {
		it = b->valid[i];
		if (!it->dup && it->ev.occurred_at < horizon) {
			it->when = ITEM_LATE;
			b->nlate++;
		}
	}
}

/*
 * A late event whose saga has no row becomes a dead letter, "expired":
 * applying it would start a half saga out of a history already purged.
 * Its eventId's repeats in the batch stay duplicates of it.
 */
void
batch_expire(struct batch *b, struct item *it, unsigned int expire_sec)
{
	it->reason = SAGA_REJECT_EXPIRED;
	(void)snprintf(it->detail, sizeof(it->detail), "saga %.64s is not "
	    "stored and the event occurred more than %us ago (retention."
	    "terminal)", it->ev.saga_id, expire_sec);
	b->bad[b->nbad++] = it;
}

/* Sort bad again after batch_expire() added to it. */
void
batch_sort_bad(struct batch *b)
{
	qsort(b->bad, b->nbad, sizeof(*b->bad), cmp_origin);
}

void
batch_item_tally(const struct item *it, struct outcome *o)
{
	const struct saga_delta	*d;

	if (it->reason != SAGA_REJECT_NONE) {
		outcome_rejected(o, it->reason);
		return;
	}

	d = &it->delta;
	outcome_processed(o, it->ev.step, it->ev.status);

	/*
	 * saga_last_failed_timestamp is the newest occurredAt of a FAILED
	 * event, whatever the arrival order; a saga that enters the failure
	 * path through another status is counted without moving it.
	 */
	if (d->failed)
		outcome_failed(o);
	if (it->ev.status == SAGA_FAILED)
		outcome_failed_event(o, it->ev.occurred_at);
	if (d->compensated)
		outcome_compensated(o);
	if (d->observe_duration)
		outcome_duration(o, d->duration_sec);
	if (d->conflict)
		outcome_rejected(o, SAGA_REJECT_CONFLICT);
}

/* What the batch stored, as counter deltas. */
void
batch_tally(const struct batch *b, struct outcome *o)
{
	size_t		i;

	for (i = 0; i < b->n; i++) {
		if (b->items[i].stored)
			batch_item_tally(&b->items[i], o);
	}
}

/*
 * After a COMMIT this attempt saw succeed: for each applied event its
 * delay from the Kafka timestamp (else occurredAt) to now.  A batch
 * counted later from its recorded outcome is not observed: when it
 * committed is not known.
 */
void
batch_delays(const struct batch *b)
{
	const struct item	*it;
	struct timespec		 ts;
	int64_t			 now, from;
	size_t			 i;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	for (i = 0; i < b->n; i++) {
		it = &b->items[i];
		if (!it->stored || it->reason != SAGA_REJECT_NONE)
			continue;
		from = it->msg->timestamp_ms > 0 ? it->msg->timestamp_ms :
		    it->ev.occurred_at;
		metrics_event_delay_observe((double)(now - from) / 1000.0);
	}
}

void
batch_result(const struct batch *b, struct store_batch_result *res)
{
	const struct item	*it;
	size_t			 i;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < b->n; i++) {
		it = &b->items[i];
		if (it->reason != SAGA_REJECT_NONE) {
			res->rejected++;
			res->rejected_new += it->stored;
		} else if (it->stored) {
			res->applied++;
			res->conflicts += it->delta.conflict;
		} else {
			res->duplicates++;
		}
	}
	for (i = 0; i < b->nsagas; i++)
		res->sagas += b->fresh[i] != 0;
}

