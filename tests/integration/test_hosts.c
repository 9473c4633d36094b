/* A pool of agent hosts through real subjects on loopback: a hub
 * nats-server (JetStream, domain "hub", a leafnodes listener) with the
 * scheduler, and agent hosts that each run a leaf-node nats-server and
 * their own Host Listener (different host ids and capacities) whose agents
 * reach the hub's streams through the leaf (jetstream.domain). Spawns are
 * placed within each host's capacity and the scheduler says when no host
 * has room; a kill reaches only the host that runs the instance; a host
 * killed outright (listener, agents, leaf node) is declared lost within the
 * bound, its work goes to the other host and is done exactly once, and the
 * host started again rejoins with new instance names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <ftw.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <nats/nats.h>

#include "natsfix.h"
#include "proc.h"
#include "svcfix.h"

#define BACKEND 1   /* ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND */
#define MEDIUM 2    /* ORCHESTRATOR__V1__PRIORITY__PRIORITY_MEDIUM */
#define MAX_HOSTS 3

typedef struct {
    char id[16];
    int slots;
    int port;             /* the leaf node's client port */
    pid_t leaf, listener;
    natsfix at;           /* the hub's fixture with the leaf's url: where the listener connects */
} host;

static struct {
    natsfix hub;          /* dir, url, port: the hub (started here, not by natsfix_start) */
    pid_t hub_pid;
    int leaf_port;        /* the hub's leafnodes listener */
    natsConnection *nc;
    jsCtx *js;
    pid_t scheduler;
    host h[MAX_HOSTS];
    int n;
    char repo[400];
} E;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pid_t server(const char *name, const char *text)
{
    char conf[400];
    FILE *f;
    snprintf(conf, sizeof(conf), "%s/%s.conf", E.hub.dir, name);
    f = fopen(conf, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    {
        char log[64];
        const char *argv[] = {"nats-server", "-c", conf, NULL};
        snprintf(log, sizeof(log), "%s.nats.log", name);
        return proc_spawn(argv, NULL, E.hub.dir, log);
    }
}

/* Waits until a client of url reaches JetStream (through the domain). */
static void wait_js(const char *url)
{
    for (int64_t t0 = now_ms(); now_ms() - t0 < 10000; usleep(100 * 1000)) {
        natsConnection *c = NULL;
        jsCtx *js = NULL;
        jsOptions o;
        jsAccountInfo *ai = NULL;
        int ok = 0;
        jsOptions_Init(&o);
        o.Domain = "hub";
        o.Wait = 1000;
        if (natsConnection_ConnectTo(&c, url) == NATS_OK && natsConnection_JetStream(&js, c, &o) == NATS_OK &&
            js_GetAccountInfo(&ai, js, NULL, NULL) == NATS_OK)
            ok = 1;
        jsAccountInfo_Destroy(ai);
        jsCtx_Destroy(js);
        natsConnection_Destroy(c);
        if (ok)
            return;
    }
    fail_msg("no JetStream through %s within 10 s", url);
}

/* The hub and the scheduler (which provisions the streams). */
static void hub_start(const char *const sched_env[])
{
    char text[1200], dir_tmpl[] = "/tmp/orch-hosts-XXXXXX";
    const char *env[16];
    int n = 0;
    memset(&E, 0, sizeof(E));
    assert_non_null(mkdtemp(dir_tmpl));
    snprintf(E.hub.dir, sizeof(E.hub.dir), "%s", dir_tmpl);
    E.hub.port = natsfix_free_port();
    E.leaf_port = natsfix_free_port();
    snprintf(E.hub.url, sizeof(E.hub.url), "nats://127.0.0.1:%d", E.hub.port);
    snprintf(text, sizeof(text),
             "listen: 127.0.0.1:%d\nserver_name: hub\n"
             "jetstream { store_dir: \"%s/js\", domain: hub }\n"
             "leafnodes { listen: 127.0.0.1:%d }\n",
             E.hub.port, E.hub.dir, E.leaf_port);
    E.hub_pid = server("hub", text);
    assert_true(E.hub_pid > 0);
    wait_js(E.hub.url);
    assert_int_equal(natsConnection_ConnectTo(&E.nc, E.hub.url), NATS_OK);
    assert_int_equal(natsConnection_JetStream(&E.js, E.nc, NULL), NATS_OK);
    env[n++] = "ORCH_SCHEDULER_SPAWN_COOLDOWN_S=0";
    env[n++] = "ORCH_SCHEDULER_QUIET_START=00:00";
    env[n++] = "ORCH_SCHEDULER_QUIET_END=00:00";
    env[n++] = "ORCH_SCHEDULER_MERGE_TRAIN=false";
    for (int i = 0; sched_env && sched_env[i] && n < 15; i++)
        env[n++] = sched_env[i];
    env[n] = NULL;
    E.scheduler = svc_start_ready(E.nc, &E.hub, "scheduler", "sched", env);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void stop_host(host *h);

static void hub_stop(void)
{
    for (int i = 0; i < E.n; i++)
        stop_host(&E.h[i]);
    if (E.scheduler > 0)
        proc_stop(E.scheduler, 5000);
    E.scheduler = 0;
    jsCtx_Destroy(E.js);
    natsConnection_Destroy(E.nc);
    if (E.hub_pid > 0)
        proc_stop(E.hub_pid, 3000);
    E.hub_pid = 0;
    E.n = 0;
    if (!getenv("ORCH_TEST_KEEP"))
        nftw(E.hub.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* One agent host: its leaf node, then its listener on it. command: the
 * agent command template (listener.command); initial: listener.initial. */
static host *host_start(host *h, const char *id, int slots, const char *command, const char *initial)
{
    char text[600], leafname[32];
    char e_id[64], e_slots[64], e_cmd[1200], e_logdir[400], e_init[96];
    const char *env[] = {"ORCH_JETSTREAM_DOMAIN=hub", "ORCH_JETSTREAM_PROVISION=false",
                         "ORCH_LISTENER_ADVERT_MS=500", "ORCH_LISTENER_MAX_PER_TYPE=10",
                         e_id, e_slots, e_cmd, e_logdir, initial ? e_init : NULL, NULL};
    snprintf(h->id, sizeof(h->id), "%s", id);
    h->slots = slots;
    h->port = natsfix_free_port();
    snprintf(leafname, sizeof(leafname), "leaf-%s", id);
    snprintf(text, sizeof(text),
             "listen: 127.0.0.1:%d\nserver_name: %s\n"
             "leafnodes { remotes: [ { url: \"nats-leaf://127.0.0.1:%d\" } ] }\n",
             h->port, leafname, E.leaf_port);
    h->leaf = server(leafname, text);
    assert_true(h->leaf > 0);
    h->at = E.hub;
    snprintf(h->at.url, sizeof(h->at.url), "nats://127.0.0.1:%d", h->port);
    wait_js(h->at.url);
    snprintf(e_id, sizeof(e_id), "ORCH_LISTENER_HOST_ID=%s", id);
    snprintf(e_slots, sizeof(e_slots), "ORCH_LISTENER_SLOTS=%d", slots);
    snprintf(e_cmd, sizeof(e_cmd), "ORCH_LISTENER_COMMAND=%s", command);
    snprintf(e_logdir, sizeof(e_logdir), "ORCH_LISTENER_LOG_DIR=%s", E.hub.dir);
    snprintf(e_init, sizeof(e_init), "ORCH_LISTENER_INITIAL=%s", initial ? initial : "");
    {
        char instance[32];
        snprintf(instance, sizeof(instance), "hl-%s", id);
        h->listener = svc_start_ready(E.nc, &h->at, "host-listener", instance, env);
    }
    return h;
}

/* The processes whose parent is pid. */
static int children_of(pid_t pid, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d)) && n < max) {
        char path[300], buf[512];
        FILE *f;
        long ppid = 0;
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        if (fgets(buf, sizeof(buf), f)) {
            char *p = strrchr(buf, ')');
            if (p && sscanf(p + 2, "%*c %ld", &ppid) == 1 && ppid == pid)
                out[n++] = (pid_t)atol(de->d_name);
        }
        fclose(f);
    }
    if (d)
        closedir(d);
    return n;
}

/* SIGKILL of everything the host runs: listener, agents, leaf node. */
static void kill_host(host *h)
{
    pid_t kids[64];
    int n = children_of(h->listener, kids, 64);
    kill(h->listener, SIGKILL);
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    kill(h->leaf, SIGKILL);
    waitpid(h->listener, NULL, 0);
    waitpid(h->leaf, NULL, 0);
    h->listener = h->leaf = 0;
}

static void stop_host(host *h)
{
    if (h->listener > 0)
        proc_stop(h->listener, 8000); /* it stops its agents */
    if (h->leaf > 0)
        proc_stop(h->leaf, 3000);
    h->listener = h->leaf = 0;
}

/* Lines of <dir>/<name>.log that hold what. */
static int log_count(const char *name, const char *what)
{
    char path[400];
    char *text, *p;
    int n = 0;
    snprintf(path, sizeof(path), "%s/%s.log", E.hub.dir, name);
    if (!(text = proc_slurp(path)))
        return 0;
    for (p = text; (p = strstr(p, what)); p += strlen(what))
        n++;
    free(text);
    return n;
}

static int wait_log(const char *name, const char *what, int timeout_ms)
{
    for (int64_t t0 = now_ms(); now_ms() - t0 < timeout_ms; usleep(100 * 1000))
        if (log_count(name, what) > 0)
            return 1;
    return log_count(name, what) > 0;
}

/* `orchctl hosts --json`: the adverts heard in 1.5 s. */
static cJSON *hosts_view(void)
{
    static char out[65536];
    const char *args[] = {"hosts", "--json", "--wait", "1500", NULL};
    cJSON *j;
    assert_int_equal(svc_orchctl(&E.hub, args, out, sizeof(out)), 0);
    j = cJSON_Parse(out);
    if (!cJSON_IsArray(j))
        fail_msg("orchctl hosts --json printed: %.400s", out);
    return j;
}

static const cJSON *view_of(const cJSON *v, const char *id)
{
    const cJSON *h;
    cJSON_ArrayForEach(h, v)
    {
        const cJSON *name = cJSON_GetObjectItem(h, "host");
        if (cJSON_IsString(name) && !strcmp(name->valuestring, id))
            return h;
    }
    return NULL;
}

static int num(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(x) ? (int)x->valuedouble : -1;
}

static void plan(const char *prefix, int n)
{
    for (int i = 1; i <= n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "%s-%d", prefix, i);
        svc_plan(E.js, id, BACKEND, MEDIUM, 1000, NULL, NULL);
    }
}

