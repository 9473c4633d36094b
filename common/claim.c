/* Claims on dispatches in KV orch_claims (see claim.h). */
#include "claim.h"

#include <stdio.h>
#include <string.h>

#include "topology.h"

claim_outcome claim_take(jsCtx *js, natsMsg *m, const char *type, const char *instance, strmap *unsure,
                         char *key_out, size_t keylen, char *err, size_t errlen)
{
    const char *msg_id = NULL;
    char key[200], subject[240];
    natsMsg *c = NULL;
    jsPubOptions po;
    jsErrCode code = 0;
    natsStatus s;
    jsMsgMetaData *meta = NULL;

    if (errlen)
        err[0] = '\0';
    if (natsMsgHeader_Get(m, "Nats-Msg-Id", &msg_id) == NATS_OK && msg_id && *msg_id) {
        snprintf(key, sizeof(key), "%s.%s", type, msg_id);
    } else if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        snprintf(key, sizeof(key), "%s.seq-%llu", type, (unsigned long long)meta->Sequence.Stream);
        jsMsgMetaData_Destroy(meta);
    } else {
        return CLAIM_MINE; /* not from a stream: nothing to deduplicate against */
    }
    for (char *p = key; *p; p++) /* a KV key: letters, digits, - _ / = . */
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_/=.", *p)))
            *p = '_';
    if (key_out && keylen)
        snprintf(key_out, keylen, "%s", key);
    snprintf(subject, sizeof(subject), "$KV.%s.%s", TOPO_KV_CLAIMS, key);
    jsPubOptions_Init(&po);
    po.MaxWait = 5000;
    s = natsMsg_Create(&c, subject, NULL, instance, (int)strlen(instance));
    if (s == NATS_OK)
        s = natsMsgHeader_Set(c, "Nats-Expected-Last-Subject-Sequence", "0");
    if (s == NATS_OK)
        s = js_PublishMsg(NULL, js, c, &po, &code);
    natsMsg_Destroy(c);
    if (s == NATS_OK) {
        strmap_del(unsure, key);
        return CLAIM_MINE;
    }
    if (code == JSStreamWrongLastSequenceErr) /* claimed before: by this process only if it never learned so */
        return strmap_del(unsure, key) ? CLAIM_MINE : CLAIM_TAKEN;
    strmap_put(unsure, key, 1);
    snprintf(err, errlen, "claiming %s: %s", key, natsStatus_GetText(s));
    return CLAIM_UNSURE;
}
