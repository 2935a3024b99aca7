/*
 * Integration: the actuator endpoints against a real PostgreSQL and the real
 * service, including readiness going DOWN while the database is stopped.
 */

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <sys/stat.h>

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"

/* The shipped YAML with the workers on the normal policy. */
static void
normal_policy(struct harness_env *env)
{
	harness_yaml_edit(env, "batch_scheduling: true",
	    "  batch_scheduling: false");
}

const struct harness_suite	harness_suite = {
	HARNESS_PG | HARNESS_SERVICE, normal_policy, NULL
};

static json_t *
get_json(const struct harness_env *env, const char *path, int *status)
{
	struct harness_reply	 r;
	json_error_t		 jerr;
	json_t			*doc;

	cr_assert_eq(harness_http(env->service_port, "GET", path, NULL, NULL,
	    &r), 0, "GET %s: no answer", path);
	*status = r.status;
	doc = json_loads(r.body, 0, &jerr);
	cr_assert_not_null(doc, "GET %s: body is not JSON: %s", path, r.body);
	harness_reply_free(&r);

	return (doc);
}

static const char *
json_path_str(json_t *doc, const char *a, const char *b)
{
	json_t		*v;

	v = json_object_get(doc, a);
	if (b != NULL)
		v = json_object_get(v, b);
	return (json_string_value(v));
}

/* workers.batch_scheduling: false leaves every worker thread as it was. */
Test(actuator, batch_scheduling_false_keeps_the_normal_policy)
{
	struct harness_env	env;
	char			why[256];
	int			id;

	harness_env(&env);
	for (id = 1; id <= 2; id++) {
		cr_assert_gt(harness_worker_policy_check(&env, id, SCHED_OTHER,
		    why, sizeof(why)), 0, "%s", why);
	}
}

Test(actuator, liveness_is_up)
{
	struct harness_env	 env;
	json_t			*doc;
	int			 status;

	harness_env(&env);
	doc = get_json(&env, "/actuator/health/liveness", &status);
	cr_assert_eq(status, 200);
	cr_assert_str_eq(json_path_str(doc, "status", NULL), "UP");
	json_decref(doc);
}

Test(actuator, health_reports_database_up)
{
	struct harness_env	 env;
	struct harness_reply	 r;
	json_t			*doc, *db;
	char			 ctype[128];
	int			 status;

	harness_env(&env);
	doc = get_json(&env, "/actuator/health", &status);
	cr_assert_eq(status, 200);
	cr_assert_str_eq(json_path_str(doc, "status", NULL), "UP");
	db = json_object_get(json_object_get(doc, "components"), "db");
	cr_assert_str_eq(json_path_str(db, "status", NULL), "UP");
	cr_assert_not_null(json_object_get(json_object_get(doc, "components"),
	    "kafka"));
	json_decref(doc);

	cr_assert_eq(harness_http(env.service_port, "GET", "/actuator/health",
	    NULL, NULL, &r), 0);
	cr_assert_not_null(harness_reply_header(&r, "content-type", ctype,
	    sizeof(ctype)));
	cr_assert_str_eq(ctype, "application/json");
	harness_reply_free(&r);
}

Test(actuator, readiness_follows_the_database)
{
	struct harness_env	 env;
	json_t			*doc, *db;
	int			 status, tries;

	harness_env(&env);
	doc = get_json(&env, "/actuator/health/readiness", &status);
	cr_assert_eq(status, 200, "readiness before the outage: %d", status);
	json_decref(doc);

	cr_assert_eq(harness_pg_stop(&env), 0, "pg_ctl stop failed");

	doc = get_json(&env, "/actuator/health/readiness", &status);
	cr_assert_eq(status, 503, "readiness with the database down: %d",
	    status);
	cr_assert_str_eq(json_path_str(doc, "status", NULL), "DOWN");
	db = json_object_get(json_object_get(doc, "components"), "db");
	cr_assert_str_eq(json_path_str(db, "status", NULL), "DOWN");
	cr_assert_not_null(json_path_str(db, "details", "error"));
	json_decref(doc);

	doc = get_json(&env, "/actuator/health", &status);
	cr_assert_eq(status, 503);
	json_decref(doc);

	/* Liveness must not fail with the database: no restart loops. */
	doc = get_json(&env, "/actuator/health/liveness", &status);
	cr_assert_eq(status, 200);
	json_decref(doc);

	cr_assert_eq(harness_pg_start_again(&env), 0, "pg_ctl start failed");

	/* Both workers must recover, not only the one that reconnects. */
	for (tries = 0; tries < 8; tries++) {
		doc = get_json(&env, "/actuator/health/readiness", &status);
		json_decref(doc);
		cr_assert_eq(status, 200,
		    "readiness after the database came back: %d (try %d)",
		    status, tries);
	}
}

