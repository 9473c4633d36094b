/* orchctl: the command line of the orchestrator suite.
 *
 *   orchctl [--server URL] COMMAND [ARGS]
 *
 * Connection settings are the daemons' (ORCH_NATS_URL, ORCH_NATS_USER, ...),
 * so one environment serves both. Exit codes: 0 success, 1 the operation
 * failed (an error line on stderr), 2 bad usage, 3 NATS unreachable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <nats/nats.h>

#include "cfg.h"
#include "edge.h"
#include "fileio.h"
#include "names.h"
#include "pb.h"
#include "roadmap.h"
#include "nc.h"
#include "svccfg.h"
#include "text.h"
#include "topology.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_NATS 3

typedef struct {
    natsConnection *nc;
    svc_cfg cfg;
} ctl;

typedef int (*command_fn)(ctl *c, int argc, char **argv);

/* Connects on first use. Every command parses and checks its arguments
 * before it calls this, so bad usage is exit 2 even with NATS down. */
static int ctl_connect(ctl *c)
{
    char err[ERR_LEN];
    if (c->nc)
        return 0;
    if (nc_connect(&c->nc, &c->cfg, "orchctl", NC_SEND_ASAP | NC_FAIL_FAST, err) != ORCH_OK) {
        fprintf(stderr, "orchctl: %s\n", err);
        return EXIT_NATS;
    }
    return 0;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* An argument a command does not take: bad usage. */
static int bad_arg(const char *cmd, const char *arg)
{
    fprintf(stderr, "orchctl: %s: %s '%s' (try orchctl %s --help)\n", cmd,
            arg[0] == '-' ? "unknown option" : "unexpected argument", arg, cmd);
    return EXIT_USAGE;
}

/* Whether s can be a requirement id in a subject token. */
static int id_ok(const char *s)
{
    if (!*s || *s == '-')
        return 0;
    for (; *s; s++)
        if (*s == '.' || *s == '*' || *s == '>' || (unsigned char)*s <= ' ')
            return 0;
    return 1;
}

typedef struct {
    const char *name;
    command_fn fn;
    const char *usage;
    const char *help;
    int offline;      /* needs no NATS connection */
} command;

/* Every string of an answer made safe to print (text_printable): a title,
 * a reason or a failure output with terminal escapes in it shows them as
 * text instead of obeying them. */
static void scrub(cJSON *j)
{
    cJSON *it;
    if (cJSON_IsString(j) && j->valuestring) {
        char *p = text_printable(j->valuestring);
        if (strcmp(p, j->valuestring))
            cJSON_SetValuestring(j, p);
        free(p);
    }
    cJSON_ArrayForEach(it, j) scrub(it);
}

static cJSON *parse_reply(const char *data, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(data, len);
    if (j)
        scrub(j);
    return j;
}

/* services: every instance answering $SRV.INFO, with its endpoints. The
 * columns are as wide as their longest value (instance ids vary). */
static int cmd_services(ctl *c, int argc, char **argv)
{
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    int n = 0, as_json = 0, rc;
    int wname = 4, wid = 2, wver = 7;
    cJSON *all;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json"))
            return bad_arg("services", argv[i]);
        as_json = 1;
    }
    if ((rc = ctl_connect(c)) != 0)
        return rc;
    if (natsInbox_Create(&inbox) != NATS_OK || natsConnection_SubscribeSync(&sub, c->nc, inbox) != NATS_OK ||
        natsConnection_PublishRequestString(c->nc, "$SRV.INFO", inbox, "") != NATS_OK) {
        fprintf(stderr, "orchctl: services: %s\n", nats_GetLastError(NULL));
        natsSubscription_Destroy(sub);
        natsInbox_Destroy(inbox);
        return EXIT_NATS;
    }
    all = cJSON_CreateArray();
    /* Every instance answers once; gather until quiet. */
    for (;;) {
        natsMsg *m = NULL;
        cJSON *j;
        if (natsSubscription_NextMsg(&m, sub, 500) != NATS_OK)
            break;
        j = parse_reply(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
        natsMsg_Destroy(m);
        if (j)
            cJSON_AddItemToArray(all, j);
    }
    if (as_json) {
        char *s = cJSON_Print(all);
        printf("%s\n", s);
        free(s);
    } else {
        const cJSON *j;
        cJSON_ArrayForEach(j, all) {
            int k;
            if ((k = (int)strlen(jstr(j, "name"))) > wname)
                wname = k;
            if ((k = (int)strlen(jstr(j, "id"))) > wid)
                wid = k;
            if ((k = (int)strlen(jstr(j, "version"))) > wver)
                wver = k;
        }
        printf("%-*s  %-*s  %-*s  %s\n", wname, "NAME", wid, "ID", wver, "VERSION", "ENDPOINTS");
        cJSON_ArrayForEach(j, all) {
            const cJSON *e;
            printf("%-*s  %-*s  %-*s ", wname, jstr(j, "name"), wid, jstr(j, "id"), wver, jstr(j, "version"));
            cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "endpoints")) printf(" %s", jstr(e, "subject"));
            printf("\n");
        }
    }
    n = cJSON_GetArraySize(all);
    cJSON_Delete(all);
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
    if (n == 0) {
        fprintf(stderr, "orchctl: no service answered $SRV.INFO\n");
        return EXIT_FAIL;
    }
    return 0;
}

