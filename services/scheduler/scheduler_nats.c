#include "scheduler_nats.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "admit.h"
#include "claim.h"
#include "edge.h"
#include "jsbatch.h"
#include "lease.h"
#include "log.h"
#include "nc.h"
#include "names.h"
#include "outbox.h"
#include "people_nats.h"
#include "pool_nats.h"
#include "sched_view.h"
#include "schedule.h"
#include "strmap.h"
#include "text.h"
#include "topology.h"
#include "evidence_nats.h"
#include "train_nats.h"


#define LEASE_KEY "scheduler"
#define FLUSH_MAX_PENDING 4096  /* asynchronous publishes in flight at most */
#define FLUSH_WAIT_MS 5000      /* for their acks, per phase of a flush */
#define N_INPUTS 5
#define RETRY_MS 1000          /* a message not settled now comes back after this */
#define VERDICT_EARLY_MS 3000  /* a verdict before its result: asked again after this (10 deliveries) */

typedef enum { IN_PLAN, IN_RESULTS, IN_VERDICTS, IN_ERRORS, IN_TRAIN } input_kind;

/* The scheduler's durable consumers, in input_kind order; their streams
 * and filters are topology.c's. */
static const char *const input_durables[N_INPUTS] = {TOPO_DUR_SCHEDULER_PLAN, TOPO_DUR_SCHEDULER_RESULTS,
                                                     TOPO_DUR_SCHEDULER_VERDICTS, TOPO_DUR_SCHEDULER_ERRORS,
                                                     TOPO_DUR_SCHEDULER_TRAIN};

typedef struct {
    daemon_ctx *d;
    sched_cfg core_cfg;
    jsCtx *js;             /* on the SendAsap connection: KV reads, for the state at takeover */
    kvStore *states, *budgets, *leader, *claims, *trains;
    kvStore *ids;          /* orch_ids, read only: every id the router handed on */
    lease lease;
    int leader_now;
    sched *s;              /* only while leader */
    pthread_mutex_t mu;    /* guards s and everything below */
    strmap *rev_index;     /* id -> index into revs */
    uint64_t *revs;
    int nrevs, caprevs;
    outbox *ob;            /* decisions not yet stored (outbox.h) */
    jsbatch *jb;           /* how a flush of the outbox publishes */
    const char **slot_key; /* per slot of a flush phase: the state it writes, or NULL */
    int n_slots, cap_slots;
    int save_failed;       /* in the batch being handled */
    natsSubscription *subs[N_INPUTS];
    pthread_t threads[N_INPUTS];
    atomic_bool running;   /* the readers go on while set; cleared to stop them */
    natsSubscription *hb_sub;
    long long dispatched, handled[N_INPUTS];
} scheduler;

static scheduler S;

/* --- clock ---------------------------------------------------------------------- */

static void clock_now(sched_clock *c)
{
    time_t t;
    struct tm tm;
    c->now_ms = text_now_ms();
    t = (time_t)(c->now_ms / 1000);
    localtime_r(&t, &tm);   /* TZ is the configured zone (set at start) */
    strftime(c->day, sizeof(c->day), "%Y-%m-%d", &tm);
    c->minute = tm.tm_hour * 60 + tm.tm_min;
}

/* --- sched_out: saving and publishing ------------------------------------------------ */

static uint64_t *rev_slot(const char *id)
{
    int i;
    if (!strmap_get(S.rev_index, id, &i)) {
        if (S.nrevs == S.caprevs) {
            S.caprevs = S.caprevs ? S.caprevs * 2 : 256;
            S.revs = xrealloc(S.revs, sizeof(uint64_t) * (size_t)S.caprevs);
        }
        i = S.nrevs++;
        S.revs[i] = 0;
        strmap_put(S.rev_index, id, i);
    }
    return &S.revs[i];
}

/* --- fencing ------------------------------------------------------------------------ */

/* True while this instance leads and its lease cannot have lapsed. A leader
 * paused past its lease (SIGSTOP, a stall) wakes up still believing it
 * leads while a standby has taken over: it must not act on anything it
 * holds, so every flush and every publish asks this first, and the first
 * that finds the lease lapsed makes the instance step down (the main loop
 * does). Called with mu held. */
static int still_leader(void)
{
    if (S.leader_now && !lease_valid(&S.lease, text_mono_ms())) {
        log_warn("the lease was last renewed %lld ms ago: it may be someone else's; stepping down",
                 (long long)(text_mono_ms() - S.lease.last_renewal));
        S.leader_now = 0;
    }
    return S.leader_now;
}

/* Gives the lease up: deleted when it is still ours, only forgotten when it
 * lapsed (the key may be another leader's by now). */
static void lease_let_go(void)
{
    if (lease_valid(&S.lease, text_mono_ms()))
        lease_release(&S.lease);
    else
        S.lease.leader = 0;
}

/* --- the outbox's way out: asynchronous publishes, one wait per phase ------------- */

enum { B_STATES, B_BUDGETS, B_TRAINS };
static const char *const bucket_names[] = {TOPO_KV_REQUIREMENTS, TOPO_KV_BUDGETS, TOPO_KV_TRAINS};

static void io_begin(void *ctx, int n)
{
    (void)ctx;
    if (n > S.cap_slots) {
        S.slot_key = xrealloc(S.slot_key, sizeof(char *) * (size_t)n);
        S.cap_slots = n;
    }
    memset(S.slot_key, 0, sizeof(char *) * (size_t)n);
    S.n_slots = n;
    jsbatch_begin(S.jb, n);
}

/* A state is written by compare-and-set on the revision we last wrote
 * (Nats-Expected-Last-Subject-Sequence, as a KV update does). */
static void io_write(void *ctx, int slot, int bucket, const char *key, const void *data, size_t len)
{
    char subject[200];
    int64_t expect = JSBATCH_ANY;
    (void)ctx;
    if (!lease_valid(&S.lease, text_mono_ms())) {
        jsbatch_fail(S.jb, slot); /* fenced: see still_leader() */
        return;
    }
    snprintf(subject, sizeof(subject), "$KV.%s.%s", bucket_names[bucket], key);
    if (bucket == B_STATES) {
        expect = (int64_t)*rev_slot(key);
        S.slot_key[slot] = key;
    }
    jsbatch_publish(S.jb, slot, subject, NULL, data, (int)len, NULL, expect);
}

