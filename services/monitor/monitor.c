#include "monitor.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "admit.h"
#include "agents.h"
#include "alerts.h"
#include "dashboard.h"
#include "edge.h"
#include "lease.h"
#include "log.h"
#include "nc.h"
#include "matrix.h"
#include "names.h"
#include "rules.h"
#include "strmap.h"
#include "text.h"
#include "topology.h"

monitor_settings monitor_cfg;

#define F(x) offsetof(monitor_settings, x)
#define BIG 1000000000000LL
const cfg_entry monitor_cfg_entries[] = {
    {"monitor.stale_ms", CFG_INT, "7200000", 1000, BIG, F(stale_ms), NULL, 0,
     "dispatched work with no agent activity for this long is stale (2 h)"},
    {"monitor.kill_ms", CFG_INT, "14400000", 1000, BIG, F(kill_ms), NULL, 0,
     "past this, the stuck instance is stopped and the work released again (4 h)"},
    {"monitor.verifying_ms", CFG_INT, "4800000", 1000, BIG, F(verifying_ms), NULL, 0,
     "work VERIFYING this long raises an alert (80 min: twice the seed project's step time limits, 10+10+15+5 min)"},
    {"monitor.queue_depth", CFG_INT, "10", 1, 1000000, F(queue_depth), NULL, 0,
     "a type's queue (pending + in flight) deeper than this raises an alert"},
    {"monitor.error_count", CFG_INT, "5", 1, 100000, F(error_count), NULL, 0, "agent errors of a type in the window"},
    {"monitor.error_window_ms", CFG_INT, "900000", 1000, BIG, F(error_window_ms), NULL, 0,
     "the sliding window of the error rules (15 min)"},
    {"monitor.infra_count", CFG_INT, "3", 1, 100000, F(infra_count), NULL, 0,
     "verifier infrastructure errors in the window"},
    {"monitor.budget_warn_percent", CFG_INT, "80", 1, 100, F(warn_percent), NULL, 0,
     "share of the daily total that raises a budget alert"},
    {"monitor.service_grace_ms", CFG_INT, "30000", 1000, BIG, F(service_grace_ms), NULL, 0,
     "a service silent on $SRV.PING this long is down"},
    {"monitor.services", CFG_LIST, "orch-router,orch-scheduler,orch-verifier", 0, 64, F(services), NULL, 0,
     "the services expected to answer $SRV.PING"},
    {"monitor.group_wait_ms", CFG_INT, "30000", 0, BIG, F(group_wait_ms), NULL, 0,
     "alerts of a group raised within this go out as one message"},
    {"monitor.repeat_ms", CFG_INT, "14400000", 1000, BIG, F(repeat_ms), NULL, 0,
     "a firing alert is announced again after this (4 h)"},
    {"monitor.eval_ms", CFG_INT, "1000", 50, 600000, F(eval_ms), NULL, 0, "how often the rules are evaluated"},
    {"monitor.active_ms", CFG_INT, "300000", 1000, BIG, F(active_ms), NULL, 0,
     "an agent seen within this is active on the dashboard"},
    {"monitor.max_agents", CFG_INT, "512", 16, 1000000, F(max_agents), NULL, 0,
     "agent instances tracked at most; when full, the idle one heard longest ago gives way (never one with work)"},
    {"monitor.agent_idle_ms", CFG_INT, "3600000", 1000, BIG, F(agent_idle_ms), NULL, 0,
     "an instance without work not heard for this long is forgotten (1 h)"},
    {"matrix.homeserver", CFG_STR, NULL, 0, 512, F(matrix_homeserver), NULL, 0,
     "Matrix homeserver URL; without it alerts go to the stream and the log only"},
    {"matrix.room", CFG_STR, NULL, 0, 256, F(matrix_room), NULL, 0, "room id (!abc:example.org)"},
    {"matrix.token", CFG_STR, NULL, 0, 1024, F(matrix_token), NULL, CFG_SECRET,
     "access token (prefer ORCH_MATRIX_TOKEN; never logged)"},
    {"matrix.timeout_ms", CFG_INT, "10000", 100, 600000, F(matrix_timeout_ms), NULL, 0, "bound on one request"},
    {"matrix.backoff_ms", CFG_INT, "1000", 100, 600000, F(matrix_backoff_ms), NULL, 0,
     "first retry delay after a 429, a 5xx, an answer without an event id or a transport failure, and the "
     "floor of every retry delay; doubles, with jitter"},
    {"matrix.backoff_max_ms", CFG_INT, "60000", 10, 3600000, F(matrix_backoff_max_ms), NULL, 0, "longest retry delay"},
};
const size_t monitor_cfg_count = sizeof(monitor_cfg_entries) / sizeof(monitor_cfg_entries[0]);

#define NT 7
#define MAX_SERVICES 16
#define N_INPUTS 4
#define STATE_KEY "monitor-state"
#define MX_LOG_EVERY_MS 10000

typedef struct {
    pb_state *st;
    int ever_blocked, ever_overlap;
    int64_t last_activity;
    int64_t verifying_since;    /* when this attempt became VERIFYING; 0: it is not */
} item;

static struct {
    daemon_ctx *d;
    jsCtx *js;
    kvStore *states, *budgets, *alerts, *leader;
    lease lease;               /* the main thread's */
    lease lease_view;          /* a copy for the other threads, under mu */
    pthread_mutex_t mu;
    volatile int running;      /* leader threads run */
    int leading;
    /* what the monitor has seen, under mu */
    item *items;
    int nitems, capitems;
    strmap *ids;
    agents *agents;
    long long agents_evicted, agents_untracked;
    int table_full_said;       /* 1: evicting said, 2: untracked said; 0 again when there is room */
    int table_full_pending;    /* an agent_table notification to publish */
    rules_window errors[NT], infra;
    long long results[NT], errcount[NT];
    uint64_t used[NT], limit[NT], used_total, limit_total;
    int depth[NT];
    rules_service services[MAX_SERVICES];
    int nservices;
    int64_t started_ms, last_depth_ms, last_ping_ms, last_eval_ms;
    strmap *killed;
    am *am;
    long long notified, delivered, dead_letters;
    mx_throttle mx_log;        /* the Matrix thread's retry lines */
    /* threads */
    pthread_t th_inputs, th_watch, th_matrix;
    natsSubscription *inputs[N_INPUTS], *alerts_sub, *hb_sub, *adv_sub;
    kvWatcher *w_states, *w_budgets;
} M;

static const struct {
    const char *stream, *durable, *filter;
} inputs[N_INPUTS] = {
    {"RESULTS", "monitor-results", "results.>"},
    {"ERRORS", "monitor-errors", "errors.>"},
    {"VERDICTS", "monitor-verdicts", "verdicts.>"},
    {"INTEGRATION", "monitor-integration", "integration.>"},
};

