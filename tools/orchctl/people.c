/* Decisions of people: pause, resume, cancel, priority (docs/scheduler.md,
 * "Decisions of people"). Each is a request to the scheduler's leader on
 * orch.decide.*, which only people's credentials may send; the body names
 * the person ($ORCH_USER, else $USER) and the answer says what is now
 * true. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "ctl.h"
#include "names.h"
#include "text.h"

static const char *who(void)
{
    const char *w = getenv("ORCH_USER");
    if (!w || !w[0])
        w = getenv("USER");
    return w && w[0] ? w : "operator";
}

/* --until: a duration ("90s", "30m", "2h") from now, or "HH:MM" (local
 * time, its next occurrence). Milliseconds since the epoch, or -1. */
static int64_t until_of(const char *v)
{
    char *end;
    long long n;
    int h, m;
    char extra;
    if (sscanf(v, "%d:%d%c", &h, &m, &extra) == 2 && h >= 0 && h < 24 && m >= 0 && m < 60) {
        time_t now = time(NULL), at;
        struct tm tm;
        localtime_r(&now, &tm);
        tm.tm_hour = h;
        tm.tm_min = m;
        tm.tm_sec = 0;
        at = mktime(&tm);
        if (at <= now)
            at += 86400;
        return (int64_t)at * 1000;
    }
    n = strtoll(v, &end, 10);
    if (end == v || n <= 0 || n > 366LL * 86400)
        return -1;
    if (!strcmp(end, "s"))
        return text_now_ms() + n * 1000;
    if (!strcmp(end, "m"))
        return text_now_ms() + n * 60000;
    if (!strcmp(end, "h"))
        return text_now_ms() + n * 3600000;
    return -1;
}

void people_print_pauses(const cJSON *o, int quiet)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "paused"), *p;
    if (cJSON_GetArraySize(a) == 0) {
        if (!quiet)
            printf("nothing is paused\n");
        return;
    }
    cJSON_ArrayForEach(p, a)
    {
        double until = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "until"));
        printf("paused: %s %s by %s (%s)%s%s", jstr(p, "scope"), jstr(p, "name"), jstr(p, "who"), jstr(p, "source"),
               jstr(p, "comment")[0] ? ": " : "", jstr(p, "comment"));
        if (until > 0) {
            time_t t = (time_t)(until / 1000);
            struct tm tm;
            char buf[32];
            localtime_r(&t, &tm);
            strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &tm);
            printf(", until %s", buf);
        }
        printf("\n");
    }
}

void people_print_decisions(const cJSON *o)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(o, "decisions"))
    {
        time_t t = (time_t)(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "at")) / 1000);
        struct tm tm;
        char buf[32];
        localtime_r(&t, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &tm);
        printf("  decision  %s %s by %s at %s%s%s\n", jstr(d, "kind"), jstr(d, "detail"), jstr(d, "who"), buf,
               jstr(d, "comment")[0] ? ": " : "", jstr(d, "comment"));
    }
}

/* pause|resume [--type T | --project P | --all] [--until TIME] [--comment C] */
static int scoped(ctl *c, int argc, char **argv, int pause)
{
    cJSON *body = cJSON_CreateObject(), *o = NULL;
    const char *scope = "all", *name = NULL;
    char *text = NULL;
    int rc = EXIT_USAGE, nscope = 0;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "--type") || !strcmp(argv[i], "--project")) && i + 1 < argc) {
            scope = argv[i][2] == 't' ? "type" : "project";
            name = argv[++i];
            nscope++;
        } else if (!strcmp(argv[i], "--all")) {
            scope = "all";
            nscope++;
        } else if (pause && !strcmp(argv[i], "--until") && i + 1 < argc) {
            int64_t u = until_of(argv[++i]);
            if (u < 0) {
                fprintf(stderr, "orchctl: --until: a duration (90s, 30m, 2h) or HH:MM, not %s\n", argv[i]);
                goto out;
            }
            cJSON_AddNumberToObject(body, "until", (double)u);
        } else if (pause && !strcmp(argv[i], "--comment") && i + 1 < argc) {
            cJSON_AddStringToObject(body, "comment", argv[++i]);
        } else {
            nscope = 2;
            break;
        }
    }
    if (nscope > 1) {
        fprintf(stderr, "orchctl: usage: orchctl %s\n",
                pause ? "pause [--type T | --project P | --all] [--until TIME] [--comment C]"
                      : "resume [--type T | --project P | --all]");
        goto out;
    }
    cJSON_AddStringToObject(body, "scope", scope);
    if (name)
        cJSON_AddStringToObject(body, "name", name);
    cJSON_AddStringToObject(body, "by", who());
    text = cJSON_PrintUnformatted(body);
    if ((rc = ctl_connect(c)) != 0)
        goto out;
    if ((rc = request_json(c, names_request_subject(pause ? NAMES_REQ_DECIDE_PAUSE : NAMES_REQ_DECIDE_RESUME), text,
                           &o)) != 0)
        goto out;
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "changed")))
        printf("%s\n", pause ? "it was paused already (its until and comment are the new ones)" : "it was not paused");
    people_print_pauses(o, 0);
