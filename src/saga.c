/*
 * saga: event validation (SPEC §1).  See saga.h for the rules; this
 * file implements them.
 *
 * Owns: the status and rejection-reason label tables, the compact
 * metadata serializer and the field table of a saga event.
 */

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dblfmt.h"
#include "rfc3339.h"
#include "saga.h"
#include "strbuf.h"
#include "utf8.h"
#include "xalloc.h"

#define ECHO_MAX		48

#define EVFIELD(f)		offsetof(struct saga_event, f),		\
				    sizeof(((struct saga_event *)NULL)->f)

enum field_kind {
	FIELD_STRING,
	FIELD_STATUS,
	FIELD_TIME,
	FIELD_METADATA
};

struct field_rule {
	const char		*name;
	enum field_kind		kind;
	int			required;
	size_t			min;
	size_t			max;
	int			(*charset)(int);
	const char		*pattern;
	size_t			off;
	size_t			size;
};


/* Compact JSON text under construction, at most max bytes. */
struct jbuf {
	struct strbuf		sb;
	size_t			max;
	int			too_large;
};

static void	detail_sanitize(char *);
static void	echo(const char *, char *, size_t);
static const char *json_type_name(const json_t *);


static void	jbuf_put(struct jbuf *, const char *, size_t);
static void	jbuf_str(struct jbuf *, const char *, size_t);
static void	jbuf_real(struct jbuf *, double);
static void	jbuf_json(struct jbuf *, json_t *);

static int	charset_saga_id(int);
static int	charset_step(int);
static int	field_value(json_t *, const struct field_rule *, json_t **,
		    char *, size_t);
static int	field_string(const struct field_rule *, json_t *,
		    struct saga_event *, char *, size_t);
static int	field_status(const struct field_rule *, json_t *,
		    struct saga_event *, char *, size_t);
static int	field_time(const struct field_rule *, json_t *,
		    struct saga_event *, char *, size_t);
static int	field_metadata(const struct field_rule *, json_t *,
		    struct saga_event *, char *, size_t);
static int	event_fields(json_t *, struct saga_event *, char *, size_t);


static const char *status_names[SAGA_STATUS_COUNT] = {
	"STARTED",
	"IN_PROGRESS",
	"COMPLETED",
	"FAILED",
	"COMPENSATING",
	"COMPENSATED",
};

static const int status_ranks[SAGA_STATUS_COUNT] = { 0, 1, 2, 2, 3, 4 };

static const char *reject_names[SAGA_REJECT_COUNT] = {
	"none",
	"invalid_json",
	"not_object",
	"missing_field",
	"invalid_field",
	"too_large",
	"invalid_utf8",
	"conflict",
	"expired",
};


/* SPEC §1 table, in table order: the first failing field is reported. */
static const struct field_rule event_rules[] = {
	{ "eventId", FIELD_STRING, 1, 1, SAGA_EVENT_ID_MAX, NULL, NULL,
	    EVFIELD(event_id) },
	{ "sagaId", FIELD_STRING, 1, 1, SAGA_ID_MAX, charset_saga_id,
	    "[A-Za-z0-9_-]+", EVFIELD(saga_id) },
	{ "sagaType", FIELD_STRING, 0, 1, SAGA_TYPE_MAX, NULL, NULL,
	    EVFIELD(saga_type) },
	{ "orderId", FIELD_STRING, 0, 1, SAGA_ORDER_ID_MAX, NULL, NULL,
	    EVFIELD(order_id) },
	{ "step", FIELD_STRING, 1, 1, SAGA_STEP_MAX, charset_step,
	    "[A-Z0-9_]+", EVFIELD(step) },
	{ "status", FIELD_STATUS, 1, 0, 0, NULL, NULL, 0, 0 },
	{ "occurredAt", FIELD_TIME, 1, 0, 0, NULL, NULL, 0, 0 },
	{ "traceId", FIELD_STRING, 0, 0, SAGA_TRACE_ID_MAX, NULL, NULL,
	    EVFIELD(trace_id) },
	{ "metadata", FIELD_METADATA, 0, 0, 0, NULL, NULL, 0, 0 },
};

const char *
saga_status_name(enum saga_status status)
{
	if ((int)status < 0 || status >= SAGA_STATUS_COUNT)
		return (NULL);

	return (status_names[status]);
}

int
saga_status_parse(const char *name, enum saga_status *status)
{
	int		i;

	for (i = 0; i < SAGA_STATUS_COUNT; i++) {
		if (strcmp(name, status_names[i]) == 0) {
			*status = (enum saga_status)i;
			return (0);
		}
	}

	return (-1);
}

