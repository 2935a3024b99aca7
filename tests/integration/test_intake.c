/*
 * Integration: requests kore 4.1 refuses before any handler runs (no
 * Content-Length, a body over http_body_max, an unknown method, a long
 * target, another HTTP version, no Host or a bad header line, a head
 * over http_header_max) are answered by intake as problem+json, on the
 * first request of a connection and on a later one, and counted under
 * endpoint "refused"; and what intake adds to kore at the connection
 * layer (issue 17): two Hosts and Content-Length with Transfer-Encoding
 * refused, absolute-form targets served, pipelining answered with a
 * close, HEAD, Expect: 100-continue, and room kept for new clients
 * behind thousands of idle connections.
 */

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <poll.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"

#define PATCH_PATH	"/internal/v1/sagas/i-1/status"

/*
 * More idle connections than both workers may hold (conf: workers 2 x
 * worker_max_connections 1024): kore 4.1 let them lock every new client
 * out until its header timeout ended them.  Intake keeps a 16th free:
 * at most IDLE_KEPT of them stay open.
 */
#define IDLE_CONNS	2400
#define IDLE_KEPT	(2 * (1024 - 1024 / 16))

static void	expect_problem(const struct harness_reply *, int,
		    const char *, const char *);
static void	expect_refusal(const char *, int, const char *, const char *);
static void	expect_refusal_len(const char *, size_t, int, const char *,
		    const char *);
static int	connect_service(void);
static size_t	read_answer(int, char *, size_t);
static void	expect_one_answer_then_close(const char *, int);
static int	poll_until(int, int64_t);

const struct harness_suite	harness_suite = {
	HARNESS_PG | HARNESS_SERVICE, NULL, NULL
};

/* r is a problem+json answer of status, detail with word, instance. */
static void
expect_problem(const struct harness_reply *r, int status, const char *word,
    const char *instance)
{
	json_t		*doc;
	char		 val[1024];

	cr_assert_eq(harness_problem_check(r, status, word, val,
	    sizeof(val)), 0, "%s", val);
	cr_assert_not_null(harness_reply_header(r, "connection", val,
	    sizeof(val)));
	cr_assert_str_eq(val, "close");

	doc = json_loads(r->body, 0, NULL);
	if (instance == NULL)
		cr_assert_null(json_object_get(doc, "instance"), "%s",
		    r->body);
	else
		cr_assert_str_eq(json_string_value(json_object_get(doc,
		    "instance")), instance);
	json_decref(doc);
}

static void
expect_refusal(const char *request, int status, const char *word,
    const char *instance)
{
	expect_refusal_len(request, strlen(request), status, word, instance);
}

/* The len bytes at request, which may hold a NUL, are refused. */
static void
expect_refusal_len(const char *request, size_t len, int status,
    const char *word, const char *instance)
{
	struct harness_env	env;
	struct harness_reply	r;

	harness_env(&env);
	cr_assert_eq(harness_http_raw(env.service_port, request, len, &r), 0,
	    "no answer to %.60s", request);
	expect_problem(&r, status, word, instance);
	harness_reply_free(&r);
}

Test(intake, a_body_without_a_usable_length_is_a_problem)
{
	expect_refusal("PATCH " PATCH_PATH " HTTP/1.1\r\nHost: localhost\r\n"
	    "\r\n", 411, "Content-Length", PATCH_PATH);
	expect_refusal("PATCH " PATCH_PATH " HTTP/1.1\r\nHost: localhost\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411,
	    "chunked", PATCH_PATH);
	expect_refusal("PATCH " PATCH_PATH " HTTP/1.1\r\nHost: localhost\r\n"
	    "Content-Length: 12abc\r\n\r\n", 400, "byte count", PATCH_PATH);
	expect_refusal("POST /api/v1/sagas HTTP/1.1\r\nHost: localhost\r\n"
	    "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400,
	    "more than one", "/api/v1/sagas");
}

