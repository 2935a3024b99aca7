/*
 * saga: event validation, RFC 3339 time, and the saga state merge
 * (SPEC §1).  See saga.h for the rules; this file implements them.
 *
 * Owns: the status and rejection-reason label tables, the compact
 * metadata serializer, the field table of a saga
 * event, and the order-independent merge of events into a saga row.
 */

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dblfmt.h"
#include "saga.h"
#include "strbuf.h"
#include "utf8.h"
#include "xalloc.h"

#define MS_PER_DAY		86400000LL
#define TIME_MIN		(-62167219200000LL)	/* 0000-01-01 */
#define TIME_MAX		253402300799999LL	/* 9999-12-31 */
#define STATUS_BIT(s)		(1u << (s))
#define FAILURE_PATH_BITS	(STATUS_BIT(SAGA_FAILED) |		\
				    STATUS_BIT(SAGA_COMPENSATING) |	\
				    STATUS_BIT(SAGA_COMPENSATED))
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

struct time_parts {
	int			y;
	int			mo;
	int			d;
	int			h;
	int			mi;
	int			sec;
	int			frac;	/* milliseconds */
	int			off;	/* minutes east of UTC */
};

/* Compact JSON text under construction, at most max bytes. */
struct jbuf {
	struct strbuf		sb;
	size_t			max;
	int			too_large;
};

static int	reject(char *, size_t, int, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static void	detail_sanitize(char *);
static void	echo(const char *, char *, size_t);
static void	copy_str(char *, size_t, const char *);
static const char *json_type_name(const json_t *);

static int	is_year_leap(int);
static int	month_days(int, int);
static int64_t	days_since_year0(int, int, int);
static int	num(const char **, int, int *);
static int	sep(const char **, const char *);
static const char *parse_offset(const char **, int *);
static const char *time_syntax(const char *, struct time_parts *);
static const char *time_range(const struct time_parts *);

static void	jbuf_put(struct jbuf *, const char *, size_t);
static void	jbuf_str(struct jbuf *, const char *, size_t);
static void	jbuf_real(struct jbuf *, double);
static void	jbuf_json(struct jbuf *, json_t *);
static char	*metadata_serialize(json_t *);

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

static int	status_order(enum saga_status);
static int	key_cmp(const struct saga_event *, const struct saga_key *);
static void	key_set(struct saga_key *, const struct saga_event *);
static int	wins(const struct saga_state *, const struct saga_event *);
static int	gives_reason(const struct saga_state *,
		    const struct saga_event *);
static void	merge_times(struct saga_state *, const struct saga_event *);
static json_t	*json_opt_str(const char *);
static json_t	*json_opt_time(int64_t);
static void	merge_attr(char *, size_t, struct saga_key *, const char *,
		    const struct saga_event *);
static void	state_delta(const struct saga_state *, unsigned int, int,
		    struct saga_delta *);

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

static const int cumulative_days[12] = {
	0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334
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

	return ((FAILURE_PATH_BITS & STATUS_BIT(status)) != 0);
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
static int
reject(char *detail, size_t len, int reason, const char *fmt, ...)
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
		copy_str(buf, len, s);
		return;
	}

	n = ECHO_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	(void)snprintf(buf, len, "%.*s...", (int)n, s);
}

static void
copy_str(char *dst, size_t size, const char *src)
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

static int
is_year_leap(int y)
{
	return ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0);
}

static int
month_days(int y, int m)
{
	if (m == 2)
		return (is_year_leap(y) ? 29 : 28);
	if (m == 4 || m == 6 || m == 9 || m == 11)
		return (30);

	return (31);
}

/* Days from 0000-01-01 (proleptic Gregorian) to y-m-d; y >= 0. */
static int64_t
days_since_year0(int y, int m, int d)
{
	int64_t		days, leaps;

	/* Leap years in [0, y): year 0 is one. */
	leaps = (y + 3) / 4 - (y + 99) / 100 + (y + 399) / 400;
	days = (int64_t)y * 365 + leaps + cumulative_days[m - 1] + d - 1;
	if (m > 2 && is_year_leap(y))
		days++;

	return (days);
}

