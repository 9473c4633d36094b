/* The scheduler's brain: the life of every requirement from CLASSIFIED to
 * COMPLETE or ESCALATED, as a pure state machine. Events come in (a new
 * requirement, a result, a verdict, an agent error, a heartbeat, a human
 * retry, the clock); decisions go out through sched_out callbacks (dispatch,
 * review, merge, reject, spawn, alert, save), which the NATS adapter
 * implements and the unit tests record. The clock is an argument.
 *
 * Release (sched_release.c, whose top says the rule): ready work waits in
 * one queue per agent type and priority, ordered by upward rank, and goes
 * when the type's window has room and every release gate (backoff,
 * conservation, budget, overlap, reservation) lets it; an item that cannot
 * go keeps the exact reason it waits. Dispatch is recorded before it is
 * published, with a message id of id + attempt, so a restarted leader
 * re-publishes what it had decided and JetStream drops the copy.
 *
 * Retries. A failed verification or a review asking for changes sends the
 * work back with attempt + 1 and the exact output; a transient agent error
 * does the same after an exponential backoff; past max_attempts since the
 * last human retry the requirement is ESCALATED and an alert raised. An
 * infrastructure error of the verifier is retried with backoff without
 * counting an attempt. A non-transient agent error escalates at once.
 *
 * Tokens (sched_ledger.c, whose top says the rule): each attempt is
 * charged only what it reports beyond what was charged for it already, and
 * every charge is also recorded in the requirement's state for the day, so
 * redelivered reports never count twice and a restarted leader rebuilds the
 * day's ledger from the states it reads.
 *
 * Reports. A result, error or heartbeat counts only when common/admit.h
 * admits it: its subject names the sender's type (and, for results and
 * errors, the requirement its body names), that type was dispatched the
 * work, the attempt is the current one, and the sender is the claimant
 * where the work was claimed. Anything else changes nothing and is refused
 * with a reason (sched_out.refuse), except a past attempt's result: its cost is
 * charged to its own attempt, and nothing else changes.
 *
 * Bounded charges. What one report can put on the day's ledger is bounded
 * relative to the work's token budget (charge_message_percent for a
 * heartbeat, charge_attempt_percent for an attempt or a review,
 * idle_day_percent of a type's daily limit for an idle instance); a claim
 * beyond a bound is refused (charge_over_bound) and alerted, not charged
 * (sched_ledger.c).
 *
 * Inside, the core is split by concern, each with its own part of the
 * state: services/scheduler/sched_int.h maps the files. */
#ifndef SCHED_SCHEDULE_H
#define SCHED_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "admit.h"
#include "budget.h"
#include "learn.h"
#include "names.h"
#include "pb.h"
#include "train.h"

/* The order of ready work within a priority (see "Release" above). */
enum {
    SCHED_ORDER_RANK = 0,     /* upward rank over expected durations, then age (rank.c) */
    SCHED_ORDER_AGE,          /* oldest first: the rule before rank, kept for comparison */
    SCHED_ORDER_DOWNSTREAM    /* Airflow's downstream weight: most descendants first, then age */
};

/* The core's settings. The daemon's settings table (scheduler_nats.c) writes
 * straight into them (long long: what a CFG_INT setting is), in the units
 * of their keys; its defaults are the SCHED_DEF_* below, which
 * sched_cfg_default also uses: one default per setting. */
#define SCHED_DEF_WINDOW 2
#define SCHED_DEF_OVERLAP_PERCENT 20
#define SCHED_DEF_MAX_ATTEMPTS 3
#define SCHED_DEF_MAX_INFRA_RETRIES 5
#define SCHED_DEF_MAX_MERGE_REFUSALS 3
#define SCHED_DEF_BUDGET_FACTOR_PERCENT 150
#define SCHED_DEF_SPAWN_DEPTH 5
#define SCHED_DEF_SPAWN_MAX 5
#define SCHED_DEF_SPAWN_COOLDOWN_S 600
#define SCHED_DEF_QUIET_START "22:00"
#define SCHED_DEF_QUIET_END "06:00"
#define SCHED_DEF_BACKOFF_BASE_MS 30000
#define SCHED_DEF_BACKOFF_MAX_MS 900000
#define SCHED_DEF_TURN_MINUTES 30
#define SCHED_DEF_CHARGE_MESSAGE_PERCENT 100
#define SCHED_DEF_CHARGE_ATTEMPT_PERCENT 300
#define SCHED_DEF_IDLE_DAY_PERCENT 5
#define SCHED_DEF_RETENTION_S 3600
#define SCHED_DEF_TRAIN_AHEAD 8
#define SCHED_DEF_TRAIN_BASE_RETRY_MS 60000
/* A default as the settings table writes it: SCHED_TEXT(SCHED_DEF_WINDOW) is "2". */
#define SCHED_TEXT_(x) #x
#define SCHED_TEXT(x) SCHED_TEXT_(x)

