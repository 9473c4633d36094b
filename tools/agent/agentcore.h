/* orch-agent's pure parts: the presets, what a coding-agent CLI's output
 * says, the prompt, and what a failure means.
 *
 * A preset is a small table: the argument vector of the CLI with
 * placeholders ({prompt}, {prompt_file}, {workdir}, {model}; an element
 * "{model_args}" becomes the preset's model option and the model, or
 * nothing when no model is configured), the environment it always gets
 * (the variables that stop its other traffic), and how its output is read:
 *
 *   claude  Claude Code, `--output-format stream-json --verbose`: one JSON
 *           object a line; "assistant" lines carry the usage of each model
 *           call (live tokens), the last "result" line the totals
 *           (usage.{input,output,cache_creation_input,cache_read_input}_tokens),
 *           total_cost_usd, is_error, api_error_status and the final text.
 *           `--output-format json` prints that result object alone; both
 *           read the same.
 *   codex   Codex, `codex exec --json`: one event a line; each
 *           turn.completed carries that turn's usage (input_tokens, of
 *           which cached_input_tokens, output_tokens, of which
 *           reasoning_output_tokens); "error" and "turn.failed" carry the
 *           failure; the last agent_message item is the final text. No cost.
 *   gemini  Gemini CLI, `--output-format json`: one object with "response",
 *           stats.models.<m>.tokens.total and "error".
 *   command any other CLI: the last line of its output that is a JSON
 *           object may say "tokensUsed" (or "tokens") and "costUsd" (or
 *           "total_cost_usd") and "summary".
 *
 * Tokens counted are everything the model read and wrote: for Claude input,
 * output and both cache figures; for Codex and Gemini input (cached ones
 * included, as those APIs report them) and output.
 *
 * Nothing here runs a process, reads the clock or the environment, or logs:
 * the adapter (agent.c) does, and passes the outcome in. */
#ifndef AGENT_CORE_H
#define AGENT_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "pb.h"
#include "status.h"

/* Bound on the final text kept from a CLI's output (a summary, review
 * comments). */
#define AGENT_TEXT_MAX 4096

typedef enum { AGENT_OUT_CLAUDE = 1, AGENT_OUT_CODEX, AGENT_OUT_GEMINI, AGENT_OUT_COMMAND } agent_output;

typedef struct {
    const char *name;                 /* "claude", "codex", "gemini", "command" */
    const char *const *argv;          /* NULL-terminated template; NULL for command */
    const char *const *model_args;    /* what {model_args} becomes when a model is set */
    const char *const *env;           /* "K=V" the CLI always gets, NULL-terminated */
    agent_output output;
} agent_preset;

/* The preset called name, or NULL. */
const agent_preset *agent_preset_find(const char *name);

/* The names of every preset, for messages ("claude, codex, gemini, command"). */
const char *agent_preset_names(void);

/* A model's list prices, US dollars per million tokens: input, input read
 * from the cache, output (reasoning tokens are output tokens). */
typedef struct {
    const char *model;
    double input, cached_input, output;
} agent_price;

/* The shipped price of model (NULL or "": the Codex preset's default,
 * gpt-5): the table's entry with the longest name model starts with; NULL
 * when none. */
const agent_price *agent_price_find(const char *model);

/* Reads "INPUT,CACHED,OUTPUT" (dollars per million tokens, each 0 to
 * 10000) into p; -1 with why when it is not that. */
int agent_price_parse(const char *text, agent_price *p, char *why, size_t len);

/* What one run's output says. */
typedef struct {
    uint64_t tokens;
    int has_tokens;
    /* Where the CLI splits them (Codex): input (cached_input of it read
     * from the cache), output (reasoning of it). */
    uint64_t input, cached_input, output, reasoning;
    double cost_usd;
    int has_cost;
    int cost_computed;                /* cost_usd is agent_cost_compute's, not the CLI's */
    int is_error;                     /* the CLI said the run failed */
    int api_status;                   /* HTTP status of the model API's error, 0 if none */
    char text[AGENT_TEXT_MAX];        /* the final answer (result, last agent message) */
    char error[ERR_LEN];              /* the CLI's own error message, "" if none */
} agent_usage;

