/*
 * consumer: the dedicated Kafka consumer that turns saga events into
 * PostgreSQL rows.
 *
 * It runs as one pthread in kore worker 1 only.  It polls messages and
 * queues each on the applier lane of its partition (CONSUMER_LANES
 * database connections, each writing batches of up to
 * APPLIER_BATCH_MAX events in one transaction, at its own pace).  When
 * a lane's batch has committed, the consumer commits the offsets after
 * it: at-least-once delivery, exactly-once effect (the store ignores
 * eventIds it has).  While the database is down a lane retries its
 * batch with backoff and commits nothing; when its queue is full the
 * consumer stops polling.  Before partitions are revoked, what was
 * taken from them is applied and committed.  Every CONSUMER_GAUGE_SEC it
 * refreshes the database-derived gauges, so one process owns them and
 * replicas agree; it stamps saga_tracker_gauges_age_seconds and sets
 * saga_tracker_db_up from that and from the lanes' outcomes.
 *
 * Group membership.  With kafka.static_membership the consumer is a
 * static member (group.instance.id = $POD_NAME, else the host name): a
 * respawned worker 1 rejoins under the same identity and the broker
 * hands its partitions back without a rebalance, instead of waiting
 * for the dead member's session to time out.  At shutdown it
 * unsubscribes first, so that even a static member leaves the group
 * and another replica takes the partitions at once.
 *
 * Phases (SPEC §5): STARTING (worker 1 is setting up, or waits for the
 * database), JOINING (subscribed, no assignment yet), REBALANCING
 * (partitions revoked, waiting for the next assignment), RUNNING (a
 * member with an assignment, which may be empty on a replica that has
 * no partitions), STOPPED (closed at shutdown, or its process is gone).
 *
 * Watchdog.  librdkafka's statistics (every CONSUMER_STATS_MS) give the
 * group state; the consumer is a steady member when the state is "up"
 * and the join state "steady".  When it has not been one for
 * kafka.stuck_after while the group has lag (grouplag.h), the librdkafka
 * handle is recreated (drain, destroy, new, subscribe), logged once with
 * the state that triggered it.  If that fails, liveness fails, so the
 * pod is restarted.  A steady member with no partitions is never
 * restarted.
 *
 * Its status lives in a small shared segment the parent maps before
 * fork, so any worker can report it in /actuator/health; the counts in
 * it are those of the current consumer (reset when worker 1 starts it).
 */

#ifndef SAGA_CONSUMER_H
#define SAGA_CONSUMER_H

#include <stdint.h>

#include "config.h"

#define CONSUMER_BATCH_MS	100	/* poll and queue waits */
#define CONSUMER_LANES		2	/* database connections */
#define CONSUMER_GAUGE_SEC	10
#define CONSUMER_STALL_MS	30000	/* no poll for this long = stuck */
#define CONSUMER_STATS_MS	1000	/* librdkafka statistics interval */
#define CONSUMER_LAG_FRESH_MS	15000	/* a lag older is not trusted */
#define CONSUMER_LEAVE_MS	5000	/* shutdown: wait for the revoke */
/* librdkafka's session.timeout.ms: a member silent this long is gone. */
#define CONSUMER_SESSION_MS	10000
#define CONSUMER_BROKERS_ENV	"SAGA_TRACKER_KAFKA_BROKERS"
#define CONSUMER_BROKERS_DEV	"127.0.0.1:9092"
#define CONSUMER_INSTANCE_ENV	"POD_NAME"
#define CONSUMER_NAME_MAX	128

enum consumer_phase {
	CONSUMER_STARTING = 0,
	CONSUMER_JOINING,
	CONSUMER_REBALANCING,
	CONSUMER_RUNNING,
	CONSUMER_STOPPED
};

struct consumer_status {
	enum consumer_phase	phase;
	int64_t			since_ms;	/* wall clock of the phase */
	int64_t			started_ms;	/* this consumer's start */
	int64_t			last_poll_ms;	/* wall clock, 0 = never */
	int64_t			last_commit_ms;
	int64_t			stuck_after_ms;
	uint64_t		batches;	/* of this consumer */
	uint64_t		events;
	uint64_t		restarts;	/* by the watchdog */
	int			partitions;	/* assigned now */
	int			db_retry;	/* a lane retries a batch */
	int			broken;		/* watchdog could not
						   recreate */
	int			gone;		/* its process has exited */
	char			instance[CONSUMER_NAME_MAX];	/* "" static
								   off */
	char			cgrp_state[32];		/* librdkafka's */
	char			join_state[32];
	char			error[256];	/* last error, "" if none */
	int64_t			now_ms;
};

/* Parent, before fork: map the shared status. */
int	consumer_shared_init(void);

/* The bootstrap servers: kafka.brokers, else the environment, else dev. */
const char *consumer_brokers(const struct config *cfg);

/* Worker 1: start the consumer thread.  -1 with a log line on error. */
int	consumer_start(const struct config *cfg, const char *dsn);

/* Worker teardown: commit, leave the group, join the thread. */
void	consumer_stop(void);

/* Any process: a consistent copy of the status. */
void	consumer_status(struct consumer_status *st);

/*
 * 1 if the consumer has polled within CONSUMER_STALL_MS and the
 * watchdog has not given up: what liveness checks.
 */
int	consumer_alive(const struct consumer_status *st);

/*
 * 1 if alive and RUNNING, or on its way there (STARTING, JOINING,
 * REBALANCING) for less than kafka.stuck_after: the health component.
 */
int	consumer_healthy(const struct consumer_status *st);

const char *consumer_phase_name(enum consumer_phase phase);

#endif
