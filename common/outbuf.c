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

/* Length of the UTF-8 sequence a lead byte starts (1 for anything that
 * cannot start one: it will be replaced on its own). */
static size_t seq_len(unsigned char c)
{
    if (c >= 0xf0 && c <= 0xf4)
        return 4;
    if (c >= 0xe0 && c <= 0xef)
        return 3;
    if (c >= 0xc2 && c <= 0xdf)
        return 2;
    return 1;
}

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

char *outbuf_clean(const char *in, size_t n, size_t *out_len)
{
    char *out = xmalloc(n * 3 + 1), *o = out;
    size_t i = 0;
    while (i < n) {
        size_t k = text_utf8_char(in + i, n - i);
        if (k) {
            memcpy(o, in + i, k);
            o += k;
            i += k;
        } else { /* NUL, a stray or cut byte, an overlong form, a surrogate */
            memcpy(o, REPLACEMENT, 3);
            o += 3;
            i++;
        }
    }
    *o = '\0';
    if (out_len)
        *out_len = (size_t)(o - out);
    return out;
}

/* Where a cut at len leaves no character in pieces: len less the bytes of
 * a sequence started but not finished before it. */
static size_t whole_chars(const char *s, size_t len)
{
    for (size_t back = 1; back <= 3 && back <= len; back++) {
        unsigned char c = (unsigned char)s[len - back];
        if ((c & 0xc0) != 0x80) /* the last lead (or ASCII) byte */
            return seq_len(c) > back ? len - back : len;
    }
    return len;
}

char *outbuf_text(const outbuf *b)
{
    size_t elided = b->total - b->head_len - b->ring_len;
    size_t head = b->head_len, skip = 0, pos = 0, mlen = 0, n;
    char marker[96] = "";
    char *raw, *out;

    if (elided) {
        /* Cut on character boundaries: the end of the head and the start
         * of the tail may fall inside a multi-byte character. */
        head = whole_chars(b->head, b->head_len);
        while (skip < 3 && skip < b->ring_len &&
               ((unsigned char)b->ring[(b->ring_pos + b->ring_cap - b->ring_len + skip) % b->ring_cap] & 0xc0) ==
                   0x80)
            skip++;
        elided += b->head_len - head + skip;
        mlen = (size_t)snprintf(marker, sizeof(marker), "\n[... %zu bytes elided ...]\n", elided);
    }
    raw = xmalloc(head + mlen + b->ring_len + 1);
    memcpy(raw, b->head, head);
    pos = head;
    memcpy(raw + pos, marker, mlen);
    pos += mlen;
    /* the ring's oldest byte sits at ring_pos once it has wrapped */
    for (size_t i = skip; i < b->ring_len; i++)
        raw[pos++] = b->ring[(b->ring_pos + b->ring_cap - b->ring_len + i) % b->ring_cap];
    out = outbuf_clean(raw, pos, &n);
    free(raw);
    return out;
}
