/* orch-monitor through a real nats-server and the fake Matrix homeserver.
 * The scheduler's state is written into KV directly, as the scheduler would,
 * so each rule can be driven exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <nats/nats.h>

#include "fakematrix.h"
#include "natsfix.h"
#include "pb.h"
#include "proc.h"
#include "svcfix.h"
#include "text.h"

typedef struct {
    natsfix fix;
    natsConnection *nc;
    jsCtx *js;
    fakematrix *fm;
    kvStore *states, *budgets;
} env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof(*e));
    if (svc_env_start(&e->fix, &e->nc, &e->js) != 0 || !(e->fm = fm_start("tok")))
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    kvStore_Destroy(e->states);
    kvStore_Destroy(e->budgets);
    fm_stop(e->fm);
    svc_env_stop(&e->fix, e->nc, e->js);
    free(e);
    return 0;
}

/* A number (1 or 0 for a boolean) from a monitor's $SRV.STATS; -1 without an answer. */
static long long stat_of(env *e, const char *instance, const char *k)
{
    char subj[96];
    cJSON *st, *data, *v;
    long long n = -1;
    snprintf(subj, sizeof(subj), "$SRV.STATS.orch-monitor.%s", instance);
    st = svc_request_json(e->nc, subj, "", 1000);
    data = st ? cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(st, "endpoints"), 0), "data") : NULL;
    v = data ? cJSON_GetObjectItem(data, k) : NULL;
    if (cJSON_IsBool(v))
        n = cJSON_IsTrue(v);
    else if (cJSON_IsNumber(v))
        n = (long long)v->valuedouble;
    cJSON_Delete(st);
    return n;
}

/* GET /metrics of the monitor's web endpoint on port (loopback, no token):
 * the body (malloc'd), or NULL. */
