/* orch-agent's pure parts (see agentcore.h). */
#include "agentcore.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "text.h"

/* --- presets ----------------------------------------------------------------- */

/* Claude Code: stream-json so heartbeats can carry live tokens. As root it
 * refuses --dangerously-skip-permissions (unless IS_SANDBOX=1), so edits are
 * accepted by permission mode and the tools it may use are listed. */
static const char *const claude_argv[] = {
    "claude", "-p", "{prompt}", "--output-format", "stream-json", "--verbose", "--permission-mode", "acceptEdits",
    "--allowedTools", "Bash,Edit,Write,Read,Glob,Grep,MultiEdit", "{model_args}", NULL};
static const char *const claude_model[] = {"--model", "{model}", NULL};
static const char *const claude_env[] = {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_TELEMETRY=1",
                                         "DISABLE_AUTOUPDATER=1", "DISABLE_ERROR_REPORTING=1",
                                         "CLAUDE_CODE_MAX_RETRIES=1", NULL};

/* Codex: the work tree is writable to it and nothing else; the two -c
 * settings stop its other traffic. */
static const char *const codex_argv[] = {
    "codex", "exec", "--json", "-c", "analytics.enabled=false", "-c", "check_for_update_on_startup=false",
    "-s", "workspace-write", "--skip-git-repo-check", "-C", "{workdir}", "{model_args}", "{prompt}", NULL};
static const char *const codex_model[] = {"-m", "{model}", NULL};

static const char *const gemini_argv[] = {"gemini", "-p", "{prompt}", "--output-format", "json",
                                          "--approval-mode", "yolo", "{model_args}", NULL};
static const char *const gemini_model[] = {"-m", "{model}", NULL};

static const char *const no_env[] = {NULL};

static const agent_preset presets[] = {
    {"claude", claude_argv, claude_model, claude_env, AGENT_OUT_CLAUDE},
    {"codex", codex_argv, codex_model, no_env, AGENT_OUT_CODEX},
    {"gemini", gemini_argv, gemini_model, no_env, AGENT_OUT_GEMINI},
    {"command", NULL, NULL, no_env, AGENT_OUT_COMMAND},
};

const agent_preset *agent_preset_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof(presets) / sizeof(presets[0]); i++)
        if (!strcmp(presets[i].name, name))
            return &presets[i];
    return NULL;
}

const char *agent_preset_names(void)
{
    return "claude, codex, gemini, command";
}

/* --- output ------------------------------------------------------------------ */

static uint64_t num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint64_t)v->valuedouble : 0;
}

static void copy_text(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

static uint64_t claude_tokens(const cJSON *usage)
{
    return num(usage, "input_tokens") + num(usage, "output_tokens") + num(usage, "cache_creation_input_tokens") +
           num(usage, "cache_read_input_tokens");
}

static void claude_result(const cJSON *o, agent_usage *u)
{
    const cJSON *cost = cJSON_GetObjectItemCaseSensitive(o, "total_cost_usd");
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(o, "usage");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(o, "api_error_status");
    if (cJSON_IsObject(usage)) {
        u->tokens = claude_tokens(usage);
        u->has_tokens = 1;
    }
    if (cJSON_IsNumber(cost)) {
        u->cost_usd = cost->valuedouble;
        u->has_cost = 1;
    }
    u->is_error = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "is_error"));
    if (cJSON_IsNumber(status))
        u->api_status = (int)status->valuedouble;
    copy_text(u->text, sizeof(u->text), cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "result")));
    if (u->is_error)
        copy_text(u->error, sizeof(u->error), u->text);
}

/* The HTTP status a Codex error message names ("last status: 429 Too Many
 * Requests", "unexpected status 401 Unauthorized"), or 0. */
