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
/* The seed's durable consumer of a type: "roy-backend", ...: the one on
 * REQUIREMENTS whose filter is requirements.<type>.> in topology.c, where
 * it is spelled; "" for none. */
const char *names_agent_consumer(Orchestrator__V1__AgentType t);
/* Accepts a type token, a persona or consumer name, any case. 0 if unknown. */
Orchestrator__V1__AgentType names_agent_parse(const char *s);
/* The type named by token `index` (from 0) of a subject: 1 for
 * "results.backend.REQ-1", 2 for "agents.heartbeat.backend.roy-1" and
 * "control.spawn.backend". 0 if there is no such token or it is unknown. */
Orchestrator__V1__AgentType names_agent_from_subject(const char *subject, int index);
/* Whether an errors.<source>.<...> subject is an agent's failure report:
 * names_source_of(subject) == NAMES_SRC_AGENT (errors.agent.<id>). Every other source
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

/* How many statuses there are, UNSPECIFIED included: the size of an array
 * indexed by status. */
#define NAMES_STATUS_COUNT (ORCHESTRATOR__V1__STATUS__STATUS_MERGING + 1)

const char *names_status(Orchestrator__V1__Status s);
/* Also takes the seed's "PENDING" as NEW. 0 if unknown. */
Orchestrator__V1__Status names_status_parse(const char *s);

const char *names_complexity(Orchestrator__V1__Complexity c);
Orchestrator__V1__Complexity names_complexity_parse(const char *s);

/* 1 when rule is one of the alert kinds. */
int names_alert_rule_known(const char *rule);

/* Checks silence matchers: key=value pairs, comma separated, a rule= among
 * the known rules, a type= among the agent types. 1 when good; otherwise 0
 * and one line in err. */
int names_silence_matchers_ok(const char *m, char *err, size_t len);

/* The suite's subject families, each spelled once, in names.c's table
 * (README, "Subjects"). A family is the subject's first token or tokens;
 * what follows is the family's own (an agent type, an id, a reason). */
typedef enum {
    NAMES_FAM_INTAKE = 0,    /* intake.<anything> */
    NAMES_FAM_WORK,          /* work.requirements.<type>.<id>: the seed's intake */
    NAMES_FAM_PLAN,          /* plan.requirement.<id> */
    NAMES_FAM_REQUIREMENTS,  /* requirements.<type>.<id> */
    NAMES_FAM_RESULTS,       /* results.<type>.<id> */
    NAMES_FAM_VERDICTS,      /* verdicts.<id> */
    NAMES_FAM_ERRORS,        /* errors.<source>.<id or reason> */
    NAMES_FAM_INTEGRATION,   /* integration.<agent>.<topic> */
    NAMES_FAM_HEARTBEAT,     /* agents.heartbeat.<type>.<instance> */
    NAMES_FAM_ALERTS,        /* alerts.<severity>.<rule> */
    NAMES_FAM_SPAWN,         /* control.spawn.<type> */
    NAMES_FAM_KILL,          /* control.kill.<instance> */
    NAMES_FAM_DEADLETTER,    /* deadletter.<stream>.<consumer> */
    NAMES_FAM_STATUS,        /* orch.status.<id>: a request */
    NAMES_FAM_HOSTS,         /* hosts.<host id>: an agent host's advert (hostad.h) */
    NAMES_FAM_COUNT
} names_family;

/* The family's prefix, without the trailing dot ("errors",
 * "agents.heartbeat"); "" for a value out of range. */
const char *names_family_prefix(names_family f);

/* When subject is "<prefix of f>.<rest>" with a non-empty rest, returns
 * rest (pointing into subject); otherwise NULL (NULL subject included).
 * The one prefix compare: no hand-counted strncmp. */
const char *names_subject_rest(const char *subject, names_family f);

/* The historic spellings, for code that builds subjects with names_subject. */
#define NAMES_SUBJ_INTAKE names_family_prefix(NAMES_FAM_INTAKE)
#define NAMES_SUBJ_PLAN names_family_prefix(NAMES_FAM_PLAN)
#define NAMES_SUBJ_REQUIREMENTS names_family_prefix(NAMES_FAM_REQUIREMENTS)
#define NAMES_SUBJ_RESULTS names_family_prefix(NAMES_FAM_RESULTS)
#define NAMES_SUBJ_VERDICTS names_family_prefix(NAMES_FAM_VERDICTS)
#define NAMES_SUBJ_ERRORS names_family_prefix(NAMES_FAM_ERRORS)
#define NAMES_SUBJ_HEARTBEAT names_family_prefix(NAMES_FAM_HEARTBEAT)
#define NAMES_SUBJ_ALERTS names_family_prefix(NAMES_FAM_ALERTS)
#define NAMES_SUBJ_SPAWN names_family_prefix(NAMES_FAM_SPAWN)
#define NAMES_SUBJ_KILL names_family_prefix(NAMES_FAM_KILL)
#define NAMES_SUBJ_DEADLETTER names_family_prefix(NAMES_FAM_DEADLETTER)
#define NAMES_SUBJ_STATUS names_family_prefix(NAMES_FAM_STATUS)
#define NAMES_SUBJ_HOSTS names_family_prefix(NAMES_FAM_HOSTS)

/* Who reports on errors.<source>.*: the second token of the subject and
 * the body's "source". */
typedef enum {
    NAMES_SRC_NONE = 0,      /* not an errors.* subject, or a source not in the table */
    NAMES_SRC_AGENT,         /* errors.agent.<id>: an agent's failure */
    NAMES_SRC_INTAKE,        /* the router's refusals of intake */
    NAMES_SRC_SCHEDULER,
    NAMES_SRC_VERIFIER,
    NAMES_SRC_MONITOR,
    NAMES_SRC_COUNT
} names_source;

