/*
 * test_cursor: unit tests of src/cursor.c (Criterion).
 *
 * A cursor decodes to the position it was encoded from, under the same
 * fingerprint only; its text is unpadded base64url of the documented
 * plain text; anything else (garbage, padding, a truncated or altered
 * cursor, an empty or over-long saga id, another version) is refused
 * as malformed; a buffer too small is refused; the fingerprint is the
 * FNV-1a of the filters.
 */

#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "fnv.h"

static void
pos_set(struct cursor_pos *p, int64_t us, const char *id)
{
	memset(p, 0, sizeof(*p));
	p->updated_us = us;
	(void)snprintf(p->saga_id, sizeof(p->saga_id), "%s", id);
}

Test(cursor, round_trip)
{
	static const int64_t	 times[] = {
		0, 1, -1, 1764633600123456LL, INT64_MAX, INT64_MIN
	};
	static const char	*ids[] = { "s", "saga-1", "A_b-9", "x" };
	struct cursor_pos	 in, out;
	char			 text[CURSOR_TEXT_MAX];
	uint64_t		 fp;
	size_t			 i, k;

	fp = cursor_fingerprint("status=FAILED", 13);
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		for (k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
			pos_set(&in, times[i], ids[k]);
			cr_assert_eq(cursor_encode(&in, fp, text,
			    sizeof(text)), 0);
			cr_expect_eq(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789-_"),
			    strlen(text), "%s", text);
			memset(&out, 0xff, sizeof(out));
			cr_assert_eq(cursor_decode(text, fp, &out),
			    CURSOR_OK, "%s", text);
			cr_expect_eq(out.updated_us, in.updated_us);
			cr_expect_str_eq(out.saga_id, in.saga_id);
			cr_expect_eq(cursor_decode(text, fp ^ 1, &out),
			    CURSOR_OTHER_FILTERS);
		}
	}
}

Test(cursor, text_form)
{
	struct cursor_pos	pos;
	char			text[CURSOR_TEXT_MAX];

	/* "1.5.00000000000000ff.ab" in unpadded base64url. */
	pos_set(&pos, 5, "ab");
	cr_assert_eq(cursor_encode(&pos, 0xff, text, sizeof(text)), 0);
	cr_expect_str_eq(text, "MS41LjAwMDAwMDAwMDAwMDAwZmYuYWI");
}

Test(cursor, longest_saga_id_fits)
{
	struct cursor_pos	in, out;
	char			text[CURSOR_TEXT_MAX], id[SAGA_ID_MAX + 1];

	memset(id, 'z', SAGA_ID_MAX);
	id[SAGA_ID_MAX] = '\0';
	pos_set(&in, INT64_MIN, id);
	cr_assert_eq(cursor_encode(&in, UINT64_MAX, text, sizeof(text)), 0);
	cr_assert_eq(cursor_decode(text, UINT64_MAX, &out), CURSOR_OK);
	cr_expect_str_eq(out.saga_id, id);
	cr_expect_eq(out.updated_us, INT64_MIN);
}

Test(cursor, refuses_what_it_did_not_issue)
{
	static const char	*bad[] = {
		"",
		"!!!!",
		"MS41LjAwMDAwMDAwMDAwMDAwZmYuYWI=",	/* padded */
		"MS41LjAwMDAwMDAwMDAwMDAwZmYuYW",	/* truncated */
		"MS41LjAwMDAwMDAwMDAwMDAwZmYu",		/* no saga id */
		"Mi41LjAwMDAwMDAwMDAwMDAwZmYuYWI",	/* version 2 */
		"MS41LjAwMDAwMDAwMDAwMDAwZmY",		/* no saga part */
		"MS54LjAwMDAwMDAwMDAwMDAwZmYuYWI",	/* time "x" */
		"MS41LjAwMDAwMDAwMDAwMDAwWlouYWI",	/* fp not hex */
		"MS41LjAwMDAwMDAwMDAwMDAwZmYuYSE",	/* id "a!" */
	};
	struct cursor_pos	out;
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(cursor_decode(bad[i], 0xff, &out),
		    CURSOR_MALFORMED, "case %zu: %s", i, bad[i]);
	cr_expect_eq(cursor_decode("MS41LjAwMDAwMDAwMDAwMDAwZmYuYWI", 0xff,
	    &out), CURSOR_OK, "the good one of the cases above");
}

Test(cursor, encode_refuses)
{
	struct cursor_pos	pos;
	char			text[CURSOR_TEXT_MAX];

	pos_set(&pos, 1, "");
	cr_expect_eq(cursor_encode(&pos, 1, text, sizeof(text)), -1);
	pos_set(&pos, 1, "saga-1");
	cr_expect_eq(cursor_encode(&pos, 1, text, 8), -1);
}

Test(cursor, fingerprint_is_fnv1a)
{
	cr_expect_eq(cursor_fingerprint("", 0), 0xcbf29ce484222325ULL);
	cr_expect_eq(cursor_fingerprint("foobar", 6), fnv1a64("foobar", 6));
	cr_expect_eq(cursor_fingerprint("foobar", 6), 0x85944171f73967e8ULL);
}
