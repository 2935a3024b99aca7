/*
 * pgerr: PostgreSQL (libpq) errors as one log line.
 *
 * libpq's messages span several lines ("ERROR: ...\nDETAIL: ...\n");
 * a log line, a health check's details.error or a dead letter's detail
 * should not.  Every module that talks to PostgreSQL formats its errors
 * here, so this module depends on nothing of the project and breaks no
 * layering: the pipeline, the schema, the store, retention and the
 * HTTP side's statements all sit above it.
 */

#ifndef SAGA_PGERR_H
#define SAGA_PGERR_H

#include <stddef.h>

/*
 * Format into err (errlen bytes, NULL or 0: nothing) as one line: every
 * run of newlines, tabs and spaces becomes one space, none at the end.
 */
void	pgerr_format(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif /* !SAGA_PGERR_H */
