/*
 * deadletter: the invalid payloads of a batch, stored in
 * saga_event_rejected (schema.h) inside the batch's transaction.
 *
 * A payload that is not a valid saga event (saga.h's reasons) and an
 * event that came too late for its saga (batch.h: "expired") are kept
 * with their raw bytes, the reason, a detail naming the field or the
 * saga, and their origin (partition, offset), so that what was refused
 * can be looked at in the database.  The origin is the key: a
 * redelivered poison message is stored once (ON CONFLICT
 * (kafka_partition, kafka_offset) DO NOTHING), and only the rows this
 * statement stored come back, so the batch counts
 * saga_events_rejected_total{reason} for new dead letters only.
 *
 * One insert_rejected statement per DEADLETTER_CHUNK (1,000) dead
 * letters, each one round trip: a batch full of poison costs a few
 * round trips, not one per message.  Repeats of an origin inside the
 * batch are left out (batch.h marks them dup).
 */

#ifndef SAGA_DEADLETTER_H
#define SAGA_DEADLETTER_H

#include <stddef.h>

#include "batch.h"
#include "storeconn.h"

/*
 * Inside the batch's transaction: insert the first occurrence of every
 * invalid item of b (b->bad), and mark stored those this statement
 * stored.  0, or -1 with "insert_rejected: message" in err.
 */
int	deadletter_insert(struct store *, struct batch *b, char *err,
	    size_t errlen);

#endif /* !SAGA_DEADLETTER_H */