int
saga_status_rank(enum saga_status status)
{
	if ((int)status < 0 || status >= SAGA_STATUS_COUNT)
		return (-1);

	return (status_ranks[status]);
}

int
saga_status_failure_path(enum saga_status status)
{
	if ((int)status < 0 || status >= SAGA_STATUS_COUNT)
		return (0);

	return ((SAGA_FAILURE_PATH_BITS & SAGA_STATUS_BIT(status)) != 0);
}

const char *
saga_reject_reason_name(enum saga_reject reason)
{
	if ((int)reason < 0 || reason >= SAGA_REJECT_COUNT)
		return (NULL);

	return (reject_names[reason]);
}

/*
 * Write a rejection detail (always valid UTF-8, no control characters,
 * so it can go to a text column or a log line) and return the reason.
 */
int
saga_detail(char *detail, size_t len, int reason, const char *fmt, ...)
{
	va_list		args;

	if (detail == NULL || len == 0)
		return (reason);

	va_start(args, fmt);
	(void)vsnprintf(detail, len, fmt, args);
	va_end(args);
	detail_sanitize(detail);

	return (reason);
}

/* Replace bytes that are not printable UTF-8 with '?', in place. */
static void
detail_sanitize(char *s)
{
	unsigned char	*p;
	size_t		len, n;

	p = (unsigned char *)s;
	len = strlen(s);
	while (len > 0) {
		n = utf8_decode(p, len, NULL);
		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
			*p = '?';
			n = 1;
		}
		p += n;
		len -= n;
	}
}

/* Copy a value for quoting in a detail, cut on a character boundary. */
static void
echo(const char *s, char *buf, size_t len)
{
	size_t		n;

	n = strlen(s);
	if (n <= ECHO_MAX) {
		saga_copy_str(buf, len, s);
		return;
	}

	n = ECHO_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	(void)snprintf(buf, len, "%.*s...", (int)n, s);
}

void
saga_copy_str(char *dst, size_t size, const char *src)
{
	size_t		n;

	n = strlen(src);
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static const char *
json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return ("object");
	case JSON_ARRAY:
		return ("array");
	case JSON_STRING:
		return ("string");
	case JSON_INTEGER:
	case JSON_REAL:
		return ("number");
	case JSON_TRUE:
	case JSON_FALSE:
		return ("boolean");
	case JSON_NULL:
		return ("null");
	}

	return ("unknown");
}


static void
jbuf_put(struct jbuf *b, const char *s, size_t n)
{
	if (b->too_large)
		return;
	if (n > b->max - b->sb.len) {
		b->too_large = 1;
		return;
	}

	strbuf_add(&b->sb, s, n);
}

static void
jbuf_str(struct jbuf *b, const char *s, size_t len)
{
	size_t		i, run;
	char		esc[8];

	jbuf_put(b, "\"", 1);
	for (i = 0; i < len; i += run) {
		for (run = 0; i + run < len; run++) {
			if ((unsigned char)s[i + run] < 0x20 ||
			    s[i + run] == '"' || s[i + run] == '\\')
				break;
		}
		if (run > 0) {
			jbuf_put(b, s + i, run);
			continue;
		}

		switch (s[i]) {
		case '"':
			jbuf_put(b, "\\\"", 2);
			break;
		case '\\':
			jbuf_put(b, "\\\\", 2);
			break;
		case '\n':
			jbuf_put(b, "\\n", 2);
			break;
		case '\r':
			jbuf_put(b, "\\r", 2);
			break;
		case '\t':
			jbuf_put(b, "\\t", 2);
			break;
		default:
			(void)snprintf(esc, sizeof(esc), "\\u%04x",
			    (unsigned char)s[i]);
			jbuf_put(b, esc, 6);
			break;
		}
		run = 1;
	}
	jbuf_put(b, "\"", 1);
}

/* Shortest decimal that reads back as the same double. */
static void
jbuf_real(struct jbuf *b, double v)
{
	char		num[DBLFMT_MAX + 2];

	(void)dblfmt_shortest(num, sizeof(num), v);
	if (strpbrk(num, ".eE") == NULL)
		(void)strcat(num, ".0");

	jbuf_put(b, num, strlen(num));
}

