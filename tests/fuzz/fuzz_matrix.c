/* libFuzzer: what a homeserver may answer: the status from the first two
 * bytes, a Retry-After header from the next few, the rest as the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "matrix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mx_result r;
    char header[9];
    long status;
    if (size < 10)
        return 0;
    status = (long)(data[0] | (data[1] << 8)) % 700;
    memcpy(header, data + 2, 8);
    header[8] = '\0';
    matrix_parse(status, data[2] & 1 ? header : NULL, (const char *)data + 10, size - 10, &r);
    if (r.outcome == MX_RETRY_AFTER && (r.retry_ms < 0 || r.retry_ms > 3600 * 1000))
        abort(); /* the wait is always bounded */
    if (r.outcome == MX_SENT && r.event_id[0] != '$')
        abort(); /* delivered only with an event id */
    if (r.outcome == MX_RETRY_AFTER || r.outcome == MX_BACKOFF) {
        int64_t d = matrix_retry_delay(&r, (uint64_t)data[3], 1000, 60000, (double)data[4] / 256.0);
        if (d < 1000 || d > 3600 * 1000)
            abort(); /* never under the floor, never unbounded */
    }
    {
        char *text = strndup((const char *)data + 10, size - 10);
        free(matrix_html_escape(text));
        free(matrix_body(text, text, text));
        (void)matrix_same_origin("https://matrix.example.org", text);
        (void)matrix_same_origin(text, text);
        free(text);
    }
    return 0;
}