Test(intake, a_body_over_the_limit_is_a_413_before_it_is_read)
{
	/* Only the head is sent: the answer must not wait for the body. */
	expect_refusal("PATCH " PATCH_PATH " HTTP/1.1\r\nHost: localhost\r\n"
	    "Content-Length: 1000000\r\n\r\n", 413, "1000000 bytes",
	    PATCH_PATH);
	expect_refusal("PATCH " PATCH_PATH " HTTP/1.1\r\nHost: localhost\r\n"
	    "Content-Length: 8193\r\n\r\n", 413, "at most 8192", PATCH_PATH);
}

Test(intake, request_lines_kore_cannot_serve_are_problems)
{
	char		*req;
	size_t		 n;

	expect_refusal("BREW /pot HTTP/1.1\r\nHost: localhost\r\n\r\n", 501,
	    "none of", "/pot");
	expect_refusal("GET /api/v1/sagas HTTP/2.0\r\nHost: localhost\r\n\r\n",
	    505, "HTTP/1.1", "/api/v1/sagas");
	expect_refusal("PATCH " PATCH_PATH " HTTP/1.0\r\nHost: localhost\r\n"
	    "Content-Length: 2\r\n\r\n{}", 405, "HTTP/1.0", PATCH_PATH);
	expect_refusal("GET /api/v1/sagas\r\nHost: localhost\r\n\r\n", 400,
	    "request line", NULL);

	/* A target over kore's 2,000 bytes: 414, the target left out. */
	n = 2100;
	cr_assert_not_null(req = malloc(n + 128));
	(void)snprintf(req, n + 128, "GET /api/v1/sagas?orderId=%0*d "
	    "HTTP/1.1\r\nHost: localhost\r\n\r\n", (int)n, 7);
	expect_refusal(req, 414, "request target", NULL);
	free(req);
}

/* RFC 9112 2.2: one empty line before the request line is ignored. */
Test(intake, an_empty_line_before_the_request_line_is_ignored)
{
	struct harness_env	env;
	struct harness_reply	r;
	const char		*req;

	harness_env(&env);
	req = "\r\nGET /actuator/health/liveness HTTP/1.1\r\n"
	    "Host: localhost\r\n\r\n";
	cr_assert_eq(harness_http_raw(env.service_port, req, strlen(req),
	    &r), 0);
	cr_assert_eq(r.status, 200, "%d: %s", r.status, r.body);
	harness_reply_free(&r);

	expect_refusal("\r\n\r\nGET /actuator/health/liveness HTTP/1.1\r\n"
	    "Host: localhost\r\n\r\n", 400, "request line", NULL);
}

Test(intake, header_lines_kore_refuses_are_problems)
{
	expect_refusal("GET /api/v1/sagas HTTP/1.1\r\nAccept: */*\r\n\r\n",
	    400, "Host header is required", "/api/v1/sagas");
	expect_refusal("GET /api/v1/sagas HTTP/1.1\r\nHost: localhost\r\n"
	    "X-Empty:\r\n\r\n", 400, "X-Empty has no value",
	    "/api/v1/sagas");
	expect_refusal("GET /api/v1/sagas HTTP/1.1\r\nHost: localhost\r\n"
	    "X-Name: caf\xc3\xa9\r\n\r\n", 400, "X-Name has a character",
	    "/api/v1/sagas");
	expect_refusal("GET /api/v1/sagas HTTP/1.1\r\nHost: localhost\r\n"
	    "not a header\r\n\r\n", 400, "header line 2", "/api/v1/sagas");
}

Test(intake, a_head_over_the_header_limit_is_a_431)
{
	char		*req;
	size_t		 n;

	/* kore closed such a connection without any answer. */
	n = 6000;
	cr_assert_not_null(req = malloc(n + 128));
	(void)snprintf(req, n + 128, "GET /api/v1/sagas HTTP/1.1\r\n"
	    "Host: localhost\r\nX-Padding: %0*d\r\n\r\n", (int)n, 1);
	expect_refusal(req, 431, "request head", "/api/v1/sagas");
	free(req);
}

