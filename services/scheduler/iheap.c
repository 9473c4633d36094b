/* See iheap.h. */
#include "iheap.h"

#include <stdlib.h>

#include "text.h"

void iheap_init(iheap *h, iheap_first first, const void *ctx)
{
    h->v = NULL;
    h->n = h->cap = 0;
    h->first = first;
    h->ctx = ctx;
}

void iheap_push(iheap *h, int x)
{
    int i;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->v = xrealloc(h->v, sizeof(int) * (size_t)h->cap);
    }
    i = h->n++;
    h->v[i] = x;
    while (i > 0) {
        int p = (i - 1) / 2, t;
        if (!h->first(h->ctx, h->v[i], h->v[p]))
            break;
        t = h->v[p];
        h->v[p] = h->v[i];
        h->v[i] = t;
        i = p;
    }
}

static void sift_down(iheap *h, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i, t;
        if (l < h->n && h->first(h->ctx, h->v[l], h->v[m]))
            m = l;
        if (r < h->n && h->first(h->ctx, h->v[r], h->v[m]))
            m = r;
        if (m == i)
            break;
        t = h->v[m];
        h->v[m] = h->v[i];
        h->v[i] = t;
        i = m;
    }
}

int iheap_pop(iheap *h)
{
    int top = h->v[0];
    h->v[0] = h->v[--h->n];
    sift_down(h, 0);
    return top;
}

void iheap_rebuild(iheap *h)
{
    for (int k = h->n / 2 - 1; k >= 0; k--)
        sift_down(h, k);
}

void iheap_free(iheap *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}