static const char *const seed_consumers[NT] = {"", "roy-backend", "jen-frontend", "database-agent",
                                               "documentation-agent", "senior-review", "release-manager"};

/* Whether this instance may do what only the leader does (stop an agent,
 * publish or deliver an alert, copy a dead letter, change silences):
 * leading, and the lease renewed recently enough that no standby can have
 * taken over. A process paused past its lease (SIGSTOP, a frozen VM) wakes
 * up still believing it leads; this is false then, on the monotonic clock,
 * so it acts no more and the main loop steps down. Checked right before
 * each act, not once per round: the pause can fall anywhere. Caller holds
 * M.mu. */
static int may_act_locked(void)
{
    return M.leading && lease_valid(&M.lease_view, text_mono_ms());
}

static int may_act(void)
{
    int ok;
    pthread_mutex_lock(&M.mu);
    ok = may_act_locked();
    pthread_mutex_unlock(&M.mu);
    return ok;
}

/* --- what has been seen -------------------------------------------------------- */

static item *item_of(const char *id)
{
    int i;
    return strmap_get(M.ids, id, &i) ? &M.items[i] : NULL;
}

/* Work still in flight: an agent naming it holds work (agents.h). */
static int in_flight(const char *id, void *arg)
{
    item *it = item_of(id);
    (void)arg;
    return it && (it->st->status == ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED ||
                  it->st->status == ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING);
}

/* instance spoke (its identity already checked); id: the work it named,
 * "" or NULL for none. Caller holds M.mu. */
static void touch(const char *id, const char *instance, int type, int64_t now)
{
    item *it = id && *id ? item_of(id) : NULL;
    char gone[64];
    if (it)
        it->last_activity = now;
    if (!instance || !*instance)
        return;
    switch (agents_note(M.agents, instance, type, id, now, in_flight, NULL, gone, sizeof(gone))) {
    case AGENTS_EVICTED:
        M.agents_evicted++;
        if (!M.table_full_said) {
            log_warn("agent table full (%d instances, monitor.max_agents): the idle instance heard longest ago (%s) "
                     "gives way to %s; said once until the table has room again",
                     agents_cap(M.agents), gone, instance);
            M.table_full_said = M.table_full_pending = 1;
        }
        break;
    case AGENTS_FULL:
        M.agents_untracked++;
        if (M.table_full_said < 2) {
            log_error("agent table full (%d instances, monitor.max_agents) and every one holds work: %s is not "
                      "tracked; said once until the table has room again",
                      agents_cap(M.agents), instance);
            M.table_full_said = 2;
            M.table_full_pending = 1;
        }
        break;
    default:
        break;
    }
}

/* Why an agent's report is refused, for errors.monitor.<reason>. */
typedef struct {
    char reason[32];
    char message[ERR_LEN];
} refusal;

/* Whether a report counts, by its subject (see the header of admit.h):
 * subject_type and instance from the subject, body_type, body_instance and
 * body_id from the body. Returns 1 when it counts, 0 when it changes
 * nothing but is no error (a late report of an attempt that is over), -1
 * when refused (why in *no). Caller holds M.mu. */
static int judge(const char *subject, int subject_type, const char *subject_id, int body_type,
                 const char *instance, const char *body_instance, const char *body_id, uint32_t attempt,
                 refusal *no)
{
    item *it;
    admit_code c;
    char err[ERR_LEN];
    const char *id;

    memset(no, 0, sizeof(*no));
    if (subject_type <= 0 || subject_type >= NT) {
        snprintf(no->reason, sizeof(no->reason), "wrong_subject");
        snprintf(no->message, sizeof(no->message), "%.120s names no agent type", subject);
        return -1;
    }
    if (body_type && body_type != subject_type) {
        snprintf(no->reason, sizeof(no->reason), "type_mismatch");
        snprintf(no->message, sizeof(no->message), "the body says agent type %s, the subject %.120s says %s",
                 names_agent_type((Orchestrator__V1__AgentType)body_type), subject,
                 names_agent_type((Orchestrator__V1__AgentType)subject_type));
        return -1;
    }
    if (instance && body_instance && *body_instance && strcmp(instance, body_instance)) {
        snprintf(no->reason, sizeof(no->reason), "instance_mismatch");
        snprintf(no->message, sizeof(no->message), "the body says instance '%.64s', the subject %.120s says '%.64s'",
                 body_instance, subject, instance);
        return -1;
    }
    if ((!body_id || !*body_id) && !subject_id)
        return 1; /* an idle heartbeat: only the instance, named by its subject */
    id = body_id && *body_id ? body_id : subject_id;
    it = item_of(id);
    c = admit_report(it ? it->st : NULL, subject_type, subject_id, body_id, attempt, instance ? instance : body_instance,
                     NULL, err);
    if (c == ADMIT_UNKNOWN || c == ADMIT_NOT_DISPATCHED || c == ADMIT_FUTURE_ATTEMPT) {
        /* The watcher may not have shown the latest state yet (an agent
         * can speak right after its dispatch): the bucket has the last word. */
        kvEntry *e = NULL;
        pb_state *fresh = NULL;
        char perr[ERR_LEN];
        if (kvStore_Get(&e, M.states, id) == NATS_OK && kvEntry_Operation(e) == kvOp_Put)
            fresh = (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor,
                                          (const uint8_t *)kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), PB_MAX_MSG,
                                          perr);
        if (e)
            kvEntry_Destroy(e);
        if (fresh) {
            c = admit_report(fresh, subject_type, subject_id, body_id, attempt, instance ? instance : body_instance,
                             NULL, err);
            orchestrator__v1__requirement_state__free_unpacked(fresh, NULL);
        }
    }
    if (c == ADMIT_OK)
        return 1;
    if (c == ADMIT_PAST_ATTEMPT)
        return 0;
    snprintf(no->reason, sizeof(no->reason), "%s", admit_reason(c));
    snprintf(no->message, sizeof(no->message), "%s", err);
    return -1;
}

/* errors.monitor.<reason> {"source","reason","subject","requirementId","message"}
 * and one log line. Core NATS: the ERRORS stream stores it, and no lock
 * holder waits for an acknowledgement. */
static void refuse(const char *subject, const char *requirement, const refusal *no)
{
    cJSON *o = cJSON_CreateObject();
    char subj[64], *txt;
    cJSON_AddStringToObject(o, "source", "monitor");
    cJSON_AddStringToObject(o, "reason", no->reason);
    cJSON_AddStringToObject(o, "subject", subject);
    cJSON_AddStringToObject(o, "requirementId", requirement ? requirement : "");
    cJSON_AddStringToObject(o, "message", no->message);
    txt = cJSON_PrintUnformatted(o);
    snprintf(subj, sizeof(subj), "errors.monitor.%s", no->reason);
    natsConnection_PublishString(M.d->nc, subj, txt);
    log_warn("report on %.120s not counted (%s): %s", subject, no->reason, no->message);
    free(txt);
    cJSON_Delete(o);
}

