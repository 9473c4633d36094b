/* See reserve.h. */
#include "reserve.h"

#include <stdlib.h>
#include <string.h>

#include "text.h"

void reserve_reset(reserve *r, int free_now)
{
    r->nclaim = 0;
    r->nfrees = 0;
    r->free_now = free_now;
}

void reserve_add_claim(reserve *r, int64_t at, int prio, int64_t key, int entry)
{
    if (r->nclaim == r->cap_claim) {
        r->cap_claim = r->cap_claim ? r->cap_claim * 2 : 16;
        r->claim = xrealloc(r->claim, sizeof(*r->claim) * (size_t)r->cap_claim);
    }
    r->claim[r->nclaim++] = (reserve_claim){at, prio, key, entry};
}

void reserve_add_busy(reserve *r, int64_t until)
{
    if (r->nfrees == r->cap_frees) {
        r->cap_frees = r->cap_frees ? r->cap_frees * 2 : 16;
        r->frees = xrealloc(r->frees, sizeof(*r->frees) * (size_t)r->cap_frees);
    }
    r->frees[r->nfrees++] = until;
}

static int by_at(const void *a, const void *b)
{
    const reserve_claim *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->entry < y->entry ? -1 : x->entry > y->entry;
}

static int by_time(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

void reserve_ready(reserve *r)
{
    if (r->nclaim > 1)
        qsort(r->claim, (size_t)r->nclaim, sizeof(*r->claim), by_at);
    if (r->nfrees > 1)
        qsort(r->frees, (size_t)r->nfrees, sizeof(*r->frees), by_time);
}

/* c should have an agent before the candidate: it is more urgent, or its
 * upward rank is more than twice the candidate's plus the wait until it is
 * ready. The factor two is the price of uncertainty: an agent kept free is
 * certainly idle for the wait, while the claim is ready when expected only
 * on average (durations spread widely, and one in twenty runs several times
 * its guess); with the bare comparison, layered and fork-join roadmaps
 * ended later (docs/performance.md). */
static int outranks(const reserve_claim *c, int64_t now, int prio, int64_t key)
{
    return c->prio < prio || (c->prio == prio && c->key > 2 * key + (c->at - now));
}

int reserve_holds(const reserve *r, int64_t now, int prio, int64_t key, int64_t dur)
{
    int needs = 0, f = 0;
    for (int k = 0; k < r->nclaim; k++) {
        const reserve_claim *c = &r->claim[k];
        if (c->at >= now + dur)
            break; /* the candidate is done before this one is ready */
        if (!outranks(c, now, prio, key))
            continue;
        needs++;
        while (f < r->nfrees && r->frees[f] <= c->at)
            f++;
        if (r->free_now - 1 + f < needs)
            return c->entry;
    }
    return -1;
}

void reserve_take(reserve *r, int64_t until)
{
    int k;
    r->free_now--;
    reserve_add_busy(r, until);
    for (k = r->nfrees - 1; k > 0 && r->frees[k - 1] > until; k--)
        r->frees[k] = r->frees[k - 1];
    r->frees[k] = until;
}

void reserve_free(reserve *r)
{
    free(r->claim);
    free(r->frees);
    memset(r, 0, sizeof(*r));
}
