/* The verifier's merge-train jobs (verifier_train.h). */
#include "verifier_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "names.h"
#include "text.h"
#include "topology.h"
#include "verify_train.h"

#define RETRY_MS 2000
#define JOB_MAX (1 << 20) /* bytes of a job: 256 changes of ids and commits fit many times */

static void keep_alive(void *arg)
{
    natsMsg_InProgress((natsMsg *)arg, NULL);
}

/* Whether this is the job's last delivery: then even a failure that is not
 * the changes' doing is answered, so the train is not left waiting. */
static int last_delivery(natsMsg *m)
{
    jsMsgMetaData *meta = NULL;
    const topo_consumer *c = topo_consumer_find("TRAIN", TOPO_DUR_VERIFIER_TRAIN);
    int last = 0;
    if (c && c->max_deliver > 0 && natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        last = meta->NumDelivered >= (uint64_t)c->max_deliver;
        jsMsgMetaData_Destroy(meta);
    }
    return last;
}

static nc_settlement refuse(verifier_train_ctx *x, natsMsg *m, const char *message)
{
    pb_error e;
    char msg_id[200];
    jsMsgMetaData *meta = NULL;
    orchestrator__v1__agent_error__init(&e);
    e.reason = "bad_train_job";
    e.message = (char *)message;
    e.subject = (char *)natsMsg_GetSubject(m);
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        e.stream_seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
    }
    snprintf(msg_id, sizeof(msg_id), "verifier-bad_train_job-%llu", (unsigned long long)e.stream_seq);
    log_warn("train job on %s refused: %s", e.subject, message);
    return nc_publish_refusal(x->js, NULL, NAMES_SRC_VERIFIER, &e, "bad_train_job", msg_id, 10000) == 0
               ? nc_term()
               : nc_retry(RETRY_MS);
}

/* Stores the answer o on train.done.<project>: acked when stored. */
static nc_settlement answer(verifier_train_ctx *x, const char *project, cJSON *o, const char *msg_id)
{
    char subject[200];
    char *json = cJSON_PrintUnformatted(o);
    int rc;
    snprintf(subject, sizeof(subject), "train.done.%s", project);
    rc = nc_publish_stored(x->js, subject, msg_id, json, (int)strlen(json), "application/json", 10000);
    free(json);
    cJSON_Delete(o);
    return rc == 0 ? nc_ack() : nc_retry(RETRY_MS);
}

static const char *str(const cJSON *j, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, key));
}

static nc_settlement build(verifier_train_ctx *x, natsMsg *m, const cJSON *j, const char *project)
{
    const cJSON *changes = cJSON_GetObjectItemCaseSensitive(j, "changes");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "build");
    vcandidate in = {project, str(j, "base"), 0, NULL, NULL};
    vcandidate_result r;
    const char **ids, **commits;
    char msg_id[300];
    unsigned long long build_no;
    nc_settlement how;
    cJSON *o;
    int k = 0;

    if (!cJSON_IsNumber(b) || b->valuedouble < 1 || b->valuedouble > 9007199254740991.0 || !cJSON_IsArray(changes) ||
        cJSON_GetArraySize(changes) > VTRAIN_MAX_CHANGES || !in.base)
        return refuse(x, m, "a build names a base, a build number and at most 256 changes");
    build_no = (unsigned long long)b->valuedouble;
    in.n = cJSON_GetArraySize(changes);
    ids = calloc((size_t)in.n + 1, sizeof(char *));
    commits = calloc((size_t)in.n + 1, sizeof(char *));
    for (const cJSON *c = changes ? changes->child : NULL; c; c = c->next, k++) {
        ids[k] = str(c, "id");
        commits[k] = str(c, "commit");
        if (!ids[k] || !commits[k]) {
            free(ids);
            free(commits);
            return refuse(x, m, "every change of a build names an id and a commit");
        }
    }
    in.ids = ids;
    in.commits = commits;
    log_info("train %s: building candidate %llu (%d change%s on %.12s)", project, build_no, in.n,
             in.n == 1 ? "" : "s", in.base);
    verify_candidate(x->projects, &in, &r, keep_alive, m);
    free(ids);
    free(commits);
    if (r.infra && !last_delivery(m)) {
        log_warn("train %s: candidate %llu not built, tried again: %s", project, build_no, r.output ? r.output : "");
        vcandidate_result_free(&r);
        return nc_retry(RETRY_MS);
    }
    log_info("train %s: candidate %llu %s", project, build_no,
             r.passed ? "passed" : r.conflict ? "does not merge" : "FAILED");
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "build");
    cJSON_AddStringToObject(o, "project", project);
    cJSON_AddNumberToObject(o, "build", (double)build_no);
    cJSON_AddBoolToObject(o, "passed", r.passed);
    cJSON_AddBoolToObject(o, "conflict", r.conflict);
    cJSON_AddStringToObject(o, "merged", r.merged);
    cJSON_AddStringToObject(o, "output", r.output ? r.output : "");
    vcandidate_result_free(&r);
    snprintf(msg_id, sizeof(msg_id), "train-built-%s-%llu-%.12s", project, build_no, in.base);
    how = answer(x, project, o, msg_id);
    return how;
}

