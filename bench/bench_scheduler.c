/* The scheduler's core at scale: a random dependency graph of N
 * requirements (about 2 dependencies each, always on earlier ones), a window
 * of W released-but-not-started per type, every release completed as soon
 * as it is made, until everything is COMPLETE. Reports time to load, time to
 * release everything, the time of each decision (p50, p99) and peak RSS. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "land.h"
#include "schedule.h"
#include "text.h"

static char **released;
static long nreleased, capreleased;

static int on_dispatch(void *ctx, const pb_state *st, const char *msg_id, char why[ERR_LEN])
{
    (void)ctx;
    (void)msg_id;
    (void)why;
    if (nreleased == capreleased) {
        capreleased = capreleased ? capreleased * 2 : 1024;
        released = xrealloc(released, sizeof(char *) * (size_t)capreleased);
    }
    released[nreleased++] = xstrdup(st->id);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000, window = argc > 2 ? atol(argv[2]) : 10000;
    sched_cfg cfg;
    sched_out out;
    sched_clock clk = {1764000000000LL, "2026-11-24", 600};
    sched *s;
    double t0, t_load, t_release, *lat;
    long nlat = 0, done = 0, next = 0;
    struct rusage ru;
    unsigned seed = 42;

    memset(&out, 0, sizeof(out));
    out.dispatch = on_dispatch;
    sched_cfg_default(&cfg);
    cfg.window = (int)window;
    cfg.budget.total_limit = (uint64_t)1 << 60;
    for (int t = 1; t < 7; t++)
        cfg.budget.limit[t] = (uint64_t)1 << 58;
    cfg.spawn_depth = 1 << 30;
    s = sched_create(&cfg, &out, &clk);
    lat = xmalloc(sizeof(double) * (size_t)(n + 1));

    t0 = now_s();
    for (long i = 0; i < n; i++) {
        pb_requirement *r = xmalloc(sizeof(*r));
        char id[32];
        orchestrator__v1__requirement__init(r);
        snprintf(id, sizeof(id), "R%ld", i);
        r->id = xstrdup(id);
        r->title = xstrdup(id);
        r->type = (Orchestrator__V1__AgentType)(1 + i % 4);
        r->priority = (Orchestrator__V1__Priority)(1 + (i / 7) % 4);
        r->estimated_tokens = 1000;
        for (int k = 0; i > 0 && k < 2; k++) {
            char dep[32];
            seed = seed * 1103515245u + 12345u;
            snprintf(dep, sizeof(dep), "R%ld", (long)((seed >> 8) % (unsigned long)i));
            pb_add_str(&r->dependencies, &r->n_dependencies, dep);
        }
        sched_add(s, r, &clk);
    }
    t_load = now_s() - t0;

    /* Complete every released requirement; each completion is the verdict,
     * the approving review and the merge, which releases what it unblocks:
     * timed together as one decision. */
    t0 = now_s();
    while (next < nreleased) {
        const char *id = released[next++];
        double d0 = now_s();
        bench_verify(s, id, NULL, 0, &clk);
        bench_land(s, id, &clk);
        lat[nlat++] = now_s() - d0;
        done++;
    }
    t_release = now_s() - t0;
    getrusage(RUSAGE_SELF, &ru);
    qsort(lat, (size_t)nlat, sizeof(double), cmp);
    {
        size_t counts[NAMES_STATUS_COUNT];
        sched_count(s, counts);
        printf("scheduler core: %ld requirements, ~2 dependencies each, window %ld per type\n", n, window);
        printf("load: %.3f s (%.0f per second)\n", t_load, n / t_load);
        printf("release everything: %.3f s; %ld completed, %zu COMPLETE\n", t_release, done, counts[ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE]);
        printf("load + release: %.3f s (target under 2 s)\n", t_load + t_release);
        printf("decision time: p50 %.1f us, p99 %.1f us, max %.1f us\n", lat[nlat / 2] * 1e6,
               lat[(long)(nlat * 0.99)] * 1e6, lat[nlat - 1] * 1e6);
        printf("peak RSS: %.1f MB (target under 200 MB)\n", ru.ru_maxrss / 1024.0);
        if (counts[ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE] != (size_t)n) {
            fprintf(stderr, "not everything completed: %zu of %ld\n", counts[ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE], n);
            return 1;
        }
    }
    for (long i = 0; i < nreleased; i++)
        free(released[i]);
    free(released);
    free(lat);
    sched_destroy(s);
    return 0;
}
