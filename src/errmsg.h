/*
 * errmsg: a failure's message, written into the caller's buffer.
 *
 * The configuration loader (config.c) and the YAML file reader
 * (yamlfile.c) report a failure as -1 and a message in a buffer their
 * caller passes (err, errlen; err NULL or errlen 0 when the caller wants
 * no message).  errmsg_set() is that step, written once.  Depends on
 * nothing.
 */

#ifndef SAGA_ERRMSG_H
#define SAGA_ERRMSG_H

#include <stddef.h>

/* Format into err (truncated to errlen bytes); returns -1. */
int	errmsg_set(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif /* !SAGA_ERRMSG_H */
