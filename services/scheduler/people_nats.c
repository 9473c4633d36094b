/* Decisions of people on the bus: see people_nats.h. Each handler reads a
 * bounded JSON body, calls the core under the scheduler's lock and answers
 * with what is now true, or with an error (400 malformed, 404 unknown id,
 * 409 a state where the decision makes no sense). Nothing in a body reaches
 * a shell or a subject other than the reply. */
#include "people_nats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "names.h"
#include "sched_view.h"
#include "srv.h"
#include "text.h"
#include "topology.h"

#define BODY_MAX 4096
#define PAUSES_KEY "pauses"
#define DEPENDENTS_MAX 64

static struct {
    kvStore *kv;
    people_lock_fn lock;
    people_unlock_fn unlock;
} P;

void people_nats_save(void *ctx, const char *json)
{
    natsStatus s;
    (void)ctx;
    if (!P.kv)
        return;
    if ((s = kvStore_PutString(NULL, P.kv, PAUSES_KEY, json)) != NATS_OK)
        log_error("storing the pauses in %s: %s", TOPO_KV_DECISIONS, natsStatus_GetText(s));
}

void people_nats_restore(sched *s)
{
    kvEntry *e = NULL;
    char err[ERR_LEN];
    natsStatus st;
    if (!P.kv)
        return;
    if ((st = kvStore_Get(&e, P.kv, PAUSES_KEY)) != NATS_OK) {
        if (st != NATS_NOT_FOUND)
            log_error("reading the pauses from %s: %s", TOPO_KV_DECISIONS, natsStatus_GetText(st));
        return;
    }
    if (kvEntry_ValueLen(e) > 0 &&
        sched_restore_pauses(s, kvEntry_ValueString(e), (size_t)kvEntry_ValueLen(e), err) != ORCH_OK)
        log_error("the pauses in %s/%s were not restored: %s", TOPO_KV_DECISIONS, PAUSES_KEY, err);
    kvEntry_Destroy(e);
}

/* --- reading a decision ------------------------------------------------------------ */

/* The body as a JSON object (an empty body is {}), or NULL with why. */
static cJSON *body_of(srv_req *req, char *err, size_t len)
{
    int n = natsMsg_GetDataLength(req->msg);
    cJSON *o;
    if (n > BODY_MAX) {
        snprintf(err, len, "the decision is over %d bytes", BODY_MAX);
        return NULL;
    }
    if (n == 0)
        return cJSON_CreateObject();
    o = cJSON_ParseWithLength(natsMsg_GetData(req->msg), (size_t)n);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        snprintf(err, len, "the decision is not a JSON object");
        return NULL;
    }
    return o;
}

/* A string field: absent gives def; present and not a string is an error. */
static int str_field(const cJSON *o, const char *name, const char *def, const char **out, char *err, size_t len)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!x || cJSON_IsNull(x)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsString(x)) {
        snprintf(err, len, "\"%s\" must be a string", name);
        return -1;
    }
    *out = x->valuestring;
    return 0;
}

/* The id the subject names (prefix.<id>), checked, and the body's "id" if
 * it names one: it must be the same (a body naming another requirement than
 * its subject is refused). */
static int subject_id(srv_req *req, names_request r, const cJSON *body, char *id, size_t idlen, char *err,
                      size_t len)
{
    const char *subj = natsMsg_GetSubject(req->msg), *pre = names_request_subject(r), *bid = NULL;
    size_t n = strlen(pre);
    if (!subj || strncmp(subj, pre, n) || subj[n] != '.') {
        snprintf(err, len, "the subject must be %s.<id>", pre);
        return -1;
    }
    if (!text_id_valid(subj + n + 1, 64, err, len))
        return -1;
    snprintf(id, idlen, "%s", subj + n + 1);
    if (str_field(body, "id", NULL, &bid, err, len))
        return -1;
    if (bid && strcmp(bid, id)) {
        snprintf(err, len, "the body names %.80s, the subject %s: refused", bid, id);
        return -1;
    }
    return 0;
}

static int scope_of(const cJSON *o, sched_pause_scope *sc, char *err, size_t len)
{
    const char *kind = NULL, *name = NULL;
    if (str_field(o, "scope", "all", &kind, err, len) || str_field(o, "name", NULL, &name, err, len))
        return -1;
    memset(sc, 0, sizeof(*sc));
    if (!strcmp(kind, "all")) {
        sc->kind = SCHED_SCOPE_ALL;
    } else if (!strcmp(kind, "type")) {
        sc->kind = SCHED_SCOPE_TYPE;
        for (int t = 1; name && t < NAMES_AGENT_TYPES; t++)
            if (!strcmp(name, names_agent_type((Orchestrator__V1__AgentType)t)))
                sc->type = t;
        if (!sc->type) {
            snprintf(err, len, "no agent type %.40s", name ? name : "(none named)");
            return -1;
        }
    } else if (!strcmp(kind, "project")) {
        sc->kind = SCHED_SCOPE_PROJECT;
        sc->project = name;
    } else {
        snprintf(err, len, "scope: all, type or project, not %.40s", kind);
        return -1;
    }
    return 0;
}