static int
connect_service(void)
{
	struct harness_env	env;
	struct sockaddr_in	sin;
	int			fd;

	harness_env(&env);
	cr_assert_neq(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)env.service_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);

	return (fd);
}

/* Read one answer with a Content-Length; its length in buf. */
static size_t
read_answer(int fd, char *buf, size_t cap)
{
	const char	*end, *cl;
	size_t		 len;
	ssize_t		 n;

	len = 0;
	for (;;) {
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL &&
		    (cl = strcasestr(buf, "content-length:")) != NULL &&
		    cl < end && len >= (size_t)(end + 4 - buf) +
		    strtoul(cl + 15, NULL, 10))
			return (len);
		n = read(fd, buf + len, cap - len - 1);
		cr_assert_gt(n, 0, "connection ended after %zu bytes", len);
		len += (size_t)n;
	}
}

Test(intake, a_refusal_later_on_a_kept_alive_connection)
{
	struct harness_reply	 r;
	const char		*first, *second;
	char			 buf[16384], *sep;
	size_t			 len;
	ssize_t			 n;
	int			 fd;

	first = "GET /actuator/health/liveness HTTP/1.1\r\nHost: localhost"
	    "\r\n\r\n";
	second = "PATCH " PATCH_PATH " HTTP/1.1\r\nHost: localhost\r\n\r\n";

	fd = connect_service();
	cr_assert_eq(write(fd, first, strlen(first)), (ssize_t)strlen(first));
	len = read_answer(fd, buf, sizeof(buf));
	cr_assert_eq(strncmp(buf, "HTTP/1.1 200", 12), 0, "%.*s", (int)len,
	    buf);
	cr_assert_not_null(strcasestr(buf, "connection: keep-alive"));

	/* The same connection: intake judges every head, not the first. */
	cr_assert_eq(write(fd, second, strlen(second)),
	    (ssize_t)strlen(second));
	len = 0;
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';

	cr_assert_not_null(sep = strstr(buf, "\r\n\r\n"), "%s", buf);
	*sep = '\0';
	memset(&r, 0, sizeof(r));
	cr_assert_eq(sscanf(buf, "HTTP/1.1 %d", &r.status), 1);
	r.headers = buf;
	r.body = sep + 4;
	expect_problem(&r, 411, "Content-Length", PATCH_PATH);
}

Test(intake, refusals_are_counted_under_endpoint_refused)
{
	struct harness_env	env;
	const char		*series;
	double			before, after;
	int			i;

	harness_env(&env);
	series = "saga_tracker_api_latency_seconds_count"
	    "{endpoint=\"refused\",method=\"PATCH\",code=\"411\"}";
	before = harness_metric(&env, series);
	for (i = 0; i < 3; i++)
		expect_refusal("PATCH " PATCH_PATH " HTTP/1.1\r\n"
		    "Host: localhost\r\n\r\n", 411, "Content-Length",
		    PATCH_PATH);
	after = harness_metric(&env, series);
	cr_assert_eq(after - before, 3.0, "before %g, after %g", before,
	    after);
}

/* RFC 9112 3.2: a request with more than one Host is a 400. */
Test(intake, two_host_headers_are_a_400)
{
	expect_refusal("GET /actuator/health/liveness HTTP/1.1\r\n"
	    "Host: localhost\r\nHost: evil.example\r\n\r\n", 400,
	    "more than one Host", "/actuator/health/liveness");
}

/*
 * RFC 9112 6.1: Content-Length with Transfer-Encoding is the shape of
 * request smuggling; refused, and the connection closed, before the
 * PATCH can be applied by its Content-Length.
 */
