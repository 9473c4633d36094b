/* When to replace an agent that ended: the Host Listener keeps each type's
 * agents running, but an agent that exits at once (a missing binary, a bad
 * key, a config error) must not be restarted in a tight loop: unchecked,
 * one such agent was restarted about 8 times a second, forever.
 *
 * The rule, per agent type: a run shorter than min_uptime_ms is a quick
 * exit. The first replacement after a run that lasted is immediate; after n
 * quick exits in a row it waits base_ms * 2^(n-1), capped at max_ms. After
 * alert_after quick exits in a row the caller raises one alert; a run that
 * lasts resets the count and re-arms the alert. Pure: the caller passes the
 * time (monotonic ms). */
#ifndef ORCH_RESTART_H
#define ORCH_RESTART_H

#include <stdint.h>

typedef struct {
    int64_t min_uptime_ms;
    int64_t base_ms;
    int64_t max_ms;
    int alert_after;
} restart_cfg;

typedef struct {
    int quick_exits;        /* in a row */
    int pending;            /* replacements owed */
    int64_t not_before_ms;  /* when the next may start */
    int alerted;            /* the alert for this streak was raised */
} restart_state;

/* An agent of this type ended after running ran_ms at time now_ms: one
 * replacement is owed. Returns the delay before it may start (0: now) and
 * sets *alert to 1 exactly once per streak, when the streak reaches
 * cfg->alert_after. */
int64_t restart_on_exit(restart_state *r, const restart_cfg *c, int64_t ran_ms, int64_t now_ms, int *alert);

/* How many of the owed replacements may start at now_ms (all or none);
 * the caller starts them and calls restart_started for each. */
int restart_due(const restart_state *r, int64_t now_ms);
void restart_started(restart_state *r);

/* Kills on request, bounded. Anyone who may publish control.kill.<instance>
 * can ask for any agent to be stopped (without authentication, anyone on
 * the bus; instance names are guessable), and a stream of requests would
 * keep a type's agents restarting and its work undone. So at most max
 * kills of one type are carried out within any window_ms; the rest are
 * refused (the caller logs and alerts each, kept or refused). A stuck
 * agent (the monitor's reason to ask) is rare: the bound costs nothing in
 * normal running. Sliding window, per type, of the times of the kills
 * carried out; pure, the caller passes the time (monotonic ms). */
#define KILL_GATE_MAX 64   /* largest max the gate can hold */

typedef struct {
    int64_t at[KILL_GATE_MAX];  /* when the kills in the window were carried out, oldest first */
    int n;
} kill_gate;

/* Whether one more kill may be carried out at now_ms under at most max
 * (1..KILL_GATE_MAX; larger is taken as KILL_GATE_MAX) in window_ms:
 * 1, and it is counted; 0, refused and not counted. */
int kill_gate_admit(kill_gate *g, int max, int64_t window_ms, int64_t now_ms);

#endif
