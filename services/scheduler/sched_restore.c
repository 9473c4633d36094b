/* Rebuilding after a restart: a new leader reads every saved state, the
 * day's unattributed use and cost per type, and what the last leader
 * learned (sched_restore_budget and sched_restore_learned live with the
 * ledger and the learned figures), then sched_resume decides what the saved
 * states imply: ready work back in its queue, work in flight back in the
 * window and the budget's reservations, a dispatch decided but not
 * confirmed published again (its message id makes a second copy a no-op),
 * blocked work freed by what completed meanwhile, merges due, and a first
 * tick.
 *
 * A saved state is input like any other: anyone who may write the bucket
 * can put anything there. sched_restore_checked reads it as the edge reads
 * a message before it is believed: its key and id, every text (UTF-8, no
 * control characters, sizes; the requirement by edge_requirement_check),
 * the ids it names, and a status the scheduler can have left it in with
 * the fields it carries (work in flight has an attempt; work in review or
 * merge, or complete, has what the verifier and the release agent said:
 * a COMPLETE state whose change was never merged is not one the scheduler
 * writes). Today's charges it carries obey the bounds of charges
 * (ledger_restore_state). A state that fails is not restored; the adapter
 * keeps it where it is and raises state_quarantined for a person. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "edge.h"
#include "sched_int.h"

#define STATE_TEXT_MAX 4096   /* reason, summary: written by the scheduler from bounded parts */
#define STATE_WORD_MAX 256    /* instance, refs, branch, batch names */
#define STATE_ATTEMPTS_MAX 10000

/* Fills why and returns -1. */
static int bad(char why[ERR_LEN], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(char why[ERR_LEN], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, ERR_LEN, fmt, ap);
    va_end(ap);
    return -1;
}

/* A string of the state: valid UTF-8, at most max bytes, no C0 control
 * (tab and newline allowed when multi_line), no C1 control (U+0080..U+009F:
 * terminals obey some as escapes). */
static int text_ok(const char *field, const char *v, size_t max, int multi_line, char why[ERR_LEN])
{
    size_t n = v ? strlen(v) : 0, at = 0;
    if (n > max)
        return bad(why, "field '%s' is %zu bytes, at most %zu", field, n, max);
    if (!text_utf8_valid(v ? v : "", n, &at))
        return bad(why, "field '%s' is not valid UTF-8 (byte %zu)", field, at);
    if (!text_controls_free(v ? v : "", n, multi_line, &at))
        return bad(why, "field '%s' holds control character 0x%02x at byte %zu", field, (unsigned char)v[at], at);
    for (size_t i = 0; i + 1 < n; i++)
        if ((unsigned char)v[i] == 0xc2 && (unsigned char)v[i + 1] >= 0x80 && (unsigned char)v[i + 1] <= 0x9f)
            return bad(why, "field '%s' holds a C1 control character", field);
    return 0;
}

static int ids_ok(const char *field, char **v, size_t n, char why[ERR_LEN])
{
    char e[160];
    if (n > 256)
        return bad(why, "field '%s' names more ids than allowed", field);
    for (size_t i = 0; i < n; i++)
        if (!text_id_valid(v[i], 64, e, sizeof(e)))
            return bad(why, "field '%s' names an invalid id: %s", field, e);
    return 0;
}

/* Whether status, with the fields st carries, is one the scheduler can
 * have written. */
static int status_ok(const pb_state *st, char why[ERR_LEN])
{
    const Orchestrator__V1__Delivery *d = st->delivery;
    const char *name = names_status(st->status);
    int own_change = type_of(st) != T_REVIEW && type_of(st) != T_RELEASE;
    switch ((int)st->status) {
    case ST_BLOCKED:
    case ST_READY:
    case ST_REJECTED:
    case ST_ESCALATED:
        return 0;
    case ST_DISPATCHED:
    case ST_VERIFYING:
        return st->attempt ? 0 : bad(why, "status %s without an attempt", name);
    case ST_REVIEWING:
    case ST_MERGING:
        if (!st->attempt)
            return bad(why, "status %s without an attempt", name);
        if (st->status == ST_MERGING && st->merge_released &&
            st->review != ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED)
            return bad(why, "status %s: a merge released without an approving review", name);
        return 0;
    case ST_COMPLETE:
        if (st->alias)
            return 0;
        if (!st->attempt)
            return bad(why, "status %s without an attempt", name);
        if (own_change && !(d && d->merged))
            return bad(why, "status %s but its change was never merged (no release agent's report)", name);
        return 0;
    default:
        return bad(why, "status %s is not one the scheduler stores", name);
    }
}