static void answer_paused(srv_req *req, sched *s, const char *verb, int rc)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "decision", verb);
    cJSON_AddBoolToObject(o, "changed", rc == 0);
    cJSON_AddItemToObject(o, "paused", sched_pauses_view(s));
    P.unlock();
    srv_respond_json(req, o);
}

/* --- the decisions ------------------------------------------------------------------ */

/* orch.decide.pause: {"scope": "all"|"type"|"project", "name", "until": ms
 * since the epoch (0 or absent: until resumed), "by", "comment"}. */
static void on_pause(srv_req *req, void *closure)
{
    char err[ERR_LEN] = "";
    cJSON *o = body_of(req, err, sizeof(err)), *until;
    const char *by = NULL, *comment = NULL;
    sched_pause_scope sc;
    sched_clock now;
    sched *s;
    int64_t until_ms = 0;
    int rc;
    (void)closure;
    if (!o || scope_of(o, &sc, err, sizeof(err)) || str_field(o, "by", "operator", &by, err, sizeof(err)) ||
        str_field(o, "comment", "", &comment, err, sizeof(err)))
        goto bad;
    until = cJSON_GetObjectItemCaseSensitive(o, "until");
    if (until && !cJSON_IsNull(until)) {
        if (!cJSON_IsNumber(until) || until->valuedouble < 0 || until->valuedouble > 4e15) {
            snprintf(err, sizeof(err), "\"until\" must be milliseconds since the epoch");
            goto bad;
        }
        until_ms = (int64_t)until->valuedouble;
    }
    if (!(s = P.lock(&now)))
        goto out; /* not the leader: the leader answers */
    rc = sched_pause(s, &sc, until_ms, by, "person", comment, &now, err, sizeof(err));
    if (rc < 0) {
        P.unlock();
        goto bad;
    }
    log_info("paused (%s) by %s",
             sc.kind == SCHED_SCOPE_ALL    ? "all"
             : sc.kind == SCHED_SCOPE_TYPE ? names_agent_type((Orchestrator__V1__AgentType)sc.type)
                                           : sc.project,
             by);
    answer_paused(req, s, "pause", rc);
    goto out;
bad:
    srv_respond_error(req, 400, err);
out:
    cJSON_Delete(o);
}

/* orch.decide.resume: {"scope", "name", "by"} (scope all: every pause). */
static void on_resume(srv_req *req, void *closure)
{
    char err[ERR_LEN] = "";
    cJSON *o = body_of(req, err, sizeof(err));
    const char *by = NULL;
    sched_pause_scope sc;
    sched_clock now;
    sched *s;
    int rc;
    (void)closure;
    if (!o || scope_of(o, &sc, err, sizeof(err)) || str_field(o, "by", "operator", &by, err, sizeof(err)))
        goto bad;
    if (!(s = P.lock(&now)))
        goto out;
    rc = sched_unpause(s, &sc, by, &now, err, sizeof(err));
    if (rc < 0) {
        P.unlock();
        goto bad;
    }
    log_info("resumed by %s", by);
    answer_paused(req, s, "resume", rc);
    goto out;
bad:
    srv_respond_error(req, 400, err);
out:
    cJSON_Delete(o);
}

/* The answer about one requirement: its status as orch.status.<id> gives it,
 * whether this decision changed anything, and for a cancellation what
 * waits on it. */
static void answer_one(srv_req *req, sched *s, const char *id, int rc, int dependents)
{
    cJSON *o = sched_view_status(s, sched_get(s, id), 0, 0);
    cJSON_AddBoolToObject(o, "changed", rc == 0);
    if (dependents) {
        const char *ids[DEPENDENTS_MAX];
        int n = sched_dependents(s, id, ids, DEPENDENTS_MAX);
        cJSON *a = cJSON_AddArrayToObject(o, "dependents");
        for (int k = 0; k < n; k++)
            cJSON_AddItemToArray(a, cJSON_CreateString(ids[k]));
    }
    P.unlock();
    srv_respond_json(req, o);
}

static int code_of(const char *err) { return !strncmp(err, "no requirement", 14) ? 404 : 409; }

