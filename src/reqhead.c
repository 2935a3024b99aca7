/*
 * reqhead: judge a request head by kore's limits (see reqhead.h).
 */

#include <sys/param.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "reqhead.h"

/* Longest Content-Length taken as a number: 10^19 > 2^63. */
#define REQHEAD_LENGTH_DIGITS	19

struct reqhead_method {
	const char	*name;
	int		 body;		/* kore expects a body */
	int		 http10;	/* kore allows it on HTTP/1.0 */
};

static const struct reqhead_method reqhead_methods[] = {
	{ "GET",	0, 1 },
	{ "HEAD",	0, 1 },
	{ "OPTIONS",	0, 0 },
	{ "DELETE",	0, 0 },
	{ "POST",	1, 1 },
	{ "PUT",	1, 0 },
	{ "PATCH",	1, 0 },
};

#define REQHEAD_METHODS	(sizeof(reqhead_methods) / sizeof(reqhead_methods[0]))

/* The request line, split as kore splits it. */
struct reqhead_line {
	const char	*tok[3];
	size_t		 toklen[3];
	const struct reqhead_method *method;
};

/* What the header lines kore reads say. */
struct reqhead_fields {
	int			host;
	int			hosts;		/* lines named Host */
	int			encodings;	/* Transfer-Encoding lines */
	int			lengths;	/* Content-Length lines */
	int			length_ok;	/* the first is a number */
	unsigned long long	length;
	int			expects;	/* Expect: 100-continue lines */
	int			expects_other;	/* any other Expect */
};

static size_t	reqhead_end(const char *, size_t);
static size_t	reqhead_line_len(const char *, size_t);
static size_t	reqhead_empty_line(const char *, size_t);
static int	reqhead_split(const char *, size_t, struct reqhead_line *);
static void	reqhead_name_method(struct reqhead_line *,
		    struct reqhead_verdict *);
static int	reqhead_check_line(const struct reqhead_line *,
		    const struct reqhead_limits *, struct reqhead_verdict *);
static int	reqhead_check_target(const struct reqhead_line *,
		    struct reqhead_verdict *);
static size_t	reqhead_absolute(const char *, size_t);
static const char *reqhead_next_line(const char **, const char *,
		    size_t *);
static int	reqhead_check_fields(const char *, size_t,
		    const struct reqhead_limits *, struct reqhead_fields *,
		    struct reqhead_verdict *);
static int	reqhead_field(const char *, size_t, size_t,
		    struct reqhead_fields *, struct reqhead_verdict *);
static int	reqhead_check_body(const struct reqhead_line *,
		    const struct reqhead_fields *,
		    const struct reqhead_limits *, struct reqhead_verdict *);
static int	reqhead_length(const char *, size_t, unsigned long long *);
static void	reqhead_expect(const char *, size_t, struct reqhead_fields *);
static int	reqhead_tchar(char);
static int	reqhead_refuse(struct reqhead_verdict *, int, const char *,
		    ...) __attribute__((format(printf, 3, 4)));

int
reqhead_judge(const char *buf, size_t len, const struct reqhead_limits *lim,
    struct reqhead_verdict *v)
{
	struct reqhead_line	rl;
	struct reqhead_fields	f;
	size_t			headlen, linelen, skip;
	int			whole;

	memset(v, 0, sizeof(*v));
	(void)snprintf(v->method, sizeof(v->method), "OTHER");

	skip = reqhead_empty_line(buf, len);
	buf += skip;
	len -= skip;
	if (reqhead_empty_line(buf, len) != 0) {
		return (reqhead_refuse(v, 400, "the request line is empty, "
		    "not METHOD TARGET VERSION"));
	}
	if ((headlen = reqhead_end(buf, len)) == 0 &&
	    len + skip < lim->head_max)
		return (0);

	linelen = reqhead_line_len(buf, headlen != 0 ? headlen : len);
	whole = reqhead_split(buf, linelen, &rl);
	reqhead_name_method(&rl, v);

	if (headlen == 0) {
		return (reqhead_refuse(v, 431, "the request head is over %zu "
		    "bytes", lim->head_max));
	}
	if (!whole) {
		v->target[0] = '\0';
		return (reqhead_refuse(v, 400, "the request line is not "
		    "METHOD TARGET VERSION"));
	}
	if (reqhead_check_line(&rl, lim, v) ||
	    reqhead_check_fields(buf, headlen, lim, &f, v))
		return (1);