static void io_publish(void *ctx, int slot, const char *subject, const char *msg_id, const void *data, size_t len,
                       const char *ctype)
{
    (void)ctx;
    if (!lease_valid(&S.lease, text_mono_ms())) {
        jsbatch_fail(S.jb, slot); /* fenced: see still_leader() */
        return;
    }
    jsbatch_publish(S.jb, slot, subject, msg_id, data, (int)len, ctype, JSBATCH_ANY);
}

static void io_wait(void *ctx)
{
    (void)ctx;
    jsbatch_wait(S.jb);
    for (int i = 0; i < S.n_slots; i++) {
        if (!S.slot_key[i])
            continue;
        if (jsbatch_ok(S.jb, i)) {
            *rev_slot(S.slot_key[i]) = jsbatch_seq(S.jb, i);
        } else if (jsbatch_conflict(S.jb, i)) {
            /* Another scheduler wrote too: this one must not act any more. */
            log_error("state of %s was written by someone else: giving up the lead", S.slot_key[i]);
            S.leader_now = 0;
        }
    }
}

static int io_ok(void *ctx, int slot)
{
    (void)ctx;
    return jsbatch_ok(S.jb, slot);
}

static const outbox_io flush_io = {NULL, io_begin, io_write, io_publish, io_wait, io_ok};

static int out_save(void *ctx, const pb_state *st)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    (void)ctx;
    if (pb_pack(&st->base, &buf, &len) != ORCH_OK)
        return -1;
    outbox_put(S.ob, B_STATES, st->id, buf, len);
    free(buf);
    return 0;
}

/* A stored publish, once the state of key (NULL: none) is stored. */
static int publish(const char *key, const char *subject, const char *msg_id, const void *data, int len,
                   const char *ctype)
{
    outbox_publish(S.ob, B_STATES, key, subject, msg_id, data, (size_t)len, ctype);
    return 0;
}

/* The largest message the REQUIREMENTS stream and the server take, less
 * room for headers. */
static size_t publish_cap(void)
{
    int64_t cap = natsConnection_GetMaxPayload(S.d->rr);
    for (size_t i = 0; i < topo_stream_count; i++)
        if (!strcmp(topo_streams[i].name, "REQUIREMENTS") && topo_streams[i].max_msg_size > 0 &&
            topo_streams[i].max_msg_size < cap)
            cap = topo_streams[i].max_msg_size;
    return cap > 1024 ? (size_t)(cap - 1024) : 0;
}

/* Checks what a publish would carry against publish_cap(): a message that
 * can never be stored must not wait in the outbox (it would hold back every
 * batch after it). */
static int fits(const char *subject, size_t len, char why[ERR_LEN])
{
    size_t cap = publish_cap();
    if (len <= cap)
        return 1;
    snprintf(why, ERR_LEN, "%s would carry %zu bytes; the stream takes at most %zu", subject, len, cap);
    return 0;
}

/* A requirement on requirements.<type>.<id>, in the configured format;
 * a review's or a merge's (change not NULL) in JSON also names the change
 * to review or merge (edge_change_dispatch_to_json), with the merge's batch
 * (batch not NULL). Returns 0, -1, or SCHED_REFUSED with why filled when it
 * can never be published. */
static int publish_requirement(const pb_requirement *r, Orchestrator__V1__AgentType as_type, const char *msg_id,
                               const pb_state *change, const char *batch, int batch_size, char why[ERR_LEN])
{
    char subject[160];
    int rc;
    pb_requirement copy = *r;
    copy.type = as_type;
    names_subject_typed(subject, sizeof(subject), NAMES_SUBJ_REQUIREMENTS, (int)as_type, r->id);
    if (scheduler_cfg.format == 1) {
        uint8_t *buf;
        size_t len;
        if (pb_pack(&copy.base, &buf, &len) != ORCH_OK)
            return -1;
        rc = fits(subject, len, why) ? publish(r->id, subject, msg_id, buf, (int)len, "application/protobuf")
                                     : SCHED_REFUSED;
        free(buf);
    } else {
        char *json = change ? edge_change_dispatch_to_json(&copy, change, batch, batch_size)
                            : edge_requirement_to_json(&copy);
        rc = fits(subject, strlen(json), why)
                 ? publish(r->id, subject, msg_id, json, (int)strlen(json), "application/json")
                 : SCHED_REFUSED;
        free(json);
    }
    return rc;
}

/* Every act only a leader may do checks the lease again as it acts, not
 * only when its batch began: a leader stopped (SIGSTOP, a freeze) in the
 * middle of a batch wakes up past its lease and would otherwise go on
 * deciding for the rest of it (a chaos run saw a merge released 2.6 s
 * after the standby took over; the outbox refused to send it, but the
 * decision was made). still_leader steps down when the lease lapsed. */
static int out_dispatch(void *ctx, const pb_state *st, const char *msg_id, char why[ERR_LEN])
{
    int rc;
    (void)ctx;
    if (!still_leader())
        return -1;
    if ((rc = publish_requirement(st->requirement, st->requirement->type, msg_id, NULL, NULL, 0, why)) != 0)
        return rc;
    S.dispatched++;
    log_info("dispatched %s to %s (attempt %u, priority %s)", st->id, names_agent_type(st->requirement->type),
             st->attempt, names_priority(st->requirement->priority));
    return 0;
}

static int out_review(void *ctx, const pb_state *st, const char *msg_id)
{
    char why[ERR_LEN];
    int rc;
    (void)ctx;
    if (!still_leader())
        return -1;
    rc = publish_requirement(st->requirement, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW, msg_id, st, NULL, 0,
                             why);
    if (rc == SCHED_REFUSED)
        log_error("review of %s cannot be requested: %s", st->id, why);
    else
        log_info("%s complete; review requested", st->id);
    return rc;
}