/* Reads a whole file ("-": standard input), at most max bytes; a larger one
 * is refused, never cut. Says why on stderr when it returns NULL. */
static char *slurp(const char *path, size_t max, size_t *len)
{
    char err[ERR_LEN], *buf = NULL;
    orch_status st = strcmp(path, "-") == 0 ? fileio_read_stream(stdin, "standard input", max, &buf, len, err)
                                            : fileio_read(path, max, &buf, len, err);
    if (st != ORCH_OK)
        fprintf(stderr, "orchctl: %s\n", err);
    return buf;
}

/* The body of publish and classify: DATA, or --file F ("-" for stdin). */
static char *body_args(int argc, char **argv, int from, const char **ctype, size_t *len)
{
    char *body = NULL;
    for (int i = from; i < argc; i++) {
        if (!strcmp(argv[i], "--content-type") && i + 1 < argc) {
            *ctype = argv[++i];
        } else if (!strcmp(argv[i], "--file") && i + 1 < argc) {
            free(body);
            if (!(body = slurp(argv[++i], 1 << 20, len))) {
                return NULL;
            }
        } else if (!strncmp(argv[i], "--", 2)) {
            fprintf(stderr, "orchctl: unknown option '%s' (or it needs a value)\n", argv[i]);
            free(body);
            return NULL;
        } else if (!body) {
            body = xstrdup(argv[i]);
            *len = strlen(body);
        } else {
            fprintf(stderr, "orchctl: unexpected argument '%s'\n", argv[i]);
            free(body);
            return NULL;
        }
    }
    if (!body)
        fprintf(stderr, "orchctl: nothing to send (give DATA or --file F)\n");
    return body;
}

/* publish: a JetStream publish that waits for the stream to store it. */
static int cmd_publish(ctl *c, int argc, char **argv)
{
    const char *ctype = NULL;
    size_t len = 0;
    char *body;
    jsCtx *js = NULL;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    natsMsg *m = NULL;
    natsStatus s;
    int rc = EXIT_FAIL;

    if (argc < 3) {
        fprintf(stderr, "orchctl: usage: orchctl publish SUBJECT [--content-type T] DATA|--file F\n");
        return EXIT_USAGE;
    }
    if (!(body = body_args(argc, argv, 2, &ctype, &len)))
        return EXIT_USAGE;
    if ((rc = ctl_connect(c)) != 0) {
        free(body);
        return rc;
    }
    rc = EXIT_FAIL;
    s = natsConnection_JetStream(&js, c->nc, NULL);
    if (s == NATS_OK)
        s = natsMsg_Create(&m, argv[1], NULL, body, (int)len);
    if (s == NATS_OK && ctype)
        s = natsMsgHeader_Set(m, "Content-Type", ctype);
    if (s == NATS_OK)
        s = js_PublishMsg(&pa, js, m, NULL, &jerr);
    if (s == NATS_OK) {
        printf("stored in %s as message %llu\n", pa->Stream, (unsigned long long)pa->Sequence);
        rc = 0;
    } else {
        fprintf(stderr, "orchctl: publish %s: %s\n", argv[1],
                s == NATS_NO_RESPONDERS ? "no stream takes this subject (are the services running?)"
                                        : nats_GetLastError(NULL));
    }
    jsPubAck_Destroy(pa);
    natsMsg_Destroy(m);
    jsCtx_Destroy(js);
    free(body);
    return rc;
}

