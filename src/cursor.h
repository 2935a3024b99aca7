/*
 * cursor: the opaque keyset cursor of GET /api/v1/sagas.
 *
 * A page ends at a position in the keyset order (updated_at DESC,
 * saga_id DESC); the next page starts strictly after it.  The cursor
 * carries that position and a fingerprint of the filters the page was
 * asked with, so a cursor replayed with other filters is refused
 * instead of silently paging through another result set.  The page
 * size (limit) is not part of the fingerprint: it may change between
 * pages.
 *
 * Text form: base64url without padding (RFC 4648 §5) of
 *
 *	"1." <updated_at, UTC microseconds since the epoch, decimal>
 *	"." <fingerprint, 16 lower-case hex digits>
 *	"." <saga_id>
 *
 * The cursor is opaque to clients but not secret: a forged one can only
 * start a page at another position of the same result set.
 *
 * The fingerprint is FNV-1a (64 bits) over a canonical text of the
 * normalised filters, which the caller builds (see api.c).  No kore
 * dependency.
 */

#ifndef SAGA_CURSOR_H
#define SAGA_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "saga.h"

/* "1." + 20 + "." + 16 + "." + 64 bytes = 104, in base64url: 139. */
#define CURSOR_TEXT_MAX		160

struct cursor_pos {
	int64_t		updated_us;
	char		saga_id[SAGA_ID_MAX + 1];
};

enum cursor_error {
	CURSOR_OK = 0,
	CURSOR_MALFORMED,	/* not a cursor this service issued */
	CURSOR_OTHER_FILTERS	/* issued for a query with other filters */
};

/* FNV-1a 64 over len bytes of data. */
uint64_t		cursor_fingerprint(const void *data, size_t len);

/*
 * Write the cursor of pos under fingerprint fp into buf (NUL
 * terminated).  Returns 0, or -1 if buf is too small or the saga_id is
 * empty or too long.
 */
int			cursor_encode(const struct cursor_pos *pos, uint64_t fp,
			    char *buf, size_t len);

/* Decode text, which must carry fingerprint fp, into *pos. */
enum cursor_error	cursor_decode(const char *text, uint64_t fp,
			    struct cursor_pos *pos);

#endif /* !SAGA_CURSOR_H */
