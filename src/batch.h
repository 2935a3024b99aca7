/*
 * batch: a batch of consumed messages in memory, between the Kafka
 * consumer's messages and the statements of its transaction (store.h).
 *
 * Every message becomes an item: parsed and validated (saga.h), then
 * sorted two ways, the valid events by eventId and the invalid payloads
 * by their origin (partition, offset), so that what a statement answers
 * (an event_id, a partition and offset) is found again by binary
 * search.  An eventId repeated inside the batch is kept once, at its
 * first position, and so is an invalid payload that comes twice from
 * the same origin; the others are marked dup and never sent.  The
 * distinct sagas of the valid events, sorted by saga_id, each get a
 * saga_state to rebuild (sagastate.h) and two flags the statements set:
 * exists (the saga has a row) and fresh (an event of it was stored by
 * this batch).
 *
 * Events older than the retention horizon are marked late
 * (batch_mark_late): they are inserted only once their saga is known to
 * have a row, and otherwise become dead letters with reason "expired"
 * (batch_expire; store.h says why).
 *
 * After COMMIT the batch gives the tally of what it stored (outcome.h),
 * the event delays (metrics.h) and the caller's struct
 * store_batch_result.  The manual transition (transition.c) uses a batch
 * of one saga and one item to reuse the statements that rebuild and write
 * a saga row.
 *
 * No database and no kore here.  This module is private to the store
 * modules that work on a batch (store.c, the statements they share, the
 * manual transition): nothing else includes this header, so its short
 * names (struct batch, struct item) stay theirs.
 */

#ifndef SAGA_BATCH_H
#define SAGA_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "outcome.h"
#include "saga.h"
#include "sagastate.h"
#include "storemsg.h"

/*
 * When an item is inserted: with the batch (NOW), or, older than the
 * retention horizon, only once its saga is known to have a row (LATE,
 * then LATE_KNOWN); a LATE item whose saga has none is expired.
 */
enum item_when {
	ITEM_NOW = 0,
	ITEM_LATE,
	ITEM_LATE_KNOWN
};

/*
 * One message of a batch: its place (pos), the parse result (reason is
 * SAGA_REJECT_NONE for a valid event), dup when an earlier item has the
 * same eventId (or, invalid, the same partition and offset), known when
 * its eventId was stored before the batch (a duplicate), stored when
 * this batch wrote it, saga its index in batch.sagas.
 */
struct item {
	const struct store_msg	*msg;
	size_t			 pos;
	int			 reason;
	int			 dup;
	int			 known;
	int			 stored;
	enum item_when		 when;
	size_t			 saga;
	struct saga_event	 ev;
	struct saga_delta	 delta;
	char			 detail[SAGA_DETAIL_MAX];
};

/*
 * valid: the valid items by (eventId, pos); bad: the invalid ones by
 * (partition, offset, pos); saga_ids and sagas: the sagas of the valid
 * events (first occurrences), by saga_id; of these, the ones with a
 * fresh event are rebuilt and written.
 */
struct batch {
	struct item		 *items;
	size_t			  n;
	size_t			  nparsed;	/* items[0..nparsed) are set */
	struct item		**valid;
	size_t			  nvalid;
	struct item		**bad;
	size_t			  nbad;
	const char		**saga_ids;
	struct saga_state	 *sagas;
	char			 *exists;	/* per saga: row was there */
	char			 *fresh;	/* per saga: has a fresh
						   event */
	size_t			  nsagas;
	size_t			  nfresh;
	size_t			  nlate;
};

/* Parse and sort n messages into b; dups marked.  Free with batch_free. */
void		 batch_parse(struct batch *b, const struct store_msg *msgs,
		    size_t n);
void		 batch_free(struct batch *);

/* Make the sagas of the valid events, and set each item's saga. */
void		 batch_sagas(struct batch *);

/* Index of saga_id in saga_ids, nsagas if it is not there. */
size_t		 batch_saga_index(const struct batch *, const char *saga_id);

/* The first valid item with this eventId, NULL if none. */
struct item	*batch_find_valid(struct batch *, const char *event_id);

/* The first invalid item from (partition, offset), NULL if none. */
struct item	*batch_find_bad(struct batch *, int32_t partition,
		    int64_t offset);

/* Mark the first occurrences older than expire_sec (0: none) late. */
void		 batch_mark_late(struct batch *, unsigned int expire_sec);

/*
 * Make the late item it a dead letter, "expired", appended to bad;
 * batch_sort_bad() once all are appended.
 */
void		 batch_expire(struct batch *, struct item *it,
		    unsigned int expire_sec);
void		 batch_sort_bad(struct batch *);

/* Append " (batch of N from partition P offset O)" to err. */
void		 batch_error_where(const struct batch *, char *err,
		    size_t errlen);

/* The counter deltas of one stored item, of every stored item. */
void		 batch_item_tally(const struct item *, struct outcome *);
void		 batch_tally(const struct batch *, struct outcome *);

/* After a COMMIT seen to succeed: each applied event's delay. */
void		 batch_delays(const struct batch *);

void		 batch_result(const struct batch *,
		    struct store_batch_result *);

#endif /* !SAGA_BATCH_H */