/* orch.decide.cancel.<id>: {"by", "comment"}. */
static void on_cancel(srv_req *req, void *closure)
{
    char err[ERR_LEN] = "", id[80];
    cJSON *o = body_of(req, err, sizeof(err));
    const char *by = NULL, *comment = NULL;
    sched_clock now;
    sched *s;
    int rc;
    (void)closure;
    if (!o || subject_id(req, NAMES_REQ_DECIDE_CANCEL, o, id, sizeof(id), err, sizeof(err)) ||
        str_field(o, "by", "operator", &by, err, sizeof(err)) ||
        str_field(o, "comment", "", &comment, err, sizeof(err))) {
        srv_respond_error(req, 400, err);
        goto out;
    }
    if (!(s = P.lock(&now)))
        goto out;
    rc = sched_cancel(s, id, by, comment, &now, err, sizeof(err));
    if (rc < 0) {
        P.unlock();
        srv_respond_error(req, strstr(err, "printable") ? 400 : code_of(err), err);
        goto out;
    }
    log_info("%s cancelled by %s", id, by);
    answer_one(req, s, id, rc, 1);
out:
    cJSON_Delete(o);
}

/* orch.decide.priority.<id>: {"level": "CRITICAL".."LOW" or 1..4, "by",
 * "comment"}. */
static void on_priority(srv_req *req, void *closure)
{
    char err[ERR_LEN] = "", id[80];
    cJSON *o = body_of(req, err, sizeof(err)), *lv;
    const char *by = NULL, *comment = NULL;
    sched_clock now;
    sched *s;
    int rc, level = 0;
    (void)closure;
    if (!o || subject_id(req, NAMES_REQ_DECIDE_PRIORITY, o, id, sizeof(id), err, sizeof(err)) ||
        str_field(o, "by", "operator", &by, err, sizeof(err)) ||
        str_field(o, "comment", "", &comment, err, sizeof(err)))
        goto bad;
    lv = cJSON_GetObjectItemCaseSensitive(o, "level");
    if (cJSON_IsNumber(lv) && lv->valuedouble >= 1 && lv->valuedouble <= 4)
        level = (int)lv->valuedouble;
    else if (cJSON_IsString(lv))
        for (int p = 1; p <= 4; p++)
            if (text_ieq(lv->valuestring, names_priority((Orchestrator__V1__Priority)p)))
                level = p;
    if (!level) {
        snprintf(err, sizeof(err), "\"level\": CRITICAL, HIGH, MEDIUM or LOW");
        goto bad;
    }
    if (!(s = P.lock(&now)))
        goto out;
    rc = sched_set_priority(s, id, level, by, comment, &now, err, sizeof(err));
    if (rc < 0) {
        P.unlock();
        srv_respond_error(req, strstr(err, "printable") ? 400 : code_of(err), err);
        goto out;
    }
    log_info("%s set to %s by %s", id, names_priority((Orchestrator__V1__Priority)level), by);
    answer_one(req, s, id, rc, 0);
    goto out;
bad:
    srv_respond_error(req, 400, err);
out:
    cJSON_Delete(o);
}

orch_status people_nats_start(daemon_ctx *d, people_lock_fn lock, people_unlock_fn unlock, char err[ERR_LEN])
{
    char cancel[64], prio[64];
    orch_status st;
    P.lock = lock;
    P.unlock = unlock;
    if (js_KeyValue(&P.kv, d->js, TOPO_KV_DECISIONS) != NATS_OK) {
        snprintf(err, ERR_LEN, "KV bucket %s: %s", TOPO_KV_DECISIONS, nats_GetLastError(NULL));
        return ORCH_ERR_NATS;
    }
    snprintf(cancel, sizeof(cancel), "%s.*", names_request_subject(NAMES_REQ_DECIDE_CANCEL));
    snprintf(prio, sizeof(prio), "%s.*", names_request_subject(NAMES_REQ_DECIDE_PRIORITY));
    /* no queue group: every instance hears each decision, the leader answers */
    if ((st = srv_add_endpoint(d->srv, "pause", names_request_subject(NAMES_REQ_DECIDE_PAUSE), "", on_pause, NULL,
                               NULL, err)) != ORCH_OK ||
        (st = srv_add_endpoint(d->srv, "resume", names_request_subject(NAMES_REQ_DECIDE_RESUME), "", on_resume, NULL,
                               NULL, err)) != ORCH_OK ||
        (st = srv_add_endpoint(d->srv, "cancel", cancel, "", on_cancel, NULL, NULL, err)) != ORCH_OK ||
        (st = srv_add_endpoint(d->srv, "priority", prio, "", on_priority, NULL, NULL, err)) != ORCH_OK)
        return st;
    return ORCH_OK;
}

void people_nats_stop(void)
{
    kvStore_Destroy(P.kv);
    P.kv = NULL;
}
