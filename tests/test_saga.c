/*
 * test_saga: unit tests of src/saga.c (SPEC §1), the parse and
 * validation of one event.
 *
 * Covers every validation rule of the event table (table-driven, with
 * the rejection reason and the field named in the detail), payloads
 * that are no JSON object or no UTF-8, metadata serialization and its
 * size limit, and the names of statuses and rejection reasons.  The
 * merge of events is test_sagastate's, their time text test_rfc3339's.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "saga.h"

struct vcase {
	const char	*field;
	const char	*value;		/* JSON text; NULL deletes the field */
	const char	*rep;		/* or a string of count times rep */
	int		count;
	int		reason;
	const char	*detail;	/* expected substring of the detail */
};

struct rawcase {
	const char	*payload;
	int		reason;
	const char	*detail;
};

static const char *base_event =
    "{\"eventId\":\"evt-1\",\"sagaId\":\"saga-1\","
    "\"sagaType\":\"ORDER_CHECKOUT\",\"orderId\":\"order-1\","
    "\"step\":\"STOCK_RESERVE\",\"status\":\"STARTED\","
    "\"occurredAt\":\"2026-11-27T12:00:00Z\",\"traceId\":\"trace-1\","
    "\"metadata\":{\"a\":1}}";

static const struct vcase vcases[] = {
	/* eventId: string 1..128, required. */
	{ "eventId", NULL, NULL, 0, SAGA_REJECT_MISSING_FIELD,
	    "eventId: required field is missing" },
	{ "eventId", "null", NULL, 0, SAGA_REJECT_MISSING_FIELD,
	    "eventId: required field is null" },
	{ "eventId", "\"\"", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "eventId: length must be 1..128 characters, got 0" },
	{ "eventId", NULL, "a", 128, SAGA_REJECT_NONE, NULL },
	{ "eventId", NULL, "a", 129, SAGA_REJECT_INVALID_FIELD,
	    "eventId: length must be 1..128 characters, got 129" },
	{ "eventId", NULL, "\xc3\xa9", 128, SAGA_REJECT_NONE, NULL },
	{ "eventId", NULL, "\xf0\x9f\x98\x80", 128, SAGA_REJECT_NONE, NULL },
	{ "eventId", NULL, "\xc3\xa9", 129, SAGA_REJECT_INVALID_FIELD,
	    "eventId: length" },
	{ "eventId", "42", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "eventId: must be a string, got number" },
	{ "eventId", "{}", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "eventId: must be a string, got object" },

	/* sagaId: string 1..64 of [A-Za-z0-9_-], required. */
	{ "sagaId", NULL, NULL, 0, SAGA_REJECT_MISSING_FIELD,
	    "sagaId: required field is missing" },
	{ "sagaId", "null", NULL, 0, SAGA_REJECT_MISSING_FIELD, "sagaId" },
	{ "sagaId", "\"\"", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "sagaId: length must be 1..64" },
	{ "sagaId", NULL, "z", 64, SAGA_REJECT_NONE, NULL },
	{ "sagaId", NULL, "z", 65, SAGA_REJECT_INVALID_FIELD,
	    "sagaId: length must be 1..64 characters, got 65" },
	{ "sagaId", "\"Saga_9-x\"", NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "sagaId", "\"saga 1\"", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "sagaId: must match [A-Za-z0-9_-]+, got 'saga 1'" },
	{ "sagaId", "\"saga.1\"", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "sagaId: must match" },
	{ "sagaId", "\"s\xc3\xa4ga\"", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "sagaId: must match" },
	{ "sagaId", "[]", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "sagaId: must be a string, got array" },

	/* sagaType, orderId: optional string 1..64. */
	{ "sagaType", NULL, NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "sagaType", "null", NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "sagaType", "\"\"", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "sagaType: length must be 1..64" },
	{ "sagaType", NULL, "T", 64, SAGA_REJECT_NONE, NULL },
	{ "sagaType", NULL, "T", 65, SAGA_REJECT_INVALID_FIELD,
	    "sagaType: length" },
	{ "sagaType", "\"order checkout \xe2\x82\xac\"", NULL, 0,
	    SAGA_REJECT_NONE, NULL },
	{ "sagaType", "7", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "sagaType: must be a string, got number" },
	{ "orderId", NULL, NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "orderId", "null", NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "orderId", "\"\"", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "orderId: length must be 1..64" },
	{ "orderId", NULL, "9", 64, SAGA_REJECT_NONE, NULL },
	{ "orderId", NULL, "9", 65, SAGA_REJECT_INVALID_FIELD,
	    "orderId: length" },
	{ "orderId", "12345", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "orderId: must be a string, got number" },

	/* step: string 1..64 of [A-Z0-9_], required. */
	{ "step", NULL, NULL, 0, SAGA_REJECT_MISSING_FIELD,
	    "step: required field is missing" },
	{ "step", "\"\"", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "step: length must be 1..64" },
	{ "step", "\"PAYMENT_INIT_2\"", NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "step", NULL, "S", 64, SAGA_REJECT_NONE, NULL },
	{ "step", NULL, "S", 65, SAGA_REJECT_INVALID_FIELD, "step: length" },
	{ "step", "\"stock reserve\"", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "step: must match [A-Z0-9_]+, got 'stock reserve'" },
	{ "step", "\"STOCK-RESERVE\"", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "step: must match" },
	{ "step", "\"Stock\"", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "step: must match" },
	{ "step", "true", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "step: must be a string, got boolean" },

	/* status: enum, required, case-sensitive. */
	{ "status", NULL, NULL, 0, SAGA_REJECT_MISSING_FIELD,
	    "status: required field is missing" },
	{ "status", "\"IN_PROGRESS\"", NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "status", "\"COMPLETED\"", NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "status", "\"FAILED\"", NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "status", "\"COMPENSATING\"", NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "status", "\"COMPENSATED\"", NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "status", "\"failed\"", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "status: must be one of STARTED, IN_PROGRESS" },
	{ "status", "\"DONE\"", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "got 'DONE'" },
	{ "status", "3", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "status: must be a string, got number" },

	/* occurredAt: RFC 3339 date-time, required. */
	{ "occurredAt", NULL, NULL, 0, SAGA_REJECT_MISSING_FIELD,
	    "occurredAt: required field is missing" },
	{ "occurredAt", "\"2026-02-30T12:00:00Z\"", NULL, 0,
	    SAGA_REJECT_INVALID_FIELD,
	    "occurredAt: not an RFC 3339 date-time: day out of range" },
	{ "occurredAt", "\"2026-11-27T12:00:00\"", NULL, 0,
	    SAGA_REJECT_INVALID_FIELD, "missing time offset" },
	{ "occurredAt", "\"2026-11-27\"", NULL, 0,
	    SAGA_REJECT_INVALID_FIELD, "occurredAt: not an RFC 3339" },
	/* Year 0 is 1 BC to PostgreSQL, which the API cannot print. */
	{ "occurredAt", "\"0000-01-01T00:00:00Z\"", NULL, 0,
	    SAGA_REJECT_INVALID_FIELD,
	    "occurredAt: not an RFC 3339 date-time: outside 0001-01-01" },
	{ "occurredAt", "1795780800000", NULL, 0,
	    SAGA_REJECT_INVALID_FIELD,
	    "occurredAt: must be a string, got number" },

	/* traceId: optional string ..64. */
	{ "traceId", NULL, NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "traceId", "null", NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "traceId", "\"\"", NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "traceId", NULL, "f", 64, SAGA_REJECT_NONE, NULL },
	{ "traceId", NULL, "f", 65, SAGA_REJECT_INVALID_FIELD,
	    "traceId: length must be 0..64 characters, got 65" },
	{ "traceId", "false", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "traceId: must be a string, got boolean" },

	/* metadata: optional object. */
	{ "metadata", NULL, NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "metadata", "null", NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "metadata", "{}", NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "metadata", "[1,2]", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "metadata: must be an object, got array" },
	{ "metadata", "\"x\"", NULL, 0, SAGA_REJECT_INVALID_FIELD,
	    "metadata: must be an object, got string" },

	/* Unknown fields are ignored, whatever they hold. */
	{ "source", "1", NULL, 0, SAGA_REJECT_NONE, NULL },
	{ "extra", "{\"deep\":[null,{\"x\":\"\xc3\xa9\"}]}", NULL, 0,
	    SAGA_REJECT_NONE, NULL },
	{ "EVENTID", "\"\"", NULL, 0, SAGA_REJECT_NONE, NULL },
};

