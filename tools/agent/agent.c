/* orch-agent's adapter: NATS, git and the CLI around the pure core
 * (agentcore.h). See agent.h for what each role does and docs/agents.md
 * for the protocol.
 *
 * Directories, all under <workdir>/<instance>/ (one agent instance owns
 * them; nothing from a message names a path: the requirement id passed the
 * id check and the project comes from the projects file):
 *   clone-<project>/   the persistent clone, fetched before each attempt
 *   trees/<id>-a<n>    the work tree of one attempt (git worktree), removed
 *                      afterwards; at start whatever a crashed run left is
 *                      removed and the clone's worktree list pruned
 *   logs/<id>-a<n>.log the CLI's bounded output, and the prompt it got
 *   home/              HOME for the CLI unless agent.home says otherwise
 *
 * Nothing from a message reaches a shell: git and the CLI run as argument
 * vectors (runner.h), the CLI with only the environment its config names. */
#include "agent.h"
#include "agent_int.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <nats/nats.h>

#include "admit.h"
#include "agentcore.h"
#include "auth.h"
#include "claim.h"
#include "edge.h"
#include "fileio.h"
#include "log.h"
#include "names.h"
#include "nc.h"
#include "runner.h"
#include "strmap.h"
#include "text.h"
#include "topology.h"
#include "verify.h"

extern char **environ;

#define F(x) offsetof(agent_cfg, x)
const char *const agent_cfg_presets[] = {"claude", "codex", "gemini", "command", NULL};

const cfg_entry agent_cfg_entries[] = {
    {"agent.preset", CFG_ENUM, "claude", 0, 0, F(preset), agent_cfg_presets, 0,
     "the CLI: claude, codex, gemini, or command (agent.command)"},
    {"agent.cli", CFG_STR, NULL, 0, 1024, F(cli), NULL, 0, "the preset's program (default: its name on agent.path)"},
    {"agent.command", CFG_LIST, NULL, 0, 4096, F(command), NULL, 0,
     "command preset: argv with {prompt}, {prompt_file}, {workdir}, {model}"},
    {"agent.model", CFG_STR, NULL, 0, 128, F(model), NULL, 0, "model passed to the CLI (default: the CLI's own)"},
    {"agent.cheap_model", CFG_STR, NULL, 0, 128, F(cheap_model), NULL, 0,
     "model for work the scheduler marks cheap (conservation mode)"},
    {"agent.price", CFG_STR, NULL, 0, 128, F(price), NULL, 0,
     "INPUT,CACHED,OUTPUT: US dollars per million tokens, for the cost of runs whose CLI reports tokens but no cost "
     "(default: OpenAI's list price of the Codex preset's model)"},
    {"agent.timeout_s", CFG_INT, "1800", 1, 86400, F(timeout_s), NULL, 0, "time limit of one CLI run"},
    {"agent.grace_ms", CFG_INT, "5000", 0, 600000, F(grace_ms), NULL, 0, "from SIGTERM to SIGKILL at the limit"},
    {"agent.heartbeat_ms", CFG_INT, "30000", 100, 3600000, F(heartbeat_ms), NULL, 0, "heartbeat interval"},
    {"agent.output_limit", CFG_INT, "1048576", 4096, 1073741824, F(output_limit), NULL, 0,
     "bytes of the CLI's output kept (head and tail)"},
    {"agent.env", CFG_LIST, NULL, 0, 128, F(env), NULL, 0,
     "names of environment variables the CLI gets (API keys, base URLs); nothing else is passed"},
    {"agent.path", CFG_STR, "/usr/local/bin:/usr/bin:/bin", 0, 4096, F(path), NULL, 0, "PATH of the CLI and git"},
    {"agent.home", CFG_STR, NULL, 0, 1024, F(home), NULL, 0, "HOME of the CLI (default: a directory of the instance)"},
    {"agent.prompt_file", CFG_STR, NULL, 0, 1024, F(prompt_file), NULL, 0,
     "work prompt template ({{id}}, {{title}}, ...; default built in)"},
    {"agent.review_prompt_file", CFG_STR, NULL, 0, 1024, F(review_prompt_file), NULL, 0,
     "review prompt template (default built in)"},
    {"agent.project", CFG_STR, "demo", 0, 128, F(project), NULL, 0, "the project worked on (a name in the projects file)"},
    {"agent.projects_file", CFG_STR, NULL, 0, 1024, F(projects_file), NULL, CFG_REQUIRED,
     "the verifier's projects file (repository, base branch, verification steps)"},
    {"agent.workdir", CFG_STR, "/var/lib/orch-agent", 0, 1024, F(workdir), NULL, 0, "where clones and work trees live"},
    {"agent.diff_limit", CFG_INT, "65536", 1024, 16777216, F(diff_limit), NULL, 0, "bytes of diff a review prompt carries"},
    {"agent.keep_branches", CFG_BOOL, "false", 0, 0, F(keep_branches), NULL, 0,
     "release: keep the req/<id>-a<n> branches of merged work (by default they are deleted once merged)"},
    {"agent.check_timeout_s", CFG_INT, "30", 1, 600, F(check_timeout_s), NULL, 0,
     "time limit of the start-up check (the CLI with --version); an agent whose CLI fails it takes no work"},
    {"agent.breaker_failures", CFG_INT, "3", 0, AGENT_BREAKER_MAX, F(breaker_failures), NULL, 0,
     "CLI runs in a row failing fast and permanently after which this instance takes no more work (0: never)"},
    {"agent.breaker_fast_ms", CFG_INT, "10000", 1, 3600000, F(breaker_fast_ms), NULL, 0,
     "a failed CLI run shorter than this counts toward agent.breaker_failures"},
};
const size_t agent_cfg_count = sizeof(agent_cfg_entries) / sizeof(agent_cfg_entries[0]);

#define GIT_TIMEOUT_MS 120000
/* Longest line of a CLI's output read for live tokens. */
#define LINE_MAX_BYTES (4u << 20)
/* Elements of the command preset's argument vector. */
#define CMD_MAX 64

