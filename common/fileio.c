/* Reading a whole file with a size limit: see fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "text.h"

/* The first allocation; the buffer doubles from here up to limit + 1, so a
 * small file under a large limit costs little. */
#define FIRST_CHUNK 4096

orch_status fileio_read_stream(FILE *f, const char *name, size_t limit, char **out,
                               size_t *len, char err[ERR_LEN])
{
    orch_status st = ORCH_ERR_IO;
    struct stat sb;
    char *buf = NULL;
    size_t cap, n = 0;

    if (len)
        *len = 0;
    if (!out || !f) {
        snprintf(err, ERR_LEN, "%s: no stream or no output", name ? name : "(null)");
        return ORCH_ERR_INVALID;
    }
    *out = NULL;
    if (!name)
        name = "(stream)";
    if (limit > SIZE_MAX / 2)
        limit = SIZE_MAX / 2;
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(err, ERR_LEN, "%s: is a directory", name);
        return ORCH_ERR_IO;
    }
    /* One byte past the limit is read to tell "exactly at" from "over". */
    cap = limit < FIRST_CHUNK ? limit + 1 : FIRST_CHUNK;
    buf = xmalloc(cap + 1);
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n > limit) {
            snprintf(err, ERR_LEN, "%s: larger than the limit of %zu bytes", name, limit);
            st = ORCH_ERR_TOO_BIG;
            goto out;
        }
        if (got == 0 || n < cap) {
            if (ferror(f)) {
                snprintf(err, ERR_LEN, "%s: cannot read: %s", name, strerror(errno));
                goto out;
            }
            if (feof(f))
                break;
            continue;
        }
        cap = cap > (limit + 1) / 2 ? limit + 1 : cap * 2;
        buf = xrealloc(buf, cap + 1);
    }
    buf[n] = '\0';
    *out = buf;
    buf = NULL;
    if (len)
        *len = n;
    st = ORCH_OK;
out:
    free(buf);
    return st;
}

orch_status fileio_read(const char *path, size_t limit, char **out, size_t *len,
                        char err[ERR_LEN])
{
    orch_status st;
    FILE *f;

    if (len)
        *len = 0;
    if (out)
        *out = NULL;
    if (!path || !out) {
        snprintf(err, ERR_LEN, "(null): no path or no output");
        return ORCH_ERR_INVALID;
    }
    if (!(f = fopen(path, "rb"))) {
        int e = errno;
        snprintf(err, ERR_LEN, "%s: cannot open: %s", path, strerror(e));
        return e == ENOENT ? ORCH_ERR_NOT_FOUND : ORCH_ERR_IO;
    }
    st = fileio_read_stream(f, path, limit, out, len, err);
    fclose(f);
    return st;
}