Test(actuator, info_names_the_build)
{
	struct harness_env	 env;
	json_t			*doc;
	int			 status;
	char			 path[2 * HARNESS_PATH], *version;

	harness_env(&env);
	(void)snprintf(path, sizeof(path), "%s/VERSION", env.root);
	cr_assert_not_null(version = harness_read_file(path, NULL), "%s",
	    path);
	version[strcspn(version, " \t\r\n")] = '\0';
	doc = get_json(&env, "/actuator/info", &status);
	cr_assert_eq(status, 200);
	cr_assert_not_null(json_path_str(doc, "version", NULL));
	cr_assert_str_eq(json_path_str(doc, "version", NULL), version);
	free(version);
	cr_assert_not_null(json_path_str(doc, "gitCommit", NULL));
	cr_assert_not_null(json_path_str(doc, "buildTime", NULL));
	json_decref(doc);
}

Test(actuator, wrong_method_is_405)
{
	struct harness_env	env;
	struct harness_reply	r;
	char			buf[1024];

	harness_env(&env);
	cr_assert_eq(harness_http(env.service_port, "POST",
	    "/actuator/health", NULL, "{}", &r), 0);
	cr_assert_eq(harness_problem_check(&r, 405, NULL, buf, sizeof(buf)),
	    0, "%s", buf);
	cr_assert_str_eq(harness_reply_header(&r, "allow", buf, sizeof(buf)),
	    "GET, HEAD");
	harness_reply_free(&r);
}

Test(startup, bad_yaml_names_file_line_column_and_exits_1)
{
	struct harness_env	 env;
	FILE			*fp;
	char			 yaml[512], conf[512], log[512], line[1024];
	char			*argv[] = { "kore", "-fnrc", conf, NULL };
	int			 status, found;

	harness_env(&env);
	(void)snprintf(yaml, sizeof(yaml), "%s/bad.yaml", env.dir);
	(void)snprintf(conf, sizeof(conf), "%s/bad.conf", env.dir);
	(void)snprintf(log, sizeof(log), "%s/bad.log", env.dir);

	fp = fopen(yaml, "w");
	cr_assert_not_null(fp);
	fprintf(fp, "alerts:\n  failure_spike:\n    threshold: -3\n");
	fclose(fp);
	harness_kore_conf(&env, conf, harness_free_port());

	setenv("SAGA_TRACKER_CONFIG", yaml, 1);
	status = harness_run(argv, 0, log);
	cr_assert_eq(status, 1, "kore exit status %d, want 1", status);

	fp = fopen(log, "r");
	cr_assert_not_null(fp);
	found = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strstr(line, ":3:16: alerts.failure_spike.threshold: ") !=
		    NULL && strncmp(line, yaml, strlen(yaml)) == 0)
			found = 1;
	}
	fclose(fp);
	cr_assert(found, "no '%s:3:16: alerts.failure_spike.threshold: ...' "
	    "line in %s", yaml, log);
}

Test(actuator, live_scrape_passes_promtool)
{
	struct harness_env	 env;
	struct harness_reply	 r;
	FILE			*fp;
	char			 path[256], out[256], cmd[700], ctype[128];
	char			*argv[] = { "sh", "-c", cmd, NULL };
	struct stat		 st;

	harness_env(&env);
	cr_assert_eq(harness_http(env.service_port, "GET",
	    "/actuator/prometheus", NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(harness_reply_header(&r, "content-type", ctype,
	    sizeof(ctype)));
	cr_assert_str_eq(ctype, "text/plain; version=0.0.4; charset=utf-8");
	cr_assert_not_null(strstr(r.body, "saga_tracker_build_info{version="));
	/* The harness polled liveness before any test ran. */
	cr_assert_not_null(strstr(r.body, "saga_tracker_api_latency_seconds"
	    "_count{endpoint=\"/actuator/health/liveness\",method=\"GET\","
	    "code=\"200\"}"),
	    "liveness calls are not in the latency histogram");

	(void)snprintf(path, sizeof(path), "%s/scrape.prom", env.dir);
	(void)snprintf(out, sizeof(out), "%s/promtool.out", env.dir);
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fwrite(r.body, 1, r.body_len, fp);
	fclose(fp);
	harness_reply_free(&r);

	/*
	 * SPEC §3 names the gauge saga_active_total; promtool's linter
	 * objects to "_total" on a gauge.  That one remark is the contract's
	 * and is filtered out; anything else fails the test.
	 */
	(void)snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1 | "
	    "grep -v '^saga_active_total non-counter metrics should not "
	    "have \"_total\" suffix$' > %s", path, out);
	(void)harness_run(argv, 0, NULL);
	cr_assert_eq(stat(out, &st), 0);
	cr_assert_eq(st.st_size, 0, "promtool has remarks; see %s", out);
}
