#include "checker.h"

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
} item;

struct checker {
    strmap *index;       /* id -> item */
    item *it;
    int n, cap;
    strmap *dispatches;  /* dispatch key -> times stored */
    strmap *results;     /* result key -> index into tokens */
    uint64_t *tokens;
    int ntok, captok;
};

checker *ck_create(void)
{
    checker *c = xcalloc(1, sizeof(*c));
    c->index = strmap_create();
    c->dispatches = strmap_create();
    c->results = strmap_create();
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
    strmap_destroy(c->index);
    strmap_destroy(c->dispatches);
    strmap_destroy(c->results);
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
}
