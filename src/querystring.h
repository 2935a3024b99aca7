/*
 * querystring: a strict parser of an URL query string against a table
 * of known parameters.
 *
 * This module owns the query-string syntax of the HTTP API: pairs split
 * on '&', name and value on the first '=', both percent-decoded with '+'
 * as a space.  Unlike kore's params and validators, which drop a bad
 * value silently, every unknown, repeated, empty or undecodable
 * parameter is an error whose detail names it, so that the API can
 * answer a 400 that says what was wrong.  The value of each known
 * parameter goes to its parse function, which judges it and writes its
 * own detail.
 *
 * Empty pairs ("a=1&&b=2") are skipped.  A name without '=' has an empty
 * value.  A %00 anywhere, or a '%' not followed by two hex digits, is
 * not valid percent-encoding.  A table holds at most 32 parameters.
 *
 * It has no kore dependency (the unit tests link it directly); out of
 * memory ends the process (xalloc.h).
 */

#ifndef SAGA_QUERYSTRING_H
#define SAGA_QUERYSTRING_H

#include <stddef.h>

/* Room for a value quoted by querystring_quote() in a detail. */
#define QUERYSTRING_QUOTE_MAX	48

/*
 * A known parameter: parse gets the caller's argument, the decoded
 * value (non-empty, writable) and the detail buffer; it returns 0, or
 * -1 with the detail written.
 */
struct querystring_param {
	const char	*name;
	int		(*parse)(void *, char *, char *, size_t);
};

int	querystring_parse(const char *, const struct querystring_param *,
	    size_t, const char *, void *, char *, size_t);
int	querystring_unescape(char *);
void	querystring_quote(const char *, char *, size_t);

#endif /* !SAGA_QUERYSTRING_H */
