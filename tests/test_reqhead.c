/*
 * test_reqhead: unit tests of src/reqhead.c.
 *
 * Table-driven: each head with the status it must get (0: on to kore),
 * the method label, the target kept for the problem's instance, and a
 * word of the detail; then the cases that depend on how much has been
 * received (an incomplete head waits; a full buffer is a 431).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "reqhead.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const struct reqhead_limits	lim = {
	.head_max = 4096,
	.target_max = 1998,
	.body_max = 8192,
	.header_lines = 23,
};

struct hcase {
	const char	*head;
	int		 status;
	const char	*method;
	const char	*target;
	const char	*word;		/* in the detail, or NULL */
};

#define HOST	"Host: a\r\n"

static const struct hcase cases[] = {
	{ "GET /api/v1/sagas HTTP/1.1\r\n" HOST "\r\n", 0, "GET",
	    "/api/v1/sagas", NULL },
	{ "get /x HTTP/1.1\r\n" HOST "\r\n", 0, "GET", "/x", NULL },
	{ "GET /x HTTP/1.0\nHost: a\n\n", 0, "GET", "/x", NULL },
	{ "DELETE /x HTTP/1.1\r\nhost:a\r\n\r\n", 0, "DELETE", "/x", NULL },
	/* Bodies. */
	{ "PATCH /p HTTP/1.1\r\n" HOST "Content-Length: 8192\r\n\r\n", 0,
	    "PATCH", "/p", NULL },
	{ "patch /p HTTP/1.1\r\n" HOST "content-length:\t42\r\n\r\n", 0,
	    "PATCH", "/p", NULL },
	{ "POST /p HTTP/1.1\r\n" HOST "Content-Length: 0\r\n\r\n", 0,
	    "POST", "/p", NULL },
	{ "PATCH /p HTTP/1.1\r\n" HOST "Content-Length: 8193\r\n\r\n", 413,
	    "PATCH", "/p", "8193 bytes; at most 8192" },
	{ "PUT /p HTTP/1.1\r\n" HOST "Content-Length: 99999999999999999\r\n"
	    "\r\n", 413, "PUT", "/p", "99999999999999999" },
	{ "PATCH /p HTTP/1.1\r\n" HOST "\r\n", 411, "PATCH", "/p",
	    "a PATCH needs a Content-Length" },
	{ "POST /p HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n",
	    411, "POST", "/p", "chunked" },
	{ "PATCH /p HTTP/1.1\r\n" HOST "X-Content-Length: 5\r\n\r\n", 411,
	    "PATCH", "/p", "Content-Length" },
	{ "PATCH /p HTTP/1.1\r\n" HOST "Content-Length: 1e3\r\n\r\n", 400,
	    "PATCH", "/p", "byte count" },
	/* kore's strtonum would refuse the trailing space too. */
	{ "PATCH /p HTTP/1.1\r\n" HOST "Content-Length: 42 \r\n\r\n", 400,
	    "PATCH", "/p", "byte count" },
	{ "PATCH /p HTTP/1.1\r\n" HOST "Content-Length: -1\r\n\r\n", 400,
	    "PATCH", "/p", "byte count" },
	{ "PATCH /p HTTP/1.1\r\n" HOST "Content-Length: "
	    "12345678901234567890\r\n\r\n", 400, "PATCH", "/p", "byte count" },
	{ "PATCH /p HTTP/1.1\r\n" HOST "Content-Length: 2\r\n"
	    "Content-Length: 2\r\n\r\n", 400, "PATCH", "/p", "more than one" },
	/* A GET's Content-Length is kore's business, not a refusal. */
	{ "GET /p HTTP/1.1\r\n" HOST "Content-Length: 99999\r\n\r\n", 0,
	    "GET", "/p", NULL },
	/* Header lines. */
	{ "GET /x HTTP/1.1\r\n\r\n", 400, "GET", "/x", "Host" },
	{ "GET /x HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, "GET", "/x",
	    "Host" },
	{ "GET /x HTTP/1.1\r\n" HOST "X-Empty:\r\n\r\n", 400, "GET", "/x",
	    "header X-Empty has no value" },
	{ "GET /x HTTP/1.1\r\n" HOST "X-Blank:   \r\n\r\n", 400, "GET",
	    "/x", "X-Blank has no value" },
	{ "GET /x HTTP/1.1\r\n" HOST "no colon here\r\n\r\n", 400, "GET",
	    "/x", "header line 2 is not NAME: VALUE" },
	{ "GET /x HTTP/1.1\r\n" HOST "NoColon\r\n\r\n", 400, "GET", "/x",
	    "header line 2 has no colon" },
	{ "PATCH /p HTTP/1.1\r\n" HOST "Content-Length : 2\r\n\r\n", 400,
	    "PATCH", "/p", "header line 2" },
	{ "GET /x HTTP/1.1\r\n" HOST "X-Name: caf\xc3\xa9\r\n\r\n", 400,
	    "GET", "/x", "X-Name has a character other than" },
	{ "GET /x HTTP/1.1\r\n" HOST "X-Tab: a\tb\r\n\r\n", 400, "GET",
	    "/x", "X-Tab has a character" },
	{ "GET /x HTTP/1.1\r\nHost:\r\n\r\n", 400, "GET", "/x",
	    "Host has no value" },
	/* RFC 9112 3.2 and 6.1. */
	{ "GET /x HTTP/1.1\r\n" HOST "host: b\r\n\r\n", 400, "GET", "/x",
	    "more than one Host" },
	{ "GET /x HTTP/1.1\r\n" HOST "Hostname: b\r\n\r\n", 0, "GET", "/x",
	    NULL },
	{ "PATCH /p HTTP/1.1\r\n" HOST "Content-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 400, "PATCH", "/p",
	    "Content-Length together with Transfer-Encoding" },
	{ "GET /x HTTP/1.1\r\n" HOST "transfer-encoding: chunked\r\n"
	    "content-length: 0\r\n\r\n", 400, "GET", "/x",
	    "Transfer-Encoding" },
	/* Expectations: 100-continue only (RFC 9110 10.1.1). */
	{ "PATCH /p HTTP/1.1\r\n" HOST "Expect: 100-Continue \r\n"
	    "Content-Length: 2\r\n\r\n", 0, "PATCH", "/p", NULL },
	{ "PATCH /p HTTP/1.1\r\n" HOST "Expect: 200-ok\r\n"
	    "Content-Length: 2\r\n\r\n", 417, "PATCH", "/p",
	    "100-continue" },
	{ "GET /x HTTP/1.1\r\n" HOST "expect: 100-continue, x\r\n\r\n",
	    417, "GET", "/x", "Expect" },
	{ "PATCH /p HTTP/1.1\r\n" HOST "Expect: 100-continue\r\n"
	    "Content-Length: 8193\r\n\r\n", 413, "PATCH", "/p", "8193" },
	/* Request lines. */
	{ "BREW /pot HTTP/1.1\r\n" HOST "\r\n", 501, "OTHER", "/pot",
	    "none of" },
	{ "GETS /x HTTP/1.1\r\n" HOST "\r\n", 501, "OTHER", "/x", "none of" },
	{ "GET /x HTTP/2.0\r\n" HOST "\r\n", 505, "GET", "/x",
	    "HTTP/1.0 and" },
	{ "GET /x HTTP/1.10\r\n" HOST "\r\n", 505, "GET", "/x",
	    "HTTP/1.0 and" },
	{ "PATCH /p HTTP/1.0\r\n" HOST "Content-Length: 2\r\n\r\n", 405,
	    "PATCH", "/p", "HTTP/1.0" },
	{ "GET /x\r\n" HOST "\r\n", 400, "GET", "", "request line" },
	{ "GET /x HTTP/1.1 extra\r\n" HOST "\r\n", 400, "GET", "",
	    "request line" },
	{ "GET  /x  HTTP/1.1\r\n" HOST "\r\n", 0, "GET", "/x", NULL },
	/* One empty line before the request line is ignored, as kore does. */
	{ "\r\nGET /x HTTP/1.1\r\n" HOST "\r\n", 0, "GET", "/x", NULL },
	{ "\nGET /x HTTP/1.1\n" "Host: a\n\n", 0, "GET", "/x", NULL },
	{ "\r\n\r\nGET /x HTTP/1.1\r\n" HOST "\r\n", 400, "OTHER", "",
	    "request line" },
	{ "\r\n\r\n", 400, "OTHER", "", "request line is empty" },
	{ "\n\n", 400, "OTHER", "", "request line is empty" },
	/* Targets: origin-form or absolute-form (RFC 9112 3.2). */
	{ "GET /a\x01b HTTP/1.1\r\n" HOST "\r\n", 400, "GET", "",
	    "control character" },
	{ "GET /a\x7f HTTP/1.1\r\n" HOST "\r\n", 400, "GET", "",
	    "control character" },
	{ "OPTIONS * HTTP/1.1\r\n" HOST "\r\n", 501, "OPTIONS", "*",
	    "OPTIONS *" },
	{ "GET * HTTP/1.1\r\n" HOST "\r\n", 400, "GET", "*",
	    "must start with /" },
	{ "GET x/y HTTP/1.1\r\n" HOST "\r\n", 400, "GET", "x/y",
	    "must start with /" },
	{ "GET http:// HTTP/1.1\r\n" HOST "\r\n", 400, "GET", "http://",
	    "must start with /" },
	{ "GET http://a:1/x?y HTTP/1.1\r\n" HOST "\r\n", 0, "GET",
	    "http://a:1/x?y", NULL },
	{ "GET HTTPS://a HTTP/1.1\r\n" HOST "\r\n", 0, "GET", "HTTPS://a",
	    NULL },
	/* A target that is not printable ASCII is not echoed. */
	{ "GET /\xff\xfe HTTP/1.1\r\n" HOST "\r\n", 0, "GET", "", NULL },
};