static int status_in(const char *msg)
{
    const char *p = msg ? strstr(msg, "status") : NULL;
    while (p) {
        const char *q = p + 6;
        while (*q == ':' || *q == ' ')
            q++;
        if (isdigit((unsigned char)q[0]) && isdigit((unsigned char)q[1]) && isdigit((unsigned char)q[2]) &&
            !isdigit((unsigned char)q[3]))
            return atoi(q);
        p = strstr(q, "status");
    }
    return 0;
}

static void codex_event(const cJSON *o, agent_usage *u)
{
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "type"));
    if (!type)
        return;
    if (!strcmp(type, "turn.completed")) {
        const cJSON *usage = cJSON_GetObjectItemCaseSensitive(o, "usage");
        u->tokens += num(usage, "input_tokens") + num(usage, "output_tokens");
        u->input += num(usage, "input_tokens");
        u->cached_input += num(usage, "cached_input_tokens");
        u->output += num(usage, "output_tokens");
        u->reasoning += num(usage, "reasoning_output_tokens");
        u->has_tokens = 1;
    } else if (!strcmp(type, "error") || !strcmp(type, "turn.failed")) {
        const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "message"));
        if (!msg)
            msg = cJSON_GetStringValue(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "error"), "message"));
        u->is_error = 1;
        copy_text(u->error, sizeof(u->error), msg);
        if (status_in(msg))
            u->api_status = status_in(msg);
    } else if (!strcmp(type, "item.completed")) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, "item");
        const char *it = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "type"));
        if (it && !strcmp(it, "agent_message"))
            copy_text(u->text, sizeof(u->text), cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "text")));
    }
}

/* OpenAI's list prices per million tokens (openai.com/api/pricing, read
 * 2026-12): the Codex preset's models. Longest names first is not needed:
 * agent_price_find picks the longest match. */
static const agent_price prices[] = {
    {"gpt-5", 1.25, 0.125, 10.0},
    {"gpt-5-codex", 1.25, 0.125, 10.0},
    {"gpt-5-mini", 0.25, 0.025, 2.0},
    {"gpt-5-nano", 0.05, 0.005, 0.40},
    {"codex-mini", 1.50, 0.375, 6.0},
    {"o4-mini", 1.10, 0.275, 4.40},
};

const agent_price *agent_price_find(const char *model)
{
    const agent_price *best = NULL;
    if (!model || !*model)
        model = "gpt-5";
    for (size_t i = 0; i < sizeof(prices) / sizeof(prices[0]); i++)
        if (!strncmp(model, prices[i].model, strlen(prices[i].model)) &&
            (!best || strlen(prices[i].model) > strlen(best->model)))
            best = &prices[i];
    return best;
}

int agent_price_parse(const char *text, agent_price *p, char *why, size_t len)
{
    double v[3];
    const char *s = text;
    for (int i = 0; i < 3; i++) {
        char *end;
        v[i] = strtod(s, &end);
        if (end == s || !(v[i] >= 0 && v[i] <= 10000) || *end != (i < 2 ? ',' : '\0')) {
            snprintf(why, len, "expected INPUT,CACHED,OUTPUT in US dollars per million tokens (each 0 to 10000), "
                     "e.g. 1.25,0.125,10");
            return -1;
        }
        s = end + 1;
    }
    p->model = "configured";
    p->input = v[0];
    p->cached_input = v[1];
    p->output = v[2];
    return 0;
}

int agent_cost_compute(agent_usage *u, const agent_price *p)
{
    uint64_t fresh;
    if (u->has_cost || !p || !(u->input || u->output))
        return 0;
    fresh = u->input > u->cached_input ? u->input - u->cached_input : 0;
    u->cost_usd = ((double)fresh * p->input + (double)u->cached_input * p->cached_input + (double)u->output * p->output) /
                  1e6;
    u->has_cost = 1;
    u->cost_computed = 1;
    return 1;
}