static char *scrape(int port)
{
    struct sockaddr_in a;
    char req[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", *buf = calloc(1, 1 << 20), *body;
    size_t got = 0;
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        if (fd >= 0)
            close(fd);
        free(buf);
        return NULL;
    }
    while (got < (1 << 20) - 1 && (n = read(fd, buf + got, (1 << 20) - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    body = strstr(buf, "\r\n\r\n");
    if (!strstr(buf, " 200 ") || !body) {
        free(buf);
        return NULL;
    }
    body = strdup(body + 4);
    free(buf);
    return body;
}

/* Whether the monitor's /metrics on port has the sample line (series and
 * value), within 10 s. */
static int metrics_has(int port, const char *line)
{
    char want[256];
    snprintf(want, sizeof(want), "\n%s\n", line);
    for (int i = 0; i < 100; i++) {
        char *t = scrape(port);
        int ok = t && strstr(t, want);
        free(t);
        if (ok)
            return 1;
        usleep(100 * 1000);
    }
    return 0;
}

/* Starts a monitor; with lead, waits until it is the leader. */
static pid_t start_monitor_as(env *e, const char *instance, const char *const extra[], int lead)
{
    char hs[96];
    const char *x[24] = {hs,
                         "ORCH_MATRIX_ROOM=!ops:fake.local",
                         "ORCH_MATRIX_TOKEN=tok",
                         "ORCH_MONITOR_STALE_MS=1500",
                         "ORCH_MONITOR_KILL_MS=600000",
                         "ORCH_MONITOR_GROUP_WAIT_MS=300",
                         "ORCH_MONITOR_EVAL_MS=200",
                         "ORCH_MONITOR_SERVICES=orch-monitor",
                         "ORCH_MONITOR_QUEUE_DEPTH=5",
                         "ORCH_MONITOR_ERROR_COUNT=3",
                         "ORCH_MATRIX_BACKOFF_MS=200",
                         "ORCH_MATRIX_BACKOFF_MAX_MS=800"};
    int n = 0;
    pid_t pid;
    snprintf(hs, sizeof(hs), "ORCH_MATRIX_HOMESERVER=http://127.0.0.1:%d", fm_port(e->fm));
    /* a setting in extra replaces the default of the same name */
    for (int i = 0; i < 12; i++) {
        int given = 0;
        size_t klen = strcspn(x[i], "=") + 1;
        for (int j = 0; extra && extra[j]; j++)
            given |= !strncmp(extra[j], x[i], klen);
        if (!given)
            x[n++] = x[i];
    }
    for (int i = 0; extra && extra[i] && n < 23; i++)
        x[n++] = extra[i];
    x[n] = NULL;
    pid = svc_start_ready(e->nc, &e->fix, "monitor", instance, x);
    /* leading */
    for (int i = 0; lead && i < 150 && stat_of(e, instance, "leader") != 1; i++)
        usleep(100 * 1000);
    if (!e->states) {
        assert_int_equal(js_KeyValue(&e->states, e->js, "orch_requirements"), NATS_OK);
        assert_int_equal(js_KeyValue(&e->budgets, e->js, "orch_budgets"), NATS_OK);
    }
    return pid;
}

static pid_t start_monitor(env *e, const char *instance, const char *const extra[])
{
    return start_monitor_as(e, instance, extra, 1);
}

static void heartbeat_as(env *e, const char *instance, const char *id);

/* started: whether the scheduler saw the agent start (-1: as dispatched
 * work usually is, started once DISPATCHED) */
static void put_state_started(env *e, const char *id, int status, unsigned attempt, int64_t dispatched,
                              const char *instance, int complexity, int64_t created, int64_t completed, int started)
{
    pb_state st;
    pb_requirement r;
    uint8_t *buf;
    size_t len;
    orchestrator__v1__requirement_state__init(&st);
    orchestrator__v1__requirement__init(&r);
    r.id = (char *)id;
    r.title = (char *)id;
    r.type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND;
    r.priority = ORCHESTRATOR__V1__PRIORITY__PRIORITY_HIGH;
    r.complexity = (Orchestrator__V1__Complexity)complexity;
    r.created_at_ms = created;
    st.id = (char *)id;
    st.status = (Orchestrator__V1__Status)status;
    st.attempt = attempt;
    st.dispatched_at_ms = dispatched;
    st.completed_at_ms = completed;
    st.instance = (char *)instance;
    st.started = started >= 0 ? started : status == 5; /* dispatched work here was taken by an agent */
    st.requirement = &r;
    assert_int_equal(pb_pack(&st.base, &buf, &len), ORCH_OK);
    assert_int_equal(kvStore_Put(NULL, e->states, id, buf, (int)len), NATS_OK);
    free(buf);
}

static void put_state(env *e, const char *id, int status, unsigned attempt, int64_t dispatched, const char *instance,
                      int complexity, int64_t created, int64_t completed)
{
    put_state_started(e, id, status, attempt, dispatched, instance, complexity, created, completed, -1);
}

static int wait_delivered(env *e, int n, int timeout_ms)
{
    for (int w = 0; w < timeout_ms; w += 100) {
        if (fm_delivered(e->fm) >= n)
            return fm_delivered(e->fm);
        usleep(100 * 1000);
    }
    return fm_delivered(e->fm);
}

/* The i-th accepted (200, not repeated) message's body. */
static int accepted(env *e, int k, fm_request *out)
{
    int seen = 0;
    for (int i = 0; i < fm_count(e->fm); i++) {
        fm_get(e->fm, i, out);
        if (out->status == 200 && !out->scripted && !out->repeat && seen++ == k)
            return 1;
    }
    return 0;
}

static void heartbeat(env *e, const char *id)
{
    char body[200];
    snprintf(body, sizeof(body), "{\"agentType\":\"backend\",\"instance\":\"roy-1\",\"requirementId\":\"%s\"}", id);
    assert_int_equal(natsConnection_PublishString(e->nc, "agents.heartbeat.backend.roy-1", body), NATS_OK);
    natsConnection_Flush(e->nc);
}

static void stale_work_one_alert_then_one_threaded_resolution(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    fm_request first, second;
    cJSON *b, *rel;

    put_state(e, "REQ-S", 5, 1, text_now_ms(), "roy-1", 2, 0, 0);
    assert_int_equal(wait_delivered(e, 1, 10000), 1);
    assert_true(accepted(e, 0, &first));
    assert_non_null(strstr(first.body, "REQ-S"));
    assert_non_null(strstr(first.body, "stale"));
    assert_string_equal(first.room, "!ops:fake.local");
    sleep(1);
    assert_int_equal(fm_delivered(e->fm), 1); /* exactly one */
    for (int i = 0; i < 5; i++) {             /* the agent speaks again: resolved */
        heartbeat(e, "REQ-S");
        usleep(200 * 1000);
    }
    assert_int_equal(wait_delivered(e, 2, 10000), 2);
    assert_true(accepted(e, 1, &second));
    b = cJSON_Parse(second.body);
    rel = cJSON_GetObjectItem(b, "m.relates_to");
    assert_non_null(rel);
    assert_string_equal(cJSON_GetObjectItem(rel, "rel_type")->valuestring, "m.thread");
    assert_non_null(strstr(cJSON_GetObjectItem(b, "body")->valuestring, "RESOLVED"));
    cJSON_Delete(b);
    sleep(1);
    assert_int_equal(fm_delivered(e->fm), 2); /* resolved once */
    svc_stop(pid);
}

static void deep_queue_alerts_and_silence_suppresses(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    cJSON *r;
    fm_request q;

    r = svc_request_json(e->nc, "orch.monitor.silence",
                         "{\"matchers\":\"rule=queue_depth,type=frontend\",\"minutes\":10,\"comment\":\"known\"}", 2000);
    assert_non_null(r);
    assert_string_equal(cJSON_GetObjectItem(r, "id")->valuestring, "S1");
    cJSON_Delete(r);
    {   /* a rule that does not exist silences nothing: refused, not kept */
        natsMsg *reply = NULL;
        const char *code = NULL;
        assert_int_equal(natsConnection_RequestString(&reply, e->nc, "orch.monitor.silence",
                                                      "{\"matchers\":\"rule=nonexistent\",\"minutes\":10}", 2000),
                         NATS_OK);
        assert_int_equal(natsMsgHeader_Get(reply, "Nats-Service-Error-Code", &code), NATS_OK);
        assert_string_equal(code, "400");
        natsMsg_Destroy(reply);
    }
    {   /* durations are bounded: for ever, or so long it overflows, is refused */
        const char *bad[] = {"{\"matchers\":\"rule=stale\",\"minutes\":1e9}",
                             "{\"matchers\":\"rule=stale\",\"minutes\":1e180}",
                             "{\"matchers\":\"rule=stale\",\"minutes\":-5}"};
        for (int i = 0; i < 3; i++) {
            natsMsg *reply = NULL;
            const char *code = NULL;
            assert_int_equal(natsConnection_RequestString(&reply, e->nc, "orch.monitor.silence", bad[i], 2000), NATS_OK);
            assert_int_equal(natsMsgHeader_Get(reply, "Nats-Service-Error-Code", &code), NATS_OK);
            assert_string_equal(code, "400");
            assert_non_null(strstr(natsMsg_GetData(reply), "minutes must be"));
            natsMsg_Destroy(reply);
        }
    }
    for (int i = 0; i < 7; i++) {
        char subj[64];
        snprintf(subj, sizeof(subj), "requirements.frontend.F-%d", i);
        js_Publish(NULL, e->js, subj, "{}", 2, NULL, NULL);
        snprintf(subj, sizeof(subj), "requirements.backend.B-%d", i);
        js_Publish(NULL, e->js, subj, "{}", 2, NULL, NULL);
    }
    assert_int_equal(wait_delivered(e, 1, 15000), 1);
    sleep(2);
    assert_int_equal(fm_delivered(e->fm), 1);
    assert_true(accepted(e, 0, &q));
    assert_non_null(strstr(q.body, "backend queue is 7 deep"));
    assert_null(strstr(q.body, "frontend"));
    svc_stop(pid);
}

/* An agent's error is usually read after the scheduler already sent the
 * work back as the next attempt (they read different consumers): it is an
 * error all the same, and counts for the error rate. */
static void errors_of_an_attempt_that_is_over_still_count(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    char body[256];
    fm_request q;

    for (int i = 0; i < 3; i++) {
        char subj[64], id[16];
        snprintf(id, sizeof(id), "P-%d", i);
        put_state(e, id, 5, 2, text_now_ms(), "roy-1", 2, 0, 0); /* attempt 2 is out already */
        usleep(100 * 1000);
        snprintf(subj, sizeof(subj), "errors.agent.%s", id);
        snprintf(body, sizeof(body), "{\"source\":\"agent\",\"agentType\":\"backend\",\"requirementId\":\"%s\","
                                     "\"attempt\":1,\"message\":\"npm ERR! code E%d\",\"transient\":true}", id, i);
        js_Publish(NULL, e->js, subj, body, (int)strlen(body), NULL, NULL);
    }
    assert_int_equal(wait_delivered(e, 1, 15000), 1);
    assert_true(accepted(e, 0, &q));
    assert_non_null(strstr(q.body, "3 backend errors in the last 15 min"));
    svc_stop(pid);
}

static void error_rate_and_budget_alerts(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    char day[16], body[256], all[16384] = "";
    time_t t = time(NULL);
    struct tm tm;
    pb_budget u;
    uint8_t *buf;
    size_t len;

    for (int i = 0; i < 3; i++) {
        char subj[64], id[16];
        snprintf(id, sizeof(id), "R-%d", i);
        put_state(e, id, 5, 1, text_now_ms(), "roy-1", 2, 0, 0);
        usleep(100 * 1000);
        snprintf(subj, sizeof(subj), "errors.agent.%s", id);
        snprintf(body, sizeof(body), "{\"source\":\"agent\",\"agentType\":\"backend\",\"requirementId\":\"%s\","
                                     "\"message\":\"npm ERR! code E%d\",\"transient\":true}", id, i);
        js_Publish(NULL, e->js, subj, body, (int)strlen(body), NULL, NULL);
    }
    gmtime_r(&t, &tm);
    strftime(day, sizeof(day), "%Y-%m-%d", &tm);
    orchestrator__v1__budget_usage__init(&u);
    u.day = day;
    u.used = 850000;
    u.limit = 1000000;
    assert_int_equal(pb_pack(&u.base, &buf, &len), ORCH_OK);
    snprintf(body, sizeof(body), "%s.total", day);
    assert_int_equal(kvStore_Put(NULL, e->budgets, body, buf, (int)len), NATS_OK);
    free(buf);
    assert_int_equal(wait_delivered(e, 2, 15000), 2);
    for (int k = 0; k < 2; k++) {
        fm_request q;
        assert_true(accepted(e, k, &q));
        strncat(all, q.body, sizeof(all) - strlen(all) - 1);
    }
    assert_non_null(strstr(all, "3 backend errors in the last 15 min"));
    assert_non_null(strstr(all, "850000 of 1000000 daily tokens used (85%)"));
    svc_stop(pid);
}

static void matrix_down_then_rate_limited_then_up_delivers_once(void **state)
{
    env *e = *state;
    pid_t pid;
    int64_t t429 = -1, after = -1;

    fm_down(e->fm, 1);
    pid = start_monitor(e, "m1", NULL);
    put_state(e, "REQ-D", 5, 1, text_now_ms(), "roy-1", 2, 0, 0);
    sleep(4); /* attempts fail while it is down */
    assert_int_equal(fm_delivered(e->fm), 0);
    fm_script(e->fm, 429, "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"error\":\"Too many\",\"retry_after_ms\":900}", NULL, 1);
    fm_down(e->fm, 0);
    assert_int_equal(wait_delivered(e, 1, 15000), 1);
    for (int i = 0; i < fm_count(e->fm); i++) {
        fm_request q;
        fm_get(e->fm, i, &q);
        if (q.status == 429)
            t429 = q.at_ms;
        else if (t429 >= 0 && after < 0)
            after = q.at_ms;
    }
    assert_true(t429 >= 0 && after >= 0);
    print_message("next attempt %lld ms after the 429 (asked 900)\n", (long long)(after - t429));
    assert_true(after - t429 >= 850);
    sleep(1);
    assert_int_equal(fm_delivered(e->fm), 1);
    svc_stop(pid);
}


static void sigkill_with_alerts_pending_loses_none_doubles_none(void **state)
{
    env *e = *state;
    pid_t pid;

    fm_down(e->fm, 1);
    pid = start_monitor(e, "mk", NULL);
    put_state(e, "REQ-K1", 5, 1, text_now_ms(), "roy-1", 2, 0, 0);
    for (int i = 0; i < 7; i++) {
        char subj[64];
        snprintf(subj, sizeof(subj), "requirements.database.Q-%d", i);
        js_Publish(NULL, e->js, subj, "{}", 2, NULL, NULL);
    }
    for (int i = 0; i < 100 && stat_of(e, "mk", "notifications") < 2; i++)
        usleep(100 * 1000);
    assert_true(stat_of(e, "mk", "notifications") >= 2);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fm_down(e->fm, 0);
    pid = start_monitor(e, "mk2", NULL); /* the lease of mk lapses first (10 s) */
    /* what mk held comes back after the Matrix consumer's ack wait (20 s) */
    assert_int_equal(wait_delivered(e, 2, 60000), 2);
    sleep(3);
    assert_int_equal(fm_delivered(e->fm), 2);
    svc_stop(pid);
}

static void stuck_instance_is_stopped_and_work_released(void **state)
{
    env *e = *state;
    const char *x[] = {"ORCH_MONITOR_KILL_MS=2500", NULL};
    pid_t pid = start_monitor(e, "m1", x);
    natsSubscription *kill_sub = NULL, *err_sub = NULL;
    natsMsg *m = NULL;

    assert_int_equal(natsConnection_SubscribeSync(&kill_sub, e->nc, "control.kill.>"), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&err_sub, e->nc, "errors.monitor.>"), NATS_OK);
    put_state(e, "REQ-X", 5, 2, text_now_ms(), "roy-7", 2, 0, 0);
    assert_int_equal(natsSubscription_NextMsg(&m, kill_sub, 10000), NATS_OK);
    assert_string_equal(natsMsg_GetSubject(m), "control.kill.roy-7");
    natsMsg_Destroy(m);
    assert_int_equal(natsSubscription_NextMsg(&m, err_sub, 5000), NATS_OK);
    assert_string_equal(natsMsg_GetSubject(m), "errors.monitor.REQ-X");
    assert_non_null(strstr(natsMsg_GetData(m), "\"transient\":true"));
    assert_non_null(strstr(natsMsg_GetData(m), "\"attempt\":2"));
    natsMsg_Destroy(m);
    /* once per attempt */
    assert_int_equal(natsSubscription_NextMsg(&m, kill_sub, 1500), NATS_TIMEOUT);
    natsSubscription_Destroy(kill_sub);
    natsSubscription_Destroy(err_sub);
    svc_stop(pid);
}

/* Spans under a minute are said in seconds: the stale alert, the kill
 * request and the error that releases the work said "no activity for 0
 * min". */
static void spans_under_a_minute_are_said_in_seconds(void **state)
{
    env *e = *state;
    const char *x[] = {"ORCH_MONITOR_KILL_MS=2500", NULL};
    pid_t pid = start_monitor(e, "m1", x);
    natsSubscription *kill_sub = NULL, *err_sub = NULL;
    natsMsg *m = NULL;
    fm_request q;

    assert_int_equal(natsConnection_SubscribeSync(&kill_sub, e->nc, "control.kill.>"), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&err_sub, e->nc, "errors.monitor.>"), NATS_OK);
    put_state(e, "REQ-Z", 5, 1, text_now_ms(), "roy-3", 2, 0, 0);
    assert_int_equal(natsSubscription_NextMsg(&m, kill_sub, 10000), NATS_OK);
    print_message("kill: %s\n", natsMsg_GetData(m));
    assert_non_null(strstr(natsMsg_GetData(m), "no activity for 2 s"));
    natsMsg_Destroy(m);
    assert_int_equal(natsSubscription_NextMsg(&m, err_sub, 5000), NATS_OK);
    assert_non_null(strstr(natsMsg_GetData(m), "no activity for 2 s: instance roy-3 stopped"));
    natsMsg_Destroy(m);
    assert_true(wait_delivered(e, 1, 10000) >= 1);
    assert_true(accepted(e, 0, &q));
    print_message("alert: %.200s\n", q.body);
    assert_null(strstr(q.body, "0 min"));
    assert_non_null(strstr(q.body, "REQ-Z (backend) has shown no activity for "));
    assert_non_null(strstr(q.body, " s on roy-3"));
    natsSubscription_Destroy(kill_sub);
    natsSubscription_Destroy(err_sub);
    svc_stop(pid);
}

/* Work whose start and agent the scheduler never recorded (the agent's
 * first heartbeat came while no scheduler led: heartbeats are not stored)
 * still goes stale once the monitor itself heard the agent on it, and that
 * agent is stopped. Neither happened: a hung agent's work waited out the
 * agents' 30 min ack wait, or was released while the hung agent, "unknown",
 * was never stopped and never replaced. */
static void work_the_monitor_heard_started_goes_stale(void **state)
{
    env *e = *state;
    const char *x[] = {"ORCH_MONITOR_STALE_MS=1500", "ORCH_MONITOR_KILL_MS=2500", NULL};
    pid_t pid = start_monitor(e, "m1", x);
    natsSubscription *kill_sub = NULL;
    natsMsg *m = NULL;

    assert_int_equal(natsConnection_SubscribeSync(&kill_sub, e->nc, "control.kill.>"), NATS_OK);
    /* neither the start nor the instance reached the state */
    put_state_started(e, "REQ-H", 5, 1, text_now_ms() - 100, "", 2, 0, 0, 0);
    put_state_started(e, "REQ-V", 6, 1, text_now_ms() - 100, "roy-9", 2, 0, 0, 1);
    sleep(1); /* the monitor has read the states */
    heartbeat_as(e, "roy-9", "REQ-H");
    /* then a late report of its earlier work, read from the stream after
     * the heartbeat: it does not make the monitor forget who is on REQ-H */
    assert_int_equal(js_Publish(NULL, e->js, "results.backend.REQ-V",
                                "{\"requirementId\":\"REQ-V\",\"attempt\":1,\"instance\":\"roy-9\"}", 56, NULL,
                                NULL),
                     NATS_OK);
    assert_int_equal(natsSubscription_NextMsg(&m, kill_sub, 15000), NATS_OK);
    assert_string_equal(natsMsg_GetSubject(m), "control.kill.roy-9");
    natsMsg_Destroy(m);
    natsSubscription_Destroy(kill_sub);
    svc_stop(pid);
}

static void messages_past_their_delivery_limit_become_dead_letters(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    jsStreamConfig sc;
    jsConsumerConfig cc;
    natsSubscription *sub = NULL, *dl = NULL;
    natsMsgList list = {0};
    natsMsg *m = NULL;
    const char *subjects[] = {"poison.>"};
    jsSubOptions so;
    const char *reason = NULL;

    jsStreamConfig_Init(&sc);
    sc.Name = "POISON";
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    assert_int_equal(js_AddStream(NULL, e->js, &sc, NULL, NULL), NATS_OK);
    jsConsumerConfig_Init(&cc);
    cc.Durable = "picky";
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = 300 * 1000000LL;
    cc.MaxDeliver = 2;
    assert_int_equal(js_AddConsumer(NULL, e->js, "POISON", &cc, NULL, NULL), NATS_OK);
    assert_int_equal(js_Publish(NULL, e->js, "poison.one", "bad payload", 11, NULL, NULL), NATS_OK);
    jsSubOptions_Init(&so);
    so.Stream = "POISON";
    so.Consumer = "picky";
    assert_int_equal(js_PullSubscribe(&sub, e->js, "poison.>", "picky", NULL, &so, NULL), NATS_OK);
    for (int i = 0; i < 3; i++) { /* never acked */
        natsSubscription_Fetch(&list, sub, 1, 1000, NULL);
        natsMsgList_Destroy(&list);
        usleep(400 * 1000);
    }
    jsSubOptions_Init(&so);
    so.Ordered = true;
    assert_int_equal(js_SubscribeSync(&dl, e->js, "deadletter.>", NULL, &so, NULL), NATS_OK);
    assert_int_equal(natsSubscription_NextMsg(&m, dl, 10000), NATS_OK);
    assert_string_equal(natsMsg_GetSubject(m), "deadletter.POISON.picky");
    assert_string_equal(natsMsg_GetData(m), "bad payload");
    assert_int_equal(natsMsgHeader_Get(m, "Orch-Dead-Reason", &reason), NATS_OK);
    assert_non_null(strstr(reason, "delivered 2 times to POISON/picky"));
    natsMsg_Destroy(m);
    assert_int_equal(wait_delivered(e, 1, 10000), 1); /* and humans hear of it */
    natsSubscription_Destroy(sub);
    natsSubscription_Destroy(dl);
    svc_stop(pid);
}

static void publish_core(env *e, const char *subject, const char *body)
{
    assert_int_equal(natsConnection_PublishString(e->nc, subject, body), NATS_OK);
}

/* The next errors.monitor.<reason> report, skipping "stuck" ones; 1 when one came. */
static int next_refusal(natsSubscription *sub, int timeout_ms, char *subject, size_t slen, cJSON **body)
{
    natsMsg *m = NULL;
    for (int64_t end = text_mono_ms() + timeout_ms; text_mono_ms() < end;) {
        if (natsSubscription_NextMsg(&m, sub, 200) != NATS_OK)
            continue;
        *body = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
        snprintf(subject, slen, "%s", natsMsg_GetSubject(m));
        natsMsg_Destroy(m);
        if (*body && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(*body, "reason")), "stuck"))
            return 1;
        cJSON_Delete(*body);
        *body = NULL;
    }
    return 0;
}