Test(reqhead, each_head_gets_its_verdict)
{
	struct reqhead_verdict	v;
	const struct hcase	*c;
	size_t			 i;

	for (i = 0; i < NELEM(cases); i++) {
		c = &cases[i];
		cr_assert_eq(reqhead_judge(c->head, strlen(c->head), &lim, &v),
		    1, "case %zu: not judged", i);
		cr_assert_eq(v.status, c->status, "case %zu: status %d, "
		    "want %d (%s)", i, v.status, c->status, v.detail);
		cr_assert_str_eq(v.method, c->method, "case %zu", i);
		cr_assert_str_eq(v.target, c->target, "case %zu", i);
		if (c->word != NULL)
			cr_assert_not_null(strstr(v.detail, c->word),
			    "case %zu: detail \"%s\" lacks \"%s\"", i,
			    v.detail, c->word);
	}
}

Test(reqhead, an_incomplete_head_waits_and_a_full_buffer_is_431)
{
	struct reqhead_verdict	v;
	char			buf[4096];
	const char		*start;

	start = "PATCH /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n";
	cr_assert_eq(reqhead_judge(start, strlen(start), &lim, &v), 0);
	cr_assert_eq(reqhead_judge("", 0, &lim, &v), 0);

	/* The blank line arrives in the next read: judged then. */
	(void)snprintf(buf, sizeof(buf), "%s\r\n", start);
	cr_assert_eq(reqhead_judge(buf, strlen(buf), &lim, &v), 1);
	cr_assert_eq(v.status, 0);

	/* head_max bytes and no blank line: kore would wait forever. */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /q HTTP/1.1\r\nX-A: ", 22);
	cr_assert_eq(reqhead_judge(buf, sizeof(buf), &lim, &v), 1);
	cr_assert_eq(v.status, 431);
	cr_assert_str_eq(v.method, "GET");
	cr_assert_str_eq(v.target, "/q");
	cr_assert_not_null(strstr(v.detail, "over 4096 bytes"), "%s",
	    v.detail);

	/* Even a request line that never ends. */
	memset(buf, 'a', sizeof(buf));
	cr_assert_eq(reqhead_judge(buf, sizeof(buf), &lim, &v), 1);
	cr_assert_eq(v.status, 431);
	cr_assert_str_eq(v.method, "OTHER");
	cr_assert_str_eq(v.target, "");
}

