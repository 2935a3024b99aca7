/*
 * cursor: encode and decode the keyset cursor of GET /api/v1/sagas
 * (see cursor.h).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "fnv.h"

#define CURSOR_VERSION		"1."
#define CURSOR_RAW_MAX		128

static const char	b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int	cursor_b64_encode(const unsigned char *, size_t, char *,
		    size_t);
static int	cursor_b64_value(int);
static int	cursor_b64_decode(const char *, unsigned char *, size_t,
		    size_t *);
static int	cursor_id_valid(const char *, size_t);
static int	cursor_parse_i64(const char *, const char *, int64_t *);
static int	cursor_parse_fp(const char *, const char *, uint64_t *);

uint64_t
cursor_fingerprint(const void *data, size_t len)
{
	return (fnv1a64(data, len));
}

/* Unpadded base64url of len bytes into out; -1 if out is too small. */
static int
cursor_b64_encode(const unsigned char *in, size_t len, char *out,
    size_t outlen)
{
	uint32_t	v;
	size_t		i, n, k, o;

	if (outlen < (len + 2) / 3 * 4 + 1)
		return (-1);

	o = 0;
	for (i = 0; i < len; i += 3) {
		n = len - i < 3 ? len - i : 3;
		v = (uint32_t)in[i] << 16;
		if (n > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (n > 2)
			v |= in[i + 2];
		for (k = 0; k <= n; k++)
			out[o++] = b64url[(v >> (18 - 6 * k)) & 0x3f];
	}
	out[o] = '\0';

	return (0);
}

static int
cursor_b64_value(int c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(b64url, c)) == NULL)
		return (-1);

	return ((int)(p - b64url));
}

/*
 * Strict unpadded base64url: no padding, no white space, and the unused
 * low bits of the last symbol must be zero, so every cursor has exactly
 * one text form.
 */
static int
cursor_b64_decode(const char *in, unsigned char *out, size_t outlen,
    size_t *len)
{
	uint32_t	v;
	size_t		inlen, i, k, n, o;
	int		d;

	inlen = strlen(in);
	if (inlen == 0 || inlen % 4 == 1)
		return (-1);

	o = 0;
	for (i = 0; i < inlen; i += 4) {
		n = inlen - i < 4 ? inlen - i : 4;
		v = 0;
		for (k = 0; k < 4; k++) {
			d = 0;
			if (k < n && (d = cursor_b64_value(in[i + k])) == -1)
				return (-1);
			v = (v << 6) | (uint32_t)d;
		}
		if ((n == 2 && (v & 0xffff) != 0) || (n == 3 && (v & 0xff)))
			return (-1);
		for (k = 0; k + 1 < n; k++) {
			if (o >= outlen)
				return (-1);
			out[o++] = (unsigned char)(v >> (16 - 8 * k));
		}
	}
	*len = o;

	return (0);
}

static int
cursor_id_valid(const char *id, size_t len)
{
	size_t		i;
	char		c;

	if (len == 0 || len > SAGA_ID_MAX)
		return (0);

	for (i = 0; i < len; i++) {
		c = id[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return (0);
	}

	return (1);
}

int
cursor_encode(const struct cursor_pos *pos, uint64_t fp, char *buf,
    size_t len)
{
	char		raw[CURSOR_RAW_MAX];
	size_t		idlen;
	int		n;

	idlen = strnlen(pos->saga_id, sizeof(pos->saga_id));
	if (!cursor_id_valid(pos->saga_id, idlen))
		return (-1);

	n = snprintf(raw, sizeof(raw), CURSOR_VERSION "%" PRId64 ".%016"
	    PRIx64 ".%s", pos->updated_us, fp, pos->saga_id);
	if (n < 0 || (size_t)n >= sizeof(raw))
		return (-1);

	return (cursor_b64_encode((const unsigned char *)raw, (size_t)n,
	    buf, len));
}

/* A canonical decimal int64 in [s, end): no '+', no leading zero. */
static int
cursor_parse_i64(const char *s, const char *end, int64_t *v)
{
	char		buf[24], *ep;
	size_t		len;
	long long	ll;

	len = (size_t)(end - s);
	if (len == 0 || len >= sizeof(buf))
		return (-1);
	memcpy(buf, s, len);
	buf[len] = '\0';

	if (buf[0] == '+' || (buf[0] == '0' && len > 1) ||
	    (buf[0] == '-' && (len == 1 || buf[1] == '0')))
		return (-1);

	errno = 0;
	ll = strtoll(buf, &ep, 10);
	if (errno != 0 || *ep != '\0')
		return (-1);
	*v = ll;

	return (0);
}

/* Exactly 16 lower-case hex digits in [s, end). */
static int
cursor_parse_fp(const char *s, const char *end, uint64_t *v)
{
	const char	*p;
	uint64_t	 x;

	if (end - s != 16)
		return (-1);

	x = 0;
	for (p = s; p < end; p++) {
		if (*p >= '0' && *p <= '9')
			x = (x << 4) | (uint64_t)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			x = (x << 4) | (uint64_t)(*p - 'a' + 10);
		else
			return (-1);
	}
	*v = x;

	return (0);
}

enum cursor_error
cursor_decode(const char *text, uint64_t fp, struct cursor_pos *pos)
{
	unsigned char	 raw[CURSOR_RAW_MAX];
	const char	*s, *end, *dot1, *dot2;
	uint64_t	 got;
	size_t		 len;

	if (strlen(text) >= CURSOR_TEXT_MAX ||
	    cursor_b64_decode(text, raw, sizeof(raw) - 1, &len) == -1)
		return (CURSOR_MALFORMED);
	raw[len] = '\0';
	if (memchr(raw, '\0', len) != NULL)
		return (CURSOR_MALFORMED);

	s = (const char *)raw;
	end = s + len;
	if (strncmp(s, CURSOR_VERSION, strlen(CURSOR_VERSION)) != 0)
		return (CURSOR_MALFORMED);
	s += strlen(CURSOR_VERSION);

	if ((dot1 = memchr(s, '.', (size_t)(end - s))) == NULL ||
	    (dot2 = memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1))) == NULL)
		return (CURSOR_MALFORMED);

	if (cursor_parse_i64(s, dot1, &pos->updated_us) == -1 ||
	    cursor_parse_fp(dot1 + 1, dot2, &got) == -1 ||
	    !cursor_id_valid(dot2 + 1, (size_t)(end - dot2 - 1)))
		return (CURSOR_MALFORMED);

	memcpy(pos->saga_id, dot2 + 1, (size_t)(end - dot2 - 1));
	pos->saga_id[end - dot2 - 1] = '\0';

	if (got != fp)
		return (CURSOR_OTHER_FILTERS);

	return (CURSOR_OK);
}
