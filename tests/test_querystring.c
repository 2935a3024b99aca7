/*
 * test_querystring: unit tests of src/querystring.c (Criterion).
 *
 * Percent-decoding with '+' as a space, refusing a bad escape and %00;
 * quoting cut with "..." and non-printable bytes shown as '?'; and the
 * parser: each known parameter reaches its parse function decoded,
 * empty pairs are skipped, and an unknown, repeated, empty or
 * undecodable parameter is refused with a detail that names it, as is
 * what the parse function refuses.
 */

#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "querystring.h"

struct seen {
	char		a[64];
	char		b[64];
	int		calls;
};

static int	take_a(void *, char *, char *, size_t);
static int	take_b(void *, char *, char *, size_t);

static const struct querystring_param params[] = {
	{ "a",		take_a },
	{ "bee",	take_b },
};

#define NPARAMS		(sizeof(params) / sizeof(params[0]))

static int
take_a(void *arg, char *v, char *detail, size_t len)
{
	struct seen	*s = arg;

	(void)detail;
	(void)len;
	s->calls++;
	(void)snprintf(s->a, sizeof(s->a), "%s", v);

	return (0);
}

/* Refuses "no", to show that a parse function's detail is kept. */
static int
take_b(void *arg, char *v, char *detail, size_t len)
{
	struct seen	*s = arg;

	s->calls++;
	if (strcmp(v, "no") == 0) {
		(void)snprintf(detail, len, "bee: no");
		return (-1);
	}
	(void)snprintf(s->b, sizeof(s->b), "%s", v);

	return (0);
}

static int
parse(const char *query, struct seen *s, char *detail, size_t len)
{
	memset(s, 0, sizeof(*s));
	detail[0] = '\0';

	return (querystring_parse(query, params, NPARAMS, "a, bee", s,
	    detail, len));
}

Test(querystring, unescape)
{
	char		s[64];

	(void)snprintf(s, sizeof(s), "a+b%%2Bc%%20d%%e2%%82%%ac");
	cr_assert_eq(querystring_unescape(s), 0);
	cr_expect_str_eq(s, "a b+c d\xe2\x82\xac");

	(void)snprintf(s, sizeof(s), "%s", "");
	cr_expect_eq(querystring_unescape(s), 0);
	cr_expect_str_eq(s, "");

	(void)snprintf(s, sizeof(s), "%s", "x%4");
	cr_expect_eq(querystring_unescape(s), -1);
	(void)snprintf(s, sizeof(s), "%s", "x%zz");
	cr_expect_eq(querystring_unescape(s), -1);
	(void)snprintf(s, sizeof(s), "%s", "x%00y");
	cr_expect_eq(querystring_unescape(s), -1);
}

Test(querystring, quote)
{
	char		buf[QUERYSTRING_QUOTE_MAX], small[8];

	querystring_quote("plain", buf, sizeof(buf));
	cr_expect_str_eq(buf, "plain");
	querystring_quote("a\tb\x80", buf, sizeof(buf));
	cr_expect_str_eq(buf, "a?b?");
	querystring_quote("0123456789", small, sizeof(small));
	cr_expect_str_eq(small, "0123...");
	querystring_quote("0123", small, sizeof(small));
	cr_expect_str_eq(small, "0123");
}

Test(querystring, parses_known_parameters)
{
	struct seen	s;
	char		detail[128];

	cr_assert_eq(parse("a=x%2By&&bee=two+words&", &s, detail,
	    sizeof(detail)), 0, "%s", detail);
	cr_expect_str_eq(s.a, "x+y");
	cr_expect_str_eq(s.b, "two words");
	cr_expect_eq(s.calls, 2);

	cr_expect_eq(parse(NULL, &s, detail, sizeof(detail)), 0);
	cr_expect_eq(parse("", &s, detail, sizeof(detail)), 0);
	cr_expect_eq(s.calls, 0);
	cr_expect_eq(querystring_parse(NULL, NULL, 0, NULL, NULL, detail,
	    sizeof(detail)), 0);
}

Test(querystring, refuses_with_a_named_detail)
{
	static const struct {
		const char	*query;
		const char	*detail;
	} bad[] = {
		{ "c=1", "unknown query parameter 'c'; known: a, bee" },
		{ "a=1&a=2", "a: given more than once" },
		{ "a", "a: empty value" },
		{ "a=", "a: empty value" },
		{ "a=%zz", "a: the value is not valid percent-encoding" },
		{ "%zz=1", "query parameter name '%zz' is not valid "
		    "percent-encoding" },
		{ "bee=no", "bee: no" },
	};
	struct seen	s;
	char		detail[128];
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(parse(bad[i].query, &s, detail, sizeof(detail)),
		    -1, "%s", bad[i].query);
		cr_expect_str_eq(detail, bad[i].detail, "%s", bad[i].query);
	}

	cr_expect_eq(querystring_parse("a=1", NULL, 0, NULL, NULL, detail,
	    sizeof(detail)), -1);
	cr_expect_str_eq(detail, "unknown query parameter 'a'; known: none");
}