Test(reqhead, a_target_over_the_limit_is_414_and_not_echoed)
{
	struct reqhead_verdict	v;
	char			buf[2100];
	int			n;

	n = snprintf(buf, sizeof(buf), "GET /%0*d HTTP/1.1\r\nHost: a\r\n\r\n",
	    1998, 0);
	cr_assert_eq(reqhead_judge(buf, (size_t)n, &lim, &v), 1);
	cr_assert_eq(v.status, 414, "%s", v.detail);
	cr_assert_str_eq(v.target, "");

	n = snprintf(buf, sizeof(buf), "GET /%0*d HTTP/1.1\r\nHost: a\r\n\r\n",
	    1997, 0);
	cr_assert_eq(reqhead_judge(buf, (size_t)n, &lim, &v), 1);
	cr_assert_eq(v.status, 0, "%s", v.detail);
}

/* A GET whose Host comes after filler other header lines. */
static void
head_with_host_after(char *buf, size_t size, int filler)
{
	size_t		len;
	int		i;

	len = (size_t)snprintf(buf, size, "GET /x HTTP/1.1\r\n");
	for (i = 0; i < filler; i++)
		len += (size_t)snprintf(buf + len, size - len,
		    "X-Line-%d: v\r\n", i);
	(void)snprintf(buf + len, size - len, "Host: a\r\n\r\n");
}