/* How many agents the scheduler's log says it asked host id for. */
static int asked(const char *id)
{
    char path[400], line[1024], want[64];
    int n = 0, k;
    FILE *f;
    snprintf(path, sizeof(path), "%s/sched.log", E.hub.dir);
    snprintf(want, sizeof(want), "asked host %s for ", id);
    if (!(f = fopen(path, "r")))
        return 0;
    while (fgets(line, sizeof(line), f)) {
        const char *at = strstr(line, want);
        if (at && sscanf(at + strlen(want), "%d", &k) == 1)
            n += k;
    }
    fclose(f);
    return n;
}

/* Three hosts of 1, 2 and 3 slots running agents that take no work: the
 * queue stays deep, the scheduler asks for backend agents at every step
 * and the pool places them until every host is full, never past a host's
 * slots; then it says no host has room. A kill of one of h2's instances is
 * carried out by h2 alone; the others ack it quietly. */
static void spawns_fill_each_host_to_its_slots_and_a_kill_reaches_only_its_host(void **state)
{
    const char *sched_env[] = {"ORCH_SCHEDULER_SPAWN_MAX=2", NULL};
    const int slots[MAX_HOSTS] = {1, 2, 3};
    static const char *const ids[MAX_HOSTS] = {"h1", "h2", "h3"};
    cJSON *v = NULL;
    int full = 0;
    char victim[128] = "", want[300];
    (void)state;

    hub_start(sched_env);
    for (int i = 0; i < MAX_HOSTS; i++)
        host_start(&E.h[E.n++], ids[i], slots[i], "sleep,300", NULL);
    plan("CAP", 12); /* window 2: a ready queue of 10, deeper than spawn_depth 5 */

    for (int64_t t0 = now_ms(); !full && now_ms() - t0 < 30000;) {
        cJSON_Delete(v);
        v = hosts_view();
        full = cJSON_GetArraySize(v) == MAX_HOSTS;
        for (int i = 0; full && i < MAX_HOSTS; i++)
            full = view_of(v, ids[i]) && num(view_of(v, ids[i]), "used") == slots[i];
    }
    if (!full)
        fail_msg("the hosts were not filled within 30 s (scheduler log %s/sched.log)", E.hub.dir);
    assert_true(wait_log("sched", "no host has room for backend", 10000));
    {
        /* forged adverts: refused with a reason, the pool unchanged */
        const char *forged = "{\"host\":\"h1\",\"nonce\":\"x\",\"slots\":1000}";
        assert_int_equal(natsConnection_PublishString(E.nc, "hosts.h9", forged), NATS_OK);
        assert_int_equal(natsConnection_PublishString(E.nc, "hosts.h8", "{\"host\":\"h8\",\"slots\":1e300}"),
                         NATS_OK);
        assert_true(wait_log("sched", "advert on hosts.h9 refused: the subject names another host than the body's h1", 5000));
        sleep(1); /* the second is refused too, not said: one line per hundred */
        assert_int_equal(log_count("sched", "host h8 joined"), 0);
        assert_int_equal(log_count("sched", "host h9 joined"), 0);
        assert_int_equal(log_count("sched", "host h1 restarted"), 0);
    }
    sleep(2); /* more asks meanwhile: still never past a host's slots */
    for (int i = 0; i < MAX_HOSTS; i++) {
        char log[32], started[64];
        snprintf(log, sizeof(log), "hl-%s", ids[i]);
        snprintf(started, sizeof(started), "started backend-%s-", ids[i]);
        assert_int_equal(log_count(log, started), slots[i]);
        assert_int_equal(log_count(log, "started backend-"), slots[i]); /* only its own names */
        /* the scheduler asked each host for no more than its slots: the
         * pool placed them, the listener did not have to refuse */
        assert_true(asked(ids[i]) >= 1);
        assert_true(asked(ids[i]) <= slots[i]);
    }

    {
        /* the table people read: each host with its slots, used, free, agents */
        static char out[16384];
        const char *args[] = {"hosts", "--wait", "1500", NULL};
        char row[160];
        assert_int_equal(svc_orchctl(&E.hub, args, out, sizeof(out)), 0);
        for (int i = 0; i < MAX_HOSTS; i++) {
            snprintf(row, sizeof(row), "%-24s %5d %5d %5d", ids[i], slots[i], slots[i], 0);
            if (!strstr(out, row))
                fail_msg("orchctl hosts has no row '%s':\n%s", row, out);
        }
        assert_non_null(strstr(out, "backend=3"));
    }

    /* a kill of one of h2's */
    {
        const cJSON *inst = cJSON_GetObjectItem(view_of(v, "h2"), "instances");
        char subject[200];
        assert_true(cJSON_GetArraySize(inst) == 2);
        snprintf(victim, sizeof(victim), "%s", cJSON_GetArrayItem(inst, 0)->valuestring);
        snprintf(subject, sizeof(subject), "control.kill.%s", victim);
        assert_int_equal(js_Publish(NULL, E.js, subject, "{\"reason\":\"stuck\"}", 17, NULL, NULL), NATS_OK);
    }
    snprintf(want, sizeof(want), "agent %s stopped on request", victim);
    assert_true(wait_log("hl-h2", want, 10000));
    snprintf(want, sizeof(want), "kill request for %s ignored: no such agent here", victim);
    assert_true(wait_log("hl-h1", want, 10000));
    assert_true(wait_log("hl-h3", want, 10000));
    snprintf(want, sizeof(want), "agent %s stopped", victim);
    assert_int_equal(log_count("hl-h1", want), 0);
    assert_int_equal(log_count("hl-h3", want), 0);
    cJSON_Delete(v);
    hub_stop();
}

