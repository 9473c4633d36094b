/* orch-mcp's questions to the suite over NATS (mcp_nats.h). Every wait is
 * bounded by timeout_ms, and a missing answer is said with the service that
 * should have given it. */
#include "mcp_nats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge.h"
#include "names.h"
#include "nc.h"
#include "pb.h"
#include "text.h"

#define QUIET_MS 700 /* after the last id or refusal, how long more may come */

static int connect(mcp_nats *n, char err[MCP_ERR_LEN])
{
    char why[ERR_LEN];
    if (n->nc && natsConnection_Status(n->nc) == NATS_CONN_STATUS_CLOSED) {
        natsConnection_Destroy(n->nc);
        n->nc = NULL;
    }
    if (n->nc)
        return 0;
    if (nc_connect(&n->nc, n->cfg, "orch-mcp", NC_SEND_ASAP | NC_FAIL_FAST, why) != ORCH_OK) {
        snprintf(err, MCP_ERR_LEN, "the suite cannot be reached: %s", why);
        n->nc = NULL;
        return -1;
    }
    return 0;
}

/* Which service answers a question, for the line that says none did. */
static const char *who(mcp_ask_kind k)
{
    return k == MCP_ASK_DASHBOARD || k == MCP_ASK_DASHBOARD_TEXT ? "the monitor (orch-monitor)"
                                                                 : "the scheduler's leader (orch-scheduler)";
}

static int ask(void *arg, mcp_ask_kind k, const char *param, cJSON **out, char err[MCP_ERR_LEN])
{
    mcp_nats *n = arg;
    char subject[200];
    const char *body = "", *text = NULL;
    natsMsg *reply = NULL;
    natsStatus s;
    int rc = -1;

    *out = NULL;
    if (connect(n, err))
        return -1;
    switch (k) {
    case MCP_ASK_STATUS:
        names_subject(subject, sizeof(subject), NAMES_SUBJ_STATUS, param, NULL);
        break;
    case MCP_ASK_LIST:
        snprintf(subject, sizeof(subject), "%s", names_request_subject(NAMES_REQ_SCHEDULER_LIST));
        body = param ? param : "";
        break;
    case MCP_ASK_RETRY:
        snprintf(subject, sizeof(subject), "%s", names_request_subject(NAMES_REQ_SCHEDULER_RETRY));
        body = param;
        break;
    case MCP_ASK_DASHBOARD:
    case MCP_ASK_DASHBOARD_TEXT:
        snprintf(subject, sizeof(subject), "%s", names_request_subject(NAMES_REQ_DASHBOARD));
        body = k == MCP_ASK_DASHBOARD ? "json" : "";
        break;
    }
    s = natsConnection_RequestString(&reply, n->nc, subject, body, n->timeout_ms);
    if (s == NATS_NO_RESPONDERS) {
        snprintf(err, MCP_ERR_LEN, "nothing answers on %s: %s is not running", subject, who(k));
    } else if (s == NATS_TIMEOUT) {
        snprintf(err, MCP_ERR_LEN, "no answer on %s within %lld ms (is %s running?)", subject,
                 (long long)n->timeout_ms, who(k));
    } else if (s != NATS_OK) {
        snprintf(err, MCP_ERR_LEN, "%s: %s", subject, natsStatus_GetText(s));
    } else if (natsMsgHeader_Get(reply, "Nats-Service-Error", &text) == NATS_OK) {
        const char *code = NULL;
        snprintf(err, MCP_ERR_LEN, "%s", text);
        if (natsMsgHeader_Get(reply, "Nats-Service-Error-Code", &code) == NATS_OK && code && !strcmp(code, "404"))
            rc = MCP_NOT_FOUND;
    } else if (k == MCP_ASK_DASHBOARD_TEXT) {
        char *raw = xstrndup(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
        char *shown = text_printable(raw);
        *out = cJSON_CreateString(shown);
        free(shown);
        free(raw);
        rc = 0;
    } else if (!(*out = cJSON_ParseWithLength(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply)))) {
        snprintf(err, MCP_ERR_LEN, "%s answered something that is not JSON", subject);
    } else {
        rc = 0;
    }
    natsMsg_Destroy(reply);
    return rc;
}

/* A refusal on errors.intake.* for the intake message seq: added to
 * refused; returns 1 when it refuses the whole message (no more will come). */
static int take_refusal(const cJSON *j, cJSON *refused)
{
    const char *reason = cJSON_GetStringValue(cJSON_GetObjectItem(j, "reason"));
    const cJSON *item = cJSON_GetObjectItem(j, "item");
    /* as orchctl reads it: a refusal naming an item of the list (a bad
     * item, a duplicate id, no automatic id free) refuses that one only */
    int one = (cJSON_IsNumber(item) && item->valuedouble >= 1) ||
              (reason && (!strcmp(reason, edge_reason_token(EDGE_DUPLICATE_ID)) ||
                          !strcmp(reason, edge_reason_token(EDGE_ID_UNAVAILABLE))));
    cJSON *x = cJSON_CreateObject();
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(j, "requirementId"));
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(j, "message"));
    if (cJSON_IsNumber(item) && item->valuedouble >= 1)
        cJSON_AddNumberToObject(x, "item", item->valuedouble);
    if (id)
        cJSON_AddStringToObject(x, "id", id);
    cJSON_AddStringToObject(x, "reason", reason ? reason : "");
    cJSON_AddStringToObject(x, "message", msg ? msg : "");
    cJSON_AddItemToArray(refused, x);
    return !one;
}

