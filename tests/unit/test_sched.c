/* The scheduler's state machine with a recording sched_out: release order,
 * window, budgets, overlap, retries and escalation, spawns, cycles, tokens,
 * merges, turns, conservation, split aliases, a restart from saved state,
 * and what is learned from completed work (estimates, the forecast). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "names.h"
#include "schedule.h"
#include "text.h"

enum { BE = 1, FE = 2, DB = 3, DOC = 4 };
enum { CRIT = 1, HIGH = 2, MED = 3, LOW = 4 };

typedef struct {
    char id[32];
    unsigned attempt;
    char msg_id[64];
    char output[256];
    char hint[16];
    uint64_t token_budget;
} sent;

static struct {
    sent d[64];
    int nd;
    char reviews[32][32];
    int nr;
    char merges[32][32];
    char merge_batch[32][16];
    int merge_size[32];
    int nm;
    char rejects[8][256];
    char reject_reason[8][32];
    int nrej;
    int spawn_type[8], spawn_count[8];
    int nspawn;
    char alerts[8][300];
    int nalert;
    /* saved states, packed, by id (last one wins) */
    char saved_id[64][32];
    uint8_t *saved[64];
    size_t saved_len[64];
    int nsaved;
    int fail_dispatch;
    int refuse_dispatch;       /* dispatches answer SCHED_REFUSED */
    char refusals[16][400];    /* "<key> <reason>: <text>" */
    int nrefusal;
} rec;

static int r_save(void *ctx, const pb_state *st)
{
    int i;
    (void)ctx;
    for (i = 0; i < rec.nsaved; i++)
        if (!strcmp(rec.saved_id[i], st->id))
            break;
    if (i == rec.nsaved)
        snprintf(rec.saved_id[rec.nsaved++], 32, "%s", st->id);
    free(rec.saved[i]);
    pb_pack(&st->base, &rec.saved[i], &rec.saved_len[i]);
    return 0;
}

static int r_dispatch(void *ctx, const pb_state *st, const char *msg_id, char why[ERR_LEN])
{
    sent *x;
    (void)ctx;
    if (rec.fail_dispatch)
        return -1;
    if (rec.refuse_dispatch) {
        snprintf(why, ERR_LEN, "requirements.backend.%s would carry 2000000 bytes", st->id);
        return SCHED_REFUSED;
    }
    x = &rec.d[rec.nd++];
    snprintf(x->id, sizeof(x->id), "%s", st->id);
    x->attempt = st->requirement->attempt;
    snprintf(x->msg_id, sizeof(x->msg_id), "%s", msg_id);
    snprintf(x->output, sizeof(x->output), "%s", st->requirement->last_failure_output);
    snprintf(x->hint, sizeof(x->hint), "%s", st->requirement->model_hint);
    x->token_budget = st->requirement->token_budget;
    return 0;
}

static int r_review(void *ctx, const pb_state *st, const char *msg_id)
{
    (void)ctx;
    (void)msg_id;
    snprintf(rec.reviews[rec.nr++], 32, "%s", st->id);
    return 0;
}

static int r_merge(void *ctx, const pb_state *st, const char *batch, int size, const char *msg_id)
{
    (void)ctx;
    (void)msg_id;
    snprintf(rec.merges[rec.nm], 32, "%s", st->id);
    snprintf(rec.merge_batch[rec.nm], 16, "%s", batch);
    rec.merge_size[rec.nm++] = size;
    return 0;
}

static void r_reject(void *ctx, const char *id, const char *reason, const char *text)
{
    (void)ctx;
    (void)id;
    snprintf(rec.reject_reason[rec.nrej], 32, "%s", reason);
    snprintf(rec.rejects[rec.nrej++], 256, "%s", text);
}

static void r_spawn(void *ctx, int type, int count, int depth, uint64_t budget, const char *reason)
{
    (void)ctx;
    (void)depth;
    (void)budget;
    (void)reason;
    rec.spawn_type[rec.nspawn] = type;
    rec.spawn_count[rec.nspawn++] = count;
}

static void r_alert(void *ctx, const char *severity, const char *kind, const char *key, const char *text)
{
    (void)ctx;
    (void)key;
    snprintf(rec.alerts[rec.nalert++], 300, "%s/%s: %s", severity, kind, text);
}

static void r_refuse(void *ctx, const char *key, const char *reason, const char *text, const sched_from *from)
{
    (void)ctx;
    (void)from;
    if (rec.nrefusal < 16)
        snprintf(rec.refusals[rec.nrefusal++], 400, "%s %s: %s", key, reason, text);
}

static const sched_out out = {NULL, r_save, r_dispatch, r_review, r_merge, r_reject, r_spawn, r_alert, NULL,
                              r_refuse, NULL};

static sched_clock clk;
static sched_cfg cfg;

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < rec.nsaved; i++)
        free(rec.saved[i]);
    memset(&rec, 0, sizeof(rec));
    clk.now_ms = 1764000000000LL;
    snprintf(clk.day, sizeof(clk.day), "2026-11-24");
    clk.minute = 10 * 60;
    sched_cfg_default(&cfg);
    cfg.window = 100;
    return 0;
}

static pb_requirement *req(const char *id, int type, int prio, uint64_t est, const char *deps, const char *files)
{
    pb_requirement *r = xmalloc(sizeof(*r));
    char buf[256], *tok, *save;
    orchestrator__v1__requirement__init(r);
    r->id = xstrdup(id);
    r->title = xstrdup(id);
    r->type = (Orchestrator__V1__AgentType)type;
    r->priority = (Orchestrator__V1__Priority)prio;
    r->estimated_tokens = est;
    r->complexity = ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_M;
    if (deps) {
        snprintf(buf, sizeof(buf), "%s", deps);
        for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            pb_add_str(&r->dependencies, &r->n_dependencies, tok);
    }
    if (files) {
        snprintf(buf, sizeof(buf), "%s", files);
        for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            pb_add_str(&r->files, &r->n_files, tok);
    }
    return r;
}

static void verdict(sched *s, const char *id, unsigned attempt, int kind, const char *output)
{
    pb_verdict v;
    orchestrator__v1__verdict__init(&v);
    v.requirement_id = (char *)id;
    v.attempt = attempt;
    v.kind = (Orchestrator__V1__VerdictKind)kind;
    v.failing_output = (char *)(output ? output : "");
    v.detail = (char *)(output ? output : "");
    sched_verdict(s, &v, &clk);
}

#define PASS ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_PASS
#define FAIL ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_FAIL
#define INFRA ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_INFRASTRUCTURE_ERROR

/* The type of id's work, as the subject of its own agents' reports says. */
static int own_type(sched *s, const char *id)
{
    const pb_state *st = sched_get(s, id);
    return st ? (int)st->requirement->type : BE;
}

/* A report on results.<type>.<id>. */
static admit_code result_from(sched *s, int type, const pb_result *r)
{
    sched_from from = {type, r->requirement_id, NULL, NULL, "results", NULL};
    return sched_result(s, r, &from, &clk);
}

static admit_code result(sched *s, const char *id, unsigned attempt, uint64_t tokens)
{
    pb_result r;
    orchestrator__v1__result__init(&r);
    r.requirement_id = (char *)id;
    r.attempt = attempt;
    r.tokens_used = tokens;
    return result_from(s, own_type(s, id), &r);
}

static void review(sched *s, const char *id, int outcome, const char *summary)
{
    pb_result r;
    orchestrator__v1__result__init(&r);
    r.requirement_id = (char *)id;
    r.agent_type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW;
    r.review = (Orchestrator__V1__ReviewOutcome)outcome;
    r.summary = (char *)summary;
    result_from(s, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW, &r);
}

/* A heartbeat on agents.heartbeat.<type>.<instance>: the body's type, else
 * the type of the work it names. */
static admit_code heartbeat(sched *s, const pb_heartbeat *h)
{
    sched_from from = {h->agent_type ? (int)h->agent_type : own_type(s, h->requirement_id), NULL, h->instance, NULL,
                       "agents.heartbeat", NULL};
    return sched_heartbeat(s, h, &from, &clk);
}

/* An error on errors.agent.<id>. */
static admit_code agent_error(sched *s, const pb_error *e)
{
    sched_from from = {0, e->requirement_id, NULL, NULL, "errors.agent", NULL};
    return sched_error(s, e, &from, &clk);
}

static void started(sched *s, const char *id)
{
    pb_heartbeat h;
    orchestrator__v1__heartbeat__init(&h);
    h.requirement_id = (char *)id;
    h.instance = "agent-1";
    heartbeat(s, &h);
}

static int status(sched *s, const char *id) { return sched_get(s, id)->status; }
static const char *why(sched *s, const char *id) { return sched_get(s, id)->reason; }

