#include "monitor_nats.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "admit.h"
#include "deadletter_nats.h"
#include "edge.h"
#include "lease.h"
#include "log.h"
#include "matrix_nats.h"
#include "hostad.h"
#include "names.h"
#include "nc.h"
#include "text.h"
#include "topology.h"

monitor_settings monitor_cfg;

#define F(x) offsetof(monitor_settings, x)
#define BIG 1000000000000LL
const cfg_entry monitor_cfg_entries[] = {
    {"monitor.stale_ms", CFG_INT, "7200000", 1000, BIG, F(rules.stale_ms), NULL, 0,
     "dispatched work with no agent activity for this long is stale (2 h)"},
    {"monitor.kill_ms", CFG_INT, "14400000", 1000, BIG, F(rules.kill_ms), NULL, 0,
     "past this, the stuck instance is stopped and the work released again (4 h)"},
    {"monitor.verifying_ms", CFG_INT, "4800000", 1000, BIG, F(rules.verifying_ms), NULL, 0,
     "work VERIFYING this long raises an alert (80 min: twice the seed project's step time limits, 10+10+15+5 min)"},
    {"monitor.queue_depth", CFG_INT, "10", 1, 1000000, F(rules.queue_depth), NULL, 0,
     "a type's queue (its READY work plus what was released to it and no agent took) deeper than this raises an "
     "alert"},
    {"monitor.error_count", CFG_INT, "5", 1, 100000, F(rules.error_count), NULL, 0,
     "agent errors of a type in the window"},
    {"monitor.error_window_ms", CFG_INT, "900000", 1000, BIG, F(rules.error_window_ms), NULL, 0,
     "the sliding window of the error rules (15 min)"},
    {"monitor.infra_count", CFG_INT, "3", 1, 100000, F(rules.infra_count), NULL, 0,
     "verifier infrastructure errors in the window"},
    {"monitor.budget_warn_percent", CFG_INT, "80", 1, 100, F(rules.warn_percent), NULL, 0,
     "share of the daily total that raises a budget alert (critical at 100%)"},
    {"monitor.service_grace_ms", CFG_INT, "30000", 1000, BIG, F(rules.service_grace_ms), NULL, 0,
     "a service silent on $SRV.PING this long is down"},
    {"monitor.services", CFG_LIST, "orch-router,orch-scheduler,orch-verifier", 0, 64, F(services), NULL, 0,
     "the services expected to answer $SRV.PING"},
    {"monitor.group_wait_ms", CFG_INT, "30000", 0, BIG, F(alerts.group_wait_ms), NULL, 0,
     "alerts of a group raised within this go out as one message"},
    {"monitor.repeat_ms", CFG_INT, "14400000", 1000, BIG, F(alerts.repeat_ms), NULL, 0,
     "a firing alert is announced again after this (4 h)"},
    {"monitor.eval_ms", CFG_INT, "1000", 50, 600000, F(eval_ms), NULL, 0, "how often the rules are evaluated"},
    {"monitor.active_ms", CFG_INT, "300000", 1000, BIG, F(seen.active_ms), NULL, 0,
     "an agent seen within this is active on the dashboard"},
    {"monitor.max_agents", CFG_INT, "512", 16, 1000000, F(seen.max_agents), NULL, 0,
     "agent instances tracked at most; when full, the idle one heard longest ago gives way (never one with work)"},
    {"monitor.agent_idle_ms", CFG_INT, "3600000", 1000, BIG, F(seen.agent_idle_ms), NULL, 0,
     "an instance without work not heard for this long is forgotten (1 h)"},
    {"matrix.homeserver", CFG_STR, NULL, 0, 512, F(matrix_homeserver), NULL, 0,
     "Matrix homeserver URL; without it (or empty) alerts go to the stream and the log only"},
    {"matrix.room", CFG_STR, NULL, 0, 256, F(matrix_room), NULL, 0, "room id (!abc:example.org)"},
    {"matrix.token", CFG_STR, NULL, 0, 1024, F(matrix_token), NULL, CFG_SECRET,
     "access token (prefer ORCH_MATRIX_TOKEN; never logged)"},
    {"matrix.timeout_ms", CFG_INT, "10000", 100, 600000, F(matrix_timeout_ms), NULL, 0, "bound on one request"},
    {"matrix.backoff_ms", CFG_INT, "1000", 100, 600000, F(matrix_backoff_ms), NULL, 0,
     "first retry delay after a 429, a 5xx, an answer without an event id or a transport failure, and the "
     "floor of every retry delay; doubles, with jitter"},
    {"matrix.backoff_max_ms", CFG_INT, "60000", 10, 3600000, F(matrix_backoff_max_ms), NULL, 0, "longest retry delay"},
    {"web.port", CFG_INT, "0", 0, 65535, F(web.port), NULL, 0,
     "port of the web endpoint (the live dashboard, /metrics, /healthz, /readyz); 0: off"},
    {"web.listen", CFG_STR, "127.0.0.1", 0, 64, F(web.listen), NULL, 0,
     "IPv4 address the web endpoint binds to: loopback unless set (0.0.0.0 in a container)"},
    {"web.token", CFG_STR, NULL, 0, 256, F(web.token), NULL, CFG_SECRET,
     "bearer token the endpoint's data and metrics want (prefer ORCH_WEB_TOKEN; never logged); empty: none"},
    {"web.cents_per_million_tokens", CFG_INT, "0", 0, 100000000, F(web.cents_per_mtok), NULL, 0,
     "price of a million tokens for the cost gauge (orch_budget_cost_dollars) of a type whose runs reported no cost "
     "today; 0: none"},
    {"web.status_timeout_ms", CFG_INT, "1000", 50, 10000, F(web.status_timeout_ms), NULL, 0,
     "bound on asking the scheduler for a requirement's detail (orch.status.<id>)"},
};
const size_t monitor_cfg_count = sizeof(monitor_cfg_entries) / sizeof(monitor_cfg_entries[0]);