/* The subject says who speaks and for which type: a heartbeat, result or
 * error whose body names another instance, another type, or work that was
 * not dispatched to the subject's type counts for nothing (it kept another
 * type's work looking alive) and is reported on errors.monitor.<reason>. */
static void reports_count_only_for_whom_their_subject_names(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    natsSubscription *errs = NULL;
    char subject[128];
    cJSON *b = NULL;
    fm_request q;
    natsMsg *m = NULL;
    const char *forged[] = {
        /* another instance and type in the body: the type is judged first, and named as admit.c names it */
        "agents.heartbeat.frontend.jen-1", "{\"agentType\":\"backend\",\"instance\":\"roy-9\",\"requirementId\":\"REQ-B\"}",
        "wrong_type",
        /* an honest body, but backend work */
        "agents.heartbeat.frontend.jen-1", "{\"instance\":\"jen-1\",\"requirementId\":\"REQ-B\"}", "wrong_type",
        "agents.heartbeat.backend.roy-1", "{\"instance\":\"roy-9\",\"requirementId\":\"REQ-B\"}", "instance_mismatch",
        /* work nobody dispatched (the monitor also asks the bucket) */
        "agents.heartbeat.backend.roy-1", "{\"instance\":\"roy-1\",\"requirementId\":\"REQ-NONE\"}",
        "unknown_requirement",
    };

    assert_int_equal(natsConnection_SubscribeSync(&errs, e->nc, "errors.monitor.>"), NATS_OK);
    put_state(e, "REQ-B", 5, 1, text_now_ms(), "roy-9", 2, 0, 0);
    usleep(300 * 1000);
    /* forged heartbeats every 200 ms do not keep REQ-B alive: stale after 1.5 s */
    for (int i = 0; i < 40 && fm_delivered(e->fm) == 0; i++) {
        publish_core(e, forged[0], forged[1]);
        publish_core(e, forged[3], forged[4]);
        usleep(200 * 1000);
    }
    assert_int_equal(fm_delivered(e->fm), 1);
    assert_true(accepted(e, 0, &q));
    assert_non_null(strstr(q.body, "REQ-B (backend) has shown no activity"));
    while (natsSubscription_NextMsg(&m, errs, 500) == NATS_OK)
        natsMsg_Destroy(m); /* the refusals of the forged heartbeats */
    for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i += 3) {
        publish_core(e, forged[i], forged[i + 1]);
        assert_true(next_refusal(errs, 5000, subject, sizeof(subject), &b));
        assert_string_equal(subject + strlen("errors.monitor."), forged[i + 2]);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(b, "subject")), forged[i]);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(b, "requirementId")),
                            strstr(forged[i + 1], "REQ-NONE") ? "REQ-NONE" : "REQ-B");
        assert_true(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(b, "message"))) > 10);
        cJSON_Delete(b);
    }
    /* a result and an error of the wrong type, through their streams */
    {
        const char *res = "{\"requirementId\":\"REQ-B\",\"instance\":\"jen-1\"}";
        js_Publish(NULL, e->js, "results.frontend.REQ-B", res, (int)strlen(res), NULL, NULL);
    }
    assert_true(next_refusal(errs, 5000, subject, sizeof(subject), &b));
    assert_string_equal(subject, "errors.monitor.wrong_type");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(b, "subject")), "results.frontend.REQ-B");
    cJSON_Delete(b);
    {
        const char *res = "{\"requirementId\":\"REQ-C\",\"instance\":\"roy-9\"}";
        js_Publish(NULL, e->js, "results.backend.REQ-B", res, (int)strlen(res), NULL, NULL);
    }
    assert_true(next_refusal(errs, 5000, subject, sizeof(subject), &b));
    assert_string_equal(subject, "errors.monitor.id_mismatch");
    cJSON_Delete(b);
    {
        const char *err = "{\"agentType\":\"frontend\",\"requirementId\":\"REQ-B\",\"message\":\"x\"}";
        js_Publish(NULL, e->js, "errors.agent.REQ-B", err, (int)strlen(err), NULL, NULL);
    }
    assert_true(next_refusal(errs, 5000, subject, sizeof(subject), &b));
    assert_string_equal(subject, "errors.monitor.wrong_type");
    cJSON_Delete(b);
    {
        /* an agent that calls itself the monitor */
        const char *err = "{\"source\":\"monitor\",\"requirementId\":\"REQ-B\",\"message\":\"x\"}";
        js_Publish(NULL, e->js, "errors.agent.REQ-B", err, (int)strlen(err), NULL, NULL);
    }
    assert_true(next_refusal(errs, 5000, subject, sizeof(subject), &b));
    assert_string_equal(subject, "errors.monitor.source_mismatch");
    cJSON_Delete(b);
    natsSubscription_Destroy(errs);
    svc_stop(pid);
}

static int dashboard_lists(env *e, const char *type, const char *instance)
{
    cJSON *d = svc_request_json(e->nc, "orch.dashboard", "json", 3000);
    cJSON *active = d ? cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "agents"), type), "active") : NULL;
    int found = 0;
    for (int i = 0; active && i < cJSON_GetArraySize(active); i++)
        found |= !strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(active, i)), instance);
    cJSON_Delete(d);
    return found;
}

/* 600 one-off instance names filled the 512 slots for good and hid every
 * agent after them: now the idle instance heard longest ago gives way. */
static void a_flood_of_instance_names_does_not_hide_a_real_agent(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    char subj[96], body[128];

    for (int i = 0; i < 600; i++) {
        snprintf(subj, sizeof(subj), "agents.heartbeat.frontend.one-off-%d", i);
        snprintf(body, sizeof(body), "{\"instance\":\"one-off-%d\"}", i);
        publish_core(e, subj, body);
    }
    natsConnection_Flush(e->nc);
    for (int i = 0; i < 50 && !dashboard_lists(e, "frontend", "one-off-599"); i++)
        usleep(100 * 1000);
    assert_int_equal(stat_of(e, "m1", "agents"), 512);
    put_state(e, "REQ-T", 5, 1, text_now_ms(), "roy-real", 2, 0, 0);
    usleep(300 * 1000);
    publish_core(e, "agents.heartbeat.backend.roy-real", "{\"instance\":\"roy-real\",\"requirementId\":\"REQ-T\"}");
    natsConnection_Flush(e->nc);
    for (int i = 0; i < 30 && !dashboard_lists(e, "backend", "roy-real"); i++)
        usleep(100 * 1000);
    assert_true(dashboard_lists(e, "backend", "roy-real"));
    assert_true(dashboard_lists(e, "frontend", "one-off-599"));
    assert_false(dashboard_lists(e, "frontend", "one-off-0"));
    assert_int_equal(stat_of(e, "m1", "agents"), 512);
    assert_int_equal(stat_of(e, "m1", "agents_evicted"), 89); /* 88 one-offs, then one for roy-real */
    /* said once: one agent_table notification reached Matrix */
    assert_int_equal(wait_delivered(e, 1, 5000), 1);
    sleep(1);
    assert_int_equal(fm_delivered(e->fm), 1);
    svc_stop(pid);
}

/* Work that stays VERIFYING too long is stale too (only DISPATCHED work
 * was watched): one alert naming it. */