static void
jbuf_json(struct jbuf *b, json_t *v)
{
	const char	*key;
	json_t		*item;
	size_t		i;
	char		num[32];

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		jbuf_put(b, "{", 1);
		i = 0;
		json_object_foreach(v, key, item) {
			if (i++ > 0)
				jbuf_put(b, ",", 1);
			jbuf_str(b, key, strlen(key));
			jbuf_put(b, ":", 1);
			jbuf_json(b, item);
		}
		jbuf_put(b, "}", 1);
		break;
	case JSON_ARRAY:
		jbuf_put(b, "[", 1);
		json_array_foreach(v, i, item) {
			if (i > 0)
				jbuf_put(b, ",", 1);
			jbuf_json(b, item);
		}
		jbuf_put(b, "]", 1);
		break;
	case JSON_STRING:
		jbuf_str(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		(void)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		jbuf_put(b, num, strlen(num));
		break;
	case JSON_REAL:
		jbuf_real(b, json_real_value(v));
		break;
	case JSON_TRUE:
		jbuf_put(b, "true", 4);
		break;
	case JSON_FALSE:
		jbuf_put(b, "false", 5);
		break;
	case JSON_NULL:
		jbuf_put(b, "null", 4);
		break;
	}
}

/* Compact JSON text of v, or NULL if over SAGA_METADATA_MAX bytes. */
char *
saga_metadata_serialize(json_t *v)
{
	struct jbuf	b;

	strbuf_init(&b.sb, 0);
	b.max = SAGA_METADATA_MAX;
	b.too_large = 0;
	jbuf_json(&b, v);

	if (b.too_large) {
		strbuf_free(&b.sb);
		return (NULL);
	}

	return (strbuf_steal(&b.sb, NULL));
}

static int
charset_saga_id(int c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-');
}

static int
charset_step(int c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
}

/* The JSON value of a field, NULL if absent or null; checks its type. */
static int
field_value(json_t *root, const struct field_rule *r, json_t **v,
    char *detail, size_t len)
{
	int		isnull;

	*v = json_object_get(root, r->name);
	if (*v == NULL || json_is_null(*v)) {
		isnull = *v != NULL;
		*v = NULL;
		if (!r->required)
			return (SAGA_REJECT_NONE);
		return (saga_detail(detail, len, SAGA_REJECT_MISSING_FIELD,
		    "%s: required field is %s", r->name,
		    isnull ? "null" : "missing"));
	}

	if (r->kind == FIELD_METADATA && !json_is_object(*v)) {
		return (saga_detail(detail, len, SAGA_REJECT_INVALID_FIELD,
		    "%s: must be an object, got %s", r->name,
		    json_type_name(*v)));
	}
	if (r->kind != FIELD_METADATA && !json_is_string(*v)) {
		return (saga_detail(detail, len, SAGA_REJECT_INVALID_FIELD,
		    "%s: must be a string, got %s", r->name,
		    json_type_name(*v)));
	}

	return (SAGA_REJECT_NONE);
}

static int
field_string(const struct field_rule *r, json_t *v, struct saga_event *ev,
    char *detail, size_t len)
{
	const char	*s, *c;
	size_t		n;
	char		shown[ECHO_MAX + 4];

	s = json_string_value(v);
	n = utf8_count(s);
	if (n < r->min || n > r->max) {
		return (saga_detail(detail, len, SAGA_REJECT_INVALID_FIELD,
		    "%s: length must be %zu..%zu characters, got %zu",
		    r->name, r->min, r->max, n));
	}

	for (c = s; r->charset != NULL && *c != '\0'; c++) {
		if (!r->charset((unsigned char)*c)) {
			echo(s, shown, sizeof(shown));
			return (saga_detail(detail, len,
			    SAGA_REJECT_INVALID_FIELD,
			    "%s: must match %s, got '%s'", r->name,
			    r->pattern, shown));
		}
	}

	if (strlen(s) >= r->size) {
		return (saga_detail(detail, len, SAGA_REJECT_INVALID_FIELD,
		    "%s: too long", r->name));
	}
	saga_copy_str((char *)ev + r->off, r->size, s);

	return (SAGA_REJECT_NONE);
}

static int
field_status(const struct field_rule *r, json_t *v, struct saga_event *ev,
    char *detail, size_t len)
{
	char		shown[ECHO_MAX + 4];

	if (saga_status_parse(json_string_value(v), &ev->status) == -1) {
		echo(json_string_value(v), shown, sizeof(shown));
		return (saga_detail(detail, len, SAGA_REJECT_INVALID_FIELD,
		    "%s: must be one of STARTED, IN_PROGRESS, COMPLETED, "
		    "FAILED, COMPENSATING, COMPENSATED, got '%s'",
		    r->name, shown));
	}

	return (SAGA_REJECT_NONE);
}

