/* The scheduler core's private header: struct sched, split by concern, and
 * what its modules call of each other. Only schedule.c and the sched_*.c
 * files of the core include it; programs and tests use schedule.h.
 *
 * Each concern has its own file and its own part of the state:
 *   schedule.c        the entry table (requirements by DAG node), pruning,
 *                     the lifecycle events and the queries   (struct sched)
 *   sched_release.c   turns, the window, the release gates, dispatch, work in
 *                     flight, spawns                  (struct sched_release)
 *   sched_ledger.c    the day's token ledger, charges and their bounds,
 *                     conservation mode                (struct sched_ledger)
 *   sched_forecast.c  learned figures and rank keys (struct sched_rank), the
 *                     agents seen, the forecast, the critical path
 *                                                     (struct sched_forecast)
 *   sched_merge.c     reviews and merges                (struct sched_merge)
 *   sched_train.c     the merge trains, one per project (in struct sched_merge)
 *   sched_people.c    decisions of people: pauses, cancel, priority (struct sched_people)
 *   sched_restore.c   rebuilding after a restart (no state of its own)
 * A new concern gets a file and a struct of its own here, not fields in
 * another's. Arrays "by entry" are indexed like sched.e and grown with it
 * (sched_new_entry). */
#ifndef SCHED_INT_H
#define SCHED_INT_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "dag.h"
#include "iheap.h"
#include "learn.h"
#include "names.h"
#include "overlap.h"
#include "reserve.h"
#include "schedule.h"
#include "strmap.h"
#include "text.h"

#define NT NAMES_AGENT_TYPES
#define NP 5
#define OUTPUT_MAX (64 * 1024)

#define ST_BLOCKED ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED
#define ST_READY ORCHESTRATOR__V1__STATUS__STATUS_READY
#define ST_DISPATCHED ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED
#define ST_VERIFYING ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING
#define ST_COMPLETE ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE
#define ST_ESCALATED ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED
#define ST_REJECTED ORCHESTRATOR__V1__STATUS__STATUS_REJECTED
#define ST_REVIEWING ORCHESTRATOR__V1__STATUS__STATUS_REVIEWING
#define ST_MERGING ORCHESTRATOR__V1__STATUS__STATUS_MERGING
#define T_REVIEW ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW
#define T_RELEASE ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE
#define WK(x) ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_##x
#define P_CRIT ORCHESTRATOR__V1__PRIORITY__PRIORITY_CRITICAL

#define PRUNED (-2)               /* node_entry of a finished requirement no longer held in memory */
#define IDLE_INSTANCES_MAX 4096   /* idle instances tracked per day; more are not charged */
#define AGENTS_MAX 256            /* instances counted for the forecast; the stalest makes room */

/* Release (sched_release.c). */
struct sched_release {
    iheap q[NT][NP];       /* ready work by type and priority, in release order (goes_first) */
    int window_used[NT];   /* released and not started, by type */
    int window_crit[NT];   /* of window_used: CRITICAL work (see release_type) */
    int64_t last_spawn[NT];
    overlap *ov;           /* the files of work in flight */
    /* Entries in flight (release_enter_flight .. release_leave_flight), and
     * where each is in that list (-1: not in it), by entry: what the window
     * and the reservation gate look at. */
    int *flight, nflight, *flight_pos;
    /* When an agent first showed activity on the current attempt, by entry
     * (0: not yet, or before a restart): durations count from it, not from
     * the dispatch, which may have waited for a free agent. */
    int64_t *started_ms;
    reserve rsv;           /* built once per pass, when a reservation is asked about */
    int last_turn_minute;
    int in_turn;           /* turns mode: a type's turn is being released */
};

/* The day's tokens (sched_ledger.c). */
struct sched_ledger {
    budget b;
    int conserving;
    /* Today's unattributed use per "<type>.<instance>", for its bound. */
    char idle_day[16];
    strmap *idle_index;
    uint64_t *idle_used;
    int n_idle, cap_idle;
};