/* classify: the router's dry run; prints the classified requirements. */
static int cmd_classify(ctl *c, int argc, char **argv)
{
    const char *ctype = NULL, *code = NULL, *text = NULL;
    size_t len = 0;
    char *body = body_args(argc, argv, 1, &ctype, &len);
    natsMsg *m = NULL, *reply = NULL;
    int rc = EXIT_FAIL;
    natsStatus s;

    if (!body)
        return EXIT_USAGE;
    if ((rc = ctl_connect(c)) != 0) {
        free(body);
        return rc;
    }
    rc = EXIT_FAIL;
    s = natsMsg_Create(&m, names_request_subject(NAMES_REQ_ROUTER_CLASSIFY), NULL, body, (int)len);
    if (s == NATS_OK && ctype)
        s = natsMsgHeader_Set(m, "Content-Type", ctype);
    if (s == NATS_OK)
        s = natsConnection_RequestMsg(&reply, c->nc, m, 5000);
    if (s != NATS_OK) {
        fprintf(stderr, "orchctl: classify: %s\n",
                s == NATS_NO_RESPONDERS ? "no router is running" : natsStatus_GetText(s));
    } else if (natsMsgHeader_Get(reply, "Nats-Service-Error", &text) == NATS_OK) {
        natsMsgHeader_Get(reply, "Nats-Service-Error-Code", &code);
        fprintf(stderr, "orchctl: classify: %s\n", text);
    } else {
        cJSON *j = parse_reply(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
        char *pretty = j ? cJSON_Print(j) : NULL;
        printf("%s\n", pretty ? pretty : natsMsg_GetData(reply));
        free(pretty);
        cJSON_Delete(j);
        rc = 0;
    }
    natsMsg_Destroy(reply);
    natsMsg_Destroy(m);
    free(body);
    return rc;
}

/* encode: seed JSON (one requirement) to protobuf bytes on stdout. */
static int cmd_encode(ctl *c, int argc, char **argv)
{
    size_t len = 0, n = 0, plen = 0;
    char *json;
    pb_requirement **reqs = NULL;
    edge_limits lim;
    char err[ERR_LEN];
    uint8_t *buf = NULL;
    edge_reason why;
    (void)c;

    if (argc != 2) {
        fprintf(stderr, "orchctl: usage: orchctl encode FILE|-\n");
        return EXIT_USAGE;
    }
    if (!(json = slurp(argv[1], 1 << 20, &len))) {
        return EXIT_FAIL;
    }
    edge_limits_default(&lim);
    why = edge_requirements_from_json(json, len, &lim, &reqs, &n, err);
    free(json);
    if (why != EDGE_OK || n != 1) {
        fprintf(stderr, "orchctl: encode: %s\n", why != EDGE_OK ? err : "give one requirement, not a list");
        edge_requirements_free(reqs, n);
        return EXIT_FAIL;
    }
    if (pb_pack(&reqs[0]->base, &buf, &plen) == ORCH_OK)
        fwrite(buf, 1, plen, stdout);
    free(buf);
    edge_requirements_free(reqs, n);
    return 0;
}

/* A request whose answer is JSON or a service error; prints the JSON
 * (pretty) or the error. Returns the exit code. */
static int request_json(ctl *c, const char *subject, const char *body, cJSON **out)
{
    natsMsg *reply = NULL;
    const char *text = NULL;
    natsStatus s = natsConnection_RequestString(&reply, c->nc, subject, body, 5000);
    int rc = EXIT_FAIL;

    *out = NULL;
    if (s == NATS_NO_RESPONDERS || s == NATS_TIMEOUT) {
        fprintf(stderr, "orchctl: no answer on %s (is the scheduler running and leading?)\n", subject);
    } else if (s != NATS_OK) {
        fprintf(stderr, "orchctl: %s: %s\n", subject, natsStatus_GetText(s));
    } else if (natsMsgHeader_Get(reply, "Nats-Service-Error", &text) == NATS_OK) {
        fprintf(stderr, "orchctl: %s\n", text);
    } else {
        *out = parse_reply(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
        rc = *out ? 0 : EXIT_FAIL;
    }
    natsMsg_Destroy(reply);
    return rc;
}

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
static int cmd_status(ctl *c, int argc, char **argv)
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
    } else {
        const cJSON *r;
        char line[160];
        printf("%-14s %-10s %-13s %-8s %3s  %-20s  %s\n", "ID", "STATUS", "AGENT", "PRIORITY", "TRY", "ETA", "REASON");
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(o, "requirements")) print_status_line(c, r);
        roadmap_eta_line(o, line, sizeof(line));
        printf("%s\n", line);
    }
    cJSON_Delete(o);
    return 0;
}

/* retry ID: a human's fresh set of attempts for an escalated requirement. */
static int cmd_retry(ctl *c, int argc, char **argv)
{
    cJSON *o;
    int rc;
    if (argc != 2 || !id_ok(argv[1])) {
        fprintf(stderr, "orchctl: usage: orchctl retry ID\n");
        return EXIT_USAGE;
    }
    if ((rc = ctl_connect(c)) != 0)
        return rc;
    if ((rc = request_json(c, names_request_subject(NAMES_REQ_SCHEDULER_RETRY), argv[1], &o)) != 0)
        return rc;
    printf("%s is %s again (attempt %d)\n", jstr(o, "id"), jstr(o, "status"),
           (int)cJSON_GetObjectItem(o, "attempt")->valuedouble);
    cJSON_Delete(o);
    return 0;
}

/* Why a publish on subject was not stored, and the exit code: 3 only when
 * the server cannot be reached; a missing stream is named. */
static int not_stored(ctl *c, jsCtx *js, const char *subject, natsStatus s)
{
    const char *stream = NULL;
    jsStreamInfo *si = NULL;
    natsStatus st;

    if (natsConnection_Status(c->nc) != NATS_CONN_STATUS_CONNECTED) {
        fprintf(stderr, "orchctl: submit: NATS unreachable (%s)\n", natsStatus_GetText(s));
        return EXIT_NATS;
    }
    for (size_t i = 0; i < topo_stream_count && !stream; i++)
        if (!strncmp(topo_streams[i].subjects[0], subject, strcspn(subject, ".")) &&
            topo_streams[i].subjects[0][strcspn(subject, ".")] == '.')
            stream = topo_streams[i].name;
    if (stream && (st = js_GetStreamInfo(&si, js, stream, NULL, NULL)) == NATS_NOT_FOUND) {
        fprintf(stderr, "orchctl: submit: stream %s for %s does not exist: no service has provisioned it "
                        "(any orch daemon creates it when it starts)\n", stream, subject);
        return EXIT_FAIL;
    }
    jsStreamInfo_Destroy(si);
    fprintf(stderr, "orchctl: submit: not stored (%s: %s)\n", natsStatus_GetText(s), nats_GetLastError(NULL));
    return natsConnection_Status(c->nc) == NATS_CONN_STATUS_CONNECTED ? EXIT_FAIL : EXIT_NATS;
}

