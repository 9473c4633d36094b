/* orchctl's printing of where things stand: status (one requirement, or
 * all with their ETAs), the dashboard with the roadmap's ETA line, agents,
 * and the summary of a run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "names.h"
#include "text.h"

/* The whole of orch.scheduler.list, page after page ({"offset": next}
 * until an answer has no next): the first answer's total, counts, budget
 * and critical path, with the rows of every page in its requirements. */
static int list_all(ctl *c, cJSON **out)
{
    cJSON *all = NULL, *rows;
    const cJSON *nx;
    double offset = 0;
    int rc;

    *out = NULL;
    if ((rc = request_json(c, names_request_subject(NAMES_REQ_SCHEDULER_LIST), "", &all)) != 0)
        return rc;
    if (!cJSON_IsArray(rows = cJSON_GetObjectItem(all, "requirements")))
        rows = cJSON_AddArrayToObject(all, "requirements");
    nx = cJSON_GetObjectItem(all, "next");
    while (cJSON_IsNumber(nx)) {
        cJSON *page = NULL, *r, *pr;
        char body[64];
        /* offsets only grow: a reply that does not is not followed */
        if (nx->valuedouble <= offset) {
            fprintf(stderr, "orchctl: orch.scheduler.list: next %.0f after offset %.0f\n", nx->valuedouble, offset);
            rc = EXIT_FAIL;
            break;
        }
        offset = nx->valuedouble;
        snprintf(body, sizeof(body), "{\"offset\":%.0f}", offset);
        if ((rc = request_json(c, names_request_subject(NAMES_REQ_SCHEDULER_LIST), body, &page)) != 0)
            break;
        pr = cJSON_GetObjectItem(page, "requirements");
        while (cJSON_IsArray(pr) && (r = cJSON_DetachItemFromArray(pr, 0)) != NULL)
            cJSON_AddItemToArray(rows, r);
        cJSON_DeleteItemFromObject(all, "next");
        if (cJSON_IsNumber(nx = cJSON_GetObjectItem(page, "next")))
            cJSON_AddNumberToObject(all, "next", nx->valuedouble);
        cJSON_Delete(page);
        nx = cJSON_GetObjectItem(all, "next");
    }
    if (rc != 0) {
        cJSON_Delete(all);
        return rc;
    }
    cJSON_DeleteItemFromObject(all, "next");
    *out = all;
    return 0;
}

static int terminal(const char *status)
{
    return !strcmp(status, "COMPLETE") || !strcmp(status, "ESCALATED") || !strcmp(status, "REJECTED");
}

/* ms since the epoch as "2026-11-27 14:05 UTC" (the scheduler's times are UTC). */
static void utc_minute(double ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
}

/* One line per project's merge train (docs/merge.md), from the list's
 * "trains": where its base is and each queued change's stage. */
static void print_trains(const cJSON *o)
{
    const cJSON *t, *q;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(o, "trains"))
    {
        char line[1200];
        size_t n;
        int k = 0;
        n = (size_t)snprintf(line, sizeof(line), "merge train %s (%s at %.12s)%s:", jstr(t, "project"),
                             jstr(t, "baseBranch"), jstr(t, "base"),
                             cJSON_IsTrue(cJSON_GetObjectItem(t, "paused")) ? " PAUSED, the base fails" : "");
        cJSON_ArrayForEach(q, cJSON_GetObjectItem(t, "queue"))
        {
            if (n < sizeof(line))
                n += (size_t)snprintf(line + n, sizeof(line) - n, "%s %s %s", k++ ? "," : "", jstr(q, "id"),
                                      jstr(q, "stage"));
        }
        if (k == 0 && n < sizeof(line))
            snprintf(line + n, sizeof(line) - n, " empty");
        {
            char *shown = text_printable(line);
            printf("%s\n", shown);
            free(shown);
        }
    }
}

/* The roadmap's ETA for people, from an answer of orch.scheduler.list
 * (roadmapEtaMs, roadmapEtaLateMs: the forecast's mean end of all unfinished
 * work and its 90th percentile); list NULL: the scheduler did not answer. */
