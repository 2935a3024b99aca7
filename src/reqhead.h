/*
 * reqhead: judges an HTTP/1.x request head as received so far, by the
 * limits kore applies after it, so that a refusal can be answered with
 * a body before kore answers it with none.  No kore dependency: the
 * limits come in as arguments.
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
};

/*
 * Judge the len bytes at buf, the start of a request.  Returns 0 while
 * the head is incomplete and fewer than head_max bytes are in; 1 once
 * it is judged, with v->status 0 (fine) or the HTTP status to refuse
 * it with and v->detail saying why.
 */
int	reqhead_judge(const char *buf, size_t len,
	    const struct reqhead_limits *lim, struct reqhead_verdict *v);

#endif
