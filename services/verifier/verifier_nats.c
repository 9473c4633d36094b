#include "verifier_nats.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "admit.h"
#include "claim.h"
#include "edge.h"
#include "fileio.h"
#include "log.h"
#include "nc.h"
#include "names.h"
#include "text.h"
#include "topology.h"
#include "verify.h"
#include "verifier_train.h"

verifier_settings verifier_cfg;

#define F(x) offsetof(verifier_settings, x)
const cfg_entry verifier_cfg_entries[] = {
    {"verifier.projects_file", CFG_STR, NULL, 0, 1024, F(projects_file), NULL, 0,
     "JSON file of projects: repository, base branch, steps (docs/verifier.md); without it every result is an "
     "infrastructure error"},
    {"verifier.work_root", CFG_STR, "/tmp/orch-verifier", 0, 512, F(work_root), NULL, 0,
     "where private work trees are made and removed"},
    {"verifier.workers", CFG_INT, "2", 1, 64, F(workers), NULL, 0, "concurrent verifications in this replica"},
    {"verifier.output_limit", CFG_INT, "65536", 1024, 16777216, F(output_limit), NULL, 0,
     "bytes of a step's output kept (head and tail)"},
    {"verifier.grace_ms", CFG_INT, "5000", 0, 600000, F(grace_ms), NULL, 0,
     "between SIGTERM and SIGKILL of a timed-out step"},
    {"verifier.git_timeout_s", CFG_INT, "120", 1, 3600, F(git_timeout_s), NULL, 0, "bound on each git command"},
    {"verifier.keep_branches", CFG_INT, "0", 0, 1, F(keep_branches), NULL, 0,
     "1: keep the candidate/ and req/ branches the merge train merged (by default they are deleted)"},
};
const size_t verifier_cfg_count = sizeof(verifier_cfg_entries) / sizeof(verifier_cfg_entries[0]);

#define MAX_WORKERS 64
#define PROJECTS_MAX (1u << 20) /* the projects file: a larger one is refused, not cut */
#define RETRY_MS 2000   /* a result that cannot be judged or answered now comes back after this */

static struct {
    daemon_ctx *d;
    vconfig projects;
    jsCtx *js;
    pthread_t threads[MAX_WORKERS];
    natsSubscription *subs[MAX_WORKERS];
    natsSubscription *train_subs[MAX_WORKERS];
    verifier_train_ctx train;
    int nworkers;
    atomic_int running;
    pthread_mutex_t mu;
    long long passed, failed, infra, bad, refused, busy;
    long long verified, overhead_ms; /* wall time of verifications beyond their steps' own */
} V;

static void count(int kind)
{
    pthread_mutex_lock(&V.mu);
    if (kind == ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_PASS)
        V.passed++;
    else if (kind == ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_FAIL)
        V.failed++;
    else if (kind == ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_INFRASTRUCTURE_ERROR)
        V.infra++;
    else if (kind == -2)
        V.refused++;
    else
        V.bad++;
    pthread_mutex_unlock(&V.mu);
}

static void stats_data(cJSON *data, void *closure)
{
    (void)closure;
    pthread_mutex_lock(&V.mu);
    cJSON_AddNumberToObject(data, "passed", (double)V.passed);
    cJSON_AddNumberToObject(data, "failed", (double)V.failed);
    cJSON_AddNumberToObject(data, "infrastructure_errors", (double)V.infra);
    cJSON_AddNumberToObject(data, "bad_results", (double)V.bad);
    cJSON_AddNumberToObject(data, "refused", (double)V.refused);
    cJSON_AddNumberToObject(data, "busy", (double)V.busy);
    cJSON_AddNumberToObject(data, "overhead_ms_mean", V.verified ? (double)V.overhead_ms / (double)V.verified : 0);
    cJSON_AddNumberToObject(data, "workers", V.nworkers);
    pthread_mutex_unlock(&V.mu);
}

/* orch.verifier.stats: the same figures as $SRV.STATS, on request. */
static void on_stats(srv_req *req, void *closure)
{
    cJSON *o = cJSON_CreateObject();
    stats_data(o, closure);
    srv_respond_json(req, o);
}

/* A stored publish: 0 when JetStream acknowledged it. */
static int publish(const char *subject, const char *msg_id, const void *data, int len, const char *ctype)
{
    return nc_publish_stored(V.js, subject, msg_id, data, len, ctype, 10000);
}