Test(reqhead, only_the_header_lines_kore_reads_count)
{
	struct reqhead_verdict	v;
	char			buf[4096];

	/* 23 lines are read: a Host on the 24th is not seen, as by kore. */
	head_with_host_after(buf, sizeof(buf), 23);
	cr_assert_eq(reqhead_judge(buf, strlen(buf), &lim, &v), 1);
	cr_assert_eq(v.status, 400, "%s", v.detail);
	cr_assert_not_null(strstr(v.detail, "Host"), "%s", v.detail);

	/* On the 23rd it is. */
	head_with_host_after(buf, sizeof(buf), 22);
	cr_assert_eq(reqhead_judge(buf, strlen(buf), &lim, &v), 1);
	cr_assert_eq(v.status, 0, "%s", v.detail);
}

/*
 * Heads built from random pieces, each in a buffer of exactly its
 * length (under SANITIZE=1 a read past it is an error): every verdict
 * is one of the statuses above and its strings are terminated.
 */
Test(reqhead, random_heads_stay_inside_their_buffer)
{
	static const char	*pieces[] = {
		"GET", "PATCH", "post", " ", "  ", "/x", "/\xff", "HTTP/1.1",
		"HTTP/1.0", "\r\n", "\n", "\r", ":", "Host", "host: a",
		"Content-Length", "Content-Length: 12", ": 99999999999", "\t",
		"X-A", "caf\xc3\xa9", "", "\r\n\r\n", "\n\n", "0123456789",
	};
	static const int	 statuses[] = {
		0, 400, 405, 411, 413, 414, 431, 501, 505,
	};
	struct reqhead_verdict	 v;
	char			 head[512], *buf;
	size_t			 len, i, k;
	int			 round, ok;

	srandom(20261127);
	for (round = 0; round < 20000; round++) {
		len = 0;
		for (k = (size_t)(random() % 24); k > 0; k--) {
			i = (size_t)random() % NELEM(pieces);
			if (len + strlen(pieces[i]) >= sizeof(head))
				break;
			memcpy(head + len, pieces[i], strlen(pieces[i]));
			len += strlen(pieces[i]);
		}
		cr_assert_not_null(buf = malloc(len > 0 ? len : 1));
		memcpy(buf, head, len);

		if (reqhead_judge(buf, len, &lim, &v) == 1) {
			for (i = ok = 0; i < NELEM(statuses); i++)
				ok |= v.status == statuses[i];
			cr_assert(ok, "status %d for %.*s", v.status, (int)len,
			    head);
			cr_assert_lt(strlen(v.detail), sizeof(v.detail));
			cr_assert_lt(strlen(v.target), sizeof(v.target));
			cr_assert_lt(strlen(v.method), sizeof(v.method));
		}
		free(buf);
	}
}

