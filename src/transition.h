/*
 * transition: the manual transition of a saga (SPEC §2, PATCH
 * /internal/v1/sagas/{sagaId}/status), on the database side.  manual.c
 * is its HTTP handler and runs it in a kore task on a store of its own
 * (storeconn.h).
 *
 * One transaction: manual_lock takes the saga row FOR UPDATE (the
 * batches lock it the same way, so a transition and a batch on one saga
 * wait for each other), sagarows_take() rebuilds the saga's state from
 * its events and deletes the row, sagastate.h judges the transition and
 * makes a history event with source "manual" and the reason,
 * manual_event stores that event, and sagarows_write() writes the new
 * row (a refused transition rolls it all back).  The event is counted
 * like a consumed one: its tally goes with the COMMIT under a token in
 * the store's slot (tallycommit.h), so a lost answer is resolved, and
 * counted once, at the start of the next transition or batch on this
 * store.
 */

#ifndef SAGA_TRANSITION_H
#define SAGA_TRANSITION_H

#include <stddef.h>

#include "saga.h"
#include "sagastate.h"
#include "storeconn.h"

/*
 * In one transaction, lock the saga row, rebuild its state from its
 * events, check that target is allowed (from FAILED or COMPENSATING to
 * COMPENSATING or COMPENSATED), store a history event with source
 * "manual" and the reason, write the row, and after COMMIT count it
 * like a consumed event (see above).  On STORE_MANUAL_DONE *out holds
 * the new row (free it with saga_state_free); otherwise err says why
 * (the transition, or the statement that failed).
 */
enum store_manual {
	STORE_MANUAL_DONE = 0,
	STORE_MANUAL_NOT_FOUND,		/* 404 */
	STORE_MANUAL_CONFLICT,		/* 409 */
	STORE_MANUAL_INVALID,		/* 400 */
	STORE_MANUAL_FAILED		/* the database failed */
};

enum store_manual store_manual_transition(struct store *,
		    const char *saga_id, enum saga_status target,
		    const char *reason, struct saga_state *out,
		    char *err, size_t errlen);

#endif /* !SAGA_TRANSITION_H */