static int out_merge(void *ctx, const pb_state *st, const char *batch, int size, const char *msg_id)
{
    char why[ERR_LEN];
    int rc;
    (void)ctx;
    if (!still_leader())
        return -1;
    rc = publish_requirement(st->requirement, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE, msg_id, st, batch,
                             size, why);
    if (rc == SCHED_REFUSED)
        log_error("merge of %s cannot be released: %s", st->id, why);
    else
        log_info("merge of %s released (batch %s of %d)", st->id, batch, size);
    return rc;
}

static void out_reject(void *ctx, const char *id, const char *reason, const char *text)
{
    pb_error e;
    char subject[160], msg_id[160];
    char *json;
    (void)ctx;
    orchestrator__v1__agent_error__init(&e);
    e.reason = (char *)reason;
    e.message = (char *)text;
    e.requirement_id = (char *)id;
    json = nc_refusal_pack(NAMES_SRC_SCHEDULER, &e, id, subject, sizeof(subject));
    snprintf(msg_id, sizeof(msg_id), "scheduler-%s-%s", reason, id);
    publish(NULL, subject, msg_id, json, (int)strlen(json), "application/json");
    free(json);
    log_warn("rejected %s (%s): %s", id, reason, text);
}

/* A report that does not count: errors.scheduler.<key>, one per message. */
static void out_refuse(void *ctx, const char *key, const char *reason, const char *text, const sched_from *from)
{
    pb_error e;
    char subject[160], msg_id[200];
    char *json;
    int by_instance = from->instance && !strcmp(key, from->instance);
    (void)ctx;
    orchestrator__v1__agent_error__init(&e);
    e.reason = (char *)reason;
    e.message = (char *)text;
    e.requirement_id = by_instance ? "" : (char *)key;
    e.instance = (char *)(from->instance ? from->instance : "");
    e.agent_type = (Orchestrator__V1__AgentType)from->type;
    e.subject = (char *)(from->subject ? from->subject : "");
    json = nc_refusal_pack(NAMES_SRC_SCHEDULER, &e, key, subject, sizeof(subject));
    if (from->tag)
        snprintf(msg_id, sizeof(msg_id), "scheduler-%s-%s", reason, from->tag);
    else
        snprintf(msg_id, sizeof(msg_id), "scheduler-%s-%s-%lld", reason, key, (long long)e.at_ms);
    publish(NULL, subject, msg_id, json, (int)strlen(json), "application/json");
    free(json);
    log_warn("refused %s on %s (%s): %s", from->tag ? from->tag : "a message", from->subject ? from->subject : "?",
             reason, text);
}

static void out_spawn(void *ctx, int type, int count, int depth, uint64_t budget, const char *reason)
{
    pb_spawn sp;
    char subject[96], msg_id[96];
    char *json;
    const char *tname = names_agent_type((Orchestrator__V1__AgentType)type);
    int64_t now = text_now_ms();
    (void)ctx;
    if (!still_leader())
        return;
    orchestrator__v1__spawn_request__init(&sp);
    sp.agent_type = (Orchestrator__V1__AgentType)type;
    sp.count = (uint32_t)count;
    sp.reason = (char *)reason;
    sp.token_budget = budget;
    sp.queue_depth = (uint32_t)depth;
    sp.requested_at_ms = now;
    if (pool_nats_spawn(&sp, now, publish))
        return; /* placed on the pool's hosts (or why not, said) */
    json = edge_spawn_to_json(&sp);
    names_subject(subject, sizeof(subject), NAMES_SUBJ_SPAWN, tname, NULL);
    snprintf(msg_id, sizeof(msg_id), "spawn-%s-%lld", tname, (long long)(now / 1000));
    publish(NULL, subject, msg_id, json, (int)strlen(json), "application/json");
    free(json);
    log_info("asked for %d more %s agents: %s", count, tname, reason);
}

static void out_alert(void *ctx, const char *severity, const char *kind, const char *key, const char *text)
{
    char subject[96], fp[200];
    uint8_t *buf;
    size_t len;
    nc_alert a = {.rule = kind, .fingerprint = fp, .summary = text, .text = text, .source = "scheduler",
                  .instance = S.d->cfg.instance};
    (void)ctx;
    if (!still_leader())
        return;
    if (names_severity_parse(severity, &a.severity) != 0) {
        log_error("alert %s not raised: no severity '%s': %s", kind, severity ? severity : "(none)", text);
        return;
    }
    snprintf(fp, sizeof(fp), "scheduler:%s:%s", kind, key);
    if (nc_alert_pack(&a, &buf, &len) == ORCH_OK) {
        nc_alert_subject(&a, subject, sizeof(subject));
        publish(NULL, subject, fp, buf, (int)len, "application/protobuf");
        free(buf);
    }
    log_warn("alert %s/%s: %s", severity, kind, text);
}

static void out_budget(void *ctx, const budget *b, int type)
{
    pb_budget u;
    char key[48];
    uint8_t *buf;
    size_t len;
    (void)ctx;
    orchestrator__v1__budget_usage__init(&u);
    u.day = (char *)b->day;
    u.agent_type = (Orchestrator__V1__AgentType)type;
    u.used = type ? b->used[type] : b->used_total;
    u.unattributed = type ? b->unattributed[type] : 0;
    u.cost_micro_usd = type ? b->cost_micro_usd[type] : b->cost_micro_usd_total;
    u.limit = type ? b->cfg.limit[type] : b->cfg.total_limit;
    u.limit_micro_usd = (type ? b->cfg.limit_usd[type] : b->cfg.total_limit_usd) * 1000000ull;
    u.conservation = budget_conservation(b, NULL, 0);
    u.updated_at_ms = text_now_ms();
    snprintf(key, sizeof(key), "%s.%s", b->day, type ? names_agent_type((Orchestrator__V1__AgentType)type) : "total");
    if (pb_pack(&u.base, &buf, &len) == ORCH_OK) {
        outbox_put(S.ob, B_BUDGETS, key, buf, len);
        free(buf);
    }
}

/* What was learned, in KV orch_budgets under LEARN_KV_KEY (JSON; readers of
 * the bucket's BudgetUsage values skip it, as it is not protobuf), written
 * with the budgets by the outbox, so a new leader keeps it. */
static void out_learned(void *ctx, const char *json, size_t len)
{
    (void)ctx;
    outbox_put(S.ob, B_BUDGETS, LEARN_KV_KEY, json, len);
}

