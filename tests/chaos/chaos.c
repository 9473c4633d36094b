/* The chaos run: the whole suite with simulated agents on a real
 * nats-server, requirements with dependencies flowing through, while a
 * random service is killed with SIGKILL every few seconds (the scheduler
 * leader among them, a standby running) and restarted, and nats-server
 * itself is killed and restarted mid-run (with --cluster: one node of a
 * three-node cluster with R3 streams and buckets), and the scheduler and
 * monitor leaders are paused (SIGSTOP) past their lease and resumed
 * (SIGCONT) while a standby has taken over. At the end the checker
 * (checker.h) puts every submitted requirement in one class from the
 * streams and the scheduler's stored state, and the token ledger is
 * compared with what the agents reported; the services' logs say who
 * dispatched, killed or alerted when, and the checker judges each such act
 * against the lease changes watched in KV. All through the run a forger
 * (forger.h) publishes forged verdicts, states, leases, kills and claims;
 * the run must still lose and double nothing, and complete nothing without
 * its own verified result. Bounded: it stops by itself at --timeout-s, and
 * every process it started goes with it.
 *
 *   chaos                 the CI variant (300 requirements)
 *   chaos --long          2,000 requirements
 *   chaos --cluster       three nats-servers, R3; a node killed mid-run
 *   chaos --help          every option
 *
 * The last lines are the figures; the exit status is 0 only when nothing
 * was lost, duplicated or left unfinished and the ledger matches. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <nats/nats.h>

#include "checker.h"
#include "forger.h"
#include "history.h"
#include "names.h"
#include "natsfix.h"
#include "pb.h"
#include "proc.h"
#include "svcfix.h"
#include "topology.h"

typedef struct {
    long requirements;
    int kill_ms;            /* mean time between kills */
    int server_restarts;
    int timeout_s;
    int cluster;            /* nodes: 1, or 3 */
    int pauses;             /* leaders paused, the scheduler's and the monitor's in turn */
    int pause_ms;
    int forge;              /* the forger runs */
    int release_agents;     /* approved work merged by release agents, not the merge train */
    unsigned seed;
} options;

typedef struct {
    const char *name, *instance;
    pid_t pid;
    int kills, pauses;
    int paused;            /* SIGSTOPped now */
} service;

static service services[] = {
    {"router", "router-1", 0, 0, 0, 0},       {"router", "router-2", 0, 0, 0, 0},
    {"scheduler", "scheduler-1", 0, 0, 0, 0}, {"scheduler", "scheduler-2", 0, 0, 0, 0},
    {"verifier", "verifier-1", 0, 0, 0, 0},   {"verifier", "verifier-2", 0, 0, 0, 0},
    {"monitor", "monitor-1", 0, 0, 0, 0},     {"monitor", "monitor-2", 0, 0, 0, 0},
};

/* The leases a pause is aimed at: each is a key in KV orch_leader, held by
 * one instance of the service of the same name. */
static const char *const lease_keys[] = {"scheduler", "monitor"};
#define N_LEASES 2
#define N_SERVICES ((int)(sizeof(services) / sizeof(services[0])))

static const char *const agent_types[] = {"backend", "frontend", "database", "documentation", "review", "release"};
#define N_AGENTS 6
static pid_t agents[N_AGENTS];

/* The server, or the cluster's nodes; fix is what the services are given:
 * the first node's directory (logs) and every node's URL. */
#define MAX_NODES 3
static natsfix nodes[MAX_NODES];
static int n_nodes = 1;
static natsfix fix;
static char dir[300], projects_env[400], work_env[400], replicas_env[64] = "ORCH_JETSTREAM_REPLICAS=1";
static char merge_env[64] = "ORCH_SCHEDULER_MERGE_TRAIN=true";
static const char *service_env[] = {
    projects_env, work_env, replicas_env, merge_env,
    "ORCH_SCHEDULER_WINDOW=20", "ORCH_SCHEDULER_BACKOFF_BASE_MS=500", "ORCH_SCHEDULER_BACKOFF_MAX_MS=2000",
    "ORCH_BUDGET_TOTAL=1000000000000", "ORCH_BUDGET_BACKEND=1000000000000", "ORCH_BUDGET_FRONTEND=1000000000000",
    "ORCH_BUDGET_DATABASE=1000000000000", "ORCH_BUDGET_DOCUMENTATION=1000000000000",
    "ORCH_BUDGET_REVIEW=1000000000000", "ORCH_BUDGET_RELEASE=1000000000000",
    "ORCH_SCHEDULER_SPAWN_DEPTH=100000", "ORCH_LOG_LEVEL=info", NULL};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run(const char *const argv[], const char *cwd)
{
    int st = 0;
    pid_t p = proc_spawn(argv, NULL, cwd, "setup.log");
    if (p <= 0 || proc_wait(p, 30000, &st) != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "chaos: setup step '%s %s' failed (see %s/setup.log)\n", argv[0], argv[1], cwd);
        return -1;
    }
    return 0;
}