/* The results of the requirements: per id, how many. */
typedef struct {
    char id[32];
    int n;
} tally;

static void count_results(natsSubscription *sub, tally *t, int n)
{
    natsMsg *m = NULL;
    while (natsSubscription_NextMsg(&m, sub, 50) == NATS_OK) {
        const char *id = strrchr(natsMsg_GetSubject(m), '.');
        for (int i = 0; id && i < n; i++)
            if (!strcmp(t[i].id, id + 1))
                t[i].n++;
        natsMsg_Destroy(m);
    }
}

static int all_done(const tally *t, int n)
{
    for (int i = 0; i < n; i++)
        if (t[i].n < 1)
            return 0;
    return 1;
}

/* The hub with sched_env, a repository for agent-sim, and hosts h1 and h2 of
 * two backend slots each running agent-sim that works work_ms per
 * requirement; cmd (len) keeps their command. */
static void two_hosts_of_two(const char *const sched_env[], const char *work_ms, char *cmd, size_t len)
{
    char bin[512];
    hub_start(sched_env);
    snprintf(E.repo, sizeof(E.repo), "%s/repo", E.hub.dir);
    {
        const char *init[] = {"git", "init", "-q", "-b", "main", E.repo, NULL};
        const char *ci[] = {"git", "-C", E.repo, "-c", "user.email=t@orchestrator.local", "-c", "user.name=t",
                            "commit", "-q", "--allow-empty", "-m", "start", NULL};
        int st = -1;
        assert_int_equal(proc_wait(proc_spawn(init, NULL, E.hub.dir, "git.log"), 10000, &st), 0);
        assert_int_equal(proc_wait(proc_spawn(ci, NULL, E.hub.dir, "git.log"), 10000, &st), 0);
    }
    snprintf(cmd, len, "%s,--type,{type},--instance,{instance},--repo,%s,--workdir,%s,--work-ms,%s,--heartbeat-ms,500",
             proc_bin("agent-sim", bin, sizeof(bin)), E.repo, E.hub.dir, work_ms);
    host_start(&E.h[E.n++], "h1", 2, cmd, "backend=2");
    host_start(&E.h[E.n++], "h2", 2, cmd, "backend=2");
}