out:
    free(text);
    cJSON_Delete(body);
    cJSON_Delete(o);
    return rc;
}

int cmd_pause(ctl *c, int argc, char **argv) { return scoped(c, argc, argv, 1); }
int cmd_resume(ctl *c, int argc, char **argv) { return scoped(c, argc, argv, 0); }

/* A decision about one requirement on <subject>.<id>. */
static int about(ctl *c, names_request r, const char *id, cJSON *body, cJSON **o)
{
    char subject[160], *text;
    int rc;
    snprintf(subject, sizeof(subject), "%s.%s", names_request_subject(r), id);
    cJSON_AddStringToObject(body, "by", who());
    text = cJSON_PrintUnformatted(body);
    rc = ctl_connect(c);
    if (rc == 0)
        rc = request_json(c, subject, text, o);
    free(text);
    return rc;
}

/* cancel ID [--comment C] */
int cmd_cancel(ctl *c, int argc, char **argv)
{
    cJSON *body, *o = NULL, *d, *x;
    int rc;
    if ((argc != 2 && !(argc == 4 && !strcmp(argv[2], "--comment"))) || !id_ok(argv[1])) {
        fprintf(stderr, "orchctl: usage: orchctl cancel ID [--comment C]\n");
        return EXIT_USAGE;
    }
    body = cJSON_CreateObject();
    if (argc == 4)
        cJSON_AddStringToObject(body, "comment", argv[3]);
    rc = about(c, NAMES_REQ_DECIDE_CANCEL, argv[1], body, &o);
    cJSON_Delete(body);
    if (rc != 0)
        return rc;
    printf("%s %s: %s\n", jstr(o, "id"),
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "changed")) ? "cancelled" : "was cancelled already",
           jstr(o, "reason"));
    d = cJSON_GetObjectItemCaseSensitive(o, "dependents");
    if (cJSON_GetArraySize(d) > 0) {
        printf("now blocked (dependency cancelled):");
        cJSON_ArrayForEach(x, d) printf(" %s", cJSON_GetStringValue(x));
        printf("\n");
    }
    cJSON_Delete(o);
    return 0;
}

/* priority ID LEVEL [--comment C] */
int cmd_priority(ctl *c, int argc, char **argv)
{
    cJSON *body, *o = NULL;
    int rc;
    if ((argc != 3 && !(argc == 5 && !strcmp(argv[3], "--comment"))) || !id_ok(argv[1])) {
        fprintf(stderr, "orchctl: usage: orchctl priority ID CRITICAL|HIGH|MEDIUM|LOW [--comment C]\n");
        return EXIT_USAGE;
    }
    body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "level", argv[2]);
    if (argc == 5)
        cJSON_AddStringToObject(body, "comment", argv[4]);
    rc = about(c, NAMES_REQ_DECIDE_PRIORITY, argv[1], body, &o);
    cJSON_Delete(body);
    if (rc != 0)
        return rc;
    printf("%s is %s%s (%s)\n", jstr(o, "id"), jstr(o, "priority"),
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "changed")) ? " now" : " already", jstr(o, "reason"));
    cJSON_Delete(o);
    return 0;
}