static void verification_that_lasts_too_long_alerts(void **state)
{
    env *e = *state;
    const char *x[] = {"ORCH_MONITOR_VERIFYING_MS=2000", NULL};
    pid_t pid = start_monitor(e, "m1", x);
    fm_request q;

    put_state(e, "REQ-V", 6, 1, text_now_ms() - 600000, "roy-1", 2, 0, 0);
    assert_int_equal(wait_delivered(e, 1, 10000), 1);
    assert_true(accepted(e, 0, &q));
    assert_non_null(strstr(q.body, "REQ-V (backend) has been VERIFYING for"));
    sleep(1);
    assert_int_equal(fm_delivered(e->fm), 1);
    svc_stop(pid);
}

/* A 429 that asks for no wait at all: the monitor still waits its floor
 * (matrix.backoff_ms, 200 ms here) and more each time, instead of asking
 * again at once (it asked ~75 times a second). */
static void matrix_rate_limit_of_zero_still_waits_the_floor(void **state)
{
    env *e = *state;
    pid_t pid;
    int64_t prev = -1, shortest = -1;
    int n429 = 0;

    fm_script(e->fm, 429, "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"error\":\"Too many\",\"retry_after_ms\":0}", NULL, 5);
    pid = start_monitor(e, "m1", NULL);
    put_state(e, "REQ-Z", 5, 1, text_now_ms(), "roy-1", 2, 0, 0);
    assert_int_equal(wait_delivered(e, 1, 20000), 1);
    for (int i = 0; i < fm_count(e->fm); i++) {
        fm_request q;
        fm_get(e->fm, i, &q);
        if (prev >= 0 && (shortest < 0 || q.at_ms - prev < shortest))
            shortest = q.at_ms - prev;
        prev = q.at_ms;
        n429 += q.status == 429;
    }
    print_message("%d requests for one alert, shortest gap %lld ms (floor 200)\n", fm_count(e->fm),
                  (long long)shortest);
    assert_int_equal(n429, 5);
    assert_int_equal(fm_count(e->fm), 6);
    assert_true(shortest >= 150);
    svc_stop(pid);
}

/* A redirect to the homeserver's own origin is followed (still a PUT with
 * its body); one to another origin is not (the token would go there): the
 * alert is tried again later, never dropped. */
static void matrix_redirects_followed_at_home_refused_elsewhere(void **state)
{
    env *e = *state;
    fakematrix *other = fm_start("tok");
    char here[96], there[96];
    pid_t pid;
    fm_request q;

    assert_non_null(other);
    snprintf(here, sizeof(here), "http://127.0.0.1:%d/moved", fm_port(e->fm));
    snprintf(there, sizeof(there), "http://127.0.0.1:%d/moved", fm_port(other));
    fm_redirect(e->fm, 307, there, 2);
    fm_redirect(e->fm, 308, here, 1);
    pid = start_monitor(e, "m1", NULL);
    put_state(e, "REQ-R", 5, 1, text_now_ms(), "roy-1", 2, 0, 0);
    assert_int_equal(wait_delivered(e, 1, 20000), 1);
    assert_true(accepted(e, 0, &q));
    assert_true(q.moved);
    assert_non_null(strstr(q.body, "REQ-R"));
    assert_string_equal(q.auth, "Bearer tok");
    assert_int_equal(fm_count(other), 0); /* nothing, and no token, went elsewhere */
    sleep(1);
    assert_int_equal(fm_delivered(e->fm), 1);
    svc_stop(pid);
    fm_stop(other);
}

/* A 200 that carries no event id is not a delivery: tried again (same
 * txnId), counted once when Matrix really took it. */
static void matrix_ok_without_event_id_is_tried_again(void **state)
{
    env *e = *state;
    pid_t pid;
    fm_request first, last;

    fm_script(e->fm, 200, "<html>Welcome to nginx</html>", NULL, 1);
    fm_script(e->fm, 200, "{}", NULL, 1);
    pid = start_monitor(e, "m1", NULL);
    put_state(e, "REQ-G", 5, 1, text_now_ms(), "roy-1", 2, 0, 0);
    assert_int_equal(wait_delivered(e, 1, 20000), 1);
    assert_int_equal(fm_count(e->fm), 3);
    fm_get(e->fm, 0, &first);
    fm_get(e->fm, 2, &last);
    assert_string_equal(first.txn, last.txn);
    assert_int_equal(last.status, 200);
    for (int i = 0; i < 50 && stat_of(e, "m1", "delivered_to_matrix") < 1; i++)
        usleep(100 * 1000);
    assert_int_equal(stat_of(e, "m1", "delivered_to_matrix"), 1);
    svc_stop(pid);
}


/* A leader paused past its lease (SIGSTOP) wakes up still believing it
 * leads. It is stopped right after it sent its $SRV.PING, that is inside
 * its round, past its lease check and before its rules: the moment where,
 * on waking, it would stop the stuck agent the new leader stopped already.
 * One control.kill, from the new leader; the old one steps down. */
static void paused_leader_wakes_up_and_does_not_act(void **state)
{
    env *e = *state;
    const char *x[] = {"ORCH_MONITOR_KILL_MS=9000", NULL};
    natsSubscription *kills = NULL, *pings = NULL;
    natsMsg *m = NULL;
    pid_t a, b;
    int nkills = 0;
    long long said;

    a = start_monitor_as(e, "ma", x, 1);
    b = start_monitor_as(e, "mb", x, 0);
    assert_int_equal(stat_of(e, "mb", "leader"), 0);
    assert_int_equal(natsConnection_SubscribeSync(&kills, e->nc, "control.kill.>"), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&pings, e->nc, "$SRV.PING"), NATS_OK);
    natsConnection_Flush(e->nc);
    put_state(e, "REQ-P", 5, 1, text_now_ms(), "roy-p", 2, 0, 0);
    assert_int_equal(wait_delivered(e, 1, 5000), 1); /* "stale", from ma */
    said = stat_of(e, "ma", "notifications");
    assert_true(said >= 1);
    /* ma pings every 5 s: stopped well before the work is due (9 s) */
    while (natsSubscription_NextMsg(&m, pings, 10) == NATS_OK)
        natsMsg_Destroy(m);
    assert_int_equal(natsSubscription_NextMsg(&m, pings, 6000), NATS_OK);
    kill(a, SIGSTOP);
    natsMsg_Destroy(m);
    assert_int_equal(natsSubscription_NextMsg(&m, kills, 200), NATS_TIMEOUT); /* not yet due */
    /* the lease (10 s) lapses, mb takes over and stops roy-p once */
    assert_int_equal(natsSubscription_NextMsg(&m, kills, 30000), NATS_OK);
    assert_string_equal(natsMsg_GetSubject(m), "control.kill.roy-p");
    natsMsg_Destroy(m);
    nkills++;
    assert_int_equal(stat_of(e, "mb", "leader"), 1);
    kill(a, SIGCONT);
    while (natsSubscription_NextMsg(&m, kills, 4000) == NATS_OK) {
        print_message("kill after the old leader woke up: %.*s\n", natsMsg_GetDataLength(m), natsMsg_GetData(m));
        natsMsg_Destroy(m);
        nkills++;
    }
    assert_int_equal(nkills, 1);
    assert_int_equal(stat_of(e, "ma", "leader"), 0);
    assert_int_equal(stat_of(e, "ma", "notifications"), said); /* and announced nothing */
    assert_int_equal(stat_of(e, "mb", "leader"), 1);
    natsSubscription_Destroy(kills);
    natsSubscription_Destroy(pings);
    svc_stop(a);
    svc_stop(b);
}

static void dashboard_reflects_the_scripted_history(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    int64_t now = text_now_ms();
    cJSON *d = NULL, *metrics;
    natsMsg *reply = NULL;

    put_state(e, "H-1", 7, 1, now - 90 * 60000LL, "", 1, now - 100 * 60000LL, now - 40 * 60000LL);
    put_state(e, "H-2", 7, 2, now - 90 * 60000LL, "", 1, now - 200 * 60000LL, now - 80 * 60000LL);
    put_state(e, "H-3", 9, 3, now - 50 * 60000LL, "", 2, now - 60 * 60000LL, 0);
    put_state(e, "H-4", 5, 1, now - 10 * 60000LL, "roy-1", 2, now - 20 * 60000LL, 0);
    for (int i = 0; i < 50; i++) {
        cJSON_Delete(d);
        d = svc_request_json(e->nc, "orch.dashboard", "json", 2000);
        metrics = d ? cJSON_GetObjectItem(d, "metrics") : NULL;
        if (metrics && cJSON_GetObjectItem(metrics, "total")->valuedouble == 4)
            break;
        usleep(100 * 1000);
    }
    metrics = cJSON_GetObjectItem(d, "metrics");
    assert_int_equal((int)cJSON_GetObjectItem(metrics, "complete")->valuedouble, 2);
    assert_int_equal((int)cJSON_GetObjectItem(metrics, "escalated")->valuedouble, 1);
    assert_int_equal((int)cJSON_GetObjectItem(metrics, "inFlight")->valuedouble, 1);
    assert_true(cJSON_GetObjectItem(metrics, "firstTimeAcceptanceRate")->valuedouble == 0.5);
    assert_true(fabs(cJSON_GetObjectItem(metrics, "escalationRate")->valuedouble - 1.0 / 3.0) < 1e-9);
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(metrics, "avgMinutesToComplete"), "S")->valuedouble == 90.0);
    cJSON_Delete(d);
    assert_int_equal(natsConnection_RequestString(&reply, e->nc, "orch.dashboard", "", 2000), NATS_OK);
    assert_non_null(strstr(natsMsg_GetData(reply), "## Orchestrator - Work Distribution Status"));
    assert_non_null(strstr(natsMsg_GetData(reply), "H-4 (backend) - Assigned, In Progress (10 min elapsed)"));
    natsMsg_Destroy(reply);
    svc_stop(pid);
}


/* A requirement state with the scheduler's structured reason; review: its
 * review was asked for. */
static void put_wait_review(env *e, const char *id, int status, int wait_kind, const char *reason,
                            const char *instance, int review)
{
    pb_state st;
    pb_requirement r;
    uint8_t *buf;
    size_t len;
    orchestrator__v1__requirement_state__init(&st);
    orchestrator__v1__requirement__init(&r);
    r.id = (char *)id;
    r.title = (char *)id;
    r.type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND;
    r.priority = ORCHESTRATOR__V1__PRIORITY__PRIORITY_MEDIUM;
    st.id = (char *)id;
    st.status = (Orchestrator__V1__Status)status;
    st.attempt = 1;
    st.reason = (char *)reason;
    st.wait_kind = (Orchestrator__V1__WaitKind)wait_kind;
    st.instance = (char *)instance;
    st.dispatched_at_ms = status == 5 ? text_now_ms() : 0;
    st.completed_at_ms = status == 7 ? text_now_ms() : 0;
    st.started = status == 5;
    st.review_requested = review;
    st.requirement = &r;
    assert_int_equal(pb_pack(&st.base, &buf, &len), ORCH_OK);
    assert_int_equal(kvStore_Put(NULL, e->states, id, buf, (int)len), NATS_OK);
    free(buf);
}