static const struct rawcase rawcases[] = {
	{ "", SAGA_REJECT_INVALID_JSON, "payload: empty" },
	{ "{", SAGA_REJECT_INVALID_JSON, "payload:" },
	{ "{\"eventId\":}", SAGA_REJECT_INVALID_JSON, "payload:" },
	{ "{} x", SAGA_REJECT_INVALID_JSON, "payload:" },
	{ "{\"status\":\"STARTED\",\"status\":\"FAILED\"}",
	    SAGA_REJECT_INVALID_JSON, "duplicate" },
	{ "{\"a\":\"\\u0000\"}", SAGA_REJECT_INVALID_JSON, "payload:" },
	{ "{\"a\":\"\\ud800\"}", SAGA_REJECT_INVALID_JSON, "payload:" },
	{ "{\"a\":99999999999999999999}", SAGA_REJECT_INVALID_JSON,
	    "payload:" },
	{ "[1]", SAGA_REJECT_NOT_OBJECT, "got array" },
	{ "42", SAGA_REJECT_NOT_OBJECT, "got number" },
	{ "\"x\"", SAGA_REJECT_NOT_OBJECT, "got string" },
	{ "null", SAGA_REJECT_NOT_OBJECT, "got null" },
	{ "{\"a\":\"\xff\"}", SAGA_REJECT_INVALID_UTF8, "byte 6" },
	{ "{\"a\":\"\xc0\xaf\"}", SAGA_REJECT_INVALID_UTF8, "UTF-8" },
	{ "{\"a\":\"\xed\xa0\x80\"}", SAGA_REJECT_INVALID_UTF8, "UTF-8" },
	{ "{\"a\":\"\xf4\x90\x80\x80\"}", SAGA_REJECT_INVALID_UTF8, "UTF-8" },
	{ "{\"a\":\"\xe2\x82\"}", SAGA_REJECT_INVALID_UTF8, "UTF-8" },
	{ "{}", SAGA_REJECT_MISSING_FIELD, "eventId: required" },
};

