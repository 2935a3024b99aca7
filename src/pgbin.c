/*
 * pgbin: PostgreSQL's binary send format of single values (see
 * pgbin.h; the formats are the types' *_recv functions).
 */

#include <arpa/inet.h>

#include <string.h>

#include "pgbin.h"

/* Milliseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch. */
#define PGBIN_EPOCH_MS		946684800000LL

#define PGBIN_JSONB_VERSION	1

void
pgbin_put32(struct strbuf *b, uint32_t v)
{
	v = htonl(v);
	strbuf_add(b, &v, sizeof(v));
}

void
pgbin_put16(struct strbuf *b, uint16_t v)
{
	v = htons(v);
	strbuf_add(b, &v, sizeof(v));
}

void
pgbin_null(struct strbuf *b)
{
	pgbin_put32(b, (uint32_t)-1);
}

void
pgbin_text(struct strbuf *b, const char *s)
{
	size_t		len;

	if (s == NULL) {
		pgbin_null(b);
		return;
	}
	len = strlen(s);
	pgbin_put32(b, (uint32_t)len);
	strbuf_add(b, s, len);
}

void
pgbin_jsonb(struct strbuf *b, const char *s)
{
	unsigned char	version = PGBIN_JSONB_VERSION;
	size_t		len;

	if (s == NULL) {
		pgbin_null(b);
		return;
	}
	len = strlen(s);
	pgbin_put32(b, (uint32_t)(len + 1));
	strbuf_add(b, &version, 1);
	strbuf_add(b, s, len);
}

void
pgbin_int4(struct strbuf *b, int32_t v)
{
	pgbin_put32(b, 4);
	pgbin_put32(b, (uint32_t)v);
}

void
pgbin_int8(struct strbuf *b, int64_t v)
{
	pgbin_put32(b, 8);
	pgbin_put32(b, (uint32_t)((uint64_t)v >> 32));
	pgbin_put32(b, (uint32_t)v);
}

void
pgbin_time_ms(struct strbuf *b, int64_t ms)
{
	pgbin_int8(b, (ms - PGBIN_EPOCH_MS) * 1000);
}