/* Token k (from 0) of a subject and everything after it. */
static const char *token_rest(const char *subject, int k)
{
    const char *p = subject;
    for (int i = 0; i < k && p; i++) {
        p = strchr(p, '.');
        if (p)
            p++;
    }
    return p && *p ? p : NULL;
}

static void put_state(pb_state *st)
{
    item *it = item_of(st->id);
    if (st->alias) {
        orchestrator__v1__requirement_state__free_unpacked(st, NULL);
        return;
    }
    if (!it) {
        if (M.nitems == M.capitems) {
            M.capitems = M.capitems ? M.capitems * 2 : 256;
            M.items = xrealloc(M.items, sizeof(item) * (size_t)M.capitems);
        }
        it = &M.items[M.nitems];
        memset(it, 0, sizeof(*it));
        strmap_put(M.ids, st->id, M.nitems++);
    }
    if (st->status != ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING)
        it->verifying_since = 0;
    else if (!it->verifying_since || it->st->status != st->status || it->st->attempt != st->attempt)
        it->verifying_since = st->updated_at_ms ? st->updated_at_ms : text_now_ms();
    if (it->st)
        orchestrator__v1__requirement_state__free_unpacked(it->st, NULL);
    it->st = st;
    if (st->status == ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED)
        it->ever_blocked = 1;
    if (!strncmp(st->reason, "overlap", 7))
        it->ever_overlap = 1;
}

static void put_budget(const pb_budget *u)
{
    char day[16];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(day, sizeof(day), "%Y-%m-%d", &tm);
    if (strcmp(u->day, day) != 0)
        return;
    if (u->agent_type == 0) {
        M.used_total = u->used;
        M.limit_total = u->limit;
    } else if ((unsigned)u->agent_type < NT) {
        M.used[u->agent_type] = u->used;
        M.limit[u->agent_type] = u->limit;
    }
}

/* Watches the scheduler's KV: every requirement state and budget. */
static void *watch_thread(void *arg)
{
    (void)arg;
    while (M.running) {
        for (int k = 0; k < 2; k++) {
            kvWatcher *w = k ? M.w_budgets : M.w_states;
            kvEntry *e = NULL;
            char err[ERR_LEN];
            /* budgets change rarely: a short look, so states are not held back */
            if (kvWatcher_Next(&e, w, k ? 1 : 200) != NATS_OK || !e)
                continue;
            pthread_mutex_lock(&M.mu);
            if (kvEntry_Operation(e) == kvOp_Put) {
                if (!k) {
                    pb_state *st = (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor,
                                                         (const uint8_t *)kvEntry_Value(e),
                                                         (size_t)kvEntry_ValueLen(e), PB_MAX_MSG, err);
                    if (st)
                        put_state(st);
                } else {
                    pb_budget *u = (pb_budget *)pb_unpack(&orchestrator__v1__budget_usage__descriptor,
                                                          (const uint8_t *)kvEntry_Value(e),
                                                          (size_t)kvEntry_ValueLen(e), PB_MAX_MSG, err);
                    if (u) {
                        put_budget(u);
                        orchestrator__v1__budget_usage__free_unpacked(u, NULL);
                    }
                }
            }
            pthread_mutex_unlock(&M.mu);
            kvEntry_Destroy(e);
        }
    }
    return NULL;
}

/* Results, errors, verdicts, integration: activity and counters. */
static void *inputs_thread(void *arg)
{
    edge_limits lim;
    (void)arg;
    edge_limits_default(&lim);
    while (M.running) {
        for (int k = 0; k < N_INPUTS && M.running; k++) {
            natsMsgList list = {0};
            if (natsSubscription_Fetch(&list, M.inputs[k], 100, 100, NULL) != NATS_OK) {
                natsMsgList_Destroy(&list);
                continue;
            }
            pthread_mutex_lock(&M.mu);
            for (int i = 0; i < list.Count; i++) {
                natsMsg *m = list.Msgs[i];
                const char *data = natsMsg_GetData(m);
                size_t len = (size_t)natsMsg_GetDataLength(m);
                int64_t now = text_now_ms();
                char err[ERR_LEN];
                const char *subject = natsMsg_GetSubject(m);
                refusal no;
                if (k == 0) {
                    /* results.<type>.<id>: the subject says whose and which */
                    pb_result *r = NULL;
                    int t = (int)names_agent_from_subject(subject, 1);
                    if (edge_result_from_json(subject, data, len, &lim, &r, err) == EDGE_OK) {
                        int ok = judge(subject, t, token_rest(subject, 2), (int)r->agent_type, NULL, r->instance,
                                       r->requirement_id, r->attempt, &no);
                        if (ok > 0) {
                            M.results[t]++;
                            touch(r->requirement_id, r->instance, t, now);
                        } else if (ok < 0) {
                            refuse(subject, r->requirement_id, &no);
                        }
                        orchestrator__v1__result__free_unpacked(r, NULL);
                    }
                } else if (k == 1) {
                    /* errors.<source>.<id>: the subject says who reports.
                     * An agent's (errors.agent.<id>) is judged like a result,
                     * its type being the one its body names or else the
                     * work's own; the verifier's count against the type of
                     * the work without being the agent's activity; other
                     * services' reports (the monitor's own "stuck" and
                     * refusals among them) count for nothing here. */
                    pb_error *e = NULL;
                    int agent = !strncmp(subject, "errors.agent.", 13);
                    if ((agent || !strncmp(subject, "errors.verifier.", 16)) &&
                        edge_error_from_json(data, len, &lim, &e, err) == EDGE_OK) {
                        item *it = *e->requirement_id ? item_of(e->requirement_id) : NULL;
                        int own = it && it->st->requirement ? (int)it->st->requirement->type : 0;
                        int t = e->agent_type ? (int)e->agent_type : own;
                        int ok = 1;
                        if (agent && *e->source && strcmp(e->source, "agent")) {
                            ok = -1;
                            memset(&no, 0, sizeof(no));
                            snprintf(no.reason, sizeof(no.reason), "source_mismatch");
                            char why[80];
                            /* the body's text is shown only when it is a plain token */
                            snprintf(no.message, sizeof(no.message), "the body says source '%.40s' on %.120s",
                                     text_id_valid(e->source, 40, why, sizeof(why)) ? e->source : "(not a name)",
                                     subject);
                        } else if (agent) {
                            ok = judge(subject, t, token_rest(subject, 2), 0, NULL, e->instance, e->requirement_id,
                                       e->attempt, &no);
                        }
                        if (ok > 0 && t > 0 && t < NT) {
                            M.errcount[t]++;
                            rules_window_add(&M.errors[t], now);
                            if (agent)
                                touch(e->requirement_id, e->instance, t, now);
                        } else if (ok < 0) {
                            refuse(subject, e->requirement_id, &no);
                        }
                        orchestrator__v1__agent_error__free_unpacked(e, NULL);
                    }
                } else if (k == 2) {
                    pb_verdict *v = (pb_verdict *)pb_unpack(&orchestrator__v1__verdict__descriptor,
                                                            (const uint8_t *)data, len, PB_MAX_MSG, err);
                    if (v) {
                        if (v->kind == ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_INFRASTRUCTURE_ERROR)
                            rules_window_add(&M.infra, now);
                        orchestrator__v1__verdict__free_unpacked(v, NULL);
                    }
                } else {
                    /* integration.<agent>.<topic>: the agent is active */
                    const char *subj = natsMsg_GetSubject(m) + 12;
                    char who[64];
                    snprintf(who, sizeof(who), "%.*s", (int)strcspn(subj, "."), subj);
                    agents_touch(M.agents, who, now);
                }
            }
            pthread_mutex_unlock(&M.mu);
            for (int i = 0; i < list.Count; i++)
                natsMsg_Ack(list.Msgs[i], NULL);
            natsMsgList_Destroy(&list);
        }
    }
    return NULL;
}