/* Where the CLI said no cost but split its tokens: its cost at p (NULL:
 * nothing), cost_computed set; 1 when computed. */
int agent_cost_compute(agent_usage *u, const agent_price *p);

/* Reads a whole run's output (NUL-terminated; may be cut in the middle by
 * the output bound: unreadable lines are skipped). Fills u; never fails. */
void agent_usage_parse(agent_output kind, const char *output, agent_usage *u);

/* Live tokens: what one line of streamed output adds to the tokens used so
 * far (0 for lines that say nothing about usage). For heartbeats. */
uint64_t agent_usage_line(agent_output kind, const char *line, size_t len);

/* --- the command line ------------------------------------------------------ */

typedef struct {
    const char *prompt;
    const char *prompt_file;
    const char *workdir;
    const char *model;                /* "" or NULL: none; {model_args} vanishes */
} agent_fill;

/* Builds the argument vector: tmpl (the preset's, or the configured one for
 * command) with placeholders filled. The result is NULL-terminated and
 * owned by the caller (agent_argv_free). ORCH_ERR_INVALID with err filled
 * for an empty template, or {model} used without a model. */
orch_status agent_argv_build(const char *const *tmpl, const char *const *model_args, const agent_fill *f,
                             char ***out, char err[ERR_LEN]);
void agent_argv_free(char **argv);

/* The environment the CLI gets: fixed (the preset's "K=V"), then each name
 * in allow that is set in from ("K=V" strings, NULL-terminated), then base
 * ("K=V", e.g. PATH and HOME; they win). Owned by the caller
 * (agent_argv_free). Names that are not set in from are left out. */
char **agent_env_build(const char *const *fixed, const cfg_list *allow, const char *const *from,
                       const char *const *base);

/* The model for a dispatch: cheap when the scheduler's hint is "cheap" and
 * a cheap model is configured, else model. Either may be NULL or "". */
const char *agent_model_for(const char *hint, const char *model, const char *cheap);

/* --- failures -------------------------------------------------------------- */

typedef struct {
    int exit_code;                    /* -1 when killed or not started */
    int timed_out;
    int start_failed;                 /* the CLI could not be started */
    int changed;                      /* files the run changed (after it) */
    int needs_change;                 /* 1: an empty diff is a failure (work, not review) */
} agent_run;

typedef struct {
    int failed;
    int transient;                    /* retry with backoff; else a human looks */
    const char *reason;               /* token for the error's reason */
    char message[ERR_LEN];
} agent_failure;

/* When a rate limit or a used-up usage window says it ends, as the CLIs
 * and model APIs word it: "limit reached|<unix seconds>" (Claude Code's
 * usage limit), "try again in 4 days 20 hours 9 minutes" or "in 20s" /
 * "in 6m0s" (OpenAI, Codex), "retry after 30 seconds" / "retry-after: 30".
 * Returns the time in ms (now_ms plus the wait), or 0 when text says none
 * or a wait over 7 days (not believed). */
int64_t agent_retry_at(const char *text, int64_t now_ms);

/* Judges a run: a time-out, a rate limit (429), an overloaded or failing
 * model server (5xx, 529) and network trouble are transient; an
 * authentication error (401, 403), a CLI that cannot be started, a run that
 * failed otherwise, and a work run that changed nothing are not. output is
 * the run's whole bounded output, u what agent_usage_parse read from it. */
void agent_classify(const agent_run *run, const agent_usage *u, const char *output, agent_failure *f);

/* --- the start-up check ---------------------------------------------------- */

/* The program the start-up check runs with --version: agent.cli when set
 * (cli), else the preset's own program, else the command preset's first
 * element (command). NULL when there is none. Borrowed. */
const char *agent_cli_program(const agent_preset *p, const char *cli, const cfg_list *command);

/* Judges the start-up check's run of program (run: exit code, time-out,
 * start failure; output: what it printed). 0 when it exited 0 in time;
 * else -1 with msg saying what was run and why it failed, with the last
 * line of its output. */
int agent_check_judge(const char *program, const agent_run *run, const char *output, char msg[ERR_LEN]);

