#include "hosttab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hosttab_note(hosttab *t, const hostad *a, int64_t now)
{
    dash_host *h = NULL;
    for (int i = 0; i < t->n && !h; i++)
        if (!strcmp(t->h[i].host, a->host))
            h = &t->h[i];
    if (!h && t->n < HOSTTAB_MAX)
        h = &t->h[t->n++];
    if (!h) { /* full: the one heard longest ago makes room */
        int oldest = 0;
        for (int k = 1; k < t->n; k++)
            if (t->h[k].seen_ms < t->h[oldest].seen_ms)
                oldest = k;
        h = &t->h[oldest];
    }
    memset(h, 0, sizeof(*h));
    snprintf(h->host, sizeof(h->host), "%s", a->host);
    h->slots = a->slots;
    for (int k = 1; k < NAMES_AGENT_TYPES; k++) {
        h->running[k] = a->running[k];
        h->used += a->running[k];
    }
    h->seen_ms = now;
}

static int by_host(const void *a, const void *b)
{
    return strcmp(((const dash_host *)a)->host, ((const dash_host *)b)->host);
}

int hosttab_list(const hosttab *t, int64_t now, int64_t forget_ms, dash_host *out, int max)
{
    int n = 0;
    for (int i = 0; i < t->n && n < max; i++)
        if (now - t->h[i].seen_ms <= forget_ms)
            out[n++] = t->h[i];
    qsort(out, (size_t)n, sizeof(*out), by_host);
    return n;
}
