/* From a message on intake.> to classified requirements. Pure: no NATS.
 *
 * Decoding picks the format by the Content-Type header when there is one
 * (application/protobuf, application/x-protobuf: a protobuf Requirement;
 * application/json; text/plain), else by the body: '{' or '[' first is JSON,
 * anything else is plain text whose first line is the title and the whole
 * text the description (what `nats pub intake.requirements "Fix login"`
 * sends). Every format goes through the same checks (edge.c).
 *
 * Routing applies the classifier to a requirement that has its id: an
 * explicit agent wins over the rules; an explicit priority, complexity or
 * estimate is kept; the reasons travel in the requirement. A requirement
 * that is clearly both backend and frontend is split in two: <id>-BE, the
 * backend part, and <id>-FE, the frontend part, which depends on <id>-BE
 * (backend first, never in parallel). Both carry originId <id>; the
 * scheduler treats a dependency on <id> as one on both parts. */
#ifndef ROUTER_ROUTE_H
#define ROUTER_ROUTE_H

#include <stddef.h>

#include "classify.h"
#include "edge.h"
#include "pb.h"

typedef enum { ROUTE_JSON, ROUTE_PROTOBUF, ROUTE_TEXT } route_format;

/* The format of a message from its Content-Type (may be NULL) and body. */
route_format route_format_of(const char *content_type, const char *data, size_t len);

/* Decodes one intake message into requirements (*out: edge_requirements_free).
 * Returns EDGE_OK or the reason, with err saying what and where. */
edge_reason route_decode(route_format f, const char *data, size_t len, const edge_limits *l,
                         pb_requirement ***out, size_t *n, char err[ERR_LEN]);

typedef struct {
    int allow_split;
    size_t max_id;
} route_opts;

/* Classifies r in place (status CLASSIFIED). When it is split, r becomes the
 * backend part and *second the frontend part (caller frees); else *second
 * is NULL. r->id must be set. */
void route_apply(const classifier *c, const route_opts *o, pb_requirement *r, pb_requirement **second);

/* A one-line account of the decision, for the log:
 * "REQ-7 -> backend (confidence 0.83; word:API +2, path:src/api/ +10)". */
void route_describe(const pb_requirement *r, char *buf, size_t len);

#endif