/* The merge train's asks and state go through the outbox (train_nats.h). */
static void out_train_build(void *ctx, const char *project, const train_build *b)
{
    (void)ctx;
    train_nats_build(S.ob, B_TRAINS, project, b);
}

static void out_train_advance(void *ctx, const char *project, const char *from, const char *to,
                              const char *const *ids, const char *const *commits, int n)
{
    (void)ctx;
    train_nats_advance(S.ob, B_TRAINS, project, from, to, ids, commits, n);
}

static void out_train_save(void *ctx, const char *project, const char *json)
{
    (void)ctx;
    outbox_put(S.ob, B_TRAINS, project, json, strlen(json));
}

static const sched_out outputs = {NULL, out_save, out_dispatch, out_review, out_merge, out_reject,
                                  out_spawn, out_alert, out_budget, out_refuse, out_learned,
                                  out_train_build, out_train_advance, out_train_save, people_nats_save};

/* Stores and publishes what the decisions so far asked for. Called with mu
 * held, after every call into the core; what fails stays in the outbox for
 * the next flush, and the batch being handled is not acked. What the outbox
 * gave up on (outbox.h) is logged, and reported on errors.scheduler.<id>
 * when tied to a requirement; the report goes out with the next flush. */
static void flush_locked(void)
{
    const outbox_drop *gone;
    int n;
    if (outbox_pending(S.ob) == 0)
        return;
    if (!still_leader()) {
        S.save_failed = 1; /* nothing goes out; the next leader reads KV */
        return;
    }
    if (outbox_flush(S.ob, &flush_io) != 0) {
        log_warn("%d decisions not stored yet; trying again", outbox_pending(S.ob));
        S.save_failed = 1;
    }
    n = outbox_dropped(S.ob, &gone);
    for (int i = 0; i < n; i++) {
        char text[400];
        log_error("gave up publishing %s (%s, %zu bytes): it failed %d flushes while others were stored",
                  gone[i].subject, gone[i].msg_id ? gone[i].msg_id : "no message id", gone[i].len, OUTBOX_GIVE_UP);
        if (!gone[i].key)
            continue;
        snprintf(text, sizeof(text), "%s (%zu bytes) could not be published: it failed %d times while other "
                 "messages were stored", gone[i].subject, gone[i].len, OUTBOX_GIVE_UP);
        out_reject(NULL, gone[i].key, "unpublishable", text);
    }
}

/* --- inputs ---------------------------------------------------------------------------- */

/* What follows token `index` of a subject ("REQ-1" of "results.backend.REQ-1"
 * at 2), or "" when it has fewer tokens. */
static const char *subject_rest(const char *subject, int index)
{
    const char *a = subject;
    for (int i = 0; a && i < index; i++)
        if ((a = strchr(a, '.')))
            a++;
    return a ? a : "";
}

/* The instance that claimed the dispatch of st to type at attempt (KV
 * orch_claims, key from admit_claim_key) into out, "" when none did.
 * Returns -1 when KV did not answer in time (the caller tries later). */
static int claimant_of(const pb_state *st, int type, uint32_t attempt, char *out, size_t len)
{
    char key[256];
    out[0] = '\0';
    if (!st || admit_claim_key(st, type, attempt, key, sizeof(key)) < 0)
        return 0;
    /* a claim made without its dispatch holds for no one (claim.h) */
    if (claim_holder(S.js, key, out, len) == 0)
        return 0;
    log_warn("claim %s: no answer; tried later", key);
    return -1;
}

/* "<stream>-<sequence>" of a JetStream message, to name what it causes. */
static void message_tag(natsMsg *m, char *out, size_t len)
{
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        snprintf(out, len, "%s-%llu", meta->Stream, (unsigned long long)meta->Sequence.Stream);
        jsMsgMetaData_Destroy(meta);
    } else {
        snprintf(out, len, "%lld", (long long)text_now_ms());
    }
}

/* A plan message the scheduler cannot take: reported, then termed. */
static void plan_refused(const pb_requirement *r, const char *reason, const char *why)
{
    char buf[ERR_LEN + 64];
    edge_limits lim;
    char tmp[160];
    edge_limits_default(&lim);
    if (!r || !text_id_valid(r->id, lim.max_id, tmp, sizeof(tmp)))
        return; /* no id to report it under: the log line says it */
    snprintf(buf, sizeof(buf), "%s", why);
    out_reject(NULL, r->id, reason, buf);
}

/* Handles one message under the lock; says how to settle it: acked when
 * handled (or nothing to do), termed when bad (and reported), again after
 * RETRY_MS when something it needs did not answer. */
