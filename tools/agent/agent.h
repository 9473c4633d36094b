/* orch-agent: one process is one agent instance of one type, running a real
 * coding-agent CLI (Claude Code, Codex, Gemini CLI, or any command) on the
 * suite's work. docs/agents.md describes the protocol it follows.
 *
 * Work types (backend, frontend, database, documentation): for each
 * dispatch it claims, a work tree of the project on branch
 * req/<id>-a<attempt> (from the base, or from the previous attempt's
 * branch on a retry), the prompt, the CLI under a time limit, then a commit
 * of what the CLI changed, a push of the branch and a result; or an error
 * on errors.agent.<type>.<id>.
 * review: the CLI reads the change's diff with a review prompt; its last
 * "VERDICT:" line becomes approved or changes_requested with comments.
 * release: a candidate (the base with the approved work merged) is pushed
 * to candidate/<id>-a<attempt>, verified with the project's own steps (the
 * verifier's projects file), and the base is moved to it only as a fast
 * forward from the base the candidate was built on. */
#ifndef AGENT_AGENT_H
#define AGENT_AGENT_H

#include "cfg.h"
#include "svccfg.h"

typedef struct {
    int preset;                  /* index in agent_cfg_presets */
    char *cli;                   /* the preset's program (a path or a name on agent.path) */
    cfg_list command;            /* the command preset's argv (placeholders allowed) */
    char *model;
    char *cheap_model;           /* for the scheduler's modelHint "cheap" */
    char *price;                 /* "INPUT,CACHED,OUTPUT" dollars per million tokens; NULL: the shipped table */
    long long timeout_s;
    long long grace_ms;
    long long heartbeat_ms;
    long long output_limit;
    cfg_list env;                /* names of variables the CLI gets */
    char *path;                  /* PATH for the CLI and git */
    char *home;                  /* HOME for the CLI; default <workdir>/<instance>/home */
    char *prompt_file;           /* work prompt template */
    char *review_prompt_file;
    char *project;               /* the project work is done on (projects file) */
    char *projects_file;         /* the verifier's projects file: repository, base, steps */
    char *workdir;
    long long diff_limit;        /* bytes of diff a review prompt carries */
    int keep_branches;           /* release: keep req/<id>-a<n> of merged work */
    long long check_timeout_s;   /* the start-up check's `<cli> --version` */
    long long breaker_failures;  /* fast permanent failures in a row that stop the instance; 0: never */
    long long breaker_fast_ms;   /* a run that failed sooner than this failed fast */
} agent_cfg;

extern const cfg_entry agent_cfg_entries[];
extern const size_t agent_cfg_count;
extern const char *const agent_cfg_presets[];

/* Runs the agent until SIGTERM or SIGINT. type: an agent type's subject
 * token; instance: a valid id. Returns the process exit code. */
int agent_serve(const char *type, const char *instance, const agent_cfg *cfg, const svc_cfg *svc);

#endif
