#include "outbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

void outbuf_init(outbuf *b, size_t limit)
{
    memset(b, 0, sizeof(*b));
    if (limit < 64)
        limit = 64;
    b->head_cap = limit / 2;
    b->ring_cap = limit - b->head_cap;
    b->head = xmalloc(b->head_cap);
    b->ring = xmalloc(b->ring_cap);
}

void outbuf_free(outbuf *b)
{
    free(b->head);
    free(b->ring);
    memset(b, 0, sizeof(*b));
}

void outbuf_add(outbuf *b, const char *data, size_t n)
{
    size_t take;
    b->total += n;
    take = b->head_cap - b->head_len;
    if (take > n)
        take = n;
    memcpy(b->head + b->head_len, data, take);
    b->head_len += take;
    data += take;
    n -= take;
    if (n > b->ring_cap) { /* only the last ring_cap bytes can survive */
        data += n - b->ring_cap;
        n = b->ring_cap;
    }
    for (size_t i = 0; i < n; i++) {
        b->ring[b->ring_pos] = data[i];
        b->ring_pos = (b->ring_pos + 1) % b->ring_cap;
        if (b->ring_len < b->ring_cap)
            b->ring_len++;
    }
}

char *outbuf_text(const outbuf *b)
{
    size_t elided = b->total - b->head_len - b->ring_len;
    char marker[96] = "";
    size_t mlen = 0, pos = 0;
    char *out;

    if (elided)
        mlen = (size_t)snprintf(marker, sizeof(marker), "\n[... %zu bytes elided ...]\n", elided);
    out = xmalloc(b->head_len + mlen + b->ring_len + 1);
    memcpy(out, b->head, b->head_len);
    pos = b->head_len;
    memcpy(out + pos, marker, mlen);
    pos += mlen;
    /* the ring's oldest byte sits at ring_pos once it has wrapped */
    for (size_t i = 0; i < b->ring_len; i++)
        out[pos++] = b->ring[(b->ring_pos + b->ring_cap - b->ring_len + i) % b->ring_cap];
    out[pos] = '\0';
    return out;
}
