#include "checker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "text.h"

typedef struct {
    char *id;
    char *status;        /* NULL: the scheduler has no state */
    char twice[160];     /* what of it was stored twice, or "" */
    uint64_t reported;   /* per type and attempt the largest report, summed */
    uint64_t charged;    /* what the scheduler's ledger charged for it */
    unsigned final_attempt;
    char commit[64];     /* the final state's delivery commit */
    char verified[64];   /* a genuine passing verdict of the final attempt: its commit ("-" when it named none) */
} item;

typedef struct {
    char key[32];
    char who[80];      /* holder, or the instance that acted */
    char what[120];    /* acts only */
    int64_t at;
} event;

typedef struct {
    event *e;
    int n, cap;
} events;

static void events_add(events *v, const char *key, const char *who, const char *what, int64_t at)
{
    event *e;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 256;
        v->e = xrealloc(v->e, sizeof(event) * (size_t)v->cap);
    }
    e = &v->e[v->n++];
    snprintf(e->key, sizeof(e->key), "%s", key);
    snprintf(e->who, sizeof(e->who), "%s", who ? who : "");
    snprintf(e->what, sizeof(e->what), "%s", what ? what : "");
    e->at = at;
}

struct checker {
    events leases, acts;
    strmap *index;       /* id -> item */
    item *it;
    int n, cap;
    strmap *dispatches;  /* dispatch key -> times stored */
    strmap *results;     /* result key -> index into tokens */
    uint64_t *tokens;
    int ntok, captok;
    long foreign, forged_verdicts;
    /* genuine passing verdicts: "<id> a<attempt>" -> index into pass_commit */
    strmap *passes;
    char (*pass_commit)[64];
    int npass, cappass;
};

checker *ck_create(void)
{
    checker *c = xcalloc(1, sizeof(*c));
    c->index = strmap_create();
    c->dispatches = strmap_create();
    c->results = strmap_create();
    c->passes = strmap_create();
    return c;
}

void ck_destroy(checker *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++) {
        free(c->it[i].id);
        free(c->it[i].status);
    }
    free(c->it);
    free(c->tokens);
    free(c->leases.e);
    free(c->acts.e);
    strmap_destroy(c->index);
    strmap_destroy(c->dispatches);
    strmap_destroy(c->results);
    strmap_destroy(c->passes);
    free(c->pass_commit);
    free(c);
}

static item *find(const checker *c, const char *id)
{
    int i;
    return strmap_get(c->index, id, &i) ? &c->it[i] : NULL;
}

void ck_submitted(checker *c, const char *id)
{
    if (find(c, id))
        return;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->it = xrealloc(c->it, sizeof(item) * (size_t)c->cap);
    }
    memset(&c->it[c->n], 0, sizeof(item));
    c->it[c->n].id = xstrdup(id);
    strmap_put(c->index, id, c->n++);
}

void ck_dispatched(checker *c, const char *type, const char *id, unsigned attempt, const char *msg_id)
{
    char key[400];
    int times = 0;
    item *x = find(c, id);
    if (msg_id && *msg_id)
        snprintf(key, sizeof(key), "%s %s", type, msg_id);
    else
        snprintf(key, sizeof(key), "%s %s a%u", type, id, attempt);
    strmap_get(c->dispatches, key, &times);
    strmap_put(c->dispatches, key, ++times);
    if (!x)
        c->foreign++;
    if (times > 1 && x)
        snprintf(x->twice, sizeof(x->twice), "dispatch %s stored %d times", key, times);
}

void ck_result(checker *c, const char *type, const char *id, unsigned attempt, uint64_t tokens)
{
    char key[400];
    int k;
    item *x = find(c, id);
    snprintf(key, sizeof(key), "%s %s a%u", type, id, attempt);
    if (strmap_get(c->results, key, &k)) {
        if (x)
            snprintf(x->twice, sizeof(x->twice), "result %s stored twice", key);
        if (tokens > c->tokens[k]) {
            if (x)
                x->reported += tokens - c->tokens[k];
            c->tokens[k] = tokens;
        }
        return;
    }
    if (c->ntok == c->captok) {
        c->captok = c->captok ? c->captok * 2 : 256;
        c->tokens = xrealloc(c->tokens, sizeof(uint64_t) * (size_t)c->captok);
    }
    c->tokens[c->ntok] = tokens;
    strmap_put(c->results, key, c->ntok++);
    if (x)
        x->reported += tokens;
}

void ck_final(checker *c, const char *id, const char *status, uint64_t charged)
{
    item *x = find(c, id);
    if (!x)
        return;
    free(x->status);
    x->status = xstrdup(status);
    x->charged = charged;
}

void ck_final_attempt(checker *c, const char *id, unsigned attempt, const char *commit)
{
    item *x = find(c, id);
    if (!x)
        return;
    x->final_attempt = attempt;
    snprintf(x->commit, sizeof(x->commit), "%s", commit ? commit : "");
}

