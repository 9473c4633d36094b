/* orch-agent: one agent instance of one type running a real coding-agent
 * CLI on the suite's work (agent.h). Wiring only. */
#include <stdio.h>
#include <string.h>

#include <nats/nats.h>

#include "agent.h"
#include "log.h"
#include "names.h"
#include "nc.h"
#include "text.h"

static void usage(FILE *o, const cfg_table *t, size_t n)
{
    fprintf(o, "Usage: orch-agent --type TYPE --instance ID [--config FILE]\n"
               "  --type T        backend, frontend, database, documentation, review, release\n"
               "  --instance ID   this agent's instance id (a subject token)\n"
               "  --config FILE   settings (JSON); ORCH_* variables override it\n"
               "Settings:\n");
    cfg_print_help(o, t, n);
}

int main(int argc, char **argv)
{
    agent_cfg cfg;
    svc_cfg svc;
    const cfg_table t[] = {{agent_cfg_entries, agent_cfg_count, &cfg}, {svc_cfg_entries, svc_cfg_count, &svc}};
    const char *type = NULL, *instance = NULL, *config = NULL;
    char err[ERR_LEN];
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    memset(&svc, 0, sizeof(svc));
    for (int i = 1; i < argc; i += 2) { /* option and value */
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout, t, 2);
            return 0;
        }
        if (!strcmp(argv[i], "--version")) {
            printf("orch-agent %s\n", ORCH_VERSION);
            return 0;
        }
        if (!v || (strcmp(argv[i], "--type") && strcmp(argv[i], "--instance") && strcmp(argv[i], "--config"))) {
            fprintf(stderr, "orch-agent: unknown option or missing value: %s (try --help)\n", argv[i]);
            return 2;
        }
        if (!strcmp(argv[i], "--type"))
            type = v;
        else if (!strcmp(argv[i], "--instance"))
            instance = v;
        else
            config = v;
    }
    if (!type || !names_agent_parse(type) || !instance || !text_id_valid(instance, 64, err, sizeof(err))) {
        fprintf(stderr, "orch-agent: --type must be an agent type and --instance a valid id (try --help)\n");
        return 2;
    }
    if (cfg_load(t, 2, config, err) != ORCH_OK) {
        fprintf(stderr, "orch-agent: %s\n", err);
        return 2;
    }
    log_init("orch-agent", instance, (log_level)svc.log_level);
    log_info("orch-agent %s, %s, config %s", ORCH_VERSION, type, config ? config : "(defaults and environment)");
    rc = agent_serve(type, instance, &cfg, &svc);
    cfg_free(t, 2);
    nc_lib_close("orch-agent");
    return rc;
}
