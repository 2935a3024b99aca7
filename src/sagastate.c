/*
 * sagastate: the order-independent merge of saga events into a saga row
 * and the manual transition (SPEC §1, §2).  See sagastate.h for the
 * rules; this file implements them.
 *
 * Owns: the winner order, the inherited attributes, the counter deltas
 * of a merge, the check and the history event of a manual transition,
 * and the Saga object of the API.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rfc3339.h"
#include "saga.h"
#include "sagastate.h"
#include "utf8.h"
#include "xalloc.h"

static int	status_order(enum saga_status);
static int	key_cmp(const struct saga_event *, const struct saga_key *);
static void	key_set(struct saga_key *, const struct saga_event *);
static int	wins(const struct saga_state *, const struct saga_event *);
static int	gives_reason(const struct saga_state *,
		    const struct saga_event *);
static void	merge_times(struct saga_state *, const struct saga_event *);
static json_t	*json_opt_str(const char *);
static json_t	*json_opt_time(int64_t);
static void	merge_attr(char *, size_t, struct saga_key *, const char *,
		    const struct saga_event *);
static void	state_delta(const struct saga_state *, unsigned int, int,
		    struct saga_delta *);

void
saga_state_init(struct saga_state *st)
{
	memset(st, 0, sizeof(*st));
	st->status = SAGA_STARTED;
	st->started_at = SAGA_TIME_NONE;
	st->updated_at = SAGA_TIME_NONE;
	st->failed_at = SAGA_TIME_NONE;
	st->compensated_at = SAGA_TIME_NONE;
	st->completed_at = SAGA_TIME_NONE;
}

void
saga_state_free(struct saga_state *st)
{
	free(st->failure_reason);
	free(st->metadata);
	saga_state_init(st);
}

/* Status order of the winner: the SPEC rank, FAILED above COMPLETED. */
static int
status_order(enum saga_status status)
{
	return (saga_status_rank(status) * 2 + (status == SAGA_FAILED));
}

static int
key_cmp(const struct saga_event *ev, const struct saga_key *k)
{
	if (ev->occurred_at != k->at)
		return (ev->occurred_at < k->at ? -1 : 1);

	return (strcmp(ev->event_id, k->event_id));
}

static void
key_set(struct saga_key *k, const struct saga_event *ev)
{
	k->at = ev->occurred_at;
	saga_copy_str(k->event_id, sizeof(k->event_id), ev->event_id);
}

/* Does ev beat the current winner by (order, occurredAt, eventId)? */
static int
wins(const struct saga_state *st, const struct saga_event *ev)
{
	int		a, b;

	if (st->seen == 0)
		return (1);

	a = status_order(ev->status);
	b = status_order(st->status);
	if (a != b)
		return (a > b);

	return (key_cmp(ev, &st->winner) > 0);
}

/* Does ev provide failureReason: least (status, occurredAt, eventId)? */
static int
gives_reason(const struct saga_state *st, const struct saga_event *ev)
{
	if (ev->failure_reason == NULL || ev->failure_reason[0] == '\0' ||
	    !saga_status_failure_path(ev->status))
		return (0);
	if (st->failure_reason == NULL)
		return (1);
	if (ev->status != st->failure_src_status)
		return (ev->status < st->failure_src_status);

	return (key_cmp(ev, &st->failure_src) < 0);
}

static void
merge_times(struct saga_state *st, const struct saga_event *ev)
{
	int64_t		*first;
	int64_t		at;

	at = ev->occurred_at;
	if (st->started_at == SAGA_TIME_NONE || at < st->started_at)
		st->started_at = at;
	if (st->updated_at == SAGA_TIME_NONE || at > st->updated_at)
		st->updated_at = at;

	switch (ev->status) {
	case SAGA_FAILED:
		first = &st->failed_at;
		break;
	case SAGA_COMPENSATED:
		first = &st->compensated_at;
		break;
	case SAGA_COMPLETED:
		first = &st->completed_at;
		break;
	default:
		return;
	}

	if (*first == SAGA_TIME_NONE || at < *first)
		*first = at;
}

/* An inherited attribute comes from the earliest event that has one. */
static void
merge_attr(char *dst, size_t size, struct saga_key *src, const char *val,
    const struct saga_event *ev)
{
	if (val[0] == '\0')
		return;
	if (dst[0] != '\0' && key_cmp(ev, src) >= 0)
		return;

	saga_copy_str(dst, size, val);
	key_set(src, ev);
}

