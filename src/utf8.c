/*
 * utf8: strict UTF-8 decoding and validation (see utf8.h).
 */

#include <stddef.h>
#include <stdint.h>

#include "utf8.h"

size_t
utf8_decode(const void *data, size_t avail, uint32_t *cp)
{
	const unsigned char	*p = data;
	size_t			 n, k;
	uint32_t		 c, min;

	if (avail == 0)
		return (0);

	if (p[0] < 0x80) {
		if (cp != NULL)
			*cp = p[0];
		return (1);
	}

	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		c = p[0] & 0x1f;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		c = p[0] & 0x0f;
		min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		c = p[0] & 0x07;
		min = 0x10000;
	} else {
		return (0);
	}

	if (avail < n)
		return (0);
	for (k = 1; k < n; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return (0);
		c = (c << 6) | (p[k] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (0);

	if (cp != NULL)
		*cp = c;

	return (n);
}

int
utf8_valid(const void *data, size_t len, size_t *bad)
{
	const unsigned char	*p = data;
	size_t			 i, n;

	for (i = 0; i < len; i += n) {
		/* ASCII, most of what is judged, without the decoder. */
		if (p[i] < 0x80) {
			n = 1;
			continue;
		}
		if ((n = utf8_decode(p + i, len - i, NULL)) == 0) {
			if (bad != NULL)
				*bad = i;
			return (0);
		}
	}

	return (1);
}

size_t
utf8_count(const char *s)
{
	size_t		n;

	for (n = 0; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}

	return (n);
}
