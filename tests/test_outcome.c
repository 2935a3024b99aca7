/*
 * test_outcome: unit tests of src/outcome.c (Criterion).
 *
 * A tally counted directly and the same tally after its text went
 * through outcome_format() and outcome_parse() give the same
 * exposition, duplicates of a series merge, text that is not a tally is
 * refused, tokens are never 0, and the shared slots are seen by a
 * forked child and by its parent after the child is killed.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "metrics.h"
#include "metrics_render.h"
#include "outcome.h"
#include "saga.h"

static const double	comp_buckets[] = {
	0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600
};

static void
segment_up(void)
{
	struct metrics_params	p;
	char			err[256];

	memset(&p, 0, sizeof(p));
	p.max_step_labels = 64;
	p.max_stripes = 2;
	p.version = "test";
	p.compensation_buckets = comp_buckets;
	p.compensation_bucket_count = sizeof(comp_buckets) /
	    sizeof(comp_buckets[0]);
	cr_assert_eq(metrics_segment_create(&p, err, sizeof(err)), 0, "%s",
	    err);
}

/* The exposition after counting o into a new segment. */
static char *
counted(struct outcome *o)
{
	char		*text;
	size_t		 len;

	segment_up();
	outcome_count(o);
	text = metrics_render(&len);
	cr_assert_not_null(text);
	metrics_segment_destroy();

	/* Two renders a millisecond apart differ in the ages only. */
	return (harness_mask_ages(text));
}

static void
tally(struct outcome *o)
{
	outcome_init(o);
	outcome_processed(o, "PAYMENT_INIT", SAGA_FAILED);
	outcome_processed(o, "ORDER_CREATE", SAGA_STARTED);
	outcome_processed(o, "PAYMENT_INIT", SAGA_FAILED);
	outcome_processed(o, "PAYMENT_INIT", SAGA_COMPENSATED);
	outcome_rejected(o, SAGA_REJECT_INVALID_JSON);
	outcome_rejected(o, SAGA_REJECT_CONFLICT);
	outcome_rejected(o, SAGA_REJECT_CONFLICT);
	outcome_failed(o);
	outcome_failed(o);
	outcome_failed_event(o, 1767225600123LL);
	outcome_failed_event(o, 1767225500000LL);
	outcome_compensated(o);
	outcome_duration(o, 0.1);
	outcome_duration(o, 1.0 / 3.0);
	outcome_duration(o, 4321.987);
}

Test(outcome, text_round_trip_counts_the_same)
{
	struct outcome	 o, back;
	char		*direct, *parsed, err[256];
	const char	*text;

	tally(&o);
	text = outcome_format(&o);
	cr_assert(strstr(text, "p 2 FAILED PAYMENT_INIT\n") != NULL,
	    "series not merged: %s", text);
	cr_assert(strstr(text, "r 2 conflict\n") != NULL, "%s", text);
	cr_assert(strstr(text, "l 1767225600123\n") != NULL, "%s", text);

	outcome_init(&back);
	cr_assert_eq(outcome_parse(&back, text, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_str_eq(outcome_format(&back), text);

	direct = counted(&o);
	parsed = counted(&back);
	cr_assert_str_eq(parsed, direct);
	cr_assert(strstr(direct, "saga_failed_total 2\n") != NULL, "%s",
	    direct);
	cr_assert(strstr(direct, "saga_last_failed_timestamp "
	    "1767225600.123") != NULL, "%s", direct);

	free(direct);
	free(parsed);
	outcome_free(&o);
	outcome_free(&back);
}

Test(outcome, empty_and_not_a_tally)
{
	struct outcome	 o;
	char		 err[256];
	static const char *const bad[] = {
		"p x FAILED S\n", "p 1 NOPE S\n", "r 1 no_such_reason\n",
		"f\n", "c 1 2\n", "l 12x\n", "d 1.5 y\n", "z 1\n"
	};
	size_t		 i;

	outcome_init(&o);
	cr_assert(outcome_empty(&o));
	outcome_failed_event(&o, 5);
	cr_assert(!outcome_empty(&o));
	outcome_free(&o);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(outcome_parse(&o, bad[i], err, sizeof(err)), -1,
		    "accepted: %s", bad[i]);
		cr_assert_neq(err[0], '\0');
		outcome_free(&o);
	}
	cr_assert_eq(outcome_parse(&o, "", err, sizeof(err)), 0);
	cr_assert(outcome_empty(&o));
	outcome_free(&o);
}

Test(outcome, tokens_are_random_and_never_zero)
{
	uint64_t	a, b;

	a = outcome_token_new();
	b = outcome_token_new();
	cr_assert_neq(a, 0);
	cr_assert_neq(b, 0);
	cr_assert_neq(a, b);
}

Test(outcome, shared_slots_outlive_a_killed_child)
{
	pid_t		pid;
	int		status;

	cr_assert_null(outcome_shared_slot(0));
	cr_assert_eq(outcome_shared_init(), 0);
	cr_assert_null(outcome_shared_slot(OUTCOME_SLOTS_MAX));
	cr_assert_null(outcome_shared_slot(-1));

	if ((pid = fork()) == 0) {
		atomic_store(&outcome_shared_slot(OUTCOME_SLOTS_MAX -
		    1)->token, 42);
		(void)raise(SIGKILL);
		_exit(0);
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status));
	cr_assert_eq(atomic_load(&outcome_shared_slot(OUTCOME_SLOTS_MAX -
	    1)->token), 42);
	cr_assert_eq(atomic_load(&outcome_shared_slot(0)->token), 0);
}
