/*
 * api: the query side of the HTTP API (SPEC §2), kore page handlers.
 *
 *   GET /api/v1/sagas			api_sagas_list
 *   GET /api/v1/sagas/{sagaId}		api_saga_get
 *   GET /api/v1/openapi.yaml		api_openapi (assets/openapi.yaml)
 *
 * Every answer leaves through respond.h.  Errors are problem+json:
 * 400 for a bad value or an unknown or repeated query parameter (the
 * detail names the parameter), 404 for an unknown saga, 405 with an
 * Allow header for any method but GET (the routes carry no `restrict`:
 * kore's own 405 has an empty body), 503 when the database is not
 * configured or no connection can be had, 500 when a statement fails.
 *
 * GET /api/v1/sagas
 *	{"items":[Saga...],"nextCursor":string|null}, newest updatedAt
 *	first, ties by sagaId descending.  Query parameters, each at most
 *	once, all combined with AND:
 *	  status	one status or a comma list of them (any of)
 *	  fromDate	updatedAt >= fromDate
 *	  toDate	updatedAt <= toDate
 *	  orderId, sagaType	exact match
 *	  step		exact match on currentStep
 *	  limit		1..500, default 50
 *	  cursor	nextCursor of the previous page (cursor.h)
 *	fromDate and toDate are RFC 3339 date-times (fractions beyond
 *	milliseconds are truncated) or full-dates YYYY-MM-DD, a UTC day:
 *	fromDate from its first millisecond, toDate through its last, so
 *	fromDate=toDate=D is all of day D.  fromDate after toDate is a 400.
 *	Values are percent-decoded with '+' as a space, so a time offset
 *	must be written %2B.
 *
 *	Paging is keyset paging on (updated_at, saga_id), never OFFSET: a
 *	page starts strictly after the last row of the previous one, so
 *	rows inserted meanwhile never shift a page into duplicates or gaps.
 *	A saga that receives an event while a client pages moves to the
 *	front (its updatedAt grows) and is not returned again by later
 *	pages of that walk.  A cursor is bound to the filters it was issued
 *	for; reused with other filters it is a 400.  nextCursor is null on
 *	the last page.
 *
 * GET /api/v1/sagas/{sagaId}
 *	The Saga plus "events":[{eventId, step, status, occurredAt,
 *	receivedAt, source, metadata}] by occurredAt, then eventId.  A
 *	sagaId outside [A-Za-z0-9_-]{1,64} is a 400, an unknown one a 404.
 *	The saga row and its events are read by one statement, so they
 *	come from one snapshot.
 *
 * Saga: sagaId, sagaType, orderId, status, currentStep, startedAt,
 * updatedAt, failedAt, compensatedAt, completedAt, traceId,
 * failureReason, metadata; null where absent; times RFC 3339 UTC with
 * milliseconds.  The JSON of a row is built by PostgreSQL (row_to_json),
 * so metadata goes out as stored.
 *
 * Statements run through kore's async pgsql and are timed in
 * saga_tracker_db_query_seconds{query} as list_sagas and get_saga.
 */

#ifndef SAGA_API_H
#define SAGA_API_H

struct http_request;

int	api_sagas_list(struct http_request *);
int	api_saga_get(struct http_request *);
int	api_openapi(struct http_request *);

#endif /* !SAGA_API_H */
