/*
 * test_sagastate: unit tests of src/sagastate.c (SPEC §1, §2), the
 * merge of events into the saga row and the manual transition.
 *
 * Every arrival order of each hand-built saga must give the identical
 * row and identical counter sums, and re-applying an event must change
 * nothing; the failure-path deltas, an event of another saga refused;
 * a manual transition only from FAILED or COMPENSATING to COMPENSATING
 * or COMPENSATED, its event merged like any other.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "rfc3339.h"
#include "saga.h"
#include "sagastate.h"

#define MAX_EVENTS	6

struct evspec {
	const char	*id;
	const char	*status;
	const char	*step;
	const char	*at;
	const char	*type;
	const char	*order;
	const char	*trace;
	const char	*meta;
};

struct sagaspec {
	const char	*name;
	size_t		n;
	struct evspec	ev[MAX_EVENTS];
	const char	*status;
	const char	*step;
	const char	*started;
	const char	*updated;
	const char	*failed;
	const char	*compensated;
	const char	*completed;
	const char	*type;
	const char	*order;
	const char	*trace;
	const char	*reason;
	const char	*meta;
	int		nfailed;
	int		ncompensated;
	int		nconflict;
	int		nobserved;
	int		duration_varies;
};

static const struct sagaspec sagas[] = {
	{
		.name = "happy path",
		.n = 6,
		.ev = {
			{ "h-1", "STARTED", "ORDER_CREATE",
			    "2026-11-27T12:00:00Z", "ORDER_CHECKOUT", "O-1",
			    NULL, "{\"a\":1}" },
			{ "h-2", "IN_PROGRESS", "STOCK_RESERVE",
			    "2026-11-27T12:00:01.250Z", "OTHER_TYPE", NULL,
			    NULL, NULL },
			{ "h-3", "IN_PROGRESS", "PAYMENT_INIT",
			    "2026-11-27T12:00:02+00:00", NULL, "O-2",
			    "trace-3", NULL },
			{ "h-4", "IN_PROGRESS", "SHIPPING",
			    "2026-11-27T13:00:03+01:00", NULL, NULL, NULL,
			    "{\"carrier\":\"dhl\"}" },
			{ "h-5", "COMPLETED", "ORDER_DONE",
			    "2026-11-27T12:00:04Z", NULL, NULL, "trace-5",
			    "{\"ok\":true}" },
			{ "h-6", "IN_PROGRESS", "NOTIFY",
			    "2026-11-27T12:00:05Z", NULL, NULL, NULL, NULL },
		},
		.status = "COMPLETED", .step = "ORDER_DONE",
		.started = "2026-11-27T12:00:00.000Z",
		.updated = "2026-11-27T12:00:05.000Z",
		.completed = "2026-11-27T12:00:04.000Z",
		.type = "ORDER_CHECKOUT", .order = "O-1", .trace = "trace-3",
		.meta = "{\"ok\":true}",
	},
	{
		.name = "failure and compensation",
		.n = 6,
		.ev = {
			{ "f-1", "STARTED", "ORDER_CREATE",
			    "2026-11-27T10:00:00Z", "ORDER_CHECKOUT", "O-9",
			    "tr-9", NULL },
			{ "f-2", "IN_PROGRESS", "STOCK_RESERVE",
			    "2026-11-27T10:00:01Z", NULL, NULL, NULL, NULL },
			{ "f-3", "FAILED", "PAYMENT_INIT",
			    "2026-11-27T10:00:02.500Z", NULL, NULL, NULL,
			    "{\"failureReason\":\"card declined\","
			    "\"code\":51}" },
			{ "f-4", "COMPENSATING", "STOCK_RELEASE",
			    "2026-11-27T10:00:03Z", NULL, NULL, NULL,
			    "{\"failureReason\":\"releasing stock\"}" },
			{ "f-5", "COMPENSATED", "STOCK_RELEASE",
			    "2026-11-27T10:00:07.750Z", NULL, NULL, NULL,
			    "{\"by\":\"worker\"}" },
			{ "f-6", "IN_PROGRESS", "PAYMENT_RETRY",
			    "2026-11-27T10:00:09Z", NULL, NULL, NULL, NULL },
		},
		.status = "COMPENSATED", .step = "STOCK_RELEASE",
		.started = "2026-11-27T10:00:00.000Z",
		.updated = "2026-11-27T10:00:09.000Z",
		.failed = "2026-11-27T10:00:02.500Z",
		.compensated = "2026-11-27T10:00:07.750Z",
		.type = "ORDER_CHECKOUT", .order = "O-9", .trace = "tr-9",
		.reason = "card declined", .meta = "{\"by\":\"worker\"}",
		.nfailed = 1, .ncompensated = 1, .nobserved = 1,
	},
	{
		.name = "completed then failed",
		.n = 5,
		.ev = {
			{ "c-1", "STARTED", "ORDER_CREATE",
			    "2026-11-27T09:00:00Z", NULL, NULL, NULL, NULL },
			{ "c-2", "COMPLETED", "ORDER_DONE",
			    "2026-11-27T09:00:05Z", NULL, NULL, NULL,
			    "{\"note\":\"premature\"}" },
			{ "c-3", "FAILED", "SHIPPING",
			    "2026-11-27T09:00:03Z", NULL, NULL, NULL,
			    "{\"failureReason\":\"carrier rejected\"}" },
			{ "c-4", "COMPLETED", "ORDER_DONE_AGAIN",
			    "2026-11-27T09:00:06Z", NULL, NULL, NULL, NULL },
			{ "c-5", "IN_PROGRESS", "SHIPPING",
			    "2026-11-27T09:00:02Z", "ORDER_CHECKOUT", NULL,
			    NULL, NULL },
		},
		.status = "FAILED", .step = "SHIPPING",
		.started = "2026-11-27T09:00:00.000Z",
		.updated = "2026-11-27T09:00:06.000Z",
		.failed = "2026-11-27T09:00:03.000Z",
		.completed = "2026-11-27T09:00:05.000Z",
		.type = "ORDER_CHECKOUT",
		.reason = "carrier rejected",
		.meta = "{\"failureReason\":\"carrier rejected\"}",
		.nfailed = 1, .nconflict = 1,
	},
	{
		.name = "equal occurredAt",
		.n = 6,
		.ev = {
			{ "b", "IN_PROGRESS", "STEP_B",
			    "2026-01-01T00:00:00Z", "T_B", NULL, NULL,
			    "{\"id\":\"b\"}" },
			{ "a", "IN_PROGRESS", "STEP_A",
			    "2026-01-01T01:00:00+01:00", "T_A", NULL, "tr-a",
			    NULL },
			{ "c", "IN_PROGRESS", "STEP_C",
			    "2025-12-31T23:00:00.000-01:00", NULL, "O-c",
			    "tr-c", NULL },
			{ "s", "STARTED", "START", "2026-01-01T00:00:00Z",
			    NULL, "O-s", NULL, NULL },
			{ "f2", "FAILED", "STEP_F2", "2026-01-01T00:00:00Z",
			    NULL, NULL, NULL,
			    "{\"failureReason\":\"r2\",\"id\":\"f2\"}" },
			{ "f1", "FAILED", "STEP_F1", "2026-01-01T00:00:00Z",
			    NULL, NULL, NULL,
			    "{\"failureReason\":\"r1\",\"id\":\"f1\"}" },
		},
		.status = "FAILED", .step = "STEP_F2",
		.started = "2026-01-01T00:00:00.000Z",
		.updated = "2026-01-01T00:00:00.000Z",
		.failed = "2026-01-01T00:00:00.000Z",
		.type = "T_A", .order = "O-c", .trace = "tr-a",
		.reason = "r1",
		.meta = "{\"failureReason\":\"r2\",\"id\":\"f2\"}",
		.nfailed = 1,
	},
	{
		.name = "duplicate FAILED and COMPENSATED",
		.n = 6,
		.ev = {
			{ "d-s", "STARTED", "ORDER_CREATE",
			    "2026-11-27T08:00:00Z", NULL, NULL, NULL, NULL },
			{ "d-f-late", "FAILED", "PAYMENT_INIT",
			    "2026-11-27T08:00:10Z", NULL, NULL, NULL,
			    "{\"failureReason\":\"late reason\"}" },
			{ "d-f-early", "FAILED", "PAYMENT_INIT",
			    "2026-11-27T08:00:05Z", NULL, NULL, NULL,
			    "{\"failureReason\":\"early reason\"}" },
			{ "d-cing", "COMPENSATING", "STOCK_RELEASE",
			    "2026-11-27T08:00:12Z", NULL, NULL, NULL, NULL },
			{ "d-c-late", "COMPENSATED", "REFUND",
			    "2026-11-27T08:00:30Z", NULL, NULL, NULL,
			    "{\"which\":\"late\"}" },
			{ "d-c-early", "COMPENSATED", "STOCK_RELEASE",
			    "2026-11-27T08:00:20Z", NULL, NULL, NULL,
			    "{\"which\":\"early\"}" },
		},
		.status = "COMPENSATED", .step = "REFUND",
		.started = "2026-11-27T08:00:00.000Z",
		.updated = "2026-11-27T08:00:30.000Z",
		.failed = "2026-11-27T08:00:05.000Z",
		.compensated = "2026-11-27T08:00:20.000Z",
		.reason = "early reason", .meta = "{\"which\":\"late\"}",
		.nfailed = 1, .ncompensated = 1, .nobserved = 1,
		.duration_varies = 1,
	},
	{
		.name = "compensated without FAILED, with COMPLETED",
		.n = 4,
		.ev = {
			{ "x-1", "STARTED", "ORDER_CREATE",
			    "2026-11-27T07:00:00Z", NULL, NULL, NULL, NULL },
			{ "x-2", "COMPLETED", "ORDER_DONE",
			    "2026-11-27T07:00:01Z", NULL, NULL, NULL, NULL },
			{ "x-3", "COMPENSATING", "STOCK_RELEASE",
			    "2026-11-27T07:00:02Z", NULL, NULL, NULL,
			    "{\"failureReason\":\"operator\"}" },
			{ "x-4", "COMPENSATED", "STOCK_RELEASE",
			    "2026-11-27T06:59:59Z", NULL, NULL, NULL,
			    "{\"failureReason\":7}" },
		},
		.status = "COMPENSATED", .step = "STOCK_RELEASE",
		.started = "2026-11-27T06:59:59.000Z",
		.updated = "2026-11-27T07:00:02.000Z",
		.compensated = "2026-11-27T06:59:59.000Z",
		.completed = "2026-11-27T07:00:01.000Z",
		.reason = "operator", .meta = "{\"failureReason\":7}",
		.nfailed = 1, .ncompensated = 1, .nconflict = 1,
	},
};

static void
build_event(const struct evspec *s, struct saga_event *ev)
{
	json_t		*root;
	char		*text, detail[SAGA_DETAIL_MAX];
	int		rc;

	root = json_pack("{s:s, s:s, s:s, s:s, s:s}", "eventId", s->id,
	    "sagaId", "saga-perm", "step", s->step, "status", s->status,
	    "occurredAt", s->at);
	cr_assert_not_null(root);
	if (s->type != NULL)
		json_object_set_new(root, "sagaType", json_string(s->type));
	if (s->order != NULL)
		json_object_set_new(root, "orderId", json_string(s->order));
	if (s->trace != NULL)
		json_object_set_new(root, "traceId", json_string(s->trace));
	if (s->meta != NULL) {
		json_object_set_new(root, "metadata",
		    json_loads(s->meta, 0, NULL));
	}

	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	rc = saga_event_parse(text, strlen(text), ev, detail, sizeof(detail));
	cr_assert_eq(rc, 0, "event %s rejected: %s", s->id, detail);
	free(text);
}

static void
expect_time(const char *what, int64_t ms, const char *want)
{
	char		buf[RFC3339_BUFLEN];

	if (want == NULL) {
		cr_expect_eq(ms, SAGA_TIME_NONE, "%s: expected none", what);
		return;
	}
	cr_assert_neq(ms, SAGA_TIME_NONE, "%s: expected %s", what, want);
	cr_assert_eq(rfc3339_format(ms, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, want, "%s", what);
}

static void
expect_str(const char *what, const char *got, const char *want)
{
	if (want == NULL) {
		cr_expect(got == NULL || got[0] == '\0',
		    "%s: expected none, got '%s'", what, got);
		return;
	}
	cr_assert(got != NULL, "%s: expected '%s', got none", what, want);
	cr_expect_str_eq(got, want, "%s", what);
}

static int
nullable_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);

	return (strcmp(a, b) == 0);
}

static int
key_eq(const struct saga_key *a, const struct saga_key *b)
{
	return (a->at == b->at && strcmp(a->event_id, b->event_id) == 0);
}

/* Every field of the row, and the bookkeeping, must be identical. */
static int
state_eq(const struct saga_state *a, const struct saga_state *b)
{
	return (strcmp(a->saga_id, b->saga_id) == 0 &&
	    strcmp(a->saga_type, b->saga_type) == 0 &&
	    strcmp(a->order_id, b->order_id) == 0 &&
	    a->status == b->status &&
	    strcmp(a->current_step, b->current_step) == 0 &&
	    a->started_at == b->started_at &&
	    a->updated_at == b->updated_at &&
	    a->failed_at == b->failed_at &&
	    a->compensated_at == b->compensated_at &&
	    a->completed_at == b->completed_at &&
	    strcmp(a->trace_id, b->trace_id) == 0 &&
	    nullable_eq(a->failure_reason, b->failure_reason) &&
	    nullable_eq(a->metadata, b->metadata) &&
	    a->seen == b->seen &&
	    key_eq(&a->winner, &b->winner) &&
	    key_eq(&a->saga_type_src, &b->saga_type_src) &&
	    key_eq(&a->order_id_src, &b->order_id_src) &&
	    key_eq(&a->trace_id_src, &b->trace_id_src) &&
	    (a->failure_reason == NULL ||
	    (a->failure_src_status == b->failure_src_status &&
	    key_eq(&a->failure_src, &b->failure_src))));
}

