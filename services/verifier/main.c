/* orch-verifier: builds and tests every result before it is accepted.
 * Wiring only: the lifecycle is common/daemon.c, the NATS side verifier_nats.c,
 * the work verify.c and runner.c. */
#include <curl/curl.h>

#include "daemon.h"
#include "verifier_nats.h"

static daemon_spec spec = {
    .name = "verifier",
    .description = "builds and tests every result before it is accepted",
    .entries = verifier_cfg_entries,
    .settings = &verifier_cfg,
    .start = verifier_start,
    .stop = verifier_stop,
};

int main(int argc, char **argv)
{
    int rc;
    /* libcurl is initialised once, before any thread (HTTP smoke checks). */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    spec.n_entries = verifier_cfg_count;
    rc = daemon_main(&spec, argc, argv);
    curl_global_cleanup();
    return rc;
}