static void chain_migration_api_ui_released_in_order(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    assert_int_equal(sched_add(s, req("UI", FE, MED, 1000, "API", NULL), &clk), 0);
    assert_int_equal(sched_add(s, req("API", BE, MED, 1000, "MIG", NULL), &clk), 0);
    assert_int_equal(sched_add(s, req("MIG", DB, MED, 1000, NULL, NULL), &clk), 0);
    assert_int_equal(rec.nd, 1);
    assert_string_equal(rec.d[0].id, "MIG");
    assert_string_equal(rec.d[0].msg_id, "MIG-a1");
    assert_int_equal(rec.d[0].token_budget, 1500);
    assert_int_equal(status(s, "UI"), ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED);
    assert_string_equal(why(s, "UI"), "dependency: waiting on API");
    result(s, "MIG", 1, 800);
    assert_int_equal(status(s, "MIG"), ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING);
    assert_int_equal(rec.nd, 1);
    verdict(s, "MIG", 1, PASS, NULL);
    assert_int_equal(status(s, "MIG"), ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    assert_int_equal(rec.nr, 1);
    assert_string_equal(rec.reviews[0], "MIG");
    assert_int_equal(rec.nd, 2);
    assert_string_equal(rec.d[1].id, "API");
    verdict(s, "API", 1, PASS, NULL);
    assert_int_equal(rec.nd, 3);
    assert_string_equal(rec.d[2].id, "UI");
    sched_destroy(s);
}

/* Agents are not counted here (agent_seen_ms < 0: one instance starts
 * everything), so the window is scheduler.window throughout; how it
 * narrows when every agent is busy: every_agent_busy_narrows_the_window. */
static void critical_overtakes_queued_medium_work(void **state)
{
    sched *s;
    (void)state;
    cfg.window = 2;
    cfg.agent_seen_ms = -1;
    s = sched_create(&cfg, &out, &clk);
    sched_add(s, req("M1", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("M2", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("M3", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("M4", BE, LOW, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 2);
    assert_string_equal(why(s, "M3"), "window: 2 of 2 backend release slots taken");
    assert_int_equal(sched_get(s, "M3")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_WINDOW);
    assert_string_equal(why(s, "M4"), "window: 2 of 2 backend release slots taken"); /* all of the queue says so */
    sched_add(s, req("C1", BE, CRIT, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 3); /* the window full of MEDIUM work does not hold it */
    assert_string_equal(rec.d[2].id, "C1");
    sched_add(s, req("C2", BE, CRIT, 100, NULL, NULL), &clk);
    sched_add(s, req("C3", BE, CRIT, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 4); /* CRITICAL work has a window of its own */
    assert_string_equal(why(s, "C3"), "window: 2 of 2 CRITICAL backend release slots taken");
    started(s, "C1");
    assert_string_equal(rec.d[4].id, "C3");
    started(s, "M1");
    started(s, "M2");            /* C2 and C3 still hold the window */
    assert_int_equal(rec.nd, 5);
    started(s, "C2");
    assert_string_equal(rec.d[5].id, "M3");
    started(s, "C3");
    assert_string_equal(rec.d[6].id, "M4"); /* LOW last */
    sched_destroy(s);
}

#define KIND(x) ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_##x

/* Every stage of a requirement's life says what it waits on, for programs
 * (wait_kind) as for people (the reason's first word). */
static void every_stage_says_what_it_waits_on(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    const pb_state *st;
    pb_error e;
    (void)state;
    sched_add(s, req("W", BE, MED, 100, NULL, NULL), &clk);
    st = sched_get(s, "W");
    assert_int_equal(st->wait_kind, KIND(AGENT));
    assert_string_equal(st->reason, "agent: dispatched to backend (attempt 1)");
    result(s, "W", 1, 10);
    assert_int_equal(st->wait_kind, KIND(VERIFYING));
    assert_string_equal(st->reason, "verifying: attempt 1");
    verdict(s, "W", 1, PASS, NULL);
    assert_int_equal(st->wait_kind, KIND(REVIEW));
    assert_string_equal(st->reason, "review: complete, awaiting review");
    review(s, "W", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED, "fine");
    assert_int_equal(st->wait_kind, KIND(MERGE));
    assert_string_equal(st->reason, "merge: review approved, awaiting the merge");
    sched_add(s, req("X", BE, MED, 100, NULL, NULL), &clk);
    orchestrator__v1__agent_error__init(&e);
    e.source = "agent";
    e.requirement_id = "X";
    e.message = "no such repository";
    agent_error(s, &e);
    st = sched_get(s, "X");
    assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    assert_int_equal(st->wait_kind, KIND(HUMAN));
    assert_string_equal(st->reason, "escalated: no such repository");
    assert_int_equal(st->n_wait_ids, 0);
    sched_destroy(s);
}

static void budget_holds_then_releases(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("D1", DOC, MED, 40000, NULL, NULL), &clk);
    sched_add(s, req("D2", DOC, MED, 20000, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 1);
    assert_non_null(strstr(why(s, "D2"), "budget: needs 20000 tokens, documentation has 10000 left today"));
    assert_int_equal(sched_get(s, "D2")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_BUDGET);
    result(s, "D1", 1, 25000);   /* 25k used, 15k still reserved: 10k left */
    assert_int_equal(rec.nd, 1);
    verdict(s, "D1", 1, PASS, NULL); /* reservation freed: 25k left */
    assert_int_equal(rec.nd, 2);
    assert_string_equal(rec.d[1].id, "D2");
    assert_int_equal(sched_budget(s)->used[DOC], 25000);
    sched_destroy(s);
}

static void overlap_holds_the_second(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, "src/shared/util.ts,src/api/a.ts"), &clk);
    sched_add(s, req("B", FE, HIGH, 100, NULL, "src/shared/util.ts,src/pages/b.tsx"), &clk);
    sched_add(s, req("C", FE, MED, 100, NULL, "src/pages/c.tsx"), &clk);
    assert_int_equal(rec.nd, 2);
    assert_string_equal(rec.d[1].id, "C");
    assert_string_equal(why(s, "B"), "overlap: with A on src/shared/util.ts");
    assert_int_equal(sched_get(s, "B")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_OVERLAP);
    assert_int_equal(sched_get(s, "B")->n_wait_ids, 1);
    assert_string_equal(sched_get(s, "B")->wait_ids[0], "A");
    verdict(s, "A", 1, PASS, NULL);
    assert_int_equal(rec.nd, 3);
    assert_string_equal(rec.d[2].id, "B");
    sched_destroy(s);
}

static void verifier_files_replace_declared_ones(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_verdict v;
    char *touched[] = {"src/api/real.ts"};
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, "src/api/declared.ts"), &clk);
    orchestrator__v1__verdict__init(&v);
    v.requirement_id = "A";
    v.attempt = 1;
    v.kind = FAIL;
    v.failing_output = "error";
    v.files_touched = touched;
    v.n_files_touched = 1;
    sched_verdict(s, &v, &clk); /* back to the agent with attempt 2, holding real.ts */
    assert_int_equal(rec.nd, 2);
    sched_add(s, req("B", BE, MED, 100, NULL, "src/api/real.ts"), &clk);
    assert_string_equal(why(s, "B"), "overlap: with A on src/api/real.ts");
    sched_add(s, req("C", BE, MED, 100, NULL, "src/api/declared.ts"), &clk);
    assert_int_equal(status(s, "C"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    sched_destroy(s);
}

static void reject_retry_with_output_then_escalate(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    char err[128];
    (void)state;
    sched_add(s, req("R", BE, HIGH, 100, NULL, NULL), &clk);
    verdict(s, "R", 1, FAIL, "src/api/x.ts(3,1): error TS2304: Cannot find name 'foo'.");
    assert_int_equal(rec.nd, 2);
    assert_int_equal(rec.d[1].attempt, 2);
    assert_string_equal(rec.d[1].msg_id, "R-a2");
    assert_string_equal(rec.d[1].output, "src/api/x.ts(3,1): error TS2304: Cannot find name 'foo'.");
    verdict(s, "R", 1, FAIL, "stale verdict of attempt 1"); /* ignored */
    assert_int_equal(rec.nd, 2);
    verdict(s, "R", 2, FAIL, "second");
    assert_int_equal(rec.d[2].attempt, 3);
    verdict(s, "R", 3, FAIL, "third");
    assert_int_equal(rec.nd, 3);
    assert_int_equal(status(s, "R"), ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    assert_int_equal(rec.nalert, 1);
    assert_non_null(strstr(rec.alerts[0], "critical/escalation: R (R) escalated after 3 attempts: third"));
    assert_int_equal(sched_retry(s, "R", &clk, err, sizeof(err)), 0);
    assert_int_equal(rec.nd, 4);
    assert_int_equal(rec.d[3].attempt, 4);
    assert_int_equal(sched_retry(s, "R", &clk, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not ESCALATED"));
    sched_destroy(s);
}

static void infra_errors_retry_without_counting(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("I", BE, MED, 100, NULL, NULL), &clk);
    verdict(s, "I", 1, INFRA, "ref not found");
    assert_int_equal(rec.nd, 1); /* backoff first */
    assert_string_equal(why(s, "I"), "backoff: attempt 1 not before 10:00:30");
    assert_int_equal(sched_get(s, "I")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_RETRY_BACKOFF);
    clk.now_ms += 31000;
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 2);
    assert_int_equal(rec.d[1].attempt, 1);          /* same attempt */
    assert_string_equal(rec.d[1].msg_id, "I-a1-i1"); /* a new message all the same */
    sched_destroy(s);
}

static void transient_agent_error_backs_off_others_escalate(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_error e;
    (void)state;
    sched_add(s, req("T", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("P", BE, MED, 100, NULL, NULL), &clk);
    orchestrator__v1__agent_error__init(&e);
    e.source = "agent";
    e.requirement_id = "T";
    e.message = "npm registry timeout";
    e.transient = 1;
    agent_error(s, &e);
    assert_int_equal(status(s, "T"), ORCHESTRATOR__V1__STATUS__STATUS_READY);
    clk.now_ms += 31000;
    sched_tick(s, &clk);
    assert_int_equal(rec.d[2].attempt, 2);
    e.requirement_id = "P";
    e.message = "cannot write to the repository: permission denied";
    e.transient = 0;
    agent_error(s, &e);
    assert_int_equal(status(s, "P"), ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    e.requirement_id = "T";
    {   /* a service's report on its own subject is not an agent's failure */
        sched_from from = {0, "T", NULL, NULL, "errors.intake.T", NULL};
        sched_error(s, &e, &from, &clk);
    }
    assert_int_equal(status(s, "T"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    sched_destroy(s);
}

static void deep_queue_asks_for_agents_with_cooldown(void **state)
{
    sched *s;
    char id[16];
    (void)state;
    cfg.window = 1;
    s = sched_create(&cfg, &out, &clk);
    for (int i = 0; i < 8; i++) {
        snprintf(id, sizeof(id), "B%d", i);
        sched_add(s, req(id, BE, MED, 100, NULL, NULL), &clk);
    }
    assert_int_equal(rec.nspawn, 1);      /* at the 7th waiting item */
    assert_int_equal(rec.spawn_type[0], BE);
    assert_int_equal(rec.spawn_count[0], 2);
    sched_add(s, req("B9", BE, MED, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nspawn, 1);      /* cooldown */
    clk.now_ms += 11 * 60 * 1000;
    clk.minute = 23 * 60;                 /* quiet hours */
    sched_tick(s, &clk);
    assert_int_equal(rec.nspawn, 1);
    clk.minute = 12 * 60;
    sched_tick(s, &clk);
    assert_int_equal(rec.nspawn, 2);
    sched_destroy(s);
}

static void cycles_rejected_unknown_dependencies_wait(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    assert_int_equal(sched_add(s, req("REQ-A", BE, MED, 100, "REQ-B", NULL), &clk), 0);
    assert_string_equal(why(s, "REQ-A"), "dependency: waiting on REQ-B (unknown)");
    assert_int_equal(sched_get(s, "REQ-A")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_DEPENDENCY);
    assert_int_equal(sched_get(s, "REQ-A")->n_wait_ids, 1);
    assert_string_equal(sched_get(s, "REQ-A")->wait_ids[0], "REQ-B");
    assert_int_equal(sched_add(s, req("REQ-B", BE, MED, 100, "REQ-A", NULL), &clk), -1);
    assert_string_equal(rec.reject_reason[0], "cycle");
    assert_string_equal(rec.rejects[0], "dependency cycle: REQ-B -> REQ-A -> REQ-B");
    assert_null(sched_get(s, "REQ-B"));
    /* the member already known waited on REQ-B for ever: rejected too */
    assert_int_equal(status(s, "REQ-A"), ORCHESTRATOR__V1__STATUS__STATUS_REJECTED);
    assert_string_equal(why(s, "REQ-A"), "rejected: dependency cycle REQ-B -> REQ-A -> REQ-B");
    assert_int_equal(sched_get(s, "REQ-A")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_CYCLE);
    assert_int_equal(sched_get(s, "REQ-A")->n_wait_ids, 1);
    assert_string_equal(sched_get(s, "REQ-A")->wait_ids[0], "REQ-B");
    assert_string_equal(rec.reject_reason[1], "cycle");
    assert_string_equal(rec.rejects[1], "dependency cycle: REQ-B -> REQ-A -> REQ-B (closed by REQ-B)");
    assert_int_equal(sched_add(s, req("OTHER", BE, MED, 100, NULL, NULL), &clk), 0);
    assert_int_equal(status(s, "OTHER"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_int_equal(sched_add(s, req("OTHER", BE, MED, 100, NULL, NULL), &clk), -1);
    assert_string_equal(rec.reject_reason[2], "duplicate_id");
    sched_destroy(s);
}

static void tokens_are_charged_once(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_heartbeat h;
    (void)state;
    sched_add(s, req("K", BE, MED, 10000, NULL, NULL), &clk);
    orchestrator__v1__heartbeat__init(&h);
    h.requirement_id = "K";
    h.tokens_used = 300;
    heartbeat(s, &h);
    heartbeat(s, &h);
    assert_int_equal(sched_budget(s)->used[BE], 600);
    result(s, "K", 1, 1000); /* the attempt's total */
    result(s, "K", 1, 1000); /* redelivered */
    assert_int_equal(sched_budget(s)->used[BE], 1000);
    assert_int_equal(sched_get(s, "K")->tokens_used, 1000);
    sched_destroy(s);
}

/* A heartbeat overtaken by its attempt's result adds nothing; one about
 * work no longer in flight neither; an idle agent's is charged to its type
 * as unattributed. A restarted leader gets the day's ledger back from the
 * states (and the unattributed use), not from a counter written apart. */
static void ledger_follows_the_states(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk), *t;
    pb_heartbeat h;
    (void)state;
    sched_add(s, req("L", BE, MED, 10000, NULL, NULL), &clk);
    orchestrator__v1__heartbeat__init(&h);
    h.requirement_id = "L";
    h.tokens_used = 300;
    heartbeat(s, &h);          /* 300 while working */
    result(s, "L", 1, 1000);               /* the total: 700 more */
    heartbeat(s, &h);          /* sent before the result, arrived after */
    assert_int_equal(sched_budget(s)->used[BE], 1000);
    verdict(s, "L", 1, PASS, NULL);
    heartbeat(s, &h);          /* complete: nothing */
    {
        pb_result r;                       /* the review, with what it cost */
        orchestrator__v1__result__init(&r);
        r.requirement_id = "L";
        r.agent_type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW;
        r.review = ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED;
        r.tokens_used = 1500;
        result_from(s, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW, &r);
        result_from(s, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW, &r); /* redelivered: once */
    }
    h.requirement_id = "";
    h.agent_type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE;
    h.tokens_used = 50;
    heartbeat(s, &h);          /* an idle agent */
    {
        const budget *b = sched_budget(s);
        const pb_state *st = sched_get(s, "L");
        assert_int_equal(b->used[BE], 1000);
        assert_int_equal(b->used[ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE], 50);
        assert_int_equal(b->unattributed[ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE], 50);
        assert_string_equal(st->charged_day, clk.day);
        assert_int_equal(st->charged_day_own, 1000);
        assert_int_equal(st->charged_day_review, 1500);
        assert_int_equal(b->used[ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW], 1500);
    }
    {
        uint64_t total = sched_budget(s)->used_total;
        sched_destroy(s);
        t = sched_create(&cfg, &out, &clk);
        for (int i = 0; i < rec.nsaved; i++) {
            char err[ERR_LEN];
            sched_restore(t, (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor, rec.saved[i],
                                                   rec.saved_len[i], PB_MAX_MSG, err));
        }
        sched_restore_budget(t, clk.day, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE, 50, 250000);
        sched_restore_budget(t, "1999-01-01", ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE, 70, 9); /* not today */
        sched_resume(t, &clk);
        assert_int_equal(sched_budget(t)->used_total, total);
        /* the day's cost, from the budgets bucket */
        assert_int_equal(sched_budget(t)->cost_micro_usd[ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE], 250000);
        assert_int_equal(sched_budget(t)->cost_micro_usd_total, 250000);
        assert_int_equal(sched_budget(t)->used[BE], 1000);
        result(t, "L", 1, 1000);           /* redelivered after the restart: nothing */
        assert_int_equal(sched_budget(t)->used_total, total);
        sched_destroy(t);
    }
}

/* Results and verdicts come through different consumers: after a restart
 * a verdict can be handled before the result it judged. What the result
 * says it cost is charged to its own attempt all the same. */
/* The last state saved for id, unpacked (free it). */
static pb_state *saved(const char *id)
{
    char err[ERR_LEN];
    for (int i = 0; i < rec.nsaved; i++)
        if (!strcmp(rec.saved_id[i], id))
            return (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor, rec.saved[i],
                                         rec.saved_len[i], PB_MAX_MSG, err);
    fail_msg("%s never saved", id);
    return NULL;
}

static void late_results_are_still_charged(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("M", BE, MED, 10000, NULL, NULL), &clk);
    verdict(s, "M", 1, FAIL, "error: x"); /* overtook attempt 1's result: back as attempt 2 */
    assert_int_equal(sched_get(s, "M")->attempt, 2);
    result(s, "M", 1, 800);               /* attempt 1's cost still counts */
    assert_int_equal(sched_budget(s)->used[BE], 800);
    assert_int_equal(status(s, "M"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED); /* and moves nothing */
    result(s, "M", 2, 500);
    verdict(s, "M", 2, PASS, NULL);
    result(s, "M", 2, 600);               /* redelivered with a larger total: the increase */
    result(s, "M", 1, 800);               /* redelivered: nothing */
    assert_int_equal(sched_budget(s)->used[BE], 1400);
    assert_int_equal(sched_get(s, "M")->tokens_used, 1400);
    assert_int_equal(sched_get(s, "M")->charged_day_own, 1400);
    {   /* and saved so: a restarted leader sees the same */
        pb_state *st = saved("M");
        assert_int_equal(st->charged_day_own, 1400);
        assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
        orchestrator__v1__requirement_state__free_unpacked(st, NULL);
    }
    sched_destroy(s);
}

static void approved_merges_go_in_dependency_order(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", BE, MED, 100, "A", NULL), &clk);
    verdict(s, "A", 1, PASS, NULL);
    verdict(s, "B", 1, PASS, NULL);
    review(s, "B", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED, "fine");
    assert_int_equal(rec.nm, 0); /* not before A's merge */
    review(s, "A", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED, "fine");
    assert_int_equal(rec.nm, 2);
    assert_string_equal(rec.merges[0], "A");
    assert_string_equal(rec.merges[1], "B");
    assert_string_equal(rec.merge_batch[0], rec.merge_batch[1]);
    assert_int_equal(rec.merge_size[0], 2);
    sched_destroy(s);
}

static void changes_requested_go_back_to_the_agent(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    verdict(s, "A", 1, PASS, NULL);
    review(s, "A", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_CHANGES_REQUESTED, "missing tests");
    assert_int_equal(rec.nd, 2);
    assert_int_equal(rec.d[1].attempt, 2);
    assert_string_equal(rec.d[1].output, "review requested changes: missing tests");
    sched_destroy(s);
}

#define RELEASE ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE
#define APPROVED ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED

/* The author's result (project, ref, summary, cost) and a passing verdict
 * that names the commit it verified. */
static void delivered(sched *s, const char *id, unsigned attempt, uint64_t cost_micro_usd)
{
    pb_result r;
    pb_verdict v;
    orchestrator__v1__result__init(&r);
    r.requirement_id = (char *)id;
    r.attempt = attempt;
    r.instance = "roy-1";
    r.project = "demo";
    r.ref = "refs/heads/req/A-a1";
    r.summary = "adds the endpoint";
    r.tokens_used = 10;
    r.cost_micro_usd = cost_micro_usd;
    result_from(s, own_type(s, id), &r);
    orchestrator__v1__verdict__init(&v);
    v.requirement_id = (char *)id;
    v.attempt = attempt;
    v.kind = PASS;
    v.commit = "0123456789abcdef0123456789abcdef01234567";
    v.base_branch = "main";
    sched_verdict(s, &v, &clk);
}

static admit_code release_error(sched *s, const char *id, unsigned attempt, const char *message)
{
    pb_error e;
    orchestrator__v1__agent_error__init(&e);
    e.requirement_id = (char *)id;
    e.attempt = attempt;
    e.agent_type = RELEASE;
    e.reason = "merge_conflict";
    e.message = (char *)message;
    return agent_error(s, &e);
}

static void the_change_travels_to_review_and_merge(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    const pb_state *st;
    pb_result r;
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    delivered(s, "A", 1, 0);
    st = sched_get(s, "A");
    assert_non_null(st->delivery);
    assert_string_equal(st->delivery->project, "demo");
    assert_string_equal(st->delivery->ref, "refs/heads/req/A-a1");
    assert_string_equal(st->delivery->summary, "adds the endpoint");
    assert_string_equal(st->delivery->commit, "0123456789abcdef0123456789abcdef01234567");
    assert_string_equal(st->delivery->base_branch, "main");
    assert_string_equal(st->instance, "roy-1");
    review(s, "A", APPROVED, "fine");
    assert_int_equal(rec.nm, 1);
    /* the release agent's report: merged, once */
    orchestrator__v1__result__init(&r);
    r.requirement_id = "A";
    r.attempt = 1;
    r.agent_type = RELEASE;
    r.ref = "refs/heads/main";
    r.summary = "merged onto main";
    assert_int_equal(result_from(s, RELEASE, &r), ADMIT_OK);
    st = sched_get(s, "A");
    assert_true(st->delivery->merged);
    assert_string_equal(st->delivery->merged_ref, "refs/heads/main");
    assert_string_equal(st->reason, "merged: merged onto main");
    assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    /* a refusal after the merge is recorded changes nothing */
    release_error(s, "A", 1, "late");
    assert_int_equal(rec.nd, 1);
    sched_destroy(s);
}

static void a_refused_merge_goes_back_to_the_author(void **state)
{
    sched *s;
    const pb_state *st;
    const char *conflict = "0123456 does not merge onto main:\nCONFLICT (content): Merge conflict in src/api.c\n";
    (void)state;
    cfg.max_attempts = 2;
    s = sched_create(&cfg, &out, &clk);
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    delivered(s, "A", 1, 0);
    review(s, "A", APPROVED, "fine");
    assert_int_equal(rec.nm, 1);
    assert_int_equal(release_error(s, "A", 1, conflict), ADMIT_OK);
    assert_int_equal(rec.nd, 2); /* the next attempt, with the exact output */
    assert_int_equal(rec.d[1].attempt, 2);
    assert_non_null(strstr(rec.d[1].output, conflict));
    st = sched_get(s, "A");
    assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_false(st->merge_released);
    assert_int_equal(st->review, 0);
    assert_null(st->delivery); /* the new attempt delivers anew */
    assert_int_equal(release_error(s, "A", 1, conflict), ADMIT_PAST_ATTEMPT); /* redelivered: nothing */
    assert_int_equal(rec.nd, 2);
    /* the second attempt's merge fails too: past the limit, a human's */
    delivered(s, "A", 2, 0);
    review(s, "A", APPROVED, "fine");
    assert_int_equal(rec.nm, 2);
    release_error(s, "A", 2, "merged onto main fails verification:\nmake: *** [all] Error 2\n");
    st = sched_get(s, "A");
    assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    assert_int_equal(rec.nd, 2);
    assert_int_equal(rec.nalert, 1);
    sched_destroy(s);
}

static void results_cost_goes_on_the_ledger_once(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_result r;
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    orchestrator__v1__result__init(&r);
    r.requirement_id = "A";
    r.attempt = 1;
    r.tokens_used = 10;
    r.cost_micro_usd = 1234567;
    result_from(s, BE, &r);
    result_from(s, BE, &r); /* redelivered */
    assert_int_equal(sched_budget(s)->cost_micro_usd[BE], 1234567);
    verdict(s, "A", 1, PASS, NULL);
    orchestrator__v1__result__init(&r); /* the review, with its own cost */
    r.requirement_id = "A";
    r.agent_type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW;
    r.review = APPROVED;
    r.cost_micro_usd = 5000;
    result_from(s, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW, &r);
    assert_int_equal(sched_budget(s)->cost_micro_usd[ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW], 5000);
    assert_int_equal(sched_budget(s)->cost_micro_usd_total, 1239567);
    sched_destroy(s);
}

static void conservation_holds_low_hints_small_and_alerts_once(void **state)
{
    sched *s;
    pb_heartbeat h;
    pb_requirement *small;
    (void)state;
    cfg.idle_day_percent = 100; /* idle agents may use a whole type's day here */
    s = sched_create(&cfg, &out, &clk);
    orchestrator__v1__heartbeat__init(&h);
    h.agent_type = (Orchestrator__V1__AgentType)FE;
    h.tokens_used = 290000;
    heartbeat(s, &h);
    h.agent_type = (Orchestrator__V1__AgentType)BE;
    heartbeat(s, &h);
    h.agent_type = (Orchestrator__V1__AgentType)5;
    h.tokens_used = 140000;
    heartbeat(s, &h);
    h.agent_type = (Orchestrator__V1__AgentType)3;
    h.tokens_used = 90000;
    heartbeat(s, &h); /* 810k of 1M */
    assert_true(sched_conservation(s));
    assert_int_equal(rec.nalert, 1);
    assert_non_null(strstr(rec.alerts[0], "warning/conservation"));
    sched_add(s, req("L", BE, LOW, 100, NULL, NULL), &clk);
    assert_non_null(strstr(why(s, "L"), "conservation: LOW work held back"));
    assert_int_equal(sched_get(s, "L")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_CONSERVATION);
    small = req("S", BE, MED, 100, NULL, NULL);
    small->complexity = ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_S;
    sched_add(s, small, &clk);
    assert_int_equal(rec.nd, 1);
    assert_string_equal(rec.d[0].hint, "cheap");
    h.tokens_used = 1000;
    heartbeat(s, &h);
    assert_int_equal(rec.nalert, 1); /* once */
    /* a new day: used resets, conservation ends, LOW goes */
    snprintf(clk.day, sizeof(clk.day), "2026-11-25");
    sched_tick(s, &clk);
    assert_false(sched_conservation(s));
    assert_int_equal(status(s, "L"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    sched_destroy(s);
}

static void turns_release_only_on_the_cadence(void **state)
{
    sched *s;
    (void)state;
    cfg.turn_minutes = 30;
    s = sched_create(&cfg, &out, &clk);
    clk.minute = 10 * 60 + 1;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 0);
    clk.minute = 10 * 60 + 10;
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 0);
    clk.minute = 10 * 60 + 30;
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 1);
    sched_destroy(s);
}

static void split_parts_stand_for_the_original(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_requirement *be = req("REQ-7-BE", BE, MED, 100, NULL, NULL);
    pb_requirement *fe = req("REQ-7-FE", FE, MED, 100, "REQ-7-BE", NULL);
    (void)state;
    pb_set_str(&be->origin_id, "REQ-7");
    pb_set_str(&fe->origin_id, "REQ-7");
    sched_add(s, req("REQ-8", DOC, MED, 100, "REQ-7", NULL), &clk);
    sched_add(s, be, &clk);
    sched_add(s, fe, &clk);
    assert_int_equal(rec.nd, 1);
    verdict(s, "REQ-7-BE", 1, PASS, NULL);
    assert_int_equal(rec.nd, 2);
    assert_string_equal(rec.d[1].id, "REQ-7-FE");
    assert_int_equal(status(s, "REQ-8"), ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED);
    verdict(s, "REQ-7-FE", 1, PASS, NULL);
    assert_int_equal(rec.nd, 3);
    assert_string_equal(rec.d[2].id, "REQ-8");
    sched_destroy(s);
}

static void a_longer_cycle_rejects_every_member(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("CY-1", BE, MED, 100, "CY-2", NULL), &clk);
    sched_add(s, req("CY-2", FE, MED, 100, "CY-3", NULL), &clk);
    sched_add(s, req("DEP", FE, MED, 100, "CY-1", NULL), &clk);
    assert_int_equal(sched_add(s, req("CY-3", DB, MED, 100, "CY-1", NULL), &clk), -1);
    assert_int_equal(status(s, "CY-1"), ORCHESTRATOR__V1__STATUS__STATUS_REJECTED);
    assert_int_equal(status(s, "CY-2"), ORCHESTRATOR__V1__STATUS__STATUS_REJECTED);
    assert_int_equal(sched_get(s, "CY-2")->n_wait_ids, 2); /* the others of the cycle */
    assert_int_equal(rec.nrej, 3);                         /* the newcomer and both members */
    assert_int_equal(status(s, "DEP"), ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED); /* not in the cycle */
    sched_destroy(s);
}

static void a_split_original_says_what_it_waits_on(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_requirement *be = req("REQ-9-BE", BE, HIGH, 100, NULL, NULL);
    pb_requirement *fe = req("REQ-9-FE", FE, HIGH, 100, "REQ-9-BE", NULL);
    const pb_state *al;
    (void)state;
    pb_set_str(&be->origin_id, "REQ-9");
    pb_set_str(&fe->origin_id, "REQ-9");
    sched_add(s, be, &clk);
    sched_add(s, fe, &clk);
    al = sched_get(s, "REQ-9");
    assert_int_equal(al->requirement->priority, HIGH);
    assert_string_equal(al->reason, "dependency: waiting on REQ-9-BE, REQ-9-FE");
    assert_int_equal(al->n_wait_ids, 2);
    verdict(s, "REQ-9-BE", 1, PASS, NULL);
    al = sched_get(s, "REQ-9");
    assert_string_equal(al->reason, "dependency: waiting on REQ-9-FE"); /* not on the part that completed */
    assert_int_equal(al->n_wait_ids, 1);
    verdict(s, "REQ-9-FE", 1, PASS, NULL);
    al = sched_get(s, "REQ-9");
    assert_int_equal(al->status, ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    assert_int_equal(al->n_wait_ids, 0);
    {   /* it has a slot of its own, as the list shows it */
        int found = 0;
        for (int i = 0; i < sched_slots(s); i++)
            found |= sched_slot(s, i) && !strcmp(sched_slot(s, i)->id, "REQ-9");
        assert_true(found);
    }
    sched_destroy(s);
}

static void turns_are_staggered_by_type(void **state)
{
    sched_cfg c;
    (void)state;
    sched_cfg_default(&c);
    assert_false(sched_turn_due(&c, BE, 0)); /* continuous */
    assert_int_equal(sched_turn_next(&c, BE, 0), -1);
    c.turn_minutes = 30;
    assert_true(sched_turn_due(&c, BE, 0));
    assert_true(sched_turn_due(&c, FE, 30));
    assert_false(sched_turn_due(&c, FE, 5));
    assert_int_equal(sched_turn_next(&c, BE, 0), 30);
    assert_int_equal(sched_turn_next(&c, BE, 29), 30);
    assert_int_equal(sched_turn_next(&c, BE, 1439), 1440); /* tomorrow's first */
    for (int t = 1; t < NAMES_AGENT_TYPES; t++)
        c.turn_offset[t] = (t - 1) * 5;                      /* the seed's :00, :05, :10, ... */
    assert_true(sched_turn_due(&c, BE, 600));
    assert_false(sched_turn_due(&c, FE, 600));
    assert_true(sched_turn_due(&c, FE, 605));
    assert_true(sched_turn_due(&c, FE, 635));
    assert_true(sched_turn_due(&c, DB, 10));
    assert_false(sched_turn_due(&c, DB, 0));
    assert_true(sched_turn_due(&c, DOC, 1425));
    assert_int_equal(sched_turn_next(&c, FE, 600), 605);
    assert_int_equal(sched_turn_next(&c, FE, 605), 635);
    assert_int_equal(sched_turn_next(&c, DOC, 1436), 1440 + 15);
    c.turn_minutes = 7;                                   /* cycles that do not divide the day */
    c.turn_offset[FE] = 5;
    assert_int_equal(sched_turn_next(&c, FE, 1436), 1440 + 5); /* 1435 + 5 would be past midnight */
}

static void a_turn_releases_only_its_type_and_the_rest_say_when(void **state)
{
    sched *s;
    (void)state;
    cfg.turn_minutes = 30;
    cfg.turn_offset[FE] = 5;
    s = sched_create(&cfg, &out, &clk);
    clk.minute = 10 * 60 + 1;
    sched_add(s, req("B1", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("F1", FE, MED, 100, NULL, NULL), &clk);
    assert_string_equal(why(s, "B1"), "turn: the next backend turn is at 10:30");
    assert_string_equal(why(s, "F1"), "turn: the next frontend turn is at 10:05");
    assert_int_equal(sched_get(s, "F1")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_TURN);
    clk.minute = 10 * 60 + 5;
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 1);
    assert_string_equal(rec.d[0].id, "F1");
    assert_string_equal(why(s, "B1"), "turn: the next backend turn is at 10:30");
    sched_add(s, req("F2", FE, MED, 100, NULL, NULL), &clk);
    assert_string_equal(why(s, "F2"), "turn: the next frontend turn is at 10:35");
    clk.minute = 10 * 60 + 30;
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 2);
    assert_string_equal(rec.d[1].id, "B1");
    sched_destroy(s);
}

static void restart_from_saved_state_republishes_undecided(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    sched *t;
    size_t counts[10];
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", BE, MED, 100, "A", NULL), &clk);
    verdict(s, "A", 1, PASS, NULL);       /* B dispatched */
    rec.fail_dispatch = 1;                /* the publisher is down: C decided, not published */
    sched_add(s, req("C", FE, MED, 100, NULL, NULL), &clk);
    sched_destroy(s);                     /* the scheduler dies */
    rec.fail_dispatch = 0;
    rec.nd = 0;

    t = sched_create(&cfg, &out, &clk);
    for (int i = 0; i < rec.nsaved; i++) {
        char err[ERR_LEN];
        pb_state *st = (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor, rec.saved[i],
                                             rec.saved_len[i], PB_MAX_MSG, err);
        sched_restore(t, st);
    }
    sched_resume(t, &clk);
    assert_int_equal(sched_count(t, counts), 3);
    assert_int_equal(status(t, "A"), ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    assert_int_equal(status(t, "B"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    /* B was published before the crash: not again. C now goes out. */
    assert_int_equal(rec.nd, 1);
    assert_string_equal(rec.d[0].id, "C");
    verdict(t, "B", 1, PASS, NULL);
    assert_int_equal(status(t, "B"), ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    sched_destroy(t);
}

/* Only the type a requirement went to reports on it, about the attempt it
 * was given; anything else changes nothing and is refused with a reason. */
static void reports_count_only_from_who_was_dispatched(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_result r;
    pb_error e;
    (void)state;
    sched_add(s, req("B", BE, MED, 1000, NULL, NULL), &clk);
    sched_add(s, req("W", BE, MED, 1000, "B", NULL), &clk); /* blocked: never dispatched */
    orchestrator__v1__result__init(&r);
    r.requirement_id = "B";
    r.attempt = 1;
    r.tokens_used = 100;
    assert_int_equal(result_from(s, FE, &r), ADMIT_WRONG_TYPE); /* results.frontend.B */
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_non_null(strstr(rec.refusals[0], "B wrong_type: B is backend work: a frontend agent has no part in it"));
    {   /* results.backend.X whose body names B */
        sched_from from = {BE, "X", NULL, NULL, "results.backend.X", NULL};
        assert_int_equal(sched_result(s, &r, &from, &clk), ADMIT_ID_MISMATCH);
        assert_non_null(strstr(rec.refusals[1], "X id_mismatch"));
    }
    r.review = ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED; /* only a reviewer answers reviews */
    assert_int_equal(result_from(s, BE, &r), ADMIT_WRONG_TYPE);
    assert_int_equal(result_from(s, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW, &r), ADMIT_NOT_DISPATCHED);
    r.review = 0;
    r.requirement_id = "W";
    assert_int_equal(result_from(s, BE, &r), ADMIT_NOT_DISPATCHED);
    r.requirement_id = "NOPE";
    assert_int_equal(result_from(s, BE, &r), ADMIT_UNKNOWN);
    r.requirement_id = "B";
    r.attempt = 2;
    assert_int_equal(result_from(s, BE, &r), ADMIT_FUTURE_ATTEMPT);
    {   /* claimed by someone else */
        sched_from from = {BE, "B", NULL, "roy-1", "results.backend.B", NULL};
        r.attempt = 1;
        r.instance = "roy-2";
        assert_int_equal(sched_result(s, &r, &from, &clk), ADMIT_NOT_CLAIMANT);
        r.instance = "roy-1";
        assert_int_equal(rec.nrefusal, 8);
        assert_int_equal(sched_budget(s)->used[BE], 0); /* none of it charged */
        assert_int_equal(status(s, "W"), ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED);
        assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
        assert_int_equal(sched_result(s, &r, &from, &clk), ADMIT_OK); /* the claimant */
    }
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING);
    assert_int_equal(sched_budget(s)->used[BE], 100);
    /* errors: the subject must name what the body names, and only in-flight work */
    orchestrator__v1__agent_error__init(&e);
    e.source = "agent";
    e.requirement_id = "B";
    e.message = "cannot write";
    {
        sched_from from = {0, "OTHER", NULL, NULL, "errors.agent.OTHER", NULL};
        assert_int_equal(sched_error(s, &e, &from, &clk), ADMIT_ID_MISMATCH);
    }
    e.requirement_id = "W";
    assert_int_equal(agent_error(s, &e), ADMIT_NOT_DISPATCHED);
    e.requirement_id = "B";
    e.agent_type = (Orchestrator__V1__AgentType)FE;
    assert_int_equal(agent_error(s, &e), ADMIT_WRONG_TYPE);
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING);
    {   /* a heartbeat's instance is its subject's: the body may not say another */
        pb_heartbeat h;
        sched_from from = {BE, NULL, "roy-1", NULL, "agents.heartbeat.backend.roy-1", NULL};
        orchestrator__v1__heartbeat__init(&h);
        h.instance = "roy-2";
        h.requirement_id = "B";
        h.tokens_used = 10;
        assert_int_equal(sched_heartbeat(s, &h, &from, &clk), ADMIT_ID_MISMATCH);
        assert_non_null(strstr(rec.refusals[rec.nrefusal - 1], "the subject names instance roy-1, the body roy-2"));
        assert_int_equal(sched_budget(s)->used[BE], 100);
    }
    e.agent_type = (Orchestrator__V1__AgentType)BE;
    assert_int_equal(agent_error(s, &e), ADMIT_OK);
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    sched_destroy(s);
}

/* What one message, one attempt and one idle instance can put on the
 * ledger is bounded; beyond it, a refusal and an alert, not a charge. */
static void charges_are_bounded(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_heartbeat h;
    (void)state;
    sched_add(s, req("C", BE, MED, 1000, NULL, NULL), &clk); /* token budget 1500 */
    orchestrator__v1__heartbeat__init(&h);
    h.instance = "doc-evil";
    h.agent_type = (Orchestrator__V1__AgentType)DOC;
    h.tokens_used = 100000000;
    heartbeat(s, &h); /* idle: at most 5% of 50,000 */
    assert_int_equal(sched_budget(s)->used[DOC], 0);
    assert_int_equal(rec.nrefusal, 1);
    assert_non_null(strstr(rec.refusals[0], "doc-evil charge_over_bound"));
    assert_non_null(strstr(rec.alerts[0], "warning/charge_over_bound"));
    h.tokens_used = 2500;
    heartbeat(s, &h);
    assert_int_equal(sched_budget(s)->used[DOC], 2500);
    assert_int_equal(sched_budget(s)->unattributed[DOC], 2500);
    h.tokens_used = 1;
    heartbeat(s, &h); /* the day's share is spent */
    assert_int_equal(sched_budget(s)->used[DOC], 2500);
    assert_int_equal(rec.nrefusal, 2);
    snprintf(clk.day, sizeof(clk.day), "2026-11-25"); /* a new day, a new share */
    heartbeat(s, &h);
    assert_int_equal(sched_budget(s)->used[DOC], 1);
    /* a heartbeat about work: at most its token budget */
    h.agent_type = (Orchestrator__V1__AgentType)BE;
    h.instance = "roy-1";
    h.requirement_id = "C";
    h.tokens_used = 1501;
    heartbeat(s, &h);
    assert_int_equal(sched_budget(s)->used[BE], 0);
    h.tokens_used = 1500;
    heartbeat(s, &h);
    heartbeat(s, &h);
    heartbeat(s, &h);
    assert_int_equal(sched_budget(s)->used[BE], 4500); /* 300% of 1500 */
    heartbeat(s, &h);                                   /* a fourth: the attempt's bound */
    assert_int_equal(sched_budget(s)->used[BE], 4500);
    assert_non_null(strstr(rec.refusals[rec.nrefusal - 1], "C charge_over_bound: C attempt 1: 6000 tokens"));
    assert_int_equal(result(s, "C", 1, 9000), ADMIT_OK); /* counts, but not its cost */
    assert_int_equal(sched_budget(s)->used[BE], 4500);
    assert_int_equal(status(s, "C"), ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING);
    sched_destroy(s);
}

/* An estimate no day can pay for is reported at once, not left waiting. */
static void estimates_beyond_a_day_escalate_at_once(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("HUGE", DOC, CRIT, 60000, NULL, NULL), &clk); /* documentation: 50,000 a day */
    sched_add(s, req("SMALL", DOC, MED, 100, NULL, NULL), &clk);
    assert_int_equal(status(s, "HUGE"), ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    assert_string_equal(rec.reject_reason[0], "estimate_over_daily_limit");
    assert_non_null(strstr(rec.rejects[0], "HUGE is estimated at 60000 tokens, more than documentation may spend "
                                           "in a whole day (50000)"));
    assert_non_null(strstr(rec.alerts[0], "warning/estimate_over_daily_limit"));
    assert_int_equal(status(s, "SMALL"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    sched_destroy(s);
}

/* A dispatch that can never be published rejects its requirement and holds
 * nothing else up, also when a restarted leader meets it. */
static void unpublishable_work_is_rejected_not_retried(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk), *t;
    pb_requirement *big = req("BIG", BE, MED, 100, NULL, NULL);
    (void)state;
    pb_set_str(&big->description, "a very long description");
    rec.refuse_dispatch = 1;
    sched_add(s, big, &clk);
    rec.refuse_dispatch = 0;
    sched_add(s, req("OK", BE, MED, 100, NULL, NULL), &clk);
    assert_int_equal(status(s, "BIG"), ORCHESTRATOR__V1__STATUS__STATUS_REJECTED);
    assert_string_equal(rec.reject_reason[0], "unpublishable");
    assert_non_null(strstr(why(s, "BIG"), "rejected: cannot be dispatched: requirements.backend.BIG would carry"));
    assert_string_equal(sched_get(s, "BIG")->requirement->description, "");
    assert_int_equal(rec.nd, 1);
    assert_string_equal(rec.d[0].id, "OK");
    sched_destroy(s);
    /* a leader that decided a dispatch it could not publish (saved unpublished) */
    {
        pb_state *st = saved("OK");
        st->published = 0;
        rec.refuse_dispatch = 1;
        rec.nrej = 0;
        t = sched_create(&cfg, &out, &clk);
        sched_restore(t, st);
        sched_resume(t, &clk);
        assert_int_equal(status(t, "OK"), ORCHESTRATOR__V1__STATUS__STATUS_REJECTED);
        assert_string_equal(rec.reject_reason[0], "unpublishable");
        rec.refuse_dispatch = 0;
        sched_add(t, req("LAST", BE, MED, 100, NULL, NULL), &clk);
        assert_int_equal(status(t, "LAST"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
        sched_destroy(t);
    }
}

/* Finished requirements leave memory after the retention; what depends on
 * them still finds them done, and the counts still hold them. */
static void finished_work_is_let_go_after_the_retention(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    size_t counts[10];
    pb_error e;
    int64_t start = clk.now_ms;
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("E", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", BE, MED, 100, "A", NULL), &clk);
    result(s, "A", 1, 50);
    verdict(s, "A", 1, PASS, NULL);
    review(s, "A", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED, "fine");
    assert_int_equal(rec.nm, 1);
    orchestrator__v1__agent_error__init(&e);
    e.source = "agent";
    e.message = "cannot write to the repository";
    e.requirement_id = "E";
    agent_error(s, &e);
    assert_int_equal(status(s, "E"), ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    clk.now_ms = start + cfg.retention_s * 1000 - 1;
    sched_tick(s, &clk);
    assert_non_null(sched_get(s, "A"));
    clk.now_ms = start + cfg.retention_s * 1000 + 1;
    sched_tick(s, &clk);
    assert_null(sched_get(s, "A"));                      /* let go */
    assert_non_null(sched_get(s, "E"));                  /* a human may still retry it */
    assert_int_equal(sched_count(s, counts), 3);
    assert_int_equal(counts[ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE], 1);
    assert_null(sched_slot(s, 0));
    sched_add(s, req("C", BE, MED, 100, "A", NULL), &clk); /* depends on it: met */
    assert_int_equal(status(s, "C"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_int_equal(sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk), -1); /* its id stays taken */
    assert_int_equal(result(s, "A", 1, 50), ADMIT_UNKNOWN);
    verdict(s, "B", 1, PASS, NULL);                      /* B's merge follows A's, which went out */
    review(s, "B", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED, "fine");
    assert_int_equal(rec.nm, 2);
    assert_true(sched_eta(s, "C", &clk) > 0);
    sched_destroy(s);
}

static void eta_and_critical_path(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    const char *path[8];
    int64_t finish;
    int n;
    (void)state;
    sched_add(s, req("A", DB, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", BE, MED, 100, "A", NULL), &clk);
    sched_add(s, req("C", FE, MED, 100, "B", NULL), &clk);
    sched_add(s, req("X", DOC, MED, 100, NULL, NULL), &clk);
    /* M is 2 h by default: C finishes after three of them */
    assert_int_equal(sched_eta(s, "C", &clk), clk.now_ms + 3 * 2 * 3600 * 1000LL);
    n = sched_critical_path(s, &clk, path, 8, &finish);
    assert_int_equal(n, 3);
    assert_string_equal(path[0], "A");
    assert_string_equal(path[2], "C");
    started(s, "A");
    clk.now_ms += 3600 * 1000; /* an hour into A */
    assert_int_equal(sched_eta(s, "C", &clk), clk.now_ms + 5 * 3600 * 1000LL);
    verdict(s, "A", 1, PASS, NULL); /* A took 1 h: database M learned as 1 h */
    assert_int_equal(sched_eta(s, "A", &clk), 0);
    sched_destroy(s);
}

#define SZ_M ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_M

/* Within a priority, ready work goes by how much expected work waits
 * behind it (upward rank), equal ranks by age; CRITICAL still first. */
static void ready_work_goes_by_rank_then_age(void **state)
{
    sched *s;
    (void)state;
    cfg.window = 1;
    s = sched_create(&cfg, &out, &clk);
    sched_add(s, req("X", BE, MED, 100, NULL, NULL), &clk); /* takes the window */
    sched_add(s, req("OLD", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("SHORT", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("HEAD", BE, MED, 100, NULL, NULL), &clk); /* the newest, with a chain behind it */
    sched_add(s, req("T1", FE, MED, 100, "HEAD", NULL), &clk);
    sched_add(s, req("T2", DB, MED, 100, "T1", NULL), &clk);
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 1);
    started(s, "X");
    assert_int_equal(rec.nd, 2);
    assert_string_equal(rec.d[1].id, "HEAD");
    started(s, "HEAD");
    assert_string_equal(rec.d[2].id, "OLD"); /* equal ranks: the older */
    sched_add(s, req("CRIT", BE, CRIT, 100, NULL, NULL), &clk);
    sched_add(s, req("H2", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("U1", FE, MED, 100, "H2", NULL), &clk);
    sched_add(s, req("U2", FE, MED, 100, "U1", NULL), &clk);
    sched_add(s, req("U3", FE, MED, 100, "U2", NULL), &clk);
    sched_tick(s, &clk);
    started(s, "OLD");
    assert_string_equal(rec.d[3].id, "CRIT"); /* before any rank */
    started(s, "CRIT");
    assert_string_equal(rec.d[4].id, "H2");
    started(s, "H2");
    assert_string_equal(rec.d[5].id, "SHORT");
    sched_destroy(s);
}

/* Once LEARN_MIN requirements of a type and size reported their tokens,
 * the next one's estimate (and so its reservation and token budget) is
 * what they used, and it says so. */
static void estimates_are_learned_and_say_so(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    const pb_state *st;
    const char *est = NULL, *router = NULL;
    char id[16];
    (void)state;
    for (int i = 0; i < LEARN_MIN; i++) {
        snprintf(id, sizeof(id), "L%d", i);
        sched_add(s, req(id, BE, MED, 40000, NULL, NULL), &clk);
        started(s, id);
        result(s, id, 1, 5000);
        verdict(s, id, 1, PASS, NULL);
    }
    /* one more whose verdict is handled before its result: its tokens still count */
    sched_add(s, req("LATE", DB, MED, 40000, NULL, NULL), &clk);
    started(s, "LATE");
    verdict(s, "LATE", 1, PASS, NULL);
    assert_int_equal(result(s, "LATE", 1, 7000), ADMIT_PAST_ATTEMPT);
    assert_int_equal(sched_learned(s)->b[DB][SZ_M].tokens[0], 7000);
    sched_add(s, req("NEXT", BE, MED, 40000, NULL, NULL), &clk);
    st = sched_get(s, "NEXT");
    assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_int_equal(st->requirement->estimated_tokens, 5000);
    assert_int_equal(rec.d[rec.nd - 1].token_budget, 7500);
    assert_non_null(st->requirement->metadata);
    for (size_t k = 0; k < st->requirement->metadata->n_extra; k++) {
        if (!strcmp(st->requirement->metadata->extra[k]->key, "estimate"))
            est = st->requirement->metadata->extra[k]->value;
        if (!strcmp(st->requirement->metadata->extra[k]->key, "routerEstimate"))
            router = st->requirement->metadata->extra[k]->value;
    }
    assert_non_null(est);
    assert_string_equal(est, "learned: mean of the last 5 completed backend M");
    assert_string_equal(router, "40000");
    /* a size without enough history keeps the router's figure */
    sched_add(s, req("OTHER", FE, MED, 40000, NULL, NULL), &clk);
    assert_int_equal(sched_get(s, "OTHER")->requirement->estimated_tokens, 40000);
    sched_destroy(s);
}

static char learned_json[LEARN_JSON_MAX];
static size_t learned_len;
static int learned_calls;

static void r_learned(void *ctx, const char *json, size_t len)
{
    (void)ctx;
    memcpy(learned_json, json, len < sizeof(learned_json) ? len : sizeof(learned_json));
    learned_len = len;
    learned_calls++;
}

static sched *from_saved(const sched_out *o, const char *json, size_t len)
{
    sched *t = sched_create(&cfg, o, &clk);
    char err[ERR_LEN];
    if (json)
        assert_int_equal(sched_restore_learned(t, json, len, err), ORCH_OK);
    for (int i = 0; i < rec.nsaved; i++) {
        pb_state *st = (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor, rec.saved[i],
                                             rec.saved_len[i], PB_MAX_MSG, err);
        sched_restore(t, st);
    }
    sched_resume(t, &clk);
    return t;
}

/* Durations are learned from start to verdict, handed out to be stored,
 * and a new leader given them does not learn the same work twice; one
 * given none learns from the states it read. */
static void learned_figures_outlive_the_leader(void **state)
{
    sched_out o = out;
    sched *s, *t;
    char id[16], err[ERR_LEN];
    int64_t d;
    (void)state;
    o.learned = r_learned;
    learned_calls = 0;
    s = sched_create(&cfg, &o, &clk);
    for (int i = 0; i < LEARN_MIN; i++) {
        snprintf(id, sizeof(id), "L%d", i);
        sched_add(s, req(id, BE, MED, 100, NULL, NULL), &clk);
        clk.now_ms += 3600 * 1000LL; /* waited an hour for an agent: not counted */
        started(s, id);
        clk.now_ms += 30 * 60 * 1000LL;
        result(s, id, 1, 100);
        verdict(s, id, 1, PASS, NULL);
    }
    assert_int_equal(learned_calls, LEARN_MIN);
    assert_int_equal(learn_count(sched_learned(s), BE, SZ_M), LEARN_MIN);
    assert_int_equal(sched_learned(s)->b[BE][SZ_M].mean_ms, 30 * 60 * 1000LL);
    d = learn_duration(sched_learned(s), BE, SZ_M, NULL);
    sched_destroy(s);

    t = from_saved(&o, learned_json, learned_len);
    assert_int_equal(learn_count(sched_learned(t), BE, SZ_M), LEARN_MIN);
    assert_int_equal(learn_duration(sched_learned(t), BE, SZ_M, NULL), d);
    sched_destroy(t);
    t = from_saved(&o, NULL, 0);
    assert_int_equal(learn_count(sched_learned(t), BE, SZ_M), LEARN_MIN);
    sched_destroy(t);
    t = sched_create(&cfg, &o, &clk);
    {
        const char *bad = "{\"buckets\":[{\"type\":1}]}";
        assert_int_equal(sched_restore_learned(t, bad, strlen(bad), err), ORCH_ERR_INVALID);
    }
    sched_destroy(t);
}

/* The forecast plays the release rule forward on the agents seen: four
 * 2-hour requirements take 8 h on one agent and 6 h on two when the last
 * waits on one released last. */
static void forecast_counts_agents(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_heartbeat h;
    int64_t late;
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("C", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("D", BE, MED, 100, "C", NULL), &clk);
    assert_int_equal(sched_agents(s, BE, &clk), 0);
    assert_int_equal(sched_roadmap_eta(s, &clk, &late), clk.now_ms + 8 * 3600 * 1000LL); /* none seen: one */
    assert_int_equal(late, clk.now_ms + 8 * 3600 * 1000LL);
    orchestrator__v1__heartbeat__init(&h);
    h.agent_type = (Orchestrator__V1__AgentType)BE;
    h.requirement_id = "";
    h.instance = "be-1";
    heartbeat(s, &h);
    h.instance = "be-2";
    heartbeat(s, &h);
    assert_int_equal(sched_agents(s, BE, &clk), 2);
    /* A, B went out first and C after them (the stream's order), D waits on C */
    assert_int_equal(sched_roadmap_eta(s, &clk, NULL), clk.now_ms + 6 * 3600 * 1000LL);
    assert_int_equal(sched_eta(s, "D", &clk), clk.now_ms + 6 * 3600 * 1000LL);
    assert_int_equal(sched_eta(s, "A", &clk), clk.now_ms + 2 * 3600 * 1000LL);
    clk.now_ms += cfg.agent_seen_ms + 1; /* not heard of since: gone */
    assert_int_equal(sched_agents(s, BE, &clk), 0);
    sched_destroy(s);
}

static void idle(sched *s, int type, const char *instance)
{
    pb_heartbeat h;
    orchestrator__v1__heartbeat__init(&h);
    h.agent_type = (Orchestrator__V1__AgentType)type;
    h.requirement_id = "";
    h.instance = (char *)instance;
    heartbeat(s, &h);
}

static void started_by(sched *s, const char *id, const char *instance)
{
    pb_heartbeat h;
    orchestrator__v1__heartbeat__init(&h);
    h.requirement_id = (char *)id;
    h.instance = (char *)instance;
    heartbeat(s, &h);
}

/* A with the frontend agent, 90 minutes to go; B (backend) waits only on
 * A, with C1..C4 behind it; X (backend, two hours) is ready. */
static sched *longer_path_ahead(void)
{
    sched *s = sched_create(&cfg, &out, &clk);
    idle(s, BE, "be-1");
    idle(s, FE, "fe-1");
    sched_add(s, req("A", FE, MED, 100, NULL, NULL), &clk);
    sched_tick(s, &clk);
    started_by(s, "A", "fe-1");
    clk.now_ms += 30 * 60 * 1000LL;
    idle(s, BE, "be-1"); /* idle agents say so every few minutes */
    sched_add(s, req("B", BE, MED, 100, "A", NULL), &clk);
    sched_add(s, req("C1", FE, MED, 100, "B", NULL), &clk);
    sched_add(s, req("C2", FE, MED, 100, "C1", NULL), &clk);
    sched_add(s, req("C3", FE, MED, 100, "C2", NULL), &clk);
    sched_add(s, req("C4", FE, MED, 100, "C3", NULL), &clk);
    sched_add(s, req("X", BE, MED, 100, NULL, NULL), &clk);
    return s;
}

/* One backend agent. B (backend) waits only on A, which a frontend agent
 * is working on and is expected to end in 90 minutes; four requirements
 * wait behind B. X, a two-hour backend requirement with nothing behind it,
 * would take the agent just before B is ready and hold it two hours: it is
 * kept back (RESERVED, naming B), while S, half an hour, ends in time and
 * goes. B goes as soon as A is done, X after it. */
static void the_agent_is_kept_for_the_longer_path_about_to_be_ready(void **state)
{
    sched *s = longer_path_ahead();
    pb_requirement *short_one = req("S", BE, MED, 100, NULL, NULL);
    (void)state;
    short_one->complexity = ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_S;
    sched_add(s, short_one, &clk);
    sched_tick(s, &clk);
    assert_int_equal(status(s, "S"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_int_equal(status(s, "X"), ORCHESTRATOR__V1__STATUS__STATUS_READY);
    started_by(s, "S", "be-1"); /* until then X waited for the window (the one agent has S) */
    assert_int_equal(sched_get(s, "X")->wait_kind, KIND(RESERVED));
    assert_int_equal(sched_get(s, "X")->n_wait_ids, 1);
    assert_string_equal(sched_get(s, "X")->wait_ids[0], "B");
    assert_non_null(strstr(why(s, "X"), "reserved: a backend agent is kept for B"));
    clk.now_ms += 30 * 60 * 1000LL;
    idle(s, BE, "be-1"); /* done with S: its heartbeats name nothing now */
    result(s, "S", 1, 10);
    verdict(s, "S", 1, PASS, NULL);
    sched_tick(s, &clk);
    assert_int_equal(status(s, "X"), ORCHESTRATOR__V1__STATUS__STATUS_READY); /* B is still an hour away */
    clk.now_ms += 60 * 60 * 1000LL;
    idle(s, BE, "be-1");
    result(s, "A", 1, 10);
    verdict(s, "A", 1, PASS, NULL);
    sched_tick(s, &clk);
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    started_by(s, "B", "be-1");
    sched_tick(s, &clk);
    assert_int_equal(status(s, "X"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED); /* nothing claims the agent now */
    sched_destroy(s);
}

static void without_reservations_the_agent_is_not_kept(void **state)
{
    sched *s;
    (void)state;
    cfg.reserve = 0;
    s = longer_path_ahead();
    sched_tick(s, &clk);
    assert_int_equal(status(s, "X"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    sched_destroy(s);
}

/* Two backend agents, a window of 2: two requirements go (one for each
 * agent); with both agents given work, one more is released, not two:
 * it waits for the next free agent and the rest are chosen when an agent
 * is about to take them. With no agent seen, the window is the setting. */
static void every_agent_busy_narrows_the_window(void **state)
{
    sched *s;
    (void)state;
    cfg.window = 2;
    s = sched_create(&cfg, &out, &clk);
    idle(s, BE, "be-1");
    idle(s, BE, "be-2");
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof(id), "W%d", i);
        sched_add(s, req(id, BE, MED, 100, NULL, NULL), &clk);
    }
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 2);
    assert_string_equal(why(s, "W2"), "window: 2 of 1 backend release slots taken (every agent busy)");
    started_by(s, "W0", "be-1");
    started_by(s, "W1", "be-2");
    assert_int_equal(rec.nd, 3); /* one waits for the next free agent */
    assert_string_equal(why(s, "W3"), "window: 1 of 1 backend release slots taken (every agent busy)");
    sched_destroy(s);

    setup(NULL);
    cfg.window = 2;
    cfg.agent_seen_ms = -1; /* no agent counted */
    s = sched_create(&cfg, &out, &clk);
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof(id), "W%d", i);
        sched_add(s, req(id, BE, MED, 100, NULL, NULL), &clk);
    }
    sched_tick(s, &clk);
    started(s, "W0");
    started(s, "W1");
    assert_int_equal(rec.nd, 4); /* the whole window */
    sched_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(chain_migration_api_ui_released_in_order, setup),
        cmocka_unit_test_setup(critical_overtakes_queued_medium_work, setup),
        cmocka_unit_test_setup(budget_holds_then_releases, setup),
        cmocka_unit_test_setup(overlap_holds_the_second, setup),
        cmocka_unit_test_setup(verifier_files_replace_declared_ones, setup),
        cmocka_unit_test_setup(reject_retry_with_output_then_escalate, setup),
        cmocka_unit_test_setup(infra_errors_retry_without_counting, setup),
        cmocka_unit_test_setup(transient_agent_error_backs_off_others_escalate, setup),
        cmocka_unit_test_setup(deep_queue_asks_for_agents_with_cooldown, setup),
        cmocka_unit_test_setup(cycles_rejected_unknown_dependencies_wait, setup),
        cmocka_unit_test_setup(tokens_are_charged_once, setup),
        cmocka_unit_test_setup(ledger_follows_the_states, setup),
        cmocka_unit_test_setup(late_results_are_still_charged, setup),
        cmocka_unit_test_setup(approved_merges_go_in_dependency_order, setup),
        cmocka_unit_test_setup(changes_requested_go_back_to_the_agent, setup),
        cmocka_unit_test_setup(the_change_travels_to_review_and_merge, setup),
        cmocka_unit_test_setup(a_refused_merge_goes_back_to_the_author, setup),
        cmocka_unit_test_setup(results_cost_goes_on_the_ledger_once, setup),
        cmocka_unit_test_setup(conservation_holds_low_hints_small_and_alerts_once, setup),
        cmocka_unit_test_setup(turns_release_only_on_the_cadence, setup),
        cmocka_unit_test_setup(turns_are_staggered_by_type, setup),
        cmocka_unit_test_setup(every_stage_says_what_it_waits_on, setup),
        cmocka_unit_test_setup(a_turn_releases_only_its_type_and_the_rest_say_when, setup),
        cmocka_unit_test_setup(a_longer_cycle_rejects_every_member, setup),
        cmocka_unit_test_setup(a_split_original_says_what_it_waits_on, setup),
        cmocka_unit_test_setup(split_parts_stand_for_the_original, setup),
        cmocka_unit_test_setup(restart_from_saved_state_republishes_undecided, setup),
        cmocka_unit_test_setup(eta_and_critical_path, setup),
        cmocka_unit_test_setup(reports_count_only_from_who_was_dispatched, setup),
        cmocka_unit_test_setup(charges_are_bounded, setup),
        cmocka_unit_test_setup(estimates_beyond_a_day_escalate_at_once, setup),
        cmocka_unit_test_setup(unpublishable_work_is_rejected_not_retried, setup),
        cmocka_unit_test_setup(finished_work_is_let_go_after_the_retention, setup),
        cmocka_unit_test_setup(ready_work_goes_by_rank_then_age, setup),
        cmocka_unit_test_setup(the_agent_is_kept_for_the_longer_path_about_to_be_ready, setup),
        cmocka_unit_test_setup(without_reservations_the_agent_is_not_kept, setup),
        cmocka_unit_test_setup(every_agent_busy_narrows_the_window, setup),
        cmocka_unit_test_setup(estimates_are_learned_and_say_so, setup),
        cmocka_unit_test_setup(learned_figures_outlive_the_leader, setup),
        cmocka_unit_test_setup(forecast_counts_agents, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    for (int i = 0; i < rec.nsaved; i++)
        free(rec.saved[i]);
    return rc;
}
