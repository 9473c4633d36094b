#include "overlap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "text.h"

typedef struct {
    int *v;
    int n, cap;
} ilist;

typedef struct {
    char **paths;
    int n;
    int live;
} held;

struct overlap {
    strmap *exact;    /* path -> list */
    strmap *under;    /* directory prefix -> list of who holds something under it */
    ilist *lists;
    int nlists, caplists;
    held *h;          /* by req */
    int nh;
};

static int is_dir(const char *p)
{
    size_t n = strlen(p);
    return n > 0 && p[n - 1] == '/';
}

/* a covers b: equal, or a is a directory and b lies under it. */
static int covers(const char *a, const char *b)
{
    size_t n = strlen(a);
    return strcmp(a, b) == 0 || (is_dir(a) && strncmp(a, b, n) == 0);
}

static int shared(const char *a, const char *const *b, int nb)
{
    for (int i = 0; i < nb; i++)
        if (covers(a, b[i]) || covers(b[i], a))
            return 1;
    return 0;
}

double overlap_ratio(const char *const *a, int na, const char *const *b, int nb)
{
    int both = 0;
    if (na == 0 || nb == 0)
        return 0.0;
    for (int i = 0; i < na; i++)
        both += shared(a[i], b, nb);
    return (double)both / (double)(na < nb ? na : nb);
}

overlap *overlap_create(void)
{
    overlap *o = xcalloc(1, sizeof(*o));
    o->exact = strmap_create();
    o->under = strmap_create();
    return o;
}

static void clear_held(held *h)
{
    for (int i = 0; i < h->n; i++)
        free(h->paths[i]);
    free(h->paths);
    memset(h, 0, sizeof(*h));
}

void overlap_destroy(overlap *o)
{
    if (!o)
        return;
    for (int i = 0; i < o->nlists; i++)
        free(o->lists[i].v);
    free(o->lists);
    for (int i = 0; i < o->nh; i++)
        clear_held(&o->h[i]);
    free(o->h);
    strmap_destroy(o->exact);
    strmap_destroy(o->under);
    free(o);
}

static ilist *list_of(overlap *o, strmap *m, const char *key, int create)
{
    int i;
    if (strmap_get(m, key, &i))
        return &o->lists[i];
    if (!create)
        return NULL;
    if (o->nlists == o->caplists) {
        o->caplists = o->caplists ? o->caplists * 2 : 64;
        o->lists = xrealloc(o->lists, sizeof(ilist) * (size_t)o->caplists);
    }
    i = o->nlists++;
    memset(&o->lists[i], 0, sizeof(ilist));
    strmap_put(m, key, i);
    return &o->lists[i];
}

static void list_add(ilist *l, int x)
{
    for (int i = 0; i < l->n; i++)
        if (l->v[i] == x)
            return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = xrealloc(l->v, sizeof(int) * (size_t)l->cap);
    }
    l->v[l->n++] = x;
}

static void list_del(ilist *l, int x)
{
    for (int i = 0; l && i < l->n; i++)
        if (l->v[i] == x) {
            l->v[i] = l->v[--l->n];
            return;
        }
}

/* Calls fn for every directory prefix of p: "src/", "src/api/" (and p
 * itself when it is a directory). */
static void each_prefix(const char *p, void (*fn)(overlap *, const char *, int, int), overlap *o, int req, int add)
{
    char buf[1100];
    size_t n = strlen(p);
    if (n >= sizeof(buf))
        n = sizeof(buf) - 1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '/') {
            memcpy(buf, p, i + 1);
            buf[i + 1] = '\0';
            fn(o, buf, req, add);
        }
    }
}

static void touch_under(overlap *o, const char *prefix, int req, int add)
{
    ilist *l = list_of(o, o->under, prefix, add);
    if (add)
        list_add(l, req);
    else
        list_del(l, req);
}

void overlap_clear(overlap *o, int req)
{
    held *h;
    if (req < 0 || req >= o->nh || !o->h[req].live)
        return;
    h = &o->h[req];
    for (int i = 0; i < h->n; i++) {
        list_del(list_of(o, o->exact, h->paths[i], 0), req);
        each_prefix(h->paths[i], touch_under, o, req, 0);
    }
    clear_held(h);
}

void overlap_set(overlap *o, int req, const char *const *paths, int n)
{
    held *h;
    overlap_clear(o, req);
    if (req >= o->nh) {
        int nh = req + 64;
        o->h = xrealloc(o->h, sizeof(held) * (size_t)nh);
        memset(o->h + o->nh, 0, sizeof(held) * (size_t)(nh - o->nh));
        o->nh = nh;
    }
    h = &o->h[req];
    h->live = 1;
    h->paths = xcalloc((size_t)(n ? n : 1), sizeof(char *));
    for (int i = 0; i < n; i++) {
        h->paths[h->n++] = xstrdup(paths[i]);
        list_add(list_of(o, o->exact, paths[i], 1), req);
        each_prefix(paths[i], touch_under, o, req, 1);
    }
}

/* Candidates for one path: holders of the same path, holders of a directory
 * that covers it, and (for a directory) holders of anything under it. */
static void candidates(const overlap *o, const char *p, ilist *out)
{
    char buf[1100];
    size_t n = strlen(p);
    ilist *l = list_of((overlap *)o, o->exact, p, 0);
    for (int i = 0; l && i < l->n; i++)
        list_add(out, l->v[i]);
    for (size_t i = 0; i < n && i < sizeof(buf) - 1; i++) {
        if (p[i] == '/') {
            memcpy(buf, p, i + 1);
            buf[i + 1] = '\0';
            l = list_of((overlap *)o, o->exact, buf, 0);   /* a held directory above p */
            for (int k = 0; l && k < l->n; k++)
                list_add(out, l->v[k]);
        }
    }
    if (is_dir(p)) {
        l = list_of((overlap *)o, o->under, p, 0);
        for (int i = 0; l && i < l->n; i++)
            list_add(out, l->v[i]);
    }
}

int overlap_find(const overlap *o, const char *const *paths, int n, double threshold, int self, char *buf,
                 size_t len, double *ratio)
{
    ilist cand = {0};
    int found = -1;

    for (int i = 0; i < n; i++)
        candidates(o, paths[i], &cand);
    for (int i = 0; i < cand.n && found < 0; i++) {
        const held *h = &o->h[cand.v[i]];
        double r;
        if (cand.v[i] == self || !h->live)
            continue;
        r = overlap_ratio(paths, n, (const char *const *)h->paths, h->n);
        if (r > threshold) {
            size_t used = 0;
            found = cand.v[i];
            if (ratio)
                *ratio = r;
            if (buf) {
                buf[0] = '\0';
                for (int k = 0; k < n && used < len; k++)
                    if (shared(paths[k], (const char *const *)h->paths, h->n))
                        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", paths[k]);
            }
        }
    }
    free(cand.v);
    return found;
}