static void
expect_row(const struct sagaspec *sp, const struct saga_state *st)
{
	cr_expect_str_eq(st->saga_id, "saga-perm", "%s", sp->name);
	cr_expect_str_eq(saga_status_name(st->status), sp->status, "%s",
	    sp->name);
	cr_expect_str_eq(st->current_step, sp->step, "%s", sp->name);
	expect_time("startedAt", st->started_at, sp->started);
	expect_time("updatedAt", st->updated_at, sp->updated);
	expect_time("failedAt", st->failed_at, sp->failed);
	expect_time("compensatedAt", st->compensated_at, sp->compensated);
	expect_time("completedAt", st->completed_at, sp->completed);
	expect_str("sagaType", st->saga_type, sp->type);
	expect_str("orderId", st->order_id, sp->order);
	expect_str("traceId", st->trace_id, sp->trace);
	expect_str("failureReason", st->failure_reason, sp->reason);
	expect_str("metadata", st->metadata, sp->meta);
}

static int
next_permutation(size_t *p, size_t n)
{
	size_t		i, j, t;

	if (n < 2)
		return (0);
	for (i = n - 1; i > 0 && p[i - 1] >= p[i]; i--)
		;
	if (i == 0)
		return (0);
	for (j = n - 1; p[j] <= p[i - 1]; j--)
		;
	t = p[i - 1];
	p[i - 1] = p[j];
	p[j] = t;
	for (j = n - 1; i < j; i++, j--) {
		t = p[i];
		p[i] = p[j];
		p[j] = t;
	}

	return (1);
}