static char *
repeat(const char *s, int count)
{
	char		*out;
	size_t		n;
	int		i;

	n = strlen(s);
	out = malloc(n * count + 1);
	cr_assert_not_null(out);
	for (i = 0; i < count; i++)
		memcpy(out + n * i, s, n);
	out[n * count] = '\0';

	return (out);
}

static char *
payload_for(const struct vcase *c)
{
	json_t		*root, *v;
	char		*text, *s;

	root = json_loads(base_event, 0, NULL);
	cr_assert_not_null(root);

	if (c->rep != NULL) {
		s = repeat(c->rep, c->count);
		v = json_string(s);
		free(s);
		json_object_set_new(root, c->field, v);
	} else if (c->value != NULL) {
		v = json_loads(c->value, JSON_DECODE_ANY, NULL);
		cr_assert_not_null(v, "bad test value %s", c->value);
		json_object_set_new(root, c->field, v);
	} else {
		json_object_del(root, c->field);
	}

	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	cr_assert_not_null(text);

	return (text);
}

Test(saga_event, validation_table)
{
	struct saga_event	ev;
	char			detail[SAGA_DETAIL_MAX], *text;
	size_t			i;
	int			rc;

	for (i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		text = payload_for(&vcases[i]);
		rc = saga_event_parse(text, strlen(text), &ev, detail,
		    sizeof(detail));
		cr_expect_eq(rc, vcases[i].reason,
		    "case %zu (%s): got %s (%s), want %s", i, vcases[i].field,
		    saga_reject_reason_name(rc), detail,
		    saga_reject_reason_name(vcases[i].reason));
		if (vcases[i].detail != NULL) {
			cr_expect(strstr(detail, vcases[i].detail) != NULL,
			    "case %zu: detail '%s' lacks '%s'", i, detail,
			    vcases[i].detail);
		}
		if (rc == 0)
			cr_expect_str_eq(detail, "");
		else
			cr_expect_null(ev.metadata);
		saga_event_free(&ev);
		free(text);
	}
}