#define N_INPUTS 4
#define AM_KEY "monitor-state"      /* the alert manager's state */
#define SEEN_KEY "monitor-seen"     /* what the rules need across a restart */
#define DEPTH_EVERY_MS 2000
#define PING_EVERY_MS 5000
#define PLAN_EVERY_MS 10000

static struct {
    daemon_ctx *d;
    jsCtx *js;
    kvStore *states, *budgets, *alerts, *leader;
    lease lease;               /* the main thread's */
    lease lease_view;          /* a copy for the other threads, under mu */
    pthread_mutex_t mu;
    atomic_int running;        /* leader threads run */
    int leading;
    const char *services[SEEN_MAX_SERVICES];
    int nservices;
    /* under mu while leading */
    seen *seen;
    am *am;
    long long notified, delivered_before, dead_before;
    int64_t last_depth_ms, last_ping_ms, last_eval_ms, last_plan_ms;
    /* leader's threads and subscriptions */
    pthread_t th_inputs, th_watch;
    int th_started;
    natsSubscription *inputs[N_INPUTS], *alerts_sub, *hb_sub, *hosts_sub;
    kvWatcher *w_states, *w_budgets;
    mxd *mxd;
    dl *dl;
} M;

/* The monitor's durable consumers, in the order inputs_thread reads them;
 * their streams and filters are topology.c's. */
static const char *const input_durables[N_INPUTS] = {TOPO_DUR_MONITOR_RESULTS, TOPO_DUR_MONITOR_ERRORS,
                                                     TOPO_DUR_MONITOR_VERDICTS, TOPO_DUR_MONITOR_INTEGRATION};

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

static int may_act_cb(void *arg)
{
    (void)arg;
    return may_act();
}

/* The agent table's first "full" of a kind, in the log (the notification
 * follows from evaluate). */
static void say(seen_say said, const char *instance, const char *gone)
{
    if (said == SEEN_SAY_EVICTED)
        log_warn("agent table full (monitor.max_agents %lld): the idle instance heard longest ago (%s) gives way to "
                 "%s; said once until the table has room again",
                 monitor_cfg.seen.max_agents, gone, instance);
    else if (said == SEEN_SAY_UNTRACKED)
        log_error("agent table full (monitor.max_agents %lld) and every one holds work: %s is not tracked; said once "
                  "until the table has room again",
                  monitor_cfg.seen.max_agents, instance);
}

/* A report that counts: activity of instance on id. Caller holds M.mu. */
static void report(int type, const char *id, const char *instance, int64_t now)
{
    char gone[64] = "";
    say(seen_report(M.seen, type, id, instance, now, gone, sizeof(gone)), instance, gone);
}

/* Why an agent's report is refused, for errors.monitor.<reason>. */
typedef struct {
    admit_code code;
    char message[ERR_LEN];
} refusal;

/* Whether st was sent back on the same attempt (a verifier's
 * infrastructure error; an agent whose circuit breaker opened): READY again,
 * that attempt dispatched before. admit calls a report of type about that
 * attempt not dispatched; it is late, not forged. */
static int sent_back_same_attempt(const pb_state *st, int type, uint32_t attempt)
{
    int own = st && st->requirement ? (int)st->requirement->type : 0;
    return st && st->status == ORCHESTRATOR__V1__STATUS__STATUS_READY && st->dispatched_at_ms &&
           (type == 0 || type == own) && (attempt == 0 || attempt == st->attempt);
}

/* Whether a report counts, by its subject (see the header of admit.h):
 * subject_type and instance from the subject, body_type, body_instance and
 * body_id from the body, body_source an agent error's. Returns 1 when it
 * counts, 0 when it changes nothing but is no error (a late report of an
 * attempt that is over), -1 when refused (why in *no). Caller holds M.mu. */