static void keep_alive(void *arg)
{
    natsMsg_InProgress((natsMsg *)arg, NULL);
}

/* One JSON error on errors.verifier.<reason> for a result that is not
 * built (r: what could be read of it, or NULL), and one log line.
 * Terminated once the error is stored (it would be refused again), again
 * later when it could not be. */
static nc_settlement refuse(natsMsg *m, const pb_result *r, const char *reason, const char *message)
{
    const char *subject = natsMsg_GetSubject(m);
    pb_error e;
    char msg_id[200];
    jsMsgMetaData *meta = NULL;
    int rc;

    orchestrator__v1__agent_error__init(&e);
    e.reason = (char *)reason;
    e.message = (char *)message;
    e.subject = (char *)subject;
    if (r) {
        e.requirement_id = r->requirement_id;
        e.attempt = r->attempt;
        e.agent_type = r->agent_type;
        e.instance = r->instance;
    }
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        e.stream_seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
    }
    /* one error per result, however often it is delivered, by any replica */
    snprintf(msg_id, sizeof(msg_id), "verifier-%s-%llu", reason, (unsigned long long)e.stream_seq);
    rc = nc_publish_refusal(V.js, NULL, NAMES_SRC_VERIFIER, &e, reason, msg_id, 10000);
    log_warn("result on %s (stream sequence %llu) not built: %s: %s", subject, (unsigned long long)e.stream_seq,
             reason, message);
    return rc == 0 ? nc_term() : nc_retry(RETRY_MS);
}

/* The KV value at bucket/key into *out (malloc'd; NULL when there is none
 * or it was deleted). Returns 0, or -1 when it could not be read now.
 * Read from the stream's leader (STREAM.MSG.GET), not with kvStore_Get:
 * nats.c makes buckets AllowDirect, and a direct get may be answered by a
 * follower that has not yet stored the state written before the dispatch. */
static int kv_read(const char *bucket, const char *key, char **out, size_t *len)
{
    char stream[96], subject[400];
    const char *op = NULL;
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    natsStatus s;

    *out = NULL;
    *len = 0;
    snprintf(stream, sizeof(stream), "KV_%s", bucket);
    snprintf(subject, sizeof(subject), "$KV.%s.%s", bucket, key);
    s = js_GetLastMsg(&m, V.js, stream, subject, NULL, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr)
        return 0;
    if (s != NATS_OK)
        return -1;
    if (natsMsgHeader_Get(m, "KV-Operation", &op) != NATS_OK || !op) {
        *len = (size_t)natsMsg_GetDataLength(m);
        *out = xmalloc(*len + 1);
        memcpy(*out, natsMsg_GetData(m), *len);
        (*out)[*len] = '\0';
    } /* else DEL or PURGE: none */
    natsMsg_Destroy(m);
    return 0;
}

/* Whether r counts (common/admit.h: the rule the scheduler applies), from
 * the requirement's state and its claim. On ADMIT_OK a result without an
 * attempt is given the current one, so its verdict names that attempt.
 * *counts is 1 when it counts; otherwise the settlement says what becomes
 * of the message. */
static nc_settlement admit(natsMsg *m, pb_result *r, int *counts)
{
    const char *subject = natsMsg_GetSubject(m), *subject_id = strchr(subject, '.');
    int type = names_agent_from_subject(subject, 1);
    pb_state *st = NULL;
    char *value = NULL, *claimant = NULL, key[300], err[ERR_LEN], holder[128];
    size_t len = 0;
    admit_code code;
    nc_settlement rc = nc_ack();

    *counts = 0;
    if (subject_id)
        subject_id = strchr(subject_id + 1, '.');
    code = admit_envelope(subject, type, (int)r->agent_type, NULL, r->instance, NULL, err);
    if (code == ADMIT_OK && !subject_id) {
        code = ADMIT_WRONG_TYPE;
        snprintf(err, ERR_LEN, "%.120s names no requirement", subject);
    }
    if (code != ADMIT_OK)
        return refuse(m, r, admit_reason(code), err);
    subject_id++;
    if (kv_read(TOPO_KV_REQUIREMENTS, r->requirement_id, &value, &len) != 0) {
        log_warn("result on %s: the state of %s cannot be read now; retried", subject, r->requirement_id);
        return nc_retry(RETRY_MS);
    }
    if (value &&
        !(st = (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor, (const uint8_t *)value, len,
                                     PB_MAX_MSG, err))) {
        char why[ERR_LEN + 64];
        snprintf(why, sizeof(why), "the state of %s is unreadable: %s", r->requirement_id, err);
        rc = refuse(m, r, "unreadable_state", why);
        goto out;
    }
    /* a claim made without its dispatch holds for no one (claim.h) */
    if (st && admit_claim_key(st, type, r->attempt, key, sizeof(key)) > 0 &&
        (claim_holder(V.js, key, holder, sizeof(holder)) != 0 || !(claimant = xstrdup(holder)))) {
        log_warn("result on %s: claim %s cannot be read now; retried", subject, key);
        rc = nc_retry(RETRY_MS);
        goto out;
    }
    code = admit_report(st, type, subject_id, r->requirement_id, r->attempt, r->instance, claimant, err);
    if (code != ADMIT_OK) {
        rc = refuse(m, r, admit_reason(code), err);
        goto out;
    }
    if (!r->attempt)
        r->attempt = st->attempt;
    *counts = 1;
out:
    if (st)
        orchestrator__v1__requirement_state__free_unpacked(st, NULL);
    free(value);
    free(claimant);
    return rc;
}