static nc_settlement handle(input_kind kind, natsMsg *m, const sched_clock *now)
{
    const char *data = natsMsg_GetData(m);
    const char *subj = natsMsg_GetSubject(m);
    size_t len = (size_t)natsMsg_GetDataLength(m);
    char err[ERR_LEN], tag[96], claimant[128];
    edge_limits lim;
    sched_from from;

    edge_limits_default(&lim);
    memset(&from, 0, sizeof(from));
    from.subject = subj;
    switch (kind) {
    case IN_PLAN: {
        pb_requirement *r = (pb_requirement *)pb_unpack(&orchestrator__v1__requirement__descriptor,
                                                        (const uint8_t *)data, len, PB_MAX_MSG, err);
        int bad = !r || edge_requirement_check(r, &lim, err) != EDGE_OK;
        if (!bad && !*r->id) {
            snprintf(err, ERR_LEN, "requirement has no id");
            bad = 1;
        }
        if (!bad && len + 4096 > publish_cap()) {
            /* its state (the requirement and a little) could never be stored */
            snprintf(err, ERR_LEN, "requirement %s is %zu bytes; at most %zu can be kept", r->id, len,
                     publish_cap() - 4096);
            bad = 1;
        }
        if (bad) {
            log_error("plan message on %s dropped: %s", subj, err);
            plan_refused(r, "invalid_requirement", err);
            if (r)
                orchestrator__v1__requirement__free_unpacked(r, NULL);
            return nc_term();
        }
        sched_add(S.s, r, now);
        return nc_ack();
    }
    case IN_RESULTS: {
        pb_result *r = NULL;
        nc_settlement how = nc_ack();
        if (edge_result_from_json(subj, data, len, &lim, &r, err) != EDGE_OK) {
            log_warn("result on %s ignored: %s", subj, err);
            return nc_term();
        }
        message_tag(m, tag, sizeof(tag));
        from.type = names_agent_from_subject(subj, 1);
        from.id = subject_rest(subj, 2);
        from.tag = tag;
        if (claimant_of(sched_get(S.s, r->requirement_id), from.type, r->attempt, claimant, sizeof(claimant)) != 0) {
            how = nc_retry(RETRY_MS);
        } else {
            from.claimant = claimant;
            sched_result(S.s, r, &from, now);
        }
        orchestrator__v1__result__free_unpacked(r, NULL);
        return how;
    }
    case IN_VERDICTS: {
        pb_verdict *v = (pb_verdict *)pb_unpack(&orchestrator__v1__verdict__descriptor, (const uint8_t *)data, len,
                                                PB_MAX_MSG, err);
        if (!v) {
            log_error("verdict on %s dropped: %s", subj, err);
            return nc_term();
        }
        if (sched_verdict_early(S.s, v)) {
            /* its result not taken yet: on its way (another consumer), or
             * refused, or the verdict is not the verifier's; asked again
             * until the consumer's deliveries run out */
            log_warn("verdict on %s about %s attempt %u before its result was taken: held", subj,
                     v->requirement_id, v->attempt);
            orchestrator__v1__verdict__free_unpacked(v, NULL);
            return nc_retry(VERDICT_EARLY_MS);
        }
        sched_verdict(S.s, v, now);
        orchestrator__v1__verdict__free_unpacked(v, NULL);
        return nc_ack();
    }
    case IN_TRAIN:
        return train_nats_answer(S.s, subj, data, len, now);
    case IN_ERRORS: {
        pb_error *e = NULL;
        nc_settlement how = nc_ack();
        int stuck_report = names_source_of(subj) == NAMES_SRC_MONITOR;
        if (!names_error_is_agents(subj) && !stuck_report)
            return nc_ack(); /* services' reports: for people and the monitor */
        if (edge_error_from_json(data, len, &lim, &e, err) != EDGE_OK) {
            log_warn("error report on %s ignored: %s", subj, err);
            return nc_term();
        }
        if (!*e->source)
            pb_set_str(&e->source, "agent");
        /* Of the monitor's reports only "stuck" releases work; the others
         * (errors.monitor.<reason>) tell people of reports it refused. */
        if (stuck_report && strcmp(e->reason ? e->reason : "", "stuck") != 0) {
            orchestrator__v1__agent_error__free_unpacked(e, NULL);
            return nc_ack();
        }
        message_tag(m, tag, sizeof(tag));
        /* errors.agent.<type>.<id> (or the older errors.agent.<id>); the
         * monitor's errors.monitor.stuck */
        if (!names_agent_error_of(subj, &from.type, &from.id)) {
            from.type = names_agent_from_subject(subj, 1);
            from.id = subject_rest(subj, 2);
        }
        from.tag = tag;
        /* The monitor releases stuck work on behalf of whoever held it. */
        if (!stuck_report &&
            claimant_of(sched_get(S.s, e->requirement_id), from.type > 0 ? from.type : (int)e->agent_type, e->attempt,
                        claimant, sizeof(claimant)) != 0) {
            how = nc_retry(RETRY_MS);
        } else {
            from.claimant = !stuck_report ? claimant : NULL;
            sched_error(S.s, e, &from, now);
        }
        orchestrator__v1__agent_error__free_unpacked(e, NULL);
        return how;
    }
    }
    return nc_ack();
}

/* A fetched batch is decided under the lock and stored by one flush; only
 * then is it settled: as each message's handler said, or all of it again
 * after RETRY_MS when a decision could not be stored or the lead was lost
 * meanwhile. */
static void handle_batch(natsMsg **msgs, int n, nc_settlement *how, void *arg)
{
    input_kind kind = (input_kind)(intptr_t)arg;
    sched_clock now;
    int failed;
    pthread_mutex_lock(&S.mu);
    clock_now(&now);
    S.save_failed = 0;
    for (int i = 0; i < n; i++)
        how[i] = S.s && still_leader() ? handle(kind, msgs[i], &now) : nc_retry(RETRY_MS);
    flush_locked();
    failed = S.save_failed || !S.leader_now;
    S.handled[kind] += n;
    pthread_mutex_unlock(&S.mu);
    for (int i = 0; failed && i < n; i++)
        how[i] = nc_retry(RETRY_MS);
}

static void *fetcher(void *arg)
{
    input_kind kind = (input_kind)(intptr_t)arg;
    while (atomic_load(&S.running))
        nc_consume_batch(S.subs[kind], (int)scheduler_cfg.batch, 500, handle_batch, (void *)(intptr_t)kind);
    return NULL;
}

static void on_heartbeat(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    pb_heartbeat *h = NULL;
    edge_limits lim;
    char err[ERR_LEN];
    (void)nc;
    (void)sub;
    (void)closure;
    edge_limits_default(&lim);
    if (edge_heartbeat_from_json(natsMsg_GetSubject(m), natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &lim, &h,
                                 err) == EDGE_OK) {
        sched_clock now;
        sched_from from;
        char claimant[128] = "", instance[80];
        const char *subj = natsMsg_GetSubject(m);
        /* agents.heartbeat.<type>.<instance>: who sent it, whatever the body says */
        memset(&from, 0, sizeof(from));
        from.subject = subj;
        from.type = names_agent_from_subject(subj, 2);
        snprintf(instance, sizeof(instance), "%s", subject_rest(subj, 3));
        from.instance = instance;
        pthread_mutex_lock(&S.mu);
        clock_now(&now);
        if (S.s && still_leader()) {
            if (*h->requirement_id)
                claimant_of(sched_get(S.s, h->requirement_id), from.type ? from.type : (int)h->agent_type, 0, claimant,
                            sizeof(claimant));
            from.claimant = claimant;
            sched_heartbeat(S.s, h, &from, &now);
            flush_locked();
        }
        pthread_mutex_unlock(&S.mu);
        orchestrator__v1__heartbeat__free_unpacked(h, NULL);
    } else {
        log_debug("heartbeat on %s ignored: %s", natsMsg_GetSubject(m), err);
    }
    natsMsg_Destroy(m);
}