/* A git repository the agents push to, and a project whose one step runs
 * in the verifier's clone. */
static int make_project(void)
{
    char repo[400], path[420];
    FILE *f;
    snprintf(repo, sizeof(repo), "%s/repo", dir);
    mkdir(repo, 0755);
    snprintf(path, sizeof(path), "%s/README.md", repo);
    if (!(f = fopen(path, "w")))
        return -1;
    fputs("# chaos project\n", f);
    fclose(f);
    {
        const char *init[] = {"git", "init", "-q", "-b", "main", repo, NULL};
        const char *add[] = {"git", "-C", repo, "add", "-A", NULL};
        const char *ci[] = {"git", "-C", repo, "-c", "user.email=chaos@orchestrator.local", "-c", "user.name=chaos",
                            "commit", "-q", "-m", "chaos project", NULL};
        /* the release agents push their merges to main, which is checked out */
        const char *push_ok[] = {"git", "-C", repo, "config", "receive.denyCurrentBranch", "updateInstead", NULL};
        if (run(init, dir) || run(add, dir) || run(ci, dir) || run(push_ok, dir))
            return -1;
    }
    snprintf(path, sizeof(path), "%s/projects.json", dir);
    if (!(f = fopen(path, "w")))
        return -1;
    fprintf(f, "{\"projects\": {\"demo\": {\"repo\": \"%s\", \"base\": \"main\", \"steps\": ["
               "{\"name\": \"check\", \"command\": [\"test\", \"-f\", \"README.md\"], \"timeout_s\": 60}]}}}\n",
            repo);
    fclose(f);
    snprintf(projects_env, sizeof(projects_env), "ORCH_VERIFIER_PROJECTS_FILE=%s", path);
    snprintf(work_env, sizeof(work_env), "ORCH_VERIFIER_WORK_ROOT=%s/work", dir);
    return 0;
}

/* One server, or a cluster of n. */
static int start_servers(int n)
{
    n_nodes = n;
    if ((n == 1 ? natsfix_start(&nodes[0], NULL) : natsfix_start_cluster(nodes, n)) != 0)
        return -1;
    fix = nodes[0];
    fix.url[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t len = strlen(fix.url);
        snprintf(fix.url + len, sizeof(fix.url) - len, "%s%s", i ? "," : "", nodes[i].url);
    }
    snprintf(replicas_env, sizeof(replicas_env), "ORCH_JETSTREAM_REPLICAS=%d", n);
    return 0;
}

static pid_t start_agent(int i)
{
    char bin[300], repo[400], workdir[400], inst[64], log[96], url[96];
    const char *argv[] = {proc_bin("agent-sim", bin, sizeof(bin)), "--type", agent_types[i], "--instance", inst,
                          "--repo", repo, "--workdir", workdir, "--work-ms", "0", "--heartbeat-ms", "20", NULL};
    const char *env[] = {url, NULL};
    snprintf(repo, sizeof(repo), "%s/repo", dir);
    snprintf(workdir, sizeof(workdir), "%s/agents", dir);
    mkdir(workdir, 0755);
    snprintf(inst, sizeof(inst), "%s-1", agent_types[i]);
    snprintf(log, sizeof(log), "agent-%s.log", agent_types[i]);
    snprintf(url, sizeof(url), "ORCH_NATS_URL=%s", fix.url);
    return proc_spawn(argv, env, dir, log);
}

static natsConnection *connect_test(void)
{
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    const char *servers[MAX_NODES];
    natsOptions_Create(&o);
    for (int i = 0; i < n_nodes; i++)
        servers[i] = nodes[i].url;
    natsOptions_SetServers(o, servers, n_nodes);
    natsOptions_SetMaxReconnect(o, -1);
    natsOptions_SetReconnectWait(o, 250);
    natsOptions_SetRetryOnFailedConnect(o, false, NULL, NULL);
    if (natsConnection_Connect(&nc, o) != NATS_OK)
        nc = NULL;
    natsOptions_Destroy(o);
    return nc;
}

/* --- submitting -------------------------------------------------------------------- */

#define SUBMIT_BATCH 50

/* Publishes requirements [from, to) as one JSON array, with a message id
 * of its own, until JetStream stores it (a server outage only delays it:
 * the same id makes a resend a no-op). Returns 0 when stored. */