/* agents.heartbeat.<type>.<instance>: the subject says who. */
static void on_heartbeat(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    const char *subject = natsMsg_GetSubject(m);
    const char *instance = token_rest(subject, 3);
    int t = (int)names_agent_from_subject(subject, 2);
    pb_heartbeat *h = NULL;
    edge_limits lim;
    char err[ERR_LEN];
    (void)nc;
    (void)sub;
    (void)closure;
    edge_limits_default(&lim);
    if (instance && edge_heartbeat_from_json(subject, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &lim, &h,
                                             err) == EDGE_OK) {
        refusal no;
        int ok;
        pthread_mutex_lock(&M.mu);
        ok = judge(subject, t, NULL, (int)h->agent_type, instance, h->instance, h->requirement_id, 0, &no);
        if (ok > 0)
            touch(h->requirement_id, instance, t, text_now_ms());
        else if (ok == 0)
            touch(NULL, instance, t, text_now_ms()); /* alive, on work that is over */
        else
            refuse(subject, h->requirement_id, &no);
        pthread_mutex_unlock(&M.mu);
        orchestrator__v1__heartbeat__free_unpacked(h, NULL);
    }
    natsMsg_Destroy(m);
}

/* --- publishing --------------------------------------------------------------------- */

/* A stored publish: 0 when JetStream acknowledged it. */
static int publish(const char *subject, const char *msg_id, const void *data, int len, const char *ctype)
{
    return nc_publish_stored(M.js, subject, msg_id, data, len, ctype, 10000);
}

static const char *sev_token(int s) { return s >= 3 ? "critical" : s == 2 ? "warning" : "info"; }

static int publish_notification(const am_notification *n)
{
    pb_alert a;
    Orchestrator__V1__Alert__LabelsEntry e1, e2;
    Orchestrator__V1__Alert__LabelsEntry *labels[2];
    char members[AM_MAX_MEMBERS * AM_FP_LEN], subject[96];
    size_t used = 0;
    uint8_t *buf;
    size_t len;
    int rc = -1;

    members[0] = '\0';
    for (int i = 0; i < n->nmembers; i++)
        used += (size_t)snprintf(members + used, sizeof(members) - used, "%s%s", i ? "\n" : "", n->members[i]);
    orchestrator__v1__alert__init(&a);
    orchestrator__v1__alert__labels_entry__init(&e1);
    orchestrator__v1__alert__labels_entry__init(&e2);
    e1.key = "members";
    e1.value = members;
    e2.key = "source";
    e2.value = "monitor";
    labels[0] = &e1;
    labels[1] = &e2;
    a.labels = labels;
    a.n_labels = 2;
    a.fingerprint = (char *)n->id;
    a.rule = (char *)n->kind;
    a.state = n->resolved ? ORCHESTRATOR__V1__ALERT_STATE__ALERT_STATE_RESOLVED
                          : ORCHESTRATOR__V1__ALERT_STATE__ALERT_STATE_FIRING;
    a.severity = (Orchestrator__V1__Severity)n->severity;
    a.summary = (char *)n->summary;
    a.text = (char *)n->text;
    a.group_key = (char *)n->group;
    a.updated_at_ms = text_now_ms();
    if (pb_pack(&a.base, &buf, &len) == ORCH_OK) {
        snprintf(subject, sizeof(subject), "alerts.%s.%s", sev_token(n->severity), n->kind);
        rc = publish(subject, n->id, buf, (int)len, "application/protobuf");
        free(buf);
    }
    if (rc == 0)
        log_warn("alert %s: %s", n->resolved ? "resolved" : sev_token(n->severity), n->summary);
    return rc;
}

/* An event, not a condition: announced at once as a warning. */
static void announce(const char *id, const char *kind, const char *summary, const char *text)
{
    am_notification n;
    memset(&n, 0, sizeof(n));
    snprintf(n.id, sizeof(n.id), "%s", id);
    n.severity = 2;
    snprintf(n.kind, sizeof(n.kind), "%s", kind);
    snprintf(n.group, sizeof(n.group), "%s", kind);
    snprintf(n.summary, sizeof(n.summary), "%s", summary);
    snprintf(n.text, sizeof(n.text), "%s", text);
    publish_notification(&n);
}

static void save_am(void)
{
    char *json = am_save(M.am);
    if (kvStore_PutString(NULL, M.alerts, STATE_KEY, json) != NATS_OK)
        log_warn("saving the alert state: %s", nats_GetLastError(NULL));
    free(json);
}

static void kill_instance(const rules_kill *k)
{
    char subject[160], msg_id[160], body[512];
    int64_t stale = monitor_cfg.kill_ms / 60000;
    if (*k->instance) {
        snprintf(subject, sizeof(subject), "control.kill.%s", k->instance);
        snprintf(msg_id, sizeof(msg_id), "kill-%s-a%u", k->id, k->attempt);
        snprintf(body, sizeof(body),
                 "{\"instance\":\"%s\",\"requirementId\":\"%s\",\"reason\":\"no activity for %lld min\"}",
                 k->instance, k->id, (long long)stale);
        publish(subject, msg_id, body, (int)strlen(body), "application/json");
    }
    /* the scheduler takes a transient error as "try again" */
    snprintf(subject, sizeof(subject), "errors.monitor.%s", k->id);
    snprintf(msg_id, sizeof(msg_id), "stuck-%s-a%u", k->id, k->attempt);
    snprintf(body, sizeof(body),
             "{\"source\":\"monitor\",\"reason\":\"stuck\",\"requirementId\":\"%s\",\"attempt\":%u,\"instance\":\"%s\","
             "\"transient\":true,\"message\":\"no activity for %lld min: instance %s stopped, work released again\"}",
             k->id, k->attempt, k->instance, (long long)stale, *k->instance ? k->instance : "(unknown)");
    publish(subject, msg_id, body, (int)strlen(body), "application/json");
    log_warn("%s stuck on %s: %s and released the work again", k->id, *k->instance ? k->instance : "an unknown agent",
             *k->instance ? "asked to stop it" : "nothing to stop");
}