static void roadmap_eta_line(const cJSON *list, char *buf, size_t len)
{
    const cJSON *end = cJSON_GetObjectItem(list, "roadmapEtaMs"), *late = cJSON_GetObjectItem(list, "roadmapEtaLateMs");
    const cJSON *by = cJSON_GetObjectItem(list, "counts"), *n;
    double open = 0;
    if (!list) {
        snprintf(buf, len, "roadmap ETA: unknown (the scheduler did not answer)");
        return;
    }
    if (cJSON_IsNumber(end) && end->valuedouble > 0) {
        char a[40], b[40];
        utc_minute(end->valuedouble, a, sizeof(a));
        utc_minute(cJSON_IsNumber(late) && late->valuedouble > end->valuedouble ? late->valuedouble : end->valuedouble, b,
                   sizeof(b));
        snprintf(buf, len, "roadmap done by %s (90%%: %s)", a, b);
        return;
    }
    cJSON_ArrayForEach(n, by) if (cJSON_IsNumber(n) && !terminal(n->string)) open += n->valuedouble;
    if (cJSON_IsObject(by) && open == 0)
        snprintf(buf, len, "roadmap: nothing left");
    else
        snprintf(buf, len, "roadmap ETA: unknown (the scheduler gave no forecast)");
}

/* A row's ETA: the row's own when the list carries one, else what
 * orch.status.<id> says (list rows are brief); "-" for finished work. */
static void row_eta(ctl *c, const cJSON *r, char *buf, size_t len)
{
    char subject[160];
    cJSON *o = NULL;
    natsMsg *reply = NULL;
    const char *code = NULL;

    snprintf(buf, len, "-");
    if (*jstr(r, "eta")) {
        snprintf(buf, len, "%s", jstr(r, "eta"));
        return;
    }
    if (terminal(jstr(r, "status")) || !id_ok(jstr(r, "id")))
        return;
    names_subject(subject, sizeof(subject), NAMES_SUBJ_STATUS, jstr(r, "id"), NULL);
    if (natsConnection_RequestString(&reply, c->nc, subject, "", 3000) != NATS_OK)
        return;
    if (natsMsgHeader_Get(reply, "Nats-Service-Error-Code", &code) != NATS_OK &&
        (o = parse_reply(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply))) != NULL &&
        *jstr(o, "eta"))
        snprintf(buf, len, "%s", jstr(o, "eta"));
    cJSON_Delete(o);
    natsMsg_Destroy(reply);
}

static void print_status_line(ctl *c, const cJSON *r)
{
    const cJSON *att = cJSON_GetObjectItem(r, "attempt");
    char eta[40];
    row_eta(c, r, eta, sizeof(eta));
    printf("%-14s %-10s %-13s %-8s %3d  %-20s  %s\n", jstr(r, "id"), jstr(r, "status"), jstr(r, "type"),
           jstr(r, "priority"), cJSON_IsNumber(att) ? (int)att->valuedouble : 0, eta, jstr(r, "reason"));
}

/* status [ID] [--json]: one requirement in full, or all of them a line each. */
int cmd_status(ctl *c, int argc, char **argv)
{
    const char *id = NULL;
    int as_json = 0, rc;
    cJSON *o;
    char subject[160];

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            as_json = 1;
        else if (!id && id_ok(argv[i]))
            id = argv[i];
        else
            return bad_arg("status", argv[i]);
    }
    if ((rc = ctl_connect(c)) != 0)
        return rc;
    if (id) {
        names_subject(subject, sizeof(subject), NAMES_SUBJ_STATUS, id, NULL);
        rc = request_json(c, subject, "", &o);
    } else {
        rc = list_all(c, &o);
    }
    if (rc != 0)
        return rc;
    if (as_json) {
        char *t = cJSON_Print(o);
        printf("%s\n", t);
        free(t);
    } else if (id) {
        const cJSON *b = cJSON_GetObjectItem(o, "blockedBy"), *it;
        printf("%s  %s\n", jstr(o, "id"), jstr(o, "title"));
        printf("  status    %s (attempt %d)\n", jstr(o, "status"),
               (int)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "attempt")));
        printf("  agent     %s   priority %s\n", jstr(o, "type"), jstr(o, "priority"));
        printf("  waits     %s\n", jstr(o, "reason"));
        if (cJSON_GetArraySize(b) > 0) {
            printf("  blocked by");
            cJSON_ArrayForEach(it, b) printf(" %s", cJSON_IsString(it) ? it->valuestring : "?");
            printf("\n");
        }
        if (*jstr(o, "eta"))
            printf("  eta       %s\n", jstr(o, "eta"));
        else if (!terminal(jstr(o, "status")))
            printf("  eta       none (it waits on work that will not finish: an unknown id or escalated work)\n");
        printf("  tokens    %.0f used of %.0f estimated\n", cJSON_GetNumberValue(cJSON_GetObjectItem(o, "tokensUsed")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(o, "estimatedTokens")));
        if (*jstr(o, "lastFailureOutput"))
            printf("  last failure:\n%s\n", jstr(o, "lastFailureOutput"));
        people_print_decisions(o); /* people.c */
    } else {
        const cJSON *r;
        char line[160];
        printf("%-14s %-10s %-13s %-8s %3s  %-20s  %s\n", "ID", "STATUS", "AGENT", "PRIORITY", "TRY", "ETA", "REASON");
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(o, "requirements")) print_status_line(c, r);
        roadmap_eta_line(o, line, sizeof(line));
        printf("%s\n", line);
        print_trains(o);
        people_print_pauses(o, 1); /* people.c */
    }
    cJSON_Delete(o);
    return 0;
}