static void put_wait(env *e, const char *id, int status, int wait_kind, const char *reason, const char *instance)
{
    put_wait_review(e, id, status, wait_kind, reason, instance, 0);
}

static void put_total(env *e, const char *day, uint64_t used, uint64_t limit)
{
    pb_budget u;
    uint8_t *buf;
    size_t len;
    char key[64];
    orchestrator__v1__budget_usage__init(&u);
    u.day = (char *)day;
    u.used = used;
    u.limit = limit;
    assert_int_equal(pb_pack(&u.base, &buf, &len), ORCH_OK);
    snprintf(key, sizeof(key), "%s.total", day);
    assert_int_equal(kvStore_Put(NULL, e->budgets, key, buf, (int)len), NATS_OK);
    free(buf);
}

static void day_of(time_t t, char *day, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(day, len, "%Y-%m-%d", &tm);
}

/* The dashboard as JSON once check(d) holds (or the last one after 10 s). */
static cJSON *dashboard_when(env *e, int (*check)(const cJSON *d, const void *arg), const void *arg)
{
    cJSON *d = NULL;
    for (int i = 0; i < 100; i++) {
        cJSON_Delete(d);
        d = svc_request_json(e->nc, "orch.dashboard", "json", 2000);
        if (d && check(d, arg))
            break;
        usleep(100 * 1000);
    }
    return d;
}

static double metric(const cJSON *d, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "metrics"), k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static int has_total(const cJSON *d, const void *arg)
{
    return metric(d, "total") == *(const int *)arg;
}

static char *dashboard_text(env *e)
{
    natsMsg *reply = NULL;
    char *s;
    assert_int_equal(natsConnection_RequestString(&reply, e->nc, "orch.dashboard", "", 2000), NATS_OK);
    s = strdup(natsMsg_GetData(reply));
    natsMsg_Destroy(reply);
    return s;
}

/* The pool of agent hosts on the dashboard: each host's last advert
 * (hosts.<host id>), slots used and free and agents by type; an advert
 * whose body names another host than its subject joins nothing. */
static void the_dashboard_lists_the_agent_hosts(void **state)
{
    env *e = *state;
    pid_t mon = start_monitor(e, "m1", NULL);
    const char *h1 = "{\"host\":\"h1\",\"nonce\":\"n1\",\"slots\":3,\"running\":{\"backend\":1,\"frontend\":1},"
                     "\"instances\":[\"backend-h1-n1-1\",\"frontend-h1-n1-2\"]}";
    const char *forged = "{\"host\":\"h9\",\"nonce\":\"n9\",\"slots\":900,\"instances\":[]}";
    char *text = NULL;
    cJSON *d = NULL;
    for (int i = 0; i < 50; i++) {
        natsConnection_PublishString(e->nc, "hosts.h1", h1);
        natsConnection_PublishString(e->nc, "hosts.h2", forged);
        natsConnection_Flush(e->nc);
        free(text);
        text = dashboard_text(e);
        if (strstr(text, "### Agent hosts"))
            break;
        usleep(100 * 1000);
    }
    if (!strstr(text, "- h1: 2 of 3 slots used, 1 free (backend 1, frontend 1); heard "))
        fail_msg("the dashboard does not list h1:\n%s", text);
    assert_null(strstr(text, "h9"));
    assert_null(strstr(text, "h2:"));
    {
        natsMsg *reply = NULL;
        const cJSON *h;
        assert_int_equal(natsConnection_RequestString(&reply, e->nc, "orch.dashboard", "json", 2000), NATS_OK);
        d = cJSON_Parse(natsMsg_GetData(reply));
        natsMsg_Destroy(reply);
        h = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "hosts"), 0);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "hosts")), 1);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(h, "host")), "h1");
        assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(h, "free")), 1);
        assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "agents"), "frontend")),
                         1);
    }
    cJSON_Delete(d);
    free(text);
    svc_stop(mon);
}

/* A stand-in for the scheduler's orch.scheduler.list. */
static const char *plan_reply;

static void on_list(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    (void)sub;
    (void)closure;
    if (natsMsg_GetReply(m))
        natsConnection_PublishString(nc, natsMsg_GetReply(m), plan_reply);
    natsMsg_Destroy(m);
}

/* Every accepted Matrix message's body, joined. */
static void all_bodies(env *e, char *all, size_t len)
{
    fm_request q;
    all[0] = '\0';
    for (int k = 0; accepted(e, k, &q); k++)
        strncat(all, q.body, len - strlen(all) - 1);
}

/* A count of the dashboard's metrics.<what>.<type>; -1 when absent. */
static double count_of(const cJSON *d, const char *what, const char *type)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "metrics"), what), type);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static int six_errors_five_results(const cJSON *d, const void *arg)
{
    (void)arg;
    return count_of(d, "errors", "backend") == 6 && count_of(d, "results", "backend") == 1 &&
           count_of(d, "results", "review") == 4;
}

/* Every agent error (errors.agent.<type>.<id>, as agents send them) and
 * every result, reviews included, counts for its type, and the counts are
 * the suite's, not one leadership's: a monitor that took over (a restart,
 * a replica) showed 0 errors and an error rate of 0% with a dozen in the
 * stream, and 2 of 21 review results. The error rate is the share of
 * reports that were errors. */
static void every_agent_error_and_result_counts_across_a_restart(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    int port = natsfix_free_port();
    char web[48];
    const char *webx[] = {web, NULL};
    cJSON *d;
    char *md;

    for (int i = 0; i < 6; i++) {
        char id[16], subj[64], body[300];
        snprintf(id, sizeof(id), "E-%d", i);
        put_state(e, id, 5, 1, text_now_ms(), "roy-1", 2, 0, 0);
        snprintf(subj, sizeof(subj), "errors.agent.backend.%s", id);
        snprintf(body, sizeof(body), "{\"source\":\"agent\",\"reason\":\"cli_missing\",\"agentType\":\"backend\","
                                     "\"instance\":\"roy-1\",\"requirementId\":\"%s\",\"attempt\":1,"
                                     "\"message\":\"cannot run claude\",\"transient\":false}", id);
        assert_int_equal(js_Publish(NULL, e->js, subj, body, (int)strlen(body), NULL, NULL), NATS_OK);
    }
    for (int i = 0; i < 4; i++) {
        char id[16], subj[64], body[300];
        snprintf(id, sizeof(id), "V-%d", i);
        put_wait_review(e, id, ORCHESTRATOR__V1__STATUS__STATUS_REVIEWING, 0, "", "", 1);
        snprintf(subj, sizeof(subj), "results.review.%s", id);
        snprintf(body, sizeof(body), "{\"requirementId\":\"%s\",\"instance\":\"rev-1\",\"attempt\":1,"
                                     "\"review\":\"approved\",\"summary\":\"fine\"}", id);
        assert_int_equal(js_Publish(NULL, e->js, subj, body, (int)strlen(body), NULL, NULL), NATS_OK);
    }
    put_state(e, "D-0", 5, 1, text_now_ms(), "roy-2", 2, 0, 0);
    {
        const char *body = "{\"requirementId\":\"D-0\",\"instance\":\"roy-2\",\"attempt\":1,\"summary\":\"done\"}";
        assert_int_equal(js_Publish(NULL, e->js, "results.backend.D-0", body, (int)strlen(body), NULL, NULL), NATS_OK);
    }
    d = dashboard_when(e, six_errors_five_results, NULL);
    assert_true(six_errors_five_results(d, NULL));
    cJSON_Delete(d);
    /* another monitor leads: it goes on from the same counts */
    svc_stop(pid);
    snprintf(web, sizeof(web), "ORCH_WEB_PORT=%d", port);
    pid = start_monitor(e, "m2", webx);
    d = dashboard_when(e, six_errors_five_results, NULL);
    print_message("after the restart: backend errors %.0f, backend results %.0f, review results %.0f\n",
                  count_of(d, "errors", "backend"), count_of(d, "results", "backend"),
                  count_of(d, "results", "review"));
    assert_true(six_errors_five_results(d, NULL));
    assert_true(fabs(count_of(d, "errorRate", "backend") - 6.0 / 7.0) < 1e-9);
    cJSON_Delete(d);
    md = dashboard_text(e);
    assert_non_null(strstr(md, "- Error rate (backend): 85.7% (6 errors, 1 results)"));
    assert_non_null(strstr(md, "- Error rate (review): 0.0% (0 errors, 4 results)"));
    free(md);
    /* and so does /metrics, REVIEWING work included */
    assert_true(metrics_has(port, "orch_agent_errors_total{type=\"backend\"} 6"));
    assert_true(metrics_has(port, "orch_results_total{type=\"review\"} 4"));
    assert_true(metrics_has(port, "orch_results_total{type=\"backend\"} 1"));
    assert_true(metrics_has(port, "orch_requirements{type=\"backend\",status=\"REVIEWING\"} 4"));
    svc_stop(pid);
}

static int backend_depth_is(const cJSON *d, const void *arg)
{
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "agents"), "backend"), "queueDepth");
    return cJSON_IsNumber(v) && (int)v->valuedouble == *(const int *)arg;
}

/* The depth a person cares about is what waits: with the release window
 * capping the consumer, 15 READY backend requirements showed as a queue 2
 * deep, and the queue_depth alert (10 by default) could never fire. */
static void ready_work_counts_in_the_queue_depth(void **state)
{
    env *e = *state;
    int port = natsfix_free_port(), want = 17;
    char web[48];
    const char *x[] = {"ORCH_MONITOR_QUEUE_DEPTH=10", web, NULL};
    pid_t pid = (snprintf(web, sizeof(web), "ORCH_WEB_PORT=%d", port), start_monitor(e, "m1", x));
    fm_request q;
    cJSON *d;

    for (int i = 15; i < 17; i++) { /* released, no agent took them */
        char subj[64];
        snprintf(subj, sizeof(subj), "requirements.backend.Q-%d", i);
        assert_int_equal(js_Publish(NULL, e->js, subj, "{}", 2, NULL, NULL), NATS_OK);
    }
    for (int i = 0; i < 15; i++) {
        char id[16];
        snprintf(id, sizeof(id), "Q-%d", i);
        put_wait(e, id, ORCHESTRATOR__V1__STATUS__STATUS_READY, 0, "ready: the release window is full", "");
    }
    d = dashboard_when(e, backend_depth_is, &want);
    assert_true(backend_depth_is(d, &want));
    cJSON_Delete(d);
    assert_true(metrics_has(port, "orch_queue_depth{type=\"backend\"} 17"));
    assert_int_equal(wait_delivered(e, 1, 15000), 1);
    assert_true(accepted(e, 0, &q));
    print_message("%.300s\n", q.body);
    /* raised as the READY work came in (the consumer is read every 2 s) */
    assert_non_null(strstr(q.body, "backend queue is "));
    assert_non_null(strstr(q.body, " released and not taken; over 10)"));
    svc_stop(pid);
}

/* An agent not heard past the stale threshold is not active: one killed
 * a minute ago was listed as active for the 5 minutes of
 * monitor.active_ms, when its work would have gone stale in seconds. */