typedef struct {
    long long window;             /* released-but-not-started per type */
    long long overlap_percent;    /* file overlap above which two requirements wait for each other */
    long long max_attempts;
    /* What one requirement may use across all its attempts (0: no cap):
     * failed work past it is escalated instead of retried. */
    long long requirement_max_tokens, requirement_max_usd;
    long long max_infra_retries;
    long long max_merge_refusals;
    long long budget_factor_percent; /* a release's own budget: estimate x this / 100 */
    long long spawn_depth;        /* ready queue deeper than this: spawn */
    long long spawn_max;          /* instances asked for at most */
    long long spawn_cooldown_s;
    int quiet_start, quiet_end;   /* minutes of the day (sched_parse_hhmm); no spawns between */
    long long backoff_base_ms, backoff_max_ms;
    long long turn_minutes;       /* 0: continuous; else release at multiples of it */
    int turn_offset[NAMES_AGENT_TYPES]; /* turns mode: minutes into each cycle a type's own turn comes */
    int64_t duration_ms[5];       /* expected duration by complexity until learned */
    int order;                    /* SCHED_ORDER_*: within a priority */
    int reserve;                  /* with rank order: keep agents for more urgent work about to be ready (reserve.h) */
    int64_t agent_seen_ms;        /* an instance counts as an agent this long after its last report */
    long long charge_message_percent; /* one heartbeat, of the work's token budget */
    long long charge_attempt_percent; /* one attempt in all, of its token budget */
    int merge_train;              /* 1: approved changes merge through the merge train (sched_train.c), not the release agent */
    long long train_ahead;        /* candidates built at once per train */
    long long train_base_retry_ms; /* a paused train checks its base again after this */
    long long idle_day_percent;   /* an idle instance per day, of its type's daily limit */
    long long retention_s;        /* finished requirements kept in memory this long; 0: forever */
    budget_cfg budget;
} sched_cfg;

/* The SCHED_DEF_* and BUDGET_DEF_* defaults (window 2, 20%, 3 attempts, 5
 * infra retries, 150%, depth 5, max 5, 10 min cooldown, quiet 22:00-06:00,
 * backoff 30 s doubling to 15 min, charges bounded at 100% (a heartbeat)
 * and 300% (an attempt) of the token budget and 5% of a type's day (an idle
 * instance), finished requirements kept 1 h, the seed's budgets),
 * continuous, S 30 min, M 2 h, L 4 h, XL 8 h, release by
 * upward rank, an instance counted as an agent 15 min after its last report. */
void sched_cfg_default(sched_cfg *c);

/* "HH:MM" into minutes of the day; 0 when it is not one. */
int sched_parse_hhmm(const char *s, int *minute);

/* Turns (turn_minutes > 0). A cycle starts at every multiple of
 * turn_minutes past midnight; type's turn comes turn_offset[type] minutes
 * into each cycle (all 0: every type at the cycle's start; the seed's
 * stagger is backend 0, frontend 5, database 10, documentation 15, review
 * 20, release 25 in 30-minute cycles). An offset must be below
 * turn_minutes. sched_turn_due: 1 when minute (of the day, 0..1439) is
 * type's turn. sched_turn_next: the minute of type's first turn after
 * minute, counted from minute's day (past 1439 when it is tomorrow's);
 * -1 in continuous mode. Pure. */
int sched_turn_due(const sched_cfg *c, int type, int minute);
int sched_turn_next(const sched_cfg *c, int type, int minute);

/* The current time, as the adapter reads it in the configured time zone. */
typedef struct {
    int64_t now_ms;
    char day[16];                 /* YYYY-MM-DD */
    int minute;                   /* of the day, 0..1439 */
} sched_clock;

/* Where a report came from, as the adapter read it off the message (all
 * borrowed for the call). */
typedef struct {
    int type;               /* the agent type its subject names; 0: none */
    const char *id;         /* the requirement its subject names; NULL: none (heartbeats) */
    const char *instance;   /* heartbeats: the instance its subject names */
    const char *claimant;   /* who claimed the work in orch_claims; NULL or "": nobody (or not asked) */
    const char *subject;    /* the subject, for the refusal */
    const char *tag;        /* unique to the message (e.g. stream and sequence): names the refusal */
} sched_from;