/* Publishes intake and waits for what the router made of it: the ids on
 * plan.requirement.* carrying this message's stream sequence, or its error
 * on errors.intake.*. Prints one id per line. Some requirements of a list
 * may be refused (a duplicate id) while the rest go on: each refused one is
 * named on stderr, and the exit code is 1. */
static int submit_body(ctl *c, const char *body, size_t len, const char *ctype)
{
    natsSubscription *plan = NULL, *errs = NULL;
    jsCtx *js = NULL;
    jsPubAck *pa = NULL;
    natsMsg *m = NULL;
    uint64_t seq;
    int got = 0, refused = 0, rc = EXIT_FAIL;
    int64_t deadline, quiet_until = 0;
    natsStatus s;

    if (natsConnection_SubscribeSync(&plan, c->nc, "plan.requirement.>") != NATS_OK ||
        natsConnection_SubscribeSync(&errs, c->nc, "errors.intake.>") != NATS_OK ||
        natsConnection_JetStream(&js, c->nc, NULL) != NATS_OK ||
        natsMsg_Create(&m, "intake.requirements", NULL, body, (int)len) != NATS_OK) {
        fprintf(stderr, "orchctl: submit: %s\n", nats_GetLastError(NULL));
        rc = EXIT_NATS;
        goto out;
    }
    if (ctype)
        natsMsgHeader_Set(m, "Content-Type", ctype);
    if ((s = js_PublishMsg(&pa, js, m, NULL, NULL)) != NATS_OK) {
        rc = not_stored(c, js, "intake.requirements", s);
        goto out;
    }
    seq = pa->Sequence;
    deadline = nats_Now() + 10000;
    while (nats_Now() < deadline && (!quiet_until || nats_Now() < quiet_until)) {
        natsMsg *x = NULL;
        if (natsSubscription_NextMsg(&x, errs, 1) == NATS_OK) {
            cJSON *j = parse_reply(natsMsg_GetData(x), (size_t)natsMsg_GetDataLength(x));
            cJSON *sq = j ? cJSON_GetObjectItem(j, "streamSeq") : NULL;
            if (sq && (uint64_t)sq->valuedouble == seq) {
                const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(j, "requirementId"));
                const char *reason = cJSON_GetStringValue(cJSON_GetObjectItem(j, "reason"));
                fprintf(stderr, "orchctl: rejected%s%s (%s): %s\n", id ? " " : "", id ? id : "", reason,
                        cJSON_GetStringValue(cJSON_GetObjectItem(j, "message")));
                /* A duplicate id refuses that requirement only: wait for the rest. */
                if (!(reason && !strcmp(reason, edge_reason_token(EDGE_DUPLICATE_ID)))) {
                    cJSON_Delete(j);
                    natsMsg_Destroy(x);
                    goto out;
                }
                refused++;
                quiet_until = nats_Now() + 700;
            }
            cJSON_Delete(j);
            natsMsg_Destroy(x);
        }
        if (natsSubscription_NextMsg(&x, plan, 50) == NATS_OK) {
            char err[ERR_LEN];
            pb_requirement *r = (pb_requirement *)pb_unpack(&orchestrator__v1__requirement__descriptor,
                                                            (const uint8_t *)natsMsg_GetData(x),
                                                            (size_t)natsMsg_GetDataLength(x), PB_MAX_MSG, err);
            if (r && r->intake_seq == seq) {
                printf("%s\t%s\t%s\t%s\n", r->id, names_agent_type(r->type), names_priority(r->priority), r->title);
                got++;
                quiet_until = nats_Now() + 700;
            }
            if (r)
                orchestrator__v1__requirement__free_unpacked(r, NULL);
            natsMsg_Destroy(x);
        }
    }
    if (refused) {
        fprintf(stderr, "orchctl: %d requirement%s refused; %s\n", refused, refused == 1 ? "" : "s",
                got ? "the ids printed were accepted" : "none accepted");
        rc = EXIT_FAIL;
    } else if (got) {
        rc = 0;
    } else {
        fprintf(stderr, "orchctl: stored as intake message %llu, but no router answered in 10 s\n",
                (unsigned long long)seq);
    }
out:
    jsPubAck_Destroy(pa);
    natsMsg_Destroy(m);
    jsCtx_Destroy(js);
    natsSubscription_Destroy(plan);
    natsSubscription_Destroy(errs);
    return rc;
}