static void
state_delta(const struct saga_state *st, unsigned int seen0, int both0,
    struct saga_delta *d)
{
	unsigned int	done;
	int64_t		ms;

	done = SAGA_STATUS_BIT(SAGA_COMPLETED);

	d->failed = !(seen0 & SAGA_FAILURE_PATH_BITS) &&
	    (st->seen & SAGA_FAILURE_PATH_BITS);
	d->compensated = !(seen0 & SAGA_STATUS_BIT(SAGA_COMPENSATED)) &&
	    (st->seen & SAGA_STATUS_BIT(SAGA_COMPENSATED));
	d->conflict = !((seen0 & done) && (seen0 & SAGA_FAILURE_PATH_BITS)) &&
	    (st->seen & done) && (st->seen & SAGA_FAILURE_PATH_BITS);

	if (!both0 && st->failed_at != SAGA_TIME_NONE &&
	    st->compensated_at != SAGA_TIME_NONE) {
		d->observe_duration = 1;
		ms = st->compensated_at - st->failed_at;
		d->duration_sec = ms > 0 ? (double)ms / 1000.0 : 0.0;
	}
}

/*
 * Merge ev into st (saga_state_init() for a new saga) and report in d the
 * counter deltas it causes.  Returns 0, or -1 with errno EINVAL (ev is of
 * another saga or has no valid status); st is then unchanged and d all
 * zeros.
 */
int
saga_state_apply(struct saga_state *st, const struct saga_event *ev,
    struct saga_delta *d)
{
	char		*meta, *reason;
	unsigned int	seen0;
	int		win, give, both0;

	memset(d, 0, sizeof(*d));
	meta = NULL;
	reason = NULL;

	if ((int)ev->status < 0 || ev->status >= SAGA_STATUS_COUNT ||
	    (st->seen != 0 && strcmp(st->saga_id, ev->saga_id) != 0)) {
		errno = EINVAL;
		return (-1);
	}

	win = wins(st, ev);
	give = gives_reason(st, ev);
	if (win && ev->metadata != NULL)
		meta = xstrdup(ev->metadata, "saga_state_apply");
	if (give)
		reason = xstrdup(ev->failure_reason, "saga_state_apply");

	seen0 = st->seen;
	both0 = st->failed_at != SAGA_TIME_NONE &&
	    st->compensated_at != SAGA_TIME_NONE;

	if (st->seen == 0)
		saga_copy_str(st->saga_id, sizeof(st->saga_id), ev->saga_id);
	st->seen |= SAGA_STATUS_BIT(ev->status);
	merge_times(st, ev);

	if (win) {
		st->status = ev->status;
		saga_copy_str(st->current_step, sizeof(st->current_step),
		    ev->step);
		free(st->metadata);
		st->metadata = meta;
		key_set(&st->winner, ev);
	}
	if (give) {
		free(st->failure_reason);
		st->failure_reason = reason;
		st->failure_src_status = ev->status;
		key_set(&st->failure_src, ev);
	}

	merge_attr(st->saga_type, sizeof(st->saga_type), &st->saga_type_src,
	    ev->saga_type, ev);
	merge_attr(st->order_id, sizeof(st->order_id), &st->order_id_src,
	    ev->order_id, ev);
	merge_attr(st->trace_id, sizeof(st->trace_id), &st->trace_id_src,
	    ev->trace_id, ev);

	state_delta(st, seen0, both0, d);

	return (0);
}

/*
 * May an operator move the saga to target (PATCH .../status)?  Only a
 * FAILED or COMPENSATING saga, only to COMPENSATING or COMPENSATED.
 */