Test(saga_event, raw_payloads)
{
	struct saga_event	ev;
	char			detail[SAGA_DETAIL_MAX];
	size_t			i;
	int			rc;

	for (i = 0; i < sizeof(rawcases) / sizeof(rawcases[0]); i++) {
		rc = saga_event_parse(rawcases[i].payload,
		    strlen(rawcases[i].payload), &ev, detail, sizeof(detail));
		cr_expect_eq(rc, rawcases[i].reason,
		    "case %zu: got %s (%s), want %s", i,
		    saga_reject_reason_name(rc), detail,
		    saga_reject_reason_name(rawcases[i].reason));
		cr_expect(strstr(detail, rawcases[i].detail) != NULL,
		    "case %zu: detail '%s' lacks '%s'", i, detail,
		    rawcases[i].detail);
		saga_event_free(&ev);
	}

	cr_expect_eq(saga_event_parse(NULL, 0, &ev, detail, sizeof(detail)),
	    SAGA_REJECT_INVALID_JSON);
	cr_expect_eq(saga_event_parse("{}", 2, &ev, NULL, 0),
	    SAGA_REJECT_MISSING_FIELD);
}

Test(saga_event, payload_too_large)
{
	struct saga_event	ev;
	char			detail[SAGA_DETAIL_MAX], *big;
	size_t			len;

	len = SAGA_PAYLOAD_MAX + 1;
	big = malloc(len);
	cr_assert_not_null(big);
	memset(big, ' ', len);
	big[0] = '{';
	big[len - 1] = '}';
	cr_expect_eq(saga_event_parse(big, len, &ev, detail, sizeof(detail)),
	    SAGA_REJECT_TOO_LARGE);
	cr_expect(strstr(detail, "payload:") != NULL, "%s", detail);
	free(big);
}

Test(saga_event, detail_is_clean_utf8)
{
	struct saga_event	ev;
	const char		*p;
	char			detail[SAGA_DETAIL_MAX], small[12];
	int			rc;

	/* A long non-ASCII step is echoed cut on a character boundary. */
	p = "{\"eventId\":\"e\",\"sagaId\":\"s\",\"status\":\"STARTED\","
	    "\"occurredAt\":\"2026-11-27T12:00:00Z\",\"step\":"
	    "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "x\\n\"}";
	rc = saga_event_parse(p, strlen(p), &ev, detail, sizeof(detail));
	cr_assert_eq(rc, SAGA_REJECT_INVALID_FIELD);
	cr_expect(strstr(detail, "...'") != NULL, "%s", detail);
	cr_expect(strchr(detail, '\n') == NULL, "%s", detail);

	/* Control characters in an echoed value are not copied. */
	p = "{\"eventId\":\"e\",\"sagaId\":\"s\",\"status\":\"STARTED\","
	    "\"occurredAt\":\"2026-11-27T12:00:00Z\",\"step\":\"A\\nB\"}";
	rc = saga_event_parse(p, strlen(p), &ev, detail, sizeof(detail));
	cr_assert_eq(rc, SAGA_REJECT_INVALID_FIELD);
	cr_expect_str_eq(detail, "step: must match [A-Z0-9_]+, got 'A?B'");

	/* A detail buffer too small to hold the text stays valid. */
	rc = saga_event_parse(p, strlen(p), &ev, small, sizeof(small));
	cr_assert_eq(rc, SAGA_REJECT_INVALID_FIELD);
	cr_expect_str_eq(small, "step: must ");
}