void ck_verdict(checker *c, const char *id, unsigned attempt, int pass, const char *commit, int forged)
{
    char key[160];
    int k;
    if (forged) {
        c->forged_verdicts++;
        return;
    }
    if (!pass)
        return;
    snprintf(key, sizeof(key), "%s a%u", id, attempt);
    if (!strmap_get(c->passes, key, &k)) {
        if (c->npass == c->cappass) {
            c->cappass = c->cappass ? c->cappass * 2 : 256;
            c->pass_commit = xrealloc(c->pass_commit, sizeof(*c->pass_commit) * (size_t)c->cappass);
        }
        k = c->npass++;
        strmap_put(c->passes, key, k);
    }
    snprintf(c->pass_commit[k], sizeof(c->pass_commit[k]), "%s", commit && *commit ? commit : "-");
}

/* Whether x, COMPLETE, has its own verified result: a genuine passing
 * verdict of its final attempt, naming the commit its state names. */
static int verified(const checker *c, const item *x)
{
    char key[160];
    int k;
    snprintf(key, sizeof(key), "%s a%u", x->id, x->final_attempt);
    if (!strmap_get(c->passes, key, &k))
        return 0;
    return !*x->commit || !strcmp(c->pass_commit[k], x->commit);
}

void ck_lease(checker *c, const char *key, const char *holder, int64_t at_ms)
{
    events_add(&c->leases, key, holder, NULL, at_ms);
}

void ck_act(checker *c, const char *key, const char *instance, const char *what, int64_t at_ms)
{
    events_add(&c->acts, key, instance, what, at_ms);
}

/* The lease event of key in force at time at (the latest not after it). */
static const event *lease_at(const checker *c, const char *key, int64_t at)
{
    const event *best = NULL;
    for (int i = 0; i < c->leases.n; i++) {
        const event *e = &c->leases.e[i];
        if (e->at <= at && !strcmp(e->key, key) && (!best || e->at >= best->at))
            best = e;
    }
    return best;
}

static void judge_acts(const checker *c, ck_report *r, FILE *detail)
{
    for (int i = 0; i < c->acts.n; i++) {
        const event *a = &c->acts.e[i];
        const event *l = lease_at(c, a->key, a->at);
        if (!l)
            continue;
        r->acts++;
        if (!strcmp(l->who, a->who))
            continue;
        r->unfenced++;
        if (detail)
            fprintf(detail, "checker: %s: '%s' at %lld while %s%s held the %s lease (since %lld)\n", a->who, a->what,
                    (long long)a->at, *l->who ? l->who : "nobody", *l->who ? "" : " (released)", a->key,
                    (long long)l->at);
    }
}

const char *ck_class_name(ck_class k)
{
    static const char *const names[CK_CLASSES] = {"completed", "escalated", "lost", "duplicated", "unknown"};
    return k < CK_CLASSES ? names[k] : "?";
}

void ck_check(const checker *c, ck_report *r, FILE *detail)
{
    memset(r, 0, sizeof(*r));
    r->submitted = c->n;
    for (int i = 0; i < c->n; i++) {
        const item *x = &c->it[i];
        ck_class k = *x->twice                         ? CK_DUPLICATED
                     : !x->status                      ? CK_LOST
                     : !strcmp(x->status, "COMPLETE")  ? CK_COMPLETED
                     : !strcmp(x->status, "ESCALATED") ? CK_ESCALATED
                                                       : CK_UNKNOWN;
        r->n[k]++;
        if (k == CK_COMPLETED && !verified(c, x)) {
            r->unverified++;
            if (detail)
                fprintf(detail, "checker: %s COMPLETE without a genuine passing verdict of attempt %u%s%s\n", x->id,
                        x->final_attempt, *x->commit ? " naming commit " : "", x->commit);
        }
        if (detail && k != CK_COMPLETED && k != CK_ESCALATED)
            fprintf(detail, "checker: %s %s (status %s)%s%s\n", x->id, ck_class_name(k), x->status ? x->status : "none",
                    *x->twice ? ": " : "", x->twice);
        if (x->status && x->charged != x->reported) {
            r->ledger_off++;
            if (detail)
                fprintf(detail, "checker: %s charged %llu tokens, its agents reported %llu\n", x->id,
                        (unsigned long long)x->charged, (unsigned long long)x->reported);
        }
    }
    for (int k = 0; k < c->ntok; k++)
        r->tokens_reported += c->tokens[k];
    r->foreign = c->foreign;
    r->forged_verdicts = c->forged_verdicts;
    if (detail && c->foreign)
        fprintf(detail, "checker: %ld dispatches of ids never submitted\n", c->foreign);
    judge_acts(c, r, detail);
}