/* Exactly n decimal digits. */
static int
num(const char **p, int n, int *v)
{
	*v = 0;
	while (n-- > 0) {
		if (**p < '0' || **p > '9')
			return (-1);
		*v = *v * 10 + (**p - '0');
		(*p)++;
	}

	return (0);
}

/* One character out of set. */
static int
sep(const char **p, const char *set)
{
	if (**p == '\0' || strchr(set, **p) == NULL)
		return (-1);
	(*p)++;

	return (0);
}

/* Z or +hh:mm / -hh:mm, as minutes east of UTC; NULL or the problem. */
static const char *
parse_offset(const char **p, int *minutes)
{
	int		sign, h, m;

	if (**p == '\0')
		return ("missing time offset (Z or +hh:mm)");
	if (sep(p, "Zz") == 0) {
		*minutes = 0;
		return (NULL);
	}

	sign = (**p == '-') ? -1 : 1;
	if (sep(p, "+-") == -1 || num(p, 2, &h) == -1 || sep(p, ":") == -1 ||
	    num(p, 2, &m) == -1)
		return ("expected time offset Z or +hh:mm");
	if (h > 23 || m > 59)
		return ("time offset out of range");

	*minutes = sign * (h * 60 + m);

	return (NULL);
}

/* Split an RFC 3339 date-time into its fields; NULL or the problem. */
static const char *
time_syntax(const char *s, struct time_parts *tp)
{
	const char	*p, *err;
	int		digits;

	p = s;
	tp->frac = 0;

	if (num(&p, 4, &tp->y) == -1 || sep(&p, "-") == -1 ||
	    num(&p, 2, &tp->mo) == -1 || sep(&p, "-") == -1 ||
	    num(&p, 2, &tp->d) == -1)
		return ("expected date YYYY-MM-DD");
	if (sep(&p, "Tt") == -1)
		return ("expected 'T' and a time after the date");
	if (num(&p, 2, &tp->h) == -1 || sep(&p, ":") == -1 ||
	    num(&p, 2, &tp->mi) == -1 || sep(&p, ":") == -1 ||
	    num(&p, 2, &tp->sec) == -1)
		return ("expected time hh:mm:ss");

	if (sep(&p, ".") == 0) {
		for (digits = 0; *p >= '0' && *p <= '9'; p++, digits++) {
			if (digits < 3)
				tp->frac = tp->frac * 10 + (*p - '0');
		}
		if (digits == 0)
			return ("expected digits after '.'");
		for (; digits < 3; digits++)
			tp->frac *= 10;
	}

	if ((err = parse_offset(&p, &tp->off)) != NULL)
		return (err);
	if (*p != '\0')
		return ("unexpected characters after the time offset");

	return (NULL);
}

/* Calendar and clock ranges; NULL or the problem. */
static const char *
time_range(const struct time_parts *tp)
{
	int		utcmin;

	utcmin = ((tp->h * 60 + tp->mi - tp->off) % 1440 + 1440) % 1440;

	if (tp->mo < 1 || tp->mo > 12)
		return ("month out of range 01..12");
	if (tp->d < 1 || tp->d > month_days(tp->y, tp->mo))
		return ("day out of range for the month");
	if (tp->h > 23)
		return ("hour out of range 00..23");
	if (tp->mi > 59)
		return ("minute out of range 00..59");
	if (tp->sec > 60 || (tp->sec == 60 && utcmin != 1439))
		return ("second out of range 00..59");

	return (NULL);
}

/*
 * Parse an RFC 3339 date-time into UTC milliseconds since the epoch.
 * Returns 0, or -1 with *why (if not NULL) naming the problem.
 */