static void gemini_result(const cJSON *o, agent_usage *u)
{
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "stats"), "models");
    const cJSON *m, *err = cJSON_GetObjectItemCaseSensitive(o, "error");
    cJSON_ArrayForEach(m, models)
    {
        u->tokens += num(cJSON_GetObjectItemCaseSensitive(m, "tokens"), "total");
        u->has_tokens = 1;
    }
    copy_text(u->text, sizeof(u->text), cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "response")));
    if (err && !cJSON_IsNull(err)) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
        u->is_error = 1;
        copy_text(u->error, sizeof(u->error), cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "message")));
        if (cJSON_IsNumber(code))
            u->api_status = (int)code->valuedouble;
    }
}

static void command_result(const cJSON *o, agent_usage *u)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "tokensUsed");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "costUsd");
    if (!t)
        t = cJSON_GetObjectItemCaseSensitive(o, "tokens");
    if (!c)
        c = cJSON_GetObjectItemCaseSensitive(o, "total_cost_usd");
    if (cJSON_IsNumber(t) && t->valuedouble >= 0) {
        u->tokens = (uint64_t)t->valuedouble;
        u->has_tokens = 1;
    }
    if (cJSON_IsNumber(c) && c->valuedouble >= 0) {
        u->cost_usd = c->valuedouble;
        u->has_cost = 1;
    }
    copy_text(u->text, sizeof(u->text), cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "summary")));
}

void agent_usage_parse(agent_output kind, const char *output, agent_usage *u)
{
    const char *p = output ? output : "";
    cJSON *last = NULL;

    memset(u, 0, sizeof(*u));
    if (kind == AGENT_OUT_GEMINI) {
        /* One object, possibly after lines of other output. */
        const char *brace = strchr(p, '{');
        cJSON *o = NULL;
        while (brace && !(o = cJSON_Parse(brace)))
            brace = strchr(brace + 1, '\n') ? strchr(strchr(brace + 1, '\n'), '{') : NULL;
        if (o)
            gemini_result(o, u);
        cJSON_Delete(o);
        return;
    }
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        cJSON *o = len && p[0] == '{' ? cJSON_ParseWithLength(p, len) : NULL;
        if (cJSON_IsObject(o)) {
            const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "type"));
            if (kind == AGENT_OUT_CODEX) {
                codex_event(o, u);
            } else if (kind == AGENT_OUT_CLAUDE) {
                if (type && !strcmp(type, "result"))
                    claude_result(o, u);
            } else {
                cJSON_Delete(last);
                last = o;
                o = NULL;
            }
        }
        cJSON_Delete(o);
        p += len + (nl ? 1 : 0);
    }
    if (last)
        command_result(last, u);
    cJSON_Delete(last);
}

uint64_t agent_usage_line(agent_output kind, const char *line, size_t len)
{
    cJSON *o;
    uint64_t n = 0;
    const char *type;
    if (len == 0 || line[0] != '{' || (kind != AGENT_OUT_CLAUDE && kind != AGENT_OUT_CODEX))
        return 0;
    if (!(o = cJSON_ParseWithLength(line, len)))
        return 0;
    type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "type"));
    if (type && kind == AGENT_OUT_CLAUDE && !strcmp(type, "assistant"))
        n = claude_tokens(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "message"), "usage"));
    else if (type && kind == AGENT_OUT_CODEX && !strcmp(type, "turn.completed")) {
        const cJSON *usage = cJSON_GetObjectItemCaseSensitive(o, "usage");
        n = num(usage, "input_tokens") + num(usage, "output_tokens");
    }
    cJSON_Delete(o);
    return n;
}

/* --- the command line -------------------------------------------------------- */

