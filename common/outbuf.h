/* Bounded capture of a step's output: the first half of the limit and the
 * last half are kept, the middle is dropped and replaced by a marker saying
 * how many bytes went, so a noisy build costs at most the limit and the end
 * (where the error usually is) survives. The tail is a ring buffer. Pure.
 *
 * Build output can hold any bytes, but what the verifier passes on (a
 * verdict, the scheduler's retry text for the agent) must be valid UTF-8
 * for every decoder downstream. So the cuts are made on character
 * boundaries (the bytes of a character split by them count as elided), and
 * every byte that is not part of a valid UTF-8 character, NUL included, is
 * replaced by U+FFFD: the text after a NUL is kept, and the result is a C
 * string whose length is its size. Replacement makes the text at most three
 * times the limit (a limit of bytes read, not of bytes written). */
#ifndef ORCH_OUTBUF_H
#define ORCH_OUTBUF_H

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

/* The captured text (malloc'd, NUL-terminated, valid UTF-8): all of it
 * when it fit, else head, "\n[... N bytes elided ...]\n", tail. */
char *outbuf_text(const outbuf *b);

/* in[0..n) as valid UTF-8 without NUL (malloc'd, NUL-terminated): every
 * byte that does not belong to a valid character becomes U+FFFD. The
 * length written to *out_len (may be NULL) is at most 3 * n. */
char *outbuf_clean(const char *in, size_t n, size_t *out_len);

#endif
