/*
 * fnv: FNV-1a, 64 bits (see fnv.h).
 */

#include <stddef.h>
#include <stdint.h>

#include "fnv.h"

uint64_t
fnv1a64(const void *data, size_t len)
{
	const unsigned char	*p = data;
	uint64_t		 h;
	size_t			 i;

	h = FNV1A64_OFFSET;
	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV1A64_PRIME;
	}

	return (h);
}