/* --- periodic work ---------------------------------------------------------------- */

static void read_depths(void)
{
    for (int t = 1; t < NT; t++) {
        jsConsumerInfo *ci = NULL;
        /* the stream leader's view: JetStream API requests go to it */
        if (js_GetConsumerInfo(&ci, M.d->js, "REQUIREMENTS", seed_consumers[t], NULL, NULL) == NATS_OK) {
            M.depth[t] = (int)(ci->NumPending + (uint64_t)ci->NumAckPending);
            jsConsumerInfo_Destroy(ci);
        }
    }
}

static void ping_services(void)
{
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    int64_t now = text_now_ms();
    if (natsInbox_Create(&inbox) != NATS_OK || natsConnection_SubscribeSync(&sub, M.d->rr, inbox) != NATS_OK ||
        natsConnection_PublishRequestString(M.d->rr, "$SRV.PING", inbox, "") != NATS_OK) {
        natsSubscription_Destroy(sub);
        natsInbox_Destroy(inbox);
        return;
    }
    for (;;) {
        natsMsg *m = NULL;
        cJSON *j;
        if (natsSubscription_NextMsg(&m, sub, 250) != NATS_OK)
            break;
        j = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
        if (j) {
            const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(j, "name"));
            for (int i = 0; name && i < M.nservices; i++)
                if (!strcmp(M.services[i].name, name))
                    M.services[i].last_seen_ms = now;
            cJSON_Delete(j);
        }
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
}

static void evaluate(void)
{
    rules_cfg rc;
    rules_snapshot s;
    rules_work *work;
    rules_condition conds[256];
    rules_kill kills[32];
    am_notification *due;
    int nw = 0, nc, nk, nd;
    int64_t now = text_now_ms();

    if (!may_act_locked())
        return;
    agents_sweep(M.agents, now, in_flight, NULL);
    {
        int n;
        agents_all(M.agents, &n);
        if (n < agents_cap(M.agents))
            M.table_full_said = 0; /* room again: the next time it fills is said again */
    }
    if (M.table_full_pending) {
        char id[64], text[300];
        snprintf(id, sizeof(id), "agent-table-%lld", (long long)now);
        snprintf(text, sizeof(text),
                 "%lld instances gave way to new ones, %lld were not tracked (every slot held work). Many one-off "
                 "instance names, or monitor.max_agents too low.\n",
                 M.agents_evicted, M.agents_untracked);
        announce(id, "agent_table", "WARNING agent_table: the monitor's agent table is full", text);
        M.table_full_pending = 0;
    }
    rc.stale_ms = monitor_cfg.stale_ms;
    rc.kill_ms = monitor_cfg.kill_ms;
    rc.verifying_ms = monitor_cfg.verifying_ms;
    rc.queue_depth = (int)monitor_cfg.queue_depth;
    rc.error_count = (int)monitor_cfg.error_count;
    rc.error_window_ms = monitor_cfg.error_window_ms;
    rc.infra_count = (int)monitor_cfg.infra_count;
    rc.warn_percent = (int)monitor_cfg.warn_percent;
    rc.service_grace_ms = monitor_cfg.service_grace_ms;

    work = xcalloc((size_t)M.nitems + 1, sizeof(*work));
    for (int i = 0; i < M.nitems; i++) {
        const pb_state *st = M.items[i].st;
        if (st->status != ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED &&
            st->status != ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING)
            continue;
        work[nw].id = st->id;
        work[nw].instance = st->instance;
        work[nw].type = st->requirement ? (int)st->requirement->type : 0;
        work[nw].dispatched_ms = st->dispatched_at_ms;
        work[nw].last_activity_ms = M.items[i].last_activity;
        work[nw].attempt = st->attempt;
        work[nw].started = st->started;
        work[nw].verifying = st->status == ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING;
        work[nw].verifying_since_ms = M.items[i].verifying_since;
        nw++;
    }
    memset(&s, 0, sizeof(s));
    s.work = work;
    s.nwork = nw;
    memcpy(s.depth, M.depth, sizeof(s.depth));
    s.errors = M.errors;
    s.infra = &M.infra;
    memcpy(s.used, M.used, sizeof(s.used));
    memcpy(s.limit, M.limit, sizeof(s.limit));
    s.used_total = M.used_total;
    s.limit_total = M.limit_total;
    s.services = M.services;
    s.nservices = M.nservices;
    s.started_ms = M.started_ms;
    nc = rules_eval(&rc, &s, now, conds, 256, kills, 32, &nk);
    free(work);

    for (int i = 0; i < nk; i++) {
        char key[160];
        snprintf(key, sizeof(key), "%s:%u", kills[i].id, kills[i].attempt);
        if (strmap_get(M.killed, key, NULL))
            continue;
        if (!may_act_locked())
            return;
        strmap_put(M.killed, key, 1);
        kill_instance(&kills[i]);
    }
    am_observe(M.am, conds, nc, now);
    due = xcalloc(64, sizeof(*due));
    nd = am_due(M.am, now, due, 64);
    for (int i = 0; i < nd && may_act_locked(); i++)
        if (publish_notification(&due[i]) == 0)
            M.notified++;
    if (nd)
        save_am();
    free(due);
}

/* --- dead letters -------------------------------------------------------------------- */

static void on_advisory(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    cJSON *j = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
    const char *stream = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "stream")) : NULL;
    const char *consumer = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "consumer")) : NULL;
    double seq = j ? cJSON_GetNumberValue(cJSON_GetObjectItem(j, "stream_seq")) : 0;
    double deliveries = j ? cJSON_GetNumberValue(cJSON_GetObjectItem(j, "deliveries")) : 0;
    (void)nc;
    (void)sub;
    (void)closure;
    if (stream && consumer && seq > 0 && may_act()) {
        natsMsg *orig = NULL;
        char subject[200], msg_id[160], reason[300];
        if (js_GetMsg(&orig, M.js, stream, (uint64_t)seq, NULL, NULL) == NATS_OK) {
            natsMsg *dl = NULL;
            jsPubOptions po;
            snprintf(subject, sizeof(subject), "deadletter.%s.%s", stream, consumer);
            snprintf(msg_id, sizeof(msg_id), "dead-%s-%.0f", stream, seq);
            snprintf(reason, sizeof(reason), "delivered %.0f times to %s/%s without an ack", deliveries, stream,
                     consumer);
            jsPubOptions_Init(&po);
            po.MsgId = msg_id;
            if (natsMsg_Create(&dl, subject, NULL, natsMsg_GetData(orig), natsMsg_GetDataLength(orig)) == NATS_OK) {
                char seqbuf[32];
                snprintf(seqbuf, sizeof(seqbuf), "%.0f", seq);
                natsMsgHeader_Set(dl, "Orch-Dead-Reason", reason);
                natsMsgHeader_Set(dl, "Orch-Dead-Stream", stream);
                natsMsgHeader_Set(dl, "Orch-Dead-Seq", seqbuf);
                natsMsgHeader_Set(dl, "Orch-Dead-Subject", natsMsg_GetSubject(orig));
                js_PublishMsg(NULL, M.js, dl, &po, NULL);
                natsMsg_Destroy(dl);
            }
            natsMsg_Destroy(orig);
            {
                /* announced at once: a dead letter is an event, not a condition */
                char id[64], summary[400], text[600];
                snprintf(id, sizeof(id), "D-%s-%.0f", stream, seq);
                snprintf(summary, sizeof(summary), "WARNING dead_letter: %s message %.0f %s", stream, seq, reason);
                snprintf(text, sizeof(text), "A message on %s was %s; copied to %s for a look.\n", stream, reason,
                         subject);
                announce(id, "dead_letter", summary, text);
            }
            pthread_mutex_lock(&M.mu);
            M.dead_letters++;
            pthread_mutex_unlock(&M.mu);
        }
    }
    cJSON_Delete(j);
    natsMsg_Destroy(m);
}

