#include "dag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "text.h"

typedef struct {
    int *v;
    int n, cap;
} ivec;

typedef struct {
    char *id;
    int known;
    int complete;
    int unmet;
    ivec deps;        /* what it depends on */
    ivec dependents;  /* what depends on it */
} node;

struct dag {
    node *n;
    int count, cap;
    strmap *ids;
};

static void ivec_push(ivec *v, int x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4;
        v->v = xrealloc(v->v, sizeof(int) * (size_t)v->cap);
    }
    v->v[v->n++] = x;
}

dag *dag_create(void)
{
    dag *g = xcalloc(1, sizeof(*g));
    g->ids = strmap_create();
    return g;
}

void dag_destroy(dag *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->count; i++) {
        free(g->n[i].id);
        free(g->n[i].deps.v);
        free(g->n[i].dependents.v);
    }
    free(g->n);
    strmap_destroy(g->ids);
    free(g);
}

static int intern(dag *g, const char *id)
{
    int i;
    if (strmap_get(g->ids, id, &i))
        return i;
    if (g->count == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 64;
        g->n = xrealloc(g->n, sizeof(node) * (size_t)g->cap);
    }
    i = g->count++;
    memset(&g->n[i], 0, sizeof(node));
    g->n[i].id = xstrdup(id);
    strmap_put(g->ids, id, i);
    return i;
}

int dag_find(const dag *g, const char *id)
{
    int i;
    return strmap_get(g->ids, id, &i) ? i : -1;
}

/* Is target reachable from start by following dependents? Fills prev[] for
 * the path. Iterative DFS over the dependents of start. */
static int reaches(const dag *g, int start, int target, int *prev, unsigned char *seen)
{
    int *stack = xmalloc(sizeof(int) * (size_t)(g->count + 1));
    int sp = 0, found = 0;
    stack[sp++] = start;
    seen[start] = 1;
    prev[start] = -1;
    while (sp && !found) {
        int x = stack[--sp];
        for (int k = 0; k < g->n[x].dependents.n; k++) {
            int y = g->n[x].dependents.v[k];
            if (seen[y])
                continue;
            seen[y] = 1;
            prev[y] = x;
            if (y == target) {
                found = 1;
                break;
            }
            stack[sp++] = y;
        }
    }
    free(stack);
    return found;
}

/* Would "node depends on dep" close a cycle? Only if node is reachable from
 * ... i.e. dep is among node's transitive dependents (or is node). */
static int cycle_check(dag *g, int nodei, int depi, char *buf, size_t len)
{
    int *prev;
    unsigned char *seen;
    int found;

    if (nodei == depi) {
        snprintf(buf, len, "%s -> %s", g->n[nodei].id, g->n[nodei].id);
        return 1;
    }
    if (g->n[nodei].dependents.n == 0)
        return 0;
    prev = xmalloc(sizeof(int) * (size_t)g->count);
    seen = xcalloc((size_t)g->count, 1);
    found = reaches(g, nodei, depi, prev, seen);
    if (found) {
        /* The path node <- ... <- dep by dependents means dep depends on ...
         * on node; with the new edge node -> dep it closes. Written in
         * dependency direction: node -> dep -> ... -> node. */
        size_t used = (size_t)snprintf(buf, len, "%s", g->n[nodei].id);
        for (int x = depi; x != -1 && used < len; x = prev[x])
            used += (size_t)snprintf(buf + used, len - used, " -> %s", g->n[x].id);
    }
    free(prev);
    free(seen);
    return found;
}

static void link(dag *g, int nodei, int depi)
{
    for (int k = 0; k < g->n[nodei].deps.n; k++)
        if (g->n[nodei].deps.v[k] == depi)
            return; /* already there */
    ivec_push(&g->n[nodei].deps, depi);
    ivec_push(&g->n[depi].dependents, nodei);
    if (!g->n[depi].complete)
        g->n[nodei].unmet++;
}

