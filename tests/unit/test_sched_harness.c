/* The recording sched_out and the helpers the scheduler core's unit tests
 * share (test_sched*.c): every decision the core makes is recorded in rec,
 * every saved state packed as the adapter would store it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_sched_harness.h"
#include "text.h"

recorder rec;
char learned_json[LEARN_JSON_MAX];
size_t learned_len;
int learned_calls;

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

static void r_train_build(void *ctx, const char *project, const train_build *b)
{
    char ids[200] = "";
    (void)ctx;
    for (int k = 0; k < b->n; k++)
        snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), "%s%s", k ? "," : "", b->ids[k]);
    if (rec.nbuild < 32) {
        rec.build_no[rec.nbuild] = b->build;
        snprintf(rec.builds[rec.nbuild++], 300, "%s %llu %s %s", project, (unsigned long long)b->build, b->base, ids);
    }
}

static void r_train_advance(void *ctx, const char *project, const char *from, const char *to,
                            const char *const *ids, const char *const *commits, int n)
{
    (void)commits;
    char list[200] = "";
    (void)ctx;
    for (int k = 0; k < n; k++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", k ? "," : "", ids[k]);
    if (rec.nadvance < 16)
        snprintf(rec.advances[rec.nadvance++], 300, "%s %s %s %s", project, from, to, list);
}

static void r_train_save(void *ctx, const char *project, const char *json)
{
    (void)ctx;
    (void)project;
    snprintf(rec.train_json, sizeof(rec.train_json), "%s", json);
}

const sched_out out = {NULL, r_save, r_dispatch, r_review, r_merge, r_reject, r_spawn, r_alert, NULL,
                              r_refuse, NULL, r_train_build, r_train_advance, r_train_save, NULL};

sched_clock clk;
sched_cfg cfg;

int setup(void **state)
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

pb_requirement *req(const char *id, int type, int prio, uint64_t est, const char *deps, const char *files)
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

void verdict(sched *s, const char *id, unsigned attempt, int kind, const char *output)
{
    pb_verdict v;
    orchestrator__v1__verdict__init(&v);
    v.requirement_id = (char *)id;
    v.attempt = attempt;
    v.kind = (Orchestrator__V1__VerdictKind)kind;
    v.failing_output = (char *)(output ? output : "");
    v.detail = (char *)(output ? output : "");
    if (sched_verdict_early(s, &v))
        result(s, id, attempt, 0); /* the verifier answers a result it read */
    sched_verdict(s, &v, &clk);
}

/* The type of id's work, as the subject of its own agents' reports says. */
int own_type(sched *s, const char *id)
{
    const pb_state *st = sched_get(s, id);
    return st ? (int)st->requirement->type : BE;
}

/* A report on results.<type>.<id>. */
admit_code result_from(sched *s, int type, const pb_result *r)
{
    sched_from from = {type, r->requirement_id, NULL, NULL, "results", NULL};
    return sched_result(s, r, &from, &clk);
}

admit_code result(sched *s, const char *id, unsigned attempt, uint64_t tokens)
{
    pb_result r;
    orchestrator__v1__result__init(&r);
    r.requirement_id = (char *)id;
    r.attempt = attempt;
    r.tokens_used = tokens;
    return result_from(s, own_type(s, id), &r);
}

void review(sched *s, const char *id, int outcome, const char *summary)
{
    pb_result r;
    orchestrator__v1__result__init(&r);
    r.requirement_id = (char *)id;
    r.agent_type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW;
    r.review = (Orchestrator__V1__ReviewOutcome)outcome;
    r.summary = (char *)summary;
    result_from(s, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW, &r);
}

/* The release agent's result: id's merge is on the base. */
admit_code merged(sched *s, const char *id)
{
    pb_result r;
    orchestrator__v1__result__init(&r);
    r.requirement_id = (char *)id;
    r.agent_type = RELEASE;
    r.ref = "refs/heads/main";
    r.summary = "merged";
    return result_from(s, RELEASE, &r);
}

void landed(sched *s, const char *id, unsigned attempt)
{
    verdict(s, id, attempt, PASS, NULL);
    review(s, id, ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED, "fine");
    merged(s, id);
}

/* A heartbeat on agents.heartbeat.<type>.<instance>: the body's type, else
 * the type of the work it names. */
admit_code heartbeat(sched *s, const pb_heartbeat *h)
{
    sched_from from = {h->agent_type ? (int)h->agent_type : own_type(s, h->requirement_id), NULL, h->instance, NULL,
                       "agents.heartbeat", NULL};
    return sched_heartbeat(s, h, &from, &clk);
}

/* An error on errors.agent.<id>. */
admit_code agent_error(sched *s, const pb_error *e)
{
    sched_from from = {0, e->requirement_id, NULL, NULL, "errors.agent", NULL};
    return sched_error(s, e, &from, &clk);
}

void started(sched *s, const char *id)
{
    pb_heartbeat h;
    orchestrator__v1__heartbeat__init(&h);
    h.requirement_id = (char *)id;
    h.instance = "agent-1";
    heartbeat(s, &h);
}

int status(sched *s, const char *id) { return sched_get(s, id)->status; }
const char *why(sched *s, const char *id) { return sched_get(s, id)->reason; }

/* The last state saved for id, unpacked (free it). */
pb_state *saved(const char *id)
{
    char err[ERR_LEN];
    for (int i = 0; i < rec.nsaved; i++)
        if (!strcmp(rec.saved_id[i], id))
            return (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor, rec.saved[i],
                                         rec.saved_len[i], PB_MAX_MSG, err);
    fail_msg("%s never saved", id);
    return NULL;
}

/* The author's result (project, ref, summary, cost) and a passing verdict
 * that names the commit it verified. */
void delivered(sched *s, const char *id, unsigned attempt, uint64_t cost_micro_usd)
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

admit_code release_error(sched *s, const char *id, unsigned attempt, const char *message)
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

void r_learned(void *ctx, const char *json, size_t len)
{
    (void)ctx;
    memcpy(learned_json, json, len < sizeof(learned_json) ? len : sizeof(learned_json));
    learned_len = len;
    learned_calls++;
}

sched *from_saved(const sched_out *o, const char *json, size_t len)
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

void idle(sched *s, int type, const char *instance)
{
    pb_heartbeat h;
    orchestrator__v1__heartbeat__init(&h);
    h.agent_type = (Orchestrator__V1__AgentType)type;
    h.requirement_id = "";
    h.instance = (char *)instance;
    heartbeat(s, &h);
}

void started_by(sched *s, const char *id, const char *instance)
{
    pb_heartbeat h;
    orchestrator__v1__heartbeat__init(&h);
    h.requirement_id = (char *)id;
    h.instance = (char *)instance;
    heartbeat(s, &h);
}

void rec_free(void)
{
    for (int i = 0; i < rec.nsaved; i++)
        free(rec.saved[i]);
    rec.nsaved = 0;
}