/* Two hosts of two backend agents (agent-sim, 3 s a requirement). Once h1's
 * agents work, h1 is killed outright. Within the bound (3 s) the scheduler
 * declares it lost, names it in a critical alert and sends its work back;
 * h2's agents do it: every requirement gets exactly one result. h1 started
 * again rejoins with instance names none of which it had before. */
static void a_killed_host_s_work_is_done_once_elsewhere_and_it_rejoins_with_new_names(void **state)
{
    const char *sched_env[] = {"ORCH_SCHEDULER_SPAWN_DEPTH=100000", "ORCH_SCHEDULER_WINDOW=4",
                               "ORCH_SCHEDULER_HOST_LOST_MS=3000", NULL};
    enum { N = 8 };
    tally t[N];
    natsSubscription *results = NULL, *alerts = NULL;
    natsMsg *alert = NULL;
    char cmd[1200], old_names[2][128];
    cJSON *v;
    int64_t t_kill;
    (void)state;

    two_hosts_of_two(sched_env, "3000", cmd, sizeof(cmd));
    v = hosts_view();
    assert_non_null(view_of(v, "h1"));
    assert_int_equal(num(view_of(v, "h1"), "used"), 2);
    for (int k = 0; k < 2; k++)
        snprintf(old_names[k], sizeof(old_names[k]), "%s",
                 cJSON_GetArrayItem(cJSON_GetObjectItem(view_of(v, "h1"), "instances"), k)->valuestring);
    cJSON_Delete(v);
    sleep(2); /* the agents are ready for work */

    assert_int_equal(natsConnection_SubscribeSync(&results, E.nc, "results.backend.>"), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&alerts, E.nc, "alerts.critical.host_lost"), NATS_OK);
    for (int i = 0; i < N; i++) {
        snprintf(t[i].id, sizeof(t[i].id), "LOSS-%d", i + 1);
        t[i].n = 0;
    }
    plan("LOSS", N);
    /* both of h1's agents at work */
    for (int64_t t0 = now_ms(); now_ms() - t0 < 20000; usleep(100 * 1000)) {
        char a[200], b[200];
        snprintf(a, sizeof(a), "%s: working on", old_names[0]);
        snprintf(b, sizeof(b), "%s: working on", old_names[1]);
        if (log_count(old_names[0], a) && log_count(old_names[1], b))
            break;
    }
    usleep(800 * 1000); /* a heartbeat names the instance at the scheduler */
    kill_host(&E.h[0]);
    t_kill = now_ms();

    /* the alert names h1, within the bound and a few steps */
    if (natsSubscription_NextMsg(&alert, alerts, 15000) != NATS_OK)
        fail_msg("no host_lost alert within 15 s (scheduler log %s/sched.log)", E.hub.dir);
    assert_non_null(memmem(natsMsg_GetData(alert), (size_t)natsMsg_GetDataLength(alert), "agent host h1 lost", 18));
    /* not before the bound less an advert interval and some slack: the
     * host was alive until the kill (an ASan build's adverts come late) */
    if (now_ms() - t_kill < 1500)
        fail_msg("h1 declared lost %lld ms after the kill, sooner than the bound allows", (long long)(now_ms() - t_kill));
    natsMsg_Destroy(alert);
    assert_true(wait_log("sched", "requirements sent back", 5000));
    assert_int_equal(log_count("sched", "agent host h1 lost: 2 agents declared gone"), 1);

    for (int64_t t0 = now_ms(); !all_done(t, N) && now_ms() - t0 < 60000;)
        count_results(results, t, N);
    sleep(1);
    count_results(results, t, N);
    for (int i = 0; i < N; i++)
        if (t[i].n != 1)
            fail_msg("%s has %d results, not 1 (logs in %s)", t[i].id, t[i].n, E.hub.dir);

    /* h1 again: it rejoins with names it never had */
    host_start(&E.h[0], "h1", 2, cmd, "backend=1");
    assert_true(wait_log("sched", "host h1 rejoined the pool", 10000));
    v = hosts_view();
    {
        const cJSON *inst = cJSON_GetObjectItem(view_of(v, "h1"), "instances"), *it;
        assert_int_equal(cJSON_GetArraySize(inst), 1);
        cJSON_ArrayForEach(it, inst)
        {
            assert_string_not_equal(it->valuestring, old_names[0]);
            assert_string_not_equal(it->valuestring, old_names[1]);
            assert_non_null(strstr(it->valuestring, "backend-h1-"));
        }
    }
    cJSON_Delete(v);
    natsSubscription_Destroy(results);
    natsSubscription_Destroy(alerts);
    hub_stop();
}

