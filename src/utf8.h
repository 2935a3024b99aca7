/*
 * utf8: the one UTF-8 decoder of the service.
 *
 * Strict RFC 3629 UTF-8: no overlong forms, no surrogates (U+D800 to
 * U+DFFF), nothing past U+10FFFF, no truncated sequence.  Event
 * payloads (saga.c), query parameters (api.c) and metric label values
 * (metrics.c) are all judged by it, so a value one of them accepts is
 * never refused by another.  Depends on nothing.
 */

#ifndef SAGA_UTF8_H
#define SAGA_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Length (1..4) of the well-formed sequence at the start of the avail
 * bytes at p, its code point in *cp (cp may be NULL); 0 if there is none.
 */
size_t	utf8_decode(const void *p, size_t avail, uint32_t *cp);

/*
 * 1 if the len bytes at data are well-formed UTF-8, else 0 with the
 * offset of the first bad byte in *bad (bad may be NULL).
 */
int	utf8_valid(const void *data, size_t len, size_t *bad);

/* Code points in a NUL-terminated string already known to be valid. */
size_t	utf8_count(const char *s);

#endif /* !SAGA_UTF8_H */
