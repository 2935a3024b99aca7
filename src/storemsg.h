/*
 * storemsg: what goes into the store and what comes out of it, the
 * types that the consumer (consumer.c), the applier (applier.h) and the
 * batch transaction (store.h, batch.h) share: a consumed message, and
 * what one committed batch did.  Types only; it depends on nothing.
 */

#ifndef SAGA_STOREMSG_H
#define SAGA_STOREMSG_H

#include <stddef.h>
#include <stdint.h>

/* One consumed message; the store reads it, never keeps it. */
struct store_msg {
	int32_t		 partition;
	int64_t		 offset;
	const void	*payload;	/* may be NULL when len is 0 */
	size_t		 len;
	int64_t		 received_ms;	/* UTC ms, when consumed */
	int64_t		 timestamp_ms;	/* Kafka's timestamp, 0: none */
	void		*owner;		/* the caller's; the store ignores it */
};

/*
 * What one committed batch did (all zero after a failed one): applied
 * events stored by it; duplicates, valid events whose eventId was stored
 * already or came earlier in the batch; rejected, invalid payloads, and
 * rejected_new, those of them stored now as dead letters (not
 * redeliveries); conflicts, COMPLETED vs failure-path deltas; sagas, the
 * saga rows written.
 */
struct store_batch_result {
	size_t		applied;
	size_t		duplicates;
	size_t		rejected;
	size_t		rejected_new;
	size_t		conflicts;
	size_t		sagas;
};

#endif /* !SAGA_STOREMSG_H */