/* A dispatch that can never be published (e.g. larger than the stream
 * takes): the requirement is REJECTED instead of retried. */
#define SCHED_REFUSED (-2)

/* What the scheduler asks of the world. Functions returning int return 0 on
 * success; a failed dispatch (-1) leaves the work ready for the next pass;
 * SCHED_REFUSED, with why filled, rejects it. All pointers are borrowed for
 * the call. */
typedef struct {
    void *ctx;
    int (*save)(void *ctx, const pb_state *st);
    int (*dispatch)(void *ctx, const pb_state *st, const char *msg_id, char why[ERR_LEN]); /* requirements.<type>.<id> */
    int (*review)(void *ctx, const pb_state *st, const char *msg_id);     /* requirements.review.<id> */
    int (*merge)(void *ctx, const pb_state *st, const char *batch, int batch_size, const char *msg_id);
    void (*reject)(void *ctx, const char *id, const char *reason, const char *text);  /* errors.scheduler.<id> */
    void (*spawn)(void *ctx, int type, int count, int depth, uint64_t budget, const char *reason);
    void (*alert)(void *ctx, const char *severity, const char *kind, const char *key, const char *text);
    void (*budget)(void *ctx, const budget *b, int type);                 /* usage changed */
    /* A report that does not count (errors.scheduler.<key>): reason is a
     * token (admit_reason(), "charge_over_bound", ...), from says what came. */
    void (*refuse)(void *ctx, const char *key, const char *reason, const char *text, const sched_from *from);
    /* What was learned changed (learn.h JSON): store it (KV orch_counters,
     * key LEARN_KV_KEY) so that a new leader keeps it. */
    void (*learned)(void *ctx, const char *json, size_t len);
    /* The merge train (merge_train on; docs/merge.md): build this candidate
     * of project's train (train.h) on a verifier; move project's base from
     * `from` to `to` (merging ids) if it is still at `from`; store the
     * train's state (JSON, for sched_restore_train). */
    void (*train_build)(void *ctx, const char *project, const train_build *b);
    void (*train_advance)(void *ctx, const char *project, const char *from, const char *to, const char *const *ids,
                          const char *const *commits, int n);
    void (*train_save)(void *ctx, const char *project, const char *json);
    /* The pauses changed (sched_people.c): store this JSON (KV orch_decisions,
     * key "pauses") so that a new leader keeps them (sched_restore_pauses). */
    void (*pauses)(void *ctx, const char *json);
} sched_out;

typedef struct sched sched;

sched *sched_create(const sched_cfg *c, const sched_out *out, const sched_clock *now);
void sched_destroy(sched *s);

/* A classified requirement (ownership taken). Returns 0, or -1 when it was
 * rejected (duplicate id with other content, or a cycle: reject() says so). */
int sched_add(sched *s, pb_requirement *r, const sched_clock *now);

/* Rebuilding after a restart: every saved state (ownership taken; each
 * brings the tokens charged for it today), then the day's unattributed use
 * and reported cost per type (what no requirement accounts for), then sched_resume, which
 * re-publishes what was decided but not confirmed and releases what is
 * ready. */
void sched_restore(sched *s, pb_state *st);
/* The same, read as input first (sched_restore.c): a state whose id is not
 * key (key NULL: not compared), whose texts, ids or sizes are not what the
 * edge accepts, whose status it cannot have with the fields it carries, or
 * whose charges pass their bounds is not restored. 0, or -1 with why filled
 * (st freed either way: ownership is taken). */
int sched_restore_checked(sched *s, pb_state *st, const char *key, char why[ERR_LEN]);
/* The checks of sched_restore_checked but the charges and the graph, for a
 * state read back from KV to be shown: 0, or -1 with why filled. */
int sched_state_check(pb_state *st, const char *key, char why[ERR_LEN]);
/* A day's unattributed use and cost of type; unattributed use beyond the
 * type's daily limit is refused (not restored, alerted charge_over_bound):
 * returns -1 with why filled then, else 0. */
int sched_restore_budget(sched *s, const char *day, int type, uint64_t unattributed, uint64_t cost_micro_usd,
                         char why[ERR_LEN]);
/* What the last leader learned (LEARN_KV_KEY's value), before sched_resume;
 * without it sched_resume learns from the COMPLETE states it was given.
 * ORCH_OK, or the learn_from_json error with err filled (nothing changed). */
