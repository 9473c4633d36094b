/* orchctl through a real nats-server and real daemons: a paged list read
 * to its end (status, summary, the completion check), the ETA column, the
 * roadmap's ETA (status, dashboard),
 * usage errors found before connecting, silences listed, dead letters
 * browsed, the services table aligned. */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <nats/nats.h>

#include "natsfix.h"
#include "pb.h"
#include "proc.h"
#include "svcfix.h"

#define BE ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND
#define MED ORCHESTRATOR__V1__PRIORITY__PRIORITY_MEDIUM
#define FAIL ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_FAIL

typedef svc_env env;

static int orchctl(env *e, const char *const args[], char *out, size_t len)
{
    return svc_orchctl_at(&e->fix, e->fix.url, args, out, len);
}

static pid_t start_scheduler(env *e, const char *list_limit)
{
    char limit[64];
    const char *x[] = {"ORCH_SCHEDULER_BACKOFF_BASE_MS=200", "ORCH_SCHEDULER_SPAWN_COOLDOWN_S=0",
                       "ORCH_SCHEDULER_QUIET_START=00:00", "ORCH_SCHEDULER_QUIET_END=00:00",
                       "ORCH_SCHEDULER_WINDOW=100", limit, NULL};
    snprintf(limit, sizeof(limit), "ORCH_SCHEDULER_LIST_LIMIT=%s", list_limit);
    return svc_start_ready(e->nc, &e->fix, "scheduler", "s1", x);
}

static void plan_as(env *e, const char *id, const char *origin, int type, const char *dep);

/* A classified requirement on PLAN, as the router publishes it. */
static void plan(env *e, const char *id)
{
    plan_as(e, id, NULL, BE, NULL);
}

/* The same, a part of the split requirement origin (NULL: none), of type,
 * depending on dep (NULL: nothing). */
static void plan_as(env *e, const char *id, const char *origin, int type, const char *dep)
{
    char *deps[1] = {(char *)dep};
    pb_requirement r;
    uint8_t *buf;
    size_t len;
    char subj[128];

    orchestrator__v1__requirement__init(&r);
    r.id = (char *)id;
    r.title = (char *)id;
    r.type = (Orchestrator__V1__AgentType)type;
    r.priority = MED;
    if (origin)
        r.origin_id = (char *)origin;
    if (dep) {
        r.dependencies = deps;
        r.n_dependencies = 1;
    }
    r.estimated_tokens = 100;
    r.complexity = ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_M;
    r.status = ORCHESTRATOR__V1__STATUS__STATUS_CLASSIFIED;
    assert_int_equal(pb_pack(&r.base, &buf, &len), ORCH_OK);
    svc_issue_id(e->js, id);
    if (origin)
        svc_issue_id(e->js, origin);
    snprintf(subj, sizeof(subj), "plan.requirement.%s", id);
    assert_int_equal(js_Publish(NULL, e->js, subj, buf, (int)len, NULL, NULL), NATS_OK);
    free(buf);
}

static cJSON *status_of(env *e, const char *id)
{
    char subj[128];
    snprintf(subj, sizeof(subj), "orch.status.%s", id);
    return svc_request_json(e->nc, subj, "", 2000);
}

/* Waits up to 10 s for id to be status at attempt (0: any). */
static void wait_status(env *e, const char *id, const char *status, int attempt)
{
    cJSON *st = NULL;
    for (int i = 0; i < 100; i++) {
        int ok;
        cJSON_Delete(st);
        st = status_of(e, id);
        ok = st && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(st, "status")), status) &&
             (!attempt || (int)cJSON_GetNumberValue(cJSON_GetObjectItem(st, "attempt")) == attempt);
        if (ok) {
            cJSON_Delete(st);
            return;
        }
        usleep(100 * 1000);
    }
    fail_msg("%s never became %s (attempt %d): %s", id, status, attempt,
             st ? cJSON_GetStringValue(cJSON_GetObjectItem(st, "reason")) : "no answer");
}

/* The backend agent's result of attempt: a verdict counts only after one. */
static void result_of(env *e, const char *id, unsigned attempt)
{
    char subj[128], body[256];
    snprintf(subj, sizeof(subj), "results.backend.%s", id);
    snprintf(body, sizeof(body), "{\"requirementId\":\"%s\",\"attempt\":%u,\"instance\":\"%s-%u\"}", id, attempt,
             id, attempt);
    assert_int_equal(js_Publish(NULL, e->js, subj, body, (int)strlen(body), NULL, NULL), NATS_OK);
}