static int submit(void *arg, const char *body, cJSON **out, char err[MCP_ERR_LEN])
{
    mcp_nats *n = arg;
    natsSubscription *plan = NULL, *errs = NULL;
    jsCtx *js = NULL;
    jsPubOptions po;
    jsPubAck *pa = NULL;
    cJSON *o = NULL, *accepted, *refused;
    uint64_t seq;
    int64_t deadline, quiet_until = 0;
    natsStatus s;
    int rc = -1, whole = 0;

    *out = NULL;
    if (connect(n, err))
        return -1;
    /* subscribed before publishing, so no answer can come first */
    if (natsConnection_SubscribeSync(&plan, n->nc, "plan.requirement.>") != NATS_OK ||
        natsConnection_SubscribeSync(&errs, n->nc, "errors.intake.>") != NATS_OK ||
        natsConnection_JetStream(&js, n->nc, NULL) != NATS_OK) {
        snprintf(err, MCP_ERR_LEN, "cannot listen for the router's answer: %s", nats_GetLastError(NULL));
        goto out;
    }
    jsPubOptions_Init(&po);
    po.MaxWait = n->timeout_ms;
    s = js_Publish(&pa, js, "intake.requirements", body, (int)strlen(body), &po, NULL);
    if (s != NATS_OK) {
        snprintf(err, MCP_ERR_LEN, "not submitted: %s",
                 s == NATS_NO_RESPONDERS ? "no stream takes intake.requirements (no orch service has provisioned "
                                           "the streams: are the services running?)"
                 : s == NATS_TIMEOUT ? "the stream did not confirm it in time"
                                     : nats_GetLastError(NULL));
        goto out;
    }
    seq = pa->Sequence;
    o = cJSON_CreateObject();
    accepted = cJSON_AddArrayToObject(o, "accepted");
    refused = cJSON_AddArrayToObject(o, "refused");
    deadline = nats_Now() + n->timeout_ms;
    while (!whole && nats_Now() < deadline && (!quiet_until || nats_Now() < quiet_until)) {
        natsMsg *x = NULL;
        if (natsSubscription_NextMsg(&x, errs, 1) == NATS_OK) {
            cJSON *j = cJSON_ParseWithLength(natsMsg_GetData(x), (size_t)natsMsg_GetDataLength(x));
            const cJSON *sq = cJSON_GetObjectItem(j, "streamSeq");
            if (cJSON_IsNumber(sq) && (uint64_t)sq->valuedouble == seq) {
                whole = take_refusal(j, refused);
                quiet_until = nats_Now() + QUIET_MS;
            }
            cJSON_Delete(j);
            natsMsg_Destroy(x);
        }
        if (natsSubscription_NextMsg(&x, plan, 50) == NATS_OK) {
            char why[ERR_LEN];
            pb_requirement *r = (pb_requirement *)pb_unpack(&orchestrator__v1__requirement__descriptor,
                                                            (const uint8_t *)natsMsg_GetData(x),
                                                            (size_t)natsMsg_GetDataLength(x), PB_MAX_MSG, why);
            if (r && r->intake_seq == seq) {
                cJSON *a = cJSON_CreateObject();
                cJSON_AddStringToObject(a, "id", r->id);
                cJSON_AddStringToObject(a, "type", names_agent_type(r->type));
                cJSON_AddStringToObject(a, "priority", names_priority(r->priority));
                cJSON_AddStringToObject(a, "title", r->title);
                cJSON_AddItemToArray(accepted, a);
                quiet_until = nats_Now() + QUIET_MS;
            }
            if (r)
                orchestrator__v1__requirement__free_unpacked(r, NULL);
            natsMsg_Destroy(x);
        }
    }
    if (!cJSON_GetArraySize(accepted) && !cJSON_GetArraySize(refused)) {
        snprintf(err, MCP_ERR_LEN,
                 "stored as intake message %llu, but no router answered within %lld ms (is orch-router running?)",
                 (unsigned long long)seq, (long long)n->timeout_ms);
        goto out;
    }
    *out = o;
    o = NULL;
    rc = 0;
out:
    cJSON_Delete(o);
    jsPubAck_Destroy(pa);
    jsCtx_Destroy(js);
    natsSubscription_Destroy(plan);
    natsSubscription_Destroy(errs);
    return rc;
}

mcp_backend mcp_nats_backend(mcp_nats *n)
{
    mcp_backend b = {n, ask, submit};
    return b;
}

void mcp_nats_close(mcp_nats *n)
{
    if (n->nc)
        nc_close(n->nc, 2000);
    n->nc = NULL;
}