orch_status sched_restore_learned(sched *s, const char *json, size_t len, char err[ERR_LEN]);
void sched_resume(sched *s, const sched_clock *now);

/* Agents' reports, judged by common/admit.h (see the top). Each returns
 * how it was judged: ADMIT_OK when it counted (a charge beyond its bound is
 * still refused on its own), ADMIT_PAST_ATTEMPT when only its cost counted,
 * anything else when it changed nothing and was refused. */
admit_code sched_result(sched *s, const pb_result *r, const sched_from *from, const sched_clock *now);
admit_code sched_error(sched *s, const pb_error *e, const sched_from *from, const sched_clock *now);
admit_code sched_heartbeat(sched *s, const pb_heartbeat *h, const sched_from *from, const sched_clock *now);

/* A verifier's verdict counts only for work whose result of that attempt
 * the scheduler took (VERIFYING): a verdict about work still DISPATCHED
 * (its result on its way through another consumer, refused, or never sent)
 * changes nothing. sched_verdict_early says it is such a verdict, for the
 * adapter to hold and ask again. */
int sched_verdict_early(const sched *s, const pb_verdict *v);
void sched_verdict(sched *s, const pb_verdict *v, const sched_clock *now);

/* The merge train's answers (merge_train on): build `build` of project's
 * train passed or not (conflict: a change did not merge; merged: the
 * candidate's commit; output: the failure's), and a base move to `to` made
 * (ok) or not (remote: where the base is instead, "" unknown). An answer
 * for no build or move under way changes nothing. */
void sched_train_built(sched *s, const char *project, uint64_t build, int passed, int conflict, const char *merged,
                       const char *output, const sched_clock *now);
void sched_train_advanced(sched *s, const char *project, const char *to, int ok, const char *remote,
                          const sched_clock *now);
/* Rebuilding: a train as train_save stored it (before sched_resume), then,
 * after sched_resume, sched_train_resume: a base move not answered is asked
 * again, approved changes no train holds enter one. */
orch_status sched_restore_train(sched *s, const char *json, size_t len, char err[ERR_LEN]);
void sched_train_resume(sched *s, const sched_clock *now);
/* Paused trains check their base again; call with the other timers. */
void sched_train_tick(sched *s, const sched_clock *now);
/* Every train: project, base, paused, and the queue with each change's
 * stage (caller frees). */
cJSON *sched_trains_json(const sched *s);

/* A human's retry of an ESCALATED requirement: a fresh set of attempts.
 * Returns 0, or -1 with why in err. */
int sched_retry(sched *s, const char *id, const sched_clock *now, char *err, size_t len);

/* --- decisions of people (sched_people.c; docs/scheduler.md) ---------------------
 *
 * Pauses. A pause holds new releases of ready work in its scope (everything,
 * an agent type, or a project: the requirement's metadata "project", else
 * the project its delivery names); work in flight finishes, spawns for a
 * held type stop, and held work says so (WAIT_KIND_PAUSED, "paused: backend
 * by alice since 10:42 (comment)"). One pause per scope: pausing a paused
 * scope again replaces its until, who, source and comment. A pause with
 * until_ms > 0 ends by itself at the first sched_tick at or after it.
 * Every change goes to out.pauses; the first pause of a scope raises one
 * info alert ("paused"). who and source are the caller's words (source:
 * "person", "rate_limit", ...); who 1..64 printable characters, source a
 * word of [a-z_] up to 24, comment up to 300 characters (control
 * characters refused). */
typedef enum { SCHED_SCOPE_ALL = 0, SCHED_SCOPE_TYPE, SCHED_SCOPE_PROJECT } sched_scope_kind;
typedef struct {
    sched_scope_kind kind;
    int type;                /* SCHED_SCOPE_TYPE: an agent type 1..NAMES_AGENT_TYPES-1 */
    const char *project;     /* SCHED_SCOPE_PROJECT: 1..64 of [A-Za-z0-9_.-] (borrowed) */
} sched_pause_scope;
#define SCHED_PAUSES_MAX 64

/* 0: paused now; 1: it was paused already (its until, who, source and
 * comment replaced); -1 with why in err (bad scope or words, until_ms in the
 * past, too many pauses): nothing changed. */
int sched_pause(sched *s, const sched_pause_scope *scope, int64_t until_ms, const char *who, const char *source,
                const char *comment, const sched_clock *now, char *err, size_t len);
/* Ends the pause of exactly that scope (all: every pause). 0: ended; 1: it
 * was not paused (nothing to do); -1 with why in err. */