int
saga_parse_time(const char *s, int64_t *ms, const char **why)
{
	struct time_parts	tp;
	const char		*err;
	int64_t			days, t;
	int			sec;

	if ((err = time_syntax(s, &tp)) == NULL)
		err = time_range(&tp);

	if (err == NULL) {
		/* A leap second counts as :59 of its minute. */
		sec = tp.sec == 60 ? 59 : tp.sec;
		days = days_since_year0(tp.y, tp.mo, tp.d) -
		    days_since_year0(1970, 1, 1);
		t = days * MS_PER_DAY + ((int64_t)(tp.h * 60 + tp.mi -
		    tp.off) * 60 + sec) * 1000 + tp.frac;
		if (t < TIME_MIN || t > TIME_MAX)
			err = "outside 0000-01-01..9999-12-31 in UTC";
	}

	if (err != NULL) {
		if (why != NULL)
			*why = err;
		return (-1);
	}
	*ms = t;

	return (0);
}

/*
 * Format UTC milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ".  Returns 0, or
 * -1 if buf is shorter than SAGA_TIME_BUFLEN or the year is not 0..9999.
 */
int
saga_format_time(int64_t ms, char *buf, size_t len)
{
	int64_t		days, rem;
	int		y, m;

	if (len < SAGA_TIME_BUFLEN || ms < TIME_MIN || ms > TIME_MAX)
		return (-1);

	days = ms / MS_PER_DAY;
	rem = ms % MS_PER_DAY;
	if (rem < 0) {
		rem += MS_PER_DAY;
		days--;
	}
	days += days_since_year0(1970, 1, 1);

	y = (int)(days * 400 / 146097);
	while (y < 9999 && days_since_year0(y + 1, 1, 1) <= days)
		y++;
	while (y > 0 && days_since_year0(y, 1, 1) > days)
		y--;
	days -= days_since_year0(y, 1, 1);

	for (m = 1; m < 12 && days >= month_days(y, m); m++)
		days -= month_days(y, m);

	(void)snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    y, m, (int)days + 1, (int)(rem / 3600000),
	    (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
	    (int)(rem % 1000));

	return (0);
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
static char *
metadata_serialize(json_t *v)
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
		return (reject(detail, len, SAGA_REJECT_MISSING_FIELD,
		    "%s: required field is %s", r->name,
		    isnull ? "null" : "missing"));
	}

	if (r->kind == FIELD_METADATA && !json_is_object(*v)) {
		return (reject(detail, len, SAGA_REJECT_INVALID_FIELD,
		    "%s: must be an object, got %s", r->name,
		    json_type_name(*v)));
	}
	if (r->kind != FIELD_METADATA && !json_is_string(*v)) {
		return (reject(detail, len, SAGA_REJECT_INVALID_FIELD,
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
		return (reject(detail, len, SAGA_REJECT_INVALID_FIELD,
		    "%s: length must be %zu..%zu characters, got %zu",
		    r->name, r->min, r->max, n));
	}

	for (c = s; r->charset != NULL && *c != '\0'; c++) {
		if (!r->charset((unsigned char)*c)) {
			echo(s, shown, sizeof(shown));
			return (reject(detail, len, SAGA_REJECT_INVALID_FIELD,
			    "%s: must match %s, got '%s'", r->name,
			    r->pattern, shown));
		}
	}

	if (strlen(s) >= r->size) {
		return (reject(detail, len, SAGA_REJECT_INVALID_FIELD,
		    "%s: too long", r->name));
	}
	copy_str((char *)ev + r->off, r->size, s);

	return (SAGA_REJECT_NONE);
}

static int
field_status(const struct field_rule *r, json_t *v, struct saga_event *ev,
    char *detail, size_t len)
{
	char		shown[ECHO_MAX + 4];

	if (saga_status_parse(json_string_value(v), &ev->status) == -1) {
		echo(json_string_value(v), shown, sizeof(shown));
		return (reject(detail, len, SAGA_REJECT_INVALID_FIELD,
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

	if (saga_parse_time(json_string_value(v), &ev->occurred_at,
	    &why) == -1) {
		echo(json_string_value(v), shown, sizeof(shown));
		return (reject(detail, len, SAGA_REJECT_INVALID_FIELD,
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

	if ((ev->metadata = metadata_serialize(v)) == NULL) {
		return (reject(detail, len, SAGA_REJECT_TOO_LARGE,
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
		return (reject(detail, detaillen, SAGA_REJECT_INVALID_JSON,
		    "payload: empty"));
	}
	if (len > SAGA_PAYLOAD_MAX) {
		return (reject(detail, detaillen, SAGA_REJECT_TOO_LARGE,
		    "payload: %zu bytes exceeds %d", len, SAGA_PAYLOAD_MAX));
	}
	if (!utf8_valid(payload, len, &bad)) {
		return (reject(detail, detaillen, SAGA_REJECT_INVALID_UTF8,
		    "payload: invalid UTF-8 at byte %zu", bad));
	}

	root = json_loadb(payload, len,
	    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			xalloc_fail("payload");
		return (reject(detail, detaillen, SAGA_REJECT_INVALID_JSON,
		    "payload: %s at line %d column %d", jerr.text,
		    jerr.line, jerr.column));
	}
	if (!json_is_object(root)) {
		rc = reject(detail, detaillen, SAGA_REJECT_NOT_OBJECT,
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

void
saga_state_init(struct saga_state *st)
{
	memset(st, 0, sizeof(*st));
	st->status = SAGA_STARTED;
	st->started_at = SAGA_TIME_NONE;
	st->updated_at = SAGA_TIME_NONE;
	st->failed_at = SAGA_TIME_NONE;
	st->compensated_at = SAGA_TIME_NONE;
	st->completed_at = SAGA_TIME_NONE;
}

void
saga_state_free(struct saga_state *st)
{
	free(st->failure_reason);
	free(st->metadata);
	saga_state_init(st);
}

/* Status order of the winner: the SPEC rank, FAILED above COMPLETED. */
static int
status_order(enum saga_status status)
{
	return (status_ranks[status] * 2 + (status == SAGA_FAILED));
}

static int
key_cmp(const struct saga_event *ev, const struct saga_key *k)
{
	if (ev->occurred_at != k->at)
		return (ev->occurred_at < k->at ? -1 : 1);

	return (strcmp(ev->event_id, k->event_id));
}

static void
key_set(struct saga_key *k, const struct saga_event *ev)
{
	k->at = ev->occurred_at;
	copy_str(k->event_id, sizeof(k->event_id), ev->event_id);
}

/* Does ev beat the current winner by (order, occurredAt, eventId)? */
static int
wins(const struct saga_state *st, const struct saga_event *ev)
{
	int		a, b;

	if (st->seen == 0)
		return (1);

	a = status_order(ev->status);
	b = status_order(st->status);
	if (a != b)
		return (a > b);

	return (key_cmp(ev, &st->winner) > 0);
}

/* Does ev provide failureReason: least (status, occurredAt, eventId)? */
static int
gives_reason(const struct saga_state *st, const struct saga_event *ev)
{
	if (ev->failure_reason == NULL || ev->failure_reason[0] == '\0' ||
	    !saga_status_failure_path(ev->status))
		return (0);
	if (st->failure_reason == NULL)
		return (1);
	if (ev->status != st->failure_src_status)
		return (ev->status < st->failure_src_status);

	return (key_cmp(ev, &st->failure_src) < 0);
}

static void
merge_times(struct saga_state *st, const struct saga_event *ev)
{
	int64_t		*first;
	int64_t		at;

	at = ev->occurred_at;
	if (st->started_at == SAGA_TIME_NONE || at < st->started_at)
		st->started_at = at;
	if (st->updated_at == SAGA_TIME_NONE || at > st->updated_at)
		st->updated_at = at;

	switch (ev->status) {
	case SAGA_FAILED:
		first = &st->failed_at;
		break;
	case SAGA_COMPENSATED:
		first = &st->compensated_at;
		break;
	case SAGA_COMPLETED:
		first = &st->completed_at;
		break;
	default:
		return;
	}

	if (*first == SAGA_TIME_NONE || at < *first)
		*first = at;
}

/* An inherited attribute comes from the earliest event that has one. */
static void
merge_attr(char *dst, size_t size, struct saga_key *src, const char *val,
    const struct saga_event *ev)
{
	if (val[0] == '\0')
		return;
	if (dst[0] != '\0' && key_cmp(ev, src) >= 0)
		return;

	copy_str(dst, size, val);
	key_set(src, ev);
}

static void
state_delta(const struct saga_state *st, unsigned int seen0, int both0,
    struct saga_delta *d)
{
	unsigned int	done;
	int64_t		ms;

	done = STATUS_BIT(SAGA_COMPLETED);

	d->failed = !(seen0 & FAILURE_PATH_BITS) &&
	    (st->seen & FAILURE_PATH_BITS);
	d->compensated = !(seen0 & STATUS_BIT(SAGA_COMPENSATED)) &&
	    (st->seen & STATUS_BIT(SAGA_COMPENSATED));
	d->conflict = !((seen0 & done) && (seen0 & FAILURE_PATH_BITS)) &&
	    (st->seen & done) && (st->seen & FAILURE_PATH_BITS);

	if (!both0 && st->failed_at != SAGA_TIME_NONE &&
	    st->compensated_at != SAGA_TIME_NONE) {
		d->observe_duration = 1;
		ms = st->compensated_at - st->failed_at;
		d->duration_sec = ms > 0 ? (double)ms / 1000.0 : 0.0;
	}
}

/*
 * Merge ev into st (saga_state_init() for a new saga) and report in d the
 * counter deltas it causes.  Returns 0, or -1 with errno EINVAL (ev is of
 * another saga or has no valid status); st is then unchanged and d all
 * zeros.
 */
int
saga_state_apply(struct saga_state *st, const struct saga_event *ev,
    struct saga_delta *d)
{
	char		*meta, *reason;
	unsigned int	seen0;
	int		win, give, both0;

	memset(d, 0, sizeof(*d));
	meta = NULL;
	reason = NULL;

	if ((int)ev->status < 0 || ev->status >= SAGA_STATUS_COUNT ||
	    (st->seen != 0 && strcmp(st->saga_id, ev->saga_id) != 0)) {
		errno = EINVAL;
		return (-1);
	}

	win = wins(st, ev);
	give = gives_reason(st, ev);
	if (win && ev->metadata != NULL)
		meta = xstrdup(ev->metadata, "saga_state_apply");
	if (give)
		reason = xstrdup(ev->failure_reason, "saga_state_apply");

	seen0 = st->seen;
	both0 = st->failed_at != SAGA_TIME_NONE &&
	    st->compensated_at != SAGA_TIME_NONE;

	if (st->seen == 0)
		copy_str(st->saga_id, sizeof(st->saga_id), ev->saga_id);
	st->seen |= STATUS_BIT(ev->status);
	merge_times(st, ev);

	if (win) {
		st->status = ev->status;
		copy_str(st->current_step, sizeof(st->current_step), ev->step);
		free(st->metadata);
		st->metadata = meta;
		key_set(&st->winner, ev);
	}
	if (give) {
		free(st->failure_reason);
		st->failure_reason = reason;
		st->failure_src_status = ev->status;
		key_set(&st->failure_src, ev);
	}

	merge_attr(st->saga_type, sizeof(st->saga_type), &st->saga_type_src,
	    ev->saga_type, ev);
	merge_attr(st->order_id, sizeof(st->order_id), &st->order_id_src,
	    ev->order_id, ev);
	merge_attr(st->trace_id, sizeof(st->trace_id), &st->trace_id_src,
	    ev->trace_id, ev);

	state_delta(st, seen0, both0, d);

	return (0);
}

/*
 * May an operator move the saga to target (PATCH .../status)?  Only a
 * FAILED or COMPENSATING saga, only to COMPENSATING or COMPENSATED.
 */
int
saga_manual_check(const struct saga_state *st, enum saga_status target,
    char *detail, size_t len)
{
	if (saga_status_name(target) == NULL) {
		return (reject(detail, len, SAGA_MANUAL_INVALID,
		    "status: unknown target status %d", (int)target));
	}
	if (st->seen == 0) {
		return (reject(detail, len, SAGA_MANUAL_CONFLICT,
		    "saga has no events"));
	}
	if (st->status != SAGA_FAILED && st->status != SAGA_COMPENSATING) {
		return (reject(detail, len, SAGA_MANUAL_CONFLICT,
		    "saga %s: is %s; only FAILED or COMPENSATING sagas can be "
		    "moved manually", st->saga_id,
		    status_names[st->status]));
	}
	if (target != SAGA_COMPENSATING && target != SAGA_COMPENSATED) {
		return (reject(detail, len, SAGA_MANUAL_CONFLICT,
		    "saga %s: cannot move from %s to %s; target must be "
		    "COMPENSATING or COMPENSATED", st->saga_id,
		    status_names[st->status], status_names[target]));
	}

	return (SAGA_MANUAL_OK);
}

/*
 * Build the history event of a manual transition: the saga's current
 * step, status target, occurredAt now_ms and metadata {"reason": reason}
 * (none if reason is NULL or empty).  Returns SAGA_MANUAL_OK with ev to be
 * stored, applied with saga_state_apply() and freed with
 * saga_event_free(), or the saga_manual_check() result, or
 * SAGA_MANUAL_INVALID for a bad event_id or reason.
 */
int
saga_manual_event(const struct saga_state *st, enum saga_status target,
    const char *event_id, const char *reason, int64_t now_ms,
    struct saga_event *ev, char *detail, size_t len)
{
	json_t		*meta;
	int		rc;

	memset(ev, 0, sizeof(*ev));
	if ((rc = saga_manual_check(st, target, detail, len)) != 0)
		return (rc);

	if (event_id == NULL || !utf8_valid(event_id, strlen(event_id),
	    NULL) || utf8_count(event_id) < 1 ||
	    utf8_count(event_id) > SAGA_EVENT_ID_MAX) {
		return (reject(detail, len, SAGA_MANUAL_INVALID,
		    "eventId: must be 1..%d characters of UTF-8",
		    SAGA_EVENT_ID_MAX));
	}

	if (reason != NULL && reason[0] != '\0') {
		if (!utf8_valid(reason, strlen(reason), NULL) ||
		    (meta = json_pack("{s:s}", "reason", reason)) == NULL) {
			return (reject(detail, len, SAGA_MANUAL_INVALID,
			    "reason: must be UTF-8 text"));
		}
		ev->metadata = metadata_serialize(meta);
		json_decref(meta);
		if (ev->metadata == NULL) {
			return (reject(detail, len, SAGA_MANUAL_INVALID,
			    "reason: longer than %d bytes of metadata",
			    SAGA_METADATA_MAX));
		}
	}

	copy_str(ev->event_id, sizeof(ev->event_id), event_id);
	copy_str(ev->saga_id, sizeof(ev->saga_id), st->saga_id);
	copy_str(ev->step, sizeof(ev->step), st->current_step);
	ev->status = target;
	ev->occurred_at = now_ms;

	return (SAGA_MANUAL_OK);
}

static json_t *
json_opt_str(const char *s)
{
	return (s != NULL && s[0] != '\0' ? json_string(s) : json_null());
}

static json_t *
json_opt_time(int64_t ms)
{
	char		buf[SAGA_TIME_BUFLEN];

	if (ms == SAGA_TIME_NONE || saga_format_time(ms, buf, sizeof(buf)) ==
	    -1)
		return (json_null());

	return (json_string(buf));
}

json_t *
saga_state_json(const struct saga_state *st)
{
	json_t		*meta;

	meta = NULL;
	if (st->metadata != NULL)
		meta = json_loads(st->metadata, JSON_DECODE_ANY, NULL);

	return (json_pack("{s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o,"
	    " s:o, s:o, s:o}",
	    "sagaId", st->saga_id,
	    "sagaType", json_opt_str(st->saga_type),
	    "orderId", json_opt_str(st->order_id),
	    "status", saga_status_name(st->status),
	    "currentStep", json_opt_str(st->current_step),
	    "startedAt", json_opt_time(st->started_at),
	    "updatedAt", json_opt_time(st->updated_at),
	    "failedAt", json_opt_time(st->failed_at),
	    "compensatedAt", json_opt_time(st->compensated_at),
	    "completedAt", json_opt_time(st->completed_at),
	    "traceId", json_opt_str(st->trace_id),
	    "failureReason", json_opt_str(st->failure_reason),
	    "metadata", meta != NULL ? meta : json_null()));
}