static nc_settlement advance(verifier_train_ctx *x, natsMsg *m, const cJSON *j, const char *project)
{
    vadvance in = {project, str(j, "from"), str(j, "to"), x->keep_branches, NULL, NULL, 0};
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "ids");
    const cJSON *commits = cJSON_GetObjectItemCaseSensitive(j, "commits");
    const char *ids[VTRAIN_MAX_CHANGES], *cs[VTRAIN_MAX_CHANGES];
    char remote[VTRAIN_COMMIT_LEN], msg_id[300], *why = NULL;
    cJSON *o;
    int rc;
    if (!in.from || !in.to)
        return refuse(x, m, "a base move names from and to");
    for (const cJSON *c = cJSON_IsArray(list) ? list->child : NULL; c && in.nids < VTRAIN_MAX_CHANGES; c = c->next)
        if (cJSON_IsString(c))
            ids[in.nids++] = c->valuestring;
    in.ids = ids;
    /* the changes' commits, one per id: a verified merge is made again */
    if (cJSON_IsArray(commits) && cJSON_GetArraySize(commits) == in.nids) {
        int k = 0;
        for (const cJSON *c = commits->child; c; c = c->next, k++)
            cs[k] = cJSON_IsString(c) ? c->valuestring : "";
        in.commits = cs;
    }
    rc = verify_advance(x->projects, &in, remote, &why, keep_alive, m);
    if (rc == -2 && !last_delivery(m)) {
        log_warn("train %s: base move not tried now: %s", project, why ? why : "");
        free(why);
        return nc_retry(RETRY_MS);
    }
    if (rc == 0)
        log_info("train %s: base moved from %.12s to %.12s", project, in.from, in.to);
    else
        log_warn("train %s: base not moved to %.12s: %s", project, in.to, why ? why : "");
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", "advance");
    cJSON_AddStringToObject(o, "project", project);
    cJSON_AddStringToObject(o, "from", in.from);
    cJSON_AddStringToObject(o, "to", in.to);
    cJSON_AddBoolToObject(o, "ok", rc == 0);
    cJSON_AddStringToObject(o, "remote", remote);
    cJSON_AddStringToObject(o, "output", why ? why : "");
    free(why);
    /* a move asked again after a restart is answered again: the answer
     * names the attempt's delivery, so a new leader hears it */
    {
        jsMsgMetaData *meta = NULL;
        unsigned long long seq = 0;
        if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
            seq = meta->Sequence.Stream;
            jsMsgMetaData_Destroy(meta);
        }
        snprintf(msg_id, sizeof(msg_id), "train-moved-%s-%.40s-%llu", project, in.to, seq);
    }
    return answer(x, project, o, msg_id);
}

nc_settlement verifier_train_handle(natsMsg *m, void *arg)
{
    verifier_train_ctx *x = arg;
    const char *subject = natsMsg_GetSubject(m), *kind, *project;
    char subj_project[200];
    nc_settlement how;
    cJSON *j;

    if (natsMsg_GetDataLength(m) > JOB_MAX)
        return refuse(x, m, "the job is larger than 1 MiB");
    if (strncmp(subject, "train.do.", 9) != 0 || !text_id_valid(subject + 9, 128, NULL, 0))
        return refuse(x, m, "not on train.do.<project>");
    snprintf(subj_project, sizeof(subj_project), "%s", subject + 9);
    j = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
    kind = str(j, "kind");
    project = str(j, "project");
    if (!j || !kind || !project || strcmp(project, subj_project) != 0) {
        cJSON_Delete(j);
        return refuse(x, m, "a train job is JSON with kind, and the project its subject names");
    }
    if (!strcmp(kind, "build"))
        how = build(x, m, j, project);
    else if (!strcmp(kind, "advance"))
        how = advance(x, m, j, project);
    else
        how = refuse(x, m, "a train job's kind is build or advance");
    cJSON_Delete(j);
    return how;
}
