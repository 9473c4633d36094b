/* The pool of agent hosts: placement and the loss rule (pool.h). */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

struct pool {
    int64_t lost_ms;
    int n;
    pool_host h[POOL_MAX_HOSTS];
};

pool *pool_create(int64_t lost_ms)
{
    pool *p = calloc(1, sizeof(*p));
    if (p)
        p->lost_ms = lost_ms > 0 ? lost_ms : POOL_DEF_LOST_MS;
    return p;
}

void pool_destroy(pool *p)
{
    free(p);
}

static pool_host *find(pool *p, const char *host)
{
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->h[i].ad.host, host))
            return &p->h[i];
    return NULL;
}

pool_event pool_advert(pool *p, const hostad *ad, int64_t now_ms, hostad *previous)
{
    pool_host *h = find(p, ad->host);
    pool_event ev;
    if (!h) {
        if (p->n == POOL_MAX_HOSTS)
            return POOL_NO_ROOM;
        h = &p->h[p->n++];
        memset(h, 0, sizeof(*h));
        h->joined_ms = now_ms;
        ev = POOL_JOINED;
    } else if (h->lost) {
        ev = POOL_REJOINED;
        h->joined_ms = now_ms;
    } else if (strcmp(h->ad.nonce, ad->nonce)) {
        ev = POOL_RESTARTED;
        if (previous)
            *previous = h->ad;
    } else {
        ev = POOL_UPDATED;
    }
    h->ad = *ad;
    for (int t = 0; t < NAMES_AGENT_TYPES; t++)
        if (ev == POOL_REJOINED || now_ms - h->reserved_at[t] > POOL_RESERVE_MS)
            h->reserved[t] = 0;
    h->seen_ms = now_ms;
    h->lost = 0;
    return ev;
}

int pool_host_used(const pool_host *h)
{
    int used = 0;
    for (int t = 0; t < NAMES_AGENT_TYPES; t++)
        used += h->ad.running[t] + h->reserved[t];
    return used;
}

static int of_type(const pool_host *h, int t)
{
    return h->ad.running[t] + h->reserved[t];
}

static int live(const pool *p, const pool_host *h, int64_t now_ms)
{
    return !h->lost && now_ms - h->seen_ms <= p->lost_ms / 2;
}

/* Agents of type t the host can still start: its free slots, and its
 * bound for t when it has one. */
static int room(const pool_host *h, int t)
{
    int free_slots = h->ad.slots - pool_host_used(h);
    if (h->ad.cap[t] && h->ad.cap[t] - of_type(h, t) < free_slots)
        free_slots = h->ad.cap[t] - of_type(h, t);
    return free_slots > 0 ? free_slots : 0;
}

/* Whether a is a better place than b for an agent of type t. */
static int better(const pool_host *a, const pool_host *b, int t)
{
    int fa = a->ad.slots - pool_host_used(a), fb = b->ad.slots - pool_host_used(b);
    if (fa != fb)
        return fa > fb;
    if (of_type(a, t) != of_type(b, t))
        return of_type(a, t) < of_type(b, t);
    return strcmp(a->ad.host, b->ad.host) < 0;
}

const char *pool_place(pool *p, int type, int64_t now_ms)
{
    pool_host *best = NULL;
    if (type <= 0 || type >= NAMES_AGENT_TYPES)
        return NULL;
    for (int i = 0; i < p->n; i++) {
        pool_host *h = &p->h[i];
        if (live(p, h, now_ms) && room(h, type) > 0 && (!best || better(h, best, type)))
            best = h;
    }
    if (!best)
        return NULL;
    best->reserved[type]++;
    best->reserved_at[type] = now_ms;
    return best->ad.host;
}

int pool_room(const pool *p, int type, int64_t now_ms)
{
    int n = 0;
    if (type <= 0 || type >= NAMES_AGENT_TYPES)
        return 0;
    for (int i = 0; i < p->n; i++)
        if (live(p, &p->h[i], now_ms))
            n += room(&p->h[i], type);
    return n;
}

int pool_expire(pool *p, int64_t now_ms, void (*lost)(void *ctx, const pool_host *h), void *ctx)
{
    int k = 0;
    for (int i = 0; i < p->n; i++) {
        pool_host *h = &p->h[i];
        if (h->lost || now_ms - h->seen_ms <= p->lost_ms)
            continue;
        h->lost = 1;
        memset(h->reserved, 0, sizeof(h->reserved));
        k++;
        if (lost)
            lost(ctx, h);
    }
    return k;
}

int pool_count(const pool *p)
{
    return p->n;
}

const pool_host *pool_at(const pool *p, int i)
{
    return i >= 0 && i < p->n ? &p->h[i] : NULL;
}

const pool_host *pool_owner(const pool *p, const char *instance)
{
    for (int i = 0; i < p->n; i++)
        for (int k = 0; k < p->h[i].ad.n_instances; k++)
            if (!strcmp(p->h[i].ad.instances[k], instance))
                return &p->h[i];
    return NULL;
}