/* --- Matrix delivery ------------------------------------------------------------------ */

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static void event_key(const char *fp, char *key, size_t len)
{
    snprintf(key, len, "event-%016llx", (unsigned long long)fnv(fp));
}

static const char *label(const pb_alert *a, const char *k)
{
    for (size_t i = 0; i < a->n_labels; i++)
        if (!strcmp(a->labels[i]->key, k))
            return a->labels[i]->value;
    return "";
}

/* Returns 0 to ack, 1 to term, or a delay in ms (< 0 negated) to nak. */
static long long deliver(natsMsg *m, const pb_alert *a)
{
    matrix_cfg mc = {monitor_cfg.matrix_homeserver, monitor_cfg.matrix_room, monitor_cfg.matrix_token,
                     monitor_cfg.matrix_timeout_ms};
    mx_result r;
    char txn[64], thread[256] = "", *plain, *html, *esc;
    const char *members = label(a, "members");
    int resolved = a->state == ORCHESTRATOR__V1__ALERT_STATE__ALERT_STATE_RESOLVED;
    jsMsgMetaData *meta = NULL;
    uint64_t delivered = 1;

    if (!may_act())
        return -1000; /* back to the consumer: the leader sends it */
    if (!mc.homeserver || !mc.room || !mc.token) {
        log_info("alert (no Matrix configured): %s", a->summary);
        return 0;
    }
    if (resolved && *members) {
        char key[64];
        kvEntry *e = NULL;
        char first[AM_FP_LEN];
        snprintf(first, sizeof(first), "%.*s", (int)strcspn(members, "\n"), members);
        event_key(first, key, sizeof(key));
        if (kvStore_Get(&e, M.alerts, key) == NATS_OK) {
            snprintf(thread, sizeof(thread), "%s", kvEntry_ValueString(e));
            kvEntry_Destroy(e);
        }
    }
    /* the same alert message always has the same transaction id */
    snprintf(txn, sizeof(txn), "orch-%016llx", (unsigned long long)fnv(a->fingerprint));
    plain = xmalloc(strlen(a->summary) + strlen(a->text) + 4);
    sprintf(plain, "%s\n%s", a->summary, a->text);
    esc = matrix_html_escape(a->text);
    html = xmalloc(strlen(esc) + strlen(a->summary) * 6 + 64);
    {
        char *sum = matrix_html_escape(a->summary);
        sprintf(html, "<b>%s</b><br>%s", sum, esc);
        free(sum);
    }
    matrix_send(&mc, txn, plain, html, thread, &r);
    free(plain);
    free(html);
    free(esc);
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        delivered = meta->NumDelivered;
        jsMsgMetaData_Destroy(meta);
    }
    switch (r.outcome) {
    case MX_SENT:
        if (!resolved && *members) {
            char copy[AM_MAX_MEMBERS * AM_FP_LEN], *save, *fp;
            snprintf(copy, sizeof(copy), "%s", members);
            for (fp = strtok_r(copy, "\n", &save); fp; fp = strtok_r(NULL, "\n", &save)) {
                char key[64];
                event_key(fp, key, sizeof(key));
                kvStore_PutString(NULL, M.alerts, key, r.event_id);
            }
        }
        pthread_mutex_lock(&M.mu);
        M.delivered++;
        pthread_mutex_unlock(&M.mu);
        log_info("alert delivered to Matrix as %s%s", r.event_id, *thread ? " (in thread)" : "");
        return 0;
    case MX_RETRY_AFTER:
    case MX_BACKOFF: {
        /* never sooner than the floor, even when a 429 asks for 0 ms */
        double jitter = (double)rand() / ((double)RAND_MAX + 1.0);
        long long d = matrix_retry_delay(&r, delivered, monitor_cfg.matrix_backoff_ms,
                                         monitor_cfg.matrix_backoff_max_ms, jitter);
        long suppressed = 0;
        if (matrix_throttle(&M.mx_log, text_mono_ms(), MX_LOG_EVERY_MS, &suppressed))
            log_warn("Matrix: %s; again in %lld ms (attempt %llu; %ld such lines suppressed)", r.detail, d,
                     (unsigned long long)delivered, suppressed);
        return -d;
    }
    default:
        log_error("Matrix refused an alert, not retrying: %s", r.detail);
        return 1;
    }
}

static void *matrix_thread(void *arg)
{
    (void)arg;
    while (M.running) {
        natsMsgList list = {0};
        if (natsSubscription_Fetch(&list, M.alerts_sub, 1, 500, NULL) == NATS_OK && list.Count == 1) {
            natsMsg *m = list.Msgs[0];
            char err[ERR_LEN];
            pb_alert *a = (pb_alert *)pb_unpack(&orchestrator__v1__alert__descriptor,
                                                (const uint8_t *)natsMsg_GetData(m),
                                                (size_t)natsMsg_GetDataLength(m), PB_MAX_MSG, err);
            if (!a) {
                log_error("alert on %s unreadable: %s", natsMsg_GetSubject(m), err);
                natsMsg_Term(m, NULL);
            } else {
                long long rc = deliver(m, a);
                if (rc == 0)
                    natsMsg_Ack(m, NULL);
                else if (rc == 1)
                    natsMsg_Term(m, NULL);
                else
                    natsMsg_NakWithDelay(m, -rc, NULL);
                orchestrator__v1__alert__free_unpacked(a, NULL);
            }
        }
        natsMsgList_Destroy(&list);
    }
    return NULL;
}

/* --- requests ------------------------------------------------------------------------ */

