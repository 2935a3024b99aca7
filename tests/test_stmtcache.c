/*
 * Unit: stmtcache, the record of the statements each database
 * connection of a worker has prepared.  Connections are stand-in
 * addresses: the module never follows them.
 */

#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "stmtcache.h"

static char	conns[STMTCACHE_CONNS + 1];

Test(stmtcache, names_are_stable_and_differ_by_text)
{
	char		a[STMTCACHE_NAME_SIZE], b[STMTCACHE_NAME_SIZE];
	uint64_t	ka, kb;

	ka = stmtcache_key("SELECT 1");
	kb = stmtcache_key("SELECT 2");
	cr_assert_neq(ka, kb);
	cr_assert_eq(ka, stmtcache_key("SELECT 1"));

	stmtcache_name(ka, a, sizeof(a));
	stmtcache_name(kb, b, sizeof(b));
	cr_assert_eq(strlen(a), STMTCACHE_NAME_SIZE - 1, "%s", a);
	cr_assert_eq(strncmp(a, "st_", 3), 0, "%s", a);
	cr_assert_str_neq(a, b);
}

Test(stmtcache, a_connection_has_what_it_prepared)
{
	const void	*c = &conns[0];

	cr_assert_eq(stmtcache_has(c, 100, 1), 0);
	cr_assert_eq(stmtcache_room(c, 100), 1);
	cr_assert_eq(stmtcache_add(c, 100, 1), 0);
	cr_assert_eq(stmtcache_add(c, 100, 1), 0, "twice is once");
	cr_assert_eq(stmtcache_has(c, 100, 1), 1);
	cr_assert_eq(stmtcache_has(c, 100, 2), 0);
	cr_assert_eq(stmtcache_has(&conns[1], 100, 1), 0,
	    "another connection has not");

	stmtcache_forget(c, 100);
	cr_assert_eq(stmtcache_has(c, 100, 1), 0, "forgotten");
}

Test(stmtcache, a_new_backend_at_the_same_address_starts_empty)
{
	const void	*c = &conns[0];

	cr_assert_eq(stmtcache_add(c, 100, 7), 0);
	cr_assert_eq(stmtcache_has(c, 101, 7), 0, "kore reconnected");
	cr_assert_eq(stmtcache_add(c, 101, 8), 0);
	cr_assert_eq(stmtcache_has(c, 101, 8), 1);
	cr_assert_eq(stmtcache_has(c, 100, 7), 0,
	    "the old backend's record was reused, not kept");
}

Test(stmtcache, the_least_recently_used_connection_makes_way)
{
	size_t		i;

	for (i = 0; i < STMTCACHE_CONNS; i++)
		cr_assert_eq(stmtcache_add(&conns[i], 1, 42), 0);
	/* conns[0] is used again; conns[1] is now the oldest. */
	cr_assert_eq(stmtcache_has(&conns[0], 1, 42), 1);

	cr_assert_eq(stmtcache_add(&conns[STMTCACHE_CONNS], 1, 42), 0);
	cr_assert_eq(stmtcache_has(&conns[STMTCACHE_CONNS], 1, 42), 1);
	cr_assert_eq(stmtcache_has(&conns[1], 1, 42), 0, "not evicted");
	cr_assert_eq(stmtcache_has(&conns[0], 1, 42), 1);
	for (i = 2; i < STMTCACHE_CONNS; i++)
		cr_assert_eq(stmtcache_has(&conns[i], 1, 42), 1, "conn %zu",
		    i);
}

Test(stmtcache, a_full_connection_records_no_more)
{
	const void	*c = &conns[0];
	uint64_t	 k;

	for (k = 0; k < STMTCACHE_STATEMENTS; k++) {
		cr_assert_eq(stmtcache_room(c, 5), 1, "at %llu",
		    (unsigned long long)k);
		cr_assert_eq(stmtcache_add(c, 5, k), 0);
	}
	cr_assert_eq(stmtcache_room(c, 5), 0);
	cr_assert_eq(stmtcache_add(c, 5, k), -1);
	cr_assert_eq(stmtcache_has(c, 5, k), 0);
	cr_assert_eq(stmtcache_has(c, 5, 0), 1, "the first is kept");
	cr_assert_eq(stmtcache_add(c, 5, 3), 0, "one it has is no error");
}