static void
apply_ok(struct saga_state *st, const struct saga_event *ev,
    struct saga_delta *d)
{
	cr_assert_eq(saga_state_apply(st, ev, d), 0, "apply %s", ev->event_id);
}

static int
delta_zero(const struct saga_delta *d)
{
	return (d->failed == 0 && d->compensated == 0 && d->conflict == 0 &&
	    d->observe_duration == 0);
}

/* Could this duration come from some FAILED and COMPENSATED pair? */
static int
duration_possible(const struct saga_event *evs, size_t n, double sec)
{
	size_t		i, j;
	int64_t		ms;

	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			if (evs[i].status != SAGA_FAILED ||
			    evs[j].status != SAGA_COMPENSATED)
				continue;
			ms = evs[j].occurred_at - evs[i].occurred_at;
			if ((ms > 0 ? ms / 1000.0 : 0.0) == sec)
				return (1);
		}
	}

	return (0);
}

static void
run_permutations(const struct sagaspec *sp)
{
	struct saga_event	evs[MAX_EVENTS];
	struct saga_state	ref, st, again;
	struct saga_delta	d, sum;
	size_t			perm[MAX_EVENTS], i, k, nperm;
	double			first_duration, duration;
	int			have_ref, distinct;

	for (i = 0; i < sp->n; i++) {
		build_event(&sp->ev[i], &evs[i]);
		perm[i] = i;
	}

	have_ref = 0;
	nperm = 0;
	distinct = 0;
	first_duration = -1;
	saga_state_init(&ref);

	do {
		saga_state_init(&st);
		memset(&sum, 0, sizeof(sum));
		duration = -1;

		for (k = 0; k < sp->n; k++) {
			apply_ok(&st, &evs[perm[k]], &d);
			sum.failed += d.failed;
			sum.compensated += d.compensated;
			sum.conflict += d.conflict;
			sum.observe_duration += d.observe_duration;
			if (d.observe_duration)
				duration = d.duration_sec;

			/* A redelivery of something already applied. */
			apply_ok(&st, &evs[perm[k / 2]], &d);
			cr_assert(delta_zero(&d), "%s: redelivery of %s "
			    "counted", sp->name, evs[perm[k / 2]].event_id);
		}

		cr_assert_eq(sum.failed, sp->nfailed, "%s: failed", sp->name);
		cr_assert_eq(sum.compensated, sp->ncompensated,
		    "%s: compensated", sp->name);
		cr_assert_eq(sum.conflict, sp->nconflict, "%s: conflict",
		    sp->name);
		cr_assert_eq(sum.observe_duration, sp->nobserved,
		    "%s: duration observations", sp->name);

		if (sp->nobserved) {
			cr_assert(duration_possible(evs, sp->n, duration),
			    "%s: duration %f", sp->name, duration);
			if (first_duration < 0)
				first_duration = duration;
			if (duration != first_duration)
				distinct = 1;
		}

		/* Re-applying the whole set changes nothing. */
		for (k = 0; k < sp->n; k++) {
			memcpy(&again, &st, sizeof(again));
			apply_ok(&st, &evs[perm[k]], &d);
			cr_assert(delta_zero(&d), "%s: re-apply counted",
			    sp->name);
			cr_assert(state_eq(&st, &again), "%s: re-apply changed "
			    "the row", sp->name);
		}

		if (!have_ref) {
			expect_row(sp, &st);
			memcpy(&ref, &st, sizeof(ref));
			memset(&st, 0, sizeof(st));
			have_ref = 1;
		} else {
			cr_assert(state_eq(&st, &ref), "%s: permutation %zu "
			    "gives another row", sp->name, nperm);
			saga_state_free(&st);
		}
		nperm++;
	} while (next_permutation(perm, sp->n));

	cr_expect_eq(distinct, sp->duration_varies, "%s: duration values",
	    sp->name);

	saga_state_free(&ref);
	for (i = 0; i < sp->n; i++)
		saga_event_free(&evs[i]);
}

