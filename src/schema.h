/*
 * schema: the PostgreSQL schema of saga-tracker and the migrations that
 * build it.
 *
 * Migrations are numbered from 1 and applied in order, each at most once:
 * schema_migrations(version, applied_at) records the applied ones.  One
 * run of schema_migrate() is one transaction that first takes a
 * transaction-scoped advisory lock, so several processes starting at once
 * serialise: the first applies what is missing, the others then find
 * nothing to do.  A database that already has versions this binary does
 * not know (a newer release ran) is refused: nothing is written and the
 * error says which version the database has and which this binary
 * knows, so an older release never writes into a newer layout.
 *
 * Migration 1 creates:
 *
 *   saga_instance	one row per saga (struct saga_state, SPEC §2 Saga),
 *			indexed for GET /api/v1/sagas: every filter
 *			(status, orderId, sagaType, step = current_step) is
 *			followed by (updated_at DESC, saga_id DESC), the
 *			keyset order, and a partial index covers the sagas
 *			pending compensation (FAILED, COMPENSATING).
 *   saga_event		the history, one row per accepted event; event_id
 *			is the primary key, which is what makes a redelivered
 *			event a no-op.  source is 'kafka' (with partition and
 *			offset) or 'manual' (without).  saga_type and
 *			order_id are kept because the saga row inherits them
 *			from the earliest event that carries them.
 *   saga_event_rejected
 *			the dead letters: raw payload, reason (the label of
 *			saga_events_rejected_total), detail, partition and
 *			offset, unique per (partition, offset) so that a
 *			redelivered poison message is stored once.
 *
 * Migration 2 (upgrades a version-1 database in place, data kept) adds
 *
 *   saga_status_delta	per-status differences appended by three statement
 *			triggers on saga_instance (insert, update, delete),
 *			from their transition tables, and seeded with the
 *			counts of the rows already there.  The sum of a
 *			status's rows is its count: saga_active_total and
 *			saga_compensation_pending are read from it at a cost
 *			that does not grow with the table (gauges.h).
 *
 * Migration 3 adds
 *
 *   saga_batch_outcome	one row per committed batch that changed a
 *			counter: a random 64-bit token, created_at, and the
 *			batch's counter deltas as outcome.h text; or, with
 *			deltas NULL, a tombstone for a token whose COMMIT
 *			was never seen and did not happen.  It is how a
 *			COMMIT of unknown outcome is counted exactly once
 *			(outcome.h).  Rows older than an hour are purged by
 *			the gauge refresh, through the created_at index.
 *
 * Times are timestamptz with millisecond values (saga.h works in UTC
 * milliseconds).  Statuses are the SPEC names, checked by constraints.
 */

#ifndef SAGA_SCHEMA_H
#define SAGA_SCHEMA_H

#include <stddef.h>

#include <libpq-fe.h>

/* The newest migration this binary knows. */
int	schema_version_latest(void);

/*
 * Bring the database behind conn up to schema_version_latest().  conn
 * must be idle (no transaction open).  Returns 0, or -1 with a message
 * naming the migration or statement in err; the transaction is then
 * rolled back, nothing is half applied.
 */
int	schema_migrate(PGconn *conn, char *err, size_t errlen);

/*
 * Connect to dsn and compare its schema with this binary's: 1 if the
 * database is at a newer version (err says which), 0 if not (or it has
 * no schema yet), -1 if it could not be asked (err says why).
 */
int	schema_check_newer(const char *dsn, char *err, size_t errlen);

/* The same, up to version upto only (tests build older databases). */
int	schema_migrate_to(PGconn *conn, int upto, char *err, size_t errlen);

#endif /* !SAGA_SCHEMA_H */