/* What was learned and the release keys built on it (sched_forecast.c). */
struct sched_rank {
    learn lrn;              /* durations and tokens of completed work (learn.h) */
    int learn_restored;     /* figures came from KV: do not learn the saved states again */
    int64_t *key;           /* release key within a priority (larger first; rank.c), by entry */
    int stale;              /* durations learned since: recompute at the next pass */
    int adds_since;         /* requirements added since the last computation */
    int ranked_nodes;
};

/* The forecast (sim.h) and the agents it counts (sched_forecast.c). */
struct sched_forecast {
    uint64_t changes;       /* sched.changes it was computed at */
    int64_t now, end, late;
    int agents[NT];
    int64_t *eta;           /* by entry */
    int valid;
    struct {
        char name[80];
        int type;
        int64_t seen_ms;
        int sightings;      /* signs of life within agent_seen_ms of each other (counted to 2) */
    } agent[AGENTS_MAX];    /* instances seen */
    int n_agents;
};

/* Merges (sched_merge.c). */
struct sched_merge {
    int batches;
    /* Approved entries whose merge has not gone out (a merge pass looks at
     * these, not at every entry); stale ones are dropped as it meets them. */
    int *approved, napproved, capapproved;
    /* The merge trains, one per project (sched_train.c; merge_train on). */
    struct sched_train **trains;
    int ntrains;
};

struct sched {
    sched_cfg cfg;
    sched_out out;
    /* The entry table (schedule.c): every requirement in memory, by entry;
     * the DAG names them by node. */
    dag *g;
    pb_state **e;           /* NULL: let go (sched_prune) */
    int n, cap;
    int *node_entry;        /* dag node -> entry; -1 for a placeholder, PRUNED */
    int node_cap;
    uint64_t next_order;
    uint64_t changes;       /* states saved so far: the forecast is kept while it stands */
    size_t pruned_by_status[NAMES_STATUS_COUNT]; /* finished requirements let go of */
    struct sched_release rel;
    struct sched_ledger led;
    struct sched_rank rk;
    struct sched_forecast fc;
    struct sched_merge mg;
    struct sched_people *ppl; /* pauses (sched_people.c); NULL until the first */
};

/* --- small helpers, shared --------------------------------------------------- */

/* An agent type's subject token, names.c's. */
static inline const char *type_tok(int t) { return names_agent_type((Orchestrator__V1__AgentType)t); }

static inline int type_of(const pb_state *st)
{
    int t = st->requirement ? (int)st->requirement->type : 0;
    return t > 0 && t < NT ? t : 0;
}

static inline int prio_of(const pb_state *st)
{
    int p = st->requirement ? (int)st->requirement->priority : 0;
    return p > 0 && p < NP ? p : ORCHESTRATOR__V1__PRIORITY__PRIORITY_MEDIUM;
}

static inline int in_flight(const pb_state *st)
{
    return st->status == ST_DISPATCHED || st->status == ST_VERIFYING;
}

/* Verified, not merged yet: its review or its merge is under way. Its files
 * stay held (a change to them would meet it at the merge) and its
 * dependents wait (they are built on the base that holds it). */
static inline int unmerged(const pb_state *st)
{
    return st->status == ST_REVIEWING || st->status == ST_MERGING;
}

static inline int finished(const pb_state *st)
{
    return st->status == ST_COMPLETE || st->status == ST_ESCALATED || st->status == ST_REJECTED;
}

/* The entry of a DAG node: -1 for a placeholder or a node beyond the table,
 * PRUNED for one let go. */
static inline int entry_at(const sched *s, int node)
{
    return node >= 0 && node < s->node_cap ? s->node_entry[node] : -1;
}

/* --- schedule.c: the entry table and the lifecycle ----------------------------- */

/* Why st is where it is: kind (a WaitKind) and the prose ("<kind>: ...");
 * the ids the wait names are cleared (sched_reason_id adds them). Returns 1
 * when anything changed, so a pass that says the same again need not save. */
