/* orch-mcp: the suite as a Model Context Protocol server on standard input
 * and output (docs/mcp.md).
 *
 *   orch-mcp [--server URL] [--user U] [--creds FILE] [--allow-writes]
 *            [--timeout-ms N]
 *
 * Connection settings are orchctl's and the daemons' (ORCH_NATS_URL,
 * ORCH_NATS_USER, ORCH_NATS_PASSWORD, ORCH_NATS_CREDS, ...); the options
 * override them. Standard output carries protocol messages only; what
 * orch-mcp has to say goes to standard error. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "mcp.h"
#include "mcp_nats.h"
#include "nc.h"
#include "text.h"

#define LINE_MAX_BYTES (4u << 20) /* the longest message read */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: orch-mcp [OPTIONS]\n"
            "Serves the orchestrator suite to an MCP client (Claude Code, Codex, Claude Desktop, ...) over\n"
            "standard input and output: tools submit_requirements, status, list_requirements, dashboard,\n"
            "agents (and retry with --allow-writes); resources orch://roadmap and orch://requirements/{id}.\n\n"
            "Options:\n"
            "  --server URL, --nats URL  the NATS server (default: ORCH_NATS_URL, else nats://127.0.0.1:4222)\n"
            "  --user U                  NATS user (its password: ORCH_NATS_PASSWORD)\n"
            "  --creds FILE              NATS credentials file\n"
            "  --allow-writes            enable retry (read-only and submit otherwise)\n"
            "  --timeout-ms N            how long to wait for the suite's answer (default 5000)\n"
            "  --version, --help\n\n"
            "Every other connection setting is the daemons' ORCH_NATS_* variable (docs/configuration.md).\n");
}

/* One line of at most max bytes from f into *line (grown as needed):
 * 1 a line, 0 end of input (or a signal), -1 a line too long (read to
 * its end and dropped). */
static int read_line(FILE *f, char **line, size_t *cap, size_t *len, size_t max)
{
    int c, too_long = 0;
    *len = 0;
    while ((c = getc(f)) != EOF && c != '\n') {
        if (*len >= max) {
            too_long = 1;
            continue;
        }
        if (*len + 1 >= *cap) {
            *cap = *cap ? *cap * 2 : 4096;
            *line = xrealloc(*line, *cap);
        }
        (*line)[(*len)++] = (char)c;
    }
    if (c == EOF && *len == 0 && !too_long)
        return 0;
    return too_long ? -1 : 1;
}

static int set_option(svc_cfg *cfg, mcp_config *mc, long long *timeout, int argc, char **argv, int *i)
{
    const char *o = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!strcmp(o, "--allow-writes")) {
        mc->allow_writes = 1;
        return 0;
    }
    if (!v)
        return -1;
    (*i)++;
    if (!strcmp(o, "--server") || !strcmp(o, "--nats")) {
        for (int k = 0; k < cfg->nats_url.n; k++)
            free(cfg->nats_url.v[k]);
        cfg->nats_url.v[0] = xstrdup(v);
        cfg->nats_url.n = 1;
    } else if (!strcmp(o, "--user")) {
        free(cfg->nats_user);
        cfg->nats_user = xstrdup(v);
    } else if (!strcmp(o, "--creds")) {
        free(cfg->nats_creds);
        cfg->nats_creds = xstrdup(v);
    } else if (!strcmp(o, "--timeout-ms")) {
        char *end = NULL;
        *timeout = strtoll(v, &end, 10);
        if (end == v || *end || *timeout < 100 || *timeout > 120000) {
            fprintf(stderr, "orch-mcp: --timeout-ms takes 100 to 120000, not '%.40s'\n", v);
            return -2;
        }
    } else {
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    svc_cfg cfg;
    cfg_table t = {svc_cfg_entries, svc_cfg_count, &cfg};
    mcp_config mc;
    mcp_nats n;
    mcp_backend be;
    mcp_session *s;
    struct sigaction sa;
    char err[ERR_LEN], *line = NULL;
    size_t cap = 0, len;
    long long timeout = 5000;
    int r;

    memset(&cfg, 0, sizeof(cfg));
    mcp_config_default(&mc);
    mc.version = ORCH_VERSION;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            printf("orch-mcp %s\n", ORCH_VERSION);
            return 0;
        }
    if (cfg_load(&t, 1, NULL, err) != ORCH_OK) {
        fprintf(stderr, "orch-mcp: %s\n", err);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if ((r = set_option(&cfg, &mc, &timeout, argc, argv, &i)) != 0) {
            if (r == -1)
                fprintf(stderr, "orch-mcp: unknown option '%s' (or it needs a value; try --help)\n", argv[i]);
            cfg_free(&t, 1);
            return 2;
        }
    /* the handlers only set the flag; without SA_RESTART a signal ends
     * the blocking read, so the loop sees it */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    memset(&n, 0, sizeof(n));
    n.cfg = &cfg;
    n.timeout_ms = timeout;
    be = mcp_nats_backend(&n);
    s = mcp_session_create(&mc, &be);
    fprintf(stderr, "orch-mcp %s: serving on standard input (%s; server %s)\n", ORCH_VERSION,
            mc.allow_writes ? "writes allowed" : "read-only", cfg.nats_url.n ? cfg.nats_url.v[0] : "?");
    while (!stop && (r = read_line(stdin, &line, &cap, &len, LINE_MAX_BYTES)) != 0) {
        char *reply = NULL;
        if (r < 0)
            reply = mcp_too_long(LINE_MAX_BYTES);
        else
            mcp_handle_line(s, line, len, &reply);
        if (reply) {
            if (fputs(reply, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) == EOF)
                stop = 1; /* the client went away */
            free(reply);
        }
    }
    if (ferror(stdin) && errno != EINTR)
        fprintf(stderr, "orch-mcp: reading standard input: %s\n", strerror(errno));
    fprintf(stderr, "orch-mcp: stopped\n");
    /* in reverse order of creation; the library last, once nothing of it
     * is left */
    mcp_session_destroy(s);
    mcp_nats_close(&n);
    free(line);
    cfg_free(&t, 1);
    nc_lib_close("orch-mcp");
    return 0;
}
