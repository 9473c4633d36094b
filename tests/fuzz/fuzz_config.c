/* libFuzzer: the config loader on arbitrary file contents, with the shared
 * table and a table of every type. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "svccfg.h"

typedef struct {
    char *s;
    long long i;
    int b, e;
    cfg_list l;
} extra;

static const char *const choices[] = {"a", "b", NULL};
static const cfg_entry entries[] = {
    {"x.s", CFG_STR, "d", 0, 32, offsetof(extra, s), NULL, 0, ""},
    {"x.i", CFG_INT, "1", -5, 5, offsetof(extra, i), NULL, 0, ""},
    {"x.b", CFG_BOOL, "false", 0, 0, offsetof(extra, b), NULL, 0, ""},
    {"x.e", CFG_ENUM, "a", 0, 0, offsetof(extra, e), choices, 0, ""},
    {"x.l", CFG_LIST, "p,q", 0, 16, offsetof(extra, l), NULL, 0, ""},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    svc_cfg c;
    extra x;
    cfg_table t[2] = {{svc_cfg_entries, svc_cfg_count, &c}, {entries, 5, &x}};
    char err[ERR_LEN];
    FILE *f;

    if (!path[0])
        snprintf(path, sizeof(path), "/tmp/fuzz-config-%d.json", (int)getpid());
    if (!(f = fopen(path, "wb")))
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    memset(&c, 0, sizeof(c));
    memset(&x, 0, sizeof(x));
    cfg_load(t, 2, path, err);
    cfg_free(t, 2);
    return 0;
}
