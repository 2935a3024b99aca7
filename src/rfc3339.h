/*
 * rfc3339: RFC 3339 date-time parsing and formatting (UTC milliseconds
 * since the epoch).
 *
 * This module owns the date-time text of occurredAt and of every time
 * the service prints.  It depends on nothing.
 *
 * A date-time is YYYY-MM-DDTHH:MM:SS[.frac] with a
 * Z or +hh:mm/-hh:mm offset ('t' and 'z' may be lower case).  Fractions
 * are truncated to milliseconds.  Calendar dates are checked (no Feb 30,
 * no hour 24).  A leap second (:60) is accepted only at 23:59 UTC and
 * counts as :59 of the same minute.  The instant must lie within
 * 0001-01-01..9999-12-31 UTC, so rfc3339_format() can always print it
 * and PostgreSQL's to_char() prints it without an era: year 0 is 1 BC
 * there, which the API's timestamps cannot say (issue 17).
 *
 * rfc3339_parse() returns 0, or -1 with *why (if not NULL) naming the
 * problem; rfc3339_format() writes "YYYY-MM-DDTHH:MM:SS.mmmZ".
 */

#ifndef SAGA_RFC3339_H
#define SAGA_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/* "2026-11-27T12:00:00.123Z" plus NUL. */
#define RFC3339_BUFLEN		25

int	rfc3339_parse(const char *, int64_t *, const char **);
int	rfc3339_format(int64_t, char *, size_t);

#endif /* !SAGA_RFC3339_H */
