/* FNV-1a, 64 bits: the one hash of the suite.
 *
 * Used wherever a short, stable digest of a string is wanted: hash tables
 * (strmap, the classifier's word table), ids derived from content (alert
 * notification ids, Matrix transaction ids and event keys) and stamps that
 * instances must agree on. It is not cryptographic: nothing that must resist
 * a chosen input relies on it.
 *
 * The state starts at the offset basis HASH_FNV1A64_INIT; each byte is XORed
 * in, then the state is multiplied by the prime 1099511628211 (mod 2^64).
 * The _more functions continue from a state, so a digest of several parts
 * (or one seeded with a number) needs no concatenation; hash_fnv1a64_byte
 * lets a caller fold bytes it transforms on the way (case folding).
 * Reference: http://www.isthe.com/chongo/tech/comp/fnv/ (its test vectors
 * are in tests/unit/test_hash.c).
 *
 * Pure: no allocation, no state. */
#ifndef ORCH_HASH_H
#define ORCH_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The 64-bit FNV offset basis. */
#define HASH_FNV1A64_INIT 14695981039346656037ULL
#define HASH_FNV1A64_PRIME 1099511628211ULL

/* One byte into the state. */
static inline uint64_t hash_fnv1a64_byte(uint64_t h, unsigned char c)
{
    return (h ^ c) * HASH_FNV1A64_PRIME;
}

/* The digest of data[0..len); data may be NULL when len is 0. */
uint64_t hash_fnv1a64(const void *data, size_t len);

/* Continues state h over data[0..len). */
uint64_t hash_fnv1a64_more(uint64_t h, const void *data, size_t len);

/* Continues state h over the NUL-terminated s (without its NUL); s NULL
 * leaves h as it is. hash_fnv1a64_str(HASH_FNV1A64_INIT, s) is the digest
 * of s. */
uint64_t hash_fnv1a64_str(uint64_t h, const char *s);

#endif
