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
 * replicas agree.
 *
 * Its liveness lives in a small shared segment the parent maps before
 * fork, so any worker can report it in /actuator/health.
 */

#ifndef SAGA_CONSUMER_H
#define SAGA_CONSUMER_H

#include <stdint.h>

#include "config.h"

#define CONSUMER_BATCH_MS	100	/* poll and queue waits */
#define CONSUMER_LANES		2	/* database connections */
#define CONSUMER_GAUGE_SEC	10
#define CONSUMER_STALL_MS	30000	/* no poll for this long = stuck */
#define CONSUMER_BROKERS_ENV	"SAGA_TRACKER_KAFKA_BROKERS"
#define CONSUMER_BROKERS_DEV	"127.0.0.1:9092"

enum consumer_phase {
	CONSUMER_NOT_STARTED = 0,
	CONSUMER_RUNNING,		/* polling and applying */
	CONSUMER_DB_RETRY,		/* batch held, database failing */
	CONSUMER_STOPPED		/* closed on shutdown */
};

struct consumer_status {
	enum consumer_phase	phase;
	int64_t			last_poll_ms;	/* wall clock, 0 = never */
	int64_t			last_commit_ms;
	uint64_t		batches;
	uint64_t		events;
	char			error[256];	/* last error, "" if none */
	int64_t			now_ms;
};

/* Parent, before fork: map the shared status. */
int	consumer_shared_init(void);

/* Worker 1: start the consumer thread.  -1 with a log line on error. */
int	consumer_start(const struct config *cfg, const char *dsn);

/* Worker teardown: commit, leave the group, join the thread. */
void	consumer_stop(void);

/* Any process: a consistent copy of the status. */
void	consumer_status(struct consumer_status *st);

/* 1 if the consumer has polled within CONSUMER_STALL_MS. */
int	consumer_alive(const struct consumer_status *st);

const char *consumer_phase_name(enum consumer_phase phase);

#endif
