/*
 * manual: PATCH /internal/v1/sagas/{sagaId}/status, the operator's way to
 * move a failed saga to COMPENSATING or COMPENSATED (SPEC §2).
 *
 * The bearer token comes from $SAGA_TRACKER_INTERNAL_TOKEN and is compared
 * in constant time; with the variable unset the endpoint answers 403.
 * The change runs in a kore task thread through store_manual_transition():
 * the same row lock, merge and metrics as the consumer, one transaction,
 * on the task thread's own libpq connection, so the worker's event loop
 * never waits on the database.
 */

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "respond.h"
#include "saga.h"
#include "sagastate.h"
#include "storeconn.h"
#include "transition.h"

#define MANUAL_ROUTE		"/internal/v1/sagas/{sagaId}/status"
#define MANUAL_PREFIX		"/internal/v1/sagas/"
#define MANUAL_SUFFIX		"/status"
#define MANUAL_TOKEN_ENV	"SAGA_TRACKER_INTERNAL_TOKEN"
#define MANUAL_REASON_MAX	1024

/* Handler to task, one channel message. */
struct manual_input {
	char			saga_id[SAGA_ID_MAX + 1];
	enum saga_status	target;
	char			reason[MANUAL_REASON_MAX];
	char			dsn[1024];
};

/* Task to handler: this, then body_len bytes of Saga JSON. */
struct manual_output {
	enum store_manual	outcome;
	char			detail[512];
	u_int32_t		body_len;
};

struct manual_state {
	struct respond_ctx	ctx;
	struct kore_task	task;
	struct manual_input	in;
};

int	manual_patch(struct http_request *);

static int	manual_authorized(struct http_request *);
static int	manual_token_equal(const char *, const char *);
static int	manual_saga_id(struct http_request *, char *, size_t);
static int	manual_body(struct http_request *, struct manual_input *);
static int	manual_start(struct http_request *, struct manual_state *);
static void	manual_finish(struct http_request *, struct manual_state *);
static int	manual_task(struct kore_task *);

/* Each task thread keeps its own connection for the worker's life. */
static __thread struct store	*manual_store = NULL;

int
manual_patch(struct http_request *req)
{
	struct manual_state	*st;

	if (http_state_exists(req)) {
		st = http_state_get(req);
		if (kore_task_state(&st->task) != KORE_TASK_STATE_FINISHED) {
			http_request_sleep(req);
			return (KORE_RESULT_RETRY);
		}
		manual_finish(req, st);
		return (KORE_RESULT_OK);
	}

	/* kore destroys a bound task with its request. */
	st = respond_begin(req, MANUAL_ROUTE, sizeof(*st));

	if (!respond_method(req, HTTP_METHOD_PATCH) ||
	    !manual_authorized(req) ||
	    !manual_saga_id(req, st->in.saga_id, sizeof(st->in.saga_id)) ||
	    !manual_body(req, &st->in))
		return (KORE_RESULT_OK);

	return (manual_start(req, st));
}

/* Answers 401/403 itself and returns 0 when the caller may not pass. */
static int
manual_authorized(struct http_request *req)
{
	const char	*want, *header;

	want = getenv(MANUAL_TOKEN_ENV);
	if (want == NULL || *want == '\0') {
		respond_problem(req, 403, "the internal API is disabled: %s "
		    "is not set", MANUAL_TOKEN_ENV);
		return (0);
	}

	if (!http_request_header(req, "authorization", &header) ||
	    strncasecmp(header, "Bearer ", 7) != 0) {
		http_response_header(req, "www-authenticate", "Bearer");
		respond_problem(req, 401, "an Authorization: Bearer token is "
		    "required");
		return (0);
	}

	if (!manual_token_equal(header + 7, want)) {
		respond_problem(req, 403, "the bearer token is not valid");
		return (0);
	}

	return (1);
}

/* Compare in time that depends only on the length of want. */
static int
manual_token_equal(const char *got, const char *want)
{
	size_t		i, glen, wlen;
	unsigned char	diff;

	glen = strlen(got);
	wlen = strlen(want);
	diff = glen != wlen;
	for (i = 0; i < wlen; i++)
		diff |= (unsigned char)want[i] ^
		    (unsigned char)(i < glen ? got[i] : 0);

	return (diff == 0);
}

static int
manual_saga_id(struct http_request *req, char *out, size_t outlen)
{
	const char	*id;
	size_t		 len, i;

	id = req->path + strlen(MANUAL_PREFIX);
	len = strlen(id) - strlen(MANUAL_SUFFIX);
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)id[i]) && id[i] != '_' &&
		    id[i] != '-')
			break;
	}

	if (len == 0 || len > SAGA_ID_MAX || i != len || len >= outlen) {
		respond_problem(req, 400, "sagaId: must be 1..%d characters "
		    "of [A-Za-z0-9_-]", SAGA_ID_MAX);
		return (0);
	}
	memcpy(out, id, len);
	out[len] = '\0';

	return (1);
}