/* submit FILE|- | submit --title T [--files a,b] [--depends X,Y] [--priority P] [--agent A] [--id ID] */
static int cmd_submit(ctl *c, int argc, char **argv)
{
    cJSON *o = NULL;
    char *body = NULL;
    size_t len = 0;
    int rc;

    if (argc == 2 && strncmp(argv[1], "--", 2)) {
        if (!(body = slurp(argv[1], 1 << 20, &len))) {
            return EXIT_FAIL;
        }
    } else {
        int i = 1;
        o = cJSON_CreateObject();
        while (i < argc) {
            const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
            if (!v) {
                fprintf(stderr, "orchctl: %s needs a value\n", k);
                cJSON_Delete(o);
                return EXIT_USAGE;
            }
            if (!strcmp(k, "--title")) cJSON_AddStringToObject(o, "title", v);
            else if (!strcmp(k, "--id")) cJSON_AddStringToObject(o, "id", v);
            else if (!strcmp(k, "--priority")) cJSON_AddStringToObject(o, "priority", v);
            else if (!strcmp(k, "--agent")) cJSON_AddStringToObject(o, "assignedAgent", v);
            else if (!strcmp(k, "--description")) cJSON_AddStringToObject(o, "description", v);
            else if (!strcmp(k, "--files") || !strcmp(k, "--depends")) {
                cJSON *a = cJSON_AddArrayToObject(o, !strcmp(k, "--files") ? "files" : "dependencies");
                char *copy = xstrdup(v), *save, *tok;
                for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
                    cJSON_AddItemToArray(a, cJSON_CreateString(tok));
                free(copy);
            } else {
                fprintf(stderr, "orchctl: submit: unknown option %s (try orchctl submit --help)\n", k);
                cJSON_Delete(o);
                return EXIT_USAGE;
            }
            i += 2; /* option and value */
        }
        if (!cJSON_GetObjectItem(o, "title")) {
            fprintf(stderr, "orchctl: submit needs FILE, - or --title\n");
            cJSON_Delete(o);
            return EXIT_USAGE;
        }
        body = cJSON_PrintUnformatted(o);
        len = strlen(body);
        cJSON_Delete(o);
    }
    if ((rc = ctl_connect(c)) == 0)
        rc = submit_body(c, body, len, NULL);
    free(body);
    return rc;
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
static int cmd_dashboard(ctl *c, int argc, char **argv)
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

/* agents: active agents by type, from the dashboard's data. */
static int cmd_agents(ctl *c, int argc, char **argv)
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
    printf("%-14s %-7s %-12s %-12s %s\n", "TYPE", "QUEUE", "TOKENS", "LIMIT", "ACTIVE");
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(o, "agents")) {
        const cJSON *a;
        printf("%-14s %-7.0f %-12.0f %-12.0f", t->string, cJSON_GetNumberValue(cJSON_GetObjectItem(t, "queueDepth")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(t, "tokensUsed")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(t, "tokenLimit")));
        cJSON_ArrayForEach(a, cJSON_GetObjectItem(t, "active")) printf(" %s", a->valuestring);
        printf("\n");
    }
    cJSON_Delete(o);
    return 0;
}

#define SILENCE_USAGE                                                                                             \
    "orchctl silence add rule=stale,type=backend [--minutes 60] [--comment C] | silence remove S1 | silence list"

/* silence list: the monitor's silences as it saved them (KV orch_alerts,
 * key monitor-state, written by the leading monitor on every change). */
static int silence_list(ctl *c)
{
    jsCtx *js = NULL;
    kvStore *kv = NULL;
    kvEntry *e = NULL;
    cJSON *o = NULL;
    const cJSON *s;
    int64_t now = nats_Now();
    int rc = EXIT_FAIL, shown = 0;
    natsStatus st;

    if (natsConnection_JetStream(&js, c->nc, NULL) != NATS_OK || js_KeyValue(&kv, js, TOPO_KV_ALERTS) != NATS_OK) {
        fprintf(stderr, "orchctl: silence list: no bucket %s (has the monitor run?)\n", TOPO_KV_ALERTS);
        goto out;
    }
    if ((st = kvStore_Get(&e, kv, "monitor-state")) == NATS_NOT_FOUND) {
        rc = 0; /* no monitor has saved anything: no silences */
    } else if (st != NATS_OK ||
               !(o = parse_reply(kvEntry_ValueString(e), (size_t)kvEntry_ValueLen(e)))) {
        fprintf(stderr, "orchctl: silence list: cannot read the monitor's state: %s\n", natsStatus_GetText(st));
        goto out;
    }
    rc = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(o, "silences")) {
        const cJSON *l;
        double exp = cJSON_GetNumberValue(cJSON_GetObjectItem(s, "expires"));
        const char *sep = "";
        if (!(exp > (double)now))
            continue;
        if (!shown++)
            printf("%-6s %-9s %-40s %s\n", "ID", "MINUTES", "MATCHERS", "COMMENT");
        printf("%-6s %-9.0f ", jstr(s, "id"), (exp - (double)now) / 60000.0 + 0.5);
        {
            char m[512];
            size_t used = 0;
            m[0] = '\0';
            cJSON_ArrayForEach(l, cJSON_GetObjectItem(s, "labels")) {
                used += (size_t)snprintf(m + used, used < sizeof(m) ? sizeof(m) - used : 0, "%s%s=%s", sep,
                                         l->string, cJSON_IsString(l) ? l->valuestring : "");
                sep = ",";
            }
            printf("%-40s %s\n", m, jstr(s, "comment"));
        }
    }
    if (!shown)
        printf("no active silences\n");
out:
    cJSON_Delete(o);
    kvEntry_Destroy(e);
    kvStore_Destroy(kv);
    jsCtx_Destroy(js);
    return rc;
}

