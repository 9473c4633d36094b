#include "modelsrv.h"

#include "proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int modelsrv_start(modelsrv *m, const char *script, const char *record, const char *dir, int bound_ms)
{
    const char *src = getenv("ORCH_SOURCE_DIR");
    char fake[512], portfile[512];

    m->pid = 0;
    m->port = 0;
    snprintf(fake, sizeof(fake), "%s/tests/support/modelfake.js", src ? src : ".");
    snprintf(portfile, sizeof(portfile), "%s/port", dir);
    {
        const char *argv[] = {"node", fake, "--script", script, "--port-file", portfile, "--record", record, NULL};
        m->pid = proc_spawn(argv, NULL, dir, "modelfake.log");
    }
    if (m->pid <= 0) {
        m->pid = 0;
        return -1;
    }
    /* the server writes the port once it listens */
    for (int waited = 0; waited <= bound_ms && !m->port; waited += 50) {
        char *p = proc_slurp(portfile);
        m->port = p ? atoi(p) : 0;
        free(p);
        if (!m->port)
            usleep(50 * 1000);
    }
    if (m->port > 0)
        return 0;
    modelsrv_stop(m, 1000);
    m->port = 0;
    return -1;
}

int modelsrv_codex_home(const modelsrv *m, const char *codex_home)
{
    char path[600];
    FILE *f;
    int rc;

    if (mkdir(codex_home, 0700) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/config.toml", codex_home);
    if (!(f = fopen(path, "w")))
        return -1;
    fprintf(f,
            "model = \"gpt-fake-5\"\nmodel_provider = \"scripted\"\n[model_providers.scripted]\n"
            "name = \"scripted\"\nbase_url = \"http://127.0.0.1:%d/v1\"\nenv_key = \"OPENAI_API_KEY\"\n"
            "wire_api = \"responses\"\nrequest_max_retries = 0\nstream_max_retries = 0\n",
            m->port);
    rc = ferror(f) ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

void modelsrv_stop(modelsrv *m, int grace_ms)
{
    if (!m || m->pid <= 0)
        return;
    proc_stop(m->pid, grace_ms);
    m->pid = 0;
}
