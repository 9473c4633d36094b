#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "text.h"

#define ST(x) ORCHESTRATOR__V1__STATUS__STATUS_##x

const double metrics_bounds[METRICS_BOUNDS] = {1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 14400};

void metrics_hist_observe(metrics_hist *h, double seconds)
{
    int i = 0;
    if (!(seconds > 0))
        seconds = 0;
    while (i < METRICS_BOUNDS && seconds > metrics_bounds[i])
        i++;
    h->bucket[i]++;
    h->count++;
    h->sum += seconds;
}

/* The text goes to a memory stream (POSIX open_memstream): it grows as
 * needed, and out of memory ends the daemon as xmalloc does. */
typedef struct {
    FILE *f;
} obuf;

static void put(obuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(obuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(b->f, fmt, ap);
    va_end(ap);
}

static void head(obuf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the format wants it: backslash, double quote and line
 * feed escaped. Service names come from the settings, so they are escaped
 * although ours never need it. */
static void put_label(obuf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            put(b, "\\%c", *v);
        else if (*v == '\n')
            put(b, "\\n");
        else
            put(b, "%c", *v);
    }
}

/* Type 0 (unknown) is shown only when something was counted under it. */
static int skip_type(int t, int nonzero) { return t == 0 && !nonzero; }

static void per_type_ll(obuf *b, const char *name, const char *type, const char *help,
                        const long long *v, int unknown_is_negative)
{
    head(b, name, type, help);
    for (int t = 0; t < METRICS_TYPES; t++) {
        if (skip_type(t, v[t] != 0) || (unknown_is_negative && v[t] < 0))
            continue;
        put(b, "%s{type=\"%s\"} %lld\n", name, names_agent_type((Orchestrator__V1__AgentType)t), v[t]);
    }
}

static void per_type_u64(obuf *b, const char *name, const char *help, const uint64_t *v)
{
    head(b, name, "gauge", help);
    for (int t = 0; t < METRICS_TYPES; t++) {
        if (skip_type(t, v[t] != 0))
            continue;
        put(b, "%s{type=\"%s\"} %llu\n", name, names_agent_type((Orchestrator__V1__AgentType)t),
            (unsigned long long)v[t]);
    }
}

static void histogram(obuf *b, const char *name, const char *help, const metrics_hist *h)
{
    head(b, name, "histogram", help);
    for (int t = 0; t < METRICS_TYPES; t++) {
        const char *tn = names_agent_type((Orchestrator__V1__AgentType)t);
        uint64_t cum = 0;
        if (skip_type(t, h[t].count != 0))
            continue;
        for (int i = 0; i < METRICS_BOUNDS; i++) {
            cum += h[t].bucket[i];
            put(b, "%s_bucket{type=\"%s\",le=\"%g\"} %llu\n", name, tn, metrics_bounds[i], (unsigned long long)cum);
        }
        cum += h[t].bucket[METRICS_BOUNDS];
        put(b, "%s_bucket{type=\"%s\",le=\"+Inf\"} %llu\n", name, tn, (unsigned long long)cum);
        put(b, "%s_sum{type=\"%s\"} %.6f\n", name, tn, h[t].sum);
        put(b, "%s_count{type=\"%s\"} %llu\n", name, tn, (unsigned long long)h[t].count);
    }
}

char *metrics_format(const metrics_snapshot *s)
{
    char *text = NULL;
    size_t len = 0;
    obuf b = {open_memstream(&text, &len)};

    if (!b.f)
        abort();

    head(&b, "orch_requirements", "gauge", "Requirements the monitor knows, by agent type and status.");
    for (int t = 0; t < METRICS_TYPES; t++) {
        long long any = 0;
        for (int st = 1; st < METRICS_STATUSES; st++)
            any |= s->requirements[t][st];
        if (skip_type(t, any != 0))
            continue;
        for (int st = 1; st < METRICS_STATUSES; st++)
            put(&b, "orch_requirements{type=\"%s\",status=\"%s\"} %lld\n",
                names_agent_type((Orchestrator__V1__AgentType)t), names_status((Orchestrator__V1__Status)st),
                s->requirements[t][st]);
    }
    per_type_ll(&b, "orch_queue_depth", "gauge",
                "Requirements waiting for the agent type: READY ones plus those released to its consumer that no "
                "agent took yet (not delivered, or delivered and not acknowledged).",
                s->queue_depth, 1);
    per_type_ll(&b, "orch_consumer_lag", "gauge",
                "Messages on the agent type's consumer not yet delivered to any agent.", s->consumer_lag, 1);
    per_type_u64(&b, "orch_budget_tokens_used", "Tokens charged to the agent type today.", s->tokens_used);
    per_type_u64(&b, "orch_budget_tokens_limit", "The agent type's daily token budget (0: none).", s->tokens_limit);

    head(&b, "orch_budget_cost_dollars", "gauge",
         "Today's US dollars of the agent type: what its runs cost on the ledger, else its tokens at the configured "
         "price.");
    for (int t = 0; t < METRICS_TYPES; t++) {
        if (skip_type(t, s->cost_dollars[t] != 0))
            continue;
        put(&b, "orch_budget_cost_dollars{type=\"%s\"} %.6f\n", names_agent_type((Orchestrator__V1__AgentType)t),
            s->cost_dollars[t]);
    }
    per_type_ll(&b, "orch_agents_active", "gauge", "Agent instances heard from recently.", s->agents_active, 0);
    per_type_ll(&b, "orch_attempts_total", "counter", "Attempts started on requirements of the agent type.",
                s->attempts, 0);
    per_type_ll(&b, "orch_escalations_total", "counter", "Requirements escalated to a person.", s->escalations, 0);
    per_type_ll(&b, "orch_results_total", "counter", "Results agents reported.", s->results, 0);
    per_type_ll(&b, "orch_agent_errors_total", "counter", "Errors agents reported.", s->agent_errors, 0);
    histogram(&b, "orch_dispatch_latency_seconds", "From a requirement seen READY to its dispatch.",
              s->dispatch_latency);
    histogram(&b, "orch_verification_duration_seconds", "The verifier's steps on one result, summed.",
              s->verification);

    head(&b, "orch_alerts_firing", "gauge", "Alerts firing now.");
    put(&b, "orch_alerts_firing %lld\n", s->alerts_firing);
    head(&b, "orch_monitor_leader", "gauge", "1 when this monitor holds the lease and its figures are live.");
    put(&b, "orch_monitor_leader %d\n", s->leader ? 1 : 0);
    head(&b, "orch_service_up", "gauge", "1 when the service answered $SRV.PING within the grace.");
    for (int i = 0; i < s->nservices; i++) {
        put(&b, "orch_service_up{service=\"");
        put_label(&b, s->services[i].name ? s->services[i].name : "");
        put(&b, "\"} %d\n", s->services[i].up ? 1 : 0);
    }
    if (fclose(b.f) != 0 || !text)
        abort();
    return text;
}

struct metrics_ready {
    strmap *slot_of;        /* id -> slot in since */
    int64_t *since;
    int *free_slots, nfree, nslots;
};

metrics_ready *metrics_ready_create(void)
{
    metrics_ready *r = xcalloc(1, sizeof(*r));
    r->slot_of = strmap_create();
    return r;
}

void metrics_ready_destroy(metrics_ready *r)
{
    if (!r)
        return;
    strmap_destroy(r->slot_of);
    free(r->since);
    free(r->free_slots);
    free(r);
}

static void ready_forget(metrics_ready *r, const char *id)
{
    int slot;
    if (!strmap_get(r->slot_of, id, &slot))
        return;
    strmap_del(r->slot_of, id);
    r->free_slots[r->nfree++] = slot;
}

static void ready_note(metrics_ready *r, const char *id, int64_t since)
{
    int slot;
    if (strmap_get(r->slot_of, id, &slot))
        return; /* the first time counts */
    if (!r->nfree) {
        int grow = r->nslots ? r->nslots : 256;
        r->since = xrealloc(r->since, sizeof(int64_t) * (size_t)(r->nslots + grow));
        r->free_slots = xrealloc(r->free_slots, sizeof(int) * (size_t)(r->nslots + grow));
        for (int i = r->nslots + grow - 1; i >= r->nslots; i--)
            r->free_slots[r->nfree++] = i;
        r->nslots += grow;
    }
    slot = r->free_slots[--r->nfree];
    r->since[slot] = since;
    strmap_put(r->slot_of, id, slot);
}

double metrics_ready_state(metrics_ready *r, const pb_state *prev, const pb_state *st)
{
    int slot;
    int64_t from;
    double out = -1;
    if (st->status == ST(READY)) {
        /* seen becoming READY now, or READY already when first seen */
        ready_note(r, st->id, prev && prev->status != ST(READY) ? st->updated_at_ms
                              : prev ? prev->updated_at_ms : st->updated_at_ms);
        return -1;
    }
    if (prev && st->status == ST(DISPATCHED) && st->dispatched_at_ms > 0 &&
        (prev->status != ST(DISPATCHED) || prev->attempt != st->attempt) && prev->status != ST(VERIFYING)) {
        from = strmap_get(r->slot_of, st->id, &slot) ? r->since[slot] : prev->updated_at_ms;
        if (from > 0 && st->dispatched_at_ms >= from)
            out = (double)(st->dispatched_at_ms - from) / 1000.0;
    }
    ready_forget(r, st->id);
    return out;
}