Test(intake, content_length_with_transfer_encoding_is_a_400)
{
	expect_refusal("PATCH " PATCH_PATH " HTTP/1.1\r\nHost: localhost\r\n"
	    "Content-Length: 28\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Type: application/json\r\n\r\n"
	    "17\r\n{\"status\":\"COMPENSATED\"}\r\n0\r\n\r\n", 400,
	    "Transfer-Encoding", PATCH_PATH);
	expect_refusal("GET /actuator/health/liveness HTTP/1.1\r\n"
	    "Host: localhost\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 5\r\n\r\n0\r\n\r\n", 400, "Transfer-Encoding",
	    "/actuator/health/liveness");
}

/* kore answered these with an empty 400 or its bare 404. */
Test(intake, targets_kore_cannot_route_are_problems)
{
	static const char	nul[] = "GET /actuator/health\0/x HTTP/1.1\r\n"
				    "Host: localhost\r\n\r\n";

	expect_refusal("\r\n\r\n", 400, "request line", NULL);
	expect_refusal_len(nul, sizeof(nul) - 1, 400, "control character",
	    NULL);
	expect_refusal("OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n", 501,
	    "OPTIONS *", "*");
	expect_refusal("GET actuator/health HTTP/1.1\r\nHost: localhost\r\n"
	    "\r\n", 400, "start with /", "actuator/health");
	expect_refusal("GET ftp://localhost/actuator/health HTTP/1.1\r\n"
	    "Host: localhost\r\n\r\n", 400, "start with /",
	    "ftp://localhost/actuator/health");
}

/* RFC 9112 3.2.2: a server accepts the absolute form of a target. */
Test(intake, an_absolute_form_target_is_served)
{
	struct harness_env	env;
	struct harness_reply	r;
	char			req[256];

	harness_env(&env);
	(void)snprintf(req, sizeof(req), "GET http://localhost:%d"
	    "/actuator/health/liveness HTTP/1.1\r\nHost: localhost\r\n"
	    "Connection: close\r\n\r\n", env.service_port);
	cr_assert_eq(harness_http_raw(env.service_port, req, strlen(req),
	    &r), 0);
	cr_assert_eq(r.status, 200, "%d: %s", r.status, r.body);
	cr_assert_not_null(strstr(r.body, "UP"), "%s", r.body);
	harness_reply_free(&r);

	/* No path: the target is "/", which no route has (a problem). */
	(void)snprintf(req, sizeof(req), "GET HTTP://LOCALHOST:%d?x=1 "
	    "HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
	    env.service_port);
	cr_assert_eq(harness_http_raw(env.service_port, req, strlen(req),
	    &r), 0);
	cr_assert_eq(harness_problem_check(&r, 404, NULL, req, sizeof(req)),
	    0, "%s", req);
	harness_reply_free(&r);
}

/*
 * Send request in one write; its one answer must have status and
 * "connection: close", and the connection must end after it (kore 4.1
 * dropped what followed the first request, or waited for it forever).
 */
static void
expect_one_answer_then_close(const char *request, int status)
{
	struct timeval	 tv;
	char		 buf[16384], more[64];
	size_t		 len;
	int		 fd, got;

	fd = connect_service();
	tv.tv_sec = 10;
	tv.tv_usec = 0;
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	cr_assert_eq(write(fd, request, strlen(request)),
	    (ssize_t)strlen(request));
	len = read_answer(fd, buf, sizeof(buf));
	cr_assert_eq(sscanf(buf, "HTTP/1.1 %d", &got), 1, "%s", buf);
	cr_assert_eq(got, status, "%.*s", (int)len, buf);
	cr_assert_not_null(strcasestr(buf, "\r\nconnection: close\r\n"),
	    "%.*s", (int)len, buf);
	cr_assert_null(strstr(buf + 8, "HTTP/1.1 "), "%.*s", (int)len, buf);
	cr_assert_eq(read(fd, more, sizeof(more)), 0,
	    "the connection stayed open after the answer");
	close(fd);
}