/* --- requests -------------------------------------------------------------------------- */

/* The state of id as the last leader stored it (a requirement let go from
 * memory), or NULL. */
static pb_state *stored_state(const char *id)
{
    kvEntry *e = NULL;
    pb_state *st = NULL;
    char err[ERR_LEN];
    if (kvStore_Get(&e, S.states, id) != NATS_OK)
        return NULL;
    st = (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor, (const uint8_t *)kvEntry_Value(e),
                               (size_t)kvEntry_ValueLen(e), PB_MAX_MSG, err);
    kvEntry_Destroy(e);
    if (st && sched_state_check(st, id, err) != 0) { /* quarantined at the last takeover: not shown as true */
        log_warn("state %s/%s not shown: %s", TOPO_KV_REQUIREMENTS, id, err);
        orchestrator__v1__requirement_state__free_unpacked(st, NULL);
        st = NULL;
    }
    return st;
}

/* orch.status.<id>: only the leader answers (a plain subscription). */
static void on_status(srv_req *req, void *closure)
{
    const char *subject = natsMsg_GetSubject(req->msg);
    const char *id = names_subject_rest(subject, NAMES_FAM_STATUS);
    sched_clock now;
    pb_state *kept;
    (void)closure;
    if (!id)
        return; /* the endpoint's subject is orch.status.*: never */
    pthread_mutex_lock(&S.mu);
    if (!S.s || !still_leader()) {
        pthread_mutex_unlock(&S.mu);
        return;
    }
    {
        const pb_state *st = sched_get(S.s, id);
        clock_now(&now);
        if (st) {
            cJSON *o = sched_view_status(S.s, st, sched_eta(S.s, id, &now), 0);
            pthread_mutex_unlock(&S.mu);
            srv_respond_json(req, o);
            return;
        }
    }
    pthread_mutex_unlock(&S.mu);
    if ((kept = stored_state(id)) != NULL) {
        /* Without the core (mu is not held): a split original is never let
         * go from memory, so a state read back has no parts to name. */
        srv_respond_json(req, sched_view_status(NULL, kept, 0, 0));
        orchestrator__v1__requirement_state__free_unpacked(kept, NULL);
        return;
    }
    {
        char msg[160];
        snprintf(msg, sizeof(msg), "no requirement %.100s", id);
        srv_respond_error(req, 404, msg);
    }
}

/* orch.scheduler.list: a page of the requirements (sched_view.h). */
static void on_list(srv_req *req, void *closure)
{
    sched_clock now;
    long long offset, limit;
    char err[200];
    cJSON *o;
    (void)closure;
    if (sched_view_list_request(natsMsg_GetData(req->msg), (size_t)natsMsg_GetDataLength(req->msg),
                                scheduler_cfg.list_limit, &offset, &limit, err, sizeof(err)) != 0) {
        srv_respond_error(req, 400, err);
        return;
    }
    pthread_mutex_lock(&S.mu);
    if (!S.s || !still_leader()) {
        pthread_mutex_unlock(&S.mu);
        return;
    }
    clock_now(&now);
    o = sched_view_list(S.s, scheduler_cfg.mode ? (int)scheduler_cfg.core.turn_minutes : 0, offset, limit, &now);
    cJSON_AddItemToObject(o, "trains", sched_trains_json(S.s)); /* docs/merge.md */
    cJSON_AddItemToObject(o, "paused", sched_pauses_view(S.s)); /* docs/scheduler.md */
    pthread_mutex_unlock(&S.mu);
    srv_respond_json(req, o);
}

/* The lock for decisions of people (people_nats.h). */
static sched *people_lock(sched_clock *now)
{
    pthread_mutex_lock(&S.mu);
    if (!S.s || !still_leader()) {
        pthread_mutex_unlock(&S.mu);
        return NULL;
    }
    clock_now(now);
    return S.s;
}

static void people_unlock(void)
{
    flush_locked();
    pthread_mutex_unlock(&S.mu);
}

/* orch.scheduler.retry: {"id": "REQ-1"} or the bare id. */
static void on_retry(srv_req *req, void *closure)
{
    char id[80] = "", err[256];
    sched_clock now;
    int rc;
    (void)closure;
    sched_view_request_id(natsMsg_GetData(req->msg), (size_t)natsMsg_GetDataLength(req->msg), id, sizeof(id));
    pthread_mutex_lock(&S.mu);
    if (!S.s || !still_leader()) {
        pthread_mutex_unlock(&S.mu);
        return;
    }
    clock_now(&now);
    rc = sched_retry(S.s, id, &now, err, sizeof(err));
    flush_locked();
    if (rc == 0) {
        cJSON *o = sched_view_status(S.s, sched_get(S.s, id), 0, 0);
        pthread_mutex_unlock(&S.mu);
        log_info("%s retried by request", id);
        srv_respond_json(req, o);
        return;
    }
    pthread_mutex_unlock(&S.mu);
    srv_respond_error(req, 409, err);
}

static void stats_data(cJSON *data, void *closure)
{
    (void)closure;
    pthread_mutex_lock(&S.mu);
    cJSON_AddBoolToObject(data, "leader", S.leader_now);
    cJSON_AddNumberToObject(data, "dispatched", (double)S.dispatched);
    if (S.s) {
        cJSON *by;
        size_t total = sched_view_by_status(S.s, &by);
        cJSON_AddItemToObject(data, "by_status", by);
        cJSON_AddNumberToObject(data, "requirements", (double)total);
    }
    pthread_mutex_unlock(&S.mu);
}

/* --- leadership --------------------------------------------------------------------------- */

/* A saved state that is not restored (unreadable, or refused by
 * sched_restore_checked) stays where it is, for a person: never deleted,
 * never the reason to give up the lead. Its revision is remembered, so
 * work of that id planned later writes over it by compare-and-set like any
 * other (the bucket's history keeps the quarantined value) instead of
 * finding "someone else" writing. One critical alert names it. */