Test(saga_merge, every_order_same_row)
{
	size_t		i;

	for (i = 0; i < sizeof(sagas) / sizeof(sagas[0]); i++)
		run_permutations(&sagas[i]);
}

Test(saga_merge, failure_path_deltas)
{
	struct saga_event	f, c;
	struct saga_state	st;
	struct saga_delta	d;
	struct evspec		fs = { "e-f", "FAILED", "PAY",
				    "2026-11-27T12:00:00Z", NULL, NULL, NULL,
				    NULL };
	struct evspec		cs = { "e-c", "COMPENSATED", "PAY",
				    "2026-11-27T12:00:01.500Z", NULL, NULL,
				    NULL, NULL };

	build_event(&fs, &f);
	build_event(&cs, &c);
	saga_state_init(&st);

	apply_ok(&st, &f, &d);
	cr_expect_eq(d.failed, 1);
	cr_expect_eq(d.compensated, 0);
	cr_expect_eq(d.observe_duration, 0);

	apply_ok(&st, &c, &d);
	cr_expect_eq(d.failed, 0);
	cr_expect_eq(d.compensated, 1);
	cr_expect_eq(d.observe_duration, 1);
	cr_expect_float_eq(d.duration_sec, 1.5, 1e-9);

	apply_ok(&st, &c, &d);
	cr_expect(delta_zero(&d));

	saga_state_free(&st);
	saga_event_free(&f);
	saga_event_free(&c);
}