static int submit_batch(jsCtx *js, checker *ck, long from, long to, double deadline)
{
    cJSON *arr = cJSON_CreateArray();
    char msg_id[64], *body;
    jsPubOptions po;
    int rc = -1;
    for (long i = from; i < to; i++) {
        cJSON *o = cJSON_CreateObject(), *deps = cJSON_AddArrayToObject(o, "dependencies");
        char id[32], title[64];
        snprintf(id, sizeof(id), "CH-%ld", i + 1);
        snprintf(title, sizeof(title), "Chaos requirement %ld", i + 1);
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "title", title);
        cJSON_AddStringToObject(o, "assignedAgent", agent_types[i % 4]);
        cJSON_AddNumberToObject(o, "estimatedTokens", 400);
        if (i >= 2) { /* about two earlier ones each, as bench/day.sh */
            long a = (i * 7) % i + 1, b = (i * 13) % i + 1;
            snprintf(id, sizeof(id), "CH-%ld", a);
            cJSON_AddItemToArray(deps, cJSON_CreateString(id));
            if (b != a) {
                snprintf(id, sizeof(id), "CH-%ld", b);
                cJSON_AddItemToArray(deps, cJSON_CreateString(id));
            }
        }
        cJSON_AddItemToArray(arr, o);
    }
    body = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    snprintf(msg_id, sizeof(msg_id), "chaos-submit-%ld", from);
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    po.MaxWait = 2000;
    while (now_s() < deadline) {
        if (js_Publish(NULL, js, "intake.requirements", body, (int)strlen(body), &po, NULL) == NATS_OK) {
            for (long i = from; i < to; i++) {
                char id[32];
                snprintf(id, sizeof(id), "CH-%ld", i + 1);
                ck_submitted(ck, id);
            }
            rc = 0;
            break;
        }
        usleep(250 * 1000);
    }
    free(body);
    return rc;
}

/* --- watching ---------------------------------------------------------------------- */

/* COMPLETE + ESCALATED as the leading scheduler counts them; -1 when no
 * scheduler answers. */
static long terminal_count(natsConnection *nc)
{
    long best = -1;
    for (int i = 0; i < N_SERVICES; i++) {
        char subj[128];
        cJSON *j, *ep, *data;
        if (strcmp(services[i].name, "scheduler"))
            continue;
        snprintf(subj, sizeof(subj), "$SRV.STATS.orch-scheduler.%s", services[i].instance);
        j = svc_request_json(nc, subj, "", 500);
        ep = j ? cJSON_GetArrayItem(cJSON_GetObjectItem(j, "endpoints"), 0) : NULL;
        data = ep ? cJSON_GetObjectItem(ep, "data") : NULL;
        if (data && cJSON_IsTrue(cJSON_GetObjectItem(data, "leader"))) {
            cJSON *by = cJSON_GetObjectItem(data, "by_status");
            long n = (long)(cJSON_GetNumberValue(cJSON_GetObjectItem(by, "COMPLETE")) +
                            cJSON_GetNumberValue(cJSON_GetObjectItem(by, "ESCALATED")));
            if (n > best)
                best = n;
        }
        cJSON_Delete(j);
    }
    return best;
}

/* The instance holding the lease key ("scheduler", "monitor"), or NULL. */
static const char *leader(jsCtx *js, const char *key)
{
    static char holder[64];
    return hist_leader(js, key, holder, sizeof(holder)) == 0 ? holder : NULL;
}

/* 1 when nothing waits anywhere: every consumer of the suite and of the
 * agents has no pending and no unacknowledged message (but Matrix delivery
 * and the Host Listener, which this run has not). With report set, prints
 * each consumer that still holds something, and what. */
static int settled(jsCtx *js, FILE *report)
{
    int calm = 1;
    for (size_t i = 0; i < topo_consumer_count; i++) {
        const topo_consumer *t = &topo_consumers[i];
        jsConsumerInfo *ci = NULL;
        /* "orchestrator": the seed's by-hand readers, which no service reads */
        if (!strcmp(t->durable, "monitor-matrix") || !strcmp(t->durable, "host-listener") ||
            !strcmp(t->durable, "orchestrator"))
            continue;
        if (js_GetConsumerInfo(&ci, js, t->stream, t->durable, NULL, NULL) != NATS_OK) {
            if (report)
                fprintf(report, "chaos: consumer %s/%s: no answer (%s)\n", t->stream, t->durable,
                        nats_GetLastError(NULL));
            calm = 0;
            continue;
        }
        if (ci->NumPending > 0 || ci->NumAckPending > 0 || ci->NumRedelivered > 0) {
            if (report)
                fprintf(report, "chaos: consumer %s/%s: %llu pending, %lld unacknowledged, %lld redelivered, "
                        "%lld waiting pulls\n", t->stream, t->durable, (unsigned long long)ci->NumPending,
                        (long long)ci->NumAckPending, (long long)ci->NumRedelivered, (long long)ci->NumWaiting);
            if (ci->NumPending > 0 || ci->NumAckPending > 0)
                calm = 0;
        }
        jsConsumerInfo_Destroy(ci);
        if (!calm && !report)
            return 0;
    }
    return calm;
}

