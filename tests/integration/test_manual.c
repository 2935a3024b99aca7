/*
 * Integration: PATCH /internal/v1/sagas/{sagaId}/status end to end.
 * Sagas arrive through the mock broker and the consumer; the PATCH then
 * goes through the service's task thread and the shared metrics.
 */

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"

#define TOKEN_OK	"Authorization: Bearer test-internal-token\r\n"
#define JSON_CT		"Content-Type: application/json\r\n"

static void	produce_saga(const char *, const char *);

const struct harness_suite	harness_suite = {
	HARNESS_PG | HARNESS_BROKER | HARNESS_SERVICE, NULL, NULL
};

/* A saga with a STARTED event and a last event of status last. */
static void
produce_saga(const char *saga, const char *last)
{
	struct harness_env	 env;
	char			 a[512], b[512], sql[256];
	char			*keys[2], *payloads[2];
	int			 i;

	harness_env(&env);
	(void)snprintf(a, sizeof(a), "{\"eventId\":\"%s-1\",\"sagaId\":\"%s\","
	    "\"step\":\"PAYMENT_INIT\",\"status\":\"STARTED\","
	    "\"occurredAt\":\"2026-11-27T09:00:00Z\"}", saga, saga);
	(void)snprintf(b, sizeof(b), "{\"eventId\":\"%s-2\",\"sagaId\":\"%s\","
	    "\"step\":\"PAYMENT_INIT\",\"status\":\"%s\","
	    "\"occurredAt\":\"2026-11-27T09:00:05Z\","
	    "\"metadata\":{\"failureReason\":\"Card declined\"}}", saga, saga,
	    last);
	keys[0] = keys[1] = (char *)saga;
	payloads[0] = a;
	payloads[1] = b;
	cr_assert_eq(harness_produce(&env, "saga.events", keys, payloads, 2),
	    0);

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM saga_event "
	    "WHERE saga_id = '%s'", saga);
	for (i = 0; i < 600 && harness_pg_int(&env, sql) != 2; i++)
		harness_sleep_ms(100);
	cr_assert_eq(harness_pg_int(&env, sql), 2, "saga %s not ingested",
	    saga);
}

static int
patch(const char *saga, const char *headers, const char *body,
    json_t **doc)
{
	struct harness_env	env;
	struct harness_reply	r;
	char			path[256], why[1024];
	int			status;

	harness_env(&env);
	(void)snprintf(path, sizeof(path), "/internal/v1/sagas/%s/status",
	    saga);
	cr_assert_eq(harness_http(env.service_port, "PATCH", path, headers,
	    body, &r), 0, "PATCH %s: no answer", path);
	status = r.status;
	if (status != 200)
		cr_assert_eq(harness_problem_check(&r, status, NULL, why,
		    sizeof(why)), 0, "PATCH %s: %s", saga, why);
	*doc = json_loads(r.body, 0, NULL);
	cr_assert_not_null(*doc, "PATCH %s: %d, body not JSON: %s", saga,
	    status, r.body);
	harness_reply_free(&r);

	return (status);
}

Test(manual, token_missing_is_401_wrong_is_403)
{
	json_t		*doc;

	cr_assert_eq(patch("m-auth", JSON_CT, "{\"status\":\"COMPENSATED\"}",
	    &doc), 401);
	cr_assert_eq(json_integer_value(json_object_get(doc, "status")), 401);
	json_decref(doc);

	cr_assert_eq(patch("m-auth", "Authorization: Bearer nope\r\n" JSON_CT,
	    "{\"status\":\"COMPENSATED\"}", &doc), 403);
	json_decref(doc);

	cr_assert_eq(patch("m-auth", "Authorization: Bearer "
	    "test-internal-token-longer\r\n", "{\"status\":\"COMPENSATED\"}",
	    &doc), 403);
	json_decref(doc);
}

