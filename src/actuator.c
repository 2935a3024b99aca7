/*
 * actuator: /actuator/health (+ liveness, readiness), /actuator/info and
 * /actuator/prometheus.
 *
 * Health and readiness run a real "SELECT 1" through kore's async pgsql
 * (dbquery.h) on every call, so readiness is DOWN (503) for exactly as
 * long as the database cannot answer.  Liveness only proves the worker's
 * event loop answers: a database outage must not get the pod restarted.
 */

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/pgsql.h>

#include <string.h>

#include "app.h"
#include "build_info.h"
#include "consumer.h"
#include "dbquery.h"
#include "grouplag.h"
#include "metrics.h"
#include "metrics_render.h"
#include "respond.h"
#include "rfc3339.h"
#include "saga.h"

#define HEALTH_FULL		0
#define HEALTH_READINESS	1

#define HEALTH_STATE_SETUP	0
#define HEALTH_STATE_WAIT	1
#define HEALTH_STATE_READ	2
#define HEALTH_STATE_REPLY	3
#define HEALTH_STATE_COUNT	4

struct health_state {
	struct respond_ctx	ctx;
	struct dbquery		sql;
	int			kind;
	int			db_up;		/* SELECT 1 gave 1 */
};

int	actuator_health(struct http_request *);
int	actuator_readiness(struct http_request *);
int	actuator_liveness(struct http_request *);
int	actuator_info(struct http_request *);
int	actuator_prometheus(struct http_request *);

static int	health_run(struct http_request *, const char *, int);
static int	health_setup(struct http_request *);
static int	health_wait(struct http_request *);
static int	health_read(struct http_request *);
static int	health_reply(struct http_request *);
static void	health_time(json_t *, const char *, int64_t);
static json_t	*health_kafka(int *);

static struct http_state	health_states[] = {
	KORE_HTTP_STATE(health_setup),
	KORE_HTTP_STATE(health_wait),
	KORE_HTTP_STATE(health_read),
	KORE_HTTP_STATE(health_reply),
};

int
actuator_health(struct http_request *req)
{
	return (health_run(req, "/actuator/health", HEALTH_FULL));
}

int
actuator_readiness(struct http_request *req)
{
	return (health_run(req, "/actuator/health/readiness",
	    HEALTH_READINESS));
}

static int
health_run(struct http_request *req, const char *route, int kind)
{
	struct health_state	*st;

	if (!http_state_exists(req)) {
		st = respond_begin(req, route, sizeof(*st));
		st->kind = kind;
		kore_pgsql_init(&st->sql.pg);
		if (!respond_method(req, HTTP_METHOD_GET))
			return (KORE_RESULT_OK);
	}

	return (http_state_run(health_states, HEALTH_STATE_COUNT, req));
}

static int
health_setup(struct http_request *req)
{
	struct health_state	*st = http_state_get(req);

	if (app_db_unconfigured() != NULL) {
		req->fsm_state = HEALTH_STATE_REPLY;
		return (HTTP_STATE_CONTINUE);
	}

	return (dbquery_step(req, &st->sql, "health", "SELECT 1", 0, NULL,
	    HEALTH_STATE_SETUP, HEALTH_STATE_WAIT, HEALTH_STATE_REPLY));
}

static int
health_wait(struct http_request *req)
{
	struct health_state	*st = http_state_get(req);

	return (dbquery_wait(req, &st->sql, HEALTH_STATE_WAIT,
	    HEALTH_STATE_READ, HEALTH_STATE_REPLY));
}

static int
health_read(struct http_request *req)
{
	struct health_state	*st = http_state_get(req);

	if (kore_pgsql_ntuples(&st->sql.pg) == 1 &&
	    strcmp(kore_pgsql_getvalue(&st->sql.pg, 0, 0), "1") == 0)
		st->db_up = 1;
	else
		dbquery_fail(&st->sql, 500, "SELECT 1 returned an unexpected "
		    "row");

	kore_pgsql_continue(&st->sql.pg);
	req->fsm_state = HEALTH_STATE_WAIT;

	return (HTTP_STATE_CONTINUE);
}

/* "2026-12-02T08:00:00.000Z" of a wall clock ms, when there is one. */
static void
health_time(json_t *obj, const char *key, int64_t ms)
{
	char		buf[RFC3339_BUFLEN];

	if (ms > 0 && rfc3339_format(ms, buf, sizeof(buf)) != -1)
		json_object_set_new(obj, key, json_string(buf));
}

/*
 * The current consumer's phase since when, and its counts; DOWN when it
 * stopped polling, its process is gone, the watchdog gave up, or it has
 * not been RUNNING for kafka.stuck_after.
 */
