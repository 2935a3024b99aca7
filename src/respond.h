/*
 * respond: every HTTP answer of the service leaves through here.
 *
 * It owns the JSON and RFC 9457 problem+json bodies (built with jansson,
 * which escapes strings, unlike kore's own serializer) and records each
 * answer's latency in saga_tracker_api_latency_seconds under the route
 * template, never the raw path, and the status code it sends.
 */

#ifndef SAGA_RESPOND_H
#define SAGA_RESPOND_H

#include <jansson.h>

struct http_request;

/* Head of every handler's request state (kore's hdlr_extra). */
struct respond_ctx {
	double			 start;		/* metrics_now() */
	const char		*route;
};

/*
 * Call first in every handler: on the first call it creates the request
 * state of statelen bytes (>= sizeof(struct respond_ctx)) and starts the
 * latency clock; on a re-entry (async work) it returns the same state.
 */
void	*respond_begin(struct http_request *req, const char *route,
	    size_t statelen);

/*
 * 1 if req uses method (a kore HTTP_METHOD_*), or HEAD where method is
 * GET (kore answers a HEAD without the body); otherwise answer 405
 * problem+json with an Allow header ("GET, HEAD" for GET) and return
 * 0.  Routes carry no kore `restrict`, whose 405 has an empty body.
 */
int	respond_method(struct http_request *req, int method);

/* Send body (consumed) as application/json with status. */
void	respond_json(struct http_request *req, int status, json_t *body);

/* Send text with an explicit content type. */
void	respond_text(struct http_request *req, int status,
	    const char *content_type, const void *data, size_t len);

/*
 * kore handler of the last route (^/): a path no other route has is a
 * 404 problem, not kore's empty 404.  Its latency goes under endpoint
 * RESPOND_NO_ROUTE.
 */
#define RESPOND_NO_ROUTE	"unmatched"
int	respond_no_route(struct http_request *req);

/* The reason phrase of status, for the status line and a title. */
const char *respond_status_title(int status);

/*
 * The RFC 9457 problem body (malloc'd, free() it), or NULL.  instance
 * (the request target) is left out when NULL or not UTF-8.
 */
char	*respond_problem_text(int status, const char *instance,
	    const char *detail);

/* Send an RFC 9457 problem; detail is printf-style. */
void	respond_problem(struct http_request *req, int status,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
