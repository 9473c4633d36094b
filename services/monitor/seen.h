/* What the monitor has seen, and what the rules and the dashboard need from
 * it. Pure: every event comes in with the time it is handled at; nothing
 * here reads the clock, logs or touches NATS.
 *
 * Events: the scheduler's requirement states and budgets (its KV buckets),
 * what the scheduler says of its plan (mode, turn length, conservation,
 * critical path, the day's limits), agents' heartbeats, results and errors
 * (already judged by the adapter: only reports that count come here),
 * verifier infrastructure errors, queue depths and $SRV.PING answers.
 *
 * Answers: a rules snapshot (rules.h), a dashboard input (dashboard.h), the
 * agent table's notices, whether a stuck attempt was already stopped, and
 * whether the rules' inputs are all in (seen_settled).
 *
 * Restarts. A leader that starts knows nothing: no service has answered a
 * ping, no error is in a window, no requirement was ever blocked. Rules
 * evaluated on that would find every firing alert gone and resolve it
 * (a service_down resolved 0.3 s after a restart while the service was still
 * down). Two things prevent it:
 *   - the memory the rules and metrics need that no other source holds (the
 *     services' last answers, the error windows, the results and errors
 *     counted per type, the requirements that ever waited on a dependency
 *     or an overlap, the last activity on work in flight) is saved with
 *     seen_save and restored with seen_load; without the last activity a
 *     successor counted a long-running agent's silence from the dispatch and
 *     stopped it, and without the counts it showed no error at all with a
 *     dozen in the stream (an error rate of 0%);
 *   - what can be rebuilt (states and budgets from KV, queue depths, one
 *     round of pings) must be in before seen_settled says yes; until then
 *     an alert that is not found is unknown, not resolved.
 *
 * Budgets. The day is the scheduler's (its configured time zone): the
 * newest day seen in a budget entry or the plan is today, and an entry of an
 * older day is ignored. The limits come from the plan, so a type with no use
 * yet has its limit, and a restarted scheduler's new total shows. */
#ifndef MONITOR_SEEN_H
#define MONITOR_SEEN_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "agents.h"
#include "hostad.h"
#include "hosttab.h"
#include "dashboard.h"
#include "names.h"
#include "pb.h"
#include "rules.h"

#define SEEN_TYPES NAMES_AGENT_TYPES
#define SEEN_MAX_SERVICES 16
#define SEEN_PATH_MAX 16

typedef struct {
    long long max_agents;      /* agent table slots */
    long long agent_idle_ms;   /* an instance without work silent this long is forgotten */
    long long active_ms;       /* an agent seen within this is active on the dashboard */
} seen_cfg;

/* What the scheduler says of its plan (orch.scheduler.list). */
typedef struct {
    int known;                 /* 0: the scheduler did not answer */
    char mode[16];             /* "continuous", "turns" */
    int turn_minutes;          /* 0: not said */
    int conservation;
    char path[SEEN_PATH_MAX][64];
    int npath;
    char path_end[32];         /* ISO time the critical path ends, "" unknown */
    char roadmap_eta[32];      /* ISO time the scheduler's forecast ends all open work, "" unknown */
    char day[16];
    int have_budget;
    uint64_t used_total, limit_total, used[SEEN_TYPES], limit[SEEN_TYPES];
    dash_usd usd;             /* the day's dollars, as the ledger has them */
    char paused[DASH_PAUSED_MAX][DASH_PAUSED_LEN]; /* "backend until 10:42Z (rate_limit: ...)" */
    int npaused;
} seen_plan;

typedef struct seen seen;

/* services: the names expected to answer $SRV.PING (borrowed for the life
 * of the seen). */
seen *seen_create(const seen_cfg *c, const char *const *services, int nservices, int64_t now);
void seen_destroy(seen *s);
/* The rules' stale threshold: an agent not heard for longer is not active
 * either (dash_agent_active); 0, the default, none. */
void seen_stale_after(seen *s, int64_t ms);

