/*
 * test_saga: unit tests of src/saga.c, src/sagastate.c and src/rfc3339.c
 * (SPEC §1).
 *
 * Covers every validation rule of the event table (table-driven, with
 * the rejection reason and the field named in the detail), RFC 3339
 * parsing and formatting, metadata serialization and its size limit, and
 * the merge: every arrival order of each hand-built saga must give the
 * identical row and identical counter sums, and re-applying an event
 * must change nothing.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "rfc3339.h"
#include "saga.h"
#include "sagastate.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_EVENTS	6

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

struct tcase {
	const char	*text;
	int64_t		ms;
	int		ok;
	const char	*why;
};

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

static const struct tcase tcases[] = {
	{ "2026-11-27T12:00:00Z", 1795780800000LL, 1, NULL },
	{ "2026-11-27T12:00:00.123Z", 1795780800123LL, 1, NULL },
	{ "2026-11-27t12:00:00.1z", 1795780800100LL, 1, NULL },
	{ "2026-11-27T12:00:00.12Z", 1795780800120LL, 1, NULL },
	{ "2026-11-27T12:00:00.123999999Z", 1795780800123LL, 1, NULL },
	{ "2026-11-27T13:00:00.123+01:00", 1795780800123LL, 1, NULL },
	{ "2026-11-27T06:30:00-05:30", 1795780800000LL, 1, NULL },
	{ "2026-11-27T12:00:00-00:00", 1795780800000LL, 1, NULL },
	{ "2026-11-27T12:00:00+00:00", 1795780800000LL, 1, NULL },
	{ "2026-01-01T00:30:00+01:00", 1767223800000LL, 1, NULL },
	{ "2025-12-31T23:00:00-01:00", 1767225600000LL, 1, NULL },
	{ "2026-11-28T11:59:00+23:59", 1795780800000LL, 1, NULL },
	{ "2024-02-29T00:00:00Z", 1709164800000LL, 1, NULL },
	{ "2000-02-29T23:59:59.999Z", 951868799999LL, 1, NULL },
	{ "1900-03-01T00:00:00Z", -2203891200000LL, 1, NULL },
	{ "1970-01-01T00:00:00Z", 0, 1, NULL },
	{ "1969-12-31T23:59:59.999Z", -1, 1, NULL },
	{ "0001-01-01T00:00:00Z", -62135596800000LL, 1, NULL },
	{ "0000-12-31T23:00:00-01:00", -62135596800000LL, 1, NULL },
	{ "9999-12-31T23:59:59.999Z", 253402300799999LL, 1, NULL },
	{ "2016-12-31T23:59:60Z", 1483228799000LL, 1, NULL },
	{ "2017-01-01T00:59:60.5+01:00", 1483228799500LL, 1, NULL },

	{ "2026-02-30T12:00:00Z", 0, 0, "day out of range" },
	{ "2026-02-29T12:00:00Z", 0, 0, "day out of range" },
	{ "1900-02-29T12:00:00Z", 0, 0, "day out of range" },
	{ "2026-04-31T12:00:00Z", 0, 0, "day out of range" },
	{ "2026-01-00T12:00:00Z", 0, 0, "day out of range" },
	{ "2026-13-01T12:00:00Z", 0, 0, "month out of range" },
	{ "2026-00-01T12:00:00Z", 0, 0, "month out of range" },
	{ "2026-11-27T24:00:00Z", 0, 0, "hour out of range" },
	{ "2026-11-27T12:60:00Z", 0, 0, "minute out of range" },
	{ "2026-11-27T12:00:61Z", 0, 0, "second out of range" },
	{ "2026-11-27T12:00:60Z", 0, 0, "second out of range" },
	{ "2016-12-31T23:59:60+01:00", 0, 0, "second out of range" },
	{ "2026-11-27T12:00:00", 0, 0, "missing time offset" },
	{ "2026-11-27T12:00:00.5", 0, 0, "missing time offset" },
	{ "2026-11-27T12:00:00+0100", 0, 0, "expected time offset" },
	{ "2026-11-27T12:00:00+1:00", 0, 0, "expected time offset" },
	{ "2026-11-27T12:00:00+01:60", 0, 0, "time offset out of range" },
	{ "2026-11-27T12:00:00+24:00", 0, 0, "time offset out of range" },
	{ "2026-11-27T12:00:00UTC", 0, 0, "expected time offset" },
	{ "2026-11-27T12:00:00Zx", 0, 0, "unexpected characters" },
	{ "2026-11-27T12:00:00Z ", 0, 0, "unexpected characters" },
	{ "2026-11-27T12:00:00.Z", 0, 0, "expected digits after '.'" },
	{ "2026-11-27T12:00Z", 0, 0, "expected time hh:mm:ss" },
	{ "2026-11-27 12:00:00Z", 0, 0, "expected 'T'" },
	{ "2026-11-27", 0, 0, "expected 'T'" },
	{ " 2026-11-27T12:00:00Z", 0, 0, "expected date" },
	{ "2026-1-27T12:00:00Z", 0, 0, "expected date" },
	{ "20261127T120000Z", 0, 0, "expected date" },
	{ "+2026-11-27T12:00:00Z", 0, 0, "expected date" },
	{ "", 0, 0, "expected date" },
	{ "0000-01-01T00:00:00Z", 0, 0, "outside 0001-01-01" },
	{ "0000-12-31T23:59:59.999Z", 0, 0, "outside 0001-01-01" },
	{ "0001-01-01T00:00:00+00:01", 0, 0, "outside 0001-01-01" },
	{ "9999-12-31T23:59:59-00:01", 0, 0, "outside 0001-01-01" },
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

Test(saga_event, validation_table)
{
	struct saga_event	ev;
	char			detail[SAGA_DETAIL_MAX], *text;
	size_t			i;
	int			rc;

	for (i = 0; i < NELEM(vcases); i++) {
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

	for (i = 0; i < NELEM(rawcases); i++) {
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

Test(saga_time, parse_table)
{
	const char	*why;
	int64_t		ms;
	size_t		i;
	int		rc;

	for (i = 0; i < NELEM(tcases); i++) {
		why = NULL;
		ms = 0x5a5a;
		rc = rfc3339_parse(tcases[i].text, &ms, &why);
		if (tcases[i].ok) {
			cr_expect_eq(rc, 0, "'%s' rejected: %s",
			    tcases[i].text, why);
			cr_expect_eq(ms, tcases[i].ms, "'%s': %lld, want %lld",
			    tcases[i].text, (long long)ms,
			    (long long)tcases[i].ms);
		} else {
			cr_expect_eq(rc, -1, "'%s' accepted", tcases[i].text);
			cr_expect(why != NULL &&
			    strstr(why, tcases[i].why) != NULL,
			    "'%s': why '%s', want '%s'", tcases[i].text, why,
			    tcases[i].why);
		}
	}
}

Test(saga_time, format)
{
	char		buf[RFC3339_BUFLEN], small[RFC3339_BUFLEN - 1];
	int64_t		ms, back;
	uint64_t	x;
	int		i;

	cr_assert_eq(rfc3339_format(0, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "1970-01-01T00:00:00.000Z");
	cr_assert_eq(rfc3339_format(1795780800123LL, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "2026-11-27T12:00:00.123Z");
	cr_assert_eq(rfc3339_format(-1, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "1969-12-31T23:59:59.999Z");
	cr_assert_eq(rfc3339_format(951868799999LL, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "2000-02-29T23:59:59.999Z");
	cr_assert_eq(rfc3339_format(-62135596800000LL, buf,
	    sizeof(buf)), 0);
	cr_expect_str_eq(buf, "0001-01-01T00:00:00.000Z");
	cr_assert_eq(rfc3339_format(253402300799999LL, buf,
	    sizeof(buf)), 0);
	cr_expect_str_eq(buf, "9999-12-31T23:59:59.999Z");

	cr_expect_eq(rfc3339_format(253402300800000LL, buf, sizeof(buf)),
	    -1);
	cr_expect_eq(rfc3339_format(-62135596800001LL, buf, sizeof(buf)),
	    -1);
	cr_expect_eq(rfc3339_format(SAGA_TIME_NONE, buf, sizeof(buf)), -1);
	cr_expect_eq(rfc3339_format(0, small, sizeof(small)), -1);

	/* Round trip over the whole 0001..9999 range. */
	x = 88172645463325252ULL;
	for (i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ms = (int64_t)(x % 315537897600000ULL) - 62135596800000LL;
		cr_assert_eq(rfc3339_format(ms, buf, sizeof(buf)), 0);
		cr_assert_eq(rfc3339_parse(buf, &back, NULL), 0, "%s", buf);
		cr_assert_eq(back, ms, "%s: %lld != %lld", buf,
		    (long long)back, (long long)ms);
	}
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

Test(saga_merge, every_order_same_row)
{
	size_t		i;

	for (i = 0; i < NELEM(sagas); i++)
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
