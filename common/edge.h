/* The edge: the seed's JSON shapes <-> the protobuf messages.
 *
 * Input is untrusted. Parsing checks, in this order, and stops at the first
 * problem: payload size, UTF-8, nesting depth, JSON syntax, then each field
 * (type, presence, length, id safety). The error names the field and what
 * was wrong ("field 'dependencies[2]': expected a string, got a number"),
 * and a reason token for errors.intake.<reason>. Unknown fields are ignored,
 * lower-case priorities and persona names are accepted: people type loosely.
 * Pure: no NATS, no logging. */
#ifndef ORCH_EDGE_H
#define ORCH_EDGE_H

#include <stddef.h>

#include "pb.h"
#include "status.h"

typedef enum {
    EDGE_OK = 0,
    EDGE_TOO_LARGE,
    EDGE_INVALID_UTF8,
    EDGE_TOO_DEEP,
    EDGE_INVALID_JSON,
    EDGE_WRONG_TYPE,
    EDGE_MISSING_FIELD,
    EDGE_INVALID_ID,
    EDGE_TOO_LONG,
    EDGE_BAD_DEPENDENCY,
    EDGE_SELF_DEPENDENCY,
    EDGE_BAD_VALUE,
    EDGE_EMPTY,
    EDGE_INVALID_PROTOBUF,
    EDGE_CONTROL_CHAR,    /* a NUL, or another control character where none belongs */
    EDGE_DUPLICATE_ID,    /* an id given twice (the router's id registry) */
    EDGE_ID_UNAVAILABLE   /* no automatic id free: the numbers tried were all given before */
} edge_reason;

#define EDGE_REASON_COUNT (EDGE_ID_UNAVAILABLE + 1)

/* Subject token for a reason: "too_large", "invalid_utf8", ... */
const char *edge_reason_token(edge_reason r);

typedef struct {
    size_t max_payload;   /* bytes of one message */
    size_t max_id;        /* characters of an id */
    size_t max_title;
    size_t max_string;    /* any other string */
    size_t max_output;    /* failure output carried back to an agent */
    size_t max_list;      /* items of any list */
    int max_depth;        /* nesting of objects and arrays */
    size_t max_rendered;  /* a requirement's seed JSON, as the scheduler publishes it */
} edge_limits;

/* 256 KiB payload, id 64, title 300, string 4096, output 64 KiB, list 256,
 * depth 16, rendered requirement 256 KiB (a quarter of the 1 MiB a stream
 * message may have: the scheduler's additions on a retry fit beside it). */
void edge_limits_default(edge_limits *l);

/* Parses one requirement object, or an array of them (at most max_list).
 * On EDGE_OK, *out is a malloc'd array of *n requirements; free with
 * edge_requirements_free. Otherwise err says what and where.
 *
 * Every string is refused, naming the field, when it holds a NUL (JSON's
 * \u0000: a C string would end there), or a control character: none in
 * one-line fields (title, files, metadata keys, agent, phase, ...), only
 * tab, newline and carriage return in text (description, acceptance
 * criteria, metadata values, failure output). */
edge_reason edge_requirements_from_json(const char *buf, size_t len, const edge_limits *l,
                                        pb_requirement ***out, size_t *n, char err[ERR_LEN]);
void edge_requirements_free(pb_requirement **reqs, size_t n);

/* The seed's JSON for a requirement (with the classification fields set).
 * Returns a malloc'd NUL-terminated string. */
char *edge_requirement_to_json(const pb_requirement *r);

/* A review's or a merge's dispatch (requirements.review.<id>,
 * requirements.release.<id>): r's JSON (r as dispatched, its type the
 * reviewer's or the release agent's) with what to review or merge, from
 * st: "project", "ref", "commit" (the full commit id the verifier
 * verified), "base", "filesChanged" (the files the verifier saw touched),
 * "author" (the author's instance), "summary" (the author's); for a merge
 * (batch not NULL) also "mergeBatch" and "mergeBatchSize". Fields st does
 * not know are left out. Returns a malloc'd string. */
char *edge_change_dispatch_to_json(const pb_requirement *r, const pb_state *st, const char *batch, int batch_size);

/* An agent's completion report. subject is the one it came on
 * (results.<type>.<id>), or NULL: the type named there stands in for an
 * agentType the JSON leaves out. *out: free with
 * protobuf_c_message_free_unpacked. */
edge_reason edge_result_from_json(const char *subject, const char *buf, size_t len, const edge_limits *l,
                                  pb_result **out, char err[ERR_LEN]);
char *edge_result_to_json(const pb_result *r);

/* An agent's or a service's error report. */
edge_reason edge_error_from_json(const char *buf, size_t len, const edge_limits *l,
                                 pb_error **out, char err[ERR_LEN]);
char *edge_error_to_json(const pb_error *e);

/* An agent heartbeat; subject as for a result
 * (agents.heartbeat.<type>.<instance>), or NULL. */
edge_reason edge_heartbeat_from_json(const char *subject, const char *buf, size_t len, const edge_limits *l,
                                     pb_heartbeat **out, char err[ERR_LEN]);
char *edge_heartbeat_to_json(const pb_heartbeat *h);

/* A request for more agents (control.spawn.<type>), the proto's
 * SpawnRequest as JSON: {"agentType","count","reason","tokenBudget",
 * "queueDepth","requestedAtMs"}. */
char *edge_spawn_to_json(const pb_spawn *s);
/* Reads one; the type comes from the subject when the body leaves it out
 * (subject may be NULL). A missing count is 1; counts above 100 are
 * refused. */
edge_reason edge_spawn_from_json(const char *subject, const char *buf, size_t len, pb_spawn **out,
                                 char err[ERR_LEN]);

/* A request to stop an agent instance (control.kill.<instance>):
 * {"instance","requirementId","reason"}; requirement_id may be NULL. */
char *edge_kill_to_json(const char *instance, const char *requirement_id, const char *reason);

/* Checks a requirement that arrived as protobuf by the same rules as the
 * JSON path (ids, title, lengths, counts, UTF-8 and control characters of
 * every string, metadata, dependencies). Trims the title and drops
 * repeated dependencies in place. */
edge_reason edge_requirement_check(pb_requirement *r, const edge_limits *l, char err[ERR_LEN]);

/* One requirement sent as protobuf from outside (intake): unpacked with the
 * payload limit, refused when a string field holds a NUL byte (protobuf-c
 * would cut it there), checked as above, and read like the JSON: a known
 * assigned_agent sets the type (an unknown one is refused), priority_given
 * follows priority. *out: free with free_unpacked. */
edge_reason edge_requirement_from_protobuf(const void *data, size_t len, const edge_limits *l,
                                           pb_requirement **out, char err[ERR_LEN]);

/* Clears what only the suite sets, so that nothing from outside poses as
 * it: confidence, attempt, lastFailureOutput, modelHint, tokenBudget,
 * classification reasons, originId, createdAtMs, intakeSeq, and unknown
 * protobuf fields; priority_given is recomputed from priority. Kept: type
 * and complexity (explicit choices), status (routing sets it anyway). */
void edge_requirement_strip_internal(pb_requirement *r);

/* The length of edge_requirement_to_json(r), without the terminator. */
size_t edge_requirement_json_size(const pb_requirement *r);

#endif