/* h1's leaf node frozen (SIGSTOP: a partition between h1 and the hub)
 * longer than the bound while its agents work, then thawed. The scheduler
 * declares h1 lost and sends its work to h2; after the heal h1's agents
 * report the work they held. Every requirement gets a result, and where two
 * came (the old agent's and the new one's) the scheduler refused one of
 * them: the claims (a new dispatch id, a new claim) decide. */
static void a_partitioned_host_s_late_results_are_refused_after_the_heal(void **state)
{
    const char *sched_env[] = {"ORCH_SCHEDULER_SPAWN_DEPTH=100000", "ORCH_SCHEDULER_WINDOW=4",
                               "ORCH_SCHEDULER_HOST_LOST_MS=3000", NULL};
    enum { N = 6 };
    tally t[N];
    natsSubscription *results = NULL;
    char cmd[1200], old_names[2][128];
    cJSON *v;
    (void)state;

    two_hosts_of_two(sched_env, "6000", cmd, sizeof(cmd));
    v = hosts_view();
    for (int k = 0; k < 2; k++)
        snprintf(old_names[k], sizeof(old_names[k]), "%s",
                 cJSON_GetArrayItem(cJSON_GetObjectItem(view_of(v, "h1"), "instances"), k)->valuestring);
    cJSON_Delete(v);
    sleep(2);
    assert_int_equal(natsConnection_SubscribeSync(&results, E.nc, "results.backend.>"), NATS_OK);
    for (int i = 0; i < N; i++) {
        snprintf(t[i].id, sizeof(t[i].id), "PART-%d", i + 1);
        t[i].n = 0;
    }
    plan("PART", N);
    for (int64_t t0 = now_ms(); now_ms() - t0 < 20000; usleep(100 * 1000)) {
        char a[200], b[200];
        snprintf(a, sizeof(a), "%s: working on", old_names[0]);
        snprintf(b, sizeof(b), "%s: working on", old_names[1]);
        if (log_count(old_names[0], a) && log_count(old_names[1], b))
            break;
    }
    usleep(800 * 1000);
    kill(E.h[0].leaf, SIGSTOP);
    /* (both its agents were at work when it froze, unless they had not
     * started within 20 s: at least one requirement goes back) */
    assert_true(wait_log("sched", "agent host h1 lost: 2 agents declared gone", 10000));
    assert_int_equal(log_count("sched", "agent host h1 lost: 2 agents declared gone, 0 requirements"), 0);
    sleep(2);
    kill(E.h[0].leaf, SIGCONT);

    for (int64_t t0 = now_ms(); !all_done(t, N) && now_ms() - t0 < 60000;)
        count_results(results, t, N);
    sleep(5); /* the late ones */
    count_results(results, t, N);
    for (int i = 0; i < N; i++) {
        char refused[96];
        snprintf(refused, sizeof(refused), "results.backend.%s", t[i].id);
        if (t[i].n < 1)
            fail_msg("%s has no result (logs in %s)", t[i].id, E.hub.dir);
        if (t[i].n > 1 && log_count("sched", refused) < 1)
            fail_msg("%s has %d results and the scheduler refused none (logs in %s)", t[i].id, t[i].n, E.hub.dir);
    }
    natsSubscription_Destroy(results);
    hub_stop();
}

/* After a failure too: every host, the scheduler and the hub stopped. */
static int teardown(void **state)
{
    (void)state;
    if (E.hub_pid > 0)
        hub_stop();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(spawns_fill_each_host_to_its_slots_and_a_kill_reaches_only_its_host, teardown),
        cmocka_unit_test_teardown(a_killed_host_s_work_is_done_once_elsewhere_and_it_rejoins_with_new_names,
                                  teardown),
        cmocka_unit_test_teardown(a_partitioned_host_s_late_results_are_refused_after_the_heal, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nats_Close();
    return rc;
}
