/*
 * pgerr: owns the one-line formatting of PostgreSQL errors.  See
 * pgerr.h.
 */

#include <stdarg.h>
#include <stdio.h>

#include "pgerr.h"

void
pgerr_format(char *err, size_t errlen, const char *fmt, ...)
{
	va_list		ap;
	char		*r, *w;

	if (err == NULL || errlen == 0)
		return;

	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);

	/* libpq's messages span lines; a log line should not. */
	for (r = w = err; *r != '\0'; r++) {
		if (*r == '\n' || *r == '\t' || *r == ' ') {
			if (w > err && w[-1] != ' ')
				*w++ = ' ';
		} else {
			*w++ = *r;
		}
	}
	while (w > err && w[-1] == ' ')
		w--;
	*w = '\0';
}