static size_t count(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

/* s with each {name} of f replaced; NULL with err when {model} has no
 * model. */
static char *fill(const char *s, const agent_fill *f, char err[ERR_LEN])
{
    static const char *const names[] = {"{prompt}", "{prompt_file}", "{workdir}", "{model}"};
    const char *vals[] = {f->prompt, f->prompt_file, f->workdir, f->model};
    size_t cap = strlen(s) + 1, len = 0;
    char *out = xmalloc(cap);
    while (*s) {
        size_t k = 0;
        for (; k < 4; k++)
            if (!strncmp(s, names[k], strlen(names[k])))
                break;
        if (k < 4) {
            const char *v = vals[k] ? vals[k] : "";
            size_t vl = strlen(v);
            if (k == 3 && !vl) {
                snprintf(err, ERR_LEN, "the command names {model} but no model is configured");
                free(out);
                return NULL;
            }
            out = xrealloc(out, cap += vl);
            memcpy(out + len, v, vl);
            len += vl;
            s += strlen(names[k]);
        } else {
            out[len++] = *s++;
        }
    }
    out[len] = '\0';
    return out;
}

orch_status agent_argv_build(const char *const *tmpl, const char *const *model_args, const agent_fill *f,
                             char ***out, char err[ERR_LEN])
{
    size_t n = count(tmpl), k = 0;
    char **v;
    int has_model = f->model && *f->model;

    *out = NULL;
    err[0] = '\0';
    if (n == 0) {
        snprintf(err, ERR_LEN, "the command is empty");
        return ORCH_ERR_INVALID;
    }
    v = xcalloc(n + count(model_args) + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(tmpl[i], "{model_args}")) {
            for (size_t j = 0; has_model && j < count(model_args); j++)
                if (!(v[k++] = fill(model_args[j], f, err)))
                    goto bad;
            continue;
        }
        if (!(v[k++] = fill(tmpl[i], f, err)))
            goto bad;
    }
    if (!*v[0]) {
        snprintf(err, ERR_LEN, "the command's program is empty");
        goto bad;
    }
    *out = v;
    return ORCH_OK;
bad:
    agent_argv_free(v);
    return ORCH_ERR_INVALID;
}

void agent_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* Adds or replaces "K=V" in v (n entries). */
static void env_put(char ***v, size_t *n, const char *kv)
{
    size_t klen = strcspn(kv, "=");
    for (size_t i = 0; i < *n; i++)
        if (!strncmp((*v)[i], kv, klen) && (*v)[i][klen] == '=') {
            free((*v)[i]);
            (*v)[i] = xstrdup(kv);
            return;
        }
    *v = xrealloc(*v, sizeof(char *) * (*n + 2));
    (*v)[(*n)++] = xstrdup(kv);
    (*v)[*n] = NULL;
}

char **agent_env_build(const char *const *fixed, const cfg_list *allow, const char *const *from,
                       const char *const *base)
{
    char **v = xcalloc(1, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; fixed && fixed[i]; i++)
        env_put(&v, &n, fixed[i]);
    for (int a = 0; allow && a < allow->n; a++) {
        size_t len = strlen(allow->v[a]);
        for (size_t i = 0; from && from[i]; i++)
            if (len && !strncmp(from[i], allow->v[a], len) && from[i][len] == '=')
                env_put(&v, &n, from[i]);
    }
    for (size_t i = 0; base && base[i]; i++)
        env_put(&v, &n, base[i]);
    return v;
}

const char *agent_model_for(const char *hint, const char *model, const char *cheap)
{
    if (hint && !strcmp(hint, "cheap") && cheap && *cheap)
        return cheap;
    return model ? model : "";
}

/* --- failures ---------------------------------------------------------------- */

/* Case-insensitive strstr. */
static int has(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; hay && *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return 1;
    return 0;
}

static void failed(agent_failure *f, int transient, const char *reason, const char *fmt, const char *detail)
{
    f->failed = 1;
    f->transient = transient;
    f->reason = reason;
    snprintf(f->message, sizeof(f->message), fmt, detail ? detail : "");
}

