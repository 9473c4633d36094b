/* Reviews and merges: what a review's answer does to verified work
 * (REVIEWING), when an approved change (MERGING) goes to the release agent
 * (only after the changes it depends on, several at once as one batch in
 * dependency order), and what the release agent's answer does: merged is
 * COMPLETE, the one state whose dependents may go. */
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
    /* COMPLETE: merged, or work with no change to merge (review, release) */
    return s->e[i]->merge_released || s->e[i]->status == ST_COMPLETE;
}

void merge_note_approved(sched *s, int i)
{
    struct sched_merge *m = &s->mg;
    for (int k = 0; k < m->napproved; k++)
        if (m->approved[k] == i)
            return;
    if (m->napproved == m->capapproved) {
        m->capapproved = m->capapproved ? m->capapproved * 2 : 16;
        m->approved = xrealloc(m->approved, sizeof(int) * (size_t)m->capapproved);
    }
    m->approved[m->napproved++] = i;
}

void merge_free(struct sched_merge *m)
{
    strain_free(m);
    free(m->approved);
    m->approved = NULL;
    m->napproved = m->capapproved = 0;
}

/* Every approved requirement whose dependencies' merges are out goes out,
 * repeatedly, so one approval can release a whole chain; all of them as one
 * batch, in dependency order. Only the approved entries are looked at. */
void merge_pass(sched *s, const sched_clock *now)
{
    struct sched_merge *m = &s->mg;
    int *batch = NULL, n = 0, added;
    char name[32];

    do {
        added = 0;
        for (int k = 0; k < m->napproved;) {
            int i = m->approved[k];
            pb_state *st = i < s->n ? s->e[i] : NULL;
            int node, ok = 1;
            if (!st || st->alias || st->merge_released ||
                st->review != ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED) {
                m->approved[k] = m->approved[--m->napproved]; /* gone, sent back or out: not pending */
                continue;
            }
            node = dag_find(s->g, st->id);
            for (int d = 0; d < dag_ndeps(s->g, node) && ok; d++)
                ok = merged(s, dag_dep(s->g, node, d));
            if (!ok) {
                k++;
                continue;
            }
            st->merge_released = 1;
            batch = xrealloc(batch, sizeof(int) * (size_t)(n + 1));
            batch[n++] = i;
            m->approved[k] = m->approved[--m->napproved];
            added = 1;
        }
    } while (added);
    if (n == 0)
        return;
    if (s->cfg.merge_train) {
        /* in dependency order: a change enters after what it is stacked on */
        for (int k = 0; k < n; k++)
            strain_enqueue(s, batch[k], now);
        strain_step_all(s, now);
        free(batch);
        return;
    }
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
    ledger_charge_review(s, st, r->tokens_used, r->cost_micro_usd, from, now);
    if (r->review == ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_CHANGES_REQUESTED) {
        char out[OUTPUT_MAX / 4];
        snprintf(out, sizeof(out), "review requested changes: %s", r->summary);
        st->status = ST_VERIFYING; /* so sched_send_back accounts it as work in hand */
        sched_send_back(s, i, out, 1, 0, now);
        release_types(s, ~0u, now); /* the files it held are free */
        return;
    }
    st->review = ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED;
    st->status = ST_MERGING;
    sched_reason(st, WK(MERGE), "merge: review approved, awaiting the merge");
    sched_save(s, st, now);
    sched_refresh_dependents(s, i, now);
    merge_note_approved(s, i);
    merge_pass(s, now);
}

/* The release agent merged it: recorded once, with what it cost. Now it is
 * COMPLETE: its files are free and what depends on it may go, built on a
 * base that holds it. */
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
    release_leave_flight(s, i);
    sched_complete(s, i, now);
    release_types(s, ~0u, now); /* its files are free: work of any type may go */
}

/* The release agent could not merge it (a conflict, a failing merged
 * state): back to its author as the next attempt, with the exact output.
 * That is no failure of the author's work, which passed its checks and its
 * review: it does not count against max_attempts, but refusals have their
 * own limit (max_merge_refusals), past which a person decides. */
void merge_refused(sched *s, int i, const pb_error *e, const sched_clock *now)
{
    pb_state *st = s->e[i];
    char *out;
    size_t n = strlen(e->message) + 64;
    if (st->status != ST_MERGING || (st->delivery && st->delivery->merged))
        return;
    out = xmalloc(n);
    snprintf(out, n, "the merge was refused: %s", e->message);
    st->status = ST_VERIFYING; /* so sched_send_back accounts it as work in hand */
    if (++st->merge_refusals > (uint32_t)s->cfg.max_merge_refusals) {
        char why[600];
        snprintf(why, sizeof(why), "the merge was refused %u times; the last: %.400s", st->merge_refusals, e->message);
        pb_set_str(&st->requirement->last_failure_output, out);
        sched_escalate(s, i, why, now);
    } else {
        /* a new attempt that is no failure of the author's: the next one
         * starts from its branch with the base merged in (docs/agents.md) */
        st->attempt_base++;
        sched_send_back(s, i, out, 1, 0, now);
    }
    release_types(s, ~0u, now); /* the files it held are free */
    free(out);
}
