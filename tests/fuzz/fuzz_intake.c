/* libFuzzer: the intake path, whatever the bytes: format detection, JSON,
 * plain text and protobuf decoding with every check, then classification
 * and the split, which route_will_split must foretell. The first byte picks
 * the Content-Type the router sees. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

static classifier *cl;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ctypes[] = {NULL, "application/json", "text/plain", "application/protobuf"};
    edge_limits lim;
    pb_requirement **reqs = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    route_opts o = {1, 64, 300, 256};
    const char *ct;

    if (!cl && classify_create(&cl, classify_default_rules, strlen(classify_default_rules), CL_BACKEND, NULL, err))
        abort();
    if (size == 0)
        return 0;
    ct = ctypes[data[0] % 4];
    edge_limits_default(&lim);
    if (route_decode(route_format_of(ct, (const char *)data + 1, size - 1), (const char *)data + 1, size - 1, &lim,
                     &reqs, &n, err) == EDGE_OK) {
        for (size_t i = 0; i < n; i++) {
            pb_requirement *second = NULL;
            char line[1024];
            int will;
            if (!*reqs[i]->id)
                pb_set_str(&reqs[i]->id, "FUZZ-1");
            will = route_will_split(cl, &o, reqs[i], reqs[i]->id);
            route_apply(cl, &o, reqs[i], &second);
            if (will != (second != NULL))
                abort(); /* the router takes the parts' ids on this answer */
            /* what the router publishes, the scheduler must take */
            if (edge_requirement_check(reqs[i], &lim, err) != EDGE_OK ||
                (second && edge_requirement_check(second, &lim, err) != EDGE_OK))
                abort();
            route_describe(reqs[i], line, sizeof(line));
            free(edge_requirement_to_json(reqs[i]));
            if (second)
                orchestrator__v1__requirement__free_unpacked(second, NULL);
        }
    }
    edge_requirements_free(reqs, n);
    return 0;
}
