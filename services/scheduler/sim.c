/* The ETA simulation.
 *
 * A requirement's ETA is not the longest path of expected work before it:
 * that assumes an agent for everything that could run at once, and a
 * roadmap of 300 backend requirements on two backend agents ends when the
 * agents have worked through them, not when its longest chain does. So the
 * scheduler plays its own release rule forward: the agents of each type it
 * has seen, the work in flight holding them for what is left of it, and
 * whenever one is free, the next ready requirement of its type in release
 * order (priority, then upward rank, then age) starts, taking its learned
 * expected duration (learn.c). Each requirement's simulated end is its
 * ETA; the last one is the roadmap's.
 *
 * It leaves out what it cannot know (failed attempts, new requirements,
 * agents coming and going) and what rarely decides the end (the release
 * window, which only holds work until an agent is free, file overlaps and
 * budgets), so the figure is "if things go as they have", recomputed as
 * they go otherwise.
 *
 * Cost: an event queue of finishes and a ready heap per type, each task
 * pushed and popped once: O((tasks + dependencies) log tasks), a few ms for
 * thousands of requirements, so it runs on demand (orch.status, the list)
 * rather than on every event. */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

#include "iheap.h"
#include "reserve.h"
#include "text.h"

typedef struct {
    const sim_task *t;
    const int64_t *finish;
} ord;

/* Events: the earlier finish first. */
static int ends_first(const void *ctx, int a, int b)
{
    const ord *o = ctx;
    return o->finish[a] != o->finish[b] ? o->finish[a] < o->finish[b] : a < b;
}

/* Ready work: the release order (priority, key, age). */
static int goes_first(const void *ctx, int a, int b)
{
    const ord *o = ctx;
    if (o->t[a].prio != o->t[b].prio)
        return o->t[a].prio < o->t[b].prio;
    if (o->t[a].key != o->t[b].key)
        return o->t[a].key > o->t[b].key;
    return o->t[a].order != o->t[b].order ? o->t[a].order < o->t[b].order : a < b;
}

static int type_of(const sim_task *t) { return t->type > 0 && t->type < NAMES_AGENT_TYPES ? t->type : 0; }

/* Candidates one start may pass over when reservations hold them: the
 * scheduler tries every ready one; the forecast stops here, so a queue of
 * thousands does not make it quadratic. */
#define SIM_PASS_OVER 8

/* What type t's agents are expected to do next at now, into r, as the
 * scheduler's reserve_build sees it: free agents, the expected ends of the
 * type's running work, and the tasks of type t waiting only on running
 * work (running: the event heap). */
static void reserve_at(reserve *r, const sim_task *task, const iheap *ev, const int *unmet, const int *off,
                       const int *users, const int64_t *exp_end, int t, int free_now, int64_t now)
{
    reserve_reset(r, free_now);
    for (int k = 0; k < ev->n; k++) {
        int i = ev->v[k];
        int64_t at = exp_end[i] > now ? exp_end[i] : now;
        if (type_of(&task[i]) == t)
            reserve_add_busy(r, at);
        for (int u = off[i]; u < off[i + 1]; u++)
            if (unmet[users[u]] == 1 && type_of(&task[users[u]]) == t)
                reserve_add_claim(r, at, task[users[u]].prio, task[users[u]].key, users[u]);
    }
    reserve_ready(r);
}

int64_t sim_run(const sim_task *task, int n, const int *deps, const int agents[NAMES_AGENT_TYPES], int reserve_on,
                int64_t *finish)
{
    int64_t *exp_end = xcalloc((size_t)n + 1, sizeof(int64_t)); /* when the scheduler expects each to end */
    reserve rsv = {0};
    int *unmet = xcalloc((size_t)n + 1, sizeof(int));
    int *off = xcalloc((size_t)n + 2, sizeof(int));   /* dependents, as CSR */
    int *users;
    int *fill = xcalloc((size_t)n + 1, sizeof(int));
    iheap ready[NAMES_AGENT_TYPES], ev;
    int busy[NAMES_AGENT_TYPES] = {0}, cap[NAMES_AGENT_TYPES];
    ord o = {task, finish};
    int64_t now = 0, end = 0;

    for (int t = 0; t < NAMES_AGENT_TYPES; t++) {
        iheap_init(&ready[t], goes_first, &o);
        cap[t] = agents[t] > 0 ? agents[t] : 1;
    }
    iheap_init(&ev, ends_first, &o);
    for (int i = 0; i < n; i++) {
        finish[i] = -1;
        for (int k = 0; k < task[i].ndeps; k++) {
            int d = deps[task[i].first_dep + k];
            unmet[i]++;
            if (d >= 0 && d < n)
                off[d + 1]++;
        }
    }
    for (int i = 0; i < n; i++)
        off[i + 1] += off[i];
    users = xmalloc(sizeof(int) * ((size_t)off[n] + 1));
    for (int i = 0; i < n; i++)
        for (int k = 0; k < task[i].ndeps; k++) {
            int d = deps[task[i].first_dep + k];
            if (d >= 0 && d < n) {
                users[off[d] + fill[d]++] = i;
            }
        }
    /* Work in flight holds its agents from now; there may be more of it
     * than agents counted (an agent just left): each still ends. */
    for (int i = 0; i < n; i++) {
        int t = type_of(&task[i]);
        if (task[i].running && unmet[i] == 0) {
            finish[i] = task[i].duration > 0 ? task[i].duration : 0;
            exp_end[i] = task[i].expect;
            busy[t]++;
            iheap_push(&ev, i);
        } else if (unmet[i] == 0) {
            iheap_push(&ready[t], i);
        }
    }
    for (;;) {
        for (int t = 0; t < NAMES_AGENT_TYPES; t++) {
            int built = 0;
            while (busy[t] < cap[t] && ready[t].n > 0) {
                int i = -1, passed[SIM_PASS_OVER], np = 0;
                while (ready[t].n > 0) {
                    int c = iheap_pop(&ready[t]);
                    /* released work (0) and CRITICAL (1) are never held */
                    if (reserve_on && task[c].prio > 1 && np < SIM_PASS_OVER) {
                        if (!built)
                            reserve_at(&rsv, task, &ev, unmet, off, users, exp_end, t, cap[t] - busy[t], now);
                        built = 1;
                        if (reserve_holds(&rsv, now, task[c].prio, task[c].key, task[c].expect) >= 0) {
                            passed[np++] = c;
                            continue;
                        }
                    }
                    i = c;
                    break;
                }
                for (int k = 0; k < np; k++)
                    iheap_push(&ready[t], passed[k]);
                if (i < 0)
                    break; /* all held: an agent waits for what is about to be ready */
                finish[i] = now + (task[i].duration > 0 ? task[i].duration : 0);
                exp_end[i] = now + task[i].expect;
                if (built)
                    reserve_take(&rsv, exp_end[i]);
                busy[t]++;
                iheap_push(&ev, i);
            }
        }
        if (ev.n == 0)
            break;
        {
            int i = iheap_pop(&ev);
            now = finish[i];
            if (now > end)
                end = now;
            busy[type_of(&task[i])]--;
            for (int k = off[i]; k < off[i + 1]; k++) {
                int u = users[k];
                if (--unmet[u] == 0)
                    iheap_push(&ready[type_of(&task[u])], u);
            }
        }
    }
    for (int t = 0; t < NAMES_AGENT_TYPES; t++)
        iheap_free(&ready[t]);
    iheap_free(&ev);
    free(exp_end);
    reserve_free(&rsv);
    free(unmet);
    free(off);
    free(users);
    free(fill);
    return end;
}