/* An absolute-form target becomes origin-form; what follows it moves. */
Test(reqhead, an_absolute_form_target_is_rewritten_to_origin_form)
{
	static const struct {
		const char	*in;
		const char	*out;
	} rw[] = {
		{ "GET http://h:8080/a/b?c=1 HTTP/1.1\r\n" HOST "\r\n",
		    "GET /a/b?c=1 HTTP/1.1\r\n" HOST "\r\n" },
		{ "\r\nget HTTPS://h HTTP/1.1\r\n" HOST "\r\n",
		    "\r\nget / HTTP/1.1\r\n" HOST "\r\n" },
		{ "GET http://h?q HTTP/1.1\r\n" HOST "\r\n",
		    "GET /?q HTTP/1.1\r\n" HOST "\r\n" },
		{ "PATCH http://h/p HTTP/1.1\r\n" HOST "Content-Length: 2"
		    "\r\n\r\n{}", "PATCH /p HTTP/1.1\r\n" HOST
		    "Content-Length: 2\r\n\r\n{}" },
		{ "GET /a HTTP/1.1\r\n" HOST "\r\n",
		    "GET /a HTTP/1.1\r\n" HOST "\r\n" },
	};
	char		buf[256];
	size_t		i, n;

	for (i = 0; i < NELEM(rw); i++) {
		n = strlen(rw[i].in);
		memcpy(buf, rw[i].in, n);
		n = reqhead_origin_form(buf, n);
		cr_assert_eq(n, strlen(rw[i].out), "case %zu: %zu bytes", i, n);
		cr_assert_eq(memcmp(buf, rw[i].out, n), 0, "case %zu: %.*s", i,
		    (int)n, buf);
	}
}

/* The length of a fine request: its head, and its body if kore reads it. */
Test(reqhead, a_fine_request_has_its_length)
{
	static const char	*get = "\r\nGET /a HTTP/1.1\r\n" HOST "\r\n";
	static const char	*patch = "PATCH /p HTTP/1.1\r\n" HOST
				    "Content-Length: 2\r\n\r\n";
	struct reqhead_verdict	 v;
	char			 buf[128];

	cr_assert_eq(reqhead_judge(get, strlen(get), &lim, &v), 1);
	cr_assert_eq(v.length, strlen(get));
	(void)snprintf(buf, sizeof(buf), "%s{}GET /", patch);
	cr_assert_eq(reqhead_judge(buf, strlen(buf), &lim, &v), 1);
	cr_assert_eq(v.status, 0);
	cr_assert_eq(v.length, strlen(patch) + 2);
}

/*
 * A 100 Continue is owed to an HTTP/1.1 request with a body and Expect:
 * 100-continue; not without a body, nor to HTTP/1.0 (RFC 9110 10.1.1).
 */
Test(reqhead, a_100_continue_is_owed_only_before_a_body)
{
	static const struct {
		const char	*head;
		int		 owed;
	} heads[] = {
		{ "PATCH /p HTTP/1.1\r\n" HOST "Expect: 100-continue\r\n"
		    "Content-Length: 2\r\n\r\n", 1 },
		{ "PATCH /p HTTP/1.1\r\n" HOST "Content-Length: 2\r\n\r\n",
		    0 },
		{ "PATCH /p HTTP/1.1\r\n" HOST "Expect: 100-continue\r\n"
		    "Content-Length: 0\r\n\r\n", 0 },
		{ "GET /x HTTP/1.1\r\n" HOST "Expect: 100-continue\r\n"
		    "\r\n", 0 },
		{ "POST /p HTTP/1.0\r\n" HOST "Expect: 100-continue\r\n"
		    "Content-Length: 2\r\n\r\n", 0 },
	};
	struct reqhead_verdict	v;
	size_t			i;

	for (i = 0; i < NELEM(heads); i++) {
		cr_assert_eq(reqhead_judge(heads[i].head,
		    strlen(heads[i].head), &lim, &v), 1, "head %zu", i);
		cr_assert_eq(v.status, 0, "head %zu: %s", i, v.detail);
		cr_assert_eq(v.continue_100, heads[i].owed, "head %zu", i);
		cr_assert_eq(v.head_length, strlen(heads[i].head),
		    "head %zu", i);
	}
}

/* Connection: close goes in as the first header line, if it fits. */
Test(reqhead, connection_close_is_added_after_the_request_line)
{
	static const char	*in = "\r\nGET /a HTTP/1.1\r\n" HOST "\r\n";
	static const char	*out = "\r\nGET /a HTTP/1.1\r\n"
				    "Connection: close\r\n" HOST "\r\n";
	char			 buf[128];
	size_t			 n;

	memcpy(buf, in, strlen(in));
	n = reqhead_add_close(buf, strlen(in), sizeof(buf));
	cr_assert_eq(n, strlen(out));
	cr_assert_eq(memcmp(buf, out, n), 0, "%.*s", (int)n, buf);

	memcpy(buf, in, strlen(in));
	cr_assert_eq(reqhead_add_close(buf, strlen(in), strlen(out) - 1), 0);
}