/* One result: verified, and acked once its verdict is stored. */
static nc_settlement handle(natsMsg *m, void *arg)
{
    const char *subject = natsMsg_GetSubject(m);
    pb_result *r = NULL;
    pb_verdict v;
    edge_limits lim;
    char err[ERR_LEN], vsubject[128], msg_id[160];
    uint8_t *buf = NULL;
    size_t len = 0;
    int counts = 0;
    nc_settlement how;
    (void)arg;

    if (names_agent_from_subject(subject, 1) == ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW ||
        names_agent_from_subject(subject, 1) == ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE)
        return nc_ack(); /* a review is not a build; a merge was built by the release role itself */
    edge_limits_default(&lim);
    if (edge_result_from_json(subject, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &lim, &r, err) !=
        EDGE_OK) {
        count(-1);
        return refuse(m, NULL, "bad_result", err);
    }
    how = admit(m, r, &counts);
    if (!counts) {
        if (how.kind == NC_TERM)
            count(-2);
        orchestrator__v1__result__free_unpacked(r, NULL);
        return how;
    }
    orchestrator__v1__verdict__init(&v);
    log_info("verifying %s attempt %u (%s at %s)", r->requirement_id, r->attempt, r->project, r->ref);
    pthread_mutex_lock(&V.mu);
    V.busy++;
    pthread_mutex_unlock(&V.mu);
    {
        int64_t t0 = text_mono_ms(), steps_ms = 0;
        verify_run(&V.projects, r, &v, keep_alive, m);
        for (size_t i = 0; i < v.n_steps; i++)
            steps_ms += v.steps[i]->duration_ms;
        pthread_mutex_lock(&V.mu);
        V.busy--;
        V.verified++;
        V.overhead_ms += text_mono_ms() - t0 - steps_ms;
        pthread_mutex_unlock(&V.mu);
    }
    v.verified_at_ms = text_now_ms();
    log_info("%s attempt %u: %s%s%s", r->requirement_id, r->attempt,
             v.kind == ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_PASS   ? "passed"
             : v.kind == ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_FAIL ? "FAILED"
                                                                            : "infrastructure error",
             *v.detail ? ": " : "", v.detail);
    how = nc_retry(RETRY_MS);
    if (pb_pack(&v.base, &buf, &len) == ORCH_OK) {
        names_subject(vsubject, sizeof(vsubject), NAMES_SUBJ_VERDICTS, r->requirement_id, NULL);
        snprintf(msg_id, sizeof(msg_id), "verdict-%s-a%u", r->requirement_id, r->attempt);
        if (publish(vsubject, msg_id, buf, (int)len, "application/protobuf") == 0)
            how = nc_ack();
    }
    if (how.kind == NC_ACK)
        count(v.kind);
    free(buf);
    /* v's fields were malloc'd by verify_run: free them the generated way */
    {
        pb_verdict *heap = xmalloc(sizeof(*heap));
        *heap = v;
        orchestrator__v1__verdict__free_unpacked(heap, NULL);
    }
    orchestrator__v1__result__free_unpacked(r, NULL);
    return how;
}

