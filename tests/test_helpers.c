/*
 * test_helpers: unit tests of the shared helper modules (Criterion):
 * src/utf8.c, src/fnv.c, src/dblfmt.c, src/strbuf.c and src/xalloc.c.
 *
 * UTF-8: every well-formed length is decoded to its code point; the
 * overlong forms, surrogates, values past U+10FFFF, stray continuation
 * bytes and truncated sequences are refused, and the offset of the
 * first bad byte is reported.  FNV-1a: the published test vectors (the
 * API's cursors carry this hash, so it must never change).  Doubles:
 * the shortest form reads back exactly, is never longer than needed,
 * and keeps printf's notation of that shortest precision.  strbuf: it
 * grows across its first allocation, stays NUL-terminated, holds NUL
 * bytes, truncates and hands its data over.  xalloc: running out of
 * memory aborts with a message.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dblfmt.h"
#include "fnv.h"
#include "strbuf.h"
#include "utf8.h"
#include "xalloc.h"

/* --- utf8 --------------------------------------------------------------- */

Test(utf8, decodes_each_length)
{
	static const struct {
		const char	*s;
		size_t		 n;
		uint32_t	 cp;
	} ok[] = {
		{ "A", 1, 0x41 },
		{ "\x7f", 1, 0x7f },
		{ "\xc2\x80", 2, 0x80 },
		{ "\xc3\xa9", 2, 0xe9 },
		{ "\xdf\xbf", 2, 0x7ff },
		{ "\xe0\xa0\x80", 3, 0x800 },
		{ "\xe2\x82\xac", 3, 0x20ac },
		{ "\xed\x9f\xbf", 3, 0xd7ff },
		{ "\xee\x80\x80", 3, 0xe000 },
		{ "\xef\xbf\xbf", 3, 0xffff },
		{ "\xf0\x90\x80\x80", 4, 0x10000 },
		{ "\xf0\x9f\x98\x80", 4, 0x1f600 },
		{ "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
	};
	uint32_t	cp;
	size_t		i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cp = 0xffffffff;
		cr_expect_eq(utf8_decode(ok[i].s, strlen(ok[i].s), &cp),
		    ok[i].n, "length of case %zu", i);
		cr_expect_eq(cp, ok[i].cp, "code point of case %zu", i);
		cr_expect_eq(utf8_decode(ok[i].s, strlen(ok[i].s), NULL),
		    ok[i].n);
	}
	cr_expect_eq(utf8_decode("", 0, &cp), 0);
	/* A NUL byte is a well-formed one-byte sequence. */
	cr_expect_eq(utf8_decode("\0", 1, &cp), 1);
	cr_expect_eq(cp, 0);
}

Test(utf8, refuses_malformed)
{
	static const char	*bad[] = {
		"\x80",			/* continuation without a lead */
		"\xbf",
		"\xc0\x80",		/* overlong NUL */
		"\xc1\xbf",		/* overlong U+7F */
		"\xe0\x9f\xbf",		/* overlong U+7FF */
		"\xf0\x8f\xbf\xbf",	/* overlong U+FFFF */
		"\xed\xa0\x80",		/* U+D800 */
		"\xed\xbf\xbf",		/* U+DFFF */
		"\xf4\x90\x80\x80",	/* U+110000 */
		"\xf8\x88\x80\x80\x80",	/* 5-byte form */
		"\xfe",
		"\xff",
		"\xc3",			/* truncated */
		"\xe2\x82",
		"\xf0\x9f\x98",
		"\xc3\x28",		/* lead, then not a continuation */
		"\xe2\x28\xa1",
	};
	size_t		i;
	uint32_t	cp;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(utf8_decode(bad[i], strlen(bad[i]), &cp), 0,
		    "case %zu decoded", i);
		cr_expect_not(utf8_valid(bad[i], strlen(bad[i]), NULL),
		    "case %zu valid", i);
	}
	/* The length bounds the sequence, not the NUL after it. */
	cr_expect_eq(utf8_decode("\xc3\xa9", 1, &cp), 0);
}