/* --- chaos ------------------------------------------------------------------------- */

static void kill9(pid_t pid)
{
    int st;
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    proc_wait(pid, 5000, &st);
}

typedef struct {
    int kills, leader_kills, server_restarts;
    int pauses, pauses_of[N_LEASES], taken_over;  /* taken_over: another held the lease at the resume */
    double recover_max, recover_sum;   /* kill -> the restarted service answers PING */
    double server_down, server_resume; /* the outage, and restart -> progress again */
} figures;

static int find_instance(const char *instance)
{
    for (int k = 0; instance && k < N_SERVICES; k++)
        if (!strcmp(services[k].instance, instance))
            return k;
    return -1;
}

static void kill_one(natsConnection *nc, jsCtx *js, figures *fg, int target_leader)
{
    int i = rand() % N_SERVICES;
    double t0;
    cJSON *j;
    if (target_leader) {
        int k = find_instance(leader(js, "scheduler"));
        if (k >= 0 && !services[k].paused) {
            i = k;
            fg->leader_kills++;
        }
    }
    for (int tries = 0; services[i].paused && tries < N_SERVICES; tries++)
        i = (i + 1) % N_SERVICES; /* a paused one is the pause's to resume */
    t0 = now_s();
    kill9(services[i].pid);
    services[i].kills++;
    fg->kills++;
    usleep((useconds_t)(200 + rand() % 600) * 1000);
    services[i].pid = svc_start(&fix, services[i].name, services[i].instance, service_env);
    j = svc_wait_ping(nc, services[i].name, services[i].instance, 15000);
    if (j) {
        double took = now_s() - t0;
        fg->recover_sum += took;
        if (took > fg->recover_max)
            fg->recover_max = took;
    } else {
        fprintf(stderr, "chaos: %s did not come back within 15 s\n", services[i].instance);
    }
    cJSON_Delete(j);
}

/* --- pauses: a leader stopped past its lease ----------------------------------------- */

typedef struct {
    int svc;               /* index into services, -1 when none is paused */
    int lease;             /* index into lease_keys */
    double until;
} pause_state;

/* SIGSTOP of whoever holds the lease key: it keeps believing it leads
 * while a standby takes over once the lease has lapsed. 0 when paused. */
static int pause_leader(jsCtx *js, pause_state *p, int lease, int pause_ms)
{
    int i = find_instance(leader(js, lease_keys[lease]));
    if (i < 0 || services[i].pid <= 0 || kill(services[i].pid, SIGSTOP) != 0)
        return -1;
    services[i].paused = 1;
    p->svc = i;
    p->lease = lease;
    p->until = now_s() + pause_ms / 1000.0;
    printf("chaos: paused %s, the %s leader, for %d ms\n", services[i].instance, lease_keys[lease], pause_ms);
    fflush(stdout);
    return 0;
}

static void resume(jsCtx *js, pause_state *p, figures *fg)
{
    service *s;
    const char *now_leading;
    if (p->svc < 0)
        return;
    s = &services[p->svc];
    now_leading = leader(js, lease_keys[p->lease]);
    kill(s->pid, SIGCONT);
    s->paused = 0;
    s->pauses++;
    fg->pauses++;
    fg->pauses_of[p->lease]++;
    if (now_leading && strcmp(now_leading, s->instance) != 0)
        fg->taken_over++;
    printf("chaos: resumed %s; the %s lease is %s's\n", s->instance, lease_keys[p->lease],
           now_leading ? now_leading : "nobody");
    fflush(stdout);
    p->svc = -1;
}

/* --- who led when: the lease bucket watched, the services' logs read -------------------- */

