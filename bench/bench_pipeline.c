/* The suite against a raw-JetStream baseline, in one run on this machine.
 *
 * Baseline: a pass-through with the suite's JetStream hops from intake to
 * dispatch (INTAKE -> PLAN -> REQUIREMENTS), the same consumers, batch sizes
 * and ack settings, doing no work: what this machine's NATS can carry.
 * Suite: orch-router and orch-scheduler (window and budget opened up), the
 * same number of requirements with no dependencies published at full speed
 * into intake.requirements; the time until all appeared on requirements.*.
 * The latency from intake to dispatch (p50, p99) at that saturation and at
 * a fixed offered load, and each service's idle RSS. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "natsfix.h"
#include "proc.h"
#include "provision.h"
#include "topology.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#define IDLE_CPU_S 10
#define IDLE_CPU_TEXT "10 s"

static volatile long arrived;
static double *lat;
static volatile long nlat, lat_cap;

static void on_dispatch(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    const char *t = strstr(natsMsg_GetData(m), "\"title\":\"t=");
    (void)nc;
    (void)sub;
    (void)closure;
    if (t && lat && nlat < lat_cap) {
        int64_t sent = strtoll(t + 11, NULL, 10);
        lat[nlat++] = (double)(now_ns() - sent) / 1e6;
    }
    __atomic_add_fetch(&arrived, 1, __ATOMIC_RELAXED);
    natsMsg_Destroy(m);
}

static void publish_all(natsConnection *nc, long n, double rate, int with_time)
{
    jsCtx *js = NULL;
    jsOptions o;
    double t0 = now_s();
    jsOptions_Init(&o);
    o.PublishAsync.MaxPending = 4096;
    natsConnection_JetStream(&js, nc, &o);
    for (long i = 0; i < n; i++) {
        char body[160];
        if (rate > 0) {
            double due = t0 + (double)i / rate;
            while (now_s() < due)
                usleep(50);
        }
        if (with_time)
            snprintf(body, sizeof(body), "{\"id\":\"B%ld\",\"title\":\"t=%lld\",\"assignedAgent\":\"backend\"}", i,
                     (long long)now_ns());
        else
            snprintf(body, sizeof(body), "{\"id\":\"B%ld\",\"title\":\"Add endpoint %ld\",\"assignedAgent\":\"backend\"}",
                     i, i);
        while (js_PublishAsync(js, "intake.requirements", body, (int)strlen(body), NULL) != NATS_OK)
            usleep(1000);
    }
    js_PublishAsyncComplete(js, NULL);
    jsCtx_Destroy(js);
}

static void wait_arrived(long n, double timeout)
{
    double t0 = now_s();
    while (arrived < n && now_s() - t0 < timeout)
        usleep(1000);
}

/* --- baseline: one hop = fetch a batch, publish each on, wait, ack ------------------------- */

/* The consumer is the suite's own (stream, durable and filter from
 * topology.c): a filter written here once drifted from it, the pull
 * subscription was refused, nothing was checked, and the baseline read
 * 0 per second. Any failure now sets failed and says why. */
typedef struct {
    natsConnection *nc;
    const char *stream, *durable, *to_prefix;
    int batch;
    volatile int *stop;
    int failed;
} hop;

