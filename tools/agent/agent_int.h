/* orch-agent's private header: the instance (agent.c) and what its roles
 * share. agent.c holds the loop, the CLI runs and the work role;
 * agent_roles.c the review and release roles, which act on a change
 * already made. */
#ifndef AGENT_AGENT_INT_H
#define AGENT_AGENT_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "agent.h"
#include "agentcore.h"
#include "pb.h"
#include "strmap.h"
#include "verify.h"

/* A refused merge's message: git's or the failing step's output, whole
 * enough to act on (the verifier passes on 64 KiB of a step's output). */
#define MERGE_MSG_MAX 16384

typedef struct {
    const agent_cfg *c;
    const char *type_name;
    Orchestrator__V1__AgentType type;
    const char *instance;
    const agent_preset *preset;
    agent_price price;           /* agent.price; model NULL: none configured */
    const vproject *project;
    vconfig projects;
    char *work_template, *review_template;
    char root[700], clone[800], home[800];
    natsConnection *nc;
    jsCtx *js;
    kvStore *states;        /* orch_requirements, to tell the current attempt; NULL when not readable */
    strmap *unsure;
    /* the run in progress, for heartbeats */
    const char *working_on;
    int64_t last_beat_ms;
    uint64_t live_tokens;   /* tokens the CLI's output showed so far in this run */
    uint64_t live_sent;     /* of which heartbeats carried */
    char *line;             /* the output's line being read */
    size_t line_len, line_cap;
    int line_dropped;       /* the line outgrew LINE_MAX: skipped to its end */
    /* the work the last message handed over, done after its ack */
    pb_requirement **taken;
    size_t n_taken;
    char *taken_data;       /* that message's body */
    size_t taken_len;
    agent_breaker breaker;  /* open: this instance takes no more work (agentcore.h) */
    natsSubscription *sub;  /* the type's work; NULL once stopped */
} agent;

typedef struct {
    const char *id;
    uint32_t attempt;
} work_ref;

typedef struct {
    agent_usage usage;
    agent_failure failure;
    int64_t duration_ms;
    char *output;
    int ran;                /* the CLI was run (or its command could not be built) */
} cli_outcome;

/* 1 once SIGTERM or SIGINT asked the agent to stop. */
int agent_stopping(void);

int write_file(const char *path, const char *text);
int git(agent *a, const char *dir, const char *const argv[], char **out);
int git_line(agent *a, const char *dir, const char *const argv[], char *buf, size_t len);
void heartbeat(agent *a, const char *id, uint64_t tokens);
void on_tick(void *arg);
uint64_t usd_micro(const agent_usage *u);
void report_result(agent *a, const work_ref *w, const char *what, pb_result *res);
/* An error on errors.agent.<type>.<id>; u: what the failed run used (NULL:
 * no run), sent as the attempt's totals so the ledger charges it once. */
void report_error(agent *a, const work_ref *w, const char *reason, int transient, const char *message,
                  const agent_usage *u);
void run_cli(agent *a, const work_ref *w, const char *tree, const char *model, const char *prompt, const char *tag,
             int needs_change, cli_outcome *o);
void breaker_note(agent *a, const work_ref *w, cli_outcome *o);
int fetch(agent *a);
void tree_remove(agent *a, const char *tree);

/* The review role (agent_roles.c): the CLI reads the change's diff; its
 * last "VERDICT:" line becomes the review. json (len bytes) is the
 * dispatch as received. */
void agent_review(agent *a, const pb_requirement *r, const char *json, size_t len);

/* The release role (agent_roles.c): the change merged onto the base,
 * verified with the project's own steps, the base moved to it as a fast
 * forward. */
void agent_release(agent *a, const pb_requirement *r, const char *json, size_t len);

#endif