static void an_agent_silent_past_the_stale_threshold_is_not_active(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL); /* stale after 1.5 s */
    int listed = 0;
    char *md;

    publish_core(e, "agents.heartbeat.backend.roy-5", "{\"agentType\":\"backend\",\"instance\":\"roy-5\"}");
    for (int i = 0; i < 50 && !listed; i++) {
        listed = dashboard_lists(e, "backend", "roy-5");
        if (!listed)
            usleep(50 * 1000);
    }
    assert_true(listed);
    sleep(3); /* killed: it says nothing more */
    assert_false(dashboard_lists(e, "backend", "roy-5"));
    md = dashboard_text(e);
    assert_non_null(strstr(md, "**Active Agents:** 0\n"));
    free(md);
    svc_stop(pid);
}

/* "Est. completion" named the scheduler's future time when everything was
 * done. */
static void est_completion_says_done_when_all_is_done(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    natsSubscription *list = NULL;
    int two = 2;
    cJSON *d;
    char *md;

    plan_reply = "{\"mode\":\"continuous\",\"roadmapEta\":\"2030-01-02T16:30:00Z\"}";
    assert_int_equal(natsConnection_Subscribe(&list, e->nc, "orch.scheduler.list", on_list, NULL), NATS_OK);
    natsConnection_Flush(e->nc);
    put_wait(e, "F-1", 7, 0, "", "roy-1");
    put_wait(e, "F-2", 7, 0, "", "roy-1");
    d = dashboard_when(e, has_total, &two);
    assert_true(has_total(d, &two));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d, "estCompletion")), "done");
    cJSON_Delete(d);
    md = dashboard_text(e);
    assert_non_null(strstr(md, "**Est. completion:** done\n"));
    free(md);
    natsSubscription_Destroy(list);
    svc_stop(pid);
}

static int three_backend_errors(const cJSON *d, const void *arg)
{
    (void)arg;
    return count_of(d, "errors", "backend") == 3;
}

/* Work sent back on the same attempt (a verifier's infrastructure error;
 * an agent whose circuit breaker opened) is READY again when its agent's
 * error is read: the error is late, not forged, and counts. It was refused
 * as not_dispatched, and the error rate never saw it. */
static void errors_of_work_sent_back_on_the_same_attempt_count(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    natsSubscription *errs = NULL;
    natsMsg *m = NULL;
    fm_request q;
    cJSON *d;

    assert_int_equal(natsConnection_SubscribeSync(&errs, e->nc, "errors.monitor.>"), NATS_OK);
    for (int i = 0; i < 3; i++) {
        char id[16], subj[64], body[300];
        snprintf(id, sizeof(id), "S-%d", i);
        put_state(e, id, ORCHESTRATOR__V1__STATUS__STATUS_READY, 1, text_now_ms() - 5000, "", 2, 0, 0);
        snprintf(subj, sizeof(subj), "errors.agent.backend.%s", id);
        snprintf(body, sizeof(body), "{\"source\":\"agent\",\"reason\":\"agent_unhealthy\",\"agentType\":\"backend\","
                                     "\"instance\":\"roy-1\",\"requirementId\":\"%s\",\"attempt\":1,"
                                     "\"message\":\"the CLI failed 3 times in a row\",\"transient\":true}", id);
        assert_int_equal(js_Publish(NULL, e->js, subj, body, (int)strlen(body), NULL, NULL), NATS_OK);
    }
    d = dashboard_when(e, three_backend_errors, NULL);
    assert_true(three_backend_errors(d, NULL));
    cJSON_Delete(d);
    assert_int_equal(wait_delivered(e, 1, 15000), 1);
    assert_true(accepted(e, 0, &q));
    assert_non_null(strstr(q.body, "3 backend errors in the last 15 min"));
    assert_int_equal(natsSubscription_NextMsg(&m, errs, 500), NATS_TIMEOUT); /* none refused */
    natsSubscription_Destroy(errs);
    svc_stop(pid);
}

/* A restarted monitor resolves nothing that still holds: the scheduler is
 * still down, the errors still in their window, the work still stale. It
 * used to resolve service_down 0.3 s after the restart and fire it again
 * when the grace had passed: three messages for one outage. */
static void a_restart_resolves_nothing_that_still_holds(void **state)
{
    env *e = *state;
    const char *x[] = {"ORCH_MONITOR_SERVICES=orch-scheduler", "ORCH_MONITOR_SERVICE_GRACE_MS=2000", NULL};
    pid_t pid = start_monitor(e, "m1", x);
    char all[16384];
    int before;

    for (int i = 0; i < 3; i++) {
        char subj[64], id[16], body[256];
        snprintf(id, sizeof(id), "R-%d", i);
        put_state(e, id, 5, 1, text_now_ms(), "roy-1", 2, 0, 0);
        usleep(100 * 1000);
        snprintf(subj, sizeof(subj), "errors.agent.%s", id);
        snprintf(body, sizeof(body), "{\"source\":\"agent\",\"agentType\":\"backend\",\"requirementId\":\"%s\","
                                     "\"message\":\"npm ERR! code E%d\",\"transient\":true}", id, i);
        js_Publish(NULL, e->js, subj, body, (int)strlen(body), NULL, NULL);
    }
    /* service_down, error_rate and the three errored items gone stale */
    assert_true(wait_delivered(e, 3, 20000) >= 3);
    sleep(2);
    before = fm_delivered(e->fm);
    all_bodies(e, all, sizeof(all));
    assert_non_null(strstr(all, "orch-scheduler has not answered"));
    assert_non_null(strstr(all, "3 backend errors"));
    svc_stop(pid);
    pid = start_monitor(e, "m2", x);
    sleep(6);
    all_bodies(e, all, sizeof(all));
    print_message("%d messages before the restart, %d after\n", before, fm_delivered(e->fm));
    {
        fm_request q;
        for (int k = before; accepted(e, k, &q); k++)
            print_message("after the restart: %.300s\n", q.body);
    }
    assert_null(strstr(all, "RESOLVED"));
    assert_int_equal(fm_delivered(e->fm), before);
    svc_stop(pid);
}

static int rates_seen(const cJSON *d, const void *arg)
{
    (void)arg;
    return metric(d, "total") == 4 && metric(d, "complete") == 3;
}

/* The blocker and conflict rates come from the scheduler's structured
 * reason (an overlap used to be read from its prose, never matched: the
 * conflict rate was always 0) and survive a restart of the monitor. */
static void blocker_and_conflict_rates_survive_a_restart(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    int four = 4;
    cJSON *d;

    put_wait(e, "B-1", 3, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_DEPENDENCY, "waiting on B-2", "");
    put_wait(e, "B-2", 4, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_OVERLAP, "held back: src/api/x.c in flight", "");
    put_wait(e, "B-3", 4, 0, "waiting on overlap with nothing", ""); /* prose only: no kind */
    put_wait(e, "B-4", 5, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_AGENT, "", "roy-1");
    d = dashboard_when(e, has_total, &four);
    cJSON_Delete(d);
    sleep(6); /* the rules' memory is saved with the ping round (5 s) */
    put_wait(e, "B-1", 7, 0, "", "");
    put_wait(e, "B-2", 7, 0, "", "");
    put_wait(e, "B-4", 7, 0, "", "");
    d = dashboard_when(e, rates_seen, NULL);
    assert_true(metric(d, "blockerRate") == 0.25);
    assert_true(metric(d, "conflictRate") == 0.25);
    cJSON_Delete(d);
    svc_stop(pid);
    pid = start_monitor(e, "m2", NULL);
    d = dashboard_when(e, rates_seen, NULL);
    print_message("after the restart: blocker rate %.2f, conflict rate %.2f\n", metric(d, "blockerRate"),
                  metric(d, "conflictRate"));
    assert_true(metric(d, "blockerRate") == 0.25);
    assert_true(metric(d, "conflictRate") == 0.25);
    cJSON_Delete(d);
    svc_stop(pid);
}

static int budget_limit_is(const cJSON *d, const void *arg)
{
    const cJSON *l = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "budget"), "limit");
    return cJSON_IsNumber(l) && l->valuedouble == *(const double *)arg;
}

/* Budgets as the scheduler has them: a type with no use yet has its limit,
 * a restarted scheduler's new total shows, and the day is the scheduler's
 * (a zone a day ahead of the monitor's is no reason to ignore it). */
static void budgets_are_the_schedulers_limits_and_day(void **state)
{
    env *e = *state;
    natsSubscription *list = NULL;
    char tomorrow[16], reply[512], *md;
    double want = 1000;
    pid_t pid = start_monitor(e, "m1", NULL);
    cJSON *d, *fe;

    day_of(time(NULL) + 24 * 3600, tomorrow, sizeof(tomorrow));
    put_total(e, tomorrow, 300, 1000); /* written by a scheduler in UTC+14 */
    d = dashboard_when(e, budget_limit_is, &want);
    assert_true(budget_limit_is(d, &want));
    cJSON_Delete(d);
    /* the scheduler restarted with a total of 5000 and a frontend limit */
    snprintf(reply, sizeof(reply),
             "{\"mode\":\"continuous\",\"budget\":{\"day\":\"%s\",\"used\":300,\"limit\":5000,"
             "\"frontend\":{\"used\":0,\"limit\":700}}}", tomorrow);
    plan_reply = reply;
    assert_int_equal(natsConnection_Subscribe(&list, e->nc, "orch.scheduler.list", on_list, NULL), NATS_OK);
    natsConnection_Flush(e->nc);
    want = 5000;
    d = dashboard_when(e, budget_limit_is, &want);
    assert_true(budget_limit_is(d, &want));
    fe = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "agents"), "frontend");
    assert_true(cJSON_GetObjectItem(fe, "tokenLimit")->valuedouble == 700);
    cJSON_Delete(d);
    md = dashboard_text(e);
    assert_non_null(strstr(md, "**Token Budget:** 4,700 / 5,000 remaining"));
    free(md);
    natsSubscription_Destroy(list);
    svc_stop(pid);
}

/* Past 100% of the day's total the budget alert turns critical and says
 * so; the fingerprint was already firing as a warning and the upgrade was
 * never announced. */
static void budget_past_the_total_turns_critical(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    char today[16], all[16384];

    day_of(time(NULL), today, sizeof(today));
    put_total(e, today, 850, 1000);
    assert_int_equal(wait_delivered(e, 1, 15000), 1);
    put_total(e, today, 1050, 1000);
    assert_int_equal(wait_delivered(e, 2, 15000), 2);
    all_bodies(e, all, sizeof(all));
    assert_non_null(strstr(all, "WARNING budget: 850 of 1000"));
    assert_non_null(strstr(all, "CRITICAL budget: 1050 of 1000 daily tokens used (105%)"));
    sleep(1);
    assert_int_equal(fm_delivered(e->fm), 2);
    svc_stop(pid);
}

/* Both reports are in: roy-1's heartbeat (it works on W-1) and roy-2's
 * error (it is alive). */
