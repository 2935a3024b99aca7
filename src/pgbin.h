/*
 * pgbin: values in PostgreSQL's binary send format, appended to a
 * strbuf.  Each value is an int32 length, then its bytes, integers and
 * times in network order; a NULL is the length -1 and no bytes.  An
 * element of a binary array (pgarray.h) and a field of a binary COPY
 * row (pgcopy.h) are both exactly this, so the two share it.
 *
 * Types: text (its UTF-8 bytes), int4, int8, timestamptz (int8
 * microseconds since 2000-01-01 UTC) and jsonb (a version byte, 1,
 * then the JSON text; the server parses and checks it).
 */

#ifndef SAGA_PGBIN_H
#define SAGA_PGBIN_H

#include <stdint.h>

#include "strbuf.h"

/* Raw integers in network order (headers, lengths, field counts). */
void	pgbin_put32(struct strbuf *, uint32_t);
void	pgbin_put16(struct strbuf *, uint16_t);

void	pgbin_null(struct strbuf *);
void	pgbin_text(struct strbuf *, const char *s);	/* NULL: NULL */
void	pgbin_jsonb(struct strbuf *, const char *s);	/* NULL: NULL */
void	pgbin_int4(struct strbuf *, int32_t);
void	pgbin_int8(struct strbuf *, int64_t);
/* A timestamptz from UTC milliseconds since 1970. */
void	pgbin_time_ms(struct strbuf *, int64_t ms);

#endif /* !SAGA_PGBIN_H */