static int judge(const char *subject, int subject_type, const char *subject_id, int body_type,
                 const char *instance, const char *body_instance, const char *body_source, const char *body_id,
                 uint32_t attempt, refusal *no)
{
    const pb_state *known;
    admit_code c;
    char err[ERR_LEN];
    const char *id;
    int late;

    memset(no, 0, sizeof(*no));
    c = admit_envelope(subject, subject_type, body_type, instance, body_instance, body_source, no->message);
    if (c != ADMIT_OK) {
        no->code = c;
        return -1;
    }
    if ((!body_id || !*body_id) && !subject_id)
        return 1; /* an idle heartbeat: only the instance, named by its subject */
    id = body_id && *body_id ? body_id : subject_id;
    known = seen_requirement(M.seen, id);
    c = admit_report(known, subject_type, subject_id, body_id, attempt, instance ? instance : body_instance,
                     NULL, err);
    late = sent_back_same_attempt(known, subject_type, attempt);
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
            late = sent_back_same_attempt(fresh, subject_type, attempt);
            /* what the bucket says is newer than what the watcher showed:
             * taken now, so the report lands on the work it names */
            if (c == ADMIT_OK && (!known || known->updated_at_ms <= fresh->updated_at_ms))
                seen_state(M.seen, fresh, text_now_ms());
            else
                orchestrator__v1__requirement_state__free_unpacked(fresh, NULL);
        }
    }
    if (c == ADMIT_OK)
        return 1;
    /* A late report happened, like one of an attempt that is over: an
     * agent's error then counts for the error rate (it was refused, and the
     * errors of work sent back without counting the attempt went uncounted;
     * the scheduler takes such a heartbeat as past too). */
    if (c == ADMIT_PAST_ATTEMPT || (c == ADMIT_NOT_DISPATCHED && late))
        return 0;
    no->code = c;
    snprintf(no->message, sizeof(no->message), "%s", err);
    return -1;
}

/* errors.monitor.<reason> {"source","reason","message","requirementId","subject"}
 * and one log line. Core NATS: the ERRORS stream stores it, and no lock
 * holder waits for an acknowledgement. */
