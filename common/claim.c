/* Claims on dispatches in KV orch_claims (see claim.h). */
#include "claim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology.h"

#define CLAIM_SEQ_HEADER "Orch-Dispatch-Seq"

static char kv_prefix[96]; /* "" or $JS.<domain>.API. (claim_use_domain) */

void claim_use_domain(const char *domain)
{
    if (domain && *domain)
        snprintf(kv_prefix, sizeof(kv_prefix), "$JS.%.64s.API.", domain);
    else
        kv_prefix[0] = '\0';
}

natsStatus claim_create(jsCtx *js, const char *key, const char *instance, uint64_t seq, jsErrCode *code)
{
    char subject[240], seqtext[32];
    natsMsg *c = NULL;
    jsPubOptions po;
    natsStatus s;

    snprintf(subject, sizeof(subject), "%s$KV.%s.%s", kv_prefix, TOPO_KV_CLAIMS, key);
    snprintf(seqtext, sizeof(seqtext), "%llu", (unsigned long long)seq);
    jsPubOptions_Init(&po);
    po.MaxWait = 5000;
    s = natsMsg_Create(&c, subject, NULL, instance, (int)strlen(instance));
    if (s == NATS_OK)
        s = natsMsgHeader_Set(c, "Nats-Expected-Last-Subject-Sequence", "0");
    if (s == NATS_OK)
        s = natsMsgHeader_Set(c, CLAIM_SEQ_HEADER, seqtext);
    if (s == NATS_OK)
        s = js_PublishMsg(NULL, js, c, &po, code);
    natsMsg_Destroy(c);
    return s;
}

claim_outcome claim_take(jsCtx *js, natsMsg *m, const char *type, const char *instance, strmap *unsure,
                         char *key_out, size_t keylen, char *err, size_t errlen)
{
    const char *msg_id = NULL;
    char key[200];
    jsErrCode code = 0;
    natsStatus s;
    jsMsgMetaData *meta = NULL;
    uint64_t seq;

    if (errlen)
        err[0] = '\0';
    if (natsMsg_GetMetaData(&meta, m) != NATS_OK)
        return CLAIM_MINE; /* not from a stream: nothing to deduplicate against */
    seq = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
    if (natsMsgHeader_Get(m, "Nats-Msg-Id", &msg_id) == NATS_OK && msg_id && *msg_id)
        snprintf(key, sizeof(key), "%s.%s", type, msg_id);
    else
        snprintf(key, sizeof(key), "%s.seq-%llu", type, (unsigned long long)seq);
    for (char *p = key; *p; p++) /* a KV key: letters, digits, - _ / = . */
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_/=.", *p)))
            *p = '_';
    if (key_out && keylen)
        snprintf(key_out, keylen, "%s", key);
    s = claim_create(js, key, instance, seq, &code);
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

/* The last message on subject of stream (NULL when there is none); -1
 * when JetStream did not answer. */
static int last_msg(jsCtx *js, const char *stream, const char *subject, natsMsg **out)
{
    jsErrCode jerr = 0;
    natsStatus s = js_GetLastMsg(out, js, stream, subject, NULL, &jerr);
    if (s == NATS_OK)
        return 0;
    *out = NULL;
    return s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr ? 0 : -1;
}

int claim_holder(jsCtx *js, const char *key, char *out, size_t len)
{
    char stream[96], subject[300];
    const char *op = NULL, *seq = NULL, *id = NULL, *dispatch = strchr(key, '.');
    natsMsg *c = NULL, *d = NULL;
    jsErrCode jerr = 0;
    char *end = NULL;
    unsigned long long n;
    natsStatus s;
    int rc = 0;

    out[0] = '\0';
    snprintf(stream, sizeof(stream), "KV_%s", TOPO_KV_CLAIMS);
    snprintf(subject, sizeof(subject), "$KV.%s.%s", TOPO_KV_CLAIMS, key);
    if (last_msg(js, stream, subject, &c) != 0)
        return -1;
    if (!c || (natsMsgHeader_Get(c, "KV-Operation", &op) == NATS_OK && op))
        goto out; /* no claim */
    snprintf(out, len, "%s", CLAIM_VOID);
    if (!dispatch || natsMsgHeader_Get(c, CLAIM_SEQ_HEADER, &seq) != NATS_OK || !seq || !*seq)
        goto out;
    n = strtoull(seq, &end, 10);
    if (*end || n == 0)
        goto out;
    if ((s = js_GetMsg(&d, js, "REQUIREMENTS", n, NULL, &jerr)) != NATS_OK) {
        if (s != NATS_NOT_FOUND && jerr != JSNoMessageFoundErr) {
            rc = -1;
            out[0] = '\0';
        }
        d = NULL;
        goto out;
    }
    /* the dispatch the key names (by its message id, or by its sequence
     * when it had none), stored before the claim */
    if (natsMsgHeader_Get(d, "Nats-Msg-Id", &id) != NATS_OK || !id || !*id) {
        snprintf(subject, sizeof(subject), "seq-%llu", n);
        id = subject;
    }
    if (!strcmp(id, dispatch + 1) && natsMsg_GetTime(d) <= natsMsg_GetTime(c))
        snprintf(out, len, "%.*s", natsMsg_GetDataLength(c), natsMsg_GetData(c));
out:
    natsMsg_Destroy(c);
    natsMsg_Destroy(d);
    return rc;
}