Test(manual, bad_requests_are_400_and_unknown_saga_404)
{
	json_t		*doc;

	cr_assert_eq(patch("m-bad", TOKEN_OK JSON_CT, "{\"status\":\"BOGUS\"}",
	    &doc), 400);
	cr_assert_not_null(strstr(json_string_value(json_object_get(doc,
	    "detail")), "status"));
	json_decref(doc);

	cr_assert_eq(patch("m-bad", TOKEN_OK JSON_CT, "not json", &doc), 400);
	json_decref(doc);

	cr_assert_eq(patch("bad%20id", TOKEN_OK JSON_CT,
	    "{\"status\":\"COMPENSATED\"}", &doc), 400);
	json_decref(doc);

	cr_assert_eq(patch("m-nobody-has-this", TOKEN_OK JSON_CT,
	    "{\"status\":\"COMPENSATED\"}", &doc), 404);
	json_decref(doc);
}

Test(manual, a_body_over_8_kib_is_a_413_problem)
{
	json_t		*doc;
	char		*body;
	size_t		 len;

	/* Valid JSON, but a reason of 10 KiB. */
	len = 10 * 1024;
	cr_assert_not_null(body = malloc(len + 64));
	(void)snprintf(body, len + 64, "{\"status\":\"COMPENSATED\","
	    "\"reason\":\"%0*d\"}", (int)len, 0);
	cr_assert_eq(patch("m-big", TOKEN_OK JSON_CT, body, &doc), 413);
	cr_assert_eq(json_integer_value(json_object_get(doc, "status")), 413);
	cr_assert_not_null(strstr(json_string_value(json_object_get(doc,
	    "detail")), "at most"));
	json_decref(doc);
	free(body);
}

Test(manual, failed_saga_compensated_with_history_and_metrics)
{
	struct harness_env	 env;
	json_t			*doc;
	double			 compensated, processed;
	char			 sql[256];

	harness_env(&env);
	produce_saga("m-fail", "FAILED");
	compensated = harness_metric(&env, "saga_compensated_total");
	processed = harness_metric(&env, "saga_events_processed_total");

	cr_assert_eq(patch("m-fail", TOKEN_OK JSON_CT, "{\"status\":"
	    "\"COMPENSATED\",\"reason\":\"Manual compensation\"}", &doc), 200);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "sagaId")),
	    "m-fail");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "status")),
	    "COMPENSATED");
	cr_assert_str_eq(json_string_value(json_object_get(doc,
	    "failureReason")), "Card declined");
	cr_assert_not_null(json_string_value(json_object_get(doc,
	    "compensatedAt")));
	cr_assert_str_eq(json_string_value(json_object_get(doc, "failedAt")),
	    "2026-11-27T09:00:05.000Z");
	json_decref(doc);

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM saga_event "
	    "WHERE saga_id = 'm-fail' AND source = 'manual' AND status = "
	    "'COMPENSATED' AND metadata ->> 'reason' = 'Manual compensation' "
	    "AND kafka_offset IS NULL");
	cr_assert_eq(harness_pg_int(&env, sql), 1);
	cr_assert_eq(harness_pg_int(&env, "SELECT count(*) FROM saga_instance "
	    "WHERE saga_id = 'm-fail' AND status = 'COMPENSATED'"), 1);

	cr_assert_eq(harness_metric(&env, "saga_compensated_total"),
	    compensated + 1);
	cr_assert_eq(harness_metric(&env, "saga_events_processed_total"),
	    processed + 1);

	/* COMPENSATED is final: a second change is a conflict. */
	cr_assert_eq(patch("m-fail", TOKEN_OK JSON_CT,
	    "{\"status\":\"COMPENSATING\"}", &doc), 409);
	json_decref(doc);
}

Test(manual, completed_saga_is_409)
{
	json_t		*doc;

	produce_saga("m-done", "COMPLETED");
	cr_assert_eq(patch("m-done", TOKEN_OK JSON_CT,
	    "{\"status\":\"COMPENSATED\"}", &doc), 409);
	json_decref(doc);
}
