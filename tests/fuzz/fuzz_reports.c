/* libFuzzer: the JSON agents send: results, errors, heartbeats; parsed,
 * printed and parsed again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    edge_limits lim;
    char err[ERR_LEN];
    pb_result *r = NULL;
    pb_error *e = NULL;
    pb_heartbeat *h = NULL;
    const char *s = (const char *)data;

    edge_limits_default(&lim);
    if (edge_result_from_json(NULL, s, size, &lim, &r, err) == EDGE_OK) {
        char *j = edge_result_to_json(r);
        pb_result *back = NULL;
        if (edge_result_from_json(NULL, j, strlen(j), &lim, &back, err) != EDGE_OK)
            abort(); /* what we print we must read */
        orchestrator__v1__result__free_unpacked(back, NULL);
        free(j);
        orchestrator__v1__result__free_unpacked(r, NULL);
    }
    if (edge_error_from_json(s, size, &lim, &e, err) == EDGE_OK) {
        free(edge_error_to_json(e));
        orchestrator__v1__agent_error__free_unpacked(e, NULL);
    }
    if (edge_heartbeat_from_json(NULL, s, size, &lim, &h, err) == EDGE_OK) {
        free(edge_heartbeat_to_json(h));
        orchestrator__v1__heartbeat__free_unpacked(h, NULL);
    }
    return 0;
}