/* The last non-empty line of out, for a message (bounded). */
static void last_line(const char *out, char *buf, size_t len)
{
    const char *end = out ? out + strlen(out) : NULL, *start;
    buf[0] = '\0';
    if (!end)
        return;
    while (end > out && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        end--;
    start = end;
    while (start > out && start[-1] != '\n')
        start--;
    snprintf(buf, len, "%.*s", (int)(end - start), start);
}

void agent_classify(const agent_run *run, const agent_usage *u, const char *output, agent_failure *f)
{
    char line[400];
    const char *why;
    int st = u->api_status;

    memset(f, 0, sizeof(*f));
    f->reason = "ok";
    why = *u->error ? u->error : (last_line(output, line, sizeof(line)), line);
    if (run->start_failed) {
        failed(f, 0, "cli_missing", "the agent CLI could not be started: %s", why);
        return;
    }
    if (run->timed_out) {
        failed(f, 1, "timeout", "the agent CLI ran past its time limit and was stopped%s", "");
        return;
    }
    if (run->exit_code == 0 && !u->is_error) {
        if (run->needs_change && run->changed == 0)
            failed(f, 0, "empty_diff", "the agent changed nothing%s", *u->text ? ": " : "");
        if (f->failed && *u->text)
            snprintf(f->message + strlen(f->message), sizeof(f->message) - strlen(f->message), "%.400s", u->text);
        return;
    }
    /* The model API's status first: the CLIs report it when they have one. */
    if (st == 429)
        { failed(f, 1, "rate_limited", "the model API refused: too many requests (429): %s", why); return; }
    if (st == 529 || st == 503)
        { failed(f, 1, "overloaded", "the model API is overloaded: %s", why); return; }
    if (st >= 500 && st <= 599)
        { failed(f, 1, "server_error", "the model API failed: %s", why); return; }
    if (st == 401 || st == 403)
        { failed(f, 0, "auth", "the model API refused the credentials: %s", why); return; }
    /* Else the words of the error (or of the output's end). */
    if (has(why, "429") || has(why, "rate limit") || has(why, "rate_limit") || has(why, "too many requests"))
        { failed(f, 1, "rate_limited", "the model API refused: too many requests: %s", why); return; }
    if (has(why, "overloaded") || has(why, "529") || has(why, "503") || has(why, "service unavailable"))
        { failed(f, 1, "overloaded", "the model API is overloaded: %s", why); return; }
    if (has(why, "401") || has(why, "403") || has(why, "unauthorized") || has(why, "authenticat") ||
        has(why, "invalid api key") || has(why, "invalid x-api-key") || has(why, "forbidden"))
        { failed(f, 0, "auth", "the model API refused the credentials: %s", why); return; }
    if (has(why, "500") || has(why, "502") || has(why, "504") || has(why, "internal server error") ||
        has(why, "bad gateway"))
        { failed(f, 1, "server_error", "the model API failed: %s", why); return; }
    if (has(why, "econnrefused") || has(why, "connection refused") || has(why, "etimedout") || has(why, "timed out") ||
        has(why, "enotfound") || has(why, "network") || has(why, "stream disconnected") ||
        has(why, "error sending request") || has(why, "connection reset") || has(why, "econnreset"))
        { failed(f, 1, "network", "the model API could not be reached: %s", why); return; }
    if (run->exit_code == 127 && (has(why, "no such file") || has(why, "not found")))
        { failed(f, 0, "cli_missing", "the agent CLI could not be started: %s", why); return; }
    if (run->exit_code < 0)
        { failed(f, 1, "killed", "the agent CLI was killed by a signal: %s", why); return; }
    failed(f, 0, "agent_failed", "the agent CLI failed: %s", why);
}

/* --- when a rate limit ends ---------------------------------------------------- */

/* Seconds of "4 days 20 hours 9 minutes", "20s", "6m0s", "1.5s", "1h2m"
 * or a bare "30" at p; -1 when p holds no duration. */
static double duration_at(const char *p)
{
    double total = 0;
    int any = 0;
    for (;;) {
        char *end;
        double v;
        while (*p == ' ' || *p == ',')
            p++;
        if (!strncmp(p, "and ", 4))
            p += 4;
        v = strtod(p, &end);
        if (end == p || v < 0)
            break;
        p = end;
        while (*p == ' ')
            p++;
        if (!strncmp(p, "day", 3))
            total += v * 86400;
        else if (!strncmp(p, "hour", 4) || !strncmp(p, "hr", 2) || *p == 'h')
            total += v * 3600;
        else if (!strncmp(p, "ms", 2))
            total += v / 1000;
        else if (!strncmp(p, "min", 3) || *p == 'm')
            total += v * 60;
        else if (!strncmp(p, "sec", 3) || *p == 's')
            total += v;
        else if (!any && !isalpha((unsigned char)*p)) /* "retry-after: 30": seconds */
            return v;
        else
            break;
        any = 1;
        while (isalpha((unsigned char)*p))
            p++;
    }
    return any ? total : -1;
}

int64_t agent_retry_at(const char *text, int64_t now_ms)
{
    static const char *const waits[] = {"try again in ", "retry after ", "retry-after: ", "retry-after ", "resets in "};
    const char *p;
    double s = -1;
    if (!text)
        return 0;
    if ((p = strstr(text, "limit reached|")) && isdigit((unsigned char)p[14])) {
        long long at = strtoll(p + 14, NULL, 10);
        s = at > 0 ? (double)at - (double)now_ms / 1000.0 : -1;
    }
    for (size_t i = 0; s < 0 && i < sizeof(waits) / sizeof(waits[0]); i++) {
        char low[ERR_LEN];
        size_t n = 0;
        for (; text[n] && n + 1 < sizeof(low); n++)
            low[n] = (char)tolower((unsigned char)text[n]);
        low[n] = '\0';
        if ((p = strstr(low, waits[i])))
            s = duration_at(p + strlen(waits[i]));
    }
    if (s < 0 || s > 7 * 86400.0)
        return 0;
    return now_ms + (int64_t)(s * 1000 + 0.5);
}

/* --- the start-up check ------------------------------------------------------- */

const char *agent_cli_program(const agent_preset *p, const char *cli, const cfg_list *command)
{
    if (!p)
        return NULL;
    if (p->argv)
        return cli && *cli ? cli : p->argv[0];
    return command && command->n > 0 && *command->v[0] ? command->v[0] : NULL;
}

int agent_check_judge(const char *program, const agent_run *run, const char *output, char msg[ERR_LEN])
{
    char line[400];
    const char *p = program ? program : "(none)";
    msg[0] = '\0';
    last_line(output, line, sizeof(line));
    if (run->start_failed || (run->exit_code == 127 && (has(line, "no such file") || has(line, "not found"))))
        snprintf(msg, ERR_LEN, "the agent CLI '%s --version' could not be started: %s", p,
                 *line ? line : "no such program on agent.path");
    else if (run->timed_out)
        snprintf(msg, ERR_LEN, "the agent CLI '%s --version' did not answer within its time limit%s%s", p,
                 *line ? ": " : "", line);
    else if (run->exit_code != 0)
        snprintf(msg, ERR_LEN, "the agent CLI '%s --version' failed (exit %d): %s", p, run->exit_code,
                 *line ? line : "no output");
    else
        return 0;
    return -1;
}

/* --- the circuit breaker ------------------------------------------------------ */

void agent_breaker_init(agent_breaker *b, int failures, int64_t fast_ms)
{
    memset(b, 0, sizeof(*b));
    b->failures = failures < 0 ? 0 : failures > AGENT_BREAKER_MAX ? AGENT_BREAKER_MAX : failures;
    b->fast_ms = fast_ms;
}

int agent_breaker_record(agent_breaker *b, const agent_failure *f, int64_t duration_ms, int64_t now_ms)
{
    agent_breaker_run *r;
    if (b->open || b->failures == 0)
        return 0;
    if (!f->failed || f->transient || duration_ms >= b->fast_ms) {
        b->streak = 0;
        return 0;
    }
    r = &b->runs[b->streak++];
    snprintf(r->reason, sizeof(r->reason), "%s", f->reason ? f->reason : "failed");
    r->duration_ms = duration_ms;
    if (b->streak < b->failures)
        return 0;
    b->open = 1;
    b->opened_at_ms = now_ms;
    return 1;
}

int agent_breaker_is_open(const agent_breaker *b) { return b && b->open; }

void agent_breaker_explain(const agent_breaker *b, char *buf, size_t len)
{
    size_t n;
    if (!len)
        return;
    buf[0] = '\0';
    if (!b->open)
        return;
    n = (size_t)snprintf(buf, len, "the last %d runs of the CLI failed non-transiently, each in under %lld ms:",
                         b->streak, (long long)b->fast_ms);
    for (int i = 0; i < b->streak && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s %s after %lld ms", i ? "," : "", b->runs[i].reason,
                              (long long)b->runs[i].duration_ms);
}

/* --- prompts ----------------------------------------------------------------- */

const char agent_work_prompt[] =
    "You are a coding agent working on the project {{project}}. The current directory is a git work tree of it "
    "on branch {{branch}}.\n"
    "\n"
    "Requirement {{id}}: {{title}}\n"
    "Attempt: {{attempt}}\n"
    "\n"
    "{{description}}\n"
    "\n"
    "Acceptance criteria:\n"
    "{{acceptance}}\n"
    "\n"
    "Files to create or change:\n"
    "{{files}}\n"
    "{{dependencies}}{{failure}}\n"
    "Make the change in the files of this directory and keep the project building and its tests passing. "
    "Do not commit, push or switch branches: that is done for you when you finish. End with one short "
    "paragraph saying what you changed.\n";

const char agent_review_prompt[] =
    "You are reviewing a change to the project {{project}} before it is merged into {{base}}. The current "
    "directory is a git work tree at the change ({{commit}}); do not modify any file.\n"
    "\n"
    "Requirement {{id}}: {{title}}\n"
    "{{description}}\n"
    "\n"
    "Acceptance criteria:\n"
    "{{acceptance}}\n"
    "\n"
    "Author: {{author}}. The author's summary: {{summary}}\n"
    "Files changed:\n"
    "{{changed}}\n"
    "\n"
    "The diff against {{base}}:\n"
    "```diff\n"
    "{{diff}}\n"
    "```\n"
    "\n"
    "Answer with your comments for the author, then a last line that is exactly\n"
    "VERDICT: APPROVED\n"
    "or\n"
    "VERDICT: CHANGES_REQUESTED\n";

orch_status agent_render(const char *tmpl, const agent_var *vars, size_t n, char **out, char err[ERR_LEN])
{
    size_t cap = strlen(tmpl) + 256, len = 0;
    char *buf = xmalloc(cap);
    const char *s = tmpl;

    err[0] = '\0';
    *out = NULL;
    while (*s) {
        const char *v = NULL, *end;
        size_t vl;
        if (s[0] != '{' || s[1] != '{' || !(end = strstr(s + 2, "}}"))) {
            if (len + 2 > cap)
                buf = xrealloc(buf, cap *= 2);
            buf[len++] = *s++;
            continue;
        }
        for (size_t i = 0; i < n; i++)
            if (strlen(vars[i].name) == (size_t)(end - s - 2) && !strncmp(vars[i].name, s + 2, (size_t)(end - s - 2)))
                v = vars[i].value ? vars[i].value : "";
        if (!v) {
            snprintf(err, ERR_LEN, "the template names {{%.*s}}, which is not known", (int)(end - s - 2 > 60 ? 60 : end - s - 2),
                     s + 2);
            free(buf);
            return ORCH_ERR_INVALID;
        }
        vl = strlen(v);
        while (len + vl + 2 > cap)
            buf = xrealloc(buf, cap *= 2);
        memcpy(buf + len, v, vl);
        len += vl;
        s = end + 2;
    }
    buf[len] = '\0';
    *out = buf;
    return ORCH_OK;
}

static char *bullets(char **items, size_t n)
{
    size_t cap = 32, len = 0;
    char *s;
    if (n == 0)
        return xstrdup("(none given)");
    for (size_t i = 0; i < n; i++)
        cap += strlen(items[i]) + 3;
    s = xmalloc(cap);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s- %s", i ? "\n" : "", items[i]);
    return s;
}

static char *section(const char *heading, const char *body)
{
    size_t n;
    char *s;
    if (!body || !*body)
        return xstrdup("");
    n = strlen(heading) + strlen(body) + 32;
    s = xmalloc(n);
    snprintf(s, n, "\n%s\n%s\n", heading, body);
    return s;
}

agent_var *agent_work_vars(const pb_requirement *r, const char *project, const char *branch, const char *deps,
                           size_t *n)
{
    agent_var *v = xcalloc(10, sizeof(*v));
    char attempt[16];
    const char *failure = r->last_failure_output;
    char *fail_section;

    snprintf(attempt, sizeof(attempt), "%u", r->attempt ? r->attempt : 1);
    if (failure && !strncmp(failure, "review requested changes: ", 26))
        fail_section = section("The reviewer asked for changes on the previous attempt; make them:", failure + 26);
    else if (failure && *failure) {
        size_t len = strlen(failure) + 200;
        char *body = xmalloc(len);
        snprintf(body, len, "```\n%s\n```", failure);
        fail_section = section("The previous attempt failed verification with this output; fix what it says:", body);
        free(body);
    } else {
        fail_section = xstrdup("");
    }
    v[0] = (agent_var){"id", xstrdup(r->id)};
    v[1] = (agent_var){"title", xstrdup(r->title)};
    v[2] = (agent_var){"description", xstrdup(*r->description ? r->description : "(no description)")};
    v[3] = (agent_var){"attempt", xstrdup(attempt)};
    v[4] = (agent_var){"acceptance", bullets(r->acceptance_criteria, r->n_acceptance_criteria)};
    v[5] = (agent_var){"files", bullets(r->files, r->n_files)};
    v[6] = (agent_var){"failure", fail_section};
    v[7] = (agent_var){"dependencies", section("What the requirements it depends on did:", deps)};
    v[8] = (agent_var){"project", xstrdup(project ? project : "")};
    v[9] = (agent_var){"branch", xstrdup(branch ? branch : "")};
    *n = 10;
    return v;
}

void agent_vars_free(agent_var *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free((char *)v[i].value);
    free(v);
}

int agent_review_verdict(const char *text, int *approved, char *comments, size_t len)
{
    const char *p = text, *found = NULL, *line = NULL, *line_end = NULL;
    size_t k = 0;
    while (p && *p) {
        const char *nl = strchr(p, '\n'), *s = p;
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        while (*s == ' ' || *s == '*' || *s == '`' || *s == '#')
            s++;
        if (!strncasecmp(s, "VERDICT:", 8)) {
            found = s + 8;
            line = p;
            line_end = p + l + (nl ? 1 : 0);
        }
        p += l + (nl ? 1 : 0);
    }
    if (len)
        comments[0] = '\0';
    if (!found)
        return -1;
    while (*found == ' ' || *found == '*')
        found++;
    if (!strncasecmp(found, "APPROVED", 8))
        *approved = 1;
    else if (!strncasecmp(found, "CHANGES_REQUESTED", 17) || !strncasecmp(found, "CHANGES REQUESTED", 17))
        *approved = 0;
    else
        return -1;
    /* The comments: the text less the verdict line, trimmed. */
    for (p = text; *p && k + 1 < len; p++)
        if (p < line || p >= line_end)
            comments[k++] = *p;
    if (len) {
        comments[k] = '\0';
        while (k > 0 && (comments[k - 1] == '\n' || comments[k - 1] == ' '))
            comments[--k] = '\0';
    }
    return 0;
}