int
saga_manual_check(const struct saga_state *st, enum saga_status target,
    char *detail, size_t len)
{
	if (saga_status_name(target) == NULL) {
		return (saga_detail(detail, len, SAGA_MANUAL_INVALID,
		    "status: unknown target status %d", (int)target));
	}
	if (st->seen == 0) {
		return (saga_detail(detail, len, SAGA_MANUAL_CONFLICT,
		    "saga has no events"));
	}
	if (st->status != SAGA_FAILED && st->status != SAGA_COMPENSATING) {
		return (saga_detail(detail, len, SAGA_MANUAL_CONFLICT,
		    "saga %s: is %s; only FAILED or COMPENSATING sagas can be "
		    "moved manually", st->saga_id,
		    saga_status_name(st->status)));
	}
	if (target != SAGA_COMPENSATING && target != SAGA_COMPENSATED) {
		return (saga_detail(detail, len, SAGA_MANUAL_CONFLICT,
		    "saga %s: cannot move from %s to %s; target must be "
		    "COMPENSATING or COMPENSATED", st->saga_id,
		    saga_status_name(st->status), saga_status_name(target)));
	}

	return (SAGA_MANUAL_OK);
}

/*
 * Build the history event of a manual transition: the saga's current
 * step, status target, occurredAt now_ms and metadata {"reason": reason}
 * (none if reason is NULL or empty).  Returns SAGA_MANUAL_OK with ev to be
 * stored, applied with saga_state_apply() and freed with
 * saga_event_free(), or the saga_manual_check() result, or
 * SAGA_MANUAL_INVALID for a bad event_id or reason.
 */
int
saga_manual_event(const struct saga_state *st, enum saga_status target,
    const char *event_id, const char *reason, int64_t now_ms,
    struct saga_event *ev, char *detail, size_t len)
{
	json_t		*meta;
	int		rc;

	memset(ev, 0, sizeof(*ev));
	if ((rc = saga_manual_check(st, target, detail, len)) != 0)
		return (rc);

	if (event_id == NULL || !utf8_valid(event_id, strlen(event_id),
	    NULL) || utf8_count(event_id) < 1 ||
	    utf8_count(event_id) > SAGA_EVENT_ID_MAX) {
		return (saga_detail(detail, len, SAGA_MANUAL_INVALID,
		    "eventId: must be 1..%d characters of UTF-8",
		    SAGA_EVENT_ID_MAX));
	}

	if (reason != NULL && reason[0] != '\0') {
		if (!utf8_valid(reason, strlen(reason), NULL) ||
		    (meta = json_pack("{s:s}", "reason", reason)) == NULL) {
			return (saga_detail(detail, len, SAGA_MANUAL_INVALID,
			    "reason: must be UTF-8 text"));
		}
		ev->metadata = saga_metadata_serialize(meta);
		json_decref(meta);
		if (ev->metadata == NULL) {
			return (saga_detail(detail, len, SAGA_MANUAL_INVALID,
			    "reason: longer than %d bytes of metadata",
			    SAGA_METADATA_MAX));
		}
	}

	saga_copy_str(ev->event_id, sizeof(ev->event_id), event_id);
	saga_copy_str(ev->saga_id, sizeof(ev->saga_id), st->saga_id);
	saga_copy_str(ev->step, sizeof(ev->step), st->current_step);
	ev->status = target;
	ev->occurred_at = now_ms;

	return (SAGA_MANUAL_OK);
}

static json_t *
json_opt_str(const char *s)
{
	return (s != NULL && s[0] != '\0' ? json_string(s) : json_null());
}

static json_t *
json_opt_time(int64_t ms)
{
	char		buf[RFC3339_BUFLEN];

	if (ms == SAGA_TIME_NONE || rfc3339_format(ms, buf, sizeof(buf)) ==
	    -1)
		return (json_null());

	return (json_string(buf));
}

json_t *
saga_state_json(const struct saga_state *st)
{
	json_t		*meta;

	meta = NULL;
	if (st->metadata != NULL)
		meta = json_loads(st->metadata, JSON_DECODE_ANY, NULL);

	return (json_pack("{s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o,"
	    " s:o, s:o, s:o}",
	    "sagaId", st->saga_id,
	    "sagaType", json_opt_str(st->saga_type),
	    "orderId", json_opt_str(st->order_id),
	    "status", saga_status_name(st->status),
	    "currentStep", json_opt_str(st->current_step),
	    "startedAt", json_opt_time(st->started_at),
	    "updatedAt", json_opt_time(st->updated_at),
	    "failedAt", json_opt_time(st->failed_at),
	    "compensatedAt", json_opt_time(st->compensated_at),
	    "completedAt", json_opt_time(st->completed_at),
	    "traceId", json_opt_str(st->trace_id),
	    "failureReason", json_opt_str(st->failure_reason),
	    "metadata", meta != NULL ? meta : json_null()));
}