static void on_dashboard(srv_req *req, void *closure)
{
    const char *body = natsMsg_GetData(req->msg);
    int as_json = body && strstr(body, "json") != NULL;
    dash_input in;
    dash_item *items;
    dash_agent *agents;
    const agent_entry *all;
    int nall;
    char mode[32] = "Continuous";
    cJSON *list = NULL;
    natsMsg *reply = NULL;
    (void)closure;

    if (!may_act())
        return;
    if (natsConnection_RequestString(&reply, M.d->rr, "orch.scheduler.list", "", 300) == NATS_OK) {
        list = cJSON_ParseWithLength(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
        if (list && cJSON_GetStringValue(cJSON_GetObjectItem(list, "mode")))
            snprintf(mode, sizeof(mode), "%s", strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(list, "mode")), "turns")
                                                   ? "Continuous" : "Turn-Based (30-min cycles)");
        cJSON_Delete(list);
        natsMsg_Destroy(reply);
    } else {
        snprintf(mode, sizeof(mode), "unknown (no scheduler)");
    }
    pthread_mutex_lock(&M.mu);
    memset(&in, 0, sizeof(in));
    items = xcalloc((size_t)M.nitems + 1, sizeof(*items));
    all = agents_all(M.agents, &nall);
    agents = xcalloc((size_t)nall + 1, sizeof(*agents));
    for (int i = 0; i < M.nitems; i++) {
        items[i].st = M.items[i].st;
        items[i].ever_blocked = M.items[i].ever_blocked;
        items[i].ever_overlap = M.items[i].ever_overlap;
    }
    for (int i = 0; i < nall; i++) {
        agents[i].instance = all[i].instance;
        agents[i].type = all[i].type;
        agents[i].last_seen_ms = all[i].last_seen_ms;
        agents[i].requirement = all[i].requirement;
    }
    in.mode = mode;
    in.now_ms = text_now_ms();
    in.items = items;
    in.nitems = M.nitems;
    in.agents = agents;
    in.nagents = nall;
    memcpy(in.used, M.used, sizeof(in.used));
    memcpy(in.limit, M.limit, sizeof(in.limit));
    in.used_total = M.used_total;
    in.limit_total = M.limit_total;
    memcpy(in.depth, M.depth, sizeof(in.depth));
    memcpy(in.results, M.results, sizeof(in.results));
    memcpy(in.errors, M.errcount, sizeof(in.errors));
    in.firing_alerts = am_firing(M.am);
    in.active_ms = monitor_cfg.active_ms;
    if (as_json) {
        cJSON *o = dash_json(&in);
        pthread_mutex_unlock(&M.mu);
        srv_respond_json(req, o);
    } else {
        char *md = dash_markdown(&in);
        pthread_mutex_unlock(&M.mu);
        srv_respond(req, md, (int)strlen(md));
        free(md);
    }
    free(items);
    free(agents);
}

/* orch.monitor.silence {"matchers": "rule=stale,type=backend", "minutes": 60, "comment": "..."}
 * orch.monitor.silence {"remove": "S1"} */
static void on_silence(srv_req *req, void *closure)
{
    cJSON *j = cJSON_ParseWithLength(natsMsg_GetData(req->msg), (size_t)natsMsg_GetDataLength(req->msg));
    const char *matchers = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "matchers")) : NULL;
    const char *remove = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "remove")) : NULL;
    const char *comment = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "comment")) : NULL;
    double minutes = j ? cJSON_GetNumberValue(cJSON_GetObjectItem(j, "minutes")) : 0;
    char id[32];
    int rc;
    (void)closure;
    pthread_mutex_lock(&M.mu);
    if (!may_act_locked()) {
        pthread_mutex_unlock(&M.mu);
        cJSON_Delete(j);
        return;
    }
    if (remove)
        rc = am_unsilence(M.am, remove);
    else if (matchers && minutes > 0)
        rc = am_silence(M.am, matchers, text_now_ms() + (int64_t)(minutes * 60000), comment, id, sizeof(id));
    else
        rc = -2;
    if (rc == 0)
        save_am();
    pthread_mutex_unlock(&M.mu);
    if (rc == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, remove ? "removed" : "id", remove ? remove : id);
        log_info("silence %s %s", remove ? "removed:" : "set:", remove ? remove : matchers);
        srv_respond_json(req, o);
    } else {
        srv_respond_error(req, 400, rc == -2 ? "give {\"matchers\": \"rule=stale,type=backend\", \"minutes\": 60} "
                                               "or {\"remove\": \"S1\"}"
                          : remove ? "no such silence" : "matchers must be key=value pairs, comma separated");
    }
    cJSON_Delete(j);
}

static void stats_data(cJSON *data, void *closure)
{
    (void)closure;
    pthread_mutex_lock(&M.mu);
    cJSON_AddBoolToObject(data, "leader", M.leading);
    cJSON_AddNumberToObject(data, "requirements", M.nitems);
    {
        int n;
        agents_all(M.agents, &n);
        cJSON_AddNumberToObject(data, "agents", n);
    }
    cJSON_AddNumberToObject(data, "agents_evicted", (double)M.agents_evicted);
    cJSON_AddNumberToObject(data, "agents_untracked", (double)M.agents_untracked);
    cJSON_AddNumberToObject(data, "alerts_firing", M.am ? am_firing(M.am) : 0);
    cJSON_AddNumberToObject(data, "notifications", (double)M.notified);
    cJSON_AddNumberToObject(data, "delivered_to_matrix", (double)M.delivered);
    cJSON_AddNumberToObject(data, "dead_letters", (double)M.dead_letters);
    pthread_mutex_unlock(&M.mu);
}

/* --- leadership --------------------------------------------------------------------------- */