Test(saga_merge, compensated_before_failed_clamps_duration)
{
	struct saga_event	f, c;
	struct saga_state	st;
	struct saga_delta	d;
	struct evspec		fs = { "e-f", "FAILED", "PAY",
				    "2026-11-27T12:00:05Z", NULL, NULL, NULL,
				    NULL };
	struct evspec		cs = { "e-c", "COMPENSATED", "PAY",
				    "2026-11-27T12:00:01Z", NULL, NULL,
				    NULL, NULL };

	build_event(&fs, &f);
	build_event(&cs, &c);
	saga_state_init(&st);
	apply_ok(&st, &c, &d);
	cr_expect_eq(d.failed, 1);
	cr_expect_eq(d.compensated, 1);
	apply_ok(&st, &f, &d);
	cr_expect_eq(d.failed, 0);
	cr_expect_eq(d.observe_duration, 1);
	cr_expect_float_eq(d.duration_sec, 0.0, 1e-9);
	cr_expect_eq(st.status, SAGA_COMPENSATED);

	saga_state_free(&st);
	saga_event_free(&f);
	saga_event_free(&c);
}

Test(saga_merge, other_saga_refused)
{
	struct saga_event	a, b;
	struct saga_state	st, copy;
	struct saga_delta	d;
	struct evspec		as = { "e-1", "STARTED", "A",
				    "2026-11-27T12:00:00Z", NULL, NULL, NULL,
				    NULL };

	build_event(&as, &a);
	build_event(&as, &b);
	memcpy(b.saga_id, "other", sizeof("other"));
	b.status = SAGA_FAILED;

	saga_state_init(&st);
	apply_ok(&st, &a, &d);
	memcpy(&copy, &st, sizeof(copy));
	errno = 0;
	cr_expect_eq(saga_state_apply(&st, &b, &d), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect(delta_zero(&d));
	cr_expect(state_eq(&st, &copy));

	saga_state_free(&st);
	saga_event_free(&a);
	saga_event_free(&b);
}

static void
state_with_status(struct saga_state *st, const char *status)
{
	struct saga_event	ev;
	struct saga_delta	d;
	struct evspec		s = { "m-1", NULL, "PAYMENT_INIT",
				    "2026-11-27T12:00:00Z", NULL, NULL, NULL,
				    "{\"failureReason\":\"declined\"}" };

	s.status = status;
	build_event(&s, &ev);
	saga_state_init(st);
	apply_ok(st, &ev, &d);
	saga_event_free(&ev);
}

Test(saga_manual, allowed_transitions)
{
	struct saga_state	st;
	char			detail[SAGA_DETAIL_MAX];
	int			from, to, want, rc;

	for (from = 0; from < SAGA_STATUS_COUNT; from++) {
		state_with_status(&st, saga_status_name(from));
		for (to = 0; to < SAGA_STATUS_COUNT; to++) {
			want = ((from == SAGA_FAILED ||
			    from == SAGA_COMPENSATING) &&
			    (to == SAGA_COMPENSATING ||
			    to == SAGA_COMPENSATED)) ?
			    SAGA_MANUAL_OK : SAGA_MANUAL_CONFLICT;
			rc = saga_manual_check(&st, to, detail,
			    sizeof(detail));
			cr_expect_eq(rc, want, "%s -> %s: %d (%s)",
			    saga_status_name(from), saga_status_name(to), rc,
			    detail);
			if (rc != SAGA_MANUAL_OK) {
				cr_expect(strstr(detail, "saga-perm") != NULL,
				    "%s", detail);
			}
		}
		cr_expect_eq(saga_manual_check(&st, SAGA_STATUS_COUNT, NULL,
		    0), SAGA_MANUAL_INVALID);
		saga_state_free(&st);
	}

	saga_state_init(&st);
	cr_expect_eq(saga_manual_check(&st, SAGA_COMPENSATED, NULL, 0),
	    SAGA_MANUAL_CONFLICT);
}

Test(saga_manual, event_applied_like_any_other)
{
	struct saga_event	ev;
	struct saga_state	st;
	struct saga_delta	d;
	char			detail[SAGA_DETAIL_MAX];

	state_with_status(&st, "FAILED");
	cr_assert_eq(saga_manual_event(&st, SAGA_COMPENSATED, "manual-1",
	    "Manual compensation", 1795780860000LL, &ev, detail,
	    sizeof(detail)), SAGA_MANUAL_OK, "%s", detail);
	cr_expect_str_eq(ev.saga_id, "saga-perm");
	cr_expect_str_eq(ev.step, "PAYMENT_INIT");
	cr_expect_eq(ev.status, SAGA_COMPENSATED);
	cr_expect_str_eq(ev.metadata, "{\"reason\":\"Manual compensation\"}");
	cr_expect_null(ev.failure_reason);

	apply_ok(&st, &ev, &d);
	cr_expect_eq(st.status, SAGA_COMPENSATED);
	cr_expect_eq(d.failed, 0);
	cr_expect_eq(d.compensated, 1);
	cr_expect_eq(d.observe_duration, 1);
	cr_expect_float_eq(d.duration_sec, 60.0, 1e-9);
	cr_expect_str_eq(st.failure_reason, "declined");
	saga_event_free(&ev);

	cr_expect_eq(saga_manual_event(&st, SAGA_COMPENSATED, "manual-2",
	    NULL, 1795780870000LL, &ev, detail, sizeof(detail)),
	    SAGA_MANUAL_CONFLICT);
	cr_expect(strstr(detail, "COMPENSATED") != NULL, "%s", detail);
	saga_state_free(&st);

	state_with_status(&st, "COMPENSATING");
	cr_expect_eq(saga_manual_event(&st, SAGA_COMPENSATING, "", NULL,
	    1795780870000LL, &ev, detail, sizeof(detail)),
	    SAGA_MANUAL_INVALID);
	cr_expect_eq(saga_manual_event(&st, SAGA_COMPENSATING, "m",
	    "bad \xff", 1795780870000LL, &ev, detail, sizeof(detail)),
	    SAGA_MANUAL_INVALID);
	cr_assert_eq(saga_manual_event(&st, SAGA_COMPENSATING, "m", "",
	    1795780870000LL, &ev, detail, sizeof(detail)), SAGA_MANUAL_OK);
	cr_expect_null(ev.metadata);
	apply_ok(&st, &ev, &d);
	cr_expect_eq(st.status, SAGA_COMPENSATING);
	cr_expect(delta_zero(&d));
	saga_event_free(&ev);
	saga_state_free(&st);
}
