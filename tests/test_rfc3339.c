/*
 * test_rfc3339: unit tests of src/rfc3339.c (SPEC §1), the date-time
 * text of occurredAt and of every time the service prints.
 *
 * Covers parsing (table-driven: offsets, fractions, leap seconds and
 * calendar dates, each refusal with its reason, the 0001..9999 bounds)
 * and formatting, with a round trip over the whole range.
 */

#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "rfc3339.h"

struct tcase {
	const char	*text;
	int64_t		ms;
	int		ok;
	const char	*why;
};

static const struct tcase tcases[] = {
	{ "2026-11-27T12:00:00Z", 1795780800000LL, 1, NULL },
	{ "2026-11-27T12:00:00.123Z", 1795780800123LL, 1, NULL },
	{ "2026-11-27t12:00:00.1z", 1795780800100LL, 1, NULL },
	{ "2026-11-27T12:00:00.12Z", 1795780800120LL, 1, NULL },
	{ "2026-11-27T12:00:00.123999999Z", 1795780800123LL, 1, NULL },
	{ "2026-11-27T13:00:00.123+01:00", 1795780800123LL, 1, NULL },
	{ "2026-11-27T06:30:00-05:30", 1795780800000LL, 1, NULL },
	{ "2026-11-27T12:00:00-00:00", 1795780800000LL, 1, NULL },
	{ "2026-11-27T12:00:00+00:00", 1795780800000LL, 1, NULL },
	{ "2026-01-01T00:30:00+01:00", 1767223800000LL, 1, NULL },
	{ "2025-12-31T23:00:00-01:00", 1767225600000LL, 1, NULL },
	{ "2026-11-28T11:59:00+23:59", 1795780800000LL, 1, NULL },
	{ "2024-02-29T00:00:00Z", 1709164800000LL, 1, NULL },
	{ "2000-02-29T23:59:59.999Z", 951868799999LL, 1, NULL },
	{ "1900-03-01T00:00:00Z", -2203891200000LL, 1, NULL },
	{ "1970-01-01T00:00:00Z", 0, 1, NULL },
	{ "1969-12-31T23:59:59.999Z", -1, 1, NULL },
	{ "0001-01-01T00:00:00Z", -62135596800000LL, 1, NULL },
	{ "0000-12-31T23:00:00-01:00", -62135596800000LL, 1, NULL },
	{ "9999-12-31T23:59:59.999Z", 253402300799999LL, 1, NULL },
	{ "2016-12-31T23:59:60Z", 1483228799000LL, 1, NULL },
	{ "2017-01-01T00:59:60.5+01:00", 1483228799500LL, 1, NULL },

	{ "2026-02-30T12:00:00Z", 0, 0, "day out of range" },
	{ "2026-02-29T12:00:00Z", 0, 0, "day out of range" },
	{ "1900-02-29T12:00:00Z", 0, 0, "day out of range" },
	{ "2026-04-31T12:00:00Z", 0, 0, "day out of range" },
	{ "2026-01-00T12:00:00Z", 0, 0, "day out of range" },
	{ "2026-13-01T12:00:00Z", 0, 0, "month out of range" },
	{ "2026-00-01T12:00:00Z", 0, 0, "month out of range" },
	{ "2026-11-27T24:00:00Z", 0, 0, "hour out of range" },
	{ "2026-11-27T12:60:00Z", 0, 0, "minute out of range" },
	{ "2026-11-27T12:00:61Z", 0, 0, "second out of range" },
	{ "2026-11-27T12:00:60Z", 0, 0, "second out of range" },
	{ "2016-12-31T23:59:60+01:00", 0, 0, "second out of range" },
	{ "2026-11-27T12:00:00", 0, 0, "missing time offset" },
	{ "2026-11-27T12:00:00.5", 0, 0, "missing time offset" },
	{ "2026-11-27T12:00:00+0100", 0, 0, "expected time offset" },
	{ "2026-11-27T12:00:00+1:00", 0, 0, "expected time offset" },
	{ "2026-11-27T12:00:00+01:60", 0, 0, "time offset out of range" },
	{ "2026-11-27T12:00:00+24:00", 0, 0, "time offset out of range" },
	{ "2026-11-27T12:00:00UTC", 0, 0, "expected time offset" },
	{ "2026-11-27T12:00:00Zx", 0, 0, "unexpected characters" },
	{ "2026-11-27T12:00:00Z ", 0, 0, "unexpected characters" },
	{ "2026-11-27T12:00:00.Z", 0, 0, "expected digits after '.'" },
	{ "2026-11-27T12:00Z", 0, 0, "expected time hh:mm:ss" },
	{ "2026-11-27 12:00:00Z", 0, 0, "expected 'T'" },
	{ "2026-11-27", 0, 0, "expected 'T'" },
	{ " 2026-11-27T12:00:00Z", 0, 0, "expected date" },
	{ "2026-1-27T12:00:00Z", 0, 0, "expected date" },
	{ "20261127T120000Z", 0, 0, "expected date" },
	{ "+2026-11-27T12:00:00Z", 0, 0, "expected date" },
	{ "", 0, 0, "expected date" },
	{ "0000-01-01T00:00:00Z", 0, 0, "outside 0001-01-01" },
	{ "0000-12-31T23:59:59.999Z", 0, 0, "outside 0001-01-01" },
	{ "0001-01-01T00:00:00+00:01", 0, 0, "outside 0001-01-01" },
	{ "9999-12-31T23:59:59-00:01", 0, 0, "outside 0001-01-01" },
};