static int both_reports_in(const cJSON *d, const void *arg)
{
    const cJSON *be = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "agents"), "backend"), *x;
    int n = 0;
    (void)arg;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(be, "active"))
    {
        n += cJSON_IsString(x) && (!strcmp(x->valuestring, "roy-1") || !strcmp(x->valuestring, "roy-2"));
    }
    return metric(d, "total") == 3 && n == 2;
}

static int nothing_in_flight(const cJSON *d, const void *arg)
{
    (void)arg;
    return metric(d, "inFlight") == 0;
}

/* The dashboard shows as work only what is in flight: not work that
 * completed, not the id an error names, and not an agent the monitor
 * stopped. It shows conservation mode, the turn length, the estimated
 * completion, the next task, the next turn and the critical path. */
static void dashboard_tells_what_is_going_on(void **state)
{
    env *e = *state;
    const char *x[] = {"ORCH_MONITOR_KILL_MS=2500", NULL};
    pid_t pid = start_monitor(e, "m1", x);
    natsSubscription *list = NULL;
    cJSON *d, *be, *on, *act;
    char *md;

    plan_reply = "{\"mode\":\"turns\",\"turnMinutes\":15,\"conservation\":true,\"criticalPath\":[\"W-1\",\"W-3\"],"
                 "\"criticalPathEnd\":\"2030-01-01T10:00:00Z\",\"roadmapEta\":\"2030-01-02T16:30:00Z\"}";
    assert_int_equal(natsConnection_Subscribe(&list, e->nc, "orch.scheduler.list", on_list, NULL), NATS_OK);
    natsConnection_Flush(e->nc);
    put_wait(e, "W-1", 5, 0, "", "roy-1");
    put_wait(e, "W-2", 5, 0, "", "roy-2");
    put_wait(e, "W-3", 4, 0, "ready", "");
    usleep(300 * 1000);
    publish_core(e, "agents.heartbeat.backend.roy-1", "{\"agentType\":\"backend\",\"instance\":\"roy-1\","
                                                      "\"requirementId\":\"W-1\"}");
    /* roy-2 fails on W-2: alive, but not working on it */
    publish_core(e, "errors.agent.W-2", "{\"source\":\"agent\",\"agentType\":\"backend\",\"instance\":\"roy-2\","
                                        "\"requirementId\":\"W-2\",\"message\":\"tests fail\",\"transient\":true}");
    d = dashboard_when(e, both_reports_in, NULL);
    assert_true(both_reports_in(d, NULL));
    assert_true(metric(d, "agentUtilisation") == 0.5); /* roy-1 works, roy-2 is idle */
    be = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "agents"), "backend");
    on = cJSON_GetObjectItem(be, "workingOn");
    assert_int_equal(cJSON_GetArraySize(on), 1);
    assert_string_equal(cJSON_GetArrayItem(on, 0)->valuestring, "W-1");
    cJSON_Delete(d);
    md = dashboard_text(e);
    assert_non_null(strstr(md, "Turn-Based (15-min cycles)"));
    assert_null(strstr(md, "30-min"));
    assert_non_null(strstr(md, "conservation mode"));
    assert_non_null(strstr(md, "**Est. completion:** 2030-01-02T16:30:00Z")); /* the forecast, not the path's end */
    assert_non_null(strstr(md, "**Next task:** W-3 (backend)"));
    assert_non_null(strstr(md, "**Next Review:** "));
    assert_non_null(strstr(md, "**Critical path:** W-1 -> W-3"));
    free(md);
    /* W-1 completes: roy-1 is idle, not ACTIVE on it */
    put_wait(e, "W-1", 7, 0, "", "roy-1");
    put_wait(e, "W-2", 7, 0, "", "roy-2");
    d = dashboard_when(e, nothing_in_flight, NULL);
    cJSON_Delete(d);
    md = dashboard_text(e);
    assert_null(strstr(md, "ACTIVE (working on"));
    free(md);
    /* roy-7 goes silent on W-7 and is stopped: no longer an active agent */
    put_wait(e, "W-7", 5, 0, "", "roy-7");
    usleep(300 * 1000);
    publish_core(e, "agents.heartbeat.backend.roy-7", "{\"agentType\":\"backend\",\"instance\":\"roy-7\","
                                                      "\"requirementId\":\"W-7\"}");
    sleep(5); /* stale at 1.5 s, stopped at 2.5 s */
    d = svc_request_json(e->nc, "orch.dashboard", "json", 2000);
    act = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "agents"), "backend"), "active");
    for (int i = 0; i < cJSON_GetArraySize(act); i++)
        assert_string_not_equal(cJSON_GetArrayItem(act, i)->valuestring, "roy-7");
    cJSON_Delete(d);
    natsSubscription_Destroy(list);
    svc_stop(pid);
}

/* Two escalations of one requirement (two alert messages, one
 * fingerprint) are two Matrix messages: the transaction id follows the
 * message id, not the fingerprint. */
/* The scheduler's escalation of REQ-E, as it publishes it (msg_id: its
 * Nats-Msg-Id). */
static void publish_escalation(env *e, const char *msg_id)
{
    jsPubOptions po;
    pb_alert a;
    uint8_t *buf;
    size_t len;

    orchestrator__v1__alert__init(&a);
    a.fingerprint = "scheduler:escalation:REQ-E";
    a.rule = "escalation";
    a.state = ORCHESTRATOR__V1__ALERT_STATE__ALERT_STATE_FIRING;
    a.severity = ORCHESTRATOR__V1__SEVERITY__SEVERITY_CRITICAL;
    a.summary = "REQ-E escalated";
    a.text = "REQ-E escalated after 3 attempts";
    assert_int_equal(pb_pack(&a.base, &buf, &len), ORCH_OK);
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    assert_int_equal(js_Publish(NULL, e->js, "alerts.critical.escalation", buf, (int)len, &po, NULL), NATS_OK);
    free(buf);
}

static void a_second_escalation_is_a_second_message(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);

    publish_escalation(e, "scheduler:escalation:REQ-E:a3");
    assert_int_equal(wait_delivered(e, 1, 10000), 1);
    publish_escalation(e, "scheduler:escalation:REQ-E:a6"); /* retried by a person, escalated again */
    assert_int_equal(wait_delivered(e, 2, 10000), 2);
    svc_stop(pid);
}

/* What the Matrix consumer has delivered to any reader so far; -1 on error. */
static long long matrix_consumer_delivered(env *e, long long *pending)
{
    jsConsumerInfo *ci = NULL;
    long long n;
    if (js_GetConsumerInfo(&ci, e->js, "ALERTS", "monitor-matrix", NULL, NULL) != NATS_OK)
        return -1;
    n = (long long)ci->Delivered.Stream;
    *pending = (long long)ci->NumPending;
    jsConsumerInfo_Destroy(ci);
    return n;
}

/* A replica without Matrix settings leading: it does not read the Matrix
 * consumer at all, so the escalation waits there for a monitor that has
 * Matrix and reaches the room. It used to ack every alert unsent, and the
 * escalations a replica without the settings took never reached Matrix. */
static void a_monitor_without_matrix_leaves_alerts_to_one_with_it(void **state)
{
    env *e = *state;
    const char *none[] = {"ORCH_MATRIX_HOMESERVER=", "ORCH_MATRIX_ROOM=", "ORCH_MATRIX_TOKEN=", NULL};
    pid_t pid = start_monitor(e, "bare", none);
    long long delivered, pending = 0;
    fm_request q;

    publish_escalation(e, "scheduler:escalation:REQ-E:a3");
    sleep(3);
    delivered = matrix_consumer_delivered(e, &pending);
    print_message("without Matrix: delivered %lld, pending %lld\n", delivered, pending);
    assert_int_equal(delivered, 0);
    assert_true(pending >= 1);
    svc_stop(pid);
    pid = start_monitor(e, "with-matrix", NULL);
    assert_int_equal(wait_delivered(e, 1, 10000), 1);
    assert_true(accepted(e, 0, &q));
    assert_non_null(strstr(q.body, "REQ-E escalated"));
    svc_stop(pid);
}

/* A plain put on the monitor's lease while it leads: the monitor raises
 * leader_contested (on the stream, so in Matrix), takes the lease back and
 * goes on leading. */
static void a_forged_lease_is_alerted_and_taken_back(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    kvStore *kv = NULL;
    kvEntry *en = NULL;
    fm_request r;
    int found = 0;

    assert_int_equal(js_KeyValue(&kv, e->js, "orch_leader"), NATS_OK);
    assert_int_equal(kvStore_PutString(NULL, kv, "monitor", "forger"), NATS_OK);
    wait_delivered(e, 1, 10000);
    for (int k = 0; accepted(e, k, &r); k++)
        found |= strstr(r.body, "monitor lease contested: overwritten with 'forger' while m1 held it") != NULL;
    if (!found && accepted(e, 0, &r))
        print_message("delivered: %s\n", r.body);
    assert_true(found);
    for (int i = 0; i < 50; i++) {
        int back;
        assert_int_equal(kvStore_Get(&en, kv, "monitor"), NATS_OK);
        back = !strcmp(kvEntry_ValueString(en), "m1");
        kvEntry_Destroy(en);
        if (back)
            break;
        usleep(100 * 1000);
    }
    assert_int_equal(kvStore_Get(&en, kv, "monitor"), NATS_OK);
    assert_string_equal(kvEntry_ValueString(en), "m1");
    kvEntry_Destroy(en);
    assert_int_equal(stat_of(e, "m1", "leader"), 1);
    kvStore_Destroy(kv);
    svc_stop(pid);
}

/* Empty ORCH_MATRIX_* (compose passes them so by default) are no Matrix:
 * alerts go to the stream and the log and are acked, not retried forever
 * against a "bad URL". */
static void empty_matrix_settings_are_no_matrix(void **state)
{
    env *e = *state;
    const char *x[] = {"ORCH_MATRIX_HOMESERVER=", "ORCH_MATRIX_ROOM=", "ORCH_MATRIX_TOKEN=", NULL};
    pid_t pid = start_monitor(e, "m1", x);
    long long pending = 0;

    js_Publish(NULL, e->js, "alerts.warning.test", "", 0, NULL, NULL);
    put_state(e, "REQ-M", 5, 1, text_now_ms(), "roy-1", 2, 0, 0); /* goes stale: an alert of its own */
    sleep(4);
    /* never tried against "bad URL": the Matrix consumer is not even read,
     * and keeps both alerts for a monitor that has Matrix */
    assert_int_equal(matrix_consumer_delivered(e, &pending), 0);
    assert_true(pending >= 2);
    assert_int_equal(fm_count(e->fm), 0);
    svc_stop(pid);
}


static void heartbeat_as(env *e, const char *instance, const char *id)
{
    char subj[96], body[200];
    snprintf(subj, sizeof(subj), "agents.heartbeat.backend.%s", instance);
    snprintf(body, sizeof(body), "{\"agentType\":\"backend\",\"instance\":\"%s\",\"requirementId\":\"%s\"}", instance,
             id);
    assert_int_equal(natsConnection_PublishString(e->nc, subj, body), NATS_OK);
    natsConnection_Flush(e->nc);
}

/* A restarted monitor does not stop an agent that was working all along:
 * the last activity on work in flight is part of what it restores (it
 * counted from the dispatch and stopped a long-running agent at once). */