/* Pipelining: the first request is answered, then the client retries. */
Test(intake, a_pipelined_request_gets_the_first_answer_and_a_close)
{
	expect_one_answer_then_close("GET /actuator/info HTTP/1.1\r\n"
	    "Host: x\r\n\r\nGET /actuator/health HTTP/1.1\r\nHost: x\r\n\r\n",
	    200);
	expect_one_answer_then_close("PATCH " PATCH_PATH " HTTP/1.1\r\n"
	    "Host: x\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}"
	    "GET /actuator/info HTTP/1.1\r\nHost: x\r\n\r\n", 401);
	/* The bytes of a GET's body are not taken for a next request. */
	expect_one_answer_then_close("GET /actuator/health/liveness "
	    "HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 200);
}

/* RFC 9110 9.1: HEAD on a GET route is GET's answer without its body. */
Test(intake, head_on_a_get_route_is_gets_answer_without_a_body)
{
	static const char	*paths[] = {
		"/actuator/health/liveness",
		"/actuator/info",
		"/actuator/prometheus",
		"/api/v1/openapi.yaml",
	};
	struct harness_env	 env;
	struct harness_reply	 r;
	char			 req[256], len[32];
	size_t			 i;

	harness_env(&env);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		(void)snprintf(req, sizeof(req), "HEAD %s HTTP/1.1\r\n"
		    "Host: localhost\r\nConnection: close\r\n\r\n", paths[i]);
		cr_assert_eq(harness_http_raw(env.service_port, req,
		    strlen(req), &r), 0, "%s", paths[i]);
		cr_assert_eq(r.status, 200, "%s: %d %s", paths[i], r.status,
		    r.body);
		cr_assert_eq(r.body_len, 0, "%s: %s", paths[i], r.body);
		cr_assert_not_null(harness_reply_header(&r, "content-length",
		    len, sizeof(len)), "%s", paths[i]);
		cr_assert_gt(strtoul(len, NULL, 10), 0, "%s", paths[i]);
		harness_reply_free(&r);
	}
}

/*
 * RFC 9110 10.1.1: a PATCH with Expect: 100-continue gets a 100 Continue
 * before its body is sent, then its answer (kore 4.1 sent no 100: the
 * client waited for a timeout of its own); an unknown expectation is a
 * 417; a head refused anyway is refused without a 100.
 */
