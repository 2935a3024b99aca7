/*
 * grouplag: the consumer group's lag for the whole topic, read from the
 * broker (SPEC §5 saga_tracker_consumer_lag).
 *
 * For every partition of the topic: the high watermark minus the
 * group's committed offset, or minus the log start offset when the
 * group has committed nothing there; summed.  It does not depend on
 * which partitions this replica holds, so it is right while the group
 * rebalances, while worker 1 and its consumer are respawned, and on a
 * replica that holds no partitions: every replica reports the group's
 * lag.
 *
 * One thread, in one kore worker (the last one, so that it outlives a
 * crash of worker 1), reads it every GROUPLAG_INTERVAL_MS with its own
 * librdkafka handle, which never joins the group and never commits.  A
 * reading is published as saga_tracker_consumer_lag (and {partition}
 * when metrics.lag_per_partition) and stamps
 * saga_tracker_consumer_lag_age_seconds.  When the broker cannot be
 * asked nothing is published: the lag keeps its last value and its age
 * grows, which is how a stale lag is told from a true one.
 *
 * The last reading is also kept in a small shared segment the parent
 * maps before fork, for the consumer's watchdog in worker 1.
 */

#ifndef SAGA_GROUPLAG_H
#define SAGA_GROUPLAG_H

#include <stdint.h>

#include "config.h"

#define GROUPLAG_INTERVAL_MS	2000	/* between two readings */
#define GROUPLAG_TIMEOUT_MS	3000	/* per broker request */

struct grouplag_reading {
	int64_t		lag;		/* messages, summed */
	int		partitions;	/* of the topic */
	int64_t		age_ms;		/* since the reading; -1: none yet */
};

/* Parent, before fork: map the shared reading. */
int	grouplag_shared_init(void);

/*
 * In the worker that reads the lag: start the thread.  brokers is the
 * bootstrap list.  -1 with a log line on error.
 */
int	grouplag_start(const struct config *cfg, const char *brokers);

/* That worker's teardown: stop and join the thread. */
void	grouplag_stop(void);

/* Any process: the last reading. */
void	grouplag_read(struct grouplag_reading *r);

#endif