static void *hop_thread(void *arg)
{
    hop *h = arg;
    jsCtx *js = NULL, *pub = NULL;
    jsOptions o;
    natsSubscription *sub = NULL;
    jsSubOptions so;
    jsErrCode jerr = 0;
    const topo_consumer *c = topo_consumer_find(h->stream, h->durable);
    natsStatus s;
    if (!c) {
        fprintf(stderr, "baseline: no consumer %s/%s in the topology\n", h->stream, h->durable);
        h->failed = 1;
        return NULL;
    }
    jsOptions_Init(&o);
    o.PublishAsync.MaxPending = 4096;
    jsSubOptions_Init(&so);
    so.Stream = h->stream;
    so.Consumer = h->durable;
    if ((s = natsConnection_JetStream(&js, h->nc, NULL)) != NATS_OK ||
        (s = natsConnection_JetStream(&pub, h->nc, &o)) != NATS_OK ||
        (s = js_PullSubscribe(&sub, js, c->filter, h->durable, NULL, &so, &jerr)) != NATS_OK) {
        fprintf(stderr, "baseline: consumer %s/%s (filter %s): %s (JetStream error %d)\n", h->stream, h->durable,
                c->filter, nats_GetLastError(NULL), (int)jerr);
        h->failed = 1;
        goto out;
    }
    while (!*h->stop && !h->failed) {
        natsMsgList l = {0};
        s = natsSubscription_Fetch(&l, sub, h->batch, 200, NULL);
        if (s == NATS_OK) {
            for (int i = 0; i < l.Count && !h->failed; i++) {
                char subj[64];
                snprintf(subj, sizeof(subj), "%s.B%d", h->to_prefix, i);
                while ((s = js_PublishAsync(pub, subj, natsMsg_GetData(l.Msgs[i]), natsMsg_GetDataLength(l.Msgs[i]),
                                            NULL)) == NATS_TIMEOUT)
                    ; /* MaxPending reached: it waited, sent nothing; again */
                if (s != NATS_OK) {
                    fprintf(stderr, "baseline: publish to %s: %s\n", subj, natsStatus_GetText(s));
                    h->failed = 1;
                }
            }
            if (!h->failed && (s = js_PublishAsyncComplete(pub, NULL)) != NATS_OK) {
                fprintf(stderr, "baseline: publishes to %s unacknowledged: %s\n", h->to_prefix, natsStatus_GetText(s));
                h->failed = 1;
            }
            for (int i = 0; i < l.Count && !h->failed; i++)
                natsMsg_Ack(l.Msgs[i], NULL);
        } else if (s != NATS_TIMEOUT) {
            fprintf(stderr, "baseline: fetch from %s/%s: %s\n", h->stream, h->durable, natsStatus_GetText(s));
            h->failed = 1;
        }
        natsMsgList_Destroy(&l);
    }
out:
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(pub);
    jsCtx_Destroy(js);
    return NULL;
}

static double baseline(long n)
{
    natsfix fix = {0};
    natsConnection *nc = NULL, *obs = NULL;
    natsSubscription *sub = NULL;
    jsCtx *js = NULL;
    provision_report rep;
    char err[ERR_LEN];
    volatile int stop = 0;
    pthread_t t1, t2;
    double t0, dt;
    hop h1, h2;

    if (natsfix_start(&fix, NULL) != 0)
        exit(1);
    natsConnection_ConnectTo(&nc, fix.url);
    natsConnection_ConnectTo(&obs, fix.url);
    natsConnection_JetStream(&js, nc, NULL);
    if (provision_all(js, 1, &rep, err) != ORCH_OK) {
        fprintf(stderr, "baseline: provisioning: %s\n", err);
        exit(1);
    }
    h1 = (hop){nc, "INTAKE", TOPO_DUR_ROUTER, "plan.requirement", 256, &stop, 0};
    h2 = (hop){nc, "PLAN", TOPO_DUR_SCHEDULER_PLAN, "requirements.backend", 64, &stop, 0};
    arrived = 0;
    natsConnection_Subscribe(&sub, obs, "requirements.>", on_dispatch, NULL);
    pthread_create(&t1, NULL, hop_thread, &h1);
    pthread_create(&t2, NULL, hop_thread, &h2);
    t0 = now_s();
    publish_all(nc, n, 0, 0);
    wait_arrived(n, 120);
    dt = now_s() - t0;
    stop = 1;
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    natsConnection_Destroy(obs);
    natsfix_stop(&fix);
    if (arrived < n)
        fprintf(stderr, "baseline: %ld of %ld arrived\n", (long)arrived, n);
    return arrived >= n && !h1.failed && !h2.failed ? n / dt : 0;
}