/* silence add MATCHERS --minutes N [--comment C] | silence remove ID | silence list */
static int cmd_silence(ctl *c, int argc, char **argv)
{
    cJSON *req, *o;
    char *body;
    int rc;
    if (argc == 2 && !strcmp(argv[1], "list")) {
        if ((rc = ctl_connect(c)) != 0)
            return rc;
        return silence_list(c);
    }
    req = cJSON_CreateObject();
    if (argc == 3 && !strcmp(argv[1], "remove") && argv[2][0] != '-') {
        cJSON_AddStringToObject(req, "remove", argv[2]);
    } else if (argc >= 3 && !strcmp(argv[1], "add")) {
        double minutes = 60;
        char why[512];
        if (!names_silence_matchers_ok(argv[2], why, sizeof(why))) {
            fprintf(stderr, "orchctl: silence: %s\n", why);
            cJSON_Delete(req);
            return EXIT_USAGE;
        }
        cJSON_AddStringToObject(req, "matchers", argv[2]);
        for (int i = 3; i < argc; i += 2) {
            char *end = NULL;
            if (i + 1 >= argc || (strcmp(argv[i], "--minutes") && strcmp(argv[i], "--comment"))) {
                cJSON_Delete(req);
                return bad_arg("silence", argv[i]);
            }
            if (!strcmp(argv[i], "--comment")) {
                cJSON_AddStringToObject(req, "comment", argv[i + 1]);
                continue;
            }
            minutes = strtod(argv[i + 1], &end);
            if (end == argv[i + 1] || *end || !(minutes > 0) || minutes > 525600) {
                fprintf(stderr, "orchctl: silence: --minutes takes a number of minutes from 1 to 525600\n");
                cJSON_Delete(req);
                return EXIT_USAGE;
            }
        }
        cJSON_AddNumberToObject(req, "minutes", minutes);
    } else {
        fprintf(stderr, "orchctl: usage: %s\n", SILENCE_USAGE);
        cJSON_Delete(req);
        return EXIT_USAGE;
    }
    if ((rc = ctl_connect(c)) != 0) {
        cJSON_Delete(req);
        return rc;
    }
    body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    rc = request_json(c, names_request_subject(NAMES_REQ_MONITOR_SILENCE), body, &o);
    free(body);
    if (rc)
        return rc;
    printf("%s\n", cJSON_GetStringValue(cJSON_GetObjectItem(o, "id")) ? cJSON_GetStringValue(cJSON_GetObjectItem(o, "id"))
                                                                     : "removed");
    cJSON_Delete(o);
    return 0;
}

/* deadletters [--limit N]: the last N messages of the DEADLETTER stream
 * (the monitor copies there what reached its delivery limit), oldest
 * first, with where each came from and why. */
static int cmd_deadletters(ctl *c, int argc, char **argv)
{
    long limit = 20;
    jsCtx *js = NULL;
    jsStreamInfo *si = NULL;
    uint64_t first, last, msgs;
    int rc;

    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--limit") || i + 1 >= argc)
            return bad_arg("deadletters", argv[i]);
        limit = strtol(argv[++i], &end, 10);
        if (end == argv[i] || *end || limit < 1 || limit > 10000) {
            fprintf(stderr, "orchctl: deadletters: --limit takes a number from 1 to 10000\n");
            return EXIT_USAGE;
        }
    }
    if ((rc = ctl_connect(c)) != 0)
        return rc;
    if (natsConnection_JetStream(&js, c->nc, NULL) != NATS_OK ||
        js_GetStreamInfo(&si, js, "DEADLETTER", NULL, NULL) != NATS_OK) {
        fprintf(stderr, "orchctl: deadletters: no stream DEADLETTER (%s)\n", nats_GetLastError(NULL));
        jsCtx_Destroy(js);
        return EXIT_FAIL;
    }
    first = si->State.FirstSeq;
    last = si->State.LastSeq;
    msgs = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    if (msgs == 0)
        printf("no dead letters\n");
    for (uint64_t seq = last >= first + (uint64_t)limit ? last - (uint64_t)limit + 1 : first; msgs && seq <= last;
         seq++) {
        natsMsg *m = NULL;
        const char *h = NULL;
        int len;
        if (js_GetMsg(&m, js, "DEADLETTER", seq, NULL, NULL) != NATS_OK)
            continue; /* deleted, or aged out meanwhile */
        printf("#%llu %s\n", (unsigned long long)seq, natsMsg_GetSubject(m));
        if (natsMsgHeader_Get(m, "Orch-Dead-Subject", &h) == NATS_OK)
            printf("  subject   %s (stream sequence ", h);
        else
            printf("  subject   ? (stream sequence ");
        printf("%s)\n", natsMsgHeader_Get(m, "Orch-Dead-Seq", &h) == NATS_OK ? h : "?");
        if (natsMsgHeader_Get(m, "Orch-Dead-Reason", &h) == NATS_OK)
            printf("  reason    %s\n", h);
        /* the data as it came (JSON, text or protobuf): the first 300
         * bytes, anything unprintable as \xNN */
        len = natsMsg_GetDataLength(m);
        printf("  data      ");
        for (int k = 0; k < len && k < 300; k++) {
            unsigned char ch = (unsigned char)natsMsg_GetData(m)[k];
            if (ch >= ' ' && ch < 0x7f)
                putchar(ch);
            else
                printf("\\x%02x", ch);
        }
        printf("%s\n", len > 300 ? " ..." : "");
        natsMsg_Destroy(m);
    }
    jsCtx_Destroy(js);
    return 0;
}

