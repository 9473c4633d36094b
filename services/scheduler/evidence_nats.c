#include "evidence_nats.h"

#include <stdio.h>
#include <string.h>

#include "edge.h"
#include "learn.h"
#include "log.h"
#include "names.h"
#include "topology.h"

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

void evidence_restore_budgets(sched *s, kvStore *budgets, const sched_clock *now)
{
    kvKeysList keys = {0};
    if (kvStore_Keys(&keys, budgets, NULL) != NATS_OK)
        return;
    for (int i = 0; i < keys.Count; i++) {
        kvEntry *e = NULL;
        pb_budget *u;
        char err[ERR_LEN];
        if (strncmp(keys.Keys[i], now->day, strlen(now->day)) || kvStore_Get(&e, budgets, keys.Keys[i]) != NATS_OK)
            continue;
        u = (pb_budget *)pb_unpack(&orchestrator__v1__budget_usage__descriptor, (const uint8_t *)kvEntry_Value(e),
                                   (size_t)kvEntry_ValueLen(e), PB_MAX_MSG, err);
        if (u && u->agent_type &&
            sched_restore_budget(s, u->day, u->agent_type, u->unattributed, u->cost_micro_usd, err) != 0)
            log_error("%s/%s: %s", TOPO_KV_BUDGETS, keys.Keys[i], err);
        if (u)
            orchestrator__v1__budget_usage__free_unpacked(u, NULL);
        kvEntry_Destroy(e);
    }
    kvKeysList_Destroy(&keys);
}

void evidence_restore_learned(sched *s, kvStore *budgets)
{
    kvEntry *e = NULL;
    char err[ERR_LEN];
    natsStatus st = kvStore_Get(&e, budgets, LEARN_KV_KEY);
    if (st != NATS_OK) {
        if (st != NATS_NOT_FOUND)
            log_warn("reading %s/%s: %s; learning from the states instead", TOPO_KV_BUDGETS, LEARN_KV_KEY,
                     natsStatus_GetText(st));
        return;
    }
    if (sched_restore_learned(s, kvEntry_ValueString(e), (size_t)kvEntry_ValueLen(e), err) != ORCH_OK)
        log_warn("%s/%s unreadable (%s); learning from the states instead", TOPO_KV_BUDGETS, LEARN_KV_KEY, err);
    else
        log_info("learned durations and tokens restored from %s/%s", TOPO_KV_BUDGETS, LEARN_KV_KEY);
    kvEntry_Destroy(e);
}