Test(saga_event, fields_parsed)
{
	struct saga_event	ev;
	const char		*p;
	char			detail[SAGA_DETAIL_MAX];

	p = "{\"eventId\":\"evt-\xc3\xa9\",\"sagaId\":\"saga-1\","
	    "\"sagaType\":\"ORDER_CHECKOUT\",\"orderId\":\"order-42\","
	    "\"step\":\"PAYMENT_INIT\",\"status\":\"FAILED\","
	    "\"occurredAt\":\"2026-11-27T13:00:00.123456+01:00\","
	    "\"traceId\":\"abc123\",\"future\":[1,2,3],"
	    "\"metadata\":{\"failureReason\":\"card declined\","
	    "\"amount\":12.5}}";
	cr_assert_eq(saga_event_parse(p, strlen(p), &ev, detail,
	    sizeof(detail)), 0, "%s", detail);
	cr_expect_str_eq(ev.event_id, "evt-\xc3\xa9");
	cr_expect_str_eq(ev.saga_id, "saga-1");
	cr_expect_str_eq(ev.saga_type, "ORDER_CHECKOUT");
	cr_expect_str_eq(ev.order_id, "order-42");
	cr_expect_str_eq(ev.step, "PAYMENT_INIT");
	cr_expect_eq(ev.status, SAGA_FAILED);
	cr_expect_eq(ev.occurred_at, 1795780800123LL);
	cr_expect_str_eq(ev.trace_id, "abc123");
	cr_expect_str_eq(ev.metadata,
	    "{\"failureReason\":\"card declined\",\"amount\":12.5}");
	cr_expect_str_eq(ev.failure_reason, "card declined");
	saga_event_free(&ev);
	cr_expect_null(ev.metadata);

	p = "{\"eventId\":\"e\",\"sagaId\":\"s\",\"step\":\"S\","
	    "\"status\":\"STARTED\",\"occurredAt\":\"2026-11-27T12:00:00Z\"}";
	cr_assert_eq(saga_event_parse(p, strlen(p), &ev, detail,
	    sizeof(detail)), 0, "%s", detail);
	cr_expect_str_eq(ev.saga_type, "");
	cr_expect_str_eq(ev.order_id, "");
	cr_expect_str_eq(ev.trace_id, "");
	cr_expect_null(ev.metadata);
	cr_expect_null(ev.failure_reason);
	saga_event_free(&ev);
}

Test(saga_event, metadata_serialization)
{
	struct saga_event	ev;
	const char		*p;
	char			detail[SAGA_DETAIL_MAX];

	p = "{\"eventId\":\"e\",\"sagaId\":\"s\",\"step\":\"S\","
	    "\"status\":\"FAILED\",\"occurredAt\":\"2026-11-27T12:00:00Z\","
	    "\"metadata\": { \"z\" : 0.1, \"a\": [1, -2, 1.5e300, 3.0,"
	    " -0.0, true, false, null],"
	    " \"s\": \"\xc3\xa9\\n\\\"\\\\\\u0001/\\u00e9\","
	    " \"n\": {}, \"big\": 9223372036854775807,"
	    " \"failureReason\": 42 } }";
	cr_assert_eq(saga_event_parse(p, strlen(p), &ev, detail,
	    sizeof(detail)), 0, "%s", detail);
	cr_expect_str_eq(ev.metadata,
	    "{\"z\":0.1,\"a\":[1,-2,1.5e+300,3.0,-0.0,true,false,null],"
	    "\"s\":\"\xc3\xa9\\n\\\"\\\\\\u0001/\xc3\xa9\",\"n\":{},"
	    "\"big\":9223372036854775807,\"failureReason\":42}");
	cr_expect_null(ev.failure_reason, "non-string failureReason kept");
	saga_event_free(&ev);

	p = "{\"eventId\":\"e\",\"sagaId\":\"s\",\"step\":\"S\","
	    "\"status\":\"FAILED\",\"occurredAt\":\"2026-11-27T12:00:00Z\","
	    "\"metadata\":{\"failureReason\":\"\"}}";
	cr_assert_eq(saga_event_parse(p, strlen(p), &ev, detail,
	    sizeof(detail)), 0, "%s", detail);
	cr_expect_null(ev.failure_reason, "empty failureReason kept");
	saga_event_free(&ev);
}

