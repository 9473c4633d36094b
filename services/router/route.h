/* From a message on intake.> to classified requirements. Pure: no NATS.
 *
 * Decoding picks the format by the Content-Type header when there is one
 * (application/protobuf, application/x-protobuf: a protobuf Requirement;
 * application/json; text/plain), else by the body: '{' or '[' first is JSON,
 * anything else is plain text whose first line is the title and the whole
 * text the description (what `nats pub intake.requirements "Fix login"`
 * sends). Every format goes through the same checks (edge.c). What only
 * the suite sets (originId, attempt, intakeSeq, ...: edge.h) is cleared,
 * whatever the format. A requirement whose seed JSON, once routed, would
 * pass edge_limits.max_rendered is refused as too_large: the scheduler
 * publishes that JSON, and a stream message may not exceed 1 MiB.
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

/* Whether requirements may enter as they are typed: review and release
 * are not intake types (the scheduler asks for a review and a merge when
 * work is verified; work typed so would wait for a verdict that never
 * comes, or clash with the merge of the same id). Returns EDGE_OK, or
 * EDGE_BAD_VALUE with err naming the field that gave the type
 * ("[2].assignedAgent", "type", or the subject), whole message refused as
 * any other bad field is. */
edge_reason route_intake_types(pb_requirement *const *reqs, size_t n, const char *subject, char err[ERR_LEN]);

/* One intake message judged item by item: a bad item of a list is refused
 * on its own and the others go on. What is wrong with the message as a
 * whole refuses it whole: its size, its bytes (invalid UTF-8, a NUL byte),
 * its syntax, its nesting, an empty list or more than max_list items, a
 * subject naming no agent type, and anything wrong with a message that
 * holds one requirement. */
typedef struct {
    pb_requirement **reqs;  /* n; a refused item's holds its fields, or only its id when it could not be read */
    size_t n;
    edge_reason *why;       /* per item: EDGE_OK, or why it alone is refused */
    char **err;             /* per item: NULL, or what is wrong ("[2]: field 'dependencies[0]': ...") */
    size_t n_refused;
} route_items;

/* Decodes (route_decode), applies the subject and the intake types
 * (route_intake_types) item by item. What the subject says: on intake.*
 * nothing; on work.requirements.<type>[.<id>] the type is every
 * requirement's type (an item that names another type is refused, an
 * unknown <type> refuses the message as EDGE_BAD_VALUE), and a single
 * requirement without an id takes <id> (one with another id is refused,
 * EDGE_INVALID_ID), checked by edge_requirement_check. Returns EDGE_OK
 * with *x filled (route_items_free it), even when every item is refused;
 * else the reason the whole message is refused, with err. */
edge_reason route_items_decode(route_format f, const char *subject, const char *data, size_t len,
                               const edge_limits *l, route_items *x, char err[ERR_LEN]);
void route_items_free(route_items *x);

typedef struct {
    int allow_split;
    size_t max_id;
    size_t max_title;   /* a split part's title, with its " (frontend)", fits (0: no limit) */
    size_t max_list;    /* and its dependencies, with the backend part (0: no limit) */
} route_opts;

/* Classifies r in place (status CLASSIFIED). When it is split, r becomes the
 * backend part and *second the frontend part (caller frees); else *second
 * is NULL. r->id must be set. */
void route_apply(const classifier *c, const route_opts *o, pb_requirement *r, pb_requirement **second);

/* --- ids ---------------------------------------------------------------------
 *
 * Every id the router hands on is first taken in a create-only registry
 * (KV orch_ids, router_nats.c): the key is the id, the value the intake item
 * that took it, "seq-<S>-<i>" (item i of intake message S). A create is
 * atomic, so two replicas cannot take one id. A given id that is taken by
 * another item is a duplicate and that item is refused; a redelivery of
 * the same message finds its own items as owners and goes on. An automatic
 * id that is taken (someone gave it) is skipped: the counter moves on. A
 * requirement that will be split takes its parts' ids (<id>-BE, <id>-FE)
 * with its own, by the same rules. */

/* For each requirement whose id was given earlier in the same message,
 * first[j] is the index of that earlier one; else -1. Returns how many.
 * Items with skip[j] set (refused already; skip may be NULL) neither are
 * duplicates nor make one. */
size_t route_duplicates(pb_requirement *const *reqs, size_t n, const unsigned char *skip, long *first);

/* The registry value for item i of intake message seq. */
void route_owner(uint64_t seq, size_t i, char *buf, size_t len);

/* An automatic id: prefix and number zero-padded to digits. */
void route_auto_id(const char *prefix, int digits, uint64_t number, char *buf, size_t len);

/* The automatic ids recorded for an intake message (orch_intake_ids), one
 * per requirement that had none: "REQ-010,REQ-012", or, as recorded before
 * ids could be skipped, the first number of a run ("10"). On success *ids
 * holds want malloc'd strings (free each and the array) and 1 is returned;
 * 0 when the value does not hold want ids. */
int route_recorded_ids(const char *value, size_t want, const char *prefix, int digits, char ***ids);

/* Whether route_apply will split r once its id is id (the same rule, the
 * same classification): the router takes the parts' ids too. */
int route_will_split(const classifier *c, const route_opts *o, const pb_requirement *r, const char *id);

/* The id of a split part: part 0 is "<base>-BE", part 1 "<base>-FE". */
void route_part_id(const char *base, int part, char *buf, size_t len);

/* --- structure ---------------------------------------------------------------
 *
 * The seed's "HIGH: blocking other work" read from the graph: a
 * requirement that ROUTE_BLOCKING_DEPENDENTS others depend on is at least
 * HIGH, unless its priority was given. The router sees the dependents
 * that come in the same message (a roadmap import, an array); dependents
 * that come later reach a requirement the scheduler already holds, and
 * only the scheduler, which holds the whole graph, can raise it then. */
#define ROUTE_BLOCKING_DEPENDENTS 3

/* count[j]: how many other items of the message depend on item j's id
 * (items with skip set, and items without an id, count 0 and count for
 * none). */
void route_count_dependents(pb_requirement *const *reqs, size_t n, const unsigned char *skip, size_t *count);

/* Raises r to HIGH when dependents reach ROUTE_BLOCKING_DEPENDENTS, its
 * priority was not given and is lower; the reason says how many it
 * blocks. After route_apply, on each part of a split. */
void route_blocking(pb_requirement *r, size_t dependents);

/* The dependencies of a requirement the graph holds: *deps (borrowed
 * until the next call) and *n, both empty for an unknown one or one whose
 * dependencies need no walk. Returns 0, or -1 when they cannot be read. */
typedef int (*route_deps_fn)(void *ctx, const char *id, const char *const **deps, size_t *n);

/* Whether a requirement id with dependencies deps would close a cycle in
 * the graph that fn reads: 1, with the cycle in buf ("C -> A -> B -> C");
 * 0 when it would not; -1 when the walk could not tell (a read failed, or
 * more than max_visits requirements would be visited). */
int route_closes_cycle(const char *id, const char *const *deps, size_t n_deps, route_deps_fn fn, void *ctx,
                       size_t max_visits, char *buf, size_t len);

/* A one-line account of the decision, for the log:
 * "REQ-7 -> backend (confidence 0.83; word:API +2, path:src/api/ +10)". */
void route_describe(const pb_requirement *r, char *buf, size_t len);

#endif