static orch_status lead(void)
{
    kvEntry *e = NULL;
    am_cfg ac = {monitor_cfg.group_wait_ms, monitor_cfg.repeat_ms};
    jsSubOptions so;

    M.am = am_create(&ac);
    if (kvStore_Get(&e, M.alerts, STATE_KEY) == NATS_OK) {
        am_load(M.am, kvEntry_ValueString(e));
        kvEntry_Destroy(e);
        log_info("alert state restored: %d firing", am_firing(M.am));
    }
    M.started_ms = text_now_ms();
    M.running = 1;
    for (int k = 0; k < N_INPUTS; k++) {
        jsSubOptions_Init(&so);
        so.Stream = inputs[k].stream;
        so.Consumer = inputs[k].durable;
        if (js_PullSubscribe(&M.inputs[k], M.d->js, inputs[k].filter, inputs[k].durable, NULL, &so, NULL) != NATS_OK)
            return ORCH_ERR_NATS;
    }
    jsSubOptions_Init(&so);
    so.Stream = "ALERTS";
    so.Consumer = "monitor-matrix";
    if (js_PullSubscribe(&M.alerts_sub, M.d->js, "alerts.>", "monitor-matrix", NULL, &so, NULL) != NATS_OK ||
        kvStore_WatchAll(&M.w_states, M.states, NULL) != NATS_OK ||
        kvStore_WatchAll(&M.w_budgets, M.budgets, NULL) != NATS_OK)
        return ORCH_ERR_NATS;
    natsConnection_Subscribe(&M.hb_sub, M.d->nc, "agents.heartbeat.>", on_heartbeat, NULL);
    natsConnection_Subscribe(&M.adv_sub, M.d->nc, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>", on_advisory, NULL);
    pthread_create(&M.th_inputs, NULL, inputs_thread, NULL);
    pthread_create(&M.th_watch, NULL, watch_thread, NULL);
    pthread_create(&M.th_matrix, NULL, matrix_thread, NULL);
    pthread_mutex_lock(&M.mu);
    M.leading = 1;
    pthread_mutex_unlock(&M.mu);
    return ORCH_OK;
}

static void unsub(natsSubscription **s)
{
    if (*s) {
        natsSubscription_Unsubscribe(*s);
        natsSubscription_Destroy(*s);
        *s = NULL;
    }
}

static void follow(void)
{
    int was = M.running;
    M.running = 0;
    pthread_mutex_lock(&M.mu);
    M.leading = 0;
    pthread_mutex_unlock(&M.mu);
    if (was) {
        pthread_join(M.th_inputs, NULL);
        pthread_join(M.th_watch, NULL);
        pthread_join(M.th_matrix, NULL);
    }
    for (int k = 0; k < N_INPUTS; k++)
        unsub(&M.inputs[k]);
    unsub(&M.alerts_sub);
    unsub(&M.hb_sub);
    unsub(&M.adv_sub);
    if (M.w_states) {
        kvWatcher_Stop(M.w_states);
        kvWatcher_Destroy(M.w_states);
        M.w_states = NULL;
    }
    if (M.w_budgets) {
        kvWatcher_Stop(M.w_budgets);
        kvWatcher_Destroy(M.w_budgets);
        M.w_budgets = NULL;
    }
    pthread_mutex_lock(&M.mu);
    am_destroy(M.am);
    M.am = NULL;
    for (int i = 0; i < M.nitems; i++)
        orchestrator__v1__requirement_state__free_unpacked(M.items[i].st, NULL);
    M.nitems = 0;
    strmap_destroy(M.ids);
    M.ids = strmap_create();
    pthread_mutex_unlock(&M.mu);
}

/* --- daemon hooks --------------------------------------------------------------------------- */

orch_status monitor_start(daemon_ctx *d, char err[ERR_LEN])
{
    orch_status st;
    memset(&M, 0, sizeof(M));
    M.d = d;
    pthread_mutex_init(&M.mu, NULL);
    M.ids = strmap_create();
    M.killed = strmap_create();
    M.agents = agents_create((int)monitor_cfg.max_agents, monitor_cfg.agent_idle_ms);
    for (int t = 0; t < NT; t++)
        M.depth[t] = -1;
    for (int i = 0; i < monitor_cfg.services.n && i < MAX_SERVICES; i++)
        M.services[M.nservices++].name = monitor_cfg.services.v[i];
    if ((monitor_cfg.matrix_homeserver || monitor_cfg.matrix_room || monitor_cfg.matrix_token) &&
        !(monitor_cfg.matrix_homeserver && monitor_cfg.matrix_room && monitor_cfg.matrix_token)) {
        snprintf(err, ERR_LEN, "keys 'matrix.homeserver', 'matrix.room' and 'matrix.token' go together");
        return ORCH_ERR_INVALID;
    }
    if (natsConnection_JetStream(&M.js, d->rr, NULL) != NATS_OK ||
        js_KeyValue(&M.states, d->js, TOPO_KV_REQUIREMENTS) != NATS_OK ||
        js_KeyValue(&M.budgets, d->js, TOPO_KV_BUDGETS) != NATS_OK ||
        js_KeyValue(&M.alerts, M.js, TOPO_KV_ALERTS) != NATS_OK ||
        js_KeyValue(&M.leader, M.js, TOPO_KV_LEADER) != NATS_OK) {
        snprintf(err, ERR_LEN, "KV buckets: %s", nats_GetLastError(NULL));
        return ORCH_ERR_NATS;
    }
    lease_init(&M.lease, M.leader, "monitor", d->cfg.instance, 3000);
    log_info("Matrix %s; stale after %lld s; %d services expected",
             monitor_cfg.matrix_homeserver ? "configured" : "not configured (alerts go to the stream and the log)",
             monitor_cfg.stale_ms / 1000, M.nservices);
    if ((st = srv_add_endpoint(d->srv, "dashboard", "orch.dashboard", "", on_dashboard, stats_data, NULL, err)) ||
        (st = srv_add_endpoint(d->srv, "silence", "orch.monitor.silence", "", on_silence, NULL, NULL, err)))
        return st;
    return ORCH_OK;
}

void monitor_step(daemon_ctx *d)
{
    int64_t now = text_now_ms();
    int change = lease_tick(&M.lease, text_mono_ms());
    (void)d;
    if (M.lease.leader && !lease_valid(&M.lease, text_mono_ms())) {
        /* Paused past the lease (or renewals too slow): a standby may lead
         * now. The key may be its own already: not deleted, only let go. */
        log_warn("the monitor lease was last renewed %lld ms ago: stepping down",
                 (long long)(text_mono_ms() - M.lease.last_renewal));
        M.lease.leader = 0;
        change = M.leading ? -1 : 0;
    }
    pthread_mutex_lock(&M.mu);
    M.lease_view = M.lease;
    pthread_mutex_unlock(&M.mu);
    if (change > 0 && lead() != ORCH_OK) {
        log_error("cannot start watching: %s", nats_GetLastError(NULL));
        follow();
        lease_release(&M.lease);
    } else if (change < 0) {
        follow();
    }
    if (M.leading) {
        if (now - M.last_depth_ms >= 2000) {
            read_depths();
            M.last_depth_ms = now;
        }
        if (now - M.last_ping_ms >= 5000) {
            ping_services();
            M.last_ping_ms = now;
        }
        if (now - M.last_eval_ms >= monitor_cfg.eval_ms) {
            pthread_mutex_lock(&M.mu);
            evaluate();
            pthread_mutex_unlock(&M.mu);
            M.last_eval_ms = now;
        }
    }
    nats_Sleep(monitor_cfg.eval_ms < 200 ? monitor_cfg.eval_ms : 200);
}

void monitor_stop(daemon_ctx *d)
{
    (void)d;
    follow();
    lease_release(&M.lease);
    kvStore_Destroy(M.states);
    kvStore_Destroy(M.budgets);
    kvStore_Destroy(M.alerts);
    kvStore_Destroy(M.leader);
    if (M.js)
        jsCtx_Destroy(M.js);
    free(M.items);
    strmap_destroy(M.ids);
    strmap_destroy(M.killed);
    agents_destroy(M.agents);
    pthread_mutex_destroy(&M.mu);
}
