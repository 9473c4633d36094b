/* Rebuilding after a restart: a new leader reads every saved state, the
 * day's unattributed use and cost per type, and what the last leader
 * learned (sched_restore_budget and sched_restore_learned live with the
 * ledger and the learned figures), then sched_resume decides what the saved
 * states imply: ready work back in its queue, work in flight back in the
 * window and the budget's reservations, a dispatch decided but not
 * confirmed published again (its message id makes a second copy a no-op),
 * blocked work freed by what completed meanwhile, merges due, and a first
 * tick. */
#include <string.h>

#include "sched_int.h"

void sched_restore(sched *s, pb_state *st)
{
    int node;
    char buf[512];
    pb_requirement *r = st->requirement;
    if (!r || dag_add(s->g, st->id, (const char *const *)r->dependencies, (int)r->n_dependencies, &node, buf,
                      sizeof(buf)) != DAG_OK) {
        orchestrator__v1__requirement_state__free_unpacked(st, NULL);
        return;
    }
    sched_map_node(s, node, sched_new_entry(s, st));
    if (st->order >= s->next_order)
        s->next_order = st->order + 1;
    ledger_restore_state(s, st);
}

/* Decided but not confirmed: publish again; the message id makes a second
 * copy a no-op. */
static void republish(sched *s, int i, const sched_clock *now)
{
    pb_state *st = s->e[i];
    char msg_id[160], why[ERR_LEN] = "";
    int rc;
    admit_dispatch_id(st, type_of(st), 0, msg_id, sizeof(msg_id));
    rc = s->out.dispatch(s->out.ctx, st, msg_id, why);
    if (rc == 0) {
        st->published = 1;
        sched_save(s, st, now);
    } else if (rc == SCHED_REFUSED) {
        release_leave_flight(s, i);
        release_reject_unpublishable(s, i, why, now);
    }
}

/* A review or a merge asked for by a leader that died between storing the
 * decision and publishing it would never come: nothing else asks again,
 * and the work would wait in review or merge for ever. So a new leader asks
 * again for every one not answered yet; the message id (the same as the
 * first time) makes JetStream drop a copy within its duplicate window, and
 * past it the agent's claim on that id keeps it from acting twice. */
static void ask_again(sched *s, const pb_state *st)
{
    char msg_id[160];
    if (st->status == ST_REVIEWING && st->review_requested && !st->review && s->out.review) {
        admit_dispatch_id(st, T_REVIEW, 0, msg_id, sizeof(msg_id));
        s->out.review(s->out.ctx, st, msg_id);
    } else if (st->status == ST_MERGING && st->merge_released && !(st->delivery && st->delivery->merged) &&
               s->out.merge) {
        admit_dispatch_id(st, T_RELEASE, 0, msg_id, sizeof(msg_id));
        s->out.merge(s->out.ctx, st, st->merge_batch, 1, msg_id);
    }
}

void sched_resume(sched *s, const sched_clock *now)
{
    int learned = 0;
    for (int i = 0; i < s->n; i++)
        if (s->e[i] && s->e[i]->status == ST_COMPLETE)
            dag_complete(s->g, dag_find(s->g, s->e[i]->id), NULL, NULL);
    for (int i = 0; i < s->n; i++) {
        pb_state *st = s->e[i];
        if (!st)
            continue;
        switch ((int)st->status) {
        case ST_READY:
            release_push(s, i);
            break;
        case ST_DISPATCHED:
        case ST_VERIFYING:
            budget_reserve(&s->led.b, type_of(st), st->reserved_tokens);
            release_enter_flight(s, i);
            if (st->status == ST_DISPATCHED && !st->published && s->out.dispatch)
                republish(s, i, now);
            break;
        case ST_REVIEWING:
        case ST_MERGING:
            release_enter_flight(s, i); /* no window slot: it was started */
            if (st->review == ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED && !st->merge_released)
                merge_note_approved(s, i);
            ask_again(s, st);
            if (!s->rk.learn_restored) /* verified: learned from */
                learned += forecast_learn_from(s, st);
            break;
        case ST_COMPLETE:
            if (!s->rk.learn_restored)
                learned += forecast_learn_from(s, st);
            break;
        default:
            break;
        }
    }
    /* Blocked work whose dependencies completed meanwhile. */
    for (int i = 0; i < s->n; i++)
        if (s->e[i] && s->e[i]->status == ST_BLOCKED && dag_unmet(s->g, dag_find(s->g, s->e[i]->id)) == 0)
            sched_make_ready(s, i, now);
    if (learned)
        forecast_persist_learned(s); /* figures learned from the states, kept from now on */
    s->rk.stale = 1;
    ledger_check_conservation(s, now);
    merge_pass(s, now);
    sched_tick(s, now);
}