static json_t *
health_kafka(int *up)
{
	struct consumer_status	 cs;
	struct grouplag_reading	 lag;
	json_t			*details;

	consumer_status(&cs);
	grouplag_read(&lag);
	*up = consumer_healthy(&cs);

	details = json_pack("{s:s, s:i, s:I, s:I, s:I}",
	    "phase", consumer_phase_name(cs.phase),
	    "partitions", cs.partitions,
	    "batches", (json_int_t)cs.batches,
	    "events", (json_int_t)cs.events,
	    "restarts", (json_int_t)cs.restarts);
	health_time(details, "since", cs.since_ms);
	health_time(details, "startedAt", cs.started_ms);
	health_time(details, "lastPollAt", cs.last_poll_ms);
	health_time(details, "lastCommitAt", cs.last_commit_ms);
	if (cs.cgrp_state[0] != '\0')
		json_object_set_new(details, "group", json_pack("{s:s, s:s}",
		    "state", cs.cgrp_state, "joinState", cs.join_state));
	if (cs.instance[0] != '\0')
		json_object_set_new(details, "groupInstanceId",
		    json_string(cs.instance));
	if (lag.age_ms >= 0)
		json_object_set_new(details, "groupLag", json_pack("{s:I, s:f}",
		    "messages", (json_int_t)lag.lag,
		    "ageSeconds", (double)lag.age_ms / 1000));
	if (cs.db_retry)
		json_object_set_new(details, "database",
		    json_string("RETRYING"));
	if (cs.gone)
		json_object_set_new(details, "error", json_string("the "
		    "consumer's worker is gone; it is being restarted"));
	else if (cs.error[0] != '\0')
		json_object_set_new(details, "error", json_string(cs.error));

	return (json_pack("{s:s, s:o}", "status", *up ? "UP" : "DOWN",
	    "details", details));
}

static int
health_reply(struct http_request *req)
{
	struct health_state	*st = http_state_get(req);
	json_t			*body, *db, *comps;
	const char		*why;
	int			 up, kafka_up;

	up = st->db_up && !st->sql.failed;
	if ((why = app_db_unconfigured()) == NULL)
		why = st->sql.failed ? st->sql.error : "no answer to SELECT 1";
	if (up)
		db = json_pack("{s:s, s:{s:s}}", "status", "UP",
		    "details", "database", "PostgreSQL");
	else
		db = json_pack("{s:s, s:{s:s}}", "status", "DOWN",
		    "details", "error", why);

	comps = json_pack("{s:o}", "db", db);
	if (st->kind == HEALTH_FULL) {
		json_object_set_new(comps, "kafka", health_kafka(&kafka_up));
		up = up && kafka_up;
	}

	body = json_pack("{s:s, s:o}", "status", up ? "UP" : "DOWN",
	    "components", comps);
	respond_json(req, up ? 200 : 503, body);

	return (HTTP_STATE_COMPLETE);
}

/*
 * Liveness fails only for what a restart cures: a consumer thread that
 * stopped making progress (a crashed library thread leaves the worker
 * serving HTTP while consumption silently stops), or a consumer whose
 * watchdog could not recreate it.  A worker 1 that kore is respawning
 * is not a reason.
 */
int
actuator_liveness(struct http_request *req)
{
	struct consumer_status	cs;

	respond_begin(req, "/actuator/health/liveness",
	    sizeof(struct respond_ctx));
	if (!respond_method(req, HTTP_METHOD_GET))
		return (KORE_RESULT_OK);
	consumer_status(&cs);
	if (cs.started_ms != 0 && !cs.gone && !consumer_alive(&cs)) {
		respond_json(req, 503, json_pack("{s:s, s:s}", "status",
		    "DOWN", "reason", cs.broken ? "the Kafka consumer could "
		    "not be recreated" : "the Kafka consumer stopped polling"));
		return (KORE_RESULT_OK);
	}

	respond_json(req, 200, json_pack("{s:s}", "status", "UP"));

	return (KORE_RESULT_OK);
}

int
actuator_info(struct http_request *req)
{
	respond_begin(req, "/actuator/info", sizeof(struct respond_ctx));
	if (!respond_method(req, HTTP_METHOD_GET))
		return (KORE_RESULT_OK);
	respond_json(req, 200, json_pack("{s:s, s:s, s:s, s:s}",
	    "app", "saga-tracker",
	    "version", build_info_version(),
	    "gitCommit", build_info_commit(),
	    "buildTime", build_info_time()));

	return (KORE_RESULT_OK);
}

int
actuator_prometheus(struct http_request *req)
{
	char		*text;
	size_t		 len;

	respond_begin(req, "/actuator/prometheus", sizeof(struct respond_ctx));
	if (!respond_method(req, HTTP_METHOD_GET))
		return (KORE_RESULT_OK);
	if ((text = metrics_render(&len)) == NULL) {
		respond_problem(req, 500, "cannot render the metrics");
		return (KORE_RESULT_OK);
	}

	respond_text(req, 200, "text/plain; version=0.0.4; charset=utf-8",
	    text, len);
	free(text);

	return (KORE_RESULT_OK);
}
