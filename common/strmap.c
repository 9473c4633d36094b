#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "text.h"

static char tomb;  /* address marks a deleted slot */

typedef struct {
    char *key;         /* NULL: empty; &tomb: deleted */
    int value;
} slot;

struct strmap {
    slot *s;
    size_t cap;        /* power of two */
    size_t used;       /* live + tombstones */
    size_t live;
};

static uint64_t hash(const char *k)
{
    return hash_fnv1a64_str(HASH_FNV1A64_INIT, k);
}

strmap *strmap_create(void)
{
    strmap *m = xcalloc(1, sizeof(*m));
    m->cap = 16;
    m->s = xcalloc(m->cap, sizeof(slot));
    return m;
}

void strmap_destroy(strmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        if (m->s[i].key && m->s[i].key != &tomb)
            free(m->s[i].key);
    free(m->s);
    free(m);
}

static slot *find(const strmap *m, const char *key)
{
    size_t i = (size_t)hash(key) & (m->cap - 1);
    for (;;) {
        slot *s = &m->s[i];
        if (!s->key)
            return NULL;
        if (s->key != &tomb && strcmp(s->key, key) == 0)
            return s;
        i = (i + 1) & (m->cap - 1);
    }
}

static void grow(strmap *m)
{
    slot *old = m->s;
    size_t oldcap = m->cap;
    m->cap *= 2;
    m->s = xcalloc(m->cap, sizeof(slot));
    m->used = m->live;
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].key && old[i].key != &tomb) {
            size_t k = (size_t)hash(old[i].key) & (m->cap - 1);
            while (m->s[k].key)
                k = (k + 1) & (m->cap - 1);
            m->s[k] = old[i];
        }
    }
    free(old);
}

void strmap_put(strmap *m, const char *key, int value)
{
    slot *s = find(m, key);
    size_t i;
    if (s) {
        s->value = value;
        return;
    }
    if ((m->used + 1) * 10 >= m->cap * 7)
        grow(m);
    i = (size_t)hash(key) & (m->cap - 1);
    while (m->s[i].key && m->s[i].key != &tomb)
        i = (i + 1) & (m->cap - 1);
    if (!m->s[i].key)
        m->used++;
    m->s[i].key = xstrdup(key);
    m->s[i].value = value;
    m->live++;
}

int strmap_get(const strmap *m, const char *key, int *value)
{
    slot *s = find(m, key);
    if (!s)
        return 0;
    if (value)
        *value = s->value;
    return 1;
}

int strmap_del(strmap *m, const char *key)
{
    slot *s = find(m, key);
    if (!s)
        return 0;
    free(s->key);
    s->key = &tomb;
    m->live--;
    return 1;
}

size_t strmap_count(const strmap *m) { return m->live; }

void strmap_each(const strmap *m, void (*fn)(const char *key, int value, void *arg), void *arg)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->s[i].key && m->s[i].key != &tomb)
            fn(m->s[i].key, m->s[i].value, arg);
}
