/* The seed's dashboard and success metrics, from what the monitor knows:
 * the scheduler's requirement states (KV), agent activity, budgets, queue
 * depths and counters. Pure: renders Markdown or JSON from an input. */
#ifndef MONITOR_DASHBOARD_H
#define MONITOR_DASHBOARD_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "pb.h"

#include "names.h"

#define DASH_TYPES NAMES_AGENT_TYPES

typedef struct {
    const pb_state *st;
    int ever_blocked;       /* waited on a dependency at some point */
    int ever_overlap;       /* waited on a file overlap at some point */
    int blocker;            /* needs a person: escalated, or waits on a requirement nobody knows */
    int taken;              /* an agent took it (DISPATCHED work not taken was shown In Progress) */
} dash_item;

/* The day's dollars by type (index 0: the total), in millionths of a US
 * dollar: spent as the scheduler's ledger says, and the limits (0: none). */
typedef struct {
    uint64_t spent[DASH_TYPES], limit[DASH_TYPES];
} dash_usd;

/* The scheduler's pauses as shown: "backend until 10:42Z by scheduler
 * (rate_limit: ...)", at most DASH_PAUSED_MAX. */
#define DASH_PAUSED_MAX 8
#define DASH_PAUSED_LEN 200

/* An agent host of the pool as its last advert said (hosttab.h). */
typedef struct {
    char host[40];
    int slots, used;
    int running[DASH_TYPES];
    int64_t seen_ms;
} dash_host;

/* Adds "costUsd" and "costLimitUsd" (0: no limit) of type t (0: the
 * total) to o. */
void dash_usd_json(cJSON *o, const dash_usd *u, int t);

typedef struct {
    const char *instance;
    int type;
    int64_t last_seen_ms;
    const char *requirement;  /* what it works on, "" when idle */
} dash_agent;

typedef struct {
    const char *mode;             /* as shown: "Continuous", "Turn-Based (30-min cycles)" */
    int conservation;             /* the scheduler holds lower priorities back */
    const char (*paused)[DASH_PAUSED_LEN]; /* the scheduler's pauses, as shown */
    int npaused;
    const dash_host *hosts;       /* the pool's hosts heard lately, by id */
    int nhosts;
    const char (*critical_path)[64];
    int npath;
    const char *est_completion;   /* when the critical path ends (ISO), "" unknown */
    const char *next_task;        /* the next READY requirement, "" none */
    const char *next_review;      /* the next turn, "" outside turn mode */
    int64_t now_ms;
    const dash_item *items;
    int nitems;
    const dash_agent *agents;
    int nagents;
    uint64_t used[DASH_TYPES], limit[DASH_TYPES], used_total, limit_total;
    dash_usd usd;
    int depth[DASH_TYPES];    /* what waits: READY + released and not taken (rules_queue_depth); -1 unknown */
    long long results[DASH_TYPES], errors[DASH_TYPES];
    int firing_alerts;
    int64_t active_ms;        /* an agent seen within this is active (5 min) */
    int64_t stale_ms;         /* and not past the stale threshold (monitor.stale_ms); 0: none */
} dash_input;

/* Adds "hosts" to o: the pool's hosts of in ({"host", "slots", "used",
 * "free", "agents": {type: n}, "lastSeenMs"}). */
void dash_hosts_json(cJSON *o, const dash_input *in);

/* Whether a is active at in->now_ms: heard within active_ms and within
 * the stale threshold, whichever is shorter. An agent killed a minute ago
 * was listed as active for the 5 minutes of active_ms when work went stale
 * after seconds. The dashboard, the web page and /metrics all ask this. */
int dash_agent_active(const dash_input *in, const dash_agent *a);

typedef struct {
    int total, complete, escalated, in_flight, waiting;
    double completed_per_day;        /* over the last 24 h */
    double avg_minutes[5];           /* by complexity (index 1..4); -1 none */
    double first_time_acceptance;    /* complete on attempt 1 / complete; -1 none */
    double blocker_rate;             /* ever blocked / all */
    double error_rate[DASH_TYPES];   /* errors / (errors + results); -1 none */
    double tokens_per_requirement;   /* of completed work; -1 none */
    double usd_per_requirement;      /* of completed work, all its attempts, US dollars; -1 none */
    double usd_failed;               /* spent on attempts that failed (sent back, or escalated) */
    double conflict_rate;            /* ever waited on an overlap / all */
    double escalation_rate;          /* escalated / (complete + escalated); -1 none */
    int agents_active, agents_working;
    double utilisation;              /* active agents working on something now / active agents; -1 none */
} dash_metrics;

void dash_compute(const dash_input *in, dash_metrics *m);

/* Markdown in the seed's layout (malloc'd). */
char *dash_markdown(const dash_input *in);

/* The same data as JSON. */
cJSON *dash_json(const dash_input *in);

#endif