static int
manual_body(struct http_request *req, struct manual_input *in)
{
	json_t		*doc, *status, *reason;
	json_error_t	 jerr;
	char		*buf;
	ssize_t		 n;
	size_t		 len, cap;

	/* intake refused anything over http_body_max before kore read it. */
	cap = req->http_body_length;
	buf = kore_malloc(cap + 1);
	len = 0;
	while (len < cap &&
	    (n = http_body_read(req, buf + len, cap - len)) > 0)
		len += (size_t)n;
	if (len != cap) {
		kore_free(buf);
		respond_problem(req, 400, "body: %zu of %zu bytes could be "
		    "read", len, cap);
		return (0);
	}

	doc = json_loadb(buf, len, 0, &jerr);
	kore_free(buf);
	if (doc == NULL || !json_is_object(doc)) {
		respond_problem(req, 400, "body: not a JSON object: %s",
		    doc == NULL ? jerr.text : "wrong type");
		json_decref(doc);
		return (0);
	}

	status = json_object_get(doc, "status");
	reason = json_object_get(doc, "reason");
	if (!json_is_string(status) ||
	    saga_status_parse(json_string_value(status), &in->target) == -1) {
		respond_problem(req, 400, "status: must be one of STARTED "
		    "IN_PROGRESS COMPLETED FAILED COMPENSATING COMPENSATED");
	} else if (reason != NULL && !json_is_null(reason) &&
	    (!json_is_string(reason) ||
	    json_string_length(reason) >= sizeof(in->reason))) {
		respond_problem(req, 400, "reason: must be a string of at most "
		    "%zu bytes", sizeof(in->reason) - 1);
	} else {
		if (json_is_string(reason))
			(void)kore_strlcpy(in->reason,
			    json_string_value(reason), sizeof(in->reason));
		json_decref(doc);
		return (1);
	}

	json_decref(doc);
	return (0);
}

static int
manual_start(struct http_request *req, struct manual_state *st)
{
	const char	*dsn;

	dsn = getenv(app_config()->postgres.dsn_env);
	if (dsn == NULL || *dsn == '\0') {
		respond_problem(req, 503, "database: %s",
		    app_db_unconfigured());
		return (KORE_RESULT_OK);
	}
	(void)kore_strlcpy(st->in.dsn, dsn, sizeof(st->in.dsn));

	kore_task_create(&st->task, manual_task);
	kore_task_bind_request(&st->task, req);
	kore_task_run(&st->task);
	kore_task_channel_write(&st->task, &st->in, sizeof(st->in));

	return (KORE_RESULT_RETRY);
}

static void
manual_finish(struct http_request *req, struct manual_state *st)
{
	struct manual_output	 out;
	char			*body;
	static const int	 status[] = {
		[STORE_MANUAL_DONE] = 200,
		[STORE_MANUAL_NOT_FOUND] = 404,
		[STORE_MANUAL_CONFLICT] = 409,
		[STORE_MANUAL_INVALID] = 400,
		[STORE_MANUAL_FAILED] = 503,
	};

	if (kore_task_result(&st->task) != KORE_RESULT_OK ||
	    kore_task_channel_read(&st->task, &out, sizeof(out)) !=
	    sizeof(out)) {
		respond_problem(req, 500, "the status change task failed");
		return;
	}

	if (out.outcome != STORE_MANUAL_DONE) {
		kore_log(LOG_NOTICE, "manual: saga %s to %s: %s",
		    st->in.saga_id, saga_status_name(st->in.target),
		    out.detail);
		respond_problem(req, status[out.outcome], "%s", out.detail);
		return;
	}

	body = kore_malloc(out.body_len);
	(void)kore_task_channel_read(&st->task, body, out.body_len);
	kore_log(LOG_NOTICE, "manual: saga %s set to %s", st->in.saga_id,
	    saga_status_name(st->in.target));
	respond_text(req, 200, "application/json", body, out.body_len);
	kore_free(body);
}

/* In a task thread: plain libpq, never kore's pgsql layer. */
static int
manual_task(struct kore_task *t)
{
	struct manual_input	 in;
	struct manual_output	 out;
	struct saga_state	 row;
	json_t			*saga;
	char			*body;

	memset(&out, 0, sizeof(out));
	if (kore_task_channel_read(t, &in, sizeof(in)) != sizeof(in))
		return (KORE_RESULT_ERROR);

	if (manual_store == NULL)
		manual_store = store_open(in.dsn, out.detail,
		    sizeof(out.detail));
	if (manual_store == NULL) {
		out.outcome = STORE_MANUAL_FAILED;
		kore_task_channel_write(t, &out, sizeof(out));
		return (KORE_RESULT_OK);
	}

	out.outcome = store_manual_transition(manual_store, in.saga_id,
	    in.target, in.reason, &row, out.detail, sizeof(out.detail));
	if (out.outcome != STORE_MANUAL_DONE) {
		kore_task_channel_write(t, &out, sizeof(out));
		return (KORE_RESULT_OK);
	}

	saga = saga_state_json(&row);
	saga_state_free(&row);
	body = saga != NULL ? json_dumps(saga, JSON_COMPACT) : NULL;
	json_decref(saga);
	if (body == NULL)
		return (KORE_RESULT_ERROR);

	out.body_len = (u_int32_t)strlen(body);
	kore_task_channel_write(t, &out, sizeof(out));
	kore_task_channel_write(t, body, out.body_len);
	free(body);

	return (KORE_RESULT_OK);
}