static int
parse_with_metadata_string(size_t n, struct saga_event *ev, char *detail)
{
	char		*fill, *text;
	int		rc;

	fill = repeat("x", (int)n);
	text = malloc(n + 256);
	cr_assert_not_null(text);
	(void)snprintf(text, n + 256, "{\"eventId\":\"e\",\"sagaId\":\"s\","
	    "\"step\":\"S\",\"status\":\"STARTED\","
	    "\"occurredAt\":\"2026-11-27T12:00:00Z\","
	    "\"metadata\":{\"k\":\"%s\"}}", fill);
	rc = saga_event_parse(text, strlen(text), ev, detail,
	    SAGA_DETAIL_MAX);
	free(fill);
	free(text);

	return (rc);
}

Test(saga_event, metadata_size_limit)
{
	struct saga_event	ev;
	char			detail[SAGA_DETAIL_MAX];

	/* {"k":"..."} is 8 bytes around the filler. */
	cr_assert_eq(parse_with_metadata_string(SAGA_METADATA_MAX - 8, &ev,
	    detail), 0, "%s", detail);
	cr_expect_eq(strlen(ev.metadata), (size_t)SAGA_METADATA_MAX);
	saga_event_free(&ev);

	cr_expect_eq(parse_with_metadata_string(SAGA_METADATA_MAX - 7, &ev,
	    detail), SAGA_REJECT_TOO_LARGE);
	cr_expect(strstr(detail, "metadata: serialized size exceeds 16384")
	    != NULL, "%s", detail);
	cr_expect_null(ev.metadata);

	cr_expect_eq(parse_with_metadata_string(200000, &ev, detail),
	    SAGA_REJECT_TOO_LARGE);
}

Test(saga_names, labels)
{
	enum saga_status	s;
	int			i;

	cr_expect_str_eq(saga_reject_reason_name(SAGA_REJECT_INVALID_JSON),
	    "invalid_json");
	cr_expect_str_eq(saga_reject_reason_name(SAGA_REJECT_NOT_OBJECT),
	    "not_object");
	cr_expect_str_eq(saga_reject_reason_name(SAGA_REJECT_MISSING_FIELD),
	    "missing_field");
	cr_expect_str_eq(saga_reject_reason_name(SAGA_REJECT_INVALID_FIELD),
	    "invalid_field");
	cr_expect_str_eq(saga_reject_reason_name(SAGA_REJECT_TOO_LARGE),
	    "too_large");
	cr_expect_str_eq(saga_reject_reason_name(SAGA_REJECT_INVALID_UTF8),
	    "invalid_utf8");
	cr_expect_str_eq(saga_reject_reason_name(SAGA_REJECT_CONFLICT),
	    "conflict");
	cr_expect_null(saga_reject_reason_name(SAGA_REJECT_COUNT));

	for (i = 0; i < SAGA_STATUS_COUNT; i++) {
		cr_assert_eq(saga_status_parse(saga_status_name(i), &s), 0);
		cr_expect_eq((int)s, i);
	}
	cr_expect_eq(saga_status_parse("Started", &s), -1);
	cr_expect_null(saga_status_name(SAGA_STATUS_COUNT));
	cr_expect_eq(saga_status_rank(SAGA_COMPLETED),
	    saga_status_rank(SAGA_FAILED));
	cr_expect_lt(saga_status_rank(SAGA_IN_PROGRESS),
	    saga_status_rank(SAGA_COMPLETED));
	cr_expect_lt(saga_status_rank(SAGA_COMPENSATING),
	    saga_status_rank(SAGA_COMPENSATED));
	cr_expect(saga_status_failure_path(SAGA_COMPENSATING));
	cr_expect(!saga_status_failure_path(SAGA_COMPLETED));
}
