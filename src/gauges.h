/*
 * gauges: the gauges that only the database knows, read from it every
 * 10 s by the consumer (one process, so the replicas agree).
 *
 * saga_active_total{status} counts the sagas per status, and
 * saga_compensation_pending / _oldest_seconds the sagas in FAILED or
 * COMPENSATING and how long the oldest of them has been waiting.  Counting
 * saga_instance each time would cost a scan that grows with the
 * history.  Instead statement triggers on saga_instance append the
 * per-status differences to saga_status_delta (schema.h), in the
 * transaction that changed the sagas (a batch, store.h, or the manual
 * transition, transition.h); a refresh folds those rows into one per
 * status, under an advisory lock so that two replicas never fold at once,
 * and reads the sums.  The age of the oldest pending saga is one probe of
 * a partial index.  So a refresh costs the same at 10^5 and 10^7 sagas.
 *
 * The same round trip purges the tally rows of saga_batch_outcome
 * (outcome.h, tallycommit.h) older than OUTCOME_KEEP_SQL, so that table
 * stays small without a thread of its own.
 *
 * It runs on a store of its own (storeconn.h); it depends on nothing
 * above the connection.
 */

#ifndef SAGA_GAUGES_H
#define SAGA_GAUGES_H

#include <stddef.h>

#include "storeconn.h"

/*
 * Set saga_active_total{status} for all six statuses (0 for those with
 * no saga) and saga_compensation_pending / _oldest_seconds: the sagas in
 * FAILED or COMPENSATING, and the age in seconds (database clock) of the
 * oldest of them by failed_at, or updated_at when it has none; 0 if none.
 * The cost does not depend on the number of sagas (see above).
 * Returns 0, or -1 with a message; the gauges keep their values then.
 */
int	store_refresh_gauges(struct store *, char *err, size_t errlen);

#endif /* !SAGA_GAUGES_H */