Test(rfc3339, parse_table)
{
	const char	*why;
	int64_t		ms;
	size_t		i;
	int		rc;

	for (i = 0; i < sizeof(tcases) / sizeof(tcases[0]); i++) {
		why = NULL;
		ms = 0x5a5a;
		rc = rfc3339_parse(tcases[i].text, &ms, &why);
		if (tcases[i].ok) {
			cr_expect_eq(rc, 0, "'%s' rejected: %s",
			    tcases[i].text, why);
			cr_expect_eq(ms, tcases[i].ms, "'%s': %lld, want %lld",
			    tcases[i].text, (long long)ms,
			    (long long)tcases[i].ms);
		} else {
			cr_expect_eq(rc, -1, "'%s' accepted", tcases[i].text);
			cr_expect(why != NULL &&
			    strstr(why, tcases[i].why) != NULL,
			    "'%s': why '%s', want '%s'", tcases[i].text, why,
			    tcases[i].why);
		}
	}
}

Test(rfc3339, format)
{
	char		buf[RFC3339_BUFLEN], small[RFC3339_BUFLEN - 1];
	int64_t		ms, back;
	uint64_t	x;
	int		i;

	cr_assert_eq(rfc3339_format(0, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "1970-01-01T00:00:00.000Z");
	cr_assert_eq(rfc3339_format(1795780800123LL, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "2026-11-27T12:00:00.123Z");
	cr_assert_eq(rfc3339_format(-1, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "1969-12-31T23:59:59.999Z");
	cr_assert_eq(rfc3339_format(951868799999LL, buf, sizeof(buf)), 0);
	cr_expect_str_eq(buf, "2000-02-29T23:59:59.999Z");
	cr_assert_eq(rfc3339_format(-62135596800000LL, buf,
	    sizeof(buf)), 0);
	cr_expect_str_eq(buf, "0001-01-01T00:00:00.000Z");
	cr_assert_eq(rfc3339_format(253402300799999LL, buf,
	    sizeof(buf)), 0);
	cr_expect_str_eq(buf, "9999-12-31T23:59:59.999Z");

	cr_expect_eq(rfc3339_format(253402300800000LL, buf, sizeof(buf)),
	    -1);
	cr_expect_eq(rfc3339_format(-62135596800001LL, buf, sizeof(buf)),
	    -1);
	/* INT64_MIN: saga.h's SAGA_TIME_NONE, no time at all. */
	cr_expect_eq(rfc3339_format(INT64_MIN, buf, sizeof(buf)), -1);
	cr_expect_eq(rfc3339_format(0, small, sizeof(small)), -1);

	/* Round trip over the whole 0001..9999 range. */
	x = 88172645463325252ULL;
	for (i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ms = (int64_t)(x % 315537897600000ULL) - 62135596800000LL;
		cr_assert_eq(rfc3339_format(ms, buf, sizeof(buf)), 0);
		cr_assert_eq(rfc3339_parse(buf, &back, NULL), 0, "%s", buf);
		cr_assert_eq(back, ms, "%s: %lld != %lld", buf,
		    (long long)back, (long long)ms);
	}
}
