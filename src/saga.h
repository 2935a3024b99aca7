/*
 * saga: saga events (SPEC §1).
 *
 * This module owns the event model: struct saga_event, the status and
 * rejection-reason label tables, and the validation of one event payload
 * from the saga topic into a struct saga_event, with a bounded rejection
 * reason that is the label value of saga_events_rejected_total{reason}.
 * occurredAt is read by rfc3339.h; the merge of events into the saga row
 * and the manual transition are sagastate.h.
 *
 * It has no kore dependency: it runs in the consumer thread, in the HTTP
 * workers (manual transitions) and in the unit tests.  JSON is jansson.
 *
 * Event validation
 * ----------------
 * The payload must be valid UTF-8 (invalid_utf8), at most
 * SAGA_PAYLOAD_MAX bytes (too_large), valid JSON (invalid_json) whose
 * top level is an object (not_object).  Duplicate keys in any object make
 * the payload ambiguous and are invalid_json, as are integers outside the
 * int64 range.  Then every field of the SPEC §1 table is checked in table
 * order and the first failure is returned: a required field that is absent
 * or null is missing_field; a wrong type, length, character set, status
 * or date-time is invalid_field; metadata over SAGA_METADATA_MAX bytes in
 * compact serialization is too_large.  An optional field that is null is
 * treated as absent.  Lengths count Unicode code points, not bytes.  An
 * empty traceId is treated as absent.  Unknown fields are ignored.
 *
 * metadata is kept as compact JSON text (key order kept, numbers written
 * in their shortest exact form) ready for a jsonb column.  A non-empty
 * string metadata.failureReason is extracted; any other type is ignored.
 *
 * occurredAt is an RFC 3339 date-time (rfc3339.h).
 *
 * Running out of memory says nothing about the event, so it is not a
 * rejection: the process aborts (xalloc.h), as kore does on allocation
 * failure, while parsing as sagastate.c does while merging.
 */

#ifndef SAGA_SAGA_H
#define SAGA_SAGA_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define SAGA_PAYLOAD_MAX	(1024 * 1024)
#define SAGA_METADATA_MAX	(16 * 1024)

/* Limits in code points; buffers hold up to 4 UTF-8 bytes each plus NUL. */
#define SAGA_EVENT_ID_MAX	128
#define SAGA_ID_MAX		64
#define SAGA_TYPE_MAX		64
#define SAGA_ORDER_ID_MAX	64
#define SAGA_STEP_MAX		64
#define SAGA_TRACE_ID_MAX	64

#define SAGA_UTF8_SIZE(n)	((n) * 4 + 1)

/* A set of statuses as bits; the failure path (FAILED and after). */
#define SAGA_STATUS_BIT(s)	(1u << (s))
#define SAGA_FAILURE_PATH_BITS	(SAGA_STATUS_BIT(SAGA_FAILED) |	\
				    SAGA_STATUS_BIT(SAGA_COMPENSATING) | \
				    SAGA_STATUS_BIT(SAGA_COMPENSATED))

/* A time that is not known (UTC ms since the epoch otherwise). */
#define SAGA_TIME_NONE		INT64_MIN

#define SAGA_DETAIL_MAX		256

enum saga_status {
	SAGA_STARTED = 0,
	SAGA_IN_PROGRESS,
	SAGA_COMPLETED,
	SAGA_FAILED,
	SAGA_COMPENSATING,
	SAGA_COMPENSATED,
	SAGA_STATUS_COUNT
};

enum saga_reject {
	SAGA_REJECT_NONE = 0,
	SAGA_REJECT_INVALID_JSON,
	SAGA_REJECT_NOT_OBJECT,
	SAGA_REJECT_MISSING_FIELD,
	SAGA_REJECT_INVALID_FIELD,
	SAGA_REJECT_TOO_LARGE,
	SAGA_REJECT_INVALID_UTF8,
	SAGA_REJECT_CONFLICT,
	SAGA_REJECT_EXPIRED,	/* store.h: older than retention, saga gone */
	SAGA_REJECT_COUNT
};

struct saga_event {
	char			event_id[SAGA_UTF8_SIZE(SAGA_EVENT_ID_MAX)];
	char			saga_id[SAGA_ID_MAX + 1];
	char			saga_type[SAGA_UTF8_SIZE(SAGA_TYPE_MAX)];
	char			order_id[SAGA_UTF8_SIZE(SAGA_ORDER_ID_MAX)];
	char			step[SAGA_STEP_MAX + 1];
	char			trace_id[SAGA_UTF8_SIZE(SAGA_TRACE_ID_MAX)];
	enum saga_status	status;
	int64_t			occurred_at;	/* UTC ms since the epoch */
	char			*metadata;	/* compact JSON or NULL */
	char			*failure_reason; /* or NULL */
};

const char	*saga_status_name(enum saga_status);
int		 saga_status_parse(const char *, enum saga_status *);
int		 saga_status_rank(enum saga_status);
int		 saga_status_failure_path(enum saga_status);
const char	*saga_reject_reason_name(enum saga_reject);

int		 saga_event_parse(const void *, size_t, struct saga_event *,
		    char *, size_t);
void		 saga_event_free(struct saga_event *);

/* For sagastate.c: a detail written as saga_event_parse() writes it. */
int		 saga_detail(char *, size_t, int, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
char		*saga_metadata_serialize(json_t *);
/* src into dst of size bytes, cut to fit, always terminated. */
void		 saga_copy_str(char *, size_t, const char *);

#endif /* !SAGA_SAGA_H */
