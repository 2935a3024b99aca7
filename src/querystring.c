/*
 * querystring: the strict query-string parser (see querystring.h).
 *
 * Owns: the percent-decoding, the table lookup of each name and the
 * details that name what was wrong.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "querystring.h"
#include "xalloc.h"

static int	query_pair(char *, const struct querystring_param *, size_t,
		    const char *, unsigned int *, void *, char *, size_t);

/* Percent-decode s in place, '+' as a space; -1 if malformed or NUL. */
int
querystring_unescape(char *s)
{
	char		*r, *w, hex[3];
	long		 v;

	for (r = w = s; *r != '\0'; r++) {
		if (*r == '+') {
			*w++ = ' ';
		} else if (*r != '%') {
			*w++ = *r;
		} else {
			if (!isxdigit((unsigned char)r[1]) ||
			    !isxdigit((unsigned char)r[2]))
				return (-1);
			hex[0] = r[1];
			hex[1] = r[2];
			hex[2] = '\0';
			if ((v = strtol(hex, NULL, 16)) == 0)
				return (-1);
			*w++ = (char)v;
			r += 2;
		}
	}
	*w = '\0';

	return (0);
}

/* A printable copy of s for a problem detail, cut to len with "...". */
void
querystring_quote(const char *s, char *buf, size_t len)
{
	size_t		i;

	for (i = 0; s[i] != '\0' && i + 4 < len; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';

	if (s[i] != '\0')
		memcpy(buf + i, "...", 4);
	else
		buf[i] = '\0';
}

/*
 * Parse the raw query string (NULL: none) against params (known lists
 * them for the detail), passing arg to each parse function.  Returns 0,
 * or -1 with the problem detail naming the parameter.
 */
int
querystring_parse(const char *query, const struct querystring_param *params,
    size_t nparams, const char *known, void *arg, char *detail, size_t len)
{
	char		*copy, *pair, *next;
	unsigned int	 seen;
	int		 rc;

	if (query == NULL)
		return (0);

	copy = xstrdup(query, "query string");
	seen = 0;
	rc = 0;
	for (pair = copy; pair != NULL && rc == 0; pair = next) {
		if ((next = strchr(pair, '&')) != NULL)
			*next++ = '\0';
		if (*pair != '\0')
			rc = query_pair(pair, params, nparams, known,
			    &seen, arg, detail, len);
	}
	free(copy);

	return (rc);
}

static int
query_pair(char *pair, const struct querystring_param *params,
    size_t nparams, const char *known, unsigned int *seen, void *arg,
    char *detail, size_t len)
{
	char		*value, quoted[QUERYSTRING_QUOTE_MAX];
	size_t		 i;

	if ((value = strchr(pair, '=')) != NULL)
		*value++ = '\0';
	else
		value = pair + strlen(pair);

	if (querystring_unescape(pair) == -1) {
		querystring_quote(pair, quoted, sizeof(quoted));
		(void)snprintf(detail, len, "query parameter name '%s' is "
		    "not valid percent-encoding", quoted);
		return (-1);
	}

	for (i = 0; i < nparams; i++) {
		if (strcmp(params[i].name, pair) == 0)
			break;
	}
	if (i == nparams) {
		querystring_quote(pair, quoted, sizeof(quoted));
		(void)snprintf(detail, len, "unknown query parameter '%s'; "
		    "known: %s", quoted, nparams > 0 ? known : "none");
		return (-1);
	}

	if (*seen & (1U << i)) {
		(void)snprintf(detail, len, "%s: given more than once",
		    params[i].name);
		return (-1);
	}
	*seen |= 1U << i;

	if (querystring_unescape(value) == -1) {
		(void)snprintf(detail, len, "%s: the value is not valid "
		    "percent-encoding", params[i].name);
		return (-1);
	}
	if (*value == '\0') {
		(void)snprintf(detail, len, "%s: empty value", params[i].name);
		return (-1);
	}

	return (params[i].parse(arg, value, detail, len));
}