/* The roadmap's word for a state. */
static const char *roadmap_status(ctl *c, const char *id, char *buf, size_t len)
{
    cJSON *o;
    char subject[128];
    natsMsg *reply = NULL;
    const char *st, *code = NULL;
    names_subject(subject, sizeof(subject), NAMES_SUBJ_STATUS, id, NULL);
    if (natsConnection_RequestString(&reply, c->nc, subject, "", 3000) != NATS_OK)
        return NULL;
    if (natsMsgHeader_Get(reply, "Nats-Service-Error-Code", &code) == NATS_OK) {
        natsMsg_Destroy(reply);
        return NULL; /* not submitted (yet): leave the line alone */
    }
    o = parse_reply(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
    natsMsg_Destroy(reply);
    st = o ? jstr(o, "status") : "";
    if (!strcmp(st, "COMPLETE"))
        snprintf(buf, len, "Complete");
    else if (!strcmp(st, "DISPATCHED") || !strcmp(st, "VERIFYING"))
        snprintf(buf, len, "In Progress");
    else if (!strcmp(st, "REVIEWING"))
        snprintf(buf, len, "In Review");
    else if (!strcmp(st, "MERGING"))
        snprintf(buf, len, "Merging");
    else if (!strcmp(st, "ESCALATED"))
        snprintf(buf, len, "Escalated");
    else if (!strcmp(st, "BLOCKED")) {
        const cJSON *b, *it;
        size_t used = (size_t)snprintf(buf, len, "Blocked by");
        b = cJSON_GetObjectItem(o, "blockedBy");
        cJSON_ArrayForEach(it, b) used += (size_t)snprintf(buf + used, len > used ? len - used : 0, "%s %s",
                                                           it == b->child ? "" : ",", it->valuestring);
    } else if (*st)
        snprintf(buf, len, "Ready");
    else
        buf[0] = '\0';
    cJSON_Delete(o);
    return *buf ? buf : NULL;
}

typedef struct {
    ctl *c;
    char buf[64][200];
    int n;
} sync_ctx;

static const char *status_cb(const char *id, void *arg)
{
    sync_ctx *s = arg;
    if (s->n == 64)
        return NULL;
    return roadmap_status(s->c, id, s->buf[s->n++], sizeof(s->buf[0]));
}

/* roadmap import FILE | roadmap sync FILE */
static int cmd_roadmap(ctl *c, int argc, char **argv)
{
    size_t len = 0;
    char *text, err[256];
    roadmap r;
    int rc = 0;

    if (argc != 3 || (strcmp(argv[1], "import") && strcmp(argv[1], "sync"))) {
        fprintf(stderr, "orchctl: usage: orchctl roadmap import|sync plans/roadmap.md\n");
        return EXIT_USAGE;
    }
    if (!(text = slurp(argv[2], 4 << 20, &len))) {
        return EXIT_FAIL;
    }
    if (roadmap_parse(text, len, &r, err, sizeof(err)) != 0) {
        fprintf(stderr, "orchctl: %s: %s\n", argv[2], err);
        free(text);
        return EXIT_FAIL;
    }
    if ((rc = ctl_connect(c)) != 0) {
        roadmap_free(&r);
        free(text);
        return rc;
    }
    if (!strcmp(argv[1], "import")) {
        char *json = roadmap_pending_json(&r);
        if (!json) {
            fprintf(stderr, "orchctl: %s: nothing Pending or New\n", argv[2]);
        } else {
            /* in messages of at most 200 requirements (the router takes 256);
             * one with refusals (an id submitted before) does not keep the
             * rest from going in: the exit code tells */
            cJSON *all = cJSON_Parse(json), *chunk = NULL;
            int n = cJSON_GetArraySize(all);
            for (int i = 0; i < n && rc != EXIT_NATS; i++) {
                if (!chunk)
                    chunk = cJSON_CreateArray();
                cJSON_AddItemToArray(chunk, cJSON_Duplicate(cJSON_GetArrayItem(all, i), 1));
                if (cJSON_GetArraySize(chunk) == 200 || i == n - 1) {
                    char *part = cJSON_PrintUnformatted(chunk);
                    int part_rc = submit_body(c, part, strlen(part), "application/json");
                    if (part_rc && rc != EXIT_NATS)
                        rc = part_rc;
                    free(part);
                    cJSON_Delete(chunk);
                    chunk = NULL;
                }
            }
            cJSON_Delete(chunk);
            cJSON_Delete(all);
        }
        free(json);
    } else {
        int changed = 0;
        sync_ctx *sc = xcalloc(1, sizeof(*sc));
        char *out, tmp[1100];
        FILE *f;
        sc->c = c;
        /* at most 64 lookups per run is plenty for a roadmap file; more are left as they are */
        out = roadmap_with_status(text, len, &r, status_cb, sc, &changed);
        snprintf(tmp, sizeof(tmp), "%s.tmp", argv[2]);
        if (!(f = fopen(tmp, "wb")) || fwrite(out, 1, strlen(out), f) != strlen(out) || fclose(f) != 0 ||
            rename(tmp, argv[2]) != 0) {
            fprintf(stderr, "orchctl: cannot write %s\n", argv[2]);
            rc = EXIT_FAIL;
        } else {
            printf("%d status line%s updated in %s\n", changed, changed == 1 ? "" : "s", argv[2]);
        }
        free(out);
        free(sc);
    }
    roadmap_free(&r);
    free(text);
    return rc;
}

/* summary [--json]: the outcome of a run: every requirement's final state,
 * throughput, first-time acceptance, token spend, alerts raised. */
static int cmd_summary(ctl *c, int argc, char **argv)
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
        printf("alerts raised: %.0f\n", cJSON_GetNumberValue(cJSON_GetObjectItem(out, "alertsRaised")));
    }
    cJSON_Delete(out);
    cJSON_Delete(list);
    cJSON_Delete(dash);
    return 0;
}