static void quarantine(const char *key, uint64_t rev, const char *how, const char *why)
{
    char text[ERR_LEN + 200], fp_key[160];
    snprintf(text, sizeof(text), "state %s/%s (revision %llu) %s and quarantined: %s; kept as it is for a person",
             TOPO_KV_REQUIREMENTS, key, (unsigned long long)rev, how, why);
    snprintf(fp_key, sizeof(fp_key), "%.100s.r%llu", key, (unsigned long long)rev);
    char *safe = text_printable(text); /* why may quote what the state holds */
    log_error("%s", safe);
    out_alert(NULL, "critical", names_alert_kind_token(NAMES_ALERT_STATE_QUARANTINED), fp_key, safe);
    free(safe);
}

/* Rebuilds the core from KV and starts consuming. Called with mu held. */
static orch_status become_leader(void)
{
    kvKeysList keys = {0};
    sched_clock now;
    char err[ERR_LEN], hb_subject[64];
    int restored = 0;
    strmap *issued;
    natsStatus s;

    clock_now(&now);
    outbox_destroy(S.ob); /* a former lead's leftovers: the state is read again */
    S.ob = outbox_create();
    S.s = sched_create(&S.core_cfg, &outputs, &now);
    strmap_destroy(S.rev_index);
    S.rev_index = strmap_create();
    S.nrevs = 0;
    s = kvStore_Keys(&keys, S.states, NULL);
    if (s != NATS_OK && s != NATS_NOT_FOUND) {
        log_error("reading state: %s", natsStatus_GetText(s));
        return ORCH_ERR_NATS;
    }
    issued = evidence_issued_ids(S.ids);
    for (int i = 0; i < keys.Count; i++) {
        kvEntry *e = NULL;
        pb_state *st;
        if (kvStore_Get(&e, S.states, keys.Keys[i]) != NATS_OK)
            continue;
        st = (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor,
                                   (const uint8_t *)kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), PB_MAX_MSG, err);
        if (!st) {
            quarantine(keys.Keys[i], kvEntry_Revision(e), "unreadable", err);
        } else if (issued && !strmap_get(issued, keys.Keys[i], NULL)) {
            /* a state of work the router never handed on: written by
             * someone else, whatever it says */
            quarantine(keys.Keys[i], kvEntry_Revision(e), "refused",
                       "no requirement of this id was ever issued (" TOPO_KV_IDS ")");
            orchestrator__v1__requirement_state__free_unpacked(st, NULL);
        } else if (sched_restore_checked(S.s, st, keys.Keys[i], err) == 0)
            restored++;
        else
            quarantine(keys.Keys[i], kvEntry_Revision(e), "refused", err);
        *rev_slot(keys.Keys[i]) = kvEntry_Revision(e);
        kvEntry_Destroy(e);
    }
    kvKeysList_Destroy(&keys);
    strmap_destroy(issued);
    evidence_restore_budgets(S.s, S.budgets, &now);
    evidence_restore_learned(S.s, S.budgets);
    train_nats_restore(S.s, S.trains, out_alert);
    people_nats_restore(S.s); /* pauses hold before anything is released */
    sched_resume(S.s, &now);
    sched_train_resume(S.s, &now);
    flush_locked();
    log_info("leader: state of %d requirements restored", restored);

    atomic_store(&S.running, true);
    for (int k = 0; k < N_INPUTS; k++) {
        char err[ERR_LEN];
        if (nc_pull_subscribe(S.d->js, NULL, input_durables[k], &S.subs[k], err) != ORCH_OK) {
            log_error("%s", err);
            return ORCH_ERR_NATS;
        }
        if (pthread_create(&S.threads[k], NULL, fetcher, (void *)(intptr_t)k) != 0) {
            natsSubscription_Destroy(S.subs[k]);
            S.subs[k] = NULL;
            log_error("cannot start the %s reader", input_durables[k]);
            return ORCH_ERR_IO;
        }
    }
    snprintf(hb_subject, sizeof(hb_subject), "%s.>", NAMES_SUBJ_HEARTBEAT);
    if (natsConnection_Subscribe(&S.hb_sub, S.d->nc, hb_subject, on_heartbeat, NULL) != NATS_OK) {
        log_error("subscribe %s: %s", hb_subject, nats_GetLastError(NULL));
        return ORCH_ERR_NATS;
    }
    /* The server has the subscription before anyone is told this instance
     * leads: a heartbeat sent after that is not missed. */
    natsConnection_FlushTimeout(S.d->nc, 2000);
    return ORCH_OK;
}

/* Stops consuming and forgets the state (the next leader reads it from KV).
 * Called without mu held. */
static void step_down(void)
{
    atomic_store(&S.running, false);
    for (int k = 0; k < N_INPUTS; k++) {
        if (S.subs[k]) {
            pthread_join(S.threads[k], NULL);
            natsSubscription_Unsubscribe(S.subs[k]);
            natsSubscription_Destroy(S.subs[k]);
            S.subs[k] = NULL;
        }
    }
    if (S.hb_sub) {
        natsSubscription_Unsubscribe(S.hb_sub);
        natsSubscription_Destroy(S.hb_sub);
        S.hb_sub = NULL;
    }
    pthread_mutex_lock(&S.mu);
    sched_destroy(S.s);
    S.s = NULL;
    S.leader_now = 0;
    pthread_mutex_unlock(&S.mu);
}

/* Renews or takes the lease (common/lease.c). */
static void take_or_keep_lead(void)
{
    int change = lease_tick(&S.lease, text_mono_ms());
    if (change < 0) {
        step_down();
        return;
    }
    if (change == 0)
        return;
    pthread_mutex_lock(&S.mu);
    S.leader_now = 1;
    if (become_leader() != ORCH_OK) {
        pthread_mutex_unlock(&S.mu);
        step_down();
        lease_let_go();
        return;
    }
    pthread_mutex_unlock(&S.mu);
}

/* --- daemon hooks ------------------------------------------------------------------------- */

/* scheduler.turn_offsets: one offset per agent type from backend on, each
 * below the cycle (turn_minutes), or none. */
