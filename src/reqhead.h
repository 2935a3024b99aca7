/*
 * reqhead: judges an HTTP/1.x request head as received so far, by the
 * limits kore applies after it, so that a refusal can be answered with
 * a body before kore answers it with none, and refuses by RFC 9112 what
 * kore would serve or route wrongly (two Hosts, Content-Length with
 * Transfer-Encoding, a target that is not origin- or absolute-form, an
 * expectation other than 100-continue), and says when a client waits
 * for a 100 Continue before it sends the body, which kore never sends.
 * Rewrites an absolute-form target to the origin-form kore routes, and
 * adds the Connection: close that ends pipelining kore cannot serve.
 * No kore dependency: the limits come in as arguments.
 */

#ifndef SAGA_REQHEAD_H
#define SAGA_REQHEAD_H

#include <stddef.h>

struct reqhead_limits {
	size_t		head_max;	/* http_header_max */
	size_t		target_max;	/* longest request target */
	size_t		body_max;	/* http_body_max */
	size_t		header_lines;	/* header lines kore reads */
};

struct reqhead_verdict {
	int		status;		/* 0: the head goes on to kore */
	char		method[8];	/* GET ... PATCH, or OTHER */
	char		target[256];	/* printable target, or "" */
	char		detail[160];
	size_t		length;		/* status 0: bytes of the request,
					   its head and its body */
	size_t		head_length;	/* status 0: bytes of its head */
	int		continue_100;	/* status 0: an HTTP/1.1 request
					   with a body and Expect:
					   100-continue */
};

/*
 * Judge the len bytes at buf, the start of a request.  Returns 0 while
 * the head is incomplete and fewer than head_max bytes are in; 1 once
 * it is judged, with v->status 0 (fine) or the HTTP status to refuse
 * it with and v->detail saying why.
 */
int	reqhead_judge(const char *buf, size_t len,
	    const struct reqhead_limits *lim, struct reqhead_verdict *v);

/*
 * Rewrite in place the absolute-form target (http://host:port/path) of
 * the request at buf, a head reqhead_judge found fine, to origin-form
 * (/path; "/" when it has no path), moving the len bytes after it.
 * Returns the new length: len when the target is origin-form already.
 */
size_t	reqhead_origin_form(char *buf, size_t len);

/*
 * Insert "Connection: close" as the first header line of the request at
 * buf (len bytes in cap), so that kore closes the connection after its
 * answer.  Returns the new length, or 0 when it does not fit in cap.
 */
size_t	reqhead_add_close(char *buf, size_t len, size_t cap);

#endif
