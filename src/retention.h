/*
 * retention: the purge of old history (the `retention:` section of
 * conf/saga-tracker.yaml), in batches whose cost does not depend on the
 * size of the tables.
 *
 * What goes:
 *   - COMPLETED and COMPENSATED sagas whose updatedAt (their newest
 *     occurredAt) is older than retention.terminal, with all their
 *     events, in one transaction per batch of RETENTION_BATCH sagas;
 *   - dead letters received longer ago than retention.rejected, in
 *     batches of RETENTION_BATCH_REJECTED.
 * FAILED and COMPENSATING sagas are never removed: they wait for a
 * human (or a COMPENSATED event), however old.  A retention of 0 keeps
 * that history for ever.
 *
 * Each batch finds its victims through an index on their time (the
 * oldest first, from where the previous batch of the purge stopped, so
 * no batch walks again over what earlier ones removed or left), removes
 * the events through saga_event_saga_idx, and commits, so no lock is
 * held longer than one batch.  Sagas a consumer lane has locked are
 * skipped (SKIP LOCKED) and taken by a later purge; a saga whose status
 * moved off COMPLETED or COMPENSATED while the batch waited is left
 * alone (the row is checked again once locked).  An event that arrives
 * again for a removed saga is handled by the store (store.h:
 * "expired").  saga_active_total stays exact: saga_status_delta's
 * delete trigger counts what goes.
 *
 * Between batches the purge rests `rest` times as long as the batch
 * took (the service: RETENTION_REST, so a purge uses at most a third of
 * one database backend's time and ingestion keeps its pace).  Rows
 * removed are counted in saga_tracker_retention_deleted_total{table}
 * after each commit, and each batch is timed as
 * saga_tracker_db_query_seconds{query} ("retention_sagas",
 * "retention_rejected").  No kore dependency: the
 * purger thread (purger.h) runs it in the service, tests and benchmarks
 * call it directly.
 */

#ifndef SAGA_RETENTION_H
#define SAGA_RETENTION_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#define RETENTION_BATCH			500	/* sagas per transaction */
#define RETENTION_BATCH_REJECTED	5000	/* dead letters per one */
#define RETENTION_REST			2	/* the service's rest factor */

struct retention_params {
	unsigned int	terminal_sec;	/* 0: keep finished sagas */
	unsigned int	rejected_sec;	/* 0: keep dead letters */
	int		rest;		/* rest x a batch's time after it */
};

/* What a purge removed, so far. */
struct retention_result {
	uint64_t	sagas;
	uint64_t	events;
	uint64_t	rejected;
	unsigned int	batches;
};

/*
 * Called after every committed batch with the totals so far (for
 * progress logs); may be NULL.
 */
typedef void	(*retention_progress)(void *arg,
		    const struct retention_result *sofar);

/*
 * One purge over conn (idle, no transaction open): batches until
 * nothing older than the horizons is left or *stop becomes non-zero
 * (stop may be NULL).  The totals are in *res whatever the outcome.
 * Returns 0, or -1 with a message naming the statement in err; what
 * earlier batches removed stays removed.
 */
int	retention_purge(PGconn *conn, const struct retention_params *p,
	    atomic_int *stop, retention_progress progress, void *arg,
	    struct retention_result *res, char *err, size_t errlen);

#endif /* !SAGA_RETENTION_H */