static pid_t start(natsfix *f, const char *name, const char *instance, const char *const extra[])
{
    char bin[512], exe[64], url[96], inst[96];
    const char *env[16] = {url, inst};
    const char *argv[2];
    int k = 2;
    snprintf(exe, sizeof(exe), "orch-%s", name);
    snprintf(url, sizeof(url), "ORCH_NATS_URL=%s", f->url);
    snprintf(inst, sizeof(inst), "ORCH_SERVICE_INSTANCE=%s", instance);
    for (int i = 0; extra && extra[i] && k < 15; i++)
        env[k++] = extra[i];
    env[k] = NULL;
    argv[0] = proc_bin(exe, bin, sizeof(bin));
    argv[1] = NULL;
    return proc_spawn(argv, env, f->dir, "bench.log");
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    fclose(f);
    return kb;
}

/* CPU seconds (user + system) a process has used so far. */
static double cpu_s(pid_t pid)
{
    char path[64];
    unsigned long ut = 0, st = 0;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    if (fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        ut = st = 0;
    fclose(f);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* One synchronous KV write's round trip on a SendAsap connection: what
 * each of the scheduler's saves costs. */
static double kv_put_us(const char *url)
{
    natsConnection *nc = NULL;
    natsOptions *o = NULL;
    jsCtx *js = NULL;
    kvStore *kv = NULL;
    double t0, dt;
    const int n = 2000;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, url);
    natsOptions_SetSendAsap(o, true);
    natsConnection_Connect(&nc, o);
    natsOptions_Destroy(o);
    natsConnection_JetStream(&js, nc, NULL);
    if (js_KeyValue(&kv, js, "orch_counters") != NATS_OK)
        return -1;
    t0 = now_s();
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof(key), "bench-%d", i % 50);
        kvStore_PutString(NULL, kv, key, "x");
    }
    dt = now_s() - t0;
    kvStore_Destroy(kv);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return dt / n * 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Prints p50 and p99 of the latencies collected, then forgets them. */
