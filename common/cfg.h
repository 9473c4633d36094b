/* Configuration as a table.
 *
 * Each daemon describes its settings as an array of cfg_entry: the dotted key
 * in the JSON file ("nats.url" is {"nats":{"url":...}}), its type, default,
 * bounds and where it lands in a struct. cfg_load applies, in order: the
 * defaults, the JSON file (when a path is given), then environment variables
 * ORCH_<KEY> with dots as underscores, upper-cased (nats.url: ORCH_NATS_URL).
 * The first error stops loading and names the key and the file or variable.
 * Unknown keys in the file are errors, so a typo never goes unnoticed; keys
 * starting with '_' ("_comment") are notes for people and are skipped.
 * Pure: no logging; the caller reports err. */
#ifndef ORCH_CFG_H
#define ORCH_CFG_H

#include <stddef.h>
#include <stdio.h>

#include "status.h"

typedef enum { CFG_STR, CFG_INT, CFG_BOOL, CFG_ENUM, CFG_LIST } cfg_type;

#define CFG_SECRET   0x1u  /* never printed or logged */
#define CFG_REQUIRED 0x2u  /* must be set, by file or environment */

/* A list setting: a JSON array of strings, or "a,b,c" in text. Owned. */
typedef struct {
    char **v;
    int n;
} cfg_list;

typedef struct {
    const char *name;           /* dotted key */
    cfg_type type;
    const char *def;            /* default as text; NULL: unset */
    long long min, max;         /* INT: bounds; STR, LIST: max length (0: 4096) */
    size_t offset;              /* offsetof the field in the settings struct */
    const char *const *choices; /* ENUM: NULL-terminated names */
    unsigned flags;
    const char *help;
} cfg_entry;

/* Field types by cfg_type: STR char * (NULL when unset, owned), INT long
 * long, BOOL int, ENUM int (index in choices), LIST cfg_list. */
typedef struct {
    const cfg_entry *entries;
    size_t n;
    void *base;                 /* the struct the entries write into */
} cfg_table;

/* Loads defaults, then path (may be NULL), then the environment. On error
 * returns ORCH_ERR_INVALID (or ORCH_ERR_IO when the file cannot be read)
 * with one line in err naming the key. Fields already set are freed first,
 * so loading twice does not leak. */
orch_status cfg_load(const cfg_table *tables, size_t ntables, const char *path,
                     char err[ERR_LEN]);

/* Frees what cfg_load allocated. NULL-safe. */
void cfg_free(const cfg_table *tables, size_t ntables);

/* Prints every key with its variable name, default and help, for --help. */
void cfg_print_help(FILE *out, const cfg_table *tables, size_t ntables);

/* The environment variable of a key, into buf ("ORCH_NATS_URL"). */
void cfg_env_name(const char *key, char *buf, size_t len);

#endif
