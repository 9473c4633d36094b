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

#include <cjson/cJSON.h>
#include <nats/nats.h>

#include "cfg.h"
#include "edge.h"
#include "nc.h"
#include "svccfg.h"
#include "text.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_NATS 3

typedef struct {
    natsConnection *nc;
    svc_cfg cfg;
} ctl;

typedef int (*command_fn)(ctl *c, int argc, char **argv);

typedef struct {
    const char *name;
    command_fn fn;
    const char *usage;
    const char *help;
    int offline;      /* needs no NATS connection */
} command;

/* services: every instance answering $SRV.PING, with its endpoints. */
static int cmd_services(ctl *c, int argc, char **argv)
{
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    int n = 0;
    int as_json = argc > 1 && strcmp(argv[1], "--json") == 0;
    cJSON *all = cJSON_CreateArray();

    if (natsInbox_Create(&inbox) != NATS_OK || natsConnection_SubscribeSync(&sub, c->nc, inbox) != NATS_OK ||
        natsConnection_PublishRequestString(c->nc, "$SRV.INFO", inbox, "") != NATS_OK) {
        fprintf(stderr, "orchctl: services: %s\n", nats_GetLastError(NULL));
        return EXIT_NATS;
    }
    /* Every instance answers once; gather until quiet. */
    for (;;) {
        natsMsg *m = NULL;
        cJSON *j;
        if (natsSubscription_NextMsg(&m, sub, 500) != NATS_OK)
            break;
        j = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
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
        printf("%-16s %-28s %-8s %s\n", "NAME", "ID", "VERSION", "ENDPOINTS");
        cJSON_ArrayForEach(j, all) {
            const cJSON *eps = cJSON_GetObjectItem(j, "endpoints");
            const cJSON *e;
            const cJSON *name = cJSON_GetObjectItem(j, "name"), *id = cJSON_GetObjectItem(j, "id"),
                        *ver = cJSON_GetObjectItem(j, "version");
            printf("%-16s %-28s %-8s", cJSON_IsString(name) ? name->valuestring : "?",
                   cJSON_IsString(id) ? id->valuestring : "?", cJSON_IsString(ver) ? ver->valuestring : "?");
            cJSON_ArrayForEach(e, eps) {
                const cJSON *s = cJSON_GetObjectItem(e, "subject");
                printf(" %s", cJSON_IsString(s) ? s->valuestring : "?");
            }
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

/* Reads a whole file ("-": standard input), at most max bytes. */
static char *slurp(const char *path, size_t max, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf;
    if (!f)
        return NULL;
    buf = xmalloc(max + 1);
    *len = fread(buf, 1, max + 1, f);
    if (f != stdin)
        fclose(f);
    if (*len > max) {
        free(buf);
        return NULL;
    }
    buf[*len] = '\0';
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
                fprintf(stderr, "orchctl: cannot read %s (or larger than 1 MiB)\n", argv[i]);
                return NULL;
            }
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
    s = natsMsg_Create(&m, "orch.router.classify", NULL, body, (int)len);
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
        cJSON *j = cJSON_ParseWithLength(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
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
        fprintf(stderr, "orchctl: cannot read %s (or larger than 1 MiB)\n", argv[1]);
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
        *out = cJSON_ParseWithLength(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
        rc = *out ? 0 : EXIT_FAIL;
    }
    natsMsg_Destroy(reply);
    return rc;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void print_status_line(const cJSON *r)
{
    const cJSON *att = cJSON_GetObjectItem(r, "attempt");
    printf("%-14s %-10s %-13s %-8s %3d  %s\n", jstr(r, "id"), jstr(r, "status"), jstr(r, "type"),
           jstr(r, "priority"), att ? (int)att->valuedouble : 0, jstr(r, "reason"));
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
        else
            id = argv[i];
    }
    if (id)
        snprintf(subject, sizeof(subject), "orch.status.%s", id);
    else
        snprintf(subject, sizeof(subject), "orch.scheduler.list");
    if ((rc = request_json(c, subject, "", &o)) != 0)
        return rc;
    if (as_json) {
        char *t = cJSON_Print(o);
        printf("%s\n", t);
        free(t);
    } else if (id) {
        const cJSON *b = cJSON_GetObjectItem(o, "blockedBy"), *it;
        printf("%s  %s\n", jstr(o, "id"), jstr(o, "title"));
        printf("  status    %s (attempt %d)\n", jstr(o, "status"), (int)cJSON_GetObjectItem(o, "attempt")->valuedouble);
        printf("  agent     %s   priority %s\n", jstr(o, "type"), jstr(o, "priority"));
        printf("  waits     %s\n", jstr(o, "reason"));
        if (cJSON_GetArraySize(b) > 0) {
            printf("  blocked by");
            cJSON_ArrayForEach(it, b) printf(" %s", it->valuestring);
            printf("\n");
        }
        if (*jstr(o, "eta"))
            printf("  eta       %s\n", jstr(o, "eta"));
        printf("  tokens    %.0f used of %.0f estimated\n", cJSON_GetObjectItem(o, "tokensUsed")->valuedouble,
               cJSON_GetObjectItem(o, "estimatedTokens")->valuedouble);
        if (*jstr(o, "lastFailureOutput"))
            printf("  last failure:\n%s\n", jstr(o, "lastFailureOutput"));
    } else {
        const cJSON *r;
        printf("%-14s %-10s %-13s %-8s %3s  %s\n", "ID", "STATUS", "AGENT", "PRIORITY", "TRY", "REASON");
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(o, "requirements")) print_status_line(r);
    }
    cJSON_Delete(o);
    return 0;
}

/* retry ID: a human's fresh set of attempts for an escalated requirement. */
static int cmd_retry(ctl *c, int argc, char **argv)
{
    cJSON *o;
    int rc;
    if (argc != 2) {
        fprintf(stderr, "orchctl: usage: orchctl retry ID\n");
        return EXIT_USAGE;
    }
    if ((rc = request_json(c, "orch.scheduler.retry", argv[1], &o)) != 0)
        return rc;
    printf("%s is %s again (attempt %d)\n", jstr(o, "id"), jstr(o, "status"),
           (int)cJSON_GetObjectItem(o, "attempt")->valuedouble);
    cJSON_Delete(o);
    return 0;
}

static const command commands[] = {
    {"status", cmd_status, "status [ID] [--json]", "a requirement's state, attempt, ETA and why it waits; or all", 0},
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
        fprintf(out, "  %-52s %s\n", commands[i].usage, commands[i].help);
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
    if (cmd->offline) {
        rc = cmd->fn(&c, argc - i, argv + i);
        cfg_free(&t, 1);
        return rc;
    }
    if (nc_connect(&c.nc, &c.cfg, "orchctl", NC_SEND_ASAP | NC_FAIL_FAST, err) != ORCH_OK) {
        fprintf(stderr, "orchctl: %s\n", err);
        cfg_free(&t, 1);
        nats_Close();
        return EXIT_NATS;
    }
    rc = cmd->fn(&c, argc - i, argv + i);
    natsConnection_Destroy(c.nc);
    cfg_free(&t, 1);
    nats_Close();
    return rc;
}
