/*
 * fnv: FNV-1a, 64 bits, the one non-cryptographic hash of the service.
 *
 * The metrics segment hashes label values with it (an open-addressing
 * table shared by the workers) and the API's cursor fingerprints its
 * filters with it.  The cursor's fingerprint travels to clients and
 * back, so the function must never change: the offset basis and prime
 * are FNV's published 64-bit constants.  Depends on nothing.
 */

#ifndef SAGA_FNV_H
#define SAGA_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A64_OFFSET		0xcbf29ce484222325ULL
#define FNV1A64_PRIME		0x100000001b3ULL

uint64_t	fnv1a64(const void *data, size_t len);

#endif /* !SAGA_FNV_H */