Test(intake, expect_100_continue_is_answered_before_the_body)
{
	static const char	 want[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct pollfd		 pfd;
	struct timeval		 tv;
	const char		*head, *body;
	char			 buf[16384];
	size_t			 len;
	ssize_t			 n;
	int64_t			 deadline;
	int			 got;

	body = "{\"status\":\"COMPENSATED\"}";
	head = "PATCH " PATCH_PATH " HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/json\r\nExpect: 100-continue\r\n"
	    "Content-Length: 24\r\nConnection: close\r\n\r\n";
	pfd.fd = connect_service();
	tv.tv_sec = 10;
	tv.tv_usec = 0;
	cr_assert_eq(setsockopt(pfd.fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	cr_assert_eq(write(pfd.fd, head, strlen(head)),
	    (ssize_t)strlen(head));

	/* Only the head is sent: the 100 must come without the body. */
	deadline = harness_now_ms() + 5000;
	len = 0;
	while (len < sizeof(want) - 1) {
		pfd.events = POLLIN;
		cr_assert_gt(poll(&pfd, 1, (int)(deadline - harness_now_ms() >
		    0 ? deadline - harness_now_ms() : 0)), 0,
		    "no 100 Continue within 5 s (%zu bytes)", len);
		n = read(pfd.fd, buf + len, sizeof(want) - 1 - len);
		cr_assert_gt(n, 0, "connection ended after %zu bytes", len);
		len += (size_t)n;
	}
	cr_assert_eq(memcmp(buf, want, len), 0, "%.*s", (int)len, buf);

	cr_assert_eq(write(pfd.fd, body, strlen(body)),
	    (ssize_t)strlen(body));
	len = read_answer(pfd.fd, buf, sizeof(buf));
	cr_assert_eq(sscanf(buf, "HTTP/1.1 %d", &got), 1, "%s", buf);
	cr_assert_eq(got, 401, "%.*s", (int)len, buf);
	close(pfd.fd);

	expect_refusal("PATCH " PATCH_PATH " HTTP/1.1\r\nHost: x\r\n"
	    "Expect: 200-ok\r\nContent-Length: 24\r\n\r\n", 417,
	    "100-continue", PATCH_PATH);
	expect_refusal("PATCH " PATCH_PATH " HTTP/1.1\r\nHost: x\r\n"
	    "Expect: 100-continue\r\nContent-Length: 9000\r\n\r\n", 413,
	    "at most 8192", PATCH_PATH);
}

/* Wait until fd is readable or deadline (harness_now_ms) passes. */
static int
poll_until(int fd, int64_t deadline)
{
	struct pollfd	pfd;
	int64_t		left;
	int		n;

	pfd.fd = fd;
	pfd.events = POLLIN;
	do {
		left = deadline - harness_now_ms();
		n = poll(&pfd, 1, left > 0 ? (int)left : 0);
	} while (n == -1 && errno == EINTR);

	return (n > 0);
}

/*
 * Connections that send nothing do not lock new clients out: with
 * IDLE_CONNS of them open, a new request is answered within 5 s; those
 * beyond what the workers keep are closed without an answer, the ones
 * idle longest first (the newest stays open).
 */
Test(intake, idle_connections_do_not_lock_new_clients_out)
{
	struct rlimit	 rl;
	struct pollfd	*idle;
	const char	*req;
	char		 buf[16384];
	size_t		 len;
	ssize_t		 n;
	int64_t		 deadline;
	int		 fd, i, got, closed;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < IDLE_CONNS + 64) {
		rl.rlim_cur = rl.rlim_max;
		cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0, "%s",
		    strerror(errno));
	}
	cr_assert_geq(rl.rlim_cur, IDLE_CONNS + 64, "RLIMIT_NOFILE %llu",
	    (unsigned long long)rl.rlim_cur);

	cr_assert_not_null(idle = calloc(IDLE_CONNS, sizeof(*idle)));
	for (i = 0; i < IDLE_CONNS; i++) {
		idle[i].fd = connect_service();
		idle[i].events = POLLIN;
	}

	req = "GET /actuator/health/liveness HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n";
	fd = connect_service();
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	deadline = harness_now_ms() + 5000;
	len = 0;
	buf[0] = '\0';
	while (strstr(buf, "\r\n\r\n") == NULL) {
		cr_assert(poll_until(fd, deadline), "no answer within 5 s "
		    "behind %d idle connections (%zu bytes)", IDLE_CONNS, len);
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		cr_assert_gt(n, 0, "connection ended after %zu bytes", len);
		len += (size_t)n;
		buf[len] = '\0';
	}
	cr_assert_eq(sscanf(buf, "HTTP/1.1 %d", &got), 1, "%s", buf);
	cr_assert_eq(got, 200, "%s", buf);
	close(fd);

	/* Dropped as they were accepted, before the request was. */
	deadline = harness_now_ms() + 2000;
	do {
		cr_assert_geq(poll(idle, IDLE_CONNS, 50), 0);
		for (i = 0, closed = 0; i < IDLE_CONNS; i++)
			closed += idle[i].revents != 0;
	} while (closed < IDLE_CONNS - IDLE_KEPT &&
	    harness_now_ms() < deadline);
	cr_assert_geq(closed, IDLE_CONNS - IDLE_KEPT, "%d closed", closed);
	for (i = 0; i < IDLE_CONNS; i++) {
		if (idle[i].revents != 0)
			cr_assert_eq(read(idle[i].fd, buf, sizeof(buf)), 0,
			    "idle connection %d got an answer", i);
	}
	cr_assert_eq(idle[IDLE_CONNS - 1].revents, 0,
	    "the newest idle connection was closed");

	for (i = 0; i < IDLE_CONNS; i++)
		close(idle[i].fd);
	free(idle);
}