static void print_latency(const char *what, const char *target)
{
    if (nlat > 0) {
        qsort(lat, (size_t)nlat, sizeof(double), cmp);
        printf("%-52s p50 %.2f ms, p99 %.2f ms (%ld samples%s)\n", what, lat[nlat / 2], lat[(long)(nlat * 0.99)],
               (long)nlat, target);
    }
    nlat = 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 5000, nlatency = argc > 2 ? atol(argv[2]) : 3000;
    double rate = argc > 3 ? atof(argv[3]) : 1000;
    double base, suite, t0;
    int rc = 0;
    natsfix fix = {0};
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    pid_t router, scheduler;
    const char *sched_env[] = {"ORCH_SCHEDULER_WINDOW=100000", "ORCH_BUDGET_TOTAL=1000000000000",
                               "ORCH_BUDGET_BACKEND=1000000000000", "ORCH_LOG_LEVEL=warn", NULL};
    const char *router_env[] = {"ORCH_LOG_LEVEL=warn", NULL};

    base = baseline(n);
    printf("%-52s %10.0f per second\n", "baseline: 2 JetStream hops, pass-through", base);
    if (base <= 0)
        rc = 1; /* a ratio against nothing measures nothing: say so in the exit status */

    if (natsfix_start(&fix, NULL) != 0)
        return 1;
    router = start(&fix, "router", "bench-router", router_env);
    scheduler = start(&fix, "scheduler", "bench-scheduler", sched_env);
    natsConnection_ConnectTo(&nc, fix.url);
    sleep(2); /* provisioned, leading */
    arrived = 0;
    natsConnection_Subscribe(&sub, nc, "requirements.>", on_dispatch, NULL);
    lat_cap = n > nlatency ? n : nlatency;
    lat = calloc((size_t)lat_cap + 1, sizeof(double));
    {
        double c0 = cpu_s(scheduler), r0 = cpu_s(router), wall;
        t0 = now_s();
        publish_all(nc, n, 0, 1);
        wait_arrived(n, 300);
        wall = now_s() - t0;
        suite = arrived >= n ? n / wall : arrived / wall;
        if (arrived < n)
            rc = 1;
        printf("%-52s scheduler %.0f%%, router %.0f%% of one core\n", "CPU while the suite ran flat out",
               100.0 * (cpu_s(scheduler) - c0) / wall, 100.0 * (cpu_s(router) - r0) / wall);
        printf("%-52s %.0f us per requirement at the scheduler\n", "wall time", wall / (double)n * 1e6);
        printf("%-52s %.0f us\n", "one synchronous KV write (SendAsap)", kv_put_us(fix.url));
    }
    printf("%-52s %10.0f per second (%ld of %ld dispatched)\n", "suite: router + scheduler, full speed", suite,
           (long)arrived, n);
    printf("%-52s %10.3f (target at least 0.5)\n", "ratio suite / baseline", base > 0 ? suite / base : 0);
    print_latency("intake -> dispatch latency at saturation", "");

    /* latency at a fixed offered load */
    arrived = 0;
    /* new ids (L<n>) for this phase */
    {
        jsCtx *js = NULL;
        jsOptions o;
        double start = now_s();
        jsOptions_Init(&o);
        o.PublishAsync.MaxPending = 4096;
        natsConnection_JetStream(&js, nc, &o);
        for (long i = 0; i < nlatency; i++) {
            char body[160];
            double due = start + (double)i / rate;
            while (now_s() < due)
                usleep(50);
            snprintf(body, sizeof(body), "{\"id\":\"L%ld\",\"title\":\"t=%lld\",\"assignedAgent\":\"backend\"}", i,
                     (long long)now_ns());
            js_PublishAsync(js, "intake.requirements", body, (int)strlen(body), NULL);
        }
        js_PublishAsyncComplete(js, NULL);
        jsCtx_Destroy(js);
    }
    wait_arrived(nlatency, 120);
    print_latency("intake -> dispatch latency at the offered load", "; target p99 under 10 ms");
    printf("%-52s %.0f per second\n", "offered load", rate);
    sleep(2);
    printf("%-52s router %.1f MB, scheduler %.1f MB (after the runs)\n", "RSS", rss_kb(router) / 1024.0,
           rss_kb(scheduler) / 1024.0);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    proc_stop(router, 5000);
    proc_stop(scheduler, 5000);

    /* idle memory of each service, fresh */
    {
        natsfix idle = {0};
        const char *names[] = {"router", "scheduler", "verifier", "monitor"};
        pid_t p[4];
        natsfix_stop(&fix);
        if (natsfix_start(&idle, NULL) != 0)
            return 1;
        for (int i = 0; i < 4; i++)
            p[i] = start(&idle, names[i], names[i], router_env);
        double c0[4];
        sleep(3);
        printf("%-52s", "idle RSS (target under 10 MB each)");
        for (int i = 0; i < 4; i++) {
            printf(" %s %.1f MB", names[i], rss_kb(p[i]) / 1024.0);
            c0[i] = cpu_s(p[i]);
        }
        printf("\n");
        sleep(IDLE_CPU_S);
        printf("%-52s", "idle CPU (share of one core over " IDLE_CPU_TEXT ")");
        for (int i = 0; i < 4; i++)
            printf(" %s %.2f%%", names[i], 100.0 * (cpu_s(p[i]) - c0[i]) / IDLE_CPU_S);
        printf("\n");
        for (int i = 0; i < 4; i++)
            proc_stop(p[i], 5000);
        natsfix_stop(&idle);
    }
    free(lat);
    nats_Close();
    return rc;
}