/* --- the circuit breaker ----------------------------------------------------
 *
 * An instance whose CLI cannot work (missing, unauthenticated, a wrong
 * setting) fails every run within a second. Without a breaker it would go
 * through its type's whole queue in seconds: each run takes the next
 * dispatch and reports a permanent error, which sends that requirement to
 * a person. The breaker watches this instance's own CLI runs and opens when
 * the last `failures` runs each failed non-transiently in less than
 * `fast_ms`; from then on the instance takes no work (agent.c), and the
 * rest of the queue stays with the type's consumer for its other
 * instances. The rules, and why:
 *
 *   - non-transient only: a rate limit, an overloaded or unreachable model
 *     API, a time-out are the world's trouble, which the scheduler retries
 *     with a backoff; an instance that meets them is not broken;
 *   - fast only: a CLI that worked for minutes before it failed did run,
 *     and it is the work that is hard; a broken CLI fails at once;
 *   - in a row: any other outcome (a success, a slow or a transient
 *     failure) starts the count again, so bad work now and then never
 *     stops an instance;
 *   - it does not close by itself: nothing here can tell that a person
 *     fixed the CLI; a restart does, and runs the start-up check again.
 *
 * Only the streak's runs are kept (reason and duration, to say why it
 * opened): at most AGENT_BREAKER_MAX, a few hundred bytes. The clock is the
 * caller's (durations and now are arguments). */
#define AGENT_BREAKER_MAX 20

typedef struct {
    char reason[32];
    int64_t duration_ms;
} agent_breaker_run;

typedef struct {
    int failures;                     /* runs in a row that open it; 0: never opens */
    int64_t fast_ms;                  /* a run under this is fast */
    int streak;                       /* fast non-transient failures in a row so far */
    int open;
    int64_t opened_at_ms;
    agent_breaker_run runs[AGENT_BREAKER_MAX]; /* the streak's, oldest first */
} agent_breaker;

/* A closed breaker; failures is capped at AGENT_BREAKER_MAX. */
void agent_breaker_init(agent_breaker *b, int failures, int64_t fast_ms);

/* Records one CLI run: f its outcome (f->failed 0: a success), duration_ms
 * how long it ran, now_ms the caller's clock. Returns 1 when this run
 * opened the breaker (once: an open breaker records nothing more), else 0. */
int agent_breaker_record(agent_breaker *b, const agent_failure *f, int64_t duration_ms, int64_t now_ms);

/* 1 when open. NULL-safe (0). */
int agent_breaker_is_open(const agent_breaker *b);

/* Why it opened, for the log and the alert ("the last 3 runs failed
 * non-transiently, each in under 10000 ms: auth after 120 ms, ..."), into
 * buf (len bytes, cut to fit); "" while closed. */
void agent_breaker_explain(const agent_breaker *b, char *buf, size_t len);

/* --- prompts --------------------------------------------------------------- */

/* One {{name}} of a template and its value. */
typedef struct {
    const char *name;
    const char *value;
} agent_var;

/* Fills every {{name}} of tmpl from vars. An unknown name is an error
 * (ORCH_ERR_INVALID, err names it), so a typo in a configured template
 * shows at start, not as a strange prompt. *out: malloc'd. */
orch_status agent_render(const char *tmpl, const agent_var *vars, size_t n, char **out, char err[ERR_LEN]);

/* The variables of a work prompt for r: id, title, description, attempt,
 * acceptance and files (one "- " line each, or "(none given)"), failure
 * (a section with lastFailureOutput or the reviewer's comments, or ""),
 * dependencies (deps: a section the adapter wrote from git, or ""),
 * project, branch. Values are malloc'd: agent_vars_free. n: out count. */
agent_var *agent_work_vars(const pb_requirement *r, const char *project, const char *branch, const char *deps,
                           size_t *n);
void agent_vars_free(agent_var *v, size_t n);

/* The default templates: work, review. */
extern const char agent_work_prompt[];
extern const char agent_review_prompt[];

/* Reads a review's answer: its last line starting "VERDICT:" says
 * APPROVED or CHANGES_REQUESTED (any case). *approved set; comments gets
 * the text without the verdict line (bounded by len). Returns 0, or -1
 * when the text has no verdict. */
int agent_review_verdict(const char *text, int *approved, char *comments, size_t len);

#endif
