/*
 * strbuf: a growable byte buffer that is always NUL-terminated (see
 * strbuf.h).
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

#define STRBUF_MIN	256

void
strbuf_init(struct strbuf *sb, size_t hint)
{
	sb->data = NULL;
	sb->len = 0;
	sb->cap = 0;
	if (hint > 0)
		strbuf_reserve(sb, hint);
}

void
strbuf_reserve(struct strbuf *sb, size_t n)
{
	size_t		cap;

	if (sb->cap > sb->len && sb->cap - sb->len > n)
		return;
	if (n >= (size_t)-1 / 2 - sb->len)
		xalloc_fail("strbuf");

	for (cap = sb->cap ? sb->cap : STRBUF_MIN; cap - sb->len <= n; cap *= 2)
		;
	sb->data = xreallocarray(sb->data, cap, 1, "strbuf");
	if (sb->len == 0)
		sb->data[0] = '\0';
	sb->cap = cap;
}

void
strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list		ap;
	int		n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		xalloc_fail("strbuf_printf");

	strbuf_reserve(sb, (size_t)n);
	va_start(ap, fmt);
	(void)vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

void
strbuf_truncate(struct strbuf *sb, size_t len)
{
	if (len < sb->len) {
		sb->len = len;
		sb->data[len] = '\0';
	}
}

char *
strbuf_steal(struct strbuf *sb, size_t *len)
{
	char		*p;

	strbuf_reserve(sb, 0);
	p = sb->data;
	if (len != NULL)
		*len = sb->len;
	sb->data = NULL;
	sb->len = 0;
	sb->cap = 0;

	return (p);
}

void
strbuf_free(struct strbuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = 0;
	sb->cap = 0;
}