/* A requirement's state from KV; the seen takes st (freed by it). */
void seen_state(seen *s, pb_state *st, int64_t now);
/* The initial values of the states and budgets buckets are all in. */
void seen_states_synced(seen *s);
void seen_budgets_synced(seen *s);
/* A budget entry from KV (borrowed). */
void seen_budget(seen *s, const pb_budget *u);
/* The scheduler's plan (parsed with seen_plan_from_json). */
void seen_plan_set(seen *s, const seen_plan *p);
/* Reads orch.scheduler.list's answer; returns 0, or -1 when it is no object. */
int seen_plan_from_json(const cJSON *o, seen_plan *p);

/* The state of id, borrowed until the next seen_state; NULL when unknown. */
const pb_state *seen_requirement(const seen *s, const char *id);
/* Whether id is DISPATCHED or VERIFYING. */
int seen_in_flight(const seen *s, const char *id);

/* What the agent table said when an instance spoke: nothing new, or the
 * first time it is full (said once until it has room again). */
typedef enum { SEEN_QUIET = 0, SEEN_SAY_EVICTED, SEEN_SAY_UNTRACKED } seen_say;

/* A heartbeat or a result of instance (type) on id ("" or NULL: none) that
 * counts: activity on the work and the instance works on it. gone gets the
 * instance that gave way on SEEN_SAY_EVICTED. */
seen_say seen_report(seen *s, int type, const char *id, const char *instance, int64_t now, char *gone, size_t len);
/* A result that counts (type: its subject's). */
void seen_result(seen *s, int type);
/* An error that counts against type; agent: an agent's own (activity of
 * instance on id, which does not become the work it is on). */
void seen_error(seen *s, int type, int agent, const char *id, const char *instance, int64_t now);
/* A verifier infrastructure error. */
void seen_infra(seen *s, int64_t now);
/* An integration message from instance: it is alive (no new entry). */
void seen_integration(seen *s, const char *instance, int64_t now);
/* What a type's consumer holds that no agent took (pending + ack-pending);
 * the rules and the dashboard add the type's READY requirements to it. */
void seen_depth(seen *s, int type, int depth);
/* A ping round ended; name answered in it (call once per answer, then once
 * with NULL at the end of the round). */
void seen_ping(seen *s, const char *name, int64_t now);

/* Whether the rules' inputs are all in: states and budgets synced, depths
 * read and one ping round done since the start. */
int seen_settled(const seen *s);

/* Drops idle instances; returns 1 when the table has room again. */
void seen_sweep(seen *s, int64_t now);
/* An agent_table notice to announce (once per time the table filled):
 * returns 1 and fills text. */
int seen_table_notice(seen *s, char *text, size_t len);

/* The rules' view at now, borrowed until the next call. */
const rules_snapshot *seen_rules(seen *s, int64_t now);
/* Whether attempt of id is stopped for the first time: 1 (and remembered,
 * and the instance no longer counts as active), 0 when it was already. */
int seen_stop_once(seen *s, const char *id, unsigned attempt, const char *instance);

/* The dashboard's input at now, borrowed until the next call. */
const dash_input *seen_dash(seen *s, int64_t now);

/* An agent host's advert (hosts.<host id>), read and checked, heard at
 * now. The dashboard lists the hosts heard within SEEN_HOST_FORGET_MS. */
#define SEEN_HOST_FORGET_MS (10 * 60 * 1000LL)
void seen_host(seen *s, const hostad *a, int64_t now);

/* Counters for $SRV.STATS. */
void seen_stats(const seen *s, int *requirements, int *agents, long long *evicted, long long *untracked);

/* The memory no other source holds (see the header), as JSON (malloc'd),
 * and back: returns 0, or -1 when json does not parse (nothing changed). */
char *seen_save(const seen *s);
/* Whether that memory changed since the last call (a result, an error, a
 * first blocked or overlap wait, a ping round). */
int seen_take_dirty(seen *s);
int seen_load(seen *s, const char *json);

#endif
