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

static int read_varint(const uint8_t *data, size_t len, size_t *i, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *i < len; shift += 7) {
        uint8_t b = data[(*i)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

static int walk(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len, char *field,
                size_t field_len, size_t used, int depth)
{
    size_t i = 0;

    if (depth > 16)
        return -1;
    while (i < len) {
        uint64_t tag, n;
        const ProtobufCFieldDescriptor *f;
        if (read_varint(data, len, &i, &tag))
            return -1;
        switch (tag & 7) {
        case 0:
            if (read_varint(data, len, &i, &n))
                return -1;
            continue;
        case 1:
            n = 8;
            break;
        case 5:
            n = 4;
            break;
        case 2:
            if (read_varint(data, len, &i, &n))
                return -1;
            break;
        default:
            return -1;
        }
        if (n > len - i)
            return -1;
        f = (tag & 7) == 2 && tag >> 3 <= UINT32_MAX
                ? protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3)) : NULL;
        if (f && (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)) {
            int at = snprintf(field + used, used < field_len ? field_len - used : 0, "%s%s", used ? "." : "",
                              f->name);
            size_t next = used + (size_t)(at > 0 ? at : 0);
            int r;
            if (next >= field_len)
                next = field_len - 1;
            if (f->type == PROTOBUF_C_TYPE_STRING)
                r = memchr(data + i, 0, (size_t)n) != NULL;
            else
                r = walk(f->descriptor, data + i, (size_t)n, field, field_len, next, depth + 1);
            if (r)
                return r;
            field[used] = '\0';
        }
        i += (size_t)n;
    }
    return 0;
}

int pb_string_has_nul(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len, char *field,
                      size_t field_len)
{
    field[0] = '\0';
    return walk(d, data, len, field, field_len, 0, 0);
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