int dag_add(dag *g, const char *id, const char *const *deps, int ndeps, int *index, char *buf, size_t len)
{
    int nodei = dag_find(g, id);
    int *depi;

    if (nodei >= 0 && g->n[nodei].known) {
        *index = nodei;
        return DAG_DUPLICATE;
    }
    /* Check every edge before changing anything. */
    depi = xmalloc(sizeof(int) * (size_t)(ndeps + 1));
    if (nodei < 0)
        nodei = intern(g, id);
    for (int i = 0; i < ndeps; i++) {
        int d = dag_find(g, deps[i]);
        if (d >= 0 && cycle_check(g, nodei, d, buf, len)) {
            /* Leave no trace: a fresh node with no dependents is removed. */
            if (nodei == g->count - 1 && g->n[nodei].dependents.n == 0 && !g->n[nodei].known) {
                strmap_del(g->ids, id);
                free(g->n[nodei].id);
                g->count--;
            }
            free(depi);
            return DAG_CYCLE;
        }
        if (d < 0 && strcmp(deps[i], id) == 0) {
            snprintf(buf, len, "%s -> %s", id, id);
            free(depi);
            return DAG_CYCLE;
        }
        depi[i] = d;
    }
    for (int i = 0; i < ndeps; i++)
        link(g, nodei, depi[i] >= 0 ? depi[i] : intern(g, deps[i]));
    g->n[nodei].known = 1;
    free(depi);
    *index = nodei;
    return DAG_OK;
}

int dag_add_dep(dag *g, int nodei, const char *dep, char *buf, size_t len)
{
    int d = dag_find(g, dep);
    if (d >= 0 && cycle_check(g, nodei, d, buf, len))
        return DAG_CYCLE;
    link(g, nodei, d >= 0 ? d : intern(g, dep));
    return DAG_OK;
}

const char *dag_id(const dag *g, int i) { return g->n[i].id; }
int dag_known(const dag *g, int i) { return g->n[i].known; }
int dag_complete_p(const dag *g, int i) { return g->n[i].complete; }
int dag_unmet(const dag *g, int i) { return g->n[i].unmet; }
int dag_ndeps(const dag *g, int i) { return g->n[i].deps.n; }
int dag_dep(const dag *g, int i, int k) { return g->n[i].deps.v[k]; }
size_t dag_count(const dag *g) { return (size_t)g->count; }
int dag_ndependents(const dag *g, int i) { return g->n[i].dependents.n; }
int dag_dependent(const dag *g, int i, int k) { return g->n[i].dependents.v[k]; }

void dag_complete(dag *g, int i, void (*ready)(int node, void *arg), void *arg)
{
    if (g->n[i].complete)
        return;
    g->n[i].complete = 1;
    for (int k = 0; k < g->n[i].dependents.n; k++) {
        int d = g->n[i].dependents.v[k];
        if (--g->n[d].unmet == 0 && g->n[d].known && ready)
            ready(d, arg);
    }
}

void dag_blockers(const dag *g, int i, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < g->n[i].deps.n && used < len; k++) {
        const node *d = &g->n[g->n[i].deps.v[k]];
        if (d->complete)
            continue;
        used += (size_t)snprintf(buf + used, len - used, "%s%s%s", used ? ", " : "", d->id,
                                 d->known ? "" : " (unknown)");
    }
}

void dag_longest(const dag *g, int64_t (*weight)(int node, void *arg), void *arg, int64_t *ef)
{
    int *indeg = xmalloc(sizeof(int) * (size_t)(g->count + 1));
    int *queue = xmalloc(sizeof(int) * (size_t)(g->count + 1));
    int head = 0, tail = 0;

    for (int i = 0; i < g->count; i++) {
        indeg[i] = g->n[i].deps.n;
        ef[i] = 0;
        if (indeg[i] == 0)
            queue[tail++] = i;
    }
    while (head < tail) {
        int x = queue[head++];
        int64_t start = 0;
        for (int k = 0; k < g->n[x].deps.n; k++)
            if (ef[g->n[x].deps.v[k]] > start)
                start = ef[g->n[x].deps.v[k]];
        ef[x] = start + weight(x, arg);
        for (int k = 0; k < g->n[x].dependents.n; k++) {
            int y = g->n[x].dependents.v[k];
            if (--indeg[y] == 0)
                queue[tail++] = y;
        }
    }
    free(indeg);
    free(queue);
}

int dag_critical_path(const dag *g, const int64_t *ef, int *path, int max)
{
    int end = -1, n = 0;
    for (int i = 0; i < g->count; i++)
        if (end < 0 || ef[i] > ef[end])
            end = i;
    /* Walk back through the dependency that finishes last. */
    for (int x = end; x >= 0 && n < max;) {
        int next = -1;
        path[n++] = x;
        for (int k = 0; k < g->n[x].deps.n; k++) {
            int d = g->n[x].deps.v[k];
            if (next < 0 || ef[d] > ef[next])
                next = d;
        }
        x = next;
    }
    for (int i = 0; i < n / 2; i++) {
        int t = path[i];
        path[i] = path[n - 1 - i];
        path[n - 1 - i] = t;
    }
    return n;
}