static void a_restart_does_not_stop_a_working_agent(void **state)
{
    env *e = *state;
    const char *x[] = {"ORCH_MONITOR_STALE_MS=4000", "ORCH_MONITOR_KILL_MS=6000", NULL};
    pid_t pid = start_monitor(e, "m1", x);
    natsSubscription *kills = NULL;
    natsMsg *m = NULL;

    assert_int_equal(natsConnection_SubscribeSync(&kills, e->nc, "control.kill.>"), NATS_OK);
    put_state(e, "REQ-L", 5, 1, text_now_ms(), "roy-L", 2, 0, 0);
    for (int i = 0; i < 5; i++) {
        heartbeat_as(e, "roy-L", "REQ-L");
        usleep(200 * 1000);
    }
    /* dispatched an hour ago: only its activity says it is alive */
    put_state(e, "REQ-L", 5, 1, text_now_ms() - 3600 * 1000LL, "roy-L", 2, 0, 0);
    for (int i = 0; i < 10; i++) {
        heartbeat_as(e, "roy-L", "REQ-L");
        usleep(200 * 1000);
    }
    svc_stop(pid);
    pid = start_monitor(e, "m2", x);
    /* an agent says it lives every so often, not at once for a new monitor */
    sleep(2);
    for (int i = 0; i < 10; i++) {
        heartbeat_as(e, "roy-L", "REQ-L");
        usleep(200 * 1000);
    }
    assert_int_equal(natsSubscription_NextMsg(&m, kills, 100), NATS_TIMEOUT);
    /* silent now: stopped after all, so the test can see a stop */
    assert_int_equal(natsSubscription_NextMsg(&m, kills, 15000), NATS_OK);
    assert_string_equal(natsMsg_GetSubject(m), "control.kill.roy-L");
    natsMsg_Destroy(m);
    natsSubscription_Destroy(kills);
    svc_stop(pid);
}


/* The dashboard's text once it counts total requirements (free it). */
static char *dashboard_text_at(env *e, int total)
{
    cJSON *d = dashboard_when(e, has_total, &total);
    assert_true(has_total(d, &total));
    cJSON_Delete(d);
    return dashboard_text(e);
}

static void put_blocked_as(env *e, const char *id, char **wait, size_t n, const char *reason, int alias, int kind);

/* A BLOCKED backend requirement waiting on the dependencies wait (n of
 * them); alias: one split into parts, which stands for them. */
static void put_blocked(env *e, const char *id, char **wait, size_t n, const char *reason, int alias)
{
    put_blocked_as(e, id, wait, n, reason, alias, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_DEPENDENCY);
}

/* The same with the wait kind given. */
static void put_blocked_as(env *e, const char *id, char **wait, size_t n, const char *reason, int alias, int kind)
{
    pb_state st;
    pb_requirement r;
    uint8_t *buf;
    size_t len;
    orchestrator__v1__requirement_state__init(&st);
    orchestrator__v1__requirement__init(&r);
    r.id = r.title = (char *)id;
    r.type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND;
    r.priority = ORCHESTRATOR__V1__PRIORITY__PRIORITY_HIGH;
    st.id = (char *)id;
    st.status = ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED;
    st.alias = alias;
    st.wait_kind = (Orchestrator__V1__WaitKind)kind;
    st.reason = (char *)reason;
    st.wait_ids = wait;
    st.n_wait_ids = n;
    st.requirement = &r;
    assert_int_equal(pb_pack(&st.base, &buf, &len), ORCH_OK);
    assert_int_equal(kvStore_Put(NULL, e->states, id, buf, (int)len), NATS_OK);
    free(buf);
}

/* The Blockers section lists work waiting on a requirement nobody knows,
 * from the structured reason (wait_kind DEPENDENCY, wait_ids); it used to
 * look for "(unknown)" in the scheduler's prose. */
static void blockers_come_from_the_structured_reason(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    char *ghost[] = {"GHOST-1"}, *known[] = {"K-2"}, *md;
    const char *ids[] = {"K-1", "K-2"};

    for (int i = 0; i < 2; i++)
        put_blocked(e, ids[i], i ? ghost : known, 1, i ? "waiting on GHOST-1" : "waiting on K-2", 0);
    md = dashboard_text_at(e, 2);
    assert_non_null(strstr(md, "### Blockers\n\n- K-2: waiting on GHOST-1\n"));
    assert_null(strstr(md, "- K-1: waiting on K-2"));
    free(md);
    svc_stop(pid);
}

/* Work behind a dead end (the scheduler's wait kind: behind work that
 * will not finish) is a blocker, listed with the reason naming its root. */
static void a_dead_end_is_a_blocker(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    char *root[] = {"DE-A"}, *md;

    put_blocked(e, "DE-B", root, 1, "dependency: waiting on DE-A", 0);
    put_blocked_as(e, "DE-C", root, 1, "dead end: waiting on DE-B, behind DE-A (escalated: orchctl retry DE-A)", 0,
                   ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_DEAD_END);
    md = dashboard_text_at(e, 2);
    assert_non_null(strstr(md, "- DE-C: dead end: waiting on DE-B, behind DE-A (escalated: orchctl retry DE-A)\n"));
    free(md);
    svc_stop(pid);
}

/* A requirement split into parts stands for them (an alias): waiting on
 * it is a normal wait, not a blocker. The monitor does not keep aliases'
 * states, and listed the wait under Blockers as one on a requirement
 * nobody knows. */
static void a_wait_on_a_split_requirement_is_no_blocker(void **state)
{
    env *e = *state;
    pid_t pid = start_monitor(e, "m1", NULL);
    char *parent[] = {"S-1"}, *md;

    put_blocked(e, "S-1", NULL, 0, "waiting on its parts", 1);
    put_blocked(e, "K-3", parent, 1, "waiting on S-1", 0);
    md = dashboard_text_at(e, 1);
    assert_non_null(strstr(md, "### Blockers\n\n- None\n"));
    free(md);
    svc_stop(pid);
}

static int one_dispatched(const cJSON *d, const void *arg)
{
    (void)arg;
    return metric(d, "inFlight") == 1;
}

/* Work released to a type that no agent took is not "In Progress": it
 * waits. It was listed "Assigned, In Progress" from its dispatch on. */
static void work_no_agent_took_is_not_in_progress(void **state)
{
    env *e = *state;
    const char *x[] = {"ORCH_MONITOR_STALE_MS=600000", NULL};
    pid_t pid = start_monitor(e, "m1", x);
    cJSON *d;
    char *md;

    put_state_started(e, "T-1", 5, 1, text_now_ms(), "", 2, 0, 0, 0);
    d = dashboard_when(e, one_dispatched, NULL);
    cJSON_Delete(d);
    md = dashboard_text(e);
    assert_non_null(strstr(md, "- T-1 (backend) - Released, no agent took it yet ("));
    assert_null(strstr(md, "T-1 (backend) - Assigned, In Progress"));
    free(md);
    heartbeat(e, "T-1"); /* roy-1 took it */
    for (int i = 0; i < 50; i++) {
        md = dashboard_text(e);
        if (strstr(md, "T-1 (backend) - Assigned, In Progress"))
            break;
        free(md);
        md = NULL;
        usleep(100 * 1000);
    }
    assert_non_null(md);
    free(md);
    svc_stop(pid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(stale_work_one_alert_then_one_threaded_resolution, setup, teardown),
        cmocka_unit_test_setup_teardown(a_forged_lease_is_alerted_and_taken_back, setup, teardown),
        cmocka_unit_test_setup_teardown(the_dashboard_lists_the_agent_hosts, setup, teardown),
        cmocka_unit_test_setup_teardown(deep_queue_alerts_and_silence_suppresses, setup, teardown),
        cmocka_unit_test_setup_teardown(error_rate_and_budget_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_of_an_attempt_that_is_over_still_count, setup, teardown),
        cmocka_unit_test_setup_teardown(matrix_down_then_rate_limited_then_up_delivers_once, setup, teardown),
        cmocka_unit_test_setup_teardown(sigkill_with_alerts_pending_loses_none_doubles_none, setup, teardown),
        cmocka_unit_test_setup_teardown(stuck_instance_is_stopped_and_work_released, setup, teardown),
        cmocka_unit_test_setup_teardown(work_the_monitor_heard_started_goes_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(messages_past_their_delivery_limit_become_dead_letters, setup, teardown),
        cmocka_unit_test_setup_teardown(dashboard_reflects_the_scripted_history, setup, teardown),
        cmocka_unit_test_setup_teardown(matrix_rate_limit_of_zero_still_waits_the_floor, setup, teardown),
        cmocka_unit_test_setup_teardown(matrix_redirects_followed_at_home_refused_elsewhere, setup, teardown),
        cmocka_unit_test_setup_teardown(matrix_ok_without_event_id_is_tried_again, setup, teardown),
        cmocka_unit_test_setup_teardown(paused_leader_wakes_up_and_does_not_act, setup, teardown),
        cmocka_unit_test_setup_teardown(verification_that_lasts_too_long_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(reports_count_only_for_whom_their_subject_names, setup, teardown),
        cmocka_unit_test_setup_teardown(a_flood_of_instance_names_does_not_hide_a_real_agent, setup, teardown),
        cmocka_unit_test_setup_teardown(a_restart_resolves_nothing_that_still_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(blocker_and_conflict_rates_survive_a_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(budgets_are_the_schedulers_limits_and_day, setup, teardown),
        cmocka_unit_test_setup_teardown(budget_past_the_total_turns_critical, setup, teardown),
        cmocka_unit_test_setup_teardown(dashboard_tells_what_is_going_on, setup, teardown),
        cmocka_unit_test_setup_teardown(a_second_escalation_is_a_second_message, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_matrix_settings_are_no_matrix, setup, teardown),
        cmocka_unit_test_setup_teardown(a_restart_does_not_stop_a_working_agent, setup, teardown),
        cmocka_unit_test_setup_teardown(blockers_come_from_the_structured_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(every_agent_error_and_result_counts_across_a_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(ready_work_counts_in_the_queue_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(a_monitor_without_matrix_leaves_alerts_to_one_with_it, setup, teardown),
        cmocka_unit_test_setup_teardown(spans_under_a_minute_are_said_in_seconds, setup, teardown),
        cmocka_unit_test_setup_teardown(an_agent_silent_past_the_stale_threshold_is_not_active, setup, teardown),
        cmocka_unit_test_setup_teardown(est_completion_says_done_when_all_is_done, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_of_work_sent_back_on_the_same_attempt_count, setup, teardown),
        cmocka_unit_test_setup_teardown(a_dead_end_is_a_blocker, setup, teardown),
        cmocka_unit_test_setup_teardown(a_wait_on_a_split_requirement_is_no_blocker, setup, teardown),
        cmocka_unit_test_setup_teardown(work_no_agent_took_is_not_in_progress, setup, teardown),
    };
    int rc;
    /* ORCH_TEST_FILTER=name runs one case: tests/support/casefilter.c */
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    nats_Close();
    return rc;
}
