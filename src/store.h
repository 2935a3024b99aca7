/*
 * store: the PostgreSQL side of ingestion (SPEC §1).
 *
 * A struct store is one libpq connection, synchronous, used by one thread
 * at a time (storeconn.h opens, checks and closes it).  No kore
 * dependency.  This module is the transaction; what it holds in memory
 * is batch.h's, and the statements it shares with the manual transition
 * (transition.h) are sagarows.h's and tallycommit.h's.
 *
 * store_apply_batch() turns a batch of consumed messages into rows in one
 * transaction with a fixed number of statements, whatever the batch size,
 * sent in this order (pipeline.h: the statements of one round trip go
 * together in libpq pipeline mode):
 *
 *   round trip 1
 *   BEGIN
 *   lock_keys		pg_advisory_xact_lock per saga of the batch's valid
 *			events, in key order: serialises two consumers on a
 *			saga whose row does not exist yet (a rebalance
 *			overlap)
 *   lock_sagas		SELECT ... FOR UPDATE of those saga rows in saga_id
 *			order: serialises with the manual PATCH
 *			(transition.h), which locks the row the same way,
 *			and tells which sagas have a row
 *   known_events	which of the batch's eventIds saga_event holds
 *			already: those are duplicates
 *
 *   insert_rejected	invalid payloads into saga_event_rejected, ON
 *			CONFLICT (partition, offset) DO NOTHING; one round
 *			trip per 1,000 of them (deadletter.h)
 *   insert_events	the others, "fresh", into saga_event by one binary
 *			COPY (pgcopy.h; two round trips: the statement,
 *			then the rows)
 *   load_events	every stored event of the sagas of fresh events
 *			that already had a row (sagarows.h) and, in the
 *   delete_sagas	same round trip, the rows of those sagas
 *   insert_sagas	the rebuilt rows of the sagas of fresh events, by
 *			one binary COPY (two round trips; sagarows.h)
 *
 *   last round trip
 *   insert_outcome	the batch's counter deltas under a new token (see
 *			below)
 *   COMMIT
 *
 * The three saga statements of round trip 1 are left out when the batch
 * has no valid event, insert_rejected when it has no invalid payload,
 * insert_events and insert_sagas when no event is fresh, load_events
 * and delete_sagas when no fresh event belongs to a saga with a row,
 * and insert_outcome when the batch changes no counter.  So a batch of
 * new sagas is six round trips, seven when fresh events belong to sagas
 * that already have a row, plus one per chunk of dead letters; a round
 * trip on the same machine costs tens of microseconds, a 2,000-event
 * batch tens of milliseconds.  Events are inserted in eventId order and
 * saga locks taken in a fixed order, so concurrent batches wait for
 * each other but do not deadlock.
 *
 * Why COPY: it writes a page of rows at a time where INSERT ... ON CONFLICT
 * writes them one by one, each checked against the eventId index before and
 * after; on 2,000-event batches it costs PostgreSQL about half as much per
 * event (README "Scale").  It needs the duplicates known beforehand, and
 * known_events runs once the batch's sagas are locked, so another
 * consumer's batch on the same sagas has committed or not started: its
 * events are seen.  What the locks do not cover is one eventId sent for two
 * different sagas by two writers at once (a producer that reuses ids): the
 * second COPY then meets the first row, waits for it and fails with
 * saga_event_pkey.  The batch is rolled back whole and run again at once
 * (three attempts in all, then it fails as any batch does): known_events
 * now finds the eventId, a duplicate, as INSERT ... ON CONFLICT DO NOTHING
 * would have made it.
 *
 * Each saga row is rebuilt from its events: its stored events other than
 * the fresh ones are applied to a new saga_state with their deltas thrown
 * away, then the fresh ones (batch order) with their deltas kept (see
 * sagastate.h for why the row alone is not enough).  An eventId repeated
 * inside the batch is kept once, at its first position; an eventId
 * already stored is a duplicate whatever its payload.
 *
 * Metrics (metrics.h) change only after COMMIT succeeded (or, below, was
 * found to have succeeded), and only for what this batch stored:
 * saga_events_processed_total{step,status} per fresh event,
 * saga_events_rejected_total{reason} per newly stored dead letter and per
 * conflict delta (the conflicting event is stored all the same),
 * saga_failed_total, saga_compensated_total,
 * saga_compensation_duration_seconds from the saga deltas, and
 * saga_last_failed_timestamp, raised to the occurredAt of every fresh
 * FAILED event (so it is the newest FAILED event whatever the arrival
 * order), and saga_tracker_event_delay_seconds, per applied event, from
 * its Kafka timestamp (store_msg.timestamp_ms; else its occurredAt) to
 * the end of the COMMIT.  A redelivered batch therefore changes neither
 * rows nor counters.  saga_tracker_db_query_seconds{query} is observed for
 * every statement under the names above ("begin", "commit" too), whether
 * it succeeded or not.
 *
 * Retention (retention.h) removes old terminal sagas with their
 * events.  An event of such a saga that comes again must not start a half
 * saga: with store_expire_after(N), a valid event whose occurredAt is
 * more than N seconds old is inserted only if its saga has a row once the
 * saga is locked (round trip 1 tells): otherwise it is a dead letter with
 * reason "expired".  Such events cost no round trip of their own: those
 * inserted go with the others in insert_events.  Whether a saga has a
 * row is judged at that moment: an old event that comes in the batch
 * that first creates its saga is expired too.
 *
 * saga_active_total{status} and saga_compensation_pending are not the
 * batch's: gauges.h refreshes them from what the batch's triggers wrote.
 *
 * Counted exactly once, whatever happens to the COMMIT: a batch that
 * changes any counter writes its tally under a token in its last round
 * trip, with COMMIT, and a COMMIT whose result was not
 * seen is resolved before the next batch on the same outcome slot
 * (tallycommit.h: insert_outcome, outcome_probe, outcome_read).
 */

#ifndef SAGA_STORE_H
#define SAGA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "storeconn.h"
#include "storemsg.h"

/*
 * Apply n messages in one transaction (see above).  Returns 0 once
 * committed: the caller may commit the Kafka offsets.  Returns -1 with a
 * message naming the statement (and saga, event, partition, offset where
 * one is involved) after a rollback or a lost connection: nothing of the
 * batch is stored or counted, and the same batch may be retried as is.
 * A broken connection is re-established at the start of the call.
 */
int		 store_apply_batch(struct store *, const struct store_msg *,
		    size_t, struct store_batch_result *, char *, size_t);

#endif /* !SAGA_STORE_H */