Test(utf8, valid_reports_first_bad_byte)
{
	const char	*s = "ok \xc3\xa9 \xe2\x82\xac then \xed\xa0\x80 x";
	size_t		 bad;

	bad = 99;
	cr_expect(utf8_valid("caf\xc3\xa9", 5, &bad));
	cr_expect_eq(bad, 99, "bad written on success");
	cr_expect(utf8_valid("", 0, NULL));
	cr_expect_not(utf8_valid(s, strlen(s), &bad));
	cr_expect_eq(bad, (size_t)(strstr(s, "\xed") - s));
}

Test(utf8, count_counts_code_points)
{
	cr_expect_eq(utf8_count(""), 0);
	cr_expect_eq(utf8_count("abc"), 3);
	cr_expect_eq(utf8_count("caf\xc3\xa9"), 4);
	cr_expect_eq(utf8_count("\xe2\x82\xac\xf0\x9f\x98\x80!"), 3);
}

/* --- fnv ---------------------------------------------------------------- */

Test(fnv, published_vectors)
{
	cr_expect_eq(fnv1a64("", 0), 0xcbf29ce484222325ULL);
	cr_expect_eq(fnv1a64("a", 1), 0xaf63dc4c8601ec8cULL);
	cr_expect_eq(fnv1a64("foobar", 6), 0x85944171f73967e8ULL);
	/* Bytes, not characters: the high bit is not sign-extended. */
	cr_expect_neq(fnv1a64("\xff", 1), fnv1a64("\x7f", 1));
	cr_expect_eq(fnv1a64("a\0b", 3), fnv1a64("a\0b", 3));
	cr_expect_neq(fnv1a64("a\0b", 3), fnv1a64("a", 1));
}

/* --- dblfmt ------------------------------------------------------------- */

static void
expect_shortest(double v, const char *want)
{
	char		buf[DBLFMT_MAX];
	size_t		n;

	n = dblfmt_shortest(buf, sizeof(buf), v);
	cr_expect_str_eq(buf, want, "%.17g", v);
	cr_expect_eq(n, strlen(buf));
}

Test(dblfmt, known_forms)
{
	expect_shortest(0.1, "0.1");
	expect_shortest(0.5, "0.5");
	expect_shortest(0.005, "0.005");
	expect_shortest(1.5, "1.5");
	expect_shortest(-2.25, "-2.25");
	expect_shortest(0.1 + 0.2, "0.30000000000000004");
	/* 16 digits suffice: never the 17 of %.17g. */
	expect_shortest(0.1 + 0.7, "0.7999999999999999");
	expect_shortest(1e-05, "1e-05");
	expect_shortest(123456.5, "123456.5");
	/* The notation of the shortest precision, as %g writes it. */
	expect_shortest(1.0, "1");
	expect_shortest(100.0, "1e+02");
	expect_shortest(1e10, "1e+10");
	expect_shortest(-1e10, "-1e+10");
	expect_shortest(1e300, "1e+300");
	expect_shortest(0.0, "0");
	expect_shortest(-0.0, "-0");
	expect_shortest(5e-324, "5e-324");
	expect_shortest(DBL_MAX, "1.7976931348623157e+308");
	expect_shortest(NAN, "NaN");
	expect_shortest(INFINITY, "+Inf");
	expect_shortest(-INFINITY, "-Inf");
}