static void verdict_fail(env *e, const char *id, unsigned attempt)
{
    pb_verdict v;
    uint8_t *buf;
    size_t len;
    char subj[128];
    orchestrator__v1__verdict__init(&v);
    v.requirement_id = (char *)id;
    v.attempt = attempt;
    v.kind = FAIL;
    v.failing_output = "error TS2304";
    result_of(e, id, attempt);
    assert_int_equal(pb_pack(&v.base, &buf, &len), ORCH_OK);
    snprintf(subj, sizeof(subj), "verdicts.%s", id);
    assert_int_equal(js_Publish(NULL, e->js, subj, buf, (int)len, NULL, NULL), NATS_OK);
    free(buf);
}

/* Three failed attempts: ESCALATED (the scheduler's default limit). */
static void escalate(env *e, const char *id)
{
    for (unsigned a = 1; a <= 3; a++) {
        wait_status(e, id, "DISPATCHED", (int)a);
        verdict_fail(e, id, a);
    }
    wait_status(e, id, "ESCALATED", 0);
}

/* Waits until the scheduler's counts say n requirements are status. */
static void wait_count(env *e, const char *status, int n)
{
    int got = -1;
    for (int i = 0; i < 100; i++) {
        cJSON *l = svc_request_json(e->nc, "orch.scheduler.list", "", 2000);
        got = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(l, "counts"), status));
        cJSON_Delete(l);
        if (got == n)
            return;
        usleep(100 * 1000);
    }
    fail_msg("%d requirements %s, expected %d", got, status, n);
}

/* A line of text that starts with word and a space. */
static const char *line_of(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, word, n) && p[n] == ' ')
            return p;
    return NULL;
}

/* More requirements than one page of orch.scheduler.list (5 a page):
 * `orchctl status` shows every one, each with its ETA, and `orchctl
 * summary` counts and lists every one. */
static void status_and_summary_read_every_page(void **state)
{
    env *e = *state;
    pid_t pid = start_scheduler(e, "5");
    char *out = malloc(1 << 16), id[16];
    regex_t iso;
    cJSON *sum;

    for (int i = 1; i <= 13; i++) {
        snprintf(id, sizeof(id), "OC-%d", i);
        plan(e, id);
    }
    wait_count(e, "DISPATCHED", 13);
    {
        const char *a[] = {"status", NULL};
        int etas = 0;
        assert_int_equal(orchctl(e, a, out, 1 << 16), 0);
        assert_non_null(strstr(out, " ETA "));
        assert_int_equal(regcomp(&iso, "^OC-[0-9]+ .*[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}", REG_EXTENDED),
                         0);
        for (int i = 1; i <= 13; i++) {
            const char *l;
            char line[400];
            snprintf(id, sizeof(id), "OC-%d", i);
            if (!(l = line_of(out, id)))
                fail_msg("orchctl status has no line for %s:\n%s", id, out);
            snprintf(line, sizeof(line), "%.*s", (int)strcspn(l, "\n"), l);
            etas += regexec(&iso, line, 0, NULL, 0) == 0;
        }
        regfree(&iso);
        if (etas != 13)
            fail_msg("%d of 13 rows show an ETA:\n%s", etas, out);
    }
    {
        const char *a[] = {"summary", "--json", NULL};
        assert_int_equal(orchctl(e, a, out, 1 << 16), 0);
        sum = cJSON_Parse(out);
        assert_non_null(sum);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(sum, "requirements")), 13);
        assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(sum, "total")), 13);
        cJSON_Delete(sum);
    }
    {
        const char *a[] = {"summary", NULL};
        assert_int_equal(orchctl(e, a, out, 1 << 16), 0);
        assert_non_null(strstr(out, "requirements: 13, complete 0, escalated 0, rejected 0"));
    }
    free(out);
    svc_stop(pid);
}

/* What the day's runs cost, as the ledger has it, wherever a person looks:
 * `orchctl agents` (spent and left, tokens and US dollars, per type and in
 * total), `orchctl summary` and the dashboard. */
