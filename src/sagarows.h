/*
 * sagarows: the saga rows (saga_instance) of a batch: rebuilt from the
 * saga's stored events, then written, for the batch transaction
 * (store.h) and the manual transition (transition.h) alike.
 *
 * A saga row is never updated in place from the row itself: its state
 * is rebuilt from its events (sagastate.h says why the row alone is not
 * enough).  sagarows_take() takes the rows of the sagas that already
 * had one and got a fresh event (batch.h: exists and fresh) out to
 * rebuild them, in one round trip of two statements: load_events reads
 * their stored events, each one that is not fresh applied to the saga's
 * state with its deltas thrown away, and delete_sagas deletes the rows.
 * The caller then applies the fresh events, keeping their deltas, and
 * sagarows_write() writes the rows of all the sagas with a fresh event,
 * whatever their number, by one binary COPY (insert_sagas, pgcopy.h).
 * A rebuilt row is a whole new row anyway (an UPDATE of updated_at,
 * which every index but the key holds, writes a new tuple and new index
 * entries too), and COPY writes a page of rows at a time where an
 * INSERT ... ON CONFLICT DO UPDATE took them one by one, each checked
 * against the saga_id index first.  The per-status counts stay exact:
 * the delete's trigger takes the old statuses off, the COPY's adds the
 * new ones (schema.c, version 2).
 *
 * All of it runs inside the caller's transaction, with the saga rows
 * locked by the caller (store.h's lock_sagas, transition.h's
 * manual_lock), so no other writer changes a saga between the load and
 * the write.
 */

#ifndef SAGA_SAGAROWS_H
#define SAGA_SAGAROWS_H

#include <stddef.h>

#include "batch.h"
#include "pgarray.h"
#include "storeconn.h"

/*
 * The saga ids of b as one text array parameter: all of them, or
 * (to_load) those with a row and a fresh event.  0, or -1 with err.
 */
int	sagarows_ids(const struct batch *b, struct pgarray_params *x,
	    int to_load, char *err, size_t errlen);

/*
 * Rebuild the sagas of b that have a row and a fresh event from their
 * stored events but the fresh ones, and delete their rows (load_events,
 * delete_sagas).  0, or -1 with a message naming the statement, the
 * saga and the event.
 */
int	sagarows_take(struct store *, struct batch *b, char *err,
	    size_t errlen);

/*
 * Write the rows of the sagas of b with a fresh event from their
 * rebuilt states (insert_sagas), after sagarows_take().  0, or -1 with
 * err.
 */
int	sagarows_write(struct store *, struct batch *b, char *err,
	    size_t errlen);

#endif /* !SAGA_SAGAROWS_H */
