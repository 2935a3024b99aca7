/*
 * strbuf: the one growable byte buffer of the service.
 *
 * A strbuf owns data[0..len), always followed by a NUL so that text can
 * be used as a C string; the bytes themselves may be anything (the
 * binary PostgreSQL arrays of pgarray.c hold NULs).  It grows by
 * doubling; running out of memory ends the process (xalloc.h), so
 * appending never fails and callers test nothing.  A buffer that must
 * stay under a size (an event's metadata) checks len itself.
 *
 * Used by the metrics exposition, the metadata serializer of saga.c
 * and pgarray.c.  Depends on xalloc only.
 */

#ifndef SAGA_STRBUF_H
#define SAGA_STRBUF_H

#include <stddef.h>
#include <string.h>

struct strbuf {
	char		*data;		/* NULL until the first byte */
	size_t		 len;
	size_t		 cap;
};

/* An empty buffer; hint bytes are reserved at once (0: none). */
void	 strbuf_init(struct strbuf *, size_t hint);
/* Room for n more bytes (and the NUL) without growing. */
void	 strbuf_reserve(struct strbuf *, size_t n);
void	 strbuf_printf(struct strbuf *, const char *fmt, ...)
	     __attribute__((format(printf, 2, 3)));
/* Cut back to len bytes (len <= the current length). */
void	 strbuf_truncate(struct strbuf *, size_t len);
/* Hand the data (never NULL, NUL-terminated) to the caller. */
char	*strbuf_steal(struct strbuf *, size_t *len);
void	 strbuf_free(struct strbuf *);

/*
 * Append n bytes.  Inline: the exposition appends a few bytes at a
 * time, thousands of times per scrape, and a call per append costs it
 * a third of its time.
 */
static inline void
strbuf_add(struct strbuf *sb, const void *p, size_t n)
{
	if (sb->data == NULL || sb->cap - sb->len <= n)
		strbuf_reserve(sb, n);
	if (n > 0)
		memcpy(sb->data + sb->len, p, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

static inline void
strbuf_str(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

#endif /* !SAGA_STRBUF_H */
