/* The scheduler's merge train on NATS (train_nats.h). */
#include "train_nats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "text.h"
#include "topology.h"

/* A job on train.do.<project>, once the train's state that asked for it is
 * stored (the outbox's bucket of trains, key project). */
static void train_job(outbox *ob, int bucket, const char *project, cJSON *o, const char *msg_id)
{
    char subject[200];
    char *json = cJSON_PrintUnformatted(o);
    snprintf(subject, sizeof(subject), "train.do.%s", project);
    outbox_publish(ob, bucket, project, subject, msg_id, json, strlen(json), "application/json");
    free(json);
    cJSON_Delete(o);
}

void train_nats_build(outbox *ob, int bucket, const char *project, const train_build *b)
{
    cJSON *o = cJSON_CreateObject(), *changes = cJSON_AddArrayToObject(o, "changes");
    char msg_id[300];
    cJSON_AddStringToObject(o, "kind", "build");
    cJSON_AddStringToObject(o, "project", project);
    cJSON_AddStringToObject(o, "base", b->base);
    cJSON_AddNumberToObject(o, "build", (double)b->build);
    for (int k = 0; k < b->n; k++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "id", b->ids[k]);
        cJSON_AddStringToObject(c, "commit", b->commits[k]);
        cJSON_AddItemToArray(changes, c);
    }
    /* asked again after a restart: JetStream keeps one */
    snprintf(msg_id, sizeof(msg_id), "train-build-%s-%llu-%.12s", project, (unsigned long long)b->build, b->base);
    train_job(ob, bucket, project, o, msg_id);
    log_info("merge train %s: candidate %llu asked for (%d change%s on %.12s)", project,
             (unsigned long long)b->build, b->n, b->n == 1 ? "" : "s", b->base);
}

void train_nats_advance(outbox *ob, int bucket, const char *project, const char *from, const char *to,
                        const char *const *ids, const char *const *commits, int n)
{
    cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "ids"),
          *clist = cJSON_AddArrayToObject(o, "commits");
    char msg_id[300];
    cJSON_AddStringToObject(o, "kind", "advance");
    cJSON_AddStringToObject(o, "project", project);
    cJSON_AddStringToObject(o, "from", from);
    cJSON_AddStringToObject(o, "to", to);
    for (int k = 0; k < n; k++) {
        cJSON_AddItemToArray(list, cJSON_CreateString(ids[k]));
        cJSON_AddItemToArray(clist, cJSON_CreateString(commits[k]));
    }
    /* every ask is its own (a new leader asks again on purpose); a move
     * made twice is made once */
    snprintf(msg_id, sizeof(msg_id), "train-advance-%s-%.40s-%lld", project, to, (long long)text_now_ms());
    train_job(ob, bucket, project, o, msg_id);
    log_info("merge train %s: base move %.12s -> %.12s asked for (%d change%s)", project, from, to, n,
             n == 1 ? "" : "s");
}

/* A verifier's answer on train.done.<project>: its build or base move. An
 * answer that cannot be read is dropped with a log line (only verifiers
 * may publish there). */
nc_settlement train_nats_answer(sched *s, const char *subj, const char *data, size_t len, const sched_clock *now)
{
    cJSON *j = cJSON_ParseWithLength(data, len);
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "kind"));
    const char *project = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "project"));
    const cJSON *build = cJSON_GetObjectItemCaseSensitive(j, "build");
#define STR(k) (cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, k)) ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, k)) : "")
#define BOOL(k) cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, k))
    if (!kind || !project || strncmp(subj, "train.done.", 11) != 0 || strcmp(subj + 11, project) != 0) {
        log_warn("merge train answer on %s dropped: not JSON with kind and the project of its subject", subj);
    } else if (!strcmp(kind, "build") && cJSON_IsNumber(build) && build->valuedouble >= 1) {
        sched_train_built(s, project, (uint64_t)build->valuedouble, BOOL("passed"), BOOL("conflict"), STR("merged"),
                          STR("output"), now);
    } else if (!strcmp(kind, "advance")) {
        sched_train_advanced(s, project, STR("to"), BOOL("ok"), STR("remote"), now);
    } else {
        log_warn("merge train answer on %s dropped: kind %.40s", subj, kind);
    }
#undef STR
#undef BOOL
    cJSON_Delete(j);
    return nc_ack();
}

/* The merge trains the last leader kept (KV orch_trains, by project). One
 * that cannot be read is left in KV for a person and alerted; its approved
 * changes enter a new train (sched_train_resume). */
void train_nats_restore(sched *s, kvStore *trains, train_nats_alert alert)
{
    kvKeysList keys = {0};
    if (kvStore_Keys(&keys, trains, NULL) != NATS_OK)
        return;
    for (int i = 0; i < keys.Count; i++) {
        kvEntry *e = NULL;
        char err[ERR_LEN];
        if (kvStore_Get(&e, trains, keys.Keys[i]) != NATS_OK)
            continue;
        if (sched_restore_train(s, kvEntry_ValueString(e), (size_t)kvEntry_ValueLen(e), err) != ORCH_OK) {
            char text[ERR_LEN + 200];
            snprintf(text, sizeof(text), "the merge train %s/%s cannot be read (%s): its changes enter a new train",
                     TOPO_KV_TRAINS, keys.Keys[i], err);
            alert(NULL, "warning", "merge_train_unreadable", keys.Keys[i], text);
        }
        kvEntry_Destroy(e);
    }
    kvKeysList_Destroy(&keys);
}

