/* FNV-1a, 64 bits: see hash.h. */
#include "hash.h"

uint64_t hash_fnv1a64_more(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = hash_fnv1a64_byte(h, p[i]);
    return h;
}

uint64_t hash_fnv1a64(const void *data, size_t len)
{
    return hash_fnv1a64_more(HASH_FNV1A64_INIT, data, len);
}

uint64_t hash_fnv1a64_str(uint64_t h, const char *s)
{
    if (!s)
        return h;
    for (; *s; s++)
        h = hash_fnv1a64_byte(h, (unsigned char)*s);
    return h;
}
