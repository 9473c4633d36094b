/* libFuzzer: protobuf decoding of every internal message, with the size cap
 * before unpacking, and the walk that finds NUL bytes in string fields; a
 * requirement also goes through the checks, and through the intake path
 * (edge_requirement_from_protobuf). The first byte picks the message type. */
#include <stdint.h>
#include <stdlib.h>

#include "edge.h"
#include "pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ProtobufCMessageDescriptor *const d[] = {
        &orchestrator__v1__requirement__descriptor, &orchestrator__v1__requirement_state__descriptor,
        &orchestrator__v1__result__descriptor,      &orchestrator__v1__verdict__descriptor,
        &orchestrator__v1__agent_error__descriptor, &orchestrator__v1__heartbeat__descriptor,
        &orchestrator__v1__spawn_request__descriptor, &orchestrator__v1__alert__descriptor,
        &orchestrator__v1__budget_usage__descriptor};
    char err[ERR_LEN];
    ProtobufCMessage *m;
    const ProtobufCMessageDescriptor *desc;

    if (size == 0)
        return 0;
    desc = d[data[0] % (sizeof(d) / sizeof(d[0]))];
    m = pb_unpack(desc, data + 1, size - 1, 1 << 16, err);
    if (!m)
        return 0;
    {
        char field[128];
        if (pb_string_has_nul(desc, data + 1, size - 1, field, sizeof(field)) > 0 && !field[0])
            abort(); /* a NUL found must be named */
    }
    if (desc == &orchestrator__v1__requirement__descriptor) {
        edge_limits lim;
        pb_requirement *r = NULL;
        edge_limits_default(&lim);
        if (edge_requirement_check((pb_requirement *)m, &lim, err) == EDGE_OK)
            free(edge_requirement_to_json((pb_requirement *)m));
        if (edge_requirement_from_protobuf(data + 1, size - 1, &lim, &r, err) == EDGE_OK) {
            edge_requirement_strip_internal(r);
            free(edge_requirement_to_json(r));
            orchestrator__v1__requirement__free_unpacked(r, NULL);
        }
    }
    {
        uint8_t *buf;
        size_t len;
        if (pb_pack(m, &buf, &len) == ORCH_OK)
            free(buf);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
