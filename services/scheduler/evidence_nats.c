#include "evidence_nats.h"

#include <stdio.h>

#include "edge.h"
#include "log.h"
#include "names.h"
#include "topology.h"

int evidence_result_stored(jsCtx *js, const pb_state *st, const pb_verdict *v)
{
    char subject[256], err[ERR_LEN];
    natsMsg *m = NULL;
    pb_result *r = NULL;
    edge_limits lim;
    int ok = 0;
    if (!st || st->status != ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED || !st->requirement)
        return 1;
    names_subject_typed(subject, sizeof(subject), NAMES_SUBJ_RESULTS, (int)st->requirement->type, st->id);
    if (js_GetLastMsg(&m, js, "RESULTS", subject, NULL, NULL) != NATS_OK)
        return 0;
    edge_limits_default(&lim);
    if (edge_result_from_json(subject, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &lim, &r, err) ==
        EDGE_OK)
        ok = (r->attempt ? r->attempt : st->attempt) == (v->attempt ? v->attempt : st->attempt);
    if (r)
        orchestrator__v1__result__free_unpacked(r, NULL);
    natsMsg_Destroy(m);
    return ok;
}

strmap *evidence_issued_ids(kvStore *ids)
{
    kvKeysList keys = {0};
    strmap *m;
    natsStatus s = kvStore_Keys(&keys, ids, NULL);
    if (s != NATS_OK && s != NATS_NOT_FOUND) {
        log_warn("%s unreadable (%s): states are restored without checking their ids were issued", TOPO_KV_IDS,
                 natsStatus_GetText(s));
        return NULL;
    }
    m = strmap_create();
    for (int i = 0; i < keys.Count; i++)
        strmap_put(m, keys.Keys[i], 1);
    kvKeysList_Destroy(&keys);
    return m;
}
