#include "outbox.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "text.h"

typedef struct {
    uint8_t *data;
    size_t len;
    int set;
} blob;

typedef struct {
    int bucket;
    char *key;
    blob now;          /* the latest value, not stored yet */
    blob pre;          /* the decision before its latest publish, not stored yet */
    int npubs;         /* messages waiting for this key */
    int released;      /* flush-local: its messages all went out in phase 2 */
} entry;

typedef struct {
    int entry;         /* -1: tied to no key */
    char *subject, *msg_id, *ctype;
    blob data;
    int strikes;       /* flushes it failed while others of its phase were stored */
} message;

struct outbox {
    strmap *index;     /* "<bucket>/<key>" -> entry */
    entry *e;
    int n, cap;
    message *m;        /* in the order they were asked for */
    int nm, capm;
    outbox_drop *gone; /* given up by the last flush */
    int ngone, capgone;
};

static void blob_set(blob *b, const void *data, size_t len)
{
    free(b->data);
    b->data = xmalloc(len ? len : 1);
    if (len)
        memcpy(b->data, data, len);
    b->len = len;
    b->set = 1;
}

static void blob_clear(blob *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->set = 0;
}

static int blob_eq(const blob *a, const blob *b)
{
    return a->set && b->set && a->len == b->len && !memcmp(a->data, b->data, a->len);
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

outbox *outbox_create(void)
{
    outbox *o = xcalloc(1, sizeof(*o));
    o->index = strmap_create();
    return o;
}

static void message_free(message *m)
{
    free(m->subject);
    free(m->msg_id);
    free(m->ctype);
    blob_clear(&m->data);
}

static void gone_clear(outbox *o)
{
    for (int i = 0; i < o->ngone; i++) {
        free(o->gone[i].key);
        free(o->gone[i].subject);
        free(o->gone[i].msg_id);
    }
    o->ngone = 0;
}

/* Keeps what is said of m, given up (its strings move to the list). */
static void give_up(outbox *o, message *m, const char *key)
{
    outbox_drop *d;
    if (o->ngone == o->capgone) {
        o->capgone = o->capgone ? o->capgone * 2 : 8;
        o->gone = xrealloc(o->gone, sizeof(outbox_drop) * (size_t)o->capgone);
    }
    d = &o->gone[o->ngone++];
    d->key = dup_or_null(key);
    d->subject = m->subject;
    d->msg_id = m->msg_id;
    d->len = m->data.len;
    m->subject = NULL;
    m->msg_id = NULL;
}

void outbox_destroy(outbox *o)
{
    if (!o)
        return;
    gone_clear(o);
    free(o->gone);
    for (int i = 0; i < o->n; i++) {
        free(o->e[i].key);
        blob_clear(&o->e[i].now);
        blob_clear(&o->e[i].pre);
    }
    for (int j = 0; j < o->nm; j++)
        message_free(&o->m[j]);
    free(o->e);
    free(o->m);
    strmap_destroy(o->index);
    free(o);
}

static void index_name(int bucket, const char *key, char name[320])
{
    snprintf(name, 320, "%d/%s", bucket, key);
}

static int entry_of(outbox *o, int bucket, const char *key)
{
    char name[320];
    int i;
    index_name(bucket, key, name);
    if (strmap_get(o->index, name, &i))
        return i;
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        o->e = xrealloc(o->e, sizeof(entry) * (size_t)o->cap);
    }
    i = o->n++;
    memset(&o->e[i], 0, sizeof(entry));
    o->e[i].bucket = bucket;
    o->e[i].key = xstrdup(key);
    strmap_put(o->index, name, i);
    return i;
}

void outbox_put(outbox *o, int bucket, const char *key, const void *data, size_t len)
{
    int i = entry_of(o, bucket, key);   /* may move o->e */
    blob_set(&o->e[i].now, data, len);
}

void outbox_publish(outbox *o, int bucket, const char *key, const char *subject, const char *msg_id,
                    const void *data, size_t len, const char *content_type)
{
    message *m;
    int i = -1;
    if (key) {
        entry *e;
        i = entry_of(o, bucket, key);
        e = &o->e[i];
        if (e->now.set)     /* the decision this publish follows */
            blob_set(&e->pre, e->now.data, e->now.len);
        e->npubs++;
    }
    if (o->nm == o->capm) {
        o->capm = o->capm ? o->capm * 2 : 64;
        o->m = xrealloc(o->m, sizeof(message) * (size_t)o->capm);
    }
    m = &o->m[o->nm++];
    memset(m, 0, sizeof(*m));
    m->entry = i;
    m->subject = xstrdup(subject);
    m->msg_id = dup_or_null(msg_id);
    m->ctype = dup_or_null(content_type);
    blob_set(&m->data, data, len);
}

