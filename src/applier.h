/*
 * applier: applies one consumed batch over several database connections
 * at once.
 *
 * A batch is split into lanes by Kafka partition (partition % lanes), so
 * the events of a saga, keyed by sagaId, stay in one lane and in order.
 * Each lane has a thread and its own store connection; the lanes of a
 * batch run in parallel and applier_apply() returns when all of them
 * have finished.  A lane that failed stays pending and is run again by
 * the next applier_apply(); lanes that committed are not (they would be
 * no-ops anyway: the store ignores eventIds it has).  Should two lanes
 * ever touch one saga, the store's per-saga locks serialise them.
 *
 * With one database backend per lane, PostgreSQL's work for a batch is
 * spread over the machine's cores instead of one.
 */

#ifndef SAGA_APPLIER_H
#define SAGA_APPLIER_H

#include <stddef.h>

#include "store.h"

#define APPLIER_LANES_MAX	8

struct applier;

/* Start lanes threads (1..APPLIER_LANES_MAX); NULL with err on failure. */
struct applier	*applier_create(const char *dsn, int lanes, char *err,
		    size_t errlen);
void		 applier_destroy(struct applier *);

/* Take a new batch (the caller keeps msgs alive until it is applied). */
void		 applier_begin(struct applier *, const struct store_msg *msgs,
		    size_t n);

/*
 * Run the pending lanes of the batch in parallel.  0 when every lane has
 * committed; -1 with the first lane's error otherwise (call again).
 */
int		 applier_apply(struct applier *, char *err, size_t errlen);

/* Reconnect lanes whose connection broke (between applies only). */
void		 applier_ping(struct applier *);

#endif