/* Whether the run is over: every requirement known is COMPLETE, ESCALATED
 * or REJECTED, by the list's counts (which also hold requirements let go
 * from memory), and there is at least one. The first page is enough. */
static int all_terminal(ctl *c, int *total)
{
    cJSON *o;
    const cJSON *by;
    double done;
    *total = 0;
    if (request_json(c, names_request_subject(NAMES_REQ_SCHEDULER_LIST), "{\"limit\":1}", &o) != 0)
        return 0;
    by = cJSON_GetObjectItem(o, "counts");
    *total = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "total"));
    done = cJSON_GetNumberValue(cJSON_GetObjectItem(by, "COMPLETE")) +
           cJSON_GetNumberValue(cJSON_GetObjectItem(by, "ESCALATED")) +
           cJSON_GetNumberValue(cJSON_GetObjectItem(by, "REJECTED"));
    cJSON_Delete(o);
    /* cJSON_GetNumberValue is NaN for a missing count: never done */
    return *total > 0 && done == (double)*total;
}

/* The first page of orch.scheduler.list (one row: only its roadmap ETA and
 * counts are wanted), or NULL when the scheduler does not answer. Quiet:
 * its absence is said by the line that shows it. */
static cJSON *list_head(ctl *c)
{
    natsMsg *reply = NULL;
    const char *code = NULL;
    cJSON *o = NULL;
    if (natsConnection_RequestString(&reply, c->nc, names_request_subject(NAMES_REQ_SCHEDULER_LIST), "{\"limit\":1}", 2000) != NATS_OK)
        return NULL;
    if (natsMsgHeader_Get(reply, "Nats-Service-Error-Code", &code) != NATS_OK || !code)
        o = parse_reply(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
    natsMsg_Destroy(reply);
    return o;
}

/* dashboard [--json] [--watch [--until-done]]: the monitor's, and (not with
 * --json, which is the monitor's document as it is) the roadmap's ETA as
 * the scheduler forecasts it. */
int cmd_dashboard(ctl *c, int argc, char **argv)
{
    int as_json = 0, watch = 0, until_done = 0, rc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) as_json = 1;
        else if (!strcmp(argv[i], "--watch")) watch = 1;
        else if (!strcmp(argv[i], "--until-done")) until_done = 1;
        else {
            return bad_arg("dashboard", argv[i]);
        }
    }
    if ((rc = ctl_connect(c)) != 0)
        return rc;
    for (;;) {
        natsMsg *reply = NULL;
        int total = 0, done;
        natsStatus s = natsConnection_RequestString(&reply, c->nc, names_request_subject(NAMES_REQ_DASHBOARD), as_json ? "json" : "", 5000);
        if (s != NATS_OK) {
            fprintf(stderr, "orchctl: no dashboard (is the monitor running?): %s\n", natsStatus_GetText(s));
            return EXIT_FAIL;
        }
        if (watch && isatty(1))
            printf("\033[H\033[2J");
        {
            char *raw = xstrndup(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
            char *shown = text_printable(raw);
            printf("%s\n", shown);
            free(shown);
            free(raw);
        }
        natsMsg_Destroy(reply);
        if (!as_json) {
            cJSON *head = list_head(c);
            char line[160];
            roadmap_eta_line(head, line, sizeof(line));
            printf("%s\n", line);
            print_trains(head);
            cJSON_Delete(head);
        }
        fflush(stdout);
        if (!watch)
            return 0;
        done = until_done && all_terminal(c, &total);
        if (done)
            return 0;
        nats_Sleep(2000);
    }
}

