/* Your own repository in one command: scripts/run.sh --repo PATH --roadmap
 * FILE --headless on a fresh small repository, with the real Claude Code
 * and Codex (scripts/install-agent-clis.sh) under orch-agent against the
 * scripted model server (tests/support/modelfake.js with
 * tests/e2e/own_repo/script.json) on loopback, on the four requirements of
 * tests/e2e/own_repo/roadmap.md. The test writes the repository (the
 * user's part) and nothing else: no settings, no projects file, no agent
 * or server configuration (Codex's provider, which points it at the
 * scripted server, is the test's, as in test_agents).
 *
 * Asserted, per layout (a Makefile with all and test; CMake with ctest):
 * the layout said and written to the settings file; every requirement
 * COMPLETE and its file on the copy's base branch, made by the agents'
 * identities; the user's repository as it was (HEAD, branches, a clean
 * tree) and no ~/.gitconfig made; nothing left running. A missing key or
 * CLI: named with the command that fixes it, exit code 2, nothing made
 * under var/ and nothing running. SIGINT while a requirement is being
 * worked: everything stops within the shutdown time-out; the second run
 * (no --roadmap: the settings and the state are reused) merges the rest
 * without working again on what was merged before the interrupt, and with
 * the settings as a person edited them between the runs (the review
 * instructions of review.prompt_file). The
 * other layouts (npm, cargo, go, pytest, a Makefile without tests, none)
 * through --plan, which says what a run would use and starts nothing. */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "modelsrv.h"
#include "natsfix.h"
#include "proc.h"

/* The shutdown time-out of every daemon (shutdown.timeout_ms, 10 s) and
 * orch-agent's grace for its CLI (agent.grace_ms, 5 s): the bound for
 * everything to stop after SIGINT. */
#define SHUTDOWN_BOUND_MS 15000