/* Set by the signal handler, read by the loop (lock-free, so safe in a
 * handler). */
static atomic_int stop;

int agent_stopping(void) { return stop; }
static void on_signal(int s)
{
    (void)s;
    atomic_store(&stop, 1);
}


/* --- small helpers ----------------------------------------------------------------- */

int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    int ok;
    if (!f)
        return -1;
    ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static void mkdirs(const char *path)
{
    char p[1024];
    snprintf(p, sizeof(p), "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
}

/* Runs git in dir; output (malloc'd) in *out when out is not NULL.
 * Returns git's exit code (-1 killed or not started). */
int git(agent *a, const char *dir, const char *const argv[], char **out)
{
    char path[4200], home[900];
    const char *env[] = {path, home, "LANG=C.UTF-8", "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", NULL};
    run_spec s = {argv, dir, env, GIT_TIMEOUT_MS, 2000, 256 * 1024, NULL, NULL, 0};
    run_result r;
    int rc;
    snprintf(path, sizeof(path), "PATH=%s", a->c->path);
    snprintf(home, sizeof(home), "HOME=%s", a->home);
    rc = runner_run(&s, &r);
    if (rc != 0)
        rc = r.exit_code ? r.exit_code : -1;
    if (out)
        *out = r.output;
    else
        free(r.output);
    return rc;
}

/* git, and the first line of its output into buf. */
int git_line(agent *a, const char *dir, const char *const argv[], char *buf, size_t len)
{
    char *out = NULL;
    int rc = git(a, dir, argv, &out);
    snprintf(buf, len, "%.*s", (int)strcspn(out ? out : "", "\n"), out ? out : "");
    free(out);
    return rc;
}

void heartbeat(agent *a, const char *id, uint64_t tokens)
{
    char subj[200], *json;
    pb_heartbeat h = ORCHESTRATOR__V1__HEARTBEAT__INIT;
    h.agent_type = a->type;
    h.instance = (char *)a->instance;
    h.requirement_id = (char *)(id ? id : "");
    h.tokens_used = tokens;
    h.state = id ? "working" : agent_breaker_is_open(&a->breaker) ? "stopped" : "idle";
    names_subject(subj, sizeof(subj), NAMES_SUBJ_HEARTBEAT, a->type_name, a->instance);
    json = edge_heartbeat_to_json(&h);
    natsConnection_PublishString(a->nc, subj, json);
    free(json);
    a->last_beat_ms = text_mono_ms();
}

/* While a run goes on: a heartbeat carries the tokens the output showed
 * since the last one, and what the consumer sent without being asked now
 * (a Fetch's pull request outlives the Fetch) goes back at once, unclaimed,
 * for an idle instance, instead of waiting here for the ack wait. */
void on_tick(void *arg)
{
    agent *a = arg;
    int back = a->sub ? nc_return_strays(a->sub) : 0;
    if (back)
        log_info("gave back %d dispatch%s delivered while busy", back, back == 1 ? "" : "es");
    if (text_mono_ms() - a->last_beat_ms >= a->c->heartbeat_ms) {
        log_debug("heartbeat on %s: %llu tokens since the last one", a->working_on ? a->working_on : "nothing",
                  (unsigned long long)(a->live_tokens - a->live_sent));
        heartbeat(a, a->working_on, a->live_tokens - a->live_sent);
        a->live_sent = a->live_tokens;
    }
}

/* The CLI's output as it arrives: each whole line is read for usage
 * (claude's stream-json, codex's events). */
static void on_output(void *arg, const char *data, size_t n)
{
    agent *a = arg;
    for (size_t i = 0; i < n; i++) {
        if (data[i] == '\n') {
            if (!a->line_dropped && a->line_len)
                a->live_tokens += agent_usage_line(a->preset->output, a->line, a->line_len);
            a->line_len = 0;
            a->line_dropped = 0;
            continue;
        }
        if (a->line_dropped)
            continue;
        if (a->line_len + 1 > a->line_cap) {
            if (a->line_cap >= LINE_MAX_BYTES) {
                a->line_dropped = 1;
                continue;
            }
            a->line_cap = a->line_cap ? a->line_cap * 2 : 4096;
            a->line = xrealloc(a->line, a->line_cap);
        }
        a->line[a->line_len++] = data[i];
    }
}

/* Publishes until JetStream stores it (a server outage delays a report, it
 * does not lose it), under a message id of its own. */
static void publish(agent *a, const work_ref *w, const char *what, const char *subject, const char *json)
{
    char msg_id[200];
    snprintf(msg_id, sizeof(msg_id), "%s-%s-%s-a%u", what, a->type_name, w->id, w->attempt);
    for (int tries = 1; !stop || tries <= 3; tries++) {
        if (nc_publish_stored(a->js, subject, msg_id, json, (int)strlen(json), "application/json", 5000) == 0)
            break;
        if (tries == 120) {
            log_error("giving up on %s after %d tries", subject, tries);
            break;
        }
        sleep(1);
    }
    }

/* What a run cost, in the millionths of a dollar the ledger keeps (0: not
 * said). */
uint64_t usd_micro(const agent_usage *u)
{
    return u->has_cost && u->cost_usd > 0 ? (uint64_t)(u->cost_usd * 1e6 + 0.5) : 0;
}

/* Sends a result (work, review or merge) on results.<its type>.<id> as
 * edge.c writes it; the requirement, attempt, instance and project are
 * filled in here. */
void report_result(agent *a, const work_ref *w, const char *what, pb_result *res)
{
    char subj[160], *json;
    res->requirement_id = (char *)w->id;
    res->attempt = w->attempt;
    res->instance = (char *)a->instance;
    res->project = a->project->name;
    names_subject(subj, sizeof(subj), NAMES_SUBJ_RESULTS, names_agent_type(res->agent_type), w->id);
    json = edge_result_to_json(res);
    publish(a, w, what, subj, json);
    free(json);
}

void report_error(agent *a, const work_ref *w, const char *reason, int transient, const char *message,
                  const agent_usage *u)
{
    char subj[160];
    pb_error e;
    char *json;
    orchestrator__v1__agent_error__init(&e);
    /* What the failed run cost still counts, once: its totals, of which the
     * ledger charges what its heartbeats did not (a run's output may end
     * before its usage line: then what the heartbeats saw). */
    e.tokens_used = !u ? 0 : u->tokens > a->live_sent ? u->tokens : a->live_sent;
    e.cost_micro_usd = u ? usd_micro(u) : 0;
    a->live_sent = 0;
    if (e.cost_micro_usd) /* as a pushed result says it: what the ledger is checked against */
        log_info("%s attempt %u: failed run, %llu tokens, cost $%.6f%s", w->id, w->attempt,
                 (unsigned long long)e.tokens_used, (double)e.cost_micro_usd / 1e6,
                 u->cost_computed ? " (computed)" : "");
    e.source = (char *)names_source_token(NAMES_SRC_AGENT);
    e.reason = (char *)reason;
    e.requirement_id = (char *)w->id;
    e.attempt = w->attempt;
    e.agent_type = a->type;
    e.instance = (char *)a->instance;
    e.transient = transient != 0;
    e.message = (char *)message;
    /* a rate limit that says when it ends: the scheduler pauses the type */
    if (!strcmp(reason, "rate_limited"))
        e.retry_at_ms = agent_retry_at(message, text_now_ms());
    names_agent_error_subject(subj, sizeof(subj), a->type, w->id);
    json = edge_error_to_json(&e);
    publish(a, w, "error", subj, json);
    free(json);
    log_warn("%s attempt %u: %s error (%s): %.300s", w->id, w->attempt, transient ? "transient" : "permanent",
             reason, message);
}

/* --- the CLI ------------------------------------------------------------------------ */

/* The CLI's environment, built, not inherited (docs/agents.md "Secrets"):
 * PATH, HOME, LANG, a git identity of the instance's own, so a CLI that
 * commits (Claude Code does) can, whatever the HOME it runs with holds
 * (nothing of the user's global git configuration is read or changed), the
 * preset's variables and those agent.env names. Owned by the caller
 * (agent_argv_free). */
static char **cli_env(agent *a)
{
    char path[4200], home[900], gname[200], gmail[200], cname[200], cmail[200];
    const char *const base[] = {path, home, "LANG=C.UTF-8", gname, gmail, cname, cmail, NULL};
    snprintf(path, sizeof(path), "PATH=%s", a->c->path);
    snprintf(home, sizeof(home), "HOME=%s", a->c->home ? a->c->home : a->home);
    snprintf(gname, sizeof(gname), "GIT_AUTHOR_NAME=%s", a->instance);
    snprintf(gmail, sizeof(gmail), "GIT_AUTHOR_EMAIL=%s@orch-agent.local", a->instance);
    snprintf(cname, sizeof(cname), "GIT_COMMITTER_NAME=%s", a->instance);
    snprintf(cmail, sizeof(cmail), "GIT_COMMITTER_EMAIL=%s@orch-agent.local", a->instance);
    return agent_env_build(a->preset->env, &a->c->env, (const char *const *)environ, base);
}

/* The start-up check: the CLI runs with --version as a work run would (its
 * environment, its PATH, no shell) under agent.check_timeout_s. A CLI that
 * cannot run fails every dispatch at once; found here, it is found before
 * any work is taken. 0 when it runs; else msg says what ran and what it
 * printed. */
static int check_cli(agent *a, char msg[ERR_LEN])
{
    const char *prog = agent_cli_program(a->preset, a->c->cli, &a->c->command);
    const char *argv[] = {prog, "--version", NULL};
    char **env;
    run_spec s;
    run_result r;
    agent_run run;
    int rc;

    if (!prog) {
        snprintf(msg, ERR_LEN, "no agent CLI is configured");
        return -1;
    }
    env = cli_env(a);
    s = (run_spec){argv, a->home, (const char *const *)env, a->c->check_timeout_s * 1000, a->c->grace_ms, 65536,
                   NULL, NULL, 0};
    runner_run(&s, &r);
    run = (agent_run){r.exit_code, r.timed_out, r.start_failed, 0, 0};
    rc = agent_check_judge(prog, &run, r.output, msg);
    if (rc == 0)
        log_info("agent CLI %s --version: %.*s (%lld ms)", prog, (int)strcspn(r.output ? r.output : "", "\n"),
                 r.output ? r.output : "", (long long)r.duration_ms);
    agent_argv_free(env);
    free(r.output);
    return rc;
}

/* An alert of this instance's, on alerts.warning.agent_crashloop (the kind
 * for an agent that fails at once, again and again), its fingerprint
 * <what>-<type>-<instance>: the ALERTS stream stores one per fingerprint
 * within its duplicate window, so a restarted instance failing the same
 * way raises it once. */
static void raise_alert(agent *a, const char *what, const char *summary, const char *text)
{
    char fp[200];
    snprintf(fp, sizeof(fp), "%s-%s-%s", what, a->type_name, a->instance);
    nc_publish_alert(a->js, "warning", names_alert_kind_token(NAMES_ALERT_AGENT_CRASHLOOP), fp, summary, text,
                     "orch-agent", a->instance, 2000);
}


/* One CLI run's outcome (after what the role checks of it: an empty change,
 * markers left, no verdict) to the breaker. When it opens the breaker, the
 * failure is taken for the instance's, not the work's: it goes back as a
 * transient error (reason agent_unhealthy), so the scheduler gives it to
 * another instance instead of to a person. The scheduler has no report
 * that returns work without counting an attempt: this one counts one (see
 * docs/agents.md, "The circuit breaker"). */
void breaker_note(agent *a, const work_ref *w, cli_outcome *o)
{
    char why[ERR_LEN], msg[ERR_LEN];
    if (!o->ran || !agent_breaker_record(&a->breaker, &o->failure, o->duration_ms, text_mono_ms()))
        return;
    agent_breaker_explain(&a->breaker, why, sizeof(why));
    log_error("circuit breaker open: %s; %s attempt %u goes back, and this instance takes no more work", why, w->id,
              w->attempt);
    snprintf(msg, sizeof(msg), "instance %s stopped taking work (%.200s); this run: %s: %.200s", a->instance, why,
             o->failure.reason, o->failure.message);
    o->failure.transient = 1;
    o->failure.reason = "agent_unhealthy";
    snprintf(o->failure.message, sizeof(o->failure.message), "%s", msg);
}

/* Runs the CLI with prompt in tree; its output goes to the attempt's log.
 * needs_change: a run that changes nothing is a failure (work). */
void run_cli(agent *a, const work_ref *w, const char *tree, const char *model, const char *prompt,
                    const char *tag, int needs_change, cli_outcome *o)
{
    char prompt_file[900], log_path[900], err[ERR_LEN];
    const char *tmpl_default[CMD_MAX + 1];
    const char *const *tmpl;
    char **argv = NULL, **env = NULL;
    agent_fill fill;
    run_spec s;
    run_result r;
    agent_run run;
    FILE *f;
    char head_before[64] = "";
    const char *head[] = {"git", "rev-parse", "HEAD", NULL};

    memset(o, 0, sizeof(*o));
    o->ran = 1;
    git_line(a, tree, head, head_before, sizeof(head_before));
    snprintf(prompt_file, sizeof(prompt_file), "%s/logs/%s-a%u%s.prompt", a->root, w->id, w->attempt, tag);
    snprintf(log_path, sizeof(log_path), "%s/logs/%s-a%u%s.log", a->root, w->id, w->attempt, tag);
    write_file(prompt_file, prompt);
    if (a->preset->argv) {
        size_t n = 0;
        for (; a->preset->argv[n] && n + 1 < sizeof(tmpl_default) / sizeof(tmpl_default[0]); n++)
            tmpl_default[n] = a->preset->argv[n];
        tmpl_default[n] = NULL;
        if (a->c->cli)
            tmpl_default[0] = a->c->cli;
        tmpl = tmpl_default;
    } else {
        /* a cfg_list counts its items; the template ends with NULL */
        size_t n = 0;
        for (; (int)n < a->c->command.n && n + 1 < sizeof(tmpl_default) / sizeof(tmpl_default[0]); n++)
            tmpl_default[n] = a->c->command.v[n];
        tmpl_default[n] = NULL;
        tmpl = tmpl_default;
    }
    fill = (agent_fill){prompt, prompt_file, tree, model};
    if (agent_argv_build(tmpl, a->preset->model_args, &fill, &argv, err) != ORCH_OK) {
        o->failure = (agent_failure){1, 0, "bad_command", {0}};
        snprintf(o->failure.message, sizeof(o->failure.message), "%s", err);
        return;
    }
    env = cli_env(a);
    /* The command, not the prompt nor any value of the environment: those
     * may hold what must not be logged. */
    log_info("%s attempt %u: running %s (%s%s) in %s, time limit %llds", w->id, w->attempt, argv[0],
             *model ? "model " : "default model", model, tree, a->c->timeout_s);
    s = (run_spec){(const char *const *)argv, tree, (const char *const *)env, a->c->timeout_s * 1000, a->c->grace_ms,
                   (size_t)a->c->output_limit, on_tick, a, 1000};
    a->working_on = w->id;
    a->live_tokens = a->live_sent = 0;
    a->line_len = 0;
    a->line_dropped = 0;
    runner_run_watch(&s, &r, on_output, a);
    a->working_on = NULL;
    o->duration_ms = r.duration_ms;
    o->output = r.output;
    if ((f = fopen(log_path, "wb"))) {
        fprintf(f, "# %s exit %d signal %d%s after %lld ms\n", argv[0], r.exit_code, r.signal,
                r.timed_out ? " (time limit)" : "", (long long)r.duration_ms);
        fputs(r.output ? r.output : "", f);
        fclose(f);
    }
    agent_usage_parse(a->preset->output, r.output, &o->usage);
    /* a CLI that says its tokens but not their cost (Codex): priced here */
    if (agent_cost_compute(&o->usage, a->price.model ? &a->price
                                      : a->preset->output == AGENT_OUT_CODEX ? agent_price_find(model) : NULL))
        log_info("%s attempt %u: cost $%.6f computed from %llu input (%llu cached) and %llu output tokens", w->id,
                 w->attempt, o->usage.cost_usd, (unsigned long long)o->usage.input,
                 (unsigned long long)o->usage.cached_input, (unsigned long long)o->usage.output);
    {
        /* Changed: files left changed, or commits the CLI made itself. */
        char *st = NULL, head_after[64] = "";
        const char *status[] = {"git", "status", "--porcelain", NULL};
        int changed = 0;
        if (needs_change && git(a, tree, status, &st) == 0)
            changed = st && *st;
        free(st);
        git_line(a, tree, head, head_after, sizeof(head_after));
        changed |= strcmp(head_before, head_after) != 0;
        run = (agent_run){r.exit_code, r.timed_out, r.start_failed, changed, needs_change};
    }
    agent_classify(&run, &o->usage, r.output, &o->failure);
    log_info("%s attempt %u: %s exited %d after %lld ms, %llu tokens%s", w->id, w->attempt, argv[0], r.exit_code,
             (long long)r.duration_ms, (unsigned long long)o->usage.tokens, r.timed_out ? " (time limit)" : "");
    agent_argv_free(argv);
    agent_argv_free(env);
}

/* --- work trees ---------------------------------------------------------------------- */

int fetch(agent *a)
{
    const char *argv[] = {"git", "fetch", "-q", "--prune", "origin", "+refs/heads/*:refs/remotes/origin/*", NULL};
    char *out = NULL;
    int rc = git(a, a->clone, argv, &out);
    if (rc != 0)
        log_error("git fetch in %s failed: %.300s", a->clone, out ? out : "");
    free(out);
    return rc;
}

void tree_remove(agent *a, const char *tree)
{
    const char *rm[] = {"git", "worktree", "remove", "--force", "--force", tree, NULL};
    const char *prune[] = {"git", "worktree", "prune", NULL};
    git(a, a->clone, rm, NULL);
    verify_remove_tree(tree);
    git(a, a->clone, prune, NULL);
}

/* --- roles --------------------------------------------------------------------------- */

/* What the requirements r depends on did, from the base's history: the
 * subjects of the commits that name them. */
static char *dependencies(agent *a, const pb_requirement *r)
{
    size_t cap = 64, len = 0;
    char *s = xmalloc(cap);
    char base[300];
    s[0] = '\0';
    snprintf(base, sizeof(base), "origin/%s", a->project->base);
    for (size_t i = 0; i < r->n_dependencies; i++) {
        char grep[200], *out = NULL;
        /* its commits on the base (it is merged before this work is
         * dispatched), each with the files it changed */
        const char *argv[] = {"git", "log", "-n", "5", "--format=%h %s", "--name-only", "--fixed-strings", grep, base,
                              NULL};
        size_t need;
        snprintf(grep, sizeof(grep), "--grep=%s", r->dependencies[i]);
        git(a, a->clone, argv, &out);
        need = strlen(r->dependencies[i]) + (out ? strlen(out) : 0) + 64;
        s = xrealloc(s, cap += need);
        len += (size_t)snprintf(s + len, cap - len, "- %s: %s%s", r->dependencies[i],
                                out && *out ? "merged; its commits and the files they changed:\n"
                                            : "no commit naming it on the base branch\n",
                                out ? out : "");
        free(out);
    }
    return s;
}

static void work(agent *a, const pb_requirement *r)
{
    work_ref w = {r->id, r->attempt ? r->attempt : 1};
    char branch[200], tree[900], start[300], prev[300], sha[64], base_ref[300], msg[400];
    const char *model = agent_model_for(r->model_hint, a->c->model, a->c->cheap_model);
    char *prompt = NULL, *deps = NULL, *out = NULL, *conflicts = NULL;
    agent_var *vars = NULL;
    size_t nvars = 0;
    cli_outcome o;
    char err[ERR_LEN];
    int integrated = 0;
    memset(&o, 0, sizeof(o));

    heartbeat(a, r->id, 0); /* taken: now everyone knows who has it */
    natsConnection_Flush(a->nc);
    snprintf(branch, sizeof(branch), "req/%s-a%u", r->id, w.attempt);
    snprintf(tree, sizeof(tree), "%s/trees/%s-a%u", a->root, r->id, w.attempt);
    snprintf(base_ref, sizeof(base_ref), "origin/%s", a->project->base);
    if (fetch(a) != 0) {
        report_error(a, &w, "git_failed", 1, "could not fetch the project's repository", NULL);
        return;
    }
    /* A retry goes on from the previous attempt's branch, when it was pushed. */
    snprintf(start, sizeof(start), "%s", base_ref);
    if (w.attempt > 1) {
        const char *verify[] = {"git", "rev-parse", "--verify", "-q", prev, NULL};
        snprintf(prev, sizeof(prev), "refs/remotes/origin/req/%s-a%u", r->id, w.attempt - 1);
        if (git(a, a->clone, verify, NULL) == 0)
            snprintf(start, sizeof(start), "%s", prev);
    }
    tree_remove(a, tree); /* a crashed run's leftover of this very attempt */
    {
        const char *add[] = {"git", "worktree", "add", "-q", "-f", "-B", branch, tree, start, NULL};
        if (git(a, a->clone, add, &out) != 0) {
            snprintf(msg, sizeof(msg), "git worktree add failed: %.300s", out ? out : "");
            report_error(a, &w, "git_failed", 1, msg, NULL);
            goto out;
        }
        free(out);
        out = NULL;
    }
    if (strcmp(start, base_ref) != 0) {
        /* A retry on its previous branch: the base as it is now merged in
         * first, by orch-agent with its own identity (the CLI need not run
         * git: Codex's sandbox cannot write the clone's git directory). */
        char mname[200], mmail[200], mmsg[200];
        const char *mg[] = {"git", "-c", mname, "-c", mmail, "merge", "--no-edit", "-m", mmsg, base_ref, NULL};
        const char *unmerged[] = {"git", "diff", "--name-only", "--diff-filter=U", NULL};
        snprintf(mname, sizeof(mname), "user.name=%s", a->instance);
        snprintf(mmail, sizeof(mmail), "user.email=%s@orch-agent.local", a->instance);
        snprintf(mmsg, sizeof(mmsg), "Merge %s into %s", base_ref + strlen("origin/"), branch);
        if (git(a, tree, mg, &out) == 0) {
            /* merged cleanly: an approved change refused at its merge for a
             * conflict needs no new work, only the base; it is verified
             * again as it is (a merged state that failed its checks is
             * the CLI's to fix) */
            integrated = r->last_failure_output && !strncmp(r->last_failure_output, "the merge was refused:", 22) &&
                         strstr(r->last_failure_output, "does not merge onto");
        } else if (git(a, tree, unmerged, &conflicts) != 0 || !conflicts || !*conflicts) {
            snprintf(msg, sizeof(msg), "could not merge %s into the work: %.300s", base_ref, out ? out : "");
            report_error(a, &w, "git_failed", 1, msg, NULL);
            goto out;
        }
        free(out);
        out = NULL;
    }
    deps = dependencies(a, r);
    vars = agent_work_vars(r, a->project->name, branch, deps, &nvars);
    if (agent_render(a->work_template, vars, nvars, &prompt, err) != ORCH_OK) {
        report_error(a, &w, "bad_template", 0, err, NULL);
        goto out;
    }
    if (conflicts) {
        /* the conflict, prepared: markers in place, git's list of files */
        size_t n = strlen(prompt) + strlen(conflicts) + 600;
        prompt = xrealloc(prompt, n);
        snprintf(prompt + strlen(prompt), n - strlen(prompt),
                 "\n\n## Merge conflicts to resolve\n\nThe base branch (%s) has been merged into this work tree. "
                 "These files have conflicts, marked with <<<<<<<, ======= and >>>>>>> lines:\n%s\n"
                 "Resolve each one so that both the base's change and this requirement's change hold, remove "
                 "every marker, and make the build pass. Do not run git: the merge is committed for you.\n",
                 a->project->base, conflicts);
    }
    if (integrated) {
        snprintf(o.usage.text, sizeof(o.usage.text), "merged %s in without a conflict; the approved change as it was",
                 a->project->base);
        log_info("%s attempt %u: %s merged in cleanly; no CLI run", r->id, w.attempt, base_ref);
    } else {
        run_cli(a, &w, tree, model, prompt, "", 1, &o);
    }
    if (!o.failure.failed && conflicts) {
        const char *markers[] = {"git", "grep", "-n", "-E", "^(<<<<<<<|>>>>>>>) ", NULL};
        char *left = NULL;
        if (git(a, tree, markers, &left) == 0 && left && *left) {
            o.failure = (agent_failure){1, 0, "conflict_unresolved", {0}};
            snprintf(o.failure.message, sizeof(o.failure.message), "conflict markers left after the run:\n%.1500s",
                     left);
        }
        free(left);
    }
    breaker_note(a, &w, &o);
    if (o.failure.failed) {
        report_error(a, &w, o.failure.reason, o.failure.transient, o.failure.message, &o.usage);
        goto out;
    }
    {
        char title[160], author[200], email[200];
        const char *addall[] = {"git", "add", "-A", NULL};
        const char *commit[] = {"git", "-c", author, "-c", email, "commit", "-q", "--no-verify", "-m", msg, NULL};
        const char *head[] = {"git", "rev-parse", "HEAD", NULL};
        char spec[300];
        const char *push[] = {"git", "push", "-q", "-f", "origin", spec, NULL};
        snprintf(title, sizeof(title), "%.150s", r->title);
        snprintf(msg, sizeof(msg), "%s: %s\n\nAttempt %u by %s (%s).", r->id, title, w.attempt, a->instance,
                 a->preset->name);
        snprintf(author, sizeof(author), "user.name=%s", a->instance);
        snprintf(email, sizeof(email), "user.email=%s@orch-agent.local", a->instance);
        snprintf(spec, sizeof(spec), "HEAD:refs/heads/%s", branch);
        const char *status[] = {"git", "status", "--porcelain", NULL};
        char *st = NULL;
        int dirty = git(a, tree, status, &st) == 0 && st && *st;
        free(st);
        if ((dirty && (git(a, tree, addall, NULL) != 0 || git(a, tree, commit, NULL) != 0)) ||
            git_line(a, tree, head, sha, sizeof(sha)) != 0 || git(a, tree, push, &out) != 0) {
            snprintf(msg, sizeof(msg), "could not commit and push the work: %.300s", out ? out : "");
            report_error(a, &w, "git_failed", 1, msg, &o.usage);
            goto out;
        }
    }
    {
        char ref[300], range[400], *files = NULL;
        const char *diff[] = {"git", "diff", "--name-only", range, NULL};
        pb_result res = ORCHESTRATOR__V1__RESULT__INIT;
        char summary[600], **list = NULL;
        size_t nlist = 0;
        snprintf(range, sizeof(range), "%s...HEAD", base_ref);
        git(a, tree, diff, &files);
        for (char *p = files, *nl; p && *p; p = nl + 1) {
            if (!(nl = strchr(p, '\n')))
                nl = p + strlen(p) - 1;
            else
                *nl = '\0';
            if (*p) {
                list = xrealloc(list, sizeof(char *) * (nlist + 1));
                list[nlist++] = p;
            }
        }
        snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
        snprintf(summary, sizeof(summary), "%.590s", *o.usage.text ? o.usage.text : "(no summary)");
        res.agent_type = a->type;
        res.ref = ref;
        res.commit = sha;
        res.base_branch = a->project->base;
        res.model = (char *)model;
        res.tokens_used = o.usage.tokens;
        res.cost_micro_usd = usd_micro(&o.usage);
        res.summary = summary;
        res.files_changed = list;
        res.n_files_changed = nlist;
        report_result(a, &w, "result", &res);
        free(list);
        free(files);
        if (o.usage.has_cost)
            log_info("%s attempt %u: pushed %s (%s), %llu tokens, cost $%.6f", r->id, w.attempt, ref, sha,
                     (unsigned long long)o.usage.tokens, o.usage.cost_usd);
        else
            log_info("%s attempt %u: pushed %s (%s), %llu tokens", r->id, w.attempt, ref, sha,
                     (unsigned long long)o.usage.tokens);
    }
out:
    free(out);
    free(conflicts);
    free(o.output);
    free(prompt);
    free(deps);
    agent_vars_free(vars, nvars);
    tree_remove(a, tree);
}


/* --- the loop ------------------------------------------------------------------------ */

/* Whether m is the dispatch of r's current attempt: its message id is the
 * one the scheduler gives the current attempt (admit_dispatch_id). When the
 * state cannot be read (no permission, no server) it is taken to be: the
 * scheduler refuses reports on past attempts anyway. */
static int current(agent *a, natsMsg *m, const pb_requirement *r)
{
    kvEntry *e = NULL;
    const char *msg_id = NULL;
    char want[200], err[ERR_LEN];
    pb_state *st;
    int yes = 1;
    if (!a->states || natsMsgHeader_Get(m, "Nats-Msg-Id", &msg_id) != NATS_OK || !msg_id)
        return 1;
    if (kvStore_Get(&e, a->states, r->id) != NATS_OK)
        return 1;
    st = (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor, (const uint8_t *)kvEntry_Value(e),
                               (size_t)kvEntry_ValueLen(e), PB_MAX_MSG, err);
    if (st && admit_dispatch_id(st, (int)a->type, 0, want, sizeof(want)) > 0 && strcmp(want, msg_id) != 0) {
        log_info("%s: dispatch %s is not the current one (%s); not acting on it", r->id, msg_id, want);
        yes = 0;
    }
    if (st)
        protobuf_c_message_free_unpacked(&st->base, NULL);
    kvEntry_Destroy(e);
    return yes;
}

/* A dispatch: claimed (again later when the claim's fate is unknown),
 * read, and when it is the current attempt kept in a->taken, to be worked
 * on once the message is acked: the work is this instance's then. */
static nc_settlement take(natsMsg *m, void *arg)
{
    agent *a = arg;
    edge_limits lim;
    char err[ERR_LEN] = "", key[200];
    claim_outcome mine;
    /* Stopped: back unclaimed, for the type's other instances; nothing is
     * reported, so no attempt is counted. */
    if (agent_breaker_is_open(&a->breaker))
        return nc_retry(0);
    mine = claim_take(a->js, m, a->type_name, a->instance, a->unsure, key, sizeof(key), err, sizeof(err));
    if (mine == CLAIM_UNSURE) {
        log_warn("%s", err);
        return nc_retry(1000);
    }
    if (mine == CLAIM_TAKEN) {
        log_info("%s was claimed before; not acting on it twice", key);
        return nc_ack();
    }
    edge_limits_default(&lim);
    if (edge_requirements_from_json(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &lim, &a->taken,
                                    &a->n_taken, err) != EDGE_OK ||
        a->n_taken != 1) {
        log_error("unreadable work on %s: %s", natsMsg_GetSubject(m), a->n_taken != 1 && !*err ? "not one requirement" : err);
    } else if (current(a, m, a->taken[0])) {
        a->taken_len = (size_t)natsMsg_GetDataLength(m);
        a->taken_data = xmalloc(a->taken_len + 1);
        memcpy(a->taken_data, natsMsg_GetData(m), a->taken_len);
        a->taken_data[a->taken_len] = '\0';
        return nc_ack();
    }
    edge_requirements_free(a->taken, a->n_taken);
    a->taken = NULL;
    a->n_taken = 0;
    return nc_ack();
}

/* The work take() kept, if any. */
static void act(agent *a)
{
    if (a->taken_data) {
        pb_requirement *r = a->taken[0];
        log_info("%s attempt %u taken", r->id, r->attempt);
        if (a->type == ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW)
            agent_review(a, r, a->taken_data, a->taken_len);
        else if (a->type == ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE)
            agent_release(a, r, a->taken_data, a->taken_len);
        else
            work(a, r);
    }
    edge_requirements_free(a->taken, a->n_taken);
    a->taken = NULL;
    a->n_taken = 0;
    free(a->taken_data);
    a->taken_data = NULL;
}

/* The breaker opened: this instance takes no more work. What its
 * subscription was sent and holds goes back unclaimed (a nak with no
 * delay: another instance takes it, and as nothing was reported no attempt
 * is counted); then the subscription ends (destroyed, not unsubscribed:
 * the type's durable consumer stays whatever created it). It stays up,
 * heartbeating "stopped", so people see it and why; one alert names it. A
 * restart closes the breaker, after the start-up check again. */
static void stop_taking(agent *a)
{
    char why[ERR_LEN], summary[300];
    int back = nc_return_strays(a->sub);
    natsSubscription_Destroy(a->sub);
    a->sub = NULL;
    agent_breaker_explain(&a->breaker, why, sizeof(why));
    snprintf(summary, sizeof(summary), "%s agent %s stopped taking work: its last %d CLI runs failed at once",
             a->type_name, a->instance, a->breaker.streak);
    log_error("stopped taking work: %s; %d queued dispatch%s given back; restart this instance once its CLI works", why,
              back, back == 1 ? "" : "es");
    raise_alert(a, "agent_breaker", summary, why);
    heartbeat(a, NULL, 0);
}

/* The clone and the directories; what a crashed run left is removed. */
static int prepare(agent *a)
{
    char dir[900];
    const char *prune[] = {"git", "worktree", "prune", NULL};
    snprintf(a->root, sizeof(a->root), "%s/%s", a->c->workdir, a->instance);
    snprintf(a->clone, sizeof(a->clone), "%s/clone-%s", a->root, a->project->name);
    snprintf(a->home, sizeof(a->home), "%s/home", a->root);
    snprintf(dir, sizeof(dir), "%s/trees", a->root);
    verify_remove_tree(dir);
    mkdirs(dir);
    snprintf(dir, sizeof(dir), "%s/logs", a->root);
    mkdirs(dir);
    mkdirs(a->home);
    if (access(a->clone, F_OK) != 0) {
        const char *clone[] = {"git", "clone", "-q", "--no-checkout", a->project->repo, a->clone, NULL};
        char *out = NULL;
        if (git(a, a->root, clone, &out) != 0) {
            log_error("cannot clone %s: %.300s", a->project->repo, out ? out : "");
            free(out);
            return -1;
        }
        free(out);
    }
    git(a, a->clone, prune, NULL);
    return fetch(a);
}

static char *template(const char *file, const char *def, const char *what)
{
    char *t, err[ERR_LEN];
    if (!file)
        return xstrdup(def);
    if (fileio_read(file, 1u << 20, &t, NULL, err) != ORCH_OK)
        log_error("cannot read the %s template: %s", what, err);
    return t;
}

int agent_serve(const char *type, const char *instance, const agent_cfg *cfg, const svc_cfg *svc)
{
    agent a;
    jsSubOptions so;
    char filter[96], err[ERR_LEN];
    int rc = 1;
    char *json = NULL;

    memset(&a, 0, sizeof(a));
    a.c = cfg;
    a.instance = instance;
    a.type = names_agent_parse(type);
    a.type_name = names_agent_type(a.type);
    a.preset = agent_preset_find(agent_cfg_presets[cfg->preset]);
    a.unsure = strmap_create();
    if (a.preset->output == AGENT_OUT_COMMAND && (cfg->command.n == 0 || cfg->command.n > CMD_MAX)) {
        log_error("agent.preset is command: agent.command must have 1 to %d elements", CMD_MAX);
        goto out;
    }
    if (cfg->price && *cfg->price && agent_price_parse(cfg->price, &a.price, err, sizeof(err)) != 0) {
        log_error("agent.price '%.40s': %s", cfg->price, err);
        goto out;
    }
    if (fileio_read(cfg->projects_file, 4u << 20, &json, NULL, err) != ORCH_OK) {
        log_error("projects file %s", err);
        goto out;
    }
    if (vconfig_parse(json, strlen(json), &a.projects, err) != ORCH_OK) {
        log_error("projects file %s: %s", cfg->projects_file, err);
        goto out;
    }
    if (!(a.project = vconfig_find(&a.projects, cfg->project))) {
        log_error("project %s is not in %s", cfg->project, cfg->projects_file);
        goto out;
    }
    if (!(a.work_template = template(cfg->prompt_file, agent_work_prompt, "prompt")) ||
        !(a.review_template = template(cfg->review_prompt_file, agent_review_prompt, "review prompt")))
        goto out;
    {
        /* A typo in a template shows now, not as a strange prompt. */
        static const agent_var probe[] = {{"id", ""},      {"title", ""},  {"description", ""}, {"attempt", ""},
                                          {"acceptance", ""}, {"files", ""}, {"failure", ""},     {"dependencies", ""},
                                          {"project", ""},  {"branch", ""}, {"base", ""},        {"commit", ""},
                                          {"author", ""},   {"summary", ""}, {"changed", ""},    {"diff", ""}};
        char *p = NULL;
        if (agent_render(a.work_template, probe, 10, &p, err) != ORCH_OK ||
            (free(p), p = NULL, agent_render(a.review_template, probe, 16, &p, err) != ORCH_OK)) {
            log_error("template: %s", err);
            goto out;
        }
        free(p);
    }
    if (prepare(&a) != 0)
        goto out;
    {
        /* Candidates are verified as the verifier would: its steps, in
         * clones under this instance's directory. */
        char verify_root[900];
        snprintf(verify_root, sizeof(verify_root), "%s/verify", a.root);
        a.projects.work_root = xstrdup(verify_root);
        a.projects.output_limit = 65536;
        a.projects.grace_ms = cfg->grace_ms;
        a.projects.git_timeout_ms = GIT_TIMEOUT_MS;
    }
    {
        /* on an agent host's leaf node: the hub's streams through its domain */
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Domain = svc->js_domain;
        claim_use_domain(svc->js_domain);
        if (nc_connect(&a.nc, svc, instance, 0, err) != ORCH_OK ||
            natsConnection_JetStream(&a.js, a.nc, &jo) != NATS_OK) {
            log_error("NATS: %s", err);
            goto out;
        }
    }
    /* An agent identity of deploy/nats.conf may not read the states (no
     * identity reads what is not its own): with credentials, the check of
     * the current attempt is left to the scheduler, which refuses reports
     * of past attempts (docs/agents.md, "Only the current attempt"). */
    if (auth_has_credentials(svc) || js_KeyValue(&a.states, a.js, TOPO_KV_REQUIREMENTS) != NATS_OK) {
        a.states = NULL;
        log_info("%s is not read: every dispatch is taken as the current attempt", TOPO_KV_REQUIREMENTS);
    }
    /* After connecting, so that a failure can raise its alert; before
     * subscribing, so that an agent whose CLI cannot run takes no work. It
     * exits rather than stays up idle: its supervisor (the Host Listener,
     * compose, systemd) sees an agent that exits at once, restarts it with
     * a growing delay and says so (agent_crashloop), and each restart checks
     * again, so installing the CLI is all a fix takes. The release role
     * runs no CLI. */
    if (a.type != ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE && check_cli(&a, err) != 0) {
        char summary[300];
        log_error("%s; taking no work", err);
        snprintf(summary, sizeof(summary), "%s agent %s takes no work: its CLI does not run", a.type_name, instance);
        raise_alert(&a, "agent_cli", summary, err);
        goto out;
    }
    agent_breaker_init(&a.breaker, (int)cfg->breaker_failures, cfg->breaker_fast_ms);
    jsSubOptions_Init(&so);
    so.Stream = "REQUIREMENTS";
    so.Consumer = names_agent_consumer(a.type);
    snprintf(filter, sizeof(filter), "requirements.%s.>", a.type_name);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    while (!stop && js_PullSubscribe(&a.sub, a.js, filter, so.Consumer, NULL, &so, NULL) != NATS_OK) {
        log_warn("consumer %s: %s; trying again", so.Consumer, nats_GetLastError(NULL));
        sleep(1);
    }
    log_info("orch-agent %s ready: %s work with %s%s%s, project %s", ORCH_VERSION, a.type_name, a.preset->name,
             cfg->model ? " model " : "", cfg->model ? cfg->model : "", a.project->name);
    while (!stop) {
        if (text_mono_ms() - a.last_beat_ms >= cfg->heartbeat_ms)
            heartbeat(&a, NULL, 0);
        if (!a.sub) {
            usleep(100 * 1000); /* stopped: heartbeats only, until a signal */
            continue;
        }
        nc_consume(a.sub, 1, 500, take, &a);
        act(&a);
        if (agent_breaker_is_open(&a.breaker))
            stop_taking(&a);
    }
    log_info("stopping");
    rc = 0;
out:
    if (a.sub) {
        natsSubscription_Unsubscribe(a.sub);
        natsSubscription_Destroy(a.sub);
    }
    kvStore_Destroy(a.states);
    jsCtx_Destroy(a.js);
    nc_close(a.nc, 2000);
    free(a.projects.work_root); /* set here, not by vconfig_parse */
    a.projects.work_root = NULL;
    vconfig_free(&a.projects);
    strmap_destroy(a.unsure);
    free(a.work_template);
    free(a.review_template);
    free(a.line);
    free(json);
    return rc;
}
