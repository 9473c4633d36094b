#include "restart.h"

int64_t restart_on_exit(restart_state *r, const restart_cfg *c, int64_t ran_ms, int64_t now_ms, int *alert)
{
    int64_t delay = 0;

    *alert = 0;
    if (ran_ms >= c->min_uptime_ms) {
        r->quick_exits = 0;
        r->alerted = 0;
    } else {
        r->quick_exits++;
        delay = c->base_ms;
        for (int i = 1; i < r->quick_exits && delay < c->max_ms; i++)
            delay *= 2;
        if (delay > c->max_ms)
            delay = c->max_ms;
        if (r->quick_exits >= c->alert_after && !r->alerted) {
            r->alerted = 1;
            *alert = 1;
        }
    }
    r->pending++;
    /* Several agents ending together wait for the latest of their delays. */
    if (now_ms + delay > r->not_before_ms)
        r->not_before_ms = now_ms + delay;
    return delay;
}

int restart_due(const restart_state *r, int64_t now_ms)
{
    return r->pending > 0 && now_ms >= r->not_before_ms ? r->pending : 0;
}

void restart_started(restart_state *r)
{
    if (r->pending > 0)
        r->pending--;
}

int kill_gate_admit(kill_gate *g, int max, int64_t window_ms, int64_t now_ms)
{
    int gone = 0;
    if (max > KILL_GATE_MAX)
        max = KILL_GATE_MAX;
    while (gone < g->n && now_ms - g->at[gone] >= window_ms)
        gone++;
    for (int i = gone; i < g->n; i++)
        g->at[i - gone] = g->at[i];
    g->n -= gone;
    if (max <= 0 || g->n >= max)
        return 0;
    g->at[g->n++] = now_ms;
    return 1;
}
