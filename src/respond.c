/*
 * respond: JSON, text and problem+json answers, and their latency.
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "respond.h"

static void	respond_observe(struct http_request *, int);

void *
respond_begin(struct http_request *req, const char *route, size_t statelen)
{
	struct respond_ctx	*ctx;

	if (http_state_exists(req))
		return (http_state_get(req));

	ctx = http_state_create(req, statelen, NULL);
	ctx->route = route;
	ctx->start = metrics_now();

	return (ctx);
}

static void
respond_observe(struct http_request *req, int status)
{
	struct respond_ctx	*ctx;

	if ((ctx = http_state_get(req)) == NULL)
		return;

	metrics_api_observe(ctx->route, http_method_text(req->method), status,
	    metrics_now() - ctx->start);
}

int
respond_method(struct http_request *req, int method)
{
	const char	*allow;

	/* RFC 9110 9.1: HEAD too; kore sends no body for a HEAD. */
	if (req->method == method ||
	    (method == HTTP_METHOD_GET && req->method == HTTP_METHOD_HEAD))
		return (1);

	allow = method == HTTP_METHOD_GET ? "GET, HEAD" :
	    http_method_text(method);
	http_response_header(req, "allow", allow);
	respond_problem(req, 405, "method %s is not allowed on %s; use %s",
	    http_method_text(req->method), req->path, allow);

	return (0);
}

void
respond_text(struct http_request *req, int status, const char *content_type,
    const void *data, size_t len)
{
	http_response_header(req, "content-type", content_type);
	http_response_header(req, "cache-control", "no-store");
	respond_observe(req, status);
	http_response(req, status, data, len);
}

void
respond_json(struct http_request *req, int status, json_t *body)
{
	char		*text;

	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL) {
		kore_log(LOG_ERR, "%s: cannot serialise JSON answer",
		    req->path);
		respond_text(req, 500, "text/plain", NULL, 0);
		return;
	}

	respond_text(req, status, "application/json", text, strlen(text));
	free(text);
}

const char *
respond_status_title(int status)
{
	/* kore 4.1 has no reason phrase for this one (RFC 6585). */
	if (status == 431)
		return ("Request Header Fields Too Large");

	return (http_status_text(status));
}

char *
respond_problem_text(int status, const char *instance, const char *detail)
{
	json_t		*body, *where;
	char		*text;

	body = json_pack("{s:s, s:s, s:i, s:s}",
	    "type", "about:blank",
	    "title", respond_status_title(status),
	    "status", status,
	    "detail", detail);
	if (body == NULL)
		return (NULL);

	/* A target that is not UTF-8 cannot be a JSON string: left out. */
	if (instance != NULL && (where = json_string(instance)) != NULL)
		(void)json_object_set_new(body, "instance", where);

	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);

	return (text);
}

void
respond_problem(struct http_request *req, int status, const char *fmt, ...)
{
	va_list		 ap;
	char		*text;
	char		 detail[1024];

	va_start(ap, fmt);
	(void)vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);

	if ((text = respond_problem_text(status, req->path, detail)) == NULL) {
		kore_log(LOG_ERR, "%s: cannot serialise the %d problem",
		    req->path, status);
		respond_text(req, status, "application/problem+json", NULL, 0);
		return;
	}

	respond_text(req, status, "application/problem+json", text,
	    strlen(text));
	free(text);
}

int
respond_no_route(struct http_request *req)
{
	(void)respond_begin(req, RESPOND_NO_ROUTE, sizeof(struct respond_ctx));
	respond_problem(req, 404, "no resource at this path");

	return (KORE_RESULT_OK);
}
