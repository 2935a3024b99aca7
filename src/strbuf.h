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

struct strbuf {
	char		*data;		/* NULL until the first byte */
	size_t		 len;
	size_t		 cap;
};

/* An empty buffer; hint bytes are reserved at the first append. */
void	 strbuf_init(struct strbuf *, size_t hint);
/* Room for n more bytes (and the NUL) without growing. */
void	 strbuf_reserve(struct strbuf *, size_t n);
void	 strbuf_add(struct strbuf *, const void *p, size_t n);
void	 strbuf_str(struct strbuf *, const char *s);
void	 strbuf_printf(struct strbuf *, const char *fmt, ...)
	     __attribute__((format(printf, 2, 3)));
/* Cut back to len bytes (len <= the current length). */
void	 strbuf_truncate(struct strbuf *, size_t len);
/* Hand the data (never NULL, NUL-terminated) to the caller. */
char	*strbuf_steal(struct strbuf *, size_t *len);
void	 strbuf_free(struct strbuf *);

#endif /* !SAGA_STRBUF_H */