	if (reqhead_check_body(&rl, &f, lim, v))
		return (1);
	v->head_length = skip + headlen;
	v->length = v->head_length + (rl.method->body ? f.length : 0);
	/* RFC 9110 10.1.1: an HTTP/1.0 client's 100-continue is ignored. */
	v->continue_100 = f.expects > 0 && rl.method->body && f.length > 0 &&
	    rl.tok[2][7] == '1';
	return (1);
}

size_t
reqhead_origin_form(char *buf, size_t len)
{
	struct reqhead_line	 rl;
	char			*t;
	size_t			 skip, cut, rest;

	skip = reqhead_empty_line(buf, len);
	if (!reqhead_split(buf + skip, reqhead_line_len(buf + skip,
	    len - skip), &rl) || (cut = reqhead_absolute(rl.tok[1],
	    rl.toklen[1])) == 0)
		return (len);

	/* No path: the last byte of the authority becomes the "/". */
	t = (char *)rl.tok[1];
	if (cut == rl.toklen[1] || t[cut] == '?')
		t[--cut] = '/';
	rest = len - (size_t)(t + cut - buf);
	memmove(t, t + cut, rest);

	return (len - cut);
}

size_t
reqhead_add_close(char *buf, size_t len, size_t cap)
{
	static const char	 field[] = "Connection: close\r\n";
	const char		*nl;
	size_t			 at, n;

	n = sizeof(field) - 1;
	if (len + n > cap ||
	    (nl = memchr(buf + reqhead_empty_line(buf, len), '\n',
	    len - reqhead_empty_line(buf, len))) == NULL)
		return (0);
	at = (size_t)(nl + 1 - buf);
	memmove(buf + at + n, buf + at, len - at);
	memcpy(buf + at, field, n);

	return (len + n);
}

/* Bytes up to and with the blank line that ends the head, or 0. */
static size_t
reqhead_end(const char *buf, size_t len)
{
	const char	*p;

	if ((p = memmem(buf, len, "\r\n\r\n", 4)) != NULL)
		return ((size_t)(p - buf) + 4);
	if ((p = memmem(buf, len, "\n\n", 2)) != NULL)
		return ((size_t)(p - buf) + 2);

	return (0);
}

/*
 * One empty line before the request line is ignored (RFC 9112 2.2; a
 * client may send a CR LF after a body).  kore ignores it as well; a
 * second one makes an empty request line, a 400 there and here.
 */
static size_t
reqhead_empty_line(const char *buf, size_t len)
{
	if (len >= 2 && buf[0] == '\r' && buf[1] == '\n')
		return (2);
	if (len >= 1 && buf[0] == '\n')
		return (1);

	return (0);
}

/* Length of the first line, without its CR LF. */
static size_t
reqhead_line_len(const char *buf, size_t len)
{
	const char	*nl;
	size_t		 n;

	n = (nl = memchr(buf, '\n', len)) != NULL ? (size_t)(nl - buf) : len;
	if (n > 0 && buf[n - 1] == '\r')
		n--;

	return (n);
}

/*
 * Split the request line at spaces; 1 if it has exactly 3 parts.  kore
 * ignores anything after a third; RFC 9112 makes that a bad request.
 */
static int
reqhead_split(const char *line, size_t len, struct reqhead_line *rl)
{
	size_t		i, start;
	int		n;

	memset(rl, 0, sizeof(*rl));
	n = 0;
	for (i = 0; i < len; i = start) {
		while (i < len && line[i] == ' ')
			i++;
		for (start = i; start < len && line[start] != ' '; start++)
			;
		if (start == i)
			break;
		if (n == 3)
			return (0);
		rl->tok[n] = line + i;
		rl->toklen[n++] = start - i;
	}

	return (n == 3);
}

/* Find the method and fill the verdict's method label and target. */
static void
reqhead_name_method(struct reqhead_line *rl, struct reqhead_verdict *v)
{
	size_t		i;

	for (i = 0; rl->tok[0] != NULL && i < REQHEAD_METHODS; i++) {
		if (rl->toklen[0] == strlen(reqhead_methods[i].name) &&
		    strncasecmp(rl->tok[0], reqhead_methods[i].name,
		    rl->toklen[0]) == 0) {
			rl->method = &reqhead_methods[i];
			(void)snprintf(v->method, sizeof(v->method), "%s",
			    rl->method->name);
		}
	}

	if (rl->tok[1] == NULL || rl->toklen[1] >= sizeof(v->target))
		return;
	for (i = 0; i < rl->toklen[1]; i++) {
		if (rl->tok[1][i] <= ' ' || rl->tok[1][i] > '~')
			return;
	}
	memcpy(v->target, rl->tok[1], rl->toklen[1]);
	v->target[rl->toklen[1]] = '\0';
}