/* Everything but the dependency graph (see the top). */
static int state_ok(pb_state *st, const char *key, char why[ERR_LEN])
{
    char e[ERR_LEN];
    const Orchestrator__V1__Delivery *d = st->delivery;
    pb_requirement *r = st->requirement;
    edge_limits lim;
    char *out;
    size_t at = 0;
    int rc;
    if (!text_id_valid(st->id, 64, e, sizeof(e)))
        return bad(why, "field 'id': %s", e);
    if (key && strcmp(key, st->id) != 0)
        return bad(why, "the state of key %s says it is %s", key, st->id);
    if (!r)
        return bad(why, "no requirement");
    if (strcmp(r->id, st->id) != 0)
        return bad(why, "its requirement is %s, not %s", r->id, st->id);
    if (r->type <= 0 || (int)r->type >= NT)
        return bad(why, "field 'requirement.type' names no agent type (%d)", (int)r->type);
    /* The failure output is the verifier's (it may hold a compiler's
     * escapes); it is escaped wherever it is shown. Only its size and
     * encoding are checked here. */
    out = r->last_failure_output;
    edge_limits_default(&lim);
    if (strlen(out) > lim.max_output || !text_utf8_valid(out, strlen(out), &at))
        return bad(why, "field 'requirement.lastFailureOutput' is too long or not UTF-8");
    r->last_failure_output = (char *)"";
    rc = edge_requirement_check(r, &lim, e);
    r->last_failure_output = out;
    if (rc != EDGE_OK)
        return bad(why, "requirement: %s", e);
    if (st->attempt > STATE_ATTEMPTS_MAX || st->attempt_base > st->attempt)
        return bad(why, "field 'attempt' is out of range");
    if (text_ok("reason", st->reason, STATE_TEXT_MAX, 1, why) || text_ok("instance", st->instance, STATE_WORD_MAX, 0, why) ||
        text_ok("mergeBatch", st->merge_batch, STATE_WORD_MAX, 0, why) ||
        text_ok("chargedDay", st->charged_day, 16, 0, why) || ids_ok("blockedBy", st->blocked_by, st->n_blocked_by, why) ||
        ids_ok("waitIds", st->wait_ids, st->n_wait_ids, why))
        return -1;
    for (size_t i = 0; i < st->n_actual_files; i++)
        if (text_ok("actualFiles", st->actual_files[i], 1024, 0, why))
            return -1;
    if (st->n_actual_files > 4096)
        return bad(why, "field 'actualFiles' has too many entries");
    if (d && (text_ok("delivery.project", d->project, STATE_WORD_MAX, 0, why) ||
              text_ok("delivery.ref", d->ref, STATE_WORD_MAX, 0, why) ||
              text_ok("delivery.summary", d->summary, STATE_TEXT_MAX, 1, why) ||
              text_ok("delivery.commit", d->commit, STATE_WORD_MAX, 0, why) ||
              text_ok("delivery.baseBranch", d->base_branch, STATE_WORD_MAX, 0, why) ||
              text_ok("delivery.mergedRef", d->merged_ref, STATE_WORD_MAX, 0, why) ||
              text_ok("delivery.verifiedBase", d->verified_base, STATE_WORD_MAX, 0, why)))
        return -1;
    return status_ok(st, why);
}

int sched_state_check(pb_state *st, const char *key, char why[ERR_LEN])
{
    *why = '\0';
    return st ? state_ok(st, key, why) : bad(why, "no state");
}

int sched_restore_checked(sched *s, pb_state *st, const char *key, char why[ERR_LEN])
{
    int node;
    char buf[512];
    pb_requirement *r;
    *why = '\0';
    if (!st)
        return bad(why, "no state");
    r = st->requirement;
    if (state_ok(st, key, why) != 0 || ledger_restore_bounded(s, st, why) != 0)
        goto refuse;
    if (dag_add(s->g, st->id, (const char *const *)r->dependencies, (int)r->n_dependencies, &node, buf,
                sizeof(buf)) != DAG_OK) {
        snprintf(why, ERR_LEN, "its dependencies: %s", buf);
        goto refuse;
    }
    sched_map_node(s, node, sched_new_entry(s, st));
    if (st->order >= s->next_order)
        s->next_order = st->order + 1;
    ledger_restore_state(s, st);
    return 0;
refuse:
    orchestrator__v1__requirement_state__free_unpacked(st, NULL);
    return -1;
}

void sched_restore(sched *s, pb_state *st)
{
    char why[ERR_LEN];
    (void)sched_restore_checked(s, st, NULL, why);
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
