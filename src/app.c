/*
 * app: kore_parent_configure / kore_worker_configure and teardown.
 */

#include <kore/kore.h>
#include <kore/hooks.h>
#include <kore/pgsql.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "build_info.h"
#include "consumer.h"
#include "grouplag.h"
#include "jsonalloc.h"
#include "metrics.h"
#include "outcome.h"
#include "purger.h"
#include "schema.h"

/* Stripe per kore worker id; ids beyond share stripe 0, still exact. */
#define APP_METRIC_STRIPES	64

/* The one worker that runs the Kafka consumer thread. */
#define APP_CONSUMER_WORKER	1

static struct config	app_cfg;
static char		app_db_reason[CONFIG_STR_MAX + 64];

static void	app_load_config(void);
static void	app_check_schema(void);
static int	app_lag_worker(void);
static void	app_set_scheduling(void);
static const char *app_register_db(void);

const struct config *
app_config(void)
{
	return (&app_cfg);
}

const char *
app_db_unconfigured(void)
{
	return (app_db_reason[0] != '\0' ? app_db_reason : NULL);
}

static void
app_load_config(void)
{
	const char	*path;
	char		 err[CONFIG_ERR_MAX];

	if ((path = getenv(APP_CONFIG_ENV)) == NULL || *path == '\0')
		path = APP_CONFIG_DEFAULT;

	if (config_load(&app_cfg, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
}

/*
 * A database whose schema is newer than this binary knows (a newer
 * release migrated it) is refused before any worker starts: exit 1 with
 * the versions.  A database that does not answer yet is not an error:
 * the consumer waits for it, and finds the same refusal if need be.
 */
static void
app_check_schema(void)
{
	const char	*dsn;
	char		 err[512];
	int		 rc;

	dsn = getenv(app_cfg.postgres.dsn_env);
	if (dsn == NULL || *dsn == '\0')
		return;

	if ((rc = schema_check_newer(dsn, err, sizeof(err))) == 1) {
		fprintf(stderr, "saga-tracker: %s\n", err);
		exit(1);
	}
	if (rc == -1)
		kore_log(LOG_NOTICE, "database: not checked at start (%s); "
		    "the consumer waits for it", err);
}

/*
 * workers.batch_scheduling: the parent takes SCHED_BATCH before kore
 * forks the workers, so every worker (a restarted one too) and every
 * thread a worker starts has it.  A woken worker then waits for the
 * running task's turn to end instead of preempting it, and handles all
 * that became ready meanwhile in one go.
 */
static void
app_set_scheduling(void)
{
	struct sched_param	param;

	if (!app_cfg.workers.batch_scheduling)
		return;

	memset(&param, 0, sizeof(param));
	if (sched_setscheduler(0, SCHED_BATCH, &param) == -1) {
		kore_log(LOG_WARNING, "%s: workers.batch_scheduling: "
		    "SCHED_BATCH refused (%s); workers keep the normal policy",
		    app_cfg.path, strerror(errno));
		return;
	}

	kore_log(LOG_NOTICE, "workers run under SCHED_BATCH "
	    "(workers.batch_scheduling in %s)", app_cfg.path);
}

void
kore_parent_configure(int argc, char **argv)
{
	struct metrics_params	params;
	char			err[256];

#if defined(KORE_SINGLE_BINARY)
	/* The conf is baked in; the command line still needs parsing. */
	kore_default_getopt(argc, argv);
#else
	(void)argc;
	(void)argv;
#endif

	/* jansson's allocations follow xalloc's policy too (jsonalloc.h). */
	jsonalloc_install();

	app_load_config();
	app_check_schema();
	app_set_scheduling();

	memset(&params, 0, sizeof(params));
	params.max_step_labels = app_cfg.metrics.max_step_labels;
	params.max_stripes = APP_METRIC_STRIPES;
	params.version = build_info_version();
	params.compensation_buckets = app_cfg.metrics.compensation_buckets;
	params.compensation_bucket_count = app_cfg.metrics.bucket_count;
	params.api_slo_bound = app_cfg.slo.api_latency.threshold_sec;
	params.delay_slo_bound = app_cfg.slo.event_freshness.threshold_sec;

	if (metrics_segment_create(&params, err, sizeof(err)) == -1) {
		fprintf(stderr, "metrics: %s\n", err);
		exit(1);
	}

	if (consumer_shared_init() == -1) {
		fprintf(stderr, "consumer: cannot map the shared status: %s\n",
		    strerror(errno));
		exit(1);
	}
	if (grouplag_shared_init() == -1) {
		fprintf(stderr, "grouplag: cannot map the shared reading: %s\n",
		    strerror(errno));
		exit(1);
	}

	if (outcome_shared_init() == -1) {
		fprintf(stderr, "outcome: cannot map the shared slots: %s\n",
		    strerror(errno));
		exit(1);
	}

	kore_log(LOG_NOTICE, "saga-tracker %s (%s) configured from %s",
	    build_info_version(), build_info_commit(), app_cfg.path);
}

static const char *
app_register_db(void)
{
	const char	*dsn;

	dsn = getenv(app_cfg.postgres.dsn_env);
	if (dsn == NULL || *dsn == '\0') {
		(void)snprintf(app_db_reason, sizeof(app_db_reason),
		    "environment variable %s is not set",
		    app_cfg.postgres.dsn_env);
		kore_log(LOG_WARNING, "database: %s", app_db_reason);
		return (NULL);
	}

	if (!kore_pgsql_register(APP_DB_NAME, dsn))
		fatal("database: cannot register %s", app_cfg.postgres.dsn_env);

	return (dsn);
}

/*
 * The group's lag is read in the last worker, so that it stays true
 * while worker 1 and its consumer are respawned (worker 1 itself when
 * it is the only one).
 */
static int
app_lag_worker(void)
{
	int		workers;

	/* kore counts its keymgr and acme slots in worker_count. */
	workers = worker_count - KORE_WORKER_BASE;

	return (workers > 1 ? workers : APP_CONSUMER_WORKER);
}

void
kore_worker_configure(void)
{
	const char	*dsn;

	if (metrics_attach_stripe(worker->id) == -1)
		kore_log(LOG_WARNING, "metrics: worker %u shares stripe 0",
		    worker->id);

	dsn = app_register_db();
	if (worker->id == app_lag_worker() &&
	    grouplag_start(&app_cfg, consumer_brokers(&app_cfg)) == -1)
		kore_log(LOG_ERR, "grouplag: not started; the lag goes stale");
	if (worker->id != APP_CONSUMER_WORKER || dsn == NULL)
		return;

	if (consumer_start(&app_cfg, dsn) == -1)
		kore_log(LOG_ERR, "consumer: not started; see above");
	if (purger_start(&app_cfg, dsn) == -1)
		kore_log(LOG_ERR, "retention: not started; see above");
}

void
kore_worker_teardown(void)
{
	if (worker->id == APP_CONSUMER_WORKER) {
		purger_stop();
		consumer_stop();
	}
	if (worker->id == app_lag_worker())
		grouplag_stop();
}

void
kore_parent_teardown(void)
{
	metrics_segment_destroy();
}
