/* orch-verifier: builds and tests every result before it is accepted.
 * Wiring only; the lifecycle is in common/daemon.c. */
#include "daemon.h"

static const daemon_spec spec = {
    .name = "verifier",
    .description = "builds and tests every result before it is accepted",
};

int main(int argc, char **argv)
{
    return daemon_main(&spec, argc, argv);
}
