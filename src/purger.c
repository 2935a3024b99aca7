/*
 * purger: owns worker 1's retention thread, its database connection and
 * its schedule (see purger.h).
 */

#include <kore/kore.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "metrics.h"
#include "purger.h"
#include "retention.h"
#include "schema.h"

/* pg_try_advisory_lock() key: "SAGAPURG" as an int8. */
#define PURGER_LOCK_SQL		"SELECT pg_try_advisory_lock(" \
				    "5999734839186707794)"
#define PURGER_UNLOCK_SQL	"SELECT pg_advisory_unlock(" \
				    "5999734839186707794)"

struct purger {
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	atomic_int		 stop;
	int			 started;
	struct retention_params	 params;
	char			 dsn[1024];
	PGconn			*conn;
	double			 started_at;	/* this purge */
	double			 logged_at;
};

static struct purger	*purger = NULL;

static void	*purger_main(void *);
static int	 purger_nap(struct purger *, int);
static int	 purger_connect(struct purger *);
static int	 purger_ask(struct purger *, const char *);
static void	 purger_turn(struct purger *);
static void	 purger_progress(void *, const struct retention_result *);

int
purger_start(const struct config *cfg, const char *dsn)
{
	pthread_condattr_t	attr;

	if (cfg->retention.terminal_sec == 0 &&
	    cfg->retention.rejected_sec == 0) {
		kore_log(LOG_NOTICE, "retention: off (retention.terminal and "
		    "retention.rejected are 0 in %s)", cfg->path);
		return (0);
	}

	purger = kore_calloc(1, sizeof(*purger));
	purger->params.terminal_sec = cfg->retention.terminal_sec;
	purger->params.rejected_sec = cfg->retention.rejected_sec;
	purger->params.rest = RETENTION_REST;
	(void)snprintf(purger->dsn, sizeof(purger->dsn), "%s", dsn);
	(void)pthread_mutex_init(&purger->lock, NULL);
	(void)pthread_condattr_init(&attr);
	(void)pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	(void)pthread_cond_init(&purger->wake, &attr);
	(void)pthread_condattr_destroy(&attr);

	metrics_retention_deleted("saga_instance", 0);
	metrics_retention_deleted("saga_event", 0);
	metrics_retention_deleted("saga_event_rejected", 0);

	if ((errno = pthread_create(&purger->thread, NULL, purger_main,
	    purger)) != 0) {
		kore_log(LOG_ERR, "retention: pthread_create: %s", errno_s);
		return (-1);
	}
	purger->started = 1;

	return (0);
}

void
purger_stop(void)
{
	if (purger == NULL || !purger->started)
		return;

	pthread_mutex_lock(&purger->lock);
	atomic_store(&purger->stop, 1);
	pthread_cond_signal(&purger->wake);
	pthread_mutex_unlock(&purger->lock);
	(void)pthread_join(purger->thread, NULL);
	purger->started = 0;
	if (purger->conn != NULL)
		PQfinish(purger->conn);
	purger->conn = NULL;
}

/* Wait sec seconds unless stopped first: then -1. */
static int
purger_nap(struct purger *pg, int sec)
{
	struct timespec	deadline;
	int		rc;

	(void)clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += sec;

	pthread_mutex_lock(&pg->lock);
	rc = 0;
	while (!atomic_load(&pg->stop) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&pg->wake, &pg->lock, &deadline);
	pthread_mutex_unlock(&pg->lock);

	return (atomic_load(&pg->stop) ? -1 : 0);
}

static void *
purger_main(void *arg)
{
	struct purger	*pg = arg;
	int		 wait;

	while (!atomic_load(&pg->stop)) {
		wait = PURGER_PERIOD_SEC;
		if (purger_connect(pg) == -1)
			wait = PURGER_RETRY_SEC;
		else
			purger_turn(pg);
		if (purger_nap(pg, wait) == -1)
			break;
	}

	return (NULL);
}

/*
 * A usable connection to a database at this binary's schema (migrated
 * here if the consumer has not done it yet: migrations serialise).
 */
static int
purger_connect(struct purger *pg)
{
	char		err[512];

	if (pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK)
		return (0);

	if (pg->conn == NULL)
		pg->conn = PQconnectdb(pg->dsn);
	else
		PQreset(pg->conn);

	if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
		kore_log(LOG_WARNING, "retention: database: %s",
		    pg->conn != NULL ? PQerrorMessage(pg->conn) :
		    "out of memory");
		return (-1);
	}
	if (schema_migrate(pg->conn, err, sizeof(err)) == -1) {
		kore_log(LOG_WARNING, "retention: database: %s", err);
		PQfinish(pg->conn);
		pg->conn = NULL;
		return (-1);
	}

	return (0);
}

/* Run sql (try lock, unlock): 1 if it answered true, 0 false, -1 error. */
static int
purger_ask(struct purger *pg, const char *sql)
{
	PGresult	*res;
	int		 rc;

	res = PQexec(pg->conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		kore_log(LOG_WARNING, "retention: %s: %s", sql,
		    PQerrorMessage(pg->conn));
		PQclear(res);
		return (-1);
	}
	rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);

	return (rc);
}

static void
purger_progress(void *arg, const struct retention_result *r)
{
	struct purger	*pg = arg;
	double		 now;

	now = metrics_now();
	if (r->sagas + r->rejected == 0 || now - pg->logged_at <
	    PURGER_LOG_SEC)
		return;

	kore_log(LOG_NOTICE, "retention: removing, so far %llu sagas, %llu "
	    "events, %llu dead letters in %.0f s", (unsigned long long)r->sagas,
	    (unsigned long long)r->events, (unsigned long long)r->rejected,
	    now - pg->started_at);
	pg->logged_at = now;
}

/* One purge, if no other replica runs one now. */
static void
purger_turn(struct purger *pg)
{
	struct retention_result	r;
	char			err[512];
	int			rc;

	if (purger_ask(pg, PURGER_LOCK_SQL) != 1)
		return;

	pg->started_at = pg->logged_at = metrics_now();
	rc = retention_purge(pg->conn, &pg->params, &pg->stop,
	    purger_progress, pg, &r, err, sizeof(err));
	if (rc == -1)
		kore_log(LOG_WARNING, "%s (retried in %d s)", err,
		    PURGER_PERIOD_SEC);
	if (r.sagas + r.events + r.rejected > 0)
		kore_log(LOG_NOTICE, "retention: removed %llu sagas, %llu "
		    "events, %llu dead letters in %u batches, %.1f s",
		    (unsigned long long)r.sagas, (unsigned long long)r.events,
		    (unsigned long long)r.rejected, r.batches,
		    metrics_now() - pg->started_at);

	if (PQstatus(pg->conn) == CONNECTION_OK)
		(void)purger_ask(pg, PURGER_UNLOCK_SQL);
}