/* o's "costUsd" as "$1.23", and what its "costLimitUsd" leaves ("-": no
 * dollar limit), from the dashboard's data. */
static void dollars_of(const cJSON *o, char *spent, size_t slen, char *left, size_t llen)
{
    double c = cJSON_GetNumberValue(cJSON_GetObjectItem(o, "costUsd"));
    double l = cJSON_GetNumberValue(cJSON_GetObjectItem(o, "costLimitUsd"));
    c = c == c ? c : 0; /* NaN: an older monitor said nothing */
    snprintf(spent, slen, "$%.2f", c);
    if (l == l && l > 0)
        snprintf(left, llen, "$%.2f", l > c ? l - c : 0);
    else
        snprintf(left, llen, "-");
}

/* agents: active agents by type, with what each type spent and has left
 * today in tokens and US dollars, from the dashboard's data. */
int cmd_agents(ctl *c, int argc, char **argv)
{
    cJSON *o, *t;
    natsMsg *reply = NULL;
    int rc;
    if (argc > 1)
        return bad_arg("agents", argv[1]);
    if ((rc = ctl_connect(c)) != 0)
        return rc;
    if (natsConnection_RequestString(&reply, c->nc, names_request_subject(NAMES_REQ_DASHBOARD), "json", 5000) != NATS_OK) {
        fprintf(stderr, "orchctl: no answer from the monitor\n");
        return EXIT_FAIL;
    }
    o = parse_reply(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
    natsMsg_Destroy(reply);
    printf("%-14s %-7s %-12s %-12s %-10s %-10s %s\n", "TYPE", "QUEUE", "TOKENS", "LEFT", "USD", "USD LEFT",
           "ACTIVE");
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(o, "agents")) {
        const cJSON *a;
        char usd[32], usd_left[32];
        double used = cJSON_GetNumberValue(cJSON_GetObjectItem(t, "tokensUsed"));
        double limit = cJSON_GetNumberValue(cJSON_GetObjectItem(t, "tokenLimit"));
        dollars_of(t, usd, sizeof(usd), usd_left, sizeof(usd_left));
        printf("%-14s %-7.0f %-12.0f %-12.0f %-10s %-10s", t->string,
               cJSON_GetNumberValue(cJSON_GetObjectItem(t, "queueDepth")), used, limit > used ? limit - used : 0,
               usd, usd_left);
        cJSON_ArrayForEach(a, cJSON_GetObjectItem(t, "active")) printf(" %s", a->valuestring);
        printf("\n");
    }
    {   /* all types: the day's total */
        const cJSON *b = cJSON_GetObjectItem(o, "budget");
        char usd[32], usd_left[32];
        double used = cJSON_GetNumberValue(cJSON_GetObjectItem(b, "used"));
        double limit = cJSON_GetNumberValue(cJSON_GetObjectItem(b, "limit"));
        dollars_of(b, usd, sizeof(usd), usd_left, sizeof(usd_left));
        printf("%-14s %-7s %-12.0f %-12.0f %-10s %-10s\n", "total", "", used, limit > used ? limit - used : 0, usd,
               usd_left);
    }
    cJSON_Delete(o);
    return 0;
}

/* summary [--json]: the outcome of a run: every requirement's final state,
 * throughput, first-time acceptance, token spend, alerts raised. */