int sched_unpause(sched *s, const sched_pause_scope *scope, const char *who, const sched_clock *now, char *err,
                  size_t len);
/* The pauses as JSON ({"paused": [{"scope": "type", "name": "backend",
 * "until": ms|0, "who", "since": ms, "comment", "source"}]}); caller frees. */
char *sched_pauses_json(const sched *s);
/* The "paused" array alone (caller frees), for the list answer. */
cJSON *sched_pauses_view(const sched *s);
/* What the last leader kept (sched_pauses_json's), before sched_resume.
 * ORCH_OK, or ORCH_ERR_INVALID with why in err (nothing restored). */
orch_status sched_restore_pauses(sched *s, const char *json, size_t len, char err[ERR_LEN]);

/* A person withdraws a requirement: REJECTED with WAIT_KIND_CANCELLED and
 * the decision recorded; work in flight is withdrawn (its window slot,
 * files and reserved tokens freed; any later report of it is refused as
 * for finished work); its dependents become BLOCKED, "dependency
 * cancelled". 0: cancelled; 1: it was cancelled already; -1 with why in err
 * (unknown id, COMPLETE, REJECTED otherwise, MERGING: its merge is out). */
int sched_cancel(sched *s, const char *id, const char *who, const char *comment, const sched_clock *now, char *err,
                 size_t len);
/* A person sets a requirement's priority (1 CRITICAL .. 4 LOW): ready work
 * moves to its new queue at once. 0: changed; 1: it had that priority
 * already; -1 with why in err (unknown id, bad level, finished). */
int sched_set_priority(sched *s, const char *id, int priority, const char *who, const char *comment,
                       const sched_clock *now, char *err, size_t len);
/* st's decisions as a JSON array ([{"kind", "who", "at", "comment",
 * "detail"}], oldest first); caller frees. */
cJSON *sched_decisions_view(const pb_state *st);
/* The requirements that wait on id, directly or through others, at most
 * max (borrowed ids, valid until the next change). */
int sched_dependents(const sched *s, const char *id, const char **ids, int max);

/* Timers: day rollover, backoffs, turn boundaries, spawns. */
void sched_tick(sched *s, const sched_clock *now);

/* The state of id, or NULL. Borrowed until the next event. */
const pb_state *sched_get(const sched *s, const char *id);

/* Expected completion of id (ms since the epoch): the mean of its ends in
 * simulations of the release rule over the rest of the roadmap, durations
 * drawn from what was learned, with the agents seen (sim.h, learn.h); 0
 * when finished, escalated, or waiting on something that never ends (an
 * unknown id, escalated work). Kept until a state changes or now moves. */
int64_t sched_eta(sched *s, const char *id, const sched_clock *now);

/* The same simulations' end of all unfinished work (their mean), and in
 * *late_ms (may be NULL) their 90th percentile; 0 when nothing is left. */
int64_t sched_roadmap_eta(sched *s, const sched_clock *now, int64_t *late_ms);

/* Instances of type seen within cfg.agent_seen_ms. */
int sched_agents(const sched *s, int type, const sched_clock *now);

/* What was learned (borrowed). */
const learn *sched_learned(const sched *s);

/* The critical path of unfinished work: ids into out (borrowed), length
 * returned; *finish_ms the expected end of it. */
int sched_critical_path(sched *s, const sched_clock *now, const char **out, int max, int64_t *finish_ms);

/* Number of requirements known (also those let go), and in each status
 * (by Status value). */
size_t sched_count(const sched *s, size_t by_status[NAMES_STATUS_COUNT]);

/* Calls fn for every requirement held in memory. */
void sched_each(const sched *s, void (*fn)(const pb_state *st, void *arg), void *arg);

/* Paging over the requirements in memory: slots 0..sched_slots()-1 keep
 * their numbers for the life of the core (arrival order; a restart renumbers
 * them); sched_slot is NULL for a slot that holds none (let go). A split
 * original has a slot (its state's alias is set). Borrowed until the next
 * event. */
int sched_slots(const sched *s);
const pb_state *sched_slot(const sched *s, int i);

/* Lets go of the requirements finished for good (COMPLETE with the merge
 * released, or REJECTED) longer than retention_s ago: their state stays in
 * KV, their id stays in the dependency graph (a dependency on a COMPLETE one
 * still counts as met), sched_count still counts them. sched_tick calls it.
 * Returns how many it let go. */
int sched_prune(sched *s, const sched_clock *now);

const budget *sched_budget(const sched *s);
int sched_conservation(const sched *s);

#endif