static const command commands[] = {
    {"summary", cmd_summary, "summary [--json]", "final states, first-time acceptance, tokens spent, alerts raised", 0},
    {"submit", cmd_submit, "submit FILE|- | --title T [--files a,b] [--depends X,Y] [--priority P] [--agent A] [--id ID]",
     "submit requirements and print the ids given", 0},
    {"dashboard", cmd_dashboard, "dashboard [--json] [--watch [--until-done]]",
     "the monitor's dashboard, and the roadmap's ETA (the scheduler's forecast; not with --json)", 0},
    {"agents", cmd_agents, "agents", "active agents, queue depth and token use by type", 0},
    {"silence", cmd_silence, "silence add MATCHERS [--minutes N] [--comment C] | silence remove ID | silence list",
     "silence alerts matching rule=...,type=...; list the active silences", 0},
    {"deadletters", cmd_deadletters, "deadletters [--limit N]",
     "the last N (20) messages that reached their delivery limit, with where from and why", 0},
    {"roadmap", cmd_roadmap, "roadmap import|sync FILE", "submit a roadmap's Pending/New items; write statuses back", 0},
    {"status", cmd_status, "status [ID] [--json]",
     "a requirement's state, attempt, ETA and why it waits; or all, and the roadmap's ETA (mean and 90%)", 0},
    {"retry", cmd_retry, "retry ID", "retry an ESCALATED requirement with a fresh set of attempts", 0},
    {"encode", cmd_encode, "encode FILE|-", "seed JSON requirement to protobuf bytes on stdout", 1},
    {"publish", cmd_publish, "publish SUBJECT [--content-type T] DATA|--file F",
     "publish to a stream and wait until it is stored (F may be -)", 0},
    {"classify", cmd_classify, "classify [--content-type T] DATA|--file F",
     "show how the router would classify a requirement, without submitting it", 0},
    {"services", cmd_services, "services [--json]", "list the running service instances ($SRV.INFO)", 0},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fprintf(out, "Usage: orchctl [--server URL] COMMAND [ARGS]\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %s\n      %s\n", commands[i].usage, commands[i].help);
    fprintf(out, "\nConnection: --server URL, or ORCH_NATS_URL and the other ORCH_NATS_* variables.\n"
                 "Exit codes: 0 ok, 1 failed, 2 bad usage, 3 NATS unreachable.\n");
}

int main(int argc, char **argv)
{
    ctl c;
    cfg_table t;
    char err[ERR_LEN];
    const command *cmd = NULL;
    int i = 1, rc;

    memset(&c, 0, sizeof(c));
    t = (cfg_table){svc_cfg_entries, svc_cfg_count, &c.cfg};
    if (cfg_load(&t, 1, NULL, err) != ORCH_OK) {
        fprintf(stderr, "orchctl: %s\n", err);
        return EXIT_USAGE;
    }
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            cfg_free(&t, 1);
            return 0;
        }
        if (!strcmp(argv[i], "--server") && i + 1 < argc) {
            i++;
            for (int k = 0; k < c.cfg.nats_url.n; k++)
                free(c.cfg.nats_url.v[k]);
            c.cfg.nats_url.v[0] = xstrdup(argv[i]);
            c.cfg.nats_url.n = 1;
            continue;
        }
        fprintf(stderr, "orchctl: unknown option '%s' (try --help)\n", argv[i]);
        cfg_free(&t, 1);
        return EXIT_USAGE;
    }
    if (i >= argc) {
        usage(stderr);
        cfg_free(&t, 1);
        return EXIT_USAGE;
    }
    for (size_t k = 0; k < N_COMMANDS; k++)
        if (!strcmp(argv[i], commands[k].name))
            cmd = &commands[k];
    if (!cmd) {
        fprintf(stderr, "orchctl: unknown command '%s' (try --help)\n", argv[i]);
        cfg_free(&t, 1);
        return EXIT_USAGE;
    }
    if (i + 1 < argc && (!strcmp(argv[i + 1], "--help") || !strcmp(argv[i + 1], "-h"))) {
        printf("Usage: orchctl %s\n  %s\n", cmd->usage, cmd->help);
        cfg_free(&t, 1);
        return 0;
    }
    /* a command connects (ctl_connect) once its arguments are checked */
    rc = cmd->fn(&c, argc - i, argv + i);
    natsConnection_Destroy(c.nc);
    cfg_free(&t, 1);
    if (!cmd->offline)
        nc_lib_close("orchctl");
    return rc;
}
