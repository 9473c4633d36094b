/* Reviews and merges: what a review's answer does to verified work, when an
 * approved change goes to the release agent (only after the changes it
 * depends on, several at once as one batch in dependency order), and what
 * the release agent's answer does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

/* Whether node's change is merged (or needs none: a split original stands
 * for its parts). */
static int merged(const sched *s, int node)
{
    int i = entry_at(s, node);
    if (i == PRUNED)
        return 1; /* only requirements whose merge went out are let go */
    if (i < 0)
        return 0;
    if (s->e[i]->alias) {
        for (int k = 0; k < dag_ndeps(s->g, node); k++)
            if (!merged(s, dag_dep(s->g, node, k)))
                return 0;
        return 1;
    }
    return s->e[i]->merge_released;
}

/* Every approved requirement whose dependencies' merges are out goes out,
 * repeatedly, so one approval can release a whole chain; all of them as one
 * batch, in dependency order. */
void merge_pass(sched *s, const sched_clock *now)
{
    int *batch = NULL, n = 0, added;
    char name[32];

    do {
        added = 0;
        for (int i = 0; i < s->n; i++) {
            pb_state *st = s->e[i];
            int node, ok = 1;
            if (!st || st->alias || st->merge_released || st->review != ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED)
                continue;
            node = dag_find(s->g, st->id);
            for (int k = 0; k < dag_ndeps(s->g, node) && ok; k++)
                ok = merged(s, dag_dep(s->g, node, k));
            if (!ok)
                continue;
            st->merge_released = 1;
            batch = xrealloc(batch, sizeof(int) * (size_t)(n + 1));
            batch[n++] = i;
            added = 1;
        }
    } while (added);
    if (n == 0)
        return;
    snprintf(name, sizeof(name), "merge-%d", ++s->mg.batches);
    for (int k = 0; k < n; k++) {
        pb_state *st = s->e[batch[k]];
        char msg_id[160];
        admit_dispatch_id(st, T_RELEASE, 0, msg_id, sizeof(msg_id));
        pb_set_str(&st->merge_batch, name);
        sched_save(s, st, now);
        if (s->out.merge)
            s->out.merge(s->out.ctx, st, name, n, msg_id);
    }
    free(batch);
}

/* A review agent's answer on verified work: its cost on the ledger, then
 * back to the author with the reviewer's words, or on to the merge. */
void merge_review_answered(sched *s, int i, const pb_result *r, const sched_from *from, const sched_clock *now)
{
    pb_state *st = s->e[i];
    ledger_charge_review(s, st, r, from, now);
    if (r->review == ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_CHANGES_REQUESTED) {
        char out[OUTPUT_MAX / 4];
        snprintf(out, sizeof(out), "review requested changes: %s", r->summary);
        st->status = ST_VERIFYING; /* so sched_send_back accounts it as work in hand */
        sched_send_back(s, i, out, 1, 0, now);
        return;
    }
    st->review = ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED;
    sched_reason(st, WK(MERGE), "merge: review approved, awaiting the merge");
    sched_save(s, st, now);
    merge_pass(s, now);
}

/* The release agent merged it: recorded once, with what it cost. */
void merge_done(sched *s, int i, const pb_result *r, const sched_clock *now)
{
    pb_state *st = s->e[i];
    Orchestrator__V1__Delivery *d = sched_delivery(st);
    if (d->merged)
        return;
    d->merged = 1;
    pb_set_str(&d->merged_ref, r->ref);
    ledger_charge_cost(s, T_RELEASE, r->cost_micro_usd, now);
    sched_reason(st, WK(UNSPECIFIED), "merged: %.200s", *r->summary ? r->summary : "by the release agent");
    sched_save(s, st, now);
}

/* The release agent could not merge it (a conflict, a failing merged
 * state): back to its author as the next attempt, with the exact output. */
void merge_refused(sched *s, int i, const pb_error *e, const sched_clock *now)
{
    pb_state *st = s->e[i];
    char *out;
    size_t n = strlen(e->message) + 64;
    if (st->status != ST_COMPLETE || (st->delivery && st->delivery->merged))
        return;
    out = xmalloc(n);
    snprintf(out, n, "the merge was refused: %s", e->message);
    st->status = ST_VERIFYING; /* so sched_send_back accounts it as work in hand */
    sched_send_back(s, i, out, 1, 0, now);
    free(out);
}