/* The value phase 1 writes for e, or NULL. */
static blob *first_write(entry *e)
{
    if (e->npubs)
        return e->pre.set ? &e->pre : NULL;
    return e->now.set ? &e->now : NULL;
}

/* Writes the chosen value of each entry as one phase. */
static void write_phase(outbox *o, const outbox_io *io, int *slot, int phase)
{
    int k = 0;
    for (int i = 0; i < o->n; i++) {
        entry *e = &o->e[i];
        blob *v = phase == 1 ? first_write(e) : e->released && e->now.set ? &e->now : NULL;
        slot[i] = v ? k++ : -1;
    }
    if (!k)
        return;
    io->begin(io->ctx, k);
    for (int i = 0; i < o->n; i++) {
        entry *e = &o->e[i];
        if (slot[i] >= 0) {
            blob *v = phase == 1 ? first_write(e) : &e->now;
            io->write(io->ctx, slot[i], e->bucket, e->key, v->data, v->len);
        }
    }
    io->wait(io->ctx);
    for (int i = 0; i < o->n; i++) {
        entry *e = &o->e[i];
        if (slot[i] < 0 || !io->ok(io->ctx, slot[i]))
            continue;
        if (phase == 1 && e->npubs) {
            if (blob_eq(&e->now, &e->pre))
                blob_clear(&e->now);
            blob_clear(&e->pre);
        } else {
            blob_clear(&e->now);
        }
    }
}

/* Phase 2: the messages whose key's decision is stored, in order. */
static void publish_phase(outbox *o, const outbox_io *io)
{
    int *slot = xmalloc(sizeof(int) * (size_t)(o->nm ? o->nm : 1));
    int k = 0, kept = 0, stored = 0;
    for (int i = 0; i < o->n; i++)
        o->e[i].released = 0;
    for (int j = 0; j < o->nm; j++) {
        int i = o->m[j].entry;
        slot[j] = i < 0 || !o->e[i].pre.set ? k++ : -1;
    }
    if (k) {
        io->begin(io->ctx, k);
        for (int j = 0; j < o->nm; j++)
            if (slot[j] >= 0)
                io->publish(io->ctx, slot[j], o->m[j].subject, o->m[j].msg_id, o->m[j].data.data, o->m[j].data.len,
                            o->m[j].ctype);
        io->wait(io->ctx);
        for (int j = 0; j < o->nm && !stored; j++)
            stored = slot[j] >= 0 && io->ok(io->ctx, slot[j]);
    }
    for (int j = 0; j < o->nm; j++) {
        int i = o->m[j].entry;
        message *m = &o->m[j];
        if (slot[j] >= 0 && io->ok(io->ctx, slot[j])) {
            if (i >= 0 && --o->e[i].npubs == 0)
                o->e[i].released = 1;
            message_free(m);
        } else if (slot[j] >= 0 && stored && ++m->strikes >= OUTBOX_GIVE_UP) {
            give_up(o, m, i >= 0 ? o->e[i].key : NULL);
            if (i >= 0 && --o->e[i].npubs == 0)
                o->e[i].released = 1; /* its key's later values are written as usual */
            message_free(m);
        } else {
            o->m[kept++] = *m;
        }
    }
    o->nm = kept;
    free(slot);
}

/* Drops the entries with nothing left to write. */
static void compact(outbox *o)
{
    int *to = xmalloc(sizeof(int) * (size_t)(o->n ? o->n : 1));
    int kept = 0;
    strmap_destroy(o->index);
    o->index = strmap_create();
    for (int i = 0; i < o->n; i++) {
        entry *e = &o->e[i];
        if (!e->now.set && !e->pre.set && !e->npubs) {
            free(e->key);
            to[i] = -1;
            continue;
        }
        {
            char name[320];
            index_name(e->bucket, e->key, name);
            strmap_put(o->index, name, kept);
        }
        to[i] = kept;
        o->e[kept++] = *e;
    }
    o->n = kept;
    for (int j = 0; j < o->nm; j++)
        if (o->m[j].entry >= 0)
            o->m[j].entry = to[o->m[j].entry];
    free(to);
}

int outbox_flush(outbox *o, const outbox_io *io)
{
    int *slot = xmalloc(sizeof(int) * (size_t)(o->n ? o->n : 1));
    gone_clear(o);
    write_phase(o, io, slot, 1);
    publish_phase(o, io);
    write_phase(o, io, slot, 3);
    free(slot);
    compact(o);
    return outbox_pending(o);
}

int outbox_pending(const outbox *o)
{
    int loose = 0;
    for (int j = 0; j < o->nm; j++)
        loose += o->m[j].entry < 0;
    return o->n + loose;
}

int outbox_dropped(const outbox *o, const outbox_drop **out)
{
    *out = o->gone;
    return o->ngone;
}
