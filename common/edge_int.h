/* Private to the edge's modules (edge.c, edge_report.c, edge_json.c): the
 * JSON field readers and writers they share. Every reader fills err with
 * one line naming the field ("field 'x[2]': expected a string, got a
 * number", pfx prepended to the key) and returns its reason; EDGE_OK
 * leaves err alone. Pure, as edge.h. */
#ifndef ORCH_EDGE_INT_H
#define ORCH_EDGE_INT_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "edge.h"

#define MAX_TOKENS 100000000ULL   /* 1e8: no single task is bigger */
#define MAX_ATTEMPT 1000ULL

/* Writes the message into err; returns r. */
edge_reason edge_fail(char err[ERR_LEN], edge_reason r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "a string", "a number", ...: what a JSON value is, for messages. */
const char *edge_jtype(const cJSON *j);

/* Size, UTF-8, depth and syntax, before any field is looked at. On EDGE_OK
 * *root is the parsed value (the caller deletes it); else NULL. */
edge_reason edge_parse_root(const char *buf, size_t len, const edge_limits *l, cJSON **root, char err[ERR_LEN]);

/* The first of the spellings a, b (b may be NULL) present in o; *used is
 * the one found. A JSON null counts as absent. */
const cJSON *edge_item2(const cJSON *o, const char *a, const char *b, const char **used);

/* A string of at most max bytes; *out borrows from o (NULL when absent). */
edge_reason edge_get_string(const cJSON *o, const char *pfx, const char *key, const char *alt, size_t max,
                            int required, const char **out, char err[ERR_LEN]);
/* An id (at most max bytes as a string): when present and not empty (or
 * required), a safe id (text_id_valid), else the reason bad naming the
 * field. *out borrows from o (NULL when absent). */
edge_reason edge_get_id(const cJSON *o, const char *pfx, const char *key, const char *alt, size_t max,
                        const edge_limits *l, int required, edge_reason bad, const char **out, char err[ERR_LEN]);
/* A whole number from 0 to max; *present says whether it was there. */
edge_reason edge_get_uint(const cJSON *o, const char *pfx, const char *key, const char *alt, uint64_t max,
                          uint64_t *out, int *present, char err[ERR_LEN]);
edge_reason edge_get_bool(const cJSON *o, const char *pfx, const char *key, int *out, char err[ERR_LEN]);
/* A list of strings appended to *arr; ids: each a safe id (repeats
 * dropped), every problem then reported as id_reason. */
edge_reason edge_get_list(const cJSON *o, const char *pfx, const char *key, const char *alt, const edge_limits *l,
                          size_t max_len, int ids, edge_reason id_reason, char ***arr, size_t *n, char err[ERR_LEN]);
/* An agent by type, persona or consumer name; *given (may be NULL) the
 * text as given. */
edge_reason edge_get_agent(const cJSON *o, const char *pfx, const char *key, const char *alt,
                           Orchestrator__V1__AgentType *out, const char **given, char err[ERR_LEN]);

/* Adds key: v when v is set and not empty. */
void edge_add_str_if(cJSON *o, const char *key, const char *v);
void edge_add_list(cJSON *o, const char *key, char **v, size_t n);
/* Prints o unformatted, deletes it and repairs any invalid UTF-8 to '?'
 * (see edge_json.c); malloc'd. */
char *edge_print_and_free(cJSON *o);

#endif
