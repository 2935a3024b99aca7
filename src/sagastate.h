/*
 * sagastate: saga state (SPEC §1, §2).
 *
 * This module owns the merge of one event (saga.h) into a struct
 * saga_state, the saga row, with the counter deltas the merge causes,
 * and the manual transition of a saga (PATCH .../status).
 *
 * It has no kore dependency: it runs in the consumer thread, in the HTTP
 * workers (manual transitions) and in the unit tests.  JSON is jansson.
 *
 * Running out of memory says nothing about the event, so it is not a
 * rejection: the process aborts (xalloc.h), as kore does on allocation
 * failure, while merging as saga.c does while parsing.
 *
 * Saga state merge
 * ----------------
 * Every field of struct saga_state is a pure function of the SET of events
 * applied to it: each is a minimum or maximum over the events under a total
 * order whose last key is eventId (unique within a saga), so any arrival
 * order gives the identical row and re-applying an event changes nothing.
 *
 *   status, currentStep, metadata
 *	from the winning event: the greatest by (order, occurredAt, eventId),
 *	later and then greater eventId winning ties.  order is the SPEC rank
 *	(STARTED 0 < IN_PROGRESS 1 < COMPLETED 2 = FAILED 2 < COMPENSATING 3
 *	< COMPENSATED 4) except that FAILED beats COMPLETED at equal rank
 *	whatever their times: a completed saga that also has a failure-path
 *	event takes the failure-path status.  The occurredAt/eventId tie
 *	break therefore only ever chooses between events of the same status.
 *   startedAt	earliest occurredAt of any event.
 *   updatedAt	latest occurredAt of any event.
 *   failedAt, compensatedAt, completedAt
 *	earliest occurredAt of a FAILED, COMPENSATED, COMPLETED event;
 *	SAGA_TIME_NONE when there is none.
 *   sagaType, orderId, traceId
 *	each from the earliest event by (occurredAt, eventId) that carries
 *	it; empty when none does.
 *   failureReason
 *	metadata.failureReason of the failure-path event that carries one
 *	and is least by (status, occurredAt, eventId) with FAILED before
 *	COMPENSATING before COMPENSATED: the reason the saga failed is
 *	preferred over what was said while compensating.  NULL when none.
 *	Events off the failure path never provide it.
 *
 * Counter deltas (struct saga_delta) are computed from the state before
 * and after the event:
 *   failed		1 when the set first contains a FAILED, COMPENSATING
 *			or COMPENSATED event;
 *   compensated	1 when the set first contains a COMPENSATED event;
 *   conflict		1 when the set first contains both a COMPLETED event
 *			and a failure-path event, whichever came first;
 *   observe_duration	1 when failedAt and compensatedAt are first both
 *			known; duration_sec is then compensatedAt - failedAt
 *			in seconds, clamped at 0 (producer clock skew).
 * Summed over all the events of a saga these are the same for every
 * arrival order, and re-applying an event yields all zeros.  The one thing
 * that can depend on arrival order is the duration VALUE: it uses the
 * failedAt and compensatedAt known when both first exist, and a saga with
 * several FAILED or several COMPENSATED events of different times may
 * later move either bound earlier.  A histogram observation cannot be
 * withdrawn, so the first value stands; the row itself always converges.
 *
 * The state keeps the bookkeeping the merge needs (the winning event and
 * the source event of each inherited field).  A caller that persists only
 * the saga row must rebuild the state by applying the saga's stored events
 * (in any order, deltas discarded) before applying a new one.  Dropping a
 * redelivered eventId is the database's job (unique constraint): apply only
 * events the database accepted, or the same event again, never a different
 * event under an eventId already applied.
 *
 * Manual transitions (PATCH .../status)
 * -------------------------------------
 * saga_manual_check() judges the transition alone: the saga must have
 * events and be FAILED or COMPENSATING, the target COMPENSATING or
 * COMPENSATED (else SAGA_MANUAL_CONFLICT, a 409; a target that is no
 * status at all is SAGA_MANUAL_INVALID, a 400).  saga_manual_event(),
 * which the store calls with the saga row locked, runs that check on
 * the current state, checks the eventId and the reason
 * (SAGA_MANUAL_INVALID) and builds the history event: an ordinary event
 * that is stored and applied through saga_state_apply() like any
 * consumed one, which updates the counters the same way.
 */

#ifndef SAGA_SAGASTATE_H
#define SAGA_SAGASTATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "saga.h"

enum saga_manual {
	SAGA_MANUAL_OK = 0,
	SAGA_MANUAL_CONFLICT,		/* not allowed now: 409 */
	SAGA_MANUAL_INVALID		/* bad target, id or reason: 400 */
};

/* (occurredAt, eventId): the total order of events within a saga. */
struct saga_key {
	int64_t			at;
	char			event_id[SAGA_UTF8_SIZE(SAGA_EVENT_ID_MAX)];
};

struct saga_state {
	/* The saga row; empty strings are NULL columns. */
	char			saga_id[SAGA_ID_MAX + 1];
	char			saga_type[SAGA_UTF8_SIZE(SAGA_TYPE_MAX)];
	char			order_id[SAGA_UTF8_SIZE(SAGA_ORDER_ID_MAX)];
	enum saga_status	status;
	char			current_step[SAGA_STEP_MAX + 1];
	int64_t			started_at;
	int64_t			updated_at;
	int64_t			failed_at;	/* SAGA_TIME_NONE if unknown */
	int64_t			compensated_at;
	int64_t			completed_at;
	char			trace_id[SAGA_UTF8_SIZE(SAGA_TRACE_ID_MAX)];
	char			*failure_reason;
	char			*metadata;

	/* Bookkeeping, see the header comment. */
	unsigned int		seen;		/* bit (1 << status) */
	struct saga_key		winner;
	struct saga_key		saga_type_src;
	struct saga_key		order_id_src;
	struct saga_key		trace_id_src;
	enum saga_status	failure_src_status;
	struct saga_key		failure_src;
};

struct saga_delta {
	int			failed;
	int			compensated;
	int			conflict;
	int			observe_duration;
	double			duration_sec;
};

void		 saga_state_init(struct saga_state *);
void		 saga_state_free(struct saga_state *);
int		 saga_state_apply(struct saga_state *,
		    const struct saga_event *, struct saga_delta *);

/* The Saga object of SPEC §2 (new reference; NULL if out of memory). */
json_t		*saga_state_json(const struct saga_state *);

int		 saga_manual_check(const struct saga_state *,
		    enum saga_status, char *, size_t);
int		 saga_manual_event(const struct saga_state *, enum saga_status,
		    const char *, const char *, int64_t, struct saga_event *,
		    char *, size_t);

#endif /* !SAGA_SAGASTATE_H */