static orch_status parse_offsets(sched_cfg *c, char err[ERR_LEN])
{
    const cfg_list *l = &scheduler_cfg.turn_offsets;
    if (l->n == 0)
        return ORCH_OK;
    if (l->n != NAMES_AGENT_TYPES - 1) {
        snprintf(err, ERR_LEN, "key 'scheduler.turn_offsets': %d values for the %d agent types (%s)", l->n,
                 NAMES_AGENT_TYPES - 1, NAMES_AGENT_LIST);
        return ORCH_ERR_INVALID;
    }
    for (int i = 0; i < l->n; i++) {
        char *end;
        long v = strtol(l->v[i], &end, 10);
        if (end == l->v[i] || *end || v < 0 || v >= scheduler_cfg.core.turn_minutes) {
            snprintf(err, ERR_LEN, "key 'scheduler.turn_offsets': '%.20s' is not a minute from 0 to %lld "
                     "(scheduler.turn_minutes - 1)", l->v[i], scheduler_cfg.core.turn_minutes - 1);
            return ORCH_ERR_INVALID;
        }
        c->turn_offset[i + 1] = (int)v;
    }
    return ORCH_OK;
}

orch_status scheduler_start(daemon_ctx *d, char err[ERR_LEN])
{
    sched_cfg *c = &S.core_cfg;
    char status_subject[64];
    orch_status st;

    memset(&S, 0, sizeof(S));
    atomic_init(&S.running, false);
    S.d = d;
    pthread_mutex_init(&S.mu, NULL);
    S.rev_index = strmap_create();
    S.ob = outbox_create();
    setenv("TZ", scheduler_cfg.timezone, 1);
    tzset();

    *c = scheduler_cfg.core; /* as the settings table wrote it */
    if (!scheduler_cfg.mode)
        c->turn_minutes = 0;
    c->order = scheduler_cfg.release_order;
    if (parse_offsets(c, err) != ORCH_OK)
        return ORCH_ERR_INVALID;
    if (!sched_parse_hhmm(scheduler_cfg.quiet_start, &c->quiet_start) ||
        !sched_parse_hhmm(scheduler_cfg.quiet_end, &c->quiet_end)) {
        snprintf(err, ERR_LEN, "keys 'scheduler.quiet_start'/'scheduler.quiet_end' must be HH:MM");
        return ORCH_ERR_INVALID;
    }
    if (natsConnection_JetStream(&S.js, d->rr, NULL) != NATS_OK ||
        js_KeyValue(&S.states, S.js, TOPO_KV_REQUIREMENTS) != NATS_OK ||
        js_KeyValue(&S.budgets, S.js, TOPO_KV_BUDGETS) != NATS_OK ||
        js_KeyValue(&S.leader, S.js, TOPO_KV_LEADER) != NATS_OK ||
        js_KeyValue(&S.claims, S.js, TOPO_KV_CLAIMS) != NATS_OK ||
        js_KeyValue(&S.trains, S.js, TOPO_KV_TRAINS) != NATS_OK ||
        js_KeyValue(&S.ids, S.js, TOPO_KV_IDS) != NATS_OK) {
        snprintf(err, ERR_LEN, "KV buckets: %s", nats_GetLastError(NULL));
        return ORCH_ERR_NATS;
    }
    if ((st = jsbatch_create(&S.jb, d->rr, FLUSH_MAX_PENDING, FLUSH_WAIT_MS, err)) != ORCH_OK)
        return st;
    lease_init(&S.lease, S.leader, LEASE_KEY, d->cfg.instance, scheduler_cfg.lease_refresh_ms);
    lease_alert_to(&S.lease, d->js, "scheduler");
    log_info("mode %s, window %lld, budgets total %lld, time zone %s", scheduler_cfg.mode ? "turns" : "continuous",
             c->window, (long long)c->budget.total_limit, scheduler_cfg.timezone);
    snprintf(status_subject, sizeof(status_subject), "%s.*", NAMES_SUBJ_STATUS);
    if ((st = srv_add_endpoint(d->srv, "status", status_subject, "", on_status, stats_data, NULL, err)) != ORCH_OK ||
        (st = srv_add_endpoint(d->srv, "list", names_request_subject(NAMES_REQ_SCHEDULER_LIST), "", on_list, NULL,
                               NULL, err)) != ORCH_OK ||
        (st = srv_add_endpoint(d->srv, "retry", names_request_subject(NAMES_REQ_SCHEDULER_RETRY), "", on_retry, NULL,
                               NULL, err)) != ORCH_OK ||
        (st = people_nats_start(d, people_lock, people_unlock, err)) != ORCH_OK)
        return st;
    return pool_nats_start(d, scheduler_cfg.host_lost_ms, err);
}

void scheduler_step(daemon_ctx *d)
{
    sched_clock now;
    (void)d;
    take_or_keep_lead();
    pthread_mutex_lock(&S.mu);
    if (S.s && still_leader()) {
        clock_now(&now);
        pool_nats_tick(S.s, &now);
        sched_tick(S.s, &now);
        flush_locked(); /* and what failed before (e.g. during a server outage) */
    }
    {
        int lost = S.s && !S.leader_now; /* a save found someone else writing, or the lease lapsed */
        pthread_mutex_unlock(&S.mu);
        if (lost) {
            step_down();
            lease_let_go();
        }
    }
    nats_Sleep(250);
}

void scheduler_stop(daemon_ctx *d)
{
    (void)d;
    /* Fetchers finish their batch (acked) within the fetch wait. */
    step_down();
    lease_let_go(); /* a standby need not wait for the TTL */
    pool_nats_stop();
    people_nats_stop();
    kvStore_Destroy(S.states);
    kvStore_Destroy(S.budgets);
    kvStore_Destroy(S.leader);
    kvStore_Destroy(S.claims);
    kvStore_Destroy(S.trains);
    kvStore_Destroy(S.ids);
    if (S.js)
        jsCtx_Destroy(S.js);
    strmap_destroy(S.rev_index);
    outbox_destroy(S.ob);
    jsbatch_destroy(S.jb);
    free(S.slot_key);
    free(S.revs);
    pthread_mutex_destroy(&S.mu);
}
