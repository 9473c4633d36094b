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

#include "cfg.h"
#include "ctl.h"
#include "edge.h"
#include "fileio.h"
#include "names.h"
#include "pb.h"
#include "nc.h"
#include "text.h"
#include "topology.h"

typedef int (*command_fn)(ctl *c, int argc, char **argv);

int ctl_connect(ctl *c)
{
    char err[ERR_LEN];
    if (c->nc)
        return 0;
    c->tried = 1;
    if (nc_connect(&c->nc, &c->cfg, "orchctl", NC_SEND_ASAP | NC_FAIL_FAST, err) != ORCH_OK) {
        fprintf(stderr, "orchctl: %s\n", err);
        return EXIT_NATS;
    }
    return 0;
}

const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

int bad_arg(const char *cmd, const char *arg)
{
    fprintf(stderr, "orchctl: %s: %s '%s' (try orchctl %s --help)\n", cmd,
            arg[0] == '-' ? "unknown option" : "unexpected argument", arg, cmd);
    return EXIT_USAGE;
}

int id_ok(const char *s)
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

cJSON *parse_reply(const char *data, size_t len)
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
    char inbox[320];
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
    if (nc_inbox(inbox, sizeof(inbox)) != ORCH_OK || natsConnection_SubscribeSync(&sub, c->nc, inbox) != NATS_OK ||
        natsConnection_PublishRequestString(c->nc, "$SRV.INFO", inbox, "") != NATS_OK) {
        fprintf(stderr, "orchctl: services: %s\n", nats_GetLastError(NULL));
        natsSubscription_Destroy(sub);
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
    if (n == 0) {
        fprintf(stderr, "orchctl: no service answered $SRV.INFO\n");
        return EXIT_FAIL;
    }
    return 0;
}

/* Reads a whole file ("-": standard input), at most max bytes; a larger one
 * is refused, never cut. Says why on stderr when it returns NULL. */
char *slurp(const char *path, size_t max, size_t *len)
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
int request_json(ctl *c, const char *subject, const char *body, cJSON **out)
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
int submit_body(ctl *c, const char *body, size_t len, const char *ctype)
{
    return submit_body_as(c, body, len, ctype, NULL, NULL, 0, NULL);
}

int submit_body_as(ctl *c, const char *body, size_t len, const char *ctype, int *whole_refused,
                   const char *const *labels, int nlabels, int *refused_out)
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
                char *shown = NULL;
                const char *reason = cJSON_GetStringValue(cJSON_GetObjectItem(j, "reason"));
                /* A refusal naming an item of the list (a bad item, a
                 * duplicate id, no automatic id free) refuses that
                 * requirement only: wait for the rest. */
                cJSON *item = cJSON_GetObjectItem(j, "item");
                int one = (cJSON_IsNumber(item) && item->valuedouble >= 1) ||
                          (reason && (!strcmp(reason, edge_reason_token(EDGE_DUPLICATE_ID)) ||
                                      !strcmp(reason, edge_reason_token(EDGE_ID_UNAVAILABLE))));
                if (!one && whole_refused)
                    *whole_refused = 1; /* the caller says it its own way */
                else {
                    int k = cJSON_IsNumber(item) && item->valuedouble >= 1 ? (int)item->valuedouble - 1 : 0;
                    const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(j, "message"));
                    size_t skip = 0;
                    if (!id && labels && k < nlabels)
                        id = shown = text_printable(labels[k]);
                    /* the item is named: the router's "[k]: " need not be */
                    if (id && text && text[0] == '[' && (skip = strspn(text + 1, "0123456789")) &&
                        !strncmp(text + 1 + skip, "]: ", 3))
                        text += skip + 4;
                    fprintf(stderr, "orchctl: rejected%s%s (%s): %s\n", id ? " " : "", id ? id : "", reason,
                            text ? text : "");
                    free(shown);
                }
                if (!one) {
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
    if (refused_out)
        *refused_out += refused;
    if (refused && !refused_out) {
        fprintf(stderr, "orchctl: %d requirement%s refused; %s\n", refused, refused == 1 ? "" : "s",
                got ? "the ids printed were accepted" : "none accepted");
        rc = EXIT_FAIL;
    } else if (refused) {
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

#define SILENCE_MAX_MINUTES (30 * 24 * 60)
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
            /* the monitor's bound (SILENCE_MAX_MINUTES), said before asking */
            if (end == argv[i + 1] || *end || !(minutes >= 1 && minutes <= SILENCE_MAX_MINUTES)) {
                fprintf(stderr, "orchctl: silence: --minutes takes a number of minutes from 1 to %d (30 days), "
                                "not '%.40s'\n", SILENCE_MAX_MINUTES, argv[i + 1]);
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
            fprintf(stderr, "orchctl: deadletters: --limit takes a number from 1 to 10000, not '%.40s'\n", argv[i]);
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

static const command commands[] = {
    {"summary", cmd_summary, "summary [--json]", "final states, first-time acceptance, tokens spent, alerts raised", 0},
    {"submit", cmd_submit, "submit FILE|- | --title T [--files a,b] [--depends X,Y] [--priority P] [--agent A] [--id ID]",
     "submit requirements and print the ids given", 0},
    {"dashboard", cmd_dashboard, "dashboard [--json] [--watch [--until-done]]",
     "the monitor's dashboard, and the roadmap's ETA (the scheduler's forecast; not with --json)", 0},
    {"agents", cmd_agents, "agents", "active agents, queue depth and token use by type", 0},
    {"hosts", cmd_hosts, "hosts [--wait MS] [--json]", "the pool of agent hosts: slots used and free, agents, last seen", 0},
    {"silence", cmd_silence, "silence add MATCHERS [--minutes N] [--comment C] | silence remove ID | silence list",
     "silence alerts matching rule=...,type=...; list the active silences", 0},
    {"deadletters", cmd_deadletters, "deadletters [--limit N]",
     "the last N (20) messages that reached their delivery limit, with where from and why", 0},
    {"roadmap", cmd_roadmap, "roadmap import|sync FILE", "submit a roadmap's Pending/New items; write statuses back", 0},
    {"status", cmd_status, "status [ID] [--json]",
     "a requirement's state, attempt, ETA and why it waits; or all, and the roadmap's ETA (mean and 90%)", 0},
    {"retry", cmd_retry, "retry ID", "retry an ESCALATED requirement with a fresh set of attempts", 0},
    {"pause", cmd_pause, "pause [--type T | --project P | --all] [--until 30m|HH:MM] [--comment C]",
     "stop new dispatches there (work in flight finishes); --until resumes by itself", 0},
    {"resume", cmd_resume, "resume [--type T | --project P | --all]", "end a pause (--all, the default: every pause)", 0},
    {"cancel", cmd_cancel, "cancel ID [--comment C]",
     "withdraw a requirement (REJECTED, cancelled); what depends on it is listed, blocked", 0},
    {"priority", cmd_priority, "priority ID CRITICAL|HIGH|MEDIUM|LOW [--comment C]",
     "re-rank a requirement and its place in the queue", 0},
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
    if (c.tried) /* a usage error opened nothing: nothing to wait for */
        nc_lib_close("orchctl");
    return rc;
}