static int
field_time(const struct field_rule *r, json_t *v, struct saga_event *ev,
    char *detail, size_t len)
{
	const char	*why;
	char		shown[ECHO_MAX + 4];

	if (rfc3339_parse(json_string_value(v), &ev->occurred_at,
	    &why) == -1) {
		echo(json_string_value(v), shown, sizeof(shown));
		return (saga_detail(detail, len, SAGA_REJECT_INVALID_FIELD,
		    "%s: not an RFC 3339 date-time: %s, got '%s'",
		    r->name, why, shown));
	}

	return (SAGA_REJECT_NONE);
}

static int
field_metadata(const struct field_rule *r, json_t *v, struct saga_event *ev,
    char *detail, size_t len)
{
	json_t		*reason;

	if ((ev->metadata = saga_metadata_serialize(v)) == NULL) {
		return (saga_detail(detail, len, SAGA_REJECT_TOO_LARGE,
		    "%s: serialized size exceeds %d bytes", r->name,
		    SAGA_METADATA_MAX));
	}

	reason = json_object_get(v, "failureReason");
	if (json_is_string(reason) && json_string_length(reason) > 0) {
		ev->failure_reason = xstrdup(json_string_value(reason),
		    "metadata.failureReason");
	}

	return (SAGA_REJECT_NONE);
}

static int
event_fields(json_t *root, struct saga_event *ev, char *detail, size_t len)
{
	const struct field_rule	*r;
	json_t			*v;
	size_t			i;
	int			rc;

	for (i = 0; i < sizeof(event_rules) / sizeof(event_rules[0]); i++) {
		r = &event_rules[i];
		if ((rc = field_value(root, r, &v, detail, len)) != 0)
			return (rc);
		if (v == NULL)
			continue;

		rc = SAGA_REJECT_NONE;
		switch (r->kind) {
		case FIELD_STRING:
			rc = field_string(r, v, ev, detail, len);
			break;
		case FIELD_STATUS:
			rc = field_status(r, v, ev, detail, len);
			break;
		case FIELD_TIME:
			rc = field_time(r, v, ev, detail, len);
			break;
		case FIELD_METADATA:
			rc = field_metadata(r, v, ev, detail, len);
			break;
		}
		if (rc != 0)
			return (rc);
	}

	return (SAGA_REJECT_NONE);
}

/*
 * Validate one event payload (SPEC §1).  Returns SAGA_REJECT_NONE with ev
 * filled (release it with saga_event_free()), or a rejection reason with
 * ev empty and detail naming the field and the problem.
 */
int
saga_event_parse(const void *payload, size_t len, struct saga_event *ev,
    char *detail, size_t detaillen)
{
	json_t		*root;
	json_error_t	jerr;
	size_t		bad;
	int		rc;

	memset(ev, 0, sizeof(*ev));
	if (detail != NULL && detaillen > 0)
		detail[0] = '\0';

	if (payload == NULL || len == 0) {
		return (saga_detail(detail, detaillen, SAGA_REJECT_INVALID_JSON,
		    "payload: empty"));
	}
	if (len > SAGA_PAYLOAD_MAX) {
		return (saga_detail(detail, detaillen, SAGA_REJECT_TOO_LARGE,
		    "payload: %zu bytes exceeds %d", len, SAGA_PAYLOAD_MAX));
	}
	if (!utf8_valid(payload, len, &bad)) {
		return (saga_detail(detail, detaillen, SAGA_REJECT_INVALID_UTF8,
		    "payload: invalid UTF-8 at byte %zu", bad));
	}

	root = json_loadb(payload, len,
	    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			xalloc_fail("payload");
		return (saga_detail(detail, detaillen, SAGA_REJECT_INVALID_JSON,
		    "payload: %s at line %d column %d", jerr.text,
		    jerr.line, jerr.column));
	}
	if (!json_is_object(root)) {
		rc = saga_detail(detail, detaillen, SAGA_REJECT_NOT_OBJECT,
		    "payload: must be a JSON object, got %s",
		    json_type_name(root));
		json_decref(root);
		return (rc);
	}

	rc = event_fields(root, ev, detail, detaillen);
	json_decref(root);
	if (rc != SAGA_REJECT_NONE)
		saga_event_free(ev);

	return (rc);
}

void
saga_event_free(struct saga_event *ev)
{
	free(ev->metadata);
	free(ev->failure_reason);
	memset(ev, 0, sizeof(*ev));
}

