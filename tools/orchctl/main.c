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

static const command commands[] = {
    {"services", cmd_services, "services [--json]", "list the running service instances ($SRV.INFO)"},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fprintf(out, "Usage: orchctl [--server URL] COMMAND [ARGS]\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-34s %s\n", commands[i].usage, commands[i].help);
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
