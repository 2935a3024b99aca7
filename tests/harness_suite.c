/*
 * harness_suite: the runner hooks of every integration suite (see
 * harness.h).  Criterion runs PRE_ALL in the runner before the first
 * test and POST_ALL after the last; what they start is exported to the
 * tests' processes by harness_up().
 */

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include "harness.h"

static struct harness_env	harness_runner_env;

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	harness_suite_up(&harness_runner_env, harness_suite.what,
	    harness_suite.before, harness_suite.after);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	harness_suite_down(&harness_runner_env);
}