static void dollars_show_wherever_a_person_looks(void **state)
{
    env *e = *state;
    const char *x[] = {"ORCH_SCHEDULER_WINDOW=100", "ORCH_BUDGET_BACKEND_USD=5", "ORCH_BUDGET_TOTAL_USD=20", NULL};
    pid_t sched = svc_start_ready(e->nc, &e->fix, "scheduler", "s1", x), mon;
    char *out = malloc(1 << 16), subj[64];
    const char *body = "{\"requirementId\":\"USD-1\",\"attempt\":1,\"instance\":\"be-1\",\"tokensUsed\":100,"
                       "\"costUsd\":1.25,\"project\":\"demo\",\"ref\":\"refs/heads/x\"}";

    mon = svc_start_ready(e->nc, &e->fix, "monitor", "m1", NULL);
    plan(e, "USD-1");
    wait_status(e, "USD-1", "DISPATCHED", 1);
    snprintf(subj, sizeof(subj), "results.backend.USD-1");
    assert_int_equal(js_Publish(NULL, e->js, subj, body, (int)strlen(body), NULL, NULL), NATS_OK);
    wait_status(e, "USD-1", "VERIFYING", 1);
    for (int i = 0; i < 50; i++) { /* the monitor reads the ledger from KV */
        const char *a[] = {"agents", NULL};
        assert_int_equal(orchctl(e, a, out, 1 << 16), 0);
        if (strstr(out, "$1.25"))
            break;
        usleep(100 * 1000);
    }
    {
        const char *l = line_of(out, "backend");
        char line[300];
        if (!l)
            fail_msg("orchctl agents has no backend line:\n%s", out);
        snprintf(line, sizeof(line), "%.*s", (int)strcspn(l, "\n"), l);
        if (!strstr(line, "$1.25") || !strstr(line, "$3.75")) {
            cJSON *l = svc_request_json(e->nc, "orch.scheduler.list", "", 2000);
            char *b = l ? cJSON_PrintUnformatted(cJSON_GetObjectItem(l, "budget")) : NULL;
            fail_msg("backend should show $1.25 spent and $3.75 left:\n%s\nthe scheduler's ledger: %s", out,
                     b ? b : "no answer");
        }
        if (!(l = line_of(out, "total")) || !strstr(l, "$18.75"))
            fail_msg("the total should show $18.75 left:\n%s", out);
    }
    {
        const char *a[] = {"summary", NULL};
        assert_int_equal(orchctl(e, a, out, 1 << 16), 0);
        if (!strstr(out, "dollars spent: $1.25"))
            fail_msg("orchctl summary does not say the dollars spent:\n%s", out);
    }
    {
        const char *a[] = {"dashboard", NULL};
        assert_int_equal(orchctl(e, a, out, 1 << 16), 0);
        if (!strstr(out, "**Spent today:** $1.25 of $20") || !strstr(out, "- Spent today: $1.25 of $5"))
            fail_msg("the dashboard does not show the dollars:\n%s", out);
    }
    free(out);
    svc_stop(mon);
    svc_stop(sched);
}

/* "roadmap done by D (90%: L)" as orchctl prints it, from a list answer's
 * roadmapEta and roadmapEtaLate ("2026-11-27T14:05:33Z": to the minute). */
static void roadmap_line(const cJSON *list, char *buf, size_t len)
{
    const char *a = cJSON_GetStringValue(cJSON_GetObjectItem(list, "roadmapEta"));
    const char *b = cJSON_GetStringValue(cJSON_GetObjectItem(list, "roadmapEtaLate"));
    assert_non_null(a);
    assert_non_null(b);
    assert_true(strlen(a) >= 16 && strlen(b) >= 16);
    snprintf(buf, len, "roadmap done by %.10s %.5s UTC (90%%: %.10s %.5s UTC)\n", a, a + 11, b, b + 11);
}

/* Whether out has the line the list said before or after orchctl ran (the
 * forecast is taken afresh at each answer). */
static int has_roadmap_line(env *e, const char *out, const cJSON *before)
{
    char want[2][200];
    cJSON *after = svc_request_json(e->nc, "orch.scheduler.list", "", 2000);
    assert_non_null(after);
    roadmap_line(before, want[0], sizeof(want[0]));
    roadmap_line(after, want[1], sizeof(want[1]));
    cJSON_Delete(after);
    return strstr(out, want[0]) || strstr(out, want[1]);
}

/* `orchctl status` ends with the roadmap's ETA as the scheduler's list
 * gives it (roadmapEta, and roadmapEtaLate as the 90% figure), "nothing
 * left" before there is work; `orchctl status ID` shows the requirement's
 * ETA; `orchctl dashboard` shows the roadmap's ETA under the monitor's
 * dashboard, and says the scheduler did not answer once it is gone. */
