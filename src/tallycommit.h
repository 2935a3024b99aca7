/*
 * tallycommit: a COMMIT that carries a tally, so that the counters of
 * what it stored are counted exactly once whatever happens to it.
 *
 * A transaction that changes any counter (a batch, store.h, or the manual
 * transition, transition.h) also inserts its tally (struct outcome,
 * outcome.h) into saga_batch_outcome under a fresh random token, in its
 * last round trip, with the statements before COMMIT (insert_outcome: no
 * round trip of its own).  The token goes into the store's outcome slot
 * before that round trip is sent; after COMMIT succeeded the tally is
 * counted and the slot cleared.  When the connection is lost after COMMIT
 * was sent, the transaction's call returns -1 and the slot stays set; so
 * it does when the process dies before the count.  The next transaction on
 * that slot (or store_outcome_slot(), which a respawned worker's lanes
 * call at start) first resolves it, in one round trip on the new
 * connection:
 *
 *   outcome_probe	INSERT a tombstone (deltas NULL) under the token,
 *			ON CONFLICT DO NOTHING: waits for the attempt's
 *			transaction if its backend still runs, and once
 *			committed keeps that transaction from ever writing
 *			the token, so from ever committing
 *   outcome_read	SELECT the token's deltas
 *
 * Deltas found: that attempt committed, they are counted now, and its
 * retry finds every event stored and counts nothing.  None: it did not
 * commit, and the retry stores and counts everything.  Either way the
 * counters end exact.  The part not covered is outcome.h's: a process
 * that dies after it began adding a tally to the counters and before it
 * cleared the slot (microseconds, no system call) has the whole tally
 * counted again by its successor, and a slot left unresolved for longer
 * than the rows are kept (an hour) is taken as not committed.
 * store_refresh_gauges() (gauges.h) purges the rows older than that
 * (outcome_purge, through the created_at index).
 *
 * A transaction uses it in this order: tallycommit_resolve() before
 * BEGIN; tallycommit_queue() and tallycommit_run() for its last round
 * trip; tallycommit_counted() once that succeeded.  The tests' fault
 * hook (storeconn.h) is called at the points in between.
 */

#ifndef SAGA_TALLYCOMMIT_H
#define SAGA_TALLYCOMMIT_H

#include <stddef.h>

#include "outcome.h"
#include "pgarray.h"
#include "pipeline.h"
#include "storeconn.h"

/*
 * Keep the token of a COMMIT in flight in slot (outcome.h), NULL for
 * the store's own.  A token the slot holds already (a dead worker's) is
 * resolved at once, as above.  Returns 0, or -1 with a message if it
 * could not be resolved now; then it is before the next transaction.
 */
int	store_outcome_slot(struct store *, struct outcome_slot *,
	    char *err, size_t errlen);

/*
 * If the store's slot holds a token, find out whether its COMMIT
 * committed, count its tally if so, and clear the slot.  0, or -1 with
 * a message naming the token (the slot is kept then).
 */
int	tallycommit_resolve(struct store *, char *err, size_t errlen);

/*
 * Queue the tally into p under a new token, unless it counts nothing,
 * and put the token in the slot: from now on the slot stands for the
 * COMMIT that follows.  t and num (numlen bytes) must live until p ran.
 */
void	tallycommit_queue(struct store *, struct pipeline *p,
	    struct outcome *, struct pgarray_params *t, char *num,
	    size_t numlen);

/* Add COMMIT to p and run it all.  0, or -1 with err. */
int	tallycommit_run(struct store *, struct pipeline *p, char *err,
	    size_t errlen);

/*
 * The COMMIT's success was seen: count the tally, then clear the slot.
 * Dying in between counts the tally again (outcome.h).
 */
void	tallycommit_counted(struct store *, struct outcome *);

#endif /* !SAGA_TALLYCOMMIT_H */
