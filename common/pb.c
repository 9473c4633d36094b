#include "pb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

orch_status pb_pack(const ProtobufCMessage *msg, uint8_t **buf, size_t *len)
{
    size_t want = protobuf_c_message_get_packed_size(msg);
    uint8_t *b = xmalloc(want);
    size_t got = protobuf_c_message_pack(msg, b);

    if (got != want) {
        free(b);
        *buf = NULL;
        *len = 0;
        return ORCH_ERR_INVALID;
    }
    *buf = b;
    *len = got;
    return ORCH_OK;
}

ProtobufCMessage *pb_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len,
                            size_t cap, char err[ERR_LEN])
{
    ProtobufCMessage *m;

    if (len > cap) {
        snprintf(err, ERR_LEN, "%s: %zu bytes, more than the %zu allowed", d->short_name, len, cap);
        return NULL;
    }
    m = protobuf_c_message_unpack(d, NULL, len, data);
    if (!m)
        snprintf(err, ERR_LEN, "%s: not a valid protobuf encoding (%zu bytes)", d->short_name, len);
    return m;
}

void pb_set_str(char **field, const char *value)
{
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = xstrdup(value);
}

void pb_add_str(char ***arr, size_t *n, const char *value)
{
    *arr = xrealloc(*arr, sizeof(char *) * (*n + 1));
    (*arr)[(*n)++] = xstrdup(value);
}