static void status_and_dashboard_show_the_roadmap_eta(void **state)
{
    env *e = *state;
    pid_t sched = start_scheduler(e, "2"), mon;
    char *out = malloc(1 << 16), id[16];
    cJSON *before;

    {
        const char *a[] = {"status", NULL};
        assert_int_equal(orchctl(e, a, out, 1 << 16), 0);
        if (!strstr(out, "\nroadmap: nothing left\n"))
            fail_msg("no 'roadmap: nothing left' with no work:\n%s", out);
    }
    for (int i = 1; i <= 5; i++) {
        snprintf(id, sizeof(id), "RM-%d", i);
        plan(e, id);
    }
    wait_count(e, "DISPATCHED", 5);
    {
        const char *a[] = {"status", NULL};
        before = svc_request_json(e->nc, "orch.scheduler.list", "", 2000);
        assert_non_null(before);
        assert_int_equal(orchctl(e, a, out, 1 << 16), 0);
        if (!has_roadmap_line(e, out, before))
            fail_msg("orchctl status does not show the list's roadmapEta %s (90%%: %s):\n%s",
                     cJSON_GetStringValue(cJSON_GetObjectItem(before, "roadmapEta")),
                     cJSON_GetStringValue(cJSON_GetObjectItem(before, "roadmapEtaLate")), out);
        cJSON_Delete(before);
    }
    {
        const char *a[] = {"status", "RM-4", NULL};
        char want[2][80];
        cJSON *st = status_of(e, "RM-4");
        assert_non_null(st);
        snprintf(want[0], sizeof(want[0]), "  eta       %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(st, "eta")));
        cJSON_Delete(st);
        assert_int_equal(orchctl(e, a, out, 1 << 16), 0);
        st = status_of(e, "RM-4");
        snprintf(want[1], sizeof(want[1]), "  eta       %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(st, "eta")));
        cJSON_Delete(st);
        if (!strstr(out, want[0]) && !strstr(out, want[1]))
            fail_msg("orchctl status RM-4 does not show its ETA (%s):\n%s", want[0], out);
    }
    mon = svc_start_ready(e->nc, &e->fix, "monitor", "m1", NULL);
    {
        const char *a[] = {"dashboard", NULL};
        before = svc_request_json(e->nc, "orch.scheduler.list", "", 2000);
        assert_int_equal(orchctl(e, a, out, 1 << 16), 0);
        if (!has_roadmap_line(e, out, before))
            fail_msg("orchctl dashboard does not show the roadmap's ETA:\n%s", out);
        cJSON_Delete(before);
        svc_stop(sched);
        assert_int_equal(orchctl(e, a, out, 1 << 16), 0);
        if (!strstr(out, "\nroadmap ETA: unknown (the scheduler did not answer)\n"))
            fail_msg("orchctl dashboard without a scheduler:\n%s", out);
    }
    svc_stop(mon);
    free(out);
}

/* `orchctl dashboard --watch --until-done` (the demo's watcher) ends only
 * when every requirement is done by the counts, not when the first page
 * of the list is. */
static void until_done_waits_for_every_page(void **state)
{
    env *e = *state;
    pid_t sched = start_scheduler(e, "2"), mon, watch;
    char bin[512], url[300], first[2][16];
    const char *argv[] = {proc_bin("orchctl", bin, sizeof(bin)), "dashboard", "--watch", "--until-done", NULL};
    const char *envv[] = {url, NULL};
    cJSON *l, *r;
    int k = 0, st = 0;

    mon = svc_start_ready(e->nc, &e->fix, "monitor", "m1", NULL);
    plan(e, "UD-1");
    plan(e, "UD-2");
    plan(e, "UD-3");
    wait_count(e, "DISPATCHED", 3);
    /* the two on the first page escalate; the third waits */
    l = svc_request_json(e->nc, "orch.scheduler.list", "", 2000);
    assert_non_null(cJSON_GetObjectItem(l, "next"));
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(l, "requirements"))
        snprintf(first[k++], sizeof(first[0]), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(r, "id")));
    cJSON_Delete(l);
    assert_int_equal(k, 2);
    escalate(e, first[0]);
    escalate(e, first[1]);
    snprintf(url, sizeof(url), "ORCH_NATS_URL=%s", e->fix.url);
    watch = proc_spawn(argv, envv, e->fix.dir, "watch.log");
    assert_true(watch > 0);
    if (proc_wait(watch, 6000, &st) == 0)
        fail_msg("the watcher ended (status %d) with a requirement still DISPATCHED", st);
    for (int i = 1; i <= 3; i++) {
        char id[16];
        snprintf(id, sizeof(id), "UD-%d", i);
        if (strcmp(id, first[0]) && strcmp(id, first[1]))
            escalate(e, id);
    }
    assert_int_equal(proc_wait(watch, 15000, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    svc_stop(mon);
    svc_stop(sched);
}

/* Arguments are checked before connecting: bad usage is exit 2 with NATS
 * down, and an option is never taken for an id. */
static void usage_errors_come_before_connecting(void **state)
{
    env *e = *state;
    const char *down = "nats://127.0.0.1:1";
    char out[4096];
    const char *bad[][6] = {
        {"status", "--bogus", NULL},
        {"status", "A", "B", NULL},
        {"summary", "--bogus", NULL},
        {"services", "--bogus", NULL},
        {"agents", "x", NULL},
        {"retry", "--bogus", NULL},
        {"silence", "add", "nonsense", NULL},
        {"silence", "add", "rule=stale", "--minutes", "soon", NULL},
        {"silence", "add", "rule=stale", "--bogus", "1", NULL},
        {"silence", "add", "rule=nonexistent", NULL},
        {"silence", "add", "rule=stale,type=plumber", NULL},
        {"deadletters", "--limit", "0", NULL},
        {"deadletters", "--bogus", NULL},
        {"dashboard", "--bogus", NULL},
        {"publish", "intake.requirements", "--bogus", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = svc_orchctl_at(&e->fix, down, bad[i], out, sizeof(out));
        if (rc != 2)
            fail_msg("orchctl %s %s: exit %d, expected 2: %s", bad[i][0], bad[i][1], rc, out);
    }
    {   /* good usage, NATS down: 3 */
        const char *a[] = {"status", "REQ-1", NULL};
        assert_int_equal(svc_orchctl_at(&e->fix, down, a, out, sizeof(out)), 3);
    }
    {   /* with NATS up the option is still refused, not asked about */
        const char *a[] = {"status", "--bogus", NULL};
        assert_int_equal(orchctl(e, a, out, sizeof(out)), 2);
        assert_non_null(strstr(out, "--bogus"));
    }
}

/* A silence set is listed until it is removed. */
static void silences_are_listed(void **state)
{
    env *e = *state;
    pid_t mon = svc_start_ready(e->nc, &e->fix, "monitor", "m1", NULL);
    char out[4096], sid[16] = "";
    const char *add[] = {"silence", "add", "rule=stale,type=backend", "--minutes", "30", "--comment", "known issue",
                         NULL};
    const char *list[] = {"silence", "list", NULL};
    const char *l;

    /* the monitor answers once it leads */
    for (int i = 0; i < 100 && !*sid; i++) {
        if (orchctl(e, add, out, sizeof(out)) == 0)
            snprintf(sid, sizeof(sid), "%.*s", (int)strcspn(out, "\n"), out);
        else
            usleep(100 * 1000);
    }
    assert_true(sid[0] == 'S');
    assert_int_equal(orchctl(e, list, out, sizeof(out)), 0);
    if (!(l = line_of(out, sid)) || !strstr(l, "rule=stale") || !strstr(l, "type=backend") || !strstr(l, "known issue"))
        fail_msg("silence %s not listed:\n%s", sid, out);
    {
        const char *rm[] = {"silence", "remove", sid, NULL};
        assert_int_equal(orchctl(e, rm, out, sizeof(out)), 0);
    }
    assert_int_equal(orchctl(e, list, out, sizeof(out)), 0);
    if (line_of(out, sid))
        fail_msg("silence %s still listed after its removal:\n%s", sid, out);
    svc_stop(mon);
}

/* A message the monitor copied to DEADLETTER is shown with where it came
 * from and why; --limit keeps to the latest. */
static void dead_letters_are_browsed(void **state)
{
    env *e = *state;
    pid_t mon = svc_start_ready(e->nc, &e->fix, "monitor", "m1", NULL); /* provisions DEADLETTER */
    char out[8192];

    for (int i = 1; i <= 3; i++) {
        natsMsg *m = NULL;
        char body[64], seq[16];
        snprintf(body, sizeof(body), "{\"requirementId\":\"DL-%d\"}", i);
        snprintf(seq, sizeof(seq), "%d", 40 + i);
        assert_int_equal(natsMsg_Create(&m, "deadletter.RESULTS.verifier", NULL, body, (int)strlen(body)), NATS_OK);
        natsMsgHeader_Set(m, "Orch-Dead-Reason", "delivered 5 times to RESULTS/verifier without an ack");
        natsMsgHeader_Set(m, "Orch-Dead-Stream", "RESULTS");
        natsMsgHeader_Set(m, "Orch-Dead-Seq", seq);
        natsMsgHeader_Set(m, "Orch-Dead-Subject", "results.backend.DL-1");
        assert_int_equal(js_PublishMsg(NULL, e->js, m, NULL, NULL), NATS_OK);
        natsMsg_Destroy(m);
    }
    {
        const char *a[] = {"deadletters", NULL};
        assert_int_equal(orchctl(e, a, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "DL-1"));
        assert_non_null(strstr(out, "DL-3"));
        assert_non_null(strstr(out, "results.backend.DL-1 (stream sequence 41)"));
        assert_non_null(strstr(out, "delivered 5 times to RESULTS/verifier without an ack"));
    }
    {
        const char *a[] = {"deadletters", "--limit", "1", NULL};
        assert_int_equal(orchctl(e, a, out, sizeof(out)), 0);
        assert_null(strstr(out, "DL-2"));
        assert_non_null(strstr(out, "DL-3"));
    }
    svc_stop(mon);
}

/* Every row of `orchctl services` has its columns where the header has
 * them, whatever the length of an instance id. */
static void services_columns_line_up(void **state)
{
    env *e = *state;
    pid_t a = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    pid_t b = svc_start_ready(e->nc, &e->fix, "router", "router-instance-with-a-long-name-2", NULL);
    char out[8192];
    const char *args[] = {"services", NULL};
    const char *head, *p;
    int col, rows = 0;

    assert_int_equal(orchctl(e, args, out, sizeof(out)), 0);
    head = strstr(out, "NAME");
    assert_non_null(head);
    col = (int)(strstr(head, "VERSION") - head);
    for (p = strchr(head, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
        const char *line = p + 1;
        /* the third column starts where VERSION does, after a blank */
        if (strncmp(line, "orch-", 5))
            continue;
        rows++;
        if (line[col - 1] != ' ' || line[col] == ' ')
            fail_msg("misaligned at column %d:\n%s", col, out);
    }
    assert_int_equal(rows, 2);
    svc_stop(a);
    svc_stop(b);
}

/* A failing build's output can hold terminal escapes (compilers print in
 * colour), and so can anything a message carried: orchctl shows them as
 * text, and no ESC or C1 control reaches the terminal. */
static void control_characters_are_shown_not_obeyed(void **state)
{
    env *e = *state;
    pid_t pid = start_scheduler(e, "500");
    pb_verdict v;
    uint8_t *buf;
    size_t len;
    char out[8192];
    const char *one[] = {"status", "ESC-1", NULL};
    const char *all[] = {"status", NULL};

    plan(e, "ESC-1");
    wait_status(e, "ESC-1", "DISPATCHED", 1);
    orchestrator__v1__verdict__init(&v);
    v.requirement_id = "ESC-1";
    v.attempt = 1;
    v.kind = FAIL;
    v.failing_output = "main.c:3: \x1b[31merror\x1b[0m: undeclared \xc2\x9b" "2J";
    assert_int_equal(pb_pack(&v.base, &buf, &len), ORCH_OK);
    result_of(e, "ESC-1", 1);
    assert_int_equal(js_Publish(NULL, e->js, "verdicts.ESC-1", buf, (int)len, NULL, NULL), NATS_OK);
    free(buf);
    wait_status(e, "ESC-1", "DISPATCHED", 2);
    assert_int_equal(orchctl(e, one, out, sizeof(out)), 0);
    assert_null(strchr(out, 0x1b));
    assert_null(strstr(out, "\xc2\x9b"));
    assert_non_null(strstr(out, "\\x1b[31merror"));
    assert_non_null(strstr(out, "\\u009b2J"));
    assert_int_equal(orchctl(e, all, out, sizeof(out)), 0);
    assert_null(strchr(out, 0x1b));
    svc_stop(pid);
}

/* Messages on PLAN (a work queue no one reads here); their titles in
 * titles (malloc'd each, up to max) when it is not NULL. */
static int plan_messages(env *e, char **titles, int max)
{
    jsStreamInfo *si = NULL;
    int n;
    assert_int_equal(js_GetStreamInfo(&si, e->js, "PLAN", NULL, NULL), NATS_OK);
    n = (int)si->State.Msgs;
    for (uint64_t seq = si->State.FirstSeq, k = 0; titles && seq <= si->State.LastSeq && (int)k < max; seq++) {
        natsMsg *m = NULL;
        char err[ERR_LEN];
        pb_requirement *r;
        if (js_GetMsg(&m, e->js, "PLAN", seq, NULL, NULL) != NATS_OK)
            continue;
        r = (pb_requirement *)pb_unpack(&orchestrator__v1__requirement__descriptor,
                                        (const uint8_t *)natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m),
                                        PB_MAX_MSG, err);
        assert_non_null(r);
        titles[k++] = strdup(r->title);
        orchestrator__v1__requirement__free_unpacked(r, NULL);
        natsMsg_Destroy(m);
    }
    jsStreamInfo_Destroy(si);
    return n;
}

/* Waits (bounded) until PLAN holds want messages; returns what it holds. */
static int wait_plan(env *e, int want)
{
    int n = 0;
    for (int i = 0; i < 100 && (n = plan_messages(e, NULL, 0)) < want; i++)
        usleep(100 * 1000);
    return n;
}

/* 250 ordinary items (about 1.4 KB each as JSON) went in messages of 200
 * items, 290 KB, which the router refused as too large (256 KiB): only
 * the 50 of the second message went in. They go in messages under the
 * limit, and all land. */
static void roadmap_import_sends_messages_under_the_limit(void **state)
{
    env *e = *state;
    pid_t router = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    static char out[1 << 16];
    char path[400];
    const char *a[] = {"roadmap", "import", path, NULL};
    FILE *f;
    int rc;

    snprintf(path, sizeof(path), "%s/big.md", e->fix.dir);
    assert_non_null(f = fopen(path, "w"));
    fputs("# Roadmap\n\n## Phase 2.1 - Inventory\n\n", f);
    for (int i = 0; i < 250; i++) {
        fprintf(f, "### INV-%03d: Inventory transaction endpoint number %d for the warehouse API\n"
                   "- Status: Pending\n- Priority: HIGH\n- Agent: backend\n- Estimated tokens: 40000\n"
                   "- Files: src/api/inventory/transactions_%03d.ts, tests/api/inventory/transactions_%03d.test.ts\n"
                   "- Acceptance:\n", i, i, i, i);
        for (int k = 0; k < 8; k++)
            fprintf(f, "  - Criterion %d of item %d: the endpoint validates its input, answers with the "
                       "documented status and writes one audit line per change\n", k, i);
        fputs("\n", f);
    }
    fclose(f);
    rc = orchctl(e, a, out, sizeof(out));
    if (rc != 0)
        fail_msg("orchctl roadmap import: exit %d: %.3000s", rc, out);
    assert_null(strstr(out, "too_large"));
    assert_null(strstr(out, "rejected"));
    assert_int_equal(wait_plan(e, 250), 250);
    svc_stop(router);
}

/* Careless items are refused one by one, each named with the field and
 * why, never cut to fit: a NUL in a title (it cut the title there), a
 * title of 400 characters (cut to 300), an id with a non-ASCII letter
 * ("RH-ü" became "RH-"), an estimate that is not a number ("40k" became
 * 40), and a type that is not for intake (its whole message was refused).
 * The rest go in whole. */
static void careless_roadmap_items_are_refused_naming_the_field(void **state)
{
    env *e = *state;
    pid_t router = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    static char out[1 << 16];
    char path[400], long_title[401], *titles[8] = {0};
    const char *a[] = {"roadmap", "import", path, NULL};
    const char *want[] = {
        "rejected CR-1 (control_character): line 3: field 'title' holds a NUL byte: refused rather than cut short",
        "rejected CR-2 (too_long): field 'title': 400 bytes, at most 300",
        "rejected RH-\xc3\xbc (invalid_id): field 'id': 'RH-\xc3\xbc' contains byte 0xc3 at 3",
        "rejected CR-3 (bad_value): line 11: field 'Estimated tokens' '40k' is not a whole number of tokens",
        "rejected CR-5 (bad_value): field 'assignedAgent': 'review' is not an intake type",
        "5 items of",
    };
    FILE *f;
    int rc, n;

    memset(long_title, 'T', 400);
    long_title[400] = '\0';
    snprintf(path, sizeof(path), "%s/careless.md", e->fix.dir);
    assert_non_null(f = fopen(path, "w"));
    fputs("# Roadmap\n\n### CR-1: Fix the login", f);
    fwrite("\0", 1, 1, f);
    fputs(" page and the logout page\n- Status: Pending\n\n", f);          /* lines 3-5 */
    fprintf(f, "### CR-2: %s\n- Status: Pending\n\n", long_title);         /* 6-8 */
    fputs("### CR-3: Update the guide\n- Status: Pending\n- Estimated tokens: 40k\n\n", f); /* 9-12 */
    fputs("### RH-\xc3\xbc: Update the handbook\n- Status: Pending\n\n", f);
    fputs("### CR-4: Update the FAQ\n- Status: Pending\n\n", f);
    fputs("### CR-5: Review everything\n- Status: Pending\n- Agent: review\n\n", f);
    fputs("### CR-6: Update the changelog\n- Status: Pending\n\n", f);
    fclose(f);

    rc = orchctl(e, a, out, sizeof(out));
    assert_int_equal(rc, 1);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(out, want[i]))
            fail_msg("orchctl roadmap import does not say \"%s\":\n%.4000s", want[i], out);
    n = wait_plan(e, 2);
    assert_int_equal(n, 2);
    assert_int_equal(plan_messages(e, titles, 8), 2);
    for (int i = 0; i < 2; i++) {
        if (strcmp(titles[i], "Update the FAQ") && strcmp(titles[i], "Update the changelog"))
            fail_msg("on PLAN: '%s'", titles[i]);
        free(titles[i]);
    }
    svc_stop(router);
}

/* Durations and counts people give are bounded before anything is asked,
 * with the bound said: a silence of half a minute or of more than 30 days
 * (the monitor's bound) went to the monitor. */
static void durations_and_counts_are_bounded(void **state)
{
    env *e = *state;
    const char *down = "nats://127.0.0.1:1";
    char out[4096];
    const char *bad[][6] = {
        {"silence", "add", "rule=stale", "--minutes", "0.5", NULL},
        {"silence", "add", "rule=stale", "--minutes", "43201", NULL},
        {"silence", "add", "rule=stale", "--minutes", "1e999", NULL},
        {"silence", "add", "rule=stale", "--minutes", "nan", NULL},
        {"silence", "add", "rule=stale", "--minutes", "-5", NULL},
        {"deadletters", "--limit", "10001", NULL},
        {"deadletters", "--limit", "99999999999999999999999", NULL},
        {"deadletters", "--limit", "1e3", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *v = bad[i][0][0] == 's' ? bad[i][4] : bad[i][2];
        char said[128];
        int rc = svc_orchctl_at(&e->fix, down, bad[i], out, sizeof(out));
        snprintf(said, sizeof(said), "not '%s'", v);
        if (rc != 2 || !strstr(out, said) || !strstr(out, bad[i][0][0] == 's' ? "from 1 to 43200" : "from 1 to 10000"))
            fail_msg("orchctl %s ... %s: exit %d, expected 2 and the bound: %s", bad[i][0], v, rc, out);
    }
    {   /* the bounds themselves are good usage (NATS down: 3) */
        const char *a[] = {"silence", "add", "rule=stale", "--minutes", "43200", NULL};
        assert_int_equal(svc_orchctl_at(&e->fix, down, a, out, sizeof(out)), 3);
    }
}

/* roadmap sync of a requirement split into parts: where its parts are
 * ("In Progress" while its backend part is under way), not "Blocked by"
 * its own parts. */
static void roadmap_sync_says_where_a_split_requirements_parts_are(void **state)
{
    env *e = *state;
    pid_t pid = start_scheduler(e, "500");
    char path[400], out[4096], *text;
    const char *a[] = {"roadmap", "sync", path, NULL};
    FILE *f;

    plan_as(e, "SP-1-BE", "SP-1", BE, NULL);
    plan_as(e, "SP-1-FE", "SP-1", ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND, "SP-1-BE");
    wait_status(e, "SP-1-BE", "DISPATCHED", 1);
    wait_status(e, "SP-1", "BLOCKED", 0);
    snprintf(path, sizeof(path), "%s/roadmap.md", e->fix.dir);
    assert_non_null(f = fopen(path, "w"));
    fputs("# Roadmap\n\n### SP-1: Stock page and its API\n- Status: Pending\n", f);
    fclose(f);
    assert_int_equal(orchctl(e, a, out, sizeof(out)), 0);
    text = proc_slurp(path);
    assert_non_null(text);
    if (!strstr(text, "- Status: In Progress\n"))
        fail_msg("roadmap sync wrote:\n%s", text);
    free(text);
    svc_stop(pid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(status_and_summary_read_every_page, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(dollars_show_wherever_a_person_looks, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(until_done_waits_for_every_page, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(roadmap_sync_says_where_a_split_requirements_parts_are, svc_env_setup,
                                        svc_env_teardown),
        cmocka_unit_test_setup_teardown(status_and_dashboard_show_the_roadmap_eta, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(usage_errors_come_before_connecting, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(durations_and_counts_are_bounded, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(roadmap_import_sends_messages_under_the_limit, svc_env_setup,
                                        svc_env_teardown),
        cmocka_unit_test_setup_teardown(careless_roadmap_items_are_refused_naming_the_field, svc_env_setup,
                                        svc_env_teardown),
        cmocka_unit_test_setup_teardown(silences_are_listed, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(dead_letters_are_browsed, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(services_columns_line_up, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(control_characters_are_shown_not_obeyed, svc_env_setup, svc_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
