/* Names of the protocol's enums, both ways: what people type (any case,
 * seed persona names, P0..P3) and what the suite prints. Pure. */
#ifndef ORCH_NAMES_H
#define ORCH_NAMES_H

#include <stddef.h>

#include "pb.h"

/* "CRITICAL", "HIGH", ...; "UNSPECIFIED" for 0. */
const char *names_priority(Orchestrator__V1__Priority p);
/* Accepts CRITICAL/HIGH/MEDIUM/LOW in any case and P0..P3. 0 if unknown. */
Orchestrator__V1__Priority names_priority_parse(const char *s);

/* How many agent type values there are, 0 (unknown) included: arrays
 * indexed by Orchestrator__V1__AgentType have this many slots. */
#define NAMES_AGENT_TYPES 7

/* Subject token: "backend", "frontend", "database", "documentation",
 * "review", "release"; "unknown" for 0. */
const char *names_agent_type(Orchestrator__V1__AgentType t);
/* The seed's persona for a type: "roy", "jen", "database-agent", ... */
const char *names_agent_persona(Orchestrator__V1__AgentType t);
/* The seed's durable consumer of a type: "roy-backend", ... */
const char *names_agent_consumer(Orchestrator__V1__AgentType t);
/* Accepts a type token, a persona or consumer name, any case. 0 if unknown. */
Orchestrator__V1__AgentType names_agent_parse(const char *s);
/* The type named by token `index` (from 0) of a subject: 1 for
 * "results.backend.REQ-1", 2 for "agents.heartbeat.backend.roy-1" and
 * "control.spawn.backend". 0 if there is no such token or it is unknown. */
Orchestrator__V1__AgentType names_agent_from_subject(const char *subject, int index);
/* Whether an errors.<source>.<...> subject is an agent's failure report:
 * its source token is "agent" (errors.agent.<id>). Every other source
 * (intake, scheduler, verifier, monitor, ...) is a service's report for
 * people and the monitor, never an agent's failure. 0 for NULL or any
 * subject outside errors.*. */
int names_error_is_agents(const char *subject);

/* What a requirement waits on (RequirementState.wait_kind), as orch.status
 * says it: "dependency", "window", "turn", "retry_backoff", ...;
 * "unspecified" for 0 and values this build does not know. */
const char *names_wait_kind(Orchestrator__V1__WaitKind k);

/* Known names for an error message. */
#define NAMES_AGENT_LIST "backend (roy), frontend (jen), database, documentation, review, release"

const char *names_status(Orchestrator__V1__Status s);
/* Also takes the seed's "PENDING" as NEW. 0 if unknown. */
Orchestrator__V1__Status names_status_parse(const char *s);

const char *names_complexity(Orchestrator__V1__Complexity c);
Orchestrator__V1__Complexity names_complexity_parse(const char *s);

/* The alert rules there are, the monitor's and the other services':
 * what a silence's rule= may name. */
#define NAMES_ALERT_RULES                                                                                  \
    "stale, stale_verifying, queue_depth, error_rate, infra_errors, budget, service_down, agent_table, "    \
    "escalation, charge_over_bound, estimate_over_daily_limit, unpublishable, conservation, "              \
    "topology_missing, agent_crashloop"
/* 1 when rule is one of NAMES_ALERT_RULES. */
int names_alert_rule_known(const char *rule);

/* Checks silence matchers: key=value pairs, comma separated, a rule= among
 * the known rules, a type= among the agent types. 1 when good; otherwise 0
 * and one line in err. */
int names_silence_matchers_ok(const char *m, char *err, size_t len);

/* The suite's subject families, each written once (README, "Subjects"). */
#define NAMES_SUBJ_INTAKE "intake"               /* intake.<anything> */
#define NAMES_SUBJ_PLAN "plan.requirement"       /* plan.requirement.<id> */
#define NAMES_SUBJ_REQUIREMENTS "requirements"   /* requirements.<type>.<id> */
#define NAMES_SUBJ_RESULTS "results"             /* results.<type>.<id> */
#define NAMES_SUBJ_VERDICTS "verdicts"           /* verdicts.<id> */
#define NAMES_SUBJ_ERRORS "errors"               /* errors.<source>.<id or reason> */
#define NAMES_SUBJ_HEARTBEAT "agents.heartbeat"  /* agents.heartbeat.<type>.<instance> */
#define NAMES_SUBJ_ALERTS "alerts"               /* alerts.<severity>.<rule> */
#define NAMES_SUBJ_SPAWN "control.spawn"         /* control.spawn.<type> */
#define NAMES_SUBJ_KILL "control.kill"           /* control.kill.<instance> */
#define NAMES_SUBJ_DEADLETTER "deadletter"       /* deadletter.<stream>.<consumer> */
#define NAMES_SUBJ_STATUS "orch.status"          /* orch.status.<id> */

/* Fills out (len bytes) with "<family>.<a>", or "<family>.<a>.<b>" when b
 * is not NULL, and returns out. */
const char *names_subject(char *out, size_t len, const char *family, const char *a, const char *b);

/* The same with an agent type's token as the first part:
 * names_subject_typed(out, len, NAMES_SUBJ_RESULTS, backend, "REQ-1") is
 * "results.backend.REQ-1"; id NULL gives "<family>.<type>". */
const char *names_subject_typed(char *out, size_t len, const char *family, int type, const char *id);

#endif