int sched_reason(pb_state *st, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sched_reason_id(pb_state *st, const char *id);
/* Stamps st and hands it to out.save; counts a change (the forecast's). */
void sched_save(sched *s, pb_state *st, const sched_clock *now);
int sched_entry_of(const sched *s, const char *id);
/* A new entry holding st (ownership taken), its per-entry state in every
 * concern made; its number returned. */
int sched_new_entry(sched *s, pb_state *st);
void sched_map_node(sched *s, int node, int entry);
/* The accepted attempt's change, made on first use. */
Orchestrator__V1__Delivery *sched_delivery(pb_state *st);
void sched_refuse(sched *s, const sched_from *from, const char *key, const char *why, const char *text);
void sched_make_ready(sched *s, int i, const sched_clock *now);
/* COMPLETE: merged (a split original: all its parts are); what depends on
 * it may go. The reason is the caller's, but for a split original. */
void sched_complete(sched *s, int i, const sched_clock *now);
/* The BLOCKED work waiting on entry i says again where i is (in review,
 * merging, escalated...). */
void sched_refresh_dependents(sched *s, int i, const sched_clock *now);
/* ESCALATED now, with why, and one critical alert. */
void sched_escalate(sched *s, int i, const char *why, const sched_clock *now);
/* Back to the agent with the next attempt (count_attempt) after delay_ms,
 * or to a human past max_attempts; output (may be NULL) goes with it. */
void sched_send_back(sched *s, int i, const char *output, int count_attempt, int64_t delay_ms,
                     const sched_clock *now);

/* --- sched_release.c ------------------------------------------------------------ */

void release_init(struct sched_release *r, sched *s);
void release_free(struct sched_release *r);
void release_grow(struct sched_release *r, int cap);
void release_new_entry(struct sched_release *r, int i);
/* Ready work i goes into its queue (its status and reason set already). */
void release_push(sched *s, int i);
/* What queued ready work waits on before a pass looks at it; 1 when the
 * reason changed. */
int release_queued_reason(sched *s, pb_state *st, const sched_clock *now);
/* One pass over type t's ready work, and over each type in the bit set. */
void release_type(sched *s, int t, const sched_clock *now);
void release_types(sched *s, unsigned types, const sched_clock *now);
/* The tick's passes: turns mode, the types whose turn it is (0 when none is
 * due now, and then the tick does nothing more); else every type (1). */
int release_tick(sched *s, const sched_clock *now);
void release_enter_flight(sched *s, int i);
/* Verified: its agent's window slot and its reserved tokens are free, but
 * it stays in flight for the rest (its files held, its dependents' claims
 * counted) until it is merged or sent back: release_leave_flight then. */
void release_verified(sched *s, int i);
void release_leave_flight(sched *s, int i);
void release_mark_started(sched *s, pb_state *st, const sched_clock *now);
int64_t release_started_at(const sched *s, const pb_state *st);
/* Work that can never be published: REJECTED, reported, never retried. */
void release_reject_unpublishable(sched *s, int i, const char *why, const sched_clock *now);
int64_t release_backoff(const sched *s, const char *id, unsigned n);
void release_check_spawns(sched *s, const sched_clock *now);

/* --- sched_ledger.c --------------------------------------------------------------- */

void ledger_init(struct sched_ledger *l, const budget_cfg *c, const char *day);
void ledger_free(struct sched_ledger *l);
/* Conservation mode from the day's figures; alerted when it begins. */
void ledger_check_conservation(sched *s, const sched_clock *now);
void ledger_charge_cost(sched *s, int type, uint64_t micro_usd, const sched_clock *now);
/* What an attempt (1-based) was charged so far: tokens, millionths of a
 * dollar. */
uint64_t *ledger_charged_slot(pb_state *st, unsigned attempt);
uint64_t *ledger_cost_slot(pb_state *st, unsigned attempt);
/* What st's attempts since the last human retry were charged (the
 * requirement's cap counts these). */
void ledger_since_retry(const pb_state *st, uint64_t *tokens, uint64_t *micro_usd);
/* An attempt's reported totals (a result's, a failed run's error, or the
 * heartbeats' sum), charged as their increase only, so each run counts once
 * whatever order its reports come in: 1 charged (save st), 0 nothing new,
 * -1 over its bound (refused and alerted, not charged). */
int ledger_charge_attempt(sched *s, pb_state *st, unsigned attempt, uint64_t total_for_attempt,
                          uint64_t cost_for_attempt, const sched_from *from, const sched_clock *now);
/* A review's whole cost, within the attempt's bound. */
void ledger_charge_review(sched *s, pb_state *st, uint64_t tokens, uint64_t micro_usd, const sched_from *from,
                          const sched_clock *now);
/* A heartbeat's use on work in flight, within one message's bound. */
void ledger_charge_heartbeat(sched *s, pb_state *st, const char *instance, uint64_t tokens, uint64_t micro_usd,
                             const sched_from *from, const sched_clock *now);
admit_code ledger_idle_use(sched *s, int type, const char *instance, uint64_t tokens, const sched_from *from,
                           const sched_clock *now);
/* A restored state's charges of today, back on the ledger. */
void ledger_restore_state(sched *s, const pb_state *st);
/* Whether today's charges a saved state carries are within the bounds of
 * charges (one attempt's bound for each attempt it had, its own and its
 * reviews'): 0, or -1 with why filled. */
int ledger_restore_bounded(const sched *s, const pb_state *st, char why[ERR_LEN]);

/* --- sched_forecast.c ---------------------------------------------------------------- */

void forecast_init(sched *s);
void forecast_free(sched *s);
void forecast_grow(sched *s, int cap);
/* What a requirement is expected to take, whole: learned, or the
 * configured guess (learn.h). */
int64_t forecast_expected(const sched *s, const pb_state *st);
/* Release keys: a new entry's own (exact at once), and every key again when
 * stale (force: also when anything was added since). */
void forecast_key_new(sched *s, int i, int node);
void forecast_rerank(sched *s, int force);
/* An instance of type showed life: an agent for the forecast a while. */
void forecast_seen(sched *s, int type, const char *instance, const sched_clock *now);
void forecast_stopped(sched *s, int type, const char *instance);
/* Instances of type whose heartbeats say they live (seen twice or more,
 * the last within agent_seen_ms): what the window and reservations count. */
int forecast_agents_alive(const sched *s, int type, const sched_clock *now);
/* Learning from completed work; persist hands the figures to out.learned. */
int forecast_learn_from(sched *s, const pb_state *st);
void forecast_learned_estimate(sched *s, pb_state *st);
void forecast_persist_learned(sched *s);

/* --- sched_merge.c --------------------------------------------------------------------- */

void merge_pass(sched *s, const sched_clock *now);
/* Entry i is approved: its merge goes out in a pass once its dependencies'
 * merges did. */
void merge_note_approved(sched *s, int i);
void merge_free(struct sched_merge *m);
void merge_review_answered(sched *s, int i, const pb_result *r, const sched_from *from, const sched_clock *now);
void merge_done(sched *s, int i, const pb_result *r, const sched_clock *now);
void merge_refused(sched *s, int i, const pb_error *e, const sched_clock *now);

/* --- sched_people.c: decisions of people (pauses; cancel and priority are public) --- */
void people_free(sched *s);
/* Whether every ready item of type t is held (a pause of all or of t). */
int people_holds_type(const sched *s, int t);
/* Whether st is held by a pause: 1 with its reason set (saved when it
 * changed), else 0. */
int people_hold(sched *s, pb_state *st, const sched_clock *now);
/* Every READY item queued for type t says its pause (t held). */
void people_hold_queue(sched *s, int t, const sched_clock *now);
/* Pauses past their until end. */
void people_tick(sched *s, const sched_clock *now);
/* An agent error about work i: when it is a rate limit that says when it
 * ends, its type is paused until then (at most a day), the work goes back
 * as a new dispatch of the same attempt, and 1; else 0, nothing done. */
int people_rate_limited(sched *s, int i, const pb_error *e, const sched_clock *now);
/* st was withdrawn by a person. */
static inline int people_cancelled(const pb_state *st)
{
    return st->status == ST_REJECTED && st->wait_kind == WK(CANCELLED);
}

/* --- sched_train.c: the merge train, when merge_train is on --- */
void strain_enqueue(sched *s, int i, const sched_clock *now);
void strain_step_all(sched *s, const sched_clock *now);
void strain_free(struct sched_merge *m);

#endif