/* Method, target length and version, as kore checks them. */
static int
reqhead_check_line(const struct reqhead_line *rl,
    const struct reqhead_limits *lim, struct reqhead_verdict *v)
{
	if (rl->method == NULL) {
		return (reqhead_refuse(v, 501, "the method is none of GET, "
		    "HEAD, OPTIONS, DELETE, POST, PUT, PATCH"));
	}
	if (rl->toklen[1] > lim->target_max) {
		v->target[0] = '\0';
		return (reqhead_refuse(v, 414, "the request target is over "
		    "%zu bytes", lim->target_max));
	}
	if (rl->toklen[2] != 8 ||
	    (strncasecmp(rl->tok[2], "HTTP/1.1", 8) != 0 &&
	    strncasecmp(rl->tok[2], "HTTP/1.0", 8) != 0)) {
		return (reqhead_refuse(v, 505, "only HTTP/1.0 and HTTP/1.1 "
		    "are served"));
	}
	if (rl->tok[2][7] == '0' && !rl->method->http10) {
		return (reqhead_refuse(v, 405, "HTTP/1.0 allows only GET, "
		    "HEAD and POST here"));
	}

	return (reqhead_check_target(rl, v));
}

/*
 * The forms of target kore can route (RFC 9112 3.2): origin-form, and
 * absolute-form, which intake rewrites to origin-form with
 * reqhead_origin_form.  kore cuts a target at a NUL and answers its
 * bare 404 to any other form.
 */
static int
reqhead_check_target(const struct reqhead_line *rl, struct reqhead_verdict *v)
{
	const char	*t;
	size_t		 i, n;

	t = rl->tok[1];
	n = rl->toklen[1];
	for (i = 0; i < n; i++) {
		if ((unsigned char)t[i] < 0x21 || t[i] == 0x7f) {
			return (reqhead_refuse(v, 400, "the request target "
			    "has a control character"));
		}
	}
	if (t[0] == '/' || reqhead_absolute(t, n) != 0)
		return (0);
	if (n == 1 && t[0] == '*' && strcmp(rl->method->name, "OPTIONS") == 0)
		return (reqhead_refuse(v, 501, "OPTIONS * (the server as a "
		    "whole) is not served; ask a resource"));

	return (reqhead_refuse(v, 400, "the request target must start with / "
	    "or be an absolute http or https URI"));
}

/* Length of the "http://authority" a target starts with, or 0. */
static size_t
reqhead_absolute(const char *t, size_t n)
{
	size_t		i, scheme;

	if (n > 7 && strncasecmp(t, "http://", 7) == 0)
		scheme = 7;
	else if (n > 8 && strncasecmp(t, "https://", 8) == 0)
		scheme = 8;
	else
		return (0);
	for (i = scheme; i < n && t[i] != '/' && t[i] != '?'; i++)
		;

	return (i > scheme ? i : 0);
}

/* Next line of a head, split at CR and at LF as kore splits; or NULL. */
static const char *
reqhead_next_line(const char **p, const char *end, size_t *len)
{
	const char	*line;

	while (*p < end && (**p == '\r' || **p == '\n'))
		(*p)++;
	if (*p == end)
		return (NULL);
	for (line = *p; *p < end && **p != '\r' && **p != '\n'; (*p)++)
		;
	*len = (size_t)(*p - line);

	return (line);
}

/*
 * The header lines kore reads (the first header_lines), checked as kore
 * checks them: NAME ":" VALUE with a token for the name and a value
 * that is not empty and has only visible ASCII and spaces, and a Host;
 * and RFC 9112's rules kore lacks: one Host only (3.2), no
 * Content-Length together with Transfer-Encoding (6.1, smuggling), and
 * no expectation other than 100-continue (RFC 9110 10.1.1: a 417).
 */
static int
reqhead_check_fields(const char *head, size_t len,
    const struct reqhead_limits *lim, struct reqhead_fields *f,
    struct reqhead_verdict *v)
{
	const char	*p, *end, *line;
	size_t		 n, i;

