/*
 * purger: the thread of kore worker 1 that runs retention (retention.h)
 * every PURGER_PERIOD_SEC, the first time as soon as the database
 * answers, on a libpq connection of its own.
 *
 * Replicas share the database, so a purge runs only in the replica
 * that holds the session advisory lock PURGER_LOCK_SQL names; the others
 * skip that turn.  A purge logs when it starts removing, every
 * PURGER_LOG_SEC while it goes on, and what it removed when it ends;
 * an error is logged with the statement and the purge is tried again at
 * the next turn.  When retention.terminal and retention.rejected are
 * both 0 no thread is started.
 */

#ifndef SAGA_PURGER_H
#define SAGA_PURGER_H

#include "config.h"

#define PURGER_PERIOD_SEC	60
#define PURGER_LOG_SEC		10
#define PURGER_RETRY_SEC	5	/* database not reachable */

/* Worker 1: start the thread.  -1 with a log line on error. */
int	purger_start(const struct config *cfg, const char *dsn);

/* Worker teardown: stop a purge between batches, join the thread. */
void	purger_stop(void);

#endif /* !SAGA_PURGER_H */