/* "agent", "intake", "scheduler", "verifier", "monitor"; "" for NONE. */
const char *names_source_token(names_source s);
/* The source of an errors.<source>[.<...>] subject; NAMES_SRC_NONE for any
 * other subject, an unknown source and NULL. */
names_source names_source_of(const char *subject);

/* The request subjects the services answer (srv.c endpoints, plain
 * subscriptions): each spelled here once. */
typedef enum {
    NAMES_REQ_SCHEDULER_LIST = 0, /* orch.scheduler.list: a page of requirements */
    NAMES_REQ_SCHEDULER_RETRY,    /* orch.scheduler.retry: an escalated requirement again */
    NAMES_REQ_DASHBOARD,          /* orch.dashboard: the monitor's summary */
    NAMES_REQ_MONITOR_SILENCE,    /* orch.monitor.silence */
    NAMES_REQ_ROUTER_CLASSIFY,    /* orch.router.classify: a dry run */
    NAMES_REQ_VERIFIER_STATS,     /* orch.verifier.stats */
    /* Decisions of people, answered by the scheduler's leader and sent
     * only by people (deploy/nats.conf): docs/scheduler.md. */
    NAMES_REQ_DECIDE_PAUSE,       /* orch.decide.pause */
    NAMES_REQ_DECIDE_RESUME,      /* orch.decide.resume */
    NAMES_REQ_DECIDE_CANCEL,      /* orch.decide.cancel.<id> */
    NAMES_REQ_DECIDE_PRIORITY,    /* orch.decide.priority.<id> */
    NAMES_REQ_COUNT
} names_request;

/* The subject of a request; "" for a value out of range. */
const char *names_request_subject(names_request r);

/* Alert severities as the subject alerts.<severity>.<rule> and people say
 * them: "info", "warning", "critical" (the protobuf's 1..3). */
const char *names_severity(Orchestrator__V1__Severity s);
/* Parses one of those words (any case). Returns 0 and sets *out, or -1 for
 * any other word or NULL: nothing unknown becomes a warning by default. */
int names_severity_parse(const char *s, Orchestrator__V1__Severity *out);

/* The alert rules there are, the monitor's and the other services': what
 * a silence's rule= may name and what an alert's rule is. */
typedef enum {
    NAMES_ALERT_STALE = 0,
    NAMES_ALERT_STALE_VERIFYING,
    NAMES_ALERT_QUEUE_DEPTH,
    NAMES_ALERT_ERROR_RATE,
    NAMES_ALERT_INFRA_ERRORS,
    NAMES_ALERT_BUDGET,
    NAMES_ALERT_SERVICE_DOWN,
    NAMES_ALERT_AGENT_TABLE,
    NAMES_ALERT_ESCALATION,
    NAMES_ALERT_CHARGE_OVER_BOUND,
    NAMES_ALERT_ESTIMATE_OVER_DAILY_LIMIT,
    NAMES_ALERT_UNPUBLISHABLE,
    NAMES_ALERT_CONSERVATION,
    NAMES_ALERT_TOPOLOGY_MISSING,
    NAMES_ALERT_AGENT_CRASHLOOP,
    NAMES_ALERT_LEADER_CONTESTED,
    NAMES_ALERT_STATE_QUARANTINED,
    NAMES_ALERT_AGENT_KILLED,
    NAMES_ALERT_MERGE_TRAIN_PAUSED,   /* docs/merge.md */
    NAMES_ALERT_MERGE_TRAIN_RESUMED,
    NAMES_ALERT_MERGE_TRAIN_UNREADABLE,
    NAMES_ALERT_BASE_FAILS,
    NAMES_ALERT_HOST_LOST,            /* an agent host stopped advertising (docs/deployment.md) */
    NAMES_ALERT_NO_HOST_ROOM,         /* spawns wait: no agent host has room */
    NAMES_ALERT_COUNT
} names_alert_kind;

/* "stale", "queue_depth", ...; "" for a value out of range. */
const char *names_alert_kind_token(names_alert_kind k);
/* The kind named by rule; NAMES_ALERT_COUNT when there is none. */
names_alert_kind names_alert_kind_parse(const char *rule);

/* Fills out (len bytes) with "<family>.<a>", or "<family>.<a>.<b>" when b
 * is not NULL, and returns out. */
const char *names_subject(char *out, size_t len, const char *family, const char *a, const char *b);

/* The same with an agent type's token as the first part:
 * names_subject_typed(out, len, NAMES_SUBJ_RESULTS, backend, "REQ-1") is
 * "results.backend.REQ-1"; id NULL gives "<family>.<type>". */
const char *names_subject_typed(char *out, size_t len, const char *family, int type, const char *id);

/* An agent's failure report: "errors.agent.<type>.<id>". The type is in
 * the subject so that deploy/nats.conf can let each type publish only its
 * own (errors.agent.<type>.>): a type fails only its own work. Returns
 * out. */
const char *names_agent_error_subject(char *out, size_t len, int type, const char *id);

/* Reads an agent's error subject: 1 when subject is one (names_error_is_agents),
 * with *type the agent type it names and *id (pointing into subject) the
 * requirement. The older "errors.agent.<id>" (three tokens) is still read,
 * with *type 0 (the body's or the work's own type is taken then): no
 * identity of deploy/nats.conf may publish it, so it comes only from a
 * server without permissions (tests, a laptop). A four-token subject whose
 * third token is no agent type gives *type -1. 0, with *type 0 and *id
 * NULL, for any other subject. */
int names_agent_error_of(const char *subject, int *type, const char **id);

#endif
