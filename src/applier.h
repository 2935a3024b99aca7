/*
 * applier: applies consumed messages over several database connections
 * at once, each at its own pace.
 *
 * Messages are routed to lanes by Kafka partition (partition % lanes),
 * so the events of a saga, keyed by sagaId, stay in one lane and in
 * order.  Each lane has a thread, its own store connection and a queue
 * of up to APPLIER_QUEUE_MAX messages.  When it is free, a lane takes
 * what is queued, up to APPLIER_BATCH_MAX, and applies it as one
 * transaction: batches grow with the load (they fill while the previous
 * one is written) and an event that reaches an idle lane is applied at
 * once.  A batch that fails is retried with backoff until it commits or
 * the applier is destroyed; the lane takes nothing else meanwhile.
 * Committed batches go to the done hook in lane order, so in partition
 * order.  Should two lanes ever touch one saga, the store's per-saga
 * locks serialise them.
 *
 * Lane i keeps the token of its COMMIT in flight in shared outcome slot
 * i (outcome.h), which the kore parent maps before it forks: a lane of
 * a respawned worker that finds its slot set resolves it at start,
 * before any batch, so what its predecessor committed but did not count
 * is counted once.
 *
 * With one database backend per lane, PostgreSQL's work is spread over
 * the machine's cores, and a lane with busier partitions does not hold
 * the others back.
 */

#ifndef SAGA_APPLIER_H
#define SAGA_APPLIER_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define APPLIER_LANES_MAX	8
#define APPLIER_BATCH_MAX	2000
#define APPLIER_QUEUE_MAX	(2 * APPLIER_BATCH_MAX)
#define APPLIER_BACKOFF_MIN_MS	100
#define APPLIER_BACKOFF_MAX_MS	5000

/* Called from the lane threads; a lane's calls never overlap. */
struct applier_hooks {
	/* Committed: the messages are the caller's again. */
	void	(*done)(void *arg, const struct store_msg *msgs, size_t n,
		    const struct store_batch_result *res);
	/* Not applied; the lane retries after backoff_ms. */
	void	(*failed)(void *arg, const struct store_msg *msgs, size_t n,
		    const char *err, int backoff_ms);
	/* At destroy: never applied (so never committed). */
	void	(*dropped)(void *arg, const struct store_msg *msgs,
		    size_t n);
	void	*arg;
};

struct applier;

/*
 * Start lanes threads (1..APPLIER_LANES_MAX), whose stores expire old
 * events after expire_sec (store_expire_after; 0: never).  NULL with err
 * on failure.
 */
struct applier	*applier_create(const char *dsn, int lanes,
		    unsigned int expire_sec, const struct applier_hooks *hooks,
		    char *err, size_t errlen);

/*
 * Stop: a batch in the middle of an attempt finishes it (done, or
 * dropped if it failed); everything else queued is dropped.
 */
void		 applier_destroy(struct applier *);

/*
 * Queue a message on its lane, waiting up to wait_ms while that queue
 * is full.  0 when queued, -1 when still full.
 */
int		 applier_push(struct applier *, const struct store_msg *msg,
		    int wait_ms);

/* Wait up to wait_ms for every lane to be idle with nothing queued. */
int		 applier_drain(struct applier *, int wait_ms);

/* How long, in ms, the longest attempt under way has run (0: none). */
int64_t		 applier_attempt_ms(struct applier *);

#endif
