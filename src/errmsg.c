/*
 * errmsg: a failure's message, written into the caller's buffer (see
 * errmsg.h).
 */

#include <stdarg.h>
#include <stdio.h>

#include "errmsg.h"

int
errmsg_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list		args;

	if (err != NULL && errlen > 0) {
		va_start(args, fmt);
		(void)vsnprintf(err, errlen, fmt, args);
		va_end(args);
	}

	return (-1);
}