/* The form the loop over every precision 1..17 finds. */
static void
shortest_by_loop(double v, char *buf, size_t len)
{
	int		prec;

	for (prec = 1; prec < 17; prec++) {
		(void)snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
	(void)snprintf(buf, len, "%.17g", v);
}

Test(dblfmt, same_as_trying_every_precision)
{
	char		got[DBLFMT_MAX], want[DBLFMT_MAX];
	double		v;
	uint64_t	x;
	int		i;

	x = 0x9e3779b97f4a7c15ULL;
	for (i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		switch (i % 4) {
		case 0:		/* any bit pattern */
			memcpy(&v, &x, sizeof(v));
			break;
		case 1:		/* a few decimal digits */
			v = (double)(x % 100000) / 1000.0;
			break;
		case 2:		/* integers and their multiples of ten */
			v = (double)(x % 1000) * pow(10, (double)(x >> 60));
			break;
		default:	/* subnormals */
			v = (double)(x % 1000000) * 5e-324;
			break;
		}
		if (isnan(v) || isinf(v))
			continue;
		(void)dblfmt_shortest(got, sizeof(got), v);
		shortest_by_loop(v, want, sizeof(want));
		cr_assert_str_eq(got, want, "bits %016llx",
		    (unsigned long long)x);
		cr_assert(strtod(got, NULL) == v);
	}
}

/* --- strbuf ------------------------------------------------------------- */

Test(strbuf, grows_and_stays_terminated)
{
	struct strbuf	sb;
	char		*p;
	size_t		i, len, want;

	strbuf_init(&sb, 0);
	cr_expect_null(sb.data);
	cr_expect_eq(sb.len, 0);
	for (i = 0, want = 0; i < 10000; i++) {
		strbuf_add(&sb, "0123456789", i % 11);
		want += i % 11;
	}
	cr_expect_eq(sb.len, want);
	cr_expect_eq(sb.data[sb.len], '\0');
	cr_expect(sb.cap > sb.len);
	cr_expect_eq(memcmp(sb.data, "0" "01" "012" "0123", 10), 0);

	strbuf_truncate(&sb, 3);
	cr_expect_str_eq(sb.data, "001");
	strbuf_truncate(&sb, 10);
	cr_expect_eq(sb.len, 3, "truncate must not lengthen");
	strbuf_str(&sb, "-x");
	strbuf_printf(&sb, "|%d|%s|%05.1f", -42, "ab", 2.25);
	cr_expect_str_eq(sb.data, "001-x|-42|ab|002.2");

	p = strbuf_steal(&sb, &len);
	cr_expect_str_eq(p, "001-x|-42|ab|002.2");
	cr_expect_eq(len, strlen(p));
	cr_expect_null(sb.data);
	cr_expect_eq(sb.len, 0);
	free(p);
	strbuf_free(&sb);
}

Test(strbuf, holds_binary_and_empty)
{
	struct strbuf	sb;
	char		*p;
	size_t		len;

	strbuf_init(&sb, 4);
	cr_expect_not_null(sb.data, "a hint reserves at once");
	cr_expect_str_eq(sb.data, "");
	strbuf_add(&sb, "a\0b\0", 4);
	strbuf_add(&sb, NULL, 0);
	cr_expect_eq(sb.len, 4);
	cr_expect_eq(memcmp(sb.data, "a\0b\0", 5), 0);
	strbuf_free(&sb);

	/* An empty buffer still hands over a string. */
	strbuf_init(&sb, 0);
	p = strbuf_steal(&sb, &len);
	cr_assert_not_null(p);
	cr_expect_str_eq(p, "");
	cr_expect_eq(len, 0);
	free(p);

	/* A long printf grows the buffer in one step. */
	strbuf_init(&sb, 0);
	strbuf_printf(&sb, "%5000d", 7);
	cr_expect_eq(sb.len, 5000);
	cr_expect_eq(sb.data[4999], '7');
	cr_expect_eq(sb.data[5000], '\0');
	strbuf_free(&sb);
}

/* --- xalloc ------------------------------------------------------------- */

Test(xalloc, allocates)
{
	char		*p;
	int		*v;

	p = xmalloc(0, "zero");
	cr_expect_not_null(p);
	free(p);
	v = xcalloc(16, sizeof(*v), "ints");
	cr_expect_eq(v[15], 0);
	v = xreallocarray(v, 1024, sizeof(*v), "more ints");
	cr_expect_eq(v[15], 0);
	free(v);
	p = xstrdup("copy", "copy");
	cr_expect_str_eq(p, "copy");
	free(p);
}

/* Out of memory: the process aborts, naming what it allocated. */
Test(xalloc, out_of_memory_aborts)
{
	int		fds[2], status;
	char		msg[256];
	ssize_t		n;
	pid_t		pid;

	cr_assert_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		(void)dup2(fds[1], STDERR_FILENO);
		(void)xreallocarray(NULL, SIZE_MAX / 2, 4, "the impossible");
		_exit(0);
	}
	cr_assert_gt(pid, 0);
	(void)close(fds[1]);
	n = read(fds[0], msg, sizeof(msg) - 1);
	(void)close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
	    "status %d", status);
	cr_assert_gt(n, 0);
	msg[n] = '\0';
	cr_expect_not_null(strstr(msg, "out of memory (the impossible)"),
	    "%s", msg);
}