static void refuse(const char *subject, const char *requirement, const refusal *no)
{
    pb_error e;
    const char *reason = admit_reason(no->code);
    orchestrator__v1__agent_error__init(&e);
    e.reason = (char *)reason;
    e.subject = (char *)subject;
    e.requirement_id = (char *)(requirement ? requirement : "");
    e.message = (char *)no->message;
    nc_publish_refusal(NULL, M.d->nc, NAMES_SRC_MONITOR, &e, reason, NULL, 0);
    log_warn("report on %.120s not counted (%s): %s", subject, reason, no->message);
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


/* Watches the scheduler's KV: every requirement state and budget. The
 * watchers' end-of-initial-values marker (a NULL entry) tells the core the
 * bucket is read. */
static void *watch_thread(void *arg)
{
    (void)arg;
    while (atomic_load(&M.running)) {
        for (int k = 0; k < 2; k++) {
            kvWatcher *w = k ? M.w_budgets : M.w_states;
            kvEntry *e = NULL;
            char err[ERR_LEN];
            /* budgets change rarely: a short look, so states are not held back */
            if (kvWatcher_Next(&e, w, k ? 1 : 200) != NATS_OK)
                continue;
            pthread_mutex_lock(&M.mu);
            if (!e) {
                if (k)
                    seen_budgets_synced(M.seen);
                else
                    seen_states_synced(M.seen);
            } else if (kvEntry_Operation(e) == kvOp_Put) {
                if (!k) {
                    pb_state *st = (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor,
                                                         (const uint8_t *)kvEntry_Value(e),
                                                         (size_t)kvEntry_ValueLen(e), PB_MAX_MSG, err);
                    if (st) {
                        web_nats_state(seen_requirement(M.seen, st->id), st);
                        seen_state(M.seen, st, text_now_ms());
                    }
                } else {
                    pb_budget *u = (pb_budget *)pb_unpack(&orchestrator__v1__budget_usage__descriptor,
                                                          (const uint8_t *)kvEntry_Value(e),
                                                          (size_t)kvEntry_ValueLen(e), PB_MAX_MSG, err);
                    if (u) {
                        seen_budget(M.seen, u);
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

/* results.<type>.<id>: the subject says whose and which. */
static void on_result(const char *subject, const char *data, size_t len, const edge_limits *lim, int64_t now)
{
    pb_result *r = NULL;
    char err[ERR_LEN];
    refusal no;
    int t = (int)names_agent_from_subject(subject, 1), ok;
    if (edge_result_from_json(subject, data, len, lim, &r, err) != EDGE_OK)
        return;
    ok = judge(subject, t, token_rest(subject, 2), (int)r->agent_type, NULL, r->instance, NULL, r->requirement_id,
               r->attempt, &no);
    if (ok >= 0)
        seen_result(M.seen, t); /* a past attempt's result happened too: counted, not activity */
    if (ok > 0) {
        report(t, r->requirement_id, r->instance, now);
    } else if (ok < 0) {
        refuse(subject, r->requirement_id, &no);
    }
    orchestrator__v1__result__free_unpacked(r, NULL);
}

/* errors.<source>.<id>: the subject says who reports. An agent's
 * (errors.agent.<type>.<id>) is judged like a result, its type the one its
 * subject names (the older errors.agent.<id>: the one its body names or else
 * the work's own); the verifier's count against the type
 * of the work without being the agent's activity; other services' reports
 * (the monitor's own "stuck" and refusals among them) count for nothing. */
static void on_error(const char *subject, const char *data, size_t len, const edge_limits *lim, int64_t now)
{
    pb_error *e = NULL;
    char err[ERR_LEN];
    refusal no;
    names_source src = names_source_of(subject);
    int agent = src == NAMES_SRC_AGENT, ok = 1, t, own, subject_type;
    const char *subject_id;
    const pb_state *known;
    if ((!agent && src != NAMES_SRC_VERIFIER) || edge_error_from_json(data, len, lim, &e, err) != EDGE_OK)
        return;
    known = *e->requirement_id ? seen_requirement(M.seen, e->requirement_id) : NULL;
    own = known && known->requirement ? (int)known->requirement->type : 0;
    /* errors.agent.<type>.<id>; the older errors.agent.<id> names no type */
    names_agent_error_of(subject, &subject_type, &subject_id);
    t = subject_type ? subject_type : e->agent_type ? (int)e->agent_type : own;
    if (agent)
        ok = judge(subject, t, subject_id, subject_type ? (int)e->agent_type : 0, NULL, e->instance, e->source,
                   e->requirement_id, e->attempt, &no);
    /* An error of an attempt that is over (the scheduler, reading another
     * consumer, sent the work back already) still happened: it counts. */
    if (ok >= 0)
        seen_error(M.seen, t, agent, e->requirement_id, e->instance, now);
    else
        refuse(subject, e->requirement_id, &no);
    orchestrator__v1__agent_error__free_unpacked(e, NULL);
}

/* One input message: results, errors, verdicts, integration (arg: which,
 * an index into input_durables). Activity and counters; acked whatever it
 * says: a report that does not count was refused on errors.monitor.*. */
static nc_settlement on_input(natsMsg *m, void *arg)
{
    int k = (int)(intptr_t)arg;
    const char *data = natsMsg_GetData(m), *subject = natsMsg_GetSubject(m);
    size_t len = (size_t)natsMsg_GetDataLength(m);
    int64_t now = text_now_ms();
    edge_limits lim;
    char err[ERR_LEN];

    edge_limits_default(&lim);
    pthread_mutex_lock(&M.mu);
    if (k == 0) {
        on_result(subject, data, len, &lim, now);
    } else if (k == 1) {
        on_error(subject, data, len, &lim, now);
    } else if (k == 2) {
        pb_verdict *v = (pb_verdict *)pb_unpack(&orchestrator__v1__verdict__descriptor, (const uint8_t *)data, len,
                                                PB_MAX_MSG, err);
        if (v) {
            const pb_state *of = seen_requirement(M.seen, v->requirement_id);
            web_nats_verdict(v, of && of->requirement ? (int)of->requirement->type : 0);
            if (v->kind == ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_INFRASTRUCTURE_ERROR)
                seen_infra(M.seen, now);
            orchestrator__v1__verdict__free_unpacked(v, NULL);
        }
    } else {
        /* integration.<agent>.<topic>: the agent is active */
        const char *who = names_subject_rest(subject, NAMES_FAM_INTEGRATION);
        char name[64];
        if (who) {
            snprintf(name, sizeof(name), "%.*s", (int)strcspn(who, "."), who);
            seen_integration(M.seen, name, now);
        }
    }
    pthread_mutex_unlock(&M.mu);
    return nc_ack();
}

static void *inputs_thread(void *arg)
{
    (void)arg;
    while (atomic_load(&M.running))
        for (int k = 0; k < N_INPUTS && atomic_load(&M.running); k++)
            nc_consume(M.inputs[k], 100, 100, on_input, (void *)(intptr_t)k);
    return NULL;
}

/* hosts.<host id>: an agent host's advert, for the dashboard's pool; a
 * refused one (forged, too big) is left out, as the scheduler leaves it. */
static void on_advert(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    hostad *ad = malloc(sizeof(*ad));
    const char *host = names_subject_rest(natsMsg_GetSubject(m), NAMES_FAM_HOSTS);
    char err[160];
    (void)nc;
    (void)sub;
    (void)closure;
    if (ad && !hostad_from_json(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), host ? host : "", ad, err,
                                sizeof(err))) {
        pthread_mutex_lock(&M.mu);
        if (M.seen)
            seen_host(M.seen, ad, text_now_ms());
        pthread_mutex_unlock(&M.mu);
    }
    free(ad);
    natsMsg_Destroy(m);
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
        if (M.seen) {
            ok = judge(subject, t, NULL, (int)h->agent_type, instance, h->instance, NULL, h->requirement_id, 0, &no);
            if (ok > 0)
                report(t, h->requirement_id, instance, text_now_ms());
            else if (ok == 0)
                report(t, NULL, instance, text_now_ms()); /* alive, on work that is over */
            else
                refuse(subject, h->requirement_id, &no);
        }
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

static int publish_notification(const am_notification *n)
{
    char members[AM_MAX_MEMBERS * AM_FP_LEN], subject[96];
    size_t used = 0;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = -1;
    nc_alert a = {n->severity, n->kind, n->group, n->id, n->summary, n->text,
                  names_source_token(NAMES_SRC_MONITOR), NULL, members, n->resolved};

    members[0] = '\0';
    for (int i = 0; i < n->nmembers; i++)
        used += (size_t)snprintf(members + used, sizeof(members) - used, "%s%s", i ? "\n" : "", n->members[i]);
    if (nc_alert_pack(&a, &buf, &len) == ORCH_OK) {
        nc_alert_subject(&a, subject, sizeof(subject));
        rc = publish(subject, n->id, buf, (int)len, "application/protobuf");
        free(buf);
    }
    if (rc == 0)
        log_warn("alert %s: %s", n->resolved ? "resolved" : names_severity(a.severity), n->summary);
    return rc;
}

/* An event, not a condition: announced at once as a warning. */
static void announce(void *arg, const char *id, const char *kind, const char *summary, const char *text)
{
    am_notification n;
    (void)arg;
    memset(&n, 0, sizeof(n));
    snprintf(n.id, sizeof(n.id), "%s", id);
    n.severity = ORCHESTRATOR__V1__SEVERITY__SEVERITY_WARNING;
    snprintf(n.kind, sizeof(n.kind), "%s", kind);
    snprintf(n.group, sizeof(n.group), "%s", kind);
    snprintf(n.summary, sizeof(n.summary), "%s", summary);
    snprintf(n.text, sizeof(n.text), "%s", text);
    publish_notification(&n);
}

static void save_kv(const char *key, char *json)
{
    if (kvStore_PutString(NULL, M.alerts, key, json) != NATS_OK)
        log_warn("saving %s: %s", key, nats_GetLastError(NULL));
    free(json);
}

/* Caller holds M.mu. */
static void save_am(void) { save_kv(AM_KEY, am_save(M.am)); }
static void save_seen(void) { save_kv(SEEN_KEY, seen_save(M.seen)); }

static void kill_instance(const rules_kill *k)
{
    char subject[160], msg_id[160], why[96], stale[32];
    rules_duration(stale, sizeof(stale), monitor_cfg.rules.kill_ms);
    if (*k->instance) {
        char *body;
        names_subject(subject, sizeof(subject), NAMES_SUBJ_KILL, k->instance, NULL);
        snprintf(msg_id, sizeof(msg_id), "kill-%s-a%u", k->id, k->attempt);
        snprintf(why, sizeof(why), "no activity for %s", stale);
        body = edge_kill_to_json(k->instance, k->id, why);
        publish(subject, msg_id, body, (int)strlen(body), "application/json");
        free(body);
    }
    /* the scheduler takes a transient error as "try again" */
    {
        pb_error e;
        char message[300];
        orchestrator__v1__agent_error__init(&e);
        snprintf(message, sizeof(message), "no activity for %s: instance %s stopped, work released again",
                 stale, *k->instance ? k->instance : "(unknown)");
        e.reason = "stuck";
        e.requirement_id = (char *)k->id;
        e.attempt = k->attempt;
        e.instance = (char *)k->instance;
        e.transient = 1;
        e.message = message;
        snprintf(msg_id, sizeof(msg_id), "stuck-%s-a%u", k->id, k->attempt);
        nc_publish_refusal(M.js, NULL, NAMES_SRC_MONITOR, &e, k->id, msg_id, 10000);
    }
    log_warn("%s stuck on %s: %s and released the work again", k->id, *k->instance ? k->instance : "an unknown agent",
             *k->instance ? "asked to stop it" : "nothing to stop");
}

/* --- periodic work ---------------------------------------------------------------- */

static void read_depths(void)
{
    int depth[SEEN_TYPES];
    long long lag[SEEN_TYPES];
    for (int t = 1; t < SEEN_TYPES; t++) {
        jsConsumerInfo *ci = NULL;
        depth[t] = -1;
        lag[t] = -1;
        /* the stream leader's view: JetStream API requests go to it */
        if (js_GetConsumerInfo(&ci, M.d->js, "REQUIREMENTS", names_agent_consumer((Orchestrator__V1__AgentType)t),
                               NULL, NULL) == NATS_OK) {
            depth[t] = (int)(ci->NumPending + (uint64_t)ci->NumAckPending);
            lag[t] = (long long)ci->NumPending;
            jsConsumerInfo_Destroy(ci);
        }
    }
    pthread_mutex_lock(&M.mu);
    for (int t = 1; t < SEEN_TYPES; t++) {
        seen_depth(M.seen, t, depth[t]);
        web_nats_lag(t, lag[t]);
    }
    pthread_mutex_unlock(&M.mu);
}

static void ping_services(void)
{
    char inbox[320];
    natsSubscription *sub = NULL;
    int64_t now = text_now_ms();
    if (nc_inbox(inbox, sizeof(inbox)) != ORCH_OK || natsConnection_SubscribeSync(&sub, M.d->rr, inbox) != NATS_OK ||
        natsConnection_PublishRequestString(M.d->rr, "$SRV.PING", inbox, "") != NATS_OK) {
        natsSubscription_Destroy(sub);
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
            if (name) {
                pthread_mutex_lock(&M.mu);
                seen_ping(M.seen, name, now);
                pthread_mutex_unlock(&M.mu);
            }
            cJSON_Delete(j);
        }
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    pthread_mutex_lock(&M.mu);
    seen_ping(M.seen, NULL, now); /* the round is over */
    pthread_mutex_unlock(&M.mu);
}

/* What the scheduler says of its plan: mode, turn length, conservation,
 * critical path, the day's limits. Its first row only: the states come
 * from KV. */
static void read_plan(void)
{
    natsMsg *reply = NULL;
    seen_plan p;
    memset(&p, 0, sizeof(p));
    if (natsConnection_RequestString(&reply, M.d->rr, names_request_subject(NAMES_REQ_SCHEDULER_LIST), "{\"limit\":1}", 300) == NATS_OK) {
        cJSON *o = cJSON_ParseWithLength(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
        seen_plan_from_json(o, &p);
        cJSON_Delete(o);
        natsMsg_Destroy(reply);
    }
    pthread_mutex_lock(&M.mu);
    if (M.seen)
        seen_plan_set(M.seen, &p);
    pthread_mutex_unlock(&M.mu);
}

/* Caller holds M.mu. */
static void evaluate(void)
{
    rules_condition conds[256];
    rules_kill kills[32];
    am_notification *due;
    char text[300];
    int nc, nk, nd;
    int64_t now = text_now_ms();

    if (!may_act_locked())
        return;
    seen_sweep(M.seen, now);
    if (seen_table_notice(M.seen, text, sizeof(text))) {
        char id[64];
        snprintf(id, sizeof(id), "agent-table-%lld", (long long)now);
        announce(NULL, id, names_alert_kind_token(NAMES_ALERT_AGENT_TABLE), "WARNING agent_table: the monitor's agent table is full", text);
    }
    nc = rules_eval(&monitor_cfg.rules, seen_rules(M.seen, now), now, conds, 256, kills, 32, &nk);
    /* nobody is stopped on a view that is not complete yet */
    for (int i = 0; i < nk && seen_settled(M.seen); i++) {
        if (!may_act_locked())
            return;
        if (seen_stop_once(M.seen, kills[i].id, kills[i].attempt, kills[i].instance))
            kill_instance(&kills[i]);
    }
    /* until every input is in, an alert not found is unknown, not resolved */
    if (seen_settled(M.seen))
        am_observe(M.am, conds, nc, now);
    else
        am_observe_partial(M.am, conds, nc, now);
    due = xcalloc(64, sizeof(*due));
    nd = am_due(M.am, now, due, 64);
    for (int i = 0; i < nd && may_act_locked(); i++)
        if (publish_notification(&due[i]) == 0)
            M.notified++;
    if (nd)
        save_am();
    free(due);
    /* at most once per evaluation: what a successor needs to judge alike */
    if (seen_take_dirty(M.seen) && may_act_locked())
        save_seen();
}

/* --- requests ------------------------------------------------------------------------ */

static void on_dashboard(srv_req *req, void *closure)
{
    const char *body = natsMsg_GetData(req->msg);
    int as_json = body && strstr(body, "json") != NULL;
    dash_input in;
    (void)closure;

    if (!may_act())
        return;
    read_plan();
    pthread_mutex_lock(&M.mu);
    if (!M.seen) {
        pthread_mutex_unlock(&M.mu);
        return;
    }
    in = *seen_dash(M.seen, text_now_ms());
    in.firing_alerts = am_firing(M.am);
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
}

#define SILENCE_MAX_MINUTES (30 * 24 * 60)

/* orch.monitor.silence {"matchers": "rule=stale,type=backend", "minutes": 60, "comment": "..."}
 * orch.monitor.silence {"remove": "S1"} */
static void on_silence(srv_req *req, void *closure)
{
    cJSON *j = cJSON_ParseWithLength(natsMsg_GetData(req->msg), (size_t)natsMsg_GetDataLength(req->msg));
    const char *matchers = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "matchers")) : NULL;
    const char *remove = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "remove")) : NULL;
    const char *comment = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "comment")) : NULL;
    double minutes = j ? cJSON_GetNumberValue(cJSON_GetObjectItem(j, "minutes")) : 0;
    char id[32], why[512];
    int rc;
    (void)closure;
    if (matchers && !remove && !names_silence_matchers_ok(matchers, why, sizeof(why))) {
        srv_respond_error(req, 400, why);
        cJSON_Delete(j);
        return;
    }
    /* a person's duration, bounded: 10^180 minutes overflowed into an
     * expiry in the past, 10^9 silenced for ever */
    if (matchers && !remove && !(minutes >= 1 && minutes <= SILENCE_MAX_MINUTES)) {
        snprintf(why, sizeof(why), "minutes must be a number from 1 to %d (30 days)", SILENCE_MAX_MINUTES);
        srv_respond_error(req, 400, why);
        cJSON_Delete(j);
        return;
    }
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
    int requirements = 0, agents = 0;
    long long evicted = 0, untracked = 0;
    (void)closure;
    pthread_mutex_lock(&M.mu);
    if (M.seen)
        seen_stats(M.seen, &requirements, &agents, &evicted, &untracked);
    cJSON_AddBoolToObject(data, "leader", M.leading);
    cJSON_AddNumberToObject(data, "requirements", requirements);
    cJSON_AddNumberToObject(data, "agents", agents);
    cJSON_AddNumberToObject(data, "agents_evicted", (double)evicted);
    cJSON_AddNumberToObject(data, "agents_untracked", (double)untracked);
    cJSON_AddNumberToObject(data, "alerts_firing", M.am ? am_firing(M.am) : 0);
    cJSON_AddNumberToObject(data, "notifications", (double)M.notified);
    cJSON_AddNumberToObject(data, "delivered_to_matrix", (double)(M.delivered_before + mxd_delivered(M.mxd)));
    cJSON_AddNumberToObject(data, "dead_letters", (double)(M.dead_before + dl_count(M.dl)));
    pthread_mutex_unlock(&M.mu);
}

/* --- leadership --------------------------------------------------------------------------- */

/* Restores what the last leader kept, then starts watching. The order
 * matters: the alert state and the rules' memory are loaded before any
 * input is read, so the first evaluation already knows what was firing and
 * why. */
static orch_status lead(void)
{
    kvEntry *e = NULL;
    char err[ERR_LEN], hb_filter[64], hosts_filter[64];
    mxd_cfg mc;
    dl_cfg dc;
    int64_t now = text_now_ms();

    pthread_mutex_lock(&M.mu);
    M.am = am_create(&monitor_cfg.alerts);
    M.seen = seen_create(&monitor_cfg.seen, M.services, M.nservices, now);
    seen_stale_after(M.seen, monitor_cfg.rules.stale_ms);
    if (kvStore_Get(&e, M.alerts, AM_KEY) == NATS_OK) {
        am_load(M.am, kvEntry_ValueString(e));
        kvEntry_Destroy(e);
        log_info("alert state restored: %d firing", am_firing(M.am));
    }
    e = NULL;
    if (kvStore_Get(&e, M.alerts, SEEN_KEY) == NATS_OK) {
        if (seen_load(M.seen, kvEntry_ValueString(e)) != 0)
            log_warn("the rules' memory in %s is unreadable: starting without it", SEEN_KEY);
        kvEntry_Destroy(e);
    }
    M.last_depth_ms = M.last_ping_ms = M.last_eval_ms = M.last_plan_ms = 0;
    pthread_mutex_unlock(&M.mu);
    names_subject(hb_filter, sizeof(hb_filter), NAMES_SUBJ_HEARTBEAT, ">", NULL);
    snprintf(hosts_filter, sizeof(hosts_filter), "%s.*", NAMES_SUBJ_HOSTS);
    atomic_store(&M.running, 1);
    for (int k = 0; k < N_INPUTS; k++)
        if (nc_pull_subscribe(M.d->js, NULL, input_durables[k], &M.inputs[k], err) != ORCH_OK) {
            log_error("%s", err);
            return ORCH_ERR_NATS;
        }
    /* Only a monitor that can deliver reads the Matrix consumer: one
     * without Matrix used to ack every alert unsent, so a replica without
     * the settings swallowed escalations the configured one never saw. */
    if ((monitor_cfg.matrix_homeserver &&
         nc_pull_subscribe(M.d->js, "ALERTS", TOPO_DUR_MONITOR_MATRIX, &M.alerts_sub, err) != ORCH_OK) ||
        kvStore_WatchAll(&M.w_states, M.states, NULL) != NATS_OK ||
        kvStore_WatchAll(&M.w_budgets, M.budgets, NULL) != NATS_OK ||
        natsConnection_Subscribe(&M.hb_sub, M.d->nc, hb_filter, on_heartbeat, NULL) != NATS_OK ||
        natsConnection_Subscribe(&M.hosts_sub, M.d->nc, hosts_filter, on_advert, NULL) != NATS_OK)
        return ORCH_ERR_NATS;
    if (pthread_create(&M.th_inputs, NULL, inputs_thread, NULL) != 0)
        return ORCH_ERR_IO;
    if (pthread_create(&M.th_watch, NULL, watch_thread, NULL) != 0) {
        atomic_store(&M.running, 0);
        pthread_join(M.th_inputs, NULL);
        return ORCH_ERR_IO;
    }
    M.th_started = 1;
    memset(&mc, 0, sizeof(mc));
    mc.matrix.homeserver = monitor_cfg.matrix_homeserver;
    mc.matrix.room = monitor_cfg.matrix_room;
    mc.matrix.token = monitor_cfg.matrix_token;
    mc.matrix.timeout_ms = monitor_cfg.matrix_timeout_ms;
    mc.backoff_ms = monitor_cfg.matrix_backoff_ms;
    mc.backoff_max_ms = monitor_cfg.matrix_backoff_max_ms;
    mc.alerts = M.alerts;
    mc.sub = M.alerts_sub;
    mc.may_act = may_act_cb;
    dc.js = M.js;
    dc.may_act = may_act_cb;
    dc.announce = announce;
    dc.arg = NULL;
    if ((M.alerts_sub && !(M.mxd = mxd_start(&mc))) || !(M.dl = dl_start(M.d->nc, &dc)))
        return ORCH_ERR_NATS;
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

static void unwatch(kvWatcher **w)
{
    if (*w) {
        kvWatcher_Stop(*w);
        kvWatcher_Destroy(*w);
        *w = NULL;
    }
}

static void follow(void)
{
    atomic_store(&M.running, 0);
    pthread_mutex_lock(&M.mu);
    if (M.seen && may_act_locked())
        save_seen(); /* a successor starts from the latest */
    M.leading = 0;
    pthread_mutex_unlock(&M.mu);
    if (M.th_started) {
        pthread_join(M.th_inputs, NULL);
        pthread_join(M.th_watch, NULL);
        M.th_started = 0;
    }
    M.delivered_before += mxd_delivered(M.mxd);
    mxd_stop(M.mxd);
    M.mxd = NULL;
    M.dead_before += dl_count(M.dl);
    dl_stop(M.dl);
    M.dl = NULL;
    for (int k = 0; k < N_INPUTS; k++)
        unsub(&M.inputs[k]);
    unsub(&M.alerts_sub);
    /* drained: no heartbeat callback still runs when the core goes */
    if (M.hb_sub && natsSubscription_Drain(M.hb_sub) == NATS_OK)
        natsSubscription_WaitForDrainCompletion(M.hb_sub, 5000);
    unsub(&M.hb_sub);
    unsub(&M.hosts_sub);
    unwatch(&M.w_states);
    unwatch(&M.w_budgets);
    pthread_mutex_lock(&M.mu);
    am_destroy(M.am);
    M.am = NULL;
    seen_destroy(M.seen);
    M.seen = NULL;
    web_nats_reset();
    pthread_mutex_unlock(&M.mu);
}

/* --- daemon hooks --------------------------------------------------------------------------- */

/* An empty setting (compose passes ORCH_MATRIX_*= by default) is no setting. */
static void unset_empty(char **v)
{
    if (*v && !**v) {
        free(*v);
        *v = NULL;
    }
}

orch_status monitor_start(daemon_ctx *d, char err[ERR_LEN])
{
    orch_status st;
    memset(&M, 0, sizeof(M));
    M.d = d;
    pthread_mutex_init(&M.mu, NULL);
    for (int i = 0; i < monitor_cfg.services.n && i < SEEN_MAX_SERVICES; i++)
        M.services[M.nservices++] = monitor_cfg.services.v[i];
    unset_empty(&monitor_cfg.matrix_homeserver);
    unset_empty(&monitor_cfg.matrix_room);
    unset_empty(&monitor_cfg.matrix_token);
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
    lease_alert_to(&M.lease, d->js, "monitor");
    log_info("Matrix %s; stale after %lld s; %d services expected",
             monitor_cfg.matrix_homeserver ? "configured"
                                           : "not configured (alerts go to the stream and the log; this monitor "
                                             "leaves them on the Matrix consumer for one that has Matrix)",
             monitor_cfg.rules.stale_ms / 1000, M.nservices);
    if ((st = srv_add_endpoint(d->srv, "dashboard", names_request_subject(NAMES_REQ_DASHBOARD), "", on_dashboard, stats_data, NULL, err)) ||
        (st = srv_add_endpoint(d->srv, "silence", names_request_subject(NAMES_REQ_MONITOR_SILENCE), "", on_silence, NULL, NULL, err)))
        return st;
    /* the web endpoint last: it reads what the lines above set up */
    unset_empty(&monitor_cfg.web.token);
    {
        web_nats_monitor wm = {&M.mu, &M.seen, &M.am, &M.leading, d->rr, monitor_cfg.rules.service_grace_ms};
        if ((st = web_nats_start(&monitor_cfg.web, &wm, err)) != ORCH_OK)
            return st;
    }
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
        if (now - M.last_depth_ms >= DEPTH_EVERY_MS) {
            read_depths();
            M.last_depth_ms = now;
        }
        if (now - M.last_ping_ms >= PING_EVERY_MS) {
            ping_services();
            M.last_ping_ms = now;
        }
        if (now - M.last_plan_ms >= PLAN_EVERY_MS) {
            read_plan();
            M.last_plan_ms = now;
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
    web_nats_stop(); /* first: its requests read the state follow() frees */
    follow();
    lease_release(&M.lease);
    kvStore_Destroy(M.states);
    kvStore_Destroy(M.budgets);
    kvStore_Destroy(M.alerts);
    kvStore_Destroy(M.leader);
    if (M.js)
        jsCtx_Destroy(M.js);
    pthread_mutex_destroy(&M.mu);
}
