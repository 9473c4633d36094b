#include "agents.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

struct agents {
    agent_entry *e;
    int n, cap;
    int64_t idle_ms;
};

agents *agents_create(int cap, int64_t idle_ms)
{
    agents *a = xcalloc(1, sizeof(*a));
    a->cap = cap > 0 ? cap : 1;
    a->idle_ms = idle_ms;
    a->e = xcalloc((size_t)a->cap, sizeof(*a->e));
    return a;
}

void agents_destroy(agents *a)
{
    if (!a)
        return;
    free(a->e);
    free(a);
}

static int find(const agents *a, const char *instance)
{
    for (int i = 0; i < a->n; i++)
        if (!strcmp(a->e[i].instance, instance))
            return i;
    return -1;
}

static int holding(const agent_entry *x, agents_holds_fn holds, void *arg)
{
    return x->requirement[0] && holds && holds(x->requirement, arg);
}

agents_result agents_note(agents *a, const char *instance, int type, const char *requirement, int64_t now,
                          agents_holds_fn holds, void *arg, char *evicted, size_t len)
{
    agents_result r = AGENTS_SEEN;
    int i = find(a, instance);
    agent_entry *x;

    if (i < 0) {
        if (a->n < a->cap) {
            i = a->n++;
            r = AGENTS_ADDED;
        } else {
            /* the idle instance heard longest ago gives way */
            for (int k = 0; k < a->n; k++)
                if (!holding(&a->e[k], holds, arg) && (i < 0 || a->e[k].last_seen_ms < a->e[i].last_seen_ms))
                    i = k;
            if (i < 0)
                return AGENTS_FULL;
            if (evicted && len)
                snprintf(evicted, len, "%s", a->e[i].instance);
            r = AGENTS_EVICTED;
        }
        x = &a->e[i];
        memset(x, 0, sizeof(*x));
        snprintf(x->instance, sizeof(x->instance), "%s", instance);
    }
    x = &a->e[i];
    if (type)
        x->type = type;
    x->last_seen_ms = now;
    snprintf(x->requirement, sizeof(x->requirement), "%s", requirement ? requirement : "");
    return r;
}

void agents_touch(agents *a, const char *instance, int64_t now)
{
    int i = find(a, instance);
    if (i >= 0)
        a->e[i].last_seen_ms = now;
}

int agents_sweep(agents *a, int64_t now, agents_holds_fn holds, void *arg)
{
    int dropped = 0;
    for (int i = 0; i < a->n;) {
        if (now - a->e[i].last_seen_ms >= a->idle_ms && !holding(&a->e[i], holds, arg)) {
            a->e[i] = a->e[--a->n]; /* order does not matter */
            dropped++;
        } else {
            i++;
        }
    }
    return dropped;
}

const agent_entry *agents_all(const agents *a, int *n)
{
    *n = a->n;
    return a->e;
}

const agent_entry *agents_find(const agents *a, const char *instance)
{
    int i = find(a, instance);
    return i >= 0 ? &a->e[i] : NULL;
}

int agents_cap(const agents *a) { return a->cap; }