static char dir[256];
static char src_dir[300];
static modelsrv fake;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put(const char *rel, const char *text)
{
    char path[600];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Runs argv to its end in dir; its output in dir/log. Returns the exit code. */
static int run(const char *const argv[], const char *log)
{
    int status = 0;
    char path[400];
    pid_t pid;
    snprintf(path, sizeof(path), "%s/%s", dir, log);
    unlink(path); /* proc_spawn appends */
    pid = proc_spawn(argv, NULL, dir, log);
    assert_true(pid > 0);
    if (proc_wait(pid, 60 * 1000, &status) != 0) {
        proc_stop(pid, 2000);
        fail_msg("%s %s did not end in 60 s", argv[0], argv[1]);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The first line of a git command's output in dir (into out). */
static void git_line(char *out, size_t len, const char *a1, const char *a2, const char *a3, const char *a4)
{
    char path[400], *text;
    const char *argv[] = {"git", a1, a2, a3, a4, NULL};
    assert_int_equal(run(argv, "git.out"), 0);
    snprintf(path, sizeof(path), "%s/git.out", dir);
    text = proc_slurp(path);
    assert_non_null(text);
    snprintf(out, len, "%s", text);
    out[strcspn(out, "\n")] = '\0';
    free(text);
}

static char *slurp_rel(const char *rel)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    return proc_slurp(path);
}

/* A fresh repository in dir/calc: a C program of one file, built by a
 * Makefile (layout 'm') or by CMake with a ctest test ('c'), committed. */
static void make_repo(char layout)
{
    char path[400];
    {
        const char *argv[] = {"git", "init", "-q", "-b", "main", "calc", NULL};
        assert_int_equal(run(argv, "git.out"), 0);
    }
    snprintf(path, sizeof(path), "%s/calc/src", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    put("calc/src/main.c", "int main(void) { return 0; }\n");
    if (layout == 'm') {
        put("calc/Makefile", "CFLAGS = -Wall -Werror\n\nall: calc\n\ncalc: $(wildcard src/*.c)\n"
                             "\tcc $(CFLAGS) -o calc src/*.c\n\ntest: calc\n\t./calc\n");
        put("calc/.gitignore", "calc\n");
    } else {
        put("calc/CMakeLists.txt", "cmake_minimum_required(VERSION 3.16)\nproject(calc C)\n"
                                   "file(GLOB SRC CONFIGURE_DEPENDS src/*.c)\nadd_executable(calc ${SRC})\n"
                                   "target_compile_options(calc PRIVATE -Wall -Werror)\n"
                                   "enable_testing()\nadd_test(NAME runs COMMAND calc)\n");
        put("calc/.gitignore", "build/\n");
    }
    {
        const char *add[] = {"git", "-C", "calc", "add", "-A", NULL};
        const char *commit[] = {"git", "-C", "calc", "-c", "user.name=Dev", "-c", "user.email=dev@example.org",
                                "commit", "-q", "-m", "initial", NULL};
        assert_int_equal(run(add, "git.out"), 0);
        assert_int_equal(run(commit, "git.out"), 0);
    }
}

/* The scripted model server with the given script of tests/e2e/own_repo,
 * and Codex's provider pointing at it (dir/codex). */
static void start_fake(const char *script_name)
{
    char script[400], rec[400], path[400];
    snprintf(script, sizeof(script), "%s/tests/e2e/own_repo/%s", getenv("ORCH_SOURCE_DIR"), script_name);
    snprintf(rec, sizeof(rec), "%s/requests.jsonl", dir);
    if (modelsrv_start(&fake, script, rec, dir, 10000) != 0)
        fail_msg("the scripted model server did not start (log: %s/modelfake.log)", dir);
    snprintf(path, sizeof(path), "%s/codex", dir);
    assert_int_equal(modelsrv_codex_home(&fake, path), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/orch-own-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(src_dir, sizeof(src_dir), "%s", getenv("ORCH_SOURCE_DIR"));
    /* the repository's git commands name it relatively: calc */
    assert_int_equal(chdir(dir), 0);
    {
        char path[300];
        snprintf(path, sizeof(path), "%s/home", dir);
        assert_int_equal(mkdir(path, 0700), 0);
    }
    fake.pid = 0;
    return 0;
}

/* Pids of the processes other than the test whose command line or working
 * directory names dir: what the run started and left behind. */
static int leftovers(char *names, size_t len)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    size_t at = 0;
    names[0] = '\0';
    assert_non_null(d);
    while ((e = readdir(d))) {
        char path[300], buf[4096], cwd[600];
        long pid = strtol(e->d_name, NULL, 10);
        FILE *f;
        size_t got = 0;
        ssize_t cl;
        if (pid <= 0 || pid == (long)getpid() || pid == (long)fake.pid || !proc_alive(pid))
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
        if ((f = fopen(path, "r"))) {
            got = fread(buf, 1, sizeof(buf) - 1, f);
            fclose(f);
        }
        for (size_t i = 0; i < got; i++)
            if (!buf[i])
                buf[i] = ' ';
        buf[got] = '\0';
        snprintf(path, sizeof(path), "/proc/%ld/cwd", pid);
        cl = readlink(path, cwd, sizeof(cwd) - 1);
        cwd[cl > 0 ? cl : 0] = '\0';
        if (strstr(buf, dir) || !strncmp(cwd, dir, strlen(dir))) {
            n++;
            if (at < len)
                at += (size_t)snprintf(names + at, len - at, "[%ld %.120s] ", pid, buf);
        }
    }
    closedir(d);
    return n;
}

/* Waits up to ms for every process of the run to end; the count left. */
static int wait_gone(int ms, char *names, size_t len)
{
    int n = 0;
    for (int t = 0; t <= ms; t += 200) {
        if ((n = leftovers(names, len)) == 0)
            return 0;
        usleep(200 * 1000);
    }
    return n;
}

static int teardown(void **state)
{
    char names[2048];
    (void)state;
    modelsrv_stop(&fake, 2000);
    if (wait_gone(SHUTDOWN_BOUND_MS, names, sizeof(names)))
        fail_msg("left running: %s", names);
    assert_int_equal(chdir("/"), 0);
    if (!getenv("ORCH_KEEP_TMP")) {
        const char *argv[] = {"rm", "-rf", dir, NULL};
        pid_t pid = proc_spawn(argv, NULL, NULL, NULL);
        int status;
        proc_wait(pid, 60000, &status);
    }
    return 0;
}

/* The environment of a run: its own ports, state under dir/var, the
 * built binaries, the CLIs, the scripted endpoints, a HOME of its own. */
typedef struct {
    char port[64], web[64], demo[320], bin[320], anthropic[100], codex[320], cli[420], home[320];
    const char *env[24];
} run_env;

static void env_init(run_env *e, const char *anthropic_key, const char *cli_dir)
{
    int n = 0;
    char clis[400];
    snprintf(clis, sizeof(clis), "%s/var/npm/node_modules/.bin", src_dir);
    snprintf(e->port, sizeof(e->port), "ORCH_PORT=%d", natsfix_free_port());
    snprintf(e->web, sizeof(e->web), "ORCH_WEB_PORT=%d", natsfix_free_port());
    snprintf(e->demo, sizeof(e->demo), "ORCH_DEMO_DIR=%s/var", dir);
    snprintf(e->bin, sizeof(e->bin), "ORCH_BIN_DIR=%s", getenv("ORCH_BIN_DIR"));
    snprintf(e->anthropic, sizeof(e->anthropic), "ANTHROPIC_BASE_URL=http://127.0.0.1:%d", fake.port);
    snprintf(e->codex, sizeof(e->codex), "CODEX_HOME=%s/codex", dir);
    snprintf(e->cli, sizeof(e->cli), "ORCH_AGENT_CLI_DIR=%s", cli_dir ? cli_dir : clis);
    snprintf(e->home, sizeof(e->home), "HOME=%s/home", dir);
    e->env[n++] = e->port;
    e->env[n++] = e->web;
    e->env[n++] = e->demo;
    e->env[n++] = e->bin;
    e->env[n++] = e->anthropic;
    e->env[n++] = e->codex;
    e->env[n++] = e->cli;
    e->env[n++] = e->home;
    e->env[n++] = anthropic_key;
    e->env[n++] = "OPENAI_API_KEY=sk-scripted-openai";
    e->env[n++] = "ORCH_AGENT_TIMEOUT_S=20";
    e->env[n++] = "ORCH_DEMO_TIMEOUT=200";
    e->env[n++] = "GIT_CONFIG_NOSYSTEM=1";
    e->env[n] = NULL;
}

static pid_t start_run(run_env *e, const char *agents, int with_roadmap, const char *log)
{
    char runsh[400], repo[320], roadmap[420];
    pid_t pid;
    snprintf(runsh, sizeof(runsh), "%s/scripts/run.sh", src_dir);
    snprintf(repo, sizeof(repo), "%s/calc", dir);
    snprintf(roadmap, sizeof(roadmap), "%s/tests/e2e/own_repo/roadmap.md", src_dir);
    {
        const char *with[] = {"bash", runsh, "--repo", repo, "--roadmap", roadmap, "--agent", agents, "--headless", NULL};
        const char *without[] = {"bash", runsh, "--repo", repo, "--headless", NULL};
        pid = proc_spawn(with_roadmap ? with : without, e->env, dir, log);
    }
    assert_true(pid > 0);
    return pid;
}

static int finish(pid_t pid, int ms, const char *log)
{
    int status = 0;
    if (proc_wait(pid, ms, &status) != 0) {
        char *text;
        proc_stop(pid, 20000);
        text = slurp_rel(log);
        fail_msg("run.sh did not end in %d s:\n%s", ms / 1000, text ? text : "(no log)");
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* 1 when the copy's main holds rel. */
static int on_base(const char *rel)
{
    char spec[200], path[400];
    const char *argv[] = {"git", "--git-dir", path, "cat-file", "-e", spec, NULL};
    snprintf(spec, sizeof(spec), "main:%s", rel);
    snprintf(path, sizeof(path), "%s/var/repos/calc/repo.git", dir);
    return run(argv, "git.out") == 0;
}

static const char *const files[] = {"src/one.c", "src/two.c", "src/three.c", "src/four.c"};

/* Every requirement merged on the copy's base, each once, by the agents;
 * the user's repository as it was; no global git configuration made. */
static void assert_all_merged(const char *user_head)
{
    char head[100], line[200], gd[400], *text;
    cJSON *s;
    const cJSON *r;
    int n = 0;
    text = slurp_rel("var/repos/calc/summary.json");
    assert_non_null(text);
    s = cJSON_Parse(text);
    free(text);
    assert_non_null(s);
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(s, "requirements"))
    {
        n++;
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")), "COMPLETE"))
            fail_msg("%s ended %s", cJSON_GetStringValue(cJSON_GetObjectItem(r, "id")),
                     cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")));
    }
    assert_int_equal(n, 4);
    cJSON_Delete(s);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (!on_base(files[i]))
            fail_msg("%s is not on the copy's main", files[i]);
    /* the work was committed by the agents' own identities */
    snprintf(gd, sizeof(gd), "--git-dir=%s/var/repos/calc/repo.git", dir);
    {
        const char *argv[] = {"git", gd, "log", "--format=%ae %s", "main", NULL};
        assert_int_equal(run(argv, "git.out"), 0);
        text = slurp_rel("git.out");
        assert_non_null(text);
        assert_non_null(strstr(text, "@orch-agent.local REQ-301"));
        assert_non_null(strstr(text, "@orch-agent.local REQ-304"));
        free(text);
    }
    /* the user's repository: same HEAD, one branch, nothing changed */
    git_line(head, sizeof(head), "-C", "calc", "rev-parse", "HEAD");
    assert_string_equal(head, user_head);
    git_line(line, sizeof(line), "-C", "calc", "branch", "--format=%(refname:short)");
    assert_string_equal(line, "main");
    {
        const char *argv[] = {"git", "-C", "calc", "status", "--porcelain", NULL};
        assert_int_equal(run(argv, "git.out"), 0);
        text = slurp_rel("git.out");
        assert_string_equal(text, "");
        free(text);
    }
    {
        char path[400];
        struct stat st;
        snprintf(path, sizeof(path), "%s/home/.gitconfig", dir);
        assert_int_not_equal(stat(path, &st), 0);
    }
}

/* Tokens the scripted server reported, per requirement worked (reviews
 * included), from its record. */
static double tokens_per_requirement(void)
{
    char *text = slurp_rel("requests.jsonl"), *line, *save;
    double total = 0;
    assert_non_null(text);
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *e = cJSON_Parse(line);
        const cJSON *u = cJSON_GetObjectItem(e, "usage");
        if (u)
            total += cJSON_GetNumberValue(cJSON_GetObjectItem(u, "input_tokens")) +
                     cJSON_GetNumberValue(cJSON_GetObjectItem(u, "output_tokens")) +
                     cJSON_GetNumberValue(cJSON_GetObjectItem(u, "cache_read_input_tokens")) +
                     cJSON_GetNumberValue(cJSON_GetObjectItem(u, "cache_creation_input_tokens"));
        cJSON_Delete(e);
    }
    free(text);
    return total / 4;
}

static void layout_runs_to_the_end(char layout, const char *agents, const char *said)
{
    run_env e;
    char head[100], *text;
    long long t0;
    int rc;
    make_repo(layout);
    git_line(head, sizeof(head), "-C", "calc", "rev-parse", "HEAD");
    start_fake("script.json");
    env_init(&e, "ANTHROPIC_API_KEY=sk-scripted-anthropic", NULL);
    t0 = now_ms();
    rc = finish(start_run(&e, agents, 1, "run.log"), 230 * 1000, "run.log");
    text = slurp_rel("run.log");
    if (rc != 0)
        fail_msg("run.sh --repo exited %d:\n%s", rc, text ? text : "(no log)");
    assert_non_null(strstr(text, said)); /* the layout it chose, said */
    assert_non_null(strstr(text, "git -C ")); /* how to take the work home */
    free(text);
    text = slurp_rel("var/repos/calc/orchestrator.json");
    assert_non_null(text);
    assert_non_null(strstr(text, said)); /* and written down */
    free(text);
    assert_all_merged(head);
    print_message("run.sh --repo (%s): %.1f s, %.0f scripted tokens per requirement\n", said,
                  (double)(now_ms() - t0) / 1000, tokens_per_requirement());
}

static void a_makefile_repository_ends_with_its_roadmap_merged_on_the_copy(void **state)
{
    (void)state;
    layout_runs_to_the_end('m', "claude,frontend=codex", "Makefile: make, then make test");
}

static void a_cmake_repository_ends_with_its_roadmap_merged_on_the_copy(void **state)
{
    (void)state;
    layout_runs_to_the_end('c', "claude", "CMake: cmake -S . -B build, cmake --build build, ctest --test-dir build");
}

/* Exit 2 with the messages wanted, nothing made under var/, nothing
 * running. */
static void refused_before_anything_starts(run_env *e, const char *agents, const char *what, const char *fix)
{
    char names[1024], path[400], *text;
    struct stat st;
    int rc = finish(start_run(e, agents, 1, "run.log"), 60 * 1000, "run.log");
    text = slurp_rel("run.log");
    assert_non_null(text);
    if (rc != 2 || !strstr(text, what) || !strstr(text, fix))
        fail_msg("wanted exit 2 naming '%s' and '%s'; got %d:\n%s", what, fix, rc, text);
    free(text);
    snprintf(path, sizeof(path), "%s/var", dir);
    assert_int_not_equal(stat(path, &st), 0);
    assert_int_equal(leftovers(names, sizeof(names)), 0);
}

static void a_missing_key_is_named_with_its_fix_and_nothing_starts(void **state)
{
    run_env e;
    (void)state;
    make_repo('m');
    env_init(&e, "ANTHROPIC_API_KEY=", NULL);
    refused_before_anything_starts(&e, "claude", "ANTHROPIC_API_KEY", "export ANTHROPIC_API_KEY=");
}

static void a_missing_cli_is_named_with_its_fix_and_nothing_starts(void **state)
{
    run_env e;
    char empty[400];
    (void)state;
    make_repo('c');
    snprintf(empty, sizeof(empty), "%s/no-clis", dir);
    assert_int_equal(mkdir(empty, 0755), 0);
    env_init(&e, "ANTHROPIC_API_KEY=sk-scripted-anthropic", empty);
    refused_before_anything_starts(&e, "claude,frontend=codex", "needs Codex ('codex' is not in",
                                   "scripts/install-agent-clis.sh");
}

/* A repository dir/name of the given files (path, text, path, text, ...,
 * NULL), committed; run.sh --repo --plan on it. Returns its exit code, its
 * output in dir/plan.log. */
static int plan_of(const char *name, ...)
{
    char path[600], runsh[400], roadmap[420], repo[400];
    const char *rel;
    run_env e;
    va_list ap;
    int rc;
    {
        const char *argv[] = {"git", "init", "-q", "-b", "trunk", name, NULL};
        assert_int_equal(run(argv, "git.out"), 0);
    }
    va_start(ap, name);
    while ((rel = va_arg(ap, const char *))) {
        const char *text = va_arg(ap, const char *);
        char *slash;
        snprintf(path, sizeof(path), "%s/%s", name, rel);
        if ((slash = strrchr(path, '/')) && strchr(rel, '/')) {
            char sub[600];
            snprintf(sub, sizeof(sub), "%s/%.*s", dir, (int)(slash - path), path);
            (void)mkdir(sub, 0755);
        }
        put(path, text);
    }
    va_end(ap);
    {
        const char *add[] = {"git", "-C", name, "add", "-A", NULL};
        const char *commit[] = {"git", "-C", name, "-c", "user.name=Dev", "-c", "user.email=dev@example.org",
                                "commit", "-q", "-m", "initial", NULL};
        assert_int_equal(run(add, "git.out"), 0);
        assert_int_equal(run(commit, "git.out"), 0);
    }
    env_init(&e, "ANTHROPIC_API_KEY=sk-scripted-anthropic", NULL);
    snprintf(runsh, sizeof(runsh), "%s/scripts/run.sh", src_dir);
    snprintf(repo, sizeof(repo), "%s/%s", dir, name);
    snprintf(roadmap, sizeof(roadmap), "%s/tests/e2e/own_repo/roadmap.md", src_dir);
    snprintf(path, sizeof(path), "%s/plan.log", dir);
    unlink(path);
    {
        const char *argv[] = {"bash", runsh, "--repo", repo, "--roadmap", roadmap, "--plan", NULL};
        rc = finish(proc_spawn(argv, e.env, dir, "plan.log"), 60 * 1000, "plan.log");
    }
    return rc;
}

static void expect_plan(int rc, const char *layout, const char *steps)
{
    char *text = slurp_rel("plan.log");
    assert_non_null(text);
    if (rc != 0 || !strstr(text, layout) || !strstr(text, steps))
        fail_msg("wanted exit 0 with '%s' and '%s'; got %d:\n%s", layout, steps, rc, text);
    free(text);
}

static void each_layout_is_detected_said_and_nothing_starts(void **state)
{
    char path[400], names[1024], *text;
    struct stat st;
    int rc;
    (void)state;
    rc = plan_of("web", "package.json", "{\"scripts\": {\"build\": \"tsc\", \"test\": \"jest\"}}\n",
                 "package-lock.json", "{}\n", NULL);
    expect_plan(rc, "layout:     npm: npm ci --no-audit --no-fund, npm run build, npm test",
                "[\"npm\", \"ci\", \"--no-audit\", \"--no-fund\"]");
    expect_plan(rc, "branch trunk", "copy:");
    rc = plan_of("crate", "Cargo.toml", "[package]\nname = \"crate\"\n", "src/lib.rs", "\n", NULL);
    expect_plan(rc, "layout:     cargo: cargo build, cargo test", "[\"cargo\", \"test\"]");
    rc = plan_of("gomod", "go.mod", "module example.org/gomod\n", "main.go", "package main\n", NULL);
    expect_plan(rc, "layout:     Go module: go build ./..., go test ./...", "[\"go\", \"test\", \"./...\"]");
    rc = plan_of("py", "pkg/test_calc.py", "def test_one():\n    assert 1\n", NULL);
    expect_plan(rc, "layout:     Python: python3 -m pytest -q", "[\"python3\", \"-m\", \"pytest\", \"-q\"]");
    rc = plan_of("mk", "Makefile", "all:\n\ttrue\n", NULL);
    expect_plan(rc, "layout:     Makefile without a test target: make only", "[{\"name\": \"build\", \"command\": [\"make\"]");
    /* nothing to build: named, with what to do, exit 2 */
    rc = plan_of("bare", "README", "words\n", NULL);
    text = slurp_rel("plan.log");
    if (rc != 2 || !strstr(text, "no build steps found in") || !strstr(text, "\"steps\""))
        fail_msg("wanted exit 2 naming the missing steps; got %d:\n%s", rc, text);
    free(text);
    snprintf(path, sizeof(path), "%s/var", dir);
    assert_int_not_equal(stat(path, &st), 0); /* --plan wrote nothing */
    assert_int_equal(leftovers(names, sizeof(names)), 0);
}

/* 1 when the server has been asked for REQ-304's first attempt (which it
 * never answers). */
static int req304_waiting(void)
{
    char *text = slurp_rel("requests.jsonl");
    int yes = text && strstr(text, "\"scenario\":\"REQ-304 a1\"");
    free(text);
    return yes;
}

static void sigint_stops_everything_and_the_next_run_resumes(void **state)
{
    run_env e;
    char head[100], names[2048], *text, *line, *save;
    long long t_int, stopped;
    pid_t pid;
    int status = 0, merged = 0, rc, edited_review = 0;
    (void)state;
    make_repo('m');
    git_line(head, sizeof(head), "-C", "calc", "rev-parse", "HEAD");
    start_fake("script_hang.json");
    env_init(&e, "ANTHROPIC_API_KEY=sk-scripted-anthropic", NULL);
    pid = start_run(&e, "claude", 1, "run1.log");
    /* in the middle: three requirements merged, REQ-304 being worked */
    for (int i = 0; i < 900; i++) {
        merged = on_base(files[0]) + on_base(files[1]) + on_base(files[2]);
        if (merged == 3 && req304_waiting())
            break;
        if (proc_wait(pid, 200, &status) == 0) {
            text = slurp_rel("run1.log");
            fail_msg("run.sh ended before the interrupt:\n%s", text ? text : "");
        }
    }
    if (merged != 3 || !req304_waiting()) {
        text = slurp_rel("run1.log");
        fail_msg("never in the middle (%d merged):\n%s", merged, text ? text : "");
    }
    assert_int_equal(on_base(files[3]), 0);
    t_int = now_ms();
    assert_int_equal(kill(pid, SIGINT), 0);
    if (proc_wait(pid, SHUTDOWN_BOUND_MS, &status) != 0) {
        text = slurp_rel("run1.log");
        fail_msg("run.sh still running %d ms after SIGINT:\n%s", SHUTDOWN_BOUND_MS, text ? text : "");
    }
    if (wait_gone(SHUTDOWN_BOUND_MS - (int)(now_ms() - t_int), names, sizeof(names)))
        fail_msg("left running %d ms after SIGINT: %s", SHUTDOWN_BOUND_MS, names);
    stopped = now_ms() - t_int;
    text = slurp_rel("run1.log");
    assert_non_null(strstr(text, "== the merged work: branch main of"));
    free(text);

    /* a person edits the settings between the runs: the team's own
     * review instructions, which the next run's reviews then get */
    {
        cJSON *cfg;
        char tpl[400], *out;
        put("review.txt", "You are reviewing a change. Team review rules: small and tested.\n"
                          "Requirement {{id}}: {{title}}\n{{diff}}\n"
                          "End with VERDICT: APPROVED or VERDICT: CHANGES_REQUESTED\n");
        text = slurp_rel("var/repos/calc/orchestrator.json");
        assert_non_null(text);
        cfg = cJSON_Parse(text);
        free(text);
        assert_non_null(cfg);
        snprintf(tpl, sizeof(tpl), "%s/review.txt", dir);
        cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cfg, "review"), "prompt_file", cJSON_CreateString(tpl));
        out = cJSON_Print(cfg);
        put("var/repos/calc/orchestrator.json", out);
        free(out);
        cJSON_Delete(cfg);
    }

    /* the second run: no roadmap named, the settings and state reused */
    rc = finish(start_run(&e, "claude", 0, "run2.log"), 230 * 1000, "run2.log");
    text = slurp_rel("run2.log");
    if (rc != 0)
        fail_msg("the second run exited %d:\n%s", rc, text ? text : "(no log)");
    assert_non_null(strstr(text, "resuming from the state in"));
    free(text);
    assert_all_merged(head);
    /* nothing merged before the interrupt was worked again after it */
    text = slurp_rel("requests.jsonl");
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *r = cJSON_Parse(line);
        const char *sc = cJSON_GetStringValue(cJSON_GetObjectItem(r, "scenario"));
        double t = cJSON_GetNumberValue(cJSON_GetObjectItem(r, "t"));
        const char *prompt = cJSON_GetStringValue(cJSON_GetObjectItem(r, "prompt"));
        if (sc && t > (double)t_int && (!strcmp(sc, "REQ-301") || !strcmp(sc, "REQ-302") || !strcmp(sc, "REQ-303")))
            fail_msg("%s was worked again after the interrupt", sc);
        if (sc && t > (double)t_int && !strcmp(sc, "review") && prompt && strstr(prompt, "Team review rules") &&
            strstr(prompt, "Requirement REQ-304:"))
            edited_review++;
        cJSON_Delete(r);
    }
    free(text);
    assert_true(edited_review >= 1); /* the edited settings were used */
    print_message("stopped %.1f s after SIGINT; resumed and finished\n", (double)stopped / 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_makefile_repository_ends_with_its_roadmap_merged_on_the_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(a_cmake_repository_ends_with_its_roadmap_merged_on_the_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(a_missing_key_is_named_with_its_fix_and_nothing_starts, setup, teardown),
        cmocka_unit_test_setup_teardown(a_missing_cli_is_named_with_its_fix_and_nothing_starts, setup, teardown),
        cmocka_unit_test_setup_teardown(each_layout_is_detected_said_and_nothing_starts, setup, teardown),
        cmocka_unit_test_setup_teardown(sigint_stops_everything_and_the_next_run_resumes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