static void watch_leases(kvWatcher *w, checker *ck)
{
    kvEntry *e = NULL;
    while (w && kvWatcher_Next(&e, w, 1) == NATS_OK) {
        if (e) {
            int gone = kvEntry_Operation(e) != kvOp_Put;
            /* the forger's puts are not a holder's: the leader takes the key
             * back at once, and its acts are judged against its own lease */
            if (gone || strcmp(kvEntry_ValueString(e), FORGER_HOLDER) != 0)
                ck_lease(ck, kvEntry_Key(e), gone ? "" : kvEntry_ValueString(e), kvEntry_Created(e) / 1000000);
            kvEntry_Destroy(e);
        }
        e = NULL;
    }
}

/* "2026-11-26T14:29:11.453Z" to ms since the epoch; -1 when it is not one. */
static int64_t log_time(const char *line)
{
    struct tm tm;
    int ms = 0;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* An act only the lease holder may do, as the scheduler and the monitor
 * log it (a dispatch of work, review or merge; a spawn request; an alert of
 * their own; a stuck agent's kill), or NULL. Neither names its publisher
 * in what it stores (a kill's body names the agent to stop, an alert at
 * most its service), so the logs, one per instance, are where who did what
 * can be read. The topology alert every daemon may raise is not one. */
static const char *leader_act(const char *svc, const char *msg)
{
    if (!strcmp(svc, "scheduler")) {
        if (!strncmp(msg, "dispatched ", 11) || strstr(msg, " complete; review requested") ||
            (!strncmp(msg, "merge of ", 9) && strstr(msg, " released (batch ")))
            return "dispatch";
        if (!strncmp(msg, "asked for ", 10))
            return "spawn";
        if ((!strncmp(msg, "alert critical/", 15) || !strncmp(msg, "alert warning/", 14)) &&
            !strstr(msg, "/topology_missing"))
            return "alert";
    } else if (!strcmp(svc, "monitor")) {
        if (!strncmp(msg, "alert critical: ", 16) || !strncmp(msg, "alert warning: ", 15) ||
            !strncmp(msg, "alert info: ", 12) || !strncmp(msg, "alert resolved: ", 16))
            return "alert";
        if (strstr(msg, " stuck on ") && strstr(msg, "released the work again"))
            return "kill";
    }
    return NULL;
}

/* Every act in the scheduler's and the monitor's logs, to the checker. */
static long read_acts(checker *ck)
{
    long n = 0;
    for (int i = 0; i < N_SERVICES; i++) {
        char path[400], line[2048], tag[96];
        FILE *f;
        if (strcmp(services[i].name, "scheduler") && strcmp(services[i].name, "monitor"))
            continue;
        snprintf(path, sizeof(path), "%s/%s.log", dir, services[i].instance);
        snprintf(tag, sizeof(tag), "%s[%s] ", services[i].name, services[i].instance);
        if (!(f = fopen(path, "r")))
            continue;
        while (fgets(line, sizeof(line), f)) {
            const char *msg = strstr(line, tag), *what;
            int64_t at = log_time(line);
            char key[32];
            line[strcspn(line, "\n")] = '\0';
            /* A takeover as the new leader logs it, right after its create
             * in KV succeeded: the lease history does not rest on the
             * watcher alone, which a cluster node's restart can cut off
             * (one run judged 284 acts against a holder long gone). */
            if (msg && at >= 0 && sscanf(msg + strlen(tag), "took the %31s lease", key) == 1)
                ck_lease(ck, key, services[i].instance, at);
            if (!msg || at < 0 || !(what = leader_act(services[i].name, msg + strlen(tag))))
                continue;
            ck_act(ck, services[i].name, services[i].instance, msg + strlen(tag), at);
            n++;
        }
        fclose(f);
    }
    return n;
}

/* SIGKILL of the server (or of one node of the cluster), and its restart
 * on the same store. */
static void restart_server(natsConnection *nc, figures *fg, long *terminal_before)
{
    double t0 = now_s(), back;
    natsfix *node = &nodes[rand() % n_nodes];
    *terminal_before = terminal_count(nc);
    kill9(node->pid);
    node->pid = 0;
    sleep(2);
    if (natsfix_restart(node) != 0) {
        fprintf(stderr, "chaos: nats-server did not come back\n");
        return;
    }
    back = now_s();
    fg->server_down += back - t0;
    fg->server_restarts++;
    /* progress again: more requirements terminal than before the outage */
    while (now_s() - back < 60) {
        long n = terminal_count(nc);
        if (n > *terminal_before) {
            fg->server_resume += now_s() - back;
            return;
        }
        usleep(200 * 1000);
    }
    fprintf(stderr, "chaos: no progress within 60 s of the server's restart\n");
    fg->server_resume += 60;
}

/* --- the end: reading back ----------------------------------------------------------- */

/* Stops the agents, the services and the servers: a run that gives up
 * early leaves nothing running. */
static void stop_all(void)
{
    for (int i = 0; i < N_AGENTS; i++)
        if (agents[i] > 0)
            proc_stop(agents[i], 3000);
    for (int i = N_SERVICES - 1; i >= 0; i--)
        if (services[i].pid > 0)
            proc_stop(services[i].pid, 5000);
    for (int i = 0; i < n_nodes; i++)
        natsfix_stop(&nodes[i]);
}

/* --- main ------------------------------------------------------------------------------ */

static void usage(FILE *to)
{
    fputs("Usage: chaos [options]\n"
          "  --long              2,000 requirements (the long run; default 300)\n"
          "  --requirements N    how many requirements to submit\n"
          "  --kill-ms N         mean time between SIGKILLs of a random service (2000)\n"
          "  --server-restarts N nats-server SIGKILLed and restarted N times mid-run (1)\n"
          "  --cluster           three nats-servers with R3 streams; a random node is the one killed\n"
          "  --pauses N          SIGSTOP the scheduler leader, then the monitor leader, in turn, N in all (2)\n"
          "  --pause-ms N        how long each pause lasts: past the 10 s lease (12000)\n"
          "  --timeout-s N       stop and fail after N seconds (300; 1500 with --long)\n"
          "  --seed N            the random choices (the time)\n"
          "  --no-forger         no forged verdicts, states, leases, kills and claims (forger.h)\n"
          "  --release-agents    release agents merge approved work (scheduler.merge_train false);\n"
          "                      by default the merge train does (docs/merge.md)\n"
          "Needs ORCH_BIN_DIR (the built daemons and agent-sim). Prints its figures last;\n"
          "exit 0 only when nothing was lost, duplicated or left unfinished and the\n"
          "token ledger equals what the agents reported. ORCH_TEST_KEEP=1 keeps its files.\n",
          to);
}

static int parse(int argc, char **argv, options *o)
{
    o->requirements = 300;
    o->kill_ms = 2000;
    o->server_restarts = 1;
    o->pauses = 2;
    o->pause_ms = 12000;
    o->timeout_s = 0;
    o->forge = 1;
    o->seed = (unsigned)time(NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--long")) {
            o->requirements = 2000;
        } else if (!strcmp(a, "--cluster")) {
            o->cluster = 1;
        } else if (!strcmp(a, "--no-forger")) {
            o->forge = 0;
        } else if (!strcmp(a, "--release-agents")) {
            o->release_agents = 1;
        } else if (v && !strcmp(a, "--requirements")) {
            o->requirements = atol(v), i++;
        } else if (v && !strcmp(a, "--kill-ms")) {
            o->kill_ms = atoi(v), i++;
        } else if (v && !strcmp(a, "--server-restarts")) {
            o->server_restarts = atoi(v), i++;
        } else if (v && !strcmp(a, "--pauses")) {
            o->pauses = atoi(v), i++;
        } else if (v && !strcmp(a, "--pause-ms")) {
            o->pause_ms = atoi(v), i++;
        } else if (v && !strcmp(a, "--timeout-s")) {
            o->timeout_s = atoi(v), i++;
        } else if (v && !strcmp(a, "--seed")) {
            o->seed = (unsigned)strtoul(v, NULL, 10), i++;
        } else {
            fprintf(stderr, "chaos: unknown or incomplete option '%s' (try --help)\n", a);
            return -1;
        }
    }
    if (o->requirements < 10 || o->kill_ms < 100 || o->server_restarts < 0 || o->pauses < 0 || o->pause_ms < 100) {
        fprintf(stderr, "chaos: --requirements at least 10, --kill-ms and --pause-ms at least 100\n");
        return -1;
    }
    if (!o->timeout_s)
        o->timeout_s = o->requirements > 500 ? 1500 : 300;
    return 0;
}

int main(int argc, char **argv)
{
    options opt;
    figures fg = {0};
    checker *ck;
    natsConnection *nc;
    jsCtx *js = NULL;
    ck_report rep;
    uint64_t ledger = 0;
    long reviews_off = 0;
    long submitted = 0, terminal = 0, before_outage = 0;
    double t_start, deadline, next_kill, next_submit, next_pause;
    int restarts_left, pauses_left, ok, calm = 0;
    pause_state ps = {-1, 0, 0};
    kvStore *leases = NULL;
    kvWatcher *lw = NULL;
    forger *forge = NULL;
    forger_counts forged = {0};
    long acts;

    if (parse(argc, argv, &opt) != 0)
        return 2;
    if (!getenv("ORCH_BIN_DIR")) {
        fprintf(stderr, "chaos: set ORCH_BIN_DIR to the build directory\n");
        return 2;
    }
    srand(opt.seed);
    signal(SIGPIPE, SIG_IGN);
    if (opt.release_agents)
        snprintf(merge_env, sizeof(merge_env), "ORCH_SCHEDULER_MERGE_TRAIN=false");
    printf("chaos: approved work merged by %s\n", opt.release_agents ? "release agents" : "the merge train");
    printf("chaos: %ld requirements, a SIGKILL every ~%d ms, %d server restart(s)%s, %d leader pause(s) of %d ms, "
           "seed %u\n", opt.requirements, opt.kill_ms, opt.server_restarts,
           opt.cluster ? " in a three-node cluster (R3)" : "", opt.pauses, opt.pause_ms, opt.seed);
    fflush(stdout);

    if (start_servers(opt.cluster ? 3 : 1) != 0)
        return 1;
    snprintf(dir, sizeof(dir), "%s", fix.dir);
    if (make_project() != 0)
        return 1;
    nc = connect_test();
    if (!nc || natsConnection_JetStream(&js, nc, NULL) != NATS_OK) {
        fprintf(stderr, "chaos: cannot connect to %s\n", fix.url);
        return 1;
    }
    for (int i = 0; i < N_SERVICES; i++)
        services[i].pid = svc_start(&fix, services[i].name, services[i].instance, service_env);
    for (int i = 0; i < N_SERVICES; i++) {
        cJSON *j = svc_wait_ping(nc, services[i].name, services[i].instance, 15000);
        if (!j) {
            fprintf(stderr, "chaos: %s did not start (log %s/%s.log)\n", services[i].instance, dir,
                    services[i].instance);
            return 1;
        }
        cJSON_Delete(j);
    }
    {   /* every stream and bucket replicated on every node */
        jsStreamInfo *si = NULL;
        int replicas = js_GetStreamInfo(&si, js, "REQUIREMENTS", NULL, NULL) == NATS_OK ? (int)si->Config->Replicas : 0;
        jsStreamInfo_Destroy(si);
        if (replicas != n_nodes) {
            fprintf(stderr, "chaos: stream REQUIREMENTS has %d replicas, want %d\n", replicas, n_nodes);
            return 1;
        }
    }
    for (int i = 0; i < N_AGENTS; i++)
        agents[i] = start_agent(i);
    sleep(1); /* the scheduler takes its lease */
    /* the lease puts after the first pause (3 s + 12 s) and before the
     * server restart, for 15 s: a standby takes over at most 10 s after */
    if (opt.forge && !(forge = forger_start(fix.url, opt.requirements, opt.seed, 20, 35))) {
        fprintf(stderr, "chaos: the forger did not start: %s\n", nats_GetLastError(NULL));
        stop_all();
        return 1;
    }

    ck = ck_create();
    /* Every change of a lease from now on (and each current holder first). */
    if (js_KeyValue(&leases, js, TOPO_KV_LEADER) != NATS_OK || kvStore_WatchAll(&lw, leases, NULL) != NATS_OK) {
        fprintf(stderr, "chaos: cannot watch the leases: %s\n", nats_GetLastError(NULL));
        stop_all();
        return 1;
    }
    t_start = now_s();
    deadline = t_start + opt.timeout_s;
    next_kill = t_start + opt.kill_ms / 1000.0;
    next_submit = t_start;
    restarts_left = opt.server_restarts;
    pauses_left = opt.pauses;
    next_pause = t_start + 3;
    /* Submitting takes the first third of the expected run; the chaos goes on
     * until every requirement is terminal. */
    while (now_s() < deadline) {
        double t = now_s();
        if (submitted < opt.requirements && t >= next_submit) {
            long to = submitted + SUBMIT_BATCH < opt.requirements ? submitted + SUBMIT_BATCH : opt.requirements;
            if (submit_batch(js, ck, submitted, to, deadline) != 0)
                break;
            submitted = to;
            next_submit = t + 0.5;
        }
        if (restarts_left > 0 && submitted >= opt.requirements / 2 && terminal > 0) {
            restart_server(nc, &fg, &before_outage);
            restarts_left--;
            printf("chaos: nats-server killed and restarted (%.1f s down)\n", fg.server_down);
            fflush(stdout);
        }
        if (ps.svc >= 0 && now_s() >= ps.until) {
            resume(js, &ps, &fg);
            next_pause = now_s() + 2;
        }
        if (ps.svc < 0 && pauses_left > 0 && now_s() >= next_pause) {
            if (pause_leader(js, &ps, (opt.pauses - pauses_left) % N_LEASES, opt.pause_ms) == 0)
                pauses_left--;
            else
                next_pause = now_s() + 1; /* nobody leads just now */
        }
        watch_leases(lw, ck);
        if (t >= next_kill && terminal < opt.requirements) {
            kill_one(nc, js, &fg, fg.kills % 4 == 2);
            next_kill = now_s() + (opt.kill_ms / 2 + rand() % opt.kill_ms) / 1000.0;
        }
        {
            long n = terminal_count(nc);
            if (n >= 0)
                terminal = n;
        }
        if (submitted >= opt.requirements && terminal >= opt.requirements && restarts_left == 0 &&
            pauses_left == 0 && ps.svc < 0)
            break;
        usleep(200 * 1000);
    }
    resume(js, &ps, &fg); /* should the run have timed out during a pause */
    forger_stop(forge, &forged);
    printf("chaos: %ld of %ld terminal after %.0f s; waiting for the queues to settle\n", terminal, submitted,
           now_s() - t_start);
    fflush(stdout);
    for (double t0 = now_s(); !calm && now_s() - t0 < 60 && now_s() < deadline + 60; usleep(500 * 1000))
        calm = settled(js, NULL);
    if (!calm) {
        printf("chaos: the queues did not settle within 60 s; judging what is stored\n");
        settled(js, stdout);
    }
    sleep(2); /* the last decisions' writes */
    watch_leases(lw, ck);
    kvWatcher_Destroy(lw);
    kvStore_Destroy(leases);

    if (hist_collect(js, ck, &ledger, &reviews_off, stderr) != 0)
        fprintf(stderr, "chaos: reading back failed: %s\n", nats_GetLastError(NULL));
    acts = read_acts(ck);
    ck_check(ck, &rep, stderr);

    stop_all();
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);

    ok = rep.n[CK_LOST] == 0 && rep.n[CK_DUPLICATED] == 0 && rep.n[CK_UNKNOWN] == 0 && submitted == opt.requirements &&
         rep.submitted == opt.requirements && ledger == rep.tokens_reported && rep.ledger_off == 0 && reviews_off == 0 &&
         fg.server_restarts == opt.server_restarts && fg.pauses == opt.pauses && rep.unfenced == 0 && calm &&
         rep.unverified == 0 && rep.foreign == 0;
    printf("chaos: submitted %ld, completed %ld, escalated %ld, lost %ld, duplicated %ld, unknown %ld\n",
           rep.submitted, rep.n[CK_COMPLETED], rep.n[CK_ESCALATED], rep.n[CK_LOST], rep.n[CK_DUPLICATED],
           rep.n[CK_UNKNOWN]);
    printf("chaos: kills %d (", fg.kills);
    for (int i = 0; i < N_SERVICES; i++)
        printf("%s%s %d", i ? ", " : "", services[i].instance, services[i].kills);
    printf("; the scheduler leader %d times)\n", fg.leader_kills);
    printf("chaos: pauses %d (the scheduler leader %d, the monitor leader %d), %d ms each; another instance held "
           "the lease at %d of the resumes\n", fg.pauses, fg.pauses_of[0], fg.pauses_of[1], opt.pause_ms, fg.taken_over);
    printf("chaos: fencing: %ld dispatches, kills and alerts in the logs, %ld judged against the leases, %ld by an "
           "instance that did not hold the lease\n", acts, rep.acts, rep.unfenced);
    printf("chaos: forger: %ld verdicts (%ld stored), %ld states, %ld lease puts, %ld kills, %ld claims; completed "
           "without a genuine passing verdict of their own: %ld; dispatches of ids never submitted: %ld\n",
           forged.verdicts, rep.forged_verdicts, forged.states, forged.leases, forged.kills, forged.claims,
           rep.unverified, rep.foreign);
    printf("chaos: queues %s\n", calm ? "settled: nothing pending or unacknowledged" : "did NOT settle");
    printf("chaos: time to recover: a killed service answers again after %.2f s on average, %.2f s at most\n",
           fg.kills ? fg.recover_sum / fg.kills : 0, fg.recover_max);
    printf("chaos: nats-server restarts %d: down %.1f s, work moving again %.1f s after it was back\n",
           fg.server_restarts, fg.server_down, fg.server_resume);
    printf("chaos: tokens: the ledger says %llu, the agents reported %llu; %ld requirements charged otherwise\n",
           (unsigned long long)ledger, (unsigned long long)rep.tokens_reported, rep.ledger_off);
    printf("chaos: %.0f s in all; %s\n", now_s() - t_start, ok ? "PASS" : "FAIL");
    ck_destroy(ck);
    nats_Close();
    return ok ? 0 : 1;
}
