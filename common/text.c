#include "text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void oom(size_t n)
{
    fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

char *xstrndup(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

size_t text_utf8_char(const char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    unsigned c = len ? s[0] : 0;
    size_t need;
    unsigned cp;

    if (c == 0)
        return 0;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t k = 1; k <= need; k++) {
        if (k >= len || (s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need + 1;
}

int text_utf8_valid(const char *buf, size_t len, size_t *bad_at)
{
    size_t i = 0;

    while (i < len) {
        size_t n = text_utf8_char(buf + i, len - i);
        if (!n) {
            if (bad_at)
                *bad_at = i;
            return 0;
        }
        i += n;
    }
    return 1;
}

size_t text_utf8_prefix(const char *buf, size_t len, size_t max)
{
    size_t i = 0;

    while (i < len) {
        size_t n = text_utf8_char(buf + i, len - i);
        if (!n)
            n = 1; /* a bad byte is one unit: cutting after it splits nothing */
        if (i + n > max)
            break;
        i += n;
    }
    return i;
}

size_t text_utf8_repair(char *s)
{
    size_t len = strlen(s), i = 0, fixed = 0;

    while (i < len) {
        size_t n = text_utf8_char(s + i, len - i);
        if (!n) {
            s[i] = '?';
            n = 1;
            fixed++;
        }
        i += n;
    }
    return fixed;
}

int text_controls_free(const char *buf, size_t len, int allow_space, size_t *at)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c >= 0x20 && c != 0x7f)
            continue;
        if (allow_space && (c == '\t' || c == '\n' || c == '\r'))
            continue;
        if (at)
            *at = i;
        return 0;
    }
    return 1;
}

int text_id_valid(const char *s, size_t max_len, char *err, size_t errlen)
{
    size_t n = strlen(s);

    if (n == 0) {
        if (err)
            snprintf(err, errlen, "is empty");
        return 0;
    }
    if (n > max_len) {
        if (err)
            snprintf(err, errlen, "is %zu characters long (at most %zu)", n, max_len);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_')
            continue;
        if (err) {
            if (c == '.' || c == '*' || c == '>')
                snprintf(err, errlen, "contains '%c' at %zu, not allowed in a subject token", c, i);
            else if (isspace(c))
                snprintf(err, errlen, "contains whitespace at %zu", i);
            else
                snprintf(err, errlen, "contains byte 0x%02x at %zu (allowed: A-Z a-z 0-9 - _)", c, i);
        }
        return 0;
    }
    return 1;
}

int text_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

int64_t text_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t text_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int text_path_normalise(char *path, char *err, size_t errlen)
{
    size_t n = strlen(path), out = 0, starts[512];
    int depth = 0, dir = n > 0 && path[n - 1] == '/';
    char *src = xstrdup(path), *save = NULL;
    for (char *seg = strtok_r(src, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
        if (!strcmp(seg, "."))
            continue;
        if (!strcmp(seg, "..")) {
            if (depth == 0) {
                snprintf(err, errlen, "'%.200s' leaves the project", path);
                free(src);
                return -1;
            }
            out = starts[--depth];
            continue;
        }
        if (depth == (int)(sizeof(starts) / sizeof(starts[0]))) {
            snprintf(err, errlen, "'%.200s' is nested too deep", path);
            free(src);
            return -1;
        }
        starts[depth++] = out;
        out += (size_t)sprintf(path + out, "%s%s", out ? "/" : "", seg);
    }
    free(src);
    if (out == 0) {
        snprintf(err, errlen, "'%.200s' names no file of the project", path);
        return -1;
    }
    if (dir)
        path[out++] = '/';
    path[out] = '\0';
    return 0;
}

char *text_printable(const char *s)
{
    size_t n = s ? strlen(s) : 0, o = 0;
    char *out = xmalloc(n * 6 + 1);   /* at most \u00NN (6) for a 2-byte C1 */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
            o += (size_t)sprintf(out + o, "\\x%02x", c);
        } else if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f) {
            o += (size_t)sprintf(out + o, "\\u%04x", (unsigned char)s[i + 1]);
            i++;
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}