/* Each worker takes results and merge-train jobs in turn, one at a time:
 * verifier.workers bounds the builds of both. A fetch waits (up to 250 ms)
 * only when both were empty the last time round: while there is work, an
 * empty consumer costs a round trip, not a wait. */
static void *worker(void *arg)
{
    int i = (int)(intptr_t)arg, idle = 0;
    while (atomic_load(&V.running)) {
        int64_t wait = idle ? 250 : 5;
        int results = nc_consume(V.subs[i], 1, wait, handle, NULL), jobs = 0;
        if (atomic_load(&V.running))
            jobs = nc_consume(V.train_subs[i], 1, wait, verifier_train_handle, &V.train);
        idle = results <= 0 && jobs <= 0;
    }
    return NULL;
}

orch_status verifier_start(daemon_ctx *d, char err[ERR_LEN])
{
    memset(&V, 0, sizeof(V));
    V.d = d;
    pthread_mutex_init(&V.mu, NULL);
    if (verifier_cfg.projects_file) {
        size_t len = 0;
        char *text = NULL, perr[ERR_LEN];
        if (fileio_read(verifier_cfg.projects_file, PROJECTS_MAX, &text, &len, perr) != ORCH_OK) {
            snprintf(err, ERR_LEN, "verifier.projects_file %s", perr);
            return ORCH_ERR_INVALID;
        }
        if (vconfig_parse(text, len, &V.projects, perr) != ORCH_OK) {
            snprintf(err, ERR_LEN, "verifier.projects_file %s: %s", verifier_cfg.projects_file, perr);
            free(text);
            return ORCH_ERR_INVALID;
        }
        free(text);
    } else {
        log_warn("no verifier.projects_file: every result will be an infrastructure error");
    }
    V.projects.work_root = verifier_cfg.work_root;
    V.projects.output_limit = (size_t)verifier_cfg.output_limit;
    V.projects.grace_ms = verifier_cfg.grace_ms;
    V.projects.git_timeout_ms = verifier_cfg.git_timeout_s * 1000;
    V.projects.build_merged = 1;
    log_info("%d projects, %lld workers, work trees under %s", V.projects.n, verifier_cfg.workers,
             verifier_cfg.work_root);
    if (natsConnection_JetStream(&V.js, d->rr, NULL) != NATS_OK) {
        snprintf(err, ERR_LEN, "jetstream: %s", nats_GetLastError(NULL));
        return ORCH_ERR_NATS;
    }
    V.train.projects = &V.projects;
    V.train.js = V.js;
    V.train.keep_branches = (int)verifier_cfg.keep_branches;
    atomic_store(&V.running, 1);
    for (int i = 0; i < verifier_cfg.workers; i++) {
        orch_status st = nc_pull_subscribe(d->js, "RESULTS", TOPO_DUR_VERIFIER, &V.subs[i], err);
        if (st == ORCH_OK)
            st = nc_pull_subscribe(d->js, "TRAIN", TOPO_DUR_VERIFIER_TRAIN, &V.train_subs[i], err);
        if (st != ORCH_OK)
            return st;
        if (pthread_create(&V.threads[i], NULL, worker, (void *)(intptr_t)i) != 0) {
            snprintf(err, ERR_LEN, "cannot start worker %d", i);
            return ORCH_ERR_IO;
        }
        V.nworkers++;
    }
    return srv_add_endpoint(d->srv, "stats", names_request_subject(NAMES_REQ_VERIFIER_STATS), NULL, on_stats, stats_data, NULL, err);
}

void verifier_stop(daemon_ctx *d)
{
    (void)d;
    /* Workers finish the verification in hand, publish, ack, then leave. */
    atomic_store(&V.running, 0);
    for (int i = 0; i < V.nworkers; i++) {
        pthread_join(V.threads[i], NULL);
        natsSubscription_Unsubscribe(V.subs[i]);
        natsSubscription_Destroy(V.subs[i]);
        natsSubscription_Unsubscribe(V.train_subs[i]);
        natsSubscription_Destroy(V.train_subs[i]);
    }
    if (V.verified)
        log_info("%lld verifications; mean overhead %.1f ms each beyond their steps' own time (clone, diff, clean-up)",
                 V.verified, (double)V.overhead_ms / (double)V.verified);
    if (V.js)
        jsCtx_Destroy(V.js);
    V.projects.work_root = NULL;
    vconfig_free(&V.projects);
    pthread_mutex_destroy(&V.mu);
}