int cmd_summary(ctl *c, int argc, char **argv)
{
    cJSON *list = NULL, *dash = NULL, *out, *reqs, *r;
    natsMsg *reply = NULL;
    jsCtx *js = NULL;
    jsStreamInfo *si = NULL;
    const cJSON *by;
    int complete, escalated, rejected, total, rc, as_json = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json"))
            return bad_arg("summary", argv[i]);
        as_json = 1;
    }
    if ((rc = ctl_connect(c)) != 0)
        return rc;
    if ((rc = list_all(c, &list)) != 0)
        return rc;
    /* the counts cover every requirement, also those let go from memory */
    by = cJSON_GetObjectItem(list, "counts");
    total = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(list, "total"));
    complete = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(by, "COMPLETE"));
    escalated = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(by, "ESCALATED"));
    rejected = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(by, "REJECTED"));
    if (natsConnection_RequestString(&reply, c->nc, names_request_subject(NAMES_REQ_DASHBOARD), "json", 5000) == NATS_OK) {
        dash = parse_reply(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
        natsMsg_Destroy(reply);
    }
    out = cJSON_CreateObject();
    reqs = cJSON_AddArrayToObject(out, "requirements");
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(list, "requirements")) {
        cJSON *x = cJSON_CreateObject();
        const char *st = jstr(r, "status");
        cJSON_AddStringToObject(x, "id", jstr(r, "id"));
        cJSON_AddStringToObject(x, "status", st);
        cJSON_AddNumberToObject(x, "attempt", cJSON_GetNumberValue(cJSON_GetObjectItem(r, "attempt")));
        cJSON_AddStringToObject(x, "type", jstr(r, "type"));
        cJSON_AddItemToArray(reqs, x);
    }
    cJSON_AddNumberToObject(out, "total", total);
    cJSON_AddNumberToObject(out, "complete", complete);
    cJSON_AddNumberToObject(out, "escalated", escalated);
    cJSON_AddNumberToObject(out, "rejected", rejected);
    {   /* the day's cost, as the scheduler's ledger has it */
        const cJSON *cost = cJSON_GetObjectItem(cJSON_GetObjectItem(list, "budget"), "costUsd");
        if (cJSON_IsNumber(cost))
            cJSON_AddNumberToObject(out, "costUsd", cost->valuedouble);
    }
    if (dash) {
        cJSON *m = cJSON_GetObjectItem(dash, "metrics");
        cJSON_AddItemToObject(out, "firstTimeAcceptanceRate",
                              cJSON_Duplicate(cJSON_GetObjectItem(m, "firstTimeAcceptanceRate"), 1));
        cJSON_AddItemToObject(out, "tokensUsed",
                              cJSON_Duplicate(cJSON_GetObjectItem(cJSON_GetObjectItem(dash, "budget"), "used"), 1));
        cJSON_AddItemToObject(out, "usdPerRequirement", cJSON_Duplicate(cJSON_GetObjectItem(m, "usdPerRequirement"), 1));
        cJSON_AddItemToObject(out, "usdFailedAttempts", cJSON_Duplicate(cJSON_GetObjectItem(m, "usdFailedAttempts"), 1));
    }
    if (natsConnection_JetStream(&js, c->nc, NULL) == NATS_OK &&
        js_GetStreamInfo(&si, js, "ALERTS", NULL, NULL) == NATS_OK) {
        cJSON_AddNumberToObject(out, "alertsRaised", (double)si->State.Msgs);
        jsStreamInfo_Destroy(si);
    }
    jsCtx_Destroy(js);
    if (as_json) {
        char *t = cJSON_Print(out);
        printf("%s\n", t);
        free(t);
    } else {
        const cJSON *ft = cJSON_GetObjectItem(out, "firstTimeAcceptanceRate");
        printf("requirements: %d, complete %d, escalated %d, rejected %d\n", total, complete, escalated, rejected);
        if (cJSON_IsNumber(ft))
            printf("first-time acceptance: %.0f%%\n", ft->valuedouble * 100);
        printf("tokens spent: %.0f\n", cJSON_GetNumberValue(cJSON_GetObjectItem(out, "tokensUsed")));
        {
            const cJSON *per = cJSON_GetObjectItem(out, "usdPerRequirement");
            printf("dollars spent: $%.2f", cJSON_IsNumber(cJSON_GetObjectItem(out, "costUsd"))
                                              ? cJSON_GetObjectItem(out, "costUsd")->valuedouble : 0.0);
            if (cJSON_IsNumber(per))
                printf(" ($%.2f per completed requirement", per->valuedouble);
            printf("%s; failed attempts $%.2f)\n", cJSON_IsNumber(per) ? "" : " (",
                   cJSON_IsNumber(cJSON_GetObjectItem(out, "usdFailedAttempts"))
                       ? cJSON_GetObjectItem(out, "usdFailedAttempts")->valuedouble : 0.0);
        }
        printf("alerts raised: %.0f\n", cJSON_GetNumberValue(cJSON_GetObjectItem(out, "alertsRaised")));
    }
    cJSON_Delete(out);
    cJSON_Delete(list);
    cJSON_Delete(dash);
    return 0;
}