	memset(f, 0, sizeof(*f));
	p = head;
	end = head + len;
	(void)reqhead_next_line(&p, end, &n);
	for (i = 1; i <= lim->header_lines &&
	    (line = reqhead_next_line(&p, end, &n)) != NULL; i++) {
		if (reqhead_field(line, n, i, f, v))
			return (1);
	}

	if (!f->host)
		return (reqhead_refuse(v, 400, "a Host header is required"));
	if (f->hosts > 1)
		return (reqhead_refuse(v, 400, "more than one Host header"));
	if (f->encodings > 0 && f->lengths > 0) {
		return (reqhead_refuse(v, 400, "Content-Length together with "
		    "Transfer-Encoding"));
	}
	if (f->expects_other) {
		return (reqhead_refuse(v, 417, "the only expectation met is "
		    "Expect: 100-continue"));
	}

	return (0);
}

static int
reqhead_field(const char *line, size_t n, size_t lineno,
    struct reqhead_fields *f, struct reqhead_verdict *v)
{
	size_t		name, value, i;

	for (name = 0; name < n && line[name] != ':'; name++) {
		if (!reqhead_tchar(line[name]))
			return (reqhead_refuse(v, 400, "header line %zu is not "
			    "NAME: VALUE", lineno));
	}
	if (name == n)
		return (reqhead_refuse(v, 400, "header line %zu has no colon",
		    lineno));

	for (value = name + 1; value < n &&
	    isspace((unsigned char)line[value]); value++)
		;
	if (value == n) {
		return (reqhead_refuse(v, 400, "header %.*s has no value",
		    (int)MIN(name, 64), line));
	}
	for (i = value; i < n; i++) {
		if (line[i] < ' ' || line[i] > '~')
			return (reqhead_refuse(v, 400, "header %.*s has a "
			    "character other than visible ASCII and space",
			    (int)MIN(name, 64), line));
	}

	/* kore takes the first line that starts with "host" as the Host. */
	if (name == 4 && strncasecmp(line, "host", 4) == 0)
		f->hosts++;
	if (name == 17 && strncasecmp(line, "transfer-encoding", 17) == 0)
		f->encodings++;
	if (name == 6 && strncasecmp(line, "expect", 6) == 0)
		reqhead_expect(line + value, n - value, f);
	if (!f->host && n >= 4 && strncasecmp(line, "host", 4) == 0) {
		f->host = 1;
	} else if (name == 14 && strncasecmp(line, "content-length", 14) == 0) {
		f->lengths++;
		f->length_ok = reqhead_length(line + value, n - value,
		    &f->length);
	}

	return (0);
}

/* A method with a body needs one Content-Length within body_max. */
static int
reqhead_check_body(const struct reqhead_line *rl,
    const struct reqhead_fields *f, const struct reqhead_limits *lim,
    struct reqhead_verdict *v)
{
	if (!rl->method->body)
		return (0);

	if (f->lengths == 0) {
		return (reqhead_refuse(v, 411, "a %s needs a Content-Length "
		    "header; chunked bodies are not accepted",
		    rl->method->name));
	}
	if (f->lengths > 1)
		return (reqhead_refuse(v, 400, "more than one Content-Length "
		    "header"));
	if (!f->length_ok)
		return (reqhead_refuse(v, 400, "Content-Length is not a byte "
		    "count"));
	if (f->length > lim->body_max) {
		return (reqhead_refuse(v, 413, "the body is %llu bytes; at "
		    "most %zu are accepted", f->length, lim->body_max));
	}

	return (0);
}

/* A Content-Length value: decimal digits only, as kore parses it. */
static int
reqhead_length(const char *p, size_t n, unsigned long long *out)
{
	size_t		i;

	*out = 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9' || i == REQHEAD_LENGTH_DIGITS)
			return (0);
		*out = *out * 10 + (unsigned long long)(p[i] - '0');
	}

	return (n > 0);
}

/* An Expect value: 100-continue (any case, then spaces), or another. */
static void
reqhead_expect(const char *p, size_t n, struct reqhead_fields *f)
{
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 12 && strncasecmp(p, "100-continue", 12) == 0)
		f->expects++;
	else
		f->expects_other = 1;
}

/* RFC 9110 tchar, as kore's token table has it. */
static int
reqhead_tchar(char ch)
{
	if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= 'A' && ch <= 'Z'))
		return (1);

	return (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int
reqhead_refuse(struct reqhead_verdict *v, int status, const char *fmt, ...)
{
	va_list		ap;

	v->status = status;
	va_start(ap, fmt);
	(void)vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);

	return (1);
}
