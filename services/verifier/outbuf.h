/* Bounded capture of a step's output: the first half of the limit and the
 * last half are kept, the middle is dropped and replaced by a marker saying
 * how many bytes went, so a noisy build costs at most the limit and the end
 * (where the error usually is) survives. The tail is a ring buffer. Pure. */
#ifndef VERIFIER_OUTBUF_H
#define VERIFIER_OUTBUF_H

#include <stddef.h>

typedef struct {
    char *head;
    size_t head_len, head_cap;
    char *ring;
    size_t ring_cap, ring_pos, ring_len;
    size_t total;
} outbuf;

void outbuf_init(outbuf *b, size_t limit);   /* limit >= 64 */
void outbuf_free(outbuf *b);
void outbuf_add(outbuf *b, const char *data, size_t n);

/* The captured text (malloc'd, NUL-terminated): all of it when it fit,
 * else head, "\n[... N bytes elided ...]\n", tail. */
char *outbuf_text(const outbuf *b);

#endif
