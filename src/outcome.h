/*
 * outcome: the counter deltas of one batch transaction, and the slots
 * that make them counted exactly once whatever happens to the COMMIT.
 *
 * A batch's effect on the SPEC §3 counters is a struct outcome: events
 * processed per {step, status}, rejections per reason (conflicts
 * included), sagas failed and compensated, each compensation duration
 * observed, and the newest occurredAt of a FAILED event (what
 * saga_last_failed_timestamp is raised to).  outcome_count() adds it to
 * the metrics segment; counting the same tally or the events one by one
 * gives the same exposition.
 *
 * Exactly once.  The store (tallycommit.h) writes the tally, as
 * outcome_format() text, into saga_batch_outcome (schema.h) under a
 * random 64-bit token in the batch's own transaction, and puts the token
 * into an outcome slot before it sends COMMIT.  Whoever sees the COMMIT
 * succeed counts the tally and clears the slot.  A slot still set
 * therefore means a COMMIT whose result nobody saw: the connection
 * dropped after COMMIT was sent, or the process died between COMMIT and
 * the count.  Before the slot's store applies anything else, it asks the
 * database (tallycommit.c): the token's row is there, so that transaction
 * committed and its tally is counted now; or it is not, and a tombstone
 * row under the token guarantees it never will (its own insert of the
 * token would fail).
 *
 * Slots live in a shared mapping that the kore parent makes before it
 * forks (outcome_shared_init), one per applier lane, so a worker that the
 * parent respawns finds its predecessor's slots, like the metrics
 * segment's counters.  Without the mapping (tests, tools) each store
 * keeps a slot of its own, which covers a lost connection but not a
 * dead process: so do the HTTP workers' stores of the manual PATCH.
 *
 * What is left: a process that dies after outcome_count() began adding
 * a tally and before the slot is cleared (atomic adds in shared memory
 * and one atomic store, no system call, microseconds) leaves the slot
 * set, and its successor counts the whole tally again: what was already
 * added is counted twice.  And a token is only as good as its
 * row: rows are purged an hour after their batch (OUTCOME_KEEP_SQL), so a
 * slot left unresolved that long (the database unreachable from this
 * replica for an hour) is taken as not committed.
 */

#ifndef SAGA_OUTCOME_H
#define SAGA_OUTCOME_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "saga.h"
#include "strbuf.h"

#define OUTCOME_SLOTS_MAX	8	/* one per applier lane */

/* How long saga_batch_outcome rows are kept, as an SQL interval. */
#define OUTCOME_KEEP_SQL	"interval '1 hour'"

/* The token of a COMMIT in flight; 0 when there is none. */
struct outcome_slot {
	atomic_uint_least64_t	token;
};

/* One {step, status} series and how many events it gets. */
struct outcome_processed {
	const char		*step;
	enum saga_status	 status;
	uint64_t		 n;
};

/*
 * A tally.  Step strings are not copied: those given to
 * outcome_processed() must outlive it; those of outcome_parse() point
 * into its own copy of the text.
 */
struct outcome {
	struct outcome_processed	*processed;
	size_t				 nprocessed;
	size_t				 processed_cap;
	int				 merged;
	uint64_t			 rejected[SAGA_REJECT_COUNT];
	uint64_t			 failed;
	uint64_t			 compensated;
	int64_t				 last_failed_ms; /* or SAGA_TIME_NONE */
	double				*durations;
	size_t				 ndurations;
	size_t				 durations_cap;
	struct strbuf			 text;	/* outcome_format() */
	char				*parsed; /* outcome_parse()'s copy */
};

void		 outcome_init(struct outcome *);
void		 outcome_free(struct outcome *);

/* Tally one thing each. */
void		 outcome_processed(struct outcome *, const char *step,
		    enum saga_status);
void		 outcome_rejected(struct outcome *, enum saga_reject);
void		 outcome_failed(struct outcome *);
void		 outcome_failed_event(struct outcome *, int64_t occurred_ms);
void		 outcome_compensated(struct outcome *);
void		 outcome_duration(struct outcome *, double seconds);

/* 1 when counting it would change no counter. */
int		 outcome_empty(const struct outcome *);

/*
 * The tally as compact text, one line per series ("p N STATUS STEP",
 * "r N REASON", "f N", "c N", "l MS", "d SECONDS ..."), kept in the
 * outcome until outcome_free().
 */
const char	*outcome_format(struct outcome *);

/* The reverse: -1 with a message in err when text is not one. */
int		 outcome_parse(struct outcome *, const char *text, char *err,
		    size_t errlen);

/* Add the tally to the metrics segment's counters. */
void		 outcome_count(struct outcome *);

/* A random token, never 0. */
uint64_t	 outcome_token_new(void);

/*
 * Map OUTCOME_SLOTS_MAX zeroed slots, shared with every process forked
 * afterwards.  Call once, in the kore parent.  -1 with errno on failure.
 */
int		 outcome_shared_init(void);

/* Shared slot i (0..OUTCOME_SLOTS_MAX-1); NULL without the mapping. */
struct outcome_slot *outcome_shared_slot(int i);

#endif /* !SAGA_OUTCOME_H */
